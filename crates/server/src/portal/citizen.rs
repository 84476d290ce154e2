//! The citizen's pages: the start page with the rules and the eligibility check, sign-in
//! with a one-time code, the application (details from the register, registration point,
//! photo, signature, payment, confirmation with a code), the ticket with its QR code and
//! printable receipt, the status timeline and the notifications.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Multipart, Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field_error, Page, Problem, ECP_FIELD};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(start))
        .route("/eligibility", post(check_eligibility))
        .route(
            "/documents/validity",
            get(validity_page).post(check_validity),
        )
        .route("/sign-in", get(sign_in_page).post(request_code))
        .route("/sign-in/code", post(sign_in_with_code))
        .route("/sign-out", post(sign_out))
        .route("/my", get(my_page))
        .route("/my/applications", post(start_application))
        .route("/my/applications/{id}", get(application_page))
        .route("/my/applications/{id}/point", post(choose_point))
        .route("/my/applications/{id}/photo", post(upload_photo))
        .route("/my/applications/{id}/signature", post(upload_signature))
        .route("/my/applications/{id}/reminders", post(set_reminders))
        .route("/my/applications/{id}/contact", post(set_contact))
        .route("/my/applications/{id}/pay", post(pay))
        .route("/my/applications/{id}/confirm", post(confirm_page))
        .route("/my/applications/{id}/submit", post(submit))
        .route("/my/applications/{id}/submit-eds", post(submit_eds))
        .route("/my/applications/{id}/withdraw", post(withdraw))
        .route("/my/applications/{id}/receipt", get(receipt))
        .route("/my/notifications", get(notifications))
}

async fn rules(page: &Page) -> Value {
    let rules = page
        .api(Method::GET, "/rules", None)
        .await
        .result
        .unwrap_or(Value::Null);
    json!({
        "before": rules["window_days_before_expiry"].as_u64().unwrap_or(30),
        "after": rules["window_days_after_expiry"].as_u64().unwrap_or(10),
        "assumption": rules["assumption"].as_bool().unwrap_or(false),
    })
}

async fn start(page: Page) -> Response {
    let rules = rules(&page).await;
    page.render(
        "start.html",
        json!({ "title": page.t("start-title"), "rules": rules, "form": {} }),
    )
}

async fn check_eligibility(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let expires = form.text("expires");
    let rules = rules(&page).await;
    let values = json!({
        "expires": expires, "document": form.text("document"), "reason": form.text("reason"),
    });
    let mut ctx = json!({ "title": page.t("start-title"), "rules": rules, "form": values });
    if expires.is_empty() {
        ctx["errors"] = json!([field_error("expires", page.t("check-expires-missing"))]);
        return page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "start.html", ctx);
    }
    let answer = page
        .api(
            Method::POST,
            "/eligibility",
            Some(json!({
                "expires": expires,
                "document": non_empty(form.text("document")),
                "reason": non_empty(form.text("reason")),
            })),
        )
        .await;
    match answer.result {
        Ok(result) => {
            ctx["result"] = result;
            page.render("start.html", ctx)
        }
        Err(p) if p.code == "bad_date" => {
            ctx["errors"] = json!([field_error("expires", page.t("check-expires-invalid"))]);
            page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "start.html", ctx)
        }
        Err(p) => page.problem_page(&p),
    }
}

/// The public document-validity check: anyone may ask; the answer says nothing about the
/// holder.
async fn validity_page(page: Page) -> Response {
    page.render(
        "validity.html",
        json!({ "title": page.t("validity-title"), "form": {} }),
    )
}

