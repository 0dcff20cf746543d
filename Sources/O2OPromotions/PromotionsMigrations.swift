import O2OCore

public enum PromotionsMigrations {
    static let tables = [
        // The five W's live in `body` (JSON); what queries filter on has its own column.
        // budget_used grows by a conditional UPDATE when an order records its discount.
        """
        CREATE TABLE promotions (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, priority BIGINT NOT NULL, exclusive BIGINT NOT NULL,
            stack_group TEXT, budget BIGINT, budget_used BIGINT NOT NULL, valid_from BIGINT NOT NULL, valid_to BIGINT NOT NULL,
            body TEXT NOT NULL, version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX promotions_status ON promotions (status, valid_to)",
        "CREATE INDEX promotions_exclusive ON promotions (exclusive, priority)",
        // issued counts the coupons made (batch codes and distributions), never above total_quantity.
        """
        CREATE TABLE coupon_templates (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL, valid_from BIGINT NOT NULL, valid_to BIGINT NOT NULL,
            per_member_limit BIGINT NOT NULL, total_quantity BIGINT, issued BIGINT NOT NULL, uses_per_coupon BIGINT NOT NULL,
            version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        // member_id is NULL for a batch code nobody has claimed yet.
        """
        CREATE TABLE coupons (
            id TEXT PRIMARY KEY, template_id TEXT NOT NULL REFERENCES coupon_templates(id), code TEXT NOT NULL UNIQUE, member_id TEXT,
            uses BIGINT NOT NULL, max_uses BIGINT NOT NULL, batch_id TEXT, claimed_at BIGINT, created_at BIGINT NOT NULL)
        """,
        "CREATE INDEX coupons_member ON coupons (member_id, template_id)",
        "CREATE INDEX coupons_template ON coupons (template_id)",
        // What each member holds of a template: the claim limit is a conditional UPDATE of this row.
        """
        CREATE TABLE coupon_member_claims (
            template_id TEXT NOT NULL REFERENCES coupon_templates(id), member_id TEXT NOT NULL, claimed BIGINT NOT NULL,
            PRIMARY KEY (template_id, member_id))
        """,
        """
        CREATE TABLE coupon_redemptions (
            id TEXT PRIMARY KEY, coupon_id TEXT NOT NULL REFERENCES coupons(id), template_id TEXT NOT NULL, order_id TEXT NOT NULL,
            member_id TEXT NOT NULL, discount BIGINT NOT NULL, at BIGINT NOT NULL, reversed_at BIGINT, UNIQUE (coupon_id, order_id))
        """,
        "CREATE INDEX coupon_redemptions_template ON coupon_redemptions (template_id)",
        // Flash sales: sold never passes budget (conditional UPDATE); a member's units never pass the limit.
        """
        CREATE TABLE flash_sales (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, sku_id TEXT NOT NULL, price BIGINT NOT NULL, currency TEXT NOT NULL,
            budget BIGINT NOT NULL, sold BIGINT NOT NULL, per_member_limit BIGINT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL,
            status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX flash_sales_sku ON flash_sales (sku_id, ends_at)",
        """
        CREATE TABLE flash_sale_members (
            flash_sale_id TEXT NOT NULL REFERENCES flash_sales(id), member_id TEXT NOT NULL, quantity BIGINT NOT NULL,
            PRIMARY KEY (flash_sale_id, member_id))
        """,
        // One claim per (sale, reference): a retry finds the claim its first attempt made.
        """
        CREATE TABLE flash_sale_claims (
            id TEXT PRIMARY KEY, flash_sale_id TEXT NOT NULL REFERENCES flash_sales(id), member_id TEXT NOT NULL, reference TEXT NOT NULL,
            quantity BIGINT NOT NULL, price BIGINT NOT NULL, at BIGINT NOT NULL, released_at BIGINT, UNIQUE (flash_sale_id, reference))
        """,
        // Effect data: one row per promotion (or coupon template) per order.
        """
        CREATE TABLE promotion_applications (
            promotion_id TEXT NOT NULL, order_id TEXT NOT NULL, coupon_id TEXT, member_id TEXT, discount BIGINT NOT NULL,
            units BIGINT NOT NULL, revenue BIGINT NOT NULL, budgeted BIGINT NOT NULL, at BIGINT NOT NULL, reversed_at BIGINT,
            PRIMARY KEY (promotion_id, order_id))
        """,
        "CREATE INDEX promotion_applications_order ON promotion_applications (order_id)",
    ]

    /// 团购: a group never takes more than its size and a member never more units than the limit
    /// (conditional UPDATEs of buying_groups.joined and group_buy_members.units).
    static let groupBuys = [
        """
        CREATE TABLE group_buys (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, sku_id TEXT NOT NULL, price BIGINT NOT NULL, currency TEXT NOT NULL, group_size BIGINT NOT NULL,
            form_within_minutes BIGINT NOT NULL, per_member_limit BIGINT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL,
            status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX group_buys_sku ON group_buys (sku_id, ends_at)",
        """
        CREATE TABLE buying_groups (
            id TEXT PRIMARY KEY, group_buy_id TEXT NOT NULL REFERENCES group_buys(id), leader_member_id TEXT NOT NULL, size BIGINT NOT NULL,
            joined BIGINT NOT NULL, status TEXT NOT NULL, opened_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, formed_at BIGINT,
            dissolved_at BIGINT)
        """,
        "CREATE INDEX buying_groups_buy ON buying_groups (group_buy_id, status)",
        "CREATE INDEX buying_groups_due ON buying_groups (status, expires_at)",
        """
        CREATE TABLE buying_group_participants (
            group_id TEXT NOT NULL REFERENCES buying_groups(id), member_id TEXT NOT NULL, order_id TEXT NOT NULL, quantity BIGINT NOT NULL,
            joined_at BIGINT NOT NULL, left_at BIGINT, PRIMARY KEY (group_id, member_id))
        """,
        "CREATE INDEX buying_group_participants_order ON buying_group_participants (order_id)",
        """
        CREATE TABLE group_buy_members (
            group_buy_id TEXT NOT NULL REFERENCES group_buys(id), member_id TEXT NOT NULL, units BIGINT NOT NULL,
            PRIMARY KEY (group_buy_id, member_id))
        """,
    ]

    public static let all: [Migration] = [
        Migration(module: "promotions", version: 1,
                  name: "promotions, coupon templates and coupons, flash sales with per-member claims, promotion applications", tables),
        Migration(module: "promotions", version: 2, name: "group buys: buying groups, their participants and each member's units", groupBuys),
    ]
}
