import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Concurrency: many requests against one member never overspend")
struct ConcurrencyTests {
    @Test(arguments: TestDatabase.engines)
    func redeem_50ConcurrentAgainstABalanceFor20_exactly20Succeed_andTheLedgerAgrees(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: 200 points in four lots, enough for 20 redemptions of 10
            let m = try await c.member()
            for i in 0..<4 {
                _ = try await c.members.earnPoints(m.id, points: 50, reference: order("earn-\(i)"), caller: .system)
                c.clock.advance(by: 1)
            }
            // act
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await c.members.redeemPoints(m.id, points: 10, reference: order("spend-\(i)"), caller: .system)
                            return "ok"
                        } catch MembersError.insufficientPoints(_, let balance, let requested) {
                            return balance < requested ? "short" : "short-wrong"
                        }
                    }
                }
                var all: [String] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check
            #expect(outcomes.filter { $0 == "ok" }.count == 20)
            #expect(outcomes.filter { $0 == "short" }.count == 30)
            #expect(try await c.members.pointsBalance(m.id).balance == 0)
            #expect(try await c.count("member_points_ledger") == 24)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func pay_50ConcurrentAgainstAWalletFor20_exactly20Succeed_andTheLedgerAgrees(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: ¥1,000.00 + ¥100.00 bonus pays 20 × ¥55.00
            let m = try await c.member()
            _ = try await c.members.topUpWallet(m.id, amount: Money(minorUnits: 100_000), reference: LedgerReference(type: "payment", id: "p1"),
                                                caller: .system)
            // act
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await c.members.payFromWallet(m.id, amount: Money(minorUnits: 5_500), reference: order("o-\(i)"), caller: .system)
                            return true
                        } catch MembersError.insufficientWallet {
                            return false
                        }
                    }
                }
                var all: [Bool] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check
            #expect(outcomes.filter { $0 }.count == 20)
            let b = try await c.members.walletBalance(m.id)
            #expect(b.total == 0 && b.principal >= 0 && b.bonus >= 0)
            #expect(try await c.count("member_wallet_ledger") == 21)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func earn_20ConcurrentRetriesOfOneReference_postOnce(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            // act
            let postings = try await withThrowingTaskGroup(of: PointsPosting.self) { group in
                for _ in 0..<20 { group.addTask { try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system) } }
                var all: [PointsPosting] = []
                for try await p in group { all.append(p) }
                return all
            }
            // check
            #expect(postings.filter { !$0.replayed }.count == 1)
            #expect(Set(postings.map(\.entry.id)).count == 1)
            #expect(try await c.count("member_points_ledger") == 1)
            #expect(try await c.count("member_points_lots") == 1)
            #expect(try await c.members.pointsBalance(m.id).balance == 100)
            #expect(try await c.members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func expireDue_racingRedemptions_neverExpiresWhatWasSpent(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: 30 members with a lot about to expire
            var ids: [String] = []
            for i in 0..<30 {
                let m = try await c.member("1380000\(String(format: "%04d", i))")
                _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o-\(i)"), caller: .system)
                ids.append(m.id)
            }
            let expiry = Club.china(2027, 1, 1)
            c.move(to: Club.china(2026, 12, 31, 23))
            // act: redemptions just before midnight race two expiry jobs that run as if it were past
            // it; a redemption that comes after its member's expiry finds nothing left
            let spent = try await withThrowingTaskGroup(of: Int.self) { group in
                for id in ids {
                    group.addTask {
                        do {
                            _ = try await c.members.redeemPoints(id, points: 40, reference: order("spend"), caller: .system)
                            return 1
                        } catch MembersError.insufficientPoints(_, let balance, _) where balance == 0 {
                            return 0
                        }
                    }
                }
                for _ in 0..<2 { group.addTask { _ = try await c.members.expireDue(now: expiry, limit: 1000); return 0 } }
                return try await group.reduce(0, +)
            }
            _ = try await c.members.expireDue(now: expiry, limit: 1000)
            // check: every member ends at zero, each lot expired once, for what was left of it
            for id in ids { #expect(try await c.members.pointsBalance(id).balance == 0) }
            let rows = try await c.db.read { sql in
                try await sql.raw("SELECT kind, COUNT(*) AS n, CAST(SUM(delta) AS BIGINT) AS total FROM member_points_ledger GROUP BY kind ORDER BY kind").all()
                    .map { (try $0.decode(column: "kind", as: String.self), try $0.decode(column: "n", as: Int.self), try $0.decode(column: "total", as: Int64.self)) }
            }
            #expect(rows.map(\.0) == (spent > 0 ? ["earn", "expire", "redeem"] : ["earn", "expire"]))
            #expect(rows.first { $0.0 == "expire" }?.1 == 30)
            #expect(rows.first { $0.0 == "expire" }?.2 == -(3_000 - Int64(spent) * 40))
            #expect(try await c.members.verify().ok)
        }
    }
}

@Suite("Postings inside another module's transaction")
struct EnclosedTransactionTests {
    struct OrderFailed: Error {}

    @Test(arguments: TestDatabase.engines)
    func redeemAndPay_insideAnOrdersTransaction_commitWithIt_orVanishWithIt(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            _ = try await c.members.earnPoints(m.id, points: 100, reference: order("o1"), caller: .system)
            _ = try await c.members.topUpWallet(m.id, amount: Money(minorUnits: 10_000), reference: LedgerReference(type: "payment", id: "p1"),
                                                caller: .system)
            let before = try await c.snapshot()
            // act: an order spends points and wallet money, then fails on a later step
            await #expect(throws: OrderFailed.self) {
                try await c.db.write { tx in
                    _ = try await c.members.redeemPoints(m.id, points: 40, reference: order("o2"), caller: .system, in: tx)
                    _ = try await c.members.payFromWallet(m.id, amount: Money(minorUnits: 3_000), reference: order("o2"), caller: .system, in: tx)
                    throw OrderFailed()
                }
            }
            let afterFailure = try await c.snapshot()
            let (points, wallet) = try await c.db.write { tx in
                (try await c.members.redeemPoints(m.id, points: 40, reference: order("o2"), caller: .system, in: tx),
                 try await c.members.payFromWallet(m.id, amount: Money(minorUnits: 3_000), reference: order("o2"), caller: .system, in: tx))
            }
            // check
            #expect(afterFailure == before)
            #expect(points.balance == 60 && !points.replayed)
            #expect(wallet.balance.total == 7_000 && !wallet.replayed)
            #expect(try await c.members.verify().ok)
        }
    }
}