async fn check_validity(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let kind = match form.text("kind").as_str() {
        "passport" => "passport",
        _ => "identity-card",
    };
    let number = form.text("number").to_uppercase();
    let mut ctx = json!({
        "title": page.t("validity-title"),
        "form": { "kind": kind, "number": number },
        "switch_path": "/documents/validity",
    });
    if number.is_empty() {
        ctx["errors"] = json!([field_error("number", page.t("validity-number-missing"))]);
        return page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "validity.html", ctx);
    }
    let answer = page
        .api(
            Method::POST,
            "/documents/validity",
            Some(json!({ "kind": kind, "number": number })),
        )
        .await;
    match answer.result {
        Ok(result) => {
            ctx["answer"] = result;
            page.render("validity.html", ctx)
        }
        Err(p) if p.status == StatusCode::UNPROCESSABLE_ENTITY => {
            ctx["errors"] = json!([field_error("number", p.message)]);
            page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "validity.html", ctx)
        }
        Err(p) if p.status == StatusCode::TOO_MANY_REQUESTS => {
            ctx["errors"] = json!([field_error("number", p.message)]);
            page.render_status(StatusCode::TOO_MANY_REQUESTS, "validity.html", ctx)
        }
        Err(p) => page.problem_page(&p),
    }
}

fn non_empty(s: String) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s)
    }
}

/// Where the citizen goes after signing in (`?next=` from a page whose session ended).
#[derive(serde::Deserialize, Default)]
struct Next {
    next: Option<String>,
}

async fn sign_in_page(page: Page, q: Result<Query<Next>, QueryRejection>) -> Response {
    // A query that does not parse names no page to come back to.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let next = q.next.as_deref().and_then(super::safe_next);
    page.render(
        "sign_in.html",
        json!({ "title": page.t("sign-in-title"), "step": "iin", "form": {}, "next": next }),
    )
}

async fn request_code(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let iin: String = form
        .text("iin")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let next = super::safe_next(&form.text("next")).map(str::to_string);
    let mut ctx = json!({
        "title": page.t("sign-in-title"), "step": "iin", "form": { "iin": iin },
        "switch_path": "/sign-in", "next": next,
    });
    if iin.is_empty() {
        ctx["errors"] = json!([field_error("iin", page.t("sign-in-iin-missing"))]);
        return page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "sign_in.html", ctx);
    }
    match page
        .api(Method::POST, "/auth/otp", Some(json!({ "iin": iin })))
        .await
        .result
    {
        Ok(issued) => {
            ctx["step"] = json!("code");
            ctx["challenge"] = issued["challenge_id"].clone();
            ctx["sent_to"] = issued["sent_to"].clone();
            page.render("sign_in.html", ctx)
        }
        Err(p) if p.status.is_client_error() && p.status != StatusCode::NOT_FOUND => {
            ctx["errors"] = json!([field_error("iin", p.message)]);
            page.render_status(p.status, "sign_in.html", ctx)
        }
        Err(p) => page.problem_page(&p),
    }
}

async fn sign_in_with_code(page: Page, body: Bytes) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let code = form.text("code");
    let challenge = form.text("challenge");
    let next = super::safe_next(&form.text("next")).map(str::to_string);
    let mut ctx = json!({
        "title": page.t("sign-in-title"), "step": "code", "challenge": challenge,
        "form": { "iin": form.text("iin") }, "switch_path": "/sign-in", "next": next,
    });
    if code.is_empty() {
        ctx["errors"] = json!([field_error("code", page.t("sign-in-code-missing"))]);
        return page.render_status(StatusCode::UNPROCESSABLE_ENTITY, "sign_in.html", ctx);
    }
    let answer = page
        .api(
            Method::POST,
            "/auth/session",
            Some(json!({ "challenge_id": challenge, "code": code, "mode": "cookie" })),
        )
        .await;
    match answer.result {
        Ok(_) => page.redirect_with_cookies(next.as_deref().unwrap_or("/my"), &answer.headers),
        Err(p) if p.status.is_client_error() => {
            ctx["errors"] = json!([field_error("code", p.message)]);
            page.render_status(p.status, "sign_in.html", ctx)
        }
        Err(p) => page.problem_page(&p),
    }
}

async fn sign_out(page: Page, body: Bytes) -> Response {
    page.sign_out(&body, "/").await
}

/// The signed-in citizen's register record, or the response to give instead.
async fn me(page: &Page) -> Result<Value, Response> {
    if page.session.is_none() {
        return Err(page.sign_in_again(&page.path));
    }
    page.api(Method::GET, "/me", None)
        .await
        .result
        .map_err(|p| match p.status {
            // The session ended: sign in again, then back to this page.
            StatusCode::UNAUTHORIZED => page.sign_in_again(&page.path),
            _ => page.problem_page(&p),
        })
}

