import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import O2OServer
import SQLKit
import Synchronization

/// `o2o-bench inventory …`: the reservation benchmark's setup and its in-process twin
/// (scripts/bench-inventory.sh drives the HTTP side with wrk against `o2o serve`).
struct InventoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Reservation throughput: seed a database, and reserve in process as the HTTP benchmark does through the API.",
        subcommands: [Prepare.self, Reserve.self, Availability.self])

    /// Loads the city demo with a 10,000-SKU catalog and a deep warehouse, and writes the SKU ids
    /// and the warehouse id for the load generator.
    struct Prepare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seed an empty database: demo city network, --skus SKUs, 1,000,000 units of each in the e-commerce warehouse.")
        @Option(help: "sqlite:PATH or postgres://…; must be empty.") var database: String
        @Option(help: "SKUs in the catalog.") var skus = 10_000
        @Option(help: "Where to write the SKU ids (one per line); the first line is the warehouse id.") var out: String

        func run() async throws {
            try await BenchDatabase.opening(database) { services in
                let started = ContinuousClock.now
                _ = try await DemoData(services: services).load(scale: .city, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"],
                                                                catalogSKUs: skus)
                var f = LocationFilter()
                f.kind = .ecommerceWarehouse
                let warehouse = try await services.network.locations(f, scope: .all).items[0]
                let ids = try await InventoryBench.skuIds(services)
                try await BenchDatabase.stockDeep(ids, at: warehouse.id, services)
                try ([warehouse.id] + ids).joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
                print("prepared \(ids.count) SKUs at \(warehouse.code) in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s")
            }
        }
    }

    /// The same use case the API runs for `POST /inventory/reservations` (one line, one unit, at
    /// the warehouse), called directly by --concurrency tasks for --seconds.
    struct Reserve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reserve in process: --concurrency tasks calling InventoryService.reserve for --seconds.")
        @Option(help: "A database made by `prepare`.") var database: String
        @Option(help: "The file `prepare` wrote.") var skus: String
        @Option(help: "hot (one SKU) or uniform (every SKU at random).") var mode = "hot"
        @Option var seconds = 10.0
        @Option var concurrency = 64

        func run() async throws {
            let lines = try String(contentsOfFile: skus, encoding: .utf8).split(separator: "\n").map(String.init)
            let warehouse = lines[0]
            let ids = Array(lines.dropFirst())
            guard !ids.isEmpty else { throw ValidationError("no SKUs in \(skus)") }
            var config = ServerConfig()
            config.database = database
            let services = try await AppServices.open(config: config, logger: BenchDatabase.logger)
            let hot = mode == "hot"
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            let counts = Counts()
            let started = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                for t in 0..<concurrency {
                    group.addTask {
                        var rng = SeededRandom(state: UInt64(t + 1))
                        var n = 0
                        while ContinuousClock.now < deadline {
                            n += 1
                            let sku = hot ? ids[0] : ids[Int(rng.next() % UInt64(ids.count))]
                            do {
                                _ = try await services.inventory.reserve(.init(referenceType: "bench", referenceId: "T\(t)-\(n)", lines: [
                                    .init(sku: sku, location: warehouse, quantity: 1),
                                ]), caller: Caller(.system, requestId: "bench-\(t)-\(n)"))
                                counts.add(done: 1)
                            } catch {
                                counts.add(failed: 1)
                            }
                        }
                    }
                }
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let (n, failed) = counts.value
            let stats = services.db.stats
            let report = try await services.inventory.verify()
            await services.db.close()
            print(String(format: "in-process %@: %d reservations in %.1f s = %.0f /s (%d failed), %d commits; ledger %@",
                         mode, n, elapsed, Double(n) / elapsed, failed, stats.batches, report.ok ? "ok" : "MISMATCH"))
        }
    }
}

extension InventoryBench {
    /// Every SKU id in the catalog, in id order.
    static func skuIds(_ services: AppServices) async throws -> [String] {
        var ids: [String] = []
        var cursor: String?
        repeat {
            var f = CatalogService.SKUFilter()
            f.limit = 10_000
            f.cursor = cursor
            let page = try await services.catalog.skus(f)
            ids += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        return ids
    }
}

/// Successes and failures counted by many tasks.
final class Counts: Sendable {
    private let state = Mutex((done: 0, failed: 0))
    func add(done: Int = 0, failed: Int = 0) { state.withLock { $0.done += done; $0.failed += failed } }
    var value: (done: Int, failed: Int) { state.withLock { ($0.done, $0.failed) } }
}

extension InventoryBench {
    /// Channel ATP and nearby stores for a 20-SKU cart at national scale: the nation demo network and
    /// catalog (50,000 SKUs), --stores stores stocking --skus-per-store SKUs each and every warehouse
    /// stocking all, written in bulk (balances with their opening movements), then measured through
    /// the service and through the HTTP API.
    struct Availability: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "ATP and nearby stores for a 20-SKU cart over millions of balance rows.")
        @Option(help: "sqlite:PATH or postgres://…; must be empty. Default: a temporary SQLite file.") var database: String?
        @Option var engine: Engine?
        @Option var stores = 2_000
        @Option var skusPerStore = 3_000
        @Option var cart = 20
        @Option var requests = 300
        @Flag(help: "Keep the database afterwards.") var keep = false

