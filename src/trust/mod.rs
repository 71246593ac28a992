//! Trust beyond the database: each community's signing key, the ledger heads it signs (the size of
//! the journal and the Merkle root over it), their publication, and checking a ledger against
//! heads kept elsewhere.

pub mod http;
pub mod model;
pub mod store;
pub mod view;
pub mod web;
