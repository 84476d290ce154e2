//! The signature algorithms the service accepts, as closed enums.
//!
//! Why enums and not a trait object: the set of algorithms is a policy decision (what the
//! production centre trusts), and an exhaustive `match` makes every new one — Kazakhstan's
//! national CA also issues GOST 34.310 / GOST R 34.10-2012 keys — a compile error at each
//! place that must decide about it: key parsing ([`PublicKey::from_spki`]), the CMS
//! signature identifier ([`SignatureAlgorithm::from_identifier`]), verification
//! ([`PublicKey::verify`]) and, for our own keys, signing ([`PrivateKey::sign`]). Adding
//! GOST means one variant in each enum and a GOST crate behind those four functions.

use der::asn1::ObjectIdentifier;
use der::{Any, Decode, Encode, Tagged};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::signature::SignatureEncoding;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::error::TrustError;

pub(crate) mod oid {
    use der::asn1::ObjectIdentifier;

    pub use const_oid::db::rfc5280::{
        ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_CERTIFICATE_POLICIES,
        ID_CE_CRL_DISTRIBUTION_POINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
        ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_PE_AUTHORITY_INFO_ACCESS,
    };
    pub use const_oid::db::rfc5911::{
        ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
    };
    pub use const_oid::db::rfc5912::{
        ECDSA_WITH_SHA_256, ID_EC_PUBLIC_KEY, ID_SHA_256, RSA_ENCRYPTION, SECP_256_R_1,
        SHA_256_WITH_RSA_ENCRYPTION,
    };
    /// commonName (RFC 4519).
    pub const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    /// Kazakhstan's GOST 34.310-2004 public key (national CA), named in refusals only.
    pub const KZ_GOST_34_310: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.398.3.10.1.1.1.1");
    /// GOST R 34.10-2012 256-bit public key, named in refusals only.
    pub const GOST_R_34_10_2012_256: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.1");
    /// GOST R 34.10-2012 512-bit public key, named in refusals only.
    pub const GOST_R_34_10_2012_512: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.2");
}

/// Smallest RSA modulus accepted: NIST and the national CA retired shorter keys.
pub const MIN_RSA_BITS: usize = 2048;

/// Key types [`crate::pki::DemoCa`] and [`PrivateKey::generate`] can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (secp256r1), signatures with SHA-256.
    EcdsaP256,
    /// RSA with a 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::Rsa2048 => "rsa-2048",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ecdsa-p256" | "ecdsa" | "p256" | "ec" => Some(KeyAlgorithm::EcdsaP256),
            "rsa-2048" | "rsa" | "rsa2048" => Some(KeyAlgorithm::Rsa2048),
            _ => None,
        }
    }
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Message digests for CMS `digestAlgorithm` and the message-digest attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
}

impl DigestAlgorithm {
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha256 => oid::ID_SHA_256,
        }
    }

    pub fn from_identifier(aid: &AlgorithmIdentifierOwned) -> Result<Self, TrustError> {
        // RFC 5754: SHA-2 parameters are absent, but NULL is tolerated on input.
        let params_ok = match &aid.parameters {
            None => true,
            Some(any) => any.tag() == der::Tag::Null,
        };
        if aid.oid == oid::ID_SHA_256 && params_ok {
            Ok(DigestAlgorithm::Sha256)
        } else {
            Err(TrustError::UnsupportedAlgorithm(format!(
                "digest algorithm {}",
                aid.oid
            )))
        }
    }

    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

/// A signature algorithm: key type and digest together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA P-256 with SHA-256; the signature value is the DER `Ecdsa-Sig-Value`.
    EcdsaP256Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1v15Sha256,
}

