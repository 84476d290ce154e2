//! The trust chain end to end: a demo CA issues officer certificates, officers sign approval
//! documents (CMS, detached), the production side verifies them — and refuses every way they
//! can be wrong with its reason code; sealed keys; the audit chain under tampering; parsers
//! under random input.

use std::sync::OnceLock;

use der::{Decode, Encode};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use kuelik_trust::algorithm::KeyAlgorithm;
use kuelik_trust::approval::{ApprovalDocument, APPROVAL_FORMAT, DECISION_APPROVE};
use kuelik_trust::audit::{self, AuditFailure, AuditRecord, Chain, Checkpoint, ServerKey};
use kuelik_trust::cms::{self as ksig, sign_detached, verify_detached};
use kuelik_trust::jcs;
use kuelik_trust::keystore::{self, KdfParams};
use kuelik_trust::pki::{
    self, DemoCa, OfficerCredentials, OfficerRequest, RevocationList, TrustStore, Validity,
};
use kuelik_trust::{PrivateKey, TrustError};

// ---------------------------------------------------------------------------------------
// Fixtures: generated once per test run (RSA key generation is the slow part).
// ---------------------------------------------------------------------------------------

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// "Now" for every verification.
fn now() -> Timestamp {
    ts("2025-06-01T10:00:00Z")
}

/// When the officers signed.
fn signed_at() -> Timestamp {
    ts("2025-06-01T09:00:00Z")
}

fn window(from: &str, to: &str) -> Validity {
    Validity {
        not_before: ts(from),
        not_after: ts(to),
    }
}

struct Fixtures {
    ca: DemoCa,
    other_ca: DemoCa,
    ecdsa: OfficerCredentials,
    rsa: OfficerCredentials,
    expired: OfficerCredentials,
    not_yet_valid: OfficerCredentials,
    revoked: OfficerCredentials,
    no_digital_signature: OfficerCredentials,
    from_other_ca: OfficerCredentials,
    /// A self-signed CA that is not configured: its own certificate and key.
    self_signed: (String, String),
    /// Anchors = `ca`, revocations = the plain serial list.
    store: TrustStore,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut ca = DemoCa::generate("Kuelik Test CA").unwrap();
        let other_ca = DemoCa::generate("Kuelik Other CA").unwrap();
        let valid = window("2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
        let ecdsa = ca
            .issue_officer("officer71", KeyAlgorithm::EcdsaP256, valid)
            .unwrap();
        let rsa = ca
            .issue_officer("officer75", KeyAlgorithm::Rsa2048, valid)
            .unwrap();
        let expired = ca
            .issue_officer(
                "officer-expired",
                KeyAlgorithm::EcdsaP256,
                window("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
            )
            .unwrap();
        let not_yet_valid = ca
            .issue_officer(
                "officer-future",
                KeyAlgorithm::EcdsaP256,
                window("2040-01-01T00:00:00Z", "2041-01-01T00:00:00Z"),
            )
            .unwrap();
        let revoked = ca
            .issue_officer("officer-revoked", KeyAlgorithm::EcdsaP256, valid)
            .unwrap();
        ca.revoke(&revoked.serial, ts("2025-05-01T00:00:00Z"))
            .unwrap();
        let no_digital_signature = ca
            .issue(&OfficerRequest {
                common_name: "officer-encryption".into(),
                organizational_unit: None,
                algorithm: KeyAlgorithm::EcdsaP256,
                validity: valid,
                digital_signature: false,
                iin: None,
                bin: None,
                extended_key_usages: Vec::new(),
            })
            .unwrap();
        let from_other_ca = other_ca
            .issue_officer("officer71", KeyAlgorithm::EcdsaP256, valid)
            .unwrap();
        let rogue = DemoCa::generate("Kuelik Test CA").unwrap();
        let self_signed = (
            rogue.cert_pem().to_string(),
            rogue.key_pem().unwrap().to_string(),
        );
        let store = TrustStore::new(ca.cert_pem(), ca.revocation_list()).unwrap();
        Fixtures {
            ca,
            other_ca,
            ecdsa,
            rsa,
            expired,
            not_yet_valid,
            revoked,
            no_digital_signature,
            from_other_ca,
            self_signed,
            store,
        }
    })
}

fn approval() -> ApprovalDocument {
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
        decided_at: "2025-06-01T09:00:00Z".into(),
        officer_username: "officer71".into(),
    }
}

fn sign_as(officer: &OfficerCredentials, content: &[u8]) -> Vec<u8> {
    sign_detached(content, &officer.key_pem, &officer.cert_pem, signed_at()).unwrap()
}

/// The reason code production would record for `cms` over `content`.
fn refusal(cms: &[u8], content: &[u8]) -> &'static str {
    match verify_detached(cms, content, &fixtures().store, now()) {
        Ok(info) => panic!("verified unexpectedly: {info:?}"),
        Err(e) => e.code(),
    }
}

