import Foundation
import O2OCore
import SQLKit

// MARK: - Safety stock, channel pools, available-to-promise, nearby stores

extension InventoryService {
    // MARK: Safety stock

    public struct NewSafetyRule: Sendable {
        public var location: String?
        public var sku: String?
        public var channel: String?
        public var quantity: Int
        public init(location: String? = nil, sku: String? = nil, channel: String? = nil, quantity: Int) {
            self.location = location
            self.sku = sku
            self.channel = channel
            self.quantity = quantity
        }
    }

    /// Sets the safety stock for a combination of location, SKU and channel (any may be left
    /// open); setting the same combination again replaces it, 0 removes it.
    public func setSafetyStock(_ new: NewSafetyRule, caller: Caller) async throws -> SafetyStockRule? {
        var v = Validator()
        v.range(new.quantity, "quantity", 0...Self.maxQuantity)
        try v.finish()
        let location = try await new.location.asyncMap { try await stockLocation($0, field: "locationId", scope: caller.principal.scope) }
        if location == nil && caller.principal.scope.level != .all {
            throw Problem.validation([.init("locationId", "is required: your scope covers some locations only")])
        }
        let skuId = try await new.sku.asyncMap { try await skuIds([$0], field: { _ in "skuId" })[$0]! }
        let channelId = try await new.channel.asyncMap { try await resolveChannel($0, field: "channelId") }
        let key = "\(location?.id ?? "*")|\(skuId ?? "*")|\(channelId ?? "*")"
        let now = clock.instant()
        return try await db.write { tx in
            let before = try await tx.sql.raw("SELECT * FROM inventory_safety_rules WHERE rule_key = \(bind: key)").first().map(Self.safetyRule)
            try await tx.sql.raw("DELETE FROM inventory_safety_rules WHERE rule_key = \(bind: key)").run()
            var after: SafetyStockRule?
            if new.quantity > 0 {
                let rule = SafetyStockRule(id: before?.id ?? O2OID.make("ssr", at: now), locationId: location?.id, skuId: skuId,
                                           channelId: channelId, quantity: new.quantity, createdAt: before?.createdAt ?? now)
                try await tx.sql.raw("""
                    INSERT INTO inventory_safety_rules (id, location_id, sku_id, channel_id, rule_key, quantity, created_at)
                    VALUES (\(bind: rule.id), \(bind: rule.locationId), \(bind: rule.skuId), \(bind: rule.channelId), \(bind: key),
                            \(bind: rule.quantity), \(bind: rule.createdAt.epochMillis))
                    """).run()
                after = rule
            }
            if before != after {
                try await recorder.record(tx, caller: caller, action: "set", entityType: "safety_stock", entityId: key,
                                          before: before, after: after, organisationId: location?.organisationId, locationId: location?.id,
                                          event: "inventory.safety_stock_set")
            }
            return after
        }
    }

    public func safetyRules(limit: Int, cursor: String?, scope: Scope) async throws -> Page<SafetyStockRule> {
        var q: SQLQueryString = "SELECT * FROM inventory_safety_rules WHERE 1=1"
        if scope.level != .all {
            let ids = try await locations.all().filter { scope.allows(organisationId: $0.organisationId, locationId: $0.id) }.map(\.id)
            q += " AND (location_id IS NULL OR location_id IN \(SQLQueryString.list(ids)))"
        }
        return try await db.page(q, limit: limit, cursor: cursor, map: Self.safetyRule, id: \.id)
    }

    /// The rules that may apply to these SKUs in this channel (nil: rules without a channel only).
    static func safetyRules(skus: [String], channel: String?, _ sql: any SQLDatabase) async throws -> [SafetyStockRule] {
        var q: SQLQueryString = "SELECT * FROM inventory_safety_rules WHERE (sku_id IS NULL OR sku_id IN \(SQLQueryString.list(skus)))"
        if let channel { q += " AND (channel_id IS NULL OR channel_id = \(bind: channel))" } else { q += " AND channel_id IS NULL" }
        return try await sql.raw(q).all().map(safetyRule)
    }

