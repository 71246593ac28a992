-- Hardening: a hash format that covers every column a passbook shows, the first checker of a deed
-- (so the decision is made by another pair of eyes), and refusals remembered for their key.

-- Rows written before this migration keep format 1 and verify under it; new rows are written in 2.
ALTER TABLE journal ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));

ALTER TABLE deeds ADD COLUMN first_checked_by TEXT REFERENCES users (id);
UPDATE deeds SET first_checked_by = (
    SELECT e.actor_id FROM deed_events e
    WHERE e.deed_id = deeds.id AND e.action = 'review_pass'
    ORDER BY e.id DESC LIMIT 1
) WHERE status IN ('reviewed', 'approved', 'credited', 'reversed', 'rejected');

-- An idempotency key now keeps its first final answer, a ledger refusal included: either the
-- transaction it posted or the refusal (as the ledger stated it), never both. SQLite cannot drop
-- NOT NULL in place, so the table is rebuilt.
CREATE TABLE idempotency_keys_new (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    journal_id TEXT REFERENCES journal (id),
    created_at TIMESTAMP NOT NULL,
    refusal TEXT,
    CONSTRAINT idempotency_keys_user_key UNIQUE (user_id, idem_key),
    CONSTRAINT idempotency_keys_one_answer CHECK ((journal_id IS NULL) <> (refusal IS NULL))
);
INSERT INTO idempotency_keys_new (id, community_id, user_id, idem_key, request_hash, journal_id, created_at)
    SELECT id, community_id, user_id, idem_key, request_hash, journal_id, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
