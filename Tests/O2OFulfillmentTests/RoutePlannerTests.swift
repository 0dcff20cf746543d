import Foundation
import Testing
@testable import O2OFulfillment

@Suite("Route planner")
struct RoutePlannerTests {
    /// Iteration-limited options: the outcome depends only on the seed, never on the clock.
    static func options(iterations: Int, seed: UInt64 = 7) -> RoutePlanner.Options {
        RoutePlanner.Options(timeLimit: 3600, iterationLimit: iterations, seed: seed)
    }

    @Test("X-n101-k25 within 3% of the best-known cost, feasible", .enabled(if: SharedData.isAvailable))
    func nearBestKnownOnX101() throws {
        let problem = try CVRPLIB.loadInstance(at: SharedData.cvrplib("X/X-n101-k25.vrp")).routingProblem()
        let bestKnown = try CVRPLIB.loadSolution(at: SharedData.cvrplib("X/X-n101-k25.sol")).cost
        let plan = RoutePlanner(options: Self.options(iterations: 4000)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.unassigned.isEmpty)
        #expect(plan.iterations == 4000)
        let gap = Double(plan.cost - bestKnown) / Double(bestKnown)
        #expect(gap < 0.03, "cost \(plan.cost) vs BKS \(bestKnown)")
        #expect(gap >= 0, "cost \(plan.cost) below BKS \(bestKnown) means a distance error")
    }

    @Test("the same seed gives the same plan; another seed still gives a feasible one", .enabled(if: SharedData.isAvailable))
    func deterministicForSeed() throws {
        let problem = try CVRPLIB.loadInstance(at: SharedData.cvrplib("classic/E/E-n51-k5.vrp")).routingProblem()
        let first = RoutePlanner(options: Self.options(iterations: 800, seed: 42)).solve(problem)
        let second = RoutePlanner(options: Self.options(iterations: 800, seed: 42)).solve(problem)
        #expect(sequences(first) == sequences(second))
        #expect(first.cost == second.cost)
        let other = RoutePlanner(options: Self.options(iterations: 800, seed: 43)).solve(problem)
        expectFeasible(other, for: problem)
    }

    @Test("classic A-n32-k5 with its fixed fleet of 5: feasible, within 2% of the proven optimum", .enabled(if: SharedData.isAvailable))
    func classicFixedFleet() throws {
        let problem = try CVRPLIB.loadInstance(at: SharedData.cvrplib("classic/A/A-n32-k5.vrp")).routingProblem(vehicleCount: 5)
        let plan = RoutePlanner(options: Self.options(iterations: 3000)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.unassigned.isEmpty)
        #expect(plan.routes.count <= 5)
        #expect(plan.cost >= 784)
        #expect(Double(plan.cost) <= 784 * 1.02, "cost \(plan.cost)")
    }

    @Test("geographic builder: haversine seconds at the given speed, rounded up")
    func geographicTravelTimes() throws {
        let depot = RoutingProblem.Depot(id: "d", location: .geographic(latitude: 0, longitude: 0))
        let stop = RoutingProblem.Stop(id: "north", location: .geographic(latitude: 1, longitude: 0), demand: 1)
        let problem = try RoutingProblem.geographic(depot: depot, stops: [stop], vehicleTypes: [.init(id: "v", capacity: 1)],
                                                    speedMetersPerSecond: 10)
        // One degree of latitude on the mean-radius sphere is 111,195 m: 11,120 s at 10 m/s.
        #expect(problem.travel[0, 1] == 11_120)
        #expect(problem.travel[1, 0] == 11_120)
        #expect(problem.travel[0, 0] == 0)
    }

