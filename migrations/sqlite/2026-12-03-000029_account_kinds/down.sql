PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE accounts_old (
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
INSERT INTO accounts_old (id, community_id, kind, member_id, balance, last_seq, version, status, created_at, credits_total)
    SELECT id, community_id, kind, member_id, balance, last_seq, version, status, created_at, credits_total FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_old RENAME TO accounts;
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind <> 'member';
COMMIT;
PRAGMA foreign_keys = ON;
