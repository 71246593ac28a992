//! What a load run measured and how it is printed: one table row a scenario, then the ratios the
//! README's targets are about.

use std::collections::BTreeMap;
use std::time::Duration;

use super::client::Outcome;
use crate::shared::percentile;

/// One scenario's line in the table.
pub(super) struct Row {
    name: String,
    per_second: f64,
    p50: f64,
    p99: f64,
    max: f64,
    /// Non-2xx answers as `status×count`, or "none".
    errors: String,
    /// The server's peak RSS by the end of the scenario, in MiB.
    rss: f64,
}

impl Row {
    /// The row of scenario `name` from its clients' `outcome`, with the server's peak `rss`.
    pub fn new(name: &str, outcome: Outcome, rss: f64) -> Row {
        let mut lat = outcome.latencies_ms;
        lat.sort_by(|a, b| a.total_cmp(b));
        let errors: Vec<String> = outcome
            .statuses
            .iter()
            .filter(|(s, _)| !(200..300).contains(*s))
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        Row {
            name: name.into(),
            per_second: outcome.units as f64 / outcome.elapsed.as_secs_f64().max(1e-3),
            p50: percentile(&lat, 0.5),
            p99: percentile(&lat, 0.99),
            max: lat.last().copied().unwrap_or(0.0),
            errors: if errors.is_empty() {
                "none".into()
            } else {
                errors.join(" ")
            },
            rss,
        }
    }

    /// The pgbench baseline's row: a rate only.
    fn pgbench(tps: f64) -> Row {
        Row {
            name: "pgbench -b tpcb-like".into(),
            per_second: tps,
            p50: 0.0,
            p99: 0.0,
            max: 0.0,
            errors: "-".into(),
            rss: 0.0,
        }
    }
}

/// The rates the ratios compare.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rate {
    Healthz,
    Balance,
    Redeem,
    RedeemUnbatched,
    Pgbench,
}

/// The run's measurements so far.
#[derive(Default)]
pub(super) struct Results {
    /// The table, in the order the scenarios ran.
    rows: Vec<Row>,
    rates: BTreeMap<Rate, f64>,
    /// p99 latency of the redemptions with batching on.
    redeem_p99: Option<f64>,
    /// The server's peak RSS by the end of the redemptions with batching on; 0 when not run.
    redeem_rss: f64,
}

impl Results {
    /// Adds a scenario's row; with `rate`, its rate also goes into the ratios.
    pub fn add(&mut self, row: Row, rate: Option<Rate>) {
        if let Some(rate) = rate {
            self.rates.insert(rate, row.per_second);
        }
        self.rows.push(row);
    }

    /// Adds the redemptions with batching on, whose latency and memory have targets of their own.
    pub fn add_redeem(&mut self, row: Row) {
        self.redeem_p99 = Some(row.p99);
        self.redeem_rss = row.rss;
        self.add(row, Some(Rate::Redeem));
    }

    /// Adds the pgbench baseline at `tps` transactions per second.
    pub fn add_pgbench(&mut self, tps: f64) {
        self.add(Row::pgbench(tps), Some(Rate::Pgbench));
    }

    /// Prints the run's heading, the table of scenarios and the table of ratios.
    pub fn print(&self, clients: usize, duration: Duration, pg: bool) {
        println!(
            "\n{} clients, {} s per scenario, backend {}\n",
            clients,
            duration.as_secs(),
            if pg { "PostgreSQL" } else { "SQLite" }
        );
        println!(
            "| scenario | per second | p50 ms | p99 ms | max ms | errors | server peak RSS MiB |"
        );
        println!("|---|---|---|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
                r.name, r.per_second, r.p50, r.p99, r.max, r.errors, r.rss
            );
        }
        self.print_ratios(pg);
    }

    /// The ratios against their targets; the baseline for redemptions is pgbench on PostgreSQL
    /// and healthz on SQLite.
    fn print_ratios(&self, pg: bool) {
        println!("\n| ratio | value |");
        println!("|---|---|");
        if pg {
            println!(
                "| redemptions/s ÷ pgbench tpcb-like tps (target ≥ 2.0) | {} |",
                self.ratio(Rate::Redeem, Rate::Pgbench)
            );
        } else {
            println!(
                "| redemptions/s ÷ healthz/s (target ≥ 0.25) | {} |",
                self.ratio(Rate::Redeem, Rate::Healthz)
            );
        }
        println!(
            "| balance reads/s ÷ healthz/s (target ≥ {}) | {} |",
            if pg { "0.3" } else { "0.5" },
            self.ratio(Rate::Balance, Rate::Healthz)
        );
        println!(
            "| redemptions/s batching on ÷ off (target ≥ 4) | {} |",
            self.ratio(Rate::Redeem, Rate::RedeemUnbatched)
        );
        if let Some(p99) = self.redeem_p99 {
            println!("| p99 redemption latency, batching on (target ≤ 50 ms) | {p99:.1} ms |");
        }
        if self.redeem_rss > 0.0 {
            println!(
                "| server peak RSS during the redemption run (target ≤ 100 MiB) | {:.1} MiB |",
                self.redeem_rss
            );
        }
    }

    /// `a ÷ b` to two places, or "n/a" when either did not run.
    fn ratio(&self, a: Rate, b: Rate) -> String {
        match (self.rates.get(&a), self.rates.get(&b)) {
            (Some(x), Some(y)) if *y > 0.0 => format!("{:.2}", x / y),
            _ => "n/a".into(),
        }
    }
}
