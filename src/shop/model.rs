//! The shop's states: a redemption is completed or voided (once); stock moves for four reasons.

use crate::stored_words;

stored_words! {
    pub enum RedemptionStatus {
        Completed = "completed",
        /// Voided: coins and stock came back, exactly once.
        Voided = "voided",
    }
}

stored_words! {
    /// Why stock moved.
    pub enum StockMovementKind {
        /// The first shelf, when the goods were created.
        Initial = "initial",
        Restock = "restock",
        Redemption = "redemption",
        Void = "void",
    }
}
