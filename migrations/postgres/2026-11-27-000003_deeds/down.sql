DROP TABLE deed_events;
DROP TABLE deeds;
DROP TABLE rule_versions;
DROP TABLE rules;
DROP TABLE community_settings;
