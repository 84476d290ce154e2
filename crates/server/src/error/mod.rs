//! Every error the API returns, as RFC 9457 problem+json with a stable `code` and a
//! `detail` in the caller's language. Domain and store errors become HTTP answers here and
//! nowhere else.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use kuelik_core::lang::{Lang, Localized};
use kuelik_core::lifecycle::LifecycleError;
use kuelik_core::messages;
use kuelik_store::StoreError;

pub const PROBLEM_JSON: &str = "application/problem+json";

pub mod code;

pub use code::ErrorCode;

/// An error answer. Rendered in English first; [`localize`] re-renders `detail` in the
/// language the request asked for. Its HTTP status is its code's ([`ErrorCode::status`]).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    /// Boxed: errors travel through every `Result`, so they are kept small.
    pub detail: Box<Localized>,
    /// Extra members of the problem object (e.g. the eligibility decision).
    pub extra: Option<Value>,
}

const ERROR_TEXTS: [(Lang, &str); 3] = [
    (Lang::Kk, include_str!("../../locales/kk/errors.ftl")),
    (Lang::Ru, include_str!("../../locales/ru/errors.ftl")),
    (Lang::En, include_str!("../../locales/en/errors.ftl")),
];

static ERRORS: std::sync::LazyLock<kuelik_core::messages::Catalog> =
    std::sync::LazyLock::new(|| kuelik_core::messages::Catalog::from_sources(&ERROR_TEXTS));

/// The detail of `code` in kk, ru and en from `locales/*/errors.ftl` (`error-<code>`), if
/// the catalogue has it in all three.
pub fn catalogued(code: ErrorCode) -> Option<Localized> {
    catalogued_text(&format!("error-{code}"))
}

/// A catalogue text by id (`error-<code>-<detail>` for a code's finer reasons), if it is
/// there in all three languages.
pub fn catalogued_text(id: &str) -> Option<Localized> {
    Lang::ALL
        .iter()
        .all(|lang| ERRORS.has(*lang, id))
        .then(|| ERRORS.localized(id, &[]))
}

impl ApiError {
    /// `code` with a detail the domain words itself (the core's refusals, an eligibility
    /// decision, the advice of a failed photo check).
    pub fn new(code: ErrorCode, detail: Localized) -> ApiError {
        ApiError {
            code,
            detail: Box::new(detail),
            extra: None,
        }
    }

    /// `code` with its text from the catalogue (`locales/*/errors.ftl`; a test holds that
    /// every code the API states in its own words is there in kk, ru and en).
    pub fn of(code: ErrorCode) -> ApiError {
        let detail = catalogued(code).unwrap_or_else(|| {
            tracing::error!(%code, "an error code without its text");
            Localized::from_fn(|_| code.as_str().to_string())
        });
        ApiError::new(code, detail)
    }

