//! The submission document: what a citizen signs with their own ЭЦП (through NCALayer) when
//! they submit an application, instead of confirming it with a one-time code — eGov offers
//! both.
//!
//! It names the application, the applicant, the document asked for, where it is collected,
//! the SHA-256 of the photo and of the signature image as submitted, and the time; the
//! service rebuilds it from what it holds and accepts the signature only over those bytes.
//! Like the approval document it is canonical JSON (RFC 8785) with its own `format`, so a
//! signature over an approval (or anything else) can never pass for a submission.

use serde::{Deserialize, Serialize};

use crate::approval::{read_canonical, string_members};
use crate::error::TrustError;

/// The schema name carried in the signed bytes.
pub const SUBMISSION_FORMAT: &str = "kuelik-submission-v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionDocument {
    pub application_id: String,
    /// The applicant's IIN: the certificate that signs must be theirs.
    pub iin: String,
    /// `identity_card`, `passport`.
    pub document_kind: String,
    /// Where the document will be collected, e.g. `71-01`.
    pub registration_point: String,
    /// Lowercase hex.
    pub photo_sha256: String,
    /// Lowercase hex.
    pub signature_sha256: String,
    /// RFC 3339 instant (whole seconds) the document was given out to be signed.
    pub submitted_at: String,
}

impl SubmissionDocument {
    /// The canonical JSON bytes (RFC 8785) that are signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        string_members(vec![
            ("application_id", Some(&self.application_id)),
            ("document_kind", Some(&self.document_kind)),
            ("format", Some(SUBMISSION_FORMAT)),
            ("iin", Some(&self.iin)),
            ("photo_sha256", Some(&self.photo_sha256)),
            ("registration_point", Some(&self.registration_point)),
            ("signature_sha256", Some(&self.signature_sha256)),
            ("submitted_at", Some(&self.submitted_at)),
        ])
    }

    /// Reads signed bytes back: exactly the canonical form of a submission document.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, TrustError> {
        read_canonical(
            bytes,
            SUBMISSION_FORMAT,
            SubmissionDocument::canonical_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcs;

    fn sample() -> SubmissionDocument {
        SubmissionDocument {
            application_id: "0192f0c4-7b1e-7cc3-9a57-3f1f0c2d9e11".into(),
            iin: "900515301234".into(),
            document_kind: "identity_card".into(),
            registration_point: "71-01".into(),
            photo_sha256: "ab".repeat(32),
            signature_sha256: "cd".repeat(32),
            submitted_at: "2025-03-04T05:06:07Z".into(),
        }
    }

    #[test]
    fn canonical_bytes_equal_the_general_canonicaliser_and_read_back() {
        let doc = sample();
        let mut value = serde_json::to_value(&doc).unwrap();
        value
            .as_object_mut()
            .unwrap()
            .insert("format".into(), SUBMISSION_FORMAT.into());
        assert_eq!(doc.canonical_bytes(), jcs::canonicalize(&value).unwrap());
        assert_eq!(
            SubmissionDocument::from_canonical_bytes(&doc.canonical_bytes()).unwrap(),
            doc
        );
    }

    #[test]
    fn an_approval_or_a_reformatted_document_is_not_a_submission() {
        let approval = crate::approval::ApprovalDocument::from_canonical_bytes(
            &crate::approval::tests::sample().canonical_bytes(),
        )
        .unwrap()
        .canonical_bytes();
        let err = SubmissionDocument::from_canonical_bytes(&approval).unwrap_err();
        assert_eq!(err.code(), "invalid_document");
        let spaced = String::from_utf8(sample().canonical_bytes())
            .unwrap()
            .replace(",", ", ");
        let err = SubmissionDocument::from_canonical_bytes(spaced.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "invalid_document");
    }
}
