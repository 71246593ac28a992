//! The `Idempotency-Key` header and request fingerprints shared by money-moving endpoints.

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::http::extract::AuthUser;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::kernel::{CommunityId, JournalId};
use crate::ledger::LedgerError;

/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 128;

/// Reads and checks the `Idempotency-Key` header.
pub fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req.headers().get("Idempotency-Key").ok_or_else(|| {
        ApiError::bad_request(
            "idempotency_key_missing",
            "send an Idempotency-Key header (any unique string, e.g. a UUID) so a retry cannot post twice",
        )
    })?;
    checked_key(value.to_str().unwrap_or("\u{0}"))
}

/// Checks a key as the header's is checked; the console's forms carry theirs in a field.
pub fn checked_key(text: &str) -> Result<String, ApiError> {
    let key = Some(text.trim())
        .filter(|k| {
            !k.is_empty()
                && k.len() <= IDEMPOTENCY_KEY_CHARS_MAX
                && k.chars().all(|c| c.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_invalid",
                format!(
                    "Idempotency-Key must be 1-{IDEMPOTENCY_KEY_CHARS_MAX} visible ASCII characters"
                ),
            )
        })?;
    Ok(key.to_string())
}

/// The fingerprint of a request: SHA-256 over the endpoint and the canonical JSON of its body, so
/// one key cannot be replayed against another endpoint either.
pub fn request_hash<T: Serialize>(endpoint: &str, body: &T) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let mut hasher = Sha256::new();
    hasher.update(endpoint.as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    Ok(hex::encode(hasher.finalize()))
}

pub fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request; use a new key",
    )
}

/// The first answer to this user's key, if there was one: `rebuild` turns the journal transaction
/// the key claimed into the response as first sent, and a refusal is refused again exactly as it
/// was the first time. The same key with another body is refused.
pub async fn earlier_answer<T, F>(
    state: &AppState,
    user: &AuthUser,
    key: &str,
    hash: &str,
    rebuild: F,
) -> Result<Option<T>, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, CommunityId, JournalId) -> Result<T, ApiError> + Send + 'static,
{
    let (user_id, community, key, hash) = (
        user.user_id,
        user.community_id,
        key.to_string(),
        hash.to_string(),
    );
    super::with_conn(
        state,
        move |conn| match crate::ledger::read::idempotency_record(conn, user_id, &key)? {
            None => Ok(None),
            Some(record) if record.request_hash != hash => Err(key_reused()),
            Some(record) => match (record.journal_id, record.refusal) {
                (Some(journal), _) => rebuild(conn, community, journal.into()).map(Some),
                (None, Some(refusal)) => Err(LedgerError::from_stored(&refusal)
                    .ok_or_else(|| {
                        ApiError::internal("an idempotency key keeps an unreadable refusal")
                    })?
                    .into()),
                (None, None) => Err(ApiError::internal(
                    "an idempotency key keeps neither a transaction nor a refusal",
                )),
            },
        },
    )
    .await
}

/// The answer of an idempotent money request: 201 with `view` of what the writer did; or, when
/// the writer found the key taken (a retry, or a concurrent request with this key that won),
/// the answer that request got, rebuilt by `rebuild`; or the refusal.
pub async fn created_or_earlier<O, T, F>(
    state: &AppState,
    user: &AuthUser,
    key_and_hash: (&str, &str),
    outcome: Result<O, LedgerError>,
    view: impl FnOnce(O) -> Result<T, ApiError>,
    rebuild: F,
) -> Result<actix_web::HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, CommunityId, JournalId) -> Result<T, ApiError> + Send + 'static,
{
    let answer = done_or_earlier(state, user, key_and_hash, outcome, view, rebuild).await?;
    Ok(actix_web::HttpResponse::Created().json(answer))
}

/// What an idempotent money request did: `view` of the writer's outcome, or the first answer to
/// the same key (rebuilt by `rebuild`), or the refusal. The JSON API answers it as 201; the
/// console shows the receipt it names.
pub async fn done_or_earlier<O, T, F>(
    state: &AppState,
    user: &AuthUser,
    (key, hash): (&str, &str),
    outcome: Result<O, LedgerError>,
    view: impl FnOnce(O) -> Result<T, ApiError>,
    rebuild: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, CommunityId, JournalId) -> Result<T, ApiError> + Send + 'static,
{
    match outcome {
        Ok(done) => view(done),
        Err(LedgerError::IdempotencyKeyTaken) => {
            match earlier_answer(state, user, key, hash, rebuild).await? {
                Some(answer) => Ok(answer),
                None => Err(LedgerError::IdempotencyKeyTaken.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}
