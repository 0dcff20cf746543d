import Foundation
import O2OCore
import SQLKit

// MARK: - Segments (会员分群): rule-based, their membership materialised by a refresh

/// Which members a segment holds: every condition given must hold (a condition left out does not
/// narrow). Lists mean "any of", except `tagsAll`. An empty list is refused: leave it out instead.
///
/// Figures come from the members' counted spend (`member_spend`: completed orders positive,
/// returns negative): recency is the days since the last completed order, frequency the completed
/// orders in the last 365 days (a return does not uncount an order), monetary the net spend in
/// minor units over the same 365 days (returns subtracted). A member with no completed order has no
/// recency: no recency or last-purchase condition matches them (they are prospects, not lapsed).
public struct SegmentRule: Codable, Sendable, Equatable {
    /// The member's tier is one of these (a member never placed holds the ladder's first tier).
    public var tierCodes: [String]?
    /// The member has every one of these tags.
    public var tagsAll: [String]?
    /// The member has at least one of these tags.
    public var tagsAny: [String]?
    /// The member's preferred store is one of these location ids.
    public var preferredStoreIds: [String]?
    /// At most this many days since the last completed order (0: today).
    public var recencyDaysAtMost: Int?
    /// At least this many days since the last completed order (lapsed customers).
    public var recencyDaysAtLeast: Int?
    /// At least this many completed orders in the last 365 days.
    public var frequencyAtLeast: Int?
    /// At least this net spend (minor units) in the last 365 days.
    public var monetaryAtLeast: Int64?
    /// RFM scores 1–5 on the fixed scale of `RFMScale`; 1 matches every member.
    public var recencyScoreAtLeast: Int?
    public var frequencyScoreAtLeast: Int?
    public var monetaryScoreAtLeast: Int?
    /// The last completed order fell on or after this day / on or before this day (`YYYY-MM-DD`,
    /// days in the points policy's time zone, China by default).
    public var lastPurchaseFrom: String?
    public var lastPurchaseTo: String?
    /// The member's birthday is in one of these months (1–12).
    public var birthdayMonths: [Int]?
    /// The member has granted marketing consent on this channel.
    public var consentChannel: ConsentChannel?

    public init(tierCodes: [String]? = nil, tagsAll: [String]? = nil, tagsAny: [String]? = nil, preferredStoreIds: [String]? = nil,
                recencyDaysAtMost: Int? = nil, recencyDaysAtLeast: Int? = nil, frequencyAtLeast: Int? = nil, monetaryAtLeast: Int64? = nil,
                recencyScoreAtLeast: Int? = nil, frequencyScoreAtLeast: Int? = nil, monetaryScoreAtLeast: Int? = nil,
                lastPurchaseFrom: String? = nil, lastPurchaseTo: String? = nil, birthdayMonths: [Int]? = nil, consentChannel: ConsentChannel? = nil) {
        self.tierCodes = tierCodes
        self.tagsAll = tagsAll
        self.tagsAny = tagsAny
        self.preferredStoreIds = preferredStoreIds
        self.recencyDaysAtMost = recencyDaysAtMost
        self.recencyDaysAtLeast = recencyDaysAtLeast
        self.frequencyAtLeast = frequencyAtLeast
        self.monetaryAtLeast = monetaryAtLeast
        self.recencyScoreAtLeast = recencyScoreAtLeast
        self.frequencyScoreAtLeast = frequencyScoreAtLeast
        self.monetaryScoreAtLeast = monetaryScoreAtLeast
        self.lastPurchaseFrom = lastPurchaseFrom
        self.lastPurchaseTo = lastPurchaseTo
        self.birthdayMonths = birthdayMonths
        self.consentChannel = consentChannel
    }

    /// True when no condition is given (refused: a segment of everyone is not a segment).
    var isEmpty: Bool { self == SegmentRule() }
}

/// RFM scores on a fixed scale (not quintiles: a member's score does not move because other
/// members bought, and a segment's meaning stays the same from one refresh to the next). Score 1
/// is everyone; score k (2–5) needs the k−1'th figure of each list.
public enum RFMScale {
    /// Days since the last completed order, at most: 365 (2), 180 (3), 90 (4), 30 (5).
    public static let recencyDays = [365, 180, 90, 30]
    /// Completed orders in the last 365 days, at least: 2, 3, 6, 10.
    public static let frequencyOrders = [2, 3, 6, 10]
    /// Net spend in the last 365 days (minor units), at least: ¥200, ¥1,000, ¥5,000, ¥20,000.
    public static let monetaryMinor: [Int64] = [20_000, 100_000, 500_000, 2_000_000]
    /// The period frequency and monetary are measured over.
    public static let periodDays = 365

