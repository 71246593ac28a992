//! The review desk (审核台) in the console: the queues with their filters and the bulk approval,
//! and a deed's page with its history, objections and the decisions the person may take.

pub mod deed;
pub mod desk;
pub mod record;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/desk").route(get().to(desk::show_queue)))
        .service(resource("/desk/approve").route(post().to(desk::approve_chosen)))
        .service(
            resource("/desk/record")
                .route(get().to(record::show_record))
                .route(post().to(record::record)),
        )
        .service(resource("/desk/deeds/{id}").route(get().to(deed::show_deed)))
        .service(resource("/desk/deeds/{id}/decide").route(post().to(deed::decide)))
        .service(resource("/desk/deeds/{id}/objections/{objection}").route(post().to(deed::rule)));
}
