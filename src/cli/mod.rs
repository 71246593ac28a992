//! The `moralbank` command: serve (default), migrate, user add|reset-password, community add|list,
//! operator add, verify, openapi, demo, backup.
//!
//! Output goes through [`out`] and [`err`], never `println!`: those panic when the reader has
//! gone (`moralbank openapi | head`), and a closed pipe is not an error of ours.

pub mod demo;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use crate::app::config::{Config, RawSettings};
use crate::auth::password::{check_password_rules, hash_password};
use crate::db;
use crate::kernel::{MemberId, RoleSet};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "moralbank",
    version,
    about = "道德银行 · Moral Bank — a community moral-coin ledger"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Option<Commands>,
}

/// Every setting is a flag and an environment variable; the flag wins.
#[derive(Args, Clone, Default)]
struct SettingsArgs {
    /// sqlite://PATH or postgres://… (default sqlite://./moralbank.db)
    #[arg(
        long,
        env = "MORALBANK_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// postgres://… of a streaming standby for reads that may lag (default: none, all reads on
    /// the primary)
    #[arg(
        long,
        env = "MORALBANK_READ_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    read_database_url: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080)
    #[arg(long, env = "MORALBANK_BIND", global = true)]
    bind: Option<String>,
    /// HS256 secret, at least 32 bytes (default: generated on first start, kept in the database)
    #[arg(
        long,
        env = "MORALBANK_JWT_SECRET",
        global = true,
        hide_env_values = true
    )]
    jwt_secret: Option<String>,
    /// Access-token lifetime in seconds (default 28800)
    #[arg(long, env = "MORALBANK_TOKEN_TTL_SECONDS", global = true)]
    token_ttl_seconds: Option<String>,
    /// Code of the community created on first start
    #[arg(long, env = "MORALBANK_COMMUNITY_CODE", global = true)]
    community_code: Option<String>,
    /// Name of the community created on first start
    #[arg(long, env = "MORALBANK_COMMUNITY_NAME", global = true)]
    community_name: Option<String>,
    /// UTC offset of the community's day (default +08:00)
    #[arg(long, env = "MORALBANK_COMMUNITY_UTC_OFFSET", global = true)]
    community_utc_offset: Option<String>,
    /// Password of the first admin (default: generated and printed once)
    #[arg(
        long,
        env = "MORALBANK_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    admin_password: Option<String>,
    /// Ledger commands per database transaction, 1-256 (1 turns group commit off)
    #[arg(long, env = "MORALBANK_BATCH_MAX", global = true)]
    batch_max: Option<String>,
    /// HTTP worker threads (default: one per core)
    #[arg(long, env = "MORALBANK_WORKERS", global = true)]
    workers: Option<String>,
    /// Milliseconds a token's user is trusted before it is read again, 0-60000 (default 1000)
    #[arg(long, env = "MORALBANK_AUTH_CACHE_MS", global = true)]
    auth_cache_ms: Option<String>,
    /// Seconds a console session may sit idle before it ends, 60-86400 (default 1800)
    #[arg(long, env = "MORALBANK_CONSOLE_IDLE_SECONDS", global = true)]
    console_idle_seconds: Option<String>,
    /// Mark the console's cookie Secure (true behind TLS; default false)
    #[arg(long, env = "MORALBANK_COOKIE_SECURE", global = true)]
    cookie_secure: Option<String>,
    /// Minutes between signed ledger heads while a journal grows, 1-1440 (default 10)
    #[arg(long, env = "MORALBANK_HEAD_SIGN_MINUTES", global = true)]
    head_sign_minutes: Option<String>,
}

