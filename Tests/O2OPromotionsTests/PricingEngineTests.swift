import Foundation
import O2OCore
import O2OPromotions
import Testing

@Suite("Pricing engine: every benefit, the pipeline, stacking and the explanation")
struct PricingEngineTests {
    // MARK: Every WHAT

    @Test func percentOff_takesThePercentOffEveryTargetedLine() {
        // setup: 20% off shirts only
        let p = promo("p20", .percentOff(20), which: Conditions(target: ItemSet(categoryIds: ["cat-shirts"])))
        // act
        let r = PricingEngine.price(cart([line("a", price: 10_000), line("b", category: "cat-shoes", price: 5_000)]), promotions: [p])
        // check
        #expect(r.lines[0].discount == 2_000)
        #expect(r.lines[1].discount == 0)
        #expect(r.itemDiscount == 2_000)
        #expect(r.total == 13_000)
        #expect(r.consistent)
    }

    @Test func amountOffPerUnit_isItemLevel_andAmountOffOrder_isSpreadProRata() {
        let perUnit = promo("unit", .amountOff(500, perUnit: true))
        let r1 = PricingEngine.price(cart([line("a", qty: 3, price: 2_000)]), promotions: [perUnit])
        #expect(r1.itemDiscount == 1_500)
        let order = promo("order", .amountOff(1_000))
        let r2 = PricingEngine.price(cart([line("a", price: 1_000), line("b", price: 2_000)]), promotions: [order])
        #expect(r2.orderDiscount == 1_000)
        #expect(r2.lines.map(\.discount) == [333, 667])
        #expect(r2.consistent)
    }

    @Test func threshold_takesTheHighestTierReached_andNamesTheNext() {
        // setup: ¥300−50 / ¥500−100
        let p = promo("mj", .threshold([ThresholdTier(minimum: 30_000, amountOff: 5_000), ThresholdTier(minimum: 50_000, amountOff: 10_000)]))
        // act
        let r = PricingEngine.price(cart([line("a", price: 20_000), line("b", price: 12_000)]), promotions: [p])
        // check: ¥320 reaches the first tier; ¥180 more reaches the second
        #expect(r.orderDiscount == 5_000)
        #expect(r.nearMisses.count == 1)
        #expect(r.nearMisses[0].missingAmount == 18_000)
        #expect(r.nearMisses[0].rewardAmount == 10_000)
        #expect(r.nearMisses[0].messageZh.contains("再买¥180.00可减¥100.00"))
        #expect(r.nearMisses[0].message.contains("Add ¥180.00 more to get ¥100.00 off"))
        #expect(r.consistent)
        let top = PricingEngine.price(cart([line("a", price: 60_000)]), promotions: [p])
        #expect(top.orderDiscount == 10_000)
        #expect(top.nearMisses.isEmpty)
    }

    @Test func threshold_notReached_isANearMiss_withTheReason() {
        let p = promo("mj", .threshold([ThresholdTier(minimum: 30_000, amountOff: 5_000)]))
        let r = PricingEngine.price(cart([line("a", price: 27_000)]), promotions: [p])
        #expect(r.applied.isEmpty)
        #expect(r.reason("mj") == .thresholdNotMet)
        #expect(r.nearMisses.first?.missingAmount == 3_000)
        #expect(r.explanation().contains { $0.contains("再买¥30.00可减¥50.00") })
        #expect(r.explanation(chinese: false).contains { $0.contains("Add ¥30.00 more to get ¥50.00 off") })
    }

    @Test func thresholdByQuantity_isManJianZhe() {
        // 满2件9折
        let p = promo("zhe", .threshold([ThresholdTier(minimum: 2, percentOff: 10)], basis: .quantity))
        let one = PricingEngine.price(cart([line("a", price: 10_000)]), promotions: [p])
        #expect(one.reason("zhe") == .thresholdNotMet)
        #expect(one.nearMisses.first?.missingQuantity == 1)
        #expect(one.nearMisses.first?.messageZh.contains("再买1件可享9折") == true)
        let two = PricingEngine.price(cart([line("a", qty: 2, price: 10_000)]), promotions: [p])
        #expect(two.orderDiscount == 2_000)
    }