    /// The safety stock the most specific matching rule sets.
    static func safety(_ rules: [SafetyStockRule], sku: String, location: String, channel: String?) -> Int {
        var best: SafetyStockRule?
        for r in rules where r.matches(sku: sku, location: location, channel: channel) {
            if best == nil || r.specificity > best!.specificity { best = r }
        }
        return best?.quantity ?? 0
    }

    /// Balances with the safety stock that applies to them outside any channel.
    func withSafety(_ balances: [Balance]) async throws -> [Balance] {
        guard !balances.isEmpty else { return [] }
        let rules = try await db.read { try await Self.safetyRules(skus: Array(Set(balances.map(\.skuId))), channel: nil, $0) }
        return balances.map { b in
            var b = b
            b.safetyStock = Self.safety(rules, sku: b.skuId, location: b.locationId, channel: nil)
            return b
        }
    }

    // MARK: Channel pools

    public struct PoolDefinition: Sendable {
        public var channel: String
        public var members: [(location: String, exposure: Exposure, shipping: Bool, pickup: Bool)]
        public var reservationTTL: Int?
        public var threshold: Int
        public init(channel: String, members: [(location: String, exposure: Exposure, shipping: Bool, pickup: Bool)] = [],
                    reservationTTL: Int? = nil, threshold: Int = 0) {
            self.channel = channel
            self.members = members
            self.reservationTTL = reservationTTL
            self.threshold = threshold
        }
    }

    /// Defines (or replaces) a channel's pool: which locations feed it and how much of each.
    public func setPool(_ def: PoolDefinition, caller: Caller) async throws -> ChannelPool {
        var v = Validator()
        v.range(def.reservationTTL, "reservationTtlSeconds", 60...(30 * 86_400))
        v.range(def.threshold, "threshold", 0...Self.maxQuantity)
        if def.members.count > 10_000 { v.add("members", "must have at most 10,000 locations") }
        var seen: Set<String> = []
        for (i, m) in def.members.enumerated() {
            switch m.exposure {
            case .percent(let p): v.range(p, "members[\(i)].value", 1...100)
            case .cap(let c): v.range(c, "members[\(i)].value", 0...Self.maxQuantity)
            case .all: break
            }
            if !m.shipping && !m.pickup { v.add("members[\(i)]", "must serve shipping, pickup or both") }
            if !seen.insert(m.location).inserted { v.add("members[\(i)].locationId", "'\(m.location)' is listed twice") }
        }
        try v.finish()
        let channelId = try await resolveChannel(def.channel, field: "channelId")
        var members: [PoolMember] = []
        var lv = Validator()
        for (i, m) in def.members.enumerated() {
            guard let l = try await locations.find(m.location) else { lv.add("members[\(i)].locationId", "no location '\(m.location)'"); continue }
            if m.pickup && !l.isStore { lv.add("members[\(i)].pickup", "\(l.code) is not a store: customers cannot collect there") }
            members.append(PoolMember(locationId: l.id, exposure: m.exposure, shipping: m.shipping, pickup: m.pickup))
        }
        try lv.finish()
        let now = clock.instant()
        let sorted = members.sorted { $0.locationId < $1.locationId }
        return try await db.write { tx in
            let before = try await Self.pool(channelId, tx.sql)
            let pool = ChannelPool(channelId: channelId, members: sorted,
                                   reservationTTL: def.reservationTTL, threshold: def.threshold,
                                   version: (before?.version ?? 0) + 1, updatedAt: now)
            try await tx.sql.raw("DELETE FROM inventory_pool_members WHERE channel_id = \(bind: channelId)").run()
            try await tx.sql.raw("DELETE FROM inventory_channel_pools WHERE channel_id = \(bind: channelId)").run()
            try await tx.sql.raw("""
                INSERT INTO inventory_channel_pools (channel_id, reservation_ttl, threshold, version, updated_at)
                VALUES (\(bind: channelId), \(bind: pool.reservationTTL), \(bind: pool.threshold), \(bind: pool.version), \(bind: now.epochMillis))
                """).run()
            for start in stride(from: 0, to: pool.members.count, by: 300) {
                var q: SQLQueryString = "INSERT INTO inventory_pool_members (channel_id, location_id, exposure, exposure_value, shipping, pickup) VALUES "
                for (i, m) in pool.members[start..<min(start + 300, pool.members.count)].enumerated() {
                    q += """
                        \(unsafeRaw: i == 0 ? "" : ",")(\(bind: channelId), \(bind: m.locationId), \(bind: m.exposure.kind), \(bind: m.exposure.value),
                        \(bind: m.shipping ? 1 : 0), \(bind: m.pickup ? 1 : 0))
                        """
                }
                try await tx.sql.raw(q).run()
            }
            try await recorder.record(tx, caller: caller, action: before == nil ? "create" : "update", entityType: "channel_pool",
                                      entityId: channelId, before: before, after: pool, organisationId: nil, locationId: nil,
                                      event: "inventory.pool_updated")
            return pool
        }
    }

