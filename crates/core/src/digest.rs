//! SHA-256 digests as values: how the core names a stored photo, signature or document
//! without holding its bytes. Hashing itself happens outside the core.
//!
//! The text form is exactly 64 lowercase hex characters. Only that form is accepted, so a
//! digest has one spelling: two strings for the same bytes would compare unequal in a
//! database column or an audit record.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("a SHA-256 digest has 64 hex characters, this has {0}")]
    WrongLength(usize),
    #[error("character {position} ({found:?}) is not a lowercase hex digit")]
    NotLowercaseHex { position: usize, found: char },
}

impl DigestError {
    pub fn code(&self) -> &'static str {
        match self {
            DigestError::WrongLength(_) => "wrong_length",
            DigestError::NotLowercaseHex { .. } => "not_lowercase_hex",
        }
    }
}

impl Sha256Digest {
    pub const fn from_bytes(bytes: [u8; 32]) -> Sha256Digest {
        Sha256Digest(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses the canonical text form (no trimming, no uppercase: see the module notes).
    pub fn parse(input: &str) -> Result<Sha256Digest, DigestError> {
        let count = input.chars().count();
        if count != 64 {
            return Err(DigestError::WrongLength(count));
        }
        // 64 chars, and every one checked below to be ASCII, so bytes and chars line up.
        let mut nibbles = [0u8; 64];
        for (i, c) in input.chars().enumerate() {
            nibbles[i] = match c {
                '0'..='9' => c as u8 - b'0',
                'a'..='f' => c as u8 - b'a' + 10,
                _ => {
                    return Err(DigestError::NotLowercaseHex {
                        position: i + 1,
                        found: c,
                    })
                }
            };
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(nibbles.chunks_exact(2)) {
            *byte = (pair[0] << 4) | pair[1];
        }
        Ok(Sha256Digest(bytes))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 64];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        // Every byte written comes from HEX, so the buffer is ASCII.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Sha256Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256Digest::parse(s)
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Sha256Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SHA-256 of the empty string (FIPS 180-4 test vector).
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn reads_and_writes_a_known_digest() {
        let d = Sha256Digest::parse(EMPTY).unwrap();
        assert_eq!(d.as_bytes()[0], 0xe3);
        assert_eq!(d.as_bytes()[1], 0xb0);
        assert_eq!(d.as_bytes()[31], 0x55);
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(EMPTY.parse::<Sha256Digest>(), Ok(d));
    }

    #[test]
    fn only_the_canonical_spelling_is_accepted() {
        assert_eq!(Sha256Digest::parse(""), Err(DigestError::WrongLength(0)));
        assert_eq!(
            Sha256Digest::parse(&EMPTY[..63]),
            Err(DigestError::WrongLength(63))
        );
        assert_eq!(
            Sha256Digest::parse(&format!("{EMPTY}0")),
            Err(DigestError::WrongLength(65))
        );
        let upper = EMPTY.to_uppercase();
        assert_eq!(
            Sha256Digest::parse(&upper),
            Err(DigestError::NotLowercaseHex {
                position: 1,
                found: 'E'
            })
        );
        let spaced = format!(" {}", &EMPTY[1..]);
        assert_eq!(
            Sha256Digest::parse(&spaced).map_err(|e| e.code()),
            Err("not_lowercase_hex")
        );
        // 64 characters, one of them two bytes long: counted as characters, refused as such.
        let cyrillic = format!("{}а", &EMPTY[..63]);
        assert_eq!(
            Sha256Digest::parse(&cyrillic),
            Err(DigestError::NotLowercaseHex {
                position: 64,
                found: 'а'
            })
        );
        assert_eq!(DigestError::WrongLength(1).code(), "wrong_length");
    }

    #[test]
    fn serde_uses_the_hex_string() {
        let d = Sha256Digest::parse(EMPTY).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{EMPTY}\""));
        assert_eq!(serde_json::from_str::<Sha256Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Sha256Digest>("\"E3B0\"").is_err());
    }

    proptest! {
        #[test]
        fn text_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            let d = Sha256Digest::from_bytes(bytes);
            let text = d.to_string();
            prop_assert_eq!(text.len(), 64);
            prop_assert!(text.bytes().all(|b| HEX.contains(&b)));
            prop_assert_eq!(Sha256Digest::parse(&text), Ok(d));
        }
    }
}