impl SignatureAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            SignatureAlgorithm::RsaPkcs1v15Sha256 => "rsa-pkcs1v15-sha256",
        }
    }

    pub fn digest(self) -> DigestAlgorithm {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::RsaPkcs1v15Sha256 => {
                DigestAlgorithm::Sha256
            }
        }
    }

    /// The identifier we write: `ecdsa-with-SHA256` without parameters (RFC 5758),
    /// `sha256WithRSAEncryption` with NULL parameters (RFC 4055).
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA_256,
                parameters: None,
            },
            SignatureAlgorithm::RsaPkcs1v15Sha256 => AlgorithmIdentifierOwned {
                oid: oid::SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
        }
    }

    /// The algorithm a certificate or SignerInfo names, checked against the key that must
    /// verify it. In a CMS SignerInfo, `rsaEncryption` with the separate SHA-256
    /// `digestAlgorithm` is what OpenSSL and many national-CA tools write (RFC 3370 §3.2),
    /// so it is accepted as RSA PKCS#1 v1.5 with the digest named elsewhere.
    pub fn from_identifier(
        aid: &AlgorithmIdentifierOwned,
        key: &PublicKey,
        digest: DigestAlgorithm,
    ) -> Result<Self, TrustError> {
        let alg = if aid.oid == oid::ECDSA_WITH_SHA_256 {
            SignatureAlgorithm::EcdsaP256Sha256
        } else if aid.oid == oid::SHA_256_WITH_RSA_ENCRYPTION
            || (aid.oid == oid::RSA_ENCRYPTION && digest == DigestAlgorithm::Sha256)
        {
            SignatureAlgorithm::RsaPkcs1v15Sha256
        } else {
            return Err(TrustError::UnsupportedAlgorithm(format!(
                "signature algorithm {}",
                describe_oid(&aid.oid)
            )));
        };
        if alg.digest() != digest {
            return Err(TrustError::UnsupportedAlgorithm(format!(
                "{} with another digest",
                alg.as_str()
            )));
        }
        let matches_key = matches!(
            (alg, key),
            (SignatureAlgorithm::EcdsaP256Sha256, PublicKey::EcdsaP256(_))
                | (SignatureAlgorithm::RsaPkcs1v15Sha256, PublicKey::Rsa(_))
        );
        if !matches_key {
            return Err(TrustError::UnsupportedAlgorithm(format!(
                "{} named for a {} key",
                alg.as_str(),
                key.algorithm_name()
            )));
        }
        Ok(alg)
    }
}

/// A public key of a supported type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

impl PublicKey {
    /// Reads an X.509 `SubjectPublicKeyInfo`. Unknown key types (GOST included) are
    /// `unsupported_algorithm`; RSA below [`MIN_RSA_BITS`] or above 4096 bits too (the
    /// upper bound keeps a hostile certificate from making verification slow).
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, TrustError> {
        let alg = &spki.algorithm;
        let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| {
            TrustError::MalformedCertificate("public key bit string is not whole bytes".into())
        })?;
        if alg.oid == oid::ID_EC_PUBLIC_KEY {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            if curve != Some(oid::SECP_256_R_1) {
                return Err(TrustError::UnsupportedAlgorithm(match curve {
                    Some(c) => format!("elliptic curve {c}"),
                    None => "elliptic curve without a named curve".into(),
                }));
            }
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|_| TrustError::MalformedCertificate("invalid P-256 public key".into()))?;
            Ok(PublicKey::EcdsaP256(key))
        } else if alg.oid == oid::RSA_ENCRYPTION {
            let key = rsa::RsaPublicKey::from_pkcs1_der(key_bytes).map_err(|e| {
                TrustError::UnsupportedAlgorithm(format!("RSA public key not accepted: {e}"))
            })?;
            if key.n().bits() < MIN_RSA_BITS {
                return Err(TrustError::UnsupportedAlgorithm(format!(
                    "RSA key of {} bits (at least {MIN_RSA_BITS})",
                    key.n().bits()
                )));
            }
            Ok(PublicKey::Rsa(key))
        } else {
            Err(TrustError::UnsupportedAlgorithm(format!(
                "public key algorithm {}",
                describe_oid(&alg.oid)
            )))
        }
    }

    /// `ecdsa-p256`, `rsa-2048`, `rsa-3072`, …
    pub fn algorithm_name(&self) -> String {
        match self {
            PublicKey::EcdsaP256(_) => "ecdsa-p256".into(),
            PublicKey::Rsa(key) => format!("rsa-{}", key.n().bits()),
        }
    }

    /// The algorithm this key signs with in this service.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        match self {
            PublicKey::EcdsaP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            PublicKey::Rsa(_) => SignatureAlgorithm::RsaPkcs1v15Sha256,
        }
    }

    /// Verifies `signature` over `message` (the algorithm hashes the message itself).
    pub fn verify(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), TrustError> {
        match (alg, self) {
            (SignatureAlgorithm::EcdsaP256Sha256, PublicKey::EcdsaP256(key)) => {
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| TrustError::BadSignature)?;
                key.verify(message, &sig)
                    .map_err(|_| TrustError::BadSignature)
            }
            (SignatureAlgorithm::RsaPkcs1v15Sha256, PublicKey::Rsa(key)) => {
                let sig = rsa::pkcs1v15::Signature::try_from(signature)
                    .map_err(|_| TrustError::BadSignature)?;
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
                    .verify(message, &sig)
                    .map_err(|_| TrustError::BadSignature)
            }
            (alg, key) => Err(TrustError::UnsupportedAlgorithm(format!(
                "{} with a {} key",
                alg.as_str(),
                key.algorithm_name()
            ))),
        }
    }

    /// DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, TrustError> {
        use spki::EncodePublicKey;
        let doc = match self {
            PublicKey::EcdsaP256(key) => key.to_public_key_der(),
            PublicKey::Rsa(key) => key.to_public_key_der(),
        }
        .map_err(|e| TrustError::Internal(format!("encoding a public key: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }
}

/// A private signing key. Debug output never shows the key; the key material is zeroized
/// on drop by the underlying crates.
pub enum PrivateKey {
    EcdsaP256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PrivateKey({}, <redacted>)",
            self.public_key().algorithm_name()
        )
    }
}

