//! The `kuelik` command as other tools use it: the real binary, its stdout JSON, its exit
//! codes and its one-line errors. (One test file = one test binary: keep them here.)

use std::process::{Command, Output};

use serde_json::Value;

const PSC_RU: &str = "Оформление недоступно, обратитесь в ЦОН";

fn kuelik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kuelik"))
        .args(args)
        .output()
        .expect("the kuelik binary runs")
}

/// Runs with `--json`, checks exit 0 and that stdout is exactly one JSON object.
fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = kuelik(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON value");
    assert!(v.is_object());
    v
}

fn eligibility(expires: &str, at: &str, extra: &[&str]) -> Value {
    let mut args = vec!["eligibility", "--expires", expires, "--at", at];
    args.extend_from_slice(extra);
    json(&args)
}

/// Bad input: exit 2, nothing on stdout, exactly one line on stderr.
fn assert_usage_error(args: &[&str], mentions: &str) {
    let out = kuelik(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(mentions), "{args:?}: {err}");
}

// Noon in Almaty on 15 October 2025 (inside the pilot).
const AT: &str = "2025-10-15T12:00:00+05:00";

#[test]
fn eligibility_boundaries_of_the_expiry_window() {
    // D − T = 31 → too early, with the first date; 30 → eligible.
    let v = eligibility("2025-11-15", AT, &[]);
    assert_eq!(v["eligible"], false);
    assert_eq!(v["code"], "too_early");
    assert_eq!(v["first_eligible_date"], "2025-10-16");
    let v = eligibility("2025-11-14", AT, &[]);
    assert_eq!(v["eligible"], true);
    assert_eq!(v["code"], "eligible");
    assert_eq!(v["first_eligible_date"], Value::Null);
    // D − T = 0 → eligible.
    assert_eq!(eligibility("2025-10-15", AT, &[])["eligible"], true);
    // D − T = −10 → eligible; −11 → the ЦОН message.
    assert_eq!(eligibility("2025-10-05", AT, &[])["eligible"], true);
    let v = eligibility("2025-10-04", AT, &[]);
    assert_eq!(v["eligible"], false);
    assert_eq!(v["code"], "expired_too_long");
    assert_eq!(v["message"]["ru"], PSC_RU);
}

#[test]
fn eligibility_json_has_the_promised_fields() {
    let v = eligibility("2025-11-01", AT, &[]);
    for key in [
        "eligible",
        "code",
        "message",
        "first_eligible_date",
        "rules_version",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for lang in ["kk", "ru", "en"] {
        assert!(
            v["message"][lang].as_str().is_some_and(|s| !s.is_empty()),
            "message.{lang}"
        );
    }
    assert_eq!(v["rules_version"], "pilot-2025");
    assert_eq!(v["today"], "2025-10-15");
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(5));
}

#[test]
fn today_is_the_almaty_date_not_utc() {
    // Card valid through 9 January 2026. 18:59 UTC on 9 December is still 9 December in
    // Almaty (31 days left: too early); 19:00 UTC is 10 December (30 days: eligible).
    assert_eq!(
        eligibility("2026-01-09", "2025-12-09T18:59:59Z", &[])["code"],
        "too_early"
    );
    let v = eligibility("2026-01-09", "2025-12-09T19:00:00Z", &[]);
    assert_eq!(v["code"], "eligible");
    assert_eq!(v["today"], "2025-12-10");
}

#[test]
fn other_reasons_and_documents_get_the_psc_message() {
    for reason in ["name-change", "loss", "damage", "other"] {
        let v = eligibility("2025-10-20", AT, &["--reason", reason]);
        assert_eq!(v["eligible"], false, "{reason}");
        assert_eq!(v["code"], "reason_not_served");
        assert_eq!(v["message"]["ru"], PSC_RU);
    }
    let v = eligibility("2025-10-20", AT, &["--document", "passport"]);
    assert_eq!(v["code"], "document_not_served");
    assert_eq!(v["message"]["ru"], PSC_RU);
}

