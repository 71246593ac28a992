//! Liveness and readiness.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::commands::{Command, Outcome};
use crate::http::problem::responses as problems;
use crate::http::problem::ApiError;
use crate::http::state::AppState;

/// How long readiness waits for the database and the writer.
const READY_CHECK_SECONDS: u64 = 3;

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok` or `ready`.
    pub status: String,
    /// With a read replica configured: `answers`, or `unreachable` (reads that may lag then go to
    /// the primary, so the service is still ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
}

/// The process is alive and serving HTTP.
#[utoipa::path(tag = "health", operation_id = "get_health",
    responses((status = 200, body = HealthStatus)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
        replica: None,
    })
}

/// Whether the read replica answers `SELECT 1`, when there is one; what it finds also tells
/// the fallback (a replica that answers again takes reads at once).
async fn replica_state(state: &AppState) -> Option<String> {
    let replica = state.replica.as_ref()?;
    let pool = replica.pool.clone();
    let probe = web::block(move || {
        pool.get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| c.batch_execute("SELECT 1").map_err(|e| e.to_string()))
    });
    let limit = replica.checkout_timeout() + Duration::from_secs(1);
    let answer = match tokio::time::timeout(limit, probe).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in time".to_string()),
    };
    Some(match answer {
        Ok(()) => {
            replica.mark_up();
            "answers".into()
        }
        Err(why) => {
            replica.mark_down(&why);
            "unreachable".into()
        }
    })
}

/// The database answers and the ledger writer commits; reports the read replica's state.
#[utoipa::path(tag = "health", operation_id = "get_readiness",
    responses((status = 200, body = HealthStatus),
        problems::Unavailable))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pool.clone();
    let reads = web::block(move || {
        pool.get_timeout(Duration::from_secs(READY_CHECK_SECONDS))
            .ok()
            .and_then(|mut c| c.batch_execute("SELECT 1").ok())
            .is_some()
    });
    let reads_ok = tokio::time::timeout(Duration::from_secs(READY_CHECK_SECONDS), reads)
        .await
        .map(|r| r.unwrap_or(false))
        .unwrap_or(false);
    if !reads_ok {
        return Err(ApiError::unavailable("the database does not answer"));
    }
    let writer = tokio::time::timeout(
        Duration::from_secs(READY_CHECK_SECONDS),
        state.engine.execute(Command::Ping),
    )
    .await;
    match writer {
        Ok(Ok(Outcome::Pong)) => Ok(HttpResponse::Ok().json(HealthStatus {
            status: "ready".into(),
            replica: replica_state(&state).await,
        })),
        _ => Err(ApiError::unavailable("the ledger writer does not answer")),
    }
}
