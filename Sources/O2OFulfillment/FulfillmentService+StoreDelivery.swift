import Foundation
import O2OCore
import O2ONetwork
import O2OOrders
import SQLKit

extension FulfillmentService {
    public struct NewDeliveryPlan: Sendable {
        public var store: String
        public var vehicles: [DeliveryVehicle]
        /// When the vehicles leave; now when left out.
        public var departAt: Date?
        /// Average speed over the city's streets, door to door.
        public var speedKmh: Double
        /// Minutes at each stop to hand over.
        public var serviceMinutes: Double
        /// How long the planner searches.
        public var timeLimitSeconds: Double
        public var windows: [DeliveryWindow]

        public init(store: String, vehicles: [DeliveryVehicle], departAt: Date? = nil, speedKmh: Double = 20, serviceMinutes: Double = 3,
                    timeLimitSeconds: Double = 2, windows: [DeliveryWindow] = []) {
            self.store = store
            self.vehicles = vehicles
            self.departAt = departAt
            self.speedKmh = speedKmh
            self.serviceMinutes = serviceMinutes
            self.timeLimitSeconds = timeLimitSeconds
            self.windows = windows
        }
    }

    public static let maxVehicles = 50
    public static let maxPlanSeconds = 30.0
    /// Streets are not straight: travel is the great-circle distance times this.
    static let detourFactor = 1.3

