//! The web portal: server-rendered HTML pages for citizens and staff in Kazakh, Russian and
//! English. Every flow works with JavaScript off; `static/portal.js` only adds conveniences
//! (photo preview, drawing a signature).
//!
//! The portal holds no rules of its own: each form becomes a call to the JSON API, made
//! in-process on the same router (no network hop), with the browser's session as the bearer
//! token. So a page can never allow what the API refuses, and the API's localized problem
//! answers become the error summary above the form.

// A page helper's error is the page to show instead (a `Response`, as axum moves anyway).
#![allow(clippy::result_large_err)]

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use kuelik_core::lang::Lang;

use crate::auth::SESSION_COOKIE;
use crate::error::{request_lang, ApiError};
use crate::AppState;

pub mod assets;
pub mod charts;
pub mod citizen;
pub mod console;
pub mod csrf;
pub mod i18n;
pub mod reports;
pub mod staff;
pub mod stuck;
pub mod templates;

#[cfg(test)]
/// The portal's Rust sources, for the test that every word they use is translated.
pub(crate) fn rust_sources() -> [&'static str; 6] {
    [
        include_str!("mod.rs"),
        include_str!("console.rs"),
        include_str!("citizen.rs"),
        include_str!("staff.rs"),
        include_str!("stuck.rs"),
        include_str!("reports.rs"),
    ]
}

/// The JSON API as an in-process service (the `/api/v1` router with its state).
#[derive(Clone)]
pub struct Api(pub Router);

/// The portal's routes. `api` is the `/api/v1` router the pages call.
pub fn routes(api: Router) -> Router<AppState> {
    Router::new()
        .merge(citizen::routes())
        .merge(staff::routes())
        .merge(stuck::routes())
        .merge(reports::routes())
        .route("/static/{file}", get(assets::serve))
        .layer(axum::Extension(Api(api)))
}

/// The same CSP on every page: nothing from elsewhere, no inline script or style, forms
/// post only to kuelik, never framed; connections to kuelik (and NCALayer, appended).
const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// An API refusal, in the page's language.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub extra: Value,
}

/// One request's view of the portal: its language, its CSRF cookie, its session.
pub struct Page {
    pub state: AppState,
    api: Router,
    pub lang: Lang,
    /// The `?lang=` the request carried: remembered in a cookie.
    chosen_lang: bool,
    csrf_cookie: String,
    new_csrf_cookie: bool,
    pub session: Option<String>,
    /// This page's path (the language switch links back to it).
    pub path: String,
    /// A page answering a form post: its path takes no GET, so the switch goes home.
    posted: bool,
    cross_site: bool,
    /// The browser's address, passed on to the API (per-client limits and audit).
    client: Option<axum::extract::ConnectInfo<std::net::SocketAddr>>,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Page, Infallible> {
        let query = parts.uri.query();
        let chosen_lang = query.is_some_and(|q| {
            q.split('&')
                .filter_map(|kv| kv.strip_prefix("lang="))
                .any(|v| v.parse::<Lang>().is_ok())
        });
        let lang = request_lang(&parts.headers, query);
        let existing = cookie(&parts.headers, csrf::COOKIE)
            .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string);
        let new_csrf_cookie = existing.is_none();
        let csrf_cookie = existing.unwrap_or_else(|| {
            crate::auth::random_bytes::<32>()
                .map(|b| kuelik_core::hex::encode(&b))
                .unwrap_or_default()
        });
        let session = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let cross_site = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site");
        let api = parts
            .extensions
            .get::<Api>()
            .map(|a| a.0.clone())
            .unwrap_or_default();
        Ok(Page {
            state: state.clone(),
            api,
            lang,
            chosen_lang,
            csrf_cookie,
            new_csrf_cookie,
            session,
            path: parts.uri.path().to_string(),
            posted: parts.method == Method::POST,
            cross_site,
            client: parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .cloned(),
        })
    }
}

/// A submitted form (urlencoded), its CSRF token checked.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every field, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The field, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_string()
    }
}

/// A field error shown in the summary and next to its field.
/// The field of a refused ЭЦП signature: the "Sign with EDS" button of `ncalayer_sign.html`.
pub const ECP_FIELD: &str = "ecp-sign";

pub fn field_error(field: &str, message: impl Into<String>) -> Value {
    json!({ "field": field, "message": message.into() })
}

impl Page {
    /// The portal's word for `key` in this page's language.
    pub fn t(&self, key: &str) -> String {
        i18n::text(self.lang, key, &[])
    }

    pub fn t_args(&self, key: &str, args: &[(&str, String)]) -> String {
        i18n::text(self.lang, key, args)
    }

