//! What every server story needs: the real server on a free port with a fresh database
//! (SQLite, and PostgreSQL when `KUELIK_TEST_DATABASE_URL` names a server), a real client,
//! people and staff, and the citizen's steps up to submission.
#![allow(dead_code)]

pub use std::sync::Arc;
pub use std::time::Duration;

pub use jiff::civil::Date;
pub use jiff::Timestamp;
pub use reqwest::{Client, Response, StatusCode};
pub use serde_json::{json, Value};

pub use kuelik_core::document::DocumentKind;
pub use kuelik_core::iin::{Iin, Sex};
pub use kuelik_core::lang::Lang;
pub use kuelik_core::lifecycle::{Role, StaffId};
pub use kuelik_core::register::{Person, Phone, RegisteredDocument};
pub use kuelik_core::rules::RuleBook;
pub use kuelik_core::time::add_days;
pub use kuelik_server::auth::hash_password;
pub use kuelik_server::clock::ManualClock;
pub use kuelik_server::{AppState, Config, Secrets};
pub use kuelik_store::{OfficerCredential, StaffAccount, Store};
pub use kuelik_trust::{DemoCa, KeyAlgorithm, TrustStore, Validity};

pub const PSC_RU: &str = "Оформление недоступно, обратитесь в ЦОН";
/// Noon in Almaty on 15 October 2025: inside the pilot, on a working day.
pub const NOW: &str = "2025-10-15T07:00:00Z";
pub const PASSWORD: &str = "correct horse battery";
/// Every test officer's PIN for remote signing.
pub const OFFICER_PIN: &str = "135790";

pub fn today() -> Date {
    jiff::civil::date(2025, 10, 15)
}

/// A tiny real PNG (1×1 white pixel).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0xF8, 0xFF, 0xFF, 0x3F,
    0x00, 0x05, 0xFE, 0x02, 0xFE, 0xA7, 0x35, 0x81, 0x84, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// The media crate's compliant corpus images (a public-domain portrait, a drawn signature).
pub const PORTRAIT: &[u8] = include_bytes!("../../../media/corpus/portrait.jpg");
pub const SIGNATURE: &[u8] = include_bytes!("../../../media/corpus/signature.jpg");
/// A photo with no face (CC0 cat): readable, but fails the check.
pub const CAT: &[u8] = include_bytes!("../../../media/corpus/cat.jpg");

pub fn person(serial: u16, region: &str, days_left: i32, phone: &str) -> Person {
    let iin = Iin::from_parts(jiff::civil::date(1990, 5, 15), Sex::Female, serial)
        .or_else(|| Iin::from_parts(jiff::civil::date(1990, 5, 16), Sex::Female, serial))
        .expect("a valid IIN");
    let last_valid_day = add_days(today(), days_left);
    Person {
        iin,
        surname: "Нурланова".into(),
        given_name: "Айгерим".into(),
        patronymic: Some("Серикқызы".into()),
        phone: Phone::parse(phone).unwrap(),
        language: Lang::Kk,
        region: region.parse().unwrap(),
        address: "Astana, Kenesary st. 4, apt. 1".into(),
        document: RegisteredDocument {
            kind: DocumentKind::IdentityCard,
            number: "041234567".into(),
            issued_on: add_days(last_valid_day, -3652),
            last_valid_day,
        },
    }
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    /// The CA the server trusts; it issues the test officers' certificates.
    pub ca: Arc<DemoCa>,
    /// The database URL (to reach it behind the service's back, as an intruder would).
    pub db_url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    pub _dir: Option<TempDir>,
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub async fn open_store(backend: Backend) -> Option<(Arc<dyn Store>, Option<TempDir>)> {
    open_store_at(backend)
        .await
        .map(|(store, dir, _)| (store, dir))
}

/// [`open_store`] with the database URL.
pub async fn open_store_at(backend: Backend) -> Option<(Arc<dyn Store>, Option<TempDir>, String)> {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("kuelik-journey-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("kuelik.db").display());
            let store = kuelik_store::open(&url).await.unwrap();
            Some((store, Some(TempDir(dir)), url))
        }
        Backend::Postgres => {
            let Ok(url) = std::env::var("KUELIK_TEST_DATABASE_URL") else {
                eprintln!("PostgreSQL story not run: KUELIK_TEST_DATABASE_URL is not set");
                return None;
            };
            let db = create_test_database(&url).await;
            Some((kuelik_store::open(&db).await.unwrap(), None, db))
        }
    }
}

