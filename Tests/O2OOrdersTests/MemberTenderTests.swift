import Foundation
import O2OCore
import O2OMembers
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Wallet and points as tenders: paid from the member's ledgers with the order, given back with its refund")
struct MemberTenderTests {
    /// A member with `wallet` minor units of stored value and `points` points.
    static func member(_ s: Shop, wallet: Int64, points: Int64) async throws -> String {
        let members = s.services.members
        let m = try await members.findOrCreate(phone: "13812345678", channel: "web", caller: .system).member
        if wallet > 0 {
            _ = try await members.topUpWallet(m.id, amount: Money(minorUnits: wallet), reference: .init(type: "top_up", id: "T-1"), caller: .system)
        }
        if points > 0 { _ = try await members.earnPoints(m.id, points: points, reference: .init(type: "order", id: "ord_before"), caller: .system) }
        return m.id
    }

    static func order(_ s: Shop, member: String?, _ payments: [(tender: Tender, amount: Int64)], units: Int = 2) -> OrderService.NewOrder {
        var new = s.delivery([(s.skus[1], units)], paid: false)
        new.memberId = member
        new.payments = payments
        return new
    }

    @Test(arguments: TestDatabase.engines)
    func place_paidByWalletAndPoints_debitsBothWithTheOrder_andCancellingGivesBothBack(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: ¥200 in the wallet, 5,000 points (¥50); the order is 2 × ¥99
            try await s.receive(s.skus[1], 5, at: s.a)
            let member = try await Self.member(s, wallet: 20_000, points: 5_000)
            let members = s.services.members
            // act
            let o = try await s.orders.place(Self.order(s, member: member, [(tender: .points, amount: 4_800), (tender: .wallet, amount: 15_000)]),
                                             caller: .system)
            let walletAfter = try await members.walletBalance(member).total
            let pointsAfter = try await members.pointsBalance(member).balance
            let cancelled = try await s.orders.cancel(o.id, reason: "customer changed their mind", caller: .system)
            // check
            #expect(o.paymentStatus == .paid && o.paidTotal == 19_800 && o.payments.allSatisfy { $0.status == .captured })
            #expect(walletAfter == 5_000 && pointsAfter == 200)
            #expect(cancelled.paymentStatus == .refunded && cancelled.payments.allSatisfy { $0.refunded == $0.captured })
            let walletBack = try await members.walletBalance(member).total
            let pointsBack = try await members.pointsBalance(member).balance
            #expect(walletBack == 20_000 && pointsBack == 5_000)
            #expect(try await members.verify().ok)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_withAShortWallet_is409_andNeitherTheOrderNorTheDebitNorTheHoldIsWritten(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            let member = try await Self.member(s, wallet: 10_000, points: 0)
            let before = try await s.snapshot()
            // act
            let short = await #expect(throws: MembersError.self) {
                try await s.orders.place(Self.order(s, member: member, [(tender: .wallet, amount: 19_800)]), caller: .system)
            }
            // check
            #expect(short?.problem.status == 409 && short?.problem.type.hasSuffix("insufficient-wallet") == true)
            #expect(try await s.snapshot() == before)
            #expect(try await s.services.members.walletBalance(member).total == 10_000)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_memberTendersWithoutAMember_orPointsOverHalf_orAnUnknownMember_is422(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            let member = try await Self.member(s, wallet: 0, points: 50_000)
            let before = try await s.snapshot()
            // act
            let noMember = await #expect(throws: Problem.self) {
                try await s.orders.place(Self.order(s, member: nil, [(tender: .wallet, amount: 19_800)]), caller: .system)
            }
            let overHalf = await #expect(throws: Problem.self) {
                try await s.orders.place(Self.order(s, member: member, [(tender: .points, amount: 10_000), (tender: .sandbox, amount: 9_800)]),
                                         caller: .system)
            }
            let stranger = await #expect(throws: Problem.self) {
                try await s.orders.place(Self.order(s, member: "mem_nobody", [(tender: .points, amount: 100), (tender: .sandbox, amount: 19_700)]),
                                         caller: .system)
            }
            // check
            #expect(noMember?.status == 422 && noMember?.fields == ["payments[0].tender"])
            #expect(overHalf?.status == 422 && overHalf?.fields == ["payments"] && overHalf?.detail?.contains("9900") == true)
            #expect(stranger?.status == 422 && stranger?.fields == ["memberId"])
            #expect(try await s.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_concurrently_fromOneWallet_placesOnlyWhatTheWalletCovers_andTheLedgerAddsUp(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: ¥99 × 5 in the wallet, 20 one-unit orders of ¥99 at once
            try await s.receive(s.skus[1], 50, at: s.a)
            let member = try await Self.member(s, wallet: 5 * 9_900, points: 0)
            // act
            let placed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await s.orders.place(Self.order(s, member: member, [(tender: .wallet, amount: 9_900)], units: 1), caller: .system)
                            return true
                        } catch let e as MembersError where e.problem.status == 409 {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            // check
            #expect(placed == 5)
            #expect(try await s.services.members.walletBalance(member).total == 0)
            #expect(try await s.count("orders") == 5)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 5)
            #expect(try await s.services.members.verify().ok)
            #expect(try await s.inventory.verify().ok)
        }
    }
}
