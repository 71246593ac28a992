//! Goods (商品管理) for the committee: the list and a new goods, one goods' price, sale status
//! and monthly limit, restocking with a reason, and its stock movement log. Every change goes
//! through the same `shop::http::goods` functions as the JSON API.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{local_minute, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{with_conn, Freshness, PageQuery};
use crate::kernel::{GoodsId, Permission, UserId};
use crate::shop::http::goods::{
    self as concept, CreateGoodsRequest, GoodsListQuery, GoodsView, RestockRequest,
    UpdateGoodsRequest,
};

/// Goods one page of the list shows, and movements one goods page shows.
pub const GOODS_LIST_ROWS_MAX: i64 = 200;
pub const MOVEMENT_ROWS_MAX: i64 = 200;

pub struct GoodsLine {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub price: String,
    pub stock: i64,
    pub monthly_limit: String,
    pub on_sale: bool,
}

fn goods_line(g: &GoodsView) -> GoodsLine {
    GoodsLine {
        id: g.id.to_string(),
        sku: g.sku.clone(),
        name: g.name.clone(),
        price: g.price.clone(),
        stock: g.stock,
        monthly_limit: g
            .monthly_limit
            .map(|n| n.to_string())
            .unwrap_or_else(|| words::GOODS_NO_LIMIT.to_string()),
        on_sale: g.status == "active",
    }
}

/// What the new-goods form holds, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct NewGoodsForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    stock: String,
    #[serde(default)]
    monthly_limit: String,
}

#[derive(Template)]
#[template(path = "console/goods.html")]
struct GoodsListPage {
    chrome: Option<Chrome>,
    goods: Vec<GoodsLine>,
    form: NewGoodsForm,
    problem: FieldProblem,
}

async fn list_page(
    state: &AppState,
    person: &Person,
    form: NewGoodsForm,
    problem: FieldProblem,
) -> Result<GoodsListPage, ConsoleError> {
    let query = GoodsListQuery {
        status: None,
        limit: Some(GOODS_LIST_ROWS_MAX),
        cursor: None,
    };
    let page = concept::goods_page(state, &person.user, query).await?;
    Ok(GoodsListPage {
        chrome: Some(Chrome::new(person, "/goods", state.clock.now())),
        goods: page.items.iter().map(goods_line).collect(),
        form,
        problem,
    })
}

pub async fn show_goods(
    state: web::Data<AppState>,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageGoods)?;
    let page = list_page(
        &state,
        &person,
        NewGoodsForm::default(),
        FieldProblem::default(),
    )
    .await?;
    render(&page)
}

/// A whole number typed into `field`, or the problem to show beside it.
fn whole_number(field: &str, text: &str, message: &str) -> Result<i64, FieldProblem> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| FieldProblem::on(field, message))
}

/// A monthly limit typed: empty is none.
fn limit_typed(text: &str) -> Result<Option<i64>, FieldProblem> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    whole_number("monthly_limit", text, words::GOODS_LIMIT_INVALID).map(Some)
}

/// A refusal the form shows beside its field (a server failure stays an error page).
fn refusal(e: ApiError) -> Result<(FieldProblem, StatusCode), ConsoleError> {
    if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
        let status = e.status;
        Ok((words::goods_problem(&e), status))
    } else {
        Err(e.into())
    }
}

pub async fn create_goods(
    state: web::Data<AppState>,
    person: Person,
    form: web::Form<NewGoodsForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageGoods)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let typed = whole_number("stock", &form.stock, words::GOODS_STOCK_INVALID)
        .and_then(|stock| Ok((stock, limit_typed(&form.monthly_limit)?)));
    let (problem, status) = match typed {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok((stock, monthly_limit)) => {
            let request = CreateGoodsRequest {
                sku: form.sku.clone(),
                name: form.name.clone(),
                price: form.price.trim().to_string(),
                stock,
                monthly_limit,
            };
            match concept::create(&state, &person.user, request).await {
                Ok(view) => return Ok(see_other(&format!("/goods/{}?created=1", view.id))),
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = list_page(&state, &person, form, problem).await?;
    render_with(status, &page)
}

pub struct MovementLine {
    pub when: String,
    pub kind: &'static str,
    pub quantity: String,
    pub stock_after: i64,
    pub reason: String,
    pub by: String,
}

/// What the change form holds, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeGoodsForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    monthly_limit: String,
    #[serde(default)]
    on_sale: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RestockForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "console/goods-one.html")]
struct GoodsPage {
    chrome: Option<Chrome>,
    goods: GoodsLine,
    change: ChangeGoodsForm,
    restock: RestockForm,
    movements: Vec<MovementLine>,
    notice: &'static str,
    problem: FieldProblem,
}

