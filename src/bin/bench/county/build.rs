//! Building the county: communities made as the service makes them (founded with an admin, a
//! rule, members in bulk rows identical to those `create_member` writes, submitted deeds), then
//! every coin moved through the ledger engine: an opening balance per member, deeds approved
//! (most credited at once, some put on public notice) and, in the measured community, one
//! passbook with many lines. Resumable: what is missing is worked out from the database.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use diesel::prelude::*;
use moralbank::adjustments::plan::AdjustmentKind;
use moralbank::app::config::Config;
use moralbank::commands::{Command, Engine};
use moralbank::communities::http::found_community;
use moralbank::communities::store::{community_by_code, NewCommunity};
use moralbank::db::schema::{accounts, deeds, members};
use moralbank::db::{self, DbConn, DbUuid};
use moralbank::deeds::model::{DeedAction, DeedStatus, Direction, ReviewStages, Unit};
use moralbank::deeds::plan::{DeedCommand, Step};
use moralbank::deeds::store::{self as deed_store, DeedEventRow, DeedRow, RuleTerms};
use moralbank::kernel::{AccountId, Actor, CommunityId, DeedId, Role, RoleSet, UserId};
use moralbank::members::model::MemberName;

use super::{Shape, ADMIN_USERNAME, LONG_MEMBER_NAME};
use crate::shared::Admin;

/// The user who records every community's deeds.
const RECORDER_USERNAME: &str = "county-recorder";
/// Commands per `execute_many` call: one writer batch each.
const CHUNK: usize = 256;
/// Opening balance of every member, in hundredths.
const OPENING: i64 = 100 * 100;
/// Points of the county rule per event and of every deed, in hundredths.
const DEED_POINTS: i64 = 100;
/// Days on public notice of the deeds that go on the board.
const NOTICE_DAYS: i32 = 7;
/// The description of deeds that go on notice rather than crediting at once.
const ON_NOTICE: &str = "公示中的好事";
const CREDITED: &str = "直接入账的好事";
/// China: the communities' offset from UTC.
const UTC_OFFSET_MINUTES: i32 = 8 * 60;

/// How far the build got, for the progress bar and the closing line.
#[derive(Default)]
pub struct Tally {
    pub communities_done: AtomicUsize,
    pub commands: AtomicU64,
}

/// Builds what is missing of `shape` on `config`'s database with `workers` threads, each
/// founding a community and sending its commands to the one shared engine.
pub fn build(
    config: &Config,
    shape: &Shape,
    workers: usize,
    admin_hash: &str,
    progress: &(dyn Fn(&Tally) + Sync),
) -> Result<Tally, String> {
    let tally = Tally::default();
    let next = AtomicUsize::new(0);
    let (engine, _writer) = Engine::start(
        config.database_url.clone(),
        Default::default(),
        Default::default(),
    )
    .map_err(|e| e.to_string())?;
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                let engine = engine.clone();
                let (tally, next) = (&tally, &next);
                scope.spawn(move || -> Result<(), String> {
                    let mut conn = config.database_url.connect().map_err(|e| e.0)?;
                    let system = actix_web::rt::System::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= shape.communities {
                            return Ok(());
                        }
                        let (admin, commands) =
                            community_work(&mut conn, shape, index, admin_hash)?;
                        let sent = commands.len() as u64;
                        system.block_on(send(&engine, admin, commands))?;
                        tally.commands.fetch_add(sent, Ordering::Relaxed);
                        tally.communities_done.fetch_add(1, Ordering::Relaxed);
                        progress(tally);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a build thread panicked".into()))
            })
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(tally)
}

/// The code of community `index`: `c0000`, `c0001`, … (community 0 is the measured one).
pub fn code(index: usize) -> String {
    format!("c{index:04}")
}

/// Sends `commands` in chunks; the first refusal is the error.
async fn send(engine: &Engine, admin: Admin, commands: Vec<Command>) -> Result<(), String> {
    let mut commands = commands.into_iter().peekable();
    while commands.peek().is_some() {
        let chunk: Vec<Command> = commands.by_ref().take(CHUNK).collect();
        for answer in engine
            .execute_many(chunk)
            .await
            .map_err(|e| format!("{}: {e}", admin.community.0))?
        {
            answer.map_err(|e| format!("{}: {e}", admin.community.0))?;
        }
    }
    Ok(())
}

