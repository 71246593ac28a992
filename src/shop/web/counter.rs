//! Finding the resident, their card with the goods on sale, and the basket they confirm.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::console::page::{points, render, render_with, Chrome, ConsoleError, FieldProblem};
use crate::console::session::{see_other, Person};
use crate::console::words;
use crate::db::models::AccountRow;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::with_conn;
use crate::kernel::{ActiveStatus, CommunityId, GoodsId, MemberId, Permission};
use crate::members::store::{MemberFilter, MemberRow};
use crate::shop::http::redemptions::{
    redeem, BasketLineRequest, RedeemRequest, BASKET_LINES_MAX, LINE_QUANTITY_MAX,
};
use crate::shop::plan::preview::{preview, Preview, Redeemer};
use crate::shop::store::{GoodsFilter, GoodsRow, RedemptionRow};

/// Residents listed for one search at most.
const MATCHES_MAX: i64 = 20;
/// Goods the counter shows at most.
const GOODS_MAX: i64 = 200;
/// Passbook lines and receipts on the card.
const CARD_LINES: i64 = 5;
const CARD_RECEIPTS: i64 = 5;

/// A resident as a search lists them: enough to tell namesakes apart.
pub struct Match {
    pub id: String,
    pub member_no: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub group: String,
    pub active: bool,
    pub balance: String,
}

fn masked_phone(phone: &Option<String>) -> String {
    match phone {
        Some(p) if p.chars().count() > 4 => {
            let tail: String = p.chars().skip(p.chars().count() - 4).collect();
            format!("尾号 {tail}")
        }
        Some(p) => p.clone(),
        None => String::new(),
    }
}

fn as_match(member: &MemberRow, account: &AccountRow) -> Match {
    Match {
        id: member.id.0.to_string(),
        member_no: member.member_no.clone(),
        name: member.name.clone(),
        phone: masked_phone(&member.phone),
        address: member.address_line.clone(),
        group: member.member_group.clone().unwrap_or_default(),
        active: member.status == ActiveStatus::Active,
        balance: points(account.balance),
    }
}

#[derive(Template)]
#[template(path = "console/counter.html")]
struct FindPage {
    chrome: Option<Chrome>,
    query: String,
    searched: bool,
    matches: Vec<Match>,
    problem: FieldProblem,
}

#[derive(Debug, Deserialize)]
pub struct FindQuery {
    #[serde(default)]
    q: String,
}

/// The counter's first page: a search box a scanner can type into. A passbook number that
/// names one resident goes straight to their card; otherwise the matches are listed.
pub async fn find(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<FindQuery>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::Redeem)?;
    let text = query.q.trim().to_string();
    let mut page = FindPage {
        chrome: Some(Chrome::new(&person, "/counter", state.clock.now())),
        query: text.clone(),
        searched: !query.q.is_empty(),
        matches: Vec::new(),
        problem: FieldProblem::default(),
    };
    if text.is_empty() {
        if page.searched {
            page.problem = FieldProblem::on("q", words::SEARCH_EMPTY);
        }
        return render(&page);
    }
    if text.chars().count() > crate::http::SEARCH_CHARS_MAX {
        page.problem = FieldProblem::on("q", words::SEARCH_NONE);
        return render_with(StatusCode::OK, &page);
    }
    let community = person.user.community_id;
    let found = with_conn(&state, move |conn| {
        let exact = crate::members::store::list_members(
            conn,
            community,
            &MemberFilter {
                member_no: Some(&text),
                query: None,
                only: None,
                after: None,
                limit: 2,
            },
        )?;
        if exact.len() == 1 {
            return Ok(exact);
        }
        Ok(crate::members::store::list_members(
            conn,
            community,
            &MemberFilter {
                member_no: None,
                query: Some(&text),
                only: None,
                after: None,
                limit: MATCHES_MAX,
            },
        )?)
    })
    .await?;
    if let [(member, _)] = found.as_slice() {
        return Ok(see_other(&format!("/counter/members/{}", member.id.0)));
    }
    if found.is_empty() {
        page.problem = FieldProblem::on("q", words::SEARCH_NONE);
    }
    page.matches = found.iter().map(|(m, a)| as_match(m, a)).collect();
    render(&page)
}

/// A goods tile on the card.
pub struct GoodsTile {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub price: String,
    pub price_hundredths: i64,
    pub stock: i64,
    /// Why it cannot be chosen (off sale, sold out), or empty.
    pub unavailable: &'static str,
    pub limit: String,
    pub quantity: i64,
}

/// This month's redemptions of one limited goods against its limit.
pub struct LimitUse {
    pub name: String,
    pub taken: i64,
    pub limit: i64,
}

pub struct CardLine {
    pub when: String,
    pub kind: &'static str,
    pub amount: String,
    pub balance: String,
}

