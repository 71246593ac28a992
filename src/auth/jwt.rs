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
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
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
            iat: now,
            nbf: now,
            exp: now + self.ttl_seconds as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims)
    }
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
}
