import Foundation
import O2OCore
import SQLKit

/// 效果评估 of one promotion or coupon template.
public struct PromotionReport: Codable, Sendable, Equatable {
    public var promotionId: String
    /// Orders that used it (reversed ones not counted).
    public var orders: Int
    /// Units of the lines it acted on.
    public var units: Int64
    /// What it cost: the discount given.
    public var discount: Int64
    /// Net revenue of the lines it acted on.
    public var revenue: Int64
    public var membersReached: Int
    /// For a coupon template: coupons made, coupons redeemed (at least once, not reversed), and their ratio.
    public var couponsIssued: Int64?
    public var couponsRedeemed: Int64?
    public var redemptionRate: Double?
    /// For a promotion with a budget: what is left of it.
    public var budgetLeft: Int64?
}

public struct RecordedApplication: Codable, Sendable, Equatable {
    public var promotionId: String
    public var couponId: String?
    public var discount: Int64
    public var units: Int64
    public var revenue: Int64
}

extension PromotionsService {
    /// Records, inside the order's transaction, each promotion the priced cart applied (the
    /// points step is not a promotion and is left out), and charges budgets: a promotion whose
    /// budget cannot carry its discount any more refuses (409 budget-exhausted) and the order's
    /// transaction rolls back, so the cart is priced again. A retry for the same order records nothing twice.
    @discardableResult
    public func recordApplication(orderId: String, memberId: String?, priced: PricedCart, caller: Caller,
                                  in tx: Transaction) async throws -> [RecordedApplication] {
        var v = Validator()
        v.text(orderId, "orderId", max: 100)
        try v.finish()
        let now = clock.instant()
        var out: [RecordedApplication] = []
        var budgetCharged = false
        for a in priced.applied where a.promotionId != "points" {
            let touched = priced.lines.filter { l in l.adjustments.contains { $0.promotionId == a.promotionId && $0.couponId == a.couponId } }
            let revenue = touched.reduce(Int64(0)) { $0 + $1.netAmount }
            let units = Int64(touched.reduce(0) { $0 + $1.quantity })
            let r = RecordedApplication(promotionId: a.promotionId, couponId: a.couponId, discount: a.discount,
                                        units: a.units > 0 ? Int64(a.units) : units, revenue: revenue)
            let inserted = try await tx.sql.raw("""
                INSERT INTO promotion_applications (promotion_id, order_id, coupon_id, member_id, discount, units, revenue, budgeted, at, reversed_at)
                VALUES (\(bind: r.promotionId), \(bind: orderId), \(bind: r.couponId), \(bind: memberId), \(bind: r.discount), \(bind: r.units),
                        \(bind: r.revenue), 0, \(bind: now.epochMillis), NULL)
                ON CONFLICT (promotion_id, order_id) DO NOTHING RETURNING promotion_id
                """).first()
            guard inserted != nil else { continue }
            if a.couponId == nil, a.discount > 0 {
                // Only promotions (not coupon templates) have budgets; a promotion without one passes.
                let charged = try await tx.sql.raw("""
                    UPDATE promotions SET budget_used = budget_used + \(bind: a.discount)
                    WHERE id = \(bind: a.promotionId) AND (budget IS NULL OR budget_used + \(bind: a.discount) <= budget) RETURNING budget
                    """).first()
                if charged == nil {
                    if let p = try await Self.promotion(a.promotionId, tx.sql, lock: false) {
                        throw PromotionsError.budgetExhausted(promotionId: p.id, left: p.budgetLeft ?? 0, requested: a.discount)
                    }
                } else {
                    try await tx.sql.raw("""
                        UPDATE promotion_applications SET budgeted = 1 WHERE promotion_id = \(bind: a.promotionId) AND order_id = \(bind: orderId)
                        """).run()
                    budgetCharged = true
                }
            }
            out.append(r)
        }
        if !out.isEmpty {
            struct Applications: Codable { var orderId: String; var memberId: String?; var applied: [RecordedApplication] }
            try await record(tx, caller, "record_application", entityType: "order", entityId: orderId, before: Applications?.none,
                             after: Applications(orderId: orderId, memberId: memberId, applied: out), event: "promotions.applied")
        }
        if budgetCharged { invalidate() }
        return out
    }

