-- Objections to a deed on public notice (公示异议) are recorded and ruled on by an admin, instead
-- of sending the deed back at once. While an objection is open the deed stays on notice but is
-- not credited; upheld, the deed goes back to review; dismissed (with a reason), the notice runs on.
CREATE TABLE deed_objections (
    id UUID PRIMARY KEY,
    deed_id UUID NOT NULL REFERENCES deeds (id),
    community_id UUID NOT NULL REFERENCES communities (id),
    raised_by UUID NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    raised_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'dismissed')),
    ruled_by UUID REFERENCES users (id),
    ruling_reason TEXT,
    ruled_at TIMESTAMP,
    CHECK ((status = 'open') = (ruled_by IS NULL AND ruled_at IS NULL))
);
CREATE INDEX deed_objections_deed_idx ON deed_objections (deed_id, id);
CREATE INDEX deed_objections_open_idx ON deed_objections (community_id, status);
