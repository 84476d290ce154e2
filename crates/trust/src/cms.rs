//! Detached CMS `SignedData` (RFC 5652) over an approval document.
//!
//! What we write and what we accept: one `SignerInfo`, SHA-256, signed attributes with
//! exactly one content-type (`id-data`), message-digest and signing-time, the signer's
//! certificate in `certificates`, no encapsulated content. The signature covers the DER of
//! the signed attributes, which bind the content through the message digest — so a change to
//! the content is `digest_mismatch` and a change to any signed attribute is `bad_signature`.
//! One unsigned attribute is read: a time-stamp token (RFC 3161, [`crate::tsp`]), whose time
//! becomes the signing time on record. The same signer check reads a time-stamp token itself
//! (a `SignedData` encapsulating its TSTInfo).

use ::cms::cert::IssuerAndSerialNumber;
use ::cms::content_info::{CmsVersion, ContentInfo};
use ::cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Header, Reader, SliceReader, Tag, TagNumber};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use crate::algorithm::{oid, to_der, DigestAlgorithm, PrivateKey, SignatureAlgorithm};
use crate::error::TrustError;
use crate::pki::{certificate_der, CertificateInfo, ParsedCertificate, TrustStore};

/// Largest CMS blob accepted: ours are 1–3 KiB (signature + one certificate).
pub const MAX_CMS_BYTES: usize = 256 * 1024;

/// How far a signer's clock may run ahead of ours before its signing time is refused.
pub const SIGNING_TIME_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// A verified signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    pub signer: CertificateInfo,
    /// The signing-time attribute (the signer's claim, covered by the signature).
    pub signing_time: Timestamp,
    /// `ecdsa-p256-sha256` or `rsa-pkcs1v15-sha256`.
    pub algorithm: String,
    /// Lowercase hex SHA-256 of the content that was verified.
    pub content_sha256: String,
    /// When a trusted TSA time-stamped the signature (RFC 3161), if it did: the signing time
    /// the service records.
    #[serde(default)]
    pub time_stamp: Option<Timestamp>,
    /// The signer's certificate as signed (DER): what an OCSP request names.
    #[serde(skip)]
    pub signer_der: Vec<u8>,
}

impl SignatureInfo {
    /// The signing time to record: the TSA's when there is one, else the signer's claim.
    pub fn signed_at(&self) -> Timestamp {
        self.time_stamp.unwrap_or(self.signing_time)
    }
}

/// Signs `content` with the PEM private key of the certificate in `cert_pem`: a DER
/// `ContentInfo` holding a detached `SignedData`.
pub fn sign_detached(
    content: &[u8],
    key_pem: &str,
    cert_pem: &str,
    signing_time: Timestamp,
) -> Result<Vec<u8>, TrustError> {
    let key = PrivateKey::from_pem(key_pem)?;
    let cert_der = certificate_der(cert_pem.as_bytes())?;
    sign_detached_with(content, &key, &cert_der, signing_time)
}

/// [`sign_detached`] with a key already loaded (e.g. just unsealed) and a DER certificate.
pub fn sign_detached_with(
    content: &[u8],
    key: &PrivateKey,
    cert_der: &[u8],
    signing_time: Timestamp,
) -> Result<Vec<u8>, TrustError> {
    sign_with(content, oid::ID_DATA, false, key, cert_der, signing_time)
}

