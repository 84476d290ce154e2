//! Time-stamps (RFC 3161): a time-stamping authority's (TSA's) signed word that a signature
//! existed at a time — NCALayer asks the НУЦ РК TSA for one when a site asks it to
//! (`tsaProfile`), and puts the token in the signature's unsigned attributes
//! (`id-aa-signatureTimeStampToken`, RFC 3161 appendix A).
//!
//! A token is a CMS `SignedData` encapsulating a `TSTInfo` (RustCrypto's `x509-tsp` reads
//! it). It holds when the TSA's signature over it checks out, the TSA's certificate chains
//! to a trust anchor, is valid and not revoked and has `id-kp-timeStamping`, and its
//! message imprint is the hash of *this* signature's value. Then its `genTime` is the
//! signing time the service records; anything else is `invalid_time_stamp` (a signature
//! with a broken token is refused rather than taken without it: someone changed it).

use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use jiff::{SignedDuration, Timestamp};
use x509_tsp::{MessageImprint, TspVersion, TstInfo};

use crate::algorithm::DigestAlgorithm;
use crate::error::TrustError;
use crate::pki::{CertificateInfo, TrustStore};
use crate::{DemoCa, PrivateKey};

/// The unsigned attribute that carries a time-stamp token in a signature.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// The content type of a TSTInfo.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// extendedKeyUsage of a TSA's certificate.
pub const EKU_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";

/// How far a TSA's clock may run ahead of ours.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// A verified time-stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStamp {
    /// When the TSA saw the signature (`genTime`).
    pub at: Timestamp,
    /// The TSA.
    pub tsa: CertificateInfo,
}

fn invalid(detail: impl Into<String>) -> TrustError {
    TrustError::InvalidTimeStamp(detail.into())
}

/// Checks the time-stamp token `token` (DER) over the signature value `signature` at `at`.
pub(crate) fn verify_token(
    token: &[u8],
    signature: &[u8],
    trust: &TrustStore,
    at: Timestamp,
) -> Result<TimeStamp, TrustError> {
    let as_invalid = |e: TrustError| match e {
        TrustError::Internal(_) => e,
        other => invalid(other.to_string()),
    };
    let checked = crate::cms::check_signer(token, ID_CT_TST_INFO, None).map_err(as_invalid)?;
    let tst = checked
        .econtent
        .as_deref()
        .ok_or_else(|| invalid("the token holds no TSTInfo"))?;
    let info = TstInfo::from_der(tst).map_err(|e| invalid(format!("TSTInfo: {e}")))?;
    let digest = DigestAlgorithm::from_identifier(&info.message_imprint.hash_algorithm)
        .map_err(as_invalid)?;
    if digest.digest(signature) != info.message_imprint.hashed_message.as_bytes() {
        return Err(invalid("the time-stamp is over another signature"));
    }
    let secs = i64::try_from(info.gen_time.to_unix_duration().as_secs())
        .map_err(|_| invalid("genTime out of range"))?;
    let gen_time = Timestamp::from_second(secs).map_err(|_| invalid("genTime out of range"))?;
    if gen_time > at + CLOCK_SKEW {
        return Err(invalid("the time-stamp is from the future"));
    }
    trust
        .check_time_stamping(&checked.cert, &[gen_time, at])
        .map_err(as_invalid)?;
    Ok(TimeStamp {
        at: gen_time,
        tsa: checked.cert.info()?,
    })
}

/// A time-stamping authority for the demo and the tests: a key and a certificate with
/// `id-kp-timeStamping` from a [`DemoCa`].
pub struct DemoTsa {
    key: PrivateKey,
    cert_der: Vec<u8>,
}

impl DemoCa {
    /// A TSA certificate (and its new key) from this CA.
    pub fn issue_time_stamping_authority(
        &self,
        validity: crate::Validity,
    ) -> Result<DemoTsa, TrustError> {
        let (cert_der, key_pem) = self.issue_time_stamping(validity)?;
        Ok(DemoTsa {
            key: PrivateKey::from_pem(&key_pem)?,
            cert_der,
        })
    }
}

