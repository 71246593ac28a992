//! The deeds' pages in the console: the review desk (审核台) — the queues with their filters and
//! the bulk approval, recording a deed for a resident, and a deed's page with its history,
//! objections and the decisions the person may take — and the notice board (公示栏), for people
//! signed in and, without a login, for any resident of the community — and the committee's
//! points schedule (积分细则) and workflow settings.

pub mod board;
pub mod deed;
pub mod desk;
pub mod record;
pub mod rules;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    // The board's pages are GET only: the public ones change nothing, so no other site can make
    // them do anything.
    cfg.service(resource("/board").route(get().to(board::show_board)))
        .service(resource("/board/print").route(get().to(board::print_board)))
        .service(resource("/public/{code}/board").route(get().to(board::show_public_board)))
        .service(resource("/public/{code}/board/print").route(get().to(board::print_public_board)))
        .service(resource("/desk").route(get().to(desk::show_queue)))
        .service(resource("/desk/approve").route(post().to(desk::approve_chosen)))
        .service(
            resource("/desk/record")
                .route(get().to(record::show_record))
                .route(post().to(record::record)),
        )
        .service(resource("/desk/deeds/{id}").route(get().to(deed::show_deed)))
        .service(resource("/desk/deeds/{id}/decide").route(post().to(deed::decide)))
        .service(resource("/desk/deeds/{id}/objections/{objection}").route(post().to(deed::rule)));
    rules::routes(cfg);
}
