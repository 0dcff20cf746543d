import ArgumentParser
import Foundation
import Logging
import O2OCore
import O2OInventory
import O2OServer

/// `o2o-bench`: measurements of a release build against a fresh database.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "o2o-bench",
        abstract: "Benchmarks of the O2O server on a fresh database (scripts/bench-catalog.sh runs them on SQLite and PostgreSQL).",
        subcommands: [CatalogBench.self, InventoryBench.self, OrdersBench.self, MembersBench.self, PromotionsBench.self, VRPBench.self, WarehouseBench.self, StoreDayBench.self])
}

enum Engine: String, ExpressibleByArgument, CaseIterable, Sendable {
    case sqlite, postgres
}

/// A database made for one run, and how to get rid of it.
struct BenchDatabase {
    let url: String
    let description: String
    let cleanup: @Sendable () async -> Void

    /// O2O_BENCH_LOG=info shows what the services log (an import's phase timings, say); default warning.
    static let logLevel = ProcessInfo.processInfo.environment["O2O_BENCH_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning

    static let logger: Logger = {
        var l = Logger(label: "o2o-bench")
        l.logLevel = logLevel
        return l
    }()

    /// Opens the services over a fresh benchmark database, runs `body`, then closes the services
    /// and drops the database (unless kept), whether `body` succeeded or not.
    static func withServices(database: String?, engine: Engine?, keep: Bool,
                             _ body: (AppServices, BenchDatabase) async throws -> Void) async throws {
        let bench = try await make(database: database, engine: engine, keep: keep)
        var config = ServerConfig()
        config.database = bench.url
        config.bcryptCost = 8
        let services: AppServices
        do {
            services = try await AppServices.open(config: config, logger: logger)
        } catch {
            await bench.cleanup()
            throw error
        }
        do {
            try await body(services, bench)
        } catch {
            await services.db.close()
            await bench.cleanup()
            throw error
        }
        await services.db.close()
        await bench.cleanup()
    }

    /// Opens the services over a database given by URL (one a `prepare` command seeds or seeded),
    /// runs `body`, and closes them however it ends.
    static func opening<T>(_ url: String, _ body: (AppServices) async throws -> T) async throws -> T {
        var config = ServerConfig()
        config.database = url
        config.bcryptCost = 8
        let services = try await AppServices.open(config: config, logger: logger)
        do {
            let result = try await body(services)
            await services.db.close()
            return result
        } catch {
            await services.db.close()
            throw error
        }
    }

    /// The codes of the SKUs listed on a channel now, in SKU id order.
    static func listedCodes(channel code: String, _ services: AppServices) async throws -> [String] {
        let channel = try await services.catalog.channel(code)
        let now = Date().epochMillis
        return try await services.db.read { sql in
            try await sql.raw("""
                SELECT l.sku_id, s.code FROM listings l JOIN skus s ON s.id = l.sku_id WHERE l.channel_id = \(bind: channel.id)
                    AND l.publish_at <= \(bind: now) AND (l.unpublish_at IS NULL OR l.unpublish_at > \(bind: now)) ORDER BY l.sku_id
                """).all().map { try $0.decode(column: "code", as: String.self) }
        }
    }

    /// Receives the most one line may carry of each SKU at `location`, 500 lines per movement.
    static func stockDeep(_ skus: [String], at location: String, _ services: AppServices) async throws {
        for chunk in skus.chunked(500) {
            _ = try await services.inventory.post(.init(location: location, kind: .receipt, reason: "benchmark stock", referenceType: "bench",
                                                        referenceId: "BENCH", lines: chunk.map { .init(sku: $0, quantity: InventoryService.maxQuantity) }),
                                                  caller: .system)
        }
    }

    /// `--database` as given (it must hold no catalog yet); else a temporary SQLite file; else, for
    /// `--engine postgres`, a new database on the server O2O_TEST_POSTGRES_URL names (as
    /// Tests/O2OTestSupport/TestDatabase.swift does), dropped afterwards.
    static func make(database: String?, engine: Engine?, keep: Bool) async throws -> BenchDatabase {
        if let database {
            let location = try DatabaseLocation(parsing: database)
            if let engine, engine.rawValue != location.engine.rawValue {
                throw ValidationError("--engine \(engine.rawValue) does not match --database \(location)")
            }
            return BenchDatabase(url: database, description: location.description, cleanup: {})
        }
        switch engine ?? .sqlite {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let path = dir.appendingPathComponent("bench.sqlite").path
            return BenchDatabase(url: "sqlite:" + path, description: "sqlite:" + path + (keep ? "" : " (temporary)"), cleanup: {
                if !keep { try? FileManager.default.removeItem(at: dir) }
            })
        case .postgres:
            guard let server = ProcessInfo.processInfo.environment["O2O_TEST_POSTGRES_URL"], !server.isEmpty else {
                throw ValidationError("--engine postgres needs --database postgres://… or O2O_TEST_POSTGRES_URL (scripts/with-postgres.sh sets it)")
            }
            let admin = try await Database.open(try DatabaseLocation(parsing: server), logger: logger)
            let name = "o2o_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            do {
                try await admin.read { sql in try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            } catch {
                await admin.close()
                throw error
            }
            var components = URLComponents(string: server)!
            components.path = "/" + name
            let url = components.string!
            return BenchDatabase(url: url, description: try DatabaseLocation(parsing: url).description + (keep ? "" : " (temporary)"), cleanup: {
                if !keep {
                    try? await admin.read { sql in try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
                }
                await admin.close()
            })
        }
    }
}
