//! Small pixel tools the measures share: grey planes, area downscaling, gradients.
//! Everything here is bounds-checked by construction (coordinates clamped), so no input
//! size can make it index out of range.

use std::sync::LazyLock;

use image::RgbImage;

/// One 8-bit channel, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Gray {
    pub fn new(width: usize, height: usize) -> Gray {
        Gray {
            width,
            height,
            data: vec![0; width * height],
        }
    }

    /// The pixel at (x, y), with coordinates clamped to the plane (edge replication).
    #[inline]
    pub fn at(&self, x: isize, y: isize) -> u8 {
        if self.width == 0 || self.height == 0 {
            return 0;
        }
        let x = x.clamp(0, self.width as isize - 1) as usize;
        let y = y.clamp(0, self.height as isize - 1) as usize;
        self.data.get(y * self.width + x).copied().unwrap_or(0)
    }

    /// Sobel gradient magnitude at (x, y).
    #[inline]
    pub fn sobel(&self, x: isize, y: isize) -> f32 {
        // Interior pixels read their 3×3 neighbourhood directly; the border goes through
        // the clamping accessor.
        if x >= 1 && y >= 1 && (x as usize) + 1 < self.width && (y as usize) + 1 < self.height {
            let w = self.width;
            let at = (y as usize) * w + x as usize;
            if let (Some(above), Some(row), Some(below)) = (
                self.data.get(at - w - 1..at - w + 2),
                self.data.get(at - 1..at + 2),
                self.data.get(at + w - 1..at + w + 2),
            ) {
                let p = |r: &[u8], i: usize| f32::from(r[i]);
                let gx = (p(above, 2) + 2.0 * p(row, 2) + p(below, 2))
                    - (p(above, 0) + 2.0 * p(row, 0) + p(below, 0));
                let gy = (p(below, 0) + 2.0 * p(below, 1) + p(below, 2))
                    - (p(above, 0) + 2.0 * p(above, 1) + p(above, 2));
                return (gx * gx + gy * gy).sqrt();
            }
        }
        let p = |dx: isize, dy: isize| f32::from(self.at(x + dx, y + dy));
        let gx = (p(1, -1) + 2.0 * p(1, 0) + p(1, 1)) - (p(-1, -1) + 2.0 * p(-1, 0) + p(-1, 1));
        let gy = (p(-1, 1) + 2.0 * p(0, 1) + p(1, 1)) - (p(-1, -1) + 2.0 * p(0, -1) + p(1, -1));
        (gx * gx + gy * gy).sqrt()
    }

    /// 4-neighbour Laplacian at (x, y).
    #[inline]
    pub fn laplacian(&self, x: isize, y: isize) -> f32 {
        let p = |dx: isize, dy: isize| f32::from(self.at(x + dx, y + dy));
        p(-1, 0) + p(1, 0) + p(0, -1) + p(0, 1) - 4.0 * p(0, 0)
    }

    /// Bilinear sample at a real-valued position (pixel centres at integer + 0.5), its
    /// coordinates given split by [`SamplePosition::new`] (a caller sampling a grid splits
    /// each row and column once).
    pub fn sample_at(&self, x: SamplePosition, y: SamplePosition) -> f64 {
        let (x0, tx, y0, ty) = (x.pixel, x.weight, y.pixel, y.weight);
        // Inside the plane the four pixels are read from two row slices; at the border
        // through the clamping accessor. Same values either way.
        let w = self.width;
        let quad = (x0 >= 0 && y0 >= 0 && (x0 as usize) + 1 < w)
            .then(|| {
                let at = y0 as usize * w + x0 as usize;
                Some((
                    self.data.get(at..at + 2)?,
                    self.data.get(at + w..at + w + 2)?,
                ))
            })
            .flatten();
        let [p00, p10, p01, p11] = match quad {
            Some((top, bottom)) => [top[0], top[1], bottom[0], bottom[1]],
            None => [
                self.at(x0, y0),
                self.at(x0 + 1, y0),
                self.at(x0, y0 + 1),
                self.at(x0 + 1, y0 + 1),
            ],
        }
        .map(f64::from);
        let top = p00 * (1.0 - tx) + p10 * tx;
        let bottom = p01 * (1.0 - tx) + p11 * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// Downscales by averaging whole source pixels into each target pixel (never upscales
    /// beyond the source size).
    pub fn downscale(&self, width: usize, height: usize) -> Gray {
        let width = width.clamp(1, self.width.max(1));
        let height = height.clamp(1, self.height.max(1));
        Gray {
            width,
            height,
            data: area_average::<1>(&self.data, self.width, self.height, width, height),
        }
    }
}

