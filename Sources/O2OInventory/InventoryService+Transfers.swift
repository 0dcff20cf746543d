import Foundation
import O2OCore
import SQLKit

// MARK: - Transfers (调拨): requested (held at the source) → shipped (in transit) → received

public enum TransferStatus: String, Codable, Sendable, CaseIterable {
    case requested, shipped, received, cancelled

    /// What may follow each state.
    var next: [String] {
        switch self {
        case .requested: return ["ship", "cancel"]
        case .shipped: return ["receive"]
        case .received, .cancelled: return []
        }
    }
}

public struct TransferLine: Codable, Sendable, Equatable {
    public var line: Int
    public var skuId: String
    public var quantity: Int
    /// Counted in at the destination; nil until received.
    public var received: Int?
    /// received − quantity: negative when units went missing on the way.
    public var discrepancy: Int? { received.map { $0 - quantity } }
}

public struct Transfer: Codable, Sendable, Equatable {
    public var id: String
    public var fromLocationId: String
    public var toLocationId: String
    public var status: TransferStatus
    public var reason: String?
    public var referenceType: String?
    public var referenceId: String?
    public var lines: [TransferLine]
    public var version: Int
    public var createdAt: Date
    public var shippedAt: Date?
    public var receivedAt: Date?
    public var updatedAt: Date
}

extension InventoryService {
    public struct NewTransfer: Sendable {
        public var from: String
        public var to: String
        public var reason: String?
        public var referenceType: String?
        public var referenceId: String?
        public var lines: [MovementLine]
        public init(from: String, to: String, reason: String? = nil, referenceType: String? = nil, referenceId: String? = nil,
                    lines: [MovementLine]) {
            self.from = from
            self.to = to
            self.reason = reason
            self.referenceType = referenceType
            self.referenceId = referenceId
            self.lines = lines
        }
    }

