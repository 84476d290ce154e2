//! The store's contract, written once against `&dyn Store` and run on every backend.
//!
//! - SQLite: always; every contract test is its own `#[tokio::test]` (`sqlite::<name>`) on a
//!   fresh database file in a temporary directory.
//! - PostgreSQL: when `KUELIK_TEST_DATABASE_URL` names a server (e.g.
//!   `postgres://postgres@127.0.0.1:5432/postgres`), `postgres_contract` creates a database
//!   `kuelik_test_<random>` for the run, gives each contract test a schema of its own in it,
//!   runs them all, reports each by name and drops the database at the end. If the variable is
//!   set and the server is unreachable, the test fails. If it is unset, it says so and passes.
//!
//! All integration tests of the crate live in this one file (one test binary, one link).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use jiff::civil::{date, Date};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use sha2::Digest as _;
use sqlx::Connection;
use uuid::Uuid;

use kuelik_core::calendar::WorkingCalendar;
use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::{
    DocumentKind, DocumentStatus, InvalidationReason, OldCard, ReplacedCard,
};
use kuelik_core::iin::{Iin, Sex};
use kuelik_core::issuance;
use kuelik_core::lang::{Lang, Localized};
use kuelik_core::lifecycle::{
    Actor, AnnulmentComment, AnnulmentReason, Application, ApplicationId, ApplicationState,
    Command, Event, EventKind, LifecyclePolicy, Payment, Role, StaffId, SubmissionFacts,
};
use kuelik_core::money::Tiyn;
use kuelik_core::region::{PointId, RegionCode};
use kuelik_core::register::{Person, Phone, RegisteredDocument};
use kuelik_core::ticket::TicketNumber;
use kuelik_store::postgres::PostgresStore;
use kuelik_store::prelude::*;
use kuelik_store::sqlite::SqliteStore;
use kuelik_store::{
    ApplicationWrite, AuditEntry, AuditQuery, AuditSearch, Blob, ChainReach, ChainSource, Changes,
    ContactDetails, IdempotencyRecord, ImageCheck, Notice, OtpChallenge, OtpPurpose, OutboxMessage,
    OutboxRetry, PaymentRecord, PaymentStatus, QueueFilter, RegisterPhoto, ReminderSent,
    ReportPeriod, RuleActivation, SamePhoto, Session, SessionSubject, StaffAccount, Store,
    StoreError,
};

const PG_URL_VAR: &str = "KUELIK_TEST_DATABASE_URL";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

// =======================================================================================
// The harness
// =======================================================================================

/// A store under test, and a way around it to the same database.
struct Db {
    store: Arc<dyn Store>,
    backend: Backend,
}

enum Backend {
    Sqlite {
        path: PathBuf,
        _dir: Arc<tempfile::TempDir>,
    },
    Postgres {
        url: String,
    },
}

impl Db {
    fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Runs `sql` on a plain connection of its own, not through the store (the store has no
    /// path that updates or deletes events; this is how a tamperer would try).
    async fn raw(&self, sql: &str) -> Result<u64, String> {
        match &self.backend {
            Backend::Sqlite { path, .. } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| e.to_string())?;
                let done = sqlx::query(sql).execute(&mut conn).await;
                let _ = conn.close().await;
                done.map(|r| r.rows_affected()).map_err(|e| e.to_string())
            }
            Backend::Postgres { url } => {
                let mut conn = sqlx::postgres::PgConnection::connect(url)
                    .await
                    .map_err(|e| e.to_string())?;
                let done = sqlx::query(sql).execute(&mut conn).await;
                let _ = conn.close().await;
                done.map(|r| r.rows_affected()).map_err(|e| e.to_string())
            }
        }
    }

    /// Opens the same database again (its migrations are applied already).
    async fn reopen(&self) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Arc::new(SqliteStore::open(path).await.unwrap()),
            Backend::Postgres { url } => Arc::new(PostgresStore::open(url).await.unwrap()),
        }
    }
}

async fn sqlite_db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kuelik.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    Db {
        store: Arc::new(store),
        backend: Backend::Sqlite {
            path,
            _dir: Arc::new(dir),
        },
    }
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{database}?{q}"),
        None => format!("{root}/{database}"),
    }
}

/// `url` with a connection option putting `schema` first on the search path.
fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// A database of its own for one run of the PostgreSQL tests.
struct PgRun {
    admin_url: String,
    name: String,
    url: String,
}

impl PgRun {
    /// Creates `kuelik_test_<random>`. Panics (fails the test) if the server is unreachable:
    /// the variable was set, so PostgreSQL was expected.
    async fn create(admin_url: &str) -> PgRun {
        let mut admin = sqlx::postgres::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("{PG_URL_VAR} is set but PostgreSQL at {admin_url} is unreachable: {e}")
            });
        let name = format!("kuelik_test_{}", Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        admin.close().await.unwrap();
        PgRun {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    /// A fresh schema in the run's database and a store opened on it.
    async fn db(&self, schema: &str) -> Db {
        let mut conn = sqlx::postgres::PgConnection::connect(&self.url)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = with_schema(&self.url, schema);
        let store = PostgresStore::open(&url).await.unwrap();
        assert_eq!(store.backend(), "postgres");
        Db {
            store: Arc::new(store),
            backend: Backend::Postgres { url },
        }
    }

    async fn drop_database(self) {
        let mut admin = sqlx::postgres::PgConnection::connect(&self.admin_url)
            .await
            .unwrap();
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into()),
        Err(e) => e.to_string(),
    }
}

/// Declares the contract: one SQLite test per contract test, and the list the PostgreSQL
/// suite runs.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        const CONTRACT: &[(&str, fn(Db) -> BoxFuture<()>)] = &[
            $((stringify!($name), boxed::$name),)*
        ];

        mod boxed {
            $(
                pub fn $name(db: super::Db) -> super::BoxFuture<()> {
                    Box::pin(async move { super::$name(&db).await })
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::sqlite_db().await;
                    super::$name(&db).await;
                }
            )*
        }
    };
}

contract!(
    register_put_get_count_and_upsert,
    staff_accounts_and_unique_usernames,
    otp_attempts_are_limited_consumed_once_and_expire,
    sessions_expire_and_can_be_deleted,
    applications_move_through_commits_with_their_history,
    a_stale_version_is_a_conflict,
    one_live_application_per_person,
    tickets_are_unique,
    a_persons_applications_newest_first,
    work_queues_filter_and_order,
    blobs_are_stored_once_per_digest,
    payments_upsert_and_lookups,
    idempotency_records_and_duplicates,
    a_failing_commit_writes_nothing,
    events_and_audit_entries_are_append_only,
    outbox_leases_redelivery_failures_and_exactly_once_notices,
    concurrent_claims_never_share_a_message,
    inbox_order_and_marking_read,
    audit_entries_newest_first,
    the_audit_log_pages_and_finds_by_target_and_actor,
    the_registers_photo_is_kept_and_replaced_by_iin,
    concurrent_commits_all_land,
    reopening_applies_no_migration_and_keeps_data,
    reminders_go_once_per_card_to_those_who_want_them,
    image_checks_are_kept_per_image_and_find_reused_photos,
    retention_purges_images_of_finished_applications_only,
    the_audit_chain_reads_batches_by_reach,
    the_audit_horizon_waits_for_a_row_in_flight,
    the_audit_chain_takes_rows_listed_before_batches_once,
    officer_credentials_and_approvals,
    stuck_work_is_found_by_queries_and_retried_with_an_audit,
    reports_are_aggregated_by_the_database,
    finished_histories_are_archived_and_read_alike,
    an_event_stored_whole_is_read_back_and_counted,
    contact_details_and_rule_activations,
    a_hand_over_replaces_the_persons_document,
);

