//! Revocation by OCSP (RFC 6960): the request the service sends about a signer's certificate,
//! the check of the responder's signed answer, and — for the demo and the tests — a responder
//! for the [`DemoCa`] that speaks the same protocol (`application/ocsp-request` in,
//! `application/ocsp-response` out, over HTTP POST).
//!
//! The formats are RustCrypto's `x509-ocsp`; the signatures are checked with this crate's own
//! algorithms. Requests name the certificate by SHA-1 hashes of its issuer's name and key and
//! its serial, as RFC 5019 asks of clients (every responder answers those). A response counts
//! only if it is signed by the certificate's issuer, or by a responder certificate that issuer
//! gave `id-kp-OCSPSigning`, and is current: `thisUpdate` not in the future, `nextUpdate` (if
//! given) not past. Anything else is [`TrustError::RevocationUnknown`]: the service does not
//! guess that a certificate is good.

use der::asn1::{BitString, GeneralizedTime, OctetString};
use der::{Decode, Encode};
use jiff::{SignedDuration, Timestamp};
use sha1::{Digest as _, Sha1};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, ExtendedKeyUsage};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, Request, ResponderId, ResponseData, RevokedInfo, SingleResponse,
    TbsRequest, Version,
};

use crate::error::TrustError;
use crate::pki::{certificate_signature_algorithm, sequence_elements, ParsedCertificate};
use crate::{DemoCa, PublicKey};

pub const REQUEST_CONTENT_TYPE: &str = "application/ocsp-request";
pub const RESPONSE_CONTENT_TYPE: &str = "application/ocsp-response";

const ID_SHA1: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_PKIX_OCSP_BASIC: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const ID_AD_OCSP: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const ID_KP_OCSP_SIGNING: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

/// How far a responder's clock may run ahead of ours.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// What the responder says of the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateState {
    Good,
    Revoked {
        at: Timestamp,
    },
    /// The responder does not know it (not its CA's, or never issued).
    Unknown,
}

/// A checked OCSP answer about one certificate, and until when it may be believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspStatus {
    pub state: CertificateState,
    pub this_update: Timestamp,
    /// After this the answer is stale; `None`: the responder promised nothing (ask again).
    pub next_update: Option<Timestamp>,
}

impl OcspStatus {
    /// The refusal this answer means for a signature, if any.
    pub fn refusal(&self, serial: &str) -> Option<TrustError> {
        match self.state {
            CertificateState::Good => None,
            CertificateState::Revoked { .. } => Some(TrustError::CertificateRevoked {
                serial: serial.to_string(),
            }),
            CertificateState::Unknown => Some(TrustError::RevocationUnknown(
                "the OCSP responder does not know the certificate".into(),
            )),
        }
    }
}

fn unknown(detail: impl Into<String>) -> TrustError {
    TrustError::RevocationUnknown(detail.into())
}

fn parse_cert(der: &[u8]) -> Result<Certificate, TrustError> {
    Certificate::from_der(der).map_err(|e| TrustError::MalformedCertificate(e.to_string()))
}

/// The certificate's id as OCSP names it: SHA-1 of the issuer's name and of its key.
fn cert_id(cert: &Certificate, issuer: &Certificate) -> Result<CertId, TrustError> {
    let name = cert
        .tbs_certificate
        .issuer
        .to_der()
        .map_err(|e| TrustError::Internal(e.to_string()))?;
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: ID_SHA1,
            parameters: None,
        },
        issuer_name_hash: octets(&Sha1::digest(name))?,
        issuer_key_hash: octets(&key_hash(issuer))?,
        serial_number: cert.tbs_certificate.serial_number.clone(),
    })
}

