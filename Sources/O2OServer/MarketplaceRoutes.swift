import Foundation
import HTTPTypes
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
    /// Who a signed Shopify webhook acts as.
    static let shopifyWebhook = Principal(id: "shopify_webhook", kind: .system, name: "Shopify webhook", role: .integration, scope: .all)

    func register(on router: Router<O2ORequestContext>) {
        router.post(RouterPath(Self.path)) { request, context -> Response in
            let format = context.parameters.get("format") ?? ""
            let signature = request.headers[HTTPField.Name("X-Shopify-Hmac-Sha256")!]
            guard CurrentRequest.caller != nil || signature != nil else { throw Problem.unauthorized() }
            guard let adapter = Self.adapters[format] else {
                throw Problem.validation([.init("format", "one of \(Self.adapters.keys.sorted().joined(separator: ", "))")])
            }
            var request = request
            let body = try await request.collectBody(upTo: services.config.maxImportBytes)
            let caller: Caller
            if let signed = CurrentRequest.caller {
                caller = signed
            } else {
                // A Shopify webhook carries no token: its signature over the body is the credential.
                guard format == "shopify", let secret = services.config.shopifyWebhookSecret, let signature,
                      ShopifyAdapter.verifyWebhook(body: Data(buffer: body), hmacHeader: signature, secret: secret) else {
                    throw Problem.unauthorized("The X-Shopify-Hmac-Sha256 signature does not match the body (or no Shopify secret is configured).")
                }
                caller = Caller(Self.shopifyWebhook, requestId: context.requestId)
            }
            guard caller.principal.can(.ordersPlace) else { throw Problem.forbidden("Taking in marketplace orders needs the orders.place permission.") }
            guard let channel = request.uri.queryParameters["channel"].map(String.init) else {
                throw Problem.validation([.init("channel", "name the marketplace channel (id or code)")])
            }
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
