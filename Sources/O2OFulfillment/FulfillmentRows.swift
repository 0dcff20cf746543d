import Foundation
import O2OCore
import O2ONetwork
import O2OOrders
import SQLKit

/// The SQL of fulfilment orders.
enum FulfillmentRows {
    static func insert(_ f: FulfillmentOrder, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO fulfillment_orders (id, order_id, location_id, organisation_id, location_kind, method, mode, status, lines, accept_by, reject_at,
                escalated_at, accepted_at, reason, note, ready_at, pickup_code, pickup_phone, pickup_expires_at, handover, closed_at, version,
                created_at, updated_at)
            VALUES (\(bind: f.id), \(bind: f.orderId), \(bind: f.locationId), \(bind: f.organisationId), \(bind: f.locationKind.rawValue),
                    \(bind: f.method.rawValue), \(bind: f.mode?.rawValue), \(bind: f.status.rawValue), \(bind: JSONCoding.string(f.lines)),
                    \(bind: f.acceptBy.epochMillis), \(bind: f.rejectAt.epochMillis), \(bind: f.escalatedAt?.epochMillis), \(bind: f.acceptedAt?.epochMillis),
                    \(bind: f.reason), \(bind: f.note), \(bind: f.readyAt?.epochMillis), \(bind: f.pickupCode), \(bind: f.pickupPhone),
                    \(bind: f.pickupExpiresAt?.epochMillis), \(bind: f.handover.map { JSONCoding.string($0) }), \(bind: f.closedAt?.epochMillis),
                    \(bind: f.version), \(bind: f.createdAt.epochMillis), \(bind: f.updatedAt.epochMillis))
            """).run()
    }

    static func update(_ f: FulfillmentOrder, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE fulfillment_orders SET status = \(bind: f.status.rawValue), escalated_at = \(bind: f.escalatedAt?.epochMillis),
                accepted_at = \(bind: f.acceptedAt?.epochMillis), reason = \(bind: f.reason), note = \(bind: f.note), ready_at = \(bind: f.readyAt?.epochMillis),
                pickup_code = \(bind: f.pickupCode), pickup_phone = \(bind: f.pickupPhone), pickup_expires_at = \(bind: f.pickupExpiresAt?.epochMillis),
                handover = \(bind: f.handover.map { JSONCoding.string($0) }), closed_at = \(bind: f.closedAt?.epochMillis), version = \(bind: f.version),
                updated_at = \(bind: f.updatedAt.epochMillis)
            WHERE id = \(bind: f.id)
            """).run()
    }

    static func one(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> FulfillmentOrder? {
        try await sql.raw("SELECT * FROM fulfillment_orders WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first().map(decode)
    }

    static func forOrder(_ orderId: String, _ sql: any SQLDatabase, lock: Bool) async throws -> [FulfillmentOrder] {
        try await sql.raw("SELECT * FROM fulfillment_orders WHERE order_id = \(bind: orderId) ORDER BY id\(unsafeRaw: lock ? " FOR UPDATE" : "")")
            .all().map(decode)
    }

    static func decode(_ r: any SQLRow) throws -> FulfillmentOrder {
        let time = { (c: String) throws -> Date? in try r.decode(column: c, as: Int64?.self).map(Date.init(epochMillis:)) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let lines = try decoder.decode([FulfillmentLine].self, from: Data(try r.decode(column: "lines", as: String.self).utf8))
        let handover = try r.decode(column: "handover", as: String?.self).map { try decoder.decode(PickupHandover.self, from: Data($0.utf8)) }
        return FulfillmentOrder(
            id: try r.decode(column: "id", as: String.self), orderId: try r.decode(column: "order_id", as: String.self),
            locationId: try r.decode(column: "location_id", as: String.self), organisationId: try r.decode(column: "organisation_id", as: String.self),
            locationKind: LocationKind(rawValue: try r.decode(column: "location_kind", as: String.self)) ?? .store,
            method: FulfilmentMethod(rawValue: try r.decode(column: "method", as: String.self)) ?? .delivery,
            mode: try r.decode(column: "mode", as: String?.self).flatMap(SourcingMode.init(rawValue:)),
            status: FulfillmentStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .assigned, lines: lines,
            acceptBy: try time("accept_by")!, rejectAt: try time("reject_at")!, escalatedAt: try time("escalated_at"), acceptedAt: try time("accepted_at"),
            reason: try r.decode(column: "reason", as: String?.self), note: try r.decode(column: "note", as: String?.self), readyAt: try time("ready_at"),
            pickupCode: try r.decode(column: "pickup_code", as: String?.self), pickupPhone: try r.decode(column: "pickup_phone", as: String?.self),
            pickupExpiresAt: try time("pickup_expires_at"), handover: handover, closedAt: try time("closed_at"),
            version: try r.decode(column: "version", as: Int.self), createdAt: try time("created_at")!, updatedAt: try time("updated_at")!)
    }
}

/// Keeps fulfilment orders in step with their order, in the order's own transaction: an order
/// released to its locations gets one fulfilment order per location (with the location's SLA);
/// lines routed away close the fulfilment order there; a cancelled order cancels them; an order
/// moved on by other means (a delivery route, the orders API) moves them on too.
struct FulfillmentSync: OrderObserver {
    let network: NetworkService
    let recorder: ChangeRecorder
    let clock: any O2OClock
    let policy: FulfillmentPolicy

    func orderChanged(before: Order, after: Order, caller: Caller, _ tx: Transaction) async throws {
        let now = clock.instant()
        let all = try await FulfillmentRows.forOrder(after.id, tx.sql, lock: tx.engine == .postgres)
        var open = all.filter(\.status.open)
        if after.status == .cancelled {
            for var f in open {
                let b = f
                move(&f, to: .cancelled, order: after, now: now)
                f.reason = "order_cancelled"
                f.note = after.timeline.last(where: { $0.kind == "cancelled" })?.note
                try await save(&f, before: b, action: "cancel", event: "fulfillment.cancelled", caller: caller, tx)
            }
            return
        }
        let sites = Set(after.lines.filter { $0.quantity > $0.cancelled }.compactMap(\.locationId))
        for var f in open where !sites.contains(f.locationId) {
            let b = f
            move(&f, to: .rejected, order: after, now: now)
            f.reason = FulfillmentRejectReason.rerouted.rawValue
            f.note = "routing moved the lines elsewhere"
            try await save(&f, before: b, action: "reject", event: "fulfillment.rejected", caller: caller, tx)
        }
        open.removeAll { !sites.contains($0.locationId) }
        if after.status == .released && before.status != .released {
            let covered = Set(all.filter { $0.status.rank != nil }.map(\.locationId))
            for site in sites.sorted() where !covered.contains(site) {
                let f = try await assign(after, at: site, now: now)
                try await FulfillmentRows.insert(f, tx)
                try await recorder.record(tx, caller: caller, action: "assign", entityType: "fulfillment_order", entityId: f.id,
                                          before: FulfillmentOrder?.none, after: f, organisationId: f.organisationId, locationId: f.locationId,
                                          event: "fulfillment.assigned")
            }
        }
        // Moved on by other means: the fulfilment orders follow.
        guard let rank = Self.rank(after.status) else { return }
        for var f in open where (f.status.rank ?? 0) < rank {
            let b = f
            move(&f, to: Self.status(rank: rank, f), order: after, now: now)
            try await save(&f, before: b, action: f.status.rawValue, event: event(f), caller: caller, tx)
        }
    }

    func event(_ f: FulfillmentOrder) -> String {
        switch f.status {
        case .accepted: "fulfillment.accepted"
        case .rejected: "fulfillment.rejected"
        case .cancelled: "fulfillment.cancelled"
        case .pickedUp: "fulfillment.picked_up"
        default: "fulfillment.status_changed"
        }
    }

    /// The order's status as a rank (see `FulfillmentStatus.rank`); nil before release or when final.
    static func rank(_ s: OrderStatus) -> Int? {
        switch s {
        case .released: 0
        case .picking: 1
        case .shipped, .readyForPickup: 2
        case .delivered, .pickedUp, .completed, .settled: 3
        case .placed, .allocated, .cancelled: nil
        }
    }

    /// The fulfilment status of a rank, by how the location sends the lines.
    static func status(rank: Int, _ f: FulfillmentOrder) -> FulfillmentStatus {
        let pickup = f.method == .pickup || f.mode == .pickup
        switch rank {
        case 0: return .assigned
        case 1: return .picking
        case 2: return pickup ? .readyForPickup : f.mode == .storeDelivery ? .outForDelivery : .shipped
        default: return pickup ? .pickedUp : .delivered
        }
    }

    func assign(_ o: Order, at site: String, now: Date) async throws -> FulfillmentOrder {
        let location = try await network.location(site, scope: .all)
        let lines = o.lines.filter { $0.locationId == site && $0.quantity > $0.cancelled }
        let limits = policy.limits(location.kind)
        return FulfillmentOrder(
            id: O2OID.make("ful", at: now), orderId: o.id, locationId: site, organisationId: location.organisationId, locationKind: location.kind,
            method: lines.first?.method ?? .delivery, mode: lines.first?.mode, status: .assigned,
            lines: lines.map { FulfillmentLine(line: $0.line, skuId: $0.skuId, skuCode: $0.skuCode, quantity: $0.quantity - $0.cancelled) },
            acceptBy: now.addingTimeInterval(Double(limits.acceptWithin)), rejectAt: now.addingTimeInterval(Double(limits.rejectAfter)),
            escalatedAt: nil, acceptedAt: nil, reason: nil, note: nil, readyAt: nil, pickupCode: nil, pickupPhone: nil, pickupExpiresAt: nil,
            handover: nil, closedAt: nil, version: 1, createdAt: now, updatedAt: now)
    }

    /// Sets the status and what reaching it means: the acceptance time, a pickup's code, phone
    /// and expiry, the close time.
    func move(_ f: inout FulfillmentOrder, to next: FulfillmentStatus, order: Order?, now: Date) {
        f.status = next
        if next.rank.map({ $0 >= 0 }) == true, next != .assigned, f.acceptedAt == nil { f.acceptedAt = now }
        if next == .readyForPickup {
            f.readyAt = now
            f.pickupCode = order?.pickupCode
            f.pickupPhone = order?.contactPhone ?? order?.address?.phone
            f.pickupExpiresAt = now.addingTimeInterval(Double(policy.pickupExpiresAfterDays) * 86_400)
        }
        if !next.open { f.closedAt = now }
        f.updatedAt = now
    }

    /// Writes a changed fulfilment order, its audit row and event; a pickup that became ready
    /// also sends the customer its notice with the code.
    func save(_ f: inout FulfillmentOrder, before: FulfillmentOrder, action: String, event: String, caller: Caller, _ tx: Transaction) async throws {
        f.version = before.version + 1
        try await FulfillmentRows.update(f, tx)
        try await recorder.record(tx, caller: caller, action: action, entityType: "fulfillment_order", entityId: f.id, before: before, after: f,
                                  organisationId: f.organisationId, locationId: f.locationId, event: event)
        if f.status == .readyForPickup && before.status != .readyForPickup {
            try await Outbox.enqueue(tx, DomainEvent(type: "fulfillment.pickup_ready", entityType: "fulfillment_order", entityId: f.id,
                                                     payload: JSONCoding.string(try await PickupNotice(f, network: network)),
                                                     organisationId: f.organisationId, locationId: f.locationId), at: clock.instant())
        }
    }
}

/// What the customer is told when a pickup is ready (the notification channel sends it on).
public struct PickupNotice: Codable, Sendable, Equatable {
    public var fulfillmentOrderId: String
    public var orderId: String
    public var locationId: String
    public var storeName: String
    public var storeAddress: String
    public var phone: String?
    public var pickupCode: String?
    public var expiresAt: Date?
    public var message: String

    init(_ f: FulfillmentOrder, network: NetworkService) async throws {
        let store = try await network.location(f.locationId, scope: .all)
        fulfillmentOrderId = f.id
        orderId = f.orderId
        locationId = f.locationId
        storeName = store.name
        storeAddress = store.address.line1
        phone = f.pickupPhone
        pickupCode = f.pickupCode
        expiresAt = f.pickupExpiresAt
        let until = f.pickupExpiresAt.map { ISO8601DateFormatter().string(from: $0) } ?? ""
        message = "您的订单 \(f.orderId) 已可在 \(store.name)（\(store.address.line1)）自提，取货码 \(f.pickupCode ?? "—")，请于 \(until) 前取货。"
            + " Your order \(f.orderId) is ready for pickup at \(store.name); pickup code \(f.pickupCode ?? "—"), until \(until)."
    }
}
