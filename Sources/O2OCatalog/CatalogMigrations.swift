import O2OCore

public enum CatalogMigrations {
    static let tables = [
        """
        CREATE TABLE brands (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_en TEXT, created_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE categories (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_en TEXT,
            parent_id TEXT REFERENCES categories(id), path TEXT NOT NULL, version BIGINT NOT NULL,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX categories_path ON categories (path)",
        """
        CREATE TABLE products (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_en TEXT, description TEXT,
            brand_id TEXT NOT NULL REFERENCES brands(id), category_id TEXT NOT NULL REFERENCES categories(id),
            option_names TEXT NOT NULL, attributes TEXT NOT NULL, images TEXT NOT NULL, unit TEXT NOT NULL, tax_class TEXT NOT NULL,
            assortment TEXT NOT NULL, online_first_until BIGINT, status TEXT NOT NULL, search_text TEXT NOT NULL,
            version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX products_category ON products (category_id)",
        "CREATE INDEX products_brand ON products (brand_id)",
        """
        CREATE TABLE skus (
            id TEXT PRIMARY KEY, product_id TEXT NOT NULL REFERENCES products(id), code TEXT NOT NULL UNIQUE, barcode TEXT UNIQUE,
            options TEXT NOT NULL, list_price BIGINT NOT NULL, currency TEXT NOT NULL, weight_grams BIGINT, volume_cm3 BIGINT,
            status TEXT NOT NULL, version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX skus_product ON skus (product_id)",
        """
        CREATE TABLE sku_external_codes (
            system TEXT NOT NULL, code TEXT NOT NULL, sku_id TEXT NOT NULL REFERENCES skus(id), PRIMARY KEY (system, code))
        """,
        "CREATE INDEX sku_external_codes_sku ON sku_external_codes (sku_id)",
        """
        CREATE TABLE channels (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL,
            status TEXT NOT NULL, created_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE listings (
            id TEXT PRIMARY KEY, sku_id TEXT NOT NULL REFERENCES skus(id), channel_id TEXT NOT NULL REFERENCES channels(id),
            publish_at BIGINT, unpublish_at BIGINT, clearance BIGINT NOT NULL, version BIGINT NOT NULL,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, UNIQUE (sku_id, channel_id))
        """,
        "CREATE INDEX listings_channel ON listings (channel_id, sku_id)",
        """
        CREATE TABLE price_lists (
            id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, currency TEXT NOT NULL, priority BIGINT NOT NULL,
            channel_id TEXT REFERENCES channels(id), organisation_id TEXT, location_id TEXT, region_code TEXT,
            valid_from BIGINT, valid_to BIGINT, status TEXT NOT NULL, version BIGINT NOT NULL,
            created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE price_list_entries (
            price_list_id TEXT NOT NULL REFERENCES price_lists(id), sku_id TEXT NOT NULL REFERENCES skus(id), price BIGINT NOT NULL,
            PRIMARY KEY (price_list_id, sku_id))
        """,
        "CREATE INDEX price_list_entries_sku ON price_list_entries (sku_id)",
        """
        CREATE TABLE price_history (
            id TEXT PRIMARY KEY, sku_id TEXT NOT NULL, price_list_id TEXT, old_price BIGINT, new_price BIGINT, currency TEXT NOT NULL,
            at BIGINT NOT NULL, actor_id TEXT NOT NULL, source TEXT NOT NULL)
        """,
        "CREATE INDEX price_history_sku ON price_history (sku_id, id)",
    ]

    public static let all: [Migration] = [
        Migration(
            module: "catalog", version: 1, name: "brands, categories, products, SKUs, channels, listings, prices, search",
            tables + ["CREATE VIRTUAL TABLE product_search USING fts5(product_id UNINDEXED, doc, tokenize='trigram')"],
            postgres: tables + [
                // A trusted extension since PostgreSQL 13: the database owner may create it.
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX products_search ON products USING gin (search_text gin_trgm_ops)",
            ]),
        Migration(module: "catalog", version: 2, name: "import staging and the search index's work queue",
                  staging.map { "CREATE TABLE " + $0 } + stagingIndexesAndQueue,
                  postgres: staging.map { "CREATE UNLOGGED TABLE " + $0 } + stagingIndexesAndQueue),
        Migration(module: "catalog", version: 3, name: "imports applied a chunk of products at a time", [
            // An accepted import (its commit point); see CatalogImporter.Run.
            """
            CREATE TABLE catalog_import_runs (
                import_id TEXT PRIMARY KEY, actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_name TEXT NOT NULL, request_id TEXT,
                summary TEXT NOT NULL)
            """,
            // Chunks are ranges of product ids; a chunk's SKUs are found by product, its codes and history by SKU.
            "DROP INDEX catalog_import_products_import",
            "DROP INDEX catalog_import_skus_import",
            "DROP INDEX catalog_import_codes_import",
            "DROP INDEX catalog_import_history_import",
            "CREATE INDEX catalog_import_products_import ON catalog_import_products (import_id, id)",
            "CREATE INDEX catalog_import_skus_import ON catalog_import_skus (import_id, product_id)",
            "CREATE INDEX catalog_import_codes_import ON catalog_import_codes (import_id, sku_id)",
            "CREATE INDEX catalog_import_history_import ON catalog_import_history (import_id, sku_id)",
        ]),
    ]

    /// A large import is written here in short transactions, then moved into the catalog by
    /// `INSERT … SELECT` / `UPDATE … FROM`, a range of products per transaction on SQLite, so it
    /// never holds the writer for long. Rows are keyed by their import; nothing reads them but the import. (On PostgreSQL the
    /// tables are unlogged: after a crash they are empty, which is what an interrupted import needs.)
    static let staging = [
        """
        catalog_import_products (
            import_id TEXT NOT NULL, op TEXT NOT NULL, id TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, name_en TEXT,
            description TEXT, brand_id TEXT NOT NULL, category_id TEXT NOT NULL, option_names TEXT NOT NULL, attributes TEXT NOT NULL,
            images TEXT NOT NULL, unit TEXT NOT NULL, tax_class TEXT NOT NULL, assortment TEXT NOT NULL, online_first_until BIGINT,
            status TEXT NOT NULL, search_text TEXT NOT NULL, version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        """
        catalog_import_skus (
            import_id TEXT NOT NULL, op TEXT NOT NULL, codes_changed BIGINT NOT NULL, id TEXT NOT NULL, product_id TEXT NOT NULL,
            code TEXT NOT NULL, barcode TEXT, options TEXT NOT NULL, list_price BIGINT NOT NULL, currency TEXT NOT NULL,
            weight_grams BIGINT, volume_cm3 BIGINT, status TEXT NOT NULL, version BIGINT NOT NULL, created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)
        """,
        "catalog_import_codes (import_id TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, sku_id TEXT NOT NULL)",
        """
        catalog_import_history (
            import_id TEXT NOT NULL, id TEXT NOT NULL, sku_id TEXT NOT NULL, price_list_id TEXT, old_price BIGINT, new_price BIGINT,
            currency TEXT NOT NULL, at BIGINT NOT NULL, actor_id TEXT NOT NULL, source TEXT NOT NULL)
        """,
    ]

    static let stagingIndexesAndQueue = [
        "CREATE INDEX catalog_import_products_import ON catalog_import_products (import_id, op)",
        "CREATE INDEX catalog_import_skus_import ON catalog_import_skus (import_id, op)",
        "CREATE INDEX catalog_import_codes_import ON catalog_import_codes (import_id)",
        "CREATE INDEX catalog_import_history_import ON catalog_import_history (import_id)",
        // Products whose search entry is still to be written after an import committed; `recompute`
        // when the document itself must be rebuilt from the product's current SKUs.
        "CREATE TABLE catalog_search_pending (product_id TEXT PRIMARY KEY, recompute BIGINT NOT NULL)",
    ]
}
