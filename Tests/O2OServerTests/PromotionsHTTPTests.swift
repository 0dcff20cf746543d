import Foundation
import HTTPTypes
import O2OCore
import O2OPromotions
import O2OServer
import O2OTestSupport
import Testing

@Suite("Promotions and cart pricing over HTTP: one promotion policy for every channel")
struct PromotionsHTTPTests {
    static func fields(_ r: TestServer.Reply) -> Set<String> {
        Set(((r.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
    }

    /// The fixture catalog (AM-P-M at ¥99 on AM-WEB, listed) and a 满减 on the web shop: ¥300 − ¥50, ¥500 − ¥100.
    static func threshold(_ s: TestServer) async throws -> (promotion: String, c: CatalogFixture) {
        let c = try await CatalogFixture.make(s.services)
        _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))], caller: .system)
        let created = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
            {"name":"满300减50","when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},
             "what":{"kind":"threshold","tiers":[{"minimum":30000,"amountOff":5000},{"minimum":50000,"amountOff":10000}]},
             "where":{"channels":["AM-WEB"]}}
            """#)
        let id = try #require(created.json["id"] as? String, "\(created.body)")
        #expect(created.status == 201 && created.json["status"] as? String == "draft")
        #expect(((created.json["where"] as? [String: Any])?["channels"] as? [String]) == [c.channelId])
        let active = try await s.call(.post, "/api/v1/promotions/\(id)/status", as: .marketer, json: #"{"status":"active"}"#)
        #expect(active.status == 200 && active.json["status"] as? String == "active")
        return (id, c)
    }

    static func cart(_ units: Int, extra: String = "") -> String {
        #"{"channelId":"AM-WEB","lines":[{"sku":"AM-P-M","quantity":\#(units)}]\#(extra)}"#
    }

    @Test(arguments: TestDatabase.engines)
    func pricing_listsTheNearestNotAppliedFirst_upToTheLimit_andCountsThemAll(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: the web shop's 满减 and thirty percent-off promotions of another channel
            let (threshold, _) = try await Self.threshold(s)
            let web = "chn_another_shop"
            for i in 0..<30 {
                let p = try await s.services.promotions.create(
                    PromotionDraft(name: "other \(i)", when: Schedule(validFrom: Date(timeIntervalSince1970: 0), validTo: Date(timeIntervalSinceNow: 86_400)),
                                   what: .percentOff(10), where: Placement(channels: [web])), caller: .system)
                _ = try await s.services.promotions.activate(p.id, caller: .system)
            }
            // act
            let listed = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(3))
            let five = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(3, extra: #","notAppliedLimit":5"#))
            let tooMany = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(3, extra: #","notAppliedLimit":1001"#))
            // check: twenty by default, the threshold ¥3 short first; all 31 counted by reason; a limit past 1000 is a 422
            let reasons = try #require(listed.json["notApplied"] as? [[String: Any]], "\(listed.body)")
            #expect(reasons.count == 20 && reasons.first?["promotionId"] as? String == threshold && reasons.first?["reason"] as? String == "thresholdNotMet")
            #expect(listed.json["notAppliedCount"] as? Int == 31)
            let byReason = try #require(listed.json["notAppliedByReason"] as? [String: Int])
            #expect(byReason == ["thresholdNotMet": 1, "notThisChannel": 30], "\(byReason)")
            #expect((five.json["notApplied"] as? [Any])?.count == 5 && five.json["notAppliedCount"] as? Int == 31)
            #expect(tooMany.status == 422 && Self.fields(tooMany) == ["notAppliedLimit"], "\(tooMany.body)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func pricing_appliesTheThreshold_explainsIt_andNamesTheNearMiss(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let (id, _) = try await Self.threshold(s)
            // 3 × ¥99 = ¥297: ¥3 short of ¥50 off
            let short = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(3))
            #expect(short.status == 200, "\(short.body)")
            #expect(short.json["total"] as? Int == 29_700 && (short.json["applied"] as? [Any])?.isEmpty == true)
            let miss = (short.json["nearMisses"] as? [[String: Any]])?.first
            #expect(miss?["promotionId"] as? String == id && miss?["missingAmount"] as? Int == 300 && miss?["rewardAmount"] as? Int == 5_000)
            // 4 × ¥99 = ¥396: ¥50 off, spread over the line, read out in Chinese by default and in English on request
            let met = try await s.call(.post, "/api/v1/pricing/carts", as: .integration, json: Self.cart(4))
            #expect(met.json["subtotal"] as? Int == 39_600 && met.json["orderDiscount"] as? Int == 5_000 && met.json["total"] as? Int == 34_600)
            let line = (met.json["lines"] as? [[String: Any]])?.first
            #expect(line?["discount"] as? Int == 5_000 && line?["netAmount"] as? Int == 34_600)
            #expect(((met.json["applied"] as? [[String: Any]]) ?? []).map { $0["promotionId"] as? String } == [id])
            let zh = (met.json["explanation"] as? [String]) ?? []
            #expect(!zh.isEmpty && zh.allSatisfy { $0.unicodeScalars.contains { $0.value > 0x4E00 } }, "\(zh)")
            let en = try await s.call(.post, "/api/v1/pricing/carts", as: .integration, json: Self.cart(4), headers: [.acceptLanguage: "en"])
            #expect(((en.json["explanation"] as? [String]) ?? []).last?.hasPrefix("Add ¥104.00 more to get ¥100.00 off") == true, "\(en.body)")
            // paused, it no longer applies and says why
            _ = try await s.call(.post, "/api/v1/promotions/\(id)/status", as: .marketer, json: #"{"status":"paused"}"#)
            let paused = try await s.call(.post, "/api/v1/pricing/carts", as: .integration, json: Self.cart(4))
            #expect(paused.json["total"] as? Int == 39_600)
            // read back
            #expect(try await s.call(.get, "/api/v1/promotions/\(id)", as: .clerk).json["status"] as? String == "paused")
            #expect((try await s.call(.get, "/api/v1/promotions?status=paused", as: .storeManager).json["items"] as? [Any])?.count == 1)
            let report = try await s.call(.get, "/api/v1/promotions/\(id)/report", as: .marketer)
            #expect(report.status == 200 && report.json["orders"] as? Int == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aMembersOnlyTierPrice_appliesToThatTier_andNotToAGuest(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let (_, c) = try await Self.threshold(s)
            _ = try await s.call(.put, "/api/v1/member-tiers", as: .marketer,
                                 json: #"{"tiers":[{"code":"regular","name":"普卡","threshold":0},{"code":"gold","name":"金卡","threshold":1}]}"#)
            let member = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
            let gold = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
                {"name":"金卡 9 折","who":{"kind":"tiers","tierCodes":["regular"]},"when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},
                 "which":{"target":{"categoryIds":["\#(c.categoryId)"]}},"what":{"kind":"percentOff","percentOff":10},"where":{"allChannels":true}}
                """#).json["id"] as! String
            _ = try await s.call(.post, "/api/v1/promotions/\(gold)/status", as: .marketer, json: #"{"status":"active"}"#)
            let guest = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(1))
            let tiered = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(1, extra: #","memberId":"\#(member)""#))
            #expect(guest.json["total"] as? Int == 9_900)
            #expect(((guest.json["notApplied"] as? [[String: Any]]) ?? []).contains { $0["promotionId"] as? String == gold })
            #expect(tiered.json["itemDiscount"] as? Int == 990 && tiered.json["total"] as? Int == 8_910, "\(tiered.body)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func badInput_isA422NamingTheField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            _ = try await CatalogFixture.make(s.services)
            let audit = try await TestDatabase.count("audit_events", s.services.db)
            let empty = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"{"name":"nothing","where":{}}"#)
            #expect(empty.status == 422 && Self.fields(empty) == ["when", "what", "where.channels"], "\(empty.body)")
            let unknown = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
                {"name":"x","when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},"what":{"kind":"percentOff","percentOff":10},
                 "where":{"channels":["NO-SUCH"]}}
                """#)
            #expect(unknown.status == 422 && Self.fields(unknown) == ["where.channels[0]"])
            let badPercent = try await s.call(.post, "/api/v1/promotions", as: .marketer, json: #"""
                {"name":"x","when":{"validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"},"what":{"kind":"percentOff","percentOff":100},
                 "where":{"allChannels":true}}
                """#)
            #expect(badPercent.status == 422 && Self.fields(badPercent) == ["what.percentOff"], "\(badPercent.body)")
            #expect(try await TestDatabase.count("promotions", s.services.db) == 0)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)

            let noChannel = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: #"{"channelId":"NO-SUCH","lines":[{"sku":"AM-P-M","quantity":1}]}"#)
            #expect(noChannel.status == 422 && Self.fields(noChannel) == ["channelId"])
            let guestCoupon = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(1, extra: #","couponCodes":["ABC"],"points":100"#))
            #expect(guestCoupon.status == 422 && Self.fields(guestCoupon) == ["couponCodes", "points"])
            let zero = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(0))
            #expect(zero.status == 422 && Self.fields(zero) == ["lines[0].quantity"])
            #expect(try await s.call(.get, "/api/v1/promotions/prm_missing", as: .marketer).status == 404)
            #expect(try await s.call(.post, "/api/v1/promotions", as: .clerk, json: #"{"name":"x","where":{}}"#).status == 403)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func anOrder_isPricedByTheSamePromotions_asTheCartWas(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let (_, c) = try await Self.threshold(s)
            let store = try await s.locations().first { $0.kind == .store }!
            _ = try await s.services.inventory.post(.init(location: store.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 9)]), caller: .system)
            // 3 + 2 units on two lines of one SKU: ¥495, ¥50 off spread over both lines
            let lines = #"[{"sku":"AM-P-M","quantity":3},{"sku":"AM-P-M","quantity":2}]"#
            let cart = try await s.call(.post, "/api/v1/pricing/carts", as: .integration, json: #"{"channelId":"AM-WEB","lines":\#(lines)}"#)
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store.id)","lines":\#(lines),
                 "payments":[{"tender":"sandbox","amount":44500}]}
                """#)
            #expect(cart.json["total"] as? Int == 44_500)
            #expect(placed.status == 201, "\(placed.body)")
            #expect(placed.json["total"] as? Int == 44_500 && placed.json["discountTotal"] as? Int == 5_000)
            let orderLines = (placed.json["lines"] as? [[String: Any]]) ?? []
            let cartLines = (cart.json["lines"] as? [[String: Any]]) ?? []
            #expect(orderLines.map { $0["discount"] as? Int } == cartLines.map { $0["discount"] as? Int })
            #expect(orderLines.compactMap { $0["total"] as? Int }.reduce(0, +) == 44_500)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func coupons_areClaimedOnce_caughtWhenMistyped_andPriceTheCart(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))], caller: .system)
            let ann = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
            let bob = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13900139000","channel":"web"}"#).json["id"] as! String
            // a ¥20-off-¥100 coupon, two per member
            let template = try await s.call(.post, "/api/v1/coupon-templates", as: .marketer, json: #"""
                {"name":"满100减20券","benefit":{"kind":"amountOff","amountOff":2000},"conditions":{"minAmount":10000},
                 "validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z","perMemberLimit":2}
                """#)
            let tid = try #require(template.json["id"] as? String, "\(template.body)")
            let batch = try await s.call(.post, "/api/v1/coupon-templates/\(tid)/codes", as: .marketer, json: #"{"count":3}"#)
            let codes = (batch.json["codes"] as? [String]) ?? []
            #expect(batch.status == 201 && codes.count == 3 && Set(codes).count == 3)
            // claim: once; a typo is caught before any lookup; a made-up code is not found
            let claimed = try await s.call(.post, "/api/v1/coupons/claim", as: .clerk, json: #"{"code":"\#(codes[0])","memberId":"\#(ann)"}"#)
            #expect(claimed.status == 200 && claimed.json["memberId"] as? String == ann, "\(claimed.body)")
            let again = try await s.call(.post, "/api/v1/coupons/claim", as: .clerk, json: #"{"code":"\#(codes[0])","memberId":"\#(bob)"}"#)
            #expect(again.status == 409)
            let typo = String(codes[1].dropLast()) + (codes[1].last == "0" ? "1" : "0")
            #expect(try await s.call(.post, "/api/v1/coupons/claim", as: .clerk, json: #"{"code":"\#(typo)","memberId":"\#(bob)"}"#).status == 422)
            #expect(try await s.call(.post, "/api/v1/coupons/claim", as: .clerk, json: #"{"code":"\#(codes[1])","memberId":"mbr_nobody"}"#).status == 422)
            // distribution: one more to Ann (her limit is two), an unknown member refuses the whole list
            let bad = try await s.call(.post, "/api/v1/coupon-templates/\(tid)/distributions", as: .marketer, json: #"{"memberIds":["\#(ann)","mbr_nobody"]}"#)
            #expect(bad.status == 422 && Self.fields(bad) == ["memberIds[1]"])
            let given = try await s.call(.post, "/api/v1/coupon-templates/\(tid)/distributions", as: .marketer, json: #"{"memberIds":["\#(ann)"]}"#)
            #expect(given.status == 201 && (given.json["issued"] as? [Any])?.count == 1)
            let purse = try await s.call(.get, "/api/v1/coupons?memberId=\(ann)", as: .clerk).json["items"] as? [[String: Any]]
            #expect(purse?.count == 2)
            // the cart: ¥99 does not reach ¥100; two units do, and the coupon takes ¥20
            let one = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(1, extra: #","memberId":"\#(ann)","couponCodes":["\#(codes[0])"]"#))
            #expect(one.json["couponDiscount"] as? Int == 0, "\(one.body)")
            let two = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(2, extra: #","memberId":"\#(ann)","couponCodes":["\#(codes[0])"]"#))
            #expect(two.json["couponDiscount"] as? Int == 2_000 && two.json["total"] as? Int == 17_800, "\(two.body)")
            let notHers = try await s.call(.post, "/api/v1/pricing/carts", as: .clerk, json: Self.cart(2, extra: #","memberId":"\#(bob)","couponCodes":["\#(codes[0])"]"#))
            #expect(notHers.status == 422 && Self.fields(notHers) == ["couponCodes[0]"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aTiersMemberPrice_comesBeforeThePromotions_inTheCartAndTheOrder(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let (_, c) = try await Self.threshold(s)
            let store = try await s.locations().first { $0.kind == .store }!
            _ = try await s.services.inventory.post(.init(location: store.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 9)]), caller: .system)
            _ = try await s.call(.put, "/api/v1/member-tiers", as: .marketer,
                                 json: #"{"tiers":[{"code":"regular","name":"会员","threshold":0,"benefits":{"discountPercent":10}}]}"#)
            let member = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
            // 4 × ¥99 at the member price ¥89.10 = ¥356.40, then ¥50 off the ¥300 threshold
            let cart = try await s.call(.post, "/api/v1/pricing/carts", as: .integration, json: Self.cart(4, extra: #","memberId":"\#(member)""#))
            #expect(cart.json["subtotal"] as? Int == 35_640 && cart.json["total"] as? Int == 30_640, "\(cart.body)")
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","memberId":"\#(member)","method":"pickup","pickupLocationId":"\#(store.id)","lines":[{"sku":"AM-P-M","quantity":4}],
                 "payments":[{"tender":"sandbox","amount":30640}]}
                """#)
            #expect(placed.status == 201 && placed.json["total"] as? Int == 30_640, "\(placed.body)")
            let line = (placed.json["lines"] as? [[String: Any]])?.first
            #expect(line?["unitPrice"] as? Int == 8_910 && line?["listPrice"] as? Int == 9_900)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func console_createsAPromotionFromTheForm_listsIt_reportsIt_andActivatesIt_whileAClerkMayOnlyLook(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let marketer = try await s.consoleCookie("marketer"), clerk = try await s.consoleCookie("clerk")
            func form(_ cookie: String) -> HTTPFields { [.contentType: "application/x-www-form-urlencoded", .cookie: cookie] }
            // act
            let created = try await s.call(.post, "/console/promotions", json: "name=%E6%BB%A1300%E5%87%8F30&kind=threshold&value=30&minimum=300"
                                           + "&from=2026-12-01&to=2026-12-31&channels=&audience=any&priority=5", headers: form(marketer))
            let bad = try await s.call(.post, "/console/promotions", json: "name=x&kind=percentOff&value=abc&from=2026-12-01&to=2026-12-31",
                                       headers: form(marketer))
            let listed = try await s.services.promotions.promotions(limit: 10).items
            let id = try #require(listed.first?.id)
            let list = try await s.call(.get, "/console/promotions", headers: [.cookie: marketer])
            let activated = try await s.call(.post, "/console/promotions/\(id)", json: "action=activate", headers: form(marketer))
            let detail = try await s.call(.get, "/console/promotions/\(id)", headers: [.cookie: clerk])
            let clerkTries = try await s.call(.post, "/console/promotions/\(id)", json: "action=end", headers: form(clerk))
            let coupons = try await s.call(.get, "/console/coupon-templates", headers: [.cookie: marketer])
            let segments = try await s.call(.get, "/console/segments", headers: [.cookie: marketer])
            let after = try await s.services.promotions.promotion(id).status
            // check
            #expect(created.status == 200 && created.body.contains("notice ok"))
            #expect(bad.status == 200 && bad.body.contains("value") && listed.count == 1, "a bad form is explained and writes nothing")
            #expect(listed[0].what == .threshold([ThresholdTier(minimum: 30_000, amountOff: 3_000)]) && listed[0].priority == 5 && listed[0].where.allChannels)
            #expect(list.body.contains("满¥300.00减¥30.00"))
            #expect(activated.status == 200 && after == .active)
            #expect(detail.status == 200 && (detail.body.contains("效果评估") || detail.body.contains("Effect")) && !detail.body.contains("action\" value=\"end"), "a clerk sees no buttons")
            #expect(clerkTries.status == 403, "the promotion stayed active: checked above, after the clerk tried")
            #expect(coupons.status == 200 && segments.status == 200)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func console_promotionForm_saysBuyXGetY_aGift_whichCarts_whoAndWhichDays_andNamesEveryBadField(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let c = try await CatalogFixture.make(s.services)
            let marketer = try await s.consoleCookie("marketer")
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: marketer]
            let dates = "&from=2026-12-01&to=2026-12-31"
            // act: bad forms first; each names its fields and writes nothing
            let badWeekday = try await s.call(.post, "/console/promotions", json: "name=B2G1&kind=buyXGetY&buyQuantity=2&getQuantity=1&weekdays=6,9" + dates,
                                              headers: form)
            let badMany = try await s.call(.post, "/console/promotions", json: "name=Bundle&kind=bundlePrice&bundleQuantity=1&value=12abc&minQuantity=0"
                                           + "&audience=segments&segments=" + dates, headers: form)
            let badGift = try await s.call(.post, "/console/promotions", json: "name=Gift&kind=gift&giftSku=NOPE&channels=NOPE" + dates, headers: form)
            let written = try await s.services.promotions.promotions(limit: 10).items
            // a buy-2-get-1 on carts holding the fixture category, at weekends, on the fixture web shop; a gift from ¥199 to a segment
            let b2g1 = try await s.call(.post, "/console/promotions", json: "name=B2G1&kind=buyXGetY&buyQuantity=2&getQuantity=1"
                                        + "&containsCategories=\(c.categoryId)&weekdays=7,6&channels=AM-WEB&audience=any" + dates, headers: form)
            let gift = try await s.call(.post, "/console/promotions", json: "name=Gift&kind=gift&giftSku=AM-P-M&minimum=199"
                                        + "&excludesBrands=\(c.brandId)&minAmount=100&audience=segments&segments=seg_a%2C+seg_b" + dates, headers: form)
            let created = try await s.services.promotions.promotions(limit: 10).items
            let list = try await s.call(.get, "/console/promotions", headers: [.cookie: marketer])
            // check
            #expect(badWeekday.status == 200 && badWeekday.body.contains("role=\"alert\"") && badWeekday.body.contains("<code>weekdays</code>"))
            #expect(badWeekday.body.contains("&#39;9&#39; is not an ISO weekday"), "\(badWeekday.body)")
            for field in ["bundleQuantity", "value", "minQuantity", "segments"] {
                #expect(badMany.body.contains("<code>\(field)</code>"), "\(field) is named")
            }
            #expect(badGift.body.contains("<code>giftSku</code>") && badGift.body.contains("<code>channels</code>"), "\(badGift.body)")
            #expect(written.isEmpty, "no bad form wrote a promotion")
            #expect(b2g1.status == 200 && b2g1.body.contains("notice ok"), "\(b2g1.body)")
            #expect(gift.status == 200 && gift.body.contains("notice ok"), "\(gift.body)")
            #expect(created.count == 2)
            let buy = try #require(created.first { $0.name == "B2G1" })
            #expect(buy.what == .buyXGetY(buy: 2, get: 1))
            #expect(buy.which == Conditions(cartContains: ItemSet(categoryIds: [c.categoryId])))
            #expect(buy.when.weekdays == [6, 7] && buy.where == Placement(channels: [c.channelId]) && buy.who == .anyone)
            let given = try #require(created.first { $0.name == "Gift" })
            #expect(given.what == .gift(GiftItem(skuId: c.skuId, skuCode: "AM-P-M", quantity: 1), minimum: 19_900))
            #expect(given.which == Conditions(cartExcludes: ItemSet(brandIds: [c.brandId]), minAmount: 10_000))
            #expect(given.who == Audience(kind: .segments, segmentIds: ["seg_a", "seg_b"]) && given.where.allChannels)
            // the API reads back the same rules
            let api = try await s.call(.get, "/api/v1/promotions/\(buy.id)", as: .marketer)
            let what = api.json["what"] as? [String: Any], which = api.json["which"] as? [String: Any]
            #expect(what?["kind"] as? String == "buyXGetY" && what?["buyQuantity"] as? Int == 2 && what?["getQuantity"] as? Int == 1, "\(api.body)")
            #expect((which?["cartContains"] as? [String: Any])?["categoryIds"] as? [String] == [c.categoryId])
            #expect(list.body.contains("buy 2 get 1") && list.body.contains("gift AM-P-M from ¥199.00"))
        }
    }

    @Test(arguments: TestDatabase.engines)
    func flashSales_areListedNewestFirst_runningOnesAndBySKU_withUnitsLeft(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: two sales running, one over
            let c = try await CatalogFixture.make(s.services)
            func sale(_ sku: String, _ from: String, _ to: String) async throws -> String {
                let r = try await s.call(.post, "/api/v1/flash-sales", as: .marketer, json: #"""
                    {"name":"秒杀 \#(sku)","skuId":"\#(sku)","price":4900,"quantity":30,"startsAt":"\#(from)","endsAt":"\#(to)"}
                    """#)
                #expect(r.status == 201, "\(r.body)")
                return try #require(r.json["id"] as? String, "\(r.body)")
            }
            let over = try await sale("AM-P-M", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")
            let running = try await sale("AM-P-M", "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z")
            let later = try await sale(c.skuId, "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z")
            // act
            let all = try await s.call(.get, "/api/v1/flash-sales", as: .clerk)
            let now = try await s.call(.get, "/api/v1/flash-sales?running=true&skuId=AM-P-M", as: .clerk)
            let unknownSKU = try await s.call(.get, "/api/v1/flash-sales?skuId=NOPE", as: .clerk)
            let paged = try await s.call(.get, "/api/v1/flash-sales?limit=2", as: .clerk)
            let next = try await s.call(.get, "/api/v1/flash-sales?limit=2&cursor=\(paged.json["nextCursor"] as? String ?? "")", as: .clerk)
            let bad = try await s.call(.get, "/api/v1/flash-sales?limit=0", as: .clerk)
            let page = try await s.call(.get, "/console/deals", headers: [.cookie: try await s.consoleCookie("marketer")])
            // a paused sale is not running and sells nothing; resumed it sells again; ended it stays ended
            let paused = try await s.call(.post, "/api/v1/flash-sales/\(later)/status", as: .marketer, json: #"{"status":"paused"}"#)
            let runningWhilePaused = try await s.call(.get, "/api/v1/flash-sales?running=true", as: .clerk)
            await #expect(throws: PromotionsError.flashSaleNotRunning(flashSaleId: later)) {
                _ = try await s.services.promotions.claimFlashSale(later, memberId: "mbr_test", reference: "ord_paused", caller: .system)
            }
            let resumed = try await s.call(.post, "/api/v1/flash-sales/\(later)/status", as: .marketer, json: #"{"status":"active"}"#)
            let claim = try await s.services.promotions.claimFlashSale(later, memberId: "mbr_test", reference: "ord_resumed", caller: .system)
            let ended = try await s.call(.post, "/api/v1/flash-sales/\(later)/status", as: .marketer, json: #"{"status":"ended"}"#)
            let pausedAfterEnd = try await s.call(.post, "/api/v1/flash-sales/\(later)/status", as: .marketer, json: #"{"status":"paused"}"#)
            // check
            func ids(_ r: TestServer.Reply) -> [String] { ((r.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String } }
            #expect(ids(all) == [later, running, over], "\(all.body)")
            #expect(ids(now) == [later, running] && ids(unknownSKU).isEmpty)
            let first = try #require((now.json["items"] as? [[String: Any]])?.first)
            #expect(first["skuId"] as? String == c.skuId && first["budget"] as? Int == 30 && first["sold"] as? Int == 0)
            #expect(ids(paged) + ids(next) == [later, running, over] && next.json["nextCursor"] == nil)
            #expect(bad.status == 400)
            #expect(paused.status == 200 && paused.json["status"] as? String == "paused", "\(paused.body)")
            #expect(ids(runningWhilePaused) == [running])
            #expect(resumed.status == 200 && claim.quantity == 1)
            #expect(ended.status == 200 && ended.json["status"] as? String == "ended" && ended.json["sold"] as? Int == 1, "\(ended.body)")
            #expect(pausedAfterEnd.status == 409, "\(pausedAfterEnd.body)")
            #expect(page.status == 200 && page.body.contains("<code>\(running)</code></td><td>秒杀 AM-P-M</td><td>AM-P-M</td><td class=\"num\">49.00</td><td class=\"num\">0 / 30</td>"),
                    "\(page.body)")
        }
    }
}
