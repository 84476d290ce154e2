//! The embedded store: one SQLite file, durable writes with group commit.
//!
//! # Design
//!
//! **Durability.** The file runs in WAL mode with `synchronous=FULL`: when a write returns
//! `Ok`, its transaction's WAL frames have been fsync'ed, so a 2xx survives a power cut.
//! Foreign keys are on, and every connection waits (busy timeout) rather than failing at once
//! when another process holds the lock.
//!
//! **Group commit.** An fsync per request would cap the service at a few hundred writes a
//! second, so writes are batched instead of made weaker:
//!
//! - One writer task owns the only write connection. Every write — [`Store::commit`] and all
//!   the small ones (sessions, OTPs, outbox leases, …) — is a *job* sent to it over a bounded
//!   channel, with a oneshot channel for its answer.
//! - The writer takes the first job and whatever else is already queued (up to
//!   [`MAX_BATCH`]), runs `BEGIN IMMEDIATE`, then each job inside its own `SAVEPOINT`. A job
//!   that fails is rolled back to its savepoint and keeps its error; the other jobs of the
//!   batch are unaffected. Then one `COMMIT` — one fsync for the whole batch — and only then
//!   does every job get its answer. While a batch commits, the next one queues up, so the
//!   batch size follows the load.
//! - If `BEGIN`, a savepoint statement or `COMMIT` itself fails, the whole batch is rolled
//!   back and every job in it gets an error: no caller is ever told `Ok` for a write that is
//!   not on disk.
//! - A job runs on the writer task, not on the caller's: a caller that gives up waiting
//!   (a dropped HTTP request) cannot leave a transaction half-done.
//!
//! Values are encoded (JSON, digests checked) on the caller's task before the job is sent, so
//! the writer only binds and executes.
//!
//! **Reads** use a separate pool of read-only connections. In WAL mode readers never block
//! the writer nor wait for it, and they see every transaction committed before they start.
//!
//! **Bulk loads.** [`Store::put_people`] sends jobs of [`PEOPLE_PER_JOB`] people, each written
//! with multi-row `INSERT … ON CONFLICT (iin) DO UPDATE` statements of
//! [`PEOPLE_PER_STATEMENT`] rows, and encodes the next job while the writer runs the previous
//! one. A load is not one transaction: each job commits on its own (and other writes go on
//! between them); re-running a failed load is safe, as it is an upsert.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Sqlite};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::iin::Iin;
use kuelik_core::lifecycle::{ApplicationId, ApplicationState, Event, StaffId};
use kuelik_core::register::Person;
use kuelik_core::ticket::TicketNumber;

use crate::codec::{self, db_err, limit, micros, AppRow, ChangeRows, PersonRow};
use crate::{
    ActivityReport, ApplicationCount, Approval, AuditEntry, Blob, ChainCandidate, ChainEntry,
    ChainLink, ChainSource, Changes, ContactDetails, IdempotencyRecord, ImageCheck, Notice,
    OfficerCredential, OtpChallenge, OutboxMessage, OutboxRetry, PaymentRecord, PaymentStatus,
    PaymentTotals, QueueFilter, ReportPeriod, RuleActivation, Session, SignatureCheck,
    StaffAccount, Store, StoreError, StoreResult, StoredApplication, StoredCheckpoint,
    SAME_PHOTO_LIMIT,
};

/// The most jobs one transaction carries.
pub const MAX_BATCH: usize = 64;
/// Jobs waiting for the writer before senders wait too (back-pressure).
const QUEUE: usize = 1024;
/// People per job of [`Store::put_people`].
pub const PEOPLE_PER_JOB: usize = 20_000;
/// People per `INSERT` statement (3 parameters each, far below SQLite's 32766).
pub const PEOPLE_PER_STATEMENT: usize = 500;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READERS: u32 = 4;

