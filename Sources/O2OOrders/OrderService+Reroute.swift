import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2OMembers
import O2ONetwork
import SQLKit

/// Why a location gives back lines routing assigned to it.
public enum RejectReason: String, Codable, Sendable, CaseIterable {
    /// The shelf does not have what the ledger says: the location's available for the SKU is
    /// adjusted to zero, so routing stops promising it.
    case outOfStock = "out_of_stock"
    /// The units are damaged: they move to quarantine.
    case damaged
    /// Anything else (no capacity, closed today, …), said in the note; no stock effect.
    case other
}

// MARK: - A location rejects its assignment; the lines are re-routed. Cancelling some units.

extension OrderService {
    /// A location gives back the lines assigned to it (all of its lines when `lines` is nil),
    /// and they are routed again by the channel's rule, never to a location that rejected this
    /// order before. In one transaction: the order's held stock is given back; out of stock
    /// zeroes what the location has available of the SKU (an adjustment), damaged quarantines the
    /// rejected units; the rejected lines are routed again; every line is held again (the others
    /// where they were) as the order's reservation; a released or picking order goes back to
    /// allocated, to be released to its new location. When no location can take the lines — or
    /// the order is a pickup, whose store the customer chose — the order goes on a routing hold
    /// with its other lines still held.
    ///
    /// Only the location's own staff, or HQ acting for it, may reject (403 otherwise); the order
    /// must be allocated, released or picking, not on a manual hold, and the lines sourced there (409).
    public func reject(_ id: String, location: String, reason: RejectReason, lines: [Int]? = nil, note: String?,
                       caller: Caller) async throws -> Order {
        var v = Validator()
        v.text(location, "locationId", max: 100)
        v.text(note, "note", required: reason == .other, max: 300)
        if let lines {
            if lines.isEmpty { v.add("lines", "must name at least one line, or be left out for all of the location's lines") }
            if lines.count > Self.maxLines { v.add("lines", "must name at most \(Self.maxLines) lines") }
            for (i, n) in lines.enumerated() where lines[..<i].contains(n) { v.add("lines[\(i)]", "line \(n) is named twice") }
        }
        try v.finish()
        guard let site = try await locations.find(location) else { throw Problem.validation([.init("locationId", "no location '\(location)'")]) }
        let scope = caller.principal.scope
        let current = try await order(id, scope: scope)
        guard scope.level == .all || (scope.level == .location && scope.allows(organisationId: site.organisationId, locationId: site.id)) else {
            throw Problem.forbidden("Only \(site.code)'s own staff, or HQ acting for it, may reject what is assigned to \(site.code).")
        }
        // The channel and its rule do not change with the order's state: looked up before the transaction.
        let channel = try await catalog.channel(current.channelId)
        let rule = try await routingRule(channelId: channel.id)
        let now = clock.instant()
        return try await routingWrite { tx in
            try await self.reroute(id, rejectedAt: site, reason: reason, lines: lines, note: note, channel: channel, rule: rule,
                                   at: now, caller: caller, tx)
        }
    }

