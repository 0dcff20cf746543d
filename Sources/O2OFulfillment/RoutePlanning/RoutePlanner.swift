import Foundation

/// Plans vehicle routes for a ``RoutingProblem``.
///
/// The search starts from Clarke–Wright savings and improves it with SISR ruin-and-recreate
/// (Christiaens & Vanden Berghe 2020, "Slack Induction by String Removals"): each iteration removes strings of
/// neighbouring customers and reinserts them greedily with blinks; simulated annealing accepts or rejects the result
/// with a temperature that falls geometrically over the run. New best solutions are polished by a local search
/// (relocate, swap, intra-route 2-opt and inter-route 2-opt* over nearest-neighbour lists).
/// Capacity, time windows (waiting allowed, lateness forbidden) and shift ends are hard constraints; stops that no
/// vehicle can take stay unassigned with a reason. A run is deterministic for a given seed as long as it is stopped
/// by ``Options/iterationLimit`` rather than by the time limit.
public struct RoutePlanner: Sendable {
    /// Search settings. The ruin and recreate defaults (`c̄ = 10`, `L_max = 10`, split rate 0.5, split depth 0.01,
    /// blink rate 0.01) follow the SISR paper; the temperatures are tuned for runs of seconds on CVRPLIB X.
    public struct Options: Sendable, Hashable {
        /// Wall-clock budget in seconds.
        public var timeLimit: Double
        /// Stop after this many iterations; when set, the temperature schedule follows iterations instead of time.
        public var iterationLimit: Int?
        public var seed: UInt64
        /// SISR `c̄`: mean number of customers removed per iteration.
        public var meanRemoved: Double
        /// SISR `L_max`: longest string removed from one route.
        public var maxStringLength: Int
        /// Probability of a split-string removal instead of a plain string.
        public var splitRate: Double
        /// SISR `β`: each extra kept customer in a split string is added while a uniform draw exceeds this.
        public var splitDepth: Double
        /// Probability of skipping a position while scanning for the best insertion.
        public var blinkRate: Double
        /// Start and end temperatures as fractions of the initial solution's mean arc cost, so that the schedule
        /// does not depend on the unit of the travel matrix (metres, seconds or CVRPLIB distance).
        public var startTemperature: Double
        public var endTemperature: Double
        /// How many nearest neighbours of a customer decide which routes are tried first on insertion,
        /// and which moves the local search considers.
        public var insertionNeighbours: Int

