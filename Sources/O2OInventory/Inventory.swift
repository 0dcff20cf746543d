import Foundation
import O2OCore

/// Why a balance changed. Every change of a balance is a ledger movement of one of these kinds.
public enum MovementKind: String, Codable, Sendable, CaseIterable {
    /// 入库: goods received (supplier delivery, production, opening stock).
    case receipt
    /// A reservation converted to a sale on shipment or pickup, or a sale over the counter.
    case sale
    case reservation
    case release
    /// 调拨出库: shipped to another location (the receiver's in-transit grows).
    case transferOut = "transfer_out"
    /// 调拨入库: received from another location (in transit → on hand; shortages leave in transit).
    case transferIn = "transfer_in"
    /// A manual correction with a reason.
    case adjustment
    /// 盘点差异: the difference a count or a store system's snapshot found.
    case countVariance = "count_variance"
    /// A returned item put back on the shelf.
    case returnToStock = "return_to_stock"
    /// Moved from on hand to quarantined (damaged, awaiting QC).
    case damage

    /// Kinds a user may post directly; the others are written by reservations, transfers and counts.
    public static let postable: Set<MovementKind> = [.receipt, .sale, .adjustment, .returnToStock, .damage]
}

/// The stock of one SKU at one location. Changed only through movements.
public struct Balance: Codable, Sendable, Equatable {
    public var skuId: String
    public var locationId: String
    public var organisationId: String
    public var onHand: Int
    public var reserved: Int
    public var inTransit: Int
    public var quarantined: Int
    /// The most specific safety-stock rule for this SKU and location (no channel).
    public var safetyStock: Int
    public var updatedAt: Date

    /// On hand − reserved − safety stock, never below zero.
    public var available: Int { max(0, onHand - reserved - safetyStock) }
}

/// One ledger row: what changed in which bucket, why, by whom, for which document.
public struct Movement: Codable, Sendable, Equatable {
    public var id: String
    public var at: Date
    public var skuId: String
    public var locationId: String
    public var kind: MovementKind
    public var onHandDelta: Int
    public var reservedDelta: Int
    public var inTransitDelta: Int
    public var quarantinedDelta: Int
    public var reason: String?
    public var referenceType: String?
    public var referenceId: String?
    public var channelId: String?
    public var actorId: String
    public var requestId: String?
}

public enum ReservationStatus: String, Codable, Sendable, CaseIterable {
    /// Some quantity is still held.
    case active
    /// Everything held was sold (and any rest released).
    case completed
    /// Released before anything was sold (cancelled order).
    case released
    /// Released automatically when its time ran out (unpaid online order).
    case expired
}

public struct ReservationLine: Codable, Sendable, Equatable {
    public var line: Int
    public var skuId: String
    public var locationId: String
    public var quantity: Int
    public var consumed: Int
    public var released: Int
    /// Held against the channel's pool: the pool chose `locationId` for now and routing may move
    /// the line to another pool location (`allocate`). A line whose location was named, or that
    /// was allocated, is firm.
    public var soft: Bool
    /// The line this one was split off from when routing sourced part of it elsewhere.
    public var splitFrom: Int?
    /// Still held.
    public var open: Int { quantity - consumed - released }
}

/// What a location may give a channel, for routing.
public struct SourcingStock: Sendable, Equatable {
    /// The channel's pool lets it ship (carrier or store delivery).
    public var shipping: Bool
    /// The channel's pool lets it hand over at the counter.
    public var pickup: Bool
    /// SKU id → units it may give now; SKUs it cannot give are absent.
    public var available: [String: Int]
}

/// Quantities held for an order at locations, all lines or none.
public struct Reservation: Codable, Sendable, Equatable {
    public var id: String
    public var channelId: String?
    public var referenceType: String?
    public var referenceId: String?
    public var status: ReservationStatus
    public var expiresAt: Date?
    public var lines: [ReservationLine]
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// How much of a location's stock a channel may sell (虚拟仓: the channel's share).
public enum Exposure: Codable, Sendable, Equatable {
    case all
    /// A share of the location's available stock, 1–100 %, rounded down.
    case percent(Int)
    /// At most this many units per SKU.
    case cap(Int)

    public var kind: String {
        switch self {
        case .all: return "all"
        case .percent: return "percent"
        case .cap: return "cap"
        }
    }

    public var value: Int? {
        switch self {
        case .all: return nil
        case .percent(let p): return p
        case .cap(let c): return c
        }
    }

