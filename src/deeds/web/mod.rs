//! The deeds' pages in the console: the review desk (审核台) — the queues with their filters and
//! the bulk approval, recording a deed for a resident, and a deed's page with its history,
//! objections and the decisions the person may take — and the notice board (公示栏), for people
//! signed in and, without a login, for any resident of the community — objecting to a deed on
//! it, a resident's own deeds and declaring one (我的申报, 申报好事), and the committee's points
//! schedule (积分细则) and workflow settings.

pub mod board;
pub mod deed;
pub mod desk;
pub mod mine;
pub mod object;
pub mod record;
pub mod rules;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    // The public board's pages are GET only: they change nothing, so no other site can make them
    // do anything. Objecting needs a session and its form token.
    cfg.service(resource("/board").route(get().to(board::show_board)))
        .service(resource("/board/print").route(get().to(board::print_board)))
        .service(resource("/public/{code}/board").route(get().to(board::show_public_board)))
        .service(resource("/public/{code}/board/print").route(get().to(board::print_public_board)))
        .service(
            resource("/board/{id}/object")
                .route(get().to(object::show_object))
                .route(post().to(object::object)),
        )
        .service(resource("/me/deeds").route(get().to(mine::show_my_deeds)))
        .service(resource("/me/deeds/{id}").route(get().to(mine::show_my_deed)))
        .service(
            resource("/me/declare")
                .route(get().to(mine::show_declare))
                .route(post().to(mine::declare)),
        )
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
