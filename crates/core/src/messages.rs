//! User-facing messages in Kazakh, Russian and English, from Fluent files (`locales/`).
//!
//! The files are compiled in; a message is looked up by id with named arguments. Dates are
//! written the way each language's readers expect (`crate::format`, CLDR through ICU4X).

use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use jiff::civil::Date;
use unic_langid::LanguageIdentifier;

use crate::document::{DocumentKind, DocumentStatus, OldCard};
use crate::iin::IinError;
use crate::lang::{Lang, Localized};
use crate::lifecycle::{AnnulmentReason, ApplicationState, LifecycleError};
use crate::ticket::TicketError;

const SOURCES: [(Lang, &str); 3] = [
    (Lang::Kk, include_str!("../locales/kk/kuelik.ftl")),
    (Lang::Ru, include_str!("../locales/ru/kuelik.ftl")),
    (Lang::En, include_str!("../locales/en/kuelik.ftl")),
];

/// A message argument. Dates are formatted per language by the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Number(i64),
    Date(Date),
}

pub struct Catalog {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| Catalog::from_sources(&SOURCES));

impl Catalog {
    /// The compiled-in catalogue.
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// A catalogue of other Fluent files (a crate's own messages), parsed the same way.
    pub fn from_sources(sources: &[(Lang, &str)]) -> Catalog {
        let bundles = sources
            .iter()
            .map(|(lang, text)| {
                let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No Unicode isolation marks: messages go into JSON, logs and SMS as they are.
                bundle.set_use_isolating(false);
                // A broken entry is skipped, not fatal; `tests::every_file_parses` keeps
                // the shipped files clean.
                let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(|(r, _)| r);
                let _ = bundle.add_resource(resource);
                (*lang, bundle)
            })
            .collect();
        Catalog { bundles }
    }

    fn bundle(&self, lang: Lang) -> Option<&FluentBundle<FluentResource>> {
        self.bundles
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, b)| b)
    }

    pub fn has(&self, lang: Lang, id: &str) -> bool {
        self.bundle(lang).is_some_and(|b| b.has_message(id))
    }

    /// The message `id` in `lang`. A missing message yields its id (never a panic); the
    /// tests check that every id used exists in every language.
    pub fn text(&self, lang: Lang, id: &str, args: &[(&str, Arg)]) -> String {
        let Some(bundle) = self.bundle(lang) else {
            return id.to_string();
        };
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, arg) in args {
            let value: FluentValue = match arg {
                Arg::Text(s) => FluentValue::String(Cow::Owned(s.clone())),
                Arg::Number(n) => FluentValue::from(*n),
                Arg::Date(d) => FluentValue::String(Cow::Owned(crate::format::date(lang, *d))),
            };
            fluent_args.set(*name, value);
        }
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }

    /// The message `id` in all three languages.
    pub fn localized(&self, id: &str, args: &[(&str, Arg)]) -> Localized {
        Localized::from_fn(|lang| self.text(lang, id, args))
    }
}

/// What to tell a person whose IIN was refused.
pub fn iin_error(err: &IinError) -> Localized {
    let args: Vec<(&str, Arg)> = match err {
        IinError::WrongLength(n) => vec![("count", Arg::Number(*n as i64))],
        IinError::NotADigit { position } => vec![("position", Arg::Number(*position as i64))],
        IinError::BadCenturyDigit(d) => vec![("digit", Arg::Number(i64::from(*d)))],
        IinError::BadBirthDate(digits) => vec![("digits", Arg::Text(digits.clone()))],
        IinError::CheckDigitMismatch { .. } | IinError::CheckDigitUndefined => vec![],
    };
    Catalog::builtin().localized(&format!("iin-error-{}", err.code()), &args)
}

/// What to tell a person whose ticket number was refused.
pub fn ticket_error(err: &TicketError) -> Localized {
    let args: Vec<(&str, Arg)> = match err {
        TicketError::WrongLength(n) => vec![("count", Arg::Number(*n as i64))],
        TicketError::BadSymbol { position, found } => vec![
            ("position", Arg::Number(*position as i64)),
            ("symbol", Arg::Text(found.to_string())),
        ],
        TicketError::CheckFailed => vec![],
    };
    Catalog::builtin().localized(&format!("ticket-error-{}", err.code()), &args)
}

