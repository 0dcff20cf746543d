import Foundation
import O2OCore
import O2OPromotions
import O2OTestSupport
import Testing

@Suite("Coupons: unguessable codes, claim limits, redemption and its reversal")
struct CouponTests {
    func template(_ s: Shop, perMember: Int = 1, total: Int64? = nil, uses: Int = 1) async throws -> CouponTemplate {
        try await s.promotions.createCouponTemplate(
            CouponTemplateDraft(name: "¥20 off over ¥100", benefit: .threshold([ThresholdTier(minimum: 10_000, amountOff: 2_000)]),
                                validFrom: week.validFrom, validTo: week.validTo, perMemberLimit: perMember, totalQuantity: total, usesPerCoupon: uses),
            caller: .system)
    }

    @Test func codes_have80RandomBitsAndACheckCharacter_thatCatchesTypos() {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let code = CouponCode.generate()
            #expect(code.count == 17)
            #expect(CouponCode.normalize(code) == code)
            seen.insert(code)
        }
        #expect(seen.count == 2_000)
        let code = CouponCode.generate()
        // read forgivingly: lower case and dashes
        #expect(CouponCode.normalize(CouponCode.display(code).lowercased()) == code)
        // every single wrong character and every swap of neighbours is caught
        let chars = Array(code)
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        for i in 0..<16 {
            for a in alphabet where a != chars[i] {
                var typo = chars
                typo[i] = a
                #expect(CouponCode.normalize(String(typo)) == nil)
            }
            if i < 15 && chars[i] != chars[i + 1] {
                var swapped = chars
                swapped.swapAt(i, i + 1)
                #expect(CouponCode.normalize(String(swapped)) == nil)
            }
        }
        #expect(CouponCode.normalize("TOO-SHORT") == nil)
    }

    @Test(arguments: TestDatabase.engines)
    func claimByCode_respectsThePerMemberLimit_andAGuessedCodeWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let t = try await template(s, perMember: 1, total: 3)
            let batch = try await s.promotions.generateCodes(templateId: t.id, count: 3, caller: .system)
            #expect(Set(batch.codes).count == 3)
            // act + check
            let c = try await s.promotions.claim(code: batch.codes[0], memberId: "mem_1", caller: .system)
            #expect(c.memberId == "mem_1")
            #expect(try await s.promotions.claim(code: batch.codes[0], memberId: "mem_1", caller: .system) == c)
            let before = try await s.snapshot()
            let limit = await problem { _ = try await s.promotions.claim(code: batch.codes[1], memberId: "mem_1", caller: .system) }
            #expect(limit?.status == 409)
            let taken = await problem { _ = try await s.promotions.claim(code: batch.codes[0], memberId: "mem_2", caller: .system) }
            #expect(taken?.status == 409)
            let guessed = await problem { _ = try await s.promotions.claim(code: CouponCode.generate(), memberId: "mem_2", caller: .system) }
            #expect(guessed?.status == 404)
            let real = batch.codes[2]
            let typoCode = (real.first == "A" ? "B" : "A") + real.dropFirst()
            let typo = await problem { _ = try await s.promotions.claim(code: typoCode, memberId: "mem_2", caller: .system) }
            #expect(typo?.status == 422 && typo?.fields == ["code"])
            #expect(try await s.snapshot() == before)
            #expect(s.promotions.failedCouponGuesses(principalId: "system") == 1)
            // the template is used up: no more codes
            let more = await problem { _ = try await s.promotions.generateCodes(templateId: t.id, count: 1, caller: .system) }
            #expect(more?.status == 409)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func distribute_skipsMembersAtTheLimit_andOffersPriceInTheEngine(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let t = try await template(s, perMember: 1)
            let first = try await s.promotions.distribute(templateId: t.id, to: ["mem_1", "mem_2", "mem_1"], caller: .system)
            #expect(first.issued.count == 2)
            let second = try await s.promotions.distribute(templateId: t.id, to: ["mem_2", "mem_3"], caller: .system)
            #expect(second.issued.map(\.memberId) == ["mem_3"])
            #expect(second.skipped.map(\.memberId) == ["mem_2"])
            let offers = try await s.promotions.couponOffers(memberId: "mem_1")
            #expect(offers.count == 1)
            let priced = try await s.promotions.price(cart([line("a", price: 12_000)], member: MemberFacts(memberId: "mem_1"), coupons: offers))
            #expect(priced.couponDiscount == 2_000)
            #expect(priced.applied.first?.couponCode == offers[0].code)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func redeem_singleUseOnce_reuseIsA409WritingNothing_andReversalGivesItBack(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let t = try await template(s)
            let code = try await s.promotions.distribute(templateId: t.id, to: ["mem_1"], caller: .system).issued[0].code
            // act: redeem inside the order's own transaction
            let r = try await s.db.write { tx in
                try await s.promotions.redeem(code: code, memberId: "mem_1", orderId: "ord_1", discount: 2_000, caller: .system, in: tx)
            }
            // check: a retry for the same order returns the same redemption
            #expect(try await s.promotions.redeem(code: code, memberId: "mem_1", orderId: "ord_1", discount: 2_000, caller: .system).id == r.id)
            let before = try await s.snapshot()
            let reused = await problem { _ = try await s.promotions.redeem(code: code, memberId: "mem_1", orderId: "ord_2", discount: 2_000, caller: .system) }
            #expect(reused?.status == 409)
            let other = await problem { _ = try await s.promotions.redeem(code: code, memberId: "mem_9", orderId: "ord_3", discount: 2_000, caller: .system) }
            #expect(other?.status == 409)
            let guessed = await problem { _ = try await s.promotions.redeem(code: CouponCode.generate(), memberId: "mem_1", orderId: "ord_2", discount: 1, caller: .system) }
            #expect(guessed?.status == 404)
            #expect(try await s.snapshot() == before)
            #expect(try await s.promotions.couponOffers(memberId: "mem_1").isEmpty)
            // reverse on return: usable again, twice is a no-op
            let reversed = try await s.promotions.reverseRedemption(code: code, orderId: "ord_1", caller: .system)
            #expect(reversed.reversedAt != nil)
            #expect(try await s.promotions.reverseRedemption(code: code, orderId: "ord_1", caller: .system).reversedAt == reversed.reversedAt)
            #expect(try await s.promotions.couponOffers(memberId: "mem_1").count == 1)
            _ = try await s.promotions.redeem(code: code, memberId: "mem_1", orderId: "ord_2", discount: 2_000, caller: .system)
            #expect(try await s.promotions.report(t.id).couponsRedeemed == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func multiUse_redeemsUpToItsUses_underConcurrency(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let t = try await template(s, uses: 3)
            let code = try await s.promotions.distribute(templateId: t.id, to: ["mem_1"], caller: .system).issued[0].code
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await s.promotions.redeem(code: code, memberId: "mem_1", orderId: "ord_\(i)", discount: 100, caller: .system)
                            return true
                        } catch PromotionsError.couponUsedUp { return false }
                    }
                }
                var n = 0
                for try await w in group where w { n += 1 }
                return n
            }
            #expect(wins == 3)
            #expect(try await s.count("coupon_redemptions") == 3)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func template_withBadInput_isA422_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let before = try await s.snapshot()
            let p = await problem {
                _ = try await s.promotions.createCouponTemplate(
                    CouponTemplateDraft(name: " ", benefit: .buyXGetY(buy: 1, get: 1), validFrom: Shop.start, validTo: Shop.start, perMemberLimit: 0,
                                        totalQuantity: 0, usesPerCoupon: 0), caller: .system)
            }
            #expect(p?.status == 422)
            #expect(p?.fields == ["name", "benefit.kind", "validTo", "perMemberLimit", "totalQuantity", "usesPerCoupon"])
            let none = await problem {
                _ = try await s.promotions.createCouponTemplate(CouponTemplateDraft(name: "x", benefit: nil, validFrom: Shop.start, validTo: week.validTo),
                                                                 caller: .system)
            }
            #expect(none?.fields == ["benefit"])
            #expect(try await s.snapshot() == before)
        }
    }
}
