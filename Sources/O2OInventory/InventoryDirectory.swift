import Foundation
import O2OCore

/// What inventory needs to know of a location; the network module owns the data.
public struct StockLocation: Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var organisationId: String
    public var isStore: Bool
    public var active: Bool
    public var lat: Double
    public var lng: Double
    /// Hands goods over at the counter (到店自提).
    public var pickup: Bool
    /// Sends parcels to customers: warehouses always, stores when they ship from store or deliver.
    public var ships: Bool

    public init(id: String, code: String, name: String, organisationId: String, isStore: Bool, active: Bool,
                lat: Double, lng: Double, pickup: Bool, ships: Bool) {
        self.id = id
        self.code = code
        self.name = name
        self.organisationId = organisationId
        self.isStore = isStore
        self.active = active
        self.lat = lat
        self.lng = lng
        self.pickup = pickup
        self.ships = ships
    }

    /// Great-circle distance in kilometres.
    public func distanceKm(lat: Double, lng: Double) -> Double {
        greatCircleKm(lat1: self.lat, lng1: self.lng, lat2: lat, lng2: lng)
    }
}

/// What inventory needs to know of a sales channel.
public struct StockChannel: Sendable, Equatable {
    public var id: String
    /// A store's till (POS) rather than an online channel.
    public var isStore: Bool
    public init(id: String, isStore: Bool) {
        self.id = id
        self.isStore = isStore
    }
}

/// The other modules as inventory sees them: locations from the network, SKUs and channels from
/// the catalog. The server implements it over their services; inventory never reads their tables.
public protocol InventoryDirectory: Sendable {
    /// Every location (stores and warehouses).
    func locations() async throws -> [StockLocation]
    /// SKU ids for references that are ids or codes; unknown references are missing from the answer.
    func skuIds(_ refs: [String]) async throws -> [String: String]
    /// A channel's id for an id or a code, nil when there is none.
    func channelId(_ ref: String) async throws -> String?
    /// Every channel, for the change feed and to tell online sales from store sales.
    func channels() async throws -> [StockChannel]
}

/// Locations change rarely and are read on every availability query: kept for a few seconds.
typealias LocationCache = KeyedCache<StockLocation>

extension KeyedCache where Item == StockLocation {
    convenience init(directory: any InventoryDirectory) {
        self.init(id: { $0.id }, code: { $0.code }) { try await directory.locations() }
    }
}
