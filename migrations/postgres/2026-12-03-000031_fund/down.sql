DROP TABLE fund_grants;
DELETE FROM accounts WHERE kind = 'fund';
ALTER TABLE accounts DROP CONSTRAINT accounts_fund_balance_non_negative;
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('member', 'issuance', 'shop', 'deductions'));
