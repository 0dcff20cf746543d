import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Wallet: top-ups with a bonus, payments and refunds; principal and bonus kept apart")
struct WalletTests {
    static func cny(_ minor: Int64) -> Money { Money(minorUnits: minor) }

    @Test(arguments: TestDatabase.engines)
    func topUp_recordsPrincipalAndTheBonusOfTheHighestTierReached(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            // act: pay ¥1,000.00 (tier: get ¥100.00), then ¥300.00 (below every tier)
            let big = try await c.members.topUpWallet(m.id, amount: Self.cny(100_000), reference: LedgerReference(type: "payment", id: "p1"), caller: .system)
            let small = try await c.members.topUpWallet(m.id, amount: Self.cny(30_000), reference: LedgerReference(type: "payment", id: "p2"), caller: .system)
            let retry = try await c.members.topUpWallet(m.id, amount: Self.cny(30_000), reference: LedgerReference(type: "payment", id: "p2"), caller: .system)
            // check
            #expect(big.entry.kind == .topUp && big.entry.principalDelta == 100_000 && big.entry.bonusDelta == 10_000)
            #expect(small.entry.bonusDelta == 0 && small.balance.principal == 130_000 && small.balance.bonus == 10_000)
            #expect(retry.replayed && retry.entry.id == small.entry.id)
            #expect(try await c.count("member_wallet_ledger") == 2)
            #expect(try await c.members.walletBalance(m.id).total == 140_000)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func pay_spendsPrincipalAndBonusInProportion_andAboveTheBalanceIsRefused_writingNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: ¥1,000.00 principal + ¥100.00 bonus
            let m = try await c.member()
            _ = try await c.members.topUpWallet(m.id, amount: Self.cny(100_000), reference: LedgerReference(type: "payment", id: "p1"), caller: .system)
            // act
            let paid = try await c.members.payFromWallet(m.id, amount: Self.cny(55_000), reference: order("o1"), caller: .system)
            let before = try await c.snapshot()
            let over = await #expect(throws: MembersError.self) {
                try await c.members.payFromWallet(m.id, amount: Self.cny(55_001), reference: order("o2"), caller: .system)
            }
            let badCurrency = await #expect(throws: Problem.self) {
                try await c.members.payFromWallet(m.id, amount: Money(minorUnits: 100, currency: "USD"), reference: order("o3"), caller: .system)
            }
            let zero = await #expect(throws: Problem.self) {
                try await c.members.payFromWallet(m.id, amount: Self.cny(0), reference: order("o4"), caller: .system)
            }
            // check
            #expect(paid.entry.principalDelta == -50_000 && paid.entry.bonusDelta == -5_000)
            #expect(paid.balance == WalletBalance(memberId: m.id, currency: "CNY", principal: 50_000, bonus: 5_000))
            #expect(over == .insufficientWallet(memberId: m.id, balance: 55_000, requested: 55_001, currency: "CNY"))
            #expect(over?.problem.status == 409)
            #expect(badCurrency?.status == 422 && badCurrency?.fields == ["amount.currency"])
            #expect(zero?.status == 422 && zero?.fields == ["amount.minorUnits"])
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func refund_givesBackThePaymentsOwnSplit_inParts_neverMoreThanWasPaid(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: o1 paid ¥500.00 principal + ¥50.00 bonus
            let m = try await c.member()
            _ = try await c.members.topUpWallet(m.id, amount: Self.cny(100_000), reference: LedgerReference(type: "payment", id: "p1"), caller: .system)
            _ = try await c.members.payFromWallet(m.id, amount: Self.cny(55_000), reference: order("o1"), caller: .system)
            let rf1 = LedgerReference(type: "refund", id: "rf-1"), rf2 = LedgerReference(type: "refund", id: "rf-2")
            // act
            let first = try await c.members.refundToWallet(m.id, amount: Self.cny(20_000), payment: order("o1"), reference: rf1, caller: .system)
            let retry = try await c.members.refundToWallet(m.id, amount: Self.cny(20_000), payment: order("o1"), reference: rf1, caller: .system)
            let changed = await #expect(throws: MembersError.self) {
                try await c.members.refundToWallet(m.id, amount: Self.cny(20_001), payment: order("o1"), reference: rf1, caller: .system)
            }
            let rest = try await c.members.refundToWallet(m.id, amount: Self.cny(35_000), payment: order("o1"), reference: rf2, caller: .system)
            let more = await #expect(throws: MembersError.self) {
                try await c.members.refundToWallet(m.id, amount: Self.cny(1), payment: order("o1"),
                                                   reference: LedgerReference(type: "refund", id: "rf-3"), caller: .system)
            }
            let unknown = await #expect(throws: Problem.self) {
                try await c.members.refundToWallet(m.id, amount: Self.cny(1), payment: order("o9"),
                                                   reference: LedgerReference(type: "refund", id: "rf-4"), caller: .system)
            }
            // check: 20,000 of 55,000 carries 1,818 of the 5,000 bonus; the rest carries exactly what is left
            #expect(first.entry.kind == .refund && first.entry.principalDelta == 18_182 && first.entry.bonusDelta == 1_818)
            #expect(retry.replayed && retry.entry.id == first.entry.id)
            #expect(changed == .referenceReused(rf1, posted: 20_000, requested: 20_001))
            #expect(rest.entry.principalDelta == 31_818 && rest.entry.bonusDelta == 3_182)
            #expect(rest.balance == WalletBalance(memberId: m.id, currency: "CNY", principal: 100_000, bonus: 10_000))
            #expect(more == .exceedsOriginal(order("o1"), original: 55_000, alreadyReversed: 55_000, requested: 1))
            #expect(unknown?.status == 404)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func verifyWallet_findsAMemberWhoseBalanceDisagreesWithItsLedger(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            _ = try await c.members.topUpWallet(m.id, amount: Self.cny(100_000), reference: LedgerReference(type: "payment", id: "p1"), caller: .system)
            #expect(try await c.members.verifyWallet().isEmpty)
            // act
            try await c.db.write { tx in
                try await tx.sql.raw("UPDATE member_wallet_balances SET bonus = 0 WHERE member_id = \(bind: m.id)").run()
            }
            // check
            #expect(try await c.members.verifyWallet() == [WalletMismatch(memberId: m.id, principal: 100_000, bonus: 0,
                                                                           ledgerPrincipal: 100_000, ledgerBonus: 10_000)])
        }
    }
}