    @Test func buyXGetY_theCheapestUnitsAreFree() {
        // buy 2 get 1: five units, one group of three, the cheapest of the dearest three is free
        let p = promo("b2g1", .buyXGetY(buy: 2, get: 1))
        let r = PricingEngine.price(cart([line("a", qty: 2, price: 10_000), line("b", qty: 1, price: 3_000), line("c", qty: 2, price: 5_000)]),
                                    promotions: [p])
        // units by value: 100,100,50,50,30 → group (100,100,50): the 50 is free; (50,30) is no full group
        #expect(r.itemDiscount == 5_000)
        #expect(r.lines[2].discount == 5_000)
        #expect(r.consistent)
    }

    @Test func gift_addsAZeroPricedLine_whenTheMinimumIsReached() {
        let p = promo("gift", .gift(GiftItem(skuId: "sku-tote", skuCode: "TOTE"), minimum: 20_000))
        let r = PricingEngine.price(cart([line("a", price: 25_000)]), promotions: [p])
        #expect(r.lines.count == 2)
        #expect(r.lines[1].isGift && r.lines[1].netAmount == 0 && r.lines[1].skuId == "sku-tote")
        #expect(r.applied.first?.gift?.skuCode == "TOTE")
        #expect(r.total == 25_000)
        let short = PricingEngine.price(cart([line("a", price: 15_000)]), promotions: [p])
        #expect(short.lines.count == 1)
        #expect(short.nearMisses.first?.missingAmount == 5_000)
    }

    @Test func specialPrice_andBundlePrice() {
        let sp = promo("sp", .specialPrice(7_900), which: Conditions(target: ItemSet(skuIds: ["sku-a"])))
        let r1 = PricingEngine.price(cart([line("a", qty: 2, price: 9_900), line("b", price: 5_000)]), promotions: [sp])
        #expect(r1.lines[0].netAmount == 15_800)
        #expect(r1.lines[1].discount == 0)
        // 3 for ¥100: four socks at ¥40 → one bundle (¥120 → ¥100) and one at full price
        let bundle = promo("3for100", .bundlePrice(quantity: 3, price: 10_000))
        let r2 = PricingEngine.price(cart([line("s", qty: 4, price: 4_000)]), promotions: [bundle])
        #expect(r2.itemDiscount == 2_000)
        #expect(r2.total == 14_000)
        #expect(r2.consistent)
    }

    @Test func freeShipping_waivesTheFee_overItsMinimum_andPointsMultiplier_isReported() {
        let ship = promo("ship", .freeShipping(minimum: 9_900))
        let x2 = promo("x2", .pointsMultiplier(2))
        let r = PricingEngine.price(cart([line("a", price: 10_000)], shipping: 1_000), promotions: [ship, x2])
        #expect(r.shippingDiscount == 1_000)
        #expect(r.total == 10_000)
        #expect(r.pointsMultiplier == 2)
        let short = PricingEngine.price(cart([line("a", price: 9_000)], shipping: 1_000), promotions: [ship])
        #expect(short.shippingDiscount == 0)
        #expect(short.nearMisses.first?.message.contains("free shipping") == true)
    }

    // MARK: The pipeline

