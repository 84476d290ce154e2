//! Where the bytes of photos and signature images live, and their encryption at rest.
//!
//! The `blobs` table always has the row (digest, type, size, time): the database stays the
//! one index of what exists. The bytes are either in the row (the default) or in an object
//! store (`object_store`: S3-compatible storage, or a local folder) under `blobs/<digest>`,
//! with the row's column holding only a marker. With a key configured the bytes are
//! encrypted (XChaCha20-Poly1305, a random nonce per image, the digest as associated data
//! so one image cannot be passed off as another) wherever they are kept.
//!
//! Stored forms are told apart by a prefix that no accepted upload can start with (uploads
//! are JPEG or PNG by their magic bytes), so existing plain rows keep working after a key or
//! an object store is configured:
//!
//! ```text
//! <image bytes>                          plain, in the row
//! "KLKE1" nonce(24) ciphertext+tag       encrypted (in the row, or as the object)
//! "KLKO1"                                the row's marker: the bytes are in the object store
//! ```

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use crate::{StoreError, StoreResult};

const ENCRYPTED: &[u8] = b"KLKE1";
const IN_OBJECT_STORE: &[u8] = b"KLKO1";
const NONCE_BYTES: usize = 24;

/// The key encrypting images at rest (32 bytes). Debug never shows it.
#[derive(Clone)]
pub struct BlobKey([u8; 32]);

impl BlobKey {
    pub fn new(bytes: [u8; 32]) -> BlobKey {
        BlobKey(bytes)
    }
}

impl std::fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobKey(…)")
    }
}

/// Where image bytes go and how they are sealed. The default keeps them, unencrypted, in
/// the database row.
#[derive(Clone, Default)]
pub struct BlobVault {
    objects: Option<Arc<dyn ObjectStore>>,
    key: Option<BlobKey>,
}

impl std::fmt::Debug for BlobVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobVault")
            .field("objects", &self.objects.as_ref().map(|o| o.to_string()))
            .field("encrypted", &self.key.is_some())
            .finish()
    }
}

fn object_error(e: object_store::Error) -> StoreError {
    StoreError::Database(format!("object store: {e}"))
}

impl BlobVault {
    pub fn new(objects: Option<Arc<dyn ObjectStore>>, key: Option<BlobKey>) -> BlobVault {
        BlobVault { objects, key }
    }

