//! HS256 tokens. Validation pins the algorithm, requires `exp`, `nbf`, `iat` and `sub`, and keeps
//! the leeway small.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::kernel::{CommunityId, RoleSet, UserId};

/// Clock skew tolerated between instances, in seconds.
const TOKEN_LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: uuid::Uuid,
    /// Community.
    pub com: uuid::Uuid,
    pub roles: Vec<String>,
    /// The user's token version when issued; a bump revokes every older token.
    pub tv: i64,
    /// Set on a platform operator's token: `sub` is an operator, `com` is nil, and the token opens
    /// the platform's endpoints only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub op: bool,
    /// Set on a console session (the browser's cookie): the session's id, from which its form
    /// token is derived. The JSON API refuses a token that carries it, so a cookie copied into
    /// an Authorization header opens nothing there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses: Option<uuid::Uuid>,
    /// When the console session began (it slides, so `iat` moves on; this does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st: Option<i64>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    /// Kept for the form tokens of console sessions (an HMAC under the same secret).
    secret: Vec<u8>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: u64,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8], ttl_seconds: u64) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = TOKEN_LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub"]);
        JwtKeys {
            secret: secret.to_vec(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds,
        }
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    pub fn issue(
        &self,
        user: UserId,
        community: CommunityId,
        roles: RoleSet,
        token_version: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.0,
            com: community.0,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
            tv: token_version,
            op: false,
            ses: None,
            st: None,
            iat: now,
            nbf: now,
            exp: now + self.ttl_seconds as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// A platform operator's token: no community, no community role.
    pub fn issue_operator(
        &self,
        operator: uuid::Uuid,
        token_version: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: operator,
            com: uuid::Uuid::nil(),
            roles: vec!["operator".into()],
            tv: token_version,
            op: true,
            ses: None,
            st: None,
            iat: now,
            nbf: now,
            exp: now + self.ttl_seconds as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// A console session's token: like a user's access token, with the session's id and start,
    /// and an expiry `idle_seconds` from now that each request pushes on (never past the
    /// session's start plus the access-token lifetime).
    pub fn issue_session(
        &self,
        session: &ConsoleSession,
        idle_seconds: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let last = session.started_at + self.ttl_seconds as i64;
        let claims = Claims {
            sub: session.user.0,
            com: session.community.0,
            roles: session
                .roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            tv: session.token_version,
            op: false,
            ses: Some(session.id),
            st: Some(session.started_at),
            iat: now,
            nbf: now,
            exp: (now + idle_seconds as i64).min(last),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The form token of a console session: every state-changing form carries it, and a page of
    /// another site cannot know it.
    pub fn form_token(&self, session: uuid::Uuid) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        mac.update(b"moralbank console form token\n");
        mac.update(session.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
}

/// What a console session's token holds besides its times.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub id: uuid::Uuid,
    pub user: UserId,
    pub community: CommunityId,
    pub roles: RoleSet,
    pub token_version: i64,
    /// Unix seconds.
    pub started_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Role;

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef", 600)
    }

    #[test]
    fn an_issued_token_verifies() {
        let mut roles = RoleSet::default();
        roles.insert(Role::Clerk);
        let token = keys()
            .issue(UserId::new(), CommunityId::new(), roles, 3)
            .unwrap();
        let claims = keys().verify(&token).unwrap();
        assert_eq!(claims.tv, 3);
        assert_eq!(claims.roles, vec!["clerk".to_string()]);
    }

    #[test]
    fn a_token_signed_with_another_key_or_altered_is_refused() {
        let other = JwtKeys::from_secret(b"another-secret-another-secret-xx", 600);
        let token = other
            .issue(UserId::new(), CommunityId::new(), RoleSet::default(), 0)
            .unwrap();
        assert!(keys().verify(&token).is_err());
        let good = keys()
            .issue(UserId::new(), CommunityId::new(), RoleSet::default(), 0)
            .unwrap();
        let mut altered = good.clone();
        altered.insert(good.len() / 2, 'x');
        assert!(keys().verify(&altered).is_err());
    }

    #[test]
    fn a_form_token_belongs_to_one_session_and_one_key() {
        let session = uuid::Uuid::from_bytes([7; 16]);
        let other = uuid::Uuid::from_bytes([8; 16]);
        let token = keys().form_token(session);
        assert_eq!(token, keys().form_token(session), "stable for a session");
        assert_ne!(token, keys().form_token(other));
        let another_key = JwtKeys::from_secret(b"another-secret-another-secret-xx", 600);
        assert_ne!(token, another_key.form_token(session));
    }

    #[test]
    fn a_console_session_expires_after_the_idle_time_within_the_lifetime() {
        let now = chrono::Utc::now().timestamp();
        let session = ConsoleSession {
            id: uuid::Uuid::from_bytes([1; 16]),
            user: UserId::new(),
            community: CommunityId::new(),
            roles: RoleSet::default(),
            token_version: 0,
            started_at: now,
        };
        let claims = keys()
            .verify(&keys().issue_session(&session, 120).unwrap())
            .unwrap();
        assert_eq!(claims.ses, Some(session.id));
        assert!((claims.exp - claims.iat - 120).abs() <= 1);
        // A session started long ago ends with the token lifetime (600 s here), idle or not.
        let old = ConsoleSession {
            started_at: now - 590,
            ..session
        };
        let claims = keys()
            .verify(&keys().issue_session(&old, 120).unwrap())
            .unwrap();
        assert_eq!(claims.exp, now - 590 + 600);
    }
}
