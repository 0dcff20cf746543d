import Foundation
import O2OCore
import Synchronization

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
final class LocationCache: Sendable {
    private struct Entry {
        var at: ContinuousClock.Instant
        var byId: [String: StockLocation]
        var byCode: [String: StockLocation]
        var all: [StockLocation]
    }
    private let directory: any InventoryDirectory
    private let ttl: Duration
    private let entry = Mutex<Entry?>(nil)

    init(directory: any InventoryDirectory, ttl: Duration = .seconds(10)) {
        self.directory = directory
        self.ttl = ttl
    }

    private func current() async throws -> Entry {
        if let e = entry.withLock({ $0 }), ContinuousClock.now - e.at < ttl { return e }
        let all = try await directory.locations()
        let e = Entry(at: .now, byId: Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                      byCode: Dictionary(all.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a }), all: all)
        entry.withLock { $0 = e }
        return e
    }

    /// A location by id or code; a miss reloads once (a location created a moment ago).
    func find(_ ref: String) async throws -> StockLocation? {
        if let l = try await lookup(ref) { return l }
        entry.withLock { $0 = nil }
        return try await lookup(ref)
    }

    private func lookup(_ ref: String) async throws -> StockLocation? {
        let e = try await current()
        return e.byId[ref] ?? e.byCode[ref]
    }

    func byId() async throws -> [String: StockLocation] { try await current().byId }
    func all() async throws -> [StockLocation] { try await current().all }
}