impl From<SettingsArgs> for RawSettings {
    fn from(a: SettingsArgs) -> RawSettings {
        RawSettings {
            database_url: a.database_url,
            read_database_url: a.read_database_url,
            bind: a.bind,
            jwt_secret: a.jwt_secret,
            token_ttl_seconds: a.token_ttl_seconds,
            community_code: a.community_code,
            community_name: a.community_name,
            community_utc_offset: a.community_utc_offset,
            admin_password: a.admin_password,
            batch_max: a.batch_max,
            workers: a.workers,
            auth_cache_ms: a.auth_cache_ms,
            console_idle_seconds: a.console_idle_seconds,
            cookie_secure: a.cookie_secure,
            head_sign_minutes: a.head_sign_minutes,
        }
    }
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the HTTP API (the default)
    Serve,
    /// Create or update the database schema, then exit
    Migrate,
    /// Manage users
    User {
        #[command(subcommand)]
        command: UserCommands,
    },
    /// Create and list communities (the platform's side; needs no login)
    Community {
        #[command(subcommand)]
        command: CommunityCommands,
    },
    /// Manage platform operators, who create communities through the API
    Operator {
        #[command(subcommand)]
        command: OperatorCommands,
    },
    /// Verify the whole ledger; exit 0 when clean, 1 when anything is wrong
    Verify {
        /// Also check the ledger against signed heads kept elsewhere (a file from
        /// GET /api/v1/ledger/heads/export, or a JSON array of such files)
        #[arg(long, value_name = "FILE")]
        heads: Option<std::path::PathBuf>,
    },
    /// Proofs a resident or auditor holds, checked with no database
    Proof {
        #[command(subcommand)]
        command: ProofCommands,
    },
    /// Print the OpenAPI document
    Openapi,
    /// Create a demo community to explore (rules, goods, residents, deeds, redemptions)
    Demo,
    /// Write a consistent copy of a SQLite database to FILE while the service runs
    Backup {
        /// Where to write the copy; it must not exist yet
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum CommunityCommands {
    /// Create a community with its system accounts and its first admin
    Add {
        /// 1-32 letters, digits, '-' or '_' (typed at login)
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// The community's day, e.g. +08:00 (default +08:00)
        #[arg(long)]
        utc_offset: Option<String>,
        /// The first admin's username (default admin)
        #[arg(long)]
        admin_username: Option<String>,
        /// Read the first admin's password from standard input (default: generated and printed)
        #[arg(long)]
        admin_password_stdin: bool,
    },
    /// List the communities with their sizes
    List,
}

#[derive(Subcommand)]
enum ProofCommands {
    /// Check a saved proof bundle (GET /api/v1/ledger/transactions/{seq}/proof): the
    /// transaction gives its hash, the hash is in the signed head's tree, the head checks with
    /// the key; exit 0 when it holds, 1 when not
    Check {
        file: std::path::PathBuf,
        /// The community's public key as published elsewhere (notice wall, township), to trust
        /// instead of the key inside the file
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum OperatorCommands {
    /// Add a platform operator (log in with POST /api/v1/auth/operator-login)
    Add {
        #[arg(long)]
        username: String,
        /// Read the password from standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum UserCommands {
    /// Give a user a temporary password, printed once, that must be changed at the next login
    /// (for a community whose only admin forgot the password)
    ResetPassword {
        /// The community's code; may be left out while the database holds one community
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        username: String,
    },
    /// Add a user who can log in
    Add {
        /// The community's code; may be left out while the database holds one community
        #[arg(long)]
        community: Option<String>,
        #[arg(long)]
        username: String,
        /// Comma-separated: resident, reviewer, admin, clerk, auditor
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Link the user to the member with this passbook number
        #[arg(long)]
        member_no: Option<String>,
        /// Read the password from standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::from_raw(cli.settings.clone().into()) {
        Ok(config) => config,
        Err(message) => {
            err(&format!("moralbank: {message}"));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Commands::Serve) {
        Commands::Serve => serve(config),
        Commands::Migrate => migrate(&config),
        Commands::User {
            command:
                UserCommands::Add {
                    community,
                    username,
                    roles,
                    member_no,
                    password_stdin,
                },
        } => add_user(
            &config,
            community.as_deref(),
            &username,
            &roles,
            member_no.as_deref(),
            password_stdin,
        ),
        Commands::User {
            command:
                UserCommands::ResetPassword {
                    community,
                    username,
                },
        } => reset_password(&config, community.as_deref(), &username),
        Commands::Community {
            command:
                CommunityCommands::Add {
                    code,
                    name,
                    utc_offset,
                    admin_username,
                    admin_password_stdin,
                },
        } => add_community(
            &config,
            &NewCommunityArgs {
                code,
                name,
                utc_offset,
                admin_username,
                admin_password_stdin,
            },
        ),
        Commands::Community {
            command: CommunityCommands::List,
        } => list_communities(&config),
        Commands::Operator {
            command:
                OperatorCommands::Add {
                    username,
                    password_stdin,
                },
        } => add_operator(&config, &username, password_stdin),
        Commands::Verify { heads } => return verify(&config, heads.as_deref()),
        Commands::Proof {
            command: ProofCommands::Check { file, key },
        } => return check_proof(&file, key.as_deref()),
        Commands::Openapi => {
            out(&crate::app::openapi::spec_json());
            Ok(())
        }
        Commands::Demo => crate::cli::demo::run(&config).map(|logins| out(&logins)),
        Commands::Backup { file } => backup(&config, &file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            err(&format!("moralbank: {message}"));
            ExitCode::from(2)
        }
    }
}

/// Writes to standard output. A reader that stopped reading (`| head`) is not a failure: the rest
/// of the output is dropped quietly and the command's outcome stands.
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            err(&format!("moralbank: cannot write to standard output: {e}"));
        }
    }
}

/// Writes one line to standard error, ignoring failure: there is nowhere left to report it.
fn err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The commands that only read or extend an existing database refuse a SQLite path where there
/// is no file: opening it would create an empty database and report "no such table" (or, for
/// `user add`, a whole new community). Only `serve`, `migrate` and `demo` create databases.
fn require_database(config: &Config) -> Result<(), String> {
    match config.database_url.sqlite_path() {
        Some(path) if !std::path::Path::new(path).is_file() => {
            Err(format!("no database at {path}"))
        }
        _ => Ok(()),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    // Colour only for a person at a terminal: in a file or a log collector the escape codes are
    // noise (and NO_COLOR, https://no-color.org, turns it off there too).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

fn serve(config: Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let database = config.database_url.redacted();
        let app = crate::app::start(config)?;
        if app.bootstrap.created_community {
            tracing::info!("created the community and its system accounts");
        }
        if let Some(password) = &app.bootstrap.generated_admin_password {
            // Printed once, to the terminal, never to the log.
            out(&format!(
                "First start: created user 'admin' with password {password}\n\
                 Write it down now; it is not shown again. Change it with POST /api/v1/me/password.\n"
            ));
        }
        tracing::info!(address = %app.addr, database = %database, "moralbank serving");
        app.server.await.map_err(|e| format!("server stopped: {e}"))
    })
}

fn migrate(config: &Config) -> Result<(), String> {
    let mut conn = config
        .database_url
        .connect()
        .map_err(|e| format!("cannot connect to {}: {e}", config.database_url.redacted()))?;
    db::run_migrations(&mut conn)?;
    out(&format!(
        "migrations applied to {}\n",
        config.database_url.redacted()
    ));
    let mut shown = 0;
    let done = crate::ledger::tree::catch_up(&mut conn, &mut |done, total| {
        if done == total || done - shown >= 10_000 {
            shown = done;
            eprintln!("ledger tree: {done} / {total} transactions");
        }
    })
    .map_err(|e| format!("cannot bring the ledger tree level with the journal: {e}"))?;
    if done.leaves > 0 {
        out(&format!(
            "ledger tree: {} transaction(s) of {} communit(ies) added\n",
            done.leaves, done.communities
        ));
    }
    crate::trust::store::ensure_keys(&mut conn, db::now_utc())
        .map_err(|e| format!("cannot create the communities' signing keys: {e}"))?;
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<String, String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        return Ok(text.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
    let second = rpassword::prompt_password("Repeat password: ").map_err(|e| e.to_string())?;
    if first != second {
        return Err("the passwords differ".into());
    }
    Ok(first)
}

fn add_user(
    config: &Config,
    community: Option<&str>,
    username: &str,
    roles: &[String],
    member_no: Option<&str>,
    password_stdin: bool,
) -> Result<(), String> {
    // A user is added to an installation that exists; the first start (serve) creates one.
    require_database(config)?;
    let roles = RoleSet::from_names(roles.iter().map(String::as_str))?;
    crate::users::model::check_username(username)?;
    let password = read_password(password_stdin)?;
    check_password_rules(&password)?;
    let hash = hash_password(&password)?;
    let pool = db::build_command_pool(&config.database_url)?;
    crate::app::bootstrap::bootstrap(config, &pool)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let community = community_named(&mut conn, community)?;
    let member = match member_no {
        None => None,
        Some(no) => {
            let found = crate::members::store::list_members(
                &mut conn,
                community,
                &crate::members::store::MemberFilter {
                    member_no: Some(no),
                    query: None,
                    only: None,
                    after: None,
                    limit: 1,
                },
            )
            .map_err(|e| e.to_string())?;
            let (member, _) = found
                .into_iter()
                .next()
                .ok_or_else(|| format!("no member has passbook number {no}"))?;
            Some(MemberId::from(member.id))
        }
    };
    if roles.contains(crate::kernel::Role::Resident) && member.is_none() {
        return Err("a resident must be linked to a member: give --member-no".into());
    }
    let user = crate::users::store::insert_user(
        &mut conn,
        &crate::users::store::NewUser {
            community,
            username,
            password_hash: &hash,
            roles,
            member,
            display_name: None,
        },
    )
    .map_err(|e| e.to_string())?;
    out(&format!(
        "created user {} ({}) with roles {}\n",
        user.username, user.id.0, user.roles
    ));
    Ok(())
}

/// A reset on the server itself, where no admin of the community can log in to make one: the same
/// temporary password, forced change, expiry and revocation as `POST /users/{id}/password-reset`,
/// recorded with no admin.
fn reset_password(config: &Config, community: Option<&str>, username: &str) -> Result<(), String> {
    require_database(config)?;
    let mut conn = schema_only(config)?;
    let community = community_named(&mut conn, community)?;
    let user = crate::users::store::user_by_username(&mut conn, community, username)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the community has no user {username}"))?;
    let password = crate::auth::password::generate_password();
    let hash = hash_password(&password)?;
    let reset_at = crate::db::now_utc();
    let expires_at = crate::users::model::temporary_password_expiry(reset_at);
    db::write_transaction(&mut conn, |conn| {
        crate::users::store::reset_password(
            conn,
            &crate::users::store::PasswordReset {
                community,
                user: user.id.into(),
                reset_by: None,
                password_hash: &hash,
                reset_at,
                expires_at,
            },
        )
    })
    .map_err(|e| e.to_string())?;
    out(&format!(
        "Temporary password for {username}: {password}\n\
         It works until {} UTC, once: the next login must set a new password. Every token of \
         {username} is revoked.\n",
        expires_at.format("%Y-%m-%d %H:%M")
    ));
    Ok(())
}

/// The community a command means: the one with this code, or the only one there is.
fn community_named(
    conn: &mut db::DbConn,
    code: Option<&str>,
) -> Result<crate::kernel::CommunityId, String> {
    use crate::communities::store::{resolve_community, Resolved};
    match resolve_community(conn, code).map_err(|e| e.to_string())? {
        Resolved::Found(row) => Ok(row.id.into()),
        Resolved::Unknown => Err(format!(
            "no community has the code {}; see moralbank community list",
            code.unwrap_or_default()
        )),
        Resolved::Required { communities } => Err(format!(
            "this database holds {communities} communities: give --community CODE \
             (see moralbank community list)"
        )),
    }
}

/// A connection to a database whose schema is up to date, and nothing created in it: on an empty
/// database, the community a township adds first is its first community (no default one).
fn schema_only(config: &Config) -> Result<db::DbConn, String> {
    let mut conn = config
        .database_url
        .connect()
        .map_err(|e| format!("cannot connect to {}: {e}", config.database_url.redacted()))?;
    db::run_migrations(&mut conn)?;
    crate::trust::store::ready_at_start(&mut conn)?;
    Ok(conn)
}

struct NewCommunityArgs {
    code: String,
    name: String,
    utc_offset: Option<String>,
    admin_username: Option<String>,
    admin_password_stdin: bool,
}

fn add_community(config: &Config, args: &NewCommunityArgs) -> Result<(), String> {
    use crate::communities::http::{
        first_admin_password, found_community, FoundError, DEFAULT_ADMIN_USERNAME,
        DEFAULT_UTC_OFFSET_MINUTES,
    };
    use crate::communities::model::{parse_community_name, parse_utc_offset, CommunityCode};
    let code = CommunityCode::parse(&args.code).map_err(|why| format!("--code: {why}"))?;
    let name = parse_community_name(&args.name).map_err(|why| format!("--name: {why}"))?;
    let utc_offset_minutes = match &args.utc_offset {
        Some(text) => parse_utc_offset(text).map_err(|why| format!("--utc-offset: {why}"))?,
        None => DEFAULT_UTC_OFFSET_MINUTES,
    };
    let admin_username = args
        .admin_username
        .clone()
        .unwrap_or_else(|| DEFAULT_ADMIN_USERNAME.to_string());
    crate::users::model::check_username(&admin_username)
        .map_err(|why| format!("--admin-username: {why}"))?;
    let given = if args.admin_password_stdin {
        Some(read_password(true)?)
    } else {
        None
    };
    let (password, generated) = first_admin_password(given.as_deref())?;
    let hash = hash_password(&password)?;
    let mut conn = schema_only(config)?;
    let founded = db::write_transaction(&mut conn, |conn| {
        found_community(
            conn,
            &crate::communities::store::NewCommunity {
                code: code.as_str(),
                name: &name,
                utc_offset_minutes,
            },
            &admin_username,
            &hash,
        )
    })
    .map_err(|e| match e {
        FoundError::CodeTaken => {
            format!("a community with the code {} exists already", code.as_str())
        }
        FoundError::Admin(why) => why,
        FoundError::Database(e) => e.to_string(),
    })?;
    out(&format!(
        "created community {} ({}) with admin '{}'\n",
        founded.community.code, founded.community.name, founded.admin.username
    ));
    if generated {
        out(&format!(
            "The admin's password is {password}\n\
             Write it down now; it is not shown again. Log in with \"community\": \"{}\".\n",
            founded.community.code
        ));
    }
    Ok(())
}

fn list_communities(config: &Config) -> Result<(), String> {
    require_database(config)?;
    let mut conn = schema_only(config)?;
    let rows = crate::communities::store::communities_all(&mut conn).map_err(|e| e.to_string())?;
    let mut text = format!(
        "{:<20} {:<7} {:>8} {:>6} {:>12}  name\n",
        "code", "offset", "members", "users", "transactions"
    );
    let mut figures =
        crate::communities::store::figures(&mut conn, None).map_err(|e| e.to_string())?;
    for row in &rows {
        let figures = figures.remove(&row.id).unwrap_or_default();
        text.push_str(&format!(
            "{:<20} {:<7} {:>8} {:>6} {:>12}  {}\n",
            row.code,
            crate::communities::model::format_utc_offset(row.utc_offset_minutes),
            figures.members,
            figures.users,
            row.chain_seq,
            row.name
        ));
    }
    out(&text);
    Ok(())
}

fn add_operator(config: &Config, username: &str, password_stdin: bool) -> Result<(), String> {
    crate::users::model::check_username(username)?;
    let password = read_password(password_stdin)?;
    check_password_rules(&password)?;
    let hash = hash_password(&password)?;
    let mut conn = schema_only(config)?;
    let operator = crate::communities::store::insert_operator(&mut conn, username, &hash)
        .map_err(|e| e.to_string())?;
    out(&format!(
        "created operator {} ({})\n",
        operator.username, operator.id.0
    ));
    Ok(())
}

/// `VACUUM INTO` copies a live SQLite database as one consistent snapshot (a read transaction),
/// without stopping writers for longer than a checkpoint.
fn backup(config: &Config, file: &std::path::Path) -> Result<(), String> {
    if config.database_url.kind() != db::BackendKind::Sqlite {
        return Err(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (see the README)".into(),
        );
    }
    require_database(config)?;
    if file.exists() {
        return Err(format!(
            "{} exists already; choose a new file",
            file.display()
        ));
    }
    let target = file
        .to_str()
        .ok_or_else(|| "the backup path must be valid UTF-8".to_string())?;
    let mut conn = config
        .database_url
        .connect()
        .map_err(|e| format!("cannot open {}: {e}", config.database_url.redacted()))?;
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .map_err(|e| format!("backup failed: {e}"))?;
    out(&format!("backup written to {}\n", file.display()));
    Ok(())
}

fn verify(config: &Config, heads: Option<&std::path::Path>) -> ExitCode {
    if let Err(message) = require_database(config) {
        err(&format!("moralbank: {message}"));
        return ExitCode::from(2);
    }
    let mut conn = match config.database_url.connect() {
        Ok(conn) => conn,
        Err(e) => {
            err(&format!(
                "moralbank: cannot connect to {}: {e}",
                config.database_url.redacted()
            ));
            return ExitCode::from(2);
        }
    };
    // The heads file is read before anything else: a file that cannot be read is a usage error.
    let files = match heads.map(read_heads_file).transpose() {
        Ok(files) => files,
        Err(message) => {
            err(&format!("moralbank: {message}"));
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    let heads_broken = match files {
        None => false,
        Some(files) => match check_heads(&mut conn, &files) {
            Ok(broken) => broken,
            Err(e) => {
                err(&format!("moralbank: the heads could not be checked: {e}"));
                return ExitCode::from(2);
            }
        },
    };
    drop(conn);
    match verify_with_progress(config) {
        Ok(report) => {
            for problem in &report.problems {
                let seq = problem
                    .journal_seq
                    .map(|s| format!(" seq {s}"))
                    .unwrap_or_default();
                let journal = problem
                    .journal_id
                    .map(|j| format!(" transaction {j}"))
                    .unwrap_or_default();
                let account = problem
                    .account_id
                    .map(|a| format!(" account {a}"))
                    .unwrap_or_default();
                out(&format!(
                    "PROBLEM {}{}{}{}: {}\n",
                    problem.kind, seq, journal, account, problem.detail
                ));
            }
            out(&format!(
                "{}: checked {} transactions and {} postings in {:.1}s; {} problem(s)\n",
                if report.ok { "OK" } else { "FAILED" },
                report.checked_transactions,
                report.checked_postings,
                started.elapsed().as_secs_f64(),
                report.problems.len() as u64 + report.problems_omitted
            ));
            if report.ok && !heads_broken {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            err(&format!(
                "moralbank: verification could not read the ledger: {e}"
            ));
            ExitCode::from(2)
        }
    }
}

/// The whole ledger verified a community per core at a time, with a progress bar on a terminal
/// (hidden when standard error is not one).
fn verify_with_progress(
    config: &Config,
) -> diesel::QueryResult<crate::ledger::verify::VerifyReport> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {pos}/{len} communities [{bar:30}] {elapsed} (about {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let url = config.database_url.clone();
    let report = crate::ledger::verify::verify_database(&url, threads, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    report
}

/// Heads files as `verify --heads` reads them: one export, or an array of exports.
fn read_heads_file(path: &std::path::Path) -> Result<Vec<crate::trust::model::HeadsFile>, String> {
    use crate::trust::model::{HeadsFile, HEADS_FILE_FORMAT};
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let files: Vec<HeadsFile> = match serde_json::from_str::<HeadsFile>(&text) {
        Ok(one) => vec![one],
        Err(_) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a heads file (an export of GET /api/v1/ledger/heads/export): {e}",
                path.display()
            )
        })?,
    };
    if let Some(other) = files.iter().find(|f| f.format != HEADS_FILE_FORMAT) {
        return Err(format!(
            "{} is in format {}, not {HEADS_FILE_FORMAT}",
            path.display(),
            other.format
        ));
    }
    Ok(files)
}

/// Prints what is wrong between the heads and the ledger, naming the first broken head of each
/// community; answers whether anything is.
fn check_heads(
    conn: &mut db::DbConn,
    files: &[crate::trust::model::HeadsFile],
) -> diesel::QueryResult<bool> {
    use crate::trust::model::short_code;
    let mut broken = false;
    for file in files {
        let problems = crate::trust::store::check_heads(conn, file)?;
        let mut first = true;
        for problem in &problems {
            broken = true;
            match &problem.head {
                Some(head) => {
                    let label = if first {
                        "FIRST BROKEN HEAD"
                    } else {
                        "BROKEN HEAD"
                    };
                    first = false;
                    out(&format!(
                        "{label} {} {} signed {} ({}): {}\n",
                        file.community,
                        short_code(head.tree_size, &head.root_hash),
                        head.signed_at,
                        problem.kind,
                        problem.detail
                    ));
                }
                None => out(&format!(
                    "PROBLEM {} {}: {}\n",
                    problem.kind, file.community, problem.detail
                )),
            }
        }
        if problems.is_empty() {
            out(&format!(
                "HEADS OK: {} — the ledger still holds all {} signed head(s)\n",
                file.community,
                file.heads.len()
            ));
        }
    }
    Ok(broken)
}

/// `moralbank proof check FILE`: no database, only the file (and the key given).
fn check_proof(path: &std::path::Path, key: Option<&str>) -> ExitCode {
    use crate::trust::model::{check_bundle, short_code, ProofBundle};
    let bundle: ProofBundle = match std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
        .and_then(|text| {
            serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a proof bundle: {e}", path.display()))
        }) {
        Ok(bundle) => bundle,
        Err(message) => {
            err(&format!("moralbank: {message}"));
            return ExitCode::from(2);
        }
    };
    match check_bundle(&bundle, key) {
        Ok(checked) => {
            out(&format!(
                "OK: transaction {} of {} is in the ledger as head {} (signed {}) committed to it{}\n",
                checked.seq,
                checked.community,
                short_code(checked.tree_size, &bundle.head.root_hash),
                checked.signed_at,
                if key.is_some() {
                    ", signed with the key you gave"
                } else {
                    "; the key is the file's own: compare it with the published one, or pass --key"
                }
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            out(&format!("FAILED: {e}\n"));
            ExitCode::from(1)
        }
    }
}
