DROP TABLE household_settings;
DROP TABLE household_members;
DROP TABLE households;
DELETE FROM accounts WHERE kind = 'household' AND last_seq = 0;
