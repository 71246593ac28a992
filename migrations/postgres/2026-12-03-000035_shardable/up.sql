-- A schema a distributed PostgreSQL (Citus) can shard by community, and fewer foreign-key checks
-- on the ledger writer's hot path.
--
-- Reference tables (no community_id, replicated to every node): server_secrets, communities,
-- operators. Every other table is distributed by community_id, which is NOT NULL, and:
--   * every primary key is (id, community_id): community_id second, so a look-up by id alone
--     still uses the key's index;
--   * every unique constraint and unique index (partial ones too) includes community_id;
--   * every foreign key between distributed tables is composite, (x_id, community_id)
--     REFERENCES t (id, community_id), so a row can only point at a row of its own community;
--   * foreign keys to the reference table communities stay; none goes from a reference table to a
--     distributed one.
-- Constraint names are kept: the code maps violations by name (journal_seq_key,
-- postings_account_seq_key, idempotency_keys_user_key, …).
--
-- The two tables that lacked community_id get it from their parent.
--
-- Dropped foreign keys (issue 20 part 4). Each enforced foreign key is an extra query per
-- inserted row (a SELECT … FOR KEY SHARE of the referenced row); a batch of redemptions paid about
-- twenty of them per redemption. On the append-only rows that the ledger writer itself creates in
-- its batch, the enforced keys are dropped and these guards stand in their place:
--   journal.community_id, postings.community_id, idempotency_keys.community_id,
--   redemptions.community_id, redemption_lines.community_id, stock_movements.community_id,
--   receivable_repayments.community_id → communities:
--       the writer writes a community's rows only in the batch that moves that community's chain
--       head (an UPDATE of the communities row guarded by chain_version whose row count is
--       checked) or, for a refused key, for the community of the signed-in user; communities are
--       never deleted. `verify` reports rows of a community that does not exist
--       (`dangling_reference`).
--   journal.actor_id → users; idempotency_keys.user_id → users; redemptions.clerk_id,
--   redemptions.voided_by → users; stock_movements.actor_id → users:
--       the actor is the signed-in user, whose token names the community the command is for;
--       users are disabled, never deleted (the service deletes no row of any table). `verify`
--       checks each names a user of the same community.
--   postings.journal_id, idempotency_keys.journal_id, redemptions.journal_id,
--   redemptions.void_journal_id, receivable_repayments.journal_id → journal:
--       the writer inserts the journal row in the same statement as the rows that name it
--       (`Batch::post`); `verify` checks each names a transaction of the same community, and
--       every posting is reached from its transaction (an orphan posting is a problem).
--   postings.account_id, redemptions.account_id → accounts:
--       the writer moves every account it posts to with an UPDATE guarded by the version it read
--       (row count checked), in the same statement; `verify` checks every posting's account is an
--       account of the same community.
--   redemptions.member_id → members: taken from the account's row the writer read; checked by
--       `verify`.
--   redemption_lines.redemption_id → redemptions: inserted in the same statement;
--   redemption_lines.goods_id, stock_movements.goods_id → goods: the writer moves the goods' stock
--       with an UPDATE guarded by version in the same statement; both checked by `verify`.
--   receivable_repayments.receivable_id → receivables, receivable_repayments.paid_by_deed_id →
--       deeds: the receivable is updated under its version guard and the deed is inserted or
--       updated in the same statement; both checked by `verify`.
-- Every other foreign key stays enforced (composite). Unique keys stay enforced everywhere: they
-- are what makes a retry or a second instance safe.

-- The columns the distribution needs.
ALTER TABLE redemption_lines ADD COLUMN community_id UUID;
UPDATE redemption_lines AS l SET community_id = r.community_id
    FROM redemptions AS r WHERE r.id = l.redemption_id;
ALTER TABLE redemption_lines ALTER COLUMN community_id SET NOT NULL;
ALTER TABLE rule_versions ADD COLUMN community_id UUID;
UPDATE rule_versions AS v SET community_id = r.community_id
    FROM rules AS r WHERE r.id = v.rule_id;
