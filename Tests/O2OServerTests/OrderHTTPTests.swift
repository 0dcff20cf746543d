import _CryptoExtras
import Crypto
import Foundation
import HTTPTypes
import NIOCore
import O2OCore
import O2OOrders
import O2OServer
import O2OTestSupport
import Testing

@Suite("Orders through the HTTP API")
struct OrderHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func placeOrder_retriedWithTheSameKey_placesOnce_andTheOrderMovesThroughItsLifecycle(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: the fixture tee listed on the web channel, 5 units at a pickup store
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                         caller: .system)
            let store = try await s.locations().first { $0.kind == .store && $0.capabilities.pickup }!
            let receipt = #"{"locationId":"\#(store.id)","kind":"receipt","lines":[{"sku":"AM-P-M","quantity":5}]}"#
            #expect(try await s.call(.post, "/api/v1/inventory/movements", as: .ops, json: receipt).status == 201)
            let body = #"""
                {"channelId":"AM-WEB","externalId":"W-100","method":"pickup","pickupLocationId":"\#(store.code)",
                 "lines":[{"sku":"AM-P-M","quantity":2}],"payments":[{"tender":"sandbox","amount":19800}],"expectedTotal":19800}
                """#
            let quote = try await s.call(.post, "/api/v1/quotes", as: .clerk, json: body)
            // act: the order and four retries with its key, all at once
            let replies = try await withThrowingTaskGroup(of: TestServer.Reply.self) { group in
                for _ in 0..<5 {
                    group.addTask { try await s.call(.post, "/api/v1/orders", as: .integration, json: body, headers: [.idemKey: "checkout-1"]) }
                }
                return try await group.reduce(into: [TestServer.Reply]()) { $0.append($1) }
            }
            let id = try #require(replies.first?.json["id"] as? String)
            let read = try await s.call(.get, "/api/v1/orders/\(id)", as: .customerService)
            let released = try await s.call(.post, "/api/v1/orders/\(id)/transitions", as: .ops, json: #"{"status":"released"}"#)
            let hqCancel = try await s.call(.post, "/api/v1/orders/\(id)/cancel", as: .ops, json: #"{"reason":"customer asked"}"#)
            let skip = try await s.call(.post, "/api/v1/orders/\(id)/transitions", as: .ops, json: #"{"status":"completed"}"#)
            let duplicate = try await s.call(.post, "/api/v1/orders", as: .integration, json: body)
            // check
            #expect(quote.status == 200 && quote.json["total"] as? Int == 19800 && quote.json["status"] as? String == "allocated")
            #expect(replies.allSatisfy { $0.status == 201 }, "\(replies.map(\.status))")
            #expect(Set(replies.map { $0.json["id"] as? String }).count == 1)
            #expect(try await TestDatabase.count("orders", s.services.db) == 1)
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: store.id, scope: .all).reserved == 2)
            #expect(read.status == 200 && read.json["paymentStatus"] as? String == "paid" && (read.json["pickupCode"] as? String)?.count == 6)
            let routing = try #require(read.json["routing"] as? [String: Any])
            #expect((routing["candidates"] as? [[String: Any]])?.first?["locationId"] as? String == store.id)
            #expect(released.status == 200 && released.json["status"] as? String == "released")
            #expect(hqCancel.status == 409 && hqCancel.headers[.contentType] == "application/problem+json")
            #expect(skip.status == 409 && skip.json["allowed"] as? [String] == ["picking", "cancelled"])
            #expect(duplicate.status == 409 && duplicate.problemType == Problem.typeBase + "duplicate")
            #expect(try await s.services.inventory.verify().ok)
        }
    }
}

@Suite("POS sales through the HTTP API")
struct PosSalesHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func recordPosSales_aClerksTill_recordsItsStoresSales_resendsAreDuplicates_otherStoresAreRefused(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: the clerk's store (the demo's first) has 1 unit; a POS channel
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.createChannel(code: "AM-POS", name: "门店POS", kind: .pos, currency: nil, caller: .system)
            let stores = try await s.locations().filter { $0.kind == .store }
            let mine = stores[0], other = stores[1]
            _ = try await s.services.inventory.post(.init(location: mine.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 1)]), caller: .system)
            let body = #"""
                {"sales":[
                  {"transactionId":"R1-0001","locationId":"\#(mine.code)","registerId":"R1","soldAt":"2026-11-30T09:00:00Z",
                   "lines":[{"sku":"AM-P-M","quantity":2,"unitPrice":9900}],"payments":[{"tender":"wechat_pay","amount":10000},{"tender":"cash","amount":9800}]},
                  {"transactionId":"R1-0002","locationId":"\#(other.code)","soldAt":"2026-11-30T09:05:00Z",
                   "lines":[{"sku":"AM-P-M","quantity":1,"unitPrice":9900}],"payments":[{"tender":"cash","amount":9900}]}
                ]}
                """#
            // act
            let first = try await s.call(.post, "/api/v1/pos/sales", as: .clerk, json: body)
            let again = try await s.call(.post, "/api/v1/pos/sales", as: .clerk, json: body)
            let empty = try await s.call(.post, "/api/v1/pos/sales", as: .clerk, json: #"{"sales":[]}"#)
            let denied = try await s.call(.post, "/api/v1/pos/sales", as: .finance, json: body)
            // check
            #expect(first.status == 200, "\(first.body)")
            let results = try #require(first.json["results"] as? [[String: Any]])
            #expect(results.map { $0["outcome"] as? String } == ["recorded", "rejected"])
            let order = try #require(results[0]["order"] as? [String: Any])
            #expect(order["status"] as? String == "completed" && order["total"] as? Int == 19800 && order["paymentStatus"] as? String == "paid")
            let short = try #require(results[0]["short"] as? [[String: Any]])
            #expect(short.first?["onHand"] as? Int == -1, "sold one more than the ledger had: flagged, not refused")
            #expect(((results[1]["problem"] as? [String: Any])?["errors"] as? [[String: Any]])?.first?["field"] as? String == "locationId")
            let replay = try #require(again.json["results"] as? [[String: Any]])
            #expect(replay.map { $0["outcome"] as? String } == ["duplicate", "rejected"])
            #expect(empty.status == 422 || empty.status == 400)
            #expect(denied.status == 403)
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: mine.id, scope: .all).onHand == -1)
            #expect(try await s.services.inventory.verify().ok)
        }
    }
}

@Suite("Payment notifications through HTTP")
struct PaymentNotificationHTTPTests {
    @Test func alipayNotification_answersSuccessWhenTaken_andFailWhenTheSignatureIsBad_withoutABearerToken() async throws {
        let alipay = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        try await TestServer.run(.sqlite, configure: { c in
            c.paymentNotifiers.alipay = try! AlipayNotifications(publicKeyPEM: alipay.publicKey.pemRepresentation)
        }) { (s: TestServer) async throws in
            // setup: a web pickup order paid with Alipay
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                         caller: .system)
            let store = try await s.locations().first { $0.kind == .store && $0.capabilities.pickup }!
            _ = try await s.services.inventory.post(.init(location: store.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 1)]), caller: .system)
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store.code)","lines":[{"sku":"AM-P-M","quantity":1}],
                 "payments":[{"tender":"alipay","amount":9900}]}
                """#)
            let id = try #require(placed.json["id"] as? String)
            let pay = try #require((placed.json["payments"] as? [[String: Any]])?.first?["id"] as? String)
            var p = ["out_trade_no": pay, "trade_no": "2026113022001", "total_amount": "99.00", "trade_status": "TRADE_SUCCESS", "sign_type": "RSA2"]
            p["sign"] = try alipay.signature(for: Data(AlipayNotifications.signContent(p).utf8), padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
            func form(_ p: [String: String]) -> String {
                var allowed = CharacterSet.alphanumerics
                allowed.insert(charactersIn: "-._~")
                return p.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
            }
            let contentType: HTTPFields = [.contentType: "application/x-www-form-urlencoded; charset=utf-8"]
            // act: no Authorization header — the signature is the credential
            let forged = try await s.client.execute(uri: "/api/v1/payments/notifications/alipay", method: .post, headers: contentType,
                                                    body: ByteBuffer(string: form(p.merging(["total_amount": "0.01"]) { $1 }))) { String(buffer: $0.body) }
            let taken = try await s.client.execute(uri: "/api/v1/payments/notifications/alipay", method: .post, headers: contentType,
                                                   body: ByteBuffer(string: form(p))) { ($0.status.code, String(buffer: $0.body)) }
            let wechat = try await s.client.execute(uri: "/api/v1/payments/notifications/wechat-pay", method: .post, body: ByteBuffer(string: "{}")) {
                $0.status.code
            }
            // check
            #expect(forged == "fail")
            #expect(taken.0 == 200 && taken.1 == "success")
            #expect(wechat == 404, "WeChat Pay is not configured here")
            let order = try await s.call(.get, "/api/v1/orders/\(id)", as: .ops)
            #expect(order.json["paymentStatus"] as? String == "paid")
        }
    }
}

