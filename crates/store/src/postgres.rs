//! The PostgreSQL store, for several server instances on one database.
//!
//! A [`PgPool`]; [`Store::commit`] runs in one transaction. PostgreSQL groups the commits of
//! concurrent transactions by itself, so there is no writer task here. Correctness under
//! concurrency rests on the database, not on the process:
//!
//! - an application update is `UPDATE … WHERE id = $1 AND version = $2` (a concurrent writer
//!   waits on the row lock, then finds the version changed: [`StoreError::Conflict`]);
//! - one live application per person, unique tickets, usernames, idempotency keys and
//!   payment references are unique indexes, reported by name;
//! - outbox messages are claimed with `FOR UPDATE SKIP LOCKED`, so two instances never lease
//!   the same message, and a lease runs out by itself if its worker dies;
//! - OTP attempts are counted with one conditional `UPDATE … RETURNING`.
//!
//! [`Store::put_people`] sends `UNNEST` arrays of [`PEOPLE_PER_STATEMENT`] people per
//! statement; each statement commits on its own.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::DocumentKind;
use kuelik_core::iin::Iin;
use kuelik_core::issuance::DocumentRecord;
use kuelik_core::lifecycle::{ApplicationId, ApplicationState, Event, StaffId};
use kuelik_core::register::Person;
use kuelik_core::ticket::TicketNumber;

use crate::codec::{self, db_err, limit, micros, AppRow, ChangeRows};
use crate::{
    ActivityReport, ApplicationCount, Approval, AuditEntry, AuditQuery, AuditRecord, Blob,
    ChainCandidate, ChainEntry, ChainLink, ChainSource, Changes, ContactDetails, IdempotencyRecord,
    ImageCheck, Notice, OfficerCredential, OtpChallenge, OtpPurpose, OutboxMessage, OutboxRetry,
    PaymentRecord, PaymentStatus, PaymentTotals, QueueFilter, RegisterPhoto, ReportPeriod,
    RuleActivation, Session, SignatureCheck, StaffAccount, Store, StoreError, StoreResult,
    StoredApplication, StoredCheckpoint, TimelineEntry, SAME_PHOTO_LIMIT,
};

/// People per `INSERT … SELECT FROM UNNEST(…)` statement.
pub const PEOPLE_PER_STATEMENT: usize = 10_000;
const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    vault: crate::BlobVault,
}

impl PostgresStore {
    /// Keeps image bytes where `vault` says (and sealed as it says).
    pub fn with_vault(mut self, vault: crate::BlobVault) -> PostgresStore {
        self.vault = vault;
        self
    }

    /// Connects to the database `url` names and applies the migrations not applied yet
    /// (sqlx holds an advisory lock meanwhile, so instances starting together take turns).
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| StoreError::Open(format!("PostgreSQL: {e}")))?;
        migrate(&pool)
            .await
            .map_err(|e| StoreError::Open(format!("PostgreSQL migrations: {e}")))?;
        Ok(PostgresStore {
            pool,
            vault: crate::BlobVault::default(),
        })
    }

    /// The connection pool (for health checks and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Boxed so that the future of [`PostgresStore::open`] is `Send` for every lifetime (the
/// generic `Migrator::run` otherwise defeats the compiler's proof).
fn migrate(pool: &PgPool) -> Pin<Box<dyn Future<Output = Result<(), MigrateError>> + Send + '_>> {
    Box::pin(MIGRATOR.run(pool))
}

/// Decision times per region for decisions in `[$1, $2)`: how many approved and annulled,
/// and the nearest-rank median and 90th percentile of submission → decision (µs), ranked by
/// a window function so the database does the sorting.
const DECISION_TIMES_SQL: &str = "WITH decided AS ( \
       SELECT a.region, e.to_state AS outcome, e.at - a.submitted_at AS waited \
       FROM events e JOIN applications a ON a.id = e.application_id \
       WHERE e.kind IN ('approved', 'annulled') AND e.at >= $1 AND e.at < $2 \
         AND a.submitted_at IS NOT NULL), \
     ranked AS ( \
       SELECT region, outcome, waited, \
         ROW_NUMBER() OVER (PARTITION BY region ORDER BY waited) AS rn, \
         COUNT(*) OVER (PARTITION BY region) AS n \
       FROM decided) \
     SELECT region, \
       SUM(CASE WHEN outcome = 'approved' THEN 1 ELSE 0 END), \
       SUM(CASE WHEN outcome = 'annulled' THEN 1 ELSE 0 END), \
       MIN(CASE WHEN rn * 2 >= n THEN waited END), \
       MIN(CASE WHEN rn * 10 >= n * 9 THEN waited END) \
     FROM ranked GROUP BY region ORDER BY region";

const OTP_COLUMNS: &str =
    "id, iin, purpose, code_hash, created_at, expires_at, attempts, consumed_at";
const PAYMENT_COLUMNS: &str =
    "id, application_id, payer, amount, status, gateway_reference, created_at, updated_at";
