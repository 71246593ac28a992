//! The notice board (公示栏) as pages: for a signed-in person (names masked as the JSON board
//! masks them for their roles), for anyone at `/public/{community code}/board` without a login
//! (names always masked), and an A4 print of either for the notice wall (names always masked:
//! paper on a wall is public).

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::console::page::{local_minute, render, Chrome, ConsoleError};
use crate::console::session::Person;
use crate::deeds::http::board::{notice_board, notices_of, Notice};
use crate::deeds::model::Direction;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::http::{with_conn, with_replica};
use crate::kernel::{CommunityId, LocalCalendar, Permission};

/// Longest community code looked up from a public path; longer ones name no community.
const COMMUNITY_CODE_CHARS_MAX: usize = 64;

/// One deed on the board, as the page writes it.
pub struct BoardRow {
    pub deed_id: String,
    pub member_name: String,
    pub rule_name: String,
    pub description: String,
    pub occurred_on: String,
    /// With its sign: `+10.00`, or `-5.00` for a deduction (扣分).
    pub points: String,
    pub deduction: bool,
    /// When the notice ends, community-local, to the minute.
    pub ends: String,
}

/// The board of one community at one moment.
pub struct Board {
    pub community: String,
    /// Where anyone reads the board without a login.
    pub public_path: String,
    /// The community fund's public statement (爱心基金公示).
    pub fund_path: String,
    pub rows: Vec<BoardRow>,
    /// How many days a deed stays on notice after it is approved.
    pub notice_days: i32,
    /// The community-local date and time the board was drawn (and printed).
    pub printed: String,
}

pub fn rows_of(notices: &[Notice], calendar: LocalCalendar) -> Vec<BoardRow> {
    notices
        .iter()
        .map(|n| {
            let deduction = n.direction == Direction::Deduct;
            BoardRow {
                deed_id: n.deed_id.0.to_string(),
                member_name: n.member_name.clone(),
                rule_name: n.rule_name.clone(),
                description: n.description.clone(),
                occurred_on: n.occurred_on.clone(),
                points: format!("{}{}", if deduction { "-" } else { "+" }, n.points),
                deduction,
                ends: n
                    .notice_ends_at
                    .map(|t| local_minute(calendar, t))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

async fn notice_days_of(state: &AppState, community: CommunityId) -> Result<i32, ApiError> {
    with_replica(state, move |conn| {
        Ok(crate::deeds::store::settings(conn, community)?.notice_days)
    })
    .await
}

struct Place {
    id: CommunityId,
    code: String,
    name: String,
    calendar: LocalCalendar,
}

async fn board_of(
    state: &AppState,
    place: &Place,
    notices: Vec<Notice>,
) -> Result<Board, ConsoleError> {
    Ok(Board {
        community: place.name.clone(),
        public_path: format!("/public/{}/board", place.code),
        fund_path: format!("/public/{}/fund", place.code),
        rows: rows_of(&notices, place.calendar),
        notice_days: notice_days_of(state, place.id).await?,
        printed: local_minute(place.calendar, state.clock.now()),
    })
}

fn place_of(person: &Person) -> Place {
    Place {
        id: person.user.community_id,
        code: person.community.code.clone(),
        name: person.community.name.clone(),
        calendar: person.community.calendar,
    }
}

/// The community a public path names; an unknown code is the console's 404 page.
async fn public_place(state: &AppState, code: String) -> Result<Place, ConsoleError> {
    if code.is_empty() || code.chars().count() > COMMUNITY_CODE_CHARS_MAX {
        return Err(ConsoleError::NotFound);
    }
    let row = with_replica(state, move |conn| {
        Ok(crate::communities::store::community_by_code(conn, &code)?)
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    Ok(Place {
        id: row.id.into(),
        code: row.code,
        name: row.name,
        calendar: LocalCalendar::new(row.utc_offset_minutes),
    })
}

#[derive(Template)]
#[template(path = "console/board.html")]
struct BoardPage {
    chrome: Option<Chrome>,
    board: Board,
    /// Read without a login.
    public: bool,
    /// The reader's roles see full names on screen (never on the print).
    full_names: bool,
    print_path: String,
    /// Back from 提出异议: the objection is recorded.
    objected: bool,
}

#[derive(Debug, serde::Deserialize)]
pub struct BoardQuery {
    objected: Option<String>,
}

#[derive(Template)]
#[template(path = "console/board-print.html")]
struct BoardPrint {
    board: Board,
    back_path: String,
    /// The signed head the print rests on; none on a public print before any head is signed.
    board_head: Option<crate::trust::view::BoardHead>,
}

/// The head for a board print: staff's print signs one if the community has none yet.
async fn board_head_of(
    state: &AppState,
    req: &actix_web::HttpRequest,
    place: &Place,
    may_sign: bool,
) -> Result<Option<crate::trust::view::BoardHead>, ConsoleError> {
    let base = crate::trust::view::base_url(&req.connection_info());
    let (id, code, now) = (place.id, place.code.clone(), state.clock.now());
    let read = move |conn: &mut crate::db::DbConn| {
        Ok(crate::trust::view::board_head(
            conn, id, &code, now, may_sign,
        )?)
    };
    // Staff's print may sign a head, a write: the primary. The public print only reads one.
    let head = if may_sign {
        with_conn(state, read).await?
    } else {
        with_replica(state, read).await?
    };
    let calendar = place.calendar;
    Ok(head.map(|h| crate::trust::view::BoardHead::of(&h, &base, |t| local_minute(calendar, t))))
}

/// 公示栏 for a signed-in person.
pub async fn show_board(
    state: web::Data<AppState>,
    person: Person,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let notices = notice_board(&state, &person.user).await?;
    let board = board_of(&state, &place_of(&person), notices).await?;
    render(&BoardPage {
        chrome: Some(Chrome::new(&person, "/board", state.clock.now())),
        board,
        public: false,
        full_names: person.may(Permission::ReadBoardNames),
        print_path: "/board/print".into(),
        objected: query.objected.is_some(),
    })
}

/// The A4 print for the notice wall, names masked whoever prints it.
pub async fn print_board(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    person: Person,
) -> Result<HttpResponse, ConsoleError> {
    let place = place_of(&person);
    let notices = notices_of(&state, place.id, true).await?;
    render(&BoardPrint {
        board: board_of(&state, &place, notices).await?,
        back_path: "/board".into(),
        board_head: board_head_of(&state, &req, &place, true).await?,
    })
}

/// 公示栏 for anyone, without a login: names always masked.
pub async fn show_public_board(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let place = public_place(&state, path.into_inner()).await?;
    let notices = notices_of(&state, place.id, true).await?;
    let board = board_of(&state, &place, notices).await?;
    render(&BoardPage {
        chrome: None,
        print_path: format!("{}/print", board.public_path),
        board,
        public: true,
        full_names: false,
        objected: false,
    })
}

pub async fn print_public_board(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let place = public_place(&state, path.into_inner()).await?;
    let notices = notices_of(&state, place.id, true).await?;
    let board = board_of(&state, &place, notices).await?;
    render(&BoardPrint {
        back_path: board.public_path.clone(),
        board,
        board_head: board_head_of(&state, &req, &place, false).await?,
    })
}
