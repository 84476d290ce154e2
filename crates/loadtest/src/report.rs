//! What a run found: the day (wall time, throughput, latencies per endpoint, errors), the
//! memory, the ceilings, and each figure against its target as a ratio. Figures are
//! reported, never asserted; only failed citizens and unexpected errors fail the run.

use serde::Serialize;

use crate::ceilings::Ceilings;
use crate::http::{ErrorCount, RouteLatency};

/// Targets of issue #7.
pub const DAY_TARGET_SECS: f64 = 600.0;
pub const DAY_TARGET_CITIZENS: f64 = 20_000.0;
pub const P99_TARGET_MS: f64 = 100.0;
pub const ELIGIBILITY_TARGET: f64 = 0.5;
pub const STATUS_TARGET: f64 = 0.35;
/// Durable changes against one insert per commit (issue #20): on the plain disk, and on a
/// disk whose every flush is slow (`--slow-fsync-us`), where group commit has to show.
pub const DURABLE_TARGET: f64 = 1.0;
pub const DURABLE_TARGET_SLOW_DISK: f64 = 5.0;
/// The day's throughput against what the cores could do if they only checked images
/// (issue #20: the ratio that travels between machines).
pub const DAY_PER_IMAGE_BOUND_TARGET: f64 = 0.40;
pub const RSS_TARGET_MB: f64 = 150.0;
/// The photo-check issue's goal (docs/PERFORMANCE.md), shown for context.
pub const CHECK_DECODE_GOAL: f64 = 5.0;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    /// The slow-disk mode, when the run is under it (`--slow-fsync-us`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_disk: Option<SlowDisk>,
}

/// What the slow-disk shim adds to each fsync, and an fsync as this process then sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SlowDisk {
    pub added_us: u64,
    pub fsync_median_ms: f64,
}

impl Machine {
    pub fn here() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let slow_disk = crate::slow_disk::active_delay_us().map(|added_us| SlowDisk {
            added_us,
            fsync_median_ms: crate::slow_disk::measured_fsync(&std::env::temp_dir())
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        });
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            slow_disk,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DaySummary {
    pub citizens: u64,
    pub concurrency: usize,
    pub backend: String,
    /// Loading the register and staff, before the day (not in the wall time).
    pub setup_secs: f64,
    /// From the first citizen's sign-in to the last hand-over.
    pub wall_secs: f64,
    pub timed_out: bool,
    /// Handed over at a desk during the day.
    pub issued: u64,
    /// Read back after the day through the citizens' own status reads.
    pub verified_issued: u64,
    /// Citizens who did not get a ticket.
    pub failed: u64,
    /// Applications a staff step failed on.
    pub lost: u64,
    pub applications_per_sec: f64,
    /// The day for 20,000 citizens at this throughput.
    pub projected_secs_for_20000: f64,
    /// Image bytes uploaded during the day.
    pub image_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Peak resident set (VmHWM) at the end of the day.
    pub peak_mib: f64,
    pub peak_mb: f64,
    /// Resident set (VmRSS) at the end of the day.
    pub rss_mib: f64,
    pub note: &'static str,
}

pub const MEMORY_NOTE: &str = "client and server share this process: the figure is an upper \
bound for the server (the client holds every citizen's person record, tokens and latency \
samples too)";

pub const SERVER_MEMORY_NOTE: &str = "the server's own process (serve-child), read from \
/proc/PID/status at the end of the day";

pub const CLIENT_MEMORY_NOTE: &str = "the harness's process: the clients only (the server ran \
in its own process)";

impl Memory {
    /// This process.
    pub fn now() -> Memory {
        Memory::read("/proc/self/status", MEMORY_NOTE)
    }

    /// The server's process, when it runs in its own.
    pub fn of_server_process(pid: u32) -> Memory {
        Memory::read(&format!("/proc/{pid}/status"), SERVER_MEMORY_NOTE)
    }

    fn read(path: &str, note: &'static str) -> Memory {
        let status = std::fs::read_to_string(path).unwrap_or_default();
        let kib = |key: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let peak = kib("VmHWM:");
        Memory {
            peak_mib: peak / 1024.0,
            peak_mb: peak * 1024.0 / 1e6,
            rss_mib: kib("VmRSS:") / 1024.0,
            note,
        }
    }
}

/// One figure against its target.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    /// measured ÷ goal, oriented so that ≥ 1 meets the goal.
    pub ratio: f64,
    /// `None` when the figure is context, not a target of this issue.
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub date: String,
    pub machine: Machine,
    pub day: DaySummary,
    pub overall: RouteLatency,
    pub endpoints: Vec<RouteLatency>,
    pub errors: Vec<ErrorCount>,
    /// Answers allowed by the scenario (production operators racing to accept).
    pub tolerated: Vec<ErrorCount>,
    /// The harness's process: client and server when they share it, else the clients only.
    pub memory: Memory,
    /// The server's own process, when it ran in one (`--server-process`).
    pub server_memory: Option<Memory>,
    pub ceilings: Option<Ceilings>,
    pub targets: Vec<Target>,
}

