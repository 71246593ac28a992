//! Builds the running service: database and migrations, first-start bootstrap, the ledger
//! writer, and the actix application with its middleware and routes.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{
    from_fn, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, Logger, Next,
};
use actix_web::{web, App, HttpResponse, ResponseError};

use crate::auth::{JwtKeys, LoginThrottle, UserCache};
use crate::config::Config;
use crate::db::{self, queries, BackendKind, DbPool};
use crate::domain::{Role, RoleSet};
use crate::error::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::ledger::{Engine, EngineSettings};
use crate::request_head::{
    HeadGuard, Refusal, REFUSAL_HEADER, REFUSAL_PATH, REQUEST_HEADERS_MAX, REQUEST_HEAD_BYTES_MAX,
    REQUEST_HEAD_SECONDS_MAX,
};

/// Largest JSON request body accepted, in bytes. Every request of this API fits in a fraction.
pub const JSON_BODY_BYTES_MAX: usize = 64 * 1024;
pub const FIRST_ADMIN_USERNAME: &str = "admin";
/// Password hashes (argon2id, 19 MiB each) computed at the same time at most.
pub const PASSWORD_HASHES_AT_ONCE_MAX: usize = 2;

pub struct AppState {
    pub pool: DbPool,
    pub engine: Engine,
    pub jwt: JwtKeys,
    pub throttle: Arc<LoginThrottle>,
    /// What this instance last read about token holders; see `auth::cache`.
    pub users: UserCache,
    /// Blocking database work in flight at most: one per pooled connection.
    pub db_permits: tokio::sync::Semaphore,
    /// Password hashes computed at once at most: each takes 19 MiB and a core for a moment, so a
    /// burst of logins queues instead of exhausting memory.
    pub hashing_permits: tokio::sync::Semaphore,
    pub backend: BackendKind,
    pub clock: crate::clock::Clock,
}

/// What the first start did, so the caller can show the generated password once.
#[derive(Debug)]
pub struct Bootstrap {
    pub community_id: crate::domain::CommunityId,
    pub created_community: bool,
    /// Set only when an admin was created now with a generated password.
    pub generated_admin_password: Option<String>,
    pub jwt_secret: String,
}

/// Opens the database, runs migrations and, on an empty database, creates the community, its
/// system accounts and the first admin. A second run creates nothing new.
pub fn bootstrap(config: &Config, pool: &DbPool) -> Result<Bootstrap, String> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to {}: {e}", config.database_url.redacted()))?;
    db::run_migrations(&mut conn)?;
    let outcome = db::write_transaction(&mut conn, |conn| {
        let (community, created_community) = queries::ensure_community(
            conn,
            &queries::NewCommunity {
                code: &config.community_code,
                name: &config.community_name,
                utc_offset_minutes: config.community_utc_offset_minutes,
            },
        )?;
        let community_id = community.id.into();
        let mut generated_admin_password = None;
        if queries::count_users(conn, community_id)? == 0 {
            let password = match &config.admin_password {
                Some(p) => p.clone(),
                None => {
                    let p = crate::auth::password::generate_password();
                    generated_admin_password = Some(p.clone());
                    p
                }
            };
            let hash =
                crate::auth::password::hash_password(&password).map_err(BootstrapError::Other)?;
            let mut roles = RoleSet::default();
            roles.insert(Role::Admin);
            queries::insert_user(
                conn,
                &queries::NewUser {
                    community: community_id,
                    username: FIRST_ADMIN_USERNAME,
                    password_hash: &hash,
                    roles,
                    member: None,
                },
            )
            .map_err(|e| BootstrapError::Other(e.to_string()))?;
        }
        let jwt_secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => match queries::secret(conn, queries::JWT_SECRET_NAME)? {
                Some(secret) => secret,
                None => {
                    let secret = random_secret();
                    queries::insert_secret(conn, queries::JWT_SECRET_NAME, &secret)?;
                    secret
                }
            },
        };
        Ok::<_, BootstrapError>(Bootstrap {
            community_id,
            created_community,
            generated_admin_password,
            jwt_secret,
        })
    })
    .map_err(|e| format!("first-start set-up failed: {e}"))?;
    Ok(outcome)
}

