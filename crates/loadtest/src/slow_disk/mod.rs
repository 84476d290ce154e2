//! The slow-disk mode (`--slow-fsync-us N`): the whole run — the harness's own
//! one-insert-per-commit baseline and the server it starts — on a "disk" whose every
//! `fsync`/`fdatasync` costs N µs more, so the report shows what group commit is for. On this
//! VM an fsync costs ≈ 0.1 ms; a real disk's flush ≈ 1 ms.
//!
//! How: a small shim (`slow_fsync.c`) compiled with the system's C compiler and preloaded
//! (`LD_PRELOAD`) into a re-run of this program, which passes it on to the server process.
//! Only SQLite is slowed: a PostgreSQL server is its own process, outside the shim.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const SHIM_SOURCE: &str = include_str!("slow_fsync.c");
/// Set in the re-run: the shim is in place.
pub const ACTIVE: &str = "KUELIK_SLOW_FSYNC_ACTIVE";
/// The shim's delay, µs.
pub const DELAY: &str = "KUELIK_SLOW_FSYNC_US";

/// Whether this process runs under the shim, and with what delay.
pub fn active_delay_us() -> Option<u64> {
    std::env::var(ACTIVE).ok()?;
    std::env::var(DELAY).ok()?.parse().ok()
}

/// Compiles the shim into `dir` and runs this program again with the same arguments under
/// it; returns the re-run's exit status.
pub fn rerun_under_shim(delay_us: u64, dir: &Path) -> Result<ExitCode, String> {
    let shim = compile(dir)?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let status = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("LD_PRELOAD", &shim)
        .env(DELAY, delay_us.to_string())
        .env(ACTIVE, "1")
        .status()
        .map_err(|e| format!("cannot run under the slow-disk shim: {e}"))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(2).clamp(0, 255) as u8
    ))
}

fn compile(dir: &Path) -> Result<PathBuf, String> {
    let source = dir.join("slow_fsync.c");
    let shim = dir.join("libkuelik_slow_fsync.so");
    std::fs::write(&source, SHIM_SOURCE).map_err(|e| format!("{}: {e}", source.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&shim)
        .arg(&source)
        .arg("-ldl")
        .output()
        .map_err(|e| format!("the slow-disk mode needs a C compiler ({cc}): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "compiling the slow-disk shim failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(shim)
}

/// The median time of an fsync of a small file in `dir`, as this process sees it (to show
/// the shim works: under it, at least its delay).
pub fn measured_fsync(dir: &Path) -> Result<Duration, String> {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut times = Vec::with_capacity(21);
    for i in 0..21u8 {
        file.write_all(&[i]).map_err(|e| e.to_string())?;
        let t = Instant::now();
        file.sync_all().map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    let _ = std::fs::remove_file(&path);
    times.sort();
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shim, preloaded into any program, makes its fsync wait the delay asked for.
    #[test]
    fn the_shim_makes_every_fsync_wait() {
        let dir = std::env::temp_dir().join(format!("kuelik-shim-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shim = match compile(&dir) {
            Ok(shim) => shim,
            Err(e) => {
                eprintln!("skipped: {e}");
                return;
            }
        };
        let file = dir.join("data");
        std::fs::write(&file, b"x").unwrap();
        // coreutils' `sync FILE` is one fsync of FILE.
        let started = Instant::now();
        let status = Command::new("sync")
            .arg(&file)
            .env("LD_PRELOAD", &shim)
            .env(DELAY, "300000")
            .status()
            .unwrap();
        let took = started.elapsed();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(status.success());
        assert!(took >= Duration::from_millis(300), "{took:?}");
    }
}