/// The name of an application state, as the citizen's status page shows it.
pub fn state_name(state: ApplicationState) -> Localized {
    // A status answer names the state of every event of its timeline: formatting the same
    // Fluent messages again for each event was work repeated on every read (callgrind,
    // PERFORMANCE.md, #20 step 4).
    static NAMES: TextsOf<ApplicationState> =
        TextsOf::new("state-", &ApplicationState::ALL, ApplicationState::as_str);
    NAMES.get(state)
}

/// An annulment reason (R12), as the citizen is told it.
pub fn annulment_reason(reason: AnnulmentReason) -> Localized {
    static REASONS: TextsOf<AnnulmentReason> =
        TextsOf::new("annulment-", &AnnulmentReason::ALL, AnnulmentReason::as_str);
    REASONS.get(reason)
}

/// The messages without arguments named `{prefix}{value}` for every value of an enum,
/// formatted once, on first use.
struct TextsOf<K: 'static> {
    prefix: &'static str,
    all: &'static [K],
    name: fn(K) -> &'static str,
    made: OnceLock<Vec<Localized>>,
}

impl<K: Copy + PartialEq> TextsOf<K> {
    const fn new(prefix: &'static str, all: &'static [K], name: fn(K) -> &'static str) -> Self {
        TextsOf {
            prefix,
            all,
            name,
            made: OnceLock::new(),
        }
    }

    fn get(&self, key: K) -> Localized {
        let made = self
            .made
            .get_or_init(|| self.all.iter().map(|k| self.format(*k)).collect());
        match self.all.iter().position(|k| *k == key) {
            Some(i) => made[i].clone(),
            // A value missing from `all` is formatted as before, not lost.
            None => self.format(key),
        }
    }

    fn format(&self, key: K) -> Localized {
        Catalog::builtin().localized(&format!("{}{}", self.prefix, (self.name)(key)), &[])
    }
}

/// What to tell a person whose action on an application was refused.
pub fn lifecycle_error(err: &LifecycleError) -> Localized {
    let id = format!("lifecycle-error-{}", err.code());
    match err {
        LifecycleError::Incomplete { unfinished } => Localized::from_fn(|lang| {
            let parts: Vec<String> = unfinished
                .iter()
                .map(|task| {
                    Catalog::builtin().text(lang, &format!("task-todo-{}", task.as_str()), &[])
                })
                .collect();
            let args = [("parts", Arg::Text(parts.join("; ")))];
            Catalog::builtin().text(lang, &id, &args)
        }),
        LifecycleError::IllegalTransition { state, .. } => {
            let names = state_name(*state);
            Localized::from_fn(|lang| {
                let args = [("state", Arg::Text(names.get(lang).to_string()))];
                Catalog::builtin().text(lang, &id, &args)
            })
        }
        _ => Catalog::builtin().localized(&id, &[]),
    }
}

/// A document kind in running text ("identity card").
pub fn document_kind(kind: DocumentKind) -> Localized {
    Catalog::builtin().localized(&format!("document-{}", kind.as_str()), &[])
}

/// A document's status in words: "valid", "invalid: replaced by a new document", …
pub fn document_status(status: DocumentStatus) -> Localized {
    let id = match status.reason() {
        None => "document-status-valid".to_string(),
        Some(reason) => format!("document-status-{}", reason.as_str()),
    };
    Catalog::builtin().localized(&id, &[])
}

/// The public validity check's answer for a document it does not know.
pub fn document_unknown() -> Localized {
    Catalog::builtin().localized("document-validity-unknown", &[])
}

/// What became of the old card at the desk.
pub fn old_card(fate: OldCard) -> Localized {
    Catalog::builtin().localized(&format!("old-card-{}", fate.as_str()), &[])
}

