//! The ceilings every figure of the day is compared with, measured in the same run on the
//! same machine (so a busy machine lowers both sides of a ratio alike): the HTTP stack
//! alone, the public eligibility decision, status reads, SQLite's one-insert-per-commit
//! rate against the service's durable state changes, JPEG decoding against the photo
//! check, and raw SHA-256.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use kuelik_core::register::Person;

use crate::codes::CodeBook;
use crate::http::{Api, Recorder};
use crate::people::Images;
use crate::roles::{self, Submitted};
use crate::server::Scratch;

/// Requests per second over a phase, and its latencies.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    pub per_sec: f64,
    pub ok: u64,
    pub secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ceilings {
    /// `GET /healthz`: routing, middleware and HTTP only.
    pub static_http: Rate,
    /// `POST /api/v1/eligibility`, anonymous.
    pub eligibility: Rate,
    /// `GET /api/v1/applications/{id}` with the citizens' tokens (session lookup, the
    /// application with its history and payments).
    pub status: Rate,
    /// One INSERT per fsynced commit, one connection, the store's SQLite settings (or the
    /// PostgreSQL database), in a scratch table.
    pub insert_per_commit: Rate,
    /// Registration-point changes on drafts by `concurrency` citizens through the API: each
    /// one a durable commit of state, event and audit entry.
    pub durable_changes: Rate,
    /// Medians of interleaved rounds, one core.
    pub jpeg_decode_ms: f64,
    pub photo_check_ms: f64,
    pub signature_check_ms: f64,
    pub sha256_mib_per_sec: f64,
    /// Requests of the ceiling phases that failed (they count as errors of the run).
    pub errors: u64,
}

/// What the ceilings need from the day.
pub struct Inputs<'a> {
    pub api: &'a Api,
    pub codes: &'a CodeBook,
    pub submitted: &'a [Submitted],
    /// Citizens in regions with two registration points, one per client, for the
    /// durable-change ceiling; with those two points each.
    pub togglers: &'a [(Person, [String; 2])],
    pub images: &'a Images,
    pub scratch: &'a Scratch,
    /// Today for the server (the eligibility request asks about a card ending soon).
    pub today: jiff::civil::Date,
    pub concurrency: usize,
    pub secs: f64,
}

/// Runs `concurrency` clients for `secs`, each calling `one(client, round)` as fast as it
/// answers; counts the calls that returned true.
async fn hammer<F, Fut>(concurrency: usize, secs: f64, one: F) -> (u64, f64)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let one = Arc::new(one);
    let ok = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut clients = Vec::with_capacity(concurrency);
    for client in 0..concurrency {
        let (one, ok) = (one.clone(), ok.clone());
        clients.push(tokio::spawn(async move {
            let mut round = 0u64;
            while Instant::now() < deadline {
                if one(client, round).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                round += 1;
            }
        }));
    }
    for c in clients {
        let _ = c.await;
    }
    (ok.load(Ordering::Relaxed), started.elapsed().as_secs_f64())
}

fn rate(ok: u64, secs: f64, recorder: &Recorder) -> Rate {
    let all = recorder.overall();
    Rate {
        per_sec: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
        ok,
        secs,
        p50_ms: all.p50_ms,
        p99_ms: all.p99_ms,
    }
}

