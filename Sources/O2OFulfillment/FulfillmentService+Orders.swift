import Foundation
import O2OCore
import O2ONetwork
import O2OOrders
import SQLKit

// MARK: - Fulfilment orders: accept or reject, pick, pack, send out; the order follows

extension FulfillmentService {
    public struct FulfillmentFilter: Sendable {
        /// Id or code.
        public var location: String?
        public var status: FulfillmentStatus?
        public var orderId: String?
        public var limit = 50
        public var cursor: String?
        public init(location: String? = nil, status: FulfillmentStatus? = nil) {
            self.location = location
            self.status = status
        }
    }

    /// Newest first, within the caller's scope (a store's staff see their store's only).
    public func fulfillmentOrders(_ f: FulfillmentFilter, scope: Scope) async throws -> Page<FulfillmentOrder> {
        var v = Validator()
        v.range(f.limit, "limit", 1...200)
        try v.finish()
        var q: SQLQueryString = "SELECT * FROM fulfillment_orders WHERE 1=1"
        if let ref = f.location {
            guard let l = try? await network.location(ref, scope: .all) else { throw Problem.validation([.init("location", "no location '\(ref)'")]) }
            guard scope.allows(organisationId: l.organisationId, locationId: l.id) else { return Page(items: [], nextCursor: nil) }
            q += " AND location_id = \(bind: l.id)"
        }
        if let s = f.status { q += " AND status = \(bind: s.rawValue)" }
        if let o = f.orderId { q += " AND order_id = \(bind: o)" }
        switch scope.level {
        case .all: break
        case .organisation: q += " AND organisation_id = \(bind: scope.organisationId ?? "")"
        case .location: q += " AND location_id = \(bind: scope.locationId ?? "")"
        }
        return try await db.page(q, limit: f.limit, cursor: f.cursor, order: .newestFirst, map: FulfillmentRows.decode, id: \.id)
    }

    public func fulfillmentOrder(_ id: String, scope: Scope) async throws -> FulfillmentOrder {
        guard let f = try await db.read({ try await FulfillmentRows.one(id, $0, lock: false) }),
              scope.allows(organisationId: f.organisationId, locationId: f.locationId) else {
            throw Problem.notFound("fulfillment order", id)
        }
        return f
    }

    /// The location takes the work on. 404 outside the caller's scope; 409 unless assigned.
    public func accept(_ id: String, caller: Caller) async throws -> FulfillmentOrder {
        try await db.write { tx in
            var f = try await self.locked(id, caller: caller, tx)
            let before = f
            guard f.status == .assigned else { throw Self.invalid(f, to: FulfillmentStatus.accepted.rawValue) }
            self.sync.move(&f, to: .accepted, order: nil, now: self.clock.instant())
            try await self.sync.save(&f, before: before, action: "accept", event: "fulfillment.accepted", caller: caller, tx)
            return f
        }
    }

    /// The location hands the work back: the lines go back to routing (the order's own reject),
    /// which tries another location; the order is released there again when it was released and
    /// nothing holds it. A pickup's store was chosen by the customer, so its lines go on a
    /// routing hold instead. 404 outside scope; 409 once picked; 422 for `other` without a note.
    public func reject(_ id: String, reason: FulfillmentRejectReason, note: String?, caller: Caller) async throws -> FulfillmentOrder {
        var v = Validator()
        v.check(reason != .rerouted, "reason", "rerouted is set by routing, not given")
        v.text(note, "note", required: reason == .other, max: 300)
        try v.finish()
        return try await db.write { tx in
            var f = try await self.locked(id, caller: caller, tx)
            let before = f
            guard f.status.next.contains(.rejected) else { throw Self.invalid(f, to: FulfillmentStatus.rejected.rawValue) }
            self.sync.move(&f, to: .rejected, order: nil, now: self.clock.instant())
            f.reason = reason.rawValue
            f.note = note
            try await self.sync.save(&f, before: before, action: "reject", event: "fulfillment.rejected", caller: caller, tx)
            let why: RejectReason = switch reason {
            case .outOfStock: .outOfStock
            case .damaged: .damaged
            case .other, .slaExpired, .rerouted: .other
            }
            let said = reason == .slaExpired ? "sla_expired: not accepted within the location's SLA" + (note.map { "; " + $0 } ?? "") : note
            let o = try await self.orders.reject(f.orderId, location: f.locationId, reason: why, note: said, caller: caller)
            if o.status == .allocated, o.holds.isEmpty, [.paid, .codDue, .partiallyRefunded].contains(o.paymentStatus) {
                // The rejecting location may no longer see the order: routing releases it, on the rejection's request.
                _ = try await self.orders.advance(o.id, to: .released, note: "released again after \(reason.rawValue) at its first location",
                                                  caller: Caller(.system, requestId: caller.requestId))
            }
            return f
        }
    }

