//! `kuelik-loadtest`: runs the peak day and prints the report (a table, or JSON with
//! `--json`). Exits 1 if a citizen did not reach `issued` or an unexpected error occurred;
//! the performance figures themselves are never asserted.
//!
//! `kuelik-loadtest national …`: bulk-loads a PostgreSQL database at national scale and
//! measures the officer queue page, a status read and the daily report (exit 1 only if the
//! load or the read-back check fails; targets are reported, not asserted).

use std::process::ExitCode;

use clap::Parser;

/// The peak-day load harness (issue #7).
#[derive(Parser)]
#[command(
    name = "kuelik-loadtest",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
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
    /// Run the server in a process of its own (this program's `serve-child`), so that the
    /// report gives the server's memory alone.
    #[arg(long)]
    server_process: bool,
    /// The slow-disk mode: every fsync/fdatasync of the harness and of the server costs this
    /// many microseconds more (e.g. 1000, a real disk's flush), to see what group commit is
    /// for. Needs a C compiler (cc); SQLite only.
    #[arg(long, value_name = "MICROSECONDS")]
    slow_fsync_us: Option<u64>,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// (Used by --server-process.) The server alone, on a database the harness prepared;
    /// prints `serving http://ADDR` and stops when stdin closes.
    #[command(hide = true)]
    ServeChild {
        #[arg(long)]
        database_url: String,
        /// The trust anchor: the harness's test CA (PEM).
        #[arg(long)]
        ca: std::path::PathBuf,
        /// Where one-time codes are posted.
        #[arg(long)]
        sms_url: String,
    },
    /// National scale on PostgreSQL: COPY N citizens and N historical applications into an
    /// existing, empty database, then measure the reads (issue #7, item 4).
    National {
        /// The database to fill, e.g. postgres://postgres@127.0.0.1:5432/kuelik_national.
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 20_000_000)]
        citizens: u64,
        #[arg(long, default_value_t = 20_000_000)]
        applications: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// COPY streams loading applications and events side by side (consecutive
        /// stretches of time, one connection each).
        #[arg(long, default_value_t = 2)]
        streams: usize,
        /// Chain and archive every N events as the load goes, as the service's workers would
        /// have (the streams meet at each pause): the events table then never holds the whole
        /// history as rows.
        /// 0: once, after the load.
        #[arg(long, default_value_t = 0)]
        archive_every: u64,
        #[arg(long, default_value_t = 1_000)]
        queue_samples: usize,
        #[arg(long, default_value_t = 1_000)]
        status_samples: usize,
        #[arg(long, default_value_t = 50)]
        report_samples: usize,
        /// Measure a database an earlier run with the same options filled, without loading.
        #[arg(long)]
        measure_only: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::from(2)
        })
}

fn national(options: kuelik_loadtest::national::Options, json: bool) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(kuelik_loadtest::national::run(&options)) {
        Ok(report) if json => match serde_json::to_string_pretty(&report) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot write the report as JSON: {e}");
                ExitCode::from(2)
            }
        },
        Ok(report) => {
            report.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("FAILED: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Sub::ServeChild {
        database_url,
        ca,
        sms_url,
    }) = &cli.command
    {
        // As `kuelik serve` does: the server process measured is the one deployed.
        kuelik_server::tune_malloc();
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(code) => return code,
        };
        return match runtime.block_on(kuelik_loadtest::server::serve_child(
            database_url,
            ca,
            sms_url,
        )) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // The harness reads the first line of stdout: say why there.
                println!("failed: {e}");
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Sub::National {
        database_url,
        citizens,
        applications,
        seed,
        streams,
        archive_every,
        queue_samples,
        status_samples,
        report_samples,
        measure_only,
        json,
    }) = cli.command
    {
        let options = kuelik_loadtest::national::Options {
            database_url,
            citizens,
            applications,
            seed,
            streams,
            archive_every,
            queue_samples,
            status_samples,
            report_samples,
            measure_only,
        };
        return national(options, json);
    }
    if let Some(us) = cli.slow_fsync_us {
        if kuelik_loadtest::slow_disk::active_delay_us().is_none() {
            let dir = std::env::temp_dir().join(format!("kuelik-slow-disk-{}", std::process::id()));
            let rerun = std::fs::create_dir_all(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))
                .and_then(|()| kuelik_loadtest::slow_disk::rerun_under_shim(us, &dir));
            let _ = std::fs::remove_dir_all(&dir);
            return match rerun {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            };
        }
    }
    let options = kuelik_loadtest::Options {
        citizens: cli.citizens,
        concurrency: cli.concurrency,
        ceiling_secs: cli.ceiling_secs,
        timeout_secs: cli.timeout_secs,
        database_url: cli.database_url,
        server_exe: None,
    };
    let options = if cli.server_process {
        match std::env::current_exe() {
            Ok(exe) => kuelik_loadtest::Options {
                server_exe: Some(exe),
                ..options
            },
            Err(e) => {
                eprintln!("cannot find this program to run the server process: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        options
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
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