/// A `SignedData` over `content` of type `content_type` by `key` (whose certificate is
/// `cert_der`), the content detached or, with `attach`, encapsulated (as a time-stamp token
/// carries its TSTInfo).
pub(crate) fn sign_with(
    content: &[u8],
    content_type: ObjectIdentifier,
    attach: bool,
    key: &PrivateKey,
    cert_der: &[u8],
    signing_time: Timestamp,
) -> Result<Vec<u8>, TrustError> {
    let parsed = ParsedCertificate::parse(cert_der)?;
    let cert_key = parsed.key.clone()?;
    if cert_key != key.public_key() {
        return Err(TrustError::KeyCertificateMismatch);
    }
    let alg = key.signature_algorithm();
    let digest = alg.digest();
    let message_digest = digest.digest(content);

    let signed_attrs: SetOfVec<Attribute> = SetOfVec::try_from(vec![
        attribute(oid::ID_CONTENT_TYPE, Any::encode_from(&content_type))?,
        attribute(
            oid::ID_MESSAGE_DIGEST,
            Any::encode_from(&octets(message_digest)?),
        )?,
        attribute(
            oid::ID_SIGNING_TIME,
            Any::encode_from(&asn1_time(signing_time)?),
        )?,
    ])
    .map_err(|e| TrustError::Internal(format!("signed attributes: {e}")))?;
    // RFC 5652 §5.4: the signature is over the DER of the attributes with the SET OF tag.
    let to_sign = to_der(&signed_attrs, "signed attributes")?;
    let signature = key.sign(&to_sign)?;

    let tbs = &parsed.cert.tbs_certificate;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: digest.identifier(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: alg.identifier(),
        signature: octets(signature)?,
        unsigned_attrs: None,
    };
    let econtent = if attach {
        Some(
            Any::encode_from(&octets(content.to_vec())?)
                .map_err(|e| TrustError::Internal(format!("content: {e}")))?,
        )
    } else {
        None
    };
    let signed_data = SignedData {
        version: if content_type == oid::ID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![digest.identifier()])
            .map_err(|e| TrustError::Internal(format!("digest algorithms: {e}")))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent,
        },
        certificates: Some(
            CertificateSet::try_from(vec![::cms::cert::CertificateChoices::Certificate(
                parsed.cert.clone(),
            )])
            .map_err(|e| TrustError::Internal(format!("certificate set: {e}")))?,
        ),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])
            .map_err(|e| TrustError::Internal(format!("signer infos: {e}")))?,
    };
    let content_info = ContentInfo {
        content_type: oid::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)
            .map_err(|e| TrustError::Internal(format!("signed data: {e}")))?,
    };
    to_der(&content_info, "content info")
}

/// PEM armour for a CMS blob (RFC 7468 label `CMS`).
pub fn to_pem(cms_der: &[u8]) -> Result<String, TrustError> {
    der::pem::encode_string("CMS", der::pem::LineEnding::LF, cms_der)
        .map_err(|e| TrustError::Internal(format!("PEM: {e}")))
}

/// Verifies a detached signature over `content` (DER, or PEM labelled `CMS` or `PKCS7`).
///
/// Order of the checks, so the reason names what went wrong: structure
/// (`malformed_signature`), algorithms (`unsupported_algorithm`), the content against the
/// message digest (`digest_mismatch`), the signature over the signed attributes
/// (`bad_signature`), then the certificate ([`TrustStore`]) at the signing time **and** at
/// `at` (the moment of verification: a certificate that has since expired or been revoked
/// no longer vouches for the approval), and finally that the signing time is not after
/// `at` (+ [`SIGNING_TIME_SKEW`]).
pub fn verify_detached(
    cms: &[u8],
    content: &[u8],
    trust: &TrustStore,
    at: Timestamp,
) -> Result<SignatureInfo, TrustError> {
    let der = cms_der(cms)?;
    let checked = check_signer(&der, oid::ID_DATA, Some(content))?;
    let signing_time = checked.signing_time.ok_or_else(|| {
        TrustError::MalformedSignature("exactly one signing-time attribute expected".into())
    })?;
    // A time-stamp (RFC 3161) in the unsigned attributes: a TSA's word for when the
    // signature existed, which becomes the signing time on record.
    let time_stamp = match time_stamp_token(&checked.signer)? {
        Some(token) => Some(crate::tsp::verify_token(
            &token,
            checked.signer.signature.as_bytes(),
            trust,
            at,
        )?),
        None => None,
    };
    let mut times = vec![signing_time, at];
    times.extend(time_stamp.iter().map(|t| t.at));
    trust.check(&checked.cert, &times)?;
    if let Ok(latest) = at.checked_add(SIGNING_TIME_SKEW) {
        if signing_time > latest {
            return Err(TrustError::SigningTimeInFuture { signing_time, at });
        }
    }
    Ok(SignatureInfo {
        signer: checked.cert.info()?,
        signing_time,
        algorithm: checked.alg.as_str().to_string(),
        content_sha256: hex::encode(DigestAlgorithm::Sha256.digest(content)),
        time_stamp: time_stamp.map(|t| t.at),
        signer_der: checked.cert.der.clone(),
    })
}

