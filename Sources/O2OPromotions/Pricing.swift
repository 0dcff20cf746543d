import Foundation
import O2OCore

// MARK: - Cart in

/// What the caller knows about the customer; the Members module (or the caller) fills it in.
public struct MemberFacts: Codable, Sendable, Equatable {
    public var memberId: String?
    public var tierCode: String?
    public var segmentIds: [String]
    /// No prior order.
    public var isNew: Bool
    public var purchasedSkus: [String]
    public var purchasedCategories: [String]

    public init(memberId: String? = nil, tierCode: String? = nil, segmentIds: [String] = [], isNew: Bool = false,
                purchasedSkus: [String] = [], purchasedCategories: [String] = []) {
        self.memberId = memberId
        self.tierCode = tierCode
        self.segmentIds = segmentIds
        self.isNew = isNew
        self.purchasedSkus = purchasedSkus
        self.purchasedCategories = purchasedCategories
    }
    public static let guest = MemberFacts()
}

/// A cart line after catalog resolution: the unit price is the one the channel sells at.
public struct CartLine: Codable, Sendable, Equatable {
    public var lineId: String
    public var skuId: String
    public var skuCode: String
    public var categoryId: String?
    public var brandId: String?
    public var quantity: Int
    public var unitPrice: Int64

    public init(lineId: String, skuId: String, skuCode: String, categoryId: String? = nil, brandId: String? = nil, quantity: Int, unitPrice: Int64) {
        self.lineId = lineId
        self.skuId = skuId
        self.skuCode = skuCode
        self.categoryId = categoryId
        self.brandId = brandId
        self.quantity = quantity
        self.unitPrice = unitPrice
    }
}

/// A coupon the member holds and offers for this cart (`PromotionsService.couponOffers`).
public struct CouponOffer: Codable, Sendable, Equatable {
    public var couponId: String
    public var code: String
    public var templateId: String
    public var name: String
    public var benefit: Benefit
    public var conditions: Conditions
    public var validFrom: Date
    public var validTo: Date

    public init(couponId: String, code: String, templateId: String, name: String, benefit: Benefit, conditions: Conditions = .anyCart,
                validFrom: Date, validTo: Date) {
        self.couponId = couponId
        self.code = code
        self.templateId = templateId
        self.name = name
        self.benefit = benefit
        self.conditions = conditions
        self.validFrom = validFrom
        self.validTo = validTo
    }
}

/// Points the member wants to pay with, and the policy: `pointsPerYuan` points are worth one
/// major unit (100 points = ¥1), at most `maxSharePercent` of what is left to pay.
public struct PointsRequest: Codable, Sendable, Equatable {
    public var points: Int64
    public var pointsPerYuan: Int64
    public var maxSharePercent: Int
    public init(points: Int64, pointsPerYuan: Int64 = 100, maxSharePercent: Int = 50) {
        self.points = points
        self.pointsPerYuan = pointsPerYuan
        self.maxSharePercent = maxSharePercent
    }
}

public struct Cart: Sendable {
    public var lines: [CartLine]
    public var currency: String
    public var channel: String
    public var locationId: String?
    public var organisationId: String?
    public var regionCode: String?
    public var member: MemberFacts
    public var coupons: [CouponOffer]
    /// How many offered coupons one order may use; when more qualify, the ones giving most are used.
    public var maxCoupons: Int
    public var points: PointsRequest?
    public var shippingFee: Int64
    public var at: Date
    /// The channel's local time, for weekdays and hours.
    public var timeZone: TimeZone

    public static let china = TimeZone(identifier: "Asia/Shanghai")!

    public init(lines: [CartLine], currency: String = "CNY", channel: String, locationId: String? = nil, organisationId: String? = nil,
                regionCode: String? = nil, member: MemberFacts = .guest, coupons: [CouponOffer] = [], maxCoupons: Int = 1,
                points: PointsRequest? = nil, shippingFee: Int64 = 0, at: Date, timeZone: TimeZone = Cart.china) {
        self.lines = lines
        self.currency = currency
        self.channel = channel
        self.locationId = locationId
        self.organisationId = organisationId
        self.regionCode = regionCode
        self.member = member
        self.coupons = coupons
        self.maxCoupons = maxCoupons
        self.points = points
        self.shippingFee = shippingFee
        self.at = at
        self.timeZone = timeZone
    }
}

// MARK: - Priced cart out

/// The fixed order promotions are applied in. Each step sees the prices the previous ones left.
public enum PricingStage: String, Codable, Sendable, CaseIterable, Comparable {
    /// Item-level activities: percentage off, per-unit amount off, special price, bundle price, buy X get Y.
    case item
    /// Order thresholds: 满减 / 满折 tiers, amount off the order, gifts.
    case order
    case coupon
    /// Points paid with (and the points multiplier on what is earned).
    case points
    case shipping

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: PricingStage, b: PricingStage) -> Bool { a.rank < b.rank }
}

