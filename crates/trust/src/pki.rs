//! X.509 trust: which officer certificates the service accepts, and a demo CA to make some.
//!
//! The policy ([`TrustStore::verify_certificate`]), checked in this order so that the most
//! fundamental refusal is the one reported:
//!
//! 1. the bytes are one DER certificate (`malformed_certificate`);
//! 2. it is issued by a configured trust anchor: the issuer name equals an anchor's
//!    subject and the anchor's key verifies the signature over the certificate's own
//!    `tbsCertificate` bytes (`untrusted_certificate`). Anchors are the CAs that issue officer
//!    certificates directly — configure the issuing CA (for the national CA, its
//!    intermediate), not only the root: paths longer than one step are not built;
//! 3. the instant is inside `notBefore..=notAfter` (`certificate_not_yet_valid`,
//!    `certificate_expired`);
//! 4. its serial is not revoked by its issuer (`certificate_revoked`), from a CRL signed by the
//!    anchor or from a plain revoked-serials list;
//! 5. it is X.509 v3, not a CA, with keyUsage digitalSignature and no critical extension we
//!    do not understand (`wrong_key_usage`, `untrusted_certificate`);
//! 6. its key is of a supported type (`unsupported_algorithm`).

use std::collections::BTreeSet;
use std::fmt;

use der::asn1::ObjectIdentifier;
use der::{Decode, Header, Reader, SliceReader, Tag, Tagged};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_cert::certificate::Version;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::name::Name;
use x509_cert::time::Time;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::algorithm::{oid, KeyAlgorithm, PrivateKey, PublicKey, SignatureAlgorithm};
use crate::error::TrustError;
use crate::profile::Holder;

/// Largest certificate accepted: real ones are 1–3 KiB; the bound keeps hostile input cheap.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;
/// Largest CRL accepted.
pub const MAX_CRL_BYTES: usize = 16 * 1024 * 1024;

/// What the service records about a certificate it accepted (or shows before binding a
/// certificate to a staff account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// Lowercase hex of the serial number, without leading zero bytes.
    pub serial: String,
    /// Subject as an RFC 4514 string, e.g. `CN=officer71,O=kuelik demo,C=KZ`.
    pub subject: String,
    /// The subject's commonName, when it has one.
    pub common_name: Option<String>,
    /// Issuer as an RFC 4514 string.
    pub issuer: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// Lowercase hex SHA-256 of the certificate's DER: the id to bind to a staff account.
    pub sha256_fingerprint: String,
    /// `ecdsa-p256`, `rsa-2048`, …
    pub public_key_algorithm: String,
    /// The person and organisation it names and what its key is for (the НУЦ РК profile).
    #[serde(default)]
    pub holder: Holder,
}

/// A parsed certificate with the exact bytes its issuer signed.
#[derive(Clone)]
pub(crate) struct ParsedCertificate {
    pub(crate) cert: Certificate,
    pub(crate) der: Vec<u8>,
    /// The `tbsCertificate` exactly as received: re-encoding a decoded value could reorder
    /// SET OF elements and break an honest signature.
    tbs: Vec<u8>,
    /// Kept as a result: an unsupported leaf key is reported after the chain checks.
    pub(crate) key: Result<PublicKey, TrustError>,
}

impl ParsedCertificate {
    pub(crate) fn parse(der: &[u8]) -> Result<Self, TrustError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(TrustError::MalformedCertificate(format!(
                "{} bytes is larger than any certificate",
                der.len()
            )));
        }
        let cert = Certificate::from_der(der)
            .map_err(|e| TrustError::MalformedCertificate(e.to_string()))?;
        let parts =
            sequence_elements(der).map_err(|e| TrustError::MalformedCertificate(e.to_string()))?;
        let tbs = match parts.first() {
            Some(tbs) if parts.len() == 3 => tbs.to_vec(),
            _ => {
                return Err(TrustError::MalformedCertificate(
                    "a certificate has three parts".into(),
                ))
            }
        };
        let key = PublicKey::from_spki(&cert.tbs_certificate.subject_public_key_info);
        Ok(ParsedCertificate {
            cert,
            der: der.to_vec(),
            tbs,
            key,
        })
    }

    pub(crate) fn issuer(&self) -> &Name {
        &self.cert.tbs_certificate.issuer
    }

    pub(crate) fn subject(&self) -> &Name {
        &self.cert.tbs_certificate.subject
    }

    pub(crate) fn serial_hex(&self) -> String {
        hex_serial(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    pub(crate) fn not_before(&self) -> Result<Timestamp, TrustError> {
        to_timestamp(self.cert.tbs_certificate.validity.not_before)
    }

    pub(crate) fn not_after(&self) -> Result<Timestamp, TrustError> {
        to_timestamp(self.cert.tbs_certificate.validity.not_after)
    }

    fn basic_constraints(&self) -> Result<Option<BasicConstraints>, TrustError> {
        self.cert
            .tbs_certificate
            .get::<BasicConstraints>()
            .map(|found| found.map(|(_, bc)| bc))
            .map_err(|e| TrustError::MalformedCertificate(format!("basicConstraints: {e}")))
    }

    fn is_ca(&self) -> Result<bool, TrustError> {
        Ok(self.basic_constraints()?.is_some_and(|bc| bc.ca))
    }

    /// Whether `issuer`'s key made this certificate's signature.
    pub(crate) fn verify_signed_by(&self, issuer: &PublicKey) -> Result<(), TrustError> {
        let outer = &self.cert.signature_algorithm;
        if *outer != self.cert.tbs_certificate.signature {
            return Err(TrustError::MalformedCertificate(
                "signature algorithm differs inside and outside tbsCertificate".into(),
            ));
        }
        let alg = certificate_signature_algorithm(&outer.oid, issuer)?;
        let signature = self.cert.signature.as_bytes().ok_or_else(|| {
            TrustError::MalformedCertificate("signature bit string is not whole bytes".into())
        })?;
        issuer.verify(alg, &self.tbs, signature)
    }

    pub(crate) fn info(&self) -> Result<CertificateInfo, TrustError> {
        let key = self.key.as_ref().map_err(Clone::clone)?;
        Ok(CertificateInfo {
            serial: self.serial_hex(),
            subject: self.subject().to_string(),
            common_name: common_name(self.subject()),
            issuer: self.issuer().to_string(),
            not_before: self.not_before()?,
            not_after: self.not_after()?,
            sha256_fingerprint: hex::encode(Sha256::digest(&self.der)),
            public_key_algorithm: key.algorithm_name(),
            holder: Holder::of(self)?,
        })
    }
}

fn printable(text: &str) -> Result<rcgen::DnValue, TrustError> {
    rcgen::string::PrintableString::try_from(text)
        .map(rcgen::DnValue::PrintableString)
        .map_err(|e| TrustError::Internal(format!("{text:?} is not printable: {e}")))
}

/// An extendedKeyUsage purpose for rcgen from a dotted OID.
fn eku_purpose(dotted: &str) -> Result<rcgen::ExtendedKeyUsagePurpose, TrustError> {
    let arcs = dotted
        .split('.')
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TrustError::Internal(format!("{dotted:?} is not a dotted OID")))?;
    Ok(match dotted {
        crate::profile::EKU_SIGNING => rcgen::ExtendedKeyUsagePurpose::EmailProtection,
        crate::profile::EKU_AUTHENTICATION => rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        _ => rcgen::ExtendedKeyUsagePurpose::Other(arcs),
    })
}