/// Decodes the SignedData of `cms`, lets `edit` change it, and encodes it again.
fn edit_signed_data(cms: &[u8], edit: impl FnOnce(&mut cms::signed_data::SignedData)) -> Vec<u8> {
    let mut info = cms::content_info::ContentInfo::from_der(cms).unwrap();
    let mut sd: cms::signed_data::SignedData = info.content.decode_as().unwrap();
    edit(&mut sd);
    info.content = der::Any::encode_from(&sd).unwrap();
    info.to_der().unwrap()
}

// ---------------------------------------------------------------------------------------
// Happy path
// ---------------------------------------------------------------------------------------

fn assert_signs_and_verifies(officer: &OfficerCredentials, algorithm: &str, key: &str) {
    let doc = approval().canonical_bytes();
    let cms = sign_as(officer, &doc);
    let info = verify_detached(&cms, &doc, &fixtures().store, now()).unwrap();
    assert_eq!(
        info.signer.common_name.as_deref(),
        Some(officer.common_name.as_str())
    );
    assert_eq!(info.signer.serial, officer.serial);
    assert_eq!(info.signer.sha256_fingerprint, officer.sha256_fingerprint);
    assert_eq!(info.signer.issuer, fixtures().ca.subject());
    assert_eq!(info.signer.public_key_algorithm, key);
    assert_eq!(info.algorithm, algorithm);
    assert_eq!(info.signing_time, signed_at());
    assert_eq!(info.content_sha256, approval().sha256_hex());

    // The PEM armour verifies the same, and names the same signer without verification.
    let pem = ksig::to_pem(&cms).unwrap();
    assert!(pem.starts_with("-----BEGIN CMS-----"));
    let again = verify_detached(pem.as_bytes(), &doc, &fixtures().store, now()).unwrap();
    assert_eq!(again, info);
    assert_eq!(ksig::signer_certificate(&cms).unwrap(), info.signer);
}

#[test]
fn ecdsa_p256_officer_signs_and_production_verifies() {
    assert_signs_and_verifies(&fixtures().ecdsa, "ecdsa-p256-sha256", "ecdsa-p256");
}

#[test]
fn rsa_2048_officer_signs_and_production_verifies() {
    assert_signs_and_verifies(&fixtures().rsa, "rsa-pkcs1v15-sha256", "rsa-2048");
}

#[test]
fn verify_certificate_describes_a_trusted_certificate_inside_its_validity_only() {
    let f = fixtures();
    let officer = &f.ecdsa;
    let info = f
        .store
        .verify_certificate(&officer.cert_der, now())
        .unwrap();
    assert_eq!(info.subject, "CN=officer71,O=kuelik demo,C=KZ");
    assert_eq!(info.not_before, ts("2024-01-01T00:00:00Z"));
    assert_eq!(info.not_after, ts("2030-01-01T00:00:00Z"));
    // Validity is inclusive at both ends, to the second.
    assert!(f
        .store
        .verify_certificate(&officer.cert_der, info.not_after)
        .is_ok());
    assert!(f
        .store
        .verify_certificate(&officer.cert_der, info.not_before)
        .is_ok());
    let late = info.not_after + SignedDuration::from_secs(1);
    assert_eq!(
        f.store
            .verify_certificate(&officer.cert_der, late)
            .unwrap_err(),
        TrustError::CertificateExpired {
            not_after: info.not_after
        }
    );
    let early = info.not_before - SignedDuration::from_secs(1);
    assert_eq!(
        f.store
            .verify_certificate(&officer.cert_der, early)
            .unwrap_err(),
        TrustError::CertificateNotYetValid {
            not_before: info.not_before
        }
    );
    assert_eq!(
        pki::inspect_certificate(officer.cert_pem.as_bytes()).unwrap(),
        info
    );
}

// ---------------------------------------------------------------------------------------
// Every refusal, with its reason code
// ---------------------------------------------------------------------------------------

#[test]
fn changed_content_is_digest_mismatch() {
    let doc = approval();
    let cms = sign_as(&fixtures().ecdsa, &doc.canonical_bytes());
    // Someone changed the surname (or the photo) after approval: production rebuilds the
    // document from what it is about to print.
    let changed = ApprovalDocument {
        surname: "Сейтқали".into(),
        ..doc.clone()
    };
    assert_eq!(refusal(&cms, &changed.canonical_bytes()), "digest_mismatch");
    let new_photo = ApprovalDocument {
        photo_sha256: "ac".repeat(32),
        ..doc
    };
    assert_eq!(
        refusal(&cms, &new_photo.canonical_bytes()),
        "digest_mismatch"
    );
    assert_eq!(refusal(&cms, b""), "digest_mismatch");
}

#[test]
fn changed_signed_attribute_is_bad_signature() {
    let doc = approval().canonical_bytes();
    for officer in [&fixtures().ecdsa, &fixtures().rsa] {
        let mut cms = sign_as(officer, &doc);
        // The signing-time attribute, UTCTime "250601090000Z": move it by one second.
        let needle = b"250601090000Z";
        let at = cms.windows(needle.len()).position(|w| w == needle).unwrap();
        cms[at + 11] = b'1';
        assert_eq!(refusal(&cms, &doc), "bad_signature");
    }
}

