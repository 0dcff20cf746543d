import O2OCore

public enum OrdersMigrations {
    static let tables = [
        // One row per order; its lines, payments and timeline in their own tables. The routing
        // decision (candidates, scores, the rule) is kept whole as JSON: it is read, never queried.
        """
        CREATE TABLE orders (
            id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, external_id TEXT, status TEXT NOT NULL, payment_status TEXT NOT NULL,
            holds TEXT NOT NULL, member_id TEXT, contact_phone TEXT, attributed_location_id TEXT, attributed_clerk_id TEXT,
            address TEXT, pickup_location_id TEXT, pickup_code TEXT, invoice TEXT, currency TEXT NOT NULL, subtotal BIGINT NOT NULL,
            discount_total BIGINT NOT NULL, shipping_total BIGINT NOT NULL, total BIGINT NOT NULL, paid_total BIGINT NOT NULL,
            reservation_id TEXT, routing TEXT, pay_by BIGINT, version BIGINT NOT NULL, created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)
        """,
        "CREATE UNIQUE INDEX orders_external ON orders (channel_id, external_id)",
        "CREATE INDEX orders_status ON orders (status, id)",
        "CREATE INDEX orders_unpaid ON orders (payment_status, pay_by)",
        """
        CREATE TABLE order_lines (
            order_id TEXT NOT NULL REFERENCES orders(id), line BIGINT NOT NULL, sku_id TEXT NOT NULL, sku_code TEXT NOT NULL,
            quantity BIGINT NOT NULL, unit_price BIGINT NOT NULL, list_price BIGINT NOT NULL, price_rule TEXT NOT NULL,
            discount BIGINT NOT NULL, total BIGINT NOT NULL, method TEXT NOT NULL, location_id TEXT, mode TEXT, cancelled BIGINT NOT NULL,
            PRIMARY KEY (order_id, line))
        """,
        "CREATE INDEX order_lines_location ON order_lines (location_id, order_id)",
        """
        CREATE TABLE order_payments (
            id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), tender TEXT NOT NULL, provider TEXT NOT NULL,
            status TEXT NOT NULL, amount BIGINT NOT NULL, captured BIGINT NOT NULL, refunded BIGINT NOT NULL, provider_reference TEXT,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX order_payments_order ON order_payments (order_id)",
        // Each payment movement (authorise, capture, refund) as a ledger row.
        """
        CREATE TABLE order_payment_ledger (
            id TEXT PRIMARY KEY, payment_id TEXT NOT NULL REFERENCES order_payments(id), kind TEXT NOT NULL, amount BIGINT NOT NULL,
            at BIGINT NOT NULL, actor_id TEXT NOT NULL)
        """,
        """
        CREATE TABLE order_timeline (
            order_id TEXT NOT NULL REFERENCES orders(id), seq BIGINT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL,
            status TEXT NOT NULL, actor_id TEXT NOT NULL, note TEXT, PRIMARY KEY (order_id, seq))
        """,
        // Orders assigned to each location per day, against its daily capacity.
        "CREATE TABLE order_location_load (location_id TEXT NOT NULL, day TEXT NOT NULL, orders BIGINT NOT NULL, PRIMARY KEY (location_id, day))",
        """
        CREATE TABLE order_routing_rules (
            rule_key TEXT PRIMARY KEY, channel_id TEXT, name TEXT NOT NULL, use_stores BIGINT NOT NULL, use_warehouses BIGINT NOT NULL,
            max_locations BIGINT NOT NULL, no_split_below BIGINT NOT NULL, fallback TEXT NOT NULL, weights TEXT NOT NULL,
            version BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
    ]

    public static let all: [Migration] = [
        Migration(module: "orders", version: 1, name: "orders, lines, payments, timeline, routing rules and location load", tables),
        // Every payment-provider notification received, verified or refused, with what became of it.
        Migration(module: "orders", version: 2, name: "payment notification log", [
            """
            CREATE TABLE order_payment_notifications (
                id TEXT PRIMARY KEY, provider TEXT NOT NULL, received_at BIGINT NOT NULL, outcome TEXT NOT NULL, reason TEXT, event TEXT,
                merchant_reference TEXT, provider_reference TEXT, amount BIGINT, payload TEXT NOT NULL)
            """,
            "CREATE INDEX order_payment_notifications_reference ON order_payment_notifications (merchant_reference)",
        ]),
        // Every time a location rejected lines assigned to it (out of stock, damaged, …): re-routing
        // never sends an order back to a location that rejected it.
        Migration(module: "orders", version: 3, name: "assignment rejections by location", [
            """
            CREATE TABLE order_rejections (
                id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), location_id TEXT NOT NULL, reason TEXT NOT NULL,
                lines TEXT NOT NULL, note TEXT, at BIGINT NOT NULL, actor_id TEXT NOT NULL)
            """,
            "CREATE INDEX order_rejections_order ON order_rejections (order_id, location_id)",
        ]),
        // Each edit of an order before release, numbered by the order's version it made.
        Migration(module: "orders", version: 4, name: "versioned order changes", [
            """
            CREATE TABLE order_changes (
                order_id TEXT NOT NULL REFERENCES orders(id), version BIGINT NOT NULL, at BIGINT NOT NULL, actor_id TEXT NOT NULL,
                summary TEXT NOT NULL, change TEXT NOT NULL, PRIMARY KEY (order_id, version))
            """,
        ]),
        // Routing rules limited to a group of locations, with steps tried in turn and an
        // auto-cancel for orders nobody routed by hand.
        Migration(module: "orders", version: 5, name: "routing rule location groups, next steps and auto-cancel", [
            "ALTER TABLE order_routing_rules ADD COLUMN locations TEXT",
            "ALTER TABLE order_routing_rules ADD COLUMN next_steps TEXT",
            "ALTER TABLE order_routing_rules ADD COLUMN auto_cancel_after_days BIGINT",
        ]),
        // A member's orders across channels (member 360), newest first.
        Migration(module: "orders", version: 6, name: "orders by member", [
            "CREATE INDEX orders_member ON orders (member_id, id)",
        ]),
    ]
}
