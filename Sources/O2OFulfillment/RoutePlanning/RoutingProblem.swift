import Foundation

/// A vehicle-routing problem: one depot, the stops to serve from it, the fleet, and the travel matrix.
///
/// Node numbering used by ``TravelMatrix``: node `0` is the depot and node `i + 1` is `stops[i]`.
/// Travel cost equals travel duration in seconds (or, for CVRPLIB instances, rounded distance).
/// A value of this type has passed validation: every initializer throws ``RoutingProblemError``
/// when the input cannot describe a solvable problem.
public struct RoutingProblem: Sendable {
    /// Where a depot or stop is: planar coordinates (CVRPLIB) or latitude/longitude in degrees (stores).
    public enum Location: Sendable, Hashable {
        case planar(x: Double, y: Double)
        case geographic(latitude: Double, longitude: Double)
    }

    /// An interval of seconds `[earliest, latest]` in which service must start.
    public struct TimeWindow: Sendable, Hashable {
        public var earliest: Int
        public var latest: Int

        public init(earliest: Int, latest: Int) {
            self.earliest = earliest
            self.latest = latest
        }
    }

    /// The depot every route starts from and returns to.
    public struct Depot: Sendable, Hashable {
        public var id: String
        public var location: Location

        public init(id: String, location: Location) {
            self.id = id
            self.location = location
        }
    }

    /// One delivery: its demand uses vehicle capacity, its service time is spent on site,
    /// and its optional time window bounds when service may start (arriving early means waiting).
    /// `additionalDemand` uses the vehicles' ``VehicleType/additionalCapacity`` dimension by
    /// dimension (a store's weight and volume beside its units); a dimension it leaves out is 0.
    public struct Stop: Sendable, Hashable {
        public var id: String
        public var location: Location
        public var demand: Int
        public var additionalDemand: [Int]
        public var serviceTime: Int
        public var timeWindow: TimeWindow?

        public init(id: String, location: Location, demand: Int, additionalDemand: [Int] = [], serviceTime: Int = 0, timeWindow: TimeWindow? = nil) {
            self.id = id
            self.location = location
            self.demand = demand
            self.additionalDemand = additionalDemand
            self.serviceTime = serviceTime
            self.timeWindow = timeWindow
        }
    }

    /// A kind of vehicle in the fleet. `count == nil` means as many as needed (CVRPLIB);
    /// `shiftEnd == nil` means no return deadline. Vehicles leave the depot at `shiftStart`
    /// and must be back by `shiftEnd`. `additionalCapacity[d]` bounds the stops' `additionalDemand[d]`
    /// (at most ``maxAdditionalDimensions``); `nil` there, or a dimension left out, is no limit.
    public struct VehicleType: Sendable, Hashable {
        public var id: String
        public var capacity: Int
        public var additionalCapacity: [Int?]
        public var shiftStart: Int
        public var shiftEnd: Int?
        public var count: Int?

        public init(id: String, capacity: Int, additionalCapacity: [Int?] = [], shiftStart: Int = 0, shiftEnd: Int? = nil, count: Int? = nil) {
            self.id = id
            self.capacity = capacity
            self.additionalCapacity = additionalCapacity
            self.shiftStart = shiftStart
            self.shiftEnd = shiftEnd
            self.count = count
        }
    }

    /// How many capacity dimensions a problem may have beside its units.
    public static let maxAdditionalDimensions = 3

    /// A dense square matrix of non-negative integer travel costs between nodes, stored row-major in one flat array.
    public struct TravelMatrix: Sendable, Hashable {
        /// Number of nodes (depot plus stops).
        public let size: Int
        let storage: [Int32]

        /// Builds a matrix from `size * size` row-major values; throws if a value is negative or exceeds `Int32.max`.
        public init(size: Int, values: [Int]) throws(RoutingProblemError) {
            guard values.count == size * size else {
                throw .matrixSizeMismatch(expectedNodes: size, actualValues: values.count)
            }
            var storage = [Int32](repeating: 0, count: values.count)
            for index in values.indices {
                let value = values[index]
                guard value >= 0, value <= Int(Int32.max) else {
                    throw .invalidTravelCost(from: index / size, to: index % size, value: value)
                }
                storage[index] = Int32(value)
            }
            self.size = size
            self.storage = storage
        }

        /// The travel cost from node `from` to node `to`.
        public subscript(from: Int, to: Int) -> Int {
            Int(storage[from * size + to])
        }
    }

    public let depot: Depot
    public let stops: [Stop]
    public let vehicleTypes: [VehicleType]
    public let travel: TravelMatrix

