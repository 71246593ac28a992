//! The reports in the console: the period summary as a table with charts (报表), its A4 print,
//! each chart as an SVG of its own, the journal page by page for the auditor (流水账), and the
//! honor roll (光荣榜) of a month with its A4 print for the notice wall. Every page only reads:
//! nothing here takes a POST.

pub mod chart;
pub mod honor_roll;
pub mod journal;
pub mod summary;

use actix_web::web::{get, ServiceConfig};

use crate::console::resource;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/honor-roll").route(get().to(honor_roll::show_honor_roll)))
        .service(resource("/honor-roll/print").route(get().to(honor_roll::print_honor_roll)))
        .service(resource("/reports").route(get().to(summary::show_report)))
        .service(resource("/reports/print").route(get().to(summary::print_report)))
        .service(resource("/reports/charts/{chart}.svg").route(get().to(summary::chart_svg)))
        .service(resource("/audit/journal").route(get().to(journal::show_journal)));
}
