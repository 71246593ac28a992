//! `moralbank demo`: a ready-to-explore community — a points schedule, goods, three dozen residents
//! with logins, a season of deeds, redemptions, a void and a reversal. Everything goes through the
//! real workflow: residents declare their deeds, a grid worker checks them, the committee decides
//! in one ledger batch, the counter redeems — so its ledger verifies like any other.

use chrono::NaiveDate;

use crate::adjustments::plan::{Adjust, AdjustmentKind};
use crate::app::config::Config;
use crate::auth::password::hash_password;
use crate::commands::{Book, Command, Engine, Outcome};
use crate::communities::store::{create_community, CreateCommunityError, NewCommunity};
use crate::db::{self, DbConn};
use crate::deeds::model::Direction;
use crate::deeds::model::{DeedAction, ReviewStages, Unit};
use crate::deeds::plan::{DeedCommand, Step};
use crate::deeds::store::submit::{submit, Declaration};
use crate::deeds::store::{self as deeds, RuleTerms, SettingsRow};
use crate::kernel::{
    AccountId, Actor, Clock, CommunityId, DeedId, GoodsId, LocalCalendar, MemberId, Points,
    RedemptionId, Role, RoleSet, RuleId, UserId,
};
use crate::ledger::{EngineSettings, IdempotencyClaim};
use crate::members::model::MemberName;
use crate::members::store::create_member;
use crate::shop::plan::{BasketLine, Redeem, ShopOutcome, Void};
use crate::shop::store::{create_goods, NewGoods};
use crate::users::store::{insert_user, NewUser};

pub const DEMO_COMMUNITY_CODE: &str = "demo";
pub const DEMO_PASSWORD: &str = "moralbank-demo";
const RESIDENTS: usize = 36;
/// The demo's community keeps China's calendar.
const DEMO_UTC_OFFSET_MINUTES: i32 = 480;

/// Deterministic pseudo-random numbers, so every demo tells the same story.
struct Dice(u64);

impl Dice {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Lets a `String` error travel through `write_transaction`, which needs `From<diesel::Error>`.
struct DemoError(String);

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        DemoError(e.to_string())
    }
}

/// One writing transaction whose errors are said in words.
fn write<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, String>,
) -> Result<T, String> {
    db::write_transaction(conn, |conn| f(conn).map_err(DemoError)).map_err(|e| e.0)
}

fn actor(user_id: UserId) -> Actor {
    Actor {
        user_id,
        member_id: None,
    }
}

/// The committee, two grid workers (a deduction one records, the other checks), the counter, the
/// auditor.
struct Staff {
    admin: UserId,
    grid: UserId,
    grid2: UserId,
    clerk: UserId,
}

struct Resident {
    member: MemberId,
    account: AccountId,
    user: UserId,
}

/// What the demo community holds once it is set up.
struct Demo {
    community: CommunityId,
    calendar: LocalCalendar,
    staff: Staff,
    rules: Vec<(RuleId, Unit)>,
    goods: Vec<GoodsId>,
    residents: Vec<Resident>,
}

fn user(
    conn: &mut DbConn,
    community: CommunityId,
    name: &str,
    roles: &[Role],
    member: Option<MemberId>,
    hash: &str,
) -> Result<UserId, String> {
    let roles = RoleSet::from_names(roles.iter().map(|r| r.as_str()))?;
    let row = insert_user(
        conn,
        &NewUser {
            community,
            username: name,
            password_hash: hash,
            roles,
            member,
            display_name: None,
        },
    )
    .map_err(|e| format!("cannot create user {name}: {e} (is the demo already here?)"))?;
    Ok(row.id.into())
}

