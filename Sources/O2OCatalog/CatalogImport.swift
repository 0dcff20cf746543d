import Foundation
import O2OCore
import SQLKit
import Synchronization

/// Bulk CSV import and export of SKUs (with their products), listings and prices.
///
/// An import reads and checks every row first — against the file itself and the database — and
/// reports every bad row with its line number and reason. Only a file without errors is applied,
/// whole; a file with errors writes nothing. Parsing and checking run outside the writer and yield
/// regularly, and a SKU file is written in short transactions (see `Run`), so a 100,000-row file
/// does not hold up other requests.
public struct CatalogImporter: Sendable {
    public enum Kind: String, Sendable, CaseIterable { case skus, listings, prices }

    public static let headers: [Kind: [String]] = [
        .skus: ["product_code", "product_name", "product_name_en", "brand_code", "category_code", "assortment", "unit", "tax_class",
                "product_status", "sku_code", "barcode", "options", "list_price", "currency", "weight_g", "volume_cm3", "sku_status",
                "external_codes"],
        .listings: ["channel_code", "sku_code", "publish_at", "unpublish_at", "clearance"],
        .prices: ["price_list_code", "sku_code", "price"],
    ]

    public struct Result: Sendable, Equatable {
        public var kind: Kind
        public var dryRun: Bool
        public var rows: Int
        public var created: Int
        public var updated: Int
        public var unchanged: Int
    }

    /// Errors carry a line; the first `maxErrors` are reported, with the total.
    public static let maxErrors = 1_000

    let catalog: CatalogService
    let prices: PriceService
    /// The imports this process is applying.
    let active = ActiveImports()

    public init(catalog: CatalogService, prices: PriceService) {
        self.catalog = catalog
        self.prices = prices
    }

    var db: Database { catalog.db }

    public func importCSV(_ kind: Kind, text: String, dryRun: Bool, caller: Caller) async throws -> Result {
        try await importCSV(kind, text: text, dryRun: dryRun, caller: caller, applyAccepted: true)
    }

