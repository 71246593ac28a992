//! The console pages of reserved orders: a resident reserves goods from the shop page and gets a
//! pickup code to say at the counter; their orders with the codes; cancelling one. At the
//! counter, the clerk types the code and the order becomes a redemption with its receipt.

use actix_web::http::StatusCode;
use actix_web::web::{get, post, ServiceConfig};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::http::{cancel, collect_by_code, place_order, OrderRequest};
use super::model::OrderStatus;
use super::store::{self, OrderLineRow, OrderRow};
use crate::console::page::{
    local_minute, points, render, render_with, Chrome, ConsoleError, FieldProblem,
};
use crate::console::resource;
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::db::DbUuid;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{GoodsId, LocalCalendar, Permission};
use crate::shop::http::redemptions::{BasketLineRequest, LINE_QUANTITY_MAX};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource("/me/orders").route(get().to(show_mine)))
        .service(
            resource("/me/orders/new")
                .route(get().to(show_new))
                .route(post().to(place)),
        )
        .service(resource("/me/orders/{id}").route(get().to(show_one)))
        .service(resource("/me/orders/{id}/cancel").route(post().to(cancel_mine)))
        .service(
            resource("/counter/pickup")
                .route(get().to(show_pickup))
                .route(post().to(pickup)),
        );
}

/// An order as the pages show it.
pub struct Shown {
    pub id: String,
    pub code: String,
    pub status: &'static str,
    pub held: bool,
    pub what: String,
    pub total: String,
    pub placed: String,
    /// Until when the goods wait (community-local).
    pub until: String,
    pub ended: String,
    pub end_reason: String,
}

fn shown(calendar: LocalCalendar, order: &OrderRow, lines: &[OrderLineRow]) -> Shown {
    Shown {
        id: order.id.0.to_string(),
        code: order.pickup_code.clone(),
        status: order.status.label(),
        held: order.status == OrderStatus::Held,
        what: lines
            .iter()
            .map(|l| format!("{}×{}", l.name, l.quantity))
            .collect::<Vec<_>>()
            .join("，"),
        total: points(order.total),
        placed: local_minute(calendar, order.created_at),
        until: local_minute(calendar, order.expires_at),
        ended: order
            .ended_at
            .map(|t| local_minute(calendar, t))
            .unwrap_or_default(),
        end_reason: order.end_reason.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "console/me-orders.html")]
struct MinePage {
    chrome: Option<Chrome>,
    orders: Vec<Shown>,
}

pub async fn show_mine(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    let member = person.user.member_id.ok_or(ConsoleError::Forbidden)?;
    let community = person.user.community_id;
    let rows = with_conn(&state, move |conn| {
        Ok(store::list(conn, community, Some(member), None, 50)?)
    })
    .await?;
    let calendar = person.community.calendar;
    let mut orders: Vec<Shown> = rows.iter().map(|(o, l)| shown(calendar, o, l)).collect();
    // What still waits at the counter first.
    orders.sort_by_key(|o| !o.held);
    render(&MinePage {
        chrome: Some(Chrome::new(&person, "/me/orders", state.clock.now())),
        orders,
    })
}

#[derive(Template)]
#[template(path = "console/me-order.html")]
struct OnePage {
    chrome: Option<Chrome>,
    order: Shown,
    problem: FieldProblem,
}

async fn own_order(
    state: &AppState,
    person: &Person,
    id: uuid::Uuid,
) -> Result<(OrderRow, Vec<OrderLineRow>), ConsoleError> {
    let community = person.user.community_id;
    let found = with_conn(state, move |conn| {
        Ok(store::order(conn, community, DbUuid(id))?)
    })
    .await?
    .filter(|(o, _)| person.user.member_id == Some(o.member_id.into()))
    .ok_or(ConsoleError::NotFound)?;
    Ok(found)
}

pub async fn show_one(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let (order, lines) = own_order(&state, &person, path.into_inner()).await?;
    render(&OnePage {
        chrome: Some(Chrome::new(&person, "/me/orders", state.clock.now())),
        order: shown(person.community.calendar, &order, &lines),
        problem: FieldProblem::default(),
    })
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    form_token: String,
}

