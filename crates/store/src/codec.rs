//! What both backends share: turning domain values into column values and back, and driver
//! errors (sqlx for PostgreSQL, rusqlite for SQLite) into [`StoreError`]s.
//!
//! Writes are encoded into plain row structs ([`AppRow`], [`EventRow`], …) before any SQL
//! runs — on the caller's task, not inside a transaction — and each backend binds their
//! fields in its own SQL. Reads go the other way through [`RowExt`], which each backend's row
//! type implements, so one decoder per table serves both.
//!
//! Column conventions: instants are microseconds since the Unix epoch (`i64`) — an instant
//! read back from a column has lost any nanoseconds it had (aggregates kept whole in a JSON
//! `data` column keep them); civil dates `YYYY-MM-DD` text; JSON as text (SQLite) or JSONB
//! (PostgreSQL); ids as UUIDs (hyphenated lowercase text on SQLite, which sorts like
//! PostgreSQL's `uuid`).

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::{DocumentKind, OldCard};
use kuelik_core::iin::Iin;
use kuelik_core::issuance::{DocumentRecord, Invalidation};
use kuelik_core::lifecycle::{
    AnnulmentReason, Application, ApplicationId, ApplicationState, Event,
};
use kuelik_core::money::Tiyn;
use kuelik_core::region::RegionCode;
use kuelik_core::register::Person;
use kuelik_core::ticket::TicketNumber;

use crate::history_archive::ArchivedEvent;
use crate::{
    ApplicationCount, Approval, AuditCursor, AuditEntry, AuditRecord, Blob, ChainCandidate,
    ChainEntry, ChainLink, ChainReach, ChainSource, ChainedBatch, Changes, ContactDetails,
    DayCount, DecisionTimes, IdempotencyRecord, ImageCheck, Notice, OfficerCredential,
    OtpChallenge, OutboxMessage, PaymentRecord, PaymentStatus, PaymentTotals, ReasonCount,
    RegionCount, RegisterPhoto, RuleActivation, SamePhoto, Session, SignatureCheck, SigningMethod,
    StaffAccount, StoreError, StoreResult, StoredApplication, StoredCheckpoint, TimelineEntry,
};

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Unique constraints the domain has a name for: (PostgreSQL constraint or index name,
/// SQLite's "UNIQUE constraint failed: …" column list, what it means).
///
/// PostgreSQL reports the constraint's name, so the mapping there needs no message text.
/// SQLite reports no index name for a unique violation — only the fixed (not localized)
/// `table.column` list of the index — so that list is the key there.
const UNIQUE_CONSTRAINTS: &[(&str, &str, Unique)] = &[
    (
        "applications_live_applicant_key",
        "applications.applicant",
        Unique::Duplicate("live_application"),
    ),
    (
        "applications_ticket_key",
        "applications.ticket",
        Unique::Duplicate("ticket"),
    ),
    // Creating an application that someone else created meanwhile.
    ("applications_pkey", "applications.id", Unique::Conflict),
    (
        "staff_username_key",
        "staff.username",
        Unique::Duplicate("username"),
    ),
    (
        "idempotency_pkey",
        "idempotency.scope, idempotency.idempotency_key",
        Unique::Duplicate("idempotency_key"),
    ),
    (
        "reminders_pkey",
        "reminders.iin, reminders.last_valid_day",
        Unique::Duplicate("reminder"),
    ),
    (
        "officer_credentials_pkey",
        "officer_credentials.fingerprint",
        Unique::Duplicate("certificate"),
    ),
    (
        "approvals_pkey",
        "approvals.application_id",
        Unique::Duplicate("approval"),
    ),
    // Another sequencer appended the same sequence numbers or rows first.
    (
        "audit_chain_pkey",
        "audit_chain.seq",
        Unique::Duplicate("audit_chain"),
    ),
    (
        "audit_chain_source_key",
        "audit_chain.source, audit_chain.source_pos",
        Unique::Duplicate("audit_chain"),
    ),
    (
        "audit_checkpoints_pkey",
        "audit_checkpoints.seq",
        Unique::Duplicate("audit_chain"),
    ),
    (
        "payments_gateway_reference_key",
        "payments.gateway_reference",
        Unique::Duplicate("payment_reference"),
    ),
];

#[derive(Clone, Copy)]
enum Unique {
    Duplicate(&'static str),
    Conflict,
}

const SQLITE_UNIQUE_PREFIX: &str = "UNIQUE constraint failed: ";

/// Maps an sqlx (PostgreSQL) error: a unique violation of a named index becomes
/// [`StoreError::Duplicate`] (or [`StoreError::Conflict`]), a value that does not decode
/// [`StoreError::Corrupt`], anything else [`StoreError::Database`].
pub(crate) fn db_err(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let by_name = db
                .constraint()
                .and_then(|name| UNIQUE_CONSTRAINTS.iter().find(|(pg, _, _)| *pg == name));
            match by_name {
                Some((_, _, Unique::Duplicate(name))) => StoreError::Duplicate(name),
                Some((_, _, Unique::Conflict)) => StoreError::Conflict,
                None => StoreError::Database(error.to_string()),
            }
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. } => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Database(error.to_string()),
    }
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {error}"))
}

fn unencodable(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("cannot store {what}: {error}"))
}

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn opt_micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(micros)
}

fn timestamp(column: &str, value: i64) -> StoreResult<Timestamp> {
    Timestamp::from_microsecond(value).map_err(|e| corrupt(column, e))
}

pub(crate) fn date_text(d: Date) -> String {
    // jiff prints civil dates as YYYY-MM-DD (years 0000–9999), which also sorts as text.
    d.to_string()
}

fn to_json<T: Serialize + ?Sized>(what: &str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| unencodable(what, e))
}

fn uuid_text(column: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| corrupt(column, e))
}

fn count(column: &str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|e| corrupt(column, e))
}

pub(crate) fn limit(n: u32) -> i64 {
    i64::from(n)
}

// ---------------------------------------------------------------------------------------
// Aggregates (stuck work and reports): the rows GROUP BY queries return
// ---------------------------------------------------------------------------------------

/// The states in which an application past its due date is late (`Application::is_overdue`),
/// as an SQL list.
pub(crate) const OVERDUE_STATES_SQL: &str =
    "('submitted', 'queued', 'under_review', 'approved', 'in_production', 'dispatched')";

