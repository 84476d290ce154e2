//! The bulk load: synthetic people and application histories streamed into PostgreSQL with
//! `COPY … FROM STDIN`, a buffer of a few thousand rows at a time (never the whole table in
//! memory), through the store's own row encoding ([`kuelik_store::copy`]).
//!
//! Two passes over the applications, because events and payments reference applications by
//! foreign key and each COPY is its own transaction: first the applications (and image
//! checks), then — regenerated, they are deterministic — their events and payments. Both in
//! the order the service writes them (by time), split into consecutive stretches of time
//! loaded side by side (a sliced load deals the applications' events to the streams in turn
//! instead, so that they meet at each pause). The indexes of `people` and `applications` are
//! built once their rows are in ([`Indexes`]); the other tables' stay in place. The foreign
//! keys to `applications` of the tables the second pass and archiving
//! fill are set aside and put back (checked against every row then) at the end
//! ([`ForeignKeys`]), as a restore does: checked row by row, each row costs a locking read of
//! its application — which dirties the application's page, again in every slice — and an
//! insert of 3 M rows took 2.9× as long with the key as without it (measured with `psql`).
//!
//! Then the history is chained into the audit log the way the service's sequencer does it
//! ([`chain_history`]), in bigger batches.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgCopyIn, PgPool, PgPoolCopyExt};
use sqlx::Postgres;
use tokio::task::JoinSet;

use jiff::Timestamp;
use kuelik_core::register::synthetic::Generator;
use kuelik_core::register::Person;
use kuelik_server::audit_chain;
use kuelik_store::copy;
use kuelik_store::postgres::PostgresStore;
use kuelik_store::AuditStore;
use kuelik_trust::ServerKey;

use super::history::{Histories, Life};

/// Bytes buffered before a send to the server.
const SEND_BYTES: usize = 1 << 20;

/// How fast one table was filled.
#[derive(Debug, Clone, Serialize)]
pub struct TableLoad {
    pub table: &'static str,
    pub rows: u64,
    pub secs: f64,
    pub rows_per_sec: f64,
}

/// One COPY in progress on its own connection (committed by itself at [`Stream::finish`]),
/// with its buffer.
struct Stream {
    table: &'static str,
    copy: PgCopyIn<PoolConnection<Postgres>>,
    buffer: String,
    rows: u64,
}

impl Stream {
    async fn open(pool: &PgPool, table: &'static str, statement: &str) -> Result<Self, String> {
        let copy = pool
            .copy_in_raw(statement)
            .await
            .map_err(|e| format!("COPY {table}: {e}"))?;
        Ok(Stream {
            table,
            copy,
            buffer: String::with_capacity(SEND_BYTES + 64 * 1024),
            rows: 0,
        })
    }

    /// Counts the line just appended to `buffer`; sends when the buffer is full.
    async fn row_added(&mut self) -> Result<(), String> {
        self.rows += 1;
        if self.buffer.len() >= SEND_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), String> {
        self.copy
            .send(self.buffer.as_bytes())
            .await
            .map_err(|e| format!("COPY {}: {e}", self.table))?;
        self.buffer.clear();
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, String> {
        self.flush().await?;
        self.copy
            .finish()
            .await
            .map_err(|e| format!("COPY {} did not complete: {e}", self.table))
    }
}

/// Foreign keys set aside for a bulk load and put back after it, as `pg_dump`'s restore
/// adds them after the data: one check of the rows as a join instead of a locking read of
/// the referenced row per inserted row. Every set-aside key is put back by
/// [`ForeignKeys::put_back`], which fails if a row has no referenced row (then the load
/// has failed).
pub struct ForeignKeys {
    /// (table as `regclass` names it, constraint name, its definition as
    /// `pg_get_constraintdef` gives it).
    keys: Vec<(String, String, String)>,
}

impl ForeignKeys {
    /// Drops the foreign keys of `tables` (no rows of them may be written meanwhile by
    /// anyone but the load: the database is the load's alone).
    pub async fn set_aside(pool: &PgPool, tables: &[&str]) -> Result<ForeignKeys, String> {
        let tables: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        let keys: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
             FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = \
             ANY($1) ORDER BY 1, 2",
        )
        .bind(&tables)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("reading the foreign keys of {tables:?}: {e}"))?;
        for (table, name, _) in &keys {
            sqlx::query(&format!(
                "ALTER TABLE {table} DROP CONSTRAINT {}",
                quoted(name)
            ))
            .execute(pool)
            .await
            .map_err(|e| format!("setting aside {name} of {table}: {e}"))?;
        }
        Ok(ForeignKeys { keys })
    }

    /// Adds the keys back in one transaction, each checked against every row of its table
    /// (a join of the two tables, given memory enough to hash them).
    pub async fn put_back(self, pool: &PgPool) -> Result<TableLoad, String> {
        let started = Instant::now();
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        sqlx::query("SET LOCAL work_mem = '1GB'")
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        for (table, name, definition) in &self.keys {
            sqlx::query(&format!(
                "ALTER TABLE {table} ADD CONSTRAINT {} {definition}",
                quoted(name)
            ))
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("putting back {name} of {table} ({definition}): {e}"))?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(rate(
            "foreign keys put back (every row checked)",
            self.keys.len() as u64,
            started.elapsed(),
        ))
    }
}