        public init(
            timeLimit: Double = 10, iterationLimit: Int? = nil, seed: UInt64 = 1,
            meanRemoved: Double = 10, maxStringLength: Int = 10, splitRate: Double = 0.5, splitDepth: Double = 0.01,
            blinkRate: Double = 0.01, startTemperature: Double = 0.8, endTemperature: Double = 0.01,
            insertionNeighbours: Int = 30
        ) {
            self.timeLimit = timeLimit
            self.iterationLimit = iterationLimit
            self.seed = seed
            self.meanRemoved = meanRemoved
            self.maxStringLength = maxStringLength
            self.splitRate = splitRate
            self.splitDepth = splitDepth
            self.blinkRate = blinkRate
            self.startTemperature = startTemperature
            self.endTemperature = endTemperature
            self.insertionNeighbours = insertionNeighbours
        }
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Solves `problem` and returns the best plan found within the limits.
    public func solve(_ problem: RoutingProblem) -> RoutePlan {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started.advanced(by: .milliseconds(Int64((options.timeLimit * 1000).rounded())))
        var engine = RouteSearchEngine(problem: problem, options: options)
        var current = engine.initialSolution()
        engine.improve(&current)
        engine.clearDirty()
        var best = current
        var iterations = 0
        if problem.stops.count > 1 {
            iterations = engine.anneal(current: &current, best: &best, clock: clock, started: started, deadline: deadline)
        }
        let elapsed = started.duration(to: clock.now)
        return engine.plan(from: best, problem: problem, iterations: iterations,
                           elapsedSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }
}

extension RouteSearchEngine {
    /// The simulated-annealing loop over SISR ruin-and-recreate; returns the number of iterations run.
    mutating func anneal(
        current: inout RouteSearchSolution, best: inout RouteSearchSolution,
        clock: ContinuousClock, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant
    ) -> Int {
        let arcs = max(1, nodeCount - 1 + current.routes.count(where: { !$0.stops.isEmpty }))
        let meanArc = max(1, Double(current.distance) / Double(arcs))
        let startTemperature = options.startTemperature * meanArc
        let endTemperature = min(options.endTemperature * meanArc, startTemperature)
        let totalSeconds = max(options.timeLimit, 1e-3)
        var candidate = current
        var currentCost = current.cost(penalty: unassignedPenalty)
        var bestCost = currentCost
        var removed: [Int32] = []
        var iteration = 0
        while true {
            if let limit = options.iterationLimit, iteration >= limit { break }
            let now = clock.now
            if now >= deadline { break }
            let progress: Double
            if let limit = options.iterationLimit {
                progress = Double(iteration) / Double(max(limit, 1))
            } else {
                let elapsed = started.duration(to: now)
                progress = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) / totalSeconds
            }
            let temperature = startTemperature * pow(endTemperature / startTemperature, min(progress, 1))
            iteration += 1

            removed.removeAll(keepingCapacity: true)
            removed.append(contentsOf: candidate.unassigned)
            candidate.unassigned.removeAll(keepingCapacity: true)
            let intact = ruin(&candidate, removed: &removed)
            if intact { recreate(&removed, solution: &candidate, blinks: true) }
            let candidateCost = candidate.cost(penalty: unassignedPenalty)
            if intact, Double(candidateCost) < Double(currentCost) - temperature * log(rng.unit() + 1e-300) {
                if candidateCost < bestCost {
                    improve(&candidate)
                    bestCost = candidate.cost(penalty: unassignedPenalty)
                    best = candidate
                }
                copyChanges(from: candidate, to: &current)
                currentCost = candidate.cost(penalty: unassignedPenalty)
            } else {
                copyChanges(from: current, to: &candidate)
            }
            clearDirty()
        }
        return iteration
    }

    /// Turns a search solution into the public plan with ETAs, loads and reasons for unassigned stops.
    func plan(from solution: RouteSearchSolution, problem: RoutingProblem, iterations: Int, elapsedSeconds: Double) -> RoutePlan {
        var routes: [RoutePlan.Route] = []
        let dimensions = max(problem.stops.map(\.additionalDemand.count).max() ?? 0, problem.vehicleTypes.map(\.additionalCapacity.count).max() ?? 0)
        for route in solution.routes where !route.stops.isEmpty {
            let type = route.vehicleType
            var visits: [RoutePlan.Visit] = []
            var time = shiftStart[type]
            var previous = 0
            var delivered = 0
            for stop in route.stops {
                let c = Int(stop)
                let arrival = time + serviceTime[previous] + travel(previous, c)
                let start = timed ? max(arrival, earliest[c]) : arrival
                delivered += demand[c][0]
                visits.append(RoutePlan.Visit(stopIndex: c - 1, stopID: problem.stops[c - 1].id, arrival: arrival,
                                              serviceStart: start, departure: start + serviceTime[c], cumulativeDemand: delivered))
                time = start
                previous = c
            }
            routes.append(RoutePlan.Route(
                vehicleTypeIndex: type, vehicleTypeID: problem.vehicleTypes[type].id, departure: shiftStart[type],
                returnTime: time + serviceTime[previous] + travel(previous, 0), load: route.load[0],
                additionalLoad: (0..<dimensions).map { route.load[$0 + 1] },
                cost: routeDistance(route.stops), visits: visits))
        }
        let unassigned = solution.unassigned.sorted().map { stop in
            let c = Int(stop)
            let servable = capacity.indices.contains { isFeasible([stop], type: $0) }
            return RoutePlan.UnassignedStop(stopIndex: c - 1, stopID: problem.stops[c - 1].id,
                                            reason: servable ? .fleetExhausted : .unreachableInTime)
        }
        return RoutePlan(routes: routes, unassigned: unassigned, cost: routes.reduce(0) { $0 + $1.cost },
                         iterations: iterations, elapsedSeconds: elapsedSeconds)
    }
}