#[test]
fn signature_by_another_key_is_bad_signature() {
    let f = fixtures();
    let doc = approval().canonical_bytes();
    // Another officer's P-256 key signed; the CMS claims officer 71's certificate.
    let by_other =
        sign_detached(&doc, &f.revoked.key_pem, &f.revoked.cert_pem, signed_at()).unwrap();
    let claimed = ParsedCert::new(&f.ecdsa.cert_der);
    let forged = edit_signed_data(&by_other, |sd| {
        sd.certificates = Some(
            cms::signed_data::CertificateSet::try_from(vec![
                cms::cert::CertificateChoices::Certificate(claimed.0.clone()),
            ])
            .unwrap(),
        );
        let signer = sd.signer_infos.0.as_slice()[0].clone();
        let signer = cms::signed_data::SignerInfo {
            sid: cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(
                cms::cert::IssuerAndSerialNumber {
                    issuer: claimed.0.tbs_certificate.issuer.clone(),
                    serial_number: claimed.0.tbs_certificate.serial_number.clone(),
                },
            ),
            ..signer
        };
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(vec![signer]).unwrap();
    });
    assert_eq!(refusal(&forged, &doc), "bad_signature");

    // And the signing tool refuses a key that is not the certificate's.
    let err = sign_detached(&doc, &f.rsa.key_pem, &f.ecdsa.cert_pem, signed_at()).unwrap_err();
    assert_eq!(err.code(), "key_certificate_mismatch");
}

struct ParsedCert(x509_cert::Certificate);

impl ParsedCert {
    fn new(der: &[u8]) -> Self {
        ParsedCert(x509_cert::Certificate::from_der(der).unwrap())
    }
}