impl Report {
    /// Unexpected errors of the day and of the ceilings.
    pub fn error_total(&self) -> u64 {
        self.errors.iter().map(|e| e.count).sum::<u64>()
            + self.ceilings.as_ref().map_or(0, |c| c.errors)
    }

    /// Every citizen issued and nothing unexpected: what CI's smoke step checks.
    pub fn succeeded(&self) -> bool {
        self.day.verified_issued == self.day.citizens
            && self.day.failed == 0
            && self.day.lost == 0
            && !self.day.timed_out
            && self.error_total() == 0
    }

    pub fn fill_targets(&mut self) {
        let mut t = Vec::new();
        let wanted = DAY_TARGET_CITIZENS / DAY_TARGET_SECS;
        t.push(Target {
            name: "peak day".into(),
            goal: format!(
                "≤ {DAY_TARGET_SECS:.0} s for {DAY_TARGET_CITIZENS:.0} (≥ {wanted:.1} applications/s)"
            ),
            measured: format!(
                "{:.1} applications/s ({:.0} s for {}; {:.0} s projected for 20,000)",
                self.day.applications_per_sec,
                self.day.wall_secs,
                self.day.citizens,
                self.day.projected_secs_for_20000
            ),
            ratio: self.day.applications_per_sec / wanted,
            met: Some(self.day.applications_per_sec >= wanted),
        });
        t.push(Target {
            name: "p99 latency, all requests of the day".into(),
            goal: format!("≤ {P99_TARGET_MS:.0} ms"),
            measured: format!("{:.1} ms", self.overall.p99_ms),
            ratio: P99_TARGET_MS / self.overall.p99_ms.max(0.001),
            met: Some(self.overall.p99_ms <= P99_TARGET_MS),
        });
        if let Some(c) = &self.ceilings {
            let base = c.static_http.per_sec.max(0.001);
            let eligibility = c.eligibility.per_sec / base;
            t.push(Target {
                name: "eligibility reads / static HTTP".into(),
                goal: format!("≥ {ELIGIBILITY_TARGET}×"),
                measured: format!(
                    "{eligibility:.2}× ({:.0} / {:.0} rps)",
                    c.eligibility.per_sec, c.static_http.per_sec
                ),
                ratio: eligibility / ELIGIBILITY_TARGET,
                met: Some(eligibility >= ELIGIBILITY_TARGET),
            });
            let status = c.status.per_sec / base;
            t.push(Target {
                name: "status reads / static HTTP".into(),
                goal: format!("≥ {STATUS_TARGET}×"),
                measured: format!(
                    "{status:.2}× ({:.0} / {:.0} rps)",
                    c.status.per_sec, c.static_http.per_sec
                ),
                ratio: status / STATUS_TARGET,
                met: Some(status >= STATUS_TARGET),
            });
            let durable = c.durable_changes.per_sec / c.insert_per_commit.per_sec.max(0.001);
            let (wanted, disk) = match self.machine.slow_disk {
                Some(_) => (DURABLE_TARGET_SLOW_DISK, "slow disk"),
                None => (DURABLE_TARGET, "plain disk"),
            };
            t.push(Target {
                name: format!("durable changes / insert-per-commit ({disk})"),
                goal: format!("≥ {wanted}×"),
                measured: format!(
                    "{durable:.2}× ({:.0} / {:.0} per s)",
                    c.durable_changes.per_sec, c.insert_per_commit.per_sec
                ),
                ratio: durable / wanted,
                met: Some(durable >= wanted),
            });
        }
        let (name, memory) = match &self.server_memory {
            Some(server) => ("peak RSS (server process)", server),
            None => ("peak RSS (client + server, one process)", &self.memory),
        };
        t.push(Target {
            name: name.into(),
            goal: format!("≤ {RSS_TARGET_MB:.0} MB (server)"),
            measured: format!("{:.0} MB ({:.0} MiB)", memory.peak_mb, memory.peak_mib),
            ratio: RSS_TARGET_MB / memory.peak_mb.max(0.001),
            met: Some(memory.peak_mb <= RSS_TARGET_MB),
        });
        if let Some(c) = &self.ceilings {
            let check = c.photo_check_ms / c.jpeg_decode_ms.max(0.001);
            t.push(Target {
                name: "photo check / JPEG decode (context)".into(),
                goal: format!("≤ {CHECK_DECODE_GOAL}× (photo-check issue)"),
                measured: format!(
                    "{check:.1}× ({:.1} / {:.1} ms)",
                    c.photo_check_ms, c.jpeg_decode_ms
                ),
                ratio: CHECK_DECODE_GOAL / check.max(0.001),
                met: None,
            });
            // If checking the images were the only work, the cores could finish this many
            // applications per second.
            let bound = self.machine.cores as f64 * 1e3
                / (c.photo_check_ms + c.signature_check_ms).max(0.001);
            let share = self.day.applications_per_sec / bound;
            t.push(Target {
                name: "day throughput / image-check bound".into(),
                goal: format!(
                    "≥ {DAY_PER_IMAGE_BOUND_TARGET}× of {bound:.1} applications/s (the {} cores only checking images)",
                    self.machine.cores
                ),
                measured: format!(
                    "{share:.2}× ({:.1} applications/s)",
                    self.day.applications_per_sec
                ),
                ratio: share / DAY_PER_IMAGE_BOUND_TARGET,
                met: Some(share >= DAY_PER_IMAGE_BOUND_TARGET),
            });
            let hashing = self.day.image_mib / c.sha256_mib_per_sec.max(0.001);
            t.push(Target {
                name: "image hashing share of the day (context)".into(),
                goal: format!("raw SHA-256 {:.0} MiB/s", c.sha256_mib_per_sec),
                measured: format!(
                    "{:.0} MiB uploaded = {hashing:.2} s of hashing in a {:.0} s day",
                    self.day.image_mib, self.day.wall_secs
                ),
                ratio: hashing / self.day.wall_secs.max(0.001),
                met: None,
            });
        }
        self.targets = t;
    }

