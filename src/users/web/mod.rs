//! The users' console pages.

pub mod login;
pub mod users;

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
    )
    .service(
        resource("/users")
            .route(get().to(users::show_users))
            .route(post().to(users::create_user)),
    )
    .service(resource("/users/{id}").route(get().to(users::show_user)))
    .service(resource("/users/{id}/roles").route(post().to(users::change_roles)))
    .service(resource("/users/{id}/name").route(post().to(users::change_name)))
    .service(resource("/users/{id}/status").route(post().to(users::set_status)))
    .service(resource("/users/{id}/password-reset").route(post().to(users::reset_user_password)));
}