/// Founds community `index` unless it exists, then lists the commands it still lacks.
fn community_work(
    conn: &mut DbConn,
    shape: &Shape,
    index: usize,
    admin_hash: &str,
) -> Result<(Admin, Vec<Command>), String> {
    let code = code(index);
    let admin = match community_by_code(conn, &code).map_err(|e| e.to_string())? {
        Some(row) => {
            let community: CommunityId = row.id.into();
            let user = moralbank::users::store::user_by_username(conn, community, ADMIN_USERNAME)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{code} has no {ADMIN_USERNAME}"))?;
            Admin {
                community,
                user: user.id.into(),
            }
        }
        None => found(conn, shape, index, &code, admin_hash)?,
    };
    let mut commands = Vec::new();
    let long_account = long_account(conn, admin.community)?;
    // Openings for the members whose passbook is still empty (not the long one).
    let unopened: Vec<DbUuid> = accounts::table
        .inner_join(members::table.on(members::id.nullable().eq(accounts::member_id)))
        .filter(accounts::community_id.eq(DbUuid::from(admin.community)))
        .filter(members::community_id.eq(DbUuid::from(admin.community)))
        .filter(accounts::last_seq.eq(0_i64))
        .filter(members::name.ne(LONG_MEMBER_NAME))
        .select(accounts::id)
        .order(accounts::id)
        .load(conn)
        .map_err(|e| e.to_string())?;
    commands.extend(unopened.into_iter().map(|account| {
        let account = AccountId::from(account);
        admin.adjustment(
            account,
            AdjustmentKind::OpeningBalance,
            OPENING,
            format!("open-{}", account.0),
        )
    }));
    // Deeds still waiting: approved at once or put on notice.
    let waiting: Vec<(DbUuid, String)> = deeds::table
        .filter(deeds::community_id.eq(DbUuid::from(admin.community)))
        .filter(deeds::status.eq(DeedStatus::Submitted))
        .select((deeds::id, deeds::description))
        .order(deeds::id)
        .load(conn)
        .map_err(|e| e.to_string())?;
    let now = db::now_utc();
    commands.extend(waiting.into_iter().map(|(deed, description)| {
        Command::Deed(DeedCommand {
            community_id: admin.community,
            deed_id: deed.into(),
            step: Step::Approve {
                actor: actor(admin.user),
                stages: ReviewStages::One,
                notice_days: if description == ON_NOTICE {
                    NOTICE_DAYS
                } else {
                    0
                },
            },
            clock_now: now,
        })
    }));
    // The long passbook of the measured community: the lines it still lacks.
    if let Some((account, written)) = long_account {
        commands.extend((written as usize..shape.long_lines).map(|n| {
            admin.adjustment(
                account,
                AdjustmentKind::Correction,
                100 + (n % 7) as i64,
                format!("long-{n}"),
            )
        }));
    }
    Ok((admin, commands))
}

/// The measured community's long passbook and the lines it has; none elsewhere.
fn long_account(
    conn: &mut DbConn,
    community: CommunityId,
) -> Result<Option<(AccountId, i64)>, String> {
    accounts::table
        .inner_join(members::table.on(members::id.nullable().eq(accounts::member_id)))
        .filter(accounts::community_id.eq(DbUuid::from(community)))
        .filter(members::community_id.eq(DbUuid::from(community)))
        .filter(members::name.eq(LONG_MEMBER_NAME))
        .select((accounts::id, accounts::last_seq))
        .first::<(DbUuid, i64)>(conn)
        .optional()
        .map(|found| found.map(|(id, seq)| (id.into(), seq)))
        .map_err(|e| e.to_string())
}

fn actor(user: UserId) -> Actor {
    Actor {
        user_id: user,
        member_id: None,
    }
}

