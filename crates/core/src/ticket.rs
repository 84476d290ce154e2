//! Registration ticket numbers (талон регистрации, R8, R14).
//!
//! A ticket is 9 random symbols (45 bits) and 1 check symbol, in Crockford's base-32
//! alphabet (no I, L, O, U: nothing to confuse when read aloud or copied by hand), shown as
//! `ABCDE-FGHJK`. The check symbol is computed with the Damm algorithm over a totally
//! anti-symmetric quasigroup of order 32 — `x ∘ y = 2·x + y` in GF(32) — so every
//! single-symbol error and every swap of neighbours is detected before any lookup.
//! Why that quasigroup works (and the exhaustive proof) is in the tests below.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DATA_LEN: usize = 9;
const LEN: usize = DATA_LEN + 1;
/// Random bits in a ticket: 9 symbols of 5 bits.
pub const RANDOM_BITS: u32 = 45;

/// Multiplication by the generator 2 in GF(2⁵) with modulus x⁵ + x² + 1.
fn times_two(x: u8) -> u8 {
    let shifted = x << 1;
    if shifted & 0b10_0000 != 0 {
        (shifted ^ 0b10_0101) & 0b1_1111
    } else {
        shifted
    }
}

/// The quasigroup operation: `x ∘ y = 2x ⊕ y` (addition in GF(2⁵) is XOR).
fn op(x: u8, y: u8) -> u8 {
    times_two(x) ^ y
}

fn interim(symbols: &[u8]) -> u8 {
    symbols.iter().fold(0, |acc, &s| op(acc, s))
}

/// The symbol `c` with `p ∘ c = 0`, i.e. `c = 2p` (characteristic 2: −2p = 2p).
fn check_symbol(data: &[u8]) -> u8 {
    times_two(interim(data))
}

fn symbol_value(c: char) -> Option<u8> {
    // Crockford's decoding: O reads as 0, I and L as 1; case does not matter.
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber([u8; LEN]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("a ticket number has 10 symbols, this has {0}")]
    WrongLength(usize),
    #[error("symbol {position} ({found:?}) is not used in ticket numbers")]
    BadSymbol { position: usize, found: char },
    #[error("the check symbol does not match: a symbol is mistyped or two are swapped")]
    CheckFailed,
}

impl TicketError {
    pub fn code(&self) -> &'static str {
        match self {
            TicketError::WrongLength(_) => "wrong_length",
            TicketError::BadSymbol { .. } => "bad_symbol",
            TicketError::CheckFailed => "check_failed",
        }
    }
}

impl TicketNumber {
    /// A ticket from 45 random bits (the caller draws them from the OS's CSPRNG; the core
    /// does no IO). Higher bits are ignored.
    pub fn from_random_bits(bits: u64) -> TicketNumber {
        let mut symbols = [0u8; LEN];
        for (i, s) in symbols.iter_mut().take(DATA_LEN).enumerate() {
            *s = ((bits >> (5 * i)) & 0b1_1111) as u8;
        }
        symbols[DATA_LEN] = check_symbol(&symbols[..DATA_LEN]);
        TicketNumber(symbols)
    }

    /// Parses what a person typed: case, spaces and hyphens do not matter.
    pub fn parse(input: &str) -> Result<TicketNumber, TicketError> {
        let cleaned: Vec<char> = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if cleaned.len() != LEN {
            return Err(TicketError::WrongLength(cleaned.len()));
        }
        let mut symbols = [0u8; LEN];
        for (i, &c) in cleaned.iter().enumerate() {
            symbols[i] = symbol_value(c).ok_or(TicketError::BadSymbol {
                position: i + 1,
                found: c,
            })?;
        }
        if interim(&symbols) != 0 {
            return Err(TicketError::CheckFailed);
        }
        Ok(TicketNumber(symbols))
    }

    /// The canonical form without the hyphen, for storage and lookups.
    pub fn compact(&self) -> String {
        self.0
            .iter()
            .map(|&s| char::from(ALPHABET[usize::from(s)]))
            .collect()
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.compact();
        write!(f, "{}-{}", &s[..5], &s[5..])
    }
}

impl FromStr for TicketNumber {
    type Err = TicketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TicketNumber::parse(s)
    }
}