#[derive(Debug, thiserror::Error)]
enum BootstrapError {
    #[error("{0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Other(String),
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0_u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

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
        EngineSettings {
            batch_commands_max: config.batch_max,
            clock: config.clock.clone(),
            ..EngineSettings::default()
        },
    )
    .map_err(|e| format!("cannot start the ledger writer: {e}"))?;
    let db_permits = tokio::sync::Semaphore::new(pool.max_size() as usize);
    let state = web::Data::new(AppState {
        pool,
        db_permits,
        hashing_permits: tokio::sync::Semaphore::new(PASSWORD_HASHES_AT_ONCE_MAX),
        engine,
        jwt: JwtKeys::from_secret(bootstrap.jwt_secret.as_bytes(), config.token_ttl_seconds),
        throttle: Arc::new(LoginThrottle::default()),
        users: UserCache::new(std::time::Duration::from_millis(config.auth_cache_ms)),
        backend: config.database_url.kind(),
        clock: config.clock.clone(),
    });
    spawn_notice_sweeper(state.clone(), config.sweep_interval_ms);
    let listener = listen(config.bind).map_err(|e| format!("cannot bind {}: {e}", config.bind))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot bind {}: {e}", config.bind))?;
    // What actix-web's HttpServer does, with one step added: each connection's bytes pass the
    // request-head guard before the HTTP/1.1 parser (see src/request_head.rs).
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(config.workers)
        .shutdown_timeout(SHUTDOWN_SECONDS_MAX)
        .listen("moralbank", listener, move || {
            let shutdown = shutdown.clone();
            let app = App::new()
                .app_data(state.clone())
                .app_data(json_config())
                .app_data(query_config())
                .app_data(path_config())
                // Innermost first: the last wrap sees every answer, so the log and the security
                // headers cover the refusals of the one above too.
                .wrap(from_fn(refuse_non_utf8_queries))
                .wrap(ErrorHandlers::new().default_handler(problem_for_bare_error))
                .wrap(security_headers())
                .wrap(Logger::new("%a \"%r\" %s %b %Dms").exclude("/healthz"))
                .service(web::resource(REFUSAL_PATH).to(refused_request))
                .configure(crate::api::routes)
                .default_service(web::to(not_found))
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            let http = actix_http::HttpService::build()
                // Idle keep-alive connections close at once on a graceful stop, as HttpServer's.
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(actix_http::KeepAlive::default())
                // The guard times request heads itself, so that a slow one is answered with
                // problem+json instead of actix's bare 408.
                .client_request_timeout(std::time::Duration::ZERO)
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .local_addr(addr)
                // The application never builds URLs, so the default host and address suffice.
                .h1(map_config(app, |_| actix_web::dev::AppConfig::default()));
            fn_service(|io: actix_web::rt::net::TcpStream| {
                let peer = io.peer_addr().ok();
                std::future::ready(Ok::<_, actix_http::error::DispatchError>((
                    HeadGuard::new(io),
                    peer,
                )))
            })
            .and_then(http)
        })
        .map_err(|e| format!("cannot serve on {addr}: {e}"))?
        .run();
    Ok(Application {
        addr,
        server,
        bootstrap,
    })
}

/// Seconds a graceful stop waits for requests in flight.
const SHUTDOWN_SECONDS_MAX: u64 = 10;
/// Connections waiting to be accepted at most (actix-web's HttpServer uses the same).
const LISTEN_BACKLOG_CONNECTIONS: i32 = 1024;

/// A listening socket as actix-web's HttpServer makes one: address reuse, a deep backlog.
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG_CONNECTIONS)?;
    Ok(socket.into())
}

