import Foundation
import O2OCore
import O2OPromotions
import O2OTestSupport
import Testing

@Suite("Flash sales: never oversold, never over a member's limit, under real concurrency")
struct FlashSaleTests {
    func sale(_ s: Shop, quantity: Int64 = 100, perMember: Int64 = 1) async throws -> FlashSale {
        try await s.promotions.createFlashSale(
            FlashSaleDraft(name: "秒杀 T-shirt", skuId: "sku-tee", price: 1_900, quantity: quantity, perMemberLimit: perMember,
                           startsAt: Shop.start.addingTimeInterval(-60), endsAt: Shop.start.addingTimeInterval(3_600)),
            caller: .system)
    }

    @Test(arguments: TestDatabase.engines)
    func claim_1000ConcurrentOnA100UnitBudget_exactly100Win(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let f = try await sale(s)
            // act: 1,000 members claim one unit each at once
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<1_000 {
                    group.addTask {
                        do {
                            _ = try await s.promotions.claimFlashSale(f.id, memberId: "mem_\(i)", reference: "ord_\(i)", caller: .system)
                            return "won"
                        } catch PromotionsError.soldOut { return "sold-out" }
                    }
                }
                var all: [String] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check
            #expect(outcomes.filter { $0 == "won" }.count == 100)
            #expect(outcomes.filter { $0 == "sold-out" }.count == 900)
            let after = try await s.promotions.flashSale(f.id)
            #expect(after.sold == 100 && after.left == 0)
            #expect(try await s.count("flash_sale_claims") == 100)
            #expect(try await s.count("flash_sale_members") == 100)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func claim_oneMemberConcurrently_neverPassesTheLimit(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 2 per member
            let f = try await sale(s, perMember: 2)
            // act: 50 claims of one member at once, each for another order
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await s.promotions.claimFlashSale(f.id, memberId: "mem_1", reference: "ord_\(i)", caller: .system)
                            return true
                        } catch PromotionsError.memberLimitReached { return false }
                    }
                }
                var n = 0
                for try await w in group where w { n += 1 }
                return n
            }
            // check: a loser's unit went back with its rolled-back transaction
            #expect(wins == 2)
            #expect(try await s.promotions.flashSale(f.id).sold == 2)
            #expect(try await s.count("flash_sale_claims") == 2)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func claim_isIdempotentByReference_releaseGivesTheUnitBack_inTheCallersTransaction(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let f = try await sale(s, quantity: 1)
            let c = try await s.db.write { tx in
                try await s.promotions.claimFlashSale(f.id, memberId: "mem_1", reference: "ord_1", caller: .system, in: tx)
            }
            #expect(c.price == 1_900)
            #expect(try await s.promotions.claimFlashSale(f.id, memberId: "mem_1", reference: "ord_1", caller: .system).id == c.id)
            let before = try await s.snapshot()
            let out = await problem { _ = try await s.promotions.claimFlashSale(f.id, memberId: "mem_2", reference: "ord_2", caller: .system) }
            #expect(out?.status == 409)
            #expect(try await s.snapshot() == before)
            // release on cancel; twice is a no-op; the unit can be claimed again
            _ = try await s.db.write { tx in try await s.promotions.releaseFlashSale(f.id, reference: "ord_1", caller: .system, in: tx) }
            _ = try await s.promotions.releaseFlashSale(f.id, reference: "ord_1", caller: .system)
            #expect(try await s.promotions.flashSale(f.id).sold == 0)
            _ = try await s.promotions.claimFlashSale(f.id, memberId: "mem_2", reference: "ord_2", caller: .system)
            #expect(try await s.promotions.flashSale(f.id).sold == 1)
            // not running any more
            s.clock.advance(by: 7_200)
            let late = await problem { _ = try await s.promotions.claimFlashSale(f.id, memberId: "mem_3", reference: "ord_3", caller: .system) }
            #expect(late?.type.hasSuffix("flash-sale-not-running") == true)
        }
    }
}
