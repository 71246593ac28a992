-- Fraud found after the coins were spent: reversing a credited deed takes what the balance holds
-- now, and what is still owed is a receivable on the member, taken from their next deed credits
-- (oldest receivable first). A receivable's outstanding amount only ever falls; every repayment
-- is a journal transaction of kind `clawback` referencing its repayment row (exactly once per
-- receivable and paying deed).
CREATE TABLE receivables (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    member_id UUID NOT NULL REFERENCES members (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    deed_id UUID NOT NULL REFERENCES deeds (id),
    reversal_journal_id UUID REFERENCES journal (id),
    what TEXT NOT NULL,
    owed BIGINT NOT NULL CHECK (owed > 0),
    outstanding BIGINT NOT NULL CHECK (outstanding >= 0 AND outstanding <= owed),
    version BIGINT NOT NULL CHECK (version > 0),
    created_at TIMESTAMP NOT NULL,
    settled_at TIMESTAMP,
    CONSTRAINT receivables_settled CHECK ((outstanding = 0) = (settled_at IS NOT NULL)),
    CONSTRAINT receivables_deed_key UNIQUE (community_id, deed_id)
);
CREATE INDEX receivables_open_idx ON receivables (account_id, created_at) WHERE outstanding > 0;
CREATE TABLE receivable_repayments (
    id UUID PRIMARY KEY,
    community_id UUID NOT NULL REFERENCES communities (id),
    receivable_id UUID NOT NULL REFERENCES receivables (id),
    journal_id UUID NOT NULL REFERENCES journal (id),
    paid_by_deed_id UUID NOT NULL REFERENCES deeds (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    outstanding_after BIGINT NOT NULL CHECK (outstanding_after >= 0),
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT receivable_repayments_once UNIQUE (receivable_id, paid_by_deed_id)
);
CREATE INDEX receivable_repayments_receivable_idx ON receivable_repayments (receivable_id);
CREATE TRIGGER receivable_repayments_append_only BEFORE UPDATE OR DELETE ON receivable_repayments
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
