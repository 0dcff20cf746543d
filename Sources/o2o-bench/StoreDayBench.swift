import ArgumentParser
import Foundation
import O2OCore
import O2OFulfillment
import O2ONetwork
import O2OOrders
import O2OServer

/// `o2o-bench store-day`: a store's day of same-city deliveries planned into vehicle routes through
/// FulfillmentService.planDeliveries, at several time limits.
struct StoreDayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-day",
        abstract: "Plan a store's day of --orders deliveries with --vehicles vehicles and 2-hour windows, at each --limits time limit.",
        discussion: """
            Loads the demo city (catalog of --skus SKUs, no stock), stocks only its delivering store with the widest radius, \
            places --orders paid web delivery orders of 1–3 SKUs at addresses spread over that radius, and releases them to \
            the store. Each order gets one of the day's 2-hour windows (09:00–11:00 … 17:00–19:00 after departure at 09:00). \
            The vehicles carry --capacity units and --max-kg kg each and are back by 20:00. Measured: the whole \
            planDeliveries call (reading the orders and their SKU weights, the search, writing the routes) at each time \
            limit, with the plan's travel, routes and what it left out, and every window, weight and shift checked.
            """)

    @Option(help: "sqlite:PATH or postgres://…; must be empty. Default: a temporary SQLite file.") var database: String?
    @Option(help: "sqlite or postgres (a fresh database on O2O_TEST_POSTGRES_URL).") var engine: Engine?
    @Option(help: "Deliveries in the day.") var orders = 150
    @Option(help: "Vehicles the store has.") var vehicles = 6
    @Option(help: "Units a vehicle carries.") var capacity = 60
    @Option(help: "Kilograms a vehicle carries.") var maxKg = 25
    @Option(help: "SKUs in the demo catalog.") var skus = 500
    @Option(help: "Search time limits in seconds, comma-separated.") var limits = "1,2,5,10"

    func run() async throws {
        let timeLimits = limits.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !timeLimits.isEmpty, timeLimits.allSatisfy({ $0 > 0 && $0 <= FulfillmentService.maxPlanSeconds }) else {
            throw ValidationError("--limits must be seconds between 0 and \(FulfillmentService.maxPlanSeconds), e.g. 1,2,5,10")
        }
        let (orderCount, fleet, units, grams, skuCount) = (orders, vehicles, capacity, maxKg * 1_000, skus)
        try await BenchDatabase.withServices(database: database, engine: engine, keep: false) { services, bench in
            progress("loading the demo city with \(skuCount) SKUs on \(bench.description)")
            _ = try await DemoData(services: services).load(scale: .city, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"],
                                                            catalogSKUs: skuCount, stock: false)
            var f = LocationFilter()
            f.kind = .store
            guard let store = try await services.network.locations(f, scope: .all).items
                .filter({ $0.capabilities.storeDelivery }).max(by: { ($0.capabilities.deliveryRadiusKm ?? 0) < ($1.capabilities.deliveryRadiusKm ?? 0) })
            else { throw ValidationError("the demo city has no delivering store") }
            let radiusKm = store.capabilities.deliveryRadiusKm ?? 3
            let sellable = try await BenchDatabase.listedCodes(channel: "WEB", services)
            try await BenchDatabase.stockDeep(sellable, at: store.id, services)
            progress("placing and releasing \(orderCount) delivery orders within \(radiusKm) km of \(store.code)")
            var rng = SeededRandom(state: 11)
            func unit() -> Double { Double(rng.next() % 1_000_000) / 1_000_000 }
            let departAt = Calendar.current.date(bySettingHour: 9, minute: 0, second: 0, of: Date().addingTimeInterval(86_400))!
            var windows: [DeliveryWindow] = []
            for i in 0..<orderCount {
                // Uniform over the disc of 90% of the radius.
                let r = radiusKm * 0.9 * unit().squareRoot(), bearing = 2 * Double.pi * unit()
                var address = CheckoutPrepare.address
                address.lat = store.coordinates.lat + r / 111.2 * cos(bearing)
                address.lng = store.coordinates.lng + r / (111.2 * cos(store.coordinates.lat * .pi / 180)) * sin(bearing)
                var picked: [String] = []
                while picked.count < 1 + Int(rng.next() % 3) {
                    let s = sellable[Int(rng.next() % UInt64(sellable.count))]
                    if !picked.contains(s) { picked.append(s) }
                }
                var new = OrderService.NewOrder(channel: "WEB", method: .delivery, address: address, lines: picked.map { (sku: $0, quantity: 1) })
                new.payments = [(tender: .sandbox, amount: try await services.orders.quote(new, caller: .system).total)]
                let o = try await services.orders.place(new, caller: Caller(.system, requestId: "bench-day-\(i)"))
                guard o.lines.allSatisfy({ $0.locationId == store.id && $0.mode == .storeDelivery }) else {
                    throw ValidationError("order \(o.id) was not routed to \(store.code) for store delivery")
                }
                _ = try await services.orders.advance(o.id, to: .released, caller: .system)
                let slot = Double(Int(rng.next() % 5)) * 7_200
                windows.append(DeliveryWindow(orderId: o.id, earliest: departAt.addingTimeInterval(slot), latest: departAt.addingTimeInterval(slot + 7_200)))
            }
            let shiftEnd = departAt.addingTimeInterval(11 * 3_600)
            let van = DeliveryVehicle(id: "van", capacity: units, maxWeightGrams: grams, count: fleet, shiftEnd: shiftEnd)
            let byOrder = Dictionary(windows.map { ($0.orderId, $0) }, uniquingKeysWith: { a, _ in a })
            print("store day at \(store.code) on \(bench.description): \(orderCount) deliveries within \(radiusKm) km, \(fleet) vehicles of "
                + "\(units) units and \(maxKg) kg back by 20:00, 2-hour windows from 09:00, 3 min per stop at 20 km/h")
            print("  limit   call      search   iterations  routes  served  travel    longest route  heaviest  checks")
            for limit in timeLimits {
                let (plan, ms) = try await timed {
                    try await services.fulfillment.planDeliveries(.init(store: store.code, vehicles: [van], departAt: departAt, timeLimitSeconds: limit,
                                                                        windows: windows), caller: .system)
                }
                let stops = plan.routes.flatMap(\.stops)
                let inWindows = stops.allSatisfy { s in byOrder[s.orderId].map { s.serviceStart >= $0.earliest && s.serviceStart <= $0.latest } ?? false }
                let withinLimits = plan.routes.allSatisfy { $0.load <= units && $0.weightGrams <= grams && $0.returnAt <= shiftEnd }
                let longest = plan.routes.map { $0.returnAt.timeIntervalSince($0.departAt) }.max() ?? 0
                print("  " + [lpad(String(format: "%.0f s", limit), 5), lpad(fmt(ms) + " ms", 9), lpad(String(format: "%.2f s", plan.solverSeconds), 7),
                              lpad("\(plan.iterations)", 11), lpad("\(plan.routes.count)", 7), lpad("\(stops.count)/\(orderCount)", 7),
                              lpad(String(format: "%.2f h", Double(plan.travelSeconds) / 3_600), 8), lpad(String(format: "%.2f h", longest / 3_600), 14),
                              lpad(String(format: "%.1f kg", Double(plan.routes.map(\.weightGrams).max() ?? 0) / 1_000), 9),
                              "  windows \(inWindows ? "kept" : "BROKEN"), loads and shifts \(withinLimits ? "kept" : "BROKEN")"].joined(separator: " "))
            }
        }
    }
}
