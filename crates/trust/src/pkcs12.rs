//! PKCS#12 key files (`.p12`): how НУЦ РК hands a person their key and certificate, and what
//! NCALayer opens when they sign. The demo writes its officers' and citizens' keys this way
//! (so the test NCALayer signs with the same kind of file a real one would), and reads them
//! back to sign.
//!
//! Written as OpenSSL 3 and current JDKs write them: PBES2 (PBKDF2-HMAC-SHA-256,
//! AES-256-CBC) with an HMAC-SHA-256 MAC — `openssl pkcs12 -in FILE` reads them.

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKeyChain};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::algorithm::PrivateKey;
use crate::error::TrustError;

/// A private key with its certificate chain, the holder's certificate first.
pub struct KeyFile {
    pub key: PrivateKey,
    /// DER certificates: the holder's, then its issuers.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("key", &"<redacted>")
            .field("chain", &self.chain.len())
            .finish()
    }
}

impl KeyFile {
    /// The holder's certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        self.chain.first().map(Vec::as_slice).unwrap_or_default()
    }
}

/// A PKCS#12 file holding `key_pem` (PKCS#8 PEM) and `chain` (DER, the holder's certificate
/// first) under `password`, the entry named `alias`.
pub fn write(
    key_pem: &str,
    chain: &[&[u8]],
    alias: &str,
    password: &str,
) -> Result<Vec<u8>, TrustError> {
    let key = PrivateKey::from_pem(key_pem)?;
    let key_der = key.to_pkcs8_der()?;
    let first = chain
        .first()
        .ok_or_else(|| TrustError::MalformedCertificate("no certificate for the key".into()))?;
    let holder = crate::pki::ParsedCertificate::parse(first)?;
    if holder.key.clone()? != key.public_key() {
        return Err(TrustError::KeyCertificateMismatch);
    }
    let certificates = chain
        .iter()
        .map(|der| {
            Certificate::from_der(der)
                .map_err(|e| TrustError::MalformedCertificate(format!("PKCS#12: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Readers pair the key with its certificate by this id: the certificate's digest.
    let local_key_id = Sha256::digest(first);
    let mut store = KeyStore::new();
    store.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            key_der.as_slice(),
            local_key_id.as_slice(),
            certificates,
        )),
    );
    store
        .writer(password)
        .write()
        .map_err(|e| TrustError::Internal(format!("PKCS#12: {e}")))
}

/// The key and chain in a PKCS#12 file; `wrong_pin` when `password` does not open it.
pub fn read(bytes: &[u8], password: &str) -> Result<KeyFile, TrustError> {
    let store = KeyStore::from_pkcs12(bytes, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => TrustError::WrongPin,
        other => TrustError::MalformedKey(format!("PKCS#12: {other}")),
    })?;
    let (_, entry) = store
        .private_key_chain()
        .ok_or_else(|| TrustError::MalformedKey("the PKCS#12 file holds no private key".into()))?;
    // The key is PKCS#8 DER: one parser for every key the service uses.
    let der = Zeroizing::new(entry.key().to_vec());
    let key = PrivateKey::from_pkcs8_der(&der)?;
    let chain: Vec<Vec<u8>> = entry.chain().iter().map(|c| c.as_der().to_vec()).collect();
    if chain.is_empty() {
        return Err(TrustError::MalformedCertificate(
            "the PKCS#12 file holds no certificate".into(),
        ));
    }
    let holder = crate::pki::ParsedCertificate::parse(&chain[0])?;
    if holder.key.clone()? != key.public_key() {
        return Err(TrustError::KeyCertificateMismatch);
    }
    Ok(KeyFile { key, chain })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DemoCa, KeyAlgorithm, Validity};

    fn credentials(algorithm: KeyAlgorithm) -> (DemoCa, crate::OfficerCredentials) {
        let ca = DemoCa::generate("pkcs12 test CA").unwrap();
        let now = jiff::Timestamp::now();
        let creds = ca
            .issue_officer("holder", algorithm, Validity::days_from(now, 30).unwrap())
            .unwrap();
        (ca, creds)
    }

    #[test]
    fn a_written_file_reads_back_to_the_same_key_and_chain() {
        for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let (ca, creds) = credentials(algorithm);
            let bytes = write(
                &creds.key_pem,
                &[&creds.cert_der, ca.cert_der()],
                "holder",
                "secret-1",
            )
            .unwrap();
            let file = read(&bytes, "secret-1").unwrap();
            assert_eq!(file.certificate(), creds.cert_der.as_slice());
            assert_eq!(file.chain[1], ca.cert_der());
            let original = PrivateKey::from_pem(&creds.key_pem).unwrap();
            assert!(file.key.public_key() == original.public_key());
        }
    }

    #[test]
    fn a_wrong_password_is_a_wrong_pin_and_garbage_is_malformed() {
        let (ca, creds) = credentials(KeyAlgorithm::EcdsaP256);
        let bytes = write(
            &creds.key_pem,
            &[&creds.cert_der, ca.cert_der()],
            "h",
            "right",
        )
        .unwrap();
        assert!(matches!(read(&bytes, "wrong"), Err(TrustError::WrongPin)));
        assert_eq!(
            read(b"not a pkcs12", "x").unwrap_err().code(),
            "malformed_key"
        );
        assert_eq!(
            read(&bytes[..bytes.len() / 2], "right").unwrap_err().code(),
            "malformed_key"
        );
    }

    #[test]
    fn a_key_is_not_written_with_another_holders_certificate() {
        let (ca, creds) = credentials(KeyAlgorithm::EcdsaP256);
        let (_, other) = credentials(KeyAlgorithm::EcdsaP256);
        let err = write(&creds.key_pem, &[&other.cert_der, ca.cert_der()], "h", "p").unwrap_err();
        assert!(matches!(err, TrustError::KeyCertificateMismatch));
    }
}
