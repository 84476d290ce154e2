//! The signature check: is there a signature, drawn in dark ink on clean light paper,
//! whole and of a signature's shape?
//!
//! Ink is found by thresholding against the paper: the paper level is the median grey
//! (ink covers far less than half of a signature image), a pixel is ink when its 3×3
//! smoothed grey is `ink_threshold` darker, and connected ink blobs smaller than
//! `speck_fraction` of the image are dust, not strokes.

use std::collections::VecDeque;

use serde::Serialize;

use crate::error::IngestError;
use crate::ingest::{decode, ImageFormat};
use crate::measure::{overall, Measure, Scoring, Subject, Verdict};
use crate::profile::{Band, Profile, SignatureProfile};
use crate::raster::{downscale_rgb, luma, Gray};

/// The result of checking one signature image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatureReport {
    pub verdict: Verdict,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Bounding box of the ink in the upload's pixels: x, y, width, height.
    pub ink_bounds: Option<[u32; 4]>,
    pub measures: Vec<Measure>,
    pub profile: String,
    pub provisional_profile: bool,
}

impl SignatureReport {
    pub fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.name == name)
    }
}

fn judged(name: &'static str, raw: f64, band: &Band) -> Measure {
    Measure::judged(Subject::Signature, name, raw, band, Scoring::FromBand)
}

/// Checks an uploaded signature image. `Err` means it could not be read as an image within
/// the profile's ingest limits.
pub fn check_signature(bytes: &[u8], profile: &Profile) -> Result<SignatureReport, IngestError> {
    let decoded = decode(bytes, &profile.ingest)?;
    let (width, height) = decoded.image.dimensions();
    let s = &profile.signature;
    let longest = width.max(height).max(1);
    let scale = (f64::from(s.analysis_max_side_px) / f64::from(longest)).min(1.0);
    let rgb = downscale_rgb(
        &decoded.image,
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    );
    let plane = luma(&rgb);
    let (measures, bounds) = measure(&plane, s);
    let back = 1.0 / scale;
    let ink_bounds = bounds.map(|[x0, y0, x1, y1]| {
        let to = |v: usize| ((v as f64) * back).round() as u32;
        [
            to(x0),
            to(y0),
            to(x1).saturating_sub(to(x0)),
            to(y1).saturating_sub(to(y0)),
        ]
    });
    Ok(SignatureReport {
        verdict: overall(&measures),
        format: decoded.format,
        width,
        height,
        ink_bounds,
        measures,
        profile: profile.name.clone(),
        provisional_profile: profile.provisional,
    })
}

/// Median of an 8-bit histogram.
fn median(histogram: &[u64; 256]) -> f64 {
    let total: u64 = histogram.iter().sum();
    let mut seen = 0u64;
    for (value, &n) in histogram.iter().enumerate() {
        seen += n;
        if seen * 2 >= total && total > 0 {
            return value as f64;
        }
    }
    f64::NAN
}

fn box_blur3(plane: &Gray) -> Gray {
    let mut out = Gray::new(plane.width, plane.height);
    for y in 0..plane.height {
        for x in 0..plane.width {
            let mut sum = 0u32;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    sum += u32::from(plane.at(x as isize + dx, y as isize + dy));
                }
            }
            if let Some(px) = out.data.get_mut(y * plane.width + x) {
                *px = ((sum + 4) / 9) as u8;
            }
        }
    }
    out
}

/// 8-connected components of `mask`: a label per pixel (0 = none) and each label's size.
fn components(mask: &[bool], width: usize, height: usize) -> (Vec<u32>, Vec<usize>) {
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = vec![0usize]; // label 0 unused
    let mut queue = VecDeque::new();
    for start in 0..mask.len() {
        if !mask.get(start).copied().unwrap_or(false)
            || labels.get(start).copied().unwrap_or(1) != 0
        {
            continue;
        }
        let label = sizes.len() as u32;
        let mut size = 0usize;
        if let Some(l) = labels.get_mut(start) {
            *l = label;
        }
        queue.push_back(start);
        while let Some(at) = queue.pop_front() {
            size += 1;
            let (x, y) = ((at % width) as isize, (at / width) as isize);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= width as isize || ny >= height as isize {
                        continue;
                    }
                    let next = ny as usize * width + nx as usize;
                    if mask.get(next).copied().unwrap_or(false)
                        && labels.get(next).copied().unwrap_or(1) == 0
                    {
                        if let Some(l) = labels.get_mut(next) {
                            *l = label;
                        }
                        queue.push_back(next);
                    }
                }
            }
        }
        sizes.push(size);
    }
    (labels, sizes)
}

type Bounds = [usize; 4];