/// Reads a certificate and describes it, without deciding whether it is trusted (e.g. to
/// show an officer which certificate they are about to bind to their account).
pub fn inspect_certificate(der_or_pem: &[u8]) -> Result<CertificateInfo, TrustError> {
    let der = certificate_der(der_or_pem)?;
    ParsedCertificate::parse(&der)?.info()
}

/// The DER of a certificate given as DER or as one PEM `CERTIFICATE` block.
pub fn certificate_der(der_or_pem: &[u8]) -> Result<Vec<u8>, TrustError> {
    let trimmed = der_or_pem.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let blocks =
            pem_blocks(trimmed, "CERTIFICATE").map_err(TrustError::MalformedCertificate)?;
        match <[Vec<u8>; 1]>::try_from(blocks) {
            Ok([der]) => Ok(der),
            Err(blocks) => Err(TrustError::MalformedCertificate(format!(
                "expected one certificate, found {}",
                blocks.len()
            ))),
        }
    } else {
        Ok(der_or_pem.to_vec())
    }
}

/// Revoked certificates: serials per issuer, from CRLs and/or a plain list.
///
/// The plain list is text, one certificate a line: `SERIAL-HEX [ISSUER-DN]` (the issuer
/// as RFC 4514, as [`CertificateInfo::issuer`] prints it). A line without an issuer
/// revokes that serial whoever issued it — serials are random 128-bit numbers, so that
/// over-reach costs nothing. `#` starts a comment.
#[derive(Debug, Clone, Default)]
pub struct RevocationList {
    /// (issuer or `None` for any, serial hex).
    serials: BTreeSet<(Option<String>, String)>,
    /// CRLs waiting for their signature check against the anchors ([`TrustStore::new`]).
    crls: Vec<PendingCrl>,
}

#[derive(Debug, Clone)]
struct PendingCrl {
    crl: CertificateList,
    tbs: Vec<u8>,
}

impl RevocationList {
    pub fn new() -> Self {
        Self::default()
    }

    /// Revokes `serial` (hex, colons and a `0x` prefix allowed) of `issuer` (RFC 4514) or of
    /// any issuer.
    pub fn revoke(&mut self, issuer: Option<&str>, serial: &str) -> Result<(), TrustError> {
        let serial = normalize_serial(serial).ok_or_else(|| {
            TrustError::InvalidRevocationList(format!("{serial:?} is not a hex serial number"))
        })?;
        self.serials
            .insert((issuer.map(|s| s.trim().to_string()), serial));
        Ok(())
    }