    private func reroute(_ id: String, rejectedAt site: Location, reason: RejectReason, lines: [Int]?, note: String?, channel: SalesChannel,
                         rule: RoutingRule, at now: Date, caller: Caller, _ tx: Transaction) async throws -> Order {
        var o = try await locked(id, caller: caller, tx)
        let before = o
        guard [.allocated, .released, .picking].contains(o.status) else {
            throw Self.refused(o, "it is \(o.status.rawValue); a location rejects its lines only while the order is allocated, released or picking")
        }
        guard !o.holds.contains(.manual) else {
            throw Self.refused(o, "it is on a manual hold: whoever holds it decides where it goes; lift the hold first")
        }
        let byId = try await locations.byId()
        let numbers = try Self.rejectedLines(o, at: site, lines, byId: byId)
        let rejected = Set(numbers)
        let acting = Self.acting(caller)
        let why = String(("\(o.id): \(site.code) rejected line(s) \(numbers) (\(reason.rawValue))" + (note.map { ": " + $0 } ?? "")).prefix(450))

        // 1. The rejected units go back to the shelf; routing then sees the stock as it is.
        let open = o.lines.filter { rejected.contains($0.line) }.map { (line: $0, quantity: $0.quantity - $0.cancelled) }
        if let r = o.reservationId {
            let give = try await heldParts(r, open)
            if !give.isEmpty { _ = try await inventory.release(r, lines: give, reason: "rejected: " + why, caller: acting, in: tx) }
        }
        // 2. What the rejection says about the location's stock.
        var units: [String: Int] = [:]
        for l in open { units[l.line.skuId, default: 0] += l.quantity }
        switch reason {
        case .outOfStock:
            // The shelf did not have what the ledger said: what is not held for other orders is not there.
            _ = try await inventory.writeOffFree(location: site.id, skus: units.keys.sorted(), reason: "out of stock: " + why, referenceType: "order",
                                                 referenceId: o.id, caller: acting)
        case .damaged:
            _ = try await inventory.post(.init(location: site.id, kind: .damage, reason: "damaged: " + why, referenceType: "order", referenceId: o.id,
                                               lines: units.keys.sorted().map { .init(sku: $0, quantity: units[$0]!) }), caller: acting)
        case .other:
            break
        }
        // 3. Routed again, never to a location that rejected this order.
        let earlier = try await Self.rejections(o.id, tx.sql)
        try await tx.sql.raw("""
            INSERT INTO order_rejections (id, order_id, location_id, reason, lines, note, at, actor_id)
            VALUES (\(bind: O2OID.make("orj", at: now)), \(bind: o.id), \(bind: site.id), \(bind: reason.rawValue), \(bind: OrderRows.json(numbers)),
                    \(bind: note), \(bind: now.epochMillis), \(bind: caller.principal.id))
            """).run()
        var refusedBy: [(location: String, reason: String)] = [(site.id, reason.rawValue)]
        for e in earlier where !refusedBy.contains(where: { $0.location == e.location }) { refusedBy.append(e) }
        let excluded = Set(refusedBy.map(\.location))
        let sitesBefore = Set(o.lines.compactMap(\.locationId))
        for i in o.lines.indices where rejected.contains(o.lines[i].line) {
            o.lines[i].locationId = nil
            o.lines[i].mode = nil
        }
        let method = o.lines.first?.method ?? .delivery
        var moved: [Int: (site: String, mode: SourcingMode)] = [:]
        var unplaced: [Int] = []
        var candidates: [RoutingCandidate] = []
        var policy: String
        var step: String?
        if method == .pickup {
            unplaced = numbers
            policy = "pickup at the chosen store: the customer chose \(site.code), so a line it rejects is not moved to another store"
        } else {
            let outcome = try await routeLines(o, open, channel: channel, rule: rule, excluding: excluded, sql: tx.sql, at: now)
            moved = outcome.assignments
            unplaced = outcome.unplaced
            candidates = outcome.candidates
            policy = outcome.policy
            step = outcome.step
        }
        for i in o.lines.indices {
            if let a = moved[o.lines[i].line] { o.lines[i].locationId = a.site; o.lines[i].mode = a.mode }
        }
        // 4. Every line still sourced is held again, as the order's one reservation.
        let held = try await holdAgain(&o, reason: "re-routed: held again under the order's new reservation", caller: acting, tx)
        let added = Set(moved.values.map(\.site)).subtracting(sitesBefore)
        if !added.isEmpty { try await Self.addLoad(Array(added), day: Self.day(now), tx) }
        // 5. The order: its status, holds, explanation and timeline.
        let wasReleased = o.status == .released || o.status == .picking
        if held.isEmpty { o.status = .placed } else if wasReleased { o.status = .allocated }
        if !unplaced.isEmpty, !o.holds.contains(.routing) { o.holds.append(.routing) }
        Self.markRejected(&candidates, refusedBy, o, byId: byId)
        var assignments: [Int: String] = [:]
        for l in o.lines { if let at = l.locationId { assignments[l.line] = at } }
        if method != .pickup { policy += "; re-routing line(s) \(numbers) after \(site.code) rejected them (\(reason.rawValue))" }
        o.routing = RoutingDecision(rule: rule.name, step: step, policy: policy, candidates: candidates, assignments: assignments, at: now)
        o.timeline.append(TimelineEntry(at: now, kind: "rejected", status: o.status, actorId: caller.principal.id,
                                        note: "\(site.code) rejected line(s) \(numbers): \(reason.rawValue)" + (note.map { " — " + $0 } ?? "")))
        if !moved.isEmpty {
            let to = moved.sorted { $0.key < $1.key }.map { "line \($0.key) → \(byId[$0.value.site]?.code ?? $0.value.site) (\($0.value.mode.rawValue))" }
            o.timeline.append(TimelineEntry(at: now, kind: "rerouted", status: o.status, actorId: caller.principal.id,
                                            note: to.joined(separator: ", ") + (wasReleased ? "; release it again to its new location" : "")))
        }
        if !unplaced.isEmpty {
            let note = method == .pickup
                ? "routing: the customer chose \(site.code) for pickup and it rejected line(s) \(unplaced); route them by hand"
                : "routing: no other location can take line(s) \(unplaced); queued for manual routing"
            o.timeline.append(TimelineEntry(at: now, kind: "held", status: o.status, actorId: caller.principal.id, note: note))
        }
        try await save(&o, before: before, action: "reject", event: "order.rejected_by_location", caller: caller, tx)
        let payload = JSONCoding.string(o)
        if !moved.isEmpty {
            try await Outbox.enqueue(tx, DomainEvent(type: "order.rerouted", entityType: "order", entityId: o.id, payload: payload, organisationId: nil,
                                                     locationId: moved.values.map(\.site).sorted().first), at: now)
        }
        if !unplaced.isEmpty, !before.holds.contains(.routing) {
            try await Outbox.enqueue(tx, DomainEvent(type: "order.held", entityType: "order", entityId: o.id, payload: payload, organisationId: nil,
                                                     locationId: o.pickupLocationId), at: now)
        }
        return o
    }

