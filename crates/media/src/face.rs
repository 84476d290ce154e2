//! Face detection (SeetaFace via `rustface`, model compiled in) and eye localisation.
//!
//! SeetaFace returns boxes only. The eyes are then found as the darkest eye-sized windows in
//! the upper half of each side of the box (pupils, irises and lashes are the darkest
//! eye-sized features of a lit frontal face). This is a heuristic stand-in for OFIQ's
//! 98-point ADNet landmarks; when it gives an implausible pair the caller falls back to the
//! profile's box geometry.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::LazyLock;

use rustface::{Detector, ImageData, Model};

use crate::profile::DetectorSettings;
use crate::raster::{Gray, Point, Rect};

/// SeetaFace frontal detector v1.0 (BSD-2-Clause, VIPL/ICT-CAS; see
/// `models/LICENSE-seetaface.txt`), copied from the `rustface` 0.1.7 crate so that nothing is
/// read from disk or the network at run time.
const MODEL_BYTES: &[u8] = include_bytes!("../models/seeta_fd_frontal_v1.0.bin");

static MODEL: LazyLock<Option<Model>> = LazyLock::new(|| {
    // The parser panics on an unknown classifier kind; the embedded file is known good, but
    // a panic here would poison every later check, so it is caught.
    catch_unwind(|| rustface::read_model(MODEL_BYTES).ok())
        .ok()
        .flatten()
});

thread_local! {
    // A detector owns scratch buffers; one per thread avoids rebuilding it for every upload.
    static DETECTOR: RefCell<Option<Box<dyn Detector>>> = const { RefCell::new(None) };
}

/// One face found by the detector, in the coordinates of the plane it was searched on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedFace {
    pub bounds: Rect,
    pub score: f64,
}

/// The faces in `gray`, or `None` if the detector could not run (model unreadable, or it
/// failed internally): the caller must then not claim a face count.
pub fn detect_faces(gray: &Gray, settings: &DetectorSettings) -> Option<Vec<DetectedFace>> {
    let longest = gray.width.max(gray.height).max(1) as f64;
    let scale = (f64::from(settings.detection_max_side_px) / longest).min(1.0);
    let width = ((gray.width as f64 * scale).round() as usize).max(1);
    let height = ((gray.height as f64 * scale).round() as usize).max(1);
    // The detector's fixed 40-px window and 20-px minimum cannot look at anything smaller.
    if width < 40 || height < 40 {
        return Some(Vec::new());
    }
    let plane = gray.downscale(width, height);
    let model = MODEL.as_ref()?;

    let found = DETECTOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let mut detector = match slot.take() {
            Some(detector) => detector,
            None => rustface::create_detector_with_model(model.clone()),
        };
        // The profile validator keeps these in the ranges where rustface does not panic.
        detector.set_min_face_size(settings.min_face_px.max(20));
        detector.set_score_thresh(settings.score_threshold.max(f64::MIN_POSITIVE));
        detector.set_pyramid_scale_factor(settings.pyramid_scale_factor.clamp(0.11, 0.98));
        detector.set_slide_window_step(
            settings.window_step_px.max(1),
            settings.window_step_px.max(1),
        );
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let image = ImageData::new(&plane.data, width as u32, height as u32);
            detector.detect(&image)
        }));
        match outcome {
            Ok(faces) => {
                *slot = Some(detector);
                Some(faces)
            }
            // A detector that panicked may hold broken state: drop it, build anew next time.
            Err(_) => None,
        }
    })?;

    let back = 1.0 / scale;
    Some(
        found
            .iter()
            .map(|face| {
                let b = face.bbox();
                DetectedFace {
                    bounds: Rect {
                        x: f64::from(b.x()),
                        y: f64::from(b.y()),
                        width: f64::from(b.width()),
                        height: f64::from(b.height()),
                    }
                    .scaled(back),
                    score: face.score(),
                }
            })
            .collect(),
    )
}

/// Summed-area table for constant-time window means.
struct Integral {
    width: usize,
    height: usize,
    sums: Vec<u64>,
}