const NOTICE_COLUMNS: &str = "id, iin, application_id, kind, message, created_at, read_at";
/// Every column of the event or audit row an audit-chain row `x` stands for, as text where
/// the type differs from SQLite's (see `codec::chain_entry`).
const CHAIN_ROW_COLUMNS: &str = "e.seq AS e_seq, e.application_id::text AS e_application_id, \
    e.kind AS e_kind, e.from_state AS e_from_state, e.to_state AS e_to_state, \
    e.actor_role AS e_actor_role, e.actor_staff::text AS e_actor_staff, e.at AS e_at, \
    e.data::text AS e_data, a.pos AS a_pos, a.id::text AS a_id, a.at AS a_at, \
    a.actor_role AS a_actor_role, a.actor::text AS a_actor, a.action AS a_action, \
    a.target AS a_target, a.details::text AS a_details";
const CHAIN_ROW_JOINS: &str = "LEFT JOIN events e ON x.source = 'event' AND e.seq = x.source_pos \
    LEFT JOIN audit_entries a ON x.source = 'audit' AND a.pos = x.source_pos";

fn decode_all<T>(
    rows: Vec<PgRow>,
    decode: impl Fn(&PgRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.iter().map(decode).collect()
}

fn count(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|e| StoreError::Corrupt(format!("count: {e}")))
}

async fn write_application(conn: &mut PgConnection, a: &AppRow) -> StoreResult<()> {
    match a.expected_version {
        None => {
            sqlx::query(
                "INSERT INTO applications (id, applicant, region, registration_point, state, \
                 ticket, due_date, submitted_at, taken_at, reviewer, created_at, version, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12::jsonb)",
            )
            .bind(a.id)
            .bind(&a.applicant)
            .bind(&a.region)
            .bind(&a.registration_point)
            .bind(a.state)
            .bind(&a.ticket)
            .bind(&a.due_date)
            .bind(a.submitted_at)
            .bind(a.taken_at)
            .bind(a.reviewer)
            .bind(a.created_at)
            .bind(&a.data)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        Some(expected) => {
            let done = sqlx::query(
                "UPDATE applications SET applicant = $1, region = $2, registration_point = $3, \
                 state = $4, ticket = $5, due_date = $6, submitted_at = $7, taken_at = $8, \
                 reviewer = $9, data = $10::jsonb, version = version + 1 \
                 WHERE id = $11 AND version = $12",
            )
            .bind(&a.applicant)
            .bind(&a.region)
            .bind(&a.registration_point)
            .bind(a.state)
            .bind(&a.ticket)
            .bind(&a.due_date)
            .bind(a.submitted_at)
            .bind(a.taken_at)
            .bind(a.reviewer)
            .bind(&a.data)
            .bind(a.id)
            .bind(expected)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict);
            }
        }
    }
    Ok(())
}