    /// Requests a transfer; the quantities are held at the source at once (all lines or none).
    public func requestTransfer(_ new: NewTransfer, caller: Caller) async throws -> Transfer {
        var v = Validator()
        Self.validateLines(new.lines.map { ($0.sku, $0.quantity) }, signed: false, &v)
        v.text(new.reason, "reason", required: false, max: 500)
        v.text(new.referenceType, "reference.type", required: false, max: 40)
        v.text(new.referenceId, "reference.id", required: false, max: 100)
        try v.finish()
        let scope = caller.principal.scope
        guard let from = try await locations.find(new.from) else { throw Problem.validation([.init("fromLocationId", "no location '\(new.from)'")]) }
        guard let to = try await locations.find(new.to) else { throw Problem.validation([.init("toLocationId", "no location '\(new.to)'")]) }
        var lv = Validator()
        if from.id == to.id { lv.add("toLocationId", "must differ from fromLocationId") }
        if !scope.allows(organisationId: from.organisationId, locationId: from.id) && !scope.allows(organisationId: to.organisationId, locationId: to.id) {
            lv.add("fromLocationId", "neither end of the transfer is in your scope")
        }
        if !to.active { lv.add("toLocationId", "\(to.code) is inactive") }
        try lv.finish()
        let skus = try await skuIds(new.lines.map(\.sku))
        let now = clock.instant()
        let id = O2OID.make("trf", at: now)
        let transfer = Transfer(id: id, fromLocationId: from.id, toLocationId: to.id, status: .requested, reason: new.reason,
                                referenceType: new.referenceType, referenceId: new.referenceId,
                                lines: new.lines.enumerated().map { TransferLine(line: $0, skuId: skus[$1.sku]!, quantity: $1.quantity, received: nil) },
                                version: 1, createdAt: now, shippedAt: nil, receivedAt: nil, updatedAt: now)
        return try await db.write { tx in
            let rules = try await Self.safetyRules(skus: Array(Set(transfer.lines.map(\.skuId))), channel: nil, tx.sql)
            _ = try await apply(transfer.lines.map { l in
                var c = Change(line: l.line, sku: l.skuId, location: from.id, organisation: from.organisationId, kind: .reservation,
                               reason: new.reason, referenceType: "transfer", referenceId: id)
                c.reserved = l.quantity
                c.guarding = .available(safety: Self.safety(rules, sku: l.skuId, location: from.id, channel: nil))
                return c
            }, tx, caller: caller, at: now)
            try await tx.sql.raw("""
                INSERT INTO inventory_transfers (id, from_location_id, to_location_id, from_organisation_id, to_organisation_id, status, reason,
                    reference_type, reference_id, version, created_at, updated_at)
                VALUES (\(bind: id), \(bind: from.id), \(bind: to.id), \(bind: from.organisationId), \(bind: to.organisationId), 'requested',
                        \(bind: new.reason), \(bind: new.referenceType), \(bind: new.referenceId), 1, \(bind: now.epochMillis), \(bind: now.epochMillis))
                """).run()
            var q: SQLQueryString = "INSERT INTO inventory_transfer_lines (transfer_id, line, sku_id, quantity, received) VALUES "
            for (i, l) in transfer.lines.enumerated() {
                q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: id), \(bind: l.line), \(bind: l.skuId), \(bind: l.quantity), NULL)"
            }
            try await tx.sql.raw(q).run()
            try await recorder.record(tx, caller: caller, action: "request", entityType: "transfer", entityId: id, before: Transfer?.none,
                                      after: transfer, organisationId: from.organisationId, locationId: from.id, event: "inventory.transfer_requested")
            return transfer
        }
    }

    /// The source ships: its held units leave on hand and arrive in the destination's in-transit.
    public func shipTransfer(_ id: String, caller: Caller) async throws -> Transfer {
        try await advance(id, action: "ship", caller: caller) { t, from, to, now in
            var changes: [Change] = []
            for l in t.lines {
                var out = Change(line: l.line, sku: l.skuId, location: from.id, organisation: from.organisationId, kind: .transferOut,
                                 reason: t.reason, referenceType: "transfer", referenceId: t.id)
                out.onHand = -l.quantity
                out.reserved = -l.quantity
                out.guarding = .buckets
                var inbound = Change(line: l.line, sku: l.skuId, location: to.id, organisation: to.organisationId, kind: .transferIn,
                                     reason: "announced", referenceType: "transfer", referenceId: t.id)
                inbound.inTransit = l.quantity
                changes += [out, inbound]
            }
            var after = t
            after.status = .shipped
            after.shippedAt = now
            return (changes, after)
        }
    }

    /// The destination counts the goods in; what did not arrive is recorded as the line's discrepancy.
    public func receiveTransfer(_ id: String, received: [(line: Int, quantity: Int)]? = nil, caller: Caller) async throws -> Transfer {
        var v = Validator()
        for (i, r) in (received ?? []).enumerated() { v.range(r.quantity, "lines[\(i)].quantity", 0...Self.maxQuantity) }
        try v.finish()
        return try await advance(id, action: "receive", caller: caller) { t, _, to, now in
            var counted: [Int: Int] = [:]
            var lv = Validator()
            for (i, r) in (received ?? []).enumerated() {
                if !t.lines.contains(where: { $0.line == r.line }) { lv.add("lines[\(i)].line", "no line \(r.line)") }
                if counted.updateValue(r.quantity, forKey: r.line) != nil { lv.add("lines[\(i)].line", "line \(r.line) is given twice") }
            }
            try lv.finish()
            var after = t
            var changes: [Change] = []
            for (i, l) in t.lines.enumerated() {
                let got = counted[l.line] ?? l.quantity
                after.lines[i].received = got
                var c = Change(line: l.line, sku: l.skuId, location: to.id, organisation: to.organisationId, kind: .transferIn,
                               reason: got == l.quantity ? "received" : "received \(got) of \(l.quantity)", referenceType: "transfer",
                               referenceId: t.id)
                c.inTransit = -l.quantity
                c.onHand = got
                c.guarding = .buckets
                changes.append(c)
            }
            after.status = .received
            after.receivedAt = now
            return (changes, after)
        }
    }

    /// Cancels a transfer not yet shipped and gives the held units back to the source.
    public func cancelTransfer(_ id: String, caller: Caller) async throws -> Transfer {
        try await advance(id, action: "cancel", caller: caller) { t, from, _, _ in
            let changes = t.lines.map { l in
                var c = Change(line: l.line, sku: l.skuId, location: from.id, organisation: from.organisationId, kind: .release,
                               reason: "transfer cancelled", referenceType: "transfer", referenceId: t.id)
                c.reserved = -l.quantity
                c.guarding = .buckets
                return c
            }
            var after = t
            after.status = .cancelled
            return (changes, after)
        }
    }

    /// One step of a transfer: the guard on its state and on the caller's end, the movements, the
    /// new state, the audit row and the event, in one transaction.
    private func advance(_ id: String, action: String, caller: Caller,
                         _ step: @escaping @Sendable (Transfer, StockLocation, StockLocation, Date) throws -> ([Change], Transfer)) async throws -> Transfer {
        let byId = try await locations.byId()
        let now = clock.instant()
        let scope = caller.principal.scope
        return try await db.write { tx in
            guard let before = try await Self.transfer(id, tx.sql, lock: tx.engine == .postgres),
                  let from = byId[before.fromLocationId], let to = byId[before.toLocationId],
                  Self.visible(before, byId, scope) else { throw Problem.notFound("transfer", id) }
            // The source ships or cancels, the destination receives.
            let end = action == "receive" ? to : from
            guard scope.allows(organisationId: end.organisationId, locationId: end.id) else {
                throw Problem.conflict("Only \(end.code), the \(action == "receive" ? "destination" : "source"), can \(action) this transfer.",
                                       kind: "wrong-end")
            }
            guard before.status.next.contains(action) else {
                var p = Problem.conflict("Transfer \(id) is \(before.status.rawValue); it cannot \(action).", kind: "invalid-transition")
                p.allowed = before.status.next
                throw p
            }
            let (changes, stepped) = try step(before, from, to, now)
            var after = stepped
            _ = try await apply(changes, tx, caller: caller, at: now)
            after.version = before.version + 1
            after.updatedAt = now
            try await tx.sql.raw("""
                UPDATE inventory_transfers SET status = \(bind: after.status.rawValue), version = \(bind: after.version),
                    shipped_at = \(bind: after.shippedAt?.epochMillis), received_at = \(bind: after.receivedAt?.epochMillis),
                    updated_at = \(bind: now.epochMillis) WHERE id = \(bind: id)
                """).run()
            for l in after.lines where l.received != nil {
                try await tx.sql.raw("""
                    UPDATE inventory_transfer_lines SET received = \(bind: l.received) WHERE transfer_id = \(bind: id) AND line = \(bind: l.line)
                    """).run()
            }
            try await recorder.record(tx, caller: caller, action: action, entityType: "transfer", entityId: id, before: before, after: after,
                                      organisationId: end.organisationId, locationId: end.id, event: "inventory.transfer_" + after.status.rawValue)
            return after
        }
    }

    public func transfer(_ id: String, scope: Scope) async throws -> Transfer {
        let byId = try await locations.byId()
        guard let t = try await db.read({ try await Self.transfer(id, $0, lock: false) }), Self.visible(t, byId, scope) else {
            throw Problem.notFound("transfer", id)
        }
        return t
    }

    /// Transfers from or to a location (or all in scope), newest first.
    public func transfers(location: String?, status: TransferStatus?, limit: Int, cursor: String?, scope: Scope) async throws -> Page<Transfer> {
        var q: SQLQueryString = "SELECT id FROM inventory_transfers WHERE 1=1"
        if let location {
            guard let l = try await locations.find(location) else { return Page(items: [], nextCursor: nil) }
            q += " AND (from_location_id = \(bind: l.id) OR to_location_id = \(bind: l.id))"
        }
        if let status { q += " AND status = \(bind: status.rawValue)" }
        switch scope.level {
        case .all: break
        case .organisation:
            q += " AND (from_organisation_id = \(bind: scope.organisationId ?? "") OR to_organisation_id = \(bind: scope.organisationId ?? ""))"
        case .location:
            q += " AND (from_location_id = \(bind: scope.locationId ?? "") OR to_location_id = \(bind: scope.locationId ?? ""))"
        }
        let page = try await db.page(q, limit: limit, cursor: cursor, order: .newestFirst, map: { try $0.decode(column: "id", as: String.self) }, id: { $0 })
        var items: [Transfer] = []
        for id in page.items { if let t = try await db.read({ try await Self.transfer(id, $0, lock: false) }) { items.append(t) } }
        return Page(items: items, nextCursor: page.nextCursor)
    }

    static func visible(_ t: Transfer, _ byId: [String: StockLocation], _ scope: Scope) -> Bool {
        [t.fromLocationId, t.toLocationId].contains { id in byId[id].map { scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false }
    }

    static func transfer(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Transfer? {
        guard let r = try await sql.raw("SELECT * FROM inventory_transfers WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first()
        else { return nil }
        let lines = try await sql.raw("SELECT * FROM inventory_transfer_lines WHERE transfer_id = \(bind: id) ORDER BY line").all().map { l in
            TransferLine(line: try l.decode(column: "line", as: Int.self), skuId: try l.decode(column: "sku_id", as: String.self),
                         quantity: try l.decode(column: "quantity", as: Int.self), received: try l.decode(column: "received", as: Int?.self))
        }
        return Transfer(
            id: id, fromLocationId: try r.decode(column: "from_location_id", as: String.self),
            toLocationId: try r.decode(column: "to_location_id", as: String.self),
            status: TransferStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .requested,
            reason: try r.decode(column: "reason", as: String?.self), referenceType: try r.decode(column: "reference_type", as: String?.self),
            referenceId: try r.decode(column: "reference_id", as: String?.self), lines: lines, version: try r.decode(column: "version", as: Int.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            shippedAt: try r.decode(column: "shipped_at", as: Int64?.self).map(Date.init(epochMillis:)),
            receivedAt: try r.decode(column: "received_at", as: Int64?.self).map(Date.init(epochMillis:)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }
}
