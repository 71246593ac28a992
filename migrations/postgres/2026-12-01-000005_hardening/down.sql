DELETE FROM idempotency_keys WHERE journal_id IS NULL;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_one_answer;
ALTER TABLE idempotency_keys DROP COLUMN refusal;
ALTER TABLE idempotency_keys ALTER COLUMN journal_id SET NOT NULL;
ALTER TABLE deeds DROP COLUMN first_checked_by;
ALTER TABLE journal DROP COLUMN hash_version;