/// Area-average downscale of `C`-channel interleaved pixels (`source_width` ×
/// `source_height`) to `width` × `height` (both at least 1 and at most the source's): each
/// target pixel is the rounded mean `(sum + count / 2) / count` of the source pixels in its
/// cell (see [`spans`]).
///
/// For each row of cells, the source rows are summed per column (one sequential pass over
/// the source), the column sums are turned into running sums along the row, and a cell's
/// sum is the difference of the running sums at its two edges: the same integer as adding
/// its pixels, at a cost per cell that does not grow with the cell's width. (Running sums
/// wrap like the sums they replace would; their differences are exact whenever a cell's sum
/// fits u32, which it must for the mean to be right at all.)
fn area_average<const C: usize>(
    source: &[u8],
    source_width: usize,
    source_height: usize,
    width: usize,
    height: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; width * height * C];
    let stride = source_width * C;
    if stride == 0 || source_height == 0 {
        return out;
    }
    // Each cell's columns as offsets into the running sums, and its width.
    let columns: Vec<(usize, usize, usize)> = spans(source_width, width)
        .into_iter()
        .map(|(x0, x1)| (x0 * C, x1 * C, x1 - x0))
        .collect();
    let ys = spans(source_height, height);
    let mut sums = vec![0u32; stride];
    // running[C * (x + 1) + c] = Σ sums[C * x' + c] for x' ≤ x; running[c] = 0.
    let mut running = vec![0u32; stride + C];
    let mut dividers = Dividers::default();
    for (&(y0, y1), target) in ys.iter().zip(out.chunks_exact_mut(width * C)) {
        sums.iter_mut().for_each(|s| *s = 0);
        let rows = source.get(y0 * stride..y1 * stride).unwrap_or(&[]);
        for row in rows.chunks_exact(stride) {
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += u32::from(v);
            }
        }
        let mut total = [0u32; C];
        for (r, s) in running
            .get_mut(C..)
            .unwrap_or(&mut [])
            .chunks_exact_mut(C)
            .zip(sums.chunks_exact(C))
        {
            for ((t, r), &s) in total.iter_mut().zip(r).zip(s) {
                *t = t.wrapping_add(s);
                *r = *t;
            }
        }
        for (cell, &(from, to, columns)) in target.chunks_exact_mut(C).zip(columns.iter()) {
            let count = ((y1 - y0) * columns).max(1) as u32;
            let divide = dividers.get(count);
            let (Some(before), Some(after)) =
                (running.get(from..from + C), running.get(to..to + C))
            else {
                continue;
            };
            for ((value, &before), &after) in cell.iter_mut().zip(before).zip(after) {
                *value = divide.quotient(after.wrapping_sub(before) + count / 2) as u8;
            }
        }
    }
    out
}

/// Exact unsigned 32-bit division by a divisor fixed for many dividends, without the
/// hardware divide (tens of cycles, once per channel of every downscaled pixel): with
/// M = ⌈2⁶⁴ / d⌉, n / d = ⌊n · M / 2⁶⁴⌋ for every 32-bit n and d (Lemire, Kaser & Kurz,
/// "Faster remainder by direct computation", 2019, theorem 1 with N = 32, F = 64).
#[derive(Clone, Copy, Default)]
struct Divider {
    /// ⌈2⁶⁴ / d⌉, or 0 for d = 1 (2⁶⁴ does not fit; the quotient is n itself).
    multiplier: u64,
}

