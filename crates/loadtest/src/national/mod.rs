//! National scale on PostgreSQL (issue #7, item 4): fill a database with N synthetic
//! citizens and N historical applications at COPY speed, check that the store reads them
//! back, then measure the officer queue page, a status read and the daily report through the
//! store and show their query plans. See docs/PERFORMANCE.md, "National scale".

pub mod history;
pub mod load;
pub mod measure;

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;

use kuelik_core::lifecycle::ApplicationId;
use kuelik_core::register::synthetic::Generator;
use kuelik_core::time::almaty_date;
use kuelik_store::postgres::PostgresStore;

use history::Histories;
use kuelik_store::prelude::*;
use load::TableLoad;
use measure::Latency;

/// What to load and how much to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// The database to fill (it must exist; the migrations are applied; it must hold no
    /// people or applications yet).
    pub database_url: String,
    pub citizens: u64,
    pub applications: u64,
    pub seed: u64,
    /// COPY streams loading the applications and their events side by side.
    pub streams: usize,
    /// Chain and archive every so many events as the load goes, as the service's workers
    /// would have (the streams meet at each pause); 0: once, after the whole history is
    /// loaded.
    pub archive_every: u64,
    pub queue_samples: usize,
    pub status_samples: usize,
    pub report_samples: usize,
    /// Skip the load: measure a database an earlier run of the same options filled (the
    /// read-back check still runs).
    pub measure_only: bool,
}

/// The run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct NationalReport {
    pub citizens: u64,
    pub applications: u64,
    pub seed: u64,
    pub loads: Vec<TableLoad>,
    /// `VACUUM (ANALYZE)` of the loaded tables: the visibility map and statistics a
    /// database in service has.
    pub vacuum_analyze_secs: f64,
    pub database_bytes: i64,
    /// Applications per state, nationally, as the store counts them.
    pub states: Vec<(String, u64)>,
    pub latencies: Vec<Latency>,
    pub plans: Vec<(String, String)>,
}

impl NationalReport {
    pub fn print(&self) {
        println!(
            "national scale: {} citizens, {} applications (seed {})",
            self.citizens, self.applications, self.seed
        );
        println!("\nload (COPY; people's and applications' indexes built after their rows, foreign keys put back and checked at the end; the history chained by the service's sequencer):");
        for l in &self.loads {
            if l.secs > 0.0 {
                println!(
                    "  {:<32} {:>12} rows in {:>8.1} s = {:>9.0} rows/s",
                    l.table, l.rows, l.secs, l.rows_per_sec
                );
            } else {
                println!("  {:<32} {:>12} rows", l.table, l.rows);
            }
        }
        println!(
            "  VACUUM (ANALYZE)                 {:>23.1} s",
            self.vacuum_analyze_secs
        );
        println!(
            "  database size                    {:>19.2} GiB",
            self.database_bytes as f64 / (1u64 << 30) as f64
        );
        println!("\napplications per state:");
        for (state, n) in &self.states {
            println!("  {state:<18} {n:>12}");
        }
        println!("\nreads through PostgresStore (one client, ms):");
        println!(
            "  {:<20} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10}",
            "read", "samples", "p50", "p95", "p99", "max", "target", "ratio", "rows/call"
        );
        for l in &self.latencies {
            println!(
                "  {:<20} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.0} {:>6.2}× {:>10.1}{}",
                l.read,
                l.samples,
                l.p50_ms,
                l.p95_ms,
                l.p99_ms,
                l.max_ms,
                l.target_p99_ms,
                l.p99_ms / l.target_p99_ms,
                l.mean_rows,
                if l.met() { "" } else { "  MISSED" }
            );
        }
        for (name, plan) in &self.plans {
            println!("\nEXPLAIN (ANALYZE, BUFFERS) — {name}:\n{plan}");
        }
    }
}

