import Foundation
import Hummingbird
import NIOCore
import O2OCore
import O2OOrders

/// `POST /api/v1/marketplace-orders/{format}?channel=CODE`: a marketplace's orders in its own
/// format (`shopify`: an order webhook body or a REST export; `tmall`: TOP trade JSON) — by
/// webhook or a file upload. Read byte for byte (marketplace ids exceed what a JSON number
/// survives), so it sits beside the generated API; it takes the same bearer token and needs
/// `orders.place`. Answers one result per order.
struct MarketplaceRoutes {
    let services: AppServices
    static let path = "/api/v1/marketplace-orders/{format}"
    static let adapters = Marketplaces.adapters

    func register(on router: Router<O2ORequestContext>) {
        router.post(RouterPath(Self.path)) { request, context -> Response in
            guard let caller = CurrentRequest.caller else { throw Problem.unauthorized() }
            guard caller.principal.can(.ordersPlace) else { throw Problem.forbidden("Taking in marketplace orders needs the orders.place permission.") }
            let format = context.parameters.get("format") ?? ""
            guard let adapter = Self.adapters[format] else {
                throw Problem.validation([.init("format", "one of \(Self.adapters.keys.sorted().joined(separator: ", "))")])
            }
            guard let channel = request.uri.queryParameters["channel"].map(String.init) else {
                throw Problem.validation([.init("channel", "name the marketplace channel (id or code)")])
            }
            var request = request
            let body = try await request.collectBody(upTo: services.config.maxImportBytes)
            let results = try await services.orders.importMarketplaceOrders(Data(buffer: body), adapter: adapter, channel: channel, caller: caller)
            let json = try JSONSerialization.data(withJSONObject: ["results": results.map { r -> [String: Any] in
                var d: [String: Any] = ["externalId": r.externalId, "externalStatus": r.externalStatus, "outcome": r.outcome.rawValue,
                                        "warnings": r.warnings]
                if let o = r.order { d["orderId"] = o.id; d["status"] = o.status.rawValue }
                if let p = r.problem { d["problem"] = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(p))) ?? [:] }
                return d
            }], options: [.sortedKeys])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
    }
}
