import Foundation
import O2OCore

// MARK: - The five W's

/// WHO may get a promotion. Member facts come from the caller (`MemberFacts`): this module keeps
/// no tiers or segments of its own.
public struct Audience: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Everyone, members or not.
        case any
        /// Any identified member.
        case members
        /// Members of one of `tierCodes`.
        case tiers
        /// Members in one of `segmentIds`.
        case segments
        /// Members without a prior order.
        case newMembers
    }
    public var kind: Kind
    public var tierCodes: [String]
    public var segmentIds: [String]

    public init(kind: Kind = .any, tierCodes: [String] = [], segmentIds: [String] = []) {
        self.kind = kind
        self.tierCodes = tierCodes
        self.segmentIds = segmentIds
    }
    public static let anyone = Audience()
}

/// A span of the day in local minutes, `from` included and `to` excluded (`9:00–21:30` is 540..<1290).
public struct DayWindow: Codable, Sendable, Equatable {
    public var fromMinute: Int
    public var toMinute: Int
    public init(fromMinute: Int, toMinute: Int) {
        self.fromMinute = fromMinute
        self.toMinute = toMinute
    }
    public static func hours(_ from: Int, _ to: Int) -> DayWindow { DayWindow(fromMinute: from * 60, toMinute: to * 60) }
}

/// WHEN a promotion runs: `validFrom` included, `validTo` excluded; weekdays (ISO: 1 Monday … 7
/// Sunday) and day windows are read in the channel's local time (the cart's `timeZone`).
public struct Schedule: Codable, Sendable, Equatable {
    public var validFrom: Date
    public var validTo: Date
    /// Empty: every day.
    public var weekdays: [Int]
    /// Empty: all day.
    public var windows: [DayWindow]

    public init(validFrom: Date, validTo: Date, weekdays: [Int] = [], windows: [DayWindow] = []) {
        self.validFrom = validFrom
        self.validTo = validTo
        self.weekdays = weekdays
        self.windows = windows
    }
}

/// A set of goods named by SKU, category or brand; a line is in it when any of the three matches.
public struct ItemSet: Codable, Sendable, Equatable {
    public var skuIds: [String]
    public var categoryIds: [String]
    public var brandIds: [String]

    public init(skuIds: [String] = [], categoryIds: [String] = [], brandIds: [String] = []) {
        self.skuIds = skuIds
        self.categoryIds = categoryIds
        self.brandIds = brandIds
    }
    public static let none = ItemSet()
    public var isEmpty: Bool { skuIds.isEmpty && categoryIds.isEmpty && brandIds.isEmpty }

    func contains(sku: String, category: String?, brand: String?) -> Bool {
        if skuIds.contains(sku) { return true }
        if let category, categoryIds.contains(category) { return true }
        if let brand, brandIds.contains(brand) { return true }
        return false
    }
}

/// WHICH carts qualify and which lines the promotion acts on.
public struct Conditions: Codable, Sendable, Equatable {
    /// The cart must hold at least one line in this set (empty: no condition).
    public var cartContains: ItemSet
    /// The cart must hold no line in this set.
    public var cartExcludes: ItemSet
    /// The member must have bought one of these SKUs or categories before (brands are not in the facts).
    public var historyContains: ItemSet
    /// The lines acted on: `nil` for all lines, else those in the set; minus `exclude`.
    public var target: ItemSet?
    public var exclude: ItemSet
    /// Minimum units of the targeted lines.
    public var minQuantity: Int?
    /// Minimum amount (minor units) of the targeted lines, after the item-level activities.
    public var minAmount: Int64?

    public init(cartContains: ItemSet = .none, cartExcludes: ItemSet = .none, historyContains: ItemSet = .none,
                target: ItemSet? = nil, exclude: ItemSet = .none, minQuantity: Int? = nil, minAmount: Int64? = nil) {
        self.cartContains = cartContains
        self.cartExcludes = cartExcludes
        self.historyContains = historyContains
        self.target = target
        self.exclude = exclude
        self.minQuantity = minQuantity
        self.minAmount = minAmount
    }
    public static let anyCart = Conditions()
}

