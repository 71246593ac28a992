//! `moralbank-bench`: measurements for the README, taken in one run so ratios are fair on a shared
//! machine.
//!
//! `moralbank-bench statement [--postings N] [--database-url URL]` fills one account with N
//! passbook lines (through the ledger engine, so the ledger is real), then compares the latency
//! of a 100-line statement page on it with the same page on a 100-line account, interleaved, over
//! HTTP; and times `verify` over the whole ledger.

#[path = "bench/load.rs"]
mod load;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use moralbank::adjustments::plan::{Adjust, AdjustmentKind};
use moralbank::app::config::{Config, RawSettings};
use moralbank::commands::{Book, Command, Engine};
use moralbank::db;
use moralbank::kernel::{AccountId, Points};
use moralbank::ledger::{EngineSettings, IdempotencyClaim};
use moralbank::members::model::MemberName;

#[derive(Parser)]
#[command(name = "moralbank-bench")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Statement page latency on a huge account vs a small one, and verify time.
    Statement {
        /// Passbook lines on the big account (each is a 2-posting transaction).
        #[arg(long, default_value_t = 1_000_000)]
        postings: usize,
        /// Database to fill; a fresh temporary SQLite file when absent. Use an empty database.
        #[arg(long)]
        database_url: Option<String>,
        /// Statement requests per account.
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// Throughput and latency at a fixed concurrency: healthz, balance, statement, redeem, mint,
    /// redeem again with group commit off, and (PostgreSQL) a pgbench baseline.
    Load {
        /// Database to use; a fresh temporary SQLite file when absent. Use an empty database.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long, default_value_t = 10_000)]
        members: usize,
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "healthz,balance,statement,redeem,mint"
        )]
        scenarios: Vec<String>,
        /// Run `pgbench -b tpcb-like` on a scratch database of the same server (PostgreSQL).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        pgbench: bool,
    },
}

use load::PASSWORD;

fn main() {
    let cli = Cli::parse();
    let result = match cli.scenario {
        Scenario::Statement {
            postings,
            database_url,
            requests,
        } => statement(postings, database_url, requests),
        Scenario::Load {
            database_url,
            clients,
            duration,
            members,
            scenarios,
            pgbench,
        } => load::run(load::Options {
            database_url,
            clients: clients.clamp(1, 256),
            duration: Duration::from_secs(duration.clamp(1, 600)),
            members: members.clamp(1, 1_000_000),
            scenarios,
            pgbench,
        }),
    };
    if let Err(e) = result {
        eprintln!("moralbank-bench: {e}");
        std::process::exit(1);
    }
}

fn http_get(addr: SocketAddr, path: &str, token: &str) -> Result<(u16, usize), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body).map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(&body[..body.len().min(16)]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.len()))
}