/// Runs `sql` on the database at `db_url` (either backend) behind the store's back; the rows
/// it touched.
pub async fn raw_sql(db_url: &str, sql: &str) -> u64 {
    use sqlx::{Connection, Executor};
    if let Some(path) = db_url.strip_prefix("sqlite://") {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        let done = conn
            .execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        done.rows_affected()
    } else {
        let mut conn = sqlx::PgConnection::connect(db_url).await.unwrap();
        let done = conn
            .execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        done.rows_affected()
    }
}

/// A fresh database on the server `admin_url` names; returns its URL. Test databases are
/// named `kuelik_test_*` (drop them with `scripts/drop-test-databases` if runs are killed).
pub async fn create_test_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at KUELIK_TEST_DATABASE_URL is unreachable: {e}"));
    let name = format!("kuelik_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a URL with a database name");
    format!("{base}/{name}")
}

impl TestApp {
    pub async fn start(backend: Backend) -> Option<TestApp> {
        let (store, dir, url) = open_store_at(backend).await?;
        Some(TestApp::start_with(store, dir, url, test_ca(), audit_key()).await)
    }

    /// A server on an existing store (a second instance shares the first one's database,
    /// its CA and its audit key).
    pub async fn start_on(store: Arc<dyn Store>, dir: Option<TempDir>) -> TestApp {
        TestApp::start_with(store, dir, String::new(), test_ca(), audit_key()).await
    }

    /// A second instance on this one's database, trusting the same CA, with the same key.
    pub async fn another_instance(&self) -> TestApp {
        TestApp::start_with(
            self.state.store.clone(),
            None,
            self.db_url.clone(),
            self.ca.clone(),
            self.state.config.secrets.audit_key.clone(),
        )
        .await
    }

    pub async fn start_with(
        store: Arc<dyn Store>,
        dir: Option<TempDir>,
        db_url: String,
        ca: Arc<DemoCa>,
        audit_key: kuelik_trust::ServerKey,
    ) -> TestApp {
        Self::start_configured(
            store,
            dir,
            db_url,
            ca,
            audit_key,
            kuelik_trust::RevocationList::new(),
        )
        .await
    }

    /// A server on `backend` trusting `ca`, whose configuration `adjust` changes first.
    pub async fn start_adjusted(
        backend: Backend,
        ca: Arc<DemoCa>,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let (store, dir, url) = open_store_at(backend).await?;
        let revoked = kuelik_trust::RevocationList::new();
        Some(Self::start_inner(store, dir, url, ca, audit_key(), revoked, adjust).await)
    }

    /// A server whose trust store also lists `revoked` certificates.
    pub async fn start_configured(
        store: Arc<dyn Store>,
        dir: Option<TempDir>,
        db_url: String,
        ca: Arc<DemoCa>,
        audit_key: kuelik_trust::ServerKey,
        revoked: kuelik_trust::RevocationList,
    ) -> TestApp {
        Self::start_inner(store, dir, db_url, ca, audit_key, revoked, |_| {}).await
    }

    async fn start_inner(
        store: Arc<dyn Store>,
        dir: Option<TempDir>,
        db_url: String,
        ca: Arc<DemoCa>,
        audit_key: kuelik_trust::ServerKey,
        revoked: kuelik_trust::RevocationList,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
        let mut config = Config::new(Secrets {
            otp_key: [7; 32],
            gateway_key: b"gateway test key".to_vec(),
            register_key: b"register test key".to_vec(),
            audit_key,
        });
        config.trust = Some(TrustStore::new(ca.cert_pem(), revoked).unwrap());
        config.demo = true;
        config.max_upload_bytes = 200 * 1024;
        // The audit witness beside an embedded database (as `serve` keeps it in its data dir).
        config.audit_witness = dir.as_ref().map(|d| d.0.join("audit-witness.json"));
        adjust(&mut config);
        let state = kuelik_server::app_state(
            store.clone(),
            clock.clone(),
            RuleBook::builtin().unwrap(),
            config,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            let _ = kuelik_server::serve(serving, listener, async move {
                let _ = stop_rx.await;
            })
            .await;
        });
        let client = Client::builder().build().unwrap();
        let app = TestApp {
            base,
            client,
            state,
            clock,
            ca,
            db_url,
            _stop: stop_tx,
            _dir: dir,
        };
        let health = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn add_people(&self, people: &[Person]) {
        self.state.store.put_people(people).await.unwrap();
    }