    /// Reads the plain revoked-serials list (format above).
    pub fn from_text(text: &str) -> Result<Self, TrustError> {
        let mut list = Self::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (serial, issuer) = match line.split_once(char::is_whitespace) {
                Some((serial, issuer)) => (serial, Some(issuer.trim())),
                None => (line, None),
            };
            list.revoke(issuer.filter(|i| !i.is_empty()), serial)
                .map_err(|e| {
                    TrustError::InvalidRevocationList(format!("line {}: {e}", index + 1))
                })?;
        }
        Ok(list)
    }

    /// The plain list, readable by [`RevocationList::from_text`]. CRL entries are included
    /// once the list went through a [`TrustStore`] (see [`TrustStore::revocations`]).
    pub fn to_text(&self) -> String {
        let mut out = String::from("# kuelik revoked certificates: SERIAL-HEX [ISSUER-DN]\n");
        for (issuer, serial) in &self.serials {
            match issuer {
                Some(issuer) => out.push_str(&format!("{serial} {issuer}\n")),
                None => out.push_str(&format!("{serial}\n")),
            }
        }
        out
    }

    /// Adds a CRL (DER or PEM `X509 CRL`). Its signature is checked against the trust
    /// anchors when the list is given to [`TrustStore::new`]; an unverifiable CRL is refused
    /// there, so a forged CRL cannot be slipped in.
    pub fn add_crl(&mut self, der_or_pem: &[u8]) -> Result<(), TrustError> {
        let trimmed = der_or_pem.trim_ascii_start();
        let ders = if trimmed.starts_with(b"-----BEGIN") {
            pem_blocks(trimmed, "X509 CRL").map_err(TrustError::InvalidRevocationList)?
        } else {
            vec![der_or_pem.to_vec()]
        };
        for der in ders {
            if der.len() > MAX_CRL_BYTES {
                return Err(TrustError::InvalidRevocationList("CRL too large".into()));
            }
            let crl = CertificateList::from_der(&der)
                .map_err(|e| TrustError::InvalidRevocationList(format!("not a CRL: {e}")))?;
            let parts = sequence_elements(&der)
                .map_err(|e| TrustError::InvalidRevocationList(e.to_string()))?;
            let tbs = match parts.first() {
                Some(tbs) if parts.len() == 3 => tbs.to_vec(),
                _ => {
                    return Err(TrustError::InvalidRevocationList(
                        "a CRL has three parts".into(),
                    ))
                }
            };
            self.crls.push(PendingCrl { crl, tbs });
        }
        Ok(())
    }

    /// Adds everything `other` revokes (e.g. several lists and CRLs from configuration).
    pub fn merge(&mut self, other: RevocationList) {
        self.serials.extend(other.serials);
        self.crls.extend(other.crls);
    }

    /// Whether `serial` (normalised hex) of `issuer` is revoked.
    pub fn is_revoked(&self, issuer: &str, serial: &str) -> bool {
        let Some(serial) = normalize_serial(serial) else {
            return false;
        };
        self.serials
            .contains(&(Some(issuer.to_string()), serial.clone()))
            || self.serials.contains(&(None, serial))
    }

    /// Number of revoked serials known (CRL entries count once verified).
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }
}

/// The configured trust anchors and revocations.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<Anchor>,
    revoked: RevocationList,
}

#[derive(Clone)]
struct Anchor {
    parsed: ParsedCertificate,
    key: PublicKey,
    info: CertificateInfo,
}

impl fmt::Debug for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anchor")
            .field("subject", &self.info.subject)
            .field("sha256", &self.info.sha256_fingerprint)
            .finish()
    }
}

impl TrustStore {
    /// Trust anchors as PEM `CERTIFICATE` blocks (text around them is ignored, as in CA
    /// bundles); each must be a CA certificate with a supported key. CRLs in `revoked` are
    /// verified against the anchors here.
    pub fn new(anchors_pem: &str, revoked: RevocationList) -> Result<Self, TrustError> {
        let blocks = pem_blocks(anchors_pem.as_bytes(), "CERTIFICATE")
            .map_err(TrustError::InvalidTrustStore)?;
        if blocks.is_empty() {
            return Err(TrustError::InvalidTrustStore(
                "no CA certificate (PEM CERTIFICATE block) given".into(),
            ));
        }
        let mut anchors = Vec::with_capacity(blocks.len());
        for der in blocks {
            let parsed = ParsedCertificate::parse(&der)
                .map_err(|e| TrustError::InvalidTrustStore(e.to_string()))?;
            let info = parsed
                .info()
                .map_err(|e| TrustError::InvalidTrustStore(e.to_string()))?;
            // An officer certificate configured as an anchor by mistake would make that one
            // key the whole trust store; refuse it.
            if !parsed
                .is_ca()
                .map_err(|e| TrustError::InvalidTrustStore(e.to_string()))?
            {
                return Err(TrustError::InvalidTrustStore(format!(
                    "{} is not a CA certificate (basicConstraints cA)",
                    info.subject
                )));
            }
            let key = parsed
                .key
                .clone()
                .map_err(|e| TrustError::InvalidTrustStore(e.to_string()))?;
            anchors.push(Anchor { parsed, key, info });
        }

        let RevocationList { mut serials, crls } = revoked;
        for pending in crls {
            let tbs_list = &pending.crl.tbs_cert_list;
            let issuer = &tbs_list.issuer;
            let mut candidates = anchors.iter().filter(|a| a.parsed.subject() == issuer);
            let signature = pending.crl.signature.as_bytes().ok_or_else(|| {
                TrustError::InvalidRevocationList("CRL signature is not whole bytes".into())
            })?;
            if pending.crl.signature_algorithm != tbs_list.signature {
                return Err(TrustError::InvalidRevocationList(
                    "signature algorithm differs inside and outside the CRL".into(),
                ));
            }
            let verified = candidates.any(|anchor| {
                certificate_signature_algorithm(&pending.crl.signature_algorithm.oid, &anchor.key)
                    .and_then(|alg| anchor.key.verify(alg, &pending.tbs, signature))
                    .is_ok()
            });
            if !verified {
                return Err(TrustError::InvalidRevocationList(format!(
                    "the CRL of {issuer} is not signed by a trust anchor"
                )));
            }
            for entry in tbs_list.revoked_certificates.iter().flatten() {
                serials.insert((
                    Some(issuer.to_string()),
                    hex_serial(entry.serial_number.as_bytes()),
                ));
            }
        }
        Ok(TrustStore {
            anchors,
            revoked: RevocationList {
                serials,
                crls: Vec::new(),
            },
        })
    }

