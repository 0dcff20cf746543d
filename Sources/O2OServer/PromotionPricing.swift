import Foundation
import O2OCatalog
import O2OCore
import O2OMembers
import O2ONetwork
import O2OOrders
import O2OPromotions
import SQLKit

/// One price for a cart everywhere: the catalog's price (统一零售价 and price lists), then the
/// promotion pipeline with what the member is (tier, tags, history). The order flow prices its
/// lines with it and `POST /pricing/carts` answers with it, so a cart quoted at the till, on the
/// web or by the API is the order's price.
///
/// A member whose tier gives a member price pays that percent less on every line first (the
/// discount per unit rounded down to the minor unit).
///
/// A new order (`priceOrder`) also takes the member's coupons (the codes offered, or else the
/// member's own, the best one applying), flash-sale prices and gifts; placing it takes them up
/// in the order's transaction (`commit`) and cancelling it gives them back (`reverse`). A line
/// is at a flash-sale price when the member may still claim all of its units (the sale's units
/// left and the member's limit); otherwise it is priced as usual and the explanation says why.
/// The flash price takes the place of the member price; the promotions then apply to it as to any
/// price. Lines added to an order later (`price`) get the member price and the automatic
/// activities only. Points are a tender of the order, not a discount here.
struct PromotionPricing: PricingStep {
    let prices: CatalogPricing
    let catalog: CatalogService
    let network: NetworkService
    let members: MembersService
    let promotions: PromotionsService
    let db: Database

    /// What placing the order takes up: the priced cart (its coupons and applications) and the
    /// flash-sale units per sale.
    struct Terms: Sendable {
        var cart: PricedCart
        var flashUnits: [(saleId: String, quantity: Int64)]
        /// The group buy's group to open (groupId nil) or join, with the units at the group price.
        var group: (request: GroupBuyRequest, quantity: Int64)?
    }

    func price(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, at: Date) async throws -> [O2OOrders.PricedLine] {
        try await priced(lines, channelId: channelId, locationId: locationId, memberId: memberId, couponCodes: nil, groupBuy: nil, forOrder: false,
                         at: at).lines
    }

    func priceOrder(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, couponCodes: [String]?,
                    groupBuy: GroupBuyRequest?, at: Date) async throws -> PricedOrder {
        try await priced(lines, channelId: channelId, locationId: locationId, memberId: memberId, couponCodes: couponCodes, groupBuy: groupBuy,
                         forOrder: true, at: at)
    }

    func commit(_ priced: PricedOrder, order: Order, caller: Caller, _ tx: Transaction) async throws -> PricingCommit {
        guard var terms = priced.terms as? Terms else { return PricingCommit() }
        // A gift left out for want of stock was not given: its promotion is not counted.
        let rules = Set(order.lines.map(\.priceRule))
        terms.cart.applied.removeAll { $0.gift != nil && !rules.contains(Self.giftRule($0.promotionId)) }
        if let memberId = order.memberId {
            for a in terms.cart.applied {
                guard let code = a.couponCode else { continue }
                _ = try await promotions.redeem(code: code, memberId: memberId, orderId: order.id, discount: a.discount, caller: caller, in: tx)
            }
            for f in terms.flashUnits {
                _ = try await promotions.claimFlashSale(f.saleId, memberId: memberId, quantity: f.quantity, reference: order.id, caller: caller, in: tx)
            }
        }
        try await promotions.recordApplication(orderId: order.id, memberId: order.memberId, priced: terms.cart, caller: caller, in: tx)
        guard let g = terms.group, let memberId = order.memberId else { return PricingCommit() }
        let join = try await promotions.joinGroup(g.request.groupBuyId, groupId: g.request.groupId, memberId: memberId, orderId: order.id,
                                                  quantity: g.quantity, caller: caller, in: tx)
        let group = join.group
        if join.filledBy {
            let note = "group \(group.id) filled (\(group.size) of \(group.size))"
            return PricingCommit(lifts: join.otherOrderIds.map { ($0, HoldKind.groupBuy, note) })
        }
        return PricingCommit(holds: [(.groupBuy, "group \(group.id): \(group.joined) of \(group.size) joined; waits until it fills, "
                                               + "cancelled and refunded if it has not by \(group.expiresAt.formatted(.iso8601))")])
    }

    func reverse(_ order: Order, caller: Caller, _ tx: Transaction) async throws {
        try await promotions.reverseOrder(order.id, caller: caller, in: tx)
    }

    func pointsMultiplier(orderId: String, _ sql: any SQLDatabase) async throws -> Int {
        try await promotions.pointsMultiplier(orderId: orderId, sql)
    }