/// One step of a tiered threshold (满减 / 满折): from `minimum` (minor units, or units when the
/// basis is quantity) the reward is `amountOff` minor units or `percentOff` percent.
public struct ThresholdTier: Codable, Sendable, Equatable {
    public var minimum: Int64
    public var amountOff: Int64?
    public var percentOff: Int?
    public init(minimum: Int64, amountOff: Int64? = nil, percentOff: Int? = nil) {
        self.minimum = minimum
        self.amountOff = amountOff
        self.percentOff = percentOff
    }
}

/// A gift line added at price 0 (赠品).
public struct GiftItem: Codable, Sendable, Equatable {
    public var skuId: String
    public var skuCode: String
    public var quantity: Int
    public init(skuId: String, skuCode: String, quantity: Int = 1) {
        self.skuId = skuId
        self.skuCode = skuCode
        self.quantity = quantity
    }
}

/// WHAT a promotion (or a coupon) gives. Percentages are the share taken off: `percentOff: 10` is
/// 10% off, the Chinese 9折. Amounts are minor units.
public struct Benefit: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// `percentOff` off every targeted line (item level).
        case percentOff
        /// `amountOff` off each targeted unit when `perUnit` (item level), else off the targeted lines together (order level).
        case amountOff
        /// 满减 / 满折: the highest reached tier of `tiers` on the targeted lines (order level).
        case threshold
        /// Buy `buyQuantity`, get `getQuantity` free: in each group the cheapest units are free (item level).
        case buyXGetY
        /// `gift` added at 0 when the targeted lines reach `minimum` (order level).
        case gift
        /// Each targeted unit at `price` (item level).
        case specialPrice
        /// Every `quantity` targeted units together for `price` (item level; the dearest units are bundled first).
        case bundlePrice
        /// No shipping fee when the targeted lines reach `minimum` (shipping step).
        case freeShipping
        /// Points earned on the order times `multiplier` (points step; prices are unchanged).
        case pointsMultiplier
    }
    public var kind: Kind
    public var percentOff: Int?
    public var amountOff: Int64?
    public var perUnit: Bool
    public var price: Int64?
    public var quantity: Int?
    public var basis: ThresholdBasis
    public var tiers: [ThresholdTier]
    public var buyQuantity: Int?
    public var getQuantity: Int?
    public var gift: GiftItem?
    public var minimum: Int64?
    public var multiplier: Int?

    public enum ThresholdBasis: String, Codable, Sendable { case amount, quantity }

    public init(kind: Kind, percentOff: Int? = nil, amountOff: Int64? = nil, perUnit: Bool = false, price: Int64? = nil, quantity: Int? = nil,
                basis: ThresholdBasis = .amount, tiers: [ThresholdTier] = [], buyQuantity: Int? = nil, getQuantity: Int? = nil,
                gift: GiftItem? = nil, minimum: Int64? = nil, multiplier: Int? = nil) {
        self.kind = kind
        self.percentOff = percentOff
        self.amountOff = amountOff
        self.perUnit = perUnit
        self.price = price
        self.quantity = quantity
        self.basis = basis
        self.tiers = tiers
        self.buyQuantity = buyQuantity
        self.getQuantity = getQuantity
        self.gift = gift
        self.minimum = minimum
        self.multiplier = multiplier
    }

    public static func percentOff(_ p: Int) -> Benefit { Benefit(kind: .percentOff, percentOff: p) }
    public static func amountOff(_ a: Int64, perUnit: Bool = false) -> Benefit { Benefit(kind: .amountOff, amountOff: a, perUnit: perUnit) }
    public static func threshold(_ tiers: [ThresholdTier], basis: ThresholdBasis = .amount) -> Benefit {
        Benefit(kind: .threshold, basis: basis, tiers: tiers)
    }
    public static func buyXGetY(buy: Int, get: Int) -> Benefit { Benefit(kind: .buyXGetY, buyQuantity: buy, getQuantity: get) }
    public static func gift(_ g: GiftItem, minimum: Int64? = nil) -> Benefit { Benefit(kind: .gift, gift: g, minimum: minimum) }
    public static func specialPrice(_ p: Int64) -> Benefit { Benefit(kind: .specialPrice, price: p) }
    public static func bundlePrice(quantity: Int, price: Int64) -> Benefit { Benefit(kind: .bundlePrice, price: price, quantity: quantity) }
    public static func freeShipping(minimum: Int64? = nil) -> Benefit { Benefit(kind: .freeShipping, minimum: minimum) }
    public static func pointsMultiplier(_ m: Int) -> Benefit { Benefit(kind: .pointsMultiplier, multiplier: m) }

    /// The pipeline step this benefit runs in.
    public var stage: PricingStage {
        switch kind {
        case .percentOff, .buyXGetY, .specialPrice, .bundlePrice: return .item
        case .amountOff: return perUnit ? .item : .order
        case .threshold, .gift: return .order
        case .freeShipping: return .shipping
        case .pointsMultiplier: return .points
        }
    }
}

