//! The administrator's reports page: a period form (GET, so a report is a link), the charts
//! drawn on the server (see [`super::charts`]) and, beside each, a table with the same numbers.
//! The numbers come from `GET /admin/reports`.

use axum::extract::Query;
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use kuelik_core::money::Tiyn;

use super::charts::{bar_chart, column_chart, Bar};
use super::console::{console, staff_problem};
use super::stuck::region_label;
use super::{field_error, local_date, Page};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/staff/admin/reports", get(reports_page))
}

#[derive(serde::Deserialize, Default)]
struct PeriodForm {
    from: Option<String>,
    to: Option<String>,
}

/// `dd.mm`: short enough to sit under a day's column.
fn short_day(iso: &str) -> String {
    match iso.split('-').collect::<Vec<_>>()[..] {
        [_, month, day] => format!("{day}.{month}"),
        _ => iso.to_string(),
    }
}

fn rows(report: &Value, key: &str) -> Vec<Value> {
    report[key].as_array().cloned().unwrap_or_default()
}

/// The charts and tables of one report.
fn report_context(page: &Page, report: &Value) -> Value {
    let empty = page.t("reports-no-data");
    let hours = |h: f64| {
        page.t_args(
            "reports-hours",
            &[("hours", kuelik_core::format::number(page.lang, h))],
        )
    };

    let days: Vec<Bar> = rows(report, "submitted_per_day")
        .iter()
        .map(|d| {
            Bar::count(
                short_day(d["day"].as_str().unwrap_or("")),
                d["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let any_day = days.iter().any(|d| d.value > 0.0);
    let per_day_rows: Vec<Value> = rows(report, "submitted_per_day")
        .iter()
        .map(|d| json!({ "day": local_date(page.lang, d["day"].as_str().unwrap_or("")), "count": d["count"] }))
        .collect();

    let mut regions = rows(report, "submitted_per_region");
    for r in &mut regions {
        let label = region_label(page, r["region"].as_str().unwrap_or(""));
        r["label"] = json!(label);
    }
    let region_bars: Vec<Bar> = regions
        .iter()
        .map(|r| {
            Bar::count(
                r["label"].as_str().unwrap_or(""),
                r["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();

    let mut decisions = rows(report, "decision_times");
    for d in &mut decisions {
        let label = region_label(page, d["region"].as_str().unwrap_or(""));
        let median = hours(d["median_hours"].as_f64().unwrap_or(0.0));
        let p90 = hours(d["p90_hours"].as_f64().unwrap_or(0.0));
        d["label"] = json!(label);
        d["median_text"] = json!(median);
        d["p90_text"] = json!(p90);
    }
    let decision_bars: Vec<Bar> = decisions
        .iter()
        .map(|d| Bar {
            label: d["label"].as_str().unwrap_or("").to_string(),
            value: d["median_hours"].as_f64().unwrap_or(0.0),
            shown: d["median_text"].as_str().unwrap_or("").to_string(),
        })
        .collect();

    let mut reasons = rows(report, "annulment_reasons");
    for r in &mut reasons {
        let label = page.t(&format!("annul-{}", r["reason"].as_str().unwrap_or("")));
        r["label"] = json!(label);
    }
    let reason_bars: Vec<Bar> = reasons
        .iter()
        .map(|r| {
            Bar::count(
                r["label"].as_str().unwrap_or(""),
                r["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();

    let refunds = &report["refunds_outstanding"];
    json!({
        "from": report["from"], "to": report["to"],
        "period_text": page.t_args("reports-period-text", &[
            ("from", local_date(page.lang, report["from"].as_str().unwrap_or(""))),
            ("to", local_date(page.lang, report["to"].as_str().unwrap_or(""))),
        ]),
        "per_day": per_day_rows,
        "per_day_chart": column_chart(&page.t("reports-per-day-title"), &empty, if any_day { &days } else { &[] }),
        "regions": regions,
        "regions_chart": bar_chart(&page.t("reports-per-region-title"), &empty, &region_bars),
        "decisions": decisions,
        "decisions_chart": bar_chart(&page.t("reports-decisions-chart"), &empty, &decision_bars),
        "reasons": reasons,
        "reasons_chart": bar_chart(&page.t("reports-reasons-title"), &empty, &reason_bars),
        "refunds": {
            "count": refunds["count"],
            "amount": kuelik_core::format::money(page.lang, Tiyn(refunds["amount_tiyn"].as_u64().unwrap_or(0))),
        },
    })
}

async fn reports_page(page: Page, Query(q): Query<PeriodForm>) -> Response {
    if page.session.is_none() {
        return page.redirect("/staff/sign-in");
    }
    let from = q.from.unwrap_or_default().trim().to_string();
    let to = q.to.unwrap_or_default().trim().to_string();
    let mut query: Vec<(&str, &str)> = Vec::new();
    if !from.is_empty() {
        query.push(("from", &from));
    }
    if !to.is_empty() {
        query.push(("to", &to));
    }
    let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
    let path = if encoded.is_empty() {
        "/admin/reports".to_string()
    } else {
        format!("/admin/reports?{encoded}")
    };
    let form = json!({ "from": from, "to": to });
    match page.api(Method::GET, &path, None).await.result {
        Ok(report) => {
            let mut ctx = report_context(&page, &report);
            // The form shows the period the report covers (the defaults filled in).
            ctx["form"] = json!({ "from": report["from"], "to": report["to"] });
            page.render(
                "admin_reports.html",
                console(&page, "admin", page.t("reports-title"), ctx),
            )
        }
        Err(p) if p.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            let field = match p.extra["field"].as_str() {
                Some("to") => "to",
                _ => "from",
            };
            let ctx = json!({ "form": form, "errors": [field_error(field, p.message)] });
            page.render_status(
                p.status,
                "admin_reports.html",
                console(&page, "admin", page.t("reports-title"), ctx),
            )
        }
        Err(p) => staff_problem(&page, &p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_short_under_columns() {
        assert_eq!(short_day("2025-12-09"), "09.12");
        assert_eq!(short_day("odd"), "odd");
    }
}