/// The store's connections run without JIT, and keep the options the URL gives (here the
/// schema the tests use).
#[tokio::test]
async fn postgres_connections_run_without_jit() {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        println!("{PG_URL_VAR} is not set: the PostgreSQL connection test was not run");
        return;
    };
    let run = PgRun::create(&admin_url).await;
    let mut conn = sqlx::postgres::PgConnection::connect(&run.url)
        .await
        .unwrap();
    sqlx::query("CREATE SCHEMA jitless")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let opened = PostgresStore::open(&with_schema(&run.url, "jitless")).await;
    let settings: Option<(String, String)> = match &opened {
        Ok(store) => sqlx::query_as("SELECT current_setting('jit'), current_schema()::text")
            .fetch_one(store.pool())
            .await
            .ok(),
        Err(_) => None,
    };
    drop(opened);
    run.drop_database().await;
    assert_eq!(settings, Some(("off".to_string(), "jitless".to_string())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_contract() {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        println!("{PG_URL_VAR} is not set: the PostgreSQL contract tests were not run");
        return;
    };
    let run = PgRun::create(&admin_url).await;
    println!("PostgreSQL contract tests in database {}", run.name);
    let mut failures = Vec::new();
    for (i, (name, test)) in CONTRACT.iter().enumerate() {
        let db = run.db(&format!("contract_{i}")).await;
        let started = Instant::now();
        // Spawned, so that a failing test is reported and the database still dropped.
        match tokio::spawn(test(db)).await {
            Ok(()) => println!("postgres::{name} ... ok ({:?})", started.elapsed()),
            Err(e) => {
                let message = panic_message(e);
                println!("postgres::{name} ... FAILED: {message}");
                failures.push(format!("{name}: {message}"));
            }
        }
    }
    run.drop_database().await;
    assert!(
        failures.is_empty(),
        "{} PostgreSQL contract test(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// =======================================================================================
// Domain values
// =======================================================================================

static CALENDAR: LazyLock<WorkingCalendar> = LazyLock::new(WorkingCalendar::builtin);

fn policy() -> LifecyclePolicy<'static> {
    LifecyclePolicy {
        calendar: &CALENDAR,
        processing_working_days: 15,
        review_timeout: kuelik_core::lifecycle::REVIEW_TIMEOUT,
    }
}

/// Thursday 11 December 2025, 09:00 in Almaty, plus `minutes`.
fn t(minutes: i64) -> Timestamp {
    let t0: Timestamp = "2025-12-11T04:00:00Z".parse().unwrap();
    t0.checked_add(SignedDuration::from_mins(minutes)).unwrap()
}

const DAY: i64 = 24 * 60;

/// A valid IIN per `n` (distinct `n`, distinct IINs).
fn iin(n: u16) -> Iin {
    // 500 people per birth date, 20 serials each to find one with a valid check digit.
    let born = date(1990, 5, 15)
        .checked_add(jiff::Span::new().days(i64::from(n / 500)))
        .unwrap();
    let first = (n % 500) * 20;
    (first..first + 20)
        .find_map(|serial| Iin::from_parts(born, Sex::Male, serial))
        .unwrap()
}

fn region(code: &str) -> RegionCode {
    code.parse().unwrap()
}

fn point(id: &str) -> PointId {
    id.parse().unwrap()
}

fn staff_id(n: u128) -> StaffId {
    StaffId(Uuid::from_u128(0x5747_0000 + n))
}

fn app_id(n: u128) -> ApplicationId {
    ApplicationId(Uuid::from_u128(0xa991_0000_0000 + n))
}

fn person(iin: Iin, address: &str) -> Person {
    Person {
        iin,
        surname: "Ахметов".into(),
        given_name: "Ерлан".into(),
        patronymic: Some("Серикович".into()),
        phone: Phone::parse("+7 701 123 45 67").unwrap(),
        language: Lang::Kk,
        region: region("71"),
        address: address.into(),
        document: RegisteredDocument {
            kind: DocumentKind::IdentityCard,
            number: "045678912".into(),
            issued_on: date(2016, 2, 1),
            last_valid_day: date(2026, 1, 31),
        },
    }
}

/// A person whose card is valid through `last_valid_day`.
fn person_valid_until(iin: Iin, last_valid_day: jiff::civil::Date) -> Person {
    let mut p = person(iin, "Astana");
    p.document.last_valid_day = last_valid_day;
    p
}

async fn reminders_go_once_per_card_to_those_who_want_them(db: &Db) {
    let s = db.store();
    let (early, inside, late, quiet, busy) = (iin(1), iin(2), iin(3), iin(4), iin(5));
    s.put_people(&[
        person_valid_until(early, date(2026, 3, 1)),
        person_valid_until(inside, date(2026, 1, 20)),
        person_valid_until(late, date(2025, 12, 1)),
        person_valid_until(quiet, date(2026, 1, 21)),
        person_valid_until(busy, date(2026, 1, 22)),
    ])
    .await
    .unwrap();
    s.set_reminder_opt_out(&quiet, true, t(0)).await.unwrap();
    assert!(s.reminder_opted_out(&quiet).await.unwrap());
    create(s, draft(1, busy, "71", t(0))).await;
    let window = (date(2026, 1, 1), date(2026, 1, 31));
    let due = s.people_to_remind(window.0, window.1, 10).await.unwrap();
    assert_eq!(due.iter().map(|p| p.iin).collect::<Vec<_>>(), vec![inside]);

    let sent = |who: Iin| ReminderSent {
        iin: who,
        last_valid_day: date(2026, 1, 20),
        sent_at: t(1),
    };
    s.commit(Changes {
        reminders: vec![sent(inside)],
        outbox: vec![outbox(1, t(1), t(1))],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert!(s
        .people_to_remind(window.0, window.1, 10)
        .await
        .unwrap()
        .is_empty());
    // A second reminder for the same card is refused with its notice.
    let again = s
        .commit(Changes {
            reminders: vec![sent(inside)],
            outbox: vec![outbox(2, t(2), t(2))],
            ..Changes::default()
        })
        .await;
    assert!(
        matches!(again, Err(StoreError::Duplicate("reminder"))),
        "{again:?}"
    );
    assert_eq!(s.outbox_backlog().await.unwrap(), 1);
    // A new card is a new window: reminded again.
    s.put_people(&[person_valid_until(inside, date(2036, 1, 20))])
        .await
        .unwrap();
    let next = s
        .people_to_remind(date(2036, 1, 1), date(2036, 1, 31), 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    // Opting back in.
    s.set_reminder_opt_out(&quiet, false, t(3)).await.unwrap();
    let due = s.people_to_remind(window.0, window.1, 10).await.unwrap();
    assert_eq!(due.iter().map(|p| p.iin).collect::<Vec<_>>(), vec![quiet]);
}

fn check(bytes: &[u8], verdict: &str, phash: Option<u64>, at: Timestamp) -> ImageCheck {
    ImageCheck {
        digest: sha(bytes),
        kind: "photo".into(),
        verdict: verdict.into(),
        perceptual_hash: phash,
        report: serde_json::json!({ "verdict": verdict, "measures": [] }),
        checked_at: at,
    }
}

async fn image_checks_are_kept_per_image_and_find_reused_photos(db: &Db) {
    let s = db.store();
    let (alice, bob) = (iin(1), iin(2));
    // u64::MAX also proves the hash survives the trip through the database unsigned.
    let hash = u64::MAX - 5;
    let first = check(b"photo-a", "warn", Some(hash), t(0));
    s.commit(Changes {
        image_checks: vec![first.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.image_check(&first.digest).await.unwrap(),
        Some(first.clone())
    );
    // Re-checked under a new profile: replaced, not duplicated.
    let again = check(b"photo-a", "fail", Some(hash), t(1));
    s.commit(Changes {
        image_checks: vec![again.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.image_check(&first.digest).await.unwrap(), Some(again));
    assert_eq!(s.image_check(&sha(b"never")).await.unwrap(), None);

    // Alice's application carries the photo; Bob's another photo with the same hash.
    let mut a = draft(1, alice, "71", t(0));
    a.photo = Some(sha(b"photo-a"));
    create(s, a.clone()).await;
    let mut b = draft(2, bob, "71", t(0));
    b.photo = Some(sha(b"photo-b"));
    create(s, b.clone()).await;
    s.commit(Changes {
        image_checks: vec![check(b"photo-b", "pass", Some(hash), t(2))],
        ..Changes::default()
    })
    .await
    .unwrap();
    // Named with what the officer's list shows: ticket, region and state.
    let named = |app: &Application| SamePhoto {
        id: app.id,
        ticket: None,
        region: "71".into(),
        state: ApplicationState::Draft,
    };
    assert_eq!(
        s.applications_with_photo_hash(hash, &alice).await.unwrap(),
        vec![named(&b)]
    );
    assert_eq!(
        s.applications_with_photo_hash(hash, &bob).await.unwrap(),
        vec![named(&a)]
    );
    assert!(s
        .applications_with_photo_hash(hash ^ 1, &alice)
        .await
        .unwrap()
        .is_empty());
}

async fn retention_purges_images_of_finished_applications_only(db: &Db) {
    let s = db.store();
    let (alice, bob) = (iin(1), iin(2));
    // Alice's application is withdrawn at t(5); Bob's is live and shares the signature image.
    let photo_a = blob(b"alice photo", "image/jpeg", t(0));
    let shared = blob(b"shared signature", "image/png", t(0));
    let mut a = create(s, draft(1, alice, "71", t(0))).await;
    step(
        s,
        &mut a,
        Command::AttachPhoto(photo_a.digest),
        citizen(alice),
        t(1),
    )
    .await;
    step(
        s,
        &mut a,
        Command::AttachSignature(shared.digest),
        citizen(alice),
        t(1),
    )
    .await;
    let mut b = create(s, draft(2, bob, "71", t(0))).await;
    step(
        s,
        &mut b,
        Command::AttachSignature(shared.digest),
        citizen(bob),
        t(1),
    )
    .await;
    s.commit(Changes {
        blobs: vec![photo_a.clone(), shared.clone()],
        image_checks: vec![check(b"alice photo", "pass", Some(1), t(1))],
        outbox: vec![],
        ..Changes::default()
    })
    .await
    .unwrap();
    step(s, &mut a, Command::Withdraw, citizen(alice), t(5)).await;

    // Not yet past the retention cut-off; live applications are never candidates.
    assert!(s.applications_to_purge(t(5), 10).await.unwrap().is_empty());
    assert_eq!(
        s.applications_to_purge(t(6), 10).await.unwrap(),
        vec![a.app.id]
    );

    let audit_entry = audit(9, t(7), "retention.purge");
    let deleted = s
        .purge_application_images(a.app.id, audit_entry, t(7))
        .await
        .unwrap();
    assert_eq!(
        deleted, 1,
        "the shared signature stays while Bob's application needs it"
    );
    assert!(s.blob(&photo_a.digest).await.unwrap().is_none());
    assert!(s.image_check(&photo_a.digest).await.unwrap().is_none());
    assert!(s.blob(&shared.digest).await.unwrap().is_some());
    assert!(
        s.applications_to_purge(t(60), 10).await.unwrap().is_empty(),
        "purged once"
    );
    assert!(s
        .audit_entries(10)
        .await
        .unwrap()
        .iter()
        .any(|e| e.action == "retention.purge"));
    // The application and its history stay: only the images go.
    assert_eq!(s.history(a.app.id).await.unwrap().len(), 3);
}

fn citizen(iin: Iin) -> Actor {
    Actor::Citizen { iin }
}

fn officer(n: u128, code: &str) -> Actor {
    Actor::Officer {
        staff: staff_id(n),
        region: region(code),
    }
}

fn production() -> Actor {
    Actor::ProductionOperator {
        staff: staff_id(90),
    }
}

fn desk(id: &str) -> Actor {
    Actor::PointOperator {
        staff: staff_id(91),
        point: point(id),
    }
}

fn ticket(n: u64) -> TicketNumber {
    TicketNumber::from_random_bits(0x1234_5678_0000 + n)
}

fn sha(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(sha2::Sha256::digest(bytes).into())
}

fn draft(n: u128, applicant: Iin, region_code: &str, created_at: Timestamp) -> Application {
    Application::new_draft(
        app_id(n),
        applicant,
        DocumentKind::IdentityCard,
        region(region_code),
        created_at,
    )
}

/// An application kept in step with the store: the value and its stored version.
struct Tracked {
    app: Application,
    version: i64,
}

impl Tracked {
    fn write(&self) -> ApplicationWrite {
        ApplicationWrite {
            application: self.app.clone(),
            expected_version: Some(self.version),
        }
    }
}

async fn create(store: &dyn Store, app: Application) -> Tracked {
    store
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: app.clone(),
                expected_version: None,
            }),
            ..Changes::default()
        })
        .await
        .unwrap();
    Tracked { app, version: 1 }
}

/// The hand-over of the new card against `ticket`, replacing the card `person` gives.
fn hand_over(ticket: TicketNumber) -> Command {
    Command::HandOver {
        ticket,
        replaced: ReplacedCard {
            kind: DocumentKind::IdentityCard,
            number: "045678912".into(),
            old_card: OldCard::Surrendered,
        },
    }
}

/// Decides `command` and commits the new state with its event.
async fn step(
    store: &dyn Store,
    tracked: &mut Tracked,
    command: Command,
    actor: Actor,
    at: Timestamp,
) -> Event {
    let mut next = tracked.app.clone();
    let event = next
        .handle(&command, &actor, at, &policy())
        .unwrap_or_else(|e| panic!("{}: {e}", command.name()));
    store
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: next.clone(),
                expected_version: Some(tracked.version),
            }),
            events: vec![event.clone()],
            ..Changes::default()
        })
        .await
        .unwrap_or_else(|e| panic!("commit {}: {e}", command.name()));
    tracked.app = next;
    tracked.version += 1;
    event
}

/// A draft taken to `submitted` at `at` (point, photo, signature, payment, submit).
async fn submitted(
    store: &dyn Store,
    n: u128,
    applicant: Iin,
    point_id: &str,
    ticket_no: TicketNumber,
    at: Timestamp,
) -> (Tracked, Vec<Event>) {
    let region_code = &point_id[..2];
    let mut app = create(store, draft(n, applicant, region_code, at)).await;
    let who = citizen(applicant);
    let mut events = vec![
        step(
            store,
            &mut app,
            Command::ChooseRegistrationPoint(point(point_id)),
            who.clone(),
            at,
        )
        .await,
        step(
            store,
            &mut app,
            Command::AttachPhoto(sha(b"photo")),
            who.clone(),
            at,
        )
        .await,
        step(
            store,
            &mut app,
            Command::AttachSignature(sha(b"signature")),
            who.clone(),
            at,
        )
        .await,
    ];
    let payment = Payment {
        reference: format!("GW-{n}"),
        amount: Tiyn(78_640),
        paid_at: at,
    };
    events.push(
        step(
            store,
            &mut app,
            Command::RecordPayment(payment),
            Actor::System,
            at,
        )
        .await,
    );
    events.push(
        step(
            store,
            &mut app,
            Command::Submit {
                ticket: ticket_no,
                facts: SubmissionFacts::ALL_CLEAR,
            },
            who,
            at,
        )
        .await,
    );
    (app, events)
}

async fn queued(
    store: &dyn Store,
    n: u128,
    applicant: Iin,
    point_id: &str,
    at: Timestamp,
) -> Tracked {
    let (mut app, _) = submitted(store, n, applicant, point_id, ticket(n as u64), at).await;
    step(store, &mut app, Command::Route, Actor::System, at).await;
    app
}

fn audit(n: u128, at: Timestamp, action: &str) -> AuditEntry {
    AuditEntry {
        id: Uuid::from_u128(0xa0d1_0000 + n),
        at,
        actor: officer(1, "71"),
        action: action.into(),
        target: Some(app_id(n).to_string()),
        details: json!({ "n": n as u64, "note": "проверено", "nested": { "ok": true } }),
    }
}

fn outbox(n: u128, created_at: Timestamp, due: Timestamp) -> OutboxMessage {
    OutboxMessage {
        id: Uuid::from_u128(0x0b0c_0000 + n),
        topic: "notice".into(),
        payload: json!({ "n": n as u64 }),
        created_at,
        attempts: 0,
        next_attempt_at: due,
        delivered_at: None,
        last_error: None,
    }
}

fn notice(id: Uuid, to: Iin, created_at: Timestamp) -> Notice {
    Notice {
        id,
        iin: to,
        application: Some(app_id(1)),
        kind: "submitted".into(),
        message: Localized {
            kk: "Өтінім қабылданды".into(),
            ru: "Заявка принята".into(),
            en: "Application received".into(),
        },
        created_at,
        read_at: None,
    }
}

fn idempotency(scope: &str, key: &str, at: Timestamp) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.into(),
        key: key.into(),
        request_digest: sha(key.as_bytes()),
        status: 201,
        body: json!({ "id": key, "items": [1, 2, 3] }),
        created_at: at,
    }
}

fn payment_record(n: u128, app: ApplicationId, payer: Iin, at: Timestamp) -> PaymentRecord {
    PaymentRecord {
        id: Uuid::from_u128(0xba1d_0000 + n),
        application: app,
        payer,
        amount: Tiyn(78_640),
        status: PaymentStatus::Pending,
        gateway_reference: format!("GW-REF-{n}"),
        created_at: at,
        updated_at: at,
    }
}

fn ids(apps: &[kuelik_store::StoredApplication]) -> Vec<ApplicationId> {
    apps.iter().map(|s| s.application.id).collect()
}

// =======================================================================================
// The contract
// =======================================================================================

/// put_people writes and replaces by IIN (the last of duplicates wins), person reads back
/// exactly what was written, count_people counts distinct people.
async fn register_put_get_count_and_upsert(db: &Db) {
    let s = db.store();
    assert_eq!(s.count_people().await.unwrap(), 0);
    let (a, b) = (iin(1), iin(2));
    let written = s
        .put_people(&[
            person(a, "old address"),
            person(b, "Astana, Mangilik El 1"),
            person(a, "Astana, Abai 10"),
        ])
        .await
        .unwrap();
    assert_eq!(written, 2);
    assert_eq!(s.count_people().await.unwrap(), 2);
    assert_eq!(
        s.person(&a).await.unwrap(),
        Some(person(a, "Astana, Abai 10"))
    );
    assert_eq!(
        s.person(&b).await.unwrap(),
        Some(person(b, "Astana, Mangilik El 1"))
    );
    assert_eq!(s.person(&iin(3)).await.unwrap(), None);

    // Upsert: replaces, adds, never duplicates.
    let mut moved = person(b, "Almaty, Dostyk 5");
    moved.region = region("75");
    assert_eq!(
        s.put_people(&[moved.clone(), person(iin(3), "x")])
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.count_people().await.unwrap(), 3);
    assert_eq!(s.person(&b).await.unwrap(), Some(moved));
    assert_eq!(s.put_people(&[]).await.unwrap(), 0);

    // More than one statement's and one job's worth in a single call.
    let many: Vec<Person> = (100..2600).map(|n| person(iin(n), "bulk")).collect();
    assert_eq!(s.put_people(&many).await.unwrap(), 2500);
    assert_eq!(s.count_people().await.unwrap(), 2503);
    assert_eq!(
        s.person(&iin(2599)).await.unwrap(),
        Some(many[2499].clone())
    );
}

