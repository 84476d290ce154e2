//! One measured property of an upload: raw value, 0–100 score, status and advice.

use kuelik_core::lang::Localized;
use serde::Serialize;

use crate::profile::Band;
use crate::text;
use crate::verdict::{Subject, Verdict};

/// One measure of a photo or signature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    /// Stable snake_case name (the profile key, the API field, the CLI row).
    pub name: &'static str,
    /// The measured value, in the unit documented for the measure.
    pub raw: f64,
    /// Quality on 0–100 (100 best): OFIQ's mapping where the measure follows OFIQ, else
    /// derived from the profile band. Informative; `status` is what decides.
    pub score: u8,
    pub status: Verdict,
    /// What is wrong and how to fix it (or that it is fine), in kk/ru/en.
    pub message: Localized,
}

/// How a measure's score is derived from its raw value.
pub(crate) enum Scoring {
    /// A fixed formula (usually OFIQ's), already on 0–100.
    Formula(f64),
    /// From the band: 100 inside the pass zone, 50 at a fail bound, falling to 0 beyond.
    FromBand,
}

impl Measure {
    /// Judges `raw` against `band` and attaches the advice for the side it fell on. A raw
    /// value that could not be computed (NaN) is written as JSON `null` and warns.
    pub(crate) fn judged(
        subject: Subject,
        name: &'static str,
        raw: f64,
        band: &Band,
        scoring: Scoring,
    ) -> Measure {
        let (status, side) = band.judge(raw);
        let score = match scoring {
            _ if raw.is_nan() => 0.0,
            Scoring::Formula(q) => q,
            Scoring::FromBand => band_score(band, raw),
        };
        Measure {
            name,
            raw: if raw.is_finite() {
                round_to(raw, 4)
            } else {
                f64::NAN
            },
            score: clamp_score(score),
            status,
            message: text::advice(subject, name, side),
        }
    }
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

pub(crate) fn clamp_score(q: f64) -> u8 {
    if q.is_nan() {
        return 0;
    }
    q.round().clamp(0.0, 100.0) as u8
}

/// 100 inside [warn_below, warn_above]; 100→50 across each warn zone; 50→0 over the same
/// width again past a fail bound.
fn band_score(band: &Band, raw: f64) -> f64 {
    if raw.is_nan() {
        return 0.0;
    }
    let low = side_score(raw, band.warn_below, band.fail_below, -1.0);
    let high = side_score(raw, band.warn_above, band.fail_above, 1.0);
    low.min(high)
}

fn side_score(raw: f64, warn: Option<f64>, fail: Option<f64>, direction: f64) -> f64 {
    // Distance past the bound, positive when on the bad side.
    let past = |bound: f64| (raw - bound) * direction;
    match (warn, fail) {
        (Some(w), Some(f)) => {
            let width = ((f - w) * direction).abs().max(1e-9);
            if past(w) <= 0.0 {
                100.0
            } else if past(f) <= 0.0 {
                100.0 - 50.0 * past(w) / width
            } else {
                50.0 - 50.0 * past(f) / width
            }
        }
        (Some(w), None) => {
            let width = w.abs().max(1e-9);
            if past(w) <= 0.0 {
                100.0
            } else {
                100.0 - 50.0 * past(w) / width
            }
        }
        (None, Some(f)) => {
            let width = f.abs().max(1e-9);
            if past(f) <= 0.0 {
                100.0
            } else {
                50.0 - 50.0 * past(f) / width
            }
        }
        (None, None) => 100.0,
    }
}

/// OFIQ's logistic `S(x) = 1 / (1 + e^((x0 − x)/w))` (OFIQlib Measure.h).
pub(crate) fn sigmoid(x: f64, x0: f64, w: f64) -> f64 {
    1.0 / (1.0 + ((x0 - x) / w).exp())
}

/// The worst status among `measures` (pass when there are none).
pub(crate) fn overall(measures: &[Measure]) -> Verdict {
    measures
        .iter()
        .map(|m| m.status)
        .max()
        .unwrap_or(Verdict::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_scores_follow_the_zones() {
        let band = Band {
            fail_below: Some(1.0),
            warn_below: Some(2.0),
            warn_above: None,
            fail_above: None,
        };
        assert_eq!(band_score(&band, 3.0), 100.0);
        assert_eq!(band_score(&band, 1.5), 75.0);
        assert_eq!(band_score(&band, 1.0), 50.0);
        assert_eq!(band_score(&band, 0.0), 0.0);
        assert_eq!(clamp_score(band_score(&band, -10.0)), 0);
    }

    #[test]
    fn worst_status_wins() {
        assert!(Verdict::Fail > Verdict::Warn && Verdict::Warn > Verdict::Pass);
        assert_eq!(overall(&[]), Verdict::Pass);
    }
}