impl DemoTsa {
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// A time-stamp token over the signature value `signature`, made at `at`.
    pub fn token(&self, signature: &[u8], at: Timestamp) -> Result<Vec<u8>, TrustError> {
        let internal = |e: der::Error| TrustError::Internal(format!("TSTInfo: {e}"));
        let secs =
            u64::try_from(at.as_second()).map_err(|_| TrustError::Internal("time".into()))?;
        let serial: [u8; 8] = rand_core::RngCore::next_u64(&mut rand_core::OsRng).to_be_bytes();
        let info = TstInfo {
            version: TspVersion::V1,
            // The demo's policy; НУЦ РК's TSA names its own.
            policy: ObjectIdentifier::new_unwrap("1.2.398.3.3.2.6.1"),
            message_imprint: MessageImprint {
                hash_algorithm: DigestAlgorithm::Sha256.identifier(),
                hashed_message: OctetString::new(DigestAlgorithm::Sha256.digest(signature))
                    .map_err(internal)?,
            },
            serial_number: Int::new(&[&[0x01][..], &serial[..]].concat()).map_err(internal)?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map_err(internal)?,
            accuracy: None,
            ordering: false,
            nonce: None,
            tsa: None,
            extensions: None,
        };
        let tst = info.to_der().map_err(internal)?;
        crate::cms::sign_with(&tst, ID_CT_TST_INFO, true, &self.key, &self.cert_der, at)
    }
}

