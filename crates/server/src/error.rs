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

/// An error answer. Rendered in English first; [`localize`] re-renders `detail` in the
/// language the request asked for.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    /// Boxed: errors travel through every `Result`, so they are kept small.
    pub detail: Box<Localized>,
    /// Extra members of the problem object (e.g. the eligibility decision).
    pub extra: Option<Value>,
}

const ERROR_TEXTS: [(Lang, &str); 3] = [
    (Lang::Kk, include_str!("../locales/kk/errors.ftl")),
    (Lang::Ru, include_str!("../locales/ru/errors.ftl")),
    (Lang::En, include_str!("../locales/en/errors.ftl")),
];

static ERRORS: std::sync::LazyLock<kuelik_core::messages::Catalog> =
    std::sync::LazyLock::new(|| kuelik_core::messages::Catalog::from_sources(&ERROR_TEXTS));

/// The detail of `code` in kk, ru and en from `locales/*/errors.ftl` (`error-<code>`), if
/// the catalogue has it in all three.
pub fn catalogued(code: &str) -> Option<Localized> {
    let id = format!("error-{code}");
    Lang::ALL
        .iter()
        .all(|lang| ERRORS.has(*lang, &id))
        .then(|| ERRORS.localized(&id, &[]))
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, detail: Localized) -> ApiError {
        ApiError {
            status,
            code: code.into(),
            detail: Box::new(detail),
            extra: None,
        }
    }

    /// An error with a technical reason (a JSON syntax error's position, a certificate's
    /// issuer): the detail is the code's catalogued text in the reader's language, and the
    /// technical reason goes in the problem's `reason` member, for the client developer.
    /// A code not in the catalogue keeps the reason as its detail (a test lists every code).
    pub fn plain(status: StatusCode, code: &str, reason: impl Into<String>) -> ApiError {
        let reason = reason.into();
        match catalogued(code) {
            Some(text) => ApiError::new(status, code, text).with_reason(reason),
            None => ApiError::new(status, code, Localized::from_fn(|_| reason.clone())),
        }
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
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            Localized {
                kk: "Сұралған жазба табылмады.".into(),
                ru: "Запрошенная запись не найдена.".into(),
                en: "The requested record was not found.".into(),
            },
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            Localized {
                kk: "Жүйеге кіріңіз.".into(),
                ru: "Войдите в систему.".into(),
                en: "Please sign in.".into(),
            },
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            Localized {
                kk: "Бұл әрекетке рұқсатыңыз жоқ.".into(),
                ru: "У вас нет прав на это действие.".into(),
                en: "You are not allowed to do this.".into(),
            },
        )
    }

    pub fn bad_request(code: &str, detail: Localized) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    fn body(&self, lang: Lang) -> Value {
        let mut body = json!({
            "type": format!("urn:kuelik:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
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
        let mut response = (self.status, self.body(lang).to_string()).into_response();
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

fn text(kk: &str, ru: &str, en: &str) -> Localized {
    Localized {
        kk: kk.into(),
        ru: ru.into(),
        en: en.into(),
    }
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> ApiError {
        use LifecycleError as E;
        let status = match &err {
            // Out of scope: answer as if the application did not exist.
            E::NotTheApplicant | E::OtherRegion | E::WrongRegistrationPoint => {
                return ApiError::not_found();
            }
            E::WrongRole { .. } => StatusCode::FORBIDDEN,
            E::IllegalTransition { .. }
            | E::NotTheReviewer
            | E::AlreadyPaid
            | E::NoRefundPending
            | E::RegisterDocumentMismatch
            | E::ReviewNotAbandoned
            | E::MissingRegistrationPoint
            | E::MissingPhoto
            | E::MissingSignature
            | E::MissingPayment => StatusCode::CONFLICT,
            E::PointOutsideRegion { .. }
            | E::TicketMismatch
            | E::BadDocumentNumber
            | E::PhotoCheckFailed
            | E::SignatureCheckFailed
            | E::NotEligible => StatusCode::UNPROCESSABLE_ENTITY,
            E::Calendar(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, err.code(), messages::lifecycle_error(&err))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                text(
                    "Өтініш дәл қазір өзгерді. Бетті жаңартып, қайталаңыз.",
                    "Заявка только что изменилась. Обновите страницу и повторите.",
                    "The application changed just now. Reload and try again.",
                ),
            ),
            StoreError::Duplicate("live_application") => ApiError::new(
                StatusCode::CONFLICT,
                "live_application_exists",
                text(
                    "Сізде қаралып жатқан өтініш бар: жаңасын тек ол аяқталғаннан кейін беруге болады.",
                    "У вас уже есть заявка в работе: новую можно подать после её завершения.",
                    "You already have an application in progress: you can apply again once it is finished.",
                ),
            ),
            StoreError::Duplicate("username") => ApiError::new(
                StatusCode::CONFLICT,
                "username_taken",
                text(
                    "Бұл пайдаланушы аты бос емес.",
                    "Это имя пользователя уже занято.",
                    "This username is taken.",
                ),
            ),
            StoreError::Duplicate(what) => ApiError::plain(
                StatusCode::CONFLICT,
                &format!("duplicate_{what}"),
                format!("{what} already exists"),
            ),
            other => {
                // The store's own trouble, not the client's: logged without personal data.
                tracing::error!(code = other.code(), error = %other, "store failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    text(
                        "Қызмет уақытша қолжетімсіз. Кейінірек қайталаңыз.",
                        "Сервис временно недоступен. Повторите позже.",
                        "The service is temporarily unavailable. Please try again later.",
                    ),
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let (status, code) = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "bad_body"),
        };
        ApiError::plain(status, code, rejection.body_text())
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
        ApiError::plain(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Builds a localized text inline.
pub fn t(kk: &str, ru: &str, en: &str) -> Localized {
    text(kk, ru, en)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every string literal that follows `marker` (the code of each such call).
    fn literal_codes(marker: &str, text: &str, into: &mut BTreeSet<String>) {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let window = &rest[..rest.len().min(160)];
            if let Some(open) = window.find('"') {
                let after = &window[open + 1..];
                if let Some(close) = after.find('"') {
                    let code = &after[..close];
                    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    {
                        into.insert(code.to_string());
                    }
                }
            }
        }
    }

    fn sources(dir: &std::path::Path, into: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    #[test]
    fn every_technical_error_has_its_text_in_kk_ru_and_en() {
        let mut texts = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut texts,
        );
        let mut codes = BTreeSet::new();
        for text in &texts {
            literal_codes("ApiError::plain(", text, &mut codes);
            literal_codes("Refusal::new(", text, &mut codes);
        }
        codes.extend(
            kuelik_trust::TrustError::CODES
                .iter()
                .map(|c| c.to_string()),
        );
        codes.extend(["malformed_json", "invalid_body", "bad_body", "bad_query"].map(String::from));
        assert!(codes.len() > 40, "the scan finds the codes: {codes:?}");
        let missing: Vec<&String> = codes.iter().filter(|c| catalogued(c).is_none()).collect();
        assert!(missing.is_empty(), "no kk/ru/en text for {missing:?}");
        for code in &codes {
            let text = catalogued(code).unwrap();
            assert!(
                text.ru
                    .chars()
                    .any(|c| ('а'..='я').contains(&c.to_ascii_lowercase())),
                "{code}: the Russian text is Russian"
            );
            assert_ne!(text.kk, text.en, "{code}");
        }
    }

    #[test]
    fn a_technical_reason_goes_beside_the_localized_detail() {
        let e = ApiError::plain(StatusCode::BAD_REQUEST, "malformed_json", "EOF at line 1");
        assert_eq!(e.detail.ru, "Тело запроса не является корректным JSON.");
        assert_eq!(e.extra.unwrap()["reason"], "EOF at line 1");
        // Not catalogued: the reason is the detail, as before. (Built, so that the scan of
        // the sources above does not take it for a code of the API.)
        let unknown = ["not", "catalogued"].join("_");
        let e = ApiError::plain(StatusCode::BAD_REQUEST, &unknown, "as is");
        assert_eq!(e.detail.ru, "as is");
    }
}