        func run() async throws {
            try await BenchDatabase.withServices(database: database, engine: engine, keep: keep) { try await measure($0, $1) }
        }

        func measure(_ services: AppServices, _ bench: BenchDatabase) async throws {
            let started = ContinuousClock.now
            _ = try await DemoData(services: services).load(scale: .nation, password: Runner.password, catalogSKUs: 50_000, stock: false)
            print(String(format: "nation demo without stock: %.0f s", (ContinuousClock.now - started).seconds))
            var lf = LocationFilter()
            lf.limit = 1_000_000
            let all = try await services.network.locations(lf, scope: .all).items
            let warehouses = all.filter { $0.kind.isWarehouse }
            let shops = Array(all.filter { $0.kind == .store }.prefix(stores))
            let skus = try await InventoryBench.skuIds(services)

            // Bulk stock: straight SQL, each balance with its opening receipt so the ledger holds.
            let loadStart = ContinuousClock.now
            var rng = SeededRandom(state: 65)
            var rows = 0
            let stocker = BulkStock(services: services)
            for w in warehouses {
                for sku in skus { rows += try await stocker.add(sku, w, 50 + Int(rng.next() % 300)) }
            }
            for shop in shops {
                var picked = Set<Int>()
                while picked.count < min(skusPerStore, skus.count) { picked.insert(Int(rng.next() % UInt64(skus.count))) }
                for i in picked { rows += try await stocker.add(skus[i], shop, Int(rng.next() % 7)) }
                if rows % 500_000 < 3_000 { print("  \(rows) balances…") }
            }
            rows += try await stocker.flush()
            let loadSeconds = (ContinuousClock.now - loadStart).seconds
            print(String(format: "stocked %d balance rows (%d warehouses × %d SKUs, %d stores × %d) in %.0f s (%.0f rows/s, each with its movement)",
                         rows, warehouses.count, skus.count, shops.count, skusPerStore, loadSeconds, Double(rows) / loadSeconds))
            if services.db.engine == .postgres {
                try await services.db.read { sql in
                    try await sql.raw("ANALYZE inventory_balances").run()
                    try await sql.raw("ANALYZE inventory_movements").run()
                }
            }

            // Carts: 20 random SKUs; for nearby, around a random store.
            var crng = SeededRandom(state: 7)
            func cartSKUs() -> [String] { (0..<cart).map { _ in skus[Int(crng.next() % UInt64(skus.count))] } }
            var atpMs: [Double] = [], nearbyMs: [Double] = [], found = 0, stockedSKUs = 0
            for k in 0..<(requests + 20) {
                let c = cartSKUs()
                let (atp, a) = try await timed { try await services.inventory.atp(channel: "WEB", skus: c) }
                let here = shops[Int(crng.next() % UInt64(shops.count))].coordinates
                let (near, n) = try await timed {
                    try await services.inventory.nearby(lat: here.lat, lng: here.lng, skus: c.map { ($0, 1) }, radiusKm: 10, limit: 20)
                }
                if k >= 20 {
                    atpMs.append(a)
                    nearbyMs.append(n)
                    found += near.count
                    stockedSKUs += atp.items.filter { $0.shipping > 0 }.count
                }
            }
            let serviceATP = Latencies(atpMs), serviceNearby = Latencies(nearbyMs)

            // The same through the API, on one keep-alive connection.
            let app = try buildApplication(services: services)
            let requests = self.requests
            let carts = (0..<(requests + 20)).map { _ in cartSKUs() }
            let points = carts.map { _ in shops[Int(crng.next() % UInt64(shops.count))].coordinates }
            let (httpATP, httpNearby) = try await app.test(.live) { client in
                let token = try await Runner.login(client)
                let headers: HTTPFields = [.authorization: "Bearer \(token)"]
                var a: [Double] = [], n: [Double] = []
                for k in 0..<(requests + 20) {
                    let c = carts[k]
                    let (r1, ms1) = try await timed {
                        try await client.execute(uri: "/api/v1/inventory/atp?channel=WEB&" + c.map { "sku=\($0)" }.joined(separator: "&"),
                                                 method: .get, headers: headers)
                    }
                    let here = points[k]
                    let (r2, ms2) = try await timed {
                        try await client.execute(uri: "/api/v1/inventory/nearby?lat=\(here.lat)&lng=\(here.lng)&radiusKm=10&" + c.map { "sku=\($0)" }.joined(separator: "&"),
                                                 method: .get, headers: headers)
                    }
                    guard r1.status == .ok, r2.status == .ok else {
                        throw ValidationError("HTTP \(r1.status) \(String(buffer: r1.body).prefix(200)) / \(r2.status) \(String(buffer: r2.body).prefix(200))")
                    }
                    if k >= 20 { a.append(ms1); n.append(ms2) }
                }
                return (Latencies(a), Latencies(n))
            }

            let size: String
            switch bench.url.hasPrefix("sqlite:") {
            case true:
                let path = String(bench.url.dropFirst("sqlite:".count))
                let bytes = ["", "-wal"].compactMap { try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int }.reduce(0, +)
                size = String(format: "%.2f GiB", Double(bytes) / 1_073_741_824)
            case false:
                let r = try await services.db.read { try await $0.raw("SELECT pg_database_size(current_database()) AS n").first() }
                size = String(format: "%.2f GiB", Double(try r?.decode(column: "n", as: Int64.self) ?? 0) / 1_073_741_824)
            }
            let (verify, verifyMs) = try await timed { try await services.inventory.verify() }
            func row(_ name: String, _ l: Latencies) -> String { "\(pad(name, 34)) p50 \(lpad(fmt(l.p50), 7)) ms   p99 \(lpad(fmt(l.p99), 7)) ms   max \(lpad(fmt(l.max), 7)) ms" }
            print("""
                engine \(services.db.engine.rawValue), \(rows) balance rows, database \(size)
                \(row("ATP, 20-SKU cart (service)", serviceATP))
                \(row("ATP, 20-SKU cart (HTTP)", httpATP))
                \(row("nearby, 20 SKUs, 10 km (service)", serviceNearby))
                \(row("nearby, 20 SKUs, 10 km (HTTP)", httpNearby))
                per ATP cart \(String(format: "%.1f", Double(stockedSKUs) / Double(requests))) of \(cart) SKUs sellable online; nearby found \(String(format: "%.1f", Double(found) / Double(requests))) stores a cart
                verify: \(verify.ok ? "ok" : "MISMATCH") over \(verify.balances) balances in \(String(format: "%.1f", verifyMs / 1000)) s
                peak memory (VmHWM) \(mib(ProcStatus.hwm))
                """)
        }
    }
}

