//! Who takes part in the day, each doing what the real one does over the HTTP API: the
//! citizen from sign-in to the ticket, the officer of a region, a production operator and
//! the desk of a registration point.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

use kuelik_core::register::Person;
use kuelik_server::clock::Clock;
use kuelik_trust::OfficerCredentials;

use crate::codes::CodeBook;
use crate::http::{Api, Failure, Reply};
use crate::people::Images;
use crate::server::{RunningClock, PASSWORD};

/// How long a citizen waits for an SMS code before giving up.
const CODE_PATIENCE: Duration = Duration::from_secs(30);
/// How long a citizen waits for the payment to be confirmed.
const PAYMENT_PATIENCE: Duration = Duration::from_secs(60);
/// How often a citizen looks whether the payment went through.
const PAYMENT_POLL: Duration = Duration::from_millis(100);

/// What every participant shares.
pub struct Day {
    pub api: Api,
    pub codes: Arc<CodeBook>,
    pub clock: Arc<RunningClock>,
    pub images: Images,
    /// Citizens in the day.
    pub citizens: u64,
    pub issued: AtomicU64,
    /// Citizens who could not get a ticket.
    pub failed: AtomicU64,
    /// Applications a staff step failed on unexpectedly; nobody touches them again, so
    /// they will not be issued.
    lost: Mutex<HashSet<String>>,
    /// Woken when every citizen is issued, failed or lost.
    pub settled: Notify,
    document_numbers: AtomicU64,
}

impl Day {
    pub fn new(
        api: Api,
        codes: Arc<CodeBook>,
        clock: Arc<RunningClock>,
        images: Images,
        citizens: u64,
    ) -> Day {
        Day {
            api,
            codes,
            clock,
            images,
            citizens,
            issued: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            lost: Mutex::new(HashSet::new()),
            settled: Notify::new(),
            document_numbers: AtomicU64::new(0),
        }
    }

    pub fn lost(&self) -> u64 {
        self.lost.lock().map_or(0, |l| l.len() as u64)
    }

    fn is_lost(&self, id: &str) -> bool {
        self.lost.lock().is_ok_and(|l| l.contains(id))
    }

    fn lose(&self, id: &str, step: &str, why: &Failure) {
        eprintln!("application {id}: {step} failed: {why}");
        if let Ok(mut l) = self.lost.lock() {
            l.insert(id.to_string());
        }
        self.check_settled();
    }

    /// Every citizen's story has ended (issued, or given up somewhere).
    pub fn is_settled(&self) -> bool {
        self.issued.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst) + self.lost()
            >= self.citizens
    }

    fn check_settled(&self) {
        if self.is_settled() {
            self.settled.notify_waiters();
            self.settled.notify_one();
        }
    }

    /// A new, unique document number (identity card: nine digits).
    fn document_number(&self) -> String {
        let n = self.document_numbers.fetch_add(1, Ordering::Relaxed);
        format!("07{:07}", n % 10_000_000)
    }
}

/// A citizen who got a ticket.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub id: String,
    pub token: String,
    pub ticket: String,
}

fn missing(what: &str) -> Failure {
    Failure::Unexpected {
        status: 0,
        body: format!("the answer has no {what}"),
    }
}

fn field(reply: &Reply, name: &str) -> Result<String, Failure> {
    reply.field(name).ok_or_else(|| missing(name))
}

/// Signs a citizen in with a one-time code; returns the bearer token.
pub async fn citizen_sign_in(
    api: &Api,
    codes: &CodeBook,
    person: &Person,
) -> Result<String, Failure> {
    let phone = person.phone.as_str();
    let before = codes.received(phone);
    let r = api
        .send(
            "POST /api/v1/auth/otp",
            api.client
                .post(api.api("/auth/otp"))
                .json(&json!({ "iin": person.iin.to_string() })),
            &[202],
            &[],
        )
        .await?;
    let challenge = field(&r, "challenge_id")?;
    let code = codes
        .wait_after(phone, before, CODE_PATIENCE)
        .await
        .ok_or_else(|| missing("sign-in code by SMS"))?;
    let r = api
        .send(
            "POST /api/v1/auth/session",
            api.client
                .post(api.api("/auth/session"))
                .json(&json!({ "challenge_id": challenge, "code": code, "mode": "token" })),
            &[200],
            &[],
        )
        .await?;
    field(&r, "token")
}

/// Creates a draft; returns its id.
pub async fn create_draft(api: &Api, token: &str, key: &str) -> Result<String, Failure> {
    let r = api
        .send(
            "POST /api/v1/applications",
            api.client
                .post(api.api("/applications"))
                .bearer_auth(token)
                .header("idempotency-key", key)
                .json(&json!({})),
            &[201],
            &[],
        )
        .await?;
    field(&r, "id")
}