impl Serialize for TicketNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TicketNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        TicketNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Latin square: every row and every column of the operation table is a permutation,
    /// so changing any one input of a step changes its output (single errors are caught,
    /// including an error in the check symbol itself).
    #[test]
    fn the_table_is_a_latin_square() {
        for x in 0..32u8 {
            let mut row = [false; 32];
            let mut col = [false; 32];
            for y in 0..32u8 {
                row[usize::from(op(x, y))] = true;
                col[usize::from(op(y, x))] = true;
            }
            assert!(row.iter().all(|&b| b), "row {x}");
            assert!(col.iter().all(|&b| b), "column {x}");
        }
    }

    /// Total anti-symmetry, exhaustively over all 32³ triples: `(c∘x)∘y = (c∘y)∘x ⇒ x = y`.
    /// With the Latin property this is exactly what makes every adjacent transposition
    /// change the final interim value, at any position (c is the interim before the pair;
    /// the pair may include the check symbol).
    #[test]
    fn the_table_is_totally_anti_symmetric() {
        for c in 0..32u8 {
            for x in 0..32u8 {
                for y in 0..32u8 {
                    if x != y {
                        assert_ne!(op(op(c, x), y), op(op(c, y), x), "c={c} x={x} y={y}");
                    }
                }
            }
        }
    }

    fn every_single_error_and_swap_is_caught(t: TicketNumber) {
        let s: Vec<char> = t.compact().chars().collect();
        for i in 0..LEN {
            for &a in ALPHABET {
                let a = char::from(a);
                if a == s[i] {
                    continue;
                }
                let mut typo = s.clone();
                typo[i] = a;
                let typo: String = typo.into_iter().collect();
                assert_eq!(
                    TicketNumber::parse(&typo),
                    Err(TicketError::CheckFailed),
                    "{typo}"
                );
            }
        }
        for i in 0..LEN - 1 {
            if s[i] == s[i + 1] {
                continue;
            }
            let mut swapped = s.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            assert_eq!(TicketNumber::parse(&swapped), Err(TicketError::CheckFailed));
        }
    }

    /// Exhaustive over every value of every pair of neighbouring random symbols (8 pairs ×
    /// 32² tickets): each ticket's 310 single-symbol errors and its swaps are all caught.
    #[test]
    fn exhaustive_errors_on_every_neighbour_pair() {
        for pair in 0..(DATA_LEN as u64 - 1) {
            for a in 0..32u64 {
                for b in 0..32u64 {
                    let bits = (a << (5 * pair)) | (b << (5 * (pair + 1)));
                    every_single_error_and_swap_is_caught(TicketNumber::from_random_bits(bits));
                }
            }
        }
    }

    #[test]
    fn reads_what_people_type() {
        let t = TicketNumber::from_random_bits(0x1234_5678_9ABC);
        let shown = t.to_string();
        assert_eq!(shown.len(), 11);
        assert_eq!(&shown[5..6], "-");
        assert_eq!(TicketNumber::parse(&shown), Ok(t));
        assert_eq!(TicketNumber::parse(&shown.to_lowercase()), Ok(t));
        assert_eq!(TicketNumber::parse(&format!(" {} ", t.compact())), Ok(t));
        let spaced: String = t.compact().chars().flat_map(|c| [c, ' ']).collect();
        assert_eq!(TicketNumber::parse(&spaced), Ok(t));
    }

    #[test]
    fn confusable_letters_read_as_digits() {
        // A ticket containing 0 and 1 accepts O and I/L in their place.
        let t = (0..u64::MAX)
            .map(TicketNumber::from_random_bits)
            .find(|t| t.compact().contains('0') && t.compact().contains('1'))
            .unwrap();
        let typed = t.compact().replace('0', "o").replace('1', "L");
        assert_eq!(TicketNumber::parse(&typed), Ok(t));
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(TicketNumber::parse(""), Err(TicketError::WrongLength(0)));
        assert_eq!(
            TicketNumber::parse("ABCDE-FGHJ"),
            Err(TicketError::WrongLength(9))
        );
        assert_eq!(
            TicketNumber::parse("ABCDE-FGHJU"),
            Err(TicketError::BadSymbol {
                position: 10,
                found: 'U'
            })
        );
        assert_eq!(
            TicketNumber::parse("ÄBCDE-FGHJK"),
            Err(TicketError::BadSymbol {
                position: 1,
                found: 'Ä'
            })
        );
    }

    proptest! {
        #[test]
        fn random_tickets_round_trip_and_catch_all_typos(bits: u64) {
            let t = TicketNumber::from_random_bits(bits);
            prop_assert_eq!(TicketNumber::parse(&t.to_string()), Ok(t));
            every_single_error_and_swap_is_caught(t);
        }

        #[test]
        fn the_random_part_keeps_45_bits(bits: u64) {
            let a = TicketNumber::from_random_bits(bits);
            let b = TicketNumber::from_random_bits(bits ^ (1 << (bits % 45)));
            prop_assert_ne!(a, b);
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = TicketNumber::parse(&s);
        }
    }
}