/// The signature value of the one signer of `cms`: what a TSA is asked to time-stamp.
pub fn signature_value(cms: &[u8]) -> Result<Vec<u8>, TrustError> {
    crate::cms::signer_info(cms).map(|info| info.signature.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cms, KeyAlgorithm, TrustStore, Validity};

    struct Setup {
        ca: DemoCa,
        creds: crate::OfficerCredentials,
        tsa: DemoTsa,
        trust: TrustStore,
        now: Timestamp,
    }

    fn setup() -> Setup {
        let ca = DemoCa::generate("tsp test CA").unwrap();
        let now: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
        let validity = Validity::days_from(now - SignedDuration::from_hours(24), 30).unwrap();
        let creds = ca
            .issue_officer("officer", KeyAlgorithm::EcdsaP256, validity)
            .unwrap();
        let tsa = ca.issue_time_stamping_authority(validity).unwrap();
        let trust = TrustStore::new(ca.cert_pem(), Default::default()).unwrap();
        Setup {
            ca,
            creds,
            tsa,
            trust,
            now,
        }
    }

    const DOC: &[u8] = b"{\"a\":1}";

    fn signed(s: &Setup, signing_time: Timestamp) -> Vec<u8> {
        cms::sign_detached(DOC, &s.creds.key_pem, &s.creds.cert_pem, signing_time).unwrap()
    }

    #[test]
    fn a_time_stamped_signature_records_the_tsas_time() {
        let s = setup();
        let claimed = s.now - SignedDuration::from_mins(3);
        let stamped_at = s.now - SignedDuration::from_mins(2);
        let plain = signed(&s, claimed);
        let info = cms::verify_detached(&plain, DOC, &s.trust, s.now).unwrap();
        assert_eq!((info.time_stamp, info.signed_at()), (None, claimed));
        let token = s
            .tsa
            .token(&signature_value(&plain).unwrap(), stamped_at)
            .unwrap();
        let stamped = cms::add_time_stamp(&plain, &token).unwrap();
        let info = cms::verify_detached(&stamped, DOC, &s.trust, s.now).unwrap();
        assert_eq!(info.time_stamp, Some(stamped_at));
        assert_eq!(info.signed_at(), stamped_at);
        // The document is still the signed one.
        let err = cms::verify_detached(&stamped, b"{\"a\":2}", &s.trust, s.now).unwrap_err();
        assert_eq!(err.code(), "digest_mismatch");
    }

    #[test]
    fn a_token_over_another_signature_or_from_an_untrusted_or_non_tsa_signer_or_altered_is_refused()
    {
        let s = setup();
        let plain = signed(&s, s.now);
        let other = signed(&s, s.now - SignedDuration::from_mins(1));
        let code = |token: Vec<u8>| {
            let stamped = cms::add_time_stamp(&plain, &token).unwrap();
            cms::verify_detached(&stamped, DOC, &s.trust, s.now)
                .unwrap_err()
                .code()
        };
        // Over another signature.
        let token = s
            .tsa
            .token(&signature_value(&other).unwrap(), s.now)
            .unwrap();
        assert_eq!(code(token), "invalid_time_stamp");
        // A TSA of another CA.
        let stranger = DemoCa::generate("another CA")
            .unwrap()
            .issue_time_stamping_authority(Validity::days_from(s.now, 30).unwrap())
            .unwrap();
        let token = stranger
            .token(&signature_value(&plain).unwrap(), s.now)
            .unwrap();
        assert_eq!(code(token), "invalid_time_stamp");
        // An officer's key posing as a TSA.
        let posing = DemoTsa {
            key: PrivateKey::from_pem(&s.creds.key_pem).unwrap(),
            cert_der: s.creds.cert_der.clone(),
        };
        let token = posing
            .token(&signature_value(&plain).unwrap(), s.now)
            .unwrap();
        assert_eq!(code(token), "invalid_time_stamp");
        // One byte of the token's TSTInfo changed.
        let mut token = s
            .tsa
            .token(&signature_value(&plain).unwrap(), s.now)
            .unwrap();
        let at = token.len() / 3;
        token[at] ^= 0x01;
        let stamped = cms::add_time_stamp(&plain, &token);
        let refused = stamped
            .map(|c| {
                cms::verify_detached(&c, DOC, &s.trust, s.now)
                    .unwrap_err()
                    .code()
            })
            .unwrap_or("invalid_time_stamp");
        assert_eq!(refused, "invalid_time_stamp");
        let _ = &s.ca;
    }

    #[test]
    fn a_token_openssl_made_is_verified() {
        use std::process::Command;
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("no openssl: skipped");
            return;
        }
        let s = setup();
        let now = Timestamp::now();
        let dir = std::env::temp_dir().join(format!("kuelik-tsp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(dir.join("ca.pem"), s.ca.cert_pem()).unwrap();
        std::fs::write(dir.join("ca.key"), s.ca.key_pem().unwrap().as_bytes()).unwrap();
        // A TSA certificate as OpenSSL wants one: the critical timeStamping usage only.
        std::fs::write(
            dir.join("ext.cnf"),
            "extendedKeyUsage=critical,timeStamping\nkeyUsage=digitalSignature\n",
        )
        .unwrap();
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "tsa.key",
        ]);
        run(&[
            "req",
            "-new",
            "-key",
            "tsa.key",
            "-subj",
            "/C=KZ/CN=OpenSSL TSA",
            "-out",
            "tsa.csr",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            "tsa.pem",
        ]);
        std::fs::write(
            dir.join("ts.cnf"),
            "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\nserial = ./serial\ndefault_policy = 1.2.398.3.3.2.6.1\n\
             digests = sha256\nsigner_digest = sha256\nsigner_cert = ./tsa.pem\nsigner_key = ./tsa.key\ness_cert_id_alg = sha256\n",
        )
        .unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        let plain = signed(&s, now);
        let value = signature_value(&plain).unwrap();
        std::fs::write(dir.join("signature.bin"), &value).unwrap();
        run(&[
            "ts",
            "-query",
            "-data",
            "signature.bin",
            "-sha256",
            "-cert",
            "-no_nonce",
            "-out",
            "q.tsq",
        ]);
        run(&[
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            "q.tsq",
            "-token_out",
            "-out",
            "token.der",
        ]);
        let token = std::fs::read(dir.join("token.der")).unwrap();
        let stamped = cms::add_time_stamp(&plain, &token).unwrap();
        let info =
            cms::verify_detached(&stamped, DOC, &s.trust, now + SignedDuration::from_secs(5))
                .unwrap();
        let at = info.time_stamp.expect("the OpenSSL time-stamp is taken");
        assert!(
            (at - now).abs() < SignedDuration::from_mins(1),
            "{at} vs {now}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
