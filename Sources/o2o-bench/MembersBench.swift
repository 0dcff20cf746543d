import ArgumentParser
import Foundation
import O2OCore
import O2OMembers
import O2OServer
import SQLKit

/// `o2o-bench members`: the points and wallet ledgers at scale. Loads `--members` members with an
/// earn, a redemption, a top-up and a payment each (set-based SQL, the rows the service would have
/// written), times `verify()` over all of them, checks it finds balances changed behind the
/// ledger's back, then measures earn + redeem through the service with `--concurrency` tasks.
struct MembersBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "Points and wallet: verify() over N members' ledgers, and earn+redeem postings per second.")

    @Option(help: "sqlite:PATH or postgres://…; must hold no members yet. Default: a temporary SQLite file.") var database: String?
    @Option(help: "sqlite or postgres (postgres: a fresh database on the server O2O_TEST_POSTGRES_URL names).") var engine: Engine?
    @Flag(help: "Keep the database afterwards.") var keep = false
    @Option(help: "Members to load for the balance check.") var members = 1_000_000
    @Option(help: "Seconds of earn+redeem postings.") var seconds = 10.0
    @Option(help: "Tasks posting at once, each on a member of its own.") var concurrency = 64

    func run() async throws {
        let (n, seconds, concurrency) = (members, seconds, concurrency)
        try await BenchDatabase.withServices(database: database, engine: engine, keep: keep) { services, bench in
            print("database: \(bench.description)")
            let (_, loadMs) = try await timed { try await Self.load(n, services.db) }
            print("loaded \(n) members (2 points rows, a lot, an allocation, 2 wallet rows each) in \(Int(loadMs)) ms")

            let (points, pointsMs) = try await timed { try await services.members.verifyPoints() }
            let (wallet, walletMs) = try await timed { try await services.members.verifyWallet() }
            print("verifyPoints over \(n) members: \(Int(pointsMs)) ms, \(points.count) mismatches")
            print("verifyWallet over \(n) members: \(Int(walletMs)) ms, \(wallet.count) mismatches")
            guard points.isEmpty, wallet.isEmpty else { throw ValidationError("the loaded ledgers should agree with their balances") }

            // Two balances changed behind the ledger's back must be exactly what verify reports.
            let broken = ["mem_b" + String(format: "%09d", 7), "mem_b" + String(format: "%09d", n)]
            try await services.db.write { tx in
                try await tx.sql.raw("UPDATE member_points_balances SET balance = balance + 1 WHERE member_id = \(bind: broken[0])").run()
                try await tx.sql.raw("UPDATE member_wallet_balances SET bonus = bonus - 1 WHERE member_id = \(bind: broken[1])").run()
            }
            let (found, foundMs) = try await timed { try await services.members.verify() }
            print("verify after breaking 2 members: \(Int(foundMs)) ms, found \(found.points.map(\.memberId) + found.wallet.map(\.memberId))")
            guard found.points.map(\.memberId) == [broken[0]], found.wallet.map(\.memberId) == [broken[1]] else {
                throw ValidationError("verify did not find exactly the broken members")
            }
            try await services.db.write { tx in
                try await tx.sql.raw("UPDATE member_points_balances SET balance = balance - 1 WHERE member_id = \(bind: broken[0])").run()
                try await tx.sql.raw("UPDATE member_wallet_balances SET bonus = bonus + 1 WHERE member_id = \(bind: broken[1])").run()
            }

            try await Self.postings(services.members, seconds: seconds, concurrency: concurrency)
        }
    }

    /// `n` members, each with 100 points earned and 30 redeemed (70 left in one lot), ¥100.00 + ¥10.00
    /// bonus topped up and ¥11.00 paid: one INSERT … SELECT over a generated series per table.
    static func load(_ n: Int, _ db: Database) async throws {
        let postgres = db.engine == .postgres
        // `i` runs from 1 to n; `p` is it zero-padded, so ids sort like the service's.
        let series = postgres ? "FROM generate_series(1, \(n)) AS g(i)" : "FROM g"
        let with = postgres ? "" : "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < \(n)) "
        let p = postgres ? "lpad(i::text, 9, '0')" : "printf('%09d', i)"
        let statements = [
            """
            INSERT INTO members (id, phone, tags, created_channel, version, created_at, updated_at)
            \(with)SELECT 'mem_b' || \(p), '+8613' || \(p), '[]', 'bench', 1, 0, 0 \(series)
            """,
            "INSERT INTO member_points_balances (member_id, balance, updated_at) \(with)SELECT 'mem_b' || \(p), 70, 0 \(series)",
            """
            INSERT INTO member_points_ledger (id, member_id, kind, delta, requested, reference_type, reference_id, reverses, expires_at, at, actor_id)
            \(with)SELECT 'pte_e' || \(p), 'mem_b' || \(p), 'earn', 100, 100, 'order', 'oe' || \(p), '', 4102444800000, 0, 'bench' \(series)
            """,
            """
            INSERT INTO member_points_ledger (id, member_id, kind, delta, requested, reference_type, reference_id, reverses, at, actor_id)
            \(with)SELECT 'pte_r' || \(p), 'mem_b' || \(p), 'redeem', -30, 30, 'order', 'or' || \(p), '', 1, 'bench' \(series)
            """,
            """
            INSERT INTO member_points_lots (id, member_id, entry_id, points, remaining, expires_at, created_at)
            \(with)SELECT 'ptl_' || \(p), 'mem_b' || \(p), 'pte_e' || \(p), 100, 70, 4102444800000, 0 \(series)
            """,
            "INSERT INTO member_points_allocations (entry_id, lot_id, points, returned) \(with)SELECT 'pte_r' || \(p), 'ptl_' || \(p), 30, 0 \(series)",
            """
            INSERT INTO member_wallet_balances (member_id, currency, principal, bonus, updated_at)
            \(with)SELECT 'mem_b' || \(p), 'CNY', 9000, 900, 0 \(series)
            """,
            """
            INSERT INTO member_wallet_ledger (id, member_id, kind, currency, d_principal, d_bonus, reference_type, reference_id, at, actor_id)
            \(with)SELECT 'wle_t' || \(p), 'mem_b' || \(p), 'top_up', 'CNY', 10000, 1000, 'payment', 'pt' || \(p), 0, 'bench' \(series)
            """,
            """
            INSERT INTO member_wallet_ledger (id, member_id, kind, currency, d_principal, d_bonus, reference_type, reference_id, at, actor_id)
            \(with)SELECT 'wle_p' || \(p), 'mem_b' || \(p), 'pay', 'CNY', -1000, -100, 'order', 'op' || \(p), 1, 'bench' \(series)
            """,
        ]
        for statement in statements {
            try await db.write { tx in try await tx.sql.raw(SQLQueryString(stringLiteral: statement)).run() }
        }
        // Fresh statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) would keep them.
        try await db.write { tx in try await tx.sql.raw("ANALYZE").run() }
    }

    /// `concurrency` tasks, each earning 10 points and redeeming them again on a member of its
    /// own, for `seconds`; every call is one durable transaction (grouped on SQLite).
    static func postings(_ members: MembersService, seconds: Double, concurrency: Int) async throws {
        var ids: [String] = []
        for i in 0..<concurrency {
            ids.append(try await members.findOrCreate(phone: "+86 150 " + String(format: "%08d", i), channel: "bench", caller: .system).member.id)
        }
        let samples = SampleBox()
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (t, id) in ids.enumerated() {
                group.addTask {
                    var k = 0
                    while ContinuousClock.now < deadline {
                        let ref = LedgerReference(type: "bench", id: "\(t)-\(k)")
                        let (_, earnMs) = try await timed { try await members.earnPoints(id, points: 10, reference: ref, caller: .system) }
                        let (_, redeemMs) = try await timed { try await members.redeemPoints(id, points: 10, reference: ref, caller: .system) }
                        samples.add(earnMs)
                        samples.add(redeemMs)
                        k += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let l = Latencies(samples.values)
        print(String(format: "earn+redeem: %d postings in %.1f s = %.0f/s at %d tasks; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f",
                     l.count, elapsed, Double(l.count) / elapsed, concurrency, l.p50, l.p90, l.p99, l.max))
        let report = try await members.verify()
        print("verify after the postings: \(report.ok ? "ok" : "MISMATCH \(report.points) \(report.wallet)")")
        guard report.ok else { throw ValidationError("ledger and balances disagree after the postings") }
    }
}
