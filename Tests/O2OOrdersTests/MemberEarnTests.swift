import Foundation
import O2OCatalog
import O2OCore
import O2OMembers
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Completed orders count toward the member's tier and earn points, online and at the till")
struct MemberEarnTests {
    static let ladder = TierLadder(tiers: [
        MemberTier(code: "regular", name: "普卡", threshold: 0),
        MemberTier(code: "silver", name: "银卡", threshold: 20_000, benefits: .init(pointsMultiplier: 200)),
    ])

    @Test(arguments: TestDatabase.engines)
    func completion_earnsOnWhatWasPaidInMoney_notOnPoints_andUpgradesTheTier(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 3 × ¥99 = ¥297, of which ¥50 in points
            try await s.receive(s.skus[1], 5, at: s.a)
            let members = s.services.members
            _ = try await members.setTierLadder(Self.ladder, caller: .system)
            let member = try await members.findOrCreate(phone: "13812345678", channel: "web", caller: .system).member.id
            _ = try await members.earnPoints(member, points: 5_000, reference: .init(type: "bonus", id: "welcome"), caller: .system)
            var new = s.delivery([(s.skus[1], 3)], paid: false)
            new.memberId = member
            new.payments = [(tender: .points, amount: 5_000), (tender: .sandbox, amount: 24_700)]
            let o = try await s.orders.place(new, caller: .system)
            // act
            for next in [OrderStatus.released, .picking, .shipped, .delivered] { _ = try await s.orders.advance(o.id, to: next, caller: .system) }
            let beforeCompletion = try await members.pointsBalance(member).balance
            _ = try await s.orders.advance(o.id, to: .completed, caller: .system)
            // check: ¥247 paid in money earns 247 points at the regular rate; ¥247 reaches silver
            #expect(beforeCompletion == 0)
            #expect(try await members.pointsBalance(member).balance == 247)
            #expect(try await members.tierStatus(member).tier?.code == "silver")
            #expect(try await members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aTillSale_withAMember_earnsAtOnce_andAnUnknownMemberIsRefused(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            _ = try await s.services.catalog.createChannel(code: "ORD-POS", name: "门店POS", kind: .pos, currency: nil, caller: .system)
            try await s.receive(s.skus[1], 5, at: s.a)
            let members = s.services.members
            let member = try await members.findOrCreate(phone: "13812345678", channel: "pos", caller: .system).member.id
            func sale(_ id: String, member: String) -> TillSale {
                TillSale(transactionId: id, location: s.a.code, memberId: member, soldAt: s.clock.instant(),
                         lines: [(sku: s.skus[1], quantity: 2, unitPrice: 9_900)], payments: [(tender: .cash, amount: 19_800)])
            }
            let r = try await s.orders.recordTillSales([sale("T-1", member: member), sale("T-2", member: "mbr_nobody")], caller: .system)
            #expect(r[0].outcome == .recorded)
            #expect(r[1].problem?.status == 422 && r[1].problem?.errors?.map(\.field) == ["memberId"])
            #expect(try await members.pointsBalance(member).balance == 198)
            // the same sale sent again earns nothing more
            _ = try await s.orders.recordTillSales([sale("T-1", member: member)], caller: .system)
            #expect(try await members.pointsBalance(member).balance == 198)
            #expect(try await members.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func earnRules_byChannelAndCategory_setWhatEachLineEarns_theMostSpecificRuleWinning(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: a gift card (another category, ¥100) beside the tees (¥99); the web shop earns double,
            // gift cards earn nothing anywhere, and tees at the till earn half
            let catalog = s.services.catalog
            let cards = try await catalog.createCategory(code: "ORD-GC", name: "礼品卡", nameEn: nil, parentId: nil, caller: .system)
            let brand = try await catalog.createBrand(code: "ORD-GCB", name: "Gift", nameEn: nil, caller: .system)
            let card = try await catalog.createProduct(.init(code: "ORD-GCP", name: "礼品卡", brandId: brand.id, categoryId: cards.id, optionNames: [],
                                                             status: .active, skus: [.init(code: "ORD-GC-100", options: [:], listPrice: 10_000)]),
                                                       caller: .system)
            let web = try await catalog.channel("ORD-WEB")
            _ = try await catalog.setListings(channel: web.id, [.init(sku: card.skus[0].id, publishAt: Date(timeIntervalSince1970: 0))], caller: .system)
            let pos = try await catalog.createChannel(code: "ORD-POS", name: "门店POS", kind: .pos, currency: nil, caller: .system)
            let tees = try await catalog.product(try await catalog.skus(ids: [s.skus[1]])[0].productId).categoryId
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(card.skus[0].id, 5, at: s.a)
            let members = s.services.members
            let rules = try await members.setEarnRules([PointsEarnRule(channelId: web.id, percent: 200), PointsEarnRule(categoryId: cards.id, percent: 0),
                                                        PointsEarnRule(channelId: pos.id, categoryId: tees, percent: 50)], caller: .system)
            let twice = await #expect(throws: Problem.self) {
                try await members.setEarnRules([PointsEarnRule(channelId: web.id, percent: 200), PointsEarnRule(channelId: web.id, percent: 300)], caller: .system)
            }
            let member = try await members.findOrCreate(phone: "13812345678", channel: "web", caller: .system).member.id
            var new = s.delivery([(s.skus[1], 1), (card.skus[0].id, 1)])
            new.memberId = member
            new.payments = [(tender: .sandbox, amount: 19_900)]
            let o = try await s.orders.place(new, caller: .system)
            // act
            for next in [OrderStatus.released, .picking, .shipped, .delivered, .completed] { _ = try await s.orders.advance(o.id, to: next, caller: .system) }
            let online = try await members.pointsBalance(member).balance
            _ = try await s.orders.recordTillSales([TillSale(transactionId: "T-9", location: s.a.code, channel: pos.id, memberId: member,
                                                             soldAt: s.clock.instant(), lines: [(sku: s.skus[1], quantity: 2, unitPrice: 9_900)],
                                                             payments: [(tender: .cash, amount: 19_800)])], caller: .system)
            // check: ¥99 of tees at double on the web, the card nothing; ¥198 of tees at the till at half
            #expect(online == 198)
            #expect(try await members.pointsBalance(member).balance == 198 + 99)
            #expect(twice?.status == 422 && twice?.errors?.map(\.field) == ["rules[1]"])
            #expect(try await members.earnRules() == rules && rules.rules.count == 3)
            #expect(try await members.verify().ok)
        }
    }
}