type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// The SQLite implementation of [`Store`]. See the module documentation for its design.
///
/// Clones share the writer task and the readers; the writer stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Box<dyn Job>>,
    readers: SqlitePool,
    path: PathBuf,
    vault: crate::BlobVault,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Writes a consistent snapshot of the live database to `dest` (SQLite's `VACUUM INTO`,
    /// on a reader connection: writers go on meanwhile). `dest` must not exist yet.
    pub async fn backup_to(&self, dest: &Path) -> StoreResult<u64> {
        if dest.exists() {
            return Err(StoreError::Open(format!(
                "{} already exists",
                dest.display()
            )));
        }
        let target = dest
            .to_str()
            .ok_or_else(|| StoreError::Open(format!("{} is not a UTF-8 path", dest.display())))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.readers)
            .await
            .map_err(db_err)?;
        std::fs::metadata(dest)
            .map(|m| m.len())
            .map_err(|e| StoreError::Open(format!("{}: {e}", dest.display())))
    }

    /// Checks that `path` is a sound kuelik database (SQLite integrity check, migrations
    /// table present) without changing it: what `kuelik restore` checks before using it.
    pub async fn check_backup(path: &Path) -> StoreResult<()> {
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
        if integrity != "ok" {
            return Err(StoreError::Corrupt(format!(
                "{}: {integrity}",
                path.display()
            )));
        }
        let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| {
                StoreError::Open(format!("{} is not a kuelik database", path.display()))
            })?;
        if migrations == 0 {
            return Err(StoreError::Open(format!(
                "{} has no kuelik schema",
                path.display()
            )));
        }
        Ok(())
    }

    /// Opens (creating if missing) the database at `path`, applies the migrations that are
    /// not applied yet and starts the writer task. Must be called inside a Tokio runtime.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let open_err = |e: sqlx::Error| StoreError::Open(format!("{}: {e}", path.display()));
        let base = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let write_options = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut conn = SqliteConnection::connect_with(&write_options)
            .await
            .map_err(open_err)?;
        migrate(&mut conn)
            .await
            .map_err(|e| StoreError::Open(format!("{}: migrations: {e}", path.display())))?;
        // The journal mode is a property of the file; check that it took.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open(format!(
                "{}: journal mode is {mode}, not wal",
                path.display()
            )));
        }
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(base.read_only(true))
            .await
            .map_err(open_err)?;
        let (writer, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run_writer(conn, jobs));
        Ok(SqliteStore {
            writer,
            readers,
            path: path.to_path_buf(),
            vault: crate::BlobVault::default(),
        })
    }

    /// Keeps image bytes where `vault` says (and sealed as it says).
    pub fn with_vault(mut self, vault: crate::BlobVault) -> SqliteStore {
        self.vault = vault;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The write connection's settings as SQLite reports them (for diagnostics and tests).
    pub async fn writer_settings(&self) -> StoreResult<WriterSettings> {
        self.write(|conn| {
            Box::pin(async move {
                let journal_mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
                let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
                let foreign_keys: bool = sqlx::query_scalar("PRAGMA foreign_keys")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
                let busy_timeout_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(WriterSettings {
                    journal_mode,
                    synchronous: match synchronous {
                        0 => "off",
                        1 => "normal",
                        2 => "full",
                        3 => "extra",
                        _ => "unknown",
                    },
                    foreign_keys,
                    busy_timeout_ms,
                })
            })
        })
        .await
    }

    /// Queues a job for the writer; the returned future resolves once its batch committed.
    async fn submit<T, F>(&self, work: F) -> StoreResult<oneshot::Receiver<StoreResult<T>>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Box::new(Op { work, reply }))
            .await
            .map_err(|_| writer_gone())?;
        Ok(answer)
    }

    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let answer = self.submit(work).await?;
        answer.await.map_err(|_| writer_gone())?
    }
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Boxed so that the future of [`SqliteStore::open`] is `Send` for every lifetime (the
/// generic `Migrator::run` otherwise defeats the compiler's proof).
fn migrate(conn: &mut SqliteConnection) -> BoxFuture<'_, Result<(), MigrateError>> {
    Box::pin(MIGRATOR.run_direct(conn))
}

/// What [`SqliteStore::writer_settings`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterSettings {
    /// `wal`.
    pub journal_mode: String,
    /// `full`: a commit returns after its WAL frames are on disk.
    pub synchronous: &'static str,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

fn writer_gone() -> StoreError {
    StoreError::Database("the SQLite writer task has stopped".into())
}

// ---------------------------------------------------------------------------------------
// The writer
// ---------------------------------------------------------------------------------------

/// A write waiting for the writer task.
trait Job: Send {
    /// Runs the job's statements (inside its savepoint).
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Box<dyn Ran>>;
    /// Answers a job that was never run because its batch failed first.
    fn fail(self: Box<Self>, error: StoreError);
}

/// A job that ran and waits for its batch's commit to answer.
trait Ran: Send {
    fn succeeded(&self) -> bool;
    /// `commit` is the batch's outcome.
    fn answer(self: Box<Self>, commit: Result<(), &StoreError>);
}

struct Op<T, F> {
    work: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Op<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Box<dyn Ran>> {
        let Op { work, reply } = *self;
        Box::pin(async move {
            let result = work(conn).await;
            Box::new(Answer { result, reply }) as Box<dyn Ran>
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        // The caller may have stopped waiting; nothing to do then.
        let _ = self.reply.send(Err(error));
    }
}

struct Answer<T> {
    result: StoreResult<T>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T: Send> Ran for Answer<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn answer(self: Box<Self>, commit: Result<(), &StoreError>) {
        let result = match (commit, self.result) {
            (Ok(()), result) => result,
            (Err(e), Ok(_)) => Err(not_committed(e)),
            // It failed on its own; its own error says more.
            (Err(_), Err(own)) => Err(own),
        };
        let _ = self.reply.send(result);
    }
}

fn not_committed(e: &StoreError) -> StoreError {
    StoreError::Database(format!("the transaction was rolled back: {e}"))
}

async fn run_writer(mut conn: SqliteConnection, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(&mut conn, batch.drain(..)).await;
    }
    // Every sender is gone: the store was dropped.
    let _ = conn.close().await;
}

/// Runs one statement of the writer's own (`BEGIN`, `SAVEPOINT`, …). Boxed: it keeps the
/// writer's future provably `Send`.
fn exec<'c>(conn: &'c mut SqliteConnection, sql: &'static str) -> BoxFuture<'c, StoreResult<()>> {
    Box::pin(async move {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map(|_| ())
            .map_err(db_err)
    })
}

async fn run_batch(
    conn: &mut SqliteConnection,
    batch: impl ExactSizeIterator<Item = Box<dyn Job>> + Send,
) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE").await {
        for job in batch {
            job.fail(not_committed(&e));
        }
        return;
    }
    let mut ran: Vec<Box<dyn Ran>> = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if let Some(e) = &broken {
            job.fail(not_committed(e));
            continue;
        }
        if let Err(e) = exec(conn, "SAVEPOINT job").await {
            job.fail(not_committed(&e));
            broken = Some(e);
            continue;
        }
        let done = job.run(conn).await;
        let end = if done.succeeded() {
            exec(conn, "RELEASE SAVEPOINT job").await
        } else {
            // Undo this job only. If SQLite already rolled the whole transaction back (it
            // does on I/O errors or a full disk), the savepoint is gone and so is the batch.
            match exec(conn, "ROLLBACK TO SAVEPOINT job").await {
                Ok(()) => exec(conn, "RELEASE SAVEPOINT job").await,
                Err(e) => Err(e),
            }
        };
        ran.push(done);
        if let Err(e) = end {
            broken = Some(e);
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => exec(conn, "COMMIT").await,
    };
    if outcome.is_err() {
        // Best effort: the transaction may already be gone.
        let _ = exec(conn, "ROLLBACK").await;
    }
    for done in ran {
        done.answer(outcome.as_ref().map(|_| ()));
    }
}

