//! Crash safety of the real binary: `kuelik serve --demo` on a data directory is SIGKILLed at
//! random moments while citizens go through their journeys and officers take, release and
//! annul applications, and is started again on the same directory each time. Afterwards the
//! database (opened with `kuelik_store`) must show that:
//!
//! - every change acknowledged with a 2xx answer is there, exactly once (each created
//!   application, attached image, chosen point, recorded payment, submission with its ticket,
//!   each officer action acknowledged);
//! - nothing unacknowledged is half-written: every application's stored state is the replay
//!   of its event history, passes `check_invariants`, and its images and payment exist;
//! - every notification is delivered at least once and shown once (one inbox notice per
//!   noticed event, no duplicate);
//! - the logs of every run hold no IIN, name, phone number or one-time code.
//!
//! The kill times are random (seeded: `KUELIK_CRASH_SEED`), the assertions are not: they hold
//! whatever the moment of each kill. Short form: 3 kills; `KUELIK_CRASH_ROUNDS=20` for the
//! long form. Finally `kuelik audit verify` must find the audit log intact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use kuelik_core::document::DocumentKind;
use kuelik_core::iin::{Iin, Sex};
use kuelik_core::lang::Lang;
use kuelik_core::lifecycle::{Application, ApplicationId, ApplicationState};
use kuelik_core::register::{Person, Phone, RegisteredDocument};
use kuelik_store::{PaymentStatus, Store};

const PORTRAIT: &[u8] = include_bytes!("../../media/corpus/portrait.jpg");
const SIGNATURE: &[u8] = include_bytes!("../../media/corpus/signature.jpg");
const OFFICER_PASSWORD: &str = "crash-test-officer-password";
const DEMO_PASSWORD: &str = "kuelik-demo-2025";

/// A small deterministic generator (xorshift64*): kill times and officer choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    kuelik_core::digest::Sha256Digest::from_bytes(kuelik_server::auth::sha256(bytes)).to_string()
}

const LETTERS: [char; 25] = [
    'а', 'б', 'в', 'г', 'д', 'е', 'ж', 'з', 'и', 'к', 'л', 'м', 'н', 'о', 'п', 'р', 'с', 'т', 'у',
    'ф', 'х', 'ц', 'ч', 'ш', 'щ',
];

/// `count` citizens of Astana whose cards expire in 10 days (inside the online window).
fn citizens(count: usize) -> Vec<Person> {
    let today = kuelik_core::time::almaty_date(Timestamp::now());
    let last_valid_day = kuelik_core::time::add_days(today, 10);
    (0..count)
        .map(|i| {
            let birth = kuelik_core::time::add_days(jiff::civil::date(1985, 1, 1), i as i32);
            let iin = (0..50)
                .find_map(|k| Iin::from_parts(birth, Sex::Female, 700 + k))
                .expect("an IIN");
            Person {
                iin,
                surname: format!(
                    "Сынақова-{}{}",
                    LETTERS[i / LETTERS.len()],
                    LETTERS[i % LETTERS.len()]
                ),
                given_name: "Гүлнұр".into(),
                patronymic: None,
                phone: Phone::parse(&format!("+7701777{:04}", 1000 + i)).unwrap(),
                language: Lang::En,
                region: "71".parse().unwrap(),
                address: "Astana, Test st. 1".into(),
                document: RegisteredDocument {
                    kind: DocumentKind::IdentityCard,
                    number: format!("04{:07}", 5000 + i),
                    issued_on: kuelik_core::time::add_days(last_valid_day, -3652),
                    last_valid_day,
                },
            }
        })
        .collect()
}

/// The binary, without this test's own `KUELIK_*` variables (they are not its configuration).
fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kuelik"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KUELIK_") {
            command.env_remove(name);
        }
    }
    command
}