    /// A store's day: 40 deliveries around a depot in a city, 3 vans with 8-hour shifts, windows on some stops.
    static func storeProblem(vans: Int, capacity: Int = 30) throws -> RoutingProblem {
        var generator = RoutePlannerRandom(seed: 99)
        let depot = RoutingProblem.Depot(id: "store", location: .geographic(latitude: 52.52, longitude: 13.405))
        let stops = (0..<40).map { index in
            let latitude = 52.52 + (generator.unit() - 0.5) * 0.12
            let longitude = 13.405 + (generator.unit() - 0.5) * 0.2
            let window: RoutingProblem.TimeWindow? = index % 3 == 0
                ? .init(earliest: 9 * 3600 + (index % 4) * 5400, latest: 9 * 3600 + (index % 4) * 5400 + 7200)
                : nil
            return RoutingProblem.Stop(id: "order-\(index)", location: .geographic(latitude: latitude, longitude: longitude),
                                       demand: 1 + index % 4, serviceTime: 300, timeWindow: window)
        }
        let van = RoutingProblem.VehicleType(id: "van", capacity: capacity, shiftStart: 8 * 3600, shiftEnd: 16 * 3600, count: vans)
        return try RoutingProblem.geographic(depot: depot, stops: stops, vehicleTypes: [van], speedMetersPerSecond: 8, detourFactor: 1.3)
    }

    @Test("store day with time windows and a limited fleet: all served, schedule feasible")
    func storeDayWithTimeWindows() throws {
        let problem = try Self.storeProblem(vans: 4)
        let plan = RoutePlanner(options: Self.options(iterations: 1500)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.unassigned.isEmpty)
        #expect(plan.routes.count <= 4)
    }

    @Test("a fleet too small leaves stops unassigned with a reason, never infeasible routes")
    func tooSmallFleetReportsUnassigned() throws {
        let problem = try Self.storeProblem(vans: 1, capacity: 20)
        let plan = RoutePlanner(options: Self.options(iterations: 800)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.routes.count == 1)
        #expect(!plan.unassigned.isEmpty)
        #expect(plan.unassigned.allSatisfy { $0.reason == .fleetExhausted })
    }

    @Test("a stop whose window cannot be reached is reported as unreachable")
    func unreachableWindow() throws {
        let depot = RoutingProblem.Depot(id: "d", location: .planar(x: 0, y: 0))
        let stops = [
            RoutingProblem.Stop(id: "near", location: .planar(x: 10, y: 0), demand: 1),
            RoutingProblem.Stop(id: "far", location: .planar(x: 500, y: 0), demand: 1, timeWindow: .init(earliest: 0, latest: 100)),
        ]
        let problem = try RoutingProblem.euclidean(depot: depot, stops: stops, vehicleTypes: [.init(id: "v", capacity: 5, count: 2)])
        let plan = RoutePlanner(options: Self.options(iterations: 50)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.unassigned == [.init(stopIndex: 1, stopID: "far", reason: .unreachableInTime)])
        #expect(plan.cost == 20)
    }

    @Test("two vehicle types: capacities and counts respected")
    func heterogeneousFleet() throws {
        let depot = RoutingProblem.Depot(id: "d", location: .planar(x: 50, y: 50))
        let stops = (0..<30).map { index in
            RoutingProblem.Stop(id: "s\(index)", location: .planar(x: Double((index * 37) % 100), y: Double((index * 53) % 100)),
                                demand: 2 + index % 5)
        }
        let fleet = [RoutingProblem.VehicleType(id: "bike", capacity: 10, count: 3), .init(id: "van", capacity: 40, count: 3)]
        let problem = try RoutingProblem.euclidean(depot: depot, stops: stops, vehicleTypes: fleet)
        let plan = RoutePlanner(options: Self.options(iterations: 1000)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.unassigned.isEmpty)
    }

