import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Referrals: the referrer earns once for the referee's first order, and loses it to a return in the window")
struct ReferralTests {
    @Test(arguments: TestDatabase.engines)
    func joiningWithACode_recordsTheReferrer_andBadOrOwnCodesAre422WritingNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let referrer = try await c.member("13800000001")
            let code = try #require(referrer.referralCode)
            #expect(code.count == 10)
            // act
            let friend = try await c.members.findOrCreate(phone: "13900000002", channel: "app", referralCode: code.lowercased(), caller: .system)
            let before = try await c.snapshot()
            let bad = await #expect(throws: Problem.self) {
                try await c.members.findOrCreate(phone: "13700000003", channel: "app", referralCode: "NOSUCHCODE", caller: .system)
            }
            let own = await #expect(throws: Problem.self) {
                try await c.members.findOrCreate(phone: "13800000001", channel: "app", referralCode: code, caller: .system)
            }
            // check
            #expect(friend.created && friend.member.referredBy == referrer.id && friend.member.referralCode != code)
            #expect(bad?.status == 422 && bad?.fields == ["referralCode"])
            #expect(own?.status == 422 && own?.fields == ["referralCode"])
            #expect(try await c.snapshot() == before)
            #expect(try await c.members.referrals(of: referrer.id).map(\.refereeId) == [friend.member.id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func firstOrder_completedManyTimesAtOnceAndWithASecondOrder_earnsTheReferrerOnce(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let referrer = try await c.member("13800000001")
            let friend = try await c.members.findOrCreate(phone: "13900000002", channel: "app", referralCode: referrer.referralCode,
                                                          caller: .system).member
            // act: the first order's completion retried 10 times at once, racing a second order's
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<12 {
                    group.addTask { _ = try await TierTests.complete(c, friend.id, i < 10 ? "o1" : "o2", 10_000) }
                }
                try await group.waitForAll()
            }
            // check
            #expect(try await c.members.pointsBalance(referrer.id).balance == 200)
            let entries = try await c.members.pointsLedger(referrer.id).items
            #expect(entries.count == 1 && entries.first?.reference == LedgerReference(type: "referral", id: friend.id))
            let r = try #require(try await c.members.referral(of: friend.id))
            #expect(["o1", "o2"].contains(r.orderId ?? "") && r.points == 200 && r.rewardedTo == referrer.id)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func returnOfTheFirstOrder_withinTheWindow_reversesTheReward_afterIt_doesNot(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: a policy of 300 points and 7 days
            _ = try await c.members.setReferralPolicy(ReferralPolicy(points: 300, returnWindowDays: 7), caller: .system)
            let referrer = try await c.member("13800000001")
            let early = try await c.members.findOrCreate(phone: "13900000002", channel: "app", referralCode: referrer.referralCode, caller: .system).member
            let late = try await c.members.findOrCreate(phone: "13900000003", channel: "app", referralCode: referrer.referralCode, caller: .system).member
            _ = try await TierTests.complete(c, early.id, "e1", 10_000)
            _ = try await TierTests.complete(c, late.id, "l1", 10_000)
            #expect(try await c.members.pointsBalance(referrer.id).balance == 600)
            // act
            c.clock.advance(by: 3 * 86_400)
            _ = try await TierTests.returned(c, early.id, "e1", "r1", 5_000)
            _ = try await TierTests.returned(c, early.id, "e1", "r2", 5_000)
            c.clock.advance(by: 5 * 86_400)
            _ = try await TierTests.returned(c, late.id, "l1", "r3", 10_000)
            // check: only the return inside the window took the reward back, once
            #expect(try await c.members.pointsBalance(referrer.id).balance == 300)
            #expect(try await c.members.referral(of: early.id)?.reversedAt != nil)
            #expect(try await c.members.referral(of: late.id)?.reversedAt == nil)
            #expect(try await c.members.referralPolicy() == ReferralPolicy(points: 300, returnWindowDays: 7))
            #expect(try await c.members.verify().ok)
        }
    }
}
