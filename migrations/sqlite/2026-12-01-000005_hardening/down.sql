DELETE FROM idempotency_keys WHERE journal_id IS NULL;
CREATE TABLE idempotency_keys_old (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    journal_id TEXT NOT NULL REFERENCES journal (id),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT idempotency_keys_user_key UNIQUE (user_id, idem_key)
);
INSERT INTO idempotency_keys_old SELECT id, community_id, user_id, idem_key, request_hash, journal_id, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_old RENAME TO idempotency_keys;
ALTER TABLE deeds DROP COLUMN first_checked_by;
ALTER TABLE journal DROP COLUMN hash_version;