/// One promotion's (or coupon's, or the points') share of a line's discount.
public struct LineAdjustment: Codable, Sendable, Equatable {
    public var promotionId: String
    public var couponId: String?
    public var stage: PricingStage
    public var amount: Int64
}

public struct PricedLine: Codable, Sendable, Equatable {
    public var lineId: String
    public var skuId: String
    public var skuCode: String
    public var quantity: Int
    public var unitPrice: Int64
    /// quantity × unitPrice.
    public var amount: Int64
    public var discount: Int64
    /// amount − discount.
    public var netAmount: Int64
    public var isGift: Bool
    public var adjustments: [LineAdjustment]
}

public struct AppliedPromotion: Codable, Sendable, Equatable {
    /// The promotion's id; for a coupon its template's id; `points` for the points step.
    public var promotionId: String
    public var couponId: String?
    public var couponCode: String?
    public var name: String
    public var stage: PricingStage
    public var kind: Benefit.Kind?
    /// Taken off the order (the shipping fee waived for free shipping).
    public var discount: Int64
    /// Units of the lines it acted on.
    public var units: Int
    public var gift: GiftItem?
    public var message: String
    public var messageZh: String
}

/// "Add ¥30.00 to get ¥50.00 off": what is missing to reach a promotion's next step.
public struct NearMiss: Codable, Sendable, Equatable {
    public var promotionId: String
    public var name: String
    public var missingAmount: Int64?
    public var missingQuantity: Int?
    /// The discount the next step gives (minor units), when it is an amount.
    public var rewardAmount: Int64?
    public var rewardPercent: Int?
    public var message: String
    public var messageZh: String
}

public struct NotApplied: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        case notActive, notThisChannel, notThisStore, notYetValid, expired, notThisWeekday, notThisTime
        case membersOnly, memberTier, memberSegment, notNewMember
        case cartLacksItems, cartHasExcludedItems, historyLacksItems, noTargetedLines
        case minimumQuantityNotMet, minimumAmountNotMet, thresholdNotMet
        case excludedByExclusive, stackGroupTaken, budgetExhausted, noBenefit, couponLimit, currencyMismatch
    }
    public var promotionId: String
    public var couponId: String?
    public var name: String
    public var reason: Reason
    /// The promotion that kept this one out (exclusive, stack group, better coupon).
    public var otherPromotionId: String?
    public var message: String
    public var messageZh: String
}

extension NotApplied.Reason {
    /// How near a promotion that did not apply for this reason came to applying (0 nearest): a
    /// spend or quantity short, then a limit or a better promotion, then who the customer is, then
    /// what the cart holds, then when and where. What a person reads first when the list is long.
    public var distance: Int {
        switch self {
        case .thresholdNotMet, .minimumAmountNotMet, .minimumQuantityNotMet: 0
        case .couponLimit, .budgetExhausted, .excludedByExclusive, .stackGroupTaken, .noBenefit: 1
        case .membersOnly, .memberTier, .memberSegment, .notNewMember: 2
        case .cartLacksItems, .cartHasExcludedItems, .historyLacksItems, .noTargetedLines: 3
        case .notThisWeekday, .notThisTime, .notThisStore: 4
        case .notThisChannel, .notYetValid, .expired, .notActive, .currencyMismatch: 5
        }
    }
}

public struct PricedCart: Codable, Sendable, Equatable {
    public var currency: String
    public var lines: [PricedLine]
    public var applied: [AppliedPromotion]
    public var nearMisses: [NearMiss]
    public var notApplied: [NotApplied]
    /// Σ line amounts (list prices).
    public var subtotal: Int64
    public var itemDiscount: Int64
    public var orderDiscount: Int64
    public var couponDiscount: Int64
    public var pointsDiscount: Int64
    public var pointsRedeemed: Int64
    public var shippingFee: Int64
    public var shippingDiscount: Int64
    /// subtotal − all discounts + shipping fee − shipping discount.
    public var total: Int64
    /// Points earned on this order are multiplied by this (1 when no promotion says otherwise).
    public var pointsMultiplier: Int

    /// What a cashier reads out: each promotion applied with its amount, then the near-misses.
    public func explanation(chinese: Bool = true) -> [String] {
        var out: [String] = []
        for a in applied { out.append(chinese ? a.messageZh : a.message) }
        for n in nearMisses { out.append(chinese ? n.messageZh : n.message) }
        return out
    }
}

// MARK: - Engine

