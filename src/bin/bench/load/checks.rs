//! The checks after every write scenario: the ledger verifies, and what the clients were told
//! happened is what the database holds.

use moralbank::app::config::Config;
use moralbank::db::DbUuid;

use super::prepare::ITEM_PRICE;

/// Σ member balances and the goods' stock, straight from the database.
pub(super) struct Totals {
    balances: i64,
    stock: i64,
}

impl Totals {
    /// Reads the totals now, for the goods `goods`.
    pub fn read(config: &Config, goods: uuid::Uuid) -> Result<Totals, String> {
        use diesel::prelude::*;
        use moralbank::db::schema::{accounts, goods as goods_table};
        let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
        let balances: Vec<i64> = accounts::table
            .filter(accounts::kind.eq("member"))
            .select(accounts::balance)
            .load(&mut conn)
            .map_err(|e| e.to_string())?;
        let stock: i64 = goods_table::table
            .find(DbUuid(goods))
            .select(goods_table::stock)
            .first(&mut conn)
            .map_err(|e| e.to_string())?;
        Ok(Totals {
            balances: balances.iter().sum(),
            stock,
        })
    }
}

/// Runs `verify` over the whole ledger; an error naming the first problem when it is not clean.
pub(super) fn verify_clean(config: &Config) -> Result<(), String> {
    let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
    let report =
        moralbank::ledger::verify::verify_ledger(&mut conn, None).map_err(|e| e.to_string())?;
    if !report.ok {
        return Err(format!("LEDGER BROKEN: {:?}", report.problems.first()));
    }
    Ok(())
}

/// After the redemption run `label`: the ledger verifies, and balances and stock moved by exactly
/// the `acknowledged` redemptions of one item each. Prints the check when it passes.
pub(super) fn redemptions_match(
    config: &Config,
    label: &str,
    before: &Totals,
    after: &Totals,
    acknowledged: i64,
) -> Result<(), String> {
    verify_clean(config)?;
    let (balances_moved, stock_moved) =
        (before.balances - after.balances, before.stock - after.stock);
    if balances_moved != acknowledged * ITEM_PRICE || stock_moved != acknowledged {
        return Err(format!(
            "LEDGER MISMATCH after {label}: {acknowledged} acknowledged, balances moved {balances_moved}, stock moved {stock_moved}"
        ));
    }
    println!("ledger checked after {label}: verify clean; {acknowledged} acknowledged redemptions match balances and stock");
    Ok(())
}
