//! The passbook's pages in the console: a resident's own passbook (我的存折), month by month, and
//! the printed passbook (存折). The downloads are pages of their own (`/passbook/{account}/…`).

pub mod mine;
pub mod print;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/me").route(get().to(mine::show_mine)))
        .service(resource("/passbook/{account_id}/print").route(get().to(print::print_passbook)));
}