    /// A channel's pool as defined; a channel never defined has the default pool (no members).
    public func pool(channel: String) async throws -> ChannelPool {
        let channelId = try await resolveChannel(channel, field: "channel", notFound: true)
        return try await db.read { try await Self.pool(channelId, $0) }
            ?? ChannelPool(channelId: channelId, members: [], reservationTTL: nil, threshold: 0, version: 0, updatedAt: Date(epochMillis: 0))
    }

    static func pool(_ channelId: String, _ sql: any SQLDatabase) async throws -> ChannelPool? {
        guard let row = try await sql.raw("SELECT * FROM inventory_channel_pools WHERE channel_id = \(bind: channelId)").first() else { return nil }
        let members = try await sql.raw("SELECT * FROM inventory_pool_members WHERE channel_id = \(bind: channelId) ORDER BY location_id").all().map(poolMember)
        return ChannelPool(channelId: channelId, members: members, reservationTTL: try row.decode(column: "reservation_ttl", as: Int?.self),
                           threshold: try row.decode(column: "threshold", as: Int.self), version: try row.decode(column: "version", as: Int.self),
                           updatedAt: Date(epochMillis: try row.decode(column: "updated_at", as: Int64.self)))
    }

    // MARK: Available to promise

    /// What a channel may promise for each SKU: the sum over its pool of each location's share of
    /// what is available after safety stock, split by shipping and pickup, and nothing where the
    /// total is below the channel's threshold.
    public func atp(channel: String, skus refs: [String]) async throws -> (channelId: String, items: [ChannelATP]) {
        var v = Validator()
        if refs.isEmpty { v.add("sku", "name at least one SKU") }
        if refs.count > 200 { v.add("sku", "at most 200 SKUs at once") }
        try v.finish()
        let channelId = try await resolveChannel(channel, field: "channel")
        let ids = try await skuIds(refs, field: { "sku[\($0)]" })
        let skus = refs.map { ids[$0]! }
        let byId = try await locations.byId()
        let (pool, rows, rules) = try await db.read { sql in
            let pool = try await Self.pool(channelId, sql)
            let rows: [(sku: String, location: String, onHand: Int, reserved: Int)]
            if let pool, !pool.members.isEmpty {
                rows = try await sql.raw("""
                    SELECT b.sku_id, b.location_id, b.on_hand, b.reserved FROM inventory_balances b
                    JOIN inventory_pool_members m ON m.channel_id = \(bind: channelId) AND m.location_id = b.location_id
                    WHERE b.sku_id IN \(SQLQueryString.list(skus)) AND b.on_hand > b.reserved
                    """).all().map(Self.stockRow)
            } else {
                rows = try await sql.raw("""
                    SELECT sku_id, location_id, on_hand, reserved FROM inventory_balances
                    WHERE sku_id IN \(SQLQueryString.list(skus)) AND on_hand > reserved
                    """).all().map(Self.stockRow)
            }
            return (pool, rows, try await Self.safetyRules(skus: skus, channel: channelId, sql))
        }
        let members = Dictionary((pool?.members ?? []).map { ($0.locationId, $0) }, uniquingKeysWith: { a, _ in a })
        var perSKU: [String: [LocationATP]] = [:]
        for r in rows {
            guard let l = byId[r.location], l.active, let member = Self.member(l, of: members) else { continue }
            let available = member.exposure.apply(max(0, r.onHand - r.reserved - Self.safety(rules, sku: r.sku, location: r.location, channel: channelId)))
            guard available > 0 else { continue }
            perSKU[r.sku, default: []].append(LocationATP(locationId: r.location, available: available, shipping: member.shipping, pickup: member.pickup))
        }
        let threshold = pool?.threshold ?? 0
        return (channelId, skus.map { sku in
            let locs = (perSKU[sku] ?? []).sorted { ($0.available, $1.locationId) > ($1.available, $0.locationId) }
            let total = locs.reduce(0) { $0 + $1.available }
            guard total >= max(threshold, 1) else { return ChannelATP(skuId: sku, shipping: 0, pickup: 0, locations: []) }
            return ChannelATP(skuId: sku, shipping: locs.filter(\.shipping).reduce(0) { $0 + $1.available },
                              pickup: locs.filter(\.pickup).reduce(0) { $0 + $1.available }, locations: locs)
        })
    }

