import Foundation
import O2OCatalog
import O2OCore
import O2OMembers
import O2OInventory
import O2ONetwork
import SQLKit

// MARK: - POS sales intake: sales that already happened at a store's till

/// One sale as the till rang it up: what was sold, at what price, paid how.
public struct TillSale: Sendable {
    /// The till's own id for the sale, unique at its store; resending it is harmless.
    public var transactionId: String
    /// The store (id or code).
    public var location: String
    /// The POS channel (id or code); nil picks the brand's only POS channel.
    public var channel: String?
    public var registerId: String?
    public var clerkId: String?
    public var memberId: String?
    /// When the customer paid, by the till's clock; offline tills send it late.
    public var soldAt: Date
    /// Unit prices as the till charged them (its promotions applied), minor units.
    public var lines: [(sku: String, quantity: Int, unitPrice: Int64)]
    public var payments: [(tender: Tender, amount: Int64)]

    public init(transactionId: String, location: String, channel: String? = nil, registerId: String? = nil, clerkId: String? = nil,
                memberId: String? = nil, soldAt: Date, lines: [(sku: String, quantity: Int, unitPrice: Int64)],
                payments: [(tender: Tender, amount: Int64)]) {
        self.transactionId = transactionId
        self.location = location
        self.channel = channel
        self.registerId = registerId
        self.clerkId = clerkId
        self.memberId = memberId
        self.soldAt = soldAt
        self.lines = lines
        self.payments = payments
    }
}

public struct TillSaleResult: Sendable {
    public enum Outcome: String, Sendable {
        /// Recorded now: an order in state completed, its stock sold at the store.
        case recorded
        /// Already recorded by an earlier send of the same transaction.
        case duplicate
        /// Not recorded; `problem` says why. Other sales of the batch are unaffected.
        case rejected
    }

    public var transactionId: String
    public var outcome: Outcome
    public var order: Order?
    /// SKUs the sale left below zero on hand, or below what orders hold there: count them, and
    /// re-route the orders that counted on them.
    public var short: [StockShortAfterSale]
    /// Lines a count or snapshot as of a later time had already found gone.
    public var alreadyCounted: [Int]
    public var problem: Problem?
}

extension OrderService {
    /// How far back a till sale may arrive: a count or snapshot reconciles within the same window.
    public static let tillSaleWindow: TimeInterval = 30 * 86_400
    public static let maxTillSales = 500

    /// Records sales that already happened at stores' tills, one transaction each, in the order
    /// they happened (an offline till's backlog arrives late and in any order). A sale is never
    /// refused for stock — the customer walked out with the goods — but a sale that leaves the
    /// shelf short says so. Each answer is per sale; a bad sale does not stop the others.
    public func recordTillSales(_ sales: [TillSale], caller: Caller) async throws -> [TillSaleResult] {
        var v = Validator()
        v.check((1...Self.maxTillSales).contains(sales.count), "sales", "send 1 to \(Self.maxTillSales) sales")
        try v.finish()
        var results: [TillSaleResult?] = Array(repeating: nil, count: sales.count)
        for i in sales.indices.sorted(by: { (sales[$0].soldAt, $0) < (sales[$1].soldAt, $1) }) {
            let s = sales[i]
            do {
                results[i] = try await recordTillSale(s, caller: caller)
            } catch let p as Problem where p.status < 500 && p.status != 403 {
                results[i] = TillSaleResult(transactionId: s.transactionId, outcome: .rejected, order: nil, short: [], alreadyCounted: [], problem: p)
            }
        }
        return results.map { $0! }
    }