// ---------------------------------------------------------------------------------------
// Write jobs (run on the writer's connection, inside a savepoint)
// ---------------------------------------------------------------------------------------

fn id(u: Uuid) -> String {
    u.hyphenated().to_string()
}

fn opt_id(u: Option<Uuid>) -> Option<String> {
    u.map(id)
}

async fn upsert_people(conn: &mut SqliteConnection, rows: Vec<PersonRow>) -> StoreResult<u64> {
    for chunk in rows.chunks(PEOPLE_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO people (iin, region, data) ");
        q.push_values(chunk, |mut b, p| {
            b.push_bind(p.iin.as_str())
                .push_bind(p.region.as_str())
                .push_bind(p.data.as_str());
        });
        q.push(" ON CONFLICT (iin) DO UPDATE SET region = excluded.region, data = excluded.data");
        q.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(rows.len() as u64)
}

async fn write_application(conn: &mut SqliteConnection, a: &AppRow) -> StoreResult<()> {
    match a.expected_version {
        None => {
            sqlx::query(
                "INSERT INTO applications (id, applicant, region, registration_point, state, \
                 ticket, due_date, submitted_at, taken_at, reviewer, created_at, version, data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            )
            .bind(id(a.id))
            .bind(&a.applicant)
            .bind(&a.region)
            .bind(&a.registration_point)
            .bind(a.state)
            .bind(&a.ticket)
            .bind(&a.due_date)
            .bind(a.submitted_at)
            .bind(a.taken_at)
            .bind(opt_id(a.reviewer))
            .bind(a.created_at)
            .bind(&a.data)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        Some(expected) => {
            let done = sqlx::query(
                "UPDATE applications SET applicant = ?, region = ?, registration_point = ?, \
                 state = ?, ticket = ?, due_date = ?, submitted_at = ?, taken_at = ?, \
                 reviewer = ?, data = ?, version = version + 1 \
                 WHERE id = ? AND version = ?",
            )
            .bind(&a.applicant)
            .bind(&a.region)
            .bind(&a.registration_point)
            .bind(a.state)
            .bind(&a.ticket)
            .bind(&a.due_date)
            .bind(a.submitted_at)
            .bind(a.taken_at)
            .bind(opt_id(a.reviewer))
            .bind(&a.data)
            .bind(id(a.id))
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

async fn commit_changes(conn: &mut SqliteConnection, c: ChangeRows) -> StoreResult<()> {
    if let Some(a) = &c.application {
        write_application(conn, a).await?;
    }
    for e in &c.events {
        sqlx::query(
            "INSERT INTO events (application_id, kind, from_state, to_state, actor_role, \
             actor_staff, at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id(e.application_id))
        .bind(e.kind)
        .bind(e.from_state)
        .bind(e.to_state)
        .bind(e.actor_role)
        .bind(opt_id(e.actor_staff))
        .bind(e.at)
        .bind(&e.data)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for b in &c.blobs {
        sqlx::query(
            "INSERT INTO blobs (digest, content_type, size, bytes, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
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
             gateway_reference, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, \
             status = excluded.status, gateway_reference = excluded.gateway_reference, \
             updated_at = excluded.updated_at",
        )
        .bind(id(p.id))
        .bind(id(p.application_id))
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
             delivered_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id(m.id))
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
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id(a.id))
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
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET \
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
        sqlx::query("INSERT INTO reminders (iin, last_valid_day, sent_at) VALUES (?, ?, ?)")
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
             signed_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id(a.application_id))
        .bind(id(a.officer))
        .bind(a.method)
        .bind(&a.document)
        .bind(&a.signature)
        .bind(a.signed_at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for (iin, phone, language, at) in &c.contacts {
        sqlx::query(
            "INSERT INTO contact_details (iin, phone, language, updated_at) VALUES (?, ?, ?, ?) \
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
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id(*aid))
        .bind(version)
        .bind(from)
        .bind(id(*by))
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for k in &c.signature_checks {
        sqlx::query(
            "INSERT INTO signature_checks (id, application_id, at, outcome, code, detail) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id(k.id))
        .bind(id(k.application_id))
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
             created_at) VALUES (?, ?, ?, ?, ?, ?)",
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

/// Decision times per region for decisions in `[?1, ?2)`: how many approved and annulled,
/// and the nearest-rank median and 90th percentile of submission → decision (µs), ranked by
/// a window function so the database does the sorting.
const DECISION_TIMES_SQL: &str = "WITH decided AS ( \
       SELECT a.region, e.to_state AS outcome, e.at - a.submitted_at AS waited \
       FROM events e JOIN applications a ON a.id = e.application_id \
       WHERE e.kind IN ('approved', 'annulled') AND e.at >= ?1 AND e.at < ?2 \
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
const OUTBOX_COLUMNS: &str =
    "id, topic, payload, created_at, attempts, next_attempt_at, delivered_at, last_error";
const PAYMENT_COLUMNS: &str =
    "id, application_id, payer, amount, status, gateway_reference, created_at, updated_at";
const NOTICE_COLUMNS: &str = "id, iin, application_id, kind, message, created_at, read_at";
/// Every column of the event or audit row an audit-chain row `x` stands for (see
/// `codec::chain_entry`).
const CHAIN_ROW_COLUMNS: &str = "e.seq AS e_seq, e.application_id AS e_application_id, \
    e.kind AS e_kind, e.from_state AS e_from_state, e.to_state AS e_to_state, \
    e.actor_role AS e_actor_role, e.actor_staff AS e_actor_staff, e.at AS e_at, \
    e.data AS e_data, a.pos AS a_pos, a.id AS a_id, a.at AS a_at, \
    a.actor_role AS a_actor_role, a.actor AS a_actor, a.action AS a_action, \
    a.target AS a_target, a.details AS a_details";
const CHAIN_ROW_JOINS: &str = "LEFT JOIN events e ON x.source = 'event' AND e.seq = x.source_pos \
    LEFT JOIN audit_entries a ON x.source = 'audit' AND a.pos = x.source_pos";

fn decode_all<T>(
    rows: Vec<SqliteRow>,
    decode: impl Fn(&SqliteRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.iter().map(decode).collect()
}

fn count(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|e| StoreError::Corrupt(format!("count: {e}")))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn put_people(&self, people: &[Person]) -> StoreResult<u64> {
        let unique = codec::dedupe_people(people);
        let mut written = 0;
        let mut pending: Option<oneshot::Receiver<StoreResult<u64>>> = None;
        for chunk in unique.chunks(PEOPLE_PER_JOB) {
            // Encode this chunk while the writer stores the previous one.
            let rows = codec::person_rows(chunk)?;
            let next = self
                .submit(move |conn| Box::pin(upsert_people(conn, rows)))
                .await?;
            if let Some(previous) = pending.replace(next) {
                written += previous.await.map_err(|_| writer_gone())??;
            }
        }
        if let Some(last) = pending {
            written += last.await.map_err(|_| writer_gone())??;
        }
        Ok(written)
    }

    async fn person(&self, iin: &Iin) -> StoreResult<Option<Person>> {
        sqlx::query("SELECT data FROM people WHERE iin = ?")
            .bind(iin.to_string())
            .fetch_optional(&self.readers)
            .await
            .map_err(db_err)?
            .map(|r| codec::person(&r))
            .transpose()
    }

    async fn count_people(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
            .fetch_one(&self.readers)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn add_staff(&self, staff: &StaffAccount) -> StoreResult<()> {
        let s = codec::staff_row(staff)?;
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO staff (id, username, role, region, point, active, created_at, \
                     data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id(s.id))
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
                Ok(())
            })
        })
        .await
    }

    async fn staff(&self, staff: StaffId) -> StoreResult<Option<StaffAccount>> {
        sqlx::query("SELECT data FROM staff WHERE id = ?")
            .bind(id(staff.0))
            .fetch_optional(&self.readers)
            .await
            .map_err(db_err)?
            .map(|r| codec::staff(&r))
            .transpose()
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>> {
        sqlx::query("SELECT data FROM staff WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.readers)
            .await
            .map_err(db_err)?
            .map(|r| codec::staff(&r))
            .transpose()
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>> {
        let rows = sqlx::query("SELECT data FROM staff ORDER BY username")
            .fetch_all(&self.readers)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::staff)
    }

    async fn put_otp(&self, otp: &OtpChallenge) -> StoreResult<()> {
        let o = codec::otp_row(otp)?;
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO otp_challenges (id, iin, purpose, code_hash, created_at, \
                     expires_at, attempts, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id(o.id))
                .bind(&o.iin)
                .bind(&o.purpose)
                .bind(&o.code_hash)
                .bind(o.created_at)
                .bind(o.expires_at)
                .bind(o.attempts)
                .bind(o.consumed_at)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn attempt_otp(
        &self,
        otp: Uuid,
        now: Timestamp,
        max_attempts: u32,
    ) -> StoreResult<Option<OtpChallenge>> {
        let now = micros(now);
        self.write(move |conn| {
            Box::pin(async move {
                let sql = format!(
                    "UPDATE otp_challenges SET attempts = attempts + 1 \
                     WHERE id = ? AND attempts < ? AND consumed_at IS NULL AND expires_at > ? \
                     RETURNING {OTP_COLUMNS}"
                );
                sqlx::query(&sql)
                    .bind(id(otp))
                    .bind(i64::from(max_attempts))
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?
                    .map(|r| codec::otp(&r))
                    .transpose()
            })
        })
        .await
    }

    async fn consume_otp(&self, otp: Uuid, now: Timestamp) -> StoreResult<bool> {
        let now = micros(now);
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE otp_challenges SET consumed_at = ? \
                     WHERE id = ? AND consumed_at IS NULL",
                )
                .bind(now)
                .bind(id(otp))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let s = codec::session_row(session)?;
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, subject, created_at, expires_at) \
                     VALUES (?, ?, ?, ?)",
                )
                .bind(&s.token_hash)
                .bind(&s.subject)
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Session>> {
        sqlx::query(
            "SELECT token_hash, subject, created_at, expires_at FROM sessions \
             WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?
        .map(|r| codec::session(&r))
        .transpose()
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
                    .bind(&token_hash)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn commit(&self, changes: Changes) -> StoreResult<()> {
        let mut rows = codec::changes(&changes)?;
        for b in &mut rows.blobs {
            b.bytes = self.vault.put(&b.digest, &b.bytes).await?;
        }
        self.write(move |conn| Box::pin(commit_changes(conn, rows)))
            .await
    }

    async fn application(&self, app: ApplicationId) -> StoreResult<Option<StoredApplication>> {
        sqlx::query("SELECT data, version FROM applications WHERE id = ?")
            .bind(id(app.0))
            .fetch_optional(&self.readers)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn application_by_ticket(
        &self,
        ticket: &TicketNumber,
    ) -> StoreResult<Option<StoredApplication>> {
        sqlx::query("SELECT data, version FROM applications WHERE ticket = ?")
            .bind(ticket.compact())
            .fetch_optional(&self.readers)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(
            "SELECT data, version FROM applications WHERE applicant = ? \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(iin.to_string())
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn history(&self, app: ApplicationId) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query("SELECT data FROM events WHERE application_id = ? ORDER BY seq")
            .bind(id(app.0))
            .fetch_all(&self.readers)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::event)
    }

    async fn work_queue(
        &self,
        filter: &QueueFilter,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let mut q =
            QueryBuilder::<Sqlite>::new("SELECT data, version FROM applications WHERE state = ");
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
        q.push(" ORDER BY due_date ASC NULLS LAST, submitted_at ASC NULLS LAST, id ASC LIMIT ")
            .push_bind(limit(max));
        let rows = q.build().fetch_all(&self.readers).await.map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn blob(&self, digest: &Sha256Digest) -> StoreResult<Option<Blob>> {
        let blob = sqlx::query(
            "SELECT digest, content_type, bytes, created_at FROM blobs WHERE digest = ?",
        )
        .bind(digest.to_string())
        .fetch_optional(&self.readers)
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
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?"
        ))
        .bind(id(payment))
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?
        .map(|r| codec::payment(&r))
        .transpose()
    }

    async fn payment_by_reference(&self, reference: &str) -> StoreResult<Option<PaymentRecord>> {
        sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE gateway_reference = ?"
        ))
        .bind(reference)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?
        .map(|r| codec::payment(&r))
        .transpose()
    }

    async fn payments_of(&self, app: ApplicationId) -> StoreResult<Vec<PaymentRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE application_id = ? \
             ORDER BY created_at, id"
        ))
        .bind(id(app.0))
        .fetch_all(&self.readers)
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
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = ? \
             ORDER BY created_at, id LIMIT ?"
        ))
        .bind(status.as_str())
        .bind(limit(max))
        .fetch_all(&self.readers)
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
             FROM idempotency WHERE scope = ? AND idempotency_key = ?",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.readers)
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
        let (now, until) = (micros(now), micros(until));
        let mut claimed = self
            .write(move |conn| {
                Box::pin(async move {
                    let sql = format!(
                        "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 \
                         WHERE id IN (SELECT id FROM outbox \
                             WHERE delivered_at IS NULL AND next_attempt_at <= ? \
                             ORDER BY next_attempt_at, created_at, id LIMIT ?) \
                         RETURNING {OUTBOX_COLUMNS}"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(until)
                        .bind(now)
                        .bind(limit(max))
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db_err)?;
                    decode_all(rows, codec::outbox)
                })
            })
            .await?;
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
        let now = micros(now);
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                )
                .bind(now)
                .bind(id(message))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                if let Some(n) = notice {
                    sqlx::query(&format!(
                        "INSERT INTO notices ({NOTICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (id) DO NOTHING"
                    ))
                    .bind(id(n.id))
                    .bind(&n.iin)
                    .bind(opt_id(n.application_id))
                    .bind(&n.kind)
                    .bind(&n.message)
                    .bind(n.created_at)
                    .bind(n.read_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> StoreResult<()> {
        let error = error.to_string();
        let next = micros(next_attempt_at);
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE outbox SET last_error = ?, next_attempt_at = ? \
                     WHERE id = ? AND delivered_at IS NULL",
                )
                .bind(&error)
                .bind(next)
                .bind(id(message))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn people_to_remind(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<Person>> {
        let rows = sqlx::query(
            "SELECT p.data FROM people p \
             WHERE p.last_valid_day BETWEEN ? AND ? \
               AND NOT EXISTS (SELECT 1 FROM reminders r \
                               WHERE r.iin = p.iin AND r.last_valid_day = p.last_valid_day) \
               AND NOT EXISTS (SELECT 1 FROM reminder_opt_outs o WHERE o.iin = p.iin) \
               AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.applicant = p.iin \
                               AND a.state NOT IN ('issued', 'annulled', 'withdrawn')) \
             ORDER BY p.last_valid_day, p.iin LIMIT ?",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        rows.iter().map(codec::person).collect()
    }

    async fn set_reminder_opt_out(
        &self,
        iin: &Iin,
        opt_out: bool,
        now: Timestamp,
    ) -> StoreResult<()> {
        let iin = iin.to_string();
        let at = now.as_microsecond();
        self.write(move |conn| {
            Box::pin(async move {
                let q = if opt_out {
                    sqlx::query("INSERT INTO reminder_opt_outs (iin, at) VALUES (?, ?) ON CONFLICT (iin) DO NOTHING")
                        .bind(iin)
                        .bind(at)
                } else {
                    sqlx::query("DELETE FROM reminder_opt_outs WHERE iin = ?").bind(iin)
                };
                q.execute(&mut *conn).await.map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn reminder_opted_out(&self, iin: &Iin) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reminder_opt_outs WHERE iin = ?")
            .bind(iin.to_string())
            .fetch_one(&self.readers)
            .await
            .map_err(db_err)?;
        Ok(n > 0)
    }

    async fn contact_details(&self, iin: &Iin) -> StoreResult<Option<ContactDetails>> {
        sqlx::query("SELECT iin, phone, language, updated_at FROM contact_details WHERE iin = ?")
            .bind(iin.to_string())
            .fetch_optional(&self.readers)
            .await
            .map_err(db_err)?
            .map(|r| codec::contact(&r))
            .transpose()
    }

    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>> {
        sqlx::query(
            "SELECT id, version, active_from, activated_by, activated_at FROM rule_activations \
             ORDER BY activated_at, id",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?
        .iter()
        .map(codec::rule_activation)
        .collect()
    }

    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>> {
        let row: Option<(String, String, String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT digest, kind, verdict, perceptual_hash, report, checked_at FROM image_checks WHERE digest = ?",
        )
        .bind(digest.to_string())
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?;
        let Some((d, kind, verdict, phash, report, at)) = row else {
            return Ok(None);
        };
        Ok(Some(ImageCheck {
            digest: d
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("digest {d:?}")))?,
            kind,
            verdict,
            perceptual_hash: match phash {
                Some(h) => Some(
                    u64::from_str_radix(&h, 16)
                        .map_err(|_| StoreError::Corrupt(format!("perceptual hash {h:?}")))?,
                ),
                None => None,
            },
            report: serde_json::from_str(&report)
                .map_err(|e| StoreError::Corrupt(format!("image check report: {e}")))?,
            checked_at: Timestamp::from_microsecond(at)
                .map_err(|e| StoreError::Corrupt(format!("checked_at: {e}")))?,
        }))
    }

    async fn applications_with_photo_hash(
        &self,
        perceptual_hash: u64,
        excluding: &Iin,
    ) -> StoreResult<Vec<ApplicationId>> {
        // Two indexed steps (the photos with this hash, then the applications with each
        // photo), each bounded: a flag needs a few examples, not every match.
        let digests: Vec<String> = sqlx::query_scalar(
            "SELECT digest FROM image_checks WHERE perceptual_hash = ? LIMIT 64",
        )
        .bind(format!("{perceptual_hash:016x}"))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        let mut found: Vec<(i64, String)> = Vec::new();
        for digest in digests {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT created_at, id FROM applications \
                 WHERE json_extract(data, '$.photo') = ? AND applicant <> ? LIMIT 20",
            )
            .bind(digest)
            .bind(excluding.to_string())
            .fetch_all(&self.readers)
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
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT a.id FROM applications a \
             WHERE a.state IN ('issued', 'annulled', 'withdrawn') \
               AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = a.id) \
               AND (SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id) < ? \
             ORDER BY a.created_at, a.id LIMIT ?",
        )
        .bind(before.as_microsecond())
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        ids.iter()
            .map(|i| {
                i.parse::<Uuid>()
                    .map(ApplicationId)
                    .map_err(|_| StoreError::Corrupt(format!("application id {i:?}")))
            })
            .collect()
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
        let app = id(application.0);
        let (deleted, gone) = self.write(move |conn| {
            Box::pin(async move {
                let digests: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT json_extract(data, '$.photo'), json_extract(data, '$.signature') \
                     FROM applications WHERE id = ?",
                )
                .bind(&app)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
                let Some((photo, signature)) = digests else {
                    return Err(StoreError::Conflict);
                };
                let mut deleted = 0u64;
                let mut gone = Vec::new();
                for digest in [photo, signature].into_iter().flatten() {
                    let done = sqlx::query(
                        "DELETE FROM blobs WHERE digest = ?1 AND NOT EXISTS ( \
                           SELECT 1 FROM applications o WHERE o.id <> ?2 \
                             AND (json_extract(o.data, '$.photo') = ?1 OR json_extract(o.data, '$.signature') = ?1) \
                             AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = o.id))",
                    )
                    .bind(&digest)
                    .bind(&app)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    if done.rows_affected() > 0 {
                        deleted += done.rows_affected();
                        gone.push(digest.clone());
                        sqlx::query("DELETE FROM image_checks WHERE digest = ?")
                            .bind(&digest)
                            .execute(&mut *conn)
                            .await
                            .map_err(db_err)?;
                    }
                }
                sqlx::query("DELETE FROM notices WHERE application_id = ?")
                    .bind(&app)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                sqlx::query("INSERT INTO purged_applications (application_id, purged_at, images_deleted) VALUES (?, ?, ?)")
                    .bind(&app)
                    .bind(now.as_microsecond())
                    .bind(deleted as i64)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                commit_changes(conn, rows).await?;
                Ok((deleted, gone))
            })
        })
        .await?;
        self.vault.forget(&gone).await;
        Ok(deleted)
    }

    async fn otps_since(&self, iin: &Iin, since: Timestamp) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM otp_challenges WHERE iin = ? AND created_at >= ?",
        )
        .bind(iin.to_string())
        .bind(since.as_microsecond())
        .fetch_one(&self.readers)
        .await
        .map_err(db_err)?;
        count(n)
    }

    async fn application_counts(&self) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT region, state, COUNT(*) FROM applications GROUP BY region, state ORDER BY region, state",
        )
        .fetch_all(&self.readers)
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
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE status = ?")
            .bind(status.as_str())
            .fetch_one(&self.readers)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn outbox_backlog(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(&self.readers)
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
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivered_at IS NULL \
             AND (attempts >= ? OR created_at < ?) ORDER BY created_at, id LIMIT ?"
        ))
        .bind(i64::from(attempts_at_least))
        .bind(micros(created_before))
        .bind(limit(max))
        .fetch_all(&self.readers)
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
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL",
                )
                .bind(micros(now))
                .bind(id(message))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 1 {
                    commit_changes(conn, rows).await?;
                    return Ok(OutboxRetry::Rescheduled);
                }
                let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM outbox WHERE id = ?")
                    .bind(id(message))
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(match exists {
                    Some(_) => OutboxRetry::AlreadyDelivered,
                    None => OutboxRetry::Missing,
                })
            })
        })
        .await
    }

    async fn overdue_applications(
        &self,
        today: jiff::civil::Date,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(&format!(
            "SELECT data, version FROM applications \
             WHERE state IN {} AND due_date < ? \
             ORDER BY due_date, submitted_at, id LIMIT ?",
            codec::OVERDUE_STATES_SQL
        ))
        .bind(codec::date_text(today))
        .bind(limit(max))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn overdue_counts(&self, today: jiff::civil::Date) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(&format!(
            "SELECT region, state, COUNT(*) FROM applications \
             WHERE state IN {} AND due_date < ? GROUP BY region, state ORDER BY region, state",
            codec::OVERDUE_STATES_SQL
        ))
        .bind(codec::date_text(today))
        .fetch_all(&self.readers)
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
               FROM applications a WHERE a.state = ?) w \
             WHERE entered < ? ORDER BY entered, id LIMIT ?",
        )
        .bind(state.as_str())
        .bind(micros(entered_before))
        .bind(limit(max))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn activity_report(&self, period: &ReportPeriod) -> StoreResult<ActivityReport> {
        let (from, until) = (micros(period.from), micros(period.until));
        let offset = period.utc_offset.as_micros() as i64;
        let per_day: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (submitted_at + ?) / ? AS day, COUNT(*) FROM applications \
             WHERE submitted_at >= ? AND submitted_at < ? GROUP BY 1 ORDER BY 1",
        )
        .bind(offset)
        .bind(codec::DAY_MICROS)
        .bind(from)
        .bind(until)
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        let per_region: Vec<(String, i64)> = sqlx::query_as(
            "SELECT region, COUNT(*) FROM applications \
             WHERE submitted_at >= ? AND submitted_at < ? GROUP BY region ORDER BY region",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        let decisions: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(DECISION_TIMES_SQL)
            .bind(from)
            .bind(until)
            .fetch_all(&self.readers)
            .await
            .map_err(db_err)?;
        let reasons: Vec<(String, i64)> = sqlx::query_as(
            "SELECT json_extract(data, '$.kind.reason') AS reason, COUNT(*) FROM events \
             WHERE kind = 'annulled' AND at >= ? AND at < ? GROUP BY 1 ORDER BY 2 DESC, 1",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.readers)
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
        let row: (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE status = ?",
        )
        .bind(status.as_str())
        .fetch_one(&self.readers)
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
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = ? AND updated_at < ? \
             ORDER BY updated_at, id LIMIT ?"
        ))
        .bind(status.as_str())
        .bind(micros(updated_before))
        .bind(limit(max))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::payment)
    }

    async fn inbox(&self, iin: &Iin) -> StoreResult<Vec<Notice>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE iin = ? \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(iin.to_string())
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::notice)
    }

    async fn mark_notice_read(&self, iin: &Iin, notice: Uuid, now: Timestamp) -> StoreResult<bool> {
        let iin = iin.to_string();
        let now = micros(now);
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE notices SET read_at = COALESCE(read_at, ?) WHERE id = ? AND iin = ?",
                )
                .bind(now)
                .bind(id(notice))
                .bind(&iin)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn audit_entries(&self, max: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, details FROM audit_entries \
             ORDER BY at DESC, pos DESC LIMIT ?",
        )
        .bind(limit(max))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::audit)
    }
    async fn put_officer_credential(&self, c: &OfficerCredential) -> StoreResult<()> {
        let c = c.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "INSERT INTO officer_credentials (staff_id, fingerprint, certificate, \
                     sealed_key, bound_at) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (fingerprint) DO UPDATE SET sealed_key = excluded.sealed_key, \
                     bound_at = excluded.bound_at \
                     WHERE officer_credentials.staff_id = excluded.staff_id",
                )
                .bind(id(c.staff.0))
                .bind(&c.fingerprint)
                .bind(&c.certificate)
                .bind(&c.sealed_key)
                .bind(micros(c.bound_at))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                // The conflict update is skipped when the certificate is someone else's.
                if done.rows_affected() == 0 {
                    return Err(StoreError::Duplicate("certificate"));
                }
                Ok(())
            })
        })
        .await
    }

    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>> {
        sqlx::query(
            "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
             FROM officer_credentials WHERE staff_id = ? \
             ORDER BY bound_at DESC LIMIT 1",
        )
        .bind(id(staff.0))
        .fetch_optional(&self.readers)
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
             FROM officer_credentials WHERE fingerprint = ?",
        )
        .bind(fingerprint)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?
        .map(|r| codec::officer_credential(&r))
        .transpose()
    }

    async fn approval(&self, app: ApplicationId) -> StoreResult<Option<Approval>> {
        sqlx::query(
            "SELECT application_id, officer, method, document, signature, signed_at \
             FROM approvals WHERE application_id = ?",
        )
        .bind(id(app.0))
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?
        .map(|r| codec::approval(&r))
        .transpose()
    }

    async fn signature_checks(&self, app: ApplicationId) -> StoreResult<Vec<SignatureCheck>> {
        let rows = sqlx::query(
            "SELECT id, application_id, at, outcome, code, detail FROM signature_checks \
             WHERE application_id = ? ORDER BY at, id",
        )
        .bind(id(app.0))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::signature_check)
    }

    async fn audit_pending(&self, max: u32) -> StoreResult<Vec<ChainCandidate>> {
        let sql = format!(
            "SELECT x.source, x.source_pos, {CHAIN_ROW_COLUMNS} FROM audit_pending x \
             {CHAIN_ROW_JOINS} ORDER BY x.pos LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(limit(max))
            .fetch_all(&self.readers)
            .await
            .map_err(db_err)?;
        let candidates = decode_all(rows, codec::chain_candidate)?;
        Ok(candidates.into_iter().flatten().collect())
    }

    async fn audit_pending_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
            .fetch_one(&self.readers)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        sqlx::query("SELECT seq, at, data FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.readers)
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
        self.write(move |conn| {
            Box::pin(async move {
                for l in &links {
                    let seq = i64::try_from(l.seq)
                        .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
                    sqlx::query(
                        "INSERT INTO audit_chain (seq, source, source_pos, entry_hash, chain_hash) \
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(seq)
                    .bind(l.source.as_str())
                    .bind(l.source_pos)
                    .bind(&l.entry_hash[..])
                    .bind(&l.chain_hash[..])
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    let taken = sqlx::query(
                        "DELETE FROM audit_pending WHERE source = ? AND source_pos = ?",
                    )
                    .bind(l.source.as_str())
                    .bind(l.source_pos)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    if taken.rows_affected() != 1 {
                        return Err(StoreError::Duplicate("audit_chain"));
                    }
                }
                let seq = i64::try_from(checkpoint.seq)
                    .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
                sqlx::query("INSERT INTO audit_checkpoints (seq, at, data) VALUES (?, ?, ?)")
                    .bind(seq)
                    .bind(micros(checkpoint.at))
                    .bind(&checkpoint.data)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                Ok(())
            })
        })
        .await
    }

    async fn audit_chain(&self, after_seq: u64, max: u32) -> StoreResult<Vec<ChainEntry>> {
        let sql = format!(
            "SELECT x.seq, x.source, x.source_pos, x.entry_hash, x.chain_hash, \
             {CHAIN_ROW_COLUMNS} FROM audit_chain x {CHAIN_ROW_JOINS} \
             WHERE x.seq > ? ORDER BY x.seq LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(limit(max))
            .fetch_all(&self.readers)
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
            "SELECT seq, at, data FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
        .bind(limit(max))
        .fetch_all(&self.readers)
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
             LIMIT ?",
        )
        .bind(limit(max))
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::chain_source_row)
    }
}