    /// A vault from configuration: `url` is `s3://BUCKET[/PREFIX]` (credentials from the
    /// standard `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` environment; `endpoint` for an
    /// S3-compatible server, plain `http://` allowed there) or `file:///FOLDER`; `None`
    /// keeps the bytes in the database.
    pub fn from_config(
        url: Option<&str>,
        endpoint: Option<&str>,
        region: Option<&str>,
        key: Option<BlobKey>,
    ) -> Result<BlobVault, String> {
        let objects: Option<Arc<dyn ObjectStore>> = match url {
            None => None,
            Some(url) => Some(if let Some(rest) = url.strip_prefix("s3://") {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(format!("{url}: no bucket"));
                }
                let mut builder =
                    object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let Some(region) = region {
                    builder = builder.with_region(region);
                }
                let s3 = builder.build().map_err(|e| format!("{url}: {e}"))?;
                let prefix = prefix.trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
                }
            } else if let Some(folder) = url.strip_prefix("file://") {
                std::fs::create_dir_all(folder).map_err(|e| format!("{folder}: {e}"))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(folder)
                        .map_err(|e| format!("{url}: {e}"))?,
                )
            } else {
                return Err(format!("{url}: use s3://BUCKET[/PREFIX] or file:///FOLDER"));
            }),
        };
        Ok(BlobVault::new(objects, key))
    }

    /// Where the bytes go, for logs and `/readyz` (no credentials).
    pub fn describe(&self) -> String {
        let place = match &self.objects {
            Some(o) => format!("object store {o}"),
            None => "database".into(),
        };
        format!(
            "{place}, {}",
            if self.key.is_some() {
                "encrypted"
            } else {
                "not encrypted"
            }
        )
    }

    fn path(digest: &str) -> ObjectPath {
        ObjectPath::from(format!("blobs/{digest}"))
    }

    fn seal(&self, digest: &str, bytes: &[u8]) -> StoreResult<Vec<u8>> {
        let Some(BlobKey(key)) = &self.key else {
            return Ok(bytes.to_vec());
        };
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Database(format!("no OS randomness: {e}")))?;
        let sealed = XChaCha20Poly1305::new(key.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: bytes,
                    aad: digest.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Database("image encryption failed".into()))?;
        let mut out = Vec::with_capacity(ENCRYPTED.len() + NONCE_BYTES + sealed.len());
        out.extend_from_slice(ENCRYPTED);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unseal(&self, digest: &str, stored: Vec<u8>) -> StoreResult<Vec<u8>> {
        let Some(rest) = stored.strip_prefix(ENCRYPTED) else {
            return Ok(stored);
        };
        let Some(BlobKey(key)) = &self.key else {
            return Err(StoreError::Corrupt(format!(
                "image {digest} is encrypted and no image key is configured"
            )));
        };
        if rest.len() < NONCE_BYTES {
            return Err(StoreError::Corrupt(format!("image {digest}: truncated")));
        }
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        XChaCha20Poly1305::new(key.into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: digest.as_bytes(),
                },
            )
            .map_err(|_| {
                StoreError::Corrupt(format!(
                    "image {digest} does not decrypt (wrong key, or altered)"
                ))
            })
    }

    /// What goes in the row's `bytes` column for an image about to be committed; with an
    /// object store the (sealed) bytes are uploaded first. An upload whose commit then
    /// fails leaves an unreferenced object under its digest: harmless, and overwritten by
    /// the same image's next upload.
    pub(crate) async fn put(&self, digest: &str, bytes: &[u8]) -> StoreResult<Vec<u8>> {
        let sealed = self.seal(digest, bytes)?;
        match &self.objects {
            None => Ok(sealed),
            Some(objects) => {
                objects
                    .put(&Self::path(digest), PutPayload::from(sealed))
                    .await
                    .map_err(object_error)?;
                Ok(IN_OBJECT_STORE.to_vec())
            }
        }
    }

    /// The image bytes of a row's `bytes` column.
    pub(crate) async fn get(&self, digest: &str, column: Vec<u8>) -> StoreResult<Vec<u8>> {
        let stored = if column == IN_OBJECT_STORE {
            let Some(objects) = &self.objects else {
                return Err(StoreError::Corrupt(format!(
                    "image {digest} is in an object store and none is configured"
                )));
            };
            let got = objects
                .get(&Self::path(digest))
                .await
                .map_err(object_error)?;
            got.bytes().await.map_err(object_error)?.to_vec()
        } else {
            column
        };
        self.unseal(digest, stored)
    }

    /// Removes a purged image's object (its row is gone already); a failure is logged by
    /// the caller and retried by nothing: the bytes are unreachable without the row, and
    /// encrypted when a key is set.
    pub(crate) async fn delete(&self, digest: &str) -> StoreResult<()> {
        match &self.objects {
            None => Ok(()),
            Some(objects) => match objects.delete(&Self::path(digest)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(object_error(e)),
            },
        }
    }

    /// Removes the objects of purged images, after their rows were deleted. A failure is
    /// only a leftover: the bytes are unreachable without their row (and sealed when a key
    /// is set); a later purge of the same digest, or the bucket's lifecycle rule, removes it.
    pub(crate) async fn forget(&self, digests: &[String]) {
        for digest in digests {
            let _ = self.delete(digest).await;
        }
    }

    /// Whether the object store answers (for `/readyz`).
    pub async fn check(&self) -> StoreResult<()> {
        if let Some(objects) = &self.objects {
            match objects.head(&ObjectPath::from("blobs/.kuelik-probe")).await {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(object_error(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4];

    fn key(n: u8) -> Option<BlobKey> {
        Some(BlobKey::new([n; 32]))
    }

    #[tokio::test]
    async fn every_place_and_key_round_trips_and_plain_rows_still_read() {
        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for vault in [
            BlobVault::default(),
            BlobVault::new(None, key(1)),
            BlobVault::new(Some(memory.clone()), None),
            BlobVault::new(Some(memory.clone()), key(1)),
        ] {
            let column = vault.put("d1", JPEG).await.unwrap();
            assert_eq!(
                vault.get("d1", column.clone()).await.unwrap(),
                JPEG,
                "{vault:?}"
            );
            if vault.key.is_some() && vault.objects.is_none() {
                assert!(column.starts_with(ENCRYPTED));
                assert!(!column.windows(JPEG.len()).any(|w| w == JPEG));
            }
            // A row written before the vault was configured reads as it is.
            assert_eq!(vault.get("d0", JPEG.to_vec()).await.unwrap(), JPEG);
        }
    }

    #[tokio::test]
    async fn encrypted_images_are_unreadable_without_the_key_or_under_another_digest() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let vault = BlobVault::new(Some(objects.clone()), key(1));
        let column = vault.put("d1", JPEG).await.unwrap();
        assert_eq!(column, IN_OBJECT_STORE);
        let raw = objects
            .get(&BlobVault::path("d1"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(raw.starts_with(ENCRYPTED), "the object is sealed");
        let wrong_key = BlobVault::new(Some(objects.clone()), key(2));
        assert!(matches!(
            wrong_key.get("d1", column.clone()).await,
            Err(StoreError::Corrupt(_))
        ));
        let no_key = BlobVault::new(Some(objects.clone()), None);
        assert!(matches!(
            no_key.get("d1", column.clone()).await,
            Err(StoreError::Corrupt(_))
        ));
        // The same ciphertext presented as another image fails its authentication.
        let in_row = BlobVault::new(None, key(1));
        let sealed = in_row.put("d1", JPEG).await.unwrap();
        assert!(in_row.get("d2", sealed).await.is_err());
        vault.delete("d1").await.unwrap();
        vault.delete("d1").await.unwrap();
        assert!(vault.get("d1", column).await.is_err());
    }
}