    /// `code` with its catalogue text, its variables filled in for each language by `args`
    /// (a date is written the language's way).
    pub fn of_with(
        code: ErrorCode,
        args: impl Fn(Lang) -> Vec<(&'static str, messages::Arg)>,
    ) -> ApiError {
        let id = format!("error-{code}");
        ApiError::new(
            code,
            Localized::from_fn(|lang| ERRORS.text(lang, &id, &args(lang))),
        )
    }

    /// An error with a technical reason (a JSON syntax error's position, a certificate's
    /// issuer): the detail is the code's catalogued text in the reader's language, and the
    /// technical reason goes in the problem's `reason` member, for the client developer.
    pub fn plain(code: ErrorCode, reason: impl Into<String>) -> ApiError {
        ApiError::of(code).with_reason(reason.into())
    }

    /// The HTTP status of this answer (its code's).
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// Adds the technical reason as the problem's `reason` member.
    pub fn with_reason(mut self, reason: String) -> ApiError {
        let mut extra = match self.extra.take() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        extra.insert("reason".into(), Value::String(reason));
        self.extra = Some(Value::Object(extra));
        self
    }

    pub fn with_extra(mut self, extra: Value) -> ApiError {
        self.extra = Some(extra);
        self
    }

    pub fn not_found() -> ApiError {
        ApiError::of(ErrorCode::NotFound)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::of(ErrorCode::Unauthorized)
    }

    pub fn forbidden() -> ApiError {
        ApiError::of(ErrorCode::Forbidden)
    }

    fn body(&self, lang: Lang) -> Value {
        let mut body = json!({
            "type": format!("urn:kuelik:problem:{}", self.code),
            "title": self.status().canonical_reason().unwrap_or("Error"),
            "status": self.status().as_u16(),
            "code": self.code,
            "detail": self.detail.get(lang),
        });
        if let (Some(Value::Object(extra)), Some(obj)) = (&self.extra, body.as_object_mut()) {
            for (k, v) in extra {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        body
    }

    pub fn render(&self, lang: Lang) -> Response {
        let mut response = (self.status(), self.body(lang).to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.headers_mut().insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(lang.tag()),
        );
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.render(Lang::En);
        // The localisation middleware re-renders from this in the request's language.
        response.extensions_mut().insert(self);
        response
    }
}

/// The language a request asked for: `?lang=`, else the `lang` cookie, else the first
/// supported tag of `Accept-Language` (by q-value), else Russian.
pub fn request_lang(headers: &HeaderMap, query: Option<&str>) -> Lang {
    if let Some(lang) = query.and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.strip_prefix("lang="))
            .find_map(|v| v.parse::<Lang>().ok())
    }) {
        return lang;
    }
    let cookie_lang = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("lang="))
        .find_map(|v| v.parse::<Lang>().ok());
    if let Some(lang) = cookie_lang {
        return lang;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Lang)> = None;
    for part in accept.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Ok(lang) = tag.parse::<Lang>() {
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
    }
    best.map(|(_, l)| l).unwrap_or(Lang::Ru)
}

