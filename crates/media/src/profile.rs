//! Every threshold of the photo and signature checks, in one TOML profile.
//!
//! The shipped profile (`profiles/default.toml`, compiled in as [`Profile::default_profile`])
//! is **provisional**: its values come from ICAO/ISO practice as reported in public sources,
//! OFIQ's score mappings and this crate's test corpus, not from the migration authority. An
//! operator replaces it with a file of the same shape ([`Profile::from_toml`]); a profile that
//! is malformed or self-contradictory is refused, so the service never runs on thresholds
//! nobody meant.

use serde::{Deserialize, Serialize};

use crate::error::ProfileError;
use crate::verdict::Verdict;

const DEFAULT_PROFILE: &str = include_str!("../profiles/default.toml");

/// Pass / warn / fail bounds of one measure's raw value. A raw value below `fail_below` or
/// above `fail_above` fails; below `warn_below` or above `warn_above` warns; anything else
/// passes. A missing bound does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_above: Option<f64>,
}

/// Which side of its band a raw value fell on; it picks the advice given to the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Within,
    Low,
    High,
    /// The value could not be computed (e.g. no eyes found, no background visible).
    Unmeasured,
}

impl Band {
    /// The status of `raw` and the side it is on. A value that could not be computed (NaN)
    /// warns: the check cannot vouch for the image, so the officer looks, but the citizen is
    /// not blocked by a limit of the checker.
    pub fn judge(&self, raw: f64) -> (Verdict, Side) {
        if raw.is_nan() {
            return (Verdict::Warn, Side::Unmeasured);
        }
        if self.fail_below.is_some_and(|t| raw < t) {
            (Verdict::Fail, Side::Low)
        } else if self.fail_above.is_some_and(|t| raw > t) {
            (Verdict::Fail, Side::High)
        } else if self.warn_below.is_some_and(|t| raw < t) {
            (Verdict::Warn, Side::Low)
        } else if self.warn_above.is_some_and(|t| raw > t) {
            (Verdict::Warn, Side::High)
        } else {
            (Verdict::Pass, Side::Within)
        }
    }

    fn validate(&self, key: &str) -> Result<(), ProfileError> {
        let bounds = [
            ("fail_below", self.fail_below),
            ("warn_below", self.warn_below),
            ("warn_above", self.warn_above),
            ("fail_above", self.fail_above),
        ];
        let mut previous: Option<(&str, f64)> = None;
        for (name, value) in bounds {
            let Some(value) = value else { continue };
            if !value.is_finite() {
                return Err(invalid(&format!("{key}.{name}"), "must be a finite number"));
            }
            if let Some((previous_name, previous_value)) = previous {
                if value < previous_value {
                    return Err(invalid(
                        &format!("{key}.{name}"),
                        &format!("must not be below {previous_name} ({previous_value})"),
                    ));
                }
            }
            previous = Some((name, value));
        }
        if previous.is_none() {
            return Err(invalid(key, "a band needs at least one bound"));
        }
        Ok(())
    }
}

/// Limits applied before and during decoding, the same for photos and signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestLimits {
    /// Largest accepted upload, in bytes; checked before anything is parsed.
    pub max_bytes: u64,
    /// Smallest accepted width and height (header), in pixels.
    pub min_side_px: u32,
    /// Largest accepted width and height (header), in pixels.
    pub max_side_px: u32,
    /// Largest accepted width × height (header).
    pub max_pixels: u64,
    /// Most memory the decoder may allocate (`image::Limits::max_alloc`), in bytes.
    pub max_decode_bytes: u64,
}

/// Settings of the SeetaFace (rustface) detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSettings {
    /// Faces are looked for on a copy scaled down to this longest side: a document photo's
    /// face is large, and the detector's cost grows with the pixel count.
    pub detection_max_side_px: u32,
    /// Smallest face the detector reports, in pixels of the scaled copy (at least 20).
    pub min_face_px: u32,
    /// Detector score below which a candidate is not a face (rustface suggests 0.95–4.5).
    pub score_threshold: f64,
    /// Ratio between pyramid levels, in (0.1, 0.99).
    pub pyramid_scale_factor: f32,
    /// Sliding-window step in pixels (at least 1).
    pub window_step_px: u32,
}