    @Test("weight and volume beside units: no route beyond any dimension, and a stop no vehicle carries in every dimension is refused")
    func additionalDimensions() throws {
        let depot = RoutingProblem.Depot(id: "d", location: .planar(x: 50, y: 50))
        // Units never bind (capacity 100); weight binds for the heavy stops, volume for the bulky ones.
        let stops = (0..<24).map { (index: Int) -> RoutingProblem.Stop in
            let heavy: [Int] = [9_000, 5_000], bulky: [Int] = [1_000, 40_000]
            let at = RoutingProblem.Location.planar(x: Double((index * 37) % 100), y: Double((index * 53) % 100))
            return RoutingProblem.Stop(id: "s\(index)", location: at, demand: 1, additionalDemand: index % 2 == 0 ? heavy : bulky)
        }
        let fleet = [RoutingProblem.VehicleType(id: "scooter", capacity: 100, additionalCapacity: [20_000, 100_000], count: 6),
                     .init(id: "van", capacity: 100, additionalCapacity: [nil, 250_000], count: 4)]
        let problem = try RoutingProblem.euclidean(depot: depot, stops: stops, vehicleTypes: fleet)
        let plan = RoutePlanner(options: Self.options(iterations: 1500)).solve(problem)
        expectFeasible(plan, for: problem)
        #expect(plan.unassigned.isEmpty)
        #expect(plan.routes.allSatisfy { $0.additionalLoad.count == 2 })
        let pallet = RoutingProblem.Stop(id: "pallet", location: .planar(x: 1, y: 1), demand: 1, additionalDemand: [30_000, 300_000])
        #expect(throws: RoutingProblemError.noVehicleCarries(stop: "pallet")) {
            try RoutingProblem.euclidean(depot: depot, stops: [pallet], vehicleTypes: fleet)
        }
        #expect(throws: RoutingProblemError.tooManyDimensions(4)) {
            try RoutingProblem.euclidean(depot: depot, stops: [], vehicleTypes: [.init(id: "v", capacity: 1, additionalCapacity: [1, 1, 1, 1])])
        }
    }

    @Test("invalid problems throw typed errors naming the culprit")
    func rejectsInvalidProblems() {
        let depot = RoutingProblem.Depot(id: "d", location: .planar(x: 0, y: 0))
        let heavy = RoutingProblem.Stop(id: "pallet", location: .planar(x: 1, y: 1), demand: 120)
        let van = RoutingProblem.VehicleType(id: "van", capacity: 100)
        #expect(throws: RoutingProblemError.demandExceedsCapacity(stop: "pallet", demand: 120, largestCapacity: 100)) {
            try RoutingProblem.euclidean(depot: depot, stops: [heavy], vehicleTypes: [van, .init(id: "bike", capacity: 20)])
        }
        #expect(throws: RoutingProblemError.emptyFleet) {
            try RoutingProblem.euclidean(depot: depot, stops: [], vehicleTypes: [])
        }
        #expect(throws: RoutingProblemError.nonPositiveCapacity(vehicleType: "van", capacity: 0)) {
            try RoutingProblem.euclidean(depot: depot, stops: [], vehicleTypes: [.init(id: "van", capacity: 0)])
        }
        let badWindow = RoutingProblem.Stop(id: "late", location: .planar(x: 1, y: 1), demand: 1, timeWindow: .init(earliest: 50, latest: 10))
        #expect(throws: RoutingProblemError.invalidTimeWindow(stop: "late", earliest: 50, latest: 10)) {
            try RoutingProblem.euclidean(depot: depot, stops: [badWindow], vehicleTypes: [van])
        }
        #expect(throws: RoutingProblemError.invalidShift(vehicleType: "van", start: 100, end: 50)) {
            try RoutingProblem.euclidean(depot: depot, stops: [], vehicleTypes: [.init(id: "van", capacity: 5, shiftStart: 100, shiftEnd: 50)])
        }
        #expect(throws: RoutingProblemError.locationKindMismatch(expected: "geographic")) {
            try RoutingProblem.geographic(depot: depot, stops: [], vehicleTypes: [van], speedMetersPerSecond: 10)
        }
        #expect(throws: RoutingProblemError.matrixSizeMismatch(expectedNodes: 2, actualValues: 3)) {
            try RoutingProblem.TravelMatrix(size: 2, values: [0, 1, 2])
        }
        #expect(RoutingProblemError.demandExceedsCapacity(stop: "pallet", demand: 120, largestCapacity: 100).description
            == "stop pallet has demand 120, more than the largest vehicle capacity 100")
    }

    @Test("an empty problem gives an empty plan")
    func emptyProblem() throws {
        let problem = try RoutingProblem.euclidean(depot: .init(id: "d", location: .planar(x: 0, y: 0)), stops: [],
                                                   vehicleTypes: [.init(id: "v", capacity: 1)])
        let plan = RoutePlanner(options: Self.options(iterations: 10)).solve(problem)
        #expect(plan.routes.isEmpty && plan.unassigned.isEmpty && plan.cost == 0)
    }
}
