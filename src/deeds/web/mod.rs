//! The deeds' pages in the console: the notice board (公示栏), for people signed in and, without
//! a login, for any resident of the community.

pub mod board;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    // Only GET: the public pages change nothing, so no other site can make them do anything.
    cfg.service(resource("/board").route(get().to(board::show_board)))
        .service(resource("/board/print").route(get().to(board::print_board)))
        .service(resource("/public/{code}/board").route(get().to(board::show_public_board)))
        .service(resource("/public/{code}/board/print").route(get().to(board::print_public_board)));
}