pub async fn choose_point(day: &Day, token: &str, id: &str, point: &str) -> Result<(), Failure> {
    let api = &day.api;
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
    .map(drop)
}

async fn upload(
    day: &Day,
    route: &'static str,
    path: String,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
) -> Result<(), Failure> {
    let api = &day.api;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    api.send(
        route,
        api.client
            .put(api.api(&path))
            .bearer_auth(token)
            .multipart(form),
        &[200],
        &[],
    )
    .await
    .map(drop)
}

async fn application(day: &Day, token: &str, id: &str) -> Result<Value, Failure> {
    let api = &day.api;
    let r = api
        .send(
            "GET /api/v1/applications/{id}",
            api.client
                .get(api.api(&format!("/applications/{id}")))
                .bearer_auth(token),
            &[200],
            &[],
        )
        .await?;
    Ok(r.json())
}

/// Starts the payment, "pays" on the simulated gateway's page and waits for its callback.
async fn pay(day: &Day, token: &str, id: &str, n: u64) -> Result<(), Failure> {
    let api = &day.api;
    let r = api
        .send(
            "POST /api/v1/applications/{id}/payment",
            api.client
                .post(api.api(&format!("/applications/{id}/payment")))
                .bearer_auth(token)
                .header("idempotency-key", format!("pay-{n}")),
            &[201],
            &[],
        )
        .await?;
    let pay_url = field(&r, "pay_url")?;
    api.send(
        "POST {simulated gateway pay_url}",
        api.client.post(api.url(&pay_url)),
        &[202],
        &[],
    )
    .await?;
    let deadline = tokio::time::Instant::now() + PAYMENT_PATIENCE;
    loop {
        if application(day, token, id).await?["paid"] == true {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(missing("payment confirmation within a minute"));
        }
        tokio::time::sleep(PAYMENT_POLL).await;
    }
}

/// Submits with a fresh code (R7); returns the ticket.
async fn submit(
    day: &Day,
    person: &Person,
    token: &str,
    id: &str,
    n: u64,
) -> Result<String, Failure> {
    let api = &day.api;
    let phone = person.phone.as_str();
    let before = day.codes.received(phone);
    let r = api
        .send(
            "POST /api/v1/applications/{id}/submit/code",
            api.client
                .post(api.api(&format!("/applications/{id}/submit/code")))
                .bearer_auth(token)
                .json(&json!({})),
            &[202],
            &[],
        )
        .await?;
    let challenge = field(&r, "challenge_id")?;
    let code = day
        .codes
        .wait_after(phone, before, CODE_PATIENCE)
        .await
        .ok_or_else(|| missing("submission code by SMS"))?;
    let r = api
        .send(
            "POST /api/v1/applications/{id}/submit",
            api.client
                .post(api.api(&format!("/applications/{id}/submit")))
                .bearer_auth(token)
                .header("idempotency-key", format!("submit-{n}"))
                .json(&json!({ "challenge_id": challenge, "code": code })),
            &[200],
            &[],
        )
        .await?;
    field(&r, "ticket")
}

/// Citizen `n`'s whole part of the day: sign-in → draft → registration point → photo and
/// signature → payment → submission code → ticket.
pub async fn citizen(
    day: &Day,
    n: u64,
    person: &Person,
    point: &str,
) -> Result<Submitted, Failure> {
    let token = citizen_sign_in(&day.api, &day.codes, person).await?;
    let id = create_draft(&day.api, &token, &format!("create-{n}")).await?;
    choose_point(day, &token, &id, point).await?;
    upload(
        day,
        "PUT /api/v1/applications/{id}/photo",
        format!("/applications/{id}/photo"),
        &token,
        day.images.photo(n),
        "photo.jpg",
    )
    .await?;
    upload(
        day,
        "PUT /api/v1/applications/{id}/signature",
        format!("/applications/{id}/signature"),
        &token,
        day.images.signature(n),
        "signature.png",
    )
    .await?;
    pay(day, &token, &id, n).await?;
    let ticket = submit(day, person, &token, &id, n).await?;
    Ok(Submitted { id, token, ticket })
}

/// Records that citizen `n` gave up.
pub fn citizen_failed(day: &Day, n: u64, why: &Failure) {
    let failed = day.failed.fetch_add(1, Ordering::SeqCst) + 1;
    // The first few reasons are enough to see what went wrong; the report counts them all.
    if failed <= 10 {
        eprintln!("citizen {n} gave up: {why}");
    }
    day.check_settled();
}