    /// The line numbers a location rejects: those named (each must be sourced there and not
    /// wholly cancelled), or all of the location's open lines.
    private static func rejectedLines(_ o: Order, at site: Location, _ lines: [Int]?, byId: [String: Location]) throws -> [Int] {
        guard let lines else {
            let mine = o.lines.filter { $0.locationId == site.id && $0.quantity > $0.cancelled }.map(\.line)
            guard !mine.isEmpty else {
                throw Problem.conflict("Order \(o.id) has no line sourced at \(site.code): only the location a line is assigned to can reject it.",
                                       kind: "not-assigned")
            }
            return mine
        }
        var v = Validator()
        var wrong: [Problem.FieldError] = []
        for (i, n) in lines.enumerated() {
            guard let l = o.lines.first(where: { $0.line == n }) else { v.add("lines[\(i)]", "the order has no line \(n)"); continue }
            if l.quantity <= l.cancelled {
                wrong.append(.init("lines[\(i)]", "line \(n) is cancelled"))
            } else if l.locationId != site.id {
                let at = l.locationId.map { byId[$0]?.code ?? $0 }.map { "sourced at \($0)" } ?? "not sourced anywhere"
                wrong.append(.init("lines[\(i)]", "line \(n) is \(at), not at \(site.code)"))
            }
        }
        try v.finish()
        guard wrong.isEmpty else {
            var p = Problem.conflict("Order \(o.id): \(site.code) can reject only the lines sourced there. "
                                     + wrong.map { "\($0.field): \($0.message)" }.joined(separator: "; "), kind: "not-assigned")
            p.errors = wrong
            throw p
        }
        return lines
    }

    /// Routes these open lines of a placed order by `rule` on the stock `sql` sees now, as placing
    /// would: by its method, to its address or at its pickup store, at the prices it was sold,
    /// never to an `excluded` location (only to `only`, when given). `extra` adds units (location →
    /// SKU → units) to what the sites have, e.g. what the order itself holds when routed as if new.
    func routeLines(_ o: Order, _ open: [(line: OrderLine, quantity: Int)], channel: SalesChannel, rule: RoutingRule, excluding excluded: Set<String>,
                    only: Location? = nil, extra: [String: [String: Int]] = [:], sql: any SQLDatabase, at now: Date) async throws -> Router.Outcome {
        let method = o.lines.first?.method ?? .delivery
        let pickup = if method == .pickup { try await o.pickupLocationId.asyncMap { try await locations.find($0) } ?? nil } else { Location?.none }
        guard method == .pickup ? pickup != nil : o.address != nil else {
            return Router.Outcome(assignments: [:], policy: method == .pickup ? "no pickup store to route to" : "no delivery address to route by",
                                  candidates: [], unplaced: open.map(\.line.line).sorted())
        }
        let new = NewOrder(channel: channel.id, method: method, address: o.address, pickupLocation: pickup?.id,
                           lines: open.map { (sku: $0.line.skuId, quantity: $0.quantity) }, payments: [])
        let priced = open.map { l in
            PricedLine(skuId: l.line.skuId, skuCode: l.line.skuCode, currency: o.currency, listPrice: l.line.listPrice, unitPrice: l.line.unitPrice,
                       discount: l.line.discount / Int64(max(1, l.line.quantity)), rule: l.line.priceRule)
        }
        var sites = if let only { [only] } else { try await candidateSites(new, pickup: pickup, rule: rule) }
        sites.removeAll { excluded.contains($0.id) }
        let plan = Plan(new: new, channel: channel, priced: priced, pickup: pickup, attributed: nil, rule: rule, sites: sites,
                        paymentWindow: Self.defaultPaymentWindow)
        var weighed = try await routingSites(plan, sql: sql, at: now)
        for i in weighed.indices { for (sku, n) in extra[weighed[i].id] ?? [:] { weighed[i].stock[sku, default: 0] += n } }
        return Router(rule: rule).route(open.map { RoutingLine(line: $0.line.line, sku: $0.line.skuId, quantity: $0.quantity) },
                                        routingRequest(plan), value: o.total, sites: weighed)
    }

