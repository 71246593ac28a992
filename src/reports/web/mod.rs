//! The reports' pages in the console: the honor roll (光荣榜) of a month, and its A4 print for
//! the notice wall.

pub mod honor_roll;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/honor-roll").route(get().to(honor_roll::show_honor_roll)))
        .service(resource("/honor-roll/print").route(get().to(honor_roll::print_honor_roll)));
}
