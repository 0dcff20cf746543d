import Foundation
import O2OCore
import SQLKit

// MARK: - Counts (盘点) and store-system snapshots: what was there at a time, reconciled

public enum CountKind: String, Codable, Sendable, CaseIterable {
    /// Every SKU at the location; those not counted were not there.
    case full
    /// Some SKUs (a cycle count); others are left alone.
    case cycle
    /// A store system's (POS/ERP) absolute quantities as of a time.
    case snapshot
}

public struct CountLine: Codable, Sendable, Equatable {
    public var skuId: String
    public var counted: Int
    /// What the ledger said was on hand at `countedAt`.
    public var expected: Int
    /// counted − expected, posted as a `count_variance` movement when not zero.
    public var variance: Int
}

public struct StockCount: Codable, Sendable, Equatable {
    public var id: String
    public var locationId: String
    public var kind: CountKind
    public var countedAt: Date
    public var source: String?
    public var lines: [CountLine]
    public var postedAt: Date
}

extension InventoryService {
    public struct NewCount: Sendable {
        public var location: String
        public var kind: CountKind
        /// When the quantities were true; movements after it are kept on top. Default now.
        public var countedAt: Date?
        public var source: String?
        public var lines: [MovementLine]
        public init(location: String, kind: CountKind, countedAt: Date? = nil, source: String? = nil, lines: [MovementLine]) {
            self.location = location
            self.kind = kind
            self.countedAt = countedAt
            self.source = source
            self.lines = lines
        }
    }

    /// How far back a count or snapshot may reconcile, and how far ahead of our clock it may be.
    static let countWindow: TimeInterval = 30 * 86_400
    static let clockSkew: TimeInterval = 300

    /// Posts a count or a snapshot: for each SKU, what the ledger says was on hand at `countedAt`
    /// is compared with what was counted, and the difference is posted now as a `count_variance`
    /// movement. Movements after `countedAt` are never undone, so an old snapshot cannot erase
    /// sales or receipts it did not know of.
    public func count(_ new: NewCount, caller: Caller) async throws -> StockCount {
        var v = Validator()
        let now = clock.instant()
        let at = new.countedAt.map { Date(epochMillis: $0.epochMillis) } ?? now
        if at > now.addingTimeInterval(Self.clockSkew) { v.add("countedAt", "is in the future; counts say what was there, not what will be") }
        if at < now.addingTimeInterval(-Self.countWindow) { v.add("countedAt", "is more than 30 days ago") }
        v.text(new.source, "source", required: false, max: 100)
        if new.lines.isEmpty && new.kind != .full { v.add("lines", "must have at least one line") }
        if new.lines.count > 20_000 { v.add("lines", "must have at most 20,000 lines") }
        for (i, l) in new.lines.enumerated() {
            v.text(l.sku, "lines[\(i)].sku", max: 100)
            v.range(l.quantity, "lines[\(i)].quantity", 0...Self.maxQuantity)
        }
        try v.finish()
        let location = try await stockLocation(new.location, field: "locationId", scope: caller.principal.scope)
        let ids = try await skuIds(new.lines.map(\.sku))
        var byId: [String: Int] = [:]
        var dv = Validator()
        for (i, l) in new.lines.enumerated() {
            let id = ids[l.sku]!
            if byId[id] != nil { dv.add("lines[\(i)].sku", "'\(l.sku)' is counted twice") }
            byId[id] = l.quantity
        }
        try dv.finish()
        let counted = byId
        let id = O2OID.make("cnt", at: now)
        return try await db.write { tx in
            // Lock the rows first so nothing moves between reading the ledger and posting.
            let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
            var q: SQLQueryString = "SELECT sku_id, on_hand FROM inventory_balances WHERE location_id = \(bind: location.id)"
            if new.kind != .full { q += " AND sku_id IN \(SQLQueryString.list(Array(counted.keys)))" }
            q += " ORDER BY sku_id\(unsafeRaw: lock)"
            var onHand: [String: Int] = [:]
            for r in try await tx.sql.raw(q).all() {
                onHand[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "on_hand", as: Int.self)
            }
            if new.kind != .snapshot {
                var nv = Validator()
                for (i, l) in new.lines.enumerated() where onHand[ids[l.sku]!] == nil {
                    nv.add("lines[\(i)].sku", "'\(l.sku)' was never stocked at \(location.code)")
                }
                try nv.finish()
            }
            let skus = new.kind == .full ? Array(Set(onHand.keys).union(counted.keys)).sorted() : Array(counted.keys).sorted()
            let later = try await tx.sql.raw("""
                SELECT sku_id, CAST(SUM(d_on_hand) AS BIGINT) AS moved FROM inventory_movements
                WHERE location_id = \(bind: location.id) AND at > \(bind: at.epochMillis) AND sku_id IN \(SQLQueryString.list(skus))
                GROUP BY sku_id
                """).all()
            var movedSince: [String: Int] = [:]
            for r in later { movedSince[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "moved", as: Int.self) }
            var lines: [CountLine] = []
            var changes: [Change] = []
            for (i, sku) in skus.enumerated() {
                let expected = (onHand[sku] ?? 0) - (movedSince[sku] ?? 0)
                let c = counted[sku] ?? 0
                lines.append(CountLine(skuId: sku, counted: c, expected: expected, variance: c - expected))
                guard c != expected else { continue }
                var change = Change(line: i, sku: sku, location: location.id, organisation: location.organisationId, kind: .countVariance,
                                    reason: "\(new.kind.rawValue) count as of \(at.formatted(.iso8601))", referenceType: "count", referenceId: id)
                change.onHand = c - expected
                change.guarding = c < expected ? .buckets : .none
                changes.append(change)
            }
            _ = try await apply(changes, tx, caller: caller, at: now)
            let count = StockCount(id: id, locationId: location.id, kind: new.kind, countedAt: at, source: new.source, lines: lines, postedAt: now)
            try await tx.sql.raw("""
                INSERT INTO inventory_counts (id, location_id, organisation_id, kind, counted_at, source, posted_at, actor_id)
                VALUES (\(bind: id), \(bind: location.id), \(bind: location.organisationId), \(bind: new.kind.rawValue), \(bind: at.epochMillis),
                        \(bind: new.source), \(bind: now.epochMillis), \(bind: caller.principal.id))
                """).run()
            for start in stride(from: 0, to: lines.count, by: 300) {
                var q: SQLQueryString = "INSERT INTO inventory_count_lines (count_id, sku_id, counted, expected, variance) VALUES "
                for (i, l) in lines[start..<min(start + 300, lines.count)].enumerated() {
                    q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: id), \(bind: l.skuId), \(bind: l.counted), \(bind: l.expected), \(bind: l.variance))"
                }
                try await tx.sql.raw(q).run()
            }
            try await recorder.record(tx, caller: caller, action: "post", entityType: "count", entityId: id, before: StockCount?.none,
                                      after: count, organisationId: location.organisationId, locationId: location.id,
                                      event: "inventory.count_posted")
            return count
        }
    }

    public func stockCount(_ id: String, scope: Scope) async throws -> StockCount {
        let found = try await db.read { sql -> StockCount? in
            guard let r = try await sql.raw("SELECT * FROM inventory_counts WHERE id = \(bind: id)").first() else { return nil }
            let org = try r.decode(column: "organisation_id", as: String.self), loc = try r.decode(column: "location_id", as: String.self)
            guard scope.allows(organisationId: org, locationId: loc) else { return nil }
            let lines = try await sql.raw("SELECT * FROM inventory_count_lines WHERE count_id = \(bind: id) ORDER BY sku_id").all().map { l in
                CountLine(skuId: try l.decode(column: "sku_id", as: String.self), counted: try l.decode(column: "counted", as: Int.self),
                          expected: try l.decode(column: "expected", as: Int.self), variance: try l.decode(column: "variance", as: Int.self))
            }
            return StockCount(id: id, locationId: loc, kind: CountKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .cycle,
                              countedAt: Date(epochMillis: try r.decode(column: "counted_at", as: Int64.self)),
                              source: try r.decode(column: "source", as: String?.self), lines: lines,
                              postedAt: Date(epochMillis: try r.decode(column: "posted_at", as: Int64.self)))
        }
        guard let found else { throw Problem.notFound("count", id) }
        return found
    }

    /// Counts at a location (or all in scope), newest first, without their lines.
    public func stockCounts(location: String?, limit: Int, cursor: String?, scope: Scope) async throws -> Page<StockCount> {
        var q: SQLQueryString = "SELECT * FROM inventory_counts WHERE 1=1"
        if let location {
            guard let l = try await locations.find(location) else { return Page(items: [], nextCursor: nil) }
            q += " AND location_id = \(bind: l.id)"
        }
        q += scope.sqlFilter(organisationColumn: "organisation_id", locationColumn: "location_id")
        return try await db.page(q, limit: limit, cursor: cursor, order: .newestFirst, map: { r in
            StockCount(id: try r.decode(column: "id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
                       kind: CountKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .cycle,
                       countedAt: Date(epochMillis: try r.decode(column: "counted_at", as: Int64.self)),
                       source: try r.decode(column: "source", as: String?.self), lines: [],
                       postedAt: Date(epochMillis: try r.decode(column: "posted_at", as: Int64.self)))
        }, id: \.id)
    }
}

