import Foundation
import O2OCore
import SQLKit

/// The product master: brands, the category tree, products and their SKUs, channels and what each
/// channel lists. HQ data, readable by every role; every change is validated whole first, then
/// written with its audit row and event in one transaction.
public struct CatalogService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock) {
        self.db = db
        self.clock = clock
        self.recorder = ChangeRecorder(clock: clock)
    }

    // MARK: Brands

    public func createBrand(code: String, name: String, nameEn: String?, caller: Caller) async throws -> Brand {
        var v = Validator()
        v.code(code, "code")
        v.text(name, "name", max: 100)
        v.text(nameEn, "nameEn", required: false, max: 100)
        try v.finish()
        let now = clock.instant()
        let brand = Brand(id: O2OID.make("brd", at: now), code: code, name: name, nameEn: nameEn, createdAt: now)
        try await insertUnique(field: "code", value: code) { tx in
            try await tx.sql.raw("""
                INSERT INTO brands (id, code, name, name_en, created_at)
                VALUES (\(bind: brand.id), \(bind: code), \(bind: name), \(bind: nameEn), \(bind: now.epochMillis))
                """).run()
            try await recorder.record(tx, caller: caller, action: "create", entityType: "brand", entityId: brand.id,
                                      before: Brand?.none, after: brand, organisationId: nil, locationId: nil, event: "brand.created")
        }
        return brand
    }

    public func brands(limit: Int, cursor: String?) async throws -> Page<Brand> {
        try await db.page("SELECT * FROM brands WHERE 1=1", limit: limit, cursor: cursor, map: CatalogRows.brand, id: \.id)
    }

    // MARK: Categories

    public func createCategory(code: String, name: String, nameEn: String?, parentId: String?, caller: Caller) async throws -> Category {
        var v = Validator()
        v.code(code, "code")
        v.text(name, "name", max: 100)
        v.text(nameEn, "nameEn", required: false, max: 100)
        try v.finish()
        let now = clock.instant()
        let id = O2OID.make("cat", at: now)
        return try await insertUnique(field: "code", value: code) { tx in
            var path = "/\(id)/"
            if let parentId {
                guard let parent = try await tx.sql.raw("SELECT path FROM categories WHERE id = \(bind: parentId)").first() else {
                    throw Problem.validation([.init("parentId", "no category '\(parentId)'")])
                }
                path = try parent.decode(column: "path", as: String.self) + "\(id)/"
            }
            let category = Category(id: id, code: code, name: name, nameEn: nameEn, parentId: parentId, path: path, version: 1,
                                    createdAt: now, updatedAt: now)
            try await tx.sql.raw("""
                INSERT INTO categories (id, code, name, name_en, parent_id, path, version, created_at, updated_at)
                VALUES (\(bind: id), \(bind: code), \(bind: name), \(bind: nameEn), \(bind: parentId), \(bind: path), 1,
                        \(bind: now.epochMillis), \(bind: now.epochMillis))
                """).run()
            try await recorder.record(tx, caller: caller, action: "create", entityType: "category", entityId: id,
                                      before: Category?.none, after: category, organisationId: nil, locationId: nil, event: "category.created")
            return category
        }
    }

    public struct CategoryPatch: Sendable {
        public var name: String?
        public var nameEn: String?
        /// Moves the category (and its subtree) under another parent; `.some(nil)` makes it a root.
        public var parentId: String??
        public var expectedVersion: Int?
        public init() {}
    }

    /// Renames or moves a category. A move under itself or one of its descendants is refused: the
    /// tree never gets a cycle.
    public func updateCategory(_ id: String, _ patch: CategoryPatch, caller: Caller) async throws -> Category {
        var v = Validator()
        v.text(patch.name, "name", required: false, max: 100)
        v.text(patch.nameEn, "nameEn", required: false, max: 100)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard let row = try await tx.sql.raw("SELECT * FROM categories WHERE id = \(bind: id)\(unsafeRaw: Self.lock(tx))").first() else {
                throw Problem.notFound("category", id)
            }
            let before = try CatalogRows.category(row)
            if let expected = patch.expectedVersion, expected != before.version {
                throw Problem.conflict("Category \(id) is at version \(before.version), not \(expected).", kind: "version-mismatch")
            }
            var after = before
            if let x = patch.name { after.name = x }
            if let x = patch.nameEn { after.nameEn = x }
            if let newParent = patch.parentId, newParent != before.parentId {
                var newPath = "/\(id)/"
                if let newParent {
                    guard let parent = try await tx.sql.raw("SELECT path FROM categories WHERE id = \(bind: newParent)").first() else {
                        throw Problem.validation([.init("parentId", "no category '\(newParent)'")])
                    }
                    let parentPath = try parent.decode(column: "path", as: String.self)
                    if parentPath.contains("/\(id)/") {
                        throw Problem.validation([.init("parentId", "'\(newParent)' is '\(before.code)' or lies under it: the tree would get a cycle")])
                    }
                    newPath = parentPath + "\(id)/"
                }
                // The subtree keeps its shape: every path below the old one gets the new prefix.
                let subtree = try await tx.sql.raw("SELECT id, path FROM categories WHERE path LIKE \(bind: before.path + "%")").all()
                for r in subtree {
                    let rid = try r.decode(column: "id", as: String.self)
                    let rpath = try r.decode(column: "path", as: String.self)
                    let moved = newPath + rpath.dropFirst(before.path.count)
                    try await tx.sql.raw("UPDATE categories SET path = \(bind: moved) WHERE id = \(bind: rid)").run()
                }
                after.parentId = newParent
                after.path = newPath
            }
            if after == before { return before }
            after.version += 1
            after.updatedAt = now
            try await tx.sql.raw("""
                UPDATE categories SET name = \(bind: after.name), name_en = \(bind: after.nameEn), parent_id = \(bind: after.parentId),
                    version = \(bind: after.version), updated_at = \(bind: now.epochMillis)
                WHERE id = \(bind: id)
                """).run()
            try await recorder.record(tx, caller: caller, action: "update", entityType: "category", entityId: id,
                                      before: before, after: after, organisationId: nil, locationId: nil, event: "category.updated")
            return after
        }
    }

    /// The whole tree, parents before children.
    public func categories() async throws -> [Category] {
        let rows = try await db.read { try await $0.raw("SELECT * FROM categories ORDER BY path").all() }
        return try rows.map(CatalogRows.category)
    }

    // MARK: Products and SKUs

    public struct NewSKU: Sendable {
        public var code: String
        public var barcode: String?
        public var options: [String: String]
        public var listPrice: Int64
        public var currency: String?
        public var weightGrams: Int?
        public var volumeCm3: Int?
        public var status: CatalogStatus?
        public var externalCodes: [ExternalCode]
        public init(code: String, barcode: String? = nil, options: [String: String], listPrice: Int64, currency: String? = nil,
                    weightGrams: Int? = nil, volumeCm3: Int? = nil, status: CatalogStatus? = nil, externalCodes: [ExternalCode] = []) {
            self.code = code
            self.barcode = barcode
            self.options = options
            self.listPrice = listPrice
            self.currency = currency
            self.weightGrams = weightGrams
            self.volumeCm3 = volumeCm3
            self.status = status
            self.externalCodes = externalCodes
        }
    }

    public struct NewProduct: Sendable {
        public var code: String
        public var name: String
        public var nameEn: String?
        public var description: String?
        public var brandId: String
        public var categoryId: String
        public var optionNames: [String]
        public var attributes: [String: String]
        public var images: [String]
        public var unit: String?
        public var taxClass: String?
        public var assortment: Assortment?
        public var onlineFirstUntil: Date?
        public var status: CatalogStatus?
        public var skus: [NewSKU]
        public init(code: String, name: String, nameEn: String? = nil, description: String? = nil, brandId: String, categoryId: String,
                    optionNames: [String], attributes: [String: String] = [:], images: [String] = [], unit: String? = nil,
                    taxClass: String? = nil, assortment: Assortment? = nil, onlineFirstUntil: Date? = nil, status: CatalogStatus? = nil,
                    skus: [NewSKU]) {
            self.code = code
            self.name = name
            self.nameEn = nameEn
            self.description = description
            self.brandId = brandId
            self.categoryId = categoryId
            self.optionNames = optionNames
            self.attributes = attributes
            self.images = images
            self.unit = unit
            self.taxClass = taxClass
            self.assortment = assortment
            self.onlineFirstUntil = onlineFirstUntil
            self.status = status
            self.skus = skus
        }
    }

    /// Creates a style with its variants in one go.
    public func createProduct(_ new: NewProduct, caller: Caller) async throws -> Product {
        var v = Validator()
        Self.validate(product: new, &v)
        for (i, s) in new.skus.enumerated() { Self.validate(sku: s, optionNames: new.optionNames, field: "skus[\(i)]", &v) }
        Self.validateUniqueWithin(new.skus, &v)
        try v.finish()
        let now = clock.instant()
        let productId = O2OID.make("prd", at: now)
        // Ids made in one millisecond differ only in their random part: sort them so id order (the
        // order SKUs are read back in) is the request's order.
        let skuIds = new.skus.map { _ in O2OID.make("sku", at: now) }.sorted()
        let skus = zip(new.skus, skuIds).map { new, id in var s = Self.makeSKU(new, productId: productId, at: now); s.id = id; return s }
        let product = Product(
            id: productId, code: new.code, name: new.name, nameEn: new.nameEn, description: new.description, brandId: new.brandId,
            categoryId: new.categoryId, optionNames: new.optionNames, attributes: new.attributes, images: new.images,
            unit: new.unit ?? "pcs", taxClass: new.taxClass ?? "standard", assortment: new.assortment ?? .shared,
            onlineFirstUntil: new.onlineFirstUntil, status: new.status ?? .draft, version: 1, createdAt: now, updatedAt: now, skus: skus)
        try await insertUnique(field: "code", value: new.code) { tx in
            var refs = Validator()
            if try await tx.sql.raw("SELECT id FROM brands WHERE id = \(bind: new.brandId)").first() == nil {
                refs.add("brandId", "no brand '\(new.brandId)'")
            }
            if try await tx.sql.raw("SELECT id FROM categories WHERE id = \(bind: new.categoryId)").first() == nil {
                refs.add("categoryId", "no category '\(new.categoryId)'")
            }
            try refs.finish()
            if try await tx.sql.raw("SELECT id FROM products WHERE code = \(bind: new.code)").first() != nil {
                throw Problem.duplicate([.init("code", "product code '\(new.code)' is already used")])
            }
            if try await Self.importing(tx), try await tx.sql.raw("""
                SELECT 1 AS x FROM catalog_import_products WHERE code = \(bind: new.code) AND op = 'insert'
                    AND import_id IN (SELECT import_id FROM catalog_import_runs)
                """).first() != nil {
                throw Problem.duplicate([.init("code", "product code '\(new.code)' is being created by an import")])
            }
            try await Self.checkTaken(skus.map { ($0.code, $0.barcode, $0.externalCodes) }, exceptSKUs: [], fieldPrefix: "skus", tx)
            try await CatalogRows.insert(product, tx)
            for sku in skus {
                try await CatalogRows.insert(sku, tx)
                try await PriceHistory.record(tx, skuId: sku.id, priceListId: nil, old: nil, new: sku.listPrice.minorUnits,
                                              currency: sku.listPrice.currency, at: now, caller: caller, source: "api")
            }
            try await Self.indexForSearch([product], tx)
            try await recorder.record(tx, caller: caller, action: "create", entityType: "product", entityId: productId,
                                      before: Product?.none, after: product, organisationId: nil, locationId: nil, event: "product.created")
        }
        return product
    }

    /// Adds a variant to a style.
    public func addSKU(productId: String, _ new: NewSKU, caller: Caller) async throws -> SKU {
        let product = try await self.product(productId)
        var v = Validator()
        Self.validate(sku: new, optionNames: product.optionNames, field: "", &v)
        if product.skus.contains(where: { $0.options == new.options }) {
            v.add("options", "the product already has a SKU with these option values")
        }
        try v.finish()
        let now = clock.instant()
        let sku = Self.makeSKU(new, productId: product.id, at: now)
        try await insertUnique(field: "code", value: new.code) { tx in
            try await Self.checkTaken([(sku.code, sku.barcode, sku.externalCodes)], exceptSKUs: [], fieldPrefix: nil, tx)
            try await CatalogRows.insert(sku, tx)
            try await PriceHistory.record(tx, skuId: sku.id, priceListId: nil, old: nil, new: sku.listPrice.minorUnits,
                                          currency: sku.listPrice.currency, at: now, caller: caller, source: "api")
            var updated = product
            updated.skus.append(sku)
            try await Self.indexForSearch([updated], tx)
            try await recorder.record(tx, caller: caller, action: "create", entityType: "sku", entityId: sku.id,
                                      before: SKU?.none, after: sku, organisationId: nil, locationId: nil, event: "sku.created")
        }
        return sku
    }

    public struct ProductPatch: Sendable {
        public var name: String?
        public var nameEn: String?
        public var description: String?
        public var brandId: String?
        public var categoryId: String?
        public var attributes: [String: String]?
        public var images: [String]?
        public var unit: String?
        public var taxClass: String?
        public var assortment: Assortment?
        public var onlineFirstUntil: Date??
        public var status: CatalogStatus?
        public var expectedVersion: Int?
        public init() {}
    }

    /// `ref`: the product's id or style code.
    public func updateProduct(_ ref: String, _ patch: ProductPatch, caller: Caller) async throws -> Product {
        var v = Validator()
        v.text(patch.name, "name", required: false, max: 200)
        v.text(patch.nameEn, "nameEn", required: false, max: 200)
        v.text(patch.description, "description", required: false, max: 4000)
        v.text(patch.unit, "unit", required: false, max: 20)
        v.text(patch.taxClass, "taxClass", required: false, max: 40)
        if let a = patch.attributes { Self.validate(attributes: a, &v) }
        if let i = patch.images { Self.validate(images: i, &v) }
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard let row = try await tx.sql.raw("SELECT * FROM products WHERE id = \(bind: ref) OR code = \(bind: ref)\(unsafeRaw: Self.lock(tx))").first() else {
                throw Problem.notFound("product", ref)
            }
            var before = try CatalogRows.product(row)
            let id = before.id
            before.skus = try await CatalogRows.skus(productIds: [id], tx.sql)[id] ?? []
            if let expected = patch.expectedVersion, expected != before.version {
                throw Problem.conflict("Product \(id) is at version \(before.version), not \(expected).", kind: "version-mismatch")
            }
            var after = before
            if let x = patch.name { after.name = x }
            if let x = patch.nameEn { after.nameEn = x }
            if let x = patch.description { after.description = x }
            if let x = patch.attributes { after.attributes = x }
            if let x = patch.images { after.images = x }
            if let x = patch.unit { after.unit = x }
            if let x = patch.taxClass { after.taxClass = x }
            if let x = patch.onlineFirstUntil { after.onlineFirstUntil = x }
            if let x = patch.status { after.status = x }
            var refs = Validator()
            if let b = patch.brandId, b != before.brandId {
                if try await tx.sql.raw("SELECT id FROM brands WHERE id = \(bind: b)").first() == nil { refs.add("brandId", "no brand '\(b)'") }
                after.brandId = b
            }
            if let c = patch.categoryId, c != before.categoryId {
                if try await tx.sql.raw("SELECT id FROM categories WHERE id = \(bind: c)").first() == nil { refs.add("categoryId", "no category '\(c)'") }
                after.categoryId = c
            }
            if let a = patch.assortment, a != before.assortment {
                // A product may not become exclusive to one side while the other side lists it.
                let clash = try await Self.listingChannels(productId: id, tx.sql).filter { !Self.assortment(a, allows: $0.kind) }
                if let c = clash.first {
                    refs.add("assortment", "\(a.rawValue) clashes with the listing on channel \(c.code); unlist it first")
                }
                after.assortment = a
            }
            try refs.finish()
            if after == before { return before }
            after.version += 1
            after.updatedAt = now
            try await CatalogRows.update(after, tx)
            try await Self.indexForSearch([after], tx)
            try await recorder.record(tx, caller: caller, action: "update", entityType: "product", entityId: id,
                                      before: before, after: after, organisationId: nil, locationId: nil, event: "product.updated")
            return after
        }
    }

    public struct SKUPatch: Sendable {
        public var barcode: String??
        public var listPrice: Int64?
        public var weightGrams: Int?
        public var volumeCm3: Int?
        public var status: CatalogStatus?
        public var externalCodes: [ExternalCode]?
        public var expectedVersion: Int?
        public init() {}
    }

    public func updateSKU(_ id: String, _ patch: SKUPatch, caller: Caller) async throws -> SKU {
        var v = Validator()
        if let b = patch.barcode, let b, let why = GTIN.problem(b) { v.add("barcode", why) }
        if let p = patch.listPrice, p < 0 { v.add("listPrice", "must not be negative") }
        v.range(patch.weightGrams, "weightGrams", 0...1_000_000)
        v.range(patch.volumeCm3, "volumeCm3", 0...100_000_000)
        if let e = patch.externalCodes { Self.validate(externalCodes: e, field: "externalCodes", &v) }
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard let before = try await CatalogRows.skus(ids: [id], tx.sql).first else { throw Problem.notFound("sku", id) }
            let id = before.id  // `id` may have been the SKU's code
            if let expected = patch.expectedVersion, expected != before.version {
                throw Problem.conflict("SKU \(id) is at version \(before.version), not \(expected).", kind: "version-mismatch")
            }
            var after = before
            if let x = patch.barcode { after.barcode = x }
            if let x = patch.listPrice { after.listPrice.minorUnits = x }
            if let x = patch.weightGrams { after.weightGrams = x }
            if let x = patch.volumeCm3 { after.volumeCm3 = x }
            if let x = patch.status { after.status = x }
            if let x = patch.externalCodes { after.externalCodes = x }
            if after == before { return before }
            try await Self.checkTaken([(after.code, after.barcode, after.externalCodes)], exceptSKUs: [id], fieldPrefix: nil, tx)
            after.version += 1
            after.updatedAt = now
            try await CatalogRows.update(after, tx)
            if after.listPrice != before.listPrice {
                try await PriceHistory.record(tx, skuId: id, priceListId: nil, old: before.listPrice.minorUnits, new: after.listPrice.minorUnits,
                                              currency: after.listPrice.currency, at: now, caller: caller, source: "api")
            }
            if after.barcode != before.barcode {
                var product = try await Self.product(after.productId, tx.sql)
                product.skus = product.skus.map { $0.id == id ? after : $0 }
                try await Self.indexForSearch([product], tx)
            }
            try await recorder.record(tx, caller: caller, action: "update", entityType: "sku", entityId: id,
                                      before: before, after: after, organisationId: nil, locationId: nil, event: "sku.updated")
            return after
        }
    }

    public func product(_ id: String) async throws -> Product {
        try await db.read { try await Self.product(id, $0) }
    }

    static func product(_ id: String, _ sql: any SQLDatabase) async throws -> Product {
        guard let row = try await sql.raw("SELECT * FROM products WHERE id = \(bind: id) OR code = \(bind: id)").first() else {
            throw Problem.notFound("product", id)
        }
        var p = try CatalogRows.product(row)
        p.skus = try await CatalogRows.skus(productIds: [p.id], sql)[p.id] ?? []
        return p
    }

    public func sku(_ idOrCode: String) async throws -> SKU {
        guard let sku = try await db.read({ try await CatalogRows.skus(ids: [idOrCode], $0) }).first else {
            throw Problem.notFound("sku", idOrCode)
        }
        return sku
    }

    /// SKUs by id; unknown ids are left out.
    public func skus(ids: [String]) async throws -> [SKU] {
        var out: [SKU] = []
        for chunk in ids.chunked(300) { out += try await db.read { try await CatalogRows.skus(ids: Array(chunk), $0) } }
        return out
    }

    /// The category of each SKU's product, read in `sql` (a caller's transaction); unknown SKUs are left out.
    public func categoryIds(skuIds: [String], _ sql: any SQLDatabase) async throws -> [String: String] {
        try await classes(skuIds: skuIds, sql).mapValues(\.categoryId)
    }

    /// The category and brand of each SKU's product, in one read per 300 SKUs (what promotions
    /// match a cart's lines and a member's history on); unknown SKUs are left out.
    public func classes(skuIds: [String], _ sql: any SQLDatabase) async throws -> [String: (categoryId: String, brandId: String)] {
        var out: [String: (categoryId: String, brandId: String)] = [:]
        for chunk in Array(Set(skuIds)).chunked(300) {
            for row in try await sql.raw("""
                SELECT s.id, p.category_id, p.brand_id FROM skus s JOIN products p ON p.id = s.product_id WHERE s.id IN \(SQLQueryString.list(Array(chunk)))
                """).all() {
                out[try row.decode(column: "id", as: String.self)] = (try row.decode(column: "category_id", as: String.self),
                                                                     try row.decode(column: "brand_id", as: String.self))
            }
        }
        return out
    }

    /// The SKU id of each reference that is a SKU id, code or barcode; unknown references are left out.
    public func skuIds(_ refs: [String]) async throws -> [String: String] {
        guard !refs.isEmpty else { return [:] }
        var found: [String: String] = [:]
        for start in stride(from: 0, to: refs.count, by: 300) {
            let chunk = Array(refs[start..<min(start + 300, refs.count)])
            let l = CatalogRows.list(chunk)
            let rows = try await db.read { sql in
                try await sql.raw("SELECT id, code, barcode FROM skus WHERE id IN \(l) OR code IN \(l) OR barcode IN \(l)").all()
            }
            let wanted = Set(chunk)
            for r in rows {
                let id = try r.decode(column: "id", as: String.self)
                for key in [id, try r.decode(column: "code", as: String.self), try r.decode(column: "barcode", as: String?.self)].compactMap({ $0 })
                where wanted.contains(key) { found[key] = id }
            }
        }
        return found
    }

    public struct SKUFilter: Sendable {
        public var productId: String?
        public var barcode: String?
        public var code: String?
        public var externalSystem: String?
        public var externalCode: String?
        public var limit = 50
        public var cursor: String?
        public init() {}
    }

    /// SKUs by product, barcode (a scan at the till), code or an external system's code.
    public func skus(_ f: SKUFilter) async throws -> Page<SKU> {
        var q: SQLQueryString = "SELECT * FROM skus WHERE 1=1"
        if let x = f.productId { q += " AND product_id = \(bind: x)" }
        if let x = f.barcode { q += " AND barcode = \(bind: x)" }
        if let x = f.code { q += " AND code = \(bind: x)" }
        if let system = f.externalSystem, let code = f.externalCode {
            q += " AND id IN (SELECT sku_id FROM sku_external_codes WHERE system = \(bind: system) AND code = \(bind: code))"
        }
        let page = try await db.page(q, limit: f.limit, cursor: f.cursor, map: CatalogRows.skuRow, id: \.id)
        let codes = try await db.read { try await CatalogRows.externalCodes(skuIds: page.items.map(\.id), $0) }
        return Page(items: page.items.map { var s = $0; s.externalCodes = codes[s.id] ?? []; return s }, nextCursor: page.nextCursor)
    }

    // MARK: Search

    public struct ProductFilter: Sendable {
        /// A substring of the name (Chinese or English), the style code, a SKU code or a barcode.
        public var text: String?
        public var categoryId: String?
        public var brandId: String?
        public var channelId: String?
        public var status: CatalogStatus?
        public var limit = 50
        public var cursor: String?
        public init() {}
    }

    /// Product search. Text matches as a case-insensitive substring: on SQLite through an FTS5
    /// trigram index, on PostgreSQL through a pg_trgm index; queries under three characters (which
    /// no trigram index can serve) scan. Both engines give the same rows in the same order.
    public func products(_ f: ProductFilter) async throws -> Page<Product> {
        var q: SQLQueryString = "SELECT * FROM products WHERE 1=1"
        if let text = f.text.map(SearchText.normalise), !text.isEmpty {
            if db.engine == .sqlite && text.count >= 3 {
                let phrase = "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                q += " AND id IN (SELECT product_id FROM product_search WHERE doc MATCH \(bind: phrase))"
            } else {
                q += " AND search_text LIKE \(bind: "%" + SearchText.escapeLike(text) + "%") ESCAPE '\\'"
            }
        }
        if let c = f.categoryId {
            q += " AND category_id IN (SELECT id FROM categories WHERE path LIKE (SELECT path FROM categories WHERE id = \(bind: c)) || '%')"
        }
        if let b = f.brandId { q += " AND brand_id = \(bind: b)" }
        if let s = f.status { q += " AND status = \(bind: s.rawValue)" }
        if let ch = f.channelId {
            q += " AND id IN (SELECT s.product_id FROM skus s JOIN listings l ON l.sku_id = s.id WHERE l.channel_id = \(bind: ch))"
        }
        let page = try await db.page(q, limit: f.limit, cursor: f.cursor, map: CatalogRows.product, id: \.id)
        let skus = try await db.read { try await CatalogRows.skus(productIds: page.items.map(\.id), $0) }
        return Page(items: page.items.map { var p = $0; p.skus = skus[p.id] ?? []; return p }, nextCursor: page.nextCursor)
    }

    /// Rewrites the search documents of these products (same transaction as the change).
    /// `columnWritten`: the rows were just inserted with their `search_text`; only the SQLite index is missing.
    static func indexForSearch(_ products: [Product], _ tx: Transaction, columnWritten: Bool = false) async throws {
        guard !products.isEmpty else { return }
        for chunk in products.chunked(400) {
            if tx.engine == .sqlite { try await writeSearchEntries(chunk.map { ($0.id, SearchText.document($0)) }, tx) }
            for p in chunk where !columnWritten {
                try await tx.sql.raw("UPDATE products SET search_text = \(bind: SearchText.document(p)) WHERE id = \(bind: p.id)").run()
            }
        }
    }

    /// SQLite's FTS entries for these products, replacing any they had.
    private static func writeSearchEntries(_ entries: [(id: String, document: String)], _ tx: Transaction) async throws {
        guard !entries.isEmpty else { return }
        // The FTS row's rowid is derived from the product id: deleting by rowid is a lookup,
        // where deleting by an unindexed FTS column would scan the whole index.
        let rowids = entries.map { SearchText.rowid($0.id) }
        var d: SQLQueryString = "DELETE FROM product_search WHERE rowid IN ("
        for (i, r) in rowids.enumerated() { d += "\(unsafeRaw: i == 0 ? "" : ",")\(bind: r)" }
        d += ")"
        try await tx.sql.raw(d).run()
        var q: SQLQueryString = "INSERT INTO product_search (rowid, product_id, doc) VALUES "
        for (i, e) in entries.enumerated() {
            q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: rowids[i]), \(bind: e.id), \(bind: e.document))"
        }
        try await tx.sql.raw(q).run()
    }

    /// Rebuilds the search documents of these products from what the transaction now holds.
    static func reindex(productIds: [String], _ tx: Transaction) async throws {
        for chunk in productIds.chunked(400) {
            let ids = Array(chunk)
            var products = try await tx.sql.raw("SELECT * FROM products WHERE id IN \(CatalogRows.list(ids))").all().map(CatalogRows.product)
            let rows = try await tx.sql.raw("SELECT product_id, code, barcode FROM skus WHERE product_id IN \(CatalogRows.list(ids)) ORDER BY id").all()
            var skus: [String: [SKU]] = [:]
            for r in rows {
                let pid = try r.decode(column: "product_id", as: String.self)
                skus[pid, default: []].append(SKU(
                    id: "", productId: pid, code: try r.decode(column: "code", as: String.self), barcode: try r.decode(column: "barcode", as: String?.self),
                    options: [:], listPrice: Money(minorUnits: 0), weightGrams: nil, volumeCm3: nil, status: .active, externalCodes: [], version: 0,
                    createdAt: Date(), updatedAt: Date()))
            }
            for i in products.indices { products[i].skus = skus[products[i].id] ?? [] }
            try await indexForSearch(products, tx)
        }
    }

    /// Writes the search entries an import left to follow its commit, in short transactions so
    /// other writes go on between them; returns how many products it indexed. The import runs it
    /// before it answers, and the server at start (for an import a crash interrupted).
    @discardableResult
    public func indexPendingSearch(batch: Int = 100) async throws -> Int {
        // Look before taking the writer: the worker asks every few seconds, nearly always for nothing.
        guard try await db.read({ try await $0.raw("SELECT 1 AS x FROM catalog_search_pending LIMIT 1").first() }) != nil else { return 0 }
        var total = 0
        while true {
            let n = try await db.write { tx in
                let rows = try await tx.sql.raw("SELECT product_id, recompute FROM catalog_search_pending ORDER BY product_id LIMIT \(literal: batch)").all()
                guard !rows.isEmpty else { return 0 }
                var rebuild: [String] = [], stored: [String] = []
                for r in rows {
                    let id = try r.decode(column: "product_id", as: String.self)
                    if try r.decode(column: "recompute", as: Int.self) != 0 { rebuild.append(id) } else { stored.append(id) }
                }
                try await Self.reindex(productIds: rebuild, tx)
                if !stored.isEmpty, tx.engine == .sqlite {
                    let docs = try await tx.sql.raw("SELECT id, search_text FROM products WHERE id IN \(CatalogRows.list(stored))").all().map {
                        (id: try $0.decode(column: "id", as: String.self), document: try $0.decode(column: "search_text", as: String.self))
                    }
                    try await Self.writeSearchEntries(docs, tx)
                }
                try await tx.sql.raw("DELETE FROM catalog_search_pending WHERE product_id IN \(CatalogRows.list(rebuild + stored))").run()
                return rows.count
            }
            total += n
            if n < batch { return total }
        }
    }

    // MARK: Channels

    public func createChannel(code: String, name: String, kind: ChannelKind, currency: String?, caller: Caller) async throws -> SalesChannel {
        var v = Validator()
        v.code(code, "code")
        v.text(name, "name", max: 100)
        v.currency(currency, "currency")
        try v.finish()
        let now = clock.instant()
        let channel = SalesChannel(id: O2OID.make("chn", at: now), code: code, name: name, kind: kind, currency: currency ?? "CNY",
                              status: "active", createdAt: now)
        try await insertUnique(field: "code", value: code) { tx in
            try await tx.sql.raw("""
                INSERT INTO channels (id, code, name, kind, currency, status, created_at)
                VALUES (\(bind: channel.id), \(bind: code), \(bind: name), \(bind: kind.rawValue), \(bind: channel.currency), 'active',
                        \(bind: now.epochMillis))
                """).run()
            try await recorder.record(tx, caller: caller, action: "create", entityType: "channel", entityId: channel.id,
                                      before: SalesChannel?.none, after: channel, organisationId: nil, locationId: nil, event: "channel.created")
        }
        return channel
    }

    public func channels() async throws -> [SalesChannel] {
        try await db.read { try await $0.raw("SELECT * FROM channels ORDER BY id").all() }.map(CatalogRows.channel)
    }

    /// A channel by id or code.
    public func channel(_ idOrCode: String) async throws -> SalesChannel {
        try await db.read { try await Self.channel(idOrCode, $0) }
    }

    static func channel(_ idOrCode: String, _ sql: any SQLDatabase) async throws -> SalesChannel {
        guard let row = try await sql.raw("SELECT * FROM channels WHERE id = \(bind: idOrCode) OR code = \(bind: idOrCode)").first() else {
            throw Problem.notFound("channel", idOrCode)
        }
        return try CatalogRows.channel(row)
    }

    // MARK: Listings

    public struct ListingChange: Sendable {
        /// A SKU id or code.
        public var sku: String
        public var publishAt: Date?
        public var unpublishAt: Date?
        public var clearance: Bool
        public init(sku: String, publishAt: Date?, unpublishAt: Date? = nil, clearance: Bool = false) {
            self.sku = sku
            self.publishAt = publishAt
            self.unpublishAt = unpublishAt
            self.clearance = clearance
        }
    }

    /// Lists SKUs on a channel (上架 / 下架, now or at a scheduled time), creating or replacing each
    /// SKU's listing there. Every item is checked first against the assortment rules; one bad item
    /// refuses the whole request.
    public func setListings(channel channelRef: String, _ changes: [ListingChange], caller: Caller) async throws -> [Listing] {
        var v = Validator()
        v.check(!changes.isEmpty && changes.count <= 5_000, "items", "send 1 to 5,000 items")
        var seen = Set<String>()
        for (i, c) in changes.enumerated() {
            if !seen.insert(c.sku).inserted { v.add("items[\(i)].sku", "'\(c.sku)' appears twice") }
            if let p = c.publishAt, let u = c.unpublishAt, u <= p { v.add("items[\(i)].unpublishAt", "must be after publishAt") }
        }
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            let channel: SalesChannel
            do { channel = try await Self.channel(channelRef, tx.sql) } catch {
                throw Problem.validation([.init("channelId", "no channel '\(channelRef)'")])
            }
            let skus = try await CatalogRows.sellability(skuRefs: changes.map(\.sku), tx.sql)
            var v = Validator()
            var seenIds = Set<String>()
            for (i, c) in changes.enumerated() {
                guard let s = skus[c.sku] else { v.add("items[\(i)].sku", "no SKU '\(c.sku)'"); continue }
                // One SKU named by its id and by its code would be listed twice.
                if !seenIds.insert(s.id).inserted { v.add("items[\(i)].sku", "'\(c.sku)' is \(s.code), which another item names too") }
                for (field, message) in Self.listingRefusals(s, c, channel: channel) { v.add("items[\(i)].\(field)", message) }
            }
            try v.finish()
            return try await Self.applyListings(channel, changes.map { (skus[$0.sku]!.id, $0) }, tx, caller: caller, at: now,
                                                recorder: recorder)
        }
    }

    /// Creates or replaces each SKU's listing on the channel, with an audit row and event per change.
    static func applyListings(_ channel: SalesChannel, _ changes: [(skuId: String, change: ListingChange)], _ tx: Transaction, caller: Caller,
                              at now: Date, recorder: ChangeRecorder) async throws -> [Listing] {
        var bySku: [String: Listing] = [:]
        for chunk in changes.map(\.skuId).chunked(400) {
            for r in try await tx.sql.raw("""
                SELECT * FROM listings WHERE channel_id = \(bind: channel.id) AND sku_id IN \(CatalogRows.list(Array(chunk)))
                """).all() {
                let l = try CatalogRows.listing(r)
                bySku[l.skuId] = l
            }
        }
        var result: [Listing] = []
        var changed: [(before: Listing?, after: Listing)] = []
        for (skuId, c) in changes {
            let before = bySku[skuId]
            var after = before ?? Listing(id: O2OID.make("lst", at: now), skuId: skuId, channelId: channel.id, publishAt: nil,
                                          unpublishAt: nil, clearance: false, version: 0, createdAt: now, updatedAt: now)
            after.publishAt = c.publishAt
            after.unpublishAt = c.unpublishAt
            after.clearance = c.clearance
            if let before, after == before { result.append(before); continue }
            after.version += 1
            after.updatedAt = now
            changed.append((before, after))
            result.append(after)
        }
        guard !changed.isEmpty else { return result }
        // New and changed listings in multi-row upserts; one audit row and one event for the batch.
        for chunk in changed.chunked(300) {
            var q: SQLQueryString = "INSERT INTO listings (id, sku_id, channel_id, publish_at, unpublish_at, clearance, version, created_at, updated_at) VALUES "
            for (i, c) in chunk.enumerated() {
                let l = c.after
                q += """
                    \(unsafeRaw: i == 0 ? "" : ",")(\(bind: l.id), \(bind: l.skuId), \(bind: l.channelId), \(bind: l.publishAt?.epochMillis),
                    \(bind: l.unpublishAt?.epochMillis), \(bind: l.clearance ? 1 : 0), \(bind: l.version), \(bind: l.createdAt.epochMillis),
                    \(bind: l.updatedAt.epochMillis))
                    """
            }
            q += """
                 ON CONFLICT (sku_id, channel_id) DO UPDATE SET publish_at = excluded.publish_at, unpublish_at = excluded.unpublish_at,
                    clearance = excluded.clearance, version = excluded.version, updated_at = excluded.updated_at
                """
            try await tx.sql.raw(q).run()
        }
        struct ListingChanges: Encodable {
            let channelId: String
            let channelCode: String
            let created: Int
            let listings: [Listing]
        }
        let before = ListingChanges(channelId: channel.id, channelCode: channel.code, created: 0, listings: changed.compactMap(\.before))
        let after = ListingChanges(channelId: channel.id, channelCode: channel.code, created: changed.filter { $0.before == nil }.count,
                                   listings: changed.map(\.after))
        try await recorder.record(tx, caller: caller, action: "set_listings", entityType: "channel", entityId: channel.id,
                                  before: before, after: after, organisationId: nil, locationId: nil, event: "listings.changed")
        return result
    }

    public struct ListingCounts: Sendable, Equatable {
        public var listed = 0
        public var published = 0
        public var scheduled = 0
        public var clearance = 0
        public init(listed: Int = 0, published: Int = 0, scheduled: Int = 0, clearance: Int = 0) {
            self.listed = listed
            self.published = published
            self.scheduled = scheduled
            self.clearance = clearance
        }
    }

    /// Per channel id: SKUs listed, on sale at `t`, scheduled to go on sale after `t`, marked clearance.
    public func listingCounts(at t: Date) async throws -> [String: ListingCounts] {
        let now = t.epochMillis
        let rows = try await db.read { sql in
            try await sql.raw("""
                SELECT channel_id, COUNT(*) AS listed,
                    SUM(CASE WHEN publish_at IS NOT NULL AND publish_at <= \(bind: now) AND (unpublish_at IS NULL OR unpublish_at > \(bind: now))
                        THEN 1 ELSE 0 END) AS published,
                    SUM(CASE WHEN publish_at > \(bind: now) THEN 1 ELSE 0 END) AS scheduled,
                    SUM(CASE WHEN clearance <> 0 THEN 1 ELSE 0 END) AS clearance
                FROM listings GROUP BY channel_id
                """).all()
        }
        var out: [String: ListingCounts] = [:]
        for r in rows {
            out[try r.decode(column: "channel_id", as: String.self)] = ListingCounts(
                listed: try r.decode(column: "listed", as: Int.self), published: try r.decode(column: "published", as: Int?.self) ?? 0,
                scheduled: try r.decode(column: "scheduled", as: Int?.self) ?? 0, clearance: try r.decode(column: "clearance", as: Int?.self) ?? 0)
        }
        return out
    }

    public struct ListingFilter: Sendable {
        public var channelId: String?
        public var skuId: String?
        public var productId: String?
        public var limit = 50
        public var cursor: String?
        public init() {}
    }

    public func listings(_ f: ListingFilter) async throws -> Page<Listing> {
        var q: SQLQueryString = "SELECT * FROM listings WHERE 1=1"
        if let x = f.channelId { q += " AND channel_id = \(bind: x)" }
        if let x = f.skuId { q += " AND sku_id = \(bind: x)" }
        if let x = f.productId { q += " AND sku_id IN (SELECT id FROM skus WHERE product_id = \(bind: x))" }
        return try await db.page(q, limit: f.limit, cursor: f.cursor, map: CatalogRows.listing, id: \.id)
    }

    /// Why this SKU may not be listed so on this channel: (field, reason) pairs, none when it may.
    static func listingRefusals(_ s: CatalogRows.Sellability, _ c: ListingChange, channel: SalesChannel) -> [(String, String)] {
        var out: [(String, String)] = []
        if !assortment(s.assortment, allows: channel.kind) { out.append(("sku", assortmentRefusal(s.assortment, channel: channel))) }
        if channel.kind.isStore, let until = s.onlineFirstUntil, let p = c.publishAt, p < until {
            out.append(("publishAt", "new product launches online first (新品首销): stores may list it from \(ISO8601DateFormatter().string(from: until))"))
        }
        return out
    }

    static func assortment(_ a: Assortment, allows kind: ChannelKind) -> Bool {
        switch a {
        case .shared: return true
        case .onlineExclusive: return !kind.isStore
        case .storeExclusive: return kind.isStore
        }
    }

    static func assortmentRefusal(_ a: Assortment, channel: SalesChannel) -> String {
        a == .onlineExclusive
            ? "online-exclusive (网络专供) products are never sold in stores; \(channel.code) is a store channel"
            : "store-exclusive (专卖店专供) products are sold in stores only; \(channel.code) is an online channel"
    }

    static func listingChannels(productId: String, _ sql: any SQLDatabase) async throws -> [SalesChannel] {
        try await sql.raw("""
            SELECT * FROM channels WHERE id IN (SELECT l.channel_id FROM listings l JOIN skus s ON s.id = l.sku_id WHERE s.product_id = \(bind: productId))
            """).all().map(CatalogRows.channel)
    }

    public func counts() async throws -> (products: Int, skus: Int, channels: Int, priceLists: Int) {
        try await db.read { sql in
            func n(_ table: String) async throws -> Int {
                try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? 0
            }
            return (try await n("products"), try await n("skus"), try await n("channels"), try await n("price_lists"))
        }
    }
}

