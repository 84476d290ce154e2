//! The JSON API under `/api/v1`: one module per kind of user, plus what they share — the
//! answer shapes ([`views`]). Handlers parse, authenticate and map the answer; the use cases
//! they call are in `crate::app`.

pub mod audit;
pub mod citizen;
pub mod contact;
pub mod documents;
pub mod payments;
pub mod reference;
pub mod reports;
pub mod rule_sets;
pub mod staff;
pub mod stuck;
pub mod views;

/// A CMS signature as a client sends it in JSON: base64 DER (as NCALayer returns it) or PEM
/// (`-----BEGIN CMS-----`).
pub(crate) fn cms_of(signature: &str) -> crate::error::ApiResult<Vec<u8>> {
    use base64::Engine as _;
    let signature = signature.trim();
    if signature.starts_with("-----BEGIN") {
        return Ok(signature.as_bytes().to_vec());
    }
    base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| {
            crate::error::ApiError::plain(
                crate::error::ErrorCode::MalformedSignature,
                "signature: base64 DER or PEM CMS expected",
            )
        })
}

/// A JSON answer written into a buffer sized for a whole application's answer up front.
/// axum's `Json` starts at 128 bytes and doubles as it writes, so a status answer (2.7 KB for
/// an issued application: the state, its history with each state named in three languages,
/// the payments) was regrown five times on its way out (callgrind, docs/PERFORMANCE.md, #20
/// step 5). Answers of any size are written whole; the capacity only saves the regrowing.
pub struct ApplicationJson<T>(pub T);

impl<T> ApplicationJson<T> {
    const CAPACITY: usize = 8 * 1024;
}

impl<T: serde::Serialize> axum::response::IntoResponse for ApplicationJson<T> {
    fn into_response(self) -> axum::response::Response {
        let mut answer = Vec::with_capacity(Self::CAPACITY);
        match serde_json::to_writer(&mut answer, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                answer,
            )
                .into_response(),
            Err(e) => crate::error::ApiError::plain(
                crate::error::ErrorCode::InternalError,
                format!("the answer could not be written: {e}"),
            )
            .into_response(),
        }
    }
}
