import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import O2OCore
@testable import O2OServer
import O2OTestSupport
import Synchronization
import Testing

@Suite("Webhooks over real HTTP")
struct WebhookDeliveryHTTPTests {
    @Test func outboxEvent_reachesAReceiver_signed_overHTTP() async throws {
        try await TestDatabase.withServices(.sqlite) { (services: AppServices) async throws in
            // setup: a receiver on a loopback port that records what it gets
            let received = Mutex<[(String, String)]>([])
            let receiver = Router()
            receiver.post("/hook") { request, _ -> HTTPResponse.Status in
                var request = request
                let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
                received.withLock { $0.append((request.headers[HTTPField.Name("O2O-Signature")!] ?? "", body)) }
                return .noContent
            }
            let app = Application(router: receiver, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let (_, secret) = try await services.webhooks.createEndpoint(
                    url: "http://127.0.0.1:\(port)/hook", description: "test", eventTypes: ["location.created"], caller: .system)
                _ = try await services.network.createLocation(
                    .init(code: "HOOK-1", name: "门店", kind: .store,
                          address: .init(line1: "a", provinceCode: "310000", cityCode: "310100", districtCode: "310101"),
                          coordinates: .init(lat: 31.2, lng: 121.4)), caller: .system)
                // act
                try await services.webhooks.dispatch()
                let sent = try await services.webhooks.deliverDue(transport: HTTPWebhookTransport(), logger: TestDatabase.logger)
                // check
                #expect(sent == 1)
                let got = received.withLock { $0 }
                #expect(got.count == 1)
                #expect(WebhookSignature.verify(header: got[0].0, body: got[0].1, secret: secret, now: Date()))
                #expect(got[0].1.contains("\"code\":\"HOOK-1\""))
                let delivered = try await services.webhooks.listDeliveries(status: "delivered", endpointId: nil, limit: 5, cursor: nil)
                #expect(delivered.items.count == 1 && delivered.items[0].lastStatusCode == 204)
            }
        }
    }
}