    /// Plans the store's deliveries now: its store-delivery orders released to it (or being
    /// picked) and not out on a route yet become routes for its vehicles, each stop with its
    /// ETA, the units a vehicle carries within its capacity, each customer's window and each
    /// vehicle's shift kept. The plan replaces the store's routes that have not left yet. Orders
    /// no route can take are listed with the reason.
    ///
    /// A vehicle with a weight or volume limit carries no more than that: an order weighs what its
    /// SKUs weigh in the catalog (a SKU without a weight counts as nothing, and the plan lists the
    /// orders that have one).
    ///
    /// Bad input is 422 naming the field, with nothing written: no vehicles, a capacity or count
    /// out of range, a shift that ends before departure, a window for an order the store is not
    /// delivering, or an order that fits no vehicle (by units, weight or volume). A location that
    /// is not a delivering store is 422; one outside the caller's reach is 403.
    public func planDeliveries(_ new: NewDeliveryPlan, caller: Caller) async throws -> DeliveryPlan {
        let now = clock.instant()
        let departAt = new.departAt ?? now
        var v = Validator()
        v.text(new.store, "storeId", max: 100)
        if new.vehicles.isEmpty { v.add("vehicles", "must name at least one vehicle") }
        if new.vehicles.count > Self.maxVehicles { v.add("vehicles", "must name at most \(Self.maxVehicles) vehicles") }
        for (i, x) in new.vehicles.enumerated() {
            v.text(x.id, "vehicles[\(i)].id", max: 100)
            if new.vehicles[..<i].contains(where: { $0.id == x.id }) { v.add("vehicles[\(i)].id", "another vehicle is called '\(x.id)'") }
            v.range(x.capacity, "vehicles[\(i)].capacity", 1...100_000)
            if let w = x.maxWeightGrams { v.range(w, "vehicles[\(i)].maxWeightGrams", 1...100_000_000) }
            if let c = x.maxVolumeCm3 { v.range(c, "vehicles[\(i)].maxVolumeCm3", 1...1_000_000_000) }
            v.range(x.count, "vehicles[\(i)].count", 1...100)
            if let end = x.shiftEnd, end <= departAt { v.add("vehicles[\(i)].shiftEnd", "must be after the departure") }
        }
        v.range(new.speedKmh, "speedKmh", 1...120)
        v.range(new.serviceMinutes, "serviceMinutes", 0...120)
        v.range(new.timeLimitSeconds, "timeLimitSeconds", 0.1...Self.maxPlanSeconds)
        for (i, w) in new.windows.enumerated() where w.latest < w.earliest { v.add("windows[\(i)].latest", "must not be before earliest") }
        try v.finish()
        let store = try await deliveringStore(new.store, scope: caller.principal.scope)
        let eligible = try await deliverable(at: store)
        var ov = Validator()
        for (i, w) in new.windows.enumerated() where !eligible.contains(where: { $0.order.id == w.orderId }) {
            ov.add("windows[\(i)].orderId", "\(store.code) has no delivery order '\(w.orderId)' waiting to go out")
        }
        for e in eligible where !new.vehicles.contains(where: { e.fits(in: $0) }) {
            ov.add("vehicles", "order \(e.order.id) is \(e.units) unit(s), \(e.weightGrams) g and \(e.volumeCm3) cm³; no vehicle carries it")
        }
        try ov.finish()
        let limitsWeight = new.vehicles.contains { $0.maxWeightGrams != nil }, limitsVolume = new.vehicles.contains { $0.maxVolumeCm3 != nil }
        let windows = Dictionary(new.windows.map { ($0.orderId, $0) }, uniquingKeysWith: { $1 })
        let seconds = { (d: Date) in Int(d.timeIntervalSince(departAt).rounded()) }
        let service = Int((new.serviceMinutes * 60).rounded())
        let problem = try RoutingProblem.geographic(
            depot: .init(id: store.id, location: .geographic(latitude: store.coordinates.lat, longitude: store.coordinates.lng)),
            stops: eligible.map { e in
                RoutingProblem.Stop(id: e.order.id, location: .geographic(latitude: e.lat, longitude: e.lng), demand: e.units,
                                    additionalDemand: [e.weightGrams, e.volumeCm3], serviceTime: service,
                                    timeWindow: windows[e.order.id].map { .init(earliest: max(0, seconds($0.earliest)), latest: max(0, seconds($0.latest))) })
            },
            vehicleTypes: new.vehicles.map {
                .init(id: $0.id, capacity: $0.capacity, additionalCapacity: [$0.maxWeightGrams, $0.maxVolumeCm3], shiftStart: 0,
                      shiftEnd: $0.shiftEnd.map(seconds), count: $0.count)
            },
            speedMetersPerSecond: new.speedKmh / 3.6, detourFactor: Self.detourFactor)
        let solved = await Self.solve(problem, timeLimit: new.timeLimitSeconds)
        let planId = O2OID.make("dpl", at: now)
        let at = { (s: Int) in departAt.addingTimeInterval(Double(s)) }
        let routes = solved.routes.map { r in
            DeliveryRoute(id: O2OID.make("drt", at: now), storeId: store.id, planId: planId, vehicleId: r.vehicleTypeID, status: .planned,
                          departAt: at(r.departure), returnAt: at(r.returnTime), travelSeconds: r.cost, load: r.load,
                          weightGrams: r.additionalLoad[0], volumeCm3: r.additionalLoad[1],
                          stops: r.visits.enumerated().map { i, visit in
                              let e = eligible[visit.stopIndex]
                              return DeliveryStop(seq: i + 1, orderId: e.order.id, lat: e.lat, lng: e.lng, units: e.units, weightGrams: e.weightGrams,
                                                  volumeCm3: e.volumeCm3, eta: at(visit.arrival),
                                                  serviceStart: at(visit.serviceStart), window: windows[e.order.id], status: .pending, note: nil, at: nil)
                          }, createdAt: now, updatedAt: now)
        }
        let plan = DeliveryPlan(id: planId, storeId: store.id, routes: routes, unassigned: solved.unassigned.map { u in
            let reason = switch u.reason {
            case .unreachableInTime: "no vehicle reaches it within its window and is back by the end of its shift"
            case .fleetExhausted: "every vehicle is full or out of time"
            }
            return UnassignedDelivery(orderId: u.stopID, reason: reason)
        }, unmeasuredOrderIds: eligible.filter { limitsWeight && $0.unweighed || limitsVolume && $0.unsized }.map(\.order.id),
        travelSeconds: solved.cost, solverSeconds: solved.elapsedSeconds, iterations: solved.iterations)
        try await db.write { tx in
            let stale = try await tx.sql.raw("SELECT id FROM delivery_routes WHERE store_id = \(bind: store.id) AND status = 'planned'").all()
                .map { try $0.decode(column: "id", as: String.self) }
            for chunk in stale.chunked(500) {
                try await tx.sql.raw("DELETE FROM delivery_stops WHERE route_id IN \(SQLQueryString.list(Array(chunk)))").run()
                try await tx.sql.raw("DELETE FROM delivery_routes WHERE id IN \(SQLQueryString.list(Array(chunk)))").run()
            }
            for r in routes { try await Self.insert(r, tx) }
            try await self.recorder.record(tx, caller: caller, action: "plan_deliveries", entityType: "delivery_plan", entityId: planId,
                                           before: DeliveryPlan?.none, after: plan, organisationId: store.organisationId, locationId: store.id,
                                           event: "delivery.routes_planned")
        }
        return plan
    }

