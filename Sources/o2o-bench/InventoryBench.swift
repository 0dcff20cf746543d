import ArgumentParser
import Foundation
import Logging
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import O2OServer
import Synchronization

/// `o2o-bench inventory …`: the reservation benchmark's setup and its in-process twin
/// (scripts/bench-inventory.sh drives the HTTP side with wrk against `o2o serve`).
struct InventoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Reservation throughput: seed a database, and reserve in process as the HTTP benchmark does through the API.",
        subcommands: [Prepare.self, Reserve.self])

    /// Loads the city demo with a 10,000-SKU catalog and a deep warehouse, and writes the SKU ids
    /// and the warehouse id for the load generator.
    struct Prepare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seed an empty database: demo city network, --skus SKUs, 1,000,000 units of each in the e-commerce warehouse.")
        @Option(help: "sqlite:PATH or postgres://…; must be empty.") var database: String
        @Option(help: "SKUs in the catalog.") var skus = 10_000
        @Option(help: "Where to write the SKU ids (one per line); the first line is the warehouse id.") var out: String

        func run() async throws {
            var config = ServerConfig()
            config.database = database
            config.bcryptCost = 8
            let services = try await AppServices.open(config: config, logger: BenchDatabase.logger)
            do {
                let started = ContinuousClock.now
                _ = try await DemoData(services: services).load(scale: .city, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"],
                                                                catalogSKUs: skus)
                var f = LocationFilter()
                f.kind = .ecommerceWarehouse
                let warehouse = try await services.network.locations(f, scope: .all).items[0]
                var ids: [String] = []
                var cursor: String?
                repeat {
                    var sf = CatalogService.SKUFilter()
                    sf.limit = 5000
                    sf.cursor = cursor
                    let page = try await services.catalog.skus(sf)
                    ids += page.items.map(\.id)
                    cursor = page.nextCursor
                } while cursor != nil
                for start in stride(from: 0, to: ids.count, by: 500) {
                    _ = try await services.inventory.post(.init(
                        location: warehouse.id, kind: .receipt, reason: "benchmark stock", referenceType: "bench", referenceId: "BENCH",
                        lines: ids[start..<min(start + 500, ids.count)].map { .init(sku: $0, quantity: InventoryService.maxQuantity) }), caller: .system)
                }
                try ([warehouse.id] + ids).joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8)
                print("prepared \(ids.count) SKUs at \(warehouse.code) in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s")
            } catch {
                await services.db.close()
                throw error
            }
            await services.db.close()
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

/// Successes and failures counted by many tasks.
final class Counts: Sendable {
    private let state = Mutex((done: 0, failed: 0))
    func add(done: Int = 0, failed: Int = 0) { state.withLock { $0.done += done; $0.failed += failed } }
    var value: (done: Int, failed: Int) { state.withLock { ($0.done, $0.failed) } }
}