ALTER TABLE rule_versions ALTER COLUMN community_id SET NOT NULL;
ALTER TABLE rule_versions ADD CONSTRAINT rule_versions_community_id_fkey
    FOREIGN KEY (community_id) REFERENCES communities (id);

-- Every foreign key between distributed tables goes first (the keys they lean on change),
-- with the community keys of the writer's append-only rows.
ALTER TABLE accounts DROP CONSTRAINT accounts_member_id_fkey;
ALTER TABLE deed_events DROP CONSTRAINT deed_events_actor_id_fkey;
ALTER TABLE deed_events DROP CONSTRAINT deed_events_deed_id_fkey;
ALTER TABLE deed_objections DROP CONSTRAINT deed_objections_deed_id_fkey;
ALTER TABLE deed_objections DROP CONSTRAINT deed_objections_raised_by_fkey;
ALTER TABLE deed_objections DROP CONSTRAINT deed_objections_ruled_by_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_account_id_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_credit_journal_id_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_first_checked_by_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_member_id_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_reversal_journal_id_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_rule_id_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_rule_version_id_fkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_submitted_by_fkey;
ALTER TABLE fund_grants DROP CONSTRAINT fund_grants_account_id_fkey;
ALTER TABLE fund_grants DROP CONSTRAINT fund_grants_decided_by_fkey;
ALTER TABLE fund_grants DROP CONSTRAINT fund_grants_journal_id_fkey;
ALTER TABLE fund_grants DROP CONSTRAINT fund_grants_member_id_fkey;
ALTER TABLE fund_grants DROP CONSTRAINT fund_grants_proposed_by_fkey;
ALTER TABLE household_members DROP CONSTRAINT household_members_household_id_fkey;
ALTER TABLE household_members DROP CONSTRAINT household_members_member_id_fkey;
ALTER TABLE household_members DROP CONSTRAINT household_members_moved_by_fkey;
ALTER TABLE households DROP CONSTRAINT households_account_id_fkey;
ALTER TABLE households DROP CONSTRAINT households_head_member_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_community_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_journal_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_user_id_fkey;
ALTER TABLE journal DROP CONSTRAINT journal_actor_id_fkey;
ALTER TABLE journal DROP CONSTRAINT journal_community_id_fkey;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_goods_id_fkey;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_account_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_created_by_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_end_journal_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_ended_by_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_hold_journal_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_member_id_fkey;
ALTER TABLE password_resets DROP CONSTRAINT password_resets_reset_by_fkey;
ALTER TABLE password_resets DROP CONSTRAINT password_resets_user_id_fkey;
ALTER TABLE postings DROP CONSTRAINT postings_account_id_fkey;
ALTER TABLE postings DROP CONSTRAINT postings_community_id_fkey;
ALTER TABLE postings DROP CONSTRAINT postings_journal_id_fkey;
ALTER TABLE receivable_repayments DROP CONSTRAINT receivable_repayments_community_id_fkey;
ALTER TABLE receivable_repayments DROP CONSTRAINT receivable_repayments_journal_id_fkey;
ALTER TABLE receivable_repayments DROP CONSTRAINT receivable_repayments_paid_by_deed_id_fkey;
ALTER TABLE receivable_repayments DROP CONSTRAINT receivable_repayments_receivable_id_fkey;
ALTER TABLE receivables DROP CONSTRAINT receivables_account_id_fkey;
ALTER TABLE receivables DROP CONSTRAINT receivables_deed_id_fkey;
ALTER TABLE receivables DROP CONSTRAINT receivables_member_id_fkey;
ALTER TABLE receivables DROP CONSTRAINT receivables_reversal_journal_id_fkey;
ALTER TABLE redemption_lines DROP CONSTRAINT redemption_lines_goods_id_fkey;
ALTER TABLE redemption_lines DROP CONSTRAINT redemption_lines_redemption_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_account_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_clerk_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_community_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_journal_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_member_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_void_journal_id_fkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_voided_by_fkey;
ALTER TABLE roster_imports DROP CONSTRAINT roster_imports_user_id_fkey;
ALTER TABLE rule_versions DROP CONSTRAINT rule_versions_created_by_fkey;
ALTER TABLE rule_versions DROP CONSTRAINT rule_versions_rule_id_fkey;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_actor_id_fkey;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_community_id_fkey;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_goods_id_fkey;
ALTER TABLE users DROP CONSTRAINT users_member_id_fkey;

