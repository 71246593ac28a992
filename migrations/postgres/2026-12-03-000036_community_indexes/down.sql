DROP INDEX IF EXISTS accounts_community_kind_idx;
