//! The service's notion of "now" for business rules (notice periods). Real time by default; tests
//! move it forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::NaiveDateTime;

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        let real = crate::db::time_to_micros(crate::db::now_utc());
        crate::db::micros_to_time(real + self.offset_micros.load(Ordering::SeqCst))
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX / 4);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
    }
}