#[test]
fn expired_certificate_is_refused() {
    let doc = approval().canonical_bytes();
    // Signed now with a certificate that ended in 2021.
    assert_eq!(
        refusal(&sign_as(&fixtures().expired, &doc), &doc),
        "certificate_expired"
    );
    // Signed (claimed) while it was valid, verified after it expired: still refused —
    // production needs a certificate that vouches for the approval today.
    let f = fixtures();
    let backdated = sign_detached(
        &doc,
        &f.expired.key_pem,
        &f.expired.cert_pem,
        ts("2020-06-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(refusal(&backdated, &doc), "certificate_expired");
}

#[test]
fn not_yet_valid_certificate_is_refused() {
    let doc = approval().canonical_bytes();
    assert_eq!(
        refusal(&sign_as(&fixtures().not_yet_valid, &doc), &doc),
        "certificate_not_yet_valid"
    );
}

#[test]
fn revoked_certificate_is_refused_by_serial_list_and_by_crl() {
    let f = fixtures();
    let doc = approval().canonical_bytes();
    let cms = sign_as(&f.revoked, &doc);
    assert_eq!(refusal(&cms, &doc), "certificate_revoked");

    // The same through the exported text list …
    let text = f.ca.revoked_serials_text();
    assert!(text.contains(&f.revoked.serial));
    let from_text =
        TrustStore::new(f.ca.cert_pem(), RevocationList::from_text(&text).unwrap()).unwrap();
    let err = verify_detached(&cms, &doc, &from_text, now()).unwrap_err();
    assert_eq!(
        err,
        TrustError::CertificateRevoked {
            serial: f.revoked.serial.clone()
        }
    );

    // … and through a CRL signed by the CA.
    let crl =
        f.ca.crl_pem(ts("2025-05-01T00:00:00Z"), ts("2025-08-01T00:00:00Z"))
            .unwrap();
    let mut list = RevocationList::new();
    list.add_crl(crl.as_bytes()).unwrap();
    let from_crl = TrustStore::new(f.ca.cert_pem(), list).unwrap();
    assert_eq!(from_crl.revocations().len(), 1);
    assert_eq!(
        verify_detached(&cms, &doc, &from_crl, now())
            .unwrap_err()
            .code(),
        "certificate_revoked"
    );
    // Revocation is per certificate: the others still verify under that store.
    let good = sign_as(&f.ecdsa, &doc);
    assert!(verify_detached(&good, &doc, &from_crl, now()).is_ok());
}

#[test]
fn crl_not_signed_by_an_anchor_is_refused() {
    let f = fixtures();
    let foreign = f
        .other_ca
        .crl_pem(ts("2025-05-01T00:00:00Z"), ts("2025-08-01T00:00:00Z"))
        .unwrap();
    let mut list = RevocationList::new();
    list.add_crl(foreign.as_bytes()).unwrap();
    assert_eq!(
        TrustStore::new(f.ca.cert_pem(), list).unwrap_err().code(),
        "invalid_revocation_list"
    );
    let mut garbage = RevocationList::new();
    assert_eq!(
        garbage.add_crl(b"not a crl").unwrap_err().code(),
        "invalid_revocation_list"
    );
}

#[test]
fn self_signed_and_other_ca_certificates_are_untrusted() {
    let f = fixtures();
    let doc = approval().canonical_bytes();
    // A certificate from a CA that is not configured.
    assert_eq!(
        refusal(&sign_as(&f.from_other_ca, &doc), &doc),
        "untrusted_certificate"
    );
    // A self-signed certificate that copies the trusted CA's name: the name matches an
    // anchor, the signature does not.
    let (cert, key) = &f.self_signed;
    let cms = sign_detached(&doc, key, cert, signed_at()).unwrap();
    let err = verify_detached(&cms, &doc, &f.store, now()).unwrap_err();
    assert_eq!(err.code(), "untrusted_certificate", "{err}");
    // The trusted CA's own certificate cannot sign approvals.
    let ca_key = f.ca.key_pem().unwrap();
    let by_ca = sign_detached(&doc, &ca_key, f.ca.cert_pem(), signed_at()).unwrap();
    assert_eq!(refusal(&by_ca, &doc), "wrong_key_usage");
}

#[test]
fn certificate_without_digital_signature_usage_is_refused() {
    let doc = approval().canonical_bytes();
    assert_eq!(
        refusal(&sign_as(&fixtures().no_digital_signature, &doc), &doc),
        "wrong_key_usage"
    );
}

#[test]
fn unsupported_digest_algorithm_is_refused() {
    let doc = approval().canonical_bytes();
    let cms = sign_as(&fixtures().ecdsa, &doc);
    let sha384 = der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    let changed = edit_signed_data(&cms, |sd| {
        let mut signer = sd.signer_infos.0.as_slice()[0].clone();
        signer.digest_alg.oid = sha384;
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(vec![signer]).unwrap();
    });
    assert_eq!(refusal(&changed, &doc), "unsupported_algorithm");
}

#[test]
fn signing_time_after_verification_time_is_refused() {
    let f = fixtures();
    let doc = approval().canonical_bytes();
    let tomorrow = now() + SignedDuration::from_hours(24);
    let cms = sign_detached(&doc, &f.ecdsa.key_pem, &f.ecdsa.cert_pem, tomorrow).unwrap();
    assert_eq!(refusal(&cms, &doc), "signing_time_in_future");
    // A clock a little ahead is tolerated.
    let soon = now() + SignedDuration::from_mins(2);
    let cms = sign_detached(&doc, &f.ecdsa.key_pem, &f.ecdsa.cert_pem, soon).unwrap();
    assert!(verify_detached(&cms, &doc, &f.store, now()).is_ok());
}

#[test]
fn garbage_is_malformed_signature() {
    let doc = approval().canonical_bytes();
    let f = fixtures();
    for bytes in [
        &b""[..],
        b"garbage",
        &[0x30, 0x03, 0x02, 0x01, 0x01],
        &[0x30, 0x80, 0x00, 0x00],
        f.ecdsa.cert_der.as_slice(),
        f.ecdsa.cert_pem.as_bytes(),
        b"-----BEGIN CMS-----\n!!!!\n-----END CMS-----\n",
    ] {
        assert_eq!(refusal(bytes, &doc), "malformed_signature", "{bytes:?}");
    }
    // Truncated at every length: never a panic, always malformed.
    let cms = sign_as(&f.ecdsa, &doc);
    for len in 0..cms.len() {
        assert_eq!(refusal(&cms[..len], &doc), "malformed_signature", "{len}");
    }
    // A CMS without the signer's certificate.
    let stripped = edit_signed_data(&cms, |sd| sd.certificates = None);
    assert_eq!(refusal(&stripped, &doc), "malformed_signature");
    // Two signers.
    let doubled = edit_signed_data(&cms, |sd| {
        let mut second = sd.signer_infos.0.as_slice()[0].clone();
        second.signature = der::asn1::OctetString::new(vec![1, 2, 3]).unwrap();
        sd.signer_infos.0.insert(second).unwrap();
    });
    assert_eq!(refusal(&doubled, &doc), "malformed_signature");
    // And for certificates.
    assert_eq!(
        f.store
            .verify_certificate(b"garbage", now())
            .unwrap_err()
            .code(),
        "malformed_certificate"
    );
}

#[test]
fn reason_codes_of_the_brief_are_stable_api() {
    // The list production's refusal messages are keyed on.
    for code in [
        "malformed_signature",
        "digest_mismatch",
        "bad_signature",
        "untrusted_certificate",
        "certificate_expired",
        "certificate_not_yet_valid",
        "certificate_revoked",
        "wrong_key_usage",
        "unsupported_algorithm",
    ] {
        assert!(TrustError::CODES.contains(&code), "{code}");
    }
}

// ---------------------------------------------------------------------------------------
// Remote signing with a sealed key
// ---------------------------------------------------------------------------------------

#[test]
fn sealed_key_opens_with_the_right_pin_only_and_signs() {
    let f = fixtures();
    for officer in [&f.ecdsa, &f.rsa] {
        let sealed = keystore::seal(&officer.key_pem, "739164").unwrap();
        assert_eq!(sealed.kdf_params, KdfParams::DEFAULT);
        assert_eq!(
            keystore::unseal(&sealed, "739165").unwrap_err(),
            TrustError::WrongPin
        );
        assert_eq!(
            keystore::unseal(&sealed, "").unwrap_err(),
            TrustError::WrongPin
        );
        let key = keystore::unseal_key(&sealed, "739164").unwrap();
        let doc = approval().canonical_bytes();
        let cms = ksig::sign_detached_with(&doc, &key, &officer.cert_der, signed_at()).unwrap();
        let info = verify_detached(&cms, &doc, &f.store, now()).unwrap();
        assert_eq!(info.signer.serial, officer.serial);
        let error_text = keystore::unseal(&sealed, "000000").unwrap_err().to_string();
        assert!(!error_text.contains("739164") && !error_text.contains("000000"));
    }
}

// ---------------------------------------------------------------------------------------
// Canonical JSON
// ---------------------------------------------------------------------------------------

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        (-(jcs::MAX_SAFE_INTEGER as i64)..=(jcs::MAX_SAFE_INTEGER as i64))
            .prop_map(|i| serde_json::Value::Number(i.into())),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).unwrap().into()),
        // Integers beyond 2^53 that a double holds exactly (others are refused).
        any::<i64>()
            .prop_map(serde_json::Number::from)
            .prop_filter("exact as a double", |n| jcs::format_number(n).is_ok())
            .prop_map(serde_json::Value::Number),
        any::<String>().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON text for `value` with object members in an order chosen by `seed` and with
