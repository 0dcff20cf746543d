import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import SQLKit

// MARK: - Edits before release: a new address, lines added or removed, kept as versioned changes

/// What an edit changes; anything left empty stays as it is.
public struct OrderEdit: Sendable {
    /// A new delivery address (delivery orders only); every open line is routed again for it.
    public var address: DeliveryAddress?
    public var addLines: [(sku: String, quantity: Int)]
    /// Line numbers removed whole (their open units are cancelled and refunded).
    public var removeLines: [Int]
    /// Tenders for what the added lines cost, on an order already paid.
    public var payments: [(tender: Tender, amount: Int64)]
    public var note: String?
    public init(address: DeliveryAddress? = nil, addLines: [(sku: String, quantity: Int)] = [], removeLines: [Int] = [],
                payments: [(tender: Tender, amount: Int64)] = [], note: String? = nil) {
        self.address = address
        self.addLines = addLines
        self.removeLines = removeLines
        self.payments = payments
        self.note = note
    }
}

/// One version of an order's edits: who, when, and what changed.
public struct OrderChange: Codable, Sendable, Equatable {
    public var version: Int
    public var at: Date
    public var actorId: String
    public var summary: String
    public var addressBefore: DeliveryAddress?
    public var addressAfter: DeliveryAddress?
    public var addedLines: [Int]
    public var removedLines: [Int]
    public var totalBefore: Int64
    public var totalAfter: Int64
    public var note: String?
}

extension OrderService {
    /// Changes an order before it is released to its location: a new address, lines added,
    /// lines removed. The added lines are priced by the same pricing step as placing; the whole
    /// order is routed again (a new address may be served by another store) and its stock held
    /// again, in one transaction with the change; nothing is written when the edit cannot be
    /// served. The change is kept as a numbered version (`changes`). `expectedVersion` guards
    /// against editing what someone else just changed. Removed lines are refunded; added lines
    /// of a paid order need tenders for their value, captured like placing's.
    public func edit(_ id: String, _ e: OrderEdit, expectedVersion: Int? = nil, caller: Caller) async throws -> Order {
        var v = Validator()
        v.text(e.note, "note", required: false, max: 500)
        if e.address == nil && e.addLines.isEmpty && e.removeLines.isEmpty { v.add("body", "change the address, add lines or remove lines") }
        if let a = e.address { Self.validate(a, &v) }
        for (i, l) in e.addLines.enumerated() {
            v.text(l.sku, "addLines[\(i)].sku", max: 100)
            v.check((1...InventoryService.maxQuantity).contains(l.quantity), "addLines[\(i)].quantity", "must be a whole number from 1 to \(InventoryService.maxQuantity)")
        }
        for (i, p) in e.payments.enumerated() {
            v.check(p.amount > 0, "payments[\(i)].amount", "must be a positive amount in minor units")
            v.check(p.tender == .sandbox || p.tender.takenAtTill, "payments[\(i)].tender", "an edit is paid by sandbox, cash or card")
        }
        try v.finish()
        let current = try await order(id, scope: caller.principal.scope)
        let channel = try await catalog.channel(current.channelId)
        var cv = Validator()
        if channel.kind == .marketplace { cv.add("body", "\(channel.code) owns its orders: change them on the marketplace") }
        let method = current.lines.first?.method ?? .delivery
        if e.address != nil && method != .delivery && method != .shipFromWarehouse { cv.add("address", "a \(method.rawValue) order has no delivery address") }
        for (i, n) in e.removeLines.enumerated() {
            if !current.lines.contains(where: { $0.line == n && $0.cancelled < $0.quantity }) { cv.add("removeLines[\(i)]", "no open line \(n)") }
            if e.removeLines[..<i].contains(n) { cv.add("removeLines[\(i)]", "line \(n) is named twice") }
        }
        if current.lines.count + e.addLines.count > Self.maxLines { cv.add("addLines", "an order has at most \(Self.maxLines) lines") }
        if current.payments.contains(where: { $0.status == .pending && $0.tender != .cod }) && !e.addLines.isEmpty {
            cv.add("addLines", "a payment of this order is still pending: it was asked for the old total; cancel and place anew instead")
        }
        try cv.finish()
        var added: [PricedLine] = []
        if !e.addLines.isEmpty {
            do {
                added = try await pricing.price(e.addLines, channelId: channel.id, locationId: current.pickupLocationId ?? current.attributedLocationId,
                                                memberId: current.memberId, at: clock.instant())
            } catch var p as Problem where p.status == 422 {
                // The pricing step names its fields lines[i]; here they are addLines[i].
                p.errors = p.errors?.map { .init($0.field.hasPrefix("lines[") ? "add" + $0.field.prefix(1).uppercased() + $0.field.dropFirst() : $0.field,
                                                 $0.message, line: $0.line) }
                throw p
            }
        }
        let addedValue = added.enumerated().reduce(Int64(0)) { sum, p in
            let quantity = e.addLines[p.offset].quantity
            return sum + p.element.unitPrice * Int64(quantity) - p.element.discount(quantity: quantity)
        }
        let paidNow = current.paymentStatus == .paid || current.paymentStatus == .partiallyRefunded
        let tendered = e.payments.reduce(Int64(0)) { $0 + $1.amount }
        if paidNow ? tendered != addedValue : !e.payments.isEmpty {
            throw Problem.validation([.init("payments", paidNow ? "add up to \(tendered); the added lines cost \(addedValue)"
                                                              : "the order is not paid yet: it is paid as a whole, not per edit")])
        }
        let priced = added
        let rule = try await routingRule(channelId: channel.id)
        let pickup = try await current.pickupLocationId.asyncMap { try await locations.find($0) } ?? nil
        let now = clock.instant()
        var (edited, removedValue) = try await routingWrite { tx in
            try await self.apply(e, id: id, added: priced, channel: channel, rule: rule, pickup: pickup, expectedVersion: expectedVersion,
                                 at: now, caller: caller, tx)
        }
        if removedValue > 0 { edited = try await refund(edited, amount: removedValue, reason: "lines removed by an edit", caller: caller) }
        if !e.payments.isEmpty { edited = try await capture(edited, caller: caller) }
        return edited
    }

