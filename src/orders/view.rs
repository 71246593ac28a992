//! What the writer reads about orders: the orders its commands name, with their lines, read
//! afresh for every batch (handlers place them, another instance may end them).

use std::collections::HashMap;

use diesel::prelude::*;

use super::store::{orders_by_id, OrderWithLines};
use crate::db::{DbConn, DbUuid};
use crate::ledger::view::push_unique;

#[derive(Debug, Default, Clone)]
pub struct OrderView {
    pub orders: HashMap<DbUuid, OrderWithLines>,
}

impl OrderView {
    pub fn start_batch(&mut self) {
        self.orders.clear();
    }

    pub fn load(&mut self, conn: &mut DbConn, wanted: &[DbUuid]) -> QueryResult<()> {
        let mut ids = Vec::new();
        for id in wanted {
            if !self.orders.contains_key(id) {
                push_unique(&mut ids, *id);
            }
        }
        for (order, lines) in orders_by_id(conn, &ids)? {
            self.orders.insert(order.id, (order, lines));
        }
        Ok(())
    }
}
