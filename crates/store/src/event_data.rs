//! An event's `data` column: only what its other columns do not already say.
//!
//! The columns hold the application, the kind, both states, the actor's role and staff id
//! and the instant. `data` adds the facts of the kind (a ticket and due date, a reason and
//! comment, a document number…) and the actor's scope (a citizen's IIN, an officer's region,
//! a point operator's point) — `{"ticket": "…", "due_date": "…", "actor": {"iin": "…"}}`.
//! Events are most of the database (a dozen per application), and the whole event repeated
//! as JSON made them three times the size (issue #19: ≈ 300 of an event row's ≈ 420 bytes).
//!
//! Events written before this form hold the whole event as JSON (they have an
//! `"application"` key). They stay as they are — events are append-only and the audit chain
//! hashes each row as stored — and are read as before.

use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

use kuelik_core::lifecycle::Event;

use crate::{StoreError, StoreResult};

/// The actor's fields that are not columns.
const ACTOR: &str = "actor";
/// The instant, kept only when the `at` column (whole microseconds) would lose part of it.
const AT: &str = "at";
/// Only a whole event (the form written before this one) has it.
const WHOLE_EVENT: &str = "application";

fn unencodable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("cannot store event: {error}"))
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("events.data: {error}"))
}

fn object(value: Option<Value>, what: &str) -> Result<Map<String, Value>, String> {
    match value {
        Some(Value::Object(map)) => Ok(map),
        None => Ok(Map::new()),
        Some(other) => Err(format!("{what} is {other}, not an object")),
    }
}

/// `data` for `event`.
pub(crate) fn encode(event: &Event) -> StoreResult<String> {
    let Value::Object(mut whole) = serde_json::to_value(event).map_err(unencodable)? else {
        return Err(unencodable("an event is not a JSON object"));
    };
    let mut facts = object(whole.remove("kind"), "the kind").map_err(unencodable)?;
    facts.remove("kind");
    for reserved in [ACTOR, AT, WHOLE_EVENT] {
        if facts.contains_key(reserved) {
            // A new kind with a fact of this name would be read back wrongly.
            return Err(unencodable(format!(
                "the kind's fact {reserved:?} clashes with the stored form"
            )));
        }
    }
    let mut actor = object(whole.remove("actor"), "the actor").map_err(unencodable)?;
    actor.remove("role");
    actor.remove("staff");
    if !actor.is_empty() {
        facts.insert(ACTOR.into(), Value::Object(actor));
    }
    if event.at.subsec_nanosecond() % 1_000 != 0 {
        if let Some(at) = whole.remove("at") {
            facts.insert(AT.into(), at);
        }
    }
    serde_json::to_string(&facts).map_err(unencodable)
}

/// The columns an event is read back from, besides `data`.
pub(crate) struct EventColumns {
    pub application_id: Uuid,
    pub kind: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_role: String,
    pub actor_staff: Option<Uuid>,
    pub at: Timestamp,
}

/// The event stored as `columns` and `data` (either form).
pub(crate) fn decode(columns: EventColumns, data: &str) -> StoreResult<Event> {
    let Value::Object(mut facts) = serde_json::from_str(data).map_err(corrupt)? else {
        return Err(corrupt("not a JSON object"));
    };
    if facts.contains_key(WHOLE_EVENT) {
        return serde_json::from_value(Value::Object(facts)).map_err(corrupt);
    }
    let mut actor = object(facts.remove(ACTOR), "the actor").map_err(corrupt)?;
    actor.insert("role".into(), columns.actor_role.into());
    if let Some(staff) = columns.actor_staff {
        actor.insert("staff".into(), staff.to_string().into());
    }
    let at = match facts.remove(AT) {
        Some(at) => at,
        None => serde_json::to_value(columns.at).map_err(corrupt)?,
    };
    facts.insert("kind".into(), columns.kind.into());
    let mut whole = Map::new();
    whole.insert(
        WHOLE_EVENT.into(),
        columns.application_id.to_string().into(),
    );
    whole.insert("kind".into(), Value::Object(facts));
    whole.insert("from".into(), columns.from_state.into());
    whole.insert("to".into(), columns.to_state.into());
    whole.insert("actor".into(), Value::Object(actor));
    whole.insert("at".into(), at);
    serde_json::from_value(Value::Object(whole)).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuelik_core::lifecycle::{
        Actor, AnnulmentReason, ApplicationId, ApplicationState, EventKind, StaffId,
    };
    use kuelik_core::region::RegionCode;

    fn columns_of(event: &Event) -> EventColumns {
        EventColumns {
            application_id: event.application.0,
            kind: event.kind.as_str().into(),
            from_state: event.from.as_str().into(),
            to_state: event.to.as_str().into(),
            actor_role: event.actor.role().as_str().into(),
            actor_staff: event.actor.staff().map(|s| s.0),
            at: Timestamp::from_microsecond(event.at.as_microsecond()).unwrap(),
        }
    }

    fn annulled(at: Timestamp) -> Event {
        let officer = StaffId(Uuid::from_u128(7));
        Event {
            application: ApplicationId(Uuid::from_u128(42)),
            kind: EventKind::Annulled {
                reason: AnnulmentReason::PhotoNonCompliant,
                comment: "тень на лице".into(),
            },
            from: ApplicationState::UnderReview,
            to: ApplicationState::Annulled,
            actor: Actor::Officer {
                staff: officer,
                region: "35".parse::<RegionCode>().unwrap(),
            },
            at,
        }
    }

    #[test]
    fn data_holds_only_what_the_columns_do_not_and_reads_back_whole() {
        let event = annulled(Timestamp::from_second(1_760_000_000).unwrap());
        let data = encode(&event).unwrap();
        let stored: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({
                "reason": "photo_non_compliant",
                "comment": "тень на лице",
                "actor": {"region": "35"},
            })
        );
        assert_eq!(decode(columns_of(&event), &data).unwrap(), event);
    }

    #[test]
    fn an_instant_finer_than_the_column_is_kept_in_data() {
        let at = Timestamp::new(1_760_000_000, 123_456_789).unwrap();
        let event = annulled(at);
        let data = encode(&event).unwrap();
        assert!(data.contains("\"at\""), "{data}");
        assert_eq!(decode(columns_of(&event), &data).unwrap().at, at);
        let whole_micros = annulled(Timestamp::new(1_760_000_000, 123_456_000).unwrap());
        assert!(!encode(&whole_micros).unwrap().contains("\"at\""));
    }

    #[test]
    fn an_event_stored_whole_is_read_as_it_was_written() {
        let event = annulled(Timestamp::from_second(1_760_000_000).unwrap());
        let whole = serde_json::to_string(&event).unwrap();
        // The columns of an old row say the same; the whole event is what is read.
        assert_eq!(decode(columns_of(&event), &whole).unwrap(), event);
    }

    #[test]
    fn data_that_is_not_an_object_is_corrupt_not_a_panic() {
        let event = annulled(Timestamp::from_second(1_760_000_000).unwrap());
        for bad in ["[]", "\"x\"", "{\"actor\": 5}", "not json", "{\"at\": 5}"] {
            let err = decode(columns_of(&event), bad).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt(_)), "{bad}: {err:?}");
        }
    }
}
