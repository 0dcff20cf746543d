import Foundation
import O2OCore
import SQLKit

/// Catalog rows ⇄ models, in one place.
enum CatalogRows {
    /// `(?, ?, …)` for an IN clause; never empty (an empty list matches nothing).
    static func list(_ values: [String]) -> SQLQueryString { SQLQueryString.list(values) }

    /// The stored JSON of a string map (sorted keys) or a string list, written directly: an import
    /// writes hundreds of thousands of them, and a JSONEncoder per value is costly at that count.
    static func json(_ map: [String: String]) -> String {
        "{" + map.sorted { $0.key < $1.key }.map { quote($0.key) + ":" + quote($0.value) }.joined(separator: ",") + "}"
    }

    static func json(_ list: [String]) -> String { "[" + list.map(quote).joined(separator: ",") + "]" }

    /// A JSON string literal (RFC 8259 escapes).
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    static func date(_ r: any SQLRow, _ column: String) throws -> Date? {
        try r.decode(column: column, as: Int64?.self).map(Date.init(epochMillis:))
    }

    static func brand(_ r: any SQLRow) throws -> Brand {
        Brand(id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
              name: try r.decode(column: "name", as: String.self), nameEn: try r.decode(column: "name_en", as: String?.self),
              createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func category(_ r: any SQLRow) throws -> Category {
        Category(id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
                 name: try r.decode(column: "name", as: String.self), nameEn: try r.decode(column: "name_en", as: String?.self),
                 parentId: try r.decode(column: "parent_id", as: String?.self), path: try r.decode(column: "path", as: String.self),
                 version: try r.decode(column: "version", as: Int.self),
                 createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                 updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func product(_ r: any SQLRow) throws -> Product {
        Product(
            id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
            name: try r.decode(column: "name", as: String.self), nameEn: try r.decode(column: "name_en", as: String?.self),
            description: try r.decode(column: "description", as: String?.self), brandId: try r.decode(column: "brand_id", as: String.self),
            categoryId: try r.decode(column: "category_id", as: String.self),
            optionNames: decode([String].self, try r.decode(column: "option_names", as: String.self)) ?? [],
            attributes: decode([String: String].self, try r.decode(column: "attributes", as: String.self)) ?? [:],
            images: decode([String].self, try r.decode(column: "images", as: String.self)) ?? [],
            unit: try r.decode(column: "unit", as: String.self), taxClass: try r.decode(column: "tax_class", as: String.self),
            assortment: Assortment(rawValue: try r.decode(column: "assortment", as: String.self)) ?? .shared,
            onlineFirstUntil: try date(r, "online_first_until"),
            status: CatalogStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .draft,
            version: try r.decode(column: "version", as: Int.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)), skus: [])
    }

    /// A SKU row without its external codes.
    static func skuRow(_ r: any SQLRow) throws -> SKU {
        SKU(id: try r.decode(column: "id", as: String.self), productId: try r.decode(column: "product_id", as: String.self),
            code: try r.decode(column: "code", as: String.self), barcode: try r.decode(column: "barcode", as: String?.self),
            options: decode([String: String].self, try r.decode(column: "options", as: String.self)) ?? [:],
            listPrice: Money(minorUnits: try r.decode(column: "list_price", as: Int64.self), currency: try r.decode(column: "currency", as: String.self)),
            weightGrams: try r.decode(column: "weight_grams", as: Int?.self), volumeCm3: try r.decode(column: "volume_cm3", as: Int?.self),
            status: CatalogStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .draft, externalCodes: [],
            version: try r.decode(column: "version", as: Int.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func externalCodes(skuIds: [String], _ sql: any SQLDatabase) async throws -> [String: [ExternalCode]] {
        guard !skuIds.isEmpty else { return [:] }
        var out: [String: [ExternalCode]] = [:]
        for chunk in skuIds.chunked(500) {
            let rows = try await sql.raw("SELECT * FROM sku_external_codes WHERE sku_id IN \(list(Array(chunk))) ORDER BY system").all()
            for r in rows {
                out[try r.decode(column: "sku_id", as: String.self), default: []].append(
                    ExternalCode(system: try r.decode(column: "system", as: String.self), code: try r.decode(column: "code", as: String.self)))
            }
        }
        return out
    }

    /// SKUs by id or code, with their external codes.
    static func skus(ids: [String], _ sql: any SQLDatabase) async throws -> [SKU] {
        let rows = try await sql.raw("SELECT * FROM skus WHERE id IN \(list(ids)) OR code IN \(list(ids)) ORDER BY id").all()
        let skus = try rows.map(skuRow)
        let codes = try await externalCodes(skuIds: skus.map(\.id), sql)
        return skus.map { var s = $0; s.externalCodes = codes[s.id] ?? []; return s }
    }

    /// The SKUs of these products, grouped by product, in creation order.
    static func skus(productIds: [String], _ sql: any SQLDatabase) async throws -> [String: [SKU]] {
        guard !productIds.isEmpty else { return [:] }
        let rows = try await sql.raw("SELECT * FROM skus WHERE product_id IN \(list(productIds)) ORDER BY id").all()
        let skus = try rows.map(skuRow)
        let codes = try await externalCodes(skuIds: skus.map(\.id), sql)
        return Dictionary(grouping: skus.map { var s = $0; s.externalCodes = codes[s.id] ?? []; return s }, by: \.productId)
    }

    static func channel(_ r: any SQLRow) throws -> SalesChannel {
        SalesChannel(id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
                name: try r.decode(column: "name", as: String.self),
                kind: ChannelKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .web,
                currency: try r.decode(column: "currency", as: String.self), status: try r.decode(column: "status", as: String.self),
                createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func listing(_ r: any SQLRow) throws -> Listing {
        Listing(id: try r.decode(column: "id", as: String.self), skuId: try r.decode(column: "sku_id", as: String.self),
                channelId: try r.decode(column: "channel_id", as: String.self), publishAt: try date(r, "publish_at"),
                unpublishAt: try date(r, "unpublish_at"), clearance: try r.decode(column: "clearance", as: Int.self) != 0,
                version: try r.decode(column: "version", as: Int.self),
                createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func priceList(_ r: any SQLRow) throws -> PriceList {
        PriceList(id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
                  name: try r.decode(column: "name", as: String.self), currency: try r.decode(column: "currency", as: String.self),
                  priority: try r.decode(column: "priority", as: Int.self), channelId: try r.decode(column: "channel_id", as: String?.self),
                  organisationId: try r.decode(column: "organisation_id", as: String?.self),
                  locationId: try r.decode(column: "location_id", as: String?.self),
                  regionCode: try r.decode(column: "region_code", as: String?.self), validFrom: try date(r, "valid_from"),
                  validTo: try date(r, "valid_to"), status: try r.decode(column: "status", as: String.self),
                  version: try r.decode(column: "version", as: Int.self),
                  createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                  updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    /// What decides where a SKU may be sold, keyed by each reference (id or code) that found it.
    struct Sellability: Sendable {
        var id: String
        var code: String
        var productId: String
        var listPrice: Int64
        var currency: String
        var status: CatalogStatus
        var productStatus: CatalogStatus
        var assortment: Assortment
        var onlineFirstUntil: Date?
    }

    static func sellability(skuRefs: [String], _ sql: any SQLDatabase) async throws -> [String: Sellability] {
        var out: [String: Sellability] = [:]
        for chunk in skuRefs.chunked(400) {
            let refs = Array(chunk)
            let rows = try await sql.raw("""
                SELECT s.id, s.code, s.product_id, s.list_price, s.currency, s.status, p.status AS product_status, p.assortment,
                       p.online_first_until
                FROM skus s JOIN products p ON p.id = s.product_id
                WHERE s.id IN \(list(refs)) OR s.code IN \(list(refs))
                """).all()
            for r in rows {
                let s = Sellability(
                    id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
                    productId: try r.decode(column: "product_id", as: String.self),
                    listPrice: try r.decode(column: "list_price", as: Int64.self), currency: try r.decode(column: "currency", as: String.self),
                    status: CatalogStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .draft,
                    productStatus: CatalogStatus(rawValue: try r.decode(column: "product_status", as: String.self)) ?? .draft,
                    assortment: Assortment(rawValue: try r.decode(column: "assortment", as: String.self)) ?? .shared,
                    onlineFirstUntil: try date(r, "online_first_until"))
                out[s.id] = s
                out[s.code] = s
            }
        }
        return out
    }

    // MARK: Writes

    static func insert(_ p: Product, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO products (id, code, name, name_en, description, brand_id, category_id, option_names, attributes, images, unit,
                tax_class, assortment, online_first_until, status, search_text, version, created_at, updated_at)
            VALUES (\(bind: p.id), \(bind: p.code), \(bind: p.name), \(bind: p.nameEn), \(bind: p.description), \(bind: p.brandId),
                \(bind: p.categoryId), \(bind: json(p.optionNames)), \(bind: json(p.attributes)), \(bind: json(p.images)), \(bind: p.unit),
                \(bind: p.taxClass), \(bind: p.assortment.rawValue), \(bind: p.onlineFirstUntil?.epochMillis), \(bind: p.status.rawValue),
                \(bind: SearchText.document(p)), \(bind: p.version), \(bind: p.createdAt.epochMillis), \(bind: p.updatedAt.epochMillis))
            """).run()
    }

    static func update(_ p: Product, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE products SET name = \(bind: p.name), name_en = \(bind: p.nameEn), description = \(bind: p.description),
                brand_id = \(bind: p.brandId), category_id = \(bind: p.categoryId), attributes = \(bind: json(p.attributes)),
                images = \(bind: json(p.images)), unit = \(bind: p.unit), tax_class = \(bind: p.taxClass),
                assortment = \(bind: p.assortment.rawValue), online_first_until = \(bind: p.onlineFirstUntil?.epochMillis),
                status = \(bind: p.status.rawValue), version = \(bind: p.version), updated_at = \(bind: p.updatedAt.epochMillis)
            WHERE id = \(bind: p.id)
            """).run()
    }

    static func insert(_ s: SKU, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO skus (id, product_id, code, barcode, options, list_price, currency, weight_grams, volume_cm3, status, version,
                created_at, updated_at)
            VALUES (\(bind: s.id), \(bind: s.productId), \(bind: s.code), \(bind: s.barcode), \(bind: json(s.options)),
                \(bind: s.listPrice.minorUnits), \(bind: s.listPrice.currency), \(bind: s.weightGrams), \(bind: s.volumeCm3),
                \(bind: s.status.rawValue), \(bind: s.version), \(bind: s.createdAt.epochMillis), \(bind: s.updatedAt.epochMillis))
            """).run()
        try await insertExternalCodes(s, tx)
    }

    static func update(_ s: SKU, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE skus SET barcode = \(bind: s.barcode), list_price = \(bind: s.listPrice.minorUnits), weight_grams = \(bind: s.weightGrams),
                volume_cm3 = \(bind: s.volumeCm3), status = \(bind: s.status.rawValue), version = \(bind: s.version),
                updated_at = \(bind: s.updatedAt.epochMillis)
            WHERE id = \(bind: s.id)
            """).run()
        try await tx.sql.raw("DELETE FROM sku_external_codes WHERE sku_id = \(bind: s.id)").run()
        try await insertExternalCodes(s, tx)
    }

    private static func insertExternalCodes(_ s: SKU, _ tx: Transaction) async throws {
        for e in s.externalCodes {
            try await tx.sql.raw("""
                INSERT INTO sku_external_codes (system, code, sku_id) VALUES (\(bind: e.system), \(bind: e.code), \(bind: s.id))
                """).run()
        }
    }
}

/// Every change of a price, kept for good: the unified retail price and each price list's entries.
enum PriceHistory {
    static func record(_ tx: Transaction, skuId: String, priceListId: String?, old: Int64?, new: Int64?, currency: String,
                       at: Date, caller: Caller, source: String) async throws {
        try await insert([(skuId, priceListId, old, new, currency)], at: at, caller: caller, source: source, tx)
    }

    /// Many changes in multi-row inserts.
    static func insert(_ rows: [(skuId: String, priceListId: String?, old: Int64?, new: Int64?, currency: String)], at now: Date, caller: Caller,
                       source: String, _ tx: Transaction) async throws {
        for chunk in rows.chunked(300) {
            var q: SQLQueryString = "INSERT INTO price_history (id, sku_id, price_list_id, old_price, new_price, currency, at, actor_id, source) VALUES "
            for (i, h) in chunk.enumerated() {
                q += """
                    \(unsafeRaw: i == 0 ? "" : ",")(\(bind: O2OID.make("prh", at: now)), \(bind: h.skuId), \(bind: h.priceListId), \(bind: h.old),
                    \(bind: h.new), \(bind: h.currency), \(bind: now.epochMillis), \(bind: caller.principal.id), \(bind: source))
                    """
            }
            try await tx.sql.raw(q).run()
        }
    }

    static func change(_ r: any SQLRow) throws -> PriceChange {
        PriceChange(id: try r.decode(column: "id", as: String.self), skuId: try r.decode(column: "sku_id", as: String.self),
                    priceListId: try r.decode(column: "price_list_id", as: String?.self),
                    oldPrice: try r.decode(column: "old_price", as: Int64?.self), newPrice: try r.decode(column: "new_price", as: Int64?.self),
                    currency: try r.decode(column: "currency", as: String.self),
                    at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
                    actorId: try r.decode(column: "actor_id", as: String.self), source: try r.decode(column: "source", as: String.self))
    }
}
