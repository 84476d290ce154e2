//! What every staff console page shares: the section navigation of the role, the page
//! context, the API call that answers with the page for a refusal, and the "done" notice
//! after an action. The consoles (`staff`, `stuck`, `reports`) use it; it uses none of them.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{Page, Problem};

fn nav(page: &Page, role: &str) -> Value {
    let items: &[(&str, &str)] = match role {
        "officer" => &[("/staff/officer", "nav-officer-queue")],
        "production" => &[("/staff/production", "nav-production-queue")],
        "point" => &[("/staff/point", "nav-point-desk")],
        _ => &[
            ("/staff/admin", "nav-admin-staff"),
            ("/staff/admin/audit", "nav-admin-audit"),
            ("/staff/admin/stuck", "nav-admin-stuck"),
            ("/staff/admin/reports", "nav-admin-reports"),
        ],
    };
    Value::Array(
        items
            .iter()
            .map(|(href, key)| json!({ "href": href, "label": page.t(key) }))
            .collect(),
    )
}

/// The common context of a console page.
pub(crate) fn console(page: &Page, role: &str, title: String, mut ctx: Value) -> Value {
    if let Some(m) = ctx.as_object_mut() {
        m.insert("title".into(), json!(title));
        m.insert("area".into(), json!("staff"));
        m.insert("nav".into(), nav(page, role));
        m.insert("point_names".into(), point_names(page));
        m.insert("region_names".into(), region_names(page));
    }
    ctx
}

/// Each registration point's name in the page's language, by id: staff read "Astana city
/// registration point 1", not "71-01".
fn point_names(page: &Page) -> Value {
    page.state
        .points
        .iter()
        .map(|p| (p.id.to_string(), json!(p.name.get(page.lang))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Each region's name in the page's language, by code.
fn region_names(page: &Page) -> Value {
    page.state
        .regions
        .iter()
        .map(|r| (r.code.to_string(), json!(r.name.get(page.lang))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Calls the API for a console page; the page for a refusal otherwise.
pub(crate) async fn fetch(page: &Page, path: &str) -> Result<Value, Response> {
    if page.session.is_none() {
        return Err(page.redirect("/staff/sign-in"));
    }
    page.api(Method::GET, path, None)
        .await
        .result
        .map_err(|p| staff_problem(page, &p))
}

/// A refusal on a staff page: sign-in again, or the message.
pub(crate) fn staff_problem(page: &Page, p: &Problem) -> Response {
    if p.status == StatusCode::UNAUTHORIZED
        || p.status == StatusCode::FORBIDDEN && page.session.is_none()
    {
        return page.redirect("/staff/sign-in");
    }
    page.problem_page(p)
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct Notice {
    pub(crate) done: Option<String>,
}

pub(crate) fn notice_text(page: &Page, done: Option<&str>) -> Value {
    match done {
        Some(
            key @ ("approved" | "annulled" | "released" | "accepted" | "dispatched" | "received"
            | "handed-over" | "staff-added" | "outbox-retried" | "refund-retried"
            | "rule-set-activated"),
        ) => {
            json!(page.t(&format!("done-{key}")))
        }
        _ => Value::Null,
    }
}
