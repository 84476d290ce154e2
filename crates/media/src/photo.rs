//! The document-photo check: every measure, each judged against the profile.
//!
//! Where a measure follows OFIQ (BSI's reference implementation of ISO/IEC 29794-5,
//! OFIQlib/modules/measures) the raw value and score mapping are OFIQ's, cited per measure.
//! The differences are deliberate and stated: OFIQ's landmark models (ADNet, BiSeNet,
//! occlusion segmentation) are replaced by the SeetaFace box, darkest-window eye finding and
//! an ellipse face mask, so this is an OFIQ-inspired pre-check, not a conformant
//! ISO/IEC 29794-5 implementation.

use std::borrow::Cow;

use image::RgbImage;
use serde::{Serialize, Serializer};

use crate::error::IngestError;
use crate::face::{detect_faces, locate_eyes};
use crate::hash::dhash;
use crate::ingest::{decode, ImageFormat};
use crate::measure::{overall, sigmoid, Measure, Scoring};
use crate::profile::{PhotoProfile, Profile};
use crate::raster::{
    downscale_rgb, luma, luma_of, round_to_u8, srgb_to_linear, Gray, Luminance, Point, Rect,
    SamplePosition,
};
use crate::verdict::{Subject, Verdict};

/// Where the face was found, in the upload's own (upright) pixel coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceGeometry {
    /// The detector's face box.
    pub bounds: Rect,
    /// The eye on the image's left (the subject's right eye).
    pub left_eye: Point,
    /// The eye on the image's right.
    pub right_eye: Point,
    /// False when the eyes could not be located and were placed from the box geometry.
    pub eyes_located: bool,
    /// Estimated top of the head and chin (vertical coordinates).
    pub crown_y: f64,
    pub chin_y: f64,
}

/// The result of checking one photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoReport {
    /// The worst status among the measures.
    pub verdict: Verdict,
    pub format: ImageFormat,
    /// Upright size (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// 64-bit difference hash of the picture (see [`crate::hamming_distance`]); written in
    /// JSON as 16 hex digits because JavaScript numbers cannot hold 64 bits.
    #[serde(serialize_with = "hex_u64")]
    pub perceptual_hash: u64,
    /// Present when exactly one face was found.
    pub face: Option<FaceGeometry>,
    pub measures: Vec<Measure>,
    /// The profile that judged it, and whether its values are still provisional.
    pub profile: String,
    pub provisional_profile: bool,
}

impl PhotoReport {
    /// The measure of that name, if it was measured.
    pub fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.name == name)
    }
}

pub(crate) fn hex_u64<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{value:016x}"))
}

/// Checks an uploaded document photo. `Err` means the bytes could not be read as an image
/// within the profile's ingest limits (nothing was measured); otherwise every measure is
/// reported, and face-dependent measures only when exactly one face was found.
pub fn check_photo(bytes: &[u8], profile: &Profile) -> Result<PhotoReport, IngestError> {
    let decoded = decode(bytes, &profile.ingest)?;
    let analysis = analyse(&decoded.image, &profile.photo);
    let (width, height) = decoded.image.dimensions();
    Ok(PhotoReport {
        verdict: overall(&analysis.measures),
        format: decoded.format,
        width,
        height,
        perceptual_hash: analysis.hash,
        face: analysis.face,
        measures: analysis.measures,
        profile: profile.name.clone(),
        provisional_profile: profile.provisional,
    })
}

struct Analysis {
    measures: Vec<Measure>,
    hash: u64,
    face: Option<FaceGeometry>,
}

/// The image at analysis size, in the three forms the measures read.
struct Planes<'a> {
    /// Borrowed when the upload is already at analysis size (no copy).
    rgb: Cow<'a, RgbImage>,
    /// Perceptual grey: structure (faces, edges, blur, background texture).
    gray: Gray,
    /// Analysis pixels per original pixel (≤ 1).
    scale: f64,
}

