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