fn key_hash(cert: &Certificate) -> Vec<u8> {
    Sha1::digest(
        cert.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .to_vec()
}

fn octets(bytes: &[u8]) -> Result<OctetString, TrustError> {
    OctetString::new(bytes).map_err(|e| TrustError::Internal(e.to_string()))
}

/// The OCSP request (DER) about `cert_der`, issued by `issuer_der`.
pub fn request(cert_der: &[u8], issuer_der: &[u8]) -> Result<Vec<u8>, TrustError> {
    let cert = parse_cert(cert_der)?;
    let issuer = parse_cert(issuer_der)?;
    OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id(&cert, &issuer)?,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(|e| TrustError::Internal(e.to_string()))
}

/// The OCSP responder a certificate names (authorityInfoAccess, `id-ad-ocsp`, a URI).
pub fn responder_url(cert_der: &[u8]) -> Result<Option<String>, TrustError> {
    let cert = parse_cert(cert_der)?;
    let aia = cert
        .tbs_certificate
        .get::<AuthorityInfoAccessSyntax>()
        .map_err(|e| TrustError::MalformedCertificate(format!("authorityInfoAccess: {e}")))?;
    Ok(aia.and_then(|(_, aia)| {
        aia.0
            .into_iter()
            .find_map(|access| match access.access_location {
                GeneralName::UniformResourceIdentifier(uri)
                    if access.access_method == ID_AD_OCSP =>
                {
                    Some(uri.to_string())
                }
                _ => None,
            })
    }))
}

fn timestamp(t: &OcspGeneralizedTime) -> Result<Timestamp, TrustError> {
    let secs = t.0.to_unix_duration().as_secs();
    Timestamp::from_second(i64::try_from(secs).map_err(|_| unknown("time out of range"))?)
        .map_err(|_| unknown("time out of range"))
}

/// Checks the responder's `response_der` about `cert_der` (issued by `issuer_der`) at `now`.
pub fn check_response(
    response_der: &[u8],
    cert_der: &[u8],
    issuer_der: &[u8],
    now: Timestamp,
) -> Result<OcspStatus, TrustError> {
    let cert = parse_cert(cert_der)?;
    let issuer = parse_cert(issuer_der)?;
    let response = OcspResponse::from_der(response_der)
        .map_err(|e| unknown(format!("not an OCSP response: {e}")))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(unknown(format!(
            "the OCSP responder answered {:?}",
            response.response_status
        )));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| unknown("a successful OCSP response without its body"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(unknown("not a basic OCSP response"));
    }
    let basic_der = bytes.response.as_bytes();
    let basic = BasicOcspResponse::from_der(basic_der)
        .map_err(|e| unknown(format!("basic OCSP response: {e}")))?;
    // The signed bytes exactly as received (re-encoding could differ from what was signed).
    let tbs = sequence_elements(basic_der)
        .ok()
        .and_then(|parts| parts.first().copied())
        .ok_or_else(|| unknown("basic OCSP response: no tbsResponseData"))?;
    let signer_key = responder_key(&basic, &issuer, now)?;
    let alg = certificate_signature_algorithm(&basic.signature_algorithm.oid, &signer_key)
        .map_err(|e| unknown(format!("the OCSP signature: {e}")))?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| unknown("the OCSP signature is not whole bytes"))?;
    signer_key
        .verify(alg, tbs, signature)
        .map_err(|_| unknown("the OCSP response's signature does not verify"))?;

    let wanted = cert_id(&cert, &issuer)?;
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| same_certificate(&r.cert_id, &wanted, &cert, &issuer))
        .ok_or_else(|| unknown("the OCSP response is about another certificate"))?;
    let this_update = timestamp(&single.this_update)?;
    let next_update = single.next_update.as_ref().map(timestamp).transpose()?;
    if this_update > now + CLOCK_SKEW {
        return Err(unknown("the OCSP response is from the future"));
    }
    if next_update.is_some_and(|next| next < now) {
        return Err(unknown("the OCSP response is stale"));
    }
    let state = match &single.cert_status {
        CertStatus::Good(_) => CertificateState::Good,
        CertStatus::Revoked(info) => CertificateState::Revoked {
            at: timestamp(&info.revocation_time)?,
        },
        CertStatus::Unknown(_) => CertificateState::Unknown,
    };
    Ok(OcspStatus {
        state,
        this_update,
        next_update,
    })
}

/// Whether `id` (with whatever hash the responder used, SHA-1 or SHA-256) names `cert`.
fn same_certificate(
    id: &CertId,
    sha1_id: &CertId,
    cert: &Certificate,
    issuer: &Certificate,
) -> bool {
    if id.serial_number != cert.tbs_certificate.serial_number {
        return false;
    }
    if id.hash_algorithm.oid == ID_SHA1 {
        return id.issuer_name_hash == sha1_id.issuer_name_hash
            && id.issuer_key_hash == sha1_id.issuer_key_hash;
    }
    if id.hash_algorithm.oid == crate::algorithm::DigestAlgorithm::Sha256.oid() {
        use sha2::Sha256;
        let Ok(name) = cert.tbs_certificate.issuer.to_der() else {
            return false;
        };
        let key = issuer
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        return id.issuer_name_hash.as_bytes() == Sha256::digest(name).as_slice()
            && id.issuer_key_hash.as_bytes() == Sha256::digest(key).as_slice();
    }
    false
}

