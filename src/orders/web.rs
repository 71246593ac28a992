//! The console pages of reserved orders.
