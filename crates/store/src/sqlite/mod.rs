//! The embedded store: one SQLite file, durable writes with group commit.
//!
//! # Design
//!
//! **Durability.** The file runs in WAL mode with `synchronous=FULL`: when a write returns
//! `Ok`, its transaction's WAL frames have been fsync'ed, so a 2xx survives a power cut.
//! Foreign keys are on, and every connection waits (busy timeout) rather than failing at once
//! when another process holds the lock.
//!
//! **SQLite is called directly** (rusqlite), not through an async driver. An async SQLite
//! driver runs each connection on a thread of its own and passes every statement and every
//! row across threads; under load that cost more CPU in thread switches than SQLite spent
//! executing (see docs/PERFORMANCE.md, "Peak day"). Here a whole job or a whole read runs
//! on one thread, statements are prepared once per connection and cached.
//!
//! **Group commit.** An fsync per request would cap the service at a few hundred writes a
//! second, so writes are batched instead of made weaker: every write — [`Store::commit`] and
//! all the small ones (sessions, OTPs, outbox leases, …) — is a job for the one writer thread,
//! which commits whatever is queued in one transaction, each job in its own savepoint, and
//! answers each job only once the batch is on disk (`writer.rs`).
//!
//! Values are encoded (JSON, digests checked) on the caller's task before the job is sent, so
//! the writer only binds and executes.
//!
//! **Reads** use separate read-only connections, kept in a small pool (one is opened when
//! none is free). In WAL mode readers never block the writer nor wait for it, and they see
//! every transaction committed before they start. A *lookup* — by key or index, bounded by
//! a key or a `LIMIT` — runs on the calling task: it takes microseconds from the page cache,
//! less than handing it to another thread would cost. A *scan* (reports, counts over whole
//! tables, maintenance lists, backups) runs on Tokio's blocking pool so it never holds up
//! the async workers.
//!
//! **Bulk loads.** [`Store::put_people`] sends jobs of [`PEOPLE_PER_JOB`] people, each an
//! `INSERT … ON CONFLICT (iin) DO UPDATE` per person with one prepared statement, and encodes
//! the next job while the writer runs the previous one. A load is not one transaction: each
//! job commits on its own (and other writes go on between them); re-running a failed load is
//! safe, as it is an upsert.
//!
//! Migrations are sqlx's (`migrations/sqlite`, the `_sqlx_migrations` table), run on a
//! connection of their own before the store opens its connections.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, Params, Row};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::Connection as _;
use tokio::sync::oneshot;
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::DocumentKind;
use kuelik_core::iin::Iin;
use kuelik_core::issuance::DocumentRecord;
use kuelik_core::lifecycle::{ApplicationId, ApplicationState, Event, StaffId};
use kuelik_core::register::Person;
use kuelik_core::ticket::TicketNumber;

use crate::codec::{self, limit, lite_err, micros, AppRow, ChangeRows, PersonRow};
use writer::{writer_gone, Writer};

mod writer;
use crate::{
    ActivityReport, ApplicationCount, Approval, AuditEntry, AuditQuery, AuditRecord, Blob,
    ChainCandidate, ChainEntry, ChainLink, ChainSource, Changes, ContactDetails, IdempotencyRecord,
    ImageCheck, Notice, OfficerCredential, OtpChallenge, OtpPurpose, OutboxMessage, OutboxRetry,
    PaymentRecord, PaymentStatus, PaymentTotals, QueueFilter, RegisterPhoto, ReportPeriod,
    RuleActivation, Session, SignatureCheck, StaffAccount, Store, StoreError, StoreResult,
    StoredApplication, StoredCheckpoint, TimelineEntry, SAME_PHOTO_LIMIT,
};

pub use writer::MAX_BATCH;
/// People per job of [`Store::put_people`].
pub const PEOPLE_PER_JOB: usize = 20_000;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle read connections kept open; more are opened when needed and closed when returned.
const IDLE_READERS: usize = 8;
/// Prepared statements each connection keeps (the store has fewer distinct statements).
const STATEMENT_CACHE: usize = 128;

/// The SQLite implementation of [`Store`]. See the module documentation for its design.
///
/// Clones share the writer thread and the readers; the writer stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
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

/// Read-only connections to the database file.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn open(&self) -> StoreResult<Connection> {
        connect(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    fn with<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }
}

