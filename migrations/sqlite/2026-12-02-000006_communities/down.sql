PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE operators;
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
    CONSTRAINT users_username_key UNIQUE (username)
);
INSERT INTO users_rebuilt SELECT id, community_id, username, password_hash, roles, member_id,
    token_version, status, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE UNIQUE INDEX users_member_key ON users (member_id) WHERE member_id IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
