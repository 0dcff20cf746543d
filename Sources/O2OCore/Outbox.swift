import Crypto
import Foundation
import Logging
import SQLKit

/// Domain events are written to `outbox_events` in the transaction that caused them and leave
/// only after it commits: the dispatcher fans each event out to the webhook endpoints that
/// subscribe to it, and the deliverer sends those deliveries, signed, with retries.
public enum Outbox {
    public static func enqueue(_ tx: Transaction, _ event: DomainEvent, at now: Date) async throws {
        try await tx.sql.raw("""
            INSERT INTO outbox_events (id, event_type, entity_type, entity_id, payload, organisation_id, location_id, created_at)
            VALUES (\(bind: O2OID.make("evt", at: now)), \(bind: event.type), \(bind: event.entityType), \(bind: event.entityId),
                    \(bind: event.payload), \(bind: event.organisationId), \(bind: event.locationId), \(bind: now.epochMillis))
            """).run()
    }

    /// Many events with one statement per 500 (a campaign's messages, say), in the same transaction.
    public static func enqueue(_ tx: Transaction, _ events: [DomainEvent], at now: Date) async throws {
        for start in stride(from: 0, to: events.count, by: 500) {
            var q: SQLQueryString = """
                INSERT INTO outbox_events (id, event_type, entity_type, entity_id, payload, organisation_id, location_id, created_at) VALUES
                """
            for (i, e) in events[start..<min(start + 500, events.count)].enumerated() {
                q += """
                    \(unsafeRaw: i == 0 ? " " : ", ")(\(bind: O2OID.make("evt", at: now)), \(bind: e.type), \(bind: e.entityType), \(bind: e.entityId), \
                    \(bind: e.payload), \(bind: e.organisationId), \(bind: e.locationId), \(bind: now.epochMillis))
                    """
            }
            try await tx.sql.raw(q).run()
        }
    }
}

/// The documented catalogue of domain events (also served at `GET /event-types`).
public struct EventType: Sendable, Codable, Hashable {
    public var name: String
    public var description: String
    public init(_ name: String, _ description: String) {
        self.name = name
        self.description = description
    }
}

