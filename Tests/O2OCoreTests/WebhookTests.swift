import Foundation
import Logging
import O2OCore
import O2OTestSupport
import Synchronization
import Testing

/// Records what would be sent, answering with a scripted status.
final class RecordingTransport: WebhookTransport {
    struct Sent { let url: String; let body: String; let headers: [String: String] }
    let sent = Mutex<[Sent]>([])
    let status: Mutex<Int>
    init(status: Int) { self.status = Mutex(status) }
    func post(url: String, body: String, headers: [String: String]) async throws -> Int {
        sent.withLock { $0.append(Sent(url: url, body: body, headers: headers)) }
        return status.withLock { $0 }
    }
}

@Suite("Outbox and webhooks")
struct WebhookTests {
    @Test func signature_verifies_andRejectsTamperingAndOldTimestamps() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = WebhookSignature.sign(body: "{\"a\":1}", secret: "whsec_x", timestamp: 1_800_000_000)
        #expect(WebhookSignature.verify(header: header, body: "{\"a\":1}", secret: "whsec_x", now: now))
        #expect(!WebhookSignature.verify(header: header, body: "{\"a\":2}", secret: "whsec_x", now: now))
        #expect(!WebhookSignature.verify(header: header, body: "{\"a\":1}", secret: "whsec_y", now: now))
        #expect(!WebhookSignature.verify(header: header, body: "{\"a\":1}", secret: "whsec_x", now: now.addingTimeInterval(3600)))
    }

    @Test(arguments: TestDatabase.engines)
    func delivery_isSigned_retriedWithBackoff_deadLettered_andRedeliverable(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let clock = ManualClock()
            var policy = WebhookPolicy()
            policy.maxAttempts = 3
            policy.baseDelay = 10
            let webhooks = WebhookService(db: db, clock: clock, policy: policy)
            let (endpoint, secret) = try await webhooks.createEndpoint(
                url: "http://127.0.0.1:9/hook", description: nil, eventTypes: ["webhook_endpoint.created"], caller: .system)
            let failing = RecordingTransport(status: 503)
            let logger = TestDatabase.logger

            // act: the endpoint's own creation event is fanned out and sent
            #expect(try await webhooks.dispatch() == 1)
            #expect(try await webhooks.deliverDue(transport: failing, logger: logger) == 1)
            // check: not due again before the backoff, due after it
            #expect(try await webhooks.deliverDue(transport: failing, logger: logger) == 0)
            clock.advance(by: 10)
            #expect(try await webhooks.deliverDue(transport: failing, logger: logger) == 1)
            clock.advance(by: 19)
            #expect(try await webhooks.deliverDue(transport: failing, logger: logger) == 0)
            clock.advance(by: 1)
            #expect(try await webhooks.deliverDue(transport: failing, logger: logger) == 1)
            let dead = try await webhooks.listDeliveries(status: "dead", endpointId: endpoint.id, limit: 10, cursor: nil)
            #expect(dead.items.count == 1)
            #expect(dead.items[0].attempts == 3)
            #expect(dead.items[0].lastError == "HTTP 503")

            let sent = failing.sent.withLock { $0 }
            #expect(sent.count == 3)
            let signature = try #require(sent[0].headers[WebhookSignature.header])
            #expect(WebhookSignature.verify(header: signature, body: sent[0].body, secret: secret, now: clock.now()))
            #expect(sent[0].body.contains("\"type\":\"webhook_endpoint.created\""))

            // act: redeliver to a healthy receiver
            _ = try await webhooks.redeliver(dead.items[0].id, caller: .system)
            let ok = RecordingTransport(status: 204)
            #expect(try await webhooks.deliverDue(transport: ok, logger: logger) == 1)
            // check
            let delivered = try await webhooks.listDeliveries(status: "delivered", endpointId: nil, limit: 10, cursor: nil)
            #expect(delivered.items.count == 1)
            let backlog = try await webhooks.backlog()
            #expect(backlog.events == 0 && backlog.deliveries == 0 && backlog.dead == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createEndpoint_withBadInput_writesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            let webhooks = WebhookService(db: db, clock: SystemClock())
            // act
            await #expect(throws: Problem.self) {
                _ = try await webhooks.createEndpoint(url: "ftp://x", description: nil, eventTypes: ["nope"], caller: .system)
            }
            // check
            #expect(try await TestDatabase.count("webhook_endpoints", db) == 0)
            #expect(try await TestDatabase.count("audit_events", db) == 0)
            #expect(try await TestDatabase.count("outbox_events", db) == 0)
        }
    }
}
