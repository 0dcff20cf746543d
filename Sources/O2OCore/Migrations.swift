import Foundation
import Logging
import SQLKit

/// One versioned schema change of one module. Statements are portable SQL; where the engines
/// differ a migration may give PostgreSQL its own statements.
public struct Migration: Sendable {
    public let module: String
    public let version: Int
    public let name: String
    public let statements: [String]
    public let postgresStatements: [String]?

    public init(module: String, version: Int, name: String, _ statements: [String], postgres: [String]? = nil) {
        self.module = module
        self.version = version
        self.name = name
        self.statements = statements
        self.postgresStatements = postgres
    }
}

/// Applies migrations in order, each in its own transaction, and records them in `o2o_migrations`.
public struct Migrator: Sendable {
    public let db: Database
    public let migrations: [Migration]
    let logger: Logger

    public init(db: Database, migrations: [Migration], logger: Logger) {
        self.db = db
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies what is missing; returns the names applied now.
    @discardableResult
    public func migrate(clock: any O2OClock = SystemClock()) async throws -> [String] {
        try await createLedger()
        var applied: [String] = []
        for m in migrations {
            let done = try await db.write { tx -> Bool in
                if try await tx.sql.raw("SELECT version FROM o2o_migrations WHERE module = \(bind: m.module) AND version = \(bind: m.version)").first() != nil {
                    return false
                }
                let statements = (tx.engine == .postgres ? m.postgresStatements : nil) ?? m.statements
                for statement in statements { try await tx.sql.raw(SQLQueryString(statement)).run() }
                try await tx.sql.raw("""
                    INSERT INTO o2o_migrations (module, version, name, applied_at)
                    VALUES (\(bind: m.module), \(bind: m.version), \(bind: m.name), \(bind: clock.now().epochMillis))
                    """).run()
                return true
            }
            if done {
                logger.info("migration applied", metadata: ["module": "\(m.module)", "version": "\(m.version)", "name": "\(m.name)"])
                applied.append("\(m.module)/\(m.version) \(m.name)")
            }
        }
        return applied
    }

    /// Migrations known to this binary that the database has not seen.
    public func pending() async throws -> [Migration] {
        try await createLedger()
        let rows = try await db.read { sql in
            try await sql.raw("SELECT module, version FROM o2o_migrations").all()
        }
        let seen = Set(try rows.map { "\(try $0.decode(column: "module", as: String.self))/\(try $0.decode(column: "version", as: Int.self))" })
        return migrations.filter { !seen.contains("\($0.module)/\($0.version)") }
    }
}

extension Migrator {
    /// The table that records applied migrations.
    private func createLedger() async throws {
        try await db.write { tx in
            try await tx.sql.raw("""
                CREATE TABLE IF NOT EXISTS o2o_migrations (
                    module TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL,
                    PRIMARY KEY (module, version))
                """).run()
        }
    }
}

extension SQLQueryString {
    init(_ text: String) {
        self.init(stringLiteral: "")
        self.appendInterpolation(unsafeRaw: text)
    }
}

extension SQLQueryString {
    /// `(?, ?, …)` binding each value, for `IN` lists; `(NULL)` when empty, which matches nothing.
    public static func list(_ values: [String]) -> SQLQueryString {
        guard !values.isEmpty else { return "(NULL)" }
        var q: SQLQueryString = "("
        for (i, v) in values.enumerated() { q += "\(unsafeRaw: i == 0 ? "" : ",")\(bind: v)" }
        q += ")"
        return q
    }
}
