import Foundation
import O2OCore
import SQLKit

// MARK: - Tiers (会员等级): a ladder of levels reached by rolling spend or points, and what each gives

/// What a tier gives its members in every channel.
public struct TierBenefits: Codable, Sendable, Equatable {
    /// Member price: percent off the catalog price (0–90), applied by pricing before promotions.
    public var discountPercent: Int
    public var freeShipping: Bool
    /// Points earned per order, in percent of the base rate (100: as everyone; 150: one and a half times).
    public var pointsMultiplier: Int
    /// Points given once a year in the member's birthday month.
    public var birthdayGiftPoints: Int64

    public init(discountPercent: Int = 0, freeShipping: Bool = false, pointsMultiplier: Int = 100, birthdayGiftPoints: Int64 = 0) {
        self.discountPercent = discountPercent
        self.freeShipping = freeShipping
        self.pointsMultiplier = pointsMultiplier
        self.birthdayGiftPoints = birthdayGiftPoints
    }
}

public struct MemberTier: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    /// What reaching it takes over the rolling period: spend in minor units, or points earned.
    public var threshold: Int64
    public var benefits: TierBenefits

    public init(code: String, name: String, threshold: Int64, benefits: TierBenefits = .init()) {
        self.code = code
        self.name = name
        self.threshold = threshold
        self.benefits = benefits
    }
}

/// The brand's tiers, lowest first. A member reaches a tier as soon as an order's completion
/// takes their rolling spend (or points) over its threshold, and keeps it for `periodMonths`;
/// at the end of that period the tier is reviewed against the rolling figure then.
public struct TierLadder: Codable, Sendable, Equatable {
    public enum Basis: String, Codable, Sendable, CaseIterable {
        /// Completed orders' spend (minor units), less returns, over the last `periodMonths`.
        case spend
        /// Points earned over the last `periodMonths` (bonuses and adjustments included).
        case points
    }

    public enum Downgrade: String, Codable, Sendable, CaseIterable {
        /// To the tier the rolling figure reaches at the review.
        case toQualifying = "to_qualifying"
        /// At most one tier down per review.
        case oneLevel = "one_level"
    }

    public var basis: Basis
    public var periodMonths: Int
    public var downgrade: Downgrade
    /// Lowest first; the first is the tier every member starts in (threshold 0).
    public var tiers: [MemberTier]

    public init(basis: Basis = .spend, periodMonths: Int = 12, downgrade: Downgrade = .oneLevel, tiers: [MemberTier] = []) {
        self.basis = basis
        self.periodMonths = periodMonths
        self.downgrade = downgrade
        self.tiers = tiers
    }

    public static let maxTiers = 20

    func rank(_ code: String?) -> Int? { code.flatMap { c in tiers.firstIndex { $0.code == c } } }

    /// The rank of a member holding `code`; a member never placed is in the first tier.
    func held(_ code: String?) -> Int? { rank(code) ?? (tiers.isEmpty ? nil : 0) }

    /// The highest tier `figure` reaches.
    func qualifying(_ figure: Int64) -> Int? { tiers.lastIndex { $0.threshold <= figure } }
}

/// Where a member stands on the ladder.
public struct MemberTierStatus: Codable, Sendable, Equatable {
    public var memberId: String
    /// nil while the brand has no tiers.
    public var tier: MemberTier?
    public var reachedAt: Date?
    /// When the tier is next reviewed (kept at least until then).
    public var keptUntil: Date?
    public var basis: TierLadder.Basis
    /// The rolling figure the ladder is measured on (spend in minor units, or points).
    public var rolling: Int64
    /// The next tier up and what is left to reach it.
    public var next: MemberTier?
    public var toNext: Int64?
}

/// A completed order as the members context sees it: what counts toward tiers and earns points.
public struct OrderCompletion: Sendable, Equatable {
    public var orderId: String
    /// What the member paid for goods, in minor units (points tendered and shipping left out).
    public var amount: Int64
    /// Extra points a promotion gives, in percent of the tier's rate (100: none).
    public var promotionMultiplier: Int
    /// The channel it was sold on, and `amount` by category (summing to it), for the earn rules;
    /// without lines the whole amount earns at the channel's rate.
    public var channelId: String?
    public var lines: [EarnLine]

    public init(orderId: String, amount: Int64, promotionMultiplier: Int = 100, channelId: String? = nil, lines: [EarnLine] = []) {
        self.orderId = orderId
        self.amount = amount
        self.promotionMultiplier = promotionMultiplier
        self.channelId = channelId
        self.lines = lines
    }
}