/// Indexes set aside while a table is filled and built afterwards from the sorted rows, as a
/// restore builds them: filled row by row, an index over a random key (an IIN, a ticket, a
/// photo's hash) gets each entry on a random page of an index far larger than
/// PostgreSQL's buffers — read, dirtied, written back, and logged whole after every
/// checkpoint — while a build writes each page once. A primary key or unique constraint goes
/// too unless a foreign key refers to it (`applications`' own, whose ids come in time order
/// anyway); a unique index rebuilt over a duplicate fails the load.
pub struct Indexes {
    /// (table, index, constraint name if the index is a constraint's, the statement that
    /// makes it), each name as `regclass` gives it.
    set_aside: Vec<(String, String, Option<String>, String)>,
}

impl Indexes {
    /// Drops the indexes of `tables` (the database is the load's alone).
    pub async fn set_aside(pool: &PgPool, tables: &[&str]) -> Result<Indexes, String> {
        let tables: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        let set_aside: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, c.conname::text, \
             CASE WHEN c.oid IS NULL THEN \
             pg_get_indexdef(i.indexrelid) ELSE pg_get_constraintdef(c.oid) END FROM pg_index \
             i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', \
             'u') AND c.conrelid = i.indrelid WHERE i.indrelid::regclass::text = ANY($1) AND \
             NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = \
             i.indexrelid) ORDER BY 1, 2",
        )
        .bind(&tables)
        .fetch_all(pool)
        .await
        .map_err(|e| format!("reading the indexes of {tables:?}: {e}"))?;
        for (table, index, constraint, _) in &set_aside {
            let drop = match constraint {
                Some(name) => format!("ALTER TABLE {table} DROP CONSTRAINT {}", quoted(name)),
                None => format!("DROP INDEX {index}"),
            };
            sqlx::query(&drop)
                .execute(pool)
                .await
                .map_err(|e| format!("{drop}: {e}"))?;
        }
        Ok(Indexes { set_aside })
    }

    /// Builds every index set aside (with memory enough to sort a national table in one go).
    pub async fn build(self, pool: &PgPool) -> Result<TableLoad, String> {
        let started = Instant::now();
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        sqlx::query("SET maintenance_work_mem = '1GB'")
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        for (table, _, constraint, made) in &self.set_aside {
            let build = match constraint {
                Some(name) => format!("ALTER TABLE {table} ADD CONSTRAINT {} {made}", quoted(name)),
                None => made.clone(),
            };
            sqlx::query(&build)
                .execute(&mut *conn)
                .await
                .map_err(|e| format!("{build}: {e}"))?;
        }
        sqlx::query("RESET maintenance_work_mem")
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(rate(
            "indexes of people and applications built",
            self.set_aside.len() as u64,
            started.elapsed(),
        ))
    }
}

/// An identifier as SQL text, quoted.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn rate(table: &'static str, rows: u64, elapsed: Duration) -> TableLoad {
    let secs = elapsed.as_secs_f64();
    TableLoad {
        table,
        rows,
        secs,
        rows_per_sec: if secs > 0.0 { rows as f64 / secs } else { 0.0 },
    }
}