    /// Creates a validated problem from an explicit travel matrix of `(stops.count + 1)²` entries.
    public init(depot: Depot, stops: [Stop], vehicleTypes: [VehicleType], travel: TravelMatrix) throws(RoutingProblemError) {
        try Self.validate(stops: stops, vehicleTypes: vehicleTypes)
        guard travel.size == stops.count + 1 else {
            throw .matrixSizeMismatch(expectedNodes: stops.count + 1, actualValues: travel.size * travel.size)
        }
        self.depot = depot
        self.stops = stops
        self.vehicleTypes = vehicleTypes
        self.travel = travel
    }

    /// Creates a problem on planar coordinates with cost `nint(euclidean distance)`,
    /// the `EUC_2D` convention of TSPLIB and CVRPLIB.
    public static func euclidean(depot: Depot, stops: [Stop], vehicleTypes: [VehicleType]) throws(RoutingProblemError) -> RoutingProblem {
        let points = try ([depot.location] + stops.map(\.location)).map { location throws(RoutingProblemError) -> (Double, Double) in
            guard case let .planar(x, y) = location else { throw .locationKindMismatch(expected: "planar") }
            return (x, y)
        }
        let size = points.count
        var values = [Int](repeating: 0, count: size * size)
        for i in 0..<size {
            for j in 0..<size where i != j {
                let dx = points[i].0 - points[j].0
                let dy = points[i].1 - points[j].1
                values[i * size + j] = Int((dx * dx + dy * dy).squareRoot().rounded(.toNearestOrAwayFromZero))
            }
        }
        return try RoutingProblem(depot: depot, stops: stops, vehicleTypes: vehicleTypes,
                                  travel: TravelMatrix(size: size, values: values))
    }

    /// Creates a problem on latitude/longitude with travel time in seconds:
    /// great-circle (haversine) distance times `detourFactor`, divided by `speedMetersPerSecond`, rounded up.
    public static func geographic(
        depot: Depot, stops: [Stop], vehicleTypes: [VehicleType],
        speedMetersPerSecond: Double, detourFactor: Double = 1.0
    ) throws(RoutingProblemError) -> RoutingProblem {
        guard speedMetersPerSecond > 0, speedMetersPerSecond.isFinite, detourFactor >= 1, detourFactor.isFinite else {
            throw .invalidSpeed(metersPerSecond: speedMetersPerSecond, detourFactor: detourFactor)
        }
        let points = try ([depot.location] + stops.map(\.location)).map { location throws(RoutingProblemError) -> (Double, Double) in
            guard case let .geographic(latitude, longitude) = location else { throw .locationKindMismatch(expected: "geographic") }
            return (latitude * .pi / 180, longitude * .pi / 180)
        }
        let earthRadius = 6_371_008.8
        let size = points.count
        var values = [Int](repeating: 0, count: size * size)
        for i in 0..<size {
            for j in 0..<size where i != j {
                let sinLatitude = sin((points[j].0 - points[i].0) / 2)
                let sinLongitude = sin((points[j].1 - points[i].1) / 2)
                let h = sinLatitude * sinLatitude + cos(points[i].0) * cos(points[j].0) * sinLongitude * sinLongitude
                let meters = 2 * earthRadius * asin(min(1, h.squareRoot()))
                values[i * size + j] = Int((meters * detourFactor / speedMetersPerSecond).rounded(.up))
            }
        }
        return try RoutingProblem(depot: depot, stops: stops, vehicleTypes: vehicleTypes,
                                  travel: TravelMatrix(size: size, values: values))
    }

    /// The largest capacity in the fleet.
    public var largestCapacity: Int { vehicleTypes.map(\.capacity).max() ?? 0 }

    /// True when any stop has a time window or any vehicle a shift end, so schedules must be checked.
    public var hasTimeConstraints: Bool {
        stops.contains { $0.timeWindow != nil } || vehicleTypes.contains { $0.shiftEnd != nil }
    }