    /// The points multiplier, in percent (100: none), of the points promotions recorded as applied
    /// to an order and not reversed: the largest, as pricing took it. Read in `sql`.
    public func pointsMultiplier(orderId: String, _ sql: any SQLDatabase) async throws -> Int {
        var best = 1
        let rows = try await sql.raw("SELECT promotion_id FROM promotion_applications WHERE order_id = \(bind: orderId) AND reversed_at IS NULL AND coupon_id IS NULL").all()
        for row in rows {
            guard let p = try await Self.promotion(try row.decode(column: "promotion_id", as: String.self), sql, lock: false),
                  p.what.kind == .pointsMultiplier, let m = p.what.multiplier else { continue }
            best = max(best, m)
        }
        return best * 100
    }

    /// Takes an order's applications out of the effect data and gives their discount back to the
    /// budgets (the order was cancelled or fully returned). Reversing twice is a no-op.
    public func reverseApplication(orderId: String, caller: Caller, in tx: Transaction) async throws {
        let now = clock.instant()
        let rows = try await tx.sql.raw("""
            UPDATE promotion_applications SET reversed_at = \(bind: now.epochMillis)
            WHERE order_id = \(bind: orderId) AND reversed_at IS NULL RETURNING promotion_id, discount, budgeted
            """).all()
        guard !rows.isEmpty else { return }
        var ids: [String] = []
        for r in rows {
            let id = try r.decode(column: "promotion_id", as: String.self)
            ids.append(id)
            if try r.decode(column: "budgeted", as: Int.self) == 1 {
                try await tx.sql.raw("""
                    UPDATE promotions SET budget_used = budget_used - \(bind: try r.decode(column: "discount", as: Int64.self)) WHERE id = \(bind: id)
                    """).run()
            }
        }
        struct Reversal: Codable { var orderId: String; var promotionIds: [String] }
        try await record(tx, caller, "reverse_application", entityType: "order", entityId: orderId, before: Reversal?.none,
                         after: Reversal(orderId: orderId, promotionIds: ids.sorted()), event: "promotions.application_reversed")
        invalidate()
    }

    /// Orders, units, discount cost, revenue and members reached of a promotion or coupon template;
    /// for a template also the coupons made and the share of them redeemed.
    public func report(_ promotionId: String) async throws -> PromotionReport {
        try await db.read { sql in
            let promotion = try await Self.promotion(promotionId, sql, lock: false)
            let template = promotion == nil ? try await Self.template(promotionId, sql) : nil
            guard promotion != nil || template != nil else { throw Problem.notFound("promotion", promotionId) }
            let r = try await sql.raw("""
                SELECT COUNT(*) AS orders, CAST(COALESCE(SUM(units), 0) AS BIGINT) AS units, CAST(COALESCE(SUM(discount), 0) AS BIGINT) AS discount,
                       CAST(COALESCE(SUM(revenue), 0) AS BIGINT) AS revenue, COUNT(DISTINCT member_id) AS members
                FROM promotion_applications WHERE promotion_id = \(bind: promotionId) AND reversed_at IS NULL
                """).first()!
            var report = PromotionReport(promotionId: promotionId, orders: try r.decode(column: "orders", as: Int.self),
                                         units: try r.decode(column: "units", as: Int64.self), discount: try r.decode(column: "discount", as: Int64.self),
                                         revenue: try r.decode(column: "revenue", as: Int64.self),
                                         membersReached: try r.decode(column: "members", as: Int.self),
                                         couponsIssued: nil, couponsRedeemed: nil, redemptionRate: nil, budgetLeft: promotion?.budgetLeft)
            if let t = template {
                let redeemed = try await sql.raw("""
                    SELECT COUNT(DISTINCT coupon_id) AS n FROM coupon_redemptions WHERE template_id = \(bind: t.id) AND reversed_at IS NULL
                    """).first()!.decode(column: "n", as: Int64.self)
                report.couponsIssued = t.issued
                report.couponsRedeemed = redeemed
                report.redemptionRate = t.issued > 0 ? Double(redeemed) / Double(t.issued) : 0
            }
            return report
        }
    }
}
