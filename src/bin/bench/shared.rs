//! What both benchmarks share: the bench password, a bootstrapped database and its admin,
//! adjustments written through the ledger engine, fresh planner statistics and percentiles.

use moralbank::adjustments::plan::{Adjust, AdjustmentKind};
use moralbank::app::config::Config;
use moralbank::commands::{Book, Command, Engine};
use moralbank::db::{self, PooledConn};
use moralbank::kernel::{AccountId, Actor, CommunityId, Points, UserId};
use moralbank::ledger::{EngineSettings, IdempotencyClaim};

/// The password of the bootstrap admin and of every bench clerk.
pub const PASSWORD: &str = "bench-password-1";
/// Commands per `execute_many` call while filling the ledger: one writer batch each.
const FILL_CHUNK: usize = 256;

/// The bench community's admin: who makes the fixture and writes its adjustments.
#[derive(Clone, Copy)]
pub struct Admin {
    pub community: CommunityId,
    pub user: UserId,
}

impl Admin {
    /// One adjustment on `account`, as the adjustments endpoint hands it to the engine.
    pub fn adjustment(
        self,
        account: AccountId,
        kind: AdjustmentKind,
        hundredths: i64,
        key: String,
    ) -> Command {
        Command::Adjust(Adjust {
            community_id: self.community,
            member_account_id: account,
            kind,
            amount: Points::from_hundredths(hundredths),
            reason: "bench".into(),
            actor: Actor {
                user_id: self.user,
                member_id: None,
            },
            idempotency: IdempotencyClaim {
                user_id: self.user,
                key,
                request_hash: "bench".into(),
            },
        })
    }
}

/// Migrates and bootstraps the database as the server does at its first start; gives the admin
/// it made and a connection for writing the fixture.
pub fn bootstrap(config: &Config) -> Result<(Admin, PooledConn), String> {
    let pool = db::build_pool(&config.database_url)?;
    let boot = moralbank::app::bootstrap::bootstrap(config, &pool)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let user = moralbank::users::store::user_by_username(&mut conn, boot.community_id, "admin")
        .map_err(|e| e.to_string())?
        .ok_or("no admin")?
        .id
        .into();
    let admin = Admin {
        community: boot.community_id,
        user,
    };
    Ok((admin, conn))
}

/// Writes each group of commands in turn through one fresh ledger engine, [`FILL_CHUNK`] at a
/// time, so the ledger is real; the first refused command is the error. The commands are made as
/// they are sent, so a million of them never sit in memory at once.
pub fn write_through_engine<G>(config: &Config, groups: G) -> Result<(), String>
where
    G: IntoIterator,
    G::Item: IntoIterator<Item = Command>,
{
    actix_web::rt::System::new().block_on(async {
        let (engine, _writer) = Engine::start(
            config.database_url.clone(),
            Book::default(),
            EngineSettings::default(),
        )
        .map_err(|e| e.to_string())?;
        for group in groups {
            let mut commands = group.into_iter().peekable();
            while commands.peek().is_some() {
                let chunk = commands.by_ref().take(FILL_CHUNK).collect();
                for answer in engine
                    .execute_many(chunk)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    answer.map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    })
}

/// After a bulk fill, refreshes PostgreSQL's planner statistics so the measured queries get the
/// plans they would get in service. SQLite needs nothing.
pub fn analyze(config: &Config) -> Result<(), String> {
    if config.database_url.kind() == db::BackendKind::Postgres {
        use diesel::connection::SimpleConnection;
        let mut conn = config.database_url.connect().map_err(|e| e.to_string())?;
        conn.batch_execute("ANALYZE").map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The `p` quantile (0 to 1) of ascending `sorted`, by the nearest rank; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
