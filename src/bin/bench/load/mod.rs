//! The load scenarios: a server child process, N keep-alive clients for a fixed time, latency
//! percentiles, errors by status, the server's peak RSS, baselines (healthz, pgbench) and the
//! ledger checked after every write scenario.
//!
//! [`run`] prepares the fixture (prepare.rs), runs the scenarios (scenarios.rs) with the clients
//! of client.rs, checks the ledger after each write scenario (checks.rs), runs the pgbench
//! baseline (pgbench.rs) and prints the tables (report.rs).

mod checks;
mod client;
mod pgbench;
mod prepare;
mod report;
mod scenarios;

use std::time::Duration;

use moralbank::app::config::{Config, RawSettings};
use moralbank::db;

use crate::shared::PASSWORD;
use report::{Rate, Results};
use scenarios::Bench;

/// Submitted deeds prepared for the mint scenario to approve.
const MINT_DEEDS: usize = 200_000;
/// Clerks made for the redemption clients to share, at most.
const MAX_CLERKS: usize = 8;

/// What `moralbank-bench load` was asked for.
pub struct Options {
    /// The database to use; a fresh temporary SQLite file when absent.
    pub database_url: Option<String>,
    pub clients: usize,
    /// Time per scenario.
    pub duration: Duration,
    pub members: usize,
    /// The scenarios to run, by name; they run in the table's order whatever the order here.
    pub scenarios: Vec<String>,
    /// Whether to run the pgbench baseline (PostgreSQL only).
    pub pgbench: bool,
}

impl Options {
    /// Whether the scenario `name` was asked for.
    fn wants(&self, name: &str) -> bool {
        self.scenarios.iter().any(|x| x == name)
    }
}

/// Prepares the fixture, runs the scenarios asked for, checks the ledger after each write
/// scenario and prints the tables.
pub fn run(opts: Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("moralbank-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = opts
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("load.db").display()));
    let config = Config::from_raw(RawSettings {
        database_url: Some(url.clone()),
        admin_password: Some(PASSWORD.into()),
        ..RawSettings::default()
    })?;
    let deeds = if opts.wants("mint") { MINT_DEEDS } else { 0 };
    println!(
        "preparing {} members, {} deeds on {}",
        opts.members,
        deeds,
        config.database_url.redacted()
    );
    let fixture = prepare::prepare(&config, opts.members, deeds, opts.clients.min(MAX_CLERKS))?;
    let bench = Bench {
        opts: &opts,
        config: &config,
        fixture: &fixture,
    };
    let mut results = Results::default();
    bench.on_batching_server(&url, &mut results)?;
    if opts.wants("redeem") {
        results.add(bench.redeem_unbatched(&url)?, Some(Rate::RedeemUnbatched));
    }
    let pg = config.database_url.kind() == db::BackendKind::Postgres;
    if pg && opts.pgbench {
        match pgbench::tps(&url, opts.clients, opts.duration) {
            Ok(tps) => results.add_pgbench(tps),
            Err(e) => println!("pgbench baseline skipped: {e}"),
        }
    }
    results.print(opts.clients, opts.duration, pg);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