/// A day in microseconds: instants plus the UTC offset, divided by this, are local day numbers.
pub(crate) const DAY_MICROS: i64 = 86_400_000_000;

pub(crate) fn region_code(text: &str) -> StoreResult<RegionCode> {
    text.parse()
        .map_err(|_| corrupt("region", format!("not a region code {text:?}")))
}

pub(crate) fn application_state(text: &str) -> StoreResult<ApplicationState> {
    ApplicationState::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| corrupt("state", format!("unknown state {text:?}")))
}

pub(crate) fn annulment_reason(text: &str) -> StoreResult<AnnulmentReason> {
    AnnulmentReason::ALL
        .into_iter()
        .find(|r| r.as_str() == text)
        .ok_or_else(|| corrupt("annulment reason", format!("unknown reason {text:?}")))
}

pub(crate) fn total(column: &str, value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|e| corrupt(column, e))
}

/// `(region, state, count)` → an [`ApplicationCount`].
pub(crate) fn application_count(
    (region, state, n): (String, String, i64),
) -> StoreResult<ApplicationCount> {
    Ok(ApplicationCount {
        region: region_code(&region)?,
        state: application_state(&state)?,
        count: total("count", n)?,
    })
}

/// `(local day number, count)` → a [`DayCount`] (day 0 is 1970-01-01).
pub(crate) fn day_count((day, n): (i64, i64)) -> StoreResult<DayCount> {
    let day = Date::constant(1970, 1, 1)
        .checked_add(jiff::Span::new().days(day))
        .map_err(|e| corrupt("day", e))?;
    Ok(DayCount {
        day,
        count: total("count", n)?,
    })
}

pub(crate) fn region_count((region, n): (String, i64)) -> StoreResult<RegionCount> {
    Ok(RegionCount {
        region: region_code(&region)?,
        count: total("count", n)?,
    })
}

/// `(region, approved, annulled, median µs, p90 µs)` → [`DecisionTimes`].
pub(crate) fn decision_times(
    (region, approved, annulled, median, p90): (String, i64, i64, i64, i64),
) -> StoreResult<DecisionTimes> {
    Ok(DecisionTimes {
        region: region_code(&region)?,
        approved: total("approved", approved)?,
        annulled: total("annulled", annulled)?,
        median: jiff::SignedDuration::from_micros(median),
        p90: jiff::SignedDuration::from_micros(p90),
    })
}

pub(crate) fn reason_count((reason, n): (String, i64)) -> StoreResult<ReasonCount> {
    Ok(ReasonCount {
        reason: annulment_reason(&reason)?,
        count: total("count", n)?,
    })
}

pub(crate) fn payment_totals((n, sum): (i64, i64)) -> StoreResult<PaymentTotals> {
    Ok(PaymentTotals {
        count: total("count", n)?,
        amount: Tiyn(total("amount", sum)?),
    })
}

pub(crate) fn payment_status(text: &str) -> StoreResult<PaymentStatus> {
    Ok(match text {
        "pending" => PaymentStatus::Pending,
        "confirmed" => PaymentStatus::Confirmed,
        "failed" => PaymentStatus::Failed,
        "refund_pending" => PaymentStatus::RefundPending,
        "refunded" => PaymentStatus::Refunded,
        other => {
            return Err(corrupt(
                "payments.status",
                format!("unknown status {other:?}"),
            ))
        }
    })
}

// ---------------------------------------------------------------------------------------
// Reading rows
// ---------------------------------------------------------------------------------------

/// Typed column access for either backend's rows. Every failure is [`StoreError::Corrupt`].
pub(crate) trait RowExt {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;
    fn uuid(&self, column: &str) -> StoreResult<Uuid>;
    fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>>;
    /// A JSON column, deserialized.
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T>;
    /// A text column read where it lies and parsed, without copying it into a `String` first.
    fn parse<T>(&self, column: &str, parse: impl FnOnce(&str) -> StoreResult<T>) -> StoreResult<T>;

    fn ts(&self, column: &str) -> StoreResult<Timestamp> {
        timestamp(column, self.int(column)?)
    }

    fn opt_ts(&self, column: &str) -> StoreResult<Option<Timestamp>> {
        self.opt_int(column)?
            .map(|v| timestamp(column, v))
            .transpose()
    }
}

fn get<'r, R, T>(row: &'r R, column: &str) -> StoreResult<T>
where
    R: sqlx::Row,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    row.try_get(column).map_err(|e| corrupt(column, e))
}

/// The embedded store's rows (rusqlite), each column found by the name its query gave it.
/// JSON is parsed straight from SQLite's text, without a copy.
impl RowExt for crate::sqlite::NamedRow<'_, '_> {
    fn text(&self, column: &str) -> StoreResult<String> {
        lite_get(self, column)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        lite_get(self, column)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        lite_get(self, column)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        lite_get(self, column)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        lite_get(self, column)
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        lite_get(self, column)
    }
    fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        uuid_text(column, lite_str(self, column)?)
    }
    fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>> {
        self.opt_text(column)?
            .map(|t| uuid_text(column, &t))
            .transpose()
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        serde_json::from_str(lite_str(self, column)?).map_err(|e| corrupt(column, e))
    }
    fn parse<T>(&self, column: &str, parse: impl FnOnce(&str) -> StoreResult<T>) -> StoreResult<T> {
        parse(lite_str(self, column)?)
    }
}

fn lite_get<T: rusqlite::types::FromSql>(
    row: &crate::sqlite::NamedRow<'_, '_>,
    column: &str,
) -> StoreResult<T> {
    row.position(column)
        .and_then(|i| row.get(i))
        .map_err(|e| corrupt(column, e))
}

/// A text column borrowed from SQLite's row buffer.
fn lite_str<'r>(row: &'r crate::sqlite::NamedRow<'_, '_>, column: &str) -> StoreResult<&'r str> {
    row.position(column)
        .and_then(|i| row.get_ref(i))
        .and_then(|v| v.as_str().map_err(rusqlite::Error::from))
        .map_err(|e| corrupt(column, e))
}