fn account(n: u128, username: &str, role: Role) -> StaffAccount {
    StaffAccount {
        id: staff_id(n),
        username: username.into(),
        display_name: format!("Staff {n}"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role,
        region: (role == Role::Officer).then(|| region("71")),
        point: (role == Role::PointOperator).then(|| point("71-01")),
        active: true,
        created_at: t(0),
        iin: None,
    }
}

/// Staff accounts read back by id and username; a taken username is
/// `Duplicate("username")` and changes nothing.
async fn staff_accounts_and_unique_usernames(db: &Db) {
    let s = db.store();
    let officer = account(1, "zhanna.officer", Role::Officer);
    let desk = account(2, "arman.desk", Role::PointOperator);
    s.add_staff(&officer).await.unwrap();
    s.add_staff(&desk).await.unwrap();
    assert_eq!(s.staff(officer.id).await.unwrap(), Some(officer.clone()));
    assert_eq!(
        s.staff_by_username("arman.desk").await.unwrap(),
        Some(desk.clone())
    );
    assert_eq!(s.staff_by_username("nobody").await.unwrap(), None);
    assert_eq!(s.staff(staff_id(99)).await.unwrap(), None);

    let clash = account(3, "zhanna.officer", Role::Administrator);
    match s.add_staff(&clash).await {
        Err(StoreError::Duplicate("username")) => {}
        other => panic!("expected Duplicate(username), got {other:?}"),
    }
    assert_eq!(s.staff(clash.id).await.unwrap(), None);
    // Ordered by username.
    assert_eq!(s.list_staff().await.unwrap(), vec![desk, officer]);
}

fn challenge(n: u128, to: Iin, created_at: Timestamp, minutes: i64) -> OtpChallenge {
    OtpChallenge {
        id: Uuid::from_u128(0x0700_0000 + n),
        iin: to,
        purpose: OtpPurpose::ConfirmSubmission {
            application: app_id(n),
        },
        code_hash: vec![n as u8; 32],
        created_at,
        expires_at: created_at
            .checked_add(SignedDuration::from_mins(minutes))
            .unwrap(),
        attempts: 0,
        consumed_at: None,
    }
}

/// attempt_otp counts attempts up to the limit (also under concurrent guesses), not after
/// consumption nor expiry; consume_otp works once.
async fn otp_attempts_are_limited_consumed_once_and_expire(db: &Db) {
    let s = db.store();
    let otp = challenge(1, iin(1), t(0), 5);
    s.put_otp(&otp).await.unwrap();
    for expected in 1..=3u32 {
        let counted = s.attempt_otp(otp.id, t(1), 3).await.unwrap().unwrap();
        assert_eq!(counted.attempts, expected);
        assert_eq!(
            counted,
            OtpChallenge {
                attempts: expected,
                ..otp.clone()
            }
        );
    }
    assert_eq!(s.attempt_otp(otp.id, t(1), 3).await.unwrap(), None);
    // A limit is a limit: a higher one later counts on from the stored attempts.
    assert_eq!(
        s.attempt_otp(otp.id, t(1), 4)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        4
    );

    // Concurrent guesses cannot exceed the limit.
    let racing = challenge(2, iin(1), t(0), 5);
    s.put_otp(&racing).await.unwrap();
    let guesses = (0..12).map(|_| {
        let store = db.store.clone();
        tokio::spawn(async move { store.attempt_otp(racing.id, t(1), 5).await.unwrap() })
    });
    let mut counted = Vec::new();
    for guess in guesses {
        if let Some(c) = guess.await.unwrap() {
            counted.push(c.attempts);
        }
    }
    counted.sort();
    assert_eq!(counted, vec![1, 2, 3, 4, 5]);

    // A code works once; after that no attempt counts.
    let once = challenge(3, iin(2), t(0), 5);
    s.put_otp(&once).await.unwrap();
    assert!(s.attempt_otp(once.id, t(2), 5).await.unwrap().is_some());
    assert!(s.consume_otp(once.id, t(2)).await.unwrap());
    assert!(!s.consume_otp(once.id, t(3)).await.unwrap());
    assert_eq!(s.attempt_otp(once.id, t(3), 5).await.unwrap(), None);

    // Expired at expires_at.
    let expiring = challenge(4, iin(2), t(0), 5);
    s.put_otp(&expiring).await.unwrap();
    assert!(s.attempt_otp(expiring.id, t(4), 5).await.unwrap().is_some());
    assert_eq!(s.attempt_otp(expiring.id, t(5), 5).await.unwrap(), None);
    assert_eq!(s.attempt_otp(expiring.id, t(60), 5).await.unwrap(), None);
    assert_eq!(
        s.attempt_otp(Uuid::from_u128(1), t(0), 5).await.unwrap(),
        None
    );
    assert!(!s.consume_otp(Uuid::from_u128(1), t(0)).await.unwrap());

    // Other purposes round-trip too.
    let sign_in = OtpChallenge {
        id: Uuid::from_u128(0x0700_0099),
        purpose: OtpPurpose::SignIn,
        ..challenge(5, iin(3), t(0), 5)
    };
    s.put_otp(&sign_in).await.unwrap();
    assert_eq!(
        s.attempt_otp(sign_in.id, t(0), 5)
            .await
            .unwrap()
            .unwrap()
            .purpose,
        OtpPurpose::SignIn
    );

    // Read back as stored (to say why a code is refused), with its attempts.
    let stored = s.otp(once.id).await.unwrap().unwrap();
    assert_eq!((stored.attempts, stored.consumed_at), (1, Some(t(2))));
    assert_eq!(s.otp(Uuid::from_u128(1)).await.unwrap(), None);

    // Each kind of code has its own count: iin(3) has one sign-in code and no submission
    // code (challenge 5 was replaced by the sign-in one above), iin(2) two submission codes.
    let submission = OtpPurpose::ConfirmSubmission {
        application: kuelik_core::lifecycle::ApplicationId(Uuid::from_u128(42)),
    };
    let count = |who, purpose| {
        let purpose: OtpPurpose = purpose;
        async move { s.otps_since(&iin(who), &purpose, t(0)).await.unwrap() }
    };
    assert_eq!(count(3, OtpPurpose::SignIn).await, 1);
    assert_eq!(count(3, submission.clone()).await, 0);
    assert_eq!(count(2, submission.clone()).await, 2, "any application's");
    assert_eq!(count(2, OtpPurpose::SignIn).await, 0);
    assert_eq!(
        s.otps_since(&iin(2), &submission, t(1)).await.unwrap(),
        0,
        "since"
    );
}

/// A session is found until it expires, then not; deleting one ends it.
async fn sessions_expire_and_can_be_deleted(db: &Db) {
    let s = db.store();
    let citizen_session = Session {
        token_hash: vec![1; 32],
        subject: SessionSubject::Citizen { iin: iin(1) },
        created_at: t(0),
        expires_at: t(30),
    };
    let staff_session = Session {
        token_hash: vec![2; 32],
        subject: SessionSubject::Staff { id: staff_id(1) },
        created_at: t(0),
        expires_at: t(60),
    };
    s.put_session(&citizen_session).await.unwrap();
    s.put_session(&staff_session).await.unwrap();
    // Signed in: a citizen's session alone; a staff session with its account, once the
    // account exists.
    assert_eq!(
        s.signed_in(&[1; 32], t(29)).await.unwrap(),
        Some((citizen_session.clone(), None))
    );
    assert_eq!(
        s.signed_in(&[2; 32], t(1)).await.unwrap(),
        Some((staff_session.clone(), None))
    );
    let clerk = account(1, "clerk", Role::Officer);
    s.commit(Changes {
        staff: vec![clerk.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.signed_in(&[2; 32], t(1)).await.unwrap(),
        Some((staff_session.clone(), Some(clerk)))
    );
    assert_eq!(s.signed_in(&[2; 32], t(60)).await.unwrap(), None);
    assert_eq!(s.signed_in(&[3; 32], t(0)).await.unwrap(), None);
    assert_eq!(
        s.session(&[1; 32], t(29)).await.unwrap(),
        Some(citizen_session.clone())
    );
    assert_eq!(s.session(&[1; 32], t(30)).await.unwrap(), None);
    assert_eq!(s.session(&[3; 32], t(0)).await.unwrap(), None);
    assert_eq!(
        s.session(&[2; 32], t(1)).await.unwrap(),
        Some(staff_session)
    );
    s.delete_session(&[2; 32]).await.unwrap();
    assert_eq!(s.session(&[2; 32], t(1)).await.unwrap(), None);
    // Deleting a missing session is not an error.
    s.delete_session(&[2; 32]).await.unwrap();
    assert_eq!(
        s.session(&[1; 32], t(1)).await.unwrap(),
        Some(citizen_session)
    );
}

/// An application created and taken along the whole main road, one commit per step: the
/// stored value and version follow, the history is every event in order, the ticket finds it.
async fn applications_move_through_commits_with_their_history(db: &Db) {
    let s = db.store();
    let applicant = iin(1);
    let no = ticket(1);
    let (mut app, mut events) = submitted(s, 1, applicant, "71-01", no, t(0)).await;
    assert_eq!(app.app.state, ApplicationState::Submitted);
    let road = [
        (Command::Route, Actor::System),
        (Command::Take, officer(1, "71")),
        (Command::Approve, officer(1, "71")),
        (Command::StartProduction, production()),
        (
            Command::Dispatch {
                document_number: "041234567".into(),
            },
            production(),
        ),
        (Command::Receive, desk("71-01")),
        (hand_over(no), desk("71-01")),
    ];
    for (i, (command, actor)) in road.into_iter().enumerate() {
        events.push(step(s, &mut app, command, actor, t(10 * (i as i64 + 1))).await);
        let stored = s.application(app.app.id).await.unwrap().unwrap();
        assert_eq!(stored.application, app.app);
        assert_eq!(stored.version, app.version);
    }
    assert_eq!(app.app.state, ApplicationState::Issued);
    assert_eq!(app.version, 13, "created, then 12 steps");
    assert_eq!(app.app.due_date, Some(date(2026, 1, 6)));

    let history = s.history(app.app.id).await.unwrap();
    assert_eq!(history, events);
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"registration_point_chosen"));
    assert_eq!(kinds.last(), Some(&"handed_over"));
    for pair in history.windows(2) {
        assert_eq!(pair[0].to, pair[1].from);
    }
    // The timeline is the same events, read from their columns.
    let timeline = s.timeline(app.app.id).await.unwrap();
    assert_eq!(timeline.len(), history.len());
    for (entry, event) in timeline.iter().zip(&history) {
        assert_eq!(entry.kind, event.kind.as_str());
        assert_eq!((entry.from, entry.to), (event.from, event.to));
        assert_eq!(entry.actor_role, event.actor.role().as_str());
        assert_eq!(entry.at.as_microsecond(), event.at.as_microsecond());
    }
    assert_eq!(s.timeline(app_id(999)).await.unwrap(), vec![]);
    // The status read's record: the application, the same timeline, no payments here.
    let record = s.application_record(app.app.id).await.unwrap().unwrap();
    assert_eq!(record.stored.application, app.app);
    assert_eq!(record.stored.version, 13);
    assert_eq!(record.timeline, timeline);
    assert_eq!(record.payments, vec![]);
    assert_eq!(s.application_record(app_id(999)).await.unwrap(), None);
    // The same record with the session that asks for it, read together; each found or not
    // on its own (who may see what is the caller's to decide).
    let session = Session {
        token_hash: vec![7; 32],
        subject: SessionSubject::Citizen {
            iin: app.app.applicant,
        },
        created_at: t(0),
        expires_at: t(100 * DAY),
    };
    s.put_session(&session).await.unwrap();
    let both = s
        .signed_in_record(&[7; 32], t(DAY), app.app.id)
        .await
        .unwrap();
    assert_eq!(both.signed_in, Some((session.clone(), None)));
    assert_eq!(both.record.as_ref(), Some(&record));
    let stranger = s
        .signed_in_record(&[8; 32], t(DAY), app.app.id)
        .await
        .unwrap();
    assert_eq!((stranger.signed_in, stranger.record), (None, Some(record)));
    let expired = s
        .signed_in_record(&[7; 32], t(100 * DAY), app_id(999))
        .await
        .unwrap();
    assert_eq!((expired.signed_in, expired.record), (None, None));

    let by_ticket = s.application_by_ticket(&no).await.unwrap().unwrap();
    assert_eq!(by_ticket.application, app.app);
    assert_eq!(by_ticket.version, 13);
    // Typed by a person: case and hyphens do not matter, the stored form is canonical.
    let typed = TicketNumber::parse(&no.to_string().to_lowercase()).unwrap();
    assert!(s.application_by_ticket(&typed).await.unwrap().is_some());
    assert_eq!(s.application_by_ticket(&ticket(2)).await.unwrap(), None);
    assert_eq!(s.application(app_id(999)).await.unwrap(), None);
    assert_eq!(s.history(app_id(999)).await.unwrap(), vec![]);
}

/// Optimistic concurrency: a write with an old version is `Conflict` and writes nothing
/// (not even its events); creating an existing application or updating a missing one too.
async fn a_stale_version_is_a_conflict(db: &Db) {
    let s = db.store();
    let applicant = iin(1);
    let mut app = create(s, draft(1, applicant, "71", t(0))).await;
    let stale = Tracked {
        app: app.app.clone(),
        version: app.version,
    };
    step(
        s,
        &mut app,
        Command::ChooseRegistrationPoint(point("71-01")),
        citizen(applicant),
        t(1),
    )
    .await;

    // Another request decided on the version it read before.
    let mut theirs = stale.app.clone();
    let event = theirs
        .handle(
            &Command::ChooseRegistrationPoint(point("71-02")),
            &citizen(applicant),
            t(2),
            &policy(),
        )
        .unwrap();
    let result = s
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: theirs,
                expected_version: Some(stale.version),
            }),
            events: vec![event],
            audit: vec![audit(1, t(2), "application.choose_point")],
            ..Changes::default()
        })
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    let stored = s.application(app.app.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.application.registration_point, Some(point("71-01")));
    assert_eq!(s.history(app.app.id).await.unwrap().len(), 1);
    assert!(s.audit_entries(10).await.unwrap().is_empty());

    // A version from the future is no better.
    let ahead = ApplicationWrite {
        application: app.app.clone(),
        expected_version: Some(app.version + 1),
    };
    assert!(matches!(
        s.commit(Changes {
            application: Some(ahead),
            ..Changes::default()
        })
        .await,
        Err(StoreError::Conflict)
    ));

    // Creating what exists, updating what does not.
    let again = s
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: draft(1, iin(2), "71", t(0)),
                expected_version: None,
            }),
            ..Changes::default()
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let missing = s
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: draft(2, iin(3), "71", t(0)),
                expected_version: Some(1),
            }),
            ..Changes::default()
        })
        .await;
    assert!(matches!(missing, Err(StoreError::Conflict)), "{missing:?}");
    assert_eq!(s.application(app_id(2)).await.unwrap(), None);

    // The current version still works.
    step(
        s,
        &mut app,
        Command::AttachPhoto(sha(b"photo")),
        citizen(applicant),
        t(3),
    )
    .await;
    assert_eq!(s.application(app.app.id).await.unwrap().unwrap().version, 3);
}

fn expect_live_duplicate(result: Result<(), StoreError>) {
    match result {
        Err(StoreError::Duplicate("live_application")) => {}
        other => panic!("expected Duplicate(live_application), got {other:?}"),
    }
}

async fn try_create(store: &dyn Store, app: Application) -> Result<(), StoreError> {
    store
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: app,
                expected_version: None,
            }),
            ..Changes::default()
        })
        .await
}

/// R13: while a person has a live application a second one is refused
/// (`Duplicate("live_application")`); once it is withdrawn, annulled or issued they may
/// apply again. Other people are not affected.
async fn one_live_application_per_person(db: &Db) {
    let s = db.store();
    let x = iin(1);
    let who = citizen(x);

    // A draft is live.
    let mut first = create(s, draft(1, x, "71", t(0))).await;
    expect_live_duplicate(try_create(s, draft(2, x, "71", t(1))).await);
    assert_eq!(s.application(app_id(2)).await.unwrap(), None);
    // Someone else may apply meanwhile.
    create(s, draft(3, iin(2), "71", t(1))).await;

    // Withdrawn → may apply again.
    step(s, &mut first, Command::Withdraw, who.clone(), t(2)).await;
    let (mut second, _) = submitted(s, 4, x, "71-01", ticket(4), t(3)).await;
    expect_live_duplicate(try_create(s, draft(5, x, "71", t(4))).await);

    // Annulled → may apply again.
    step(s, &mut second, Command::Route, Actor::System, t(5)).await;
    step(s, &mut second, Command::Take, officer(1, "71"), t(6)).await;
    step(
        s,
        &mut second,
        Command::Annul {
            reason: AnnulmentReason::PhotoNonCompliant,
            comment: AnnulmentComment::parse("The background is not plain white.").unwrap(),
        },
        officer(1, "71"),
        t(7),
    )
    .await;
    let (mut third, _) = submitted(s, 6, x, "71-01", ticket(6), t(8)).await;
    expect_live_duplicate(try_create(s, draft(7, x, "71", t(9))).await);

    // Issued → may apply again.
    let no = third.app.ticket.unwrap();
    for (command, actor) in [
        (Command::Route, Actor::System),
        (Command::Take, officer(1, "71")),
        (Command::Approve, officer(1, "71")),
        (Command::StartProduction, production()),
        (
            Command::Dispatch {
                document_number: "041234567".into(),
            },
            production(),
        ),
        (Command::Receive, desk("71-01")),
        (hand_over(no), desk("71-01")),
    ] {
        // Live all the way until handed over.
        expect_live_duplicate(try_create(s, draft(8, x, "71", t(10))).await);
        step(s, &mut third, command, actor, t(10)).await;
    }
    create(s, draft(9, x, "71", t(11))).await;
    expect_live_duplicate(try_create(s, draft(10, x, "71", t(12))).await);

    let mine = ids(&s.applications_of(&x).await.unwrap());
    assert_eq!(mine, vec![app_id(9), app_id(6), app_id(4), app_id(1)]);
}

/// Two applications cannot hold the same ticket: `Duplicate("ticket")`, and the losing
/// submission is not written.
async fn tickets_are_unique(db: &Db) {
    let s = db.store();
    let shared = ticket(7);
    submitted(s, 1, iin(1), "71-01", shared, t(0)).await;
    let (mut other, _) = submitted(s, 2, iin(2), "71-01", ticket(8), t(0)).await;
    assert_eq!(other.version, 6);

    // A third one, ready to submit.
    let who = citizen(iin(3));
    let mut loser = create(s, draft(3, iin(3), "71", t(0))).await;
    let pay = Payment {
        reference: "GW-3".into(),
        amount: Tiyn(78_640),
        paid_at: t(0),
    };
    for (command, actor) in [
        (
            Command::ChooseRegistrationPoint(point("71-01")),
            who.clone(),
        ),
        (Command::AttachPhoto(sha(b"p")), who.clone()),
        (Command::AttachSignature(sha(b"s")), who.clone()),
        (Command::RecordPayment(pay), Actor::System),
    ] {
        step(s, &mut loser, command, actor, t(0)).await;
    }
    let mut next = loser.app.clone();
    let event = next
        .handle(
            &Command::Submit {
                ticket: shared,
                facts: SubmissionFacts::ALL_CLEAR,
            },
            &citizen(iin(3)),
            t(1),
            &policy(),
        )
        .unwrap();
    let result = s
        .commit(Changes {
            application: Some(ApplicationWrite {
                application: next,
                expected_version: Some(loser.version),
            }),
            events: vec![event],
            ..Changes::default()
        })
        .await;
    match result {
        Err(StoreError::Duplicate("ticket")) => {}
        other => panic!("expected Duplicate(ticket), got {other:?}"),
    }
    let stored = s.application(app_id(3)).await.unwrap().unwrap();
    assert_eq!(stored.application.state, ApplicationState::Draft);
    assert_eq!(stored.version, loser.version);
    assert_eq!(s.history(app_id(3)).await.unwrap().len(), 4);
    // With a ticket of its own it goes through.
    step(
        s,
        &mut loser,
        Command::Submit {
            ticket: ticket(9),
            facts: SubmissionFacts::ALL_CLEAR,
        },
        citizen(iin(3)),
        t(2),
    )
    .await;
    // Routing the other one (an update keeping its ticket) is no clash with itself.
    step(s, &mut other, Command::Route, Actor::System, t(3)).await;
    assert_eq!(
        s.application_by_ticket(&shared)
            .await
            .unwrap()
            .unwrap()
            .application
            .id,
        app_id(1)
    );
}

