//! The deeds' console pages.

pub mod rules;

use actix_web::web::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    rules::routes(cfg);
}