    public static func recencyScore(daysSince: Int?) -> Int {
        guard let daysSince else { return 1 }
        return 1 + recencyDays.filter { daysSince <= $0 }.count
    }

    public static func frequencyScore(orders: Int) -> Int { 1 + frequencyOrders.filter { orders >= $0 }.count }

    public static func monetaryScore(net: Int64) -> Int { 1 + monetaryMinor.filter { net >= $0 }.count }
}

/// A member's RFM figures and scores now.
public struct MemberRFM: Codable, Sendable, Equatable {
    public var memberId: String
    public var lastOrderAt: Date?
    /// Whole days since the last completed order; nil without one.
    public var daysSinceLastOrder: Int?
    public var orders: Int
    public var netSpend: Int64
    public var recencyScore: Int
    public var frequencyScore: Int
    public var monetaryScore: Int
}

public struct MemberSegment: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var name: String
    public var rule: SegmentRule
    /// Members in it at the last refresh.
    public var memberCount: Int
    public var refreshedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
}

extension MembersService {
    public static let maxSegmentListItems = 100

    /// Creates a segment and computes its membership, in one transaction. A rule with no
    /// condition, an unknown tier code, a month outside 1–12, a negative threshold, a score
    /// outside 1–5 or a code already taken is a 422 naming the field, and nothing is written.
    public func createSegment(code: String, name: String, rule: SegmentRule, caller: Caller) async throws -> MemberSegment {
        let clean = try Self.validateSegment(code: code, name: name, rule: rule)
        let now = clock.instant()
        return try await db.write { tx in
            let ladder = try await Self.ladder(tx.sql)
            var v = Validator()
            // Indexed as the request lists them.
            for (i, c) in (rule.tierCodes ?? []).enumerated() where ladder.rank(c) == nil {
                v.add("rule.tierCodes[\(i)]", "'\(c)' is not a tier of the ladder")
            }
            try v.finish()
            let id = O2OID.make("seg", at: now)
            let inserted = try await tx.sql.raw("""
                INSERT INTO member_segments (id, code, name, rule, member_count, refreshed_at, created_at, updated_at)
                VALUES (\(bind: id), \(bind: code), \(bind: name), \(bind: JSONCoding.string(clean)), 0, NULL, \(bind: now.epochMillis),
                        \(bind: now.epochMillis))
                ON CONFLICT (code) DO NOTHING RETURNING id
                """).first()
            guard inserted != nil else {
                let other = try await tx.sql.raw("SELECT id FROM member_segments WHERE code = \(bind: code)").first()?.decode(column: "id", as: String.self)
                throw Problem.validation([.init("code", "is already segment \(other ?? "?")")])
            }
            let created = MemberSegment(id: id, code: code, name: name, rule: clean, memberCount: 0, refreshedAt: nil, createdAt: now, updatedAt: now)
            let segment = try await self.materialise(created, ladder, at: now, tx)
            try await self.recorder.record(tx, caller: caller, action: "create_segment", entityType: "member_segment", entityId: id,
                                           before: MemberSegment?.none, after: segment, organisationId: nil, locationId: nil,
                                           event: "member.segment_created")
            return segment
        }
    }

    /// Recomputes who is in the segment now, in one transaction: the membership is replaced as a
    /// whole, and the segment records how many and when.
    public func refreshSegment(_ id: String, caller: Caller) async throws -> MemberSegment {
        let now = clock.instant()
        return try await db.write { tx in
            guard let before = try await Self.segment(id, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("segment", id) }
            let after = try await self.materialise(before, try await Self.ladder(tx.sql), at: now, tx)
            try await self.recorder.record(tx, caller: caller, action: "refresh_segment", entityType: "member_segment", entityId: id,
                                           before: before, after: after, organisationId: nil, locationId: nil, event: "member.segment_refreshed")
            return after
        }
    }

    public func segment(_ id: String) async throws -> MemberSegment {
        guard let s = try await db.read({ try await Self.segment(id, $0, lock: false) }) else { throw Problem.notFound("segment", id) }
        return s
    }

