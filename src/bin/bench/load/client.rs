//! The server under load and its clients: the server as a child process, keep-alive HTTP/1.1
//! connections, and N clients sending requests for a fixed time while their outcomes are counted.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use moralbank::harness::{sibling_binary, ChildServer};

use crate::shared::PASSWORD;

/// How long one answer may take before the connection counts as broken.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the run checks whether every client has run out of work.
const POLL: Duration = Duration::from_millis(10);

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    /// Connects to the server on `port`, without Nagle's delay.
    fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends one request and reads its answer: the status and the body.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        write!(
            self.writer,
            "{method} {path} HTTP/1.1\r\nHost: bench\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line)?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).to_string()))
    }
}

/// The server under load: the library's child-process harness.
pub(super) struct Server {
    child: ChildServer,
    port: u16,
}

impl Server {
    /// Starts the server on `url` with the writer batching at most `batch_max` commands.
    pub fn start(url: &str, batch_max: usize) -> Result<Server, String> {
        let batch = batch_max.to_string();
        let child = ChildServer::start(
            &sibling_binary()?,
            url,
            &[
                ("MORALBANK_ADMIN_PASSWORD", PASSWORD),
                ("MORALBANK_BATCH_MAX", &batch),
                ("RUST_LOG", "error"),
            ],
        )?;
        let port = child.port();
        Ok(Server { child, port })
    }

    /// Peak resident memory of the server process so far, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.child.peak_rss_mib()
    }

    /// Logs in as `username` with the bench password; the access token.
    pub fn login(&self, username: &str) -> Result<String, String> {
        let mut c = Conn::open(self.port).map_err(|e| e.to_string())?;
        let body = format!("{{\"username\":\"{username}\",\"password\":\"{PASSWORD}\"}}");
        let (status, text) = c
            .send(
                "POST",
                "/api/v1/auth/login",
                "Content-Type: application/json\r\n",
                &body,
            )
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{status} {e}"))?;
        v["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("login {status}: {text}"))
    }

    /// Logs in as each of `usernames`, in order; their tokens.
    pub fn login_all(&self, usernames: &[String]) -> Result<Vec<String>, String> {
        usernames.iter().map(|name| self.login(name)).collect()
    }
}

/// One request a client sends.
pub(super) struct Request {
    pub method: &'static str,
    pub path: String,
    /// Header lines, each ending in CRLF; `Host` and `Content-Length` are added.
    pub headers: String,
    pub body: String,
    /// Units of work it does (deeds approved, say), counted when it succeeds.
    pub units: usize,
}

/// What the clients of a run saw, merged.
#[derive(Default)]
pub(super) struct Outcome {
    /// Latencies of the successful (2xx) requests.
    pub latencies_ms: Vec<f64>,
    /// Answers by status; 0 counts broken connections.
    pub statuses: BTreeMap<u16, usize>,
    /// Successful requests.
    pub ok: usize,
    /// Units of work of the successful requests.
    pub units: usize,
    /// From the start until the stop, or until every client ran out of work.
    pub elapsed: Duration,
}

impl Outcome {
    /// Counts one answer with `status` that took `ms`, of a request worth `units`.
    fn record(&mut self, status: u16, units: usize, ms: f64) {
        *self.statuses.entry(status).or_default() += 1;
        if (200..300).contains(&status) {
            self.ok += 1;
            self.units += units;
            self.latencies_ms.push(ms);
        }
    }

    /// Adds one client's counts to the run's.
    fn merge(&mut self, client: Outcome) {
        self.latencies_ms.extend(client.latencies_ms);
        for (status, n) in client.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.ok += client.ok;
        self.units += client.units;
    }
}

/// Runs `clients` threads for `duration`; `request(client, n)` gives the next request. Returns the
/// merged outcome.
pub(super) fn drive<F>(server: &Server, clients: usize, duration: Duration, request: F) -> Outcome
where
    F: Fn(usize, usize) -> Request + Sync,
{
    drive_until(server, clients, duration, |c, n| Some(request(c, n)))
}

/// Like [`drive`], but a client stops when `request` has no more work (`None`), and the run ends
/// early when every client has stopped; rates are then over the time the work lasted.
pub(super) fn drive_until<F>(
    server: &Server,
    clients: usize,
    duration: Duration,
    request: F,
) -> Outcome
where
    F: Fn(usize, usize) -> Option<Request> + Sync,
{
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(clients);
    let started = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|client| {
                let (stop, request, running) = (&stop, &request, &running);
                s.spawn(move || {
                    let mine = run_client(server.port, client, stop, request);
                    running.fetch_sub(1, Ordering::SeqCst);
                    mine
                })
            })
            .collect();
        let elapsed = wait_for_clients(started, duration, &running);
        stop.store(true, Ordering::Relaxed);
        let mut outcome = Outcome::default();
        for handle in handles {
            match handle.join() {
                Ok(mine) => outcome.merge(mine),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        outcome.elapsed = elapsed;
        outcome
    })
}

/// One client: requests on its own keep-alive connection until `stop`, until `request` has no
/// more work, or until the server cannot be reached. A broken connection counts as status 0 and
/// is opened again.
fn run_client<F>(port: u16, client: usize, stop: &AtomicBool, request: &F) -> Outcome
where
    F: Fn(usize, usize) -> Option<Request>,
{
    let mut mine = Outcome::default();
    let Ok(mut conn) = Conn::open(port) else {
        return mine;
    };
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(r) = request(client, n) else {
            break;
        };
        let started = Instant::now();
        let result = conn.send(r.method, &r.path, &r.headers, &r.body);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok((status, _)) => mine.record(status, r.units, ms),
            Err(_) => {
                *mine.statuses.entry(0).or_default() += 1;
                match Conn::open(port) {
                    Ok(c) => conn = c,
                    Err(_) => break,
                }
            }
        }
        n += 1;
    }
    mine
}

/// Waits until `duration` has passed since `started`, or until no client is running; how long
/// the run lasted.
fn wait_for_clients(started: Instant, duration: Duration, running: &AtomicUsize) -> Duration {
    while started.elapsed() < duration {
        if running.load(Ordering::SeqCst) == 0 {
            return started.elapsed();
        }
        std::thread::sleep(POLL);
    }
    duration
}