-- Keys without community_id.
ALTER TABLE accounts DROP CONSTRAINT accounts_member_id_key;
ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;
ALTER TABLE deed_events DROP CONSTRAINT deed_events_pkey;
ALTER TABLE deed_objections DROP CONSTRAINT deed_objections_pkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_credit_journal_id_key;
ALTER TABLE deeds DROP CONSTRAINT deeds_pkey;
ALTER TABLE deeds DROP CONSTRAINT deeds_reversal_journal_id_key;
ALTER TABLE fund_grants DROP CONSTRAINT fund_grants_pkey;
ALTER TABLE goods DROP CONSTRAINT goods_pkey;
ALTER TABLE household_members DROP CONSTRAINT household_members_pkey;
ALTER TABLE households DROP CONSTRAINT households_account_id_key;
ALTER TABLE households DROP CONSTRAINT households_pkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_user_key;
ALTER TABLE journal DROP CONSTRAINT journal_pkey;
ALTER TABLE members DROP CONSTRAINT members_pkey;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_line_key;
ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey;
ALTER TABLE orders DROP CONSTRAINT orders_pkey;
ALTER TABLE password_resets DROP CONSTRAINT password_resets_pkey;
ALTER TABLE postings DROP CONSTRAINT postings_account_seq_key;
ALTER TABLE postings DROP CONSTRAINT postings_pkey;
ALTER TABLE receivable_repayments DROP CONSTRAINT receivable_repayments_once;
ALTER TABLE receivable_repayments DROP CONSTRAINT receivable_repayments_pkey;
ALTER TABLE receivables DROP CONSTRAINT receivables_pkey;
ALTER TABLE redemption_lines DROP CONSTRAINT redemption_lines_no_key;
ALTER TABLE redemption_lines DROP CONSTRAINT redemption_lines_pkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_journal_id_key;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_pkey;
ALTER TABLE redemptions DROP CONSTRAINT redemptions_void_journal_id_key;
ALTER TABLE roster_imports DROP CONSTRAINT roster_imports_pkey;
ALTER TABLE rule_versions DROP CONSTRAINT rule_versions_key;
ALTER TABLE rule_versions DROP CONSTRAINT rule_versions_pkey;
ALTER TABLE rules DROP CONSTRAINT rules_pkey;
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_pkey;
ALTER TABLE users DROP CONSTRAINT users_pkey;
DROP INDEX household_members_current_key;
DROP INDEX users_member_key;

