import Foundation

/// One vehicle slot of a search solution. An empty slot is an unused vehicle.
/// When time constraints are active, `serviceStarts[k]` is the earliest service start at `stops[k]`
/// and `latestStarts[k]` the latest start at `stops[k]` that still lets the rest of the route finish in time;
/// together they make an insertion's feasibility an O(1) check.
struct RouteSlot: Sendable {
    var stops: [Int32] = []
    var load = RouteLoad.zero
    var distance = 0
    var vehicleType: Int
    var serviceStarts: [Int] = []
    var latestStarts: [Int] = []

    init(vehicleType: Int) {
        self.vehicleType = vehicleType
    }

    /// Copies `other` into this slot, reusing this slot's buffers so that no memory is allocated once they are large enough.
    mutating func assign(from other: RouteSlot) {
        stops.removeAll(keepingCapacity: true)
        stops.append(contentsOf: other.stops)
        serviceStarts.removeAll(keepingCapacity: true)
        serviceStarts.append(contentsOf: other.serviceStarts)
        latestStarts.removeAll(keepingCapacity: true)
        latestStarts.append(contentsOf: other.latestStarts)
        load = other.load
        distance = other.distance
        vehicleType = other.vehicleType
    }
}

/// A complete assignment of customers (nodes `1...n`) to vehicle slots, or to the unassigned pool.
struct RouteSearchSolution: Sendable {
    var routes: [RouteSlot]
    /// Slot of each node, `-1` when unassigned; index 0 (the depot) is unused.
    var routeOf: [Int32]
    var unassigned: [Int32]
    /// Sum of route distances.
    var distance: Int

    /// The objective: travel cost plus a penalty per unserved customer.
    func cost(penalty: Int) -> Int {
        distance + unassigned.count * penalty
    }
}

/// What a route carries: lane 0 the stops' `demand`, lanes 1... their `additionalDemand`.
typealias RouteLoad = SIMD4<Int>

/// The solver's working data: the problem flattened into arrays indexed by node, neighbour lists,
/// the random generator and reusable scratch buffers, so that an iteration allocates (almost) nothing.
struct RouteSearchEngine: Sendable {
    let nodeCount: Int
    let matrix: [Int32]
    let demand: [RouteLoad]
    /// The largest share of the roomiest vehicle a stop's demand takes in any dimension, in millionths (the
    /// "largest demand first" insertion order).
    let demandSize: [Int]
    let serviceTime: [Int]
    let earliest: [Int]
    let latest: [Int]
    /// Per vehicle type; an unlimited lane holds ``unlimited``.
    let capacity: [RouteLoad]
    let shiftStart: [Int]
    let shiftEnd: [Int]
    /// Number of vehicles per type; `Int.max` for an unlimited type.
    let typeLimit: [Int]
    let timed: Bool
    /// Row `c` (stride `nodeCount - 2`) lists the other customers by increasing travel cost from `c`.
    let neighbours: [Int32]
    let neighbourStride: Int
    let unassignedPenalty: Int
    let options: RoutePlanner.Options
    /// `log(1 - blinkRate)`, the parameter of the geometric gap between blinks (0 when blinks are off).
    let logKeepProbability: Double
    /// Positions left until the next blink.
    var blinkCountdown = 0
    var rng: RoutePlannerRandom

    /// Slots changed in the current iteration, and a per-slot membership flag.
    var dirty: [Int] = []
    var isDirty: [Bool] = []
    /// Per-slot stamp used to collect the routes near a customer without clearing a set each time.
    var routeStamp: [Int] = []
    var stamp = 0
    /// Slots to try first when inserting the current customer.
    var candidateRoutes: [Int] = []
    /// First empty slot of each vehicle type, `-1` if there is none.
    var emptySlotOfType: [Int]
    /// Sort key of each node for the current insertion order (ties between equal keys broken at random).
    var insertionKeys: [Double] = []

    /// A horizon far enough to mean "no limit" while leaving room for additions without overflow.
    static let openEnd = Int(Int32.max) * 64
    /// The capacity of a lane a vehicle type does not limit: more than any sum of demands can reach.
    static let unlimited = Int(Int32.max) * 64

