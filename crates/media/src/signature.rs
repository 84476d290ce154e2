//! The signature check: is there a signature, drawn in dark ink on clean light paper,
//! whole and of a signature's shape?
//!
//! Ink is found by thresholding against the paper: the paper level is the median grey
//! (ink covers far less than half of a signature image), a pixel is ink when its 3×3
//! smoothed grey is `ink_threshold` darker, and connected ink blobs smaller than
//! `speck_fraction` of the image are dust, not strokes.

use image::{DynamicImage, GenericImageView};
use serde::Serialize;

use crate::error::IngestError;
use crate::ingest::{decode_upright, flatten_onto_white, ImageFormat};
use crate::measure::{overall, Measure, Scoring};
use crate::profile::{Band, Profile, SignatureProfile};
use crate::raster::{downscale_rgb, luma, Gray};
use crate::verdict::{Subject, Verdict};

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
    let (format, image) = decode_upright(bytes, &profile.ingest)?;
    let (width, height) = image.dimensions();
    let s = &profile.signature;
    let longest = width.max(height).max(1);
    let scale = (f64::from(s.analysis_max_side_px) / f64::from(longest)).min(1.0);
    let plane = analysis_plane(
        image,
        ((f64::from(width) * scale).round() as u32).max(1),
        ((f64::from(height) * scale).round() as u32).max(1),
    );
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
        format,
        width,
        height,
        ink_bounds,
        measures,
        profile: profile.name.clone(),
        provisional_profile: profile.provisional,
    })
}

/// The upload as perceptual grey ([`luma`]) at `width` × `height`: the area-average
/// downscale of its 8-bit RGB form (alpha flattened onto white), then luma. An 8-bit grey
/// upload without alpha skips the RGB round trip: its RGB form has r = g = b, every channel
/// of the downscale is the downscale of the grey plane (same cells, same rounding), and the
/// luma of a grey pixel is that grey, so the result is the same.
fn analysis_plane(image: DynamicImage, width: u32, height: u32) -> Gray {
    match image {
        DynamicImage::ImageLuma8(grey) => {
            let (source_width, source_height) = grey.dimensions();
            let plane = Gray {
                width: source_width as usize,
                height: source_height as usize,
                data: grey.into_raw(),
            };
            if (width, height) == (source_width, source_height) {
                plane
            } else {
                plane.downscale(width as usize, height as usize)
            }
        }
        other => {
            let rgb = flatten_onto_white(other);
            if rgb.dimensions() == (width, height) {
                // `downscale_rgb` would only copy it.
                luma(&rgb)
            } else {
                luma(&downscale_rgb(&rgb, width, height))
            }
        }
    }
}

