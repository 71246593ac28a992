//! The county's reads beside the near-empty database's, requested in turn over HTTP; `verify`
//! of every community; the database's size.

use std::net::SocketAddr;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use moralbank::app::config::Config;
use moralbank::db::schema::{accounts, members};
use moralbank::db::DbUuid;
use moralbank::kernel::{AccountKind, CommunityId};

use super::{build, ADMIN_USERNAME, LONG_MEMBER_NAME};
use crate::shared;

/// Rounds before the measured ones, so caches and both servers are warm.
const WARMUP_ROUNDS: usize = 20;
/// Lines on a measured statement page.
const PAGE_LINES: usize = 100;

/// One kind of read, measured on both databases: latencies in ms, sorted.
pub struct Read {
    pub name: String,
    pub county: Vec<f64>,
    pub empty: Vec<f64>,
}

/// What one server needs to make the reads: its address, a token, the measured community's
/// member accounts in passbook-number order and its long passbook.
struct Target {
    addr: SocketAddr,
    token: String,
    members: Vec<uuid::Uuid>,
    long: (uuid::Uuid, i64),
    today: chrono::NaiveDate,
}

/// Drops and creates the near-empty database on the county's server.
pub fn recreate_database(config: &Config, url: &str) -> Result<(), String> {
    let name = url
        .split('?')
        .next()
        .and_then(|base| base.rsplit('/').next())
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .ok_or("the near-empty database's name must be letters, digits and _")?;
    let mut conn = config.database_url.connect().map_err(|e| e.0)?;
    // One statement a call: several in one would run as one transaction, which these refuse.
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .and_then(|()| conn.batch_execute(&format!("CREATE DATABASE \"{name}\"")))
        .map_err(|e| e.to_string())
}

/// Every read, on both databases in turn, `requests` times each after a warm-up.
pub fn reads(county: &Config, empty: &Config, requests: usize) -> Result<Vec<Read>, String> {
    let targets = [target(county)?, target(empty)?];
    let names = [
        "balance (GET balance, a random member)".to_string(),
        format!(
            "statement page ({PAGE_LINES} lines, middle of a {}-line passbook)",
            targets[0].long.1
        ),
        "notice board (公示栏)".into(),
        "honor roll, this month (光荣榜)".into(),
        "period summary, this month".into(),
    ];
    let mut reads: Vec<Read> = names
        .into_iter()
        .map(|name| Read {
            name,
            county: Vec::with_capacity(requests),
            empty: Vec::with_capacity(requests),
        })
        .collect();
    let mut pick: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..WARMUP_ROUNDS + requests {
        pick ^= pick << 13;
        pick ^= pick >> 7;
        pick ^= pick << 17;
        for (kind, read) in reads.iter_mut().enumerate() {
            for (which, t) in targets.iter().enumerate() {
                let path = path(t, kind, pick);
                let started = Instant::now();
                let (status, answer) = shared::http_get(t.addr, &path, &t.token)?;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                if status != 200 {
                    return Err(format!(
                        "{path} answered {status}: {}",
                        String::from_utf8_lossy(&answer)
                    ));
                }
                check_answer(kind, &answer)?;
                if round >= WARMUP_ROUNDS {
                    if which == 0 {
                        &mut read.county
                    } else {
                        &mut read.empty
                    }
                    .push(ms);
                }
            }
        }
    }
    for read in &mut reads {
        read.county.sort_by(f64::total_cmp);
        read.empty.sort_by(f64::total_cmp);
    }
    Ok(reads)
}

/// The request of `kind` on `t`; `pick` chooses the member for a balance.
fn path(t: &Target, kind: usize, pick: u64) -> String {
    let month = t.today.format("%Y-%m");
    match kind {
        0 => format!(
            "/api/v1/accounts/{}/balance",
            t.members[(pick % t.members.len() as u64) as usize]
        ),
        1 => format!(
            "/api/v1/accounts/{}/statement?limit={PAGE_LINES}&cursor={}",
            t.long.0,
            t.long.1 / 2
        ),
        2 => "/api/v1/notices".into(),
        3 => format!("/api/v1/reports/honor-roll?month={month}"),
        _ => format!("/api/v1/reports/summary?from={month}-01&to={}", t.today),
    }
}