/// Prices a cart against a set of promotions: a pure function, no database.
///
/// The pipeline is fixed: **item-level activities → order thresholds → coupons → points → shipping**.
/// Within a step, promotions run by priority (higher first, then id). Rules:
/// - *Exclusive*: the highest-priority exclusive promotion that gives something is the only
///   activity (item, order, points multiplier and shipping promotions); every other activity is
///   reported as excluded by it. Coupons and points still apply.
/// - *Stack groups*: of the promotions sharing a `stackGroup`, the first that gives something is
///   taken; the others are reported with that one. Promotions without a group stack freely, each
///   on the prices the previous left.
/// - *Budgets*: a promotion gives at most what is left of its budget.
/// - *Coupons*: at most `cart.maxCoupons`; when more qualify, those giving most on their own are used.
/// - Order-level discounts (thresholds, coupons, points) are spread over their lines pro rata by
///   the lines' net amounts, largest remainder first, so the lines add up to the order exactly.
public enum PricingEngine {
    public static func price(_ cart: Cart, promotions: [Promotion]) -> PricedCart {
        var s = State(cart)
        // Indexes sorted, not the (large) promotions themselves; already sorted input costs one pass.
        var order = Array(promotions.indices)
        let before: (Int, Int) -> Bool = { a, b in
            let pa = promotions[a].priority, pb = promotions[b].priority
            return pa != pb ? pa > pb : promotions[a].id < promotions[b].id
        }
        if !zip(order, order.dropFirst()).allSatisfy({ before($0, $1) }) { order.sort(by: before) }
        // Eligibility that does not depend on prices.
        var eligible: [Int] = []
        for i in order {
            if let r = s.ineligibility(promotions[i]) { s.reject(promotions[i], r) } else { eligible.append(i) }
        }
        // The exclusive winner: the first (by priority) that gives something when tried on its own.
        var winner: Int?
        var failedExclusive: [Int: (NotApplied?, NearMiss?)] = [:]
        for i in eligible where promotions[i].exclusive {
            var trial = s
            if trial.apply(promotions[i], report: true) { winner = i; break }
            failedExclusive[i] = (trial.notApplied.last, trial.nearMisses.count > s.nearMisses.count ? trial.nearMisses.last : nil)
        }
        if let w = winner {
            let wp = promotions[w]
            for i in eligible where i != w {
                s.reject(promotions[i], .excludedByExclusive, other: wp.id,
                         "not combined with exclusive promotion \(wp.name)", "不与独享活动「\(wp.name)」同享")
            }
        } else {
            for i in eligible where promotions[i].exclusive {
                if let failed = failedExclusive[i] {
                    if let n = failed.0 { s.notApplied.append(n) }
                    if let m = failed.1 { s.nearMisses.append(m) }
                }
            }
        }
        func activities(_ stage: PricingStage) {
            if let w = winner {
                if promotions[w].what.stage == stage { s.apply(promotions[w], report: true) }
                return
            }
            for i in eligible where !promotions[i].exclusive && promotions[i].what.stage == stage { s.applyInGroup(promotions[i]) }
        }
        activities(.item)
        activities(.order)
        s.applyCoupons()
        activities(.points)
        s.applyPoints()
        activities(.shipping)
        return s.result()
    }

    /// `total` split over `weights` in proportion, largest remainder first; Σ result == total when Σ weights > 0.
    public static func allocate(_ total: Int64, over weights: [Int64]) -> [Int64] {
        let sum = weights.reduce(0, +)
        guard sum > 0, total > 0 else { return weights.map { _ in 0 } }
        var shares = [Int64](repeating: 0, count: weights.count)
        var remainders: [(Int64, Int)] = []
        var given: Int64 = 0
        for (i, w) in weights.enumerated() {
            let product = total.multipliedFullWidth(by: w)
            let (q, r) = sum.dividingFullWidth(product)
            shares[i] = q
            given += q
            remainders.append((r, i))
        }
        var left = total - given
        remainders.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        var k = 0
        while left > 0 && !remainders.isEmpty {
            shares[remainders[k % remainders.count].1] += 1
            left -= 1
            k += 1
        }
        return shares
    }
}

func yuan(_ minor: Int64, _ currency: String) -> String {
    let text = Money.decimal(minor, currency: currency)
    return currency == "CNY" ? "¥" + text : text + " " + currency
}

/// The engine's working state: current net amount per line and everything reported so far.
struct State {
    struct Line {
        var line: CartLine
        var net: Int64
        var isGift = false
        var adjustments: [LineAdjustment] = []
        var amount: Int64 { line.unitPrice * Int64(line.quantity) }
    }

    let cart: Cart
    var lines: [Line]
    var applied: [AppliedPromotion] = []
    var nearMisses: [NearMiss] = []
    var notApplied: [NotApplied] = []
    var groups: [String: (id: String, name: String)] = [:]
    var shippingDiscount: Int64 = 0
    var pointsRedeemed: Int64 = 0
    var multiplier = 1
    let weekday: Int
    let minute: Int

    init(_ cart: Cart) {
        self.cart = cart
        lines = cart.lines.map { Line(line: $0, net: $0.unitPrice * Int64($0.quantity)) }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = cart.timeZone
        let c = cal.dateComponents([.weekday, .hour, .minute], from: cart.at)
        // Calendar: 1 Sunday … 7 Saturday; ISO: 1 Monday … 7 Sunday.
        weekday = ((c.weekday ?? 1) + 5) % 7 + 1
        minute = (c.hour ?? 0) * 60 + (c.minute ?? 0)
    }