public struct TierChange: Codable, Sendable, Equatable {
    public var from: String?
    public var to: String?
    public var reason: String

    public init(from: String?, to: String?, reason: String) {
        self.from = from
        self.to = to
        self.reason = reason
    }
}

public struct CompletionPosting: Sendable, Equatable {
    public var points: PointsPosting?
    public var tierChange: TierChange?
    /// The order had already been counted: nothing new was written.
    public var replayed: Bool
}

extension MembersService {
    // MARK: The ladder

    public func tierLadder() async throws -> TierLadder {
        try await db.read { try await Self.ladder($0) }
    }

    /// Replaces the ladder. Members keep the tier they have (reviewed at their period's end); a
    /// member in a tier that no longer exists is placed by their rolling figure at once.
    public func setTierLadder(_ ladder: TierLadder, caller: Caller) async throws -> TierLadder {
        try Self.validate(ladder)
        let now = clock.instant()
        return try await db.write { tx in
            let before = try await Self.ladder(tx.sql)
            try await tx.sql.raw("DELETE FROM member_tier_ladder").run()
            try await tx.sql.raw("""
                INSERT INTO member_tier_ladder (id, body, updated_at) VALUES ('brand', \(bind: JSONCoding.string(ladder)), \(bind: now.epochMillis))
                """).run()
            let codes = ladder.tiers.map(\.code)
            let orphans = try await tx.sql.raw("SELECT member_id FROM member_tiers WHERE tier_code NOT IN \(SQLQueryString.list(codes.isEmpty ? [""] : codes))")
                .all().map { try $0.decode(column: "member_id", as: String.self) }
            for id in orphans {
                _ = try await self.place(id, ladder, at: now, reason: "the tier was removed from the ladder", reachedBy: nil, tx, caller: caller,
                                         mode: .exact)
            }
            try await self.recorder.record(tx, caller: caller, action: "set_tiers", entityType: "member_tiers", entityId: "brand",
                                           before: before, after: ladder, organisationId: nil, locationId: nil, event: "member.tiers_changed")
            return ladder
        }
    }

    public func tierStatus(_ memberId: String) async throws -> MemberTierStatus {
        let now = clock.instant()
        return try await db.read { sql in
            guard try await sql.raw("SELECT id FROM members WHERE id = \(bind: memberId)").first() != nil else {
                throw Problem.notFound("member", memberId)
            }
            let ladder = try await Self.ladder(sql)
            let row = try await Self.tierRow(memberId, sql)
            let rolling = try await Self.rolling(memberId, ladder, at: now, sql)
            let rank = ladder.held(row?.code)
            let next = ladder.tiers.indices.contains((rank ?? -1) + 1) ? ladder.tiers[(rank ?? -1) + 1] : nil
            return MemberTierStatus(memberId: memberId, tier: rank.map { ladder.tiers[$0] }, reachedAt: row?.reachedAt, keptUntil: row?.keptUntil,
                                    basis: ladder.basis, rolling: rolling, next: next, toNext: next.map { max(0, $0.threshold - rolling) })
        }
    }

    /// The member's tier now, with its benefits (nil without a ladder). Cheaper than
    /// `tierStatus`: no rolling figure.
    public func tier(_ memberId: String) async throws -> MemberTier? {
        try await db.read { sql in
            let ladder = try await Self.ladder(sql)
            guard let r = ladder.held(try await Self.tierRow(memberId, sql)?.code) else { return nil }
            return ladder.tiers[r]
        }
    }

    /// The benefits of the member's tier now (none without a ladder or a tier).
    public func benefits(_ memberId: String) async throws -> TierBenefits? {
        try await tier(memberId)?.benefits
    }

    // MARK: Orders completed and returned