fn http_login(addr: SocketAddr) -> Result<String, String> {
    let body = format!("{{\"username\":\"admin\",\"password\":\"{PASSWORD}\"}}");
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let start = text
        .find("\"access_token\":\"")
        .ok_or_else(|| format!("login failed: {text}"))?
        + 16;
    let end = text[start..].find('"').ok_or("bad token")? + start;
    Ok(text[start..end].to_string())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn statement(postings: usize, database_url: Option<String>, requests: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("moralbank-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let mut config = Config::from_raw(RawSettings {
        database_url: Some(url.clone()),
        bind: Some("127.0.0.1:0".into()),
        admin_password: Some(PASSWORD.into()),
        jwt_secret: Some("bench-secret-bench-secret-bench-secret!!".into()),
        ..RawSettings::default()
    })?;
    config.sweep_interval_ms = 60_000;
    let pool = db::build_pool(&config.database_url)?;
    let boot = moralbank::app::bootstrap::bootstrap(&config, &pool)?;
    let community = boot.community_id;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let admin = moralbank::users::store::user_by_username(&mut conn, "admin")
        .map_err(|e| e.to_string())?
        .ok_or("no admin")?
        .id
        .into();
    let mut account = |name: &str| -> Result<AccountId, String> {
        let parsed = MemberName::parse(name)?;
        Ok(
            moralbank::members::store::create_member(&mut conn, community, &parsed, None)
                .map_err(|e| e.to_string())?
                .1
                .id
                .into(),
        )
    };
    let big = account("大账户")?;
    let small = account("小账户")?;
    drop(conn);

    println!(
        "filling: {postings} lines on one account, 100 on another ({})",
        config.database_url.redacted()
    );
    let started = Instant::now();
    actix_web::rt::System::new().block_on(async {
        let (engine, _writer) = Engine::start(
            config.database_url.clone(),
            Book::default(),
            EngineSettings::default(),
        )
        .map_err(|e| e.to_string())?;
        let adjust = |account: AccountId, n: usize| {
            Command::Adjust(Adjust {
                community_id: community,
                member_account_id: account,
                kind: AdjustmentKind::Correction,
                amount: Points::from_hundredths(100 + (n % 7) as i64),
                reason: "bench".into(),
                actor: moralbank::kernel::Actor {
                    user_id: admin,
                    member_id: None,
                },
                idempotency: IdempotencyClaim {
                    user_id: admin,
                    key: format!("bench-{}-{n}", account.0),
                    request_hash: "bench".into(),
                },
            })
        };
        let jobs = [(big, postings), (small, 100)];
        for (account, count) in jobs {
            let mut done = 0;
            while done < count {
                let chunk = (count - done).min(256);
                let results = engine
                    .execute_many((done..done + chunk).map(|n| adjust(account, n)).collect())
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
                    return Err(e.to_string());
                }
                done += chunk;
            }
        }
        Ok::<_, String>(())
    })?;
    let fill = started.elapsed();
    println!(
        "filled in {:.1}s ({:.0} transactions/s through the engine)",
        fill.as_secs_f64(),
        (postings + 100) as f64 / fill.as_secs_f64()
    );
    if let db::BackendKind::Postgres = config.database_url.kind() {
        let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
        use diesel::connection::SimpleConnection;
        conn.batch_execute("ANALYZE").map_err(|e| e.to_string())?;
    }

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
    drop(conn);

    let (tx, rx) = std::sync::mpsc::channel();
    let server_config = config.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match moralbank::app::start(server_config) {
                Ok(app) => {
                    let _ = tx.send(Ok(app.addr));
                    let _ = app.server.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    let addr = rx.recv().map_err(|e| e.to_string())??;
    let token = http_login(addr)?;
    // A page from the middle of each passbook: cursor = half of its lines.
    let big_path = format!(
        "/api/v1/accounts/{}/statement?limit=100&cursor={}",
        big.0,
        postings / 2
    );
    let small_path = format!("/api/v1/accounts/{}/statement?limit=100", small.0);
    for _ in 0..20 {
        http_get(addr, &big_path, &token)?;
        http_get(addr, &small_path, &token)?;
    }
    let mut big_ms = Vec::with_capacity(requests);
    let mut small_ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        for (path, out) in [(&big_path, &mut big_ms), (&small_path, &mut small_ms)] {
            let t = Instant::now();
            let (status, bytes) = http_get(addr, path, &token)?;
            if status != 200 || bytes < 1000 {
                return Err(format!("statement answered {status} with {bytes} bytes"));
            }
            out.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    big_ms.sort_by(|a, b| a.total_cmp(b));
    small_ms.sort_by(|a, b| a.total_cmp(b));
    let (big_p50, small_p50) = (percentile(&big_ms, 0.5), percentile(&small_ms, 0.5));
    println!(
        "statement page (100 lines): {postings}-line account p50 {big_p50:.2} ms p99 {:.2} ms; 100-line account p50 {small_p50:.2} ms p99 {:.2} ms",
        percentile(&big_ms, 0.99),
        percentile(&small_ms, 0.99)
    );
    println!(
        "ratio big/small p50: {:.2} (target <= 1.5)",
        big_p50 / small_p50
    );
    let _ = std::fs::remove_dir_all(&dir);
    if !report.ok {
        return Err("the filled ledger did not verify".into());
    }
    Ok(())
}