    @Test func pipeline_itemThenThresholdThenCouponThenPointsThenShipping() {
        // setup: 10% off items; ¥300−30 on what is left; a ¥20 coupon; 2,000 points; free shipping over ¥200
        let item = promo("item", .percentOff(10))
        let threshold = promo("mj", .threshold([ThresholdTier(minimum: 30_000, amountOff: 3_000)]))
        let ship = promo("ship", .freeShipping(minimum: 20_000))
        let coupon = CouponOffer(couponId: "cpn1", code: "C", templateId: "tpl", name: "¥20", benefit: .amountOff(2_000),
                                 validFrom: week.validFrom, validTo: week.validTo)
        let c = cart([line("a", price: 20_000), line("b", price: 15_000)], member: MemberFacts(memberId: "m1"), coupons: [coupon],
                     points: PointsRequest(points: 2_000), shipping: 800)
        // act
        let r = PricingEngine.price(c, promotions: [ship, threshold, item])
        // check: 35,000 → item −3,500 = 31,500 → threshold −3,000 = 28,500 → coupon −2,000 = 26,500 → points −2,000 = 24,500; shipping free
        #expect(r.applied.map(\.stage) == [.item, .order, .coupon, .points, .shipping])
        #expect(r.itemDiscount == 3_500)
        #expect(r.orderDiscount == 3_000)
        #expect(r.couponDiscount == 2_000)
        #expect(r.pointsDiscount == 2_000)
        #expect(r.pointsRedeemed == 2_000)
        #expect(r.shippingDiscount == 800)
        #expect(r.total == 24_500)
        #expect(r.consistent)
    }

    @Test func thresholdIsMeasuredAfterItemDiscounts() {
        // ¥320 at 10% off is ¥288: the ¥300 threshold is no longer reached
        let r = PricingEngine.price(cart([line("a", price: 32_000)]),
                                    promotions: [promo("item", .percentOff(10)), promo("mj", .threshold([ThresholdTier(minimum: 30_000, amountOff: 3_000)]))])
        #expect(r.reason("mj") == .thresholdNotMet)
        #expect(r.nearMisses.first?.missingAmount == 1_200)
    }

    @Test func points_cappedAtHalfTheOrder_at100PointsAYuan() {
        let r = PricingEngine.price(cart([line("a", price: 10_000)], points: PointsRequest(points: 9_000)), promotions: [])
        #expect(r.pointsDiscount == 5_000)
        #expect(r.pointsRedeemed == 5_000)
        #expect(r.total == 5_000)
        #expect(r.applied[0].messageZh.contains("最多抵扣订单的50%"))
    }

    // MARK: Exclusivity, priority, stacking, budgets

    @Test func exclusive_isAlone_andTheOthersSayWhy() {
        let ex = promo("vip", .percentOff(30), priority: 5, exclusive: true)
        let other = promo("p10", .percentOff(10), priority: 9)
        let coupon = CouponOffer(couponId: "c1", code: "C", templateId: "tpl", name: "¥5", benefit: .amountOff(500),
                                 validFrom: week.validFrom, validTo: week.validTo)
        let r = PricingEngine.price(cart([line("a", price: 10_000)], coupons: [coupon]), promotions: [other, ex])
        #expect(r.discount("vip") == 3_000)
        #expect(r.discount("p10") == nil)
        #expect(r.reason("p10") == .excludedByExclusive)
        #expect(r.notApplied.first { $0.promotionId == "p10" }?.otherPromotionId == "vip")
        // coupons still apply after an exclusive activity
        #expect(r.couponDiscount == 500)
        #expect(r.total == 6_500)
    }

    @Test func exclusiveThatGivesNothing_letsTheOthersApply() {
        let ex = promo("vip", .threshold([ThresholdTier(minimum: 100_000, amountOff: 20_000)]), exclusive: true)
        let other = promo("p10", .percentOff(10))
        let r = PricingEngine.price(cart([line("a", price: 10_000)]), promotions: [ex, other])
        #expect(r.discount("p10") == 1_000)
        #expect(r.reason("vip") == .thresholdNotMet)
    }

    @Test func stackGroup_onlyTheFirstByPriorityApplies_andOthersStack() {
        let high = promo("high", .percentOff(20), priority: 10, group: "season")
        let low = promo("low", .percentOff(30), priority: 1, group: "season")
        let free = promo("free", .amountOff(500, perUnit: true), priority: 0)
        let r = PricingEngine.price(cart([line("a", price: 10_000)]), promotions: [low, free, high])
        #expect(r.discount("high") == 2_000)
        #expect(r.reason("low") == .stackGroupTaken)
        // the ungrouped one stacks on what is left: 8,000 − 500
        #expect(r.discount("free") == 500)
        #expect(r.total == 7_500)
        // priority decides the order: higher first
        #expect(r.applied.map(\.promotionId) == ["high", "free"])
    }

