import Foundation
@testable import O2OCatalog
import O2OCore
import O2OTestSupport
import Testing

@Suite("Catalog: products and SKUs, on every engine")
struct ProductTests {
    @Test(arguments: TestDatabase.engines)
    func createProduct_twoOptionsSixSKUs_readsBackEqual_withAuditEventAndPriceHistory(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            var new = c.newProduct("TEE-001", colours: ["黑色", "白色"], sizes: ["S", "M", "L"], barcodeBase: 100)
            new.attributes = ["material": "100% 棉", "fit": "regular"]
            new.images = ["https://img.example.com/tee-001/front.jpg"]
            new.description = "经典圆领"
            new.skus[0].externalCodes = [ExternalCode(system: "erp", code: "100001"), ExternalCode(system: "tmall", code: "TM-9")]
            new.skus[5].weightGrams = 210
            let auditBefore = try await TestDatabase.count("audit_events", db)
            let outboxBefore = try await TestDatabase.count("outbox_events", db)
            // act
            let created = try await c.catalog.createProduct(new, caller: .system)
            // check
            let read = try await c.catalog.product(created.id)
            #expect(read == created)
            #expect(try await c.catalog.product("TEE-001") == created)
            #expect(read.skus.map(\.code) == new.skus.map(\.code), "SKUs come back in the order they were created")
            #expect(read.skus.map(\.options) == [
                ["colour": "黑色", "size": "S"], ["colour": "黑色", "size": "M"], ["colour": "黑色", "size": "L"],
                ["colour": "白色", "size": "S"], ["colour": "白色", "size": "M"], ["colour": "白色", "size": "L"],
            ])
            #expect(read.skus.allSatisfy { $0.listPrice == Money(minorUnits: 199_00, currency: "CNY") && $0.productId == created.id })
            #expect(read.skus[0].externalCodes == [ExternalCode(system: "erp", code: "100001"), ExternalCode(system: "tmall", code: "TM-9")])
            #expect(read.skus[5].weightGrams == 210)
            #expect(read.attributes == ["material": "100% 棉", "fit": "regular"] && read.unit == "件" && read.version == 1)
            var byBarcode = CatalogService.SKUFilter()
            byBarcode.barcode = barcode(103)
            #expect(try await c.catalog.skus(byBarcode).items.map(\.code) == ["TEE-001-1S"])
            var byExternal = CatalogService.SKUFilter()
            byExternal.externalSystem = "tmall"
            byExternal.externalCode = "TM-9"
            #expect(try await c.catalog.skus(byExternal).items.map(\.id) == [created.skus[0].id])
            #expect(try await TestDatabase.count("products", db) == 1)
            #expect(try await TestDatabase.count("skus", db) == 6)
            #expect(try await TestDatabase.count("sku_external_codes", db) == 2)
            #expect(try await TestDatabase.count("audit_events", db) == auditBefore + 1)
            #expect(try await TestDatabase.count("outbox_events", db) == outboxBefore + 1)
            let audit = try await AuditLog(db: db).list(AuditQuery(entityType: "product", entityId: created.id), scope: .all)
            #expect(audit.items.map(\.action) == ["create"])
            #expect(audit.items.first?.after?.contains("\"code\":\"TEE-001\"") == true)
            let history = try await c.prices.history(sku: "TEE-001-0S", limit: 10, cursor: nil)
            #expect(history.items.map { [$0.oldPrice, $0.newPrice] } == [[nil, 199_00]])
            #expect(history.items.first?.source == "api" && history.items.first?.priceListId == nil)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createProduct_duplicateCodeAndBarcodeWithinTheRequest_namesEachRepeatAndWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: skus[1] repeats skus[0]'s code, skus[2] repeats skus[0]'s barcode, skus[3] repeats skus[2]'s options
            let c = try await Catalog.make(db)
            var new = c.newProduct("TEE-001", colours: ["黑色", "白色"], sizes: ["M", "L"], barcodeBase: 100)
            new.skus[1].code = new.skus[0].code
            new.skus[2].barcode = new.skus[0].barcode
            new.skus[3].options = new.skus[2].options
            // act
            let p = await problem { _ = try await c.catalog.createProduct(new, caller: .system) }
            // check
            #expect(p?.status == 422)
            #expect(Set(p?.fields ?? []) == ["skus[1].code", "skus[2].barcode", "skus[3].options"])
            #expect(p?.message("skus[2].barcode")?.contains("skus[0]") == true)
            #expect(try await TestDatabase.count("products", db) == 0)
            #expect(try await TestDatabase.count("skus", db) == 0)
            #expect(try await TestDatabase.count("price_history", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createProduct_codeOrBarcodeAlreadyTaken_isConflictNamingEachSKU_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let first = try await c.createProduct("TEE-001", barcodeBase: 100)
            var second = c.newProduct("TEE-002", barcodeBase: 200)
            second.skus[0].barcode = first.skus[2].barcode
            second.skus[1].code = first.skus[3].code
            let audit = try await TestDatabase.count("audit_events", db)
            // act
            let p = await problem { _ = try await c.catalog.createProduct(second, caller: .system) }
            var sameCode = c.newProduct("TEE-001", barcodeBase: 300)
            sameCode.skus = sameCode.skus.map { var s = $0; s.code = "X" + s.code; return s }
            let q = await problem { _ = try await c.catalog.createProduct(sameCode, caller: .system) }
            // check
            #expect(p?.status == 409)
            #expect(Set(p?.fields ?? []) == ["skus[0].barcode", "skus[1].code"])
            #expect(p?.message("skus[0].barcode")?.contains(first.skus[2].code) == true)
            #expect(q?.status == 409 && q?.fields == ["code"])
            #expect(try await TestDatabase.count("products", db) == 1)
            #expect(try await TestDatabase.count("skus", db) == 4)
            #expect(try await TestDatabase.count("audit_events", db) == audit)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createProduct_withWrongCheckDigit_namesTheFieldAndWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: 7501031311308 should end in 9
            let c = try await Catalog.make(db)
            var new = c.newProduct("TEE-001", barcodeBase: 100)
            new.skus[0].barcode = "7501031311308"
            new.skus[2].barcode = "12345"
            // act
            let p = await problem { _ = try await c.catalog.createProduct(new, caller: .system) }
            // check
            #expect(p?.status == 422)
            #expect(p?.fields == ["skus[0].barcode", "skus[2].barcode"])
            #expect(p?.message("skus[0].barcode")?.contains("check digit") == true)
            #expect(try await TestDatabase.count("products", db) == 0)
            #expect(try await TestDatabase.count("skus", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createProduct_negativePriceOrMissingOptionValues_isRefusedPerSKU(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            var new = c.newProduct("TEE-001", barcodeBase: 100)
            new.skus[0].listPrice = -1
            new.skus[1].options = ["colour": "黑色"]
            new.skus[2].options["fabric"] = "棉"
            new.skus[3].options["size"] = "  "
            // act
            let p = await problem { _ = try await c.catalog.createProduct(new, caller: .system) }
            // check
            #expect(p?.status == 422)
            #expect(Set(p?.fields ?? []) == ["skus[0].listPrice", "skus[1].options", "skus[2].options", "skus[3].options.size"])
            #expect(try await TestDatabase.count("products", db) == 0)
            #expect(try await TestDatabase.count("audit_events", db) == 2)  // the brand and the category only
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createProduct_unknownBrandOrCategory_isRefusedAndWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            var new = c.newProduct("TEE-001", barcodeBase: 100)
            new.brandId = "brd_missing"
            new.categoryId = "cat_missing"
            // act
            let p = await problem { _ = try await c.catalog.createProduct(new, caller: .system) }
            // check
            #expect(p?.status == 422 && p?.fields == ["brandId", "categoryId"])
            #expect(try await TestDatabase.count("products", db) == 0)
            #expect(try await TestDatabase.count("skus", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func updateSKU_andAddSKU_byCode_actOnTheSKUAndProductTheCodeNames(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let product = try await c.createProduct("TEE-001", barcodeBase: 100)
            var patch = CatalogService.SKUPatch()
            patch.listPrice = 189_00
            c.clock.advance(by: 60)
            // act: the SKU and the product named by code, the SKU keeping its own barcode
            let updated = try await c.catalog.updateSKU("TEE-001-0M", patch, caller: .system)
            let added = try await c.catalog.addSKU(productId: "TEE-001", .init(code: "TEE-001-2M", barcode: barcode(150),
                                                                                  options: ["colour": "红色", "size": "M"], listPrice: 209_00),
                                                   caller: .system)
            // check
            #expect(updated.id == product.skus[0].id && updated.listPrice.minorUnits == 189_00 && updated.barcode == product.skus[0].barcode)
            let history = try await c.prices.history(sku: product.skus[0].id, limit: 10, cursor: nil).items
            #expect(history.map(\.newPrice) == [189_00, 199_00] && history.allSatisfy { $0.skuId == product.skus[0].id })
            let audit = try await AuditLog(db: db).list(AuditQuery(entityType: "sku", entityId: product.skus[0].id), scope: .all)
            #expect(audit.items.map(\.action) == ["update"])
            #expect(added.productId == product.id)
            #expect(try await c.catalog.product(product.id).skus.map(\.code) == product.skus.map(\.code) + ["TEE-001-2M"])
            var f = CatalogService.ProductFilter()
            f.text = "001-2m"
            #expect(try await c.catalog.products(f).items.map(\.id) == [product.id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func updateSKU_priceChange_isHistory_andBarcodeChangeIsSearchable(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let product = try await c.createProduct("TEE-001", barcodeBase: 100)
            var patch = CatalogService.SKUPatch()
            patch.listPrice = 179_00
            patch.barcode = .some(barcode(999))
            patch.expectedVersion = 1
            c.clock.advance(by: 60)
            // act
            let updated = try await c.catalog.updateSKU(product.skus[0].id, patch, caller: .system)
            let stale = await problem { _ = try await c.catalog.updateSKU(product.skus[0].id, patch, caller: .system) }
            // check
            #expect(updated.version == 2 && updated.listPrice.minorUnits == 179_00 && updated.barcode == barcode(999))
            #expect(stale?.status == 409)
            let history = try await c.prices.history(sku: product.skus[0].code, limit: 10, cursor: nil)
            #expect(history.items.map { [$0.oldPrice, $0.newPrice] } == [[199_00, 179_00], [nil, 199_00]])
            var f = CatalogService.ProductFilter()
            f.text = barcode(999)
            #expect(try await c.catalog.products(f).items.map(\.id) == [product.id])
            f.text = product.skus[0].barcode
            #expect(try await c.catalog.products(f).items.isEmpty)
        }
    }
}

