//! The НУЦ РК certificate profile end to end: certificates that name their holder by IIN
//! (subject serialNumber `IIN…`) and organisation by BIN (subject OU `BIN…`), with НУЦ РК's
//! extendedKeyUsage, made by the demo CA and by OpenSSL, sign an approval; the signature
//! verifies, the holder is read from the certificate, and the officer profile accepts the
//! right person and refuses everyone else with a code of its own.

use std::path::Path;
use std::process::Command;

use jiff::{SignedDuration, Timestamp};

use kuelik_trust::algorithm::KeyAlgorithm;
use kuelik_trust::cms::{sign_detached, verify_detached};
use kuelik_trust::pki::{DemoCa, OfficerCredentials, OfficerRequest, RevocationList, TrustStore};
use kuelik_trust::profile::{
    SignerProfile, EKU_AUTHENTICATION, EKU_EMPLOYEE, EKU_ORGANISATION, EKU_SIGNING,
};
use kuelik_trust::Validity;

const IIN: &str = "870412300129";
const OTHER_IIN: &str = "900515301234";
const BIN: &str = "120340005678";
const DOCUMENT: &[u8] = b"{\"decision\":\"approve\",\"ticket\":\"K7M2Q-9XH4T\"}";

fn now() -> Timestamp {
    Timestamp::now()
}

fn valid() -> Validity {
    Validity::days_from(now() - SignedDuration::from_hours(24), 365).unwrap()
}

fn nuc_request(iin: &str, eku: &[&str], validity: Validity) -> OfficerRequest {
    OfficerRequest {
        common_name: "САДЫКОВА АЙГЕРІМ".into(),
        organizational_unit: None,
        algorithm: KeyAlgorithm::EcdsaP256,
        validity,
        digital_signature: true,
        iin: Some(iin.into()),
        bin: Some(BIN.into()),
        extended_key_usages: eku.iter().map(|s| s.to_string()).collect(),
    }
}

fn sign(officer: &OfficerCredentials) -> Vec<u8> {
    sign_detached(DOCUMENT, &officer.key_pem, &officer.cert_pem, now()).unwrap()
}