/// An answer that has what the read is for: lines, notices, names, totals.
fn check_answer(kind: usize, answer: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(answer);
    let needle = match kind {
        0 => "\"balance\"",
        1 => "\"balance_after\"",
        2 => "公示中的好事",
        3 => "\"earned\"",
        _ => "\"issued\"",
    };
    if text.contains(needle) {
        Ok(())
    } else {
        Err(format!("an answer lacks {needle}: {text}"))
    }
}

/// Starts a server on `config`'s database and finds what the reads need.
fn target(config: &Config) -> Result<Target, String> {
    let mut conn = config.database_url.connect().map_err(|e| e.0)?;
    let community: CommunityId =
        moralbank::communities::store::community_by_code(&mut conn, &build::code(0))
            .map_err(|e| e.to_string())?
            .ok_or("the measured community is missing")?
            .id
            .into();
    let rows: Vec<(DbUuid, String, i64)> = accounts::table
        .inner_join(members::table.on(members::id.nullable().eq(accounts::member_id)))
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(AccountKind::Member))
        .select((accounts::id, members::name, accounts::last_seq))
        .order(members::member_no)
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    let long = rows
        .iter()
        .find(|(_, name, _)| name == LONG_MEMBER_NAME)
        .map(|(id, _, seq)| (id.0, *seq))
        .ok_or("the long passbook is missing")?;
    let members = rows
        .iter()
        .filter(|(_, name, _)| name != LONG_MEMBER_NAME)
        .map(|(id, _, _)| id.0)
        .collect();
    let today =
        moralbank::members::store::community_today(&mut conn, community, moralbank::db::now_utc())
            .map_err(|e| e.to_string())?;
    let addr = shared::start_server(config.clone())?;
    let token = shared::http_login(addr, Some(&build::code(0)), ADMIN_USERNAME)?;
    Ok(Target {
        addr,
        token,
        members,
        long,
        today,
    })
}

/// The reads' table: p50 and p99 on each database and the ratio of the county's to the
/// near-empty database's.
pub fn print_reads(reads: &[Read]) {
    println!(
        "| read | near-empty p50 / p99 ms | county p50 / p99 ms | county ÷ near-empty p50 (p99) |"
    );
    println!("|---|---|---|---|");
    for read in reads {
        let (e50, e99) = (
            shared::percentile(&read.empty, 0.5),
            shared::percentile(&read.empty, 0.99),
        );
        let (c50, c99) = (
            shared::percentile(&read.county, 0.5),
            shared::percentile(&read.county, 0.99),
        );
        println!(
            "| {} | {e50:.2} / {e99:.2} | {c50:.2} / {c99:.2} | {:.2} ({:.2}) |",
            read.name,
            c50 / e50,
            c99 / e99
        );
    }
    let worst = reads
        .iter()
        .map(|r| shared::percentile(&r.county, 0.5) / shared::percentile(&r.empty, 0.5))
        .fold(0.0, f64::max);
    println!("worst read ratio (p50): {worst:.2} (target <= 1.5)");
}

/// What `verify` of the county found.
pub struct Verified {
    pub clean: bool,
    pub postings: u64,
}

/// `verify` of every community, `threads` at a time, with a progress bar; timed.
pub fn verify(config: &Config, threads: usize) -> Result<Verified, String> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {pos}/{len} communities [{bar:30}] {elapsed_precise} (about {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let url = config.database_url.clone();
    let report = moralbank::ledger::verify::verify_database(&url, threads, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "county verify: {} in {:.1} s ({threads} at a time) over {} transactions and {} postings",
        if report.ok { "clean" } else { "PROBLEMS" },
        started.elapsed().as_secs_f64(),
        report.checked_transactions,
        report.checked_postings
    );
    for problem in report.problems.iter().take(5) {
        println!("  {}: {}", problem.kind, problem.detail);
    }
    Ok(Verified {
        clean: report.ok,
        postings: report.checked_postings,
    })
}

/// The database's size, in all and per million postings.
pub fn print_size(config: &Config, postings: u64) -> Result<(), String> {
    #[derive(QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        bytes: i64,
    }
    let mut conn = config.database_url.connect().map_err(|e| e.0)?;
    let size: Size = moralbank::with_backend!(&mut conn, |c| {
        diesel::sql_query("SELECT pg_database_size(current_database()) AS bytes").get_result(c)
    })
    .map_err(|e| e.to_string())?;
    let mib = size.bytes as f64 / (1024.0 * 1024.0);
    println!(
        "database size: {mib:.0} MiB for {postings} postings, {:.0} MiB per million postings",
        mib / (postings as f64 / 1e6).max(1e-6)
    );
    Ok(())
}
