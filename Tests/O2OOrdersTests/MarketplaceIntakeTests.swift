import Foundation
import O2OCore
import O2OInventory
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Marketplace intake: a marketplace's orders become O2O orders, once")
struct MarketplaceIntakeTests {
    /// Three divisions around the shop's customer (黄浦区 at the fixture's home point).
    static let regions = """
        adcode,name,longitude,latitude
        310000000000,上海市,121.472644,31.231706
        310100000000,市辖区,121.472644,31.231706
        310101000000,黄浦区,\(Shop.home.lng),\(Shop.home.lat)
        """

    static func shop<T: Sendable>(_ engine: DatabaseEngine, _ body: @escaping @Sendable (Shop) async throws -> T) async throws -> T {
        try await Shop.with(engine, configure: { c in c.geocoder = try! RegionCentroids(csv: regions) }, body)
    }

    /// A Tmall trade (taobao.trade.fullinfo.get) for 2 × M at ¥99 with ¥10 off the line.
    static func trade(_ tid: String, status: String = "WAIT_SELLER_SEND_GOODS", sku: String = "ORD-P-M", district: String = "黄浦区") -> Data {
        Data("""
            {"trade_fullinfo_get_response": {"trade": {
              "tid_str": "\(tid)", "status": "\(status)", "created": "2026-11-11 00:00:05", "pay_time": "2026-11-11 00:01:10",
              "total_fee": "198.00", "discount_fee": "10.00", "post_fee": "0.00", "payment": "188.00",
              "buyer_open_uid": "AAHk5d-EAAeG", "receiver_name": "王小明", "receiver_mobile": "13800138000", "receiver_state": "上海",
              "receiver_city": "上海市", "receiver_district": "\(district)", "receiver_address": "南京东路 1 号",
              "orders": {"order": [{"oid_str": "\(tid)1", "outer_sku_id": "\(sku)", "title": "圆领T恤 M", "num": 2, "price": "99.00",
                                    "total_fee": "198.00", "discount_fee": "10.00", "payment": "188.00", "status": "\(status)"}]}
            }}}
            """.utf8)
    }

    @Test(arguments: TestDatabase.engines)
    func importTmall_paidTrade_isPlacedAtTheMarketplacesPrices_onceAndCancelledWhenTheMarketplaceClosesIt(_ engine: DatabaseEngine) async throws {
        try await Self.shop(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            // act
            let first = try await s.orders.importMarketplaceOrders(Self.trade("3786212345678901234"), adapter: TmallAdapter(), channel: s.market.code,
                                                                   caller: .system)
            let again = try await s.orders.importMarketplaceOrders(Self.trade("3786212345678901234"), adapter: TmallAdapter(), channel: s.market.code,
                                                                   caller: .system)
            let held = try await s.balance(s.skus[1], s.warehouse).reserved
            let closed = try await s.orders.importMarketplaceOrders(Self.trade("3786212345678901234", status: "TRADE_CLOSED"), adapter: TmallAdapter(),
                                                                    channel: s.market.code, caller: .system)
            // check
            #expect(first.map(\.outcome) == [.placed], "\(first.map { $0.problem?.description ?? "" })")
            let o = try #require(first[0].order)
            #expect(o.externalId == "3786212345678901234" && o.status == .allocated && o.paymentStatus == .paid)
            #expect(o.total == 18_800 && o.discountTotal == 1_000 && o.lines[0].priceRule == "marketplace" && o.lines[0].unitPrice == 9_900)
            #expect(o.payments.map(\.tender) == [.marketplace] && o.paidTotal == 18_800)
            #expect(o.address?.districtCode == "310101" && o.address?.lat == Shop.home.lat)
            #expect(first[0].warnings.contains { $0.contains("centre of its district") })
            #expect(again.map(\.outcome) == [.unchanged] && again[0].order?.id == o.id)
            #expect(held == 2)
            #expect(closed.map(\.outcome) == [.cancelled] && closed[0].order?.status == .cancelled)
            #expect(try await s.balance(s.skus[1], s.warehouse).reserved == 0)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importTmall_unpaidUnknownSkuOrNowhereToDeliver_placeNothing_andSayWhy(_ engine: DatabaseEngine) async throws {
        try await Self.shop(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            let before = try await s.snapshot()
            // act
            let unpaid = try await s.orders.importMarketplaceOrders(Self.trade("1", status: "WAIT_BUYER_PAY"), adapter: TmallAdapter(),
                                                                    channel: s.market.code, caller: .system)
            let unknown = try await s.orders.importMarketplaceOrders(Self.trade("2", sku: "NO-SUCH"), adapter: TmallAdapter(), channel: s.market.code,
                                                                     caller: .system)
            let nowhere = try await s.orders.importMarketplaceOrders(Self.trade("3", district: "不存在区"), adapter: TmallAdapter(),
                                                                     channel: s.market.code, caller: .system)
            // check
            #expect(unpaid.map(\.outcome) == [.skipped])
            #expect(unknown.map(\.outcome) == [.rejected] && unknown[0].problem?.fields == ["lines[0].sku"])
            // an unknown district falls back to the city's centre: still placed
            #expect(nowhere.map(\.outcome) == [.placed] && nowhere[0].warnings.contains { $0.contains("centre of its city") })
            await #expect(throws: Problem.self) {
                _ = try await s.orders.importMarketplaceOrders(Self.trade("4"), adapter: TmallAdapter(), channel: s.web.code, caller: .system)
            }
            #expect(try await s.snapshot()[0] == before[0] + 1, "only the city-centred order was written")
        }
    }

    @Test func regionCentroids_readTheDivisionTable_andFindTheMostSpecificDivision() throws {
        // setup: the published division table when it is checked out next to the package, else ours
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data/china-regions/cpca_adcodes_with_lnglat.csv").standardizedFileURL
        if let data = FileManager.default.contents(atPath: url.path) {
            let table = try RegionCentroids(csv: String(decoding: data, as: UTF8.self))
            let xihu = try #require(table.locate(province: "浙江省", city: "杭州市", district: "西湖区"))
            #expect(xihu.precision == "district" && xihu.districtCode == "330106" && xihu.cityCode == "330100" && xihu.provinceCode == "330000")
            #expect(abs(xihu.lat - 30.26) < 0.2 && abs(xihu.lng - 120.13) < 0.2)
            #expect(table.locate(province: "上海", city: "上海市", district: "虹口区")?.districtCode == "310109", "a municipality's districts")
            #expect(table.locate(province: "浙江", city: "杭州市", district: nil)?.precision == "city")
            #expect(table.locate(province: "不存在省", city: nil, district: nil) == nil)
        }
        let ours = try RegionCentroids(csv: Self.regions)
        #expect(ours.locate(province: "上海市", city: "上海市", district: "黄浦区")?.districtCode == "310101")
        #expect(throws: Problem.self) { _ = try RegionCentroids(csv: "adcode,name,longitude,latitude\n310000,上海市,east,north\n") }
    }
}
