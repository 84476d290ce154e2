//! NCALayer's JSON protocol, as the test NCALayer answers it: no IO, no clock of its own.
//!
//! A site opens `wss://127.0.0.1:13579`, NCALayer greets it with its version, then each text
//! message is a request `{module, method, args}` with its answer. Two request forms sign:
//! - `kz.gov.pki.knca.basics` `sign`: named `args` (`format`, `data`, `signingParams`,
//!   `signerParams`); answer `{status: true, body: {result: [CMS…]}}`, an empty `body` when
//!   the user cancels, `{status: false, code, message}` on failure;
//! - `kz.gov.pki.knca.commonUtils` `createCMSSignatureFromBase64`: `args` = [storage, key
//!   type, base64 data, attach]; answer `{code: "200", responseObject: CMS}`, `{code: "500",
//!   message: "action.canceled"}` when the user cancels.
//!
//! A module NCALayer does not have is answered `{success: false, errorCode:
//! "MODULE_NOT_FOUND"}` — what sites see from an NCALayer older than the basics module.

use base64::Engine as _;
use jiff::Timestamp;
use serde_json::{json, Value};

use kuelik_trust::pkcs12::KeyFile;
use kuelik_trust::profile::{EKU_AUTHENTICATION, EKU_SIGNING};
use kuelik_trust::CertificateInfo;

pub const MODULE_BASICS: &str = "kz.gov.pki.knca.basics";
pub const MODULE_COMMON_UTILS: &str = "kz.gov.pki.knca.commonUtils";
/// The version NCALayer reports in its greeting.
pub const VERSION: &str = "1.4";
/// Clients and NCALayer keep the connection alive with this text frame.
pub const HEARTBEAT: &str = "--heartbeat--";
/// The largest document the test NCALayer signs (NCALayer's own WebSocket limit is similar).
pub const MAX_DATA_BYTES: usize = 8 * 1024 * 1024;

/// The first message on every connection.
pub fn greeting() -> Value {
    json!({ "result": { "version": VERSION } })
}

/// The key NCALayer offers: a PKCS#12 file's key and chain, and what its certificate says.
pub struct Key {
    pub file: KeyFile,
    pub certificate: CertificateInfo,
}

impl Key {
    pub fn new(file: KeyFile) -> Result<Key, kuelik_trust::TrustError> {
        let certificate = kuelik_trust::pki::inspect_certificate(file.certificate())?;
        Ok(Key { file, certificate })
    }

    /// One line naming the key for its holder: subject, IIN, validity.
    pub fn describe(&self) -> String {
        let c = &self.certificate;
        format!(
            "{} (IIN {}, valid until {})",
            c.subject,
            c.holder.iin.as_deref().unwrap_or("none"),
            c.not_after
        )
    }

    fn has_usage(&self, oid: &str) -> bool {
        self.certificate
            .holder
            .extended_key_usages
            .iter()
            .any(|u| u == oid)
    }
}

/// Which request form asked for a signature: the answer must be in the same form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Basics,
    CommonUtils,
}

/// A request to sign, waiting for the holder's consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub form: Form,
    /// The documents to sign (basics may send several).
    pub documents: Vec<Vec<u8>>,
    /// Echoed in commonUtils answers when the request had one.
    uuid: Option<Value>,
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Handling {
    /// Answer this right away.
    Answer(Value),
    /// Ask the holder, then answer with [`Signing::signed`] or [`Signing::cancelled`].
    Consent(Signing),
}

/// The modules this NCALayer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modules {
    /// `false`: an NCALayer older than the basics module (only commonUtils).
    pub basics: bool,
}

/// What `text` (one request) asks of an NCALayer holding `key`.
pub fn handle(text: &str, key: &Key, modules: Modules) -> Handling {
    let Ok(request) = serde_json::from_str::<Value>(text) else {
        return Handling::Answer(common_failure("the request is not JSON", None));
    };
    let module = request["module"].as_str().unwrap_or("");
    let method = request["method"].as_str().unwrap_or("");
    let args = &request["args"];
    let uuid = request.get("uuid").cloned();
    match module {
        MODULE_BASICS if modules.basics => match method {
            "sign" => basics_sign(args, key),
            other => Handling::Answer(basics_failure(
                "INVOCATION_ERROR",
                &format!("no method {other:?}"),
            )),
        },
        MODULE_COMMON_UTILS => match method {
            "createCMSSignatureFromBase64" => common_sign(args, key, uuid),
            "getActiveTokens" => Handling::Answer(common_ok(json!([]), uuid)),
            "getKeyInfo" => Handling::Answer(common_ok(key_info(key), uuid)),
            "changeLocale" => Handling::Answer(common_ok(Value::Null, uuid)),
            other => Handling::Answer(common_failure(&format!("no method {other:?}"), uuid)),
        },
        _ => Handling::Answer(json!({ "success": false, "errorCode": "MODULE_NOT_FOUND" })),
    }
}

