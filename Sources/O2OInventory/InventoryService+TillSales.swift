import Foundation
import O2OCore
import SQLKit

// MARK: - Sales over the counter, as the till reports them

/// A SKU a till sale left below zero (on hand) or below what is promised (on hand < reserved).
public struct StockShortAfterSale: Codable, Sendable, Equatable {
    public var skuId: String
    public var onHand: Int
    public var reserved: Int
}

/// What a till sale did to the shelf.
public struct TillSaleStock: Sendable, Equatable {
    public var movements: [Movement]
    /// SKUs this sale left short: the store should count them, and orders holding their stock
    /// there may need another location.
    public var short: [StockShortAfterSale]
    /// Lines a count or snapshot as of a later time already found gone: the sale is recorded,
    /// and a matching correction keeps the shelf from being emptied twice.
    public var alreadyCounted: [Int]
}

extension InventoryService {
    /// Posts a sale that already happened at a store's till — never refused for stock, because the
    /// customer walked out with the goods. The movements carry the time of the sale, so a count or
    /// snapshot reconciles them in their place however late they arrive; when a count as of a later
    /// time was already posted, it found the goods gone, and a count correction of the same size
    /// (at the sale's time) keeps the sale from being taken twice. Runs inside the caller's
    /// transaction. `lines` are SKU ids and positive quantities.
    public func sellAtTill(location ref: String, lines: [(skuId: String, quantity: Int)], soldAt: Date, referenceId: String,
                           caller: Caller, in tx: Transaction) async throws -> TillSaleStock {
        let now = clock.instant()
        let location = try await stockLocation(ref, field: "locationId", scope: caller.principal.scope)
        let skus = Array(Set(lines.map(\.skuId))).sorted()
        let counted = try await tx.sql.raw("""
            SELECT DISTINCT l.sku_id, c.id FROM inventory_count_lines l JOIN inventory_counts c ON c.id = l.count_id
            WHERE c.location_id = \(bind: location.id) AND c.counted_at > \(bind: soldAt.epochMillis) AND l.sku_id IN \(SQLQueryString.list(skus))
            ORDER BY c.id
            """).all()
        var countOf: [String: String] = [:]
        for r in counted { countOf[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "id", as: String.self) }
        var changes: [Change] = []
        var alreadyCounted: [Int] = []
        for (i, l) in lines.enumerated() {
            var sale = Change(line: i, sku: l.skuId, location: location.id, organisation: location.organisationId, kind: .sale,
                              reason: "till sale", referenceType: "order", referenceId: referenceId)
            sale.onHand = -l.quantity
            sale.at = soldAt
            changes.append(sale)
            if let count = countOf[l.skuId] {
                alreadyCounted.append(i)
                var fix = Change(line: i, sku: l.skuId, location: location.id, organisation: location.organisationId, kind: .countVariance,
                                 reason: "sold at the till before count \(count), which already found it gone", referenceType: "count", referenceId: count)
                fix.onHand = l.quantity
                fix.at = soldAt
                changes.append(fix)
            }
        }
        let movements = try await apply(changes, tx, caller: caller, at: now)
        let rows = try await tx.sql.raw("""
            SELECT sku_id, on_hand, reserved FROM inventory_balances
            WHERE location_id = \(bind: location.id) AND sku_id IN \(SQLQueryString.list(skus)) AND (on_hand < 0 OR on_hand < reserved)
            ORDER BY sku_id
            """).all()
        let short = try rows.map {
            StockShortAfterSale(skuId: try $0.decode(column: "sku_id", as: String.self), onHand: try $0.decode(column: "on_hand", as: Int.self),
                                reserved: try $0.decode(column: "reserved", as: Int.self))
        }
        return TillSaleStock(movements: movements, short: short, alreadyCounted: alreadyCounted)
    }
}