/// WHERE a promotion runs. It must name at least one channel or say `allChannels: true`: an empty
/// WHERE is refused, so a promotion never runs everywhere by omission. Locations, organisations
/// and regions narrow it further (a cart matches when its location, organisation or region is
/// named); the caller resolves a location's organisation and region into the cart.
public struct Placement: Codable, Sendable, Equatable {
    public var allChannels: Bool
    public var channels: [String]
    public var locationIds: [String]
    public var organisationIds: [String]
    public var regionCodes: [String]

    public init(allChannels: Bool = false, channels: [String] = [], locationIds: [String] = [], organisationIds: [String] = [],
                regionCodes: [String] = []) {
        self.allChannels = allChannels
        self.channels = channels
        self.locationIds = locationIds
        self.organisationIds = organisationIds
        self.regionCodes = regionCodes
    }
    public static let everywhere = Placement(allChannels: true)

    var narrowsStores: Bool { !(locationIds.isEmpty && organisationIds.isEmpty && regionCodes.isEmpty) }

    func overlapsChannels(_ other: Placement) -> Bool {
        allChannels || other.allChannels || !Set(channels).isDisjoint(with: other.channels)
    }
}

public enum PromotionStatus: String, Codable, Sendable, CaseIterable { case draft, active, paused, ended }

/// What a caller sends to create or replace a promotion.
public struct PromotionDraft: Codable, Sendable, Equatable {
    public var name: String
    public var who: Audience
    public var when: Schedule?
    public var which: Conditions
    public var what: Benefit?
    public var `where`: Placement
    /// Higher runs first.
    public var priority: Int
    /// When it applies, no other activity does.
    public var exclusive: Bool
    /// Of the promotions sharing a group, only the first that applies (by priority) is taken.
    public var stackGroup: String?
    /// The most discount (minor units) all orders together may get from it.
    public var budget: Int64?

    public init(name: String, who: Audience = .anyone, when: Schedule?, which: Conditions = .anyCart, what: Benefit?,
                where: Placement, priority: Int = 0, exclusive: Bool = false, stackGroup: String? = nil, budget: Int64? = nil) {
        self.name = name
        self.who = who
        self.when = when
        self.which = which
        self.what = what
        self.where = `where`
        self.priority = priority
        self.exclusive = exclusive
        self.stackGroup = stackGroup
        self.budget = budget
    }
}