/// How the detector's face box relates to the head. SeetaFace gives a box only (no
/// landmarks), so the crown, chin and fallback eye positions are these fractions of the box,
/// calibrated on the corpus portrait (provisional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceGeometryModel {
    /// Crown above the box top, as a fraction of the box height.
    pub crown_above_box: f64,
    /// Chin below the box bottom, as a fraction of the box height.
    pub chin_below_box: f64,
    /// Eye line below the box top, as a fraction of the box height (when the eyes are not found).
    pub eye_line_in_box: f64,
    /// Inter-eye distance as a fraction of the box width (when the eyes are not found).
    pub eye_distance_per_box_width: f64,
    /// Head (with hair) width as a multiple of the box width; the background is sampled outside it.
    pub head_width_per_box_width: f64,
}

/// Photo thresholds. The raw value of each measure is documented on the measure
/// (see `photo.rs`); names here are the measure names in reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoProfile {
    /// Pixel measures run on a copy scaled down to this height (the resolution measure uses
    /// the original pixels).
    pub analysis_height_px: u32,
    pub detector: DetectorSettings,
    pub geometry: FaceGeometryModel,
    pub aspect_ratio: Band,
    pub colour: Band,
    pub compression_artifacts: Band,
    pub face_count: Band,
    pub head_height_ratio: Band,
    pub face_centre_offset: Band,
    pub margin_above: Band,
    pub margin_below: Band,
    pub margin_left: Band,
    pub margin_right: Band,
    pub inter_eye_distance: Band,
    pub head_roll: Band,
    pub luminance_mean: Band,
    pub luminance_variance: Band,
    pub under_exposure: Band,
    pub over_exposure: Band,
    pub dynamic_range: Band,
    pub illumination_uniformity: Band,
    pub natural_colour: Band,
    pub background_uniformity: Band,
    pub background_lightness: Band,
    pub sharpness: Band,
}

/// Signature thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureProfile {
    /// Measures run on a copy scaled down to this longest side.
    pub analysis_max_side_px: u32,
    /// A pixel is an ink candidate when it is at least this much darker (0–255) than the
    /// background level (the median), after a 3×3 smoothing that removes sensor noise.
    pub ink_threshold: f64,
    /// Ink blobs smaller than this fraction of the image area are dust, not strokes.
    pub speck_fraction: f64,
    pub ink_present: Band,
    pub ink_coverage: Band,
    pub contrast: Band,
    pub background_noise: Band,
    pub background_lightness: Band,
    pub aspect_ratio: Band,
    pub margin: Band,
    pub strokes: Band,
}

/// All thresholds of the checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Shown with every report so an officer knows which thresholds judged an upload.
    pub name: String,
    /// True until the authority confirms the values.
    pub provisional: bool,
    pub ingest: IngestLimits,
    pub photo: PhotoProfile,
    pub signature: SignatureProfile,
}

