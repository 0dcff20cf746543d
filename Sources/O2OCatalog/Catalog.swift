import Foundation
import O2OCore

public enum CatalogStatus: String, Codable, Sendable, CaseIterable { case draft, active, discontinued }

/// Where a product may be sold (the brief's assortment types).
public enum Assortment: String, Codable, Sendable, CaseIterable {
    /// 共享: every channel.
    case shared
    /// 网络专供: online channels only, never in stores.
    case onlineExclusive = "online_exclusive"
    /// 专卖店专供: stores only.
    case storeExclusive = "store_exclusive"
}

public struct Brand: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var nameEn: String?
    public var createdAt: Date
}

public struct Category: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var nameEn: String?
    public var parentId: String?
    /// Ids from the root down to this category, `/`-separated: subtree queries are a prefix match.
    public var path: String
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// An external system's code for a SKU (ERP item number, a marketplace's item or SKU id).
public struct ExternalCode: Codable, Sendable, Hashable {
    public var system: String
    public var code: String
    public init(system: String, code: String) {
        self.system = system
        self.code = code
    }
}

/// A variant: one sellable item, by its option values (colour × size for apparel).
public struct SKU: Codable, Sendable, Equatable {
    public var id: String
    public var productId: String
    public var code: String
    public var barcode: String?
    /// Option name → value, in the product's option order.
    public var options: [String: String]
    /// 统一零售价: the unified retail price every channel starts from.
    public var listPrice: Money
    public var weightGrams: Int?
    public var volumeCm3: Int?
    public var status: CatalogStatus
    public var externalCodes: [ExternalCode]
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// A style (SPU) and its variants.
public struct Product: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var nameEn: String?
    public var description: String?
    public var brandId: String
    public var categoryId: String
    /// Option names in display order, e.g. ["colour", "size"].
    public var optionNames: [String]
    public var attributes: [String: String]
    public var images: [String]
    public var unit: String
    public var taxClass: String
    public var assortment: Assortment
    /// 新品首销: until this time only online channels may sell the product.
    public var onlineFirstUntil: Date?
    public var status: CatalogStatus
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var skus: [SKU]
}

public enum ChannelKind: String, Codable, Sendable, CaseIterable {
    case web, app
    case miniProgram = "mini_program"
    case marketplace
    case pos
    case callCenter = "call_center"

    /// Whether the channel sells over the counter in a store.
    public var isStore: Bool { self == .pos }
}

/// A sales channel: the own web shop, the app, a mini-program, each marketplace store, the
/// stores' POS, the call center.
public struct SalesChannel: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var kind: ChannelKind
    public var currency: String
    public var status: String
    public var createdAt: Date
}

/// A SKU offered on a channel (上架), from `publishAt` until `unpublishAt`.
public struct Listing: Codable, Sendable, Equatable {
    public var id: String
    public var skuId: String
    public var channelId: String
    public var publishAt: Date?
    public var unpublishAt: Date?
    /// 尾货: sold as clearance on this channel.
    public var clearance: Bool
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public func isPublished(at t: Date) -> Bool {
        guard let p = publishAt, p <= t else { return false }
        if let u = unpublishAt, u <= t { return false }
        return true
    }
}

/// A price list that overrides the unified retail price for a channel, a franchisee's stores,
/// a region's stores or one store, within a validity period; the highest priority wins.
public struct PriceList: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var currency: String
    public var priority: Int
    public var channelId: String?
    public var organisationId: String?
    public var locationId: String?
    /// A province, city or district code (GB/T 2260): the stores in that region.
    public var regionCode: String?
    public var validFrom: Date?
    public var validTo: Date?
    public var status: String
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public func isValid(at t: Date) -> Bool {
        if let f = validFrom, t < f { return false }
        if let e = validTo, t >= e { return false }
        return status == "active"
    }

    /// How specific the target is; breaks ties between lists of equal priority that both apply.
    var specificity: Int {
        (locationId != nil ? 8 : 0) + (organisationId != nil ? 4 : 0) + (regionCode != nil ? 2 : 0) + (channelId != nil ? 1 : 0)
    }

    /// What the list targets, for explanations.
    public var targetDescription: String {
        var parts: [String] = []
        if let c = channelId { parts.append("channel \(c)") }
        if let o = organisationId { parts.append("organisation \(o)") }
        if let r = regionCode { parts.append("region \(r)") }
        if let l = locationId { parts.append("location \(l)") }
        return parts.isEmpty ? "every channel and store" : parts.joined(separator: ", ")
    }
}

public struct PriceEntry: Codable, Sendable, Equatable {
    public var priceListId: String
    public var skuId: String
    public var price: Money
}

public struct PriceChange: Codable, Sendable, Equatable {
    public var id: String
    public var skuId: String
    /// nil for the unified retail price.
    public var priceListId: String?
    public var oldPrice: Int64?
    public var newPrice: Int64?
    public var currency: String
    public var at: Date
    public var actorId: String
    public var source: String
}

/// What the price resolver needs to know about a store; the network module provides it.
public struct LocationFacts: Sendable, Equatable {
    public var id: String
    public var organisationId: String
    /// Province, city and district codes.
    public var regionCodes: [String]
    public var currency: String
    public var isStore: Bool
    public init(id: String, organisationId: String, regionCodes: [String], currency: String, isStore: Bool) {
        self.id = id
        self.organisationId = organisationId
        self.regionCodes = regionCodes
        self.currency = currency
        self.isStore = isStore
    }
}

/// Looks up locations for the catalog without reaching into the network module's tables.
public protocol LocationDirectory: Sendable {
    func facts(_ locationId: String) async throws -> LocationFacts?
    func organisationExists(_ organisationId: String) async throws -> Bool
}

/// The decided price of one SKU in one context, with the rule that decided it.
public struct ResolvedPrice: Sendable, Equatable {
    public var skuId: String
    public var skuCode: String
    public var currency: String
    /// 统一零售价.
    public var listPrice: Int64
    /// What the customer pays before promotions.
    public var price: Int64
    public var priceListId: String?
    public var priceListCode: String?
    /// A sentence naming the rule: the price list and why it applied, or the unified retail price.
    public var rule: String
    /// Other lists that had a price for this SKU here and lost, best first.
    public var overridden: [String]
    public var sellable: Bool
    public var notSellableReason: String?
}

/// A later module's say in a price (member-tier prices come from the members module): given the
/// catalog's decision, returns a lower price with its rule, or nil.
public protocol PriceAdjustment: Sendable {
    func adjust(_ price: ResolvedPrice, context: PriceContext) async throws -> ResolvedPrice?
}

public struct PriceContext: Sendable {
    public var channelId: String
    public var locationId: String?
    public var at: Date
    /// The member the price is for, when known; used by adjustments, not by the catalog.
    public var memberId: String?
    public init(channelId: String, locationId: String? = nil, at: Date, memberId: String? = nil) {
        self.channelId = channelId
        self.locationId = locationId
        self.at = at
        self.memberId = memberId
    }
}