// MARK: - Validation

extension CatalogService {
    static func validate(product p: NewProduct, _ v: inout Validator) {
        v.code(p.code, "code")
        v.text(p.name, "name", max: 200)
        v.text(p.nameEn, "nameEn", required: false, max: 200)
        v.text(p.description, "description", required: false, max: 4000)
        v.text(p.unit, "unit", required: false, max: 20)
        v.text(p.taxClass, "taxClass", required: false, max: 40)
        v.check(p.optionNames.count <= 3, "optionNames", "at most 3 options")
        v.check(Set(p.optionNames).count == p.optionNames.count, "optionNames", "names must differ")
        for (i, n) in p.optionNames.enumerated() { v.text(n, "optionNames[\(i)]", max: 40) }
        v.check(!p.skus.isEmpty && p.skus.count <= 1_000, "skus", "a product has 1 to 1,000 SKUs")
        validate(attributes: p.attributes, &v)
        validate(images: p.images, &v)
    }

    static func validate(attributes: [String: String], _ v: inout Validator) {
        v.check(attributes.count <= 50, "attributes", "at most 50 attributes")
        for (k, value) in attributes {
            v.text(k, "attributes", max: 60)
            v.text(value, "attributes.\(k)", max: 500)
        }
    }

    static func validate(images: [String], _ v: inout Validator) {
        v.check(images.count <= 20, "images", "at most 20 images")
        for (i, u) in images.enumerated() {
            guard let url = URL(string: u), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, u.count <= 1000 else {
                v.add("images[\(i)]", "must be an http(s) URL"); continue
            }
        }
    }