/// Loads, checks and measures.
pub async fn run(options: &Options) -> Result<NationalReport, String> {
    if options.citizens == 0 || options.applications == 0 {
        return Err("--citizens and --applications must be at least 1".into());
    }
    // Whole seconds: the store keeps instants in microseconds, and the read-back check
    // compares what it generated with what the columns give back.
    let now = Timestamp::from_second(Timestamp::now().as_second()).map_err(|e| e.to_string())?;
    let store = PostgresStore::open(&options.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let pool = store.pool();
    let held: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM people) + (SELECT COUNT(*) FROM applications)",
    )
    .fetch_one(pool)
    .await
    .map_err(|e| format!("cannot count the rows already there: {e}"))?;
    if held > 0 && !options.measure_only {
        return Err(format!(
            "the database already holds {held} people and applications: load into an empty one"
        ));
    }
    let register = Arc::new(Generator::new(options.seed, almaty_date(now)));
    if register.capacity() < options.citizens {
        return Err(format!(
            "the synthetic register has room for {} people, not {}",
            register.capacity(),
            options.citizens
        ));
    }
    let histories = Arc::new(Histories::new(options.seed, now)?);

    let mut loads = Vec::new();
    let mut vacuum_analyze_secs = 0.0;
    if !options.measure_only {
        // Built once the rows are in, instead of entry by entry (see `load`).
        let indexes = load::Indexes::set_aside(pool, &["people", "applications"]).await?;
        loads.push(load::people(pool, &register, options.citizens).await?);
        eprintln!("loaded people: {:?}", loads.last());
        let started = Instant::now();
        let lives = load::Lives::in_created_order(
            &register,
            &histories,
            options.citizens,
            options.applications,
        )?;
        loads.push(load::rate(
            "ordering by creation (no rows)",
            0,
            started.elapsed(),
        ));
        // Checked once at the end instead of row by row (see `load`).
        let keys = load::ForeignKeys::set_aside(
            pool,
            &[
                "events",
                "payments",
                "archived_histories",
                "archived_decisions",
            ],
        )
        .await?;
        loads.extend(
            load::applications(
                pool,
                lives,
                options.streams,
                (options.archive_every > 0).then(|| load::Slicing {
                    store: store.clone(),
                    every: options.archive_every,
                    spent: Default::default(),
                }),
                indexes,
            )
            .await?,
        );
        eprintln!("loaded applications: {loads:?}");
        loads.push(load::chain_history(&store, now).await?);
        eprintln!("chained: {:?}", loads.last());
        loads.extend(load::archive_history(&store, now).await?);
        eprintln!("archived: {loads:?}");
        loads.push(keys.put_back(pool).await?);
        let started = Instant::now();
        sqlx::query(
            "VACUUM (ANALYZE) people, applications, events, payments, image_checks, \
             audit_checkpoints, archived_histories, archived_decisions",
        )
        .execute(pool)
        .await
        .map_err(|e| format!("VACUUM (ANALYZE): {e}"))?;
        vacuum_analyze_secs = started.elapsed().as_secs_f64();
    }
    let database_bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await
        .map_err(|e| format!("database size: {e}"))?;

    let states = check_read_back(&store, &register, &histories, options).await?;

    let status_ids = if options.measure_only {
        // "Now" has moved since the load, so the histories cannot be regenerated: sample the
        // table instead (untimed).
        let ids: Vec<uuid::Uuid> =
            sqlx::query_scalar("SELECT id FROM applications ORDER BY random() LIMIT $1")
                .bind(options.status_samples as i64)
                .fetch_all(pool)
                .await
                .map_err(|e| format!("sampling application ids: {e}"))?;
        ids.into_iter().map(ApplicationId).collect()
    } else {
        // A spread of the loaded applications (regenerated, not queried).
        (0..options.status_samples as u64)
            .map(|k| {
                let i = spread(k, options.applications);
                load::life_of(&register, &histories, options.citizens, i).map(|l| l.application.id)
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let regions = histories.regions();
    let latencies = vec![
        measure::queue_page(&store, &regions, options.queue_samples).await?,
        measure::status_read(&store, &status_ids).await?,
        measure::daily_report(&store, now, options.report_samples).await?,
    ];
    let region = regions.first().copied().ok_or("no regions")?;
    let id = status_ids
        .first()
        .copied()
        .ok_or("no application to explain a status read with (--status-samples 0)")?;
    let plans = measure::plans(&store, region, id, now).await?;
    Ok(NationalReport {
        citizens: options.citizens,
        applications: options.applications,
        seed: options.seed,
        loads,
        vacuum_analyze_secs,
        database_bytes,
        states,
        latencies,
        plans,
    })
}

/// The loaded rows read back through the store: every application counted once, some
/// applications with their people and history exactly as generated.
async fn check_read_back(
    store: &PostgresStore,
    register: &Generator,
    histories: &Histories,
    options: &Options,
) -> Result<Vec<(String, u64)>, String> {
    let people = store.count_people().await.map_err(|e| e.to_string())?;
    if people != options.citizens {
        return Err(format!(
            "{people} people read back, {} loaded",
            options.citizens
        ));
    }
    let counts = store
        .application_counts()
        .await
        .map_err(|e| e.to_string())?;
    let mut states: std::collections::BTreeMap<String, u64> = Default::default();
    for c in &counts {
        *states.entry(c.state.as_str().to_string()).or_default() += c.count;
    }
    let total: u64 = states.values().sum();
    if total != options.applications {
        return Err(format!(
            "{total} applications counted by the store, {} loaded",
            options.applications
        ));
    }
    // Regenerating needs the same "now" as the load: only right after it.
    let compared = if options.measure_only { 0 } else { 20 };
    for k in 0..compared.min(options.applications) {
        let i = spread(k, options.applications);
        let life = load::life_of(register, histories, options.citizens, i)?;
        let id = life.application.id;
        let stored = store
            .application(id)
            .await
            .map_err(|e| format!("reading application {id} back: {e}"))?
            .ok_or_else(|| format!("application {id} was loaded but is not found"))?;
        if stored.application != life.application || stored.version != 1 {
            return Err(format!(
                "application {id} reads back different from what was loaded"
            ));
        }
        let history = store.history(id).await.map_err(|e| e.to_string())?;
        if history != life.events {
            return Err(format!("the history of {id} reads back different"));
        }
        let payments = store.payments_of(id).await.map_err(|e| e.to_string())?;
        if payments != vec![life.payment.clone()] {
            return Err(format!("the payment of {id} reads back different"));
        }
        let person = store
            .person(&life.application.applicant)
            .await
            .map_err(|e| e.to_string())?;
        if person.map(|p| p.region) != Some(life.application.region) {
            return Err(format!("the applicant of {id} reads back different"));
        }
    }
    Ok(states.into_iter().collect())
}

/// The `k`th of a spread of indices over `0..n` (a multiplicative walk: distinct for
/// `k < n` when the step is coprime with n, which it nearly always is; repeats are harmless).
fn spread(k: u64, n: u64) -> u64 {
    k.wrapping_mul(2_654_435_761) % n.max(1)
}
