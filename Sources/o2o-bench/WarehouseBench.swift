import ArgumentParser
import Foundation
import O2OCore
import O2OFulfillment
import O2ONetwork
import O2OOrders
import O2OServer

/// `o2o-bench warehouse`: a wave of accepted warehouse orders turned into one walk-ordered pick list.
struct WarehouseBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warehouse",
        abstract: "Build a pick wave of --orders accepted fulfilment orders at the demo city's e-commerce warehouse, then confirm its picks.",
        discussion: """
            Loads the demo city (catalog of --skus SKUs, no stock), gives the e-commerce warehouse --bins bins in ten zones, \
            receives every web SKU from a supplier (--units each) and puts it away as suggested, then places --orders paid \
            delivery orders of 1–--max-lines random SKUs to the city centre, releases them and accepts their fulfilment orders \
            at the warehouse. Measured: WarehouseService.createWave for all of them (allocation from bin stock, the pick list \
            sorted by walk order, the orders moved to picking) and one confirmation of every pick.
            """)

    @Option(help: "sqlite:PATH or postgres://…; must be empty. Default: a temporary SQLite file.") var database: String?
    @Option(help: "sqlite or postgres (a fresh database on O2O_TEST_POSTGRES_URL).") var engine: Engine?
    @Option(help: "Orders in the wave.") var orders = 1_000
    @Option(help: "Bins in the warehouse.") var bins = 2_000
    @Option(help: "SKUs in the demo catalog.") var skus = 2_000
    @Option(help: "Units of each SKU received.") var units = 200
    @Option(help: "Most lines per order.") var maxLines = 5

    func run() async throws {
        let (orderCount, binCount, skuCount, unitCount, widest) = (orders, bins, skus, units, maxLines)
        try await BenchDatabase.withServices(database: database, engine: engine, keep: false) { services, bench in
            progress("loading the demo city with \(skuCount) SKUs on \(bench.description)")
            _ = try await DemoData(services: services).load(scale: .city, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"],
                                                            catalogSKUs: skuCount, stock: false)
            var f = LocationFilter()
            f.kind = .ecommerceWarehouse
            let site = try await services.network.locations(f, scope: .all).items[0]
            let wms = services.warehouse
            let zones = (0..<10).map { "Z\($0)" }
            var made = 0
            while made < binCount {
                let n = min(1_000, binCount - made)
                _ = try await wms.createBins(warehouse: site.id, (made..<(made + n)).map { i in
                    .init(code: String(format: "%@-%02d-%03d", zones[i % 10], (i / 10) / 100, (i / 10) % 100), zone: zones[i % 10], path: i)
                }, caller: .system)
                made += n
            }
            let sellable = try await BenchDatabase.listedCodes(channel: "WEB", services)
            progress("receiving \(sellable.count) SKUs × \(unitCount) and putting them away into \(binCount) bins")
            for (n, chunk) in sellable.chunked(500).enumerated() {
                let r = try await wms.receive(warehouse: site.id, .init(source: .supplier, reference: "BENCH-DN-\(n)",
                                                                        lines: chunk.map { ($0, unitCount) }), caller: .system)
                let moves = r.lines.flatMap { l in l.suggestions.map { (line: l.line, bin: $0.binId, quantity: $0.quantity) } }
                _ = try await wms.putAway(receipt: r.id, moves, caller: .system)
            }
            progress("placing, releasing and accepting \(orderCount) orders of 1–\(widest) lines")
            var rng = SeededRandom(state: 7)
            var lineCount = 0
            for i in 0..<orderCount {
                var picked: [String] = []
                let width = 1 + Int(rng.next() % UInt64(widest))
                while picked.count < width {
                    let s = sellable[Int(rng.next() % UInt64(sellable.count))]
                    if !picked.contains(s) { picked.append(s) }
                }
                lineCount += width
                // Paid in full at whatever the promotions make it.
                var new = OrderService.NewOrder(channel: "WEB", method: .delivery, address: CheckoutPrepare.address,
                                                lines: picked.map { (sku: $0, quantity: 1) })
                new.payments = [(tender: .sandbox, amount: try await services.orders.quote(new, caller: .system).total)]
                let o = try await services.orders.place(new, caller: Caller(.system, requestId: "bench-wave-\(i)"))
                _ = try await services.orders.advance(o.id, to: .released, caller: .system)
                var ff = FulfillmentService.FulfillmentFilter()
                ff.orderId = o.id
                for fo in try await services.fulfillment.fulfillmentOrders(ff, scope: .all).items where fo.locationId == site.id {
                    _ = try await services.fulfillment.accept(fo.id, caller: .system)
                }
            }
            progress("building the wave")
            let (wave, buildMs) = try await timed { try await wms.createWave(warehouse: site.id, limit: orderCount, caller: .system) }
            let (_, pickMs) = try await timed { try await wms.pick(wave: wave.id, wave.tasks.map { ($0.seq, $0.quantity) }, caller: .system) }
            let walkOrdered = zip(wave.tasks, wave.tasks.dropFirst()).allSatisfy { $0.path <= $1.path }
            let consistent = try await wms.balances(warehouse: site.id, scope: .all).allSatisfy { $0.dock >= 0 && $0.onHand == $0.inBins + $0.picked + $0.dock }
            print("""
                warehouse wave on \(bench.description): \(binCount) bins, \(sellable.count) SKUs
                  wave          \(wave.fulfillmentOrderIds.count) orders (\(lineCount) lines), \(wave.tasks.count) pick tasks, \(wave.shortages.count) short
                  build         \(fmt(buildMs)) ms (allocation, walk-ordered pick list, \(wave.fulfillmentOrderIds.count) orders moved to picking)
                  confirm picks \(fmt(pickMs)) ms (every task in one call)
                  checks        pick list in walk order: \(walkOrdered ? "yes" : "NO"); on hand = bins + picked + dock: \(consistent ? "yes" : "NO")
                """)
        }
    }
}