    /// Counts a completed order toward the member's tier and earns its points, at the rate of
    /// the tier the member had when the order completed, inside the order's own transaction.
    /// The same order counted again writes nothing.
    public func orderCompleted(_ memberId: String, _ c: OrderCompletion, caller: Caller, in tx: Transaction) async throws -> CompletionPosting {
        var v = Validator()
        v.text(c.orderId, "orderId", max: 100)
        v.check((0...WalletPolicy.maxAmount * 100).contains(c.amount), "amount", "must be zero or more minor units")
        v.range(c.promotionMultiplier, "promotionMultiplier", 100...1000)
        try v.finish()
        let now = clock.instant()
        _ = try await lockPoints(memberId, tx)
        guard try await Self.addSpend(memberId, reference: LedgerReference(type: "order", id: c.orderId), amount: c.amount, at: now, tx) else {
            return CompletionPosting(points: nil, tierChange: nil, replayed: true)
        }
        let ladder = try await Self.ladder(tx.sql)
        let held = try await Self.tierRow(memberId, tx.sql)
        let multiplier = ladder.held(held?.code).map { ladder.tiers[$0].benefits.pointsMultiplier } ?? 100
        let rules = try await Self.earnRules(tx.sql)
        let base = c.lines.isEmpty ? c.amount * Int64(rules.percent(channelId: c.channelId, categoryId: nil)) / 100
            : c.lines.reduce(Int64(0)) { $0 + $1.amount * Int64(rules.percent(channelId: c.channelId, categoryId: $1.categoryId)) / 100 }
        let earned = base * points.earnPerYuan / 100 * Int64(multiplier) / 100 * Int64(c.promotionMultiplier) / 100
        var posting: PointsPosting?
        if earned > 0 {
            posting = try await earnPoints(memberId, points: earned, reference: LedgerReference(type: "order", id: c.orderId),
                                           reason: "order completed", caller: caller, in: tx)
        }
        let change = try await place(memberId, ladder, at: now, reason: "order \(c.orderId) completed", reachedBy: c.orderId, tx, caller: caller,
                                     mode: .upOnly)
        try await referralOnCompletion(memberId, orderId: c.orderId, at: now, caller: caller, tx)
        return CompletionPosting(points: posting, tierChange: change, replayed: false)
    }

    /// Takes a return off the member's rolling spend and takes back the points the returned part
    /// earned. A tier that this order's completion reached, and that the member no longer
    /// reaches without it, is taken back.
    public func orderReturned(_ memberId: String, orderId: String, returnId: String, amount: Int64, caller: Caller,
                              in tx: Transaction) async throws -> CompletionPosting {
        var v = Validator()
        v.text(orderId, "orderId", max: 100)
        v.text(returnId, "returnId", max: 100)
        v.check(amount > 0 && amount <= WalletPolicy.maxAmount * 100, "amount", "must be a positive number of minor units")
        try v.finish()
        let now = clock.instant()
        _ = try await lockPoints(memberId, tx)
        let orderRef = LedgerReference(type: "order", id: orderId)
        guard let counted = try await Self.spend(memberId, orderRef, tx.sql) else {
            throw Problem.conflict("Order \(orderId) was never counted for member \(memberId): there is nothing to return.", kind: "not-counted")
        }
        let returned = try await Self.returnedSoFar(memberId, orderId, tx.sql)
        guard amount <= counted - returned else {
            throw Problem.validation([.init("amount", "at most \(counted - returned): order \(orderId) counted \(counted), of which \(returned) is returned")])
        }
        guard try await Self.addSpend(memberId, reference: LedgerReference(type: "return", id: returnId), amount: -amount, at: now, tx,
                                      refersTo: orderId) else {
            return CompletionPosting(points: nil, tierChange: nil, replayed: true)
        }
        var posting: PointsPosting?
        if let earn = try await Self.pointsEntry(memberId, .earn, orderRef, reverses: nil, tx.sql), earn.delta > 0 {
            let back = earn.delta * amount / counted
            if back > 0 {
                posting = try await reversePointsEarn(memberId, earn: orderRef, points: back, reference: LedgerReference(type: "return", id: returnId),
                                                      caller: caller, in: tx)
            }
        }
        let ladder = try await Self.ladder(tx.sql)
        var change: TierChange?
        if let held = try await Self.tierRow(memberId, tx.sql), held.reachedBy == orderId {
            change = try await place(memberId, ladder, at: now, reason: "order \(orderId) returned", reachedBy: nil, tx, caller: caller,
                                     mode: .floor(held.previous))
        }
        try await referralOnReturn(memberId, orderId: orderId, at: now, caller: caller, tx)
        return CompletionPosting(points: posting, tierChange: change, replayed: false)
    }

    // MARK: Reviews and birthday gifts

    /// Reviews members whose tier period ended by `now` (about `limit` per call): each is placed
    /// by the ladder's downgrade rule and keeps the result for another period. Returns how many.
    @discardableResult
    public func reviewTiers(now: Date, limit: Int = 500) async throws -> Int {
        let due = try await db.read { sql in
            try await sql.raw("SELECT member_id FROM member_tiers WHERE kept_until <= \(bind: now.epochMillis) ORDER BY kept_until LIMIT \(unsafeRaw: String(limit))")
                .all().map { try $0.decode(column: "member_id", as: String.self) }
        }
        guard !due.isEmpty else { return 0 }
        try await db.write { tx in
            let ladder = try await Self.ladder(tx.sql)
            for id in due {
                _ = try await self.lockPoints(id, tx)
                guard let held = try await Self.tierRow(id, tx.sql), held.keptUntil <= now else { continue }
                _ = try await self.place(id, ladder, at: now, reason: "period review", reachedBy: nil, tx, caller: .system, mode: .review(held.code))
            }
        }
        return due.count
    }

