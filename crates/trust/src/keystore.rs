//! Officer signing keys sealed under a PIN, for remote signing (like a cloud e-signature).
//!
//! The key-encryption key is derived from the PIN with argon2id and a random salt; the
//! PKCS#8 key is encrypted with XChaCha20-Poly1305 under a random 192-bit nonce (random
//! nonces of that size never collide in practice). The KDF parameters are stored with the
//! sealed key, so they can be raised later without breaking old records, and they are bound
//! as associated data, so changing them makes decryption fail.
//!
//! A PIN is a small secret: a stolen sealed record can be attacked offline at the cost of one
//! argon2id evaluation per guess. The server must therefore keep sealed keys where staff
//! cannot read them, and limit online PIN attempts.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::algorithm::PrivateKey;
use crate::error::TrustError;

pub const SEALED_KEY_FORMAT: &str = "kuelik-sealed-key-v1";
const KDF_ALGORITHM: &str = "argon2id-v19";
const CIPHER: &str = "xchacha20poly1305";
/// Shortest PIN accepted when sealing.
pub const MIN_PIN_CHARS: usize = 6;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl KdfParams {
    /// OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane): ~20–50 ms per unseal.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Bounds on what an unseal will run: a record cannot make the server allocate a GiB,
    /// nor be weakened to a trivial cost.
    fn check(self) -> Result<(), TrustError> {
        let ok = (8 * 1024..=256 * 1024).contains(&self.memory_kib)
            && (1..=16).contains(&self.iterations)
            && (1..=8).contains(&self.parallelism);
        if ok {
            Ok(())
        } else {
            Err(TrustError::MalformedSealedKey(format!(
                "KDF parameters out of bounds: {self:?}"
            )))
        }
    }
}

/// A private key encrypted under a PIN. Safe to store and to serialize; Debug shows the
/// parameters only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedKey {
    pub format: String,
    pub kdf: String,
    pub kdf_params: KdfParams,
    /// Base64 (standard), 16 random bytes.
    pub salt: String,
    pub cipher: String,
    /// Base64 (standard), 24 random bytes.
    pub nonce: String,
    /// Base64 (standard): the PKCS#8 PEM, encrypted, with the 16-byte tag.
    pub ciphertext: String,
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedKey")
            .field("format", &self.format)
            .field("kdf", &self.kdf)
            .field("kdf_params", &self.kdf_params)
            .field("cipher", &self.cipher)
            .field("ciphertext", &"<sealed>")
            .finish()
    }
}

/// Seals `key_pem` (any PEM [`PrivateKey::from_pem`] reads; stored as PKCS#8) under `pin`.
pub fn seal(key_pem: &str, pin: &str) -> Result<SealedKey, TrustError> {
    seal_with(key_pem, pin, KdfParams::DEFAULT)
}

/// [`seal`] with explicit argon2id costs (within the bounds an unseal accepts).
pub fn seal_with(key_pem: &str, pin: &str, params: KdfParams) -> Result<SealedKey, TrustError> {
    if pin.chars().count() < MIN_PIN_CHARS {
        return Err(TrustError::WeakPin { min: MIN_PIN_CHARS });
    }
    params.check()?;
    // Parse first: sealing garbage would only fail later, at the officer's approval.
    let pkcs8 = PrivateKey::from_pem(key_pem)?.to_pkcs8_pem()?;

    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand_core::OsRng
        .try_fill_bytes(&mut salt)
        .and_then(|()| rand_core::OsRng.try_fill_bytes(&mut nonce))
        .map_err(|e| TrustError::Internal(format!("random: {e}")))?;

    let kek = derive(pin, &salt, params)?;
    let cipher = XChaCha20Poly1305::new(kek.as_slice().into());
    let aad = associated_data(params);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: pkcs8.as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|_| TrustError::Internal("encryption failed".into()))?;
    Ok(SealedKey {
        format: SEALED_KEY_FORMAT.into(),
        kdf: KDF_ALGORITHM.into(),
        kdf_params: params,
        salt: BASE64.encode(salt),
        cipher: CIPHER.into(),
        nonce: BASE64.encode(nonce),
        ciphertext: BASE64.encode(ciphertext),
    })
}

