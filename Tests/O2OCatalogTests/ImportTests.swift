import Foundation
@testable import O2OCatalog
import O2OCore
import O2OTestSupport
import Testing

/// SKU file rows in the import format, built field by field so quoting is CSV's business.
struct SKUFile {
    var rows: [[String: String]] = []

    mutating func add(_ product: String, _ sku: String, name: String = "男士纯棉圆领T恤", nameEn: String = "Men's Cotton Crew Tee, Classic",
                      brand: String = "BR", category: String = "TOPS", assortment: String = "shared", barcode: String = "",
                      options: String, price: String = "199.00", weight: String = "", external: String = "") {
        rows.append([
            "product_code": product, "product_name": name, "product_name_en": nameEn, "brand_code": brand, "category_code": category,
            "assortment": assortment, "unit": "件", "tax_class": "standard", "product_status": "active", "sku_code": sku, "barcode": barcode,
            "options": options, "list_price": price, "currency": "CNY", "weight_g": weight, "volume_cm3": "", "sku_status": "active",
            "external_codes": external,
        ])
    }

    var text: String {
        let header = CatalogImporter.headers[.skus]!
        return ([CSV.line(header)] + rows.map { r in CSV.line(header.map { r[$0] ?? "" }) }).joined(separator: "\r\n") + "\r\n"
    }

    /// Three products, seven SKUs: a shared T-shirt in 2 colours × 2 sizes, an online-exclusive jacket, store-exclusive socks.
    static var standard: SKUFile {
        var f = SKUFile()
        f.add("TEE-01", "TEE-01-BK-M", barcode: barcode(1), options: "colour=黑色;size=M", weight: "200", external: "erp=100001;tmall=5521")
        f.add("TEE-01", "TEE-01-BK-L", barcode: barcode(2), options: "colour=黑色;size=L", weight: "210")
        f.add("TEE-01", "TEE-01-WH-M", barcode: barcode(3), options: "colour=白色;size=M")
        f.add("TEE-01", "TEE-01-WH-L", barcode: barcode(4), options: "colour=白色;size=L")
        f.add("JKT-01", "JKT-01-RD-S", name: "儿童防水夹克", nameEn: "Kids' Waterproof Jacket", assortment: "online_exclusive",
              barcode: barcode(5), options: "colour=红色;size=S", price: "399")
        f.add("JKT-01", "JKT-01-RD-M", name: "儿童防水夹克", nameEn: "Kids' Waterproof Jacket", assortment: "online_exclusive",
              barcode: barcode(6), options: "colour=红色;size=M", price: "399.5")
        f.add("SOCK-01", "SOCK-01-F", name: "100%纯棉运动袜", nameEn: "", assortment: "store_exclusive", options: "size=F", price: "29.9")
        return f
    }
}

/// The import's errors as "line column" strings, for comparing whole sets.
func lineErrors(_ p: Problem?) -> Set<String> {
    Set((p?.errors ?? []).map { "\($0.line.map(String.init) ?? "-") \($0.field)" })
}

@Suite("Catalog: CSV import and export, on every engine")
struct ImportTests {
    static let tables = ["products", "skus", "sku_external_codes", "price_history", "listings", "price_list_entries", "audit_events", "outbox_events"]

