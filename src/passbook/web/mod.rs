//! The passbook's console pages: the printed passbook (存折).

pub mod print;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/passbook/{account_id}/print").route(get().to(print::print_passbook)));
}
