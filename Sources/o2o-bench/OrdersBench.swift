import ArgumentParser
import Foundation
import O2OCatalog
import O2OCore
import O2ONetwork
import O2OOrders
import O2OServer
import SQLKit

/// `o2o-bench orders route`: how long routing takes for a 5-line delivery order when the nation's
/// stores and warehouses are all candidates — quoting (price, read of every candidate's stock,
/// route) and placing (the same plus the hold, the order's rows and the sandbox capture).
struct OrdersBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Order routing among thousands of candidate locations, checkout throughput, the Olist replay.",
        subcommands: [Route.self, OlistReplay.self, CheckoutPrepare.self, Checkout.self])

    struct Route: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Quote and place 5-line delivery orders on the nation demo network.")
        @Option(help: "sqlite:PATH or postgres://…; must be empty. Default: a temporary SQLite file.") var database: String?
        @Option var engine: Engine?
        @Option(help: "SKUs in the catalog.") var skus = 2_000
        @Option(help: "SKUs each store stocks.") var skusPerStore = 300
        @Option(help: "Lines per order.") var lines = 5
        @Option var requests = 300
        @Flag(help: "Keep the database afterwards.") var keep = false

        func run() async throws {
            try await BenchDatabase.withServices(database: database, engine: engine, keep: keep) { services, _ in try await measure(services) }
        }

        func measure(_ services: AppServices) async throws {
            let started = ContinuousClock.now
            _ = try await DemoData(services: services).load(scale: .nation, password: Runner.password, catalogSKUs: skus, stock: false)
            print(String(format: "nation demo without stock: %.0f s", (ContinuousClock.now - started).seconds))
            var lf = LocationFilter()
            lf.limit = 1_000_000
            let all = try await services.network.locations(lf, scope: .all).items
            let stores = all.filter { $0.kind == .store }
            // SKUs the web shop sells now.
            let now = Date().epochMillis
            let sellable = try await services.db.read { sql in
                try await sql.raw("""
                    SELECT l.sku_id FROM listings l JOIN channels c ON c.id = l.channel_id
                    WHERE c.code = 'WEB' AND l.publish_at <= \(bind: now) AND (l.unpublish_at IS NULL OR l.unpublish_at > \(bind: now))
                    ORDER BY l.sku_id
                    """).all().map { try $0.decode(column: "sku_id", as: String.self) }
            }
            var rng = SeededRandom(state: 505)
            let stocker = BulkStock(services: services)
            var rows = 0
            for w in all where w.kind.isWarehouse {
                for sku in sellable { rows += try await stocker.add(sku, w, 20 + Int(rng.next() % 200)) }
            }
            for s in stores {
                var picked = Set<Int>()
                while picked.count < min(skusPerStore, sellable.count) { picked.insert(Int(rng.next() % UInt64(sellable.count))) }
                for i in picked { rows += try await stocker.add(sellable[i], s, 1 + Int(rng.next() % 6)) }
            }
            rows += try await stocker.flush()
            print("stocked \(rows) balances over \(all.count) locations (\(stores.count) stores); \(sellable.count) SKUs sellable on WEB")

            func order() -> OrderService.NewOrder {
                let near = stores[Int(rng.next() % UInt64(stores.count))].coordinates
                let address = DeliveryAddress(name: "压测", phone: "+8613800000000", line1: "压测路 1 号",
                                              lat: near.lat + Double(Int(rng.next() % 200) - 100) / 10_000,
                                              lng: near.lng + Double(Int(rng.next() % 200) - 100) / 10_000)
                var picked = Set<String>()
                while picked.count < lines { picked.insert(sellable[Int(rng.next() % UInt64(sellable.count))]) }
                return OrderService.NewOrder(channel: "WEB", method: .delivery, address: address, lines: picked.sorted().map { ($0, 1) })
            }
            var quoteMs: [Double] = [], placeMs: [Double] = [], candidates = 0, locationsUsed = 0, refused = 0
            for k in 0..<(requests + 20) {
                let new = order()
                do {
                    let (q, ms) = try await timed { try await services.orders.quote(new, caller: .system) }
                    if k >= 20 {
                        quoteMs.append(ms)
                        candidates += q.routing?.candidates.count ?? 0
                    }
                    var paid = new
                    paid.payments = [(tender: .sandbox, amount: q.total)]
                    let (o, pms) = try await timed { try await services.orders.place(paid, caller: .system) }
                    if k >= 20 {
                        placeMs.append(pms)
                        locationsUsed += Set(o.lines.compactMap(\.locationId)).count
                    }
                } catch is OrdersError {
                    if k >= 20 { refused += 1 }
                }
            }
            let quotes = Latencies(quoteMs), places = Latencies(placeMs)
            func row(_ name: String, _ l: Latencies) -> String {
                "\(pad(name, 40)) p50 \(lpad(fmt(l.p50), 7)) ms   p99 \(lpad(fmt(l.p99), 7)) ms   max \(lpad(fmt(l.max), 7)) ms  (n=\(l.count))"
            }
            let verify = try await services.inventory.verify()
            print("""
                engine \(services.db.engine.rawValue); \(lines)-line delivery orders near random stores, sequential
                \(row("quote (price + read candidates + route)", quotes))
                \(row("place (+ hold, rows, sandbox capture)", places))
                candidates weighed per order \(String(format: "%.0f", Double(candidates) / Double(max(1, quoteMs.count))));
                locations per placed order \(String(format: "%.2f", Double(locationsUsed) / Double(max(1, placeMs.count)))); refused (unroutable) \(refused)
                verify: \(verify.ok ? "ok" : "MISMATCH") over \(verify.balances) balances; peak memory (VmHWM) \(mib(ProcStatus.hwm))
                """)
        }
    }
}