pub struct CardReceipt {
    pub id: String,
    pub number: String,
    pub when: String,
    pub total: String,
    pub voided: bool,
}

/// The resident as the card shows them.
pub struct Card {
    pub id: String,
    /// The passbook's account: for the printed passbook and the statement downloads.
    pub account_id: String,
    pub member_no: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub active: bool,
    pub balance: String,
    pub balance_hundredths: i64,
    /// Still owed after a reversal (repaid from the next credits); empty when nothing.
    pub owed: String,
    /// Open reserved orders, as one line each: what, coins held, until when.
    pub orders: Vec<String>,
    /// The household the resident belongs to and its passbook's balance, as one line.
    pub household: String,
    /// Coins announced to expire, in words; empty when none expire soon.
    pub expiring: String,
    pub limits: Vec<LimitUse>,
    pub lines: Vec<CardLine>,
    pub receipts: Vec<CardReceipt>,
    /// Whether the person may download the passbook (those who may read statements).
    pub statement_downloads: bool,
}

/// The short receipt number printed on slips and said aloud: the last ten hex digits of the
/// redemption's id, in capitals. They are random in a v7 id (its first digits are the time, the
/// same for receipts a minute apart), so two receipts of a community share one about once in a
/// million pairs; the ledger line printed beside it is unique.
pub fn receipt_number(id: uuid::Uuid) -> String {
    id.simple().to_string()[22..].to_ascii_uppercase()
}

struct CardData {
    member: MemberRow,
    account: AccountRow,
    goods: Vec<GoodsRow>,
    taken: HashMap<GoodsId, i64>,
    lines: Vec<crate::passbook::store::StatementRow>,
    receipts: Vec<RedemptionRow>,
    owed: i64,
    orders: Vec<crate::orders::store::OrderWithLines>,
    household: Option<(String, i64)>,
    expiring: Option<crate::expiry::store::Expiring>,
}

async fn card_data(
    state: &AppState,
    person: &Person,
    member_id: MemberId,
) -> Result<CardData, ConsoleError> {
    let community: CommunityId = person.user.community_id;
    let now = state.clock.now();
    let month = person.community.calendar.month_key(now);
    with_conn(state, move |conn| {
        let (member, account) =
            crate::members::store::member_with_account(conn, community, member_id)?
                .ok_or_else(|| ApiError::not_found("member"))?;
        let mut goods = crate::shop::store::list_goods(
            conn,
            community,
            &GoodsFilter {
                status: None,
                after: None,
                limit: GOODS_MAX,
            },
        )?;
        // On sale first, then by code, as the shelf is laid out.
        goods.sort_by(|a, b| {
            (a.status != ActiveStatus::Active, &a.sku)
                .cmp(&(b.status != ActiveStatus::Active, &b.sku))
        });
        let taken = crate::shop::store::monthly_quantities(conn, community, member_id, &month)?;
        let account_id = account.id.into();
        let lines = crate::passbook::store::lines(
            conn,
            account_id,
            (account.last_seq - CARD_LINES).max(0),
            account.last_seq,
            CARD_LINES,
        )?;
        let receipts =
            crate::shop::store::latest_redemptions(conn, community, member_id, CARD_RECEIPTS)?;
        let owed = crate::deeds::store::receivables::owed_by_member(conn, community, member_id)?;
        let orders = crate::orders::store::list(
            conn,
            community,
            Some(member_id),
            Some(crate::orders::model::OrderStatus::Held),
            CARD_RECEIPTS,
        )?;
        let household = crate::households::store::current_household(conn, community, member_id)?
            .map(|(h, a)| (h.name, a.balance));
        let expiring = crate::expiry::store::expiring(conn, community, &account, now)?;
        Ok(CardData {
            household,
            orders,
            owed,
            expiring,
            member,
            account,
            goods,
            taken,
            lines,
            receipts,
        })
    })
    .await
    .map_err(ConsoleError::from)
}

