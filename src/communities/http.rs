//! The platform: operators log in, create communities with their first admin, and read how each
//! community is doing — sizes and activity, never a resident's name or balance.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::communities::model::{
    format_utc_offset, parse_community_name, parse_utc_offset, CommunityCode,
};
use crate::communities::store::{CommunityFigures, CreateCommunityError, NewCommunity};
use crate::db::models::CommunityRow;
use crate::db::DbConn;
use crate::http::credentials::{
    client_address, invalid_credentials, password_matches, too_many_attempts,
    LOGIN_PASSWORD_CHARS_MAX,
};
use crate::http::extract::OperatorUser;
use crate::http::problem::responses as problems;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;
use crate::http::{rfc3339, with_conn};
use crate::kernel::{Role, RoleSet};
use crate::users::store::{CreateUserError, NewUser, UserRow};

/// The first admin's username when none is given.
pub const DEFAULT_ADMIN_USERNAME: &str = "admin";
/// The UTC offset of a community created without one: China's.
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;

#[derive(Debug, thiserror::Error)]
pub enum FoundError {
    #[error("a community with this code exists already")]
    CodeTaken,
    #[error("the first admin could not be created: {0}")]
    Admin(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// A community founded: its row and its first admin.
#[derive(Debug)]
pub struct FoundCommunity {
    pub community: CommunityRow,
    pub admin: UserRow,
}

/// Creates a community, its system accounts and its first admin, all in the caller's writing
/// transaction. Every way a community comes to be (the first start, `moralbank community add`,
/// `POST /api/v1/communities`) goes through here.
pub fn found_community(
    conn: &mut DbConn,
    new: &NewCommunity<'_>,
    admin_username: &str,
    admin_password_hash: &str,
) -> Result<FoundCommunity, FoundError> {
    let community =
        crate::communities::store::create_community(conn, new).map_err(|e| match e {
            CreateCommunityError::CodeTaken => FoundError::CodeTaken,
            CreateCommunityError::Database(e) => FoundError::Database(e),
        })?;
    let mut roles = RoleSet::default();
    roles.insert(Role::Admin);
    let admin = crate::users::store::insert_user(
        conn,
        &NewUser {
            community: community.id.into(),
            username: admin_username,
            password_hash: admin_password_hash,
            roles,
            member: None,
            display_name: None,
        },
    )
    .map_err(|e| match e {
        CreateUserError::Database(e) => FoundError::Database(e),
        // A new community has no users yet; should one be there, nothing is created.
        other @ (CreateUserError::UsernameTaken | CreateUserError::MemberHasUser) => {
            FoundError::Admin(other.to_string())
        }
    })?;
    // The community's signing key is made with it, so its first signed head can be checked.
    crate::trust::store::ensure_key(conn, community.id.into(), community.created_at)
        .map_err(FoundError::Database)?;
    Ok(FoundCommunity { community, admin })
}

/// The first admin's password: the one given (checked against the password rules), or a
/// generated one that the caller shows once. Hashing is slow; do it before any transaction.
pub fn first_admin_password(given: Option<&str>) -> Result<(String, bool), String> {
    match given {
        Some(password) => {
            crate::auth::password::check_password_rules(password)?;
            Ok((password.to_string(), false))
        }
        None => Ok((crate::auth::password::generate_password(), true)),
    }
}

// ---------------------------------------------------------------- operator login

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorLoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorToken {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Exchanges a platform operator's username and password for a token that opens the platform's
/// endpoints only (communities, platform health), never a community's data.
#[utoipa::path(tag = "platform", operation_id = "create_operator_token",
    request_body = OperatorLoginRequest,
    responses((status = 200, body = OperatorToken),
        problems::BadRequest,
        (status = 401, description = "wrong username or password", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable,
        (status = 429, description = "too many wrong passwords for this operator or from this address; see Retry-After", body = Problem, content_type = "application/problem+json")))]
#[post("/auth/operator-login")]
pub async fn operator_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<OperatorLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let OperatorLoginRequest { username, password } = body.into_inner();
    let address = client_address(&req);
    if username.chars().count() > crate::users::model::USERNAME_CHARS_MAX
        || password.chars().count() > LOGIN_PASSWORD_CHARS_MAX
    {
        return Err(invalid_credentials());
    }
    let attempt = state
        .throttle
        .begin_attempt(&format!("operator/{username}"), &address)
        .map_err(too_many_attempts)?;
    let operator = with_conn(&state, move |conn| {
        Ok(crate::communities::store::operator_by_username(
            conn, &username,
        )?)
    })
    .await?
    .filter(|o| o.status == "active");
    let stored = operator.as_ref().map(|o| o.password_hash.clone());
    let matches = password_matches(&state, password, stored).await?;
    let Some(operator) = operator.filter(|_| matches) else {
        attempt.failed();
        tracing::info!(address = %address, "failed operator login");
        return Err(invalid_credentials());
    };
    attempt.succeeded();
    let token = state
        .jwt
        .issue_operator(operator.id.0, operator.token_version)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(OperatorToken {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_seconds(),
    }))
}

