import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport

/// A fresh database with the members tables, the service over it and a manual clock that starts
/// on 2025-03-10 (points earned then expire at the end of 2026, China time).
struct Club {
    let members: MembersService
    let db: Database
    let clock: ManualClock
    /// Where the sender delivers messages of every channel.
    let outbox: LogMessageAdapter

    static let start = Date(timeIntervalSince1970: 1_741_564_800)  // 2025-03-10T00:00:00Z

    static func with<T: Sendable>(_ engine: DatabaseEngine, points: PointsPolicy = .init(),
                                  wallet: WalletPolicy = .init(bonusTiers: [.init(minimum: 50_000, bonus: 2_000), .init(minimum: 100_000, bonus: 10_000)]),
                                  _ body: @escaping @Sendable (Club) async throws -> T) async throws -> T {
        let clock = ManualClock(start)
        return try await TestDatabase.with(engine, migrations: CoreMigrations.all + MembersMigrations.all) { db in
            let outbox = LogMessageAdapter()
            let members = MembersService(db: db, clock: clock, points: points, wallet: wallet, messageAdapters: MembersService.logAdapters(outbox))
            return try await body(Club(members: members, db: db, clock: clock, outbox: outbox))
        }
    }

    /// A member created at the till with a number of its own.
    func member(_ phone: String = "13812345678") async throws -> Member {
        try await members.findOrCreate(phone: phone, channel: "pos", caller: .system).member
    }

    func count(_ table: String) async throws -> Int { try await TestDatabase.count(table, db) }

    /// Rows of every members table plus audit and outbox, for "nothing was written".
    func snapshot() async throws -> [String: Int] {
        var n: [String: Int] = [:]
        for t in ["members", "member_identities", "member_points_balances", "member_points_ledger", "member_points_lots",
                  "member_points_allocations", "member_wallet_balances", "member_wallet_ledger", "member_tiers", "member_spend", "member_tier_ladder",
                  "member_consents", "member_merges", "member_referrals", "member_segments", "member_segment_members",
                  "member_message_templates", "member_messaging_policy", "member_campaigns", "member_messages",
                  "audit_events", "outbox_events"] {
            n[t] = try await count(t)
        }
        return n
    }

    /// An instant given as China local time.
    static func china(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0) -> Date {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return cal.date(from: DateComponents(year: year, month: month, day: day, hour: hour))!
    }

    /// Moves the clock to an instant (never back).
    func move(to date: Date) { clock.advance(by: date.timeIntervalSince(clock.now())) }
}

func order(_ id: String) -> LedgerReference { LedgerReference(type: "order", id: id) }

extension Problem {
    var fields: Set<String> { Set((errors ?? []).map(\.field)) }
}