/// Histogram of 8-bit values. Counted in four interleaved tables, summed at the end: paper
/// is nearly one grey level, and a single table would make every increment wait for the
/// one before it to the same counter.
fn histogram(values: &[u8]) -> [u64; 256] {
    let mut tables = [[0u32; 256]; 4];
    let mut quads = values.chunks_exact(4);
    for quad in &mut quads {
        for (table, &v) in tables.iter_mut().zip(quad) {
            table[usize::from(v)] += 1;
        }
    }
    for &v in quads.remainder() {
        tables[0][usize::from(v)] += 1;
    }
    let mut histogram = [0u64; 256];
    for table in &tables {
        for (h, &n) in histogram.iter_mut().zip(table) {
            *h += u64::from(n);
        }
    }
    histogram
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

// What a pixel is, in the one byte per pixel `measure` keeps (bit flags, so that "is kept
// ink" is a mask test the dilation can OR together).
/// Not an ink candidate.
const PAPER: u8 = 0;
/// Darker than the ink cut after smoothing, not yet assigned to a blob.
const CANDIDATE: u8 = 1;
/// In a blob too small to be a stroke (dust).
const DUST: u8 = 2;
/// In a blob kept as a stroke.
const INK: u8 = 4;

/// Ink candidates: pixels whose 3×3 box mean — edge pixels replicated, the mean rounded as
/// `(sum + 4) / 9` — is darker than `cut`; `CANDIDATE` there, `PAPER` elsewhere.
///
/// The box sum is taken as three vertical sums of three (one buffer per row) added
/// horizontally, the same integer sum as adding the nine pixels, with whole-row slices
/// instead of a clamped lookup per neighbour. Which sums are dark is tabulated once from
/// `cut` (f64 comparison, exactly as for each smoothed pixel).
fn ink_candidates(plane: &Gray, cut: f64) -> Vec<u8> {
    let (width, height) = (plane.width, plane.height);
    let mut mask = vec![PAPER; width * height];
    if width == 0 || height == 0 {
        return mask;
    }
    // 9 × 255 = 2295 is the largest box sum.
    let dark: Vec<u8> = (0..=9 * 255u32)
        .map(|sum| {
            let mean = (sum + 4) / 9;
            if f64::from(mean) < cut {
                CANDIDATE
            } else {
                PAPER
            }
        })
        .collect();
    let mark = |sum: u16| dark.get(usize::from(sum)).copied().unwrap_or(PAPER);
    let row = |y: usize| plane.data.get(y * width..(y + 1) * width).unwrap_or(&[]);
    let mut columns = vec![0u16; width];
    for (y, out) in mask.chunks_exact_mut(width).enumerate() {
        let (above, here, below) = (
            row(y.saturating_sub(1)),
            row(y),
            row((y + 1).min(height - 1)),
        );
        for (((c, &a), &b), &d) in columns.iter_mut().zip(above).zip(here).zip(below) {
            *c = u16::from(a) + u16::from(b) + u16::from(d);
        }
        // Interior columns: three neighbouring column sums.
        if let Some(inner) = out.get_mut(1..width.saturating_sub(1)) {
            for (o, w) in inner.iter_mut().zip(columns.windows(3)) {
                *o = mark(w[0] + w[1] + w[2]);
            }
        }
        // The first and last columns replicate the edge.
        let column = |x: usize| columns.get(x).copied().unwrap_or(0);
        let last = width - 1;
        if let Some(o) = out.first_mut() {
            *o = mark(column(0) + column(0) + column(1.min(last)));
        }
        if last > 0 {
            if let Some(o) = out.last_mut() {
                *o = mark(column(last - 1) + column(last) + column(last));
            }
        }
    }
    mask
}

/// Index of the first `CANDIDATE` in `mask`. Candidates are sparse, so most of the time goes
/// into skipping paper: whole 32-byte chunks are tested at once (a loop without an early
/// exit, which the compiler vectorises), then the hit is located inside its chunk.
fn first_candidate(mask: &[u8]) -> Option<usize> {
    const CHUNK: usize = 32;
    let mut chunks = mask.chunks_exact(CHUNK);
    for (n, chunk) in (&mut chunks).enumerate() {
        if chunk.iter().fold(false, |any, &m| any | (m == CANDIDATE)) {
            return chunk
                .iter()
                .position(|&m| m == CANDIDATE)
                .map(|at| n * CHUNK + at);
        }
    }
    let tail = mask.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&m| m == CANDIDATE)
        .map(|at| tail + at)
}

/// Calls `found` with the pixel indices of each 8-connected blob of `CANDIDATE` pixels in
/// `mask` (each blob once, in scan order of its first pixel), after marking them `DUST`;
/// `found` may re-mark them.
fn each_component(
    mask: &mut [u8],
    width: usize,
    height: usize,
    mut found: impl FnMut(&[usize], &mut [u8]),
) {
    // The blob's pixels double as the breadth-first queue: `head` walks over them while
    // neighbours are appended.
    let mut blob: Vec<usize> = Vec::new();
    let mut from = 0;
    while let Some(offset) = mask.get(from..).and_then(first_candidate) {
        let start = from + offset;
        blob.clear();
        blob.push(start);
        if let Some(m) = mask.get_mut(start) {
            *m = DUST;
        }
        let mut head = 0;
        while let Some(&at) = blob.get(head) {
            head += 1;
            let (x, y) = (at % width, at / width);
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let next = ny * width + nx;
                    if let Some(m) = mask.get_mut(next) {
                        if *m == CANDIDATE {
                            *m = DUST;
                            blob.push(next);
                        }
                    }
                }
            }
        }
        found(&blob, mask);
        from = start + 1;
    }
}

type Bounds = [usize; 4];