    static func validate(externalCodes: [ExternalCode], field: String, _ v: inout Validator) {
        v.check(externalCodes.count <= 20, field, "at most 20 external codes")
        for (i, e) in externalCodes.enumerated() {
            v.code(e.system, "\(field)[\(i)].system")
            v.text(e.code, "\(field)[\(i)].code", max: 100)
        }
        if Set(externalCodes.map(\.system)).count != externalCodes.count { v.add(field, "one code per system") }
    }

    static func validate(sku s: NewSKU, optionNames: [String], field: String, _ v: inout Validator) {
        let f = field.isEmpty ? "" : field + "."
        v.code(s.code, f + "code")
        if let b = s.barcode, let why = GTIN.problem(b) { v.add(f + "barcode", why) }
        if Set(s.options.keys) != Set(optionNames) {
            v.add(f + "options", "must give a value for each of \(optionNames.joined(separator: ", ")) and nothing else")
        }
        for (k, value) in s.options { v.text(value, f + "options.\(k)", max: 60) }
        if s.listPrice < 0 { v.add(f + "listPrice", "must not be negative") }
        if s.listPrice > 100_000_000_00 { v.add(f + "listPrice", "is implausibly high") }
        v.currency(s.currency, f + "currency")
        v.range(s.weightGrams, f + "weightGrams", 0...1_000_000)
        v.range(s.volumeCm3, f + "volumeCm3", 0...100_000_000)
        validate(externalCodes: s.externalCodes, field: f + "externalCodes", &v)
    }

