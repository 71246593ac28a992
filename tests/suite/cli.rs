//! The command line as a newcomer meets it: output piped into `head`, a mistyped database path,
//! logs redirected to a file.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::child::moralbank;
use crate::common::{Backend, TestApp, ADMIN_PASSWORD};

/// Runs the command with its standard output closed early by the reader, as `| head -c 10`
/// does, and returns (exit code, standard error). With `read_first` the reader takes a few bytes
/// before it closes (for output larger than a pipe holds); without, it closes at once, before
/// the command has printed anything.
fn into_a_closed_pipe(mut command: Command, read_first: bool) -> (Option<i32>, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    if read_first {
        let mut first = [0_u8; 10];
        let _ = stdout.read(&mut first);
    }
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn the_openapi_command_piped_into_head_exits_quietly() {
    let mut command = moralbank();
    command.arg("openapi");
    let (code, stderr) = into_a_closed_pipe(command, true);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "nothing on standard error");
}

fn every_printing_command_exits_quietly_into_a_closed_pipe(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let member = app.create_member("管道");
    let mut commands: Vec<(&str, Command)> = Vec::new();
    let mut verify = moralbank();
    verify.arg("verify");
    commands.push(("verify", verify));
    let mut migrate = moralbank();
    migrate.arg("migrate");
    commands.push(("migrate", migrate));
    let mut add = moralbank();
    add.args(["user", "add", "--username", "piped", "--roles", "resident"])
        .args(["--member-no", member["member_no"].as_str().unwrap()])
        .arg("--password-stdin");
    commands.push(("user add", add));
    if app.backend == Backend::Sqlite {
        let mut backup = moralbank();
        backup.arg("backup").arg(dir.path().join("copy.db"));
        commands.push(("backup", backup));
    }
    for (what, mut command) in commands {
        command
            .env("MORALBANK_DATABASE_URL", &app.db.url)
            .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD);
        if what == "user add" {
            // The password comes from a file on standard input.
            let password = dir.path().join("password");
            std::fs::write(&password, "piped-password-1\n").unwrap();
            let mut child = command
                .stdin(std::fs::File::open(&password).unwrap())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            drop(child.stdout.take());
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "{what}: {stderr}");
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
            continue;
        }
        let (code, stderr) = into_a_closed_pipe(command, false);
        assert_eq!(code, Some(0), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
}

#[test]
fn commands_that_read_a_database_never_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo").join("moralbank.db");
    let missing_here = dir.path().join("moralbnak.db");
    for path in [&missing, &missing_here] {
        let url = format!("sqlite://{}", path.display());
        for args in [
            vec!["verify".to_string()],
            vec![
                "backup".to_string(),
                dir.path().join("copy.db").display().to_string(),
            ],
            vec![
                "user".into(),
                "add".into(),
                "--username".into(),
                "clerk1".into(),
                "--roles".into(),
                "clerk".into(),
                "--password-stdin".into(),
            ],
        ] {
            let mut child = moralbank()
                .args(&args)
                .env("MORALBANK_DATABASE_URL", &url)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            let _ = child.stdin.take().unwrap().write_all(b"clerk-password-1\n");
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
            assert_eq!(
                stderr.trim_end(),
                format!("moralbank: no database at {}", path.display()),
                "{args:?}"
            );
            assert!(!path.exists(), "{args:?} created {}", path.display());
            assert!(!dir.path().join("copy.db").exists(), "{args:?}");
        }
    }
    // migrate is one of the two commands that create a database.
    let url = format!("sqlite://{}", missing_here.display());
    let output = moralbank()
        .arg("migrate")
        .env("MORALBANK_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(missing_here.exists());
    let output = moralbank()
        .arg("verify")
        .env("MORALBANK_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn logs_carry_no_colour_when_standard_error_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = moralbank()
        .env(
            "MORALBANK_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("m.db").display()),
        )
        .env("MORALBANK_BIND", "127.0.0.1:0")
        .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let started = Instant::now();
    let mut logged = String::new();
    while !logged.contains("moralbank serving") && started.elapsed() < Duration::from_secs(60) {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        logged.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(logged.contains("moralbank serving"), "{logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "ANSI escapes in the log: {logged:?}"
    );
}

/// `user add` many times over: every run exits 0 with nothing on standard error. On PostgreSQL
/// a pool that kept opening a spare connection in the background crashed about one run in five
/// with SIGSEGV after printing "created user" (OpenSSL tearing down under a TLS handshake at
/// exit), so one run proves little and twenty-five say something.
fn one_shot_commands_exit_cleanly_every_time(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "one-shot-password-1\n").unwrap();
    for run in 0..25 {
        let output = moralbank()
            .args(["user", "add", "--username", &format!("once{run}")])
            .args(["--roles", "clerk", "--password-stdin"])
            .env("MORALBANK_DATABASE_URL", &app.db.url)
            .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(std::fs::File::open(&password).unwrap())
            .output()
            .unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "run {run}: {:?} {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

both_backends!(
    every_printing_command_exits_quietly_into_a_closed_pipe,
    one_shot_commands_exit_cleanly_every_time
);
