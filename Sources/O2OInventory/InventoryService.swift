import Foundation
import O2OCore
import SQLKit

/// Errors of the inventory module; each knows its problem+json form.
public enum InventoryError: ProblemConvertible, CustomStringConvertible {
    /// Every line that could not be held, at once; nothing was written.
    case insufficientStock([Shortfall])

    public var problem: Problem {
        switch self {
        case .insufficientStock(let short):
            var p = Problem(kind: "insufficient-stock", title: "Insufficient stock", status: 409,
                            detail: "\(short.count) line(s) cannot be served: " + short.map {
                                "line \($0.line) (\($0.skuId) at \($0.locationId)): requested \($0.requested), available \($0.available)"
                            }.joined(separator: "; "))
            p.errors = short.map {
                .init("lines[\($0.line)].quantity", "requested \($0.requested), available \($0.available) at \($0.locationId)")
            }
            return p
        }
    }

    public var description: String { problem.description }
}

/// The one inventory: balances per SKU and location changed only through ledger movements,
/// reservations that hold stock all-or-nothing, and what each channel may promise.
///
/// Correctness comes from the database: every decrease of what is available is a conditional
/// `UPDATE` that only succeeds while enough is left, taken in a fixed (location, SKU) order, in
/// the same transaction as its ledger row, its audit row and its event.
public struct InventoryService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let directory: any InventoryDirectory
    let locations: LocationCache
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, directory: any InventoryDirectory) {
        self.db = db
        self.clock = clock
        self.directory = directory
        self.locations = LocationCache(directory: directory)
        self.recorder = ChangeRecorder(clock: clock)
    }

    /// The largest quantity one line may carry.
    public static let maxQuantity = 1_000_000
    public static let maxLines = 500

    // MARK: Posting movements

    public struct MovementLine: Sendable {
        public var sku: String
        /// Positive; for adjustments the sign says which way.
        public var quantity: Int
        public init(sku: String, quantity: Int) {
            self.sku = sku
            self.quantity = quantity
        }
    }

    public struct NewMovements: Sendable {
        public var location: String
        public var kind: MovementKind
        public var reason: String?
        public var referenceType: String?
        public var referenceId: String?
        public var lines: [MovementLine]
        public init(location: String, kind: MovementKind, reason: String? = nil, referenceType: String? = nil,
                    referenceId: String? = nil, lines: [MovementLine]) {
            self.location = location
            self.kind = kind
            self.reason = reason
            self.referenceType = referenceType
            self.referenceId = referenceId
            self.lines = lines
        }
    }

    /// Receipts, over-the-counter sales, adjustments, returns to stock and damage at one location.
    /// With `tx`, the movements are part of the caller's transaction (a warehouse receipt and its
    /// ledger rows commit together).
    public func post(_ new: NewMovements, caller: Caller, in tx: Transaction? = nil) async throws -> [Movement] {
        var v = Validator()
        if !MovementKind.postable.contains(new.kind) {
            v.add("kind", "must be one of \(MovementKind.postable.map(\.rawValue).sorted().joined(separator: ", ")); \(new.kind.rawValue) is written by its own operation")
        }
        v.text(new.reason, "reason", required: new.kind == .adjustment || new.kind == .damage, max: 500)
        v.text(new.referenceType, "reference.type", required: false, max: 40)
        v.text(new.referenceId, "reference.id", required: false, max: 100)
        Self.validateLines(new.lines.map { ($0.sku, $0.quantity) }, signed: new.kind == .adjustment, &v)
        try v.finish()
        let location = try await stockLocation(new.location, field: "locationId", scope: caller.principal.scope)
        let skus = try await skuIds(new.lines.map(\.sku))
        let now = clock.instant()
        let changes = new.lines.enumerated().map { i, line -> Change in
            let q = line.quantity
            var c = Change(line: i, sku: skus[line.sku]!, location: location.id, organisation: location.organisationId, kind: new.kind,
                           reason: new.reason, referenceType: new.referenceType, referenceId: new.referenceId)
            switch new.kind {
            case .receipt, .returnToStock:
                c.onHand = q
            case .sale:
                c.onHand = -q
                c.guarding = .available(safety: 0)
            case .adjustment:
                c.onHand = q
                if q < 0 { c.guarding = .buckets }
            case .damage:
                c.onHand = -q
                c.quarantined = q
                c.guarding = .buckets
            default:
                break
            }
            return c
        }
        let write: @Sendable (Transaction) async throws -> [Movement] = { [self] tx in
            let movements = try await apply(changes, tx, caller: caller, at: now)
            try await recorder.record(tx, caller: caller, action: new.kind.rawValue, entityType: "inventory_location", entityId: location.id,
                                      before: [Movement]?.none, after: movements, organisationId: location.organisationId,
                                      locationId: location.id, event: "inventory.movements_posted")
            return movements
        }
        if let tx { return try await write(tx) }
        return try await db.write(write)
    }

    /// On-hand units of these SKUs at one location, read through `sql` (the caller's transaction
    /// when it holds what it finds); SKUs without a balance are left out.
    public func onHand(location: String, skus: [String], _ sql: any SQLDatabase) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for chunk in skus.chunked(500).map(Array.init) {
            for r in try await sql.raw("""
                SELECT sku_id, on_hand FROM inventory_balances WHERE location_id = \(bind: location) AND sku_id IN \(SQLQueryString.list(chunk))
                """).all() {
                out[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "on_hand", as: Int.self)
            }
        }
        return out
    }

    // MARK: The ledger primitive

    /// How a change is checked before it is applied.
    enum Guarding: Sendable {
        /// Applied as is; the row is created when missing (receipts, increases).
        case none
        /// No bucket may fall below zero; the row must exist.
        case buckets
        /// As `.buckets`, and on hand − reserved must stay at or above `safety` afterwards.
        case available(safety: Int)
    }

    struct Change: Sendable {
        var line: Int
        var sku: String
        var location: String
        var organisation: String
        var kind: MovementKind
        var onHand = 0
        var reserved = 0
        var inTransit = 0
        var quarantined = 0
        var guarding: Guarding = .none
        var reason: String?
        var referenceType: String?
        var referenceId: String?
        var channel: String?
        /// When it happened, when that is not now (a till sale that reaches us late).
        var at: Date?

        init(line: Int, sku: String, location: String, organisation: String, kind: MovementKind, reason: String? = nil,
             referenceType: String? = nil, referenceId: String? = nil, channel: String? = nil) {
            self.line = line
            self.sku = sku
            self.location = location
            self.organisation = organisation
            self.kind = kind
            self.reason = reason
            self.referenceType = referenceType
            self.referenceId = referenceId
            self.channel = channel
        }
    }

    /// Applies changes to balances and writes their ledger rows, in (location, SKU) order so
    /// concurrent transactions lock rows in the same order. Throws `insufficientStock` naming
    /// every guarded change that did not fit; the caller's transaction then writes nothing.
    func apply(_ changes: [Change], _ tx: Transaction, caller: Caller, at now: Date) async throws -> [Movement] {
        let ordered = changes.sorted { ($0.location, $0.sku, $0.line) < ($1.location, $1.sku, $1.line) }
        var failed: [Change] = []
        var applied: [Change] = []
        for c in ordered {
            switch c.guarding {
            case .none:
                try await tx.sql.raw("""
                    INSERT INTO inventory_balances (id, sku_id, location_id, organisation_id, on_hand, reserved, in_transit, quarantined, updated_at)
                    VALUES (\(bind: O2OID.make("bal", at: now)), \(bind: c.sku), \(bind: c.location), \(bind: c.organisation), \(bind: c.onHand),
                            \(bind: c.reserved), \(bind: c.inTransit), \(bind: c.quarantined), \(bind: now.epochMillis))
                    ON CONFLICT (sku_id, location_id) DO UPDATE SET on_hand = inventory_balances.on_hand + excluded.on_hand,
                        reserved = inventory_balances.reserved + excluded.reserved, in_transit = inventory_balances.in_transit + excluded.in_transit,
                        quarantined = inventory_balances.quarantined + excluded.quarantined, updated_at = excluded.updated_at
                    """).run()
            case .buckets, .available:
                var q: SQLQueryString = """
                    UPDATE inventory_balances SET on_hand = on_hand + \(bind: c.onHand), reserved = reserved + \(bind: c.reserved),
                        in_transit = in_transit + \(bind: c.inTransit), quarantined = quarantined + \(bind: c.quarantined),
                        updated_at = \(bind: now.epochMillis)
                    WHERE sku_id = \(bind: c.sku) AND location_id = \(bind: c.location) AND on_hand + \(bind: c.onHand) >= 0
                        AND reserved + \(bind: c.reserved) >= 0 AND in_transit + \(bind: c.inTransit) >= 0
                        AND quarantined + \(bind: c.quarantined) >= 0
                    """
                if case .available(let safety) = c.guarding {
                    q += " AND (on_hand + \(bind: c.onHand)) - (reserved + \(bind: c.reserved)) >= \(bind: safety)"
                }
                q += " RETURNING on_hand"
                if try await tx.sql.raw(q).first() == nil { failed.append(c); continue }
            }
            applied.append(c)
        }
        if !failed.isEmpty { throw try await shortfalls(failed, applied: applied, tx) }
        try await Self.markChanged(changes.map(\.sku), tx, at: now)
        let movements = changes.map { c in
            Movement(id: O2OID.make("mov", at: now), at: c.at ?? now, skuId: c.sku, locationId: c.location, kind: c.kind, onHandDelta: c.onHand,
                     reservedDelta: c.reserved, inTransitDelta: c.inTransit, quarantinedDelta: c.quarantined, reason: c.reason,
                     referenceType: c.referenceType, referenceId: c.referenceId, channelId: c.channel,
                     actorId: caller.principal.id, requestId: caller.requestId)
        }
        let rows = Array(zip(movements, changes))
        for start in stride(from: 0, to: rows.count, by: 200) {
            let chunk = rows[start..<min(start + 200, rows.count)]
            var q: SQLQueryString = """
                INSERT INTO inventory_movements (id, at, sku_id, location_id, organisation_id, kind, d_on_hand, d_reserved, d_in_transit,
                    d_quarantined, reason, reference_type, reference_id, channel_id, actor_id, request_id) VALUES
                """
            for (i, (m, c)) in chunk.enumerated() {
                q += """
                    \(unsafeRaw: i == 0 ? "" : ",")(\(bind: m.id), \(bind: m.at.epochMillis), \(bind: m.skuId), \(bind: m.locationId), \(bind: c.organisation),
                    \(bind: m.kind.rawValue), \(bind: m.onHandDelta), \(bind: m.reservedDelta), \(bind: m.inTransitDelta), \(bind: m.quarantinedDelta),
                    \(bind: m.reason), \(bind: m.referenceType), \(bind: m.referenceId), \(bind: m.channelId), \(bind: m.actorId), \(bind: m.requestId))
                    """
            }
            try await tx.sql.raw(q).run()
        }
        return movements
    }

    /// What each failed change could have had before this request, for the error.
    private func shortfalls(_ failed: [Change], applied: [Change], _ tx: Transaction) async throws -> InventoryError {
        var short: [Shortfall] = []
        for c in failed.sorted(by: { $0.line < $1.line }) {
            let row = try await tx.sql.raw("""
                SELECT on_hand, reserved, in_transit, quarantined FROM inventory_balances
                WHERE sku_id = \(bind: c.sku) AND location_id = \(bind: c.location)
                """).first()
            // The request's own earlier changes to the row are taken back out.
            let mine = applied.filter { $0.sku == c.sku && $0.location == c.location }
            func bucket(_ column: String, _ delta: KeyPath<Change, Int>) throws -> Int {
                (try row?.decode(column: column, as: Int.self) ?? 0) - mine.reduce(0) { $0 + $1[keyPath: delta] }
            }
            let onHand = try bucket("on_hand", \.onHand)
            let reserved = try bucket("reserved", \.reserved)
            let have: Int
            let wanted: Int
            switch c.guarding {
            case .available(let safety):
                have = max(0, onHand - reserved - safety)
                wanted = max(c.reserved, -c.onHand)
            default:
                // The bucket that would have gone below zero.
                if c.onHand < 0 { have = onHand; wanted = -c.onHand }
                else if c.reserved < 0 { have = reserved; wanted = -c.reserved }
                else if c.inTransit < 0 { have = try bucket("in_transit", \.inTransit); wanted = -c.inTransit }
                else { have = try bucket("quarantined", \.quarantined); wanted = -c.quarantined }
            }
            short.append(Shortfall(line: c.line, skuId: c.sku, locationId: c.location, requested: wanted, available: have))
        }
        return .insufficientStock(short)
    }

    // MARK: Reading

    public struct BalanceFilter: Sendable {
        public var sku: String?
        public var location: String?
        /// Only rows with something on hand, reserved, in transit or quarantined.
        public var nonZero = false
        public var limit = 50
        public var cursor: String?
        public init() {}
    }

    /// Balances in the caller's scope, with their safety stock and what is available.
    public func balances(_ f: BalanceFilter, scope: Scope) async throws -> Page<Balance> {
        guard var q = try await filtered("inventory_balances", sku: f.sku, location: f.location, scope: scope) else {
            return Page(items: [], nextCursor: nil)
        }
        if f.nonZero { q += " AND (on_hand <> 0 OR reserved <> 0 OR in_transit <> 0 OR quarantined <> 0)" }
        let page = try await db.page(q, limit: f.limit, cursor: f.cursor, map: { try ($0.decode(column: "id", as: String.self), Self.balance($0)) },
                                     id: { $0.0 })
        let items = try await withSafety(page.items.map(\.1))
        return Page(items: items, nextCursor: page.nextCursor)
    }

    /// One SKU's balance at one location (zero when it was never stocked there).
    public func balance(sku: String, location: String, scope: Scope) async throws -> Balance {
        let loc = try await stockLocation(location, field: "location", scope: scope, notFound: true)
        guard let skuId = try await directory.skuIds([sku])[sku] else { throw Problem.notFound("sku", sku) }
        let row = try await db.read { sql in
            try await sql.raw("SELECT * FROM inventory_balances WHERE sku_id = \(bind: skuId) AND location_id = \(bind: loc.id)").first()
        }
        let b = try row.map(Self.balance) ?? Balance(skuId: skuId, locationId: loc.id, organisationId: loc.organisationId, onHand: 0, reserved: 0,
                                                     inTransit: 0, quarantined: 0, safetyStock: 0, updatedAt: Date(epochMillis: 0))
        return try await withSafety([b])[0]
    }

    public struct MovementFilter: Sendable {
        public var sku: String?
        public var location: String?
        public var referenceId: String?
        public var limit = 50
        public var cursor: String?
        public init() {}
    }

    /// The ledger, newest first, in the caller's scope.
    public func movements(_ f: MovementFilter, scope: Scope) async throws -> Page<Movement> {
        guard var q = try await filtered("inventory_movements", sku: f.sku, location: f.location, scope: scope) else {
            return Page(items: [], nextCursor: nil)
        }
        if let r = f.referenceId { q += " AND reference_id = \(bind: r)" }
        return try await db.page(q, limit: f.limit, cursor: f.cursor, order: .newestFirst, map: Self.movement, id: \.id)
    }

    /// `SELECT * FROM table WHERE …` for a SKU and a location (ids, codes or a barcode) in the
    /// scope; nil when either names nothing, so the answer is empty.
    private func filtered(_ table: String, sku: String?, location: String?, scope: Scope) async throws -> SQLQueryString? {
        var q: SQLQueryString = "SELECT * FROM \(ident: table) WHERE 1=1"
        if let sku {
            guard let id = try await directory.skuIds([sku])[sku] else { return nil }
            q += " AND sku_id = \(bind: id)"
        }
        if let location {
            guard let loc = try await locations.find(location) else { return nil }
            q += " AND location_id = \(bind: loc.id)"
        }
        return q + scope.sqlFilter(organisationColumn: "organisation_id", locationColumn: "location_id")
    }

    // MARK: The invariant

    /// Checks that every balance equals the sum of its movements, bucket by bucket, and that no
    /// bucket is below zero. `o2o inventory verify` and the tests run it.
    public func verify() async throws -> VerifyReport {
        try await db.read { sql in
            // Per balance, the sums of its movements through the (sku, location, at) index; then the
            // movements of pairs that have no balance row at all.
            func sum(_ column: String) -> String {
                "(SELECT CAST(COALESCE(SUM(\(column)), 0) AS BIGINT) FROM inventory_movements m WHERE m.sku_id = b.sku_id AND m.location_id = b.location_id)"
            }
            var rows = try await sql.raw("""
                SELECT * FROM (
                    SELECT b.sku_id, b.location_id, b.on_hand, b.reserved, b.in_transit, b.quarantined,
                           \(unsafeRaw: sum("d_on_hand")) AS m_on_hand, \(unsafeRaw: sum("d_reserved")) AS m_reserved,
                           \(unsafeRaw: sum("d_in_transit")) AS m_in_transit, \(unsafeRaw: sum("d_quarantined")) AS m_quarantined
                    FROM inventory_balances b) x
                WHERE on_hand <> m_on_hand OR reserved <> m_reserved OR in_transit <> m_in_transit OR quarantined <> m_quarantined
                   OR on_hand < 0 OR reserved < 0 OR in_transit < 0 OR quarantined < 0
                """).all()
            rows += try await sql.raw("""
                SELECT sku_id, location_id, 0 AS on_hand, 0 AS reserved, 0 AS in_transit, 0 AS quarantined,
                       CAST(SUM(d_on_hand) AS BIGINT) AS m_on_hand, CAST(SUM(d_reserved) AS BIGINT) AS m_reserved,
                       CAST(SUM(d_in_transit) AS BIGINT) AS m_in_transit, CAST(SUM(d_quarantined) AS BIGINT) AS m_quarantined
                FROM inventory_movements m
                WHERE NOT EXISTS (SELECT 1 FROM inventory_balances b WHERE b.sku_id = m.sku_id AND b.location_id = m.location_id)
                GROUP BY sku_id, location_id
                """).all()
            var mismatches: [LedgerMismatch] = []
            var negative: [String] = []
            var belowZero: [String] = []
            for r in rows {
                let sku = try r.decode(column: "sku_id", as: String.self)
                let loc = try r.decode(column: "location_id", as: String.self)
                for bucket in ["on_hand", "reserved", "in_transit", "quarantined"] {
                    let b = try r.decode(column: bucket, as: Int.self)
                    let m = try r.decode(column: "m_" + bucket, as: Int.self)
                    if b != m { mismatches.append(LedgerMismatch(skuId: sku, locationId: loc, bucket: bucket, balance: b, ledger: m)) }
                    // Only a till sale can take on hand below zero (a sale the customer walked out with
                    // is never refused): that is a place to count, not a broken ledger.
                    if b < 0 && bucket == "on_hand" { belowZero.append("\(sku) at \(loc): on_hand \(b)") }
                    else if b < 0 { negative.append("\(sku) at \(loc): \(bucket) \(b)") }
                }
            }
            let counts = try await sql.raw("""
                SELECT (SELECT COUNT(*) FROM inventory_balances) AS balances, (SELECT COUNT(*) FROM inventory_movements) AS movements
                """).first()
            return VerifyReport(balances: try counts?.decode(column: "balances", as: Int.self) ?? 0,
                                movements: try counts?.decode(column: "movements", as: Int.self) ?? 0,
                                mismatches: mismatches, negative: negative, belowZeroOnHand: belowZero)
        }
    }

    // MARK: Helpers

    /// A location by id or code in the caller's scope, else a 422 on `field` (or a 404 for a path id).
    func stockLocation(_ ref: String, field: String, scope: Scope, notFound: Bool = false) async throws -> StockLocation {
        guard let l = try await locations.find(ref), scope.allows(organisationId: l.organisationId, locationId: l.id) else {
            if notFound { throw Problem.notFound("location", ref) }
            throw Problem.validation([.init(field, "no location '\(ref)' in your scope")])
        }
        return l
    }

    /// SKU ids for references (ids or codes); a 422 names every unknown one.
    public func skuIds(_ refs: [String], field: (Int) -> String = { "lines[\($0)].sku" }) async throws -> [String: String] {
        let found = try await directory.skuIds(Array(Set(refs)))
        var v = Validator()
        for (i, r) in refs.enumerated() where found[r] == nil { v.add(field(i), "no SKU '\(r)'") }
        try v.finish()
        return found
    }

    static func validateLines(_ lines: [(sku: String, quantity: Int)], signed: Bool, _ v: inout Validator) {
        if lines.isEmpty { v.add("lines", "must have at least one line") }
        if lines.count > maxLines { v.add("lines", "must have at most \(maxLines) lines") }
        for (i, l) in lines.enumerated() {
            v.text(l.sku, "lines[\(i)].sku", max: 100)
            if signed {
                v.check(l.quantity != 0 && abs(l.quantity) <= maxQuantity, "lines[\(i)].quantity", "must be a whole number from -\(maxQuantity) to \(maxQuantity), not 0")
            } else {
                v.check((1...maxQuantity).contains(l.quantity), "lines[\(i)].quantity", "must be a whole number from 1 to \(maxQuantity)")
            }
        }
    }

    static func balance(_ r: any SQLRow) throws -> Balance {
        Balance(skuId: try r.decode(column: "sku_id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
                organisationId: try r.decode(column: "organisation_id", as: String.self), onHand: try r.decode(column: "on_hand", as: Int.self),
                reserved: try r.decode(column: "reserved", as: Int.self), inTransit: try r.decode(column: "in_transit", as: Int.self),
                quarantined: try r.decode(column: "quarantined", as: Int.self), safetyStock: 0,
                updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func movement(_ r: any SQLRow) throws -> Movement {
        Movement(id: try r.decode(column: "id", as: String.self), at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
                 skuId: try r.decode(column: "sku_id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
                 kind: MovementKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .adjustment,
                 onHandDelta: try r.decode(column: "d_on_hand", as: Int.self), reservedDelta: try r.decode(column: "d_reserved", as: Int.self),
                 inTransitDelta: try r.decode(column: "d_in_transit", as: Int.self),
                 quarantinedDelta: try r.decode(column: "d_quarantined", as: Int.self), reason: try r.decode(column: "reason", as: String?.self),
                 referenceType: try r.decode(column: "reference_type", as: String?.self),
                 referenceId: try r.decode(column: "reference_id", as: String?.self), channelId: try r.decode(column: "channel_id", as: String?.self),
                 actorId: try r.decode(column: "actor_id", as: String.self), requestId: try r.decode(column: "request_id", as: String?.self))
    }
}