    var currency: String { cart.currency }
    func money(_ m: Int64) -> String { yuan(m, currency) }

    // MARK: Reporting

    mutating func reject(_ p: Promotion, _ r: NotApplied.Reason, other: String? = nil, _ en: String? = nil, _ zh: String? = nil) {
        let (den, dzh) = Self.defaultMessage(r)
        notApplied.append(NotApplied(promotionId: p.id, couponId: nil, name: p.name, reason: r, otherPromotionId: other,
                                     message: "\(p.name): \(en ?? den)", messageZh: "\(p.name)：\(zh ?? dzh)"))
    }

    mutating func reject(_ c: CouponOffer, _ r: NotApplied.Reason, other: String? = nil, _ en: String? = nil, _ zh: String? = nil) {
        let (den, dzh) = Self.defaultMessage(r)
        notApplied.append(NotApplied(promotionId: c.templateId, couponId: c.couponId, name: c.name, reason: r, otherPromotionId: other,
                                     message: "Coupon \(c.name): \(en ?? den)", messageZh: "优惠券「\(c.name)」：\(zh ?? dzh)"))
    }

    static func defaultMessage(_ r: NotApplied.Reason) -> (String, String) {
        switch r {
        case .notActive: return ("not active", "活动未开始或已暂停")
        case .notThisChannel: return ("not for this channel", "本渠道不参与")
        case .notThisStore: return ("not for this store", "本门店不参与")
        case .notYetValid: return ("not started yet", "活动尚未开始")
        case .expired: return ("ended", "活动已结束")
        case .notThisWeekday: return ("not on this day of the week", "今天不参与")
        case .notThisTime: return ("not at this time of day", "当前时段不参与")
        case .membersOnly: return ("for members only", "仅限会员")
        case .memberTier: return ("not for this member tier", "会员等级不符")
        case .memberSegment: return ("not for this member group", "不在活动会员范围内")
        case .notNewMember: return ("for new members only", "仅限新会员")
        case .cartLacksItems: return ("the cart lacks the required items", "购物车中没有指定商品")
        case .cartHasExcludedItems: return ("the cart holds an item that excludes it", "购物车中有不参与活动的商品")
        case .historyLacksItems: return ("needs an earlier purchase of the required items", "需曾购买指定商品")
        case .noTargetedLines: return ("no item in the cart takes part", "购物车中没有参与活动的商品")
        case .minimumQuantityNotMet: return ("too few items", "件数不足")
        case .minimumAmountNotMet: return ("the amount is below its minimum", "金额未达到要求")
        case .thresholdNotMet: return ("the threshold is not reached", "未达到满额条件")
        case .excludedByExclusive: return ("not combined with an exclusive promotion", "不与独享活动同享")
        case .stackGroupTaken: return ("another promotion of its group applied", "同组活动已享受")
        case .budgetExhausted: return ("its budget is used up", "活动预算已用完")
        case .noBenefit: return ("gives nothing on this cart", "对本单无优惠")
        case .couponLimit: return ("a coupon giving more was used", "已使用更优惠的券")
        case .currencyMismatch: return ("not in this currency", "币种不符")
        }
    }

    // MARK: Eligibility (prices aside)

    func ineligibility(_ p: Promotion) -> NotApplied.Reason? {
        if p.status != .active { return .notActive }
        if !p.where.allChannels && !p.where.channels.contains(cart.channel) { return .notThisChannel }
        if p.where.narrowsStores {
            let ok = (cart.locationId.map(p.where.locationIds.contains) ?? false)
                || (cart.organisationId.map(p.where.organisationIds.contains) ?? false)
                || (cart.regionCode.map(p.where.regionCodes.contains) ?? false)
            if !ok { return .notThisStore }
        }
        if let r = scheduleProblem(p.when) { return r }
        if let r = audienceProblem(p.who) { return r }
        if let r = conditionsProblem(p.which) { return r }
        if let left = p.budgetLeft, left <= 0 { return .budgetExhausted }
        return nil
    }

    func scheduleProblem(_ w: Schedule) -> NotApplied.Reason? {
        if cart.at < w.validFrom { return .notYetValid }
        if cart.at >= w.validTo { return .expired }
        if !w.weekdays.isEmpty && !w.weekdays.contains(weekday) { return .notThisWeekday }
        if !w.windows.isEmpty && !w.windows.contains(where: { $0.fromMinute <= minute && minute < $0.toMinute }) { return .notThisTime }
        return nil
    }

    func audienceProblem(_ a: Audience) -> NotApplied.Reason? {
        let m = cart.member
        switch a.kind {
        case .any: return nil
        case .members: return m.memberId == nil ? .membersOnly : nil
        case .tiers:
            if m.memberId == nil { return .membersOnly }
            return m.tierCode.map(a.tierCodes.contains) == true ? nil : .memberTier
        case .segments:
            if m.memberId == nil { return .membersOnly }
            return m.segmentIds.contains(where: a.segmentIds.contains) ? nil : .memberSegment
        case .newMembers:
            if m.memberId == nil { return .membersOnly }
            return m.isNew ? nil : .notNewMember
        }
    }

