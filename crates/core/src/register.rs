//! What the population register (ГБД ФЛ) knows about a person: the source of truth for the
//! applicant's identity, current document and registered address (which decides the region).
//! The service never trusts what a user types for these facts.
//!
//! The embedded default register is a table filled from a CSV file ([`csv`]) or from the
//! deterministic synthetic population ([`synthetic`]).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub mod csv;
pub mod synthetic;

// `self::` because the child module `csv` would otherwise be ambiguous with the `csv` crate.
pub use self::csv::{Column, FieldProblem, PersonReader, PersonWriter, RegisterCsvError};

use crate::document::{DocumentFacts, DocumentKind};
use crate::iin::Iin;
use crate::lang::Lang;
use crate::region::RegionCode;

/// A Kazakhstan mobile number on record, `+7` and 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a phone number of the form +7XXXXXXXXXX")]
pub struct BadPhone(pub String);

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, BadPhone> {
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let rest = digits
            .strip_prefix("+7")
            .or_else(|| digits.strip_prefix('8').filter(|r| r.len() == 10));
        match rest {
            Some(r) if r.len() == 10 && r.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Phone(format!("+7{r}")))
            }
            _ => Err(BadPhone(input.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+7 701 *** ** 67`: enough for a person to recognise their number.
    pub fn masked(&self) -> String {
        let s = &self.0;
        format!("+7 {} *** ** {}", &s[2..5], &s[10..])
    }
}

impl TryFrom<String> for Phone {
    type Error = BadPhone;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

/// The person's current document as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredDocument {
    pub kind: DocumentKind,
    pub number: String,
    pub issued_on: Date,
    pub last_valid_day: Date,
}

impl RegisteredDocument {
    pub fn facts(&self) -> DocumentFacts {
        DocumentFacts {
            kind: self.kind,
            last_valid_day: self.last_valid_day,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub iin: Iin,
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    pub phone: Phone,
    /// The language the person prefers for notices.
    pub language: Lang,
    /// The region of the registered address: it decides which УМС handles the application.
    pub region: RegionCode,
    pub address: String,
    pub document: RegisteredDocument,
}