    pub fn csrf_token(&self) -> String {
        csrf::token(&self.state.config.secrets.otp_key, &self.csrf_cookie)
    }

    /// Parses a urlencoded form and checks its CSRF token; a forged or expired form gets
    /// the "form expired" page and changes nothing.
    pub fn form(&self, body: &[u8]) -> Result<Form, Response> {
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| self.forbidden_form())?;
        let form = Form(fields);
        self.check_csrf(form.get(csrf::FIELD))?;
        Ok(form)
    }

    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), Response> {
        let cookie = (!self.new_csrf_cookie).then_some(self.csrf_cookie.as_str());
        if self.cross_site || !csrf::valid(&self.state.config.secrets.otp_key, cookie, submitted) {
            return Err(self.forbidden_form());
        }
        Ok(())
    }

    fn forbidden_form(&self) -> Response {
        self.message_page(
            StatusCode::FORBIDDEN,
            &self.t("form-expired-title"),
            &self.t("form-expired-text"),
        )
    }

    /// Calls the JSON API in-process as this browser's session.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> ApiAnswer {
        let (bytes, content_type) = match body {
            Some(v) => (
                Bytes::from(v.to_string()),
                Some("application/json".to_string()),
            ),
            None => (Bytes::new(), None),
        };
        self.api_raw(method, path, bytes, content_type).await
    }

    pub async fn api_raw(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        content_type: Option<String>,
    ) -> ApiAnswer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(header::ACCEPT_LANGUAGE, self.lang.tag());
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        if let Some(token) = &self.session {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let Ok(mut request) = request.body(Body::from(body)) else {
            return ApiAnswer::failed(self.lang);
        };
        if let Some(client) = self.client {
            request.extensions_mut().insert(client);
        }
        let Ok(response) = self.api.clone().oneshot(request).await;
        let status = response.status();
        let headers = response.headers().clone();
        let problem = response.extensions().get::<ApiError>().cloned();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let result = match problem {
            Some(e) => Err(Problem {
                status,
                code: e.code.to_string(),
                message: e.detail.get(self.lang).to_string(),
                extra: e.extra.clone().unwrap_or(Value::Null),
            }),
            None if status.is_success() => Ok(body),
            None => Err(Problem {
                status,
                code: body["code"].as_str().unwrap_or("error").to_string(),
                message: body["detail"].as_str().unwrap_or("").to_string(),
                extra: Value::Null,
            }),
        };
        ApiAnswer { result, headers }
    }

    /// Renders `template` with the page's common context (language, CSRF token, the
    /// language switch) plus `ctx`.
    pub fn render(&self, template: &str, ctx: Value) -> Response {
        self.render_status(StatusCode::OK, template, ctx)
    }

    pub fn render_status(&self, status: StatusCode, template: &str, ctx: Value) -> Response {
        let staff = self.path.starts_with("/staff");
        let home = if staff { "/staff" } else { "/" };
        let mut merged = json!({
            "lang": self.lang.tag(),
            "csrf": self.csrf_token(),
            "path": self.path,
            "signed_in": self.session.is_some(),
            "errors": [],
            "area": if staff { "staff" } else { "citizen" },
            "home": home,
            // Where the "Sign with EDS" box finds NCALayer (the CSP lets every page reach it).
            "ncalayer_url": self.state.config.ncalayer_url,
        });
        if self.posted {
            merged["switch_path"] = json!(home);
        }
        if let (Some(m), Value::Object(extra)) = (merged.as_object_mut(), ctx) {
            m.extend(extra);
        }
        match templates::render(template, &merged) {
            Ok(html) => self.finish((status, axum::response::Html(html)).into_response()),
            Err(e) => {
                tracing::error!(template, error = %e, "portal template failed");
                self.finish(
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The page could not be shown. / Бетті көрсету мүмкін болмады. / Страницу не удалось показать.",
                    )
                        .into_response(),
                )
            }
        }
    }

    /// A page with a heading and a paragraph (errors, confirmations).
    pub fn message_page(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.render_status(
            status,
            "message.html",
            json!({ "title": title, "text": text }),
        )
    }

    /// The page for an API refusal that is not about one form field.
    pub fn problem_page(&self, problem: &Problem) -> Response {
        if problem.status == StatusCode::UNAUTHORIZED {
            if self.path.starts_with("/staff") {
                return self.redirect("/staff/sign-in");
            }
            return self.sign_in_again(&self.path);
        }
        let status = if problem.status.is_client_error() {
            problem.status
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        self.message_page(status, &self.t("problem-title"), &problem.message)
    }

    /// An application id from the address, or the "not found" page (a malformed id is a
    /// page that is not there, not an error).
    pub fn id(&self, raw: &str) -> Result<uuid::Uuid, Response> {
        raw.parse().map_err(|_| {
            self.message_page(
                StatusCode::NOT_FOUND,
                &self.t("not-found-title"),
                &self.t("not-found-text"),
            )
        })
    }

    /// 303 to `to`, passing on the cookies the API set (a sign-in's session, a sign-out's
    /// expiry).
    pub fn redirect_with_cookies(&self, to: &str, api_headers: &HeaderMap) -> Response {
        let mut response = self.redirect(to);
        for cookie in api_headers.get_all(header::SET_COOKIE) {
            response
                .headers_mut()
                .append(header::SET_COOKIE, cookie.clone());
        }
        response
    }

    /// Ends the session (citizen or staff) and goes to `to`.
    pub async fn sign_out(&self, body: &[u8], to: &str) -> Response {
        if let Err(r) = self.form(body) {
            return r;
        }
        let answer = self.api(Method::DELETE, "/auth/session", None).await;
        self.redirect_with_cookies(to, &answer.headers)
    }

    /// 303 See Other to `to` (after a form post: reloading does not post again).
    /// To the sign-in page, which brings the citizen back to `next` (a page of theirs)
    /// once they are signed in again: a session that ended loses nothing but the moment.
    pub fn sign_in_again(&self, next: &str) -> Response {
        let next = return_page(next);
        let next = safe_next(&next).unwrap_or("/my");
        if next == "/my" {
            // Where signing in leads anyway: nothing to come back to.
            return self.redirect("/sign-in");
        }
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        self.redirect(&format!("/sign-in?{query}"))
    }

    pub fn redirect(&self, to: &str) -> Response {
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(response)
    }

    /// Adds the portal's headers and the cookies this request needs set.
    pub fn finish(&self, mut response: Response) -> Response {
        let secure = if self.state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let headers = response.headers_mut();
        if self.new_csrf_cookie {
            let c = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
                csrf::COOKIE,
                self.csrf_cookie
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        if self.chosen_lang {
            let c = format!(
                "lang={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
                self.lang.tag()
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        // Pages may also talk to NCALayer, the signing client on the user's own computer.
        let csp = format!("{CSP} {}", self.state.config.ncalayer_url);
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static(CSP)),
        );
        headers.insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(self.lang.tag()),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Cookie, Accept-Language"),
        );
        response
    }
}

