DROP TABLE expiry_settings;