@Suite("Catalog: the category tree, on every engine")
struct CategoryTreeTests {
    @Test(arguments: TestDatabase.engines)
    func createCategory_pathsRunFromTheRootDown(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            // act
            let child = try await c.catalog.createCategory(code: "TEES", name: "T恤", nameEn: "Tees", parentId: c.category.id, caller: .system)
            let grandchild = try await c.catalog.createCategory(code: "CREW", name: "圆领", nameEn: nil, parentId: child.id, caller: .system)
            let orphan = await problem {
                _ = try await c.catalog.createCategory(code: "X", name: "X", nameEn: nil, parentId: "cat_missing", caller: .system)
            }
            // check
            #expect(c.category.path == "/\(c.category.id)/")
            #expect(child.path == "/\(c.category.id)/\(child.id)/")
            #expect(grandchild.path == "/\(c.category.id)/\(child.id)/\(grandchild.id)/" && grandchild.parentId == child.id)
            #expect(try await c.catalog.categories() == [c.category, child, grandchild])
            #expect(orphan?.status == 422 && orphan?.fields == ["parentId"])
            #expect(try await TestDatabase.count("categories", db) == 3)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func moveCategory_underItsOwnDescendant_isRefusedAsACycle_andChangesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let root = c.category
            let child = try await c.catalog.createCategory(code: "TEES", name: "T恤", nameEn: nil, parentId: root.id, caller: .system)
            let grandchild = try await c.catalog.createCategory(code: "CREW", name: "圆领", nameEn: nil, parentId: child.id, caller: .system)
            let before = try await c.catalog.categories()
            let audit = try await TestDatabase.count("audit_events", db)
            // act
            var underGrandchild = CategoryPatchBuilder.move(to: grandchild.id)
            underGrandchild.name = "renamed"
            let cycle = await problem { _ = try await c.catalog.updateCategory(root.id, underGrandchild, caller: .system) }
            let selfParent = await problem { _ = try await c.catalog.updateCategory(child.id, CategoryPatchBuilder.move(to: child.id), caller: .system) }
            // check
            #expect(cycle?.status == 422 && cycle?.fields == ["parentId"])
            #expect(cycle?.message("parentId")?.contains("cycle") == true)
            #expect(selfParent?.status == 422 && selfParent?.fields == ["parentId"])
            #expect(try await c.catalog.categories() == before)
            #expect(try await TestDatabase.count("audit_events", db) == audit)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func moveCategory_carriesItsWholeSubtree(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: TOPS > TEES > CREW, and a second root SALE
            let c = try await Catalog.make(db)
            let root = c.category
            let child = try await c.catalog.createCategory(code: "TEES", name: "T恤", nameEn: nil, parentId: root.id, caller: .system)
            let grandchild = try await c.catalog.createCategory(code: "CREW", name: "圆领", nameEn: nil, parentId: child.id, caller: .system)
            let sale = try await c.catalog.createCategory(code: "SALE", name: "特卖", nameEn: nil, parentId: nil, caller: .system)
            // act: TEES (with CREW) moves under SALE, then CREW becomes a root
            let moved = try await c.catalog.updateCategory(child.id, CategoryPatchBuilder.move(to: sale.id), caller: .system)
            let tree = Dictionary(uniqueKeysWithValues: try await c.catalog.categories().map { ($0.code, $0) })
            let rooted = try await c.catalog.updateCategory(grandchild.id, CategoryPatchBuilder.move(to: nil), caller: .system)
            // check
            #expect(moved.parentId == sale.id && moved.path == "/\(sale.id)/\(child.id)/" && moved.version == 2)
            #expect(tree["TEES"] == moved)
            #expect(tree["CREW"]?.path == "/\(sale.id)/\(child.id)/\(grandchild.id)/")
            #expect(tree["CREW"]?.parentId == child.id)
            #expect(tree["TOPS"]?.path == "/\(root.id)/" && tree["SALE"]?.path == "/\(sale.id)/")
            #expect(rooted.parentId == nil && rooted.path == "/\(grandchild.id)/")
            #expect(try await c.catalog.categories().first { $0.id == child.id }?.path == "/\(sale.id)/\(child.id)/")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func productSearch_byCategory_includesDescendants_andFollowsAMove(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: a product in each of TOPS, TOPS > TEES, TOPS > TEES > CREW and SALE
            let c = try await Catalog.make(db)
            let child = try await c.catalog.createCategory(code: "TEES", name: "T恤", nameEn: nil, parentId: c.category.id, caller: .system)
            let grandchild = try await c.catalog.createCategory(code: "CREW", name: "圆领", nameEn: nil, parentId: child.id, caller: .system)
            let sale = try await c.catalog.createCategory(code: "SALE", name: "特卖", nameEn: nil, parentId: nil, caller: .system)
            for (i, (code, cat)) in [("P-TOPS", c.category.id), ("P-TEES", child.id), ("P-CREW", grandchild.id), ("P-SALE", sale.id)].enumerated() {
                _ = try await c.catalog.createProduct(c.newProduct(code, categoryId: cat, barcodeBase: 100 * (i + 1)), caller: .system)
            }
            func search(_ category: String) async throws -> Set<String> {
                var f = CatalogService.ProductFilter()
                f.categoryId = category
                return Set(try await c.catalog.products(f).items.map(\.code))
            }
            // act, check
            #expect(try await search(c.category.id) == ["P-TOPS", "P-TEES", "P-CREW"])
            #expect(try await search(child.id) == ["P-TEES", "P-CREW"])
            #expect(try await search(grandchild.id) == ["P-CREW"])
            #expect(try await search("cat_missing") == [])
            _ = try await c.catalog.updateCategory(child.id, CategoryPatchBuilder.move(to: sale.id), caller: .system)
            #expect(try await search(c.category.id) == ["P-TOPS"])
            #expect(try await search(sale.id) == ["P-SALE", "P-TEES", "P-CREW"])
        }
    }
}

enum CategoryPatchBuilder {
    static func move(to parent: String?) -> CatalogService.CategoryPatch {
        var p = CatalogService.CategoryPatch()
        p.parentId = .some(parent)
        return p
    }
}
