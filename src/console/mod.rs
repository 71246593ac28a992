//! The web console's foundation: people's sessions (a cookie, never a bearer token), the page
//! chrome, every sentence in Chinese, and the stylesheet and script, embedded in the binary.
//! The pages themselves live with their concept (`shop::web` for the counter, `users::web` for
//! login and passwords) and call the same concept functions as the JSON API.
//!
//! Templates are askama's: checked when the crate compiles (a field a template names must exist,
//! with the type it is used as) and compiled into the binary, so a page cannot fail to parse at
//! run time and nothing is read from disk.

pub mod assets;
pub mod home;
pub mod page;
pub mod session;
pub mod words;

use actix_web::middleware::from_fn;
use actix_web::{web, Resource};

/// A console route: every answer carries the console's security headers, and a state-changing
/// request from another site is refused before its handler runs.
pub fn resource(
    path: &str,
) -> Resource<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path)
        // A path that names nothing (not an id, say) is the console's 404 page, not a problem.
        .app_data(
            web::PathConfig::default()
                .error_handler(|_err, _req| page::ConsoleError::NotFound.into()),
        )
        .wrap(from_fn(session::guard))
}

/// Largest console form accepted, in bytes; a basket of twenty lines fits in a fraction.
pub const FORM_BYTES_MAX: usize = 16 * 1024;

/// How console forms are read: a form that cannot be read is a page that says so in Chinese.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(FORM_BYTES_MAX)
        .error_handler(|_err, _req| page::ConsoleError::BadForm.into())
}
