//! SQLite's group-commit writer: durable writes without an fsync per request.
//!
//! An fsync per request would cap the service at a few hundred writes a second, so writes
//! are batched instead of made weaker:
//!
//! - One writer thread owns the only write connection. Every write is a *job* sent to it
//!   over a bounded channel ([`QUEUE`] deep: back-pressure), with a oneshot channel for its
//!   answer.
//! - The writer takes the first job and whatever else is already queued (up to
//!   [`MAX_BATCH`]), runs `BEGIN IMMEDIATE`, then each job inside its own `SAVEPOINT`. A job
//!   that fails is rolled back to its savepoint and keeps its error; the other jobs of the
//!   batch are unaffected. Then one `COMMIT` — one fsync for the whole batch — and only then
//!   does every job get its answer. While a batch commits, the next one queues up, so the
//!   batch size follows the load.
//! - A batch does not start with the first job that happens to arrive right after a commit
//!   when the previous batch was bigger: the callers it just answered are on their way back,
//!   and a commit spent on one of them would make them wait a whole flush more. It waits for
//!   them ([`Pace`]) — at most half a commit, never when the last batch was a single job (one
//!   caller at a time pays nothing). Without this the batches of a busy store alternate
//!   between one job and dozens: measured under a 1 ms flush, 322 of 500 batches carried one
//!   job (docs/PERFORMANCE.md, "One box near its limits").
//! - If `BEGIN`, a savepoint statement or `COMMIT` itself fails, the whole batch is rolled
//!   back and every job in it gets an error: no caller is ever told `Ok` for a write that is
//!   not on disk.
//! - A job runs on the writer thread, not on the caller's task: a caller that gives up
//!   waiting (a dropped HTTP request) cannot leave a transaction half-done.

use std::thread::Thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::codec::lite_err;
use crate::{StoreError, StoreResult};

/// The most jobs one transaction carries.
pub const MAX_BATCH: usize = 64;
/// Jobs waiting for the writer before senders wait too (back-pressure).
const QUEUE: usize = 1024;
/// The longest a batch waits for the callers of the previous one (a slow disk's flush is
/// 1–10 ms; waiting longer than a few would cost more latency than the batch saves).
const MAX_GATHER: Duration = Duration::from_millis(2);

/// The writer thread's door: clones share the thread, which stops when the last is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// Woken when a job arrives while it gathers a batch.
    thread: Thread,
}

impl Writer {
    /// Starts the writer thread on `conn` (the only write connection).
    pub(crate) fn start(conn: Connection) -> StoreResult<Writer> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let handle = std::thread::Builder::new()
            .name("kuelik-sqlite-writer".into())
            .spawn(move || run_writer(conn, queue))
            .map_err(|e| StoreError::Open(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            jobs,
            thread: handle.thread().clone(),
        })
    }

    /// Queues `work`; the returned receiver answers once its batch committed (or failed).
    pub(crate) async fn submit<T, F>(
        &self,
        work: F,
    ) -> StoreResult<oneshot::Receiver<StoreResult<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Op { work, reply }))
            .await
            .map_err(|_| writer_gone())?;
        // Cheap when the writer is not parked (an atomic swap, no system call).
        self.thread.unpark();
        Ok(answer)
    }

    /// Runs `work` in the next batch and answers once it is on disk.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let answer = self.submit(work).await?;
        answer.await.map_err(|_| writer_gone())?
    }
}

pub(crate) fn writer_gone() -> StoreError {
    StoreError::Database("the SQLite writer has stopped".into())
}

