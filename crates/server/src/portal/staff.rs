//! The staff consoles: sign-in, then the screen of the account's role — the УМС officer's
//! region queue and review, the production centre's queue, the registration point's desk
//! and the administrator's pages.

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use uuid::Uuid;

use super::console::{console, fetch, notice_text, staff_problem, Notice};
use super::{field_error, ticket_symbols, Page, Problem, ECP_FIELD};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(landing))
        .route("/staff/sign-in", get(sign_in_page).post(sign_in))
        .route("/staff/sign-out", post(sign_out))
        .route("/staff/officer", get(officer_queue))
        .route("/staff/officer/applications/{id}", get(officer_review))
        .route("/staff/officer/applications/{id}/take", post(officer_take))
        .route(
            "/staff/officer/applications/{id}/release",
            post(officer_release),
        )
        .route(
            "/staff/officer/applications/{id}/approve",
            post(officer_approve),
        )
        .route(
            "/staff/officer/applications/{id}/annul",
            post(officer_annul),
        )
        .route("/staff/production", get(production_queue))
        .route(
            "/staff/production/applications/{id}/accept",
            post(production_accept),
        )
        .route("/staff/production/dispatch", post(production_dispatch))
        .route("/staff/point", get(point_desk))
        .route(
            "/staff/point/applications/{id}/receive",
            post(point_receive),
        )
        .route("/staff/point/ticket", get(point_ticket))
        .route(
            "/staff/point/tickets/{ticket}/hand-over",
            post(point_hand_over),
        )
        .route("/staff/point/tickets/{ticket}/receipt", get(point_receipt))
        .route("/staff/admin", get(admin_staff))
        .route("/staff/admin/staff", post(admin_add_staff))
        .route("/staff/admin/rule-sets", post(admin_activate_rule_set))
        .route("/staff/admin/audit", get(admin_audit))
}

async fn sign_in_page(page: Page) -> Response {
    page.render(
        "staff_sign_in.html",
        json!({ "title": page.t("staff-sign-in-title"), "area": "staff", "form": {} }),
    )
}

/// Where each role works.
fn home_of(role: &str) -> &'static str {
    match role {
        "officer" => "/staff/officer",
        "production_operator" => "/staff/production",
        "point_operator" => "/staff/point",
        "administrator" => "/staff/admin",
        _ => "/staff/sign-in",
    }
}

async fn sign_in(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let username = form.text("username");
    let answer = page
        .api(
            Method::POST,
            "/auth/staff-session",
            Some(json!({
                "username": username,
                "password": form.get("password").unwrap_or(""),
                "mode": "cookie",
            })),
        )
        .await;
    match answer.result {
        Ok(session) => page.redirect_with_cookies(
            home_of(session["role"].as_str().unwrap_or("")),
            &answer.headers,
        ),
        Err(p) if p.status.is_client_error() => page.render_status(
            p.status,
            "staff_sign_in.html",
            json!({
                "title": page.t("staff-sign-in-title"), "area": "staff",
                "form": { "username": username },
                "errors": [field_error("username", p.message)],
                "switch_path": "/staff/sign-in",
            }),
        ),
        Err(p) => page.problem_page(&p),
    }
}

async fn sign_out(page: Page, body: Bytes) -> Response {
    page.sign_out(&body, "/staff/sign-in").await
}

/// `/staff`: the signed-in account's own screen.
async fn landing(page: Page) -> Response {
    if page.session.is_none() {
        return page.redirect("/staff/sign-in");
    }
    // The role is read by asking the API who we are through a role-only endpoint each.
    for (path, home) in [
        ("/officer/queue", "/staff/officer"),
        ("/production/queue", "/staff/production"),
        ("/point/queue", "/staff/point"),
        ("/admin/staff", "/staff/admin"),
    ] {
        if page.api(Method::GET, path, None).await.result.is_ok() {
            return page.redirect(home);
        }
    }
    page.redirect("/staff/sign-in")
}

/// Whole days since an RFC 3339 instant (how long something has waited).
fn days_since(page: &Page, rfc3339: Option<&str>) -> Option<i64> {
    let at: jiff::Timestamp = rfc3339?.parse().ok()?;
    let secs = page.state.clock.now().as_second() - at.as_second();
    Some((secs / 86_400).max(0))
}

