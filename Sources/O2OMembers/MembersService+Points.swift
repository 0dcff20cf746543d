import Foundation
import O2OCore
import SQLKit

/// When earned points expire.
public struct PointsPolicy: Sendable {
    public enum Expiry: Sendable, Equatable {
        /// At the end of the calendar year after the one they were earned in (earned any day of
        /// 2025: gone at 2027-01-01 00:00 in `timeZone`). The common Chinese retail rule.
        case endOfFollowingYear
        /// A fixed number of days after they were earned.
        case afterDays(Int)
        /// Never.
        case never
    }

    public var expiry: Expiry
    /// Where "the end of the year" is reckoned.
    public var timeZone: TimeZone
    /// Points that pay one minor unit when points are a tender (1: 100 points pay ¥1.00).
    public var pointsPerMinorUnit: Int64
    /// The most of an order's total points may pay, in percent.
    public var maxOrderShare: Int
    /// Points a completed order earns per yuan (100 minor units) paid, before tier and promotion multipliers.
    public var earnPerYuan: Int64

    public init(expiry: Expiry = .endOfFollowingYear, timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!,
                pointsPerMinorUnit: Int64 = 1, maxOrderShare: Int = 50, earnPerYuan: Int64 = 1) {
        self.expiry = expiry
        self.timeZone = timeZone
        self.pointsPerMinorUnit = pointsPerMinorUnit
        self.maxOrderShare = maxOrderShare
        self.earnPerYuan = earnPerYuan
    }

    /// The most points one posting may move.
    public static let maxPoints: Int64 = 1_000_000_000

    /// When points earned at `earnedAt` expire; nil for never.
    public func expiresAt(earnedAt: Date) -> Date? {
        switch expiry {
        case .never:
            return nil
        case .afterDays(let days):
            return earnedAt.addingTimeInterval(Double(days) * 86_400)
        case .endOfFollowingYear:
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = timeZone
            let year = cal.component(.year, from: earnedAt)
            return cal.date(from: DateComponents(year: year + 2, month: 1, day: 1))!
        }
    }
}

// MARK: - Points (积分): a ledger of earns, redemptions, expiries and reversals over expiring lots

extension MembersService {
    /// Adds points (an order completed, a bonus action) as a lot that expires by the policy.
    /// Posting the same reference again returns the first posting.
    public func earnPoints(_ memberId: String, points: Int64, reference: LedgerReference, reason: String? = nil,
                           caller: Caller) async throws -> PointsPosting {
        try Self.validatePosting(points: points, reference: reference, reason: reason, reasonRequired: false)
        return try await db.write { tx in try await self.earn(memberId, points, reference, reason, caller, tx) }
    }

    /// The same inside another module's transaction (an order's completion).
    public func earnPoints(_ memberId: String, points: Int64, reference: LedgerReference, reason: String? = nil,
                           caller: Caller, in tx: Transaction) async throws -> PointsPosting {
        try Self.validatePosting(points: points, reference: reference, reason: reason, reasonRequired: false)
        return try await earn(memberId, points, reference, reason, caller, tx)
    }

    /// Spends points (a tender of an order), from the soonest-expiring lots first; refuses more
    /// than the balance (`insufficientPoints`, nothing written). Lots already past their expiry
    /// are expired first, so they cannot be spent.
    public func redeemPoints(_ memberId: String, points: Int64, reference: LedgerReference, caller: Caller) async throws -> PointsPosting {
        try Self.validatePosting(points: points, reference: reference, reason: nil, reasonRequired: false)
        return try await db.write { tx in try await self.consume(memberId, points, .redeem, reference, nil, caller, tx) }
    }

    /// The same inside another module's transaction (placing an order paid partly with points).
    public func redeemPoints(_ memberId: String, points: Int64, reference: LedgerReference, caller: Caller,
                             in tx: Transaction) async throws -> PointsPosting {
        try Self.validatePosting(points: points, reference: reference, reason: nil, reasonRequired: false)
        return try await consume(memberId, points, .redeem, reference, nil, caller, tx)
    }

