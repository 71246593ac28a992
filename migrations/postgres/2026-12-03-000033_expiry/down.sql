-- The expired accounts go with expiry (possible only while no coin has expired: postings keep them).
DELETE FROM accounts WHERE kind = 'expired';
DROP TABLE expiry_settings;