fn basics_sign(args: &Value, key: &Key) -> Handling {
    let failure =
        |message: &str| Handling::Answer(basics_failure("INVALID_SIGNING_PARAMS", message));
    if args["format"].as_str().unwrap_or("cms") != "cms" {
        return failure("the test NCALayer makes CMS signatures only (format \"cms\")");
    }
    let params = &args["signingParams"];
    if flag(&params["encapsulate"]) == Some(true) || flag(&params["digested"]) == Some(true) {
        return failure("the test NCALayer makes detached signatures of whole documents only");
    }
    // `decode`: the data is base64 of the bytes to sign (the usual case); otherwise text.
    let decode = flag(&params["decode"]).unwrap_or(true);
    let items: Vec<&Value> = match &args["data"] {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut documents = Vec::with_capacity(items.len());
    for item in items {
        let Some(text) = item.as_str() else {
            return failure("data: a string or an array of strings");
        };
        match document(text, decode) {
            Ok(bytes) => documents.push(bytes),
            Err(message) => return failure(message),
        }
    }
    let signer = &args["signerParams"];
    let usages = signer["extKeyUsageOids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let wanted_iin = signer["iin"].as_str().filter(|s| !s.is_empty());
    let fits = usages
        .iter()
        .filter_map(Value::as_str)
        .all(|oid| key.has_usage(oid))
        && wanted_iin.is_none_or(|iin| key.certificate.holder.iin.as_deref() == Some(iin));
    if !fits {
        return Handling::Answer(basics_failure(
            "SIGNING_FAILURE",
            "no key fits the request (key usage or IIN)",
        ));
    }
    Handling::Consent(Signing {
        form: Form::Basics,
        documents,
        uuid: None,
    })
}

fn common_sign(args: &Value, key: &Key, uuid: Option<Value>) -> Handling {
    let key_type = args[1].as_str().unwrap_or("");
    let Some(data) = args[2].as_str() else {
        return Handling::Answer(common_failure(
            "args: [storage, keyType, base64, attach]",
            uuid,
        ));
    };
    if args[3].as_bool() == Some(true) {
        return Handling::Answer(common_failure(
            "the test NCALayer makes detached signatures only (attach = false)",
            uuid,
        ));
    }
    let usage = match key_type {
        "SIGNATURE" => Some(EKU_SIGNING),
        "AUTHENTICATION" => Some(EKU_AUTHENTICATION),
        _ => None,
    };
    if usage.is_some_and(|oid| !key.has_usage(oid)) {
        return Handling::Answer(common_failure("no key of this type", uuid));
    }
    match document(data, true) {
        Ok(bytes) => Handling::Consent(Signing {
            form: Form::CommonUtils,
            documents: vec![bytes],
            uuid,
        }),
        Err(message) => Handling::Answer(common_failure(message, uuid)),
    }
}

/// NCALayer's clients send booleans both as JSON booleans and as "true"/"false".
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

fn document(text: &str, decode: bool) -> Result<Vec<u8>, &'static str> {
    let bytes = if decode {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "data is not base64")?
    } else {
        text.as_bytes().to_vec()
    };
    if bytes.len() > MAX_DATA_BYTES {
        return Err("the document is too large");
    }
    Ok(bytes)
}

impl Signing {
    /// The answer once the holder agreed: a detached CMS of each document, signed now.
    pub fn signed(&self, key: &Key, now: Timestamp) -> Value {
        let mut signatures = Vec::with_capacity(self.documents.len());
        for document in &self.documents {
            match kuelik_trust::cms::sign_detached_with(
                document,
                &key.file.key,
                key.file.certificate(),
                now,
            ) {
                Ok(cms) => signatures.push(base64::engine::general_purpose::STANDARD.encode(cms)),
                Err(e) => {
                    return match self.form {
                        Form::Basics => basics_failure("SIGNING_FAILURE", &e.to_string()),
                        Form::CommonUtils => common_failure(&e.to_string(), self.uuid.clone()),
                    }
                }
            }
        }
        match self.form {
            Form::Basics => json!({ "status": true, "body": { "result": signatures } }),
            Form::CommonUtils => common_ok(
                Value::String(signatures.pop().unwrap_or_default()),
                self.uuid.clone(),
            ),
        }
    }

