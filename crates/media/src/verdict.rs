//! The words of a check: what was measured ([`Subject`]) and how it came out ([`Verdict`]).
//! A leaf module, so that the profile (thresholds), the advice texts and the measures can
//! all use them without importing one another in a circle.

use serde::Serialize;

/// The outcome of one measure or of a whole check. Ordered by severity, so the verdict of a
/// check is the worst of its measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Meets the requirement.
    Pass,
    /// Doubtful: accepted, shown to the officer next to the image.
    Warn,
    /// Does not meet the requirement: submission is blocked with the advice.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// What was measured: the advice differs for the same measure name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    Photo,
    Signature,
}
