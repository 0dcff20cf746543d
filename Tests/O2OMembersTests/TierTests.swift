import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Tiers: reached by rolling spend on completion, taken back on return, reviewed at period end")
struct TierTests {
    /// Regular, silver from ¥1,000.00, gold from ¥5,000.00 over 12 months.
    static let ladder = TierLadder(basis: .spend, periodMonths: 12, downgrade: .oneLevel, tiers: [
        MemberTier(code: "regular", name: "普卡", threshold: 0),
        MemberTier(code: "silver", name: "银卡", threshold: 100_000, benefits: .init(discountPercent: 5, pointsMultiplier: 150)),
        MemberTier(code: "gold", name: "金卡", threshold: 500_000,
                   benefits: .init(discountPercent: 10, freeShipping: true, pointsMultiplier: 200, birthdayGiftPoints: 500)),
    ])

    /// Completes an order for the member in its own transaction, as the order flow does.
    static func complete(_ c: Club, _ memberId: String, _ orderId: String, _ amount: Int64) async throws -> CompletionPosting {
        try await c.db.write { tx in
            try await c.members.orderCompleted(memberId, OrderCompletion(orderId: orderId, amount: amount), caller: .system, in: tx)
        }
    }

    static func returned(_ c: Club, _ memberId: String, _ orderId: String, _ returnId: String, _ amount: Int64) async throws -> CompletionPosting {
        try await c.db.write { tx in
            try await c.members.orderReturned(memberId, orderId: orderId, returnId: returnId, amount: amount, caller: .system, in: tx)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func completion_earnsAtTheTierHeld_andUpgradesAtOnce(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            _ = try await c.members.setTierLadder(Self.ladder, caller: .system)
            let m = try await c.member()
            // ¥800.00: 800 points at the regular rate, still regular, ¥200.00 to silver
            let first = try await Self.complete(c, m.id, "o1", 80_000)
            #expect(first.points?.entry.delta == 800)
            #expect(first.tierChange == TierChange(from: nil, to: "regular", reason: "order o1 completed"))
            var status = try await c.members.tierStatus(m.id)
            #expect(status.tier?.code == "regular" && status.rolling == 80_000 && status.next?.code == "silver" && status.toNext == 20_000)
            // ¥300.00 more: earns at regular (the tier held when it completed), then silver
            let second = try await Self.complete(c, m.id, "o2", 30_000)
            #expect(second.points?.entry.delta == 300)
            #expect(second.tierChange?.to == "silver")
            // silver earns one and a half times
            let third = try await Self.complete(c, m.id, "o3", 10_000)
            #expect(third.points?.entry.delta == 150 && third.tierChange == nil)
            // counted once: a retry of the completion writes nothing
            let again = try await Self.complete(c, m.id, "o3", 10_000)
            #expect(again.replayed && again.points == nil)
            status = try await c.members.tierStatus(m.id)
            #expect(status.tier?.code == "silver" && status.rolling == 120_000 && status.keptUntil == Club.start.addingTimeInterval(365 * 86_400))
            #expect(try await c.members.benefits(m.id)?.discountPercent == 5)
            #expect(try await c.members.pointsBalance(m.id).balance == 1_250)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aReturn_takesBackItsPoints_andTheTierItsOrderReached(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            _ = try await c.members.setTierLadder(Self.ladder, caller: .system)
            let m = try await c.member()
            _ = try await Self.complete(c, m.id, "o1", 60_000)
            let up = try await Self.complete(c, m.id, "o2", 60_000)
            #expect(up.tierChange?.to == "silver" && up.points?.entry.delta == 600)
            // half of o2 returned: ¥900.00 left, below silver, and o2 reached silver: back to regular
            let back = try await Self.returned(c, m.id, "o2", "r1", 30_000)
            #expect(back.points?.entry.delta == -300)
            #expect(back.tierChange == TierChange(from: "silver", to: "regular", reason: "order o2 returned"))
            #expect(try await c.members.tierStatus(m.id).rolling == 90_000)
            // the same return again writes nothing; more than is left is refused, nothing written
            #expect(try await Self.returned(c, m.id, "o2", "r1", 30_000).replayed)
            let before = try await c.snapshot()
            await #expect(throws: Problem.self) { _ = try await Self.returned(c, m.id, "o2", "r2", 30_001) }
            await #expect(throws: Problem.self) { _ = try await Self.returned(c, m.id, "o9", "r3", 100) }
            #expect(try await c.snapshot() == before)
            #expect(try await c.members.pointsBalance(m.id).balance == 900)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func periodReview_downgradesOneLevel_andRenewsTheTierStillReached(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            _ = try await c.members.setTierLadder(Self.ladder, caller: .system)
            let lapsed = try await c.member("13800000001")
            let loyal = try await c.member("13800000002")
            _ = try await Self.complete(c, lapsed.id, "a1", 600_000)
            _ = try await Self.complete(c, loyal.id, "b1", 600_000)
            #expect(try await c.members.tierStatus(lapsed.id).tier?.code == "gold")
            // eleven months on the loyal member spends again; at the year's end only the lapsed one falls
            c.move(to: Club.start.addingTimeInterval(335 * 86_400))
            _ = try await Self.complete(c, loyal.id, "b2", 500_000)
            #expect(try await c.members.reviewTiers(now: c.clock.instant()) == 0)
            c.move(to: Club.start.addingTimeInterval(366 * 86_400))
            #expect(try await c.members.reviewTiers(now: c.clock.instant()) == 2)
            #expect(try await c.members.tierStatus(lapsed.id).tier?.code == "silver")  // one level a review, though spend is 0
            let kept = try await c.members.tierStatus(loyal.id)
            #expect(kept.tier?.code == "gold" && kept.keptUntil! > c.clock.instant().addingTimeInterval(360 * 86_400))
            // nothing due until the next period ends
            #expect(try await c.members.reviewTiers(now: c.clock.instant()) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func birthdayGift_isGivenOnceAYear_toTiersThatGiveIt(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            _ = try await c.members.setTierLadder(Self.ladder, caller: .system)
            let gold = try await c.member("13800000001")
            let silver = try await c.member("13800000002")
            for m in [gold, silver] { _ = try await c.members.updateProfile(m.id, MemberProfile(birthday: "1990-03-12"), caller: .system) }
            _ = try await Self.complete(c, gold.id, "g1", 500_000)
            _ = try await Self.complete(c, silver.id, "s1", 100_000)
            #expect(try await c.members.grantBirthdayGifts(on: Club.china(2025, 3, 11, 12)) == 0)
            #expect(try await c.members.grantBirthdayGifts(on: Club.china(2025, 3, 12, 9)) == 1)
            #expect(try await c.members.grantBirthdayGifts(on: Club.china(2025, 3, 12, 18)) == 0)
            #expect(try await c.members.pointsBalance(gold.id).balance == 5_000 + 500)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aBadLadder_isRefusedNamingEachField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            let before = try await c.snapshot()
            let bad = TierLadder(periodMonths: 0, tiers: [
                MemberTier(code: "regular", name: "R", threshold: 10),
                MemberTier(code: "gold", name: "", threshold: 500, benefits: .init(discountPercent: 95, pointsMultiplier: 50)),
                MemberTier(code: "gold", name: "G", threshold: 400),
            ])
            do {
                _ = try await c.members.setTierLadder(bad, caller: .system)
                Issue.record("accepted a bad ladder")
            } catch let p as Problem {
                #expect(p.status == 422)
                #expect(p.fields == ["periodMonths", "tiers[0].threshold", "tiers[1].name", "tiers[1].benefits.discountPercent",
                                     "tiers[1].benefits.pointsMultiplier", "tiers[2].code", "tiers[2].threshold"])
            }
            #expect(try await c.snapshot() == before)
            #expect(try await c.members.tierLadder() == TierLadder())
        }
    }

    @Test(arguments: TestDatabase.engines)
    func concurrentCompletions_countEveryOrderOnce(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            _ = try await c.members.setTierLadder(Self.ladder, caller: .system)
            let m = try await c.member()
            // 20 orders of ¥300.00, each completed twice at once (a retried completion)
            try await withThrowingTaskGroup(of: Void.self) { g in
                for i in 0..<40 { g.addTask { _ = try await Self.complete(c, m.id, "o\(i % 20)", 30_000) } }
                try await g.waitForAll()
            }
            let status = try await c.members.tierStatus(m.id)
            #expect(status.rolling == 600_000 && status.tier?.code == "gold")
            #expect(try await c.count("member_spend") == 20)
            #expect(try await c.members.verify().ok)
        }
    }
}