    private func apply(_ e: OrderEdit, id: String, added: [PricedLine], channel: SalesChannel, rule: RoutingRule, pickup: Location?,
                       expectedVersion: Int?, at now: Date, caller: Caller, _ tx: Transaction) async throws -> (Order, Int64) {
        var o = try await locked(id, caller: caller, tx)
        let before = o
        if let expectedVersion, expectedVersion != o.version {
            var p = Problem.conflict("Order \(o.id) is at version \(o.version), not \(expectedVersion): someone changed it; look again.", kind: "stale-version")
            p.errors = [.init("expectedVersion", "the order is at version \(o.version)")]
            throw p
        }
        guard o.status == .placed || o.status == .allocated else {
            throw Self.refused(o, "it is \(o.status.rawValue); an order is edited only before it is released to its location")
        }
        let method = o.lines.first?.method ?? .delivery
        // The order as edited: removed lines cancelled, new lines appended, the new address.
        var removedValue: Int64 = 0
        for i in o.lines.indices where e.removeLines.contains(o.lines[i].line) {
            let open = o.lines[i].quantity - o.lines[i].cancelled
            removedValue += o.lines[i].total / Int64(max(1, o.lines[i].quantity)) * Int64(open)
            o.lines[i].cancelled = o.lines[i].quantity
        }
        let first = (o.lines.map(\.line).max() ?? -1) + 1
        let newLines = added.enumerated().map { i, p in
            let q = e.addLines[i].quantity
            return OrderLine(line: first + i, skuId: p.skuId, skuCode: p.skuCode, quantity: q, unitPrice: p.unitPrice, listPrice: p.listPrice,
                             priceRule: p.rule, discount: p.discount(quantity: q), total: p.unitPrice * Int64(q) - p.discount(quantity: q), method: method,
                             locationId: nil, mode: nil, cancelled: 0)
        }
        o.lines += newLines
        if let a = e.address { o.address = a }
        // Every open line routed again, as placing would route the edited order.
        let open = o.lines.filter { $0.cancelled < $0.quantity }
        guard !open.isEmpty else { throw Problem.validation([.init("removeLines", "would leave nothing: cancel the order instead")]) }
        let new = NewOrder(channel: channel.id, method: method, address: o.address, pickupLocation: o.pickupLocationId,
                           lines: open.map { (sku: $0.skuId, quantity: $0.quantity - $0.cancelled) })
        let priced = open.map { l in
            PricedLine(skuId: l.skuId, skuCode: l.skuCode, currency: o.currency, listPrice: l.listPrice, unitPrice: l.unitPrice,
                       discount: l.discount / Int64(max(1, l.quantity)), rule: l.priceRule)
        }
        let plan = Plan(new: new, channel: channel, priced: priced, pickup: pickup, attributed: nil, rule: rule,
                        sites: try await candidateSites(new, pickup: pickup, rule: rule), paymentWindow: Self.defaultPaymentWindow)
        if let r = o.reservationId {
            do { _ = try await inventory.release(r, reason: "order edited: held again as edited", caller: Self.acting(caller), in: tx) }
            catch let p as Problem where p.status == 409 {
                // Nothing held any more (an order on a routing hold).
            }
        }
        let outcome = Router(rule: rule).route(open.map { RoutingLine(line: $0.line, sku: $0.skuId, quantity: $0.quantity - $0.cancelled) },
                                               routingRequest(plan), value: o.total,
                                               sites: try await routingSites(plan, sql: tx.sql, at: now))
        if !outcome.unplaced.isEmpty, rule.fallback != .manual {
            throw OrdersError.unroutable(lines: outcome.unplaced, decision: RoutingDecision(rule: rule.name, outcome, at: now))
        }
        for i in o.lines.indices {
            if let a = outcome.assignments[o.lines[i].line] { o.lines[i].locationId = a.site; o.lines[i].mode = a.mode }
            else if o.lines[i].cancelled < o.lines[i].quantity { o.lines[i].locationId = nil; o.lines[i].mode = nil }
        }
        let held = o.lines.filter { $0.locationId != nil && $0.cancelled < $0.quantity }
        o.reservationId = held.isEmpty ? nil : try await inventory.reserve(.init(
            channel: o.channelId, referenceType: "order", referenceId: o.id, expires: false,
            lines: held.map { .init(sku: $0.skuId, location: $0.locationId!, quantity: $0.quantity - $0.cancelled) }), caller: Self.acting(caller), in: tx).id
        let newSites = Set(held.compactMap(\.locationId)).subtracting(before.lines.compactMap(\.locationId))
        if !newSites.isEmpty { try await Self.addLoad(Array(newSites), day: Self.day(now), tx) }
        o.status = held.isEmpty ? .placed : .allocated
        if outcome.unplaced.isEmpty { o.holds.removeAll { $0 == .routing } } else if !o.holds.contains(.routing) { o.holds.append(.routing) }
        o.routing = RoutingDecision(rule: rule.name, outcome, policy: outcome.policy + "; routed again after an edit", at: now)
        // Totals grow by what was added; removed lines stay on the order as cancelled, and are refunded.
        let addedSubtotal = newLines.reduce(Int64(0)) { $0 + $1.unitPrice * Int64($1.quantity) }
        let addedDiscount = newLines.reduce(Int64(0)) { $0 + $1.discount }
        o.subtotal += addedSubtotal
        o.discountTotal += addedDiscount
        o.total += addedSubtotal - addedDiscount
        o.payments += e.payments.map { p in
            Payment(id: O2OID.make("pay", at: now), tender: p.tender, provider: p.tender == .sandbox ? payments.name : p.tender.rawValue,
                    status: .pending, amount: p.amount, captured: 0, refunded: 0, providerReference: nil, createdAt: now, updatedAt: now)
        }
        var parts: [String] = []
        if e.address != nil { parts.append("address changed") }
        if !newLines.isEmpty { parts.append("added line(s) \(newLines.map(\.line)) (\(newLines.map { "\($0.quantity) × \($0.skuCode)" }.joined(separator: ", ")))") }
        if !e.removeLines.isEmpty { parts.append("removed line(s) \(e.removeLines.sorted())") }
        let version = o.version + 1
        let summary = parts.joined(separator: "; ")
        let change = OrderChange(version: version, at: now, actorId: caller.principal.id, summary: summary, addressBefore: before.address,
                                 addressAfter: e.address == nil ? nil : o.address, addedLines: newLines.map(\.line), removedLines: e.removeLines.sorted(),
                                 totalBefore: before.total, totalAfter: o.total, note: e.note)
        try await tx.sql.raw("""
            INSERT INTO order_changes (order_id, version, at, actor_id, summary, change)
            VALUES (\(bind: o.id), \(bind: version), \(bind: now.epochMillis), \(bind: caller.principal.id), \(bind: summary), \(bind: OrderRows.json(change)))
            """).run()
        o.timeline.append(TimelineEntry(at: now, kind: "edited", status: o.status, actorId: caller.principal.id,
                                        note: "version \(version): \(summary)" + (e.note.map { " — " + $0 } ?? "")))
        if !outcome.unplaced.isEmpty {
            o.timeline.append(TimelineEntry(at: now, kind: "held", status: o.status, actorId: caller.principal.id,
                                            note: "routing: no location can take line(s) \(outcome.unplaced) as edited; queued for manual routing"))
        }
        let unpaid = try await Self.lowerCashOnDelivery(&o, by: removedValue, at: now, caller: caller, tx)
        try await save(&o, before: before, action: "edit", event: "order.edited", caller: caller, tx)
        return (o, unpaid)
    }

    /// The order's edits, oldest first.
    public func changes(_ id: String, scope: Scope) async throws -> [OrderChange] {
        _ = try await order(id, scope: scope)
        return try await db.read { sql in
            try await sql.raw("SELECT change FROM order_changes WHERE order_id = \(bind: id) ORDER BY version").all()
                .compactMap { try OrderRows.decode(OrderChange.self, try $0.decode(column: "change", as: String.self)) }
        }
    }
}