    private static func validate(stops: [Stop], vehicleTypes: [VehicleType]) throws(RoutingProblemError) {
        guard !vehicleTypes.isEmpty else { throw .emptyFleet }
        for vehicle in vehicleTypes {
            guard vehicle.capacity > 0 else { throw .nonPositiveCapacity(vehicleType: vehicle.id, capacity: vehicle.capacity) }
            if let count = vehicle.count, count <= 0 {
                throw .nonPositiveVehicleCount(vehicleType: vehicle.id, count: count)
            }
            if let end = vehicle.shiftEnd, end < vehicle.shiftStart {
                throw .invalidShift(vehicleType: vehicle.id, start: vehicle.shiftStart, end: end)
            }
            guard vehicle.additionalCapacity.count <= maxAdditionalDimensions else {
                throw .tooManyDimensions(vehicle.additionalCapacity.count)
            }
            if let bad = vehicle.additionalCapacity.compactMap({ $0 }).first(where: { $0 <= 0 }) {
                throw .nonPositiveCapacity(vehicleType: vehicle.id, capacity: bad)
            }
        }
        let largest = vehicleTypes.map(\.capacity).max() ?? 0
        var seen = Set<String>()
        for stop in stops {
            guard seen.insert(stop.id).inserted else { throw .duplicateStopID(stop.id) }
            guard stop.demand >= 0 else { throw .negativeDemand(stop: stop.id, demand: stop.demand) }
            guard stop.serviceTime >= 0 else { throw .negativeServiceTime(stop: stop.id, serviceTime: stop.serviceTime) }
            guard stop.demand <= largest else {
                throw .demandExceedsCapacity(stop: stop.id, demand: stop.demand, largestCapacity: largest)
            }
            guard stop.additionalDemand.count <= maxAdditionalDimensions else { throw .tooManyDimensions(stop.additionalDemand.count) }
            if let bad = stop.additionalDemand.first(where: { $0 < 0 }) { throw .negativeDemand(stop: stop.id, demand: bad) }
            let carried = vehicleTypes.contains { v in
                stop.demand <= v.capacity && stop.additionalDemand.enumerated().allSatisfy { d, amount in
                    d >= v.additionalCapacity.count || v.additionalCapacity[d].map { amount <= $0 } ?? true
                }
            }
            guard carried else { throw .noVehicleCarries(stop: stop.id) }
            if let window = stop.timeWindow, window.latest < window.earliest {
                throw .invalidTimeWindow(stop: stop.id, earliest: window.earliest, latest: window.latest)
            }
        }
    }
}

/// Why a ``RoutingProblem`` could not be built.
public enum RoutingProblemError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyFleet
    case nonPositiveCapacity(vehicleType: String, capacity: Int)
    case nonPositiveVehicleCount(vehicleType: String, count: Int)
    case invalidShift(vehicleType: String, start: Int, end: Int)
    case duplicateStopID(String)
    case negativeDemand(stop: String, demand: Int)
    case negativeServiceTime(stop: String, serviceTime: Int)
    case demandExceedsCapacity(stop: String, demand: Int, largestCapacity: Int)
    case noVehicleCarries(stop: String)
    case tooManyDimensions(Int)
    case invalidTimeWindow(stop: String, earliest: Int, latest: Int)
    case matrixSizeMismatch(expectedNodes: Int, actualValues: Int)
    case invalidTravelCost(from: Int, to: Int, value: Int)
    case locationKindMismatch(expected: String)
    case invalidSpeed(metersPerSecond: Double, detourFactor: Double)

    public var description: String {
        switch self {
        case .emptyFleet:
            "the fleet has no vehicle types"
        case let .nonPositiveCapacity(vehicleType, capacity):
            "vehicle type \(vehicleType) has non-positive capacity \(capacity)"
        case let .nonPositiveVehicleCount(vehicleType, count):
            "vehicle type \(vehicleType) has non-positive count \(count)"
        case let .invalidShift(vehicleType, start, end):
            "vehicle type \(vehicleType) has a shift ending at \(end) before it starts at \(start)"
        case let .duplicateStopID(id):
            "stop id \(id) appears more than once"
        case let .negativeDemand(stop, demand):
            "stop \(stop) has negative demand \(demand)"
        case let .negativeServiceTime(stop, serviceTime):
            "stop \(stop) has negative service time \(serviceTime)"
        case let .demandExceedsCapacity(stop, demand, largestCapacity):
            "stop \(stop) has demand \(demand), more than the largest vehicle capacity \(largestCapacity)"
        case let .noVehicleCarries(stop):
            "stop \(stop) fits no vehicle type in every capacity dimension at once"
        case let .tooManyDimensions(count):
            "\(count) additional capacity dimensions; at most \(RoutingProblem.maxAdditionalDimensions)"
        case let .invalidTimeWindow(stop, earliest, latest):
            "stop \(stop) has a time window whose latest \(latest) is before its earliest \(earliest)"
        case let .matrixSizeMismatch(expectedNodes, actualValues):
            "travel matrix must have \(expectedNodes)×\(expectedNodes) values, got \(actualValues)"
        case let .invalidTravelCost(from, to, value):
            "travel cost from node \(from) to node \(to) is \(value), outside 0...\(Int32.max)"
        case let .locationKindMismatch(expected):
            "every location must be \(expected) for this matrix builder"
        case let .invalidSpeed(metersPerSecond, detourFactor):
            "speed \(metersPerSecond) m/s must be positive and detour factor \(detourFactor) at least 1"
        }
    }
}