    /// Segments in the order they were created.
    public func segments(limit: Int = 50, cursor: String? = nil) async throws -> Page<MemberSegment> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        try v.finish()
        return try await db.page("SELECT * FROM member_segments WHERE 1=1", limit: limit, cursor: cursor, map: Self.decodeSegment, id: \.id)
    }

    /// The segment's members at its last refresh, in the order they joined, phones masked.
    public func segmentMembers(_ id: String, limit: Int = 50, cursor: String? = nil) async throws -> Page<MemberSummary> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        try v.finish()
        _ = try await segment(id)
        return try await db.page("SELECT * FROM members WHERE id IN (SELECT member_id FROM member_segment_members WHERE segment_id = \(bind: id))",
                                 limit: limit, cursor: cursor, map: { MemberSummary(try Self.decodeMember($0, identities: [])) }, id: \.id)
    }

    /// The segments the member is in at their last refresh, by id (for promotions' WHO). Joins the
    /// caller's transaction when called inside one.
    public func segmentIds(memberId: String) async throws -> [String] {
        try await db.read { sql in
            try await sql.raw("SELECT segment_id FROM member_segment_members WHERE member_id = \(bind: memberId) ORDER BY segment_id")
                .all().map { try $0.decode(column: "segment_id", as: String.self) }
        }
    }

    /// The member's RFM figures and scores now, as segments see them.
    public func rfm(_ memberId: String) async throws -> MemberRFM {
        let now = clock.instant()
        return try await db.read { sql in
            guard try await sql.raw("SELECT id FROM members WHERE id = \(bind: memberId)").first() != nil else { throw Problem.notFound("member", memberId) }
            var q = Self.spendFigures(since: Self.rfmSince(now))
            q += " WHERE member_id = \(bind: memberId) GROUP BY member_id"
            let row = try await sql.raw(q).first()
            let last = try row?.decode(column: "last_at", as: Int64?.self) ?? nil
            let orders = try row?.decode(column: "orders", as: Int.self) ?? 0
            let net = try row?.decode(column: "net", as: Int64.self) ?? 0
            let days = last.map { Int((now.epochMillis - $0) / Self.dayMillis) }
            return MemberRFM(memberId: memberId, lastOrderAt: last.map(Date.init(epochMillis:)), daysSinceLastOrder: days, orders: orders, netSpend: net,
                             recencyScore: RFMScale.recencyScore(daysSince: days), frequencyScore: RFMScale.frequencyScore(orders: orders),
                             monetaryScore: RFMScale.monetaryScore(net: net))
        }
    }

    // MARK: Materialising

    static let dayMillis: Int64 = 86_400_000

    static func rfmSince(_ now: Date) -> Int64 { now.epochMillis - Int64(RFMScale.periodDays) * dayMillis }

    /// Per member with counted spend: the last completed order, completed orders and net spend since `since`.
    static func spendFigures(since: Int64) -> SQLQueryString {
        """
        SELECT member_id, MAX(CASE WHEN reference_type = 'order' THEN at END) AS last_at,
            CAST(COALESCE(SUM(CASE WHEN reference_type = 'order' AND at >= \(bind: since) THEN 1 ELSE 0 END), 0) AS BIGINT) AS orders,
            CAST(COALESCE(SUM(CASE WHEN at >= \(bind: since) THEN amount ELSE 0 END), 0) AS BIGINT) AS net
        FROM member_spend
        """
    }

    /// Replaces the segment's membership with the members its rule selects now (one INSERT …
    /// SELECT: set-based on both engines) and records the count.
    func materialise(_ segment: MemberSegment, _ ladder: TierLadder, at now: Date, _ tx: Transaction) async throws -> MemberSegment {
        try await tx.sql.raw("DELETE FROM member_segment_members WHERE segment_id = \(bind: segment.id)").run()
        var q: SQLQueryString = """
            INSERT INTO member_segment_members (segment_id, member_id, added_at)
            SELECT \(bind: segment.id), m.id, \(bind: now.epochMillis) FROM members m
            LEFT JOIN member_tiers t ON t.member_id = m.id
            LEFT JOIN (\(Self.spendFigures(since: Self.rfmSince(now))) GROUP BY member_id) s ON s.member_id = m.id
            WHERE m.status = 'active'
            """
        q += Self.conditions(segment.rule, ladder, at: now, zone: points.timeZone)
        try await tx.sql.raw(q).run()
        let count = try await tx.sql.raw("""
            SELECT CAST(COUNT(*) AS BIGINT) AS n FROM member_segment_members WHERE segment_id = \(bind: segment.id)
            """).first()!.decode(column: "n", as: Int.self)
        try await tx.sql.raw("""
            UPDATE member_segments SET member_count = \(bind: count), refreshed_at = \(bind: now.epochMillis), updated_at = \(bind: now.epochMillis)
            WHERE id = \(bind: segment.id)
            """).run()
        var after = segment
        after.memberCount = count
        after.refreshedAt = now
        after.updatedAt = now
        return after
    }

    /// The rule as `AND …` over `m` (members), `t` (member_tiers) and `s` (the spend figures).
    /// RFM scores become the thresholds of their scale, so every spend condition is one of four
    /// bounds: last order at or after, at or before, orders at least, net spend at least.
    static func conditions(_ rule: SegmentRule, _ ladder: TierLadder, at now: Date, zone: TimeZone) -> SQLQueryString {
        var q: SQLQueryString = ""
        if let codes = rule.tierCodes {
            // A member never placed on the ladder holds its first tier.
            let first = ladder.tiers.first.map { codes.contains($0.code) } ?? false
            q += " AND (t.tier_code IN \(SQLQueryString.list(codes))\(unsafeRaw: first ? " OR t.tier_code IS NULL" : ""))"
        }
        for tag in rule.tagsAll ?? [] { q += " AND m.tags LIKE \(bind: tagPattern(tag)) ESCAPE '\\'" }
        if let any = rule.tagsAny {
            q += " AND ("
            for (i, tag) in any.enumerated() { q += "\(unsafeRaw: i == 0 ? "" : " OR ")m.tags LIKE \(bind: tagPattern(tag)) ESCAPE '\\'" }
            q += ")"
        }
        if let stores = rule.preferredStoreIds { q += " AND m.preferred_store_id IN \(SQLQueryString.list(stores))" }
        if let months = rule.birthdayMonths {
            q += " AND substr(m.birthday, 6, 2) IN \(SQLQueryString.list(months.map { String(format: "%02d", $0) }))"
        }
        if let channel = rule.consentChannel {
            q += """
                 AND EXISTS (SELECT 1 FROM member_consents c WHERE c.member_id = m.id AND c.channel = \(bind: channel.rawValue) AND c.granted = 1)
                """
        }
        // Days since the last order ≤ N: now − last < (N+1) days. ≥ N: now − last ≥ N days.
        var lastAtLeast: [Int64] = []
        var lastAtMost: [Int64] = []
        var recency = rule.recencyDaysAtMost.map { [$0] } ?? []
        if let k = rule.recencyScoreAtLeast, k >= 2 { recency.append(RFMScale.recencyDays[k - 2]) }
        if let n = recency.min() { lastAtLeast.append(now.epochMillis - Int64(n + 1) * dayMillis + 1) }
        if let n = rule.recencyDaysAtLeast { lastAtMost.append(now.epochMillis - Int64(n) * dayMillis) }
        if let from = rule.lastPurchaseFrom.flatMap({ startOfDay($0, zone) }) { lastAtLeast.append(from.epochMillis) }
        if let to = rule.lastPurchaseTo.flatMap({ startOfDay($0, zone) }) { lastAtMost.append(to.epochMillis + dayMillis - 1) }
        if let min = lastAtLeast.max() { q += " AND s.last_at >= \(bind: min)" }
        if let max = lastAtMost.min() { q += " AND s.last_at <= \(bind: max)" }
        var orders = rule.frequencyAtLeast.map { [$0] } ?? []
        if let k = rule.frequencyScoreAtLeast, k >= 2 { orders.append(RFMScale.frequencyOrders[k - 2]) }
        if let n = orders.max() { q += " AND COALESCE(s.orders, 0) >= \(bind: n)" }
        var net = rule.monetaryAtLeast.map { [$0] } ?? []
        if let k = rule.monetaryScoreAtLeast, k >= 2 { net.append(RFMScale.monetaryMinor[k - 2]) }
        if let n = net.max() { q += " AND COALESCE(s.net, 0) >= \(bind: n)" }
        return q
    }

    /// Midnight starting a `YYYY-MM-DD` day in `zone`.
    static func startOfDay(_ day: String, _ zone: TimeZone) -> Date? {
        guard let d = calendarDate(day) else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        return cal.date(from: DateComponents(year: d.year, month: d.month, day: d.day))
    }

    /// The LIKE pattern of one tag in the `tags` column: stored as a JSON array of codes (no quotes,
    /// no `%`); `_` is a LIKE wildcard, escaped with `\`.
    static func tagPattern(_ tag: String) -> String {
        "%\"" + tag.replacingOccurrences(of: "_", with: "\\_") + "\"%"
    }

    // MARK: Validation

    /// The rule with its tags and lists without duplicates; a 422 naming every field that is wrong.
    static func validateSegment(code: String, name: String, rule: SegmentRule) throws(Problem) -> SegmentRule {
        var v = Validator()
        v.code(code, "code", max: 40)
        v.text(name, "name", max: 100)
        var clean = rule
        if rule.isEmpty { v.add("rule", "give at least one condition") }
        func list<T: Hashable & Comparable>(_ values: [T]?, _ field: String, each: (T, String, inout Validator) -> Void) -> [T]? {
            guard let values else { return nil }
            if values.isEmpty { v.add(field, "must not be empty: leave it out for no condition") }
            v.check(values.count <= maxSegmentListItems, field, "must have at most \(maxSegmentListItems) items")
            for (i, x) in values.enumerated() { each(x, "\(field)[\(i)]", &v) }
            return Array(Set(values)).sorted()
        }
        clean.tierCodes = list(rule.tierCodes, "rule.tierCodes") { c, f, v in v.code(c, f, max: 40) }
        clean.tagsAll = list(rule.tagsAll, "rule.tagsAll") { t, f, v in v.code(t, f, max: 40) }
        clean.tagsAny = list(rule.tagsAny, "rule.tagsAny") { t, f, v in v.code(t, f, max: 40) }
        clean.preferredStoreIds = list(rule.preferredStoreIds, "rule.preferredStoreIds") { s, f, v in v.text(s, f, max: 100) }
        clean.birthdayMonths = list(rule.birthdayMonths, "rule.birthdayMonths") { m, f, v in v.range(m, f, 1...12) }
        v.range(rule.recencyDaysAtMost, "rule.recencyDaysAtMost", 0...36_500)
        v.range(rule.recencyDaysAtLeast, "rule.recencyDaysAtLeast", 0...36_500)
        v.range(rule.frequencyAtLeast, "rule.frequencyAtLeast", 0...1_000_000)
        v.range(rule.monetaryAtLeast, "rule.monetaryAtLeast", 0...(WalletPolicy.maxAmount * 1_000))
        v.range(rule.recencyScoreAtLeast, "rule.recencyScoreAtLeast", 1...5)
        v.range(rule.frequencyScoreAtLeast, "rule.frequencyScoreAtLeast", 1...5)
        v.range(rule.monetaryScoreAtLeast, "rule.monetaryScoreAtLeast", 1...5)
        if let most = rule.recencyDaysAtMost, let least = rule.recencyDaysAtLeast, least > most {
            v.add("rule.recencyDaysAtLeast", "must not be more than recencyDaysAtMost (\(most)): no member could match")
        }
        for (day, field) in [(rule.lastPurchaseFrom, "rule.lastPurchaseFrom"), (rule.lastPurchaseTo, "rule.lastPurchaseTo")] {
            if let day, calendarDate(day) == nil { v.add(field, "must be a date as YYYY-MM-DD") }
        }
        if let from = rule.lastPurchaseFrom, let to = rule.lastPurchaseTo, calendarDate(from) != nil, calendarDate(to) != nil, from > to {
            v.add("rule.lastPurchaseTo", "must not be before lastPurchaseFrom (\(from))")
        }
        try v.finish()
        return clean
    }

    // MARK: Rows

    static func segment(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> MemberSegment? {
        try await sql.raw("SELECT * FROM member_segments WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first().map(decodeSegment)
    }

    static func decodeSegment(_ r: any SQLRow) throws -> MemberSegment {
        MemberSegment(id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
                      name: try r.decode(column: "name", as: String.self),
                      rule: try JSONDecoder().decode(SegmentRule.self, from: Data(try r.decode(column: "rule", as: String.self).utf8)),
                      memberCount: try r.decode(column: "member_count", as: Int.self),
                      refreshedAt: try r.decode(column: "refreshed_at", as: Int64?.self).map(Date.init(epochMillis:)),
                      createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                      updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }
}