pub async fn cancel_mine(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.check_form_token(&form.form_token)?;
    let id = path.into_inner();
    let (order, lines) = own_order(&state, &person, id).await?;
    match cancel(
        &state,
        &person.user,
        id,
        Some(words::ORDER_CANCELLED_BY_RESIDENT.into()),
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/me/orders/{id}"))),
        Err(e) if e.status.is_client_error() => render_with(
            e.status,
            &OnePage {
                chrome: Some(Chrome::new(&person, "/me/orders", state.clock.now())),
                order: shown(person.community.calendar, &order, &lines),
                problem: words::problem(&e),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "console/me-order-new.html")]
struct NewPage {
    chrome: Option<Chrome>,
    goods_id: String,
    name: String,
    price: String,
    stock: i64,
    balance: String,
    quantity: String,
    key: String,
    hours: i32,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    goods: uuid::Uuid,
}

async fn new_page(
    state: &AppState,
    person: &Person,
    goods: uuid::Uuid,
    quantity: String,
    key: String,
    problem: FieldProblem,
) -> Result<NewPage, ConsoleError> {
    let member = person.user.member_id.ok_or(ConsoleError::Forbidden)?;
    let community = person.user.community_id;
    let (goods, balance, hours) = with_conn(state, move |conn| {
        let goods = crate::shop::store::goods_by_id(conn, community, GoodsId(goods))?;
        let balance = crate::members::store::member_with_account(conn, community, member)?
            .map(|(_, a)| a.balance)
            .unwrap_or(0);
        Ok((goods, balance, store::hold_hours(conn, community)?))
    })
    .await?;
    let goods = goods.ok_or(ConsoleError::NotFound)?;
    Ok(NewPage {
        chrome: Some(Chrome::new(person, "/shop", state.clock.now())),
        goods_id: goods.id.0.to_string(),
        name: goods.name,
        price: points(goods.price),
        stock: goods.stock,
        balance: points(balance),
        quantity,
        key,
        hours,
        problem,
    })
}

pub async fn show_new(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReserveOwn)?;
    let key = uuid::Uuid::now_v7().to_string();
    render(
        &new_page(
            &state,
            &person,
            query.goods,
            "1".into(),
            key,
            FieldProblem::default(),
        )
        .await?,
    )
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    form_token: String,
    key: String,
    goods_id: uuid::Uuid,
    quantity: String,
}

pub async fn place(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<NewForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ReserveOwn)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let key = form.key.trim().to_string();
    if uuid::Uuid::parse_str(&key).is_err() {
        return Err(ConsoleError::BadForm);
    }
    let quantity = match form.quantity.trim().parse::<i64>() {
        Ok(q) if (1..=LINE_QUANTITY_MAX).contains(&q) => q,
        _ => {
            let problem = FieldProblem::on("quantity", words::ORDER_QUANTITY_INVALID);
            let page =
                new_page(&state, &person, form.goods_id, form.quantity, key, problem).await?;
            return render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let request = OrderRequest {
        member_id: None,
        lines: vec![BasketLineRequest {
            goods_id: form.goods_id,
            quantity,
        }],
        expected_total: None,
    };
    match place_order(&state, &person.user, key.clone(), request).await {
        Ok(order) => Ok(see_other(&format!("/me/orders/{}", order.id))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let mut problem = words::problem(&e);
            problem.field = "quantity".into();
            if e.code == "insufficient_balance" {
                problem.message = words::order_short_of_coins(
                    e.extra
                        .get("balance")
                        .and_then(|v| v.as_str())
                        .unwrap_or(""),
                    e.extra
                        .get("required")
                        .and_then(|v| v.as_str())
                        .unwrap_or(""),
                );
            }
            // A refused order keeps its key's answer: the next try is a new order.
            let fresh = uuid::Uuid::now_v7().to_string();
            let page = new_page(
                &state,
                &person,
                form.goods_id,
                form.quantity,
                fresh,
                problem,
            )
            .await?;
            render_with(e.status, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "console/pickup.html")]
struct PickupPage {
    chrome: Option<Chrome>,
    code: String,
    problem: FieldProblem,
}

pub async fn show_pickup(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::Redeem)?;
    render(&PickupPage {
        chrome: Some(Chrome::new(&person, "/counter/pickup", state.clock.now())),
        code: String::new(),
        problem: FieldProblem::default(),
    })
}

#[derive(Debug, Deserialize)]
pub struct PickupForm {
    form_token: String,
    code: String,
}

pub async fn pickup(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<PickupForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::Redeem)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    match collect_by_code(&state, &person.user, &form.code).await {
        Ok(done) => Ok(see_other(&format!(
            "/counter/receipts/{}",
            done.redemption.id
        ))),
        Err(e) if e.status.is_client_error() => {
            let mut problem = words::problem(&e);
            problem.field = "code".into();
            render_with(
                e.status,
                &PickupPage {
                    chrome: Some(Chrome::new(&person, "/counter/pickup", state.clock.now())),
                    code: form.code,
                    problem,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}