    private func recordTillSale(_ sale: TillSale, caller: Caller) async throws -> TillSaleResult {
        let now = clock.instant()
        var v = Validator()
        v.text(sale.transactionId, "transactionId", max: 100)
        v.text(sale.location, "locationId", max: 100)
        v.text(sale.channel, "channelId", required: false, max: 100)
        v.text(sale.registerId, "registerId", required: false, max: 100)
        v.text(sale.clerkId, "clerkId", required: false, max: 100)
        v.text(sale.memberId, "memberId", required: false, max: 100)
        if sale.soldAt > now.addingTimeInterval(300) { v.add("soldAt", "is in the future by the server's clock") }
        if sale.soldAt < now.addingTimeInterval(-Self.tillSaleWindow) {
            v.add("soldAt", "is more than 30 days ago; post older sales as a stock adjustment")
        }
        if sale.lines.isEmpty { v.add("lines", "must have at least one line") }
        if sale.lines.count > Self.maxLines { v.add("lines", "must have at most \(Self.maxLines) lines") }
        for (i, l) in sale.lines.enumerated() {
            v.text(l.sku, "lines[\(i)].sku", max: 100)
            v.check((1...InventoryService.maxQuantity).contains(l.quantity), "lines[\(i)].quantity", "must be a whole number from 1 to \(InventoryService.maxQuantity)")
            v.check(l.unitPrice >= 0, "lines[\(i)].unitPrice", "must not be negative")
        }
        if sale.payments.isEmpty { v.add("payments", "a till sale is paid: name its tenders") }
        for (i, p) in sale.payments.enumerated() {
            v.check(p.amount > 0, "payments[\(i)].amount", "must be a positive amount in minor units")
            v.check(p.tender.takenAtTill || p.tender.notified, "payments[\(i)].tender", "a till takes cash, card, alipay or wechat_pay")
        }
        try v.finish()
        let total = sale.lines.reduce(Int64(0)) { $0 + $1.unitPrice * Int64($1.quantity) }
        let paid = sale.payments.reduce(Int64(0)) { $0 + $1.amount }
        if paid != total { throw Problem.validation([.init("payments", "add up to \(paid); the lines total \(total)")]) }

        guard let store = try await locations.find(sale.location), store.kind == .store,
              caller.principal.scope.allows(organisationId: store.organisationId, locationId: store.id) else {
            throw Problem.validation([.init("locationId", "no store '\(sale.location)' in your scope")])
        }
        let channel = try await tillChannel(sale.channel)
        let externalId = store.code + "/" + sale.transactionId
        if let existing = try await db.read({ sql in try await self.existing(channel: channel.id, externalId: externalId, sql) }) {
            return try duplicate(existing, of: sale, total: total)
        }
        if let m = sale.memberId {
            do { _ = try await members.member(m) } catch let p as Problem where p.status == 404 {
                throw Problem.validation([.init("memberId", "no member '\(m)'")])
            }
        }
        let listed = try await pricing.listPrices(sale.lines.map(\.sku), channelId: channel.id, locationId: store.id, at: sale.soldAt)
        let id = O2OID.make("ord", at: now)
        do {
            return try await db.write { tx in
                if let existing = try await self.existing(channel: channel.id, externalId: externalId, tx.sql) {
                    return try self.duplicate(existing, of: sale, total: total)
                }
                let stock = try await inventory.sellAtTill(location: store.id, lines: sale.lines.enumerated().map { (listed[$0.offset].skuId, $0.element.quantity) },
                                                           soldAt: sale.soldAt, referenceId: id, caller: caller, in: tx)
                let lines = sale.lines.enumerated().map { i, l in
                    let p = listed[i]
                    return OrderLine(line: i, skuId: p.skuId, skuCode: p.skuCode, quantity: l.quantity, unitPrice: l.unitPrice, listPrice: p.unitPrice,
                                     priceRule: l.unitPrice == p.unitPrice ? p.rule : "till", discount: 0, total: l.unitPrice * Int64(l.quantity),
                                     method: .inStore, locationId: store.id, mode: nil, cancelled: 0)
                }
                let payments = sale.payments.map { p in
                    Payment(id: O2OID.make("pay", at: now), tender: p.tender, provider: "till", status: .captured, amount: p.amount, captured: p.amount,
                            refunded: 0, providerReference: sale.registerId.map { "\($0)/\(sale.transactionId)" } ?? sale.transactionId,
                            createdAt: now, updatedAt: now)
                }
                var timeline = [TimelineEntry(at: sale.soldAt, kind: "sold", status: .completed, actorId: caller.principal.id,
                                              note: "sold at the till of \(store.code)" + (sale.registerId.map { ", register \($0)" } ?? "")
                                                  + (sale.clerkId.map { ", clerk \($0)" } ?? "") + "; \(total) \(listed.first?.currency ?? channel.currency) paid")]
                if !stock.short.isEmpty {
                    timeline.append(TimelineEntry(at: now, kind: "stock", status: .completed, actorId: caller.principal.id,
                                                  note: "left \(stock.short.count) SKU(s) short at \(store.code): "
                                                      + stock.short.map { "\($0.skuId) on hand \($0.onHand), held \($0.reserved)" }.joined(separator: "; ")))
                }
                let order = Order(
                    id: id, channelId: channel.id, externalId: externalId, status: .completed, paymentStatus: .paid, holds: [], memberId: sale.memberId,
                    contactPhone: nil, attributedLocationId: store.id, attributedClerkId: sale.clerkId, address: nil, pickupLocationId: nil,
                    pickupCode: nil, invoice: nil, currency: listed.first?.currency ?? channel.currency, subtotal: total, discountTotal: 0,
                    shippingTotal: 0, total: total, paidTotal: total, reservationId: nil, lines: lines, payments: payments, routing: nil,
                    timeline: timeline, version: 1, createdAt: sale.soldAt, updatedAt: now)
                try await OrderRows.insert(order, payWindow: 0, tx)
                if let m = sale.memberId {
                    // Sold and handed over at once: the member's tier counts it and it earns points now.
                    _ = try await members.orderCompleted(m, try await completion(order, tx.sql), caller: caller, in: tx)
                }
                for p in payments { try await OrderRows.ledger(payment: p.id, kind: "capture", amount: p.amount, at: now, caller: caller, tx) }
                try await recorder.record(tx, caller: caller, action: "till_sale", entityType: "order", entityId: id, before: Order?.none, after: order,
                                          organisationId: store.organisationId, locationId: store.id, event: "order.sold_at_till")
                if !stock.short.isEmpty {
                    try await recorder.record(tx, caller: caller, action: "short_after_sale", entityType: "inventory_location", entityId: store.id,
                                              before: [StockShortAfterSale]?.none, after: stock.short, organisationId: store.organisationId,
                                              locationId: store.id, event: "inventory.short_after_sale")
                }
                return TillSaleResult(transactionId: sale.transactionId, outcome: .recorded, order: order, short: stock.short,
                                      alreadyCounted: stock.alreadyCounted, problem: nil)
            }
        } catch where Database.classify(error) == .uniqueViolation {
            // The same sale sent twice at once: the unique index let one through.
            guard let existing = try await db.read({ sql in try await self.existing(channel: channel.id, externalId: externalId, sql) }) else { throw error }
            return try duplicate(existing, of: sale, total: total)
        }
    }

