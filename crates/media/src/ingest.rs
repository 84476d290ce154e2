//! Safe decoding of an uploaded image.
//!
//! Order matters: the cheapest refusals come first, and nothing is decoded before the
//! header says the image is of a size we accept.
//! 1. byte cap; 2. format whitelist by magic bytes (JPEG, PNG; never the file name);
//! 3. dimensions read from the header by this module's own parser, checked against the
//!    profile; 4. for JPEG, the end-of-image marker must follow the scan (zune-jpeg in
//!    lenient mode fills a truncated scan with grey instead of failing); 5. decoding under
//!    `image::Limits` (dimension and allocation caps: the decompression-bomb guard);
//! 6. EXIF orientation applied; 7. transparency flattened onto white (a signature drawn on a
//!    transparent canvas is dark ink on white paper, not on black).

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};
use serde::Serialize;

use crate::error::IngestError;
use crate::profile::IngestLimits;

/// The accepted upload formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
        }
    }
}

/// A decoded upload, upright (EXIF orientation applied), 8-bit RGB.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    pub format: ImageFormat,
    pub image: RgbImage,
}

const JPEG_MAGIC: [u8; 3] = [0xFF, 0xD8, 0xFF];
const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The format, by magic bytes only.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&JPEG_MAGIC) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(&PNG_MAGIC) {
        Some(ImageFormat::Png)
    } else {
        None
    }
}

/// What the header says, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Reads the format and declared dimensions, and for JPEG verifies the file is complete.
pub fn read_header(bytes: &[u8]) -> Result<Header, IngestError> {
    match sniff_format(bytes) {
        Some(ImageFormat::Png) => png_header(bytes),
        Some(ImageFormat::Jpeg) => jpeg_header(bytes),
        None => Err(IngestError::UnsupportedFormat),
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// PNG: the first chunk must be IHDR (PNG spec §5.2); width and height are its first 8 bytes.
fn png_header(bytes: &[u8]) -> Result<Header, IngestError> {
    if bytes.len() < 8 + 8 + 13 {
        return Err(IngestError::Truncated);
    }
    if bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return Err(IngestError::Corrupt(
            "the PNG does not start with IHDR".into(),
        ));
    }
    let width = be_u32(bytes, 16).ok_or(IngestError::Truncated)?;
    let height = be_u32(bytes, 20).ok_or(IngestError::Truncated)?;
    Ok(Header {
        format: ImageFormat::Png,
        width,
        height,
    })
}

/// JPEG: walk the marker segments (ITU T.81 §B.1) to the frame header (SOFn) for the
/// dimensions, then to the first scan (SOS); the end-of-image marker (EOI, FF D9) must follow
/// the scan. Inside entropy-coded data every FF byte is followed by 00 or a restart marker,
/// so FF D9 there can only be the real end; an EXIF thumbnail's own EOI sits inside APP1,
/// which is skipped by its length.
fn jpeg_header(bytes: &[u8]) -> Result<Header, IngestError> {
    let mut at = 2; // after SOI
    let mut size: Option<(u32, u32)> = None;
    loop {
        // Markers may be preceded by fill bytes FF.
        let Some(&first) = bytes.get(at) else {
            return Err(IngestError::Truncated);
        };
        if first != 0xFF {
            return Err(IngestError::Corrupt(format!(
                "expected a JPEG marker at byte {at}"
            )));
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else {
            return Err(IngestError::Truncated);
        };
        at += 1;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => {
                return Err(IngestError::Corrupt(
                    "a second start-of-image marker".into(),
                ))
            }
            0xD9 => {
                return Err(IngestError::Corrupt(
                    "the JPEG ends before any image".into(),
                ))
            }
            _ => {}
        }
        let length = usize::from(be_u16(bytes, at).ok_or(IngestError::Truncated)?);
        if length < 2 {
            return Err(IngestError::Corrupt(
                "a JPEG segment with a bad length".into(),
            ));
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            // Length, precision (1 byte), height, width.
            let height = be_u16(bytes, at + 3).ok_or(IngestError::Truncated)?;
            let width = be_u16(bytes, at + 5).ok_or(IngestError::Truncated)?;
            size = Some((u32::from(width), u32::from(height)));
        }
        if marker == 0xDA {
            let Some((width, height)) = size else {
                return Err(IngestError::Corrupt(
                    "a JPEG scan before its frame header".into(),
                ));
            };
            let scan_start = at + length;
            let tail = bytes.get(scan_start..).ok_or(IngestError::Truncated)?;
            if !tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
                return Err(IngestError::Truncated);
            }
            return Ok(Header {
                format: ImageFormat::Jpeg,
                width,
                height,
            });
        }
        at += length;
    }
}