    /// `applyAccepted: false` stops a SKU import at its commit point, as a crash there would (tests).
    func importCSV(_ kind: Kind, text: String, dryRun: Bool, caller: Caller, applyAccepted: Bool) async throws -> Result {
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch {
            switch error {
            case .unterminatedQuote(let line): throw Self.problem([.init("csv", "a quoted field is never closed", line: line)], total: 1)
            case .textAfterQuote(let line): throw Self.problem([.init("csv", "text after a closing quote", line: line)], total: 1)
            }
        }
        guard let header = records.first else { throw Self.problem([.init("csv", "the file is empty", line: 1)], total: 1) }
        let expected = Self.headers[kind]!
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let missing = expected.filter { !columns.contains($0) && Self.required[kind]!.contains($0) }
        if !missing.isEmpty {
            throw Self.problem([.init("header", "missing column(s) \(missing.joined(separator: ", ")); expected \(expected.joined(separator: ","))", line: header.line)], total: 1)
        }
        let index = Dictionary(columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = records.dropFirst().map { Row(line: $0.line, fields: $0.fields, index: index) }
        switch kind {
        case .skus: return try await importSKUs(rows, dryRun: dryRun, caller: caller, applyAccepted: applyAccepted)
        case .listings: return try await importListings(rows, dryRun: dryRun, caller: caller)
        case .prices: return try await importPrices(rows, dryRun: dryRun, caller: caller)
        }
    }

    static let required: [Kind: Set<String>] = [
        .skus: ["product_code", "product_name", "brand_code", "category_code", "sku_code", "options", "list_price"],
        .listings: ["channel_code", "sku_code"],
        .prices: ["price_list_code", "sku_code", "price"],
    ]

    struct Row: Sendable {
        let line: Int
        let fields: [String]
        let index: [String: Int]
        subscript(_ column: String) -> String? {
            guard let i = index[column], i < fields.count else { return nil }
            let v = fields[i].trimmingCharacters(in: .whitespaces)
            return v.isEmpty ? nil : v
        }
    }

    struct Errors {
        var list: [Problem.FieldError] = []
        var total = 0
        mutating func add(_ line: Int, _ field: String, _ message: String) {
            total += 1
            if list.count < CatalogImporter.maxErrors { list.append(.init(field, message, line: line)) }
        }
        mutating func add(_ line: Int, from v: Validator) {
            for e in v.errors { add(line, e.field, e.message) }
        }
        func finish() throws {
            if total > 0 { throw CatalogImporter.problem(list, total: total) }
        }
    }

    public static func problem(_ errors: [Problem.FieldError], total: Int) -> Problem {
        Problem(kind: "import-rejected", title: "The import has errors; nothing was written", status: 422,
                detail: "\(total) error(s) in the file" + (total > errors.count ? "; the first \(errors.count) are listed" : "")
                    + ". Fix them and send the whole file again.",
                errors: errors)
    }

    // MARK: SKUs

    struct SKURow {
        let line: Int
        let productCode: String
        let productName: String
        let productNameEn: String?
        let brandId: String
        let categoryId: String
        let assortment: Assortment
        let unit: String
        let taxClass: String
        let productStatus: CatalogStatus
        let sku: CatalogService.NewSKU
        let optionOrder: [String]
    }

    private func importSKUs(_ rows: [Row], dryRun: Bool, caller: Caller, applyAccepted apply: Bool) async throws -> Result {
        let (brands, categories) = try await db.read { sql in
            let b = try await sql.raw("SELECT id, code FROM brands").all()
            let c = try await sql.raw("SELECT id, code FROM categories").all()
            func map(_ rows: [any SQLRow]) throws -> [String: String] {
                Dictionary(try rows.map { (try $0.decode(column: "code", as: String.self), try $0.decode(column: "id", as: String.self)) },
                           uniquingKeysWith: { a, _ in a })
            }
            return (try map(b), try map(c))
        }
        var errors = Errors()
        var parsed: [SKURow] = []
        parsed.reserveCapacity(rows.count)
        for (n, r) in rows.enumerated() {
            if n % 2_000 == 0 { await Task.yield() }
            var v = Validator()
            let currency = r["currency"] ?? "CNY"
            v.currency(currency, "currency")
            let price = r["list_price"].flatMap { Money.parseMinorUnits($0, currency: currency) }
            if r["list_price"] == nil { v.add("list_price", "is required") } else if price == nil {
                v.add("list_price", "must be a non-negative amount with at most \(Money.minorDigits(currency)) decimals, e.g. 199.00")
            }
            let options = Self.pairs(r["options"])
            if r["options"] != nil && options == nil { v.add("options", "write name=value pairs separated by ';', e.g. colour=黑色;size=M") }
            let external = Self.pairs(r["external_codes"])
            if r["external_codes"] != nil && external == nil { v.add("external_codes", "write system=code pairs separated by ';'") }
            let brandId = r["brand_code"].flatMap { brands[$0] }
            if let b = r["brand_code"], brandId == nil { v.add("brand_code", "no brand '\(b)'") }
            let categoryId = r["category_code"].flatMap { categories[$0] }
            if let c = r["category_code"], categoryId == nil { v.add("category_code", "no category '\(c)'") }
            let assortment = r["assortment"].map { Assortment(rawValue: $0) } ?? .shared
            if assortment == nil { v.add("assortment", "must be one of shared, online_exclusive, store_exclusive") }
            let productStatus = r["product_status"].map { CatalogStatus(rawValue: $0) } ?? .active
            if productStatus == nil { v.add("product_status", "must be draft, active or discontinued") }
            let skuStatus = r["sku_status"].map { CatalogStatus(rawValue: $0) } ?? .active
            if skuStatus == nil { v.add("sku_status", "must be draft, active or discontinued") }
            let weight = r["weight_g"].map { Int($0) }
            if let w = weight, w == nil { v.add("weight_g", "must be a whole number of grams") }
            let volume = r["volume_cm3"].map { Int($0) }
            if let x = volume, x == nil { v.add("volume_cm3", "must be a whole number of cm³") }
            v.code(r["product_code"], "product_code")
            v.text(r["product_name"], "product_name", max: 200)
            v.text(r["product_name_en"], "product_name_en", required: false, max: 200)
            v.text(r["unit"], "unit", required: false, max: 20)
            v.text(r["tax_class"], "tax_class", required: false, max: 40)
            for required in ["brand_code", "category_code", "sku_code", "options"] where r[required] == nil { v.add(required, "is required") }
            let sku = CatalogService.NewSKU(
                code: r["sku_code"] ?? "", barcode: r["barcode"], options: Dictionary(options ?? [], uniquingKeysWith: { a, _ in a }),
                listPrice: price ?? 0, currency: currency, weightGrams: weight ?? nil, volumeCm3: volume ?? nil, status: skuStatus ?? .active,
                externalCodes: (external ?? []).map { ExternalCode(system: $0.0, code: $0.1) })
            if r["sku_code"] != nil, let options {
                var sv = Validator()
                CatalogService.validate(sku: sku, optionNames: options.map(\.0), field: "", &sv)
                for e in sv.errors { v.add(Self.column(e.field), e.message) }
            }
            if !v.errors.isEmpty { errors.add(r.line, from: v); continue }
            parsed.append(SKURow(
                line: r.line, productCode: r["product_code"]!, productName: r["product_name"]!, productNameEn: r["product_name_en"],
                brandId: brandId!, categoryId: categoryId!, assortment: assortment!, unit: r["unit"] ?? "pcs", taxClass: r["tax_class"] ?? "standard",
                productStatus: productStatus!, sku: sku, optionOrder: options!.map(\.0)))
        }

        // Within the file: one SKU code and one barcode per row; one description and one option set per product.
        var firstOfProduct: [String: SKURow] = [:]
        var codeLine: [String: Int] = [:], barcodeLine: [String: Int] = [:], comboLine: [String: Int] = [:], externalLine: [ExternalCode: Int] = [:]
        for (n, r) in parsed.enumerated() {
            if n % 5_000 == 0 { await Task.yield() }
            if let l = codeLine[r.sku.code] { errors.add(r.line, "sku_code", "'\(r.sku.code)' is also on line \(l)") } else { codeLine[r.sku.code] = r.line }
            if let b = r.sku.barcode {
                if let l = barcodeLine[b] { errors.add(r.line, "barcode", "\(b) is also on line \(l)") } else { barcodeLine[b] = r.line }
            }
            for e in r.sku.externalCodes {
                if let l = externalLine[e] { errors.add(r.line, "external_codes", "\(e.system)=\(e.code) is also on line \(l)") } else { externalLine[e] = r.line }
            }
            let combo = r.productCode + "\u{1}" + r.optionOrder.sorted().map { "\($0)=\(r.sku.options[$0]!)" }.joined(separator: ";")
            if let l = comboLine[combo] { errors.add(r.line, "options", "the same option values for \(r.productCode) as line \(l)") } else { comboLine[combo] = r.line }
            if let first = firstOfProduct[r.productCode] {
                for (field, same) in [("product_name", first.productName == r.productName), ("brand_code", first.brandId == r.brandId),
                                      ("category_code", first.categoryId == r.categoryId), ("assortment", first.assortment == r.assortment),
                                      ("options", Set(first.optionOrder) == Set(r.optionOrder))] where !same {
                    errors.add(r.line, field, "differs from line \(first.line) of the same product \(r.productCode)")
                }
            } else {
                firstOfProduct[r.productCode] = r
            }
        }

        // Against the database: existing products and SKUs are updated, not duplicated.
        let existing = try await existingCatalog(productCodes: Array(firstOfProduct.keys), skuCodes: parsed.map(\.sku.code),
                                                 barcodes: parsed.compactMap(\.sku.barcode), externalCodes: Array(externalLine.keys))
        for (n, r) in parsed.enumerated() {
            if n % 5_000 == 0 { await Task.yield() }
            if let s = existing.skusByCode[r.sku.code], let p = existing.productsById[s.productId], p.code != r.productCode {
                errors.add(r.line, "sku_code", "'\(r.sku.code)' belongs to product \(p.code); a SKU cannot move to another product")
            }
            if let b = r.sku.barcode, let owner = existing.barcodeOwner[b], owner != r.sku.code,
               codeLine[owner] == nil || parsed.first(where: { $0.sku.code == owner })?.sku.barcode == b {
                errors.add(r.line, "barcode", "\(b) already belongs to SKU \(owner)")
            }
            for e in r.sku.externalCodes {
                if let owner = existing.externalOwner[e], owner != r.sku.code,
                   codeLine[owner] == nil || parsed.first(where: { $0.sku.code == owner })?.sku.externalCodes.contains(e) == true {
                    errors.add(r.line, "external_codes", "\(e.system)=\(e.code) already maps to SKU \(owner)")
                }
            }
            if let p = existing.productsByCode[r.productCode], Set(p.optionNames) != Set(r.optionOrder) {
                errors.add(r.line, "options", "product \(r.productCode) has options \(p.optionNames.joined(separator: ", "))")
            } else if let s = existing.skusByCode[r.sku.code] {
                // As through the API, a SKU's option values are what it is: they do not change.
                if s.options != r.sku.options { errors.add(r.line, "options", "\(s.code) is \(Self.describe(s.options)); a SKU's option values cannot change") }
            } else if let p = existing.productsByCode[r.productCode], let twin = existing.skuByOptions[p.id]?[r.sku.options] {
                errors.add(r.line, "options", "product \(r.productCode) already has \(Self.describe(r.sku.options)) as SKU \(twin)")
            }
        }
        // A product may not become exclusive to one side while the other side lists it (as updateProduct refuses).
        for (code, first) in firstOfProduct {
            guard let p = existing.productsByCode[code], p.assortment != first.assortment else { continue }
            let channels = try await db.read { try await CatalogService.listingChannels(productId: p.id, $0) }
            if let c = channels.first(where: { !CatalogService.assortment(first.assortment, allows: $0.kind) }) {
                errors.add(first.line, "assortment", "\(first.assortment.rawValue) clashes with the listing on channel \(c.code); unlist it first")
            }
        }
        try errors.finish()

        let newSKUs = parsed.filter { existing.skusByCode[$0.sku.code] == nil }.count
        let newProducts = firstOfProduct.keys.filter { existing.productsByCode[$0] == nil }.count
        var result = Result(kind: .skus, dryRun: dryRun, rows: parsed.count, created: newSKUs, updated: 0, unchanged: 0)
        let changedSKUs = parsed.filter { r in
            guard let s = existing.skusByCode[r.sku.code] else { return false }
            return s.barcode != r.sku.barcode || s.listPrice.minorUnits != r.sku.listPrice || s.weightGrams != r.sku.weightGrams
                || s.volumeCm3 != r.sku.volumeCm3 || s.status != (r.sku.status ?? .active) || s.listPrice.currency != (r.sku.currency ?? "CNY")
                || s.options != r.sku.options || Set(s.externalCodes) != Set(r.sku.externalCodes)
        }
        result.updated = changedSKUs.count
        result.unchanged = parsed.count - newSKUs - changedSKUs.count
        if dryRun { return result }

        let now = catalog.clock.instant()
        let groups = Dictionary(grouping: parsed, by: \.productCode)
        let importId = O2OID.make("imp", at: now)
        // The plan, in memory: every product and SKU row as it will be, and what changes.
        var products: [(product: Product, op: StagedOp)] = []
        for (code, rows) in groups {
            let first = rows[0]
            if var p = existing.productsByCode[code] {
                let before = p
                p.name = first.productName
                p.nameEn = first.productNameEn
                p.brandId = first.brandId
                p.categoryId = first.categoryId
                p.assortment = first.assortment
                p.unit = first.unit
                p.taxClass = first.taxClass
                p.status = first.productStatus
                if p != before {
                    p.version += 1
                    p.updatedAt = now
                }
                // An existing product's search document is rebuilt either way: its SKUs may have changed.
                products.append((p, p != before ? .update : .touch))
            } else {
                let p = Product(id: O2OID.make("prd", at: now), code: code, name: first.productName, nameEn: first.productNameEn,
                                description: nil, brandId: first.brandId, categoryId: first.categoryId, optionNames: first.optionOrder,
                                attributes: [:], images: [], unit: first.unit, taxClass: first.taxClass, assortment: first.assortment,
                                onlineFirstUntil: nil, status: first.productStatus, version: 1, createdAt: now, updatedAt: now, skus: [])
                products.append((p, .insert))
            }
        }
        let productIds = Dictionary(products.map { ($0.product.code, $0.product.id) }, uniquingKeysWith: { a, _ in a })
        var skus: [StagedSKU] = []
        var history: [(skuId: String, priceListId: String?, old: Int64?, new: Int64?, currency: String)] = []
        // Sorted, so the new SKUs' id order (the order they are read back in) is the file's order.
        var newIds = (0..<newSKUs).map { _ in O2OID.make("sku", at: now) }.sorted().makeIterator()
        for r in parsed {
            if var s = existing.skusByCode[r.sku.code] {
                let before = s
                s.barcode = r.sku.barcode
                s.listPrice = Money(minorUnits: r.sku.listPrice, currency: r.sku.currency ?? "CNY")
                s.weightGrams = r.sku.weightGrams
                s.volumeCm3 = r.sku.volumeCm3
                s.status = r.sku.status ?? .active
                // The same codes in another order are no change (the counts above compare sets too).
                let codesChanged = Set(r.sku.externalCodes) != Set(before.externalCodes)
                if codesChanged { s.externalCodes = r.sku.externalCodes }
                guard s != before else { continue }
                s.version += 1
                s.updatedAt = now
                skus.append(StagedSKU(sku: s, op: .update, codesChanged: codesChanged))
                if s.listPrice != before.listPrice {
                    history.append((s.id, nil, before.listPrice.minorUnits, s.listPrice.minorUnits, s.listPrice.currency))
                }
            } else {
                var s = CatalogService.makeSKU(r.sku, productId: productIds[r.productCode]!, at: now)
                s.id = newIds.next()!
                skus.append(StagedSKU(sku: s, op: .insert, codesChanged: true))
                history.append((s.id, nil, nil, s.listPrice.minorUnits, s.listPrice.currency))
            }
        }
        // New products carry their search document from the start.
        let newSKUsByProduct = Dictionary(grouping: skus.filter { $0.op == .insert }.map(\.sku), by: \.productId)
        for i in products.indices where products[i].op == .insert { products[i].product.skus = newSKUsByProduct[products[i].product.id] ?? [] }

        // Staged in short transactions, so other writes go on between them; then applied.
        let staged = (products: products, skus: skus, history: history)
        let run = Run(importId: importId, caller: caller,
                      summary: Run.Summary(kind: "skus", rows: result.rows, created: result.created, updated: result.updated,
                                           newProducts: newProducts))
        let started = ContinuousClock.now
        var timings: [String: String] = [:]
        func lap(_ name: String, since: ContinuousClock.Instant) { timings[name] = "\(ContinuousClock.now - since)" }
        active.insert(importId)
        defer { active.remove(importId) }
        do {
            for chunk in staged.products.chunked(Self.stagingChunk) { try await db.write { try await Self.stage(products: Array(chunk), importId, $0) } }
            for chunk in staged.skus.chunked(Self.stagingChunk) { try await db.write { try await Self.stage(skus: Array(chunk), importId, $0) } }
            for chunk in staged.history.chunked(Self.stagingChunk) {
                try await db.write { try await Self.stage(history: Array(chunk), importId, at: now, caller: caller, $0) }
            }
            lap("staged", since: started)
            let accepting = ContinuousClock.now
            if db.engine == .postgres {
                // PostgreSQL's writers do not wait for one another: the whole file goes in one transaction.
                try await db.write { [recorder = catalog.recorder] tx in
                    try await Self.accept(run, tx)
                    _ = try await Self.applyChunk(importId, products: nil, tx)
                    try await Self.finish(importId, recorder: recorder, tx)
                }
                lap("applied", since: accepting)
            } else {
                try await db.write { try await Self.accept(run, $0) }
                lap("accepted", since: accepting)
            }
        } catch {
            try? await discardStaged(importId)
            throw error
        }
        guard apply else { return result }
        if db.engine == .sqlite {
            // Accepted: from here the import only goes forward, a chunk of products per transaction.
            let applying = ContinuousClock.now
            try await applyAccepted(importId)
            lap("applied", since: applying)
        }
        // The search entries follow in short transactions too; the answer waits for them. The import
        // has committed: should this fail, the catalog worker finishes the entries.
        let indexing = ContinuousClock.now
        do { try await catalog.indexPendingSearch() } catch {
            db.logger.warning("search entries after an import are left to the catalog worker", metadata: ["error": "\(error)"])
        }
        lap("indexed", since: indexing)
        db.logger.info("catalog import", metadata: ["import": "\(importId)", "rows": "\(result.rows)"].merging(timings.mapValues { .string($0) }) { a, _ in a })
        return result
    }

    /// Rows per staging transaction: long enough to amortise the commit, short enough that a
    /// write waiting behind it barely notices.
    static let stagingChunk = 250

    enum StagedOp: String, Sendable { case insert, update, touch }

    struct StagedSKU: Sendable {
        var sku: SKU
        var op: StagedOp
        /// Its external codes are replaced by the staged ones.
        var codesChanged: Bool
    }

    static func stage(products: [(product: Product, op: StagedOp)], _ importId: String, _ tx: Transaction) async throws {
        var q: SQLQueryString = """
            INSERT INTO catalog_import_products (import_id, op, id, code, name, name_en, description, brand_id, category_id, option_names,
                attributes, images, unit, tax_class, assortment, online_first_until, status, search_text, version, created_at, updated_at) VALUES
            """
        for (i, (p, op)) in products.enumerated() {
            q += """
                \(unsafeRaw: i == 0 ? "" : ",")(\(bind: importId), \(bind: op.rawValue), \(bind: p.id), \(bind: p.code), \(bind: p.name),
                \(bind: p.nameEn), \(bind: p.description), \(bind: p.brandId), \(bind: p.categoryId), \(bind: CatalogRows.json(p.optionNames)),
                \(bind: CatalogRows.json(p.attributes)), \(bind: CatalogRows.json(p.images)), \(bind: p.unit), \(bind: p.taxClass),
                \(bind: p.assortment.rawValue), \(bind: p.onlineFirstUntil?.epochMillis), \(bind: p.status.rawValue),
                \(bind: op == .insert ? SearchText.document(p) : ""), \(bind: p.version), \(bind: p.createdAt.epochMillis),
                \(bind: p.updatedAt.epochMillis))
                """
        }
        try await tx.sql.raw(q).run()
    }

    static func stage(skus: [StagedSKU], _ importId: String, _ tx: Transaction) async throws {
        var q: SQLQueryString = """
            INSERT INTO catalog_import_skus (import_id, op, codes_changed, id, product_id, code, barcode, options, list_price, currency,
                weight_grams, volume_cm3, status, version, created_at, updated_at) VALUES
            """
        for (i, r) in skus.enumerated() {
            let s = r.sku
            q += """
                \(unsafeRaw: i == 0 ? "" : ",")(\(bind: importId), \(bind: r.op.rawValue), \(bind: r.codesChanged ? 1 : 0), \(bind: s.id),
                \(bind: s.productId), \(bind: s.code), \(bind: s.barcode), \(bind: CatalogRows.json(s.options)), \(bind: s.listPrice.minorUnits),
                \(bind: s.listPrice.currency), \(bind: s.weightGrams), \(bind: s.volumeCm3), \(bind: s.status.rawValue), \(bind: s.version),
                \(bind: s.createdAt.epochMillis), \(bind: s.updatedAt.epochMillis))
                """
        }
        try await tx.sql.raw(q).run()
        let codes = skus.filter(\.codesChanged).flatMap { r in r.sku.externalCodes.map { (r.sku.id, $0) } }
        for chunk in codes.chunked(300) {
            var q: SQLQueryString = "INSERT INTO catalog_import_codes (import_id, system, code, sku_id) VALUES "
            for (i, (id, e)) in chunk.enumerated() {
                q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: importId), \(bind: e.system), \(bind: e.code), \(bind: id))"
            }
            try await tx.sql.raw(q).run()
        }
    }

    static func stage(history: [(skuId: String, priceListId: String?, old: Int64?, new: Int64?, currency: String)], _ importId: String,
                      at now: Date, caller: Caller, _ tx: Transaction) async throws {
        for chunk in history.chunked(300) {
            var q: SQLQueryString = """
                INSERT INTO catalog_import_history (import_id, id, sku_id, price_list_id, old_price, new_price, currency, at, actor_id, source) VALUES
                """
            for (i, h) in chunk.enumerated() {
                q += """
                    \(unsafeRaw: i == 0 ? "" : ",")(\(bind: importId), \(bind: O2OID.make("prh", at: now)), \(bind: h.skuId), \(bind: h.priceListId),
                    \(bind: h.old), \(bind: h.new), \(bind: h.currency), \(bind: now.epochMillis), \(bind: caller.principal.id), 'import')
                    """
            }
            try await tx.sql.raw(q).run()
        }
    }

    /// An import that has passed every check and is being applied. On SQLite its row is the
    /// import's commit point: once written, the import is applied whole — by the request, or after
    /// a crash by the catalog worker — a chunk of products per transaction, so the writer is never
    /// held for long. Until it is done, its codes and barcodes count as taken (`checkTaken`). On
    /// PostgreSQL the row lives only inside the one transaction that applies the file.
    struct Run: Sendable {
        struct Summary: Codable, Sendable { let kind: String; let rows: Int; let created: Int; let updated: Int; let newProducts: Int }
        let importId: String
        let caller: Caller
        let summary: Summary
    }

    /// Products per apply transaction on SQLite (about 200 SKUs in a typical file). What a chunk
    /// costs is mostly the index pages its rows land on at random and the commit that writes them,
    /// so a write waiting behind one waits tens of milliseconds.
    static let applyChunk = 100

    /// The commit point. Re-checks, as one set, what the file's checks found free and what another
    /// request may have taken since; then frees the barcodes and external codes the file moves
    /// between its own SKUs, so that no chunk meets a value a later chunk releases.
    static func accept(_ run: Run, _ tx: Transaction) async throws {
        let sql = tx.sql
        let id = run.importId
        if let other = try await sql.raw("SELECT import_id FROM catalog_import_runs LIMIT 1").first() {
            throw Problem.conflict("Import \(try other.decode(column: "import_id", as: String.self)) is being applied; send the file again in a moment.",
                                   kind: "import-in-progress")
        }
        var taken: [Problem.FieldError] = []
        for r in try await sql.raw("""
            SELECT st.code FROM catalog_import_products st JOIN products p ON p.code = st.code
            WHERE st.import_id = \(bind: id) AND st.op = 'insert' LIMIT 20
            """).all() {
            taken.append(.init("product_code", "product code '\(try r.decode(column: "code", as: String.self))' was created meanwhile"))
        }
        for r in try await sql.raw("""
            SELECT st.code FROM catalog_import_skus st JOIN skus s ON s.code = st.code
            WHERE st.import_id = \(bind: id) AND st.op = 'insert' LIMIT 20
            """).all() {
            taken.append(.init("sku_code", "SKU code '\(try r.decode(column: "code", as: String.self))' was created meanwhile"))
        }
        // A value held by a SKU outside the file, or by one the file leaves holding it, is taken.
        for r in try await sql.raw("""
            SELECT st.barcode, s.code FROM catalog_import_skus st JOIN skus s ON s.barcode = st.barcode AND s.id <> st.id
            WHERE st.import_id = \(bind: id) AND NOT EXISTS (
                SELECT 1 FROM catalog_import_skus o WHERE o.import_id = st.import_id AND o.product_id = s.product_id AND o.id = s.id
                    AND (o.barcode IS NULL OR o.barcode <> s.barcode))
            LIMIT 20
            """).all() {
            taken.append(.init("barcode", "\(try r.decode(column: "barcode", as: String.self)) now belongs to SKU \(try r.decode(column: "code", as: String.self))"))
        }
        for r in try await sql.raw("""
            SELECT c.system, c.code, s.code AS sku_code FROM catalog_import_codes c
                JOIN sku_external_codes x ON x.system = c.system AND x.code = c.code AND x.sku_id <> c.sku_id
                JOIN skus s ON s.id = x.sku_id
            WHERE c.import_id = \(bind: id) AND NOT EXISTS (
                SELECT 1 FROM catalog_import_skus o WHERE o.import_id = c.import_id AND o.product_id = s.product_id AND o.id = s.id
                    AND o.codes_changed = 1)
            LIMIT 20
            """).all() {
            let code = "\(try r.decode(column: "system", as: String.self))=\(try r.decode(column: "code", as: String.self))"
            taken.append(.init("external_codes", "\(code) now maps to SKU \(try r.decode(column: "sku_code", as: String.self))"))
        }
        if !taken.isEmpty { throw Problem.duplicate(taken) }
        try await sql.raw("""
            UPDATE skus SET barcode = NULL WHERE id IN (
                SELECT s.id FROM catalog_import_skus st JOIN skus s ON s.barcode = st.barcode AND s.id <> st.id WHERE st.import_id = \(bind: id))
            """).run()
        try await sql.raw("""
            DELETE FROM sku_external_codes WHERE (system, code) IN (
                SELECT c.system, c.code FROM catalog_import_codes c
                    JOIN sku_external_codes x ON x.system = c.system AND x.code = c.code AND x.sku_id <> c.sku_id
                WHERE c.import_id = \(bind: id))
            """).run()
        let p = run.caller.principal
        try await sql.raw("""
            INSERT INTO catalog_import_runs (import_id, actor_id, actor_kind, actor_name, request_id, summary)
            VALUES (\(bind: id), \(bind: p.id), \(bind: p.kind.rawValue), \(bind: p.name), \(bind: run.caller.requestId),
                    \(bind: JSONCoding.string(run.summary)))
            """).run()
    }

    /// Moves the next `products` staged products (all of them when nil), with their SKUs, external
    /// codes and price history, into the catalog, and deletes them from staging: a fixed handful of
    /// set-based statements over a range of product ids. Answers whether there was any to move.
    static func applyChunk(_ importId: String, products limit: Int?, _ tx: Transaction) async throws -> Bool {
        let sql = tx.sql
        var first: SQLQueryString = "SELECT id FROM catalog_import_products WHERE import_id = \(bind: importId) ORDER BY id"
        if let limit { first += " LIMIT \(unsafeRaw: String(limit))" }
        let ids = try await sql.raw(first).all().map { try $0.decode(column: "id", as: String.self) }
        guard let lo = ids.first, let hi = ids.last else { return false }
        // The chunk's staged rows, for a table under an alias (`st.`) or none.
        func range(_ column: String, _ alias: String = "") -> SQLQueryString {
            "\(unsafeRaw: alias)import_id = \(bind: importId) AND \(unsafeRaw: alias + column) >= \(bind: lo) AND \(unsafeRaw: alias + column) <= \(bind: hi)"
        }
        let products = range("id"), skus = range("product_id")
        let ofSKUs: SQLQueryString = "import_id = \(bind: importId) AND sku_id IN (SELECT id FROM catalog_import_skus WHERE \(skus))"
        try await sql.raw("""
            DELETE FROM sku_external_codes WHERE sku_id IN (
                SELECT id FROM catalog_import_skus WHERE \(skus) AND op = 'update' AND codes_changed = 1)
            """).run()
        // Versions count from the row as it is now: a request may have changed it since the file was checked.
        try await sql.raw("""
            UPDATE products SET name = st.name, name_en = st.name_en, brand_id = st.brand_id, category_id = st.category_id, unit = st.unit,
                tax_class = st.tax_class, assortment = st.assortment, status = st.status, version = products.version + 1,
                updated_at = st.updated_at
            FROM catalog_import_products st WHERE \(range("id", "st.")) AND st.op = 'update' AND products.id = st.id
            """).run()
        try await sql.raw("""
            INSERT INTO products (id, code, name, name_en, description, brand_id, category_id, option_names, attributes, images, unit,
                tax_class, assortment, online_first_until, status, search_text, version, created_at, updated_at)
            SELECT id, code, name, name_en, description, brand_id, category_id, option_names, attributes, images, unit,
                tax_class, assortment, online_first_until, status, search_text, version, created_at, updated_at
            FROM catalog_import_products WHERE \(products) AND op = 'insert'
            """).run()
        try await sql.raw("""
            UPDATE skus SET barcode = st.barcode, list_price = st.list_price, currency = st.currency, weight_grams = st.weight_grams,
                volume_cm3 = st.volume_cm3, status = st.status, version = skus.version + 1, updated_at = st.updated_at
            FROM catalog_import_skus st WHERE \(range("product_id", "st.")) AND st.op = 'update' AND skus.id = st.id
            """).run()
        try await sql.raw("""
            INSERT INTO skus (id, product_id, code, barcode, options, list_price, currency, weight_grams, volume_cm3, status, version,
                created_at, updated_at)
            SELECT id, product_id, code, barcode, options, list_price, currency, weight_grams, volume_cm3, status, version, created_at, updated_at
            FROM catalog_import_skus WHERE \(skus) AND op = 'insert' ORDER BY id
            """).run()
        try await sql.raw("INSERT INTO sku_external_codes (system, code, sku_id) SELECT system, code, sku_id FROM catalog_import_codes WHERE \(ofSKUs)").run()
        try await sql.raw("""
            INSERT INTO price_history (id, sku_id, price_list_id, old_price, new_price, currency, at, actor_id, source)
            SELECT id, sku_id, price_list_id, old_price, new_price, currency, at, actor_id, source FROM catalog_import_history WHERE \(ofSKUs)
            """).run()
        // Search: new products' documents are written (PostgreSQL indexes the column itself; SQLite's
        // FTS entry follows); existing products' documents are rebuilt from their SKUs as they now are.
        if tx.engine == .sqlite {
            try await sql.raw("""
                INSERT INTO catalog_search_pending (product_id, recompute)
                SELECT id, 0 FROM catalog_import_products WHERE \(products) AND op = 'insert'
                ON CONFLICT (product_id) DO NOTHING
                """).run()
        }
        try await sql.raw("""
            INSERT INTO catalog_search_pending (product_id, recompute)
            SELECT id, 1 FROM catalog_import_products WHERE \(products) AND op <> 'insert'
            ON CONFLICT (product_id) DO UPDATE SET recompute = 1
            """).run()
        for table in ["catalog_import_codes", "catalog_import_history"] {
            try await sql.raw("DELETE FROM \(unsafeRaw: table) WHERE \(ofSKUs)").run()
        }
        try await sql.raw("DELETE FROM catalog_import_skus WHERE \(skus)").run()
        try await sql.raw("DELETE FROM catalog_import_products WHERE \(products)").run()
        return true
    }

    /// Ends an applied import: its audit row and `catalog.imported` event, once.
    static func finish(_ importId: String, recorder: ChangeRecorder, _ tx: Transaction) async throws {
        guard let r = try await tx.sql.raw("SELECT * FROM catalog_import_runs WHERE import_id = \(bind: importId)").first() else { return }
        let principal = Principal(id: try r.decode(column: "actor_id", as: String.self),
                                  kind: Principal.Kind(rawValue: try r.decode(column: "actor_kind", as: String.self)) ?? .system,
                                  name: try r.decode(column: "actor_name", as: String.self), role: .hqAdmin, scope: .all)
        let caller = Caller(principal, requestId: try r.decode(column: "request_id", as: String?.self))
        let summary = try JSONDecoder().decode(Run.Summary.self, from: Data(try r.decode(column: "summary", as: String.self).utf8))
        try await recorder.record(tx, caller: caller, action: "import", entityType: "catalog_import", entityId: importId,
                                  before: Run.Summary?.none, after: summary, organisationId: nil, locationId: nil, event: "catalog.imported")
        try await tx.sql.raw("DELETE FROM catalog_import_runs WHERE import_id = \(bind: importId)").run()
    }

    /// Applies an accepted import to its end, a chunk per transaction (SQLite).
    func applyAccepted(_ importId: String) async throws {
        while try await db.write({ try await Self.applyChunk(importId, products: Self.applyChunk, $0) }) {}
        try await db.write { [recorder = catalog.recorder] in try await Self.finish(importId, recorder: recorder, $0) }
    }

    /// Finishes imports accepted before a crash (the catalog worker calls this); one this process
    /// is applying is left to its request.
    public func resumeAcceptedImports() async throws {
        let ids = try await db.read { sql in
            try await sql.raw("SELECT import_id FROM catalog_import_runs ORDER BY import_id").all().map { try $0.decode(column: "import_id", as: String.self) }
        }
        for id in ids where !active.contains(id) {
            db.logger.info("finishing an import accepted before a restart", metadata: ["import": "\(id)"])
            try await applyAccepted(id)
        }
    }

    /// Deletes an import's staged rows, in short transactions too. Staging left by an import
    /// that died midway is deleted by the catalog worker once it is a day old.
    func discardStaged(_ importId: String) async throws {
        for (table, key) in Self.stagingTables {
            while try await db.write({ tx in
                try await tx.sql.raw("""
                    DELETE FROM \(unsafeRaw: table) WHERE import_id = \(bind: importId) AND \(unsafeRaw: key) IN (
                        SELECT \(unsafeRaw: key) FROM \(unsafeRaw: table) WHERE import_id = \(bind: importId) LIMIT 2000)
                    """).run()
                return try await tx.sql.raw("SELECT 1 AS x FROM \(unsafeRaw: table) WHERE import_id = \(bind: importId) LIMIT 1").first() != nil
            }) {}
        }
    }

    /// Deletes staging of imports that started over a day ago and died before they were accepted.
    public func discardAbandonedStaging() async throws {
        let cutoff = O2OID.make("imp", at: catalog.clock.instant().addingTimeInterval(-86_400))
        for (table, _) in Self.stagingTables {
            let ids = try await db.read { sql in
                try await sql.raw("""
                    SELECT DISTINCT import_id FROM \(unsafeRaw: table) WHERE import_id < \(bind: cutoff)
                        AND import_id NOT IN (SELECT import_id FROM catalog_import_runs) LIMIT 20
                    """).all()
                    .map { try $0.decode(column: "import_id", as: String.self) }
            }
            for id in ids { try await discardStaged(id) }
        }
    }

    /// Each staging table with a column that picks out its rows in chunks.
    static let stagingTables = [("catalog_import_products", "id"), ("catalog_import_skus", "id"), ("catalog_import_codes", "sku_id"),
                                ("catalog_import_history", "id")]

    struct Existing: Sendable {
        var productsByCode: [String: Product] = [:]
        var productsById: [String: Product] = [:]
        var skusByCode: [String: SKU] = [:]
        var barcodeOwner: [String: String] = [:]
        /// External code → the code of the SKU it maps to.
        var externalOwner: [ExternalCode: String] = [:]
        /// Product id → option values → the code of the SKU that has them.
        var skuByOptions: [String: [[String: String]: String]] = [:]
    }

    private func existingCatalog(productCodes: [String], skuCodes: [String], barcodes: [String],
                                 externalCodes: [ExternalCode]) async throws -> Existing {
        try await db.read { sql in
            var e = Existing()
            var skuRows: [SKU] = []
            for chunk in skuCodes.chunked(400) {
                skuRows += try await sql.raw("SELECT * FROM skus WHERE code IN \(CatalogRows.list(Array(chunk)))").all().map(CatalogRows.skuRow)
            }
            let codes = try await CatalogRows.externalCodes(skuIds: skuRows.map(\.id), sql)
            for s in skuRows {
                var s = s
                s.externalCodes = codes[s.id] ?? []
                e.skusByCode[s.code] = s
            }
            for chunk in barcodes.chunked(400) {
                for r in try await sql.raw("SELECT code, barcode FROM skus WHERE barcode IN \(CatalogRows.list(Array(chunk)))").all() {
                    e.barcodeOwner[try r.decode(column: "barcode", as: String.self)] = try r.decode(column: "code", as: String.self)
                }
            }
            let productIds = Set(skuRows.map(\.productId))
            var products: [Product] = []
            for chunk in productCodes.chunked(400) {
                products += try await sql.raw("SELECT * FROM products WHERE code IN \(CatalogRows.list(Array(chunk)))").all().map(CatalogRows.product)
            }
            let missing = productIds.subtracting(products.map(\.id))
            for chunk in Array(missing).chunked(400) {
                products += try await sql.raw("SELECT * FROM products WHERE id IN \(CatalogRows.list(Array(chunk)))").all().map(CatalogRows.product)
            }
            for p in products {
                e.productsByCode[p.code] = p
                e.productsById[p.id] = p
            }
            for chunk in products.map(\.id).chunked(400) {
                for r in try await sql.raw("SELECT product_id, code, options FROM skus WHERE product_id IN \(CatalogRows.list(Array(chunk)))").all() {
                    let options = CatalogRows.decode([String: String].self, try r.decode(column: "options", as: String.self)) ?? [:]
                    e.skuByOptions[try r.decode(column: "product_id", as: String.self), default: [:]][options] = try r.decode(column: "code", as: String.self)
                }
            }
            for chunk in Array(Set(externalCodes.map(\.code))).chunked(400) {
                for r in try await sql.raw("""
                    SELECT x.system, x.code, s.code AS sku_code FROM sku_external_codes x JOIN skus s ON s.id = x.sku_id
                    WHERE x.code IN \(CatalogRows.list(Array(chunk)))
                    """).all() {
                    let code = ExternalCode(system: try r.decode(column: "system", as: String.self), code: try r.decode(column: "code", as: String.self))
                    e.externalOwner[code] = try r.decode(column: "sku_code", as: String.self)
                }
            }
            return e
        }
    }

    // MARK: Listings

    private func importListings(_ rows: [Row], dryRun: Bool, caller: Caller) async throws -> Result {
        let channels = Dictionary(try await catalog.channels().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let skus = try await db.read { try await CatalogRows.sellability(skuRefs: rows.compactMap { $0["sku_code"] }, $0) }
        var errors = Errors()
        var byChannel: [String: [(skuId: String, change: CatalogService.ListingChange)]] = [:]
        var seen: [String: Int] = [:]
        for (n, r) in rows.enumerated() {
            if n % 2_000 == 0 { await Task.yield() }
            var v = Validator()
            let channel = r["channel_code"].flatMap { channels[$0] }
            if r["channel_code"] == nil { v.add("channel_code", "is required") } else if channel == nil { v.add("channel_code", "no channel '\(r["channel_code"]!)'") }
            let sku = r["sku_code"].flatMap { skus[$0] }
            if r["sku_code"] == nil { v.add("sku_code", "is required") } else if sku == nil { v.add("sku_code", "no SKU '\(r["sku_code"]!)'") }
            let publish = r["publish_at"].map(Self.date)
            if let p = publish, p == nil { v.add("publish_at", "must be an ISO 8601 time such as 2026-12-01T10:00:00+08:00") }
            let unpublish = r["unpublish_at"].map(Self.date)
            if let u = unpublish, u == nil { v.add("unpublish_at", "must be an ISO 8601 time such as 2026-12-31T22:00:00+08:00") }
            if let p = publish ?? nil, let u = unpublish ?? nil, u <= p { v.add("unpublish_at", "must be after publish_at") }
            let clearance = r["clearance"].map { ["true", "1", "yes", "y"].contains($0.lowercased()) } ?? false
            if let c = r["clearance"], !["true", "false", "1", "0", "yes", "no", "y", "n"].contains(c.lowercased()) { v.add("clearance", "must be true or false") }
            let change = CatalogService.ListingChange(sku: r["sku_code"] ?? "", publishAt: publish ?? nil, unpublishAt: unpublish ?? nil, clearance: clearance)
            if let channel, let sku {
                for (field, message) in CatalogService.listingRefusals(sku, change, channel: channel) {
                    v.add(field == "sku" ? "sku_code" : "publish_at", message)
                }
                let key = channel.id + "/" + sku.id
                if let l = seen[key] { v.add("sku_code", "\(sku.code) on \(channel.code) is also on line \(l)") } else { seen[key] = r.line }
            }
            if !v.errors.isEmpty { errors.add(r.line, from: v); continue }
            byChannel[channel!.id, default: []].append((sku!.id, change))
        }
        try errors.finish()
        var result = Result(kind: .listings, dryRun: dryRun, rows: rows.count, created: 0, updated: 0, unchanged: 0)
        let work = byChannel
        if dryRun {
            (result.created, result.updated, result.unchanged) = try await db.read { try await Self.listingCounts(work, $0) }
            return result
        }
        let now = catalog.clock.instant()
        let recorder = catalog.recorder
        let byId = Dictionary(uniqueKeysWithValues: channels.values.map { ($0.id, $0) })
        let counts = try await db.write { tx in
            let counts = try await Self.listingCounts(work, tx.sql)
            for (channelId, changes) in work {
                _ = try await CatalogService.applyListings(byId[channelId]!, changes, tx, caller: caller, at: now, recorder: recorder)
            }
            return counts
        }
        (result.created, result.updated, result.unchanged) = counts
        return result
    }

    /// How many of these listings are new, would change, or are as they are.
    static func listingCounts(_ work: [String: [(skuId: String, change: CatalogService.ListingChange)]],
                              _ sql: any SQLDatabase) async throws -> (created: Int, updated: Int, unchanged: Int) {
        var created = 0, updated = 0, unchanged = 0
        for (channelId, changes) in work {
            var current: [String: Listing] = [:]
            for chunk in changes.map(\.skuId).chunked(400) {
                for r in try await sql.raw("""
                    SELECT * FROM listings WHERE channel_id = \(bind: channelId) AND sku_id IN \(CatalogRows.list(Array(chunk)))
                    """).all() {
                    let l = try CatalogRows.listing(r)
                    current[l.skuId] = l
                }
            }
            for (skuId, c) in changes {
                guard let l = current[skuId] else { created += 1; continue }
                if l.publishAt == c.publishAt && l.unpublishAt == c.unpublishAt && l.clearance == c.clearance { unchanged += 1 } else { updated += 1 }
            }
        }
        return (created, updated, unchanged)
    }

    // MARK: Prices

    private func importPrices(_ rows: [Row], dryRun: Bool, caller: Caller) async throws -> Result {
        let lists = try await db.read { sql in
            try await sql.raw("SELECT * FROM price_lists").all().map(CatalogRows.priceList)
        }
        let byCode = Dictionary(lists.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        let skus = try await db.read { try await CatalogRows.sellability(skuRefs: rows.compactMap { $0["sku_code"] }, $0) }
        var errors = Errors()
        var byList: [String: [(skuId: String, price: Int64?)]] = [:]
        var seen: [String: Int] = [:]
        for (n, r) in rows.enumerated() {
            if n % 2_000 == 0 { await Task.yield() }
            var v = Validator()
            let list = r["price_list_code"].flatMap { byCode[$0] }
            if r["price_list_code"] == nil { v.add("price_list_code", "is required") } else if list == nil { v.add("price_list_code", "no price list '\(r["price_list_code"]!)'") }
            let sku = r["sku_code"].flatMap { skus[$0] }
            if r["sku_code"] == nil { v.add("sku_code", "is required") } else if sku == nil { v.add("sku_code", "no SKU '\(r["sku_code"]!)'") }
            var price: Int64?
            if let text = r["price"] {
                price = Money.parseMinorUnits(text, currency: list?.currency ?? "CNY")
                if price == nil { v.add("price", text.hasPrefix("-") ? "must not be negative" : "must be an amount such as 159.00") }
            }
            if let list, let sku {
                let key = list.id + "/" + sku.id
                if let l = seen[key] { v.add("sku_code", "\(sku.code) in \(list.code) is also on line \(l)") } else { seen[key] = r.line }
            }
            if !v.errors.isEmpty { errors.add(r.line, from: v); continue }
            byList[list!.id, default: []].append((sku!.id, price))
        }
        try errors.finish()
        var result = Result(kind: .prices, dryRun: dryRun, rows: rows.count, created: 0, updated: 0, unchanged: 0)
        let work = byList
        if dryRun {
            (result.created, result.updated, result.unchanged) = try await db.read { try await Self.priceCounts(work, $0) }
            return result
        }
        let now = catalog.clock.instant()
        let recorder = prices.recorder
        let byId = Dictionary(uniqueKeysWithValues: lists.map { ($0.id, $0) })
        let counts = try await db.write { tx in
            let counts = try await Self.priceCounts(work, tx.sql)
            for (listId, changes) in work {
                _ = try await PriceService.applyEntries(byId[listId]!, changes, tx, caller: caller, at: now, source: "import", recorder: recorder)
            }
            return counts
        }
        (result.created, result.updated, result.unchanged) = counts
        return result
    }

    /// How many of these prices are new to their list, would change (or be removed), or are as they are.
    static func priceCounts(_ work: [String: [(skuId: String, price: Int64?)]],
                            _ sql: any SQLDatabase) async throws -> (created: Int, updated: Int, unchanged: Int) {
        var created = 0, updated = 0, unchanged = 0
        for (listId, changes) in work {
            var current: [String: Int64] = [:]
            for chunk in changes.map(\.skuId).chunked(400) {
                for r in try await sql.raw("""
                    SELECT sku_id, price FROM price_list_entries WHERE price_list_id = \(bind: listId) AND sku_id IN \(CatalogRows.list(Array(chunk)))
                    """).all() {
                    current[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "price", as: Int64.self)
                }
            }
            for (skuId, price) in changes {
                if current[skuId] == price { unchanged += 1 } else if current[skuId] == nil { created += 1 } else { updated += 1 }
            }
        }
        return (created, updated, unchanged)
    }

    // MARK: Export

    /// The same formats back, ready to edit and import again.
    public func exportCSV(_ kind: Kind) async throws -> String {
        var out = CSV.line(Self.headers[kind]!) + "\n"
        switch kind {
        case .skus:
            let (brands, categories) = try await db.read { sql in
                (try await sql.raw("SELECT id, code FROM brands").all(), try await sql.raw("SELECT id, code FROM categories").all())
            }
            func map(_ rows: [any SQLRow]) throws -> [String: String] {
                Dictionary(try rows.map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "code", as: String.self)) },
                           uniquingKeysWith: { a, _ in a })
            }
            let brandCodes = try map(brands), categoryCodes = try map(categories)
            var cursor: String?
            repeat {
                var f = CatalogService.ProductFilter()
                f.limit = 200
                f.cursor = cursor
                let page = try await catalog.products(f)
                for p in page.items {
                    for s in p.skus {
                        out += CSV.line([
                            p.code, p.name, p.nameEn ?? "", brandCodes[p.brandId] ?? "", categoryCodes[p.categoryId] ?? "", p.assortment.rawValue,
                            p.unit, p.taxClass, p.status.rawValue, s.code, s.barcode ?? "",
                            p.optionNames.compactMap { n in s.options[n].map { "\(n)=\($0)" } }.joined(separator: ";"),
                            Money.decimal(s.listPrice.minorUnits, currency: s.listPrice.currency), s.listPrice.currency,
                            s.weightGrams.map(String.init) ?? "", s.volumeCm3.map(String.init) ?? "", s.status.rawValue,
                            s.externalCodes.map { "\($0.system)=\($0.code)" }.joined(separator: ";"),
                        ]) + "\n"
                    }
                }
                cursor = page.nextCursor
                await Task.yield()
            } while cursor != nil
        case .listings:
            let rows = try await db.read { sql in
                try await sql.raw("""
                    SELECT c.code AS channel_code, s.code AS sku_code, l.publish_at, l.unpublish_at, l.clearance
                    FROM listings l JOIN channels c ON c.id = l.channel_id JOIN skus s ON s.id = l.sku_id ORDER BY c.code, s.code
                    """).all()
            }
            // Times are kept to the millisecond: write the milliseconds when there are any, so an
            // exported file imports back unchanged.
            let fmt = ISO8601DateFormatter(), fmtMillis = ISO8601DateFormatter()
            fmtMillis.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            func text(_ d: Date) -> String { d.epochMillis % 1000 == 0 ? fmt.string(from: d) : fmtMillis.string(from: d) }
            for r in rows {
                out += CSV.line([
                    try r.decode(column: "channel_code", as: String.self), try r.decode(column: "sku_code", as: String.self),
                    try CatalogRows.date(r, "publish_at").map(text) ?? "", try CatalogRows.date(r, "unpublish_at").map(text) ?? "",
                    try r.decode(column: "clearance", as: Int.self) != 0 ? "true" : "false",
                ]) + "\n"
            }
        case .prices:
            let rows = try await db.read { sql in
                try await sql.raw("""
                    SELECT pl.code AS list_code, pl.currency, s.code AS sku_code, e.price
                    FROM price_list_entries e JOIN price_lists pl ON pl.id = e.price_list_id JOIN skus s ON s.id = e.sku_id ORDER BY pl.code, s.code
                    """).all()
            }
            for r in rows {
                out += CSV.line([
                    try r.decode(column: "list_code", as: String.self), try r.decode(column: "sku_code", as: String.self),
                    Money.decimal(try r.decode(column: "price", as: Int64.self), currency: try r.decode(column: "currency", as: String.self)),
                ]) + "\n"
            }
        }
        return out
    }

    // MARK: Helpers

    /// `a=1;b=2` → [(a, 1), (b, 2)] in order; nil when malformed.
    static func pairs(_ text: String?) -> [(String, String)]? {
        guard let text else { return nil }
        var out: [(String, String)] = []
        for part in text.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty, !out.contains(where: { $0.0 == kv[0] }) else { return nil }
            out.append((kv[0], kv[1]))
        }
        return out
    }

    /// Option values as the file writes them, in name order: `colour=黑色;size=M`.
    static func describe(_ options: [String: String]) -> String {
        options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
    }

    /// A SKU validation field (`listPrice`) as its CSV column (`list_price`).
    static func column(_ field: String) -> String {
        switch field {
        case "code": return "sku_code"
        case "listPrice": return "list_price"
        case "weightGrams": return "weight_g"
        case "volumeCm3": return "volume_cm3"
        case let f where f.hasPrefix("externalCodes"): return "external_codes"
        case let f where f.hasPrefix("options"): return "options"
        default: return field
        }
    }

    /// An ISO 8601 time, to the millisecond as it is stored (so it compares equal to what is read back).
    /// An ISO 8601 time with or without fractional seconds, kept to the millisecond as stored.
    public static func date(_ text: String) -> Date? {
        let d = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
        return d.map { Date(epochMillis: $0.epochMillis) }
    }
}

/// Import ids being applied by this process.
final class ActiveImports: Sendable {
    private let ids = Mutex<Set<String>>([])
    func insert(_ id: String) { _ = ids.withLock { $0.insert(id) } }
    func remove(_ id: String) { _ = ids.withLock { $0.remove(id) } }
    func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }
}
