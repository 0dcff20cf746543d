import Foundation
import Logging
import O2OCore
import O2OServer

/// Databases for tests: a fresh SQLite file always; a fresh PostgreSQL database per test when
/// `O2O_TEST_POSTGRES_URL` names a server (scripts/with-postgres.sh sets it).
public enum TestDatabase {
    public static var postgresURL: String? {
        let v = ProcessInfo.processInfo.environment["O2O_TEST_POSTGRES_URL"]
        return (v?.isEmpty ?? true) ? nil : v
    }

    /// The engines this run covers: SQLite, plus PostgreSQL when configured.
    public static var engines: [DatabaseEngine] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    public static let skipMessage =
        "O2O_TEST_POSTGRES_URL is not set: the PostgreSQL suite is skipped (run scripts/with-postgres.sh swift test to include it)"

    public static var logger: Logger {
        var l = Logger(label: "o2o-test")
        l.logLevel = .warning
        return l
    }

    /// Runs `body` on an empty database of the given engine with `migrations` applied, then drops it.
    public static func with<T: Sendable>(
        _ engine: DatabaseEngine, migrations: [Migration] = AppServices.migrations,
        _ body: (Database) async throws -> T
    ) async throws -> T {
        switch engine {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let db = try await Database.open(try DatabaseLocation(parsing: "sqlite:" + dir.appendingPathComponent("t.sqlite").path), logger: logger)
            return try await run(db, migrations, body)
        case .postgres:
            guard let url = postgresURL else { throw TestDatabaseError.postgresNotConfigured }
            let admin = try await Database.open(try DatabaseLocation(parsing: url), logger: logger)
            let name = "o2o_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try await admin.read { sql in try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            var components = URLComponents(string: url)!
            components.path = "/" + name
            do {
                let db = try await Database.open(try DatabaseLocation(parsing: components.string!), logger: logger)
                let result = try await run(db, migrations, body)
                try? await admin.read { sql in try await sql.raw("DROP DATABASE \(unsafeRaw: name)").run() }
                await admin.close()
                return result
            } catch {
                try? await admin.read { sql in try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
                await admin.close()
                throw error
            }
        }
    }

    private static func run<T: Sendable>(_ db: Database, _ migrations: [Migration], _ body: (Database) async throws -> T) async throws -> T {
        do {
            try await Migrator(db: db, migrations: migrations, logger: logger).migrate()
            let result = try await body(db)
            await db.close()
            return result
        } catch {
            await db.close()
            throw error
        }
    }

    /// Ready services over a fresh database, with cheap bcrypt for speed.
    public static func withServices<T: Sendable>(
        _ engine: DatabaseEngine, clock: any O2OClock = SystemClock(), configure: (inout ServerConfig) -> Void = { _ in },
        _ body: (AppServices) async throws -> T
    ) async throws -> T {
        try await with(engine) { db in
            var config = ServerConfig()
            config.bcryptCost = 4
            configure(&config)
            return try await body(AppServices(config: config, db: db, clock: clock, logger: logger))
        }
    }

    /// Counts rows; for "nothing was written" checks.
    public static func count(_ table: String, _ db: Database) async throws -> Int {
        try await db.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}

public enum TestDatabaseError: Error { case postgresNotConfigured }