/// The key that must have signed `basic`: the issuer's own, or that of a responder
/// certificate in the response which the issuer signed for OCSP signing.
fn responder_key(
    basic: &BasicOcspResponse,
    issuer: &Certificate,
    now: Timestamp,
) -> Result<PublicKey, TrustError> {
    let names = |cert: &Certificate| match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(name) => *name == cert.tbs_certificate.subject,
        ResponderId::ByKey(hash) => hash.as_bytes() == key_hash(cert).as_slice(),
    };
    let issuer_key = PublicKey::from_spki(&issuer.tbs_certificate.subject_public_key_info)?;
    if names(issuer) {
        return Ok(issuer_key);
    }
    let issuer_der = issuer
        .to_der()
        .map_err(|e| TrustError::Internal(e.to_string()))?;
    for delegate in basic.certs.iter().flatten() {
        if !names(delegate) {
            continue;
        }
        let der = delegate
            .to_der()
            .map_err(|e| unknown(format!("responder certificate: {e}")))?;
        let parsed = ParsedCertificate::parse(&der)?;
        if parsed.issuer() != ParsedCertificate::parse(&issuer_der)?.subject() {
            return Err(unknown("the responder certificate is not the issuer's"));
        }
        parsed
            .verify_signed_by(&issuer_key)
            .map_err(|_| unknown("the responder certificate is not signed by the issuer"))?;
        let may_sign = delegate
            .tbs_certificate
            .get::<ExtendedKeyUsage>()
            .ok()
            .flatten()
            .is_some_and(|(_, eku)| eku.0.contains(&ID_KP_OCSP_SIGNING));
        if !may_sign {
            return Err(unknown(
                "the responder certificate may not sign OCSP answers",
            ));
        }
        if now < parsed.not_before()? || now > parsed.not_after()? {
            return Err(unknown("the responder certificate is not valid now"));
        }
        return parsed.key.clone();
    }
    Err(unknown(
        "the OCSP response is signed by an unknown responder",
    ))
}

fn generalized(t: Timestamp) -> Result<OcspGeneralizedTime, TrustError> {
    let secs = u64::try_from(t.as_second()).map_err(|_| TrustError::Internal("time".into()))?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map(OcspGeneralizedTime)
        .map_err(|e| TrustError::Internal(e.to_string()))
}