/// A write waiting for the writer thread.
trait Job: Send {
    /// Runs the job's statements (inside its savepoint).
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Ran>;
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
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Ran> {
        let Op { work, reply } = *self;
        let result = work(conn);
        Box::new(Answer { result, reply })
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

/// The writer thread: batches until every sender is gone (the store was dropped).
fn run_writer(conn: Connection, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut pace = Pace::default();
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        let deadline = Instant::now() + pace.gather();
        loop {
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            if batch.len() >= pace.expected() || now >= deadline {
                break;
            }
            // Woken by the next submit (or the deadline); a wake-up meant for an earlier
            // park only makes this loop look at the queue once more.
            std::thread::park_timeout(deadline - now);
        }
        let jobs_in_batch = batch.len();
        let commit = run_batch(&conn, batch.drain(..));
        pace.record(jobs_in_batch, commit);
    }
}

/// How long a batch waits for company: as many jobs as the previous batch carried (their
/// callers are coming back), for at most half a commit's time.
#[derive(Debug, Default)]
struct Pace {
    last_batch: usize,
    last_commit: Duration,
}

impl Pace {
    /// The jobs worth waiting for (capped by what one batch takes).
    fn expected(&self) -> usize {
        self.last_batch.min(MAX_BATCH)
    }

    /// How long the next batch may wait: nothing after a batch of one (a lone caller), else
    /// half of the last commit, which is what a wasted commit would have cost the rest.
    fn gather(&self) -> Duration {
        if self.last_batch <= 1 {
            return Duration::ZERO;
        }
        (self.last_commit / 2).min(MAX_GATHER)
    }