/// People `0..citizens` of the synthetic register.
pub async fn people(
    pool: &PgPool,
    register: &Generator,
    citizens: u64,
) -> Result<TableLoad, String> {
    let started = Instant::now();
    let mut stream = Stream::open(pool, "people", copy::COPY_PEOPLE).await?;
    for person in register.people(0..citizens) {
        copy::person_line(&mut stream.buffer, &person).map_err(|e| e.to_string())?;
        stream.row_added().await?;
    }
    let rows = stream.finish().await?;
    if rows < citizens {
        return Err(format!(
            "the register holds {rows} people, fewer than the {citizens} asked for"
        ));
    }
    Ok(rate("people", rows, started.elapsed()))
}

/// Applications `0..applications`; application `i` belongs to person `i mod citizens`.
///
/// In the order the service would have written them: applications by the instant they were
/// created, events by the instant they happened (an application's events are spread over
/// the weeks it took, among everyone else's), so the tables and indexes have the layout of
/// a database in service — a day's events share pages — not one application's history per
/// page. The order is split into `streams` consecutive stretches of time, each its own
/// COPY on its own connection, side by side.
pub async fn applications(
    pool: &PgPool,
    lives: Lives,
    streams: usize,
    slicing: Option<Slicing>,
    indexes: Indexes,
) -> Result<Vec<TableLoad>, String> {
    let n = lives.order.len();

    // Pass 1: the applications and their image checks.
    let started = Instant::now();
    let (app_rows, check_rows) = side_by_side(pool, &lives, stretches(n, streams), |p, l, r| {
        copy_applications(p, l, r)
    })
    .await?;
    let pass1 = started.elapsed();
    // The people's and applications' indexes, now that the rows are in (the second pass
    // and archiving read neither table).
    let built = indexes.build(pool).await?;

    // Pass 2: events and payments (their foreign keys now find the applications). Pauses
    // are points in time: sliced, the applications are dealt to the streams in turn, so
    // each goes through the whole time and they meet at every pause.
    let started = Instant::now();
    let (shares, meeting) = match &slicing {
        Some(slicing) => {
            let shares = dealt(n, streams);
            let meeting = Arc::new(Meeting::new(slicing.clone(), shares.len()));
            (shares, Some(meeting))
        }
        None => (stretches(n, streams), None),
    };
    let (event_rows, payment_rows) = side_by_side(pool, &lives, shares, |p, l, r| {
        copy_events_and_payments(p, l, r, meeting.clone())
    })
    .await?;
    let mut pass2 = started.elapsed();
    let mut paused = Vec::new();
    if let Some(slicing) = &slicing {
        let spent = slicing
            .spent
            .lock()
            .map_err(|_| "the slice figures were poisoned".to_string())?
            .clone();
        pass2 = pass2.saturating_sub(spent.chaining + spent.archiving + spent.vacuum);
        paused = vec![
            TableLoad {
                table: "  slices (chained, archived, vacuumed)",
                rows: spent.slices,
                secs: 0.0,
                rows_per_sec: 0.0,
            },
            rate(
                "  audit chain in slices (entries)",
                spent.chained,
                spent.chaining,
            ),
            rate(
                "  archived in slices (events moved)",
                spent.archived_events,
                spent.archiving,
            ),
            TableLoad {
                table: "    of which applications",
                rows: spent.archived_applications,
                secs: 0.0,
                rows_per_sec: 0.0,
            },
            rate("  VACUUM events in slices", 0, spent.vacuum),
        ];
    }
    Ok(vec![
        rate(
            "applications (+ image_checks)",
            app_rows + check_rows,
            pass1,
        ),
        built,
        rate("events (+ payments)", event_rows + payment_rows, pass2),
    ]
    .into_iter()
    .chain(paused)
    .chain([
        TableLoad {
            table: "  of which image_checks",
            rows: check_rows,
            secs: 0.0,
            rows_per_sec: 0.0,
        },
        TableLoad {
            table: "  of which payments",
            rows: payment_rows,
            secs: 0.0,
            rows_per_sec: 0.0,
        },
    ])
    .collect())
}

/// The histories to load and the order to load them in; each stream gets a clone (the
/// parts are shared).
#[derive(Clone)]
pub struct Lives {
    register: Arc<Generator>,
    histories: Arc<Histories>,
    citizens: u64,
    /// Application indexes sorted by the instant each was created.
    order: Arc<Vec<u64>>,
}