-- The same keys with community_id (second in a primary key).
ALTER TABLE accounts ADD CONSTRAINT accounts_member_id_key UNIQUE (member_id, community_id);
ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id, community_id);
ALTER TABLE deed_events ADD CONSTRAINT deed_events_pkey PRIMARY KEY (id, community_id);
ALTER TABLE deed_objections ADD CONSTRAINT deed_objections_pkey PRIMARY KEY (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_credit_journal_id_key UNIQUE (credit_journal_id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_pkey PRIMARY KEY (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_reversal_journal_id_key UNIQUE (reversal_journal_id, community_id);
ALTER TABLE fund_grants ADD CONSTRAINT fund_grants_pkey PRIMARY KEY (id, community_id);
ALTER TABLE goods ADD CONSTRAINT goods_pkey PRIMARY KEY (id, community_id);
ALTER TABLE household_members ADD CONSTRAINT household_members_pkey PRIMARY KEY (id, community_id);
ALTER TABLE households ADD CONSTRAINT households_account_id_key UNIQUE (account_id, community_id);
ALTER TABLE households ADD CONSTRAINT households_pkey PRIMARY KEY (id, community_id);
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (id, community_id);
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_user_key UNIQUE (user_id, idem_key, community_id);
ALTER TABLE journal ADD CONSTRAINT journal_pkey PRIMARY KEY (id, community_id);
ALTER TABLE members ADD CONSTRAINT members_pkey PRIMARY KEY (id, community_id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_line_key UNIQUE (order_id, line_no, community_id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id, community_id);
ALTER TABLE password_resets ADD CONSTRAINT password_resets_pkey PRIMARY KEY (id, community_id);
ALTER TABLE postings ADD CONSTRAINT postings_account_seq_key UNIQUE (account_id, account_seq, community_id);
ALTER TABLE postings ADD CONSTRAINT postings_pkey PRIMARY KEY (id, community_id);
ALTER TABLE receivable_repayments ADD CONSTRAINT receivable_repayments_once UNIQUE (receivable_id, paid_by_deed_id, community_id);
ALTER TABLE receivable_repayments ADD CONSTRAINT receivable_repayments_pkey PRIMARY KEY (id, community_id);
ALTER TABLE receivables ADD CONSTRAINT receivables_pkey PRIMARY KEY (id, community_id);
ALTER TABLE redemption_lines ADD CONSTRAINT redemption_lines_no_key UNIQUE (redemption_id, line_no, community_id);
ALTER TABLE redemption_lines ADD CONSTRAINT redemption_lines_pkey PRIMARY KEY (id, community_id);
ALTER TABLE redemptions ADD CONSTRAINT redemptions_journal_id_key UNIQUE (journal_id, community_id);
ALTER TABLE redemptions ADD CONSTRAINT redemptions_pkey PRIMARY KEY (id, community_id);
ALTER TABLE redemptions ADD CONSTRAINT redemptions_void_journal_id_key UNIQUE (void_journal_id, community_id);
ALTER TABLE roster_imports ADD CONSTRAINT roster_imports_pkey PRIMARY KEY (id, community_id);
ALTER TABLE rule_versions ADD CONSTRAINT rule_versions_key UNIQUE (rule_id, version, community_id);
ALTER TABLE rule_versions ADD CONSTRAINT rule_versions_pkey PRIMARY KEY (id, community_id);
ALTER TABLE rules ADD CONSTRAINT rules_pkey PRIMARY KEY (id, community_id);
ALTER TABLE stock_movements ADD CONSTRAINT stock_movements_pkey PRIMARY KEY (id, community_id);
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id, community_id);
CREATE UNIQUE INDEX household_members_current_key ON household_members (member_id, community_id) WHERE (left_at IS NULL);
CREATE UNIQUE INDEX users_member_key ON users (member_id, community_id) WHERE ((member_id IS NOT NULL) AND (status = 'active'::text));

-- Composite foreign keys, except on the writer's append-only rows (see above).
ALTER TABLE accounts ADD CONSTRAINT accounts_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE deed_events ADD CONSTRAINT deed_events_actor_id_fkey FOREIGN KEY (actor_id, community_id) REFERENCES users (id, community_id);
ALTER TABLE deed_events ADD CONSTRAINT deed_events_deed_id_fkey FOREIGN KEY (deed_id, community_id) REFERENCES deeds (id, community_id);
ALTER TABLE deed_objections ADD CONSTRAINT deed_objections_deed_id_fkey FOREIGN KEY (deed_id, community_id) REFERENCES deeds (id, community_id);
ALTER TABLE deed_objections ADD CONSTRAINT deed_objections_raised_by_fkey FOREIGN KEY (raised_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE deed_objections ADD CONSTRAINT deed_objections_ruled_by_fkey FOREIGN KEY (ruled_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_account_id_fkey FOREIGN KEY (account_id, community_id) REFERENCES accounts (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_credit_journal_id_fkey FOREIGN KEY (credit_journal_id, community_id) REFERENCES journal (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_first_checked_by_fkey FOREIGN KEY (first_checked_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_reversal_journal_id_fkey FOREIGN KEY (reversal_journal_id, community_id) REFERENCES journal (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_rule_id_fkey FOREIGN KEY (rule_id, community_id) REFERENCES rules (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_rule_version_id_fkey FOREIGN KEY (rule_version_id, community_id) REFERENCES rule_versions (id, community_id);
ALTER TABLE deeds ADD CONSTRAINT deeds_submitted_by_fkey FOREIGN KEY (submitted_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE fund_grants ADD CONSTRAINT fund_grants_account_id_fkey FOREIGN KEY (account_id, community_id) REFERENCES accounts (id, community_id);
ALTER TABLE fund_grants ADD CONSTRAINT fund_grants_decided_by_fkey FOREIGN KEY (decided_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE fund_grants ADD CONSTRAINT fund_grants_journal_id_fkey FOREIGN KEY (journal_id, community_id) REFERENCES journal (id, community_id);
ALTER TABLE fund_grants ADD CONSTRAINT fund_grants_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE fund_grants ADD CONSTRAINT fund_grants_proposed_by_fkey FOREIGN KEY (proposed_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE household_members ADD CONSTRAINT household_members_household_id_fkey FOREIGN KEY (household_id, community_id) REFERENCES households (id, community_id);
ALTER TABLE household_members ADD CONSTRAINT household_members_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE household_members ADD CONSTRAINT household_members_moved_by_fkey FOREIGN KEY (moved_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE households ADD CONSTRAINT households_account_id_fkey FOREIGN KEY (account_id, community_id) REFERENCES accounts (id, community_id);
ALTER TABLE households ADD CONSTRAINT households_head_member_id_fkey FOREIGN KEY (head_member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_goods_id_fkey FOREIGN KEY (goods_id, community_id) REFERENCES goods (id, community_id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id, community_id) REFERENCES orders (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey FOREIGN KEY (account_id, community_id) REFERENCES accounts (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_created_by_fkey FOREIGN KEY (created_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_end_journal_id_fkey FOREIGN KEY (end_journal_id, community_id) REFERENCES journal (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_ended_by_fkey FOREIGN KEY (ended_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_hold_journal_id_fkey FOREIGN KEY (hold_journal_id, community_id) REFERENCES journal (id, community_id);
ALTER TABLE orders ADD CONSTRAINT orders_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE password_resets ADD CONSTRAINT password_resets_reset_by_fkey FOREIGN KEY (reset_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE password_resets ADD CONSTRAINT password_resets_user_id_fkey FOREIGN KEY (user_id, community_id) REFERENCES users (id, community_id);
ALTER TABLE receivables ADD CONSTRAINT receivables_account_id_fkey FOREIGN KEY (account_id, community_id) REFERENCES accounts (id, community_id);
ALTER TABLE receivables ADD CONSTRAINT receivables_deed_id_fkey FOREIGN KEY (deed_id, community_id) REFERENCES deeds (id, community_id);
ALTER TABLE receivables ADD CONSTRAINT receivables_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);
ALTER TABLE receivables ADD CONSTRAINT receivables_reversal_journal_id_fkey FOREIGN KEY (reversal_journal_id, community_id) REFERENCES journal (id, community_id);
ALTER TABLE roster_imports ADD CONSTRAINT roster_imports_user_id_fkey FOREIGN KEY (user_id, community_id) REFERENCES users (id, community_id);
ALTER TABLE rule_versions ADD CONSTRAINT rule_versions_created_by_fkey FOREIGN KEY (created_by, community_id) REFERENCES users (id, community_id);
ALTER TABLE rule_versions ADD CONSTRAINT rule_versions_rule_id_fkey FOREIGN KEY (rule_id, community_id) REFERENCES rules (id, community_id);
ALTER TABLE users ADD CONSTRAINT users_member_id_fkey FOREIGN KEY (member_id, community_id) REFERENCES members (id, community_id);

-- A secondary index no query uses: receipt lines are always reached through their redemption
-- (redemption_lines_no_key), never by goods alone. One B-tree insert less per line.
DROP INDEX redemption_lines_goods_idx;