    /// The anchors, described.
    /// The trust anchor that issued `cert_der` (DER), when one did: what an OCSP request
    /// about the certificate names.
    pub fn issuer_of(&self, cert_der: &[u8]) -> Option<&[u8]> {
        let parsed = ParsedCertificate::parse(cert_der).ok()?;
        self.anchors
            .iter()
            .filter(|a| a.parsed.subject() == parsed.issuer())
            .find(|a| parsed.verify_signed_by(&a.key).is_ok())
            .map(|a| a.parsed.der.as_slice())
    }

    pub fn anchors(&self) -> impl Iterator<Item = &CertificateInfo> {
        self.anchors.iter().map(|a| &a.info)
    }

    /// All revoked serials, CRL entries included.
    pub fn revocations(&self) -> &RevocationList {
        &self.revoked
    }

    /// Decides whether the DER certificate may sign at instant `at` (policy in the module
    /// documentation).
    pub fn verify_certificate(
        &self,
        cert_der: &[u8],
        at: Timestamp,
    ) -> Result<CertificateInfo, TrustError> {
        let parsed = ParsedCertificate::parse(cert_der)?;
        self.check(&parsed, &[at])?;
        parsed.info()
    }

    /// The checks of [`TrustStore::verify_certificate`] at every instant of `times`.
    pub(crate) fn check(
        &self,
        parsed: &ParsedCertificate,
        times: &[Timestamp],
    ) -> Result<(), TrustError> {
        self.check_chain_validity_revocation(parsed, times)?;
        check_signing_profile(parsed)?;
        parsed.key.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// Chained to an anchor, valid at every instant of `times`, not revoked: what every
    /// certificate the service relies on must be.
    fn check_chain_validity_revocation(
        &self,
        parsed: &ParsedCertificate,
        times: &[Timestamp],
    ) -> Result<(), TrustError> {
        self.check_chain(parsed)?;
        let (not_before, not_after) = (parsed.not_before()?, parsed.not_after()?);
        for &at in times {
            if at < not_before {
                return Err(TrustError::CertificateNotYetValid { not_before });
            }
            if at > not_after {
                return Err(TrustError::CertificateExpired { not_after });
            }
        }
        let serial = parsed.serial_hex();
        if self
            .revoked
            .is_revoked(&parsed.issuer().to_string(), &serial)
        {
            return Err(TrustError::CertificateRevoked { serial });
        }
        Ok(())
    }

    /// The checks of a time-stamping authority's certificate at every instant of `times`:
    /// chained to an anchor, valid, not revoked, with `id-kp-timeStamping`.
    pub(crate) fn check_time_stamping(
        &self,
        parsed: &ParsedCertificate,
        times: &[Timestamp],
    ) -> Result<(), TrustError> {
        self.check_chain_validity_revocation(parsed, times)?;
        let holder = Holder::of(parsed)?;
        if !holder
            .extended_key_usages
            .iter()
            .any(|e| e == crate::tsp::EKU_TIME_STAMPING)
        {
            return Err(TrustError::WrongKeyUsage(
                "not a time-stamping authority's certificate".into(),
            ));
        }
        Ok(())
    }

    fn check_chain(&self, parsed: &ParsedCertificate) -> Result<(), TrustError> {
        // A CA certificate presented as a signer: the chain is fine, the profile check
        // below refuses it as a CA.
        if self.anchors.iter().any(|a| a.parsed.der == parsed.der) {
            return Ok(());
        }
        let mut named = self
            .anchors
            .iter()
            .filter(|a| a.parsed.subject() == parsed.issuer())
            .peekable();
        if named.peek().is_none() {
            let issuer = parsed.issuer().to_string();
            return Err(TrustError::UntrustedCertificate(
                if parsed.issuer() == parsed.subject() {
                    format!("self-signed certificate of {issuer}")
                } else {
                    format!("issuer {issuer} is not a trust anchor")
                },
            ));
        }
        let mut unsupported = None;
        for anchor in named {
            match parsed.verify_signed_by(&anchor.key) {
                Ok(()) => return Ok(()),
                Err(e @ TrustError::UnsupportedAlgorithm(_)) => unsupported = Some(e),
                Err(e @ TrustError::MalformedCertificate(_)) => return Err(e),
                Err(_) => {}
            }
        }
        Err(unsupported.unwrap_or_else(|| {
            TrustError::UntrustedCertificate(format!(
                "the signature of {} does not verify",
                parsed.issuer()
            ))
        }))
    }
}

/// Extensions whose meaning we know; any other extension marked critical makes the
/// certificate unusable (RFC 5280 §4.2).
const KNOWN_EXTENSIONS: [ObjectIdentifier; 9] = [
    oid::ID_CE_KEY_USAGE,
    oid::ID_CE_BASIC_CONSTRAINTS,
    oid::ID_CE_EXT_KEY_USAGE,
    oid::ID_CE_SUBJECT_ALT_NAME,
    oid::ID_CE_CERTIFICATE_POLICIES,
    oid::ID_CE_SUBJECT_KEY_IDENTIFIER,
    oid::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    oid::ID_CE_CRL_DISTRIBUTION_POINTS,
    oid::ID_PE_AUTHORITY_INFO_ACCESS,
];

fn check_signing_profile(parsed: &ParsedCertificate) -> Result<(), TrustError> {
    let tbs = &parsed.cert.tbs_certificate;
    if tbs.version != Version::V3 {
        return Err(TrustError::WrongKeyUsage(format!(
            "an X.509 {:?} certificate has no keyUsage; v3 is required",
            tbs.version
        )));
    }
    for ext in tbs.extensions.iter().flatten() {
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id) {
            return Err(TrustError::UntrustedCertificate(format!(
                "unrecognised critical extension {}",
                ext.extn_id
            )));
        }
    }
    if parsed.is_ca()? {
        return Err(TrustError::WrongKeyUsage(
            "a CA certificate cannot sign approvals".into(),
        ));
    }
    match tbs.get::<KeyUsage>() {
        Err(e) => Err(TrustError::MalformedCertificate(format!("keyUsage: {e}"))),
        Ok(None) => Err(TrustError::WrongKeyUsage("no keyUsage extension".into())),
        Ok(Some((_, usage))) if !usage.digital_signature() => Err(TrustError::WrongKeyUsage(
            "keyUsage lacks digitalSignature".into(),
        )),
        Ok(Some(_)) => Ok(()),
    }
}