impl Lives {
    pub fn in_created_order(
        register: &Arc<Generator>,
        histories: &Arc<Histories>,
        citizens: u64,
        applications: u64,
    ) -> Result<Lives, String> {
        let mut keyed = Vec::with_capacity(applications as usize);
        for i in 0..applications {
            let (person, live_allowed) = applicant(register, citizens, i)?;
            let created = histories.created(i, person.region, live_allowed)?;
            keyed.push((created.as_second(), i));
        }
        keyed.sort_unstable();
        Ok(Lives {
            register: register.clone(),
            histories: histories.clone(),
            citizens,
            order: Arc::new(keyed.into_iter().map(|(_, i)| i).collect()),
        })
    }

    /// The histories of one stream's share of the order, made one at a time.
    fn of(&self, share: Share) -> impl Iterator<Item = Result<Life, String>> + '_ {
        self.order[share.positions]
            .iter()
            .step_by(share.step)
            .map(|&i| life_of(&self.register, &self.histories, self.citizens, i))
    }
}

/// The positions of the order one stream loads: every `step`th of `positions`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Share {
    positions: Range<usize>,
    step: usize,
}

/// `n` positions cut into `streams` consecutive stretches (none empty unless `n` is 0).
fn stretches(n: usize, streams: usize) -> Vec<Share> {
    let streams = streams.min(n).max(1);
    (0..streams)
        .map(|k| Share {
            positions: n * k / streams..n * (k + 1) / streams,
            step: 1,
        })
        .collect()
}

/// `n` positions dealt to `streams` in turn: every stream goes through the whole time, so
/// all of them reach a pause's instant together.
fn dealt(n: usize, streams: usize) -> Vec<Share> {
    let streams = streams.min(n).max(1);
    (0..streams)
        .map(|k| Share {
            positions: k..n,
            step: streams,
        })
        .collect()
}

/// One stretch's applications and image checks (a COPY of each), in creation order.
async fn copy_applications(pool: PgPool, lives: Lives, share: Share) -> Result<(u64, u64), String> {
    let mut apps = Stream::open(&pool, "applications", copy::COPY_APPLICATIONS).await?;
    let mut checks = Stream::open(&pool, "image_checks", copy::COPY_IMAGE_CHECKS).await?;
    for life in lives.of(share) {
        let life = life?;
        copy::application_line(&mut apps.buffer, &life.application).map_err(|e| e.to_string())?;
        apps.row_added().await?;
        for c in &life.checks {
            copy::image_check_line(&mut checks.buffer, c);
            checks.row_added().await?;
        }
    }
    Ok((apps.finish().await?, checks.finish().await?))
}

/// `copy` run for every share side by side (each its own task and connection); the row
/// counts (two tables each) added up, or the first failure.
async fn side_by_side<F, Copy>(
    pool: &PgPool,
    lives: &Lives,
    shares: Vec<Share>,
    copy: F,
) -> Result<(u64, u64), String>
where
    F: Fn(PgPool, Lives, Share) -> Copy,
    Copy: std::future::Future<Output = Result<(u64, u64), String>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for share in shares {
        tasks.spawn(copy(pool.clone(), lives.clone(), share));
    }
    let mut rows = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let (a, b) = joined.map_err(|e| format!("a load stream stopped: {e}"))??;
        rows = (rows.0 + a, rows.1 + b);
    }
    Ok(rows)
}

/// One share's events and payments (a COPY of each). Payments go in creation order;
/// events wait in a heap until no application still to come can have an earlier one (each
/// event is at or after its application's creation), then go out in time order. Sliced
/// (`meeting`), after its part of a slice's events the stream commits and meets the others
/// to pause as the service's workers would have run by then ([`Meeting::arrive`]).
async fn copy_events_and_payments(
    pool: PgPool,
    lives: Lives,
    share: Share,
    meeting: Option<Arc<Meeting>>,
) -> Result<(u64, u64), String> {
    let mut events = Stream::open(&pool, "events", copy::COPY_EVENTS).await?;
    let mut payments = Stream::open(&pool, "payments", copy::COPY_PAYMENTS).await?;
    let mut waiting = InTimeOrder::default();
    let (mut written, mut paid) = (0u64, 0u64);
    let mut since_pause = 0u64;
    for life in lives.of(share) {
        let life = life?;
        let created = life.application.created_at.as_microsecond();
        while let Some((at, line)) = waiting.pop_before(created) {
            events.buffer.push_str(&line);
            events.row_added().await?;
            since_pause += 1;
            if let Some(meeting) = meeting.as_ref().filter(|m| since_pause >= m.every) {
                // Both COPYs committed up to here (an open one would keep VACUUM from
                // freeing the archived rows' space); the chain and the archive catch up.
                written += events.finish().await?;
                paid += payments.finish().await?;
                meeting.arrive(at).await?;
                events = Stream::open(&pool, "events", copy::COPY_EVENTS).await?;
                payments = Stream::open(&pool, "payments", copy::COPY_PAYMENTS).await?;
                since_pause = 0;
            }
        }
        for e in &life.events {
            let mut line = String::with_capacity(256);
            copy::event_line(&mut line, e).map_err(|e| e.to_string())?;
            waiting.push(e.at.as_microsecond(), line);
        }
        copy::payment_line(&mut payments.buffer, &life.payment).map_err(|e| e.to_string())?;
        payments.row_added().await?;
    }
    while let Some((_, line)) = waiting.pop_before(i64::MAX) {
        events.buffer.push_str(&line);
        events.row_added().await?;
    }
    let rows = (
        written + events.finish().await?,
        paid + payments.finish().await?,
    );
    if let Some(meeting) = &meeting {
        meeting.leave().await?;
    }
    Ok(rows)
}

