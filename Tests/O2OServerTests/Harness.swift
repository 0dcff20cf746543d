import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import O2OCatalog
import O2ONetwork
import NIOCore
import O2OCore
import O2OServer
import O2OTestSupport

let demoPassword = "test-password-1"

/// A server over a fresh database holding the city demo network, driven through the router.
struct TestServer {
    let services: AppServices
    let client: any TestClientProtocol
    var tokens: [Role: String] = [:]

    struct Reply {
        let status: Int
        let headers: HTTPFields
        let body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var problemType: String? { json["type"] as? String }
    }

    func call(_ method: HTTPRequest.Method, _ path: String, as role: Role? = nil, token: String? = nil, json: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        if let t = token ?? role.flatMap({ tokens[$0] }) { headers[.authorization] = "Bearer \(t)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { r in
            Reply(status: Int(r.status.code), headers: r.headers, body: String(buffer: r.body))
        }
    }

    static func run<T: Sendable>(_ engine: DatabaseEngine = .sqlite, clock: any O2OClock = SystemClock(),
                                 configure: @escaping @Sendable (inout ServerConfig) -> Void = { _ in },
                                 _ body: @escaping @Sendable (TestServer) async throws -> T) async throws -> T {
        try await TestDatabase.withServices(engine, clock: clock, configure: configure) { (services: AppServices) async throws in
            // The demo network and users; no demo catalog (tests that need one build their own, and
            // two thousand SKUs per test would make every server test slow).
            _ = try await DemoData(services: services).load(scale: .city, password: demoPassword, catalogSKUs: 0)
            let app = Application(router: buildRouter(services: services))
            return try await app.test(.router) { client in
                var server = TestServer(services: services, client: client)
                for role in Role.allCases where role != .integration {
                    let r = try await server.call(.post, "/api/v1/auth/login", json: #"{"username":"\#(role.rawValue)","password":"\#(demoPassword)"}"#)
                    guard let token = r.json["token"] as? String else { throw TestServerError.loginFailed(role, r.body) }
                    server.tokens[role] = token
                }
                let (_, key) = try await services.identity.createApiKey(name: "test", channel: "web", organisationId: nil, caller: .system)
                server.tokens[.integration] = key
                return try await body(server)
            }
        }
    }

    /// Signs in to the console as a demo user; the session cookie to send (`o2o_session=…`).
    func consoleCookie(_ username: String) async throws -> String {
        let login = try await client.execute(uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                             body: ByteBuffer(string: "username=\(username)&password=\(demoPassword)")) { $0 }
        guard let cookie = login.headers[.setCookie]?.split(separator: ";").first else { throw TestServerError.consoleLoginFailed(username) }
        return String(cookie)
    }

    func locations(scope: Scope = .all) async throws -> [Location] {
        var f = LocationFilter()
        f.limit = 200
        return try await services.network.locations(f, scope: scope).items
    }
}

enum TestServerError: Error {
    case loginFailed(Role, String)
    case consoleLoginFailed(String)
}

let validLocationJSON = """
    {"code":"NEW-1","name":"静安嘉里中心店","kind":"store",
     "address":{"line1":"南京西路 1515 号","provinceCode":"310000","cityCode":"310100","districtCode":"310106"},
     "coordinates":{"lat":31.2235,"lng":121.4457},
     "capabilities":{"pickup":true,"shipFromStore":true,"storeDelivery":true,"deliveryRadiusKm":5,"acceptsReturns":true}}
    """

/// A small catalog of our own (codes prefixed AM-), beside whatever the demo holds.
struct CatalogFixture {
    let brandId: String
    let categoryId: String
    let productId: String
    let skuId: String
    let channelId: String
    let priceListId: String

    static func make(_ services: AppServices) async throws -> CatalogFixture {
        let brand = try await services.catalog.createBrand(code: "AM-B", name: "Fixture brand", nameEn: nil, caller: .system)
        let category = try await services.catalog.createCategory(code: "AM-C", name: "Fixture category", nameEn: nil, parentId: nil, caller: .system)
        let product = try await services.catalog.createProduct(.init(
            code: "AM-P", name: "测试圆领T恤", nameEn: "Fixture crew tee", brandId: brand.id, categoryId: category.id, optionNames: ["size"],
            status: .active, skus: [.init(code: "AM-P-M", barcode: GTIN.ean13("690000000001"), options: ["size": "M"], listPrice: 9900)]),
            caller: .system)
        let channel = try await services.catalog.createChannel(code: "AM-WEB", name: "Fixture web", kind: .web, currency: nil, caller: .system)
        let list = try await services.prices.createPriceList(.init(code: "AM-PL", name: "Fixture list", priority: 9999, channelId: channel.id),
                                                             caller: .system)
        return CatalogFixture(brandId: brand.id, categoryId: category.id, productId: product.id, skuId: product.skus[0].id,
                              channelId: channel.id, priceListId: list.id)
    }
}