fn create_staff(conn: &mut DbConn, community: CommunityId, hash: &str) -> Result<Staff, String> {
    let staff = Staff {
        admin: user(conn, community, "demo-admin", &[Role::Admin], None, hash)?,
        grid: user(conn, community, "demo-grid", &[Role::Reviewer], None, hash)?,
        grid2: user(conn, community, "demo-grid2", &[Role::Reviewer], None, hash)?,
        clerk: user(conn, community, "demo-clerk", &[Role::Clerk], None, hash)?,
    };
    user(
        conn,
        community,
        "demo-auditor",
        &[Role::Auditor],
        None,
        hash,
    )?;
    Ok(staff)
}

/// The points schedule (积分细则): (code, name, category, points per unit in hundredths, unit,
/// direction, monthly cap, per-deed cap in hundredths of a unit).
type ScheduleLine = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    Unit,
    Direction,
    Option<i64>,
    Option<i64>,
);

const SCHEDULE: [ScheduleLine; 7] = [
    (
        "VOLUNTEER",
        "志愿服务（每小时）",
        "志愿服务",
        1000,
        Unit::Hour,
        Direction::Earn,
        Some(10_000),
        Some(400),
    ),
    (
        "LOST_PROPERTY",
        "拾金不昧",
        "诚实守信",
        800,
        Unit::Event,
        Direction::Earn,
        None,
        None,
    ),
    (
        "MEDIATION",
        "调解邻里纠纷",
        "邻里和睦",
        1000,
        Unit::Event,
        Direction::Earn,
        None,
        None,
    ),
    (
        "FRUGAL",
        "婚丧事简办",
        "移风易俗",
        1000,
        Unit::Event,
        Direction::Earn,
        None,
        None,
    ),
    (
        "CLEANUP",
        "环境卫生整治",
        "环境保护",
        300,
        Unit::Event,
        Direction::Earn,
        Some(3_000),
        None,
    ),
    (
        "ELDER_CARE",
        "照料孤寡老人",
        "孝老爱亲",
        500,
        Unit::Event,
        Direction::Earn,
        None,
        None,
    ),
    (
        "LITTERING",
        "乱扔垃圾",
        "扣分",
        500,
        Unit::Event,
        Direction::Deduct,
        None,
        None,
    ),
];

fn create_rules(
    conn: &mut DbConn,
    community: CommunityId,
    admin: UserId,
) -> Result<Vec<(RuleId, Unit)>, String> {
    let mut rules = Vec::new();
    for (code, name, category, points, unit, direction, cap, per_deed) in SCHEDULE {
        let terms = RuleTerms {
            name: name.into(),
            category: category.into(),
            points,
            unit,
            direction,
            monthly_cap: cap,
            per_deed_cap: per_deed,
        };
        let (rule, _) = write(conn, |conn| {
            deeds::create_rule(conn, community, code, &terms, admin).map_err(fail)
        })?;
        rules.push((rule.id.into(), unit));
    }
    Ok(rules)
}

/// Goods on the shelf of the 积分超市.
fn create_shelf(
    conn: &mut DbConn,
    community: CommunityId,
    admin: UserId,
) -> Result<Vec<GoodsId>, String> {
    let shelf = [
        ("RICE-5KG", "大米 5kg", 3000, 40, Some(2)),
        ("OIL-1L", "食用油 1L", 2000, 40, Some(2)),
        ("SOAP", "肥皂", 250, 200, None),
        ("TOWEL", "毛巾", 500, 100, None),
        ("DETERGENT", "洗衣液", 800, 80, None),
    ];
    let mut goods = Vec::new();
    for (sku, name, price, stock, limit) in shelf {
        let new = NewGoods {
            community,
            sku,
            name,
            price,
            stock,
            monthly_limit: limit,
            actor: admin,
        };
        let row = write(conn, |conn| create_goods(conn, &new).map_err(fail))?;
        goods.push(row.id.into());
    }
    Ok(goods)
}

