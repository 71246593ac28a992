//! The README's roles table is the policy the code enforces, cell by cell.

use moralbank::kernel::policy::{Permission, GRANTS};
use moralbank::kernel::{Role, RoleSet};

const COLUMNS: [Role; 5] = [
    Role::Resident,
    Role::Reviewer,
    Role::Clerk,
    Role::Auditor,
    Role::Admin,
];

#[test]
fn the_readme_roles_table_is_the_permission_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("| permission | resident | reviewer | clerk | auditor | admin |")
        .expect("the README has the roles table");
    let mut seen = Vec::new();
    for line in readme[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 6, "a row of six cells: {line}");
        let word = cells[0]
            .split('`')
            .nth(1)
            .unwrap_or_else(|| panic!("a permission in backticks: {line}"));
        let permission =
            Permission::parse(word).unwrap_or_else(|| panic!("no permission named {word}"));
        for (role, cell) in COLUMNS.iter().zip(&cells[1..]) {
            let mut one = RoleSet::default();
            one.insert(*role);
            assert_eq!(
                *cell == "✓",
                one.may(permission),
                "README says {role} {} {word}; the code disagrees",
                if *cell == "✓" { "may" } else { "may not" }
            );
        }
        seen.push(permission);
    }
    for (permission, _) in GRANTS {
        assert!(
            seen.contains(permission),
            "the README's table lacks {permission}"
        );
    }
}
