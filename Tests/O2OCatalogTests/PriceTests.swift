import Foundation
@testable import O2OCatalog
import O2OCore
import O2OTestSupport
import Testing

typealias NewPriceList = PriceService.NewPriceList

@Suite("Prices: price lists and resolution, on every engine")
struct PriceTests {
    /// A catalog with WEB, APP and POS channels and one shared T-shirt (¥199.00) listed on all three.
    struct Shop {
        let c: Catalog
        let web: SalesChannel
        let app: SalesChannel
        let pos: SalesChannel
        let tee: Product
        var sku: String { tee.skus[0].code }

        static func make(_ db: Database) async throws -> Shop {
            let c = try await Catalog.make(db)
            let web = try await c.channel("WEB", .web)
            let app = try await c.channel("APP", .app)
            let pos = try await c.channel("POS", .pos)
            let tee = try await c.createProduct("TEE-001", barcodeBase: 100)
            for ch in ["WEB", "APP", "POS"] {
                _ = try await c.catalog.setListings(channel: ch, tee.skus.map { .init(sku: $0.code, publishAt: c.clock.now()) }, caller: .system)
            }
            return Shop(c: c, web: web, app: app, pos: pos, tee: tee)
        }

        @discardableResult
        func list(_ new: NewPriceList, price: Int64) async throws -> PriceList {
            let list = try await c.prices.createPriceList(new, caller: .system)
            _ = try await c.prices.setEntries(list.id, [.init(sku: sku, price: price)], caller: .system)
            return list
        }