    @Test func budget_capsTheDiscount_andAnExhaustedBudgetIsAReason() {
        let capped = promo("cap", .percentOff(50), budget: 10_000, used: 8_500)
        let r = PricingEngine.price(cart([line("a", price: 10_000), line("b", price: 10_000)]), promotions: [capped])
        #expect(r.itemDiscount == 1_500)
        #expect(r.consistent)
        let spent = promo("spent", .percentOff(50), budget: 10_000, used: 10_000)
        #expect(PricingEngine.price(cart([line("a", price: 10_000)]), promotions: [spent]).reason("spent") == .budgetExhausted)
    }

    // MARK: Why not

    @Test func reasons_forWhoWhenWhereAndWhich() {
        let sunday = Schedule(validFrom: week.validFrom, validTo: week.validTo, weekdays: [7])
        let evening = Schedule(validFrom: week.validFrom, validTo: week.validTo, windows: [.hours(18, 22)])
        let promos = [
            promo("paused", .percentOff(5), status: .paused),
            promo("pos", .percentOff(5), where: Placement(channels: ["pos"])),
            promo("store", .percentOff(5), where: Placement(channels: ["web"], locationIds: ["loc-1"])),
            promo("later", .percentOff(5), when: Schedule(validFrom: Shop.start.addingTimeInterval(3_600), validTo: week.validTo)),
            promo("over", .percentOff(5), when: Schedule(validFrom: week.validFrom, validTo: Shop.start)),
            promo("sunday", .percentOff(5), when: sunday),
            promo("evening", .percentOff(5), when: evening),
            promo("gold", .percentOff(5), who: Audience(kind: .tiers, tierCodes: ["gold"])),
            promo("members", .percentOff(5), who: Audience(kind: .members)),
            promo("new", .percentOff(5), who: Audience(kind: .newMembers)),
            promo("seg", .percentOff(5), who: Audience(kind: .segments, segmentIds: ["seg-vip"])),
            promo("needs", .percentOff(5), which: Conditions(cartContains: ItemSet(brandIds: ["brand-z"]))),
            promo("without", .percentOff(5), which: Conditions(cartExcludes: ItemSet(categoryIds: ["cat-shirts"]))),
            promo("history", .percentOff(5), which: Conditions(historyContains: ItemSet(categoryIds: ["cat-shoes"]))),
            promo("shoes", .percentOff(5), which: Conditions(target: ItemSet(categoryIds: ["cat-shoes"]))),
            promo("min2", .percentOff(5), which: Conditions(minQuantity: 2)),
        ]
        let silver = MemberFacts(memberId: "m1", tierCode: "silver", segmentIds: ["seg-x"], isNew: false, purchasedCategories: ["cat-shirts"])
        let r = PricingEngine.price(cart([line("a", price: 10_000)], member: silver), promotions: promos)
        let expected: [String: NotApplied.Reason] = [
            "paused": .notActive, "pos": .notThisChannel, "store": .notThisStore, "later": .notYetValid, "over": .expired,
            "sunday": .notThisWeekday, "evening": .notThisTime, "gold": .memberTier, "new": .notNewMember, "seg": .memberSegment,
            "needs": .cartLacksItems, "without": .cartHasExcludedItems, "history": .historyLacksItems, "shoes": .noTargetedLines,
            "min2": .minimumQuantityNotMet,
        ]
        for (id, reason) in expected { #expect(r.reason(id) == reason, "\(id)") }
        #expect(r.discount("members") == 500)
        let guest = PricingEngine.price(cart([line("a", price: 10_000)]), promotions: [promo("members", .percentOff(5), who: Audience(kind: .members))])
        #expect(guest.reason("members") == .membersOnly)
        // every reason reads out in both languages
        #expect(r.notApplied.allSatisfy { !$0.message.isEmpty && !$0.messageZh.isEmpty })
    }

    @Test func hoursAreReadInTheChannelsTimeZone() {
        // 10:00 in Shanghai is 02:00 UTC: a 9–12 window applies in Shanghai, not in UTC
        let morning = promo("morning", .percentOff(5), when: Schedule(validFrom: week.validFrom, validTo: week.validTo, weekdays: [1], windows: [.hours(9, 12)]))
        var c = cart([line("a", price: 10_000)])
        #expect(PricingEngine.price(c, promotions: [morning]).discount("morning") == 500)
        c.timeZone = TimeZone(identifier: "UTC")!
        #expect(PricingEngine.price(c, promotions: [morning]).reason("morning") == .notThisTime)
    }

    // MARK: Coupons in the engine

    @Test func coupons_theBestOneIsUsed_whenOnlyOneMayBe() {
        let offers = [(Int64(500), "c5"), (Int64(2_000), "c20"), (Int64(1_000), "c10")].map { amount, id in
            CouponOffer(couponId: id, code: id, templateId: "t-\(id)", name: id, benefit: .amountOff(amount), validFrom: week.validFrom, validTo: week.validTo)
        }
        let expired = CouponOffer(couponId: "old", code: "old", templateId: "t-old", name: "old", benefit: .amountOff(9_000),
                                  validFrom: week.validFrom, validTo: Shop.start)
        let r = PricingEngine.price(cart([line("a", price: 10_000)], coupons: offers + [expired]), promotions: [])
        #expect(r.couponDiscount == 2_000)
        #expect(r.applied.map(\.couponId) == ["c20"])
        #expect(r.notApplied.first { $0.couponId == "c5" }?.reason == .couponLimit)
        #expect(r.notApplied.first { $0.couponId == "old" }?.reason == .expired)
    }

    // MARK: Allocation

    @Test func allocate_sumsExactly_largestRemainderFirst() {
        #expect(PricingEngine.allocate(100, over: [1, 1, 1]) == [34, 33, 33])
        #expect(PricingEngine.allocate(1_000, over: [1_000, 2_000]) == [333, 667])
        #expect(PricingEngine.allocate(0, over: [5, 5]) == [0, 0])
        var rng = SeededRandom(state: 7)
        for _ in 0..<500 {
            let weights = (0..<Int.random(in: 1...20, using: &rng)).map { _ in Int64.random(in: 0...1_000_000, using: &rng) }
            let total = Int64.random(in: 0...weights.reduce(0, +), using: &rng)
            let shares = PricingEngine.allocate(total, over: weights)
            if weights.reduce(0, +) > 0 { #expect(shares.reduce(0, +) == total) }
            #expect(zip(shares, weights).allSatisfy { $0 <= $1 })
        }
    }

    @Test func manyPromotionsAndLines_alwaysAddUp() {
        var rng = SeededRandom(state: 42)
        let kinds: [Benefit] = [.percentOff(15), .amountOff(300, perUnit: true), .specialPrice(4_000), .buyXGetY(buy: 2, get: 1),
                                .bundlePrice(quantity: 2, price: 9_000), .threshold([ThresholdTier(minimum: 20_000, amountOff: 2_000)]),
                                .amountOff(1_500), .freeShipping(), .gift(GiftItem(skuId: "g", skuCode: "G"))]
        for round in 0..<50 {
            let promos = (0..<12).map { i in
                promo("p\(round)-\(i)", kinds[Int.random(in: 0..<kinds.count, using: &rng)], priority: Int.random(in: 0...5, using: &rng),
                      group: Bool.random(using: &rng) ? "g\(i % 3)" : nil)
            }
            let lines = (0..<Int.random(in: 1...8, using: &rng)).map { i in
                line("l\(i)", qty: Int.random(in: 1...4, using: &rng), price: Int64.random(in: 100...20_000, using: &rng))
            }
            let r = PricingEngine.price(cart(lines, points: PointsRequest(points: 3_000), shipping: 600), promotions: promos)
            #expect(r.consistent)
            #expect(r.lines.allSatisfy { $0.netAmount >= 0 })
        }
    }
}
