//! Identity documents: kinds, validity and number formats.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::time::add_days;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    /// Удостоверение личности (from age 16).
    IdentityCard,
    /// Паспорт гражданина Республики Казахстан.
    Passport,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 2] = [DocumentKind::IdentityCard, DocumentKind::Passport];

    /// The kebab-case name used in files, URLs and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::IdentityCard => "identity-card",
            DocumentKind::Passport => "passport",
        }
    }

    /// Years a newly issued document is valid (both kinds: 10).
    pub fn validity_years(self) -> i16 {
        10
    }

    /// The last day on which a document issued on `issued` is valid: the day before the
    /// tenth anniversary (a card issued 2016-03-15 is valid through 2026-03-14). A card
    /// issued on 29 February expires on 28 February.
    pub fn last_valid_day(self, issued: Date) -> Date {
        let year = issued.year().saturating_add(self.validity_years());
        let anniversary = Date::new(year, issued.month(), issued.day())
            .or_else(|_| Date::new(year, issued.month(), 28))
            .unwrap_or(Date::MAX);
        let last = add_days(anniversary, -1);
        // 29 Feb issue: the anniversary falls back to 28 Feb, valid through 28 Feb.
        if issued.month() == 2 && issued.day() == 29 && anniversary.day() == 28 {
            anniversary
        } else {
            last
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown document kind {0:?}: use identity-card or passport")]
pub struct UnknownDocumentKind(pub String);

impl FromStr for DocumentKind {
    type Err = UnknownDocumentKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "identity-card" | "id-card" => Ok(DocumentKind::IdentityCard),
            "passport" => Ok(DocumentKind::Passport),
            _ => Err(UnknownDocumentKind(s.to_string())),
        }
    }
}

/// A document number in its kind's format: identity card — 9 digits; passport — the
/// letter N and 8 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DocumentNumber {
    pub kind: DocumentKind,
    number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentNumberError {
    #[error("an identity card number is 9 digits")]
    IdentityCardFormat,
    #[error("a passport number is the letter N and 8 digits")]
    PassportFormat,
}

impl DocumentNumber {
    pub fn parse(kind: DocumentKind, input: &str) -> Result<DocumentNumber, DocumentNumberError> {
        let s = input.trim().to_ascii_uppercase();
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        let ok = match kind {
            DocumentKind::IdentityCard => digits(&s, 9),
            DocumentKind::Passport => s.strip_prefix('N').is_some_and(|rest| digits(rest, 8)),
        };
        if !ok {
            return Err(match kind {
                DocumentKind::IdentityCard => DocumentNumberError::IdentityCardFormat,
                DocumentKind::Passport => DocumentNumberError::PassportFormat,
            });
        }
        Ok(DocumentNumber { kind, number: s })
    }

    pub fn as_str(&self) -> &str {
        &self.number
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

/// What the population register says about a person's current document: the facts
/// eligibility is decided on (never what the user typed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFacts {
    pub kind: DocumentKind,
    /// The last day on which the document is valid.
    pub last_valid_day: Date,
}

/// Why a document stopped being valid. Only `Replaced` is decided by this service (at the
/// hand-over of the new document); `ReportedLost` is the register's (a loss reported at a
/// ЦОН) and `Expired` follows from the calendar alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidationReason {
    Replaced,
    ReportedLost,
    Expired,
}

impl InvalidationReason {
    pub const ALL: [InvalidationReason; 3] = [
        InvalidationReason::Replaced,
        InvalidationReason::ReportedLost,
        InvalidationReason::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvalidationReason::Replaced => "replaced",
            InvalidationReason::ReportedLost => "reported_lost",
            InvalidationReason::Expired => "expired",
        }
    }
}

impl FromStr for InvalidationReason {
    type Err = UnknownDocumentStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InvalidationReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownDocumentStatus(s.to_string()))
    }
}

