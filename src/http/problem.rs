//! One error type for every handler, rendered as RFC 9457 `application/problem+json` with a
//! stable snake_case `code`. 5xx bodies say nothing internal; the cause goes to the log.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::kernel::{Act, GoodsId, Points};
use crate::ledger::command::StockShortage;
use crate::ledger::LedgerError;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` plus the `code` is enough to act on.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `insufficient_balance`.
    pub code: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extra members of the problem object (e.g. `balance` and `required`).
    pub extra: Map<String, Value>,
    pub retry_after_seconds: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            detail: detail.into(),
            extra: Map::new(),
            retry_after_seconds: None,
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_seconds = Some(seconds);
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn validation(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            detail,
        )
        .retry_after(1)
    }

    /// An unexpected failure: logged in full, answered with nothing internal.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server could not complete the request",
        )
    }

    pub fn to_body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), Value::String("about:blank".into()));
        body.insert(
            "title".into(),
            Value::String(
                self.status
                    .canonical_reason()
                    .unwrap_or("Error")
                    .to_string(),
            ),
        );
        body.insert("status".into(), Value::from(self.status.as_u16()));
        body.insert("detail".into(), Value::String(self.detail.clone()));
        body.insert("code".into(), Value::String(self.code.to_string()));
        for (k, v) in &self.extra {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        ));
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(self.to_body().to_string())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        if crate::db::is_storage_unavailable(&e) {
            tracing::error!(error = %e, "database unavailable");
            return ApiError::unavailable("the database is unavailable; retry shortly");
        }
        ApiError::internal(e)
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> ApiError {
        tracing::error!(error = %e, "no database connection available");
        ApiError::unavailable("the database is unavailable; retry shortly")
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(e)
    }
}

/// A deed cannot move that way from where it is.
pub fn invalid_transition(status: &str, action: &str) -> ApiError {
    ApiError::conflict(
        "invalid_transition",
        format!("a {status} deed cannot be {action}"),
    )
    .with("status", status.to_string())
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        match e {
            LedgerError::AccountNotFound(_) => ApiError::not_found("account"),
            LedgerError::MemberNotFound(_) => ApiError::not_found("member"),
            LedgerError::NotAMemberAccount(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_member_account",
                "the account is not a member account",
            ),
            LedgerError::AccountFrozen(_) => ApiError::conflict(
                "account_frozen",
                "the account is frozen; nothing can be posted to it",
            ),
            LedgerError::InsufficientBalance {
                balance, required, ..
            } => insufficient_balance(balance, required),
            LedgerError::OutOfStock(shortages) => out_of_stock(&shortages),
            LedgerError::GoodsNotFound(id) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "goods_not_found",
                format!("goods {id} do not exist in this community"),
            )
            .with("goods_id", id.0.to_string()),
            LedgerError::GoodsInactive { goods_id, sku } => {
                ApiError::conflict("goods_inactive", format!("{sku} is not on sale"))
                    .with("goods_id", goods_id.0.to_string())
            }
            LedgerError::MemberInactive(_) => ApiError::conflict(
                "member_inactive",
                "the member is inactive; nothing can be redeemed",
            ),
            LedgerError::MonthlyLimit {
                goods_id,
                sku,
                limit,
                already,
                requested,
            } => monthly_limit(goods_id, &sku, limit, already, requested),
            LedgerError::PriceChanged { total } => ApiError::conflict(
                "price_changed",
                format!("prices changed: the basket now costs {total}"),
            )
            .with("total", total.to_string()),
            LedgerError::AlreadyVoided(_) => {
                ApiError::conflict("already_voided", "this redemption was already voided")
            }
            LedgerError::RedemptionNotFound(_) => ApiError::not_found("redemption"),
            LedgerError::VoidWindowClosed => ApiError::new(
                StatusCode::FORBIDDEN,
                "void_window_closed",
                "a clerk may void a redemption only on the day it was made; ask an admin",
            ),
            LedgerError::TooLarge => ApiError::validation("the amount or quantity is too large"),
            LedgerError::DeedNotFound(_) => ApiError::not_found("deed"),
            LedgerError::InvalidTransition { status, action } => {
                invalid_transition(&status, &action)
            }
            LedgerError::SingleStageReview => ApiError::conflict(
                "invalid_transition",
                "this community decides in one stage: an admin approves or rejects directly",
            ),
            LedgerError::NotTheSubmitter => {
                ApiError::forbidden("only the submitter withdraws a deed")
            }
            LedgerError::SelfDealing(refusal) => self_dealing(refusal.act),
            LedgerError::MonthlyCapExceeded {
                cap,
                used,
                remaining,
            } => monthly_cap_exceeded(cap, used, remaining),
            LedgerError::NoticeNotOver => {
                ApiError::conflict("notice_not_over", "the deed is still on public notice")
            }
            LedgerError::ObjectionsUndecided { count } => ApiError::conflict(
                "objection_undecided",
                format!(
                    "the deed has {count} undecided objection(s); an admin rules on them first"
                ),
            )
            .with("count", count),
            LedgerError::ObjectionNotFound => ApiError::not_found("objection"),
            LedgerError::AlreadyObjected => ApiError::conflict(
                "already_objected",
                "your objection to this deed is still undecided; an admin rules on it first",
            ),
            LedgerError::ObjectionRuled { status } => ApiError::conflict(
                "objection_ruled",
                format!("the objection was already {status}"),
            )
            .with("status", status),
            LedgerError::OrderNotFound(_) => ApiError::not_found("order"),
            LedgerError::OrderEnded { status } => {
                ApiError::conflict("order_ended", format!("the order was already {status}"))
                    .with("status", status)
            }
            LedgerError::OrderNotDue => {
                ApiError::conflict("order_not_due", "the order's time has not run out")
            }
            LedgerError::NothingToExpire(_) => ApiError::conflict(
                "nothing_to_expire",
                "no coins of this account are due to expire",
            ),
            LedgerError::IdempotencyKeyTaken => ApiError::conflict(
                "idempotency_key_in_use",
                "another request with this Idempotency-Key is being processed; retry",
            )
            .retry_after(1),
            LedgerError::QueueFull => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger_busy",
                "the ledger is busy; retry shortly",
            )
            .retry_after(1),
            LedgerError::GrantNotFound => ApiError::not_found("grant"),
            LedgerError::GrantDecided { status } => ApiError::conflict(
                "grant_decided",
                format!("the grant was already {status}; a grant is decided once"),
            )
            .with("status", status),
            LedgerError::OwnProposal => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden_own_proposal",
                "the admin who proposed a grant does not decide it; a second admin does",
            ),
            LedgerError::FundInsufficient { balance, required } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "fund_insufficient",
                format!("the fund holds {balance} points; the grant needs {required}"),
            )
            .with("balance", balance.to_string())
            .with("required", required.to_string()),
            LedgerError::Unavailable(detail) => unavailable(&detail),
        }
    }
}

/// 409 out_of_stock, naming every goods line that is short.
fn out_of_stock(shortages: &[StockShortage]) -> ApiError {
    let names: Vec<String> = shortages
        .iter()
        .map(|s| format!("{} (wanted {}, {} left)", s.sku, s.requested, s.available))
        .collect();
    let items: Vec<serde_json::Value> = shortages
        .iter()
        .map(|s| {
            serde_json::json!({
                "goods_id": s.goods_id.0,
                "sku": s.sku,
                "requested": s.requested,
                "available": s.available,
            })
        })
        .collect();
    ApiError::conflict(
        "out_of_stock",
        format!("not enough stock: {}", names.join(", ")),
    )
    .with("items", items)
}

/// 422 monthly_limit: a member's monthly allowance of one goods.
fn monthly_limit(
    goods_id: GoodsId,
    sku: &str,
    limit: i64,
    already: i64,
    requested: i64,
) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "monthly_limit",
        format!(
            "{sku}: at most {limit} a month per member; {already} already this month, {requested} asked"
        ),
    )
    .with("goods_id", goods_id.0.to_string())
    .with("limit", limit)
    .with("already", already)
    .with("remaining", (limit - already).max(0))
}

/// 422 monthly_cap_exceeded: what a rule pays a member in a month at most.
fn monthly_cap_exceeded(cap: Points, used: Points, remaining: Points) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "monthly_cap_exceeded",
        format!(
            "this rule pays at most {cap} a month per member; {used} already this month, {remaining} remain"
        ),
    )
    .with("cap", cap.to_string())
    .with("used", used.to_string())
    .with("remaining", remaining.to_string())
}

/// 403 with a code for each act a person may not do on their own passbook or deed.
fn self_dealing(act: Act) -> ApiError {
    let (code, detail) = match act {
        Act::Redeem => (
            "forbidden_self_redemption",
            "nobody redeems for their own passbook; ask another clerk",
        ),
        Act::Void => (
            "forbidden_self_void",
            "nobody voids a redemption on their own passbook; ask another clerk or an admin",
        ),
        Act::Adjust => (
            "forbidden_self_adjustment",
            "nobody adjusts their own passbook; ask another admin",
        ),
        Act::Donate => (
            "forbidden_self_donation",
            "nobody records a donation from their own passbook at the counter; donate on your own page",
        ),
        Act::Grant => (
            "forbidden_self_grant",
            "nobody proposes or decides a grant to their own passbook; ask another admin",
        ),
        Act::FirstCheck | Act::Decide | Act::Reverse => (
            "forbidden_self_approval",
            "nobody checks, decides or reverses a deed they submitted, checked first, or that concerns their own passbook",
        ),
    };
    ApiError::new(StatusCode::FORBIDDEN, code, detail)
}

/// 422 insufficient_balance, quoting the balance the command was judged against.
fn insufficient_balance(balance: Points, required: Points) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_balance",
        format!("the balance is {balance} points; {required} are required"),
    )
    .with("balance", balance.to_string())
    .with("required", required.to_string())
}

/// 503 ledger_unavailable: the writer could not confirm the write, so the client retries with
/// the same key (the idempotency record makes that safe).
fn unavailable(detail: &str) -> ApiError {
    tracing::error!(detail = %detail, "ledger unavailable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "ledger_unavailable",
        "the ledger could not confirm the write; retry with the same Idempotency-Key",
    )
    .retry_after(1)
}

/// The problem answers most routes share, one type per status, for `#[utoipa::path]`'s
/// `responses(…)`: a route lists `BadRequest, Unauthorized, …` instead of repeating the whole
/// tuple. A route that says more about a status (which codes it answers) keeps its own tuple.
pub mod responses {
    use utoipa::IntoResponses;

    use super::Problem;

    macro_rules! problem_responses {
        ($($name:ident = $status:literal),* $(,)?) => {
            $(
                #[derive(IntoResponses)]
                #[response(status = $status, content_type = "application/problem+json")]
                #[allow(dead_code)]
                pub struct $name(Problem);
            )*
        };
    }

    problem_responses!(
        BadRequest = 400,
        Unauthorized = 401,
        Forbidden = 403,
        NotFound = 404,
        Conflict = 409,
        PayloadTooLarge = 413,
        UnsupportedMediaType = 415,
        Unprocessable = 422,
        Unavailable = 503,
    );
}