        func price(_ channel: SalesChannel, _ store: LocationFacts? = nil, plus seconds: TimeInterval = 0) async throws -> ResolvedPrice {
            try await c.prices.resolve(skus: [sku], c.at(channel, store, plus: seconds))[0]
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_withoutAnyList_isTheUnifiedRetailPrice(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            // act
            let online = try await shop.price(shop.web)
            let inStore = try await shop.price(shop.pos, Stores.shanghaiA)
            // check
            for r in [online, inStore] {
                #expect(r.price == 199_00 && r.listPrice == 199_00 && r.currency == "CNY")
                #expect(r.priceListId == nil && r.priceListCode == nil && r.overridden == [])
                #expect(r.rule.contains("unified retail price"))
                #expect(r.sellable && r.skuCode == "TEE-001-0M" && r.skuId == shop.tee.skus[0].id)
            }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_channelList_overridesOnThatChannelOnly(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            let list = try await shop.list(NewPriceList(code: "WEB-SALE", name: "官网特价", priority: 10, channelId: "WEB"), price: 159_00)
            // act
            let web = try await shop.price(shop.web)
            let app = try await shop.price(shop.app)
            let other = try await shop.c.prices.resolve(skus: [shop.tee.skus[1].code], shop.c.at(shop.web))[0]
            // check
            #expect(list.channelId == shop.web.id, "the channel code is stored as its id")
            #expect(web.price == 159_00 && web.listPrice == 199_00 && web.priceListId == list.id && web.priceListCode == "WEB-SALE")
            #expect(web.rule.contains("WEB-SALE"))
            #expect(app.price == 199_00 && app.priceListCode == nil)
            #expect(other.price == 199_00, "a list prices only the SKUs it has entries for")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_franchiseList_appliesOnlyAtThatFranchiseesStores(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            try await shop.list(NewPriceList(code: "FA-STORES", name: "加盟商A", priority: 10, organisationId: Stores.franchiseeA), price: 189_00)
            // act
            let atA1 = try await shop.price(shop.pos, Stores.shanghaiA)
            let atA2 = try await shop.price(shop.pos, Stores.beijingA)
            let atB = try await shop.price(shop.pos, Stores.beijingB)
            let atHQ = try await shop.price(shop.pos, Stores.shanghaiHQ)
            let online = try await shop.price(shop.web)
            // check
            #expect([atA1, atA2, atB, atHQ, online].map(\.price) == [189_00, 189_00, 199_00, 199_00, 199_00])
            #expect(atA1.priceListCode == "FA-STORES" && atA1.rule.contains("FA-STORES") && atA1.rule.contains(Stores.franchiseeA))
            let unknownOrg = await problem {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: "FZ", name: "?", priority: 10, organisationId: "org_zz"), caller: .system)
            }
            #expect(unknownOrg?.status == 422 && unknownOrg?.fields == ["organisationId"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_regionList_appliesByCityCode(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: Shanghai (city 310100)
            let shop = try await Shop.make(db)
            try await shop.list(NewPriceList(code: "SH-CITY", name: "上海", priority: 10, regionCode: "310100"), price: 179_00)
            // act
            let shanghai = try await shop.price(shop.pos, Stores.shanghaiHQ)
            let beijing = try await shop.price(shop.pos, Stores.beijingB)
            let online = try await shop.price(shop.web)
            // check
            #expect(shanghai.price == 179_00 && shanghai.priceListCode == "SH-CITY" && shanghai.rule.contains("region 310100"))
            #expect(beijing.price == 199_00 && online.price == 199_00)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_higherPriorityWins_andTheLosersAreNamed(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: three lists apply at Shanghai franchisee A's store on POS
            let shop = try await Shop.make(db)
            try await shop.list(NewPriceList(code: "POS-ALL", name: "门店价", priority: 10, channelId: "POS"), price: 189_00)
            try await shop.list(NewPriceList(code: "FA-PROMO", name: "加盟商A促销", priority: 30, organisationId: Stores.franchiseeA), price: 169_00)
            try await shop.list(NewPriceList(code: "SH-CITY", name: "上海", priority: 20, regionCode: "310000"), price: 179_00)
            // act
            let atA = try await shop.price(shop.pos, Stores.shanghaiA)
            let atHQ = try await shop.price(shop.pos, Stores.shanghaiHQ)
            let beijingB = try await shop.price(shop.pos, Stores.beijingB)
            // check
            #expect(atA.price == 169_00 && atA.priceListCode == "FA-PROMO")
            #expect(atA.overridden == ["SH-CITY", "POS-ALL"])
            #expect(atA.rule.contains("FA-PROMO") && atA.rule.contains("priority 30") && atA.rule.contains("SH-CITY"))
            #expect(atHQ.price == 179_00 && atHQ.priceListCode == "SH-CITY" && atHQ.overridden == ["POS-ALL"])
            #expect(beijingB.price == 189_00 && beijingB.priceListCode == "POS-ALL" && beijingB.overridden == [])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_respectsTheValidityWindow(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: a sale from tomorrow for two days
            let shop = try await Shop.make(db)
            let from = shop.c.clock.now().addingTimeInterval(86_400)
            try await shop.list(NewPriceList(code: "WEEKEND", name: "周末", priority: 10, channelId: "WEB", validFrom: from,
                                             validTo: from.addingTimeInterval(2 * 86_400)), price: 149_00)
            // act
            let prices = try await [0, 86_399, 86_400, 3 * 86_400 - 1, 3 * 86_400].asyncMap { try await shop.price(shop.web, plus: TimeInterval($0)) }
            // check
            #expect(prices.map(\.price) == [199_00, 199_00, 149_00, 149_00, 199_00])
            #expect(prices.map(\.priceListCode) == [nil, nil, "WEEKEND", "WEEKEND", nil])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createPriceList_overlappingAtEqualPriority_isRefusedOnPriority_butAdjacentPeriodsAreFine(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            let t0 = shop.c.clock.now()
            let t1 = t0.addingTimeInterval(7 * 86_400), t2 = t0.addingTimeInterval(14 * 86_400)
            let first = try await shop.c.prices.createPriceList(
                NewPriceList(code: "WEB-W1", name: "第一周", priority: 10, channelId: "WEB", validFrom: t0, validTo: t1), caller: .system)
            // act
            let overlapping = await problem {
                _ = try await shop.c.prices.createPriceList(
                    NewPriceList(code: "WEB-X", name: "重叠", priority: 10, channelId: "WEB", validFrom: t0.addingTimeInterval(86_400), validTo: t2),
                    caller: .system)
            }
            let everywhere = await problem {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: "ALL", name: "全渠道", priority: 10), caller: .system)
            }
            let countAfterRefusals = try await TestDatabase.count("price_lists", db)
            let second = try await shop.c.prices.createPriceList(
                NewPriceList(code: "WEB-W2", name: "第二周", priority: 10, channelId: "WEB", validFrom: t1, validTo: t2), caller: .system)
            let otherPriority = try await shop.c.prices.createPriceList(NewPriceList(code: "ALL", name: "全渠道", priority: 11), caller: .system)
            let otherChannel = try await shop.c.prices.createPriceList(
                NewPriceList(code: "APP-W1", name: "APP", priority: 10, channelId: "APP", validFrom: t0, validTo: t1), caller: .system)
            // check
            #expect(overlapping?.status == 422 && overlapping?.fields == ["priority"])
            #expect(overlapping?.message("priority")?.contains(first.code) == true)
            #expect(everywhere?.status == 422 && everywhere?.fields == ["priority"])
            #expect(countAfterRefusals == 1)
            #expect([second.code, otherPriority.code, otherChannel.code] == ["WEB-W2", "ALL", "APP-W1"])
            #expect(try await TestDatabase.count("price_lists", db) == 4)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createPriceList_regionsThatDoNotContainEachOther_mayShareAPriority(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: Chongqing 500000 and Sichuan 510000 are different provinces; Taizhou 331000 and Lishui 331100 different cities
            let shop = try await Shop.make(db)
            // act
            for (code, region) in [("CQ", "500000"), ("SC", "510000"), ("TZ", "331000"), ("LS", "331100")] {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: code, name: code, priority: 10, regionCode: region), caller: .system)
            }
            let inside = await problem {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: "CQ-CITY", name: "重庆市区", priority: 10, regionCode: "500100"), caller: .system)
            }
            // check
            #expect(try await TestDatabase.count("price_lists", db) == 4)
            #expect(inside?.status == 422 && inside?.fields == ["priority"] && inside?.message("priority")?.contains("CQ") == true)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func setEntries_negativePrice_isRefusedAndWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            let list = try await shop.c.prices.createPriceList(NewPriceList(code: "WEB-SALE", name: "官网特价", priority: 10, channelId: "WEB"), caller: .system)
            let history = try await TestDatabase.count("price_history", db)
            // act
            let p = await problem {
                _ = try await shop.c.prices.setEntries(list.id, [.init(sku: shop.tee.skus[0].code, price: 100_00),
                                                                 .init(sku: shop.tee.skus[1].code, price: -1)], caller: .system)
            }
            let unknown = await problem {
                _ = try await shop.c.prices.setEntries(list.id, [.init(sku: shop.tee.skus[0].code, price: 100_00), .init(sku: "NOPE", price: 1)],
                                                       caller: .system)
            }
            let twice = await problem {
                _ = try await shop.c.prices.setEntries(list.id, [.init(sku: shop.tee.skus[0].code, price: 100_00),
                                                                 .init(sku: shop.tee.skus[0].id, price: 90_00)], caller: .system)
            }
            // check
            #expect(twice?.status == 422 && twice?.fields == ["items[1].sku"])
            #expect(p?.status == 422 && p?.fields == ["items[1].price"])
            #expect(unknown?.status == 422 && unknown?.fields == ["items[1].sku"])
            #expect(try await TestDatabase.count("price_list_entries", db) == 0)
            #expect(try await TestDatabase.count("price_history", db) == history)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createPriceList_inAnotherCurrencyThanItsChannel_isRefusedNamingCurrency(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            // act
            let usd = await problem {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: "WEB-USD", name: "USD", currency: "USD", priority: 10, channelId: "WEB"),
                                                            caller: .system)
            }
            let noChannel = await problem {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: "X", name: "X", priority: 10, channelId: "NOPE"), caller: .system)
            }
            let warehouse = await problem {
                _ = try await shop.c.prices.createPriceList(NewPriceList(code: "WH", name: "WH", priority: 10, locationId: Stores.warehouse.id),
                                                            caller: .system)
            }
            // check
            #expect(usd?.status == 422 && usd?.fields == ["currency"] && usd?.message("currency")?.contains("CNY") == true)
            #expect(noChannel?.fields == ["channelId"])
            #expect(warehouse?.fields == ["locationId"])
            #expect(try await TestDatabase.count("price_lists", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolve_unknownSKUs_areNamedEachByPosition(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            // act
            let p = await problem {
                _ = try await shop.c.prices.resolve(skus: [shop.sku, "NOPE-1", shop.tee.skus[1].id, "NOPE-2"], shop.c.at(shop.web))
            }
            let noStore = await problem { _ = try await shop.c.prices.resolve(skus: [shop.sku], PriceContext(channelId: "WEB", locationId: "loc_x", at: Date())) }
            // check
            #expect(p?.status == 422 && p?.fields == ["skus[1]", "skus[3]"])
            #expect(p?.message("skus[1]")?.contains("NOPE-1") == true)
            #expect(noStore?.fields == ["locationId"])
            let byIdAndCode = try await shop.c.prices.resolve(skus: [shop.tee.skus[1].id, shop.sku], shop.c.at(shop.web))
            #expect(byIdAndCode.map(\.skuCode) == [shop.tee.skus[1].code, shop.sku])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func history_recordsListPriceAndEntryChanges_newestFirst(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let shop = try await Shop.make(db)
            let c = shop.c
            let list = try await c.prices.createPriceList(NewPriceList(code: "WEB-SALE", name: "官网特价", priority: 10, channelId: "WEB"), caller: .system)
            // act: one change a minute
            c.clock.advance(by: 60)
            var patch = CatalogService.SKUPatch()
            patch.listPrice = 189_00
            _ = try await c.catalog.updateSKU(shop.sku, patch, caller: .system)
            c.clock.advance(by: 60)
            #expect(try await c.prices.setEntries("WEB-SALE", [.init(sku: shop.sku, price: 159_00)], caller: .system) == 1)
            c.clock.advance(by: 60)
            #expect(try await c.prices.setEntries(list.id, [.init(sku: shop.sku, price: 159_00)], caller: .system) == 0, "an unchanged price is no change")
            #expect(try await c.prices.setEntries(list.id, [.init(sku: shop.sku, price: 149_00)], caller: .system) == 1)
            c.clock.advance(by: 60)
            #expect(try await c.prices.setEntries(list.id, [.init(sku: shop.sku, price: nil)], caller: .system) == 1)
            // check
            let history = try await c.prices.history(sku: shop.sku, limit: 10, cursor: nil).items
            #expect(history.map(\.priceListId) == [list.id, list.id, list.id, nil, nil])
            #expect(history.map(\.oldPrice) == [149_00, 159_00, nil, 199_00, nil])
            #expect(history.map(\.newPrice) == [nil, 149_00, 159_00, 189_00, 199_00])
            #expect(history.allSatisfy { $0.currency == "CNY" && $0.actorId == "system" && $0.source == "api" })
            let firstPage = try await c.prices.history(sku: shop.sku, limit: 2, cursor: nil)
            let secondPage = try await c.prices.history(sku: shop.sku, limit: 2, cursor: firstPage.nextCursor)
            #expect((firstPage.items + secondPage.items).map(\.id) == history.prefix(4).map(\.id))
            #expect(try await c.prices.history(sku: shop.tee.skus[1].id, limit: 10, cursor: nil).items.count == 1)
            #expect(try await shop.price(shop.web).price == 189_00, "the removed entry no longer applies")
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await transform(e)) }
        return out
    }
}