fn analyse(original: &RgbImage, p: &PhotoProfile) -> Analysis {
    let (width, height) = original.dimensions();
    let mut measures = Vec::with_capacity(22);

    // Aspect ratio: height / width; the 35×45 mm card photo is 1.29, a 3:4 print 1.33.
    let aspect = f64::from(height) / f64::from(width.max(1));
    measures.push(judged(
        "aspect_ratio",
        aspect,
        &p.aspect_ratio,
        Scoring::FromBand,
    ));

    let planes = planes(original, p.analysis_height_px);

    // Blockiness is read on the original pixels: JPEG's 8×8 grid only exists there.
    let blockiness = blockiness(original);
    measures.push(judged(
        "compression_artifacts",
        blockiness,
        &p.compression_artifacts,
        Scoring::FromBand,
    ));

    let hash = dhash(&planes.gray);
    let faces = detect_faces(&planes.gray, &p.detector);
    let face_count = faces.as_ref().map_or(f64::NAN, |f| f.len() as f64);

    let single = match faces.as_deref() {
        Some([face]) => Some(face.bounds),
        _ => None,
    };
    let geometry = single.map(|bounds| face_geometry(&planes, bounds, p));

    // Colour is judged on the face where there is one (a neutral grey background is wanted,
    // so the whole frame can be nearly colourless in a good photo).
    let colour_region = geometry.as_ref().map(|g| g.bounds);
    measures.push(judged(
        "colour",
        mean_chroma(&planes.rgb, colour_region),
        &p.colour,
        Scoring::FromBand,
    ));
    measures.push(judged(
        "face_count",
        face_count,
        &p.face_count,
        Scoring::FromBand,
    ));

    let face = geometry.map(|g| {
        face_measures(&planes, &g, p, &mut measures);
        let back = 1.0 / planes.scale;
        FaceGeometry {
            bounds: g.bounds.scaled(back),
            left_eye: g.left_eye.scaled(back),
            right_eye: g.right_eye.scaled(back),
            eyes_located: g.eyes_located,
            crown_y: g.crown_y * back,
            chin_y: g.chin_y * back,
        }
    });
    Analysis {
        measures,
        hash,
        face,
    }
}

fn planes(original: &RgbImage, analysis_height: u32) -> Planes<'_> {
    let (width, height) = original.dimensions();
    let (rgb, scale) = if height > analysis_height {
        let scale = f64::from(analysis_height) / f64::from(height);
        let target_width = ((f64::from(width) * scale).round() as u32).max(1);
        (
            Cow::Owned(downscale_rgb(original, target_width, analysis_height)),
            scale,
        )
    } else {
        (Cow::Borrowed(original), 1.0)
    };
    let gray = luma(&rgb);
    Planes { rgb, gray, scale }
}

/// Face geometry in analysis coordinates.
struct Geometry {
    bounds: Rect,
    left_eye: Point,
    right_eye: Point,
    eyes_located: bool,
    crown_y: f64,
    chin_y: f64,
}

fn face_geometry(planes: &Planes, bounds: Rect, p: &PhotoProfile) -> Geometry {
    let g = &p.geometry;
    let (left_eye, right_eye, eyes_located) = match locate_eyes(&planes.gray, &bounds) {
        Some((left, right)) => (left, right, true),
        None => {
            let half = bounds.width * g.eye_distance_per_box_width / 2.0;
            let y = bounds.y + bounds.height * g.eye_line_in_box;
            (
                Point {
                    x: bounds.centre_x() - half,
                    y,
                },
                Point {
                    x: bounds.centre_x() + half,
                    y,
                },
                false,
            )
        }
    };
    Geometry {
        bounds,
        left_eye,
        right_eye,
        eyes_located,
        crown_y: bounds.y - g.crown_above_box * bounds.height,
        chin_y: bounds.bottom() + g.chin_below_box * bounds.height,
    }
}

