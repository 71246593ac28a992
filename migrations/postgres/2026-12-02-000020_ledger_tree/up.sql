-- The Merkle tree over each community's journal (RFC 9162), kept as its perfect subtrees: the
-- subtree of height `height` and index `idx` covers the transactions with journal seq
-- idx·2^height + 1 … (idx+1)·2^height. The writer appends each one, once, in the batch that
-- appends its last transaction; nothing is ever rewritten. `moralbank verify` rebuilds the tree
-- from the journal and compares every row. No foreign key: only the writer inserts here, and
-- verify checks every row against the journal it must match.
CREATE TABLE ledger_tree (
    community_id UUID NOT NULL,
    height INTEGER NOT NULL CHECK (height BETWEEN 0 AND 62),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    hash TEXT NOT NULL CHECK (length(hash) = 64),
    PRIMARY KEY (community_id, height, idx)
);
CREATE TRIGGER ledger_tree_append_only BEFORE UPDATE OR DELETE ON ledger_tree
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