fn measure(plane: &Gray, s: &SignatureProfile) -> (Vec<Measure>, Option<Bounds>) {
    let (width, height) = (plane.width, plane.height);
    let total = (width * height).max(1);
    let histogram = histogram(&plane.data);
    let paper = median(&histogram);
    let mut mask = ink_candidates(plane, paper - s.ink_threshold);

    // Blobs of candidates at least `min_size` pixels are strokes: their pixels become `INK`
    // and are counted as they are found.
    let min_size = ((s.speck_fraction * total as f64).ceil() as usize).max(2);
    let mut strokes = 0usize;
    let mut ink_histogram = [0u64; 256];
    let mut ink_pixels = 0usize;
    let mut bounds = [usize::MAX, usize::MAX, 0, 0];
    each_component(&mut mask, width, height, |blob, mask| {
        if blob.len() < min_size {
            return;
        }
        strokes += 1;
        ink_pixels += blob.len();
        for &i in blob {
            if let Some(m) = mask.get_mut(i) {
                *m = INK;
            }
            if let Some(&v) = plane.data.get(i) {
                ink_histogram[usize::from(v)] += 1;
            }
            let (x, y) = (i % width, i / width);
            bounds = [
                bounds[0].min(x),
                bounds[1].min(y),
                bounds[2].max(x + 1),
                bounds[3].max(y + 1),
            ];
        }
    });

    let noise = background_noise(plane, &mask);

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

/// Standard deviation of the grey of the background: pixels more than 2 px (Chebyshev) away
/// from kept ink (anti-aliased stroke edges are neither ink nor paper). Dust specks stay in:
/// they are what "clean" is about.
///
/// "Near ink" is the `INK` flag dilated by a 5-wide window, first along each row, then
/// down the columns five rows at a time. The sums are exact integers (as the f64 sums of
/// integer grey values were: every partial sum is far below 2⁵³), converted to f64 at the end.
fn background_noise(plane: &Gray, mask: &[u8]) -> f64 {
    const RADIUS: usize = 2;
    let (width, height) = (plane.width, plane.height);
    if width == 0 || height == 0 {
        return f64::NAN;
    }
    // Along the rows: the OR of each pixel's window, so `INK` set = ink within RADIUS.
    let mut near = vec![0u8; width * height];
    for (source, target) in mask.chunks_exact(width).zip(near.chunks_exact_mut(width)) {
        if width > 2 * RADIUS {
            // Interior: five shifted slices, no bounds to test per pixel.
            let windows = source
                .windows(2 * RADIUS + 1)
                .map(|w| w[0] | w[1] | w[2] | w[3] | w[4]);
            if let Some(inner) = target.get_mut(RADIUS..width - RADIUS) {
                for (t, any) in inner.iter_mut().zip(windows) {
                    *t = any;
                }
            }
        }
        // Borders (the whole row when it is narrow): the window clipped to the row.
        for x in (0..RADIUS.min(width)).chain(width.saturating_sub(RADIUS).max(RADIUS)..width) {
            let window = source
                .get(x.saturating_sub(RADIUS)..(x + RADIUS + 1).min(width))
                .unwrap_or(&[]);
            if let Some(t) = target.get_mut(x) {
                *t = window.iter().fold(0, |a, &m| a | m);
            }
        }
    }
    // Down the columns: OR the (up to) five rows around each row, then sum the grey of the
    // pixels with no ink near.
    let (mut sum, mut sum_sq, mut count) = (0u64, 0u64, 0u64);
    let mut around = vec![0u8; width];
    for (y, grey) in plane.data.chunks_exact(width).enumerate() {
        let rows = near
            .get(y.saturating_sub(RADIUS) * width..((y + RADIUS + 1).min(height)) * width)
            .unwrap_or(&[]);
        around.iter_mut().for_each(|a| *a = 0);
        for row in rows.chunks_exact(width) {
            for (a, &n) in around.iter_mut().zip(row) {
                *a |= n;
            }
        }
        // In u32 over blocks short enough not to overflow (4096 × 255² < 2³²), without a
        // branch per pixel, so that the loop vectorises.
        for (around, grey) in around.chunks(4096).zip(grey.chunks(4096)) {
            let (mut block_sum, mut block_sum_sq, mut block_count) = (0u32, 0u32, 0u32);
            for (&a, &v) in around.iter().zip(grey) {
                let keep = u32::from(a & INK == 0);
                let v = keep * u32::from(v);
                block_sum += v;
                block_sum_sq += v * v;
                block_count += keep;
            }
            sum += u64::from(block_sum);
            sum_sq += u64::from(block_sum_sq);
            count += u64::from(block_count);
        }
    }
    if count == 0 {
        return f64::NAN;
    }
    let (sum, sum_sq, count) = (sum as f64, sum_sq as f64, count as f64);
    (sum_sq / count - (sum / count).powi(2)).max(0.0).sqrt()
}

/// 8-connected components of `mask`: a label per pixel (0 = none) and each label's size.
#[cfg(test)]
fn components(mask: &[bool], width: usize, height: usize) -> (Vec<u32>, Vec<usize>) {
    let mut state: Vec<u8> = mask
        .iter()
        .map(|&m| if m { CANDIDATE } else { PAPER })
        .collect();
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = vec![0usize]; // label 0 unused
    each_component(&mut state, width, height, |blob, _| {
        let label = sizes.len() as u32;
        for &i in blob {
            labels[i] = label;
        }
        sizes.push(blob.len());
    });
    (labels, sizes)
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
