extension RouteSearchEngine {
    /// The starting solution. With one vehicle type: Clarke–Wright parallel savings, merging the route ending at `i`
    /// with the route starting at `j` in decreasing order of `d(i,0) + d(0,j) − d(i,j)` while capacity and schedule
    /// allow; if the fleet is smaller than the number of routes, the routes with the least demand are dissolved.
    /// With several vehicle types the solution starts empty. Either way every customer not yet routed then goes
    /// through greedy insertion without blinks.
    mutating func initialSolution() -> RouteSearchSolution {
        let customerCount = nodeCount - 1
        var solution = RouteSearchSolution(routes: [], routeOf: Array(repeating: -1, count: nodeCount), unassigned: [], distance: 0)
        var pending: [Int32] = []
        var savingsRoutes: [[Int32]] = []
        if capacity.count == 1 {
            savingsRoutes = savings()
            savingsRoutes.sort { load(of: $0)[0] > load(of: $1)[0] }
            if typeLimit[0] < savingsRoutes.count {
                savingsRoutes.removeSubrange(typeLimit[0]...)
            }
            var routed = [Bool](repeating: false, count: nodeCount)
            for route in savingsRoutes { for stop in route { routed[Int(stop)] = true } }
            pending = (0..<customerCount).map { Int32($0 + 1) }.filter { !routed[Int($0)] }
        } else {
            pending = (0..<customerCount).map { Int32($0 + 1) }
        }
        for type in capacity.indices {
            let slots = typeLimit[type] == Int.max ? (type == 0 ? savingsRoutes.count : 0) + 1 : typeLimit[type]
            for _ in 0..<slots { solution.routes.append(RouteSlot(vehicleType: type)) }
        }
        for (slot, stops) in savingsRoutes.enumerated() {
            solution.routes[slot].stops = stops
            solution.routes[slot].load = load(of: stops)
            _ = refresh(&solution.routes[slot])
            solution.distance += solution.routes[slot].distance
            for stop in stops { solution.routeOf[Int(stop)] = Int32(slot) }
        }
        recreate(&pending, solution: &solution, blinks: false)
        clearDirty()
        return solution
    }

    /// Clarke–Wright parallel savings for vehicle type 0. Customers that cannot be served even alone are left out.
    private func savings() -> [[Int32]] {
        let customerCount = nodeCount - 1
        var routes: [[Int32]] = Array(repeating: [], count: nodeCount)
        var routeID = [Int](repeating: -1, count: nodeCount)
        var loads = [RouteLoad](repeating: .zero, count: nodeCount)
        for c in stride(from: 1, through: customerCount, by: 1) where isFeasible([Int32(c)], type: 0) {
            routes[c] = [Int32(c)]
            routeID[c] = c
            loads[c] = demand[c]
        }
        var pairs: [(saving: Int, from: Int32, to: Int32)] = []
        pairs.reserveCapacity(customerCount * customerCount / 2)
        for i in stride(from: 1, through: customerCount, by: 1) where routeID[i] >= 0 {
            for j in stride(from: 1, through: customerCount, by: 1) where j != i && routeID[j] >= 0 {
                let saving = travel(i, 0) + travel(0, j) - travel(i, j)
                if saving > 0 { pairs.append((saving, Int32(i), Int32(j))) }
            }
        }
        pairs.sort { $0.saving != $1.saving ? $0.saving > $1.saving : ($0.from, $0.to) < ($1.from, $1.to) }
        for pair in pairs {
            let i = Int(pair.from), j = Int(pair.to)
            let first = routeID[i], second = routeID[j]
            guard first != second, routes[first].last == pair.from, routes[second].first == pair.to,
                  fits(loads[first] &+ loads[second], 0) else { continue }
            let merged = routes[first] + routes[second]
            if timed, !isFeasible(merged, type: 0) { continue }
            routes[first] = merged
            loads[first] &+= loads[second]
            for stop in routes[second] { routeID[Int(stop)] = first }
            routes[second] = []
        }
        return routes.filter { !$0.isEmpty }
    }
}
