-- The points shop (积分超市): goods with stock, every stock change logged, redemptions and their lines.

CREATE TABLE goods (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price > 0),
    -- Invariant 4: stock never goes negative, whatever the application does.
    stock BIGINT NOT NULL CONSTRAINT goods_stock_non_negative CHECK (stock >= 0),
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    monthly_limit BIGINT CHECK (monthly_limit IS NULL OR monthly_limit > 0),
    version BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT goods_sku_key UNIQUE (community_id, sku)
);

CREATE TABLE stock_movements (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    goods_id UUID NOT NULL REFERENCES goods (id),
    kind TEXT NOT NULL CHECK (kind IN ('initial', 'restock', 'redemption', 'void')),
    quantity BIGINT NOT NULL,
    stock_after BIGINT NOT NULL CHECK (stock_after >= 0),
    reference_id UUID,
    reason TEXT NOT NULL,
    actor_id UUID REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stock_movements_goods_idx ON stock_movements (goods_id, id);

CREATE TABLE redemptions (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    member_id UUID NOT NULL REFERENCES members (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    member_no TEXT NOT NULL,
    member_name TEXT NOT NULL,
    clerk_id UUID NOT NULL REFERENCES users (id),
    clerk_username TEXT NOT NULL,
    total BIGINT NOT NULL CHECK (total > 0),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    status TEXT NOT NULL CHECK (status IN ('completed', 'voided')),
    local_day TEXT NOT NULL,
    local_month TEXT NOT NULL,
    journal_id UUID NOT NULL UNIQUE REFERENCES journal (id),
    created_at TIMESTAMP NOT NULL,
    void_journal_id UUID UNIQUE REFERENCES journal (id),
    voided_at TIMESTAMP,
    voided_by UUID REFERENCES users (id),
    void_reason TEXT,
    CONSTRAINT redemptions_void_complete CHECK ((status = 'voided') = (void_journal_id IS NOT NULL))
);
CREATE INDEX redemptions_day_idx ON redemptions (community_id, local_day, id);
CREATE INDEX redemptions_member_idx ON redemptions (member_id, local_month, id);

CREATE TABLE redemption_lines (
    id UUID PRIMARY KEY,
    redemption_id UUID NOT NULL REFERENCES redemptions (id),
    goods_id UUID NOT NULL REFERENCES goods (id),
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL CHECK (unit_price > 0),
    line_total BIGINT NOT NULL CHECK (line_total = quantity * unit_price),
    CONSTRAINT redemption_lines_no_key UNIQUE (redemption_id, line_no)
);
CREATE INDEX redemption_lines_goods_idx ON redemption_lines (goods_id);