/// A signer whose signature over the content checked out (not yet its certificate).
pub(crate) struct CheckedSigner {
    pub(crate) cert: ParsedCertificate,
    pub(crate) signer: SignerInfo,
    pub(crate) signing_time: Option<Timestamp>,
    pub(crate) alg: SignatureAlgorithm,
    /// The encapsulated content, when there is one (a time-stamp token's TSTInfo).
    pub(crate) econtent: Option<Vec<u8>>,
}

/// The one signer of the `SignedData` in `der` over content of type `content_type`: the
/// detached `content`, or (when `None`) the encapsulated one. Checks the structure, the
/// algorithms, the content against the message digest and the signature over the signed
/// attributes; the certificate is the caller's to judge.
pub(crate) fn check_signer(
    der: &[u8],
    content_type: ObjectIdentifier,
    content: Option<&[u8]>,
) -> Result<CheckedSigner, TrustError> {
    let raw =
        RawSignedData::parse(der).map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    let content_info =
        ContentInfo::from_der(der).map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    if content_info.content_type != oid::ID_SIGNED_DATA {
        return Err(TrustError::MalformedSignature(format!(
            "content type {} is not signed-data",
            content_info.content_type
        )));
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    if signed_data.encap_content_info.econtent_type != content_type {
        return Err(TrustError::MalformedSignature(format!(
            "encapsulated content type is not {content_type}"
        )));
    }
    let econtent = match &signed_data.encap_content_info.econtent {
        Some(any) => Some(
            any.decode_as::<OctetString>()
                .map_err(|e| TrustError::MalformedSignature(format!("content: {e}")))?
                .into_bytes(),
        ),
        None => None,
    };
    let content = match (content, &econtent) {
        (Some(detached), _) => detached,
        (None, Some(inside)) => inside.as_slice(),
        (None, None) => {
            return Err(TrustError::MalformedSignature(
                "no content to verify".into(),
            ))
        }
    };
    // One signer: a second SignerInfo has no meaning here.
    let (signer, raw_attrs) = match (
        signed_data.signer_infos.0.as_slice(),
        raw.signed_attrs.as_slice(),
    ) {
        ([signer], [raw_attrs]) => (signer, *raw_attrs),
        (signers, _) => {
            return Err(TrustError::MalformedSignature(format!(
                "exactly one signer expected, found {}",
                signers.len()
            )))
        }
    };
    let digest = DigestAlgorithm::from_identifier(&signer.digest_alg)?;
    let (Some(attrs), Some(raw_attrs)) = (&signer.signed_attrs, raw_attrs) else {
        return Err(TrustError::MalformedSignature(
            "signed attributes are required".into(),
        ));
    };

    let named_type: ObjectIdentifier =
        single_attribute(attrs, oid::ID_CONTENT_TYPE, "content-type")?;
    if named_type != content_type {
        return Err(TrustError::MalformedSignature(format!(
            "content-type attribute is not {content_type}"
        )));
    }
    let message_digest: OctetString =
        single_attribute(attrs, oid::ID_MESSAGE_DIGEST, "message-digest")?;
    let signing_time = if attrs.iter().any(|a| a.oid == oid::ID_SIGNING_TIME) {
        let time: Time = single_attribute(attrs, oid::ID_SIGNING_TIME, "signing-time")?;
        Some(timestamp(time)?)
    } else {
        None
    };

    let cert = find_signer_certificate(&raw.certificates, &signer.sid)?;
    let key = cert.key.clone()?;
    let alg = SignatureAlgorithm::from_identifier(&signer.signature_algorithm, &key, digest)?;

    if digest.digest(content) != message_digest.as_bytes() {
        return Err(TrustError::DigestMismatch);
    }

    // The signed attributes exactly as received, with the [0] IMPLICIT tag replaced by
    // the SET OF tag they were signed under.
    let mut to_verify = raw_attrs.to_vec();
    if let Some(first) = to_verify.first_mut() {
        *first = 0x31;
    }
    key.verify(alg, &to_verify, signer.signature.as_bytes())?;
    Ok(CheckedSigner {
        cert,
        signer: signer.clone(),
        signing_time,
        alg,
        econtent,
    })
}

/// The time-stamp token (RFC 3161, `id-aa-signatureTimeStampToken`) among the signer's
/// unsigned attributes, DER, if there is one.
fn time_stamp_token(signer: &SignerInfo) -> Result<Option<Vec<u8>>, TrustError> {
    let Some(attrs) = &signer.unsigned_attrs else {
        return Ok(None);
    };
    let mut tokens = attrs
        .iter()
        .filter(|a| a.oid == crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN);
    let (Some(attr), None) = (tokens.next(), tokens.next()) else {
        return Ok(None);
    };
    let [token] = attr.values.as_slice() else {
        return Err(TrustError::InvalidTimeStamp(
            "the time-stamp attribute must have one value".into(),
        ));
    };
    token
        .to_der()
        .map(Some)
        .map_err(|e| TrustError::InvalidTimeStamp(e.to_string()))
}

/// `cms` with the time-stamp `token` (a TSA's answer over its signature) added to its
/// signer's unsigned attributes — what a client does with a TSA's reply. The signed part is
/// re-encoded as it was decoded: byte for byte for a DER-encoded CMS (as this crate, OpenSSL
/// and NCALayer write them).
pub fn add_time_stamp(cms: &[u8], token: &[u8]) -> Result<Vec<u8>, TrustError> {
    let der = cms_der(cms)?;
    let content_info =
        ContentInfo::from_der(&der).map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    let mut signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    let token = Any::from_der(token).map_err(|e| TrustError::InvalidTimeStamp(e.to_string()))?;
    let mut infos: Vec<SignerInfo> = signed_data.signer_infos.0.clone().into_vec();
    let [info] = infos.as_mut_slice() else {
        return Err(TrustError::MalformedSignature(
            "exactly one signer expected".into(),
        ));
    };
    info.unsigned_attrs = Some(
        SetOfVec::try_from(vec![attribute(
            crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
            Ok(token),
        )?])
        .map_err(|e| TrustError::Internal(format!("unsigned attributes: {e}")))?,
    );
    signed_data.signer_infos = SignerInfos::try_from(infos)
        .map_err(|e| TrustError::Internal(format!("signer infos: {e}")))?;
    let content_info = ContentInfo {
        content_type: oid::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)
            .map_err(|e| TrustError::Internal(format!("signed data: {e}")))?,
    };
    to_der(&content_info, "content info")
}

