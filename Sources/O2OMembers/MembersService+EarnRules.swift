import Foundation
import O2OCore
import SQLKit

// MARK: - Points earn rules: per channel and category

/// How much of the base points rate a sale earns where it was sold and what it was: 0 earns
/// nothing (gift cards, a clearance category), 200 earns double (the brand's own app).
public struct PointsEarnRule: Codable, Sendable, Equatable {
    /// A channel id; nil: every channel.
    public var channelId: String?
    /// A category id; nil: every category.
    public var categoryId: String?
    /// Percent of the base rate (`PointsPolicy.earnPerYuan`), before tier and promotion multipliers.
    public var percent: Int

    public init(channelId: String? = nil, categoryId: String? = nil, percent: Int) {
        self.channelId = channelId
        self.categoryId = categoryId
        self.percent = percent
    }
}

/// The brand's earn rules. For a line the most specific rule wins: channel and category, then the
/// category in any channel, then the channel for any category; with none, 100%.
public struct PointsEarnRules: Codable, Sendable, Equatable {
    public var rules: [PointsEarnRule]
    public var updatedAt: Date?

    public init(rules: [PointsEarnRule] = [], updatedAt: Date? = nil) {
        self.rules = rules
        self.updatedAt = updatedAt
    }

    public static let maxRules = 500

    /// The percent of the base rate for a line sold on `channelId` of `categoryId`.
    public func percent(channelId: String?, categoryId: String?) -> Int {
        let match = { (channel: String?, category: String?) in rules.first { $0.channelId == channel && $0.categoryId == category }?.percent }
        if let channelId, let categoryId, let p = match(channelId, categoryId) { return p }
        if let categoryId, let p = match(nil, categoryId) { return p }
        if let channelId, let p = match(channelId, nil) { return p }
        return match(nil, nil) ?? 100
    }
}

/// A completed order's paid amount on one category, as the earn rules read it.
public struct EarnLine: Sendable, Equatable {
    public var categoryId: String?
    public var amount: Int64

    public init(categoryId: String?, amount: Int64) {
        self.categoryId = categoryId
        self.amount = amount
    }
}

extension MembersService {
    public func earnRules() async throws -> PointsEarnRules {
        try await db.read { try await Self.earnRules($0) }
    }

    /// Replaces the earn rules whole. A percent outside 0–1000, two rules for the same channel and
    /// category, or more than `PointsEarnRules.maxRules` is 422 naming the rule, nothing written.
    /// Ids are kept as given: the order flow passes its channel and category ids.
    public func setEarnRules(_ rules: [PointsEarnRule], caller: Caller) async throws -> PointsEarnRules {
        var v = Validator()
        v.check(rules.count <= PointsEarnRules.maxRules, "rules", "at most \(PointsEarnRules.maxRules) rules")
        for (i, r) in rules.enumerated() {
            v.range(r.percent, "rules[\(i)].percent", 0...1000)
            v.text(r.channelId, "rules[\(i)].channelId", required: false, max: 100)
            v.text(r.categoryId, "rules[\(i)].categoryId", required: false, max: 100)
            if rules[..<i].contains(where: { $0.channelId == r.channelId && $0.categoryId == r.categoryId }) {
                v.add("rules[\(i)]", "another rule is for the same channel and category")
            }
        }
        try v.finish()
        return try await db.write { tx in
            let before = try await Self.earnRules(tx.sql)
            let now = self.clock.instant()
            let after = PointsEarnRules(rules: rules, updatedAt: now)
            try await tx.sql.raw("DELETE FROM member_earn_rules WHERE id = 'brand'").run()
            try await tx.sql.raw("""
                INSERT INTO member_earn_rules (id, body, updated_at) VALUES ('brand', \(bind: JSONCoding.string(rules)), \(bind: now.epochMillis))
                """).run()
            try await self.recorder.record(tx, caller: caller, action: "set_earn_rules", entityType: "points_earn_rules", entityId: "brand",
                                           before: before, after: after, organisationId: nil, locationId: nil, event: "member.earn_rules_changed")
            return after
        }
    }

    static func earnRules(_ sql: any SQLDatabase) async throws -> PointsEarnRules {
        guard let r = try await sql.raw("SELECT body, updated_at FROM member_earn_rules WHERE id = 'brand'").first() else { return PointsEarnRules() }
        return PointsEarnRules(rules: try JSONDecoder().decode([PointsEarnRule].self, from: Data(try r.decode(column: "body", as: String.self).utf8)),
                               updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }
}
