-- Coins that expire (清零): per community, none (the default, no row), at the start of each local
-- year (year_end: coins earned before 1 January), or N months after the month they were earned
-- (months). notice_days says how long before a resident is told. Expiry itself is a journal
-- transaction of kind `expiry` (member −x, the community's `expired` account +x) whose reference
-- is derived from the account and the cutoff, so the journal's unique reference index keeps it
-- exactly once. The `expired` accounts of existing communities are created at start-up (ids are
-- UUIDv7, which SQL cannot make here).
CREATE TABLE expiry_settings (
    community_id UUID PRIMARY KEY REFERENCES communities (id),
    mode TEXT NOT NULL CHECK (mode IN ('none', 'year_end', 'months')),
    months INTEGER CHECK (months BETWEEN 1 AND 120),
    notice_days INTEGER NOT NULL CHECK (notice_days BETWEEN 0 AND 90),
    -- When mode or months last changed: an expiry due on or before that local day is not run,
    -- so turning the rule on never expires coins nobody was warned about.
    since TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT expiry_settings_months CHECK ((mode = 'months') = (months IS NOT NULL))
);
