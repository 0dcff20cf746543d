import Foundation
import O2OCore
import O2OPromotions
import O2OTestSupport
import Testing

@Suite("Effect data: what each promotion cost and brought, and budgets that hold")
struct EffectTests {
    @Test(arguments: TestDatabase.engines)
    func recordApplication_feedsTheReport_andIsIdempotent(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let p = try await s.promotions.create(draft("10% off"), caller: .system)
            _ = try await s.promotions.activate(p.id, caller: .system)
            // act: two members' orders
            for (i, m) in ["mem_1", "mem_2"].enumerated() {
                let priced = try await s.promotions.price(cart([line("a", qty: 2, price: 5_000)], member: MemberFacts(memberId: m)))
                try await s.db.write { tx in
                    try await s.promotions.recordApplication(orderId: "ord_\(i)", memberId: m, priced: priced, caller: .system, in: tx)
                    try await s.promotions.recordApplication(orderId: "ord_\(i)", memberId: m, priced: priced, caller: .system, in: tx)
                }
            }
            // check
            let r = try await s.promotions.report(p.id)
            #expect(r.orders == 2 && r.units == 4 && r.discount == 2_000 && r.revenue == 18_000 && r.membersReached == 2)
            // a cancelled order leaves the report
            try await s.db.write { tx in try await s.promotions.reverseApplication(orderId: "ord_1", caller: .system, in: tx) }
            #expect(try await s.promotions.report(p.id).orders == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func budget_isNeverOverspent_anOrderBeyondItIsRefused(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: ¥15.00 of budget, ¥10.00 off per order
            var d = draft("¥10 off", what: .amountOff(1_000))
            d.budget = 1_500
            let p = try await s.promotions.create(d, caller: .system)
            _ = try await s.promotions.activate(p.id, caller: .system)
            let c = cart([line("a", price: 5_000)])
            let first = try await s.promotions.price(c)
            let second = try await s.promotions.price(c)
            try await s.db.write { tx in _ = try await s.promotions.recordApplication(orderId: "ord_1", memberId: nil, priced: first, caller: .system, in: tx) }
            // act: an order priced before the first was recorded
            let refused = await problem {
                try await s.db.write { tx in _ = try await s.promotions.recordApplication(orderId: "ord_2", memberId: nil, priced: second, caller: .system, in: tx) }
            }
            // check: refused, and a fresh price gives what is left
            #expect(refused?.status == 409)
            #expect(try await s.count("promotion_applications") == 1)
            #expect(try await s.promotions.price(c).orderDiscount == 500)
            #expect(try await s.promotions.report(p.id).budgetLeft == 500)
        }
    }
}