/// A connection to the database file, as every connection of the store is set up: used by
/// one thread at a time (no SQLite mutex), waiting on a lock rather than failing, statements
/// cached.
fn connect(path: &Path, access: OpenFlags) -> StoreResult<Connection> {
    let open_err = |e: rusqlite::Error| StoreError::Open(format!("{}: {e}", path.display()));
    let conn = Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens the write connection with the store's settings.
fn open_writer(path: &Path) -> StoreResult<Connection> {
    let open_err = |e: rusqlite::Error| StoreError::Open(format!("{}: {e}", path.display()));
    let conn = connect(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        .map_err(open_err)?;
    // The journal mode is a property of the file; check that it took.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(open_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open(format!(
            "{}: journal mode is {mode}, not wal",
            path.display()
        )));
    }
    Ok(conn)
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
            .ok_or_else(|| StoreError::Open(format!("{} is not a UTF-8 path", dest.display())))?
            .to_string();
        self.scan(move |c| {
            c.execute("VACUUM INTO ?", [target])
                .map(|_| ())
                .map_err(lite_err)
        })
        .await?;
        std::fs::metadata(dest)
            .map(|m| m.len())
            .map_err(|e| StoreError::Open(format!("{}: {e}", dest.display())))
    }

    /// Checks that `path` is a sound kuelik database (SQLite integrity check, migrations
    /// table present) without changing it: what `kuelik restore` checks before using it.
    pub async fn check_backup(path: &Path) -> StoreResult<()> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || check_backup_file(&path))
            .await
            .map_err(|e| StoreError::Database(format!("the backup check panicked: {e}")))?
    }

    /// Opens (creating if missing) the database at `path`, applies the migrations that are
    /// not applied yet and starts the writer thread. Must be called inside a Tokio runtime.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let open_err = |e: sqlx::Error| StoreError::Open(format!("{}: {e}", path.display()));
        let options = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(open_err)?;
        migrate(&mut conn)
            .await
            .map_err(|e| StoreError::Open(format!("{}: migrations: {e}", path.display())))?;
        conn.close().await.map_err(open_err)?;

        let writer_path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || open_writer(&writer_path))
            .await
            .map_err(|e| StoreError::Open(format!("opening the writer panicked: {e}")))??;
        let writer = Writer::start(conn)?;
        let readers = Arc::new(Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        });
        // Fail at open, not at the first read, if the file cannot be read.
        readers.with(|_| Ok(()))?;
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
            let text = |name: &str| -> StoreResult<String> {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                    .map_err(lite_err)
            };
            let int = |name: &str| -> StoreResult<i64> {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                    .map_err(lite_err)
            };
            Ok(WriterSettings {
                journal_mode: text("journal_mode")?,
                synchronous: match int("synchronous")? {
                    0 => "off",
                    1 => "normal",
                    2 => "full",
                    3 => "extra",
                    _ => "unknown",
                },
                foreign_keys: int("foreign_keys")? == 1,
                busy_timeout_ms: int("busy_timeout")?,
            })
        })
        .await
    }

    /// Queues a job for the writer; the returned receiver answers once its batch committed.
    async fn submit<T, F>(&self, work: F) -> StoreResult<oneshot::Receiver<StoreResult<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.submit(work).await
    }

    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// A lookup, on the calling task (see the module documentation).
    fn lookup<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.readers.with(read)
    }

    /// A scan, on Tokio's blocking pool.
    async fn scan<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(read))
            .await
            .map_err(|e| StoreError::Database(format!("a database read panicked: {e}")))?
    }
}

