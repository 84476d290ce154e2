//! The web portal over HTTP, without a browser (the browser suite is `scripts/browser-test`):
//! the language of every page, the CSRF defence of every form, the security headers, and a
//! citizen getting from sign-in to a draft through the pages alone.

mod common;
use common::*;

/// A browser's cookie jar, kept by hand: the portal's cookies are `Secure`, which a client
/// library would not send back over the test's plain `http://127.0.0.1`.
struct Browser {
    cookies: Vec<(String, String)>,
    /// Does not follow redirects: the tests look at each 303 themselves.
    client: Client,
}

impl Default for Browser {
    fn default() -> Browser {
        Browser {
            cookies: Vec::new(),
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Response) {
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    async fn get(&mut self, app: &TestApp, path: &str, lang: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(app.url(path))
            .header("accept-language", lang)
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    /// Posts a form; answers (status, Location, body).
    async fn post(
        &mut self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let r = self
            .client
            .post(app.url(path))
            .header("cookie", self.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (status, location, r.text().await.unwrap())
    }
}

/// The CSRF token a page's forms carry.
fn token(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    html[at..at + 64].to_string()
}

fn html_lang(html: &str) -> &str {
    let at = html.find("<html lang=\"").unwrap() + 12;
    &html[at..at + 2]
}

async fn app_with_citizen() -> (TestApp, Person) {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let p = person(611, "71", 12, "+77015556611");
    app.add_people(std::slice::from_ref(&p)).await;
    (app, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_language_asked_for_and_remember_a_choice() {
    let (app, _) = app_with_citizen().await;
    for (accept, lang, heading) in [
        ("kk-KZ,kk;q=0.9", "kk", "Жеке куәлікті"),
        ("ru", "ru", "Замените удостоверение"),
        ("en-GB,en;q=0.8", "en", "Renew your identity card"),
        // Nothing supported: Russian, the language every citizen is served in.
        ("de", "ru", "Замените удостоверение"),
    ] {
        let mut b = Browser::default();
        let (status, html) = b.get(&app, "/", accept).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(html_lang(&html), lang, "{accept}");
        assert!(html.contains(heading), "{accept}: {heading}");
        assert!(!html.contains('⟦'), "{accept}: an untranslated key");
    }
    // A choice made with the switch wins over Accept-Language from then on.
    let mut b = Browser::default();
    let (_, html) = b.get(&app, "/?lang=en", "kk").await;
    assert_eq!(html_lang(&html), "en");
    let (_, html) = b.get(&app, "/sign-in", "kk").await;
    assert_eq!(html_lang(&html), "en", "the choice is remembered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_token_is_refused_and_changes_nothing() {
    let (app, p) = app_with_citizen().await;
    let phone = p.phone.as_str().to_string();
    let iin = p.iin.to_string();
    let mut b = Browser::default();
    let (_, html) = b.get(&app, "/sign-in", "ru").await;
    let good = token(&html);

    // No token, a wrong token, another browser's token: refused, no code sent.
    let (status, _, body) = b.post(&app, "/sign-in", &[("iin", &iin)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("Срок действия формы истёк"),
        "says what happened"
    );
    let (status, _, _) = b
        .post(
            &app,
            "/sign-in",
            &[("iin", &iin), ("csrf", &"0".repeat(64))],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut other = Browser::default();
    let (status, _, _) = other
        .post(&app, "/sign-in", &[("iin", &iin), ("csrf", &good)])
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a token is bound to its browser"
    );
    // A cross-site post, even with a stolen token.
    let r = app
        .client
        .post(app.url("/sign-in"))
        .header("cookie", b.header())
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("iin", iin.as_str()), ("csrf", &good)]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.codes_received(&phone), 0, "no code was sent");

    // The same form from the page: a code is sent.
    let (status, _, html) = b
        .post(&app, "/sign-in", &[("iin", &iin), ("csrf", &good)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"challenge\""), "the code form");
    app.code_after(&phone, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_signs_in_and_starts_an_application_through_the_pages() {
    let (app, p) = app_with_citizen().await;
    let phone = p.phone.as_str().to_string();
    let mut b = Browser::default();
    let (_, html) = b.get(&app, "/sign-in", "kk").await;
    let csrf = token(&html);

    // A malformed IIN: the form again with the error linked to the field.
    let (status, _, html) = b
        .post(&app, "/sign-in", &[("iin", "12345"), ("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("href=\"#iin\""),
        "error summary links to the field"
    );
    assert!(html.contains("aria-invalid=\"true\""));

    let (_, _, html) = b
        .post(
            &app,
            "/sign-in",
            &[("iin", &p.iin.to_string()), ("csrf", &csrf)],
        )
        .await;
    let at = html.find("name=\"challenge\" value=\"").unwrap() + 24;
    let challenge = html[at..at + 36].to_string();
    let code = app.code_after(&phone, 0).await;
    let (status, location, _) = b
        .post(
            &app,
            "/sign-in/code",
            &[("challenge", &challenge), ("code", &code), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/my"));
    assert!(
        b.cookies.iter().any(|(k, _)| k == "kuelik_session"),
        "signed in"
    );

    let (status, html) = b.get(&app, "/my", "kk").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&p.given_name), "greets by name");
    let (status, location, _) = b.post(&app, "/my/applications", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let path = location.unwrap();
    let (status, html) = b.get(&app, &path, "kk").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&p.iin.to_string()),
        "pre-filled from the register"
    );
    assert!(!html.contains('⟦'));

    // A forged withdrawal (no token) changes nothing; the page's own form works.
    let (status, _, _) = b.post(&app, &format!("{path}/withdraw"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, html) = b.get(&app, &path, "en").await;
    assert!(
        html.contains("Draft") || html.contains("draft"),
        "still a draft"
    );
    // The first press asks (nothing changes yet); the confirmation withdraws.
    let (status, _, html) = b
        .post(&app, &format!("{path}/withdraw"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"confirm\" value=\"yes\""),
        "asks to confirm"
    );
    let (_, still) = b.get(&app, &path, "en").await;
    assert!(
        !still.contains("state-withdrawn"),
        "not withdrawn before confirming"
    );
    let (status, _, _) = b
        .post(
            &app,
            &format!("{path}/withdraw"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = b.get(&app, &path, "en").await;
    assert!(html.contains("state-withdrawn"), "withdrawn");

    // Someone else's (or no such) application: a page that says so, not an error dump.
    let (status, html) = b
        .get(
            &app,
            "/my/applications/00000000-0000-0000-0000-000000000000",
            "en",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(html_lang(&html), "en");
    let (status, _) = b.get(&app, "/my/applications/not-a-uuid", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_allow_no_script_or_style_from_elsewhere() {
    let (app, _) = app_with_citizen().await;
    for path in ["/", "/sign-in", "/staff/sign-in"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let csp = r
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(csp.contains("form-action 'self'") && csp.contains("frame-ancestors 'none'"));
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path}: no inline script");
        assert!(!html.contains(" style=\""), "{path}: no inline style");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path}: no outside assets"
        );
    }
    // Signed out, a citizen page sends the browser to sign in.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/my"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/sign-in");
}

/// The administrator's stuck-work and report pages: in every language with nothing
/// untranslated, charts as SVG with a table beside them and no inline style, a retry
/// through the form (its token checked), and a bad date as a field error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sees_stuck_work_and_reports_and_retries_a_message() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    app.add_staff("admin", Role::Administrator, None, None)
        .await;
    let now = app.state.clock.now();
    let stuck = kuelik_store::OutboxMessage {
        id: uuid::Uuid::now_v7(),
        topic: "sms".into(),
        payload: json!({ "to": "+77010000001", "text": "hello" }),
        created_at: now,
        attempts: 6,
        next_attempt_at: now
            .checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap(),
        delivered_at: None,
        last_error: Some("<b>refused</b>".into()),
    };
    app.state
        .store
        .commit(kuelik_store::Changes {
            outbox: vec![stuck.clone()],
            ..Default::default()
        })
        .await
        .unwrap();

    let mut b = Browser::default();
    let (_, html) = b.get(&app, "/staff/sign-in", "en").await;
    let csrf = token(&html);
    let (status, location, _) = b
        .post(
            &app,
            "/staff/sign-in",
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/staff/admin"));

    for lang in ["kk", "ru", "en"] {
        for path in ["/staff/admin/stuck", "/staff/admin/reports"] {
            let (status, html) = b.get(&app, &format!("{path}?lang={lang}"), lang).await;
            assert_eq!(status, StatusCode::OK, "{path} {lang}");
            assert_eq!(html_lang(&html), lang);
            assert!(!html.contains('⟦'), "{path} {lang}: an untranslated key");
            // minijinja escapes the slashes of a value.
            assert!(
                html.contains("href=\"&#x2f;staff&#x2f;admin&#x2f;stuck\""),
                "in the navigation"
            );
            assert!(html.contains("href=\"&#x2f;staff&#x2f;admin&#x2f;reports\""));
            assert!(!html.contains("style="), "{path}: no inline style (CSP)");
        }
    }
    let (_, html) = b.get(&app, "/staff/admin/reports", "en").await;
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""));
    assert!(html.contains("<table class=\"list\">"));
    assert!(html.contains("Applications submitted per day"));

    let (_, html) = b.get(&app, "/staff/admin/stuck", "en").await;
    assert!(
        html.contains("&lt;b&gt;refused&lt;"),
        "the error text is escaped"
    );
    assert!(!html.contains("<b>refused"));
    assert!(!html.contains("hello"), "never the message text");
    let retry = format!("/staff/admin/stuck/outbox/{}/retry", stuck.id);
    assert!(html.contains(&retry));
    let (status, _, _) = b.post(&app, &retry, &[("csrf", "forged")]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a forged form changes nothing"
    );
    let (status, location, _) = b.post(&app, &retry, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/staff/admin/stuck?done=outbox-retried")
    );
    let audit = app.state.store.audit_entries(50).await.unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "outbox.retry").count(),
        1
    );

    let (status, html) = b
        .get(
            &app,
            "/staff/admin/reports?lang=ru&from=2025-02-30&to=2025-10-15",
            "ru",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("href=\"#from\""),
        "the error links to its field"
    );
    assert!(html.contains("ГГГГ-ММ-ДД"));
}

/// Signs `p` in through the pages; the browser then holds the session.
async fn signed_in(app: &TestApp, p: &Person) -> Browser {
    let phone = p.phone.as_str().to_string();
    let mut b = Browser::default();
    let (_, html) = b.get(app, "/sign-in", "ru").await;
    let csrf = token(&html);
    let before = app.codes_received(&phone);
    let (_, _, html) = b
        .post(
            app,
            "/sign-in",
            &[("iin", &p.iin.to_string()), ("csrf", &csrf)],
        )
        .await;
    let at = html.find("name=\"challenge\" value=\"").unwrap() + 24;
    let challenge = html[at..at + 36].to_string();
    let code = app.code_after(&phone, before).await;
    let (status, _, _) = b
        .post(
            app,
            "/sign-in/code",
            &[("challenge", &challenge), ("code", &code), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_who_cannot_apply_online_is_told_why_and_when() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    // Too early: the card is valid for 90 more days (the window opens 30 days before).
    let early = person(612, "71", 90, "+77015556612");
    // Expired 40 days ago: only a public service centre can help.
    let late = person(613, "71", -40, "+77015556613");
    app.add_people(&[early.clone(), late.clone()]).await;

    let mut b = signed_in(&app, &early).await;
    let (status, html) = b.get(&app, "/my", "ru").await;
    assert_eq!(status, StatusCode::OK);
    let opens = kuelik_core::format::date(Lang::Ru, add_days(today(), 60));
    assert!(html.contains(&opens), "says from which date: {opens}");
    assert!(
        !html.contains("action=\"/my/applications\""),
        "no way to start an application yet"
    );

    let mut b = signed_in(&app, &late).await;
    let (_, html) = b.get(&app, "/my", "ru").await;
    assert!(html.contains(PSC_RU), "the ЦОН message");
    assert!(!html.contains("action=\"/my/applications\""));
    // Starting one anyway (a crafted post) is refused by the API, with the same message.
    let (_, page) = b.get(&app, "/", "ru").await;
    let (status, _, html) = b
        .post(&app, "/my/applications", &[("csrf", &token(&page))])
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(html.contains(PSC_RU) || html.contains("ЦОН"), "says why");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_set_is_listed_with_the_one_in_force() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let sets: Value = app
        .client
        .get(app.api("/reference/rule-sets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sets = sets.as_array().unwrap();
    let versions: Vec<&str> = sets
        .iter()
        .map(|s| s["version"].as_str().unwrap())
        .collect();
    assert!(versions.contains(&"pilot-2025") && versions.contains(&"continuation"));
    let in_force: Vec<&str> = sets
        .iter()
        .filter(|s| s["in_force"] == true)
        .map(|s| s["version"].as_str().unwrap())
        .collect();
    // 15 October 2025 is inside the pilot; the continuation is an assumption, off by default.
    assert_eq!(in_force, ["pilot-2025"]);
    let continuation = sets
        .iter()
        .find(|s| s["version"] == "continuation")
        .unwrap();
    assert_eq!(continuation["enabled"], false);
    assert_eq!(continuation["assumption"], true);
}

async fn staff_signed_in(app: &TestApp, username: &str) -> (Browser, String) {
    let mut b = Browser::default();
    let (_, html) = b.get(app, "/staff/sign-in", "en").await;
    let csrf = token(&html);
    let (status, _, _) = b
        .post(
            app,
            "/staff/sign-in",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    (b, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_activates_a_rule_set_from_the_admin_page() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    app.add_staff("admin", Role::Administrator, None, None)
        .await;
    let (mut b, csrf) = staff_signed_in(&app, "admin").await;
    let (status, html) = b.get(&app, "/staff/admin", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("action=\"/staff/admin/rule-sets\""));
    // The rule sets' titles are in the page's language.
    for (lang, title) in [
        ("kk", "бірлескен бұйрық"),
        ("ru", "совместный приказ"),
        ("en", "joint order"),
    ] {
        let (_, html) = b
            .get(&app, &format!("/staff/admin?lang={lang}"), lang)
            .await;
        assert!(html.contains(title), "{lang}");
    }
    assert!(
        html.contains("<option value=\"continuation\""),
        "a set not in force can be chosen"
    );

    // A past date, a made-up version, a form without its token: refused on the field (or
    // forbidden), nothing written.
    for (fields, field, expected) in [
        (
            vec![("version", "continuation"), ("from", "2025-01-01")],
            "activate-from",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("version", "../staff"), ("from", "2025-12-01")],
            "activate-version",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![("version", "pilot-2099"), ("from", "2025-12-01")],
            "activate-version",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let mut with_token = fields.clone();
        with_token.push(("csrf", &csrf));
        let (status, _, html) = b.post(&app, "/staff/admin/rule-sets", &with_token).await;
        assert_eq!(status, expected, "{fields:?}");
        assert!(html.contains(&format!("href=\"#{field}\"")), "{fields:?}");
        assert!(!html.contains('⟦'));
    }
    let (status, _, _) = b
        .post(
            &app,
            "/staff/admin/rule-sets",
            &[("version", "continuation"), ("from", "2025-12-01")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(app.state.store.rule_activations().await.unwrap().is_empty());

    let (status, location, _) = b
        .post(
            &app,
            "/staff/admin/rule-sets",
            &[
                ("version", "continuation"),
                ("from", "2025-12-01"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some("/staff/admin?done=rule-set-activated")
    );
    let activations = app.state.store.rule_activations().await.unwrap();
    assert_eq!(activations.len(), 1);
    assert_eq!(activations[0].version, "continuation");
    for lang in ["kk", "ru", "en"] {
        let (_, html) = b
            .get(
                &app,
                &format!("/staff/admin?done=rule-set-activated&lang={lang}"),
                lang,
            )
            .await;
        assert!(!html.contains('⟦'), "{lang}");
        assert!(
            html.contains("role=\"status\""),
            "{lang}: the notice says it is done"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_chooses_the_phone_and_language_of_notices_on_the_application_page() {
    let (app, p) = app_with_citizen().await;
    let mut b = signed_in(&app, &p).await;
    let (_, html) = b.get(&app, "/my", "en").await;
    let csrf = token(&html);
    let (_, location, _) = b.post(&app, "/my/applications", &[("csrf", &csrf)]).await;
    let path = location.unwrap();
    let (_, html) = b.get(&app, &path, "en").await;
    assert!(html.contains("id=\"contact-phone\""));
    assert!(html.contains(&p.phone.masked()), "says where codes go");

    let (status, _, html) = b
        .post(
            &app,
            &format!("{path}/contact"),
            &[("phone", "701-12"), ("language", "kk"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#contact-phone\""));
    assert!(html.contains("value=\"701-12\""), "the number as typed");
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(app.state.store.contact_details(&p.iin).await.unwrap(), None);

    let (status, location, _) = b
        .post(
            &app,
            &format!("{path}/contact"),
            &[
                ("phone", "+7 701 999 88 77"),
                ("language", "kk"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let (_, html) = b.get(&app, &path, "ru").await;
    assert!(html.contains("value=\"+77019998877\""));
    assert!(html.contains("<option value=\"kk\" lang=\"kk\" selected>"));
    let saved = app
        .state
        .store
        .contact_details(&p.iin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.language, Some(kuelik_core::lang::Lang::Kk));
}

/// The desk records what became of the old card and prints which card is no longer valid;
/// the citizen's page lists both documents; anyone can check a number on the public page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_records_the_old_card_and_everyone_sees_it_is_no_longer_valid() {
    let (app, p) = app_with_citizen().await;
    let old_number = p.document.number.clone();
    app.add_pickup_staff().await;
    let citizen_token = app.citizen_token(&p).await;
    let (id, ticket) = app.submitted_application(&citizen_token, &p, "71-01").await;
    app.ready_for_pickup(&id, "061234567").await;

    let (mut desk, csrf) = staff_signed_in(&app, "point7101").await;
    let (status, html) = desk
        .get(&app, &format!("/staff/point/ticket?number={ticket}"), "en")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"old_card\" value=\"surrendered\""));
    assert!(html.contains("name=\"old_card\" value=\"not_presented\""));
    assert!(html.contains(&format!("card № {old_number} stops being valid")));

    // Without the old card recorded: refused on the field, the identity check kept.
    let hand_over = format!("/staff/point/tickets/{ticket}/hand-over");
    let (status, _, html) = desk
        .post(
            &app,
            &hand_over,
            &[("identity_checked", "on"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#old_card-surrendered\""));
    assert!(
        html.contains("value=\"on\" checked"),
        "the identity check is kept"
    );
    assert_eq!(
        app.state.store.documents_of(&p.iin).await.unwrap(),
        vec![],
        "nothing changed"
    );

    let (status, location, _) = desk
        .post(
            &app,
            &hand_over,
            &[
                ("identity_checked", "on"),
                ("old_card", "surrendered"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let receipt = location.unwrap();
    assert_eq!(receipt, format!("/staff/point/tickets/{ticket}/receipt"));
    for (lang, words) in [
        ("en", "is no longer valid"),
        ("ru", "больше не действителен"),
        ("kk", "енді жарамсыз"),
    ] {
        let (status, html) = desk
            .get(&app, &format!("{receipt}?lang={lang}"), lang)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(html_lang(&html), lang);
        assert!(!html.contains('⟦'), "{lang}");
        assert!(
            html.contains("061234567") && html.contains(&old_number),
            "{lang}"
        );
        assert!(html.contains(words), "{lang}");
    }

    // The citizen's page lists both documents with their status.
    let mut citizen = signed_in(&app, &p).await;
    let (_, html) = citizen.get(&app, "/my?lang=en", "en").await;
    assert!(html.contains("Your documents"));
    assert!(html.contains("class=\"document-list\""));
    assert!(html.contains("061234567"));
    assert!(html.contains(&old_number));
    assert!(html.contains("invalid: replaced by a new document"));

    // The public check, in every language; a bad number is refused on its field.
    for lang in ["kk", "ru", "en"] {
        let mut anyone = Browser::default();
        let (status, html) = anyone
            .get(&app, &format!("/documents/validity?lang={lang}"), lang)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains('⟦'), "{lang}");
        let csrf = token(&html);
        let (status, _, html) = anyone
            .post(
                &app,
                "/documents/validity",
                &[
                    ("kind", "identity-card"),
                    ("number", &old_number),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"validity-result\""), "{lang}");
        assert!(!html.contains(&p.surname), "{lang}: no personal data");
        let (status, _, html) = anyone
            .post(
                &app,
                "/documents/validity",
                &[("kind", "identity-card"), ("number", "12"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("href=\"#number\""), "{lang}");
    }
    let mut anyone = Browser::default();
    let (_, html) = anyone.get(&app, "/documents/validity?lang=en", "en").await;
    let csrf = token(&html);
    let (_, _, html) = anyone
        .post(
            &app,
            "/documents/validity",
            &[
                ("kind", "identity-card"),
                ("number", &old_number),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert!(html.contains("Not valid") && html.contains("replaced by a new document"));
    let (_, _, html) = anyone
        .post(
            &app,
            "/documents/validity",
            &[
                ("kind", "identity-card"),
                ("number", "061234567"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert!(html.contains("<h2>Valid</h2>"), "{html}");
}

/// An annulled application's page leads with what happened and what to do — why, the
/// refund, applying again — and shows no ticket panel (there is nothing to collect), in every
/// language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annulled_application_leads_with_why_and_shows_no_ticket() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let citizen = person(614, "71", 5, "+77015556614");
    app.add_people(std::slice::from_ref(&citizen)).await;
    app.add_staff("officer71", Role::Officer, Some("71"), None)
        .await;
    let (_, id, ticket) = app.submitted_by(&citizen, "71-01").await;
    let officer = app.staff_token("officer71").await;
    assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);
    let r = app.annul_photo(&officer, &id, "Лицо в тени.").await;
    assert_eq!(r.status(), StatusCode::OK);

    let mut b = signed_in(&app, &citizen).await;
    for (lang, annulled) in [
        ("ru", "Заявка аннулирована"),
        ("kk", "Өтініштің күші жойылды"),
        ("en", "This application was annulled"),
    ] {
        let (status, html) = b.get(&app, &format!("/my/applications/{id}"), lang).await;
        assert_eq!(status, StatusCode::OK);
        let lead = html
            .find("id=\"state-lead\"")
            .expect("the page leads with the state");
        assert!(
            html[lead..].contains(annulled),
            "{lang}: says it is annulled"
        );
        assert!(
            html.contains("Лицо в тени."),
            "{lang}: the officer's comment"
        );
        assert!(!html.contains("ticket-panel"), "{lang}: no ticket panel");
        assert!(
            !html.contains(&ticket),
            "{lang}: no ticket number to collect with"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_money_and_the_bank_page_speak_the_page_language() {
    let (app, p) = app_with_citizen().await;
    let token = app.citizen_token(&p).await;
    let r = app.post(&token, "/applications", json!({})).await;
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b = signed_in(&app, &p).await;
    let path = format!("/my/applications/{id}");
    // Before anything is done: the duty, and the points by name and address, each in the
    // page's language (0.2 MCI of 2025 is 786.40 tenge).
    for (lang, duty, address) in [
        ("kk", "786,40\u{a0}₸", "Астана қ., Кенесары көшесі, 4"),
        ("ru", "786,40\u{a0}₸", "г. Астана, ул. Кенесары, 4"),
        ("en", "₸786.40", "Astana, Kenesary st. 4"),
    ] {
        let (status, html) = b.get(&app, &path, lang).await;
        assert_eq!(status, StatusCode::OK);
        let at = html.find("id=\"duty-amount\"").expect("the duty is shown");
        let line = html[at..].lines().next().unwrap_or("");
        assert!(line.contains(duty), "{lang}: {line}");
        assert!(html.contains(address), "{lang}: the point's address");
        assert!(!html.contains('⟦'), "{lang}");
    }

    // The bank's page: styled, in the payer's language, the amount written their way.
    app.complete_all_but_payment(&token, &id, "71-01").await;
    let r = app
        .post(&token, &format!("/applications/{id}/payment"), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let pay_url = r.json::<Value>().await.unwrap()["pay_url"]
        .as_str()
        .unwrap()
        .to_string();
    for (lang, words, amount) in [
        ("kk", "Төлем", "786,40\u{a0}₸"),
        ("ru", "Оплата", "786,40\u{a0}₸"),
        ("en", "Payment", "₸786.40"),
    ] {
        let page = app
            .client
            .get(app.url(&format!("{pay_url}?lang={lang}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{html}");
        assert!(html.contains(&format!("<h1>{words}</h1>")), "{lang}");
        assert!(html.contains(amount), "{lang}");
        assert!(html.contains("<style>"), "the bank's page has its look");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_refusals_are_in_the_page_language_on_their_field() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    app.add_staff("admin", Role::Administrator, None, None)
        .await;
    let (mut b, csrf) = staff_signed_in(&app, "admin").await;
    let before = app.state.store.list_staff().await.unwrap().len();
    let form = |password: &'static str, role: &'static str, region: &'static str| {
        vec![
            ("username", "new.officer"),
            ("display_name", "Айгерим Н."),
            ("password", password),
            ("role", role),
            ("region", region),
            ("point", ""),
        ]
    };
    for (lang, fields, field, text) in [
        (
            "ru",
            form("short", "officer", "71"),
            "password",
            "Пароль должен содержать не менее 12 символов",
        ),
        (
            "kk",
            form("long-enough-pass", "officer", ""),
            "region",
            "КҚБ қызметкері бір өңірде жұмыс істейді",
        ),
        (
            "en",
            form("long-enough-pass", "officer", "99"),
            "region",
            "Choose a region from the list",
        ),
    ] {
        let (_, _) = b
            .get(&app, &format!("/staff/admin?lang={lang}"), lang)
            .await;
        let mut with_token = fields.clone();
        with_token.push(("csrf", &csrf));
        let (status, _, html) = b.post(&app, "/staff/admin/staff", &with_token).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{lang}: on its field"
        );
        assert!(html.contains(text), "{lang}: {text}");
        assert!(
            html.contains("value=\"new.officer\""),
            "{lang}: what was typed stays"
        );
    }
    assert_eq!(app.state.store.list_staff().await.unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_sees_every_measure_with_its_value_and_the_applications_sharing_the_photo() {
    let (app, p) = app_with_citizen().await;
    let other = person(612, "71", 12, "+77015556612");
    app.add_people(std::slice::from_ref(&other)).await;
    app.add_staff("officer71", Role::Officer, Some("71"), None)
        .await;
    let (_, first, first_ticket) = app.submitted_by(&p, "71-01").await;
    let token = app.citizen_token(&other).await;
    let (second, _) = app.submitted_application(&token, &other, "71-02").await;
    // The register has the photo of the second applicant's current document only.
    app.state
        .store
        .commit(kuelik_store::Changes {
            register_photos: vec![kuelik_store::RegisterPhoto {
                iin: other.iin,
                document_number: other.document.number.clone(),
                content_type: "image/jpeg".into(),
                bytes: PORTRAIT.to_vec(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let (mut b, _) = staff_signed_in(&app, "officer71").await;
    let (_, html) = b
        .get(&app, &format!("/staff/officer/applications/{first}"), "en")
        .await;
    assert!(
        html.contains("id=\"no-register-photo\""),
        "says the register has none"
    );
    for lang in ["kk", "ru", "en"] {
        let (status, html) = b
            .get(
                &app,
                &format!("/staff/officer/applications/{second}?lang={lang}"),
                lang,
            )
            .await;
        let src = format!("/api/v1/officer/applications/{second}/register-photo");
        assert!(
            html.contains(&src),
            "{lang}: the register's photo beside the uploaded one"
        );
        assert!(
            html.contains(&other.document.number),
            "{lang}: of which document"
        );
        assert_eq!(status, StatusCode::OK, "{lang}");
        assert!(!html.contains('⟦'), "{lang}: every measure has its name");
        // Every measure, passing or not, with its value written the language's way.
        for measure in ["face_count", "head_height_ratio", "sharpness"] {
            let at = html
                .find(&format!("id=\"photo-measure-{measure}\""))
                .unwrap_or_else(|| panic!("{lang}: {measure} is listed"));
            let row = &html[at..at + html[at..].find("</tr>").unwrap()];
            assert!(row.contains("data-label"), "{row}");
        }
        let at = html.find("id=\"photo-measure-head_height_ratio\"").unwrap();
        let row = &html[at..at + html[at..].find("</tr>").unwrap()];
        let decimal = if lang == "en" { "0." } else { "0," };
        assert!(row.contains(decimal), "{lang}: {row}");
        assert!(
            html.contains("id=\"signature-measure-"),
            "{lang}: the signature's too"
        );
        // The other application with the same photo, by its ticket, one click away.
        assert!(
            html.contains(&format!("href=\"/staff/officer/applications/{first}\"")),
            "{lang}"
        );
        assert!(html.contains(&first_ticket), "{lang}");
        // Staff read the parts by name, not by the citizen's step numbers.
        assert!(!html.contains(">3. ") && !html.contains(">5. "), "{lang}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_pages_names_people_and_finds_by_ticket_iin_and_staff() {
    let (app, p) = app_with_citizen().await;
    app.add_staff("admin", Role::Administrator, None, None)
        .await;
    app.add_staff("officer71", Role::Officer, Some("71"), None)
        .await;
    let (_, id, ticket) = app.submitted_by(&p, "71-01").await;
    let officer = app.staff_token("officer71").await;
    assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);
    // Enough reads to need more than one page.
    for _ in 0..55 {
        let r = app
            .get(&officer, &format!("/officer/applications/{id}"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (mut b, _) = staff_signed_in(&app, "admin").await;
    let officer_name = app.staff_account("officer71").await.display_name;

    let (status, html) = b.get(&app, "/staff/admin/audit?lang=ru", "ru").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html.matches("<tr><td data-label").count(),
        50,
        "a page of fifty"
    );
    assert!(
        html.contains("Заявка просмотрена"),
        "actions in the page's language"
    );
    assert!(!html.contains(">application."), "no raw action codes");
    assert!(html.contains(&officer_name), "the officer by name");
    assert!(html.contains(&ticket), "the application by its ticket");
    // The next page continues where this one ended, and the last one has no "older" link.
    let at = html.find("id=\"audit-older\"").expect("an older page");
    let href_at = html[..at].rfind("href=\"").unwrap() + 6;
    let href = html[href_at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let (status, older) = b.get(&app, &href, "ru").await;
    assert_eq!(status, StatusCode::OK);
    let rows = older.matches("<tr><td data-label").count();
    assert!(rows > 0 && rows <= 50, "{rows}");
    assert!(
        older.contains("Новейшие записи"),
        "a way back to the newest"
    );

    // Found by ticket, by IIN, by username and by part of the name; nothing for a stranger.
    let name_part = officer_name.split_whitespace().next().unwrap().to_string();
    for q in [
        ticket.clone(),
        p.iin.to_string(),
        "officer71".into(),
        name_part,
    ] {
        let path = format!("/staff/admin/audit?q={}", urlencoding(&q));
        let (status, html) = b.get(&app, &path, "en").await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert!(html.contains("id=\"audit-entries\""), "{q}: found");
    }
    let (_, html) = b
        .get(&app, "/staff/admin/audit?q=nobody-at-all", "en")
        .await;
    assert!(html.contains("id=\"audit-none\""));
    assert!(!html.contains("id=\"audit-entries\""));
    // A made-up page cursor is refused, not a server error.
    let (status, _) = b.get(&app, "/staff/admin/audit?before=oops", "en").await;
    assert!(status.is_client_error(), "{status}");
}

fn urlencoding(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)]).unwrap()[2..].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_session_ends_signing_in_brings_the_citizen_back_to_their_page() {
    let (app, p) = app_with_citizen().await;
    let api_token = app.citizen_token(&p).await;
    let r = app.post(&api_token, "/applications", json!({})).await;
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut b = signed_in(&app, &p).await;
    let page = format!("/my/applications/{id}");
    let (_, html) = b.get(&app, &page, "en").await;
    let csrf = token(&html);

    // The session ends (an hour without a request) while the photo is being chosen.
    app.clock.advance(jiff::SignedDuration::from_hours(2));
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(PORTRAIT.to_vec()).file_name("me.jpg"),
        );
    let r = b
        .client
        .post(app.url(&format!("{page}/photo")))
        .header("cookie", b.header())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to_sign_in = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to_sign_in.starts_with("/sign-in?next="), "{to_sign_in}");
    // A GET of the page itself also asks to sign in again, and comes back to it.
    let (status, _) = b.get(&app, &page, "en").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Signing in again (the page says why), the citizen lands on the application, asked
    // to choose the photo again.
    let (_, html) = b.get(&app, &to_sign_in, "en").await;
    assert!(html.contains("id=\"session-ended\""));
    assert!(html.contains("name=\"next\""));
    let phone = p.phone.as_str().to_string();
    let before = app.codes_received(&phone);
    let next = serde_urlencoded::from_str::<Vec<(String, String)>>(&to_sign_in[9..]).unwrap()[0]
        .1
        .clone();
    let (_, _, html) = b
        .post(
            &app,
            "/sign-in",
            &[
                ("iin", &p.iin.to_string()),
                ("next", &next),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert!(html.contains("name=\"next\""), "kept through the code step");
    let at = html.find("name=\"challenge\" value=\"").unwrap() + 24;
    let challenge = html[at..at + 36].to_string();
    let code = app.code_after(&phone, before).await;
    let (status, location, _) = b
        .post(
            &app,
            "/sign-in/code",
            &[
                ("challenge", &challenge),
                ("code", &code),
                ("next", &next),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location.as_deref(),
        Some(format!("{page}?again=photo#step-photo").as_str())
    );
    let (status, html) = b.get(&app, &format!("{page}?again=photo"), "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"photo-again\""),
        "asked to choose the photo again"
    );

    // A query that does not parse is a page all the same, not an error.
    let (status, _) = b.get(&app, "/sign-in?next=/my&next=/my", "en").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b.get(&app, &format!("{page}?again=a&again=b"), "en").await;
    assert_eq!(status, StatusCode::OK);

    // Never somewhere else: another site or a path outside the citizen's pages.
    for bad in ["https://evil.example/", "//evil.example/my", "/staff/admin"] {
        let (_, html) = b
            .get(&app, &format!("/sign-in?next={}", urlencoding(bad)), "en")
            .await;
        assert!(!html.contains("name=\"next\""), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_document_says_where_and_when_to_collect_it() {
    let (app, p) = app_with_citizen().await;
    app.add_pickup_staff().await;
    let (_, id, _) = app.submitted_by(&p, "71-01").await;
    app.ready_for_pickup(&id, "061234567").await;
    let mut b = signed_in(&app, &p).await;
    for (lang, point, address, hours) in [
        (
            "kk",
            "Астана қаласы ПД КҚБ тіркеу пункті №1",
            "Астана қ., Кенесары көшесі, 4",
            "Дс–Жм 09:00–18:00",
        ),
        (
            "ru",
            "город Астана №1",
            "г. Астана, ул. Кенесары, 4",
            "Пн–Пт 09:00–18:00",
        ),
        (
            "en",
            "Astana city migration service registration point 1",
            "Astana, Kenesary st. 4",
            "Mon–Fri 09:00–18:00",
        ),
    ] {
        let (status, html) = b
            .get(&app, &format!("/my/applications/{id}?lang={lang}"), lang)
            .await;
        assert_eq!(status, StatusCode::OK);
        let at = html.find("id=\"state-lead\"").expect("a lead");
        let lead = &html[at..at + html[at..].find("</div>").unwrap()];
        for words in [point, address, hours] {
            assert!(lead.contains(words), "{lang}: {words} in {lead}");
        }
    }
}

/// With PIN signing switched off, the officer's review page offers only "Sign with EDS"
/// (NCALayer, whose address the page's CSP lets it reach); a PIN is refused by the page and
/// by the API (`pin_signing_off`), changing nothing; the document and the CMS NCALayer made
/// (here: signed with a certificate of the officer's IIN the service never saw), posted by
/// the page's form, approve the application.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_signs_with_their_ecp_from_the_review_page_when_pins_are_off() {
    use base64::Engine as _;
    use kuelik_trust::profile::{EKU_ORGANISATION, EKU_SIGNING};
    let app = TestApp::start_adjusted(Backend::Sqlite, test_ca(), |config| {
        config.pin_signing = false;
        config.ncalayer_url = "wss://127.0.0.1:13579".into();
    })
    .await
    .unwrap();
    app.add_staff("admin", Role::Administrator, None, None)
        .await;
    let admin = app.staff_token("admin").await;
    let iin = "870412300129";
    let r = app
        .post(
            &admin,
            "/admin/staff",
            json!({ "username": "officer71", "display_name": "Садыкова Айгерім",
                    "password": PASSWORD, "role": "officer", "region": "71", "iin": iin }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let p = person(613, "71", 12, "+77015556613");
    app.add_people(std::slice::from_ref(&p)).await;
    let (_, id, _) = app.submitted_by(&p, "71-01").await;
    let officer = app.staff_token("officer71").await;
    assert_eq!(app.take(&officer, &id).await.status(), StatusCode::OK);

    let (mut b, _) = staff_signed_in(&app, "officer71").await;
    let page = format!("/staff/officer/applications/{id}");
    let r = b
        .client
        .get(app.url(&page))
        .header("cookie", b.header())
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("connect-src 'self' wss://127.0.0.1:13579"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("data-ncalayer-sign") && html.contains("id=\"ecp-sign\""));
    assert!(
        !html.contains("id=\"pin\""),
        "no PIN field when PIN signing is off"
    );
    let csrf = token(&html);

    // A PIN posted anyway: refused on the page, and by the API.
    let (status, _, html) = b
        .post(
            &app,
            &format!("{page}/approve"),
            &[("csrf", &csrf), ("pin", "246810")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("href=\"#ecp-sign\""),
        "the error leads to the EDS button"
    );
    assert!(
        html.contains("aria-describedby=\"ecp-hint ecp-error\""),
        "the EDS box shows the refusal (not hidden, described by it)"
    );
    let r = app
        .post(
            &officer,
            &format!("/officer/applications/{id}/approve"),
            json!({ "pin": "246810" }),
        )
        .await;
    let (status, body) = problem(r).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("pin_signing_off"))
    );

    // What NCALayer returns for the document the page fetched: approved.
    let document = app
        .get(
            &officer,
            &format!("/officer/applications/{id}/approval-document"),
        )
        .await
        .text()
        .await
        .unwrap();
    let own = nuc_certificate(&app, iin, &[EKU_SIGNING, EKU_ORGANISATION]);
    let cms = kuelik_trust::cms::sign_detached(
        document.as_bytes(),
        &own.key_pem,
        &own.cert_pem,
        NOW.parse().unwrap(),
    )
    .unwrap();
    let signature = base64::engine::general_purpose::STANDARD.encode(cms);
    let (status, location, _) = b
        .post(
            &app,
            &format!("{page}/approve"),
            &[
                ("csrf", &csrf),
                ("document", &document),
                ("signature", &signature),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/staff/officer?done=approved"));
    let view = app
        .get(&officer, &format!("/officer/applications/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(view["state"], "approved");
}