    init(problem: RoutingProblem, options: RoutePlanner.Options) {
        let n = problem.stops.count
        nodeCount = n + 1
        matrix = problem.travel.storage
        let lanes = { (first: Int, rest: [Int?], fill: Int) -> RouteLoad in
            var load = RouteLoad(repeating: fill)
            load[0] = first
            for (d, value) in rest.enumerated() { load[d + 1] = value ?? fill }
            return load
        }
        let demand = [RouteLoad.zero] + problem.stops.map { lanes($0.demand, $0.additionalDemand, 0) }
        let capacity = problem.vehicleTypes.map { lanes($0.capacity, $0.additionalCapacity, Self.unlimited) }
        let roomiest = (0..<4).map { d in Double(capacity.map { $0[d] }.max() ?? 1) }
        self.demand = demand
        demandSize = demand.map { load in Int(((0..<4).map { Double(load[$0]) / roomiest[$0] }.max() ?? 0) * 1_000_000) }
        self.capacity = capacity
        serviceTime = [0] + problem.stops.map(\.serviceTime)
        earliest = [0] + problem.stops.map { $0.timeWindow?.earliest ?? Int(Int32.min) * 64 }
        latest = [Self.openEnd] + problem.stops.map { $0.timeWindow?.latest ?? Self.openEnd }
        shiftStart = problem.vehicleTypes.map(\.shiftStart)
        shiftEnd = problem.vehicleTypes.map { $0.shiftEnd ?? Self.openEnd }
        typeLimit = problem.vehicleTypes.map { $0.count ?? Int.max }
        timed = problem.hasTimeConstraints
        emptySlotOfType = Array(repeating: -1, count: problem.vehicleTypes.count)
        self.options = options
        logKeepProbability = options.blinkRate > 0 ? log(1 - min(options.blinkRate, 0.999_999)) : 0
        rng = RoutePlannerRandom(seed: options.seed)

        let stride = max(n - 1, 0)
        neighbourStride = stride
        var lists = [Int32](repeating: 0, count: (n + 1) * stride)
        if n > 1 {
            var others = [Int32](repeating: 0, count: stride)
            for c in 1...n {
                var k = 0
                for other in 1...n where other != c {
                    others[k] = Int32(other)
                    k += 1
                }
                let row = c * (n + 1)
                let travel = problem.travel.storage
                others.sort { a, b in
                    let da = travel[row + Int(a)], db = travel[row + Int(b)]
                    return da != db ? da < db : a < b
                }
                for k in 0..<stride { lists[c * stride + k] = others[k] }
            }
        }
        neighbours = lists
        let maxTravel = Int(problem.travel.storage.max() ?? 0)
        unassignedPenalty = 100 * (2 * maxTravel + 1) + 1
        if logKeepProbability < 0 { blinkCountdown = Int(log(1 - rng.unit()) / logKeepProbability) }
    }

    @inline(__always) func travel(_ from: Int, _ to: Int) -> Int {
        Int(matrix[from &* nodeCount &+ to])
    }

    /// Distance of a stop sequence from the depot back to the depot.
    func routeDistance(_ stops: [Int32]) -> Int {
        var total = 0
        var previous = 0
        for stop in stops {
            total += travel(previous, Int(stop))
            previous = Int(stop)
        }
        return total + travel(previous, 0)
    }

    /// Recomputes a slot's distance and, when timed, its schedule; returns false if the schedule breaks a time limit.
    /// Only removals can break it, and only when the matrix violates the triangle inequality (rounded costs).
    func refresh(_ route: inout RouteSlot) -> Bool {
        route.distance = routeDistance(route.stops)
        guard timed else { return true }
        let type = route.vehicleType
        route.serviceStarts.removeAll(keepingCapacity: true)
        route.latestStarts.removeAll(keepingCapacity: true)
        var feasible = true
        var time = shiftStart[type]
        var previous = 0
        for stop in route.stops {
            let c = Int(stop)
            time = max(time + serviceTime[previous] + travel(previous, c), earliest[c])
            if time > latest[c] { feasible = false }
            route.serviceStarts.append(time)
            previous = c
        }
        if time + serviceTime[previous] + travel(previous, 0) > shiftEnd[type] { feasible = false }
        route.latestStarts.append(contentsOf: route.serviceStarts)
        var latestNext = shiftEnd[type]
        var next = 0
        for k in route.stops.indices.reversed() {
            let c = Int(route.stops[k])
            let start = min(latest[c], latestNext - travel(c, next) - serviceTime[c])
            route.latestStarts[k] = start
            latestNext = start
            next = c
        }
        return feasible
    }

    /// Whether a stop sequence alone is a feasible route for a vehicle type (capacity and schedule).
    func isFeasible(_ stops: [Int32], type: Int) -> Bool {
        var load = RouteLoad.zero
        var time = shiftStart[type]
        var previous = 0
        for stop in stops {
            let c = Int(stop)
            load &+= demand[c]
            time = max(time + serviceTime[previous] + travel(previous, c), earliest[c])
            if time > latest[c] { return false }
            previous = c
        }
        return fits(load, type) && time + serviceTime[previous] + travel(previous, 0) <= shiftEnd[type]
    }

    /// Whether a vehicle of `type` carries `load` in every dimension.
    @inline(__always) func fits(_ load: RouteLoad, _ type: Int) -> Bool {
        !any(load .> capacity[type])
    }

