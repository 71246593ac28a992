-- Reserved orders with a pickup code: the coins move from the passbook to the community's `holds`
-- account and the goods leave the shelf when the order is placed (two-phase, as pending
-- transfers); at the counter the code collects them (holds → shop, a redemption and its receipt),
-- or the order is cancelled or expires (holds → passbook, the goods back). An order ends exactly
-- once: its end is written only while it is still `held`.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    community_id TEXT NOT NULL REFERENCES communities (id),
    member_id TEXT NOT NULL REFERENCES members (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    pickup_code TEXT NOT NULL CHECK (length(pickup_code) = 6),
    status TEXT NOT NULL CHECK (status IN ('held', 'collected', 'cancelled', 'expired')),
    total BIGINT NOT NULL CHECK (total > 0),
    -- The community-local month it was placed in: an open order counts against monthly limits.
    local_month TEXT NOT NULL,
    hold_journal_id TEXT NOT NULL REFERENCES journal (id),
    end_journal_id TEXT REFERENCES journal (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    ended_by TEXT REFERENCES users (id),
    end_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    CONSTRAINT orders_end_complete CHECK ((status = 'held') = (end_journal_id IS NULL AND ended_at IS NULL))
);
-- A code names one open order of the community; an ended order's code may come round again.
CREATE UNIQUE INDEX orders_open_code_key ON orders (community_id, pickup_code) WHERE status = 'held';
CREATE INDEX orders_due_idx ON orders (expires_at) WHERE status = 'held';
CREATE INDEX orders_member_idx ON orders (member_id, created_at);
CREATE TABLE order_lines (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    community_id TEXT NOT NULL REFERENCES communities (id),
    goods_id TEXT NOT NULL REFERENCES goods (id),
    line_no INTEGER NOT NULL CHECK (line_no > 0),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL CHECK (unit_price > 0),
    line_total BIGINT NOT NULL CHECK (line_total = quantity * unit_price),
    CONSTRAINT order_lines_line_key UNIQUE (order_id, line_no)
);
CREATE INDEX order_lines_goods_idx ON order_lines (goods_id);
-- How long the goods wait for the resident (hours); 72 unless the committee says otherwise.
CREATE TABLE order_settings (
    community_id TEXT PRIMARY KEY REFERENCES communities (id),
    hold_hours INTEGER NOT NULL CHECK (hold_hours BETWEEN 1 AND 720),
    updated_at TIMESTAMP NOT NULL
);
-- Every community holds reserved coins in one `holds` account.
INSERT INTO accounts (id, community_id, kind, member_id, balance, last_seq, version, status, created_at, credits_total)
SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-' || substr(h, 21, 12)),
       c.id, 'holds', NULL, 0, 0, 0, 'active', CURRENT_TIMESTAMP, 0
FROM (SELECT id, hex(randomblob(16)) AS h FROM communities) AS c
WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.community_id = c.id AND a.kind = 'holds');
