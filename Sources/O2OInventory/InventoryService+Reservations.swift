import Foundation
import O2OCore
import SQLKit

// MARK: - Reservations: hold all lines or none, then sell, release or let expire

extension InventoryService {
    public struct NewReservationLine: Sendable {
        public var sku: String
        /// Where to hold it; nil lets the channel's pool choose the location with the most available.
        public var location: String?
        public var quantity: Int
        public init(sku: String, location: String?, quantity: Int) {
            self.sku = sku
            self.location = location
            self.quantity = quantity
        }
    }

    public struct NewReservation: Sendable {
        public var channel: String?
        public var referenceType: String?
        public var referenceId: String?
        /// Seconds until an unpaid reservation is released; default: the channel pool's setting.
        public var expiresInSeconds: Int?
        /// False: held until sold or released, whatever the channel's lifetime (a paid order, or
        /// an order whose own module enforces its payment deadline).
        public var expires: Bool
        public var lines: [NewReservationLine]
        public init(channel: String? = nil, referenceType: String? = nil, referenceId: String? = nil, expiresInSeconds: Int? = nil,
                    expires: Bool = true, lines: [NewReservationLine]) {
            self.channel = channel
            self.referenceType = referenceType
            self.referenceId = referenceId
            self.expiresInSeconds = expiresInSeconds
            self.expires = expires
            self.lines = lines
        }
    }

    /// Holds every line or none: when a line is short, nothing is held and every short line is
    /// reported (`InventoryError.insufficientStock`).
    public func reserve(_ new: NewReservation, caller: Caller) async throws -> Reservation {
        let prepared = try await prepare(new, caller: caller)
        let now = clock.instant()
        do {
            return try await db.write { tx in try await hold(new, prepared, caller: caller, at: now, tx) }
        } catch InventoryError.insufficientStock(let short) {
            // A short line on a SKU id that does not exist is a bad request, not a stock problem.
            let ids = Array(Set(short.map(\.skuId)))
            let known = try await directory.skuIds(ids)
            var unknown = Validator()
            for s in short where known[s.skuId] == nil { unknown.add("lines[\(s.line)].sku", "no SKU '\(s.skuId)'") }
            try unknown.finish()
            throw InventoryError.insufficientStock(short)
        }
    }

    /// The same hold inside another module's transaction (an order's), so the hold and the
    /// caller's rows commit or vanish together. SKUs should be given by id.
    public func reserve(_ new: NewReservation, caller: Caller, in tx: Transaction) async throws -> Reservation {
        try await hold(new, try await prepare(new, caller: caller), caller: caller, at: clock.instant(), tx)
    }

    struct PreparedReservation: Sendable {
        var channelId: String?
        var lineSKUs: [String]
        /// Lines that named their location.
        var named: [Int: StockLocation]
        var byId: [String: StockLocation]
    }

    /// Validates a reservation and resolves its references, outside any transaction.
    private func prepare(_ new: NewReservation, caller: Caller) async throws -> PreparedReservation {
        var v = Validator()
        Self.validateLines(new.lines.map { ($0.sku, $0.quantity) }, signed: false, &v)
        for (i, l) in new.lines.enumerated() { v.text(l.location, "lines[\(i)].locationId", required: false, max: 100) }
        v.text(new.referenceType, "reference.type", required: false, max: 40)
        v.text(new.referenceId, "reference.id", required: false, max: 100)
        v.range(new.expiresInSeconds, "expiresInSeconds", 60...(30 * 86_400))
        if new.channel == nil, new.lines.contains(where: { $0.location == nil }) {
            v.add("channelId", "is required when a line leaves its location to the channel's pool")
        }
        try v.finish()
        let channelId = try await new.channel.asyncMap { try await resolveChannel($0, field: "channelId") }
        // SKU ids are taken as given on the hot path; a line short on an unknown SKU is told apart below.
        let codes = new.lines.map(\.sku).filter { !$0.hasPrefix("sku_") }
        let byCode = codes.isEmpty ? [:] : try await skuIds(codes, field: { i in "lines[\(new.lines.firstIndex { $0.sku == codes[i] }!)].sku" })
        let lineSKUs = new.lines.map { $0.sku.hasPrefix("sku_") ? $0.sku : byCode[$0.sku]! }
        var named: [Int: StockLocation] = [:]
        var lv = Validator()
        for (i, l) in new.lines.enumerated() {
            guard let ref = l.location else { continue }
            guard let loc = try await locations.find(ref), caller.principal.scope.allows(organisationId: loc.organisationId, locationId: loc.id) else {
                lv.add("lines[\(i)].locationId", "no location '\(ref)' in your scope"); continue
            }
            if !loc.active { lv.add("lines[\(i)].locationId", "\(loc.code) is inactive") }
            named[i] = loc
        }
        try lv.finish()
        return PreparedReservation(channelId: channelId, lineSKUs: lineSKUs, named: named, byId: try await locations.byId())
    }