/// The algorithm of a certificate or CRL signature (here `rsaEncryption` alone is not valid).
pub(crate) fn certificate_signature_algorithm(
    alg: &ObjectIdentifier,
    issuer: &PublicKey,
) -> Result<SignatureAlgorithm, TrustError> {
    let alg = if *alg == oid::ECDSA_WITH_SHA_256 {
        SignatureAlgorithm::EcdsaP256Sha256
    } else if *alg == oid::SHA_256_WITH_RSA_ENCRYPTION {
        SignatureAlgorithm::RsaPkcs1v15Sha256
    } else {
        return Err(TrustError::UnsupportedAlgorithm(format!(
            "certificate signature algorithm {}",
            crate::algorithm::describe_oid(alg)
        )));
    };
    if alg != issuer.signature_algorithm() {
        return Err(TrustError::UnsupportedAlgorithm(format!(
            "{} by a {} issuer key",
            alg.as_str(),
            issuer.algorithm_name()
        )));
    }
    Ok(alg)
}

fn common_name(name: &Name) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid::CN)
        .and_then(|atv| match atv.value.tag() {
            Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
                std::str::from_utf8(atv.value.value())
                    .ok()
                    .map(str::to_string)
            }
            _ => None,
        })
}

fn to_timestamp(time: Time) -> Result<Timestamp, TrustError> {
    let since_epoch = time.to_unix_duration();
    let seconds = i64::try_from(since_epoch.as_secs())
        .map_err(|_| TrustError::MalformedCertificate("time out of range".into()))?;
    Timestamp::from_second(seconds)
        .map_err(|_| TrustError::MalformedCertificate("time out of range".into()))
}

pub(crate) fn hex_serial(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    if start == bytes.len() {
        "00".into()
    } else {
        hex::encode(&bytes[start..])
    }
}

/// `0x01:A2:…` → `1a2…` normalised like [`hex_serial`]; `None` when not hex.
fn normalize_serial(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let mut digits: String = s.chars().filter(|c| *c != ':' && *c != ' ').collect();
    if digits.is_empty() || digits.len() > 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if digits.len() % 2 == 1 {
        digits.insert(0, '0');
    }
    let bytes = hex::decode(digits.to_ascii_lowercase()).ok()?;
    Some(hex_serial(&bytes))
}

/// The TLV bytes of each element of the outer SEQUENCE of `der`, exactly as encoded.
pub(crate) fn sequence_elements(der: &[u8]) -> der::Result<Vec<&[u8]>> {
    let mut reader = SliceReader::new(der)?;
    let header = Header::decode(&mut reader)?;
    header.tag.assert_eq(Tag::Sequence)?;
    let elements = reader.read_nested(header.length, |r| {
        let mut elements = Vec::new();
        while !r.is_finished() {
            elements.push(r.tlv_bytes()?);
        }
        Ok(elements)
    })?;
    reader.finish(elements)
}

/// Every PEM block labelled `label`, decoded. Text outside blocks is ignored (CA bundles
/// carry comments); a block with another label is refused rather than silently skipped.
pub(crate) fn pem_blocks(text: &[u8], label: &str) -> Result<Vec<Vec<u8>>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "PEM text is not UTF-8".to_string())?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let Some(end_marker) = after.find("-----END ") else {
            return Err("PEM block without an END line".into());
        };
        let tail = &after[end_marker + "-----END ".len()..];
        let Some(close) = tail.find("-----") else {
            return Err("PEM END line is not closed".into());
        };
        let block_len = end_marker + "-----END ".len() + close + "-----".len();
        let block = &after[..block_len];
        let (found, der) =
            der::pem::decode_vec(block.as_bytes()).map_err(|e| format!("PEM: {e}"))?;
        if found != label {
            return Err(format!("expected PEM {label:?}, found {found:?}"));
        }
        blocks.push(der);
        rest = &after[block_len..];
    }
    Ok(blocks)
}

// ---------------------------------------------------------------------------------------
// Demo CA
// ---------------------------------------------------------------------------------------

/// A validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

impl Validity {
    /// From `from` for `days` days.
    pub fn days_from(from: Timestamp, days: i64) -> Result<Self, TrustError> {
        let not_after = from
            .checked_add(jiff::SignedDuration::from_hours(days.saturating_mul(24)))
            .map_err(|e| TrustError::Internal(format!("validity: {e}")))?;
        Ok(Validity {
            not_before: from,
            not_after,
        })
    }
}