/// Signs a staff member in; returns the bearer token. Staff sign in before the day starts
/// (at the start of their shift), so these requests are not in the day's figures.
pub async fn staff_sign_in(api: &Api, username: &str) -> Result<String, Failure> {
    let r = api
        .send(
            "POST /api/v1/auth/staff-session",
            api.client
                .post(api.api("/auth/staff-session"))
                .json(&json!({ "username": username, "password": PASSWORD, "mode": "token" })),
            &[200],
            &[],
        )
        .await?;
    field(&r, "token")
}

/// An idle pause of 200–500 ms (staff look at their queue again), cut short by the end of
/// the day. Returns false once the day is over.
async fn idle(stop: &mut watch::Receiver<bool>, jitter: &mut u64) -> bool {
    // xorshift: enough to keep idle staff from polling in lockstep.
    *jitter ^= *jitter << 13;
    *jitter ^= *jitter >> 7;
    *jitter ^= *jitter << 17;
    let pause = Duration::from_millis(200 + *jitter % 301);
    tokio::select! {
        _ = tokio::time::sleep(pause) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// The ids (and tickets) in a queue answer.
async fn queue(
    api: &Api,
    route: &'static str,
    path: &str,
    token: &str,
) -> Result<Vec<(String, Option<String>)>, Failure> {
    let r = api
        .send(
            route,
            api.client.get(api.api(path)).bearer_auth(token),
            &[200],
            &[],
        )
        .await?;
    Ok(r.json()
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|a| {
                    let id = a["id"].as_str()?.to_string();
                    Some((id, a["ticket"].as_str().map(str::to_string)))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The officer of one region: reviews each queued application (the audited read), takes
/// it, fetches the approval document, signs it on "the device" (CMS with the officer's
/// certificate) and approves.
pub async fn officer(
    day: Arc<Day>,
    token: String,
    creds: OfficerCredentials,
    mut stop: watch::Receiver<bool>,
    seed: u64,
) -> Result<(), Failure> {
    let api = &day.api;
    let mut jitter = seed | 1;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        // A failed poll is recorded as an error; the officer looks again after a pause.
        let waiting = queue(api, "GET /api/v1/officer/queue", "/officer/queue", &token)
            .await
            .unwrap_or_default();
        let mut worked = false;
        for (id, _) in waiting {
            if day.is_lost(&id) {
                continue;
            }
            worked = true;
            if let Err((step, why)) = approve(&day, &token, &creds, &id).await {
                day.lose(&id, step, &why);
            }
        }
        if !worked && !idle(&mut stop, &mut jitter).await {
            return Ok(());
        }
    }
}

async fn approve(
    day: &Day,
    token: &str,
    creds: &OfficerCredentials,
    id: &str,
) -> Result<(), (&'static str, Failure)> {
    let api = &day.api;
    let r = api
        .send(
            "GET /api/v1/officer/applications/{id}",
            api.client
                .get(api.api(&format!("/officer/applications/{id}")))
                .bearer_auth(token),
            &[200],
            &[],
        )
        .await
        .map_err(|e| ("review", e))?;
    drop(r);
    api.send(
        "POST /api/v1/officer/applications/{id}/take",
        api.client
            .post(api.api(&format!("/officer/applications/{id}/take")))
            .bearer_auth(token)
            .json(&json!({})),
        &[200],
        &[],
    )
    .await
    .map_err(|e| ("take", e))?;
    let document = api
        .send(
            "GET /api/v1/officer/applications/{id}/approval-document",
            api.client
                .get(api.api(&format!("/officer/applications/{id}/approval-document")))
                .bearer_auth(token),
            &[200],
            &[],
        )
        .await
        .map_err(|e| ("approval document", e))?
        .body;
    let cms = kuelik_trust::cms::sign_detached(
        &document,
        &creds.key_pem,
        &creds.cert_pem,
        day.clock.now(),
    )
    .map_err(|e| {
        (
            "signing",
            Failure::Unexpected {
                status: 0,
                body: e.to_string(),
            },
        )
    })?;
    let document = String::from_utf8(document)
        .map_err(|_| ("approval document", missing("UTF-8 document")))?;
    let signature = base64::engine::general_purpose::STANDARD.encode(cms);
    api.send(
        "POST /api/v1/officer/applications/{id}/approve",
        api.client
            .post(api.api(&format!("/officer/applications/{id}/approve")))
            .bearer_auth(token)
            .json(&json!({ "document": document, "signature": signature })),
        &[200],
        &[],
    )
    .await
    .map_err(|e| ("approve", e))?;
    Ok(())
}

/// A production operator: accepts approved applications (the signature is verified
/// there) and dispatches the made document. The operators race for the same queue; a 409
/// means the other one was first and is no error.
pub async fn production(
    day: Arc<Day>,
    token: String,
    backwards: bool,
    mut stop: watch::Receiver<bool>,
    seed: u64,
) -> Result<(), Failure> {
    let api = &day.api;
    let mut jitter = seed | 1;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let mut waiting = queue(
            api,
            "GET /api/v1/production/queue",
            "/production/queue",
            &token,
        )
        .await
        .unwrap_or_default();
        // The two operators start from opposite ends, so they collide once per round, not
        // on every item.
        if backwards {
            waiting.reverse();
        }
        let mut worked = false;
        for (id, _) in waiting {
            if day.is_lost(&id) {
                continue;
            }
            worked = true;
            let accepted = api
                .send(
                    "POST /api/v1/production/applications/{id}/accept",
                    api.client
                        .post(api.api(&format!("/production/applications/{id}/accept")))
                        .bearer_auth(&token)
                        .json(&json!({})),
                    &[200],
                    &[409],
                )
                .await;
            match accepted {
                Ok(_) => {}
                Err(Failure::Tolerated(_)) => continue,
                Err(why) => {
                    day.lose(&id, "accept", &why);
                    continue;
                }
            }
            let dispatched = api
                .send(
                    "POST /api/v1/production/applications/{id}/dispatch",
                    api.client
                        .post(api.api(&format!("/production/applications/{id}/dispatch")))
                        .bearer_auth(&token)
                        .json(&json!({ "document_number": day.document_number() })),
                    &[200],
                    &[],
                )
                .await;
            if let Err(why) = dispatched {
                day.lose(&id, "dispatch", &why);
            }
        }
        if !worked && !idle(&mut stop, &mut jitter).await {
            return Ok(());
        }
    }
}

/// The desk of one registration point: receives the documents that arrive, and hands each
/// one over to its holder by the ticket they bring (looked up first, as the identity check
/// needs the name and photo).
pub async fn desk(
    day: Arc<Day>,
    token: String,
    mut stop: watch::Receiver<bool>,
    seed: u64,
) -> Result<(), Failure> {
    let api = &day.api;
    let mut jitter = seed | 1;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let mut worked = false;
        let arriving = queue(api, "GET /api/v1/point/queue", "/point/queue", &token)
            .await
            .unwrap_or_default();
        for (id, _) in arriving {
            if day.is_lost(&id) {
                continue;
            }
            worked = true;
            let received = api
                .send(
                    "POST /api/v1/point/applications/{id}/receive",
                    api.client
                        .post(api.api(&format!("/point/applications/{id}/receive")))
                        .bearer_auth(&token)
                        .json(&json!({})),
                    &[200],
                    &[],
                )
                .await;
            if let Err(why) = received {
                day.lose(&id, "receive", &why);
            }
        }
        let ready = queue(
            api,
            "GET /api/v1/point/queue?state=ready_for_pickup",
            "/point/queue?state=ready_for_pickup",
            &token,
        )
        .await
        .unwrap_or_default();
        for (id, ticket) in ready {
            if day.is_lost(&id) {
                continue;
            }
            worked = true;
            let Some(ticket) = ticket else {
                day.lose(&id, "pickup", &missing("ticket"));
                continue;
            };
            if let Err((step, why)) = hand_over(api, &token, &ticket).await {
                day.lose(&id, step, &why);
                continue;
            }
            day.issued.fetch_add(1, Ordering::SeqCst);
            day.check_settled();
        }
        if !worked && !idle(&mut stop, &mut jitter).await {
            return Ok(());
        }
    }
}

async fn hand_over(api: &Api, token: &str, ticket: &str) -> Result<(), (&'static str, Failure)> {
    api.send(
        "GET /api/v1/point/tickets/{ticket}",
        api.client
            .get(api.api(&format!("/point/tickets/{ticket}")))
            .bearer_auth(token),
        &[200],
        &[],
    )
    .await
    .map_err(|e| ("ticket lookup", e))?;
    let r = api
        .send(
            "POST /api/v1/point/tickets/{ticket}/hand-over",
            api.client
                .post(api.api(&format!("/point/tickets/{ticket}/hand-over")))
                .bearer_auth(token)
                .json(&json!({ "old_card": "surrendered" })),
            &[200],
            &[],
        )
        .await
        .map_err(|e| ("hand-over", e))?;
    match r.field("state").as_deref() {
        Some("issued") => Ok(()),
        other => Err((
            "hand-over",
            Failure::Unexpected {
                status: r.status,
                body: format!("state after hand-over: {other:?}"),
            },
        )),
    }
}