/// Residents with logins of their own (demo-r01 …).
fn create_residents(
    conn: &mut DbConn,
    community: CommunityId,
    hash: &str,
) -> Result<Vec<Resident>, String> {
    let surnames = [
        "马", "王", "李", "张", "刘", "陈", "杨", "赵", "何", "周", "吴", "郭",
    ];
    let given = [
        "秀英", "建国", "玉兰", "海燕", "志强", "桂花", "文明", "丽娟", "德福",
    ];
    let mut residents = Vec::new();
    for i in 0..RESIDENTS {
        let name = format!(
            "{}{}",
            surnames[i % surnames.len()],
            given[(i / surnames.len() + i) % given.len()]
        );
        let parsed = MemberName::parse(&name)?;
        let (member, account) = write(conn, |conn| {
            create_member(conn, community, &parsed, None).map_err(fail)
        })?;
        let username = format!("demo-r{:02}", i + 1);
        let member_id = MemberId::from(member.id);
        let user_id = user(
            conn,
            community,
            &username,
            &[Role::Resident],
            Some(member_id),
            hash,
        )?;
        residents.push(Resident {
            member: member_id,
            account: account.id.into(),
            user: user_id,
        });
    }
    Ok(residents)
}

/// The community, its settings (two review stages, no notice, deeds up to 90 days back), staff,
/// schedule, shelf and residents.
fn set_up(conn: &mut DbConn, now: chrono::NaiveDateTime) -> Result<Demo, String> {
    let new = NewCommunity {
        code: DEMO_COMMUNITY_CODE,
        name: "和谐社区（演示）",
        utc_offset_minutes: DEMO_UTC_OFFSET_MINUTES,
    };
    let community = write(conn, |conn| {
        create_community(conn, &new).map_err(|e| match e {
            CreateCommunityError::CodeTaken => {
                "the demo community already exists in this database".to_string()
            }
            CreateCommunityError::Database(e) => fail(e),
        })
    })?;
    let id: CommunityId = community.id.into();
    let settings = SettingsRow {
        community_id: community.id,
        review_stages: 2,
        notice_days: 0,
        backdate_days: 90,
        updated_at: now,
    };
    write(conn, |conn| {
        deeds::save_settings(conn, &settings).map_err(fail)
    })?;
    let hash = hash_password(DEMO_PASSWORD)?;
    let staff = create_staff(conn, id, &hash)?;
    Ok(Demo {
        community: id,
        calendar: LocalCalendar::new(DEMO_UTC_OFFSET_MINUTES),
        rules: create_rules(conn, id, staff.admin)?,
        goods: create_shelf(conn, id, staff.admin)?,
        residents: create_residents(conn, id, &hash)?,
        staff,
    })
}

const STORIES: [&str; 7] = [
    "陪社区老人聊天、打扫卫生",
    "在菜市场捡到钱包，交还失主",
    "调解楼上楼下漏水纠纷",
    "参加小区垃圾分类宣传",
    "清理河道垃圾",
    "为独居老人买菜送药",
    "协助社区核酸采样点维持秩序",
];

/// A season of deeds, each declared by the resident who did it over the last three months.
fn declare_season(
    conn: &mut DbConn,
    demo: &Demo,
    now: chrono::NaiveDateTime,
) -> Result<Vec<DeedId>, String> {
    let mut dice = Dice(20261127);
    let today = demo.calendar.day_of(now);
    let mut deeds = Vec::new();
    for (r, resident) in demo.residents.iter().enumerate() {
        for k in 0..2 + dice.next(5) as usize {
            let (rule, unit) = demo.rules[dice.next(6) as usize];
            let quantity = match unit {
                Unit::Hour => (1 + dice.next(3)) as f64,
                Unit::Event => 1.0,
            };
            let day = today - chrono::Duration::days(dice.next(85) as i64);
            let declaration = Declaration {
                community: demo.community,
                member: resident.member,
                rule,
                quantity,
                occurred_on: day,
                description: STORIES[(r + k) % STORIES.len()].into(),
                evidence: Vec::new(),
                declared_by: resident.user,
                on_behalf: false,
                id: None,
            };
            let (deed, _) = submit(conn, &declaration, demo.calendar, now).map_err(fail)?;
            deeds.push(deed.id.into());
        }
    }
    Ok(deeds)
}

