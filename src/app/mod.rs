//! The composition root: builds the running service from the database, the first-start set-up,
//! the ledger writer, the middleware, the routes of every face, and the background jobs.

pub mod bootstrap;
pub mod config;
pub mod health;
pub mod middleware;
pub mod openapi;
pub mod routes;
mod server;
pub mod sweeper;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, ErrorHandlers, Logger};
use actix_web::{web, App};
use utoipa_actix_web::AppExt;

use crate::auth::{JwtKeys, LoginThrottle, UserCache};
use crate::commands::{Book, Engine};
use crate::db;
use crate::http::request_head::REFUSAL_PATH;
use crate::http::state::{AppState, ReadReplica};
use crate::ledger::EngineSettings;
use bootstrap::{bootstrap, Bootstrap};
use config::Config;

/// Password hashes (argon2id, 7 MiB each) computed at the same time at most.
pub const PASSWORD_HASHES_AT_ONCE_MAX: usize = 2;

/// A started service: its address, the actix server future to await, and the writer thread.
pub struct Application {
    pub addr: SocketAddr,
    pub server: Server,
    pub bootstrap: Bootstrap,
}

/// Bootstraps and binds. Must run inside an actix system; await `server` to serve.
pub fn start(config: Config) -> Result<Application, String> {
    let pool = db::build_pool(&config.database_url)?;
    let bootstrap = bootstrap(&config, &pool)?;
    let (engine, _writer) = Engine::start(
        config.database_url.clone(),
        Book::default(),
        EngineSettings {
            batch_commands_max: config.batch_max,
            clock: config.clock.clone(),
            ..EngineSettings::default()
        },
    )
    .map_err(|e| format!("cannot start the ledger writer: {e}"))?;
    let db_permits = tokio::sync::Semaphore::new(pool.max_size() as usize);
    let replica = match &config.read_database_url {
        Some(url) => {
            tracing::info!(replica = %url.redacted(), "reads that may lag go to the read replica");
            Some(ReadReplica::new(db::build_read_pool(url)?))
        }
        None => None,
    };
    let state = web::Data::new(AppState {
        pool,
        db_permits,
        replica,
        hashing_permits: tokio::sync::Semaphore::new(PASSWORD_HASHES_AT_ONCE_MAX),
        engine,
        jwt: JwtKeys::from_secret(bootstrap.jwt_secret.as_bytes(), config.token_ttl_seconds),
        throttle: Arc::new(LoginThrottle::default()),
        users: UserCache::new(std::time::Duration::from_millis(config.auth_cache_ms)),
        backend: config.database_url.kind(),
        clock: config.clock.clone(),
        console: crate::http::state::ConsoleSettings {
            idle_seconds: config.console_idle_seconds,
            cookie_secure: config.cookie_secure,
        },
    });
    sweeper::spawn_notice_sweeper(state.clone(), config.sweep_interval_ms);
    sweeper::spawn_expiry_sweeper(state.clone(), config.sweep_interval_ms);
    sweeper::spawn_head_signer(state.clone(), config.head_sign_interval_ms);
    let listener =
        server::listen(config.bind).map_err(|e| format!("cannot bind {}: {e}", config.bind))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot bind {}: {e}", config.bind))?;
    let server = server::serve(listener, addr, config.workers, move || {
        App::new()
            .app_data(state.clone())
            .app_data(middleware::json_config())
            .app_data(middleware::query_config())
            .app_data(middleware::path_config())
            // Innermost first: the last wrap sees every answer, so the log and the security
            // headers cover the refusals of the one above too.
            .wrap(from_fn(middleware::refuse_non_utf8_queries))
            .wrap(ErrorHandlers::new().default_handler(middleware::problem_for_bare_error))
            .wrap(middleware::security_headers())
            .wrap(Logger::new("%a \"%r\" %s %b %Dms").exclude("/healthz"))
            .service(web::resource(REFUSAL_PATH).to(middleware::refused_request))
            .into_utoipa_app()
            .configure(routes::api)
            .split_for_parts()
            .0
            .app_data(crate::console::form_config())
            .configure(routes::console)
            .default_service(web::to(middleware::not_found))
    })?;
    Ok(Application {
        addr,
        server,
        bootstrap,
    })
}
