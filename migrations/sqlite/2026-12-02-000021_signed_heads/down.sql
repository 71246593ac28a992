DROP TABLE ledger_heads;
DROP TABLE community_keys;