/// The PKCS#8 PEM inside `sealed`, or [`TrustError::WrongPin`].
pub fn unseal(sealed: &SealedKey, pin: &str) -> Result<Zeroizing<String>, TrustError> {
    if sealed.format != SEALED_KEY_FORMAT || sealed.kdf != KDF_ALGORITHM || sealed.cipher != CIPHER
    {
        return Err(TrustError::MalformedSealedKey(format!(
            "unknown format {:?} / {:?} / {:?}",
            sealed.format, sealed.kdf, sealed.cipher
        )));
    }
    sealed.kdf_params.check()?;
    let decode = |field: &str, value: &str| {
        BASE64
            .decode(value)
            .map_err(|_| TrustError::MalformedSealedKey(format!("{field} is not base64")))
    };
    let salt = decode("salt", &sealed.salt)?;
    let nonce = decode("nonce", &sealed.nonce)?;
    let ciphertext = decode("ciphertext", &sealed.ciphertext)?;
    if salt.len() < 16 || nonce.len() != 24 {
        return Err(TrustError::MalformedSealedKey(
            "salt or nonce of the wrong length".into(),
        ));
    }
    let kek = derive(pin, &salt, sealed.kdf_params)?;
    let cipher = XChaCha20Poly1305::new(kek.as_slice().into());
    let aad = associated_data(sealed.kdf_params);
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| TrustError::WrongPin)?,
    );
    let text = std::str::from_utf8(&plain)
        .map_err(|_| TrustError::MalformedSealedKey("sealed content is not PEM".into()))?;
    Ok(Zeroizing::new(text.to_string()))
}

/// [`unseal`] and load the key, ready for [`crate::cms::sign_detached_with`].
pub fn unseal_key(sealed: &SealedKey, pin: &str) -> Result<PrivateKey, TrustError> {
    PrivateKey::from_pem(&unseal(sealed, pin)?)
}

fn derive(pin: &str, salt: &[u8], params: KdfParams) -> Result<Zeroizing<[u8; 32]>, TrustError> {
    let argon_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| TrustError::MalformedSealedKey(format!("KDF parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(pin.as_bytes(), salt, key.as_mut_slice())
        .map_err(|e| TrustError::MalformedSealedKey(format!("KDF: {e}")))?;
    Ok(key)
}

fn associated_data(params: KdfParams) -> Vec<u8> {
    format!(
        "{SEALED_KEY_FORMAT}|{KDF_ALGORITHM}|m={}|t={}|p={}|{CIPHER}",
        params.memory_kib, params.iterations, params.parallelism
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::KeyAlgorithm;

    /// The cheapest parameters an unseal accepts: the unit tests check logic, not cost.
    const FAST: KdfParams = KdfParams {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    fn key_pem() -> Zeroizing<String> {
        PrivateKey::generate(KeyAlgorithm::EcdsaP256)
            .unwrap()
            .to_pkcs8_pem()
            .unwrap()
    }

    #[test]
    fn altered_parameters_or_ciphertext_do_not_open() {
        let pem = key_pem();
        let sealed = seal_with(&pem, "482913", FAST).unwrap();
        assert_eq!(*unseal(&sealed, "482913").unwrap(), *pem);

        let mut cheaper = sealed.clone();
        cheaper.kdf_params.iterations = 2;
        assert_eq!(
            unseal(&cheaper, "482913").unwrap_err(),
            TrustError::WrongPin
        );

        let mut flipped = sealed.clone();
        let mut bytes = BASE64.decode(&flipped.ciphertext).unwrap();
        bytes[3] ^= 1;
        flipped.ciphertext = BASE64.encode(bytes);
        assert_eq!(
            unseal(&flipped, "482913").unwrap_err(),
            TrustError::WrongPin
        );

        let mut huge = sealed.clone();
        huge.kdf_params.memory_kib = 4 * 1024 * 1024;
        assert_eq!(
            unseal(&huge, "482913").unwrap_err().code(),
            "malformed_sealed_key"
        );
        let mut other = sealed;
        other.cipher = "aes-128-ecb".into();
        assert_eq!(
            unseal(&other, "482913").unwrap_err().code(),
            "malformed_sealed_key"
        );
    }

    #[test]
    fn short_pins_and_non_keys_are_refused_when_sealing() {
        let pem = key_pem();
        assert_eq!(
            seal_with(&pem, "12345", FAST).unwrap_err(),
            TrustError::WeakPin { min: 6 }
        );
        assert_eq!(
            seal_with("not a key", "123456", FAST).unwrap_err().code(),
            "malformed_key"
        );
    }

    #[test]
    fn serialized_and_debug_forms_hold_no_secret() {
        let pem = key_pem();
        let sealed = seal_with(&pem, "482913", FAST).unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        let debug = format!("{sealed:?}");
        let body: String = pem.lines().nth(1).unwrap().chars().take(16).collect();
        for text in [&json, &debug] {
            assert!(!text.contains("482913"));
            assert!(!text.contains(&body));
            assert!(!text.contains("PRIVATE KEY"));
        }
        assert!(!debug.contains(&sealed.ciphertext));
        let back: SealedKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sealed);
    }
}