async fn my_page(page: Page) -> Response {
    let me = match me(&page).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let applications = page
        .api(Method::GET, "/applications", None)
        .await
        .result
        .unwrap_or(json!([]));
    let eligibility = match page.api(Method::GET, "/me/eligibility", None).await.result {
        Ok(e) => e,
        // Not eligible is an answer too: the problem carries the decision.
        Err(p) => p.extra.get("eligibility").cloned().unwrap_or(json!({
            "eligible": false,
            "message": { "kk": p.message, "ru": p.message, "en": p.message },
        })),
    };
    let live = applications.as_array().is_some_and(|apps| {
        apps.iter().any(|a| {
            !matches!(
                a["state"].as_str(),
                Some("issued" | "annulled" | "withdrawn")
            )
        })
    });
    let unread = page
        .api(Method::GET, "/notifications", None)
        .await
        .result
        .ok()
        .and_then(|n| {
            n.as_array()
                .map(|a| a.iter().filter(|n| n["read"] == false).count())
        })
        .unwrap_or(0);
    page.render(
        "my.html",
        json!({
            "title": page.t("my-applications-title"),
            "me": me,
            "applications": applications,
            "eligibility": eligibility,
            "can_start": eligibility["eligible"] == true && !live,
            "unread": unread,
        }),
    )
}

async fn start_application(page: Page, body: Bytes) -> Response {
    if let Err(r) = page.form(&body) {
        return r;
    }
    match page
        .api(Method::POST, "/applications", Some(json!({})))
        .await
        .result
    {
        Ok(app) => page.redirect(&format!(
            "/my/applications/{}",
            app["id"].as_str().unwrap_or("")
        )),
        Err(p) => page.problem_page(&p),
    }
}

