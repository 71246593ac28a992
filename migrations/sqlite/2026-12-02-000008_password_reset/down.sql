-- Fails while a member has more than one login (one active, others disabled): disable or
-- unlink those first; the old index allowed one login per member whatever its status.
DROP INDEX users_member_key;
CREATE UNIQUE INDEX users_member_key ON users (member_id) WHERE member_id IS NOT NULL;
DROP TABLE password_resets;
ALTER TABLE users DROP COLUMN temporary_password_expires_at;
ALTER TABLE users DROP COLUMN password_change_required;