    func conditionsProblem(_ c: Conditions) -> NotApplied.Reason? {
        if !c.cartContains.isEmpty && !lines.contains(where: { !$0.isGift && c.cartContains.contains(sku: $0.line.skuId, category: $0.line.categoryId, brand: $0.line.brandId) }) {
            return .cartLacksItems
        }
        if !c.cartExcludes.isEmpty && lines.contains(where: { !$0.isGift && c.cartExcludes.contains(sku: $0.line.skuId, category: $0.line.categoryId, brand: $0.line.brandId) }) {
            return .cartHasExcludedItems
        }
        if !c.historyContains.isEmpty {
            let m = cart.member
            let ok = m.purchasedSkus.contains(where: c.historyContains.skuIds.contains)
                || m.purchasedCategories.contains(where: c.historyContains.categoryIds.contains)
            if !ok { return .historyLacksItems }
        }
        if !lines.contains(where: { l in
            !l.isGift && (c.target.map { $0.contains(sku: l.line.skuId, category: l.line.categoryId, brand: l.line.brandId) } ?? true)
                && !(!c.exclude.isEmpty && c.exclude.contains(sku: l.line.skuId, category: l.line.categoryId, brand: l.line.brandId))
        }) { return .noTargetedLines }
        return nil
    }

    /// Indexes of the lines a promotion acts on.
    func targets(_ c: Conditions) -> [Int] {
        var out: [Int] = []
        for (i, l) in lines.enumerated() where !l.isGift {
            if let t = c.target, !t.contains(sku: l.line.skuId, category: l.line.categoryId, brand: l.line.brandId) { continue }
            if !c.exclude.isEmpty && c.exclude.contains(sku: l.line.skuId, category: l.line.categoryId, brand: l.line.brandId) { continue }
            out.append(i)
        }
        return out
    }

    // MARK: Applying

    /// Applies `p` unless its stack group is taken; reports why when it gives nothing.
    mutating func applyInGroup(_ p: Promotion) {
        if let g = p.stackGroup, let taken = groups[g] {
            reject(p, .stackGroupTaken, other: taken.id, "not combined with \(taken.name) of the same group",
                   "与同组活动「\(taken.name)」不同享")
            return
        }
        if apply(p, report: true), let g = p.stackGroup { groups[g] = (p.id, p.name) }
    }

    /// What a benefit does to the lines: discounts per line index, or a reason it gives nothing.
    enum Effect {
        case discounts([Int: Int64], units: Int, gift: GiftItem?)
        case flag(units: Int)  // free shipping, points multiplier
        case none(NotApplied.Reason, NearMiss?)
    }

    /// Applies the promotion; true when it gave something. With `report`, records it as applied or not applied.
    @discardableResult
    mutating func apply(_ p: Promotion, report: Bool = false) -> Bool {
        let effect = evaluate(p.what, p.which, id: p.id, name: p.name)
        switch effect {
        case .none(let r, let near):
            if report {
                reject(p, r)
                if let near { nearMisses.append(near) }
            }
            return false
        case .flag(let units):
            if p.what.kind == .freeShipping {
                if cart.shippingFee <= 0 || shippingDiscount >= cart.shippingFee {
                    if report { reject(p, .noBenefit, "no shipping fee to waive", "本单无运费") }
                    return false
                }
                let waived = min(cart.shippingFee - shippingDiscount, p.budgetLeft ?? .max)
                shippingDiscount += waived
                applied.append(AppliedPromotion(promotionId: p.id, couponId: nil, couponCode: nil, name: p.name, stage: .shipping,
                                                kind: .freeShipping, discount: waived, units: units, gift: nil,
                                                message: "\(p.name): free shipping, −\(money(waived))", messageZh: "\(p.name)：免运费 −\(money(waived))"))
            } else {
                let m = p.what.multiplier ?? 1
                multiplier = max(multiplier, m)
                applied.append(AppliedPromotion(promotionId: p.id, couponId: nil, couponCode: nil, name: p.name, stage: .points,
                                                kind: .pointsMultiplier, discount: 0, units: units, gift: nil,
                                                message: "\(p.name): \(m)× points", messageZh: "\(p.name)：\(m)倍积分"))
            }
            return true
        case .discounts(var byLine, let units, let gift):
            var total = byLine.values.reduce(0, +)
            if let left = p.budgetLeft, total > left {
                let keys = byLine.keys.sorted()
                let shares = PricingEngine.allocate(left, over: keys.map { byLine[$0]! })
                byLine = Dictionary(uniqueKeysWithValues: zip(keys, shares))
                total = left
            }
            if total <= 0 && gift == nil {
                if report { reject(p, .noBenefit) }
                return false
            }
            let stage = p.what.stage
            // A tier reached with a higher one above: say what the next gives (measured before this discount).
            let next = p.what.kind == .threshold ? nextTier(p.what, p.which, id: p.id, name: p.name) : nil
            for (i, d) in byLine where d > 0 {
                lines[i].net -= d
                lines[i].adjustments.append(LineAdjustment(promotionId: p.id, couponId: nil, stage: stage, amount: d))
            }
            var en = "\(p.name): −\(money(total))"
            var zh = "\(p.name)：−\(money(total))"
            if let gift {
                lines.append(Line(line: CartLine(lineId: "gift-\(p.id)", skuId: gift.skuId, skuCode: gift.skuCode, quantity: gift.quantity, unitPrice: 0),
                                  net: 0, isGift: true))
                en = "\(p.name): gift \(gift.skuCode) × \(gift.quantity)"
                zh = "\(p.name)：赠送 \(gift.skuCode) × \(gift.quantity)"
            }
            applied.append(AppliedPromotion(promotionId: p.id, couponId: nil, couponCode: nil, name: p.name, stage: stage, kind: p.what.kind,
                                            discount: total, units: units, gift: gift, message: en, messageZh: zh))
            if let next { nearMisses.append(next) }
            return true
        }
    }