    pub async fn add_staff(
        &self,
        username: &str,
        role: Role,
        region: Option<&str>,
        point: Option<&str>,
    ) {
        let account = StaffAccount {
            id: StaffId(uuid::Uuid::now_v7()),
            username: username.into(),
            display_name: username.into(),
            password_hash: hash_password(PASSWORD).unwrap(),
            role,
            region: region.map(|r| r.parse().unwrap()),
            point: point.map(|p| p.parse().unwrap()),
            active: true,
            created_at: Timestamp::now(),
            iin: None,
        };
        self.state.store.add_staff(&account).await.unwrap();
        if role == Role::Officer {
            self.bind_officer(&account, KeyAlgorithm::EcdsaP256, Some(OFFICER_PIN))
                .await;
        }
    }

    /// Issues a certificate for `account` from the test CA, binds it and (with a PIN) seals
    /// its key for remote signing; returns the credentials (for signing on "the device").
    pub async fn bind_officer(
        &self,
        account: &StaffAccount,
        algorithm: KeyAlgorithm,
        pin: Option<&str>,
    ) -> kuelik_trust::OfficerCredentials {
        let validity = Validity::days_from(NOW.parse().unwrap(), 365).unwrap();
        let creds = self
            .ca
            .issue_officer(&account.username, algorithm, validity)
            .unwrap();
        let sealed_key = pin.map(|pin| {
            serde_json::to_string(&kuelik_trust::seal(&creds.key_pem, pin).unwrap()).unwrap()
        });
        self.state
            .store
            .put_officer_credential(&OfficerCredential {
                staff: account.id,
                fingerprint: creds.sha256_fingerprint.clone(),
                certificate: creds.cert_der.clone(),
                sealed_key,
                bound_at: Timestamp::now(),
            })
            .await
            .unwrap();
        creds
    }

    pub async fn staff_account(&self, username: &str) -> StaffAccount {
        self.state
            .store
            .staff_by_username(username)
            .await
            .unwrap()
            .unwrap()
    }

    /// Runs SQL on the database behind the service's back (as someone with file or database
    /// access could); returns the rows affected.
    pub async fn raw(&self, sql: &str) -> u64 {
        raw_sql(&self.db_url, sql).await
    }

    pub fn is_sqlite(&self) -> bool {
        self.db_url.starts_with("sqlite://")
    }

    /// `GET path` answered 200: its JSON.
    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let r = self.get(token, path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.unwrap()
    }

    /// `p` signs in and submits an application collected at `point`: their token, the
    /// application's id and its ticket.
    pub async fn submitted_by(&self, p: &Person, point: &str) -> (String, String, String) {
        let token = self.citizen_token(p).await;
        let (id, ticket) = self.submitted_application(&token, p, point).await;
        (token, id, ticket)
    }

    /// Asks for a sign-in code for `iin` (anonymous).
    pub async fn request_otp(&self, iin: &Iin) -> Response {
        self.client
            .post(self.api("/auth/otp"))
            .json(&json!({ "iin": iin.to_string() }))
            .send()
            .await
            .unwrap()
    }

    /// Annuls the application for a non-compliant photo, with `comment` for the citizen.
    pub async fn annul_photo(&self, token: &str, id: &str, comment: &str) -> Response {
        let body = json!({ "reason": "photo_non_compliant", "comment": comment });
        self.post(token, &format!("/officer/applications/{id}/annul"), body)
            .await
    }

    /// Takes the application for review.
    pub async fn take(&self, token: &str, id: &str) -> Response {
        self.post(
            token,
            &format!("/officer/applications/{id}/take"),
            json!({}),
        )
        .await
    }

    /// Approves with the officer's PIN (remote signing).
    pub async fn approve(&self, token: &str, id: &str) -> Response {
        self.post(
            token,
            &format!("/officer/applications/{id}/approve"),
            json!({ "pin": OFFICER_PIN }),
        )
        .await
    }