    public init?(kind: String, value: Int?) {
        switch kind {
        case "all": self = .all
        case "percent": guard let value else { return nil }; self = .percent(value)
        case "cap": guard let value else { return nil }; self = .cap(value)
        default: return nil
        }
    }

    /// What a channel sees of `available` units.
    public func apply(_ available: Int) -> Int {
        switch self {
        case .all: return available
        case .percent(let p): return available * p / 100
        case .cap(let c): return min(available, c)
        }
    }
}

/// A location feeding a channel's pool, with its share and what it may do for the channel.
public struct PoolMember: Codable, Sendable, Equatable {
    public var locationId: String
    public var exposure: Exposure
    /// Counts for orders shipped to the customer (carrier or store delivery).
    public var shipping: Bool
    /// Counts for pickup in store.
    public var pickup: Bool

    public init(locationId: String, exposure: Exposure = .all, shipping: Bool = true, pickup: Bool = false) {
        self.locationId = locationId
        self.exposure = exposure
        self.shipping = shipping
        self.pickup = pickup
    }
}

/// A channel's inventory settings: its pool, how long unpaid reservations live, and the
/// network-wide threshold under which the channel shows nothing.
public struct ChannelPool: Codable, Sendable, Equatable {
    public var channelId: String
    /// Locations feeding the channel. Empty: every active location, all of its stock (warehouses
    /// and ship-from-store stores for shipping, pickup stores for pickup).
    public var members: [PoolMember]
    /// Seconds an unpaid reservation in this channel lives; nil: until released.
    public var reservationTTL: Int?
    /// When the channel's total for a SKU is below this, it sells none (the last units stay for stores).
    public var threshold: Int
    public var version: Int
    public var updatedAt: Date
}

/// Units kept back from sale. The most specific rule wins: a rule naming the SKU beats one that
/// does not, then one naming the location, then one naming the channel.
public struct SafetyStockRule: Codable, Sendable, Equatable {
    public var id: String
    public var locationId: String?
    public var skuId: String?
    public var channelId: String?
    public var quantity: Int
    public var createdAt: Date

    /// Higher wins: SKU 4, location 2, channel 1.
    var specificity: Int { (skuId != nil ? 4 : 0) + (locationId != nil ? 2 : 0) + (channelId != nil ? 1 : 0) }

    func matches(sku: String, location: String, channel: String?) -> Bool {
        (skuId == nil || skuId == sku) && (locationId == nil || locationId == location) && (channelId == nil || channelId == channel)
    }
}

/// What a channel may promise for one SKU, split by how the customer gets it.
public struct ChannelATP: Codable, Sendable, Equatable {
    public var skuId: String
    public var shipping: Int
    public var pickup: Int
    /// Per location, what it adds (only locations with something to give).
    public var locations: [LocationATP]
}

public struct LocationATP: Codable, Sendable, Equatable {
    public var locationId: String
    public var available: Int
    public var shipping: Bool
    public var pickup: Bool
}

/// A store near a point and what it has of the asked SKUs.
public struct NearbyStore: Codable, Sendable, Equatable {
    public var locationId: String
    public var code: String
    public var name: String
    public var distanceKm: Double
    /// SKU id → units available now.
    public var available: [String: Int]
    /// Whether every asked SKU is there in the asked quantity.
    public var hasAll: Bool
}

/// One line that could not be held, reported with every other short line at once.
public struct Shortfall: Codable, Sendable, Equatable {
    public var line: Int
    public var skuId: String
    /// Empty when the line left its location to the channel's pool and no pool location has enough.
    public var locationId: String
    public var requested: Int
    public var available: Int
}

/// The ledger check: rows whose balance differs from the sum of their movements.
public struct LedgerMismatch: Codable, Sendable, Equatable {
    public var skuId: String
    public var locationId: String
    public var bucket: String
    public var balance: Int
    public var ledger: Int
}

public struct VerifyReport: Sendable, Equatable {
    public var balances: Int
    public var movements: Int
    public var mismatches: [LedgerMismatch]
    /// Rows with reserved, in transit or quarantined below zero: a defect.
    public var negative: [String]
    /// Rows whose on hand till sales took below zero: the store sold what the ledger did not
    /// know it had, and should count it. Listed, not a failure.
    public var belowZeroOnHand: [String] = []
    public var ok: Bool { mismatches.isEmpty && negative.isEmpty }
}
