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
}

/// The process is alive and serving HTTP.
#[utoipa::path(tag = "health", operation_id = "get_health",
    responses((status = 200, body = HealthStatus)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus {
        status: "ok".into(),
    })
}

/// The database answers and the ledger writer commits.
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
        })),
        _ => Err(ApiError::unavailable("the ledger writer does not answer")),
    }
}