    private func hold(_ new: NewReservation, _ prepared: PreparedReservation, caller: Caller, at now: Date, _ tx: Transaction) async throws -> Reservation {
        let (channelId, lineSKUs, given, byId) = (prepared.channelId, prepared.lineSKUs, prepared.named, prepared.byId)
        var places = given
        let pool = try await channelId.asyncMap { try await Self.pool($0, tx.sql) } ?? nil
        let skus = Array(Set(lineSKUs))
        let rules = try await Self.safetyRules(skus: skus, channel: channelId, tx.sql)
        var changes: [Change] = []
        var unplaced: [Shortfall] = []
        for (i, l) in new.lines.enumerated() {
            let sku = lineSKUs[i]
            var location = places[i]
            if location == nil {
                let pick = try await Self.pick(sku: sku, quantity: l.quantity, pool: pool, rules: rules, channel: channelId!,
                                               scope: caller.principal.scope, locations: byId, tx.sql)
                location = pick.location
                if location == nil {
                    unplaced.append(Shortfall(line: i, skuId: sku, locationId: "", requested: l.quantity, available: pick.best))
                    continue
                }
            }
            let loc = location!
            places[i] = loc
            var c = Change(line: i, sku: sku, location: loc.id, organisation: loc.organisationId, kind: .reservation,
                           referenceType: new.referenceType, referenceId: new.referenceId, channel: channelId)
            c.reserved = l.quantity
            c.guarding = .available(safety: Self.safety(rules, sku: sku, location: loc.id, channel: channelId))
            changes.append(c)
        }
        let id = O2OID.make("res", at: now)
        for i in changes.indices { changes[i].referenceType = changes[i].referenceType ?? "reservation"; changes[i].referenceId = changes[i].referenceId ?? id }
        do {
            _ = try await apply(changes, tx, caller: caller, at: now)
        } catch InventoryError.insufficientStock(let short) {
            throw InventoryError.insufficientStock((short + unplaced).sorted { $0.line < $1.line })
        }
        if !unplaced.isEmpty { throw InventoryError.insufficientStock(unplaced) }
        let ttl = new.expires ? new.expiresInSeconds ?? pool?.reservationTTL : nil
        let reservation = Reservation(
            id: id, channelId: channelId, referenceType: new.referenceType, referenceId: new.referenceId, status: .active,
            expiresAt: ttl.map { now.addingTimeInterval(Double($0)) },
            lines: new.lines.enumerated().map { i, l in
                ReservationLine(line: i, skuId: lineSKUs[i], locationId: places[i]!.id, quantity: l.quantity, consumed: 0, released: 0,
                                soft: given[i] == nil, splitFrom: nil)
            },
            version: 1, createdAt: now, updatedAt: now)
        try await Self.insert(reservation, tx)
        let first = places[0]!
        try await recorder.record(tx, caller: caller, action: "create", entityType: "reservation", entityId: id,
                                  before: Reservation?.none, after: reservation, organisationId: first.organisationId,
                                  locationId: first.id, event: "inventory.reservation_created")
        return reservation
    }