/// The ticket as a QR code (inline SVG; the number is also printed beside it).
fn ticket_qr(ticket: &str) -> String {
    match qrcode::QrCode::new(ticket.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(180, 180)
                .build();
            // Inline in HTML: no XML declaration.
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}

/// The registration point's reference entry, by id.
async fn point_of(page: &Page, app: &Value) -> Value {
    let Some(point) = app["registration_point"].as_str() else {
        return Value::Null;
    };
    let region = app["region"].as_str().unwrap_or("");
    page.api(
        Method::GET,
        &format!("/reference/registration-points?region={region}"),
        None,
    )
    .await
    .result
    .ok()
    .and_then(|points| {
        points
            .as_array()?
            .iter()
            .find(|p| p["id"] == point)
            .cloned()
    })
    .unwrap_or(Value::Null)
}

/// The application page (its steps while a draft, then the ticket and the timeline), with
/// `errors` from a form on it.
async fn render_application(
    page: &Page,
    id: Uuid,
    errors: Vec<Value>,
    status: StatusCode,
) -> Response {
    show_application(page, id, errors, status, None).await
}

/// The application page; `again` names the file to choose again after a session ended.
async fn show_application(
    page: &Page,
    id: Uuid,
    errors: Vec<Value>,
    status: StatusCode,
    again: Option<&str>,
) -> Response {
    let me = match me(page).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let app = match page
        .api(Method::GET, &format!("/applications/{id}"), None)
        .await
        .result
    {
        Ok(a) => a,
        Err(p) => return page.problem_page(&p),
    };
    let region = app["region"].as_str().unwrap_or("");
    let points = page
        .api(
            Method::GET,
            &format!("/reference/registration-points?region={region}"),
            None,
        )
        .await
        .result
        .unwrap_or(json!([]));
    let point = point_of(page, &app).await;
    let pending = app["payments"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["status"] == "pending").cloned());
    let pending_pay_url = pending
        .as_ref()
        .and_then(|p| p["reference"].as_str())
        .map(|r| pay_url(r, id));
    let reminders = page
        .api(Method::GET, "/me/reminders", None)
        .await
        .result
        .ok()
        .and_then(|r| r["enabled"].as_bool())
        .unwrap_or(true);
    let contact = page
        .api(Method::GET, "/me/contact", None)
        .await
        .result
        .unwrap_or(Value::Null);
    // The phone field shows what was refused, as typed, else the citizen's own number.
    let contact_phone = errors
        .iter()
        .find(|e| e["field"] == "contact-phone")
        .map(|e| e["value"].clone())
        .unwrap_or_else(|| match contact["phone_chosen"].as_bool() {
            Some(true) => contact["notice_phone"].clone(),
            _ => json!(""),
        });
    let qr = app["ticket"].as_str().map(ticket_qr).unwrap_or_default();
    // The core's task list, by part: {"photo": "needs_fixing", …}.
    let tasks: serde_json::Map<String, Value> = app["readiness"]["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["task"].as_str()?.to_string(), t["status"].clone())))
        .collect();
    let title = if app["state"] == "draft" {
        page.t("application-draft-title")
    } else {
        page.t("application-title")
    };
    page.render_status(
        status,
        "application.html",
        json!({
            "title": title,
            "app": app,
            "me": me,
            "points": points,
            "point": point,
            "tasks": tasks,
            "pending_payment": pending,
            "pending_pay_url": pending_pay_url,
            "reminders": reminders,
            "contact": contact,
            "contact_phone": contact_phone,
            "qr": qr,
            "errors": errors,
            "again": again,
            "switch_path": format!("/my/applications/{id}"),
        }),
    )
}

/// The submission signed with the citizen's own ЭЦП (NCALayer, in the page's script): the
/// document as the service gave it and the CMS NCALayer made.
async fn submit_eds(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let signature = form.text("signature");
    if signature.is_empty() {
        let e = field_error(ECP_FIELD, page.t("submit-ecp-missing"));
        return render_application(&page, id, vec![e], StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let document = form.get("document").unwrap_or("").to_string();
    let result = page
        .api(
            Method::POST,
            &format!("/applications/{id}/submit/eds"),
            Some(json!({ "document": document, "signature": signature })),
        )
        .await
        .result;
    after_action(&page, id, result, Some(ECP_FIELD)).await
}

/// Where the citizen pays; the gateway sends them back to the application.
fn pay_url(reference: &str, id: Uuid) -> String {
    format!("/sim-gateway/pay/{reference}?return_to=/my/applications/{id}")
}

/// `?again=photo|signature`: the session ended while that file was being sent.
#[derive(serde::Deserialize, Default)]
struct Again {
    again: Option<String>,
}

async fn application_page(
    page: Page,
    Path(id): Path<String>,
    q: Result<Query<Again>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let again = q.again.filter(|k| k == "photo" || k == "signature");
    show_application(&page, id, Vec::new(), StatusCode::OK, again.as_deref()).await
}

/// Which step of the application page an API refusal belongs to.
fn step_of(problem: &Problem) -> &'static str {
    let code = problem.code.as_str();
    if code.contains("signature") {
        "step-signature"
    } else if code.contains("photo") || code.contains("image") || code.contains("upload") {
        "step-photo"
    } else if code.contains("point") {
        "step-point"
    } else if code.contains("pa") && (code.contains("paid") || code.contains("payment")) {
        "step-pay"
    } else {
        "step-submit"
    }
}

/// After a form on the application page: back to it (303), or the page again with the
/// refusal in the error summary.
async fn after_action(
    page: &Page,
    id: Uuid,
    result: Result<Value, Problem>,
    field: Option<&str>,
) -> Response {
    match result {
        Ok(_) => page.redirect(&format!("/my/applications/{id}")),
        // The session ended while the form was filled in: back to the application after
        // signing in — for a file, with the request to choose it again (it was not kept).
        Err(p) if p.status == StatusCode::UNAUTHORIZED => {
            let again = match field {
                Some("photo-file") => "?again=photo#step-photo",
                Some("signature-file") => "?again=signature#step-signature",
                _ => "",
            };
            page.sign_in_again(&format!("/my/applications/{id}{again}"))
        }
        Err(p) if p.status == StatusCode::NOT_FOUND => page.problem_page(&p),
        Err(p) if p.status.is_client_error() => {
            let field = field.unwrap_or_else(|| step_of(&p));
            let status = p.status;
            render_application(page, id, vec![field_error(field, p.message)], status).await
        }
        Err(p) => page.problem_page(&p),
    }
}

async fn choose_point(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let point = form.text("point");
    if point.is_empty() {
        let e = field_error("point", page.t("point-missing"));
        return render_application(&page, id, vec![e], StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let result = page
        .api(
            Method::PUT,
            &format!("/applications/{id}/registration-point"),
            Some(json!({ "point": point })),
        )
        .await
        .result;
    after_action(&page, id, result, Some("point")).await
}

async fn set_reminders(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let enabled = form.get("reminders") == Some("on");
    let result = page
        .api(
            Method::PUT,
            "/me/reminders",
            Some(json!({ "enabled": enabled })),
        )
        .await
        .result;
    after_action(&page, id, result, Some("reminders")).await
}

/// The phone and language of notices. A refused phone number comes back in its field, as
/// typed, so the citizen can correct it.
async fn set_contact(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let phone = form.text("phone");
    let request = json!({ "phone": phone, "language": form.text("language") });
    match page
        .api(Method::PUT, "/me/contact", Some(request))
        .await
        .result
    {
        Err(p) if p.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let field = if p.code == "bad_language" {
                "contact-language"
            } else {
                "contact-phone"
            };
            let mut error = field_error(field, p.message);
            error["value"] = json!(phone);
            render_application(&page, id, vec![error], p.status).await
        }
        result => after_action(&page, id, result, Some("contact-phone")).await,
    }
}

/// A photo or signature upload: the multipart form is read here (its CSRF field checked)
/// and the file passed on to the API as a new multipart body.
async fn upload(page: Page, id: String, mut multipart: Multipart, kind: &str) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let field_name = format!("{kind}-file");
    let mut csrf = None;
    let mut file: Option<(Bytes, String)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let filename = field.file_name().unwrap_or("upload").to_string();
                match field.bytes().await {
                    Ok(bytes) if name == super::csrf::FIELD => {
                        csrf = Some(String::from_utf8_lossy(&bytes).to_string())
                    }
                    Ok(bytes) if name == "file" => file = Some((bytes, filename)),
                    Ok(_) => {}
                    Err(e) => {
                        if let Err(r) = page.check_csrf(csrf.as_deref()) {
                            return r;
                        }
                        let message = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                            page.t("upload-too-large")
                        } else {
                            page.t("upload-unreadable")
                        };
                        return render_application(
                            &page,
                            id,
                            vec![field_error(&field_name, message)],
                            e.status(),
                        )
                        .await;
                    }
                }
            }
            Ok(None) => break,
            Err(_) => {
                if let Err(r) = page.check_csrf(csrf.as_deref()) {
                    return r;
                }
                let e = field_error(&field_name, page.t("upload-unreadable"));
                return render_application(&page, id, vec![e], StatusCode::BAD_REQUEST).await;
            }
        }
    }
    if let Err(r) = page.check_csrf(csrf.as_deref()) {
        return r;
    }
    let Some((bytes, filename)) = file.filter(|(b, _)| !b.is_empty()) else {
        let e = field_error(&field_name, page.t("upload-missing"));
        return render_application(&page, id, vec![e], StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let boundary = format!("kuelik-{}", Uuid::now_v7().simple());
    let safe_name: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let result = page
        .api_raw(
            Method::PUT,
            &format!("/applications/{id}/{kind}"),
            Bytes::from(body),
            Some(format!("multipart/form-data; boundary={boundary}")),
        )
        .await
        .result;
    after_action(&page, id, result, Some(&field_name)).await
}

/// A photo or signature form: an unreadable multipart body is a page that says so.
async fn upload_route(
    page: Page,
    id: String,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    kind: &str,
) -> Response {
    match multipart {
        Ok(m) => upload(page, id, m, kind).await,
        Err(_) => page.message_page(
            StatusCode::BAD_REQUEST,
            &page.t("problem-title"),
            &page.t("upload-unreadable"),
        ),
    }
}

async fn upload_photo(
    page: Page,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    upload_route(page, id, multipart, "photo").await
}

async fn upload_signature(
    page: Page,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    upload_route(page, id, multipart, "signature").await
}

async fn pay(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = page.form(&body) {
        return r;
    }
    match page
        .api(Method::POST, &format!("/applications/{id}/payment"), None)
        .await
        .result
    {
        Ok(started) => match started["payment"]["reference"].as_str() {
            Some(reference) => page.redirect(&pay_url(reference, id)),
            None => page.redirect(&format!("/my/applications/{id}")),
        },
        Err(p) => after_action(&page, id, Err(p), Some("step-pay")).await,
    }
}

async fn confirm_page(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
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
            &format!("/applications/{id}/submit/code"),
            None,
        )
        .await
        .result
    {
        Ok(issued) => page.render(
            "confirm.html",
            json!({
                "title": page.t("confirm-title"),
                "id": id,
                "challenge": issued["challenge_id"],
                "sent_to": issued["sent_to"],
                "switch_path": format!("/my/applications/{id}"),
            }),
        ),
        Err(p) => after_action(&page, id, Err(p), None).await,
    }
}