    /// How a location feeds a channel: its pool membership, or for a channel without a pool every
    /// location as it is (all its stock; shipping if it ships, pickup if it is a pickup store).
    /// Nil when it does not feed the channel.
    static func member(_ l: StockLocation, of members: [String: PoolMember]) -> PoolMember? {
        let m = members.isEmpty ? PoolMember(locationId: l.id, exposure: .all, shipping: l.ships, pickup: l.isStore && l.pickup) : members[l.id]
        guard let m, m.shipping || m.pickup else { return nil }
        return m
    }

    /// For routing, read through `sql` (the caller's transaction when it holds what it finds): what each of these locations may give the
    /// channel of each SKU now (after safety stock, within its share of the channel's pool), and
    /// whether the pool lets it ship or hand over. Locations that do not feed the channel are left out.
    public func sourcing(channel channelId: String, skus: [String], locations ids: [String], _ sql: any SQLDatabase) async throws -> [String: SourcingStock] {
        guard !skus.isEmpty, !ids.isEmpty else { return [:] }
        let byId = try await locations.byId()
        let pool = try await Self.pool(channelId, sql)
        let members = Dictionary((pool?.members ?? []).map { ($0.locationId, $0) }, uniquingKeysWith: { a, _ in a })
        let rules = try await Self.safetyRules(skus: skus, channel: channelId, sql)
        var out: [String: SourcingStock] = [:]
        for id in ids {
            guard let l = byId[id], l.active, let m = Self.member(l, of: members) else { continue }
            out[id] = SourcingStock(shipping: m.shipping, pickup: m.pickup, available: [:])
        }
        for chunk in Array(out.keys).chunked(500).map(Array.init) {
            let rows = try await sql.raw("""
                SELECT sku_id, location_id, on_hand, reserved FROM inventory_balances
                WHERE sku_id IN \(SQLQueryString.list(skus)) AND location_id IN \(SQLQueryString.list(chunk)) AND on_hand > reserved
                """).all().map(Self.stockRow)
            for r in rows {
                let exposure = members[r.location]?.exposure ?? .all
                let a = exposure.apply(max(0, r.onHand - r.reserved - Self.safety(rules, sku: r.sku, location: r.location, channel: channelId)))
                if a > 0 { out[r.location]?.available[r.sku] = a }
            }
        }
        return out
    }