fn kuelik(args: &[&str]) {
    let out = binary()
        .args(args)
        .output()
        .expect("the kuelik binary runs");
    assert!(
        out.status.success(),
        "kuelik {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Server {
    child: Child,
    base: String,
}

/// A failing test leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kuelik serve --demo` on `data` (stdout and stderr into files in `logs`) and waits
/// until it says where it serves.
fn start(data: &Path, logs: &Path, generation: usize) -> Server {
    let out = logs.join(format!("serve-{generation}.out"));
    let err = logs.join(format!("serve-{generation}.log"));
    let child = binary()
        .arg("serve")
        .arg("--demo")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .env("KUELIK_LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("kuelik serve starts");
    // Owned by `Server` at once: dropped (killed and reaped) on any panic below.
    let mut server = Server {
        child,
        base: String::new(),
    };
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("is serving on http://")) {
            let url = line.split("http://").nth(1).unwrap().trim_end_matches('/');
            server.base = format!("http://{url}");
            return server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a client was told succeeded (a 2xx answer, or a read of committed state).
#[derive(Debug, Clone)]
enum Ack {
    Created { citizen: usize, id: String },
    Photo { id: String, sha: String },
    Signature { id: String, sha: String },
    Point { id: String, point: String },
    Paid { id: String },
    Submitted { id: String, ticket: String },
    Taken { id: String },
    Released { id: String },
    Annulled { id: String },
    Withdrawn { id: String },
}

#[derive(Default)]
struct Ledger {
    acks: Vec<Ack>,
    /// Officer requests sent, per (application, action), whatever their outcome.
    attempts: HashMap<(String, &'static str), usize>,
    /// Applications asked for, per citizen, whatever the outcome.
    creations: HashMap<usize, usize>,
    /// Every one-time code read from the dev inbox (for the log check).
    codes: HashSet<String>,
}

struct World {
    base: RwLock<String>,
    client: Client,
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
    /// No more kills: citizens finish the application in hand and stop.
    kills_done: AtomicBool,
    requests: AtomicU64,
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.read().unwrap())
    }
    fn api(&self, path: &str) -> String {
        self.url(&format!("/api/v1{path}"))
    }
    /// Sends; `None` when the server is down or died mid-request (nothing acknowledged).
    async fn send(&self, request: RequestBuilder) -> Option<Response> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match request.timeout(Duration::from_secs(20)).send().await {
            Ok(r) => Some(r),
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                None
            }
        }
    }
    async fn json(&self, request: RequestBuilder) -> Option<(StatusCode, Value)> {
        let r = self.send(request).await?;
        let status = r.status();
        let body = r.json::<Value>().await.ok().unwrap_or(Value::Null);
        Some((status, body))
    }
    fn ack(&self, ack: Ack) {
        self.ledger.lock().unwrap().acks.push(ack);
    }
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

fn code_in(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == 6).then_some(digits)
}