    /// Codes, barcodes and option combinations must differ within one request.
    static func validateUniqueWithin(_ skus: [NewSKU], _ v: inout Validator) {
        var codes: [String: Int] = [:], barcodes: [String: Int] = [:], combos: [[String: String]] = []
        for (i, s) in skus.enumerated() {
            if let j = codes[s.code] { v.add("skus[\(i)].code", "'\(s.code)' repeats skus[\(j)]") } else { codes[s.code] = i }
            if let b = s.barcode {
                if let j = barcodes[b] { v.add("skus[\(i)].barcode", "'\(b)' repeats skus[\(j)]") } else { barcodes[b] = i }
            }
            if let j = combos.firstIndex(of: s.options) { v.add("skus[\(i)].options", "the same option values as skus[\(j)]") }
            combos.append(s.options)
        }
    }

    /// Refuses codes, barcodes or external codes that other SKUs already hold, naming each one.
    static func checkTaken(_ items: [(code: String, barcode: String?, external: [ExternalCode])], exceptSKUs: [String], fieldPrefix: String?,
                           _ tx: Transaction) async throws {
        var errors: [Problem.FieldError] = []
        let except = exceptSKUs.isEmpty ? [""] : exceptSKUs
        for (i, item) in items.enumerated() {
            let f = fieldPrefix.map { "\($0)[\(i)]." } ?? ""
            if exceptSKUs.isEmpty, let r = try await tx.sql.raw("SELECT id FROM skus WHERE code = \(bind: item.code)").first() {
                errors.append(.init(f + "code", "SKU code '\(item.code)' is already used by \(try r.decode(column: "id", as: String.self))"))
            }
            if let b = item.barcode, let r = try await tx.sql.raw("""
                SELECT code FROM skus WHERE barcode = \(bind: b) AND id NOT IN \(CatalogRows.list(except))
                """).first() {
                errors.append(.init(f + "barcode", "barcode \(b) already belongs to SKU \(try r.decode(column: "code", as: String.self))"))
            }
            for e in item.external {
                if let r = try await tx.sql.raw("""
                    SELECT sku_id FROM sku_external_codes WHERE system = \(bind: e.system) AND code = \(bind: e.code)
                        AND sku_id NOT IN \(CatalogRows.list(except))
                    """).first() {
                    errors.append(.init(f + "externalCodes", "\(e.system) code \(e.code) already maps to \(try r.decode(column: "sku_id", as: String.self))"))
                }
            }
        }
        if try await importing(tx) {
            let runs: SQLQueryString = "import_id IN (SELECT import_id FROM catalog_import_runs)"
            for (i, item) in items.enumerated() {
                let f = fieldPrefix.map { "\($0)[\(i)]." } ?? ""
                if exceptSKUs.isEmpty, try await tx.sql.raw("""
                    SELECT 1 AS x FROM catalog_import_skus WHERE \(runs) AND code = \(bind: item.code) AND op = 'insert'
                    """).first() != nil {
                    errors.append(.init(f + "code", "SKU code '\(item.code)' is being created by an import"))
                }
                if let b = item.barcode, try await tx.sql.raw("""
                    SELECT 1 AS x FROM catalog_import_skus WHERE \(runs) AND barcode = \(bind: b) AND id NOT IN \(CatalogRows.list(except))
                    """).first() != nil {
                    errors.append(.init(f + "barcode", "barcode \(b) is being given to another SKU by an import"))
                }
                for e in item.external where try await tx.sql.raw("""
                    SELECT 1 AS x FROM catalog_import_codes WHERE \(runs) AND system = \(bind: e.system) AND code = \(bind: e.code)
                        AND sku_id NOT IN \(CatalogRows.list(except))
                    """).first() != nil {
                    errors.append(.init(f + "externalCodes", "\(e.system) code \(e.code) is being mapped to another SKU by an import"))
                }
            }
        }
        if !errors.isEmpty { throw Problem.duplicate(errors) }
    }

