-- Password reset: an admin gives a user a temporary password that must be changed at the next
-- login, every reset is recorded, and a member whose login was disabled can be given a new one.
-- Only ALTERs and new tables, so that it applies after any rebuild of `users` by an earlier
-- migration.

-- Set by a reset, cleared by the user's own password change. While it is set the user's tokens
-- admit only GET /me, POST /me/password and POST /auth/logout.
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT 0 CHECK (password_change_required IN (0, 1));
-- When the temporary password stops working; NULL for a password the user chose.
ALTER TABLE users ADD COLUMN temporary_password_expires_at TIMESTAMP;

-- Who reset whose password, and when. The temporary password itself is never stored in clear.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    -- NULL: reset on the server's command line (`moralbank user reset-password`), as for a
    -- community whose only admin forgot the password.
    reset_by TEXT REFERENCES users (id),
    reset_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK (expires_at > reset_at)
);
CREATE INDEX password_resets_user_idx ON password_resets (community_id, user_id, reset_at);

-- A member has at most one ACTIVE login; disabled ones stay for the history (journal actors,
-- deed events) and no longer stand in the way of a new login.
DROP INDEX users_member_key;
CREATE UNIQUE INDEX users_member_key ON users (member_id)
    WHERE member_id IS NOT NULL AND status = 'active';
