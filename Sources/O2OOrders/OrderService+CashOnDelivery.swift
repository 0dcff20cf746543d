import Foundation
import O2OCore
import SQLKit

// MARK: - Cash on delivery: collected by a courier or a store, remitted later (第三方代收)

/// Cash a location collected on delivery and has not yet handed over.
public struct CashOnDeliveryDue: Sendable, Equatable {
    public var paymentId: String
    public var orderId: String
    public var collectorId: String
    public var amount: Int64
    public var currency: String
    public var collectedAt: Date
}

public struct CashOnDeliveryRemittance: Sendable, Equatable {
    public var id: String
    public var collectorId: String
    public var reference: String
    public var amount: Int64
    public var payments: [String]
    public var at: Date
}

extension OrderService {
    /// The cash on delivery each location has collected and not remitted, oldest first.
    public func cashOnDeliveryDue(collector: String?, scope: Scope) async throws -> [CashOnDeliveryDue] {
        let collectorId = try await collector.asyncMap { ref -> String in
            guard let l = try await locations.find(ref), scope.allows(organisationId: l.organisationId, locationId: l.id) else {
                throw Problem.validation([.init("collector", "no location '\(ref)' in your scope")])
            }
            return l.id
        } ?? nil
        let rows = try await db.read { sql in
            var q: SQLQueryString = """
                SELECT p.id, p.order_id, p.provider_reference, p.captured, p.updated_at, o.currency FROM order_payments p JOIN orders o ON o.id = p.order_id
                WHERE p.tender = 'cod' AND p.status = 'captured' AND p.provider_reference IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM order_payment_ledger l WHERE l.payment_id = p.id AND l.kind = 'remit')
                """
            if let collectorId { q += " AND p.provider_reference = \(bind: collectorId)" }
            q += " ORDER BY p.updated_at, p.id"
            return try await sql.raw(q).all()
        }
        let byId = try await locations.byId()
        return try rows.compactMap { r in
            let collector = try r.decode(column: "provider_reference", as: String.self)
            guard let l = byId[collector], scope.allows(organisationId: l.organisationId, locationId: l.id) else { return nil }
            return CashOnDeliveryDue(paymentId: try r.decode(column: "id", as: String.self), orderId: try r.decode(column: "order_id", as: String.self),
                                     collectorId: collector, amount: try r.decode(column: "captured", as: Int64.self),
                                     currency: try r.decode(column: "currency", as: String.self),
                                     collectedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
        }
    }

    /// Records that `collector` handed over the cash of these payments: they must be its, collected
    /// and not yet remitted, and add up to `amount` exactly — a shortfall or a surplus is 409 with
    /// the difference, nothing recorded. Each payment gets a `remit` ledger row.
    public func remitCashOnDelivery(collector: String, payments ids: [String], amount: Int64, reference: String,
                                    caller: Caller) async throws -> CashOnDeliveryRemittance {
        var v = Validator()
        v.text(collector, "collector", max: 100)
        v.text(reference, "reference", max: 100)
        v.check((1...1_000).contains(ids.count), "paymentIds", "name 1 to 1,000 payments")
        for (i, id) in ids.enumerated() where ids[..<i].contains(id) { v.add("paymentIds[\(i)]", "\(id) is named twice") }
        v.check(amount > 0, "amount", "must be a positive amount in minor units")
        try v.finish()
        let due = try await cashOnDeliveryDue(collector: collector, scope: caller.principal.scope)
        let open = Dictionary(uniqueKeysWithValues: due.map { ($0.paymentId, $0) })
        var pv = Validator()
        for (i, id) in ids.enumerated() where open[id] == nil { pv.add("paymentIds[\(i)]", "\(id) is not cash on delivery \(collector) collected and still owes") }
        try pv.finish()
        let owed = ids.reduce(Int64(0)) { $0 + open[$1]!.amount }
        guard owed == amount else {
            var p = Problem.conflict("These payments come to \(owed); \(amount) was handed over (\(amount > owed ? "+" : "")\(amount - owed)).",
                                     kind: "remittance-mismatch")
            p.errors = [.init("amount", "the payments come to \(owed)")]
            throw p
        }
        let now = clock.instant()
        let remittance = CashOnDeliveryRemittance(id: O2OID.make("cod", at: now), collectorId: due[0].collectorId, reference: reference, amount: amount,
                                                  payments: ids, at: now)
        return try await db.write { tx in
            for id in ids {
                // Inside the transaction again: two remittances of one payment cannot both pass.
                guard try await tx.sql.raw("SELECT 1 AS one FROM order_payment_ledger WHERE payment_id = \(bind: id) AND kind = 'remit'").first() == nil else {
                    throw Problem.conflict("Payment \(id) was remitted meanwhile.", kind: "remittance-mismatch")
                }
                try await OrderRows.ledger(payment: id, kind: "remit", amount: open[id]!.amount, at: now, caller: caller, tx)
            }
            try await recorder.record(tx, caller: caller, action: "remit", entityType: "cod_remittance", entityId: remittance.id,
                                      before: [String: String]?.none, after: ["collector": remittance.collectorId, "reference": reference, "amount": String(amount),
                                                                       "payments": ids.joined(separator: ",")],
                                      organisationId: nil, locationId: remittance.collectorId, event: "order.cod_remitted")
            return remittance
        }
    }
}
