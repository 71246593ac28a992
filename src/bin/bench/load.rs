//! The load scenarios: a server child process, N keep-alive clients for a fixed time, latency
//! percentiles, errors by status, the server's peak RSS, baselines (healthz, pgbench) and the
//! ledger checked after every write scenario.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use moralbank::adjustments::plan::{Adjust, AdjustmentKind};
use moralbank::app::config::{Config, RawSettings};
use moralbank::commands::{Book, Command as LedgerCommand, Engine};
use moralbank::db::{self, DbUuid};
use moralbank::deeds::model::{DeedAction, DeedStatus, Direction, Unit};
use moralbank::deeds::store::{self as deed_store, DeedEventRow, DeedRow, RuleTerms};
use moralbank::harness::{sibling_binary, ChildServer};
use moralbank::kernel::{AccountId, CommunityId, DeedId, Points, Role, RoleSet, UserId};
use moralbank::ledger::{EngineSettings, IdempotencyClaim};
use moralbank::members::model::MemberName;
use moralbank::shop::store as shop;

pub const PASSWORD: &str = "bench-password-1";
/// Starting balance of every member: enough that redemptions never run dry in a run.
const MEMBER_BALANCE: i64 = 1_000_000 * 100;
const ITEM_PRICE: i64 = 100;