fn check_backup_file(path: &Path) -> StoreResult<()> {
    let open_err = |e: rusqlite::Error| StoreError::Open(format!("{}: {e}", path.display()));
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(open_err)?;
    if integrity != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{}: {integrity}",
            path.display()
        )));
    }
    let migrations: i64 = conn
        .query_row("SELECT COUNT(*) FROM _sqlx_migrations", [], |r| r.get(0))
        .map_err(|_| StoreError::Open(format!("{} is not a kuelik database", path.display())))?;
    if migrations == 0 {
        return Err(StoreError::Open(format!(
            "{} has no kuelik schema",
            path.display()
        )));
    }
    Ok(())
}

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Boxed so that the future of [`SqliteStore::open`] is `Send` for every lifetime (the
/// generic `Migrator::run` otherwise defeats the compiler's proof).
fn migrate(
    conn: &mut SqliteConnection,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), MigrateError>> + Send + '_>> {
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

// ---------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------

/// Runs a statement (prepared once per connection); the number of rows it changed.
fn execute(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(lite_err)
}

/// The first row a query returns, decoded, or `None`.
fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_err)?;
    let mut rows = statement.query(params).map_err(lite_err)?;
    match rows.next().map_err(lite_err)? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// Every row a query returns, decoded.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_err)?;
    let mut rows = statement.query(params).map_err(lite_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(lite_err)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// A column by position (aggregates and tuples).
fn col<T: rusqlite::types::FromSql>(row: &Row<'_>, i: usize) -> StoreResult<T> {
    row.get(i).map_err(lite_err)
}

fn count_of(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<u64> {
    let n: i64 = query_opt(conn, sql, params, |r| col(r, 0))?.unwrap_or(0);
    count(n)
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

fn upsert_people(conn: &Connection, rows: Vec<PersonRow>) -> StoreResult<u64> {
    for p in &rows {
        execute(
            conn,
            "INSERT INTO people (iin, region, data) VALUES (?, ?, ?) \
             ON CONFLICT (iin) DO UPDATE SET region = excluded.region, data = excluded.data",
            params![p.iin, p.region, p.data],
        )?;
    }
    Ok(rows.len() as u64)
}

fn write_application(conn: &Connection, a: &AppRow) -> StoreResult<()> {
    match a.expected_version {
        None => {
            execute(
                conn,
                "INSERT INTO applications (id, applicant, region, registration_point, state, \
                 ticket, due_date, submitted_at, taken_at, reviewer, created_at, version, data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                params![
                    id(a.id),
                    a.applicant,
                    a.region,
                    a.registration_point,
                    a.state,
                    a.ticket,
                    a.due_date,
                    a.submitted_at,
                    a.taken_at,
                    opt_id(a.reviewer),
                    a.created_at,
                    a.data,
                ],
            )?;
        }
        Some(expected) => {
            let done = execute(
                conn,
                "UPDATE applications SET applicant = ?, region = ?, registration_point = ?, \
                 state = ?, ticket = ?, due_date = ?, submitted_at = ?, taken_at = ?, \
                 reviewer = ?, data = ?, version = version + 1 \
                 WHERE id = ? AND version = ?",
                params![
                    a.applicant,
                    a.region,
                    a.registration_point,
                    a.state,
                    a.ticket,
                    a.due_date,
                    a.submitted_at,
                    a.taken_at,
                    opt_id(a.reviewer),
                    a.data,
                    id(a.id),
                    expected,
                ],
            )?;
            if done != 1 {
                return Err(StoreError::Conflict);
            }
        }
    }
    Ok(())
}

/// A hand-over's effect on the person: the document records, and the person's current
/// document in the register's copy.
fn write_documents(conn: &Connection, c: &ChangeRows) -> StoreResult<()> {
    for d in &c.documents {
        execute(
            conn,
            "INSERT INTO documents (kind, number, holder, issued_on, last_valid_day, issued_for, \
             status, reason, invalidated_at, invalidated_by, old_card) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (kind, number) DO UPDATE SET status = excluded.status, \
             reason = excluded.reason, invalidated_at = excluded.invalidated_at, \
             invalidated_by = excluded.invalidated_by, old_card = excluded.old_card, \
             issued_for = COALESCE(documents.issued_for, excluded.issued_for)",
            params![
                d.kind,
                d.number,
                d.holder,
                d.issued_on,
                d.last_valid_day,
                opt_id(d.issued_for),
                d.status,
                d.reason,
                d.invalidated_at,
                opt_id(d.invalidated_by),
                d.old_card,
            ],
        )?;
    }
    for (iin, document) in &c.current_documents {
        let done = execute(
            conn,
            "UPDATE people SET data = json_set(data, '$.document', json(?)) WHERE iin = ?",
            params![document, iin],
        )?;
        if done != 1 {
            // The person left the register since the hand-over read them.
            return Err(StoreError::Conflict);
        }
    }
    Ok(())
}

/// Staff accounts, reminder choices and officers' certificates: each with the audit entry
/// of whoever made it, in the same commit.
fn write_staff(conn: &Connection, c: &ChangeRows) -> StoreResult<()> {
    for s in &c.staff {
        execute(
            conn,
            "INSERT INTO staff (id, username, role, region, point, active, created_at, \
             data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                id(s.id),
                s.username,
                s.role,
                s.region,
                s.point,
                s.active,
                s.created_at,
                s.data
            ],
        )?;
    }
    for (iin, opt_out, at) in &c.reminder_choices {
        if *opt_out {
            execute(
                conn,
                "INSERT INTO reminder_opt_outs (iin, at) VALUES (?, ?) \
                 ON CONFLICT (iin) DO NOTHING",
                params![iin, at],
            )?;
        } else {
            execute(conn, "DELETE FROM reminder_opt_outs WHERE iin = ?", [iin])?;
        }
    }
    for c in &c.officer_credentials {
        let done = execute(
            conn,
            "INSERT INTO officer_credentials (staff_id, fingerprint, certificate, \
             sealed_key, bound_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (fingerprint) DO UPDATE SET sealed_key = excluded.sealed_key, \
             bound_at = excluded.bound_at \
             WHERE officer_credentials.staff_id = excluded.staff_id",
            params![
                id(c.staff.0),
                c.fingerprint,
                c.certificate,
                c.sealed_key,
                micros(c.bound_at)
            ],
        )?;
        // The conflict update is skipped when the certificate is someone else's.
        if done == 0 {
            return Err(StoreError::Duplicate("certificate"));
        }
    }
    Ok(())
}

fn commit_changes(conn: &Connection, c: ChangeRows) -> StoreResult<()> {
    if let Some(a) = &c.application {
        write_application(conn, a)?;
    }
    for e in &c.events {
        execute(
            conn,
            "INSERT INTO events (application_id, kind, from_state, to_state, actor_role, \
             actor_staff, at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                id(e.application_id),
                e.kind,
                e.from_state,
                e.to_state,
                e.actor_role,
                opt_id(e.actor_staff),
                e.at,
                e.data,
            ],
        )?;
    }
    for b in &c.blobs {
        execute(
            conn,
            "INSERT INTO blobs (digest, content_type, size, bytes, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            params![b.digest, b.content_type, b.size, b.bytes, b.created_at],
        )?;
    }
    for p in &c.payments {
        execute(
            conn,
            "INSERT INTO payments (id, application_id, payer, amount, status, \
             gateway_reference, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, \
             status = excluded.status, gateway_reference = excluded.gateway_reference, \
             updated_at = excluded.updated_at",
            params![
                id(p.id),
                id(p.application_id),
                p.payer,
                p.amount,
                p.status,
                p.gateway_reference,
                p.created_at,
                p.updated_at,
            ],
        )?;
    }
    for m in &c.outbox {
        execute(
            conn,
            "INSERT INTO outbox (id, topic, payload, created_at, attempts, next_attempt_at, \
             delivered_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                id(m.id),
                m.topic,
                m.payload,
                m.created_at,
                m.attempts,
                m.next_attempt_at,
                m.delivered_at,
                m.last_error,
            ],
        )?;
    }
    for a in &c.audit {
        execute(
            conn,
            "INSERT INTO audit_entries (id, at, actor_role, actor, action, target, details) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![
                id(a.id),
                a.at,
                a.actor_role,
                a.actor,
                a.action,
                a.target,
                a.details
            ],
        )?;
    }
    for (digest, kind, verdict, phash, report, at) in &c.image_checks {
        execute(
            conn,
            "INSERT INTO image_checks (digest, kind, verdict, perceptual_hash, report, checked_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET \
             kind = excluded.kind, verdict = excluded.verdict, perceptual_hash = excluded.perceptual_hash, \
             report = excluded.report, checked_at = excluded.checked_at",
            params![digest, kind, verdict, phash, report, at],
        )?;
    }
    for (iin, last_valid_day, sent_at) in &c.reminders {
        execute(
            conn,
            "INSERT INTO reminders (iin, last_valid_day, sent_at) VALUES (?, ?, ?)",
            params![iin, last_valid_day, sent_at],
        )?;
    }
    if let Some(a) = &c.approval {
        execute(
            conn,
            "INSERT INTO approvals (application_id, officer, method, document, signature, \
             signed_at) VALUES (?, ?, ?, ?, ?, ?)",
            params![
                id(a.application_id),
                id(a.officer),
                a.method,
                a.document,
                a.signature,
                a.signed_at,
            ],
        )?;
    }
    for p in &c.register_photos {
        execute(
            conn,
            "INSERT INTO register_photos (iin, document_number, content_type, bytes) \
             VALUES (?, ?, ?, ?) ON CONFLICT (iin) DO UPDATE SET \
             document_number = excluded.document_number, \
             content_type = excluded.content_type, bytes = excluded.bytes",
            params![
                p.iin.to_string(),
                p.document_number,
                p.content_type,
                p.bytes
            ],
        )?;
    }
    for (iin, phone, language, at) in &c.contacts {
        execute(
            conn,
            "INSERT INTO contact_details (iin, phone, language, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (iin) DO UPDATE SET phone = excluded.phone, \
             language = excluded.language, updated_at = excluded.updated_at",
            params![iin, phone, language, at],
        )?;
    }
    for (aid, version, from, by, at) in &c.rule_activations {
        execute(
            conn,
            "INSERT INTO rule_activations (id, version, active_from, activated_by, activated_at) \
             VALUES (?, ?, ?, ?, ?)",
            params![id(*aid), version, from, id(*by), at],
        )?;
    }
    write_documents(conn, &c)?;
    write_staff(conn, &c)?;
    for k in &c.signature_checks {
        execute(
            conn,
            "INSERT INTO signature_checks (id, application_id, at, outcome, code, detail) \
             VALUES (?, ?, ?, ?, ?, ?)",
            params![
                id(k.id),
                id(k.application_id),
                k.at,
                k.outcome,
                k.code,
                k.detail
            ],
        )?;
    }
    if let Some(r) = &c.idempotency {
        execute(
            conn,
            "INSERT INTO idempotency (scope, idempotency_key, request_digest, status, body, \
             created_at) VALUES (?, ?, ?, ?, ?, ?)",
            params![
                r.scope,
                r.key,
                r.request_digest,
                r.status,
                r.body,
                r.created_at
            ],
        )?;
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
            let next = self.submit(move |conn| upsert_people(conn, rows)).await?;
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
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data FROM people WHERE iin = ?",
                [iin.to_string()],
                |r| codec::person(r),
            )
        })
    }

    async fn count_people(&self) -> StoreResult<u64> {
        self.scan(|c| count_of(c, "SELECT COUNT(*) FROM people", []))
            .await
    }

    async fn staff(&self, staff: StaffId) -> StoreResult<Option<StaffAccount>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data FROM staff WHERE id = ?",
                [id(staff.0)],
                |r| codec::staff(r),
            )
        })
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data FROM staff WHERE username = ?",
                [username],
                |r| codec::staff(r),
            )
        })
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>> {
        self.scan(|c| {
            query_all(c, "SELECT data FROM staff ORDER BY username", [], |r| {
                codec::staff(r)
            })
        })
        .await
    }

    async fn put_otp(&self, otp: &OtpChallenge) -> StoreResult<()> {
        let o = codec::otp_row(otp)?;
        self.write(move |conn| {
            execute(
                conn,
                "INSERT INTO otp_challenges (id, iin, purpose, code_hash, created_at, \
                 expires_at, attempts, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    id(o.id),
                    o.iin,
                    o.purpose,
                    o.code_hash,
                    o.created_at,
                    o.expires_at,
                    o.attempts,
                    o.consumed_at
                ],
            )
            .map(|_| ())
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
            let sql = format!(
                "UPDATE otp_challenges SET attempts = attempts + 1 \
                 WHERE id = ? AND attempts < ? AND consumed_at IS NULL AND expires_at > ? \
                 RETURNING {OTP_COLUMNS}"
            );
            query_opt(
                conn,
                &sql,
                params![id(otp), i64::from(max_attempts), now],
                |r| codec::otp(r),
            )
        })
        .await
    }

    async fn consume_otp(&self, otp: Uuid, now: Timestamp) -> StoreResult<bool> {
        let now = micros(now);
        self.write(move |conn| {
            let done = execute(
                conn,
                "UPDATE otp_challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL",
                params![now, id(otp)],
            )?;
            Ok(done == 1)
        })
        .await
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let s = codec::session_row(session)?;
        self.write(move |conn| {
            execute(
                conn,
                "INSERT INTO sessions (token_hash, subject, created_at, expires_at) \
                 VALUES (?, ?, ?, ?)",
                params![s.token_hash, s.subject, s.created_at, s.expires_at],
            )
            .map(|_| ())
        })
        .await
    }

    async fn session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Session>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT token_hash, subject, created_at, expires_at FROM sessions \
                 WHERE token_hash = ? AND expires_at > ?",
                params![token_hash, micros(now)],
                |r| codec::session(r),
            )
        })
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |conn| {
            execute(
                conn,
                "DELETE FROM sessions WHERE token_hash = ?",
                [token_hash],
            )
            .map(|_| ())
        })
        .await
    }

    async fn commit(&self, changes: Changes) -> StoreResult<()> {
        let mut rows = codec::changes(&changes)?;
        for b in &mut rows.blobs {
            b.bytes = self.vault.put(&b.digest, &b.bytes).await?;
        }
        self.write(move |conn| commit_changes(conn, rows)).await
    }

    async fn application(&self, app: ApplicationId) -> StoreResult<Option<StoredApplication>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data, version FROM applications WHERE id = ?",
                [id(app.0)],
                |r| codec::application(r),
            )
        })
    }

    async fn application_by_ticket(
        &self,
        ticket: &TicketNumber,
    ) -> StoreResult<Option<StoredApplication>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data, version FROM applications WHERE ticket = ?",
                [ticket.compact()],
                |r| codec::application(r),
            )
        })
    }

    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>> {
        self.lookup(|c| {
            query_all(
                c,
                "SELECT data, version FROM applications WHERE applicant = ? \
                 ORDER BY created_at DESC, id DESC",
                [iin.to_string()],
                |r| codec::application(r),
            )
        })
    }

    async fn history(&self, app: ApplicationId) -> StoreResult<Vec<Event>> {
        self.lookup(|c| {
            query_all(
                c,
                "SELECT data FROM events WHERE application_id = ? ORDER BY seq",
                [id(app.0)],
                |r| codec::event(r),
            )
        })
    }

    async fn timeline(&self, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
        self.lookup(|c| {
            query_all(
                c,
                "SELECT kind, from_state, to_state, actor_role, at FROM events \
                 WHERE application_id = ? ORDER BY seq",
                [id(app.0)],
                |r| codec::timeline_entry(r),
            )
        })
    }

    async fn work_queue(
        &self,
        filter: &QueueFilter,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let mut sql = String::from("SELECT data, version FROM applications WHERE state = ?");
        let mut values = vec![Value::from(filter.state.as_str().to_string())];
        if let Some(region) = filter.region {
            sql.push_str(" AND region = ?");
            values.push(Value::from(region.to_string()));
        }
        if let Some(point) = &filter.point {
            sql.push_str(" AND registration_point = ?");
            values.push(Value::from(point.to_string()));
        }
        if let Some(before) = filter.taken_before {
            sql.push_str(" AND taken_at < ?");
            values.push(Value::from(micros(before)));
        }
        sql.push_str(
            " ORDER BY due_date ASC NULLS LAST, submitted_at ASC NULLS LAST, id ASC LIMIT ?",
        );
        values.push(Value::from(limit(max)));
        // Indexed on (region, state) and bounded by the page size: a lookup.
        self.lookup(|c| query_all(c, &sql, params_from_iter(values), |r| codec::application(r)))
    }

    async fn blob(&self, digest: &Sha256Digest) -> StoreResult<Option<Blob>> {
        let blob = self.lookup(|c| {
            query_opt(
                c,
                "SELECT digest, content_type, bytes, created_at FROM blobs WHERE digest = ?",
                [digest.to_string()],
                |r| codec::blob(r),
            )
        })?;
        match blob {
            Some(mut blob) => {
                blob.bytes = self.vault.get(&blob.digest.to_string(), blob.bytes).await?;
                Ok(Some(blob))
            }
            None => Ok(None),
        }
    }

    async fn payment(&self, payment: Uuid) -> StoreResult<Option<PaymentRecord>> {
        self.lookup(|c| {
            query_opt(
                c,
                &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?"),
                [id(payment)],
                |r| codec::payment(r),
            )
        })
    }

    async fn payment_by_reference(&self, reference: &str) -> StoreResult<Option<PaymentRecord>> {
        self.lookup(|c| {
            query_opt(
                c,
                &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE gateway_reference = ?"),
                [reference],
                |r| codec::payment(r),
            )
        })
    }

    async fn payments_of(&self, app: ApplicationId) -> StoreResult<Vec<PaymentRecord>> {
        self.lookup(|c| {
            query_all(
                c,
                &format!(
                    "SELECT {PAYMENT_COLUMNS} FROM payments WHERE application_id = ? \
                     ORDER BY created_at, id"
                ),
                [id(app.0)],
                |r| codec::payment(r),
            )
        })
    }

    async fn payments_in(
        &self,
        status: PaymentStatus,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = ? \
                     ORDER BY created_at, id LIMIT ?"
                ),
                params![status.as_str(), limit(max)],
                |r| codec::payment(r),
            )
        })
        .await
    }

    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT scope, idempotency_key, request_digest, status, body, created_at \
                 FROM idempotency WHERE scope = ? AND idempotency_key = ?",
                [scope, key],
                |r| codec::idempotency(r),
            )
        })
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
                let sql = format!(
                    "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox \
                         WHERE delivered_at IS NULL AND next_attempt_at <= ? \
                         ORDER BY next_attempt_at, created_at, id LIMIT ?) \
                     RETURNING {OUTBOX_COLUMNS}"
                );
                query_all(conn, &sql, params![until, now, limit(max)], |r| {
                    codec::outbox(r)
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
            execute(
                conn,
                "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
                params![now, id(message)],
            )?;
            if let Some(n) = notice {
                execute(
                    conn,
                    &format!(
                        "INSERT INTO notices ({NOTICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (id) DO NOTHING"
                    ),
                    params![
                        id(n.id),
                        n.iin,
                        opt_id(n.application_id),
                        n.kind,
                        n.message,
                        n.created_at,
                        n.read_at
                    ],
                )?;
            }
            Ok(())
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
            execute(
                conn,
                "UPDATE outbox SET last_error = ?, next_attempt_at = ? \
                 WHERE id = ? AND delivered_at IS NULL",
                params![error, next, id(message)],
            )
            .map(|_| ())
        })
        .await
    }

    async fn people_to_remind(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> StoreResult<Vec<Person>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.scan(move |c| {
            query_all(
                c,
                "SELECT p.data FROM people p \
                 WHERE p.last_valid_day BETWEEN ? AND ? \
                   AND NOT EXISTS (SELECT 1 FROM reminders r \
                                   WHERE r.iin = p.iin AND r.last_valid_day = p.last_valid_day) \
                   AND NOT EXISTS (SELECT 1 FROM reminder_opt_outs o WHERE o.iin = p.iin) \
                   AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.applicant = p.iin \
                                   AND a.state NOT IN ('issued', 'annulled', 'withdrawn')) \
                 ORDER BY p.last_valid_day, p.iin LIMIT ?",
                params![from, to, i64::from(limit)],
                |r| codec::person(r),
            )
        })
        .await
    }

    async fn reminder_opted_out(&self, iin: &Iin) -> StoreResult<bool> {
        let n = self.lookup(|c| {
            count_of(
                c,
                "SELECT COUNT(*) FROM reminder_opt_outs WHERE iin = ?",
                [iin.to_string()],
            )
        })?;
        Ok(n > 0)
    }

    async fn contact_details(&self, iin: &Iin) -> StoreResult<Option<ContactDetails>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT iin, phone, language, updated_at FROM contact_details WHERE iin = ?",
                [iin.to_string()],
                |r| codec::contact(r),
            )
        })
    }

    async fn documents_of(&self, iin: &Iin) -> StoreResult<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE holder = ? ORDER BY issued_on DESC, number",
            codec::DOCUMENT_COLUMNS
        );
        self.lookup(|c| query_all(c, &sql, [iin.to_string()], |r| codec::document(r)))
    }

    async fn document(
        &self,
        kind: DocumentKind,
        number: &str,
    ) -> StoreResult<Option<DocumentRecord>> {
        let sql = format!(
            "SELECT {} FROM documents WHERE kind = ? AND number = ?",
            codec::DOCUMENT_COLUMNS
        );
        let params = [kind.as_str().to_string(), number.to_string()];
        if let Some(record) = self.lookup(|c| query_opt(c, &sql, params, |r| codec::document(r)))? {
            return Ok(Some(record));
        }
        let people = self.lookup(|c| {
            query_all(
                c,
                "SELECT data FROM people WHERE json_extract(data, '$.document.number') = ? \
                 LIMIT 2",
                [number.to_string()],
                |r| codec::person(r),
            )
        })?;
        Ok(people
            .iter()
            .find(|p| p.document.kind == kind)
            .map(codec::register_document))
    }

    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>> {
        self.lookup(|c| {
            query_all(
                c,
                "SELECT id, version, active_from, activated_by, activated_at FROM rule_activations \
                 ORDER BY activated_at, id",
                [],
                |r| codec::rule_activation(r),
            )
        })
    }

    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT digest, kind, verdict, perceptual_hash, report, checked_at \
                 FROM image_checks WHERE digest = ?",
                [digest.to_string()],
                |r| codec::image_check(r),
            )
        })
    }

    async fn applications_with_photo_hash(
        &self,
        perceptual_hash: u64,
        excluding: &Iin,
    ) -> StoreResult<Vec<ApplicationId>> {
        // Two indexed steps (the photos with this hash, then the applications with each
        // photo), each bounded: a flag needs a few examples, not every match.
        let excluding = excluding.to_string();
        let mut found: Vec<(i64, String)> = self.lookup(|c| {
            let digests: Vec<String> = query_all(
                c,
                "SELECT digest FROM image_checks WHERE perceptual_hash = ? LIMIT 64",
                [format!("{perceptual_hash:016x}")],
                |r| col(r, 0),
            )?;
            let mut found = Vec::new();
            for digest in digests {
                found.extend(query_all(
                    c,
                    "SELECT created_at, id FROM applications \
                     WHERE json_extract(data, '$.photo') = ? AND applicant <> ? LIMIT 20",
                    [&digest, &excluding],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?);
            }
            Ok(found)
        })?;
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
        let ids: Vec<String> = self
            .scan(move |c| {
                query_all(
                    c,
                    "SELECT a.id FROM applications a \
                     WHERE a.state IN ('issued', 'annulled', 'withdrawn') \
                       AND NOT EXISTS (SELECT 1 FROM purged_applications p \
                                       WHERE p.application_id = a.id) \
                       AND (SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id) < ? \
                     ORDER BY a.created_at, a.id LIMIT ?",
                    params![before.as_microsecond(), i64::from(limit)],
                    |r| col(r, 0),
                )
            })
            .await?;
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
        let (deleted, gone) = self
            .write(move |conn| {
                let digests: Option<(Option<String>, Option<String>)> = query_opt(
                    conn,
                    "SELECT json_extract(data, '$.photo'), json_extract(data, '$.signature') \
                     FROM applications WHERE id = ?",
                    [&app],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?;
                let Some((photo, signature)) = digests else {
                    return Err(StoreError::Conflict);
                };
                let mut deleted = 0u64;
                let mut gone = Vec::new();
                for digest in [photo, signature].into_iter().flatten() {
                    let done = execute(
                        conn,
                        "DELETE FROM blobs WHERE digest = ?1 AND NOT EXISTS ( \
                           SELECT 1 FROM applications o WHERE o.id <> ?2 \
                             AND (json_extract(o.data, '$.photo') = ?1 \
                                  OR json_extract(o.data, '$.signature') = ?1) \
                             AND NOT EXISTS (SELECT 1 FROM purged_applications p \
                                             WHERE p.application_id = o.id))",
                        [&digest, &app],
                    )?;
                    if done > 0 {
                        deleted += done as u64;
                        gone.push(digest.clone());
                        execute(conn, "DELETE FROM image_checks WHERE digest = ?", [&digest])?;
                    }
                }
                execute(conn, "DELETE FROM notices WHERE application_id = ?", [&app])?;
                execute(
                    conn,
                    "INSERT INTO purged_applications (application_id, purged_at, images_deleted) \
                     VALUES (?, ?, ?)",
                    params![app, now.as_microsecond(), deleted as i64],
                )?;
                commit_changes(conn, rows)?;
                Ok((deleted, gone))
            })
            .await?;
        self.vault.forget(&gone).await;
        Ok(deleted)
    }

    async fn otps_since(
        &self,
        iin: &Iin,
        purpose: &OtpPurpose,
        since: Timestamp,
    ) -> StoreResult<u64> {
        self.lookup(|c| {
            count_of(
                c,
                "SELECT COUNT(*) FROM otp_challenges WHERE iin = ? AND created_at >= ? \
                 AND json_extract(purpose, '$.purpose') = ?",
                params![iin.to_string(), since.as_microsecond(), purpose.kind()],
            )
        })
    }

    async fn otp(&self, otp: Uuid) -> StoreResult<Option<OtpChallenge>> {
        self.lookup(|c| {
            let sql = format!("SELECT {OTP_COLUMNS} FROM otp_challenges WHERE id = ?");
            query_opt(c, &sql, params![id(otp)], |r| codec::otp(r))
        })
    }

    async fn application_counts(&self) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = self
            .scan(|c| {
                query_all(
                    c,
                    "SELECT region, state, COUNT(*) FROM applications \
                     GROUP BY region, state ORDER BY region, state",
                    [],
                    |r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)),
                )
            })
            .await?;
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
        self.scan(move |c| {
            count_of(
                c,
                "SELECT COUNT(*) FROM payments WHERE status = ?",
                [status.as_str()],
            )
        })
        .await
    }

    async fn outbox_backlog(&self) -> StoreResult<u64> {
        self.scan(|c| {
            count_of(
                c,
                "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL",
                [],
            )
        })
        .await
    }

    async fn outbox_stuck(
        &self,
        attempts_at_least: u32,
        created_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivered_at IS NULL \
                     AND (attempts >= ? OR created_at < ?) ORDER BY created_at, id LIMIT ?"
                ),
                params![
                    i64::from(attempts_at_least),
                    micros(created_before),
                    limit(max)
                ],
                |r| codec::outbox(r),
            )
        })
        .await
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
            let done = execute(
                conn,
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL",
                params![micros(now), id(message)],
            )?;
            if done == 1 {
                commit_changes(conn, rows)?;
                return Ok(OutboxRetry::Rescheduled);
            }
            let exists: Option<i64> = query_opt(
                conn,
                "SELECT 1 FROM outbox WHERE id = ?",
                [id(message)],
                |r| col(r, 0),
            )?;
            Ok(match exists {
                Some(_) => OutboxRetry::AlreadyDelivered,
                None => OutboxRetry::Missing,
            })
        })
        .await
    }

    async fn overdue_applications(
        &self,
        today: jiff::civil::Date,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT data, version FROM applications \
                     WHERE state IN {} AND due_date < ? \
                     ORDER BY due_date, submitted_at, id LIMIT ?",
                    codec::OVERDUE_STATES_SQL
                ),
                params![codec::date_text(today), limit(max)],
                |r| codec::application(r),
            )
        })
        .await
    }

    async fn overdue_counts(&self, today: jiff::civil::Date) -> StoreResult<Vec<ApplicationCount>> {
        let rows: Vec<(String, String, i64)> = self
            .scan(move |c| {
                query_all(
                    c,
                    &format!(
                        "SELECT region, state, COUNT(*) FROM applications \
                         WHERE state IN {} AND due_date < ? \
                         GROUP BY region, state ORDER BY region, state",
                        codec::OVERDUE_STATES_SQL
                    ),
                    [codec::date_text(today)],
                    |r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)),
                )
            })
            .await?;
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
        self.scan(move |c| {
            query_all(
                c,
                "SELECT data, version FROM ( \
                   SELECT a.id, a.data, a.version, \
                     (SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id \
                        AND e.to_state = a.state AND e.from_state <> e.to_state) AS entered \
                   FROM applications a WHERE a.state = ?) w \
                 WHERE entered < ? ORDER BY entered, id LIMIT ?",
                params![state.as_str(), micros(entered_before), limit(max)],
                |r| codec::application(r),
            )
        })
        .await
    }

    async fn activity_report(&self, period: &ReportPeriod) -> StoreResult<ActivityReport> {
        let (from, until) = (micros(period.from), micros(period.until));
        let offset = period.utc_offset.as_micros() as i64;
        let (per_day, per_region, decisions, reasons) = self
            .scan(move |c| {
                let per_day: Vec<(i64, i64)> = query_all(
                    c,
                    "SELECT (submitted_at + ?) / ? AS day, COUNT(*) FROM applications \
                     WHERE submitted_at >= ? AND submitted_at < ? GROUP BY 1 ORDER BY 1",
                    params![offset, codec::DAY_MICROS, from, until],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?;
                let per_region: Vec<(String, i64)> = query_all(
                    c,
                    "SELECT region, COUNT(*) FROM applications \
                     WHERE submitted_at >= ? AND submitted_at < ? GROUP BY region ORDER BY region",
                    params![from, until],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?;
                let decisions: Vec<(String, i64, i64, i64, i64)> =
                    query_all(c, DECISION_TIMES_SQL, params![from, until], |r| {
                        Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?, col(r, 4)?))
                    })?;
                let reasons: Vec<(String, i64)> = query_all(
                    c,
                    "SELECT json_extract(data, '$.kind.reason') AS reason, COUNT(*) FROM events \
                     WHERE kind = 'annulled' AND at >= ? AND at < ? GROUP BY 1 ORDER BY 2 DESC, 1",
                    params![from, until],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?;
                Ok((per_day, per_region, decisions, reasons))
            })
            .await?;
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
        let row: (i64, i64) = self
            .scan(move |c| {
                query_opt(
                    c,
                    "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE status = ?",
                    [status.as_str()],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )
                .map(|r| r.unwrap_or((0, 0)))
            })
            .await?;
        codec::payment_totals(row)
    }

    async fn payments_stale(
        &self,
        status: PaymentStatus,
        updated_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<PaymentRecord>> {
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT {PAYMENT_COLUMNS} FROM payments WHERE status = ? AND updated_at < ? \
                     ORDER BY updated_at, id LIMIT ?"
                ),
                params![status.as_str(), micros(updated_before), limit(max)],
                |r| codec::payment(r),
            )
        })
        .await
    }

    async fn inbox(&self, iin: &Iin) -> StoreResult<Vec<Notice>> {
        self.lookup(|c| {
            query_all(
                c,
                &format!(
                    "SELECT {NOTICE_COLUMNS} FROM notices WHERE iin = ? \
                     ORDER BY created_at DESC, id DESC"
                ),
                [iin.to_string()],
                |r| codec::notice(r),
            )
        })
    }

    async fn mark_notice_read(&self, iin: &Iin, notice: Uuid, now: Timestamp) -> StoreResult<bool> {
        let iin = iin.to_string();
        let now = micros(now);
        self.write(move |conn| {
            let done = execute(
                conn,
                "UPDATE notices SET read_at = COALESCE(read_at, ?) WHERE id = ? AND iin = ?",
                params![now, id(notice), iin],
            )?;
            Ok(done == 1)
        })
        .await
    }

    async fn register_photo(&self, iin: &Iin) -> StoreResult<Option<RegisterPhoto>> {
        let iin = iin.to_string();
        self.lookup(move |c| {
            query_opt(
                c,
                "SELECT iin, document_number, content_type, bytes FROM register_photos \
                 WHERE iin = ?",
                [iin],
                |r| codec::register_photo(r),
            )
        })
    }

    async fn audit_page(&self, query: &AuditQuery, max: u32) -> StoreResult<Vec<AuditRecord>> {
        let mut sql = String::from(
            "SELECT pos, id, at, actor, action, target, details FROM audit_entries WHERE 1 = 1",
        );
        let mut values: Vec<Value> = Vec::new();
        if let Some(before) = query.before {
            sql.push_str(" AND (at < ? OR (at = ? AND pos < ?))");
            values.extend([micros(before.at), micros(before.at), before.pos].map(Value::from));
        }
        if let Some(search) = &query.search {
            if search.is_empty() {
                return Ok(Vec::new());
            }
            let mut any = Vec::new();
            let list = |n: usize| vec!["?"; n].join(", ");
            if !search.targets.is_empty() {
                any.push(format!("target IN ({})", list(search.targets.len())));
                values.extend(search.targets.iter().cloned().map(Value::from));
            }
            if !search.staff.is_empty() {
                any.push(format!(
                    "json_extract(actor, '$.staff') IN ({})",
                    list(search.staff.len())
                ));
                values.extend(search.staff.iter().map(|s| Value::from(s.0.to_string())));
            }
            if let Some(iin) = &search.citizen {
                any.push("json_extract(actor, '$.iin') = ?".to_string());
                values.push(Value::from(iin.to_string()));
            }
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        sql.push_str(" ORDER BY at DESC, pos DESC LIMIT ?");
        values.push(Value::from(limit(max)));
        self.scan(move |c| {
            query_all(c, &sql, params_from_iter(values), |r| {
                codec::audit_record(r)
            })
        })
        .await
    }

    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
                 FROM officer_credentials WHERE staff_id = ? \
                 ORDER BY bound_at DESC LIMIT 1",
                [id(staff.0)],
                |r| codec::officer_credential(r),
            )
        })
    }

    async fn officer_credential_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<OfficerCredential>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
                 FROM officer_credentials WHERE fingerprint = ?",
                [fingerprint],
                |r| codec::officer_credential(r),
            )
        })
    }

    async fn approval(&self, app: ApplicationId) -> StoreResult<Option<Approval>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT application_id, officer, method, document, signature, signed_at \
                 FROM approvals WHERE application_id = ?",
                [id(app.0)],
                |r| codec::approval(r),
            )
        })
    }

    async fn signature_checks(&self, app: ApplicationId) -> StoreResult<Vec<SignatureCheck>> {
        self.lookup(|c| {
            query_all(
                c,
                "SELECT id, application_id, at, outcome, code, detail FROM signature_checks \
                 WHERE application_id = ? ORDER BY at, id",
                [id(app.0)],
                |r| codec::signature_check(r),
            )
        })
    }

    async fn audit_pending(&self, max: u32) -> StoreResult<Vec<ChainCandidate>> {
        let candidates = self
            .scan(move |c| {
                query_all(
                    c,
                    &format!(
                        "SELECT x.source, x.source_pos, {CHAIN_ROW_COLUMNS} FROM audit_pending x \
                         {CHAIN_ROW_JOINS} ORDER BY x.pos LIMIT ?"
                    ),
                    [limit(max)],
                    |r| codec::chain_candidate(r),
                )
            })
            .await?;
        Ok(candidates.into_iter().flatten().collect())
    }

    async fn audit_pending_count(&self) -> StoreResult<u64> {
        self.scan(|c| count_of(c, "SELECT COUNT(*) FROM audit_pending", []))
            .await
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT seq, at, data FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
                [],
                |r| codec::checkpoint(r),
            )
        })
    }

    async fn append_audit_chain(
        &self,
        links: Vec<ChainLink>,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            for l in &links {
                let seq = i64::try_from(l.seq)
                    .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
                execute(
                    conn,
                    "INSERT INTO audit_chain (seq, source, source_pos, entry_hash, chain_hash) \
                     VALUES (?, ?, ?, ?, ?)",
                    params![
                        seq,
                        l.source.as_str(),
                        l.source_pos,
                        &l.entry_hash[..],
                        &l.chain_hash[..]
                    ],
                )?;
                let taken = execute(
                    conn,
                    "DELETE FROM audit_pending WHERE source = ? AND source_pos = ?",
                    params![l.source.as_str(), l.source_pos],
                )?;
                if taken != 1 {
                    return Err(StoreError::Duplicate("audit_chain"));
                }
            }
            let seq = i64::try_from(checkpoint.seq)
                .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
            execute(
                conn,
                "INSERT INTO audit_checkpoints (seq, at, data) VALUES (?, ?, ?)",
                params![seq, micros(checkpoint.at), checkpoint.data],
            )
            .map(|_| ())
        })
        .await
    }

    async fn audit_chain(&self, after_seq: u64, max: u32) -> StoreResult<Vec<ChainEntry>> {
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT x.seq, x.source, x.source_pos, x.entry_hash, x.chain_hash, \
                     {CHAIN_ROW_COLUMNS} FROM audit_chain x {CHAIN_ROW_JOINS} \
                     WHERE x.seq > ? ORDER BY x.seq LIMIT ?"
                ),
                params![i64::try_from(after_seq).unwrap_or(i64::MAX), limit(max)],
                |r| codec::chain_entry(r),
            )
        })
        .await
    }

    async fn audit_checkpoints(
        &self,
        after_seq: u64,
        max: u32,
    ) -> StoreResult<Vec<StoredCheckpoint>> {
        self.scan(move |c| {
            query_all(
                c,
                "SELECT seq, at, data FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT ?",
                params![i64::try_from(after_seq).unwrap_or(i64::MAX), limit(max)],
                |r| codec::checkpoint(r),
            )
        })
        .await
    }

    async fn audit_unchained(&self, max: u32) -> StoreResult<Vec<(ChainSource, i64)>> {
        self.scan(move |c| {
            query_all(
                c,
                "SELECT 'event' AS source, seq AS source_pos FROM events e WHERE \
                   NOT EXISTS (SELECT 1 FROM audit_chain c \
                               WHERE c.source = 'event' AND c.source_pos = e.seq) \
                   AND NOT EXISTS (SELECT 1 FROM audit_pending p \
                                   WHERE p.source = 'event' AND p.source_pos = e.seq) \
                 UNION ALL \
                 SELECT 'audit', pos FROM audit_entries a WHERE \
                   NOT EXISTS (SELECT 1 FROM audit_chain c \
                               WHERE c.source = 'audit' AND c.source_pos = a.pos) \
                   AND NOT EXISTS (SELECT 1 FROM audit_pending p \
                                   WHERE p.source = 'audit' AND p.source_pos = a.pos) \
                 LIMIT ?",
                [limit(max)],
                |r| codec::chain_source_row(r),
            )
        })
        .await
    }
}