fn face_measures(planes: &Planes, g: &Geometry, p: &PhotoProfile, out: &mut Vec<Measure>) {
    let width = planes.gray.width as f64;
    let height = planes.gray.height as f64;
    let eye_mid = Point {
        x: (g.left_eye.x + g.right_eye.x) / 2.0,
        y: (g.left_eye.y + g.right_eye.y) / 2.0,
    };
    let ied = g.left_eye.distance(&g.right_eye).max(1e-6);
    // OFIQ's T: distance from the chin to the eye mid-point.
    let t = (g.chin_y - eye_mid.y).max(1e-6);

    // Chin-to-crown over image height (ICAO 9303 / German sample board: 70–80 % of 45 mm).
    // OFIQ HeadSize uses T/H instead; the chin-to-crown form is the one citizens are told.
    let head_height = (g.chin_y - g.crown_y) / height;
    out.push(judged(
        "head_height_ratio",
        head_height,
        &p.head_height_ratio,
        Scoring::FromBand,
    ));
    // Horizontal offset of the eye mid-point from the image centre, in image widths.
    let offset = (eye_mid.x - width / 2.0) / width;
    out.push(judged(
        "face_centre_offset",
        offset,
        &p.face_centre_offset,
        Scoring::FromBand,
    ));
    // OFIQ MarginAboveOfTheFaceImage: eyeMid.y / T, Q = 100·S(x; 1.4, 0.1) (OFIQ MarginAbove).
    let above = eye_mid.y / t;
    out.push(judged(
        "margin_above",
        above,
        &p.margin_above,
        Scoring::Formula(100.0 * sigmoid(above, 1.4, 0.1)),
    ));
    // OFIQ MarginBelowOfTheFaceImage: (H − eyeMid.y) / T, Q = 100·S(x; 1.8, 0.1).
    let below = (height - eye_mid.y) / t;
    out.push(judged(
        "margin_below",
        below,
        &p.margin_below,
        Scoring::Formula(100.0 * sigmoid(below, 1.8, 0.1)),
    ));
    // OFIQ LeftwardCropOfTheFaceImage: rightEye.x / IED (the subject's right eye is on the
    // image's left), Q = 100·S(x; 0.9, 0.1); RightwardCrop: (W − leftEye.x) / IED.
    let left = g.left_eye.x / ied;
    out.push(judged(
        "margin_left",
        left,
        &p.margin_left,
        Scoring::Formula(100.0 * sigmoid(left, 0.9, 0.1)),
    ));
    let right = (width - g.right_eye.x) / ied;
    out.push(judged(
        "margin_right",
        right,
        &p.margin_right,
        Scoring::Formula(100.0 * sigmoid(right, 0.9, 0.1)),
    ));
    // OFIQ InterEyeDistance: pixels between eye centres in the original image (OFIQ divides
    // by cos(yaw); yaw is not estimated here), Q = 100·S(x; 70, 20).
    let ied_original = ied / planes.scale;
    out.push(judged(
        "inter_eye_distance",
        ied_original,
        &p.inter_eye_distance,
        Scoring::Formula(100.0 * sigmoid(ied_original, 70.0, 20.0)),
    ));
    // Roll of the eye line in degrees (ISO/IEC 19794-5 pose: roll within ±8°); OFIQ
    // HeadPoseRoll's mapping Q = 100·cos²(angle). Positive: the image-right eye is lower.
    let roll = (g.right_eye.y - g.left_eye.y).atan2(g.right_eye.x - g.left_eye.x);
    // Without located eyes there is no eye line: the officer is asked to look instead.
    let roll_degrees = if g.eyes_located {
        roll.to_degrees()
    } else {
        f64::NAN
    };
    out.push(judged(
        "head_roll",
        roll_degrees,
        &p.head_roll,
        Scoring::Formula(100.0 * roll.cos().powi(2)),
    ));

    // Exposure measures read OFIQ's luminance inside the face mask. OFIQ's mask is the
    // convex hull of 98 landmarks; here it is the ellipse inscribed in the face box.
    let luminance = Luminance::new(&planes.rgb);
    let histogram = masked_histogram(&luminance, &g.bounds);
    let count: f64 = histogram.iter().sum::<u64>() as f64;
    let count = count.max(1.0);
    let mean = histogram
        .iter()
        .enumerate()
        .map(|(v, &n)| v as f64 * n as f64)
        .sum::<f64>()
        / count
        / 255.0;
    let variance = histogram
        .iter()
        .enumerate()
        .map(|(v, &n)| (v as f64 / 255.0 - mean).powi(2) * n as f64)
        .sum::<f64>()
        / count;
    // OFIQ LuminanceMean: Q = 100·S(μ; 0.2, 0.05)·(1 − S(μ; 0.8, 0.05)).
    out.push(judged(
        "luminance_mean",
        mean,
        &p.luminance_mean,
        Scoring::Formula(100.0 * sigmoid(mean, 0.2, 0.05) * (1.0 - sigmoid(mean, 0.8, 0.05))),
    ));
    // OFIQ LuminanceVariance: Q = 100·sin(π·60σ² / (60σ² + 1)).
    let v60 = 60.0 * variance;
    out.push(judged(
        "luminance_variance",
        variance,
        &p.luminance_variance,
        Scoring::Formula(100.0 * (std::f64::consts::PI * v60 / (v60 + 1.0)).sin()),
    ));
    // OFIQ UnderExposurePrevention: fraction of face pixels with Y in [0, 25],
    // Q = 120·(0.832 − S(x; 0.92, 0.05)).
    let under = histogram.iter().take(26).sum::<u64>() as f64 / count;
    out.push(judged(
        "under_exposure",
        under,
        &p.under_exposure,
        Scoring::Formula(120.0 * (0.832 - sigmoid(under, 0.92, 0.05))),
    ));
    // OFIQ OverExposurePrevention: fraction with Y in [247, 255], Q = 1 / (x + 0.01).
    let over = histogram.iter().skip(247).sum::<u64>() as f64 / count;
    out.push(judged(
        "over_exposure",
        over,
        &p.over_exposure,
        Scoring::Formula(1.0 / (over + 0.01)),
    ));
    // OFIQ DynamicRange: Shannon entropy (bits) of the face luminance histogram,
    // Q = 12.5·H.
    let entropy = -histogram
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let q = n as f64 / count;
            q * q.log2()
        })
        .sum::<f64>();
    out.push(judged(
        "dynamic_range",
        entropy,
        &p.dynamic_range,
        Scoring::Formula(12.5 * entropy),
    ));

    // Cheek zones (OFIQ IlluminationUniformity / NaturalColour): squares of side 0.3·IED,
    // half the eye–mouth distance below each eye centre. Without a mouth landmark the
    // eye–mouth distance is taken as one IED (typical adult proportion).
    let down = Point {
        x: -roll.sin(),
        y: roll.cos(),
    };
    let zone = |eye: &Point| {
        let side = 0.3 * ied;
        let centre = Point {
            x: eye.x + down.x * ied / 2.0,
            y: eye.y + down.y * ied / 2.0,
        };
        Rect {
            x: centre.x - side / 2.0,
            y: centre.y - side / 2.0,
            width: side,
            height: side,
        }
    };
    let (left_zone, right_zone) = (zone(&g.left_eye), zone(&g.right_eye));
    // OFIQ IlluminationUniformity: Σ min(hL, hR) of the normalised luminance histograms
    // (binned coarser than OFIQ's, see CHEEK_BINS), Q = round(100·raw^0.3).
    let intersection = histogram_intersection(&luminance, &left_zone, &right_zone);
    out.push(judged(
        "illumination_uniformity",
        intersection,
        &p.illumination_uniformity,
        Scoring::Formula(100.0 * intersection.max(0.0).powf(0.3)),
    ));
    // OFIQ NaturalColour: mean RGB of the cheek zones → CIELAB (D50); raw is the distance of
    // (a*, b*) from the skin box a* ∈ [5, 25], b* ∈ [5, 35]; Q = 200·(1 − S(raw; 0, 10)).
    let natural = natural_colour(&planes.rgb, &[left_zone, right_zone]);
    out.push(judged(
        "natural_colour",
        natural,
        &p.natural_colour,
        Scoring::Formula(200.0 * (1.0 - sigmoid(natural, 0.0, 10.0))),
    ));

    // Background: the area beside and above the head, down to about the nose, outside an
    // ellipse around the head with its hair. OFIQ BackgroundUniformity's raw value is the
    // mean Sobel gradient magnitude over the background, Q = 190·(1 − S(raw; 10, 100)).
    let (gradient, lightness) = background(planes, g, eye_mid, t, &p.geometry);
    out.push(judged(
        "background_uniformity",
        gradient,
        &p.background_uniformity,
        Scoring::Formula(190.0 * (1.0 - sigmoid(gradient, 10.0, 100.0))),
    ));
    // Mean grey level (0–255) of the same area: a light background is required.
    out.push(judged(
        "background_lightness",
        lightness,
        &p.background_lightness,
        Scoring::FromBand,
    ));
    // Sharpness: OFIQ uses a random forest over Laplacian/Sobel statistics; here the ratio
    // of mean |Laplacian| to mean Sobel magnitude on the face resampled to 96×96 px. Blur
    // removes the finest detail first, so the ratio falls; contrast cancels out.
    out.push(judged(
        "sharpness",
        sharpness(&planes.gray, &g.bounds),
        &p.sharpness,
        Scoring::FromBand,
    ));
}

