//! The service over real HTTP: the real server on a free port with a fresh database, driven
//! by a real client. Every story runs on SQLite, and on PostgreSQL when
//! `KUELIK_TEST_DATABASE_URL` names a server (`.ci/run` sets it; then an unreachable server
//! fails the run instead of skipping it). The shared harness is in `common/`.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_life_cycle_from_eligibility_to_issue() {
    each_backend(|app| async move {
        let citizen = person(1, "71", 12, "+77010000001");
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_pickup_staff().await;

        let token = app.citizen_token(&citizen).await;
        let me: Value = app.get(&token, "/me").await.json().await.unwrap();
        assert_eq!(me["iin"], citizen.iin.to_string());
        let e: Value = app
            .get(&token, "/me/eligibility")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(e["eligible"], true);
        assert_eq!(e["rules_version"], "pilot-2025");

        let (id, ticket) = app.submitted_application(&token, &citizen, "71-01").await;
        let detail: Value = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(detail["ticket"], ticket.as_str());
        // 15 working days after Wed 15 Oct 2025; Mon 27 Oct is the day off for Republic Day.
        assert_eq!(detail["due_date"], "2025-11-06");

        let officer = app.staff_token("officer71").await;
        let queue: Value = app
            .get(&officer, "/officer/queue")
            .await
            .json()
            .await
            .unwrap();
        assert!(queue
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id.as_str()));
        let seen: Value = app
            .get(&officer, &format!("/officer/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["applicant"]["surname"], "Нурланова");
        assert_eq!(
            app.post(
                &officer,
                &format!("/officer/applications/{id}/take"),
                json!({})
            )
            .await
            .status(),
            StatusCode::OK
        );
        let r = app
            .post(
                &officer,
                &format!("/officer/applications/{id}/approve"),
                json!({ "pin": OFFICER_PIN }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        let factory = app.staff_token("factory").await;
        let q: Value = app
            .get(&factory, "/production/queue")
            .await
            .json()
            .await
            .unwrap();
        assert!(q.as_array().unwrap().iter().any(|a| a["id"] == id.as_str()));
        assert_eq!(
            app.post(
                &factory,
                &format!("/production/applications/{id}/accept"),
                json!({})
            )
            .await
            .status(),
            StatusCode::OK
        );
        let dispatch = format!("/production/applications/{id}/dispatch");
        let wrong = json!({ "document_number": "N12345678" });
        let (status, body) = problem(app.post(&factory, &dispatch, wrong).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a passport number for a card"
        );
        assert_eq!(body["code"], "bad_document_number");
        let made = json!({ "document_number": "051234567" });
        assert_eq!(
            app.post(&factory, &dispatch, made).await.status(),
            StatusCode::OK
        );

        let point = app.staff_token("point7101").await;
        assert_eq!(
            app.post(
                &point,
                &format!("/point/applications/{id}/receive"),
                json!({})
            )
            .await
            .status(),
            StatusCode::OK
        );
        // A typo in the ticket is caught before any lookup.
        let mut typo: Vec<char> = ticket.chars().collect();
        typo.swap(0, 1);
        if typo[0] != typo[1] {
            let (status, body) = problem(
                app.get(
                    &point,
                    &format!("/point/tickets/{}", typo.iter().collect::<String>()),
                )
                .await,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(body["code"], "ticket_check_failed");
        }
        let found: Value = app
            .get(&point, &format!("/point/tickets/{ticket}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found["state"], "ready_for_pickup");
        assert_eq!(found["applicant"]["given_name"], "Айгерим");
        let r = app
            .post(
                &point,
                &format!("/point/tickets/{ticket}/hand-over"),
                json!({ "old_card": "surrendered" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let (status, body) = problem(
            app.post(
                &point,
                &format!("/point/tickets/{ticket}/hand-over"),
                json!({ "old_card": "surrendered" }),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "a ticket is used once");
        assert_eq!(body["code"], "illegal_transition");

        let done = app.wait_for(&token, &id, |a| a["state"] == "issued").await;
        let kinds: Vec<&str> = done["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["to"].as_str().unwrap())
            .collect();
        for state in [
            "submitted",
            "queued",
            "under_review",
            "approved",
            "in_production",
            "dispatched",
            "ready_for_pickup",
            "issued",
        ] {
            assert!(kinds.contains(&state), "history lacks {state}: {kinds:?}");
        }
        // Each notice shows once, in the inbox.
        let mut notices: Vec<Value> = Vec::new();
        for _ in 0..200 {
            notices = app
                .get(&token, "/notifications")
                .await
                .json::<Vec<Value>>()
                .await
                .unwrap();
            if notices.iter().any(|n| n["kind"] == "handed_over") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let submitted = notices.iter().filter(|n| n["kind"] == "submitted").count();
        assert_eq!(submitted, 1, "{notices:?}");
        assert!(notices.iter().any(|n| n["kind"] == "received"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annulment_refunds_and_a_new_application_needs_a_new_payment() {
    each_backend(|app| async move {
        let citizen = person(2, "75", 5, "+77010000002");
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_staff("officer75", Role::Officer, Some("75"), None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let (id, _) = app.submitted_application(&token, &citizen, "75-02").await;

        let officer = app.staff_token("officer75").await;
        assert_eq!(
            app.post(
                &officer,
                &format!("/officer/applications/{id}/take"),
                json!({})
            )
            .await
            .status(),
            StatusCode::OK
        );
        let (status, body) = problem(
            app.post(
                &officer,
                &format!("/officer/applications/{id}/annul"),
                json!({ "reason": "blurry", "comment": "x" }),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("unknown_annulment_reason")
            )
        );
        let r = app
            .post(
                &officer,
                &format!("/officer/applications/{id}/annul"),
                json!({ "reason": "photo_non_compliant", "comment": "The face is in shadow." }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        let done = app
            .wait_for(&token, &id, |a| a["refund"] == "refunded")
            .await;
        assert_eq!(done["state"], "annulled");
        assert_eq!(done["annulment"]["reason"], "photo_non_compliant");
        assert_eq!(done["payments"][0]["status"], "refunded");

        // R13: apply again — and pay again.
        let r = app.post(&token, "/applications", json!({})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let second = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            app.upload(&token, &format!("/applications/{second}/photo"), PORTRAIT)
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            app.upload(
                &token,
                &format!("/applications/{second}/signature"),
                SIGNATURE
            )
            .await
            .status(),
            StatusCode::OK
        );
        let r = app.choose_point(&token, &second, "75-01").await;
        assert_eq!(r.status(), StatusCode::OK);
        // Unpaid: no code is sent for a submission the core would refuse; the refusal names
        // the one part left, and the task list says the rest is done.
        let codes_before = app.codes_received(citizen.phone.as_str());
        let (status, body) = problem(
            app.post(
                &token,
                &format!("/applications/{second}/submit/code"),
                json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("application_incomplete"))
        );
        let tasks = body["readiness"]["tasks"].as_array().unwrap();
        let status_of = |task: &str| {
            tasks.iter().find(|t| t["task"] == task).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(status_of("payment"), "not_started");
        for task in ["registration_point", "photo", "signature"] {
            assert_eq!(status_of(task), "done", "{task}");
        }
        assert_eq!(body["readiness"]["ready_to_pay"], true);
        assert_eq!(app.codes_received(citizen.phone.as_str()), codes_before);
        app.pay(&token, &second).await;
        app.submit(&token, &citizen, &second).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_refunds_and_scopes_are_enforced() {
    each_backend(|app| async move {
        let citizen = person(3, "71", 0, "+77010000003");
        let stranger = person(4, "71", 3, "+77010000004");
        app.add_people(&[citizen.clone(), stranger.clone()]).await;
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        app.add_staff("officer75", Role::Officer, Some("75"), None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let (id, _) = app.submitted_application(&token, &citizen, "71-02").await;

        // An officer of another region sees nothing: 404, not 403.
        let other = app.staff_token("officer75").await;
        assert_eq!(
            app.get(&other, &format!("/officer/applications/{id}"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.post(
                &other,
                &format!("/officer/applications/{id}/take"),
                json!({})
            )
            .await
            .status(),
            StatusCode::NOT_FOUND
        );
        let queue: Value = app
            .get(&other, "/officer/queue")
            .await
            .json()
            .await
            .unwrap();
        assert!(queue.as_array().unwrap().is_empty());
        // Another citizen: 404 for the application and its photo.
        let stranger_token = app.citizen_token(&stranger).await;
        assert_eq!(
            app.get(&stranger_token, &format!("/applications/{id}"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.get(&stranger_token, &format!("/applications/{id}/photo"))
                .await
                .status(),
            StatusCode::NOT_FOUND
        );
        // A citizen cannot use staff endpoints.
        assert_eq!(
            app.get(&token, "/officer/queue").await.status(),
            StatusCode::FORBIDDEN
        );

        // One live application per person.
        let (status, body) = problem(app.post(&token, "/applications", json!({})).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("live_application_exists"))
        );

        let r = app
            .post(&token, &format!("/applications/{id}/withdraw"), json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let done = app
            .wait_for(&token, &id, |a| a["refund"] == "refunded")
            .await;
        assert_eq!(done["state"], "withdrawn");
        let (status, _) = problem(
            app.post(&token, &format!("/applications/{id}/withdraw"), json!({}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Retention: a year later the images of the finished application are deleted
        // (audited); the application and its history stay.
        let photo = format!("/applications/{id}/photo");
        assert_eq!(app.get(&token, &photo).await.status(), StatusCode::OK);
        assert_eq!(
            kuelik_server::workers::run_retention_once(&app.state).await,
            0
        );
        app.clock
            .advance(jiff::SignedDuration::from_hours(24 * 366));
        let token = app.citizen_token(&citizen).await;
        assert_eq!(
            kuelik_server::workers::run_retention_once(&app.state).await,
            1
        );
        assert_eq!(
            kuelik_server::workers::run_retention_once(&app.state).await,
            0
        );
        assert_eq!(
            app.get(&token, &photo).await.status(),
            StatusCode::NOT_FOUND
        );
        let kept: Value = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(kept["state"], "withdrawn");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_psc_message_for_other_reasons_and_bad_input_is_a_clear_4xx() {
    each_backend(|app| async move {
        let citizen = person(5, "79", 10, "+77010000005");
        let late = person(6, "79", -11, "+77010000006");
        app.add_people(&[citizen.clone(), late.clone()]).await;
        let token = app.citizen_token(&citizen).await;

        let r = app
            .client
            .post(app.api("/applications"))
            .bearer_auth(&token)
            .header("accept-language", "ru-KZ, en;q=0.5")
            .json(&json!({ "reason": "loss" }))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "reason_not_served");
        assert_eq!(body["detail"], PSC_RU);
        assert_eq!(body["eligibility"]["eligible"], false);

        let late_token = app.citizen_token(&late).await;
        let r = app
            .client
            .post(app.api("/applications"))
            .bearer_auth(&late_token)
            .header("accept-language", "kk")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (_, body) = problem(r).await;
        assert_eq!(body["code"], "expired_too_long");
        assert_eq!(body["detail"], "Рәсімдеу қолжетімсіз, ХҚКО-ға жүгініңіз");

        // Malformed JSON, unknown fields, wrong content type, oversize: 4xx and nothing made.
        let r = app
            .client
            .post(app.api("/applications"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r).await.0, StatusCode::BAD_REQUEST);
        let r = app
            .post(
                &token,
                "/applications",
                json!({ "reason": "expiring", "extra": 1 }),
            )
            .await;
        assert_eq!(problem(r).await.0, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .client
            .post(app.api("/applications"))
            .bearer_auth(&token)
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(app
            .get(&token, "/applications")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .is_empty());

        let r = app.post(&token, "/applications", json!({})).await;
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = problem(
            app.upload(
                &token,
                &format!("/applications/{id}/photo"),
                b"GIF89a not an image we take",
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("unsupported_image")
            )
        );
        let mut big = PNG.to_vec();
        big.resize(250 * 1024, 0);
        let (status, _) = problem(
            app.upload(&token, &format!("/applications/{id}/photo"), &big)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let (status, body) = problem(app.choose_point(&token, &id, "71-01").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("point_outside_region")
            )
        );
        let a: Value = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(a["photo_sha256"], Value::Null);
        assert_eq!(a["registration_point"], Value::Null);
        // Unknown ids and malformed ids: 404.
        assert_eq!(
            problem(app.get(&token, "/applications/not-a-uuid").await)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            problem(
                app.get(&token, &format!("/applications/{}", uuid::Uuid::now_v7()))
                    .await
            )
            .await
            .0,
            StatusCode::NOT_FOUND
        );
        // An upload that is not multipart, and a method the address does not take.
        let not_multipart = app
            .client
            .put(app.api(&format!("/applications/{id}/photo")))
            .bearer_auth(&token)
            .header("content-type", "image/png")
            .body(PNG.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(not_multipart).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let wrong_method = app
            .client
            .delete(app.api("/applications"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(wrong_method).await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        // No session: 401.
        assert_eq!(
            problem(app.client.get(app.api("/me")).send().await.unwrap())
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_requests_with_an_idempotency_key_do_not_repeat() {
    each_backend(|app| async move {
        let citizen = person(7, "71", 20, "+77010000007");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let create = || {
            app.client
                .post(app.api("/applications"))
                .bearer_auth(&token)
                .header("idempotency-key", "k-1")
                .json(&json!({}))
        };
        let first = create().send().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        let again = create().send().await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
        assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
        assert_eq!(
            app.get(&token, "/applications")
                .await
                .json::<Vec<Value>>()
                .await
                .unwrap()
                .len(),
            1
        );
        let r = app
            .client
            .post(app.api("/applications"))
            .bearer_auth(&token)
            .header("idempotency-key", "k-1")
            .json(&json!({ "reason": "expiring" }))
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r).await.1["code"], "idempotency_key_reused");

        // Payment callbacks: forged ones are refused, repeats change nothing.
        let body = br#"{"event_id":"e","reference":"SIM-x","status":"paid","amount_tiyn":78640}"#;
        let r = app
            .client
            .post(app.api("/payments/callback"))
            .header("x-kuelik-signature", "sha256=00")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r).await.0, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi.snapshot.json");
    if std::env::var("KUELIK_UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(&path, &text).unwrap();
    }
    let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        snapshot == text,
        "the OpenAPI document changed; review and run with KUELIK_UPDATE_SNAPSHOTS=1 to accept"
    );
    let docs = app.client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "the viewer is served locally"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_review_returns_to_the_queue() {
    each_backend(|app| async move {
        let citizen = person(8, "71", 1, "+77010000008");
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        app.add_staff("officer71b", Role::Officer, Some("71"), None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let (id, _) = app.submitted_application(&token, &citizen, "71-01").await;
        let a = app.staff_token("officer71").await;
        let b = app.staff_token("officer71b").await;
        assert_eq!(
            app.post(&a, &format!("/officer/applications/{id}/take"), json!({}))
                .await
                .status(),
            StatusCode::OK
        );
        let (status, body) = problem(
            app.post(
                &b,
                &format!("/officer/applications/{id}/approve"),
                json!({ "pin": OFFICER_PIN }),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("not_the_reviewer"))
        );

        // Not yet abandoned: the sweep leaves it alone.
        kuelik_server::workers::release_abandoned_once(&app.state).await;
        assert_eq!(
            app.get(&token, &format!("/applications/{id}"))
                .await
                .json::<Value>()
                .await
                .unwrap()["state"],
            "under_review"
        );
        app.clock.advance(jiff::SignedDuration::from_mins(31));
        kuelik_server::workers::release_abandoned_once(&app.state).await;
        assert_eq!(
            app.get(&token, &format!("/applications/{id}"))
                .await
                .json::<Value>()
                .await
                .unwrap()["state"],
            "queued"
        );
        assert_eq!(
            app.post(&b, &format!("/officer/applications/{id}/take"), json!({}))
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            app.post(
                &b,
                &format!("/officer/applications/{id}/approve"),
                json!({ "pin": OFFICER_PIN })
            )
            .await
            .status(),
            StatusCode::OK
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sessions_are_secure_cookies_and_refuse_cross_site_writes() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let citizen = person(9, "71", 2, "+77010000009");
    app.add_people(std::slice::from_ref(&citizen)).await;
    let r = app.request_otp(&citizen.iin).await;
    let challenge = r.json::<Value>().await.unwrap()["challenge_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Wrong guesses count; the right code still works within the limit.
    for _ in 0..2 {
        let r = app
            .client
            .post(app.api("/auth/session"))
            .json(&json!({ "challenge_id": challenge, "code": "000000" }))
            .send()
            .await
            .unwrap();
        assert_eq!(problem(r).await.1["code"], "wrong_code");
    }
    let code = app.code_sent_to(citizen.phone.as_str()).await;
    let r = app
        .client
        .post(app.api("/auth/session"))
        .json(&json!({ "challenge_id": challenge, "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert_eq!(
        r.json::<Value>().await.unwrap()["token"],
        Value::Null,
        "cookie mode returns no token"
    );
    // A code works once.
    let r = app
        .client
        .post(app.api("/auth/session"))
        .json(&json!({ "challenge_id": challenge, "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let session = cookie.split(';').next().unwrap().to_string();
    let me = app
        .client
        .get(app.api("/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // Another site cannot make the browser act: a cross-site write is refused.
    let forged = app
        .client
        .post(app.api("/applications"))
        .header("cookie", &session)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(forged).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("cross_site_request"))
    );
    // Security headers are on every answer.
    assert_eq!(
        me_headers(&app, &session).await,
        ("nosniff".to_string(), "DENY".to_string())
    );
    // Signing out ends the session at once.
    let out = app
        .client
        .delete(app.api("/auth/session"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = app
        .client
        .get(app.api("/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

async fn me_headers(app: &TestApp, session: &str) -> (String, String) {
    let r = app
        .client
        .get(app.api("/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let h = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    (h("x-content-type-options"), h("x-frame-options"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_serve_one_journey() {
    let Ok(admin_url) = std::env::var("KUELIK_TEST_DATABASE_URL") else {
        eprintln!("two-instance story not run: KUELIK_TEST_DATABASE_URL is not set");
        return;
    };
    // Two instances, each with its own pool, on one fresh database.
    let db = create_test_database(&admin_url).await;
    let a = TestApp::start_on(kuelik_store::open(&db).await.unwrap(), None).await;
    let b = TestApp::start_with(
        kuelik_store::open(&db).await.unwrap(),
        None,
        db.clone(),
        a.ca.clone(),
        a.state.config.secrets.audit_key.clone(),
    )
    .await;

    let citizen = person(10, "71", 4, "+77010000010");
    a.add_people(std::slice::from_ref(&citizen)).await;
    a.add_pickup_staff().await;

    // Signed in on A, the session works on B.
    let token = a.citizen_token(&citizen).await;
    assert_eq!(b.get(&token, "/me").await.status(), StatusCode::OK);
    let r = b.post(&token, "/applications", json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Draft on B, payment through A's gateway, submission on B.
    assert_eq!(
        b.upload(&token, &format!("/applications/{id}/photo"), PORTRAIT)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        a.upload(&token, &format!("/applications/{id}/signature"), SIGNATURE)
            .await
            .status(),
        StatusCode::OK
    );
    let r = b.choose_point(&token, &id, "71-01").await;
    assert_eq!(r.status(), StatusCode::OK);
    a.pay(&token, &id).await;
    let ticket = b.submit(&token, &citizen, &id).await;

    // Two officers' sessions on two instances race to take the same application: one wins.
    a.add_staff("officer71b", Role::Officer, Some("71"), None)
        .await;
    let oa = a.staff_token("officer71").await;
    let ob = b.staff_token("officer71b").await;
    let path = format!("/officer/applications/{id}/take");
    let (ra, rb) = tokio::join!(a.post(&oa, &path, json!({})), b.post(&ob, &path, json!({})));
    let statuses = [ra.status(), rb.status()];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
    let winner = if ra.status() == StatusCode::OK {
        (&a, &oa)
    } else {
        (&b, &ob)
    };
    assert_eq!(
        winner
            .0
            .post(
                winner.1,
                &format!("/officer/applications/{id}/approve"),
                json!({ "pin": OFFICER_PIN })
            )
            .await
            .status(),
        StatusCode::OK
    );

    let factory = b.staff_token("factory").await;
    assert_eq!(
        a.post(
            &factory,
            &format!("/production/applications/{id}/accept"),
            json!({})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let made = json!({ "document_number": "051234568" });
    assert_eq!(
        b.post(
            &factory,
            &format!("/production/applications/{id}/dispatch"),
            made
        )
        .await
        .status(),
        StatusCode::OK
    );
    let point = a.staff_token("point7101").await;
    assert_eq!(
        b.post(
            &point,
            &format!("/point/applications/{id}/receive"),
            json!({})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        a.post(
            &point,
            &format!("/point/tickets/{ticket}/hand-over"),
            json!({ "old_card": "surrendered" })
        )
        .await
        .status(),
        StatusCode::OK
    );
    let done = b.wait_for(&token, &id, |x| x["state"] == "issued").await;
    // Each event once, whatever instance handled it; each notice once.
    let history = done["history"].as_array().unwrap();
    let approvals = history.iter().filter(|e| e["kind"] == "approved").count();
    assert_eq!(approvals, 1);
    let mut notices: Vec<Value> = Vec::new();
    for _ in 0..200 {
        notices = a.get(&token, "/notifications").await.json().await.unwrap();
        if notices.iter().any(|n| n["kind"] == "handed_over") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for kind in ["submitted", "approved", "handed_over"] {
        assert_eq!(
            notices.iter().filter(|n| n["kind"] == kind).count(),
            1,
            "{kind}: {notices:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_request_ids() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let r = app
        .client
        .get(app.api("/rules"))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "trace-me-1");
    let r = app.client.get(app.api("/rules")).send().await.unwrap();
    assert!(
        !r.headers().get("x-request-id").unwrap().is_empty(),
        "an id is made when none is sent"
    );
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("kuelik_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/rules\""), "{text}");
    assert!(text.contains("kuelik_outbox_backlog"), "{text}");
    assert!(text.contains("kuelik_refunds_outstanding"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_eligible_citizen_is_reminded_exactly_once_per_card() {
    each_backend(|app| async move {
        // A generated register of 3,000 people; about 1% are in the online window.
        let people: Vec<Person> =
            kuelik_core::register::synthetic::generate(42, 3000, today()).collect();
        app.add_people(&people).await;
        let in_window = |p: &Person, day: Date| {
            let left = kuelik_core::time::days_between(day, p.document.last_valid_day);
            (-10..=30).contains(&left)
        };
        let expected: Vec<&Person> = people.iter().filter(|p| in_window(p, today())).collect();
        assert!(
            expected.len() >= 10,
            "the generator put {} in the window",
            expected.len()
        );

        // One of them opted out; another already has an application in progress.
        let quiet = expected[0];
        app.state
            .store
            .set_reminder_opt_out(&quiet.iin, true, NOW.parse().unwrap())
            .await
            .unwrap();
        let busy = expected[1];
        let token = app.citizen_token(busy).await;
        assert_eq!(
            app.post(&token, "/applications", json!({})).await.status(),
            StatusCode::CREATED
        );

        let first = kuelik_server::reminders::run_once(&app.state).await;
        assert_eq!(first, expected.len() - 2);
        // A second sweep the same day (or on another instance) sends nothing new.
        assert_eq!(kuelik_server::reminders::run_once(&app.state).await, 0);
        // The background worker delivers too; wait until nothing is left to deliver.
        for _ in 0..400 {
            kuelik_server::workers::run_outbox_once(&app.state).await;
            if app.state.store.outbox_backlog().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(app.state.store.outbox_backlog().await.unwrap(), 0);
        for p in &people {
            let notices = app.state.store.inbox(&p.iin).await.unwrap();
            let reminders = notices.iter().filter(|n| n.kind == "reminder").count();
            let want =
                usize::from(in_window(p, today()) && p.iin != quiet.iin && p.iin != busy.iin);
            assert_eq!(
                reminders, want,
                "{} (card valid through {})",
                p.iin, p.document.last_valid_day
            );
        }
        let sample = app.state.store.inbox(&expected[2].iin).await.unwrap();
        assert!(
            sample[0].message.ru.contains("онлайн"),
            "{:?}",
            sample[0].message
        );

        // The next day: only the cards that entered the window since are reminded.
        app.clock.advance(jiff::SignedDuration::from_hours(24));
        let tomorrow = add_days(today(), 1);
        let newcomers = people
            .iter()
            .filter(|p| in_window(p, tomorrow) && !in_window(p, today()))
            .count();
        assert_eq!(
            kuelik_server::reminders::run_once(&app.state).await,
            newcomers
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_checks_say_what_to_fix_block_a_failed_submission_and_flag_reuse() {
    each_backend(|app| async move {
        let citizen = person(11, "71", 6, "+77010000011");
        let other = person(12, "71", 7, "+77010000012");
        app.add_people(&[citizen.clone(), other.clone()]).await;
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let id = app
            .post(&token, "/applications", json!({}))
            .await
            .json::<Value>()
            .await
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let photo = format!("/applications/{id}/photo");

        // Unreadable: refused with a code and advice; nothing attached.
        let truncated = &PORTRAIT[..PORTRAIT.len() / 2];
        let r = app
            .client
            .put(app.api(&photo))
            .bearer_auth(&token)
            .header("accept-language", "ru")
            .multipart(reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(truncated.to_vec()).file_name("p.jpg"),
            ))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(r).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("truncated_image"))
        );
        assert!(!body["detail"].as_str().unwrap().is_empty());
        let a: Value = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(a["photo_sha256"], Value::Null);

        // Readable but no face: attached, with every measure and the advice.
        let r = app.upload(&token, &photo, CAT).await;
        assert_eq!(r.status(), StatusCode::OK);
        let a: Value = r.json().await.unwrap();
        assert_eq!(a["photo_check"]["verdict"], "fail");
        let face = a["photo_check"]["measures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "face_count")
            .unwrap();
        assert_eq!(face["status"], "fail");
        for lang in ["kk", "ru", "en"] {
            assert!(!face["message"][lang].as_str().unwrap().is_empty());
        }
        // Everything else ready, the failed photo needs fixing: the task list says so (the
        // photo is not "done"), and before the citizen pays or spends a code, the duty, the
        // submission code and the submission are all refused naming it.
        assert_eq!(
            app.upload(&token, &format!("/applications/{id}/signature"), SIGNATURE)
                .await
                .status(),
            StatusCode::OK
        );
        let r = app.choose_point(&token, &id, "71-01").await;
        assert_eq!(r.status(), StatusCode::OK);
        let a = app.get_json(&token, &format!("/applications/{id}")).await;
        assert_eq!(
            a["readiness"]["tasks"][1],
            json!({ "task": "photo", "status": "needs_fixing" })
        );
        assert_eq!(a["readiness"]["ready_to_pay"], false);
        let codes_before = app.codes_received(citizen.phone.as_str());
        for (path, body) in [
            (format!("/applications/{id}/payment"), json!({})),
            (format!("/applications/{id}/submit/code"), json!({})),
            (
                format!("/applications/{id}/submit"),
                json!({ "challenge_id": uuid::Uuid::now_v7(), "code": "000000" }),
            ),
        ] {
            let (status, refusal) = problem(app.post(&token, &path, body).await).await;
            assert_eq!(
                (status, refusal["code"].as_str()),
                (StatusCode::CONFLICT, Some("application_incomplete")),
                "{path}"
            );
            assert_eq!(refusal["readiness"]["tasks"][1]["status"], "needs_fixing");
        }
        assert_eq!(app.codes_received(citizen.phone.as_str()), codes_before);
        let a = app.get_json(&token, &format!("/applications/{id}")).await;
        assert_eq!(a["payments"], json!([]), "nothing was charged");

        // A compliant photo replaces it; the duty is paid and the submission goes through.
        let a: Value = app
            .upload(&token, &photo, PORTRAIT)
            .await
            .json()
            .await
            .unwrap();
        assert_ne!(a["photo_check"]["verdict"], "fail", "{}", a["photo_check"]);
        app.pay(&token, &id).await;
        app.submit(&token, &citizen, &id).await;

        // Someone else uploads the same portrait: the officer sees it flagged.
        let other_token = app.citizen_token(&other).await;
        let (other_id, _) = app
            .submitted_application(&other_token, &other, "71-02")
            .await;
        let officer = app.staff_token("officer71").await;
        let seen: Value = app
            .get(&officer, &format!("/officer/applications/{other_id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["same_photo_elsewhere"][0]["id"], json!(id));
        assert_eq!(seen["same_photo_elsewhere"][0]["region"], "71");
        assert!(seen["same_photo_elsewhere"][0]["ticket"].is_string());
        assert!(
            seen["photo_check"]["measures"].is_array(),
            "the officer sees the measures"
        );
        let profile: Value = app
            .client
            .get(app.api("/reference/image-profile"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(profile["provisional"], true);
        assert!(
            profile["bands"]["photo.luminance_mean"].is_object(),
            "{profile}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_codes_are_rate_limited_per_person() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let citizen = person(13, "71", 3, "+77010000013");
    app.add_people(std::slice::from_ref(&citizen)).await;
    let unknown = Iin::from_parts(jiff::civil::date(1970, 1, 1), Sex::Male, 4242).unwrap();
    for iin in [citizen.iin, unknown] {
        let ask = || {
            app.client
                .post(app.api("/auth/otp"))
                .json(&json!({ "iin": iin.to_string() }))
                .send()
        };
        for _ in 0..kuelik_server::auth::OTP_ISSUE_LIMIT {
            assert_eq!(ask().await.unwrap().status(), StatusCode::ACCEPTED);
        }
        // Known or not, the sixth request in the window is refused the same way.
        let (status, body) = problem(ask().await.unwrap()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_codes"))
        );
    }
    // The window passes: codes can be asked for again.
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let r = app
        .client
        .post(app.api("/auth/otp"))
        .json(&json!({ "iin": citizen.iin.to_string() }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_needs_the_workers() {
    use tower::ServiceExt;
    // The router alone, without `serve` (which starts the workers): not ready.
    let (store, _dir) = open_store(Backend::Sqlite).await.unwrap();
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let config = Config::new(Secrets {
        otp_key: [1; 32],
        gateway_key: b"k".repeat(16),
        register_key: b"r".repeat(16),
        audit_key: audit_key(),
    });
    let state = kuelik_server::app_state(store, clock, RuleBook::builtin().unwrap(), config);
    let request = axum::http::Request::get("/readyz")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = kuelik_server::router(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// The administrator's stuck-work view and reports: only administrators may look, an
/// approval production has not accepted within a working day and an outbox message that
/// keeps failing are listed (the message without its text, digits masked), a retry is
/// audited and answers 404/409 for unknown or settled work, and a report counts the period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_see_stuck_work_and_reports() {
    each_backend(|app| async move {
        let citizen = person(1, "71", 12, "+77010000001");
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        app.add_staff("admin", Role::Administrator, None, None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let (id, ticket) = app.submitted_application(&token, &citizen, "71-01").await;
        let officer = app.staff_token("officer71").await;
        assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);
        assert_eq!(app.approve(&officer, &id).await.status(), StatusCode::OK);

        // Only administrators.
        for path in ["/admin/stuck", "/admin/reports"] {
            let (status, body) = problem(app.get(&officer, path).await).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(body["code"], "forbidden");
            let (status, _) = problem(app.get(&token, path).await).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        let some = uuid::Uuid::now_v7();
        let r = app
            .post(
                &officer,
                &format!("/admin/stuck/outbox/{some}/retry"),
                json!({}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // An SMS that keeps failing (its error quotes the number), and one delivered.
        let now = app.state.clock.now();
        let failing = kuelik_store::OutboxMessage {
            id: uuid::Uuid::now_v7(),
            topic: "sms".into(),
            payload: json!({ "to": "+77010000001", "text": "Код 123456" }),
            created_at: now,
            attempts: 7,
            // Its next attempt after the test's clock jump (48 h), so that the outbox worker
            // does not deliver it while the test looks at it.
            next_attempt_at: now
                .checked_add(jiff::SignedDuration::from_hours(24 * 30))
                .unwrap(),
            delivered_at: None,
            last_error: Some("gateway refused +77010000001".into()),
        };
        let delivered = kuelik_store::OutboxMessage {
            id: uuid::Uuid::now_v7(),
            ..failing.clone()
        };
        app.state
            .store
            .commit(kuelik_store::Changes {
                outbox: vec![failing.clone(), delivered.clone()],
                ..Default::default()
            })
            .await
            .unwrap();
        app.state
            .store
            .outbox_delivered(delivered.id, now, None)
            .await
            .unwrap();

        // Two days later (Friday noon): the Wednesday approval waits for production.
        app.clock.advance(jiff::SignedDuration::from_hours(48));
        let admin = app.staff_token("admin").await;
        let r = app.get(&admin, "/admin/stuck").await;
        assert_eq!(r.status(), StatusCode::OK);
        let work: Value = r.json().await.unwrap();
        let waiting = work["awaiting_production"].as_array().unwrap();
        assert_eq!(waiting.len(), 1, "{work:#}");
        assert_eq!(waiting[0]["id"], id.as_str());
        assert_eq!(waiting[0]["ticket"], ticket.as_str());
        assert_eq!(waiting[0]["region"], "71");
        assert!(waiting[0]["since"].is_string());
        assert_eq!(work["overdue"], json!([]), "not due until November");
        let outbox = work["outbox"].as_array().unwrap();
        let listed = outbox
            .iter()
            .find(|m| m["id"] == failing.id.to_string())
            .expect("the failing SMS is listed");
        assert_eq!(listed["attempts"], 7);
        assert_eq!(listed["last_error"], "gateway refused +…");
        assert!(listed.get("payload").is_none());
        let text = work.to_string();
        assert!(!text.contains("123456") && !text.contains("77010000001"));
        assert!(!outbox.iter().any(|m| m["id"] == delivered.id.to_string()));
        assert_eq!(work["thresholds"]["production_working_days"], 1);

        // Retry: due now and audited; a delivered or unknown message is refused.
        let retry = listed["retry"]
            .as_str()
            .unwrap()
            .trim_start_matches("/api/v1");
        let r = app.post(&admin, retry, json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let (status, body) = problem(
            app.post(
                &admin,
                &format!("/admin/stuck/outbox/{}/retry", delivered.id),
                json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_delivered"))
        );
        let (status, _) = problem(
            app.post(
                &admin,
                &format!("/admin/stuck/outbox/{some}/retry"),
                json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A refund retry: unknown payment 404, a confirmed payment has no refund pending.
        let (status, _) = problem(
            app.post(
                &admin,
                &format!("/admin/stuck/refunds/{some}/retry"),
                json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let paid = app
            .state
            .store
            .payments_of(kuelik_core::lifecycle::ApplicationId(id.parse().unwrap()))
            .await
            .unwrap();
        let (status, body) = problem(
            app.post(
                &admin,
                &format!("/admin/stuck/refunds/{}/retry", paid[0].id),
                json!({}),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("refund_not_pending"))
        );
        let audit: Value = app.get(&admin, "/admin/audit").await.json().await.unwrap();
        let retries: Vec<&Value> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "outbox.retry")
            .collect();
        assert_eq!(retries.len(), 1, "only the retry that changed something");
        assert_eq!(retries[0]["target"], failing.id.to_string());

        // Reports: October, and refused periods.
        let r = app
            .get(&admin, "/admin/reports?from=2025-10-01&to=2025-10-31")
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let report: Value = r.json().await.unwrap();
        let days = report["submitted_per_day"].as_array().unwrap();
        assert_eq!(days.len(), 31);
        assert_eq!(days[14], json!({ "day": "2025-10-15", "count": 1 }));
        assert_eq!(
            days.iter()
                .map(|d| d["count"].as_u64().unwrap())
                .sum::<u64>(),
            1
        );
        assert_eq!(
            report["submitted_per_region"],
            json!([{ "region": "71", "count": 1 }])
        );
        assert_eq!(report["decision_times"][0]["region"], "71");
        assert_eq!(report["decision_times"][0]["approved"], 1);
        assert_eq!(report["annulment_reasons"], json!([]));
        assert_eq!(report["refunds_outstanding"]["count"], 0);
        let default = app.get_json(&admin, "/admin/reports").await;
        assert_eq!(default["to"], "2025-10-17");
        assert_eq!(default["submitted_per_day"].as_array().unwrap().len(), 30);
        for (query, code) in [
            ("from=2025-13-01", "invalid_date"),
            ("to=17.10.2025", "invalid_date"),
            ("from=2025-10-20&to=2025-10-01", "invalid_period"),
            ("from=2025-01-01&to=2026-01-10", "period_too_long"),
            // The ends of the calendar answer at once (this once ran forever).
            ("to=9999-12-31", "date_out_of_range"),
            ("from=0001-01-01&to=0001-01-02", "date_out_of_range"),
            ("from=-009999-01-01", "date_out_of_range"),
        ] {
            let (status, body) =
                problem(app.get(&admin, &format!("/admin/reports?{query}")).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert_eq!(body["code"], code, "{query}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_activate_a_rule_set_from_a_date() {
    each_backend(|app| async move {
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        app.add_staff("admin", Role::Administrator, None, None)
            .await;
        let admin = app.staff_token("admin").await;
        let officer = app.staff_token("officer71").await;
        let sets: Value = app
            .get(&admin, "/reference/rule-sets")
            .await
            .json()
            .await
            .unwrap();
        let continuation = |sets: &Value| {
            sets.as_array()
                .unwrap()
                .iter()
                .find(|s| s["version"] == "continuation")
                .cloned()
                .unwrap()
        };
        assert_eq!(continuation(&sets)["enabled"], false);
        assert_eq!(continuation(&sets)["takes_effect"], Value::Null);

        // Refused, and nothing written: not an administrator, a bad or past date, an unknown
        // set, a set brought in after its period ends.
        let path = "/admin/rule-sets/continuation/activate";
        let r = app
            .post(&officer, path, json!({ "from": "2025-10-20" }))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        for (path, from, status, code) in [
            (
                path,
                "20.10.2025",
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_date",
            ),
            (
                path,
                "2025-10-14",
                StatusCode::UNPROCESSABLE_ENTITY,
                "activation_in_past",
            ),
            (
                "/admin/rule-sets/pilot-2099/activate",
                "2025-10-20",
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "/admin/rule-sets/pilot-2025/activate",
                "2026-04-01",
                StatusCode::UNPROCESSABLE_ENTITY,
                "activation_after_period",
            ),
        ] {
            let (got, body) = problem(app.post(&admin, path, json!({ "from": from })).await).await;
            assert_eq!(
                (got, body["code"].as_str()),
                (status, Some(code)),
                "{path} {from}"
            );
        }
        assert!(app.state.store.rule_activations().await.unwrap().is_empty());

        // On 2 April 2026, after the pilot, the service has no rules in force…
        let later = |days: i64| {
            app.state
                .clock
                .now()
                .checked_add(jiff::SignedDuration::from_hours(24 * days))
                .unwrap()
        };
        assert!(app
            .state
            .rules
            .current()
            .in_force(kuelik_core::time::almaty_date(later(170)))
            .is_none());
        // …until the continuation is activated (today, for its own period from 1 April).
        let r = app
            .post(&admin, path, json!({ "from": "2025-10-15" }))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let sets: Value = r.json().await.unwrap();
        assert_eq!(continuation(&sets)["enabled"], true);
        assert_eq!(continuation(&sets)["takes_effect"], "2026-04-01");
        assert_eq!(
            continuation(&sets)["in_force"],
            false,
            "the pilot decides today"
        );
        let audit: Value = app.get(&admin, "/admin/audit").await.json().await.unwrap();
        assert!(audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "rule_set.activated" && e["target"] == "continuation"));

        // Another instance reads it at start; both decide with it from 2 April 2026.
        let other = app.another_instance().await;
        app.clock
            .advance(jiff::SignedDuration::from_hours(24 * 170));
        other
            .clock
            .advance(jiff::SignedDuration::from_hours(24 * 170));
        for instance in [&app, &other] {
            let rules: Value = instance
                .client
                .get(instance.api("/rules"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(rules["version"], "continuation", "{rules:#}");
            assert_eq!(rules["in_force"], true);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_choose_where_and_in_which_language_notices_go() {
    each_backend(|app| async move {
        let citizen = person(1, "71", 12, "+77010000001");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let contact: Value = app.get(&token, "/me/contact").await.json().await.unwrap();
        assert_eq!(contact["notice_phone"], "+77010000001");
        assert_eq!(contact["phone_chosen"], false);
        assert_eq!(contact["code_phone"], "+7 701 *** ** 01");

        let put = |body: Value| {
            app.client
                .put(app.api("/me/contact"))
                .bearer_auth(&token)
                .json(&body)
                .send()
        };
        for (body, code) in [
            (json!({ "phone": "701 999" }), "bad_phone"),
            (
                json!({ "phone": "+77019998877", "language": "de" }),
                "bad_language",
            ),
        ] {
            let (status, problem_body) = problem(put(body.clone()).await.unwrap()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(problem_body["code"], code, "{body}");
        }
        assert_eq!(
            app.state.store.contact_details(&citizen.iin).await.unwrap(),
            None
        );

        // What reached the register's phone before the change (the daily sweep's renewal
        // reminder may have, as for anyone whose card is expiring).
        let register_phone_before = app
            .state
            .dev_inbox
            .as_ref()
            .unwrap()
            .messages()
            .iter()
            .filter(|m| m.to == "+77010000001")
            .count();
        let r = put(json!({ "phone": "8 (701) 999-88-77", "language": "en" }))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let contact: Value = r.json().await.unwrap();
        assert_eq!(contact["notice_phone"], "+77019998877");
        assert_eq!(contact["notice_language"], "en");
        assert_eq!(
            (
                contact["phone_chosen"].clone(),
                contact["language_chosen"].clone()
            ),
            (json!(true), json!(true))
        );

        // The confirmation code still goes to the register's phone; the notice of the
        // submission goes to the chosen phone, in English.
        let (_, ticket) = app.submitted_application(&token, &citizen, "71-01").await;
        let inbox = app.state.dev_inbox.clone().unwrap();
        let mut notice = None;
        for _ in 0..200 {
            notice = inbox
                .messages()
                .into_iter()
                .find(|m| m.to == "+77019998877" && m.text.contains(&ticket));
            if notice.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let notice = notice.expect("the submission notice reached the chosen phone");
        let cyrillic = |t: &str| t.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
        assert!(!cyrillic(&notice.text), "in English: {}", notice.text);
        let to_register_phone: Vec<String> = inbox
            .messages()
            .iter()
            .filter(|m| m.to == "+77010000001")
            .skip(register_phone_before)
            .map(|m| m.text.clone())
            .collect();
        assert!(
            to_register_phone.iter().all(|t| t.starts_with("kuelik:")),
            "only codes to the register's phone after the change: {to_register_phone:?}"
        );
        assert!(!app.codes_to("+77010000001").is_empty());
        let audit = app.state.store.audit_entries(50).await.unwrap();
        let changed = audit
            .iter()
            .find(|e| e.action == "contact.changed")
            .unwrap();
        assert!(
            !changed.details.to_string().contains("9998877"),
            "no number in the audit log"
        );

        // Back to the register's phone: an empty phone clears the choice.
        let contact: Value = put(json!({ "phone": "", "language": "en" }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(contact["notice_phone"], "+77010000001");
        assert_eq!(contact["phone_chosen"], false);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizens_status_read_carries_check_reports_only_while_they_can_act_on_them() {
    each_backend(|app| async move {
        let citizen = person(1, "71", 12, "+77010000001");
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        let token = app.citizen_token(&citizen).await;
        let r = app.post(&token, "/applications", json!({})).await;
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = app
            .upload(&token, &format!("/applications/{id}/photo"), PORTRAIT)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let draft: Value = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(draft["photo_check"]["measures"].is_array(), "{draft:#}");

        app.prepare_and_submit(&token, &citizen, &id, "71-01").await;
        let submitted: Value = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_ne!(submitted["state"], "draft");
        assert!(
            submitted.get("photo_check").is_none() && submitted.get("signature_check").is_none()
        );
        assert!(!submitted["history"].as_array().unwrap().is_empty());
        assert_eq!(submitted["payments"].as_array().unwrap().len(), 1);

        // The officer reviewing it sees both reports.
        let officer = app.staff_token("officer71").await;
        let review: Value = app
            .get(&officer, &format!("/officer/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(review["photo_check"]["measures"].is_array(), "{review:#}");
        assert!(review["signature_check"]["measures"].is_array());
    })
    .await;
}

/// Issuance replaces the document: after the hand-over the person's current document is the
/// new one and the old card is invalid (`replaced`); eligibility is `too_early` and a new
/// application is refused; the public check answers for both numbers without personal data;
/// the register is told through the outbox — while it is down the change waits (and shows in
/// stuck work), and another instance delivers it later: nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_replaces_the_card_and_the_register_hears_of_it() {
    each_backend(|app| async move {
        let citizen = person(31, "71", 12, "+77010000031");
        let old_number = citizen.document.number.clone();
        app.add_people(std::slice::from_ref(&citizen)).await;
        app.add_pickup_staff().await;
        app.add_staff("admin", Role::Administrator, None, None)
            .await;
        let token = app.citizen_token(&citizen).await;
        // The register has the photo of the current document: the officer sees it beside the
        // uploaded one (and reading it is audited).
        let old_photo = kuelik_store::RegisterPhoto {
            iin: citizen.iin,
            document_number: old_number.clone(),
            content_type: "image/jpeg".into(),
            bytes: b"\xff\xd8 an old photo".to_vec(),
        };
        app.state
            .store
            .commit(kuelik_store::Changes {
                register_photos: vec![old_photo.clone()],
                ..Default::default()
            })
            .await
            .unwrap();
        let (id, ticket) = app.submitted_application(&token, &citizen, "71-01").await;
        let officer = app.staff_token("officer71").await;
        let seen: Value = app
            .get(&officer, &format!("/officer/applications/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["register_photo_of"], old_number.as_str());
        let r = app
            .get(
                &officer,
                &format!("/officer/applications/{id}/register-photo"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            old_photo.bytes.as_slice()
        );
        let read = app.state.store.audit_entries(20).await.unwrap();
        assert!(read
            .iter()
            .any(|e| e.action == "application.read_register_photo"));
        // Not the citizen's to fetch, nor another region's officer's.
        let r = app
            .get(
                &token,
                &format!("/officer/applications/{id}/register-photo"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        app.ready_for_pickup(&id, "061234567").await;
        let point = app.staff_token("point7101").await;

        // The national register is down for now.
        let register = app
            .state
            .simulated_register
            .get()
            .expect("simulated register");
        register.set_available(false);

        let hand_over = format!("/point/tickets/{ticket}/hand-over");
        for (body, code) in [
            (json!({}), "invalid_body"),
            (json!({ "old_card": "kept" }), "unknown_old_card"),
        ] {
            let (status, problem_body) = problem(app.post(&point, &hand_over, body).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(problem_body["code"], code);
        }
        assert_eq!(
            app.get(&token, &format!("/applications/{id}"))
                .await
                .json::<Value>()
                .await
                .unwrap()["state"],
            "ready_for_pickup"
        );
        let r = app
            .post(&point, &hand_over, json!({ "old_card": "not_presented" }))
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        // The register's photo is now the new document's: the application's photo.
        let photo = app
            .state
            .store
            .register_photo(&citizen.iin)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(photo.document_number, "061234567");
        assert_eq!(photo.bytes, PORTRAIT);

        // The person's record: the new document is current, the old one invalid.
        let me: Value = app.get(&token, "/me").await.json().await.unwrap();
        assert_eq!(me["document"]["number"], "061234567");
        assert_eq!(me["document"]["issued_on"], "2025-10-15");
        assert_eq!(me["document"]["last_valid_day"], "2035-10-14");
        let documents = me["documents"].as_array().unwrap();
        assert_eq!(documents.len(), 2, "{documents:?}");
        assert_eq!(documents[0]["number"], "061234567");
        assert_eq!(documents[0]["status"], "valid");
        assert_eq!(documents[0]["current"], true);
        assert_eq!(documents[0]["issued_for_application"], id.as_str());
        assert_eq!(documents[1]["number"], old_number.as_str());
        assert_eq!(documents[1]["status"], "invalid");
        assert_eq!(documents[1]["reason"], "replaced");
        assert_eq!(documents[1]["old_card"], "not_presented");
        assert_eq!(documents[1]["replaced_by_application"], id.as_str());
        assert_eq!(documents[1]["current"], false);
        assert!(documents[1]["invalidated_at"].is_string());

        // Staff reviewing the application see the same history.
        let seen: Value = app
            .get(&point, &format!("/point/tickets/{ticket}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["applicant"]["documents"][1]["reason"], "replaced");

        // Every later decision uses the new card (valid through 2035-10-14): the window
        // opens on 2035-09-14, after the pilot rules end, so not online; no second
        // application. (Under rules with no end the answer is `too_early`: below.)
        let e: Value = app
            .get(&token, "/me/eligibility")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(e["eligible"], false);
        assert_eq!(e["code"], "window_after_service_end");
        assert_eq!(e["last_valid_day"], "2035-10-14");
        let (status, body) = problem(app.post(&token, "/applications", json!({})).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "window_after_service_end");

        // The public check: only the status, for anyone, no personal data.
        let check = |kind: &'static str, number: String| {
            let client = app.client.clone();
            let url = app.api("/documents/validity");
            async move {
                client
                    .post(url)
                    .json(&json!({ "kind": kind, "number": number }))
                    .send()
                    .await
                    .unwrap()
            }
        };
        let old: Value = check("identity-card", old_number.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (old["status"].as_str(), old["reason"].as_str()),
            (Some("invalid"), Some("replaced"))
        );
        let keys: Vec<&String> = old.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["message", "reason", "status"],
            "nothing about the holder"
        );
        let new: Value = check("identity-card", "061234567".into())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(new["status"], "valid");
        assert!(new.get("reason").is_none());
        let unknown: Value = check("identity-card", "099999999".into())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(unknown["status"], "unknown");
        let passport: Value = check("passport", "N06123456".into())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(passport["status"], "unknown");
        let (status, body) = problem(check("identity-card", "12345".into()).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("bad_document_number")
            )
        );
        let (status, body) = problem(check("driving-licence", "061234567".into()).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("unknown_document_kind")
            )
        );
        let audited = app.state.store.audit_entries(200).await.unwrap();
        assert_eq!(
            audited
                .iter()
                .filter(|a| a.action == "document.validity_checked")
                .count(),
            4,
            "every answered check is audited"
        );

        // The citizen's notice says which card is no longer valid, and from when.
        let mut notice = None;
        for _ in 0..200 {
            let notices: Vec<Value> = app
                .get(&token, "/notifications")
                .await
                .json()
                .await
                .unwrap();
            notice = notices.into_iter().find(|n| n["kind"] == "handed_over");
            if notice.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let notice = notice.expect("a hand-over notice");
        let ru = notice["message"]["ru"].as_str().unwrap();
        assert!(ru.contains("061234567") && ru.contains(&old_number), "{ru}");
        assert!(ru.contains("недействителен с 15.10.2025, 12:00"), "{ru}");

        // The register was down: the change waits in the outbox and shows in stuck work.
        app.clock.advance(jiff::SignedDuration::from_mins(20));
        let admin = app.staff_token("admin").await;
        let mut listed = false;
        for _ in 0..200 {
            let stuck: Value = app.get(&admin, "/admin/stuck").await.json().await.unwrap();
            listed = stuck["outbox"].as_array().unwrap().iter().any(|m| {
                m["topic"] == "register.document_change" && m["attempts"].as_u64() >= Some(1)
            });
            if listed {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(listed, "the undelivered change is visible in stuck work");
        assert!(register.changes().is_empty());

        // Another instance, its register reachable, delivers it: nothing was lost.
        let other = app.another_instance().await;
        other.clock.advance(jiff::SignedDuration::from_hours(1));
        other.state.wake_outbox();
        let heard = other.state.simulated_register.get().unwrap();
        let mut changes = Vec::new();
        for _ in 0..400 {
            changes = heard.changes();
            if !changes.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(changes.len(), 1, "the change reached the register once");
        let change = &changes[0];
        assert_eq!(change.holder, citizen.iin);
        assert_eq!(change.issued.number, "061234567");
        assert_eq!(change.invalidated.number, old_number);
        assert_eq!(
            change
                .invalidated
                .invalidation
                .as_ref()
                .map(|i| i.reason.as_str()),
            Some("replaced")
        );

        // Under rules with no end — the continuation, activated, in force from 1 April 2026
        // (as in the demo) — the just-replaced card is `too_early`, with the first date.
        let r = app
            .post(
                &admin,
                "/admin/rule-sets/continuation/activate",
                json!({ "from": "2025-10-15" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        app.clock.set("2026-04-02T04:00:00Z".parse().unwrap());
        let token = app.citizen_token(&citizen).await;
        let e = app.get_json(&token, "/me/eligibility").await;
        assert_eq!(e["rules_version"], "continuation");
        assert_eq!(e["code"], "too_early");
        assert_eq!(e["first_eligible_date"], "2035-09-14");
        let (status, body) = problem(app.post(&token, "/applications", json!({})).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("too_early"))
        );
    })
    .await;
}

/// `serve --demo` killed during its first start (the people written, nothing else): the
/// next start completes the demo instead of saying it is already there; a third changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeding_completes_what_a_killed_first_start_left() {
    each_backend(|app| async move {
        let today = kuelik_core::time::almaty_date(app.state.clock.now());
        app.add_people(&kuelik_server::demo::people(today)).await;
        assert!(app.state.store.list_staff().await.unwrap().is_empty());

        let said = kuelik_server::demo::seed(&app.state, None).await.unwrap();
        assert!(
            said.contains("Demo data created: 0 people in the register, 6 staff, 11 applications"),
            "{said}"
        );
        assert_eq!(app.state.store.list_staff().await.unwrap().len(), 6);
        let people = kuelik_server::demo::people(today);
        let mut states = Vec::new();
        for person in &people {
            for stored in app.state.store.applications_of(&person.iin).await.unwrap() {
                states.push(stored.application.state);
            }
        }
        assert_eq!(states.len(), 11, "one application per state");

        let again = kuelik_server::demo::seed(&app.state, None).await.unwrap();
        assert!(again.contains("Demo data already present."), "{again}");
        assert_eq!(app.state.store.list_staff().await.unwrap().len(), 6);
    })
    .await;
}