fn invalid(key: &str, reason: &str) -> ProfileError {
    ProfileError::Invalid {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

impl Profile {
    /// The shipped profile (`profiles/default.toml`). Provisional: see the module docs.
    pub fn default_profile() -> Profile {
        // The compiled-in file is valid (the unit test `shipped_profile_parses_and_is_provisional`
        // guarantees it); the fallback only exists so that this function cannot panic.
        Profile::from_toml(DEFAULT_PROFILE).unwrap_or_else(|_| Profile::fallback())
    }

    /// The shipped profile's text, for `--profile` documentation and the officer console.
    pub fn default_profile_toml() -> &'static str {
        DEFAULT_PROFILE
    }

    /// Parses and validates a profile file.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        let profile: Profile =
            toml::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))?;
        profile.validate()?;
        Ok(profile)
    }

    /// Every band with its key, in report order, for validation and for showing the profile.
    pub fn bands(&self) -> Vec<(String, Band)> {
        let p = &self.photo;
        let s = &self.signature;
        let photo = [
            ("aspect_ratio", p.aspect_ratio),
            ("colour", p.colour),
            ("compression_artifacts", p.compression_artifacts),
            ("face_count", p.face_count),
            ("head_height_ratio", p.head_height_ratio),
            ("face_centre_offset", p.face_centre_offset),
            ("margin_above", p.margin_above),
            ("margin_below", p.margin_below),
            ("margin_left", p.margin_left),
            ("margin_right", p.margin_right),
            ("inter_eye_distance", p.inter_eye_distance),
            ("head_roll", p.head_roll),
            ("luminance_mean", p.luminance_mean),
            ("luminance_variance", p.luminance_variance),
            ("under_exposure", p.under_exposure),
            ("over_exposure", p.over_exposure),
            ("dynamic_range", p.dynamic_range),
            ("illumination_uniformity", p.illumination_uniformity),
            ("natural_colour", p.natural_colour),
            ("background_uniformity", p.background_uniformity),
            ("background_lightness", p.background_lightness),
            ("sharpness", p.sharpness),
        ];
        let signature = [
            ("ink_present", s.ink_present),
            ("ink_coverage", s.ink_coverage),
            ("contrast", s.contrast),
            ("background_noise", s.background_noise),
            ("background_lightness", s.background_lightness),
            ("aspect_ratio", s.aspect_ratio),
            ("margin", s.margin),
            ("strokes", s.strokes),
        ];
        photo
            .iter()
            .map(|(k, b)| (format!("photo.{k}"), *b))
            .chain(
                signature
                    .iter()
                    .map(|(k, b)| (format!("signature.{k}"), *b)),
            )
            .collect()
    }

    fn validate(&self) -> Result<(), ProfileError> {
        for (key, band) in self.bands() {
            band.validate(&key)?;
        }
        let i = &self.ingest;
        if i.max_bytes == 0 {
            return Err(invalid("ingest.max_bytes", "must be positive"));
        }
        if i.min_side_px < 16 {
            // Below this no measure means anything, and the detector needs ≥ 20 px windows.
            return Err(invalid("ingest.min_side_px", "must be at least 16"));
        }
        if i.max_side_px < i.min_side_px {
            return Err(invalid(
                "ingest.max_side_px",
                "must not be below min_side_px",
            ));
        }
        if i.max_pixels < u64::from(i.min_side_px) * u64::from(i.min_side_px) {
            return Err(invalid(
                "ingest.max_pixels",
                "must allow a min_side_px square",
            ));
        }
        if i.max_decode_bytes < 1 << 20 {
            return Err(invalid("ingest.max_decode_bytes", "must be at least 1 MiB"));
        }
        let d = &self.photo.detector;
        // rustface panics on these out of range: refuse them here instead.
        if d.min_face_px < 20 {
            return Err(invalid("photo.detector.min_face_px", "must be at least 20"));
        }
        if d.detection_max_side_px < 64 {
            return Err(invalid(
                "photo.detector.detection_max_side_px",
                "must be at least 64",
            ));
        }
        if !(d.score_threshold.is_finite() && d.score_threshold > 0.0) {
            return Err(invalid(
                "photo.detector.score_threshold",
                "must be positive",
            ));
        }
        if !(d.pyramid_scale_factor > 0.1 && d.pyramid_scale_factor < 0.99) {
            return Err(invalid(
                "photo.detector.pyramid_scale_factor",
                "must be between 0.1 and 0.99",
            ));
        }
        if d.window_step_px == 0 {
            return Err(invalid(
                "photo.detector.window_step_px",
                "must be at least 1",
            ));
        }
        if self.photo.analysis_height_px < 64 {
            return Err(invalid("photo.analysis_height_px", "must be at least 64"));
        }
        let g = &self.photo.geometry;
        for (key, value) in [
            ("crown_above_box", g.crown_above_box),
            ("chin_below_box", g.chin_below_box),
            ("eye_line_in_box", g.eye_line_in_box),
            ("eye_distance_per_box_width", g.eye_distance_per_box_width),
            ("head_width_per_box_width", g.head_width_per_box_width),
        ] {
            if !(value.is_finite() && (0.0..=4.0).contains(&value)) {
                return Err(invalid(
                    &format!("photo.geometry.{key}"),
                    "must be between 0 and 4",
                ));
            }
        }
        let s = &self.signature;
        if s.analysis_max_side_px < 64 {
            return Err(invalid(
                "signature.analysis_max_side_px",
                "must be at least 64",
            ));
        }
        if !(s.ink_threshold.is_finite() && s.ink_threshold > 0.0 && s.ink_threshold < 255.0) {
            return Err(invalid(
                "signature.ink_threshold",
                "must be between 0 and 255",
            ));
        }
        if !(s.speck_fraction.is_finite() && (0.0..0.1).contains(&s.speck_fraction)) {
            return Err(invalid(
                "signature.speck_fraction",
                "must be between 0 and 0.1",
            ));
        }
        Ok(())
    }

    /// Used only if the compiled-in file were broken (a unit test prevents that): strict
    /// limits, and bands that make every measure warn so an officer looks at every upload.
    fn fallback() -> Profile {
        let review = Band {
            warn_below: Some(f64::INFINITY),
            ..Band::default()
        };
        Profile {
            name: "fallback (built-in profile unreadable)".to_string(),
            provisional: true,
            ingest: IngestLimits {
                max_bytes: 10 << 20,
                min_side_px: 64,
                max_side_px: 6000,
                max_pixels: 24_000_000,
                max_decode_bytes: 256 << 20,
            },
            photo: PhotoProfile {
                analysis_height_px: 400,
                detector: DetectorSettings {
                    detection_max_side_px: 256,
                    min_face_px: 20,
                    score_threshold: 2.0,
                    pyramid_scale_factor: 0.8,
                    window_step_px: 4,
                },
                geometry: FaceGeometryModel {
                    crown_above_box: 0.5,
                    chin_below_box: 0.1,
                    eye_line_in_box: 0.4,
                    eye_distance_per_box_width: 0.42,
                    head_width_per_box_width: 1.4,
                },
                aspect_ratio: review,
                colour: review,
                compression_artifacts: review,
                face_count: review,
                head_height_ratio: review,
                face_centre_offset: review,
                margin_above: review,
                margin_below: review,
                margin_left: review,
                margin_right: review,
                inter_eye_distance: review,
                head_roll: review,
                luminance_mean: review,
                luminance_variance: review,
                under_exposure: review,
                over_exposure: review,
                dynamic_range: review,
                illumination_uniformity: review,
                natural_colour: review,
                background_uniformity: review,
                background_lightness: review,
                sharpness: review,
            },
            signature: SignatureProfile {
                analysis_max_side_px: 800,
                ink_threshold: 40.0,
                speck_fraction: 0.0001,
                ink_present: review,
                ink_coverage: review,
                contrast: review,
                background_noise: review,
                background_lightness: review,
                aspect_ratio: review,
                margin: review,
                strokes: review,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profile_parses_and_is_provisional() {
        let profile = Profile::from_toml(DEFAULT_PROFILE).unwrap();
        assert!(profile.provisional);
        assert_eq!(Profile::default_profile(), profile);
    }

    #[test]
    fn band_judges_each_side() {
        let band = Band {
            fail_below: Some(1.0),
            warn_below: Some(2.0),
            warn_above: Some(3.0),
            fail_above: Some(4.0),
        };
        assert_eq!(band.judge(0.5), (Verdict::Fail, Side::Low));
        assert_eq!(band.judge(1.5), (Verdict::Warn, Side::Low));
        assert_eq!(band.judge(2.5), (Verdict::Pass, Side::Within));
        assert_eq!(band.judge(3.5), (Verdict::Warn, Side::High));
        assert_eq!(band.judge(4.5), (Verdict::Fail, Side::High));
        assert_eq!(band.judge(f64::NAN), (Verdict::Warn, Side::Unmeasured));
    }

    #[test]
    fn contradictory_and_unknown_keys_are_refused() {
        let swapped = DEFAULT_PROFILE.replacen("[photo.sharpness]", "[photo.sharpness]\n# x", 1);
        assert!(Profile::from_toml(&swapped).is_ok());
        let text = DEFAULT_PROFILE.replace("max_bytes = ", "max_bytez = ");
        assert_eq!(
            Profile::from_toml(&text).unwrap_err().code(),
            "profile_parse"
        );
        let mut profile = Profile::default_profile();
        profile.photo.sharpness = Band {
            fail_below: Some(5.0),
            warn_below: Some(1.0),
            ..Band::default()
        };
        let text = toml::to_string(&profile).unwrap();
        let err = Profile::from_toml(&text).unwrap_err();
        assert_eq!(err.code(), "profile_invalid");
        assert!(
            err.to_string().contains("photo.sharpness.warn_below"),
            "{err}"
        );
        let mut profile = Profile::default_profile();
        profile.photo.detector.min_face_px = 10;
        let text = toml::to_string(&profile).unwrap();
        assert_eq!(
            Profile::from_toml(&text).unwrap_err().code(),
            "profile_invalid"
        );
    }
}
