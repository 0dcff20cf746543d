import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import SQLKit

/// What a candidate routing rule would decide for one existing order now, beside what it has.
public struct SimulatedRouting: Codable, Sendable, Equatable {
    public var orderId: String
    /// Open line → code of the location it is sourced at now (lines without one left out).
    public var current: [Int: String]
    /// Open line → code of the location the candidate rule would choose.
    public var simulated: [Int: String]
    /// The candidate rule's decision: its policy, every candidate with its score (assignments by location id).
    public var decision: RoutingDecision
    /// Open lines the candidate rule could not place.
    public var unplaced: [Int]
    /// The simulated assignments differ from the current ones.
    public var changed: Bool
}

/// The sums over a simulation's orders.
public struct RoutingSimulationSummary: Codable, Sendable, Equatable {
    public var orders: Int
    public var changed: Int
    /// Orders with a line the candidate rule could not place.
    public var unroutable: Int
    /// Orders the candidate rule would source from more than one location.
    public var split: Int
    /// Location code → orders it would source lines of.
    public var locations: [String: Int]

    public init(_ results: [SimulatedRouting]) {
        orders = results.count
        changed = results.count(where: \.changed)
        unroutable = results.count { !$0.unplaced.isEmpty }
        split = results.count { Set($0.simulated.values).count > 1 }
        var used: [String: Int] = [:]
        for r in results { for code in Set(r.simulated.values) { used[code, default: 0] += 1 } }
        locations = used
    }
}

// MARK: - Routing an order that waits on a routing hold; simulating a rule

extension OrderService {
    /// Routes an order waiting on a routing hold (placed under a manual fallback, or rejected with
    /// nowhere to go). Without `location` its unassigned open lines are routed again now by the
    /// channel's rule, never to a location that rejected this order; with `location` a person
    /// assigns them all there — an active location the channel's pool lets ship (or, for a pickup,
    /// hand over, and only the pickup store) with the stock for them. In one transaction the stock
    /// is held (the order's one reservation, its other lines held again where they are), the
    /// routing hold is lifted, the order is allocated, and the explanation records the rule (or
    /// "manual" and the person) and the candidates.
    ///
    /// When the lines still cannot be placed: 409 unroutable with the explanation, nothing written.
    /// An order not on a routing hold, or with no unassigned open line, is 409 naming why. An
    /// unknown location, or another store for a pickup, is 422; a location outside a
    /// location-scoped caller's reach is 403.
    public func route(_ id: String, to location: String? = nil, note: String?, caller: Caller) async throws -> Order {
        var v = Validator()
        v.text(location, "locationId", required: false, max: 100)
        v.text(note, "note", required: false, max: 300)
        try v.finish()
        let target = try await location.asyncMap { ref in
            guard let l = try await locations.find(ref) else { throw Problem.validation([.init("locationId", "no location '\(ref)'")]) }
            return l
        }
        let scope = caller.principal.scope
        let current = try await order(id, scope: scope)
        if let t = target {
            guard scope.level == .all || scope.allows(organisationId: t.organisationId, locationId: t.id) else {
                throw Problem.forbidden("Only HQ, or \(t.code)'s own staff, may assign orders to \(t.code).")
            }
            if current.lines.first?.method == .pickup, t.id != current.pickupLocationId {
                let pickup = try await current.pickupLocationId.asyncMap { try await locations.find($0) } ?? nil
                let store = pickup?.code ?? "its pickup store"
                throw Problem.validation([.init("locationId", "a pickup order's lines go only to its pickup store, \(store)")])
            }
        }
        // The channel and its rule do not change with the order's state: looked up before the transaction.
        let channel = try await catalog.channel(current.channelId)
        let rule = try await routingRule(channelId: channel.id)
        let now = clock.instant()
        return try await routingWrite { tx in
            try await self.routeHeld(id, to: target, note: note, channel: channel, rule: rule, at: now, caller: caller, tx)
        }
    }