fn measure(plane: &Gray, s: &SignatureProfile) -> (Vec<Measure>, Option<Bounds>) {
    let (width, height) = (plane.width, plane.height);
    let total = (width * height).max(1);
    let mut histogram = [0u64; 256];
    for &v in &plane.data {
        if let Some(bin) = histogram.get_mut(usize::from(v)) {
            *bin += 1;
        }
    }
    let paper = median(&histogram);
    let smooth = box_blur3(plane);
    let cut = paper - s.ink_threshold;
    let candidates: Vec<bool> = smooth.data.iter().map(|&v| f64::from(v) < cut).collect();
    let (labels, sizes) = components(&candidates, width, height);
    let min_size = ((s.speck_fraction * total as f64).ceil() as usize).max(2);
    let kept: Vec<bool> = sizes.iter().map(|&n| n >= min_size).collect();
    let is_ink = |i: usize| {
        labels
            .get(i)
            .is_some_and(|&l| l != 0 && kept.get(l as usize).copied().unwrap_or(false))
    };
    let strokes = kept.iter().skip(1).filter(|&&k| k).count();

    let mut ink_histogram = [0u64; 256];
    let mut ink_pixels = 0usize;
    let mut bounds = [usize::MAX, usize::MAX, 0, 0];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if is_ink(i) {
                ink_pixels += 1;
                if let Some(bin) =
                    ink_histogram.get_mut(usize::from(plane.at(x as isize, y as isize)))
                {
                    *bin += 1;
                }
                bounds = [
                    bounds[0].min(x),
                    bounds[1].min(y),
                    bounds[2].max(x + 1),
                    bounds[3].max(y + 1),
                ];
            }
        }
    }

    // Background: pixels at least 2 px away from kept ink (anti-aliased stroke edges are
    // neither ink nor paper). Dust specks stay in: they are what "clean" is about.
    let near_ink = dilate(
        &(0..total).map(is_ink).collect::<Vec<_>>(),
        width,
        height,
        2,
    );
    let (mut sum, mut sum_sq, mut count) = (0f64, 0f64, 0f64);
    for (i, &v) in plane.data.iter().enumerate() {
        if !near_ink.get(i).copied().unwrap_or(true) {
            let v = f64::from(v);
            sum += v;
            sum_sq += v * v;
            count += 1.0;
        }
    }
    let noise = if count > 0.0 {
        (sum_sq / count - (sum / count).powi(2)).max(0.0).sqrt()
    } else {
        f64::NAN
    };

    let mut measures = vec![judged(
        "ink_present",
        ink_pixels as f64 / total as f64,
        &s.ink_present,
    )];
    let has_ink = ink_pixels > 0;
    if has_ink {
        let [x0, y0, x1, y1] = bounds;
        let box_area = ((x1 - x0) * (y1 - y0)).max(1) as f64;
        measures.push(judged(
            "ink_coverage",
            ink_pixels as f64 / box_area,
            &s.ink_coverage,
        ));
        measures.push(judged(
            "contrast",
            paper - median(&ink_histogram),
            &s.contrast,
        ));
    }
    measures.push(judged("background_noise", noise, &s.background_noise));
    measures.push(judged(
        "background_lightness",
        paper,
        &s.background_lightness,
    ));
    if has_ink {
        let [x0, y0, x1, y1] = bounds;
        let aspect = (x1 - x0) as f64 / ((y1 - y0).max(1)) as f64;
        measures.push(judged("aspect_ratio", aspect, &s.aspect_ratio));
        let margin =
            x0.min(y0).min(width - x1).min(height - y1) as f64 / width.min(height).max(1) as f64;
        measures.push(judged("margin", margin, &s.margin));
        measures.push(judged("strokes", strokes as f64, &s.strokes));
    }
    (measures, has_ink.then_some(bounds))
}

/// Pixels within `radius` (Chebyshev) of a set pixel.
fn dilate(mask: &[bool], width: usize, height: usize, radius: usize) -> Vec<bool> {
    // Two separable passes of a running window.
    let mut horizontal = vec![false; mask.len()];
    for y in 0..height {
        for x in 0..width {
            let from = x.saturating_sub(radius);
            let to = (x + radius + 1).min(width);
            horizontal[y * width + x] =
                (from..to).any(|xx| mask.get(y * width + xx).copied().unwrap_or(false));
        }
    }
    let mut out = vec![false; mask.len()];
    for y in 0..height {
        let from = y.saturating_sub(radius);
        let to = (y + radius + 1).min(height);
        for x in 0..width {
            out[y * width + x] =
                (from..to).any(|yy| horizontal.get(yy * width + x).copied().unwrap_or(false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_eight_connected() {
        // (0,0) and (0,1) touch; (3,2) is apart.
        let mask = [
            true, false, false, false, true, false, false, false, false, false, false, true,
        ];
        let (_, sizes) = components(&mask, 4, 3);
        assert_eq!(&sizes[1..], &[2, 1]);
    }
}