/// applications_of lists one person's applications, newest first, and nobody else's.
async fn a_persons_applications_newest_first(db: &Db) {
    let s = db.store();
    let x = iin(1);
    // Created out of id order; only the last one is still live.
    for (n, day) in [(1u128, 0i64), (3, 1), (2, 2)] {
        let mut app = create(s, draft(n, x, "71", t(day * DAY))).await;
        if n != 2 {
            step(s, &mut app, Command::Withdraw, citizen(x), t(day * DAY + 1)).await;
        }
    }
    create(s, draft(4, iin(2), "71", t(5 * DAY))).await;
    let mine = s.applications_of(&x).await.unwrap();
    assert_eq!(ids(&mine), vec![app_id(2), app_id(3), app_id(1)]);
    assert_eq!(mine[0].version, 1);
    assert_eq!(mine[1].version, 2);
    assert_eq!(mine[1].application.state, ApplicationState::Withdrawn);
    assert_eq!(
        ids(&s.applications_of(&iin(2)).await.unwrap()),
        vec![app_id(4)]
    );
    assert!(s.applications_of(&iin(3)).await.unwrap().is_empty());
}

/// work_queue filters by state, region, point and taken_before, and orders by due date,
/// then submission time, then id.
async fn work_queues_filter_and_order(db: &Db) {
    let s = db.store();
    // Submitted on Thursday 11 Dec 2025 → due 6 Jan; on Friday 12 Dec → due 8 Jan
    // (the later submission is due later).
    let early = t(0);
    let later_same_day = t(60);
    let next_day = t(DAY);
    queued(s, 5, iin(5), "71-01", next_day).await; // due later
    queued(s, 4, iin(4), "71-02", later_same_day).await; // same due date, submitted later
    queued(s, 3, iin(3), "71-01", early).await; // tie on due date and time with 2: id decides
    queued(s, 2, iin(2), "71-01", early).await;
    queued(s, 6, iin(6), "75-01", early).await; // another region
    submitted(s, 7, iin(7), "71-01", ticket(7), early).await; // submitted, not queued
    let mut reviewed = queued(s, 8, iin(8), "71-01", early).await;
    step(s, &mut reviewed, Command::Take, officer(1, "71"), t(120)).await;
    let mut fresh_review = queued(s, 9, iin(9), "71-02", early).await;
    step(
        s,
        &mut fresh_review,
        Command::Take,
        officer(2, "71"),
        t(600),
    )
    .await;

    let queue = |filter: QueueFilter, limit: u32| async move {
        ids(&s.work_queue(&filter, limit).await.unwrap())
    };
    assert_eq!(
        queue(QueueFilter::state(ApplicationState::Queued), 100).await,
        vec![app_id(2), app_id(3), app_id(6), app_id(4), app_id(5)]
    );
    assert_eq!(
        queue(QueueFilter::state(ApplicationState::Queued), 2).await,
        vec![app_id(2), app_id(3)]
    );
    let astana = QueueFilter {
        region: Some(region("71")),
        ..QueueFilter::state(ApplicationState::Queued)
    };
    assert_eq!(
        queue(astana.clone(), 100).await,
        vec![app_id(2), app_id(3), app_id(4), app_id(5)]
    );
    let desk_two = QueueFilter {
        point: Some(point("71-02")),
        ..astana.clone()
    };
    assert_eq!(queue(desk_two, 100).await, vec![app_id(4)]);
    let almaty = QueueFilter {
        region: Some(region("75")),
        ..QueueFilter::state(ApplicationState::Queued)
    };
    assert_eq!(queue(almaty, 100).await, vec![app_id(6)]);
    assert_eq!(
        queue(QueueFilter::state(ApplicationState::Submitted), 100).await,
        vec![app_id(7)]
    );
    assert!(queue(QueueFilter::state(ApplicationState::Approved), 100)
        .await
        .is_empty());

    // Abandoned reviews: taken before the cut-off.
    let reviews = QueueFilter::state(ApplicationState::UnderReview);
    assert_eq!(
        queue(reviews.clone(), 100).await,
        vec![app_id(8), app_id(9)]
    );
    let abandoned = QueueFilter {
        taken_before: Some(t(300)),
        ..reviews.clone()
    };
    assert_eq!(queue(abandoned, 100).await, vec![app_id(8)]);
    let none_yet = QueueFilter {
        taken_before: Some(t(120)),
        ..reviews
    };
    assert!(queue(none_yet, 100).await.is_empty());

    // The stored value is the whole application.
    let first = s
        .work_queue(&QueueFilter::state(ApplicationState::UnderReview), 1)
        .await
        .unwrap();
    assert_eq!(first[0].application, reviewed.app);
    assert_eq!(first[0].version, reviewed.version);
}

fn blob(bytes: &[u8], content_type: &str, at: Timestamp) -> Blob {
    Blob {
        digest: sha(bytes),
        content_type: content_type.into(),
        bytes: bytes.to_vec(),
        created_at: at,
    }
}