    /// The answer when the holder closed the key dialog.
    pub fn cancelled(&self) -> Value {
        match self.form {
            Form::Basics => json!({ "status": true, "body": {} }),
            Form::CommonUtils => common_failure("action.canceled", self.uuid.clone()),
        }
    }
}

fn basics_failure(code: &str, message: &str) -> Value {
    json!({ "status": false, "code": code, "message": message, "details": message })
}

fn common_ok(response: Value, uuid: Option<Value>) -> Value {
    let mut answer = json!({ "code": "200", "message": "", "responseObject": response });
    if let Some(uuid) = uuid {
        answer["uuid"] = uuid;
    }
    answer
}

fn common_failure(message: &str, uuid: Option<Value>) -> Value {
    let mut answer = json!({ "code": "500", "message": message });
    if let Some(uuid) = uuid {
        answer["uuid"] = uuid;
    }
    answer
}

fn key_info(key: &Key) -> Value {
    let c = &key.certificate;
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::engine::general_purpose::STANDARD.encode(key.file.certificate())
    );
    json!({
        "alias": c.sha256_fingerprint,
        "keyId": c.sha256_fingerprint,
        "algorithm": c.public_key_algorithm,
        "subjectCn": c.common_name.clone().unwrap_or_default(),
        "subjectDn": c.subject,
        "issuerDn": c.issuer,
        "serialNumber": c.serial,
        "certNotBefore": c.not_before.to_string(),
        "certNotAfter": c.not_after.to_string(),
        "pem": pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuelik_trust::{DemoCa, KeyAlgorithm, OfficerRequest, TrustStore, Validity};

    const IIN: &str = "850314300015";

    fn setup(usages: &[&str]) -> (DemoCa, Key, Timestamp) {
        let ca = DemoCa::generate("protocol test CA").unwrap();
        let now = Timestamp::now();
        let creds = ca
            .issue(&OfficerRequest {
                common_name: "Test Officer".into(),
                organizational_unit: None,
                algorithm: KeyAlgorithm::EcdsaP256,
                validity: Validity::days_from(now, 30).unwrap(),
                digital_signature: true,
                iin: Some(IIN.into()),
                bin: None,
                extended_key_usages: usages.iter().map(|s| s.to_string()).collect(),
            })
            .unwrap();
        let p12 = kuelik_trust::pkcs12::write(
            &creds.key_pem,
            &[&creds.cert_der, ca.cert_der()],
            "officer",
            "pw",
        )
        .unwrap();
        let key = Key::new(kuelik_trust::pkcs12::read(&p12, "pw").unwrap()).unwrap();
        (ca, key, now)
    }

    const BOTH: Modules = Modules { basics: true };

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn verify(ca: &DemoCa, cms_b64: &str, document: &[u8], now: Timestamp) -> CertificateInfo {
        let trust = TrustStore::new(ca.cert_pem(), Default::default()).unwrap();
        let cms = base64::engine::general_purpose::STANDARD
            .decode(cms_b64)
            .unwrap();
        kuelik_trust::cms::verify_detached(&cms, document, &trust, now)
            .unwrap()
            .signer
    }

    #[test]
    fn a_basics_sign_request_is_answered_with_a_detached_cms_that_verifies() {
        let (ca, key, now) = setup(&[EKU_SIGNING]);
        let document = "{\"a\":\"қазақ\"}".as_bytes();
        let request = json!({
            "module": MODULE_BASICS, "method": "sign",
            "args": { "format": "cms", "data": b64(document),
                      "signingParams": { "decode": "true", "encapsulate": false },
                      "signerParams": { "extKeyUsageOids": [EKU_SIGNING], "iin": IIN } }
        });
        let Handling::Consent(signing) = handle(&request.to_string(), &key, BOTH) else {
            panic!("a fitting request asks the holder")
        };
        let answer = signing.signed(&key, now);
        assert_eq!(answer["status"], true);
        let cms = answer["body"]["result"][0].as_str().unwrap();
        let signer = verify(&ca, cms, document, now);
        assert_eq!(signer.holder.iin.as_deref(), Some(IIN));
        // A changed document does not verify against that signature.
        let trust = TrustStore::new(ca.cert_pem(), Default::default()).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(cms)
            .unwrap();
        let err =
            kuelik_trust::cms::verify_detached(&raw, b"{\"a\":\"b\"}", &trust, now).unwrap_err();
        assert_eq!(err.code(), "digest_mismatch");
    }

    #[test]
    fn a_common_utils_request_is_answered_in_its_own_form() {
        let (ca, key, now) = setup(&[EKU_SIGNING]);
        let request = json!({
            "module": MODULE_COMMON_UTILS, "method": "createCMSSignatureFromBase64",
            "args": ["PKCS12", "SIGNATURE", b64(b"doc"), false], "uuid": "u-1"
        });
        let Handling::Consent(signing) = handle(&request.to_string(), &key, BOTH) else {
            panic!("asks the holder")
        };
        let answer = signing.signed(&key, now);
        assert_eq!(answer["code"], "200");
        assert_eq!(answer["uuid"], "u-1");
        verify(&ca, answer["responseObject"].as_str().unwrap(), b"doc", now);
        assert_eq!(
            signing.cancelled(),
            json!({ "code": "500", "message": "action.canceled", "uuid": "u-1" })
        );
    }

    #[test]
    fn cancelling_a_basics_request_answers_an_empty_body() {
        let (_, key, _) = setup(&[EKU_SIGNING]);
        let request = json!({ "module": MODULE_BASICS, "method": "sign",
            "args": { "format": "cms", "data": b64(b"x") } });
        let Handling::Consent(signing) = handle(&request.to_string(), &key, BOTH) else {
            panic!("asks the holder")
        };
        assert_eq!(signing.cancelled(), json!({ "status": true, "body": {} }));
    }

    #[test]
    fn without_the_basics_module_a_basics_request_is_module_not_found() {
        let (_, key, _) = setup(&[EKU_SIGNING]);
        let request = json!({ "module": MODULE_BASICS, "method": "sign",
            "args": { "format": "cms", "data": b64(b"x") } });
        let answer = handle(&request.to_string(), &key, Modules { basics: false });
        assert_eq!(
            answer,
            Handling::Answer(json!({ "success": false, "errorCode": "MODULE_NOT_FOUND" }))
        );
    }

    #[test]
    fn requests_the_key_does_not_fit_or_cannot_be_done_fail_without_asking() {
        let (_, key, _) = setup(&[EKU_AUTHENTICATION]);
        let cases = [
            json!({ "module": MODULE_BASICS, "method": "sign",
                "args": { "format": "cms", "data": b64(b"x"),
                          "signerParams": { "extKeyUsageOids": [EKU_SIGNING] } } }),
            json!({ "module": MODULE_BASICS, "method": "sign",
                "args": { "format": "cms", "data": b64(b"x"),
                          "signerParams": { "iin": "900101400018" } } }),
            json!({ "module": MODULE_BASICS, "method": "sign",
                "args": { "format": "xml", "data": "<a/>" } }),
            json!({ "module": MODULE_BASICS, "method": "sign",
                "args": { "format": "cms", "data": "%%%" } }),
            json!({ "module": MODULE_BASICS, "method": "sign",
                "args": { "format": "cms", "data": b64(b"x"),
                          "signingParams": { "encapsulate": true } } }),
            json!({ "module": MODULE_COMMON_UTILS, "method": "createCMSSignatureFromBase64",
                "args": ["PKCS12", "SIGNATURE", b64(b"x"), false] }),
            json!({ "module": MODULE_COMMON_UTILS, "method": "createCMSSignatureFromBase64",
                "args": ["PKCS12", "AUTHENTICATION", b64(b"x"), true] }),
        ];
        for request in cases {
            match handle(&request.to_string(), &key, BOTH) {
                Handling::Answer(answer) => assert!(
                    answer["status"] == false || answer["code"] == "500",
                    "{request} → {answer}"
                ),
                Handling::Consent(_) => panic!("{request} should fail without asking"),
            }
        }
        assert!(matches!(
            handle("not json", &key, BOTH),
            Handling::Answer(a) if a["code"] == "500"
        ));
    }
}
