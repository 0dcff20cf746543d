import Crypto
import Foundation
import HTTPTypes
import O2OCore
import O2OInventory
import O2OServer
import O2OTestSupport
import Testing

@Suite("Fulfilment orders and pickup verification through the HTTP API")
struct FulfillmentHTTPTests {
    /// A paid pickup order at the demo clerk's store, released to it: (order id, pickup code, store id).
    static func releasedPickup(_ s: TestServer) async throws -> (id: String, code: String, store: String) {
        let c = try await CatalogFixture.make(s.services)
        _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))], caller: .system)
        let store = ((try await s.call(.get, "/api/v1/me", as: .clerk).json["scope"]) as! [String: Any])["locationId"] as! String
        let receipt = #"{"locationId":"\#(store)","kind":"receipt","lines":[{"sku":"AM-P-M","quantity":5}]}"#
        #expect(try await s.call(.post, "/api/v1/inventory/movements", as: .ops, json: receipt).status == 201)
        let body = #"""
            {"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store)","contactPhone":"+8613900001234",
             "lines":[{"sku":"AM-P-M","quantity":1}],"payments":[{"tender":"sandbox","amount":9900}]}
            """#
        let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: body)
        let id = try #require(placed.json["id"] as? String, "\(placed.body)")
        #expect(try await s.call(.post, "/api/v1/orders/\(id)/transitions", as: .ops, json: #"{"status":"released"}"#).status == 200)
        let code = try #require(try await s.call(.get, "/api/v1/orders/\(id)", as: .ops).json["pickupCode"] as? String)
        return (id, code, store)
    }

    @Test(arguments: TestDatabase.engines)
    func theClerksQueue_acceptRetriedWithTheSameKey_thenPickReadyVerify_completesThePickup(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let (orderId, code, store) = try await Self.releasedPickup(s)
            // act
            let queue = try await s.call(.get, "/api/v1/fulfillment-orders?location=\(store)&status=assigned&limit=10", as: .clerk)
            let items = try #require(queue.json["items"] as? [[String: Any]])
            let id = try #require(items.first?["id"] as? String)
            let accept = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/accept", as: .clerk, headers: [.idemKey: "acc-1"])
            let retry = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/accept", as: .clerk, headers: [.idemKey: "acc-1"])
            let twice = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/accept", as: .clerk, headers: [.idemKey: "acc-2"])
            let foreign = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/accept", as: .warehouse)
            let foreignRead = try await s.call(.get, "/api/v1/fulfillment-orders/\(id)", as: .warehouse)
            let pick = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/transitions", as: .clerk, json: #"{"to":"picking"}"#)
            let ship = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/transitions", as: .clerk, json: #"{"to":"shipped"}"#)
            let ready = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/transitions", as: .clerk, json: #"{"to":"ready_for_pickup"}"#)
            let verify = #"{"locationId":"\#(store)","code":"\#(code)","orderId":"\#(orderId)"}"#
            let handed = try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: verify, headers: [.idemKey: "ver-1"])
            let replay = try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: verify, headers: [.idemKey: "ver-1"])
            let again = try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: verify)
            let read = try await s.call(.get, "/api/v1/fulfillment-orders/\(id)", as: .storeManager)
            // check
            #expect(queue.status == 200 && items.count == 1 && items[0]["orderId"] as? String == orderId)
            #expect(accept.status == 200 && accept.json["status"] as? String == "accepted")
            #expect(retry.status == 200 && retry.body == accept.body && retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(twice.status == 409 && twice.json["allowed"] as? [String] == ["picking", "rejected"])
            #expect(foreign.status == 404 && foreignRead.status == 404)
            #expect(pick.status == 200 && ship.status == 409 && ready.status == 200 && ready.json["pickupExpiresAt"] != nil)
            #expect(handed.status == 200 && handed.json["status"] as? String == "picked_up", "\(handed.body)")
            #expect((handed.json["handover"] as? [String: Any])?["method"] as? String == "scan")
            #expect(replay.status == 200 && replay.body == handed.body)
            #expect(again.status == 422, "handed over: no pickup waits with that code any more")
            #expect([200, 404].contains(read.status))
            #expect(try await s.call(.get, "/api/v1/orders/\(orderId)", as: .ops).json["status"] as? String == "picked_up")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func wrongCodes_fiveTimes_thenTheClerkGets429WithRetryAfter_whileAnotherUserMayStillVerify(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let (orderId, code, store) = try await Self.releasedPickup(s)
            let id = try #require((try await s.call(.get, "/api/v1/fulfillment-orders?orderId=\(orderId)", as: .ops).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            _ = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/accept", as: .clerk)
            for to in ["picking", "ready_for_pickup"] {
                #expect(try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/transitions", as: .clerk, json: #"{"to":"\#(to)"}"#).status == 200)
            }
            let wrongCode = code == "000000" ? "111111" : "000000"
            // act
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: #"{"locationId":"\#(store)","code":"\#(wrongCode)","phone":"1234"}"#).status)
            }
            let limited = try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: #"{"locationId":"\#(store)","code":"\#(code)","phone":"1234"}"#)
            let limitedKeyed = try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: #"{"locationId":"\#(store)","code":"\#(code)","phone":"1234"}"#,
                                                headers: [.idemKey: "pause-1"])
            let limitedAgain = try await s.call(.post, "/api/v1/pickups/verify", as: .clerk, json: #"{"locationId":"\#(store)","code":"\#(code)","phone":"1234"}"#,
                                                headers: [.idemKey: "pause-1"])
            let other = try await s.call(.post, "/api/v1/pickups/verify", as: .ops, json: #"{"locationId":"\#(store)","code":"\#(code)","phone":"13900001234"}"#)
            let audits = try await s.call(.get, "/api/v1/audit-events?entityType=pickup_counter&limit=50", as: .hqAdmin)
            // check
            #expect(statuses == [422, 422, 422, 422, 422])
            #expect(limited.status == 429 && limited.headers[HTTPField.Name("Retry-After")!].flatMap(Int.init).map { $0 > 0 } == true, "\(limited.body)")
            #expect(limitedKeyed.status == 429 && limitedAgain.status == 429 && limitedAgain.headers[HTTPField.Name("Idempotent-Replayed")!] == nil,
                    "a 429 did nothing: its key is not kept, so a retry after the pause does the work")
            #expect(other.status == 200 && other.json["status"] as? String == "picked_up", "\(other.body)")
            #expect((audits.json["items"] as? [[String: Any]])?.filter { $0["action"] as? String == "pickup_verify_failed" }.count == 5)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_overHTTP_sendsThePickupToARoutingHold_andBadBodiesAre422(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let (orderId, _, _) = try await Self.releasedPickup(s)
            let id = try #require((try await s.call(.get, "/api/v1/fulfillment-orders?orderId=\(orderId)", as: .clerk).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            // act
            let noNote = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/reject", as: .clerk, json: #"{"reason":"other"}"#)
            let unknown = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/reject", as: .clerk, json: #"{"reason":"bored"}"#)
            let rejected = try await s.call(.post, "/api/v1/fulfillment-orders/\(id)/reject", as: .clerk, json: #"{"reason":"damaged"}"#)
            let order = try await s.call(.get, "/api/v1/orders/\(orderId)", as: .ops)
            // check
            #expect(noNote.status == 422 && unknown.status == 400)
            #expect(rejected.status == 200 && rejected.json["status"] as? String == "rejected" && rejected.json["reason"] as? String == "damaged")
            #expect((order.json["holds"] as? [String])?.contains("routing") == true)
        }
    }
    @Test func theConsole_workQueueAndCounter_acceptPickReadyAndHandOver() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            // setup
            let (orderId, code, store) = try await Self.releasedPickup(s)
            let cookie = try await s.consoleCookie("clerk")
            func post(_ path: String, _ form: String) async throws -> String {
                try await s.client.execute(uri: path, method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                           body: .init(string: form)) { String(buffer: $0.body) }
            }
            let id = try #require((try await s.call(.get, "/api/v1/fulfillment-orders?orderId=\(orderId)", as: .ops).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            // act
            let queue = try await s.call(.get, "/console/fulfillment", headers: [.cookie: cookie])
            let accepted = try await post("/console/fulfillment", "action=accept&id=\(id)&location=\(store)")
            let twice = try await post("/console/fulfillment", "action=accept&id=\(id)&location=\(store)")
            _ = try await post("/console/fulfillment", "action=transition&to=picking&id=\(id)&location=\(store)")
            let ready = try await post("/console/fulfillment", "action=transition&to=ready_for_pickup&id=\(id)&location=\(store)")
            let counter = try await s.call(.get, "/console/pickups", headers: [.cookie: cookie])
            let wrong = try await post("/console/pickups", "location=\(store)&code=\(code == "000000" ? "111111" : "000000")&phone=1234")
            let handed = try await post("/console/pickups", "location=\(store)&code=\(code)&phone=1234")
            // check
            #expect(queue.status == 200 && queue.body.contains(orderId) && queue.body.contains("value=\"accept\""))
            #expect(accepted.contains("notice ok") && twice.contains("role=\"alert\""))
            #expect(ready.contains("notice ok") && ready.contains("/console/pickups?location="))
            #expect(counter.status == 200 && counter.body.contains(orderId) && counter.body.contains("name=\"code\""))
            #expect(wrong.contains("role=\"alert\""))
            #expect(handed.contains("notice ok") && handed.contains(orderId), "\(handed)")
            #expect(try await s.call(.get, "/api/v1/orders/\(orderId)", as: .ops).json["status"] as? String == "picked_up")
        }
    }
}

@Suite("Carriers, shipments and tracking through the HTTP API")
struct ShipmentHTTPTests {
    /// A paid delivery only the demo's first warehouse can serve, released, accepted and packed
    /// there by its staff: (order id, fulfilment order id).
    static func packedAtWarehouse(_ s: TestServer) async throws -> (order: String, fulfillment: String) {
        let c = try await CatalogFixture.make(s.services)
        _ = try await s.services.catalog.setListings(channel: c.channelId, [.init(sku: c.skuId, publishAt: Date(timeIntervalSince1970: 0))], caller: .system)
        let warehouse = ((try await s.call(.get, "/api/v1/me", as: .warehouse).json["scope"]) as! [String: Any])["locationId"] as! String
        _ = try await s.services.inventory.post(.init(location: warehouse, kind: .receipt, lines: [.init(sku: c.skuId, quantity: 5)]), caller: .system)
        let placed = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
            {"channelId":"AM-WEB","method":"delivery","address":{"name":"王小明","phone":"+8613800138000","line1":"南京东路 1 号","lat":31.23,"lng":121.48},
             "lines":[{"sku":"AM-P-M","quantity":1}],"payments":[{"tender":"sandbox","amount":9900}]}
            """#)
        let id = try #require(placed.json["id"] as? String, "\(placed.body)")
        #expect(try await s.call(.post, "/api/v1/orders/\(id)/transitions", as: .ops, json: #"{"status":"released"}"#).status == 200)
        let items = try await s.call(.get, "/api/v1/fulfillment-orders?orderId=\(id)", as: .warehouse).json["items"] as? [[String: Any]]
        let fo = try #require(items?.first?["id"] as? String, "the order went to the warehouse")
        #expect(try await s.call(.post, "/api/v1/fulfillment-orders/\(fo)/accept", as: .warehouse).status == 200)
        for to in ["picking", "packed"] {
            #expect(try await s.call(.post, "/api/v1/fulfillment-orders/\(fo)/transitions", as: .warehouse, json: #"{"to":"\#(to)"}"#).status == 200)
        }
        return (id, fo)
    }

    static func signed(_ body: String, _ secret: String) -> HTTPFields {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return [HTTPField.Name("X-Carrier-Signature")!: Data(mac).base64EncodedString()]
    }

    @Test(arguments: TestDatabase.engines)
    func ship_thenSignedWebhookDelivers_theOrderIsDelivered_aRepeatIsIgnored_andABadSignatureIs401(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let secret = "http-test-webhook-secret"
            let carriers = try await s.call(.get, "/api/v1/carriers", as: .warehouse)
            let patched = try await s.call(.patch, "/api/v1/carriers/SF", as: .hqAdmin, json: #"{"webhookSecret":"\#(secret)"}"#)
            let (orderId, fo) = try await Self.packedAtWarehouse(s)
            // act
            let bad = try await s.call(.post, "/api/v1/shipments", as: .warehouse,
                                       json: #"{"fulfillmentOrderId":"\#(fo)","carrier":"SF","service":"standard","parcels":[{"weightGrams":-5}]}"#)
            let foreign = try await s.call(.post, "/api/v1/shipments", as: .clerk,
                                           json: #"{"fulfillmentOrderId":"\#(fo)","carrier":"SF","service":"standard","parcels":[{"weightGrams":500}]}"#)
            let created = try await s.call(.post, "/api/v1/shipments", as: .warehouse,
                                           json: #"{"fulfillmentOrderId":"\#(fo)","carrier":"SF","service":"standard","parcels":[{"weightGrams":500}]}"#)
            let tracking = try #require(created.json["trackingNumber"] as? String, "\(created.body)")
            let shipped = try await s.call(.get, "/api/v1/orders/\(orderId)", as: .ops).json["status"] as? String
            let hook = #"{"events":[{"trackingNumber":"\#(tracking)","status":"delivered","at":"2026-12-01T17:30:00+08:00","location":"上海"}]}"#
            let path = "/api/v1/carriers/SF/tracking-events"
            let forged = try await s.call(.post, path, json: hook, headers: Self.signed(hook, "not-the-secret-at-all"))
            let delivered = try await s.call(.post, path, json: hook, headers: Self.signed(hook, secret))
            let repeated = try await s.call(.post, path, json: hook, headers: Self.signed(hook, secret))
            let unknown = #"{"events":[{"trackingNumber":"SF0000000000000","status":"delivered","at":"2026-12-01T17:30:00+08:00"}]}"#
            let stranger = try await s.call(.post, path, json: unknown, headers: Self.signed(unknown, secret))
            let read = try await s.call(.get, "/api/v1/shipments/\(created.json["id"] as? String ?? "")", as: .ops)
            let listed = try await s.call(.get, "/api/v1/shipments?orderId=\(orderId)&status=delivered", as: .warehouse)
            let hidden = try await s.call(.get, "/api/v1/shipments?orderId=\(orderId)", as: .clerk)
            // check
            let codes = (carriers.json["items"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
            #expect(carriers.status == 200 && codes == ["HDWL", "SF", "ZTO"] && carriers.body.contains("next_day") && !carriers.body.contains("webhookSecret"))
            #expect(patched.status == 200 && !patched.body.contains(secret))
            #expect(bad.status == 422 && bad.headers[.contentType] == "application/problem+json")
            #expect(foreign.status == 404)
            #expect(created.status == 201 && shipped == "shipped")
            let label = try #require(created.json["label"] as? [String: Any])
            #expect(label["barcode"] as? String == tracking && (label["shipTo"] as? [String: Any])?["phone"] as? String == "138****8000")
            #expect(forged.status == 401 && forged.headers[.contentType] == "application/problem+json")
            #expect(delivered.status == 200 && delivered.json["recorded"] as? Int == 1, "\(delivered.body)")
            #expect(repeated.status == 200 && repeated.json["recorded"] as? Int == 0 && repeated.json["duplicates"] as? Int == 1)
            #expect(stranger.status == 422)
            #expect(read.json["status"] as? String == "delivered" && (read.json["events"] as? [[String: Any]])?.count == 1)
            #expect((listed.json["items"] as? [[String: Any]])?.count == 1)
            #expect((hidden.json["items"] as? [[String: Any]])?.isEmpty == true)
            #expect(try await s.call(.get, "/api/v1/orders/\(orderId)", as: .ops).json["status"] as? String == "delivered")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func csvWithBadRows_is422ListingEveryLine_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let (_, fo) = try await Self.packedAtWarehouse(s)
            let created = try await s.call(.post, "/api/v1/shipments", as: .warehouse,
                                           json: #"{"fulfillmentOrderId":"\#(fo)","carrier":"ZTO","service":"standard","parcels":[{"weightGrams":500}],"trackingNumber":"750000000001"}"#)
            #expect(created.status == 201, "\(created.body)")
            let csv = "tracking_number,status,at,location,description\n750000000001,in_transit,2026-12-01T08:00:00Z,上海,\n750000000001,gone,2026-12-01T09:00:00Z,,\nNOPE,delivered,2026-12-01T10:00:00Z,,\n"
            var headers: HTTPFields = [.contentType: "text/csv"]
            headers[.idemKey] = "csv-1"
            // act
            let rejected = try await s.call(.post, "/api/v1/shipments/tracking-events/import", as: .warehouse, json: csv, headers: headers)
            let good = try await s.call(.post, "/api/v1/shipments/tracking-events/import", as: .warehouse,
                                        json: "tracking_number,status,at\n750000000001,in_transit,2026-12-01T08:00:00Z\n", headers: [.contentType: "text/csv"])
            // check
            #expect(rejected.status == 422, "\(rejected.body)")
            let lines = (rejected.json["errors"] as? [[String: Any]])?.compactMap { $0["line"] as? Int }
            #expect(lines == [3, 4])
            #expect(good.status == 200 && good.json["recorded"] as? Int == 1, "\(good.body)")
            #expect(try await TestDatabase.count("shipment_events", s.services.db) == 1)
        }
    }

    @Test func theConsole_shipsFromTheWorkQueue_thenTheTrackerAndTheLabelShowIt() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            // setup
            let (orderId, fo) = try await Self.packedAtWarehouse(s)
            let cookie = try await s.consoleCookie("warehouse")
            let warehouse = ((try await s.call(.get, "/api/v1/me", as: .warehouse).json["scope"]) as! [String: Any])["locationId"] as! String
            // act
            let queue = try await s.call(.get, "/console/fulfillment?location=\(warehouse)", headers: [.cookie: cookie])
            let shipped = try await s.client.execute(
                uri: "/console/fulfillment", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                body: .init(string: "action=ship&id=\(fo)&location=\(warehouse)&service=SF%2Fnext_day&weightGrams=650")) { String(buffer: $0.body) }
            let tracker = try await s.call(.get, "/console/shipments?carrier=SF", headers: [.cookie: cookie])
            let id = try #require((try await s.call(.get, "/api/v1/shipments?orderId=\(orderId)", as: .warehouse).json["items"] as? [[String: Any]])?.first?["id"] as? String)
            let label = try await s.call(.get, "/console/shipments/\(id)/label", headers: [.cookie: cookie])
            // check
            #expect(queue.status == 200 && queue.body.contains("value=\"SF/next_day\""))
            #expect(shipped.contains("notice ok"), "\(shipped)")
            #expect(tracker.status == 200 && tracker.body.contains(orderId) && tracker.body.contains("/console/shipments/\(id)/label"))
            #expect(label.status == 200 && label.body.contains("138****8000") && label.body.contains("1/1") && label.body.contains("650 g"))
        }
    }
}