/// The citizen's notice of the hand-over: the new document, and which card is no longer
/// valid from when (`at` already written for each language: date and Almaty time).
pub fn handed_over_notice(
    kind: DocumentKind,
    number: &str,
    old: &str,
    at: &Localized,
    fate: OldCard,
) -> Localized {
    let kinds = document_kind(kind);
    let fates = old_card(fate);
    Localized::from_fn(|lang| {
        let args = [
            ("kind", Arg::Text(kinds.get(lang).to_string())),
            ("number", Arg::Text(number.to_string())),
            ("old", Arg::Text(old.to_string())),
            ("at", Arg::Text(at.get(lang).to_string())),
            ("old_card", Arg::Text(fates.get(lang).to_string())),
        ];
        Catalog::builtin().text(lang, "notice-handed-over", &args)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_syntax::ast;
    use jiff::civil::date;
    use std::collections::BTreeSet;

    fn ids(text: &str) -> BTreeSet<String> {
        let resource = FluentResource::try_new(text.to_string()).unwrap();
        resource
            .entries()
            .filter_map(|e| match e {
                ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_file_parses_and_all_languages_have_the_same_ids() {
        let en = ids(SOURCES[2].1);
        assert!(en.len() > 20);
        for (lang, text) in SOURCES {
            assert!(
                FluentResource::try_new(text.to_string()).is_ok(),
                "{lang} does not parse"
            );
            assert_eq!(ids(text), en, "{lang} differs from en");
        }
    }

    #[test]
    fn the_psc_message_is_verbatim() {
        let m = Catalog::builtin().localized("psc-only", &[]);
        assert_eq!(m.ru, "Оформление недоступно, обратитесь в ЦОН");
        assert_eq!(m.kk, "Рәсімдеу қолжетімсіз, ХҚКО-ға жүгініңіз");
        assert_eq!(
            m.en,
            "Not available online, please visit a Public Service Centre (PSC)"
        );
    }

    #[test]
    fn arguments_and_dates_are_filled_in_without_isolation_marks() {
        let c = Catalog::builtin();
        let args = [("service_start", Arg::Date(date(2025, 5, 28)))];
        let ru = c.text(
            Lang::Ru,
            "eligibility-service-not-active-before-detail",
            &args,
        );
        assert_eq!(ru, "Онлайн-оформление начнёт действовать с 28.05.2025.");
        let en = c.text(
            Lang::En,
            "eligibility-service-not-active-before-detail",
            &args,
        );
        assert_eq!(en, "The online service starts on 28/05/2025.");
        assert!(!ru.contains('\u{2068}') && !ru.contains('\u{2069}'));
    }

    #[test]
    fn every_document_status_and_old_card_has_a_message() {
        use crate::document::InvalidationReason;
        assert_complete(&document_status(DocumentStatus::Valid), "document-status-");
        for reason in InvalidationReason::ALL {
            assert_complete(
                &document_status(DocumentStatus::Invalid(reason)),
                "document-status-",
            );
        }
        for fate in OldCard::ALL {
            assert_complete(&old_card(fate), "old-card-");
        }
        assert_complete(&document_unknown(), "document-validity-");
        let at = Localized::from_fn(|_| "05.12.2026 14:03".to_string());
        let notice = handed_over_notice(
            DocumentKind::IdentityCard,
            "041234567",
            "016543210",
            &at,
            OldCard::Surrendered,
        );
        assert_complete(&notice, "notice-");
        assert_eq!(
            notice.ru,
            "Вам выдан новый документ (удостоверение личности) № 041234567. Документ № 016543210 \
             недействителен с 05.12.2026 14:03 (прежний документ сдан и уничтожен)."
        );
    }

    #[test]
    fn a_missing_id_gives_the_id_back() {
        assert_eq!(
            Catalog::builtin().text(Lang::Kk, "no-such-message", &[]),
            "no-such-message"
        );
    }

    fn assert_complete(m: &Localized, id_prefix: &str) {
        for lang in Lang::ALL {
            let text = m.get(lang);
            assert!(!text.starts_with(id_prefix), "{lang} lacks {text}");
            assert!(
                !text.contains('{'),
                "{lang} has an unfilled argument: {text}"
            );
        }
    }

    #[test]
    fn every_state_reason_and_lifecycle_error_has_a_message() {
        use crate::calendar::CalendarError;
        use crate::lifecycle::Role;
        for state in ApplicationState::ALL {
            assert_complete(&state_name(state), "state-");
        }
        for reason in AnnulmentReason::ALL {
            assert_complete(&annulment_reason(reason), "annulment-");
        }
        let errors = [
            LifecycleError::IllegalTransition {
                command: "approve",
                state: ApplicationState::Issued,
            },
            LifecycleError::WrongRole {
                command: "approve",
                role: Role::Citizen,
            },
            LifecycleError::NotTheApplicant,
            LifecycleError::OtherRegion,
            LifecycleError::NotTheReviewer,
            LifecycleError::WrongRegistrationPoint,
            LifecycleError::PointOutsideRegion {
                point: "71-01".parse().unwrap(),
                region: "75".parse().unwrap(),
            },
            LifecycleError::Incomplete {
                unfinished: crate::readiness::Task::ALL.to_vec(),
            },
            LifecycleError::AlreadyPaid,
            LifecycleError::TicketMismatch,
            LifecycleError::BadDocumentNumber,
            LifecycleError::NoRefundPending,
            LifecycleError::RegisterDocumentMismatch,
            LifecycleError::ReviewNotAbandoned,
            LifecycleError::NotEligible,
            LifecycleError::Calendar(CalendarError::NotCovered(2027)),
        ];
        for e in &errors {
            assert_complete(&lifecycle_error(e), "lifecycle-error-");
        }
        let m = lifecycle_error(&errors[0]);
        assert!(m.ru.contains("«выдана»"), "{}", m.ru);
        assert!(m.en.contains("\"issued\""), "{}", m.en);
        assert!(m.kk.contains("«табыс етілді»"), "{}", m.kk);
    }

    #[test]
    fn every_iin_and_ticket_error_has_a_message_in_every_language() {
        let iin_errors = [
            IinError::WrongLength(3),
            IinError::NotADigit { position: 2 },
            IinError::BadCenturyDigit(9),
            IinError::BadBirthDate("991399".into()),
            IinError::CheckDigitMismatch {
                expected: 1,
                found: 2,
            },
            IinError::CheckDigitUndefined,
        ];
        for e in &iin_errors {
            let m = iin_error(e);
            for lang in Lang::ALL {
                assert!(
                    !m.get(lang).starts_with("iin-error"),
                    "{lang} lacks {}",
                    e.code()
                );
                assert!(
                    !m.get(lang).contains("{"),
                    "{lang} {} has an unfilled argument",
                    e.code()
                );
            }
        }
        assert!(iin_error(&IinError::WrongLength(3)).ru.contains('3'));
        let ticket_errors = [
            TicketError::WrongLength(4),
            TicketError::BadSymbol {
                position: 3,
                found: 'U',
            },
            TicketError::CheckFailed,
        ];
        for e in &ticket_errors {
            let m = ticket_error(e);
            for lang in Lang::ALL {
                assert!(
                    !m.get(lang).starts_with("ticket-error"),
                    "{lang} lacks {}",
                    e.code()
                );
            }
        }
        assert!(ticket_error(&ticket_errors[1]).en.contains("\"U\""));
    }

    /// The names made once are each state's and reason's own message, not a neighbour's.
    #[test]
    fn names_made_once_are_each_ones_own_message() {
        let catalog = Catalog::builtin();
        for state in ApplicationState::ALL {
            let own = catalog.localized(&format!("state-{}", state.as_str()), &[]);
            assert_eq!(state_name(state), own, "{state:?}");
            assert_eq!(state_name(state), own, "{state:?}, asked again");
        }
        for reason in AnnulmentReason::ALL {
            let own = catalog.localized(&format!("annulment-{}", reason.as_str()), &[]);
            assert_eq!(annulment_reason(reason), own, "{reason:?}");
        }
        assert_eq!(
            state_name(ApplicationState::ReadyForPickup).en,
            "ready for collection"
        );
    }
}