    fn record(&mut self, jobs: usize, commit: Duration) {
        self.last_batch = jobs;
        self.last_commit = commit;
    }
}

/// Runs one statement of the writer's own (`BEGIN`, `SAVEPOINT`, …).
fn exec(conn: &Connection, sql: &str) -> StoreResult<()> {
    // Prepared once and kept: they run twice per job and once per batch, on the one thread
    // whose CPU bounds the durable changes, so none of it goes to parsing them again.
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(lite_err)
}

/// Runs one batch in one transaction; returns how long its `COMMIT` took (the flush).
fn run_batch(conn: &Connection, batch: impl ExactSizeIterator<Item = Box<dyn Job>>) -> Duration {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        for job in batch {
            job.fail(not_committed(&e));
        }
        return Duration::ZERO;
    }
    let mut ran: Vec<Box<dyn Ran>> = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    for job in batch {
        if let Some(e) = &broken {
            job.fail(not_committed(e));
            continue;
        }
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            job.fail(not_committed(&e));
            broken = Some(e);
            continue;
        }
        let done = job.run(conn);
        let end = if done.succeeded() {
            exec(conn, "RELEASE SAVEPOINT job")
        } else {
            // Undo this job only. If SQLite already rolled the whole transaction back (it
            // does on I/O errors or a full disk), the savepoint is gone and so is the batch.
            match exec(conn, "ROLLBACK TO SAVEPOINT job") {
                Ok(()) => exec(conn, "RELEASE SAVEPOINT job"),
                Err(e) => Err(e),
            }
        };
        ran.push(done);
        if let Err(e) = end {
            broken = Some(e);
        }
    }
    let committing = Instant::now();
    let outcome = match broken {
        Some(e) => Err(e),
        None => exec(conn, "COMMIT"),
    };
    let commit = committing.elapsed();
    if outcome.is_err() {
        // Best effort: the transaction may already be gone.
        let _ = exec(conn, "ROLLBACK");
    }
    for done in ran {
        done.answer(outcome.as_ref().map(|_| ()));
    }
    commit
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection with a table of numbers, and a child table whose foreign key is checked
    /// only at COMMIT (so a batch can fail at its very end).
    fn connection() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE n (v INTEGER PRIMARY KEY);
             CREATE TABLE child (parent INTEGER REFERENCES n (v) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        conn
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> StoreResult<usize> + Send + 'static {
        move |c: &Connection| {
            c.execute("INSERT INTO n (v) VALUES (?1)", [v])
                .map_err(lite_err)
        }
    }

    /// A job for `run_batch` and the receiver of its answer.
    fn job<F>(work: F) -> (Box<dyn Job>, oneshot::Receiver<StoreResult<usize>>)
    where
        F: FnOnce(&Connection) -> StoreResult<usize> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        (Box::new(Op { work, reply }), answer)
    }

    fn stored(conn: &Connection) -> Vec<i64> {
        let mut s = conn.prepare("SELECT v FROM n ORDER BY v").unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn answer(mut rx: oneshot::Receiver<StoreResult<usize>>) -> StoreResult<usize> {
        rx.try_recv().expect("answered when the batch ended")
    }

    #[test]
    fn a_failing_job_is_undone_alone_and_the_rest_of_its_batch_commits() {
        let conn = connection();
        let (a, ra) = job(insert(1));
        // The same key again: this job fails, after the first one wrote.
        let (b, rb) = job(|c: &Connection| {
            c.execute("INSERT INTO n (v) VALUES (2)", [])
                .map_err(lite_err)?;
            c.execute("INSERT INTO n (v) VALUES (1)", [])
                .map_err(lite_err)
        });
        let (d, rd) = job(insert(3));
        run_batch(&conn, vec![a, b, d].into_iter());
        assert_eq!(answer(ra).unwrap(), 1);
        assert!(answer(rb).is_err());
        assert_eq!(answer(rd).unwrap(), 1);
        // The failing job's own first insert (2) was rolled back with it.
        assert_eq!(stored(&conn), vec![1, 3]);
        assert!(conn.is_autocommit(), "the batch's transaction is over");
    }

    #[test]
    fn when_the_commit_fails_no_job_is_told_it_was_written() {
        let conn = connection();
        let (a, ra) = job(insert(1));
        // Fine when it runs; the deferred foreign key fails the COMMIT.
        let (b, rb) = job(|c: &Connection| {
            c.execute("INSERT INTO child (parent) VALUES (99)", [])
                .map_err(lite_err)
        });
        run_batch(&conn, vec![a, b].into_iter());
        let (ea, eb) = (answer(ra).unwrap_err(), answer(rb).unwrap_err());
        for e in [ea, eb] {
            assert!(e.to_string().contains("rolled back"), "{e}");
        }
        assert!(stored(&conn).is_empty(), "nothing of the batch is kept");
        assert!(conn.is_autocommit());
    }

    #[test]
    fn when_the_batch_cannot_begin_every_job_fails_unrun() {
        let conn = connection();
        // A transaction already open: BEGIN IMMEDIATE fails.
        conn.execute_batch("BEGIN").unwrap();
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = ran.clone();
        let (a, ra) = job(move |c: &Connection| {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            insert(1)(c)
        });
        run_batch(&conn, vec![a].into_iter());
        assert!(answer(ra).is_err());
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst), "never run");
    }

    #[test]
    fn a_batch_waits_for_the_previous_batchs_callers_only_when_there_were_several() {
        let mut pace = Pace::default();
        assert_eq!(
            pace.gather(),
            Duration::ZERO,
            "the first batch starts at once"
        );
        pace.record(1, Duration::from_micros(1_300));
        assert_eq!(pace.gather(), Duration::ZERO, "a lone caller never waits");
        pace.record(30, Duration::from_micros(1_300));
        assert_eq!(pace.expected(), 30);
        assert_eq!(pace.gather(), Duration::from_micros(650), "half a commit");
        pace.record(MAX_BATCH + 10, Duration::from_millis(40));
        assert_eq!(pace.expected(), MAX_BATCH);
        assert_eq!(
            pace.gather(),
            MAX_GATHER,
            "never longer than a slow disk's flush"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_write_from_many_callers_lands_and_a_caller_that_leaves_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE n (v INTEGER PRIMARY KEY);")
            .unwrap();
        let writer = Writer::start(conn).unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|v| {
                let w = writer.clone();
                tokio::spawn(async move { w.write(insert(v)).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
        // A caller that stops waiting: its job still runs whole in its batch.
        let dropped = writer.submit(insert(1_000)).await.unwrap();
        drop(dropped);
        let count: i64 = writer
            .write(|c: &Connection| {
                c.query_row("SELECT count(*) FROM n", [], |r| r.get(0))
                    .map_err(lite_err)
            })
            .await
            .unwrap();
        assert_eq!(count, 201);
    }
}
