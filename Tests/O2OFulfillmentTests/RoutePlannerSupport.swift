import Foundation
import Testing
@testable import O2OFulfillment

/// Locates the shared CVRPLIB data: `$O2O_SHARED_DATA` if set, else `shared/data` beside the repository root
/// (found from this file's path). Tests that need it are skipped when it is absent.
enum SharedData {
    static let directory: URL? = {
        let fileManager = FileManager.default
        if let configured = ProcessInfo.processInfo.environment["O2O_SHARED_DATA"] {
            return fileManager.fileExists(atPath: configured) ? URL(fileURLWithPath: configured) : nil
        }
        let repositoryRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sibling = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
        return fileManager.fileExists(atPath: sibling.appendingPathComponent("cvrplib").path) ? sibling : nil
    }()

    static var isAvailable: Bool { directory != nil }

    static func cvrplib(_ relativePath: String) -> URL {
        directory!.appendingPathComponent("cvrplib").appendingPathComponent(relativePath)
    }
}

/// Checks a plan against its problem independently of the solver: each stop served at most once and either routed
/// or reported unassigned, capacities and fleet sizes respected, the schedule recomputed from the matrix
/// (waiting allowed, no late service, back by shift end), and the costs recomputed from the matrix.
func expectFeasible(_ plan: RoutePlan, for problem: RoutingProblem, sourceLocation: SourceLocation = #_sourceLocation) {
    var seen = [Int](repeating: 0, count: problem.stops.count)
    var routesPerType = [Int](repeating: 0, count: problem.vehicleTypes.count)
    var total = 0
    for route in plan.routes {
        let vehicle = problem.vehicleTypes[route.vehicleTypeIndex]
        routesPerType[route.vehicleTypeIndex] += 1
        var time = vehicle.shiftStart
        var node = 0
        var load = 0
        var additional = [Int](repeating: 0, count: route.additionalLoad.count)
        var cost = 0
        var previousService = 0
        #expect(route.departure == vehicle.shiftStart, sourceLocation: sourceLocation)
        for visit in route.visits {
            let stop = problem.stops[visit.stopIndex]
            seen[visit.stopIndex] += 1
            cost += problem.travel[node, visit.stopIndex + 1]
            let arrival = time + previousService + problem.travel[node, visit.stopIndex + 1]
            let start = max(arrival, stop.timeWindow?.earliest ?? arrival)
            #expect(visit.arrival == arrival, sourceLocation: sourceLocation)
            #expect(visit.serviceStart == start, sourceLocation: sourceLocation)
            if let window = stop.timeWindow { #expect(start <= window.latest, "late at \(stop.id)", sourceLocation: sourceLocation) }
            load += stop.demand
            for (d, amount) in stop.additionalDemand.enumerated() { additional[d] += amount }
            #expect(visit.cumulativeDemand == load, sourceLocation: sourceLocation)
            time = start
            previousService = stop.serviceTime
            node = visit.stopIndex + 1
        }
        cost += problem.travel[node, 0]
        let returnTime = time + previousService + problem.travel[node, 0]
        #expect(route.returnTime == returnTime, sourceLocation: sourceLocation)
        if let end = vehicle.shiftEnd { #expect(returnTime <= end, sourceLocation: sourceLocation) }
        #expect(load <= vehicle.capacity, sourceLocation: sourceLocation)
        #expect(route.load == load, sourceLocation: sourceLocation)
        #expect(route.additionalLoad == additional, sourceLocation: sourceLocation)
        for (d, limit) in vehicle.additionalCapacity.enumerated() {
            if let limit { #expect(additional[d] <= limit, "dimension \(d + 1) over the vehicle's limit", sourceLocation: sourceLocation) }
        }
        #expect(route.cost == cost, sourceLocation: sourceLocation)
        total += cost
    }
    for index in problem.vehicleTypes.indices {
        if let count = problem.vehicleTypes[index].count { #expect(routesPerType[index] <= count, sourceLocation: sourceLocation) }
    }
    for unassigned in plan.unassigned { seen[unassigned.stopIndex] += 1 }
    #expect(seen.allSatisfy { $0 == 1 }, "every stop routed or reported exactly once", sourceLocation: sourceLocation)
    #expect(plan.cost == total, sourceLocation: sourceLocation)
}

/// The routes of a plan as stop-index sequences, for comparing runs.
func sequences(_ plan: RoutePlan) -> [[Int]] {
    plan.routes.map { $0.visits.map(\.stopIndex) }
}