/// Maps a rusqlite error like [`db_err`] maps an sqlx one: a named unique violation becomes
/// [`StoreError::Duplicate`] (or [`StoreError::Conflict`]), anything else
/// [`StoreError::Database`].
pub(crate) fn lite_err(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(e, Some(message)) = &error {
        // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
        if matches!(e.extended_code, 2067 | 1555) {
            let named = message
                .strip_prefix(SQLITE_UNIQUE_PREFIX)
                .and_then(|cols| UNIQUE_CONSTRAINTS.iter().find(|(_, lite, _)| *lite == cols));
            return match named {
                Some((_, _, Unique::Duplicate(name))) => StoreError::Duplicate(name),
                Some((_, _, Unique::Conflict)) => StoreError::Conflict,
                None => StoreError::Database(error.to_string()),
            };
        }
    }
    match error {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::InvalidColumnName(_)
        | rusqlite::Error::InvalidColumnIndex(_)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Database(error.to_string()),
    }
}

impl RowExt for sqlx::postgres::PgRow {
    fn text(&self, column: &str) -> StoreResult<String> {
        get(self, column)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        get(self, column)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        get(self, column)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        get(self, column)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        get(self, column)
    }
    fn opt_bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        get(self, column)
    }
    fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        get(self, column)
    }
    fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>> {
        get(self, column)
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let value: serde_json::Value = get(self, column)?;
        serde_json::from_value(value).map_err(|e| corrupt(column, e))
    }
    fn parse<T>(&self, column: &str, parse: impl FnOnce(&str) -> StoreResult<T>) -> StoreResult<T> {
        parse(get::<_, &str>(self, column)?)
    }
}

fn iin(column: &str, text: &str) -> StoreResult<Iin> {
    Iin::parse(text).map_err(|e| corrupt(column, e))
}

fn digest(column: &str, text: &str) -> StoreResult<Sha256Digest> {
    Sha256Digest::parse(text).map_err(|e| corrupt(column, e))
}

pub(crate) fn person<R: RowExt>(row: &R) -> StoreResult<Person> {
    row.json("data")
}

pub(crate) fn staff<R: RowExt>(row: &R) -> StoreResult<StaffAccount> {
    row.json("data")
}

pub(crate) fn otp<R: RowExt>(row: &R) -> StoreResult<OtpChallenge> {
    Ok(OtpChallenge {
        id: row.uuid("id")?,
        iin: row.parse("iin", |t| iin("iin", t))?,
        purpose: row.json("purpose")?,
        code_hash: row.bytes("code_hash")?,
        created_at: row.ts("created_at")?,
        expires_at: row.ts("expires_at")?,
        attempts: count("attempts", row.int("attempts")?)?,
        consumed_at: row.opt_ts("consumed_at")?,
    })
}

pub(crate) fn session<R: RowExt>(row: &R) -> StoreResult<Session> {
    Ok(Session {
        token_hash: row.bytes("token_hash")?,
        subject: row.json("subject")?,
        created_at: row.ts("created_at")?,
        expires_at: row.ts("expires_at")?,
    })
}

/// A session row joined with its staff account's `data` as `staff_data` (text; NULL for a
/// citizen's session or an account that is gone).
pub(crate) fn signed_in<R: RowExt>(row: &R) -> StoreResult<(Session, Option<StaffAccount>)> {
    let staff = row
        .opt_text("staff_data")?
        .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("staff_data", e)))
        .transpose()?;
    Ok((session(row)?, staff))
}

pub(crate) fn application<R: RowExt>(row: &R) -> StoreResult<StoredApplication> {
    Ok(StoredApplication {
        application: row.json("data")?,
        version: row.int("version")?,
    })
}

/// An event from its columns and `data` ([`crate::event_data`]).
pub(crate) fn event<R: RowExt>(row: &R) -> StoreResult<Event> {
    let columns = crate::event_data::EventColumns {
        application_id: row.uuid("application_id")?,
        kind: row.text("kind")?,
        from_state: row.text("from_state")?,
        to_state: row.text("to_state")?,
        actor_role: row.text("actor_role")?,
        actor_staff: row.opt_uuid("actor_staff")?,
        at: row.ts("at")?,
    };
    row.parse("data", |data| crate::event_data::decode(columns, data))
}

pub(crate) fn timeline_entry<R: RowExt>(row: &R) -> StoreResult<TimelineEntry> {
    Ok(TimelineEntry {
        kind: row.text("kind")?,
        from: row.parse("from_state", application_state)?,
        to: row.parse("to_state", application_state)?,
        actor_role: row.text("actor_role")?,
        at: row.ts("at")?,
    })
}

/// An archived event (`history_archive.rs`) as the domain reads it.
pub(crate) fn archived_event(application: Uuid, e: &ArchivedEvent) -> StoreResult<Event> {
    let actor_staff = match &e.actor_staff {
        Some(text) => Some(
            text.parse::<Uuid>()
                .map_err(|err| corrupt("archived actor_staff", err))?,
        ),
        None => None,
    };
    let columns = crate::event_data::EventColumns {
        application_id: application,
        kind: e.kind.clone(),
        from_state: e.from_state.clone(),
        to_state: e.to_state.clone(),
        actor_role: e.actor_role.clone(),
        actor_staff,
        at: timestamp("at", e.at)?,
    };
    crate::event_data::decode(columns, &e.data)
}

/// An archived event as the timeline shows it.
pub(crate) fn archived_timeline_entry(e: &ArchivedEvent) -> StoreResult<TimelineEntry> {
    Ok(TimelineEntry {
        kind: e.kind.clone(),
        from: application_state(&e.from_state)?,
        to: application_state(&e.to_state)?,
        actor_role: e.actor_role.clone(),
        at: timestamp("at", e.at)?,
    })
}

/// The archived part of a history as stored (none when the application has no archived row).
pub(crate) fn archived_part(stored: Option<&[u8]>) -> StoreResult<Vec<ArchivedEvent>> {
    stored.map_or(Ok(Vec::new()), crate::history_archive::decode)
}

/// A timeline sent by the database as one JSON array of `[kind, from_state, to_state,
/// actor_role, at]` (PostgreSQL's one-statement status read).
pub(crate) fn timeline_json(text: &str) -> StoreResult<Vec<TimelineEntry>> {
    let rows: Vec<(String, String, String, String, i64)> =
        serde_json::from_str(text).map_err(|e| corrupt("timeline", e))?;
    rows.into_iter()
        .map(|(kind, from, to, actor_role, at)| {
            Ok(TimelineEntry {
                kind,
                from: application_state(&from)?,
                to: application_state(&to)?,
                actor_role,
                at: timestamp("at", at)?,
            })
        })
        .collect()
}