    /// Gives back the order's reservation and holds every open line that has a location again,
    /// as the order's one new reservation (none when no line has one); returns the lines held.
    func holdAgain(_ o: inout Order, reason: String, caller acting: Caller, _ tx: Transaction) async throws -> [OrderLine] {
        if let r = o.reservationId {
            do { _ = try await inventory.release(r, reason: reason, caller: acting, in: tx) }
            catch let p as Problem where p.status == 409 {
                // Nothing left to give back: every line it held was rejected.
            }
        }
        let held = o.lines.filter { $0.locationId != nil && $0.quantity > $0.cancelled }
        if held.isEmpty {
            o.reservationId = nil
        } else {
            o.reservationId = try await inventory.reserve(.init(
                channel: o.channelId, referenceType: "order", referenceId: o.id, expires: false,
                lines: held.map { .init(sku: $0.skuId, location: $0.locationId!, quantity: $0.quantity - $0.cancelled) }), caller: acting, in: tx).id
        }
        return held
    }

    /// Puts each location that rejected the order among the candidates, saying so.
    static func markRejected(_ candidates: inout [RoutingCandidate], _ refusedBy: [(location: String, reason: String)], _ o: Order,
                             byId: [String: Location]) {
        for (location, why) in refusedBy {
            guard let l = byId[location] else { continue }
            let km = o.address.map { greatCircleKm(lat1: l.coordinates.lat, lng1: l.coordinates.lng, lat2: $0.lat, lng2: $0.lng) } ?? 0
            candidates.removeAll { $0.locationId == location }
            candidates.append(RoutingCandidate(locationId: l.id, code: l.code, mode: nil, distanceKm: (km * 1000).rounded() / 1000, lines: [],
                                               score: nil, excluded: "rejected this order (\(why))", costs: [:]))
        }
    }

    /// Who rejected this order before, and why, oldest first.
    static func rejections(_ orderId: String, _ sql: any SQLDatabase) async throws -> [(location: String, reason: String)] {
        try await sql.raw("SELECT location_id, reason FROM order_rejections WHERE order_id = \(bind: orderId) ORDER BY at, id").all().map {
            (try $0.decode(column: "location_id", as: String.self), try $0.decode(column: "reason", as: String.self))
        }
    }

    // MARK: Cancelling some units