impl Integral {
    fn new(gray: &Gray) -> Integral {
        let (width, height) = (gray.width, gray.height);
        let mut sums = vec![0u64; (width + 1) * (height + 1)];
        // Row by row: each row of sums is the one above plus the running sum of the pixel
        // row (the first row and column stay zero).
        for (y, pixels) in gray
            .data
            .chunks_exact(width.max(1))
            .take(height)
            .enumerate()
        {
            let (done, rest) = sums.split_at_mut((y + 1) * (width + 1));
            let above = done.get(y * (width + 1) + 1..).unwrap_or(&[]);
            let cells = rest.get_mut(1..width + 1).unwrap_or(&mut []);
            let mut row = 0u64;
            for ((cell, &above), &v) in cells.iter_mut().zip(above).zip(pixels) {
                row += u64::from(v);
                *cell = above + row;
            }
        }
        Integral {
            width,
            height,
            sums,
        }
    }

    /// Mean over [x0, x1) × [y0, y1), clipped to the plane.
    fn mean(&self, x0: isize, y0: isize, x1: isize, y1: isize) -> f64 {
        let cx = |v: isize| v.clamp(0, self.width as isize) as usize;
        let cy = |v: isize| v.clamp(0, self.height as isize) as usize;
        let (x0, x1, y0, y1) = (cx(x0), cx(x1), cy(y0), cy(y1));
        if x1 <= x0 || y1 <= y0 {
            return f64::MAX;
        }
        let at = |x: usize, y: usize| {
            self.sums
                .get(y * (self.width + 1) + x)
                .copied()
                .unwrap_or(0)
        };
        let total = at(x1, y1) + at(x0, y0) - at(x0, y1) - at(x1, y0);
        total as f64 / ((x1 - x0) * (y1 - y0)) as f64
    }
}