/// Payments sent by the database as one JSON array of rows in the order of the payments'
/// columns (PostgreSQL's one-statement status read).
pub(crate) fn payments_json(text: &str) -> StoreResult<Vec<PaymentRecord>> {
    type Row = (Uuid, Uuid, String, i64, String, String, i64, i64);
    let rows: Vec<Row> = serde_json::from_str(text).map_err(|e| corrupt("payments", e))?;
    rows.into_iter()
        .map(
            |(id, application, payer, amount, status, reference, created, updated)| {
                Ok(PaymentRecord {
                    id,
                    application: kuelik_core::lifecycle::ApplicationId(application),
                    payer: iin("payer", &payer)?,
                    amount: Tiyn(u64::try_from(amount).map_err(|e| corrupt("amount", e))?),
                    status: payment_status(&status)?,
                    gateway_reference: reference,
                    created_at: timestamp("created_at", created)?,
                    updated_at: timestamp("updated_at", updated)?,
                })
            },
        )
        .collect()
}

pub(crate) fn same_photo<R: RowExt>(row: &R) -> StoreResult<SamePhoto> {
    Ok(SamePhoto {
        id: kuelik_core::lifecycle::ApplicationId(row.uuid("id")?),
        ticket: row
            .opt_text("ticket")?
            .map(|t| TicketNumber::parse(&t).map_err(|e| corrupt("ticket", e)))
            .transpose()?,
        region: row.text("region")?,
        state: row.parse("state", application_state)?,
    })
}

pub(crate) fn image_check<R: RowExt>(row: &R) -> StoreResult<ImageCheck> {
    let perceptual_hash = row
        .opt_text("perceptual_hash")?
        .map(|h| u64::from_str_radix(&h, 16).map_err(|e| corrupt("perceptual_hash", e)))
        .transpose()?;
    Ok(ImageCheck {
        digest: row.parse("digest", |t| digest("digest", t))?,
        kind: row.text("kind")?,
        verdict: row.text("verdict")?,
        perceptual_hash,
        report: row.json("report")?,
        checked_at: row.ts("checked_at")?,
    })
}

pub(crate) fn blob<R: RowExt>(row: &R) -> StoreResult<Blob> {
    Ok(Blob {
        digest: row.parse("digest", |t| digest("digest", t))?,
        content_type: row.text("content_type")?,
        bytes: row.bytes("bytes")?,
        created_at: row.ts("created_at")?,
    })
}

pub(crate) fn payment<R: RowExt>(row: &R) -> StoreResult<PaymentRecord> {
    let amount = u64::try_from(row.int("amount")?).map_err(|e| corrupt("amount", e))?;
    Ok(PaymentRecord {
        id: row.uuid("id")?,
        application: kuelik_core::lifecycle::ApplicationId(row.uuid("application_id")?),
        payer: row.parse("payer", |t| iin("payer", t))?,
        amount: Tiyn(amount),
        status: row.parse("status", payment_status)?,
        gateway_reference: row.text("gateway_reference")?,
        created_at: row.ts("created_at")?,
        updated_at: row.ts("updated_at")?,
    })
}

pub(crate) fn outbox<R: RowExt>(row: &R) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: row.uuid("id")?,
        topic: row.text("topic")?,
        payload: row.json("payload")?,
        created_at: row.ts("created_at")?,
        attempts: count("attempts", row.int("attempts")?)?,
        next_attempt_at: row.ts("next_attempt_at")?,
        delivered_at: row.opt_ts("delivered_at")?,
        last_error: row.opt_text("last_error")?,
    })
}

pub(crate) fn notice<R: RowExt>(row: &R) -> StoreResult<Notice> {
    Ok(Notice {
        id: row.uuid("id")?,
        iin: row.parse("iin", |t| iin("iin", t))?,
        application: row
            .opt_uuid("application_id")?
            .map(kuelik_core::lifecycle::ApplicationId),
        kind: row.text("kind")?,
        message: row.json("message")?,
        created_at: row.ts("created_at")?,
        read_at: row.opt_ts("read_at")?,
    })
}

pub(crate) fn audit<R: RowExt>(row: &R) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.uuid("id")?,
        at: row.ts("at")?,
        actor: row.json("actor")?,
        action: row.text("action")?,
        target: row.opt_text("target")?,
        details: row.json("details")?,
    })
}

pub(crate) fn audit_record<R: RowExt>(row: &R) -> StoreResult<AuditRecord> {
    let entry = audit(row)?;
    Ok(AuditRecord {
        cursor: AuditCursor {
            at: entry.at,
            pos: row.int("pos")?,
        },
        entry,
    })
}

pub(crate) fn register_photo<R: RowExt>(row: &R) -> StoreResult<RegisterPhoto> {
    Ok(RegisterPhoto {
        iin: row.text("iin")?.parse().map_err(|e| corrupt("iin", e))?,
        document_number: row.text("document_number")?,
        content_type: row.text("content_type")?,
        bytes: row.bytes("bytes")?,
    })
}

pub(crate) fn idempotency<R: RowExt>(row: &R) -> StoreResult<IdempotencyRecord> {
    let status = u16::try_from(row.int("status")?).map_err(|e| corrupt("status", e))?;
    Ok(IdempotencyRecord {
        scope: row.text("scope")?,
        key: row.text("idempotency_key")?,
        request_digest: row.parse("request_digest", |t| digest("request_digest", t))?,
        status,
        body: row.json("body")?,
        created_at: row.ts("created_at")?,
    })
}

// ---------------------------------------------------------------------------------------
// Writing rows
// ---------------------------------------------------------------------------------------

pub(crate) struct PersonRow {
    pub iin: String,
    pub region: String,
    pub data: String,
}

/// One entry per IIN, for an upsert: when an IIN appears more than once the last one wins,
/// as if they were written one after another (PostgreSQL refuses to upsert the same key twice
/// in one statement).
pub(crate) fn dedupe_people(people: &[Person]) -> Vec<&Person> {
    let mut last: HashMap<Iin, usize> = HashMap::with_capacity(people.len());
    for (i, p) in people.iter().enumerate() {
        last.insert(p.iin, i);
    }
    people
        .iter()
        .enumerate()
        .filter(|(i, p)| last.get(&p.iin) == Some(i))
        .map(|(_, p)| p)
        .collect()
}

