-- Staff are shown by the name people know them by (the passbook's 经办人), not by their login.
-- NULL for every existing user: they are shown by their member's name, else their username,
-- until an admin gives them one. Only an ALTER, so it applies after any earlier rebuild of `users`.
ALTER TABLE users ADD COLUMN display_name TEXT CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 40);