async fn goods_page(
    state: &AppState,
    person: &Person,
    id: GoodsId,
    change: Option<ChangeGoodsForm>,
    restock: RestockForm,
    notice: &'static str,
    problem: FieldProblem,
) -> Result<GoodsPage, ConsoleError> {
    let view = concept::goods_one(state, &person.user, id).await?;
    let query = PageQuery {
        limit: Some(MOVEMENT_ROWS_MAX),
        cursor: None,
    };
    // The page of one goods, shown again right after it was changed or restocked: the primary.
    let movements =
        concept::movement_page(state, &person.user, id, query, Freshness::Current).await?;
    let actors: Vec<UserId> = movements
        .items
        .iter()
        .filter_map(|m| m.actor_id.map(UserId))
        .collect();
    let names: HashMap<UserId, String> = with_conn(state, move |conn| {
        let mut names = HashMap::new();
        for id in actors {
            if names.contains_key(&id) {
                continue;
            }
            if let Some(user) = crate::users::store::user_by_id(conn, id)? {
                names.insert(id, user.username);
            }
        }
        Ok(names)
    })
    .await?;
    let calendar = person.community.calendar;
    let change = change.unwrap_or_else(|| ChangeGoodsForm {
        form_token: String::new(),
        name: view.name.clone(),
        price: view.price.clone(),
        monthly_limit: view
            .monthly_limit
            .map(|n| n.to_string())
            .unwrap_or_default(),
        on_sale: if view.status == "active" { "1" } else { "0" }.into(),
    });
    Ok(GoodsPage {
        chrome: Some(Chrome::new(person, "/goods", state.clock.now())),
        goods: goods_line(&view),
        change,
        restock,
        // Newest first: the last change is what an admin checks.
        movements: movements
            .items
            .iter()
            .rev()
            .map(|m| MovementLine {
                when: chrono::DateTime::parse_from_rfc3339(&m.created_at)
                    .map(|t| local_minute(calendar, t.naive_utc()))
                    .unwrap_or_else(|_| m.created_at.clone()),
                kind: words::stock_movement_kind(&m.kind),
                quantity: if m.quantity > 0 {
                    format!("+{}", m.quantity)
                } else {
                    m.quantity.to_string()
                },
                stock_after: m.stock_after,
                reason: m.reason.clone(),
                by: m
                    .actor_id
                    .and_then(|a| names.get(&UserId(a)).cloned())
                    .unwrap_or_default(),
            })
            .collect(),
        notice,
        problem,
    })
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    created: Option<u8>,
    changed: Option<u8>,
    restocked: Option<u8>,
}

pub async fn show_one(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageGoods)?;
    let notice = if query.created.is_some() {
        words::GOODS_CREATED
    } else if query.changed.is_some() {
        words::GOODS_CHANGED
    } else if query.restocked.is_some() {
        words::GOODS_RESTOCKED
    } else {
        ""
    };
    let id = GoodsId(path.into_inner());
    let page = goods_page(
        &state,
        &person,
        id,
        None,
        RestockForm::default(),
        notice,
        FieldProblem::default(),
    )
    .await?;
    render(&page)
}

pub async fn change_goods(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<ChangeGoodsForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageGoods)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = GoodsId(path.into_inner());
    let (problem, status) = match limit_typed(&form.monthly_limit) {
        Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(limit) => {
            let request = UpdateGoodsRequest {
                name: Some(form.name.clone()),
                price: Some(form.price.trim().to_string()),
                status: Some(
                    if form.on_sale == "1" {
                        "active"
                    } else {
                        "inactive"
                    }
                    .into(),
                ),
                monthly_limit: Some(limit),
            };
            match concept::update(&state, &person.user, id, request).await {
                Ok(_) => return Ok(see_other(&format!("/goods/{}?changed=1", id.0))),
                Err(e) => refusal(e)?,
            }
        }
    };
    let page = goods_page(
        &state,
        &person,
        id,
        Some(form),
        RestockForm::default(),
        "",
        problem,
    )
    .await?;
    render_with(status, &page)
}

pub async fn restock_goods(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<RestockForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::ManageGoods)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let id = GoodsId(path.into_inner());
    let (problem, status) =
        match whole_number("quantity", &form.quantity, words::GOODS_QUANTITY_INVALID) {
            Err(problem) => (problem, StatusCode::UNPROCESSABLE_ENTITY),
            Ok(quantity) => {
                let request = RestockRequest {
                    quantity,
                    reason: form.reason.clone(),
                };
                match concept::restock(&state, &person.user, id, request).await {
                    Ok(_) => return Ok(see_other(&format!("/goods/{}?restocked=1", id.0))),
                    Err(e) => refusal(e)?,
                }
            }
        };
    let page = goods_page(&state, &person, id, None, form, "", problem).await?;
    render_with(status, &page)
}
