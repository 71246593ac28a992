//! `moralbank-bench`: measurements for the README, taken in one run so ratios are fair on a shared
//! machine.
//!
//! `moralbank-bench statement [--postings N] [--database-url URL]` fills one account with N
//! passbook lines (through the ledger engine, so the ledger is real), then compares the latency
//! of a 100-line statement page on it with the same page on a 100-line account, interleaved, over
//! HTTP; and times `verify` over the whole ledger (bench/statement.rs).
//!
//! `moralbank-bench county --database-url postgres://…` builds a county (1,000 communities,
//! 3,000,000 members, 10,000,000 postings at `--scale 1`) through the ledger engine, resuming
//! where an earlier run stopped, then measures reads on it beside a near-empty database and
//! times `verify` of every community (bench/county/).
//!
//! `moralbank-bench load` measures throughput and latency of each scenario at a fixed concurrency
//! and checks the ledger after every write scenario (bench/load/).

#[path = "bench/county/mod.rs"]
mod county;
#[path = "bench/load/mod.rs"]
mod load;
#[path = "bench/shared.rs"]
mod shared;
#[path = "bench/statement.rs"]
mod statement;

use std::time::Duration;

use clap::{Parser, Subcommand};

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
    /// A county on one PostgreSQL: build (resumable), reads beside a near-empty database,
    /// verify of every community, size per million postings.
    County {
        /// The county's PostgreSQL database (created beforehand); a database named like it with
        /// `_near_empty` added is dropped and made again on the same server.
        #[arg(long)]
        database_url: String,
        /// 1 is 1,000 communities of 3,000 members and 10,000,000 postings; smaller for a smoke.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Build and verify threads.
        #[arg(long, default_value_t = 3)]
        threads: usize,
        /// Measured requests of each read on each database.
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
        /// Of healthz, balance, statement, redeem (then again with batching off), mint, and
        /// redeem-signing (redemptions while one client signs ledger heads, then again without).
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

fn main() {
    let cli = Cli::parse();
    let result = match cli.scenario {
        Scenario::Statement {
            postings,
            database_url,
            requests,
        } => statement::run(statement::Options {
            postings,
            database_url,
            requests,
        }),
        Scenario::County {
            database_url,
            scale,
            threads,
            requests,
        } => county::run(county::Options {
            database_url,
            scale: scale.clamp(0.0001, 10.0),
            threads: threads.clamp(1, 64),
            requests: requests.clamp(1, 100_000),
        }),
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
