//! The statement benchmark: one account filled with N passbook lines through the ledger engine,
//! then a 100-line statement page on it against the same page on a 100-line account, requested in
//! turn over HTTP; and `verify` timed over the whole ledger.

use std::net::SocketAddr;
use std::time::Instant;

use moralbank::adjustments::plan::AdjustmentKind;
use moralbank::app::config::Config;
use moralbank::kernel::AccountId;
use moralbank::members::model::MemberName;

use crate::shared::{self, Admin};

/// Passbook lines on the small account, and lines on each measured statement page.
const SMALL_LINES: usize = 100;
/// Requests per account before the measured ones, so caches and the server are warm.
const WARMUP_REQUESTS: usize = 20;
/// A statement answer shorter than this is not a page of lines.
const MIN_PAGE_BYTES: usize = 1000;
/// The server's sweeps stay out of the way of the measurement.
const SWEEP_INTERVAL_MS: u64 = 60_000;

/// What `moralbank-bench statement` was asked for.
pub struct Options {
    /// Passbook lines on the big account.
    pub postings: usize,
    /// The database to fill; a fresh temporary SQLite file when absent.
    pub database_url: Option<String>,
    /// Measured statement requests per account.
    pub requests: usize,
}

/// What the benchmark runs on: the admin who writes the lines and the two accounts compared.
struct Fixture {
    admin: Admin,
    big: AccountId,
    small: AccountId,
}

/// Runs the benchmark and prints its lines; an error when the filled ledger does not verify.
pub fn run(opts: Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("moralbank-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = opts
        .database_url
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let config = config(url)?;
    let fixture = prepare(&config)?;
    fill(&config, &fixture, opts.postings)?;
    shared::analyze(&config)?;
    let verified = verify(&config)?;
    let addr = shared::start_server(config)?;
    let token = shared::http_login(addr, None, "admin")?;
    let (big_ms, small_ms) = measure(addr, &token, &fixture, opts.postings, opts.requests)?;
    print_latencies(opts.postings, &big_ms, &small_ms);
    let _ = std::fs::remove_dir_all(&dir);
    if !verified {
        return Err("the filled ledger did not verify".into());
    }
    Ok(())
}

/// The server's configuration on `url`, as every benchmark starts it.
fn config(url: String) -> Result<Config, String> {
    crate::shared::server_config(url, SWEEP_INTERVAL_MS)
}

/// Bootstraps the database and makes the two members whose accounts are compared.
fn prepare(config: &Config) -> Result<Fixture, String> {
    let (admin, mut conn) = shared::bootstrap(config)?;
    let mut account = |name: &str| -> Result<AccountId, String> {
        let parsed = MemberName::parse(name)?;
        Ok(
            moralbank::members::store::create_member(&mut conn, admin.community, &parsed, None)
                .map_err(|e| e.to_string())?
                .1
                .id
                .into(),
        )
    };
    let big = account("大账户")?;
    let small = account("小账户")?;
    Ok(Fixture { admin, big, small })
}

/// Writes `postings` small corrections on the big account and [`SMALL_LINES`] on the small one,
/// through the ledger engine, and says how fast that went.
fn fill(config: &Config, fixture: &Fixture, postings: usize) -> Result<(), String> {
    println!(
        "filling: {postings} lines on one account, {SMALL_LINES} on another ({})",
        config.database_url.redacted()
    );
    let started = Instant::now();
    let admin = fixture.admin;
    let jobs = [(fixture.big, postings), (fixture.small, SMALL_LINES)];
    shared::write_through_engine(
        config,
        jobs.map(|(account, count)| {
            (0..count).map(move |n| {
                // 1.00 to 1.06 points, so the lines are not all alike.
                let hundredths = 100 + (n % 7) as i64;
                let key = format!("bench-{}-{n}", account.0);
                admin.adjustment(account, AdjustmentKind::Correction, hundredths, key)
            })
        }),
    )?;
    let fill = started.elapsed();
    println!(
        "filled in {:.1}s ({:.0} transactions/s through the engine)",
        fill.as_secs_f64(),
        (postings + SMALL_LINES) as f64 / fill.as_secs_f64()
    );
    Ok(())
}

/// Times `verify` over the whole ledger and prints what it found; whether the ledger is clean.
fn verify(config: &Config) -> Result<bool, String> {
    let started = Instant::now();
    let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
    let report =
        moralbank::ledger::verify::verify_ledger(&mut conn, None).map_err(|e| e.to_string())?;
    let verify_time = started.elapsed();
    println!(
        "verify: {} in {:.1}s over {} transactions and {} postings",
        if report.ok { "clean" } else { "PROBLEMS" },
        verify_time.as_secs_f64(),
        report.checked_transactions,
        report.checked_postings
    );
    Ok(report.ok)
}

/// Statement page latencies in ms, sorted, of the big account and of the small one: a page from
/// the middle of each passbook, the two requested in turn after a warm-up.
fn measure(
    addr: SocketAddr,
    token: &str,
    fixture: &Fixture,
    postings: usize,
    requests: usize,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    // A page from the middle of each passbook: cursor = half of its lines.
    let big_path = format!(
        "/api/v1/accounts/{}/statement?limit={SMALL_LINES}&cursor={}",
        fixture.big.0,
        postings / 2
    );
    let small_path = format!(
        "/api/v1/accounts/{}/statement?limit={SMALL_LINES}",
        fixture.small.0
    );
    for _ in 0..WARMUP_REQUESTS {
        shared::http_get(addr, &big_path, token)?;
        shared::http_get(addr, &small_path, token)?;
    }
    let mut big_ms = Vec::with_capacity(requests);
    let mut small_ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        for (path, out) in [(&big_path, &mut big_ms), (&small_path, &mut small_ms)] {
            let t = Instant::now();
            let (status, answer) = shared::http_get(addr, path, token)?;
            let bytes = answer.len();
            if status != 200 || bytes < MIN_PAGE_BYTES {
                return Err(format!("statement answered {status} with {bytes} bytes"));
            }
            out.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    big_ms.sort_by(|a, b| a.total_cmp(b));
    small_ms.sort_by(|a, b| a.total_cmp(b));
    Ok((big_ms, small_ms))
}

/// The result lines: both accounts' p50 and p99, and the ratio of the p50s.
fn print_latencies(postings: usize, big_ms: &[f64], small_ms: &[f64]) {
    let (big_p50, small_p50) = (
        shared::percentile(big_ms, 0.5),
        shared::percentile(small_ms, 0.5),
    );
    println!(
        "statement page ({SMALL_LINES} lines): {postings}-line account p50 {big_p50:.2} ms p99 {:.2} ms; {SMALL_LINES}-line account p50 {small_p50:.2} ms p99 {:.2} ms",
        shared::percentile(big_ms, 0.99),
        shared::percentile(small_ms, 0.99)
    );
    println!(
        "ratio big/small p50: {:.2} (target <= 1.5)",
        big_p50 / small_p50
    );
}
