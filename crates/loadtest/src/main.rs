//! `kuelik-loadtest`: runs the peak day and prints the report (a table, or JSON with
//! `--json`). Exits 1 if a citizen did not reach `issued` or an unexpected error occurred;
//! the performance figures themselves are never asserted.

use std::process::ExitCode;

use clap::Parser;

/// The peak-day load harness (issue #7).
#[derive(Parser)]
#[command(name = "kuelik-loadtest", version)]
struct Cli {
    /// Citizens in the day, each through the whole life cycle.
    #[arg(long, default_value_t = 20_000)]
    citizens: u64,
    /// Citizen clients at once; also the clients of each ceiling.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds each ceiling runs; 0 skips them.
    #[arg(long, default_value_t = 5.0)]
    ceiling_secs: f64,
    /// Give up on the day after this many seconds (the run then fails).
    #[arg(long, default_value_t = 3_600)]
    timeout_secs: u64,
    /// Run on PostgreSQL: a fresh database is created on the server this URL names
    /// (postgres://user@host/db); default: SQLite in a temp dir.
    #[arg(long)]
    database_url: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = kuelik_loadtest::Options {
        citizens: cli.citizens,
        concurrency: cli.concurrency,
        ceiling_secs: cli.ceiling_secs,
        timeout_secs: cli.timeout_secs,
        database_url: cli.database_url,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match runtime.block_on(kuelik_loadtest::run(&options)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("the load run could not finish: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("cannot write the report as JSON: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        report.print();
    }
    if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "FAILED: {} of {} citizens issued, {} failed, {} lost, {} unexpected errors{}",
            report.day.verified_issued,
            report.day.citizens,
            report.day.failed,
            report.day.lost,
            report.error_total(),
            if report.day.timed_out {
                ", timed out"
            } else {
                ""
            }
        );
        ExitCode::from(1)
    }
}
