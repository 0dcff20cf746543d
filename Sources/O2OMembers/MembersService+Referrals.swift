import Foundation
import O2OCore
import SQLKit

// MARK: - Referrals (推荐人返利)

/// What a referrer earns when a member who joined with their code completes a first order, and
/// how long a return of that order takes the reward back.
public struct ReferralPolicy: Codable, Sendable, Equatable {
    public var points: Int64
    public var returnWindowDays: Int

    public init(points: Int64 = 200, returnWindowDays: Int = 30) {
        self.points = points
        self.returnWindowDays = returnWindowDays
    }
}

/// A member who joined with another's code, and where their reward stands.
public struct Referral: Codable, Sendable, Equatable {
    public var refereeId: String
    public var referrerId: String
    public var joinedAt: Date
    /// The referee's first completed order, which earned the reward.
    public var orderId: String?
    public var rewardedTo: String?
    public var rewardedAt: Date?
    public var points: Int64
    /// When a return of that order within the window took the reward back.
    public var reversedAt: Date?
}

extension MembersService {
    /// The letters of a referral code: no 0/O, 1/I/L, so a code read out at the till is typed right.
    static let referralAlphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ")

    /// Ten letters from a cryptographic source: 31^10 ≈ 8 × 10^14 codes, not guessable by trying.
    static func newReferralCode() -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<10).map { _ in referralAlphabet[Int(rng.next(upperBound: UInt64(referralAlphabet.count)))] })
    }

    public func referralPolicy() async throws -> ReferralPolicy {
        try await db.read { try await Self.referralPolicy($0) }
    }

    public func setReferralPolicy(_ policy: ReferralPolicy, caller: Caller) async throws -> ReferralPolicy {
        var v = Validator()
        v.check((0...PointsPolicy.maxPoints).contains(policy.points), "points", "must be from 0 to \(PointsPolicy.maxPoints)")
        v.range(policy.returnWindowDays, "returnWindowDays", 0...365)
        try v.finish()
        return try await db.write { tx in
            let before = try await Self.referralPolicy(tx.sql)
            let now = self.clock.instant()
            try await tx.sql.raw("DELETE FROM member_referral_policy WHERE id = 'brand'").run()
            try await tx.sql.raw("""
                INSERT INTO member_referral_policy (id, points, return_window_days, updated_at)
                VALUES ('brand', \(bind: policy.points), \(bind: policy.returnWindowDays), \(bind: now.epochMillis))
                """).run()
            try await self.recorder.record(tx, caller: caller, action: "set_referral_policy", entityType: "referral_policy", entityId: "brand",
                                           before: before, after: policy, organisationId: nil, locationId: nil, event: "member.referral_policy_changed")
            return policy
        }
    }

    /// The members who joined with this member's code, newest first.
    public func referrals(of memberId: String) async throws -> [Referral] {
        try await db.read { sql in
            try await sql.raw("""
                SELECT * FROM member_referrals WHERE referrer_id = \(bind: memberId) ORDER BY joined_at DESC, referee_id DESC LIMIT 200
                """).all().map(Self.referral)
        }
    }

    /// The referral of a member who joined with a code, if they did.
    public func referral(of refereeId: String) async throws -> Referral? {
        try await db.read { sql in
            try await sql.raw("SELECT * FROM member_referrals WHERE referee_id = \(bind: refereeId)").first().map(Self.referral)
        }
    }

    // MARK: Inside find-or-create

    /// The member a code belongs to (the member it was merged into, for a merged one); a code
    /// that is no member's is a 422 on `referralCode`.
    static func referrer(code: String?, _ sql: any SQLDatabase) async throws -> String? {
        guard let code else { return nil }
        let clean = code.trimmingCharacters(in: .whitespaces).uppercased()
        guard let id = try await sql.raw("SELECT id FROM members WHERE referral_code = \(bind: clean)").first()?.decode(column: "id", as: String.self) else {
            throw Problem.validation([.init("referralCode", "is not a member's referral code")])
        }
        return try await current(id, sql)
    }

    /// A member cannot refer themselves (their own code given when they are found, not created).
    static func refuseSelfReferral(_ lookup: MemberLookup, _ referrer: String?) throws {
        guard let referrer, lookup.member.id == referrer else { return }
        throw Problem.validation([.init("referralCode", "is this member's own code: a member cannot refer themselves")])
    }

    static func insertReferral(referee: String, referrer: String, at now: Date, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO member_referrals (referee_id, referrer_id, joined_at, points) VALUES (\(bind: referee), \(bind: referrer), \(bind: now.epochMillis), 0)
            """).run()
    }

    // MARK: Inside the order hooks

    /// The referee's first completed order earns the referrer the policy's points, once: the
    /// referral row takes the order in a conditional UPDATE, and the earn's reference is the
    /// referee, so neither a retry nor a second order racing the first can earn twice.
    func referralOnCompletion(_ refereeId: String, orderId: String, at now: Date, caller: Caller, _ tx: Transaction) async throws {
        guard let row = try await tx.sql.raw("""
            UPDATE member_referrals SET order_id = \(bind: orderId), rewarded_at = \(bind: now.epochMillis)
            WHERE referee_id = \(bind: refereeId) AND order_id IS NULL RETURNING referrer_id
            """).first() else { return }
        let policy = try await Self.referralPolicy(tx.sql)
        guard policy.points > 0 else { return }
        let referrer = try await Self.current(try row.decode(column: "referrer_id", as: String.self), tx.sql)
        _ = try await earnPoints(referrer, points: policy.points, reference: Self.referralReference(refereeId),
                                 reason: "referral: first order \(orderId) of \(refereeId)", caller: caller, in: tx)
        try await tx.sql.raw("""
            UPDATE member_referrals SET rewarded_to = \(bind: referrer), points = \(bind: policy.points) WHERE referee_id = \(bind: refereeId)
            """).run()
    }

    /// A return of the order that earned the reward, within the policy's window from the reward,
    /// takes the reward back (once, in full, whatever part of the order comes back).
    func referralOnReturn(_ refereeId: String, orderId: String, at now: Date, caller: Caller, _ tx: Transaction) async throws {
        let windowMillis = Int64(try await Self.referralPolicy(tx.sql).returnWindowDays) * 86_400_000
        guard let row = try await tx.sql.raw("""
            UPDATE member_referrals SET reversed_at = \(bind: now.epochMillis)
            WHERE referee_id = \(bind: refereeId) AND order_id = \(bind: orderId) AND reversed_at IS NULL AND rewarded_to IS NOT NULL
            AND rewarded_at >= \(bind: now.epochMillis - windowMillis) RETURNING rewarded_to
            """).first() else { return }
        let referrer = try row.decode(column: "rewarded_to", as: String.self)
        _ = try await reversePointsEarn(referrer, earn: Self.referralReference(refereeId),
                                        reference: LedgerReference(type: "referral_return", id: refereeId), caller: caller, in: tx)
    }

    static func referralReference(_ refereeId: String) -> LedgerReference { LedgerReference(type: "referral", id: refereeId) }

    static func referralPolicy(_ sql: any SQLDatabase) async throws -> ReferralPolicy {
        guard let r = try await sql.raw("SELECT points, return_window_days FROM member_referral_policy WHERE id = 'brand'").first() else {
            return ReferralPolicy()
        }
        return ReferralPolicy(points: try r.decode(column: "points", as: Int64.self), returnWindowDays: try r.decode(column: "return_window_days", as: Int.self))
    }

    static func referral(_ r: any SQLRow) throws -> Referral {
        Referral(refereeId: try r.decode(column: "referee_id", as: String.self), referrerId: try r.decode(column: "referrer_id", as: String.self),
                 joinedAt: Date(epochMillis: try r.decode(column: "joined_at", as: Int64.self)), orderId: try r.decode(column: "order_id", as: String?.self),
                 rewardedTo: try r.decode(column: "rewarded_to", as: String?.self),
                 rewardedAt: try r.decode(column: "rewarded_at", as: Int64?.self).map(Date.init(epochMillis:)),
                 points: try r.decode(column: "points", as: Int64.self), reversedAt: try r.decode(column: "reversed_at", as: Int64?.self).map(Date.init(epochMillis:)))
    }
}