/// Where the streams of a sliced load meet: each stops after its part of a slice's events
/// with its COPYs committed, and the last to arrive pauses the load for all
/// ([`Slicing::pause`], at the earliest of their last events' instants). A stream that has
/// loaded all its share leaves (committed too) and is no longer waited for.
pub struct Meeting {
    slicing: Slicing,
    /// Events each stream loads between pauses.
    every: u64,
    state: tokio::sync::Mutex<Gathering>,
    /// Pauses done: waiting streams go on when it passes the one they arrived at.
    paused: tokio::sync::watch::Sender<u64>,
}

struct Gathering {
    streams: usize,
    arrived: usize,
    at: i64,
    pauses: u64,
}

impl Meeting {
    fn new(slicing: Slicing, streams: usize) -> Meeting {
        Meeting {
            every: (slicing.every / streams.max(1) as u64).max(1),
            slicing,
            state: tokio::sync::Mutex::new(Gathering {
                streams,
                arrived: 0,
                at: i64::MAX,
                pauses: 0,
            }),
            paused: tokio::sync::watch::channel(0).0,
        }
    }

    /// A stream stops here (its last event at `at`) until the load has paused.
    async fn arrive(&self, at: i64) -> Result<(), String> {
        let mut paused = self.paused.subscribe();
        let mut gathering = self.state.lock().await;
        gathering.arrived += 1;
        gathering.at = gathering.at.min(at);
        let pause = gathering.pauses;
        if gathering.arrived < gathering.streams {
            drop(gathering);
            return paused
                .wait_for(|&done| done > pause)
                .await
                .map(|_| ())
                .map_err(|_| "the load stopped at a pause".to_string());
        }
        self.pause(&mut gathering).await
    }

    /// A stream has loaded its whole share: the others no longer wait for it (and pause now
    /// if it was the one they waited for).
    async fn leave(&self) -> Result<(), String> {
        let mut gathering = self.state.lock().await;
        gathering.streams -= 1;
        if gathering.arrived > 0 && gathering.arrived == gathering.streams {
            return self.pause(&mut gathering).await;
        }
        Ok(())
    }

    async fn pause(&self, gathering: &mut Gathering) -> Result<(), String> {
        let result = self.slicing.pause(gathering.at).await;
        gathering.arrived = 0;
        gathering.at = i64::MAX;
        gathering.pauses += 1;
        self.paused.send_replace(gathering.pauses);
        result
    }
}

/// Archiving as the load goes (`--archive-every N`): the service archives finished histories
/// a month after they end, so its events table never holds more than the live applications'
/// rows and a month or so of others. A load that archived only at the end would first hold
/// the whole history as rows (≈ 3.4 KB per application); sliced, it holds a slice.
#[derive(Clone)]
pub struct Slicing {
    pub store: PostgresStore,
    /// Events per slice.
    pub every: u64,
    pub spent: Arc<std::sync::Mutex<SliceSpent>>,
}

/// What the pauses took, added up.
#[derive(Debug, Default, Clone)]
pub struct SliceSpent {
    pub slices: u64,
    pub chained: u64,
    pub chaining: Duration,
    pub archived_events: u64,
    pub archived_applications: u64,
    pub archiving: Duration,
    pub vacuum: Duration,
}

