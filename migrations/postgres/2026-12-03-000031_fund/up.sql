-- The community fund (爱心基金): a system account per community that residents donate to and
-- that grants, proposed by one admin and approved by a second, are paid from. Its balance, like a
-- member's, never goes below zero (the kind and that guard came with 000029_account_kinds).

-- Every community already there gets its fund, empty.
INSERT INTO accounts (id, community_id, kind, member_id, balance, last_seq, version, status,
        created_at, credits_total)
    SELECT gen_random_uuid(), c.id, 'fund', NULL, 0, 0, 0, 'active',
        (now() AT TIME ZONE 'UTC'), 0
    FROM communities c
    WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.community_id = c.id AND a.kind = 'fund');

-- A grant from the fund: proposed by one admin, decided once by another, never by or for the
-- person it pays. An approved grant names the transaction that paid it.
CREATE TABLE fund_grants (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    member_id UUID NOT NULL REFERENCES members (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    status TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected')),
    proposed_by UUID NOT NULL REFERENCES users (id),
    proposed_at TIMESTAMP NOT NULL,
    decided_by UUID REFERENCES users (id),
    decided_at TIMESTAMP,
    decision_reason TEXT,
    journal_id UUID REFERENCES journal (id),
    CONSTRAINT fund_grants_decided CHECK ((status = 'proposed') = (decided_by IS NULL)),
    CONSTRAINT fund_grants_four_eyes CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CONSTRAINT fund_grants_paid CHECK ((status = 'approved') = (journal_id IS NOT NULL))
);
CREATE INDEX fund_grants_community_status ON fund_grants (community_id, status, proposed_at);
