-- A community's accounts by community (and kind): verify reads every account of the community it
-- checks, the period summary every member account. The only index that led with community_id
-- covered the system accounts alone, so on a county of 3,000,000 accounts each of those reads was
-- a scan of every community's accounts. Accounts are made with members, never by the ledger
-- writer's batches, so the index costs the hot path nothing.
CREATE INDEX IF NOT EXISTS accounts_community_kind_idx ON accounts (community_id, kind);
