import Foundation
import O2OCore
import O2OPromotions
import O2OTestSupport

/// A fresh database with the promotions tables, the service over it and a manual clock that
/// starts on Monday 2025-03-10 at 10:00 China time.
struct Shop {
    let promotions: PromotionsService
    let db: Database
    let clock: ManualClock

    static let start = Date(timeIntervalSince1970: 1_741_572_000)  // 2025-03-10T02:00:00Z = 10:00 in Shanghai

    static func with<T: Sendable>(_ engine: DatabaseEngine, _ body: @escaping @Sendable (Shop) async throws -> T) async throws -> T {
        let clock = ManualClock(start)
        return try await TestDatabase.with(engine, migrations: CoreMigrations.all + PromotionsMigrations.all) { db in
            try await body(Shop(promotions: PromotionsService(db: db, clock: clock), db: db, clock: clock))
        }
    }

    func count(_ table: String) async throws -> Int { try await TestDatabase.count(table, db) }

    /// Rows of every promotions table plus audit and outbox, for "nothing was written".
    func snapshot() async throws -> [String: Int] {
        var n: [String: Int] = [:]
        for t in ["promotions", "coupon_templates", "coupons", "coupon_member_claims", "coupon_redemptions", "flash_sales", "flash_sale_members",
                  "flash_sale_claims", "promotion_applications", "audit_events", "outbox_events"] {
            n[t] = try await count(t)
        }
        return n
    }
}

let week = Schedule(validFrom: Shop.start.addingTimeInterval(-86_400), validTo: Shop.start.addingTimeInterval(7 * 86_400))

/// A draft that passes validation: 10% off everything on the web shop this week.
func draft(_ name: String = "10% off", what: Benefit? = .percentOff(10), where place: Placement = Placement(channels: ["web"]),
           priority: Int = 0, exclusive: Bool = false) -> PromotionDraft {
    PromotionDraft(name: name, when: week, what: what, where: place, priority: priority, exclusive: exclusive)
}

/// An active promotion for the engine, without a database.
func promo(_ id: String, _ what: Benefit, which: Conditions = .anyCart, who: Audience = .anyone, when: Schedule = week,
           where place: Placement = .everywhere, priority: Int = 0, exclusive: Bool = false, group: String? = nil,
           budget: Int64? = nil, used: Int64 = 0, status: PromotionStatus = .active) -> Promotion {
    Promotion(id: id, name: id, status: status, who: who, when: when, which: which, what: what, where: place, priority: priority,
              exclusive: exclusive, stackGroup: group, budget: budget, budgetUsed: used, createdAt: Shop.start, updatedAt: Shop.start)
}

func line(_ id: String, sku: String? = nil, category: String? = "cat-shirts", brand: String? = "brand-a", qty: Int = 1, price: Int64) -> CartLine {
    CartLine(lineId: id, skuId: sku ?? "sku-\(id)", skuCode: "CODE-\(id)", categoryId: category, brandId: brand, quantity: qty, unitPrice: price)
}

func cart(_ lines: [CartLine], channel: String = "web", member: MemberFacts = .guest, coupons: [CouponOffer] = [], points: PointsRequest? = nil,
          shipping: Int64 = 0, at: Date = Shop.start, location: String? = nil) -> Cart {
    Cart(lines: lines, channel: channel, locationId: location, member: member, coupons: coupons, points: points, shippingFee: shipping, at: at)
}

extension PricedCart {
    func reason(_ id: String) -> NotApplied.Reason? { notApplied.first { $0.promotionId == id }?.reason }
    func discount(_ id: String) -> Int64? { applied.first { $0.promotionId == id }?.discount }
    /// Lines add up to the order and each line's adjustments to its discount.
    var consistent: Bool {
        lines.allSatisfy { $0.amount - $0.discount == $0.netAmount && $0.adjustments.reduce(0) { $0 + $1.amount } == $0.discount }
            && lines.reduce(0) { $0 + $1.netAmount } + shippingFee - shippingDiscount == total
            && subtotal - itemDiscount - orderDiscount - couponDiscount - pointsDiscount == lines.reduce(0) { $0 + $1.netAmount }
    }
}

extension Problem {
    var fields: Set<String> { Set((errors ?? []).map(\.field)) }
}

/// The problem a call throws (module errors mapped as the API maps them); nil when it succeeds.
func problem(_ body: () async throws -> Void) async -> Problem? {
    do {
        try await body()
        return nil
    } catch let p as Problem {
        return p
    } catch let e as any ProblemConvertible {
        return e.problem
    } catch {
        return Problem(kind: "other", title: "\(error)", status: 0)
    }
}
