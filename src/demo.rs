//! `moralbank demo`: a ready-to-explore community — a points schedule, goods, three dozen residents
//! with logins, a season of deeds, redemptions, a void and a reversal — written through the same
//! ledger engine as the API, so its ledger verifies like any other.

use crate::auth::password::hash_password;
use crate::config::Config;
use crate::db::deeds::{self as deed_store, RuleTerms};
use crate::db::models::{DeedEventRow, DeedRow, SettingsRow};
use crate::db::queries::{self, NewCommunity, NewUser};
use crate::db::shop::{self, NewGoods};
use crate::db::{self, DbConn, DbUuid};
use crate::domain::member::MemberName;
use crate::domain::{
    AccountId, Actor, CommunityId, DeedId, GoodsId, MemberId, RedemptionId, Role, RoleSet, UserId,
};
use crate::ledger::{
    AdjustmentKind, BasketLine, Command, Engine, EngineSettings, IdempotencyClaim, Outcome,
    Redemption,
};

pub const DEMO_COMMUNITY_CODE: &str = "demo";
pub const DEMO_PASSWORD: &str = "moralbank-demo";
const RESIDENTS: usize = 36;

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

fn role_set(roles: &[Role]) -> RoleSet {
    let mut set = RoleSet::default();
    for role in roles {
        set.insert(*role);
    }
    set
}

fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

struct Staff {
    admin: UserId,
    reviewer: UserId,
    clerk: UserId,
}

fn create_staff(conn: &mut DbConn, community: CommunityId, hash: &str) -> Result<Staff, String> {
    let mut make = |name: &str, roles: &[Role]| -> Result<UserId, String> {
        Ok(queries::insert_user(
            conn,
            &NewUser {
                community,
                username: name,
                password_hash: hash,
                roles: role_set(roles),
                member: None,
            },
        )
        .map_err(|e| format!("cannot create user {name}: {e} (is the demo already here?)"))?
        .id
        .into())
    };
    let admin = make("demo-admin", &[Role::Admin])?;
    let reviewer = make("demo-reviewer", &[Role::Reviewer])?;
    let clerk = make("demo-clerk", &[Role::Clerk])?;
    make("demo-auditor", &[Role::Auditor])?;
    Ok(Staff {
        admin,
        reviewer,
        clerk,
    })
}

