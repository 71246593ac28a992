DROP TABLE fund_grants;
DELETE FROM accounts WHERE kind = 'fund' AND last_seq = 0;