fn card(person: &Person, data: &CardData) -> Card {
    let calendar = person.community.calendar;
    let limits = data
        .goods
        .iter()
        .filter_map(|g| {
            g.monthly_limit.map(|limit| LimitUse {
                name: g.name.clone(),
                taken: data.taken.get(&GoodsId::from(g.id)).copied().unwrap_or(0),
                limit,
            })
        })
        .collect();
    let mut lines: Vec<CardLine> = data
        .lines
        .iter()
        .map(|(posting, journal, _)| CardLine {
            when: crate::console::page::local_minute(calendar, posting.posted_at),
            kind: journal.kind.label(),
            amount: points(posting.amount),
            balance: points(posting.balance_after),
        })
        .collect();
    lines.reverse();
    Card {
        id: data.member.id.0.to_string(),
        account_id: data.account.id.0.to_string(),
        member_no: data.member.member_no.clone(),
        name: data.member.name.clone(),
        phone: masked_phone(&data.member.phone),
        address: data.member.address_line.clone(),
        active: data.member.status == ActiveStatus::Active,
        balance: points(data.account.balance),
        balance_hundredths: data.account.balance,
        household: data
            .household
            .as_ref()
            .map(|(name, balance)| format!("{name} · 家庭存折 {} 分", points(*balance)))
            .unwrap_or_default(),
        orders: data
            .orders
            .iter()
            .map(|(o, lines)| {
                let what: Vec<String> = lines
                    .iter()
                    .map(|l| format!("{}×{}", l.name, l.quantity))
                    .collect();
                format!(
                    "{}：{} 分，留到 {}",
                    what.join("，"),
                    points(o.total),
                    crate::console::page::local_minute(calendar, o.expires_at)
                )
            })
            .collect(),
        owed: if data.owed > 0 {
            points(data.owed)
        } else {
            String::new()
        },
        expiring: words::expiring_words(data.expiring),
        statement_downloads: person.may(Permission::ReadStatements),
        limits,
        lines,
        receipts: data
            .receipts
            .iter()
            .map(|r| CardReceipt {
                id: r.id.0.to_string(),
                number: receipt_number(r.id.0),
                when: crate::console::page::local_minute(calendar, r.created_at),
                total: points(r.total),
                voided: r.status != crate::shop::model::RedemptionStatus::Completed,
            })
            .collect(),
    }
}

fn tiles(goods: &[GoodsRow], chosen: &HashMap<GoodsId, i64>) -> Vec<GoodsTile> {
    goods
        .iter()
        .map(|g| GoodsTile {
            id: g.id.0.to_string(),
            sku: g.sku.clone(),
            name: g.name.clone(),
            price: points(g.price),
            price_hundredths: g.price,
            stock: g.stock,
            unavailable: if g.status != ActiveStatus::Active {
                words::GOODS_OFF_SALE
            } else if g.stock <= 0 {
                words::GOODS_SOLD_OUT
            } else {
                ""
            },
            limit: g.monthly_limit.map(|l| l.to_string()).unwrap_or_default(),
            quantity: chosen.get(&GoodsId::from(g.id)).copied().unwrap_or(0),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/card.html")]
struct CardPage {
    chrome: Option<Chrome>,
    card: Card,
    goods: Vec<GoodsTile>,
    problem: FieldProblem,
}

/// The resident's card and the goods on sale, with a quantity for each.
pub async fn show_card(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::Redeem)?;
    let data = card_data(&state, &person, MemberId(path.into_inner())).await?;
    render(&CardPage {
        chrome: Some(Chrome::new(&person, "/counter", state.clock.now())),
        card: card(&person, &data),
        goods: tiles(&data.goods, &HashMap::new()),
        problem: FieldProblem::default(),
    })
}

/// The quantities a card's form sent: `q.<goods id>` = quantity; zero lines are left out.
fn chosen_quantities(
    form: &HashMap<String, String>,
) -> Result<HashMap<GoodsId, i64>, FieldProblem> {
    let mut chosen = HashMap::new();
    for (key, value) in form {
        let Some(id) = key.strip_prefix("q.") else {
            continue;
        };
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| FieldProblem::on("basket", words::QUANTITY_INVALID))?;
        let value = value.trim();
        let quantity: i64 = if value.is_empty() {
            0
        } else {
            value
                .parse()
                .map_err(|_| FieldProblem::on(key, words::QUANTITY_INVALID))?
        };
        if !(0..=LINE_QUANTITY_MAX).contains(&quantity) {
            return Err(FieldProblem::on(key, words::QUANTITY_INVALID));
        }
        if quantity > 0 {
            chosen.insert(GoodsId(id), quantity);
        }
    }
    if chosen.is_empty() {
        return Err(FieldProblem::on("basket", words::BASKET_EMPTY));
    }
    if chosen.len() > BASKET_LINES_MAX {
        return Err(FieldProblem::on("basket", words::QUANTITY_INVALID));
    }
    Ok(chosen)
}

pub struct BasketLineView {
    pub name: String,
    pub sku: String,
    pub quantity: i64,
    pub price: String,
    pub line_total: String,
}

#[derive(Template)]
#[template(path = "console/basket.html")]
struct BasketPage {
    chrome: Option<Chrome>,
    card: Card,
    lines: Vec<BasketLineView>,
    total: String,
    balance_after: String,
    /// What would refuse the basket, in Chinese with the figures; empty when it may go.
    refusals: Vec<String>,
    /// Created when this page is drawn: the one redemption this basket may make.
    key: String,
    /// `goods:quantity,…`, as the confirm form sends it.
    basket: String,
    expected_total: String,
    problem: FieldProblem,
}

fn basket_page(
    state: &AppState,
    person: &Person,
    data: &CardData,
    chosen: &HashMap<GoodsId, i64>,
    problem: FieldProblem,
) -> BasketPage {
    let basket: Vec<(GoodsRow, i64)> = data
        .goods
        .iter()
        .filter_map(|g| chosen.get(&GoodsId::from(g.id)).map(|q| (g.clone(), *q)))
        .collect();
    let Preview {
        lines,
        total,
        balance_after,
        refusals,
    } = preview(
        Redeemer {
            member_id: data.member.id.into(),
            active: data.member.status == ActiveStatus::Active,
            balance: data.account.balance,
        },
        basket,
        &data.taken,
    );
    let mut refusals: Vec<String> = refusals
        .into_iter()
        .map(|e| words::problem(&ApiError::from(e)).message)
        .collect();
    if lines.len() != chosen.len() {
        refusals.push(
            words::problem(&ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "goods_not_found",
                "",
            ))
            .message,
        );
    }
    let encoded: Vec<String> = lines
        .iter()
        .map(|l| format!("{}:{}", l.goods.id.0, l.quantity))
        .collect();
    BasketPage {
        chrome: Some(Chrome::new(person, "/counter", state.clock.now())),
        card: card(person, data),
        lines: lines
            .iter()
            .map(|l| BasketLineView {
                name: l.goods.name.clone(),
                sku: l.goods.sku.clone(),
                quantity: l.quantity,
                price: points(l.goods.price),
                line_total: points(l.line_total),
            })
            .collect(),
        total: points(total),
        balance_after: points(balance_after),
        refusals,
        key: uuid::Uuid::now_v7().to_string(),
        basket: encoded.join(","),
        expected_total: points(total),
        problem,
    }
}

