//! The PostgreSQL baseline: `pgbench -b tpcb-like` on a scratch database of the same server, at
//! the same concurrency and for the same time as the scenarios.

use std::process::{Command, Stdio};
use std::time::Duration;

/// pgbench's scale factor (`-s`): 4 branches, 400,000 accounts.
const SCALE: &str = "4";
/// Worker threads pgbench runs its clients on (`-j`).
const THREADS: &str = "2";

/// Transactions per second of `pgbench -b tpcb-like` with `clients` clients for `duration`, on a
/// scratch database made beside the one `url` names and dropped afterwards.
pub(super) fn tps(url: &str, clients: usize, duration: Duration) -> Result<f64, String> {
    let base = url.rsplit_once('/').map(|(b, _)| b).ok_or("bad url")?;
    let scratch = format!("mbbench_pgbench_{}", std::process::id());
    let admin = format!("{base}/postgres");
    let psql = |sql: &str| {
        Command::new("psql")
            .args([&admin, "-qc", sql])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    psql(&format!("DROP DATABASE IF EXISTS {scratch}"));
    if !psql(&format!("CREATE DATABASE {scratch}")) {
        return Err("cannot create the pgbench database".into());
    }
    let target = format!("{base}/{scratch}");
    let text = run(&target, clients, duration);
    psql(&format!("DROP DATABASE IF EXISTS {scratch}"));
    parse_tps(&text?)
}

/// Initializes `target` and runs the benchmark on it; pgbench's output.
fn run(target: &str, clients: usize, duration: Duration) -> Result<String, String> {
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", SCALE, target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !init.success() {
        return Err("pgbench -i failed".into());
    }
    let out = Command::new("pgbench")
        .args([
            "-b",
            "tpcb-like",
            "-c",
            &clients.to_string(),
            "-j",
            THREADS,
            "-T",
            &duration.as_secs().max(1).to_string(),
            target,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `tps = …` figure of pgbench's output.
fn parse_tps(text: &str) -> Result<f64, String> {
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| {
            l.trim_start_matches("tps = ")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no tps in pgbench output: {text}"))
}