pub(crate) fn person_rows(people: &[&Person]) -> StoreResult<Vec<PersonRow>> {
    people
        .iter()
        .map(|p| {
            Ok(PersonRow {
                iin: p.iin.to_string(),
                region: p.region.to_string(),
                data: to_json("person", p)?,
            })
        })
        .collect()
}

pub(crate) struct StaffRow {
    pub id: Uuid,
    pub username: String,
    pub role: &'static str,
    pub region: Option<String>,
    pub point: Option<String>,
    pub active: bool,
    pub created_at: i64,
    pub data: String,
}

pub(crate) fn staff_row(s: &StaffAccount) -> StoreResult<StaffRow> {
    Ok(StaffRow {
        id: s.id.0,
        username: s.username.clone(),
        role: s.role.as_str(),
        region: s.region.map(|r| r.to_string()),
        point: s.point.as_ref().map(|p| p.to_string()),
        active: s.active,
        created_at: micros(s.created_at),
        data: to_json("staff account", s)?,
    })
}

pub(crate) struct OtpRow {
    pub id: Uuid,
    pub iin: String,
    pub purpose: String,
    pub code_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub consumed_at: Option<i64>,
}

pub(crate) fn otp_row(o: &OtpChallenge) -> StoreResult<OtpRow> {
    Ok(OtpRow {
        id: o.id,
        iin: o.iin.to_string(),
        purpose: to_json("OTP purpose", &o.purpose)?,
        code_hash: o.code_hash.clone(),
        created_at: micros(o.created_at),
        expires_at: micros(o.expires_at),
        attempts: i64::from(o.attempts),
        consumed_at: opt_micros(o.consumed_at),
    })
}

pub(crate) struct SessionRow {
    pub token_hash: Vec<u8>,
    pub subject: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub(crate) fn session_row(s: &Session) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        token_hash: s.token_hash.clone(),
        subject: to_json("session subject", &s.subject)?,
        created_at: micros(s.created_at),
        expires_at: micros(s.expires_at),
    })
}

pub(crate) struct AppRow {
    pub id: Uuid,
    pub applicant: String,
    pub region: String,
    pub registration_point: Option<String>,
    pub state: &'static str,
    pub ticket: Option<String>,
    pub due_date: Option<String>,
    pub submitted_at: Option<i64>,
    pub taken_at: Option<i64>,
    pub reviewer: Option<Uuid>,
    pub created_at: i64,
    pub data: String,
    /// `None`: create with version 1; `Some(v)`: update if the stored version is `v`.
    pub expected_version: Option<i64>,
}

pub(crate) fn app_row(a: &Application, expected_version: Option<i64>) -> StoreResult<AppRow> {
    Ok(AppRow {
        id: a.id.0,
        applicant: a.applicant.to_string(),
        region: a.region.to_string(),
        registration_point: a.registration_point.as_ref().map(|p| p.to_string()),
        state: a.state.as_str(),
        ticket: a.ticket.map(|t| t.compact()),
        due_date: a.due_date.map(date_text),
        submitted_at: opt_micros(a.submitted_at),
        taken_at: opt_micros(a.taken_at),
        reviewer: a.reviewer.map(|s| s.0),
        created_at: micros(a.created_at),
        data: to_json("application", a)?,
        expected_version,
    })
}

pub(crate) struct EventRow {
    pub application_id: Uuid,
    pub kind: &'static str,
    pub from_state: &'static str,
    pub to_state: &'static str,
    pub actor_role: &'static str,
    pub actor_staff: Option<Uuid>,
    pub at: i64,
    pub data: String,
}

pub(crate) fn event_row(e: &Event) -> StoreResult<EventRow> {
    Ok(EventRow {
        application_id: e.application.0,
        kind: e.kind.as_str(),
        from_state: e.from.as_str(),
        to_state: e.to.as_str(),
        actor_role: e.actor.role().as_str(),
        actor_staff: e.actor.staff().map(|s| s.0),
        at: micros(e.at),
        data: crate::event_data::encode(e)?,
    })
}

pub(crate) struct BlobRow {
    pub digest: String,
    pub content_type: String,
    pub size: i64,
    pub bytes: Vec<u8>,
    pub created_at: i64,
}

/// A blob is stored under the SHA-256 of its bytes; one whose digest says otherwise is
/// refused (it would poison every later reference to that digest).
fn blob_row(b: &Blob) -> StoreResult<BlobRow> {
    use sha2::Digest as _;
    let actual: [u8; 32] = sha2::Sha256::digest(&b.bytes).into();
    if actual != *b.digest.as_bytes() {
        return Err(unencodable(
            "blob",
            format!(
                "{} is not the SHA-256 of its bytes ({})",
                b.digest,
                Sha256Digest::from_bytes(actual)
            ),
        ));
    }
    Ok(BlobRow {
        digest: b.digest.to_string(),
        content_type: b.content_type.clone(),
        size: i64::try_from(b.bytes.len()).map_err(|e| unencodable("blob", e))?,
        bytes: b.bytes.clone(),
        created_at: micros(b.created_at),
    })
}

pub(crate) struct PaymentRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub payer: String,
    pub amount: i64,
    pub status: &'static str,
    pub gateway_reference: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) fn payment_row(p: &PaymentRecord) -> StoreResult<PaymentRow> {
    Ok(PaymentRow {
        id: p.id,
        application_id: p.application.0,
        payer: p.payer.to_string(),
        amount: i64::try_from(p.amount.0).map_err(|e| unencodable("payment amount", e))?,
        status: p.status.as_str(),
        gateway_reference: p.gateway_reference.clone(),
        created_at: micros(p.created_at),
        updated_at: micros(p.updated_at),
    })
}