public struct Promotion: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var status: PromotionStatus
    public var who: Audience
    public var when: Schedule
    public var which: Conditions
    public var what: Benefit
    public var `where`: Placement
    public var priority: Int
    public var exclusive: Bool
    public var stackGroup: String?
    public var budget: Int64?
    /// Discount recorded against the budget so far (by `recordApplication`).
    public var budgetUsed: Int64
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, name: String, status: PromotionStatus, who: Audience, when: Schedule, which: Conditions, what: Benefit,
                where: Placement, priority: Int, exclusive: Bool, stackGroup: String?, budget: Int64?, budgetUsed: Int64 = 0,
                version: Int = 1, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.status = status
        self.who = who
        self.when = when
        self.which = which
        self.what = what
        self.where = `where`
        self.priority = priority
        self.exclusive = exclusive
        self.stackGroup = stackGroup
        self.budget = budget
        self.budgetUsed = budgetUsed
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var budgetLeft: Int64? { budget.map { max(0, $0 - budgetUsed) } }
}

// MARK: - Errors

public enum PromotionsError: ProblemConvertible, CustomStringConvertible, Equatable {
    /// Two exclusive promotions of equal priority that could apply to the same cart.
    case exclusiveOverlap(promotionId: String, otherId: String, priority: Int)
    /// A transition the status does not allow (e.g. activating an ended promotion).
    case invalidTransition(promotionId: String, from: PromotionStatus, to: PromotionStatus)
    /// The budget cannot carry this discount any more; price the cart again.
    case budgetExhausted(promotionId: String, left: Int64, requested: Int64)
    /// No coupon with this code (a typo caught by the check character is a 422 instead).
    case unknownCoupon
    /// The coupon was used as often as it may be.
    case couponUsedUp(code: String)
    case couponNotOwned(code: String)
    case couponExpired(code: String)
    /// The member holds as many coupons of this template as it allows.
    case claimLimitReached(templateId: String, limit: Int)
    /// The template has no coupons left to give.
    case couponsExhausted(templateId: String)
    /// The flash sale has fewer units left than asked for.
    case soldOut(flashSaleId: String, left: Int64, requested: Int64)
    case memberLimitReached(flashSaleId: String, limit: Int64, claimed: Int64, requested: Int64)
    case flashSaleNotRunning(flashSaleId: String)
    case versionConflict(id: String, version: Int, expected: Int)
    /// The group buy opens no new groups now (not started, ended or stopped).
    case groupBuyNotRunning(groupBuyId: String)
    /// The member holds as many units at the group price as the group buy allows.
    case groupBuyLimitReached(groupBuyId: String, limit: Int64, held: Int64, requested: Int64)
    /// The group is full, formed, dissolved or out of time.
    case groupNotJoinable(groupId: String, status: GroupStatus, joined: Int, size: Int)
    case alreadyInGroup(groupId: String, memberId: String)
    /// A flash sale or group buy that has ended cannot be paused or resumed.
    case invalidDealTransition(id: String, what: String, from: String, to: String)