/// What an officer certificate should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerRequest {
    /// Put in the subject's CN; the demo uses the staff username.
    pub common_name: String,
    /// Optional subject OU, e.g. `УМС 71`.
    pub organizational_unit: Option<String>,
    pub algorithm: KeyAlgorithm,
    pub validity: Validity,
    /// keyUsage digitalSignature (+ nonRepudiation). `false` makes an encryption-only
    /// certificate (keyEncipherment), which the service must refuse.
    pub digital_signature: bool,
    /// The НУЦ РК profile's names: the holder's IIN (subject serialNumber `IIN…`) and the
    /// organisation's BIN (subject OU `BIN…`), 12 digits each.
    pub iin: Option<String>,
    pub bin: Option<String>,
    /// extendedKeyUsage OIDs (dotted), e.g. [`crate::profile::EKU_SIGNING`] and
    /// [`crate::profile::EKU_ORGANISATION`]; empty: no extension.
    pub extended_key_usages: Vec<String>,
}

/// An officer's new certificate and private key.
#[derive(Clone)]
pub struct OfficerCredentials {
    pub common_name: String,
    pub algorithm: KeyAlgorithm,
    pub serial: String,
    pub sha256_fingerprint: String,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    /// PKCS#8 PEM.
    pub key_pem: Zeroizing<String>,
}

impl fmt::Debug for OfficerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfficerCredentials")
            .field("common_name", &self.common_name)
            .field("algorithm", &self.algorithm)
            .field("serial", &self.serial)
            .field("sha256_fingerprint", &self.sha256_fingerprint)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A private key in the shape rcgen signs with: rcgen runs without a crypto backend of its
/// own, so the demo certificates are signed by the same RustCrypto code the verifier uses.
struct RcgenKey {
    key: PrivateKey,
    public: Vec<u8>,
    alg: &'static rcgen::SignatureAlgorithm,
}

impl RcgenKey {
    fn new(key: PrivateKey) -> Result<Self, TrustError> {
        let alg = match key.signature_algorithm() {
            SignatureAlgorithm::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            SignatureAlgorithm::RsaPkcs1v15Sha256 => &rcgen::PKCS_RSA_SHA256,
        };
        let public = key.raw_public_key()?;
        Ok(RcgenKey { key, public, alg })
    }

    /// RFC 7093 method 1: the first 160 bits of SHA-256 over the SubjectPublicKeyInfo.
    fn key_id(&self) -> Result<Vec<u8>, TrustError> {
        let spki = self.key.public_key().to_spki_der()?;
        Ok(Sha256::digest(spki)[..20].to_vec())
    }
}

impl rcgen::PublicKeyData for RcgenKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

impl rcgen::SigningKey for RcgenKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.key.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A throw-away certificate authority for the demo and the tests: an ECDSA P-256 CA that
/// issues officer certificates (P-256 or RSA-2048) and revokes them.
pub struct DemoCa {
    issuer: rcgen::Issuer<'static, RcgenKey>,
    cert_der: Vec<u8>,
    cert_pem: String,
    subject: String,
    revoked: Vec<(String, Timestamp)>,
}

impl fmt::Debug for DemoCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoCa")
            .field("subject", &self.subject)
            .field("revoked", &self.revoked.len())
            .finish()
    }
}

fn rcgen_err(e: rcgen::Error) -> TrustError {
    TrustError::Internal(format!("certificate generation: {e}"))
}

fn offset_time(t: Timestamp) -> Result<time::OffsetDateTime, TrustError> {
    time::OffsetDateTime::from_unix_timestamp(t.as_second())
        .map_err(|e| TrustError::Internal(format!("time out of range: {e}")))
}

/// A random positive 128-bit serial (RFC 5280 allows up to 20 octets; CAs use ≥ 64 random
/// bits so serials cannot be predicted). The top bits are fixed so the encoding is always
/// 16 bytes and never needs a sign byte.
fn random_serial() -> Vec<u8> {
    use rand_core::RngCore;
    let mut bytes = vec![0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x3f) | 0x10;
    bytes
}

impl DemoCa {
    /// A new CA named `name`, valid 2020-01-01 to 2060-01-01 (the demo needs no clock).
    pub fn generate(name: &str) -> Result<Self, TrustError> {
        let validity = Validity {
            not_before: Timestamp::from_second(1_577_836_800)
                .map_err(|e| TrustError::Internal(e.to_string()))?,
            not_after: Timestamp::from_second(2_840_140_800)
                .map_err(|e| TrustError::Internal(e.to_string()))?,
        };
        Self::generate_with(name, KeyAlgorithm::EcdsaP256, validity)
    }

