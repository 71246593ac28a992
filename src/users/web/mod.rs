//! The users' console pages.

pub mod login;

use actix_web::web::{get, post, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        resource("/login")
            .route(get().to(login::show_login))
            .route(post().to(login::login)),
    )
    .service(resource("/logout").route(post().to(login::logout)))
    .service(
        resource("/password")
            .route(get().to(login::show_password))
            .route(post().to(login::change_password)),
    );
}
