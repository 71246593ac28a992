//! The five roles of DESIGN.md section 2 and a small set type for a user's roles.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Resident,
    Reviewer,
    Admin,
    Clerk,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Resident,
        Role::Reviewer,
        Role::Admin,
        Role::Clerk,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::Auditor => "auditor",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role '{s}' (expected resident, reviewer, admin, clerk or auditor)")
            })
    }
}

/// A non-empty set of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn contains_any(self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.contains(*r))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    pub fn to_vec(self) -> Vec<Role> {
        self.iter().collect()
    }

    /// Parses the stored form: role names joined by commas.
    pub fn parse_stored(text: &str) -> Result<RoleSet, String> {
        Self::from_names(text.split(',').filter(|s| !s.is_empty()))
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<RoleSet, String> {
        let mut set = RoleSet::default();
        for name in names {
            let role: Role = name.parse()?;
            if set.contains(role) {
                return Err(format!("role '{name}' is listed twice"));
            }
            set.insert(role);
        }
        if set.is_empty() {
            return Err("at least one role is required".into());
        }
        Ok(set)
    }

    pub fn to_stored(self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_sets_round_trip_through_storage() {
        let set = RoleSet::from_names(["clerk", "admin"]).unwrap();
        assert_eq!(set.to_stored(), "admin,clerk");
        assert_eq!(RoleSet::parse_stored("admin,clerk").unwrap(), set);
        assert!(set.contains(Role::Admin) && !set.contains(Role::Resident));
    }

    #[test]
    fn role_sets_refuse_unknown_duplicate_and_empty() {
        assert!(RoleSet::from_names(["king"]).is_err());
        assert!(RoleSet::from_names(["admin", "admin"]).is_err());
        assert!(RoleSet::from_names([]).is_err());
    }
}
