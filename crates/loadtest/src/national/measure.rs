//! The reads measured at national scale, through the store's own code
//! ([`PostgresStore`] methods, one client, one call after another): the officer's queue page,
//! a citizen's status read and the administrator's daily report. Then `EXPLAIN (ANALYZE,
//! BUFFERS)` of the main query of each, with the SQL copied from the store (keep in step with
//! `crates/store/src/postgres.rs`).

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use kuelik_core::lifecycle::{ApplicationId, ApplicationState};
use kuelik_core::region::RegionCode;
use kuelik_core::time::almaty_date;
use kuelik_store::postgres::{PostgresStore, APPLICATION_RECORD_SQL};
use kuelik_store::prelude::*;
use kuelik_store::{QueueFilter, ReportPeriod};

/// The officer queue's page size (`QUEUE_PAGE` in crates/server/src/api/staff.rs).
pub const QUEUE_PAGE: u32 = 200;
/// Asia/Almaty's offset (+05:00 since 1 March 2024).
const ALMATY_OFFSET: SignedDuration = SignedDuration::from_hours(5);

/// Latencies of one read, in milliseconds, against its target.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub read: &'static str,
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub target_p99_ms: f64,
    /// What one sample returned, on average (rows, events…), to show the reads did work.
    pub mean_rows: f64,
}

impl Latency {
    fn from_samples(
        read: &'static str,
        target_p99_ms: f64,
        mut ms: Vec<f64>,
        rows: u64,
    ) -> Latency {
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        // Nearest rank.
        let at = |p: f64| -> f64 {
            if n == 0 {
                return f64::NAN;
            }
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
            ms[rank - 1]
        };
        Latency {
            read,
            samples: n,
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: ms.last().copied().unwrap_or(f64::NAN),
            target_p99_ms,
            mean_rows: if n > 0 { rows as f64 / n as f64 } else { 0.0 },
        }
    }

    pub fn met(&self) -> bool {
        self.p99_ms <= self.target_p99_ms
    }
}