    public var problem: Problem {
        switch self {
        case .exclusiveOverlap(let id, let other, let priority):
            var p = Problem.conflict("Exclusive promotions \(id) and \(other) have priority \(priority) and can apply to the same cart "
                                     + "(their channels and validity overlap); give one a different priority.", kind: "exclusive-overlap")
            p.errors = [.init("priority", "equal to exclusive promotion \(other)"), .init("exclusive", "overlaps \(other)")]
            return p
        case .invalidTransition(let id, let from, let to):
            return Problem.conflict("Promotion \(id) is \(from.rawValue); it cannot become \(to.rawValue).", kind: "invalid-transition")
        case .invalidDealTransition(let id, let what, let from, let to):
            return Problem.conflict("The \(what) \(id) is \(from); it cannot become \(to).", kind: "invalid-transition")
        case .budgetExhausted(let id, let left, let requested):
            var p = Problem.conflict("Promotion \(id) has \(left) left of its budget; \(requested) requested. Price the cart again.",
                                     kind: "budget-exhausted")
            p.errors = [.init("discount", "requested \(requested), left \(left)")]
            return p
        case .unknownCoupon:
            var p = Problem(kind: "coupon-not-found", title: "Not found", status: 404, detail: "No coupon has this code.")
            p.errors = [.init("code", "is not a coupon code")]
            return p
        case .couponUsedUp(let code):
            var p = Problem.conflict("Coupon \(code) has been used.", kind: "coupon-used")
            p.errors = [.init("code", "already used")]
            return p
        case .couponNotOwned(let code):
            var p = Problem.conflict("Coupon \(code) belongs to another member.", kind: "coupon-not-owned")
            p.errors = [.init("code", "belongs to another member")]
            return p
        case .couponExpired(let code):
            var p = Problem.conflict("Coupon \(code) is not valid now.", kind: "coupon-expired")
            p.errors = [.init("code", "not valid now")]
            return p
        case .claimLimitReached(let t, let limit):
            var p = Problem.conflict("The member already holds \(limit) coupon(s) of template \(t), the most it allows.", kind: "claim-limit")
            p.errors = [.init("memberId", "holds \(limit) already")]
            return p
        case .couponsExhausted(let t):
            return Problem.conflict("Coupon template \(t) has no coupons left.", kind: "coupons-exhausted")
        case .soldOut(let id, let left, let requested):
            var p = Problem.conflict("Flash sale \(id) has \(left) left; \(requested) requested.", kind: "sold-out")
            p.errors = [.init("quantity", "requested \(requested), left \(left)")]
            return p
        case .memberLimitReached(let id, let limit, let claimed, let requested):
            var p = Problem.conflict("Flash sale \(id) allows \(limit) per member; \(claimed) claimed, \(requested) requested.",
                                     kind: "member-limit")
            p.errors = [.init("quantity", "limit \(limit) per member, \(claimed) claimed")]
            return p
        case .flashSaleNotRunning(let id):
            return Problem.conflict("Flash sale \(id) is not running now.", kind: "flash-sale-not-running")
        case .versionConflict(let id, let version, let expected):
            return Problem.conflict("\(id) is at version \(version), not \(expected); read it again.", kind: "version-conflict")
        case .groupBuyNotRunning(let id):
            var p = Problem.conflict("Group buy \(id) opens no groups now.", kind: "group-buy-not-running")
            p.errors = [.init("groupBuy.groupBuyId", "not running")]
            return p
        case .groupBuyLimitReached(let id, let limit, let held, let requested):
            var p = Problem.conflict("Group buy \(id) allows \(limit) unit(s) per member; \(held) held, \(requested) requested.", kind: "member-limit")
            p.errors = [.init("groupBuy", "limit \(limit) per member, \(held) held")]
            return p
        case .groupNotJoinable(let id, let status, let joined, let size):
            let why = status == .forming ? "full (\(joined) of \(size))" : status.rawValue
            var p = Problem.conflict("Group \(id) takes no one new: it is \(why). Join another group or open one.", kind: "group-not-joinable")
            p.errors = [.init("groupBuy.groupId", why)]
            return p
        case .alreadyInGroup(let id, let member):
            var p = Problem.conflict("Member \(member) is in group \(id) already.", kind: "already-in-group")
            p.errors = [.init("groupBuy.groupId", "the member is in it already")]
            return p
        }
    }

    public var description: String { problem.detail ?? problem.title }
}

// MARK: - Decoding with defaults

// Rules arrive from integrators and the console with only the fields they need: whatever is left
// out takes the value the memberwise initialisers give it (empty sets, no narrowing, false).

extension Audience {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .any, tierCodes: try c.decodeIfPresent([String].self, forKey: .tierCodes) ?? [],
                  segmentIds: try c.decodeIfPresent([String].self, forKey: .segmentIds) ?? [])
    }
}

extension Schedule {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(validFrom: try c.decode(Date.self, forKey: .validFrom), validTo: try c.decode(Date.self, forKey: .validTo),
                  weekdays: try c.decodeIfPresent([Int].self, forKey: .weekdays) ?? [], windows: try c.decodeIfPresent([DayWindow].self, forKey: .windows) ?? [])
    }
}

