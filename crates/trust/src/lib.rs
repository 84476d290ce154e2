//! kuelik-trust: the trust chain of the service.
//!
//! - [`pki`]: which officer certificates are trusted (anchors, validity, revocation,
//!   keyUsage), and a demo CA that issues them;
//! - [`approval`]: the canonical approval document an officer signs (RFC 8785 JSON, [`jcs`]);
//! - [`submission`]: the canonical submission document a citizen signs with their own ЭЦП;
//! - [`cms`]: detached CMS `SignedData` signatures over it, made and verified;
//! - [`profile`]: the НУЦ РК profile — the person (IIN) and organisation (BIN) a certificate
//!   names, and what its key is for — checked against a staff account bound to a person;
//! - [`ocsp`]: revocation by OCSP (RFC 6960): the request, the check of the signed answer,
//!   and a responder for the demo CA;
//! - [`tsp`]: time-stamps (RFC 3161) in signatures, verified and recorded as the signing time;
//! - [`keystore`]: officer keys sealed under a PIN, for remote signing;
//! - [`pkcs12`]: `.p12` key files, as НУЦ РК issues them and NCALayer opens them;
//! - [`audit`]: the hash chain and signed checkpoints of the audit log;
//! - [`algorithm`]: the signature algorithms accepted (ECDSA P-256, RSA; GOST slots in here).
//!
//! No IO and no clock: certificates, keys and documents come in as bytes and strings, and
//! every time is an argument. Every refusal is a [`TrustError`] with a stable
//! [`TrustError::code`] — production records it as the reason it refused.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod algorithm;
pub mod approval;
pub mod audit;
pub mod cms;
pub mod error;
pub mod jcs;
pub mod keystore;
pub mod ocsp;
pub mod pkcs12;
pub mod pki;
pub mod profile;
pub mod submission;
pub mod tsp;

pub use algorithm::{KeyAlgorithm, PrivateKey, PublicKey, SignatureAlgorithm};
pub use approval::ApprovalDocument;
pub use audit::{
    AuditError, AuditFailure, AuditRecord, Chain, Checkpoint, ServerKey, ServerPublicKey,
};
pub use cms::{sign_detached, verify_detached, SignatureInfo};
pub use error::TrustError;
pub use keystore::{seal, unseal, SealedKey};
pub use pki::{
    CertificateInfo, DemoCa, OfficerCredentials, OfficerRequest, RevocationList, TrustStore,
    Validity,
};
pub use profile::{Holder, SignerProfile};
pub use submission::SubmissionDocument;
