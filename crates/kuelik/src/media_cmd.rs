//! `kuelik photo check FILE` and `kuelik signature check FILE`: the upload checks of the
//! `kuelik-media` crate from the command line, for citizens' helpers, officers and tests.
//!
//! Output contract (as the rest of the binary): with `--json`, exactly one JSON object on
//! stdout (the report the API returns). Exit 0 when the verdict is pass or warn, 1 when it
//! is fail, 2 with one line on stderr when the file cannot be read as an image (the line
//! carries the stable error code) or the arguments are wrong.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use kuelik_core::lang::Lang;
use kuelik_media::{check_photo, check_signature, IngestError, Measure, Profile, Verdict};

#[derive(Subcommand)]
pub enum PhotoCommand {
    /// Check a document photo (JPEG or PNG) against the upload requirements.
    Check(CheckArgs),
}

#[derive(Subcommand)]
pub enum SignatureCommand {
    /// Check a signature image (JPEG or PNG) against the upload requirements.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The image file.
    pub file: PathBuf,
    /// A threshold profile (TOML; default: the built-in provisional profile).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Language of the advice in text output (kk, ru, en); JSON carries all three.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    pub lang: Lang,
    #[arg(long)]
    pub json: bool,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
        .map_err(|e: kuelik_core::lang::UnknownLang| e.to_string())
}

/// `kuelik photo …`
pub fn photo(command: PhotoCommand) -> ExitCode {
    match command {
        PhotoCommand::Check(args) => run(Kind::Photo, &args),
    }
}

/// `kuelik signature …`
pub fn signature(command: SignatureCommand) -> ExitCode {
    match command {
        SignatureCommand::Check(args) => run(Kind::Signature, &args),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Photo,
    Signature,
}

/// Bad input: one line on stderr, exit 2.
fn usage_error(message: &str) -> ExitCode {
    eprintln!(
        "kuelik: {}",
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    ExitCode::from(2)
}

fn run(kind: Kind, args: &CheckArgs) -> ExitCode {
    let file = args.file.display();
    let profile = match &args.profile {
        None => Profile::default_profile(),
        Some(path) => {
            let loaded = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| Profile::from_toml(&text).map_err(|e| e.to_string()));
            match loaded {
                Ok(profile) => profile,
                Err(e) => return usage_error(&format!("--profile {}: {e}", path.display())),
            }
        }
    };
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => return usage_error(&format!("{file}: {e}")),
    };
    let unreadable = |e: IngestError| usage_error(&format!("{file}: {}: {e}", e.code()));
    match kind {
        Kind::Photo => match check_photo(&bytes, &profile) {
            Ok(report) => {
                let extra = report.face.as_ref().map(|f| {
                    format!(
                        "face: box {:.0},{:.0} {:.0}×{:.0} px; eyes ({:.0},{:.0}) ({:.0},{:.0}){}",
                        f.bounds.x,
                        f.bounds.y,
                        f.bounds.width,
                        f.bounds.height,
                        f.left_eye.x,
                        f.left_eye.y,
                        f.right_eye.x,
                        f.right_eye.y,
                        if f.eyes_located { "" } else { " (estimated)" }
                    )
                });
                let hash = format!("perceptual hash: {:016x}", report.perceptual_hash);
                let header = Header {
                    what: "photo",
                    verdict: report.verdict,
                    format: report.format.as_str(),
                    width: report.width,
                    height: report.height,
                    profile: &report.profile,
                    provisional: report.provisional_profile,
                };
                print_report(
                    args,
                    &report,
                    &header,
                    &report.measures,
                    &[extra, Some(hash)],
                )
            }
            Err(e) => unreadable(e),
        },
        Kind::Signature => match check_signature(&bytes, &profile) {
            Ok(report) => {
                let extra = report
                    .ink_bounds
                    .map(|[x, y, w, h]| format!("ink: box {x},{y} {w}×{h} px"));
                let header = Header {
                    what: "signature",
                    verdict: report.verdict,
                    format: report.format.as_str(),
                    width: report.width,
                    height: report.height,
                    profile: &report.profile,
                    provisional: report.provisional_profile,
                };
                print_report(args, &report, &header, &report.measures, &[extra])
            }
            Err(e) => unreadable(e),
        },
    }
}

struct Header<'a> {
    what: &'static str,
    verdict: Verdict,
    format: &'static str,
    width: u32,
    height: u32,
    profile: &'a str,
    provisional: bool,
}

fn print_report(
    args: &CheckArgs,
    report: &impl Serialize,
    header: &Header<'_>,
    measures: &[Measure],
    extra: &[Option<String>],
) -> ExitCode {
    if args.json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(e) => return usage_error(&format!("cannot write JSON: {e}")),
        }
    } else {
        println!(
            "{} ({}: {} {}×{} px; profile {}{})",
            header.verdict.as_str().to_uppercase(),
            header.what,
            header.format,
            header.width,
            header.height,
            header.profile,
            if header.provisional {
                ", provisional"
            } else {
                ""
            }
        );
        let width = measures.iter().map(|m| m.name.len()).max().unwrap_or(0);
        for m in measures {
            // A value that could not be measured is NaN; say so rather than print "NaN".
            let raw = if m.raw.is_finite() {
                format!("{:.4}", m.raw)
            } else {
                "—".to_string()
            };
            println!(
                "  {:<width$}  {:>11}  {:>3}/100  {:<4}  {}",
                m.name,
                raw,
                m.score,
                m.status.as_str(),
                m.message.get(args.lang)
            );
        }
        for line in extra.iter().flatten() {
            println!("{line}");
        }
    }
    match header.verdict {
        Verdict::Fail => ExitCode::from(1),
        Verdict::Pass | Verdict::Warn => ExitCode::SUCCESS,
    }
}
