//! Rule sets: the service's rules as data with effective dates (as in rules-as-code systems).
//!
//! A rule set has a version, a validity period and its parameters (document kinds and
//! reasons served online, the expiry window, the processing deadline, the duty). Extending
//! the pilot is a new TOML file, not a code change. Decisions record the version they used.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize};

use crate::document::DocumentKind;

/// The built-in rule sets: `(version, TOML text)`. The first is the default.
pub const BUILTIN: [(&str, &str); 2] = [
    ("pilot-2025", include_str!("../rules/pilot-2025.toml")),
    ("continuation", include_str!("../rules/continuation.toml")),
];

/// The version used when nothing else is chosen.
pub const DEFAULT_VERSION: &str = "pilot-2025";

/// Why a citizen wants a new document. Only some reasons are served online (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The document's validity is ending or has just ended (R4, R5).
    Expiring,
    NameChange,
    Loss,
    Damage,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::Expiring,
        Reason::NameChange,
        Reason::Loss,
        Reason::Damage,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Expiring => "expiring",
            Reason::NameChange => "name-change",
            Reason::Loss => "loss",
            Reason::Damage => "damage",
            Reason::Other => "other",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason {0:?}: use expiring, name-change, loss, damage or other")]
pub struct UnknownReason(pub String);

impl FromStr for Reason {
    type Err = UnknownReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase().replace('_', "-"))
            .ok_or_else(|| UnknownReason(s.to_string()))
    }
}

/// A multiple of the МРП, exact to 1/10,000 (the duty is "0.2 МРП", "8 МРП").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MrpMultiple {
    ten_thousandths: u64,
}

impl MrpMultiple {
    pub fn ten_thousandths(self) -> u64 {
        self.ten_thousandths
    }
}

impl FromStr for MrpMultiple {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a non-negative decimal with at most 4 decimals");
        let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 4 {
            return Err(bad());
        }
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        let frac: u64 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
        let ten_thousandths = whole
            .checked_mul(10_000)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(bad)?;
        Ok(MrpMultiple { ten_thousandths })
    }
}

impl fmt::Display for MrpMultiple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.ten_thousandths / 10_000;
        let frac = self.ten_thousandths % 10_000;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:04}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl Serialize for MrpMultiple {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MrpMultiple {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Whole(u64),
            Text(String),
            Float(f64),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Whole(n) => Ok(MrpMultiple {
                ten_thousandths: n.saturating_mul(10_000),
            }),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Float(x) => Err(serde::de::Error::custom(format!(
                "write the МРП multiple {x} as a string (\"{x}\"): money is never a float"
            ))),
        }
    }
}

/// A calendar date written either as a TOML date (`2025-05-28`) or a string (`"2025-05-28"`).
fn toml_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match Raw::deserialize(deserializer)? {
        Raw::Text(s) => s,
        Raw::Toml(d) => d.to_string(),
    };
    text.parse::<Date>()
        .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a date (YYYY-MM-DD): {e}")))
}

fn toml_date_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
    toml_date(deserializer).map(Some)
}

/// One version of the rules. Fields mirror the TOML file (`rules/*.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub version: String,
    /// What the set is, in kk, ru and en (shown to administrators on their pages).
    pub title: crate::lang::Localized,
    /// True when the set is this project's assumption rather than a published act.
    #[serde(default)]
    pub assumption: bool,
    #[serde(default)]
    pub enabled_by_default: bool,
    #[serde(deserialize_with = "toml_date")]
    pub effective_from: Date,
    /// Last day in force (inclusive); none = open-ended.
    #[serde(default, deserialize_with = "toml_date_opt")]
    pub effective_until: Option<Date>,
    pub document_kinds: BTreeSet<DocumentKind>,
    pub reasons: BTreeSet<Reason>,
    pub window_days_before_expiry: u16,
    pub window_days_after_expiry: u16,
    pub processing_working_days: u16,
    pub duty_mrp: BTreeMap<DocumentKind, MrpMultiple>,
}