impl DemoCa {
    /// This CA's OCSP responder: the DER answer to `request_der` at `now`, signed by the CA,
    /// valid for `validity`. A certificate is revoked if the CA revoked it or `revoked` says
    /// so (by hex serial); a certificate of another CA is `unknown`. A request that cannot
    /// be read gets `malformedRequest`, as RFC 6960 says.
    pub fn ocsp_response(
        &self,
        request_der: &[u8],
        now: Timestamp,
        validity: SignedDuration,
        revoked: &dyn Fn(&str) -> Option<Timestamp>,
    ) -> Result<Vec<u8>, TrustError> {
        let internal = |e: der::Error| TrustError::Internal(e.to_string());
        let Ok(request) = OcspRequest::from_der(request_der) else {
            return OcspResponse::malformed_request().to_der().map_err(internal);
        };
        let ca = parse_cert(self.cert_der())?;
        let name_hash = Sha1::digest(ca.tbs_certificate.subject.to_der().map_err(internal)?);
        let key_hash = key_hash(&ca);
        let mut responses = Vec::new();
        for asked in &request.tbs_request.request_list {
            let id = &asked.req_cert;
            let serial = crate::pki::hex_serial(id.serial_number.as_bytes());
            let ours = id.hash_algorithm.oid == ID_SHA1
                && id.issuer_name_hash.as_bytes() == name_hash.as_slice()
                && id.issuer_key_hash.as_bytes() == key_hash.as_slice();
            let status = if !ours {
                CertStatus::unknown()
            } else if let Some(at) = self.revoked_at(&serial).or_else(|| revoked(&serial)) {
                CertStatus::revoked(RevokedInfo {
                    revocation_time: generalized(at)?,
                    revocation_reason: None,
                })
            } else {
                CertStatus::good()
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status: status,
                this_update: generalized(now)?,
                next_update: Some(generalized(now + validity)?),
                single_extensions: None,
            });
        }
        let tbs = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(octets(&key_hash)?),
            produced_at: generalized(now)?,
            responses,
            response_extensions: None,
        };
        let tbs_der = tbs.to_der().map_err(internal)?;
        let key = self.signing_key();
        let signature = key.sign(&tbs_der)?;
        let basic = BasicOcspResponse {
            tbs_response_data: tbs,
            signature_algorithm: key.signature_algorithm().identifier(),
            signature: BitString::from_bytes(&signature).map_err(internal)?,
            certs: None,
        };
        OcspResponse::successful(basic)
            .and_then(|r| r.to_der())
            .map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyAlgorithm, Validity};

    fn setup() -> (DemoCa, crate::OfficerCredentials, Timestamp) {
        let ca = DemoCa::generate("ocsp test CA").unwrap();
        let now: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
        let creds = ca
            .issue_officer(
                "officer",
                KeyAlgorithm::EcdsaP256,
                Validity::days_from(now, 30).unwrap(),
            )
            .unwrap();
        (ca, creds, now)
    }

    const HOUR: SignedDuration = SignedDuration::from_hours(1);

    fn none(_: &str) -> Option<Timestamp> {
        None
    }

    #[test]
    fn the_responder_says_good_then_revoked_and_the_client_believes_it_while_current() {
        let (mut ca, creds, now) = setup();
        let req = request(&creds.cert_der, ca.cert_der()).unwrap();
        let answer = ca.ocsp_response(&req, now, HOUR, &none).unwrap();
        let status = check_response(&answer, &creds.cert_der, ca.cert_der(), now).unwrap();
        assert_eq!(status.state, CertificateState::Good);
        assert_eq!(status.next_update, Some(now + HOUR));
        assert!(status.refusal(&creds.serial).is_none());
        // Past nextUpdate the same answer is stale.
        let later = now + HOUR + SignedDuration::from_secs(1);
        let stale = check_response(&answer, &creds.cert_der, ca.cert_der(), later).unwrap_err();
        assert_eq!(stale.code(), "revocation_status_unknown");

        ca.revoke(&creds.serial, now).unwrap();
        let answer = ca.ocsp_response(&req, now, HOUR, &none).unwrap();
        let status = check_response(&answer, &creds.cert_der, ca.cert_der(), now).unwrap();
        assert_eq!(status.state, CertificateState::Revoked { at: now });
        assert_eq!(
            status.refusal(&creds.serial).unwrap().code(),
            "certificate_revoked"
        );
        // Revoked by the responder's own list too.
        let (ca2, creds2, _) = setup();
        let serial = creds2.serial.clone();
        let listed = move |s: &str| (s == serial).then_some(now);
        let req2 = request(&creds2.cert_der, ca2.cert_der()).unwrap();
        let answer = ca2.ocsp_response(&req2, now, HOUR, &listed).unwrap();
        let status = check_response(&answer, &creds2.cert_der, ca2.cert_der(), now).unwrap();
        assert!(matches!(status.state, CertificateState::Revoked { .. }));
    }

    #[test]
    fn an_answer_from_another_ca_or_about_another_certificate_or_altered_is_not_believed() {
        let (ca, creds, now) = setup();
        let (other_ca, other, _) = setup();
        let req = request(&creds.cert_der, ca.cert_der()).unwrap();
        // Another CA answers about our certificate: not signed by our issuer (and unknown).
        let forged = other_ca.ocsp_response(&req, now, HOUR, &none).unwrap();
        let err = check_response(&forged, &creds.cert_der, ca.cert_der(), now).unwrap_err();
        assert_eq!(err.code(), "revocation_status_unknown");
        // Our CA's answer about another certificate.
        let req_other = request(&other.cert_der, ca.cert_der()).unwrap();
        let about_other = ca.ocsp_response(&req_other, now, HOUR, &none).unwrap();
        let err = check_response(&about_other, &creds.cert_der, ca.cert_der(), now).unwrap_err();
        assert!(err.to_string().contains("another certificate"), "{err}");
        // One byte of the signed part changed.
        let mut answer = ca.ocsp_response(&req, now, HOUR, &none).unwrap();
        let at = answer.len() - 90;
        answer[at] ^= 0x01;
        let err = check_response(&answer, &creds.cert_der, ca.cert_der(), now).unwrap_err();
        assert_eq!(err.code(), "revocation_status_unknown");
        // Not OCSP at all, and a malformed request gets malformedRequest.
        let err = check_response(b"junk", &creds.cert_der, ca.cert_der(), now).unwrap_err();
        assert_eq!(err.code(), "revocation_status_unknown");
        let refusal = ca.ocsp_response(b"junk", now, HOUR, &none).unwrap();
        let parsed = OcspResponse::from_der(&refusal).unwrap();
        assert_eq!(parsed.response_status, OcspResponseStatus::MalformedRequest);
    }

    #[test]
    fn openssl_reads_the_request_and_checks_the_response() {
        use std::process::Command;
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("no openssl: skipped");
            return;
        }
        let (ca, creds, _) = setup();
        let now = Timestamp::now();
        let dir = std::env::temp_dir().join(format!("kuelik-ocsp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let req = request(&creds.cert_der, ca.cert_der()).unwrap();
        let answer = ca.ocsp_response(&req, now, HOUR, &none).unwrap();
        std::fs::write(dir.join("req.der"), &req).unwrap();
        std::fs::write(dir.join("resp.der"), &answer).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), &creds.cert_pem).unwrap();
        let out = Command::new("openssl")
            .args(["ocsp", "-reqin", "req.der", "-req_text"])
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("OCSP Request Data"),
            "{text}"
        );
        let out = Command::new("openssl")
            .args([
                "ocsp", "-respin", "resp.der", "-issuer", "ca.pem", "-cert", "cert.pem", "-CAfile",
                "ca.pem",
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("Response verify OK") && all.contains(": good"),
            "{all}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
