//! `kuelik pki …` and `kuelik sign`: the demo certificate authority, client-side signing of
//! approval documents, and checking a signature the way production does.
//!
//! Exit codes follow the binary's contract: 0 done / verified, 1 the signature checked is
//! refused (its reason code is printed), 2 bad input.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use kuelik_trust::cms;
use kuelik_trust::pki::{self, DemoCa, OfficerCredentials, RevocationList, TrustStore, Validity};
use kuelik_trust::{KeyAlgorithm, TrustError};

use crate::UsageError;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create a demo CA with officer certificates and keys (ECDSA P-256 and RSA-2048), a
    /// revoked demo officer, its revoked-serials list and CRL.
    DemoCa(DemoCaArgs),
    /// Check a detached signature over a document as production does (exit 1 if refused).
    Verify(VerifyArgs),
    /// Describe a certificate: subject, serial, validity, SHA-256 fingerprint.
    Show {
        /// The certificate, PEM or DER.
        #[arg(value_name = "CERT")]
        cert: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct DemoCaArgs {
    /// Folder to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of officers, named officer01, officer02, …; they alternate ECDSA P-256 and
    /// RSA-2048. Without it (and without --officer): officer71 (ECDSA) and officer75 (RSA),
    /// the demo's staff accounts.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub officers: Option<u32>,
    /// An officer by staff username (repeatable); algorithms alternate as for --officers.
    #[arg(long = "officer", value_name = "USERNAME", conflicts_with = "officers")]
    pub names: Vec<String>,
    /// Days the officer certificates stay valid, from now.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Replace a CA already in DIR.
    #[arg(long)]
    pub force: bool,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SignArgs {
    /// The officer's private key, PEM (PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    /// The officer's certificate, PEM.
    #[arg(long, value_name = "CERT.pem")]
    pub cert: PathBuf,
    /// The document to sign, byte for byte (the approval document as the API returns it).
    #[arg(value_name = "DOC")]
    pub doc: PathBuf,
    /// Where to write the signature (default: DOC.p7s, or DOC.p7s.pem with --pem; `-` for
    /// standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write PEM (`-----BEGIN CMS-----`) instead of DER.
    #[arg(long)]
    pub pem: bool,
    /// The signing time to state, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339-INSTANT")]
    pub signing_time: Option<Timestamp>,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Trust anchors: CA certificates, PEM.
    #[arg(long, value_name = "CA.pem")]
    pub anchors: PathBuf,
    /// A revoked-serials list or a CRL (PEM or DER); repeatable.
    #[arg(long = "revoked", value_name = "FILE")]
    pub revoked: Vec<PathBuf>,
    /// The detached signature (DER or PEM).
    #[arg(long, value_name = "SIG")]
    pub signature: PathBuf,
    /// The signed document.
    #[arg(value_name = "DOC")]
    pub doc: PathBuf,
    /// Verify as of this instant, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339-INSTANT")]
    pub at: Option<Timestamp>,
    #[arg(long)]
    pub json: bool,
}

pub fn pki(command: PkiCommand) -> Result<ExitCode, UsageError> {
    match command {
        PkiCommand::DemoCa(args) => demo_ca(args),
        PkiCommand::Verify(args) => verify(args),
        PkiCommand::Show { cert, json } => show(&cert, json),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, UsageError> {
    std::fs::read(path).map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))
}

fn read_text(path: &Path) -> Result<String, UsageError> {
    String::from_utf8(read(path)?)
        .map_err(|_| UsageError(format!("{} is not text (PEM expected)", path.display())))
}

fn trust_error(what: &str, e: TrustError) -> UsageError {
    UsageError(format!("{what}: {e} ({})", e.code()))
}

/// Writes `bytes` to `path`; `secret` files are readable by their owner only.
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), UsageError> {
    let fail = |e: std::io::Error| UsageError(format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}

fn demo_ca(args: DemoCaArgs) -> Result<ExitCode, UsageError> {
    let ca_path = args.out.join("ca.pem");
    if ca_path.exists() && !args.force {
        return Err(UsageError(format!(
            "{} exists: a new CA would invalidate every certificate it issued (use --force)",
            ca_path.display()
        )));
    }
    let officers_dir = args.out.join("officers");
    std::fs::create_dir_all(&officers_dir)
        .map_err(|e| UsageError(format!("cannot create {}: {e}", officers_dir.display())))?;

    let names: Vec<String> = if !args.names.is_empty() {
        args.names.clone()
    } else if let Some(n) = args.officers {
        (1..=n).map(|i| format!("officer{i:02}")).collect()
    } else {
        vec!["officer71".into(), "officer75".into()]
    };
    for name in &names {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            && !name.starts_with('.');
        if !ok || name == "revoked-demo" {
            return Err(UsageError(format!(
                "{name:?} is not usable as an officer name (letters, digits, - _ .)"
            )));
        }
    }

    let now = Timestamp::now();
    // An hour back, so a certificate made now is valid on a machine whose clock is behind.
    let from = now - SignedDuration::from_hours(1);
    let validity =
        Validity::days_from(from, i64::from(args.days)).map_err(|e| trust_error("validity", e))?;
    let mut ca = DemoCa::generate("kuelik demo CA").map_err(|e| trust_error("CA", e))?;

    let mut issued: Vec<(OfficerCredentials, bool)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let algorithm = if i % 2 == 0 {
            KeyAlgorithm::EcdsaP256
        } else {
            KeyAlgorithm::Rsa2048
        };
        let officer = ca
            .issue_officer(name, algorithm, validity)
            .map_err(|e| trust_error("officer certificate", e))?;
        issued.push((officer, false));
    }
    // One revoked officer, so the demo can show the refusal.
    let revoked = ca
        .issue_officer("revoked-demo", KeyAlgorithm::EcdsaP256, validity)
        .map_err(|e| trust_error("officer certificate", e))?;
    ca.revoke(&revoked.serial, now)
        .map_err(|e| trust_error("revocation", e))?;
    issued.push((revoked, true));

    let ca_key = ca.key_pem().map_err(|e| trust_error("CA key", e))?;
    write_file(&args.out.join("ca.key.pem"), ca_key.as_bytes(), true)?;
    write_file(&ca_path, ca.cert_pem().as_bytes(), false)?;
    write_file(
        &args.out.join("revoked.txt"),
        ca.revoked_serials_text().as_bytes(),
        false,
    )?;
    let crl = ca
        .crl_pem(from, now + SignedDuration::from_hours(24 * 30))
        .map_err(|e| trust_error("CRL", e))?;
    write_file(&args.out.join("crl.pem"), crl.as_bytes(), false)?;

    let mut listed = Vec::new();
    for (officer, is_revoked) in &issued {
        let cert_path = officers_dir.join(format!("{}.pem", officer.common_name));
        let key_path = officers_dir.join(format!("{}.key.pem", officer.common_name));
        write_file(&key_path, officer.key_pem.as_bytes(), true)?;
        write_file(&cert_path, officer.cert_pem.as_bytes(), false)?;
        listed.push(json!({
            "username": officer.common_name,
            "algorithm": officer.algorithm.as_str(),
            "serial": officer.serial,
            "sha256_fingerprint": officer.sha256_fingerprint,
            "not_before": validity.not_before,
            "not_after": validity.not_after,
            "revoked": is_revoked,
            "cert": cert_path,
            "key": key_path,
        }));
    }
    let ca_info = pki::inspect_certificate(ca.cert_der()).map_err(|e| trust_error("CA", e))?;
    let manifest = json!({
        "ca": {
            "subject": ca_info.subject,
            "serial": ca_info.serial,
            "sha256_fingerprint": ca_info.sha256_fingerprint,
            "cert": ca_path,
            "key": args.out.join("ca.key.pem"),
        },
        "revoked_serials": args.out.join("revoked.txt"),
        "crl": args.out.join("crl.pem"),
        "officers": listed,
    });
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| UsageError(format!("cannot write JSON: {e}")))?;
    write_file(&args.out.join("manifest.json"), text.as_bytes(), false)?;

    if args.json {
        println!("{text}");
    } else {
        println!(
            "Demo CA {} (SHA-256 {}) in {}",
            ca_info.subject,
            ca_info.sha256_fingerprint,
            args.out.display()
        );
        println!("  trust anchor: {}", ca_path.display());
        println!(
            "  revocations:  {} and {}",
            args.out.join("revoked.txt").display(),
            args.out.join("crl.pem").display()
        );
        for (officer, is_revoked) in &issued {
            println!(
                "  officer {:<14} {:<10} serial {}{}",
                officer.common_name,
                officer.algorithm.as_str(),
                officer.serial,
                if *is_revoked { "  (revoked)" } else { "" }
            );
        }
        println!("Keys are unencrypted and readable by you only: this CA is for demos and tests.");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sign(args: SignArgs) -> Result<ExitCode, UsageError> {
    let key = read_text(&args.key)?;
    let cert = read_text(&args.cert)?;
    let doc = read(&args.doc)?;
    let signing_time = args.signing_time.unwrap_or_else(Timestamp::now);
    let der = cms::sign_detached(&doc, &key, &cert, signing_time)
        .map_err(|e| trust_error("cannot sign", e))?;
    let bytes = if args.pem {
        cms::to_pem(&der)
            .map_err(|e| trust_error("cannot sign", e))?
            .into_bytes()
    } else {
        der
    };
    let out = args.out.unwrap_or_else(|| {
        let mut name = args.doc.clone().into_os_string();
        name.push(if args.pem { ".p7s.pem" } else { ".p7s" });
        PathBuf::from(name)
    });
    if out.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&bytes)
            .and_then(|()| stdout.flush())
            .map_err(|e| UsageError(format!("cannot write the signature: {e}")))?;
    } else {
        write_file(&out, &bytes, false)?;
        eprintln!("signature written to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> Result<ExitCode, UsageError> {
    let anchors = read_text(&args.anchors)?;
    let mut revoked = RevocationList::new();
    for path in &args.revoked {
        let bytes = read(path)?;
        let is_crl = bytes.first() == Some(&0x30)
            || bytes.trim_ascii_start().starts_with(b"-----BEGIN X509 CRL");
        if is_crl {
            revoked
                .add_crl(&bytes)
                .map_err(|e| trust_error(&path.display().to_string(), e))?;
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| UsageError(format!("{} is not a serial list", path.display())))?;
            let list = RevocationList::from_text(&text)
                .map_err(|e| trust_error(&path.display().to_string(), e))?;
            revoked.merge(list);
        }
    }
    let store = TrustStore::new(&anchors, revoked).map_err(|e| trust_error("trust anchors", e))?;
    let signature = read(&args.signature)?;
    let doc = read(&args.doc)?;
    let at = args.at.unwrap_or_else(Timestamp::now);
    match cms::verify_detached(&signature, &doc, &store, at) {
        Ok(info) => {
            if args.json {
                print_json(&json!({ "verified": true, "signature": info }))?;
            } else {
                println!(
                    "verified: signed by {} (serial {}, {}) at {}",
                    info.signer.subject, info.signer.serial, info.algorithm, info.signing_time
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                print_json(&json!({
                    "verified": false,
                    "code": e.code(),
                    "detail": e.to_string(),
                }))?;
            } else {
                println!("refused: {} ({e})", e.code());
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn show(cert: &Path, json: bool) -> Result<ExitCode, UsageError> {
    let info = pki::inspect_certificate(&read(cert)?)
        .map_err(|e| trust_error(&cert.display().to_string(), e))?;
    if json {
        print_json(&info)?;
    } else {
        println!("subject:     {}", info.subject);
        println!("issuer:      {}", info.issuer);
        println!("serial:      {}", info.serial);
        println!("valid:       {} to {}", info.not_before, info.not_after);
        println!("key:         {}", info.public_key_algorithm);
        println!("sha256:      {}", info.sha256_fingerprint);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), UsageError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| UsageError(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