/// The one SignerInfo of a CMS blob, unverified.
pub(crate) fn signer_info(cms: &[u8]) -> Result<SignerInfo, TrustError> {
    Ok(unverified_signer(&cms_der(cms)?)?.0)
}

/// The one SignerInfo of the SignedData in `der` and its certificate, nothing verified.
fn unverified_signer(der: &[u8]) -> Result<(SignerInfo, ParsedCertificate), TrustError> {
    let raw =
        RawSignedData::parse(der).map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    let content_info =
        ContentInfo::from_der(der).map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| TrustError::MalformedSignature(e.to_string()))?;
    let [signer] = signed_data.signer_infos.0.as_slice() else {
        return Err(TrustError::MalformedSignature(
            "exactly one signer expected".into(),
        ));
    };
    let cert = find_signer_certificate(&raw.certificates, &signer.sid)?;
    Ok((signer.clone(), cert))
}

/// Reads the signer's certificate from a CMS blob without verifying anything (to show who
/// claims to have signed, or to look up the staff account bound to it).
pub fn signer_certificate(cms: &[u8]) -> Result<CertificateInfo, TrustError> {
    unverified_signer(&cms_der(cms)?)?.1.info()
}

fn cms_der(cms: &[u8]) -> Result<Vec<u8>, TrustError> {
    if cms.len() > MAX_CMS_BYTES {
        return Err(TrustError::MalformedSignature(format!(
            "{} bytes is larger than any approval signature",
            cms.len()
        )));
    }
    let trimmed = cms.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(trimmed.trim_ascii_end())
            .map_err(|e| TrustError::MalformedSignature(format!("PEM: {e}")))?;
        if label != "CMS" && label != "PKCS7" {
            return Err(TrustError::MalformedSignature(format!(
                "PEM label {label:?} is not CMS"
            )));
        }
        Ok(der)
    } else {
        Ok(cms.to_vec())
    }
}

