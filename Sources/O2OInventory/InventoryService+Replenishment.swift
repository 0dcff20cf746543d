import Foundation
import O2OCore
import SQLKit

// MARK: - Replenishment (补货): what a store should get, and from where

/// A store's stocking rule for one SKU or for all its SKUs: keep at least `min` and refill to
/// `max`, and/or hold `coverDays` of recent sales.
public struct ReplenishmentRule: Codable, Sendable, Equatable {
    public var id: String
    public var locationId: String
    public var skuId: String?
    public var min: Int?
    public var max: Int?
    public var coverDays: Int?
}

public struct ReplenishmentSuggestion: Codable, Sendable, Equatable {
    public var skuId: String
    /// On hand + in transit + requested transfers to the store − reserved.
    public var position: Int
    /// Units sold per day over the window.
    public var dailySales: Double
    public var quantity: Int
    /// Why, in words: each rule that asked for stock.
    public var reasons: [String]
    /// The warehouse with the most available, when one has any.
    public var sourceLocationId: String?
    public var sourceAvailable: Int
}

extension InventoryService {
    /// Units a store keeps of an online bestseller (the brief: online bestsellers must be stocked in stores).
    public static let bestsellerShelf = 2
    /// Days of sales a store holds when no rule says otherwise.
    public static let defaultCoverDays = 14

    public struct NewReplenishmentRule: Sendable {
        public var location: String
        public var sku: String?
        public var min: Int?
        public var max: Int?
        public var coverDays: Int?
        public init(location: String, sku: String? = nil, min: Int? = nil, max: Int? = nil, coverDays: Int? = nil) {
            self.location = location
            self.sku = sku
            self.min = min
            self.max = max
            self.coverDays = coverDays
        }
    }

    /// Sets (or, with no figures, removes) a store's rule for one SKU or all of its SKUs.
    public func setReplenishmentRule(_ new: NewReplenishmentRule, caller: Caller) async throws -> ReplenishmentRule? {
        var v = Validator()
        v.range(new.min, "min", 0...Self.maxQuantity)
        v.range(new.max, "max", 1...Self.maxQuantity)
        v.range(new.coverDays, "coverDays", 1...365)
        if let min = new.min, let max = new.max, min > max { v.add("max", "must be at least min (\(min))") }
        if new.min != nil && new.max == nil { v.add("max", "is required with min") }
        try v.finish()
        let location = try await stockLocation(new.location, field: "locationId", scope: caller.principal.scope)
        let skuId = try await new.sku.asyncMap { try await skuIds([$0], field: { _ in "skuId" })[$0]! }
        let key = "\(location.id)|\(skuId ?? "*")"
        let remove = new.min == nil && new.max == nil && new.coverDays == nil
        return try await db.write { tx in
            let before = try await tx.sql.raw("SELECT * FROM inventory_replenishment_rules WHERE rule_key = \(bind: key)").first().map(Self.replenishmentRule)
            try await tx.sql.raw("DELETE FROM inventory_replenishment_rules WHERE rule_key = \(bind: key)").run()
            let after = remove ? nil : ReplenishmentRule(id: before?.id ?? O2OID.make("rpr", at: clock.instant()), locationId: location.id, skuId: skuId,
                                                         min: new.min, max: new.max, coverDays: new.coverDays)
            if let r = after {
                try await tx.sql.raw("""
                    INSERT INTO inventory_replenishment_rules (id, rule_key, location_id, sku_id, min_qty, max_qty, cover_days)
                    VALUES (\(bind: r.id), \(bind: key), \(bind: r.locationId), \(bind: r.skuId), \(bind: r.min), \(bind: r.max), \(bind: r.coverDays))
                    """).run()
            }
            if before != after {
                try await recorder.record(tx, caller: caller, action: "set", entityType: "replenishment_rule", entityId: key, before: before,
                                          after: after, organisationId: location.organisationId, locationId: location.id,
                                          event: "inventory.replenishment_rule_set")
            }
            return after
        }
    }

