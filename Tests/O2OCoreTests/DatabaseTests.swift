import Foundation
import O2OCore
import O2OTestSupport
import SQLKit
import Testing

let scratchMigration = Migration(module: "test", version: 1, name: "scratch", [
    "CREATE TABLE scratch (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
    "INSERT INTO scratch (id, n) VALUES ('counter', 0)",
])

struct TestFailure: Error {}

@Suite("Storage on every engine")
struct DatabaseTests {
    @Test("the PostgreSQL suite is enabled", .enabled(if: TestDatabase.postgresURL != nil, Comment(rawValue: TestDatabase.skipMessage)))
    func postgresSuite_isEnabled() async throws {
        // setup, act
        let engine = try await TestDatabase.with(.postgres, migrations: []) { db in db.engine }
        // check
        #expect(engine == .postgres)
    }

    @Test(arguments: TestDatabase.engines)
    func migrations_applyOnce_andAreRecorded(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine, migrations: []) { (db: Database) async throws in
            // setup
            let migrator = Migrator(db: db, migrations: [scratchMigration], logger: TestDatabase.logger)
            // act
            let first = try await migrator.migrate()
            let second = try await migrator.migrate()
            // check
            #expect(first.count == 1)
            #expect(second.isEmpty)
            #expect(try await migrator.pending().isEmpty)
            #expect(try await TestDatabase.count("o2o_migrations", db) == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func write_concurrentIncrements_loseNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine, migrations: [scratchMigration]) { (db: Database) async throws in
            // act: 200 concurrent read-modify-write transactions
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await db.write { tx in
                            let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
                            let n = try await tx.sql.raw("SELECT n FROM scratch WHERE id = 'counter'\(unsafeRaw: lock)").first()!.decode(column: "n", as: Int.self)
                            try await tx.sql.raw("UPDATE scratch SET n = \(bind: n + 1) WHERE id = 'counter'").run()
                        }
                    }
                }
                try await group.waitForAll()
            }
            // check
            let n = try await db.read { try await $0.raw("SELECT n FROM scratch WHERE id = 'counter'").first()!.decode(column: "n", as: Int.self) }
            #expect(n == 200)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func write_failingBodyInBatch_isRolledBackAlone(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine, migrations: [scratchMigration]) { (db: Database) async throws in
            // act: 100 concurrent writes; every fifth inserts, then fails
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        do {
                            try await db.write { tx in
                                try await tx.sql.raw("INSERT INTO scratch (id, n) VALUES (\(bind: "row\(i)"), \(bind: i))").run()
                                if i % 5 == 0 { throw TestFailure() }
                            }
                            return true
                        } catch is TestFailure {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            // check: exactly the successful ones are stored
            #expect(results.filter { $0 }.count == 80)
            #expect(try await TestDatabase.count("scratch", db) == 81)
            let failedStored = try await db.read { try await $0.raw("SELECT COUNT(*) AS n FROM scratch WHERE id LIKE 'row%' AND n % 5 = 0").first()!.decode(column: "n", as: Int.self) }
            #expect(failedStored == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func write_uniqueViolation_isClassified(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine, migrations: [scratchMigration]) { (db: Database) async throws in
            // act
            var kind: DatabaseErrorKind?
            do {
                try await db.write { tx in try await tx.sql.raw("INSERT INTO scratch (id, n) VALUES ('counter', 1)").run() }
            } catch {
                kind = Database.classify(error)
            }
            // check
            #expect(kind == .uniqueViolation)
        }
    }

    @Test func databaseLocation_parsesBothEngines_andRejectsOthers() throws {
        #expect(try DatabaseLocation(parsing: "sqlite:./x.sqlite").engine == .sqlite)
        let pg = try DatabaseLocation(parsing: "postgres://u:secret@db.local:6543/o2o")
        #expect(pg.engine == .postgres)
        #expect(!pg.description.contains("secret"))
        #expect(throws: DatabaseConfigurationError.self) { try DatabaseLocation(parsing: "mysql://x") }
        #expect(throws: DatabaseConfigurationError.self) { try DatabaseLocation(parsing: "postgres://host") }
    }

    @Test func ids_arePrefixed_andSortByTime() {
        let a = O2OID.make("loc", at: Date(timeIntervalSince1970: 1_700_000_000))
        let b = O2OID.make("loc", at: Date(timeIntervalSince1970: 1_700_000_001))
        #expect(a.hasPrefix("loc_"))
        #expect(a.count == 4 + 26)
        #expect(a < b)
        #expect(Set((0..<1000).map { _ in O2OID.make("x") }).count == 1000)
    }
}