    func units(_ idx: [Int]) -> Int { idx.reduce(0) { $0 + lines[$1].line.quantity } }
    func base(_ idx: [Int]) -> Int64 { idx.reduce(0) { $0 + lines[$1].net } }

    func evaluate(_ b: Benefit, _ c: Conditions, id: String, name: String) -> Effect {
        let idx = targets(c)
        if idx.isEmpty { return .none(.noTargetedLines, nil) }
        let qty = units(idx)
        let amount = base(idx)
        if let mq = c.minQuantity, qty < mq {
            let n = mq - qty
            return .none(.minimumQuantityNotMet, NearMiss(promotionId: id, name: name, missingAmount: nil, missingQuantity: n, rewardAmount: nil,
                                                          rewardPercent: nil, message: "Add \(n) more item(s) to qualify for \(name)",
                                                          messageZh: "再买\(n)件即可参加「\(name)」"))
        }
        if let ma = c.minAmount, amount < ma {
            let n = ma - amount
            return .none(.minimumAmountNotMet, NearMiss(promotionId: id, name: name, missingAmount: n, missingQuantity: nil, rewardAmount: nil,
                                                        rewardPercent: nil, message: "Add \(money(n)) more to qualify for \(name)",
                                                        messageZh: "再买\(money(n))即可参加「\(name)」"))
        }
        switch b.kind {
        case .percentOff:
            let p = Int64(b.percentOff ?? 0)
            return .discounts(Dictionary(uniqueKeysWithValues: idx.map { ($0, lines[$0].net * p / 100) }), units: qty, gift: nil)
        case .amountOff where b.perUnit:
            let a = b.amountOff ?? 0
            return .discounts(Dictionary(uniqueKeysWithValues: idx.map { ($0, min(lines[$0].net, a * Int64(lines[$0].line.quantity))) }),
                              units: qty, gift: nil)
        case .amountOff:
            return .discounts(spread(min(b.amountOff ?? 0, amount), idx), units: qty, gift: nil)
        case .specialPrice:
            let price = b.price ?? 0
            var d: [Int: Int64] = [:]
            for i in idx { d[i] = max(0, lines[i].net - price * Int64(lines[i].line.quantity)) }
            return .discounts(d, units: qty, gift: nil)
        case .buyXGetY:
            let x = b.buyQuantity ?? 1, y = b.getQuantity ?? 1
            if qty < x + y {
                let n = x + y - qty
                return .none(.minimumQuantityNotMet, NearMiss(promotionId: id, name: name, missingAmount: nil, missingQuantity: n, rewardAmount: nil,
                                                              rewardPercent: nil, message: "Add \(n) more item(s) to get \(y) free (\(name))",
                                                              messageZh: "再买\(n)件可免费得\(y)件（\(name)）"))
            }
            let units = unitValues(idx)
            var d: [Int: Int64] = [:]
            var k = 0
            while k + x + y <= units.count {
                for u in units[(k + x)..<(k + x + y)] { d[u.line, default: 0] += u.value }
                k += x + y
            }
            return .discounts(d, units: qty, gift: nil)
        case .bundlePrice:
            let n = b.quantity ?? 2, price = b.price ?? 0
            if qty < n {
                let m = n - qty
                return .none(.minimumQuantityNotMet, NearMiss(promotionId: id, name: name, missingAmount: nil, missingQuantity: m, rewardAmount: nil,
                                                              rewardPercent: nil, message: "Add \(m) more item(s) to get \(n) for \(money(price)) (\(name))",
                                                              messageZh: "再买\(m)件可享\(n)件\(money(price))（\(name)）"))
            }
            let units = unitValues(idx)
            var d: [Int: Int64] = [:]
            var k = 0
            while k + n <= units.count {
                let group = Array(units[k..<(k + n)])
                let sum = group.reduce(0) { $0 + $1.value }
                let off = max(0, sum - price)
                let shares = PricingEngine.allocate(off, over: group.map(\.value))
                for (u, s) in zip(group, shares) { d[u.line, default: 0] += s }
                k += n
            }
            return .discounts(d, units: qty, gift: nil)
        case .threshold:
            let measure = b.basis == .amount ? amount : Int64(qty)
            guard let tier = b.tiers.last(where: { $0.minimum <= measure }) else {
                return .none(.thresholdNotMet, nextTier(b, c, id: id, name: name))
            }
            let off = tier.amountOff.map { min($0, amount) } ?? amount * Int64(tier.percentOff ?? 0) / 100
            return .discounts(spread(off, idx), units: qty, gift: nil)
        case .gift:
            if let m = b.minimum, amount < m {
                let n = m - amount
                let g = b.gift!
                return .none(.thresholdNotMet, NearMiss(promotionId: id, name: name, missingAmount: n, missingQuantity: nil, rewardAmount: nil,
                                                        rewardPercent: nil, message: "Add \(money(n)) more to get the gift \(g.skuCode) (\(name))",
                                                        messageZh: "再买\(money(n))即可获赠 \(g.skuCode)（\(name)）"))
            }
            return .discounts([:], units: qty, gift: b.gift)
        case .freeShipping:
            if let m = b.minimum, amount < m {
                let n = m - amount
                return .none(.thresholdNotMet, NearMiss(promotionId: id, name: name, missingAmount: n, missingQuantity: nil, rewardAmount: cart.shippingFee,
                                                        rewardPercent: nil, message: "Add \(money(n)) more for free shipping (\(name))",
                                                        messageZh: "再买\(money(n))即可免运费（\(name)）"))
            }
            return .flag(units: qty)
        case .pointsMultiplier:
            return .flag(units: qty)
        }
    }