fn judged(name: &'static str, raw: f64, band: &crate::profile::Band, scoring: Scoring) -> Measure {
    Measure::judged(Subject::Photo, name, raw, band, scoring)
}

/// Is (x, y) inside the ellipse inscribed in `r`?
fn in_ellipse(r: &Rect, x: f64, y: f64, grow: f64) -> bool {
    let rx = (r.width / 2.0 * grow).max(1e-6);
    let ry = (r.height / 2.0 * grow).max(1e-6);
    let dx = (x - r.centre_x()) / rx;
    let dy = (y - r.centre_y()) / ry;
    dx * dx + dy * dy <= 1.0
}

fn masked_histogram(plane: &Luminance, face: &Rect) -> [u64; 256] {
    let mut histogram = [0u64; 256];
    let (x0, y0, x1, y1) = face.clip(plane.width(), plane.height());
    for y in y0..y1 {
        for x in x0..x1 {
            if in_ellipse(face, x as f64 + 0.5, y as f64 + 0.5, 0.9) {
                let v = plane.at(x, y);
                if let Some(bin) = histogram.get_mut(usize::from(v)) {
                    *bin += 1;
                }
            }
        }
    }
    histogram
}

/// Bins of the cheek histograms. OFIQ uses 256 on a face aligned to 113 px between the eyes;
/// the zones here are often smaller, and 256 bins over a few hundred pixels would make even
/// identical lighting look uneven, so the luminance is binned by 8 levels.
const CHEEK_BINS: usize = 32;