#[test]
fn the_pilot_period_and_the_continuation() {
    assert_eq!(
        eligibility("2025-06-10", "2025-05-27T18:59:59Z", &[])["code"],
        "service_not_active"
    );
    assert_eq!(
        eligibility("2025-06-10", "2025-05-27T19:00:00Z", &[])["code"],
        "eligible"
    );
    assert_eq!(
        eligibility("2026-04-10", "2026-03-31T18:59:59Z", &[])["code"],
        "eligible"
    );
    let v = eligibility("2026-04-10", "2026-03-31T19:00:00Z", &[]);
    assert_eq!(v["code"], "service_not_active");
    assert_eq!(v["eligible"], false);
    let v = eligibility(
        "2026-04-10",
        "2026-03-31T19:00:00Z",
        &["--rules", "continuation"],
    );
    assert_eq!(v["code"], "eligible");
    assert_eq!(v["rules_version"], "continuation");
    assert_eq!(v["rules_assumption"], true);
}

#[test]
fn rules_can_come_from_a_file() {
    let dir = std::env::temp_dir().join(format!("kuelik-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wide.toml");
    std::fs::write(
        &file,
        r#"
version = "wide-window"
title = { kk = "сынақ", ru = "тест", en = "test: a 60-day window" }
effective_from = 2025-01-01
document_kinds = ["identity-card", "passport"]
reasons = ["expiring"]
window_days_before_expiry = 60
window_days_after_expiry = 10
processing_working_days = 15
[duty_mrp]
identity-card = "0.2"
passport = "8"
"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let v = eligibility(
        "2025-12-10",
        AT,
        &["--rules", path, "--document", "passport"],
    );
    assert_eq!(v["code"], "eligible");
    assert_eq!(v["rules_version"], "wide-window");

    std::fs::write(&file, "version = \"x\"\n").unwrap();
    assert_usage_error(
        &["eligibility", "--expires", "2025-12-10", "--rules", path],
        "missing field",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_eligibility_input_is_a_one_line_usage_error() {
    assert_usage_error(&["eligibility", "--expires", "2025-02-30"], "2025-02-30");
    assert_usage_error(&["eligibility", "--expires", "tomorrow"], "YYYY-MM-DD");
    assert_usage_error(
        &[
            "eligibility",
            "--expires",
            "2025-10-01",
            "--reason",
            "wedding",
        ],
        "wedding",
    );
    assert_usage_error(
        &[
            "eligibility",
            "--expires",
            "2025-10-01",
            "--document",
            "visa",
        ],
        "visa",
    );
    assert_usage_error(
        &[
            "eligibility",
            "--expires",
            "2025-10-01",
            "--at",
            "2025-10-15",
        ],
        "RFC 3339",
    );
    assert_usage_error(
        &[
            "eligibility",
            "--expires",
            "2025-10-01",
            "--rules",
            "no-such-set",
        ],
        "no-such-set",
    );
    assert_usage_error(&["eligibility"], "--expires");
    assert_usage_error(
        &["eligibility", "--expires", "2025-10-01", "--colour"],
        "--colour",
    );
}

#[test]
fn text_output_speaks_the_chosen_language() {
    let out = kuelik(&[
        "eligibility",
        "--expires",
        "2025-10-01",
        "--at",
        AT,
        "--reason",
        "loss",
        "--lang",
        "ru",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(PSC_RU));
}

#[test]
fn iin_exit_codes_and_json() {
    let v = json(&["iin", "900515301234"]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["birth_date"], "1990-05-15");
    assert_eq!(v["sex"], "male");

    let out = kuelik(&["iin", "900515301235", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["code"], "check_digit_mismatch");
    assert!(v["message"]["kk"].as_str().is_some_and(|s| !s.is_empty()));

    let out = kuelik(&["iin", "9005153012"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("12 digits"));

    assert_usage_error(&["iin"], "NUMBER");
}

#[test]
fn tickets_are_drawn_and_checked() {
    let a = json(&["ticket", "new"]);
    let b = json(&["ticket", "new"]);
    let a = a["ticket"].as_str().unwrap().to_string();
    assert_ne!(
        a,
        b["ticket"].as_str().unwrap(),
        "two draws gave the same ticket"
    );
    assert_eq!(a.len(), 11);

    let v = json(&["ticket", "check", &a.to_lowercase()]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["ticket"], a.as_str());

    // Swap two neighbours that differ: caught, exit 1, with the reason.
    let mut chars: Vec<char> = a.replace('-', "").chars().collect();
    let i = (0..chars.len() - 1)
        .find(|&i| chars[i] != chars[i + 1])
        .unwrap();
    chars.swap(i, i + 1);
    let swapped: String = chars.into_iter().collect();
    let out = kuelik(&["ticket", "check", &swapped]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("check symbol"));
}

#[test]
fn fees_in_tiyn_and_tenge() {
    let v = json(&["fee", "--document", "identity-card", "--on", "2025-06-01"]);
    assert_eq!(v["amount_tiyn"], 78_640);
    assert_eq!(v["amount_tenge"], "786.40");
    assert_eq!(v["mrp_year"], 2025);
    let v = json(&["fee", "--document", "identity-card", "--on", "2026-06-01"]);
    assert_eq!(v["amount_tiyn"], 86_500);
    assert_eq!(v["amount_tenge"], "865.00");
    let v = json(&["fee", "--document", "passport", "--on", "2026-06-01"]);
    assert_eq!(v["amount_tiyn"], 8 * 4_325 * 100);
    assert_usage_error(&["fee", "--on", "2031-01-01"], "2031");
    assert_usage_error(&["fee", "--on", "01.06.2025"], "YYYY-MM-DD");
}

#[test]
fn reference_data_is_listed() {
    let out = kuelik(&["points", "--region", "75", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let out = kuelik(&["rules", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let enabled: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["enabled"] == true)
        .map(|s| s["rule_set"]["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(enabled, vec!["pilot-2025"]);
}

#[test]
fn the_documented_configuration_checks_and_a_wrong_key_is_named() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/kuelik.example.toml"
    );
    let out = kuelik(&["config", "check", example]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("listen = \"127.0.0.1:8080\""), "{shown}");

    let dir = std::env::temp_dir().join(format!("kuelik-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "listen = \"127.0.0.1:8080\"\nlisten_port = 9\n").unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "listen_port");
    std::fs::write(&bad, "rules_enabled = [\"pilot-2099\"]\n").unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "pilot-2099");
    std::fs::write(&bad, "otp_key = \"abc\"\n").unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "otp_key");
    // Images: an encryption key of the wrong length, an object store of no known kind.
    std::fs::write(&bad, format!("blob_key = \"{}\"\n", "ab".repeat(16))).unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "32 bytes");
    // The officer certificate profile: a BIN is 12 digits, key usages are OIDs.
    std::fs::write(&bad, "officer_certificate_bin = \"12345\"\n").unwrap();
    assert_usage_error(
        &["config", "check", bad.to_str().unwrap()],
        "officer_certificate_",
    );
    std::fs::write(&bad, "officer_certificate_key_usages = [\"signing\"]\n").unwrap();
    assert_usage_error(
        &["config", "check", bad.to_str().unwrap()],
        "officer_certificate_",
    );
    // NCALayer is reached over a WebSocket.
    std::fs::write(&bad, "ncalayer_url = \"https://127.0.0.1:13579\"\n").unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "ncalayer_url");
    std::fs::write(
        &bad,
        "ncalayer_url = \"wss://127.0.0.1:13579;script-src\"\n",
    )
    .unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "ncalayer_url");
    std::fs::write(&bad, "ocsp_url = \"ocsp.pki.gov.kz\"\n").unwrap();
    assert_usage_error(&["config", "check", bad.to_str().unwrap()], "ocsp_url");
    // KUELIK_PG_POOL belongs to the PostgreSQL store, not to the configuration.
    let out = Command::new(env!("CARGO_BIN_EXE_kuelik"))
        .args(["config", "check", example])
        .env("KUELIK_PG_POOL", "8")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&bad, "blob_store_url = \"ftp://x\"\n").unwrap();
    assert_usage_error(
        &["config", "check", bad.to_str().unwrap()],
        "blob_store_url",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn photo_and_signature_checks_exit_by_verdict() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../media/corpus/");
    let v = json(&["photo", "check", &format!("{corpus}portrait.jpg")]);
    assert_eq!(v["verdict"], "pass");
    assert!(v["measures"].as_array().is_some_and(|m| m.len() > 10));
    let out = kuelik(&["photo", "check", &format!("{corpus}cat.jpg"), "--json"]);
    assert_eq!(out.status.code(), Some(1), "no face: fail");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    let v = json(&["signature", "check", &format!("{corpus}signature.jpg")]);
    assert_eq!(v["verdict"], "pass");
    // Not an image at all: exit 2, one line naming the code.
    assert_usage_error(
        &["photo", "check", &format!("{corpus}manifest.toml")],
        "unsupported_format",
    );
    assert_usage_error(&["photo", "check", "/no/such/file.jpg"], "file.jpg");
}

#[test]
fn a_demo_ca_signs_and_verification_catches_a_changed_document() {
    let dir = std::env::temp_dir().join(format!("kuelik-pki-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = |p: &str| dir.join(p).to_str().unwrap().to_string();
    let out = kuelik(&["pki", "demo-ca", "--out", &d("ca")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(d("doc.json"), br#"{"decision":"approve"}"#).unwrap();
    for officer in ["officer71", "officer75"] {
        let key = d(&format!("ca/officers/{officer}.key.pem"));
        let cert = d(&format!("ca/officers/{officer}.pem"));
        let out = kuelik(&[
            "sign",
            "--key",
            &key,
            "--cert",
            &cert,
            &d("doc.json"),
            "--out",
            &d("doc.p7s"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let verify = |doc: &str| {
            kuelik(&[
                "pki",
                "verify",
                "--anchors",
                &d("ca/ca.pem"),
                "--signature",
                &d("doc.p7s"),
                doc,
            ])
        };
        assert_eq!(verify(&d("doc.json")).status.code(), Some(0), "{officer}");
        std::fs::write(d("other.json"), br#"{"decision":"annul"}"#).unwrap();
        let refused = verify(&d("other.json"));
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stdout).contains("digest_mismatch"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn backup_and_restore_keep_everything_and_refuse_bad_files() {
    let dir = std::env::temp_dir().join(format!("kuelik-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = |p: &str| dir.join(p).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kuelik"))
            .args(args)
            .env("KUELIK_STAFF_PASSWORD", "a long enough passphrase")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let a = d("a");
    run(&[
        "staff",
        "add",
        "--data-dir",
        &a,
        "--username",
        "officer71",
        "--name",
        "O",
        "--role",
        "officer",
        "--region",
        "71",
    ]);
    // The account was written with its audit entry (the command line acts as the service).
    let audited = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection;
            let url = format!("sqlite://{}/kuelik.db?mode=ro", a);
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, String>(
                "SELECT details FROM audit_entries WHERE action = 'staff.add'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap()
        });
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert!(audited[0].contains("kuelik staff add"), "{audited:?}");
    // An officer bound to a person by IIN; a mistyped IIN is refused on its flag, in words.
    run(&[
        "staff",
        "add",
        "--data-dir",
        &a,
        "--username",
        "officer71n",
        "--name",
        "N",
        "--role",
        "officer",
        "--region",
        "71",
        "--iin",
        "870412300129",
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_kuelik"))
        .args([
            "staff",
            "add",
            "--data-dir",
            &a,
            "--username",
            "officer71m",
            "--name",
            "M",
            "--role",
            "officer",
            "--region",
            "71",
            "--iin",
            "870412300125",
        ])
        .env("KUELIK_STAFF_PASSWORD", "a long enough passphrase")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--iin: An IIN has 12 digits") && stderr.contains("(iin)"),
        "{stderr}"
    );
    run(&[
        "register",
        "generate",
        "--data-dir",
        &a,
        "--citizens",
        "200",
    ]);
    run(&["backup", "--data-dir", &a, "--out", &d("backup.db")]);
    // A backup never overwrites, and a restore refuses what is not a kuelik database.
    assert_usage_error(
        &["backup", "--data-dir", &a, "--out", &d("backup.db")],
        "already exists",
    );
    std::fs::write(d("junk.db"), b"not a database").unwrap();
    assert_usage_error(
        &["restore", "--data-dir", &d("b"), "--from", &d("junk.db")],
        "not restored",
    );
    assert!(
        !dir.join("b/kuelik.db").exists(),
        "a refused restore changes nothing"
    );

    run(&["restore", "--data-dir", &d("b"), "--from", &d("backup.db")]);
    let listed = run(&["staff", "list", "--data-dir", &d("b")]);
    assert!(listed.contains("officer71"), "{listed}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `kuelik audit verify` on a real service's data: intact after the demo ran (exit 0), and
/// after one event row was edited with the append-only trigger dropped, exit 1 naming the
/// entry; `kuelik audit export` writes the log for an auditor.
#[test]
fn audit_verify_catches_an_edited_event_and_export_writes_the_log() {
    let dir = std::env::temp_dir().join(format!("kuelik-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_str().unwrap().to_string();
    let mut server = Command::new(env!("CARGO_BIN_EXE_kuelik"))
        .args([
            "serve",
            "--demo",
            "--data-dir",
            &data,
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The demo's events are chained by the sequencer within a second of the start.
    let mut report = Value::Null;
    for _ in 0..120 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let out = kuelik(&["audit", "verify", "--data-dir", &data, "--json"]);
        if out.status.code() == Some(0) {
            report = serde_json::from_slice(&out.stdout).unwrap();
            if report["log"]["entries"].as_u64() > Some(20) && report["log"]["pending"] == 0 {
                break;
            }
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(report["intact"], true, "{report}");
    // The service kept the newest checkpoint outside the database, and the database holds it.
    assert!(dir.join("audit-witness.json").exists());
    assert!(report["witness_checkpoint"].as_u64() > Some(0), "{report}");

    let export = dir.join("audit.jsonl");
    let out = kuelik(&[
        "audit",
        "export",
        "--data-dir",
        &data,
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["format"], "kuelik-audit-export-v1");
    assert_eq!(lines.last().unwrap()["result"], "intact");
    assert!(lines.iter().any(|l| l.get("checkpoint").is_some()));

    let db = format!("sqlite://{}", dir.join("kuelik.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
        conn.execute("DROP TRIGGER events_no_update").await.unwrap();
        conn.execute("UPDATE events SET at = at + 1 WHERE seq = 3")
            .await
            .unwrap();
    });
    let out = kuelik(&["audit", "verify", "--data-dir", &data]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("BROKEN at entry"), "{stdout}");
    assert!(
        stdout.contains("entry_mismatch") && stdout.contains("event row 3"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The test NCALayer refuses, in one line, a key file it cannot open: a wrong password, a
/// file that is no PKCS#12, a file that is not there.
#[test]
fn the_test_ncalayer_says_which_key_file_it_cannot_open() {
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let dir = std::env::temp_dir().join(format!("kuelik-ncalayer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = kuelik_trust::DemoCa::generate("cli test CA").unwrap();
    let now = jiff::Timestamp::now();
    let creds = ca
        .issue_officer(
            "officer",
            kuelik_trust::KeyAlgorithm::EcdsaP256,
            kuelik_trust::Validity::days_from(now, 30).unwrap(),
        )
        .unwrap();
    let p12 = dir.join("officer.p12");
    let bytes = kuelik_trust::pkcs12::write(&creds.key_pem, &[&creds.cert_der], "officer", "right")
        .unwrap();
    std::fs::write(&p12, bytes).unwrap();
    let junk = dir.join("junk.p12");
    std::fs::write(&junk, b"not a key file").unwrap();
    let key = p12.to_str().unwrap();
    let listen = ["--listen", "127.0.0.1:0", "--answer", "sign"];
    let run = |key: &str, password: &str| {
        let mut args = vec!["ncalayer", "--key", key, "--password", password];
        args.extend(listen);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let wrong = run(key, "wrong");
    assert_usage_error(&as_refs(&wrong), "--password does not open");
    let garbage = run(junk.to_str().unwrap(), "right");
    assert_usage_error(&as_refs(&garbage), "PKCS#12");
    let missing = run("/nonexistent/officer.p12", "right");
    assert_usage_error(&as_refs(&missing), "--key /nonexistent/officer.p12");
    let _ = std::fs::remove_dir_all(&dir);
}