    pub fn print(&self) {
        let d = &self.day;
        println!(
            "kuelik load harness — peak day, {} citizens, {} clients, {} ({}; {} cores: {})",
            d.citizens, d.concurrency, d.backend, self.date, self.machine.cores, self.machine.cpu
        );
        if let Some(slow) = &self.machine.slow_disk {
            println!(
                "slow disk: +{} µs on every fsync/fdatasync (an fsync here now takes {:.2} ms)",
                slow.added_us, slow.fsync_median_ms
            );
        }
        println!(
            "setup {:.1} s; day {:.1} s{}; issued {} (read back {}), failed {}, lost {}; {:.2} applications/s",
            d.setup_secs,
            d.wall_secs,
            if d.timed_out { " (TIMED OUT)" } else { "" },
            d.issued,
            d.verified_issued,
            d.failed,
            d.lost,
            d.applications_per_sec
        );
        println!();
        println!(
            "{:<60} {:>8} {:>9} {:>9} {:>9} {:>9}",
            "endpoint", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for e in std::iter::once(&self.overall).chain(&self.endpoints) {
            println!(
                "{:<60} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                e.route, e.count, e.p50_ms, e.p95_ms, e.p99_ms, e.max_ms
            );
        }
        println!();
        if self.errors.is_empty() {
            println!("errors: none");
        } else {
            println!("errors:");
            for e in &self.errors {
                println!(
                    "  {:<58} {:>4} × {}  {}",
                    e.route, e.status, e.count, e.sample
                );
            }
        }
        for e in &self.tolerated {
            println!("tolerated: {} {} × {}", e.route, e.status, e.count);
        }
        for (what, m) in std::iter::once(("memory", &self.memory))
            .chain(self.server_memory.iter().map(|m| ("server memory", m)))
        {
            println!(
                "{what}: peak {:.0} MiB ({:.0} MB), now {:.0} MiB — {}",
                m.peak_mib, m.peak_mb, m.rss_mib, m.note
            );
        }
        if let Some(c) = &self.ceilings {
            println!();
            println!("ceilings ({} clients each, same run):", d.concurrency);
            for (name, r) in [
                ("GET /healthz (static HTTP)", &c.static_http),
                ("POST /api/v1/eligibility", &c.eligibility),
                ("GET /api/v1/applications/{id} (status)", &c.status),
                (
                    "INSERT per fsynced commit (1 connection)",
                    &c.insert_per_commit,
                ),
                (
                    "PUT registration-point (durable changes)",
                    &c.durable_changes,
                ),
            ] {
                println!(
                    "  {name:<46} {:>9.0} /s  p50 {:>7.2} ms  p99 {:>7.2} ms",
                    r.per_sec, r.p50_ms, r.p99_ms
                );
            }
            println!(
                "  JPEG decode {:.2} ms, photo check {:.2} ms, signature check {:.2} ms (medians, one core); SHA-256 {:.0} MiB/s",
                c.jpeg_decode_ms, c.photo_check_ms, c.signature_check_ms, c.sha256_mib_per_sec
            );
            if c.errors > 0 {
                println!("  ceiling errors: {}", c.errors);
            }
        }
        println!();
        println!(
            "{:<48} {:<44} {:<54} {:>7}  met",
            "figure", "target", "measured", "ratio"
        );
        for t in &self.targets {
            let met = match t.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            println!(
                "{:<48} {:<44} {:<54} {:>6.2}×  {met}",
                t.name, t.goal, t.measured, t.ratio
            );
        }
    }
}