    /// The next tier above what the targeted lines reach, as a near-miss.
    func nextTier(_ b: Benefit, _ c: Conditions, id: String, name: String) -> NearMiss? {
        let idx = targets(c)
        let amount = base(idx)
        let measure = b.basis == .amount ? amount : Int64(units(idx))
        guard let next = b.tiers.first(where: { $0.minimum > measure }) else { return nil }
        let missing = next.minimum - measure
        let rewardEn = next.amountOff.map { "\(money($0)) off" } ?? "\(next.percentOff ?? 0)% off"
        let rewardZh = next.amountOff.map { "减\(money($0))" } ?? "享\(Self.zhe(next.percentOff ?? 0))"
        if b.basis == .amount {
            return NearMiss(promotionId: id, name: name, missingAmount: missing, missingQuantity: nil, rewardAmount: next.amountOff,
                            rewardPercent: next.percentOff, message: "Add \(money(missing)) more to get \(rewardEn) (\(name))",
                            messageZh: "再买\(money(missing))可\(rewardZh)（\(name)）")
        }
        return NearMiss(promotionId: id, name: name, missingAmount: nil, missingQuantity: Int(missing), rewardAmount: next.amountOff,
                        rewardPercent: next.percentOff, message: "Add \(missing) more item(s) to get \(rewardEn) (\(name))",
                        messageZh: "再买\(missing)件可\(rewardZh)（\(name)）")
    }

    /// 10% off is 9折, 15% off 8.5折.
    static func zhe(_ percentOff: Int) -> String {
        let tenths = 100 - percentOff
        return tenths % 10 == 0 ? "\(tenths / 10)折" : "\(tenths / 10).\(tenths % 10)折"
    }

    /// Each targeted unit with its current value, dearest first (a line's odd cent on its first unit).
    func unitValues(_ idx: [Int]) -> [(line: Int, value: Int64)] {
        var out: [(line: Int, value: Int64)] = []
        for i in idx {
            let q = Int64(lines[i].line.quantity)
            guard q > 0 else { continue }
            let each = lines[i].net / q
            let extra = lines[i].net - each * q
            for u in 0..<q { out.append((i, each + (u == 0 ? extra : 0))) }
        }
        out.sort { $0.value != $1.value ? $0.value > $1.value : $0.line < $1.line }
        return out
    }

    func spread(_ total: Int64, _ idx: [Int]) -> [Int: Int64] {
        let shares = PricingEngine.allocate(total, over: idx.map { lines[$0].net })
        return Dictionary(uniqueKeysWithValues: zip(idx, shares))
    }

    // MARK: Coupons

