-- The foundation: communities, members, accounts, users, and the append-only double-entry ledger.

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE communities (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL CHECK (utc_offset_minutes BETWEEN -840 AND 840),
    -- The head of the community's hash chain, written only by the ledger writer, guarded by version.
    chain_seq BIGINT NOT NULL DEFAULT 0 CHECK (chain_seq >= 0),
    chain_hash TEXT NOT NULL,
    chain_version BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE member_no_counters (
    community_id UUID PRIMARY KEY REFERENCES communities (id),
    last_value BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE members (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    member_no TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT members_member_no_key UNIQUE (community_id, member_no)
);

CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    kind TEXT NOT NULL CHECK (kind IN ('member', 'issuance', 'shop', 'deductions')),
    member_id UUID UNIQUE REFERENCES members (id),
    balance BIGINT NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'frozen')),
    created_at TIMESTAMP NOT NULL,
    -- Invariant 2: the database itself refuses a negative member balance.
    CONSTRAINT accounts_member_balance_non_negative CHECK (kind <> 'member' OR balance >= 0),
    CONSTRAINT accounts_member_link CHECK ((kind = 'member') = (member_id IS NOT NULL))
);
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind <> 'member';

CREATE TABLE users (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    member_id UUID REFERENCES members (id),
    token_version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);
CREATE UNIQUE INDEX users_member_key ON users (member_id) WHERE member_id IS NOT NULL;

CREATE TABLE journal (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    seq BIGINT NOT NULL CHECK (seq > 0),
    kind TEXT NOT NULL,
    reference_id UUID,
    memo TEXT NOT NULL,
    actor_id UUID REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    CONSTRAINT journal_seq_key UNIQUE (community_id, seq)
);
-- Exactly once: one transaction of a kind per referenced thing (a deed credits once, a void once).
CREATE UNIQUE INDEX journal_reference_key ON journal (community_id, kind, reference_id)
    WHERE reference_id IS NOT NULL;

CREATE TABLE postings (
    id UUID PRIMARY KEY,
    journal_id UUID NOT NULL REFERENCES journal (id),
    community_id UUID NOT NULL REFERENCES communities (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    account_seq BIGINT NOT NULL CHECK (account_seq > 0),
    amount BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL,
    posted_at TIMESTAMP NOT NULL,
    CONSTRAINT postings_account_seq_key UNIQUE (account_id, account_seq)
);
CREATE INDEX postings_journal_idx ON postings (journal_id);
CREATE INDEX postings_account_time_idx ON postings (account_id, posted_at);

CREATE TABLE idempotency_keys (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    user_id UUID NOT NULL REFERENCES users (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    journal_id UUID NOT NULL REFERENCES journal (id),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT idempotency_keys_user_key UNIQUE (user_id, idem_key)
);

-- Invariant 3: journal and postings are append-only. Corrections are new, linked transactions.
CREATE FUNCTION moralbank_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'moralbank: % is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
