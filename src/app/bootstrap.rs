//! The first start: migrations, the first community, its system accounts, its first admin and
//! the signing secret. Once the database holds a community, a start creates nothing: the
//! `MORALBANK_COMMUNITY_*` settings shape the first start only, and further communities are
//! created by an operator (`moralbank community add`, `POST /api/v1/communities`).

use crate::app::config::Config;
use crate::communities::http::found_community;
use crate::communities::store::NewCommunity;
use crate::db::{self, DbPool};
use crate::kernel::CommunityId;

pub const FIRST_ADMIN_USERNAME: &str = "admin";

/// What the first start did, so the caller can show the generated password once.
#[derive(Debug)]
pub struct Bootstrap {
    /// The community created now, or else the oldest one.
    pub community_id: CommunityId,
    pub created_community: bool,
    /// Set only when an admin was created now with a generated password.
    pub generated_admin_password: Option<String>,
    pub jwt_secret: String,
}

/// Opens the database, runs migrations and, on a database without a community, creates the
/// first one with its system accounts and its first admin. A second run creates nothing new,
/// whatever the settings say.
pub fn bootstrap(config: &Config, pool: &DbPool) -> Result<Bootstrap, String> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to {}: {e}", config.database_url.redacted()))?;
    db::run_migrations(&mut conn)?;
    db::write_transaction(&mut conn, crate::communities::store::ensure_system_accounts)
        .map_err(|e| format!("cannot create the communities' system accounts: {e}"))?;
    crate::trust::store::ready_at_start(&mut conn)?;
    // The admin's password is hashed (slow) before the transaction, and only for a database that
    // holds no community yet; the transaction checks again.
    let first_admin =
        if crate::communities::store::count_communities(&mut conn).map_err(|e| e.to_string())? == 0
        {
            // A password given in the settings was checked when the settings were read.
            let (password, generated) = match &config.admin_password {
                Some(given) => (given.clone(), false),
                None => (crate::auth::password::generate_password(), true),
            };
            let hash = crate::auth::password::hash_password(&password)?;
            Some((hash, generated.then_some(password)))
        } else {
            None
        };
    let outcome = db::write_transaction(&mut conn, |conn| {
        let oldest = crate::communities::store::communities_all(conn)?
            .into_iter()
            .next();
        let (community_id, created_community, generated_admin_password) =
            match (oldest, &first_admin) {
                (Some(community), _) => (community.id.into(), false, None),
                (None, Some((hash, generated))) => {
                    let founded = found_community(
                        conn,
                        &NewCommunity {
                            code: &config.community_code,
                            name: &config.community_name,
                            utc_offset_minutes: config.community_utc_offset_minutes,
                        },
                        FIRST_ADMIN_USERNAME,
                        hash,
                    )
                    .map_err(|e| BootstrapError::Other(e.to_string()))?;
                    (founded.community.id.into(), true, generated.clone())
                }
                (None, None) => {
                    return Err(BootstrapError::Other(
                        "the communities vanished while starting; start again".into(),
                    ))
                }
            };
        let jwt_secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => match crate::communities::store::secret(
                conn,
                crate::communities::store::JWT_SECRET_NAME,
            )? {
                Some(secret) => secret,
                None => {
                    let secret = random_secret();
                    crate::communities::store::insert_secret(
                        conn,
                        crate::communities::store::JWT_SECRET_NAME,
                        &secret,
                    )?;
                    secret
                }
            },
        };
        Ok::<_, BootstrapError>(Bootstrap {
            community_id,
            created_community,
            generated_admin_password,
            jwt_secret,
        })
    })
    .map_err(|e| format!("first-start set-up failed: {e}"))?;
    Ok(outcome)
}

#[derive(Debug, thiserror::Error)]
enum BootstrapError {
    #[error("{0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Other(String),
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0_u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
