//! The PostgreSQL store, for several server instances on one database.
//!
//! A [`PgPool`]; [`crate::Transactions::commit`] runs in one transaction. PostgreSQL groups the commits of
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
//! [`crate::PeopleStore::put_people`] sends `UNNEST` arrays of [`PEOPLE_PER_STATEMENT`] people per
//! statement; each statement commits on its own.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::DocumentKind;
use kuelik_core::iin::Iin;
use kuelik_core::issuance::DocumentRecord;
use kuelik_core::lifecycle::{ApplicationId, ApplicationState, Event, StaffId};
use kuelik_core::register::Person;
use kuelik_core::ticket::TicketNumber;

use crate::codec::{self, db_err, limit, micros, ChangeRows};
use crate::sql;
use crate::{
    ActivityReport, ApplicationCount, ApplicationRecord, Approval, AuditEntry, AuditQuery,
    AuditRecord, Blob, ChainCandidate, ChainEntry, ChainLink, ChainReach, ChainSource, Changes,
    ContactDetails, IdempotencyRecord, ImageCheck, Notice, OfficerCredential, OtpChallenge,
    OtpPurpose, OutboxMessage, OutboxRetry, PaymentRecord, PaymentStatus, PaymentTotals,
    QueueFilter, RegisterPhoto, ReportPeriod, RuleActivation, SamePhoto, Session, SignatureCheck,
    SignedInRecord, StaffAccount, StoreError, StoreResult, StoredApplication, StoredCheckpoint,
    TimelineEntry, SAME_PHOTO_LIMIT,
};
use crate::{
    ApplicationStore, AuditStore, OutboxStore, PaymentStore, PeopleStore, ReportStore, StaffStore,
    Transactions,
};

/// People per `INSERT … SELECT FROM UNNEST(…)` statement.
pub const PEOPLE_PER_STATEMENT: usize = 10_000;
/// The environment variable that sets the pool's size (connections per server instance).
pub const POOL_SIZE_VAR: &str = "KUELIK_PG_POOL";
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    vault: crate::BlobVault,
}

impl PostgresStore {
    /// A read-only transaction whose statements all see one snapshot.
    async fn read_snapshot(&self) -> StoreResult<sqlx::Transaction<'_, Postgres>> {
        self.transaction_with("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
    }

    /// A transaction (for reads) in which a stretch of rows in key order (`ORDER BY key LIMIT
    /// n` over a range of the key) is read along the key's index and stops at the limit.
    /// Statistics that a burst of writes has made stale (millions of rows since the last
    /// `ANALYZE`, as when the audit sequencer or the archiving worker catch up) make the range
    /// look small enough to fetch whole and sort — every row of it, for each batch — unless
    /// sorting is ruled out.
    async fn key_order_reads(&self) -> StoreResult<sqlx::Transaction<'_, Postgres>> {
        self.transaction_with("SET LOCAL enable_sort = off").await
    }

    /// A transaction begun with `setting` (a `SET` for this transaction only).
    async fn transaction_with(
        &self,
        setting: &'static str,
    ) -> StoreResult<sqlx::Transaction<'_, Postgres>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(setting)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(tx)
    }

    /// Keeps image bytes where `vault` says (and sealed as it says).
    pub fn with_vault(mut self, vault: crate::BlobVault) -> PostgresStore {
        self.vault = vault;
        self
    }

    /// Connects to the database `url` names and applies the migrations not applied yet
    /// (sqlx holds an advisory lock meanwhile, so instances starting together take turns).
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        // No JIT: the service's statements run in microseconds to milliseconds, and LLVM's
        // compile of one that the planner costs high (an archiving round's reads and deletes
        // by arrays of ids) took 7.5 % of the whole machine's time in a national load's
        // archiving (perf, docs/PERFORMANCE.md).
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(format!("PostgreSQL: {e}")))?
            .options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(pool_size())
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
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

/// Connections per instance: [`POOL_SIZE_VAR`] if set, else two per core of this machine
/// plus one, at least 4. More connections than the database's cores can run only queue inside
/// PostgreSQL, where each waiting backend is a process to switch to; fewer queue in the pool,
/// which is cheaper (measured in docs/PERFORMANCE.md, "The day on PostgreSQL").
fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let default = u32::try_from(cores * 2 + 1).unwrap_or(u32::MAX).max(4);
    std::env::var(POOL_SIZE_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Boxed so that the future of [`PostgresStore::open`] is `Send` for every lifetime (the
/// generic `Migrator::run` otherwise defeats the compiler's proof).
fn migrate(pool: &PgPool) -> Pin<Box<dyn Future<Output = Result<(), MigrateError>> + Send + '_>> {
    Box::pin(MIGRATOR.run(pool))
}

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

/// All of `c`, inside an open transaction.
async fn commit_changes(conn: &mut PgConnection, c: &ChangeRows) -> StoreResult<()> {
    one_statement::write(&mut *conn, c).await?;
    commit_the_rest(conn, c).await
}

/// Everything of `c` that [`one_statement::write`] does not write, one statement per row,
/// inside the change's transaction.
async fn commit_the_rest(conn: &mut PgConnection, c: &ChangeRows) -> StoreResult<()> {
    for b in &c.blobs {
        sqlx::query(sql::INSERT_BLOB)
            .bind(&b.digest)
            .bind(&b.content_type)
            .bind(b.size)
            .bind(&b.bytes)
            .bind(b.created_at)
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
        sqlx::query(sql::INSERT_REMINDER)
            .bind(iin)
            .bind(last_valid_day)
            .bind(sent_at)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    if let Some(a) = &c.approval {
        sqlx::query(sql::INSERT_APPROVAL)
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
        sqlx::query(sql::UPSERT_REGISTER_PHOTO)
            .bind(p.iin.to_string())
            .bind(&p.document_number)
            .bind(&p.content_type)
            .bind(&p.bytes)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for (iin, phone, language, at) in &c.contacts {
        sqlx::query(sql::UPSERT_CONTACT_DETAILS)
            .bind(iin)
            .bind(phone)
            .bind(language)
            .bind(at)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for (aid, version, from, by, at) in &c.rule_activations {
        sqlx::query(sql::INSERT_RULE_ACTIVATION)
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
        sqlx::query(sql::UPSERT_DOCUMENT)
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
            sqlx::query(sql::INSERT_REMINDER_OPT_OUT).bind(iin).bind(at)
        } else {
            sqlx::query(sql::DELETE_REMINDER_OPT_OUT).bind(iin)
        };
        q.execute(&mut *conn).await.map_err(db_err)?;
    }
    for k in &c.officer_credentials {
        let done = sqlx::query(sql::UPSERT_OFFICER_CREDENTIAL)
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
        sqlx::query(sql::INSERT_SIGNATURE_CHECK)
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
impl Transactions for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn commit(&self, changes: Changes) -> StoreResult<()> {
        let mut rows = codec::changes(&changes)?;
        for b in &mut rows.blobs {
            b.bytes = self.vault.put(&b.digest, &b.bytes).await?;
        }
        if one_statement::fits(&rows) {
            return one_statement::write(&self.pool, &rows).await;
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // On an error `tx` is dropped, which rolls everything back.
        commit_changes(&mut tx, &rows).await?;
        tx.commit().await.map_err(db_err)
    }
}

mod applications;
pub use applications::APPLICATION_RECORD_SQL;
mod audit;
mod one_statement;
mod outbox;
mod payments;
mod people;
mod reports;
mod staff;
