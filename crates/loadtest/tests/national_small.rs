//! The national-scale loader and measurements at a tiny scale (2,000 citizens, 2,000
//! applications) on PostgreSQL: the rows are loaded by COPY, read back through the store
//! (`national::run` checks that itself and fails otherwise), and every read yields figures.
//!
//! Needs `KUELIK_TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): a
//! database `kuelik_national_<random>` is created on that server and dropped at the end.
//! Skipped, with a message, when the variable is unset.

use sqlx::Connection;

const PG_URL_VAR: &str = "KUELIK_TEST_DATABASE_URL";

/// A new empty database on the server `admin_url` names: the admin connection (to drop it
/// afterwards), its name and its URL.
async fn fresh_database(admin_url: &str) -> (sqlx::PgConnection, String, String) {
    let name = format!("kuelik_national_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').expect("a URL naming a database");
    let url = format!("{base}/{name}");
    (admin, name, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_nation_loads_reads_back_and_is_measured() {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        eprintln!("skipped: set {PG_URL_VAR} to a PostgreSQL server to run the national load");
        return;
    };
    let (mut admin, name, database_url) = fresh_database(&admin_url).await;
    let options = kuelik_loadtest::national::Options {
        database_url,
        citizens: 2_000,
        applications: 2_000,
        seed: 7,
        // One stream: its events go in exactly in time order (checked below).
        streams: 1,
        archive_every: 0,
        queue_samples: 40,
        status_samples: 40,
        report_samples: 3,
        measure_only: false,
    };
    // The schema as migrated, to compare the indexes the load set aside and rebuilt with.
    let indexes_of = |table: &'static str| {
        format!(
            "SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM \
             pg_index WHERE indrelid::regclass::text = '{table}' ORDER BY 1"
        )
    };
    let migrated = kuelik_store::postgres::PostgresStore::open(&options.database_url)
        .await
        .unwrap();
    let mut indexes_before = Vec::new();
    for table in ["people", "applications"] {
        let defs: Vec<String> = sqlx::query_scalar(&indexes_of(table))
            .fetch_all(migrated.pool())
            .await
            .unwrap();
        indexes_before.extend(defs);
    }
    drop(migrated);
    let outcome = kuelik_loadtest::national::run(&options).await;
    // A second load into the same database is refused rather than doubling it.
    let again = kuelik_loadtest::national::run(&options).await;
    // Events are written in time order, as the service writes them, not one application's
    // history after another (which would step back in time at nearly every application);
    // and the history is chained: the newest checkpoint covers every event and audit row
    // (those left as rows, and those archived).
    // The foreign keys set aside for the load are back, checked.
    let loaded: Option<(i64, i64, i64, i64)> =
        match sqlx::PgConnection::connect(&options.database_url).await {
            Ok(mut db) => sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM (SELECT at < LAG(at) OVER (ORDER BY seq) AS back \
                 FROM events) AS e WHERE back), \
                 (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints), \
                 (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM audit_entries), \
                 (SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND convalidated AND \
                 confrelid = 'applications'::regclass AND conrelid::regclass::text IN \
                 ('events', 'payments', 'archived_histories', 'archived_decisions'))",
            )
            .fetch_one(&mut db)
            .await
            .ok(),
            Err(_) => None,
        };
    let mut indexes_after = Vec::new();
    if let Ok(mut db) = sqlx::PgConnection::connect(&options.database_url).await {
        for table in ["people", "applications"] {
            let defs: Vec<String> = sqlx::query_scalar(&indexes_of(table))
                .fetch_all(&mut db)
                .await
                .unwrap_or_default();
            indexes_after.extend(defs);
        }
    }
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    let report = outcome.expect("the national load and measurements run");
    assert!(again.is_err_and(|e| e.contains("empty")));
    // The indexes set aside for the load are built again, every one as migrated.
    assert!(indexes_before.len() >= 10, "{indexes_before:?}");
    assert_eq!(indexes_after, indexes_before);
    let (steps_back, checkpointed, rows, keys) = loaded.expect("the loaded rows can be read");
    assert_eq!(steps_back, 0, "the events by seq step back in time");
    assert_eq!(keys, 4, "the foreign keys to applications are back");

    let total: u64 = report.states.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 2_000);
    let count = |state: &str| {
        report
            .states
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n)
    };
    assert!(count("issued") > 1_500, "{:?}", report.states);
    assert!(count("queued") > 0, "{:?}", report.states);
    let loaded = |table: &str| {
        report
            .loads
            .iter()
            .find(|l| l.table.starts_with(table))
            .map_or(0, |l| l.rows)
    };
    assert_eq!(loaded("people"), 2_000);
    // Every event is chained into the audit log, as the service's sequencer would have.
    let events = loaded("events") - loaded("  of which payments");
    assert!(events > 2_000 * 10, "{:?}", report.loads);
    assert_eq!(loaded("audit chain"), events);
    // Then the finished, quiet histories are archived as the service's worker would have:
    // the newest checkpoint covers the rows left and the events archived.
    let archived = loaded("archived histories");
    assert!(
        loaded("  of which applications") > 1_000,
        "most are finished a month ago: {:?}",
        report.loads
    );
    assert_eq!(checkpointed as u64, rows as u64 + archived);
    assert!(archived > events / 2, "{:?}", report.loads);

    assert_eq!(report.latencies.len(), 3);
    for l in &report.latencies {
        assert!(
            l.samples > 0 && l.p99_ms.is_finite() && l.p99_ms > 0.0,
            "{l:?}"
        );
        assert!(l.p50_ms <= l.p95_ms && l.p95_ms <= l.p99_ms, "{l:?}");
    }
    // Status reads found histories; the queue pages found queued applications.
    assert!(report.latencies[0].mean_rows > 0.0);
    assert!(report.latencies[1].mean_rows >= 4.0);
    // Queue page, the status read's one statement, and the report's four.
    assert_eq!(report.plans.len(), 5);
    assert!(report
        .plans
        .iter()
        .any(|(name, _)| name.starts_with("status read")));
    assert!(report
        .plans
        .iter()
        .all(|(_, plan)| plan.contains("Execution Time")));
}

