import O2OCore

public enum InventoryMigrations {
    static let tables = [
        // One row per SKU and location; changed only together with a ledger movement.
        """
        CREATE TABLE inventory_balances (
            id TEXT NOT NULL UNIQUE, sku_id TEXT NOT NULL, location_id TEXT NOT NULL, organisation_id TEXT NOT NULL,
            on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL, in_transit BIGINT NOT NULL, quarantined BIGINT NOT NULL,
            updated_at BIGINT NOT NULL, PRIMARY KEY (sku_id, location_id))
        """,
        "CREATE INDEX inventory_balances_location ON inventory_balances (location_id, sku_id)",
        """
        CREATE TABLE inventory_movements (
            id TEXT PRIMARY KEY, at BIGINT NOT NULL, sku_id TEXT NOT NULL, location_id TEXT NOT NULL, organisation_id TEXT NOT NULL,
            kind TEXT NOT NULL, d_on_hand BIGINT NOT NULL, d_reserved BIGINT NOT NULL, d_in_transit BIGINT NOT NULL,
            d_quarantined BIGINT NOT NULL, reason TEXT, reference_type TEXT, reference_id TEXT, channel_id TEXT,
            actor_id TEXT NOT NULL, request_id TEXT)
        """,
        "CREATE INDEX inventory_movements_balance ON inventory_movements (sku_id, location_id, at)",
        "CREATE INDEX inventory_movements_location ON inventory_movements (location_id, kind, at)",
        """
        CREATE TABLE inventory_reservations (
            id TEXT PRIMARY KEY, channel_id TEXT, reference_type TEXT, reference_id TEXT, status TEXT NOT NULL,
            expires_at BIGINT, version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX inventory_reservations_due ON inventory_reservations (status, expires_at)",
        "CREATE INDEX inventory_reservations_reference ON inventory_reservations (reference_type, reference_id)",
        """
        CREATE TABLE inventory_reservation_lines (
            reservation_id TEXT NOT NULL REFERENCES inventory_reservations(id), line BIGINT NOT NULL,
            sku_id TEXT NOT NULL, location_id TEXT NOT NULL, quantity BIGINT NOT NULL, consumed BIGINT NOT NULL,
            released BIGINT NOT NULL, PRIMARY KEY (reservation_id, line))
        """,
        """
        CREATE TABLE inventory_channel_pools (
            channel_id TEXT PRIMARY KEY, reservation_ttl BIGINT, threshold BIGINT NOT NULL, version BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE inventory_pool_members (
            channel_id TEXT NOT NULL REFERENCES inventory_channel_pools(channel_id), location_id TEXT NOT NULL,
            exposure TEXT NOT NULL, exposure_value BIGINT, shipping BIGINT NOT NULL, pickup BIGINT NOT NULL,
            PRIMARY KEY (channel_id, location_id))
        """,
        """
        CREATE TABLE inventory_safety_rules (
            id TEXT PRIMARY KEY, location_id TEXT, sku_id TEXT, channel_id TEXT, rule_key TEXT NOT NULL UNIQUE,
            quantity BIGINT NOT NULL, created_at BIGINT NOT NULL)
        """,
        "CREATE INDEX inventory_safety_rules_sku ON inventory_safety_rules (sku_id)",
        """
        CREATE TABLE inventory_counts (
            id TEXT PRIMARY KEY, location_id TEXT NOT NULL, organisation_id TEXT NOT NULL, kind TEXT NOT NULL,
            counted_at BIGINT NOT NULL, source TEXT, posted_at BIGINT NOT NULL, actor_id TEXT NOT NULL)
        """,
        "CREATE INDEX inventory_counts_location ON inventory_counts (location_id, id)",
        """
        CREATE TABLE inventory_count_lines (
            count_id TEXT NOT NULL REFERENCES inventory_counts(id), sku_id TEXT NOT NULL, counted BIGINT NOT NULL,
            expected BIGINT NOT NULL, variance BIGINT NOT NULL, PRIMARY KEY (count_id, sku_id))
        """,
        """
        CREATE TABLE inventory_transfers (
            id TEXT PRIMARY KEY, from_location_id TEXT NOT NULL, to_location_id TEXT NOT NULL, from_organisation_id TEXT NOT NULL,
            to_organisation_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT, reference_type TEXT, reference_id TEXT,
            version BIGINT NOT NULL, created_at BIGINT NOT NULL, shipped_at BIGINT, received_at BIGINT, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX inventory_transfers_from ON inventory_transfers (from_location_id, id)",
        "CREATE INDEX inventory_transfers_to ON inventory_transfers (to_location_id, id)",
        """
        CREATE TABLE inventory_transfer_lines (
            transfer_id TEXT NOT NULL REFERENCES inventory_transfers(id), line BIGINT NOT NULL, sku_id TEXT NOT NULL,
            quantity BIGINT NOT NULL, received BIGINT, PRIMARY KEY (transfer_id, line))
        """,
        """
        CREATE TABLE inventory_replenishment_rules (
            id TEXT PRIMARY KEY, rule_key TEXT NOT NULL UNIQUE, location_id TEXT NOT NULL, sku_id TEXT, min_qty BIGINT, max_qty BIGINT,
            cover_days BIGINT)
        """,
        "CREATE INDEX inventory_replenishment_rules_location ON inventory_replenishment_rules (location_id)",
        // The change feed: SKUs whose stock moved since the feed last looked, and what each channel was last told.
        "CREATE TABLE inventory_atp_dirty (sku_id TEXT PRIMARY KEY, since BIGINT NOT NULL)",
        "CREATE INDEX inventory_atp_dirty_since ON inventory_atp_dirty (since)",
        """
        CREATE TABLE inventory_atp_published (
            channel_id TEXT NOT NULL, sku_id TEXT NOT NULL, shipping BIGINT NOT NULL, pickup BIGINT NOT NULL, at BIGINT NOT NULL,
            PRIMARY KEY (channel_id, sku_id))
        """,
    ]

    public static let all: [Migration] = [
        Migration(module: "inventory", version: 1, name: "balances, ledger, reservations, channel pools, safety stock, counts, transfers, replenishment, change feed", tables),
        Migration(module: "inventory", version: 2, name: "soft reservation lines that routing may move within the channel's pool", [
            "ALTER TABLE inventory_reservation_lines ADD COLUMN soft BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE inventory_reservation_lines ADD COLUMN split_from BIGINT",
        ]),
    ]
}