    /// Signs a staff member in; returns their bearer token.
    pub async fn staff_token(&self, username: &str) -> String {
        let r = self
            .client
            .post(self.api("/auth/staff-session"))
            .json(&json!({ "username": username, "password": PASSWORD, "mode": "token" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The code last sent by SMS to `phone` (demo inbox), once the outbox delivered it.
    pub async fn code_sent_to(&self, phone: &str) -> String {
        let inbox = self.state.dev_inbox.clone().unwrap();
        for _ in 0..200 {
            if let Some(m) = inbox.last_to(phone) {
                let code: String = m.text.chars().filter(|c| c.is_ascii_digit()).collect();
                if code.len() == 6 {
                    return code;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no code reached {phone}");
    }

    /// The one-time codes sent to `phone` so far, oldest first (code messages are the SMS
    /// signed `kuelik:`).
    pub fn codes_to(&self, phone: &str) -> Vec<String> {
        self.state
            .dev_inbox
            .as_ref()
            .map(|inbox| {
                inbox
                    .messages()
                    .into_iter()
                    .filter(|m| m.to == phone && m.text.starts_with("kuelik:"))
                    .map(|m| m.text.chars().filter(char::is_ascii_digit).collect())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many codes `phone` has received so far.
    pub fn codes_received(&self, phone: &str) -> usize {
        self.codes_to(phone).len()
    }

    /// The first code `phone` receives after it had received `before` codes (so an older
    /// code still in the inbox is never taken for the new one).
    pub async fn code_after(&self, phone: &str, before: usize) -> String {
        for _ in 0..400 {
            if let Some(code) = self.codes_to(phone).into_iter().nth(before) {
                return code;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no new code reached {phone}");
    }

    /// Signs a citizen in with the one-time code; returns their bearer token.
    pub async fn citizen_token(&self, p: &Person) -> String {
        let before = self.codes_received(p.phone.as_str());
        let r = self
            .client
            .post(self.api("/auth/otp"))
            .json(&json!({ "iin": p.iin.to_string() }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let challenge = r.json::<Value>().await.unwrap()["challenge_id"]
            .as_str()
            .unwrap()
            .to_string();
        let code = self.code_after(p.phone.as_str(), before).await;
        let r = self
            .client
            .post(self.api("/auth/session"))
            .json(&json!({ "challenge_id": challenge, "code": code, "mode": "token" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.api(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Response {
        self.client
            .post(self.api(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn choose_point(&self, token: &str, id: &str, point: &str) -> Response {
        let path = format!("/applications/{id}/registration-point");
        let body = json!({ "point": point });
        self.client
            .put(self.api(&path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn upload(&self, token: &str, path: &str, bytes: &[u8]) -> Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("x.png"),
        );
        self.client
            .put(self.api(path))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Waits until `check` holds for the application (workers run asynchronously).
    pub async fn wait_for(&self, token: &str, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..400 {
            last = self
                .get(token, &format!("/applications/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if check(&last) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("condition never held; last: {last}");
    }

    /// Draft → photo, signature, point → paid → submitted (signed with a code). Returns
    /// (application id, ticket).
    pub async fn submitted_application(
        &self,
        token: &str,
        p: &Person,
        point: &str,
    ) -> (String, String) {
        let r = self.post(token, "/applications", json!({})).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        self.prepare_and_submit(token, p, &id, point).await
    }

    /// The staff [`TestApp::ready_for_pickup`] acts as: `officer71`, `factory`, `point7101`.
    pub async fn add_pickup_staff(&self) {
        self.add_staff("officer71", Role::Officer, Some("71"), None)
            .await;
        self.add_staff("factory", Role::ProductionOperator, None, None)
            .await;
        self.add_staff("point7101", Role::PointOperator, None, Some("71-01"))
            .await;
    }

    /// A submitted application taken to `ready_for_pickup` at point 71-01 by the staff
    /// `officer71`, `factory` and `point7101` ([`TestApp::add_pickup_staff`]), the new card
    /// numbered `document_number`.
    pub async fn ready_for_pickup(&self, id: &str, document_number: &str) {
        let officer = self.staff_token("officer71").await;
        let factory = self.staff_token("factory").await;
        let point = self.staff_token("point7101").await;
        for (who, path, body) in [
            (
                &officer,
                format!("/officer/applications/{id}/take"),
                json!({}),
            ),
            (
                &officer,
                format!("/officer/applications/{id}/approve"),
                json!({ "pin": OFFICER_PIN }),
            ),
            (
                &factory,
                format!("/production/applications/{id}/accept"),
                json!({}),
            ),
            (
                &factory,
                format!("/production/applications/{id}/dispatch"),
                json!({ "document_number": document_number }),
            ),
            (
                &point,
                format!("/point/applications/{id}/receive"),
                json!({}),
            ),
        ] {
            let r = self.post(who, &path, body).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
        }
    }

    pub async fn prepare_and_submit(
        &self,
        token: &str,
        p: &Person,
        id: &str,
        point: &str,
    ) -> (String, String) {
        self.complete_all_but_payment(token, id, point).await;
        self.pay(token, id).await;
        let ticket = self.submit(token, p, id).await;
        (id.to_string(), ticket)
    }

    /// Every part of the draft but the payment: the photo, the signature and `point`.
    pub async fn complete_all_but_payment(&self, token: &str, id: &str, point: &str) {
        assert_eq!(
            self.upload(token, &format!("/applications/{id}/photo"), PORTRAIT)
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            self.upload(token, &format!("/applications/{id}/signature"), SIGNATURE)
                .await
                .status(),
            StatusCode::OK
        );
        let r = self.choose_point(token, id, point).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    pub async fn pay(&self, token: &str, id: &str) {
        let r = self
            .post(token, &format!("/applications/{id}/payment"), json!({}))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let started: Value = r.json().await.unwrap();
        assert_eq!(started["payment"]["amount_tiyn"], 78_640, "0.2 МРП of 2025");
        let pay_url = started["pay_url"].as_str().unwrap();
        assert_eq!(
            self.client
                .post(self.url(pay_url))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::ACCEPTED
        );
        self.wait_for(token, id, |a| a["paid"] == true).await;
    }

    pub async fn submit(&self, token: &str, p: &Person, id: &str) -> String {
        let before = self.codes_received(p.phone.as_str());
        let r = self
            .post(token, &format!("/applications/{id}/submit/code"), json!({}))
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let challenge = r.json::<Value>().await.unwrap()["challenge_id"]
            .as_str()
            .unwrap()
            .to_string();
        let code = self.code_after(p.phone.as_str(), before).await;
        let r = self
            .post(
                token,
                &format!("/applications/{id}/submit"),
                json!({ "challenge_id": challenge, "code": code }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let app: Value = r.json().await.unwrap();
        assert_eq!(
            app["state"], "queued",
            "submission routes to the region's queue"
        );
        app["ticket"].as_str().unwrap().to_string()
    }
}

/// A fresh CA per test server (P-256: cheap to make).
pub fn test_ca() -> Arc<DemoCa> {
    Arc::new(DemoCa::generate("kuelik test CA").unwrap())
}

pub fn audit_key() -> kuelik_trust::ServerKey {
    kuelik_trust::ServerKey::generate()
}

pub async fn each_backend<F, Fut>(story: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(app) = TestApp::start(backend).await {
            eprintln!("story on {backend:?}");
            story(app).await;
        }
    }
}

pub async fn problem(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "status {status}");
    (status, r.json().await.unwrap())
}

/// An НУЦ РК-profile certificate from the test CA for `iin` (subject serialNumber `IIN…`,
/// OU `BIN…`) with the extended key usages `eku`.
pub fn nuc_certificate(app: &TestApp, iin: &str, eku: &[&str]) -> kuelik_trust::OfficerCredentials {
    app.ca
        .issue(&kuelik_trust::OfficerRequest {
            common_name: "САДЫКОВА АЙГЕРІМ".into(),
            organizational_unit: None,
            algorithm: KeyAlgorithm::EcdsaP256,
            validity: Validity::days_from(NOW.parse().unwrap(), 365).unwrap(),
            digital_signature: true,
            iin: Some(iin.into()),
            bin: Some("120340005678".into()),
            extended_key_usages: eku.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap()
}
