//! Every route of the service, registered once: the same registration gives the actix services
//! that answer and the OpenAPI paths that document them (`utoipa-actix-web`), so the two cannot
//! drift apart.

use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

use super::openapi::ApiDoc;

/// The JSON API, under `/api/v1`, and the health probes.
pub fn api(cfg: &mut ServiceConfig<'_>) {
    cfg.service(crate::app::health::healthz);
    cfg.service(crate::app::health::readyz);
    cfg.service(crate::trust::http::list_public_heads);
    cfg.service(crate::trust::http::get_public_consistency);
    cfg.service(
        scope::scope("/api/v1")
            .service(crate::app::openapi::openapi_json)
            .service(crate::users::http::login::login)
            .service(crate::communities::http::operator_login)
            .service(crate::communities::http::create_community)
            .service(crate::communities::http::list_communities)
            .service(crate::communities::http::platform_health)
            .service(crate::users::http::login::logout)
            .service(crate::users::http::login::me)
            .service(crate::users::http::login::change_password)
            .service(crate::members::http::create_member)
            // "import" and "export" before "{id}": the first matching route wins.
            .service(crate::members::http::roster::import_roster)
            .service(crate::members::http::roster::export_roster)
            .service(crate::members::http::list_members)
            .service(crate::members::http::get_member)
            .service(crate::members::http::update_member)
            .service(crate::users::http::users::create_user)
            .service(crate::users::http::users::list_users)
            .service(crate::users::http::users::update_user)
            .service(crate::users::http::users::get_user)
            .service(crate::users::http::password_reset::reset_user_password)
            .service(crate::passbook::http::accounts::get_account)
            .service(crate::passbook::http::statements::get_statement)
            .service(crate::passbook::web::print::get_passbook)
            .service(crate::passbook::http::statements::get_balance)
            .service(crate::adjustments::http::create_adjustment)
            .service(crate::fund::http::create_donation)
            .service(crate::fund::http::get_fund)
            .service(crate::fund::http::create_grant)
            .service(crate::fund::http::list_grants)
            .service(crate::fund::http::approve_grant)
            .service(crate::fund::http::reject_grant)
            .service(crate::audit::http::verify_ledger)
            // "export" before any "{id}" route of heads.
            .service(crate::trust::http::export_ledger_heads)
            .service(crate::trust::http::create_ledger_head)
            .service(crate::trust::http::get_transaction_proof)
            .service(crate::shop::http::goods::create_goods)
            .service(crate::shop::http::goods::list_goods)
            .service(crate::shop::http::goods::get_goods)
            .service(crate::shop::http::goods::update_goods)
            .service(crate::shop::http::goods::restock_goods)
            .service(crate::shop::http::goods::list_stock_movements)
            // "totals" before "{id}": the first matching route wins.
            .service(crate::shop::http::redemptions::get_redemption_totals)
            .service(crate::shop::http::redemptions::create_redemption)
            .service(crate::shop::http::redemptions::list_redemptions)
            .service(crate::shop::http::redemptions::get_redemption)
            .service(crate::shop::http::redemptions::void_redemption)
            // "collect" before "{id}".
            .service(crate::orders::http::collect_order)
            .service(crate::orders::http::create_order)
            .service(crate::orders::http::list_orders)
            .service(crate::orders::http::get_order)
            .service(crate::orders::http::cancel_order)
            .service(crate::orders::http::get_order_settings)
            .service(crate::orders::http::update_order_settings)
            .service(crate::households::http::create_household)
            .service(crate::households::http::list_households)
            .service(crate::households::http::get_household)
            .service(crate::households::http::add_household_member)
            .service(crate::households::http::get_household_settings)
            .service(crate::households::http::update_household_settings)
            .service(crate::deeds::http::rules::create_rule)
            .service(crate::deeds::http::rules::list_rules)
            .service(crate::deeds::http::rules::get_rule)
            .service(crate::deeds::http::rules::update_rule)
            .service(crate::deeds::http::rules::get_settings)
            .service(crate::deeds::http::rules::update_settings)
            .service(crate::expiry::http::get_expiry_settings)
            .service(crate::expiry::http::update_expiry_settings)
            // The bulk route before "/deeds/{id}/…" ones.
            .service(crate::deeds::http::decide::approve_deeds)
            .service(crate::deeds::http::deeds::create_deed)
            .service(crate::deeds::http::deeds::list_deeds)
            .service(crate::deeds::http::deeds::get_deed)
            .service(crate::deeds::http::decide::review_deed)
            .service(crate::deeds::http::decide::approve_deed)
            .service(crate::deeds::http::decide::reject_deed)
            .service(crate::deeds::http::decide::withdraw_deed)
            .service(crate::deeds::http::decide::reverse_deed)
            .service(crate::deeds::http::decide::object_to_deed)
            .service(crate::deeds::http::decide::rule_objection)
            .service(crate::deeds::http::board::list_notices)
            .service(crate::reports::http::get_honor_roll)
            .service(crate::reports::http::get_summary)
            .service(crate::reports::http::list_journal),
    );
}

/// The web console: HTML pages for people, with a session cookie. Not part of the OpenAPI
/// document, which describes the JSON API.
pub fn console(cfg: &mut actix_web::web::ServiceConfig) {
    use crate::console::resource;
    use actix_web::web::get;
    cfg.service(
        resource("/assets/console.css").route(get().to(crate::console::assets::stylesheet)),
    )
    .service(resource("/assets/console.js").route(get().to(crate::console::assets::script)))
    .service(resource("/assets/check.js").route(get().to(crate::console::assets::check_script)))
    .service(resource("/").route(get().to(crate::console::home::home)));
    // Each concept registers its own pages.
    crate::users::web::routes(cfg);
    crate::shop::web::routes(cfg);
    crate::orders::web::routes(cfg);
    crate::households::web::routes(cfg);
    crate::passbook::web::routes(cfg);
    crate::members::web::routes(cfg);
    crate::deeds::web::routes(cfg);
    crate::reports::web::routes(cfg);
    crate::audit::web::routes(cfg);
    crate::trust::web::routes(cfg);
    crate::fund::web::routes(cfg);
}

/// The OpenAPI document, from the same registration the server uses.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, spec) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api)
        .split_for_parts();
    spec
}
