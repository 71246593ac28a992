//! The OpenAPI contract: the document's frame here, its paths from the one route registration
//! (`super::routes`).

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
                    .description(Some(
                        "A token from POST /auth/login. After an admin reset the user's password \
                         (POST /users/{id}/password-reset), the token from a login with the \
                         temporary password admits only GET /me, POST /me/password and POST \
                         /auth/logout; every other route answers 403 password_change_required.",
                    ))
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
    components(schemas(crate::http::problem::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in, log out, who am I"),
        (name = "members", description = "Residents and their passbook numbers"),
        (name = "users", description = "Who may log in, with which roles"),
        (name = "accounts", description = "Passbook and system accounts"),
        (name = "adjustments", description = "Opening balances from paper and corrections"),
        (name = "fund", description = "The community fund (爱心基金): donations, grants with four eyes"),
        (name = "ledger", description = "Verification of the hash-chained journal"),
        (name = "rules", description = "The points schedule (积分细则) and workflow settings"),
        (name = "expiry", description = "When coins expire (清零): the community's rule"),
        (name = "deeds", description = "Deeds, review, approval, public notice, reversal"),
        (name = "reports", description = "Honor roll, period summary"),
        (name = "goods", description = "The points shop's goods and stock"),
        (name = "redemptions", description = "The counter: redemptions, receipts, the register, voids"),
        (name = "households", description = "Households (户): members under a head, a passbook of their own"),
        (name = "orders", description = "Reserved orders: coins and goods held, collected with a pickup code, cancelled or expired"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

/// The spec as pretty JSON with a trailing newline: what `openapi/openapi.json` holds.
pub fn spec_json() -> String {
    let mut text = super::routes::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// This service's OpenAPI 3.1 document.
#[utoipa::path(tag = "health", operation_id = "get_openapi",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec_json())
}
