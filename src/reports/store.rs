//! What the reports read: member postings by journal kind, and the figures of a period summary,
//! every sum exact (`PointsTotal`) however many amounts of whatever stored size.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::{JournalRow, PostingRow};
use crate::db::schema::{accounts, deeds, goods, journal, members, postings, rule_versions, users};
use crate::db::{DbConn, DbUuid};
use crate::kernel::dates::{day_start_utc, month_last_day, period_end_utc};
use crate::kernel::{
    AccountKind, ActiveStatus, CommunityId, JournalKind, LocalCalendar, MemberId, PointsTotal,
};

/// Ids per `IN (…)` query at most (credited deeds, ranked accounts).
const IDS_PER_QUERY: usize = 500;

/// Member postings of journal kinds within [start, end), with their transaction.
pub fn member_movements(
    conn: &mut DbConn,
    community: CommunityId,
    kinds: &[JournalKind],
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
) -> QueryResult<Vec<(PostingRow, JournalRow)>> {
    let mut query = postings::table
        .inner_join(
            journal::table.on(journal::id
                .eq(postings::journal_id)
                .and(journal::community_id.eq(postings::community_id))),
        )
        .inner_join(
            accounts::table.on(accounts::id
                .eq(postings::account_id)
                .and(accounts::community_id.eq(postings::community_id))),
        )
        .filter(journal::community_id.eq(DbUuid::from(community)))
        .filter(journal::kind.eq_any(kinds.to_vec()))
        .filter(accounts::kind.eq(AccountKind::Member))
        .select((PostingRow::as_select(), JournalRow::as_select()))
        .into_boxed();
    if let Some(start) = start {
        query = query.filter(journal::created_at.ge(start));
    }
    if let Some(end) = end {
        query = query.filter(journal::created_at.lt(end));
    }
    query.load(conn)
}

/// Where the coins of a period went, summed over member passbooks, unsigned.
#[derive(Debug, Default)]
pub struct Movements {
    pub issued: PointsTotal,
    pub adjusted_in: PointsTotal,
    pub adjusted_out: PointsTotal,
    pub redeemed: PointsTotal,
    pub voided: PointsTotal,
    pub reversed: PointsTotal,
    pub reversed_deductions: PointsTotal,
    pub deducted: PointsTotal,
    pub expired: PointsTotal,
    /// Given by residents to the community fund, and granted from it to residents.
    pub donated: PointsTotal,
    pub granted: PointsTotal,
}

/// The figures of a period summary.
#[derive(Debug)]
pub struct SummaryFigures {
    pub movements: Movements,
    /// Coins issued per rule category, by category name.
    pub issued_by_category: Vec<(String, PointsTotal)>,
    /// What residents hold at the period's end.
    pub outstanding: PointsTotal,
    /// Price × stock of the goods on sale now.
    pub shop_stock_value: PointsTotal,
}

/// The summary of [start, end) (open-ended where `None`).
pub fn summary(
    conn: &mut DbConn,
    community: CommunityId,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
) -> QueryResult<SummaryFigures> {
    let rows = member_movements(conn, community, JournalKind::ALL, start, end)?;
    let (movements, credited_deeds) = movements(&rows);
    Ok(SummaryFigures {
        movements,
        issued_by_category: issued_by_category(conn, &credited_deeds)?,
        outstanding: outstanding_at(conn, community, end)?,
        shop_stock_value: shop_stock_value(conn, community)?,
    })
}

/// Sums the postings by what they did; also returns each credited deed with its amount.
fn movements(rows: &[(PostingRow, JournalRow)]) -> (Movements, Vec<(DbUuid, i64)>) {
    let mut m = Movements::default();
    let mut credited_deeds = Vec::new();
    for (posting, entry) in rows {
        let a = posting.amount;
        let total = match (entry.kind, a >= 0) {
            (JournalKind::DeedCredit, _) => {
                if let Some(deed) = entry.reference_id {
                    credited_deeds.push((deed, a));
                }
                &mut m.issued
            }
            (JournalKind::OpeningBalance, _) | (JournalKind::Correction, true) => {
                &mut m.adjusted_in
            }
            (JournalKind::Correction, false) => &mut m.adjusted_out,
            // A reserved order's coins leave the passbook when it is placed, and come back like a
            // void when it is cancelled or expires.
            (JournalKind::Redemption | JournalKind::OrderHold, _) => &mut m.redeemed,
            (JournalKind::RedemptionVoid | JournalKind::OrderRelease, _) => &mut m.voided,
            // What a reversal could not take at once, taken later: reversed all the same.
            (JournalKind::DeedReversal, false) | (JournalKind::Clawback, _) => &mut m.reversed,
            (JournalKind::DeedReversal, true) => &mut m.reversed_deductions,
            (JournalKind::DeedDeduction, _) => &mut m.deducted,
            (JournalKind::Expiry, _) => &mut m.expired,
            (JournalKind::FundDonation, _) => &mut m.donated,
            (JournalKind::FundGrant, _) => &mut m.granted,
        };
        total.add_abs(a);
    }
    (m, credited_deeds)
}

