//! The one schema both backends share. Ids are `PortableUuid`; times are UTC `Timestamp`;
//! amounts are `BigInt` hundredths of a point.

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    communities (id) {
        id -> PortableUuid,
        code -> Text,
        name -> Text,
        utc_offset_minutes -> Integer,
        chain_seq -> BigInt,
        chain_hash -> Text,
        chain_version -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    operators (id) {
        id -> PortableUuid,
        username -> Text,
        password_hash -> Text,
        token_version -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    member_no_counters (community_id) {
        community_id -> PortableUuid,
        last_value -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    members (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        member_no -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamp,
        phone -> Nullable<Text>,
        building -> Nullable<Text>,
        unit -> Nullable<Text>,
        room -> Nullable<Text>,
        address -> Nullable<Text>,
        address_line -> Text,
        id_last4 -> Nullable<Text>,
        member_group -> Nullable<Text>,
        joined_on -> Text,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    roster_imports (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        user_id -> PortableUuid,
        idem_key -> Text,
        request_hash -> Text,
        rows_created -> Integer,
        summary -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    accounts (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        kind -> Text,
        member_id -> Nullable<PortableUuid>,
        balance -> BigInt,
        last_seq -> BigInt,
        version -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        credits_total -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    users (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        username -> Text,
        password_hash -> Text,
        roles -> Text,
        member_id -> Nullable<PortableUuid>,
        token_version -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_change_required -> Bool,
        temporary_password_expires_at -> Nullable<Timestamp>,
        display_name -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    password_resets (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        user_id -> PortableUuid,
        reset_by -> Nullable<PortableUuid>,
        reset_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    journal (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        seq -> BigInt,
        kind -> Text,
        reference_id -> Nullable<PortableUuid>,
        memo -> Text,
        actor_id -> Nullable<PortableUuid>,
        created_at -> Timestamp,
        prev_hash -> Text,
        hash -> Text,
        hash_version -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    postings (id) {
        id -> PortableUuid,
        journal_id -> PortableUuid,
        community_id -> PortableUuid,
        account_id -> PortableUuid,
        account_seq -> BigInt,
        amount -> BigInt,
        balance_after -> BigInt,
        posted_at -> Timestamp,
        credits_after -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    idempotency_keys (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        user_id -> PortableUuid,
        idem_key -> Text,
        request_hash -> Text,
        journal_id -> Nullable<PortableUuid>,
        created_at -> Timestamp,
        refusal -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    goods (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        sku -> Text,
        name -> Text,
        price -> BigInt,
        stock -> BigInt,
        status -> Text,
        monthly_limit -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    stock_movements (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        goods_id -> PortableUuid,
        kind -> Text,
        quantity -> BigInt,
        stock_after -> BigInt,
        reference_id -> Nullable<PortableUuid>,
        reason -> Text,
        actor_id -> Nullable<PortableUuid>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    redemptions (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        member_id -> PortableUuid,
        account_id -> PortableUuid,
        member_no -> Text,
        member_name -> Text,
        clerk_id -> PortableUuid,
        clerk_username -> Text,
        total -> BigInt,
        balance_after -> BigInt,
        status -> Text,
        local_day -> Text,
        local_month -> Text,
        journal_id -> PortableUuid,
        created_at -> Timestamp,
        void_journal_id -> Nullable<PortableUuid>,
        voided_at -> Nullable<Timestamp>,
        voided_by -> Nullable<PortableUuid>,
        void_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    redemption_lines (id) {
        id -> PortableUuid,
        redemption_id -> PortableUuid,
        goods_id -> PortableUuid,
        line_no -> Integer,
        sku -> Text,
        name -> Text,
        quantity -> BigInt,
        unit_price -> BigInt,
        line_total -> BigInt,
        community_id -> PortableUuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    expiry_settings (community_id) {
        community_id -> PortableUuid,
        mode -> Text,
        months -> Nullable<Integer>,
        notice_days -> Integer,
        since -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    community_settings (community_id) {
        community_id -> PortableUuid,
        review_stages -> Integer,
        notice_days -> Integer,
        backdate_days -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    rules (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        code -> Text,
        current_version -> Integer,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    rule_versions (id) {
        id -> PortableUuid,
        rule_id -> PortableUuid,
        version -> Integer,
        name -> Text,
        category -> Text,
        points -> BigInt,
        unit -> Text,
        direction -> Text,
        monthly_cap -> Nullable<BigInt>,
        per_deed_cap -> Nullable<BigInt>,
        created_by -> Nullable<PortableUuid>,
        created_at -> Timestamp,
        community_id -> PortableUuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    deeds (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        member_id -> PortableUuid,
        account_id -> PortableUuid,
        rule_id -> PortableUuid,
        rule_version_id -> PortableUuid,
        rule_name -> Text,
        direction -> Text,
        quantity -> BigInt,
        counted_quantity -> BigInt,
        points -> BigInt,
        monthly_cap -> Nullable<BigInt>,
        occurred_on -> Text,
        description -> Text,
        evidence -> Text,
        status -> Text,
        submitted_by -> PortableUuid,
        cap_month -> Nullable<Text>,
        notice_ends_at -> Nullable<Timestamp>,
        applied_points -> Nullable<BigInt>,
        credit_journal_id -> Nullable<PortableUuid>,
        reversal_journal_id -> Nullable<PortableUuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_checked_by -> Nullable<PortableUuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    deed_events (id) {
        id -> PortableUuid,
        deed_id -> PortableUuid,
        community_id -> PortableUuid,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor_id -> Nullable<PortableUuid>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    deed_objections (id) {
        id -> PortableUuid,
        deed_id -> PortableUuid,
        community_id -> PortableUuid,
        raised_by -> PortableUuid,
        reason -> Text,
        raised_at -> Timestamp,
        status -> Text,
        ruled_by -> Nullable<PortableUuid>,
        ruling_reason -> Nullable<Text>,
        ruled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// The perfect subtrees of each community's Merkle tree (`ledger::merkle`).
    ledger_tree (community_id, height, idx) {
        community_id -> PortableUuid,
        height -> Integer,
        idx -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// Each community's Ed25519 signing key (`trust`).
    community_keys (community_id, key_id) {
        community_id -> PortableUuid,
        key_id -> Text,
        public_key -> Text,
        secret_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// Every ledger head the service signed (`trust`).
    ledger_heads (community_id, id) {
        community_id -> PortableUuid,
        id -> PortableUuid,
        tree_size -> BigInt,
        root_hash -> Text,
        signed_at -> Timestamp,
        key_id -> Text,
        signature -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// What a member still owes after a reversal took what their balance held (`deeds`).
    receivables (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        member_id -> PortableUuid,
        account_id -> PortableUuid,
        deed_id -> PortableUuid,
        reversal_journal_id -> Nullable<PortableUuid>,
        what -> Text,
        owed -> BigInt,
        outstanding -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        settled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// Each part of a receivable taken from a later deed credit (`deeds`).
    receivable_repayments (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        receivable_id -> PortableUuid,
        journal_id -> PortableUuid,
        paid_by_deed_id -> PortableUuid,
        amount -> BigInt,
        outstanding_after -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// Reserved orders waiting at the counter with a pickup code (`orders`).
    orders (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        member_id -> PortableUuid,
        account_id -> PortableUuid,
        pickup_code -> Text,
        status -> Text,
        total -> BigInt,
        local_month -> Text,
        hold_journal_id -> PortableUuid,
        end_journal_id -> Nullable<PortableUuid>,
        created_by -> PortableUuid,
        ended_by -> Nullable<PortableUuid>,
        end_reason -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    order_lines (id) {
        id -> PortableUuid,
        order_id -> PortableUuid,
        community_id -> PortableUuid,
        goods_id -> PortableUuid,
        line_no -> Integer,
        sku -> Text,
        name -> Text,
        quantity -> BigInt,
        unit_price -> BigInt,
        line_total -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    order_settings (community_id) {
        community_id -> PortableUuid,
        hold_hours -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// Households (户) and their passbook accounts (`households`).
    households (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        name -> Text,
        head_member_id -> Nullable<PortableUuid>,
        account_id -> PortableUuid,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    household_members (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        household_id -> PortableUuid,
        member_id -> PortableUuid,
        joined_at -> Timestamp,
        left_at -> Nullable<Timestamp>,
        moved_by -> Nullable<PortableUuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    household_settings (community_id) {
        community_id -> PortableUuid,
        credit_to -> Text,
        members_redeem -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::types::PortableUuid;

    /// Grants from the community fund, four eyes (`fund`).
    fund_grants (id) {
        id -> PortableUuid,
        community_id -> PortableUuid,
        member_id -> PortableUuid,
        account_id -> PortableUuid,
        amount -> BigInt,
        reason -> Text,
        status -> Text,
        proposed_by -> PortableUuid,
        proposed_at -> Timestamp,
        decided_by -> Nullable<PortableUuid>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
        journal_id -> Nullable<PortableUuid>,
    }
}

diesel::joinable!(accounts -> members (member_id));
diesel::joinable!(fund_grants -> members (member_id));
diesel::joinable!(rule_versions -> rules (rule_id));
diesel::joinable!(redemption_lines -> redemptions (redemption_id));
diesel::joinable!(postings -> journal (journal_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(household_members -> households (household_id));

diesel::joinable!(expiry_settings -> communities (community_id));

diesel::allow_tables_to_appear_in_same_query!(
    server_secrets,
    communities,
    operators,
    member_no_counters,
    members,
    roster_imports,
    accounts,
    users,
    password_resets,
    journal,
    postings,
    idempotency_keys,
    goods,
    stock_movements,
    redemptions,
    redemption_lines,
    community_settings,
    expiry_settings,
    rules,
    rule_versions,
    deed_objections,
    deeds,
    deed_events,
    ledger_tree,
    community_keys,
    ledger_heads,
    receivables,
    receivable_repayments,
    orders,
    order_lines,
    order_settings,
    households,
    household_members,
    household_settings,
    fund_grants,
);
