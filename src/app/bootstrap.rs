//! The first start: migrations, the community, its system accounts, the first admin and the
//! signing secret. A second run creates nothing new.

use crate::app::config::Config;
use crate::db::{self, DbPool};
use crate::kernel::{Role, RoleSet};

pub const FIRST_ADMIN_USERNAME: &str = "admin";

/// What the first start did, so the caller can show the generated password once.
#[derive(Debug)]
pub struct Bootstrap {
    pub community_id: crate::kernel::CommunityId,
    pub created_community: bool,
    /// Set only when an admin was created now with a generated password.
    pub generated_admin_password: Option<String>,
    pub jwt_secret: String,
}

/// Opens the database, runs migrations and, on an empty database, creates the community, its
/// system accounts and the first admin. A second run creates nothing new.
pub fn bootstrap(config: &Config, pool: &DbPool) -> Result<Bootstrap, String> {
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to {}: {e}", config.database_url.redacted()))?;
    db::run_migrations(&mut conn)?;
    let outcome = db::write_transaction(&mut conn, |conn| {
        let (community, created_community) = crate::communities::store::ensure_community(
            conn,
            &crate::communities::store::NewCommunity {
                code: &config.community_code,
                name: &config.community_name,
                utc_offset_minutes: config.community_utc_offset_minutes,
            },
        )?;
        let community_id = community.id.into();
        let mut generated_admin_password = None;
        if crate::users::store::count_users(conn, community_id)? == 0 {
            let password = match &config.admin_password {
                Some(p) => p.clone(),
                None => {
                    let p = crate::auth::password::generate_password();
                    generated_admin_password = Some(p.clone());
                    p
                }
            };
            let hash =
                crate::auth::password::hash_password(&password).map_err(BootstrapError::Other)?;
            let mut roles = RoleSet::default();
            roles.insert(Role::Admin);
            crate::users::store::insert_user(
                conn,
                &crate::users::store::NewUser {
                    community: community_id,
                    username: FIRST_ADMIN_USERNAME,
                    password_hash: &hash,
                    roles,
                    member: None,
                },
            )
            .map_err(|e| BootstrapError::Other(e.to_string()))?;
        }
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