impl Divider {
    fn new(divisor: u32) -> Divider {
        let multiplier = match divisor {
            0 | 1 => 0,
            d => u64::MAX / u64::from(d) + 1,
        };
        Divider { multiplier }
    }

    #[inline]
    fn quotient(self, n: u32) -> u32 {
        if self.multiplier == 0 {
            return n;
        }
        ((u128::from(n) * u128::from(self.multiplier)) >> 64) as u32
    }
}

/// The [`Divider`]s of the last two divisors used. Setting one up takes a 64-bit division
/// itself; the cells of an area downscale have at most two widths and two heights (⌊s/t⌋
/// and ⌈s/t⌉), so along a row of cells the cell size takes at most two values.
#[derive(Default)]
struct Dividers {
    /// (divisor, its divider), most recently set up first; divisor 0 = empty.
    slots: [(u32, Divider); 2],
}

impl Dividers {
    #[inline]
    fn get(&mut self, divisor: u32) -> Divider {
        let [first, second] = self.slots;
        if first.0 == divisor {
            first.1
        } else if second.0 == divisor {
            second.1
        } else {
            let divider = Divider::new(divisor);
            self.slots = [(divisor, divider), first];
            divider
        }
    }
}

/// One coordinate of a bilinear sample: the pixel before it (pixel centres at integer + 0.5)
/// and the weight of the pixel after it.
#[derive(Debug, Clone, Copy)]
pub struct SamplePosition {
    pixel: isize,
    weight: f64,
}

impl SamplePosition {
    pub fn new(v: f64) -> SamplePosition {
        let f = v - 0.5;
        let pixel = floor(f);
        SamplePosition {
            pixel: pixel as isize,
            weight: f - pixel,
        }
    }
}

/// Source index ranges [start, end) covered by each of `target` output cells.
fn spans(source: usize, target: usize) -> Vec<(usize, usize)> {
    (0..target)
        .map(|i| {
            let start = i * source / target;
            let end = ((i + 1) * source / target)
                .max(start + 1)
                .min(source.max(1));
            (start.min(end.saturating_sub(1)), end)
        })
        .collect()
}

/// Area-average downscale of an RGB image to at most `width` × `height`.
pub fn downscale_rgb(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (source_width, source_height) = image.dimensions();
    let width = width.clamp(1, source_width.max(1));
    let height = height.clamp(1, source_height.max(1));
    if (width, height) == (source_width, source_height) {
        return image.clone();
    }
    let out = area_average::<3>(
        image.as_raw(),
        source_width as usize,
        source_height as usize,
        width as usize,
        height as usize,
    );
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(width, height))
}

/// Perceptual grey (Rec. 709 weights on the sRGB-encoded values), for structure: faces,
/// edges, ink.
pub fn luma(image: &RgbImage) -> Gray {
    let (width, height) = image.dimensions();
    let data = image
        .as_raw()
        .chunks_exact(3)
        .map(|p| luma_of(p[0], p[1], p[2]))
        .collect();
    Gray {
        width: width as usize,
        height: height as usize,
        data,
    }
}

/// The [`luma`] of one pixel. Its weights sum to 256, so a grey pixel (r = g = b) is its
/// own luma.
#[inline]
pub fn luma_of(r: u8, g: u8, b: u8) -> u8 {
    ((54 * u32::from(r) + 183 * u32::from(g) + 19 * u32::from(b) + 128) >> 8) as u8
}

