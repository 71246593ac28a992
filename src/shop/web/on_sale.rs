//! 商品: the goods on sale with price, stock and monthly limit, for residents at home. Nothing is
//! redeemed from here: a resident may reserve goods (`crate::orders`), and the clerk hands them
//! over at the counter.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::console::page::{points, render, Chrome, ConsoleError};
use crate::console::session::Person;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::ActiveStatus;
use crate::shop::store::GoodsFilter;

/// Goods the page lists at most.
const GOODS_SHOWN_MAX: i64 = 200;

pub struct OnSale {
    pub id: String,
    pub name: String,
    pub price: String,
    pub stock: i64,
    pub limit: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/shop.html")]
struct ShopPage {
    chrome: Option<Chrome>,
    goods: Vec<OnSale>,
    /// The person's own balance, when they hold a passbook.
    balance: String,
    /// A resident may reserve goods here and collect them with a code.
    may_reserve: bool,
}

pub async fn show_shop(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    let community = person.user.community_id;
    let member = person.user.member_id;
    let (rows, balance) = with_conn(&state, move |conn| {
        let rows = crate::shop::store::list_goods(
            conn,
            community,
            &GoodsFilter {
                status: Some(ActiveStatus::Active.as_str()),
                after: None,
                limit: GOODS_SHOWN_MAX,
            },
        )?;
        let balance = match member {
            Some(m) => crate::members::store::member_with_account(conn, community, m)?
                .map(|(_, account)| account.balance),
            None => None,
        };
        Ok((rows, balance))
    })
    .await?;
    let mut rows = rows;
    // What can be had first, cheapest first; sold-out goods last.
    rows.sort_by_key(|g| (g.stock == 0, g.price));
    let goods: Vec<OnSale> = rows
        .iter()
        .map(|g| OnSale {
            id: g.id.0.to_string(),
            name: g.name.clone(),
            price: points(g.price),
            stock: g.stock,
            limit: g.monthly_limit,
        })
        .collect();
    render(&ShopPage {
        chrome: Some(Chrome::new(&person, "/shop", state.clock.now())),
        goods,
        balance: balance.map(points).unwrap_or_default(),
        may_reserve: member.is_some() && person.may(crate::kernel::Permission::ReserveOwn),
    })
}