/// One littering deduction, recorded by the grid worker for a resident with coins to lose.
fn record_deduction(
    conn: &mut DbConn,
    demo: &Demo,
    today: NaiveDate,
    now: chrono::NaiveDateTime,
) -> Result<DeedId, String> {
    let declaration = Declaration {
        community: demo.community,
        member: demo.residents[3].member,
        rule: demo.rules[6].0,
        quantity: 1.0,
        occurred_on: today,
        description: "在小区绿地乱扔垃圾，经劝导后改正".into(),
        evidence: Vec::new(),
        declared_by: demo.staff.grid,
        on_behalf: true,
        id: None,
    };
    let (deed, _) = submit(conn, &declaration, demo.calendar, now).map_err(fail)?;
    Ok(deed.id.into())
}

fn deed_step(demo: &Demo, deed: DeedId, step: Step, now: chrono::NaiveDateTime) -> Command {
    Command::Deed(DeedCommand {
        community_id: demo.community,
        deed_id: deed,
        step,
        clock_now: now,
    })
}

/// The grid workers check every deed (a deduction by the one who did not record it), then the
/// committee decides them all in one batch, as at the monthly meeting.
async fn review_and_decide(
    engine: &Engine,
    demo: &Demo,
    deeds: &[DeedId],
    deduction: DeedId,
    now: chrono::NaiveDateTime,
) -> Result<usize, String> {
    let check = |deed: DeedId, by: UserId| {
        let step = Step::Move {
            actor: actor(by),
            action: DeedAction::Pass,
            reason: None,
            stages: ReviewStages::Two,
        };
        deed_step(demo, deed, step, now)
    };
    let mut checks: Vec<Command> = deeds.iter().map(|d| check(*d, demo.staff.grid)).collect();
    checks.push(check(deduction, demo.staff.grid2));
    for answer in engine.execute_many(checks).await.map_err(fail)? {
        answer.map_err(fail)?;
    }
    let approve = |deed: DeedId| {
        let step = Step::Approve {
            actor: actor(demo.staff.admin),
            stages: ReviewStages::Two,
            notice_days: 0,
        };
        deed_step(demo, deed, step, now)
    };
    let decisions = deeds.iter().map(|d| approve(*d)).collect();
    let answers = engine.execute_many(decisions).await.map_err(fail)?;
    engine.execute(approve(deduction)).await.map_err(fail)?;
    Ok(answers.iter().filter(|a| a.is_ok()).count())
}

/// Paper passbooks carried over for every sixth resident.
async fn carry_over_paper(engine: &Engine, demo: &Demo) -> Result<(), String> {
    let mut carried = Vec::new();
    for (i, resident) in demo.residents.iter().enumerate().step_by(6) {
        carried.push(Command::Adjust(Adjust {
            community_id: demo.community,
            member_account_id: resident.account,
            kind: AdjustmentKind::OpeningBalance,
            amount: Points::from_hundredths(1500 + 500 * i as i64),
            reason: "纸质存折结转".into(),
            actor: actor(demo.staff.admin),
            idempotency: IdempotencyClaim {
                user_id: demo.staff.admin,
                key: format!("demo-opening-{i}"),
                request_hash: "demo".into(),
            },
        }));
    }
    for answer in engine.execute_many(carried).await.map_err(fail)? {
        answer.map_err(fail)?;
    }
    Ok(())
}