// ---------------------------------------------------------------- communities

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityView {
    pub id: uuid::Uuid,
    /// Typed at login where the server holds several communities.
    #[schema(example = "west")]
    pub code: String,
    #[schema(example = "西区社区")]
    pub name: String,
    /// The community's day: its dates and months are counted at this offset from UTC.
    #[schema(example = "+08:00")]
    pub utc_offset: String,
    pub created_at: String,
    /// Members on the roster (a count; the platform reads no resident's data).
    pub members: i64,
    pub users: i64,
    /// Transactions in the community's journal.
    pub transactions: i64,
    pub last_transaction_at: Option<String>,
}

fn community_view(row: &CommunityRow, figures: CommunityFigures) -> CommunityView {
    CommunityView {
        id: row.id.0,
        code: row.code.clone(),
        name: row.name.clone(),
        utc_offset: format_utc_offset(row.utc_offset_minutes),
        created_at: rfc3339(row.created_at),
        members: figures.members,
        users: figures.users,
        transactions: row.chain_seq,
        last_transaction_at: figures.last_transaction_at.map(rfc3339),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommunityRequest {
    /// 1-32 letters, digits, '-' or '_'; kept in lower case.
    #[schema(example = "west")]
    pub code: String,
    #[schema(example = "西区社区")]
    pub name: String,
    /// Default `+08:00`.
    #[schema(example = "+08:00")]
    pub utc_offset: Option<String>,
    /// The first admin's username (default `admin`).
    pub admin_username: Option<String>,
    /// The first admin's password; generated and answered once when absent.
    pub admin_password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityCreated {
    pub community: CommunityView,
    pub admin_username: String,
    /// Present only when the password was generated: shown this once, never again.
    pub admin_password: Option<String>,
}

/// Creates a community with its own chain, accounts and first admin (platform operators only).
#[utoipa::path(tag = "platform", operation_id = "create_community",
    security(("bearer" = [])),
    request_body = CreateCommunityRequest,
    responses((status = 201, body = CommunityCreated),
        problems::BadRequest,
        problems::Unauthorized,
        (status = 403, description = "not a platform operator's token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "community_code_taken", body = Problem, content_type = "application/problem+json"),
        problems::PayloadTooLarge,
        problems::UnsupportedMediaType,
        problems::Unprocessable))]
#[post("/communities")]
pub async fn create_community(
    state: web::Data<AppState>,
    operator: OperatorUser,
    body: web::Json<CreateCommunityRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let field =
        |name: &'static str| move |why: String| ApiError::validation(why).with("field", name);
    let code = CommunityCode::parse(&request.code).map_err(field("code"))?;
    let name = parse_community_name(&request.name).map_err(field("name"))?;
    let utc_offset_minutes = match request.utc_offset.as_deref() {
        Some(text) => parse_utc_offset(text).map_err(field("utc_offset"))?,
        None => DEFAULT_UTC_OFFSET_MINUTES,
    };
    let admin_username = request
        .admin_username
        .unwrap_or_else(|| DEFAULT_ADMIN_USERNAME.to_string());
    crate::users::model::check_username(&admin_username).map_err(field("admin_username"))?;
    let (password, generated) =
        first_admin_password(request.admin_password.as_deref()).map_err(field("admin_password"))?;
    let _permit = state
        .hashing_permits
        .acquire()
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
    let hash = {
        let password = password.clone();
        web::block(move || crate::auth::password::hash_password(&password))
            .await?
            .map_err(ApiError::internal)?
    };
    drop(_permit);
    let view = with_conn(&state, move |conn| {
        let founded = crate::db::write_transaction(conn, |conn| {
            found_community(
                conn,
                &NewCommunity {
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
                ApiError::conflict("community_code_taken", "another community has this code")
                    .with("field", "code")
            }
            FoundError::Admin(why) => ApiError::internal(why),
            FoundError::Database(e) => e.into(),
        })?;
        let figures =
            crate::communities::store::community_figures(conn, founded.community.id.into())?;
        Ok((
            community_view(&founded.community, figures),
            founded.admin.username,
        ))
    })
    .await?;
    tracing::info!(operator = %operator.username, community = %view.0.code, "community created");
    Ok(HttpResponse::Created().json(CommunityCreated {
        community: view.0,
        admin_username: view.1,
        admin_password: generated.then_some(password),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityList {
    pub items: Vec<CommunityView>,
}

/// Every community on the server, oldest first, with its sizes (platform operators only).
#[utoipa::path(tag = "platform", operation_id = "list_communities",
    security(("bearer" = [])),
    responses((status = 200, body = CommunityList),
        problems::Unauthorized,
        (status = 403, description = "not a platform operator's token", body = Problem, content_type = "application/problem+json")))]
#[get("/communities")]
pub async fn list_communities(
    state: web::Data<AppState>,
    _operator: OperatorUser,
) -> Result<HttpResponse, ApiError> {
    let items = with_conn(&state, move |conn| {
        let rows = crate::communities::store::communities_all(conn)?;
        let mut figures = crate::communities::store::figures(conn, None)?;
        Ok(rows
            .iter()
            .map(|row| community_view(row, figures.remove(&row.id).unwrap_or_default()))
            .collect())
    })
    .await?;
    Ok(HttpResponse::Ok().json(CommunityList { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlatformHealth {
    /// `ready` when the database answers and the ledger writer commits, else `degraded`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub communities: i64,
    pub members: i64,
    pub transactions: i64,
    /// Commands the ledger writer has committed since this instance started.
    pub writer_commands: u64,
    pub writer_batches: u64,
}

/// The platform at a glance: is it ready, how big is it (platform operators only).
#[utoipa::path(tag = "platform", operation_id = "get_platform_health",
    security(("bearer" = [])),
    responses((status = 200, body = PlatformHealth),
        problems::Unauthorized,
        (status = 403, description = "not a platform operator's token", body = Problem, content_type = "application/problem+json")))]
#[get("/platform/health")]
pub async fn platform_health(
    state: web::Data<AppState>,
    _operator: OperatorUser,
) -> Result<HttpResponse, ApiError> {
    let (communities, members, transactions) = with_conn(&state, move |conn| {
        let rows = crate::communities::store::communities_all(conn)?;
        let members = crate::communities::store::figures(conn, None)?
            .values()
            .map(|f| f.members)
            .sum();
        let transactions = rows.iter().map(|r| r.chain_seq).sum();
        Ok((rows.len() as i64, members, transactions))
    })
    .await?;
    let writer_ready = matches!(
        tokio::time::timeout(
            std::time::Duration::from_secs(3),
            state.engine.execute(crate::commands::Command::Ping),
        )
        .await,
        Ok(Ok(crate::commands::Outcome::Pong))
    );
    let stats = state.engine.stats();
    Ok(HttpResponse::Ok().json(PlatformHealth {
        status: if writer_ready { "ready" } else { "degraded" }.into(),
        backend: match state.backend {
            crate::db::BackendKind::Sqlite => "sqlite",
            crate::db::BackendKind::Postgres => "postgres",
        }
        .into(),
        communities,
        members,
        transactions,
        writer_commands: stats.commands.load(std::sync::atomic::Ordering::Relaxed),
        writer_batches: stats.batches.load(std::sync::atomic::Ordering::Relaxed),
    }))
}
