//! The real `moralbank` binary as a child process, for the code that must stop it the hard way:
//! the crash tests (SIGKILL mid-load), the outage tests, and the benchmark tool. One harness, so
//! the way a server is started, waited for and stopped is the same everywhere.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a child server may take to answer `/readyz` after it was started.
pub const CHILD_READY_SECONDS: u64 = 30;

/// A port nobody listens on right now, for a child to bind a moment later (or to bind again after
/// a restart). It lies below the kernel's ephemeral range: a port from `bind(…:0)` is taken by
/// the next bind to port 0 or outgoing connection, in this process or another, as soon as it is
/// let go, and the test suite starts servers on port 0 and opens connections in many threads at
/// once. Successive calls in one process go round the range, so two children are never given
/// the same port.
pub fn free_port() -> Result<u16, String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: std::sync::OnceLock<AtomicU32> = std::sync::OnceLock::new();
    let (low, high) = ports_below_the_ephemeral_range();
    let span = u32::from(high - low);
    let next = NEXT.get_or_init(|| AtomicU32::new(rand::random::<u32>() % span));
    for _ in 0..256 {
        let port = low + (next.fetch_add(1, Ordering::Relaxed) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(format!("no free port in {low}..{high}"))
}

/// Up to 16384 ports just below the ephemeral range (Linux's `ip_local_port_range`, which
/// starts at 32768 by default).
fn ports_below_the_ephemeral_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|low| *low >= 2048)
        .unwrap_or(32768);
    (ephemeral_low.saturating_sub(16384).max(1024), ephemeral_low)
}

/// The `moralbank` binary beside the running executable (tests and the bench tool live in the
/// same target folder).
pub fn sibling_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("the executable has no folder")?;
    // Test binaries live one level deeper, in target/<profile>/deps.
    for candidate in [dir.join("moralbank"), dir.join("../moralbank")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!("no moralbank binary beside {}", exe.display()))
}

pub struct ChildServer {
    child: Child,
    port: u16,
}

impl ChildServer {
    /// Starts `binary` serving `database_url` on a free port, with the given extra settings, and
    /// waits until it is ready.
    pub fn start(
        binary: &Path,
        database_url: &str,
        settings: &[(&str, &str)],
    ) -> Result<ChildServer, String> {
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .env("MORALBANK_DATABASE_URL", database_url)
            .env("MORALBANK_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut server = ChildServer { child, port };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if self.get_status("/readyz") == Some(200) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the server exited while starting: {status}"));
            }
            if started.elapsed() > Duration::from_secs(CHILD_READY_SECONDS) {
                return Err("the server did not become ready".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The status of a plain GET, or none when nothing answers.
    pub fn get_status(&self, path: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by pid (so it can be sent while clients still hold the server).
    pub fn signal(&self, name: &str) -> Result<(), String> {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{name} failed"))
        }
    }

    /// SIGKILL: the crash the durability tests are about.
    pub fn kill9(&self) -> Result<(), String> {
        self.signal("KILL")
    }

    /// How the process ended, if it has.
    pub fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>, String> {
        self.child.try_wait().map_err(|e| e.to_string())
    }

    /// Waits for the process to end and says how.
    pub fn wait(&mut self) -> Result<std::process::ExitStatus, String> {
        self.child.wait().map_err(|e| e.to_string())
    }

    /// Peak resident memory of the server so far, in MiB (Linux `VmHWM`).
    pub fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<f64>().ok())
                })
            })
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