    mutating func applyCoupons() {
        var candidates: [(CouponOffer, Int64)] = []
        for c in cart.coupons {
            if cart.at < c.validFrom { reject(c, .notYetValid); continue }
            if cart.at >= c.validTo { reject(c, .expired); continue }
            if let r = conditionsProblem(c.conditions) { reject(c, r); continue }
            switch evaluate(c.benefit, c.conditions, id: c.templateId, name: c.name) {
            case .none(let r, let near):
                reject(c, r)
                if let near { nearMisses.append(near) }
            case .flag:
                candidates.append((c, cart.shippingFee - shippingDiscount))
            case .discounts(let d, _, _):
                candidates.append((c, d.values.reduce(0, +)))
            }
        }
        candidates.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.couponId < $1.0.couponId }
        var used: [CouponOffer] = []
        for (c, _) in candidates {
            if used.count >= cart.maxCoupons {
                reject(c, .couponLimit, other: used.first?.templateId)
                continue
            }
            switch evaluate(c.benefit, c.conditions, id: c.templateId, name: c.name) {
            case .none(let r, _): reject(c, r)
            case .flag(let units):
                let waived = cart.shippingFee - shippingDiscount
                if waived <= 0 { reject(c, .noBenefit, "no shipping fee to waive", "本单无运费"); continue }
                shippingDiscount += waived
                used.append(c)
                applied.append(AppliedPromotion(promotionId: c.templateId, couponId: c.couponId, couponCode: c.code, name: c.name, stage: .coupon,
                                                kind: .freeShipping, discount: waived, units: units, gift: nil,
                                                message: "Coupon \(c.name): free shipping, −\(money(waived))",
                                                messageZh: "优惠券「\(c.name)」：免运费 −\(money(waived))"))
            case .discounts(let d, let units, _):
                let total = d.values.reduce(0, +)
                if total <= 0 { reject(c, .noBenefit); continue }
                for (i, a) in d where a > 0 {
                    lines[i].net -= a
                    lines[i].adjustments.append(LineAdjustment(promotionId: c.templateId, couponId: c.couponId, stage: .coupon, amount: a))
                }
                used.append(c)
                applied.append(AppliedPromotion(promotionId: c.templateId, couponId: c.couponId, couponCode: c.code, name: c.name, stage: .coupon,
                                                kind: c.benefit.kind, discount: total, units: units, gift: nil,
                                                message: "Coupon \(c.name): −\(money(total))", messageZh: "优惠券「\(c.name)」：−\(money(total))"))
            }
        }
    }

    // MARK: Points

    mutating func applyPoints() {
        guard let req = cart.points, req.points > 0, req.pointsPerYuan > 0 else { return }
        let idx = lines.indices.filter { !lines[$0].isGift }
        let due = base(idx)
        let scale = Int64(pow(10, Double(Money.minorDigits(currency))))
        let cap = due * Int64(req.maxSharePercent) / 100
        let worth = req.points * scale / req.pointsPerYuan
        let value = min(worth, cap)
        guard value > 0 else { return }
        // Points used: the fewest that are worth `value` (rounded up to a whole point).
        let used = (value * req.pointsPerYuan + scale - 1) / scale
        pointsRedeemed = min(used, req.points)
        for (i, d) in spread(value, idx) where d > 0 {
            lines[i].net -= d
            lines[i].adjustments.append(LineAdjustment(promotionId: "points", couponId: nil, stage: .points, amount: d))
        }
        let capped = worth > cap ? " (at most \(req.maxSharePercent)% of the order)" : ""
        let cappedZh = worth > cap ? "（最多抵扣订单的\(req.maxSharePercent)%）" : ""
        applied.append(AppliedPromotion(promotionId: "points", couponId: nil, couponCode: nil, name: "points", stage: .points, kind: nil,
                                        discount: value, units: units(idx),
                                        gift: nil, message: "\(pointsRedeemed) points: −\(money(value))\(capped)",
                                        messageZh: "\(pointsRedeemed)积分抵扣 −\(money(value))\(cappedZh)"))
    }

    // MARK: Result

    func result() -> PricedCart {
        var priced: [PricedLine] = []
        var byStage: [PricingStage: Int64] = [:]
        var subtotal: Int64 = 0
        for l in lines {
            let discount = l.amount - l.net
            subtotal += l.amount
            for a in l.adjustments { byStage[a.stage, default: 0] += a.amount }
            priced.append(PricedLine(lineId: l.line.lineId, skuId: l.line.skuId, skuCode: l.line.skuCode, quantity: l.line.quantity,
                                     unitPrice: l.line.unitPrice, amount: l.amount, discount: discount, netAmount: l.net, isGift: l.isGift,
                                     adjustments: l.adjustments))
        }
        let net = lines.reduce(0) { $0 + $1.net }
        return PricedCart(currency: currency, lines: priced, applied: applied, nearMisses: nearMisses, notApplied: notApplied,
                          subtotal: subtotal, itemDiscount: byStage[.item] ?? 0, orderDiscount: byStage[.order] ?? 0,
                          couponDiscount: byStage[.coupon] ?? 0, pointsDiscount: byStage[.points] ?? 0, pointsRedeemed: pointsRedeemed,
                          shippingFee: cart.shippingFee, shippingDiscount: shippingDiscount,
                          total: net + cart.shippingFee - shippingDiscount, pointsMultiplier: multiplier)
    }
}
