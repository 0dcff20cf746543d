import ArgumentParser
import Foundation
import O2OCore
import O2OPromotions
import O2OServer

/// `o2o-bench promotions`: (a) pricing a `--lines`-line cart against `--promotions` active
/// promotions for a member offering `--coupons` coupons, in process, median and p99 over
/// `--iterations`; (b) a flash sale: `--claims` concurrent claims on a `--budget`-unit sale,
/// the winners (must equal the budget) and the claims per second.
struct PromotionsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promotions",
        abstract: "Pricing a cart against many promotions and coupons; a flash sale under concurrent claims.")

    @Option(help: "sqlite:PATH or postgres://…; must hold no promotions yet. Default: a temporary SQLite file.") var database: String?
    @Option(help: "sqlite or postgres (postgres: a fresh database on the server O2O_TEST_POSTGRES_URL names).") var engine: Engine?
    @Flag(help: "Keep the database afterwards.") var keep = false
    @Option(help: "Active promotions.") var promotions = 1_000
    @Option(help: "Lines in the cart.") var lines = 20
    @Option(help: "Coupons the member offers.") var coupons = 10
    @Option(help: "Pricing iterations measured.") var iterations = 2_000
    @Option(help: "Concurrent flash sale claims.") var claims = 1_000
    @Option(help: "Units of the flash sale.") var budget = 100

    func run() async throws {
        let (nPromotions, nLines, nCoupons, iterations, claims, budget) = (promotions, lines, coupons, iterations, self.claims, self.budget)
        try await BenchDatabase.withServices(database: database, engine: engine, keep: keep) { services, bench in
            print("database: \(bench.description)")
            try await Migrator(db: services.db, migrations: PromotionsMigrations.all, logger: BenchDatabase.logger).migrate()
            let service = PromotionsService(db: services.db, clock: SystemClock(), cacheTTL: .seconds(3_600))
            let (_, loadMs) = try await timed { try await Self.load(nPromotions, service) }
            print("created and activated \(nPromotions) promotions in \(Int(loadMs)) ms")
            let offers = try await Self.coupons(nCoupons, service)
            var rng = SeededRandom(state: 11)
            let cartLines = (0..<nLines).map { i in
                CartLine(lineId: "l\(i)", skuId: "sku-\(Int.random(in: 0..<500, using: &rng))", skuCode: "SKU\(i)",
                         categoryId: "cat-\(Int.random(in: 0..<20, using: &rng))", brandId: "brand-\(Int.random(in: 0..<10, using: &rng))",
                         quantity: Int.random(in: 1...3, using: &rng), unitPrice: Int64.random(in: 1_000...50_000, using: &rng))
            }
            let member = MemberFacts(memberId: "mem_bench", tierCode: "gold", segmentIds: ["seg-1"], isNew: false,
                                     purchasedSkus: ["sku-1"], purchasedCategories: ["cat-1"])
            let cart = Cart(lines: cartLines, channel: "web", locationId: "loc-1", organisationId: "org-1", regionCode: "SH", member: member,
                            coupons: offers, points: PointsRequest(points: 5_000), shippingFee: 1_000, at: Date())
            let warm = try await service.price(cart)
            print("cart: \(nLines) lines, subtotal \(warm.subtotal), total \(warm.total); \(warm.applied.count) applied, "
                  + "\(warm.notApplied.count) not applied, \(warm.nearMisses.count) near-misses")
            var samples: [Double] = []
            samples.reserveCapacity(iterations)
            for _ in 0..<iterations {
                let (_, ms) = try await timed { try await service.price(cart) }
                samples.append(ms)
            }
            let l = Latencies(samples)
            print(String(format: "pricing (service, cached promotions): %d iterations, ms p50 %.3f p90 %.3f p99 %.3f max %.3f",
                         l.count, l.p50, l.p90, l.p99, l.max))

            try await Self.flashSale(service, claims: claims, budget: Int64(budget))
        }
    }

    /// `n` promotions across four channels and every kind of benefit, half targeting a category;
    /// created and activated through the service, 32 at a time.
    static func load(_ n: Int, _ service: PromotionsService) async throws {
        let now = Date()
        let when = Schedule(validFrom: now.addingTimeInterval(-86_400), validTo: now.addingTimeInterval(30 * 86_400))
        let channels = ["web", "app", "pos", "mini"]
        let benefits: [Benefit] = [
            .percentOff(5), .amountOff(200, perUnit: true), .specialPrice(9_900), .buyXGetY(buy: 2, get: 1), .bundlePrice(quantity: 3, price: 50_000),
            .threshold([ThresholdTier(minimum: 30_000, amountOff: 3_000), ThresholdTier(minimum: 50_000, amountOff: 6_000)]),
            .threshold([ThresholdTier(minimum: 2, percentOff: 5), ThresholdTier(minimum: 5, percentOff: 10)], basis: .quantity),
            .gift(GiftItem(skuId: "sku-gift", skuCode: "GIFT"), minimum: 100_000), .freeShipping(minimum: 20_000), .pointsMultiplier(2),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    var d = PromotionDraft(name: "bench \(i)", when: when, what: benefits[i % benefits.count],
                                           where: Placement(channels: [channels[i % channels.count]]), priority: i % 50,
                                           stackGroup: i % 3 == 0 ? "g\(i % 7)" : nil, budget: i % 5 == 0 ? 10_000_000 : nil)
                    if i % 2 == 0 { d.which = Conditions(target: ItemSet(categoryIds: ["cat-\(i % 20)", "cat-\((i + 7) % 20)"])) }
                    if i % 11 == 0 { d.who = Audience(kind: .tiers, tierCodes: ["gold", "platinum"]) }
                    let p = try await service.create(d, caller: .system)
                    _ = try await service.activate(p.id, caller: .system)
                }
            }
            for _ in 0..<min(32, n) { add() }
            while try await group.next() != nil { if next < n { add() } }
        }
    }

    /// `n` coupon templates with one coupon each for the bench member.
    static func coupons(_ n: Int, _ service: PromotionsService) async throws -> [CouponOffer] {
        let now = Date()
        for i in 0..<n {
            let k = Int64(i + 1)
            let t = try await service.createCouponTemplate(
                CouponTemplateDraft(name: "¥\(5 * k) off over ¥\(100 * k)",
                                    benefit: .threshold([ThresholdTier(minimum: 10_000 * k, amountOff: 500 * k)]),
                                    validFrom: now.addingTimeInterval(-3_600), validTo: now.addingTimeInterval(30 * 86_400)),
                caller: .system)
            _ = try await service.distribute(templateId: t.id, to: ["mem_bench"], caller: .system)
        }
        return try await service.couponOffers(memberId: "mem_bench")
    }

    static func flashSale(_ service: PromotionsService, claims: Int, budget: Int64) async throws {
        let now = Date()
        let sale = try await service.createFlashSale(
            FlashSaleDraft(name: "bench flash sale", skuId: "sku-flash", price: 990, quantity: budget, perMemberLimit: 1,
                           startsAt: now.addingTimeInterval(-60), endsAt: now.addingTimeInterval(3_600)), caller: .system)
        let start = ContinuousClock.now
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<claims {
                group.addTask {
                    do {
                        _ = try await service.claimFlashSale(sale.id, memberId: "mem_f\(i)", reference: "ord_f\(i)", caller: .system)
                        return true
                    } catch PromotionsError.soldOut { return false }
                }
            }
            var n = 0
            for try await w in group where w { n += 1 }
            return n
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let after = try await service.flashSale(sale.id)
        print(String(format: "flash sale: %d concurrent claims on %d units: %d won, sold = %d, %.2f s = %.0f claims/s",
                     claims, budget, winners, after.sold, elapsed, Double(claims) / elapsed))
        guard Int64(winners) == min(budget, Int64(claims)), after.sold == Int64(winners) else {
            throw ValidationError("the flash sale was oversold or undersold")
        }
    }
}
