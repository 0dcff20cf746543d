import Foundation
import HTTPTypes
import O2OCore
import O2OOrders
import O2OPromotions
import O2OServer
import O2OTestSupport
import Testing

@Suite("Placing an order takes up what pricing applied: coupons, flash-sale units, gifts and budgets; cancelling gives them back")
struct OrderPromotionsHTTPTests {
    /// The fixture catalog listed on AM-WEB (AM-P-M at ¥99), a store holding `units` of it, and a member.
    static func shop(_ s: TestServer, units: Int = 9) async throws -> (c: CatalogFixture, store: String, member: String) {
        let c = try await CatalogFixture.make(s.services)
        _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))], caller: .system)
        let store = try await s.locations().first { $0.kind == .store }!.id
        _ = try await s.services.inventory.post(.init(location: store, kind: .receipt, lines: [.init(sku: c.skuId, quantity: units)]), caller: .system)
        let member = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
        return (c, store, member)
    }

    /// A pickup order of AM-P-M, paid `total` by the sandbox (nil: left to pay).
    static func order(_ store: String, member: String, units: Int, total: Int?, extra: String = "") -> String {
        let pay = total.map { #","payments":[{"tender":"sandbox","amount":\#($0)}]"# } ?? ""
        return #"""
            {"channelId":"AM-WEB","memberId":"\#(member)","method":"pickup","pickupLocationId":"\#(store)","lines":[{"sku":"AM-P-M","quantity":\#(units)}]\#(pay)\#(extra)}
            """#
    }

    static func key(_ k: String) -> HTTPFields { [HTTPField.Name("Idempotency-Key")!: k] }

    @Test(arguments: TestDatabase.engines)
    func aCoupon_isRedeemedByItsOrder_once_refusedToASecond_andGivenBackOnCancel(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a single-use ¥20-off-¥100 coupon in the member's purse
            let (_, store, ann) = try await Self.shop(s)
            let template = try await s.call(.post, "/api/v1/coupon-templates", as: .marketer, json: #"""
                {"name":"满100减20券","benefit":{"kind":"amountOff","amountOff":2000},"conditions":{"minAmount":10000},
                 "validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"}
                """#).json["id"] as! String
            let given = try await s.call(.post, "/api/v1/coupon-templates/\(template)/distributions", as: .marketer, json: #"{"memberIds":["\#(ann)"]}"#)
            let code = try #require(((given.json["issued"] as? [[String: Any]])?.first?["code"]) as? String, "\(given.body)")

            // act: the order names the coupon; its retry (same Idempotency-Key) is the same order
            let body = Self.order(store, member: ann, units: 2, total: 17_800, extra: #","couponCodes":["\#(code)"]"#)
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: body, headers: Self.key("order-1"))
            let retried = try await s.call(.post, "/api/v1/orders", as: .integration, json: body, headers: Self.key("order-1"))

            // check: ¥198 − ¥20, redeemed once, counted by the report
            #expect(placed.status == 201 && placed.json["total"] as? Int == 17_800 && placed.json["discountTotal"] as? Int == 2_000, "\(placed.body)")
            let id = try #require(placed.json["id"] as? String)
            #expect(retried.json["id"] as? String == id)
            #expect(try await TestDatabase.count("coupon_redemptions", s.services.db) == 1)
            #expect(try await s.services.promotions.coupon(code: code)?.uses == 1)
            let report = try await s.call(.get, "/api/v1/promotions/\(template)/report", as: .marketer)
            #expect(report.json["orders"] as? Int == 1 && report.json["discount"] as? Int == 2_000 && report.json["units"] as? Int == 2, "\(report.body)")
            #expect(report.json["membersReached"] as? Int == 1 && report.json["couponsRedeemed"] as? Int == 1 && report.json["redemptionRate"] as? Double == 1)

            // a second order with the used coupon: 409 naming it, nothing written
            let (orders, reservations, audit) = (try await TestDatabase.count("orders", s.services.db),
                                                 try await TestDatabase.count("inventory_reservations", s.services.db),
                                                 try await TestDatabase.count("audit_events", s.services.db))
            let second = try await s.call(.post, "/api/v1/orders", as: .integration, json: body, headers: Self.key("order-2"))
            #expect(second.status == 409 && second.problemType?.hasSuffix("coupon-used") == true && second.body.contains(code), "\(second.body)")
            #expect(try await TestDatabase.count("orders", s.services.db) == orders)
            #expect(try await TestDatabase.count("inventory_reservations", s.services.db) == reservations)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)

            // cancelled, the coupon is usable again and the report no longer counts the order
            let cancelled = try await s.call(.post, "/api/v1/orders/\(id)/cancel", as: .ops, json: #"{"reason":"customer changed their mind"}"#)
            #expect(cancelled.status == 200, "\(cancelled.body)")
            #expect(try await s.services.promotions.coupon(code: code)?.uses == 0)
            #expect(try await s.call(.get, "/api/v1/promotions/\(template)/report", as: .marketer).json["orders"] as? Int == 0)
            // without codes, the member's own coupon is considered and redeemed
            let again = try await s.call(.post, "/api/v1/orders", as: .integration, json: Self.order(store, member: ann, units: 2, total: 17_800),
                                         headers: Self.key("order-3"))
            #expect(again.status == 201 && again.json["discountTotal"] as? Int == 2_000, "\(again.body)")
            #expect(try await s.services.promotions.coupon(code: code)?.uses == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aFlashSale_underSixtyConcurrentOrders_sellsExactlyItsUnits_oncePerMember(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: 20 units at ¥49, one per member; 30 members place two orders each, all at once
            let (c, store, _) = try await Self.shop(s, units: 200)
            let now = s.services.clock.instant()
            let sale = try await s.services.promotions.createFlashSale(.init(name: "秒杀", skuId: c.skuId, price: 4_900, quantity: 20, perMemberLimit: 1,
                                                                              startsAt: now.addingTimeInterval(-3_600), endsAt: now.addingTimeInterval(86_400)),
                                                                        caller: .system)
            var members: [String] = []
            for i in 0..<30 {
                let r = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"1390000\#(String(format: "%04d", i))","channel":"web"}"#)
                members.append(try #require(r.json["id"] as? String, "\(r.body)"))
            }
            // act
            let orders = s.services.orders
            let outcomes = await withTaskGroup(of: (String, Result<Order, any Error>).self) { group in
                for m in members + members {
                    group.addTask {
                        let new = OrderService.NewOrder(channel: "AM-WEB", memberId: m, method: .pickup, pickupLocation: store, lines: [(sku: "AM-P-M", quantity: 1)])
                        do { return (m, .success(try await orders.place(new, caller: .system))) } catch { return (m, .failure(error)) }
                    }
                }
                var all: [(String, Result<Order, any Error>)] = []
                for await o in group { all.append(o) }
                return all
            }
            // check: exactly 20 orders at the flash price, none for a member twice; the rest refused (409) or priced as usual
            let placed = outcomes.compactMap { m, r in (try? r.get()).map { (m, $0) } }
            let flash = placed.filter { $0.1.lines[0].unitPrice == 4_900 }
            #expect(flash.count == 20)
            #expect(Set(flash.map(\.0)).count == 20)
            #expect(placed.allSatisfy { $0.1.lines[0].unitPrice == 4_900 || $0.1.lines[0].unitPrice == 9_900 })
            for case (_, .failure(let e)) in outcomes {
                #expect((e as? any ProblemConvertible)?.problem.status == 409 || (e as? Problem)?.status == 409, "\(e)")
            }
            let sold = try await s.services.promotions.flashSale(sale.id)
            #expect(sold.sold == 20)
            #expect(try await TestDatabase.count("flash_sale_claims", s.services.db) == 20)
            // a cancelled flash order gives its unit back
            let cancelled = try await s.call(.post, "/api/v1/orders/\(flash[0].1.id)/cancel", as: .ops, json: #"{"reason":"changed their mind"}"#)
            #expect(cancelled.status == 200, "\(cancelled.body)")
            #expect(try await s.services.promotions.flashSale(sale.id).sold == 19)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aGift_isALineAtZero_heldLikeTheOthers_andLeftOutWhenOutOfStock(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: one gift tote in the store; a gift with every order of ¥99 or more
            let (c, store, member) = try await Self.shop(s)
            let tote = try await s.services.catalog.createProduct(.init(
                code: "AM-G", name: "赠品帆布袋", nameEn: "Gift tote", brandId: c.brandId, categoryId: c.categoryId, optionNames: ["size"],
                status: .active, skus: [.init(code: "AM-G-1", barcode: nil, options: ["size": "F"], listPrice: 1_900)]), caller: .system).skus[0]
            _ = try await s.services.inventory.post(.init(location: store, kind: .receipt, lines: [.init(sku: tote.id, quantity: 1)]), caller: .system)
            let promotion = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
                {"name":"买就送帆布袋","when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},
                 "what":{"kind":"gift","minimum":9900,"gift":{"skuId":"\#(tote.id)","skuCode":"AM-G-1","quantity":1}},"where":{"channels":["AM-WEB"]}}
                """#).json["id"] as! String
            _ = try await s.call(.post, "/api/v1/promotions/\(promotion)/status", as: .marketer, json: #"{"status":"active"}"#)

            // act
            let first = try await s.call(.post, "/api/v1/orders", as: .integration, json: Self.order(store, member: member, units: 1, total: 9_900))
            let second = try await s.call(.post, "/api/v1/orders", as: .integration, json: Self.order(store, member: member, units: 1, total: 9_900))

            // check: the first order holds the tote at ¥0 from the store; the second goes without it and says so
            #expect(first.status == 201 && first.json["total"] as? Int == 9_900, "\(first.body)")
            let lines = (first.json["lines"] as? [[String: Any]]) ?? []
            #expect(lines.count == 2 && lines.last?["skuId"] as? String == tote.id && lines.last?["unitPrice"] as? Int == 0)
            #expect(lines.last?["total"] as? Int == 0 && lines.last?["locationId"] as? String == store && lines.last?["listPrice"] as? Int == 1_900)
            #expect(try await s.services.inventory.balance(sku: tote.id, location: store, scope: .all).reserved == 1)
            #expect(second.status == 201 && (second.json["lines"] as? [Any])?.count == 1, "\(second.body)")
            let notes = ((second.json["timeline"] as? [[String: Any]]) ?? []).compactMap { $0["note"] as? String }
            #expect(notes.contains { $0.contains("AM-G-1") && $0.contains("out of stock") }, "\(notes)")
            // the report counts the order that got the gift
            let report = try await s.call(.get, "/api/v1/promotions/\(promotion)/report", as: .marketer)
            #expect(report.json["orders"] as? Int == 1, "\(report.body)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aPromotionsBudget_isChargedPerOrder_andNoLongerAppliesOnceUsedUp(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: ¥10 off each unit, a ¥20 budget
            let (_, store, member) = try await Self.shop(s)
            let promotion = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
                {"name":"立减10元","when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},
                 "what":{"kind":"amountOff","amountOff":1000},"where":{"channels":["AM-WEB"]},"budget":2000}
                """#)
            let id = try #require(promotion.json["id"] as? String, "\(promotion.body)")
            _ = try await s.call(.post, "/api/v1/promotions/\(id)/status", as: .marketer, json: #"{"status":"active"}"#)
            // act: two ¥10 discounts use the budget up; the third order pays the full price
            var totals: [Int] = []
            for _ in 0..<3 {
                let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: Self.order(store, member: member, units: 1, total: nil))
                #expect(placed.status == 201, "\(placed.body)")
                totals.append(placed.json["total"] as? Int ?? -1)
            }
            // check
            #expect(totals == [8_900, 8_900, 9_900])
            let report = try await s.call(.get, "/api/v1/promotions/\(id)/report", as: .marketer)
            #expect(report.json["orders"] as? Int == 2 && report.json["discount"] as? Int == 2_000 && report.json["budgetLeft"] as? Int == 0, "\(report.body)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aPointsPromotion_multipliesWhatItsOrderEarnsOnCompletion_andAnOrderWithoutItEarnsTheBaseRate(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: triple points for members on the web shop this month
            let (_, store, ann) = try await Self.shop(s)
            let promotion = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
                {"name":"会员三倍积分","who":{"kind":"members"},"when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},
                 "what":{"kind":"pointsMultiplier","multiplier":3},"where":{"channels":["AM-WEB"]}}
                """#).json["id"] as! String
            _ = try await s.call(.post, "/api/v1/promotions/\(promotion)/status", as: .marketer, json: #"{"status":"active"}"#)
            let orders = s.services.orders
            func complete(_ body: String, key: String) async throws -> Int64 {
                let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: body, headers: Self.key(key))
                let id = try #require(placed.json["id"] as? String, "\(placed.body)")
                for next in [OrderStatus.released, .picking, .readyForPickup] { _ = try await orders.advance(id, to: next, caller: .system) }
                let code = try await orders.order(id, scope: .all).pickupCode
                _ = try await orders.advance(id, to: .pickedUp, pickupCode: code, caller: .system)
                _ = try await orders.advance(id, to: .completed, caller: .system)
                return try await s.services.members.pointsBalance(ann).balance
            }
            // act
            let tripled = try await complete(Self.order(store, member: ann, units: 1, total: 9_900), key: "pts-1")
            _ = try await s.call(.post, "/api/v1/promotions/\(promotion)/status", as: .marketer, json: #"{"status":"ended"}"#)
            let plain = try await complete(Self.order(store, member: ann, units: 1, total: 9_900), key: "pts-2")
            // check: ¥99 earns 99 points at the base rate, 297 with the promotion
            #expect(tripled == 297)
            #expect(plain == 297 + 99)
            #expect(try await s.services.members.verify().ok)
        }
    }
}