pub(crate) struct OutboxRow {
    pub id: Uuid,
    pub topic: String,
    pub payload: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

fn outbox_row(m: &OutboxMessage) -> StoreResult<OutboxRow> {
    Ok(OutboxRow {
        id: m.id,
        topic: m.topic.clone(),
        payload: to_json("outbox payload", &m.payload)?,
        created_at: micros(m.created_at),
        attempts: i64::from(m.attempts),
        next_attempt_at: micros(m.next_attempt_at),
        delivered_at: opt_micros(m.delivered_at),
        last_error: m.last_error.clone(),
    })
}

pub(crate) struct NoticeRow {
    pub id: Uuid,
    pub iin: String,
    pub application_id: Option<Uuid>,
    pub kind: String,
    pub message: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

pub(crate) fn notice_row(n: &Notice) -> StoreResult<NoticeRow> {
    Ok(NoticeRow {
        id: n.id,
        iin: n.iin.to_string(),
        application_id: n.application.map(|a| a.0),
        kind: n.kind.clone(),
        message: to_json("notice message", &n.message)?,
        created_at: micros(n.created_at),
        read_at: opt_micros(n.read_at),
    })
}

pub(crate) struct AuditRow {
    pub id: Uuid,
    pub at: i64,
    pub actor_role: &'static str,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub details: String,
}

fn audit_row(a: &AuditEntry) -> StoreResult<AuditRow> {
    Ok(AuditRow {
        id: a.id,
        at: micros(a.at),
        actor_role: a.actor.role().as_str(),
        actor: to_json("audit actor", &a.actor)?,
        action: a.action.clone(),
        target: a.target.clone(),
        details: to_json("audit details", &a.details)?,
    })
}

pub(crate) struct IdempotencyRow {
    pub scope: String,
    pub key: String,
    pub request_digest: String,
    pub status: i64,
    pub body: String,
    pub created_at: i64,
}

fn idempotency_row(r: &IdempotencyRecord) -> StoreResult<IdempotencyRow> {
    Ok(IdempotencyRow {
        scope: r.scope.clone(),
        key: r.key.clone(),
        request_digest: r.request_digest.to_string(),
        status: i64::from(r.status),
        body: to_json("idempotent response", &r.body)?,
        created_at: micros(r.created_at),
    })
}

/// A [`Changes`] value encoded, ready to bind.
pub(crate) struct ChangeRows {
    pub application: Option<AppRow>,
    pub events: Vec<EventRow>,
    pub blobs: Vec<BlobRow>,
    pub payments: Vec<PaymentRow>,
    pub outbox: Vec<OutboxRow>,
    pub audit: Vec<AuditRow>,
    pub idempotency: Option<IdempotencyRow>,
    /// (iin, last valid day, sent at µs)
    pub reminders: Vec<(String, String, i64)>,
    /// (digest, kind, verdict, perceptual hash hex, report JSON, checked at µs)
    pub image_checks: Vec<(String, String, String, Option<String>, String, i64)>,
    pub approval: Option<ApprovalRow>,
    pub signature_checks: Vec<SignatureCheckRow>,
    pub contacts: Vec<ContactRow>,
    pub rule_activations: Vec<RuleActivationRow>,
    pub documents: Vec<DocumentRow>,
    /// (iin, the person's new current document as JSON)
    pub current_documents: Vec<(String, String)>,
    pub staff: Vec<StaffRow>,
    /// (iin, opt out, at µs)
    pub reminder_choices: Vec<(String, bool, i64)>,
    pub officer_credentials: Vec<OfficerCredential>,
    pub register_photos: Vec<RegisterPhoto>,
}

/// One document record, ready to bind (see the `documents` table).
pub(crate) struct DocumentRow {
    pub kind: &'static str,
    pub number: String,
    pub holder: String,
    pub issued_on: String,
    pub last_valid_day: String,
    pub issued_for: Option<Uuid>,
    pub status: &'static str,
    pub reason: Option<&'static str>,
    pub invalidated_at: Option<i64>,
    pub invalidated_by: Option<Uuid>,
    pub old_card: Option<&'static str>,
}

pub(crate) fn document_row(d: &DocumentRecord) -> DocumentRow {
    let inv = d.invalidation.as_ref();
    DocumentRow {
        kind: d.kind.as_str(),
        number: d.number.clone(),
        holder: d.holder.to_string(),
        issued_on: d.issued_on.to_string(),
        last_valid_day: d.last_valid_day.to_string(),
        issued_for: d.issued_for.map(|a| a.0),
        status: if inv.is_some() {
            "invalidated"
        } else {
            "valid"
        },
        reason: inv.map(|i| i.reason.as_str()),
        invalidated_at: inv.map(|i| micros(i.at)),
        invalidated_by: inv.and_then(|i| i.application).map(|a| a.0),
        old_card: inv.and_then(|i| i.old_card).map(|c| c.as_str()),
    }
}

/// The columns [`document`] reads, in a `SELECT`.
pub(crate) const DOCUMENT_COLUMNS: &str = "kind, number, holder, issued_on, last_valid_day, \
     issued_for, status, reason, invalidated_at, invalidated_by, old_card";

pub(crate) fn document<R: RowExt>(row: &R) -> StoreResult<DocumentRecord> {
    let date = |column: &str| -> StoreResult<Date> {
        row.text(column)?.parse().map_err(|e| corrupt(column, e))
    };
    let invalidation = match row.text("status")?.as_str() {
        "valid" => None,
        "invalidated" => Some(Invalidation {
            reason: row
                .opt_text("reason")?
                .ok_or_else(|| corrupt("documents.reason", "missing"))?
                .parse()
                .map_err(|e| corrupt("documents.reason", e))?,
            at: row
                .opt_ts("invalidated_at")?
                .ok_or_else(|| corrupt("documents.invalidated_at", "missing"))?,
            application: row.opt_uuid("invalidated_by")?.map(ApplicationId),
            old_card: row
                .opt_text("old_card")?
                .map(|c| c.parse::<OldCard>())
                .transpose()
                .map_err(|e| corrupt("documents.old_card", e))?,
        }),
        other => return Err(corrupt("documents.status", other)),
    };
    Ok(DocumentRecord {
        holder: row
            .text("holder")?
            .parse()
            .map_err(|e| corrupt("holder", e))?,
        kind: row
            .text("kind")?
            .parse::<DocumentKind>()
            .map_err(|e| corrupt("kind", e))?,
        number: row.text("number")?,
        issued_on: date("issued_on")?,
        last_valid_day: date("last_valid_day")?,
        issued_for: row.opt_uuid("issued_for")?.map(ApplicationId),
        invalidation,
    })
}

/// A register document read back from the person's JSON, as a record with nothing changed.
pub(crate) fn register_document(person: &Person) -> DocumentRecord {
    DocumentRecord::from_register(person.iin, &person.document)
}

/// (iin, phone, language tag, updated at µs)
pub(crate) type ContactRow = (String, Option<String>, Option<String>, i64);
/// (id, version, active from, activated by, activated at µs)
pub(crate) type RuleActivationRow = (Uuid, String, String, Uuid, i64);

pub(crate) fn contact_row(c: &ContactDetails) -> ContactRow {
    (
        c.iin.to_string(),
        c.phone.as_ref().map(|p| p.as_str().to_string()),
        c.language.map(|l| l.tag().to_string()),
        micros(c.updated_at),
    )
}

pub(crate) fn contact<R: RowExt>(row: &R) -> StoreResult<ContactDetails> {
    Ok(ContactDetails {
        iin: row.text("iin")?.parse().map_err(|e| corrupt("iin", e))?,
        phone: row
            .opt_text("phone")?
            .map(|p| kuelik_core::register::Phone::parse(&p))
            .transpose()
            .map_err(|e| corrupt("phone", e))?,
        language: row
            .opt_text("language")?
            .map(|l| l.parse::<kuelik_core::lang::Lang>())
            .transpose()
            .map_err(|e| corrupt("language", e))?,
        updated_at: row.ts("updated_at")?,
    })
}

pub(crate) fn rule_activation_row(a: &RuleActivation) -> RuleActivationRow {
    (
        a.id,
        a.version.clone(),
        a.active_from.to_string(),
        a.activated_by.0,
        micros(a.activated_at),
    )
}

pub(crate) fn rule_activation<R: RowExt>(row: &R) -> StoreResult<RuleActivation> {
    Ok(RuleActivation {
        id: row.uuid("id")?,
        version: row.text("version")?,
        active_from: row
            .text("active_from")?
            .parse()
            .map_err(|e| corrupt("active_from", e))?,
        activated_by: kuelik_core::lifecycle::StaffId(row.uuid("activated_by")?),
        activated_at: row.ts("activated_at")?,
    })
}

pub(crate) struct ApprovalRow {
    pub application_id: Uuid,
    pub officer: Uuid,
    pub method: &'static str,
    pub document: Vec<u8>,
    pub signature: Vec<u8>,
    pub signed_at: i64,
}

pub(crate) struct SignatureCheckRow {
    pub id: Uuid,
    pub application_id: Uuid,
    pub at: i64,
    pub outcome: &'static str,
    pub code: String,
    pub detail: String,
}

pub(crate) fn changes(c: &Changes) -> StoreResult<ChangeRows> {
    Ok(ChangeRows {
        application: c
            .application
            .as_ref()
            .map(|w| app_row(&w.application, w.expected_version))
            .transpose()?,
        events: c.events.iter().map(event_row).collect::<StoreResult<_>>()?,
        blobs: c.blobs.iter().map(blob_row).collect::<StoreResult<_>>()?,
        payments: c
            .payments
            .iter()
            .map(payment_row)
            .collect::<StoreResult<_>>()?,
        outbox: c
            .outbox
            .iter()
            .map(outbox_row)
            .collect::<StoreResult<_>>()?,
        audit: c.audit.iter().map(audit_row).collect::<StoreResult<_>>()?,
        idempotency: c.idempotency.as_ref().map(idempotency_row).transpose()?,
        reminders: c
            .reminders
            .iter()
            .map(|r| {
                (
                    r.iin.to_string(),
                    r.last_valid_day.to_string(),
                    r.sent_at.as_microsecond(),
                )
            })
            .collect(),
        image_checks: c
            .image_checks
            .iter()
            .map(|i| {
                (
                    i.digest.to_string(),
                    i.kind.clone(),
                    i.verdict.clone(),
                    i.perceptual_hash.map(|h| format!("{h:016x}")),
                    i.report.to_string(),
                    i.checked_at.as_microsecond(),
                )
            })
            .collect(),
        approval: c.approval.as_ref().map(|a| ApprovalRow {
            application_id: a.application.0,
            officer: a.officer.0,
            method: a.method.as_str(),
            document: a.document.clone(),
            signature: a.signature.clone(),
            signed_at: micros(a.signed_at),
        }),
        signature_checks: c
            .signature_checks
            .iter()
            .map(|k| SignatureCheckRow {
                id: k.id,
                application_id: k.application.0,
                at: micros(k.at),
                outcome: if k.verified { "verified" } else { "refused" },
                code: k.code.clone(),
                detail: k.detail.clone(),
            })
            .collect(),
        contacts: c.contacts.iter().map(contact_row).collect(),
        rule_activations: c.rule_activations.iter().map(rule_activation_row).collect(),
        documents: c.documents.iter().map(document_row).collect(),
        current_documents: c
            .current_documents
            .iter()
            .map(|(iin, d)| Ok((iin.to_string(), to_json("document", d)?)))
            .collect::<StoreResult<_>>()?,
        staff: c.staff.iter().map(staff_row).collect::<StoreResult<_>>()?,
        reminder_choices: c
            .reminder_choices
            .iter()
            .map(|r| (r.iin.to_string(), r.opt_out, micros(r.at)))
            .collect(),
        officer_credentials: c.officer_credentials.clone(),
        register_photos: c.register_photos.clone(),
    })
}

// ---------------------------------------------------------------------------------------
// The trust chain
// ---------------------------------------------------------------------------------------

pub(crate) fn officer_credential<R: RowExt>(row: &R) -> StoreResult<OfficerCredential> {
    Ok(OfficerCredential {
        staff: kuelik_core::lifecycle::StaffId(row.uuid("staff_id")?),
        fingerprint: row.text("fingerprint")?,
        certificate: row.bytes("certificate")?,
        sealed_key: row.opt_text("sealed_key")?,
        bound_at: row.ts("bound_at")?,
    })
}

pub(crate) fn approval<R: RowExt>(row: &R) -> StoreResult<Approval> {
    Ok(Approval {
        application: kuelik_core::lifecycle::ApplicationId(row.uuid("application_id")?),
        officer: kuelik_core::lifecycle::StaffId(row.uuid("officer")?),
        method: match row.text("method")?.as_str() {
            "client" => SigningMethod::Client,
            "remote" => SigningMethod::Remote,
            other => return Err(corrupt("approvals.method", other)),
        },
        document: row.bytes("document")?,
        signature: row.bytes("signature")?,
        signed_at: row.ts("signed_at")?,
    })
}

pub(crate) fn signature_check<R: RowExt>(row: &R) -> StoreResult<SignatureCheck> {
    Ok(SignatureCheck {
        id: row.uuid("id")?,
        application: kuelik_core::lifecycle::ApplicationId(row.uuid("application_id")?),
        at: row.ts("at")?,
        verified: row.text("outcome")? == "verified",
        code: row.text("code")?,
        detail: row.text("detail")?,
    })
}

pub(crate) fn checkpoint<R: RowExt>(row: &R) -> StoreResult<StoredCheckpoint> {
    let batch = match (
        row.opt_int("events_to")?,
        row.opt_int("audit_to")?,
        row.opt_bytes("tags")?,
    ) {
        (Some(events), Some(audit), Some(tags)) => Some(ChainedBatch {
            reach: ChainReach { events, audit },
            tags,
        }),
        (None, None, None) => None,
        _ => {
            return Err(corrupt(
                "audit_checkpoints",
                "events_to, audit_to and tags are either all set or none",
            ))
        }
    };
    Ok(StoredCheckpoint {
        seq: u64::try_from(row.int("seq")?).map_err(|e| corrupt("audit_checkpoints.seq", e))?,
        at: row.ts("at")?,
        data: row.text("data")?,
        batch,
    })
}

/// The columns `events_to`, `audit_to` and `tags` of a checkpoint row.
pub(crate) fn checkpoint_batch(
    checkpoint: &StoredCheckpoint,
) -> (Option<i64>, Option<i64>, Option<&[u8]>) {
    match &checkpoint.batch {
        Some(b) => (Some(b.reach.events), Some(b.reach.audit), Some(&b.tags)),
        None => (None, None, None),
    }
}

pub(crate) fn chain_reach<R: RowExt>(row: &R) -> StoreResult<ChainReach> {
    Ok(ChainReach {
        events: row.int("events")?,
        audit: row.int("audit")?,
    })
}

fn chain_source(text: &str) -> StoreResult<ChainSource> {
    match text {
        "event" => Ok(ChainSource::Event),
        "audit" => Ok(ChainSource::Audit),
        other => Err(corrupt("audit chain source", other)),
    }
}

fn hash32(column: &str, bytes: Vec<u8>) -> StoreResult<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| corrupt(column, format!("{} bytes, not 32", b.len())))
}

