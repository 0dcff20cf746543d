import Foundation
import O2OCore
import O2OPromotions
import O2OTestSupport
import Testing

@Suite("Promotions: rules are validated, stored, listed and priced from the cache")
struct PromotionRulesTests {
    @Test(arguments: TestDatabase.engines)
    func create_roundTrips_andListsWithACursor(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            var d = draft("满300减50", what: .threshold([ThresholdTier(minimum: 30_000, amountOff: 5_000), ThresholdTier(minimum: 50_000, amountOff: 10_000)]))
            d.who = Audience(kind: .tiers, tierCodes: ["gold"])
            d.which = Conditions(cartExcludes: ItemSet(brandIds: ["brand-x"]), target: ItemSet(categoryIds: ["cat-a"]), minQuantity: 1)
            d.where = Placement(channels: ["web", "app"], regionCodes: ["SH"])
            d.budget = 1_000_000
            // act
            let p = try await s.promotions.create(d, caller: .system)
            for i in 0..<3 {
                s.clock.advance(by: 1)  // ids sort by creation time, to the millisecond
                _ = try await s.promotions.create(draft("extra \(i)"), caller: .system)
            }
            // check
            #expect(p.status == .draft)
            #expect(try await s.promotions.promotion(p.id) == p)
            let first = try await s.promotions.promotions(limit: 2)
            #expect(first.items.map(\.id) == [p.id, first.items[1].id])
            let second = try await s.promotions.promotions(limit: 2, cursor: first.nextCursor)
            #expect(second.items.count == 2 && second.nextCursor == nil)
            #expect(try await s.count("audit_events") == 4)
            #expect(try await s.count("outbox_events") == 4)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func create_withBadInput_isA422NamingEveryField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let before = try await s.snapshot()
            // no WHAT, empty WHERE, validity backwards
            var d = draft(what: nil, where: Placement())
            d.when = Schedule(validFrom: Shop.start, validTo: Shop.start)
            let p1 = await problem { _ = try await s.promotions.create(d, caller: .system) }
            #expect(p1?.status == 422)
            #expect(p1?.fields == ["what", "where.channels", "when.validTo"])
            // percent outside 1…99, negative amounts, thresholds not increasing
            let cases: [(Benefit, Set<String>)] = [
                (.percentOff(0), ["what.percentOff"]),
                (.percentOff(100), ["what.percentOff"]),
                (.amountOff(-100), ["what.amountOff"]),
                (.specialPrice(-1), ["what.price"]),
                (.threshold([]), ["what.tiers"]),
                (.threshold([ThresholdTier(minimum: 50_000, amountOff: 10_000), ThresholdTier(minimum: 30_000, amountOff: 5_000)]),
                 ["what.tiers[1].minimum", "what.tiers[1].amountOff"]),
                (.threshold([ThresholdTier(minimum: 30_000, amountOff: 5_000, percentOff: 10)]), ["what.tiers[0]"]),
                (.threshold([ThresholdTier(minimum: 3_000, amountOff: 5_000)]), ["what.tiers[0].amountOff"]),
                (.buyXGetY(buy: 0, get: 1), ["what.buyQuantity"]),
                (.bundlePrice(quantity: 1, price: 100), ["what.quantity"]),
                (Benefit(kind: .gift), ["what.gift"]),
                (.pointsMultiplier(1), ["what.multiplier"]),
                (.freeShipping(minimum: -5), ["what.minimum"]),
            ]
            for (what, fields) in cases {
                let p = await problem { _ = try await s.promotions.create(draft(what: what), caller: .system) }
                #expect(p?.status == 422, "\(what.kind)")
                #expect(p?.fields == fields, "\(what.kind): \(p?.fields ?? [])")
            }
            // who without its list, all channels and a list, a negative budget
            var d2 = draft(where: Placement(allChannels: true, channels: ["web"]))
            d2.who = Audience(kind: .tiers)
            d2.budget = -1
            d2.which = Conditions(minAmount: -1)
            let p2 = await problem { _ = try await s.promotions.create(d2, caller: .system) }
            #expect(p2?.fields == ["who.tierCodes", "where.channels", "budget", "which.minAmount"])
            #expect(try await s.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func exclusiveOfEqualPriority_overlapping_isA409WithBothIds_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let a = try await s.promotions.create(draft("A", where: Placement(channels: ["web", "pos"]), priority: 5, exclusive: true), caller: .system)
            let before = try await s.snapshot()
            // act: same priority, overlapping channel and week
            let p = await problem { _ = try await s.promotions.create(draft("B", where: Placement(channels: ["pos"]), priority: 5, exclusive: true), caller: .system) }
            // check
            #expect(p?.status == 409)
            #expect(p?.detail?.contains(a.id) == true)
            #expect(p?.detail?.contains("prm_") == true)
            #expect(p?.fields == ["priority", "exclusive"])
            #expect(try await s.snapshot() == before)
            // another channel, another priority, or not exclusive: allowed
            _ = try await s.promotions.create(draft("C", where: Placement(channels: ["app"]), priority: 5, exclusive: true), caller: .system)
            _ = try await s.promotions.create(draft("D", where: Placement(channels: ["pos"]), priority: 6, exclusive: true), caller: .system)
            _ = try await s.promotions.create(draft("E", where: Placement(channels: ["pos"]), priority: 5), caller: .system)
            // all channels overlaps everything
            let all = await problem { _ = try await s.promotions.create(draft("F", where: .everywhere, priority: 6, exclusive: true), caller: .system) }
            #expect(all?.status == 409)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func lifecycle_andPricing_seeActivationAtOnce(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let p = try await s.promotions.create(draft("10% off"), caller: .system)
            let c = cart([line("a", price: 10_000)])
            // a draft does not price
            #expect(try await s.promotions.price(c).applied.isEmpty)
            // act + check: activation shows in the very next pricing (the cache is dropped on write)
            _ = try await s.promotions.activate(p.id, caller: .system)
            #expect(try await s.promotions.price(c).itemDiscount == 1_000)
            _ = try await s.promotions.pause(p.id, caller: .system)
            #expect(try await s.promotions.price(c).applied.isEmpty)
            _ = try await s.promotions.activate(p.id, caller: .system)
            var d = draft("15% off", what: .percentOff(15))
            d.priority = 3
            let updated = try await s.promotions.update(p.id, d, expectedVersion: 4, caller: .system)
            #expect(updated.version == 5)
            #expect(try await s.promotions.price(c).itemDiscount == 1_500)
            let stale = await problem { _ = try await s.promotions.update(p.id, draft("x"), expectedVersion: 4, caller: .system) }
            #expect(stale?.status == 409)
            _ = try await s.promotions.end(p.id, caller: .system)
            let again = await problem { _ = try await s.promotions.activate(p.id, caller: .system) }
            #expect(again?.status == 409)
            #expect(try await s.promotions.promotions(status: .ended).items.map(\.id) == [p.id])
            let missing = await problem { _ = try await s.promotions.promotion("prm_nope") }
            #expect(missing?.status == 404)
        }
    }
}
