import Foundation
import HTTPTypes
import O2OCore
import O2OInventory
import O2OServer
import O2OTestSupport
import Testing

@Suite("Inventory through the HTTP API")
struct InventoryHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func reserveStock_retriedWithTheSameKey_reservesOnce_evenWhenTheRetriesRace(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let c = try await CatalogFixture.make(s.services)
            let store = try await s.locations().first { $0.kind == .store }!
            let receipt = #"{"locationId":"\#(store.code)","kind":"receipt","reference":{"type":"delivery_note","id":"DN-9"},"lines":[{"sku":"AM-P-M","quantity":5}]}"#
            #expect(try await s.call(.post, "/api/v1/inventory/movements", as: .ops, json: receipt).status == 201)
            let body = #"{"channelId":"AM-WEB","reference":{"type":"order","id":"W-1"},"lines":[{"sku":"\#(c.skuId)","locationId":"\#(store.id)","quantity":2}]}"#
            // act: the first request and nine retries with its key, all at once
            let replies = try await withThrowingTaskGroup(of: TestServer.Reply.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await s.call(.post, "/api/v1/inventory/reservations", as: .integration, json: body, headers: [.idemKey: "w-1"]) }
                }
                return try await group.reduce(into: [TestServer.Reply]()) { $0.append($1) }
            }
            // check
            #expect(replies.allSatisfy { $0.status == 201 }, "\(replies.map(\.status))")
            #expect(Set(replies.map { $0.json["id"] as? String }).count == 1)
            let b = try await s.services.inventory.balance(sku: c.skuId, location: store.id, scope: .all)
            #expect((b.onHand, b.reserved) == (5, 2))
            #expect(try await TestDatabase.count("inventory_reservations", s.services.db) == 1)
            #expect(try await s.services.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reserveStock_whenShort_is409ListingEveryShortLine_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            _ = try await CatalogFixture.make(s.services)
            let store = try await s.locations().first { $0.kind == .store }!
            let before = try await TestDatabase.count("inventory_movements", s.services.db)
            let body = #"{"lines":[{"sku":"AM-P-M","locationId":"\#(store.id)","quantity":1}]}"#
            // act
            let r = try await s.call(.post, "/api/v1/inventory/reservations", as: .ops, json: body)
            let fractional = try await s.call(.post, "/api/v1/inventory/reservations", as: .ops,
                                              json: body.replacingOccurrences(of: #""quantity":1"#, with: #""quantity":1.5"#))
            let atp = try await s.call(.get, "/api/v1/inventory/atp?channel=AM-WEB&sku=AM-P-M&sku=NOPE", as: .clerk)
            // check
            #expect(r.status == 409 && r.headers[.contentType] == "application/problem+json")
            #expect(r.problemType == Problem.typeBase + "insufficient-stock")
            #expect(((r.json["errors"] as? [[String: Any]]) ?? []).map { $0["field"] as? String } == ["lines[0].quantity"])
            #expect(fractional.status == 400)
            #expect(atp.status == 422)
            #expect(try await TestDatabase.count("inventory_movements", s.services.db) == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func allocateReservation_retriedWithTheSameKey_movesTheHoldOnce(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a soft hold lands on the warehouse, which has the most
            let c = try await CatalogFixture.make(s.services)
            let all = try await s.locations()
            let store = all.first { $0.kind == .store }!
            let warehouse = all.first { $0.kind.isWarehouse }!
            for (loc, q) in [(store, 3), (warehouse, 5)] {
                let receipt = #"{"locationId":"\#(loc.id)","kind":"receipt","lines":[{"sku":"AM-P-M","quantity":\#(q)}]}"#
                #expect(try await s.call(.post, "/api/v1/inventory/movements", as: .ops, json: receipt).status == 201)
            }
            let held = try await s.call(.post, "/api/v1/inventory/reservations", as: .integration,
                                        json: #"{"channelId":"AM-WEB","lines":[{"sku":"AM-P-M","quantity":2}]}"#)
            let id = try #require(held.json["id"] as? String)
            let line = try #require((held.json["lines"] as? [[String: Any]])?.first)
            #expect(line["soft"] as? Bool == true && line["locationId"] as? String == warehouse.id)
            let body = #"{"allocations":[{"line":0,"locationId":"\#(store.code)"}]}"#
            // act: routing's decision and four retries with its key, all at once
            let replies = try await withThrowingTaskGroup(of: TestServer.Reply.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await s.call(.post, "/api/v1/inventory/reservations/\(id)/allocate", as: .integration, json: body, headers: [.idemKey: "route-1"])
                    }
                }
                return try await group.reduce(into: [TestServer.Reply]()) { $0.append($1) }
            }
            let bad = try await s.call(.post, "/api/v1/inventory/reservations/\(id)/allocate", as: .integration, json: #"{"allocations":[]}"#)
            // check
            #expect(replies.allSatisfy { $0.status == 200 }, "\(replies.map(\.status))")
            #expect(Set(replies.map { $0.json["version"] as? Int }) == [2])
            let moved = try #require((replies[0].json["lines"] as? [[String: Any]])?.first)
            #expect(moved["soft"] as? Bool == false && moved["locationId"] as? String == store.id)
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: store.id, scope: .all).reserved == 2)
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: warehouse.id, scope: .all).reserved == 0)
            #expect(bad.status == 422 && bad.headers[.contentType] == "application/problem+json")
            #expect(try await s.services.inventory.verify().ok)
        }
    }
}