    /// Sends a planned route out: each of its orders is shipped (picked first when only
    /// released), in one transaction with the route. 409 unless the route is planned.
    public func dispatch(_ routeId: String, caller: Caller) async throws -> DeliveryRoute {
        try await db.write { tx in
            var r = try await self.lockedRoute(routeId, caller: caller, tx)
            let before = r
            guard r.status == .planned else { throw Problem.conflict("Route \(r.id) is \(r.status.rawValue); only a planned route is dispatched.") }
            for s in r.stops {
                let o = try await self.orders.order(s.orderId, scope: .all)
                if o.status == .released { _ = try await self.orders.advance(o.id, to: .picking, caller: caller) }
                _ = try await self.orders.advance(o.id, to: .shipped, note: "out for delivery on route \(r.id) (\(r.vehicleId))", caller: caller)
            }
            r.status = .dispatched
            r.updatedAt = self.clock.instant()
            try await Self.update(r, tx)
            try await self.recorder.record(tx, caller: caller, action: "dispatch", entityType: "delivery_route", entityId: r.id, before: before,
                                           after: r, organisationId: nil, locationId: r.storeId, event: "delivery.route_dispatched")
            return r
        }
    }

    /// The driver's word on a stop of a dispatched route: delivered (the order is delivered, cash
    /// on delivery collected) or failed (with a note; the order stays shipped, to be delivered
    /// again or returned). The route completes with its last stop. 409 for a route not out or
    /// a stop already confirmed; 422 for a failure without a note or an unknown stop.
    public func confirmStop(_ routeId: String, seq: Int, delivered: Bool, note: String?, caller: Caller) async throws -> DeliveryRoute {
        var v = Validator()
        v.text(note, "note", required: !delivered, max: 300)
        try v.finish()
        return try await db.write { tx in
            var r = try await self.lockedRoute(routeId, caller: caller, tx)
            let before = r
            guard let i = r.stops.firstIndex(where: { $0.seq == seq }) else {
                throw Problem.validation([.init("seq", "route \(r.id) has stops 1 to \(r.stops.count)")])
            }
            guard r.status == .dispatched else { throw Problem.conflict("Route \(r.id) is \(r.status.rawValue), not out for delivery.") }
            guard r.stops[i].status == .pending else {
                throw Problem.conflict("Stop \(seq) of route \(r.id) is already \(r.stops[i].status.rawValue).")
            }
            let now = self.clock.instant()
            if delivered { _ = try await self.orders.advance(r.stops[i].orderId, to: .delivered, note: note, caller: caller) }
            r.stops[i].status = delivered ? .delivered : .failed
            r.stops[i].note = note
            r.stops[i].at = now
            if r.stops.allSatisfy({ $0.status != .pending }) { r.status = .completed }
            r.updatedAt = now
            try await Self.update(r, tx)
            try await self.recorder.record(tx, caller: caller, action: delivered ? "stop_delivered" : "stop_failed", entityType: "delivery_route",
                                           entityId: r.id, before: before, after: r, organisationId: nil, locationId: r.storeId,
                                           event: "delivery.stop_confirmed")
            return r
        }
    }

    public func deliveryRoute(_ id: String, scope: Scope) async throws -> DeliveryRoute {
        guard let r = try await db.read({ try await Self.route(id, $0, lock: false) }), try await visible(r, scope) else {
            throw Problem.notFound("delivery route", id)
        }
        return r
    }

    /// The store's routes, newest first: those planned and out, or every one with `all`.
    public func deliveryRoutes(store ref: String, includeCompleted: Bool, scope: Scope) async throws -> [DeliveryRoute] {
        let store = try await deliveringStore(ref, scope: scope)
        return try await db.read { sql in
            var q: SQLQueryString = "SELECT id FROM delivery_routes WHERE store_id = \(bind: store.id)"
            if !includeCompleted { q += " AND status <> 'completed'" }
            q += " ORDER BY created_at DESC, id LIMIT 200"
            var routes: [DeliveryRoute] = []
            for row in try await sql.raw(q).all() {
                if let r = try await Self.route(try row.decode(column: "id", as: String.self), sql, lock: false) { routes.append(r) }
            }
            return routes
        }
    }

    // MARK: Helpers

