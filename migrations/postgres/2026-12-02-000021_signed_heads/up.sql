-- Signed ledger heads: each community's Ed25519 key (its public half is published) and every head
-- the service signed with it: (tree size, Merkle root, time, signature). Heads are append-only:
-- a head once handed out (printed on a receipt, kept by the township) is never taken back.
CREATE TABLE community_keys (
    community_id UUID NOT NULL,
    key_id TEXT NOT NULL CHECK (length(key_id) = 16),
    public_key TEXT NOT NULL CHECK (length(public_key) = 64),
    secret_key TEXT NOT NULL CHECK (length(secret_key) = 64),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (community_id, key_id)
);
CREATE TABLE ledger_heads (
    community_id UUID NOT NULL,
    id UUID NOT NULL,
    tree_size BIGINT NOT NULL CHECK (tree_size >= 0),
    root_hash TEXT NOT NULL CHECK (length(root_hash) = 64),
    signed_at TIMESTAMP NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL CHECK (length(signature) = 128),
    PRIMARY KEY (community_id, id)
);
CREATE INDEX ledger_heads_newest_idx ON ledger_heads (community_id, signed_at);
CREATE TRIGGER ledger_heads_append_only BEFORE UPDATE OR DELETE ON ledger_heads
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