fn zone_histogram(plane: &Luminance, zone: &Rect) -> Option<[f64; CHEEK_BINS]> {
    let mut histogram = [0f64; CHEEK_BINS];
    let (x0, y0, x1, y1) = zone.clip(plane.width(), plane.height());
    let count = ((x1 - x0) * (y1 - y0)) as f64;
    if count < 1.0 {
        return None;
    }
    for y in y0..y1 {
        for x in x0..x1 {
            let bin = usize::from(plane.at(x, y)) * CHEEK_BINS / 256;
            if let Some(cell) = histogram.get_mut(bin) {
                *cell += 1.0 / count;
            }
        }
    }
    Some(histogram)
}

fn histogram_intersection(plane: &Luminance, left: &Rect, right: &Rect) -> f64 {
    match (zone_histogram(plane, left), zone_histogram(plane, right)) {
        (Some(l), Some(r)) => l.iter().zip(r.iter()).map(|(a, b)| a.min(*b)).sum(),
        _ => f64::NAN,
    }
}

fn natural_colour(rgb: &RgbImage, zones: &[Rect]) -> f64 {
    let (width, height) = rgb.dimensions();
    let mut sum = [0f64; 3];
    let mut count = 0f64;
    for zone in zones {
        let (x0, y0, x1, y1) = zone.clip(width as usize, height as usize);
        for y in y0..y1 {
            for x in x0..x1 {
                if let Some(px) = rgb.get_pixel_checked(x as u32, y as u32) {
                    for (s, &c) in sum.iter_mut().zip(px.0.iter()) {
                        *s += f64::from(c);
                    }
                    count += 1.0;
                }
            }
        }
    }
    if count < 1.0 {
        return f64::NAN;
    }
    let mean = sum.map(|s| (s / count).round().clamp(0.0, 255.0) as u8);
    let (_, a, b) = srgb_to_lab_d50(mean);
    if a < 0.0 || b < 0.0 {
        // OFIQ: a negative a* or b* is not skin at all.
        return 100.0;
    }
    let da = (5.0 - a).max(a - 25.0).max(0.0);
    let db = (5.0 - b).max(b - 35.0).max(0.0);
    (da * da + db * db).sqrt()
}

/// sRGB → CIELAB under D50 (the Bradford-adapted sRGB matrix, as ICC profiles use).
fn srgb_to_lab_d50(rgb: [u8; 3]) -> (f64, f64, f64) {
    let [r, g, b] = rgb.map(srgb_to_linear);
    let x = 0.436_074_7 * r + 0.385_064_9 * g + 0.143_080_4 * b;
    let y = 0.222_504_5 * r + 0.716_878_6 * g + 0.060_616_9 * b;
    let z = 0.013_932_2 * r + 0.097_104_5 * g + 0.714_173_3 * b;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x / 0.964_22), f(y), f(z / 0.825_21));
    (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz))
}

