//! The county benchmark: a county's worth of communities on one PostgreSQL, built through the
//! ledger engine (bench/county/build.rs), then the reads a resident, a clerk and the committee
//! make, measured on it beside the same reads on a near-empty database holding only the measured
//! community, in turn, in one run (bench/county/measure.rs); and `verify` of every community,
//! several at a time, timed.

mod build;
mod measure;

use std::time::Instant;

use moralbank::app::config::Config;
use moralbank::db::BackendKind;

use crate::shared::PASSWORD;

/// The measured community's admin, in every community.
pub const ADMIN_USERNAME: &str = "county-admin";
/// The member of the measured community whose passbook has many lines.
pub const LONG_MEMBER_NAME: &str = "长存折居民";
/// The server's sweeps stay out of the way of the measurement.
const SWEEP_INTERVAL_MS: u64 = 600_000;

/// What `moralbank-bench county` was asked for.
pub struct Options {
    pub database_url: String,
    /// 1.0 is the county: 1,000 communities, 3,000,000 members, 10,000,000 postings.
    pub scale: f64,
    /// Build threads (each founds communities and feeds the one writer) and verify threads.
    pub threads: usize,
    /// Measured requests of each kind on each database.
    pub requests: usize,
}

/// How big a county is built.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub communities: usize,
    /// Members of each community.
    pub members: usize,
    /// Deeds credited at once in each community (two postings each).
    pub credited_deeds: usize,
    /// Deeds on public notice in each community (no postings yet).
    pub notice_deeds: usize,
    /// Lines of the long passbook in the measured community.
    pub long_lines: usize,
}

impl Shape {
    /// At scale 1: 1,000 communities of 3,000 members; each member's opening and 2,000 credited
    /// deeds make 10,000 postings a community; the measured community's long passbook has 10,000
    /// lines (20,000 postings more).
    pub fn at(scale: f64) -> Shape {
        let scaled = |n: f64, least: usize| ((n * scale).round() as usize).max(least);
        Shape {
            communities: scaled(1_000.0, 2),
            members: scaled(3_000.0, 3),
            credited_deeds: scaled(2_000.0, 2),
            notice_deeds: scaled(20.0, 2),
            long_lines: scaled(10_000.0, 10),
        }
    }

    /// The postings the whole build writes.
    pub fn postings(&self) -> u64 {
        let per_community = 2 * (self.members + self.credited_deeds) as u64;
        per_community * self.communities as u64 + 2 * self.long_lines as u64
    }

    /// Only the measured community: what the near-empty database holds.
    fn near_empty(&self) -> Shape {
        Shape {
            communities: 1,
            ..*self
        }
    }
}

/// Builds (or finishes building) the county, builds the near-empty database beside it, measures
/// both and verifies the county.
pub fn run(opts: Options) -> Result<(), String> {
    let config = config(opts.database_url.clone())?;
    if config.database_url.kind() != BackendKind::Postgres {
        return Err("the county benchmark runs on PostgreSQL: give a postgres:// URL".into());
    }
    let empty_url = near_empty_url(&opts.database_url)?;
    let shape = Shape::at(opts.scale);
    println!(
        "county: {} communities of {} members, {} postings planned ({})",
        shape.communities,
        shape.members,
        shape.postings(),
        config.database_url.redacted()
    );
    let admin_hash = moralbank::auth::password::hash_password(PASSWORD)?;

    let started = Instant::now();
    crate::shared::bootstrap(&config)?;
    let bar = progress_bar(shape.communities);
    let tally = build::build(&config, &shape, opts.threads, &admin_hash, &|tally| {
        bar.set_position(
            tally
                .communities_done
                .load(std::sync::atomic::Ordering::Relaxed) as u64,
        );
    })?;
    bar.finish_and_clear();
    let build_secs = started.elapsed().as_secs_f64();
    let commands = tally.commands.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "county build: {build_secs:.0} s in this run, {commands} commands through the engine ({:.0}/s)",
        commands as f64 / build_secs.max(0.001)
    );
    crate::shared::analyze(&config)?;

    measure::recreate_database(&config, &empty_url)?;
    let empty = self::config(empty_url)?;
    crate::shared::bootstrap(&empty)?;
    let small = shape.near_empty();
    build::build(&empty, &small, opts.threads, &admin_hash, &|_| {})?;
    crate::shared::analyze(&empty)?;
    println!("near-empty database: the measured community alone");

    let reads = measure::reads(&config, &empty, opts.requests)?;
    measure::print_reads(&reads);
    let verified = measure::verify(&config, opts.threads)?;
    measure::print_size(&config, verified.postings)?;
    if !verified.clean {
        return Err("the county's ledger did not verify".into());
    }
    Ok(())
}

/// The server's configuration on `url`, as every benchmark starts it.
fn config(url: String) -> Result<Config, String> {
    crate::shared::server_config(url, SWEEP_INTERVAL_MS)
}

/// The near-empty database's URL: the county's, its database name with `_near_empty` added.
fn near_empty_url(url: &str) -> Result<String, String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (server, name) = base
        .rsplit_once('/')
        .filter(|(server, name)| {
            server.contains("//") && !server.ends_with('/') && !name.is_empty()
        })
        .ok_or("the database URL names no database")?;
    Ok(format!("{server}/{name}_near_empty{query}"))
}

fn progress_bar(communities: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(communities as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "building {pos}/{len} communities [{bar:30}] {elapsed_precise} (about {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_near_empty_database_sits_beside_the_county() {
        assert_eq!(
            near_empty_url("postgres://postgres@127.0.0.1:5432/county").unwrap(),
            "postgres://postgres@127.0.0.1:5432/county_near_empty"
        );
        assert_eq!(
            near_empty_url("postgres://h/county?sslmode=disable").unwrap(),
            "postgres://h/county_near_empty?sslmode=disable"
        );
        assert!(near_empty_url("postgres://h/").is_err());
    }

    #[test]
    fn the_full_county_writes_ten_million_postings() {
        let shape = Shape::at(1.0);
        assert_eq!(shape.communities, 1_000);
        assert_eq!(shape.communities * shape.members, 3_000_000);
        assert_eq!(shape.postings(), 10_020_000);
    }
}