/// Builds the demo community. Returns the text to print: the logins.
pub fn run(config: &Config) -> Result<String, String> {
    let pool = db::build_command_pool(&config.database_url)?;
    let boot = crate::startup::bootstrap(config, &pool)?;
    let mut conn = pool.get().map_err(fail)?;
    let (community, created) = db::write_transaction(&mut conn, |conn| {
        queries::ensure_community(
            conn,
            &NewCommunity {
                code: DEMO_COMMUNITY_CODE,
                name: "和谐社区（演示）",
                utc_offset_minutes: 480,
            },
        )
    })
    .map_err(fail)?;
    if !created {
        return Err("the demo community already exists in this database".into());
    }
    let community_id: CommunityId = community.id.into();
    let hash = hash_password(DEMO_PASSWORD)?;
    let staff = db::write_transaction(&mut conn, |conn| {
        create_staff(conn, community_id, &hash).map_err(DemoError)
    })
    .map_err(|e| e.0)?;
    db::write_transaction(&mut conn, |conn| {
        deed_store::save_settings(
            conn,
            &SettingsRow {
                community_id: community.id,
                review_stages: 2,
                notice_days: 0,
                backdate_days: 90,
                updated_at: db::now_utc(),
            },
        )
    })
    .map_err(fail)?;

    // The points schedule (积分细则).
    // (code, name, category, points per unit, unit, direction, monthly cap, per-deed cap)
    type Schedule<'a> = (
        &'a str,
        &'a str,
        &'a str,
        i64,
        &'a str,
        &'a str,
        Option<i64>,
        Option<i64>,
    );
    let schedule: [Schedule; 7] = [
        (
            "VOLUNTEER",
            "志愿服务（每小时）",
            "志愿服务",
            1000,
            "hour",
            "earn",
            Some(10_000),
            Some(400),
        ),
        (
            "LOST_PROPERTY",
            "拾金不昧",
            "诚实守信",
            800,
            "event",
            "earn",
            None,
            None,
        ),
        (
            "MEDIATION",
            "调解邻里纠纷",
            "邻里和睦",
            1000,
            "event",
            "earn",
            None,
            None,
        ),
        (
            "FRUGAL",
            "婚丧事简办",
            "移风易俗",
            1000,
            "event",
            "earn",
            None,
            None,
        ),
        (
            "CLEANUP",
            "环境卫生整治",
            "环境保护",
            300,
            "event",
            "earn",
            Some(3_000),
            None,
        ),
        (
            "ELDER_CARE",
            "照料孤寡老人",
            "孝老爱亲",
            500,
            "event",
            "earn",
            None,
            None,
        ),
        (
            "LITTERING",
            "乱扔垃圾",
            "扣分",
            500,
            "event",
            "deduct",
            None,
            None,
        ),
    ];
    let mut rules = Vec::new();
    for (code, name, category, points, unit, direction, cap, per_deed) in schedule {
        let (rule, version) = db::write_transaction(&mut conn, |conn| {
            deed_store::create_rule(
                conn,
                community_id,
                code,
                &RuleTerms {
                    name: name.into(),
                    category: category.into(),
                    points,
                    unit: unit.into(),
                    direction: direction.into(),
                    monthly_cap: cap,
                    per_deed_cap: per_deed,
                },
                staff.admin,
            )
            .map_err(|e| DemoError(e.to_string()))
        })
        .map_err(|e| e.0)?;
        rules.push((rule, version));
    }

    // Goods on the shelf of the 积分超市.
    let shelf = [
        ("RICE-5KG", "大米 5kg", 3000, 40, Some(2)),
        ("OIL-1L", "食用油 1L", 2000, 40, Some(2)),
        ("SOAP", "肥皂", 250, 200, None),
        ("TOWEL", "毛巾", 500, 100, None),
        ("DETERGENT", "洗衣液", 800, 80, None),
    ];
    let mut goods = Vec::new();
    for (sku, name, price, stock, limit) in shelf {
        let row = db::write_transaction(&mut conn, |conn| {
            shop::create_goods(
                conn,
                &NewGoods {
                    community: community_id,
                    sku,
                    name,
                    price,
                    stock,
                    monthly_limit: limit,
                    actor: staff.admin,
                },
            )
            .map_err(|e| DemoError(e.to_string()))
        })
        .map_err(|e| e.0)?;
        goods.push(GoodsId::from(row.id));
    }

    // Residents with logins.
    let surnames = [
        "马", "王", "李", "张", "刘", "陈", "杨", "赵", "何", "周", "吴", "郭",
    ];
    let given = [
        "秀英", "建国", "玉兰", "海燕", "志强", "桂花", "文明", "丽娟", "德福",
    ];
    let mut dice = Dice(20261127);
    let mut residents: Vec<(MemberId, AccountId, String, String, String)> = Vec::new();
    for i in 0..RESIDENTS {
        let name = format!(
            "{}{}",
            surnames[i % surnames.len()],
            given[(i / surnames.len() + i) % given.len()]
        );
        let parsed = MemberName::parse(&name)?;
        let (member, account) = db::write_transaction(&mut conn, |conn| {
            queries::create_member(conn, community_id, &parsed, None)
                .map_err(|e| DemoError(e.to_string()))
        })
        .map_err(|e| e.0)?;
        let username = format!("demo-r{:02}", i + 1);
        queries::insert_user(
            &mut conn,
            &NewUser {
                community: community_id,
                username: &username,
                password_hash: &hash,
                roles: role_set(&[Role::Resident]),
                member: Some(member.id.into()),
            },
        )
        .map_err(fail)?;
        residents.push((
            member.id.into(),
            account.id.into(),
            member.member_no,
            name,
            username,
        ));
    }

    // A season of deeds, declared over the last three months and checked by the grid worker.
    let stories = [
        "陪社区老人聊天、打扫卫生",
        "在菜市场捡到钱包，交还失主",
        "调解楼上楼下漏水纠纷",
        "参加小区垃圾分类宣传",
        "清理河道垃圾",
        "为独居老人买菜送药",
        "协助社区核酸采样点维持秩序",
    ];
    let today = (db::now_utc() + chrono::Duration::hours(8)).date();
    let mut deed_ids = Vec::new();
    for (r, (member, account, _, _, _)) in residents.iter().enumerate() {
        let count = 2 + dice.next(5) as usize;
        for k in 0..count {
            let rule_index = dice.next(6) as usize;
            let quantity = if rules[rule_index].1.unit == "hour" {
                100 * (1 + dice.next(3) as i64)
            } else {
                100
            };
            let days_ago = dice.next(85) as i64;
            let deed = reviewed_deed(
                &community,
                (*member, *account),
                &rules[rule_index],
                quantity,
                (today - chrono::Duration::days(days_ago)).to_string(),
                stories[(r + k) % stories.len()],
                staff.reviewer,
            );
            db::write_transaction(&mut conn, |conn| {
                deed_store::insert_deed(conn, &deed, &review_event(&deed, staff.reviewer))
            })
            .map_err(fail)?;
            deed_ids.push(DeedId::from(deed.id));
        }
    }
    // One littering deduction, for a resident with coins to lose.
    let offender = &residents[3];
    let deduction = reviewed_deed(
        &community,
        (offender.0, offender.1),
        &rules[6],
        100,
        today.to_string(),
        "在小区绿地乱扔垃圾，经劝导后改正",
        staff.reviewer,
    );
    db::write_transaction(&mut conn, |conn| {
        deed_store::insert_deed(conn, &deduction, &review_event(&deduction, staff.reviewer))
    })
    .map_err(fail)?;
    drop(conn);

    let engine_url = config.database_url.clone();
    let clock_now = db::now_utc();
    let residents_for_engine = residents.clone();
    let summary = actix_web::rt::System::new().block_on(async move {
        let residents = residents_for_engine;
        let (engine, _writer) =
            Engine::start(engine_url, EngineSettings::default()).map_err(fail)?;
        let approve = |id: DeedId| Command::ApproveDeed {
            community_id,
            deed_id: id,
            actor: Actor {
                user_id: staff.admin,
                member_id: None,
            },
            clock_now,
            review_stages: 2,
            notice_days: 0,
        };
        // Paper passbooks carried over for a few residents.
        let mut carried = Vec::new();
        for (i, resident) in residents.iter().enumerate().step_by(6) {
            carried.push(Command::Adjust {
                community_id,
                member_account_id: resident.1,
                kind: AdjustmentKind::OpeningBalance,
                amount: crate::domain::Points::from_hundredths(1500 + 500 * i as i64),
                reason: "纸质存折结转".into(),
                actor: Actor {
                    user_id: staff.admin,
                    member_id: None,
                },
                idempotency: IdempotencyClaim {
                    user_id: staff.admin,
                    key: format!("demo-opening-{i}"),
                    request_hash: "demo".into(),
                },
            });
        }
        engine.execute_many(carried).await.map_err(fail)?;
        let results = engine
            .execute_many(deed_ids.iter().map(|id| approve(*id)).collect())
            .await
            .map_err(fail)?;
        let credited = results.iter().filter(|r| r.is_ok()).count();
        engine
            .execute(approve(DeedId::from(deduction.id)))
            .await
            .map_err(fail)?;
        // Reverse one deed recorded by mistake.
        let reversed_deed = deed_ids[1];
        engine
            .execute(Command::ReverseDeed {
                community_id,
                deed_id: reversed_deed,
                actor: Actor {
                    user_id: staff.admin,
                    member_id: None,
                },
                reason: "重复登记，予以冲正".into(),
            })
            .await
            .map_err(fail)?;
        // A day at the counter.
        let mut redemptions = Vec::new();
        for (n, resident) in residents.iter().enumerate().take(20) {
            let lines = vec![BasketLine {
                goods_id: goods[2 + n % 3],
                quantity: 1 + (n % 2) as i64,
            }];
            let outcome = engine
                .execute(Command::Redeem(Box::new(Redemption {
                    community_id,
                    redemption_id: RedemptionId::new(),
                    member_id: resident.0,
                    clerk: Actor {
                        user_id: staff.clerk,
                        member_id: None,
                    },
                    clerk_username: "demo-clerk".into(),
                    lines,
                    expected_total: None,
                    idempotency: IdempotencyClaim {
                        user_id: staff.clerk,
                        key: format!("demo-redeem-{n}"),
                        request_hash: "demo".into(),
                    },
                })))
                .await;
            if let Ok(Outcome::Redeemed { redemption, .. }) = outcome {
                redemptions.push(RedemptionId::from(redemption.id));
            }
        }
        if let Some(first) = redemptions.first() {
            engine
                .execute(Command::VoidRedemption {
                    community_id,
                    redemption_id: *first,
                    actor: Actor {
                        user_id: staff.clerk,
                        member_id: None,
                    },
                    reason: "扫错商品，撤销重来".into(),
                    same_day_only: true,
                })
                .await
                .map_err(fail)?;
        }
        Ok::<_, String>(format!(
            "{credited} deeds credited, 1 deduction, 1 reversal, {} redemptions, 1 void",
            redemptions.len()
        ))
    })?;

    let mut out = String::new();
    if let Some(password) = boot.generated_admin_password {
        out.push_str(&format!(
            "First start: created user 'admin' with password {password} (write it down)\n"
        ));
    }
    out.push_str(&format!(
        "Demo community '{}' ({}) created: {summary}.\n",
        community.name, DEMO_COMMUNITY_CODE
    ));
    out.push_str(&format!(
        "Every demo login has the password: {DEMO_PASSWORD}\n"
    ));
    out.push_str("  demo-admin     admin (approves deeds, manages rules and goods)\n");
    out.push_str("  demo-reviewer  reviewer (grid worker, first check)\n");
    out.push_str("  demo-clerk     clerk (the shop counter)\n");
    out.push_str("  demo-auditor   auditor (reads everything, verifies the ledger)\n");
    for (_, account, no, name, username) in residents.iter().take(5) {
        out.push_str(&format!(
            "  {username:<14} resident {name} (passbook {no}, account {})\n",
            account.0
        ));
    }
    out.push_str(&format!(
        "  … demo-r06 to demo-r{RESIDENTS:02}: residents too\n"
    ));
    Ok(out)
}