/// Checks the declared size against the limits.
pub fn check_dimensions(header: &Header, limits: &IngestLimits) -> Result<(), IngestError> {
    let (width, height) = (header.width, header.height);
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side_px || height > limits.max_side_px || pixels > limits.max_pixels {
        return Err(IngestError::ImageTooLarge {
            width,
            height,
            max_side: limits.max_side_px,
            max_pixels: limits.max_pixels,
        });
    }
    if width < limits.min_side_px || height < limits.min_side_px {
        return Err(IngestError::ImageTooSmall {
            width,
            height,
            min_side: limits.min_side_px,
        });
    }
    Ok(())
}

fn map_image_error(error: ImageError) -> IngestError {
    match error {
        ImageError::Limits(_) => IngestError::MemoryLimit,
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            IngestError::Truncated
        }
        ImageError::Unsupported(e) => IngestError::Corrupt(format!("unsupported variant: {e}")),
        other => IngestError::Corrupt(other.to_string()),
    }
}

/// Decodes `bytes` safely (see the module docs). Never panics: the decoders are third-party
/// code run on hostile input, so a panic inside them is caught and reported as corruption.
pub fn decode(bytes: &[u8], limits: &IngestLimits) -> Result<DecodedImage, IngestError> {
    let (format, image) = decode_upright(bytes, limits)?;
    Ok(DecodedImage {
        format,
        image: flatten_onto_white(image),
    })
}

/// [`decode`] without the final conversion to 8-bit RGB: the upright image in the pixel
/// format of the file. A check that only needs grey (the signature check) reads an 8-bit
/// grey upload as it is, instead of tripling it into RGB and weighing it back to grey.
pub(crate) fn decode_upright(
    bytes: &[u8],
    limits: &IngestLimits,
) -> Result<(ImageFormat, DynamicImage), IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(IngestError::FileTooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    let header = read_header(bytes)?;
    check_dimensions(&header, limits)?;

    let outcome = catch_unwind(AssertUnwindSafe(|| decode_pixels(bytes, &header, limits)));
    let image = match outcome {
        Ok(result) => result?,
        Err(_) => return Err(IngestError::Corrupt("the decoder could not read it".into())),
    };
    // The orientation may swap the sides; both limits are symmetric, so no second check.
    Ok((header.format, image))
}

fn decode_pixels(
    bytes: &[u8],
    header: &Header,
    limits: &IngestLimits,
) -> Result<DynamicImage, IngestError> {
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(limits.max_side_px);
    decode_limits.max_image_height = Some(limits.max_side_px);
    decode_limits.max_alloc = Some(limits.max_decode_bytes);

    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(match header.format {
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        ImageFormat::Png => image::ImageFormat::Png,
    });
    reader.limits(decode_limits.clone());
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    if decoder.dimensions() != (header.width, header.height) {
        return Err(IngestError::Corrupt(
            "the decoder and the header disagree on the size".into(),
        ));
    }
    // `into_decoder` + `from_decoder` (needed to read the orientation) skip the allocation
    // check that `ImageReader::decode` makes, so it is made here, for the decoded buffer
    // plus the 8-bit RGB copy made from it.
    let rgb_bytes = u64::from(header.width) * u64::from(header.height) * 3;
    decode_limits
        .reserve(decoder.total_bytes().saturating_add(rgb_bytes))
        .map_err(|_| IngestError::MemoryLimit)?;
    // A broken EXIF block must not reject a good photo: it only loses the rotation.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// 8-bit RGB; any alpha is composited onto white paper.
pub(crate) fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut out = RgbImage::new(width, height);
    for (source, target) in rgba.pixels().zip(out.pixels_mut()) {
        let [r, g, b, a] = source.0;
        let alpha = u32::from(a);
        let blend = |c: u8| ((u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        target.0 = [blend(r), blend(g), blend(b)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_only_jpeg_and_png() {
        assert_eq!(
            sniff_format(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(sniff_format(&PNG_MAGIC), Some(ImageFormat::Png));
        assert_eq!(sniff_format(b"GIF89a"), None);
        assert_eq!(sniff_format(b"<svg"), None);
        assert_eq!(sniff_format(&[]), None);
    }

    #[test]
    fn jpeg_walker_refuses_garbage_without_panicking() {
        for bytes in [
            vec![0xFF, 0xD8, 0xFF],
            vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00],
            vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x01],
            vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02],
            vec![0xFF, 0xD8, 0x00],
            vec![0xFF, 0xD8, 0xFF, 0xD9],
        ] {
            assert!(jpeg_header(&bytes).is_err(), "{bytes:?}");
        }
    }
}
