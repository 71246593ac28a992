-- Many communities on one database: usernames are unique within a community, not across all, and
-- platform operators, who create communities, stand outside every community.

-- SQLite keeps a table constraint for the table's life, so `users` is rebuilt with the new key.
-- Foreign keys stay pointed at `users` by name; enforcement is off only while the table is
-- swapped, and the check below proves no reference was broken before the swap commits.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE users_rebuilt (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    member_id TEXT REFERENCES members (id),
    token_version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT users_username_key UNIQUE (community_id, username)
);
INSERT INTO users_rebuilt (id, community_id, username, password_hash, roles, member_id,
        token_version, status, created_at, updated_at)
    SELECT id, community_id, username, password_hash, roles, member_id,
        token_version, status, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE UNIQUE INDEX users_member_key ON users (member_id) WHERE member_id IS NOT NULL;

-- Operators run the platform: they create communities and their first admin and read the
-- platform's health. They are not users of any community and own no passbook.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    token_version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT operators_username_key UNIQUE (username)
);
-- Every reference to a user still finds its user, or the swap fails before it commits.
CREATE TEMP TABLE users_rebuild_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO users_rebuild_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE users_rebuild_check;
COMMIT;
PRAGMA foreign_keys = ON;