/// Blobs are stored under the SHA-256 of their bytes, once: the same bytes again are not
/// stored twice (the first copy stays); a digest that does not match the bytes is refused.
async fn blobs_are_stored_once_per_digest(db: &Db) {
    let s = db.store();
    let photo: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let first = blob(&photo, "image/jpeg", t(0));
    s.commit(Changes {
        blobs: vec![first.clone(), blob(b"signature", "image/png", t(0))],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.blob(&first.digest).await.unwrap(), Some(first.clone()));

    // The same content again (in the same commit twice, and later): no error, no copy.
    s.commit(Changes {
        blobs: vec![
            blob(&photo, "image/jpeg", t(5)),
            blob(&photo, "image/jpeg", t(6)),
        ],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.blob(&first.digest).await.unwrap(), Some(first));
    assert_eq!(
        s.blob(&sha(b"signature")).await.unwrap().unwrap().bytes,
        b"signature"
    );
    assert_eq!(s.blob(&sha(b"nothing")).await.unwrap(), None);
    let rows = db.raw("UPDATE blobs SET size = size").await.unwrap();
    assert_eq!(rows, 2, "two distinct blobs stored");

    // A digest that is not the bytes' is refused, with the rest of its commit.
    let forged = Blob {
        digest: sha(b"innocent"),
        ..blob(b"something else", "image/jpeg", t(7))
    };
    let result = s
        .commit(Changes {
            blobs: vec![blob(b"honest", "image/png", t(7)), forged],
            ..Changes::default()
        })
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(s.blob(&sha(b"innocent")).await.unwrap(), None);
    assert_eq!(s.blob(&sha(b"honest")).await.unwrap(), None);
}

/// Payments are upserted by id, found by id, reference, application and status; a
/// gateway reference is unique (`Duplicate("payment_reference")`).
async fn payments_upsert_and_lookups(db: &Db) {
    let s = db.store();
    let x = iin(1);
    let app = create(s, draft(1, x, "71", t(0))).await;
    let other = create(s, draft(2, iin(2), "71", t(0))).await;
    let mut p1 = payment_record(1, app.app.id, x, t(1));
    let p2 = payment_record(2, other.app.id, iin(2), t(2));
    s.commit(Changes {
        payments: vec![p1.clone(), p2.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.payment(p1.id).await.unwrap(), Some(p1.clone()));
    assert_eq!(
        s.payment_by_reference("GW-REF-2").await.unwrap(),
        Some(p2.clone())
    );
    assert_eq!(s.payment_by_reference("GW-REF-9").await.unwrap(), None);
    assert_eq!(s.payment(Uuid::from_u128(5)).await.unwrap(), None);
    assert_eq!(
        s.payments_in(PaymentStatus::Pending, 10).await.unwrap(),
        vec![p1.clone(), p2.clone()]
    );

    // The gateway confirms: same id, new status.
    p1.status = PaymentStatus::Confirmed;
    p1.updated_at = t(3);
    s.commit(Changes {
        payments: vec![p1.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.payment(p1.id).await.unwrap(), Some(p1.clone()));
    assert_eq!(
        s.payments_in(PaymentStatus::Confirmed, 10).await.unwrap(),
        vec![p1.clone()]
    );
    assert_eq!(
        s.payments_in(PaymentStatus::Pending, 10).await.unwrap(),
        vec![p2.clone()]
    );

    // Refunds pending, oldest first, limited.
    let mut r3 = payment_record(3, app.app.id, x, t(9));
    r3.status = PaymentStatus::RefundPending;
    let mut r4 = payment_record(4, app.app.id, x, t(4));
    r4.status = PaymentStatus::RefundPending;
    s.commit(Changes {
        payments: vec![r3.clone(), r4.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.payments_in(PaymentStatus::RefundPending, 10)
            .await
            .unwrap(),
        vec![r4.clone(), r3.clone()]
    );
    assert_eq!(
        s.payments_in(PaymentStatus::RefundPending, 1)
            .await
            .unwrap(),
        vec![r4.clone()]
    );
    assert_eq!(
        s.payments_of(app.app.id).await.unwrap(),
        vec![p1.clone(), r4, r3]
    );
    assert_eq!(s.payments_of(other.app.id).await.unwrap(), vec![p2]);
    // A status read gets the same payments with the application, in one read.
    let record = s.application_record(app.app.id).await.unwrap().unwrap();
    assert_eq!(record.stored.application, app.app);
    assert_eq!(record.payments, s.payments_of(app.app.id).await.unwrap());
    assert_eq!(record.payments.len(), 3);

    // Another payment cannot take an existing gateway reference.
    let clash = PaymentRecord {
        gateway_reference: "GW-REF-1".into(),
        ..payment_record(5, other.app.id, iin(2), t(5))
    };
    match s
        .commit(Changes {
            payments: vec![clash.clone()],
            ..Changes::default()
        })
        .await
    {
        Err(StoreError::Duplicate("payment_reference")) => {}
        other => panic!("expected Duplicate(payment_reference), got {other:?}"),
    }
    assert_eq!(s.payment(clash.id).await.unwrap(), None);
    assert_eq!(s.payment_by_reference("GW-REF-1").await.unwrap(), Some(p1));
}

/// An idempotency record reads back as written; the same (scope, key) again is
/// `Duplicate("idempotency_key")`; the same key in another scope is another record.
async fn idempotency_records_and_duplicates(db: &Db) {
    let s = db.store();
    let scope = "citizen:900515301234:POST /api/v1/applications";
    let record = idempotency(scope, "key-1", t(0));
    s.commit(Changes {
        idempotency: Some(record.clone()),
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.idempotency_record(scope, "key-1").await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(s.idempotency_record(scope, "key-2").await.unwrap(), None);
    assert_eq!(s.idempotency_record("other", "key-1").await.unwrap(), None);

    let again = IdempotencyRecord {
        status: 409,
        body: json!({ "second": true }),
        ..idempotency(scope, "key-1", t(1))
    };
    match s
        .commit(Changes {
            idempotency: Some(again),
            ..Changes::default()
        })
        .await
    {
        Err(StoreError::Duplicate("idempotency_key")) => {}
        other => panic!("expected Duplicate(idempotency_key), got {other:?}"),
    }
    assert_eq!(
        s.idempotency_record(scope, "key-1").await.unwrap(),
        Some(record)
    );
    let elsewhere = idempotency("citizen:900515301234:POST /api/v1/payments", "key-1", t(2));
    s.commit(Changes {
        idempotency: Some(elsewhere.clone()),
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.idempotency_record(&elsewhere.scope, "key-1")
            .await
            .unwrap(),
        Some(elsewhere)
    );
}

/// A commit that fails at its last part (a used idempotency key) leaves nothing behind: not
/// the application's new state, its event, blob, payment, outbox message nor audit entry.
async fn a_failing_commit_writes_nothing(db: &Db) {
    let s = db.store();
    let x = iin(1);
    let mut app = create(s, draft(1, x, "71", t(0))).await;
    step(
        s,
        &mut app,
        Command::ChooseRegistrationPoint(point("71-01")),
        citizen(x),
        t(1),
    )
    .await;
    let scope = "citizen:x:POST /photo";
    s.put_people(&[person(x, "Astana")]).await.unwrap();
    let renewed = RegisteredDocument {
        number: "047777777".into(),
        ..person(x, "Astana").document
    };
    s.commit(Changes {
        idempotency: Some(idempotency(scope, "used", t(1))),
        ..Changes::default()
    })
    .await
    .unwrap();
    let backlog = s.outbox_backlog().await.unwrap();

    let photo = blob(b"a compliant photo", "image/jpeg", t(2));
    let mut next = app.app.clone();
    let event = next
        .handle(
            &Command::AttachPhoto(photo.digest),
            &citizen(x),
            t(2),
            &policy(),
        )
        .unwrap();
    let changes = Changes {
        application: Some(ApplicationWrite {
            application: next,
            expected_version: Some(app.version),
        }),
        events: vec![event],
        blobs: vec![photo.clone()],
        payments: vec![payment_record(1, app.app.id, x, t(2))],
        outbox: vec![outbox(1, t(2), t(2))],
        audit: vec![audit(1, t(2), "application.attach_photo")],
        idempotency: Some(idempotency(scope, "used", t(2))),
        reminders: vec![ReminderSent {
            iin: x,
            last_valid_day: date(2026, 1, 31),
            sent_at: t(2),
        }],
        image_checks: vec![check(b"photo-x", "pass", Some(7), t(2))],
        approval: Some(kuelik_store::Approval {
            application: app.app.id,
            officer: kuelik_core::lifecycle::StaffId(uuid::Uuid::now_v7()),
            method: kuelik_store::SigningMethod::Remote,
            document: b"{}".to_vec(),
            signature: b"cms".to_vec(),
            signed_at: t(2),
        }),
        signature_checks: vec![kuelik_store::SignatureCheck {
            id: uuid::Uuid::now_v7(),
            application: app.app.id,
            at: t(2),
            verified: false,
            code: "digest_mismatch".into(),
            detail: String::new(),
        }],
        contacts: vec![contact(x, Some("+77019998877"), Some(Lang::En), t(2))],
        rule_activations: vec![activation(1, "continuation", date(2026, 12, 1), t(2))],
        documents: vec![issuance::DocumentRecord::from_register(x, &renewed)],
        current_documents: vec![(x, renewed.clone())],
        staff: vec![account(77, "newclerk", Role::Officer)],
        reminder_choices: vec![kuelik_store::ReminderChoice {
            iin: x,
            opt_out: true,
            at: t(2),
        }],
        officer_credentials: vec![kuelik_store::OfficerCredential {
            staff: account(77, "newclerk", Role::Officer).id,
            fingerprint: "ab".repeat(32),
            certificate: b"der".to_vec(),
            sealed_key: None,
            bound_at: t(2),
        }],
        register_photos: vec![RegisterPhoto {
            iin: x,
            document_number: renewed.number.clone(),
            content_type: "image/jpeg".into(),
            bytes: b"photo-x".to_vec(),
        }],
    };
    match s.commit(changes.clone()).await {
        Err(StoreError::Duplicate("idempotency_key")) => {}
        other => panic!("expected Duplicate(idempotency_key), got {other:?}"),
    }
    assert_eq!(s.approval(app.app.id).await.unwrap(), None);
    assert!(s.signature_checks(app.app.id).await.unwrap().is_empty());
    let stored = s.application(app.app.id).await.unwrap().unwrap();
    assert_eq!(stored.version, app.version);
    assert_eq!(stored.application, app.app);
    assert_eq!(s.history(app.app.id).await.unwrap().len(), 1);
    assert_eq!(s.blob(&photo.digest).await.unwrap(), None);
    assert_eq!(s.payment(Uuid::from_u128(0xba1d_0001)).await.unwrap(), None);
    assert_eq!(s.outbox_backlog().await.unwrap(), backlog);
    assert!(s
        .claim_outbox(t(10), SignedDuration::from_mins(1), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s.audit_entries(10).await.unwrap().is_empty());
    assert_eq!(s.image_check(&sha(b"photo-x")).await.unwrap(), None);
    assert_eq!(s.contact_details(&x).await.unwrap(), None);
    assert!(s.rule_activations().await.unwrap().is_empty());
    assert!(s.documents_of(&x).await.unwrap().is_empty());
    assert_eq!(
        s.person(&x).await.unwrap().unwrap().document.number,
        "045678912"
    );
    assert_eq!(s.staff_by_username("newclerk").await.unwrap(), None);
    assert_eq!(s.register_photo(&x).await.unwrap(), None);
    assert!(!s.reminder_opted_out(&x).await.unwrap());
    assert_eq!(
        s.officer_credential(account(77, "newclerk", Role::Officer).id)
            .await
            .unwrap(),
        None
    );

    // The same changes with a fresh key all land.
    let fresh = Changes {
        idempotency: Some(idempotency(scope, "fresh", t(2))),
        ..changes
    };
    s.commit(fresh).await.unwrap();
    assert_eq!(
        s.application(app.app.id).await.unwrap().unwrap().version,
        app.version + 1
    );
    assert_eq!(s.history(app.app.id).await.unwrap().len(), 2);
    assert!(s.blob(&photo.digest).await.unwrap().is_some());
    assert!(s
        .payment(Uuid::from_u128(0xba1d_0001))
        .await
        .unwrap()
        .is_some());
    assert_eq!(s.outbox_backlog().await.unwrap(), backlog + 1);
    assert_eq!(s.audit_entries(10).await.unwrap().len(), 1);
    assert!(s.image_check(&sha(b"photo-x")).await.unwrap().is_some());
    assert!(s.contact_details(&x).await.unwrap().is_some());
    assert_eq!(s.rule_activations().await.unwrap().len(), 1);
    assert_eq!(s.documents_of(&x).await.unwrap().len(), 1);
    assert_eq!(s.person(&x).await.unwrap().unwrap().document, renewed);
    assert!(s.staff_by_username("newclerk").await.unwrap().is_some());
    assert!(s.register_photo(&x).await.unwrap().is_some());
    assert!(s.reminder_opted_out(&x).await.unwrap());
    assert!(s
        .officer_credential(account(77, "newclerk", Role::Officer).id)
        .await
        .unwrap()
        .is_some());
}

fn contact(iin: Iin, phone: Option<&str>, language: Option<Lang>, at: Timestamp) -> ContactDetails {
    ContactDetails {
        iin,
        phone: phone.map(|p| kuelik_core::register::Phone::parse(p).unwrap()),
        language,
        updated_at: at,
    }
}

fn activation(n: u128, version: &str, from: jiff::civil::Date, at: Timestamp) -> RuleActivation {
    RuleActivation {
        id: Uuid::from_u128(0xac7_0000 + n),
        version: version.into(),
        active_from: from,
        activated_by: staff_id(n),
        activated_at: at,
    }
}

/// The hand-over's effect on the person commits with the application: the register's copy
/// shows the new document, both records are kept, and a document is found by its number
/// whether the service changed it or not. A person the register no longer holds refuses the
/// whole commit.
async fn a_hand_over_replaces_the_persons_document(db: &Db) {
    let s = db.store();
    let holder = iin(51);
    let other = {
        let mut p = person(iin(52), "Astana");
        p.document.number = "011112222".into();
        p
    };
    s.put_people(&[person(holder, "Astana"), other.clone()])
        .await
        .unwrap();
    let no = ticket(51);
    let (mut app, _) = submitted(s, 51, holder, "71-01", no, t(0)).await;
    for (command, actor) in [
        (Command::Route, Actor::System),
        (Command::Take, officer(1, "71")),
        (Command::Approve, officer(1, "71")),
        (Command::StartProduction, production()),
        (
            Command::Dispatch {
                document_number: "041234567".into(),
            },
            production(),
        ),
        (Command::Receive, desk("71-01")),
    ] {
        step(s, &mut app, command, actor, t(10)).await;
    }
    let current = s.person(&holder).await.unwrap().unwrap().document;
    let at = t(60);
    let mut next = app.app.clone();
    let issuance = issuance::hand_over(
        &mut next,
        no,
        &current,
        None,
        OldCard::NotPresented,
        &desk("71-01"),
        at,
        &policy(),
    )
    .unwrap();
    let changes = |holder: Iin| Changes {
        application: Some(ApplicationWrite {
            application: next.clone(),
            expected_version: Some(app.version),
        }),
        events: vec![issuance.event.clone()],
        documents: vec![issuance.invalidated.clone(), issuance.issued.clone()],
        current_documents: vec![(holder, issuance.new_document.clone())],
        ..Changes::default()
    };
    // Someone the register does not hold: nothing at all is written.
    assert!(matches!(
        s.commit(changes(iin(53))).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.documents_of(&holder).await.unwrap(), vec![]);
    assert_eq!(
        s.application(app.app.id)
            .await
            .unwrap()
            .unwrap()
            .application,
        app.app
    );

    s.commit(changes(holder)).await.unwrap();
    let person = s.person(&holder).await.unwrap().unwrap();
    assert_eq!(person.document, issuance.new_document);
    assert_eq!(person.document.number, "041234567");
    assert_eq!(person.surname, "Ахметов", "the rest of the person is kept");
    assert_eq!(
        s.documents_of(&holder).await.unwrap(),
        vec![issuance.issued.clone(), issuance.invalidated.clone()],
        "newest first"
    );
    let old = s
        .document(DocumentKind::IdentityCard, "045678912")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old, issuance.invalidated);
    assert_eq!(
        old.status_on(date(2025, 12, 11)),
        DocumentStatus::Invalid(InvalidationReason::Replaced)
    );
    let inv = old.invalidation.unwrap();
    assert_eq!(inv.at.as_microsecond(), at.as_microsecond());
    assert_eq!(inv.old_card, Some(OldCard::NotPresented));
    assert_eq!(inv.application, Some(app.app.id));
    let new = s
        .document(DocumentKind::IdentityCard, "041234567")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.issued_for, Some(app.app.id));
    assert_eq!(new.status_on(date(2025, 12, 11)), DocumentStatus::Valid);
    // A register document the service never changed, found through the people index.
    let untouched = s
        .document(DocumentKind::IdentityCard, "011112222")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.holder, other.iin);
    assert_eq!(untouched.invalidation, None);
    // The kind is part of the key; an unknown number is unknown.
    assert_eq!(
        s.document(DocumentKind::Passport, "011112222")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.document(DocumentKind::IdentityCard, "099999999")
            .await
            .unwrap(),
        None
    );
    // Writing the same records again (a retried commit's rows) keeps one of each.
    s.commit(Changes {
        documents: vec![issuance.invalidated.clone(), issuance.issued.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.documents_of(&holder).await.unwrap().len(), 2);
}

/// A citizen's contact details are replaced whole; rule-set activations are appended, read
/// back oldest first, and the database refuses to change them.
async fn contact_details_and_rule_activations(db: &Db) {
    let s = db.store();
    let x = iin(41);
    assert_eq!(s.contact_details(&x).await.unwrap(), None);
    let first = contact(x, Some("+77019998877"), Some(Lang::En), t(1));
    s.commit(Changes {
        contacts: vec![first.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.contact_details(&x).await.unwrap(), Some(first));
    // Back to the register's phone, language kept: the row is replaced, not merged.
    let second = contact(x, None, Some(Lang::Kk), t(2));
    s.commit(Changes {
        contacts: vec![second.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.contact_details(&x).await.unwrap(), Some(second));
    assert_eq!(s.contact_details(&iin(42)).await.unwrap(), None);

    let later = activation(2, "pilot-2027", date(2027, 1, 1), t(5));
    let earlier = activation(1, "continuation", date(2026, 12, 1), t(3));
    for a in [later.clone(), earlier.clone()] {
        s.commit(Changes {
            rule_activations: vec![a],
            ..Changes::default()
        })
        .await
        .unwrap();
    }
    assert_eq!(s.rule_activations().await.unwrap(), vec![earlier, later]);
    for sql in [
        "UPDATE rule_activations SET active_from = '2020-01-01'",
        "DELETE FROM rule_activations",
    ] {
        assert!(db.raw(sql).await.is_err(), "{sql} must be refused");
    }
    assert_eq!(s.rule_activations().await.unwrap().len(), 2);
}

/// The database itself refuses to update or delete events and audit entries, whoever
/// asks (a plain connection, not the store), while other tables stay writable.
async fn events_and_audit_entries_are_append_only(db: &Db) {
    let s = db.store();
    let x = iin(1);
    let mut app = create(s, draft(1, x, "71", t(0))).await;
    let event = step(
        s,
        &mut app,
        Command::ChooseRegistrationPoint(point("71-01")),
        citizen(x),
        t(1),
    )
    .await;
    s.commit(Changes {
        audit: vec![audit(1, t(1), "application.read")],
        ..Changes::default()
    })
    .await
    .unwrap();

    // The raw path can write: a harmless update elsewhere goes through.
    assert_eq!(
        db.raw("UPDATE applications SET created_at = created_at")
            .await
            .unwrap(),
        1
    );
    for sql in [
        "UPDATE events SET kind = 'withdrawn'",
        "UPDATE events SET at = at + 1",
        "DELETE FROM events",
        "UPDATE audit_entries SET action = 'nothing.happened'",
        "DELETE FROM audit_entries",
    ] {
        let refused = db.raw(sql).await;
        let message = refused.expect_err(sql);
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    if let Backend::Postgres { .. } = db.backend {
        for sql in ["TRUNCATE events CASCADE", "TRUNCATE audit_entries"] {
            let message = db.raw(sql).await.expect_err(sql);
            assert!(message.contains("append-only"), "{sql}: {message}");
        }
    }
    assert_eq!(s.history(app.app.id).await.unwrap(), vec![event]);
    assert_eq!(
        s.audit_entries(10).await.unwrap(),
        vec![audit(1, t(1), "application.read")]
    );
}

/// claim_outbox leases due messages (oldest first, up to the limit), counts the attempt and
/// hides them until the lease runs out; a failed message comes back at its next attempt; a
/// delivered one never comes back, and its notice shows once however often delivery is
/// retried.
async fn outbox_leases_redelivery_failures_and_exactly_once_notices(db: &Db) {
    let s = db.store();
    let lease = SignedDuration::from_mins(5);
    let now = t(100);
    let (m1, m2, m3) = (
        outbox(1, t(1), t(1)),
        outbox(2, t(2), t(2)),
        outbox(3, t(3), t(3)),
    );
    let m4 = outbox(4, t(4), t(160)); // not due yet
    s.commit(Changes {
        outbox: vec![m3.clone(), m1.clone(), m4.clone(), m2.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.outbox_backlog().await.unwrap(), 4);

    let first = s.claim_outbox(now, lease, 2).await.unwrap();
    assert_eq!(
        first,
        vec![
            OutboxMessage {
                attempts: 1,
                next_attempt_at: t(105),
                ..m1.clone()
            },
            OutboxMessage {
                attempts: 1,
                next_attempt_at: t(105),
                ..m2.clone()
            },
        ]
    );
    // Leased ones are not handed out again; the rest are.
    let second = s.claim_outbox(now, lease, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, m3.id);
    assert!(s.claim_outbox(t(104), lease, 10).await.unwrap().is_empty());

    // m1's worker died; m2 failed; m3 was delivered (twice: the worker retried).
    s.outbox_failed(m2.id, "SMS gateway timed out", t(110))
        .await
        .unwrap();
    let to = iin(1);
    let n3 = notice(m3.id, to, t(3));
    s.outbox_delivered(m3.id, t(101), Some(&n3)).await.unwrap();
    s.outbox_delivered(m3.id, t(102), Some(&n3)).await.unwrap();
    assert_eq!(s.inbox(&to).await.unwrap(), vec![n3.clone()]);
    assert_eq!(s.outbox_backlog().await.unwrap(), 3);

    // After the lease m1 comes back; m2 waits for its next attempt.
    let third = s.claim_outbox(t(105), lease, 10).await.unwrap();
    assert_eq!(
        third,
        vec![OutboxMessage {
            attempts: 2,
            next_attempt_at: t(110),
            ..m1.clone()
        }]
    );
    let fourth = s.claim_outbox(t(110), lease, 10).await.unwrap();
    assert_eq!(fourth.len(), 2, "m1's lease ran out too, m2 is due");
    let m2_again = fourth.iter().find(|m| m.id == m2.id).unwrap();
    assert_eq!(m2_again.attempts, 2);
    assert_eq!(
        m2_again.last_error.as_deref(),
        Some("SMS gateway timed out")
    );
    assert_eq!(m2_again.next_attempt_at, t(115));

    // Delivered messages never come back, even long after.
    s.outbox_delivered(m1.id, t(111), None).await.unwrap();
    s.outbox_delivered(m2.id, t(111), Some(&notice(m2.id, to, t(2))))
        .await
        .unwrap();
    let later = s.claim_outbox(t(1000), lease, 10).await.unwrap();
    assert_eq!(ids_of(&later), vec![m4.id]);
    assert_eq!(later[0].attempts, 1);
    s.outbox_delivered(m4.id, t(1001), None).await.unwrap();
    assert!(s.claim_outbox(t(5000), lease, 10).await.unwrap().is_empty());
    assert_eq!(s.outbox_backlog().await.unwrap(), 0);
    // A failure reported after delivery does not undo it.
    s.outbox_failed(m4.id, "late", t(5000)).await.unwrap();
    assert!(s.claim_outbox(t(6000), lease, 10).await.unwrap().is_empty());
    assert_eq!(
        s.inbox(&to).await.unwrap(),
        vec![n3, notice(m2.id, to, t(2))]
    );
}

/// Two store instances on one database, sixteen workers claiming at once: every message is
/// claimed exactly once (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the one writer). On
/// PostgreSQL, a message locked by another instance's claim in progress is skipped, not
/// waited for and not claimed twice.
async fn concurrent_claims_never_share_a_message(db: &Db) {
    let other = db.reopen().await;
    let messages: Vec<OutboxMessage> = (1..=200).map(|n| outbox(n, t(0), t(0))).collect();
    db.store()
        .commit(Changes {
            outbox: messages.clone(),
            ..Changes::default()
        })
        .await
        .unwrap();
    let lease = SignedDuration::from_mins(5);
    let mut claimed = Vec::new();

    if let Backend::Postgres { url } = &db.backend {
        // Another instance is in the middle of claiming the oldest message.
        let mut conn = sqlx::postgres::PgConnection::connect(url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("SELECT id FROM outbox WHERE id = $1 FOR UPDATE")
            .bind(messages[0].id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let batch = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            db.store().claim_outbox(t(1), lease, 5),
        )
        .await
        .expect("a claim waited for a message another instance holds")
        .unwrap();
        assert_eq!(
            ids_of(&batch),
            ids_of(&messages[1..6]),
            "the locked message is skipped"
        );
        claimed.extend(ids_of(&batch));
        tx.rollback().await.unwrap();
        conn.close().await.unwrap();
    }

    let workers = (0..16).map(|w| {
        let store = if w % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_outbox(t(1), lease, 3).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                assert!(batch.iter().all(|m| m.attempts == 1), "claimed twice");
                mine.extend(ids_of(&batch));
            }
        })
    });
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    claimed.sort();
    let mut expected = ids_of(&messages);
    expected.sort();
    assert_eq!(claimed, expected, "each message once, none lost");
}

fn ids_of(messages: &[OutboxMessage]) -> Vec<Uuid> {
    messages.iter().map(|m| m.id).collect()
}

/// A citizen's inbox is theirs only, newest first; marking read works on one's own notice
/// only, and keeps the first reading time.
async fn inbox_order_and_marking_read(db: &Db) {
    let s = db.store();
    let (x, y) = (iin(1), iin(2));
    let n = |k: u128| Uuid::from_u128(0x1b0c_0000 + k);
    for (k, to, at) in [(1, x, t(10)), (2, x, t(30)), (3, y, t(20)), (4, x, t(20))] {
        s.outbox_delivered(n(k), at, Some(&notice(n(k), to, at)))
            .await
            .unwrap();
    }
    let inbox = s.inbox(&x).await.unwrap();
    assert_eq!(
        inbox.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![n(2), n(4), n(1)]
    );
    assert!(inbox.iter().all(|m| m.iin == x && m.read_at.is_none()));
    assert_eq!(s.inbox(&y).await.unwrap().len(), 1);
    assert!(s.inbox(&iin(3)).await.unwrap().is_empty());

    // Not someone else's, not a missing one.
    assert!(!s.mark_notice_read(&y, n(2), t(40)).await.unwrap());
    assert!(!s.mark_notice_read(&x, n(3), t(40)).await.unwrap());
    assert!(!s.mark_notice_read(&x, n(9), t(40)).await.unwrap());
    assert!(s
        .inbox(&x)
        .await
        .unwrap()
        .iter()
        .all(|m| m.read_at.is_none()));

    assert!(s.mark_notice_read(&x, n(2), t(41)).await.unwrap());
    assert!(s.mark_notice_read(&x, n(2), t(50)).await.unwrap());
    let inbox = s.inbox(&x).await.unwrap();
    assert_eq!(inbox[0].read_at, Some(t(41)));
    assert_eq!(inbox[1].read_at, None);
    assert_eq!(s.inbox(&y).await.unwrap()[0].read_at, None);
}

/// audit_entries gives the newest first (by time, then by order of writing), up to the
/// limit, exactly as written.
async fn audit_entries_newest_first(db: &Db) {
    let s = db.store();
    s.commit(Changes {
        audit: vec![audit(1, t(1), "a.one"), audit(3, t(3), "a.three")],
        ..Changes::default()
    })
    .await
    .unwrap();
    s.commit(Changes {
        audit: vec![audit(2, t(2), "a.two"), audit(4, t(3), "a.four")],
        ..Changes::default()
    })
    .await
    .unwrap();
    let all = s.audit_entries(10).await.unwrap();
    assert_eq!(
        all,
        vec![
            audit(4, t(3), "a.four"),
            audit(3, t(3), "a.three"),
            audit(2, t(2), "a.two"),
            audit(1, t(1), "a.one"),
        ]
    );
    assert_eq!(s.audit_entries(2).await.unwrap(), all[..2].to_vec());
    assert!(s.audit_entries(0).await.unwrap().is_empty());
    assert_eq!(all[0].details["note"], "проверено");
    assert_eq!(all[0].actor.role(), Role::Officer);
}

async fn the_registers_photo_is_kept_and_replaced_by_iin(db: &Db) {
    let s = db.store();
    let photo = |n: u8, number: &str| RegisterPhoto {
        iin: iin(21),
        document_number: number.into(),
        content_type: "image/jpeg".into(),
        bytes: vec![0xff, 0xd8, n, 0, 255],
    };
    assert_eq!(s.register_photo(&iin(21)).await.unwrap(), None);
    for p in [photo(1, "041234567"), photo(2, "061234567")] {
        s.commit(Changes {
            register_photos: vec![p.clone()],
            ..Changes::default()
        })
        .await
        .unwrap();
        assert_eq!(
            s.register_photo_number(&iin(21)).await.unwrap().as_ref(),
            Some(&p.document_number)
        );
        assert_eq!(s.register_photo(&iin(21)).await.unwrap(), Some(p));
    }
    assert_eq!(s.register_photo(&iin(22)).await.unwrap(), None);
    assert_eq!(s.register_photo_number(&iin(22)).await.unwrap(), None);
}

async fn the_audit_log_pages_and_finds_by_target_and_actor(db: &Db) {
    let s = db.store();
    let by = |n: u128, actor: Actor, target: Option<String>| AuditEntry {
        actor,
        target,
        ..audit(n, t(n as i64), "a.step")
    };
    let (ana, bek) = (iin(11), iin(12));
    let entries = vec![
        by(1, citizen(ana), Some(app_id(100).to_string())),
        by(2, officer(7, "71"), Some(app_id(100).to_string())),
        by(3, officer(8, "71"), Some(app_id(200).to_string())),
        by(4, citizen(bek), Some(app_id(200).to_string())),
        by(5, Actor::System, None),
        by(6, officer(7, "71"), Some(app_id(300).to_string())),
    ];
    s.commit(Changes {
        audit: entries.clone(),
        ..Changes::default()
    })
    .await
    .unwrap();
    let ids = |page: &[kuelik_store::AuditRecord]| -> Vec<u128> {
        page.iter()
            .map(|r| r.entry.id.as_u128() - 0xa0d1_0000)
            .collect()
    };
    // Pages of two, newest first, each after the last of the one before; nothing is lost.
    let mut seen = Vec::new();
    let mut query = AuditQuery::default();
    loop {
        let page = s.audit_page(&query, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(ids(&page));
        query.before = Some(page.last().unwrap().cursor);
    }
    assert_eq!(seen, vec![6, 5, 4, 3, 2, 1]);
    let find = |search: AuditSearch| AuditQuery {
        before: None,
        search: Some(search),
    };
    // By what it is about, by a staff member, by a citizen, and any of them at once.
    let about_100 = find(AuditSearch {
        targets: vec![app_id(100).to_string()],
        ..AuditSearch::default()
    });
    assert_eq!(
        ids(&s.audit_page(&about_100, 10).await.unwrap()),
        vec![2, 1]
    );
    let by_7 = find(AuditSearch {
        staff: vec![staff_id(7)],
        ..AuditSearch::default()
    });
    assert_eq!(ids(&s.audit_page(&by_7, 10).await.unwrap()), vec![6, 2]);
    let by_bek = find(AuditSearch {
        citizen: Some(bek),
        ..AuditSearch::default()
    });
    assert_eq!(ids(&s.audit_page(&by_bek, 10).await.unwrap()), vec![4]);
    let any = find(AuditSearch {
        targets: vec![app_id(200).to_string()],
        staff: vec![staff_id(7)],
        citizen: Some(ana),
    });
    assert_eq!(
        ids(&s.audit_page(&any, 10).await.unwrap()),
        vec![6, 4, 3, 2, 1]
    );
    let mut second = any.clone();
    second.before = Some(s.audit_page(&any, 2).await.unwrap()[1].cursor);
    assert_eq!(
        ids(&s.audit_page(&second, 10).await.unwrap()),
        vec![3, 2, 1]
    );
    // A search that names nobody finds nothing (not everything).
    let nobody = find(AuditSearch::default());
    assert!(s.audit_page(&nobody, 10).await.unwrap().is_empty());
}

/// 32 tasks commit at once (two commits each), along with 8 that must fail: every good
/// commit lands and is readable, every bad one fails alone and leaves nothing. On SQLite
/// this is the group-commit path (many jobs per transaction, one savepoint each).
async fn concurrent_commits_all_land(db: &Db) {
    let s = db.store();
    s.commit(Changes {
        idempotency: Some(idempotency("race", "taken", t(0))),
        ..Changes::default()
    })
    .await
    .unwrap();

    let mut tasks = Vec::new();
    for n in 0..32u16 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let who = iin(100 + n);
            let id = u128::from(n) + 1;
            let app = draft(id, who, "71", t(0));
            store
                .commit(Changes {
                    application: Some(ApplicationWrite {
                        application: app.clone(),
                        expected_version: None,
                    }),
                    outbox: vec![outbox(id, t(0), t(0))],
                    audit: vec![audit(id, t(0), "application.create")],
                    idempotency: Some(idempotency("race", &format!("create-{n}"), t(0))),
                    ..Changes::default()
                })
                .await?;
            let mut tracked = Tracked { app, version: 1 };
            let mut next = tracked.app.clone();
            let event = next
                .handle(
                    &Command::ChooseRegistrationPoint(point("71-01")),
                    &citizen(who),
                    t(1),
                    &policy(),
                )
                .unwrap();
            tracked.app = next;
            store
                .commit(Changes {
                    application: Some(tracked.write()),
                    events: vec![event],
                    ..Changes::default()
                })
                .await?;
            Ok::<_, StoreError>(id)
        }));
    }
    let mut doomed = Vec::new();
    for n in 0..8u16 {
        let store = db.store.clone();
        doomed.push(tokio::spawn(async move {
            let id = 1000 + u128::from(n);
            store
                .commit(Changes {
                    application: Some(ApplicationWrite {
                        application: draft(id, iin(500 + n), "71", t(0)),
                        expected_version: None,
                    }),
                    audit: vec![audit(id, t(0), "application.create")],
                    idempotency: Some(idempotency("race", "taken", t(0))),
                    ..Changes::default()
                })
                .await
                .map(|()| id)
        }));
    }
    let mut landed = Vec::new();
    for task in tasks {
        landed.push(task.await.unwrap().unwrap());
    }
    for task in doomed {
        match task.await.unwrap() {
            Err(StoreError::Duplicate("idempotency_key")) => {}
            other => panic!("expected Duplicate(idempotency_key), got {other:?}"),
        }
    }
    landed.sort();
    assert_eq!(landed, (1..=32).collect::<Vec<_>>());
    for id in landed {
        let stored = s.application(app_id(id)).await.unwrap().unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.application.registration_point, Some(point("71-01")));
        assert_eq!(s.history(app_id(id)).await.unwrap().len(), 1);
    }
    for n in 0..8u128 {
        assert_eq!(s.application(app_id(1000 + n)).await.unwrap(), None);
    }
    assert_eq!(s.outbox_backlog().await.unwrap(), 32);
    assert_eq!(s.audit_entries(100).await.unwrap().len(), 32);
    assert_eq!(
        s.work_queue(&QueueFilter::state(ApplicationState::Draft), 100)
            .await
            .unwrap()
            .len(),
        32
    );
}

/// Opening a migrated database again applies nothing, fails nothing and sees the data.
async fn reopening_applies_no_migration_and_keeps_data(db: &Db) {
    let s = db.store();
    let app = create(s, draft(1, iin(1), "71", t(0))).await;
    s.put_people(&[person(iin(1), "a")]).await.unwrap();
    let again = db.reopen().await;
    assert_eq!(again.backend(), s.backend());
    assert_eq!(
        again
            .application(app.app.id)
            .await
            .unwrap()
            .unwrap()
            .application,
        app.app
    );
    assert_eq!(again.count_people().await.unwrap(), 1);
    // Both handles work on the same data.
    again.put_people(&[person(iin(2), "b")]).await.unwrap();
    assert_eq!(s.count_people().await.unwrap(), 2);
    let third = db.reopen().await;
    assert_eq!(third.count_people().await.unwrap(), 2);
}

// =======================================================================================
// Backend-specific checks and measurements
// =======================================================================================

/// A status read's timeline and the other per-application event reads are answered from the
/// `events_timeline_idx` index alone (migration 0009), not from the events' table pages.
#[tokio::test]
async fn sqlite_reads_the_timeline_from_the_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kuelik.db");
    let _store = SqliteStore::open(&path).await.unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    for sql in [
        "SELECT kind, from_state, to_state, actor_role, at FROM events \
         WHERE application_id = 'x' ORDER BY seq",
        "SELECT MAX(at) FROM events WHERE application_id = 'x'",
    ] {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING COVERING INDEX events_timeline_idx")),
            "{sql}: {plan:?}"
        );
    }
    conn.close().await.unwrap();
}

/// The SQLite writer runs WAL with `synchronous=FULL`, foreign keys on and a busy timeout;
/// WAL is a property of the file (seen from any connection); foreign keys are enforced.
#[tokio::test]
async fn sqlite_writer_is_durable_wal_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kuelik.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let settings = store.writer_settings().await.unwrap();
    assert_eq!(settings.journal_mode, "wal");
    assert_eq!(settings.synchronous, "full");
    assert!(settings.foreign_keys);
    assert!(settings.busy_timeout_ms >= 1000, "{settings:?}");

    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();

    // An event must belong to a stored application.
    let orphan = draft(77, iin(1), "71", t(0));
    let mut moved = orphan.clone();
    let event = moved
        .handle(
            &Command::ChooseRegistrationPoint(point("71-01")),
            &citizen(iin(1)),
            t(1),
            &policy(),
        )
        .unwrap();
    let result = store
        .commit(Changes {
            events: vec![event],
            ..Changes::default()
        })
        .await;
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert!(store.history(orphan.id).await.unwrap().is_empty());
}

/// `put_people` must write a million people in well under a minute (release build):
/// `cargo test --release -p kuelik-store -- --ignored --nocapture put_one_million`.
async fn put_one_million_people(store: &dyn Store) {
    let birth: Date = date(1960, 1, 1);
    let mut people = Vec::with_capacity(1_000_000);
    'days: for day in 0..400 {
        let born = birth.checked_add(jiff::Span::new().days(day)).unwrap();
        for serial in 0..10_000 {
            if let Some(iin) = Iin::from_parts(born, Sex::Female, serial) {
                people.push(person(iin, "Astana, Mangilik El 55, apt. 12"));
                if people.len() == 1_000_000 {
                    break 'days;
                }
            }
        }
    }
    assert_eq!(people.len(), 1_000_000);
    let started = Instant::now();
    assert_eq!(store.put_people(&people).await.unwrap(), 1_000_000);
    let elapsed = started.elapsed();
    println!(
        "{}: put_people wrote 1,000,000 people in {elapsed:?}",
        store.backend()
    );
    assert_eq!(store.count_people().await.unwrap(), 1_000_000);
    assert_eq!(
        store.person(&people[777_777].iin).await.unwrap().as_ref(),
        Some(&people[777_777])
    );
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run in a release build"]
async fn sqlite_put_one_million_people() {
    let db = sqlite_db().await;
    put_one_million_people(db.store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run in a release build"]
async fn postgres_put_one_million_people() {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        println!("{PG_URL_VAR} is not set: not measured on PostgreSQL");
        return;
    };
    let run = PgRun::create(&admin_url).await;
    let db = run.db("bulk").await;
    let result = tokio::spawn(async move { put_one_million_people(db.store()).await }).await;
    run.drop_database().await;
    if let Err(e) = result {
        panic!("{}", panic_message(e));
    }
}

/// An application's first events and two audit entries: rows for the audit chain.
async fn events_and_audit_rows(s: &dyn Store) {
    let x = iin(1);
    let mut app = create(s, draft(1, x, "71", t(0))).await;
    step(
        s,
        &mut app,
        Command::ChooseRegistrationPoint(point("71-01")),
        citizen(x),
        t(1),
    )
    .await;
    s.commit(Changes {
        audit: vec![
            audit(1, t(1), "application.read"),
            audit(2, t(1), "application.read"),
        ],
        ..Changes::default()
    })
    .await
    .unwrap();
}

/// Rows written since migration 15 are chained by reach: the horizon is the newest row of
/// each table (nothing is in flight), a batch's rows come events first, each source in its
/// order, at most the limit asked; a batch's checkpoint reads back with its reach and tags,
/// a second sequencer extending the same checkpoint is refused, and what lies past the reach
/// is counted as waiting. No row is listed one by one any more.
async fn the_audit_chain_reads_batches_by_reach(db: &Db) {
    let s = db.store();
    events_and_audit_rows(s).await;
    assert!(
        s.audit_pending(100).await.unwrap().is_empty(),
        "nothing is listed"
    );
    assert_eq!(s.audit_legacy_reach().await.unwrap(), ChainReach::default());
    let horizon = s
        .audit_horizon()
        .await
        .unwrap()
        .expect("no writer in flight");
    assert!(horizon.events >= 1 && horizon.audit >= 2, "{horizon:?}");
    let all = s
        .audit_rows(ChainReach::default(), horizon, 100)
        .await
        .unwrap();
    let events = all
        .iter()
        .filter(|r| r.source == ChainSource::Event)
        .count();
    assert!(events >= 1);
    assert_eq!(all.len(), events + 2);
    assert!(
        all[..events].iter().all(|r| r.source == ChainSource::Event),
        "events first"
    );
    assert!(all
        .windows(2)
        .all(|w| w[0].source != w[1].source || w[0].source_pos < w[1].source_pos));
    assert_eq!(all.last().unwrap().source_pos, horizon.audit);
    assert_eq!(s.audit_pending_count().await.unwrap(), all.len() as u64);
    // A limit cuts the batch; the rest is read from where it stopped.
    let first = s
        .audit_rows(ChainReach::default(), horizon, 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let after_first = ChainReach {
        events: first[0].source_pos,
        audit: 0,
    };
    let rest = s.audit_rows(after_first, horizon, 100).await.unwrap();
    assert_eq!(
        first.iter().chain(&rest).cloned().collect::<Vec<_>>(),
        all,
        "the rows, read in two"
    );

    let checkpoint = kuelik_store::StoredCheckpoint {
        seq: all.len() as u64,
        at: t(2),
        data: "{}".into(),
        batch: Some(kuelik_store::ChainedBatch {
            reach: horizon,
            tags: vec![7; all.len() * kuelik_store::TAG_LEN],
        }),
    };
    s.append_audit_batch(0, checkpoint.clone()).await.unwrap();
    assert_eq!(
        s.last_audit_checkpoint().await.unwrap(),
        Some(checkpoint.clone())
    );
    assert_eq!(s.audit_reach().await.unwrap(), horizon);
    assert_eq!(s.audit_pending_count().await.unwrap(), 0);
    // Another sequencer's batch from the same start is refused; nothing is written.
    let rival = kuelik_store::StoredCheckpoint {
        seq: 1,
        ..checkpoint.clone()
    };
    match s.append_audit_batch(0, rival).await {
        Err(StoreError::Duplicate("audit_chain")) => {}
        other => panic!("expected Duplicate(audit_chain), got {other:?}"),
    }
    assert_eq!(s.audit_checkpoints(0, 10).await.unwrap(), vec![checkpoint]);
    let message = db
        .raw("UPDATE audit_checkpoints SET events_to = events_to + 1")
        .await
        .expect_err("checkpoints are append-only");
    assert!(message.contains("append-only"), "{message}");

    // A row written after the batch waits past its reach.
    s.commit(Changes {
        audit: vec![audit(3, t(3), "application.read")],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(s.audit_pending_count().await.unwrap(), 1);
    let next = s.audit_horizon().await.unwrap().unwrap();
    let waiting = s.audit_rows(horizon, next, 100).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].source, ChainSource::Audit);
    assert!(s.audit_unchained(10).await.unwrap().is_empty());
}

/// The horizon never passes a row that can still be committed: on PostgreSQL an insert that
/// took its number before a bigger one was committed holds the horizon back (the sequencer
/// waits at most a moment for it, then tries again) until it commits; then both rows are
/// final, in number order. (SQLite commits one writer at a time: a reader sees no row in
/// flight, and a row in flight will have a bigger number than any it sees.)
async fn the_audit_horizon_waits_for_a_row_in_flight(db: &Db) {
    let s = db.store();
    s.commit(Changes {
        audit: vec![audit(1, t(1), "application.read")],
        ..Changes::default()
    })
    .await
    .unwrap();
    let before = s.audit_horizon().await.unwrap().expect("nothing in flight");
    let Backend::Postgres { url } = &db.backend else {
        return;
    };
    let mut writer = sqlx::postgres::PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut writer).await.unwrap();
    let in_flight: i64 = sqlx::query_scalar(
        "INSERT INTO audit_entries (id, at, actor_role, actor, action, target, details) \
         VALUES ($1, 2, 'system', '{\"role\": \"system\"}', 'application.read', NULL, '{}') \
         RETURNING pos",
    )
    .bind(Uuid::now_v7())
    .fetch_one(&mut writer)
    .await
    .unwrap();
    // A bigger number, committed while the smaller one is still in flight.
    s.commit(Changes {
        audit: vec![audit(3, t(3), "application.read")],
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.audit_horizon().await.unwrap(),
        None,
        "a row numbered {in_flight} is still in flight"
    );
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();
    let after = s.audit_horizon().await.unwrap().expect("nothing in flight");
    assert_eq!(after.audit, in_flight + 1);
    let rows = s.audit_rows(before, after, 10).await.unwrap();
    let positions: Vec<i64> = rows.iter().map(|r| r.source_pos).collect();
    assert_eq!(positions, vec![in_flight, in_flight + 1]);
}

/// Rows listed in `audit_pending` before migration 15 are chained the old way: an appended
/// batch takes its rows off the list once (a second sequencer's batch is refused whole),
/// reads back with the rows' current bytes, and a row within the listed rows' reach that is
/// neither listed nor chained shows as unchained.
async fn the_audit_chain_takes_rows_listed_before_batches_once(db: &Db) {
    let s = db.store();
    events_and_audit_rows(s).await;
    // As migration 15 found them: every row listed but the first audit entry, which was
    // taken off the list behind the service's back.
    for sql in [
        "INSERT INTO audit_pending (source, source_pos) SELECT 'event', seq FROM events ORDER BY seq",
        "INSERT INTO audit_pending (source, source_pos) SELECT 'audit', pos FROM audit_entries \
         WHERE pos > (SELECT MIN(pos) FROM audit_entries) ORDER BY pos",
    ] {
        db.raw(sql).await.unwrap();
    }
    let pending = s.audit_pending(100).await.unwrap();
    assert!(pending.iter().any(|c| c.source == ChainSource::Event));
    assert_eq!(
        pending
            .iter()
            .filter(|c| c.source == ChainSource::Audit)
            .count(),
        1
    );
    assert_eq!(s.last_audit_checkpoint().await.unwrap(), None);

    let links: Vec<kuelik_store::ChainLink> = pending
        .iter()
        .enumerate()
        .map(|(i, c)| kuelik_store::ChainLink {
            seq: i as u64 + 1,
            source: c.source,
            source_pos: c.source_pos,
            entry_hash: [i as u8; 32],
            chain_hash: [i as u8 + 100; 32],
        })
        .collect();
    let checkpoint = kuelik_store::StoredCheckpoint {
        seq: links.len() as u64,
        at: t(2),
        data: "{}".into(),
        batch: None,
    };
    s.append_audit_chain(links.clone(), checkpoint.clone())
        .await
        .unwrap();
    assert!(s.audit_pending(100).await.unwrap().is_empty());
    assert_eq!(
        s.last_audit_checkpoint().await.unwrap(),
        Some(checkpoint.clone())
    );
    match s
        .append_audit_chain(links.clone(), checkpoint.clone())
        .await
    {
        Err(StoreError::Duplicate("audit_chain")) => {}
        other => panic!("expected Duplicate(audit_chain), got {other:?}"),
    }
    let chain = s.audit_chain(0, 100).await.unwrap();
    assert_eq!(chain.iter().map(|e| e.link).collect::<Vec<_>>(), links);
    for (entry, candidate) in chain.iter().zip(&pending) {
        assert_eq!(entry.bytes.as_deref(), Some(candidate.bytes.as_slice()));
    }
    assert_eq!(s.audit_chain(1, 100).await.unwrap().len(), links.len() - 1);
    assert_eq!(s.audit_checkpoints(0, 10).await.unwrap(), vec![checkpoint]);
    // The listed rows reach to the newest of each table; the chain reaches as far.
    let legacy = s.audit_legacy_reach().await.unwrap();
    assert_eq!(Some(legacy), s.audit_horizon().await.unwrap());
    assert_eq!(s.audit_reach().await.unwrap(), legacy);
    // The first audit entry, within that reach, was never chained.
    let unchained = s.audit_unchained(10).await.unwrap();
    assert_eq!(unchained.len(), 1);
    assert_eq!(unchained[0].0, ChainSource::Audit);
    assert!(unchained[0].1 < legacy.audit);
    assert_eq!(s.audit_pending_count().await.unwrap(), 0);
    for sql in [
        "UPDATE audit_chain SET seq = seq + 100",
        "DELETE FROM audit_checkpoints",
    ] {
        let message = db.raw(sql).await.expect_err(sql);
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
}

/// A certificate is bound to one officer only; rebinding it replaces the sealed key; the
/// newest binding is the officer's; approvals are kept once and never changed.
async fn officer_credentials_and_approvals(db: &Db) {
    let s = db.store();
    let a = account(1, "officer-a", Role::Officer);
    let b = account(2, "officer-b", Role::Officer);
    s.add_staff(&a).await.unwrap();
    s.add_staff(&b).await.unwrap();
    let credential =
        |staff: StaffId, fp: char, sealed: Option<&str>, at: i64| kuelik_store::OfficerCredential {
            staff,
            fingerprint: fp.to_string().repeat(64),
            certificate: vec![0x30, 0x00],
            sealed_key: sealed.map(str::to_string),
            bound_at: t(at),
        };
    s.put_officer_credential(&credential(a.id, 'a', Some("k1"), 1))
        .await
        .unwrap();
    match s
        .put_officer_credential(&credential(b.id, 'a', None, 2))
        .await
    {
        Err(StoreError::Duplicate("certificate")) => {}
        other => panic!("expected Duplicate(certificate), got {other:?}"),
    }
    s.put_officer_credential(&credential(a.id, 'a', Some("k2"), 3))
        .await
        .unwrap();
    assert_eq!(
        s.officer_credential(a.id).await.unwrap(),
        Some(credential(a.id, 'a', Some("k2"), 3))
    );
    s.put_officer_credential(&credential(a.id, 'c', None, 4))
        .await
        .unwrap();
    assert_eq!(
        s.officer_credential(a.id)
            .await
            .unwrap()
            .unwrap()
            .fingerprint,
        "c".repeat(64)
    );
    assert_eq!(
        s.officer_credential_by_fingerprint(&"a".repeat(64))
            .await
            .unwrap()
            .unwrap()
            .staff,
        a.id
    );
    assert_eq!(s.officer_credential(b.id).await.unwrap(), None);

    let x = iin(1);
    let app = create(s, draft(1, x, "71", t(0))).await;
    let approval = kuelik_store::Approval {
        application: app.app.id,
        officer: a.id,
        method: kuelik_store::SigningMethod::Client,
        document: b"{\"format\":\"x\"}".to_vec(),
        signature: vec![1, 2, 3],
        signed_at: t(5),
    };
    s.commit(Changes {
        approval: Some(approval.clone()),
        ..Changes::default()
    })
    .await
    .unwrap();
    assert_eq!(
        s.approval(app.app.id).await.unwrap(),
        Some(approval.clone())
    );
    match s
        .commit(Changes {
            approval: Some(approval),
            ..Changes::default()
        })
        .await
    {
        Err(StoreError::Duplicate("approval")) => {}
        other => panic!("expected Duplicate(approval), got {other:?}"),
    }
    let message = db
        .raw("UPDATE approvals SET signed_at = signed_at + 1")
        .await
        .expect_err("approvals are append-only");
    assert!(message.contains("append-only"), "{message}");
}

// =======================================================================================
// Stuck work and reports (the administrator's pages)
// =======================================================================================

/// Four applications of 11–12 Dec 2025 (Astana, 71; Almaty, 75), two decided by one officer,
/// one annulled, one left in the queue, and one submitted the day before.
async fn decided_applications(s: &dyn Store) -> Vec<Tracked> {
    let mut first = queued(s, 1, iin(1), "71-01", t(0)).await;
    step(s, &mut first, Command::Take, officer(1, "71"), t(60)).await;
    step(s, &mut first, Command::Approve, officer(1, "71"), t(120)).await;
    let mut second = queued(s, 2, iin(2), "71-02", t(0)).await;
    step(s, &mut second, Command::Take, officer(1, "71"), t(60)).await;
    let annul = Command::Annul {
        reason: AnnulmentReason::PhotoNonCompliant,
        comment: AnnulmentComment::parse("лицо закрыто").unwrap(),
    };
    step(s, &mut second, annul, officer(1, "71"), t(240)).await;
    let mut third = queued(s, 3, iin(3), "71-01", t(DAY)).await;
    step(s, &mut third, Command::Take, officer(1, "71"), t(DAY + 60)).await;
    step(
        s,
        &mut third,
        Command::Approve,
        officer(1, "71"),
        t(DAY + 600),
    )
    .await;
    let fourth = queued(s, 4, iin(4), "75-01", t(0)).await;
    let fifth = queued(s, 5, iin(5), "75-01", t(-DAY)).await;
    vec![first, second, third, fourth, fifth]
}

/// Overdue applications, approvals waiting for production, outbox messages retrying has not
/// got through and stale payments are each one query; an outbox "retry now" is due at once
/// and audited in the same transaction, and a delivered or unknown message is left alone.
async fn stuck_work_is_found_by_queries_and_retried_with_an_audit(db: &Db) {
    let s = db.store();
    let apps = decided_applications(s).await;

    // Overdue: past the due date and still waiting; the annulled one is not late.
    let today = date(2026, 1, 7);
    let mut late: Vec<&Application> = apps
        .iter()
        .map(|a| &a.app)
        .filter(|a| a.is_overdue(today))
        .collect();
    late.sort_by_key(|a| (a.due_date, a.submitted_at, a.id.0));
    assert_eq!(late.len(), 3, "{late:?}");
    let found = s.overdue_applications(today, 100).await.unwrap();
    assert_eq!(ids(&found), late.iter().map(|a| a.id).collect::<Vec<_>>());
    assert_eq!(found[0].application, *late[0]);
    assert_eq!(
        ids(&s.overdue_applications(today, 1).await.unwrap()).len(),
        1
    );
    assert!(s
        .overdue_applications(date(2025, 12, 12), 100)
        .await
        .unwrap()
        .is_empty());
    let counts = s.overdue_counts(today).await.unwrap();
    let counted: Vec<(String, &str, u64)> = counts
        .iter()
        .map(|c| (c.region.to_string(), c.state.as_str(), c.count))
        .collect();
    assert_eq!(
        counted,
        vec![
            ("71".to_string(), "approved", 1),
            ("75".to_string(), "queued", 2)
        ]
    );

    // Approved and waiting for production since their approval.
    let waiting = |before| async move {
        ids(&s
            .applications_waiting_since(ApplicationState::Approved, before, 100)
            .await
            .unwrap())
    };
    assert!(waiting(t(120)).await.is_empty());
    assert_eq!(waiting(t(121)).await, vec![app_id(1)]);
    assert_eq!(waiting(t(DAY + 601)).await, vec![app_id(1), app_id(3)]);
    assert_eq!(
        ids(&s
            .applications_waiting_since(ApplicationState::Queued, t(1), 100)
            .await
            .unwrap()),
        vec![app_id(5), app_id(4)],
        "queued since routing, longest first"
    );

    // Outbox: tried five times, or older than the cut-off; delivered ones never.
    let tried = OutboxMessage {
        attempts: 5,
        last_error: Some("SMS gateway timed out".into()),
        ..outbox(1, t(0), t(600))
    };
    let fresh = outbox(2, t(0), t(600));
    let old = outbox(3, t(-DAY), t(600));
    let delivered = OutboxMessage {
        attempts: 6,
        ..outbox(4, t(-DAY), t(600))
    };
    s.commit(Changes {
        outbox: vec![tried.clone(), fresh, old.clone(), delivered.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    s.outbox_delivered(delivered.id, t(1), None).await.unwrap();
    let stuck = s.outbox_stuck(5, t(-60), 100).await.unwrap();
    assert_eq!(ids_of(&stuck), vec![old.id, tried.id]);
    assert_eq!(stuck[1], tried);
    assert_eq!(
        ids_of(&s.outbox_stuck(5, t(-60), 1).await.unwrap()),
        vec![old.id]
    );

    let audited = s.audit_entries(100).await.unwrap().len();
    assert!(s
        .claim_outbox(t(30), SignedDuration::from_mins(1), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.retry_outbox_message(tried.id, t(30), audit(1, t(30), "outbox.retry"))
            .await
            .unwrap(),
        OutboxRetry::Rescheduled
    );
    let due = s
        .claim_outbox(t(30), SignedDuration::from_mins(1), 10)
        .await
        .unwrap();
    assert_eq!(ids_of(&due), vec![tried.id], "due at once, nothing else");
    assert_eq!(due[0].attempts, 6, "the attempts so far are kept");
    let entries = s.audit_entries(100).await.unwrap();
    assert_eq!(entries.len(), audited + 1);
    assert_eq!(entries[0].action, "outbox.retry");
    assert_eq!(
        s.retry_outbox_message(delivered.id, t(31), audit(2, t(31), "outbox.retry"))
            .await
            .unwrap(),
        OutboxRetry::AlreadyDelivered
    );
    assert_eq!(
        s.retry_outbox_message(Uuid::from_u128(77), t(31), audit(3, t(31), "outbox.retry"))
            .await
            .unwrap(),
        OutboxRetry::Missing
    );
    assert_eq!(s.audit_entries(100).await.unwrap().len(), audited + 1);

    // Payments: in a status since before the cut-off; totals per status.
    let refund = |n: u128, app: u128, at| PaymentRecord {
        status: PaymentStatus::RefundPending,
        ..payment_record(n, app_id(app), iin(app as u16), at)
    };
    let (r1, r2) = (refund(1, 1, t(0)), refund(2, 3, t(DAY)));
    let pending = payment_record(3, app_id(4), iin(4), t(0));
    s.commit(Changes {
        payments: vec![r2.clone(), r1.clone(), pending.clone()],
        ..Changes::default()
    })
    .await
    .unwrap();
    let stale = s
        .payments_stale(PaymentStatus::RefundPending, t(60), 100)
        .await
        .unwrap();
    assert_eq!(stale, vec![r1.clone()]);
    let all = s
        .payments_stale(PaymentStatus::RefundPending, t(DAY + 1), 100)
        .await
        .unwrap();
    assert_eq!(all, vec![r1, r2]);
    assert_eq!(
        s.payments_stale(PaymentStatus::Pending, t(60), 100)
            .await
            .unwrap(),
        vec![pending]
    );
    let totals = s
        .payment_totals(PaymentStatus::RefundPending)
        .await
        .unwrap();
    assert_eq!((totals.count, totals.amount), (2, Tiyn(2 * 78_640)));
    let none = s.payment_totals(PaymentStatus::Refunded).await.unwrap();
    assert_eq!((none.count, none.amount), (0, Tiyn(0)));
}

/// An event's `data` holds only what its columns do not; events stored before that, with
/// the whole event as JSON, stay as they are (append-only, hashed by the audit chain) and are
/// read back as written and counted by their reason like the others.
async fn an_event_stored_whole_is_read_back_and_counted(db: &Db) {
    let s = db.store();
    let apps = decided_applications(s).await;
    let fourth = &apps[3].app;
    let old = Event {
        application: fourth.id,
        kind: EventKind::Annulled {
            reason: AnnulmentReason::SignatureNonCompliant,
            comment: "подпись не видна".into(),
        },
        from: ApplicationState::UnderReview,
        to: ApplicationState::Annulled,
        actor: officer(2, "75"),
        at: t(300),
    };
    let whole = serde_json::to_string(&old).unwrap();
    db.raw(&format!(
        "INSERT INTO events (application_id, kind, from_state, to_state, actor_role, \
         actor_staff, at, data) VALUES ('{}', 'annulled', 'under_review', 'annulled', \
         'officer', '{}', {}, '{whole}')",
        fourth.id.0,
        staff_id(2).0,
        old.at.as_microsecond()
    ))
    .await
    .unwrap();
    let history = s.history(fourth.id).await.unwrap();
    assert_eq!(history.last(), Some(&old));
    // The events written by the store itself read back too (the compact form).
    let annulled = s.history(apps[1].app.id).await.unwrap();
    assert!(matches!(
        annulled.last().map(|e| &e.kind),
        Some(EventKind::Annulled {
            reason: AnnulmentReason::PhotoNonCompliant,
            ..
        })
    ));

    let midnight = |d: Date| -> Timestamp { format!("{d}T00:00:00+05:00").parse().unwrap() };
    let period = ReportPeriod {
        from: midnight(date(2025, 12, 11)),
        until: midnight(date(2025, 12, 13)),
        utc_offset: SignedDuration::from_hours(5),
    };
    let mut reasons: Vec<(AnnulmentReason, u64)> = s
        .activity_report(&period)
        .await
        .unwrap()
        .annulment_reasons
        .iter()
        .map(|r| (r.reason, r.count))
        .collect();
    reasons.sort_by_key(|(r, _)| r.as_str());
    assert_eq!(
        reasons,
        vec![
            (AnnulmentReason::PhotoNonCompliant, 1),
            (AnnulmentReason::SignatureNonCompliant, 1)
        ]
    );
}

/// Submissions per Almaty day and per region, decision times per region (nearest-rank median
/// and 90th percentile) and annulment reasons, for a period only.
/// What a status read, a history, a timeline and the reports show of each application, and
/// the audit chain's bytes of every event.
async fn everything_shown(
    s: &dyn Store,
    apps: &[ApplicationId],
    period: &ReportPeriod,
) -> (Vec<String>, kuelik_store::ActivityReport) {
    let mut shown = Vec::new();
    for &id in apps {
        let record = s.application_record(id).await.unwrap().unwrap();
        shown.push(format!(
            "{:?}\n{:?}\n{:?}\n{:?}",
            s.history(id).await.unwrap(),
            s.timeline(id).await.unwrap(),
            record.timeline,
            record.stored.version,
        ));
    }
    (shown, s.activity_report(period).await.unwrap())
}

/// A finished, quiet application's event rows move into one archived row (issue #19) and
/// nothing shown changes: status reads, histories, timelines, the reports; the archived
/// events give the audit chain the bytes their rows gave. Only finished applications move,
/// only events the chain has reached, only after the quiet time; a later event is read after
/// the archived ones and grows the row when archived in turn.
async fn finished_histories_are_archived_and_read_alike(db: &Db) {
    let s = db.store();
    let mut apps = decided_applications(s).await;
    // The first application approved goes on to be issued; the second was annulled.
    let ticket = apps[0].app.ticket.unwrap();
    for (command, actor) in [
        (Command::StartProduction, production()),
        (
            Command::Dispatch {
                document_number: "041234567".into(),
            },
            production(),
        ),
        (Command::Receive, desk("71-01")),
        (hand_over(ticket), desk("71-01")),
    ] {
        step(s, &mut apps[0], command, actor, t(2 * DAY)).await;
    }
    let ids: Vec<ApplicationId> = apps.iter().map(|a| a.app.id).collect();
    let midnight = |d: Date| -> Timestamp { format!("{d}T00:00:00+05:00").parse().unwrap() };
    let period = ReportPeriod {
        from: midnight(date(2025, 12, 11)),
        until: midnight(date(2025, 12, 14)),
        utc_offset: SignedDuration::from_hours(5),
    };
    let before = everything_shown(s, &ids, &period).await;
    assert_eq!(before.1.decision_times[0].approved, 2);
    let horizon = s.audit_horizon().await.unwrap().unwrap();
    let chain_bytes: std::collections::HashMap<i64, Vec<u8>> = s
        .audit_rows(ChainReach::default(), horizon, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.source == ChainSource::Event)
        .map(|r| (r.source_pos, r.bytes))
        .collect();
    let scan = |chained_to: i64, quiet_before: Timestamp, rows: u32| kuelik_store::ArchiveScan {
        after_seq: 0,
        chained_to,
        quiet_before,
        rows,
    };
    let later = t(100 * DAY);

    // Not quiet yet, or not chained yet: nothing moves.
    let round = s
        .archive_histories(scan(horizon.events, t(240), 10_000))
        .await
        .unwrap();
    assert_eq!((round.applications, round.events), (0, 0), "not quiet");
    assert!(round.at_end);
    let issued_last = *chain_bytes.keys().max().unwrap();
    let round = s
        .archive_histories(scan(issued_last - 1, later, 10_000))
        .await
        .unwrap();
    assert_eq!(
        round.applications, 1,
        "only the annulled one: the issued one's last event is not chained"
    );

    // The rest, a few rows per round.
    let mut after = 0;
    let mut moved = round.events;
    loop {
        let round = s
            .archive_histories(kuelik_store::ArchiveScan {
                after_seq: after,
                ..scan(horizon.events, later, 3)
            })
            .await
            .unwrap();
        moved += round.events;
        after = round.scanned_to;
        if round.at_end {
            break;
        }
    }
    let finished_events =
        s.history(ids[0]).await.unwrap().len() + s.history(ids[1]).await.unwrap().len();
    assert_eq!(
        moved as usize, finished_events,
        "every row of both finished ones"
    );
    assert_eq!(everything_shown(s, &ids, &period).await, before);

    // The archived events, in the chain's order, are the bytes the rows gave.
    let archived = s.archived_histories(0, 10).await.unwrap();
    assert_eq!(archived.len(), 2);
    assert!(archived[0].first_seq < archived[1].first_seq);
    for history in &archived {
        let mut index = 0;
        while let Some(entry) = history.chain_entry(index).unwrap() {
            assert_eq!(entry.source, ChainSource::Event);
            assert_eq!(Some(&entry.bytes), chain_bytes.get(&entry.source_pos));
            index += 1;
        }
        assert!(index >= 5, "{index} events");
    }
    assert_eq!(
        s.archived_histories(archived[0].first_seq, 10)
            .await
            .unwrap(),
        archived[1..].to_vec()
    );
    // The rows still in `events` are the live applications' only.
    let live: Vec<i64> = s
        .audit_rows(ChainReach::default(), horizon, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.source == ChainSource::Event)
        .map(|r| r.source_pos)
        .collect();
    assert_eq!(live.len() + finished_events, chain_bytes.len());
    // Retention still finds them finished, by their archived last event.
    let purge = s.applications_to_purge(later, 10).await.unwrap();
    assert!(
        purge.contains(&ids[0]) && purge.contains(&ids[1]),
        "{purge:?}"
    );

    // A refund confirmed later is read after the archived events, then archived in turn.
    let (history, timeline) = (
        s.history(ids[1]).await.unwrap(),
        s.timeline(ids[1]).await.unwrap(),
    );
    let late = step(
        s,
        &mut apps[1],
        Command::ConfirmRefund,
        Actor::System,
        t(40 * DAY),
    )
    .await;
    let grown = s.history(ids[1]).await.unwrap();
    assert_eq!(grown.len(), history.len() + 1);
    assert_eq!(grown[..history.len()], history[..]);
    assert_eq!(grown.last(), Some(&late));
    let horizon = s.audit_horizon().await.unwrap().unwrap();
    let round = s
        .archive_histories(scan(horizon.events, later, 10_000))
        .await
        .unwrap();
    assert_eq!((round.applications, round.events), (1, 1));
    assert_eq!(s.history(ids[1]).await.unwrap(), grown);
    assert_eq!(s.timeline(ids[1]).await.unwrap().len(), timeline.len() + 1);
    let rows = s.archived_histories(0, 10).await.unwrap();
    assert_eq!(rows.len(), 2, "the row grew, no second one");
    assert_eq!(
        everything_shown(s, &ids, &period).await.1,
        before.1,
        "a refund is no decision"
    );
}

async fn reports_are_aggregated_by_the_database(db: &Db) {
    let s = db.store();
    decided_applications(s).await;
    let midnight = |d: Date| -> Timestamp { format!("{d}T00:00:00+05:00").parse().unwrap() };
    let period = ReportPeriod {
        from: midnight(date(2025, 12, 11)),
        until: midnight(date(2025, 12, 13)),
        utc_offset: SignedDuration::from_hours(5),
    };
    let report = s.activity_report(&period).await.unwrap();
    let per_day: Vec<(Date, u64)> = report
        .submitted_per_day
        .iter()
        .map(|d| (d.day, d.count))
        .collect();
    assert_eq!(
        per_day,
        vec![(date(2025, 12, 11), 3), (date(2025, 12, 12), 1)],
        "the day before the period is left out"
    );
    let per_region: Vec<(String, u64)> = report
        .submitted_per_region
        .iter()
        .map(|r| (r.region.to_string(), r.count))
        .collect();
    assert_eq!(per_region, vec![("71".into(), 3), ("75".into(), 1)]);

    // Astana: 120, 240 and 600 minutes from submission to decision.
    assert_eq!(report.decision_times.len(), 1);
    let astana = &report.decision_times[0];
    assert_eq!(astana.region, region("71"));
    assert_eq!((astana.approved, astana.annulled), (2, 1));
    assert_eq!(astana.median, SignedDuration::from_mins(240));
    assert_eq!(astana.p90, SignedDuration::from_mins(600));

    assert_eq!(report.annulment_reasons.len(), 1);
    assert_eq!(
        report.annulment_reasons[0].reason,
        AnnulmentReason::PhotoNonCompliant
    );
    assert_eq!(report.annulment_reasons[0].count, 1);

    // A period before anything happened is empty, not an error.
    let before = ReportPeriod {
        from: midnight(date(2025, 11, 1)),
        until: midnight(date(2025, 11, 2)),
        ..period
    };
    let empty = s.activity_report(&before).await.unwrap();
    assert_eq!(empty, kuelik_store::ActivityReport::default());
}
