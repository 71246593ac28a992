//! What both benchmarks share: the bench password, a bootstrapped database and its admin,
//! adjustments written through the ledger engine, fresh planner statistics and percentiles.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use moralbank::adjustments::plan::{Adjust, AdjustmentKind};
use moralbank::app::config::Config;
use moralbank::commands::{Book, Command, Engine};
use moralbank::db::{self, PooledConn};
use moralbank::kernel::{AccountId, Actor, CommunityId, Points, UserId};
use moralbank::ledger::{EngineSettings, IdempotencyClaim};

/// The password of the bootstrap admin and of every bench clerk.
pub const PASSWORD: &str = "bench-password-1";
/// Commands per `execute_many` call while filling the ledger: one writer batch each.
const FILL_CHUNK: usize = 256;

/// The bench community's admin: who makes the fixture and writes its adjustments.
#[derive(Clone, Copy)]
pub struct Admin {
    pub community: CommunityId,
    pub user: UserId,
}

impl Admin {
    /// One adjustment on `account`, as the adjustments endpoint hands it to the engine.
    pub fn adjustment(
        self,
        account: AccountId,
        kind: AdjustmentKind,
        hundredths: i64,
        key: String,
    ) -> Command {
        Command::Adjust(Adjust {
            community_id: self.community,
            member_account_id: account,
            kind,
            amount: Points::from_hundredths(hundredths),
            reason: "bench".into(),
            actor: Actor {
                user_id: self.user,
                member_id: None,
            },
            idempotency: IdempotencyClaim {
                user_id: self.user,
                key,
                request_hash: "bench".into(),
            },
        })
    }
}

/// Migrates and bootstraps the database as the server does at its first start; gives the admin
/// it made and a connection for writing the fixture.
pub fn bootstrap(config: &Config) -> Result<(Admin, PooledConn), String> {
    let pool = db::build_pool(&config.database_url)?;
    let boot = moralbank::app::bootstrap::bootstrap(config, &pool)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let user = moralbank::users::store::user_by_username(&mut conn, boot.community_id, "admin")
        .map_err(|e| e.to_string())?
        .ok_or("no admin")?
        .id
        .into();
    let admin = Admin {
        community: boot.community_id,
        user,
    };
    Ok((admin, conn))
}

/// Writes each group of commands in turn through one fresh ledger engine, [`FILL_CHUNK`] at a
/// time, so the ledger is real; the first refused command is the error. The commands are made as
/// they are sent, so a million of them never sit in memory at once.
pub fn write_through_engine<G>(config: &Config, groups: G) -> Result<(), String>
where
    G: IntoIterator,
    G::Item: IntoIterator<Item = Command>,
{
    actix_web::rt::System::new().block_on(async {
        let (engine, _writer) = Engine::start(
            config.database_url.clone(),
            Book::default(),
            EngineSettings::default(),
        )
        .map_err(|e| e.to_string())?;
        for group in groups {
            let mut commands = group.into_iter().peekable();
            while commands.peek().is_some() {
                let chunk = commands.by_ref().take(FILL_CHUNK).collect();
                for answer in engine
                    .execute_many(chunk)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    answer.map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    })
}

/// After a bulk fill, refreshes PostgreSQL's planner statistics so the measured queries get the
/// plans they would get in service. SQLite needs nothing.
pub fn analyze(config: &Config) -> Result<(), String> {
    if config.database_url.kind() == db::BackendKind::Postgres {
        use diesel::connection::SimpleConnection;
        let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
        conn.batch_execute("ANALYZE").map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The `p` quantile (0 to 1) of ascending `sorted`, by the nearest rank; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The server's configuration on `url`: any free port, the bench password, a fixed secret, and
/// the sweeps every `sweep_interval_ms` (out of the way of a measurement).
pub fn server_config(url: String, sweep_interval_ms: u64) -> Result<Config, String> {
    let mut config = Config::from_raw(moralbank::app::config::RawSettings {
        database_url: Some(url),
        bind: Some("127.0.0.1:0".into()),
        admin_password: Some(PASSWORD.into()),
        jwt_secret: Some("bench-secret-bench-secret-bench-secret!!".into()),
        ..Default::default()
    })?;
    config.sweep_interval_ms = sweep_interval_ms;
    Ok(config)
}

/// How long one HTTP answer may take.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Starts the server in this process, on its own thread and runtime; its address once it
/// listens.
pub fn start_server(config: Config) -> Result<SocketAddr, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match moralbank::app::start(config) {
                Ok(app) => {
                    let _ = tx.send(Ok(app.addr));
                    let _ = app.server.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    rx.recv().map_err(|e| e.to_string())?
}

/// One GET with the bearer `token` on a fresh connection: the status and the answer, head
/// included.
pub fn http_get(addr: SocketAddr, path: &str, token: &str) -> Result<(u16, Vec<u8>), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(16)]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, answer))
}

/// Logs in as `username` (of `community`, when the server holds several) with the bench
/// password; the access token.
pub fn http_login(
    addr: SocketAddr,
    community: Option<&str>,
    username: &str,
) -> Result<String, String> {
    let community = community
        .map(|c| format!("\"community\":\"{c}\","))
        .unwrap_or_default();
    let body = format!("{{{community}\"username\":\"{username}\",\"password\":\"{PASSWORD}\"}}");
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let start = text
        .find("\"access_token\":\"")
        .ok_or_else(|| format!("login failed: {text}"))?
        + 16;
    let end = text[start..].find('"').ok_or("bad token")? + start;
    Ok(text[start..end].to_string())
}
