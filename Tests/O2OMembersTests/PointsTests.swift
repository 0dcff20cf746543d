import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Points: a ledger over expiring lots, spent soonest-expiring first, balance = sum of ledger")
struct PointsTests {
    @Test(arguments: TestDatabase.engines)
    func earn_createsALotThatExpiresAtTheEndOfTheFollowingYear(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            // act
            let earned = try await c.members.earnPoints(m.id, points: 120, reference: order("o1"), caller: .system)
            // check
            #expect(earned.balance == 120 && !earned.replayed && earned.entry.kind == .earn && earned.entry.delta == 120)
            #expect(earned.entry.expiresAt == Club.china(2027, 1, 1))
            let b = try await c.members.pointsBalance(m.id)
            #expect(b.balance == 120 && b.lots.map(\.remaining) == [120] && b.lots[0].expiresAt == Club.china(2027, 1, 1))
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func redeem_takesTheSoonestExpiringLotFirst(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: 100 earned in 2025 (expire 2027), 100 in 2026 (expire 2028)
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.move(to: Club.china(2026, 2, 1))
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o2"), caller: .system)
            // act
            let spent = try await c.members.redeemPoints(m.id, points: 150, reference: order("o3"), caller: .system)
            // check
            #expect(spent.balance == 50 && spent.entry.delta == -150)
            let b = try await c.members.pointsBalance(m.id)
            #expect(b.lots.map(\.remaining) == [50] && b.lots[0].expiresAt == Club.china(2028, 1, 1))
            #expect(try await c.count("member_points_allocations") == 2)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func expireDue_expiresOnlyWhatIsLeftOfAPartlyUsedLot_once(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: the 2025 lot is 70 % spent when it expires
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.move(to: Club.china(2026, 2, 1))
            _ = try await c.members.earnPoints(m.id, points: 40, reference: order("o2"), caller: .system)
            _ = try await c.members.redeemPoints(m.id, points: 70, reference: order("o3"), caller: .system)
            // act
            c.move(to: Club.china(2026, 12, 31, 23))
            let early = try await c.members.expireDue(now: c.clock.now())
            c.move(to: Club.china(2027, 1, 1))
            let due = try await c.members.expireDue(now: c.clock.now())
            let again = try await c.members.expireDue(now: c.clock.now())
            // check
            #expect((early, due, again) == (0, 1, 0))
            let b = try await c.members.pointsBalance(m.id)
            #expect(b.balance == 40 && b.lots.map(\.remaining) == [40])
            let expired = try await c.members.pointsLedger(m.id).items.filter { $0.kind == .expire }
            #expect(expired.count == 1 && expired[0].delta == -30 && expired[0].reference.type == "points_lot")
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func redeem_cannotSpendPointsPastTheirExpiry_evenBeforeTheJobRan(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.move(to: Club.china(2027, 1, 2))
            let before = try await c.snapshot()
            // act
            let error = await #expect(throws: MembersError.self) {
                try await c.members.redeemPoints(m.id, points: 50, reference: order("o2"), caller: .system)
            }
            // check: refused against what is really left, and the refusal wrote nothing (not even the expiry)
            #expect(error == .insufficientPoints(memberId: m.id, balance: 0, requested: 50))
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func redeem_aboveTheBalance_isRefusedWithBalanceAndRequested_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            let before = try await c.snapshot()
            // act
            let error = await #expect(throws: MembersError.self) {
                try await c.members.redeemPoints(m.id, points: 101, reference: order("o2"), caller: .system)
            }
            let zero = await #expect(throws: Problem.self) {
                try await c.members.redeemPoints(m.id, points: 0, reference: LedgerReference(type: "", id: "o3"), caller: .system)
            }
            let nobody = await #expect(throws: Problem.self) {
                try await c.members.redeemPoints("mem_nobody", points: 1, reference: order("o4"), caller: .system)
            }
            // check
            #expect(error == .insufficientPoints(memberId: m.id, balance: 100, requested: 101))
            #expect(error?.problem.status == 409 && error?.problem.errors?.map(\.field) == ["points"])
            #expect(zero?.status == 422 && zero?.fields == ["points", "reference.type"])
            #expect(nobody?.status == 404)
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func retries_withTheSameReference_postOnce_andAnotherAmountIsRefused(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            // act
            let first = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            let retry = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            let other = await #expect(throws: MembersError.self) {
                try await c.members.earnPoints(m.id, points: 200, reference: order("o1"), caller: .system)
            }
            let spend = try await c.members.redeemPoints(m.id, points: 30, reference: order("o2"), caller: .system)
            let spendAgain = try await c.members.redeemPoints(m.id, points: 30, reference: order("o2"), caller: .system)
            // check
            #expect(!first.replayed && retry.replayed && retry.entry == first.entry)
            #expect(other == .referenceReused(order("o1"), posted: 100, requested: 200))
            #expect(!spend.replayed && spendAgain.replayed && spendAgain.entry.id == spend.entry.id && spendAgain.balance == 70)
            #expect(try await c.count("member_points_ledger") == 2)
            #expect(try await c.members.pointsBalance(m.id).balance == 70)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverseEarn_ofSpentPoints_takesWhatIsLeft_neverGoesBelowZero_andReportsTheShortfall(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: 100 earned on o1, 80 of them spent on o2
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.clock.advance(by: 1)
            _ = try await c.members.redeemPoints(m.id, points: 80, reference: order("o2"), caller: .system)
            // act: o1 is returned
            let reversed = try await c.members.reversePointsEarn(m.id, earn: order("o1"), reference: LedgerReference(type: "return", id: "rma-1"),
                                                                 caller: .system)
            let twice = await #expect(throws: MembersError.self) {
                try await c.members.reversePointsEarn(m.id, earn: order("o1"), reference: LedgerReference(type: "return", id: "rma-2"), caller: .system)
            }
            let unknown = await #expect(throws: Problem.self) {
                try await c.members.reversePointsEarn(m.id, earn: order("o9"), reference: LedgerReference(type: "return", id: "rma-3"), caller: .system)
            }
            // check
            #expect(reversed.entry.kind == .reverse && reversed.entry.delta == -20 && reversed.entry.requested == 100 && reversed.shortfall == 80)
            #expect(reversed.balance == 0)
            #expect(twice == .exceedsOriginal(order("o1"), original: 100, alreadyReversed: 100, requested: 0))
            #expect(unknown?.status == 404)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverseEarn_takesTheSpentPartFromOtherLots_butNotWhatExpiredUnused(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: o1 earned 100 in 2025 (50 spent, 50 expired unused); o2 earned 100 in 2026
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.move(to: Club.china(2026, 2, 1))
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o2"), caller: .system)
            _ = try await c.members.redeemPoints(m.id, points: 50, reference: order("o3"), caller: .system)
            c.move(to: Club.china(2027, 1, 1, 1))
            #expect(try await c.members.expireDue(now: c.clock.now()) == 1)
            // act: o1 is returned
            let reversed = try await c.members.reversePointsEarn(m.id, earn: order("o1"), reference: LedgerReference(type: "return", id: "rma-1"),
                                                                 caller: .system)
            // check: the 50 spent come back out of o2's lot; the 50 that expired are not taken twice
            #expect(reversed.entry.delta == -50 && reversed.shortfall == 50 && reversed.balance == 50)
            #expect(try await c.members.pointsBalance(m.id).lots.map(\.remaining) == [50])
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverseEarn_inParts_withRetries_neverTakesMoreThanWasEarned(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.clock.advance(by: 1)
            _ = try await c.members.earnPoints(m.id, points: 50, reference: order("o2"), caller: .system)
            let rma1 = LedgerReference(type: "return", id: "rma-1"), rma2 = LedgerReference(type: "return", id: "rma-2")
            // act
            let part = try await c.members.reversePointsEarn(m.id, earn: order("o1"), points: 30, reference: rma1, caller: .system)
            let retry = try await c.members.reversePointsEarn(m.id, earn: order("o1"), points: 30, reference: rma1, caller: .system)
            let changed = await #expect(throws: MembersError.self) {
                try await c.members.reversePointsEarn(m.id, earn: order("o1"), points: 40, reference: rma1, caller: .system)
            }
            let tooMuch = await #expect(throws: MembersError.self) {
                try await c.members.reversePointsEarn(m.id, earn: order("o1"), points: 71, reference: rma2, caller: .system)
            }
            let rest = try await c.members.reversePointsEarn(m.id, earn: order("o1"), reference: rma2, caller: .system)
            // check
            #expect(part.entry.delta == -30 && part.balance == 120 && retry.replayed && retry.entry.id == part.entry.id)
            #expect(changed == .referenceReused(rma1, posted: 30, requested: 40))
            #expect(tooMuch == .exceedsOriginal(order("o1"), original: 100, alreadyReversed: 30, requested: 71))
            #expect(rest.entry.delta == -70 && rest.shortfall == 0 && rest.balance == 50)
            #expect(try await c.members.pointsBalance(m.id).lots.map(\.remaining) == [50])
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverseRedeem_givesPointsBackAsLotsWithTheirOriginalExpiry(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: o3 spent 100 of the 2025 lot and 50 of the 2026 lot
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            c.move(to: Club.china(2026, 2, 1))
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o2"), caller: .system)
            _ = try await c.members.redeemPoints(m.id, points: 150, reference: order("o3"), caller: .system)
            c.clock.advance(by: 60)
            // act: o3 is refunded in two parts
            let part = try await c.members.reversePointsRedeem(m.id, redeem: order("o3"), points: 120,
                                                               reference: LedgerReference(type: "refund", id: "rf-1"), caller: .system)
            let lotsAfterPart = try await c.members.pointsBalance(m.id).lots
            let rest = try await c.members.reversePointsRedeem(m.id, redeem: order("o3"), reference: LedgerReference(type: "refund", id: "rf-2"),
                                                               caller: .system)
            let more = await #expect(throws: MembersError.self) {
                try await c.members.reversePointsRedeem(m.id, redeem: order("o3"), reference: LedgerReference(type: "refund", id: "rf-3"), caller: .system)
            }
            // check: the latest-expiring part comes back first, each with the expiry it had
            #expect(part.entry.delta == 120 && part.balance == 170)
            #expect(lotsAfterPart.map(\.remaining) == [70, 50, 50])
            #expect(lotsAfterPart.map(\.expiresAt) == [Club.china(2027, 1, 1), Club.china(2028, 1, 1), Club.china(2028, 1, 1)])
            #expect(rest.entry.delta == 30 && rest.balance == 200)
            #expect(more == .exceedsOriginal(order("o3"), original: 150, alreadyReversed: 150, requested: 0))
            let lots = try await c.members.pointsBalance(m.id).lots
            #expect(lots.filter { $0.expiresAt == Club.china(2027, 1, 1) }.map(\.remaining).reduce(0, +) == 100)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func adjust_needsAReason_addsALotOrTakesFromLots_neverBelowZero(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            let ticket = LedgerReference(type: "ticket", id: "T-1")
            let before = try await c.snapshot()
            // act
            let below = await #expect(throws: MembersError.self) {
                try await c.members.adjustPoints(m.id, delta: -10, reference: ticket, reason: "duplicate earn", caller: .system)
            }
            let bad = await #expect(throws: Problem.self) {
                try await c.members.adjustPoints(m.id, delta: 0, reference: ticket, reason: "", caller: .system)
            }
            let unchanged = try await c.snapshot()
            let plus = try await c.members.adjustPoints(m.id, delta: 25, reference: ticket, reason: "goodwill", caller: .system)
            let minus = try await c.members.adjustPoints(m.id, delta: -5, reference: LedgerReference(type: "ticket", id: "T-2"),
                                                         reason: "correction", caller: .system)
            // check
            #expect(below == .insufficientPoints(memberId: m.id, balance: 0, requested: 10))
            #expect(bad?.fields == ["delta", "reason"])
            #expect(unchanged == before)
            #expect(plus.entry.kind == .adjust && plus.entry.expiresAt == Club.china(2027, 1, 1) && plus.balance == 25)
            #expect(minus.balance == 20 && minus.entry.reason == "correction")
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func verify_findsAMemberWhoseBalanceDisagreesWithItsLedger(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            let other = try await c.member("13912345678")
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            _ = try await c.members.earnPoints(other.id, points: 10, reference: order("o2"), caller: .system)
            #expect(try await c.members.verifyPoints().isEmpty)
            // act: a balance changed behind the ledger's back
            try await c.db.write { tx in
                try await tx.sql.raw("UPDATE member_points_balances SET balance = 90 WHERE member_id = \(bind: m.id)").run()
            }
            // check
            #expect(try await c.members.verifyPoints() == [PointsMismatch(memberId: m.id, balance: 90, ledger: 100, lots: 100)])
        }
    }
}
