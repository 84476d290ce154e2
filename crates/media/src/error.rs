//! Why an upload could not be checked at all. Each error has a stable snake_case `code()` (the
//! server and the CLI put it in their answers); what the citizen should do about it is the
//! server's text for that code (`crates/server/locales/*/errors.ftl`).

/// The file could not be read as an image within the ingest limits. Nothing was measured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; at most {limit} bytes are accepted")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("the file is not a JPEG or PNG image")]
    UnsupportedFormat,
    #[error("the image is {width}×{height} px; each side must be at least {min_side} px")]
    ImageTooSmall {
        width: u32,
        height: u32,
        min_side: u32,
    },
    #[error(
        "the image declares {width}×{height} px; at most {max_side} px a side and {max_pixels} pixels are accepted"
    )]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("the file ends before the image does (an interrupted upload or copy)")]
    Truncated,
    #[error("the image data is corrupt: {0}")]
    Corrupt(String),
    #[error("decoding the image would take more memory than allowed")]
    MemoryLimit,
}

impl IngestError {
    /// Stable identifier for programs (API answers, logs, tests).
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Empty => "empty_file",
            IngestError::FileTooLarge { .. } => "file_too_large",
            IngestError::UnsupportedFormat => "unsupported_format",
            IngestError::ImageTooSmall { .. } => "image_too_small",
            IngestError::ImageTooLarge { .. } => "image_too_large",
            IngestError::Truncated => "truncated_image",
            IngestError::Corrupt(_) => "corrupt_image",
            IngestError::MemoryLimit => "memory_limit_exceeded",
        }
    }
}

/// A profile file that cannot be used. The service refuses to start with one rather than
/// checking uploads against thresholds nobody meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("the profile is not valid TOML for this version: {0}")]
    Parse(String),
    #[error("profile key {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl ProfileError {
    pub fn code(&self) -> &'static str {
        match self {
            ProfileError::Parse(_) => "profile_parse",
            ProfileError::Invalid { .. } => "profile_invalid",
        }
    }
}