fn find_signer_certificate(
    raw_certs: &[&[u8]],
    sid: &SignerIdentifier,
) -> Result<ParsedCertificate, TrustError> {
    for raw in raw_certs {
        // Other certificate choices (attribute certificates, …) are not ours: skip them.
        let Ok(parsed) = ParsedCertificate::parse(raw) else {
            continue;
        };
        let tbs = &parsed.cert.tbs_certificate;
        let matches = match sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
                .get::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, own)| own == *ski),
        };
        if matches {
            return Ok(parsed);
        }
    }
    Err(TrustError::MalformedSignature(
        "the signer's certificate is not included".into(),
    ))
}

/// The one value of the one attribute `attr_oid` (RFC 5652 §11: these attributes are
/// single-valued and may not repeat).
fn single_attribute<T>(
    attrs: &SetOfVec<Attribute>,
    attr_oid: ObjectIdentifier,
    name: &str,
) -> Result<T, TrustError>
where
    T: for<'a> Decode<'a>,
{
    let mut found = attrs.iter().filter(|a| a.oid == attr_oid);
    let (Some(attr), None) = (found.next(), found.next()) else {
        return Err(TrustError::MalformedSignature(format!(
            "exactly one {name} attribute expected"
        )));
    };
    let [value] = attr.values.as_slice() else {
        return Err(TrustError::MalformedSignature(format!(
            "the {name} attribute must have one value"
        )));
    };
    let der = value
        .to_der()
        .map_err(|e| TrustError::MalformedSignature(format!("{name}: {e}")))?;
    T::from_der(&der).map_err(|e| TrustError::MalformedSignature(format!("{name}: {e}")))
}

fn attribute(attr_oid: ObjectIdentifier, value: der::Result<Any>) -> Result<Attribute, TrustError> {
    let value = value.map_err(|e| TrustError::Internal(format!("attribute value: {e}")))?;
    Ok(Attribute {
        oid: attr_oid,
        values: SetOfVec::try_from(vec![value])
            .map_err(|e| TrustError::Internal(format!("attribute: {e}")))?,
    })
}

fn octets(bytes: Vec<u8>) -> Result<OctetString, TrustError> {
    OctetString::new(bytes).map_err(|e| TrustError::Internal(format!("octet string: {e}")))
}

/// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise. Seconds precision
/// (sub-second parts are dropped, as DER times here carry none).
fn asn1_time(t: Timestamp) -> Result<Time, TrustError> {
    let seconds = u64::try_from(t.as_second())
        .map_err(|_| TrustError::Internal("signing time before 1970".into()))?;
    let since_epoch = std::time::Duration::from_secs(seconds);
    // 2050-01-01T00:00:00Z
    if t.as_second() < 2_524_608_000 {
        UtcTime::from_unix_duration(since_epoch).map(Time::UtcTime)
    } else {
        GeneralizedTime::from_unix_duration(since_epoch).map(Time::GeneralTime)
    }
    .map_err(|e| TrustError::Internal(format!("signing time: {e}")))
}

