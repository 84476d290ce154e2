//! Photo and signature compliance checks for the identity-card renewal upload.
//!
//! A non-compliant photo or signature lets the regional officer annul the application,
//! which costs the citizen a second state duty; these checks catch the problems at upload
//! and say how to fix them, in Kazakh, Russian and English.
//!
//! - [`check_photo`] and [`check_signature`] decode the upload safely (byte cap, JPEG/PNG by
//!   magic bytes, header dimensions checked before decoding, `image::Limits`, EXIF
//!   orientation) and return a report: a [`Verdict`] and every [`Measure`] with its raw
//!   value, 0–100 score, status and advice. An upload that cannot be read at all is an
//!   [`IngestError`] with a stable `code()`.
//! - Every threshold lives in a [`Profile`] (TOML); the shipped one is provisional until
//!   the migration authority confirms its values.
//! - Photo reports carry a perceptual hash; [`hamming_distance`] compares two.
//!
//! Pure Rust, offline: the face detector's model is compiled in. The measures follow
//! OFIQ (ISO/IEC 29794-5 reference implementation) where they can, without its neural
//! models; they are a pre-check for the officer, not a conformant quality assessment.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod error;
mod face;
mod hash;
mod ingest;
mod measure;
mod photo;
mod profile;
mod raster;
mod signature;
mod text;
mod verdict;

pub use error::{IngestError, ProfileError};
pub use hash::hamming_distance;
pub use ingest::{decode, read_header, DecodedImage, Header, ImageFormat};
pub use measure::Measure;
pub use photo::{check_photo, FaceGeometry, PhotoReport};
pub use profile::{
    Band, DetectorSettings, FaceGeometryModel, IngestLimits, PhotoProfile, Profile,
    SignatureProfile,
};
pub use raster::{Point, Rect};
pub use signature::{check_signature, SignatureReport};
pub use verdict::Verdict;