    /// Whether an accepted import is still being applied (on SQLite, a chunk at a time): until it
    /// is done, the values its file takes are held for it.
    static func importing(_ tx: Transaction) async throws -> Bool {
        guard tx.engine == .sqlite else { return false }
        return try await tx.sql.raw("SELECT 1 AS x FROM catalog_import_runs LIMIT 1").first() != nil
    }

    static func makeSKU(_ s: NewSKU, productId: String, at now: Date) -> SKU {
        SKU(id: O2OID.make("sku", at: now), productId: productId, code: s.code, barcode: s.barcode, options: s.options,
            listPrice: Money(minorUnits: s.listPrice, currency: s.currency ?? "CNY"), weightGrams: s.weightGrams, volumeCm3: s.volumeCm3,
            status: s.status ?? .active, externalCodes: s.externalCodes, version: 1, createdAt: now, updatedAt: now)
    }

    static func lock(_ tx: Transaction) -> String { tx.engine == .postgres ? " FOR UPDATE" : "" }

    /// Runs an insert; a unique violation that slipped past the checks (a racing twin) becomes 409.
    @discardableResult
    func insertUnique<T: Sendable>(field: String, value: String, _ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        do {
            return try await db.write(body)
        } catch where Database.classify(error) == .uniqueViolation {
            throw Problem.duplicate([.init(field, "'\(value)' is already used")])
        }
    }
}

/// The text products are searched by: lower-cased, one field per line.
enum SearchText {
    static func normalise(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    static func document(_ p: Product) -> String {
        var parts = [p.code, p.name]
        if let e = p.nameEn { parts.append(e) }
        for s in p.skus {
            parts.append(s.code)
            if let b = s.barcode { parts.append(b) }
        }
        return parts.joined(separator: "\n").lowercased()
    }

    /// A stable positive 63-bit key for a product id (FNV-1a): the product's row in the SQLite FTS index.
    static func rowid(_ productId: String) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in productId.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return Int64(bitPattern: h & 0x7FFF_FFFF_FFFF_FFFF)
    }

    static func escapeLike(_ text: String) -> String {
        var out = ""
        for c in text {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}


