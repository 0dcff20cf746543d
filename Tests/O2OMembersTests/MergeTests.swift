import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Merging duplicate members: everything moves, the ledgers stay true, and it can be undone")
struct MergeTests {
    static let tmall = ExternalIdentity(kind: .marketplaceBuyerId, channel: "TMALL", externalId: "tb-dup-1")

    /// A (a till member with a number) and B (the same person met on Tmall without one), B holding
    /// points in two lots (one partly spent), a wallet with bonus, a completed order and consents.
    static func pair(_ c: Club) async throws -> (a: Member, b: Member) {
        let a = try await c.members.findOrCreate(phone: "13800000001", channel: "pos", profile: .init(name: "王芳", tags: ["vip"]), caller: .system).member
        _ = try await c.members.setConsent(a.id, channel: .sms, granted: true, source: "pos", caller: .system)
        let b = try await c.members.findOrCreate(identity: tmall, channel: "TMALL",
                                                 profile: .init(name: "天猫买家", birthday: "1990-05-01", tags: ["kids"]), caller: .system).member
        _ = try await c.members.earnPoints(b.id, points: 300, reference: order("b1"), caller: .system)
        c.clock.advance(by: 86_400 * 400)  // the second lot expires a year later than the first
        _ = try await c.members.earnPoints(b.id, points: 200, reference: LedgerReference(type: "bonus", id: "welcome"), caller: .system)
        _ = try await c.members.redeemPoints(b.id, points: 100, reference: order("b2"), caller: .system)
        _ = try await c.members.topUpWallet(b.id, amount: Money(minorUnits: 50_000), reference: LedgerReference(type: "payment", id: "p1"), caller: .system)
        _ = try await TierTests.complete(c, b.id, "b3", 10_000)
        c.clock.advance(by: 60)
        _ = try await c.members.setConsent(b.id, channel: .sms, granted: false, source: "tmall", caller: .system)
        _ = try await c.members.setConsent(b.id, channel: .email, granted: true, source: "tmall", caller: .system)
        return (try await c.members.member(a.id), try await c.members.member(b.id))
    }

    /// Lots as points and expiry, in an order that ignores ids (lots expiring together sort by id).
    static func shape(_ lots: [PointsLot]) -> [String] {
        lots.map { "\($0.remaining)@\($0.expiresAt?.timeIntervalSince1970 ?? 0)" }.sorted()
    }