pub async fn measure(inputs: Inputs<'_>) -> Result<Ceilings, String> {
    let mut errors = 0;
    let (n, secs) = (inputs.concurrency, inputs.secs);

    let recorder = Arc::new(Recorder::default());
    let api = inputs.api.recording_to(recorder.clone());
    let (ok, took) = hammer(n, secs, move |_, _| {
        let api = api.clone();
        async move {
            api.send(
                "GET /healthz",
                api.client.get(api.url("/healthz")),
                &[200],
                &[],
            )
            .await
            .is_ok()
        }
    })
    .await;
    let static_http = rate(ok, took, &recorder);
    errors += recorder.error_total();

    let recorder = Arc::new(Recorder::default());
    let api = inputs.api.recording_to(recorder.clone());
    let expires = kuelik_core::time::add_days(inputs.today, 10).to_string();
    let (ok, took) = hammer(n, secs, move |_, _| {
        let api = api.clone();
        let body = json!({ "expires": expires });
        async move {
            api.send(
                "POST /api/v1/eligibility",
                api.client.post(api.api("/eligibility")).json(&body),
                &[200],
                &[],
            )
            .await
            .is_ok()
        }
    })
    .await;
    let eligibility = rate(ok, took, &recorder);
    errors += recorder.error_total();

    let status = if inputs.submitted.is_empty() {
        return Err("no citizen got a ticket: no status to read".into());
    } else {
        let recorder = Arc::new(Recorder::default());
        let api = inputs.api.recording_to(recorder.clone());
        let who: Arc<Vec<(String, String)>> = Arc::new(
            inputs
                .submitted
                .iter()
                .map(|s| (s.token.clone(), s.id.clone()))
                .collect(),
        );
        let (ok, took) = hammer(n, secs, move |client, round| {
            let (api, who) = (api.clone(), who.clone());
            async move {
                // Clients walk the citizens from different places, as many people would.
                let i = (client as u64 * 7919 + round) as usize % who.len();
                let (token, id) = &who[i];
                api.send(
                    "GET /api/v1/applications/{id}",
                    api.client
                        .get(api.api(&format!("/applications/{id}")))
                        .bearer_auth(token),
                    &[200],
                    &[],
                )
                .await
                .is_ok()
            }
        })
        .await;
        errors += recorder.error_total();
        rate(ok, took, &recorder)
    };

    let insert_per_commit = insert_per_commit(inputs.scratch, secs).await?;
    let (durable_changes, durable_errors) = durable_changes(&inputs).await?;
    errors += durable_errors;

    let photo = inputs.images.photo(0);
    let signature = inputs.images.signature(0);
    let (jpeg_decode_ms, photo_check_ms, signature_check_ms) =
        tokio::task::spawn_blocking(move || media_times(&photo, &signature, secs))
            .await
            .map_err(|e| format!("the media timing panicked: {e}"))??;
    let sha256_mib_per_sec = tokio::task::spawn_blocking(move || sha256_rate(secs))
        .await
        .map_err(|e| format!("the SHA-256 timing panicked: {e}"))?;

    Ok(Ceilings {
        static_http,
        eligibility,
        status,
        insert_per_commit,
        durable_changes,
        jpeg_decode_ms,
        photo_check_ms,
        signature_check_ms,
        sha256_mib_per_sec,
        errors,
    })
}

/// Durable state changes through the API: each client signs one citizen in, makes a draft
/// and then moves its registration point back and forth between the region's two points.
/// Every answer means state, event and audit entry were committed (fsynced).
async fn durable_changes(inputs: &Inputs<'_>) -> Result<(Rate, u64), String> {
    // Setting up is not measured, but its errors count.
    let setup = inputs.api.recording_to(Arc::new(Recorder::default()));
    let mut drafts = Vec::with_capacity(inputs.togglers.len());
    for (i, (person, points)) in inputs.togglers.iter().enumerate() {
        let token = roles::citizen_sign_in(&setup, inputs.codes, person)
            .await
            .map_err(|e| format!("durability ceiling: sign-in failed: {e}"))?;
        let id = roles::create_draft(&setup, &token, &format!("toggle-{i}"))
            .await
            .map_err(|e| format!("durability ceiling: no draft: {e}"))?;
        drafts.push((token, id, points.clone()));
    }
    let drafts = Arc::new(drafts);
    let recorder = Arc::new(Recorder::default());
    let api = inputs.api.recording_to(recorder.clone());
    let (ok, took) = hammer(drafts.len(), inputs.secs, move |client, round| {
        let (api, drafts) = (api.clone(), drafts.clone());
        async move {
            let (token, id, points) = &drafts[client];
            let point = &points[(round % 2) as usize];
            api.send(
                "PUT /api/v1/applications/{id}/registration-point",
                api.client
                    .put(api.api(&format!("/applications/{id}/registration-point")))
                    .bearer_auth(token)
                    .json(&json!({ "point": point })),
                &[200],
                &[],
            )
            .await
            .is_ok()
        }
    })
    .await;
    Ok((rate(ok, took, &recorder), recorder.error_total()))
}