impl PrivateKey {
    /// A new random key from the operating system's generator.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, TrustError> {
        let mut rng = rand_core::OsRng;
        match algorithm {
            KeyAlgorithm::EcdsaP256 => Ok(PrivateKey::EcdsaP256(p256::ecdsa::SigningKey::random(
                &mut rng,
            ))),
            KeyAlgorithm::Rsa2048 => rsa::RsaPrivateKey::new(&mut rng, 2048)
                .map(|k| PrivateKey::Rsa(Box::new(k)))
                .map_err(|e| TrustError::Internal(format!("RSA key generation: {e}"))),
        }
    }

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or PKCS#1
    /// (`RSA PRIVATE KEY`), as `openssl` writes them. Encrypted PKCS#8 is refused: the
    /// service seals keys itself ([`crate::keystore`]).
    pub fn from_pem(pem: &str) -> Result<Self, TrustError> {
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| TrustError::MalformedKey(format!("not a PEM key: {e}")))?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(&der)
                .map(|k| PrivateKey::EcdsaP256(k.into()))
                .map_err(|_| TrustError::MalformedKey("not a P-256 SEC1 key".into())),
            "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map_err(|_| TrustError::MalformedKey("not a PKCS#1 RSA key".into()))
                .and_then(Self::checked_rsa),
            "ENCRYPTED PRIVATE KEY" => Err(TrustError::MalformedKey(
                "encrypted PKCS#8 keys are not accepted; decrypt it first".into(),
            )),
            other => Err(TrustError::MalformedKey(format!(
                "PEM label {other:?} is not a private key"
            ))),
        }
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, TrustError> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|_| TrustError::MalformedKey("not a PKCS#8 private key".into()))?;
        let alg = info.algorithm.oid;
        if alg == oid::ID_EC_PUBLIC_KEY {
            p256::SecretKey::from_pkcs8_der(der)
                .map(|k| PrivateKey::EcdsaP256(k.into()))
                .map_err(|_| {
                    TrustError::UnsupportedAlgorithm("EC key not on the P-256 curve".into())
                })
        } else if alg == oid::RSA_ENCRYPTION {
            rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|_| TrustError::MalformedKey("invalid PKCS#8 RSA key".into()))
                .and_then(Self::checked_rsa)
        } else {
            Err(TrustError::UnsupportedAlgorithm(format!(
                "private key algorithm {}",
                describe_oid(&alg)
            )))
        }
    }

    fn checked_rsa(key: rsa::RsaPrivateKey) -> Result<Self, TrustError> {
        if key.n().bits() < MIN_RSA_BITS {
            return Err(TrustError::UnsupportedAlgorithm(format!(
                "RSA key of {} bits (at least {MIN_RSA_BITS})",
                key.n().bits()
            )));
        }
        Ok(PrivateKey::Rsa(Box::new(key)))
    }

    /// PKCS#8 PEM (`PRIVATE KEY`), in memory that is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, TrustError> {
        match self {
            PrivateKey::EcdsaP256(key) => key.to_pkcs8_pem(LineEnding::LF),
            PrivateKey::Rsa(key) => key.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| TrustError::Internal(format!("encoding a private key: {e}")))
    }

    /// PKCS#8 DER, in memory that is wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, TrustError> {
        match self {
            PrivateKey::EcdsaP256(key) => key.to_pkcs8_der(),
            PrivateKey::Rsa(key) => key.to_pkcs8_der(),
        }
        .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
        .map_err(|e| TrustError::Internal(format!("encoding a private key: {e}")))
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::EcdsaP256(key) => PublicKey::EcdsaP256(*key.verifying_key()),
            PrivateKey::Rsa(key) => PublicKey::Rsa(key.to_public_key()),
        }
    }

    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        match self {
            PrivateKey::EcdsaP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            PrivateKey::Rsa(_) => SignatureAlgorithm::RsaPkcs1v15Sha256,
        }
    }

    /// Signs `message` (hashed by the algorithm): ECDSA as DER `Ecdsa-Sig-Value` (what
    /// X.509 and CMS carry), RSA as the PKCS#1 v1.5 signature block.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TrustError> {
        match self {
            PrivateKey::EcdsaP256(key) => {
                let sig: p256::ecdsa::Signature = key
                    .try_sign(message)
                    .map_err(|e| TrustError::Internal(format!("ECDSA signing: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            PrivateKey::Rsa(key) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**key).clone());
                let sig = signer
                    .try_sign(message)
                    .map_err(|e| TrustError::Internal(format!("RSA signing: {e}")))?;
                Ok(sig.to_vec())
            }
        }
    }

    /// The raw public key as X.509 carries it inside the bit string: the uncompressed SEC1
    /// point for P-256, the PKCS#1 `RSAPublicKey` for RSA.
    pub(crate) fn raw_public_key(&self) -> Result<Vec<u8>, TrustError> {
        match self {
            PrivateKey::EcdsaP256(key) => Ok(key
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec()),
            PrivateKey::Rsa(key) => key
                .to_public_key()
                .to_pkcs1_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| TrustError::Internal(format!("encoding an RSA key: {e}"))),
        }
    }
}

