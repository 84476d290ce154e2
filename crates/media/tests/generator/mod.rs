//! Deterministic generator of test-corpus variants: each takes a committed source image and
//! applies exactly one defect. Seeded (no clock, no OS randomness), so every run and every
//! machine produces the same bytes; nothing generated is committed.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{ImageEncoder, Rgb, RgbImage};

/// SplitMix64: tiny, good enough, and identical everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

pub fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap();
    out
}

pub fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

pub fn load(bytes: &[u8]) -> RgbImage {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap()
        .into_rgb8()
}

fn map_pixels(image: &RgbImage, f: impl Fn(f64) -> f64) -> RgbImage {
    let mut out = image.clone();
    for px in out.pixels_mut() {
        for c in px.0.iter_mut() {
            *c = f(f64::from(*c)).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Bilinear sample with edge replication.
fn sample(image: &RgbImage, x: f64, y: f64) -> Rgb<u8> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let at = |dx: i64, dy: i64, c: usize| {
        let px = (x0 as i64 + dx).clamp(0, w - 1) as u32;
        let py = (y0 as i64 + dy).clamp(0, h - 1) as u32;
        f64::from(image.get_pixel(px, py).0[c])
    };
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let top = at(0, 0, c) * (1.0 - tx) + at(1, 0, c) * tx;
        let bottom = at(0, 1, c) * (1.0 - tx) + at(1, 1, c) * tx;
        *o = (top * (1.0 - ty) + bottom * ty).round().clamp(0.0, 255.0) as u8;
    }
    Rgb(out)
}

/// Rotates about the centre by `degrees` (positive: clockwise on screen), edges replicated.
fn rotate(image: &RgbImage, degrees: f64) -> RgbImage {
    let (w, h) = image.dimensions();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (sin, cos) = degrees.to_radians().sin_cos();
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) + 0.5 - cx, f64::from(y) + 0.5 - cy);
        // Inverse rotation: where does this output pixel come from?
        let sx = cos * dx + sin * dy + cx - 0.5;
        let sy = -sin * dx + cos * dy + cy - 0.5;
        sample(image, sx, sy)
    })
}

/// Shifts the picture left by `by` pixels, replicating the right edge into the gap.
fn shift_left(image: &RgbImage, by: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    RgbImage::from_fn(w, h, |x, y| *image.get_pixel((x + by).min(w - 1), y))
}

fn inside_ellipse(x: f64, y: f64, cx: f64, cy: f64, rx: f64, ry: f64) -> bool {
    ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
}

/// Coloured boxes and bars in the background of the portrait: everywhere above the
/// shoulders except an ellipse around the head with its hair.
fn clutter(image: &RgbImage, rng: &mut Rng) -> RgbImage {
    let mut out = image.clone();
    let (w, h) = image.dimensions();
    let (cx, cy) = (f64::from(w) * 0.5, f64::from(h) * 0.42);
    let (rx, ry) = (f64::from(w) * 0.37, f64::from(h) * 0.44);
    for _ in 0..60 {
        let bw = rng.range(8.0, 70.0);
        let bh = rng.range(8.0, 70.0);
        let x0 = rng.range(0.0, f64::from(w) - bw);
        let y0 = rng.range(0.0, f64::from(h) * 0.55);
        let colour = Rgb([
            rng.range(0.0, 255.0) as u8,
            rng.range(0.0, 255.0) as u8,
            rng.range(0.0, 255.0) as u8,
        ]);
        for y in y0 as u32..(y0 + bh) as u32 {
            for x in x0 as u32..(x0 + bw) as u32 {
                if x < w && y < h && !inside_ellipse(f64::from(x), f64::from(y), cx, cy, rx, ry) {
                    out.put_pixel(x, y, colour);
                }
            }
        }
    }
    out
}

/// Two copies of the portrait, each at half size, side by side on the portrait's backdrop.
fn two_people(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let half = imageops::resize(image, w / 2, h / 2, FilterType::Triangle);
    let backdrop = *image.get_pixel(2, 2);
    let mut out = RgbImage::from_pixel(w, h, backdrop);
    imageops::overlay(&mut out, &half, 0, i64::from(h / 4));
    imageops::overlay(&mut out, &half, i64::from(w / 2), i64::from(h / 4));
    out
}

