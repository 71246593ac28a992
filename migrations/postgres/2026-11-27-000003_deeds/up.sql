-- The points schedule (积分细则), workflow settings, deeds and their history.

CREATE TABLE community_settings (
    community_id UUID PRIMARY KEY REFERENCES communities (id),
    review_stages INTEGER NOT NULL DEFAULT 1 CHECK (review_stages IN (1, 2)),
    notice_days INTEGER NOT NULL DEFAULT 0 CHECK (notice_days BETWEEN 0 AND 30),
    backdate_days INTEGER NOT NULL DEFAULT 30 CHECK (backdate_days BETWEEN 0 AND 366),
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE rules (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    code TEXT NOT NULL,
    current_version INTEGER NOT NULL CHECK (current_version > 0),
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT rules_code_key UNIQUE (community_id, code)
);

-- Versions are never edited: a change of points (or anything a deed is scored by) is a new row.
CREATE TABLE rule_versions (
    id UUID PRIMARY KEY,
    rule_id UUID NOT NULL REFERENCES rules (id),
    version INTEGER NOT NULL CHECK (version > 0),
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points > 0),
    unit TEXT NOT NULL CHECK (unit IN ('event', 'hour')),
    direction TEXT NOT NULL CHECK (direction IN ('earn', 'deduct')),
    monthly_cap BIGINT CHECK (monthly_cap IS NULL OR monthly_cap > 0),
    per_deed_cap BIGINT CHECK (per_deed_cap IS NULL OR per_deed_cap > 0),
    created_by UUID REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT rule_versions_key UNIQUE (rule_id, version)
);

CREATE TABLE deeds (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    member_id UUID NOT NULL REFERENCES members (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    rule_id UUID NOT NULL REFERENCES rules (id),
    rule_version_id UUID NOT NULL REFERENCES rule_versions (id),
    rule_name TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('earn', 'deduct')),
    -- Quantities in hundredths (1.5 hours is 150), as submitted and as counted after the per-deed cap.
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    counted_quantity BIGINT NOT NULL CHECK (counted_quantity > 0),
    points BIGINT NOT NULL CHECK (points > 0),
    monthly_cap BIGINT,
    occurred_on TEXT NOT NULL,
    description TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'reviewed', 'returned', 'approved', 'rejected', 'withdrawn', 'credited', 'reversed')),
    submitted_by UUID NOT NULL REFERENCES users (id),
    cap_month TEXT,
    notice_ends_at TIMESTAMP,
    applied_points BIGINT,
    credit_journal_id UUID UNIQUE REFERENCES journal (id),
    reversal_journal_id UUID UNIQUE REFERENCES journal (id),
    version BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deeds_status_idx ON deeds (community_id, status, id);
CREATE INDEX deeds_member_idx ON deeds (member_id, id);
CREATE INDEX deeds_cap_idx ON deeds (member_id, rule_id, cap_month);
CREATE INDEX deeds_notice_idx ON deeds (status, notice_ends_at);

CREATE TABLE deed_events (
    id UUID PRIMARY KEY,
    deed_id UUID NOT NULL REFERENCES deeds (id),
    community_id UUID NOT NULL REFERENCES communities (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_id UUID REFERENCES users (id),
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX deed_events_deed_idx ON deed_events (deed_id, id);
