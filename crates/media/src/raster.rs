//! Small pixel tools the measures share: grey planes, area downscaling, gradients.
//! Everything here is bounds-checked by construction (coordinates clamped), so no input
//! size can make it index out of range.

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

    /// Bilinear sample at a real-valued position (pixel centres at integer + 0.5).
    pub fn sample(&self, x: f64, y: f64) -> f64 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        let x0 = fx.floor();
        let y0 = fy.floor();
        let tx = fx - x0;
        let ty = fy - y0;
        let (x0, y0) = (x0 as isize, y0 as isize);
        let p = |dx: isize, dy: isize| f64::from(self.at(x0 + dx, y0 + dy));
        let top = p(0, 0) * (1.0 - tx) + p(1, 0) * tx;
        let bottom = p(0, 1) * (1.0 - tx) + p(1, 1) * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// Downscales by averaging whole source pixels into each target pixel (never upscales
    /// beyond the source size).
    pub fn downscale(&self, width: usize, height: usize) -> Gray {
        let width = width.clamp(1, self.width.max(1));
        let height = height.clamp(1, self.height.max(1));
        let mut out = Gray::new(width, height);
        let xs = spans(self.width, width);
        let ys = spans(self.height, height);
        for (ty, &(y0, y1)) in ys.iter().enumerate() {
            for (tx, &(x0, x1)) in xs.iter().enumerate() {
                let mut sum = 0u32;
                for y in y0..y1 {
                    let row = y * self.width;
                    for x in x0..x1 {
                        sum += u32::from(self.data.get(row + x).copied().unwrap_or(0));
                    }
                }
                let count = ((y1 - y0) * (x1 - x0)).max(1) as u32;
                if let Some(target) = out.data.get_mut(ty * width + tx) {
                    *target = ((sum + count / 2) / count) as u8;
                }
            }
        }
        out
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
    let xs = spans(source_width as usize, width as usize);
    let ys = spans(source_height as usize, height as usize);
    let raw = image.as_raw();
    let stride = source_width as usize * 3;
    let mut out = vec![0u8; width as usize * height as usize * 3];
    // Column sums of one output row's source rows, then one pass over the output cells.
    let mut sums = vec![0u32; stride];
    for (ty, &(y0, y1)) in ys.iter().enumerate() {
        sums.iter_mut().for_each(|s| *s = 0);
        for y in y0..y1 {
            let row = raw.get(y * stride..(y + 1) * stride).unwrap_or(&[]);
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += u32::from(v);
            }
        }
        let target = out
            .get_mut(ty * width as usize * 3..(ty + 1) * width as usize * 3)
            .unwrap_or(&mut []);
        for (cell, &(x0, x1)) in target.chunks_exact_mut(3).zip(xs.iter()) {
            let count = ((y1 - y0) * (x1 - x0)).max(1) as u32;
            for (c, value) in cell.iter_mut().enumerate() {
                let total: u32 = (x0..x1)
                    .map(|x| sums.get(x * 3 + c).copied().unwrap_or(0))
                    .sum();
                *value = ((total + count / 2) / count) as u8;
            }
        }
    }
    RgbImage::from_raw(width, height, out).unwrap_or_else(|| RgbImage::new(width, height))
}

/// Perceptual grey (Rec. 709 weights on the sRGB-encoded values), for structure: faces,
/// edges, ink.
pub fn luma(image: &RgbImage) -> Gray {
    let (width, height) = image.dimensions();
    let data = image
        .as_raw()
        .chunks_exact(3)
        .map(|p| {
            ((54 * u32::from(p[0]) + 183 * u32::from(p[1]) + 19 * u32::from(p[2]) + 128) >> 8) as u8
        })
        .collect();
    Gray {
        width: width as usize,
        height: height as usize,
        data,
    }
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

/// OFIQ's luminance (OFIQlib image_utils.cpp `GetLuminanceImageFromBGR`): Y = 0.2126 R +
/// 0.7152 G + 0.0722 B on linearised sRGB, scaled to 0–255 and rounded.
pub fn ofiq_luminance(image: &RgbImage) -> Gray {
    let table: Vec<f64> = (0..=255u8).map(srgb_to_linear).collect();
    let lin = |c: u8| table.get(usize::from(c)).copied().unwrap_or(0.0);
    let (width, height) = image.dimensions();
    let data = image
        .as_raw()
        .chunks_exact(3)
        .map(|p| {
            let y = 0.2126 * lin(p[0]) + 0.7152 * lin(p[1]) + 0.0722 * lin(p[2]);
            (y * 255.0).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    Gray {
        width: width as usize,
        height: height as usize,
        data,
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
    fn clamped_access_never_panics() {
        let plane = Gray::new(0, 0);
        assert_eq!(plane.at(-5, 7), 0);
        let plane = Gray::new(2, 2);
        assert_eq!(plane.sobel(-3, 9), 0.0);
        assert_eq!(plane.downscale(0, 0).data.len(), 1);
    }
}