/// The basket to confirm: lines, total, the balance after, and whatever would refuse it. The
/// idempotency key of its confirm button is made here, once per drawing of the page.
pub async fn show_basket(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::Redeem)?;
    let member_id = MemberId(path.into_inner());
    let data = card_data(&state, &person, member_id).await?;
    let chosen = match chosen_quantities(&form) {
        Ok(chosen) => chosen,
        Err(problem) => {
            let chosen: HashMap<GoodsId, i64> = HashMap::new();
            return render_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                &CardPage {
                    chrome: Some(Chrome::new(&person, "/counter", state.clock.now())),
                    card: card(&person, &data),
                    goods: tiles(&data.goods, &chosen),
                    problem,
                },
            );
        }
    };
    render(&basket_page(
        &state,
        &person,
        &data,
        &chosen,
        FieldProblem::default(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    form_token: String,
    key: String,
    basket: String,
    expected_total: String,
}

fn parse_basket(text: &str) -> Option<HashMap<GoodsId, i64>> {
    let mut chosen = HashMap::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (id, quantity) = part.split_once(':')?;
        chosen.insert(
            GoodsId(uuid::Uuid::parse_str(id).ok()?),
            quantity.parse().ok()?,
        );
    }
    Some(chosen)
}

/// Confirms the basket: one redemption through the ledger under the page's key, then the
/// receipt. The same key again (a double click, a retried POST) shows the same receipt.
pub async fn confirm(
    state: web::Data<AppState>,
    person: Person,
    path: web::Path<uuid::Uuid>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ConsoleError> {
    person.require(Permission::Redeem)?;
    let form = form.into_inner();
    person.check_form_token(&form.form_token)?;
    let member_id = MemberId(path.into_inner());
    let chosen = parse_basket(&form.basket).ok_or(ConsoleError::BadForm)?;
    // The lines in the order the page showed them, so a retry fingerprints the same.
    let mut lines: Vec<BasketLineRequest> = form
        .basket
        .split(',')
        .filter_map(|p| p.split_once(':'))
        .filter_map(|(id, _)| uuid::Uuid::parse_str(id).ok())
        .map(|id| BasketLineRequest {
            goods_id: id,
            quantity: chosen.get(&GoodsId(id)).copied().unwrap_or(0),
        })
        .collect();
    lines.dedup_by_key(|l| l.goods_id);
    let request = RedeemRequest {
        member_id: member_id.0,
        lines,
        expected_total: Some(form.expected_total.clone()),
        pay_from: None,
    };
    let key = crate::http::idempotency::checked_key(&form.key).map_err(ConsoleError::Problem)?;
    match redeem(&state, &person.user, key, request).await {
        Ok(receipt) => Ok(see_other(&format!("/counter/receipts/{}", receipt.id))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            // Drawn again with the refusal and the figures of now, under a new key.
            let data = card_data(&state, &person, member_id).await?;
            let problem = FieldProblem::on("", words::problem(&e).message);
            render_with(
                e.status,
                &basket_page(&state, &person, &data, &chosen, problem),
            )
        }
        Err(e) => Err(e.into()),
    }
}
