//! The individual identification number (ИИН / ЖСН): 12 digits `YYMMDD C SSSS K`.
//!
//! `YYMMDD` is the birth date, `C` the century-and-sex digit (1/2 = 19th century
//! male/female, 3/4 = 20th, 5/6 = 21st), `SSSS` a serial and `K` a check digit:
//! `sum(d[i] * w[i]) mod 11` with weights 1..11; if that gives 10 the sum is redone with
//! weights 3,4,5,6,7,8,9,10,11,1,2; if that also gives 10 the number is not valid.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A syntactically valid IIN. It cannot hold an invalid value: build it with [`Iin::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iin([u8; 12]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// Why a string is not an IIN. Each variant names exactly one failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("an IIN has 12 digits, this has {0} characters")]
    WrongLength(usize),
    #[error("character {position} is not a digit")]
    NotADigit { position: usize },
    #[error("digit 7 (century and sex) is {0}, it must be 1 to 6")]
    BadCenturyDigit(u8),
    #[error("digits 1-6 ({0}) are not a real birth date")]
    BadBirthDate(String),
    #[error("check digit is {found}, the number's digits give {expected}")]
    CheckDigitMismatch { expected: u8, found: u8 },
    #[error("both check-digit passes give 10: no valid IIN has these first 11 digits")]
    CheckDigitUndefined,
}

impl IinError {
    /// Stable machine code, also the Fluent message id suffix (`iin-error-<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            IinError::WrongLength(_) => "wrong_length",
            IinError::NotADigit { .. } => "not_a_digit",
            IinError::BadCenturyDigit(_) => "bad_century_digit",
            IinError::BadBirthDate(_) => "bad_birth_date",
            IinError::CheckDigitMismatch { .. } => "check_digit_mismatch",
            IinError::CheckDigitUndefined => "check_digit_undefined",
        }
    }
}

const FIRST_PASS: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_PASS: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// The check digit for the first 11 digits, or `None` when both passes give 10.
pub fn check_digit(first_eleven: &[u8; 11]) -> Option<u8> {
    let pass = |weights: &[u32; 11]| -> u32 {
        first_eleven
            .iter()
            .zip(weights)
            .map(|(d, w)| u32::from(*d) * w)
            .sum::<u32>()
            % 11
    };
    [FIRST_PASS, SECOND_PASS]
        .iter()
        .map(pass)
        .find(|&r| r != 10)
        // `r < 10` here, so the cast cannot truncate.
        .map(|r| r as u8)
}

impl Iin {
    /// Parses and validates an IIN. Surrounding whitespace is ignored; nothing else is.
    pub fn parse(input: &str) -> Result<Iin, IinError> {
        let s = input.trim();
        let count = s.chars().count();
        if count != 12 {
            return Err(IinError::WrongLength(count));
        }
        let mut digits = [0u8; 12];
        for (i, c) in s.chars().enumerate() {
            let d = c
                .to_digit(10)
                .ok_or(IinError::NotADigit { position: i + 1 })?;
            digits[i] = d as u8;
        }
        let century = digits[6];
        if !(1..=6).contains(&century) {
            return Err(IinError::BadCenturyDigit(century));
        }
        birth_date_of(&digits).ok_or_else(|| IinError::BadBirthDate(s[..6].to_string()))?;
        let mut first_eleven = [0u8; 11];
        first_eleven.copy_from_slice(&digits[..11]);
        let expected = check_digit(&first_eleven).ok_or(IinError::CheckDigitUndefined)?;
        if expected != digits[11] {
            return Err(IinError::CheckDigitMismatch {
                expected,
                found: digits[11],
            });
        }
        Ok(Iin(digits))
    }

    /// Builds a valid IIN from its parts, choosing the check digit. `None` when the parts
    /// cannot form one (date outside 1800–2099, serial over 9999, or no valid check digit).
    /// Used by the synthetic population register and by tests.
    pub fn from_parts(birth_date: Date, sex: Sex, serial: u16) -> Option<Iin> {
        let year = birth_date.year();
        let century_base = match year {
            1800..=1899 => 1,
            1900..=1999 => 3,
            2000..=2099 => 5,
            _ => return None,
        };
        if serial > 9999 {
            return None;
        }
        let c = century_base + u8::from(sex == Sex::Female);
        let yy = (year % 100) as u8;
        let mm = birth_date.month() as u8;
        let dd = birth_date.day() as u8;
        let s = serial;
        let first_eleven = [
            yy / 10,
            yy % 10,
            mm / 10,
            mm % 10,
            dd / 10,
            dd % 10,
            c,
            (s / 1000) as u8,
            (s / 100 % 10) as u8,
            (s / 10 % 10) as u8,
            (s % 10) as u8,
        ];
        let k = check_digit(&first_eleven)?;
        let mut digits = [0u8; 12];
        digits[..11].copy_from_slice(&first_eleven);
        digits[11] = k;
        Some(Iin(digits))
    }

    pub fn birth_date(&self) -> Date {
        // Checked in `parse` and `from_parts`; the fallback is unreachable.
        birth_date_of(&self.0).unwrap_or(Date::MIN)
    }