    /// Moves the work on: picking, packed, then shipped (carrier), out for delivery (the store's
    /// own courier) or ready for pickup, then delivered. The order moves with it once every one
    /// of its fulfilment orders has. A pickup is handed over only at `/pickups/verify` (422 here).
    public func transition(_ id: String, to next: FulfillmentStatus, note: String?, caller: Caller) async throws -> FulfillmentOrder {
        var v = Validator()
        v.check(![.accepted, .rejected, .assigned, .cancelled].contains(next), "to", "accept, reject and cancel have their own operations")
        v.check(next != .pickedUp, "to", "a pickup is handed over by verifying its code at /pickups/verify")
        v.text(note, "note", required: false, max: 300)
        try v.finish()
        return try await db.write { tx in
            var f = try await self.locked(id, caller: caller, tx)
            let before = f
            guard f.status.next.contains(next) else { throw Self.invalid(f, to: next.rawValue) }
            let pickup = f.method == .pickup || f.mode == .pickup
            if next == .readyForPickup && !pickup || (next == .shipped || next == .outForDelivery) && pickup {
                throw Self.refused(f, "its lines are for \(pickup ? "pickup" : f.mode?.rawValue ?? f.method.rawValue)")
            }
            if next == .outForDelivery && f.mode != .storeDelivery { throw Self.refused(f, "only the store's own deliveries go out for delivery; ship it") }
            let order = try await self.orders.order(f.orderId, scope: .all)
            self.sync.move(&f, to: next, order: order, now: self.clock.instant())
            if let note { f.note = note }
            try await self.sync.save(&f, before: before, action: next.rawValue, event: self.sync.event(f), caller: caller, tx)
            try await self.advanceOrder(f.orderId, caller: caller, pickupCode: nil, tx)
            return f
        }
    }

    /// Escalates fulfilment orders not accepted in time (`fulfillment.sla_breached`, once each)
    /// and rejects those past the second limit with reason `sla_expired`, so routing tries
    /// elsewhere. Returns how many of each. Safe in several processes at once.
    @discardableResult
    public func enforceSLA(limit: Int = 100) async throws -> (escalated: Int, rejected: Int) {
        let now = clock.instant()
        let escalated = try await db.write { tx in
            let rows = try await tx.sql.raw("""
                UPDATE fulfillment_orders SET escalated_at = \(bind: now.epochMillis), updated_at = \(bind: now.epochMillis), version = version + 1
                WHERE id IN (SELECT id FROM fulfillment_orders WHERE status = 'assigned' AND escalated_at IS NULL AND accept_by <= \(bind: now.epochMillis)
                             ORDER BY accept_by LIMIT \(literal: limit))
                  AND status = 'assigned' AND escalated_at IS NULL
                RETURNING *
                """).all().map(FulfillmentRows.decode)
            for f in rows {
                var before = f
                before.escalatedAt = nil
                before.version -= 1
                try await self.recorder.record(tx, caller: .system, action: "sla_breached", entityType: "fulfillment_order", entityId: f.id,
                                               before: before, after: f, organisationId: f.organisationId, locationId: f.locationId,
                                               event: "fulfillment.sla_breached")
            }
            return rows.count
        }
        let due = try await db.read { sql in
            try await sql.raw("""
                SELECT id FROM fulfillment_orders WHERE status = 'assigned' AND reject_at <= \(bind: now.epochMillis) ORDER BY reject_at LIMIT \(literal: limit)
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var rejected = 0
        for id in due {
            do {
                _ = try await reject(id, reason: .slaExpired, note: nil, caller: .system)
                rejected += 1
            } catch let p as Problem where p.status == 409 || p.status == 404 {
                continue  // accepted or closed meanwhile
            }
        }
        return (escalated, rejected)
    }

    // MARK: Helpers

    /// Brings the order up to where all its fulfilment orders are, a step at a time (released →
    /// picking → shipped or ready for pickup → delivered or picked up). Nothing while the order
    /// waits to be released again (allocated) or is already there.
    func advanceOrder(_ orderId: String, caller: Caller, pickupCode: String?, _ tx: Transaction) async throws {
        let all = try await FulfillmentRows.forOrder(orderId, tx.sql, lock: false)
        guard let target = all.compactMap(\.status.rank).min() else { return }
        var o = try await orders.order(orderId, scope: .all)
        let pickup = o.lines.first?.method == .pickup
        while let rank = FulfillmentSync.rank(o.status), rank < target, ![.completed, .settled].contains(o.status) {
            let next: OrderStatus = switch rank {
            case 0: .picking
            case 1: pickup ? .readyForPickup : .shipped
            default: pickup ? .pickedUp : .delivered
            }
            o = try await orders.advance(orderId, to: next, pickupCode: next == .pickedUp ? (pickupCode ?? o.pickupCode) : nil, caller: caller)
        }
    }

    func locked(_ id: String, caller: Caller, _ tx: Transaction) async throws -> FulfillmentOrder {
        guard let f = try await FulfillmentRows.one(id, tx.sql, lock: tx.engine == .postgres),
              caller.principal.scope.allows(organisationId: f.organisationId, locationId: f.locationId) else {
            throw Problem.notFound("fulfillment order", id)
        }
        return f
    }

    static func invalid(_ f: FulfillmentOrder, to: String) -> Problem {
        var p = Problem.conflict("Fulfillment order \(f.id) is \(f.status.rawValue) and cannot become \(to); it may become: "
                                 + (f.status.next.isEmpty ? "nothing (final)" : f.status.next.map(\.rawValue).joined(separator: ", ")) + ".",
                                 kind: "invalid-transition")
        p.allowed = f.status.next.map(\.rawValue)
        return p
    }

    static func refused(_ f: FulfillmentOrder, _ why: String) -> Problem {
        var p = Problem.conflict("Fulfillment order \(f.id) cannot move on: \(why).", kind: "invalid-transition")
        p.allowed = f.status.next.map(\.rawValue)
        return p
    }
}