    /// Active pickup stores within `radiusKm` of a point holding any of the SKUs, those with every
    /// SKU in the asked quantity first, then nearest first.
    public func nearby(lat: Double, lng: Double, skus refs: [(sku: String, quantity: Int)], radiusKm: Double = 10, limit: Int = 20,
                       channel: String? = nil) async throws -> [NearbyStore] {
        var v = Validator()
        v.range(lat, "lat", -90...90)
        v.range(lng, "lng", -180...180)
        v.range(radiusKm, "radiusKm", 0.1...200)
        if refs.isEmpty { v.add("sku", "name at least one SKU") }
        if refs.count > 50 { v.add("sku", "at most 50 SKUs at once") }
        for (i, r) in refs.enumerated() { v.check((1...Self.maxQuantity).contains(r.quantity), "quantity[\(i)]", "must be from 1 to \(Self.maxQuantity)") }
        try v.finish()
        let channelId = try await channel.asyncMap { try await resolveChannel($0, field: "channel") }
        let ids = try await skuIds(refs.map(\.sku), field: { "sku[\($0)]" })
        var wanted: [String: Int] = [:]
        for r in refs { wanted[ids[r.sku]!, default: 0] += r.quantity }
        let skus = Array(wanted.keys).sorted()
        // Stores by distance first (in memory: thousands of stores measure in microseconds).
        let stores = try await locations.all()
            .filter { $0.isStore && $0.active && $0.pickup }
            .map { ($0, $0.distanceKm(lat: lat, lng: lng)) }
            .filter { $0.1 <= radiusKm }
        guard !stores.isEmpty else { return [] }
        let (rows, rules) = try await db.read { sql in
            var rows: [(sku: String, location: String, onHand: Int, reserved: Int)] = []
            for start in stride(from: 0, to: stores.count, by: 500) {
                let chunk = stores[start..<min(start + 500, stores.count)].map(\.0.id)
                rows += try await sql.raw("""
                    SELECT sku_id, location_id, on_hand, reserved FROM inventory_balances
                    WHERE sku_id IN \(SQLQueryString.list(skus)) AND location_id IN \(SQLQueryString.list(chunk)) AND on_hand > reserved
                    """).all().map(Self.stockRow)
            }
            return (rows, try await Self.safetyRules(skus: skus, channel: channelId, sql))
        }
        var have: [String: [String: Int]] = [:]
        for r in rows {
            let a = max(0, r.onHand - r.reserved - Self.safety(rules, sku: r.sku, location: r.location, channel: channelId))
            if a > 0 { have[r.location, default: [:]][r.sku] = a }
        }
        let found = stores.compactMap { store, km -> NearbyStore? in
            guard let a = have[store.id] else { return nil }
            return NearbyStore(locationId: store.id, code: store.code, name: store.name, distanceKm: (km * 1000).rounded() / 1000,
                               available: a, hasAll: wanted.allSatisfy { (a[$0.key] ?? 0) >= $0.value })
        }
        return Array(found.sorted { ($0.hasAll ? 0 : 1, $0.distanceKm, $0.locationId) < ($1.hasAll ? 0 : 1, $1.distanceKm, $1.locationId) }
            .prefix(limit))
    }

    // MARK: Helpers

    func resolveChannel(_ ref: String, field: String, notFound: Bool = false) async throws -> String {
        guard let id = try await directory.channelId(ref) else {
            if notFound { throw Problem.notFound("channel", ref) }
            throw Problem.validation([.init(field, "no channel '\(ref)'")])
        }
        return id
    }

    static func stockRow(_ r: any SQLRow) throws -> (sku: String, location: String, onHand: Int, reserved: Int) {
        (try r.decode(column: "sku_id", as: String.self), try r.decode(column: "location_id", as: String.self),
         try r.decode(column: "on_hand", as: Int.self), try r.decode(column: "reserved", as: Int.self))
    }

    static func safetyRule(_ r: any SQLRow) throws -> SafetyStockRule {
        SafetyStockRule(id: try r.decode(column: "id", as: String.self), locationId: try r.decode(column: "location_id", as: String?.self),
                        skuId: try r.decode(column: "sku_id", as: String?.self), channelId: try r.decode(column: "channel_id", as: String?.self),
                        quantity: try r.decode(column: "quantity", as: Int.self),
                        createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func poolMember(_ r: any SQLRow) throws -> PoolMember {
        PoolMember(locationId: try r.decode(column: "location_id", as: String.self),
                   exposure: Exposure(kind: try r.decode(column: "exposure", as: String.self),
                                      value: try r.decode(column: "exposure_value", as: Int?.self)) ?? .all,
                   shipping: try r.decode(column: "shipping", as: Int.self) != 0, pickup: try r.decode(column: "pickup", as: Int.self) != 0)
    }
}
