//! Images in a real S3-compatible server (`scripts/s3-up` starts s3s-fs, built from
//! crates.io): written sealed, read back, never in the database, deleted with their purge.
//! Runs when `KUELIK_TEST_S3_ENDPOINT` is set (`.ci/run` sets it; then an unreachable server
//! fails the run instead of skipping it); `KUELIK_TEST_S3_ROOT` is the server's folder, read
//! here to see what an intruder with disk access would see.

use kuelik_core::digest::Sha256Digest;
use kuelik_store::prelude::*;
use kuelik_store::{Blob, BlobKey, BlobVault, Changes};
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_live_sealed_in_s3_compatible_storage() {
    let Ok(endpoint) = std::env::var("KUELIK_TEST_S3_ENDPOINT") else {
        eprintln!("KUELIK_TEST_S3_ENDPOINT is not set: the S3 test was not run");
        return;
    };
    let root = std::env::var("KUELIK_TEST_S3_ROOT").expect("KUELIK_TEST_S3_ROOT with the endpoint");
    let prefix = format!("test-{}", uuid::Uuid::now_v7().simple());
    let vault = BlobVault::from_config(
        Some(&format!("s3://kuelik/{prefix}")),
        Some(&endpoint),
        Some("us-east-1"),
        Some(BlobKey::new([9; 32])),
    )
    .unwrap();
    vault
        .check()
        .await
        .unwrap_or_else(|e| panic!("the S3 server at {endpoint} does not answer: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let store = kuelik_store::sqlite::SqliteStore::open(&dir.path().join("k.db"))
        .await
        .unwrap()
        .with_vault(vault);

    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../media/corpus/portrait.jpg"
    ))
    .unwrap();
    let digest = Sha256Digest::from_bytes(Sha256::digest(&photo).into());
    store
        .commit(Changes {
            blobs: vec![Blob {
                digest,
                content_type: "image/jpeg".into(),
                bytes: photo.clone(),
                created_at: jiff::Timestamp::now(),
            }],
            ..Changes::default()
        })
        .await
        .unwrap();
    let back = store.blob(&digest).await.unwrap().unwrap();
    assert_eq!(back.bytes, photo, "the image reads back whole");

    // On the server's disk: one object under the digest, sealed (no JPEG inside).
    let object = std::path::Path::new(&root)
        .join("kuelik")
        .join(&prefix)
        .join("blobs")
        .join(digest.to_string());
    let on_disk =
        std::fs::read(&object).unwrap_or_else(|e| panic!("no object at {}: {e}", object.display()));
    assert!(on_disk.starts_with(b"KLKE1"));
    assert!(!on_disk.windows(4).any(|w| w == [0xFF, 0xD8, 0xFF, 0xE0]));
    assert_ne!(on_disk.len(), photo.len());

    // In the database only a marker.
    use sqlx::Connection;
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.path().join("k.db").display()))
            .await
            .unwrap();
    let column: Vec<u8> = sqlx::query_scalar("SELECT bytes FROM blobs WHERE digest = ?")
        .bind(digest.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(column, b"KLKO1");

    // The same store without the key cannot read it.
    let keyless = BlobVault::from_config(
        Some(&format!("s3://kuelik/{prefix}")),
        Some(&endpoint),
        Some("us-east-1"),
        None,
    )
    .unwrap();
    let reopened = kuelik_store::sqlite::SqliteStore::open(&dir.path().join("k.db"))
        .await
        .unwrap()
        .with_vault(keyless);
    assert!(reopened.blob(&digest).await.is_err());
}
