//! `kuelik`: the one binary of the service: `serve` runs it; `migrate`, `staff` and
//! `register` administer it; `eligibility`, `iin`, `ticket`, `fee`, `rules` and `points`
//! answer the service's rules from the command line.
//!
//! Output contract (other tools rely on it): with `--json`, exactly one JSON object on
//! stdout. Exit 0 for an answer (whatever it is), 1 when the thing checked is invalid
//! (`iin`, `ticket check`), 2 with one line on stderr for bad input.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use kuelik_core::document::{DocumentFacts, DocumentKind};
use kuelik_core::eligibility::{self, Decision};
use kuelik_core::fees::{self, MrpTable};
use kuelik_core::iin::Iin;
use kuelik_core::lang::{Lang, Localized};
use kuelik_core::messages;
use kuelik_core::region::{RegionCode, Regions, RegistrationPoints};
use kuelik_core::rules::{Reason, RuleBook, RuleSet, BUILTIN};
use kuelik_core::ticket::{TicketNumber, RANDOM_BITS};
use kuelik_core::time::almaty_date;

mod config;
mod media_cmd;
mod ncalayer;
mod service;
mod trust_cmd;

#[derive(Parser)]
#[command(
    name = "kuelik",
    version,
    about = "Online renewal of Kazakhstan's identity documents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (HTTP API, workers) on the embedded SQLite database or PostgreSQL.
    Serve(service::ServeArgs),
    /// Create or update the database schema (serve also does this at start).
    Migrate(service::StoreArgs),
    /// Staff accounts.
    #[command(subcommand)]
    Staff(service::StaffCommand),
    /// Copy the live SQLite database consistently (the service may keep running).
    Backup {
        #[command(flatten)]
        store: service::StoreArgs,
        /// Where to write the copy (must not exist).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Put a backup in place of the SQLite database (stop the service first).
    Restore {
        #[command(flatten)]
        store: service::StoreArgs,
        /// The backup file (checked before anything is changed).
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Check a configuration file (and the KUELIK_* environment) without starting.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The local population register.
    #[command(subcommand)]
    Register(service::RegisterCommand),
    /// Document photo checks.
    #[command(subcommand)]
    Photo(media_cmd::PhotoCommand),
    /// Signature image checks.
    #[command(subcommand)]
    Signature(media_cmd::SignatureCommand),
    /// Certificates: the demo CA, checking signatures.
    #[command(subcommand)]
    Pki(trust_cmd::PkiCommand),
    /// Sign a document (detached CMS) with an officer's key and certificate.
    Sign(trust_cmd::SignArgs),
    /// A test NCALayer: signs for the portal's "Sign with ЭЦП" with a PKCS#12 key file.
    Ncalayer(ncalayer::NcalayerArgs),
    /// The tamper-evident audit log: verify it, export it for an auditor.
    #[command(subcommand)]
    Audit(service::AuditCommand),
    /// May the holder of a document renew it online now (or at --at)?
    Eligibility(EligibilityArgs),
    /// Check an individual identification number (IIN).
    Iin {
        /// The 12-digit IIN.
        number: String,
        #[arg(long)]
        json: bool,
    },
    /// Registration ticket numbers.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// The state duty due for a document on a date.
    Fee(FeeArgs),
    /// The rule sets this build knows.
    Rules {
        #[arg(long)]
        json: bool,
    },
    /// Registration points where documents are collected, by region.
    Points {
        /// Only this region (two-digit code, e.g. 71 for Astana).
        #[arg(long, value_parser = parse_region)]
        region: Option<RegionCode>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate: unknown keys, bad values, missing rule sets or key files fail with a reason.
    Check {
        /// The TOML file (without one, only defaults and the environment are checked).
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Args)]
struct EligibilityArgs {
    /// The document's last valid day, YYYY-MM-DD (as the population register has it).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    expires: Date,
    /// Why a new document is wanted.
    #[arg(long, default_value = "expiring", value_parser = parse_reason)]
    reason: Reason,
    /// Which document.
    #[arg(long, default_value = "identity-card", value_parser = parse_document)]
    document: DocumentKind,
    /// The instant to decide at, RFC 3339 (default: now). Rules use its Almaty date.
    #[arg(long, value_name = "RFC3339-INSTANT", value_parser = parse_instant)]
    at: Option<Timestamp>,
    /// A built-in rule set (pilot-2025, continuation) or a rule-set TOML file
    /// (default: the enabled set in force, else pilot-2025).
    #[arg(long, value_name = "NAME-OR-FILE")]
    rules: Option<String>,
    /// Language of the text output (kk, ru, en); JSON always carries all three.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    lang: Lang,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum TicketCommand {
    /// Draw a new random ticket number (45 random bits from the OS).
    New {
        #[arg(long)]
        json: bool,
    },
    /// Check a ticket number as typed at a registration point.
    Check {
        number: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct FeeArgs {
    #[arg(long, default_value = "identity-card", value_parser = parse_document)]
    document: DocumentKind,
    /// The day of payment, YYYY-MM-DD (default: today in Almaty).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    on: Option<Date>,
    /// A built-in rule set or a rule-set TOML file (default: the one in force that day).
    #[arg(long, value_name = "NAME-OR-FILE")]
    rules: Option<String>,
    #[arg(long)]
    json: bool,
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| format!("{s:?} is not a calendar date (YYYY-MM-DD)"))
}

fn parse_instant(s: &str) -> Result<Timestamp, String> {
    s.trim().parse::<Timestamp>().map_err(|_| {
        format!("{s:?} is not an RFC 3339 instant (e.g. 2025-10-15T12:00:00+05:00 or ...Z)")
    })
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    s.parse()
        .map_err(|e: kuelik_core::rules::UnknownReason| e.to_string())
}

fn parse_document(s: &str) -> Result<DocumentKind, String> {
    s.parse()
        .map_err(|e: kuelik_core::document::UnknownDocumentKind| e.to_string())
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
        .map_err(|e: kuelik_core::lang::UnknownLang| e.to_string())
}

fn parse_region(s: &str) -> Result<RegionCode, String> {
    let code: RegionCode = s
        .parse()
        .map_err(|e: kuelik_core::region::ReferenceError| e.to_string())?;
    match Regions::builtin().get(code) {
        Some(_) => Ok(code),
        None => Err(format!("no region has code {code}")),
    }
}

/// Bad input: one line on stderr, exit 2.
pub struct UsageError(pub String);

type Outcome = Result<ExitCode, UsageError>;

fn print_json(value: &impl Serialize) -> Result<(), UsageError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| UsageError(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A built-in rule set by name, else a TOML file at that path.
fn load_rules(name_or_file: &str) -> Result<RuleSet, UsageError> {
    if let Ok(set) = RuleSet::builtin(name_or_file) {
        return Ok(set);
    }
    let known: Vec<&str> = BUILTIN.iter().map(|(v, _)| *v).collect();
    let text = std::fs::read_to_string(name_or_file).map_err(|e| {
        UsageError(format!(
            "--rules {name_or_file:?}: not a built-in rule set ({}) and not a readable file ({e})",
            known.join(", ")
        ))
    })?;
    RuleSet::from_toml(&text).map_err(|e| {
        UsageError(format!(
            "--rules {name_or_file:?}: {}",
            one_line(&e.to_string())
        ))
    })
}

/// The rule set chosen with `--rules`, else the built-in book's set for `date`.
fn rules_for(choice: Option<&str>, date: Date) -> Result<RuleSet, UsageError> {
    match choice {
        Some(name) => load_rules(name),
        None => RuleBook::builtin()
            .and_then(|book| book.for_date(date).cloned())
            .map_err(|e| UsageError(format!("built-in rules are broken: {e}"))),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn eligibility(args: EligibilityArgs) -> Outcome {
    let at = args.at.unwrap_or_else(Timestamp::now);
    let rules = rules_for(args.rules.as_deref(), almaty_date(at))?;
    let facts = DocumentFacts {
        kind: args.document,
        last_valid_day: args.expires,
    };
    let decision = eligibility::decide(&facts, args.reason, at, &rules);
    if args.json {
        #[derive(Serialize)]
        struct Answer<'a> {
            #[serde(flatten)]
            decision: &'a Decision,
            document: DocumentKind,
            reason: Reason,
            at: Timestamp,
            rules_assumption: bool,
        }
        print_json(&Answer {
            decision: &decision,
            document: args.document,
            reason: args.reason,
            at,
            rules_assumption: rules.assumption,
        })?;
    } else {
        let lang = args.lang;
        println!(
            "{} ({})",
            if decision.eligible {
                "ELIGIBLE"
            } else {
                "NOT ELIGIBLE"
            },
            decision.code.as_str()
        );
        println!("{}", decision.message.get(lang));
        println!("{}", decision.detail.get(lang));
        if let Some(first) = decision.first_eligible_date {
            println!("first eligible date: {first}");
        }
        if let Some(last) = decision.last_eligible_date {
            println!("last eligible date: {last}");
        }
        let assumption = if rules.assumption {
            " (an assumption, not law)"
        } else {
            ""
        };
        println!(
            "rules: {}{assumption}; today in Almaty: {}",
            decision.rules_version, decision.today
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The answer of a validity check (`iin`, `ticket check`): exit 0 when valid, 1 when not.
/// `valid` holds the JSON fields and the text line of a valid value.
fn report_check<E: std::fmt::Display>(
    result: Result<(serde_json::Value, String), (E, &str, Localized)>,
    json: bool,
) -> Outcome {
    match result {
        Ok((mut fields, text)) => {
            if json {
                fields["valid"] = true.into();
                print_json(&fields)?;
            } else {
                println!("valid: {text}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err((e, code, message)) => {
            if json {
                print_json(&json!({
                    "valid": false,
                    "code": code,
                    "error": e.to_string(),
                    "message": message,
                }))?;
            } else {
                println!("invalid: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn iin(number: &str, json: bool) -> Outcome {
    let result = Iin::parse(number)
        .map(|iin| {
            let fields = json!({ "iin": iin, "birth_date": iin.birth_date(), "sex": iin.sex() });
            let text = format!(
                "born {}, {}",
                iin.birth_date(),
                fields["sex"].as_str().unwrap_or_default()
            );
            (fields, text)
        })
        .map_err(|e| {
            let message = messages::iin_error(&e);
            (e.clone(), e.code(), message)
        });
    report_check(result, json)
}

fn ticket(command: TicketCommand) -> Outcome {
    match command {
        TicketCommand::New { json } => {
            let bits = getrandom::u64()
                .map_err(|e| UsageError(format!("the OS random source failed: {e}")))?;
            let ticket = TicketNumber::from_random_bits(bits);
            if json {
                print_json(&json!({ "ticket": ticket, "random_bits": RANDOM_BITS }))?;
            } else {
                println!("{ticket}");
            }
            Ok(ExitCode::SUCCESS)
        }
        TicketCommand::Check { number, json } => {
            let result = TicketNumber::parse(&number)
                .map(|ticket| (json!({ "ticket": ticket }), ticket.to_string()))
                .map_err(|e| {
                    let message = messages::ticket_error(&e);
                    (e.clone(), e.code(), message)
                });
            report_check(result, json)
        }
    }
}

fn fee(args: FeeArgs) -> Outcome {
    let on = args.on.unwrap_or_else(|| almaty_date(Timestamp::now()));
    let rules = rules_for(args.rules.as_deref(), on)?;
    let duty = fees::duty_due(&rules, &MrpTable::builtin(), args.document, on)
        .map_err(|e| UsageError(e.to_string()))?;
    if args.json {
        print_json(&json!({
            "document": duty.document,
            "on": duty.on,
            "rules_version": duty.rules_version,
            "mrp_year": duty.mrp_year,
            "mrp_tenge": duty.mrp_tenge,
            "duty_mrp": duty.duty_mrp,
            "amount_tiyn": duty.amount.0,
            "amount_tenge": duty.amount.tenge_string(),
        }))?;
    } else {
        println!(
            "{} on {}: {} ({} МРП × {} ₸, {})",
            duty.document, duty.on, duty.amount, duty.duty_mrp, duty.mrp_tenge, duty.rules_version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn rules(json: bool) -> Outcome {
    let book =
        RuleBook::builtin().map_err(|e| UsageError(format!("built-in rules are broken: {e}")))?;
    if json {
        let sets: Vec<_> = book
            .iter()
            .map(|s| json!({ "enabled": book.is_enabled(&s.version), "rule_set": s }))
            .collect();
        print_json(&sets)?;
    } else {
        for s in book.iter() {
            let until = s
                .effective_until
                .map(|d| d.to_string())
                .unwrap_or("…".into());
            let state = if book.is_enabled(&s.version) {
                "enabled"
            } else {
                "off"
            };
            let assumption = if s.assumption { ", assumption" } else { "" };
            println!(
                "{} [{state}{assumption}] {} – {until}: {}",
                s.version, s.effective_from, s.title.en
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn points(region: Option<RegionCode>, json: bool) -> Outcome {
    let regions = Regions::builtin();
    let points = RegistrationPoints::builtin(&regions);
    let chosen: Vec<_> = points
        .iter()
        .filter(|p| region.is_none_or(|r| p.region == r))
        .collect();
    if json {
        print_json(&chosen)?;
    } else {
        for p in chosen {
            println!("{}  {}  ({})", p.id, p.name.en, p.address.en);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Serve(args) => service::serve(args).map(|()| ExitCode::SUCCESS),
        Command::Migrate(store) => service::migrate(store).map(|()| ExitCode::SUCCESS),
        Command::Staff(command) => service::staff(command).map(|()| ExitCode::SUCCESS),
        Command::Register(command) => service::register(command).map(|()| ExitCode::SUCCESS),
        Command::Backup { store, out } => service::backup(store, &out).map(|()| ExitCode::SUCCESS),
        Command::Restore { store, from } => {
            service::restore(store, &from).map(|()| ExitCode::SUCCESS)
        }
        Command::Photo(command) => Ok(media_cmd::photo(command)),
        Command::Signature(command) => Ok(media_cmd::signature(command)),
        Command::Pki(command) => trust_cmd::pki(command),
        Command::Sign(args) => trust_cmd::sign(args),
        Command::Ncalayer(args) => ncalayer::run(args).map(|()| ExitCode::SUCCESS),
        Command::Audit(command) => service::audit(command),
        Command::Config(ConfigCommand::Check { file }) => {
            service::config_check(file.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        Command::Eligibility(args) => eligibility(args),
        Command::Iin { number, json } => iin(&number, json),
        Command::Ticket(command) => ticket(command),
        Command::Fee(args) => fee(args),
        Command::Rules { json } => rules(json),
        Command::Points { region, json } => points(region, json),
    }
}

/// Rust ignores SIGPIPE, so `kuelik … | head` would make `println!` panic on the closed
/// pipe; the default action (quietly end) is what a command-line tool should do.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// clap's multi-line error, as the single line the output contract promises.
fn clap_error_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    let line = parts.join(" ");
    match line.strip_prefix("error: ") {
        Some(rest) => rest.to_string(),
        None if line.is_empty() => "bad arguments".to_string(),
        None => line,
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    kuelik_server::tune_malloc();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = err.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = err.print();
                    ExitCode::from(2)
                }
                _ => {
                    eprintln!("kuelik: {}", clap_error_line(&err));
                    ExitCode::from(2)
                }
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(UsageError(message)) => {
            eprintln!("kuelik: {message}");
            ExitCode::from(2)
        }
    }
}
