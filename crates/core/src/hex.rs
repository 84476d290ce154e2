//! Lowercase hexadecimal, for keys, digests and signatures in files, headers and logs.

/// `bytes` as lowercase hex, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex string (either case, surrounding whitespace ignored), or `None` when
/// it is not an even number of hex digits.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let s = text.trim();
    // `from_str_radix` alone would also take a sign ("+1").
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_what_is_not_hex() {
        assert_eq!(decode("0a1B"), Some(vec![0x0a, 0x1b]));
        assert_eq!(decode(" ff\n"), Some(vec![0xff]));
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(decode("+1"), None);
        assert_eq!(decode("é1"), None);
    }

    proptest! {
        #[test]
        fn round_trips(bytes: Vec<u8>) {
            prop_assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }
    }
}
