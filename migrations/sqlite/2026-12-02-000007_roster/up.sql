-- The roster (花名册): what a committee keeps about a resident besides the name, and the record of
-- each roster import (so a retried import is recognised by its Idempotency-Key).
--
-- The ID-card number is never stored: only its last four characters, enough to tell two 王芳 apart.

ALTER TABLE members ADD COLUMN phone TEXT CHECK (phone IS NULL OR length(phone) BETWEEN 11 AND 13);
ALTER TABLE members ADD COLUMN building TEXT;
ALTER TABLE members ADD COLUMN unit TEXT;
ALTER TABLE members ADD COLUMN room TEXT;
-- Free text, for villages without buildings (e.g. 李家村二组15号).
ALTER TABLE members ADD COLUMN address TEXT;
-- The address as one line for search and display: address, then 3栋2单元501.
ALTER TABLE members ADD COLUMN address_line TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN id_last4 TEXT CHECK (id_last4 IS NULL OR length(id_last4) = 4);
-- 居民小组 / 网格.
ALTER TABLE members ADD COLUMN member_group TEXT;
-- The community's local date, YYYY-MM-DD.
ALTER TABLE members ADD COLUMN joined_on TEXT NOT NULL DEFAULT '1970-01-01';
ALTER TABLE members ADD COLUMN note TEXT;

UPDATE members SET joined_on = date(created_at, (
    SELECT c.utc_offset_minutes FROM communities c WHERE c.id = members.community_id
) || ' minutes');

-- A phone, when given, is one member's in the community.
CREATE UNIQUE INDEX members_phone_key ON members (community_id, phone) WHERE phone IS NOT NULL;
-- Namesakes are counted per name.
CREATE INDEX members_name_idx ON members (community_id, name);

CREATE TABLE roster_imports (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    rows_created INTEGER NOT NULL CHECK (rows_created >= 0),
    -- The answer as first sent (JSON), returned again to a retry.
    summary TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT roster_imports_user_key UNIQUE (community_id, user_id, idem_key)
);
