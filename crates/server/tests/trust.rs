//! The trust chain over real HTTP (R11, R14), on SQLite and on PostgreSQL: approval with the
//! officer's e-signature made on their device or with their PIN, every refusal with its
//! reason code, production refusing what no longer matches what was signed, pickup by
//! ticket, and the audit log catching edits made behind the service's back.

mod common;

use base64::Engine as _;
use common::*;
use kuelik_server::audit_chain;

/// A submitted application of a fresh citizen, taken by `officer71`; returns (id, ticket,
/// the officer's token, the citizen's token).
async fn taken(app: &TestApp, serial: u16) -> (String, String, String, String) {
    let citizen = person(serial, "71", 12, &format!("+7701{:07}", serial));
    app.add_people(std::slice::from_ref(&citizen)).await;
    let token = app.citizen_token(&citizen).await;
    let (id, ticket) = app.submitted_application(&token, &citizen, "71-01").await;
    let officer = app.staff_token("officer71").await;
    assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);
    (id, ticket, officer, token)
}

async fn staff(app: &TestApp) {
    app.add_pickup_staff().await;
    app.add_staff("point7102", Role::PointOperator, None, Some("71-02"))
        .await;
}

async fn approval_document(app: &TestApp, officer: &str, id: &str) -> Vec<u8> {
    let r = app
        .get(
            officer,
            &format!("/officer/applications/{id}/approval-document"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

fn sign(document: &[u8], creds: &kuelik_trust::OfficerCredentials) -> String {
    let cms = kuelik_trust::cms::sign_detached(
        document,
        &creds.key_pem,
        &creds.cert_pem,
        NOW.parse().unwrap(),
    )
    .unwrap();
    base64::engine::general_purpose::STANDARD.encode(cms)
}

async fn approve_with(app: &TestApp, officer: &str, id: &str, body: Value) -> Response {
    app.post(
        officer,
        &format!("/officer/applications/{id}/approve"),
        body,
    )
    .await
}

/// Asserts that `officer`'s approval of `id` with `body` is refused (422) with `code`.
async fn approval_refused(app: &TestApp, officer: &str, id: &str, body: Value, code: &str) {
    let (status, problem) = problem(approve_with(app, officer, id, body).await).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
        "{problem}"
    );
}

async fn state_of(app: &TestApp, token: &str, id: &str) -> String {
    app.get(token, &format!("/applications/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["state"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn accept(app: &TestApp, factory: &str, id: &str) -> Response {
    app.post(
        factory,
        &format!("/production/applications/{id}/accept"),
        json!({}),
    )
    .await
}

async fn checks(app: &TestApp, factory: &str, id: &str) -> Vec<Value> {
    app.get(
        factory,
        &format!("/production/applications/{id}/signature-checks"),
    )
    .await
    .json()
    .await
    .unwrap()
}

/// Chains every pending row. The server's own sequencer runs too, and a batch that races
/// another is refused whole (it returns 0 while the other's is in flight), so this waits
/// until nothing is pending rather than trusting one empty round.
async fn sequence_all(app: &TestApp) {
    for _ in 0..400 {
        while kuelik_server::workers::run_audit_sequencer_once(&app.state).await > 0 {}
        match verify(app).await {
            Ok(intact) if intact.pending == 0 => return,
            _ => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
    panic!("audit rows stay pending");
}

async fn verify(app: &TestApp) -> Result<audit_chain::Intact, audit_chain::Broken> {
    audit_chain::verify(
        &*app.state.store,
        &app.state.config.secrets.audit_key.public_key(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_on_the_device_made_and_handed_over_once_at_its_point() {
    each_backend(|app| async move {
        staff(&app).await;
        // This officer signs with RSA-2048 on their own device; no key is kept by the service.
        let account = app.staff_account("officer71").await;
        let creds = app
            .bind_officer(&account, KeyAlgorithm::Rsa2048, None)
            .await;
        let (id, ticket, officer, token) = taken(&app, 11).await;

        let document = approval_document(&app, &officer, &id).await;
        let parsed: Value = serde_json::from_slice(&document).unwrap();
        assert_eq!(parsed["format"], "kuelik-approval-v1");
        assert_eq!(parsed["ticket"], ticket.as_str());
        assert_eq!(parsed["officer_username"], "officer71");
        assert_eq!(
            parsed["photo_sha256"].as_str().unwrap().len(),
            64,
            "the photo is named by its SHA-256"
        );
        // The remote way is not open to this officer: no sealed key.
        let (status, body) = problem(app.approve(&officer, &id).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("no_remote_signing_key"))
        );
        let body = json!({
            "document": String::from_utf8(document.clone()).unwrap(),
            "signature": sign(&document, &creds),
        });
        let r = approve_with(&app, &officer, &id, body).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

        let factory = app.staff_token("factory").await;
        assert_eq!(accept(&app, &factory, &id).await.status(), StatusCode::OK);
        let recorded = checks(&app, &factory, &id).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0]["code"], "verified");
        let r = app
            .post(
                &factory,
                &format!("/production/applications/{id}/dispatch"),
                json!({ "document_number": "071234567" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        let desk = app.staff_token("point7101").await;
        let other_desk = app.staff_token("point7102").await;
        let r = app
            .post(
                &desk,
                &format!("/point/applications/{id}/receive"),
                json!({}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        // A typo is caught by the check symbol before any lookup.
        let mut typo: Vec<char> = ticket.chars().collect();
        typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        let (status, body) = problem(app.get(&desk, &format!("/point/tickets/{typo}")).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body["code"].as_str().unwrap().starts_with("ticket_"),
            "{body}"
        );
        // Another point's ticket is refused there.
        for path in [
            format!("/point/tickets/{ticket}"),
            format!("/point/tickets/{ticket}/hand-over"),
        ] {
            let r = if path.ends_with("hand-over") {
                app.post(&other_desk, &path, json!({ "old_card": "surrendered" }))
                    .await
            } else {
                app.get(&other_desk, &path).await
            };
            let (status, body) = problem(r).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::NOT_FOUND, Some("ticket_not_at_this_point"))
            );
        }
        let r = app.get(&desk, &format!("/point/tickets/{ticket}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .post(
                &desk,
                &format!("/point/tickets/{ticket}/hand-over"),
                json!({ "old_card": "surrendered" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(state_of(&app, &token, &id).await, "issued");
        // A ticket is used once.
        let (status, body) = problem(
            app.post(
                &desk,
                &format!("/point/tickets/{ticket}/hand-over"),
                json!({ "old_card": "surrendered" }),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("illegal_transition"))
        );
        // The new number and the invalidated old card are on record.
        let handed = app
            .state
            .store
            .audit_entries(100)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "document.handed_over")
            .expect("hand-over recorded");
        assert_eq!(handed.details["document_number"], "071234567");
        assert_eq!(
            handed.details["invalidated_document"]["number"],
            "041234567"
        );
        sequence_all(&app).await;
        let intact = verify(&app).await.expect("an honest log verifies");
        assert!(intact.entries > 10, "{intact:?}");
        assert_eq!(intact.pending, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_without_a_valid_signature_of_this_officer_is_refused() {
    each_backend(|app| async move {
        staff(&app).await;
        app.add_staff("officer71b", Role::Officer, Some("71"), None)
            .await;
        let account = app.staff_account("officer71").await;
        let creds = app.bind_officer(&account, KeyAlgorithm::EcdsaP256, Some(OFFICER_PIN)).await;
        let (id, _, officer, token) = taken(&app, 12).await;
        let document = approval_document(&app, &officer, &id).await;
        let text = String::from_utf8(document.clone()).unwrap();

        let refused = |body: Value, code: &'static str| {
            let (app, officer, id) = (&app, officer.clone(), id.clone());
            async move { approval_refused(app, &officer, &id, body, code).await }
        };
        refused(json!({}), "signature_required").await;
        refused(json!({ "pin": "000000" }), "wrong_pin").await;
        refused(
            json!({ "document": text, "signature": "not base64!" }),
            "malformed_signature",
        )
        .await;
        // A signature over other bytes than the document sent.
        let mut altered = kuelik_trust::ApprovalDocument::from_canonical_bytes(&document).unwrap();
        altered.surname = "Someone Else".into();
        let altered_bytes = altered.canonical_bytes();
        refused(
            json!({ "document": text, "signature": sign(&altered_bytes, &creds) }),
            "digest_mismatch",
        )
        .await;
        // A properly signed document that is not this application's current one.
        refused(
            json!({
                "document": String::from_utf8(altered_bytes.clone()).unwrap(),
                "signature": sign(&altered_bytes, &creds),
            }),
            "document_mismatch",
        )
        .await;
        // Another officer's valid certificate.
        let other = app.staff_account("officer71b").await;
        let other_creds = app.bind_officer(&other, KeyAlgorithm::EcdsaP256, None).await;
        refused(
            json!({ "document": text, "signature": sign(&document, &other_creds) }),
            "signer_not_this_officer",
        )
        .await;
        // A certificate from a CA the service does not trust.
        let rogue = DemoCa::generate("rogue CA").unwrap();
        let rogue_creds = rogue
            .issue_officer(
                "officer71",
                KeyAlgorithm::EcdsaP256,
                Validity::days_from(NOW.parse().unwrap(), 30).unwrap(),
            )
            .unwrap();
        refused(
            json!({ "document": text, "signature": sign(&document, &rogue_creds) }),
            "untrusted_certificate",
        )
        .await;
        // An expired certificate of the right CA.
        let old = app
            .ca
            .issue_officer(
                "officer71",
                KeyAlgorithm::EcdsaP256,
                Validity {
                    not_before: "2020-01-01T00:00:00Z".parse().unwrap(),
                    not_after: "2021-01-01T00:00:00Z".parse().unwrap(),
                },
            )
            .unwrap();
        let cms = kuelik_trust::cms::sign_detached(
            &document,
            &old.key_pem,
            &old.cert_pem,
            "2020-06-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        refused(
            json!({ "document": text, "signature": base64::engine::general_purpose::STANDARD.encode(cms) }),
            "certificate_expired",
        )
        .await;
        // A document fetched too long ago.
        app.clock.advance(jiff::SignedDuration::from_mins(16));
        refused(
            json!({ "document": text, "signature": sign(&document, &creds) }),
            "approval_document_stale",
        )
        .await;
        assert_eq!(state_of(&app, &token, &id).await, "under_review");
        let audit = app.state.store.audit_entries(200).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "approval.wrong_pin"));
        assert!(app.state.store.approval(kuelik_core::lifecycle::ApplicationId(id.parse().unwrap())).await.unwrap().is_none());
        // The right PIN signs.
        assert_eq!(app.approve(&officer, &id).await.status(), StatusCode::OK);
    })
    .await;
}

/// An officer whose account is bound to their IIN (made by the administrator through the
/// API) signs with a certificate the service has never seen, issued to that IIN; a
/// certificate of another person, an authentication key and a certificate naming no one are
/// refused, each with its code; production accepts the approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_bound_by_iin_signs_with_their_nuc_certificate() {
    use kuelik_trust::profile::{EKU_AUTHENTICATION, EKU_ORGANISATION, EKU_SIGNING};
    each_backend(|app| async move {
        staff(&app).await;
        app.add_staff("admin", Role::Administrator, None, None)
            .await;
        let admin = app.staff_token("admin").await;
        let iin = "870412300129";
        let r = app
            .post(
                &admin,
                "/admin/staff",
                json!({
                    "username": "officer71iin", "display_name": "Садыкова Айгерім",
                    "password": PASSWORD, "role": "officer", "region": "71", "iin": iin,
                }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.json::<Value>().await.unwrap()["iin"], iin);
        // An IIN with a wrong check digit is refused on its field.
        let (status, body) = problem(
            app.post(
                &admin,
                "/admin/staff",
                json!({
                    "username": "officer71bad", "display_name": "x", "password": PASSWORD,
                    "role": "officer", "region": "71", "iin": "870412300125",
                }),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid_staff"),
                Some("iin")
            ),
            "{body}"
        );

        let citizen = person(21, "71", 12, "+77010000021");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let (id, _) = app.submitted_application(&token, &citizen, "71-01").await;
        let officer = app.staff_token("officer71iin").await;
        assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);
        let document = approval_document(&app, &officer, &id).await;
        let text = String::from_utf8(document.clone()).unwrap();
        let refused = |creds: kuelik_trust::OfficerCredentials, code: &'static str| {
            let body = json!({ "document": text, "signature": sign(&document, &creds) });
            let (app, officer, id) = (&app, officer.clone(), id.clone());
            async move { approval_refused(app, &officer, &id, body, code).await }
        };
        let signing = [EKU_SIGNING, EKU_ORGANISATION];
        refused(
            nuc_certificate(&app, "900515301234", &signing),
            "certificate_of_another_person",
        )
        .await;
        refused(
            nuc_certificate(&app, iin, &[EKU_AUTHENTICATION, EKU_ORGANISATION]),
            "wrong_key_usage",
        )
        .await;
        let plain = app
            .ca
            .issue_officer(
                "officer71iin",
                KeyAlgorithm::EcdsaP256,
                Validity::days_from(NOW.parse().unwrap(), 30).unwrap(),
            )
            .unwrap();
        refused(plain, "certificate_without_iin").await;
        assert_eq!(state_of(&app, &token, &id).await, "under_review");

        // Their own signing certificate, never uploaded: approved, and production agrees.
        let own = nuc_certificate(&app, iin, &signing);
        let body = json!({ "document": text, "signature": sign(&document, &own) });
        let r = approve_with(&app, &officer, &id, body).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let factory = app.staff_token("factory").await;
        assert_eq!(accept(&app, &factory, &id).await.status(), StatusCode::OK);
        let recorded = checks(&app, &factory, &id).await;
        assert_eq!(recorded[0]["code"], "verified");
    })
    .await;
}

/// Approves a fresh application with the PIN; returns (id, factory token, citizen token).
async fn approved(app: &TestApp, serial: u16) -> (String, String, String) {
    let (id, _, officer, token) = taken(app, serial).await;
    let r = app.approve(&officer, &id).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    (id, app.staff_token("factory").await, token)
}

async fn refused_in_production(app: &TestApp, factory: &str, id: &str, code: &str) {
    let (status, body) = problem(accept(app, factory, id).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
        "{body}"
    );
    let recorded = checks(app, factory, id).await;
    let last = recorded.last().expect("the refusal is recorded");
    assert_eq!(
        (last["verified"].as_bool(), last["code"].as_str()),
        (Some(false), Some(code))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_what_no_longer_matches_the_signature() {
    each_backend(|app| async move {
        staff(&app).await;
        // The register's personal data changed after approval.
        let (id, factory, token) = approved(&app, 21).await;
        let mut changed = person(21, "71", 12, "+77010000021");
        changed.surname = "Changed".into();
        app.add_people(&[changed]).await;
        refused_in_production(&app, &factory, &id, "digest_mismatch").await;
        assert_eq!(state_of(&app, &token, &id).await, "approved");

        // The photo's bytes were replaced in the database.
        let (id, factory, _) = approved(&app, 22).await;
        let photo = app
            .state
            .store
            .application(kuelik_core::lifecycle::ApplicationId(id.parse().unwrap()))
            .await
            .unwrap()
            .unwrap()
            .application
            .photo
            .unwrap();
        let n = app
            .raw(&format!(
                "UPDATE blobs SET bytes = {} WHERE digest = '{photo}'",
                if app.is_sqlite() {
                    "X'FFD8FF00'"
                } else {
                    "'\\xffd8ff00'::bytea"
                }
            ))
            .await;
        assert_eq!(n, 1);
        refused_in_production(&app, &factory, &id, "digest_mismatch").await;

        // The approval's officer swapped (by someone who dropped the append-only trigger).
        let (id, factory, _) = approved(&app, 23).await;
        let other = app.staff_account("factory").await;
        if app.is_sqlite() {
            app.raw("DROP TRIGGER approvals_no_update").await;
            app.raw(&format!(
                "UPDATE approvals SET officer = '{}' WHERE application_id = '{id}'",
                other.id.0
            ))
            .await;
        } else {
            app.raw("ALTER TABLE approvals DISABLE TRIGGER approvals_append_only")
                .await;
            app.raw(&format!(
                "UPDATE approvals SET officer = '{}' WHERE application_id = '{id}'",
                other.id.0
            ))
            .await;
        }
        refused_in_production(&app, &factory, &id, "signer_not_officer_of_region").await;

        // The officer's certificate expired before production.
        let (id, _, _) = approved(&app, 24).await;
        app.clock
            .advance(jiff::SignedDuration::from_hours(24 * 400));
        let factory = app.staff_token("factory").await;
        refused_in_production(&app, &factory, &id, "certificate_expired").await;
        app.clock
            .advance(jiff::SignedDuration::from_hours(-24 * 400));

        // The officer's certificate was revoked (a second instance with the revocation).
        let (id, _, _) = approved(&app, 25).await;
        let serial = app
            .state
            .store
            .officer_credential(app.staff_account("officer71").await.id)
            .await
            .unwrap()
            .map(|c| {
                kuelik_trust::pki::inspect_certificate(&c.certificate)
                    .unwrap()
                    .serial
            })
            .unwrap();
        let mut revoked = kuelik_trust::RevocationList::new();
        revoked.revoke(None, &serial).unwrap();
        let second = TestApp::start_configured(
            app.state.store.clone(),
            None,
            app.db_url.clone(),
            app.ca.clone(),
            app.state.config.secrets.audit_key.clone(),
            revoked,
        )
        .await;
        let factory2 = second.staff_token("factory").await;
        refused_in_production(&second, &factory2, &id, "certificate_revoked").await;
        // The unrevoked instance still verifies and makes it.
        let factory = app.staff_token("factory").await;
        assert_eq!(accept(&app, &factory, &id).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_behind_the_services_back_break_the_audit_log() {
    // Each way of tampering on a fresh service, on both backends.
    for tamper in ["event", "audit", "deleted", "inserted", "checkpoint"] {
        each_backend(|app| async move {
            staff(&app).await;
            let (id, _, _) = approved(&app, 31).await;
            sequence_all(&app).await;
            let intact = verify(&app).await.expect("intact before tampering");
            assert!(intact.entries > 5);
            let lite = app.is_sqlite();
            let unlock = |table: &str| {
                if lite {
                    vec![
                        format!("DROP TRIGGER IF EXISTS {table}_no_update"),
                        format!("DROP TRIGGER IF EXISTS {table}_no_delete"),
                    ]
                } else {
                    vec![format!("ALTER TABLE {table} DISABLE TRIGGER USER")]
                }
            };
            let (sqls, code): (Vec<String>, &str) = match tamper {
                "event" => {
                    let mut s = unlock("events");
                    s.push(format!(
                        "UPDATE events SET actor_role = 'citizen' WHERE application_id = '{id}' AND kind = 'approved'"
                    ));
                    (s, "entry_mismatch")
                }
                "audit" => {
                    let mut s = unlock("audit_entries");
                    s.push("UPDATE audit_entries SET action = 'nothing.happened' WHERE action = 'approval.signed'".into());
                    (s, "entry_mismatch")
                }
                "deleted" => {
                    let mut s = unlock("audit_entries");
                    s.push("DELETE FROM audit_entries WHERE action = 'approval.signed'".into());
                    // The row after it no longer fits its tag (or, were it the last, the
                    // checkpoint counts one entry too many).
                    (s, "deleted")
                }
                "inserted" => {
                    // A row numbered below every batch's reach: never chained, never waiting.
                    let overriding = if lite { "" } else { "OVERRIDING SYSTEM VALUE" };
                    let s = vec![format!(
                        "INSERT INTO audit_entries (pos, id, at, actor_role, actor, action, target, details) {overriding} VALUES (0, '{}', 1, 'system', '{{\"role\":\"system\"}}', 'application.read', NULL, '{{}}')",
                        uuid::Uuid::now_v7()
                    )];
                    (s, "unsequenced_row")
                }
                _ => {
                    // A forged head in the newest checkpoint (its signature no longer fits).
                    let last = app.state.store.last_audit_checkpoint().await.unwrap().unwrap();
                    let mut cp: Value = serde_json::from_str(&last.data).unwrap();
                    let head = cp["head_hash"].as_str().unwrap().to_string();
                    let flipped = if head.starts_with('0') { "1" } else { "0" };
                    cp["head_hash"] = json!(format!("{flipped}{}", &head[1..]));
                    let mut s = unlock("audit_checkpoints");
                    s.push(format!(
                        "UPDATE audit_checkpoints SET data = '{cp}' WHERE seq = {}",
                        last.seq
                    ));
                    (s, "checkpoint")
                }
            };
            for sql in &sqls {
                app.raw(sql).await;
            }
            let broken = verify(&app).await.expect_err("tampering is detected");
            if code == "checkpoint" {
                assert!(
                    ["checkpoint_mismatch", "bad_checkpoint_signature"].contains(&broken.code.as_str()),
                    "{tamper}: {broken:?}"
                );
            } else if code == "deleted" {
                assert!(
                    ["entry_mismatch", "missing_entry"].contains(&broken.code.as_str()),
                    "{tamper}: {broken:?}"
                );
            } else {
                assert_eq!(broken.code, code, "{tamper}: {broken:?}");
            }
            if code != "unsequenced_row" {
                assert!(broken.seq >= 1, "the first bad entry is named: {broken:?}");
            }
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stored_column_of_the_chain_is_checked() {
    // Each column a batch's checkpoint row adds (its tags and how far it reached), edited in
    // turn with its type and length kept, on a fresh service, on both backends: `audit
    // verify` names the entry, or the checkpoint.
    for column in ["tags", "events_to", "audit_to"] {
        each_backend(|app| async move {
            staff(&app).await;
            approved(&app, 32).await;
            sequence_all(&app).await;
            assert!(verify(&app).await.expect("intact before").entries > 5);
            let lite = app.is_sqlite();
            let unlock = if lite {
                vec![
                    "DROP TRIGGER IF EXISTS audit_checkpoints_no_update".to_string(),
                    "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete".to_string(),
                ]
            } else {
                vec!["ALTER TABLE audit_checkpoints DISABLE TRIGGER USER".to_string()]
            };
            // The biggest batch (the service's own sequencer may have cut the history into
            // several), and the entry before it ends.
            let checkpoints = app.state.store.audit_checkpoints(0, 1000).await.unwrap();
            let tags_of = |c: &kuelik_store::StoredCheckpoint| {
                c.batch.as_ref().expect("chained by reach").tags.clone()
            };
            let (k, biggest) = checkpoints
                .iter()
                .enumerate()
                .max_by_key(|(_, c)| tags_of(c).len())
                .expect("a checkpoint");
            let entries = tags_of(biggest).len() / kuelik_store::TAG_LEN;
            assert!(entries >= 2, "{entries} entries");
            let before = if k == 0 { 0 } else { checkpoints[k - 1].seq };
            let named = before + entries as u64 - 1;
            let at = (entries - 2) * kuelik_store::TAG_LEN;
            let mut edited = tags_of(biggest);
            for b in &mut edited[at..at + kuelik_store::TAG_LEN] {
                *b = !*b;
            }
            let edited = kuelik_core::hex::encode(&edited);
            let other = if lite {
                format!("x'{edited}'")
            } else {
                format!("'\\x{edited}'::bytea")
            };
            // A reach past every row, on the newest checkpoint (a reach no row of its batch
            // confirms; on an earlier one the next batch's rows would fall in it).
            let last = checkpoints.last().expect("a checkpoint");
            let edit = match column {
                "tags" => format!(
                    "UPDATE audit_checkpoints SET tags = {other} WHERE seq = {}",
                    biggest.seq
                ),
                _ => format!(
                    "UPDATE audit_checkpoints SET {column} = {column} + 1000 WHERE seq = {}",
                    last.seq
                ),
            };
            for s in unlock.iter().chain([&edit]) {
                app.raw(s).await;
            }
            let broken = verify(&app).await.expect_err("the edit is detected");
            if column == "tags" {
                assert_eq!(broken.code, "entry_mismatch", "{column}: {broken:?}");
                assert_eq!(
                    broken.seq, named,
                    "{column}: the entry is named: {broken:?}"
                );
            } else {
                assert_eq!(
                    broken.code, "checkpoint_row_mismatch",
                    "{column}: {broken:?}"
                );
                assert!(broken.detail.contains(column), "{column}: {broken:?}");
                assert_eq!(broken.seq, last.seq, "{column}: {broken:?}");
            }
        })
        .await;
    }
    for column in ["seq", "at"] {
        each_backend(|app| async move {
            staff(&app).await;
            approved(&app, 33).await;
            sequence_all(&app).await;
            verify(&app).await.expect("intact before");
            let last = app
                .state
                .store
                .last_audit_checkpoint()
                .await
                .unwrap()
                .unwrap();
            let unlock = if app.is_sqlite() {
                vec![
                    "DROP TRIGGER IF EXISTS audit_checkpoints_no_update".to_string(),
                    "DROP TRIGGER IF EXISTS audit_checkpoints_no_delete".to_string(),
                ]
            } else {
                vec!["ALTER TABLE audit_checkpoints DISABLE TRIGGER USER".to_string()]
            };
            let edit = format!(
                "UPDATE audit_checkpoints SET {column} = {column} + 1 WHERE seq = {}",
                last.seq
            );
            for s in unlock.iter().chain([&edit]) {
                app.raw(s).await;
            }
            let broken = verify(&app).await.expect_err("the edit is detected");
            assert_eq!(
                broken.code, "checkpoint_row_mismatch",
                "{column}: {broken:?}"
            );
            assert!(broken.detail.contains(column), "{column}: {broken:?}");
            assert_eq!(broken.seq, last.seq, "{column}: {broken:?}");
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_put_back_to_an_earlier_copy_is_caught_by_the_witness() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let key = app.state.config.secrets.audit_key.public_key();
    // The sequencer keeps the witness after each batch (beside the embedded database here).
    let witness = app
        .state
        .config
        .audit_witness
        .clone()
        .expect("a witness file");
    staff(&app).await;
    approved(&app, 34).await;
    sequence_all(&app).await;
    // A consistent copy of the database as it is now (a backup an attacker could restore).
    let copy = witness.with_file_name("earlier.db");
    app.raw(&format!("VACUUM INTO '{}'", copy.display())).await;
    // More happens; the witness keeps the newest checkpoint.
    approved(&app, 35).await;
    sequence_all(&app).await;
    // (The sequencer writes it just after its commit: wait for that, not longer.)
    let newest = app
        .state
        .store
        .last_audit_checkpoint()
        .await
        .unwrap()
        .unwrap();
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(&witness).unwrap_or_default();
        if text == newest.data {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(text, newest.data, "the witness is the newest checkpoint");
    let held = audit_chain::check_witness(&*app.state.store, &key, &text)
        .await
        .unwrap()
        .expect("the live database holds the witness's checkpoint");
    assert!(held > 0);

    // The earlier copy is intact in itself, and only the witness tells it was put back.
    let earlier = kuelik_store::sqlite::SqliteStore::open(&copy)
        .await
        .unwrap();
    let intact = audit_chain::verify(&earlier, &key).await.unwrap();
    assert!(intact.is_ok(), "{intact:?}");
    let broken = audit_chain::check_witness(&earlier, &key, &text)
        .await
        .unwrap()
        .expect_err("a restored earlier copy is refused");
    assert_eq!(broken.code, "rolled_back", "{broken:?}");
    assert_eq!(broken.seq, held);

    // A witness that is not the server's is not believed.
    let mut forged: Value = serde_json::from_str(&text).unwrap();
    let sig = forged["signature"].as_str().unwrap().to_string();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    forged["signature"] = json!(format!("{flipped}{}", &sig[1..]));
    let broken = audit_chain::check_witness(&*app.state.store, &key, &forged.to_string())
        .await
        .unwrap()
        .expect_err("a witness without the server's signature");
    assert_eq!(broken.code, "witness_signature", "{broken:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_checkpoint_is_published_to_a_witness_elsewhere() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    staff(&app).await;
    approved(&app, 36).await;
    sequence_all(&app).await;
    // A witness: takes checkpoints at a URL and keeps what it is given.
    let got: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let keep = got.clone();
    let witness = axum::Router::new().route(
        "/v1/checkpoints",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/checkpoints", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, witness).await });

    // The sequencer's batch puts the newest checkpoint in the outbox; the worker sends it.
    let backlog = app.state.store.outbox_backlog().await.unwrap();
    audit_chain::publish_witness(&*app.state.store, app.state.clock.now())
        .await
        .unwrap();
    assert_eq!(app.state.store.outbox_backlog().await.unwrap(), backlog + 1);
    let newest = app
        .state
        .store
        .last_audit_checkpoint()
        .await
        .unwrap()
        .unwrap();
    let payload: Value = serde_json::from_str(&newest.data).unwrap();
    audit_chain::send_witness(&url, &payload).await.unwrap();
    assert_eq!(
        got.lock().unwrap().as_slice(),
        std::slice::from_ref(&payload)
    );
    // The witness can check it with the audit public key alone.
    let cp: kuelik_trust::audit::Checkpoint = serde_json::from_value(payload).unwrap();
    assert!(cp.verify_signature(&app.state.config.secrets.audit_key.public_key()));
    // A witness that refuses is an error, so the outbox retries.
    assert!(
        audit_chain::send_witness(&format!("{url}/nowhere"), &json!({}))
            .await
            .is_err()
    );
}

/// Revocation by OCSP over HTTP, of a responder speaking RFC 6960 for the test CA: a
/// certificate the responder says is revoked (no CRL lists it) is refused with
/// `certificate_revoked` and changes nothing; a good one approves; with the responder gone
/// and nothing cached, approval is `503 revocation_status_unknown`; production asks again
/// and refuses, recording why, what was signed by a certificate revoked since; a cached good
/// answer is used until its nextUpdate and not after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_says_which_officer_certificates_are_revoked() {
    use kuelik_server::ocsp::SimulatedResponder;
    let responder_clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let ca = test_ca();
    let (responder, url) = SimulatedResponder::start(ca.clone(), responder_clock.clone())
        .await
        .unwrap();
    let app = TestApp::start_adjusted(Backend::Sqlite, ca, |c| c.ocsp_url = Some(url.clone()))
        .await
        .unwrap();
    staff(&app).await;
    let account = app.staff_account("officer71").await;
    let sign_as = |creds: kuelik_trust::OfficerCredentials, document: Vec<u8>| {
        json!({
            "document": String::from_utf8(document.clone()).unwrap(),
            "signature": sign(&document, &creds),
        })
    };

    // Revoked by OCSP: refused, nothing changes.
    let revoked = app
        .bind_officer(&account, KeyAlgorithm::EcdsaP256, None)
        .await;
    responder.revoke(&revoked.serial);
    let (id, _, officer, token) = taken(&app, 41).await;
    let document = approval_document(&app, &officer, &id).await;
    approval_refused(
        &app,
        &officer,
        &id,
        sign_as(revoked, document),
        "certificate_revoked",
    )
    .await;
    assert_eq!(state_of(&app, &token, &id).await, "under_review");

    // Good: approved (and the answer is cached until its nextUpdate, an hour on).
    let good = app
        .bind_officer(&account, KeyAlgorithm::EcdsaP256, None)
        .await;
    let document = approval_document(&app, &officer, &id).await;
    let r = approve_with(&app, &officer, &id, sign_as(good.clone(), document)).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    // Revoked after signing: production asks again — within the hour the cached "good"
    // holds; after it, the responder's "revoked" is refused and recorded.
    responder.revoke(&good.serial);
    let factory = app.staff_token("factory").await;
    let (id2, _, officer2, _) = taken(&app, 42).await;
    let document = approval_document(&app, &officer2, &id2).await;
    let r = approve_with(&app, &officer2, &id2, sign_as(good.clone(), document)).await;
    assert_eq!(r.status(), StatusCode::OK, "the cached good answer holds");
    let later = jiff::SignedDuration::from_mins(61);
    app.clock.advance(later);
    responder_clock.advance(later);
    refused_in_production(&app, &factory, &id, "certificate_revoked").await;

    // The responder unreachable, nothing cached: 503, nothing changes.
    let app2 = TestApp::start_adjusted(Backend::Sqlite, test_ca(), |c| {
        c.ocsp_url = Some("http://127.0.0.1:9/".into())
    })
    .await
    .unwrap();
    staff(&app2).await;
    let account = app2.staff_account("officer71").await;
    let creds = app2
        .bind_officer(&account, KeyAlgorithm::EcdsaP256, None)
        .await;
    let (id, _, officer, token) = taken(&app2, 43).await;
    let document = approval_document(&app2, &officer, &id).await;
    let (status, body) =
        problem(approve_with(&app2, &officer, &id, sign_as(creds, document)).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("revocation_status_unknown")
        ),
        "{body}"
    );
    assert_eq!(state_of(&app2, &token, &id).await, "under_review");
}

/// A citizen submits with their own ЭЦП instead of a one-time code: the submission document
/// (canonical, of this application, 15 minutes to sign) signed by a signing certificate of
/// their IIN from the trusted chain gives the ticket and an audit entry naming the
/// certificate. Refused, each with its code and changing nothing: another person's
/// certificate, an authentication key, an organisation's certificate, a signature over
/// another document, a stale document, a malformed signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_submits_with_their_own_ecp() {
    use kuelik_trust::profile::{
        EKU_AUTHENTICATION, EKU_INDIVIDUAL, EKU_ORGANISATION, EKU_SIGNING,
    };
    each_backend(|app| async move {
        let citizen = person(51, "71", 12, "+77010000051");
        app.add_people(std::slice::from_ref(&citizen)).await;
        let token = app.citizen_token(&citizen).await;
        let r = app.post(&token, "/applications", json!({})).await;
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Nothing to sign before the application is complete.
        let r = app
            .get(&token, &format!("/applications/{id}/submission-document"))
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        app.complete_all_but_payment(&token, &id, "71-01").await;
        app.pay(&token, &id).await;

        let r = app
            .get(&token, &format!("/applications/{id}/submission-document"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let document = r.bytes().await.unwrap().to_vec();
        let parsed: Value = serde_json::from_slice(&document).unwrap();
        assert_eq!(parsed["format"], "kuelik-submission-v1");
        assert_eq!(parsed["iin"], citizen.iin.to_string());
        let text = String::from_utf8(document.clone()).unwrap();
        let iin = citizen.iin.to_string();
        let submit = |body: Value| {
            let (app, token, id) = (&app, token.clone(), id.clone());
            async move {
                app.post(&token, &format!("/applications/{id}/submit/eds"), body)
                    .await
            }
        };
        let refused =
            |creds: kuelik_trust::OfficerCredentials, document: Vec<u8>, code: &'static str| {
                let body = json!({
                    "document": String::from_utf8(document.clone()).unwrap(),
                    "signature": sign(&document, &creds),
                });
                let submit = &submit;
                async move {
                    let (status, problem) = problem(submit(body).await).await;
                    assert_eq!(
                        (status, problem["code"].as_str()),
                        (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
                        "{problem}"
                    );
                }
            };
        let own = [EKU_SIGNING, EKU_INDIVIDUAL];
        refused(
            nuc_certificate(&app, "900515301234", &own),
            document.clone(),
            "certificate_of_another_person",
        )
        .await;
        refused(
            nuc_certificate(&app, &iin, &[EKU_AUTHENTICATION, EKU_INDIVIDUAL]),
            document.clone(),
            "wrong_key_usage",
        )
        .await;
        refused(
            nuc_certificate(&app, &iin, &[EKU_SIGNING, EKU_ORGANISATION]),
            document.clone(),
            "wrong_key_usage",
        )
        .await;
        let other = text.replace("71-01", "71-02").into_bytes();
        refused(
            nuc_certificate(&app, &iin, &own),
            other,
            "document_mismatch",
        )
        .await;
        let (status, body) =
            problem(submit(json!({ "document": text, "signature": "not base64!" })).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("malformed_signature")
            )
        );
        // Sixteen minutes later the same document is stale.
        app.clock.advance(jiff::SignedDuration::from_mins(16));
        refused(
            nuc_certificate(&app, &iin, &own),
            document.clone(),
            "submission_document_stale",
        )
        .await;
        let view = app
            .get(&token, &format!("/applications/{id}"))
            .await
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(view["state"], "draft", "nothing changed");

        // A fresh document, signed with their own signing certificate: submitted.
        let r = app
            .get(&token, &format!("/applications/{id}/submission-document"))
            .await;
        let document = r.bytes().await.unwrap().to_vec();
        let creds = nuc_certificate(&app, &iin, &own);
        let r = submit(json!({
            "document": String::from_utf8(document.clone()).unwrap(),
            "signature": sign(&document, &creds),
        }))
        .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let view: Value = r.json().await.unwrap();
        assert_eq!(view["state"], "queued");
        assert!(view["ticket"].as_str().is_some_and(|t| t.len() == 11));
        let audit = app.state.store.audit_entries(100).await.unwrap();
        let signed = audit
            .iter()
            .find(|e| e.action == "application.signed_with_eds")
            .expect("the ЭЦП is audited");
        assert_eq!(signed.details["certificate_serial"], creds.serial.as_str());
    })
    .await;
}

/// A signature carrying a time-stamp (RFC 3161) of a TSA the service trusts: the approval
/// records the TSA's time as its signing time and production accepts it; a token over
/// another signature is refused (`invalid_time_stamp`) and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_stamped_approval_is_recorded_at_the_tsas_time() {
    each_backend(|app| async move {
        staff(&app).await;
        let account = app.staff_account("officer71").await;
        let creds = app
            .bind_officer(&account, KeyAlgorithm::EcdsaP256, None)
            .await;
        let tsa = app
            .ca
            .issue_time_stamping_authority(Validity::days_from(NOW.parse().unwrap(), 30).unwrap())
            .unwrap();
        let (id, _, officer, token) = taken(&app, 61).await;
        let document = approval_document(&app, &officer, &id).await;
        let cms = base64::engine::general_purpose::STANDARD
            .decode(sign(&document, &creds))
            .unwrap();
        // Time-stamped a minute after NOW; approved a minute after that.
        let stamped_at: Timestamp = "2025-10-15T07:01:00Z".parse().unwrap();
        app.clock.advance(jiff::SignedDuration::from_mins(2));
        let body = |cms: Vec<u8>| {
            json!({
                "document": String::from_utf8(document.clone()).unwrap(),
                "signature": base64::engine::general_purpose::STANDARD.encode(cms),
            })
        };
        // A token over another signature.
        let other = kuelik_trust::cms::sign_detached(
            b"other",
            &creds.key_pem,
            &creds.cert_pem,
            NOW.parse().unwrap(),
        )
        .unwrap();
        let wrong = tsa
            .token(
                &kuelik_trust::tsp::signature_value(&other).unwrap(),
                stamped_at,
            )
            .unwrap();
        let forged = kuelik_trust::cms::add_time_stamp(&cms, &wrong).unwrap();
        approval_refused(&app, &officer, &id, body(forged), "invalid_time_stamp").await;
        assert_eq!(state_of(&app, &token, &id).await, "under_review");

        let stamp = tsa
            .token(
                &kuelik_trust::tsp::signature_value(&cms).unwrap(),
                stamped_at,
            )
            .unwrap();
        let stamped = kuelik_trust::cms::add_time_stamp(&cms, &stamp).unwrap();
        let r = approve_with(&app, &officer, &id, body(stamped)).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let approval = app
            .state
            .store
            .approval(kuelik_core::lifecycle::ApplicationId(id.parse().unwrap()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(approval.signed_at, stamped_at);
        let factory = app.staff_token("factory").await;
        assert_eq!(accept(&app, &factory, &id).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_listed_before_batches_are_chained_first_and_verified_with_the_rest() {
    // A database from before migration 15: its rows listed one by one for the sequencer.
    // They are chained as they were listed (one `audit_chain` row each), the rows written
    // since by reach after them, and the whole log verifies — an edit to either part named.
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some((store, _dir, url)) = open_store_at(backend).await else {
            continue;
        };
        let key = kuelik_trust::ServerKey::generate();
        let now = jiff::Timestamp::now();
        let entry = |n: u32| {
            kuelik_server::app::audit(
                &kuelik_core::lifecycle::Actor::System,
                now,
                "application.read",
                Some(format!("t{n}")),
                json!({}),
            )
        };
        let write = |entries: Vec<kuelik_store::AuditEntry>| {
            let store = store.clone();
            async move {
                store
                    .commit(kuelik_store::Changes {
                        audit: entries,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
            }
        };
        write(vec![entry(1), entry(2), entry(3)]).await;
        raw_sql(
            &url,
            "INSERT INTO audit_pending (source, source_pos) \
             SELECT 'audit', pos FROM audit_entries ORDER BY pos",
        )
        .await;
        let sequence = || audit_chain::sequence_once(&*store, &key, now);
        assert_eq!(sequence().await.unwrap(), 3, "{backend:?}: the listed rows");
        write(vec![entry(4), entry(5)]).await;
        assert_eq!(sequence().await.unwrap(), 2, "{backend:?}: the rows since");
        assert_eq!(sequence().await.unwrap(), 0, "{backend:?}: nothing left");
        let public = key.public_key();
        let verify = || audit_chain::verify(&*store, &public);
        let intact = verify().await.unwrap().expect("intact");
        assert_eq!(
            (intact.entries, intact.checkpoints, intact.pending),
            (5, 2, 0),
            "{backend:?}"
        );
        let checkpoints = store.audit_checkpoints(0, 10).await.unwrap();
        assert!(checkpoints[0].batch.is_none(), "{backend:?}");
        let batch = checkpoints[1].batch.as_ref().expect("chained by reach");
        assert_eq!(batch.tags.len(), 2 * kuelik_store::TAG_LEN);
        assert_eq!(store.audit_chain(0, 10).await.unwrap().len(), 3);

        let unlock = match backend {
            Backend::Sqlite => "DROP TRIGGER audit_entries_no_update",
            Backend::Postgres => "ALTER TABLE audit_entries DISABLE TRIGGER USER",
        };
        raw_sql(&url, unlock).await;
        for (target, seq) in [("t5", 5), ("t2", 2)] {
            raw_sql(
                &url,
                &format!("UPDATE audit_entries SET action = 'nothing.happened' WHERE target = '{target}'"),
            )
            .await;
            let broken = verify().await.unwrap().expect_err("the edit is found");
            assert_eq!(
                (broken.code.as_str(), broken.seq),
                ("entry_mismatch", seq),
                "{backend:?}: {broken:?}"
            );
        }
    }
}

/// Finished histories archived (issue #19) verify as their rows did — the same entries, the
/// same head — and an archived row edited, removed or copied over another breaks the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_histories_verify_as_their_rows_did() {
    for tamper in ["copied", "removed", "unreadable"] {
        each_backend(|app| async move {
            staff(&app).await;
            let mut annulled = Vec::new();
            for serial in 41..44 {
                let (id, _, officer, citizen) = taken(&app, serial).await;
                let r = app.annul_photo(&officer, &id, "лицо закрыто").await;
                assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
                annulled.push((id, citizen));
            }
            approved(&app, 44).await;
            // Each refund confirmed first: a confirmation written after the chain is read
            // would keep its application from archiving (its last row not chained yet).
            for (id, citizen) in &annulled {
                app.wait_for(citizen, id, |a| a["refund"] == "refunded")
                    .await;
            }
            sequence_all(&app).await;
            let before = verify(&app).await.expect("intact before archiving");
            let (id, citizen) = &annulled[0];
            let status = app.get_json(citizen, &format!("/applications/{id}")).await;
            assert_eq!(status["state"], "annulled");

            // A month and more later every annulled one is quiet: the worker's rounds, a few
            // rows each, move them; the approved one stays as rows.
            let later = app.state.clock.now() + jiff::SignedDuration::from_hours(40 * 24);
            let store = &*app.state.store;
            let done = kuelik_server::history_archive::archive_all(store, later, 7)
                .await
                .unwrap();
            assert_eq!(done.applications, 3, "{done:?}");
            assert!(done.at_end);
            let after = verify(&app).await.expect("intact after archiving");
            assert_eq!(
                (after.entries, &after.head, after.pending),
                (before.entries, &before.head, 0),
                "the same chain, read from the archive"
            );
            assert_eq!(
                app.get_json(citizen, &format!("/applications/{id}")).await,
                status,
                "a status read shows an archived history as it showed its rows"
            );

            let sql = match tamper {
                // One history's row copied over another's: its events twice, the other's none.
                "copied" => "UPDATE archived_histories SET events = (SELECT events FROM \
                             archived_histories ORDER BY first_seq LIMIT 1) WHERE first_seq = \
                             (SELECT MAX(first_seq) FROM archived_histories)"
                    .to_string(),
                "removed" => "DELETE FROM archived_histories WHERE first_seq = (SELECT \
                              MIN(first_seq) FROM archived_histories)"
                    .to_string(),
                _ => {
                    let bytes = if app.is_sqlite() {
                        "X'01ff'"
                    } else {
                        "'\\x01ff'::bytea"
                    };
                    format!(
                        "UPDATE archived_histories SET events = {bytes} WHERE first_seq = \
                         (SELECT MIN(first_seq) FROM archived_histories)"
                    )
                }
            };
            app.raw(&sql).await;
            let broken = verify(&app).await.expect_err("tampering is detected");
            let expected: &[&str] = match tamper {
                "unreadable" => &["archive_unreadable"],
                _ => &["entry_mismatch", "missing_entry"],
            };
            assert!(
                expected.contains(&broken.code.as_str()),
                "{tamper}: {broken:?}"
            );
        })
        .await;
    }
}
