import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import O2OCore
import O2OFulfillment

/// `POST /api/v1/carriers/{carrierCode}/tracking-events`: a carrier's tracking webhook. Not
/// bearer-authenticated: the signature over the raw body (`X-Carrier-Signature`, base64 of
/// HMAC-SHA256 keyed by the carrier's webhook secret) is the credential, so it is read byte for
/// byte beside the generated API. Answers `{received, recorded, duplicates}`; problem+json for a
/// bad signature (401), an unknown carrier (404) or any bad or unknown event (422, nothing written).
struct CarrierWebhookRoutes {
    let services: AppServices
    static let path = "/api/v1/carriers/{carrierCode}/tracking-events"

    func register(on router: Router<O2ORequestContext>) {
        router.post(RouterPath(Self.path)) { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let signature = request.headers[HTTPField.Name(FulfillmentService.trackingSignatureHeader)!]
            let r = try await services.fulfillment.receiveTrackingWebhook(carrier: context.parameters.get("carrierCode") ?? "", body: Data(buffer: body),
                                                                          signature: signature, requestId: context.requestId)
            let json = try JSONSerialization.data(withJSONObject: ["received": r.received, "recorded": r.recorded.count, "duplicates": r.duplicates],
                                                  options: [.sortedKeys])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
    }
}