/// A JPEG whose pixels are stored turned 90° anticlockwise, with EXIF orientation 6 ("turn
/// 90° clockwise to display"), as phone cameras write them.
fn exif_rotated(image: &RgbImage) -> Vec<u8> {
    let stored = imageops::rotate270(image);
    let plain = jpeg(&stored, 92);
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2A\0\0\0\x08"); // big-endian TIFF, first IFD at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&6u16.to_be_bytes()); // value 6
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut segment = vec![0xFF, 0xE1];
    let length = (2 + 6 + tiff.len()) as u16;
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&segment);
    out.extend_from_slice(&plain[2..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid-looking PNG declaring `width`×`height` RGB with `idat` as its compressed data.
pub fn png_with_header(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A zlib stream inflating to `rows` PNG rows of `row_bytes` zero bytes (each after a filter
/// byte 0): one literal zero, then back-references of length 258 at distance 1, in deflate's
/// fixed Huffman code (RFC 1951 §3.2.6): 13 bits per 258 bytes, the classic decompression bomb.
pub fn zlib_zeros(rows: usize, row_bytes: usize) -> Vec<u8> {
    let total = rows * (row_bytes + 1);
    let mut bits = BitWriter::default();
    bits.put(1, 1); // BFINAL
    bits.put(0b01, 2); // BTYPE = fixed Huffman
                       // Literal 0: fixed code 00110000 (8 bits), written MSB first as Huffman codes are.
    bits.put_huffman(0b0011_0000, 8);
    let mut remaining = total - 1;
    while remaining >= 258 {
        // Length 258: code 285 = 11000101 (8 bits), no extra bits.
        bits.put_huffman(0b1100_0101, 8);
        // Distance 1: code 0 (5 bits 00000), no extra bits.
        bits.put_huffman(0, 5);
        remaining -= 258;
    }
    for _ in 0..remaining {
        bits.put_huffman(0b0011_0000, 8);
    }
    bits.put_huffman(0, 7); // end of block (code 256 = 0000000)
    let deflate = bits.finish();
    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&deflate);
    // Adler-32 of all-zero data: a = 1, b = total mod 65521.
    let a: u32 = 1;
    let b: u32 = (total % 65521) as u32;
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u32,
    filled: u32,
}

impl BitWriter {
    /// Least-significant bit first (deflate's order for header fields and extra bits).
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.push((value >> i) & 1);
        }
    }
    /// Most-significant bit first (deflate's order for Huffman codes).
    fn put_huffman(&mut self, code: u32, count: u32) {
        for i in (0..count).rev() {
            self.push((code >> i) & 1);
        }
    }
    fn push(&mut self, bit: u32) {
        self.current |= bit << self.filled;
        self.filled += 1;
        if self.filled == 8 {
            self.bytes.push(self.current as u8);
            self.current = 0;
            self.filled = 0;
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.bytes.push(self.current as u8);
        }
        self.bytes
    }
}

/// The JPEG with its frame header patched to declare `width`×`height`.
fn jpeg_with_declared_size(bytes: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let sof = out
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
        .unwrap();
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

/// Applies one photo defect to `source` (the committed file's bytes).
pub fn photo_variant(defect: &str, source: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    match defect {
        "none" => source.to_vec(),
        "dark" => jpeg(&map_pixels(&load(source), |v| v * 0.25), 92),
        "overexposed" => jpeg(&map_pixels(&load(source), |v| v * 1.3 + 45.0), 92),
        "blurred" => jpeg(&imageops::blur(&load(source), 4.0), 92),
        "heavy_jpeg" => jpeg(&load(source), 4),
        "cropped_face" => {
            let image = load(source);
            let by = image.width() * 3 / 10;
            jpeg(&shift_left(&image, by), 92)
        }
        "too_small" => {
            let image = load(source);
            let small = imageops::resize(
                &image,
                image.width() / 4,
                image.height() / 4,
                FilterType::Triangle,
            );
            jpeg(&small, 92)
        }
        "rotated" => jpeg(&rotate(&load(source), 12.0), 92),
        "cluttered_background" => jpeg(&clutter(&load(source), &mut rng), 92),
        "greyscale" => {
            let grey = imageops::grayscale(&load(source));
            jpeg(&image::DynamicImage::ImageLuma8(grey).into_rgb8(), 92)
        }
        "side_lit" => {
            // Light from the right: the left half of the face falls into shadow (30 %),
            // with a soft edge down the middle of the face.
            let image = load(source);
            let w = f64::from(image.width());
            let mut out = image.clone();
            for (x, _, px) in out.enumerate_pixels_mut() {
                let t = ((f64::from(x) - 0.38 * w) / (0.16 * w)).clamp(0.0, 1.0);
                let f = 0.3 + 0.7 * t;
                for c in px.0.iter_mut() {
                    *c = (f64::from(*c) * f).round() as u8;
                }
            }
            jpeg(&out, 92)
        }
        "two_faces" => jpeg(&two_people(&load(source)), 92),
        "exif_rotated" => exif_rotated(&load(source)),
        "truncated" => source[..source.len() / 2].to_vec(),
        "corrupt_jpeg" => {
            // The frame header claims 7 colour components: no decoder can make sense of it.
            let mut out = source.to_vec();
            let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
            out[sof + 9] = 7;
            out
        }
        "corrupt_png" => {
            // Flip bytes in the middle of the compressed pixel data (IDAT).
            let mut out = png(&load(source));
            let idat = out.windows(4).position(|w| w == b"IDAT").unwrap();
            for i in 0..64 {
                let at = idat + 4 + 200 + i * 7;
                out[at] ^= (rng.next_u64() as u8) | 1;
            }
            out
        }
        "bomb_png_header" => png_with_header(100_000, 100_000, &zlib_zeros(1, 16)),
        "bomb_jpeg_header" => jpeg_with_declared_size(source, 60_000, 60_000),
        "gif" => b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
        other => panic!("unknown photo defect {other}"),
    }
}

/// Paper of a signature image: warm white with faint sensor noise.
fn paper(width: u32, height: u32, level: [f64; 3], noise: f64, rng: &mut Rng) -> RgbImage {
    RgbImage::from_fn(width, height, |_, _| {
        let n = rng.normal() * noise;
        Rgb(level.map(|c| (c + n).round().clamp(0.0, 255.0) as u8))
    })
}

/// The strokes of a synthetic handwritten signature: a looping main stroke, a separate
/// initial and an underline; each a polyline of points in an 800×300 frame.
fn strokes() -> Vec<Vec<(f64, f64)>> {
    // A prolate trochoid: the pen runs right while circling, which draws cursive loops.
    let mut main = Vec::new();
    for i in 0..=3000 {
        let t = f64::from(i) / 3000.0;
        let phase = 2.0 * std::f64::consts::PI * 7.0 * t;
        let x = 230.0 + 420.0 * t - 24.0 * phase.sin();
        let y = 150.0 + 40.0 * phase.cos() * (1.0 - 0.35 * t) + 14.0 * (t * 9.0).sin();
        main.push((x, y));
    }
    let mut initial = Vec::new();
    for i in 0..=600 {
        let t = f64::from(i) / 600.0;
        let a = t * 2.0 * std::f64::consts::PI * 1.25;
        initial.push((
            150.0 + 45.0 * a.cos() * (1.0 - 0.3 * t),
            140.0 - 70.0 * a.sin(),
        ));
    }
    let mut underline = Vec::new();
    for i in 0..=400 {
        let t = f64::from(i) / 400.0;
        underline.push((160.0 + 500.0 * t, 232.0 + 10.0 * (t * 3.0).sin()));
    }
    vec![main, initial, underline]
}

/// Stamps anti-aliased discs of `radius` along the strokes, blending `ink` over the image.
fn draw(
    image: &mut RgbImage,
    strokes: &[Vec<(f64, f64)>],
    ink: [f64; 3],
    radius: f64,
    transform: impl Fn(f64, f64) -> (f64, f64),
) {
    let (w, h) = image.dimensions();
    let mut coverage = vec![0f64; (w * h) as usize];
    for stroke in strokes {
        for pair in stroke.windows(2) {
            let (a, b) = (
                transform(pair[0].0, pair[0].1),
                transform(pair[1].0, pair[1].1),
            );
            let steps = ((b.0 - a.0).hypot(b.1 - a.1) * 2.0).ceil().max(1.0) as usize;
            for s in 0..=steps {
                let t = s as f64 / steps as f64;
                let (px, py) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                let r = radius + 1.0;
                for y in (py - r).floor() as i64..=(py + r).ceil() as i64 {
                    for x in (px - r).floor() as i64..=(px + r).ceil() as i64 {
                        if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
                            continue;
                        }
                        let d = (x as f64 + 0.5 - px).hypot(y as f64 + 0.5 - py);
                        let c = (radius + 0.5 - d).clamp(0.0, 1.0);
                        let cell = &mut coverage[(y as u32 * w + x as u32) as usize];
                        *cell = cell.max(c);
                    }
                }
            }
        }
    }
    for (i, px) in image.pixels_mut().enumerate() {
        let c = coverage[i];
        if c > 0.0 {
            for (k, v) in px.0.iter_mut().enumerate() {
                *v = (f64::from(*v) * (1.0 - c) + ink[k] * c).round() as u8;
            }
        }
    }
}

pub const INK: [f64; 3] = [22.0, 32.0, 105.0];
pub const PAPER: [f64; 3] = [246.0, 245.0, 240.0];

/// The committed signature source: blue ink on white paper, 800×300.
pub fn signature_source(seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let mut image = paper(800, 300, PAPER, 2.0, &mut rng);
    draw(&mut image, &strokes(), INK, 1.8, |x, y| (x, y));
    image
}

/// Applies one signature defect. Defects that change the drawing itself redraw it from the
/// same strokes; the rest work on the committed file's pixels.
pub fn signature_variant(defect: &str, source: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let image = load(source);
    let (w, h) = image.dimensions();
    match defect {
        "none" => source.to_vec(),
        "blank" => png(&paper(w, h, PAPER, 2.0, &mut rng)),
        "faint" => {
            let mut out = paper(w, h, PAPER, 2.0, &mut rng);
            let faint = [0, 1, 2].map(|k| PAPER[k] + (INK[k] - PAPER[k]) * 0.35);
            draw(&mut out, &strokes(), faint, 1.8, |x, y| (x, y));
            png(&out)
        }
        "dark_background" => {
            let mut out = paper(w, h, [105.0, 100.0, 95.0], 2.0, &mut rng);
            draw(&mut out, &strokes(), [5.0, 5.0, 20.0], 1.8, |x, y| (x, y));
            png(&out)
        }
        "noisy_background" => {
            let mut out = image.clone();
            for px in out.pixels_mut() {
                let n = rng.normal() * 24.0;
                for c in px.0.iter_mut() {
                    *c = (f64::from(*c) + n).round().clamp(0.0, 255.0) as u8;
                }
            }
            png(&out)
        }
        "cut_at_edge" => {
            let mut out = paper(w, h, PAPER, 2.0, &mut rng);
            draw(&mut out, &strokes(), INK, 1.8, |x, y| (x + 230.0, y));
            png(&out)
        }
        "squashed" => {
            let mut out = paper(w, h, PAPER, 2.0, &mut rng);
            draw(&mut out, &strokes(), INK, 1.2, |x, y| {
                (x, 150.0 + (y - 150.0) * 0.1)
            });
            png(&out)
        }
        "speckled" => {
            let mut out = image.clone();
            for _ in 0..150 {
                let x = rng.range(2.0, f64::from(w) - 7.0) as u32;
                let y = rng.range(2.0, f64::from(h) - 7.0) as u32;
                for dy in 0..5 {
                    for dx in 0..5 {
                        out.put_pixel(x + dx, y + dy, Rgb([30, 30, 30]));
                    }
                }
            }
            png(&out)
        }
        "truncated" => source[..source.len() / 2].to_vec(),
        other => panic!("unknown signature defect {other}"),
    }
}