/// Several COPY streams side by side load the same rows (`national::run` reads counts per
/// state and 20 applications with their histories, payments and applicants back and fails
/// on any difference).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_side_by_side_load_every_row() {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        eprintln!("skipped: set {PG_URL_VAR} to a PostgreSQL server to run the national load");
        return;
    };
    let (mut admin, name, database_url) = fresh_database(&admin_url).await;
    let options = kuelik_loadtest::national::Options {
        database_url,
        citizens: 1_000,
        applications: 1_500,
        seed: 11,
        streams: 3,
        archive_every: 0,
        queue_samples: 5,
        status_samples: 5,
        report_samples: 1,
        measure_only: false,
    };
    let outcome = kuelik_loadtest::national::run(&options).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    let report = outcome.expect("the load with three streams reads back");
    let total: u64 = report.states.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 1_500);
}

/// Archiving as the load goes: the load pauses every so many events to chain and archive as
/// the service's workers would have by then, and ends with the same applications, every row
/// chained once (the rows left and the events archived), and the histories reading back
/// (`national::run` checks 20 of them against what it generated).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_as_the_load_goes_keeps_every_event_chained_once() {
    let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
        eprintln!("skipped: set {PG_URL_VAR} to a PostgreSQL server to run the national load");
        return;
    };
    let (mut admin, name, database_url) = fresh_database(&admin_url).await;
    let options = kuelik_loadtest::national::Options {
        database_url,
        citizens: 1_500,
        applications: 1_500,
        seed: 13,
        streams: 2,
        archive_every: 2_000,
        queue_samples: 5,
        status_samples: 20,
        report_samples: 1,
        measure_only: false,
    };
    let outcome = kuelik_loadtest::national::run(&options).await;
    let counted: Option<(i64, i64)> = match sqlx::PgConnection::connect(&options.database_url).await
    {
        Ok(mut db) => sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints), \
                 (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM audit_entries)",
        )
        .fetch_one(&mut db)
        .await
        .ok(),
        Err(_) => None,
    };
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    let report = outcome.expect("the sliced load reads back");
    let (checkpointed, rows) = counted.expect("the loaded rows can be counted");
    let loaded = |table: &str| {
        report
            .loads
            .iter()
            .filter(|l| l.table.trim_start().starts_with(table))
            .map(|l| l.rows)
            .sum::<u64>()
    };
    let events = loaded("events") - loaded("of which payments");
    assert!(loaded("slices") >= 5, "{:?}", report.loads);
    assert!(loaded("archived in slices") > 0, "{:?}", report.loads);
    // Chained once each: in the slices and at the end.
    assert_eq!(loaded("audit chain"), events, "{:?}", report.loads);
    let archived = loaded("archived");
    assert_eq!(checkpointed as u64, rows as u64 + archived);
    let total: u64 = report.states.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 1_500);
}