/// The image-left and image-right eye centres inside `face` (coordinates of `gray`), or
/// `None` when no plausible pair is found.
pub fn locate_eyes(gray: &Gray, face: &Rect) -> Option<(Point, Point)> {
    let side = face.width.min(face.height);
    if !(side.is_finite() && side >= 12.0) {
        return None;
    }
    let integral = Integral::new(gray);
    // An eye with its lashes is about a fifth of the box wide and half that high.
    let half_w = (side * 0.09).max(1.0);
    let half_h = (side * 0.05).max(1.0);
    // Score: the window's mean minus the mean of the ring around it (three times its size).
    // An eye is darker than the skin around it; the hair at the box corners and the
    // eyebrows' surroundings are not as dark relative to theirs.
    let darkest = |x_from: f64, x_to: f64| -> Option<(Point, f64)> {
        let mut best: Option<(Point, f64, f64)> = None;
        let (y_from, y_to) = (face.y + 0.26 * face.height, face.y + 0.52 * face.height);
        let step = (side / 80.0).max(1.0);
        let mut y = y_from;
        while y <= y_to {
            let mut x = x_from;
            while x <= x_to {
                let (x0, y0) = ((x - half_w) as isize, (y - half_h) as isize);
                let (x1, y1) = ((x + half_w) as isize, (y + half_h) as isize);
                let (w, h) = (x1 - x0, y1 - y0);
                let inner = integral.mean(x0, y0, x1, y1);
                let outer = integral.mean(x0 - w, y0 - h, x1 + w, y1 + h);
                // Ring mean from the 3×3 block and the inner block.
                let ring = (outer * 9.0 - inner) / 8.0;
                let score = inner - ring;
                if best.is_none_or(|(_, _, s)| score < s) {
                    best = Some((Point { x, y }, inner, score));
                }
                x += step;
            }
            y += step;
        }
        best.map(|(point, mean, _)| (point, mean))
    };
    let (left, left_mean) = darkest(face.x + 0.18 * face.width, face.x + 0.45 * face.width)?;
    let (right, right_mean) = darkest(face.x + 0.55 * face.width, face.x + 0.82 * face.width)?;
    // Refine each to the darkest iris-sized spot inside its eye window: the coarse window
    // centres on the eye with its lashes and can sit towards a corner.
    let iris = (side * 0.025).max(1.0);
    let refine = |centre: Point| -> Point {
        let mut best = (centre, f64::MAX);
        let step = (side / 120.0).max(0.5);
        let mut y = centre.y - half_h;
        while y <= centre.y + half_h {
            let mut x = centre.x - half_w;
            while x <= centre.x + half_w {
                let mean = integral.mean(
                    (x - iris) as isize,
                    (y - iris) as isize,
                    (x + iris).ceil() as isize,
                    (y + iris).ceil() as isize,
                );
                if mean < best.1 {
                    best = (Point { x, y }, mean);
                }
                x += step;
            }
            y += step;
        }
        best.0
    };
    let (left, right) = (refine(left), refine(right));
    let face_mean = integral.mean(
        face.x as isize,
        face.y as isize,
        face.right() as isize,
        face.bottom() as isize,
    );
    let distance = left.distance(&right);
    let plausible = (0.25..=0.7).contains(&(distance / face.width))
        // Eyes are darker than the face around them; on a featureless box they are not.
        && left_mean < face_mean - 8.0
        && right_mean < face_mean - 8.0;
    plausible.then_some((left, right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::raster::luma;

    fn gray_of(name: &str, edit: impl Fn(image::RgbImage) -> image::RgbImage) -> Gray {
        let path = format!("{}/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(path).expect("the corpus is committed");
        let image = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
        luma(&edit(image))
    }

    /// Two half-size copies side by side, as the corpus generator's two-faces variant.
    fn two_people(image: image::RgbImage) -> image::RgbImage {
        use image::imageops;
        let (w, h) = image.dimensions();
        let half = imageops::resize(&image, w / 2, h / 2, imageops::FilterType::Triangle);
        let mut out = image::RgbImage::from_pixel(w, h, *image.get_pixel(2, 2));
        imageops::overlay(&mut out, &half, 0, i64::from(h / 4));
        imageops::overlay(&mut out, &half, i64::from(w / 2), i64::from(h / 4));
        out
    }

    /// The vendored rustface (vendor/rustface, made faster) finds the very boxes upstream
    /// rustface 0.1.7 found on these pictures (recorded with upstream), with scores equal
    /// but for float rounding (its inner products now sum in a different order).
    #[test]
    fn the_patched_detector_finds_what_upstream_found() {
        let settings = Profile::default_profile().photo.detector;
        // A box as upstream gave it: x, y, width, height, score.
        type Found = (f64, f64, f64, f64, f64);
        let upstream: [(&str, Gray, &[Found]); 4] = [
            (
                "portrait",
                gray_of("portrait.jpg", |i| i),
                &[(132.0, 252.0, 336.0, 336.0, 23.777_691_483)],
            ),
            (
                "portrait mirrored",
                gray_of("portrait.jpg", |i| image::imageops::flip_horizontal(&i)),
                &[(128.0, 240.0, 360.0, 360.0, 28.498_617_112)],
            ),
            (
                "two people",
                gray_of("portrait.jpg", two_people),
                &[
                    (56.0, 320.0, 176.0, 176.0, 12.869_672_715),
                    (356.0, 320.0, 176.0, 176.0, 12.931_047_022),
                ],
            ),
            ("cat", gray_of("cat.jpg", |i| i), &[]),
        ];
        for (name, gray, expected) in &upstream {
            let faces = detect_faces(gray, &settings).expect("the detector runs");
            assert_eq!(faces.len(), expected.len(), "{name}: {faces:?}");
            for (face, &(x, y, width, height, score)) in faces.iter().zip(expected.iter()) {
                let b = face.bounds;
                assert_eq!(
                    (b.x, b.y, b.width, b.height),
                    (x, y, width, height),
                    "{name}"
                );
                assert!(
                    (face.score - score).abs() < 1e-5,
                    "{name}: score {}",
                    face.score
                );
            }
        }
    }
}