pub struct Options {
    pub database_url: Option<String>,
    pub clients: usize,
    pub duration: Duration,
    pub members: usize,
    pub scenarios: Vec<String>,
    pub pgbench: bool,
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

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
struct Server {
    child: ChildServer,
    port: u16,
}

impl Server {
    fn start(url: &str, batch_max: usize) -> Result<Server, String> {
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
    fn peak_rss_mib(&self) -> f64 {
        self.child.peak_rss_mib()
    }

    fn login(&self, username: &str) -> Result<String, String> {
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
}

/// What the fixture made: ids the scenarios use.
struct Fixture {
    accounts: Vec<AccountId>,
    member_ids: Vec<uuid::Uuid>,
    goods: uuid::Uuid,
    deeds: Vec<uuid::Uuid>,
    clerks: Vec<String>,
}

fn prepare(
    config: &Config,
    members: usize,
    deeds: usize,
    clerks: usize,
) -> Result<Fixture, String> {
    let pool = db::build_pool(&config.database_url)?;
    let boot = moralbank::app::bootstrap::bootstrap(config, &pool)?;
    let community: CommunityId = boot.community_id;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let admin: UserId = moralbank::users::store::user_by_username(&mut conn, "admin")
        .map_err(|e| e.to_string())?
        .ok_or("no admin")?
        .id
        .into();
    let hash = moralbank::auth::password::hash_password(PASSWORD)?;
    let mut clerk_names = Vec::new();
    for i in 0..clerks {
        let name = format!("bench-clerk-{i}");
        let mut roles = RoleSet::default();
        roles.insert(Role::Clerk);
        moralbank::users::store::insert_user(
            &mut conn,
            &moralbank::users::store::NewUser {
                community,
                username: &name,
                password_hash: &hash,
                roles,
                member: None,
            },
        )
        .map_err(|e| e.to_string())?;
        clerk_names.push(name);
    }
    let mut accounts = Vec::with_capacity(members);
    let mut member_ids = Vec::with_capacity(members);
    db::write_transaction(&mut conn, |conn| {
        for i in 0..members {
            let name = MemberName::parse(&format!("压测居民{i}"))
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
            let (m, a) = moralbank::members::store::create_member(conn, community, &name, None)
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
            accounts.push(AccountId::from(a.id));
            member_ids.push(m.id.0);
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(|e| e.to_string())?;
    let goods = db::write_transaction(&mut conn, |conn| {
        shop::create_goods(
            conn,
            &shop::NewGoods {
                community,
                sku: "BENCH",
                name: "压测商品",
                price: ITEM_PRICE,
                stock: 1_000_000_000,
                monthly_limit: None,
                actor: admin,
            },
        )
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
    })
    .map_err(|e| e.to_string())?;
    let (rule, version) = db::write_transaction(&mut conn, |conn| {
        deed_store::create_rule(
            conn,
            community,
            "BENCH",
            &RuleTerms {
                name: "压测好事".into(),
                category: "压测".into(),
                points: 100,
                unit: Unit::Event,
                direction: Direction::Earn,
                monthly_cap: None,
                per_deed_cap: None,
            },
            admin,
        )
        .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
    })
    .map_err(|e| e.to_string())?;
    let mut deed_ids = Vec::with_capacity(deeds);
    let today = (db::now_utc() + chrono::Duration::hours(8))
        .date()
        .to_string();
    db::write_transaction(&mut conn, |conn| {
        for i in 0..deeds {
            let now = db::now_utc();
            let a = accounts[i % accounts.len()];
            let deed = DeedRow {
                id: DeedId::new().into(),
                community_id: community.into(),
                member_id: DbUuid(member_ids[i % member_ids.len()]),
                account_id: a.into(),
                rule_id: rule.id,
                rule_version_id: version.id,
                rule_name: version.name.clone(),
                direction: Direction::Earn,
                quantity: 100,
                counted_quantity: 100,
                points: 100,
                monthly_cap: None,
                occurred_on: today.clone(),
                description: "压测".into(),
                evidence: "[]".into(),
                status: DeedStatus::Submitted,
                submitted_by: DbUuid::from(admin),
                cap_month: None,
                notice_ends_at: None,
                applied_points: None,
                credit_journal_id: None,
                reversal_journal_id: None,
                version: 0,
                created_at: now,
                updated_at: now,
                first_checked_by: None,
            };
            let event = DeedEventRow {
                id: DbUuid(uuid::Uuid::now_v7()),
                deed_id: deed.id,
                community_id: community.into(),
                action: DeedAction::Submit,
                from_status: None,
                to_status: DeedStatus::Submitted,
                actor_id: Some(admin.into()),
                reason: None,
                created_at: now,
            };
            deed_store::insert_deed(conn, &deed, &event)?;
            deed_ids.push(deed.id.0);
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(|e| e.to_string())?;
    drop(conn);
    // Balances through the engine, so the ledger is real.
    actix_web::rt::System::new().block_on(async {
        let (engine, _w) = Engine::start(
            config.database_url.clone(),
            Book::default(),
            EngineSettings::default(),
        )
        .map_err(|e| e.to_string())?;
        for chunk in accounts.chunks(256) {
            let commands = chunk
                .iter()
                .map(|a| {
                    LedgerCommand::Adjust(Adjust {
                        community_id: community,
                        member_account_id: *a,
                        kind: AdjustmentKind::OpeningBalance,
                        amount: Points::from_hundredths(MEMBER_BALANCE),
                        reason: "bench".into(),
                        actor: moralbank::kernel::Actor {
                            user_id: admin,
                            member_id: None,
                        },
                        idempotency: IdempotencyClaim {
                            user_id: admin,
                            key: format!("open-{}", a.0),
                            request_hash: "bench".into(),
                        },
                    })
                })
                .collect();
            for r in engine
                .execute_many(commands)
                .await
                .map_err(|e| e.to_string())?
            {
                r.map_err(|e| e.to_string())?;
            }
        }
        Ok::<_, String>(())
    })?;
    if config.database_url.kind() == db::BackendKind::Postgres {
        use diesel::connection::SimpleConnection;
        let mut c = config.database_url.connect().map_err(|e| e.to_string())?;
        c.batch_execute("ANALYZE").map_err(|e| e.to_string())?;
    }
    Ok(Fixture {
        accounts,
        member_ids,
        goods: goods.id.0,
        deeds: deed_ids,
        clerks: clerk_names,
    })
}

#[derive(Default)]
struct Outcome {
    latencies_ms: Vec<f64>,
    statuses: BTreeMap<u16, usize>,
    ok: usize,
    units: usize,
    /// From the start until the stop, or until every client ran out of work.
    elapsed: Duration,
}

struct Row {
    name: String,
    per_second: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: String,
    rss: f64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One request: (method, path, headers, body, units of work).
type Request = (String, String, String, String, usize);

/// Runs `clients` threads for `duration`; `request(client, n)` gives the next request. Returns the
/// merged outcome.
fn drive<F>(server: &Server, clients: usize, duration: Duration, request: F) -> Outcome
where
    F: Fn(usize, usize) -> Request + Sync,
{
    drive_until(server, clients, duration, |c, n| Some(request(c, n)))
}

/// Like [`drive`], but a client stops when `request` has no more work (`None`), and the run ends
/// early when every client has stopped; rates are then over the time the work lasted.
fn drive_until<F>(server: &Server, clients: usize, duration: Duration, request: F) -> Outcome
where
    F: Fn(usize, usize) -> Option<Request> + Sync,
{
    let merged = Mutex::new(Outcome::default());
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(clients);
    let started = Instant::now();
    let mut elapsed = duration;
    std::thread::scope(|s| {
        for client in 0..clients {
            let (merged, stop, request, running) = (&merged, &stop, &request, &running);
            s.spawn(move || {
                let mut mine = Outcome::default();
                let Ok(mut conn) = Conn::open(server.port) else {
                    running.fetch_sub(1, Ordering::SeqCst);
                    return;
                };
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Some((method, path, headers, body, units)) = request(client, n) else {
                        break;
                    };
                    let started = Instant::now();
                    let result = conn.send(&method, &path, &headers, &body);
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    match result {
                        Ok((status, _)) => {
                            *mine.statuses.entry(status).or_default() += 1;
                            if (200..300).contains(&status) {
                                mine.ok += 1;
                                mine.units += units;
                                mine.latencies_ms.push(ms);
                            }
                        }
                        Err(_) => {
                            *mine.statuses.entry(0).or_default() += 1;
                            match Conn::open(server.port) {
                                Ok(c) => conn = c,
                                Err(_) => break,
                            }
                        }
                    }
                    n += 1;
                }
                let mut m = merged.lock().unwrap();
                m.latencies_ms.extend(mine.latencies_ms);
                for (k, v) in mine.statuses {
                    *m.statuses.entry(k).or_default() += v;
                }
                m.ok += mine.ok;
                m.units += mine.units;
                drop(m);
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while started.elapsed() < duration {
            if running.load(Ordering::SeqCst) == 0 {
                elapsed = started.elapsed();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let mut outcome = merged.into_inner().unwrap();
    outcome.elapsed = elapsed;
    outcome
}

fn row(name: &str, outcome: Outcome, rss: f64) -> Row {
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
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
        max: lat.last().copied().unwrap_or(0.0),
        errors: if errors.is_empty() {
            "none".into()
        } else {
            errors.join(" ")
        },
        rss,
    }
}

/// Σ member balances and the goods' stock, straight from the database.
fn ledger_totals(config: &Config, goods: uuid::Uuid) -> Result<(i64, i64), String> {
    use diesel::prelude::*;
    use moralbank::db::schema::{accounts, goods as goods_table};
    let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
    let balances: Vec<i64> = accounts::table
        .filter(accounts::kind.eq("member"))
        .select(accounts::balance)
        .load(&mut conn)
        .map_err(|e| e.to_string())?;
    let stock: i64 = goods_table::table
        .find(DbUuid(goods))
        .select(goods_table::stock)
        .first(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok((balances.iter().sum(), stock))
}

fn check_ledger(config: &Config) -> Result<(), String> {
    let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
    let report =
        moralbank::ledger::verify::verify_ledger(&mut conn, None).map_err(|e| e.to_string())?;
    if !report.ok {
        return Err(format!("LEDGER BROKEN: {:?}", report.problems.first()));
    }
    Ok(())
}

fn pgbench(url: &str, clients: usize, duration: Duration) -> Result<f64, String> {
    let base = url.rsplit_once('/').map(|(b, _)| b).ok_or("bad url")?;
    let scratch = format!("mbbench_pgbench_{}", std::process::id());
    let admin = format!("{base}/postgres");
    let psql = |sql: &str| {
        Command::new("psql")
            .args([&admin, "-qc", sql])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    psql(&format!("DROP DATABASE IF EXISTS {scratch}"));
    if !psql(&format!("CREATE DATABASE {scratch}")) {
        return Err("cannot create the pgbench database".into());
    }
    let target = format!("{base}/{scratch}");
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "4", &target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !init.success() {
        return Err("pgbench -i failed".into());
    }
    let out = Command::new("pgbench")
        .args([
            "-b",
            "tpcb-like",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &duration.as_secs().max(1).to_string(),
            &target,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    psql(&format!("DROP DATABASE IF EXISTS {scratch}"));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| {
            l.trim_start_matches("tps = ")
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .ok_or_else(|| format!("no tps in pgbench output: {text}"))
}

pub fn run(opts: Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("moralbank-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let url = opts
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("load.db").display()));
    let config = Config::from_raw(RawSettings {
        database_url: Some(url.clone()),
        admin_password: Some(PASSWORD.into()),
        ..RawSettings::default()
    })?;
    let wants = |s: &str| opts.scenarios.iter().any(|x| x == s);
    let deeds_needed = if wants("mint") { 200_000 } else { 0 };
    println!(
        "preparing {} members, {} deeds on {}",
        opts.members,
        deeds_needed,
        config.database_url.redacted()
    );
    let fixture = prepare(&config, opts.members, deeds_needed, opts.clients.min(8))?;
    let mut rows: Vec<Row> = Vec::new();
    let d = opts.duration;
    let mut rates: BTreeMap<String, f64> = BTreeMap::new();
    let mut p99_redeem = Vec::new();
    let mut redeem_rss = 0.0;

    let server = Server::start(&url, 256)?;
    let admin = server.login("admin")?;
    let clerk_tokens: Vec<String> = fixture
        .clerks
        .iter()
        .map(|c| server.login(c))
        .collect::<Result<_, _>>()?;
    let auth = |t: &str| format!("Authorization: Bearer {t}\r\n");
    let pick = |client: usize, n: usize| (client * 7919 + n * 104729) % fixture.accounts.len();

    if wants("healthz") {
        let o = drive(&server, opts.clients, d, |_, _| {
            (
                "GET".into(),
                "/healthz".into(),
                String::new(),
                String::new(),
                1,
            )
        });
        let r = row("healthz", o, server.peak_rss_mib());
        rates.insert("healthz".into(), r.per_second);
        rows.push(r);
    }
    if wants("balance") {
        let o = drive(&server, opts.clients, d, |c, n| {
            (
                "GET".into(),
                format!("/api/v1/accounts/{}", fixture.accounts[pick(c, n)].0),
                auth(&admin),
                String::new(),
                1,
            )
        });
        let r = row("balance (GET account)", o, server.peak_rss_mib());
        rates.insert("balance".into(), r.per_second);
        rows.push(r);
    }
    if wants("statement") {
        let o = drive(&server, opts.clients, d, |c, n| {
            (
                "GET".into(),
                format!(
                    "/api/v1/accounts/{}/statement?limit=20",
                    fixture.accounts[pick(c, n)].0
                ),
                auth(&admin),
                String::new(),
                1,
            )
        });
        let r = row("statement (one page)", o, server.peak_rss_mib());
        rows.push(r);
    }
    let run_redeem = |server: &Server, tokens: &[String], label: &str| -> Result<Row, String> {
        let (before_balance, before_stock) = ledger_totals(&config, fixture.goods)?;
        let seq = AtomicUsize::new(0);
        let o = drive(server, opts.clients, d, |c, n| {
            let tag: String = label
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            let key = format!("{tag}-{}-{c}-{n}", seq.fetch_add(1, Ordering::Relaxed));
            let body = format!(
                "{{\"member_id\":\"{}\",\"lines\":[{{\"goods_id\":\"{}\",\"quantity\":1}}]}}",
                fixture.member_ids[pick(c, n)],
                fixture.goods
            );
            (
                "POST".into(),
                "/api/v1/redemptions".into(),
                format!(
                    "{}Content-Type: application/json\r\nIdempotency-Key: {key}\r\n",
                    auth(&tokens[c % tokens.len()])
                ),
                body,
                1,
            )
        });
        let acknowledged = o.ok as i64;
        let (after_balance, after_stock) = ledger_totals(&config, fixture.goods)?;
        check_ledger(&config)?;
        if before_balance - after_balance != acknowledged * ITEM_PRICE
            || before_stock - after_stock != acknowledged
        {
            return Err(format!(
                "LEDGER MISMATCH after {label}: {acknowledged} acknowledged, balances moved {}, stock moved {}",
                before_balance - after_balance, before_stock - after_stock
            ));
        }
        println!("ledger checked after {label}: verify clean; {acknowledged} acknowledged redemptions match balances and stock");
        Ok(row(label, o, server.peak_rss_mib()))
    };
    if wants("redeem") {
        let r = run_redeem(&server, &clerk_tokens, "redeem (batching on)")?;
        rates.insert("redeem".into(), r.per_second);
        p99_redeem.push(r.p99);
        redeem_rss = r.rss;
        rows.push(r);
    }
    if wants("mint") {
        let next = AtomicUsize::new(0);
        // Until the prepared deeds run out: the rate is over the time they lasted.
        let o = drive_until(&server, opts.clients, d, |_, _| {
            let start = next.fetch_add(20, Ordering::Relaxed);
            let ids: Vec<String> = (start..start + 20)
                .filter_map(|i| fixture.deeds.get(i))
                .map(|id| format!("\"{id}\""))
                .collect();
            if ids.is_empty() {
                return None;
            }
            Some((
                "POST".into(),
                "/api/v1/deeds/approve".into(),
                format!("{}Content-Type: application/json\r\n", auth(&admin)),
                format!("{{\"ids\":[{}]}}", ids.join(",")),
                ids.len(),
            ))
        });
        check_ledger(&config)?;
        println!("ledger checked after mint: verify clean");
        let r = row("mint (bulk approval, deeds/s)", o, server.peak_rss_mib());
        rows.push(r);
    }
    drop(server);
    if wants("redeem") {
        let unbatched = Server::start(&url, 1)?;
        let tokens: Vec<String> = fixture
            .clerks
            .iter()
            .map(|c| unbatched.login(c))
            .collect::<Result<_, _>>()?;
        let r = run_redeem(&unbatched, &tokens, "redeem (batching off)")?;
        rates.insert("redeem_unbatched".into(), r.per_second);
        p99_redeem.push(r.p99);
        rows.push(r);
    }
    let pg = config.database_url.kind() == db::BackendKind::Postgres;
    if pg && opts.pgbench {
        match pgbench(&url, opts.clients, d) {
            Ok(tps) => {
                rates.insert("pgbench".into(), tps);
                rows.push(Row {
                    name: "pgbench -b tpcb-like".into(),
                    per_second: tps,
                    p50: 0.0,
                    p99: 0.0,
                    max: 0.0,
                    errors: "-".into(),
                    rss: 0.0,
                });
            }
            Err(e) => println!("pgbench baseline skipped: {e}"),
        }
    }

    println!(
        "\n{} clients, {} s per scenario, backend {}\n",
        opts.clients,
        d.as_secs(),
        if pg { "PostgreSQL" } else { "SQLite" }
    );
    println!("| scenario | per second | p50 ms | p99 ms | max ms | errors | server peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
            r.name, r.per_second, r.p50, r.p99, r.max, r.errors, r.rss
        );
    }
    let ratio = |a: &str, b: &str| match (rates.get(a), rates.get(b)) {
        (Some(x), Some(y)) if *y > 0.0 => format!("{:.2}", x / y),
        _ => "n/a".into(),
    };
    println!("\n| ratio | value |");
    println!("|---|---|");
    if pg {
        println!(
            "| redemptions/s ÷ pgbench tpcb-like tps (target ≥ 2.0) | {} |",
            ratio("redeem", "pgbench")
        );
    } else {
        println!(
            "| redemptions/s ÷ healthz/s (target ≥ 0.25) | {} |",
            ratio("redeem", "healthz")
        );
    }
    println!(
        "| balance reads/s ÷ healthz/s (target ≥ {}) | {} |",
        if pg { "0.3" } else { "0.5" },
        ratio("balance", "healthz")
    );
    println!(
        "| redemptions/s batching on ÷ off (target ≥ 4) | {} |",
        ratio("redeem", "redeem_unbatched")
    );
    if let Some(p99) = p99_redeem.first() {
        println!("| p99 redemption latency, batching on (target ≤ 50 ms) | {p99:.1} ms |");
    }
    if redeem_rss > 0.0 {
        println!("| server peak RSS during the redemption run (target ≤ 100 MiB) | {redeem_rss:.1} MiB |");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