    /// Takes back the points of an earn (its order was returned): `points` of it, or all not yet
    /// taken back. What is left of the earn's lot goes first; what the member already spent of it
    /// is taken from the rest of the balance. The balance never goes below zero: what cannot be
    /// taken is posted as asked but not moved, and reported as the posting's `shortfall` (points
    /// of the lot that expired unused are not taken from other lots either: the member lost them).
    public func reversePointsEarn(_ memberId: String, earn: LedgerReference, points: Int64? = nil, reference: LedgerReference,
                                  caller: Caller) async throws -> PointsPosting {
        try Self.validateReversal(original: earn, points: points, reference: reference)
        return try await db.write { tx in try await self.reverseEarn(memberId, earn, points, reference, caller, tx) }
    }

    public func reversePointsEarn(_ memberId: String, earn: LedgerReference, points: Int64? = nil, reference: LedgerReference,
                                  caller: Caller, in tx: Transaction) async throws -> PointsPosting {
        try Self.validateReversal(original: earn, points: points, reference: reference)
        return try await reverseEarn(memberId, earn, points, reference, caller, tx)
    }

    /// Gives back the points of a redemption (the order paid with them was refunded): `points`
    /// of it, or all not yet given back, as new lots with the expiry of the lots they came from
    /// (latest-expiring first when only part is given back).
    public func reversePointsRedeem(_ memberId: String, redeem: LedgerReference, points: Int64? = nil, reference: LedgerReference,
                                    caller: Caller) async throws -> PointsPosting {
        try Self.validateReversal(original: redeem, points: points, reference: reference)
        return try await db.write { tx in try await self.reverseRedeem(memberId, redeem, points, reference, caller, tx) }
    }

    public func reversePointsRedeem(_ memberId: String, redeem: LedgerReference, points: Int64? = nil, reference: LedgerReference,
                                    caller: Caller, in tx: Transaction) async throws -> PointsPosting {
        try Self.validateReversal(original: redeem, points: points, reference: reference)
        return try await reverseRedeem(memberId, redeem, points, reference, caller, tx)
    }

    /// A manual correction with a reason: positive adds a lot that expires by the policy, negative
    /// takes from the lots like a redemption (and never below zero).
    public func adjustPoints(_ memberId: String, delta: Int64, reference: LedgerReference, reason: String, caller: Caller) async throws -> PointsPosting {
        try Self.validatePosting(points: delta == Int64.min ? 0 : abs(delta), reference: reference, reason: reason, reasonRequired: true,
                                 field: "delta")
        return try await db.write { tx in
            if delta > 0 { return try await self.earn(memberId, delta, reference, reason, caller, tx, kind: .adjust) }
            return try await self.consume(memberId, -delta, .adjust, reference, reason, caller, tx)
        }
    }

    /// Expires what is left of every lot past its expiry at `now`, up to about `limit` lots (all
    /// the due lots of the members reached), in one transaction; returns how many lots expired.
    /// Safe to run in several processes at once: members are locked in id order and a lot
    /// emptied meanwhile is skipped.
    @discardableResult
    public func expireDue(now: Date, limit: Int = 500) async throws -> Int {
        let at = Date(epochMillis: now.epochMillis)
        let members = try await db.read { sql in
            try await sql.raw("""
                SELECT member_id FROM member_points_lots WHERE remaining > 0 AND expires_at <= \(bind: at.epochMillis)
                ORDER BY expires_at, id LIMIT \(literal: max(1, limit))
                """).all().map { try $0.decode(column: "member_id", as: String.self) }
        }
        guard !members.isEmpty else { return 0 }
        return try await db.write { tx in
            var expired = 0
            for memberId in Set(members).sorted() {
                _ = try await self.lockPoints(memberId, tx)
                expired += try await self.expireMember(memberId, at: at, caller: .system, tx).lots
            }
            return expired
        }
    }