impl Slicing {
    /// The events so far chained, the finished histories archived as the worker would have
    /// by `at` (the last event loaded), and `events` vacuumed so the next slice reuses the
    /// space the archived rows left.
    async fn pause(&self, at: i64) -> Result<(), String> {
        let at = Timestamp::from_microsecond(at).map_err(|e| e.to_string())?;
        let chained = chain_history(&self.store, at).await?;
        let started = Instant::now();
        let done = kuelik_server::history_archive::archive_all(&self.store, at, ARCHIVE_ROWS)
            .await
            .map_err(|e| format!("archiving the loaded history: {e}"))?;
        let archiving = started.elapsed();
        let started = Instant::now();
        sqlx::query("VACUUM events")
            .execute(self.store.pool())
            .await
            .map_err(|e| format!("VACUUM events: {e}"))?;
        let vacuum = started.elapsed();
        let mut spent = self
            .spent
            .lock()
            .map_err(|_| "the slice figures were poisoned".to_string())?;
        spent.slices += 1;
        spent.chained += chained.rows;
        spent.chaining += Duration::from_secs_f64(chained.secs);
        spent.archived_events += done.events;
        spent.archived_applications += done.applications;
        spent.archiving += archiving;
        spent.vacuum += vacuum;
        Ok(())
    }
}

/// Events held back until they can go out in time order: fed the events of applications
/// in creation order, and asked for those before the next application's creation (no event
/// still to come can be earlier: each is at or after its own application's creation).
#[derive(Default)]
struct InTimeOrder {
    /// (instant, order pushed, line): equal instants keep the order they were pushed in.
    waiting: BinaryHeap<Reverse<(i64, u64, String)>>,
    pushed: u64,
}

impl InTimeOrder {
    fn push(&mut self, at: i64, line: String) {
        self.waiting.push(Reverse((at, self.pushed, line)));
        self.pushed += 1;
    }

    /// The earliest line held (with its instant), if it is before `instant`.
    fn pop_before(&mut self, instant: i64) -> Option<(i64, String)> {
        if self.waiting.peek()?.0 .0 >= instant {
            return None;
        }
        self.waiting.pop().map(|Reverse((at, _, line))| (at, line))
    }
}

/// Entries per checkpoint when chaining a loaded history (the service's sequencer signs one
/// per 500; a bulk load has no request waiting on it).
const CHAIN_BATCH: u32 = 10_000;