    private func priced(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, couponCodes: [String]?,
                        groupBuy: GroupBuyRequest?, forOrder: Bool, at: Date) async throws -> PricedOrder {
        let priced = try await prices.price(lines, channelId: channelId, locationId: locationId, memberId: memberId, at: at)
        let member = try await memberId.asyncFlatMap { id in try? await members.member(id) }
        let location = try await locationId.asyncFlatMap { id in try? await network.location(id, scope: .all) }
        var coupons: [CouponOffer] = []
        if forOrder, let memberId {
            guard let member else { throw Problem.validation([.init("memberId", "no member '\(memberId)'")]) }
            coupons = try await self.coupons(couponCodes, memberId: member.id, at: at)
        }
        var cart = try await cart(priced, quantities: lines.map(\.quantity), channelId: channelId, location: location, member: member, at: at,
                                  coupons: coupons, maxCoupons: max(1, couponCodes?.count ?? 1))
        var notes: [String] = []
        var groupLines: [Int] = []
        var group: (buy: GroupBuy, request: GroupBuyRequest, quantity: Int64)?
        if forOrder, let request = groupBuy, let member {
            let buy = try await groupBuyOffer(request, cart: cart, memberId: member.id, at: at)
            groupLines = cart.lines.indices.filter { cart.lines[$0].skuId == buy.skuId }
            for i in groupLines { cart.lines[i].unitPrice = buy.price }
            group = (buy, request, groupLines.reduce(Int64(0)) { $0 + Int64(cart.lines[$1].quantity) })
        }
        var flashLines: [Int: FlashSale] = [:]
        if forOrder, let member {
            let offers = try await promotions.flashOffers(skuIds: cart.lines.map(\.skuId), memberId: member.id, at: at)
            var wanted: [String: Int64] = [:]
            for l in cart.lines { wanted[l.skuId, default: 0] += Int64(l.quantity) }
            for i in cart.lines.indices where !groupLines.contains(i) {
                let sku = cart.lines[i].skuId
                let running = offers.filter { $0.sale.skuId == sku && $0.sale.currency == cart.currency }
                guard let offer = running.first(where: { wanted[sku]! <= $0.available }) else {
                    if let best = running.first, !notes.contains(where: { $0.hasPrefix("flash sale \(best.sale.name):") }) {
                        notes.append("flash sale \(best.sale.name): \(best.available) of \(cart.lines[i].skuCode) left for this member, "
                                     + "\(wanted[sku]!) asked; priced as usual")
                    }
                    continue
                }
                cart.lines[i].unitPrice = offer.sale.price
                flashLines[i] = offer.sale
            }
        }
        let result = try await promotions.price(cart)
        let out = priced.enumerated().map { i, p in
            var p = p
            if let sale = flashLines[i] {
                p.unitPrice = sale.price
                p.rule += " + flash sale \(sale.id)"
            } else if let g = group, groupLines.contains(i) {
                p.unitPrice = g.buy.price
                p.rule += " + group buy \(g.buy.id)"
            } else if cart.lines[i].unitPrice != p.unitPrice {
                p.unitPrice = cart.lines[i].unitPrice
                p.rule += " + member price"
            }
            guard let line = result.lines.first(where: { $0.lineId == String(i) && !$0.isGift }) else { return p }
            let discount = line.adjustments.filter { [PricingStage.item, .order, .coupon].contains($0.stage) }.reduce(Int64(0)) { $0 + $1.amount }
            guard discount > 0 else { return p }
            p.lineDiscount = discount
            p.discount = discount / Int64(lines[i].quantity)
            let ids = Set(line.adjustments.map(\.promotionId)).sorted()
            p.rule += " + promotion " + ids.joined(separator: ", ")
            return p
        }
        guard forOrder else { return PricedOrder(lines: out) }
        let giftLines = result.lines.filter(\.isGift)
        let listed = giftLines.isEmpty ? [] : try await prices.listPrices(giftLines.map(\.skuId), channelId: channelId, locationId: locationId, at: at)
        let gifts = zip(giftLines, listed).map { g, l in
            PricedOrder.Gift(line: .init(skuId: g.skuId, skuCode: g.skuCode, currency: l.currency, listPrice: l.unitPrice, unitPrice: 0, discount: 0,
                                         rule: Self.giftRule(String(g.lineId.dropFirst("gift-".count)))), quantity: g.quantity)
        }
        var units: [String: Int64] = [:]
        for (i, sale) in flashLines { units[sale.id, default: 0] += Int64(lines[i].quantity) }
        let flash = flashLines.map { i, sale in "flash sale \(sale.name): \(cart.lines[i].skuCode) at \(Money.decimal(sale.price, currency: sale.currency))" }
        let grouped = group.map { g in
            ["group buy \(g.buy.name): \(cart.lines[groupLines[0]].skuCode) at \(Money.decimal(g.buy.price, currency: g.buy.currency)) "
             + (g.request.groupId.map { "in group \($0)" } ?? "in a new group") + " of \(g.buy.groupSize); the order waits until the group fills"]
        } ?? []
        return PricedOrder(lines: out, gifts: gifts, explanation: grouped + Array(Set(flash)).sorted() + result.explanation(chinese: false) + notes,
                           terms: Terms(cart: result, flashUnits: units.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                        group: group.map { ($0.request, $0.quantity) }))
    }

