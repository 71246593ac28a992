//! The committee's roster pages (居民名册): the list and search, and the roster file's import
//! (with its dry run shown as a table) and export.

pub mod edit;
pub mod list;
pub mod roster;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/members").route(get().to(list::show_members)))
        .service(resource("/members/export").route(get().to(roster::export)))
        .service(
            resource("/members/import")
                .route(get().to(roster::show_import))
                .route(post().to(roster::import)),
        )
        .service(
            resource("/members/new")
                .route(get().to(edit::show_new))
                .route(post().to(edit::create)),
        )
        .service(
            resource("/members/{id}")
                .route(get().to(edit::show_member))
                .route(post().to(edit::edit)),
        )
        .service(resource("/members/{id}/status").route(post().to(edit::set_status)));
}
