//! Why an upload could not be checked at all. Each error has a stable snake_case `code()` (the
//! server and the CLI put it in their answers) and a kk/ru/en message saying how to fix it.

use kuelik_core::lang::Localized;

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

    /// What the citizen should do, in the three languages.
    pub fn message(&self) -> Localized {
        let (kk, ru, en) = match self {
            IngestError::Empty => (
                "Файл бос. Суретті қайта таңдап, жүктеңіз.",
                "Файл пустой. Выберите изображение заново и загрузите его.",
                "The file is empty. Choose the image again and upload it.",
            ),
            IngestError::FileTooLarge { .. } => (
                "Файл тым үлкен. Суретті кішірек өлшемде (мысалы, 600×800 пиксель JPEG) сақтап, қайта жүктеңіз.",
                "Файл слишком большой. Сохраните изображение в меньшем размере (например, JPEG 600×800 пикселей) и загрузите снова.",
                "The file is too large. Save the image smaller (for example a 600×800 pixel JPEG) and upload it again.",
            ),
            IngestError::UnsupportedFormat => (
                "Тек JPEG немесе PNG суреттері қабылданады. Суретті JPEG форматында сақтап, қайта жүктеңіз.",
                "Принимаются только изображения JPEG или PNG. Сохраните изображение в формате JPEG и загрузите снова.",
                "Only JPEG or PNG images are accepted. Save the image as JPEG and upload it again.",
            ),
            IngestError::ImageTooSmall { .. } => (
                "Сурет тым кішкентай. Түпнұсқа суретті кішірейтпей жүктеңіз.",
                "Изображение слишком маленькое. Загрузите исходное изображение без уменьшения.",
                "The image is too small. Upload the original image without shrinking it.",
            ),
            IngestError::ImageTooLarge { .. } => (
                "Суреттің өлшемі тым үлкен. Оны кішірейтіп (мысалы, 600×800 пиксель), қайта жүктеңіз.",
                "Размер изображения слишком большой. Уменьшите его (например, до 600×800 пикселей) и загрузите снова.",
                "The image dimensions are too large. Resize it (for example to 600×800 pixels) and upload it again.",
            ),
            IngestError::Truncated => (
                "Файл толық жүктелмеген немесе бүлінген. Суретті қайта сақтап, жүктеңіз.",
                "Файл загружен не полностью или повреждён. Сохраните изображение заново и загрузите его.",
                "The file is incomplete. Save the image again and upload it again.",
            ),
            IngestError::Corrupt(_) => (
                "Файл бүлінген, оны сурет ретінде оқу мүмкін емес. Суретті қайта сақтап, жүктеңіз.",
                "Файл повреждён и не читается как изображение. Сохраните изображение заново и загрузите его.",
                "The file is damaged and cannot be read as an image. Save the image again and upload it again.",
            ),
            IngestError::MemoryLimit => (
                "Суретті өңдеу мүмкін емес: ол тым үлкен. Кішірек суретті жүктеңіз.",
                "Изображение невозможно обработать: оно слишком большое. Загрузите изображение меньшего размера.",
                "The image cannot be processed because it is too large. Upload a smaller image.",
            ),
        };
        Localized {
            kk: kk.to_string(),
            ru: ru.to_string(),
            en: en.to_string(),
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
