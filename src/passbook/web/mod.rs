//! The passbook's pages in the console: a resident's own passbook (我的存折), month by month, the
//! printed passbook (存折), and the statement as a download (CSV, .xlsx).

pub mod export;
pub mod mine;
pub mod print;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/me").route(get().to(mine::show_mine)))
        .service(resource("/passbook/{account_id}/print").route(get().to(print::print_passbook)))
        .service(
            resource("/passbook/{account_id}/statement.csv").route(get().to(export::statement_csv)),
        )
        .service(
            resource("/passbook/{account_id}/statement.xlsx")
                .route(get().to(export::statement_xlsx)),
        );
}