    /// The brand's POS channel: the one named, or the only one there is.
    private func tillChannel(_ ref: String?) async throws -> SalesChannel {
        if let ref {
            guard let c = try? await catalog.channel(ref), c.kind == .pos else {
                throw Problem.validation([.init("channelId", "no POS channel '\(ref)'")])
            }
            return c
        }
        let pos = try await catalog.channels().filter { $0.kind == .pos && $0.status == "active" }
        guard pos.count == 1 else {
            throw Problem.validation([.init("channelId", pos.isEmpty ? "there is no POS channel; create one of kind pos" : "name one of the POS channels \(pos.map(\.code))")])
        }
        return pos[0]
    }

    private func existing(channel: String, externalId: String, _ sql: any SQLDatabase) async throws -> Order? {
        guard let row = try await sql.raw("SELECT id FROM orders WHERE channel_id = \(bind: channel) AND external_id = \(bind: externalId)").first() else {
            return nil
        }
        return try await OrderRows.order(try row.decode(column: "id", as: String.self), sql, lock: false)
    }

    /// A resend of a recorded sale answers with the order; the same transaction id with other
    /// lines or amounts is a till fault, refused.
    private func duplicate(_ o: Order, of sale: TillSale, total: Int64) throws -> TillSaleResult {
        guard o.total == total, o.lines.map(\.quantity) == sale.lines.map(\.quantity) else {
            throw Problem.conflict("Transaction \(sale.transactionId) was recorded as order \(o.id) with other lines or amounts; a till must not reuse a transaction id.",
                                   kind: "transaction-reused")
        }
        return TillSaleResult(transactionId: sale.transactionId, outcome: .duplicate, order: o, short: [], alreadyCounted: [], problem: nil)
    }
}