@Suite("Rejected assignments and cancelled lines through the HTTP API")
struct RerouteHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func rejectOrderAssignment_byTheStoresManager_reroutesTheLine_andCancelOrderLinesRefundsPart(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a delivery to the store manager's store (the demo's first), the only place with the goods
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                         caller: .system)
            let locations = try await s.locations()
            let mine = locations.filter { $0.kind == .store }[0]
            let warehouse = locations.first { $0.kind != .store }!
            _ = try await s.services.inventory.post(.init(location: mine.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 3)]), caller: .system)
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","method":"delivery","address":{"name":"王小明","phone":"+8613800138000","line1":"门店旁",
                 "lat":\#(mine.coordinates.lat),"lng":\#(mine.coordinates.lng)},
                 "lines":[{"sku":"AM-P-M","quantity":2}],"payments":[{"tender":"sandbox","amount":19800}]}
                """#)
            let id = try #require(placed.json["id"] as? String, "\(placed.body)")
            #expect((placed.json["lines"] as? [[String: Any]])?.first?["locationId"] as? String == mine.id)
            _ = try await s.services.inventory.post(.init(location: warehouse.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 5)]),
                                                    caller: .system)
            let body = #"{"locationId":"\#(mine.code)","reason":"out_of_stock","note":"shelf empty"}"#
            // act
            let clerk = try await s.call(.post, "/api/v1/orders/\(id)/reject", as: .clerk, json: body)
            let rejected = try await s.call(.post, "/api/v1/orders/\(id)/reject", as: .storeManager, json: body)
            let again = try await s.call(.post, "/api/v1/orders/\(id)/reject", as: .storeManager, json: body)
            let bad = try await s.call(.post, "/api/v1/orders/\(id)/lines/cancel", as: .ops, json: #"{"reason":"x","lines":[{"line":0,"quantity":3}]}"#)
            let part = try await s.call(.post, "/api/v1/orders/\(id)/lines/cancel", as: .ops,
                                        json: #"{"reason":"customer wants one","lines":[{"line":0,"quantity":1}]}"#)
            // check
            #expect(clerk.status == 403, "a clerk may not manage orders")
            #expect(rejected.status == 200, "\(rejected.body)")
            let line = try #require((rejected.json["lines"] as? [[String: Any]])?.first)
            #expect(line["locationId"] as? String == warehouse.id && line["mode"] as? String == "carrier")
            #expect(rejected.json["status"] as? String == "allocated")
            #expect((rejected.json["timeline"] as? [[String: Any]])?.map { $0["kind"] as? String }.suffix(2) == ["rejected", "rerouted"])
            #expect(again.status == 404, "the order left the store: it no longer sees it")
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: mine.id, scope: .all).available == 0)
            #expect(bad.status == 422 && (bad.json["errors"] as? [[String: Any]])?.first?["field"] as? String == "lines[0].quantity")
            #expect(part.status == 200, "\(part.body)")
            #expect((part.json["lines"] as? [[String: Any]])?.first?["cancelled"] as? Int == 1)
            #expect(part.json["paymentStatus"] as? String == "partially_refunded")
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: warehouse.id, scope: .all).reserved == 1)
            #expect(try await s.services.inventory.verify().ok)
        }
    }
}

@Suite("Manual routing and routing simulation through the HTTP API")
struct ManualRoutingHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func routeOrder_byHandToAWarehouse_liftsTheRoutingHold_andSimulateRoutingWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: the web channel queues what nobody can take; nothing is in stock
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                         caller: .system)
            let locations = try await s.locations()
            let store = locations.filter { $0.kind == .store }[0]
            let warehouse = locations.first { $0.kind != .store }!
            let rule = try await s.call(.put, "/api/v1/routing-rules", as: .ops, json: #"{"channelId":"AM-WEB","name":"web: queue","fallback":"manual"}"#)
            #expect(rule.status == 200, "\(rule.body)")
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","method":"delivery","address":{"name":"王小明","phone":"+8613800138000","line1":"门店旁",
                 "lat":\#(store.coordinates.lat),"lng":\#(store.coordinates.lng)},
                 "lines":[{"sku":"AM-P-M","quantity":1}],"payments":[{"tender":"sandbox","amount":9900}]}
                """#)
            let id = try #require(placed.json["id"] as? String, "\(placed.body)")
            #expect(placed.json["holds"] as? [String] == ["routing"])
            // act
            let nowhere = try await s.call(.post, "/api/v1/orders/\(id)/route", as: .ops, json: "{}")
            _ = try await s.services.inventory.post(.init(location: warehouse.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 2)]),
                                                    caller: .system)
            let clerk = try await s.call(.post, "/api/v1/orders/\(id)/route", as: .clerk, json: #"{"locationId":"\#(warehouse.code)"}"#)
            let routed = try await s.call(.post, "/api/v1/orders/\(id)/route", as: .ops,
                                          json: #"{"locationId":"\#(warehouse.code)","note":"sent from the warehouse"}"#)
            let twice = try await s.call(.post, "/api/v1/orders/\(id)/route", as: .ops, json: "{}")
            let before = try await TestDatabase.count("audit_events", s.services.db)
            let simulated = try await s.call(.post, "/api/v1/routing-rules/simulate", as: .ops,
                                             json: #"{"rule":{"name":"warehouses only","useStores":false},"orderIds":["\#(id)"]}"#)
            let badRule = try await s.call(.post, "/api/v1/routing-rules/simulate", as: .ops,
                                           json: #"{"rule":{"name":"x","maxLocations":0},"orderIds":["\#(id)"]}"#)
            let notHers = try await s.call(.post, "/api/v1/routing-rules/simulate", as: .storeManager,
                                           json: #"{"rule":{"name":"x"},"orderIds":["\#(id)"]}"#)
            // check
            #expect(nowhere.status == 409 && nowhere.problemType == Problem.typeBase + "unroutable", "\(nowhere.body)")
            #expect(clerk.status == 403)
            #expect(routed.status == 200, "\(routed.body)")
            #expect(routed.json["status"] as? String == "allocated" && routed.json["holds"] as? [String] == [])
            let line = try #require((routed.json["lines"] as? [[String: Any]])?.first)
            #expect(line["locationId"] as? String == warehouse.id && line["mode"] as? String == "carrier")
            let routing = try #require(routed.json["routing"] as? [String: Any])
            #expect(routing["rule"] as? String == "manual" && (routing["policy"] as? String)?.contains(warehouse.code) == true)
            #expect((routed.json["timeline"] as? [[String: Any]])?.last?["kind"] as? String == "routed")
            #expect(twice.status == 409 && twice.problemType == Problem.typeBase + "not-on-routing-hold")
            #expect(simulated.status == 200, "\(simulated.body)")
            let result = try #require((simulated.json["orders"] as? [[String: Any]])?.first)
            #expect(result["orderId"] as? String == id && result["changed"] as? Bool == false)
            #expect(result["current"] as? [String: String] == ["0": warehouse.code] && result["simulated"] as? [String: String] == ["0": warehouse.code])
            #expect((result["decision"] as? [String: Any])?["rule"] as? String == "warehouses only")
            let summary = try #require(simulated.json["summary"] as? [String: Any])
            #expect(summary["orders"] as? Int == 1 && summary["changed"] as? Int == 0 && summary["unroutable"] as? Int == 0 && summary["split"] as? Int == 0)
            #expect(summary["locations"] as? [String: Int] == [warehouse.code: 1])
            #expect(badRule.status == 422 && (badRule.json["errors"] as? [[String: Any]])?.first?["field"] as? String == "rule.maxLocations")
            #expect(notHers.status == 403, "a store manager does not configure routing")
            #expect(try await TestDatabase.count("audit_events", s.services.db) == before, "simulating writes nothing")
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: warehouse.id, scope: .all).reserved == 1)
            #expect(try await s.services.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func setRoutingRule_withAGroupAndNextSteps_isListedAsStored_andABadGroupIs422(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let store = try await s.locations().first { $0.kind == .store }!
            _ = try await CatalogFixture.make(s.services)
            // act
            let set = try await s.call(.put, "/api/v1/routing-rules", as: .ops, json: #"""
                {"channelId":"AM-WEB","name":"own store first","useWarehouses":false,"locations":{"locations":["\#(store.code)"]},
                 "next":[{"name":"warehouses","useStores":false,"maxLocations":1}],"fallback":"manual","autoCancelAfterDays":3}
                """#)
            let listed = try await s.call(.get, "/api/v1/routing-rules", as: .ops)
            let bad = try await s.call(.put, "/api/v1/routing-rules", as: .ops, json: #"""
                {"channelId":"AM-WEB","name":"bad","next":[{"name":"x","locations":{"regions":["Shanghai"]}}],"autoCancelAfterDays":3}
                """#)
            // check
            #expect(set.status == 200, "\(set.body)")
            let rules = try #require(listed.json["items"] as? [[String: Any]])
            let rule = try #require(rules.first { $0["name"] as? String == "own store first" })
            #expect((rule["locations"] as? [String: Any])?["locations"] as? [String] == [store.code])
            #expect((rule["next"] as? [[String: Any]])?.map { $0["name"] as? String } == ["warehouses"])
            #expect(rule["autoCancelAfterDays"] as? Int == 3 && rule["fallback"] as? String == "manual")
            #expect(bad.status == 422 && bad.body.contains("next[0].locations.regions[0]") && bad.body.contains("autoCancelAfterDays"), "\(bad.body)")
        }
    }
}

@Suite("Editing orders through the API and acting on them in the console")
struct OrderEditHTTPTests {
    @Test func editOrder_thenChanges_listTheVersion_andTheConsoleHoldsAndCancels() async throws {
        try await TestServer.run(.sqlite) { (s: TestServer) async throws in
            // setup: a paid web pickup order of 1 M at a store with 5
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                         caller: .system)
            let store = try await s.locations().first { $0.kind == .store && $0.capabilities.pickup }!
            _ = try await s.services.inventory.post(.init(location: store.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 5)]), caller: .system)
            let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store.code)","lines":[{"sku":"AM-P-M","quantity":1}],
                 "payments":[{"tender":"sandbox","amount":9900}]}
                """#)
            let id = try #require(placed.json["id"] as? String)
            let version = try #require(placed.json["version"] as? Int)
            // act: add one more M, paid; a stale second edit; then the console holds and cancels it
            let edited = try await s.call(.post, "/api/v1/orders/\(id)/edits", as: .ops, json: #"""
                {"addLines":[{"sku":"AM-P-M","quantity":1}],"payments":[{"tender":"sandbox","amount":9900}],"expectedVersion":\#(version),"note":"one more"}
                """#)
            let stale = try await s.call(.post, "/api/v1/orders/\(id)/edits", as: .ops, json: #"{"removeLines":[0],"expectedVersion":\#(version)}"#)
            let changes = try await s.call(.get, "/api/v1/orders/\(id)/changes", as: .customerService)
            let cookie = try await s.consoleCookie("ops")
            func consolePost(_ form: String) async throws -> String {
                try await s.client.execute(uri: "/console/orders/\(id)", method: .post,
                                           headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                           body: .init(string: form)) { String(buffer: $0.body) }
            }
            let page = try await s.call(.get, "/console/orders/\(id)", headers: [.cookie: cookie])
            let held = try await consolePost("action=hold&kind=fraud&note=check+it")
            let refused = try await consolePost("action=advance&status=released")
            let cancelled = try await consolePost("action=cancel&reason=customer+asked")
            // check
            #expect(edited.status == 200 && edited.json["total"] as? Int == 19800 && edited.json["paidTotal"] as? Int == 19800, "\(edited.body)")
            #expect(stale.status == 409 && stale.problemType == Problem.typeBase + "stale-version")
            let items = try #require(changes.json["items"] as? [[String: Any]])
            #expect(items.count == 1 && items.first?["note"] as? String == "one more" && items.first?["totalAfter"] as? Int == 19800)
            #expect(page.body.contains("name=\"action\" value=\"hold\""))
            #expect(held.contains("notice ok") && held.contains("fraud"))
            #expect(refused.contains("role=\"alert\"") || refused.contains("error"), "a held order is not released")
            #expect(cancelled.contains("notice ok"))
            let order = try await s.services.orders.order(id, scope: .all)
            #expect(order.status == .cancelled && order.holds == [.fraud] && order.paymentStatus == .refunded)
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: store.id, scope: .all).reserved == 0)
        }
    }
}

@Suite("Marketplace intake through HTTP: a signed Shopify webhook needs no token")
struct ShopifyWebhookHTTPTests {
    static let secret = "shpss_test_secret"

    static func sign(_ body: String, _ secret: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))).base64EncodedString()
    }

    @Test func shopifyWebhook_signedWithTheAppsSecret_isTaken_andAWrongOrMissingSignatureIs401() async throws {
        try await TestServer.run(configure: { $0.shopifyWebhookSecret = Self.secret }) { (s: TestServer) async throws in
            // setup
            _ = try await s.services.catalog.createChannel(code: "SHOPIFY", name: "Shopify store", kind: .marketplace, currency: "USD", caller: .system)
            let body = #"{"orders": []}"#
            let path = "/api/v1/marketplace-orders/shopify?channel=SHOPIFY"
            func post(_ signature: String?, format: String = "shopify") async throws -> TestServer.Reply {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let signature { headers[HTTPField.Name("X-Shopify-Hmac-Sha256")!] = signature }
                return try await s.call(.post, path.replacingOccurrences(of: "/shopify?", with: "/\(format)?"), json: body, headers: headers)
            }
            // act
            let signed = try await post(Self.sign(body, Self.secret))
            let wrong = try await post(Self.sign(body, "another secret"))
            let tampered = try await post(Self.sign(#"{"orders":[]}"#, Self.secret))
            let none = try await post(nil)
            let tmall = try await post(Self.sign(body, Self.secret), format: "tmall")
            // check
            #expect(signed.status == 200 && (signed.json["results"] as? [Any])?.isEmpty == true, "\(signed.body)")
            #expect([wrong.status, tampered.status, none.status, tmall.status] == [Int](repeating: 401, count: 4))
        }
    }
}

@Suite("Store delivery routes through HTTP")
struct DeliveryRouteHTTPTests {
    @Test func planDeliveryRoutes_forADeliveringStore_answersThePlan_theConsoleDrawsIt_andABadVehicleIs422() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            // setup: two released store-delivery orders near a delivering store
            let c = try await CatalogFixture.make(s.services)
            _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))],
                                                         caller: .system)
            let store = try #require(try await s.locations().first { $0.kind == .store && $0.capabilities.storeDelivery })
            _ = try await s.services.inventory.post(.init(location: store.id, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 5)]), caller: .system)
            var ids: [String] = []
            for (n, east) in [0.004, 0.008].enumerated() {
                let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                    {"channelId":"AM-WEB","method":"delivery","address":{"name":"王小明","phone":"+8613800138000","line1":"门店旁 \#(n) 号",
                     "lat":\#(store.coordinates.lat),"lng":\#(store.coordinates.lng + east)},
                     "lines":[{"sku":"AM-P-M","quantity":1}],"payments":[{"tender":"sandbox","amount":9900}]}
                    """#)
                let id = try #require(placed.json["id"] as? String, "\(placed.body)")
                _ = try await s.services.orders.advance(id, to: .released, caller: .system)
                ids.append(id)
            }
            // act
            let plan = try await s.call(.post, "/api/v1/delivery-routes/plan", as: .ops,
                                        json: #"{"storeId":"\#(store.code)","vehicles":[{"id":"scooter","capacity":6}],"timeLimitSeconds":0.2}"#)
            let bad = try await s.call(.post, "/api/v1/delivery-routes/plan", as: .ops,
                                       json: #"{"storeId":"\#(store.code)","vehicles":[{"id":"scooter","capacity":0}]}"#)
            let listed = try await s.call(.get, "/api/v1/delivery-routes?storeId=\(store.code)", as: .ops)
            let cookie = try await s.consoleCookie("ops")
            let page = try await s.call(.get, "/console/delivery-routes?store=\(store.code)", headers: [.cookie: cookie])
            // check
            let routes = try #require(plan.json["routes"] as? [[String: Any]], "\(plan.body)")
            let stops = routes.flatMap { ($0["stops"] as? [[String: Any]]) ?? [] }
            #expect(plan.status == 200 && Set(stops.compactMap { $0["orderId"] as? String }) == Set(ids))
            #expect(bad.status == 422 && bad.body.contains("vehicles[0].capacity"), "\(bad.body)")
            #expect((listed.json["items"] as? [[String: Any]])?.count == routes.count)
            #expect(page.status == 200 && page.body.contains("<svg") && page.body.contains("<polyline") && ids.allSatisfy { page.body.contains($0) })
        }
    }
}