/// Coins issued per category of the credited deeds' rule versions, sorted by category.
fn issued_by_category(
    conn: &mut DbConn,
    credited_deeds: &[(DbUuid, i64)],
) -> QueryResult<Vec<(String, PointsTotal)>> {
    let mut by_category: HashMap<String, PointsTotal> = HashMap::new();
    for chunk in credited_deeds.chunks(IDS_PER_QUERY) {
        let ids: Vec<DbUuid> = chunk.iter().map(|(deed, _)| *deed).collect();
        let categories: HashMap<DbUuid, String> = deeds::table
            .inner_join(
                rule_versions::table.on(rule_versions::id
                    .eq(deeds::rule_version_id)
                    .and(rule_versions::community_id.eq(deeds::community_id))),
            )
            .filter(deeds::id.eq_any(&ids))
            .select((deeds::id, rule_versions::category))
            .load::<(DbUuid, String)>(conn)?
            .into_iter()
            .collect();
        for (deed, amount) in chunk {
            if let Some(category) = categories.get(deed) {
                by_category
                    .entry(category.clone())
                    .or_default()
                    .add(*amount);
            }
        }
    }
    let mut sorted: Vec<(String, PointsTotal)> = by_category.into_iter().collect();
    sorted.sort();
    Ok(sorted)
}

/// What residents hold at `end` (now when `None`): each member account's balance then.
fn outstanding_at(
    conn: &mut DbConn,
    community: CommunityId,
    end: Option<NaiveDateTime>,
) -> QueryResult<PointsTotal> {
    let Some(end) = end else {
        let balances: Vec<i64> = accounts::table
            .filter(accounts::community_id.eq(DbUuid::from(community)))
            .filter(accounts::kind.eq(AccountKind::Member))
            .select(accounts::balance)
            .load(conn)?;
        let mut outstanding = PointsTotal::ZERO;
        balances.into_iter().for_each(|b| outstanding.add(b));
        return Ok(outstanding);
    };
    // Each member passbook's balance after its last line before `end`, in one statement: the
    // same index look-up per account as `passbook::position_before`, without a round trip each
    // (a community of 3,000 residents took 3,000 of them).
    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        balance: i64,
    }
    let sql = "SELECT COALESCE((SELECT p.balance_after FROM postings AS p \
               WHERE p.account_id = a.id AND p.posted_at < $1 \
               ORDER BY p.posted_at DESC, p.account_seq DESC LIMIT 1), 0) AS balance \
               FROM accounts AS a WHERE a.community_id = $2 AND a.kind = 'member'";
    let held: Vec<Held> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Timestamp, _>(end)
        .bind::<crate::db::types::PortableUuid, _>(DbUuid::from(community))
        .load(conn)?;
    let mut outstanding = PointsTotal::ZERO;
    held.into_iter().for_each(|h| outstanding.add(h.balance));
    Ok(outstanding)
}

/// Price × stock of the goods on sale now; the largest price times the largest stock is past
/// what an i64 holds.
fn shop_stock_value(conn: &mut DbConn, community: CommunityId) -> QueryResult<PointsTotal> {
    let shelf: Vec<(i64, i64)> = goods::table
        .filter(goods::community_id.eq(DbUuid::from(community)))
        .filter(goods::status.eq(ActiveStatus::Active))
        .select((goods::price, goods::stock))
        .load(conn)?;
    Ok(shelf
        .iter()
        .map(|(price, stock)| PointsTotal::product(*price, *stock))
        .sum())
}

/// One local month of a monthly series.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthFigures {
    /// The month's first local day.
    pub month: NaiveDate,
    /// Coins credited for deeds in the month.
    pub issued: PointsTotal,
    /// Coins spent at the shop in the month, less what voids in the month gave back.
    pub redeemed_net: PointsTotal,
    /// What residents held when the month ended (now, for a month not yet over).
    pub outstanding_end: PointsTotal,
}