    /// The group buy a new order names, checked against its cart: a line of the group buy's SKU
    /// in its currency, and the group buy's own checks (running, the member's limit, the group
    /// joinable). An unknown group buy or group is a 422 naming it; the rest are the group buy's 409s.
    func groupBuyOffer(_ request: GroupBuyRequest, cart: Cart, memberId: String, at: Date) async throws -> GroupBuy {
        let buy: GroupBuy
        do { buy = try await promotions.groupBuy(request.groupBuyId) } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("groupBuy.groupBuyId", "no group buy '\(request.groupBuyId)'")])
        }
        let units = cart.lines.filter { $0.skuId == buy.skuId }.reduce(Int64(0)) { $0 + Int64($1.quantity) }
        var v = Validator()
        v.check(units > 0, "groupBuy.groupBuyId", "the order has no line of the group buy's SKU \(buy.skuId)")
        v.check(cart.currency == buy.currency, "groupBuy.groupBuyId", "the group buy is in \(buy.currency); the order is in \(cart.currency)")
        try v.finish()
        do {
            return try await promotions.groupBuyOffer(buy.id, groupId: request.groupId, memberId: memberId, quantity: units, at: at)
        } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("groupBuy.groupId", "no group '\(request.groupId ?? "")' of group buy \(buy.id)")])
        }
    }

    /// The price rule of a gift line: which promotion gave it.
    static func giftRule(_ promotionId: String) -> String { "gift of promotion \(promotionId)" }

    /// The coupons a member offers for a cart: each of `codes` must be one they hold and may use
    /// now (a coupon of theirs used up is a 409 naming it, anything else a 422 naming
    /// `couponCodes[i]`); without codes, all their coupons usable now.
    func coupons(_ codes: [String]?, memberId: String, at: Date) async throws -> [CouponOffer] {
        let offers = try await promotions.couponOffers(memberId: memberId, at: at)
        guard let codes, !codes.isEmpty else { return offers }
        var v = Validator()
        var chosen: [CouponOffer] = []
        for (i, code) in codes.enumerated() {
            let normalised = CouponCode.normalize(code)
            if let offer = offers.first(where: { $0.code == normalised }) { chosen.append(offer) } else {
                if let c = try await promotions.coupon(code: code), c.memberId == memberId, c.uses >= c.maxUses {
                    throw PromotionsError.couponUsedUp(code: c.code)
                }
                v.add("couponCodes[\(i)]", "not a coupon this member holds and may use now (claim it first)")
            }
        }
        try v.finish()
        return chosen
    }

    func listPrices(_ skus: [String], channelId: String, locationId: String?, at: Date) async throws -> [O2OOrders.PricedLine] {
        try await prices.listPrices(skus, channelId: channelId, locationId: locationId, at: at)
    }

    /// The cart the promotion engine prices: catalog-priced lines with their category and brand,
    /// the store with its organisation and city, and the member's facts.
    func cart(_ priced: [O2OOrders.PricedLine], quantities: [Int], channelId: String, location: Location?, member: Member?, at: Date,
              coupons: [CouponOffer] = [], maxCoupons: Int = 1, points: PointsRequest? = nil, shippingFee: Int64 = 0,
              currency: String = "CNY") async throws -> Cart {
        let history = try await member.asyncFlatMap { try await OrderService.memberHistory($0.id, db) }
        // The lines' and the history's categories and brands, in one read.
        let classes = try await db.read { sql in try await catalog.classes(skuIds: priced.map(\.skuId) + (history?.skuIds ?? []), sql) }
        // Member price (会员价): the tier's percent off the catalog price, before any promotion.
        let tier = try await member.asyncFlatMap { try await members.tier($0.id) }
        let memberDiscount = tier?.benefits.discountPercent ?? 0
        var lines: [CartLine] = []
        for (i, p) in priced.enumerated() {
            let unitPrice = memberDiscount > 0 ? p.unitPrice - p.unitPrice * Int64(memberDiscount) / 100 : p.unitPrice
            lines.append(CartLine(lineId: String(i), skuId: p.skuId, skuCode: p.skuCode, categoryId: classes[p.skuId]?.categoryId,
                                  brandId: classes[p.skuId]?.brandId, quantity: quantities[i], unitPrice: unitPrice))
        }
        var facts = MemberFacts.guest
        if let member, let history {
            let categories = Set(history.skuIds.compactMap { classes[$0]?.categoryId })
            // A promotion's segments are the member's tags and the rule-based segments they are in.
            let segments = member.profile.tags + (try await members.segmentIds(memberId: member.id))
            facts = MemberFacts(memberId: member.id, tierCode: tier?.code, segmentIds: segments,
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
