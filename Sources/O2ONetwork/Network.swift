import Foundation
import O2OCore

public enum OrganisationKind: String, Codable, Sendable, CaseIterable { case hq, franchisee, supplier }

public struct Organisation: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var kind: OrganisationKind
    public var status: String
    public var contactPhone: String?
    public var createdAt: Date
    public var updatedAt: Date
}

public enum LocationKind: String, Codable, Sendable, CaseIterable {
    case factoryWarehouse = "factory_warehouse"
    case ecommerceWarehouse = "ecommerce_warehouse"
    case regionalDC = "regional_dc"
    case store

    public var isWarehouse: Bool { self != .store }
}

public enum Ownership: String, Codable, Sendable, CaseIterable { case direct, franchise }

public struct Coordinates: Codable, Sendable, Equatable {
    public var lat: Double
    public var lng: Double
    public init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }

    /// Great-circle distance in kilometres (haversine, mean Earth radius).
    public func distanceKm(to other: Coordinates) -> Double {
        greatCircleKm(lat1: lat, lng1: lng, lat2: other.lat, lng2: other.lng)
    }
}

public struct Address: Codable, Sendable, Equatable {
    public var line1: String
    public var provinceCode: String
    public var provinceName: String?
    public var cityCode: String
    public var cityName: String?
    public var districtCode: String
    public var districtName: String?
    public var postalCode: String?

    public init(line1: String, provinceCode: String, provinceName: String? = nil, cityCode: String, cityName: String? = nil,
                districtCode: String, districtName: String? = nil, postalCode: String? = nil) {
        self.line1 = line1
        self.provinceCode = provinceCode
        self.provinceName = provinceName
        self.cityCode = cityCode
        self.cityName = cityName
        self.districtCode = districtCode
        self.districtName = districtName
        self.postalCode = postalCode
    }

    /// Its province, city and district codes, widest first.
    public var regionCodes: [String] { [provinceCode, cityCode, districtCode] }
}

public struct OpeningHours: Codable, Sendable, Equatable {
    /// 1 = Monday … 7 = Sunday.
    public var weekday: Int
    public var opens: String
    public var closes: String
    public init(weekday: Int, opens: String, closes: String) {
        self.weekday = weekday
        self.opens = opens
        self.closes = closes
    }

    /// The stored form, `1 10:00-22:00;2 10:00-22:00;…`: cheap to read back on every location row
    /// (a JSON decoder per row was a tenth of a GET's time).
    static func column(_ hours: [OpeningHours]) -> String {
        hours.map { "\($0.weekday) \($0.opens)-\($0.closes)" }.joined(separator: ";")
    }

    static func list(fromColumn text: String) -> [OpeningHours] {
        text.split(separator: ";").compactMap { entry in
            let parts = entry.split(separator: " ")
            guard parts.count == 2, let day = Int(parts[0]) else { return nil }
            let times = parts[1].split(separator: "-")
            guard times.count == 2 else { return nil }
            return OpeningHours(weekday: day, opens: String(times[0]), closes: String(times[1]))
        }
    }

    /// Every day from `opens` to `closes`.
    public static func daily(_ opens: String, _ closes: String) -> [OpeningHours] {
        (1...7).map { OpeningHours(weekday: $0, opens: opens, closes: closes) }
    }
}

public struct Capabilities: Codable, Sendable, Equatable {
    public var pickup: Bool
    public var shipFromStore: Bool
    public var storeDelivery: Bool
    public var deliveryRadiusKm: Double?
    public var acceptsReturns: Bool

    public init(pickup: Bool = false, shipFromStore: Bool = false, storeDelivery: Bool = false,
                deliveryRadiusKm: Double? = nil, acceptsReturns: Bool = false) {
        self.pickup = pickup
        self.shipFromStore = shipFromStore
        self.storeDelivery = storeDelivery
        self.deliveryRadiusKm = deliveryRadiusKm
        self.acceptsReturns = acceptsReturns
    }

    public static let warehouse = Capabilities(shipFromStore: false)
}

public enum LocationStatus: String, Codable, Sendable, CaseIterable { case active, inactive }

public struct Location: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var kind: LocationKind
    public var ownership: Ownership
    public var organisationId: String
    public var address: Address
    public var coordinates: Coordinates
    public var timeZone: String
    /// The ISO 4217 currency the location sells in.
    public var currency: String
    public var openingHours: [OpeningHours]
    public var capabilities: Capabilities
    public var dailyCapacity: Int
    public var priority: Int
    public var status: LocationStatus
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}

public struct NewLocation: Sendable {
    public var code: String
    public var name: String
    public var kind: LocationKind
    public var ownership: Ownership?
    public var organisationId: String?
    public var address: Address
    public var coordinates: Coordinates
    public var timeZone: String?
    public var currency: String?
    public var openingHours: [OpeningHours]?
    public var capabilities: Capabilities?
    public var dailyCapacity: Int?
    public var priority: Int?

    public init(code: String, name: String, kind: LocationKind, ownership: Ownership? = nil, organisationId: String? = nil,
                address: Address, coordinates: Coordinates, timeZone: String? = nil, currency: String? = nil, openingHours: [OpeningHours]? = nil,
                capabilities: Capabilities? = nil, dailyCapacity: Int? = nil, priority: Int? = nil) {
        self.code = code
        self.name = name
        self.kind = kind
        self.ownership = ownership
        self.organisationId = organisationId
        self.address = address
        self.coordinates = coordinates
        self.timeZone = timeZone
        self.currency = currency
        self.openingHours = openingHours
        self.capabilities = capabilities
        self.dailyCapacity = dailyCapacity
        self.priority = priority
    }
}

public struct LocationPatch: Sendable {
    public var name: String?
    public var address: Address?
    public var coordinates: Coordinates?
    public var timeZone: String?
    public var openingHours: [OpeningHours]?
    public var capabilities: Capabilities?
    public var dailyCapacity: Int?
    public var priority: Int?
    public var status: LocationStatus?
    public var expectedVersion: Int?
    public init() {}
}

public struct LocationFilter: Sendable {
    public var kind: LocationKind?
    public var organisationId: String?
    public var cityCode: String?
    public var text: String?
    public var limit: Int = 50
    public var cursor: String?
    public init() {}
}

public struct CoveringLocation: Sendable {
    public var location: Location
    public var distanceKm: Double
}

public enum CoverageCapability: String, Sendable { case storeDelivery = "store_delivery", pickup }
