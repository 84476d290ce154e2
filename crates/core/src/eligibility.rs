//! Who may renew online (R4–R6): a pure decision from the register's facts about the
//! document, the reason, the instant and a rule set.
//!
//! With D the document's last valid day and T today's Almaty date, online renewal is allowed
//! iff `-after <= D - T <= before` (both inclusive; 10 and 30 in the pilot). Too early: the
//! citizen is told the first date they can apply. Any other reason, a document kind the set
//! does not serve, or a card expired too long: the ЦОН message, verbatim.

use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;

use crate::document::DocumentFacts;
use crate::lang::Localized;
use crate::messages::{Arg, Catalog};
use crate::rules::{Reason, RuleSet};
use crate::time::{add_days, almaty_date, days_between};

/// The outcome, with a stable code. Codes are part of the API: never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionCode {
    Eligible,
    TooEarly,
    /// The window would open after the rule set stops being in force.
    WindowAfterServiceEnd,
    ExpiredTooLong,
    ReasonNotServed,
    DocumentNotServed,
    ServiceNotActive,
}

impl DecisionCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionCode::Eligible => "eligible",
            DecisionCode::TooEarly => "too_early",
            DecisionCode::WindowAfterServiceEnd => "window_after_service_end",
            DecisionCode::ExpiredTooLong => "expired_too_long",
            DecisionCode::ReasonNotServed => "reason_not_served",
            DecisionCode::DocumentNotServed => "document_not_served",
            DecisionCode::ServiceNotActive => "service_not_active",
        }
    }

    /// True when the answer is the article's «Оформление недоступно, обратитесь в ЦОН».
    pub fn is_psc_only(self) -> bool {
        matches!(
            self,
            DecisionCode::ExpiredTooLong
                | DecisionCode::ReasonNotServed
                | DecisionCode::DocumentNotServed
                | DecisionCode::WindowAfterServiceEnd
        )
    }
}

/// One condition the decision looked at, and whether it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name: `service_active`, `document_kind_served`, `reason_served`,
    /// `not_too_early`, `not_expired_too_long`.
    pub name: &'static str,
    pub passed: bool,
    /// What was compared, in English, for logs and the officer's screen.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub eligible: bool,
    pub code: DecisionCode,
    /// The headline to show (for the ЦОН cases, the article's message verbatim).
    pub message: Localized,
    /// Why, in plain words.
    pub detail: Localized,
    /// When too early: the first day the citizen can apply online.
    pub first_eligible_date: Option<Date>,
    /// When eligible: the last day the citizen can apply online.
    pub last_eligible_date: Option<Date>,
    pub rules_version: String,
    /// "Today" as the rules saw it: the Almaty date of the instant.
    pub today: Date,
    pub last_valid_day: Date,
    /// D − T: days the document has left (negative once expired).
    pub days_until_expiry: i32,
    pub checks: Vec<Check>,
}