/// Answers the synthetic request that stands for a request head the guard refused.
async fn refused_request(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    let refusal = req
        .headers()
        .get(REFUSAL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Refusal::from_header);
    let malformed = |detail: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            detail.to_string(),
        )
    };
    Err(match refusal {
        // A client asked for this path itself: there is nothing here.
        None => return not_found().await,
        Some(Refusal::RequestLine) => malformed(
            "the request line is not valid HTTP/1.1: a method, a target without spaces or control \
             characters, and HTTP/1.1 or HTTP/1.0",
        ),
        Some(Refusal::Header) => malformed("a header line of the request is not valid HTTP/1.1"),
        Some(Refusal::Framing) => malformed(
            "the request's Host, Content-Length or Transfer-Encoding headers are missing, \
             repeated or contradictory",
        ),
        Some(Refusal::TooLarge) => ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            format!(
                "the request head is larger than {REQUEST_HEAD_BYTES_MAX} bytes or has more \
                 than {REQUEST_HEADERS_MAX} headers"
            ),
        ),
        Some(Refusal::Timeout) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request head did not arrive within {REQUEST_HEAD_SECONDS_MAX} seconds"),
        ),
    })
}

/// A query string whose percent-decoding is not UTF-8 (GBK bytes from a Chinese Windows console,
/// say) would reach the handlers with its characters replaced by U+FFFD and search for nothing;
/// it is refused instead.
async fn refuse_non_utf8_queries(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> actix_web::Result<ServiceResponse<EitherBody<impl MessageBody>>> {
    if !percent_decodes_to_utf8(req.query_string()) {
        let error = ApiError::bad_request(
            "invalid_query",
            "the query string is not UTF-8; send UTF-8, percent-encoded or raw",
        );
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn percent_decodes_to_utf8(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) if hex(hi).is_some() && hex(lo).is_some() => {
                let value = hex(hi).unwrap_or(0) * 16 + hex(lo).unwrap_or(0);
                decoded.push(value as u8);
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// Credits deeds whose public notice ended: once at start (nothing due is left behind by a
/// restart), then on a timer. It runs on the server's runtime and stops with it.
fn spawn_notice_sweeper(state: web::Data<AppState>, interval_ms: u64) {
    actix_web::rt::spawn(async move {
        let mut ticks =
            tokio::time::interval(std::time::Duration::from_millis(interval_ms.max(10)));
        loop {
            ticks.tick().await;
            if let Err(e) = crate::api::deeds::sweep_notices(&state).await {
                tracing::warn!(error = %e, "notice sweep failed; will retry");
            }
        }
    });
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        // Balances and passbooks must not linger in shared caches or a browser's history.
        .add((header::CACHE_CONTROL, "no-store"))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "route_not_found",
        "no such route; see /api/v1/openapi.json",
    ))
}

/// Turns any error answer that is not already problem+json (actix's own 404/405, …) into one.
fn problem_for_bare_error<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v == HeaderValue::from_static(PROBLEM_CONTENT_TYPE))
        .unwrap_or(false);
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        404 => ApiError::new(status, "route_not_found", "no such route"),
        405 => ApiError::new(
            status,
            "method_not_allowed",
            "this route does not take that method",
        ),
        413 => ApiError::new(status, "payload_too_large", "the request body is too large"),
        415 => ApiError::new(
            status,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        s if s >= 500 => ApiError::new(
            status,
            "internal_error",
            "the server could not complete the request",
        ),
        _ => ApiError::new(status, "bad_request", "the request could not be processed"),
    };
    let (req, _) = res.into_parts();
    let response: HttpResponse = error.error_response();
    let res = ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_BODY_BYTES_MAX)
        .content_type_required(true)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as E;
            let api = match &err {
                E::ContentType => ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json",
                ),
                E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {JSON_BODY_BYTES_MAX} bytes"),
                ),
                E::Deserialize(e) if e.is_data() => {
                    ApiError::validation(format!("the body does not fit the schema: {e}"))
                }
                E::Deserialize(e) => ApiError::bad_request(
                    "malformed_json",
                    format!("the body is not valid JSON: {e}"),
                ),
                _ => ApiError::bad_request("malformed_json", "the body could not be read"),
            };
            api.into()
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::bad_request("invalid_query", format!("bad query parameters: {err}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    // A path that cannot name a thing (not a UUID, say) names nothing that exists.
    web::PathConfig::default().error_handler(|_err, _req| ApiError::not_found("resource").into())
}
