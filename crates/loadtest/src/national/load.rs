//! The bulk load: synthetic people and application histories streamed into PostgreSQL with
//! `COPY … FROM STDIN`, a buffer of a few thousand rows at a time (never the whole table in
//! memory), through the store's own row encoding ([`kuelik_store::copy`]).
//!
//! Two passes over the applications, because events and payments reference applications by
//! foreign key and each COPY is its own transaction: first the applications (and image
//! checks), then — regenerated, they are deterministic — their events and payments. The
//! schema's indexes, constraints and foreign keys stay in place.
//!
//! One exception: the events' row trigger that queues each event for the audit sequencer
//! (`events_to_sequence`, one PL/pgSQL call and one `audit_pending` insert per row) is
//! disabled while the events are copied, and `audit_pending` is filled afterwards with one
//! `INSERT … SELECT` in `seq` order — the rows the trigger would have written, as the trust
//! migration itself backfills them. Disable, COPY, backfill and re-enable are one
//! transaction, so a failed load leaves the trigger enabled.

use std::ops::DerefMut;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgCopyIn, PgPool, PgPoolCopyExt};
use sqlx::Postgres;

use kuelik_core::register::synthetic::Generator;
use kuelik_store::copy;

use super::history::Histories;

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

/// One COPY in progress on its own connection, with its buffer.
struct Stream<C: DerefMut<Target = PgConnection>> {
    table: &'static str,
    copy: PgCopyIn<C>,
    buffer: String,
    rows: u64,
}

impl Stream<PoolConnection<Postgres>> {
    /// A COPY on a connection of its own (committed by itself at [`Stream::finish`]).
    async fn open(pool: &PgPool, table: &'static str, statement: &str) -> Result<Self, String> {
        let copy = pool
            .copy_in_raw(statement)
            .await
            .map_err(|e| format!("COPY {table}: {e}"))?;
        Ok(Stream::new(table, copy))
    }
}

impl<C: DerefMut<Target = PgConnection>> Stream<C> {
    fn new(table: &'static str, copy: PgCopyIn<C>) -> Self {
        Stream {
            table,
            copy,
            buffer: String::with_capacity(SEND_BYTES + 64 * 1024),
            rows: 0,
        }
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

fn rate(table: &'static str, rows: u64, elapsed: Duration) -> TableLoad {
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
pub async fn applications(
    pool: &PgPool,
    register: &Generator,
    histories: &Histories,
    citizens: u64,
    applications: u64,
) -> Result<Vec<TableLoad>, String> {
    // Pass 1: the applications and their image checks.
    let started = Instant::now();
    let mut apps = Stream::open(pool, "applications", copy::COPY_APPLICATIONS).await?;
    let mut checks = Stream::open(pool, "image_checks", copy::COPY_IMAGE_CHECKS).await?;
    for i in 0..applications {
        let life = life_of(register, histories, citizens, i)?;
        copy::application_line(&mut apps.buffer, &life.application).map_err(|e| e.to_string())?;
        apps.row_added().await?;
        for c in &life.checks {
            copy::image_check_line(&mut checks.buffer, c);
            checks.row_added().await?;
        }
    }
    let app_rows = apps.finish().await?;
    let check_rows = checks.finish().await?;
    let pass1 = started.elapsed();

    // Pass 2: events and payments (their foreign keys now find the applications).
    let started = Instant::now();
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| format!("events transaction: {e}"))?;
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_to_sequence")
        .execute(&mut *tx)
        .await
        .map_err(|e| format!("disabling the audit trigger for the load: {e}"))?;
    let copy = tx
        .copy_in_raw(copy::COPY_EVENTS)
        .await
        .map_err(|e| format!("COPY events: {e}"))?;
    let mut events = Stream::new("events", copy);
    let mut payments = Stream::open(pool, "payments", copy::COPY_PAYMENTS).await?;
    for i in 0..applications {
        let life = life_of(register, histories, citizens, i)?;
        for e in &life.events {
            copy::event_line(&mut events.buffer, e).map_err(|e| e.to_string())?;
            events.row_added().await?;
        }
        copy::payment_line(&mut payments.buffer, &life.payment).map_err(|e| e.to_string())?;
        payments.row_added().await?;
    }
    let event_rows = events.finish().await?;
    let payment_rows = payments.finish().await?;
    let pass2 = started.elapsed();
    let started = Instant::now();
    let queued = sqlx::query(
        "INSERT INTO audit_pending (source, source_pos) \
         SELECT 'event', seq FROM events ORDER BY seq",
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| format!("queueing the loaded events for the audit sequencer: {e}"))?
    .rows_affected();
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_to_sequence")
        .execute(&mut *tx)
        .await
        .map_err(|e| format!("re-enabling the audit trigger: {e}"))?;
    tx.commit()
        .await
        .map_err(|e| format!("committing the events: {e}"))?;
    let backfill = started.elapsed();
    Ok(vec![
        rate(
            "applications (+ image_checks)",
            app_rows + check_rows,
            pass1,
        ),
        rate("events (+ payments)", event_rows + payment_rows, pass2),
        rate("audit_pending backfill", queued, backfill),
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
}

/// Application `i`'s history (the same every time it is asked for).
pub fn life_of(
    register: &Generator,
    histories: &Histories,
    citizens: u64,
    i: u64,
) -> Result<super::history::Life, String> {
    let n = i % citizens.max(1);
    let person = register
        .person(n)
        .ok_or_else(|| format!("the register has no person {n}"))?;
    histories.life(i, &person, i < citizens)
}
