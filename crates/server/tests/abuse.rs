//! The abuse suite: what an attacker or a broken client tries, over real HTTP, on SQLite and
//! PostgreSQL. Each story asserts the clear 4xx answer with its stable `code` (problem+json)
//! *and* that nothing changed, re-read through the API. `journey.rs` covers the first lines
//! (another region or citizen, forged callbacks, oversize and corrupt uploads, malformed JSON,
//! unknown fields, content types, cross-site writes, code flooding); these are the rest.

mod common;

use common::*;

/// The key `TestApp` shares with the simulated gateway.
const GATEWAY_KEY: &[u8] = b"gateway test key";

/// The citizen's application as the API shows it (state, history, payments).
async fn snapshot(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app.get(token, &format!("/applications/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn new_draft(app: &TestApp, token: &str) -> String {
    let r = app.post(token, "/applications", json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asks for a sign-in code and waits for that code (not an older one); returns
/// (challenge id, code).
async fn new_sign_in_code(app: &TestApp, p: &Person) -> (String, String) {
    let before = app.codes_received(p.phone.as_str());
    let r = app
        .client
        .post(app.api("/auth/otp"))
        .json(&json!({ "iin": p.iin.to_string() }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let challenge = r.json::<Value>().await.unwrap()["challenge_id"]
        .as_str()
        .unwrap()
        .to_string();
    (challenge, app.code_after(p.phone.as_str(), before).await)
}

async fn callback(app: &TestApp, body: &[u8], signature: &str) -> Response {
    app.client
        .post(app.api("/payments/callback"))
        .header("content-type", "application/json")
        .header("x-kuelik-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_payment_callback_pays_once_and_changes_nothing() {
    each_backend(|app| async move {
        let citizen = person(21, "71", 9, "+77010000021");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let id = new_draft(&app, &token).await;
        app.complete_all_but_payment(&token, &id, "71-01").await;
        let r = app
            .post(&token, &format!("/applications/{id}/payment"), json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let started: Value = r.json().await.unwrap();
        let reference = started["payment"]["reference"]
            .as_str()
            .unwrap()
            .to_string();
        let amount = started["payment"]["amount_tiyn"].as_u64().unwrap();

        // The gateway's genuine, signed confirmation: the duty is recorded.
        let body = serde_json::to_vec(&json!({
            "event_id": "evt-1", "reference": reference, "status": "paid", "amount_tiyn": amount
        }))
        .unwrap();
        let signature = kuelik_server::gateway::sign(GATEWAY_KEY, &body);
        assert_eq!(
            callback(&app, &body, &signature).await.status(),
            StatusCode::NO_CONTENT
        );
        let paid = snapshot(&app, &token, &id).await;
        assert_eq!(paid["paid"], true);
        let recorded = |a: &Value| {
            a["history"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "payment_recorded")
                .count()
        };
        assert_eq!(recorded(&paid), 1);

        // Replayed byte for byte (an attacker's copy, or the gateway re-delivering): it is
        // acknowledged, as gateways retry until they get a 2xx, and changes nothing.
        for _ in 0..3 {
            assert_eq!(
                callback(&app, &body, &signature).await.status(),
                StatusCode::NO_CONTENT
            );
        }
        assert_eq!(
            snapshot(&app, &token, &id).await,
            paid,
            "a replay changed state"
        );

        // A replay edited to claim another amount keeps a valid signature only if the key
        // leaked; either way it is refused and changes nothing.
        let tampered = serde_json::to_vec(&json!({
            "event_id": "evt-2", "reference": reference, "status": "paid", "amount_tiyn": amount + 1
        }))
        .unwrap();
        let (status, problem_body) = problem(callback(&app, &tampered, &signature).await).await;
        assert_eq!(
            (status, problem_body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("callback_signature_invalid"))
        );
        let resigned = kuelik_server::gateway::sign(GATEWAY_KEY, &tampered);
        let (status, problem_body) = problem(callback(&app, &tampered, &resigned).await).await;
        assert_eq!(
            (status, problem_body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("amount_mismatch"))
        );
        // A signed confirmation of a payment that does not exist.
        let unknown = serde_json::to_vec(&json!({
            "event_id": "evt-3", "reference": "SIM-nothing", "status": "paid", "amount_tiyn": amount
        }))
        .unwrap();
        let signature = kuelik_server::gateway::sign(GATEWAY_KEY, &unknown);
        let (status, problem_body) = problem(callback(&app, &unknown, &signature).await).await;
        assert_eq!(
            (status, problem_body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unknown_payment"))
        );
        assert_eq!(snapshot(&app, &token, &id).await, paid);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_application_refuses_a_second_payment() {
    each_backend(|app| async move {
        let citizen = person(22, "71", 8, "+77010000022");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let id = new_draft(&app, &token).await;
        app.complete_all_but_payment(&token, &id, "71-01").await;
        let pay = format!("/applications/{id}/payment");
        // While a payment is open, asking again returns the same one, not a second.
        let first: Value = app
            .post(&token, &pay, json!({}))
            .await
            .json()
            .await
            .unwrap();
        let r = app.post(&token, &pay, json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let again: Value = r.json().await.unwrap();
        assert_eq!(again["payment"]["id"], first["payment"]["id"]);
        app.client
            .post(app.url(first["pay_url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        let paid = app.wait_for(&token, &id, |a| a["paid"] == true).await;
        assert_eq!(paid["payments"].as_array().unwrap().len(), 1);

        let (status, body) = problem(app.post(&token, &pay, json!({})).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_paid"))
        );
        // Paying the old intent again at the gateway re-sends its confirmation: no change.
        app.client
            .post(app.url(first["pay_url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(snapshot(&app, &token, &id).await, paid);
    })
    .await;
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    out
}

/// A 66-byte PNG whose header claims `side`×`side` RGB pixels (7.5 GB decoded at 50,000).
fn png_bomb(side: u32) -> Vec<u8> {
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    // zlib: one stored deflate block holding a single zero byte.
    let idat = [
        0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01,
    ];
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &idat));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A JPEG whose frame header claims `side`×`side` pixels, with no image data.
fn jpeg_bomb(side: u16) -> Vec<u8> {
    let [hi, lo] = side.to_be_bytes();
    vec![
        0xFF, 0xD8, // SOI
        0xFF, 0xC0, 0x00, 0x11, 0x08, hi, lo, hi, lo, 0x03, // SOF0, 3 components
        0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00, //
        0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F,
        0x00, // SOS
        0xFF, 0xD9, // EOI
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_bombs_are_refused_from_their_header_and_nothing_is_stored() {
    each_backend(|app| async move {
        let citizen = person(23, "71", 7, "+77010000023");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let id = new_draft(&app, &token).await;
        let before = snapshot(&app, &token, &id).await;
        for (name, bomb) in [("png", png_bomb(50_000)), ("jpeg", jpeg_bomb(50_000))] {
            assert!(bomb.len() < 100, "{name}: a tiny file");
            for part in ["photo", "signature"] {
                let started = std::time::Instant::now();
                let r = app
                    .upload(&token, &format!("/applications/{id}/{part}"), &bomb)
                    .await;
                let (status, body) = problem(r).await;
                assert_eq!(
                    (status, body["code"].as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, Some("image_too_large")),
                    "{name} {part}: {body}"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "{name} {part}: refused before decoding"
                );
                let digest = kuelik_core::digest::Sha256Digest::from_bytes(
                    kuelik_server::auth::sha256(&bomb),
                );
                assert!(app.state.store.blob(&digest).await.unwrap().is_none());
                assert!(app
                    .state
                    .store
                    .image_check(&digest)
                    .await
                    .unwrap()
                    .is_none());
            }
        }
        assert_eq!(snapshot(&app, &token, &id).await, before);
    })
    .await;
}

/// Sends a POST whose `Content-Length` announces `announced` bytes, writes only the first `sent`
/// of them and reads the answer: (status, problem `code`). A server that waited for the whole
/// body would never answer; the read gives up after 10 s.
async fn announce_and_stop(
    app: &TestApp,
    path: &str,
    announced: usize,
    sent: usize,
) -> (u16, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = reqwest::Url::parse(&app.api(path)).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: {announced}\r\n\r\n",
        url.path(),
        url.host_str().unwrap()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&vec![b'['; sent]).await.unwrap();
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if length.is_some_and(|n| answer.len() >= end + 4 + n) {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no answer without the rest of the body; got {:?}",
                String::from_utf8_lossy(&answer)
            )
        });
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "a problem answer: {head}"
    );
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string));
    (status, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_and_huge_json_bodies_are_4xx_never_500() {
    each_backend(|app| async move {
        let citizen = person(24, "71", 6, "+77010000024");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let reminders_before: Value = app.get(&token, "/me/reminders").await.json().await.unwrap();
        let max = app.state.config.max_json_bytes;
        let nested = "[".repeat(10_000);
        let nested_object = "{\"a\":".repeat(10_000);
        let long_string = format!("{{\"reason\":\"{}\"}}", "x".repeat(max + 1));
        let huge_array = format!("[{}0]", "0,".repeat(max));
        let nested_reason = format!("{{\"reason\":{}}}", "[".repeat(10_000));
        // Unclosed: the parser stops at the end of the text, not at the nesting.
        let unclosed = format!("{{\"reason\":\"expiring\"{}", " ".repeat(10));
        let cases: [(&str, &str, String, StatusCode, &str); 9] = [
            (
                "POST",
                "/applications",
                unclosed,
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            // A typed body refuses the first bracket it does not expect: no depth is reached.
            (
                "POST",
                "/applications",
                nested.clone(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "POST",
                "/applications",
                nested_reason.clone(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "POST",
                "/applications",
                long_string.clone(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
            (
                "POST",
                "/auth/otp",
                nested.clone(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "POST",
                "/auth/otp",
                huge_array.clone(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
            (
                "POST",
                "/auth/otp",
                long_string.clone(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
            (
                "PUT",
                "/me/reminders",
                nested_object,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "PUT",
                "/me/reminders",
                huge_array,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
        ];
        for (method, path, body, want_status, want_code) in cases {
            let r = app
                .client
                .request(method.parse().unwrap(), app.api(path))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let (status, problem_body) = problem(r).await;
            assert_eq!(
                (status, problem_body["code"].as_str()),
                (want_status, Some(want_code)),
                "{method} {path} with {} bytes",
                body.len()
            );
        }
        // Far over every limit: reading stops at the JSON cap, and the answer comes without
        // the rest of the body, still a problem answer. Over a socket of its own that
        // announces 2 MiB and sends only 1 KiB past the cap: an HTTP client sending the whole
        // body could be cut off mid-write by that early answer (a reset, not an answer), and
        // the test would then say nothing about the server.
        let (status, code) =
            announce_and_stop(&app, "/auth/otp", 2 * 1024 * 1024, max + 1024).await;
        assert_eq!(
            (status, code.as_deref()),
            (413, Some("body_too_large")),
            "a 2 MiB body is refused once the cap is passed, without waiting for the rest"
        );
        // Nothing was made; the session and the settings are as they were.
        let apps: Vec<Value> = app.get(&token, "/applications").await.json().await.unwrap();
        assert!(apps.is_empty());
        let reminders: Value = app.get(&token, "/me/reminders").await.json().await.unwrap();
        assert_eq!(reminders, reminders_before);
        assert_eq!(app.get(&token, "/me").await.status(), StatusCode::OK);
    })
    .await;
}

/// The shape of a body is checked as the schema says: an array is not an object (it would
/// fill a struct's fields in order), a wrong type is 422 even for an enum, and a caller
/// without the role hears 403 before anything about the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_objects_of_the_right_types_and_the_role_comes_first() {
    each_backend(|app| async move {
        let citizen = person(25, "71", 6, "+77010000025");
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let before: Value = app.get(&token, "/me/contact").await.json().await.unwrap();
        let send =
            |method: &'static str, path: &'static str, who: Option<String>, body: &'static str| {
                let mut request = app
                    .client
                    .request(method.parse().unwrap(), app.api(path))
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(who) = who {
                    request = request.bearer_auth(who);
                }
                request.send()
            };
        for (method, path, body, status, code) in [
            (
                "PUT",
                "/me/contact",
                r#"["+77011234567","ru"]"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "PUT",
                "/me/contact",
                r#""+77011234567""#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "PUT",
                "/me/contact",
                "   ",
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "PUT",
                "/me/contact",
                r#"{"phone": 77011234567}"#,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "PUT",
                "/me/reminders",
                "[true]",
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "PUT",
                "/me/reminders",
                r#"{"enabled": tru"#,
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
        ] {
            let (got, body_json) =
                problem(send(method, path, Some(token.clone()), body).await.unwrap()).await;
            assert_eq!(
                (got, body_json["code"].as_str()),
                (status, Some(code)),
                "{method} {path} {body}"
            );
        }
        // The detail is in the reader's language (Russian by default); the parser's own
        // English words are the `reason`, for the developer.
        let (_, body_json) = problem(
            send(
                "PUT",
                "/me/reminders",
                Some(token.clone()),
                r#"{"enabled": tru"#,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            body_json["detail"],
            "Тело запроса не является корректным JSON."
        );
        assert!(body_json["reason"].as_str().is_some_and(|r| !r.is_empty()));
        // A number where the session mode's name belongs: the wrong type, not bad JSON.
        let (got, body_json) = problem(
            send(
                "POST",
                "/auth/staff-session",
                None,
                r#"{"username":"officer71","password":"x","mode":5}"#,
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (got, body_json["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body"))
        );
        let after: Value = app.get(&token, "/me/contact").await.json().await.unwrap();
        assert_eq!(after, before, "nothing changed");

        // An officer on production's route, with a body that is wrong anyway: 403.
        let officer = app.staff_token("officer71").await;
        // A query parameter given blank is not one of the values the document lists (422);
        // left out, it means its default.
        let (status, body_json) = problem(app.get(&officer, "/officer/queue?state=").await).await;
        assert_eq!(
            (status, body_json["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_state"))
        );
        assert_eq!(
            app.get(&officer, "/officer/queue").await.status(),
            StatusCode::OK
        );
        let id = uuid::Uuid::now_v7();
        for body in [r#"{"bogus": 1}"#, "[1]", "{"] {
            let r = app
                .client
                .post(app.api(&format!("/production/applications/{id}/dispatch")))
                .bearer_auth(&officer)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{body}");
        }
    })
    .await;
}

/// The extremes of every date parameter answer at once, 4xx or a decision: none of them may
/// make the server count days towards the end of the calendar (a report to 9999-12-31 once
/// never ended).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extremes_of_every_date_answer_at_once() {
    each_backend(|app| async move {
        app.add_staff("admin", Role::Administrator, None, None)
            .await;
        let admin = app.staff_token("admin").await;
        let extremes = [
            "9999-12-31",
            "-009999-01-01",
            "0001-01-01",
            "2025-02-30",
            "99999-01-01",
        ];
        // A request that never ends fails the test instead of hanging it.
        let answered = tokio::time::timeout(std::time::Duration::from_secs(120), async {
            for day in extremes {
                for query in [
                    format!("to={day}"),
                    format!("from={day}"),
                    format!("from={day}&to={day}"),
                ] {
                    let (status, body) =
                        problem(app.get(&admin, &format!("/admin/reports?{query}")).await).await;
                    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
                    assert!(
                        matches!(
                            body["code"].as_str(),
                            Some("date_out_of_range" | "invalid_date")
                        ),
                        "{query}: {body}"
                    );
                }
                let activation = app
                    .post(
                        &admin,
                        "/admin/rule-sets/continuation/activate",
                        json!({ "from": day }),
                    )
                    .await;
                let (status, refusal) = problem(activation).await;
                assert!(
                    status == StatusCode::UNPROCESSABLE_ENTITY
                        && matches!(
                            refusal["code"].as_str(),
                            Some("bad_date" | "activation_in_past" | "activation_too_far_ahead")
                        ),
                    "activate from {day}: {status} {refusal}"
                );
                let r = app
                    .client
                    .post(app.api("/eligibility"))
                    .json(&json!({ "expires": day }))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                match status {
                    StatusCode::OK => assert_eq!(body["eligible"], false, "{day}: {body}"),
                    StatusCode::UNPROCESSABLE_ENTITY => {
                        assert_eq!(body["code"], "bad_date", "{day}")
                    }
                    other => panic!("{day}: {other} {body}"),
                }
            }
        })
        .await;
        assert!(answered.is_ok(), "every extreme is answered");
        assert!(app.state.store.rule_activations().await.unwrap().is_empty());
    })
    .await;
}

/// The extremes of the API's one number (a callback's amount, signed as the gateway would)
/// answer 400 at once: out of range, negative, fractional or too precise, never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extremes_of_every_number_answer_at_once() {
    each_backend(|app| async move {
        for amount in [
            "0",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "1e300",
            "0.5",
            "123456789012345678901234567890",
        ] {
            let body = format!(
                r#"{{"event_id":"evt-x","reference":"no-such-payment","status":"paid","amount_tiyn":{amount}}}"#
            );
            let signature = kuelik_server::gateway::sign(GATEWAY_KEY, body.as_bytes());
            let (status, answer) = problem(callback(&app, body.as_bytes(), &signature).await).await;
            let refused = (status, answer["code"].as_str());
            assert!(
                matches!(
                    refused,
                    (
                        StatusCode::BAD_REQUEST,
                        Some("bad_callback" | "unknown_payment")
                    )
                ),
                "{amount}: {answer}"
            );
        }
    })
    .await;
}

/// An account stored without the scope its role needs (an officer without a region) acts as
/// nobody: it cannot sign in, and a session it had is refused — never an administrator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_account_without_its_scope_acts_as_nobody() {
    each_backend(|app| async move {
        app.add_staff("ghost", Role::Officer, None, None).await;
        app.add_staff("nowhere", Role::PointOperator, None, None)
            .await;
        for username in ["ghost", "nowhere"] {
            let (status, body) = problem(
                app.client
                    .post(app.api("/auth/staff-session"))
                    .json(&json!({ "username": username, "password": PASSWORD, "mode": "token" }))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("staff_scope_invalid")),
                "{username}"
            );
        }
        // Nothing of an administrator's is open to it.
        assert!(app
            .state
            .store
            .audit_entries(50)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "staff.sign_in"));
    })
    .await;
}

/// A one-time code's refusal says which it is: a typo (with the attempts left; the code
/// still works), an expired or used code, or a locked one (too many typos) — the last two
/// ask for a new code. Sign-in and submission codes have budgets of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_refused_as_a_typo_expired_used_or_locked_and_budgets_are_apart() {
    each_backend(|app| async move {
        let citizen = person(25, "71", 5, "+77010000025");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let sign_in = |challenge: String, code: String| {
            app.client
                .post(app.api("/auth/session"))
                .header("accept-language", "ru")
                .json(&json!({ "challenge_id": challenge, "code": code, "mode": "token" }))
                .send()
        };

        // Typos: each says how many attempts are left; the last one locks the code, and
        // then even the right code is refused as locked.
        let (challenge, code) = new_sign_in_code(&app, &citizen).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let max = kuelik_server::auth::OTP_MAX_ATTEMPTS;
        for tried in 1..=max {
            let (status, body) =
                problem(sign_in(challenge.clone(), wrong.into()).await.unwrap()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            let left = max - tried;
            if left > 0 {
                assert_eq!(body["code"], "wrong_code", "{body}");
                assert_eq!(body["attempts_left"], left);
                assert!(
                    body["detail"].as_str().unwrap().contains(&left.to_string()),
                    "{body}"
                );
            } else {
                assert_eq!(body["code"], "code_locked", "{body}");
            }
        }
        assert_eq!(
            body_code(sign_in(challenge, code).await.unwrap()).await,
            "code_locked"
        );
        // Russian plural forms: 4 → «попытки».
        let (challenge, code) = new_sign_in_code(&app, &citizen).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (_, body) = problem(sign_in(challenge.clone(), wrong.into()).await.unwrap()).await;
        assert_eq!(body["code"], "wrong_code");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("Осталось 4 попытки"),
            "{body}"
        );
        // A typo does not kill the code: the right one still signs in, once.
        let r = sign_in(challenge.clone(), code.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            body_code(sign_in(challenge, code).await.unwrap()).await,
            "code_expired"
        );

        // Expired: five minutes later the right code asks for a new one.
        let (challenge, code) = new_sign_in_code(&app, &citizen).await;
        app.clock.advance(jiff::SignedDuration::from_mins(6));
        assert_eq!(
            body_code(sign_in(challenge, code).await.unwrap()).await,
            "code_expired"
        );
        // An unknown challenge is answered the same way.
        let unknown = uuid::Uuid::now_v7().to_string();
        assert_eq!(
            body_code(sign_in(unknown, "123456".into()).await.unwrap()).await,
            "code_expired"
        );

        // Budgets apart: the sign-in budget spent, a submission code still goes out.
        let token = app.citizen_token(&citizen).await;
        let id = new_draft(&app, &token).await;
        app.complete_all_but_payment(&token, &id, "71-01").await;
        app.pay(&token, &id).await;
        // However many sign-in codes were sent already, one more than the limit is refused.
        let mut refused = false;
        for _ in 0..=kuelik_server::auth::OTP_ISSUE_LIMIT {
            let r = app.request_otp(&citizen.iin).await;
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = true;
                break;
            }
            assert_eq!(r.status(), StatusCode::ACCEPTED);
        }
        assert!(refused, "the sign-in budget runs out");
        let r = app
            .post(
                &token,
                &format!("/applications/{id}/submit/code"),
                json!({}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::ACCEPTED,
            "the submission has its own budget"
        );
    })
    .await;
}

async fn body_code(r: Response) -> String {
    problem(r).await.1["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn session_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("kuelik_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_chosen_by_the_client_is_never_accepted() {
    each_backend(|app| async move {
        let citizen = person(26, "71", 4, "+77010000026");
        app.add_people(std::slice::from_ref(&citizen)).await;
        // A token the attacker made up (same shape as real ones) opens nothing.
        let planted = "ab".repeat(32);
        let (status, body) = problem(app.get(&planted, "/me").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
        let as_cookie = app
            .client
            .get(app.api("/me"))
            .header("cookie", format!("kuelik_session={planted}"))
            .send()
            .await
            .unwrap();
        assert_eq!(problem(as_cookie).await.0, StatusCode::UNAUTHORIZED);

        // The victim signs in while the browser carries the planted cookie: the server
        // issues its own new token and the planted one still opens nothing.
        let (challenge, code) = new_sign_in_code(&app, &citizen).await;
        let r = app
            .client
            .post(app.api("/auth/session"))
            .header("cookie", format!("kuelik_session={planted}"))
            .json(&json!({ "challenge_id": challenge, "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let issued = session_cookie(&r).expect("a session cookie");
        assert_ne!(issued, planted);
        assert_eq!(issued.len(), 64, "256 random bits");
        assert_eq!(
            problem(app.get(&planted, "/me").await).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(app.get(&issued, "/me").await.status(), StatusCode::OK);

        // Each sign-in is a new session; signing out ends that one on the server (a copied
        // token is dead too), not the others.
        let second = app.citizen_token(&citizen).await;
        assert_ne!(second, issued);
        let out = app
            .client
            .delete(app.api("/auth/session"))
            .bearer_auth(&issued)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        let (status, body) = problem(app.get(&issued, "/me").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
        let r = app.post(&issued, "/applications", json!({})).await;
        assert_eq!(problem(r).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(app.get(&second, "/me").await.status(), StatusCode::OK);
        let apps: Vec<Value> = app
            .get(&second, "/applications")
            .await
            .json()
            .await
            .unwrap();
        assert!(apps.is_empty(), "the dead session made nothing");

        // The status read signs its request in within its own read of the record: a dead
        // or planted token is still 401 there, a staff session 403, the owner's 200.
        let r = app.post(&second, "/applications", json!({})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let status_read = format!("/applications/{id}");
        for dead in [&issued, &planted] {
            let (status, body) = problem(app.get(dead, &status_read).await).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthorized"))
            );
        }
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        let officer = app.staff_token("officer71").await;
        assert_eq!(
            app.get(&officer, &status_read).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.get(&second, &status_read).await.status(),
            StatusCode::OK
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_on_https_behind_the_proxy_only() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let get = |proto: Option<&'static str>| {
        let mut r = app.client.get(app.api("/rules"));
        if let Some(p) = proto {
            r = r.header("x-forwarded-proto", p);
        }
        r.send()
    };
    let r = get(Some("https")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
    // Error answers carry it too.
    let r = app
        .client
        .get(app.api("/no-such-thing"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().contains_key("strict-transport-security"));
    // Plain HTTP (no proxy, or the proxy says http): browsers ignore HSTS there, and a local
    // http://localhost must not be pinned to HTTPS.
    for proto in [None, Some("http")] {
        let r = get(proto).await.unwrap();
        assert!(!r.headers().contains_key("strict-transport-security"));
    }
    // Without secure cookies the service is not deployed behind TLS: never.
    use tower::ServiceExt;
    let (store, _dir) = open_store(Backend::Sqlite).await.unwrap();
    let mut config = Config::new(Secrets {
        otp_key: [1; 32],
        gateway_key: b"k".repeat(16),
        register_key: b"r".repeat(16),
        audit_key: audit_key(),
    });
    config.secure_cookies = false;
    let state = kuelik_server::app_state(
        store,
        Arc::new(ManualClock::new(NOW.parse().unwrap())),
        RuleBook::builtin().unwrap(),
        config,
    );
    let request = axum::http::Request::get("/api/v1/rules")
        .header("x-forwarded-proto", "https")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = kuelik_server::router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key("strict-transport-security"));
}

/// Log lines written while the test runs (every thread: the server runs in this process).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Whether `needle` stands in `text` as a whole number (not inside a longer one).
fn has_number(text: &str, needle: &str) -> bool {
    // A number on its own, not six digits inside a longer token: the hex of ids and digests
    // in the log holds digit runs, and a random code matched one now and then.
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn a_code_is_found_on_its_own_and_not_inside_other_tokens() {
    assert!(has_number("sms sent code=123456.", "123456"));
    assert!(has_number("123456", "123456"));
    assert!(!has_number("id 9f123456ab", "123456"));
    assert!(!has_number("n=1234567", "123456"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_journey_logs_no_personal_data_and_no_code() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(captured.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    each_backend(|app| {
        let captured = captured.clone();
        async move {
            let citizen = Person {
                surname: "Жұмабаева".into(),
                given_name: "Сәуле".into(),
                ..person(27, "71", 3, "+77012345627")
            };
            app.add_people(std::slice::from_ref(&citizen)).await;
            app.add_staff("officer71", Role::Officer, Some("71"), None)
                .await;
            let (token, id, ticket) = app.submitted_by(&citizen, "71-01").await;
            let officer = app.staff_token("officer71").await;
            let seen = app
                .get(&officer, &format!("/officer/applications/{id}"))
                .await;
            assert_eq!(seen.status(), StatusCode::OK);
            assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);
            let r = app.annul_photo(&officer, &id, "Retake, please.").await;
            assert_eq!(r.status(), StatusCode::OK);
            app.wait_for(&token, &id, |a| a["refund"] == "refunded")
                .await;
            // A failed sign-in with a wrong code is logged too (without the code).
            let (challenge, code) = new_sign_in_code(&app, &citizen).await;
            let wrong = if code == "123456" { "654321" } else { "123456" };
            let r = app
                .client
                .post(app.api("/auth/session"))
                .json(&json!({ "challenge_id": challenge, "code": wrong }))
                .send()
                .await
                .unwrap();
            assert_eq!(problem(r).await.1["code"], "wrong_code");
            let codes = app.codes_to(citizen.phone.as_str());
            assert_eq!(codes.len(), 3, "sign-in, submission, sign-in");

            let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            assert!(log.contains("sms sent"), "the log is captured: {log}");
            assert!(log.contains("request"), "requests are logged");
            let phone = citizen.phone.as_str();
            for (what, needle) in [
                ("IIN", citizen.iin.to_string()),
                ("surname", citizen.surname.clone()),
                ("given name", citizen.given_name.clone()),
                ("patronymic", citizen.patronymic.clone().unwrap()),
                ("address", citizen.address.clone()),
                ("phone", phone.to_string()),
                ("phone digits", phone[phone.len() - 10..].to_string()),
                ("ticket", ticket.clone()),
            ] {
                assert!(!log.contains(&needle), "the log shows the {what}");
            }
            for code in &codes {
                assert!(!has_number(&log, code), "the log shows a one-time code");
            }
        }
    })
    .await;
}

/// Several officers of one region on two instances sharing one PostgreSQL database race to
/// take the same queued applications: each is taken exactly once; the outbox, worked by both
/// instances, delivers each message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_on_two_instances_race_and_each_application_is_taken_once() {
    let Ok(admin_url) = std::env::var("KUELIK_TEST_DATABASE_URL") else {
        eprintln!("two-instance race not run: KUELIK_TEST_DATABASE_URL is not set");
        return;
    };
    let db = create_test_database(&admin_url).await;
    let a = TestApp::start_on(kuelik_store::open(&db).await.unwrap(), None).await;
    let people: Vec<Person> = (0..4)
        .map(|i| person(30 + i, "71", 10, &format!("+770100000{}", 30 + i)))
        .collect();
    a.add_people(&people).await;
    let officers = ["officer71a", "officer71b", "officer71c", "officer71d"];
    for o in officers {
        a.add_staff(o, Role::Officer, Some("71"), None).await;
    }
    // The citizens apply through A alone (their codes reach A's demo inbox).
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for p in &people {
        let token = a.citizen_token(p).await;
        let (id, _) = a.submitted_application(&token, p, "71-01").await;
        ids.push(id);
        tokens.push(token);
    }
    // Now B joins: two instances, two outbox workers, one database.
    let b = TestApp::start_with(
        kuelik_store::open(&db).await.unwrap(),
        None,
        db.clone(),
        a.ca.clone(),
        a.state.config.secrets.audit_key.clone(),
    )
    .await;
    let mut sessions = Vec::new();
    for (i, o) in officers.iter().enumerate() {
        let (app, token) = if i % 2 == 0 {
            (&a, a.staff_token(o).await)
        } else {
            (&b, b.staff_token(o).await)
        };
        sessions.push((app.client.clone(), app.api(""), token));
    }
    let mut races = Vec::new();
    for id in &ids {
        for (who, (client, api, token)) in sessions.iter().enumerate() {
            let request = client
                .post(format!("{api}/officer/applications/{id}/take"))
                .bearer_auth(token)
                .json(&json!({}));
            let id = id.clone();
            races.push(tokio::spawn(async move {
                let r = request.send().await.unwrap();
                let status = r.status();
                let code = r.json::<Value>().await.unwrap()["code"].clone();
                (id, status, code, who)
            }));
        }
    }
    let mut outcomes: std::collections::HashMap<String, Vec<(StatusCode, Value)>> =
        Default::default();
    let mut reviewer: std::collections::HashMap<String, usize> = Default::default();
    for race in races {
        let (id, status, code, who) = race.await.unwrap();
        if status == StatusCode::OK {
            reviewer.insert(id.clone(), who);
        }
        outcomes.entry(id).or_default().push((status, code));
    }
    for id in &ids {
        let answers = &outcomes[id];
        let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert_eq!(ok, 1, "{id}: {answers:?}");
        for (status, code) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
            assert_eq!(*status, StatusCode::CONFLICT, "{id}: {answers:?}");
            assert!(
                code == "conflict" || code == "illegal_transition",
                "{id}: {code}"
            );
        }
        let history = a
            .state
            .store
            .history(kuelik_core::lifecycle::ApplicationId(id.parse().unwrap()))
            .await
            .unwrap();
        let taken = history
            .iter()
            .filter(|e| e.kind.as_str() == "taken")
            .count();
        assert_eq!(taken, 1, "{id}: one `taken` event");
        let detail = snapshot(&a, &tokens[ids.iter().position(|x| x == id).unwrap()], id).await;
        assert_eq!(detail["state"], "under_review");
    }

    // Both workers drain the outbox; each message reaches the inbox and the phone once.
    for _ in 0..400 {
        if a.state.store.outbox_backlog().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(a.state.store.outbox_backlog().await.unwrap(), 0);
    let mut sent: Vec<(String, String)> = Vec::new();
    for app in [&a, &b] {
        for m in app.state.dev_inbox.as_ref().unwrap().messages() {
            sent.push((m.to, m.text));
        }
    }
    let distinct: std::collections::HashSet<_> = sent.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        sent.len(),
        "an SMS was sent twice: {sent:?}"
    );
    for (p, id) in people.iter().zip(&ids) {
        let inbox = a.state.store.inbox(&p.iin).await.unwrap();
        let notice_ids: std::collections::HashSet<_> = inbox.iter().map(|n| n.id).collect();
        assert_eq!(notice_ids.len(), inbox.len());
        let history = a
            .state
            .store
            .history(kuelik_core::lifecycle::ApplicationId(id.parse().unwrap()))
            .await
            .unwrap();
        let noticed = history
            .iter()
            .filter(|e| kuelik_server::notify::is_noticed(e))
            .count();
        let shown = inbox
            .iter()
            .filter(|n| n.application.map(|x| x.0.to_string()) == Some(id.clone()))
            .count();
        assert_eq!(shown, noticed, "{id}: one notice per noticed event");
        // Every notice also went out by SMS, once.
        let texts = sent.iter().filter(|(to, _)| to == p.phone.as_str()).count();
        assert!(texts >= noticed + 2, "codes and notices reached the phone");
    }

    // The reviewers approve (each on their instance); then production operators on both
    // instances race to accept, and desks on both race to receive: one winner each.
    for id in &ids {
        let (client, api, token) = &sessions[reviewer[id]];
        let r = client
            .post(format!("{api}/officer/applications/{id}/approve"))
            .bearer_auth(token)
            .json(&json!({ "pin": OFFICER_PIN }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    a.add_staff("factory-a", Role::ProductionOperator, None, None)
        .await;
    a.add_staff("factory-b", Role::ProductionOperator, None, None)
        .await;
    a.add_staff("desk-a", Role::PointOperator, None, Some("71-01"))
        .await;
    a.add_staff("desk-b", Role::PointOperator, None, Some("71-01"))
        .await;
    let pair = [
        (
            a.client.clone(),
            a.api(""),
            a.staff_token("factory-a").await,
        ),
        (
            b.client.clone(),
            b.api(""),
            b.staff_token("factory-b").await,
        ),
    ];
    let desks = [
        (a.client.clone(), a.api(""), a.staff_token("desk-a").await),
        (b.client.clone(), b.api(""), b.staff_token("desk-b").await),
    ];
    let race_all = |who: &[(Client, String, String)], path: &'static str| {
        let mut handles = Vec::new();
        for id in &ids {
            for (client, api, token) in who {
                let request = client
                    .post(format!("{api}/{}", path.replace("{id}", id)))
                    .bearer_auth(token)
                    .json(&json!({}));
                handles.push(tokio::spawn(async move {
                    request.send().await.unwrap().status()
                }));
            }
        }
        handles
    };
    let mut ok = 0;
    for h in race_all(&pair, "production/applications/{id}/accept") {
        let status = h.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "accept: {status}"
        );
        ok += usize::from(status == StatusCode::OK);
    }
    assert_eq!(ok, ids.len(), "accept: one winner per application");
    for id in &ids {
        let (client, api, token) = &pair[0];
        let r = client
            .post(format!("{api}/production/applications/{id}/dispatch"))
            .bearer_auth(token)
            .json(&json!({ "document_number": "071234567" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut ok = 0;
    for h in race_all(&desks, "point/applications/{id}/receive") {
        let status = h.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "receive: {status}"
        );
        ok += usize::from(status == StatusCode::OK);
    }
    assert_eq!(ok, ids.len(), "receive: one winner per application");
    for id in &ids {
        let app_id = kuelik_core::lifecycle::ApplicationId(id.parse().unwrap());
        let history = a.state.store.history(app_id).await.unwrap();
        for kind in ["approved", "production_started", "dispatched", "received"] {
            let n = history.iter().filter(|e| e.kind.as_str() == kind).count();
            assert_eq!(n, 1, "{id}: one `{kind}` event");
        }
        let checks = a.state.store.signature_checks(app_id).await.unwrap();
        assert_eq!(checks.len(), 1, "{id}: one signature check, by the winner");
        assert!(checks[0].verified);
    }

    // Both instances' audit sequencers ran side by side: every row is chained once and the
    // log verifies.
    for _ in 0..400 {
        if a.state.store.audit_pending_count().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let log = kuelik_server::audit_chain::verify(
        &*a.state.store,
        &a.state.config.secrets.audit_key.public_key(),
    )
    .await
    .unwrap()
    .expect("the audit log of two instances verifies");
    assert_eq!(log.pending, 0);
    assert!(log.checkpoints >= 1);
}

/// "Not yours" answers 404 on every route, as if the application did not exist: another
/// citizen's, another region's (whatever its state), another point's. And nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_yours_answers_404_on_every_route() {
    each_backend(|app| async move {
        let holder = person(91, "71", 0, "+77010000091");
        let other_holder = person(92, "71", 0, "+77010000092");
        let stranger = person(93, "71", 3, "+77010000093");
        app.add_people(&[holder.clone(), other_holder.clone(), stranger.clone()])
            .await;
        app.add_pickup_staff().await;
        app.add_staff("officer75", Role::Officer, Some("75"), None)
            .await;
        app.add_staff("point7102", Role::PointOperator, None, Some("71-02"))
            .await;
        let holder_token = app.citizen_token(&holder).await;
        let (reviewed, _) = app
            .submitted_application(&holder_token, &holder, "71-01")
            .await;
        let officer = app.staff_token("officer71").await;
        assert_eq!(app.take(&officer, &reviewed).await.status(), StatusCode::OK);
        let other_token = app.citizen_token(&other_holder).await;
        let (ready, ticket) = app
            .submitted_application(&other_token, &other_holder, "71-01")
            .await;
        app.ready_for_pickup(&ready, "012345678").await;
        let before = (
            snapshot(&app, &holder_token, &reviewed).await,
            snapshot(&app, &other_token, &ready).await,
        );

        let other_officer = app.staff_token("officer75").await;
        let stranger_token = app.citizen_token(&stranger).await;
        let other_point = app.staff_token("point7102").await;
        let officer_routes = [
            (
                "GET",
                format!("/officer/applications/{reviewed}"),
                json!(null),
            ),
            (
                "GET",
                format!("/officer/applications/{reviewed}/approval-document"),
                json!(null),
            ),
            (
                "POST",
                format!("/officer/applications/{reviewed}/take"),
                json!({}),
            ),
            (
                "POST",
                format!("/officer/applications/{reviewed}/release"),
                json!({}),
            ),
            (
                "POST",
                format!("/officer/applications/{reviewed}/approve"),
                json!({ "pin": OFFICER_PIN }),
            ),
            (
                "POST",
                format!("/officer/applications/{reviewed}/annul"),
                json!({ "reason": "photo_non_compliant", "comment": "x" }),
            ),
        ];
        let citizen_routes = [
            ("GET", format!("/applications/{reviewed}"), json!(null)),
            (
                "GET",
                format!("/applications/{reviewed}/photo"),
                json!(null),
            ),
            (
                "GET",
                format!("/applications/{reviewed}/signature"),
                json!(null),
            ),
            (
                "POST",
                format!("/applications/{reviewed}/payment"),
                json!({}),
            ),
            (
                "POST",
                format!("/applications/{reviewed}/submit/code"),
                json!({}),
            ),
            (
                "POST",
                format!("/applications/{reviewed}/withdraw"),
                json!({}),
            ),
        ];
        let point_routes = [
            (
                "POST",
                format!("/point/applications/{ready}/receive"),
                json!({}),
            ),
            ("GET", format!("/point/tickets/{ticket}"), json!(null)),
            (
                "POST",
                format!("/point/tickets/{ticket}/hand-over"),
                json!({ "old_card": "surrendered" }),
            ),
        ];
        for (token, routes) in [
            (&other_officer, &officer_routes[..]),
            (&stranger_token, &citizen_routes[..]),
            (&other_point, &point_routes[..]),
        ] {
            for (method, path, body) in routes {
                let r = if *method == "GET" {
                    app.get(token, path).await
                } else {
                    app.post(token, path, body.clone()).await
                };
                let (status, problem_body) = problem(r).await;
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{method} {path}: {problem_body}"
                );
            }
        }
        assert_eq!(
            before,
            (
                snapshot(&app, &holder_token, &reviewed).await,
                snapshot(&app, &other_token, &ready).await,
            ),
            "nothing changed"
        );
    })
    .await;
}