public enum EventCatalog {
    public static let all: [EventType] = [
        EventType("organisation.created", "An organisation (HQ, franchisee, supplier) was created."),
        EventType("location.created", "A warehouse or store was created."),
        EventType("location.updated", "A location's data, capabilities, capacity or status changed."),
        EventType("user.created", "A staff user was created."),
        EventType("api_key.created", "An API key for a channel integration was issued."),
        EventType("api_key.revoked", "An API key was revoked."),
        EventType("webhook_endpoint.created", "A webhook endpoint was registered."),
        EventType("brand.created", "A brand was created."),
        EventType("category.created", "A category was created."),
        EventType("category.updated", "A category was renamed or moved."),
        EventType("product.created", "A product (style) was created with its SKUs."),
        EventType("product.updated", "A product's data, assortment or status changed."),
        EventType("sku.created", "A SKU was added to a product."),
        EventType("sku.updated", "A SKU's barcode, unified retail price, measures, status or external codes changed."),
        EventType("channel.created", "A sales channel was created."),
        EventType("listings.changed", "Listings on a channel were created or changed (publish, unpublish, schedule, clearance); the payload lists them."),
        EventType("price_list.created", "A price list was created."),
        EventType("price_list.updated", "A price list's name, priority, validity or status changed."),
        EventType("price_list.prices_changed", "Prices in a price list were set or removed."),
        EventType("catalog.imported", "A CSV import of SKUs was applied."),
        EventType("inventory.movements_posted", "Receipts, sales, adjustments, returns to stock or damage were posted at a location; the payload lists the movements."),
        EventType("inventory.reservation_created", "Stock was reserved for an order (every line)."),
        EventType("inventory.reservation_allocated", "Routing moved held lines to the locations that will fulfil them."),
        EventType("inventory.reservation_consumed", "Part of a reservation was sold (shipped or picked up)."),
        EventType("inventory.reservation_completed", "Everything a reservation held was sold or released, with some sold."),
        EventType("inventory.reservation_released", "Reserved stock was given back (cancelled order or line)."),
        EventType("inventory.reservation_expired", "An unpaid reservation ran out of time and its stock was released."),
        EventType("inventory.pool_updated", "A channel's pool (locations, shares, reservation lifetime, threshold) was defined or changed."),
        EventType("inventory.safety_stock_set", "A safety-stock rule was set, changed or removed."),
        EventType("inventory.atp_changed", "What a channel may promise changed for some SKUs (debounced); the payload lists each SKU's shipping and pickup quantities."),
        EventType("inventory.replenishment_rule_set", "A store's min/max or days-of-cover rule was set, changed or removed."),
        EventType("inventory.count_posted", "A count or a store system's snapshot was posted; the payload has each SKU's variance."),
        EventType("inventory.transfer_requested", "A transfer between two locations was requested; its units are held at the source."),
        EventType("inventory.transfer_shipped", "A transfer left its source; its units are in transit."),
        EventType("inventory.transfer_received", "A transfer arrived; the payload has what was received and any discrepancy."),
        EventType("inventory.transfer_cancelled", "A transfer was cancelled before shipping; its units were released at the source."),
        EventType("inventory.short_after_sale", "A till sale left SKUs at a store below zero on hand or below what orders hold there: count them, re-route what counted on them."),
        EventType("order.placed", "An order was placed from any channel: priced, routed and its stock held (or queued on a routing hold)."),
        EventType("order.sold_at_till", "A sale rung up at a store's till was recorded: an order already completed, its stock sold at the store."),
        EventType("order.edited", "An order was edited before release (address, lines added or removed) and routed again; the payload is the order at its new version."),
        EventType("order.cod_remitted", "A courier or store handed over the cash on delivery it had collected for some orders."),
        EventType("order.paid", "An order's captured tenders reached its total."),
        EventType("order.payment_captured", "A tender of an order was captured without completing its payment (part of a multi-tender payment, or money arriving for an order already cancelled: refund it)."),
        EventType("order.payment_failed", "A tender of an order was declined by its provider."),
        EventType("order.released", "An order was released to the location(s) that fulfil it."),
        EventType("order.picking", "A location started picking an order."),
        EventType("order.shipped", "An order left its location (已出库); its held stock became a sale."),
        EventType("order.ready_for_pickup", "A pickup order is ready at the store; the customer can collect it with the pickup code."),
        EventType("order.delivered", "An order reached the customer (已到货); cash on delivery is collected."),
        EventType("order.picked_up", "A pickup order was handed over at the counter; its held stock became a sale."),
        EventType("order.completed", "An order is complete."),
        EventType("order.settled", "An order is settled (已结算)."),
        EventType("order.cancelled", "An order was cancelled; its stock was given back."),
        EventType("order.refunded", "A cancelled order's captured payments were refunded."),
        EventType("order.lines_cancelled", "Some units of an order's lines were cancelled; their stock was given back and their value refunded."),
        EventType("order.rejected_by_location", "A location rejected lines assigned to it (out of stock, damaged, other); the payload is the order after re-routing."),
        EventType("order.rerouted", "Lines a location rejected were routed to other locations and held there; the order must be released again."),
        EventType("order.routed", "An order waiting on a routing hold was routed — again by the channel's rule, or by hand to a named location — and its stock held; the hold is lifted when every open line is assigned."),
        EventType("order.held", "An order was put on hold (payment, fraud, address, manual, routing)."),
        EventType("order.hold_released", "A hold on an order was lifted."),
        EventType("order.routing_rule_set", "A channel's routing rule (or the default) was set."),
        EventType("order.marketplace_status", "An order a marketplace sold moved to another of the marketplace's states; the payload names it in the marketplace's own words, for the connector that writes it back."),
        EventType("delivery.routes_planned", "A store's deliveries were planned into vehicle routes, replacing its routes that had not left."),
        EventType("delivery.route_dispatched", "A delivery route left the store; its orders are shipped."),
        EventType("delivery.stop_confirmed", "A driver confirmed a stop of a route as delivered (the order is delivered) or failed (with a note)."),
        EventType("fulfillment.assigned", "An order released to a location became a fulfilment order there, with its SLA to accept."),
        EventType("fulfillment.accepted", "A location accepted its fulfilment order."),
        EventType("fulfillment.rejected", "A location rejected its fulfilment order (or its SLA expired, or routing moved the lines); the lines go back to routing."),
        EventType("fulfillment.status_changed", "A fulfilment order was picked, packed, shipped, sent out, made ready for pickup or delivered."),
        EventType("fulfillment.cancelled", "A fulfilment order was cancelled with its order."),
        EventType("fulfillment.sla_breached", "A fulfilment order was not accepted within its location's SLA: escalated."),
        EventType("fulfillment.pickup_ready", "A pickup is ready at the store: the notice to the customer, with the pickup code and until when it waits."),
        EventType("fulfillment.picked_up", "A pickup was verified at the counter and handed over; the payload carries the proof of handover."),
        EventType("carrier.created", "A carrier or 3PL account was added with its service levels."),
        EventType("carrier.updated", "A carrier's account, service levels, tracking URL, webhook secret or status changed."),
        EventType("shipment.created", "A fulfilment order was shipped with a carrier: the shipment with its parcels, tracking number and label."),
        EventType("shipment.handed_over", "A shipment was handed to a 3PL partner: the shipment and label, the goods and the full delivery address."),
        EventType("shipment.tracking_updated", "A carrier reported a new tracking event for a shipment (in transit, out for delivery, delivered, exception)."),
        EventType("member.created", "A member was created from a channel (by mobile number or an external identity); the phone is masked."),
        EventType("member.updated", "A member's profile or mobile number changed; the phone is masked."),
        EventType("member.identity_linked", "An external identity (WeChat, marketplace buyer, POS card) was linked to a member."),
        EventType("member.identity_unlinked", "An external identity was unlinked from a member."),
        EventType("member.points_posted", "Points were earned, redeemed, expired, reversed or adjusted; the payload has the ledger entry and the balance before and after."),
        EventType("member.segment_created", "A member segment was created with its rule and its membership computed; the payload has the count."),
        EventType("member.segment_refreshed", "A member segment's membership was computed again; the payload has the count before and after."),
        EventType("member.message_queued", "A message to a member (SMS, WeChat, email) was queued by a campaign to a segment, within consent and the frequency cap; the recipient is masked, the text left out."),
        EventType("member.wallet_posted", "The wallet was topped up, paid from or refunded to; the payload has the entry (principal and bonus) and the balance before and after."),
    ]
    public static let names = Set(all.map(\.name))
}

