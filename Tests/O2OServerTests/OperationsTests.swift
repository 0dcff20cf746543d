import Foundation
import HTTPTypes
import O2OCore
import O2OServer
import O2OFulfillment
import O2OTestSupport
import Testing

@Suite("Operations, spec, docs and console")
struct OperationsTests {
    @Test func health_ready_metrics_spec_andDocs() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            #expect(try await s.call(.get, "/health").body == "ok")
            #expect(try await s.call(.get, "/ready").status == 200)
            _ = try await s.call(.get, "/api/v1/locations", as: .hqAdmin)
            let metrics = try await s.call(.get, "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("http_server_request_duration"))
            let spec = try await s.call(.get, "/openapi.yaml")
            #expect(spec.body.hasPrefix("openapi: 3.1.0"))
            let docs = try await s.call(.get, "/docs")
            #expect(docs.status == 200)
            #expect(docs.body.contains("/api/v1/locations/covering"))
            #expect(docs.body.contains("id=\"schema-Location\""))
            #expect(!docs.body.contains("http://") || !docs.body.contains("<script src"))
        }
    }

    @Test func apiResponses_carryRequestIds_andEchoAGivenOne() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            let r = try await s.call(.get, "/api/v1/me", as: .clerk, headers: [HTTPField.Name("X-Request-Id")!: "trace-123"])
            #expect(r.headers[HTTPField.Name("X-Request-Id")!] == "trace-123")
        }
    }

    @Test func console_login_locations_detail_andLanguage() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            // not signed in → login page
            let redirect = try await s.call(.get, "/console/locations")
            #expect(redirect.status == 303)
            #expect(redirect.headers[.location] == "/console/login")
            #expect(try await s.call(.get, "/console/login").body.contains("name=\"password\""))
            // wrong password → 401 page, no cookie
            let bad = try await s.call(.post, "/console/login", json: nil,
                                       headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(bad.status == 401)
            let login = try await s.client.execute(
                uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: .init(string: "username=store_manager&password=\(demoPassword)")) { $0 }
            #expect(login.status == .seeOther)
            let cookie = try #require(login.headers[.setCookie]).split(separator: ";")[0]
            let headers: HTTPFields = [.cookie: String(cookie)]
            let list = try await s.call(.get, "/console/locations", headers: headers)
            #expect(list.status == 200)
            #expect(list.body.contains("<table"))
            // a store manager sees only the own store
            #expect(list.body.components(separatedBy: "/console/locations/loc_").count - 1 == 1)
            let zh = try await s.call(.get, "/console/locations?lang=zh-CN", headers: headers)
            #expect(zh.body.contains("<html lang=\"zh-CN\">"))
            #expect(zh.body.contains("门店与仓库"))
            let other = try await s.locations().first { $0.kind == .ecommerceWarehouse }!
            #expect(try await s.call(.get, "/console/locations/\(other.id)", headers: headers).status == 404)
        }
    }

    @Test func console_escapesWhatUsersTyped() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            let xss = validLocationJSON.replacingOccurrences(of: "静安嘉里中心店", with: "<script>alert(1)</script>")
            #expect(try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: xss).status == 201)
            let cookie = try await s.consoleCookie("hq_admin")
            let page = try await s.call(.get, "/console/locations?q=NEW", headers: [.cookie: cookie])
            #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!page.body.contains("<script>alert(1)"))
        }
    }

    @Test func demo_isRepeatable_andRefusesANonEmptyDatabase() async throws {
        try await TestDatabase.withServices(.sqlite) { (services: AppServices) async throws in
            let summary = try await DemoData(services: services).load(scale: .city, seed: 7, password: "pw-123456")
            #expect(summary.stores == 10 && summary.warehouses == 1)
            #expect(summary.users.count == Role.allCases.count - 1)
            // a store's round planned, the longest route out with a stop delivered, one failed and the rest to go
            #expect(summary.deliveryRoutes >= 1)
            let delivering = try await services.network.locations(LocationFilter.all200, scope: .all).items
                .filter { $0.kind == .store && $0.capabilities.storeDelivery }.sorted { $0.code < $1.code }
            let routes = try await services.fulfillment.deliveryRoutes(store: try #require(delivering.first).code, includeCompleted: true, scope: .all)
            let out = try #require(routes.first { $0.status == .dispatched })
            #expect(out.stops.count < 2 || out.stops[0].status == .delivered)
            #expect(out.stops.count < 3 || out.stops[1].status == .failed)
            #expect(out.stops.last?.status == .pending)
            #expect(routes.allSatisfy { $0.weightGrams <= 12_000 && $0.load <= 15 && $0.weightGrams > 0 })
            await #expect(throws: Problem.self) { _ = try await DemoData(services: services).load(scale: .city, password: "x") }
            let stores = try await services.network.locations(LocationFilter.all200, scope: .all).items.filter { $0.kind == .store }
            #expect(stores.contains { $0.ownership == .franchise } && stores.contains { $0.ownership == .direct })
            // all inside Shanghai's bounding box
            #expect(stores.allSatisfy { (30.6...31.9).contains($0.coordinates.lat) && (120.8...122.1).contains($0.coordinates.lng) })
        }
        let codes1 = try await Self.demoCoordinates(seed: 7)
        let codes2 = try await Self.demoCoordinates(seed: 7)
        #expect(codes1 == codes2)
    }

    static func demoCoordinates(seed: UInt64) async throws -> [Double] {
        try await TestDatabase.withServices(.sqlite) { (services: AppServices) async throws in
            _ = try await DemoData(services: services).load(scale: .city, seed: seed, password: "pw-123456")
            return try await services.network.locations(LocationFilter.all200, scope: .all).items.map { $0.coordinates.lat }
        }
    }
}

import O2ONetwork
extension LocationFilter {
    static var all200: LocationFilter {
        var f = LocationFilter()
        f.limit = 200
        return f
    }
}