    /// Runs the planner off the concurrency pool: a search of seconds must not hold up requests.
    static func solve(_ problem: RoutingProblem, timeLimit: Double) async -> RoutePlan {
        await withCheckedContinuation { done in
            Thread.detachNewThread {
                done.resume(returning: RoutePlanner(options: .init(timeLimit: timeLimit)).solve(problem))
            }
        }
    }

    func deliveringStore(_ ref: String, scope: Scope) async throws -> Location {
        let found: Location
        do { found = try await network.location(ref, scope: .all) } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("storeId", "no location '\(ref)'")])
        }
        guard scope.allows(organisationId: found.organisationId, locationId: found.id) else {
            throw Problem.forbidden("\(found.code) is outside what you may manage.")
        }
        guard found.kind == .store, found.capabilities.storeDelivery else {
            throw Problem.validation([.init("storeId", "\(found.code) is not a store that delivers")])
        }
        return found
    }

    /// An order a store delivers, as the planner sees it.
    struct Deliverable {
        var order: Order
        var lat: Double
        var lng: Double
        var units: Int
        var weightGrams: Int
        var volumeCm3: Int
        /// Whether a SKU of it has no weight, or no volume, in the catalog.
        var unweighed: Bool
        var unsized: Bool

        func fits(in v: DeliveryVehicle) -> Bool {
            units <= v.capacity && weightGrams <= (v.maxWeightGrams ?? .max) && volumeCm3 <= (v.maxVolumeCm3 ?? .max)
        }
    }

    /// The store's delivery orders waiting to go out: released to it or being picked, with a line
    /// it delivers, and not on a route that left. Units are the open units of those lines; weight
    /// and volume are theirs by the catalog's SKU measures.
    func deliverable(at store: Location) async throws -> [Deliverable] {
        let out = try await db.read { sql in
            try await sql.raw("""
                SELECT s.order_id FROM delivery_stops s JOIN delivery_routes r ON r.id = s.route_id
                WHERE r.store_id = \(bind: store.id) AND r.status = 'dispatched' AND s.status = 'pending'
                """).all().map { try $0.decode(column: "order_id", as: String.self) }
        }
        let busy = Set(out)
        var found: [(order: Order, lat: Double, lng: Double, lines: [(skuId: String, quantity: Int)])] = []
        for status in [OrderStatus.released, .picking] {
            var f = OrderService.OrderFilter()
            f.locationId = store.id
            f.status = status
            f.limit = 200
            while true {
                let page = try await orders.orders(f, scope: .all)
                for o in page.items where !busy.contains(o.id) {
                    let lines = o.lines.filter { $0.locationId == store.id && $0.mode == .storeDelivery && $0.quantity > $0.cancelled }
                    if !lines.isEmpty, let a = o.address { found.append((o, a.lat, a.lng, lines.map { ($0.skuId, $0.quantity - $0.cancelled) })) }
                }
                guard let next = page.nextCursor else { break }
                f.cursor = next
            }
        }
        let measures = Dictionary(try await orders.catalog.skus(ids: Array(Set(found.flatMap { $0.lines.map(\.skuId) }))).map { ($0.id, $0) },
                                  uniquingKeysWith: { a, _ in a })
        return found.sorted { $0.order.id < $1.order.id }.map { f in
            var d = Deliverable(order: f.order, lat: f.lat, lng: f.lng, units: 0, weightGrams: 0, volumeCm3: 0, unweighed: false, unsized: false)
            for l in f.lines {
                d.units += l.quantity
                let sku = measures[l.skuId]
                if let w = sku?.weightGrams { d.weightGrams += w * l.quantity } else { d.unweighed = true }
                if let c = sku?.volumeCm3 { d.volumeCm3 += c * l.quantity } else { d.unsized = true }
            }
            return d
        }
    }

    func visible(_ r: DeliveryRoute, _ scope: Scope) async throws -> Bool {
        guard scope.level != .all else { return true }
        guard let store = try? await network.location(r.storeId, scope: .all) else { return false }
        return scope.allows(organisationId: store.organisationId, locationId: store.id)
    }

    func lockedRoute(_ id: String, caller: Caller, _ tx: Transaction) async throws -> DeliveryRoute {
        guard let r = try await Self.route(id, tx.sql, lock: tx.engine == .postgres), try await visible(r, caller.principal.scope) else {
            throw Problem.notFound("delivery route", id)
        }
        return r
    }

    static func route(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> DeliveryRoute? {
        guard let row = try await sql.raw("SELECT * FROM delivery_routes WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first() else {
            return nil
        }
        let ms = { (column: String) throws -> Date in Date(epochMillis: try row.decode(column: column, as: Int64.self)) }
        let stops = try await sql.raw("SELECT * FROM delivery_stops WHERE route_id = \(bind: id) ORDER BY seq").all().map { s in
            let time = { (column: String) throws -> Date? in try s.decode(column: column, as: Int64?.self).map(Date.init(epochMillis:)) }
            let orderId = try s.decode(column: "order_id", as: String.self)
            let window = try time("window_earliest").flatMap { e in try time("window_latest").map { DeliveryWindow(orderId: orderId, earliest: e, latest: $0) } }
            return DeliveryStop(seq: try s.decode(column: "seq", as: Int.self), orderId: orderId, lat: try s.decode(column: "lat", as: Double.self),
                                lng: try s.decode(column: "lng", as: Double.self), units: try s.decode(column: "units", as: Int.self),
                                weightGrams: try s.decode(column: "weight_grams", as: Int.self), volumeCm3: try s.decode(column: "volume_cm3", as: Int.self),
                                eta: try time("eta")!, serviceStart: try time("service_start")!, window: window,
                                status: DeliveryStopStatus(rawValue: try s.decode(column: "status", as: String.self)) ?? .pending,
                                note: try s.decode(column: "note", as: String?.self), at: try time("at"))
        }
        return DeliveryRoute(id: id, storeId: try row.decode(column: "store_id", as: String.self), planId: try row.decode(column: "plan_id", as: String.self),
                             vehicleId: try row.decode(column: "vehicle_id", as: String.self),
                             status: DeliveryRouteStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .planned,
                             departAt: try ms("depart_at"), returnAt: try ms("return_at"), travelSeconds: try row.decode(column: "travel_seconds", as: Int.self),
                             load: try row.decode(column: "load", as: Int.self), weightGrams: try row.decode(column: "weight_grams", as: Int.self),
                             volumeCm3: try row.decode(column: "volume_cm3", as: Int.self), stops: stops, createdAt: try ms("created_at"), updatedAt: try ms("updated_at"))
    }

    static func insert(_ r: DeliveryRoute, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO delivery_routes (id, store_id, plan_id, vehicle_id, status, depart_at, return_at, travel_seconds, load, weight_grams, volume_cm3,
                                         created_at, updated_at)
            VALUES (\(bind: r.id), \(bind: r.storeId), \(bind: r.planId), \(bind: r.vehicleId), \(bind: r.status.rawValue), \(bind: r.departAt.epochMillis),
                    \(bind: r.returnAt.epochMillis), \(bind: r.travelSeconds), \(bind: r.load), \(bind: r.weightGrams), \(bind: r.volumeCm3),
                    \(bind: r.createdAt.epochMillis), \(bind: r.updatedAt.epochMillis))
            """).run()
        for s in r.stops {
            try await tx.sql.raw("""
                INSERT INTO delivery_stops (route_id, seq, order_id, lat, lng, units, weight_grams, volume_cm3, eta, service_start, window_earliest,
                                            window_latest, status, note, at)
                VALUES (\(bind: r.id), \(bind: s.seq), \(bind: s.orderId), \(bind: s.lat), \(bind: s.lng), \(bind: s.units), \(bind: s.weightGrams),
                        \(bind: s.volumeCm3), \(bind: s.eta.epochMillis),
                        \(bind: s.serviceStart.epochMillis), \(bind: s.window?.earliest.epochMillis), \(bind: s.window?.latest.epochMillis),
                        \(bind: s.status.rawValue), \(bind: s.note), \(bind: s.at?.epochMillis))
                """).run()
        }
    }

    static func update(_ r: DeliveryRoute, _ tx: Transaction) async throws {
        try await tx.sql.raw("UPDATE delivery_routes SET status = \(bind: r.status.rawValue), updated_at = \(bind: r.updatedAt.epochMillis) WHERE id = \(bind: r.id)").run()
        for s in r.stops {
            try await tx.sql.raw("""
                UPDATE delivery_stops SET status = \(bind: s.status.rawValue), note = \(bind: s.note), at = \(bind: s.at?.epochMillis)
                WHERE route_id = \(bind: r.id) AND seq = \(bind: s.seq)
                """).run()
        }
    }
}

extension RoutingProblemError: ProblemConvertible {
    public var problem: Problem { Problem.validation([.init("vehicles", description)]) }
}
