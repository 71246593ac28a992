ALTER TABLE rule_versions DROP COLUMN community_id;
ALTER TABLE redemption_lines DROP COLUMN community_id;
