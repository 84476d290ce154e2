//! The one error type of the trust chain. Production records [`TrustError::code`] as the
//! refusal reason, so the codes are stable API: add new ones, never rename.

use jiff::Timestamp;

/// Why a signature, certificate, key or document was refused.
///
/// Messages never contain key material or PINs: callers may log them and return them to the
/// officer as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The bytes are not a CMS `SignedData` of the shape this service signs and accepts
    /// (one signer, signed attributes, signer certificate included).
    #[error("the signature is not a usable CMS SignedData: {0}")]
    MalformedSignature(String),
    /// The bytes are not a DER (or PEM) X.509 certificate.
    #[error("the certificate cannot be read: {0}")]
    MalformedCertificate(String),
    /// The content given is not the content that was signed: someone changed it.
    #[error("the content differs from the signed content (message digest mismatch)")]
    DigestMismatch,
    /// The signature does not verify with the signer certificate's public key: the signed
    /// attributes were altered, or another key signed.
    #[error("the signature does not verify with the signer certificate's key")]
    BadSignature,
    /// The certificate does not chain to a configured trust anchor (self-signed, another CA,
    /// or a forged issuer signature).
    #[error("the certificate is not issued by a trusted CA: {0}")]
    UntrustedCertificate(String),
    #[error("the certificate expired at {not_after}")]
    CertificateExpired { not_after: Timestamp },
    #[error("the certificate is not valid before {not_before}")]
    CertificateNotYetValid { not_before: Timestamp },
    #[error("the certificate with serial {serial} is revoked")]
    CertificateRevoked { serial: String },
    /// No current, trustworthy OCSP answer could be had about the certificate (the responder
    /// is unreachable, its answer is stale, unsigned by the issuer, or "unknown"): the
    /// signature cannot be accepted now; try again later.
    #[error("the certificate's revocation status cannot be established: {0}")]
    RevocationUnknown(String),
    /// A time-stamp token (RFC 3161) is in the signature but does not hold: not signed by a
    /// trusted time-stamping authority, or not over this signature.
    #[error("the time-stamp is not valid: {0}")]
    InvalidTimeStamp(String),
    /// Not an X.509 v3 end-entity certificate with the keyUsage digitalSignature.
    #[error("the certificate may not sign documents: {0}")]
    WrongKeyUsage(String),
    /// The certificate names no person: its subject has no serialNumber `IIN` + 12 digits,
    /// so it cannot be bound to a staff account or a citizen.
    #[error("the certificate names no person (no IIN in the subject's serialNumber)")]
    CertificateWithoutIin,
    /// The certificate is of another person than the one who signs (another IIN).
    #[error("the certificate is of another person (IIN {named})")]
    CertificateOfAnotherPerson { named: String },
    /// The certificate is not of the organisation the profile requires (another BIN, or none).
    #[error("the certificate is not of the required organisation (BIN {})", named.as_deref().unwrap_or("none"))]
    CertificateOfAnotherOrganisation { named: Option<String> },
    /// None of the certificate's policies is one the profile accepts.
    #[error("the certificate's policies are not accepted: [{0}]")]
    CertificatePolicyNotAccepted(String),
    /// A key, signature or digest algorithm this build does not verify (e.g. GOST).
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The signer claims a signing time later than the moment of verification.
    #[error("the signing time {signing_time} is later than {at}")]
    SigningTimeInFuture {
        signing_time: Timestamp,
        at: Timestamp,
    },
    /// The private key PEM cannot be used (wrong format, encrypted, unsupported curve).
    /// The message never quotes the key.
    #[error("the private key cannot be used: {0}")]
    MalformedKey(String),
    /// The private key does not belong to the certificate it was to sign with.
    #[error("the private key does not belong to the certificate")]
    KeyCertificateMismatch,
    /// The PIN does not open the sealed key (or the sealed key was altered: an AEAD cannot
    /// tell the two apart, and telling them apart would help a guesser).
    #[error("wrong PIN")]
    WrongPin,
    #[error("the PIN is too short: at least {min} characters")]
    WeakPin { min: usize },
    /// The sealed key record is not of a format or with parameters this build accepts.
    #[error("the sealed key cannot be read: {0}")]
    MalformedSealedKey(String),
    /// The trust anchors configured cannot be used.
    #[error("the trust anchors cannot be used: {0}")]
    InvalidTrustStore(String),
    /// A revocation list (CRL or revoked-serials list) cannot be used.
    #[error("the revocation list cannot be used: {0}")]
    InvalidRevocationList(String),
    /// A JSON document cannot be put in canonical form (RFC 8785).
    #[error("the document cannot be canonicalised: {0}")]
    InvalidDocument(String),
    /// Randomness or encoding failed where it should not; nothing the caller sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TrustError {
    /// Stable snake_case reason code (recorded as the refusal reason and sent as the
    /// problem+json `code`).
    pub fn code(&self) -> &'static str {
        match self {
            TrustError::MalformedSignature(_) => "malformed_signature",
            TrustError::MalformedCertificate(_) => "malformed_certificate",
            TrustError::DigestMismatch => "digest_mismatch",
            TrustError::BadSignature => "bad_signature",
            TrustError::UntrustedCertificate(_) => "untrusted_certificate",
            TrustError::CertificateExpired { .. } => "certificate_expired",
            TrustError::CertificateNotYetValid { .. } => "certificate_not_yet_valid",
            TrustError::CertificateRevoked { .. } => "certificate_revoked",
            TrustError::RevocationUnknown(_) => "revocation_status_unknown",
            TrustError::InvalidTimeStamp(_) => "invalid_time_stamp",
            TrustError::WrongKeyUsage(_) => "wrong_key_usage",
            TrustError::CertificateWithoutIin => "certificate_without_iin",
            TrustError::CertificateOfAnotherPerson { .. } => "certificate_of_another_person",
            TrustError::CertificateOfAnotherOrganisation { .. } => {
                "certificate_of_another_organisation"
            }
            TrustError::CertificatePolicyNotAccepted(_) => "certificate_policy_not_accepted",
            TrustError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            TrustError::SigningTimeInFuture { .. } => "signing_time_in_future",
            TrustError::MalformedKey(_) => "malformed_key",
            TrustError::KeyCertificateMismatch => "key_certificate_mismatch",
            TrustError::WrongPin => "wrong_pin",
            TrustError::WeakPin { .. } => "weak_pin",
            TrustError::MalformedSealedKey(_) => "malformed_sealed_key",
            TrustError::InvalidTrustStore(_) => "invalid_trust_store",
            TrustError::InvalidRevocationList(_) => "invalid_revocation_list",
            TrustError::InvalidDocument(_) => "invalid_document",
            TrustError::Internal(_) => "internal_error",
        }
    }

    /// Every code, for tests and for the callers' message catalogues.
    pub const CODES: &'static [&'static str] = &[
        "malformed_signature",
        "malformed_certificate",
        "digest_mismatch",
        "bad_signature",
        "untrusted_certificate",
        "certificate_expired",
        "certificate_not_yet_valid",
        "certificate_revoked",
        "revocation_status_unknown",
        "invalid_time_stamp",
        "wrong_key_usage",
        "certificate_without_iin",
        "certificate_of_another_person",
        "certificate_of_another_organisation",
        "certificate_policy_not_accepted",
        "unsupported_algorithm",
        "signing_time_in_future",
        "malformed_key",
        "key_certificate_mismatch",
        "wrong_pin",
        "weak_pin",
        "malformed_sealed_key",
        "invalid_trust_store",
        "invalid_revocation_list",
        "invalid_document",
        "internal_error",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_listed() {
        let samples = [
            TrustError::MalformedSignature(String::new()),
            TrustError::MalformedCertificate(String::new()),
            TrustError::DigestMismatch,
            TrustError::BadSignature,
            TrustError::UntrustedCertificate(String::new()),
            TrustError::CertificateExpired {
                not_after: Timestamp::UNIX_EPOCH,
            },
            TrustError::CertificateNotYetValid {
                not_before: Timestamp::UNIX_EPOCH,
            },
            TrustError::CertificateRevoked {
                serial: String::new(),
            },
            TrustError::RevocationUnknown(String::new()),
            TrustError::InvalidTimeStamp(String::new()),
            TrustError::WrongKeyUsage(String::new()),
            TrustError::CertificateWithoutIin,
            TrustError::CertificateOfAnotherPerson {
                named: String::new(),
            },
            TrustError::CertificateOfAnotherOrganisation { named: None },
            TrustError::CertificatePolicyNotAccepted(String::new()),
            TrustError::UnsupportedAlgorithm(String::new()),
            TrustError::SigningTimeInFuture {
                signing_time: Timestamp::UNIX_EPOCH,
                at: Timestamp::UNIX_EPOCH,
            },
            TrustError::MalformedKey(String::new()),
            TrustError::KeyCertificateMismatch,
            TrustError::WrongPin,
            TrustError::WeakPin { min: 6 },
            TrustError::MalformedSealedKey(String::new()),
            TrustError::InvalidTrustStore(String::new()),
            TrustError::InvalidRevocationList(String::new()),
            TrustError::InvalidDocument(String::new()),
            TrustError::Internal(String::new()),
        ];
        let codes: Vec<&str> = samples.iter().map(TrustError::code).collect();
        assert_eq!(codes, TrustError::CODES);
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        for code in codes {
            assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }
}