    static func counts(_ db: Database) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for t in tables { out[t] = try await TestDatabase.count(t, db) }
        return out
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_validFile_createsProductsAndSKUs_thatAreSearchable(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            // act
            let result = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            // check
            #expect(result == .init(kind: .skus, dryRun: false, rows: 7, created: 7, updated: 0, unchanged: 0))
            #expect(try await TestDatabase.count("products", db) == 3)
            #expect(try await TestDatabase.count("skus", db) == 7)
            let tee = try await c.catalog.product("TEE-01")
            #expect(tee.name == "男士纯棉圆领T恤" && tee.nameEn == "Men's Cotton Crew Tee, Classic" && tee.optionNames == ["colour", "size"])
            #expect(tee.brandId == c.brand.id && tee.categoryId == c.category.id && tee.status == .active && tee.unit == "件")
            #expect(tee.skus.map(\.code) == ["TEE-01-BK-M", "TEE-01-BK-L", "TEE-01-WH-M", "TEE-01-WH-L"], "in the file's order")
            let bkM = try await c.catalog.sku("TEE-01-BK-M")
            #expect(bkM.options == ["colour": "黑色", "size": "M"] && bkM.listPrice == Money(minorUnits: 199_00) && bkM.barcode == barcode(1))
            #expect(bkM.weightGrams == 200 && Set(bkM.externalCodes) == [ExternalCode(system: "erp", code: "100001"), ExternalCode(system: "tmall", code: "5521")])
            #expect(try await c.catalog.product("JKT-01").assortment == .onlineExclusive)
            #expect(try await c.catalog.sku("JKT-01-RD-M").listPrice.minorUnits == 399_50)
            let sock = try await c.catalog.product("SOCK-01")
            #expect(sock.nameEn == nil && sock.assortment == .storeExclusive && sock.skus.map(\.listPrice.minorUnits) == [29_90] && sock.skus[0].barcode == nil)
            for (query, code) in [("圆领", "TEE-01"), ("waterproof", "JKT-01"), ("JKT-01-RD-M", "JKT-01"), (barcode(4), "TEE-01"), ("袜", "SOCK-01")] {
                var f = CatalogService.ProductFilter()
                f.text = query
                #expect(try await c.catalog.products(f).items.map(\.code) == [code], "query \(query)")
            }
            #expect(try await TestDatabase.count("price_history", db) == 7)
            #expect(try await c.prices.history(sku: "SOCK-01-F", limit: 5, cursor: nil).items.map(\.source) == ["import"])
            let audit = try await AuditLog(db: db).list(AuditQuery(entityType: "catalog_import"), scope: .all)
            #expect(audit.items.count == 1 && audit.items[0].after?.contains("\"created\":7") == true)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_sameFileAgain_changesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            let products = try await snapshot("products", ["id", "code", "name", "name_en", "version", "updated_at", "search_text"], db)
            let skus = try await snapshot("skus", ["id", "code", "barcode", "options", "list_price", "version", "updated_at"], db)
            let history = try await TestDatabase.count("price_history", db)
            var again = SKUFile.standard
            again.rows[0]["external_codes"] = "tmall=5521;erp=100001"  // the same codes in another order
            c.clock.advance(by: 60)
            // act
            let result = try await c.importer.importCSV(.skus, text: again.text, dryRun: false, caller: .system)
            // check
            #expect(result == .init(kind: .skus, dryRun: false, rows: 7, created: 0, updated: 0, unchanged: 7))
            #expect(try await snapshot("products", ["id", "code", "name", "name_en", "version", "updated_at", "search_text"], db) == products)
            #expect(try await snapshot("skus", ["id", "code", "barcode", "options", "list_price", "version", "updated_at"], db) == skus)
            #expect(try await TestDatabase.count("price_history", db) == history)
            #expect(try await TestDatabase.count("sku_external_codes", db) == 2)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_changedPrice_updatesThatSKU_andRecordsHistoryFromTheImport(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            var file = SKUFile.standard
            file.rows[1]["list_price"] = "179.00"
            let history = try await TestDatabase.count("price_history", db)
            c.clock.advance(by: 60)
            // act
            let result = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system)
            // check
            #expect(result == .init(kind: .skus, dryRun: false, rows: 7, created: 0, updated: 1, unchanged: 6))
            let sku = try await c.catalog.sku("TEE-01-BK-L")
            #expect(sku.listPrice.minorUnits == 179_00 && sku.version == 2)
            #expect(try await c.catalog.sku("TEE-01-BK-M").version == 1)
            #expect(try await TestDatabase.count("price_history", db) == history + 1)
            let changes = try await c.prices.history(sku: "TEE-01-BK-L", limit: 5, cursor: nil).items
            #expect(changes.map(\.source) == ["import", "import"])
            #expect(changes.map(\.oldPrice) == [199_00, nil] && changes.map(\.newPrice) == [179_00, 199_00])
            #expect(changes[0].at == c.clock.instant())
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_badRows_reportEachLineAndColumn_andWriteNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: the standard catalog exists; the new file has a bad row on most lines
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            var file = SKUFile()
            file.add("NEW-01", "NEW-01-M", barcode: barcode(20), options: "size=M")                                   // line 2: fine
            file.add("NEW-02", "NEW-02-M", barcode: "7501031311308", options: "size=M")                              // line 3: check digit
            file.add("DUP-01", "DUP-01-X", options: "size=M")                                                        // line 4: fine
            file.add("DUP-01", "DUP-01-X", options: "size=L")                                                        // line 5: code of line 4
            file.add("NEW-03", "NEW-03-M", brand: "NOPE", options: "size=M")                                         // line 6: brand
            file.add("NEW-04", "NEW-04-M", options: "size=M", price: "19.999")                                       // line 7: price
            file.add("NEW-05", "NEW-05-M", name: "两行\n名称", options: "size=M")                                     // lines 8–9: name
            file.add("NEW-06", "NEW-06-M", options: "size=M", price: "-5")                                           // line 10: price
            file.add("NEW-07", "NEW-07-M", options: "colour黑色")                                                    // line 11: options
            file.add("NEW-08", "NEW-08-M", barcode: barcode(1), options: "size=M")                                   // line 12: barcode taken
            file.add("TEE-01", "TEE-01-RD-M", options: "colour=红色")                                                 // line 13: TEE-01's options
            file.add("NEW-09", "NEW-09-M", category: "NOPE", options: "size=M", weight: "heavy")                     // line 14: two columns
            file.add("NEW-10", "NEW-10-M", barcode: barcode(21), options: "size=M")                                  // line 15: fine
            let before = try await Self.counts(db)
            let skus = try await snapshot("skus", ["id", "code", "barcode", "list_price", "version"], db)
            // act
            let p = await problem { _ = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system) }
            let dry = await problem { _ = try await c.importer.importCSV(.skus, text: file.text, dryRun: true, caller: .system) }
            // check
            #expect(p?.status == 422 && p?.type.hasSuffix("/import-rejected") == true)
            #expect(lineErrors(p) == [
                "3 barcode", "5 sku_code", "6 brand_code", "7 list_price", "8 product_name", "10 list_price", "11 options",
                "12 barcode", "13 options", "14 category_code", "14 weight_g",
            ])
            #expect(p?.errors?.first { $0.line == 5 }?.message.contains("line 4") == true)
            #expect(p?.errors?.first { $0.line == 3 }?.message.contains("check digit") == true)
            #expect(p?.detail?.contains("11 error") == true)
            #expect(lineErrors(dry) == lineErrors(p))
            #expect(try await Self.counts(db) == before)
            #expect(try await snapshot("skus", ["id", "code", "barcode", "list_price", "version"], db) == skus)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_externalCodeRepeatedOrTaken_isALineError_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: TEE-01-BK-M holds erp=100001 and is not in the new file
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            var file = SKUFile()
            file.add("NEW-01", "NEW-01-M", options: "size=M", external: "erp=100001")   // line 2: taken
            file.add("NEW-01", "NEW-01-L", options: "size=L", external: "jd=7")         // line 3: fine
            file.add("NEW-01", "NEW-01-S", options: "size=S", external: "jd=7")         // line 4: line 3's
            let before = try await Self.counts(db)
            // act
            let p = await problem { _ = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system) }
            // check
            #expect(p?.status == 422 && p?.type.hasSuffix("/import-rejected") == true)
            #expect(lineErrors(p) == ["2 external_codes", "4 external_codes"])
            #expect(p?.errors?.first { $0.line == 2 }?.message.contains("TEE-01-BK-M") == true)
            #expect(try await Self.counts(db) == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_changedOptionValuesOrAnExistingCombination_isRefused(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: TEE-01-BK-M would become size S; a new TEE-01 SKU repeats TEE-01-BK-L's 黑色/L (not in the file)
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            var file = SKUFile()
            file.add("TEE-01", "TEE-01-BK-M", barcode: barcode(1), options: "colour=黑色;size=S")
            file.add("TEE-01", "TEE-01-BK-L2", options: "size=L;colour=黑色")
            let before = try await Self.counts(db)
            // act
            let p = await problem { _ = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system) }
            // check
            #expect(lineErrors(p) == ["2 options", "3 options"])
            #expect(p?.errors?.first { $0.line == 3 }?.message.contains("TEE-01-BK-L") == true)
            #expect(try await c.catalog.sku("TEE-01-BK-M").options == ["colour": "黑色", "size": "M"])
            #expect(try await Self.counts(db) == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_assortmentThatClashesWithAListing_isRefusedOnTheProductsFirstLine(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: TEE-01 is listed on POS; the file makes it online-exclusive
            let c = try await Catalog.make(db)
            _ = try await c.channel("POS", .pos)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            _ = try await c.catalog.setListings(channel: "POS", [.init(sku: "TEE-01-WH-L", publishAt: c.clock.now())], caller: .system)
            var file = SKUFile.standard
            for i in 0..<4 { file.rows[i]["assortment"] = "online_exclusive" }
            let before = try await Self.counts(db)
            // act
            let p = await problem { _ = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system) }
            // check
            #expect(lineErrors(p) == ["2 assortment"])
            #expect(p?.message("assortment")?.contains("POS") == true)
            #expect(try await c.catalog.product("TEE-01").assortment == .shared)
            #expect(try await Self.counts(db) == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_swappingBarcodesAndMovingAnExternalCode_betweenSKUsInTheFile_isApplied(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: BK-M and BK-L trade barcodes; erp=100001 moves from BK-M to WH-M (a later line)
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            var file = SKUFile.standard
            file.rows[0]["barcode"] = barcode(2)
            file.rows[1]["barcode"] = barcode(1)
            file.rows[0]["external_codes"] = "tmall=5521"
            file.rows[2]["external_codes"] = "erp=100001"
            c.clock.advance(by: 60)
            // act
            let result = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system)
            // check
            #expect(result == .init(kind: .skus, dryRun: false, rows: 7, created: 0, updated: 3, unchanged: 4))
            #expect(try await c.catalog.sku("TEE-01-BK-M").barcode == barcode(2))
            #expect(try await c.catalog.sku("TEE-01-BK-L").barcode == barcode(1))
            #expect(try await c.catalog.sku("TEE-01-BK-M").externalCodes == [ExternalCode(system: "tmall", code: "5521")])
            #expect(try await c.catalog.sku("TEE-01-WH-M").externalCodes == [ExternalCode(system: "erp", code: "100001")])
            var f = CatalogService.ProductFilter()
            f.text = barcode(2)
            #expect(try await c.catalog.products(f).items.map(\.code) == ["TEE-01"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_headerOrQuotingErrors_areReportedWithTheirLine(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            // act
            let noColumns = await problem { _ = try await c.importer.importCSV(.skus, text: "product_code,sku_code\nA,B\n", dryRun: false, caller: .system) }
            let open = await problem {
                _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text + "X,\"unterminated\n", dryRun: false, caller: .system)
            }
            let empty = await problem { _ = try await c.importer.importCSV(.prices, text: "\u{FEFF}", dryRun: false, caller: .system) }
            // check
            #expect(lineErrors(noColumns) == ["1 header"])
            #expect(noColumns?.message("header")?.contains("list_price") == true)
            #expect(lineErrors(open) == ["9 csv"])
            #expect(lineErrors(empty) == ["1 csv"])
            #expect(try await TestDatabase.count("products", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_dryRun_countsButWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let before = try await Self.counts(db)
            // act
            let result = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: true, caller: .system)
            // check
            #expect(result == .init(kind: .skus, dryRun: true, rows: 7, created: 7, updated: 0, unchanged: 0))
            #expect(try await Self.counts(db) == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func exportSKUs_thenImportTheExport_changesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: the standard file plus a product made through the API, with awkward text and no English name
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            var api = c.newProduct("API-01", name: "带\"引号\"和,逗号的商品", nameEn: nil, colours: ["蓝色"], sizes: ["XL"], barcodeBase: 500)
            api.skus[0].externalCodes = [ExternalCode(system: "jd", code: "JD-1")]
            api.skus[0].volumeCm3 = 1200
            _ = try await c.catalog.createProduct(api, caller: .system)
            let products = try await snapshot("products", ["id", "code", "name", "name_en", "assortment", "status", "version", "updated_at"], db)
            let skus = try await snapshot("skus", ["id", "code", "barcode", "options", "list_price", "weight_grams", "volume_cm3", "version"], db)
            let history = try await TestDatabase.count("price_history", db)
            c.clock.advance(by: 60)
            // act
            let exported = try await c.importer.exportCSV(.skus)
            let result = try await c.importer.importCSV(.skus, text: exported, dryRun: false, caller: .system)
            // check
            #expect(try CSV.parse(exported).count == 1 + 8)
            #expect(exported.hasPrefix(CSV.line(CatalogImporter.headers[.skus]!) + "\n"))
            #expect(exported.contains("colour=黑色;size=M") && exported.contains("199.00") && exported.contains("jd=JD-1"))
            #expect(result == .init(kind: .skus, dryRun: false, rows: 8, created: 0, updated: 0, unchanged: 8))
            #expect(try await snapshot("products", ["id", "code", "name", "name_en", "assortment", "status", "version", "updated_at"], db) == products)
            #expect(try await snapshot("skus", ["id", "code", "barcode", "options", "list_price", "weight_grams", "volume_cm3", "version"], db) == skus)
            #expect(try await TestDatabase.count("price_history", db) == history)
            #expect(try await c.importer.exportCSV(.skus) == exported)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importListings_goodFileApplies_andAnOnlineExclusiveSKUOnPOS_isRejectedByLine(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            let pos = try await c.channel("POS", .pos)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            let fmt = ISO8601DateFormatter()
            let now = fmt.string(from: c.clock.now()), later = fmt.string(from: c.clock.now().addingTimeInterval(86_400))
            let good = """
                channel_code,sku_code,publish_at,unpublish_at,clearance
                WEB,TEE-01-BK-M,\(now),,false
                POS,TEE-01-BK-M,\(now),\(later),no
                WEB,JKT-01-RD-S,\(now),,true
                POS,SOCK-01-F,\(later),,

                """
            let bad = """
                channel_code,sku_code,publish_at,unpublish_at,clearance
                WEB,TEE-01-WH-M,\(now),,false
                POS,JKT-01-RD-S,\(now),,false
                WEB,SOCK-01-F,\(now),,false
                TMALL,TEE-01-WH-L,\(now),,false
                WEB,TEE-01-WH-L,tomorrow,,false
                WEB,TEE-01-BK-L,\(later),\(now),maybe
                WEB,NOPE,,,
                WEB,TEE-01-WH-M,\(later),,false

                """
            // act
            let dry = try await c.importer.importCSV(.listings, text: good, dryRun: true, caller: .system)
            let listingsAfterDryRun = try await TestDatabase.count("listings", db)
            let applied = try await c.importer.importCSV(.listings, text: good, dryRun: false, caller: .system)
            let afterGood = try await Self.counts(db)
            let p = await problem { _ = try await c.importer.importCSV(.listings, text: bad, dryRun: false, caller: .system) }
            c.clock.advance(by: 60)
            let again = try await c.importer.importCSV(.listings, text: good, dryRun: false, caller: .system)
            // check
            #expect(dry == .init(kind: .listings, dryRun: true, rows: 4, created: 4, updated: 0, unchanged: 0) && listingsAfterDryRun == 0)
            #expect(applied == .init(kind: .listings, dryRun: false, rows: 4, created: 4, updated: 0, unchanged: 0))
            #expect(again == .init(kind: .listings, dryRun: false, rows: 4, created: 0, updated: 0, unchanged: 4))
            let changed = good.replacingOccurrences(of: "JKT-01-RD-S,\(now),,true", with: "JKT-01-RD-S,\(now),,false")
            let dryChanged = try await c.importer.importCSV(.listings, text: changed, dryRun: true, caller: .system)
            #expect(dryChanged == .init(kind: .listings, dryRun: true, rows: 4, created: 0, updated: 1, unchanged: 3))
            #expect(p?.status == 422 && p?.type.hasSuffix("/import-rejected") == true)
            #expect(lineErrors(p) == ["3 sku_code", "4 sku_code", "5 channel_code", "6 publish_at", "7 unpublish_at", "7 clearance", "8 sku_code", "9 sku_code"])
            #expect(p?.errors?.first { $0.line == 3 }?.message.contains("online-exclusive") == true)
            #expect(try await Self.counts(db) == afterGood)
            var f = CatalogService.ListingFilter()
            f.channelId = pos.id
            #expect(try await c.catalog.listings(f).items.count == 2)
            f.channelId = web.id
            #expect(try await c.catalog.listings(f).items.count == 2)
            let r = try await c.prices.resolve(skus: ["TEE-01-BK-M", "JKT-01-RD-S"], c.at(web))
            #expect(r.map(\.sellable) == [true, true])
            let exported = try await c.importer.exportCSV(.listings)
            #expect(try CSV.parse(exported).count == 5 && exported.contains("WEB,JKT-01-RD-S,\(now),,true"))
        }
    }

    @Test(arguments: TestDatabase.engines)
    func exportListings_thenImportTheExport_keepsMillisecondTimes_andChangesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: listings set through the API, one at a time with milliseconds
            let c = try await Catalog.make(db)
            _ = try await c.channel("WEB", .web)
            let tee = try await c.createProduct("TEE-001", barcodeBase: 100)
            let publish = c.clock.now().addingTimeInterval(0.123)
            _ = try await c.catalog.setListings(channel: "WEB", [
                .init(sku: tee.skus[0].code, publishAt: publish, unpublishAt: publish.addingTimeInterval(86_400), clearance: true),
                .init(sku: tee.skus[1].code, publishAt: c.clock.now()),
            ], caller: .system)
            let listings = try await snapshot("listings", ["id", "sku_id", "publish_at", "unpublish_at", "clearance", "version", "updated_at"], db)
            c.clock.advance(by: 60)
            // act
            let exported = try await c.importer.exportCSV(.listings)
            let result = try await c.importer.importCSV(.listings, text: exported, dryRun: false, caller: .system)
            // check
            #expect(result.rows == 2 && result.created == 0 && result.updated == 0 && result.unchanged == 2)
            #expect(try await snapshot("listings", ["id", "sku_id", "publish_at", "unpublish_at", "clearance", "version", "updated_at"], db) == listings)
            #expect(exported.contains(".123Z"))
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importPrices_goodFileApplies_andBadRowsAreRejectedByLine(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            _ = try await c.importer.importCSV(.listings, text: "channel_code,sku_code,publish_at\nWEB,TEE-01-BK-M,2020-01-01T00:00:00Z\n",
                                               dryRun: false, caller: .system)
            let list = try await c.prices.createPriceList(NewPriceList(code: "WEB-SALE", name: "官网特价", priority: 10, channelId: "WEB"), caller: .system)
            let good = "price_list_code,sku_code,price\nWEB-SALE,TEE-01-BK-M,159.00\nWEB-SALE,TEE-01-BK-L,159\n"
            let bad = """
                price_list_code,sku_code,price
                WEB-SALE,TEE-01-WH-M,149.00
                WEB-SALE,TEE-01-WH-L,-1
                NOPE,TEE-01-WH-L,1.00
                WEB-SALE,NOPE,1.00
                WEB-SALE,TEE-01-WH-M,139.00
                WEB-SALE,TEE-01-BK-M,1.005
                """
            c.clock.advance(by: 60)
            // act
            let dry = try await c.importer.importCSV(.prices, text: good, dryRun: true, caller: .system)
            let entriesAfterDryRun = try await TestDatabase.count("price_list_entries", db)
            let applied = try await c.importer.importCSV(.prices, text: good, dryRun: false, caller: .system)
            let afterGood = try await Self.counts(db)
            let p = await problem { _ = try await c.importer.importCSV(.prices, text: bad, dryRun: false, caller: .system) }
            // check
            #expect(dry == .init(kind: .prices, dryRun: true, rows: 2, created: 2, updated: 0, unchanged: 0) && entriesAfterDryRun == 0)
            #expect(applied == .init(kind: .prices, dryRun: false, rows: 2, created: 2, updated: 0, unchanged: 0))
            #expect(lineErrors(p) == ["3 price", "4 price_list_code", "5 sku_code", "6 sku_code", "7 price"])
            #expect(p?.message("price")?.contains("negative") == true)
            #expect(try await Self.counts(db) == afterGood)
            let resolved = try await c.prices.resolve(skus: ["TEE-01-BK-M"], c.at(web))[0]
            #expect(resolved.price == 159_00 && resolved.priceListId == list.id)
            let history = try await c.prices.history(sku: "TEE-01-BK-L", limit: 5, cursor: nil).items
            #expect(history.first?.source == "import" && history.first?.priceListId == list.id && history.first?.newPrice == 159_00)
            let exported = try await c.importer.exportCSV(.prices)
            #expect(exported == "price_list_code,sku_code,price\nWEB-SALE,TEE-01-BK-L,159.00\nWEB-SALE,TEE-01-BK-M,159.00\n")
            c.clock.advance(by: 60)
            let again = try await c.importer.importCSV(.prices, text: exported, dryRun: false, caller: .system)
            #expect(again == .init(kind: .prices, dryRun: false, rows: 2, created: 0, updated: 0, unchanged: 2))
            let changes = "price_list_code,sku_code,price\nWEB-SALE,TEE-01-BK-L,149.00\nWEB-SALE,TEE-01-BK-M,\nWEB-SALE,TEE-01-WH-M,139\n"
            let changed = try await c.importer.importCSV(.prices, text: changes, dryRun: false, caller: .system)
            #expect(changed == .init(kind: .prices, dryRun: false, rows: 3, created: 1, updated: 2, unchanged: 0))
            #expect(try await c.importer.exportCSV(.prices) == "price_list_code,sku_code,price\nWEB-SALE,TEE-01-BK-L,149.00\nWEB-SALE,TEE-01-WH-M,139.00\n")
        }
    }
}