    private func routeHeld(_ id: String, to target: Location?, note: String?, channel: SalesChannel, rule: RoutingRule, at now: Date,
                           caller: Caller, _ tx: Transaction) async throws -> Order {
        var o = try await locked(id, caller: caller, tx)
        let before = o
        guard o.holds.contains(.routing) else {
            throw Problem.conflict("Order \(o.id) is not on a routing hold: routing already decided where it goes "
                                   + "(a location that cannot fulfil its lines rejects them).", kind: "not-on-routing-hold")
        }
        guard [.placed, .allocated].contains(o.status) else {
            throw Problem.conflict("Order \(o.id) is \(o.status.rawValue): only a placed or allocated order is routed.", kind: "invalid-transition")
        }
        let open = o.lines.filter { $0.locationId == nil && $0.quantity > $0.cancelled }.map { (line: $0, quantity: $0.quantity - $0.cancelled) }
        guard !open.isEmpty else {
            throw Problem.conflict("Order \(o.id) has no unassigned line to route: every open line is sourced; lift the routing hold instead.",
                                   kind: "nothing-to-route")
        }
        let byId = try await locations.byId()
        let who = "\(caller.principal.name) (\(caller.principal.id))"
        let lines = open.map(\.line.line).sorted()
        var outcome: Router.Outcome
        let ruleName: String
        if let t = target {
            // A person's choice: only that location, whole lines, never split; the channel's weights score it.
            var manual = rule
            manual.name = "manual"
            manual.useStores = true
            manual.useWarehouses = true
            manual.maxLocations = 1
            outcome = try await routeLines(o, open, channel: channel, rule: manual, excluding: [], only: t, sql: tx.sql, at: now)
            outcome.policy = "assigned by hand to \(t.code) by \(who)" + (note.map { ": " + $0 } ?? "")
            if outcome.candidates.isEmpty {
                outcome.candidates = [RoutingCandidate(locationId: t.id, code: t.code, mode: nil, distanceKm: Self.km(t, o), lines: [], score: nil,
                                                       excluded: Self.cannotServe(t, o), costs: [:])]
            }
            ruleName = "manual"
        } else {
            var refusedBy: [(location: String, reason: String)] = []
            for e in try await Self.rejections(o.id, tx.sql) where !refusedBy.contains(where: { $0.location == e.location }) { refusedBy.append(e) }
            outcome = try await routeLines(o, open, channel: channel, rule: rule, excluding: Set(refusedBy.map(\.location)), sql: tx.sql, at: now)
            Self.markRejected(&outcome.candidates, refusedBy, o, byId: byId)
            outcome.policy += "; routed again by \(who)" + (refusedBy.isEmpty ? "" : ", never to a location that rejected this order")
            ruleName = rule.name
        }
        guard outcome.unplaced.isEmpty else {
            throw OrdersError.unroutable(lines: outcome.unplaced, decision: RoutingDecision(rule: ruleName, outcome, assignments: [:], at: now))
        }
        let sitesBefore = Set(o.lines.compactMap(\.locationId))
        for i in o.lines.indices {
            if let a = outcome.assignments[o.lines[i].line] { o.lines[i].locationId = a.site; o.lines[i].mode = a.mode }
        }
        _ = try await holdAgain(&o, reason: "routed: held again under the order's new reservation", caller: Self.acting(caller), tx)
        let added = Set(outcome.assignments.values.map(\.site)).subtracting(sitesBefore)
        if !added.isEmpty { try await Self.addLoad(Array(added), day: Self.day(now), tx) }
        o.holds.removeAll { $0 == .routing }
        o.status = .allocated
        var assignments: [Int: String] = [:]
        for l in o.lines { if let at = l.locationId { assignments[l.line] = at } }
        o.routing = RoutingDecision(rule: ruleName, outcome, assignments: assignments, at: now)
        var to: [String] = []
        for n in lines {
            guard let a = outcome.assignments[n] else { continue }
            to.append("line \(n) → \(byId[a.site]?.code ?? a.site) (\(a.mode.rawValue))")
        }
        let how = target == nil ? "by rule '\(rule.name)'" : "by hand"
        let said = note.map { " — " + $0 } ?? ""
        let entry = "by \(who), \(how): \(to.joined(separator: ", ")); routing hold lifted\(said)"
        o.timeline.append(TimelineEntry(at: now, kind: "routed", status: .allocated, actorId: caller.principal.id, note: String(entry.prefix(1000))))
        try await save(&o, before: before, action: "route", event: "order.routed", caller: caller, tx)
        return o
    }

    /// Why routing does not weigh this location for the order at all.
    private static func cannotServe(_ l: Location, _ o: Order) -> String {
        if l.status != .active { return "is \(l.status.rawValue), not active" }
        switch o.lines.first?.method ?? .delivery {
        case .shipFromWarehouse where !l.kind.isWarehouse: return "is a store: a ship-from-warehouse order ships from a warehouse"
        case .delivery where !l.kind.isWarehouse && !l.capabilities.shipFromStore:
            return "does not deliver to the address (\(km(l, o)) km; it delivers within \(l.capabilities.deliveryRadiusKm ?? 0) km) and does not ship from store"
        default: return "does not supply this channel (not in its pool)"
        }
    }

