//! The approval document: what a УМС officer signs when approving an application.
//!
//! It names the application and everything the production centre will put on the card —
//! the personal data as approved and the SHA-256 of the photo and of the signature image —
//! plus the decision, its time and the officer. Production rebuilds it from the data it is
//! about to use and verifies the stored signature over *those* bytes, so any change after
//! approval (a field, an image) is a `digest_mismatch`.
//!
//! All fields are strings filled by the server, so this crate does not depend on the core's
//! types; the bytes are canonical JSON (RFC 8785) with a `format` member naming the schema,
//! so a signature over some other JSON can never pass for an approval.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::TrustError;
use crate::jcs;

/// The schema name carried in the signed bytes. A new schema gets a new name.
pub const APPROVAL_FORMAT: &str = "kuelik-approval-v1";
/// The only decision that is signed.
pub const DECISION_APPROVE: &str = "approve";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDocument {
    pub application_id: String,
    /// The registration ticket number as shown (`ABCDE-FGHJK`).
    pub ticket: String,
    pub iin: String,
    pub surname: String,
    pub given_name: String,
    /// `None` for people without one; signed as JSON `null`, so the member is always there.
    pub patronymic: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `identity_card`, `passport`.
    pub document_kind: String,
    /// Region code of the УМС that decided, e.g. `71`.
    pub region: String,
    /// Where the document will be collected, e.g. `71-01`.
    pub registration_point: String,
    /// Lowercase hex.
    pub photo_sha256: String,
    /// Lowercase hex.
    pub signature_sha256: String,
    /// [`DECISION_APPROVE`].
    pub decision: String,
    /// RFC 3339 instant of the decision.
    pub decided_at: String,
    pub officer_username: String,
}

impl ApprovalDocument {
    /// The canonical JSON bytes (RFC 8785) that are signed.
    ///
    /// Written directly rather than through [`jcs::canonicalize`] so it cannot fail: every
    /// member is a string (or null) and the member names are fixed; a unit test checks the
    /// result equals the general canonicaliser's.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let members: Vec<(&str, Option<&str>)> = vec![
            ("application_id", Some(&self.application_id)),
            ("birth_date", Some(&self.birth_date)),
            ("decided_at", Some(&self.decided_at)),
            ("decision", Some(&self.decision)),
            ("document_kind", Some(&self.document_kind)),
            ("format", Some(APPROVAL_FORMAT)),
            ("given_name", Some(&self.given_name)),
            ("iin", Some(&self.iin)),
            ("officer_username", Some(&self.officer_username)),
            ("patronymic", self.patronymic.as_deref()),
            ("photo_sha256", Some(&self.photo_sha256)),
            ("region", Some(&self.region)),
            ("registration_point", Some(&self.registration_point)),
            ("signature_sha256", Some(&self.signature_sha256)),
            ("surname", Some(&self.surname)),
            ("ticket", Some(&self.ticket)),
        ];
        string_members(members)
    }

    /// Lowercase hex SHA-256 of [`ApprovalDocument::canonical_bytes`].
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_bytes()))
    }

    /// Reads signed bytes back, refusing anything that is not exactly the canonical form of
    /// an approval document of [`APPROVAL_FORMAT`] (so what an auditor reads is what was
    /// signed, byte for byte).
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, TrustError> {
        read_canonical(bytes, APPROVAL_FORMAT, ApprovalDocument::canonical_bytes)
    }
}

/// The canonical JSON (RFC 8785) of an object whose members are strings or null.
///
/// Written directly rather than through [`jcs::canonicalize`] so it cannot fail; the
/// documents' tests check the result equals the general canonicaliser's.
pub(crate) fn string_members(mut members: Vec<(&str, Option<&str>)>) -> Vec<u8> {
    // The names are ASCII, where UTF-16 order is byte order; sorting keeps that true if a
    // member is ever added out of place.
    members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    let mut out = String::with_capacity(512);
    out.push('{');
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        jcs::write_string(&mut out, name);
        out.push(':');
        match value {
            Some(v) => jcs::write_string(&mut out, v),
            None => out.push_str("null"),
        }
    }
    out.push('}');
    out.into_bytes()
}