fn background(
    planes: &Planes,
    g: &Geometry,
    eye_mid: Point,
    t: f64,
    model: &crate::profile::FaceGeometryModel,
) -> (f64, f64) {
    let plane = &planes.gray;
    // The head with hair: as wide as the profile says, from above the crown to the chin.
    let head_width = g.bounds.width * model.head_width_per_box_width;
    let head_top = g.crown_y - 0.1 * (g.chin_y - g.crown_y);
    let head = Rect {
        x: g.bounds.centre_x() - head_width / 2.0,
        y: head_top,
        width: head_width,
        height: g.chin_y - head_top,
    };
    let bottom = (eye_mid.y + 0.5 * t).clamp(0.0, plane.height as f64) as usize;
    let border = 2usize;
    let mut gradient = 0f64;
    let mut level = 0f64;
    let mut count = 0f64;
    let (cx, cy) = (head.centre_x(), head.centre_y());
    let (rx, ry) = ((head.width / 2.0).max(1e-6), (head.height / 2.0).max(1e-6));
    for y in border..bottom.min(plane.height.saturating_sub(border)) {
        let dy = (y as f64 + 0.5 - cy) / ry;
        // The head ellipse's horizontal extent on this row, skipped in one go.
        let half = if dy.abs() < 1.0 {
            rx * (1.0 - dy * dy).sqrt()
        } else {
            -1.0
        };
        let (skip_from, skip_to) = (cx - half - 0.5, cx + half - 0.5);
        for x in border..plane.width.saturating_sub(border) {
            let xf = x as f64;
            if xf >= skip_from && xf <= skip_to {
                continue;
            }
            gradient += f64::from(plane.sobel(x as isize, y as isize));
            level += f64::from(plane.at(x as isize, y as isize));
            count += 1.0;
        }
    }
    // Too little background to judge: a face filling the frame is reported through the
    // geometry measures; here the measures cannot vouch for anything.
    if count < 0.01 * (plane.width * plane.height) as f64 {
        return (f64::NAN, f64::NAN);
    }
    (gradient / count, level / count)
}

fn sharpness(plane: &Gray, face: &Rect) -> f64 {
    const SIDE: usize = 96;
    let inner = Rect {
        x: face.x + 0.1 * face.width,
        y: face.y + 0.1 * face.height,
        width: 0.8 * face.width,
        height: 0.8 * face.height,
    };
    let mut canonical = Gray::new(SIDE, SIDE);
    // Average a few samples per output pixel so a large face is not aliased.
    let taps = ((inner.width / SIDE as f64).ceil() as usize).clamp(1, 4);
    // The samples form a grid: a column's x depends only on (tx, sx) and a row's y only on
    // (ty, sy), so each is split into pixel and weight once, not once per sample.
    let axis = |start: f64, length: f64| -> Vec<SamplePosition> {
        (0..SIDE)
            .flat_map(|t| {
                (0..taps).map(move |s| {
                    SamplePosition::new(
                        start + (t as f64 + (s as f64 + 0.5) / taps as f64) * length / SIDE as f64,
                    )
                })
            })
            .collect()
    };
    let (columns, rows) = (axis(inner.x, inner.width), axis(inner.y, inner.height));
    for (out, row_taps) in canonical
        .data
        .chunks_exact_mut(SIDE)
        .zip(rows.chunks_exact(taps))
    {
        for (px, column_taps) in out.iter_mut().zip(columns.chunks_exact(taps)) {
            let mut sum = 0.0;
            for &y in row_taps {
                for &x in column_taps {
                    sum += plane.sample_at(x, y);
                }
            }
            *px = round_to_u8(sum / (taps * taps) as f64);
        }
    }
    let mut laplacian = 0f64;
    let mut gradient = 0f64;
    for y in 1..SIDE as isize - 1 {
        for x in 1..SIDE as isize - 1 {
            laplacian += f64::from(canonical.laplacian(x, y).abs());
            gradient += f64::from(canonical.sobel(x, y));
        }
    }
    if gradient < 1.0 {
        // A flat face patch has no detail to judge; treat it as blurred.
        return 0.0;
    }
    laplacian / gradient
}

