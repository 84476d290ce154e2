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