/// The canonical bytes of an event or audit row, from every column the row has — so any
/// edit to any column changes them. The columns come aliased `e_*` (events) and `a_*`
/// (audit entries), JSON read as text, ids as text; `None` when the row does not exist.
///
/// Field order is fixed by the struct; JSON text is kept as stored (each backend reads its
/// own bytes back identically, which is all the chain needs).
fn row_bytes<R: RowExt>(row: &R, source: ChainSource) -> StoreResult<Option<Vec<u8>>> {
    #[derive(Serialize)]
    struct AuditEntryBytes {
        source: &'static str,
        pos: i64,
        id: String,
        at: i64,
        actor_role: String,
        actor: String,
        action: String,
        target: Option<String>,
        details: String,
    }
    match source {
        ChainSource::Event => {
            let Some(seq) = row.opt_int("e_seq")? else {
                return Ok(None);
            };
            let event = ArchivedEvent {
                seq,
                kind: row.text("e_kind")?,
                from_state: row.text("e_from_state")?,
                to_state: row.text("e_to_state")?,
                actor_role: row.text("e_actor_role")?,
                actor_staff: row.opt_text("e_actor_staff")?,
                at: row.int("e_at")?,
                data: row.text("e_data")?,
            };
            row.parse("e_application_id", |id| event_entry_bytes(id, &event))
                .map(Some)
        }
        ChainSource::Audit => {
            let Some(pos) = row.opt_int("a_pos")? else {
                return Ok(None);
            };
            serde_json::to_vec(&AuditEntryBytes {
                source: "audit",
                pos,
                id: row.text("a_id")?,
                at: row.int("a_at")?,
                actor_role: row.text("a_actor_role")?,
                actor: row.text("a_actor")?,
                action: row.text("a_action")?,
                target: row.opt_text("a_target")?,
                details: row.text("a_details")?,
            })
            .map(Some)
            .map_err(|e| StoreError::Database(format!("audit entry bytes: {e}")))
        }
    }
}

