-- The community fund (爱心基金): a system account per community that residents donate to and
-- that grants, proposed by one admin and approved by a second, are paid from. Its balance, like a
-- member's, never goes below zero.

-- SQLite keeps a CHECK for the table's life, so `accounts` is rebuilt with the new kind and the
-- fund's own non-negative guard. Foreign keys stay pointed at `accounts` by name; enforcement is
-- off only while the table is swapped, and the check below proves no reference was broken.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE accounts_rebuilt (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    kind TEXT NOT NULL CHECK (kind IN ('member', 'issuance', 'shop', 'deductions', 'fund')),
    member_id TEXT UNIQUE REFERENCES members (id),
    balance BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'frozen')),
    created_at TIMESTAMP NOT NULL,
    credits_total BIGINT NOT NULL DEFAULT 0,
    -- Invariant 2: the database itself refuses a negative member balance.
    CONSTRAINT accounts_member_balance_non_negative CHECK (kind <> 'member' OR balance >= 0),
    -- The fund pays out only what was given to it.
    CONSTRAINT accounts_fund_balance_non_negative CHECK (kind <> 'fund' OR balance >= 0),
    CONSTRAINT accounts_member_link CHECK ((kind = 'member') = (member_id IS NOT NULL))
);
INSERT INTO accounts_rebuilt (id, community_id, kind, member_id, balance, last_seq, version,
        status, created_at, credits_total)
    SELECT id, community_id, kind, member_id, balance, last_seq, version,
        status, created_at, credits_total FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_rebuilt RENAME TO accounts;
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind <> 'member';

-- Every community already there gets its fund, empty.
INSERT INTO accounts (id, community_id, kind, member_id, balance, last_seq, version, status,
        created_at, credits_total)
    SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
            || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
            || '-' || hex(randomblob(6))),
        id, 'fund', NULL, 0, 0, 0, 'active', strftime('%Y-%m-%d %H:%M:%f', 'now'), 0
    FROM communities;

-- A grant from the fund: proposed by one admin, decided once by another, never by or for the
-- person it pays. An approved grant names the transaction that paid it.
CREATE TABLE fund_grants (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    member_id TEXT NOT NULL REFERENCES members (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    status TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected')),
    proposed_by TEXT NOT NULL REFERENCES users (id),
    proposed_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP,
    decision_reason TEXT,
    journal_id TEXT REFERENCES journal (id),
    CONSTRAINT fund_grants_decided CHECK ((status = 'proposed') = (decided_by IS NULL)),
    CONSTRAINT fund_grants_four_eyes CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CONSTRAINT fund_grants_paid CHECK ((status = 'approved') = (journal_id IS NOT NULL))
);
CREATE INDEX fund_grants_community_status ON fund_grants (community_id, status, proposed_at);

-- Every reference to an account still finds its account, or the swap fails before it commits.
CREATE TEMP TABLE accounts_rebuild_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO accounts_rebuild_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE accounts_rebuild_check;
COMMIT;
PRAGMA foreign_keys = ON;
