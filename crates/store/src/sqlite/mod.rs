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
//! second, so writes are batched instead of made weaker: every write — [`crate::Transactions::commit`] and
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
//! **Bulk loads.** [`crate::PeopleStore::put_people`] sends jobs of [`PEOPLE_PER_JOB`] people, each an
//! `INSERT … ON CONFLICT (iin) DO UPDATE` per person with one prepared statement, and encodes
//! the next job while the writer runs the previous one. A load is not one transaction: each
//! job commits on its own (and other writes go on between them); re-running a failed load is
//! safe, as it is an upsert.
//!
//! Migrations are sqlx's (`migrations/sqlite`, the `_sqlx_migrations` table), run on a
//! connection of their own before the store opens its connections.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
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
use crate::sql;
use crate::{
    ApplicationStore, AuditStore, OutboxStore, PaymentStore, PeopleStore, ReportStore, StaffStore,
    Transactions,
};
use writer::{writer_gone, Writer};

mod writer;
use crate::{
    ActivityReport, ApplicationCount, ApplicationRecord, Approval, AuditEntry, AuditQuery,
    AuditRecord, Blob, ChainCandidate, ChainEntry, ChainLink, ChainReach, ChainSource, Changes,
    ContactDetails, IdempotencyRecord, ImageCheck, Notice, OfficerCredential, OtpChallenge,
    OtpPurpose, OutboxMessage, OutboxRetry, PaymentRecord, PaymentStatus, PaymentTotals,
    QueueFilter, RegisterPhoto, ReportPeriod, RuleActivation, SamePhoto, Session, SignatureCheck,
    SignedIn, SignedInRecord, StaffAccount, StoreError, StoreResult, StoredApplication,
    StoredCheckpoint, TimelineEntry, SAME_PHOTO_LIMIT,
};

pub use writer::MAX_BATCH;
/// People per job of [`crate::PeopleStore::put_people`].
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
    decode: impl FnOnce(&NamedRow<'_, '_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_err)?;
    let mut rows = statement.query(params).map_err(lite_err)?;
    match rows.next().map_err(lite_err)? {
        Some(row) => decode(&NamedRow::new(row, &column_names(row))).map(Some),
        None => Ok(None),
    }
}

/// Every row a query returns, decoded.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&NamedRow<'_, '_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(lite_err)?;
    let mut rows = statement.query(params).map_err(lite_err)?;
    let mut out = Vec::new();
    // Read from the first row, so that a query that finds nothing copies no names.
    let mut names = None;
    while let Some(row) = rows.next().map_err(lite_err)? {
        let names = names.get_or_insert_with(|| column_names(row));
        out.push(decode(&NamedRow::new(row, names))?);
    }
    Ok(out)
}

/// Runs `read` in one read transaction: its reads see one snapshot and take the file's read
/// lock once. `BEGIN` and `ROLLBACK` are prepared once per connection (rusqlite's own
/// transaction parses them on every read). A read that panics drops its connection (the pool
/// takes back only those that return), so none is left inside a transaction.
fn in_snapshot<T>(
    c: &Connection,
    read: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    let run = |sql: &str| {
        c.prepare_cached(sql)
            .and_then(|mut statement| statement.execute([]))
            .map_err(lite_err)
    };
    run("BEGIN")?;
    let result = read(c);
    // Read only: ending it either way releases the snapshot.
    let ended = run("ROLLBACK");
    let value = result?;
    ended?;
    Ok(value)
}

fn column_names(row: &Row<'_>) -> Vec<String> {
    row.as_ref()
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// A row of a query, with the query's column names read once. The codec asks for columns by
/// name, and rusqlite finds a name by fetching each column's name from SQLite again on every
/// call: a tenth of a status read's instructions (callgrind, docs/PERFORMANCE.md). Derefs to
/// the row for reads by position.
pub(crate) struct NamedRow<'a, 'r> {
    row: &'a Row<'r>,
    names: &'a [String],
}

impl<'a, 'r> NamedRow<'a, 'r> {
    fn new(row: &'a Row<'r>, names: &'a [String]) -> NamedRow<'a, 'r> {
        NamedRow { row, names }
    }

    /// The position of `column` (as SQLite names it; rusqlite's own case-blind search when
    /// the name is spelled otherwise).
    pub(crate) fn position(&self, column: &str) -> rusqlite::Result<usize> {
        match self.names.iter().position(|name| name == column) {
            Some(i) => Ok(i),
            None => self.row.as_ref().column_index(column),
        }
    }
}

impl<'r> std::ops::Deref for NamedRow<'_, 'r> {
    type Target = Row<'r>;

    fn deref(&self) -> &Row<'r> {
        self.row
    }
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
        Some(expected) => update_application(conn, a, expected)?,
    }
    Ok(())
}

