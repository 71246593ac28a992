//! The PostgreSQL schema is one a distributed PostgreSQL (Citus) can shard by community: read from
//! the catalog after the migrations, every table is either an explicit reference table or is
//! distributed by a NOT NULL `community_id`; every primary key, unique constraint and unique index
//! of a distributed table includes `community_id`; every foreign key between distributed tables
//! pairs `community_id` with `community_id` in the same position; no foreign key goes from a
//! reference table to a distributed one. A second test reverts the migration that made it so and
//! shows the check then fails, so the check is known to bite.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use moralbank::db::DbConn;

use crate::common::{Backend, ScratchDb};

/// Tables with no `community_id`, replicated to every node. Everything else is distributed.
const REFERENCE_TABLES: [&str; 3] = ["server_secrets", "communities", "operators"];
/// Diesel's own bookkeeping: not part of the service's schema (on Citus it stays a local table of
/// the coordinator, where the migrations run).
const BOOKKEEPING_TABLES: [&str; 1] = ["__diesel_schema_migrations"];
/// Diesel's name for migrations/postgres/2026-12-03-000035_shardable.
const SHARDABLE_MIGRATION: &str = "20261203000035";

#[derive(QueryableByName)]
struct TableInfo {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    has_community: bool,
    #[diesel(sql_type = Bool)]
    community_not_null: bool,
}

#[derive(QueryableByName)]
struct UniqueInfo {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Bool)]
    has_community: bool,
}

#[derive(QueryableByName)]
struct ForeignKeyInfo {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    from_table: String,
    #[diesel(sql_type = Text)]
    to_table: String,
    /// `community_id` of the referencing table is paired with `community_id` of the referenced one.
    #[diesel(sql_type = Bool)]
    pairs_community: bool,
}

/// Every way the schema breaks what a table distributed by `community_id` requires, one line each.
fn offences(conn: &mut DbConn) -> Vec<String> {
    let DbConn::Pg(pg) = conn else {
        panic!("the catalog check reads PostgreSQL's catalog");
    };
    let tables: Vec<TableInfo> = diesel::sql_query(
        "SELECT c.relname::text AS name,
                a.attname IS NOT NULL AS has_community,
                COALESCE(a.attnotnull, false) AS community_not_null
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a
           ON a.attrelid = c.oid AND a.attname = 'community_id' AND NOT a.attisdropped
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
         ORDER BY 1",
    )
    .load(pg)
    .expect("read the tables");
    let uniques: Vec<UniqueInfo> = diesel::sql_query(
        "SELECT t.relname::text AS table_name, i.relname::text AS index_name,
                EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = t.oid AND a.attname = 'community_id'
                          AND a.attnum = ANY (x.indkey::int2[])) AS has_community
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND x.indisunique
         ORDER BY 1, 2",
    )
    .load(pg)
    .expect("read the unique indexes");
    // unnest over both key arrays pairs the columns position by position.
    let foreign_keys: Vec<ForeignKeyInfo> = diesel::sql_query(
        "SELECT k.conname::text AS name, s.relname::text AS from_table, r.relname::text AS to_table,
                EXISTS (SELECT 1 FROM unnest(k.conkey, k.confkey) AS p(s_att, r_att)
                        JOIN pg_attribute sa ON sa.attrelid = k.conrelid AND sa.attnum = p.s_att
                        JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = p.r_att
                        WHERE sa.attname = 'community_id' AND ra.attname = 'community_id')
                  AS pairs_community
         FROM pg_constraint k
         JOIN pg_class s ON s.oid = k.conrelid
         JOIN pg_class r ON r.oid = k.confrelid
         WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
         ORDER BY 1",
    )
    .load(pg)
    .expect("read the foreign keys");

    let is_reference = |t: &str| REFERENCE_TABLES.contains(&t);
    let mut found = Vec::new();
    for table in &tables {
        let name = table.name.as_str();
        if BOOKKEEPING_TABLES.contains(&name) {
            continue;
        }
        match (is_reference(name), table.has_community) {
            (true, true) => found.push(format!(
                "{name}: listed as a reference table but has community_id (distribute it)"
            )),
            (false, false) => found.push(format!(
                "{name}: has no community_id and is not a reference table"
            )),
            (false, true) if !table.community_not_null => {
                found.push(format!("{name}: community_id may be NULL"))
            }
            _ => {}
        }
    }
    for table in REFERENCE_TABLES {
        if !tables.iter().any(|t| t.name == table) {
            found.push(format!("{table}: listed as a reference table but missing"));
        }
    }
    for unique in &uniques {
        if !is_reference(&unique.table_name)
            && !BOOKKEEPING_TABLES.contains(&unique.table_name.as_str())
            && !unique.has_community
        {
            found.push(format!(
                "{}: primary key or unique index {} lacks community_id",
                unique.table_name, unique.index_name
            ));
        }
    }
    for key in &foreign_keys {
        match (is_reference(&key.from_table), is_reference(&key.to_table)) {
            (true, false) => found.push(format!(
                "{}: foreign key {} goes from a reference table to the distributed {}",
                key.from_table, key.name, key.to_table
            )),
            (false, false) if !key.pairs_community => found.push(format!(
                "{}: foreign key {} to {} does not pair community_id with community_id",
                key.from_table, key.name, key.to_table
            )),
            _ => {}
        }
    }
    found
}

#[test]
fn every_key_of_a_community_table_includes_community_id() {
    let Some(db) = ScratchDb::new(Backend::Postgres) else {
        return;
    };
    let mut conn = db.connect();
    moralbank::db::run_migrations(&mut conn).unwrap();
    let found = offences(&mut conn);
    assert!(
        found.is_empty(),
        "the schema cannot be distributed by community_id:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_fails_on_the_schema_before_it_was_shardable() {
    use diesel_migrations::MigrationHarness;
    let Some(db) = ScratchDb::new(Backend::Postgres) else {
        return;
    };
    let mut conn = db.connect();
    moralbank::db::run_migrations(&mut conn).unwrap();
    let DbConn::Pg(pg) = &mut conn else {
        unreachable!("a PostgreSQL scratch database");
    };
    // Back to just before the shardable migration, through any that came after it.
    loop {
        let applied = pg.applied_migrations().unwrap();
        let last = applied.iter().map(|v| v.to_string()).max().unwrap();
        if last.as_str() < SHARDABLE_MIGRATION {
            break;
        }
        pg.revert_last_migration(moralbank::db::POSTGRES_MIGRATIONS)
            .unwrap();
    }
    let found = offences(&mut conn);
    let expect = [
        "redemption_lines: has no community_id and is not a reference table",
        "accounts: primary key or unique index accounts_pkey lacks community_id",
        "idempotency_keys: primary key or unique index idempotency_keys_user_key lacks community_id",
        "users: primary key or unique index users_member_key lacks community_id",
        "postings: foreign key postings_account_id_fkey to accounts does not pair community_id with community_id",
    ];
    for line in expect {
        assert!(
            found.iter().any(|f| f == line),
            "the check missed {line:?}; it found:\n{}",
            found.join("\n")
        );
    }
}