/// sRGB component (0–255) to linear light (0–1), IEC 61966-2-1.
pub fn srgb_to_linear(component: u8) -> f64 {
    let c = f64::from(component) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// [`srgb_to_linear`] of every component value, computed once per process (256 `powf`).
static LINEAR: LazyLock<[f64; 256]> =
    LazyLock::new(|| std::array::from_fn(|c| srgb_to_linear(c as u8)));

/// OFIQ's luminance (OFIQlib image_utils.cpp `GetLuminanceImageFromBGR`): Y = 0.2126 R +
/// 0.7152 G + 0.0722 B on linearised sRGB, scaled to 0–255 and rounded. Read pixel by
/// pixel: the exposure measures only look inside the face, so a whole plane of it would be
/// mostly computed for nothing.
pub struct Luminance<'a> {
    image: &'a RgbImage,
    linear: &'static [f64; 256],
}

impl<'a> Luminance<'a> {
    pub fn new(image: &'a RgbImage) -> Luminance<'a> {
        Luminance {
            image,
            linear: &LINEAR,
        }
    }

    pub fn width(&self) -> usize {
        self.image.width() as usize
    }

    pub fn height(&self) -> usize {
        self.image.height() as usize
    }

    /// The luminance at (x, y), coordinates clamped to the image like [`Gray::at`].
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> u8 {
        let (width, height) = (self.width(), self.height());
        if width == 0 || height == 0 {
            return 0;
        }
        let at = (y.min(height - 1) * width + x.min(width - 1)) * 3;
        match self.image.as_raw().get(at..at + 3) {
            Some(p) => ofiq_luminance_of(self.linear, p[0], p[1], p[2]),
            None => 0,
        }
    }
}

#[inline]
fn ofiq_luminance_of(linear: &[f64; 256], r: u8, g: u8, b: u8) -> u8 {
    let lin = |c: u8| linear[usize::from(c)];
    let y = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    round_to_u8(y * 255.0)
}

/// `v.round().clamp(0.0, 255.0) as u8` (halves away from zero; NaN gives 0), without the
/// call into libm that `f64::round` is on x86-64 without SSE4.1: one per pixel adds up.
#[inline]
pub fn round_to_u8(v: f64) -> u8 {
    if v > -1.0 && v < 256.0 {
        // Here truncation toward zero is exact, and so is the subtraction giving the
        // fraction; on (−1, 0) it is 0 and the result clamps to 0 either way.
        let whole = v as i32;
        let fraction = v - f64::from(whole);
        (whole + i32::from(fraction >= 0.5)).clamp(0, 255) as u8
    } else {
        // Out of range or NaN (rare): the library's rounding and the saturating cast.
        v.round().clamp(0.0, 255.0) as u8
    }
}

/// `v.floor()`, exactly (signed zeros included), without the libm call: the fast path
/// covers every finite value below 2⁵² in magnitude, where truncation to an integer is exact.
#[inline]
pub fn floor(v: f64) -> f64 {
    const EXACT: f64 = 4_503_599_627_370_496.0; // 2^52
    if v.abs() < EXACT {
        let whole = v as i64 as f64;
        let floored = if whole > v { whole - 1.0 } else { whole };
        // floor keeps the sign of its argument (floor(−0.0) = −0.0, floor(−0.3) = −1.0).
        floored.copysign(v)
    } else {
        // Large, infinite or NaN: already whole (or not a number).
        v.floor()
    }
}

/// An axis-aligned rectangle in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn centre_x(&self) -> f64 {
        self.x + self.width / 2.0
    }
    pub fn centre_y(&self) -> f64 {
        self.y + self.height / 2.0
    }
    pub fn right(&self) -> f64 {
        self.x + self.width
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }
    pub fn scaled(&self, factor: f64) -> Rect {
        Rect {
            x: self.x * factor,
            y: self.y * factor,
            width: self.width * factor,
            height: self.height * factor,
        }
    }
    /// Integer pixel bounds clipped to a plane: (x0, y0, x1, y1), end-exclusive.
    pub fn clip(&self, width: usize, height: usize) -> (usize, usize, usize, usize) {
        let clamp = |v: f64, max: usize| {
            if v.is_nan() {
                0
            } else {
                v.round().clamp(0.0, max as f64) as usize
            }
        };
        let x0 = clamp(self.x, width);
        let y0 = clamp(self.y, height);
        let x1 = clamp(self.right(), width).max(x0);
        let y1 = clamp(self.bottom(), height).max(y0);
        (x0, y0, x1, y1)
    }
}

