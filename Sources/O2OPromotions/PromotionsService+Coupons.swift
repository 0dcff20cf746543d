import Foundation
import O2OCore
import SQLKit

/// What a coupon does (the WHAT and WHICH of a promotion), when it is valid, and how many there are.
public struct CouponTemplateDraft: Codable, Sendable, Equatable {
    public var name: String
    public var benefit: Benefit?
    public var conditions: Conditions
    public var validFrom: Date
    public var validTo: Date
    /// Coupons of this template one member may hold.
    public var perMemberLimit: Int
    /// Coupons there may be in all (batch codes and distributions); nil: no limit.
    public var totalQuantity: Int64?
    /// 1: single use; more: each coupon may be redeemed that many times.
    public var usesPerCoupon: Int

    public init(name: String, benefit: Benefit?, conditions: Conditions = .anyCart, validFrom: Date, validTo: Date, perMemberLimit: Int = 1,
                totalQuantity: Int64? = nil, usesPerCoupon: Int = 1) {
        self.name = name
        self.benefit = benefit
        self.conditions = conditions
        self.validFrom = validFrom
        self.validTo = validTo
        self.perMemberLimit = perMemberLimit
        self.totalQuantity = totalQuantity
        self.usesPerCoupon = usesPerCoupon
    }
}

public struct CouponTemplate: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var benefit: Benefit
    public var conditions: Conditions
    public var validFrom: Date
    public var validTo: Date
    public var perMemberLimit: Int
    public var totalQuantity: Int64?
    public var issued: Int64
    public var usesPerCoupon: Int
    public var version: Int
    public var createdAt: Date
}

public struct Coupon: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var templateId: String
    public var code: String
    public var memberId: String?
    public var uses: Int
    public var maxUses: Int
    public var batchId: String?
    public var claimedAt: Date?
    public var createdAt: Date
}

public struct CouponBatch: Codable, Sendable, Equatable {
    public var batchId: String
    public var templateId: String
    public var codes: [String]
}

public struct CouponDistribution: Codable, Sendable, Equatable {
    public struct Skipped: Codable, Sendable, Equatable {
        public var memberId: String
        public var reason: String
    }
    public var templateId: String
    public var issued: [Coupon]
    public var skipped: [Skipped]
}

public struct CouponRedemption: Codable, Sendable, Equatable {
    public var id: String
    public var couponId: String
    public var templateId: String
    public var code: String
    public var orderId: String
    public var memberId: String
    public var discount: Int64
    public var at: Date
    public var reversedAt: Date?
}

extension CouponTemplateDraft {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), benefit: try c.decodeIfPresent(Benefit.self, forKey: .benefit),
                  conditions: try c.decodeIfPresent(Conditions.self, forKey: .conditions) ?? .anyCart, validFrom: try c.decode(Date.self, forKey: .validFrom),
                  validTo: try c.decode(Date.self, forKey: .validTo), perMemberLimit: try c.decodeIfPresent(Int.self, forKey: .perMemberLimit) ?? 1,
                  totalQuantity: try c.decodeIfPresent(Int64.self, forKey: .totalQuantity),
                  usesPerCoupon: try c.decodeIfPresent(Int.self, forKey: .usesPerCoupon) ?? 1)
    }
}

extension PromotionsService {
    public static let maxBatch = 10_000
    public static let maxDistribution = 10_000

    // MARK: Templates

