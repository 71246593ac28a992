//! PostgreSQL clusters of a test's own, in temporary folders on their own ports: a primary that
//! can be stopped (the shared server never is) and a streaming standby of it. Made with the
//! server's own tools (`initdb`, `pg_ctl`, `pg_basebackup` under /usr/lib/postgresql/*/bin), run
//! as the `postgres` user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Skips with a notice on a laptop; fails in CI.
pub fn unavailable(what: &str) {
    if in_ci() {
        panic!("{what}: required in CI");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "NOTICE: skipping: {what}");
}

pub fn run(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The server's binaries, whichever version is installed.
fn postgres_bin() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .find(|p| p.join("initdb").exists())
}

/// A folder the `postgres` user owns.
fn postgres_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().ok()?;
    run(Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir.path()))
    .then_some(dir)
}

fn as_postgres(program: &Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

pub struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl PrivateCluster {
    /// A new primary, started, that streaming standbys may copy and follow.
    pub fn create() -> Option<PrivateCluster> {
        let bin = postgres_bin()?;
        let dir = postgres_dir()?;
        let data = dir.path().join("data");
        if !run(as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data))
        {
            return None;
        }
        // initdb's own file already lets local replication in; say so rather than rely on it.
        let hba = data.join("pg_hba.conf");
        let mut lines = std::fs::read_to_string(&hba).ok()?;
        lines.push_str("\nhost replication all 127.0.0.1/32 trust\n");
        std::fs::write(&hba, lines).ok()?;
        let cluster = PrivateCluster {
            bin,
            dir,
            port: moralbank::harness::free_port().ok()?,
        };
        cluster.start().then_some(cluster)
    }

    /// A hot standby of `primary` (`pg_basebackup -R`: it streams and replays the primary's
    /// WAL and answers read-only queries), started on a port of its own.
    pub fn standby_of(primary: &PrivateCluster) -> Option<PrivateCluster> {
        let dir = postgres_dir()?;
        let port = primary.port.to_string();
        if !run(as_postgres(&primary.bin.join("pg_basebackup"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args(["-X", "stream", "-R", "--no-sync", "-D"])
            .arg(dir.path().join("data")))
        {
            return None;
        }
        let standby = PrivateCluster {
            bin: primary.bin.clone(),
            dir,
            port: moralbank::harness::free_port().ok()?,
        };
        standby.start().then_some(standby)
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c wal_level=replica -c max_wal_senders=4",
            self.port,
            self.dir.path().display()
        );
        run(as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("log"))
            .args(args))
    }

    pub fn start(&self) -> bool {
        self.pg_ctl(&["-w", "start"])
    }

    pub fn stop(&self) -> bool {
        self.pg_ctl(&["-w", "-m", "fast", "stop"])
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
