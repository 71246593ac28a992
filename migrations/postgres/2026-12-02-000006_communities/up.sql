-- Many communities on one database: usernames are unique within a community, not across all, and
-- platform operators, who create communities, stand outside every community.
ALTER TABLE users DROP CONSTRAINT users_username_key;
ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (community_id, username);

-- Operators run the platform: they create communities and their first admin and read the
-- platform's health. They are not users of any community and own no passbook.
CREATE TABLE operators (
    id UUID PRIMARY KEY,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    token_version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT operators_username_key UNIQUE (username)
);
