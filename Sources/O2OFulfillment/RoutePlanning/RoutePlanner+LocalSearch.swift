extension RouteSearchEngine {
    /// First-improvement local search on a granular neighbourhood: for each customer `u` and each of its nearest
    /// neighbours `v` it tries relocating `u` next to `v`, swapping `u` and `v`, 2-opt inside a route and 2-opt*
    /// between routes (each making `u` and `v` adjacent). A move is screened by its O(1) distance change and applied
    /// only if the rebuilt routes really are shorter and feasible, so asymmetric matrices and time windows stay safe.
    /// Runs until a full pass finds nothing.
    mutating func improve(_ solution: inout RouteSearchSolution) {
        let customerCount = nodeCount - 1
        guard customerCount > 1 else { return }
        var position = [Int](repeating: 0, count: nodeCount)
        for route in solution.routes {
            for (index, stop) in route.stops.enumerated() { position[Int(stop)] = index }
        }
        let nearCount = min(options.insertionNeighbours, neighbourStride)
        var order = (1...customerCount).map { $0 }
        var improved = true
        while improved {
            improved = false
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
            for u in order where solution.routeOf[u] >= 0 {
                for k in 0..<nearCount {
                    let v = Int(neighbours[u * neighbourStride + k])
                    guard solution.routeOf[v] >= 0, solution.routeOf[u] >= 0 else { continue }
                    if tryMoves(u, v, solution: &solution, position: &position) {
                        improved = true
                    }
                }
            }
        }
    }

    /// Tries the moves that make `u` and `v` adjacent; applies the first improving one.
    private mutating func tryMoves(_ u: Int, _ v: Int, solution: inout RouteSearchSolution, position: inout [Int]) -> Bool {
        let ru = Int(solution.routeOf[u]), rv = Int(solution.routeOf[v])
        let pu = position[u], pv = position[v]
        let routeU = solution.routes[ru].stops, routeV = solution.routes[rv].stops
        let prevU = pu > 0 ? Int(routeU[pu - 1]) : 0
        let nextU = pu + 1 < routeU.count ? Int(routeU[pu + 1]) : 0
        let prevV = pv > 0 ? Int(routeV[pv - 1]) : 0
        let nextV = pv + 1 < routeV.count ? Int(routeV[pv + 1]) : 0
        let removalGain = travel(prevU, u) + travel(u, nextU) - travel(prevU, nextU)

        // Relocate u right after v.
        if v != prevU, travel(v, u) + travel(u, nextV) - travel(v, nextV) < removalGain {
            if apply(solution: &solution, position: &position, ru: ru, rv: rv, build: { a, b in
                Self.relocate(u: pu, after: pv, from: routeU, to: routeV, same: ru == rv, a: &a, b: &b)
            }) { return true }
        }
        // Relocate u right before v.
        if v != nextU, travel(prevV, u) + travel(u, v) - travel(prevV, v) < removalGain {
            if apply(solution: &solution, position: &position, ru: ru, rv: rv, build: { a, b in
                Self.relocate(u: pu, after: pv - 1, from: routeU, to: routeV, same: ru == rv, a: &a, b: &b)
            }) { return true }
        }
        if ru != rv {
            // Swap u and v.
            let before = travel(prevU, u) + travel(u, nextU) + travel(prevV, v) + travel(v, nextV)
            let after = travel(prevU, v) + travel(v, nextU) + travel(prevV, u) + travel(u, nextV)
            if after < before {
                if apply(solution: &solution, position: &position, ru: ru, rv: rv, build: { a, b in
                    a.append(contentsOf: routeU); a[pu] = Int32(v)
                    b.append(contentsOf: routeV); b[pv] = Int32(u)
                }) { return true }
            }
            // 2-opt*: route U up to u then route V from v on; route V up to v's predecessor then route U after u.
            if travel(u, v) + travel(prevV, nextU) < travel(u, nextU) + travel(prevV, v) {
                if apply(solution: &solution, position: &position, ru: ru, rv: rv, build: { a, b in
                    a.append(contentsOf: routeU[...pu]); a.append(contentsOf: routeV[pv...])
                    b.append(contentsOf: routeV[..<pv]); b.append(contentsOf: routeU[(pu + 1)...])
                }) { return true }
            }
        } else if pu < pv, travel(u, v) + travel(nextU, nextV) < travel(u, nextU) + travel(v, nextV) {
            // 2-opt: reverse the segment from u's successor to v.
            if apply(solution: &solution, position: &position, ru: ru, rv: rv, build: { a, _ in
                a.append(contentsOf: routeU[...pu])
                a.append(contentsOf: routeU[(pu + 1)...pv].reversed())
                a.append(contentsOf: routeU[(pv + 1)...])
            }) { return true }
        }
        return false
    }

    /// Builds the relocation of the customer at `u` to just after index `after` of the target route (`-1` = first).
    private static func relocate(u: Int, after: Int, from routeU: [Int32], to routeV: [Int32], same: Bool, a: inout [Int32], b: inout [Int32]) {
        let moved = routeU[u]
        if same {
            a.append(contentsOf: routeU)
            a.remove(at: u)
            a.insert(moved, at: after < u ? after + 1 : after)
        } else {
            for (index, stop) in routeU.enumerated() where index != u { a.append(stop) }
            b.append(contentsOf: routeV[..<(after + 1)])
            b.append(moved)
            b.append(contentsOf: routeV[(after + 1)...])
        }
    }

    /// Builds new sequences for slots `ru` (into `a`) and `rv` (into `b`, unused when `ru == rv`) and installs them
    /// if they are feasible and strictly shorter in total.
    private mutating func apply(
        solution: inout RouteSearchSolution, position: inout [Int], ru: Int, rv: Int,
        build: (inout [Int32], inout [Int32]) -> Void
    ) -> Bool {
        var a: [Int32] = [], b: [Int32] = []
        build(&a, &b)
        let typeU = solution.routes[ru].vehicleType, typeV = solution.routes[rv].vehicleType
        let oldDistance = solution.routes[ru].distance + (ru == rv ? 0 : solution.routes[rv].distance)
        let newDistance = routeDistance(a) + (ru == rv ? 0 : routeDistance(b))
        guard newDistance < oldDistance, a.isEmpty || isFeasible(a, type: typeU),
              ru == rv || b.isEmpty || isFeasible(b, type: typeV) else { return false }
        install(a, slot: ru, solution: &solution, position: &position)
        if ru != rv { install(b, slot: rv, solution: &solution, position: &position) }
        solution.distance += newDistance - oldDistance
        return true
    }

    private mutating func install(_ stops: [Int32], slot: Int, solution: inout RouteSearchSolution, position: inout [Int]) {
        solution.routes[slot].stops = stops
        solution.routes[slot].load = load(of: stops)
        _ = refresh(&solution.routes[slot])
        for (index, stop) in stops.enumerated() {
            position[Int(stop)] = index
            solution.routeOf[Int(stop)] = Int32(slot)
        }
        markDirty(slot)
    }
}
