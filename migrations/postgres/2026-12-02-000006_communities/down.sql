DROP TABLE operators;
ALTER TABLE users DROP CONSTRAINT users_username_key;
ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username);
