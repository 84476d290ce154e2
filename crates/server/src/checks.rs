//! The automatic photo and signature checks, where the service uses them: at upload (the
//! citizen sees every measure and how to fix it; an unreadable file is refused), at
//! submission (a failed check blocks it, with the advice), and on the officer's screen
//! (warnings next to the image, the same photo on someone else's application flagged).
//! The officer always decides; the checks only inform and pre-empt.

use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;

use kuelik_core::digest::Sha256Digest;
use kuelik_media::{check_photo, check_signature, IngestError, Verdict};
use kuelik_store::{Changes, ImageCheck};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Photo,
    Signature,
}

impl ImageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Photo => "photo",
            ImageKind::Signature => "signature",
        }
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
    }
}

/// An upload the checks cannot even read: refused, with what to do.
fn ingest_error(e: &IngestError) -> ApiError {
    let code = match e {
        IngestError::Empty => ErrorCode::EmptyFile,
        IngestError::FileTooLarge { .. } => ErrorCode::FileTooLarge,
        IngestError::UnsupportedFormat => ErrorCode::UnsupportedFormat,
        IngestError::ImageTooSmall { .. } => ErrorCode::ImageTooSmall,
        IngestError::ImageTooLarge { .. } => ErrorCode::ImageTooLarge,
        IngestError::Truncated => ErrorCode::TruncatedImage,
        IngestError::Corrupt(_) => ErrorCode::CorruptImage,
        IngestError::MemoryLimit => ErrorCode::MemoryLimitExceeded,
    };
    ApiError::plain(code, e.to_string())
}

/// Checks running at once: one per core. A check is CPU work on one core, so more at once
/// finish no sooner; each holds a decoded image and the detector's buffers (a few MB), so
/// more at once only cost memory. Uploads beyond that wait here, as bytes, for a turn.
fn check_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Checks an image off the async threads (decoding and face detection are CPU work).
pub async fn run(
    state: &AppState,
    kind: ImageKind,
    digest: Sha256Digest,
    bytes: Vec<u8>,
) -> ApiResult<ImageCheck> {
    let profile = state.image_profile.clone();
    let started = Instant::now();
    // The semaphore is never closed, so acquiring only waits. The slot goes with the check:
    // it is freed when the check ends, even if the request was dropped meanwhile.
    let slot = check_slots().acquire().await.map_err(|_| {
        ApiError::plain(
            ErrorCode::ImageChecksUnavailable,
            "the image checks are not running",
        )
    })?;
    let outcome = tokio::task::spawn_blocking(
        move || -> Result<(Value, Verdict, Option<u64>), IngestError> {
            let _slot = slot;
            match kind {
                ImageKind::Photo => {
                    let r = check_photo(&bytes, &profile)?;
                    Ok((
                        serde_json::to_value(&r).unwrap_or(Value::Null),
                        r.verdict,
                        Some(r.perceptual_hash),
                    ))
                }
                ImageKind::Signature => {
                    let r = check_signature(&bytes, &profile)?;
                    Ok((
                        serde_json::to_value(&r).unwrap_or(Value::Null),
                        r.verdict,
                        None,
                    ))
                }
            }
        },
    )
    .await
    .map_err(|_| ApiError::plain(ErrorCode::InternalError, "the image check stopped"))?;
    metrics::histogram!("kuelik_image_check_seconds", "kind" => kind.as_str())
        .record(started.elapsed().as_secs_f64());
    let (report, verdict, perceptual_hash) = outcome.map_err(|e| ingest_error(&e))?;
    Ok(ImageCheck {
        digest,
        kind: kind.as_str().into(),
        verdict: verdict_str(verdict).into(),
        perceptual_hash,
        report,
        checked_at: state.clock.now(),
    })
}

/// The stored check of an attached image; an image attached before checks existed (or
/// under a lost record) is checked now and the result kept.
pub async fn of_attached(
    state: &AppState,
    kind: ImageKind,
    digest: Sha256Digest,
) -> ApiResult<ImageCheck> {
    if let Some(check) = state.store.image_check(&digest).await? {
        return Ok(check);
    }
    let blob = state
        .store
        .blob(&digest)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let check = run(state, kind, digest, blob.bytes).await?;
    state
        .store
        .commit(Changes {
            image_checks: vec![check.clone()],
            ..Changes::default()
        })
        .await?;
    Ok(check)
}
