//! The README's examples are true: this test starts the real binary on a fresh SQLite file, runs
//! every ```sh block of README.md in order as one bash session (with the base URL and the admin
//! password substituted), fails when any command fails, and checks every `# → …` line against
//! what the command before it answered: the status, when one is shown, and every field shown.
//! `…` stands for anything: a value (`"…"`), or more fields or elements (`,…`).

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
/// What the README writes for the server's address and the password it printed.
const README_BASE: &str = "http://127.0.0.1:8080";
const README_PASSWORD: &str = "PRINTED-PASSWORD";
const ADMIN_PASSWORD: &str = "readme-admin-password";
/// Sections whose shell blocks must run (and so must stay fenced ```sh).
const RUNNABLE_SECTIONS: &[&str] = &[
    "## Walk-through with curl",
    "## Deeds: from a good deed to a passbook line",
    "## At the counter (积分超市)",
    "## Console (web pages)",
    "## Passbook statements, exports and reports",
    "## Password reset",
    "## People and the roster (花名册)",
    "## Many communities on one server (a township)",
    "## Checking the ledger yourself",
    "## Reserved orders (预订) with a pickup code",
];

/// One `# →` expectation and the command it describes.
struct Expectation {
    /// Index of the command's first line in its block.
    first_line: usize,
    last_line: usize,
    shown: String,
}

/// The README's ```sh blocks, each as its lines, with the heading of the section it is in.
fn shell_blocks(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut current: Option<Vec<String>> = None;
    for line in readme.lines() {
        match &mut current {
            Some(lines) if line.starts_with("```") => {
                blocks.push((heading.clone(), std::mem::take(lines)));
                current = None;
            }
            Some(lines) => lines.push(line.to_string()),
            None if line == "```sh" => current = Some(Vec::new()),
            None if line.starts_with("## ") => heading = line.to_string(),
            None => {}
        }
    }
    blocks
}

fn expectations(lines: &[String]) -> Vec<Expectation> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(first) = line.strip_prefix("# → ") else {
            continue;
        };
        // The expectation goes on over the comment lines indented under it.
        let mut shown = first.trim().to_string();
        for more in &lines[i + 1..] {
            match more.strip_prefix('#') {
                Some(rest) if rest.starts_with("  ") => {
                    shown.push(' ');
                    shown.push_str(rest.trim());
                }
                _ => break,
            }
        }
        assert!(i > 0, "a `# →` line without a command before it");
        let last_line = i - 1;
        let command = lines[last_line].trim();
        assert!(
            !command.is_empty() && !command.starts_with('#'),
            "`# → {first}` must follow the command it shows, not {command:?}"
        );
        let mut first_line = last_line;
        while first_line > 0 && lines[first_line - 1].trim_end().ends_with('\\') {
            first_line -= 1;
        }
        out.push(Expectation {
            first_line,
            last_line,
            shown,
        });
    }
    out
}

/// The session as one bash script. A command with an expectation writes its answer to
/// `steps/N.out` and its response head (through a `curl` wrapper's `-D`) to `steps/N.head`.
fn script(blocks: &[(String, Vec<String>)], base: &str) -> (String, Vec<String>) {
    let mut script = String::from(
        "set -euo pipefail\n\
         STEP_HEAD=/dev/null\n\
         curl() { command curl --max-time 30 -D \"$STEP_HEAD\" \"$@\"; }\n",
    );
    let mut shown = Vec::new();
    for (heading, lines) in blocks {
        script.push_str(&format!("echo '==== {}'\n", heading.replace('\'', "")));
        let steps = expectations(lines);
        let mut i = 0;
        while i < lines.len() {
            if let Some(step) = steps.iter().find(|s| s.first_line == i) {
                let n = shown.len();
                script.push_str(&format!("STEP_HEAD=\"$PWD/steps/{n}.head\"\n{{\n"));
                for line in &lines[step.first_line..=step.last_line] {
                    script.push_str(&substituted(line, base));
                    script.push('\n');
                }
                script.push_str(&format!(
                    "}} > \"steps/{n}.out\"\nSTEP_HEAD=/dev/null\ncat \"steps/{n}.out\"; echo\n"
                ));
                shown.push(step.shown.clone());
                i = step.last_line + 1;
                continue;
            }
            script.push_str(&substituted(&lines[i], base));
            script.push('\n');
            i += 1;
        }
    }
    (script, shown)
}

fn substituted(line: &str, base: &str) -> String {
    line.replace(README_BASE, base)
        .replace(README_PASSWORD, ADMIN_PASSWORD)
}

