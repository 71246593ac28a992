//! The integration tests as one test binary. Each file here was a test binary of its own, and
//! each compiled `common` again and linked the crate again; as modules of one crate, `common`
//! compiles once and there is one link instead of 29.
//!
//! Run one module with `cargo test --test suite hardening::`. A test is named by its module
//! (`hardening::some_test`, and `::sqlite` / `::postgres` after a `both_backends!` test).
//!
//! The tests are threads of one process: none may change what the process shares (environment,
//! current directory, global log subscriber, ports handed out by `bind(…:0)`). Settings go to a
//! child's `Command` or a server's `Config`.

#[macro_use]
mod common;

mod adjustments;
mod admins;
mod amounts;
mod auth;
mod backends_agree;
mod bad_input;
mod batch_columns;
mod bench_smoke;
mod check_page;
mod clawback;
mod cli;
mod communities;
mod console;
mod console_admin;
mod console_board;
mod console_browser;
mod console_desk;
mod console_passbook_print;
mod console_reports;
mod console_residents;
mod dates;
mod deeds;
mod expiry;
mod fund;
mod hardening;
mod hostile;
mod households;
mod http_layer;
mod layering;
mod ledger_engine;
mod ledger_tree;
mod logs;
mod members;
mod openapi;
mod orders;
mod outage;
mod passbook_export;
mod password_reset;
mod policy;
mod proofs;
mod readme;
mod reliability;
mod replica;
mod report_limits;
mod roster;
mod shardable;
mod shop;
mod signed_heads;
mod startup;
mod statements;
mod tamper;
mod throttle;
