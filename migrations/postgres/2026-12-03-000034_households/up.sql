-- Households (户, 一户一档): a household groups members, one of them its head (户主), and has its
-- own passbook account (kind `household`). A community setting says whether deeds credit the
-- member or their household, and whether members may redeem from the household's passbook.
-- Membership is kept as history: moving a member closes one row and opens another, so the
-- household's passbook keeps every line its members brought in.
CREATE TABLE households (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    head_member_id UUID REFERENCES members (id),
    account_id UUID NOT NULL UNIQUE REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT households_name_key UNIQUE (community_id, name)
);
CREATE TABLE household_members (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    household_id UUID NOT NULL REFERENCES households (id),
    member_id UUID NOT NULL REFERENCES members (id),
    joined_at TIMESTAMP NOT NULL,
    left_at TIMESTAMP,
    moved_by UUID REFERENCES users (id)
);
-- A member belongs to one household at a time.
CREATE UNIQUE INDEX household_members_current_key ON household_members (member_id) WHERE left_at IS NULL;
CREATE INDEX household_members_household_idx ON household_members (household_id, joined_at);
CREATE TABLE household_settings (
    community_id UUID PRIMARY KEY REFERENCES communities (id),
    credit_to TEXT NOT NULL CHECK (credit_to IN ('member', 'household')),
    members_redeem INTEGER NOT NULL CHECK (members_redeem IN (0, 1)),
    updated_at TIMESTAMP NOT NULL
);