    /// The pool location with the most available for a line (after safety stock and the
    /// location's share), and the best single quantity seen when none has enough.
    static func pick(sku: String, quantity: Int, pool: ChannelPool?, rules: [SafetyStockRule], channel: String, scope: Scope,
                     locations: [String: StockLocation], _ sql: any SQLDatabase) async throws -> (location: StockLocation?, best: Int) {
        let rows = try await sql.raw("""
            SELECT sku_id, location_id, on_hand, reserved FROM inventory_balances WHERE sku_id = \(bind: sku) AND on_hand > reserved
            """).all().map(stockRow)
        let members = Dictionary((pool?.members ?? []).map { ($0.locationId, $0) }, uniquingKeysWith: { a, _ in a })
        var best: (StockLocation, Int)?
        for r in rows {
            guard let l = locations[r.location], l.active, scope.allows(organisationId: l.organisationId, locationId: l.id) else { continue }
            let exposure: Exposure
            if members.isEmpty {
                guard l.ships else { continue }
                exposure = .all
            } else {
                guard let m = members[l.id], m.shipping else { continue }
                exposure = m.exposure
            }
            let a = exposure.apply(max(0, r.onHand - r.reserved - safety(rules, sku: sku, location: l.id, channel: channel)))
            if best == nil || (a, best!.0.id) > (best!.1, l.id) { best = (l, a) }
        }
        guard let best else { return (nil, 0) }
        return best.1 >= quantity ? (best.0, best.1) : (nil, best.1)
    }

    /// Where routing sources part or all of a line: `quantity` nil means the rest of the line.
    public struct Allocation: Sendable {
        public var line: Int
        public var location: String
        public var quantity: Int?
        public init(line: Int, location: String, quantity: Int? = nil) {
            self.line = line
            self.location = location
            self.quantity = quantity
        }
    }

