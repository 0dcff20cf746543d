import O2OCore

public enum MembersMigrations {
    static let tables = [
        // One row per member. phone is E.164 and unique; NULL (allowed many times by both engines'
        // UNIQUE) for a member first met through an external identity without a number.
        """
        CREATE TABLE members (
            id TEXT PRIMARY KEY, phone TEXT UNIQUE, name TEXT, birthday TEXT, gender TEXT, preferred_store_id TEXT,
            tags TEXT NOT NULL, created_channel TEXT NOT NULL, version BIGINT NOT NULL,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        // channel is '' for kinds that are not qualified by one, so the key has no NULL in it.
        """
        CREATE TABLE member_identities (
            kind TEXT NOT NULL, channel TEXT NOT NULL, external_id TEXT NOT NULL, member_id TEXT NOT NULL REFERENCES members(id),
            linked_at BIGINT NOT NULL, PRIMARY KEY (kind, channel, external_id))
        """,
        "CREATE INDEX member_identities_member ON member_identities (member_id)",
        // Points: the balance row (created with the member) is what concurrent postings lock; the
        // ledger and the lots reference it, so no ledger row can exist without its balance.
        """
        CREATE TABLE member_points_balances (
            member_id TEXT PRIMARY KEY REFERENCES members(id), balance BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        // A retry of the same (member, kind, reference) finds its row instead of posting again; a
        // reversal is also keyed by the entry it reverses, so one return may reverse an order's
        // earn and its redeem.
        """
        CREATE TABLE member_points_ledger (
            id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES member_points_balances(member_id), kind TEXT NOT NULL, delta BIGINT NOT NULL,
            requested BIGINT NOT NULL, reference_type TEXT NOT NULL, reference_id TEXT NOT NULL, reverses TEXT NOT NULL,
            expires_at BIGINT, reason TEXT, at BIGINT NOT NULL, actor_id TEXT NOT NULL, request_id TEXT,
            UNIQUE (member_id, kind, reference_type, reference_id, reverses))
        """,
        // (member_id, id) pages a member's ledger; delta makes it cover the balance check.
        "CREATE INDEX member_points_ledger_member ON member_points_ledger (member_id, id, delta)",
        "CREATE INDEX member_points_ledger_reverses ON member_points_ledger (reverses)",
        // Lots: what each earn (or give-back) added and what is left of it; expiry only takes what is left.
        """
        CREATE TABLE member_points_lots (
            id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES member_points_balances(member_id),
            entry_id TEXT NOT NULL REFERENCES member_points_ledger(id),
            points BIGINT NOT NULL, remaining BIGINT NOT NULL, expires_at BIGINT, created_at BIGINT NOT NULL)
        """,
        // FIFO order of a member's open lots; remaining makes it cover the balance check.
        "CREATE INDEX member_points_lots_open ON member_points_lots (member_id, expires_at, remaining) WHERE remaining > 0",
        "CREATE INDEX member_points_lots_due ON member_points_lots (expires_at) WHERE remaining > 0",
        "CREATE INDEX member_points_lots_entry ON member_points_lots (entry_id)",
        // Which lots a consuming entry (redeem, expire, reversal of an earn, negative adjustment) took
        // from; `returned` counts what the reversal of a redeem gave back of each.
        """
        CREATE TABLE member_points_allocations (
            entry_id TEXT NOT NULL REFERENCES member_points_ledger(id), lot_id TEXT NOT NULL REFERENCES member_points_lots(id),
            points BIGINT NOT NULL, returned BIGINT NOT NULL, PRIMARY KEY (entry_id, lot_id))
        """,
        // Wallet: one currency per wallet; principal and bonus kept apart.
        """
        CREATE TABLE member_wallet_balances (
            member_id TEXT PRIMARY KEY REFERENCES members(id), currency TEXT NOT NULL, principal BIGINT NOT NULL,
            bonus BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE member_wallet_ledger (
            id TEXT PRIMARY KEY, member_id TEXT NOT NULL REFERENCES member_wallet_balances(member_id), kind TEXT NOT NULL, currency TEXT NOT NULL,
            d_principal BIGINT NOT NULL, d_bonus BIGINT NOT NULL, reference_type TEXT NOT NULL, reference_id TEXT NOT NULL,
            refers_to TEXT, at BIGINT NOT NULL, actor_id TEXT NOT NULL, request_id TEXT,
            UNIQUE (member_id, kind, reference_type, reference_id))
        """,
        "CREATE INDEX member_wallet_ledger_member ON member_wallet_ledger (member_id, id, d_principal, d_bonus)",
        "CREATE INDEX member_wallet_ledger_refers ON member_wallet_ledger (refers_to)",
    ]

    /// Version 4: merges and referrals. Members from before get a code now (hex from the engine's
    /// random source; new members get one from `MembersService.newReferralCode`).
    static func mergesAndReferrals(backfill: String) -> [String] {
        [
            "ALTER TABLE members ADD COLUMN status TEXT NOT NULL DEFAULT 'active'",
            "ALTER TABLE members ADD COLUMN merged_into TEXT",
            "ALTER TABLE members ADD COLUMN referral_code TEXT",
            "ALTER TABLE members ADD COLUMN referred_by TEXT",
            backfill,
            "CREATE UNIQUE INDEX members_referral_code ON members (referral_code)",
            "CREATE INDEX members_merged_into ON members (merged_into)",
            // A merge: what moved from the source to the target (JSON), so a reversal moves exactly that back.
            """
            CREATE TABLE member_merges (
                id TEXT PRIMARY KEY, target_id TEXT NOT NULL REFERENCES members(id), source_id TEXT NOT NULL REFERENCES members(id),
                status TEXT NOT NULL, moved TEXT NOT NULL, merged_at BIGINT NOT NULL, reversible_until BIGINT NOT NULL, reversed_at BIGINT,
                actor_id TEXT NOT NULL)
            """,
            "CREATE INDEX member_merges_target ON member_merges (target_id, id)",
            "CREATE INDEX member_merges_source ON member_merges (source_id, id)",
            "CREATE TABLE member_referral_policy (id TEXT PRIMARY KEY, points BIGINT NOT NULL, return_window_days BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
            // One row per member who joined with a code; order_id is set once, by the first completed
            // order (a conditional UPDATE: exactly once); rewarded_to is who earned for it.
            """
            CREATE TABLE member_referrals (
                referee_id TEXT PRIMARY KEY REFERENCES members(id), referrer_id TEXT NOT NULL REFERENCES members(id), joined_at BIGINT NOT NULL,
                order_id TEXT, rewarded_to TEXT, rewarded_at BIGINT, points BIGINT NOT NULL, reversed_at BIGINT)
            """,
            "CREATE INDEX member_referrals_referrer ON member_referrals (referrer_id, joined_at)",
        ]
    }

    public static let all: [Migration] = [
        Migration(module: "members", version: 1, name: "members, external identities, points ledger with lots, wallet ledger", tables),
        Migration(module: "members", version: 2, name: "tiers: the ladder, members' tiers and rolling spend", [
            "CREATE TABLE member_tier_ladder (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at BIGINT NOT NULL)",
            // One row per member placed on the ladder; previous_code and reached_by let a return take
            // back the tier its order reached; kept_until is when the period review is due.
            """
            CREATE TABLE member_tiers (
                member_id TEXT PRIMARY KEY REFERENCES members(id), tier_code TEXT NOT NULL, previous_code TEXT, reached_at BIGINT NOT NULL,
                reached_by TEXT, kept_until BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX member_tiers_review ON member_tiers (kept_until)",
            // What counts toward a spend ladder: completed orders (positive) and returns (negative,
            // refers_to the order), once per reference.
            """
            CREATE TABLE member_spend (
                member_id TEXT NOT NULL REFERENCES members(id), reference_type TEXT NOT NULL, reference_id TEXT NOT NULL, refers_to TEXT,
                amount BIGINT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (member_id, reference_type, reference_id))
            """,
            "CREATE INDEX member_spend_rolling ON member_spend (member_id, at, amount)",
        ]),
        // Marketing consent per channel, as last answered (the audit keeps every answer).
        Migration(module: "members", version: 3, name: "marketing consent per channel", [
            """
            CREATE TABLE member_consents (
                member_id TEXT NOT NULL REFERENCES members(id), channel TEXT NOT NULL, granted BIGINT NOT NULL, at BIGINT NOT NULL,
                source TEXT NOT NULL, PRIMARY KEY (member_id, channel))
            """,
        ]),
        Migration(module: "members", version: 4, name: "member merges and referrals",
                  mergesAndReferrals(backfill: "UPDATE members SET referral_code = upper(hex(randomblob(5))) WHERE referral_code IS NULL"),
                  postgres: mergesAndReferrals(backfill: "UPDATE members SET referral_code = upper(substr(md5(random()::text || id), 1, 10)) WHERE referral_code IS NULL")),
        Migration(module: "members", version: 5, name: "segments and messaging", segmentsAndMessaging),
        // The points earn rules as one document: the brand sets them whole (PUT), orders read them at completion.
        Migration(module: "members", version: 6, name: "points earn rules", [
            "CREATE TABLE member_earn_rules (id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        ]),
        Migration(module: "members", version: 7, name: "members' email addresses", ["ALTER TABLE members ADD COLUMN email TEXT"]),
    ]

    /// Version 5: rule-based segments with their membership materialised by a refresh; message
    /// templates, the frequency cap, campaigns to a segment and the messages they queued.
    static let segmentsAndMessaging = [
        // rule is the segment's rule as JSON; member_count and refreshed_at are the last refresh's.
        """
        CREATE TABLE member_segments (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, rule TEXT NOT NULL, member_count BIGINT NOT NULL,
            refreshed_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE member_segment_members (
            segment_id TEXT NOT NULL REFERENCES member_segments(id), member_id TEXT NOT NULL REFERENCES members(id), added_at BIGINT NOT NULL,
            PRIMARY KEY (segment_id, member_id))
        """,
        // The segments a member is in (promotions ask it for every priced cart).
        "CREATE INDEX member_segment_members_member ON member_segment_members (member_id, segment_id)",
        """
        CREATE TABLE member_message_templates (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, subject TEXT, body TEXT NOT NULL, created_at BIGINT NOT NULL)
        """,
        "CREATE TABLE member_messaging_policy (id TEXT PRIMARY KEY, cap BIGINT NOT NULL, window_days BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
        // reference (the Idempotency-Key) is unique per caller, as the keys are: a retry finds the
        // campaign the first attempt wrote.
        """
        CREATE TABLE member_campaigns (
            id TEXT PRIMARY KEY, segment_id TEXT NOT NULL REFERENCES member_segments(id), template_code TEXT NOT NULL, channel TEXT NOT NULL,
            reference TEXT, queued BIGINT NOT NULL, skipped_no_consent BIGINT NOT NULL, skipped_frequency_cap BIGINT NOT NULL,
            skipped_no_address BIGINT NOT NULL, created_at BIGINT NOT NULL, actor_id TEXT NOT NULL, UNIQUE (actor_id, reference))
        """,
        // status: queued → sending (claimed by a sender) → sent, or back to queued for a retry, or failed.
        """
        CREATE TABLE member_messages (
            id TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES member_campaigns(id), member_id TEXT NOT NULL REFERENCES members(id),
            channel TEXT NOT NULL, template_code TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT, body TEXT NOT NULL, status TEXT NOT NULL,
            attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL, claimed_at BIGINT, provider_id TEXT, error TEXT,
            created_at BIGINT NOT NULL, sent_at BIGINT)
        """,
        // The frequency cap: a member's messages on a channel since a moment.
        "CREATE INDEX member_messages_member ON member_messages (member_id, channel, created_at)",
        "CREATE INDEX member_messages_campaign ON member_messages (campaign_id, id)",
        "CREATE INDEX member_messages_due ON member_messages (status, next_attempt_at)",
    ]
}