    /// The total demand of a stop sequence.
    func load(of stops: [Int32]) -> RouteLoad {
        stops.reduce(.zero) { $0 &+ demand[Int($1)] }
    }

    mutating func markDirty(_ slot: Int) {
        while isDirty.count <= slot { isDirty.append(false) }
        if !isDirty[slot] {
            isDirty[slot] = true
            dirty.append(slot)
        }
    }

    mutating func clearDirty() {
        for slot in dirty { isDirty[slot] = false }
        dirty.removeAll(keepingCapacity: true)
    }

    /// Makes `destination` equal to `source` by copying only the slots changed this iteration. Slots that only
    /// `source` has are appended; slots that only `destination` has are emptied.
    func copyChanges(from source: RouteSearchSolution, to destination: inout RouteSearchSolution) {
        while destination.routes.count < source.routes.count {
            destination.routes.append(RouteSlot(vehicleType: source.routes[destination.routes.count].vehicleType))
        }
        for slot in dirty where slot < destination.routes.count {
            if slot < source.routes.count {
                destination.routes[slot].assign(from: source.routes[slot])
            } else {
                destination.routes[slot].assign(from: RouteSlot(vehicleType: destination.routes[slot].vehicleType))
            }
            for stop in destination.routes[slot].stops { destination.routeOf[Int(stop)] = Int32(slot) }
        }
        destination.unassigned.removeAll(keepingCapacity: true)
        destination.unassigned.append(contentsOf: source.unassigned)
        for stop in source.unassigned { destination.routeOf[Int(stop)] = -1 }
        destination.distance = source.distance
    }

    /// The cheapest feasible position for customer `c` in `route`; returns `(Int.max, -1)` when none is feasible.
    /// With `blinks`, each position of a non-empty route is skipped with probability ``RoutePlanner/Options/blinkRate``
    /// (SISR's blinks). Instead of one random draw per position, the gap to the next skipped position is drawn from
    /// the matching geometric distribution, which is the same process at a fraction of the draws.
    mutating func cheapestPosition(of c: Int, in route: borrowing RouteSlot, blinks: Bool) -> (delta: Int, position: Int) {
        let type = route.vehicleType
        guard fits(route.load &+ demand[c], type) else { return (Int.max, -1) }
        let count = route.stops.count
        let size = nodeCount
        let blinking = blinks && count > 0 && logKeepProbability < 0
        var countdown = blinkCountdown
        var random = rng
        var bestDelta = Int.max
        var bestPosition = -1
        let matrix = self.matrix
        matrix.withUnsafeBufferPointer { m in
            route.stops.withUnsafeBufferPointer { stops in
                let fromC = c &* size
                var previous = 0
                for position in 0...count {
                    let next = position < count ? Int(stops[position]) : 0
                    defer { previous = next }
                    if blinking {
                        countdown -= 1
                        if countdown < 0 {
                            countdown = Int(log(1 - random.unit()) / logKeepProbability)
                            continue
                        }
                    }
                    let fromPrevious = previous &* size
                    let delta = Int(m[fromPrevious &+ c]) &+ Int(m[fromC &+ next]) &- Int(m[fromPrevious &+ next])
                    guard delta < bestDelta else { continue }
                    if timed, !fitsSchedule(c, between: previous, and: next, at: position, in: route) { continue }
                    bestDelta = delta
                    bestPosition = position
                }
            }
        }
        blinkCountdown = countdown
        rng = random
        return (bestDelta, bestPosition)
    }

    /// Whether `c` can be served between `previous` and `next` (position `position` of `route`) without any stop
    /// on the route starting service late or the vehicle returning after its shift.
    @inline(__always) private func fitsSchedule(_ c: Int, between previous: Int, and next: Int, at position: Int, in route: borrowing RouteSlot) -> Bool {
        let type = route.vehicleType
        let departure = position == 0 ? shiftStart[type] : route.serviceStarts[position - 1] + serviceTime[previous]
        let start = max(departure + travel(previous, c), earliest[c])
        guard start <= latest[c] else { return false }
        let arrivalNext = start + serviceTime[c] + travel(c, next)
        if position < route.stops.count {
            return max(arrivalNext, earliest[next]) <= route.latestStarts[position]
        }
        return arrivalNext <= shiftEnd[type]
    }

