//! The passbook's console pages: the statement as a download.

pub mod export;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        resource("/passbook/{account_id}/statement.csv").route(get().to(export::statement_csv)),
    )
    .service(
        resource("/passbook/{account_id}/statement.xlsx").route(get().to(export::statement_xlsx)),
    );
}