// MARK: - A shelf found empty

extension InventoryService {
    /// Writes off what a location has free of these SKUs — on hand beyond what orders hold — as
    /// one adjustment each: its staff found the shelf empty (an order rejected as out of stock).
    /// Read on the balances as locked now, so units a reservation took meanwhile stay. Joins the
    /// caller's transaction; returns the movements (none when nothing was free).
    public func writeOffFree(location ref: String, skus: [String], reason: String, referenceType: String, referenceId: String,
                             caller: Caller) async throws -> [Movement] {
        let location = try await stockLocation(ref, field: "locationId", scope: caller.principal.scope)
        let now = clock.instant()
        return try await db.write { tx in
            let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
            let rows = try await tx.sql.raw("""
                SELECT sku_id, on_hand, reserved FROM inventory_balances
                WHERE location_id = \(bind: location.id) AND sku_id IN \(SQLQueryString.list(skus)) ORDER BY sku_id\(unsafeRaw: lock)
                """).all()
            var changes: [Change] = []
            for r in rows {
                let free = try r.decode(column: "on_hand", as: Int.self) - r.decode(column: "reserved", as: Int.self)
                guard free > 0 else { continue }
                var c = Change(line: changes.count, sku: try r.decode(column: "sku_id", as: String.self), location: location.id,
                               organisation: location.organisationId, kind: .adjustment, reason: reason, referenceType: referenceType,
                               referenceId: referenceId)
                c.onHand = -free
                c.guarding = .available(safety: 0)
                changes.append(c)
            }
            guard !changes.isEmpty else { return [] }
            let movements = try await apply(changes, tx, caller: caller, at: now)
            try await recorder.record(tx, caller: caller, action: MovementKind.adjustment.rawValue, entityType: "inventory_location",
                                      entityId: location.id, before: [Movement]?.none, after: movements, organisationId: location.organisationId,
                                      locationId: location.id, event: "inventory.movements_posted")
            return movements
        }
    }
}