/// Founds community `index` in one transaction: the community with its admin, the rule, its
/// members in bulk and its submitted deeds (so a crash leaves all of it or none).
fn found(
    conn: &mut DbConn,
    shape: &Shape,
    index: usize,
    code: &str,
    admin_hash: &str,
) -> Result<Admin, String> {
    let name = format!("压测社区{index:04}");
    db::write_transaction(conn, |conn| {
        let founded = found_community(
            conn,
            &NewCommunity {
                code,
                name: &name,
                utc_offset_minutes: UTC_OFFSET_MINUTES,
            },
            ADMIN_USERNAME,
            admin_hash,
        )
        .map_err(|e| in_transaction(format!("{e:?}")))?;
        let admin = Admin {
            community: founded.community.id.into(),
            user: founded.admin.id.into(),
        };
        // Deeds are recorded by a reviewer (the grid worker) and approved by the admin: nobody
        // approves what they recorded themselves.
        let mut roles = RoleSet::default();
        roles.insert(Role::Reviewer);
        let recorder = moralbank::users::store::insert_user(
            conn,
            &moralbank::users::store::NewUser {
                community: admin.community,
                username: RECORDER_USERNAME,
                password_hash: admin_hash,
                roles,
                member: None,
                display_name: None,
            },
        )
        .map_err(|e| in_transaction(format!("{e:?}")))?;
        let rule = deed_store::create_rule(
            conn,
            admin.community,
            "COUNTY",
            &RuleTerms {
                name: "压测好事".into(),
                category: "志愿服务".into(),
                points: DEED_POINTS,
                unit: Unit::Event,
                direction: Direction::Earn,
                monthly_cap: None,
                per_deed_cap: None,
            },
            admin.user,
        )
        .map_err(|e| in_transaction(format!("{e:?}")))?;
        let mut names = Vec::with_capacity(shape.members + 1);
        for i in 0..shape.members {
            names.push(MemberName::parse(&format!("居民{i}")).map_err(in_transaction)?);
        }
        if index == 0 {
            names.push(MemberName::parse(LONG_MEMBER_NAME).map_err(in_transaction)?);
        }
        let made =
            moralbank::members::store::create_members_in_bulk(conn, admin.community, &names)?;
        let today =
            moralbank::members::store::community_today(conn, admin.community, db::now_utc())?
                .to_string();
        let deeds: Vec<(DeedRow, DeedEventRow)> = (0..shape.credited_deeds + shape.notice_deeds)
            .map(|i| {
                let (member, account) = &made[i % shape.members];
                let description = if i < shape.notice_deeds {
                    ON_NOTICE
                } else {
                    CREDITED
                };
                submitted(
                    admin,
                    recorder.id,
                    &rule,
                    member.id,
                    account.id,
                    &today,
                    description,
                )
            })
            .collect();
        deed_store::insert_deeds(conn, &deeds)?;
        Ok::<_, diesel::result::Error>(admin)
    })
    .map_err(|e| format!("founding {code}: {e}"))
}

fn in_transaction(e: impl ToString) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(e.to_string().into())
}

/// A deed submitted by the recorder for `member` today, with its submission event: the rows the
/// deeds endpoint writes.
fn submitted(
    admin: Admin,
    recorder: DbUuid,
    (rule, version): &(deed_store::RuleRow, deed_store::RuleVersionRow),
    member: DbUuid,
    account: DbUuid,
    today: &str,
    description: &str,
) -> (DeedRow, DeedEventRow) {
    let now = db::now_utc();
    let deed = DeedRow {
        id: DeedId::new().into(),
        community_id: admin.community.into(),
        member_id: member,
        account_id: account,
        rule_id: rule.id,
        rule_version_id: version.id,
        rule_name: version.name.clone(),
        direction: Direction::Earn,
        quantity: 100,
        counted_quantity: 100,
        points: DEED_POINTS,
        monthly_cap: None,
        occurred_on: today.to_string(),
        description: description.into(),
        evidence: "[]".into(),
        status: DeedStatus::Submitted,
        submitted_by: recorder,
        cap_month: None,
        notice_ends_at: None,
        applied_points: None,
        credit_journal_id: None,
        reversal_journal_id: None,
        version: 0,
        created_at: now,
        updated_at: now,
        first_checked_by: None,
    };
    let event = DeedEventRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        deed_id: deed.id,
        community_id: admin.community.into(),
        action: DeedAction::Submit,
        from_status: None,
        to_status: DeedStatus::Submitted,
        actor_id: Some(recorder),
        reason: None,
        created_at: now,
    };
    (deed, event)
}