/// Chains every loaded row into the audit log with the service's own sequencer, under a
/// key made for the run: the database as the service would have left it, its history
/// sequenced (the sequencer's lag is seconds in service).
pub async fn chain_history(store: &PostgresStore, now: Timestamp) -> Result<TableLoad, String> {
    let started = Instant::now();
    let key = ServerKey::generate();
    let mut entries = 0u64;
    let mut idle_rounds = 0;
    loop {
        let chained = audit_chain::sequence_batch(store, &key, now, CHAIN_BATCH)
            .await
            .map_err(|e| format!("chaining the loaded history: {e}"))?;
        entries += chained as u64;
        if chained > 0 {
            idle_rounds = 0;
            continue;
        }
        // A round that chained nothing may have met a writer in flight: done only when
        // nothing waits.
        let waiting = store
            .audit_pending_count()
            .await
            .map_err(|e| format!("counting the rows not chained: {e}"))?;
        if waiting == 0 {
            break;
        }
        idle_rounds += 1;
        if idle_rounds == 100 {
            return Err(format!(
                "{waiting} rows stay unchained (a writer holds the tables?)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(rate("audit chain (entries)", entries, started.elapsed()))
}

/// Event rows one round of archiving looks at in a bulk load (the service's worker looks at
/// 20,000 between requests).
const ARCHIVE_ROWS: u32 = 50_000;

/// Archives the finished histories with the service's own rounds
/// (`kuelik_server::history_archive`), as its worker would have by `now`, then rewrites the
/// events table (`VACUUM FULL`): in service the archived rows' space is reused by new events,
/// so the table stays the size of the rows not yet archived; a bulk load of the history
/// (whole, or in slices of millions of events) leaves that much space free in it at once.
pub async fn archive_history(
    store: &PostgresStore,
    now: Timestamp,
) -> Result<Vec<TableLoad>, String> {
    let started = Instant::now();
    // Statistics of the loaded tables first, as autovacuum keeps them in service.
    sqlx::query("ANALYZE events, applications")
        .execute(store.pool())
        .await
        .map_err(|e| format!("ANALYZE: {e}"))?;
    let done = kuelik_server::history_archive::archive_all(store, now, ARCHIVE_ROWS)
        .await
        .map_err(|e| format!("archiving the loaded history: {e}"))?;
    let archived = started.elapsed();
    let started = Instant::now();
    sqlx::query("VACUUM FULL events")
        .execute(store.pool())
        .await
        .map_err(|e| format!("VACUUM FULL events: {e}"))?;
    Ok(vec![
        rate("archived histories (events moved)", done.events, archived),
        TableLoad {
            table: "  of which applications",
            rows: done.applications,
            secs: 0.0,
            rows_per_sec: 0.0,
        },
        rate("VACUUM FULL events", 0, started.elapsed()),
    ])
}

/// Application `i`'s history (the same every time it is asked for).
pub fn life_of(
    register: &Generator,
    histories: &Histories,
    citizens: u64,
    i: u64,
) -> Result<Life, String> {
    let (person, live_allowed) = applicant(register, citizens, i)?;
    histories.life(i, &person, live_allowed)
}

/// Application `i`'s applicant — person `i mod citizens` — and whether it may be live (only a
/// person's first application may: one live application per person, R13).
fn applicant(register: &Generator, citizens: u64, i: u64) -> Result<(Person, bool), String> {
    let n = i % citizens.max(1);
    let person = register
        .person(n)
        .ok_or_else(|| format!("the register has no person {n}"))?;
    Ok((person, i < citizens))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every application of a load can be made by core's state machine (a load that meets
    /// one that cannot fails where it meets it — once after 25 minutes of a 20 M load).
    /// `KUELIK_HISTORY_SWEEP=20000000 cargo test --release -p kuelik-loadtest
    /// every_history` sweeps a national load's applications before starting it (≈ 2 min).
    #[test]
    fn every_history_of_a_load_can_be_made() {
        let n: u64 = std::env::var("KUELIK_HISTORY_SWEEP")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
        let register = Arc::new(Generator::new(1, kuelik_core::time::almaty_date(now)));
        let histories = Arc::new(Histories::new(1, now).unwrap());
        let halves: Vec<_> = (0..2u64)
            .map(|half| {
                let (register, histories) = (register.clone(), histories.clone());
                std::thread::spawn(move || {
                    let mut events = 0;
                    for i in (half..n).step_by(2) {
                        let life = life_of(&register, &histories, n, i).unwrap();
                        events += life.events.len();
                    }
                    events
                })
            })
            .collect();
        let events: usize = halves.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(
            events as u64 > n * 10,
            "{events} events for {n} applications"
        );
    }

    #[test]
    fn events_go_out_in_time_order_however_their_applications_interleave() {
        // Three applications created at 0, 10 and 20, each with events spread after it.
        let lives = [
            (0, vec![0, 5, 30, 31]),
            (10, vec![10, 12, 25]),
            (20, vec![20, 30, 40]),
        ];
        let mut order = InTimeOrder::default();
        let mut out = Vec::new();
        for (created, events) in lives {
            while let Some((_, line)) = order.pop_before(created) {
                out.push(line);
            }
            for at in events {
                order.push(at, format!("{at}@{created}"));
            }
        }
        while let Some((_, line)) = order.pop_before(i64::MAX) {
            out.push(line);
        }
        assert_eq!(
            out,
            ["0@0", "5@0", "10@10", "12@10", "20@20", "25@10", "30@0", "30@20", "31@0", "40@20"]
        );
    }

    fn positions(shares: &[Share]) -> Vec<Vec<usize>> {
        shares
            .iter()
            .map(|s| s.positions.clone().step_by(s.step).collect())
            .collect()
    }

    #[test]
    fn stretches_cover_every_position_once() {
        assert_eq!(
            positions(&stretches(10, 3)),
            [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8, 9]]
        );
        assert_eq!(positions(&stretches(2, 4)), [vec![0], vec![1]]);
        assert_eq!(positions(&stretches(5, 0)), [vec![0, 1, 2, 3, 4]]);
    }

    #[test]
    fn dealt_shares_cover_every_position_once_in_turn() {
        assert_eq!(positions(&dealt(7, 2)), [vec![0, 2, 4, 6], vec![1, 3, 5]]);
        assert_eq!(positions(&dealt(1, 3)), [vec![0]]);
        assert_eq!(positions(&dealt(3, 0)), [vec![0, 1, 2]]);
    }
}