    public func createCouponTemplate(_ draft: CouponTemplateDraft, caller: Caller) async throws -> CouponTemplate {
        var v = Validator()
        let name = draft.name.trimmingCharacters(in: .whitespacesAndNewlines)
        v.text(name, "name", max: 200)
        if let b = draft.benefit { Self.validate(b, "benefit", coupon: true, &v) } else { v.add("benefit", "is required: say what the coupon gives") }
        Self.validate(draft.conditions, "conditions", &v)
        v.check(draft.validTo > draft.validFrom, "validTo", "must be after validFrom")
        v.range(draft.perMemberLimit, "perMemberLimit", 1...1_000)
        if let q = draft.totalQuantity { v.check(q >= 1, "totalQuantity", "must be at least 1") }
        v.range(draft.usesPerCoupon, "usesPerCoupon", 1...1_000)
        try v.finish()
        let now = clock.instant()
        let t = CouponTemplate(id: O2OID.make("cpt", at: now), name: name, benefit: draft.benefit!, conditions: draft.conditions,
                               validFrom: draft.validFrom, validTo: draft.validTo, perMemberLimit: draft.perMemberLimit,
                               totalQuantity: draft.totalQuantity, issued: 0, usesPerCoupon: draft.usesPerCoupon, version: 1, createdAt: now)
        return try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO coupon_templates (id, name, status, body, valid_from, valid_to, per_member_limit, total_quantity, issued, uses_per_coupon,
                    version, created_at, updated_at)
                VALUES (\(bind: t.id), \(bind: t.name), 'active', \(bind: PromotionsJSON.string(TemplateBody(benefit: t.benefit, conditions: t.conditions))),
                    \(bind: t.validFrom.epochMillis), \(bind: t.validTo.epochMillis), \(bind: t.perMemberLimit), \(bind: t.totalQuantity), 0,
                    \(bind: t.usesPerCoupon), 1, \(bind: now.epochMillis), \(bind: now.epochMillis))
                """).run()
            try await self.record(tx, caller, "create", entityType: "coupon_template", entityId: t.id, before: CouponTemplate?.none, after: t,
                                  event: "coupon_template.created")
            return t
        }
    }

    public func couponTemplate(_ id: String) async throws -> CouponTemplate {
        guard let t = try await db.read({ try await Self.template(id, $0) }) else { throw Problem.notFound("coupon template", id) }
        return t
    }

    public func couponTemplates(limit: Int = 50, cursor: String? = nil) async throws -> Page<CouponTemplate> {
        var v = Validator()
        v.range(limit, "limit", 1...Self.maxListed)
        try v.finish()
        return try await db.page("SELECT * FROM coupon_templates WHERE 1=1", limit: limit, cursor: cursor, map: Self.decodeTemplate, id: \.id)
    }

    // MARK: Codes and distribution

    /// `count` unclaimed codes of the template (a batch to print or hand out); counts toward its total quantity.
    public func generateCodes(templateId: String, count: Int, caller: Caller) async throws -> CouponBatch {
        var v = Validator()
        v.range(count, "count", 1...Self.maxBatch)
        try v.finish()
        let now = clock.instant()
        let batchId = O2OID.make("cpb", at: now)
        return try await db.write { tx in
            guard let t = try await Self.template(templateId, tx.sql) else { throw Problem.notFound("coupon template", templateId) }
            try await Self.reserve(t, count, tx)
            var codes: [String] = []
            for chunk in stride(from: 0, to: count, by: 500) {
                let n = min(500, count - chunk)
                var q: SQLQueryString = "INSERT INTO coupons (id, template_id, code, member_id, uses, max_uses, batch_id, claimed_at, created_at) VALUES "
                for i in 0..<n {
                    let code = CouponCode.generate()
                    codes.append(code)
                    q += "\(unsafeRaw: i == 0 ? "" : ", ")(\(bind: O2OID.make("cpn", at: now)), \(bind: t.id), \(bind: code), NULL, 0, \(bind: t.usesPerCoupon), \(bind: batchId), NULL, \(bind: now.epochMillis))"
                }
                try await tx.sql.raw(q).run()
            }
            let batch = CouponBatch(batchId: batchId, templateId: t.id, codes: codes)
            // The audit row names the batch, not its codes: codes are bearer secrets.
            struct BatchRecord: Codable { var batchId: String; var templateId: String; var count: Int }
            try await self.record(tx, caller, "generate_codes", entityType: "coupon_template", entityId: t.id, before: BatchRecord?.none,
                                  after: BatchRecord(batchId: batchId, templateId: t.id, count: count), event: "coupon_batch.generated")
            return batch
        }
    }

    /// A coupon to each member (a segment is the caller's list of ids); members at the template's
    /// per-member limit are skipped and named. Refused whole (409) when the template has too few left.
    public func distribute(templateId: String, to memberIds: [String], caller: Caller) async throws -> CouponDistribution {
        var v = Validator()
        v.check(!memberIds.isEmpty && memberIds.count <= Self.maxDistribution, "memberIds", "must name 1 to \(Self.maxDistribution) members")
        for (i, m) in memberIds.enumerated() { v.text(m, "memberIds[\(i)]", max: 100) }
        try v.finish()
        var seen = Set<String>()
        let ids = memberIds.filter { seen.insert($0).inserted }
        let now = clock.instant()
        return try await db.write { tx in
            guard let t = try await Self.template(templateId, tx.sql) else { throw Problem.notFound("coupon template", templateId) }
            var issued: [Coupon] = []
            var skipped: [CouponDistribution.Skipped] = []
            for m in ids {
                guard try await Self.takeClaim(t, member: m, tx) else {
                    skipped.append(.init(memberId: m, reason: "holds \(t.perMemberLimit) already"))
                    continue
                }
                let c = Coupon(id: O2OID.make("cpn", at: now), templateId: t.id, code: CouponCode.generate(), memberId: m, uses: 0,
                               maxUses: t.usesPerCoupon, batchId: nil, claimedAt: now, createdAt: now)
                try await Self.insert(c, tx)
                issued.append(c)
            }
            if !issued.isEmpty { try await Self.reserve(t, issued.count, tx) }
            struct Distribution: Codable { var templateId: String; var members: [String] }
            try await self.record(tx, caller, "distribute", entityType: "coupon_template", entityId: t.id, before: Distribution?.none,
                                  after: Distribution(templateId: t.id, members: issued.compactMap(\.memberId)), event: "coupons.distributed")
            return CouponDistribution(templateId: t.id, issued: issued, skipped: skipped)
        }
    }

    /// A member claims a batch code. Claiming one's own code again returns it; a malformed code
    /// (wrong check character) is a 422 and an unknown one a 404, with nothing written.
    public func claim(code: String, memberId: String, caller: Caller) async throws -> Coupon {
        let normal = try checkedCode(code)
        let now = clock.instant()
        do {
            return try await db.write { tx in
                guard var c = try await Self.coupon(code: normal, tx.sql, lock: tx.engine == .postgres) else { throw PromotionsError.unknownCoupon }
                if c.memberId == memberId { return c }
                if c.memberId != nil { throw PromotionsError.couponNotOwned(code: normal) }
                let t = try await Self.template(c.templateId, tx.sql)!
                guard now >= t.validFrom && now < t.validTo else { throw PromotionsError.couponExpired(code: normal) }
                guard try await Self.takeClaim(t, member: memberId, tx) else {
                    throw PromotionsError.claimLimitReached(templateId: t.id, limit: t.perMemberLimit)
                }
                guard try await tx.sql.raw("""
                    UPDATE coupons SET member_id = \(bind: memberId), claimed_at = \(bind: now.epochMillis)
                    WHERE id = \(bind: c.id) AND member_id IS NULL RETURNING id
                    """).first() != nil else { throw PromotionsError.couponNotOwned(code: normal) }
                let before = c
                c.memberId = memberId
                c.claimedAt = now
                try await self.record(tx, caller, "claim", entityType: "coupon", entityId: c.id, before: CouponRecord(before), after: CouponRecord(c),
                                      event: "coupon.claimed")
                return c
            }
        } catch PromotionsError.unknownCoupon {
            countFailedGuess(caller)
            throw PromotionsError.unknownCoupon
        }
    }

    /// The member's coupons, newest first.
    public func coupons(memberId: String, limit: Int = 50, cursor: String? = nil) async throws -> Page<Coupon> {
        var v = Validator()
        v.range(limit, "limit", 1...Self.maxListed)
        try v.finish()
        return try await db.page("SELECT * FROM coupons WHERE member_id = \(bind: memberId)", limit: limit, cursor: cursor, order: .newestFirst,
                                 map: Self.decodeCoupon, id: \.id)
    }

    /// The member's coupons usable now, in the form the pricing engine takes.
    public func couponOffers(memberId: String, at: Date? = nil) async throws -> [CouponOffer] {
        let now = (at ?? clock.instant()).epochMillis
        let rows = try await db.read { sql in
            try await sql.raw("""
                SELECT c.id AS coupon_id, c.code, t.id AS template_id, t.name, t.body, t.valid_from, t.valid_to
                FROM coupons c JOIN coupon_templates t ON t.id = c.template_id
                WHERE c.member_id = \(bind: memberId) AND c.uses < c.max_uses AND t.valid_from <= \(bind: now) AND t.valid_to > \(bind: now)
                ORDER BY c.id
                """).all()
        }
        return try rows.map { r in
            let body = try PromotionsJSON.decode(TemplateBody.self, try r.decode(column: "body", as: String.self))
            return CouponOffer(couponId: try r.decode(column: "coupon_id", as: String.self), code: try r.decode(column: "code", as: String.self),
                               templateId: try r.decode(column: "template_id", as: String.self), name: try r.decode(column: "name", as: String.self),
                               benefit: body.benefit, conditions: body.conditions,
                               validFrom: Date(epochMillis: try r.decode(column: "valid_from", as: Int64.self)),
                               validTo: Date(epochMillis: try r.decode(column: "valid_to", as: Int64.self)))
        }
    }

    /// The coupon with this code (any form `CouponCode.normalize` reads), or nil.
    public func coupon(code: String) async throws -> Coupon? {
        guard let normal = CouponCode.normalize(code) else { return nil }
        return try await db.read { try await Self.coupon(code: normal, $0, lock: false) }
    }

    /// How many unknown codes this caller has tried (since the process started).
    public func failedCouponGuesses(principalId: String) -> Int { failedGuesses.withLock { $0[principalId] ?? 0 } }

    // MARK: Redemption

    /// Uses the member's coupon on an order, in its own transaction.
    public func redeem(code: String, memberId: String, orderId: String, discount: Int64, caller: Caller) async throws -> CouponRedemption {
        let normal = try checkedCode(code, discount: discount)
        do {
            return try await db.write { tx in try await self.redeem(normal, memberId, orderId, discount, caller, tx) }
        } catch PromotionsError.unknownCoupon {
            countFailedGuess(caller)
            throw PromotionsError.unknownCoupon
        }
    }

    /// Uses the member's coupon on an order inside the order's transaction. A retry for the same
    /// order returns the first redemption; a used-up coupon is a 409 and an unknown code a 404.
    public func redeem(code: String, memberId: String, orderId: String, discount: Int64, caller: Caller, in tx: Transaction) async throws -> CouponRedemption {
        let normal = try checkedCode(code, discount: discount)
        do {
            return try await redeem(normal, memberId, orderId, discount, caller, tx)
        } catch PromotionsError.unknownCoupon {
            countFailedGuess(caller)
            throw PromotionsError.unknownCoupon
        }
    }

    private func redeem(_ code: String, _ memberId: String, _ orderId: String, _ discount: Int64, _ caller: Caller,
                        _ tx: Transaction) async throws -> CouponRedemption {
        let now = clock.instant()
        guard let c = try await Self.coupon(code: code, tx.sql, lock: false) else { throw PromotionsError.unknownCoupon }
        guard c.memberId == memberId else { throw PromotionsError.couponNotOwned(code: code) }
        if let r = try await Self.redemption(couponId: c.id, orderId: orderId, tx.sql), r.reversedAt == nil { return r }
        let t = try await Self.template(c.templateId, tx.sql)!
        guard now >= t.validFrom && now < t.validTo else { throw PromotionsError.couponExpired(code: code) }
        guard try await tx.sql.raw("UPDATE coupons SET uses = uses + 1 WHERE id = \(bind: c.id) AND uses < max_uses RETURNING uses").first() != nil else {
            throw PromotionsError.couponUsedUp(code: code)
        }
        let r = CouponRedemption(id: O2OID.make("cpr", at: now), couponId: c.id, templateId: c.templateId, code: code, orderId: orderId,
                                 memberId: memberId, discount: discount, at: now, reversedAt: nil)
        // A redemption reversed earlier for this order is used again.
        let reused = try await tx.sql.raw("""
            UPDATE coupon_redemptions SET reversed_at = NULL, discount = \(bind: discount), at = \(bind: now.epochMillis)
            WHERE coupon_id = \(bind: c.id) AND order_id = \(bind: orderId) RETURNING id
            """).first()
        var result = r
        if let reused { result.id = try reused.decode(column: "id", as: String.self) } else {
            try await tx.sql.raw("""
                INSERT INTO coupon_redemptions (id, coupon_id, template_id, order_id, member_id, discount, at, reversed_at)
                VALUES (\(bind: r.id), \(bind: c.id), \(bind: c.templateId), \(bind: orderId), \(bind: memberId), \(bind: discount), \(bind: now.epochMillis), NULL)
                """).run()
        }
        try await record(tx, caller, "redeem", entityType: "coupon", entityId: c.id, before: CouponRedemption?.none, after: result, event: "coupon.redeemed")
        return result
    }

    /// Gives the coupon back after a return or cancellation of the order; reversing twice is a no-op.
    public func reverseRedemption(code: String, orderId: String, caller: Caller) async throws -> CouponRedemption {
        let normal = try checkedCode(code)
        return try await db.write { tx in try await self.reverse(normal, orderId, caller, tx) }
    }

    public func reverseRedemption(code: String, orderId: String, caller: Caller, in tx: Transaction) async throws -> CouponRedemption {
        try await reverse(try checkedCode(code), orderId, caller, tx)
    }

    private func reverse(_ code: String, _ orderId: String, _ caller: Caller, _ tx: Transaction) async throws -> CouponRedemption {
        let now = clock.instant()
        guard let c = try await Self.coupon(code: code, tx.sql, lock: false) else { throw PromotionsError.unknownCoupon }
        guard var r = try await Self.redemption(couponId: c.id, orderId: orderId, tx.sql) else { throw Problem.notFound("redemption of the coupon on order", orderId) }
        if r.reversedAt != nil { return r }
        guard try await tx.sql.raw("""
            UPDATE coupon_redemptions SET reversed_at = \(bind: now.epochMillis) WHERE id = \(bind: r.id) AND reversed_at IS NULL RETURNING id
            """).first() != nil else { return try await Self.redemption(couponId: c.id, orderId: orderId, tx.sql)! }
        try await tx.sql.raw("UPDATE coupons SET uses = uses - 1 WHERE id = \(bind: c.id) AND uses > 0").run()
        let before = r
        r.reversedAt = now
        try await record(tx, caller, "reverse_redemption", entityType: "coupon", entityId: c.id, before: before, after: r, event: "coupon.redemption_reversed")
        return r
    }

    // MARK: Helpers

    /// The stored form of a code; a malformed one is a 422 on `code` before any lookup.
    func checkedCode(_ code: String, discount: Int64 = 0) throws(Problem) -> String {
        var v = Validator()
        let normal = CouponCode.normalize(code)
        if normal == nil { v.add("code", "is not a valid coupon code (check for a typo)") }
        v.check(discount >= 0, "discount", "must not be negative")
        try v.finish()
        return normal!
    }

    func countFailedGuess(_ caller: Caller) {
        failedGuesses.withLock { $0[caller.principal.id, default: 0] += 1 }
    }

    struct TemplateBody: Codable {
        var benefit: Benefit
        var conditions: Conditions
    }

    /// A coupon in audit rows and events: the code masked (it is a bearer secret).
    struct CouponRecord: Codable {
        var id: String
        var templateId: String
        var code: String
        var memberId: String?
        var uses: Int
        init(_ c: Coupon) {
            id = c.id
            templateId = c.templateId
            code = String(c.code.prefix(4)) + "…" + String(c.code.suffix(2))
            memberId = c.memberId
            uses = c.uses
        }
    }

    /// Takes `n` of the template's total quantity; 409 when too few are left.
    static func reserve(_ t: CouponTemplate, _ n: Int, _ tx: Transaction) async throws {
        guard try await tx.sql.raw("""
            UPDATE coupon_templates SET issued = issued + \(bind: n)
            WHERE id = \(bind: t.id) AND (total_quantity IS NULL OR issued + \(bind: n) <= total_quantity) RETURNING issued
            """).first() != nil else { throw PromotionsError.couponsExhausted(templateId: t.id) }
    }

    /// Counts one more coupon of the template for the member, unless that passes the per-member limit.
    static func takeClaim(_ t: CouponTemplate, member: String, _ tx: Transaction) async throws -> Bool {
        try await tx.sql.raw("""
            INSERT INTO coupon_member_claims (template_id, member_id, claimed) VALUES (\(bind: t.id), \(bind: member), 0)
            ON CONFLICT (template_id, member_id) DO NOTHING
            """).run()
        return try await tx.sql.raw("""
            UPDATE coupon_member_claims SET claimed = claimed + 1
            WHERE template_id = \(bind: t.id) AND member_id = \(bind: member) AND claimed + 1 <= \(bind: t.perMemberLimit) RETURNING claimed
            """).first() != nil
    }

    static func insert(_ c: Coupon, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO coupons (id, template_id, code, member_id, uses, max_uses, batch_id, claimed_at, created_at)
            VALUES (\(bind: c.id), \(bind: c.templateId), \(bind: c.code), \(bind: c.memberId), 0, \(bind: c.maxUses), \(bind: c.batchId),
                    \(bind: c.claimedAt?.epochMillis), \(bind: c.createdAt.epochMillis))
            """).run()
    }

    static func template(_ id: String, _ sql: any SQLDatabase) async throws -> CouponTemplate? {
        try await sql.raw("SELECT * FROM coupon_templates WHERE id = \(bind: id)").first().map(decodeTemplate)
    }

    static func coupon(code: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Coupon? {
        try await sql.raw("SELECT * FROM coupons WHERE code = \(bind: code)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first().map(decodeCoupon)
    }

    static func redemption(couponId: String, orderId: String, _ sql: any SQLDatabase) async throws -> CouponRedemption? {
        guard let r = try await sql.raw("""
            SELECT r.*, c.code FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id
            WHERE r.coupon_id = \(bind: couponId) AND r.order_id = \(bind: orderId)
            """).first() else { return nil }
        return CouponRedemption(id: try r.decode(column: "id", as: String.self), couponId: couponId,
                                templateId: try r.decode(column: "template_id", as: String.self), code: try r.decode(column: "code", as: String.self),
                                orderId: orderId, memberId: try r.decode(column: "member_id", as: String.self),
                                discount: try r.decode(column: "discount", as: Int64.self),
                                at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
                                reversedAt: try r.decode(column: "reversed_at", as: Int64?.self).map(Date.init(epochMillis:)))
    }

    static func decodeTemplate(_ r: any SQLRow) throws -> CouponTemplate {
        let body = try PromotionsJSON.decode(TemplateBody.self, try r.decode(column: "body", as: String.self))
        return CouponTemplate(id: try r.decode(column: "id", as: String.self), name: try r.decode(column: "name", as: String.self),
                              benefit: body.benefit, conditions: body.conditions,
                              validFrom: Date(epochMillis: try r.decode(column: "valid_from", as: Int64.self)),
                              validTo: Date(epochMillis: try r.decode(column: "valid_to", as: Int64.self)),
                              perMemberLimit: try r.decode(column: "per_member_limit", as: Int.self),
                              totalQuantity: try r.decode(column: "total_quantity", as: Int64?.self), issued: try r.decode(column: "issued", as: Int64.self),
                              usesPerCoupon: try r.decode(column: "uses_per_coupon", as: Int.self), version: try r.decode(column: "version", as: Int.self),
                              createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func decodeCoupon(_ r: any SQLRow) throws -> Coupon {
        Coupon(id: try r.decode(column: "id", as: String.self), templateId: try r.decode(column: "template_id", as: String.self),
               code: try r.decode(column: "code", as: String.self), memberId: try r.decode(column: "member_id", as: String?.self),
               uses: try r.decode(column: "uses", as: Int.self), maxUses: try r.decode(column: "max_uses", as: Int.self),
               batchId: try r.decode(column: "batch_id", as: String?.self),
               claimedAt: try r.decode(column: "claimed_at", as: Int64?.self).map(Date.init(epochMillis:)),
               createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }
}
