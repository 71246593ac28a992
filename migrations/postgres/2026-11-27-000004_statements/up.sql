-- Running credit totals, so a statement's period totals cost two index look-ups, not a scan:
-- credits_after is the sum of every positive posting of the account up to and including this one
-- (debits follow as credits_after - balance_after).
ALTER TABLE postings ADD COLUMN credits_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN credits_total BIGINT NOT NULL DEFAULT 0;