extension ItemSet {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(skuIds: try c.decodeIfPresent([String].self, forKey: .skuIds) ?? [],
                  categoryIds: try c.decodeIfPresent([String].self, forKey: .categoryIds) ?? [],
                  brandIds: try c.decodeIfPresent([String].self, forKey: .brandIds) ?? [])
    }
}

extension Conditions {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cartContains: try c.decodeIfPresent(ItemSet.self, forKey: .cartContains) ?? .none,
                  cartExcludes: try c.decodeIfPresent(ItemSet.self, forKey: .cartExcludes) ?? .none,
                  historyContains: try c.decodeIfPresent(ItemSet.self, forKey: .historyContains) ?? .none,
                  target: try c.decodeIfPresent(ItemSet.self, forKey: .target), exclude: try c.decodeIfPresent(ItemSet.self, forKey: .exclude) ?? .none,
                  minQuantity: try c.decodeIfPresent(Int.self, forKey: .minQuantity), minAmount: try c.decodeIfPresent(Int64.self, forKey: .minAmount))
    }
}

extension GiftItem {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(skuId: try c.decode(String.self, forKey: .skuId), skuCode: try c.decode(String.self, forKey: .skuCode),
                  quantity: try c.decodeIfPresent(Int.self, forKey: .quantity) ?? 1)
    }
}

extension Benefit {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(Kind.self, forKey: .kind), percentOff: try c.decodeIfPresent(Int.self, forKey: .percentOff),
                  amountOff: try c.decodeIfPresent(Int64.self, forKey: .amountOff), perUnit: try c.decodeIfPresent(Bool.self, forKey: .perUnit) ?? false,
                  price: try c.decodeIfPresent(Int64.self, forKey: .price), quantity: try c.decodeIfPresent(Int.self, forKey: .quantity),
                  basis: try c.decodeIfPresent(ThresholdBasis.self, forKey: .basis) ?? .amount,
                  tiers: try c.decodeIfPresent([ThresholdTier].self, forKey: .tiers) ?? [],
                  buyQuantity: try c.decodeIfPresent(Int.self, forKey: .buyQuantity), getQuantity: try c.decodeIfPresent(Int.self, forKey: .getQuantity),
                  gift: try c.decodeIfPresent(GiftItem.self, forKey: .gift), minimum: try c.decodeIfPresent(Int64.self, forKey: .minimum),
                  multiplier: try c.decodeIfPresent(Int.self, forKey: .multiplier))
    }
}

extension Placement {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(allChannels: try c.decodeIfPresent(Bool.self, forKey: .allChannels) ?? false,
                  channels: try c.decodeIfPresent([String].self, forKey: .channels) ?? [],
                  locationIds: try c.decodeIfPresent([String].self, forKey: .locationIds) ?? [],
                  organisationIds: try c.decodeIfPresent([String].self, forKey: .organisationIds) ?? [],
                  regionCodes: try c.decodeIfPresent([String].self, forKey: .regionCodes) ?? [])
    }
}

extension PromotionDraft {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), who: try c.decodeIfPresent(Audience.self, forKey: .who) ?? .anyone,
                  when: try c.decodeIfPresent(Schedule.self, forKey: .when), which: try c.decodeIfPresent(Conditions.self, forKey: .which) ?? .anyCart,
                  what: try c.decodeIfPresent(Benefit.self, forKey: .what), where: try c.decodeIfPresent(Placement.self, forKey: .where) ?? Placement(),
                  priority: try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0, exclusive: try c.decodeIfPresent(Bool.self, forKey: .exclusive) ?? false,
                  stackGroup: try c.decodeIfPresent(String.self, forKey: .stackGroup), budget: try c.decodeIfPresent(Int64.self, forKey: .budget))
    }
}