fn timestamp(t: Time) -> Result<Timestamp, TrustError> {
    let seconds = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| TrustError::MalformedSignature("signing time out of range".into()))?;
    Timestamp::from_second(seconds)
        .map_err(|_| TrustError::MalformedSignature("signing time out of range".into()))
}

/// The parts of a SignedData we need byte-exact: the certificates and each signer's signed
/// attributes as they were encoded (decoding sorts SET OF elements; re-encoding would not
/// reproduce a sender's bytes if they were not sorted).
struct RawSignedData<'a> {
    certificates: Vec<&'a [u8]>,
    signed_attrs: Vec<Option<&'a [u8]>>,
}

impl<'a> RawSignedData<'a> {
    fn parse(der: &'a [u8]) -> der::Result<Self> {
        let mut reader = SliceReader::new(der)?;
        let outer = Header::decode(&mut reader)?;
        outer.tag.assert_eq(Tag::Sequence)?;
        let parsed = reader.read_nested(outer.length, |r| {
            let _content_type: ObjectIdentifier = r.decode()?;
            let explicit = Header::decode(r)?;
            explicit.tag.assert_eq(context(0))?;
            r.read_nested(explicit.length, |r| {
                let sd = Header::decode(r)?;
                sd.tag.assert_eq(Tag::Sequence)?;
                r.read_nested(sd.length, Self::signed_data)
            })
        })?;
        reader.finish(parsed)
    }

    fn signed_data<R: Reader<'a>>(r: &mut R) -> der::Result<Self> {
        r.tlv_bytes()?; // version
        r.tlv_bytes()?; // digestAlgorithms
        r.tlv_bytes()?; // encapContentInfo
        let mut certificates = Vec::new();
        if r.peek_tag()? == context(0) {
            let header = Header::decode(r)?;
            r.read_nested(header.length, |r| {
                while !r.is_finished() {
                    certificates.push(r.tlv_bytes()?);
                }
                Ok(())
            })?;
        }
        if r.peek_tag()? == context(1) {
            r.tlv_bytes()?; // crls
        }
        let set = Header::decode(r)?;
        set.tag.assert_eq(Tag::Set)?;
        let mut signed_attrs = Vec::new();
        r.read_nested(set.length, |r| {
            while !r.is_finished() {
                let info = Header::decode(r)?;
                info.tag.assert_eq(Tag::Sequence)?;
                r.read_nested(info.length, |r| {
                    r.tlv_bytes()?; // version
                    r.tlv_bytes()?; // sid
                    r.tlv_bytes()?; // digestAlgorithm
                    signed_attrs.push(if r.peek_tag()? == context(0) {
                        Some(r.tlv_bytes()?)
                    } else {
                        None
                    });
                    while !r.is_finished() {
                        r.tlv_bytes()?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        Ok(RawSignedData {
            certificates,
            signed_attrs,
        })
    }
}

fn context(number: u8) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::new(number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_time_uses_utc_time_until_2050() {
        let t = Timestamp::from_second(1_750_000_000).unwrap();
        assert!(matches!(asn1_time(t).unwrap(), Time::UtcTime(_)));
        assert_eq!(timestamp(asn1_time(t).unwrap()).unwrap(), t);
        let later = Timestamp::from_second(2_600_000_000).unwrap();
        assert!(matches!(asn1_time(later).unwrap(), Time::GeneralTime(_)));
        assert_eq!(timestamp(asn1_time(later).unwrap()).unwrap(), later);
    }

    #[test]
    fn oversized_and_non_cms_pem_are_malformed() {
        let store_err = |bytes: &[u8]| cms_der(bytes).unwrap_err().code();
        assert_eq!(
            store_err(&vec![0u8; MAX_CMS_BYTES + 1]),
            "malformed_signature"
        );
        assert_eq!(
            store_err(b"-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"),
            "malformed_signature"
        );
        assert_eq!(
            cms_der(b"-----BEGIN CMS-----\nAQID\n-----END CMS-----\n").unwrap(),
            vec![1, 2, 3]
        );
    }
}
