//! The first page after login: the counter for those who serve it, a resident's own passbook
//! for those who hold one, otherwise the menu.

use actix_web::HttpResponse;
use askama::Template;

use super::page::{render, Chrome, ConsoleError};
use super::session::{see_other, Person};
use crate::kernel::Permission;

#[derive(Template)]
#[template(path = "console/home.html")]
struct Home {
    chrome: Option<Chrome>,
    name: String,
}

pub async fn home(
    state: actix_web::web::Data<crate::http::state::AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    if person.may(Permission::Redeem) {
        return Ok(see_other("/counter"));
    }
    if person.user.member_id.is_some() {
        return Ok(see_other("/me"));
    }
    render(&Home {
        chrome: Some(Chrome::new(&person, "/", state.clock.now())),
        name: person.user.username.clone(),
    })
}
