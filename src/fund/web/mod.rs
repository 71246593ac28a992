//! The fund's pages: its public statement on the notice board (no login, names masked, also as
//! JSON), and the console's fund page for admins and donate forms for residents and the counter.

mod console;
mod public;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    // The public statement is GET only: it changes nothing, so it needs no session.
    cfg.service(resource("/public/{code}/fund").route(get().to(public::show_public_fund)))
        .service(resource("/public/{code}/fund.json").route(get().to(public::public_fund_json)))
        .service(
            resource("/fund")
                .route(get().to(console::show_fund))
                .route(post().to(console::propose)),
        )
        .service(resource("/fund/grants/{id}/approve").route(post().to(console::approve)))
        .service(resource("/fund/grants/{id}/reject").route(post().to(console::reject)))
        .service(
            resource("/fund/donate")
                .route(get().to(console::show_donate))
                .route(post().to(console::donate)),
        );
}