/// An OID with the name of the algorithm families we refuse knowingly.
pub(crate) fn describe_oid(o: &ObjectIdentifier) -> String {
    if *o == oid::KZ_GOST_34_310 {
        format!("{o} (GOST 34.310-2004, not enabled in this build)")
    } else if *o == oid::GOST_R_34_10_2012_256 || *o == oid::GOST_R_34_10_2012_512 {
        format!("{o} (GOST R 34.10-2012, not enabled in this build)")
    } else {
        o.to_string()
    }
}

/// Encodes a value that cannot fail to encode in practice (small, well-formed), turning the
/// theoretical failure into an internal error instead of a panic.
pub(crate) fn to_der<T: Encode>(value: &T, what: &str) -> Result<Vec<u8>, TrustError> {
    value
        .to_der()
        .map_err(|e| TrustError::Internal(format!("encoding {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_key_round_trips_through_pkcs8_and_signs() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let sig = again.sign(b"hello").unwrap();
        let public = key.public_key();
        public
            .verify(SignatureAlgorithm::EcdsaP256Sha256, b"hello", &sig)
            .unwrap();
        assert_eq!(
            public.verify(SignatureAlgorithm::EcdsaP256Sha256, b"hellO", &sig),
            Err(TrustError::BadSignature)
        );
        // A key of the wrong type for the algorithm is a policy refusal, not a crash.
        assert_eq!(
            public
                .verify(SignatureAlgorithm::RsaPkcs1v15Sha256, b"hello", &sig)
                .unwrap_err()
                .code(),
            "unsupported_algorithm"
        );
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
        let debug = format!("{key:?}");
        assert!(debug.contains("redacted"));
        assert!(!debug.contains(&body));
    }

    #[test]
    fn refuses_non_keys_and_encrypted_keys_without_quoting_them() {
        for pem in [
            "",
            "garbage",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let err = PrivateKey::from_pem(pem).unwrap_err();
            assert_eq!(err.code(), "malformed_key", "{pem:?}: {err}");
            assert!(!err.to_string().contains("AAAA"));
        }
    }

    #[test]
    fn gost_keys_are_named_in_the_refusal() {
        let text = describe_oid(&oid::GOST_R_34_10_2012_256);
        assert!(text.contains("GOST R 34.10-2012"));
    }
}