/// What the receiver checks: `O2O-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
public enum WebhookSignature {
    public static let header = "O2O-Signature"

    public static func sign(body: String, secret: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Verifies a header against the body, rejecting timestamps older than `tolerance` seconds.
    public static func verify(header: String, body: String, secret: String, now: Date, tolerance: Int64 = 300) -> Bool {
        var t: Int64?
        var v1: String?
        for part in header.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            if kv[0] == "t" { t = Int64(kv[1]) }
            if kv[0] == "v1" { v1 = kv[1] }
        }
        guard let t, let v1, abs(Int64(now.timeIntervalSince1970) - t) <= tolerance else { return false }
        let expected = sign(body: body, secret: secret, timestamp: t)
        return expected.utf8.elementsEqual("t=\(t),v1=\(v1)".utf8)
    }
}

/// Sends one webhook request; the real one uses HTTP, tests may record.
public protocol WebhookTransport: Sendable {
    /// Returns the HTTP status code; throws on a network failure.
    func post(url: String, body: String, headers: [String: String]) async throws -> Int
}

public struct WebhookEndpoint: Sendable, Codable {
    public var id: String
    public var url: String
    public var description: String?
    public var eventTypes: [String]
    public var status: String
    public var createdAt: Date
}

public struct WebhookDelivery: Sendable, Codable {
    public var id: String
    public var endpointId: String
    public var eventId: String
    public var eventType: String
    public var status: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var deliveredAt: Date?
    public var createdAt: Date
}