async fn commit_changes(conn: &mut PgConnection, c: &ChangeRows) -> StoreResult<()> {
    if let Some(a) = &c.application {
        write_application(conn, a).await?;
    }
    for e in &c.events {
        sqlx::query(
            "INSERT INTO events (application_id, kind, from_state, to_state, actor_role, \
             actor_staff, at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        )
        .bind(e.application_id)
        .bind(e.kind)
        .bind(e.from_state)
        .bind(e.to_state)
        .bind(e.actor_role)
        .bind(e.actor_staff)
        .bind(e.at)
        .bind(&e.data)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for b in &c.blobs {
        sqlx::query(
            "INSERT INTO blobs (digest, content_type, size, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
        )
        .bind(&b.digest)
        .bind(&b.content_type)
        .bind(b.size)
        .bind(&b.bytes)
        .bind(b.created_at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for p in &c.payments {
        sqlx::query(
            "INSERT INTO payments (id, application_id, payer, amount, status, \
             gateway_reference, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, \
             status = excluded.status, gateway_reference = excluded.gateway_reference, \
             updated_at = excluded.updated_at",
        )
        .bind(p.id)
        .bind(p.application_id)
        .bind(&p.payer)
        .bind(p.amount)
        .bind(p.status)
        .bind(&p.gateway_reference)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for m in &c.outbox {
        sqlx::query(
            "INSERT INTO outbox (id, topic, payload, created_at, attempts, next_attempt_at, \
             delivered_at, last_error) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)",
        )
        .bind(m.id)
        .bind(&m.topic)
        .bind(&m.payload)
        .bind(m.created_at)
        .bind(m.attempts)
        .bind(m.next_attempt_at)
        .bind(m.delivered_at)
        .bind(&m.last_error)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for a in &c.audit {
        sqlx::query(
            "INSERT INTO audit_entries (id, at, actor_role, actor, action, target, details) \
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb)",
        )
        .bind(a.id)
        .bind(a.at)
        .bind(a.actor_role)
        .bind(&a.actor)
        .bind(&a.action)
        .bind(&a.target)
        .bind(&a.details)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (digest, kind, verdict, phash, report, at) in &c.image_checks {
        sqlx::query(
            "INSERT INTO image_checks (digest, kind, verdict, perceptual_hash, report, checked_at) \
             VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (digest) DO UPDATE SET \
             kind = excluded.kind, verdict = excluded.verdict, perceptual_hash = excluded.perceptual_hash, \
             report = excluded.report, checked_at = excluded.checked_at",
        )
        .bind(digest)
        .bind(kind)
        .bind(verdict)
        .bind(phash)
        .bind(report)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (iin, last_valid_day, sent_at) in &c.reminders {
        sqlx::query("INSERT INTO reminders (iin, last_valid_day, sent_at) VALUES ($1, $2, $3)")
            .bind(iin)
            .bind(last_valid_day)
            .bind(sent_at)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    if let Some(a) = &c.approval {
        sqlx::query(
            "INSERT INTO approvals (application_id, officer, method, document, signature, \
             signed_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.application_id)
        .bind(a.officer)
        .bind(a.method)
        .bind(&a.document)
        .bind(&a.signature)
        .bind(a.signed_at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for p in &c.register_photos {
        sqlx::query(
            "INSERT INTO register_photos (iin, document_number, content_type, bytes) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (iin) DO UPDATE SET \
             document_number = excluded.document_number, \
             content_type = excluded.content_type, bytes = excluded.bytes",
        )
        .bind(p.iin.to_string())
        .bind(&p.document_number)
        .bind(&p.content_type)
        .bind(&p.bytes)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (iin, phone, language, at) in &c.contacts {
        sqlx::query(
            "INSERT INTO contact_details (iin, phone, language, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (iin) DO UPDATE SET phone = excluded.phone, \
             language = excluded.language, updated_at = excluded.updated_at",
        )
        .bind(iin)
        .bind(phone)
        .bind(language)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (aid, version, from, by, at) in &c.rule_activations {
        sqlx::query(
            "INSERT INTO rule_activations (id, version, active_from, activated_by, activated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(aid)
        .bind(version)
        .bind(from)
        .bind(by)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    // A hand-over's effect on the person: the document records, and the person's current
    // document in the register's copy.
    for d in &c.documents {
        sqlx::query(
            "INSERT INTO documents (kind, number, holder, issued_on, last_valid_day, issued_for, \
             status, reason, invalidated_at, invalidated_by, old_card) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (kind, number) DO UPDATE SET status = excluded.status, \
             reason = excluded.reason, invalidated_at = excluded.invalidated_at, \
             invalidated_by = excluded.invalidated_by, old_card = excluded.old_card, \
             issued_for = COALESCE(documents.issued_for, excluded.issued_for)",
        )
        .bind(d.kind)
        .bind(&d.number)
        .bind(&d.holder)
        .bind(&d.issued_on)
        .bind(&d.last_valid_day)
        .bind(d.issued_for)
        .bind(d.status)
        .bind(d.reason)
        .bind(d.invalidated_at)
        .bind(d.invalidated_by)
        .bind(d.old_card)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (iin, document) in &c.current_documents {
        let done = sqlx::query(
            "UPDATE people SET data = jsonb_set(data, '{document}', $1::jsonb) WHERE iin = $2",
        )
        .bind(document)
        .bind(iin)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            // The person left the register since the hand-over read them.
            return Err(StoreError::Conflict);
        }
    }
    // Staff accounts, reminder choices and officers' certificates, with the audit entry of
    // whoever made them.
    for s in &c.staff {
        sqlx::query(
            "INSERT INTO staff (id, username, role, region, point, active, created_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        )
        .bind(s.id)
        .bind(&s.username)
        .bind(s.role)
        .bind(&s.region)
        .bind(&s.point)
        .bind(s.active)
        .bind(s.created_at)
        .bind(&s.data)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (iin, opt_out, at) in &c.reminder_choices {
        let q = if *opt_out {
            sqlx::query(
                "INSERT INTO reminder_opt_outs (iin, at) VALUES ($1, $2) ON CONFLICT (iin) DO NOTHING",
            )
            .bind(iin)
            .bind(at)
        } else {
            sqlx::query("DELETE FROM reminder_opt_outs WHERE iin = $1").bind(iin)
        };
        q.execute(&mut *conn).await.map_err(db_err)?;
    }
    for k in &c.officer_credentials {
        let done = sqlx::query(
            "INSERT INTO officer_credentials (staff_id, fingerprint, certificate, sealed_key, \
             bound_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (fingerprint) DO UPDATE SET sealed_key = excluded.sealed_key, \
             bound_at = excluded.bound_at WHERE officer_credentials.staff_id = excluded.staff_id",
        )
        .bind(k.staff.0)
        .bind(&k.fingerprint)
        .bind(&k.certificate)
        .bind(&k.sealed_key)
        .bind(micros(k.bound_at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        // The conflict update is skipped when the certificate is someone else's.
        if done.rows_affected() == 0 {
            return Err(StoreError::Duplicate("certificate"));
        }
    }
    for k in &c.signature_checks {
        sqlx::query(
            "INSERT INTO signature_checks (id, application_id, at, outcome, code, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(k.id)
        .bind(k.application_id)
        .bind(k.at)
        .bind(k.outcome)
        .bind(&k.code)
        .bind(&k.detail)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    if let Some(r) = &c.idempotency {
        sqlx::query(
            "INSERT INTO idempotency (scope, idempotency_key, request_digest, status, body, \
             created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        )
        .bind(&r.scope)
        .bind(&r.key)
        .bind(&r.request_digest)
        .bind(r.status)
        .bind(&r.body)
        .bind(r.created_at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn put_people(&self, people: &[Person]) -> StoreResult<u64> {
        let unique = codec::dedupe_people(people);
        let mut written = 0;
        for chunk in unique.chunks(PEOPLE_PER_STATEMENT) {
            let rows = codec::person_rows(chunk)?;
            let mut iins = Vec::with_capacity(rows.len());
            let mut regions = Vec::with_capacity(rows.len());
            let mut data = Vec::with_capacity(rows.len());
            for r in rows {
                iins.push(r.iin);
                regions.push(r.region);
                data.push(r.data);
            }
            let done = sqlx::query(
                "INSERT INTO people (iin, region, data) \
                 SELECT iin, region, data::jsonb \
                 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS p (iin, region, data) \
                 ON CONFLICT (iin) DO UPDATE SET region = excluded.region, data = excluded.data",
            )
            .bind(&iins)
            .bind(&regions)
            .bind(&data)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
            written += done.rows_affected();
        }
        Ok(written)
    }

    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>> {
        sqlx::query("SELECT data FROM people WHERE iin = $1")
            .bind(iin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::person(&r))
            .transpose()
    }

    async fn count_people(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn staff(&self, staff: StaffId) -> StoreResult<Option<StaffAccount>> {
        sqlx::query("SELECT data FROM staff WHERE id = $1")
            .bind(staff.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::staff(&r))
            .transpose()
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>> {
        sqlx::query("SELECT data FROM staff WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::staff(&r))
            .transpose()
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>> {
        // username is in the "C" collation: the same byte order as SQLite's, whatever the
        // database's locale.
        let rows = sqlx::query("SELECT data FROM staff ORDER BY username")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::staff)
    }

    async fn put_otp(&self, otp: &OtpChallenge) -> StoreResult<()> {
        let o = codec::otp_row(otp)?;
        sqlx::query(
            "INSERT INTO otp_challenges (id, iin, purpose, code_hash, created_at, expires_at, \
             attempts, consumed_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)",
        )
        .bind(o.id)
        .bind(&o.iin)
        .bind(&o.purpose)
        .bind(&o.code_hash)
        .bind(o.created_at)
        .bind(o.expires_at)
        .bind(o.attempts)
        .bind(o.consumed_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn attempt_otp(
        &self,
        otp: Uuid,
        now: Timestamp,
        max_attempts: u32,
    ) -> StoreResult<Option<OtpChallenge>> {
        sqlx::query(&format!(
            "UPDATE otp_challenges SET attempts = attempts + 1 \
             WHERE id = $1 AND attempts < $2 AND consumed_at IS NULL AND expires_at > $3 \
             RETURNING {OTP_COLUMNS}"
        ))
        .bind(otp)
        .bind(i64::from(max_attempts))
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::otp(&r))
        .transpose()
    }

    async fn consume_otp(&self, otp: Uuid, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE otp_challenges SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
        )
        .bind(micros(now))
        .bind(otp)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let s = codec::session_row(session)?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, subject, created_at, expires_at) \
             VALUES ($1, $2::jsonb, $3, $4)",
        )
        .bind(&s.token_hash)
        .bind(&s.subject)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT token_hash, subject, created_at, expires_at FROM sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::session(&r))
        .transpose()
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn commit(&self, changes: Changes) -> StoreResult<()> {
        let mut rows = codec::changes(&changes)?;
        for b in &mut rows.blobs {
            b.bytes = self.vault.put(&b.digest, &b.bytes).await?;
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // On an error `tx` is dropped, which rolls everything back.
        commit_changes(&mut tx, &rows).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn application(&self, app: ApplicationId) -> StoreResult<Option<StoredApplication>> {
        sqlx::query("SELECT data, version FROM applications WHERE id = $1")
            .bind(app.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn application_by_ticket(
        &self,
        ticket: &TicketNumber,
    ) -> StoreResult<Option<StoredApplication>> {
        sqlx::query("SELECT data, version FROM applications WHERE ticket = $1")
            .bind(ticket.compact())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(
            "SELECT data, version FROM applications WHERE applicant = $1 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(iin.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn history(&self, app: ApplicationId) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query("SELECT data FROM events WHERE application_id = $1 ORDER BY seq")
            .bind(app.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::event)
    }

    async fn timeline(&self, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query(
            "SELECT kind, from_state, to_state, actor_role, at FROM events \
             WHERE application_id = $1 ORDER BY seq",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::timeline_entry)
    }

    async fn work_queue(
        &self,
        filter: &QueueFilter,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT data, version FROM applications WHERE state = ");
        q.push_bind(filter.state.as_str());
        if let Some(region) = filter.region {
            q.push(" AND region = ").push_bind(region.to_string());
        }
        if let Some(point) = &filter.point {
            q.push(" AND registration_point = ")
                .push_bind(point.to_string());
        }
        if let Some(before) = filter.taken_before {
            q.push(" AND taken_at < ").push_bind(micros(before));
        }
        // due_date is 'YYYY-MM-DD' text in the "C" collation: byte order is date order.
        q.push(" ORDER BY due_date ASC NULLS LAST, submitted_at ASC NULLS LAST, id ASC LIMIT ")
            .push_bind(limit(max));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn blob(&self, digest: &Sha256Digest) -> StoreResult<Option<Blob>> {
        let blob = sqlx::query(
            "SELECT digest, content_type, bytes, created_at FROM blobs WHERE digest = $1",
        )
        .bind(digest.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::blob(&r))
        .transpose()?;
        match blob {
            Some(mut blob) => {
                blob.bytes = self.vault.get(&blob.digest.to_string(), blob.bytes).await?;
                Ok(Some(blob))
            }
            None => Ok(None),
        }
    }

    async fn payment(&self, payment: Uuid) -> StoreResult<Option<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
        ))
        .bind(payment)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::payment(&r))
        .transpose()
    }

    async fn payment_by_reference(&self, reference: &str) -> StoreResult<Option<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE gateway_reference = $1"
        ))
        .bind(reference)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::payment(&r))
        .transpose()
    }

    async fn payments_of(&self, app: ApplicationId) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE application_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }

    async fn payments_in(
        &self,
        status: PaymentStatus,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = $1 \
             ORDER BY created_at, id LIMIT $2"
        ))
        .bind(status.as_str())
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }

    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        sqlx::query(
            "SELECT scope, idempotency_key, request_digest, status, body, created_at \
             FROM idempotency WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::idempotency(&r))
        .transpose()
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let until = now
            .checked_add(lease)
            .map_err(|e| StoreError::Database(format!("outbox lease: {e}")))?;
        let rows = sqlx::query(
            "WITH due AS ( \
                 SELECT id FROM outbox \
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, created_at, id LIMIT $2 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox SET next_attempt_at = $3, attempts = outbox.attempts + 1 \
             FROM due WHERE outbox.id = due.id \
             RETURNING outbox.id, outbox.topic, outbox.payload, outbox.created_at, \
                 outbox.attempts, outbox.next_attempt_at, outbox.delivered_at, \
                 outbox.last_error",
        )
        .bind(micros(now))
        .bind(limit(max))
        .bind(micros(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut claimed = decode_all(rows, codec::outbox)?;
        // RETURNING gives no order; hand them out oldest first.
        claimed.sort_by_key(|m| (m.created_at, m.id));
        Ok(claimed)
    }

    async fn outbox_delivered(
        &self,
        message: Uuid,
        now: Timestamp,
        notice: Option<&Notice>,
    ) -> StoreResult<()> {
        let notice = notice.map(codec::notice_row).transpose()?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("UPDATE outbox SET delivered_at = $1 WHERE id = $2 AND delivered_at IS NULL")
            .bind(micros(now))
            .bind(message)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(n) = notice {
            sqlx::query(&format!(
                "INSERT INTO notices ({NOTICE_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (id) DO NOTHING"
            ))
            .bind(n.id)
            .bind(&n.iin)
            .bind(n.application_id)
            .bind(&n.kind)
            .bind(&n.message)
            .bind(n.created_at)
            .bind(n.read_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET last_error = $1, next_attempt_at = $2 \
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(error)
        .bind(micros(next_attempt_at))
        .bind(message)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn people_to_remind(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<Person>> {
        let rows = sqlx::query(
            "SELECT p.data FROM people p \
             WHERE p.last_valid_day BETWEEN $1 AND $2 \
               AND NOT EXISTS (SELECT 1 FROM reminders r \
                               WHERE r.iin = p.iin AND r.last_valid_day = p.last_valid_day) \
               AND NOT EXISTS (SELECT 1 FROM reminder_opt_outs o WHERE o.iin = p.iin) \
               AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.applicant = p.iin \
                               AND a.state NOT IN ('issued', 'annulled', 'withdrawn')) \
             ORDER BY p.last_valid_day, p.iin LIMIT $3",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(codec::person).collect()
    }

    async fn reminder_opted_out(&self, iin: &Iin) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reminder_opt_outs WHERE iin = $1")
            .bind(iin.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn contact_details(&self, iin: &Iin) -> StoreResult<Option<ContactDetails>> {
        sqlx::query("SELECT iin, phone, language, updated_at FROM contact_details WHERE iin = $1")
            .bind(iin.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::contact(&r))
            .transpose()
    }

    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE holder = $1 ORDER BY issued_on DESC, number",
            codec::DOCUMENT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(iin.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(codec::document)
            .collect()
    }

    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE kind = $1 AND number = $2",
            codec::DOCUMENT_COLUMNS
        );
        let record = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(number)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::document(&r))
            .transpose()?;
        if record.is_some() {
            return Ok(record);
        }
        let people = sqlx::query(
            "SELECT data FROM people WHERE (data -> 'document' ->> 'number') = $1 LIMIT 2",
        )
        .bind(number)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(codec::person)
        .collect::<StoreResult<Vec<Person>>>()?;
        Ok(people
            .iter()
            .find(|p| p.document.kind == kind)
            .map(codec::register_document))
    }

    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>> {
        sqlx::query(
            "SELECT id, version, active_from, activated_by, activated_at FROM rule_activations \
             ORDER BY activated_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(codec::rule_activation)
        .collect()
    }

    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>> {
        sqlx::query(
            "SELECT digest, kind, verdict, perceptual_hash, report, checked_at \
             FROM image_checks WHERE digest = $1",
        )
        .bind(digest.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::image_check(&r))
        .transpose()
    }

    async fn applications_with_photo_hash(
        &self,
        perceptual_hash: u64,
        excluding: &Iin,
    ) -> StoreResult<Vec<ApplicationId>> {
        // Two indexed steps (the photos with this hash, then the applications with each
        // photo), each bounded: a flag needs a few examples, not every match.
        let digests: Vec<String> = sqlx::query_scalar(
            "SELECT digest FROM image_checks WHERE perceptual_hash = $1 LIMIT 64",
        )
        .bind(format!("{perceptual_hash:016x}"))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut found: Vec<(i64, String)> = Vec::new();
        for digest in digests {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT created_at, id::text FROM applications \
                 WHERE data ->> 'photo' = $1 AND applicant <> $2 LIMIT 20",
            )
            .bind(digest)
            .bind(excluding.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
            found.extend(rows);
        }
        found.sort();
        found
            .iter()
            .take(SAME_PHOTO_LIMIT)
            .map(|(_, id)| {
                id.parse::<Uuid>()
                    .map(ApplicationId)
                    .map_err(|_| StoreError::Corrupt(format!("application id {id:?}")))
            })
            .collect()
    }

    async fn applications_to_purge(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT a.id FROM applications a \
             WHERE a.state IN ('issued', 'annulled', 'withdrawn') \
               AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = a.id) \
               AND (SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id) < $1 \
             ORDER BY a.created_at, a.id LIMIT $2",
        )
        .bind(before.as_microsecond())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(ApplicationId).collect())
    }

    async fn purge_application_images(
        &self,
        application: ApplicationId,
        audit: AuditEntry,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let rows = codec::changes(&Changes {
            audit: vec![audit],
            ..Changes::default()
        })?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let digests: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT data ->> 'photo', data ->> 'signature' FROM applications WHERE id = $1 FOR UPDATE",
        )
        .bind(application.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some((photo, signature)) = digests else {
            return Err(StoreError::Conflict);
        };
        let mut deleted = 0u64;
        let mut gone = Vec::new();
        for digest in [photo, signature].into_iter().flatten() {
            let done = sqlx::query(
                "DELETE FROM blobs WHERE digest = $1 AND NOT EXISTS ( \
                   SELECT 1 FROM applications o WHERE o.id <> $2 \
                     AND (o.data ->> 'photo' = $1 OR o.data ->> 'signature' = $1) \
                     AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = o.id))",
            )
            .bind(&digest)
            .bind(application.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() > 0 {
                deleted += done.rows_affected();
                gone.push(digest.clone());
                sqlx::query("DELETE FROM image_checks WHERE digest = $1")
                    .bind(&digest)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        sqlx::query("DELETE FROM notices WHERE application_id = $1")
            .bind(application.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO purged_applications (application_id, purged_at, images_deleted) VALUES ($1, $2, $3)")
            .bind(application.0)
            .bind(now.as_microsecond())
            .bind(deleted as i64)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        commit_changes(&mut tx, &rows).await?;
        tx.commit().await.map_err(db_err)?;
        self.vault.forget(&gone).await;
        Ok(deleted)
    }

    async fn otps_since(
        &self,
        iin: &Iin,
        purpose: &OtpPurpose,
        since: Timestamp,
    ) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM otp_challenges WHERE iin = $1 AND created_at >= $2 \
             AND purpose->>'purpose' = $3",
        )
        .bind(iin.to_string())
        .bind(since.as_microsecond())
        .bind(purpose.kind())
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        count(n)
    }

    async fn otp(&self, otp: Uuid) -> StoreResult<Option<OtpChallenge>> {
        sqlx::query(&format!(
            "SELECT {OTP_COLUMNS} FROM otp_challenges WHERE id = $1"
        ))
        .bind(otp)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::otp(&r))
        .transpose()
    }

    async fn application_counts(&self) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT region, state, COUNT(*) FROM applications GROUP BY region, state ORDER BY region, state",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|(region, state, n)| {
                Ok(ApplicationCount {
                    region: region
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("region {region:?}")))?,
                    state: ApplicationState::ALL
                        .into_iter()
                        .find(|s| s.as_str() == state)
                        .ok_or_else(|| StoreError::Corrupt(format!("state {state:?}")))?,
                    count: count(n)?,
                })
            })
            .collect()
    }

    async fn payments_count(&self, status: PaymentStatus) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE status = $1")
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn outbox_backlog(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn outbox_stuck(
        &self,
        attempts_at_least: u32,
        created_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT id, topic, payload, created_at, attempts, next_attempt_at, delivered_at, \
                 last_error \
             FROM outbox WHERE delivered_at IS NULL AND (attempts >= $1 OR created_at < $2) \
             ORDER BY created_at, id LIMIT $3",
        )
        .bind(i64::from(attempts_at_least))
        .bind(micros(created_before))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::outbox)
    }

    async fn retry_outbox_message(
        &self,
        message: Uuid,
        now: Timestamp,
        audit: AuditEntry,
    ) -> StoreResult<OutboxRetry> {
        let rows = codec::changes(&Changes {
            audit: vec![audit],
            ..Changes::default()
        })?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND delivered_at IS NULL",
        )
        .bind(micros(now))
        .bind(message)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 1 {
            commit_changes(&mut tx, &rows).await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(OutboxRetry::Rescheduled);
        }
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM outbox WHERE id = $1")
            .bind(message)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(match exists {
            Some(_) => OutboxRetry::AlreadyDelivered,
            None => OutboxRetry::Missing,
        })
    }

    async fn overdue_applications(
        &self,
        today: jiff::civil::Date,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(&format!(
            "SELECT data, version FROM applications \
             WHERE state IN {} AND due_date < $1 \
             ORDER BY due_date, submitted_at, id LIMIT $2",
            codec::OVERDUE_STATES_SQL
        ))
        .bind(codec::date_text(today))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn overdue_counts(&self, today: jiff::civil::Date) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
            "SELECT region, state, COUNT(*) FROM applications \
             WHERE state IN {} AND due_date < $1 GROUP BY region, state ORDER BY region, state",
            codec::OVERDUE_STATES_SQL
        ))
        .bind(codec::date_text(today))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(codec::application_count).collect()
    }

    async fn applications_waiting_since(
        &self,
        state: ApplicationState,
        entered_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        // When it entered the state: its latest event into it (self-loops such as a refund
        // confirmation do not count). Per application through the events index.
        let rows = sqlx::query(
            "SELECT data, version FROM ( \
               SELECT a.id, a.data, a.version, \
                 (SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id \
                    AND e.to_state = a.state AND e.from_state <> e.to_state) AS entered \
               FROM applications a WHERE a.state = $1) w \
             WHERE entered < $2 ORDER BY entered, id LIMIT $3",
        )
        .bind(state.as_str())
        .bind(micros(entered_before))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn activity_report(&self, period: &ReportPeriod) -> StoreResult<ActivityReport> {
        let (from, until) = (micros(period.from), micros(period.until));
        let offset = period.utc_offset.as_micros() as i64;
        let per_day: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (submitted_at + $1) / $2 AS day, COUNT(*) FROM applications \
             WHERE submitted_at >= $3 AND submitted_at < $4 GROUP BY 1 ORDER BY 1",
        )
        .bind(offset)
        .bind(codec::DAY_MICROS)
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let per_region: Vec<(String, i64)> = sqlx::query_as(
            "SELECT region, COUNT(*) FROM applications \
             WHERE submitted_at >= $1 AND submitted_at < $2 GROUP BY region ORDER BY region",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let decisions: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(DECISION_TIMES_SQL)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let reasons: Vec<(String, i64)> = sqlx::query_as(
            "SELECT data -> 'kind' ->> 'reason' AS reason, COUNT(*) FROM events \
             WHERE kind = 'annulled' AND at >= $1 AND at < $2 GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(ActivityReport {
            submitted_per_day: per_day
                .into_iter()
                .map(codec::day_count)
                .collect::<StoreResult<_>>()?,
            submitted_per_region: per_region
                .into_iter()
                .map(codec::region_count)
                .collect::<StoreResult<_>>()?,
            decision_times: decisions
                .into_iter()
                .map(codec::decision_times)
                .collect::<StoreResult<_>>()?,
            annulment_reasons: reasons
                .into_iter()
                .map(codec::reason_count)
                .collect::<StoreResult<_>>()?,
        })
    }

    async fn payment_totals(&self, status: PaymentStatus) -> StoreResult<PaymentTotals> {
        // SUM of a BIGINT is NUMERIC in PostgreSQL: cast back (tiyn sums fit easily).
        let row: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0)::BIGINT FROM payments WHERE status = $1",
        )
        .bind(status.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        codec::payment_totals(row)
    }

    async fn payments_stale(
        &self,
        status: PaymentStatus,
        updated_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = $1 AND updated_at < $2 \
             ORDER BY updated_at, id LIMIT $3"
        ))
        .bind(status.as_str())
        .bind(micros(updated_before))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }

    async fn inbox(&self, iin: &Iin) -> StoreResult<Vec<Notice>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE iin = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(iin.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::notice)
    }

    async fn mark_notice_read(&self, iin: &Iin, notice: Uuid, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE notices SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND iin = $3",
        )
        .bind(micros(now))
        .bind(notice)
        .bind(iin.to_string())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn register_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>> {
        sqlx::query(
            "SELECT iin, document_number, content_type, bytes FROM register_photos WHERE iin = $1",
        )
        .bind(iin.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::register_photo(&r))
        .transpose()
    }

    async fn audit_page(&self, query: &AuditQuery, max: u32) -> StoreResult<Vec<AuditRecord>> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT pos, id, at, actor, action, target, details FROM audit_entries WHERE TRUE",
        );
        if let Some(before) = query.before {
            q.push(" AND (at, pos) < (")
                .push_bind(micros(before.at))
                .push(", ")
                .push_bind(before.pos)
                .push(")");
        }
        if let Some(search) = &query.search {
            if search.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" AND (FALSE");
            if !search.targets.is_empty() {
                q.push(" OR target = ANY(")
                    .push_bind(search.targets.clone())
                    .push(")");
            }
            if !search.staff.is_empty() {
                let staff: Vec<String> = search.staff.iter().map(|s| s.0.to_string()).collect();
                q.push(" OR actor ->> 'staff' = ANY(")
                    .push_bind(staff)
                    .push(")");
            }
            if let Some(iin) = &search.citizen {
                q.push(" OR actor ->> 'iin' = ").push_bind(iin.to_string());
            }
            q.push(")");
        }
        q.push(" ORDER BY at DESC, pos DESC LIMIT ")
            .push_bind(limit(max));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        decode_all(rows, codec::audit_record)
    }

    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>> {
        sqlx::query(
            "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
             FROM officer_credentials WHERE staff_id = $1 \
             ORDER BY bound_at DESC LIMIT 1",
        )
        .bind(staff.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::officer_credential(&r))
        .transpose()
    }

    async fn officer_credential_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<OfficerCredential>> {
        sqlx::query(
            "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
             FROM officer_credentials WHERE fingerprint = $1",
        )
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::officer_credential(&r))
        .transpose()
    }

    async fn approval(&self, app: ApplicationId) -> StoreResult<Option<Approval>> {
        sqlx::query(
            "SELECT application_id, officer, method, document, signature, signed_at \
             FROM approvals WHERE application_id = $1",
        )
        .bind(app.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::approval(&r))
        .transpose()
    }

    async fn signature_checks(&self, app: ApplicationId) -> StoreResult<Vec<SignatureCheck>> {
        let rows = sqlx::query(
            "SELECT id, application_id, at, outcome, code, detail FROM signature_checks \
             WHERE application_id = $1 ORDER BY at, id",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::signature_check)
    }

    async fn audit_pending(&self, max: u32) -> StoreResult<Vec<ChainCandidate>> {
        let sql = format!(
            "SELECT x.source, x.source_pos, {CHAIN_ROW_COLUMNS} FROM audit_pending x \
             {CHAIN_ROW_JOINS} ORDER BY x.pos LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let candidates = decode_all(rows, codec::chain_candidate)?;
        Ok(candidates.into_iter().flatten().collect())
    }

    async fn audit_pending_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        sqlx::query("SELECT seq, at, data FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::checkpoint(&r))
            .transpose()
    }

    async fn append_audit_chain(
        &self,
        links: Vec<ChainLink>,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        for l in &links {
            let seq = i64::try_from(l.seq)
                .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
            sqlx::query(
                "INSERT INTO audit_chain (seq, source, source_pos, entry_hash, chain_hash) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(seq)
            .bind(l.source.as_str())
            .bind(l.source_pos)
            .bind(&l.entry_hash[..])
            .bind(&l.chain_hash[..])
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let taken =
                sqlx::query("DELETE FROM audit_pending WHERE source = $1 AND source_pos = $2")
                    .bind(l.source.as_str())
                    .bind(l.source_pos)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if taken.rows_affected() != 1 {
                return Err(StoreError::Duplicate("audit_chain"));
            }
        }
        let seq = i64::try_from(checkpoint.seq)
            .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
        sqlx::query("INSERT INTO audit_checkpoints (seq, at, data) VALUES ($1, $2, $3)")
            .bind(seq)
            .bind(micros(checkpoint.at))
            .bind(&checkpoint.data)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn audit_chain(&self, after_seq: u64, max: u32) -> StoreResult<Vec<ChainEntry>> {
        let sql = format!(
            "SELECT x.seq, x.source, x.source_pos, x.entry_hash, x.chain_hash, \
             {CHAIN_ROW_COLUMNS} FROM audit_chain x {CHAIN_ROW_JOINS} \
             WHERE x.seq > $1 ORDER BY x.seq LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::chain_entry)
    }

    async fn audit_checkpoints(
        &self,
        after_seq: u64,
        max: u32,
    ) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows = sqlx::query(
            "SELECT seq, at, data FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::checkpoint)
    }

    async fn audit_unchained(&self, max: u32) -> StoreResult<Vec<(ChainSource, i64)>> {
        let rows = sqlx::query(
            "SELECT 'event' AS source, seq AS source_pos FROM events e WHERE \
               NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 'event' AND c.source_pos = e.seq) \
               AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.source = 'event' AND p.source_pos = e.seq) \
             UNION ALL \
             SELECT 'audit', pos FROM audit_entries a WHERE \
               NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 'audit' AND c.source_pos = a.pos) \
               AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.source = 'audit' AND p.source_pos = a.pos) \
             LIMIT $1",
        )
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::chain_source_row)
    }
}