/// The `months` local months that end with the month of `through`, oldest first, in a
/// community `offset_minutes` east of UTC. One read of the member postings of those months,
/// summed exactly and bucketed by the community's calendar here (not by either backend's date
/// functions, which differ); what residents held at the first month's start comes from their
/// passbooks, and each month's end adds every member posting of the month to it.
pub fn monthly(
    conn: &mut DbConn,
    community: CommunityId,
    offset_minutes: i32,
    through: NaiveDate,
    months: usize,
) -> QueryResult<Vec<MonthFigures>> {
    let last = first_of_month(through);
    let mut firsts = vec![last];
    while firsts.len() < months.max(1) {
        let Some(earlier) = firsts[0].pred_opt().map(first_of_month) else {
            break;
        };
        if earlier < crate::kernel::dates::DATE_MIN {
            break;
        }
        firsts.insert(0, earlier);
    }
    let start = day_start_utc(firsts[0], offset_minutes);
    let end = period_end_utc(month_last_day(last), offset_minutes);
    let mut query = postings::table
        .inner_join(
            journal::table.on(journal::id
                .eq(postings::journal_id)
                .and(journal::community_id.eq(postings::community_id))),
        )
        .inner_join(
            accounts::table.on(accounts::id
                .eq(postings::account_id)
                .and(accounts::community_id.eq(postings::community_id))),
        )
        .filter(journal::community_id.eq(DbUuid::from(community)))
        .filter(accounts::kind.eq(AccountKind::Member))
        .filter(journal::created_at.ge(start))
        .select((journal::kind, postings::amount, journal::created_at))
        .into_boxed();
    if let Some(end) = end {
        query = query.filter(journal::created_at.lt(end));
    }
    let rows: Vec<(JournalKind, i64, NaiveDateTime)> = query.load(conn)?;
    let calendar = LocalCalendar::new(offset_minutes);
    let mut issued = vec![PointsTotal::ZERO; firsts.len()];
    let mut redeemed = vec![PointsTotal::ZERO; firsts.len()];
    let mut net = vec![PointsTotal::ZERO; firsts.len()];
    for (kind, amount, at) in rows {
        let month = first_of_month(calendar.day_of(at));
        let Ok(i) = firsts.binary_search(&month) else {
            continue;
        };
        net[i].add(amount);
        match kind {
            JournalKind::DeedCredit => issued[i].add(amount),
            // A redemption takes coins off the passbook (negative), a void gives them back.
            JournalKind::Redemption
            | JournalKind::RedemptionVoid
            | JournalKind::OrderHold
            | JournalKind::OrderRelease => redeemed[i] = redeemed[i] - PointsTotal::from(amount),
            _ => {}
        }
    }
    let mut held = outstanding_at(conn, community, Some(start))?;
    Ok(firsts
        .iter()
        .enumerate()
        .map(|(i, month)| {
            held = held + net[i];
            MonthFigures {
                month: *month,
                issued: issued[i],
                redeemed_net: redeemed[i],
                outstanding_end: held,
            }
        })
        .collect())
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    LocalCalendar::first_of_month(day)
}

/// An account's kind, and the name and passbook number of its resident for a member's.
pub type AccountName = (AccountKind, Option<(String, String)>);

/// How the journal's pages name an account: a resident's passbook by name and number, the
/// community's own accounts by what they are for. Only accounts of `community`.
pub fn account_names(
    conn: &mut DbConn,
    community: CommunityId,
    ids: &[DbUuid],
) -> QueryResult<HashMap<DbUuid, AccountName>> {
    let mut names = HashMap::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<(DbUuid, AccountKind, Option<String>, Option<String>)> = accounts::table
            .left_join(
                members::table.on(accounts::member_id
                    .eq(members::id.nullable())
                    .and(members::community_id.eq(accounts::community_id))),
            )
            .filter(accounts::community_id.eq(DbUuid::from(community)))
            .filter(accounts::id.eq_any(chunk))
            .select((
                accounts::id,
                accounts::kind,
                members::name.nullable(),
                members::member_no.nullable(),
            ))
            .load(conn)?;
        for (id, kind, name, no) in rows {
            names.insert(id, (kind, name.zip(no)));
        }
    }
    Ok(names)
}