/// A deed the grid worker has declared and checked (初审), waiting for an admin's approval.
fn reviewed_deed(
    community: &crate::db::models::CommunityRow,
    (member, account): (MemberId, AccountId),
    (rule, version): &(
        crate::db::models::RuleRow,
        crate::db::models::RuleVersionRow,
    ),
    quantity: i64,
    occurred_on: String,
    description: &str,
    reviewer: UserId,
) -> DeedRow {
    let counted = version.per_deed_cap.map_or(quantity, |c| quantity.min(c));
    let now = db::now_utc();
    DeedRow {
        id: DeedId::new().into(),
        community_id: community.id,
        member_id: member.into(),
        account_id: account.into(),
        rule_id: rule.id,
        rule_version_id: version.id,
        rule_name: version.name.clone(),
        direction: version.direction.clone(),
        quantity,
        counted_quantity: counted,
        points: counted * version.points / 100,
        monthly_cap: version.monthly_cap,
        occurred_on,
        description: description.to_string(),
        evidence: "[]".into(),
        status: "reviewed".into(),
        submitted_by: reviewer.into(),
        cap_month: None,
        notice_ends_at: None,
        applied_points: None,
        credit_journal_id: None,
        reversal_journal_id: None,
        version: 0,
        created_at: now,
        updated_at: now,
        first_checked_by: Some(reviewer.into()),
    }
}

fn review_event(deed: &DeedRow, reviewer: UserId) -> DeedEventRow {
    DeedEventRow {
        id: DbUuid(uuid::Uuid::now_v7()),
        deed_id: deed.id,
        community_id: deed.community_id,
        action: "review_pass".into(),
        from_status: Some("submitted".into()),
        to_status: "reviewed".into(),
        actor_id: Some(reviewer.into()),
        reason: None,
        created_at: deed.created_at,
    }
}

/// Lets a `String` error travel through `write_transaction`, which needs `From<diesel::Error>`.
#[derive(Debug)]
struct DemoError(String);

impl From<diesel::result::Error> for DemoError {
    fn from(e: diesel::result::Error) -> Self {
        DemoError(e.to_string())
    }
}