/// A day at the counter: twenty baskets, and the first voided (scanned wrong).
async fn day_at_the_counter(engine: &Engine, demo: &Demo) -> Result<usize, String> {
    let mut redeemed = Vec::new();
    for (n, resident) in demo.residents.iter().enumerate().take(20) {
        let outcome = engine
            .execute(Command::Redeem(Box::new(Redeem {
                community_id: demo.community,
                redemption_id: RedemptionId::new(),
                member_id: resident.member,
                clerk: actor(demo.staff.clerk),
                clerk_username: "demo-clerk".into(),
                lines: vec![BasketLine {
                    goods_id: demo.goods[2 + n % 3],
                    quantity: 1 + (n % 2) as i64,
                }],
                expected_total: None,
                pay_from: None,
                idempotency: IdempotencyClaim {
                    user_id: demo.staff.clerk,
                    key: format!("demo-redeem-{n}"),
                    request_hash: "demo".into(),
                },
            })))
            .await;
        if let Ok(Outcome::Shop(ShopOutcome::Redeemed { redemption, .. })) = outcome {
            redeemed.push(RedemptionId::from(redemption.id));
        }
    }
    if let Some(first) = redeemed.first() {
        engine
            .execute(Command::Void(Void {
                community_id: demo.community,
                redemption_id: *first,
                actor: actor(demo.staff.clerk),
                reason: "扫错商品，撤销重来".into(),
                same_day_only: true,
            }))
            .await
            .map_err(fail)?;
    }
    Ok(redeemed.len())
}

/// Builds the demo community. Returns the text to print: the logins.
pub fn run(config: &Config) -> Result<String, String> {
    let pool = db::build_command_pool(&config.database_url)?;
    // Only the schema: on an empty database the demo is the first community, and the first
    // start of `serve` then finds a community and creates none.
    {
        let mut conn = pool.get().map_err(fail)?;
        db::run_migrations(&mut conn)?;
        crate::trust::store::ready_at_start(&mut conn)?;
    }
    let clock = Clock::default();
    let now = clock.now();
    let mut conn = pool.get().map_err(fail)?;
    let demo = set_up(&mut conn, now)?;
    let season = declare_season(&mut conn, &demo, now)?;
    let deduction = record_deduction(&mut conn, &demo, demo.calendar.day_of(now), now)?;
    drop(conn);
    let url = config.database_url.clone();
    let settings = EngineSettings {
        clock,
        ..EngineSettings::default()
    };
    let summary = actix_web::rt::System::new().block_on(async move {
        let (engine, _writer) = Engine::start(url, Book::default(), settings).map_err(fail)?;
        carry_over_paper(&engine, &demo).await?;
        let credited = review_and_decide(&engine, &demo, &season, deduction, now).await?;
        // A deed recorded twice by mistake is reversed.
        let reversal = Step::Reverse {
            actor: actor(demo.staff.admin),
            reason: "重复登记，予以冲正".into(),
        };
        engine
            .execute(deed_step(&demo, season[1], reversal, now))
            .await
            .map_err(fail)?;
        let redemptions = day_at_the_counter(&engine, &demo).await?;
        Ok::<_, String>(format!(
            "{credited} deeds credited, 1 deduction, 1 reversal, {redemptions} redemptions, 1 void"
        ))
    })?;
    let communities = {
        let mut conn = pool.get().map_err(fail)?;
        crate::communities::store::count_communities(&mut conn).map_err(fail)?
    };
    let login_with = if communities > 1 {
        format!("This server holds {communities} communities: log in with \"community\": \"{DEMO_COMMUNITY_CODE}\".\n")
    } else {
        String::new()
    };
    Ok(format!(
        "Demo community '{DEMO_COMMUNITY_CODE}' (和谐社区（演示）) created: {summary}.\n{login_with}\
         Every demo login has the password {DEMO_PASSWORD}:\n\
         \x20 demo-admin    committee (admin)\n\
         \x20 demo-grid     grid worker (reviewer); demo-grid2 a second one\n\
         \x20 demo-clerk    shop counter (clerk)\n\
         \x20 demo-auditor  auditor\n\
         \x20 demo-r01 … demo-r{RESIDENTS:02}  residents\n"
    ))
}