/// A point in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn distance(&self, other: &Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
    pub fn scaled(&self, factor: f64) -> Point {
        Point {
            x: self.x * factor,
            y: self.y * factor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_source_without_gaps() {
        for (source, target) in [(10, 3), (3, 3), (800, 400), (7, 1), (1, 1)] {
            let s = spans(source, target);
            assert_eq!(s.len(), target);
            assert!(s.iter().all(|&(a, b)| a < b && b <= source));
        }
    }

    #[test]
    fn area_average_is_the_rounded_mean_of_each_cell() {
        // Uneven cells, and even ones (a photo at twice the analysis size: 2 × 2 cells).
        for (sw, sh, targets) in [
            (
                37,
                23,
                &[(37, 23), (18, 11), (5, 7), (1, 1), (36, 22), (13, 23)][..],
            ),
            (38, 24, &[(19, 12), (38, 12), (19, 24), (2, 3)][..]),
        ] {
            area_average_matches_the_sums(sw, sh, targets);
        }
    }

    fn area_average_matches_the_sums(sw: usize, sh: usize, targets: &[(usize, usize)]) {
        let source: Vec<u8> = (0..sw * sh * 3).map(|i| (i * 7919 % 256) as u8).collect();
        for &(w, h) in targets {
            let out = area_average::<3>(&source, sw, sh, w, h);
            for (ty, &(y0, y1)) in spans(sh, h).iter().enumerate() {
                for (tx, &(x0, x1)) in spans(sw, w).iter().enumerate() {
                    for c in 0..3 {
                        let sum: u32 = (y0..y1)
                            .flat_map(|y| (x0..x1).map(move |x| (y * sw + x) * 3 + c))
                            .map(|i| u32::from(source[i]))
                            .sum();
                        let count = ((y1 - y0) * (x1 - x0)) as u32;
                        let expected = ((sum + count / 2) / count) as u8;
                        assert_eq!(out[(ty * w + tx) * 3 + c], expected, "{w}×{h} ({tx}, {ty})");
                    }
                }
            }
        }
    }

    #[test]
    fn divider_matches_hardware_division() {
        let mut dividers = Dividers::default();
        for d in (1..=300u32).chain([4095, 65_536, 1_000_003, u32::MAX - 1, u32::MAX]) {
            for n in (0..2000u32).chain([u32::MAX / 3, u32::MAX - 1, u32::MAX]) {
                assert_eq!(dividers.get(d).quotient(n), n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn fast_rounding_matches_the_library() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            0.499_999_999_999_999_94,
            254.5,
            255.49,
            255.5,
            -0.99,
            -1.0,
            256.0,
            1e300,
            -1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        values.extend((-3000..300_000).map(|i| f64::from(i) / 1000.0));
        values.extend((0..10_000).map(|i| f64::from(i) * 0.0257 - 1.3));
        for v in values {
            assert_eq!(round_to_u8(v), v.round().clamp(0.0, 255.0) as u8, "{v}");
            assert_eq!(floor(v).to_bits(), v.floor().to_bits(), "{v}");
        }
    }

    #[test]
    fn clamped_access_never_panics() {
        let plane = Gray::new(0, 0);
        assert_eq!(plane.at(-5, 7), 0);
        let plane = Gray::new(2, 2);
        assert_eq!(plane.sobel(-3, 9), 0.0);
        assert_eq!(plane.downscale(0, 0).data.len(), 1);
    }
}
