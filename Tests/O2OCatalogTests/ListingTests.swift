import Foundation
@testable import O2OCatalog
import O2OCore
import O2OTestSupport
import Testing

@Suite("Catalog: listings and the assortment rules, on every engine")
struct ListingTests {
    @Test(arguments: TestDatabase.engines)
    func onlineExclusive_onAStoreChannel_isRefusedNamingTheItem_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let pos = try await c.channel("POS", .pos)
            let shared = try await c.createProduct("TEE-SHARED", barcodeBase: 100)
            let online = try await c.createProduct("TEE-ONLINE", assortment: .onlineExclusive, barcodeBase: 200)
            let audit = try await TestDatabase.count("audit_events", db)
            // act: the bad item is second; the first alone would be fine
            let p = await problem {
                _ = try await c.catalog.setListings(channel: "POS", [
                    .init(sku: shared.skus[0].code, publishAt: c.clock.now()),
                    .init(sku: online.skus[1].id, publishAt: c.clock.now()),
                ], caller: .system)
            }
            let first = await problem {
                _ = try await c.catalog.setListings(channel: pos.id, [.init(sku: online.skus[0].code, publishAt: nil)], caller: .system)
            }
            // check
            #expect(p?.status == 422 && p?.fields == ["items[1].sku"])
            #expect(p?.message("items[1].sku")?.contains("online-exclusive") == true)
            #expect(first?.fields == ["items[0].sku"])
            #expect(try await TestDatabase.count("listings", db) == 0)
            #expect(try await TestDatabase.count("audit_events", db) == audit)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func setListings_theSameSKUByIdAndByCode_isRefusedAsARepeat(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            _ = try await c.channel("WEB", .web)
            let tee = try await c.createProduct("TEE-001", barcodeBase: 100)
            // act
            let p = await problem {
                _ = try await c.catalog.setListings(channel: "WEB", [.init(sku: tee.skus[0].id, publishAt: c.clock.now()),
                                                                     .init(sku: tee.skus[0].code, publishAt: nil)], caller: .system)
            }
            // check
            #expect(p?.status == 422 && p?.fields == ["items[1].sku"])
            #expect(try await TestDatabase.count("listings", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func storeExclusive_onWeb_isRefused_whileSharedListsOnBoth(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            let pos = try await c.channel("POS", .pos)
            let shared = try await c.createProduct("TEE-SHARED", barcodeBase: 100)
            let store = try await c.createProduct("TEE-STORE", assortment: .storeExclusive, barcodeBase: 200)
            // act
            let refused = await problem {
                _ = try await c.catalog.setListings(channel: "WEB", [.init(sku: store.skus[0].code, publishAt: c.clock.now())], caller: .system)
            }
            let onWeb = try await c.catalog.setListings(channel: "WEB", [.init(sku: shared.skus[0].code, publishAt: c.clock.now())], caller: .system)
            let onPOS = try await c.catalog.setListings(channel: "POS", [
                .init(sku: shared.skus[0].code, publishAt: c.clock.now()), .init(sku: store.skus[0].code, publishAt: c.clock.now()),
            ], caller: .system)
            // check
            #expect(refused?.status == 422 && refused?.fields == ["items[0].sku"])
            #expect(refused?.message("items[0].sku")?.contains("store-exclusive") == true)
            #expect(onWeb.map(\.skuId) == [shared.skus[0].id] && onWeb[0].channelId == web.id && onWeb[0].version == 1)
            #expect(onPOS.map(\.skuId) == [shared.skus[0].id, store.skus[0].id] && onPOS.allSatisfy { $0.channelId == pos.id })
            #expect(try await TestDatabase.count("listings", db) == 3)
            let onWebNow = try await c.prices.resolve(skus: [shared.skus[0].code, store.skus[0].code], c.at(web))
            #expect(onWebNow.map(\.sellable) == [true, false])
            #expect(onWebNow[1].notSellableReason?.contains("store-exclusive") == true)
            let atStore = try await c.prices.resolve(skus: [shared.skus[0].code, store.skus[0].code], c.at(pos, Stores.shanghaiHQ))
            #expect(atStore.map(\.sellable) == [true, true])
            var f = CatalogService.ListingFilter()
            f.channelId = pos.id
            #expect(Set(try await c.catalog.listings(f).items.map(\.skuId)) == [shared.skus[0].id, store.skus[0].id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func scheduledPublish_isNotSellableBefore_butIsFromThatTime_untilUnpublished(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: listed from one hour on, off again after a day
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            let tee = try await c.createProduct("TEE-001", barcodeBase: 100)
            let sku = tee.skus[0].code
            let publish = c.clock.now().addingTimeInterval(3600)
            // act
            let listings = try await c.catalog.setListings(channel: "WEB", [
                .init(sku: sku, publishAt: publish, unpublishAt: publish.addingTimeInterval(86_400)),
            ], caller: .system)
            // check
            #expect(listings[0].publishAt == Date(epochMillis: publish.epochMillis))
            let now = try await c.prices.resolve(skus: [sku], c.at(web))[0]
            #expect(now.sellable == false && now.notSellableReason?.contains("listed on WEB from") == true)
            #expect(now.price == 199_00, "the price is still told")
            #expect(try await c.prices.resolve(skus: [sku], c.at(web, plus: 3599))[0].sellable == false)
            #expect(try await c.prices.resolve(skus: [sku], c.at(web, plus: 3600))[0].sellable == true)
            #expect(try await c.prices.resolve(skus: [sku], c.at(web, plus: 3600 + 86_399))[0].sellable == true)
            let after = try await c.prices.resolve(skus: [sku], c.at(web, plus: 3600 + 86_400))[0]
            #expect(after.sellable == false && after.notSellableReason?.contains("unpublished") == true)
            let unlisted = try await c.prices.resolve(skus: [tee.skus[1].code], c.at(web, plus: 3600))[0]
            #expect(unlisted.sellable == false && unlisted.notSellableReason?.contains("not listed") == true)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func onlineFirstUntil_refusesAStoreListingBeforeTheDate_butNotOnlineOrAfterwards(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: a new product sold online only for its first week (新品首销)
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            let pos = try await c.channel("POS", .pos)
            let launchEnds = c.clock.now().addingTimeInterval(7 * 86_400)
            let tee = try await c.createProduct("TEE-NEW", onlineFirstUntil: launchEnds, barcodeBase: 100)
            let sku = tee.skus[0].code
            // act
            let early = await problem {
                _ = try await c.catalog.setListings(channel: "POS", [.init(sku: sku, publishAt: c.clock.now())], caller: .system)
            }
            let listingsAfterRefusal = try await TestDatabase.count("listings", db)
            _ = try await c.catalog.setListings(channel: "WEB", [.init(sku: sku, publishAt: c.clock.now())], caller: .system)
            _ = try await c.catalog.setListings(channel: "POS", [.init(sku: sku, publishAt: launchEnds)], caller: .system)
            // check
            #expect(early?.status == 422 && early?.fields == ["items[0].publishAt"])
            #expect(early?.message("items[0].publishAt")?.contains("新品首销") == true)
            #expect(listingsAfterRefusal == 0)
            #expect(try await TestDatabase.count("listings", db) == 2)
            #expect(try await c.prices.resolve(skus: [sku], c.at(web))[0].sellable == true)
            let inStoreEarly = try await c.prices.resolve(skus: [sku], c.at(pos, Stores.shanghaiHQ, plus: 86_400))[0]
            #expect(inStoreEarly.sellable == false && inStoreEarly.notSellableReason?.contains("新品首销") == true)
            #expect(try await c.prices.resolve(skus: [sku], c.at(pos, Stores.shanghaiHQ, plus: 7 * 86_400))[0].sellable == true)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func changingAssortment_whileListedOnTheOtherSide_isRefused(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            _ = try await c.channel("POS", .pos)
            let tee = try await c.createProduct("TEE-001", barcodeBase: 100)
            _ = try await c.catalog.setListings(channel: "POS", [.init(sku: tee.skus[0].code, publishAt: c.clock.now())], caller: .system)
            var patch = CatalogService.ProductPatch()
            patch.assortment = .onlineExclusive
            // act
            let p = await problem { _ = try await c.catalog.updateProduct(tee.id, patch, caller: .system) }
            // check
            #expect(p?.status == 422 && p?.fields == ["assortment"])
            #expect(try await c.catalog.product(tee.id).assortment == .shared)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func draftProduct_orDiscontinuedSKU_isNotSellable(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            let draft = try await c.catalog.createProduct(c.newProduct("TEE-DRAFT", status: .draft, barcodeBase: 100), caller: .system)
            let tee = try await c.createProduct("TEE-001", barcodeBase: 200)
            var patch = CatalogService.SKUPatch()
            patch.status = .discontinued
            _ = try await c.catalog.updateSKU(tee.skus[1].id, patch, caller: .system)
            _ = try await c.catalog.setListings(channel: "WEB", [draft.skus[0], tee.skus[0], tee.skus[1]].map {
                .init(sku: $0.code, publishAt: c.clock.now())
            }, caller: .system)
            // act
            let r = try await c.prices.resolve(skus: [draft.skus[0].code, tee.skus[0].code, tee.skus[1].code], c.at(web))
            // check
            #expect(r.map(\.sellable) == [false, true, false])
            #expect(r[0].notSellableReason == "the product is draft")
            #expect(r[2].notSellableReason == "the SKU is discontinued")
        }
    }
}