/// Middleware: re-renders problem responses in the request's language.
pub async fn localize(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let lang = request_lang(request.headers(), request.uri().query());
    let response = next.run(request).await;
    match response.extensions().get::<ApiError>() {
        Some(err) if lang != Lang::En => err.render(lang),
        _ => response,
    }
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> ApiError {
        use ErrorCode as C;
        use LifecycleError as E;
        let code = match &err {
            // Out of scope: answer as if the application did not exist.
            E::NotTheApplicant | E::OtherRegion | E::WrongRegistrationPoint => {
                return ApiError::not_found();
            }
            E::WrongRole { .. } => C::WrongRole,
            E::IllegalTransition { .. } => C::IllegalTransition,
            E::NotTheReviewer => C::NotTheReviewer,
            E::AlreadyPaid => C::AlreadyPaid,
            E::NoRefundPending => C::NoRefundPending,
            E::RegisterDocumentMismatch => C::RegisterDocumentMismatch,
            E::ReviewNotAbandoned => C::ReviewNotAbandoned,
            E::Incomplete { .. } => C::ApplicationIncomplete,
            E::PointOutsideRegion { .. } => C::PointOutsideRegion,
            E::TicketMismatch => C::TicketMismatch,
            E::BadDocumentNumber => C::BadDocumentNumber,
            E::NotEligible => C::NotEligible,
            E::Calendar(_) => C::CalendarNotCovered,
        };
        ApiError::new(code, messages::lifecycle_error(&err))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict => ApiError::of(ErrorCode::Conflict),
            StoreError::Duplicate("live_application") => {
                ApiError::of(ErrorCode::LiveApplicationExists)
            }
            StoreError::Duplicate("username") => ApiError::of(ErrorCode::UsernameTaken),
            StoreError::Duplicate("idempotency_key") => {
                ApiError::of(ErrorCode::DuplicateIdempotencyKey)
            }
            StoreError::Duplicate("ticket") => ApiError::of(ErrorCode::DuplicateTicket),
            StoreError::Duplicate(what) => {
                ApiError::plain(ErrorCode::Duplicate, format!("{what} already exists"))
            }
            other => {
                // The store's own trouble, not the client's: logged without personal data.
                tracing::error!(code = other.code(), error = %other, "store failure");
                ApiError::of(ErrorCode::StoreUnavailable)
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match &rejection {
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(_) => ErrorCode::MalformedJson,
            JsonRejection::JsonDataError(_) => ErrorCode::InvalidBody,
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
            _ => ErrorCode::BadBody,
        };
        ApiError::plain(code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> ApiError {
        // A malformed id cannot name anything: same answer as an unknown one.
        ApiError::not_found()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::plain(ErrorCode::BadQuery, rejection.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use kuelik_core::messages::Catalog;

    /// Where the detail of `code` comes from when the API does not word it itself: the
    /// core's catalogue words the domain's own refusals.
    fn core_text(code: ErrorCode) -> Option<String> {
        let core = Catalog::builtin();
        let c = code.as_str();
        let kebab = c.replace('_', "-");
        let ids = [
            format!("lifecycle-error-{c}"),
            c.strip_prefix("iin_")
                .map(|r| format!("iin-error-{r}"))
                .unwrap_or_default(),
            c.strip_prefix("ticket_")
                .map(|r| format!("ticket-error-{r}"))
                .unwrap_or_default(),
            format!("eligibility-{kebab}-detail"),
            format!("eligibility-{kebab}-ended-detail"),
        ];
        ids.into_iter()
            .find(|id| !id.is_empty() && Lang::ALL.iter().all(|l| core.has(*l, id)))
    }

    #[test]
    fn every_error_code_has_its_text_in_kk_ru_and_en() {
        let mut missing = Vec::new();
        for &code in ErrorCode::ALL {
            let text = match (catalogued(code), core_text(code)) {
                (Some(text), _) => text,
                (None, Some(id)) => Catalog::builtin().localized(&id, &[]),
                (None, None) => {
                    missing.push(code);
                    continue;
                }
            };
            assert!(
                text.ru
                    .chars()
                    .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap())),
                "{code}: the Russian text is Russian: {}",
                text.ru
            );
            assert!(
                text.kk
                    .chars()
                    .any(|c| "әғқңөұүһі".contains(c.to_lowercase().next().unwrap()))
                    || text.kk != text.ru,
                "{code}: the Kazakh text is its own"
            );
            assert_ne!(text.kk, text.en, "{code}");
        }
        assert!(missing.is_empty(), "no kk/ru/en text for {missing:?}");
    }

    #[test]
    fn codes_are_distinct_snake_case_and_every_status_is_an_error() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in ErrorCode::ALL {
            let c = code.as_str();
            assert!(seen.insert(c), "{c} twice");
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c}"
            );
            assert!(code.status().as_u16() >= 400, "{c}");
            assert_eq!(ErrorCode::named(c), Some(code));
        }
    }

    #[test]
    fn every_refusal_of_the_trust_chain_is_a_code_of_the_api() {
        for code in kuelik_trust::TrustError::CODES {
            assert!(
                ErrorCode::named(code).is_some(),
                "{code} is not an ErrorCode"
            );
        }
    }

    /// `docs/API.md`'s table of codes: `| `code` | status | ... |` rows.
    fn documented_codes() -> Vec<(String, u16)> {
        let docs = include_str!("../../../../docs/API.md");
        let table = docs
            .split("<!-- error codes: begin -->")
            .nth(1)
            .and_then(|rest| rest.split("<!-- error codes: end -->").next())
            .expect("docs/API.md has the error-code table between its markers");
        table
            .lines()
            .filter_map(|line| {
                let mut cells = line.split('|').map(str::trim).skip(1);
                let code = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.next()?.parse().ok()?;
                Some((code.to_string(), status))
            })
            .collect()
    }

    #[test]
    fn the_api_docs_list_every_code_with_its_status() {
        let documented = documented_codes();
        let expected: Vec<(String, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), c.status().as_u16()))
            .collect();
        if std::env::var_os("KUELIK_UPDATE_SNAPSHOTS").is_some() && documented != expected {
            eprintln!("| code | status | detail (en) |\n|---|---|---|");
            for &code in ErrorCode::ALL {
                let en = catalogued(code)
                    .map(|t| t.en)
                    .or_else(|| {
                        core_text(code).map(|id| Catalog::builtin().text(Lang::En, &id, &[]))
                    })
                    .unwrap_or_default();
                eprintln!(
                    "| `{code}` | {} | {} |",
                    code.status().as_u16(),
                    en.replace('|', "/")
                );
            }
        }
        assert_eq!(
            documented, expected,
            "docs/API.md's error codes (in the enum's order)"
        );
    }

    #[test]
    fn a_technical_reason_goes_beside_the_localized_detail() {
        let e = ApiError::plain(ErrorCode::MalformedJson, "EOF at line 1");
        assert_eq!(e.detail.ru, "Тело запроса не является корректным JSON.");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.extra.unwrap()["reason"], "EOF at line 1");
    }
}