/// Decides whether the holder of the document may renew it online at `at`.
pub fn decide(facts: &DocumentFacts, reason: Reason, at: Timestamp, rules: &RuleSet) -> Decision {
    let today = almaty_date(at);
    let d = facts.last_valid_day;
    let left = days_between(today, d);
    let before = i32::from(rules.window_days_before_expiry);
    let after = i32::from(rules.window_days_after_expiry);
    let first_eligible = add_days(d, -before);
    let last_eligible = add_days(d, after);

    let period = match rules.effective_until {
        Some(until) => format!("{} to {until}", rules.effective_from),
        None => format!("from {}", rules.effective_from),
    };
    let checks = vec![
        Check {
            name: "service_active",
            passed: rules.in_force_on(today),
            detail: format!(
                "today {today}; rule set {} in force {period}",
                rules.version
            ),
        },
        Check {
            name: "document_kind_served",
            passed: rules.document_kinds.contains(&facts.kind),
            detail: format!("document {}", facts.kind),
        },
        Check {
            name: "reason_served",
            passed: rules.reasons.contains(&reason),
            detail: format!("reason {reason}"),
        },
        Check {
            name: "not_too_early",
            passed: left <= before,
            detail: format!("last valid day {d}: {left} days left, window opens at {before}"),
        },
        Check {
            name: "not_expired_too_long",
            passed: -left <= after,
            detail: if left >= 0 {
                format!("last valid day {d}: not expired, window closes {after} days after it")
            } else {
                format!(
                    "last valid day {d}: expired {} days ago, window closes {after} days after it",
                    -left
                )
            },
        },
    ];
    let failed = |name: &str| checks.iter().any(|c| c.name == name && !c.passed);

    // The first failed check in this order decides; all checks are still reported.
    let code = if failed("service_active") {
        DecisionCode::ServiceNotActive
    } else if failed("document_kind_served") {
        DecisionCode::DocumentNotServed
    } else if failed("reason_served") {
        DecisionCode::ReasonNotServed
    } else if failed("not_expired_too_long") {
        DecisionCode::ExpiredTooLong
    } else if failed("not_too_early") {
        if rules.in_force_on(first_eligible) {
            DecisionCode::TooEarly
        } else {
            DecisionCode::WindowAfterServiceEnd
        }
    } else {
        DecisionCode::Eligible
    };

    let catalog = Catalog::builtin();
    let service_end = rules.effective_until.map(Arg::Date);
    let (message, detail) = match code {
        DecisionCode::Eligible => (
            catalog.localized("eligibility-eligible", &[]),
            catalog.localized(
                "eligibility-eligible-detail",
                &[
                    ("last_valid_day", Arg::Date(d)),
                    ("last_eligible_date", Arg::Date(last_eligible)),
                ],
            ),
        ),
        DecisionCode::TooEarly => (
            catalog.localized("eligibility-too-early", &[]),
            catalog.localized(
                "eligibility-too-early-detail",
                &[
                    ("last_valid_day", Arg::Date(d)),
                    ("days_before", Arg::Number(i64::from(before))),
                    ("first_eligible_date", Arg::Date(first_eligible)),
                ],
            ),
        ),
        DecisionCode::WindowAfterServiceEnd => (
            catalog.localized("psc-only", &[]),
            catalog.localized(
                "eligibility-window-after-service-end-detail",
                &[
                    ("first_eligible_date", Arg::Date(first_eligible)),
                    (
                        "service_end",
                        service_end.unwrap_or(Arg::Date(first_eligible)),
                    ),
                ],
            ),
        ),
        DecisionCode::ExpiredTooLong => (
            catalog.localized("psc-only", &[]),
            catalog.localized(
                "eligibility-expired-too-long-detail",
                &[
                    ("last_valid_day", Arg::Date(d)),
                    ("days_after", Arg::Number(i64::from(after))),
                ],
            ),
        ),
        DecisionCode::ReasonNotServed => (
            catalog.localized("psc-only", &[]),
            catalog.localized("eligibility-reason-not-served-detail", &[]),
        ),
        DecisionCode::DocumentNotServed => (
            catalog.localized("psc-only", &[]),
            catalog.localized("eligibility-document-not-served-detail", &[]),
        ),
        DecisionCode::ServiceNotActive => {
            let start = ("service_start", Arg::Date(rules.effective_from));
            let detail = if today < rules.effective_from {
                catalog.localized("eligibility-service-not-active-before-detail", &[start])
            } else {
                let end = ("service_end", service_end.unwrap_or(Arg::Date(today)));
                catalog.localized("eligibility-service-not-active-ended-detail", &[start, end])
            };
            (
                catalog.localized("eligibility-service-not-active", &[]),
                detail,
            )
        }
    };

    Decision {
        eligible: code == DecisionCode::Eligible,
        code,
        message,
        detail,
        first_eligible_date: (code == DecisionCode::TooEarly).then_some(first_eligible),
        last_eligible_date: (code == DecisionCode::Eligible).then_some(last_eligible),
        rules_version: rules.version.clone(),
        today,
        last_valid_day: d,
        days_until_expiry: left,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentKind;
    use jiff::civil::date;
    use proptest::prelude::*;

    const PSC_RU: &str = "Оформление недоступно, обратитесь в ЦОН";

    fn pilot() -> RuleSet {
        RuleSet::builtin("pilot-2025").unwrap()
    }

    fn card(last_valid_day: Date) -> DocumentFacts {
        DocumentFacts {
            kind: DocumentKind::IdentityCard,
            last_valid_day,
        }
    }

    /// Noon in Almaty (07:00 UTC) on `day`.
    fn noon(day: Date) -> Timestamp {
        format!("{day}T07:00:00Z").parse().unwrap()
    }

    fn at_offset(days_left: i32) -> Decision {
        let today = date(2025, 10, 15);
        decide(
            &card(add_days(today, days_left)),
            Reason::Expiring,
            noon(today),
            &pilot(),
        )
    }

    #[test]
    fn the_window_boundaries() {
        // D − T = 31: too early, with the first date.
        let d = at_offset(31);
        assert_eq!(d.code, DecisionCode::TooEarly);
        assert!(!d.eligible);
        assert_eq!(d.first_eligible_date, Some(date(2025, 10, 16)));
        assert_eq!(d.message.en, "It is too early to apply online");
        // D − T = 30, 0, −10: eligible.
        for left in [30, 29, 1, 0, -1, -9, -10] {
            let d = at_offset(left);
            assert_eq!(d.code, DecisionCode::Eligible, "D - T = {left}");
            assert!(d.eligible);
            assert_eq!(d.first_eligible_date, None);
            assert_eq!(d.days_until_expiry, left);
        }
        // D − T = −11: the ЦОН message.
        let d = at_offset(-11);
        assert_eq!(d.code, DecisionCode::ExpiredTooLong);
        assert_eq!(d.message.ru, PSC_RU);
        assert_eq!(d.first_eligible_date, None);
    }

    #[test]
    fn eligible_answers_say_until_when() {
        let d = at_offset(0);
        assert_eq!(d.last_eligible_date, Some(date(2025, 10, 25)));
        assert!(d.detail.ru.contains("25.10.2025"), "{}", d.detail.ru);
        assert!(d.detail.en.contains("25/10/2025"), "{}", d.detail.en);
    }

    #[test]
    fn today_is_the_almaty_date() {
        // The card is valid through 9 January 2026 (D). At 18:59 UTC on 9 December it is
        // still 9 December in Almaty (D − T = 31, too early); at 19:00 UTC it is 10 December
        // (D − T = 30, eligible).
        let facts = card(date(2026, 1, 9));
        let before: Timestamp = "2025-12-09T18:59:59Z".parse().unwrap();
        let after: Timestamp = "2025-12-09T19:00:00Z".parse().unwrap();
        assert_eq!(
            decide(&facts, Reason::Expiring, before, &pilot()).code,
            DecisionCode::TooEarly
        );
        let d = decide(&facts, Reason::Expiring, after, &pilot());
        assert_eq!(d.code, DecisionCode::Eligible);
        assert_eq!(d.today, date(2025, 12, 10));
        // The other end: expired 10 days by Almaty midnight, 11 one second... later.
        let facts = card(date(2025, 12, 1));
        let last: Timestamp = "2025-12-11T18:59:59Z".parse().unwrap();
        let gone: Timestamp = "2025-12-11T19:00:00Z".parse().unwrap();
        assert_eq!(
            decide(&facts, Reason::Expiring, last, &pilot()).code,
            DecisionCode::Eligible
        );
        assert_eq!(
            decide(&facts, Reason::Expiring, gone, &pilot()).code,
            DecisionCode::ExpiredTooLong
        );
    }

    #[test]
    fn month_and_year_ends() {
        // Valid through 31 January 2026; today 1 January 2026 (D − T = 30).
        let d = decide(
            &card(date(2026, 1, 31)),
            Reason::Expiring,
            noon(date(2026, 1, 1)),
            &pilot(),
        );
        assert_eq!(d.code, DecisionCode::Eligible);
        // Today 31 December 2025 (D − T = 31): too early, first date 1 January 2026.
        let d = decide(
            &card(date(2026, 1, 31)),
            Reason::Expiring,
            noon(date(2025, 12, 31)),
            &pilot(),
        );
        assert_eq!(d.code, DecisionCode::TooEarly);
        assert_eq!(d.first_eligible_date, Some(date(2026, 1, 1)));
        // Expired 28 February 2026; today 10 March 2026 (10 days later: eligible).
        let d = decide(
            &card(date(2026, 2, 28)),
            Reason::Expiring,
            noon(date(2026, 3, 10)),
            &pilot(),
        );
        assert_eq!(d.code, DecisionCode::Eligible);
        let d = decide(
            &card(date(2026, 2, 28)),
            Reason::Expiring,
            noon(date(2026, 3, 11)),
            &pilot(),
        );
        assert_eq!(d.code, DecisionCode::ExpiredTooLong);
    }

    #[test]
    fn pilot_first_and_last_day() {
        let facts = card(date(2025, 6, 10));
        let d = decide(&facts, Reason::Expiring, noon(date(2025, 5, 27)), &pilot());
        assert_eq!(d.code, DecisionCode::ServiceNotActive);
        assert!(d.detail.ru.contains("28.05.2025"));
        // 28 May 2025 starts at 19:00 UTC on 27 May.
        let first: Timestamp = "2025-05-27T19:00:00Z".parse().unwrap();
        assert_eq!(
            decide(&facts, Reason::Expiring, first, &pilot()).code,
            DecisionCode::Eligible
        );
        let facts = card(date(2026, 4, 5));
        let d = decide(&facts, Reason::Expiring, noon(date(2026, 3, 31)), &pilot());
        assert_eq!(d.code, DecisionCode::Eligible);
        // 1 April 2026 starts at 19:00 UTC on 31 March: the pilot is over.
        let after: Timestamp = "2026-03-31T19:00:00Z".parse().unwrap();
        let d = decide(&facts, Reason::Expiring, after, &pilot());
        assert_eq!(d.code, DecisionCode::ServiceNotActive);
        assert!(d.detail.en.contains("31/03/2026"), "{}", d.detail.en);
        // With the (assumed) continuation the same request is served.
        let cont = RuleSet::builtin("continuation").unwrap();
        let d = decide(&facts, Reason::Expiring, after, &cont);
        assert_eq!(d.code, DecisionCode::Eligible);
        assert_eq!(d.rules_version, "continuation");
    }

    #[test]
    fn a_window_opening_after_the_pilot_ends_is_not_a_date_to_wait_for() {
        let d = decide(
            &card(date(2026, 6, 1)),
            Reason::Expiring,
            noon(date(2026, 3, 1)),
            &pilot(),
        );
        assert_eq!(d.code, DecisionCode::WindowAfterServiceEnd);
        assert_eq!(d.first_eligible_date, None);
        assert_eq!(d.message.ru, PSC_RU);
        assert!(d.detail.ru.contains("31.03.2026"));
    }

    #[test]
    fn every_other_reason_gets_the_psc_message() {
        for reason in [
            Reason::NameChange,
            Reason::Loss,
            Reason::Damage,
            Reason::Other,
        ] {
            // Even inside the window.
            let today = date(2025, 10, 15);
            let d = decide(&card(add_days(today, 5)), reason, noon(today), &pilot());
            assert_eq!(d.code, DecisionCode::ReasonNotServed);
            assert_eq!(d.message.ru, PSC_RU);
            assert_eq!(d.message.kk, "Рәсімдеу қолжетімсіз, ХҚКО-ға жүгініңіз");
            assert!(!d.eligible);
        }
    }

    #[test]
    fn a_passport_gets_the_psc_message_under_the_pilot() {
        let today = date(2025, 10, 15);
        let facts = DocumentFacts {
            kind: DocumentKind::Passport,
            last_valid_day: add_days(today, 5),
        };
        let d = decide(&facts, Reason::Expiring, noon(today), &pilot());
        assert_eq!(d.code, DecisionCode::DocumentNotServed);
        assert_eq!(d.message.ru, PSC_RU);
        // A rule set that serves passports switches them on without code changes.
        let mut rules = pilot();
        rules.document_kinds.insert(DocumentKind::Passport);
        assert_eq!(
            decide(&facts, Reason::Expiring, noon(today), &rules).code,
            DecisionCode::Eligible
        );
    }

    #[test]
    fn the_decision_lists_every_check_and_its_version() {
        let d = at_offset(-11);
        let names: Vec<_> = d.checks.iter().map(|c| (c.name, c.passed)).collect();
        assert_eq!(
            names,
            vec![
                ("service_active", true),
                ("document_kind_served", true),
                ("reason_served", true),
                ("not_too_early", true),
                ("not_expired_too_long", false),
            ]
        );
        assert_eq!(d.rules_version, "pilot-2025");
    }

    #[test]
    fn window_parameters_come_from_the_rule_set() {
        let mut rules = pilot();
        rules.window_days_before_expiry = 45;
        rules.window_days_after_expiry = 0;
        let today = date(2025, 10, 15);
        let at = noon(today);
        assert_eq!(
            decide(&card(add_days(today, 45)), Reason::Expiring, at, &rules).code,
            DecisionCode::Eligible
        );
        assert_eq!(
            decide(&card(add_days(today, -1)), Reason::Expiring, at, &rules).code,
            DecisionCode::ExpiredTooLong
        );
    }

    proptest! {
        /// The decision agrees with the rule written in domain.md §2, for any date pair
        /// inside the pilot.
        #[test]
        fn matches_the_written_rule(today_off in 0i32..300, left in -400i32..400, secs in 0i64..86_400) {
            let today = add_days(date(2025, 5, 28), today_off);
            // Any second of the Almaty day `today`: it starts at 19:00 UTC the day before.
            let utc_midnight: Timestamp = format!("{today}T00:00:00Z").parse().unwrap();
            let at = Timestamp::from_second(utc_midnight.as_second() - 5 * 3600 + secs).unwrap();
            prop_assert_eq!(almaty_date(at), today);
            let d = decide(&card(add_days(today, left)), Reason::Expiring, at, &pilot());
            let expected_eligible = (-10..=30).contains(&left);
            prop_assert_eq!(d.eligible, expected_eligible);
            if left > 30 {
                prop_assert!(matches!(d.code, DecisionCode::TooEarly | DecisionCode::WindowAfterServiceEnd));
                if d.code == DecisionCode::TooEarly {
                    prop_assert_eq!(days_between(today, d.first_eligible_date.unwrap()), left - 30);
                }
            }
            if left < -10 {
                prop_assert_eq!(d.code, DecisionCode::ExpiredTooLong);
                prop_assert_eq!(d.message.ru.as_str(), PSC_RU);
            }
        }
    }
}
