-- The accounts the moral bank grows into besides members' passbooks and the three system accounts:
-- the community fund (爱心基金), coins held for reserved orders, coins expired by the community's
-- settlement rule, and household passbooks (一户一档, several per community). Fund, holds and
-- household balances never go negative, like a member's.
--
-- SQLite changes a CHECK by rebuilding the table (the documented twelve steps): foreign keys off
-- outside the transaction, a new table, copy, drop, rename, indexes, a foreign-key check, commit.
-- Run again after a crash between its commit and diesel's record of it, it rebuilds once more.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE accounts_new (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    kind TEXT NOT NULL CHECK (kind IN ('member', 'issuance', 'shop', 'deductions', 'fund', 'holds', 'expired', 'household')),
    member_id TEXT UNIQUE REFERENCES members (id),
    balance BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'frozen')),
    created_at TIMESTAMP NOT NULL,
    credits_total BIGINT NOT NULL DEFAULT 0,
    -- Invariant 2: the database itself refuses a negative member balance.
    CONSTRAINT accounts_member_balance_non_negative CHECK (kind <> 'member' OR balance >= 0),
    CONSTRAINT accounts_held_balance_non_negative CHECK (kind NOT IN ('fund', 'holds', 'household') OR balance >= 0),
    CONSTRAINT accounts_member_link CHECK ((kind = 'member') = (member_id IS NOT NULL))
);
INSERT INTO accounts_new (id, community_id, kind, member_id, balance, last_seq, version, status, created_at, credits_total)
    SELECT id, community_id, kind, member_id, balance, last_seq, version, status, created_at, credits_total FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind NOT IN ('member', 'household');
-- Every reference to an account still finds its account, or the swap fails before it commits.
CREATE TEMP TABLE accounts_rebuild_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO accounts_rebuild_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE accounts_rebuild_check;
COMMIT;
PRAGMA foreign_keys = ON;
