extension RouteSearchEngine {
    /// SISR ruin (Christiaens & Vanden Berghe 2020): removes strings of consecutive customers from a few routes that
    /// lie close to a random seed customer. The number of strings and their lengths follow the paper:
    /// `l_max = min(L_max, mean route size)`, `k_max = 4·c̄ / (1 + l_max) − 1`, `k ∈ [1, k_max]`, `l ∈ [1, min(|route|, l_max)]`.
    /// Removed customers are appended to `removed`. Returns false when a shortened route breaks a time limit
    /// (possible only with a matrix that violates the triangle inequality); the caller then drops the iteration.
    mutating func ruin(_ solution: inout RouteSearchSolution, removed: inout [Int32]) -> Bool {
        let customerCount = nodeCount - 1
        var usedRoutes = 0
        for route in solution.routes where !route.stops.isEmpty { usedRoutes += 1 }
        guard usedRoutes > 0, customerCount > 0 else { return true }
        let meanRouteSize = Double(customerCount - solution.unassigned.count) / Double(usedRoutes)
        let maxStringLength = min(Double(options.maxStringLength), meanRouteSize)
        let maxStrings = 4 * options.meanRemoved / (1 + maxStringLength) - 1
        let stringCount = Int(1 + rng.unit() * maxStrings)
        let seed = 1 + rng.below(customerCount)
        while routeStamp.count < solution.routes.count { routeStamp.append(0) }
        stamp += 1
        var ruinedRoutes = 0
        var feasible = true
        let row = seed * neighbourStride
        for k in -1..<neighbourStride {
            guard ruinedRoutes < stringCount else { break }
            let c = k < 0 ? seed : Int(neighbours[row + k])
            let slot = Int(solution.routeOf[c])
            guard slot >= 0, routeStamp[slot] != stamp else { continue }
            routeStamp[slot] = stamp
            ruinedRoutes += 1
            let size = solution.routes[slot].stops.count
            let length = Int(1 + rng.unit() * min(Double(size), maxStringLength))
            guard let position = solution.routes[slot].stops.firstIndex(of: Int32(c)) else { continue }
            if length < size, rng.unit() < options.splitRate {
                removeSplitString(around: position, length: length, slot: slot, solution: &solution, removed: &removed)
            } else {
                removeString(around: position, length: length, keep: 0, slot: slot, solution: &solution, removed: &removed)
            }
            if !refresh(&solution.routes[slot]) { feasible = false }
            markDirty(slot)
        }
        solution.distance = 0
        for route in solution.routes { solution.distance += route.distance }
        return feasible
    }

    /// Removes a string of `length` customers containing position `position`, chosen uniformly among such strings.
    /// With `keep > 0` the string is `length + keep` long and a random inner block of `keep` customers stays.
    private mutating func removeString(
        around position: Int, length: Int, keep: Int, slot: Int, solution: inout RouteSearchSolution, removed: inout [Int32]
    ) {
        let size = solution.routes[slot].stops.count
        let span = min(length + keep, size)
        let lowest = max(0, position - span + 1)
        let highest = min(position, size - span)
        let start = lowest + rng.below(highest - lowest + 1)
        let keepStart = start + (keep > 0 ? rng.below(span - keep + 1) : 0)
        var write = start
        for read in start..<(start + span) {
            let stop = solution.routes[slot].stops[read]
            if keep > 0, read >= keepStart, read < keepStart + keep {
                solution.routes[slot].stops[write] = stop
                write += 1
            } else {
                removed.append(stop)
                solution.routeOf[Int(stop)] = -1
                solution.routes[slot].load &-= demand[Int(stop)]
            }
        }
        solution.routes[slot].stops.removeSubrange(write..<(start + span))
    }

    /// SISR split-string removal: picks a string longer than `length` by `m` customers (`m` grows while a
    /// uniform draw exceeds the split depth) and keeps `m` consecutive customers of it in the route.
    private mutating func removeSplitString(
        around position: Int, length: Int, slot: Int, solution: inout RouteSearchSolution, removed: inout [Int32]
    ) {
        let size = solution.routes[slot].stops.count
        var keep = 1
        while length + keep < size, rng.unit() > options.splitDepth { keep += 1 }
        removeString(around: position, length: length, keep: keep, slot: slot, solution: &solution, removed: &removed)
    }
}
