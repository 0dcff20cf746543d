import Foundation
import O2OCatalog
import O2OCore
import O2OMembers
import O2ONetwork
import O2OOrders
import O2OPromotions

/// One price for a cart everywhere: the catalog's price (统一零售价 and price lists), then the
/// promotion pipeline with what the member is (tier, tags, history). The order flow prices its
/// lines with it and `POST /pricing/carts` answers with it, so a cart quoted at the till, on the
/// web or by the API is the order's price.
///
/// A member whose tier gives a member price pays that percent less on every line first (the
/// discount per unit rounded down to the minor unit).
///
/// In the order flow the automatic activities apply (item level and order thresholds, spread
/// over the lines); coupons and points are the pricing API's for now (the order takes points as a
/// tender), and gifts are listed by the API but not added to orders yet.
struct PromotionPricing: PricingStep {
    let prices: CatalogPricing
    let catalog: CatalogService
    let network: NetworkService
    let members: MembersService
    let promotions: PromotionsService
    let db: Database

    func price(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, at: Date) async throws -> [O2OOrders.PricedLine] {
        let priced = try await prices.price(lines, channelId: channelId, locationId: locationId, memberId: memberId, at: at)
        let member = try await memberId.asyncFlatMap { id in try? await members.member(id) }
        let location = try await locationId.asyncFlatMap { id in try? await network.location(id, scope: .all) }
        let cart = try await cart(priced, quantities: lines.map(\.quantity), channelId: channelId, location: location, member: member, at: at)
        let result = try await promotions.price(cart)
        return priced.enumerated().map { i, p in
            var p = p
            if cart.lines[i].unitPrice != p.unitPrice {
                p.unitPrice = cart.lines[i].unitPrice
                p.rule += " + member price"
            }
            guard let line = result.lines.first(where: { $0.lineId == String(i) && !$0.isGift }) else { return p }
            let discount = line.adjustments.filter { $0.stage == .item || $0.stage == .order }.reduce(Int64(0)) { $0 + $1.amount }
            guard discount > 0 else { return p }
            p.lineDiscount = discount
            p.discount = discount / Int64(lines[i].quantity)
            let ids = Set(line.adjustments.map(\.promotionId)).sorted()
            p.rule += " + promotion " + ids.joined(separator: ", ")
            return p
        }
    }

    func listPrices(_ skus: [String], channelId: String, locationId: String?, at: Date) async throws -> [O2OOrders.PricedLine] {
        try await prices.listPrices(skus, channelId: channelId, locationId: locationId, at: at)
    }

    /// The cart the promotion engine prices: catalog-priced lines with their category and brand,
    /// the store with its organisation and city, and the member's facts.
    func cart(_ priced: [O2OOrders.PricedLine], quantities: [Int], channelId: String, location: Location?, member: Member?, at: Date,
              coupons: [CouponOffer] = [], maxCoupons: Int = 1, points: PointsRequest? = nil, shippingFee: Int64 = 0,
              currency: String = "CNY") async throws -> Cart {
        var products: [String: Product] = [:]
        func product(_ skuId: String) async throws -> Product {
            let productId = try await catalog.sku(skuId).productId
            if let p = products[productId] { return p }
            let p = try await catalog.product(productId)
            products[productId] = p
            return p
        }
        // Member price (会员价): the tier's percent off the catalog price, before any promotion.
        let tier = try await member.asyncFlatMap { try await members.tier($0.id) }
        let memberDiscount = tier?.benefits.discountPercent ?? 0
        var lines: [CartLine] = []
        for (i, p) in priced.enumerated() {
            let product = try await product(p.skuId)
            let unitPrice = memberDiscount > 0 ? p.unitPrice - p.unitPrice * Int64(memberDiscount) / 100 : p.unitPrice
            lines.append(CartLine(lineId: String(i), skuId: p.skuId, skuCode: p.skuCode, categoryId: product.categoryId, brandId: product.brandId,
                                  quantity: quantities[i], unitPrice: unitPrice))
        }
        var facts = MemberFacts.guest
        if let member {
            let history = try await OrderService.memberHistory(member.id, db)
            var categories: Set<String> = []
            for s in history.skuIds { categories.insert(try await product(s).categoryId) }
            facts = MemberFacts(memberId: member.id, tierCode: tier?.code, segmentIds: member.profile.tags,
                                isNew: history.orders == 0, purchasedSkus: history.skuIds, purchasedCategories: categories.sorted())
        }
        return Cart(lines: lines, currency: priced.first?.currency ?? currency, channel: channelId, locationId: location?.id,
                    organisationId: location?.organisationId, regionCode: location?.address.cityCode, member: facts, coupons: coupons,
                    maxCoupons: maxCoupons, points: points, shippingFee: shippingFee, at: at)
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