async fn submit(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let challenge = form.text("challenge");
    let code = form.text("code");
    let retry = |message: String, status: StatusCode| {
        page.render_status(
            status,
            "confirm.html",
            json!({
                "title": page.t("confirm-title"),
                "id": id,
                "challenge": challenge,
                "errors": [field_error("code", message)],
                "switch_path": format!("/my/applications/{id}"),
            }),
        )
    };
    if code.is_empty() {
        return retry(
            page.t("sign-in-code-missing"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let result = page
        .api(
            Method::POST,
            &format!("/applications/{id}/submit"),
            Some(json!({ "challenge_id": challenge, "code": code })),
        )
        .await
        .result;
    match result {
        Err(p) if p.code.contains("code") || p.code.contains("challenge") => {
            retry(p.message, p.status)
        }
        other => after_action(&page, id, other, None).await,
    }
}

async fn withdraw(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // Withdrawing cannot be undone: the first press asks, the second (confirm=yes) does it.
    if form.get("confirm") != Some("yes") {
        let paid = page
            .api(Method::GET, &format!("/applications/{id}"), None)
            .await
            .result
            .ok()
            .is_some_and(|a| a["paid"] == true);
        return page.render(
            "withdraw.html",
            json!({
                "title": page.t("withdraw-title"), "id": id, "paid": paid,
                "switch_path": format!("/my/applications/{id}"),
            }),
        );
    }
    let result = page
        .api(Method::POST, &format!("/applications/{id}/withdraw"), None)
        .await
        .result;
    after_action(&page, id, result, None).await
}

async fn receipt(page: Page, Path(id): Path<String>) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let me = match me(&page).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let app = match page
        .api(Method::GET, &format!("/applications/{id}"), None)
        .await
        .result
    {
        Ok(a) => a,
        Err(p) => return page.problem_page(&p),
    };
    let Some(ticket) = app["ticket"].as_str() else {
        return page.redirect(&format!("/my/applications/{id}"));
    };
    let qr = ticket_qr(ticket);
    let point = point_of(&page, &app).await;
    page.render(
        "receipt.html",
        json!({ "title": page.t("receipt-title"), "app": app, "me": me, "qr": qr, "point": point }),
    )
}

async fn notifications(page: Page) -> Response {
    if page.session.is_none() {
        return page.sign_in_again("/my/notifications");
    }
    let notices = match page.api(Method::GET, "/notifications", None).await.result {
        Ok(n) => n,
        Err(p) => return page.problem_page(&p),
    };
    let response = page.render(
        "notifications.html",
        json!({ "title": page.t("notifications-title"), "notices": notices }),
    );
    // Shown is read: mark them after rendering (the page still shows which were new).
    for n in notices.as_array().into_iter().flatten() {
        if n["read"] == false {
            if let Some(nid) = n["id"].as_str() {
                let _ = page
                    .api(Method::POST, &format!("/notifications/{nid}/read"), None)
                    .await;
            }
        }
    }
    response
}
