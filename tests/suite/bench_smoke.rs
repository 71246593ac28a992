//! A few seconds of the benchmark tool on SQLite, so it cannot rot. The full run is in the README.

#[test]
fn the_statement_benchmark_runs_and_its_ledger_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_moralbank-bench"))
        .args(["statement", "--postings", "600", "--requests", "10"])
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.path().join("bench.db").display()),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("verify: clean"), "{stdout}");
    assert!(stdout.contains("ratio big/small p50"), "{stdout}");
}

#[test]
fn the_load_benchmark_runs_and_checks_its_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_moralbank-bench"))
        .args([
            "load",
            "--duration",
            "1",
            "--clients",
            "4",
            "--members",
            "50",
        ])
        .args(["--scenarios", "healthz,balance,redeem,redeem-signing"])
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.path().join("load.db").display()),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("verify clean"), "{stdout}");
    assert!(stdout.contains("| redeem (batching on) |"), "{stdout}");
    assert!(
        stdout.contains("| redeem, a head signed every 10th request of one client |"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ledger checked after redeem, a head signed"),
        "{stdout}"
    );
    assert!(stdout.contains("batching on ÷ off"), "{stdout}");
}

/// The county benchmark on a tiny county: it builds, verifies and measures; run again larger it
/// finishes only what is missing (the build resumes from what the database holds).
#[test]
fn the_county_benchmark_builds_resumes_and_verifies() {
    let Some(db) = crate::common::ScratchDb::new(crate::common::Backend::Postgres) else {
        return;
    };
    let run = |scale: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_moralbank-bench"))
            .args(["county", "--database-url", &db.url, "--scale", scale])
            .args(["--requests", "5", "--threads", "2"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    // 3 communities of 9 members: 9 openings and 6 + 2 deeds each, 30 long lines.
    let first = run("0.003");
    assert!(
        first.contains("county: 3 communities of 9 members"),
        "{first}"
    );
    assert!(first.contains(" 81 commands through the engine"), "{first}");
    assert!(first.contains("county verify: clean"), "{first}");
    assert!(first.contains("| notice board (公示栏) |"), "{first}");
    assert!(first.contains("worst read ratio (p50)"), "{first}");
    assert!(first.contains("MiB per million postings"), "{first}");
    // Larger: one more community (12 openings, 8 + 2 deeds) and 10 more long lines, nothing else.
    let second = run("0.004");
    assert!(
        second.contains(" 32 commands through the engine"),
        "{second}"
    );
    assert!(second.contains("county verify: clean"), "{second}");
    // What the first run wrote verifies together with what the second added: 3 × (9 + 6) + 30
    // transactions, then 12 + 8 and 10 more.
    assert!(
        second.contains(" over 105 transactions and 210 postings"),
        "{second}"
    );
    let base = crate::common::postgres_base_url().unwrap();
    let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&base).unwrap();
    let name = db.url.rsplit('/').next().unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut admin,
        &format!("DROP DATABASE IF EXISTS {name}_near_empty WITH (FORCE)"),
    )
    .unwrap();
}