/// How far ahead an administrator may bring in a rule set: two years.
pub const MAX_ACTIVATION_DAYS_AHEAD: i32 = 731;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    #[error("the rule set is not valid TOML for a rule set: {0}")]
    Toml(String),
    #[error("version {0:?} must be lowercase letters, digits and hyphens")]
    BadVersion(String),
    #[error("effective_until {until} is before effective_from {from}")]
    PeriodReversed { from: Date, until: Date },
    #[error("{field} is {value}: more than a year is surely a typo")]
    WindowTooLong { field: &'static str, value: u16 },
    #[error("processing_working_days must be at least 1")]
    NoProcessingDays,
    #[error("document_kinds is empty: the set would serve nobody")]
    NoDocumentKinds,
    #[error("reasons is empty: the set would serve nobody")]
    NoReasons,
    #[error("duty_mrp has no duty for {0}, which the set serves")]
    MissingDuty(DocumentKind),
    #[error("no rule set named {0:?}")]
    UnknownRuleSet(String),
    #[error("{from} has passed (today is {today}): decisions already made keep their rules")]
    ActivationInPast { from: Date, today: Date },
    #[error(
        "{from} is more than {} days ahead of {today}: bring a version in when it is known",
        MAX_ACTIVATION_DAYS_AHEAD
    )]
    ActivationTooFarAhead { from: Date, today: Date },
    #[error("rule set {version} ends on {until}: it cannot take effect from {from}")]
    ActivationAfterPeriod {
        version: String,
        from: Date,
        until: Date,
    },
}

impl RuleSetError {
    pub fn code(&self) -> &'static str {
        match self {
            RuleSetError::Toml(_) => "bad_toml",
            RuleSetError::BadVersion(_) => "bad_version",
            RuleSetError::PeriodReversed { .. } => "period_reversed",
            RuleSetError::WindowTooLong { .. } => "window_too_long",
            RuleSetError::NoProcessingDays => "no_processing_days",
            RuleSetError::NoDocumentKinds => "no_document_kinds",
            RuleSetError::NoReasons => "no_reasons",
            RuleSetError::MissingDuty(_) => "missing_duty",
            RuleSetError::UnknownRuleSet(_) => "unknown_rule_set",
            RuleSetError::ActivationInPast { .. } => "activation_in_past",
            RuleSetError::ActivationTooFarAhead { .. } => "activation_too_far_ahead",
            RuleSetError::ActivationAfterPeriod { .. } => "activation_after_period",
        }
    }
}

impl RuleSet {
    /// Parses and checks a rule-set file.
    pub fn from_toml(text: &str) -> Result<RuleSet, RuleSetError> {
        let set: RuleSet = toml::from_str(text).map_err(|e| RuleSetError::Toml(e.to_string()))?;
        set.check()?;
        Ok(set)
    }

    fn check(&self) -> Result<(), RuleSetError> {
        let v = &self.version;
        if v.is_empty()
            || !v
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(RuleSetError::BadVersion(v.clone()));
        }
        if let Some(until) = self.effective_until {
            if until < self.effective_from {
                return Err(RuleSetError::PeriodReversed {
                    from: self.effective_from,
                    until,
                });
            }
        }
        for (field, value) in [
            ("window_days_before_expiry", self.window_days_before_expiry),
            ("window_days_after_expiry", self.window_days_after_expiry),
        ] {
            if value > 366 {
                return Err(RuleSetError::WindowTooLong { field, value });
            }
        }
        if self.processing_working_days == 0 {
            return Err(RuleSetError::NoProcessingDays);
        }
        if self.document_kinds.is_empty() {
            return Err(RuleSetError::NoDocumentKinds);
        }
        if self.reasons.is_empty() {
            return Err(RuleSetError::NoReasons);
        }
        if let Some(kind) = self
            .document_kinds
            .iter()
            .find(|k| !self.duty_mrp.contains_key(k))
        {
            return Err(RuleSetError::MissingDuty(*kind));
        }
        Ok(())
    }

    /// A built-in set by version.
    pub fn builtin(version: &str) -> Result<RuleSet, RuleSetError> {
        BUILTIN
            .iter()
            .find(|(v, _)| *v == version)
            .ok_or_else(|| RuleSetError::UnknownRuleSet(version.to_string()))
            .and_then(|(_, text)| RuleSet::from_toml(text))
    }

    pub fn in_force_on(&self, date: Date) -> bool {
        date >= self.effective_from && self.effective_until.is_none_or(|until| date <= until)
    }
}

/// All known rule sets and which of them are switched on, and from when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleBook {
    sets: Vec<RuleSet>,
    /// Switched-on versions: from their own `effective_from` (`None`), or from the date an
    /// administrator activated them.
    enabled: BTreeMap<String, Option<Date>>,
}