/// whitespace sprinkled in: same data, different text.
fn scrambled_text(value: &serde_json::Value, seed: &mut u64) -> String {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    };
    fn go(value: &serde_json::Value, next: &mut dyn FnMut() -> u64, out: &mut String) {
        let ws = |n: u64| [" ", "", "\n ", "\t"][(n % 4) as usize];
        match value {
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ws(next()));
                    go(item, next, out);
                }
                out.push(']');
            }
            serde_json::Value::Object(members) => {
                let mut members: Vec<_> = members.iter().collect();
                // Fisher–Yates with the test's own generator.
                for i in (1..members.len()).rev() {
                    let j = (next() % (i as u64 + 1)) as usize;
                    members.swap(i, j);
                }
                out.push('{');
                for (i, (name, member)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ws(next()));
                    out.push_str(&serde_json::to_string(name).unwrap());
                    out.push_str(ws(next()));
                    out.push(':');
                    go(member, next, out);
                }
                out.push('}');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap()),
        }
    }
    let mut out = String::new();
    go(value, &mut next, &mut out);
    out
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Zа-яА-ЯәіңғүұқөһӘІҢҒҮҰҚӨҺ '\"\\\\-]{0,24}"
    ]
}

fn approval_document() -> impl Strategy<Value = ApprovalDocument> {
    (prop::collection::vec(text(), 14), prop::option::of(text())).prop_map(|(f, patronymic)| {
        ApprovalDocument {
            application_id: f[0].clone(),
            ticket: f[1].clone(),
            iin: f[2].clone(),
            surname: f[3].clone(),
            given_name: f[4].clone(),
            patronymic,
            birth_date: f[5].clone(),
            document_kind: f[6].clone(),
            region: f[7].clone(),
            registration_point: f[8].clone(),
            photo_sha256: f[9].clone(),
            signature_sha256: f[10].clone(),
            decision: f[11].clone(),
            decided_at: f[12].clone(),
            officer_username: f[13].clone(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// parse → canonicalize → parse → canonicalize gives identical bytes.
    #[test]
    fn canonical_json_is_stable(value in json_value()) {
        let once = jcs::canonicalize(&value).unwrap();
        let reparsed = jcs::parse(std::str::from_utf8(&once).unwrap()).unwrap();
        let twice = jcs::canonicalize(&reparsed).unwrap();
        prop_assert_eq!(&once, &twice);
        // And canonical text is a fixed point when read as text.
        prop_assert_eq!(jcs::canonicalize_str(std::str::from_utf8(&once).unwrap()).unwrap(), once);
    }

    /// Member order and whitespace of the input do not change the canonical bytes.
    #[test]
    fn canonical_json_ignores_member_order_and_whitespace(value in json_value(), a: u64, b: u64) {
        let (mut a, mut b) = (a, b);
        let first = scrambled_text(&value, &mut a);
        let second = scrambled_text(&value, &mut b);
        prop_assert_eq!(
            jcs::canonicalize_str(&first).unwrap(),
            jcs::canonicalize_str(&second).unwrap()
        );
        prop_assert_eq!(jcs::canonicalize_str(&first).unwrap(), jcs::canonicalize(&value).unwrap());
    }

    /// Every finite double is written in a form that reads back as the same double.
    #[test]
    fn canonical_numbers_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = jcs::format_f64(f).unwrap();
        let back: f64 = text.parse().unwrap();
        prop_assert!(back == f, "{} -> {} -> {}", f, text, back);
    }

    /// The approval document's own writer agrees with the general canonicaliser, and its
    /// bytes read back to the same document.
    #[test]
    fn approval_documents_are_canonical_and_read_back(doc in approval_document()) {
        let bytes = doc.canonical_bytes();
        let mut value = serde_json::to_value(&doc).unwrap();
        value.as_object_mut().unwrap().insert("format".into(), APPROVAL_FORMAT.into());
        prop_assert_eq!(&bytes, &jcs::canonicalize(&value).unwrap());
        prop_assert_eq!(ApprovalDocument::from_canonical_bytes(&bytes).unwrap(), doc);
    }
}

// ---------------------------------------------------------------------------------------
// Audit chain
// ---------------------------------------------------------------------------------------

struct Log {
    key: ServerKey,
    entries: Vec<(u64, Vec<u8>, audit::Hash)>,
    checkpoints: Vec<Checkpoint>,
}

/// `count` entries sequenced in batches of `batch`.
fn audit_log(count: u64, batch: usize) -> Log {
    let key = ServerKey::generate();
    let mut chain = Chain::new();
    let all: Vec<Vec<u8>> = (1..=count)
        .map(|i| {
            format!(
                r#"{{"action":"application.read","actor":"officer71","at":"2025-06-01T09:{:02}:00Z","n":{i}}}"#,
                i % 60
            )
            .into_bytes()
        })
        .collect();
    let mut entries = Vec::new();
    let mut checkpoints = Vec::new();
    for (b, chunk) in all.chunks(batch).enumerate() {
        let at = now() + SignedDuration::from_secs(b as i64);
        let out = chain.append_batch(chunk, at, &key).unwrap();
        for (link, bytes) in out.links.iter().zip(chunk) {
            entries.push((link.seq, bytes.clone(), link.chain_hash));
        }
        checkpoints.push(out.checkpoint);
    }
    Log {
        key,
        entries,
        checkpoints,
    }
}

/// Verifies with stored chain hashes (`exact`) or from the bytes alone.
fn check(
    log: &Log,
    entries: &[(u64, Vec<u8>, audit::Hash)],
    checkpoints: &[Checkpoint],
    exact: bool,
) -> Result<audit::VerifiedLog, audit::AuditError> {
    let records = entries.iter().map(|(seq, bytes, hash)| AuditRecord {
        seq: *seq,
        bytes,
        chain_hash: exact.then_some(&hash[..]),
    });
    audit::verify(records, checkpoints, &log.key.public_key())
}

fn failure(result: Result<audit::VerifiedLog, audit::AuditError>) -> (u64, AuditFailure) {
    let err = result.unwrap_err();
    (err.first_bad_seq, err.reason)
}

#[test]
fn intact_audit_log_verifies() {
    let log = audit_log(50, 8);
    for exact in [true, false] {
        let ok = check(&log, &log.entries, &log.checkpoints, exact).unwrap();
        assert_eq!(ok.entries, 50);
        assert_eq!(ok.last_seq, 50);
        assert_eq!(ok.checkpoints, 7);
        assert_eq!(ok.last_checkpoint.as_ref(), log.checkpoints.last());
    }
    // Checkpoints survive a JSON round trip (export for an outside auditor).
    let json = serde_json::to_string(&log.checkpoints).unwrap();
    let back: Vec<Checkpoint> = serde_json::from_str(&json).unwrap();
    assert!(check(&log, &log.entries, &back, true).is_ok());
}

#[test]
fn edited_entry_is_named() {
    let log = audit_log(50, 8);
    let mut entries = log.entries.clone();
    entries[12].1[10] ^= 1; // entry 13, in the batch 9..=16
                            // Stored chain hashes pin the edit to its entry …
    assert_eq!(
        failure(check(&log, &entries, &log.checkpoints, true)),
        (13, AuditFailure::EntryMismatch)
    );
    // … without them, the signed checkpoint of its batch catches it: entries 1..=8 are
    // vouched for, 9 is the first that is not.
    let err = check(&log, &entries, &log.checkpoints, false).unwrap_err();
    assert_eq!(
        (err.first_bad_seq, err.reason),
        (9, AuditFailure::CheckpointMismatch)
    );
    assert_eq!(err.checkpoint_seq, Some(16));
    assert_eq!(err.code(), "checkpoint_mismatch");
    // Four bytes of each chain hash (what a batch chained by reach keeps) name it as well;
    // an empty tag vouches for nothing.
    let tagged = |tag_len: usize| {
        let records = entries.iter().map(|(seq, bytes, hash)| AuditRecord {
            seq: *seq,
            bytes,
            chain_hash: Some(&hash[..tag_len]),
        });
        audit::verify(records, &log.checkpoints, &log.key.public_key())
    };
    assert_eq!(failure(tagged(4)), (13, AuditFailure::EntryMismatch));
    assert_eq!(failure(tagged(0)), (1, AuditFailure::EntryMismatch));
    let intact = log.entries.iter().map(|(seq, bytes, hash)| AuditRecord {
        seq: *seq,
        bytes,
        chain_hash: Some(&hash[..4]),
    });
    assert!(audit::verify(intact, &log.checkpoints, &log.key.public_key()).is_ok());

    // An editor who also rewrote the unsigned chain hashes is caught by the checkpoint.
    let mut rehashed = entries.clone();
    let mut head = rehashed[11].2;
    for row in rehashed.iter_mut().skip(12) {
        head = audit::chain_hash(&head, &audit::entry_hash(&row.1));
        row.2 = head;
    }
    assert_eq!(
        failure(check(&log, &rehashed, &log.checkpoints, true)),
        (9, AuditFailure::CheckpointMismatch)
    );
}

#[test]
fn deleted_entry_is_named() {
    let log = audit_log(50, 8);
    let mut entries = log.entries.clone();
    entries.remove(12);
    for exact in [true, false] {
        assert_eq!(
            failure(check(&log, &entries, &log.checkpoints, exact)),
            (13, AuditFailure::MissingEntry)
        );
    }
    // Deleted and the later ones renumbered to hide the gap.
    let renumbered: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, (_, bytes, hash))| (i as u64 + 1, bytes.clone(), *hash))
        .collect();
    assert_eq!(
        failure(check(&log, &renumbered, &log.checkpoints, true)),
        (13, AuditFailure::EntryMismatch)
    );
    assert_eq!(
        failure(check(&log, &renumbered, &log.checkpoints, false)),
        (9, AuditFailure::CheckpointMismatch)
    );
    // The tail deleted, its checkpoint kept.
    let truncated = &log.entries[..47];
    assert_eq!(
        failure(check(&log, truncated, &log.checkpoints, true)),
        (48, AuditFailure::MissingEntry)
    );
}

#[test]
fn inserted_entry_is_named() {
    let log = audit_log(50, 8);
    let forged = (13, b"{\"action\":\"nothing to see\"}".to_vec(), [0u8; 32]);
    let mut entries = log.entries.clone();
    entries.insert(13, forged.clone()); // a second 13 after the real one
    assert_eq!(
        failure(check(&log, &entries, &log.checkpoints, false)),
        (13, AuditFailure::DuplicateEntry)
    );
    // Inserted before the real 13 and everything after renumbered.
    let mut renumbered = log.entries.clone();
    renumbered.insert(12, forged);
    for (i, row) in renumbered.iter_mut().enumerate() {
        row.0 = i as u64 + 1;
    }
    assert_eq!(
        failure(check(&log, &renumbered, &log.checkpoints, true)),
        (13, AuditFailure::EntryMismatch)
    );
    assert_eq!(
        failure(check(&log, &renumbered, &log.checkpoints, false)),
        (9, AuditFailure::CheckpointMismatch)
    );
    // Appended after the last checkpoint: nothing signed covers it.
    let mut appended = log.entries.clone();
    appended.push((51, b"{}".to_vec(), [0u8; 32]));
    assert_eq!(
        failure(check(&log, &appended, &log.checkpoints, false)),
        (51, AuditFailure::NotCheckpointed)
    );
}

#[test]
fn reordered_entries_are_named() {
    let log = audit_log(50, 8);
    // Contents of 20 and 21 swapped, numbers kept.
    let mut swapped = log.entries.clone();
    let (a, b) = (swapped[19].1.clone(), swapped[20].1.clone());
    swapped[19].1 = b;
    swapped[20].1 = a;
    assert_eq!(
        failure(check(&log, &swapped, &log.checkpoints, true)),
        (20, AuditFailure::EntryMismatch)
    );
    assert_eq!(
        failure(check(&log, &swapped, &log.checkpoints, false)),
        (17, AuditFailure::CheckpointMismatch)
    );
    // Rows delivered out of order.
    let mut moved = log.entries.clone();
    moved.swap(19, 20);
    assert_eq!(
        failure(check(&log, &moved, &log.checkpoints, true)),
        (20, AuditFailure::MissingEntry)
    );
    let mut back = log.entries.clone();
    let row = back.remove(5);
    back.insert(30, row);
    let err = check(&log, &back, &log.checkpoints, false).unwrap_err();
    assert_eq!(err.first_bad_seq, 6);
}

#[test]
fn forged_checkpoint_is_named() {
    let log = audit_log(50, 8);
    // Batch 17..=24's checkpoint with another head, signed by another key.
    let mut forged = log.checkpoints.clone();
    let other = ServerKey::generate();
    forged[2] = other
        .sign_checkpoint(24, &[7u8; 32], forged[2].at, &forged[2].prev_hash)
        .unwrap();
    let err = check(&log, &log.entries, &forged, true).unwrap_err();
    assert_eq!(
        (err.first_bad_seq, err.reason),
        (17, AuditFailure::BadCheckpointSignature)
    );
    assert_eq!(err.checkpoint_seq, Some(24));
    // The head altered under the genuine signature.
    let mut altered = log.checkpoints.clone();
    altered[2].head_hash = [7u8; 32];
    assert_eq!(
        failure(check(&log, &log.entries, &altered, true)),
        (17, AuditFailure::BadCheckpointSignature)
    );
    // The time altered.
    let mut retimed = log.checkpoints.clone();
    retimed[2].at += SignedDuration::from_secs(1);
    assert_eq!(
        failure(check(&log, &log.entries, &retimed, true)),
        (17, AuditFailure::BadCheckpointSignature)
    );
    // The whole log rebuilt and re-signed with an attacker's key.
    let rebuilt = audit_log(50, 8);
    assert_eq!(
        failure(check(&log, &rebuilt.entries, &rebuilt.checkpoints, true)),
        (1, AuditFailure::BadCheckpointSignature)
    );
    // Checkpoints out of order.
    let mut shuffled = log.checkpoints.clone();
    shuffled.swap(1, 3);
    assert_eq!(
        failure(check(&log, &log.entries, &shuffled, true)),
        (9, AuditFailure::CheckpointChainBroken)
    );
    // A checkpoint removed: the next one no longer links (its batch merges into the next).
    let mut removed = log.checkpoints.clone();
    removed.remove(3);
    assert_eq!(
        failure(check(&log, &log.entries, &removed, true)),
        (25, AuditFailure::CheckpointChainBroken)
    );
    // A genuine checkpoint replayed a second time.
    let mut replayed = log.checkpoints.clone();
    replayed.insert(3, log.checkpoints[2].clone());
    assert_eq!(
        failure(check(&log, &log.entries, &replayed, true)),
        (24, AuditFailure::CheckpointChainBroken)
    );
    // A garbled signature on an otherwise intact checkpoint is still named.
    let mut garbled = log.checkpoints.clone();
    garbled[4].signature[10] ^= 1;
    assert_eq!(
        failure(check(&log, &log.entries, &garbled, true)),
        (33, AuditFailure::BadCheckpointSignature)
    );
    // Only the last checkpoint altered.
    let mut last = log.checkpoints.clone();
    let n = last.len() - 1;
    last[n].at += SignedDuration::from_secs(1);
    assert_eq!(
        failure(check(&log, &log.entries, &last, true)),
        (49, AuditFailure::BadCheckpointSignature)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Any single edit, deletion or duplication anywhere is caught, and never blamed on an
    /// entry after it.
    #[test]
    fn any_single_tampering_is_detected(
        count in 1u64..40,
        batch in 1usize..10,
        pick in any::<prop::sample::Index>(),
        kind in 0u8..3,
    ) {
        let log = audit_log(count, batch);
        let i = pick.index(log.entries.len());
        let seq = i as u64 + 1;
        let mut entries = log.entries.clone();
        match kind {
            0 => entries[i].1.push(b' '),
            1 => { entries.remove(i); }
            _ => { let row = entries[i].clone(); entries.insert(i, row); }
        }
        for exact in [true, false] {
            let result = check(&log, &entries, &log.checkpoints, exact);
            prop_assert!(result.is_err());
            let (first_bad, _) = failure(result);
            prop_assert!(first_bad <= seq, "blamed {} for a change at {}", first_bad, seq);
            // The blamed entry is inside the batch of the change.
            let batch_start = (i / batch * batch) as u64 + 1;
            prop_assert!(first_bad >= batch_start);
            if exact || kind != 0 {
                prop_assert_eq!(first_bad, seq);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsers never panic
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        let f = fixtures();
        let doc = approval().canonical_bytes();
        prop_assert!(verify_detached(&bytes, &doc, &f.store, now()).is_err());
        prop_assert!(ksig::signer_certificate(&bytes).is_err());
        prop_assert!(f.store.verify_certificate(&bytes, now()).is_err());
        let _ = pki::inspect_certificate(&bytes);
        let _ = RevocationList::new().add_crl(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = RevocationList::from_text(&text);
        prop_assert!(TrustStore::new(&text, RevocationList::new()).is_err());
        let _ = PrivateKey::from_pem(&text);
        let _ = PrivateKey::from_pkcs8_der(&bytes);
        let _ = jcs::canonicalize_str(&text);
        let _ = ApprovalDocument::from_canonical_bytes(&bytes);
        let _ = serde_json::from_slice::<keystore::SealedKey>(&bytes)
            .map(|sealed| keystore::unseal(&sealed, "123456"));
    }

    /// Valid DER with random damage: the parsers still never panic, and what verifies is
    /// still the same officer's signature over the same document.
    #[test]
    fn damaged_signatures_and_certificates_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        rsa in any::<bool>(),
    ) {
        let f = fixtures();
        let officer = if rsa { &f.rsa } else { &f.ecdsa };
        let doc = approval().canonical_bytes();
        static SIGNED: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        let (ecdsa_cms, rsa_cms) = SIGNED.get_or_init(|| {
            (sign_as(&fixtures().ecdsa, &approval().canonical_bytes()),
             sign_as(&fixtures().rsa, &approval().canonical_bytes()))
        });
        let mut cms = if rsa { rsa_cms.clone() } else { ecdsa_cms.clone() };
        let mut cert = officer.cert_der.clone();
        for (at, byte) in &edits {
            let i = at.index(cms.len());
            cms[i] = *byte;
            let j = at.index(cert.len());
            cert[j] = *byte;
        }
        if let Ok(info) = verify_detached(&cms, &doc, &f.store, now()) {
            prop_assert_eq!(&info.signer.sha256_fingerprint, &officer.sha256_fingerprint);
        }
        if let Ok(info) = f.store.verify_certificate(&cert, now()) {
            prop_assert_eq!(&info.sha256_fingerprint, &officer.sha256_fingerprint);
        }
    }
}