/// The usernames of users of `community`, by id (who made each journal transaction).
pub fn usernames(
    conn: &mut DbConn,
    community: CommunityId,
    ids: &[DbUuid],
) -> QueryResult<HashMap<DbUuid, String>> {
    let mut names = HashMap::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<(DbUuid, String)> = users::table
            .filter(users::community_id.eq(DbUuid::from(community)))
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::username))
            .load(conn)?;
        names.extend(rows);
    }
    Ok(names)
}

/// One place on the honor roll.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Members who earned the same share a rank; the next rank counts them all (1, 1, 3).
    pub rank: usize,
    pub member_id: MemberId,
    pub member_no: String,
    pub member_name: String,
    pub earned: PointsTotal,
}

/// Members by coins earned in [start, end) — credits, less reversals of credits — best first,
/// ties by passbook number, down to rank `limit` (everyone tied at the cut included).
pub fn honor_roll(
    conn: &mut DbConn,
    community: CommunityId,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
    limit: usize,
) -> QueryResult<Vec<Ranked>> {
    let kinds = [JournalKind::DeedCredit, JournalKind::DeedReversal];
    let rows = member_movements(conn, community, &kinds, start, end)?;
    let earned = earned_by_account(&rows);
    let ids: Vec<DbUuid> = earned.keys().copied().collect();
    let mut names: HashMap<DbUuid, (MemberId, String, String)> = HashMap::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let rows: Vec<(DbUuid, DbUuid, String, String)> = accounts::table
            .inner_join(
                members::table.on(accounts::member_id
                    .eq(members::id.nullable())
                    .and(members::community_id.eq(accounts::community_id))),
            )
            .filter(accounts::id.eq_any(chunk))
            .select((accounts::id, members::id, members::member_no, members::name))
            .load(conn)?;
        for (account, member, no, name) in rows {
            names.insert(account, (member.into(), no, name));
        }
    }
    let mut ranked: Vec<Ranked> = earned
        .into_iter()
        .filter_map(|(account, earned)| {
            let (member_id, member_no, member_name) = names.remove(&account)?;
            Some(Ranked {
                rank: 0,
                member_id,
                member_no,
                member_name,
                earned,
            })
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.earned
            .cmp(&a.earned)
            .then_with(|| a.member_no.cmp(&b.member_no))
    });
    Ok(rank_down_to(ranked, limit))
}

/// What each member account earned: credits count, and so do reversals that take a credit back
/// (negative); reversing a deduction gives coins back but is not "earned". Only positive sums.
fn earned_by_account(rows: &[(PostingRow, JournalRow)]) -> HashMap<DbUuid, PointsTotal> {
    let mut earned: HashMap<DbUuid, PointsTotal> = HashMap::new();
    for (posting, entry) in rows {
        if entry.kind == JournalKind::DeedCredit || posting.amount < 0 {
            earned
                .entry(posting.account_id)
                .or_default()
                .add(posting.amount);
        }
    }
    earned.retain(|_, e| *e > PointsTotal::ZERO);
    earned
}

/// Numbers sorted places with shared ranks for equal sums and stops after rank `limit`.
fn rank_down_to(sorted: Vec<Ranked>, limit: usize) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = Vec::new();
    for (index, mut place) in sorted.into_iter().enumerate() {
        place.rank = match out.last() {
            Some(previous) if previous.earned == place.earned => previous.rank,
            _ => index + 1,
        };
        if place.rank > limit {
            break;
        }
        out.push(place);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(no: &str, earned: i64) -> Ranked {
        Ranked {
            rank: 0,
            member_id: MemberId(uuid::Uuid::nil()),
            member_no: no.into(),
            member_name: String::new(),
            earned: PointsTotal::from(earned),
        }
    }

    #[test]
    fn ties_share_a_rank_and_the_cut_keeps_everyone_tied_at_it() {
        let sorted = vec![
            place("A1", 500),
            place("A2", 300),
            place("A3", 300),
            place("A4", 100),
        ];
        let ranks: Vec<(String, usize)> = rank_down_to(sorted.clone(), 2)
            .into_iter()
            .map(|p| (p.member_no, p.rank))
            .collect();
        assert_eq!(
            ranks,
            [("A1".into(), 1), ("A2".into(), 2), ("A3".into(), 2)]
        );
        let all: Vec<usize> = rank_down_to(sorted, 10).iter().map(|p| p.rank).collect();
        assert_eq!(all, [1, 2, 2, 4]);
    }
}
