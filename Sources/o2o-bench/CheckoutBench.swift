import ArgumentParser
import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import O2OOrders
import O2OServer
import SQLKit

/// `o2o-bench orders checkout-prepare` and `orders checkout`: the checkout benchmark's two halves
/// beside the HTTP run (scripts/bench-checkout.sh). Prepare seeds the city demo and deep stock in
/// the e-commerce warehouse, and writes the SKUs the web shop sells with their prices; checkout
/// places and pays 3-line delivery orders in process from --concurrency tasks — the same use case
/// `POST /api/v1/orders` runs (price, route, hold, record, sandbox capture, events).
struct CheckoutPrepare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkout-prepare",
                                                    abstract: "Seed an empty database for the checkout benchmark and write its SKU file.")
    @Option(help: "sqlite:PATH or postgres://…; must be empty.") var database: String
    @Option(help: "SKUs in the catalog.") var skus = 2_000
    @Option(help: "Where to write `code price` per line for the web shop's SKUs.") var out: String

    func run() async throws {
        try await BenchDatabase.opening(database) { services in
            let started = ContinuousClock.now
            _ = try await DemoData(services: services).load(scale: .city, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"],
                                                            catalogSKUs: skus, stock: false)
            var f = LocationFilter()
            f.kind = .ecommerceWarehouse
            let warehouse = try await services.network.locations(f, scope: .all).items[0]
            let web = try await services.catalog.channel("WEB")
            let now = Date().epochMillis
            let sellable = try await services.db.read { sql in
                try await sql.raw("""
                    SELECT sku_id FROM listings WHERE channel_id = \(bind: web.id) AND publish_at <= \(bind: now)
                        AND (unpublish_at IS NULL OR unpublish_at > \(bind: now)) ORDER BY sku_id
                    """).all().map { try $0.decode(column: "sku_id", as: String.self) }
            }
            try await BenchDatabase.stockDeep(sellable, at: warehouse.id, services)
            var lines: [String] = []
            for chunk in sellable.chunked(500).map(Array.init) {
                let prices = try await services.prices.resolve(skus: chunk, PriceContext(channelId: web.id, at: Date()))
                lines += prices.filter(\.sellable).map { "\($0.skuCode) \($0.price)" }
            }
            try lines.joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
            print("prepared \(lines.count) web SKUs stocked at \(warehouse.code) in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s")
        }
    }

    /// The customer every benchmark order is delivered to (the demo city's centre).
    static let address = DeliveryAddress(name: "压测", phone: "+8613800138000", line1: "人民广场 1 号", lat: 31.2304, lng: 121.4737)

    static func read(_ path: String) throws -> [(code: String, price: Int64)] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ")
            guard p.count == 2, let price = Int64(p[1]) else { return nil }
            return (String(p[0]), price)
        }
    }
}

struct Checkout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Place and pay 3-line delivery orders in process from --concurrency tasks for --seconds.")
    @Option(help: "A database made by `checkout-prepare`.") var database: String
    @Option(help: "The file `checkout-prepare` wrote.") var skus: String
    @Option var seconds = 10.0
    @Option var concurrency = 64
    @Option var lines = 3

    func run() async throws {
        let catalog = try CheckoutPrepare.read(skus)
        guard catalog.count >= lines else { throw ValidationError("fewer than \(lines) SKUs in \(skus)") }
        let (width, tasks, seconds) = (lines, concurrency, seconds)
        let (n, failed, samples, elapsed, ok) = try await BenchDatabase.opening(database) { services in
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            let counts = Counts()
            let started = ContinuousClock.now
            let samples = await withTaskGroup(of: [Double].self) { group in
                for t in 0..<tasks {
                    group.addTask {
                        var rng = SeededRandom(state: UInt64(t + 101))
                        var mine: [Double] = []
                        while ContinuousClock.now < deadline {
                            var picked: [(code: String, price: Int64)] = []
                            while picked.count < width {
                                let s = catalog[Int(rng.next() % UInt64(catalog.count))]
                                if !picked.contains(where: { $0.code == s.code }) { picked.append(s) }
                            }
                            let total = picked.reduce(Int64(0)) { $0 + $1.price }
                            let order = OrderService.NewOrder(channel: "WEB", method: .delivery, address: CheckoutPrepare.address,
                                                              lines: picked.map { (sku: $0.code, quantity: 1) }, payments: [(tender: .sandbox, amount: total)])
                            let t0 = ContinuousClock.now
                            do {
                                _ = try await services.orders.place(order, caller: Caller(.system, requestId: "bench-\(t)"))
                                counts.add(done: 1)
                                mine.append((ContinuousClock.now - t0).seconds * 1000)
                            } catch {
                                counts.add(failed: 1)
                            }
                        }
                        return mine
                    }
                }
                return await group.reduce(into: [Double]()) { $0 += $1 }
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let (n, failed) = counts.value
            return (n, failed, samples, elapsed, try await services.inventory.verify().ok)
        }
        let l = Latencies(samples)
        print(String(format: "in-process checkout: %d orders in %.1f s = %.0f /s (%d failed); p50 %.1f ms, p99 %.1f ms; ledger %@",
                     n, elapsed, Double(n) / elapsed, failed, l.p50, l.p99, ok ? "ok" : "MISMATCH"))
    }
}
