DROP INDEX accounts_system_kind_key;
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind <> 'member';
ALTER TABLE accounts DROP CONSTRAINT accounts_held_balance_non_negative;
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check CHECK (kind IN ('member', 'issuance', 'shop', 'deductions'));
