-- Back to four kinds of account: the grants and the fund accounts go (with any postings to them
-- the ledger would no longer verify, so only an unused fund can be taken out cleanly).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE fund_grants;
DELETE FROM accounts WHERE kind = 'fund';
CREATE TABLE accounts_rebuilt (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    kind TEXT NOT NULL CHECK (kind IN ('member', 'issuance', 'shop', 'deductions')),
    member_id TEXT UNIQUE REFERENCES members (id),
    balance BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'frozen')),
    created_at TIMESTAMP NOT NULL,
    credits_total BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT accounts_member_balance_non_negative CHECK (kind <> 'member' OR balance >= 0),
    CONSTRAINT accounts_member_link CHECK ((kind = 'member') = (member_id IS NOT NULL))
);
INSERT INTO accounts_rebuilt (id, community_id, kind, member_id, balance, last_seq, version,
        status, created_at, credits_total)
    SELECT id, community_id, kind, member_id, balance, last_seq, version,
        status, created_at, credits_total FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_rebuilt RENAME TO accounts;
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind <> 'member';
CREATE TEMP TABLE accounts_rebuild_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO accounts_rebuild_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE accounts_rebuild_check;
COMMIT;
PRAGMA foreign_keys = ON;