/// Reads signed bytes back, refusing anything that is not exactly the canonical form of a
/// document of `format` (so what an auditor reads is what was signed, byte for byte).
pub(crate) fn read_canonical<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    format: &str,
    canonical: impl Fn(&T) -> Vec<u8>,
) -> Result<T, TrustError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| TrustError::InvalidDocument("not UTF-8".into()))?;
    let mut value = jcs::parse(text)?;
    let named = value
        .as_object_mut()
        .and_then(|members| members.remove("format"));
    if named.as_ref().and_then(|f| f.as_str()) != Some(format) {
        return Err(TrustError::InvalidDocument(format!(
            "format is not {format:?}"
        )));
    }
    let doc: T =
        serde_json::from_value(value).map_err(|e| TrustError::InvalidDocument(e.to_string()))?;
    if canonical(&doc) != bytes {
        return Err(TrustError::InvalidDocument(
            "the bytes are not in canonical form".into(),
        ));
    }
    Ok(doc)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> ApprovalDocument {
        ApprovalDocument {
            application_id: "0192f0c4-7b1e-7cc3-9a57-3f1f0c2d9e11".into(),
            ticket: "K7M2Q-9XH4T".into(),
            iin: "900515301234".into(),
            surname: "Сейткали".into(),
            given_name: "Айгерім".into(),
            patronymic: Some("Нұрланқызы".into()),
            birth_date: "1990-05-15".into(),
            document_kind: "identity_card".into(),
            region: "71".into(),
            registration_point: "71-01".into(),
            photo_sha256: "ab".repeat(32),
            signature_sha256: "cd".repeat(32),
            decision: DECISION_APPROVE.into(),
            decided_at: "2025-03-04T05:06:07Z".into(),
            officer_username: "officer71".into(),
        }
    }

    #[test]
    fn canonical_bytes_equal_the_general_canonicaliser() {
        for patronymic in [Some("Нұрланқызы \"quoted\"\n".to_string()), None] {
            let doc = ApprovalDocument {
                patronymic,
                ..sample()
            };
            let mut value = serde_json::to_value(&doc).unwrap();
            value
                .as_object_mut()
                .unwrap()
                .insert("format".into(), APPROVAL_FORMAT.into());
            assert_eq!(doc.canonical_bytes(), jcs::canonicalize(&value).unwrap());
        }
    }

    #[test]
    fn canonical_bytes_are_pinned() {
        // A change here breaks every stored signature: it must be a new APPROVAL_FORMAT.
        let text = String::from_utf8(sample().canonical_bytes()).unwrap();
        assert!(text.starts_with(
            "{\"application_id\":\"0192f0c4-7b1e-7cc3-9a57-3f1f0c2d9e11\",\"birth_date\":\"1990-05-15\",\
             \"decided_at\":\"2025-03-04T05:06:07Z\",\"decision\":\"approve\",\"document_kind\":\"identity_card\",\
             \"format\":\"kuelik-approval-v1\",\"given_name\":\"Айгерім\",\"iin\":\"900515301234\","
        ));
        assert!(text.ends_with("\"surname\":\"Сейткали\",\"ticket\":\"K7M2Q-9XH4T\"}"));
        // No insignificant whitespace (no value of the sample contains any).
        assert!(!text.contains(' ') && !text.contains('\n'));
    }

    #[test]
    fn every_field_changes_the_bytes() {
        let base = sample().canonical_bytes();
        let edits: Vec<fn(&mut ApprovalDocument)> = vec![
            |d| d.application_id.push('0'),
            |d| d.ticket.push('0'),
            |d| d.iin.push('0'),
            |d| d.surname.push('a'),
            |d| d.given_name.push('a'),
            |d| d.patronymic = None,
            |d| d.birth_date.push('0'),
            |d| d.document_kind.push('s'),
            |d| d.region.push('1'),
            |d| d.registration_point.push('1'),
            |d| d.photo_sha256.push('0'),
            |d| d.signature_sha256.push('0'),
            |d| d.decision.push('d'),
            |d| d.decided_at.push('Z'),
            |d| d.officer_username.push('x'),
        ];
        for edit in edits {
            let mut doc = sample();
            edit(&mut doc);
            assert_ne!(doc.canonical_bytes(), base);
        }
    }

    #[test]
    fn reads_back_only_canonical_approvals() {
        let doc = sample();
        let bytes = doc.canonical_bytes();
        assert_eq!(ApprovalDocument::from_canonical_bytes(&bytes).unwrap(), doc);

        let pretty =
            serde_json::to_vec_pretty(&jcs::parse(std::str::from_utf8(&bytes).unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            ApprovalDocument::from_canonical_bytes(&pretty)
                .unwrap_err()
                .code(),
            "invalid_document"
        );
        let without_format = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"format\":\"kuelik-approval-v1\",", "");
        assert!(ApprovalDocument::from_canonical_bytes(without_format.as_bytes()).is_err());
        let extra = String::from_utf8(bytes)
            .unwrap()
            .replacen('{', "{\"extra\":\"x\",", 1);
        assert!(ApprovalDocument::from_canonical_bytes(extra.as_bytes()).is_err());
        assert!(ApprovalDocument::from_canonical_bytes(&[0xff, 0xfe]).is_err());
    }
}