/// What a `# →` line shows: the status when given, and the answer with `…` for anything.
fn shown_answer(shown: &str) -> (Option<u16>, Value) {
    let (status, json) = match shown.split_once(' ') {
        Some((code, rest)) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            (code.parse().ok(), rest)
        }
        _ => (None, shown),
    };
    let json = json
        .replace("\"…\"", "\"\\u0000any\"")
        .replace(",…", "")
        .replace("…,", "");
    let value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the README's `# → {shown}` is not JSON with …: {e}"));
    (status, value)
}

/// Whether `actual` has everything `shown` shows; the first difference, by path, when not.
fn agrees(shown: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (shown, actual) {
        (Value::String(s), _) if s == "\u{0}any" => Ok(()),
        (Value::Object(fields), Value::Object(have)) => {
            for (key, value) in fields {
                let inner = format!("{path}.{key}");
                let Some(got) = have.get(key) else {
                    return Err(format!("{inner} is missing"));
                };
                agrees(value, got, &inner)?;
            }
            Ok(())
        }
        (Value::Array(items), Value::Array(have)) => {
            if items.len() != have.len() {
                return Err(format!(
                    "{path} has {} items, the README shows {}",
                    have.len(),
                    items.len()
                ));
            }
            for (i, (a, b)) in items.iter().zip(have).enumerate() {
                agrees(a, b, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path} is {b}, the README shows {a}")),
    }
}

/// The last status line of a response head dump (after any 100 Continue).
fn status_of(head: &str) -> Option<u16> {
    head.lines()
        .rev()
        .find(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &Path) -> (Server, String) {
    let port = moralbank::harness::free_port().unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = crate::common::child::moralbank()
        .env(
            "MORALBANK_DATABASE_URL",
            format!("sqlite://{}", dir.join("moralbank.db").display()),
        )
        .env("MORALBANK_BIND", format!("127.0.0.1:{port}"))
        .env("MORALBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{base}/healthz")).call().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, base)
}

#[test]
fn every_shell_example_in_the_readme_runs_and_answers_as_shown() {
    assert!(README.contains(README_BASE) && README.contains(README_PASSWORD));
    let blocks = shell_blocks(README);
    for section in RUNNABLE_SECTIONS {
        assert!(
            blocks.iter().any(|(heading, _)| heading == section),
            "no ```sh block under {section}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("steps")).unwrap();
    let (_server, base) = start_server(dir.path());
    let (script, shown) = script(&blocks, &base);
    assert!(
        shown.len() >= 15,
        "only {} `# →` lines were found",
        shown.len()
    );
    std::fs::write(dir.path().join("readme.sh"), &script).unwrap();
    // The blocks may run `moralbank` itself (e.g. `moralbank operator add`), on the server's
    // database, as an operator would on the server.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_moralbank"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .arg("readme.sh")
        .current_dir(dir.path())
        .env("PATH", path)
        .env(
            "MORALBANK_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("moralbank.db").display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the README's shell session failed ({status}).\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
    );
    let mut wrong = Vec::new();
    for (n, shown_text) in shown.iter().enumerate() {
        let out =
            std::fs::read_to_string(dir.path().join(format!("steps/{n}.out"))).unwrap_or_default();
        let head =
            std::fs::read_to_string(dir.path().join(format!("steps/{n}.head"))).unwrap_or_default();
        let (status, answer) = shown_answer(shown_text);
        let got_status = status_of(&head);
        match status {
            Some(s) if got_status != Some(s) => {
                wrong.push(format!(
                    "`# → {shown_text}`: status {got_status:?}, answer {out}"
                ));
                continue;
            }
            None if !got_status.is_some_and(|s| (200..300).contains(&s)) => {
                wrong.push(format!(
                    "`# → {shown_text}`: status {got_status:?}, answer {out}"
                ));
                continue;
            }
            _ => {}
        }
        let actual: Value = match serde_json::from_str(&out) {
            Ok(v) => v,
            Err(_) => {
                wrong.push(format!("`# → {shown_text}`: the answer is not JSON: {out}"));
                continue;
            }
        };
        if let Err(difference) = agrees(&answer, &actual, "") {
            wrong.push(format!("`# → {shown_text}`: {difference}; answer {out}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} README answers differ from what it shows:\n{}",
        wrong.len(),
        shown.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_expectation_reader_catches_a_difference() {
    let (status, shown) = shown_answer(r#"422 {"code":"x","n":2.0,"a":[{"k":"…",…}],…}"#);
    assert_eq!(status, Some(422));
    let good: Value = serde_json::json!({"code": "x", "n": 2.0, "a": [{"k": 1, "j": 2}], "z": 0});
    assert!(agrees(&shown, &good, "").is_ok());
    let bad: Value = serde_json::json!({"code": "y", "n": 2.0, "a": [{"k": 1}]});
    assert!(agrees(&shown, &bad, "").is_err());
    let short: Value = serde_json::json!({"code": "x", "n": 2.0, "a": []});
    assert!(agrees(&shown, &short, "").is_err());
}
