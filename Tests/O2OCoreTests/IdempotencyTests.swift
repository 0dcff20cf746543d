import Foundation
import O2OCore
import O2OTestSupport
import Testing

@Suite("Idempotency keys")
struct IdempotencyTests {
    @Test(arguments: TestDatabase.engines)
    func claim_racingSameKey_onlyOneAcquires(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let store = IdempotencyStore(db: db, clock: SystemClock(), ttl: 3600)
            // act: 30 concurrent claims of one key
            let claims = try await withThrowingTaskGroup(of: IdempotencyStore.Claim.self) { group in
                for _ in 0..<30 { group.addTask { try await store.claim(principalId: "usr_1", key: "k1", requestHash: "h") } }
                return try await group.reduce(into: [IdempotencyStore.Claim]()) { $0.append($1) }
            }
            // check
            #expect(claims.filter { $0 == .acquired }.count == 1)
            #expect(claims.filter { $0 == .inProgress }.count == 29)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func claim_abandonedInProgress_isTakenOverAfterTheLease(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: a claim whose request never finished
            let clock = ManualClock()
            let store = IdempotencyStore(db: db, clock: clock, ttl: 3600, lease: 30)
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h") == .acquired)
            // act, check
            clock.advance(by: 29)
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h") == .inProgress)
            clock.advance(by: 2)
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h") == .acquired)
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h") == .inProgress)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func claim_abandonedAfterItsWorkCommitted_isNeverDoneTwice(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine, migrations: CoreMigrations.all + [scratchMigration]) { (db: Database) async throws in
            // setup: a keyed request whose work commits, then the process dies before the response is stored
            let clock = ManualClock()
            let store = IdempotencyStore(db: db, clock: clock, ttl: 3600, lease: 30)
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h") == .acquired)
            let mark = Database.CommitHook { tx in
                try await IdempotencyStore.markWorkCommitted(tx, principalId: "p", key: "k")
            }
            try await Database.$commitHook.withValue(mark) {
                try await db.write { tx in try await tx.sql.raw("INSERT INTO scratch (id, n) VALUES ('work', 1)").run() }
            }
            // act
            clock.advance(by: 31)
            let retry = try await store.claim(principalId: "p", key: "k", requestHash: "h")
            // check
            #expect(retry == .responseLost)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func claim_hookFailure_rollsBackTheWorkToo(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine, migrations: [scratchMigration]) { (db: Database) async throws in
            // setup
            let failing = Database.CommitHook { _ in throw TestFailure() }
            // act
            await #expect(throws: TestFailure.self) {
                try await Database.$commitHook.withValue(failing) {
                    try await db.write { tx in try await tx.sql.raw("INSERT INTO scratch (id, n) VALUES ('work', 1)").run() }
                }
            }
            // check
            #expect(try await TestDatabase.count("scratch", db) == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func claim_afterCompletion_replays_andOtherBodyMismatches_andExpiryFrees(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let clock = ManualClock()
            let store = IdempotencyStore(db: db, clock: clock, ttl: 60)
            let response = StoredResponse(status: 201, contentType: "application/json", body: Array("{\"id\":\"x\"}".utf8))
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h1") == .acquired)
            try await store.complete(principalId: "p", key: "k", response: response)
            // act, check
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h1") == .replay(response))
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h2") == .mismatch)
            #expect(try await store.claim(principalId: "other", key: "k", requestHash: "h2") == .acquired)
            clock.advance(by: 61)
            #expect(try await store.claim(principalId: "p", key: "k", requestHash: "h2") == .acquired)
            #expect(try await store.purgeExpired() == 1)  // the other principal's key, from the start
            clock.advance(by: 61)
            #expect(try await store.purgeExpired() == 1)
        }
    }
}