fn millis(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

fn err(what: &str) -> impl Fn(kuelik_store::StoreError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The officer queue page: `work_queue` for one region's `queued` applications, as
/// `GET /officer/queue` asks for it; regions in turn.
pub async fn queue_page(
    store: &PostgresStore,
    regions: &[RegionCode],
    samples: usize,
) -> Result<Latency, String> {
    let mut ms = Vec::with_capacity(samples);
    let mut rows = 0u64;
    for k in 0..samples {
        let filter = QueueFilter {
            region: regions.get(k % regions.len().max(1)).copied(),
            ..QueueFilter::state(ApplicationState::Queued)
        };
        let started = Instant::now();
        let page = store
            .work_queue(&filter, QUEUE_PAGE)
            .await
            .map_err(err("queue page"))?;
        ms.push(millis(started));
        rows += page.len() as u64;
    }
    Ok(Latency::from_samples("officer queue page", 20.0, ms, rows))
}

/// A status read: the calls `GET /applications/{id}` makes (`application_record`: the
/// application with its timeline and payments in one statement; then `detail_view`'s photo
/// and signature checks — the citizen gets those only while a draft, staff always, so they
/// are read here).
pub async fn status_read(store: &PostgresStore, ids: &[ApplicationId]) -> Result<Latency, String> {
    let mut ms = Vec::with_capacity(ids.len());
    let mut events = 0u64;
    for &id in ids {
        let started = Instant::now();
        let record = store
            .application_record(id)
            .await
            .map_err(err("status read"))?
            .ok_or_else(|| format!("application {id} was loaded but is not found"))?;
        let app = &record.stored.application;
        for digest in [app.photo, app.signature].into_iter().flatten() {
            store
                .image_check(&digest)
                .await
                .map_err(err("status image check"))?;
        }
        ms.push(millis(started));
        events += record.timeline.len() as u64;
    }
    Ok(Latency::from_samples("status read", 5.0, ms, events))
}

/// The daily report: `activity_report` for one Almaty day (plus the refund total the reports
/// page also asks for), on days spread over the history: the last weeks hold only the live
/// applications, so yesterday alone would be a light day.
pub async fn daily_report(
    store: &PostgresStore,
    now: Timestamp,
    samples: usize,
) -> Result<Latency, String> {
    let mut ms = Vec::with_capacity(samples);
    let mut submitted = 0u64;
    for k in 0..samples {
        let period = day_period(now, report_day(k))?;
        let started = Instant::now();
        let report = store
            .activity_report(&period)
            .await
            .map_err(err("daily report"))?;
        store
            .payment_totals(kuelik_store::PaymentStatus::RefundPending)
            .await
            .map_err(err("daily report refunds"))?;
        ms.push(millis(started));
        submitted += report
            .submitted_per_day
            .iter()
            .map(|d| d.count)
            .sum::<u64>();
    }
    Ok(Latency::from_samples(
        "daily report",
        1_000.0,
        ms,
        submitted,
    ))
}

/// Days back for report sample `k`: spread over the 600 days before now (the history starts
/// in January 2025).
pub fn report_day(k: usize) -> i64 {
    1 + (k as i64 * 13) % 600
}

/// The Almaty day `days_back` days before `now`'s, as the reports page asks for it.
pub fn day_period(now: Timestamp, days_back: i64) -> Result<ReportPeriod, String> {
    let day = almaty_date(now)
        .checked_sub(jiff::Span::new().days(days_back))
        .map_err(|e| format!("report day: {e}"))?;
    let from = jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(5))
        .to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
        .map_err(|e| format!("report day: {e}"))?;
    Ok(ReportPeriod {
        from,
        until: from + SignedDuration::from_hours(24),
        utc_offset: ALMATY_OFFSET,
    })
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the main query of each read, as text.
pub async fn plans(
    store: &PostgresStore,
    region: RegionCode,
    id: ApplicationId,
    now: Timestamp,
) -> Result<Vec<(String, String)>, String> {
    let pool = store.pool();
    // A day inside the history (see `report_day`).
    let period = day_period(now, report_day(10))?;
    let (from, until) = (period.from.as_microsecond(), period.until.as_microsecond());
    let explain = |sql: &'static str| format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
    let mut out = Vec::new();

    let q = explain(
        "SELECT data, version FROM applications WHERE state = $1 AND region = $2 \
         ORDER BY due_date ASC NULLS LAST, submitted_at ASC NULLS LAST, id ASC LIMIT $3",
    );
    let lines: Vec<String> = sqlx::query_scalar(&q)
        .bind("queued")
        .bind(region.to_string())
        .bind(i64::from(QUEUE_PAGE))
        .fetch_all(pool)
        .await
        .map_err(|e| format!("EXPLAIN queue: {e}"))?;
    out.push((
        "officer queue page (work_queue)".to_string(),
        lines.join("\n"),
    ));

    let q = explain(APPLICATION_RECORD_SQL);
    let lines: Vec<String> = sqlx::query_scalar(&q)
        .bind(id.0)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("EXPLAIN status read: {e}"))?;
    out.push((
        "status read (application_record: the application, timeline and payments)".to_string(),
        lines.join("\n"),
    ));

    let q = explain(
        "SELECT (submitted_at + $1) / $2 AS day, COUNT(*) FROM applications \
         WHERE submitted_at >= $3 AND submitted_at < $4 GROUP BY 1 ORDER BY 1",
    );
    let lines: Vec<String> = sqlx::query_scalar(&q)
        .bind(ALMATY_OFFSET.as_micros() as i64)
        .bind(86_400_000_000i64)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("EXPLAIN report per day: {e}"))?;
    out.push((
        "daily report: submitted per day".to_string(),
        lines.join("\n"),
    ));

    let q = explain(kuelik_store::sql::DECISION_TIMES);
    let lines: Vec<String> = sqlx::query_scalar(&q)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("EXPLAIN decision times: {e}"))?;
    out.push(("daily report: decision times".to_string(), lines.join("\n")));

    let q = explain(kuelik_store::sql::ANNULMENT_REASONS);
    let lines: Vec<String> = sqlx::query_scalar(&q)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("EXPLAIN annulment reasons: {e}"))?;
    out.push((
        "daily report: annulment reasons".to_string(),
        lines.join("\n"),
    ));
    Ok(out)
}