/// Opening stock written straight in SQL, 20,000 balances a transaction, each with its receipt
/// movement so the ledger holds.
final class BulkStock {
    let services: AppServices
    private var pending: [(String, Location, Int)] = []
    init(services: AppServices) { self.services = services }

    /// Queues one balance; returns how many were written (a whole batch, now and then).
    func add(_ sku: String, _ location: Location, _ quantity: Int) async throws -> Int {
        pending.append((sku, location, quantity))
        return pending.count == 20_000 ? try await flush() : 0
    }

    func flush() async throws -> Int {
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        let now = Date(epochMillis: Date().epochMillis)
        try await services.db.write { tx in
            for start in stride(from: 0, to: batch.count, by: 400) {
                let chunk = batch[start..<min(start + 400, batch.count)]
                var b: SQLQueryString = "INSERT INTO inventory_balances (id, sku_id, location_id, organisation_id, on_hand, reserved, in_transit, quarantined, updated_at) VALUES "
                var m: SQLQueryString = "INSERT INTO inventory_movements (id, at, sku_id, location_id, organisation_id, kind, d_on_hand, d_reserved, d_in_transit, d_quarantined, reason, reference_type, reference_id, channel_id, actor_id, request_id) VALUES "
                for (i, (sku, loc, q)) in chunk.enumerated() {
                    let sep = i == 0 ? "" : ","
                    b += "\(unsafeRaw: sep)(\(bind: O2OID.make("bal", at: now)), \(bind: sku), \(bind: loc.id), \(bind: loc.organisationId), \(bind: q), 0, 0, 0, \(bind: now.epochMillis))"
                    m += "\(unsafeRaw: sep)(\(bind: O2OID.make("mov", at: now)), \(bind: now.epochMillis), \(bind: sku), \(bind: loc.id), \(bind: loc.organisationId), 'receipt', \(bind: q), 0, 0, 0, 'opening stock', 'bench', 'OPENING', NULL, 'system', NULL)"
                }
                try await tx.sql.raw(b).run()
                try await tx.sql.raw(m).run()
            }
        }
        return batch.count
    }
}
