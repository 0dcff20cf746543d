import Foundation
import O2OCore

// MARK: - Store delivery (门店配送): a store's delivery orders planned into vehicle routes

/// A vehicle (or courier) a store sends out, as a route request names it.
public struct DeliveryVehicle: Codable, Sendable, Equatable {
    public var id: String
    /// Units it carries at once.
    public var capacity: Int
    /// The most it carries by weight and by volume at once; nil: units are its only limit.
    public var maxWeightGrams: Int?
    public var maxVolumeCm3: Int?
    /// How many of it the store has (1 when left out).
    public var count: Int
    /// When it must be back at the store; nil: no end.
    public var shiftEnd: Date?

    public init(id: String, capacity: Int, maxWeightGrams: Int? = nil, maxVolumeCm3: Int? = nil, count: Int = 1, shiftEnd: Date? = nil) {
        self.id = id
        self.capacity = capacity
        self.maxWeightGrams = maxWeightGrams
        self.maxVolumeCm3 = maxVolumeCm3
        self.count = count
        self.shiftEnd = shiftEnd
    }
}

/// When a customer will take delivery of an order.
public struct DeliveryWindow: Codable, Sendable, Equatable {
    public var orderId: String
    public var earliest: Date
    public var latest: Date

    public init(orderId: String, earliest: Date, latest: Date) {
        self.orderId = orderId
        self.earliest = earliest
        self.latest = latest
    }
}

public enum DeliveryRouteStatus: String, Codable, Sendable, CaseIterable {
    /// Planned, not yet left the store; planning again replaces it.
    case planned
    /// Out for delivery: its orders are shipped.
    case dispatched
    /// Every stop is delivered or failed.
    case completed
}

public enum DeliveryStopStatus: String, Codable, Sendable, CaseIterable {
    case pending, delivered, failed
}

public struct DeliveryStop: Codable, Sendable, Equatable {
    /// 1 for the first stop.
    public var seq: Int
    public var orderId: String
    public var lat: Double
    public var lng: Double
    /// Units handed over here, and what they weigh and take up (by the catalog's SKU measures).
    public var units: Int
    public var weightGrams: Int
    public var volumeCm3: Int
    /// When the vehicle is planned to arrive, and to start handing over (later when it waits for the window).
    public var eta: Date
    public var serviceStart: Date
    public var window: DeliveryWindow?
    public var status: DeliveryStopStatus
    public var note: String?
    public var at: Date?
}

public struct DeliveryRoute: Codable, Sendable, Equatable {
    public var id: String
    public var storeId: String
    public var planId: String
    public var vehicleId: String
    public var status: DeliveryRouteStatus
    public var departAt: Date
    public var returnAt: Date
    /// Travel time of the route, in seconds (what the planner minimised).
    public var travelSeconds: Int
    /// Units, grams and cm³ on board when it leaves.
    public var load: Int
    public var weightGrams: Int
    public var volumeCm3: Int
    public var stops: [DeliveryStop]
    public var createdAt: Date
    public var updatedAt: Date
}

/// A store's deliveries as planned: the routes, the orders no route could take and why, and
/// what the planner did.
public struct DeliveryPlan: Codable, Sendable, Equatable {
    public var id: String
    public var storeId: String
    public var routes: [DeliveryRoute]
    public var unassigned: [UnassignedDelivery]
    /// Orders with a SKU the catalog has no weight (or volume) for, while a vehicle is limited by
    /// it: planned as if that SKU weighed (or took up) nothing.
    public var unmeasuredOrderIds: [String]
    /// Total travel time over the routes, in seconds.
    public var travelSeconds: Int
    public var solverSeconds: Double
    public var iterations: Int
}

public struct UnassignedDelivery: Codable, Sendable, Equatable {
    public var orderId: String
    public var reason: String
}