/// One INSERT per commit, sequentially, on one connection: what a store without group
/// commit could do at best.
async fn insert_per_commit(scratch: &Scratch, secs: f64) -> Result<Rate, String> {
    use sqlx::Connection;
    let payload = vec![0x5au8; 256];
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut micros = Vec::new();
    let started = Instant::now();
    let fail = |e: sqlx::Error| format!("durability ceiling: {e}");
    match scratch {
        Scratch::SqliteDir(dir) => {
            // The store's driver and settings: rusqlite, WAL, synchronous=FULL (see
            // kuelik-store's sqlite/writer.rs), a prepared statement, one commit per INSERT.
            let dir = dir.clone();
            let lite = |e: rusqlite::Error| format!("durability ceiling: {e}");
            micros = tokio::task::spawn_blocking(move || -> Result<Vec<u32>, String> {
                let conn = rusqlite::Connection::open(dir.join("scratch.db")).map_err(lite)?;
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, v BLOB)",
                )
                .map_err(lite)?;
                let mut insert = conn
                    .prepare("INSERT INTO scratch (v) VALUES (?)")
                    .map_err(lite)?;
                let mut micros = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    insert.execute([&payload]).map_err(lite)?;
                    micros.push(t.elapsed().as_micros() as u32);
                }
                Ok(micros)
            })
            .await
            .map_err(|e| format!("durability ceiling: {e}"))??;
        }
        Scratch::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.map_err(fail)?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS loadtest_scratch (id BIGSERIAL PRIMARY KEY, v BYTEA)",
            )
            .execute(&mut conn)
            .await
            .map_err(fail)?;
            while Instant::now() < deadline {
                let t = Instant::now();
                sqlx::query("INSERT INTO loadtest_scratch (v) VALUES ($1)")
                    .bind(&payload)
                    .execute(&mut conn)
                    .await
                    .map_err(fail)?;
                micros.push(t.elapsed().as_micros() as u32);
            }
            sqlx::query("DROP TABLE loadtest_scratch")
                .execute(&mut conn)
                .await
                .map_err(fail)?;
        }
    }
    let took = started.elapsed().as_secs_f64();
    micros.sort_unstable();
    Ok(Rate {
        per_sec: micros.len() as f64 / took,
        ok: micros.len() as u64,
        secs: took,
        p50_ms: crate::http::quantile(&micros, 0.5),
        p99_ms: crate::http::quantile(&micros, 0.99),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Decode, photo check and signature check of the same bytes, interleaved round by round
/// (so load from elsewhere hits all alike), medians in milliseconds.
fn media_times(photo: &[u8], signature: &[u8], secs: f64) -> Result<(f64, f64, f64), String> {
    let profile = kuelik_media::Profile::default_profile();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let (mut decode, mut check, mut sig) = (Vec::new(), Vec::new(), Vec::new());
    while decode.len() < 3 || Instant::now() < deadline {
        let t = Instant::now();
        image::load_from_memory(photo).map_err(|e| format!("the photo does not decode: {e}"))?;
        decode.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        kuelik_media::check_photo(photo, &profile)
            .map_err(|e| format!("the photo check refused the photo: {e}"))?;
        check.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        kuelik_media::check_signature(signature, &profile)
            .map_err(|e| format!("the signature check refused the signature: {e}"))?;
        sig.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok((median(&mut decode), median(&mut check), median(&mut sig)))
}

/// Raw SHA-256 over 1 MiB buffers, one core.
fn sha256_rate(secs: f64) -> f64 {
    use sha2::Digest;
    let buffer = vec![0xa5u8; 1 << 20];
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut hashed = 0u64;
    let mut sink = 0u8;
    while hashed < 16 || Instant::now() < deadline {
        sink ^= sha2::Sha256::digest(&buffer)[0];
        hashed += 1;
    }
    std::hint::black_box(sink);
    hashed as f64 / started.elapsed().as_secs_f64()
}