/// What the API answered.
pub struct ApiAnswer {
    pub result: Result<Value, Problem>,
    /// Its headers (a sign-in's `Set-Cookie` is passed on to the browser).
    pub headers: HeaderMap,
}

impl ApiAnswer {
    fn failed(lang: Lang) -> ApiAnswer {
        ApiAnswer {
            result: Err(Problem {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "internal_error".into(),
                message: i18n::text(lang, "problem-title", &[]),
                extra: Value::Null,
            }),
            headers: HeaderMap::new(),
        }
    }
}

/// Only a ticket's symbols (Crockford base-32 and the hyphen): what may go into an API path
/// (a crafted segment cannot add a query or another path).
pub fn ticket_symbols(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The page to come back to from `path`: a form's action on an application returns to the
/// application's page; starting one returns to "my applications".
fn return_page(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "my", "applications", id, _, ..] => format!("/my/applications/{id}"),
        ["", "my", "applications"] => "/my".to_string(),
        _ => path.to_string(),
    }
}

/// `next` when it is a citizen's page on this site (`/my…`, printable ASCII, no second
/// slash at the start, no backslash): never another host (no open redirect).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with("/my")
        && !next.starts_with("//")
        && next.len() <= 200
        && !next.contains('\\')
        && next.chars().all(|c| c.is_ascii_graphic());
    ok.then_some(next)
}

/// Formats an RFC 3339 instant as the Almaty local date and time, as people read it.
pub fn local_time(lang: Lang, rfc3339: &str) -> String {
    let Ok(ts) = rfc3339.parse::<jiff::Timestamp>() else {
        return rfc3339.to_string();
    };
    let zoned = ts.to_zoned_datetime(kuelik_core::time::ALMATY.clone());
    kuelik_core::format::date_time(lang, zoned.datetime())
}

/// Formats a `YYYY-MM-DD` date the way the language writes dates.
pub fn local_date(lang: Lang, iso: &str) -> String {
    iso.parse::<jiff::civil::Date>()
        .map(|d| kuelik_core::format::date(lang, d))
        .unwrap_or_else(|_| iso.to_string())
}