/// Mean chroma (max − min of R, G, B; 0–255) over `region` or the whole image.
fn mean_chroma(rgb: &RgbImage, region: Option<Rect>) -> f64 {
    let (width, height) = rgb.dimensions();
    let (x0, y0, x1, y1) = match region {
        Some(r) => r.clip(width as usize, height as usize),
        None => (0, 0, width as usize, height as usize),
    };
    let mut sum = 0u64;
    let mut count = 0u64;
    // `clip` keeps the region inside the image, so each row's span is a plain slice.
    for row in rgb
        .as_raw()
        .chunks_exact((width as usize * 3).max(1))
        .take(y1)
        .skip(y0)
    {
        for px in row.get(x0 * 3..x1 * 3).unwrap_or(&[]).chunks_exact(3) {
            let [r, g, b] = [px[0], px[1], px[2]];
            sum += u64::from(r.max(g).max(b) - r.min(g).min(b));
            count += 1;
        }
    }
    if count == 0 {
        return f64::NAN;
    }
    sum as f64 / count as f64
}

/// JPEG blockiness: mean absolute step between horizontally and vertically adjacent pixels
/// (perceptual grey), grouped by position modulo 8. Heavy compression makes the steps across
/// the 8×8 block edges larger than the others. Raw = the largest phase's mean over the mean
/// of the other seven (1.0: no grid), in each direction, the larger of the two; the phase is
/// searched so that cropping or rotating a JPEG does not hide its grid. Read straight from
/// the original RGB, one row at a time (this is the one full-resolution pass).
fn blockiness(image: &RgbImage) -> f64 {
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width < 16 || height < 16 {
        return 1.0;
    }
    let mut horizontal = [0u64; 8];
    let mut vertical = [0u64; 8];
    let mut previous = vec![0u8; width];
    let mut current = vec![0u8; width];
    let mut steps = vec![0u8; width - 1];
    // Rows are summed in blocks short enough for u32 sums (a block of 2¹⁶ steps of at most
    // 255 fits), a multiple of 8 long so that the phases stay aligned. Summing in u32 lanes,
    // without a branch or a phase index per pixel, lets the loops vectorise.
    const BLOCK: usize = 1 << 16;
    for (y, row) in image.as_raw().chunks_exact(width * 3).enumerate() {
        for (grey, px) in current.iter_mut().zip(row.chunks_exact(3)) {
            *grey = luma_of(px[0], px[1], px[2]);
        }
        // The step between x and x + 1 belongs to phase x mod 8: lane x mod 8 of each
        // chunk of 8.
        for ((step, &a), &b) in steps.iter_mut().zip(&current).zip(current.iter().skip(1)) {
            *step = a.abs_diff(b);
        }
        for block in steps.chunks(BLOCK) {
            let mut lanes = [0u32; 8];
            let mut chunks = block.chunks_exact(8);
            for chunk in &mut chunks {
                for (lane, &step) in lanes.iter_mut().zip(chunk) {
                    *lane += u32::from(step);
                }
            }
            for (lane, &step) in lanes.iter_mut().zip(chunks.remainder()) {
                *lane += u32::from(step);
            }
            for (sum, lane) in horizontal.iter_mut().zip(lanes) {
                *sum += u64::from(lane);
            }
        }
        if y > 0 {
            // The step between row y − 1 and row y belongs to phase (y − 1) mod 8.
            for (above, here) in previous.chunks(BLOCK).zip(current.chunks(BLOCK)) {
                let step: u32 = above
                    .iter()
                    .zip(here)
                    .map(|(a, b)| u32::from(a.abs_diff(*b)))
                    .sum();
                vertical[(y - 1) & 7] += u64::from(step);
            }
        }
        std::mem::swap(&mut previous, &mut current);
    }
    // Each phase of a direction covers (almost) the same number of pixel pairs, so the sums
    // compare like means.
    let ratio = |sums: [u64; 8]| {
        let (at, &peak) = sums
            .iter()
            .enumerate()
            .max_by_key(|(_, &s)| s)
            .unwrap_or((0, &0));
        let others = sums
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, &s)| s as f64)
            .sum::<f64>()
            / 7.0;
        // A flat image has no steps at all: no grid to speak of.
        if others < 0.05 * (width * height / 8) as f64 {
            1.0
        } else {
            peak as f64 / others
        }
    };
    ratio(horizontal).max(ratio(vertical))
}