    pub fn generate_with(
        name: &str,
        algorithm: KeyAlgorithm,
        validity: Validity,
    ) -> Result<Self, TrustError> {
        let key = RcgenKey::new(PrivateKey::generate(algorithm)?)?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "KZ");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "kuelik demo");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()));
        params.not_before = offset_time(validity.not_before)?;
        params.not_after = offset_time(validity.not_after)?;
        // Path length 0: this CA issues officer certificates, never other CAs.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key.key_id()?);
        let cert = params.self_signed(&key).map_err(rcgen_err)?;
        let cert_der = cert.der().to_vec();
        let parsed = ParsedCertificate::parse(&cert_der)?;
        Ok(DemoCa {
            subject: parsed.subject().to_string(),
            cert_pem: cert.pem(),
            cert_der,
            issuer: rcgen::Issuer::new(params, key),
            revoked: Vec::new(),
        })
    }

    /// The CA's subject, RFC 4514.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The CA certificate, PEM: what the service configures as its trust anchor.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA's private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> Result<Zeroizing<String>, TrustError> {
        self.issuer.key().key.to_pkcs8_pem()
    }

    /// An officer certificate for digital signatures.
    pub fn issue_officer(
        &self,
        common_name: &str,
        algorithm: KeyAlgorithm,
        validity: Validity,
    ) -> Result<OfficerCredentials, TrustError> {
        self.issue(&OfficerRequest {
            common_name: common_name.to_string(),
            organizational_unit: None,
            algorithm,
            validity,
            digital_signature: true,
            iin: None,
            bin: None,
            extended_key_usages: Vec::new(),
        })
    }

    /// An officer certificate with a new key, as `request` says.
    pub fn issue(&self, request: &OfficerRequest) -> Result<OfficerCredentials, TrustError> {
        let key = RcgenKey::new(PrivateKey::generate(request.algorithm)?)?;
        self.issue_for_key(request, key)
    }

    /// An officer certificate for an existing private key (PEM), e.g. one generated on the
    /// officer's own machine.
    pub fn issue_for_key_pem(
        &self,
        request: &OfficerRequest,
        key_pem: &str,
    ) -> Result<OfficerCredentials, TrustError> {
        let key = RcgenKey::new(PrivateKey::from_pem(key_pem)?)?;
        self.issue_for_key(request, key)
    }

    fn issue_for_key(
        &self,
        request: &OfficerRequest,
        key: RcgenKey,
    ) -> Result<OfficerCredentials, TrustError> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "KZ");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "kuelik demo");
        if let Some(ou) = &request.organizational_unit {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationalUnitName, ou.as_str());
        }
        if let Some(bin) = &request.bin {
            params.distinguished_name.push(
                rcgen::DnType::OrganizationalUnitName,
                printable(&format!("BIN{bin}"))?,
            );
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, request.common_name.as_str());
        if let Some(iin) = &request.iin {
            // X.520 serialNumber is a PrintableString.
            params.distinguished_name.push(
                rcgen::DnType::CustomDnType(vec![2, 5, 4, 5]),
                printable(&format!("IIN{iin}"))?,
            );
        }
        params.extended_key_usages = request
            .extended_key_usages
            .iter()
            .map(|dotted| eku_purpose(dotted))
            .collect::<Result<_, _>>()?;
        params.key_usages = if request.digital_signature {
            vec![
                rcgen::KeyUsagePurpose::DigitalSignature,
                rcgen::KeyUsagePurpose::ContentCommitment,
            ]
        } else {
            vec![rcgen::KeyUsagePurpose::KeyEncipherment]
        };
        let cert = self.sign_end_entity(params, &key, request.validity)?;
        let cert_der = cert.der().to_vec();
        let info = ParsedCertificate::parse(&cert_der)?.info()?;
        Ok(OfficerCredentials {
            common_name: request.common_name.clone(),
            algorithm: request.algorithm,
            serial: info.serial,
            sha256_fingerprint: info.sha256_fingerprint,
            cert_pem: cert.pem(),
            cert_der,
            key_pem: key.key.to_pkcs8_pem()?,
        })
    }

    /// A TLS server certificate for this machine's loopback address (`127.0.0.1`,
    /// `localhost`), as NCALayer serves `wss://127.0.0.1:13579` with one: the test NCALayer
    /// uses it. Returns the certificate (DER) and its new P-256 key (PKCS#8 PEM).
    pub fn issue_loopback_server(
        &self,
        validity: Validity,
    ) -> Result<(Vec<u8>, Zeroizing<String>), TrustError> {
        let key = RcgenKey::new(PrivateKey::generate(KeyAlgorithm::EcdsaP256)?)?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        params.subject_alt_names = vec![
            rcgen::SanType::IpAddress(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
            rcgen::SanType::DnsName(
                "localhost"
                    .try_into()
                    .map_err(|e: rcgen::Error| rcgen_err(e))?,
            ),
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let cert = self.sign_end_entity(params, &key, validity)?;
        Ok((cert.der().to_vec(), key.key.to_pkcs8_pem()?))
    }

    /// A time-stamping authority's certificate (`id-kp-timeStamping`) and its new P-256 key
    /// (PKCS#8 PEM).
    pub(crate) fn issue_time_stamping(
        &self,
        validity: Validity,
    ) -> Result<(Vec<u8>, Zeroizing<String>), TrustError> {
        let key = RcgenKey::new(PrivateKey::generate(KeyAlgorithm::EcdsaP256)?)?;
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "KZ");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "kuelik demo TSA");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::TimeStamping];
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::ContentCommitment,
        ];
        let cert = self.sign_end_entity(params, &key, validity)?;
        Ok((cert.der().to_vec(), key.key.to_pkcs8_pem()?))
    }

    /// Signs `params` for `key` as an end-entity (not a CA) certificate of this CA valid for
    /// `validity`, with a random serial and both key identifiers.
    fn sign_end_entity(
        &self,
        mut params: rcgen::CertificateParams,
        key: &RcgenKey,
        validity: Validity,
    ) -> Result<rcgen::Certificate, TrustError> {
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&random_serial()));
        params.not_before = offset_time(validity.not_before)?;
        params.not_after = offset_time(validity.not_after)?;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(key.key_id()?);
        params.signed_by(key, &self.issuer).map_err(rcgen_err)
    }

    /// When this CA revoked the certificate with `serial` (normalised hex), if it did.
    pub(crate) fn revoked_at(&self, serial: &str) -> Option<Timestamp> {
        let serial = normalize_serial(serial)?;
        self.revoked
            .iter()
            .find(|(s, _)| *s == serial)
            .map(|(_, at)| *at)
    }

    /// The CA's own key (it signs certificates, CRLs and OCSP answers).
    pub(crate) fn signing_key(&self) -> &PrivateKey {
        &self.issuer.key().key
    }

    /// Revokes the certificate with `serial` (hex) as of `at`.
    pub fn revoke(&mut self, serial: &str, at: Timestamp) -> Result<(), TrustError> {
        let serial = normalize_serial(serial).ok_or_else(|| {
            TrustError::InvalidRevocationList(format!("{serial:?} is not a hex serial number"))
        })?;
        if !self.revoked.iter().any(|(s, _)| *s == serial) {
            self.revoked.push((serial, at));
        }
        Ok(())
    }

    /// The revoked serials as a list bound to this CA.
    pub fn revocation_list(&self) -> RevocationList {
        let mut list = RevocationList::new();
        for (serial, _) in &self.revoked {
            list.serials
                .insert((Some(self.subject.clone()), serial.clone()));
        }
        list
    }

    /// [`DemoCa::revocation_list`] as text.
    pub fn revoked_serials_text(&self) -> String {
        self.revocation_list().to_text()
    }

    /// A CRL signed by the CA, PEM (`X509 CRL`).
    pub fn crl_pem(
        &self,
        this_update: Timestamp,
        next_update: Timestamp,
    ) -> Result<String, TrustError> {
        let mut revoked_certs = Vec::with_capacity(self.revoked.len());
        for (serial, at) in &self.revoked {
            let bytes =
                hex::decode(serial).map_err(|e| TrustError::Internal(format!("serial: {e}")))?;
            revoked_certs.push(rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(&bytes),
                revocation_time: offset_time(*at)?,
                reason_code: None,
                invalidity_date: None,
            });
        }
        let params = rcgen::CertificateRevocationListParams {
            this_update: offset_time(this_update)?,
            next_update: offset_time(next_update)?,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::PreSpecified(self.issuer.key().key_id()?),
        };
        params
            .signed_by(&self.issuer)
            .and_then(|crl| crl.pem())
            .map_err(rcgen_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_normalise_the_same_way_everywhere() {
        assert_eq!(hex_serial(&[0, 0, 0x1a, 0x02]), "1a02");
        assert_eq!(hex_serial(&[0]), "00");
        assert_eq!(normalize_serial("0x00:1A:02").as_deref(), Some("1a02"));
        assert_eq!(normalize_serial("a02").as_deref(), Some("0a02"));
        assert_eq!(normalize_serial("zz"), None);
        assert_eq!(normalize_serial(""), None);
    }

    #[test]
    fn revoked_serials_text_round_trips() {
        let text = "# comment\n1A02 CN=Demo CA,O=kuelik demo,C=KZ\n\n00ff  # any issuer\n";
        let list = RevocationList::from_text(text).unwrap();
        assert!(list.is_revoked("CN=Demo CA,O=kuelik demo,C=KZ", "1a02"));
        assert!(!list.is_revoked("CN=Other CA", "1a02"));
        assert!(list.is_revoked("CN=Other CA", "ff"));
        let again = RevocationList::from_text(&list.to_text()).unwrap();
        assert_eq!(again.serials, list.serials);
        let mut merged = RevocationList::from_text("0a\n").unwrap();
        merged.merge(list.clone());
        assert_eq!(merged.len(), list.len() + 1);
        assert!(merged.is_revoked("CN=Anyone", "0a") && merged.is_revoked("CN=Anyone", "ff"));
        let err = RevocationList::from_text("xyz\n").unwrap_err();
        assert_eq!(err.code(), "invalid_revocation_list");
        assert!(err.to_string().contains("line 1"));
    }

    #[test]
    fn pem_blocks_skip_comments_and_refuse_other_labels() {
        let text =
            "bundle comment\n-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\ntrailer";
        assert_eq!(
            pem_blocks(text.as_bytes(), "CERTIFICATE").unwrap(),
            vec![vec![1, 2, 3]]
        );
        let other = "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n";
        assert!(pem_blocks(other.as_bytes(), "CERTIFICATE").is_err());
        assert!(pem_blocks(b"-----BEGIN CERTIFICATE-----\nAQID", "CERTIFICATE").is_err());
    }

    #[test]
    fn trust_store_refuses_empty_and_non_ca_anchors() {
        assert_eq!(
            TrustStore::new("", RevocationList::new())
                .unwrap_err()
                .code(),
            "invalid_trust_store"
        );
        let ca = DemoCa::generate("Unit CA").unwrap();
        let officer = ca
            .issue_officer(
                "u1",
                KeyAlgorithm::EcdsaP256,
                Validity::days_from(Timestamp::UNIX_EPOCH, 365 * 100).unwrap(),
            )
            .unwrap();
        let err = TrustStore::new(&officer.cert_pem, RevocationList::new()).unwrap_err();
        assert_eq!(err.code(), "invalid_trust_store");
        assert!(err.to_string().contains("not a CA"));
        let store = TrustStore::new(ca.cert_pem(), RevocationList::new()).unwrap();
        assert_eq!(store.anchors().count(), 1);
        assert_eq!(store.anchors().next().unwrap().subject, ca.subject());
    }

    #[test]
    fn officer_credentials_debug_hides_the_key() {
        let ca = DemoCa::generate("Unit CA").unwrap();
        let officer = ca
            .issue_officer(
                "u2",
                KeyAlgorithm::EcdsaP256,
                Validity::days_from(Timestamp::UNIX_EPOCH, 1).unwrap(),
            )
            .unwrap();
        let debug = format!("{officer:?} {ca:?}");
        assert!(debug.contains("redacted"));
        assert!(!debug.contains("PRIVATE KEY"));
        let body: String = officer
            .key_pem
            .lines()
            .nth(1)
            .unwrap()
            .chars()
            .take(16)
            .collect();
        assert!(!debug.contains(&body));
    }
}
