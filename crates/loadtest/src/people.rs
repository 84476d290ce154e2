//! The synthetic citizens and their images.
//!
//! People come from the core's synthetic register (unique valid IINs, names, regions by
//! population); two fields are then set so that everyone can take part: a unique phone
//! (codes are read per phone) and an identity card that ends within the online window.

use jiff::civil::Date;
use jiff::Span;

use kuelik_core::document::DocumentKind;
use kuelik_core::register::synthetic::Generator;
use kuelik_core::register::{Person, Phone, RegisteredDocument};
use kuelik_core::time::add_days;

/// The register's seed: the same people in every run.
const SEED: u64 = 0x6b75_656c_696b;

/// Citizens `first..first + count`, all eligible on `today`.
pub fn citizens(today: Date, first: u64, count: u64) -> Result<Vec<Person>, String> {
    let generator = Generator::new(SEED, today);
    (first..first + count)
        .map(|n| {
            let mut person = generator
                .person(n)
                .ok_or_else(|| format!("the synthetic register has no person {n}"))?;
            person.phone = Phone::parse(&format!("+7700{n:07}"))
                .map_err(|_| format!("no phone number for person {n}"))?;
            person.document = expiring_card(today, n, &person.document.number);
            Ok(person)
        })
        .collect()
}

/// An identity card whose last valid day is 0–29 days away: inside the pilot's window
/// (30 days before expiry), spread so that due dates and queues differ.
fn expiring_card(today: Date, n: u64, number: &str) -> RegisteredDocument {
    let kind = DocumentKind::IdentityCard;
    let target_end = add_days(today, (n % 30) as i32);
    // The issue date whose ten years end on the target day, as the generator derives it.
    let issued_on = add_days(target_end, 1).saturating_sub(Span::new().years(10));
    RegisteredDocument {
        kind,
        number: number.to_string(),
        issued_on,
        last_valid_day: kind.last_valid_day(issued_on),
    }
}

/// The media crate's compliant corpus portrait (600×800 JPEG) and drawn signature.
pub const PORTRAIT: &[u8] = include_bytes!("../../media/corpus/portrait.jpg");
const SIGNATURE_JPEG: &[u8] = include_bytes!("../../media/corpus/signature.jpg");

/// Every citizen's own photo and signature: the corpus images with the citizen's number
/// in a comment, so no two uploads share a digest (the server caches checks per digest
/// and flags the same photo on two applications).
pub struct Images {
    signature_png: Vec<u8>,
}

impl Images {
    /// Converts the corpus signature to PNG once (the upload formats are JPEG and PNG; a
    /// signature is usually drawn and saved losslessly).
    pub fn new() -> Result<Images, String> {
        let image = image::load_from_memory(SIGNATURE_JPEG)
            .map_err(|e| format!("the corpus signature does not decode: {e}"))?;
        let mut png = std::io::Cursor::new(Vec::new());
        image
            .to_luma8()
            .write_to(&mut png, image::ImageFormat::Png)
            .map_err(|e| format!("cannot encode the signature as PNG: {e}"))?;
        Ok(Images {
            signature_png: png.into_inner(),
        })
    }

    /// The portrait with a JPEG COM segment right after SOI naming citizen `n`.
    pub fn photo(&self, n: u64) -> Vec<u8> {
        let text = format!("kuelik load citizen {n}");
        let len = (text.len() + 2) as u16;
        let mut out = Vec::with_capacity(PORTRAIT.len() + text.len() + 4);
        out.extend_from_slice(&PORTRAIT[..2]);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&PORTRAIT[2..]);
        out
    }

    /// The signature PNG with a `tEXt` chunk after IHDR naming citizen `n`.
    pub fn signature(&self, n: u64) -> Vec<u8> {
        // 8-byte signature, then IHDR: 4 length + 4 type + 13 data + 4 CRC.
        let after_ihdr = 8 + 25;
        let mut data = b"Comment\0".to_vec();
        data.extend_from_slice(format!("kuelik load citizen {n}").as_bytes());
        let mut chunk = Vec::with_capacity(data.len() + 12);
        chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
        chunk.extend_from_slice(b"tEXt");
        chunk.extend_from_slice(&data);
        chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
        let png = &self.signature_png;
        let mut out = Vec::with_capacity(png.len() + chunk.len());
        out.extend_from_slice(&png[..after_ihdr]);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&png[after_ihdr..]);
        out
    }
}

/// CRC-32 (ISO-HDLC), as PNG chunks need it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn unique_images_still_decode_and_pass() {
        let images = Images::new().unwrap();
        let profile = kuelik_media::Profile::default_profile();
        let (a, b) = (images.photo(1), images.photo(2));
        assert_ne!(a, b);
        let report = kuelik_media::check_photo(&a, &profile).unwrap();
        assert_ne!(report.verdict, kuelik_media::Verdict::Fail);
        let (s1, s2) = (images.signature(1), images.signature(2));
        assert_ne!(s1, s2);
        let report = kuelik_media::check_signature(&s1, &profile).unwrap();
        assert_ne!(report.verdict, kuelik_media::Verdict::Fail);
    }

    #[test]
    fn citizens_are_unique_and_eligible() {
        let today = jiff::civil::date(2025, 10, 15);
        let people = citizens(today, 0, 200).unwrap();
        let iins: std::collections::BTreeSet<_> = people.iter().map(|p| p.iin).collect();
        let phones: std::collections::BTreeSet<_> = people
            .iter()
            .map(|p| p.phone.as_str().to_string())
            .collect();
        assert_eq!((iins.len(), phones.len()), (200, 200));
        for p in &people {
            let left = kuelik_core::time::days_between(today, p.document.last_valid_day);
            assert!((0..30).contains(&left), "{left}");
        }
    }
}