    private static func km(_ l: Location, _ o: Order) -> Double {
        let km = o.address.map { greatCircleKm(lat1: l.coordinates.lat, lng1: l.coordinates.lng, lat2: $0.lat, lng2: $0.lng) } ?? 0
        return (km * 1000).rounded() / 1000
    }

    // MARK: Simulating a rule

    /// The most orders one simulation looks at.
    public static let maxSimulatedOrders = 200

    /// What `rule` would decide for each order now, on the stock as it is, beside what it has:
    /// each order's open lines routed as if it were placed now (its method, address or pickup
    /// store; its own held units counted as available; no location excluded). The rule is checked
    /// as setting it is (fields under `rule.`); an unknown or invisible order, one on another
    /// channel than the rule's, a till sale or an order with nothing open is 422 naming
    /// `orderIds[i]`. Writes nothing.
    public func simulate(rule new: NewRoutingRule, orders ids: [String], caller: Caller) async throws -> [SimulatedRouting] {
        var v = Validator()
        if ids.isEmpty { v.add("orderIds", "must name at least one order") }
        if ids.count > Self.maxSimulatedOrders { v.add("orderIds", "must name at most \(Self.maxSimulatedOrders) orders") }
        for (i, id) in ids.enumerated() {
            v.text(id, "orderIds[\(i)]", max: 100)
            if ids[..<i].contains(id) { v.add("orderIds[\(i)]", "order \(id) is named twice") }
        }
        try v.finish()
        let channelId: String?
        do { channelId = try await validated(new) } catch var p as Problem where p.status == 422 {
            p.errors = p.errors?.map { e in var e = e; e.field = "rule." + e.field; return e }
            throw p
        }
        let now = clock.instant()
        let rule = RoutingRule(new, channelId: channelId, version: 0, at: now)
        let scope = caller.principal.scope
        let byId = try await locations.byId()
        return try await db.read { sql in
            var orders: [Order] = []
            var lv = Validator()
            for (i, id) in ids.enumerated() {
                guard let o = try await OrderRows.order(id, sql, lock: false), try await self.visible(o, scope) else {
                    lv.add("orderIds[\(i)]", "no order '\(id)'")
                    continue
                }
                if let c = channelId, o.channelId != c {
                    lv.add("orderIds[\(i)]", "order \(id) is on another channel than the rule's")
                } else if o.lines.first?.method == .inStore {
                    lv.add("orderIds[\(i)]", "order \(id) is a till sale: it is not routed")
                } else if !o.lines.contains(where: { $0.quantity > $0.cancelled }) {
                    lv.add("orderIds[\(i)]", "order \(id) has no open line to route (it is \(o.status.rawValue))")
                }
                orders.append(o)
            }
            try lv.finish()
            var channels: [String: SalesChannel] = [:]
            var results: [SimulatedRouting] = []
            for o in orders {
                let channel: SalesChannel
                if let c = channels[o.channelId] { channel = c } else {
                    channel = try await self.catalog.channel(o.channelId)
                    channels[o.channelId] = channel
                }
                let open = o.lines.filter { $0.quantity > $0.cancelled }.map { (line: $0, quantity: $0.quantity - $0.cancelled) }
                // Routed as if new: what the order holds itself would be free for it.
                var own: [String: [String: Int]] = [:]
                if o.reservationId != nil, !o.status.sold {
                    for l in open { if let at = l.line.locationId { own[at, default: [:]][l.line.skuId, default: 0] += l.quantity } }
                }
                let outcome = try await self.routeLines(o, open, channel: channel, rule: rule, excluding: [], extra: own, sql: sql, at: now)
                var current: [Int: String] = [:]
                for l in open { if let at = l.line.locationId { current[l.line.line] = at } }
                let simulated = outcome.assignments.mapValues(\.site)
                results.append(SimulatedRouting(
                    orderId: o.id, current: current.mapValues { byId[$0]?.code ?? $0 }, simulated: simulated.mapValues { byId[$0]?.code ?? $0 },
                    decision: RoutingDecision(rule: rule.name, outcome, at: now),
                    unplaced: outcome.unplaced, changed: simulated != current))
            }
            return results
        }
    }
}