    // MARK: Reading

    public func pointsBalance(_ memberId: String) async throws -> PointsBalance {
        try await db.read { sql in
            guard let row = try await sql.raw("SELECT balance FROM member_points_balances WHERE member_id = \(bind: memberId)").first() else {
                throw Problem.notFound("member", memberId)
            }
            let lots = try await Self.openLots(memberId, sql).map {
                PointsLot(id: $0.id, entryId: $0.entryId, points: $0.points, remaining: $0.remaining, expiresAt: $0.expiresAt)
            }
            return PointsBalance(memberId: memberId, balance: try row.decode(column: "balance", as: Int64.self), lots: lots)
        }
    }

    /// The member's points ledger, newest first.
    public func pointsLedger(_ memberId: String, limit: Int = 50, cursor: String? = nil) async throws -> Page<PointsEntry> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        try v.finish()
        return try await db.page("SELECT * FROM member_points_ledger WHERE member_id = \(bind: memberId)", limit: limit, cursor: cursor,
                                 order: .newestFirst, map: Self.pointsEntry, id: \.id)
    }

    /// Members whose points balance differs from the sum of their ledger or from what is left in
    /// their lots, or is below zero. One statement over every member, read through covering
    /// indexes (no ledger row can lack its balance row: the ledger references it). SQLite sums
    /// each member's rows by seeking the (member_id, …, delta) index; PostgreSQL aggregates each
    /// table once and hash-joins the aggregates to the balances.
    public func verifyPoints() async throws -> [PointsMismatch] {
        try await db.read { sql in
            let rows: [any SQLRow]
            if self.db.engine == .postgres {
                rows = try await sql.raw("""
                    SELECT b.member_id, b.balance, COALESCE(l.total, 0) AS ledger, COALESCE(t.total, 0) AS lots
                    FROM member_points_balances b
                    LEFT JOIN (SELECT member_id, CAST(SUM(delta) AS BIGINT) AS total FROM member_points_ledger GROUP BY member_id) l
                        ON l.member_id = b.member_id
                    LEFT JOIN (SELECT member_id, CAST(SUM(remaining) AS BIGINT) AS total FROM member_points_lots WHERE remaining > 0
                               GROUP BY member_id) t ON t.member_id = b.member_id
                    WHERE b.balance <> COALESCE(l.total, 0) OR b.balance <> COALESCE(t.total, 0) OR b.balance < 0
                    ORDER BY b.member_id
                    """).all()
            } else {
                rows = try await sql.raw("""
                    SELECT * FROM (
                        SELECT b.member_id, b.balance,
                            (SELECT COALESCE(SUM(l.delta), 0) FROM member_points_ledger l WHERE l.member_id = b.member_id) AS ledger,
                            (SELECT COALESCE(SUM(t.remaining), 0) FROM member_points_lots t WHERE t.member_id = b.member_id AND t.remaining > 0) AS lots
                        FROM member_points_balances b) x
                    WHERE balance <> ledger OR balance <> lots OR balance < 0
                    ORDER BY member_id
                    """).all()
            }
            return try rows.map { r in
                PointsMismatch(memberId: try r.decode(column: "member_id", as: String.self), balance: try r.decode(column: "balance", as: Int64.self),
                               ledger: try r.decode(column: "ledger", as: Int64.self), lots: try r.decode(column: "lots", as: Int64.self))
            }
        }
    }

    /// Points and wallet checked together.
    public func verify() async throws -> MembersVerifyReport {
        MembersVerifyReport(points: try await verifyPoints(), wallet: try await verifyWallet())
    }

    // MARK: Postings

    private func earn(_ memberId: String, _ points: Int64, _ reference: LedgerReference, _ reason: String?, _ caller: Caller,
                      _ tx: Transaction, kind: PointsEntryKind = .earn) async throws -> PointsPosting {
        let balance = try await lockPoints(memberId, tx)
        if let done = try await Self.pointsEntry(memberId, kind, reference, reverses: nil, tx.sql) {
            return try replay(done, requested: points, balance: balance)
        }
        let now = clock.instant()
        let entry = PointsEntry(id: O2OID.make("pte", at: now), memberId: memberId, kind: kind, delta: points, requested: points,
                                reference: reference, reverses: nil, expiresAt: self.points.expiresAt(earnedAt: now), reason: reason,
                                at: now, actorId: caller.principal.id)
        try await insert(entry, caller, tx)
        try await Self.insertLot(memberId, entryId: entry.id, points: points, expiresAt: entry.expiresAt, at: now, tx)
        return try await post(entry, from: balance, caller, tx)
    }

    /// A redemption or a negative adjustment: soonest-expiring lots first, never below zero.
    private func consume(_ memberId: String, _ points: Int64, _ kind: PointsEntryKind, _ reference: LedgerReference, _ reason: String?,
                         _ caller: Caller, _ tx: Transaction) async throws -> PointsPosting {
        var balance = try await lockPoints(memberId, tx)
        if let done = try await Self.pointsEntry(memberId, kind, reference, reverses: nil, tx.sql) {
            return try replay(done, requested: points, balance: balance)
        }
        let now = clock.instant()
        balance = try await expireMember(memberId, at: now, caller: caller, tx).balance
        guard balance >= points else { throw MembersError.insufficientPoints(memberId: memberId, balance: balance, requested: points) }
        let entry = PointsEntry(id: O2OID.make("pte", at: now), memberId: memberId, kind: kind, delta: -points, requested: points,
                                reference: reference, reverses: nil, expiresAt: nil, reason: reason, at: now, actorId: caller.principal.id)
        try await insert(entry, caller, tx)
        let taken = try await take(points, from: memberId, for: entry.id, tx)
        guard taken == points else { throw Self.lotsDisagree(memberId, balance: balance, lots: taken) }
        return try await post(entry, from: balance, caller, tx)
    }

    private func reverseEarn(_ memberId: String, _ earnRef: LedgerReference, _ points: Int64?, _ reference: LedgerReference,
                             _ caller: Caller, _ tx: Transaction) async throws -> PointsPosting {
        var balance = try await lockPoints(memberId, tx)
        guard let original = try await Self.pointsEntry(memberId, .earn, earnRef, reverses: nil, tx.sql) else {
            throw Problem.notFound("points earn", "\(earnRef.type) \(earnRef.id)")
        }
        if let done = try await Self.pointsEntry(memberId, .reverse, reference, reverses: original.id, tx.sql) {
            return try replay(done, requested: points ?? done.requested, balance: balance)
        }
        let (already, alreadyTaken) = try await Self.reversed(original.id, tx.sql)
        let requested = points ?? (original.delta - already)
        guard requested > 0, already + requested <= original.delta else {
            throw MembersError.exceedsOriginal(earnRef, original: original.delta, alreadyReversed: already, requested: requested)
        }
        let now = clock.instant()
        balance = try await expireMember(memberId, at: now, caller: caller, tx).balance
        // What is left of the earn's own lot first; then what the member spent of it (not what
        // expired, and not what earlier reversals already took), from the other lots while the
        // balance lasts.
        let lot = try await tx.sql.raw("SELECT id, remaining FROM member_points_lots WHERE entry_id = \(bind: original.id)").first()
        let lotId = try lot?.decode(column: "id", as: String.self)
        let lotLeft = try lot?.decode(column: "remaining", as: Int64.self) ?? 0
        var expiredFromLot: Int64 = 0, reversedFromLot: Int64 = 0
        if let lotId, let row = try await tx.sql.raw("""
            SELECT CAST(COALESCE(SUM(CASE WHEN e.kind = 'expire' THEN a.points ELSE 0 END), 0) AS BIGINT) AS expired,
                   CAST(COALESCE(SUM(CASE WHEN e.kind = 'reverse' THEN a.points ELSE 0 END), 0) AS BIGINT) AS reversed
            FROM member_points_allocations a JOIN member_points_ledger e ON e.id = a.entry_id WHERE a.lot_id = \(bind: lotId)
            """).first() {
            expiredFromLot = try row.decode(column: "expired", as: Int64.self)
            reversedFromLot = try row.decode(column: "reversed", as: Int64.self)
        }
        let spent = original.delta - lotLeft - expiredFromLot - reversedFromLot
        let spentNotYetTaken = max(0, spent - (alreadyTaken - reversedFromLot))
        let fromLot = min(requested, lotLeft)
        let fromOthers = max(0, min(requested - fromLot, spentNotYetTaken, balance - fromLot))
        let entry = PointsEntry(id: O2OID.make("pte", at: now), memberId: memberId, kind: .reverse, delta: -(fromLot + fromOthers),
                                requested: requested, reference: reference, reverses: original.id, expiresAt: nil, reason: nil,
                                at: now, actorId: caller.principal.id)
        try await insert(entry, caller, tx)
        let taken = try await take(fromLot + fromOthers, from: memberId, for: entry.id, first: lotId, tx)
        guard taken == fromLot + fromOthers else { throw Self.lotsDisagree(memberId, balance: balance, lots: taken) }
        return try await post(entry, from: balance, caller, tx)
    }

    private func reverseRedeem(_ memberId: String, _ redeemRef: LedgerReference, _ points: Int64?, _ reference: LedgerReference,
                               _ caller: Caller, _ tx: Transaction) async throws -> PointsPosting {
        let balance = try await lockPoints(memberId, tx)
        guard let original = try await Self.pointsEntry(memberId, .redeem, redeemRef, reverses: nil, tx.sql) else {
            throw Problem.notFound("points redemption", "\(redeemRef.type) \(redeemRef.id)")
        }
        if let done = try await Self.pointsEntry(memberId, .reverse, reference, reverses: original.id, tx.sql) {
            return try replay(done, requested: points ?? done.requested, balance: balance)
        }
        let (already, _) = try await Self.reversed(original.id, tx.sql)
        let requested = points ?? (-original.delta - already)
        guard requested > 0, already + requested <= -original.delta else {
            throw MembersError.exceedsOriginal(redeemRef, original: -original.delta, alreadyReversed: already, requested: requested)
        }
        let now = clock.instant()
        let entry = PointsEntry(id: O2OID.make("pte", at: now), memberId: memberId, kind: .reverse, delta: requested, requested: requested,
                                reference: reference, reverses: original.id, expiresAt: nil, reason: nil, at: now, actorId: caller.principal.id)
        try await insert(entry, caller, tx)
        // The lots the redemption took from, latest-expiring (never-expiring) first.
        let sources = try await tx.sql.raw("""
            SELECT a.lot_id, a.points, a.returned, l.expires_at FROM member_points_allocations a
            JOIN member_points_lots l ON l.id = a.lot_id
            WHERE a.entry_id = \(bind: original.id) AND a.points > a.returned
            ORDER BY CASE WHEN l.expires_at IS NULL THEN 0 ELSE 1 END, l.expires_at DESC, a.lot_id DESC
            """).all()
        var left = requested
        for s in sources where left > 0 {
            let lotId = try s.decode(column: "lot_id", as: String.self)
            let give = min(left, try s.decode(column: "points", as: Int64.self) - s.decode(column: "returned", as: Int64.self))
            let expires = try s.decode(column: "expires_at", as: Int64?.self).map(Date.init(epochMillis:))
            try await Self.insertLot(memberId, entryId: entry.id, points: give, expiresAt: expires, at: now, tx)
            try await tx.sql.raw("""
                UPDATE member_points_allocations SET returned = returned + \(bind: give)
                WHERE entry_id = \(bind: original.id) AND lot_id = \(bind: lotId)
                """).run()
            left -= give
        }
        guard left == 0 else { throw Self.lotsDisagree(memberId, balance: balance, lots: requested - left) }
        return try await post(entry, from: balance, caller, tx)
    }

    /// Posts an expire row for every lot of the member past its expiry at `at`; the member's
    /// balance row must be locked. Returns how many lots expired and the balance after.
    func expireMember(_ memberId: String, at: Date, caller: Caller, _ tx: Transaction) async throws -> (lots: Int, balance: Int64) {
        var balance = try await tx.sql.raw("SELECT balance FROM member_points_balances WHERE member_id = \(bind: memberId)").first()!
            .decode(column: "balance", as: Int64.self)
        let due = try await tx.sql.raw("""
            SELECT id, remaining FROM member_points_lots
            WHERE member_id = \(bind: memberId) AND remaining > 0 AND expires_at <= \(bind: at.epochMillis)
            ORDER BY expires_at, id
            """).all()
        for lot in due {
            let lotId = try lot.decode(column: "id", as: String.self)
            let left = try lot.decode(column: "remaining", as: Int64.self)
            let entry = PointsEntry(id: O2OID.make("pte", at: at), memberId: memberId, kind: .expire, delta: -left, requested: left,
                                    reference: LedgerReference(type: "points_lot", id: lotId), reverses: nil, expiresAt: nil, reason: nil,
                                    at: at, actorId: caller.principal.id)
            try await insert(entry, caller, tx)
            try await Self.takeFromLot(lotId, left, for: entry.id, tx)
            balance = try await post(entry, from: balance, caller, tx).balance
        }
        return (due.count, balance)
    }

    // MARK: Ledger primitives

    /// The member's points balance, its row locked until the transaction ends (on SQLite the single
    /// writer already runs one transaction at a time). 404 when there is no such member.
    func lockPoints(_ memberId: String, _ tx: Transaction) async throws -> Int64 {
        let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
        guard let row = try await tx.sql.raw("""
            SELECT balance FROM member_points_balances WHERE member_id = \(bind: memberId)\(unsafeRaw: lock)
            """).first() else { throw Problem.notFound("member", memberId) }
        return try row.decode(column: "balance", as: Int64.self)
    }

    /// A retry of a posting already made: the first posting, unless it asked for another amount.
    private func replay(_ done: PointsEntry, requested: Int64, balance: Int64) throws -> PointsPosting {
        guard done.requested == requested else { throw MembersError.referenceReused(done.reference, posted: done.requested, requested: requested) }
        return PointsPosting(entry: done, balance: balance, replayed: true)
    }

    func insert(_ e: PointsEntry, _ caller: Caller, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO member_points_ledger (id, member_id, kind, delta, requested, reference_type, reference_id, reverses, expires_at, reason,
                at, actor_id, request_id)
            VALUES (\(bind: e.id), \(bind: e.memberId), \(bind: e.kind.rawValue), \(bind: e.delta), \(bind: e.requested), \(bind: e.reference.type),
                    \(bind: e.reference.id), \(bind: e.reverses ?? ""), \(bind: e.expiresAt?.epochMillis), \(bind: e.reason), \(bind: e.at.epochMillis),
                    \(bind: e.actorId), \(bind: caller.requestId))
            """).run()
    }

    private struct PointsChange: Codable, Sendable {
        var balance: Int64
        var entry: PointsEntry?
    }

    /// Moves the balance by the entry's delta (never below zero) and records the change.
    func post(_ entry: PointsEntry, from balance: Int64, _ caller: Caller, _ tx: Transaction) async throws -> PointsPosting {
        guard let row = try await tx.sql.raw("""
            UPDATE member_points_balances SET balance = balance + \(bind: entry.delta), updated_at = \(bind: entry.at.epochMillis)
            WHERE member_id = \(bind: entry.memberId) AND balance + \(bind: entry.delta) >= 0 RETURNING balance
            """).first() else {
            throw MembersError.insufficientPoints(memberId: entry.memberId, balance: balance, requested: -entry.delta)
        }
        let after = try row.decode(column: "balance", as: Int64.self)
        try await recorder.record(tx, caller: caller, action: "points_\(entry.kind.rawValue)", entityType: "member", entityId: entry.memberId,
                                  before: PointsChange(balance: balance, entry: nil), after: PointsChange(balance: after, entry: entry),
                                  organisationId: nil, locationId: nil, event: "member.points_posted")
        return PointsPosting(entry: entry, balance: after, replayed: false)
    }

    struct OpenLot: Sendable {
        var id: String
        var entryId: String
        var points: Int64
        var remaining: Int64
        var expiresAt: Date?
    }

    /// Lots with points left, soonest-expiring first (never-expiring last), then oldest first.
    static func openLots(_ memberId: String, _ sql: any SQLDatabase) async throws -> [OpenLot] {
        try await sql.raw("""
            SELECT id, entry_id, points, remaining, expires_at FROM member_points_lots WHERE member_id = \(bind: memberId) AND remaining > 0
            ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id
            """).all().map { r in
            OpenLot(id: try r.decode(column: "id", as: String.self), entryId: try r.decode(column: "entry_id", as: String.self),
                    points: try r.decode(column: "points", as: Int64.self), remaining: try r.decode(column: "remaining", as: Int64.self),
                    expiresAt: try r.decode(column: "expires_at", as: Int64?.self).map(Date.init(epochMillis:)))
        }
    }

    /// Takes up to `amount` from the member's open lots (the lot `first` before the others, then
    /// soonest-expiring first) for the entry, recording what each lot gave; returns what was taken.
    private func take(_ amount: Int64, from memberId: String, for entryId: String, first: String? = nil, _ tx: Transaction) async throws -> Int64 {
        guard amount > 0 else { return 0 }
        var lots = try await Self.openLots(memberId, tx.sql)
        if let first, let i = lots.firstIndex(where: { $0.id == first }) { lots.insert(lots.remove(at: i), at: 0) }
        var left = amount
        for lot in lots where left > 0 {
            let t = min(left, lot.remaining)
            try await Self.takeFromLot(lot.id, t, for: entryId, tx)
            left -= t
        }
        return amount - left
    }

    static func takeFromLot(_ lotId: String, _ points: Int64, for entryId: String, _ tx: Transaction) async throws {
        guard try await tx.sql.raw("""
            UPDATE member_points_lots SET remaining = remaining - \(bind: points) WHERE id = \(bind: lotId) AND remaining >= \(bind: points)
            RETURNING remaining
            """).first() != nil else { throw Problem.conflict("Points lot \(lotId) changed while it was being used; retry.") }
        try await tx.sql.raw("""
            INSERT INTO member_points_allocations (entry_id, lot_id, points, returned) VALUES (\(bind: entryId), \(bind: lotId), \(bind: points), 0)
            """).run()
    }

    @discardableResult
    static func insertLot(_ memberId: String, entryId: String, points: Int64, expiresAt: Date?, at now: Date, _ tx: Transaction) async throws -> String {
        let id = O2OID.make("ptl", at: now)
        try await tx.sql.raw("""
            INSERT INTO member_points_lots (id, member_id, entry_id, points, remaining, expires_at, created_at)
            VALUES (\(bind: id), \(bind: memberId), \(bind: entryId), \(bind: points), \(bind: points),
                    \(bind: expiresAt?.epochMillis), \(bind: now.epochMillis))
            """).run()
        return id
    }

    /// What the reversals of an entry asked for so far (the shortfalls of earlier ones included,
    /// so an earn is never asked back twice) and what they moved.
    static func reversed(_ entryId: String, _ sql: any SQLDatabase) async throws -> (requested: Int64, moved: Int64) {
        guard let row = try await sql.raw("""
            SELECT CAST(COALESCE(SUM(requested), 0) AS BIGINT) AS requested, CAST(COALESCE(SUM(ABS(delta)), 0) AS BIGINT) AS moved
            FROM member_points_ledger WHERE kind = 'reverse' AND reverses = \(bind: entryId)
            """).first() else { return (0, 0) }
        return (try row.decode(column: "requested", as: Int64.self), try row.decode(column: "moved", as: Int64.self))
    }

    static func pointsEntry(_ memberId: String, _ kind: PointsEntryKind, _ reference: LedgerReference, reverses: String?,
                            _ sql: any SQLDatabase) async throws -> PointsEntry? {
        try await sql.raw("""
            SELECT * FROM member_points_ledger WHERE member_id = \(bind: memberId) AND kind = \(bind: kind.rawValue)
            AND reference_type = \(bind: reference.type) AND reference_id = \(bind: reference.id) AND reverses = \(bind: reverses ?? "")
            """).first().map(pointsEntry)
    }

    static func pointsEntry(_ r: any SQLRow) throws -> PointsEntry {
        let reverses = try r.decode(column: "reverses", as: String.self)
        return PointsEntry(
            id: try r.decode(column: "id", as: String.self), memberId: try r.decode(column: "member_id", as: String.self),
            kind: PointsEntryKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .adjust,
            delta: try r.decode(column: "delta", as: Int64.self), requested: try r.decode(column: "requested", as: Int64.self),
            reference: LedgerReference(type: try r.decode(column: "reference_type", as: String.self), id: try r.decode(column: "reference_id", as: String.self)),
            reverses: reverses.isEmpty ? nil : reverses, expiresAt: try r.decode(column: "expires_at", as: Int64?.self).map(Date.init(epochMillis:)),
            reason: try r.decode(column: "reason", as: String?.self), at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
            actorId: try r.decode(column: "actor_id", as: String.self))
    }

    /// The balance says there is more than the lots hold: a broken invariant, reported, never papered over.
    static func lotsDisagree(_ memberId: String, balance: Int64, lots: Int64) -> Problem {
        Problem(kind: "ledger-inconsistent", title: "Points ledger inconsistent", status: 500,
                detail: "Member \(memberId)'s balance is \(balance) but its lots gave \(lots); run the members verify.")
    }

    // MARK: Validation

    static func validateReference(_ reference: LedgerReference, _ v: inout Validator) {
        v.text(reference.type, "reference.type", max: 40)
        v.text(reference.id, "reference.id", max: 100)
    }

    static func validatePosting(points: Int64, reference: LedgerReference, reason: String?, reasonRequired: Bool,
                                field: String = "points") throws(Problem) {
        var v = Validator()
        v.check((1...PointsPolicy.maxPoints).contains(points), field,
                field == "delta" ? "must be a whole number from -\(PointsPolicy.maxPoints) to \(PointsPolicy.maxPoints), not 0"
                                 : "must be a whole number from 1 to \(PointsPolicy.maxPoints)")
        validateReference(reference, &v)
        v.text(reason, "reason", required: reasonRequired, max: 500)
        try v.finish()
    }

    static func validateReversal(original: LedgerReference, points: Int64?, reference: LedgerReference) throws(Problem) {
        var v = Validator()
        if let points { v.check((1...PointsPolicy.maxPoints).contains(points), "points", "must be a whole number from 1 to \(PointsPolicy.maxPoints)") }
        v.text(original.type, "original.type", max: 40)
        v.text(original.id, "original.id", max: 100)
        validateReference(reference, &v)
        try v.finish()
    }
}
