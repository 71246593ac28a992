//! The OpenAPI contract, generated from the handlers' annotations.

use actix_web::{get, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "道德银行 · Moral Bank",
        description = "A community moral-coin (道德币) ledger: deeds mint coins into residents' passbooks; the points shop redeems them. Amounts are decimal strings with two places; times are RFC 3339 UTC; errors are application/problem+json with a stable `code`.",
        license(name = "MIT")
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        openapi_json,
        super::auth::login,
        super::auth::logout,
        super::auth::me,
        super::auth::change_password,
        super::members::create_member,
        super::members::list_members,
        super::members::get_member,
        super::members::update_member,
        super::users::create_user,
        super::users::list_users,
        super::users::update_user,
        super::accounts::get_account,
        super::statements::get_statement,
        super::statements::get_passbook,
        super::statements::get_balance,
        super::adjustments::create_adjustment,
        super::ledger::verify_ledger,
        super::goods::create_goods,
        super::goods::list_goods,
        super::goods::get_goods,
        super::goods::update_goods,
        super::goods::restock_goods,
        super::goods::list_stock_movements,
        super::redemptions::create_redemption,
        super::redemptions::list_redemptions,
        super::redemptions::get_redemption,
        super::redemptions::get_redemption_totals,
        super::redemptions::void_redemption,
        super::rules::create_rule,
        super::rules::list_rules,
        super::rules::get_rule,
        super::rules::update_rule,
        super::rules::get_settings,
        super::rules::update_settings,
        super::deeds::create_deed,
        super::deeds::list_deeds,
        super::deeds::get_deed,
        super::deeds::review_deed,
        super::deeds::approve_deed,
        super::deeds::approve_deeds,
        super::deeds::reject_deed,
        super::deeds::withdraw_deed,
        super::deeds::reverse_deed,
        super::deeds::object_to_deed,
        super::deeds::list_notices,
        super::reports::get_honor_roll,
        super::reports::get_summary,
        super::reports::list_journal,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in, log out, who am I"),
        (name = "members", description = "Residents and their passbook numbers"),
        (name = "users", description = "Who may log in, with which roles"),
        (name = "accounts", description = "Passbook and system accounts"),
        (name = "adjustments", description = "Opening balances from paper and corrections"),
        (name = "ledger", description = "Verification of the hash-chained journal"),
        (name = "rules", description = "The points schedule (积分细则) and workflow settings"),
        (name = "deeds", description = "Deeds, review, approval, public notice, reversal"),
        (name = "reports", description = "Honor roll, period summary"),
        (name = "goods", description = "The points shop's goods and stock"),
        (name = "redemptions", description = "The counter: redemptions, receipts, the register, voids"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// The spec as pretty JSON with a trailing newline: what `openapi/openapi.json` holds.
pub fn spec_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// This service's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", operation_id = "get_openapi",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec_json())
}