    /// Suggestions for one store: refill below min to max, hold days of cover at the recent sales
    /// rate (`salesDays`), and keep a shelf of the network's `bestsellers` best online sellers; each
    /// with the warehouse that can send it.
    public func replenishment(location ref: String, salesDays: Int = 28, bestsellers: Int = 20, scope: Scope) async throws -> [ReplenishmentSuggestion] {
        var v = Validator()
        v.range(salesDays, "salesDays", 1...365)
        v.range(bestsellers, "bestsellers", 0...500)
        try v.finish()
        let store = try await stockLocation(ref, field: "locationId", scope: scope, notFound: true)
        let byId = try await locations.byId()
        let since = clock.instant().addingTimeInterval(-Double(salesDays) * 86_400).epochMillis
        let online = try await directory.channels().filter { !$0.isStore }.map(\.id)
        let (balances, sold, rules, top, coming) = try await db.read { sql in
            let balances = try await sql.raw("SELECT * FROM inventory_balances WHERE location_id = \(bind: store.id)").all().map(Self.balance)
            var sold: [String: Int] = [:]
            for r in try await sql.raw("""
                SELECT sku_id, CAST(-SUM(d_on_hand) AS BIGINT) AS sold FROM inventory_movements
                WHERE location_id = \(bind: store.id) AND kind = 'sale' AND at >= \(bind: since) GROUP BY sku_id
                """).all() {
                sold[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "sold", as: Int.self)
            }
            let rules = try await sql.raw("SELECT * FROM inventory_replenishment_rules WHERE location_id = \(bind: store.id)").all().map(Self.replenishmentRule)
            let top = bestsellers == 0 || online.isEmpty ? [] : try await sql.raw("""
                SELECT sku_id, CAST(-SUM(d_on_hand) AS BIGINT) AS sold FROM inventory_movements
                WHERE kind = 'sale' AND at >= \(bind: since) AND channel_id IN \(SQLQueryString.list(online))
                GROUP BY sku_id ORDER BY sold DESC, sku_id LIMIT \(literal: bestsellers)
                """).all().map { try $0.decode(column: "sku_id", as: String.self) }
            // Requested transfers to the store count as coming (shipped ones are in transit already).
            var coming: [String: Int] = [:]
            for r in try await sql.raw("""
                SELECT l.sku_id, CAST(SUM(l.quantity) AS BIGINT) AS quantity FROM inventory_transfer_lines l
                JOIN inventory_transfers t ON t.id = l.transfer_id
                WHERE t.to_location_id = \(bind: store.id) AND t.status = 'requested' GROUP BY l.sku_id
                """).all() {
                coming[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "quantity", as: Int.self)
            }
            return (balances, sold, rules, top, coming)
        }
        let have = Dictionary(balances.map { ($0.skuId, $0) }, uniquingKeysWith: { a, _ in a })
        let storeRule = rules.first { $0.skuId == nil }
        let skuRules = Dictionary(rules.compactMap { r in r.skuId.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        let candidates = Set(balances.map(\.skuId)).union(skuRules.keys).union(top).union(coming.keys)
        var wanted: [(sku: String, position: Int, daily: Double, quantity: Int, reasons: [String])] = []
        for sku in candidates.sorted() {
            let b = have[sku]
            let position = (b?.onHand ?? 0) + (b?.inTransit ?? 0) + (coming[sku] ?? 0) - (b?.reserved ?? 0)
            let daily = Double(sold[sku] ?? 0) / Double(salesDays)
            let rule = skuRules[sku] ?? storeRule
            var target = 0
            var reasons: [String] = []
            if let rule, let min = rule.min, let max = rule.max, position < min {
                target = Swift.max(target, max)
                reasons.append("below min \(min): refill to max \(max)")
            }
            let cover = rule?.coverDays ?? (rule?.max == nil ? Self.defaultCoverDays : nil)
            if let cover, daily > 0 {
                let need = Int((daily * Double(cover)).rounded(.up))
                if position < need {
                    target = Swift.max(target, need)
                    reasons.append(String(format: "%d days of cover at %.2f a day", cover, daily))
                }
            }
            if top.contains(sku), store.isStore, position < Self.bestsellerShelf {
                target = Swift.max(target, Self.bestsellerShelf)
                reasons.append("online bestseller #\(top.firstIndex(of: sku)! + 1): keep \(Self.bestsellerShelf) on the shelf")
            }
            if target > position { wanted.append((sku, position, daily, target - position, reasons)) }
        }
        guard !wanted.isEmpty else { return [] }
        // The source: the warehouse with the most available after safety stock.
        let skus = wanted.map(\.sku)
        let (rows, safety) = try await db.read { sql in
            (try await sql.raw("""
                SELECT sku_id, location_id, on_hand, reserved FROM inventory_balances WHERE sku_id IN \(SQLQueryString.list(skus)) AND on_hand > reserved
                """).all().map(Self.stockRow), try await Self.safetyRules(skus: skus, channel: nil, sql))
        }
        var best: [String: (String, Int)] = [:]
        for r in rows {
            guard let l = byId[r.location], !l.isStore, l.active, l.id != store.id else { continue }
            let a = max(0, r.onHand - r.reserved - Self.safety(safety, sku: r.sku, location: r.location, channel: nil))
            if a > (best[r.sku]?.1 ?? 0) { best[r.sku] = (l.id, a) }
        }
        return wanted.map { w in
            ReplenishmentSuggestion(skuId: w.sku, position: w.position, dailySales: (w.daily * 100).rounded() / 100, quantity: w.quantity,
                                    reasons: w.reasons, sourceLocationId: best[w.sku]?.0, sourceAvailable: best[w.sku]?.1 ?? 0)
        }
    }

    /// Turns a store's suggestions into transfers, one per source warehouse, each line capped at
    /// what the source has; `skus` limits it to some SKUs.
    public func replenish(location ref: String, skus only: [String]? = nil, caller: Caller) async throws -> [Transfer] {
        let store = try await stockLocation(ref, field: "locationId", scope: caller.principal.scope)
        let ids = try await only.asyncMap { try await skuIds($0, field: { "skus[\($0)]" }) }
        let keep = ids.map { Set($0.values) }
        let suggestions = try await replenishment(location: store.id, scope: caller.principal.scope)
            .filter { keep?.contains($0.skuId) ?? true }
        var bySource: [String: [MovementLine]] = [:]
        for s in suggestions {
            guard let source = s.sourceLocationId else { continue }
            bySource[source, default: []].append(.init(sku: s.skuId, quantity: min(s.quantity, s.sourceAvailable)))
        }
        var transfers: [Transfer] = []
        for (source, lines) in bySource.sorted(by: { $0.key < $1.key }) {
            for start in stride(from: 0, to: lines.count, by: 500) {
                transfers.append(try await requestTransfer(.init(from: source, to: store.id, reason: "replenishment",
                                                                 referenceType: "replenishment", referenceId: store.code,
                                                                 lines: Array(lines[start..<min(start + 500, lines.count)])), caller: caller))
            }
        }
        return transfers
    }

    static func replenishmentRule(_ r: any SQLRow) throws -> ReplenishmentRule {
        ReplenishmentRule(id: try r.decode(column: "id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
                          skuId: try r.decode(column: "sku_id", as: String?.self), min: try r.decode(column: "min_qty", as: Int?.self),
                          max: try r.decode(column: "max_qty", as: Int?.self), coverDays: try r.decode(column: "cover_days", as: Int?.self))
    }
}