#[test]
fn a_demo_ca_nuc_certificate_names_its_holder_and_each_mismatch_has_its_code() {
    let ca = DemoCa::generate("НУЦ РК (kuelik test)").unwrap();
    let store = TrustStore::new(ca.cert_pem(), RevocationList::new()).unwrap();
    let profile = SignerProfile::officer(Some(BIN.into()));
    let signing = [EKU_SIGNING, EKU_ORGANISATION, EKU_EMPLOYEE];

    let officer = ca.issue(&nuc_request(IIN, &signing, valid())).unwrap();
    let info = verify_detached(&sign(&officer), DOCUMENT, &store, now()).unwrap();
    let holder = &info.signer.holder;
    assert_eq!(holder.iin.as_deref(), Some(IIN));
    assert_eq!(holder.bin.as_deref(), Some(BIN));
    assert_eq!(
        holder.extended_key_usages,
        signing.map(String::from).to_vec()
    );
    assert_eq!(profile.check(holder, IIN), Ok(()));

    // The same certificate for an account bound to someone else.
    assert_eq!(
        profile.check(holder, OTHER_IIN).unwrap_err().code(),
        "certificate_of_another_person"
    );
    // Another УМС's officer.
    let elsewhere = SignerProfile::officer(Some("999999999999".into()));
    assert_eq!(
        elsewhere.check(holder, IIN).unwrap_err().code(),
        "certificate_of_another_organisation"
    );
    // The same person's authentication key.
    let auth = ca
        .issue(&nuc_request(
            IIN,
            &[EKU_AUTHENTICATION, EKU_ORGANISATION],
            valid(),
        ))
        .unwrap();
    let info = verify_detached(&sign(&auth), DOCUMENT, &store, now()).unwrap();
    assert_eq!(
        profile.check(&info.signer.holder, IIN).unwrap_err().code(),
        "wrong_key_usage"
    );
    // An expired certificate of the right person is refused before any profile question.
    let old = Validity::days_from(now() - SignedDuration::from_hours(24 * 400), 30).unwrap();
    let expired = ca.issue(&nuc_request(IIN, &signing, old)).unwrap();
    let cms = sign_detached(
        DOCUMENT,
        &expired.key_pem,
        &expired.cert_pem,
        old.not_before,
    )
    .unwrap();
    assert_eq!(
        verify_detached(&cms, DOCUMENT, &store, now())
            .unwrap_err()
            .code(),
        "certificate_expired"
    );
    // A changed document.
    assert_eq!(
        verify_detached(&sign(&officer), b"{\"decision\":\"annul\"}", &store, now())
            .unwrap_err()
            .code(),
        "digest_mismatch"
    );
    // A certificate that names nobody (the demo's plain officer certificates).
    let plain = ca
        .issue_officer("officer71", KeyAlgorithm::EcdsaP256, valid())
        .unwrap();
    let info = verify_detached(&sign(&plain), DOCUMENT, &store, now()).unwrap();
    assert_eq!(
        profile.check(&info.signer.holder, IIN).unwrap_err().code(),
        "certificate_without_iin"
    );
    // Revoked, as the CA's OCSP responder says (no CRL lists it): its signature verifies,
    // the responder's signed answer refuses it.
    let mut ca = ca;
    let revoked = ca.issue(&nuc_request(IIN, &signing, valid())).unwrap();
    let info = verify_detached(&sign(&revoked), DOCUMENT, &store, now()).unwrap();
    ca.revoke(&info.signer.serial, now()).unwrap();
    let request = kuelik_trust::ocsp::request(&revoked.cert_der, ca.cert_der()).unwrap();
    let answer = ca
        .ocsp_response(&request, now(), SignedDuration::from_hours(1), &|_| None)
        .unwrap();
    let status =
        kuelik_trust::ocsp::check_response(&answer, &revoked.cert_der, ca.cert_der(), now())
            .unwrap();
    assert_eq!(
        status.refusal(&info.signer.serial).unwrap().code(),
        "certificate_revoked"
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new P-256 private key in `dir/name`.
fn p256_key(dir: &Path, name: &str) {
    let args = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out";
    let mut args: Vec<&str> = args.split(' ').collect();
    args.push(name);
    openssl(dir, &args);
}

/// A chain and a signature made by OpenSSL alone, as another system would make them: the
/// service reads the holder and accepts the signature.
#[test]
fn an_openssl_made_nuc_chain_and_signature_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("doc.json"), DOCUMENT).unwrap();
    std::fs::write(
        d.join("leaf.cnf"),
        format!(
            "[v3]\nbasicConstraints = CA:FALSE\n\
             keyUsage = critical, digitalSignature, nonRepudiation\n\
             extendedKeyUsage = emailProtection, {EKU_ORGANISATION}, {EKU_EMPLOYEE}\n\
             certificatePolicies = 1.2.398.3.3.2.1\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
        ),
    )
    .unwrap();
    p256_key(d, "ca.key");
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-days",
            "30",
            "-subj",
            "/C=KZ/O=kuelik test/CN=NUC RK TEST (openssl)",
            "-out",
            "ca.pem",
        ],
    );
    p256_key(d, "leaf.key");
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            &format!("/C=KZ/O=UMS/OU=BIN{BIN}/CN=SADYKOVA AIGERIM/serialNumber=IIN{IIN}"),
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "leaf.cnf",
            "-extensions",
            "v3",
            "-out",
            "leaf.pem",
        ],
    );
    openssl(
        d,
        &[
            "cms", "-sign", "-binary", "-in", "doc.json", "-signer", "leaf.pem", "-inkey",
            "leaf.key", "-md", "sha256", "-outform", "DER", "-out", "doc.p7s",
        ],
    );
    let ca_pem = std::fs::read_to_string(d.join("ca.pem")).unwrap();
    let store = TrustStore::new(&ca_pem, RevocationList::new()).unwrap();
    let cms = std::fs::read(d.join("doc.p7s")).unwrap();
    let info = verify_detached(&cms, DOCUMENT, &store, now()).unwrap();
    let holder = &info.signer.holder;
    assert_eq!(holder.iin.as_deref(), Some(IIN));
    assert_eq!(holder.bin.as_deref(), Some(BIN));
    assert_eq!(holder.policies, vec!["1.2.398.3.3.2.1".to_string()]);
    let profile = SignerProfile {
        policies: vec!["1.2.398.3.3.2.1".into()],
        ..SignerProfile::officer(Some(BIN.into()))
    };
    assert_eq!(profile.check(holder, IIN), Ok(()));
    assert_eq!(
        profile.check(holder, OTHER_IIN).unwrap_err().code(),
        "certificate_of_another_person"
    );
    assert_eq!(
        verify_detached(&cms, b"another document", &store, now())
            .unwrap_err()
            .code(),
        "digest_mismatch"
    );
}

/// НУЦ РК also issues GOST keys. No well-kept Rust crate verifies them, so a certificate with
/// a GOST key — properly issued by a trusted CA — is refused with `unsupported_algorithm`,
/// never accepted and never a panic (docs/OPERATIONS.md says so).
#[test]
fn a_gost_key_from_a_trusted_ca_is_refused_as_unsupported() {
    use der::asn1::{BitString, ObjectIdentifier};
    use der::{Decode, Encode};
    use x509_cert::Certificate;

    let ca = DemoCa::generate("НУЦ РК (kuelik test)").unwrap();
    let store = TrustStore::new(ca.cert_pem(), RevocationList::new()).unwrap();
    let officer = ca
        .issue(&nuc_request(IIN, &[EKU_SIGNING, EKU_ORGANISATION], valid()))
        .unwrap();
    // The same certificate with its key declared GOST R 34.10-2012 (256 bit), signed again
    // by the CA, so that only the key's algorithm is unknown.
    let mut cert = Certificate::from_der(&officer.cert_der).unwrap();
    cert.tbs_certificate.subject_public_key_info.algorithm.oid =
        ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.1");
    cert.tbs_certificate
        .subject_public_key_info
        .algorithm
        .parameters = None;
    let ca_key = kuelik_trust::PrivateKey::from_pem(&ca.key_pem().unwrap()).unwrap();
    let signature = ca_key
        .sign(&cert.tbs_certificate.to_der().unwrap())
        .unwrap();
    cert.signature = BitString::from_bytes(&signature).unwrap();
    let der = cert.to_der().unwrap();
    let refused = store.verify_certificate(&der, now()).unwrap_err();
    assert_eq!(refused.code(), "unsupported_algorithm", "{refused}");
    assert!(
        refused.to_string().contains("GOST R 34.10-2012"),
        "{refused}"
    );
}
