-- The accounts the moral bank grows into besides members' passbooks and the three system accounts:
-- the community fund (爱心基金), coins held for reserved orders, coins expired by the community's
-- settlement rule, and household passbooks (一户一档, several per community). Fund, holds and
-- household balances never go negative, like a member's.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('member', 'issuance', 'shop', 'deductions', 'fund', 'holds', 'expired', 'household'));
ALTER TABLE accounts ADD CONSTRAINT accounts_held_balance_non_negative
    CHECK (kind NOT IN ('fund', 'holds', 'household') OR balance >= 0);
DROP INDEX accounts_system_kind_key;
CREATE UNIQUE INDEX accounts_system_kind_key ON accounts (community_id, kind) WHERE kind NOT IN ('member', 'household');