/// Asks for a code (`ask` = the request that issues it) and reads it from the dev inbox: the
/// first message to `phone` that mentions `marker` and was not there before. `Err` when
/// refused with 429 (the per-person limit: the citizen gives up), `Ok(None)` to try again.
async fn fresh_code(
    world: &World,
    phone: &str,
    marker: &str,
    ask: RequestBuilder,
    asked: &mut u32,
) -> Result<Option<(String, String)>, ()> {
    let inbox = |world: &World| world.client.get(world.url("/dev/inbox"));
    let Some((_, before)) = world.json(inbox(world)).await else {
        return Ok(None);
    };
    let seen: HashSet<String> = before["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m.to_string())
        .collect();
    let Some((status, issued)) = world.json(ask).await else {
        return Ok(None);
    };
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(());
    }
    if status != StatusCode::ACCEPTED {
        return Ok(None);
    }
    *asked += 1;
    let challenge = issued["challenge_id"].as_str().unwrap().to_string();
    for _ in 0..60 {
        let Some((_, now)) = world.json(inbox(world)).await else {
            return Ok(None);
        };
        let fresh = now["messages"].as_array().into_iter().flatten().find(|m| {
            m["to"] == phone
                && m["text"].as_str().is_some_and(|t| t.contains(marker))
                && !seen.contains(&m.to_string())
        });
        if let Some(code) = fresh.and_then(|m| code_in(m["text"].as_str().unwrap())) {
            world.ledger.lock().unwrap().codes.insert(code.clone());
            return Ok(Some((challenge, code)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(None)
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The application left the draft state (submitted, then perhaps taken or annulled).
    Submitted,
    /// Refused more one-time codes (429): a legitimate refusal after many crashes.
    RateLimited,
    Unfinished,
}

async fn upload(world: &World, token: &str, path: &str, bytes: &[u8]) -> Option<StatusCode> {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("x.jpg"),
    );
    let r = world
        .send(
            world
                .client
                .put(world.api(path))
                .bearer_auth(token)
                .multipart(form),
        )
        .await?;
    Some(r.status())
}

/// One citizen's journey, driven by what the server says the application needs next, so it
/// resumes after any crash.
async fn citizen(world: Arc<World>, index: usize, person: Person, deadline: Instant) -> Outcome {
    let iin = person.iin.to_string();
    let phone = person.phone.as_str().to_string();
    let mut token: Option<String> = None;
    // Codes asked for: past 3 the citizen applies no more (5 per 15 minutes are allowed, and
    // a crash can cost one).
    let mut codes = 0;
    while Instant::now() < deadline {
        let again = codes < 3 && !world.kills_done.load(Ordering::Relaxed);
        let Some(tok) = token.clone() else {
            let ask = world
                .client
                .post(world.api("/auth/otp"))
                .json(&json!({ "iin": iin }));
            match fresh_code(&world, &phone, "sign-in", ask, &mut codes).await {
                Err(()) => return Outcome::RateLimited,
                Ok(None) => continue,
                Ok(Some((challenge, code))) => {
                    let body = json!({ "challenge_id": challenge, "code": code, "mode": "token" });
                    let r = world
                        .json(world.client.post(world.api("/auth/session")).json(&body))
                        .await;
                    if let Some((StatusCode::OK, v)) = r {
                        token = v["token"].as_str().map(str::to_string);
                    }
                    continue;
                }
            }
        };
        let list = world
            .json(
                world
                    .client
                    .get(world.api("/applications"))
                    .bearer_auth(&tok),
            )
            .await;
        let apps = match list {
            Some((StatusCode::OK, v)) => v,
            Some((StatusCode::UNAUTHORIZED, _)) => {
                token = None;
                continue;
            }
            _ => continue,
        };
        let live = apps.as_array().unwrap().iter().find(|a| {
            !matches!(
                a["state"].as_str(),
                Some("annulled" | "withdrawn" | "issued")
            )
        });
        let Some(app) = live.cloned() else {
            if !again && !apps.as_array().unwrap().is_empty() {
                return Outcome::Submitted;
            }
            world
                .ledger
                .lock()
                .unwrap()
                .creations
                .entry(index)
                .and_modify(|n| *n += 1)
                .or_insert(1);
            let r = world
                .json(
                    world
                        .client
                        .post(world.api("/applications"))
                        .bearer_auth(&tok)
                        .json(&json!({})),
                )
                .await;
            if let Some((StatusCode::CREATED, v)) = r {
                let id = v["id"].as_str().unwrap().to_string();
                world.ack(Ack::Created { citizen: index, id });
            }
            continue;
        };
        let id = app["id"].as_str().unwrap().to_string();
        if app["state"] != "draft" {
            if !again {
                return Outcome::Submitted;
            }
            // Keep the load up while the server is being killed: withdraw (a refund) and
            // apply again, after giving the officers a moment.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let r = world
                .send(
                    world
                        .client
                        .post(world.api(&format!("/applications/{id}/withdraw")))
                        .bearer_auth(&tok)
                        .json(&json!({})),
                )
                .await;
            if r.is_some_and(|r| r.status() == StatusCode::OK) {
                world.ack(Ack::Withdrawn { id });
            }
            continue;
        }
        if app["photo_sha256"].is_null() {
            let path = format!("/applications/{id}/photo");
            if upload(&world, &tok, &path, PORTRAIT).await == Some(StatusCode::OK) {
                let sha = sha256_hex(PORTRAIT);
                world.ack(Ack::Photo { id, sha });
            }
        } else if app["signature_sha256"].is_null() {
            let path = format!("/applications/{id}/signature");
            if upload(&world, &tok, &path, SIGNATURE).await == Some(StatusCode::OK) {
                let sha = sha256_hex(SIGNATURE);
                world.ack(Ack::Signature { id, sha });
            }
        } else if app["registration_point"].is_null() {
            let r = world
                .send(
                    world
                        .client
                        .put(world.api(&format!("/applications/{id}/registration-point")))
                        .bearer_auth(&tok)
                        .json(&json!({ "point": "71-02" })),
                )
                .await;
            if r.is_some_and(|r| r.status() == StatusCode::OK) {
                let point = "71-02".to_string();
                world.ack(Ack::Point { id, point });
            }
        } else if app["paid"] != true {
            let r = world
                .json(
                    world
                        .client
                        .post(world.api(&format!("/applications/{id}/payment")))
                        .bearer_auth(&tok)
                        .json(&json!({})),
                )
                .await;
            let Some((status, started)) = r else { continue };
            if !status.is_success() {
                continue;
            }
            let pay_url = started["pay_url"].as_str().unwrap().to_string();
            if world
                .send(world.client.post(world.url(&pay_url)))
                .await
                .is_none()
            {
                continue;
            }
            // The gateway's confirmation arrives asynchronously.
            for _ in 0..40 {
                let r = world
                    .json(
                        world
                            .client
                            .get(world.api(&format!("/applications/{id}")))
                            .bearer_auth(&tok),
                    )
                    .await;
                match r {
                    Some((StatusCode::OK, a)) if a["paid"] == true => {
                        world.ack(Ack::Paid { id: id.clone() });
                        break;
                    }
                    Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    None => break,
                }
            }
        } else {
            let ask = world
                .client
                .post(world.api(&format!("/applications/{id}/submit/code")))
                .bearer_auth(&tok)
                .json(&json!({}));
            match fresh_code(&world, &phone, "sign the application", ask, &mut codes).await {
                Err(()) => return Outcome::RateLimited,
                Ok(None) => continue,
                Ok(Some((challenge, code))) => {
                    let body = json!({ "challenge_id": challenge, "code": code });
                    let r = world
                        .json(
                            world
                                .client
                                .post(world.api(&format!("/applications/{id}/submit")))
                                .bearer_auth(&tok)
                                .json(&body),
                        )
                        .await;
                    if let Some((StatusCode::OK, v)) = r {
                        let ticket = v["ticket"].as_str().unwrap().to_string();
                        world.ack(Ack::Submitted { id, ticket });
                    }
                }
            }
        }
    }
    Outcome::Unfinished
}

/// An officer of region 71: takes queued applications, then releases or annuls them (never
/// approves: approval is about to need an e-signature).
async fn officer(world: Arc<World>, username: &'static str, password: &'static str, seed: u64) {
    let mut rng = Rng(seed);
    let mut token: Option<String> = None;
    while !world.stopping() {
        let Some(tok) = token.clone() else {
            let body = json!({ "username": username, "password": password, "mode": "token" });
            let r = world
                .json(
                    world
                        .client
                        .post(world.api("/auth/staff-session"))
                        .json(&body),
                )
                .await;
            if let Some((StatusCode::OK, v)) = r {
                token = v["token"].as_str().map(str::to_string);
            }
            continue;
        };
        let act = |id: &str, action: &'static str, body: Value| {
            world
                .ledger
                .lock()
                .unwrap()
                .attempts
                .entry((id.to_string(), action))
                .and_modify(|n| *n += 1)
                .or_insert(1);
            world
                .client
                .post(world.api(&format!("/officer/applications/{id}/{action}")))
                .bearer_auth(&tok)
                .json(&body)
        };
        // First what this officer may hold from before a crash, then the queue.
        for state in ["under_review", "queued"] {
            let r = world
                .json(
                    world
                        .client
                        .get(world.api(&format!("/officer/queue?state={state}")))
                        .bearer_auth(&tok),
                )
                .await;
            let apps = match r {
                Some((StatusCode::OK, v)) => v.as_array().cloned().unwrap_or_default(),
                Some((StatusCode::UNAUTHORIZED, _)) => {
                    token = None;
                    break;
                }
                _ => continue,
            };
            if apps.is_empty() {
                continue;
            }
            let id = apps[rng.below(apps.len() as u64) as usize]["id"]
                .as_str()
                .unwrap()
                .to_string();
            if state == "queued" {
                let r = world.send(act(&id, "take", json!({}))).await;
                if r.is_none_or(|r| r.status() != StatusCode::OK) {
                    continue;
                }
                world.ack(Ack::Taken { id: id.clone() });
                tokio::time::sleep(Duration::from_millis(rng.below(150))).await;
            }
            if rng.below(4) == 0 {
                let body = json!({
                    "reason": "photo_non_compliant",
                    "comment": "Crash test: please retake the photo."
                });
                let r = world.send(act(&id, "annul", body)).await;
                if r.is_some_and(|r| r.status() == StatusCode::OK) {
                    world.ack(Ack::Annulled { id });
                }
            } else {
                let r = world.send(act(&id, "release", json!({}))).await;
                if r.is_some_and(|r| r.status() == StatusCode::OK) {
                    world.ack(Ack::Released { id });
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20 + rng.below(80))).await;
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_work_survives_sigkill_and_nothing_is_half_written() {
    let rounds: usize = std::env::var("KUELIK_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("KUELIK_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Timestamp::now().as_nanosecond() as u64 | 1);
    eprintln!("crash test: {rounds} kills, KUELIK_CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    let root = std::env::temp_dir().join(format!("kuelik-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let _cleanup = TempDir(root.clone());
    eprintln!(
        "data and logs in {} (kept if the test fails)",
        root.display()
    );

    // The register gets the test's citizens; a second officer for region 71.
    // Each citizen may ask for 5 codes in 15 minutes: more kills need more citizens.
    let people = citizens(8 + 2 * rounds);
    let csv = root.join("people.csv");
    std::fs::write(&csv, kuelik_core::register::csv::to_csv_string(&people)).unwrap();
    let dir = data.to_str().unwrap();
    kuelik(&[
        "register",
        "import",
        "--data-dir",
        dir,
        csv.to_str().unwrap(),
    ]);
    kuelik(&[
        "staff",
        "add",
        "--data-dir",
        dir,
        "--username",
        "officer71b",
        "--name",
        "Crash officer",
        "--role",
        "officer",
        "--region",
        "71",
        "--password",
        OFFICER_PASSWORD,
    ]);

    let mut server = start(&data, &root, 0);
    // The demo's own applications were seeded (with their events) before this instant.
    let work_began = Timestamp::now();
    let world = Arc::new(World {
        base: RwLock::new(server.base.clone()),
        client: Client::builder().build().unwrap(),
        ledger: Mutex::new(Ledger::default()),
        stop: AtomicBool::new(false),
        kills_done: AtomicBool::new(false),
        requests: AtomicU64::new(0),
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30 + 4 * rounds as u64);
    let journeys: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(i, p)| tokio::spawn(citizen(world.clone(), i, p.clone(), deadline)))
        .collect();
    let officers = [
        tokio::spawn(officer(world.clone(), "officer71", DEMO_PASSWORD, seed ^ 1)),
        tokio::spawn(officer(
            world.clone(),
            "officer71b",
            OFFICER_PASSWORD,
            seed ^ 2,
        )),
    ];

    // Kill at random moments; start again on the same directory each time.
    for round in 1..=rounds {
        tokio::time::sleep(Duration::from_millis(200 + rng.below(1000))).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        server = start(&data, &root, round);
        *world.base.write().unwrap() = server.base.clone();
        eprintln!(
            "kill {round} at {:.1?} ({} requests so far)",
            started.elapsed(),
            world.requests.load(Ordering::Relaxed)
        );
    }
    world.kills_done.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for j in journeys {
        outcomes.push(j.await.unwrap());
    }
    world.stop.store(true, Ordering::Relaxed);
    for o in officers {
        o.await.unwrap();
    }
    // The last stop is a crash too.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    eprintln!(
        "journeys: {outcomes:?} after {:.1?}, {} requests",
        started.elapsed(),
        world.requests.load(Ordering::Relaxed)
    );
    assert!(
        !outcomes.contains(&Outcome::Unfinished),
        "every journey finishes after the crashes (or is refused more codes): {outcomes:?}"
    );
    assert!(outcomes.contains(&Outcome::Submitted), "{outcomes:?}");

    let ledger = std::mem::take(&mut *world.ledger.lock().unwrap());
    let url = format!("sqlite://{}", data.join("kuelik.db").display());
    let store = kuelik_store::open(&url).await.unwrap();
    deliver_what_the_crashed_instances_left(&store).await;
    let all = all_applications(&url).await;
    check_every_application_replays(&store, &all).await;
    check_acknowledged(&store, &people, &ledger, work_began).await;
    check_notices(&store, &people).await;
    check_logs(&root, rounds, &people, &ledger.codes);
    // The audit log verifies after every kill (rows the last instance had not sequenced yet
    // wait on the pending list: not a fault).
    kuelik(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
}

/// A later instance's outbox worker, an hour on: what a killed instance had claimed (leased
/// for a minute) or not yet sent is delivered now, exactly as the server's worker does —
/// notices, and the document changes for the population register (to a simulated one).
async fn deliver_what_the_crashed_instances_left(store: &Arc<dyn Store>) {
    let later = Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let clock = Arc::new(kuelik_server::clock::ManualClock::new(later));
    let config = kuelik_server::Config::new(kuelik_server::Secrets {
        otp_key: [0; 32],
        gateway_key: vec![0; 32],
        register_key: vec![1; 32],
        audit_key: kuelik_trust::ServerKey::generate(),
    });
    let rules = kuelik_core::rules::RuleBook::builtin().unwrap();
    let state = kuelik_server::app_state(store.clone(), clock, rules, config);
    // Document changes for the population register go to a simulated register here.
    kuelik_server::start_register_link(&state).await.unwrap();
    for _ in 0..100 {
        if store.outbox_backlog().await.unwrap() == 0 {
            return;
        }
        kuelik_server::workers::run_outbox_once(&state).await;
    }
    panic!("the outbox does not drain");
}

async fn all_applications(url: &str) -> Vec<ApplicationId> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Row};
    use std::str::FromStr;
    let mut conn = SqliteConnectOptions::from_str(url)
        .unwrap()
        .read_only(true)
        .connect()
        .await
        .unwrap();
    sqlx::query("SELECT id FROM applications")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| ApplicationId(row.get::<String, _>(0).parse().unwrap()))
        .collect()
}

async fn check_every_application_replays(store: &Arc<dyn Store>, all: &[ApplicationId]) {
    assert!(all.len() >= 11, "the demo applications and the test's");
    for id in all {
        let stored = store.application(*id).await.unwrap().unwrap();
        let app = &stored.application;
        let history = store.history(*id).await.unwrap();
        let mut replayed = Application::new_draft(
            app.id,
            app.applicant,
            app.document_kind,
            app.region,
            app.created_at,
        );
        for event in &history {
            assert_eq!(event.application, *id);
            assert_eq!(event.from, replayed.state, "{id:?}: a gap in {history:?}");
            replayed.apply(event);
        }
        assert_eq!(
            &replayed, app,
            "stored state is not the replay of its history"
        );
        app.check_invariants()
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
        for digest in [app.photo, app.signature].into_iter().flatten() {
            assert!(
                store.blob(&digest).await.unwrap().is_some(),
                "{id:?}: an image without its bytes"
            );
        }
        // Issued: the person's record changed with it (the hand-over's own transaction).
        if app.state == kuelik_core::lifecycle::ApplicationState::Issued {
            let person = store.person(&app.applicant).await.unwrap().unwrap();
            assert_eq!(
                Some(&person.document.number),
                app.document_number.as_ref(),
                "{id:?}: issued, but the register still shows the old card"
            );
            let records = store.documents_of(&app.applicant).await.unwrap();
            assert!(
                records.iter().any(|r| r.issued_for == Some(*id)),
                "{id:?}: no record of the new document"
            );
            assert!(
                records.iter().any(|r| r
                    .invalidation
                    .as_ref()
                    .is_some_and(|i| i.application == Some(*id))),
                "{id:?}: the replaced card is not invalidated"
            );
        }
        if let Some(paid) = &app.payment {
            let record = store
                .payment_by_reference(&paid.reference)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{id:?}: a payment without its record"));
            assert_eq!(record.application, *id);
            assert_eq!(record.amount, paid.amount);
            // The application's refund and the payment record move together.
            use kuelik_core::lifecycle::RefundState;
            let expected = match app.refund {
                None => PaymentStatus::Confirmed,
                Some(RefundState::Pending) => PaymentStatus::RefundPending,
                Some(RefundState::Refunded) => PaymentStatus::Refunded,
            };
            assert_eq!(record.status, expected, "{id:?}: refund {:?}", app.refund);
        }
    }
}

fn count(history: &[kuelik_core::lifecycle::Event], kind: &str) -> usize {
    history.iter().filter(|e| e.kind.as_str() == kind).count()
}

async fn check_acknowledged(
    store: &Arc<dyn Store>,
    people: &[Person],
    ledger: &Ledger,
    work_began: Timestamp,
) {
    let load = |id: &str| {
        let id = ApplicationId(id.parse().unwrap());
        async move {
            let stored = store
                .application(id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged application {id:?} is missing"));
            (stored.application, store.history(id).await.unwrap())
        }
    };
    let mut acked: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    for ack in &ledger.acks {
        match ack {
            Ack::Created { citizen, id } => {
                let (app, _) = load(id).await;
                assert_eq!(app.applicant, people[*citizen].iin);
            }
            Ack::Photo { id, sha } => {
                assert_eq!(load(id).await.0.photo.unwrap().to_string(), *sha);
            }
            Ack::Signature { id, sha } => {
                assert_eq!(load(id).await.0.signature.unwrap().to_string(), *sha);
            }
            Ack::Point { id, point } => {
                let app = load(id).await.0;
                assert_eq!(app.registration_point.unwrap().to_string(), *point);
            }
            Ack::Paid { id } => {
                let (app, history) = load(id).await;
                assert!(app.payment.is_some());
                assert_eq!(count(&history, "payment_recorded"), 1, "{id}: paid once");
                let payments = store.payments_of(app.id).await.unwrap();
                let used = payments
                    .iter()
                    .filter(|p| !matches!(p.status, PaymentStatus::Pending | PaymentStatus::Failed))
                    .count();
                assert_eq!(used, 1, "{id}: one payment taken: {payments:?}");
            }
            Ack::Submitted { id, ticket } => {
                let (app, history) = load(id).await;
                assert_eq!(app.ticket.unwrap().to_string(), *ticket);
                assert_ne!(app.state, ApplicationState::Draft);
                assert_eq!(count(&history, "submitted"), 1, "{id}: submitted once");
                let by_ticket = store
                    .application_by_ticket(&app.ticket.unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(by_ticket.application.id, app.id);
            }
            Ack::Taken { id } => *acked.entry((id.clone(), "take")).or_default() += 1,
            Ack::Released { id } => *acked.entry((id.clone(), "release")).or_default() += 1,
            Ack::Annulled { id } => *acked.entry((id.clone(), "annul")).or_default() += 1,
            Ack::Withdrawn { id } => {
                let (app, history) = load(id).await;
                assert_eq!(app.state, ApplicationState::Withdrawn);
                assert_eq!(count(&history, "withdrawn"), 1, "{id}: withdrawn once");
            }
        }
    }
    // Officer actions: every acknowledged one is an event; no event without a request.
    for ((id, action), attempts) in &ledger.attempts {
        let (_, history) = load(id).await;
        let kind = match *action {
            "take" => "taken",
            "release" => "released",
            _ => "annulled",
        };
        let events = history
            .iter()
            .filter(|e| e.kind.as_str() == kind && e.at >= work_began)
            .count();
        let acknowledged = acked.get(&(id.clone(), *action)).copied().unwrap_or(0);
        assert!(
            acknowledged <= events && events <= *attempts,
            "{id} {action}: {acknowledged} acknowledged, {events} events, {attempts} requests"
        );
    }
    // Retries never made an application nobody asked for, nor two live ones.
    for (i, p) in people.iter().enumerate() {
        let apps = store.applications_of(&p.iin).await.unwrap();
        let asked = ledger.creations.get(&i).copied().unwrap_or(0);
        assert!(
            apps.len() <= asked,
            "{}: {} applications, {asked} asked",
            p.iin,
            apps.len()
        );
        let live = apps
            .iter()
            .filter(|a| a.application.state.is_live())
            .count();
        assert!(live <= 1, "{}: {live} live applications", p.iin);
    }
    eprintln!(
        "checked {} acknowledgements and {} officer actions",
        ledger.acks.len(),
        ledger.attempts.len()
    );
}

async fn check_notices(store: &Arc<dyn Store>, people: &[Person]) {
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    for p in people {
        let inbox = store.inbox(&p.iin).await.unwrap();
        let ids: HashSet<_> = inbox.iter().map(|n| n.id).collect();
        assert_eq!(ids.len(), inbox.len(), "a notice shown twice: {inbox:?}");
        for stored in store.applications_of(&p.iin).await.unwrap() {
            let id = stored.application.id;
            let history = store.history(id).await.unwrap();
            let mut want: BTreeMap<String, usize> = BTreeMap::new();
            for e in history
                .iter()
                .filter(|e| kuelik_server::notify::is_noticed(e))
            {
                *want.entry(e.kind.as_str().to_string()).or_default() += 1;
            }
            let mut got: BTreeMap<String, usize> = BTreeMap::new();
            for n in inbox.iter().filter(|n| n.application == Some(id)) {
                *got.entry(n.kind.clone()).or_default() += 1;
            }
            assert_eq!(got, want, "{id:?}: one notice per noticed event");
        }
    }
}

/// No personal data or codes in any run's log (route templates and masked numbers only).
fn check_logs(root: &Path, rounds: usize, people: &[Person], codes: &HashSet<String>) {
    let mut log = String::new();
    for generation in 0..=rounds {
        log += &std::fs::read_to_string(root.join(format!("serve-{generation}.log"))).unwrap();
    }
    assert!(log.contains("sms sent"), "the logs are captured");
    for p in people {
        let phone = p.phone.as_str();
        for needle in [
            p.iin.to_string().as_str(),
            p.surname.as_str(),
            p.given_name.as_str(),
            &phone[phone.len() - 10..],
        ] {
            assert!(!log.contains(needle), "the log shows {needle:?}");
        }
    }
    // Six-digit runs that are not a timestamp's fraction of a second.
    let bytes = log.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let run = &log[start..i];
            let fraction = start > 0 && bytes[start - 1] == b'.';
            assert!(
                fraction || !codes.contains(run),
                "the log shows a one-time code"
            );
        } else {
            i += 1;
        }
    }
}