/// Adds `age_days` (since submission, or since `since` field) to each listed application.
fn with_age(page: &Page, list: &mut Value, since: &str) {
    for a in list.as_array_mut().into_iter().flatten() {
        let days = days_since(page, a[since].as_str());
        if let (Some(days), Some(m)) = (days, a.as_object_mut()) {
            m.insert("age_days".into(), json!(days));
            m.insert(
                "age_text".into(),
                json!(page.t_args("days-waiting", &[("days", days.to_string())])),
            );
        }
    }
}

// ---- УМС officer ----

async fn officer_queue(page: Page, Query(q): Query<Notice>) -> Response {
    let mut queued = match fetch(&page, "/officer/queue").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut reviewing = match fetch(&page, "/officer/queue?state=under_review").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    with_age(&page, &mut queued, "submitted_at");
    with_age(&page, &mut reviewing, "submitted_at");
    let ctx = json!({ "queued": queued, "reviewing": reviewing, "notice": notice_text(&page, q.done.as_deref()) });
    page.render(
        "officer_queue.html",
        console(&page, "officer", page.t("officer-queue-title"), ctx),
    )
}

async fn render_review(page: &Page, id: Uuid, errors: Vec<Value>, status: StatusCode) -> Response {
    let app = match fetch(page, &format!("/officer/applications/{id}")).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ctx = json!({
        "app": app,
        "errors": errors,
        "reasons": ["photo_non_compliant", "signature_non_compliant", "additional_verification_required"],
        "switch_path": format!("/staff/officer/applications/{id}"),
        "pin_signing": page.state.config.pin_signing,
    });
    page.render_status(
        status,
        "officer_review.html",
        console(page, "officer", page.t("officer-review-title"), ctx),
    )
}

async fn officer_review(page: Page, Path(id): Path<String>) -> Response {
    match page.id(&id) {
        Ok(id) => render_review(&page, id, Vec::new(), StatusCode::OK).await,
        Err(r) => r,
    }
}

/// After an officer's action: the queue (with what was done) or the review with the refusal.
async fn officer_after(
    page: &Page,
    id: Uuid,
    result: Result<Value, Problem>,
    field: &str,
    done: &str,
    to_review: bool,
) -> Response {
    match result {
        Ok(_) if to_review => page.redirect(&format!("/staff/officer/applications/{id}")),
        Ok(_) => page.redirect(&format!("/staff/officer?done={done}")),
        Err(p)
            if p.status.is_client_error()
                && p.status != StatusCode::UNAUTHORIZED
                && p.status != StatusCode::NOT_FOUND =>
        {
            let status = p.status;
            render_review(page, id, vec![field_error(field, p.message)], status).await
        }
        Err(p) => staff_problem(page, &p),
    }
}

async fn officer_take(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = page.form(&body) {
        return r;
    }
    let result = page
        .api(
            Method::POST,
            &format!("/officer/applications/{id}/take"),
            None,
        )
        .await
        .result;
    match result {
        Ok(_) => page.redirect(&format!("/staff/officer/applications/{id}")),
        Err(p) => staff_problem(&page, &p),
    }
}

async fn officer_release(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = page.form(&body) {
        return r;
    }
    let result = page
        .api(
            Method::POST,
            &format!("/officer/applications/{id}/release"),
            None,
        )
        .await
        .result;
    officer_after(&page, id, result, "decision", "released", false).await
}