    pub fn sex(&self) -> Sex {
        if self.0[6] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The number with its middle hidden, for logs and screens that need no more.
    pub fn masked(&self) -> String {
        let s = self.to_string();
        format!("{}******{}", &s[..4], &s[10..])
    }
}

fn birth_date_of(digits: &[u8; 12]) -> Option<Date> {
    let century = match digits[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return None,
    };
    let two = |i: usize| i16::from(digits[i] * 10 + digits[i + 1]);
    let year = century + two(0);
    let month = two(2) as i8;
    let day = two(4) as i8;
    Date::new(year, month, day).ok()
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.0 {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Iin {
    type Err = IinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Iin::parse(s)
    }
}

impl Serialize for Iin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Iin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Iin::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn accepts_a_valid_number_and_reads_birth_date_and_sex() {
        // 1990-05-15, 20th century male (3), serial 0123 → check digit computed by hand:
        // 9*1+0*2+0*3+5*4+1*5+5*6+3*7+0*8+1*9+2*10+3*11 = 147, 147 mod 11 = 4.
        let iin = Iin::parse("900515301234").unwrap();
        assert_eq!(iin.birth_date(), date(1990, 5, 15));
        assert_eq!(iin.sex(), Sex::Male);
        assert_eq!(iin.to_string(), "900515301234");
        assert_eq!(iin.masked(), "9005******34");
    }

    #[test]
    fn second_pass_is_used_when_first_gives_ten() {
        // Find, by search, eleven digits whose first pass gives 10 and second pass does not.
        let mut found = false;
        for serial in 0..10_000u16 {
            let iin = Iin::from_parts(date(2001, 2, 3), Sex::Female, serial);
            let Some(iin) = iin else { continue };
            let d = iin.0;
            let first: u32 = d[..11]
                .iter()
                .zip(FIRST_PASS)
                .map(|(a, w)| u32::from(*a) * w)
                .sum::<u32>()
                % 11;
            if first == 10 {
                let second: u32 = d[..11]
                    .iter()
                    .zip(SECOND_PASS)
                    .map(|(a, w)| u32::from(*a) * w)
                    .sum::<u32>()
                    % 11;
                assert_eq!(u32::from(d[11]), second);
                assert!(Iin::parse(&iin.to_string()).is_ok());
                found = true;
                break;
            }
        }
        assert!(found, "no serial exercised the second pass");
    }

    #[test]
    fn a_number_whose_both_passes_give_ten_is_invalid() {
        let mut seen = 0;
        for serial in 0..10_000u16 {
            let s = format!("010203{}{:04}", 5, serial);
            let mut eleven = [0u8; 11];
            for (i, c) in s.chars().enumerate() {
                eleven[i] = c.to_digit(10).unwrap() as u8;
            }
            if check_digit(&eleven).is_none() {
                seen += 1;
                for k in 0..10 {
                    assert_eq!(
                        Iin::parse(&format!("{s}{k}")),
                        Err(IinError::CheckDigitUndefined)
                    );
                }
            }
        }
        assert!(seen > 0, "no undefined check digit found in 10,000 serials");
    }

    #[test]
    fn each_failure_names_what_is_wrong() {
        assert_eq!(Iin::parse("12345"), Err(IinError::WrongLength(5)));
        assert_eq!(Iin::parse("9005153012345"), Err(IinError::WrongLength(13)));
        assert_eq!(Iin::parse(""), Err(IinError::WrongLength(0)));
        assert_eq!(
            Iin::parse("90051530123A"),
            Err(IinError::NotADigit { position: 12 })
        );
        assert_eq!(
            Iin::parse("９00515301234"),
            Err(IinError::NotADigit { position: 1 })
        );
        assert_eq!(
            Iin::parse("900515701234"),
            Err(IinError::BadCenturyDigit(7))
        );
        assert_eq!(
            Iin::parse("900515001234"),
            Err(IinError::BadCenturyDigit(0))
        );
        assert_eq!(
            Iin::parse("900230301234"),
            Err(IinError::BadBirthDate("900230".into()))
        );
        assert_eq!(
            Iin::parse("901315301234"),
            Err(IinError::BadBirthDate("901315".into()))
        );
        assert_eq!(
            Iin::parse("900515301235"),
            Err(IinError::CheckDigitMismatch {
                expected: 4,
                found: 5
            })
        );
    }

    #[test]
    fn leap_days_follow_the_century() {
        // 29 Feb 2000 exists (century digit 5), 29 Feb 1900 does not (century digit 3).
        assert!(Iin::from_parts(date(2000, 2, 29), Sex::Male, 1).is_some());
        let s = "000229300011";
        assert_eq!(Iin::parse(s), Err(IinError::BadBirthDate("000229".into())));
    }

    #[test]
    fn whitespace_around_is_ignored_inside_is_not() {
        assert!(Iin::parse(" 900515301234\n").is_ok());
        assert_eq!(
            Iin::parse("900515 01234"),
            Err(IinError::NotADigit { position: 7 })
        );
    }

    proptest! {
        #[test]
        fn parts_round_trip(days in 0i32..(200 * 366), female: bool, serial in 0u16..10_000) {
            let birth = date(1900, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            prop_assume!(birth.year() < 2100);
            let sex = if female { Sex::Female } else { Sex::Male };
            if let Some(iin) = Iin::from_parts(birth, sex, serial) {
                let parsed = Iin::parse(&iin.to_string()).unwrap();
                prop_assert_eq!(parsed, iin);
                prop_assert_eq!(parsed.birth_date(), birth);
                prop_assert_eq!(parsed.sex(), sex);
            }
        }

        #[test]
        fn a_changed_check_digit_is_always_caught(serial in 0u16..10_000, delta in 1u8..10) {
            let Some(iin) = Iin::from_parts(date(1985, 7, 20), Sex::Female, serial) else {
                return Ok(());
            };
            let mut digits = iin.0;
            digits[11] = (digits[11] + delta) % 10;
            let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let is_mismatch = matches!(Iin::parse(&s), Err(IinError::CheckDigitMismatch { .. }));
            prop_assert!(is_mismatch);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = Iin::parse(&s);
        }
    }
}
