import Foundation
import HTTPTypes
import O2OCore
import O2OOrders
import O2OServer
import O2OTestSupport
import Testing

@Suite("Members over HTTP: one member in every channel, points and wallet")
struct MembersHTTPTests {
    static func fields(_ r: TestServer.Reply) -> Set<String> {
        Set(((r.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
    }

    /// A store holding five of the catalog fixture's SKU, listed on the web shop; returns its id.
    static func stockedStore(_ s: TestServer) async throws -> String {
        let c = try await CatalogFixture.make(s.services)
        _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                     caller: .system)
        let store = try await s.locations().first { $0.kind == .store }!
        _ = try await s.services.inventory.post(.init(location: store.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 5)]), caller: .system)
        return store.id
    }

    /// A web-shop order for the member, picked up at the store; returns its id.
    static func webOrder(_ s: TestServer, member: String, pickupAt store: String) async throws -> String {
        let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
            {"channelId":"AM-WEB","memberId":"\#(member)","method":"pickup","pickupLocationId":"\#(store)",
             "lines":[{"sku":"AM-P-M","quantity":1}],"payments":[{"tender":"sandbox","amount":9900}]}
            """#)
        return try #require(placed.json["id"] as? String, "\(placed.body)")
    }

    @Test(arguments: TestDatabase.engines)
    func findOrCreate_byPhoneOrIdentity_isOneMember_inEveryChannel(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // act: the till registers a number, the web shop finds it written another way, the mini-program links its openid
            let till = try await s.call(.post, "/api/v1/members", as: .clerk,
                                        json: #"{"phone":"138 0013 8000","channel":"pos","profile":{"name":"Li Lei","tags":["vip"]}}"#)
            let web = try await s.call(.post, "/api/v1/members", as: .integration, json: #"{"phone":"+86 13800138000","channel":"web"}"#)
            let wechat = try await s.call(.post, "/api/v1/members", as: .integration,
                                          json: #"{"phone":"13800138000","identity":{"kind":"wechat_openid","channel":"mini","externalId":"o-123"},"channel":"mini"}"#)
            let byIdentity = try await s.call(.post, "/api/v1/members", as: .integration,
                                              json: #"{"identity":{"kind":"wechat_openid","channel":"mini","externalId":"o-123"},"channel":"mini"}"#)
            // check
            #expect(till.status == 201)
            #expect(web.status == 200 && wechat.status == 200 && byIdentity.status == 200)
            let id = till.json["id"] as! String
            #expect([web, wechat, byIdentity].allSatisfy { $0.json["id"] as? String == id })
            #expect(till.json["phone"] as? String == "+8613800138000")
            #expect(till.json["maskedPhone"] as? String == "138****8000")
            #expect(till.json["points"] as? Int == 0)
            #expect((till.json["wallet"] as? [String: Any])?["total"] as? Int == 0)
            #expect((byIdentity.json["identities"] as? [[String: Any]])?.first?["externalId"] as? String == "o-123")
            #expect(try await TestDatabase.count("members", s.services.db) == 1)

            // lists show the phone masked, never in full
            let list = try await s.call(.get, "/api/v1/members", as: .storeManager)
            #expect(list.status == 200)
            #expect(!list.body.contains("13800138000"))
            #expect(((list.json["items"] as? [[String: Any]]) ?? []).map { $0["maskedPhone"] as? String } == ["138****8000"])
            let byPhone = try await s.call(.get, "/api/v1/members?phone=%2B8613800138000", as: .clerk).json["items"] as? [[String: Any]]
            #expect(byPhone?.map { $0["id"] as? String } == [id])
            let unknownPhone = try await s.call(.get, "/api/v1/members?phone=13900139000", as: .clerk).json["items"] as? [[String: Any]]
            #expect(unknownPhone?.isEmpty == true)
            #expect((try await s.call(.get, "/api/v1/members?tag=vip", as: .clerk).json["items"] as? [[String: Any]])?.count == 1)
            #expect((try await s.call(.get, "/api/v1/members?tag=vi_", as: .clerk).json["items"] as? [[String: Any]])?.isEmpty == true)

            // profile: replaced as a whole, guarded by version
            let patched = try await s.call(.patch, "/api/v1/members/\(id)", as: .customerService,
                                           json: #"{"profile":{"name":"Li Lei","birthday":"1990-05-01","gender":"male","tags":["vip","new-mum"]},"expectedVersion":1}"#)
            #expect(patched.status == 200)
            #expect((patched.json["profile"] as? [String: Any])?["birthday"] as? String == "1990-05-01")
            let stale = try await s.call(.patch, "/api/v1/members/\(id)", as: .customerService, json: #"{"profile":{"name":"X"},"expectedVersion":1}"#)
            #expect(stale.status == 409)

            // identities: link, a second member cannot take it, unlink
            let card = #"{"kind":"pos_card_number","externalId":"C-0001"}"#
            #expect(try await s.call(.post, "/api/v1/members/\(id)/identities", as: .clerk, json: card).status == 200)
            let other = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13900139000","channel":"pos"}"#).json["id"] as! String
            #expect(try await s.call(.post, "/api/v1/members/\(other)/identities", as: .clerk, json: card).status == 409)
            #expect(try await s.call(.post, "/api/v1/members/\(id)/identities/unlink", as: .clerk, json: card).status == 200)
            #expect(try await s.call(.post, "/api/v1/members/\(other)/identities", as: .clerk, json: card).status == 200)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func badInput_isA422NamingTheField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let audit = try await TestDatabase.count("audit_events", s.services.db)
            let notAPhone = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"12345","channel":"pos"}"#)
            #expect(notAPhone.status == 422 && Self.fields(notAPhone) == ["phone"])
            #expect(notAPhone.headers[.contentType] == "application/problem+json")
            let nothing = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"channel":"pos"}"#)
            #expect(nothing.status == 422 && Self.fields(nothing) == ["phone"])
            let badProfile = try await s.call(.post, "/api/v1/members", as: .clerk,
                                              json: #"{"phone":"13800138000","channel":"pos","profile":{"birthday":"1990-13-40","tags":["no spaces"]}}"#)
            #expect(badProfile.status == 422 && Self.fields(badProfile) == ["profile.birthday", "profile.tags[0]"])
            let marketplaceWithoutChannel = try await s.call(.post, "/api/v1/members", as: .integration,
                                                             json: #"{"identity":{"kind":"marketplace_buyer_id","externalId":"b1"},"channel":"tmall"}"#)
            #expect(marketplaceWithoutChannel.status == 422 && Self.fields(marketplaceWithoutChannel) == ["identity.channel"])
            #expect(try await TestDatabase.count("members", s.services.db) == 0)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)

            #expect(try await s.call(.get, "/api/v1/members/mbr_missing", as: .clerk).status == 404)
            #expect(try await s.call(.get, "/api/v1/members/mbr_missing/points/entries", as: .clerk).status == 404)
            #expect(try await s.call(.post, "/api/v1/members/mbr_missing/wallet/top-ups", as: .clerk,
                                     json: #"{"amount":100,"currency":"CNY","paymentReference":"R1"}"#).status == 404)

            let id = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
            let negative = try await s.call(.post, "/api/v1/members/\(id)/wallet/top-ups", as: .clerk,
                                            json: #"{"amount":-100,"currency":"USD","paymentReference":""}"#)
            #expect(negative.status == 422 && Self.fields(negative) == ["amount", "currency", "paymentReference"])
            let zero = try await s.call(.post, "/api/v1/members/\(id)/points/adjustments", as: .customerService, json: #"{"delta":0,"reason":""}"#)
            #expect(zero.status == 422 && Self.fields(zero) == ["delta", "reason"])
            #expect(try await TestDatabase.count("member_wallet_ledger", s.services.db) == 0)
            #expect(try await TestDatabase.count("member_points_ledger", s.services.db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func ledgers_topUpAndAdjust_postOncePerReference_andBalancesAreTheLedgersSums(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let id = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
            // a top-up: retried after a lost answer with the same payment it posts once
            let topUp = #"{"amount":50000,"currency":"CNY","paymentReference":"TILL-1-0001"}"#
            let first = try await s.call(.post, "/api/v1/members/\(id)/wallet/top-ups", as: .clerk, json: topUp)
            let again = try await s.call(.post, "/api/v1/members/\(id)/wallet/top-ups", as: .clerk, json: topUp)
            #expect(first.status == 201 && again.status == 201)
            #expect(first.json["replayed"] as? Bool == false && again.json["replayed"] as? Bool == true)
            #expect((again.json["balance"] as? [String: Any])?["total"] as? Int == 50000)

            // points: the Idempotency-Key is the ledger's reference too
            let bonus = #"{"delta":300,"reason":"joined in store"}"#
            let given = try await s.call(.post, "/api/v1/members/\(id)/points/adjustments", as: .customerService, json: bonus,
                                         headers: [.idemKey: "bonus-1"])
            let replay = try await s.call(.post, "/api/v1/members/\(id)/points/adjustments", as: .customerService, json: bonus,
                                          headers: [.idemKey: "bonus-1"])
            #expect(given.status == 201 && replay.body == given.body)
            let taken = try await s.call(.post, "/api/v1/members/\(id)/points/adjustments", as: .customerService,
                                         json: #"{"delta":-100,"reason":"duplicate bonus"}"#, headers: [.idemKey: "take-1"])
            #expect(taken.status == 201 && taken.json["balance"] as? Int == 200)

            // reading back: the member, the balances and the ledgers agree
            let member = try await s.call(.get, "/api/v1/members/\(id)", as: .clerk).json
            #expect(member["points"] as? Int == 200)
            #expect((member["wallet"] as? [String: Any])?["principal"] as? Int == 50000)
            let points = try await s.call(.get, "/api/v1/members/\(id)/points", as: .clerk).json
            #expect(points["balance"] as? Int == 200)
            #expect(((points["lots"] as? [[String: Any]]) ?? []).compactMap { $0["remaining"] as? Int }.reduce(0, +) == 200)
            let entries = try await s.call(.get, "/api/v1/members/\(id)/points/entries", as: .clerk).json["items"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["delta"] as? Int } == [-100, 300])
            let wallet = try await s.call(.get, "/api/v1/members/\(id)/wallet/entries", as: .clerk).json["items"] as? [[String: Any]] ?? []
            #expect(wallet.map { $0["kind"] as? String } == ["top_up"])
            #expect(try await s.services.members.verify().ok)

            // tiers: a marketer sets the ladder; the member shows where they stand
            let ladder = #"{"tiers":[{"code":"regular","name":"普卡","threshold":0},{"code":"silver","name":"银卡","threshold":100000,"benefits":{"discountPercent":5}}]}"#
            #expect(try await s.call(.put, "/api/v1/member-tiers", as: .clerk, json: ladder).status == 403)
            let set = try await s.call(.put, "/api/v1/member-tiers", as: .marketer, json: ladder)
            #expect(set.status == 200 && (set.json["tiers"] as? [[String: Any]])?.count == 2 && set.json["periodMonths"] as? Int == 12)
            let badLadder = try await s.call(.put, "/api/v1/member-tiers", as: .marketer, json: #"{"tiers":[{"code":"x","name":"X","threshold":5}]}"#)
            #expect(badLadder.status == 422 && Self.fields(badLadder) == ["tiers[0].threshold"])
            let tier = try await s.call(.get, "/api/v1/members/\(id)", as: .clerk).json["tier"] as? [String: Any]
            #expect((tier?["tier"] as? [String: Any])?["code"] as? String == "regular")
            #expect((tier?["next"] as? [String: Any])?["code"] as? String == "silver" && tier?["toNext"] as? Int == 100000)

            // who may: a clerk tops up but does not hand out points; a marketer only reads
            #expect(try await s.call(.post, "/api/v1/members/\(id)/points/adjustments", as: .clerk, json: bonus).status == 403)
            #expect(try await s.call(.post, "/api/v1/members/\(id)/wallet/top-ups", as: .marketer, json: topUp).status == 403)
            #expect(try await s.call(.get, "/api/v1/members/\(id)", as: .marketer).status == 200)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func member360_showsOrdersFromEveryChannel_ledgersAndTier_withThePhoneMasked(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a member who ordered on the web shop
            let store = try await Self.stockedStore(s)
            let id = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos","profile":{"name":"李雷"}}"#)
                .json["id"] as! String
            let orderId = try await Self.webOrder(s, member: id, pickupAt: store)
            _ = try await s.call(.post, "/api/v1/members/\(id)/wallet/top-ups", as: .clerk, json: #"{"amount":10000,"currency":"CNY","paymentReference":"T-9"}"#)
            // act
            let mine = try await s.call(.get, "/api/v1/orders?memberId=\(id)", as: .customerService).json["items"] as? [[String: Any]]
            let none = try await s.call(.get, "/api/v1/orders?memberId=mbr_other", as: .customerService).json["items"] as? [[String: Any]]
            let cookie = try await s.consoleCookie("store_manager")
            // searched as the customer says it; the results show it masked
            let search = try await s.call(.get, "/console/members?q=%2B86%20138%200013%208000", headers: [.cookie: cookie])
            let page = try await s.call(.get, "/console/members/\(id)", headers: [.cookie: cookie])
            let missing = try await s.call(.get, "/console/members/mbr_missing", headers: [.cookie: cookie])
            // check
            #expect(mine?.map { $0["id"] as? String } == [orderId] && none?.isEmpty == true)
            #expect(search.status == 200 && search.body.contains(id) && search.body.contains("138****8000"))
            #expect(page.status == 200 && page.body.contains(orderId) && page.body.contains("李雷") && page.body.contains("¥100.00"))
            #expect(!search.body.contains("13800138000") && !page.body.contains("13800138000"))
            #expect(missing.status == 404)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func consent_export_andErase_asAMemberMayAsk(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let id = try await s.call(.post, "/api/v1/members", as: .clerk,
                                      json: #"{"phone":"13800138000","identity":{"kind":"pos_card_number","externalId":"C-1"},"channel":"pos","profile":{"name":"李雷"}}"#)
                .json["id"] as! String
            // consent: per channel, with its source; the same answer again changes nothing
            let sms = try await s.call(.put, "/api/v1/members/\(id)/consents", as: .clerk, json: #"{"channel":"sms","granted":true,"source":"pos"}"#)
            #expect(sms.status == 200 && ((sms.json["items"] as? [[String: Any]]) ?? []).map { $0["granted"] as? Bool } == [true])
            let audit = try await TestDatabase.count("audit_events", s.services.db)
            _ = try await s.call(.put, "/api/v1/members/\(id)/consents", as: .clerk, json: #"{"channel":"sms","granted":true,"source":"app"}"#)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)
            let withdrawn = try await s.call(.put, "/api/v1/members/\(id)/consents", as: .clerk, json: #"{"channel":"sms","granted":false,"source":"app"}"#)
            #expect(((withdrawn.json["items"] as? [[String: Any]]) ?? []).map { $0["source"] as? String } == ["app"])
            // export: a clerk may not; customer service gets everything, ledgers included
            _ = try await s.call(.post, "/api/v1/members/\(id)/points/adjustments", as: .customerService, json: #"{"delta":50,"reason":"welcome"}"#)
            #expect(try await s.call(.get, "/api/v1/members/\(id)/export", as: .clerk).status == 403)
            let export = try await s.call(.get, "/api/v1/members/\(id)/export", as: .customerService)
            #expect(export.status == 200 && (export.json["member"] as? [String: Any])?["phone"] as? String == "+8613800138000")
            #expect((export.json["pointsLedger"] as? [Any])?.count == 1 && (export.json["consents"] as? [Any])?.count == 1)
            // erase: refused while the wallet holds money paid in; then the person is gone, the ledger stays
            _ = try await s.call(.post, "/api/v1/members/\(id)/wallet/top-ups", as: .clerk, json: #"{"amount":100,"currency":"CNY","paymentReference":"T-1"}"#)
            let refused = try await s.call(.post, "/api/v1/members/\(id)/erase", as: .customerService, json: #"{"reason":"asked at the counter"}"#)
            #expect(refused.status == 409)
            _ = try await s.services.members.payFromWallet(id, amount: Money(minorUnits: 100), reference: .init(type: "order", id: "o-1"), caller: .system)
            let erased = try await s.call(.post, "/api/v1/members/\(id)/erase", as: .customerService, json: #"{"reason":"asked at the counter"}"#)
            #expect(erased.status == 200 && erased.json["phone"] == nil && (erased.json["identities"] as? [Any])?.isEmpty == true, "\(erased.body)")
            #expect((erased.json["profile"] as? [String: Any])?["name"] == nil)
            #expect((try await s.call(.get, "/api/v1/members/\(id)/consents", as: .clerk).json["items"] as? [Any])?.isEmpty == true)
            #expect((try await s.call(.get, "/api/v1/members/\(id)/points/entries", as: .clerk).json["items"] as? [Any])?.count == 1)
            // the number is free again: the same customer signing up is a new member
            let again = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#)
            #expect(again.status == 201 && again.json["id"] as? String != id)
            #expect(try await s.services.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func merge_movesTheOrders_answersTheSourceAsMerged_isIdempotent_andReverses(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a till member, and the same person on Tmall without a number, who ordered on the web shop
            let store = try await Self.stockedStore(s)
            let a = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json["id"] as! String
            let b = try await s.call(.post, "/api/v1/members", as: .integration,
                                     json: #"{"identity":{"kind":"marketplace_buyer_id","channel":"TMALL","externalId":"tb-1"},"channel":"TMALL","profile":{"name":"天猫买家"}}"#)
                .json["id"] as! String
            let orderId = try await Self.webOrder(s, member: b, pickupAt: store)
            _ = try await s.call(.post, "/api/v1/members/\(b)/points/adjustments", as: .customerService, json: #"{"delta":120,"reason":"welcome"}"#)
            let body = #"{"sourceMemberId":"\#(b)"}"#
            // bad input first: nothing is written
            let audit = try await TestDatabase.count("audit_events", s.services.db)
            let itself = try await s.call(.post, "/api/v1/members/\(a)/merges", as: .customerService, json: #"{"sourceMemberId":"\#(a)"}"#)
            let unknown = try await s.call(.post, "/api/v1/members/\(a)/merges", as: .customerService, json: #"{"sourceMemberId":"mem_missing"}"#)
            let readOnly = try await s.call(.post, "/api/v1/members/\(a)/merges", as: .marketer, json: body)
            #expect(itself.status == 422 && Self.fields(itself) == ["sourceMemberId"] && itself.headers[.contentType] == "application/problem+json")
            #expect(unknown.status == 404 && readOnly.status == 403)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)
            // act
            let merged = try await s.call(.post, "/api/v1/members/\(a)/merges", as: .customerService, json: body, headers: [.idemKey: "merge-1"])
            let replay = try await s.call(.post, "/api/v1/members/\(a)/merges", as: .customerService, json: body, headers: [.idemKey: "merge-1"])
            let again = try await s.call(.post, "/api/v1/members/\(a)/merges", as: .customerService, json: body)
            // check
            #expect(merged.status == 201, "\(merged.body)")
            let mergeId = try #require(merged.json["id"] as? String)
            #expect(replay.status == 201 && replay.json["id"] as? String == mergeId)
            #expect(again.status == 409)
            let moved = merged.json["moved"] as? [String: Any]
            #expect(moved?["orderIds"] as? [String] == [orderId] && moved?["points"] as? Int == 120)
            let source = try await s.call(.get, "/api/v1/members/\(b)", as: .clerk).json
            #expect(source["status"] as? String == "merged" && source["mergedInto"] as? String == a)
            let target = try await s.call(.get, "/api/v1/members/\(a)", as: .clerk).json
            #expect(target["points"] as? Int == 120 && (target["identities"] as? [[String: Any]])?.first?["externalId"] as? String == "tb-1")
            let orders = try await s.call(.get, "/api/v1/orders?memberId=\(a)", as: .customerService).json["items"] as? [[String: Any]]
            #expect(orders?.map { $0["id"] as? String } == [orderId])
            let byIdentity = try await s.call(.post, "/api/v1/members", as: .integration,
                                              json: #"{"identity":{"kind":"marketplace_buyer_id","channel":"TMALL","externalId":"tb-1"},"channel":"TMALL"}"#)
            #expect(byIdentity.status == 200 && byIdentity.json["id"] as? String == a)
            #expect(try await s.call(.get, "/api/v1/member-merges/\(mergeId)", as: .clerk).json["status"] as? String == "merged")
            #expect((try await s.call(.get, "/api/v1/members/\(b)/merges", as: .clerk).json["items"] as? [Any])?.count == 1)
            #expect(try await s.services.members.verify().ok)

            // the member 360 page says where the duplicate went
            let cookie = try await s.consoleCookie("store_manager")
            let page = try await s.call(.get, "/console/members/\(b)", headers: [.cookie: cookie])
            #expect(page.status == 200 && page.body.contains("Merged into") && page.body.contains(a) && page.body.contains(mergeId))

            // reverse: everything goes back
            let reversed = try await s.call(.post, "/api/v1/member-merges/\(mergeId)/reverse", as: .customerService)
            #expect(reversed.status == 200 && reversed.json["status"] as? String == "reversed", "\(reversed.body)")
            let back = try await s.call(.get, "/api/v1/orders?memberId=\(b)", as: .customerService).json["items"] as? [[String: Any]]
            #expect(back?.map { $0["id"] as? String } == [orderId])
            #expect(try await s.call(.get, "/api/v1/members/\(b)", as: .clerk).json["points"] as? Int == 120)
            #expect(try await s.call(.post, "/api/v1/member-merges/\(mergeId)/reverse", as: .customerService).status == 409)
            #expect(try await s.call(.get, "/api/v1/member-merges/mmg_missing", as: .clerk).status == 404)
            #expect(try await s.services.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func referral_joiningWithACode_andThePolicyAsData(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let referrer = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138000","channel":"pos"}"#).json
            let code = try #require(referrer["referralCode"] as? String)
            let referrerId = referrer["id"] as! String
            // act
            let friend = try await s.call(.post, "/api/v1/members", as: .integration, json: #"{"phone":"13900139000","channel":"app","referralCode":"\#(code)"}"#)
            let members = try await TestDatabase.count("members", s.services.db)
            let bad = try await s.call(.post, "/api/v1/members", as: .integration, json: #"{"phone":"13700137000","channel":"app","referralCode":"NOPE"}"#)
            let own = try await s.call(.post, "/api/v1/members", as: .integration, json: #"{"phone":"13800138000","channel":"app","referralCode":"\#(code)"}"#)
            let policy = try await s.call(.get, "/api/v1/referral-policy", as: .clerk)
            let setByClerk = try await s.call(.put, "/api/v1/referral-policy", as: .clerk, json: #"{"points":500,"returnWindowDays":14}"#)
            let set = try await s.call(.put, "/api/v1/referral-policy", as: .marketer, json: #"{"points":500,"returnWindowDays":14}"#)
            let badPolicy = try await s.call(.put, "/api/v1/referral-policy", as: .marketer, json: #"{"points":-1,"returnWindowDays":400}"#)
            let referrals = try await s.call(.get, "/api/v1/members/\(referrerId)/referrals", as: .clerk)
            // check
            #expect(friend.status == 201 && friend.json["referredBy"] as? String == referrerId)
            #expect(bad.status == 422 && Self.fields(bad) == ["referralCode"] && own.status == 422)
            #expect(try await TestDatabase.count("members", s.services.db) == members)
            #expect(policy.json["points"] as? Int == 200 && policy.json["returnWindowDays"] as? Int == 30)
            #expect(setByClerk.status == 403 && set.status == 200 && set.json["points"] as? Int == 500)
            #expect(badPolicy.status == 422 && Self.fields(badPolicy) == ["points", "returnWindowDays"])
            #expect(referrals.json["referralCode"] as? String == code)
            #expect((referrals.json["items"] as? [[String: Any]])?.map { $0["refereeId"] as? String } == [friend.json["id"] as? String])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func earnRules_takeChannelsAndCategoriesByCode_andRefuseUnknownOnes_writingNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let web = try await s.services.catalog.createChannel(code: "EARN-WEB", name: "Web", kind: .web, currency: nil, caller: .system)
            let category = try await s.services.catalog.createCategory(code: "EARN-GC", name: "礼品卡", nameEn: nil, parentId: nil, caller: .system)
            // act
            let unknown = try await s.call(.put, "/api/v1/points-earn-rules", as: .marketer,
                                           json: #"{"rules":[{"channelId":"NOPE","percent":200},{"categoryId":"NOPE","percent":0},{"percent":1001}]}"#)
            let byClerk = try await s.call(.put, "/api/v1/points-earn-rules", as: .clerk, json: #"{"rules":[]}"#)
            let set = try await s.call(.put, "/api/v1/points-earn-rules", as: .marketer,
                                       json: #"{"rules":[{"channelId":"EARN-WEB","percent":200},{"categoryId":"EARN-GC","percent":0}]}"#)
            let read = try await s.call(.get, "/api/v1/points-earn-rules", as: .clerk)
            let page = try await s.call(.get, "/console/member-tiers", headers: [.cookie: try await s.consoleCookie("marketer")])
            // check
            #expect(unknown.status == 422 && Self.fields(unknown) == ["rules[0].channelId", "rules[1].categoryId"], "unknown references first, nothing written")
            #expect(byClerk.status == 403 && set.status == 200)
            let rules = try #require(read.json["rules"] as? [[String: Any]])
            #expect(rules.map { $0["channelId"] as? String } == [web.id, nil] && rules.map { $0["categoryId"] as? String } == [nil, category.id])
            #expect(rules.map { $0["percent"] as? Int } == [200, 0])
            // the console's tiers page shows the rules, channels and categories by name
            #expect(page.status == 200)
            #expect(page.body.contains("<td>Web</td><td>every category</td><td class=\"num\">200%</td>"), "\(page.body)")
            #expect(page.body.contains("<td>every channel</td><td>礼品卡</td><td class=\"num\">0%</td>"))
            #expect(page.body.contains("<dt>Most of an order points may pay</dt><dd>50%</dd>"))
        }
    }

    @Test(arguments: TestDatabase.engines)
    func erase_isRefusedWhileAnOrderIsOpen_thenBlanksTheOrdersContactDetails_keepingTheOrder(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a pickup order with a contact number and an invoice title
            let (_, store, member) = try await OrderPromotionsHTTPTests.shop(s)
            let body = OrderPromotionsHTTPTests.order(store, member: member, units: 1, total: 9_900,
                                                      extra: #","contactPhone":"+8613800138000","invoice":{"title":"李雷"}"#)
            let id = try #require(try await s.call(.post, "/api/v1/orders", as: .integration, json: body).json["id"] as? String)
            let erase = #"{"reason":"asked at the counter"}"#
            // act
            let whileOpen = try await s.call(.post, "/api/v1/members/\(member)/erase", as: .customerService, json: erase)
            let kept = try await s.services.orders.order(id, scope: .all)
            let phoneKept = try await s.services.members.member(member).phone
            let orders = s.services.orders
            for next in [OrderStatus.released, .picking, .readyForPickup] { _ = try await orders.advance(id, to: next, caller: .system) }
            _ = try await orders.advance(id, to: .pickedUp, pickupCode: kept.pickupCode, caller: .system)
            _ = try await orders.advance(id, to: .completed, caller: .system)
            let erased = try await s.call(.post, "/api/v1/members/\(member)/erase", as: .customerService, json: erase)
            let after = try await s.services.orders.order(id, scope: .all)
            // check
            #expect(whileOpen.status == 409 && whileOpen.body.contains(id), "\(whileOpen.body)")
            #expect(kept.contactPhone == "+8613800138000" && kept.invoice?.title == "李雷", "a refused erase changes nothing")
            #expect(phoneKept != nil)
            #expect(erased.status == 200 && erased.json["phone"] == nil)
            #expect(after.contactPhone == nil && after.invoice == nil && after.address == nil)
            #expect(after.memberId == member && after.total == 9_900 && after.status == .completed, "the order stays, without the person")
        }
    }
}
