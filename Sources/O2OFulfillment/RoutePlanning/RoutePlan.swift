import Foundation

/// The planner's answer: one route per used vehicle, in visiting order with ETAs, plus the stops it could not serve.
public struct RoutePlan: Sendable, Hashable {
    /// One stop on a route. Times are seconds on the same clock as time windows and shifts.
    public struct Visit: Sendable, Hashable {
        /// Index into ``RoutingProblem/stops``.
        public var stopIndex: Int
        public var stopID: String
        /// When the vehicle gets there.
        public var arrival: Int
        /// When service starts: the arrival, or the window's start if the vehicle arrives early and waits.
        public var serviceStart: Int
        /// When the vehicle leaves after service.
        public var departure: Int
        /// Total demand delivered on this route up to and including this stop.
        public var cumulativeDemand: Int
    }

    /// One vehicle's trip from the depot through its stops and back.
    public struct Route: Sendable, Hashable {
        /// Index into ``RoutingProblem/vehicleTypes``.
        public var vehicleTypeIndex: Int
        public var vehicleTypeID: String
        public var departure: Int
        public var returnTime: Int
        /// Total demand on board when leaving the depot.
        public var load: Int
        /// What it carries in each additional dimension (``RoutingProblem/Stop/additionalDemand``).
        public var additionalLoad: [Int]
        /// Sum of travel-matrix costs along the route, depot to depot.
        public var cost: Int
        public var visits: [Visit]
    }

    /// Why a stop was left out of the plan.
    public enum UnassignedReason: Sendable, Hashable {
        /// No vehicle type can reach the stop within its time window and get back within its shift.
        case unreachableInTime
        /// The stop could be served alone, but every vehicle was already full or out of time.
        case fleetExhausted
    }

    /// A stop the plan does not serve.
    public struct UnassignedStop: Sendable, Hashable {
        public var stopIndex: Int
        public var stopID: String
        public var reason: UnassignedReason
    }

    public var routes: [Route]
    public var unassigned: [UnassignedStop]
    /// Total travel cost of all routes (unassigned stops add nothing here).
    public var cost: Int
    /// Ruin-and-recreate iterations performed.
    public var iterations: Int
    /// Wall-clock seconds spent solving.
    public var elapsedSeconds: Double
}