    /// Inserts `c` into slot `slot` at `position` and keeps the slot, solution totals and bookkeeping consistent.
    /// Opens a fresh empty slot when the last empty slot of an unlimited vehicle type is used.
    mutating func insert(_ c: Int, into slot: Int, at position: Int, delta: Int, solution: inout RouteSearchSolution) {
        let wasEmpty = solution.routes[slot].stops.isEmpty
        solution.routes[slot].stops.insert(Int32(c), at: position)
        solution.routes[slot].load &+= demand[c]
        solution.routes[slot].distance += delta
        if timed { _ = refresh(&solution.routes[slot]) }
        solution.routeOf[c] = Int32(slot)
        solution.distance += delta
        markDirty(slot)
        let type = solution.routes[slot].vehicleType
        if wasEmpty, typeLimit[type] == Int.max,
           !solution.routes.contains(where: { $0.vehicleType == type && $0.stops.isEmpty }) {
            solution.routes.append(RouteSlot(vehicleType: type))
            markDirty(solution.routes.count - 1)
        }
    }

    /// Greedy insertion with blinks (SISR recreate): customers are inserted one by one, in an order drawn from
    /// random / largest demand / farthest from depot / closest to depot (weights 4/4/2/1), each at its cheapest
    /// feasible position. Routes holding one of the customer's nearest neighbours are tried first, plus one empty
    /// slot per vehicle type; all routes are tried only when none of those has room. Customers that fit nowhere
    /// go to the unassigned pool.
    mutating func recreate(_ customers: inout [Int32], solution: inout RouteSearchSolution, blinks: Bool) {
        orderForInsertion(&customers)
        let nearCount = min(options.insertionNeighbours, neighbourStride)
        while routeStamp.count < solution.routes.count + customers.count + 1 { routeStamp.append(0) }
        findEmptySlots(in: solution)
        for stop in customers {
            let c = Int(stop)
            stamp += 1
            candidateRoutes.removeAll(keepingCapacity: true)
            let row = c * neighbourStride
            for k in 0..<nearCount {
                let slot = Int(solution.routeOf[Int(neighbours[row + k])])
                if slot >= 0, routeStamp[slot] != stamp {
                    routeStamp[slot] = stamp
                    candidateRoutes.append(slot)
                }
            }
            for slot in emptySlotOfType where slot >= 0 {
                candidateRoutes.append(slot)
                routeStamp[slot] = stamp
            }
            var bestDelta = Int.max
            var bestSlot = -1
            var bestPosition = -1
            let nearRoutes = candidateRoutes
            solution.routes.withUnsafeBufferPointer { routes in
                for slot in nearRoutes {
                    let found = cheapestPosition(of: c, in: routes[slot], blinks: blinks)
                    if found.delta < bestDelta {
                        (bestDelta, bestSlot, bestPosition) = (found.delta, slot, found.position)
                    }
                }
                if bestSlot < 0 {
                    for slot in routes.indices where routeStamp[slot] != stamp && !routes[slot].stops.isEmpty {
                        let found = cheapestPosition(of: c, in: routes[slot], blinks: false)
                        if found.delta < bestDelta {
                            (bestDelta, bestSlot, bestPosition) = (found.delta, slot, found.position)
                        }
                    }
                }
            }
            if bestSlot >= 0 {
                let opensRoute = solution.routes[bestSlot].stops.isEmpty
                insert(c, into: bestSlot, at: bestPosition, delta: bestDelta, solution: &solution)
                while routeStamp.count < solution.routes.count { routeStamp.append(0) }
                if opensRoute { findEmptySlots(in: solution) }
            } else {
                solution.unassigned.append(stop)
            }
        }
    }

    /// Records the first empty slot of each vehicle type (`-1` if none): the only empty slots worth trying,
    /// since empty slots of one type are interchangeable.
    mutating func findEmptySlots(in solution: RouteSearchSolution) {
        for type in emptySlotOfType.indices { emptySlotOfType[type] = -1 }
        solution.routes.withUnsafeBufferPointer { routes in
            for slot in routes.indices where routes[slot].stops.isEmpty && emptySlotOfType[routes[slot].vehicleType] < 0 {
                emptySlotOfType[routes[slot].vehicleType] = slot
            }
        }
    }

    /// Sorts customers into one of SISR's four insertion orders, chosen at random with weights 4/4/2/1.
    mutating func orderForInsertion(_ customers: inout [Int32]) {
        let draw = rng.below(11)
        if draw < 4 {
            for i in stride(from: customers.count - 1, to: 0, by: -1) {
                customers.swapAt(i, rng.below(i + 1))
            }
            return
        }
        while insertionKeys.count < nodeCount { insertionKeys.append(0) }
        for stop in customers {
            let c = Int(stop)
            let key: Int = switch draw {
            case 4..<8: -demandSize[c]
            case 8..<10: -travel(0, c)
            default: travel(0, c)
            }
            insertionKeys[c] = Double(key) + rng.unit() * 0.5
        }
        let keys = insertionKeys
        customers.sort { keys[Int($0)] < keys[Int($1)] }
    }
}