/// The bytes the audit chain hashes for an event: its columns as text, in a fixed order —
/// from its row, or from its archived history (`history_archive.rs`), alike.
pub(crate) fn event_entry_bytes(application_id: &str, e: &ArchivedEvent) -> StoreResult<Vec<u8>> {
    #[derive(Serialize)]
    struct EventEntry<'a> {
        source: &'static str,
        seq: i64,
        application_id: &'a str,
        kind: &'a str,
        from_state: &'a str,
        to_state: &'a str,
        actor_role: &'a str,
        actor_staff: Option<&'a str>,
        at: i64,
        data: &'a str,
    }
    serde_json::to_vec(&EventEntry {
        source: "event",
        seq: e.seq,
        application_id,
        kind: &e.kind,
        from_state: &e.from_state,
        to_state: &e.to_state,
        actor_role: &e.actor_role,
        actor_staff: e.actor_staff.as_deref(),
        at: e.at,
        data: &e.data,
    })
    .map_err(|e| StoreError::Database(format!("audit entry bytes: {e}")))
}

pub(crate) fn chain_candidate<R: RowExt>(row: &R) -> StoreResult<Option<ChainCandidate>> {
    let source = row.parse("source", chain_source)?;
    let source_pos = row.int("source_pos")?;
    Ok(row_bytes(row, source)?.map(|bytes| ChainCandidate {
        source,
        source_pos,
        bytes,
    }))
}

pub(crate) fn chain_entry<R: RowExt>(row: &R) -> StoreResult<ChainEntry> {
    let source = row.parse("source", chain_source)?;
    Ok(ChainEntry {
        link: ChainLink {
            seq: u64::try_from(row.int("seq")?).map_err(|e| corrupt("audit_chain.seq", e))?,
            source,
            source_pos: row.int("source_pos")?,
            entry_hash: hash32("entry_hash", row.bytes("entry_hash")?)?,
            chain_hash: hash32("chain_hash", row.bytes("chain_hash")?)?,
        },
        bytes: row_bytes(row, source)?,
    })
}

pub(crate) fn chain_source_row<R: RowExt>(row: &R) -> StoreResult<(ChainSource, i64)> {
    Ok((row.parse("source", chain_source)?, row.int("source_pos")?))
}
