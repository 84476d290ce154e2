//! Reports (administrators): for a period of Almaty days, applications submitted per day and
//! per region, how long decisions took per region, why applications were annulled, and the
//! refunds still outstanding. The database aggregates (GROUP BY, window functions); this
//! module checks the period and shapes the answer.

use axum::extract::State;
use axum::Json;
use jiff::civil::Date;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use kuelik_core::lifecycle::Role;
use kuelik_core::time::{add_days, days_between, ALMATY};
use kuelik_store::{PaymentStatus, ReportPeriod};

use crate::api::citizen::today;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiQuery;
use crate::AppState;

/// The longest period one report covers (a year and a day: a leap year fits).
pub const MAX_DAYS: i32 = 366;
/// The period when none is given: the last 30 days up to today.
pub const DEFAULT_DAYS: i32 = 30;

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (Almaty), from 2025-01-01. Default: 29 days before `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (Almaty), at most a year after today. Default: today.
    #[param(format = Date)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayRow {
    pub day: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionRow {
    pub region: String,
    pub count: u64,
}

/// Submission → decision for the applications a region decided in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionRow {
    pub region: String,
    pub approved: u64,
    pub annulled: u64,
    /// Median, in hours (one decimal).
    pub median_hours: f64,
    /// 90th percentile (nearest rank), in hours (one decimal).
    pub p90_hours: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonRow {
    pub reason: String,
    pub count: u64,
}

/// Refunds requested and not yet confirmed by the gateway, now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundsOutstanding {
    pub count: u64,
    pub amount_tiyn: u64,
    /// The sum in tenge, `"1572.80"`.
    pub amount_tenge: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    pub from: String,
    pub to: String,
    /// Every day of the period, in order (days without submissions count 0).
    pub submitted_per_day: Vec<DayRow>,
    /// Regions with submissions, in region-code order.
    pub submitted_per_region: Vec<RegionRow>,
    pub decision_times: Vec<DecisionRow>,
    pub annulment_reasons: Vec<ReasonRow>,
    pub refunds_outstanding: RefundsOutstanding,
}

fn invalid_date(field: &str) -> ApiError {
    ApiError::of(ErrorCode::InvalidDate).with_extra(serde_json::json!({ "field": field }))
}

fn parse_day(raw: Option<&str>, field: &str) -> ApiResult<Option<Date>> {
    match raw.map(str::trim) {
        // A parameter given blank is not a date (the document says `format: date`); leaving
        // it out asks for the default.
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| invalid_date(field)),
    }
}

/// The earliest day a report may name: the service began on 28 May 2025, so nothing is
/// older; a bound keeps every date far from the ends of the calendar.
const EARLIEST_DAY: Date = jiff::civil::date(2025, 1, 1);

fn out_of_range(field: &str, today: Date) -> ApiError {
    let latest = add_days(today, MAX_DAYS);
    use kuelik_core::format;
    use kuelik_core::messages::Arg;
    ApiError::of_with(ErrorCode::DateOutOfRange, |lang| {
        vec![
            ("earliest", Arg::Text(format::date(lang, EARLIEST_DAY))),
            ("latest", Arg::Text(format::date(lang, latest))),
        ]
    })
    .with_extra(serde_json::json!({ "field": field }))
}

/// A day of a report: from [`EARLIEST_DAY`] to a year after today (checked before any loop
/// runs over the period: a far-away date must not make the server count days).
fn bounded_day(raw: Option<&str>, field: &str, today: Date) -> ApiResult<Option<Date>> {
    match parse_day(raw, field)? {
        Some(day) if day < EARLIEST_DAY || day > add_days(today, MAX_DAYS) => {
            Err(out_of_range(field, today))
        }
        day => Ok(day),
    }
}

/// The period the query names: `[from, to]` in days, checked.
pub fn period(query: &ReportQuery, today: Date) -> ApiResult<(Date, Date)> {
    let to = bounded_day(query.to.as_deref(), "to", today)?.unwrap_or(today);
    let from = bounded_day(query.from.as_deref(), "from", today)?
        .unwrap_or_else(|| add_days(to, 1 - DEFAULT_DAYS).max(EARLIEST_DAY));
    if from > to {
        return Err(ApiError::of(ErrorCode::InvalidPeriod)
            .with_extra(serde_json::json!({ "field": "from" })));
    }
    if days_between(from, to) >= MAX_DAYS {
        return Err(ApiError::of(ErrorCode::PeriodTooLong)
            .with_extra(serde_json::json!({ "field": "from" })));
    }
    Ok((from, to))
}

fn hours(d: SignedDuration) -> f64 {
    (d.as_secs_f64() / 360.0).round() / 10.0
}

fn midnight(day: Date) -> ApiResult<jiff::Timestamp> {
    ALMATY
        .to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
        .map_err(|_| invalid_date("to"))
}

/// The period's report (administrators).
#[utoipa::path(get, path = "/admin/reports", tag = "admin", params(ReportQuery),
    responses((status = 200, body = Report), (status = 403, description = "not an administrator"),
        (status = 422, description = "a date is not YYYY-MM-DD, the period is reversed or longer than 366 days")))]
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Report>> {
    principal.staff(Role::Administrator)?;
    let (from, to) = period(&query, today(&state))?;
    let start = midnight(from)?;
    let period = ReportPeriod {
        from: start,
        until: midnight(add_days(to, 1))?,
        utc_offset: SignedDuration::from_secs(i64::from(ALMATY.to_offset(start).seconds())),
    };
    let activity = state.store.activity_report(&period).await?;
    let refunds = state
        .store
        .payment_totals(PaymentStatus::RefundPending)
        .await?;

    // Counted, not stepped until a date: at most MAX_DAYS rows whatever the dates.
    let mut counted = activity.submitted_per_day.iter().peekable();
    let submitted_per_day = (0..=days_between(from, to).clamp(0, MAX_DAYS))
        .map(|offset| {
            let day = add_days(from, offset);
            let count = counted
                .next_if(|d| d.day == day)
                .map(|d| d.count)
                .unwrap_or(0);
            DayRow {
                day: day.to_string(),
                count,
            }
        })
        .collect();
    Ok(Json(Report {
        from: from.to_string(),
        to: to.to_string(),
        submitted_per_day,
        submitted_per_region: activity
            .submitted_per_region
            .iter()
            .map(|r| RegionRow {
                region: r.region.to_string(),
                count: r.count,
            })
            .collect(),
        decision_times: activity
            .decision_times
            .iter()
            .map(|d| DecisionRow {
                region: d.region.to_string(),
                approved: d.approved,
                annulled: d.annulled,
                median_hours: hours(d.median),
                p90_hours: hours(d.p90),
            })
            .collect(),
        annulment_reasons: activity
            .annulment_reasons
            .iter()
            .map(|r| ReasonRow {
                reason: r.reason.as_str().into(),
                count: r.count,
            })
            .collect(),
        refunds_outstanding: RefundsOutstanding {
            count: refunds.count,
            amount_tiyn: refunds.amount.0,
            amount_tenge: refunds.amount.tenge_string(),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn query(from: Option<&str>, to: Option<&str>) -> ReportQuery {
        ReportQuery {
            from: from.map(String::from),
            to: to.map(String::from),
        }
    }

    #[test]
    fn periods_are_checked() {
        let today = date(2025, 12, 11);
        assert_eq!(
            period(&query(None, None), today).unwrap(),
            (date(2025, 11, 12), today)
        );
        assert_eq!(
            period(&query(Some("2025-12-01"), Some("2025-12-01")), today).unwrap(),
            (date(2025, 12, 1), date(2025, 12, 1))
        );
        let code = |f, t| period(&query(f, t), today).unwrap_err().code.as_str();
        let refused = [
            (Some("2025-13-01"), None, "invalid_date"),
            (None, Some("yesterday"), "invalid_date"),
            (Some(""), None, "invalid_date"),
            (Some("2025-12-02"), Some("2025-12-01"), "invalid_period"),
            (Some("2025-01-01"), Some("2026-01-10"), "period_too_long"),
            // The ends of the calendar are refused before anything counts days.
            (None, Some("9999-12-31"), "date_out_of_range"),
            (Some("-009999-01-01"), None, "date_out_of_range"),
            (Some("0001-01-01"), Some("0001-01-02"), "date_out_of_range"),
            // A year ahead at most: 11 December 2025 + 366 days is 12 December 2026.
            (Some("2026-12-12"), Some("2026-12-13"), "date_out_of_range"),
        ];
        for (from, to, expected) in refused {
            assert_eq!(code(from, to), expected, "{from:?}..{to:?}");
        }
        assert!(period(&query(Some("2025-01-01"), Some("2025-12-01")), today).is_ok());
        assert!(period(&query(Some("2026-12-10"), Some("2026-12-12")), today).is_ok());
        // Near the earliest day the default period starts there.
        assert_eq!(
            period(&query(None, Some("2025-01-10")), today).unwrap(),
            (date(2025, 1, 1), date(2025, 1, 10))
        );
    }

    #[test]
    fn hours_have_one_decimal() {
        assert_eq!(hours(SignedDuration::from_mins(90)), 1.5);
        assert_eq!(hours(SignedDuration::from_mins(241)), 4.0);
    }
}