    /// Gives each member whose birthday is `day` (in the points policy's zone) their tier's
    /// birthday points, once a year. Returns how many members got them.
    @discardableResult
    public func grantBirthdayGifts(on day: Date) async throws -> Int {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = points.timeZone
        let d = cal.dateComponents([.year, .month, .day], from: day)
        let ladder = try await tierLadder()
        let gifting = ladder.tiers.filter { $0.benefits.birthdayGiftPoints > 0 }
        guard !gifting.isEmpty else { return 0 }
        let monthDay = String(format: "-%02d-%02d", d.month!, d.day!)
        let members = try await db.read { sql in
            try await sql.raw("""
                SELECT m.id, t.tier_code FROM members m JOIN member_tiers t ON t.member_id = m.id
                WHERE m.birthday LIKE \(bind: "%" + monthDay) AND t.tier_code IN \(SQLQueryString.list(gifting.map(\.code)))
                """).all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "tier_code", as: String.self)) }
        }
        var given = 0
        for (id, code) in members {
            let gift = gifting.first { $0.code == code }!.benefits.birthdayGiftPoints
            let p = try await earnPoints(id, points: gift, reference: LedgerReference(type: "birthday", id: String(d.year!)),
                                         reason: "birthday gift (\(code))", caller: .system)
            if !p.replayed { given += 1 }
        }
        return given
    }

    // MARK: Placing a member on the ladder

    enum Placement {
        /// Only ever up (an order completed).
        case upOnly
        /// Where the figure puts them, never below `floor` (a return takes back what its order reached).
        case floor(String?)
        /// At the end of the period, by the ladder's downgrade rule from the tier held.
        case review(String)
        /// Exactly where the figure puts them.
        case exact
    }

    /// Moves the member to the tier `mode` says and records the change; nil when nothing changed
    /// (a review that keeps the tier still renews its period).
    func place(_ memberId: String, _ ladder: TierLadder, at now: Date, reason: String, reachedBy: String?, _ tx: Transaction, caller: Caller,
               mode: Placement) async throws -> TierChange? {
        guard !ladder.tiers.isEmpty else { return nil }
        let held = try await Self.tierRow(memberId, tx.sql)
        let heldRank = ladder.held(held?.code)
        let figure = ladder.qualifying(try await Self.rolling(memberId, ladder, at: now, tx.sql)) ?? 0
        let target: Int
        switch mode {
        case .upOnly: target = max(figure, heldRank ?? 0)
        case .floor(let floor): target = max(figure, ladder.rank(floor) ?? 0)
        case .exact: target = figure
        case .review(let code):
            let h = ladder.rank(code) ?? 0
            target = ladder.downgrade == .oneLevel ? max(figure, h - 1) : figure
        }
        let code = ladder.tiers[target].code
        let until = Calendar(identifier: .gregorian).date(byAdding: .month, value: ladder.periodMonths, to: now)!
        if let held, held.code == code {
            if case .review = mode {
                try await tx.sql.raw("UPDATE member_tiers SET kept_until = \(bind: until.epochMillis), updated_at = \(bind: now.epochMillis) WHERE member_id = \(bind: memberId)").run()
            }
            return nil
        }
        try await tx.sql.raw("DELETE FROM member_tiers WHERE member_id = \(bind: memberId)").run()
        try await tx.sql.raw("""
            INSERT INTO member_tiers (member_id, tier_code, previous_code, reached_at, reached_by, kept_until, updated_at)
            VALUES (\(bind: memberId), \(bind: code), \(bind: held?.code), \(bind: now.epochMillis), \(bind: reachedBy), \(bind: until.epochMillis),
                    \(bind: now.epochMillis))
            """).run()
        let change = TierChange(from: held?.code, to: code, reason: reason)
        try await recorder.record(tx, caller: caller, action: "tier_change", entityType: "member", entityId: memberId, before: TierChange?.none,
                                  after: change, organisationId: nil, locationId: nil, event: "member.tier_changed")
        return change
    }

    // MARK: Rows

    struct TierRow {
        var code: String
        var previous: String?
        var reachedAt: Date
        var reachedBy: String?
        var keptUntil: Date
    }

    static func tierRow(_ memberId: String, _ sql: any SQLDatabase) async throws -> TierRow? {
        try await sql.raw("SELECT * FROM member_tiers WHERE member_id = \(bind: memberId)").first().map { r in
            TierRow(code: try r.decode(column: "tier_code", as: String.self), previous: try r.decode(column: "previous_code", as: String?.self),
                    reachedAt: Date(epochMillis: try r.decode(column: "reached_at", as: Int64.self)),
                    reachedBy: try r.decode(column: "reached_by", as: String?.self),
                    keptUntil: Date(epochMillis: try r.decode(column: "kept_until", as: Int64.self)))
        }
    }

    static func ladder(_ sql: any SQLDatabase) async throws -> TierLadder {
        guard let row = try await sql.raw("SELECT body FROM member_tier_ladder WHERE id = 'brand'").first() else { return TierLadder() }
        return try JSONDecoder().decode(TierLadder.self, from: Data(try row.decode(column: "body", as: String.self).utf8))
    }

    /// The figure the ladder measures over its period up to `now`.
    static func rolling(_ memberId: String, _ ladder: TierLadder, at now: Date, _ sql: any SQLDatabase) async throws -> Int64 {
        let since = Calendar(identifier: .gregorian).date(byAdding: .month, value: -ladder.periodMonths, to: now)!.epochMillis
        let q: SQLQueryString = switch ladder.basis {
        case .spend: "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM member_spend WHERE member_id = \(bind: memberId) AND at >= \(bind: since)"
        case .points:
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS n FROM member_points_ledger WHERE member_id = \(bind: memberId) AND at >= \(bind: since) AND delta > 0 AND kind IN ('earn', 'adjust')"
        }
        return try await sql.raw(q).first()!.decode(column: "n", as: Int64.self)
    }

    /// Adds a spend row; false when the reference was already counted.
    static func addSpend(_ memberId: String, reference: LedgerReference, amount: Int64, at: Date, _ tx: Transaction,
                         refersTo: String? = nil) async throws -> Bool {
        try await tx.sql.raw("""
            INSERT INTO member_spend (member_id, reference_type, reference_id, refers_to, amount, at)
            VALUES (\(bind: memberId), \(bind: reference.type), \(bind: reference.id), \(bind: refersTo), \(bind: amount), \(bind: at.epochMillis))
            ON CONFLICT (member_id, reference_type, reference_id) DO NOTHING RETURNING member_id
            """).first() != nil
    }

    static func spend(_ memberId: String, _ reference: LedgerReference, _ sql: any SQLDatabase) async throws -> Int64? {
        try await sql.raw("""
            SELECT amount FROM member_spend WHERE member_id = \(bind: memberId) AND reference_type = \(bind: reference.type)
            AND reference_id = \(bind: reference.id)
            """).first().map { try $0.decode(column: "amount", as: Int64.self) }
    }

    static func returnedSoFar(_ memberId: String, _ orderId: String, _ sql: any SQLDatabase) async throws -> Int64 {
        -(try await sql.raw("""
            SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM member_spend WHERE member_id = \(bind: memberId) AND reference_type = 'return'
            AND refers_to = \(bind: orderId)
            """).first()!.decode(column: "n", as: Int64.self))
    }

    // MARK: Validation

    static func validate(_ ladder: TierLadder) throws(Problem) {
        var v = Validator()
        v.range(ladder.periodMonths, "periodMonths", 1...36)
        v.check(ladder.tiers.count <= TierLadder.maxTiers, "tiers", "must have at most \(TierLadder.maxTiers) tiers")
        var seen: Set<String> = []
        for (i, t) in ladder.tiers.enumerated() {
            let f = "tiers[\(i)]"
            v.code(t.code, "\(f).code", max: 40)
            v.check(seen.insert(t.code).inserted, "\(f).code", "'\(t.code)' is already tier \(ladder.tiers.firstIndex { $0.code == t.code } ?? 0)")
            v.text(t.name, "\(f).name", max: 100)
            if i == 0 {
                v.check(t.threshold == 0, "\(f).threshold", "must be 0: the first tier is where every member starts")
            } else {
                v.check(t.threshold > ladder.tiers[i - 1].threshold, "\(f).threshold",
                        "must be more than tier \(i - 1)'s (\(ladder.tiers[i - 1].threshold)): tiers go from lowest to highest")
            }
            v.range(t.benefits.discountPercent, "\(f).benefits.discountPercent", 0...90)
            v.range(t.benefits.pointsMultiplier, "\(f).benefits.pointsMultiplier", 100...1000)
            v.check((0...PointsPolicy.maxPoints).contains(t.benefits.birthdayGiftPoints), "\(f).benefits.birthdayGiftPoints",
                    "must be from 0 to \(PointsPolicy.maxPoints)")
        }
        try v.finish()
    }
}