async fn officer_approve(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // Signed with the officer's ЭЦП (NCALayer, in the page's script): the document as the
    // service gave it and the CMS NCALayer made. Otherwise the PIN of the key kept sealed.
    let signature = form.text("signature");
    let (body, field) = if !signature.is_empty() {
        let document = form.get("document").unwrap_or("").to_string();
        (
            json!({ "document": document, "signature": signature }),
            ECP_FIELD,
        )
    } else if !page.state.config.pin_signing {
        let e = field_error(ECP_FIELD, page.t("officer-ecp-missing"));
        return render_review(&page, id, vec![e], StatusCode::UNPROCESSABLE_ENTITY).await;
    } else {
        let pin = form.get("pin").unwrap_or("").to_string();
        if pin.is_empty() {
            let e = field_error("pin", page.t("officer-pin-missing"));
            return render_review(&page, id, vec![e], StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        (json!({ "pin": pin }), "pin")
    };
    let result = page
        .api(
            Method::POST,
            &format!("/officer/applications/{id}/approve"),
            Some(body),
        )
        .await
        .result;
    officer_after(&page, id, result, field, "approved", false).await
}

async fn officer_annul(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let reason = form.text("reason");
    let comment = form.text("comment");
    let mut errors = Vec::new();
    if reason.is_empty() {
        errors.push(field_error(
            "reason-photo_non_compliant",
            page.t("officer-reason-missing"),
        ));
    }
    if comment.is_empty() {
        errors.push(field_error("comment", page.t("officer-comment-missing")));
    }
    if !errors.is_empty() {
        return render_review(&page, id, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let result = page
        .api(
            Method::POST,
            &format!("/officer/applications/{id}/annul"),
            Some(json!({ "reason": reason, "comment": comment })),
        )
        .await
        .result;
    officer_after(&page, id, result, "comment", "annulled", false).await
}

// ---- production centre ----

async fn render_production(
    page: &Page,
    errors: Vec<Value>,
    status: StatusCode,
    done: Option<&str>,
) -> Response {
    let mut approved = match fetch(page, "/production/queue").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let in_production = match fetch(page, "/production/queue?state=in_production").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    with_age(page, &mut approved, "submitted_at");
    // In production, grouped by registration point: one dispatch batch per point. Each
    // shows the signature verification that admitted it.
    let mut batches: Vec<(String, Vec<Value>)> = Vec::new();
    for mut a in in_production.as_array().cloned().unwrap_or_default() {
        let id = a["id"].as_str().unwrap_or("").to_string();
        let checks = page
            .api(
                Method::GET,
                &format!("/production/applications/{id}/signature-checks"),
                None,
            )
            .await
            .result
            .unwrap_or(json!([]));
        let last = checks
            .as_array()
            .and_then(|c| c.last().cloned())
            .unwrap_or(Value::Null);
        a["signature_check"] = last;
        let point = a["registration_point"].as_str().unwrap_or("").to_string();
        match batches.iter_mut().find(|(p, _)| *p == point) {
            Some((_, list)) => list.push(a),
            None => batches.push((point, vec![a])),
        }
    }
    let batches: Vec<Value> = batches
        .into_iter()
        .map(|(point, items)| json!({ "point": point, "items": items }))
        .collect();
    let ctx = json!({
        "approved": approved, "batches": batches, "errors": errors,
        "notice": notice_text(page, done),
    });
    page.render_status(
        status,
        "production.html",
        console(page, "production", page.t("production-title"), ctx),
    )
}

async fn production_queue(page: Page, Query(q): Query<Notice>) -> Response {
    render_production(&page, Vec::new(), StatusCode::OK, q.done.as_deref()).await
}

async fn production_accept(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = page.form(&body) {
        return r;
    }
    let result = page
        .api(
            Method::POST,
            &format!("/production/applications/{id}/accept"),
            None,
        )
        .await
        .result;
    match result {
        Ok(_) => page.redirect("/staff/production?done=accepted"),
        Err(p) if p.status.is_client_error() && p.status != StatusCode::UNAUTHORIZED => {
            let status = p.status;
            let e = field_error(&format!("accept-{id}"), p.message);
            render_production(&page, vec![e], status, None).await
        }
        Err(p) => staff_problem(&page, &p),
    }
}

/// Dispatches a batch: every application of one point whose new document number was
/// entered. Each is its own change; refusals are listed by field, the rest go.
async fn production_dispatch(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let mut sent = 0;
    for (name, value) in form.fields() {
        let Some(id) = name.strip_prefix("number-") else {
            continue;
        };
        let number = value.trim();
        if number.is_empty() {
            continue;
        }
        let Ok(id) = id.parse::<Uuid>() else {
            continue;
        };
        let result = page
            .api(
                Method::POST,
                &format!("/production/applications/{id}/dispatch"),
                Some(json!({ "document_number": number })),
            )
            .await
            .result;
        match result {
            Ok(_) => sent += 1,
            // The refused number stays in its field, as typed, to be corrected.
            Err(p) => {
                let mut error = field_error(name, p.message);
                error["value"] = json!(number);
                errors.push(error);
            }
        }
    }
    if sent == 0 && errors.is_empty() {
        errors.push(field_error("batches", page.t("production-nothing-entered")));
    }
    if errors.is_empty() {
        page.redirect("/staff/production?done=dispatched")
    } else {
        render_production(&page, errors, StatusCode::UNPROCESSABLE_ENTITY, None).await
    }
}

// ---- registration point ----

#[derive(serde::Deserialize, Default)]
struct TicketQuery {
    number: Option<String>,
}

async fn render_point(
    page: &Page,
    errors: Vec<Value>,
    status: StatusCode,
    done: Option<&str>,
    ticket: Value,
) -> Response {
    render_point_with(page, errors, status, done, ticket, Value::Null).await
}

/// The desk, with what the clerk had chosen in the hand-over form kept after an error.
async fn render_point_with(
    page: &Page,
    errors: Vec<Value>,
    status: StatusCode,
    done: Option<&str>,
    ticket: Value,
    form: Value,
) -> Response {
    let arriving = match fetch(page, "/point/queue").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut waiting = match fetch(page, "/point/queue?state=ready_for_pickup").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    with_age(page, &mut waiting, "state_since");
    let ctx = json!({
        "arriving": arriving, "waiting": waiting, "errors": errors,
        "notice": notice_text(page, done), "found": ticket, "form": form,
        "switch_path": "/staff/point",
    });
    page.render_status(
        status,
        "point.html",
        console(page, "point", page.t("point-desk-title"), ctx),
    )
}

async fn point_desk(page: Page, Query(q): Query<Notice>) -> Response {
    render_point(
        &page,
        Vec::new(),
        StatusCode::OK,
        q.done.as_deref(),
        Value::Null,
    )
    .await
}

async fn point_receive(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = page.form(&body) {
        return r;
    }
    match page
        .api(
            Method::POST,
            &format!("/point/applications/{id}/receive"),
            None,
        )
        .await
        .result
    {
        Ok(_) => page.redirect("/staff/point?done=received"),
        Err(p) => staff_problem(&page, &p),
    }
}

/// Ticket entry (a GET form: nothing changes until the hand-over).
async fn point_ticket(page: Page, Query(q): Query<TicketQuery>) -> Response {
    let number = q.number.unwrap_or_default().trim().to_string();
    if number.is_empty() {
        let e = field_error("number", page.t("point-ticket-missing"));
        return render_point(
            &page,
            vec![e],
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Value::Null,
        )
        .await;
    }
    let encoded = ticket_symbols(&number);
    match page
        .api(Method::GET, &format!("/point/tickets/{encoded}"), None)
        .await
        .result
    {
        Ok(app) => render_point(&page, Vec::new(), StatusCode::OK, None, app).await,
        Err(p) if p.status.is_client_error() && p.status != StatusCode::UNAUTHORIZED => {
            let status = p.status;
            // The refused ticket stays in its field, as typed, to be corrected.
            let mut error = field_error("number", p.message);
            error["value"] = json!(number);
            render_point(&page, vec![error], status, None, Value::Null).await
        }
        Err(p) => staff_problem(&page, &p),
    }
}

async fn point_hand_over(page: Page, Path(ticket): Path<String>, body: Bytes) -> Response {
    let ticket = ticket_symbols(&ticket);
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let old_card = form.text("old_card");
    let chosen = json!({
        "identity_checked": form.get("identity_checked") == Some("on"),
        "old_card": old_card,
    });
    let mut errors = Vec::new();
    if form.get("identity_checked") != Some("on") {
        errors.push(field_error(
            "identity_checked",
            page.t("point-identity-missing"),
        ));
    }
    if !matches!(old_card.as_str(), "surrendered" | "not_presented") {
        errors.push(field_error(
            "old_card-surrendered",
            page.t("point-old-card-missing"),
        ));
    }
    if !errors.is_empty() {
        let found = page
            .api(Method::GET, &format!("/point/tickets/{ticket}"), None)
            .await
            .result
            .unwrap_or(Value::Null);
        return render_point_with(
            &page,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            found,
            chosen,
        )
        .await;
    }
    match page
        .api(
            Method::POST,
            &format!("/point/tickets/{ticket}/hand-over"),
            Some(json!({ "old_card": old_card })),
        )
        .await
        .result
    {
        Ok(_) => page.redirect(&format!("/staff/point/tickets/{ticket}/receipt")),
        Err(p) if p.status.is_client_error() && p.status != StatusCode::UNAUTHORIZED => {
            let status = p.status;
            render_point(
                &page,
                vec![field_error("number", p.message)],
                status,
                None,
                Value::Null,
            )
            .await
        }
        Err(p) => staff_problem(&page, &p),
    }
}

/// The hand-over receipt: the new document, and which card is no longer valid from when
/// (printed for the holder, or kept at the desk).
async fn point_receipt(page: Page, Path(ticket): Path<String>) -> Response {
    let ticket = ticket_symbols(&ticket);
    let found = match page
        .api(Method::GET, &format!("/point/tickets/{ticket}"), None)
        .await
        .result
    {
        Ok(found) => found,
        Err(p) => return staff_problem(&page, &p),
    };
    let documents = found["applicant"]["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let new = documents
        .iter()
        .find(|d| d["issued_for_application"] == found["id"])
        .cloned()
        .unwrap_or(Value::Null);
    let replaced = documents
        .iter()
        .find(|d| d["replaced_by_application"] == found["id"])
        .cloned()
        .unwrap_or(Value::Null);
    let ctx = json!({
        "found": found, "new": new, "replaced": replaced,
        "notice": notice_text(&page, (found["state"] == "issued").then_some("handed-over")),
        "switch_path": format!("/staff/point/tickets/{ticket}/receipt"),
    });
    page.render(
        "handover_receipt.html",
        console(&page, "point", page.t("handover-receipt-title"), ctx),
    )
}

// ---- administrator ----

async fn render_admin(
    page: &Page,
    errors: Vec<Value>,
    status: StatusCode,
    done: Option<&str>,
    form: Value,
) -> Response {
    let staff = match fetch(page, "/admin/staff").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let rules = page
        .api(Method::GET, "/rules", None)
        .await
        .result
        .unwrap_or(Value::Null);
    let rule_sets = page
        .api(Method::GET, "/reference/rule-sets", None)
        .await
        .result
        .unwrap_or(json!([]));
    let points = page
        .api(Method::GET, "/reference/registration-points", None)
        .await
        .result
        .unwrap_or(json!([]));
    let ctx = json!({
        "staff": staff, "rules": rules, "rule_sets": rule_sets, "points": points, "errors": errors, "form": form,
        "notice": notice_text(page, done),
        "roles": ["officer", "production_operator", "point_operator", "administrator"],
    });
    page.render_status(
        status,
        "admin.html",
        console(page, "admin", page.t("admin-title"), ctx),
    )
}

async fn admin_staff(page: Page, Query(q): Query<Notice>) -> Response {
    render_admin(
        &page,
        Vec::new(),
        StatusCode::OK,
        q.done.as_deref(),
        json!({}),
    )
    .await
}

/// Activates a rule-set version from a date; a refusal (no date, a past date, after the
/// set's end) comes back on its field with what was chosen.
async fn admin_activate_rule_set(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let version = form.text("version");
    let from = form.text("from");
    let values = json!({ "version": version, "from": from });
    let refused = |field: &str, message: String, status: StatusCode| {
        render_admin(
            &page,
            vec![field_error(field, message)],
            status,
            None,
            values.clone(),
        )
    };
    // Versions are lowercase letters, digits and hyphens; anything else names no set (and
    // must not reach the API's path).
    let well_formed = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !well_formed(&version) {
        let message = page.t("admin-activate-choose");
        return refused(
            "activate-version",
            message,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let path = format!("/admin/rule-sets/{version}/activate");
    match page
        .api(Method::POST, &path, Some(json!({ "from": from })))
        .await
        .result
    {
        Ok(_) => page.redirect("/staff/admin?done=rule-set-activated"),
        Err(p) if p.status == StatusCode::NOT_FOUND => {
            let message = page.t("admin-activate-choose");
            refused(
                "activate-version",
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(p) if p.status.is_client_error() && p.status != StatusCode::UNAUTHORIZED => {
            refused("activate-from", p.message, p.status).await
        }
        Err(p) => staff_problem(&page, &p),
    }
}

async fn admin_add_staff(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let role = form.text("role");
    let region = form.text("region");
    let point = form.text("point");
    let request = json!({
        "username": form.text("username"),
        "display_name": form.text("display_name"),
        "password": form.get("password").unwrap_or(""),
        "role": role,
        "region": (role == "officer" && !region.is_empty()).then_some(region.clone()),
        "point": (role == "point_operator" && !point.is_empty()).then_some(point.clone()),
        "iin": Some(form.text("iin")).filter(|i| !i.is_empty()),
    });
    match page
        .api(Method::POST, "/admin/staff", Some(request))
        .await
        .result
    {
        Ok(_) => page.redirect("/staff/admin?done=staff-added"),
        Err(p) if p.status.is_client_error() && p.status != StatusCode::UNAUTHORIZED => {
            // The API names the field its refusal is about (the core's rule for each).
            let field = p.extra["field"]
                .as_str()
                .filter(|f| ["password", "region", "point", "role", "iin"].contains(f))
                .unwrap_or("username");
            let status = p.status;
            let values = json!({
                "username": form.text("username"), "display_name": form.text("display_name"),
                "role": role, "region": region, "point": point, "iin": form.text("iin"),
            });
            render_admin(
                &page,
                vec![field_error(field, p.message)],
                status,
                None,
                values,
            )
            .await
        }
        Err(p) => staff_problem(&page, &p),
    }
}

#[derive(serde::Deserialize, Default)]
struct AuditQuery {
    q: Option<String>,
    before: Option<String>,
}

/// The audit log a page at a time: who did what (in the page's language) to which
/// application; searched by ticket, IIN, staff username or name.
async fn admin_audit(
    page: Page,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // A query that does not parse is the newest page, unsearched.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let search = q.q.unwrap_or_default().trim().to_string();
    let mut params = vec![("limit", "50".to_string())];
    if !search.is_empty() {
        params.push(("q", search.clone()));
    }
    if let Some(before) = q.before.as_deref().filter(|b| !b.is_empty()) {
        params.push(("before", before.to_string()));
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let log = match fetch(&page, &format!("/admin/audit?{query}")).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let entries: Vec<Value> = log["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut e = e.clone();
            let action = e["action"].as_str().unwrap_or("").to_string();
            e["action_name"] = json!(action_name(&page, &action));
            e
        })
        .collect();
    // The next page keeps the search; the first page is the newest.
    let older = log["next"]
        .as_str()
        .map(|next| audit_page_link(&search, Some(next)));
    let newest = q.before.is_some().then(|| audit_page_link(&search, None));
    let ctx = json!({ "entries": entries, "filter": search, "older": older, "newest": newest });
    page.render(
        "admin_audit.html",
        console(&page, "admin", page.t("admin-audit-title"), ctx),
    )
}

/// The audit log's page after `before` (the newest without it), keeping the search.
fn audit_page_link(search: &str, before: Option<&str>) -> String {
    let params: Vec<(&str, &str)> = [("before", before), ("q", Some(search))]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect();
    match serde_urlencoded::to_string(&params) {
        Ok(query) if !query.is_empty() => format!("/staff/admin/audit?{query}"),
        _ => "/staff/admin/audit".to_string(),
    }
}

/// An audit action in the page's language ("application.approve" → "Approved"); one the
/// catalogue does not name yet shows as its code.
fn action_name(page: &Page, action: &str) -> String {
    let key = format!("audit-action-{}", action.replace(['.', '_'], "-"));
    if super::i18n::has(page.lang, &key) {
        page.t(&key)
    } else {
        action.to_string()
    }
}
