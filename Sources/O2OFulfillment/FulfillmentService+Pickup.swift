import Foundation
import O2OCore
import O2ONetwork
import O2OOrders
import SQLKit

// MARK: - Store pickup (到店自提 核销): verify at the counter, hand over, expire uncollected

extension FulfillmentService {
    public struct PickupVerification: Sendable {
        /// The store's id or code.
        public var location: String
        /// The six-digit pickup code.
        public var code: String
        /// The customer's phone: the last four digits or in full.
        public var phone: String?
        /// The order, when scanned from the customer's screen.
        public var orderId: String?
        public var signatureUrl: String?
        public var photoUrl: String?

        public init(location: String, code: String, phone: String? = nil, orderId: String? = nil, signatureUrl: String? = nil, photoUrl: String? = nil) {
            self.location = location
            self.code = code
            self.phone = phone
            self.orderId = orderId
            self.signatureUrl = signatureUrl
            self.photoUrl = photoUrl
        }
    }

    /// A wrong code at the counter, as its audit row records it (the code and phone masked).
    struct FailedVerification: Codable, Sendable {
        var locationId: String
        var clerkId: String
        var code: String
        var phone: String?
        var orderId: String?
        var failuresInWindow: Int
    }

    /// Verifies a pickup at the store's counter and hands it over: the pickup waiting there with
    /// this code and this phone (its last four digits or in full) or this order (scanned) becomes
    /// picked up, with the proof of handover (clerk, time, method, an optional signature or photo),
    /// and the order is picked up with it. Exactly one of two clerks verifying the same pickup at
    /// once hands it over; the other gets 409.
    ///
    /// A code that does not match a pickup waiting at this store (a wrong code, or another
    /// store's) is 422 and writes only an audit row of the failure; after
    /// `policy.maxVerifyFailures` failures by one clerk at one store within
    /// `policy.failureWindow` seconds, 429 with the seconds to wait. A store outside the caller's
    /// scope is 404.
    public func verifyPickup(_ r: PickupVerification, caller: Caller) async throws -> FulfillmentOrder {
        var v = Validator()
        v.text(r.location, "locationId", max: 100)
        v.check(r.code.count == 6 && r.code.allSatisfy { $0.isASCII && $0.isNumber }, "code", "must be the 6-digit pickup code")
        v.check(r.phone != nil || r.orderId != nil, "phone", "give the customer's phone (last 4 digits or in full), or scan the order (orderId)")
        if let p = r.phone {
            let digits = p.filter { $0.isASCII && $0.isNumber }
            v.check(p.count <= 30 && digits.count >= 4 && digits.count <= 20, "phone", "must be the last 4 digits of the customer's phone, or the whole number")
        }
        v.text(r.orderId, "orderId", required: false, max: 100)
        for (url, field) in [(r.signatureUrl, "signatureUrl"), (r.photoUrl, "photoUrl")] {
            v.text(url, field, required: false, max: 500)
            if let u = url { v.check(u.hasPrefix("https://") || u.hasPrefix("http://"), field, "must be an http(s) URL") }
        }
        try v.finish()
        guard let store = try? await network.location(r.location, scope: .all),
              caller.principal.scope.allows(organisationId: store.organisationId, locationId: store.id) else {
            throw Problem.notFound("location", r.location)
        }
        let now = clock.instant()
        let window = Double(policy.failureWindow)
        let failures = try await db.read { sql in
            try await sql.raw("""
                SELECT at FROM pickup_verify_failures WHERE location_id = \(bind: store.id) AND actor_id = \(bind: caller.principal.id)
                AND at > \(bind: now.addingTimeInterval(-window).epochMillis) ORDER BY at
                """).all().map { Date(epochMillis: try $0.decode(column: "at", as: Int64.self)) }
        }
        if failures.count >= policy.maxVerifyFailures {
            let frees = failures[failures.count - policy.maxVerifyFailures].addingTimeInterval(window)
            throw FulfillmentError.tooManyFailures(retryAfter: max(1, Int(frees.timeIntervalSince(now).rounded(.up))), limit: policy.maxVerifyFailures,
                                                   windowSeconds: policy.failureWindow)
        }
        let waiting = try await db.read { sql in
            try await sql.raw("""
                SELECT * FROM fulfillment_orders WHERE location_id = \(bind: store.id) AND status = 'ready_for_pickup' AND pickup_code = \(bind: r.code)
                """).all().map(FulfillmentRows.decode)
        }
        let match = waiting.first { f in
            (r.orderId.map { $0 == f.orderId } ?? true) && (r.phone.map { Self.phoneMatches($0, f.pickupPhone) } ?? true)
        }
        guard let match else {
            try await db.write { tx in
                try await tx.sql.raw("""
                    INSERT INTO pickup_verify_failures (id, location_id, actor_id, at) VALUES (\(bind: O2OID.make("pvf", at: now)), \(bind: store.id),
                        \(bind: caller.principal.id), \(bind: now.epochMillis))
                    """).run()
                let failed = FailedVerification(locationId: store.id, clerkId: caller.principal.id, code: String(r.code.prefix(2)) + "****",
                                                phone: r.phone.map { "***" + String($0.suffix(2)) }, orderId: r.orderId,
                                                failuresInWindow: failures.count + 1)
                try await self.recorder.record(tx, caller: caller, action: "pickup_verify_failed", entityType: "pickup_counter", entityId: store.id,
                                               before: FailedVerification?.none, after: failed, organisationId: store.organisationId,
                                               locationId: store.id)
            }
            let left = policy.maxVerifyFailures - failures.count - 1
            throw Problem.validation([.init("code", "no pickup waiting at \(store.code) matches this code and \(r.orderId != nil ? "order" : "phone")")],
                                     detail: "No pickup waiting at \(store.code) matches this code and \(r.orderId != nil ? "order" : "phone"); "
                                        + "\(max(0, left)) attempt(s) left before a pause.")
        }
        return try await db.write { tx in
            var f = try await self.locked(match.id, caller: caller, tx)
            let before = f
            guard f.status == .readyForPickup else {
                throw Problem.conflict("Pickup \(f.orderId) at \(store.code) is \(f.status.rawValue): it was already handed over.", kind: "already-handed-over")
            }
            self.sync.move(&f, to: .pickedUp, order: nil, now: now)
            // Whole seconds: the proof is stored as JSON with ISO 8601 times, and reads back the same.
            f.handover = PickupHandover(clerkId: caller.principal.id, clerkName: caller.principal.name,
                                        at: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)),
                                        method: r.phone == nil ? .scan : .codePhone, signatureUrl: r.signatureUrl, photoUrl: r.photoUrl)
            try await self.sync.save(&f, before: before, action: "hand_over", event: "fulfillment.picked_up", caller: caller, tx)
            try await self.advanceOrder(f.orderId, caller: caller, pickupCode: r.code, tx)
            return f
        }
    }

    /// The last four digits, or the whole number (with or without +86), of the phone on the order.
    static func phoneMatches(_ given: String, _ stored: String?) -> Bool {
        let g = given.filter { $0.isASCII && $0.isNumber }, s = (stored ?? "").filter { $0.isASCII && $0.isNumber }
        guard g.count >= 4, !s.isEmpty else { return false }
        return g.count == 4 ? s.hasSuffix(g) : (s == g || (g.count >= 11 && s.hasSuffix(g)))
    }

    /// Cancels the orders whose pickup waited longer than `policy.pickupExpiresAfterDays`: the
    /// stock goes back to the shelf and the payment is refunded (the order's own cancel, acting
    /// for the store), the order's timeline and the fulfilment order saying why. Returns how many.
    /// Safe in several processes at once.
    @discardableResult
    public func expirePickups(limit: Int = 100) async throws -> Int {
        let now = clock.instant()
        let due = try await db.read { sql in
            try await sql.raw("""
                SELECT * FROM fulfillment_orders WHERE status = 'ready_for_pickup' AND pickup_expires_at <= \(bind: now.epochMillis)
                ORDER BY pickup_expires_at LIMIT \(literal: limit)
                """).all().map(FulfillmentRows.decode)
        }
        var n = 0
        for f in due {
            let store = Caller(Principal(id: "system", kind: .system, name: "pickup expiry", role: .hqAdmin,
                                         scope: .location(f.locationId, organisation: f.organisationId)))
            do {
                _ = try await orders.cancel(f.orderId, reason: "pickup expired: not collected within \(policy.pickupExpiresAfterDays) day(s)", caller: store)
                n += 1
            } catch let p as Problem where p.status == 409 || p.status == 404 {
                continue  // collected or cancelled meanwhile
            }
        }
        return n
    }
}