/// What became of the old card at the desk when the new one was handed over. Either way the
/// old card is invalid from that moment; the difference is whether it is still in the
/// holder's hands (and could be misused) or was collected and destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OldCard {
    /// Collected at the desk and destroyed.
    Surrendered,
    /// The holder did not bring it (or kept it): invalid all the same.
    NotPresented,
}

impl OldCard {
    pub const ALL: [OldCard; 2] = [OldCard::Surrendered, OldCard::NotPresented];

    pub fn as_str(self) -> &'static str {
        match self {
            OldCard::Surrendered => "surrendered",
            OldCard::NotPresented => "not_presented",
        }
    }
}

impl FromStr for OldCard {
    type Err = UnknownDocumentStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OldCard::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownDocumentStatus(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown document status word {0:?}")]
pub struct UnknownDocumentStatus(pub String);

/// Whether a document may be relied on as proof of identity on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum DocumentStatus {
    Valid,
    Invalid(InvalidationReason),
}

impl DocumentStatus {
    /// `valid` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Valid => "valid",
            DocumentStatus::Invalid(_) => "invalid",
        }
    }

    pub fn reason(self) -> Option<InvalidationReason> {
        match self {
            DocumentStatus::Valid => None,
            DocumentStatus::Invalid(r) => Some(r),
        }
    }
}

/// The card a new document replaced, as the register had it at the hand-over, and what
/// became of it at the desk: recorded in the hand-over event, so the citizen's notice and
/// history can say which card stopped being valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacedCard {
    pub kind: DocumentKind,
    pub number: String,
    pub old_card: OldCard,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn valid_for_ten_years_through_the_eve_of_the_anniversary() {
        let k = DocumentKind::IdentityCard;
        assert_eq!(k.last_valid_day(date(2016, 3, 15)), date(2026, 3, 14));
        assert_eq!(k.last_valid_day(date(2016, 1, 1)), date(2025, 12, 31));
        assert_eq!(k.last_valid_day(date(2016, 2, 29)), date(2026, 2, 28));
        assert_eq!(k.last_valid_day(date(2020, 2, 29)), date(2030, 2, 28));
    }

    #[test]
    fn number_formats() {
        use DocumentKind::*;
        assert_eq!(
            DocumentNumber::parse(IdentityCard, " 041234567 ")
                .unwrap()
                .as_str(),
            "041234567"
        );
        assert!(DocumentNumber::parse(IdentityCard, "04123456").is_err());
        assert!(DocumentNumber::parse(IdentityCard, "N12345678").is_err());
        assert_eq!(
            DocumentNumber::parse(Passport, "n12345678")
                .unwrap()
                .as_str(),
            "N12345678"
        );
        assert!(DocumentNumber::parse(Passport, "N1234567").is_err());
        assert!(DocumentNumber::parse(Passport, "N１2345678").is_err());
    }

    #[test]
    fn statuses_serialize_as_status_and_reason() {
        let invalid = DocumentStatus::Invalid(InvalidationReason::Replaced);
        assert_eq!(
            serde_json::to_value(invalid).unwrap(),
            serde_json::json!({ "status": "invalid", "reason": "replaced" })
        );
        assert_eq!(
            serde_json::to_value(DocumentStatus::Valid).unwrap(),
            serde_json::json!({ "status": "valid" })
        );
        for r in InvalidationReason::ALL {
            assert_eq!(r.as_str().parse(), Ok(r));
        }
        for c in OldCard::ALL {
            assert_eq!(c.as_str().parse(), Ok(c));
        }
        assert!("lost".parse::<InvalidationReason>().is_err());
        assert!("kept".parse::<OldCard>().is_err());
    }

    #[test]
    fn kinds_parse_from_their_names() {
        assert_eq!("identity-card".parse(), Ok(DocumentKind::IdentityCard));
        assert_eq!("passport".parse(), Ok(DocumentKind::Passport));
        assert!("driving-licence".parse::<DocumentKind>().is_err());
    }
}
