//! The ledger kernel: the single writer with group commit (`engine`, `writer`), what one batch
//! changes and writes (`batch`), the posting primitive every money movement ends in (`posting`),
//! the view of accounts and chain heads (`view`), the two backends' batch writers fed by one
//! description per table (`store`), reads of what was written (`read`) and verification of it all
//! (`verify`). It knows no business concept: the concepts' commands plug in as a [`Machine`].

pub mod batch;
mod checkpoint;
pub mod command;
pub mod engine;
pub mod merkle;
pub mod posting;
pub mod read;
pub mod store;
pub mod tree;
pub mod verify;
pub mod view;
mod writer;

pub use batch::{Batch, IdSource};
pub use command::{
    IdempotencyClaim, LedgerError, Posted, PostedLine, StockShortage, MEMO_CHARS_MAX,
};
pub use engine::{Engine, EngineSettings, Machine};
pub use posting::{post, unbalanced, Draft};
pub use view::View;