impl RuleBook {
    /// The built-in sets, with the ones marked `enabled_by_default` switched on.
    pub fn builtin() -> Result<RuleBook, RuleSetError> {
        let sets = BUILTIN
            .iter()
            .map(|(_, text)| RuleSet::from_toml(text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RuleBook::new(sets))
    }

    pub fn new(sets: Vec<RuleSet>) -> RuleBook {
        let enabled = sets
            .iter()
            .filter(|s| s.enabled_by_default)
            .map(|s| (s.version.clone(), None))
            .collect();
        RuleBook { sets, enabled }
    }

    /// Switches a set on for its whole period.
    pub fn enable(&mut self, version: &str) -> Result<(), RuleSetError> {
        self.get(version)?;
        self.enabled.insert(version.to_string(), None);
        Ok(())
    }

    /// Switches a set on from `from` (or from its own `effective_from`, if later). This is
    /// how an administrator brings in a new version: from that day it supersedes the set in
    /// force, because it took effect last. A later activation of the same set replaces an
    /// earlier one.
    pub fn activate(&mut self, version: &str, from: Date) -> Result<(), RuleSetError> {
        let set = self.get(version)?;
        if let Some(until) = set.effective_until.filter(|until| from > *until) {
            return Err(RuleSetError::ActivationAfterPeriod {
                version: version.to_string(),
                from,
                until,
            });
        }
        self.enabled.insert(version.to_string(), Some(from));
        Ok(())
    }

    /// Whether an administrator may activate `version` from `from`, asked on `today`: not
    /// from a day that has passed (decisions made on it were made under its rules), not more
    /// than [`MAX_ACTIVATION_DAYS_AHEAD`] days ahead, and not after the set ends. Stored activations are re-applied with [`RuleBook::activate`], which
    /// does not look at today.
    pub fn may_activate(&self, version: &str, from: Date, today: Date) -> Result<(), RuleSetError> {
        if from < today {
            return Err(RuleSetError::ActivationInPast { from, today });
        }
        // A rule set is law for a known period: a date years away is a typo, not a plan.
        if crate::time::days_between(today, from) > MAX_ACTIVATION_DAYS_AHEAD {
            return Err(RuleSetError::ActivationTooFarAhead { from, today });
        }
        self.clone().activate(version, from)
    }

    /// Switches a set off (it stays known, e.g. for reading old decisions).
    pub fn disable(&mut self, version: &str) {
        self.enabled.remove(version);
    }

    pub fn get(&self, version: &str) -> Result<&RuleSet, RuleSetError> {
        self.sets
            .iter()
            .find(|s| s.version == version)
            .ok_or_else(|| RuleSetError::UnknownRuleSet(version.to_string()))
    }

    pub fn is_enabled(&self, version: &str) -> bool {
        self.enabled.contains_key(version)
    }

    /// The first day a switched-on set is in force: its `effective_from`, or the day it was
    /// activated from when that is later. `None` for a set that is switched off.
    pub fn takes_effect(&self, version: &str) -> Option<Date> {
        let from = self.enabled.get(version)?;
        let set = self.get(version).ok()?;
        Some(from.map_or(set.effective_from, |d| d.max(set.effective_from)))
    }

    pub fn iter(&self) -> impl Iterator<Item = &RuleSet> {
        self.sets.iter()
    }

    /// The enabled set in force on `date`; when several are, the one that took effect last
    /// (that is how an administrator activates a new version from a date).
    pub fn in_force(&self, date: Date) -> Option<&RuleSet> {
        self.sets
            .iter()
            .filter_map(|s| Some((s, self.takes_effect(&s.version)?)))
            .filter(|(s, start)| date >= *start && s.in_force_on(date))
            .max_by_key(|(_, start)| *start)
            .map(|(s, _)| s)
    }

    /// The set a decision on `date` is made with: the one in force, else the default set
    /// (whose decision will then say the service is not active).
    pub fn for_date(&self, date: Date) -> Result<&RuleSet, RuleSetError> {
        match self.in_force(date) {
            Some(set) => Ok(set),
            None => self.get(DEFAULT_VERSION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn builtin_sets_say_what_the_order_says() {
        let pilot = RuleSet::builtin("pilot-2025").unwrap();
        assert_eq!(pilot.effective_from, date(2025, 5, 28));
        assert_eq!(pilot.effective_until, Some(date(2026, 3, 31)));
        assert_eq!(pilot.window_days_before_expiry, 30);
        assert_eq!(pilot.window_days_after_expiry, 10);
        assert_eq!(pilot.processing_working_days, 15);
        assert!(pilot.enabled_by_default && !pilot.assumption);
        assert_eq!(
            pilot.document_kinds.iter().copied().collect::<Vec<_>>(),
            vec![DocumentKind::IdentityCard]
        );
        assert_eq!(
            pilot.reasons.iter().copied().collect::<Vec<_>>(),
            vec![Reason::Expiring]
        );
        let cont = RuleSet::builtin("continuation").unwrap();
        assert_eq!(cont.effective_from, date(2026, 4, 1));
        assert_eq!(cont.effective_until, None);
        assert!(cont.assumption && !cont.enabled_by_default);
    }

    #[test]
    fn the_book_switches_on_only_the_pilot_by_default() {
        let mut book = RuleBook::builtin().unwrap();
        assert_eq!(book.in_force(date(2025, 5, 27)), None);
        assert_eq!(
            book.in_force(date(2025, 5, 28)).unwrap().version,
            "pilot-2025"
        );
        assert_eq!(
            book.in_force(date(2026, 3, 31)).unwrap().version,
            "pilot-2025"
        );
        assert_eq!(book.in_force(date(2026, 4, 1)), None);
        assert_eq!(
            book.for_date(date(2026, 11, 25)).unwrap().version,
            "pilot-2025"
        );
        book.enable("continuation").unwrap();
        assert_eq!(
            book.in_force(date(2026, 4, 1)).unwrap().version,
            "continuation"
        );
        assert_eq!(
            book.in_force(date(2026, 3, 31)).unwrap().version,
            "pilot-2025"
        );
        assert!(matches!(
            book.enable("nope"),
            Err(RuleSetError::UnknownRuleSet(_))
        ));
    }

    #[test]
    fn an_activation_is_from_today_to_two_years_ahead_within_the_sets_period() {
        let book = RuleBook::builtin().unwrap();
        let today = date(2025, 10, 15);
        assert_eq!(
            book.may_activate("continuation", date(2025, 10, 14), today),
            Err(RuleSetError::ActivationInPast {
                from: date(2025, 10, 14),
                today
            })
        );
        assert!(book.may_activate("continuation", today, today).is_ok());
        assert!(book
            .may_activate("continuation", date(2027, 10, 15), today)
            .is_ok());
        for far in [date(2027, 10, 17), date(9999, 12, 31)] {
            assert_eq!(
                book.may_activate("continuation", far, today)
                    .unwrap_err()
                    .code(),
                "activation_too_far_ahead"
            );
        }
        assert_eq!(
            book.may_activate("pilot-2025", date(2026, 4, 1), today)
                .unwrap_err()
                .code(),
            "activation_after_period"
        );
    }

    #[test]
    fn an_activated_set_supersedes_the_one_in_force_from_its_date() {
        let mut book = RuleBook::builtin().unwrap();
        let mut later = pilot_text().replace("pilot-2025", "pilot-2027");
        later = later.replace(
            "processing_working_days = 15",
            "processing_working_days = 10",
        );
        later = later.replace("effective_until = \"2026-03-31\"\n", "");
        later = later.replace("enabled_by_default = true", "enabled_by_default = false");
        let mut sets: Vec<RuleSet> = book.iter().cloned().collect();
        let later = RuleSet::from_toml(&later).unwrap();
        assert_eq!(later.effective_from, date(2025, 5, 28));
        sets.push(later);
        book = RuleBook::new(sets);
        book.enable("continuation").unwrap();
        // Before the activation the continuation is in force; the new set is known but off.
        assert_eq!(
            book.in_force(date(2026, 12, 1)).unwrap().version,
            "continuation"
        );
        assert_eq!(book.takes_effect("pilot-2027"), None);

        book.activate("pilot-2027", date(2026, 12, 1)).unwrap();
        assert_eq!(book.takes_effect("pilot-2027"), Some(date(2026, 12, 1)));
        assert_eq!(
            book.in_force(date(2026, 11, 30)).unwrap().version,
            "continuation"
        );
        assert_eq!(
            book.in_force(date(2026, 12, 1)).unwrap().version,
            "pilot-2027"
        );
        // An activation before the set's own start takes effect at the start.
        book.activate("continuation", date(2026, 1, 1)).unwrap();
        assert_eq!(book.takes_effect("continuation"), Some(date(2026, 4, 1)));
        assert_eq!(
            book.in_force(date(2026, 3, 31)).unwrap().version,
            "pilot-2025"
        );
        // A set cannot be brought in after its period ends; nothing changes.
        let before = book.clone();
        let err = book.activate("pilot-2025", date(2026, 4, 1)).unwrap_err();
        assert_eq!(err.code(), "activation_after_period");
        assert_eq!(book, before);
        assert_eq!(
            book.activate("nope", date(2026, 4, 1)).unwrap_err().code(),
            "unknown_rule_set"
        );
    }

    #[test]
    fn mrp_multiples_are_exact() {
        assert_eq!(
            "0.2".parse::<MrpMultiple>().unwrap().ten_thousandths(),
            2_000
        );
        assert_eq!(
            "8".parse::<MrpMultiple>().unwrap().ten_thousandths(),
            80_000
        );
        assert_eq!("0.2".parse::<MrpMultiple>().unwrap().to_string(), "0.2");
        assert_eq!(
            "12.0500".parse::<MrpMultiple>().unwrap().to_string(),
            "12.05"
        );
        for bad in ["", ".5", "-1", "0.12345", "1e3", "0,2", "abc"] {
            assert!(bad.parse::<MrpMultiple>().is_err(), "{bad}");
        }
    }

    fn pilot_text() -> String {
        BUILTIN[0].1.to_string()
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let unknown_key = format!(
            "{}\nsurprise = 1\n",
            pilot_text().replace("[duty_mrp]", "bogus = 1\n[duty_mrp]")
        );
        assert!(
            matches!(RuleSet::from_toml(&unknown_key), Err(RuleSetError::Toml(m)) if m.contains("bogus"))
        );
        let float = pilot_text().replace("identity-card = \"0.2\"", "identity-card = 0.2");
        assert!(
            matches!(RuleSet::from_toml(&float), Err(RuleSetError::Toml(m)) if m.contains("never a float"))
        );
        let reversed = pilot_text().replace(
            "effective_until = \"2026-03-31\"",
            "effective_until = \"2025-01-01\"",
        );
        assert!(matches!(
            RuleSet::from_toml(&reversed),
            Err(RuleSetError::PeriodReversed { .. })
        ));
        let no_duty = pilot_text().replace("identity-card = \"0.2\"\n", "");
        assert_eq!(
            RuleSet::from_toml(&no_duty),
            Err(RuleSetError::MissingDuty(DocumentKind::IdentityCard))
        );
        let bad_reason =
            pilot_text().replace("reasons = [\"expiring\"]", "reasons = [\"boredom\"]");
        assert!(matches!(
            RuleSet::from_toml(&bad_reason),
            Err(RuleSetError::Toml(_))
        ));
        let huge = pilot_text().replace(
            "window_days_before_expiry = 30",
            "window_days_before_expiry = 3000",
        );
        assert!(matches!(
            RuleSet::from_toml(&huge),
            Err(RuleSetError::WindowTooLong { .. })
        ));
        let version = pilot_text().replace("version = \"pilot-2025\"", "version = \"Pilot 2025\"");
        assert!(matches!(
            RuleSet::from_toml(&version),
            Err(RuleSetError::BadVersion(_))
        ));
    }

    #[test]
    fn toml_dates_may_be_bare_or_quoted() {
        let bare = pilot_text().replace("\"2025-05-28\"", "2025-05-28");
        assert_eq!(
            RuleSet::from_toml(&bare).unwrap().effective_from,
            date(2025, 5, 28)
        );
        let bad = pilot_text().replace("\"2025-05-28\"", "\"2025-02-30\"");
        assert!(matches!(
            RuleSet::from_toml(&bad),
            Err(RuleSetError::Toml(_))
        ));
    }

    #[test]
    fn reasons_parse() {
        assert_eq!("name-change".parse(), Ok(Reason::NameChange));
        assert_eq!("NAME_CHANGE".parse(), Ok(Reason::NameChange));
        assert!("marriage".parse::<Reason>().is_err());
    }
}