@Suite("Catalog: a large import does not hold the writer")
struct StagedImportTests {
    static let staging = ["catalog_import_products", "catalog_import_skus", "catalog_import_codes", "catalog_import_history"]

    static func stagedRows(_ db: Database) async throws -> Int {
        var n = 0
        for t in staging { n += try await TestDatabase.count(t, db) }
        return n
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_aLargeFile_letsOtherWritesCommitWhileItIsStaged_andLeavesNoStagingBehind(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: 2,500 products × 2 SKUs, several staging transactions' worth
            let c = try await Catalog.make(db)
            var file = SKUFile()
            for p in 0..<2_500 {
                for size in ["M", "L"] {
                    file.add("ST-\(p)", "ST-\(p)-\(size)", options: "size=\(size)", external: "erp=\(p)\(size)")
                }
            }
            let text = file.text
            let importing = Task { try await c.importer.importCSV(.skus, text: text, dryRun: false, caller: .system) }
            // act: small writes beside the import; a write is "inside" the import when staged rows
            // exist both just before and just after it, which is only while the import is staged
            var inside = 0
            var insideApply = 0
            var writes = 0
            while true {
                let stagedBefore = try await Self.stagedRows(db)
                let applyingBefore = try await TestDatabase.count("catalog_import_runs", db)
                _ = try await c.catalog.createBrand(code: "W\(writes)", name: "品牌 \(writes)", nameEn: nil, caller: .system)
                writes += 1
                let stagedAfter = try await Self.stagedRows(db)
                if stagedBefore > 0 && stagedAfter > 0 { inside += 1 }
                if applyingBefore > 0, try await TestDatabase.count("catalog_import_runs", db) > 0 { insideApply += 1 }
                if writes > 10, try await TestDatabase.count("products", db) > 0, stagedAfter == 0 { break }
                if writes > 5_000 { break }
            }
            let result = try await importing.value
            // check
            #expect(result.created == 5_000)
            #expect(inside > 0, "no write committed while the import was staged (\(writes) writes)")
            if engine == .sqlite {
                // SQLite's single writer: the apply goes a chunk of products per transaction, writes between them.
                #expect(insideApply > 0, "no write committed while the import was applied (\(writes) writes)")
            }
            #expect(try await TestDatabase.count("skus", db) == 5_000)
            #expect(try await TestDatabase.count("sku_external_codes", db) == 5_000)
            #expect(try await TestDatabase.count("price_history", db) == 5_000)
            #expect(try await Self.stagedRows(db) == 0)
            #expect(try await TestDatabase.count("catalog_search_pending", db) == 0)
            var f = CatalogService.ProductFilter()
            f.text = "ST-2499-L"
            #expect(try await c.catalog.products(f).items.map(\.code) == ["ST-2499"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importSKUs_interruptedAfterItsCommitPoint_holdsItsValues_andIsFinishedOnceAfterARestart(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: 1,200 products × 2 SKUs (twelve apply chunks on SQLite), the process dying at the commit point
            let c = try await Catalog.make(db)
            var file = SKUFile()
            for p in 0..<1_200 {
                for (i, size) in ["M", "L"].enumerated() {
                    file.add("CR-\(p)", "CR-\(p)-\(size)", barcode: barcode(50_000 + 2 * p + i), options: "size=\(size)", external: "erp=c\(p)\(size)")
                }
            }
            let result = try await c.importer.importCSV(.skus, text: file.text, dryRun: false, caller: .system, applyAccepted: false)
            #expect(result.created == 2_400)
            if engine == .sqlite {
                // Accepted, not applied: the file's product codes and barcodes are held for it.
                #expect(try await TestDatabase.count("catalog_import_runs", db) == 1)
                #expect(try await TestDatabase.count("skus", db) == 0)
                await #expect(throws: Problem.self) { try await c.createProduct("CR-7", barcodeBase: 90_000) }
                var twin = c.newProduct("OTHER-1", barcodeBase: 90_000)
                twin.skus[0].barcode = barcode(50_000)
                twin.skus[1].externalCodes = [ExternalCode(system: "erp", code: "c0M")]
                do {
                    _ = try await c.catalog.createProduct(twin, caller: .system)
                    Issue.record("a barcode held by the import was given away")
                } catch let p as Problem {
                    #expect(p.status == 409)
                    #expect(Set((p.errors ?? []).map(\.field)) == ["skus[0].barcode", "skus[1].externalCodes"])
                }
            }
            // act: the restarted process's catalog worker, twice
            let restarted = CatalogImporter(catalog: c.catalog, prices: c.prices)
            try await restarted.resumeAcceptedImports()
            try await restarted.resumeAcceptedImports()
            // check: all of it, once
            #expect(try await TestDatabase.count("skus", db) == 2_400)
            #expect(try await TestDatabase.count("products", db) == 1_200)
            #expect(try await TestDatabase.count("sku_external_codes", db) == 2_400)
            #expect(try await TestDatabase.count("price_history", db) == 2_400)
            #expect(try await Self.stagedRows(db) == 0)
            #expect(try await TestDatabase.count("catalog_import_runs", db) == 0)
            let audits = try await db.read { try await $0.raw("SELECT COUNT(*) AS n FROM audit_events WHERE entity_type = 'catalog_import'").first()!
                .decode(column: "n", as: Int.self) }
            #expect(audits == 1)
            // the values are free again once they are the catalog's own
            #expect(try await c.createProduct("OTHER-2", barcodeBase: 90_000).skus.count == 4)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func indexPendingSearch_finishesTheEntriesAnInterruptedImportLeft(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: an import whose search entries were lost after its commit (a crash)
            let c = try await Catalog.make(db)
            _ = try await c.importer.importCSV(.skus, text: SKUFile.standard.text, dryRun: false, caller: .system)
            let tee = try await c.catalog.product("TEE-01")
            try await db.write { tx in
                if tx.engine == .sqlite { try await tx.sql.raw("DELETE FROM product_search").run() }
                try await tx.sql.raw("UPDATE products SET search_text = '' WHERE id = \(bind: tee.id)").run()
                try await tx.sql.raw("INSERT INTO catalog_search_pending (product_id, recompute) VALUES (\(bind: tee.id), 1)").run()
            }
            var f = CatalogService.ProductFilter()
            f.text = "圆领"
            #expect(try await c.catalog.products(f).items.isEmpty)
            // act
            let indexed = try await c.catalog.indexPendingSearch()
            // check
            #expect(indexed == 1)
            #expect(try await c.catalog.products(f).items.map(\.code) == ["TEE-01"])
            #expect(try await TestDatabase.count("catalog_search_pending", db) == 0)
            #expect(try await c.catalog.indexPendingSearch() == 0)
        }
    }
}
