import Foundation
import O2OCatalog
import O2OCore
import O2OPromotions

// MARK: - Promotions

extension DemoData {
    /// A month's promotion calendar: a 满减 threshold in every channel, a category discount on
    /// the web shop, a members-only new-member offer, a coupon batch handed to some members, a
    /// flash sale and a three-person group buy at 70%; the tier ladder's member prices come with the members. Valid from now for 30
    /// days.
    func loadPromotions(members: [String], seed: UInt64, summary: inout Summary) async throws {
        let promotions = services.promotions
        let now = services.clock.instant()
        let month = Schedule(validFrom: now.addingTimeInterval(-3_600), validTo: now.addingTimeInterval(30 * 86_400))
        let web = try await services.catalog.channel("WEB")
        var f = CatalogService.SKUFilter()
        f.limit = 50
        let skus = try await services.catalog.skus(f).items
        guard let first = skus.first else { return }
        let category = try await services.catalog.product(first.productId).categoryId
        let drafts = [
            PromotionDraft(name: "全场满300减30，满500减60", when: month,
                           what: .threshold([ThresholdTier(minimum: 30_000, amountOff: 3_000), ThresholdTier(minimum: 50_000, amountOff: 6_000)]),
                           where: .everywhere, priority: 10),
            PromotionDraft(name: "线上专享：本品类 85 折", when: month, which: Conditions(target: ItemSet(categoryIds: [category])),
                           what: .percentOff(15), where: Placement(channels: [web.id]), priority: 20),
            PromotionDraft(name: "新会员首单立减 ¥20", who: Audience(kind: .newMembers), when: month,
                           what: .amountOff(2_000), where: .everywhere, priority: 5, budget: 200_000),
        ]
        for d in drafts {
            let p = try await promotions.create(d, caller: .system)
            _ = try await promotions.activate(p.id, caller: .system)
        }
        let coupon = try await promotions.createCouponTemplate(
            CouponTemplateDraft(name: "满199减20券", benefit: .threshold([ThresholdTier(minimum: 19_900, amountOff: 2_000)]),
                                validFrom: month.validFrom, validTo: month.validTo, perMemberLimit: 1, totalQuantity: 500), caller: .system)
        _ = try await promotions.generateCodes(templateId: coupon.id, count: 50, caller: .system)
        _ = try await promotions.distribute(templateId: coupon.id, to: Array(members.prefix(20)), caller: .system)
        let flash = skus[min(1, skus.count - 1)]
        _ = try await promotions.createFlashSale(
            FlashSaleDraft(name: "限时秒杀 \(flash.code)", skuId: flash.id, price: flash.listPrice.minorUnits / 2, quantity: 100, perMemberLimit: 2,
                           startsAt: month.validFrom, endsAt: now.addingTimeInterval(2 * 86_400)), caller: .system)
        let grouped = skus[min(2, skus.count - 1)]
        _ = try await promotions.createGroupBuy(
            GroupBuyDraft(name: "三人成团 \(grouped.code)", skuId: grouped.id, price: grouped.listPrice.minorUnits * 7 / 10, groupSize: 3,
                          formWithinMinutes: 24 * 60, perMemberLimit: 2, startsAt: month.validFrom, endsAt: month.validTo), caller: .system)
        summary.promotions = drafts.count
    }
}