public struct WebhookPolicy: Sendable {
    /// Tries before a delivery is dead-lettered.
    public var maxAttempts: Int = 8
    /// Backoff: base × 2^(attempt−1), capped.
    public var baseDelay: TimeInterval = 5
    public var maxDelay: TimeInterval = 3600
    public var batchSize: Int = 50
    public var requestTimeout: TimeInterval = 10
    public init() {}

    public func delay(afterAttempt attempt: Int) -> TimeInterval {
        min(maxDelay, baseDelay * pow(2, Double(max(0, attempt - 1))))
    }
}

public enum WebhookError: Error {
    case notFound(String)
}

/// Webhook endpoints, the fan-out of outbox events into deliveries, and their sending.
public struct WebhookService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    public let policy: WebhookPolicy
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, policy: WebhookPolicy = .init()) {
        self.db = db
        self.clock = clock
        self.policy = policy
        self.recorder = ChangeRecorder(clock: clock)
    }

    public func createEndpoint(url: String, description: String?, eventTypes: [String], caller: Caller) async throws -> (WebhookEndpoint, String) {
        var v = Validator()
        v.text(url, "url", max: 2000)
        if let u = URL(string: url), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme), u.host != nil {
        } else { v.add("url", "must be an absolute http(s) URL") }
        v.text(description, "description", required: false, max: 200)
        v.check(!eventTypes.isEmpty, "eventTypes", "must name at least one event type or *")
        for (i, t) in eventTypes.enumerated() where t != "*" && !EventCatalog.names.contains(t) {
            v.add("eventTypes[\(i)]", "unknown event type '\(t)'")
        }
        try v.finish()
        let now = clock.instant()
        let endpoint = WebhookEndpoint(id: O2OID.make("whe", at: now), url: url, description: description,
                                       eventTypes: eventTypes, status: "active", createdAt: now)
        let secret = Secrets.token(prefix: "whsec_")
        try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO webhook_endpoints (id, url, description, event_types, secret, status, created_at)
                VALUES (\(bind: endpoint.id), \(bind: url), \(bind: description), \(bind: eventTypes.joined(separator: ",")),
                        \(bind: secret), 'active', \(bind: now.epochMillis))
                """).run()
            try await recorder.record(tx, caller: caller, action: "create", entityType: "webhook_endpoint", entityId: endpoint.id,
                                      before: WebhookEndpoint?.none, after: endpoint, organisationId: nil, locationId: nil,
                                      event: "webhook_endpoint.created")
        }
        return (endpoint, secret)
    }

    public func listEndpoints(limit: Int, cursor: String?) async throws -> Page<WebhookEndpoint> {
        try await db.page("SELECT * FROM webhook_endpoints WHERE 1=1", limit: limit, cursor: cursor, map: Self.endpoint, id: \.id)
    }

    public func listDeliveries(status: String?, endpointId: String?, limit: Int, cursor: String?) async throws -> Page<WebhookDelivery> {
        var q: SQLQueryString = "SELECT * FROM webhook_deliveries WHERE 1=1"
        if let status { q += " AND status = \(bind: status)" }
        if let endpointId { q += " AND endpoint_id = \(bind: endpointId)" }
        return try await db.page(q, limit: limit, cursor: cursor, order: .newestFirst, map: Self.delivery, id: \.id)
    }

    /// Queues a delivery to be sent again now, with a fresh set of attempts.
    public func redeliver(_ id: String, caller: Caller) async throws -> WebhookDelivery {
        let now = clock.instant()
        return try await db.write { tx in
            guard let row = try await tx.sql.raw("SELECT * FROM webhook_deliveries WHERE id = \(bind: id)").first() else {
                throw Problem.notFound("webhook delivery", id)
            }
            let before = try Self.delivery(row)
            try await tx.sql.raw("""
                UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = \(bind: now.epochMillis)
                WHERE id = \(bind: id)
                """).run()
            var after = before
            after.status = "pending"
            after.attempts = 0
            after.nextAttemptAt = now
            try await recorder.record(tx, caller: caller, action: "redeliver", entityType: "webhook_delivery", entityId: id,
                                      before: before, after: after, organisationId: nil, locationId: nil)
            return after
        }
    }

    /// Turns undispatched outbox events into deliveries for each subscribed endpoint. Returns the events handled.
    @discardableResult
    public func dispatch() async throws -> Int {
        let now = clock.instant()
        let size = policy.batchSize
        return try await db.write { tx in
            let lock = tx.engine == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let events = try await tx.sql.raw("""
                SELECT id, event_type FROM outbox_events WHERE dispatched_at IS NULL ORDER BY id LIMIT \(literal: size)\(unsafeRaw: lock)
                """).all()
            if events.isEmpty { return 0 }
            let endpoints = try await tx.sql.raw("SELECT * FROM webhook_endpoints WHERE status = 'active'").all().map(Self.endpoint)
            for e in events {
                let eventId = try e.decode(column: "id", as: String.self)
                let type = try e.decode(column: "event_type", as: String.self)
                for ep in endpoints where ep.eventTypes.contains("*") || ep.eventTypes.contains(type) {
                    try await tx.sql.raw("""
                        INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
                        VALUES (\(bind: O2OID.make("whd", at: now)), \(bind: ep.id), \(bind: eventId), \(bind: type), 'pending', 0,
                                \(bind: now.epochMillis), \(bind: now.epochMillis))
                        """).run()
                }
                try await tx.sql.raw("UPDATE outbox_events SET dispatched_at = \(bind: now.epochMillis) WHERE id = \(bind: eventId)").run()
            }
            return events.count
        }
    }

    /// Sends the deliveries that are due; returns how many were attempted.
    @discardableResult
    public func deliverDue(transport: any WebhookTransport, logger: Logger) async throws -> Int {
        let now = clock.instant()
        let lease = now.addingTimeInterval(policy.requestTimeout * 3).epochMillis
        let size = policy.batchSize
        // Claim: push next_attempt_at forward so no other process picks the same rows meanwhile.
        let claimed: [(WebhookDelivery, String, String, String)] = try await db.write { tx in
            let rows = try await tx.sql.raw("""
                SELECT d.*, e.url AS endpoint_url, e.secret AS endpoint_secret, o.payload AS event_payload
                FROM webhook_deliveries d
                JOIN webhook_endpoints e ON e.id = d.endpoint_id
                JOIN outbox_events o ON o.id = d.event_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= \(bind: now.epochMillis)
                ORDER BY d.next_attempt_at LIMIT \(literal: size)
                """).all()
            var out: [(WebhookDelivery, String, String, String)] = []
            for r in rows {
                let d = try Self.delivery(r)
                try await tx.sql.raw("UPDATE webhook_deliveries SET next_attempt_at = \(bind: lease) WHERE id = \(bind: d.id)").run()
                out.append((d, try r.decode(column: "endpoint_url", as: String.self),
                            try r.decode(column: "endpoint_secret", as: String.self),
                            try r.decode(column: "event_payload", as: String.self)))
            }
            return out
        }
        for (d, url, secret, payload) in claimed {
            let body = "{\"id\":\"\(d.eventId)\",\"type\":\"\(d.eventType)\",\"deliveryId\":\"\(d.id)\",\"data\":\(payload)}"
            let ts = Int64(clock.now().timeIntervalSince1970)
            var status: Int?
            var failure: String?
            do {
                status = try await transport.post(url: url, body: body, headers: [
                    "Content-Type": "application/json",
                    WebhookSignature.header: WebhookSignature.sign(body: body, secret: secret, timestamp: ts),
                    "O2O-Event-Type": d.eventType,
                    "O2O-Delivery-Id": d.id,
                ])
                if let s = status, !(200..<300).contains(s) { failure = "HTTP \(s)" }
            } catch {
                failure = String(describing: error)
            }
            let attempts = d.attempts + 1
            let after = clock.now()
            let (code, error) = (status, failure)
            try await db.write { tx in
                if error == nil {
                    try await tx.sql.raw("""
                        UPDATE webhook_deliveries SET status = 'delivered', attempts = \(bind: attempts), last_status_code = \(bind: code),
                            last_error = NULL, delivered_at = \(bind: after.epochMillis) WHERE id = \(bind: d.id)
                        """).run()
                } else if attempts >= policy.maxAttempts {
                    try await tx.sql.raw("""
                        UPDATE webhook_deliveries SET status = 'dead', attempts = \(bind: attempts), last_status_code = \(bind: code),
                            last_error = \(bind: error) WHERE id = \(bind: d.id)
                        """).run()
                } else {
                    let next = after.addingTimeInterval(policy.delay(afterAttempt: attempts)).epochMillis
                    try await tx.sql.raw("""
                        UPDATE webhook_deliveries SET attempts = \(bind: attempts), last_status_code = \(bind: code),
                            last_error = \(bind: error), next_attempt_at = \(bind: next) WHERE id = \(bind: d.id)
                        """).run()
                }
            }
            if let failure {
                logger.notice("webhook delivery failed", metadata: ["delivery": "\(d.id)", "attempt": "\(attempts)", "error": "\(failure)"])
            }
        }
        return claimed.count
    }

    /// Events not yet fanned out plus deliveries waiting: the backlog shown in `/metrics`.
    public func backlog() async throws -> (events: Int, deliveries: Int, dead: Int) {
        try await db.read { sql in
            let e = try await sql.raw("SELECT COUNT(*) AS n FROM outbox_events WHERE dispatched_at IS NULL").first()?.decode(column: "n", as: Int.self) ?? 0
            let d = try await sql.raw("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'").first()?.decode(column: "n", as: Int.self) ?? 0
            let x = try await sql.raw("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'dead'").first()?.decode(column: "n", as: Int.self) ?? 0
            return (e, d, x)
        }
    }

    static func endpoint(_ r: any SQLRow) throws -> WebhookEndpoint {
        WebhookEndpoint(
            id: try r.decode(column: "id", as: String.self),
            url: try r.decode(column: "url", as: String.self),
            description: try r.decode(column: "description", as: String?.self),
            eventTypes: try r.decode(column: "event_types", as: String.self).split(separator: ",").map(String.init),
            status: try r.decode(column: "status", as: String.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func delivery(_ r: any SQLRow) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try r.decode(column: "id", as: String.self),
            endpointId: try r.decode(column: "endpoint_id", as: String.self),
            eventId: try r.decode(column: "event_id", as: String.self),
            eventType: try r.decode(column: "event_type", as: String.self),
            status: try r.decode(column: "status", as: String.self),
            attempts: try r.decode(column: "attempts", as: Int.self),
            nextAttemptAt: try r.decode(column: "next_attempt_at", as: Int64?.self).map(Date.init(epochMillis:)),
            lastStatusCode: try r.decode(column: "last_status_code", as: Int?.self),
            lastError: try r.decode(column: "last_error", as: String?.self),
            deliveredAt: try r.decode(column: "delivered_at", as: Int64?.self).map(Date.init(epochMillis:)),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }
}
