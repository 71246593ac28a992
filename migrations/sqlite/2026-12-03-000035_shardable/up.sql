-- The PostgreSQL migration of the same name reshapes the keys for a distributed PostgreSQL
-- (Citus) and drops the enforced foreign keys on the ledger writer's append-only rows. SQLite is
-- one file on one machine and cannot alter a constraint without rebuilding the table, so its keys
-- stay as they are (single-column primary keys, every foreign key enforced). Only the two new
-- columns are added here, because the schema (src/db/schema.rs) is shared: the code writes them on
-- both backends. SQLite cannot add a NOT NULL column without a default, so they are plain columns
-- here; the code always fills them.
ALTER TABLE redemption_lines ADD COLUMN community_id TEXT;
UPDATE redemption_lines
    SET community_id = (SELECT r.community_id FROM redemptions AS r WHERE r.id = redemption_lines.redemption_id);
ALTER TABLE rule_versions ADD COLUMN community_id TEXT;
UPDATE rule_versions
    SET community_id = (SELECT r.community_id FROM rules AS r WHERE r.id = rule_versions.rule_id);