/// The indexed columns of `applications`, in the order of [`indexed_values`].
const INDEXED_COLUMNS: [&str; 9] = [
    "applicant",
    "region",
    "registration_point",
    "state",
    "ticket",
    "due_date",
    "submitted_at",
    "taken_at",
    "reviewer",
];

fn indexed_values(a: &AppRow) -> [Value; 9] {
    [
        Value::from(a.applicant.clone()),
        Value::from(a.region.clone()),
        Value::from(a.registration_point.clone()),
        Value::from(a.state.to_string()),
        Value::from(a.ticket.clone()),
        Value::from(a.due_date.clone()),
        Value::from(a.submitted_at),
        Value::from(a.taken_at),
        Value::from(opt_id(a.reviewer)),
    ]
}

/// Updates an application if it is still at `expected` (else [`StoreError::Conflict`]),
/// naming in the `UPDATE` only the indexed columns whose value changes: SQLite rewrites the
/// entries of every index on a column an `UPDATE` names, changed or not, and an application
/// has eight indexes — a step that changes one column (most do) then touches one or two.
fn update_application(conn: &Connection, a: &AppRow, expected: i64) -> StoreResult<()> {
    static SELECT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {} FROM applications WHERE id = ? AND version = ?",
            INDEXED_COLUMNS.join(", ")
        )
    });
    let stored = query_opt(conn, &SELECT, params![id(a.id), expected], |r| {
        (0..INDEXED_COLUMNS.len())
            .map(|i| r.get::<_, Value>(i).map_err(lite_err))
            .collect::<StoreResult<Vec<Value>>>()
    })?;
    let Some(stored) = stored else {
        return Err(StoreError::Conflict);
    };
    let mut sql = String::from("UPDATE applications SET ");
    let mut values = Vec::new();
    for ((column, new), old) in INDEXED_COLUMNS.iter().zip(indexed_values(a)).zip(stored) {
        if new != old {
            sql.push_str(column);
            sql.push_str(" = ?, ");
            values.push(new);
        }
    }
    sql.push_str("data = ?, version = version + 1 WHERE id = ? AND version = ?");
    values.extend([
        Value::from(a.data.clone()),
        Value::from(id(a.id)),
        Value::from(expected),
    ]);
    // Few distinct column sets occur, so the statement cache keeps them all.
    let done = execute(conn, &sql, params_from_iter(values))?;
    if done != 1 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// A hand-over's effect on the person: the document records, and the person's current
/// document in the register's copy.
fn write_documents(conn: &Connection, c: &ChangeRows) -> StoreResult<()> {
    for d in &c.documents {
        execute(
            conn,
            sql::UPSERT_DOCUMENT,
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
            execute(conn, sql::INSERT_REMINDER_OPT_OUT, params![iin, at])?;
        } else {
            execute(conn, sql::DELETE_REMINDER_OPT_OUT, [iin])?;
        }
    }
    for c in &c.officer_credentials {
        let done = execute(
            conn,
            sql::UPSERT_OFFICER_CREDENTIAL,
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
            sql::INSERT_BLOB,
            params![b.digest, b.content_type, b.size, b.bytes, b.created_at],
        )?;
    }
    for p in &c.payments {
        execute(
            conn,
            "INSERT INTO payments (id, application_id, payer, amount, status, gateway_reference, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO \
             UPDATE SET amount = excluded.amount, status = excluded.status, gateway_reference = \
             excluded.gateway_reference, updated_at = excluded.updated_at",
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
            sql::INSERT_REMINDER,
            params![iin, last_valid_day, sent_at],
        )?;
    }
    if let Some(a) = &c.approval {
        execute(
            conn,
            sql::INSERT_APPROVAL,
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
            sql::UPSERT_REGISTER_PHOTO,
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
            sql::UPSERT_CONTACT_DETAILS,
            params![iin, phone, language, at],
        )?;
    }
    for (aid, version, from, by, at) in &c.rule_activations {
        execute(
            conn,
            sql::INSERT_RULE_ACTIVATION,
            params![id(*aid), version, from, id(*by), at],
        )?;
    }
    write_documents(conn, &c)?;
    write_staff(conn, &c)?;
    for k in &c.signature_checks {
        execute(
            conn,
            sql::INSERT_SIGNATURE_CHECK,
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

const OUTBOX_COLUMNS: &str =
    "id, topic, payload, created_at, attempts, next_attempt_at, delivered_at, last_error";
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
impl Transactions for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn commit(&self, changes: Changes) -> StoreResult<()> {
        let mut rows = codec::changes(&changes)?;
        for b in &mut rows.blobs {
            b.bytes = self.vault.put(&b.digest, &b.bytes).await?;
        }
        self.write(move |conn| commit_changes(conn, rows)).await
    }
}

mod applications;
mod audit;
mod outbox;
mod payments;
mod people;
mod reports;
mod staff;
