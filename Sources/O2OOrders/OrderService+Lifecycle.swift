import Foundation
import O2OCore
import O2OInventory
import O2OMembers
import SQLKit

// MARK: - The lifecycle: milestones, cancellation, holds, the payment deadline

extension OrderService {
    /// Moves an order to its next milestone. Release needs the order paid (or cash on delivery)
    /// and free of holds; shipment and pickup turn the held stock into a sale; handing over a
    /// pickup needs its code. Anything else the status does not allow is 409 naming what it does.
    public func advance(_ id: String, to next: OrderStatus, note: String? = nil, pickupCode: String? = nil, caller: Caller) async throws -> Order {
        var v = Validator()
        v.text(note, "note", required: false, max: 500)
        v.check(next != .cancelled, "status", "cancel through …/cancel, with a reason")
        v.check(next != .placed && next != .allocated, "status", "\(next.rawValue) is reached by placing and routing the order")
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            var o = try await self.locked(id, caller: caller, tx)
            let before = o
            guard o.status.next.contains(next) else { throw Self.invalid(o, to: next.rawValue) }
            let method = o.lines.first?.method ?? .delivery
            switch next {
            case .released:
                // Partly refunded: some lines were cancelled and refunded, the rest is paid.
                guard [.paid, .codDue, .partiallyRefunded].contains(o.paymentStatus) else {
                    throw Self.refused(o, "it is not paid (payment \(o.paymentStatus.rawValue)); release needs payment or cash on delivery")
                }
                guard o.holds.isEmpty else { throw Self.refused(o, "it is on hold (\(o.holds.map(\.rawValue).joined(separator: ", ")))") }
            case .shipped where method == .pickup, .readyForPickup where method != .pickup:
                throw Self.refused(o, "its lines are for \(method.rawValue)")
            case .pickedUp:
                guard let code = pickupCode, code == o.pickupCode else {
                    throw Problem.validation([.init("pickupCode", "does not match the order's pickup code")])
                }
            default: break
            }
            if next == .shipped || next == .pickedUp, let r = o.reservationId {
                _ = try await inventory.consume(r, caller: caller, in: tx)
            }
            if next == .delivered || next == .pickedUp {
                // Cash on delivery is collected at the door or the counter, by the location that
                // fulfilled it (its own courier, or the carrier it handed the parcel to), which owes
                // it until it remits (第三方代收, `remitCashOnDelivery`).
                let collector = o.lines.compactMap(\.locationId).first
                for i in o.payments.indices where o.payments[i].tender == .cod && o.payments[i].status == .pending {
                    o.payments[i].status = .captured
                    o.payments[i].captured = o.payments[i].amount
                    o.payments[i].providerReference = collector
                    o.payments[i].updatedAt = now
                    try await OrderRows.update(payment: o.payments[i], tx)
                    try await OrderRows.ledger(payment: o.payments[i].id, kind: "capture", amount: o.payments[i].amount, at: now, caller: caller, tx)
                }
                o.paidTotal = o.payments.reduce(0) { $0 + $1.captured }
                if o.paymentStatus == .codDue, o.payments.allSatisfy({ $0.captured >= $0.amount }) { o.paymentStatus = .paid }
            }
            if next == .completed, let memberId = o.memberId {
                // The member's tier counts it and it earns points, in this transaction.
                _ = try await members.orderCompleted(memberId, try await completion(o, tx.sql), caller: caller, in: tx)
            }
            o.status = next
            o.timeline.append(TimelineEntry(at: now, kind: "status", status: next, actorId: caller.principal.id, note: note))
            try await save(&o, before: before, action: next.rawValue, event: "order.\(next.rawValue)", caller: caller, tx)
            return o
        }
    }

    /// What an order counts toward its member's tier and points: what was paid and kept for the
    /// goods, less points (points do not earn points) and shipping.
    static func memberSpend(_ o: Order) -> Int64 {
        let paid = o.payments.filter { $0.tender != .points }.reduce(Int64(0)) { $0 + $1.captured - $1.refunded }
        return max(0, paid - o.shippingTotal)
    }

    /// The order as the members context counts it: its spend, the channel, the points multiplier
    /// a promotion gave it when it was placed, and the spend split over its kept lines' categories
    /// in proportion to their totals (the last line takes the remainder), for the earn rules.
    func completion(_ o: Order, _ sql: any SQLDatabase) async throws -> OrderCompletion {
        let spend = Self.memberSpend(o)
        let kept = o.lines.compactMap { l -> (sku: String, value: Int64)? in
            let units = l.quantity - l.cancelled
            guard units > 0, l.quantity > 0 else { return nil }
            return (l.skuId, l.total * Int64(units) / Int64(l.quantity))
        }
        let value = kept.reduce(Int64(0)) { $0 + $1.value }
        let multiplier = try await pricing.pointsMultiplier(orderId: o.id, sql)
        guard value > 0 else { return OrderCompletion(orderId: o.id, amount: spend, promotionMultiplier: multiplier, channelId: o.channelId) }
        let categories = try await catalog.categoryIds(skuIds: kept.map(\.sku), sql)
        var left = spend
        let lines = kept.enumerated().map { i, k in
            let share = i == kept.count - 1 ? left : spend * k.value / value
            left -= share
            return EarnLine(categoryId: categories[k.sku], amount: share)
        }
        return OrderCompletion(orderId: o.id, amount: spend, promotionMultiplier: multiplier, channelId: o.channelId, lines: lines)
    }

    /// Cancels the whole order and gives its stock back. Before release anyone who may manage
    /// the order can; once the location has it, only the location can (it may already be picking).
    public func cancel(_ id: String, reason: String, caller: Caller) async throws -> Order {
        try await cancel(id, reason: reason, caller: caller, onlyIf: nil)
    }

    /// Cancels as `cancel` does, when the order as locked still `onlyIf.holds` (a worker's reason
    /// to cancel may be gone by then: the order paid, or routed); 409 saying what changed if not.
    func cancel(_ id: String, reason: String, caller: Caller, onlyIf: (holds: @Sendable (Order) -> Bool, otherwise: String)?) async throws -> Order {
        var v = Validator()
        v.text(reason, "reason", max: 500)
        try v.finish()
        let now = clock.instant()
        let cancelled = try await db.write { tx in
            var o = try await self.locked(id, caller: caller, tx)
            let before = o
            guard o.status.next.contains(.cancelled) else { throw Self.invalid(o, to: "cancelled") }
            if let onlyIf, !onlyIf.holds(o) { throw Self.refused(o, onlyIf.otherwise) }
            if [.released, .picking, .readyForPickup].contains(o.status) {
                let byId = try await locations.byId()
                let atLocation = caller.principal.scope.level == .location && o.lines.contains { l in
                    l.locationId.flatMap { byId[$0] }.map { caller.principal.scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false
                }
                guard atLocation else { throw Self.refused(o, "it is released to its location: the location cancels it (it may be picking)") }
            }
            if let r = o.reservationId {
                do { _ = try await inventory.release(r, reason: "order cancelled: \(reason)", caller: caller, in: tx) } catch let p as Problem where p.status == 409 {
                    // Already released (an expired hold): nothing is left to give back.
                }
            }
            for i in o.lines.indices { o.lines[i].cancelled = o.lines[i].quantity }
            o.status = .cancelled
            o.timeline.append(TimelineEntry(at: now, kind: "cancelled", status: .cancelled, actorId: caller.principal.id, note: reason))
            try await save(&o, before: before, action: "cancel", event: "order.cancelled", caller: caller, tx)
            return o
        }
        let captured = cancelled.payments.filter { $0.tender != .cod }.reduce(Int64(0)) { $0 + $1.captured - $1.refunded }
        return try await refund(cancelled, amount: captured, reason: reason, caller: caller)
    }

    /// Puts the order on hold; a held order is not released. Holding it again changes nothing.
    public func hold(_ id: String, _ kind: HoldKind, note: String?, caller: Caller) async throws -> Order {
        if kind == .groupBuy { throw Problem.validation([.init("kind", "group_buy is set by placing an order in a group buy")]) }
        return try await changeHold(id, kind, on: true, note: note, caller: caller)
    }

    /// Lifts one hold; lifting a hold the order does not have changes nothing.
    public func releaseHold(_ id: String, _ kind: HoldKind, note: String?, caller: Caller) async throws -> Order {
        if kind == .groupBuy { throw Problem.validation([.init("kind", "group_buy lifts when the order's group fills")]) }
        return try await changeHold(id, kind, on: false, note: note, caller: caller)
    }

    // MARK: Group buys (团购)

    /// The orders waiting on a hold of `kind`, oldest first.
    public func heldOrderIds(_ kind: HoldKind, limit: Int = 500) async throws -> [String] {
        try await db.read { sql in
            try await sql.raw("""
                SELECT id FROM orders WHERE holds LIKE \(bind: "%\"\(kind.rawValue)\"%") AND status IN ('placed', 'allocated')
                ORDER BY id LIMIT \(literal: limit)
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// Lifts the group-buy hold of an order whose group filled.
    public func groupFilled(_ id: String, note: String) async throws -> Order {
        try await changeHold(id, .groupBuy, on: false, note: note, caller: .system)
    }

    /// Cancels and refunds an order whose group dissolved, while it still waits on its group
    /// (409 if it moved on meanwhile).
    public func groupDissolved(_ id: String, reason: String) async throws -> Order {
        try await cancel(id, reason: reason, caller: .system, onlyIf: ({ $0.holds.contains(.groupBuy) }, "it no longer waits on a group buy"))
    }

    func changeHold(_ id: String, _ kind: HoldKind, on: Bool, note: String?, caller: Caller) async throws -> Order {
        var v = Validator()
        v.text(note, "note", required: false, max: 500)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            var o = try await self.locked(id, caller: caller, tx)
            let before = o
            guard ![.cancelled, .completed, .settled].contains(o.status) else { throw Self.refused(o, "it is \(o.status.rawValue)") }
            guard o.holds.contains(kind) != on else { return o }
            if on { o.holds.append(kind) } else { o.holds.removeAll { $0 == kind } }
            o.timeline.append(TimelineEntry(at: now, kind: on ? "held" : "hold_released", status: o.status, actorId: caller.principal.id,
                                            note: [kind.rawValue, note].compactMap { $0 }.joined(separator: ": ")))
            try await save(&o, before: before, action: on ? "hold" : "release_hold", event: on ? "order.held" : "order.hold_released",
                           caller: caller, tx)
            return o
        }
    }

    /// Cancels unpaid orders whose payment window closed, giving their stock back; returns how
    /// many. Safe in several processes at once.
    @discardableResult
    public func cancelUnpaid(limit: Int = 100) async throws -> Int {
        let now = clock.instant()
        let due = try await db.read { sql in
            try await sql.raw("""
                SELECT id FROM orders WHERE payment_status = 'pending' AND pay_by IS NOT NULL AND pay_by <= \(bind: now.epochMillis)
                ORDER BY pay_by LIMIT \(literal: limit)
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var n = 0
        for id in due {
            do {
                _ = try await cancel(id, reason: "not paid in time", caller: .system,
                                     onlyIf: ({ $0.paymentStatus == .pending }, "it is no longer waiting for payment"))
                n += 1
            } catch let p as Problem where p.status == 409 {
                continue  // paid or cancelled meanwhile
            }
        }
        return n
    }

    /// Cancels the orders that waited on a routing hold longer than their channel's rule allows
    /// (`autoCancelAfterDays`, counted from routing's last try), giving their stock back and
    /// refunding what was paid; returns how many. Safe in several processes at once.
    @discardableResult
    public func cancelUnrouted() async throws -> Int {
        let now = clock.instant()
        let due = try await db.read { sql -> [(id: String, reason: String)] in
            let rules = try await sql.raw("SELECT * FROM order_routing_rules").all().map(Self.rule)
            guard rules.contains(where: { $0.autoCancelAfterDays != nil }) else { return [] }
            let byChannel = Dictionary(uniqueKeysWithValues: rules.compactMap { r in r.channelId.map { ($0, r) } })
            let standard = rules.first { $0.channelId == nil }
            // Orders on a routing hold are a person's work queue: few enough to read whole.
            return try await sql.raw("""
                SELECT id, channel_id, routing FROM orders WHERE holds LIKE '%"routing"%' AND status IN ('placed', 'allocated') ORDER BY id
                """).all().compactMap { r in
                    guard let rule = byChannel[try r.decode(column: "channel_id", as: String.self)] ?? standard, rule.fallback == .manual,
                          let days = rule.autoCancelAfterDays,
                          let tried = try OrderRows.decode(RoutingDecision.self, try r.decode(column: "routing", as: String?.self))?.at,
                          now.timeIntervalSince(tried) >= Double(days) * 86_400 else { return nil }
                    return (try r.decode(column: "id", as: String.self), "not routed within \(days) day(s) (rule '\(rule.name)')")
                }
        }
        var n = 0
        for o in due {
            do {
                _ = try await cancel(o.id, reason: o.reason, caller: .system,
                                     onlyIf: ({ $0.holds.contains(.routing) }, "it was routed meanwhile"))
                n += 1
            } catch let p as Problem where p.status == 409 {
                continue  // routed or cancelled meanwhile
            }
        }
        return n
    }

    // MARK: Helpers

    func locked(_ id: String, caller: Caller, _ tx: Transaction) async throws -> Order {
        guard let o = try await OrderRows.order(id, tx.sql, lock: tx.engine == .postgres), try await visible(o, caller.principal.scope) else {
            throw Problem.notFound("order", id)
        }
        return o
    }

    static func invalid(_ o: Order, to: String) -> Problem {
        var p = Problem.conflict("Order \(o.id) is \(o.status.rawValue) and cannot become \(to); it may become: "
                                 + (o.status.next.isEmpty ? "nothing (final)" : o.status.next.map(\.rawValue).joined(separator: ", ")) + ".",
                                 kind: "invalid-transition")
        p.allowed = o.status.next.map(\.rawValue)
        return p
    }

    static func refused(_ o: Order, _ why: String) -> Problem {
        var p = Problem.conflict("Order \(o.id) cannot move on: \(why).", kind: "invalid-transition")
        p.allowed = o.status.next.map(\.rawValue)
        return p
    }
}

// MARK: - Routing rules

extension OrderService {
    /// The rule for a channel: its own, else the default (stored or built in).
    func routingRule(channelId: String) async throws -> RoutingRule {
        try await db.read { sql in
            let rows = try await sql.raw("SELECT * FROM order_routing_rules WHERE rule_key IN (\(bind: channelId), '*')").all().map(Self.rule)
            return rows.first { $0.channelId == channelId } ?? rows.first ?? RoutingRule.standard(at: Date(epochMillis: 0))
        }
    }

    /// The stored rules, the default one (no channel) first, then by channel.
    public func routingRules() async throws -> [RoutingRule] {
        try await db.read { sql in
            try await sql.raw("SELECT * FROM order_routing_rules ORDER BY rule_key").all().map(Self.rule)
        }.sorted { ($0.channelId ?? "", $0.name) < ($1.channelId ?? "", $1.name) }
    }

    public struct NewRoutingRule: Sendable {
        public var channel: String?
        public var name: String
        public var useStores: Bool
        public var useWarehouses: Bool
        public var locations: LocationGroup?
        public var maxLocations: Int
        public var noSplitBelow: Int64
        public var next: [RoutingStep]
        public var fallback: RoutingRule.Fallback
        public var autoCancelAfterDays: Int?
        public var weights: RoutingRule.Weights
        public init(channel: String?, name: String, useStores: Bool = true, useWarehouses: Bool = true, locations: LocationGroup? = nil,
                    maxLocations: Int = 3, noSplitBelow: Int64 = 0, next: [RoutingStep] = [], fallback: RoutingRule.Fallback = .reject,
                    autoCancelAfterDays: Int? = nil, weights: RoutingRule.Weights = .init()) {
            self.channel = channel
            self.name = name
            self.useStores = useStores
            self.useWarehouses = useWarehouses
            self.locations = locations
            self.maxLocations = maxLocations
            self.noSplitBelow = noSplitBelow
            self.next = next
            self.fallback = fallback
            self.autoCancelAfterDays = autoCancelAfterDays
            self.weights = weights
        }
    }

    /// The most steps a rule may try after its own.
    public static let maxNextSteps = 5

    /// Sets a channel's routing rule (or, without a channel, the default one); it applies to
    /// orders placed from then on.
    public func setRoutingRule(_ new: NewRoutingRule, caller: Caller) async throws -> RoutingRule {
        let channelId = try await validated(new)
        let key = channelId ?? "*"
        let now = clock.instant()
        return try await db.write { tx in
            let before = try await tx.sql.raw("SELECT * FROM order_routing_rules WHERE rule_key = \(bind: key)").first().map(Self.rule)
            let rule = RoutingRule(new, channelId: channelId, version: (before?.version ?? 0) + 1, at: now)
            try await tx.sql.raw("DELETE FROM order_routing_rules WHERE rule_key = \(bind: key)").run()
            try await tx.sql.raw("""
                INSERT INTO order_routing_rules (rule_key, channel_id, name, use_stores, use_warehouses, locations, max_locations, no_split_below,
                    next_steps, fallback, auto_cancel_after_days, weights, version, updated_at)
                VALUES (\(bind: key), \(bind: channelId), \(bind: rule.name), \(bind: rule.useStores ? 1 : 0), \(bind: rule.useWarehouses ? 1 : 0),
                        \(bind: OrderRows.json(rule.locations)), \(bind: rule.maxLocations), \(bind: rule.noSplitBelow),
                        \(bind: OrderRows.json(rule.next)), \(bind: rule.fallback.rawValue), \(bind: rule.autoCancelAfterDays),
                        \(bind: OrderRows.json(rule.weights)), \(bind: rule.version), \(bind: now.epochMillis))
                """).run()
            try await recorder.record(tx, caller: caller, action: before == nil ? "create" : "update", entityType: "routing_rule", entityId: key,
                                      before: before, after: rule, organisationId: nil, locationId: nil, event: "order.routing_rule_set")
            return rule
        }
    }

    /// Checks a rule as setting it does (422 naming each bad field); returns its channel's id,
    /// nil for the default rule.
    func validated(_ new: NewRoutingRule) async throws -> String? {
        var v = Validator()
        v.text(new.name, "name", max: 100)
        v.range(new.maxLocations, "maxLocations", 1...10)
        v.range(new.noSplitBelow, "noSplitBelow", 0...1_000_000_000_00)
        v.check(new.useStores || new.useWarehouses, "useStores", "a rule must let stores or warehouses fulfil")
        if new.next.count > Self.maxNextSteps { v.add("next", "must have at most \(Self.maxNextSteps) steps") }
        let known = try await locations.all()
        let organisations = Set(known.map(\.organisationId))
        func check(_ g: LocationGroup?, _ field: String) {
            guard let g else { return }
            v.check(!g.isEmpty, field, "must name locations, organisations or regions (leave it out for every location)")
            v.check(g.locations.count + g.organisations.count + g.regions.count <= 1_000, field, "may name at most 1,000 entries")
            for (i, l) in g.locations.enumerated() where !known.contains(where: { $0.id == l || $0.code == l }) {
                v.add("\(field).locations[\(i)]", "no location '\(l)'")
            }
            for (i, o) in g.organisations.enumerated() where !organisations.contains(o) {
                v.add("\(field).organisations[\(i)]", "no location belongs to organisation '\(o)'")
            }
            for (i, r) in g.regions.enumerated() where !(r.count == 6 && r.allSatisfy { $0.isASCII && $0.isNumber }) {
                v.add("\(field).regions[\(i)]", "must be a 6-digit province, city or district code")
            }
        }
        check(new.locations, "locations")
        var names: Set<String> = [new.name]
        for (i, s) in new.next.enumerated() {
            v.text(s.name, "next[\(i)].name", max: 100)
            if !names.insert(s.name).inserted { v.add("next[\(i)].name", "another step is already called '\(s.name)'") }
            v.range(s.maxLocations, "next[\(i)].maxLocations", 1...10)
            v.check(s.useStores || s.useWarehouses, "next[\(i)].useStores", "a step must let stores or warehouses fulfil")
            check(s.locations, "next[\(i)].locations")
        }
        if let d = new.autoCancelAfterDays {
            v.range(d, "autoCancelAfterDays", 1...90)
            v.check(new.fallback == .manual, "autoCancelAfterDays", "cancels orders waiting for a person to route them: it needs the manual fallback")
        }
        let w = new.weights
        for (name, value) in [("distancePerKm", w.distancePerKm), ("split", w.split), ("lastUnits", w.lastUnits), ("priority", w.priority), ("capacity", w.capacity)] {
            v.check(value >= 0 && value <= 10_000 && value.isFinite, "weights.\(name)", "must be from 0 to 10,000")
        }
        try v.finish()
        guard let c = new.channel else { return nil }
        do { return try await catalog.channel(c).id } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("channelId", "no channel '\(c)'")])
        }
    }

    static func rule(_ r: any SQLRow) throws -> RoutingRule {
        RoutingRule(channelId: try r.decode(column: "channel_id", as: String?.self), name: try r.decode(column: "name", as: String.self),
                    useStores: try r.decode(column: "use_stores", as: Int.self) != 0, useWarehouses: try r.decode(column: "use_warehouses", as: Int.self) != 0,
                    locations: try OrderRows.decode(LocationGroup.self, try r.decode(column: "locations", as: String?.self)),
                    maxLocations: try r.decode(column: "max_locations", as: Int.self), noSplitBelow: try r.decode(column: "no_split_below", as: Int64.self),
                    next: try OrderRows.decode([RoutingStep].self, try r.decode(column: "next_steps", as: String?.self)) ?? [],
                    fallback: RoutingRule.Fallback(rawValue: try r.decode(column: "fallback", as: String.self)) ?? .reject,
                    autoCancelAfterDays: try r.decode(column: "auto_cancel_after_days", as: Int?.self),
                    weights: try OrderRows.decode(RoutingRule.Weights.self, try r.decode(column: "weights", as: String.self)) ?? .init(),
                    version: try r.decode(column: "version", as: Int.self), updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }
}

extension RoutingRule {
    /// The rule a checked `NewRoutingRule` makes.
    init(_ new: OrderService.NewRoutingRule, channelId: String?, version: Int, at now: Date) {
        self.init(channelId: channelId, name: new.name, useStores: new.useStores, useWarehouses: new.useWarehouses, locations: new.locations,
                  maxLocations: new.maxLocations, noSplitBelow: new.noSplitBelow, next: new.next, fallback: new.fallback,
                  autoCancelAfterDays: new.autoCancelAfterDays, weights: new.weights, version: version, updatedAt: now)
    }
}