    /// Cancels some units of some lines and gives their stock back; cancelling every unit still
    /// open is the whole order's cancellation. The cancelled value of captured payments is refunded
    /// (a partial refund). Before release anyone who may manage the order can; once released,
    /// only the location that sources those lines. A line the order lacks, or more units than
    /// are left, is 422 naming `lines[i]`, with nothing written.
    public func cancelLines(_ id: String, lines: [(line: Int, quantity: Int)], reason: String, caller: Caller) async throws -> Order {
        var v = Validator()
        v.text(reason, "reason", max: 500)
        if lines.isEmpty { v.add("lines", "must name at least one line; cancel the whole order through …/cancel") }
        if lines.count > Self.maxLines { v.add("lines", "must name at most \(Self.maxLines) lines") }
        for (i, l) in lines.enumerated() {
            v.check((1...InventoryService.maxQuantity).contains(l.quantity), "lines[\(i)].quantity",
                    "must be a whole number from 1 to \(InventoryService.maxQuantity)")
        }
        try v.finish()
        let now = clock.instant()
        let (cancelled, due) = try await db.write { tx -> (Order, Int64) in
            var o = try await self.locked(id, caller: caller, tx)
            let before = o
            guard o.status.next.contains(.cancelled) else { throw Self.invalid(o, to: "cancelled") }
            var amounts: [Int: Int] = [:]
            var lv = Validator()
            for (i, l) in lines.enumerated() {
                guard let line = o.lines.first(where: { $0.line == l.line }) else { lv.add("lines[\(i)].line", "the order has no line \(l.line)"); continue }
                amounts[l.line, default: 0] += l.quantity
                let left = line.quantity - line.cancelled
                if amounts[l.line]! > left { lv.add("lines[\(i)].quantity", "line \(l.line) has \(left) unit(s) left to cancel, not \(amounts[l.line]!)") }
            }
            try lv.finish()
            if [.released, .picking, .readyForPickup].contains(o.status) {
                let byId = try await locations.byId()
                let scope = caller.principal.scope
                let atLocation = scope.level == .location && amounts.keys.allSatisfy { n in
                    o.lines.first { $0.line == n }?.locationId.flatMap { byId[$0] }
                        .map { scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false
                }
                guard atLocation else {
                    throw Self.refused(o, "it is released to its location: the location that sources those lines cancels them (it may be picking)")
                }
            }
            let whole = o.lines.allSatisfy { $0.quantity - $0.cancelled == (amounts[$0.line] ?? 0) }
            let acting = Self.acting(caller)
            if let r = o.reservationId {
                if whole {
                    do { _ = try await inventory.release(r, reason: "order cancelled: \(reason)", caller: acting, in: tx) }
                    catch let p as Problem where p.status == 409 {
                        // Already released: nothing is left to give back.
                    }
                } else {
                    let give = try await heldParts(r, amounts.sorted { $0.key < $1.key }.compactMap { n, q in
                        o.lines.first { $0.line == n }.map { (line: $0, quantity: q) }
                    })
                    if !give.isEmpty { _ = try await inventory.release(r, lines: give, reason: "lines cancelled: \(reason)", caller: acting, in: tx) }
                }
            }
            var value: Int64 = 0
            for i in o.lines.indices {
                guard let q = amounts[o.lines[i].line] else { continue }
                value += o.lines[i].total / Int64(max(1, o.lines[i].quantity)) * Int64(q)
                o.lines[i].cancelled += q
            }
            let refundable = o.payments.filter { $0.tender != .cod }.reduce(Int64(0)) { $0 + $1.captured - $1.refunded }
            if whole {
                o.status = .cancelled
                o.timeline.append(TimelineEntry(at: now, kind: "cancelled", status: .cancelled, actorId: caller.principal.id, note: reason))
                try await save(&o, before: before, action: "cancel", event: "order.cancelled", caller: caller, tx)
                return (o, refundable)
            }
            let what = amounts.sorted { $0.key < $1.key }.map { "line \($0.key) × \($0.value)" }.joined(separator: ", ")
            o.timeline.append(TimelineEntry(at: now, kind: "lines_cancelled", status: o.status, actorId: caller.principal.id, note: "\(what): \(reason)"))
            let unpaid = try await Self.lowerCashOnDelivery(&o, by: value, at: now, caller: caller, tx)
            try await save(&o, before: before, action: "cancel_lines", event: "order.lines_cancelled", caller: caller, tx)
            return (o, min(unpaid, refundable))
        }
        return try await refund(cancelled, amount: due, reason: reason, caller: caller)
    }

    /// Refunds `amount` of the order's captured tenders (not cash on delivery), first tender
    /// first, through their provider; the order is refunded when nothing captured is left.
    func refund(_ order: Order, amount: Int64, reason: String, caller: Caller) async throws -> Order {
        var parts: [(id: String, amount: Int64)] = []
        var left = amount
        for p in order.payments where p.tender != .cod && p.captured > p.refunded && left > 0 {
            let a = min(left, p.captured - p.refunded)
            parts.append((p.id, a))
            left -= a
        }
        guard !parts.isEmpty else { return order }
        var references: [String: String] = [:]
        for part in parts where order.payments.first(where: { $0.id == part.id })?.tender == .sandbox {
            references[part.id] = try await payments.refund(amount: part.amount, currency: order.currency, reference: part.id).reference
        }
        let now = clock.instant()
        let (due, refs) = (parts, references)
        return try await db.write { tx in
            var o = try await self.locked(order.id, caller: .system, tx)
            let before = o
            var total: Int64 = 0
            for part in due {
                guard let i = o.payments.firstIndex(where: { $0.id == part.id }), o.payments[i].captured - o.payments[i].refunded >= part.amount else { continue }
                try await self.refundToMember(o, o.payments[i], amount: part.amount, caller: caller, tx)
                o.payments[i].refunded += part.amount
                o.payments[i].status = o.payments[i].refunded >= o.payments[i].captured ? .refunded : .partiallyRefunded
                o.payments[i].providerReference = refs[part.id] ?? o.payments[i].providerReference
                o.payments[i].updatedAt = now
                try await OrderRows.update(payment: o.payments[i], tx)
                try await OrderRows.ledger(payment: part.id, kind: "refund", amount: part.amount, at: now, caller: caller, tx)
                total += part.amount
            }
            guard total > 0 else { return o }
            let open = o.payments.filter { $0.tender != .cod }.reduce(Int64(0)) { $0 + $1.captured - $1.refunded }
            o.paymentStatus = open == 0 ? .refunded : .partiallyRefunded
            o.timeline.append(TimelineEntry(at: now, kind: "refund", status: o.status, actorId: caller.principal.id,
                                            note: "refunded \(total) \(o.currency): \(reason)"))
            try await save(&o, before: before, action: "refund", event: "order.refunded", caller: caller, tx)
            return o
        }
    }

    /// Gives a wallet or points payment's refunded part back to the member's ledger, in the
    /// refund's transaction (other tenders are refunded through their provider).
    func refundToMember(_ o: Order, _ p: Payment, amount: Int64, caller: Caller, _ tx: Transaction) async throws {
        guard p.tender.fromMember, let memberId = o.memberId else { return }
        let paid = LedgerReference(type: "order_payment", id: p.id)
        let refund = LedgerReference(type: "order_refund", id: "\(p.id):\(p.refunded + amount)")
        if p.tender == .wallet {
            _ = try await members.refundToWallet(memberId, amount: Money(minorUnits: amount, currency: o.currency), payment: paid, reference: refund,
                                                 caller: caller, in: tx)
        } else {
            _ = try await members.reversePointsRedeem(memberId, redeem: paid, points: amount * members.points.pointsPerMinorUnit, reference: refund,
                                                      caller: caller, in: tx)
        }
    }

    /// Takes `value` off what the order's cash-on-delivery payments have still to collect, first
    /// payment first (a `reduce` ledger row each); returns the part of `value` left, which was
    /// paid before and is refunded.
    static func lowerCashOnDelivery(_ o: inout Order, by value: Int64, at now: Date, caller: Caller, _ tx: Transaction) async throws -> Int64 {
        var left = value
        for i in o.payments.indices where o.payments[i].tender == .cod && o.payments[i].status == .pending && o.payments[i].amount > 0 && left > 0 {
            let cut = min(left, o.payments[i].amount)
            o.payments[i].amount -= cut
            o.payments[i].updatedAt = now
            try await OrderRows.update(payment: o.payments[i], tx)
            try await OrderRows.ledger(payment: o.payments[i].id, kind: "reduce", amount: cut, at: now, caller: caller, tx)
            left -= cut
        }
        return left
    }

    // MARK: Helpers

    /// The reservation lines (and units of each) that hold these order lines' units: the lines of
    /// the same SKU at the same location, first line first. Units the reservation no longer
    /// holds are left out.
    private func heldParts(_ reservationId: String, _ wanted: [(line: OrderLine, quantity: Int)]) async throws -> [(line: Int, quantity: Int)] {
        let r = try await inventory.reservation(reservationId, scope: .all)
        guard r.status == .active else { return [] }
        var open = Dictionary(uniqueKeysWithValues: r.lines.map { ($0.line, $0.open) })
        var parts: [Int: Int] = [:]
        for w in wanted {
            guard let location = w.line.locationId else { continue }
            var need = w.quantity
            for l in r.lines where need > 0 && l.skuId == w.line.skuId && l.locationId == location {
                let take = min(need, open[l.line] ?? 0)
                guard take > 0 else { continue }
                parts[l.line, default: 0] += take
                open[l.line]! -= take
                need -= take
            }
        }
        return parts.sorted { $0.key < $1.key }.map { (line: $0.key, quantity: $0.value) }
    }

    /// The caller with the reach the use case needs in inventory: the order module has already
    /// checked what they may do to the order; holding and giving back its stock at other
    /// locations is part of that. Audit rows still name the caller.
    static func acting(_ caller: Caller) -> Caller {
        var c = caller
        c.principal.scope = .all
        return c
    }
}
