import Foundation
import HTTPTypes
import O2OCore
import O2ONetwork
import O2OServer
import O2OTestSupport
import Testing

@Suite("Warehouse through the HTTP API and the console")
struct WarehouseHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func aSupplierDelivery_retried_thenPutAway_andTheConsoleShowsTheBins(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: bins at the warehouse user's own warehouse (another's is not found); a SKU to receive
            let c = try await CatalogFixture.make(s.services)
            let bins = #"{"bins":[{"code":"A-01","zone":"A","path":1,"capacity":20},{"code":"A-02","zone":"A","path":2}]}"#
            var site: Location?
            var statuses: [Int] = []
            for l in try await s.locations() where l.kind.isWarehouse {
                let r = try await s.call(.post, "/api/v1/warehouses/\(l.code)/bins", as: .warehouse, json: bins, headers: [.idemKey: "bins-\(l.code)"])
                statuses.append(r.status)
                if r.status == 201 { site = l }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1 && statuses.filter { $0 == 404 }.count == statuses.count - 1, "\(statuses)")
            let wh = try #require(site)
            let receipt = #"{"source":"supplier","reference":"DN-77","lines":[{"sku":"\#(c.skuId)","quantity":5}]}"#
            // act: a delivery counted in, retried with its key; one with an unknown SKU
            let first = try await s.call(.post, "/api/v1/warehouses/\(wh.code)/receipts", as: .warehouse, json: receipt, headers: [.idemKey: "dn-77"])
            let retry = try await s.call(.post, "/api/v1/warehouses/\(wh.code)/receipts", as: .warehouse, json: receipt, headers: [.idemKey: "dn-77"])
            let unknown = try await s.call(.post, "/api/v1/warehouses/\(wh.code)/receipts", as: .warehouse,
                                           json: #"{"source":"supplier","reference":"DN-78","lines":[{"sku":"NOPE","quantity":1}]}"#)
            let store = try await s.locations().first { $0.kind == .store }!
            let storeBins = try await s.call(.post, "/api/v1/warehouses/\(store.code)/bins", as: .ops, json: #"{"bins":[{"code":"S-1","zone":"S","path":1}]}"#)
            // check
            #expect(first.status == 201 && retry.status == 201 && first.json["id"] as? String == retry.json["id"] as? String)
            #expect(unknown.status == 422 && storeBins.status == 422)
            let id = try #require(first.json["id"] as? String)
            let lines = try #require(first.json["lines"] as? [[String: Any]])
            let bin = try #require((lines[0]["suggestions"] as? [[String: Any]])?.first?["binCode"] as? String)
            // act: put away; then one more unit than there is
            let over = try await s.call(.post, "/api/v1/warehouse-receipts/\(id)/putaway", as: .warehouse, json: #"{"lines":[{"line":1,"bin":"\#(bin)","quantity":6}]}"#)
            let put = try await s.call(.post, "/api/v1/warehouse-receipts/\(id)/putaway", as: .warehouse, json: #"{"lines":[{"line":1,"bin":"\#(bin)","quantity":5}]}"#)
            #expect(over.status == 422 && put.status == 200 && put.json["status"] as? String == "put_away")
            let balances = try await s.call(.get, "/api/v1/warehouses/\(wh.code)/bin-balances", as: .warehouse)
            let mine = ((balances.json["items"] as? [[String: Any]]) ?? []).first { $0["skuId"] as? String == c.skuId }
            #expect(mine?["inBins"] as? Int == 5 && mine?["dock"] as? Int == 0)
            // the console: the warehouse page and a wave with nothing to pick answered in words
            let cookie = try await s.consoleCookie("warehouse")
            let page = try await s.call(.get, "/console/warehouse?location=\(wh.code)", headers: [.cookie: cookie])
            #expect(page.status == 200 && page.body.contains(bin))
            let wave = try await s.client.execute(uri: "/console/warehouse", method: .post,
                                                  headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                                  body: .init(string: "location=\(wh.code)&limit=10")) { (status: Int($0.status.code), body: String(buffer: $0.body)) }
            #expect(wave.status == 200 && wave.body.contains("no accepted fulfilment orders"))
        }
    }
}