    @Test(arguments: TestDatabase.engines)
    func merge_movesEverything_andBothLedgersStillEqualTheirBalances(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let (a, b) = try await Self.pair(c)
            let lotsBefore = try await c.members.pointsBalance(b.id).lots
            // act
            let merge = try await c.members.merge(b.id, into: a.id, caller: .system)
            // check: points (with their expiry), wallet (principal and bonus apart), identities, spend
            let pa = try await c.members.pointsBalance(a.id)
            #expect(pa.balance == 500 && merge.moved.points == 500)
            #expect(Self.shape(pa.lots) == Self.shape(lotsBefore))
            #expect(try await c.members.pointsBalance(b.id).balance == 0)
            let wa = try await c.members.walletBalance(a.id)
            #expect(wa.principal == 50_000 && wa.bonus == 2_000)
            #expect(try await c.members.walletBalance(b.id).total == 0)
            #expect(try await c.members.verify().ok)
            #expect(try await c.members.member(identity: Self.tmall)?.id == a.id)
            #expect(try await c.members.tierStatus(a.id).rolling == 10_000)
            // the source stays, merged; a lookup of it by the identity answers the target
            let mb = try await c.members.member(b.id)
            #expect(mb.status == .merged && mb.mergedInto == a.id && mb.identities.isEmpty)
            #expect(try await c.members.findOrCreate(identity: Self.tmall, channel: "TMALL", caller: .system).member.id == a.id)
            // profile gaps filled, tags joined, the later consent per channel kept
            let ma = try await c.members.member(a.id)
            #expect(ma.profile.name == "王芳" && ma.profile.birthday == "1990-05-01" && ma.profile.tags == ["kids", "vip"])
            let consents = try await c.members.consents(a.id)
            #expect(consents.map(\.channel) == [.email, .sms] && consents.map(\.granted) == [true, false])
            #expect(try await c.members.mergeRecord(merge.id) == merge)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func merge_ofAMemberWithANumber_thatNumberFindsTheTarget(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let a = try await c.member("13800000001")
            let b = try await c.member("13900000002")
            // act
            _ = try await c.members.merge(b.id, into: a.id, caller: .system)
            // check
            #expect(try await c.members.member(phone: "13900000002")?.id == a.id)
            let again = try await c.members.findOrCreate(phone: "+86 139 0000 0002", channel: "web", caller: .system)
            #expect(again.member.id == a.id && !again.created)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverse_movesBackExactlyWhatMoved(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let (a, b) = try await Self.pair(c)
            let lotsBefore = try await c.members.pointsBalance(b.id).lots
            let merge = try await c.members.merge(b.id, into: a.id, caller: .system)
            // act
            let reversed = try await c.members.reverseMerge(merge.id, caller: .system)
            // check
            #expect(reversed.status == .reversed && reversed.reversedAt != nil)
            let pb = try await c.members.pointsBalance(b.id)
            #expect(pb.balance == 500 && pb.lots.map(\.expiresAt) == lotsBefore.map(\.expiresAt))
            #expect(try await c.members.pointsBalance(a.id).balance == 0)
            #expect(try await c.members.walletBalance(b.id) == WalletBalance(memberId: b.id, currency: "CNY", principal: 50_000, bonus: 2_000))
            #expect(try await c.members.walletBalance(a.id).total == 0)
            #expect(try await c.members.member(identity: Self.tmall)?.id == b.id)
            #expect(try await c.members.tierStatus(b.id).rolling == 10_000)
            #expect(try await c.members.tierStatus(a.id).rolling == 0)
            let (ma, mb) = (try await c.members.member(a.id), try await c.members.member(b.id))
            #expect(ma.profile == a.profile && mb.status == .active && mb.mergedInto == nil && mb.identities == [Self.tmall])
            #expect(try await c.members.consents(a.id).map(\.granted) == [true])
            #expect(try await c.members.verify().ok)
            // a second reversal is refused
            let again = await #expect(throws: Problem.self) { try await c.members.reverseMerge(merge.id, caller: .system) }
            #expect(again?.status == 409)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverse_afterTheTargetSpentMovedPoints_is409_andMovesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: the target has none of its own, so spending 50 spends moved points
            let (a, b) = try await Self.pair(c)
            let merge = try await c.members.merge(b.id, into: a.id, caller: .system)
            _ = try await c.members.redeemPoints(a.id, points: 50, reference: order("a1"), caller: .system)
            let before = try await c.snapshot()
            // act
            let error = await #expect(throws: Problem.self) { try await c.members.reverseMerge(merge.id, caller: .system) }
            // check
            #expect(error?.status == 409 && error?.type.hasSuffix("merge-spent") == true)
            #expect(try await c.snapshot() == before)
            #expect(try await c.members.mergeRecord(merge.id).status == .merged)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reverse_afterTheReversalPeriod_is409(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let a = try await c.member("13800000001")
            let b = try await c.member("13900000002")
            let merge = try await c.members.merge(b.id, into: a.id, caller: .system)
            c.clock.advance(by: Double(MembersService.mergeReversibleDays + 1) * 86_400)
            // act
            let error = await #expect(throws: Problem.self) { try await c.members.reverseMerge(merge.id, caller: .system) }
            // check
            #expect(error?.status == 409 && error?.type.hasSuffix("merge-final") == true)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func merge_badInput_422_404_409_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let a = try await c.member("13800000001")
            let b = try await c.member("13900000002")
            let d = try await c.member("13700000003")
            _ = try await c.members.merge(b.id, into: a.id, caller: .system)
            let before = try await c.snapshot()
            // act
            let itself = await #expect(throws: Problem.self) { try await c.members.merge(a.id, into: a.id, caller: .system) }
            let unknown = await #expect(throws: Problem.self) { try await c.members.merge("mem_missing", into: a.id, caller: .system) }
            let unknownTarget = await #expect(throws: Problem.self) { try await c.members.merge(d.id, into: "mem_missing", caller: .system) }
            let twice = await #expect(throws: Problem.self) { try await c.members.merge(b.id, into: d.id, caller: .system) }
            let intoMerged = await #expect(throws: Problem.self) { try await c.members.merge(d.id, into: b.id, caller: .system) }
            let noMerge = await #expect(throws: Problem.self) { try await c.members.reverseMerge("mmg_missing", caller: .system) }
            // check
            #expect(itself?.status == 422 && itself?.fields == ["sourceMemberId"])
            #expect(unknown?.status == 404 && unknownTarget?.status == 404 && noMerge?.status == 404)
            #expect(twice?.status == 409 && intoMerged?.status == 409)
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func merge_theSameSourceIntoTwoTargetsAtOnce_exactlyOneWins(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: eight rounds, each one source raced into two targets
            for round in 0..<8 {
                let source = try await c.member(String(format: "1390000%04d", round))
                _ = try await c.members.earnPoints(source.id, points: 100, reference: order("s\(round)"), caller: .system)
                let targets = [try await c.member(String(format: "1380000%04d", round)), try await c.member(String(format: "1370000%04d", round))]
                // act
                let outcomes = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                    for t in targets {
                        group.addTask {
                            do {
                                _ = try await c.members.merge(source.id, into: t.id, caller: .system)
                                return (t.id, 201)
                            } catch let p as Problem {
                                return (t.id, p.status)
                            }
                        }
                    }
                    var all: [(String, Int)] = []
                    for try await o in group { all.append(o) }
                    return all
                }
                // check
                #expect(outcomes.map(\.1).sorted() == [201, 409])
                let winner = outcomes.first { $0.1 == 201 }!.0
                #expect(try await c.members.member(source.id).mergedInto == winner)
                #expect(try await c.members.pointsBalance(winner).balance == 100)
                #expect(try await c.members.merges(of: source.id).count == 1)
            }
            #expect(try await c.members.verify().ok)
        }
    }
}