    /// Routing's decision for lines held against the pool: each named line moves, whole or split
    /// across locations, to where it will be fulfilled, and becomes firm. The hold moves in one
    /// transaction (released where it was, reserved where it goes), so the units stay held
    /// throughout; when a target is short nothing moves and the 409 names every short part.
    public func allocate(_ id: String, _ allocations: [Allocation], caller: Caller) async throws -> Reservation {
        var v = Validator()
        if allocations.isEmpty { v.add("allocations", "must have at least one allocation") }
        if allocations.count > Self.maxLines { v.add("allocations", "at most \(Self.maxLines) allocations") }
        for (i, a) in allocations.enumerated() {
            v.text(a.location, "allocations[\(i)].locationId", max: 100)
            if let q = a.quantity { v.check((1...Self.maxQuantity).contains(q), "allocations[\(i)].quantity", "must be a whole number from 1 to \(Self.maxQuantity)") }
        }
        try v.finish()
        var targets: [Int: StockLocation] = [:]
        var lv = Validator()
        for (i, a) in allocations.enumerated() {
            guard let loc = try await locations.find(a.location), caller.principal.scope.allows(organisationId: loc.organisationId, locationId: loc.id) else {
                lv.add("allocations[\(i)].locationId", "no location '\(a.location)' in your scope"); continue
            }
            if !loc.active { lv.add("allocations[\(i)].locationId", "\(loc.code) is inactive") }
            targets[i] = loc
        }
        try lv.finish()
        let places = targets
        let now = clock.instant()
        let byId = try await locations.byId()
        return try await db.write { tx in
            guard let before = try await Self.reservation(id, tx.sql, lock: tx.engine == .postgres),
                  before.lines.allSatisfy({ l in byId[l.locationId].map { caller.principal.scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false })
            else { throw Problem.notFound("reservation", id) }
            guard before.status == .active else {
                var p = Problem.conflict("Reservation \(id) is \(before.status.rawValue); only an active reservation can be allocated.", kind: "invalid-transition")
                p.allowed = []
                throw p
            }
            let pool = try await before.channelId.asyncMap { try await Self.pool($0, tx.sql) } ?? nil
            let members = Set((pool?.members ?? []).map(\.locationId))
            // Each named line's parts, in the order given; the first part keeps the line's number.
            var parts: [Int: [(index: Int, location: StockLocation, quantity: Int?)]] = [:]
            var av = Validator()
            for (i, a) in allocations.enumerated() {
                guard let line = before.lines.first(where: { $0.line == a.line }) else { av.add("allocations[\(i)].line", "no line \(a.line)"); continue }
                if line.consumed > 0 || line.released > 0 {
                    av.add("allocations[\(i)].line", "line \(a.line) is partly sold or released; only a line still wholly held can move")
                }
                if !members.isEmpty, !members.contains(places[i]!.id) {
                    av.add("allocations[\(i)].locationId", "\(places[i]!.code) is not in channel \(before.channelId ?? "")'s pool")
                }
                parts[a.line, default: []].append((i, places[i]!, a.quantity))
            }
            for (number, list) in parts {
                let line = before.lines.first { $0.line == number }!
                let fixed = list.compactMap(\.quantity).reduce(0, +)
                let rest = list.filter { $0.quantity == nil }.count
                if rest > 1 { av.add("allocations[\(list[0].index)].quantity", "only one part of line \(number) may take the rest") }
                if fixed > line.quantity || (rest == 0 && fixed != line.quantity) || (rest == 1 && fixed == line.quantity) {
                    av.add("allocations[\(list[0].index)].quantity", "the parts of line \(number) must add up to its \(line.quantity)")
                }
            }
            try av.finish()
            let rules = try await Self.safetyRules(skus: Array(Set(before.lines.map(\.skuId))), channel: before.channelId, tx.sql)
            var after = before
            var next = (before.lines.map(\.line).max() ?? -1) + 1
            var changes: [Change] = []
            for (number, list) in parts.sorted(by: { $0.key < $1.key }) {
                let at = after.lines.firstIndex { $0.line == number }!
                let line = after.lines[at]
                let fixed = list.compactMap(\.quantity).reduce(0, +)
                for (k, part) in list.enumerated() {
                    let quantity = part.quantity ?? (line.quantity - fixed)
                    var moved = line
                    moved.locationId = part.location.id
                    moved.quantity = quantity
                    moved.soft = false
                    if k == 0 {
                        after.lines[at] = moved
                    } else {
                        moved.line = next
                        moved.splitFrom = number
                        next += 1
                        after.lines.append(moved)
                    }
                    guard part.location.id != line.locationId else { continue }
                    var take = Change(line: number, sku: line.skuId, location: part.location.id, organisation: part.location.organisationId,
                                      kind: .reservation, reason: "allocated", referenceType: before.referenceType ?? "reservation",
                                      referenceId: before.referenceId ?? id, channel: before.channelId)
                    take.reserved = quantity
                    take.guarding = .available(safety: Self.safety(rules, sku: line.skuId, location: part.location.id, channel: before.channelId))
                    changes.append(take)
                }
                // What stays at the old location stays held there; the rest is given back.
                let kept = list.filter { $0.location.id == line.locationId }.reduce(0) { $0 + ($1.quantity ?? (line.quantity - fixed)) }
                if kept < line.quantity {
                    var give = Change(line: number, sku: line.skuId, location: line.locationId,
                                      organisation: byId[line.locationId]?.organisationId ?? "", kind: .release, reason: "allocated",
                                      referenceType: before.referenceType ?? "reservation", referenceId: before.referenceId ?? id,
                                      channel: before.channelId)
                    give.reserved = -(line.quantity - kept)
                    give.guarding = .buckets
                    changes.append(give)
                }
            }
            _ = try await apply(changes, tx, caller: caller, at: now)
            after.version += 1
            after.updatedAt = now
            try await tx.sql.raw("""
                UPDATE inventory_reservations SET version = \(bind: after.version), updated_at = \(bind: now.epochMillis) WHERE id = \(bind: id)
                """).run()
            for line in after.lines where parts[line.line] != nil {
                try await tx.sql.raw("""
                    UPDATE inventory_reservation_lines SET location_id = \(bind: line.locationId), quantity = \(bind: line.quantity), soft = 0
                    WHERE reservation_id = \(bind: id) AND line = \(bind: line.line)
                    """).run()
            }
            let added = Array(after.lines.dropFirst(before.lines.count))
            if !added.isEmpty { try await Self.insertLines(id, added, tx) }
            let first = byId[after.lines[0].locationId]
            try await recorder.record(tx, caller: caller, action: "allocate", entityType: "reservation", entityId: id, before: before, after: after,
                                      organisationId: first?.organisationId, locationId: first?.id, event: "inventory.reservation_allocated")
            return after
        }
    }

    /// Converts held quantities to sales (shipment or pickup): on hand and reserved both fall.
    /// Without `lines`, everything still held is sold. With `tx`, inside the caller's transaction.
    public func consume(_ id: String, lines: [(line: Int, quantity: Int)]? = nil, caller: Caller, in tx: Transaction? = nil) async throws -> Reservation {
        try await settle(id, lines: lines, kind: .sale, reason: nil, caller: caller, in: tx)
    }

    /// Gives held quantities back (cancelled order or line). Without `lines`, everything still held.
    /// With `tx`, inside the caller's transaction.
    public func release(_ id: String, lines: [(line: Int, quantity: Int)]? = nil, reason: String? = nil, caller: Caller,
                        in tx: Transaction? = nil) async throws -> Reservation {
        try await settle(id, lines: lines, kind: .release, reason: reason, caller: caller, in: tx)
    }

    /// Releases reservations whose time ran out; returns how many. Safe to run in several processes at once.
    @discardableResult
    public func expireDue(limit: Int = 200) async throws -> Int {
        let now = clock.instant()
        let due = try await db.read { sql in
            try await sql.raw("""
                SELECT id FROM inventory_reservations WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= \(bind: now.epochMillis)
                ORDER BY expires_at LIMIT \(literal: limit)
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var expired = 0
        for id in due {
            do {
                _ = try await settle(id, lines: nil, kind: .release, reason: "expired", caller: .system, expiring: true)
                expired += 1
            } catch let p as Problem where p.status == 409 {
                continue  // sold, released or expired by someone else meanwhile
            }
        }
        return expired
    }

    private func settle(_ id: String, lines: [(line: Int, quantity: Int)]?, kind: MovementKind, reason: String?, caller: Caller,
                        expiring: Bool = false, in outer: Transaction? = nil) async throws -> Reservation {
        var v = Validator()
        v.text(reason, "reason", required: false, max: 500)
        if let lines {
            if lines.isEmpty { v.add("lines", "must have at least one line, or be left out for all") }
            for (i, l) in lines.enumerated() {
                v.check((1...Self.maxQuantity).contains(l.quantity), "lines[\(i)].quantity", "must be a whole number from 1 to \(Self.maxQuantity)")
            }
        }
        try v.finish()
        let now = clock.instant()
        let byId = try await locations.byId()
        let body: @Sendable (Transaction) async throws -> Reservation = { tx in
            guard let before = try await Self.reservation(id, tx.sql, lock: tx.engine == .postgres),
                  before.lines.allSatisfy({ l in byId[l.locationId].map { caller.principal.scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false })
            else { throw Problem.notFound("reservation", id) }
            guard before.status == .active else {
                var p = Problem.conflict("Reservation \(id) is \(before.status.rawValue); only an active reservation can be sold or released.",
                                         kind: "invalid-transition")
                p.allowed = []
                throw p
            }
            var after = before
            var amounts: [Int: Int] = [:]
            if let lines {
                var lv = Validator()
                for (i, l) in lines.enumerated() {
                    guard let line = before.lines.first(where: { $0.line == l.line }) else { lv.add("lines[\(i)].line", "no line \(l.line)"); continue }
                    amounts[l.line, default: 0] += l.quantity
                    if amounts[l.line]! > line.open { lv.add("lines[\(i)].quantity", "line \(l.line) holds \(line.open), not \(amounts[l.line]!)") }
                }
                try lv.finish()
            } else {
                for l in before.lines where l.open > 0 { amounts[l.line] = l.open }
            }
            var changes: [Change] = []
            for (i, line) in before.lines.enumerated() {
                guard let q = amounts[line.line], q > 0 else { continue }
                let org = byId[line.locationId]?.organisationId ?? ""
                var c = Change(line: line.line, sku: line.skuId, location: line.locationId, organisation: org, kind: kind, reason: reason,
                               referenceType: before.referenceType ?? "reservation", referenceId: before.referenceId ?? id, channel: before.channelId)
                c.reserved = -q
                if kind == .sale { c.onHand = -q; after.lines[i].consumed += q } else { after.lines[i].released += q }
                c.guarding = .buckets
                changes.append(c)
            }
            _ = try await apply(changes, tx, caller: caller, at: now)
            if after.lines.allSatisfy({ $0.open == 0 }) {
                after.status = after.lines.contains { $0.consumed > 0 } ? .completed : (expiring ? .expired : .released)
            }
            after.version += 1
            after.updatedAt = now
            try await tx.sql.raw("""
                UPDATE inventory_reservations SET status = \(bind: after.status.rawValue), version = \(bind: after.version),
                    updated_at = \(bind: now.epochMillis) WHERE id = \(bind: id)
                """).run()
            for line in after.lines where amounts[line.line] != nil {
                try await tx.sql.raw("""
                    UPDATE inventory_reservation_lines SET consumed = \(bind: line.consumed), released = \(bind: line.released)
                    WHERE reservation_id = \(bind: id) AND line = \(bind: line.line)
                    """).run()
            }
            let event: String
            switch after.status {
            case .completed: event = "inventory.reservation_completed"
            case .expired: event = "inventory.reservation_expired"
            case .released: event = "inventory.reservation_released"
            case .active: event = kind == .sale ? "inventory.reservation_consumed" : "inventory.reservation_released"
            }
            let first = byId[before.lines[0].locationId]
            try await recorder.record(tx, caller: caller, action: expiring ? "expire" : kind.rawValue, entityType: "reservation", entityId: id,
                                      before: before, after: after, organisationId: first?.organisationId, locationId: first?.id, event: event)
            return after
        }
        if let outer { return try await body(outer) }
        return try await db.write(body)
    }

    public func reservation(_ id: String, scope: Scope) async throws -> Reservation {
        let byId = try await locations.byId()
        guard let r = try await db.read({ try await Self.reservation(id, $0, lock: false) }),
              r.lines.allSatisfy({ l in byId[l.locationId].map { scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false })
        else { throw Problem.notFound("reservation", id) }
        return r
    }

    static func reservation(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Reservation? {
        guard let row = try await sql.raw("SELECT * FROM inventory_reservations WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first()
        else { return nil }
        let lines = try await sql.raw("SELECT * FROM inventory_reservation_lines WHERE reservation_id = \(bind: id) ORDER BY line").all().map { r in
            ReservationLine(line: try r.decode(column: "line", as: Int.self), skuId: try r.decode(column: "sku_id", as: String.self),
                            locationId: try r.decode(column: "location_id", as: String.self), quantity: try r.decode(column: "quantity", as: Int.self),
                            consumed: try r.decode(column: "consumed", as: Int.self), released: try r.decode(column: "released", as: Int.self),
                            soft: try r.decode(column: "soft", as: Int.self) != 0, splitFrom: try r.decode(column: "split_from", as: Int?.self))
        }
        return Reservation(
            id: id, channelId: try row.decode(column: "channel_id", as: String?.self),
            referenceType: try row.decode(column: "reference_type", as: String?.self), referenceId: try row.decode(column: "reference_id", as: String?.self),
            status: ReservationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .active,
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Date.init(epochMillis:)), lines: lines,
            version: try row.decode(column: "version", as: Int.self), createdAt: Date(epochMillis: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try row.decode(column: "updated_at", as: Int64.self)))
    }

    static func insert(_ r: Reservation, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO inventory_reservations (id, channel_id, reference_type, reference_id, status, expires_at, version, created_at, updated_at)
            VALUES (\(bind: r.id), \(bind: r.channelId), \(bind: r.referenceType), \(bind: r.referenceId), \(bind: r.status.rawValue),
                    \(bind: r.expiresAt?.epochMillis), \(bind: r.version), \(bind: r.createdAt.epochMillis), \(bind: r.updatedAt.epochMillis))
            """).run()
        try await insertLines(r.id, r.lines, tx)
    }

    static func insertLines(_ id: String, _ lines: [ReservationLine], _ tx: Transaction) async throws {
        var q: SQLQueryString = """
            INSERT INTO inventory_reservation_lines (reservation_id, line, sku_id, location_id, quantity, consumed, released, soft, split_from) VALUES
            """
        for (i, l) in lines.enumerated() {
            q += """
                \(unsafeRaw: i == 0 ? "" : ",")(\(bind: id), \(bind: l.line), \(bind: l.skuId), \(bind: l.locationId), \(bind: l.quantity),
                \(bind: l.consumed), \(bind: l.released), \(bind: l.soft ? 1 : 0), \(bind: l.splitFrom))
                """
        }
        try await tx.sql.raw(q).run()
    }
}
