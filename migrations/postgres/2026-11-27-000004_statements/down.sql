ALTER TABLE postings DROP COLUMN credits_after;
ALTER TABLE accounts DROP COLUMN credits_total;
