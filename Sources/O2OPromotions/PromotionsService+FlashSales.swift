import Foundation
import O2OCore
import SQLKit

/// 限时折扣: a SKU at `price` for `quantity` units in all, at most `perMemberLimit` per member.
public struct FlashSaleDraft: Codable, Sendable, Equatable {
    public var name: String
    public var skuId: String
    public var price: Int64
    public var currency: String
    public var quantity: Int64
    public var perMemberLimit: Int64
    public var startsAt: Date
    public var endsAt: Date

    public init(name: String, skuId: String, price: Int64, currency: String = "CNY", quantity: Int64, perMemberLimit: Int64 = 1,
                startsAt: Date, endsAt: Date) {
        self.name = name
        self.skuId = skuId
        self.price = price
        self.currency = currency
        self.quantity = quantity
        self.perMemberLimit = perMemberLimit
        self.startsAt = startsAt
        self.endsAt = endsAt
    }
}

public struct FlashSale: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var skuId: String
    public var price: Int64
    public var currency: String
    /// Units on sale in all.
    public var budget: Int64
    /// Units claimed and not released.
    public var sold: Int64
    public var perMemberLimit: Int64
    public var startsAt: Date
    public var endsAt: Date
    public var status: String
    public var left: Int64 { max(0, budget - sold) }
}

public struct FlashSaleClaim: Codable, Sendable, Equatable {
    public var id: String
    public var flashSaleId: String
    public var memberId: String
    /// The caller's key for the claim (an order or cart id): a retry with it finds this claim.
    public var reference: String
    public var quantity: Int64
    public var price: Int64
    public var at: Date
    public var releasedAt: Date?
}

extension PromotionsService {
    public func createFlashSale(_ d: FlashSaleDraft, caller: Caller) async throws -> FlashSale {
        var v = Validator()
        v.text(d.name, "name", max: 200)
        v.text(d.skuId, "skuId", max: 100)
        v.check(d.price >= 0, "price", "must not be negative")
        v.currency(d.currency, "currency")
        v.check(d.quantity >= 1, "quantity", "must be at least 1")
        v.check(d.perMemberLimit >= 1, "perMemberLimit", "must be at least 1")
        v.check(d.endsAt > d.startsAt, "endsAt", "must be after startsAt")
        try v.finish()
        let now = clock.instant()
        let f = FlashSale(id: O2OID.make("fls", at: now), name: d.name, skuId: d.skuId, price: d.price, currency: d.currency, budget: d.quantity, sold: 0,
                          perMemberLimit: d.perMemberLimit, startsAt: d.startsAt, endsAt: d.endsAt, status: "active")
        return try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO flash_sales (id, name, sku_id, price, currency, budget, sold, per_member_limit, starts_at, ends_at, status, created_at, updated_at)
                VALUES (\(bind: f.id), \(bind: f.name), \(bind: f.skuId), \(bind: f.price), \(bind: f.currency), \(bind: f.budget), 0,
                        \(bind: f.perMemberLimit), \(bind: f.startsAt.epochMillis), \(bind: f.endsAt.epochMillis), 'active', \(bind: now.epochMillis),
                        \(bind: now.epochMillis))
                """).run()
            try await self.record(tx, caller, "create", entityType: "flash_sale", entityId: f.id, before: FlashSale?.none, after: f,
                                  event: "flash_sale.created")
            return f
        }
    }

    public func flashSale(_ id: String) async throws -> FlashSale {
        guard let f = try await db.read({ try await Self.flashSale(id, $0) }) else { throw Problem.notFound("flash sale", id) }
        return f
    }

    /// Takes `quantity` units of the sale for the member. It can never oversell: the units come
    /// from a conditional UPDATE of the sale's row (`sold + q <= budget`) and the member's from a
    /// conditional UPDATE of their row (`quantity + q <= limit`), in one transaction. A retry with
    /// the same reference returns the first claim. Sold out, over the limit, or not running: 409,
    /// nothing written.
    public func claimFlashSale(_ id: String, memberId: String, quantity: Int64 = 1, reference: String, caller: Caller) async throws -> FlashSaleClaim {
        try validateClaim(memberId: memberId, quantity: quantity, reference: reference)
        return try await db.write { tx in try await self.claim(id, memberId, quantity, reference, caller, tx) }
    }

    public func claimFlashSale(_ id: String, memberId: String, quantity: Int64 = 1, reference: String, caller: Caller,
                               in tx: Transaction) async throws -> FlashSaleClaim {
        try validateClaim(memberId: memberId, quantity: quantity, reference: reference)
        return try await claim(id, memberId, quantity, reference, caller, tx)
    }

    func validateClaim(memberId: String, quantity: Int64, reference: String) throws(Problem) {
        var v = Validator()
        v.text(memberId, "memberId", max: 100)
        v.text(reference, "reference", max: 100)
        v.check(quantity >= 1 && quantity <= 1_000, "quantity", "must be between 1 and 1000")
        try v.finish()
    }

    private func claim(_ id: String, _ memberId: String, _ quantity: Int64, _ reference: String, _ caller: Caller,
                       _ tx: Transaction) async throws -> FlashSaleClaim {
        if let existing = try await Self.claim(id, reference: reference, tx.sql), existing.releasedAt == nil {
            return existing
        }
        let now = clock.instant()
        // The sale's row first, then the member's: every claim locks in this order.
        guard let sold = try await tx.sql.raw("""
            UPDATE flash_sales SET sold = sold + \(bind: quantity), updated_at = \(bind: now.epochMillis)
            WHERE id = \(bind: id) AND status = 'active' AND starts_at <= \(bind: now.epochMillis) AND ends_at > \(bind: now.epochMillis)
              AND sold + \(bind: quantity) <= budget
            RETURNING price
            """).first() else {
            guard let f = try await Self.flashSale(id, tx.sql) else { throw Problem.notFound("flash sale", id) }
            if f.status != "active" || now < f.startsAt || now >= f.endsAt { throw PromotionsError.flashSaleNotRunning(flashSaleId: id) }
            throw PromotionsError.soldOut(flashSaleId: id, left: f.left, requested: quantity)
        }
        let price = try sold.decode(column: "price", as: Int64.self)
        try await tx.sql.raw("""
            INSERT INTO flash_sale_members (flash_sale_id, member_id, quantity) VALUES (\(bind: id), \(bind: memberId), 0)
            ON CONFLICT (flash_sale_id, member_id) DO NOTHING
            """).run()
        guard try await tx.sql.raw("""
            UPDATE flash_sale_members SET quantity = quantity + \(bind: quantity)
            WHERE flash_sale_id = \(bind: id) AND member_id = \(bind: memberId)
              AND quantity + \(bind: quantity) <= (SELECT per_member_limit FROM flash_sales WHERE id = \(bind: id))
            RETURNING quantity
            """).first() != nil else {
            let claimed = try await tx.sql.raw("""
                SELECT quantity FROM flash_sale_members WHERE flash_sale_id = \(bind: id) AND member_id = \(bind: memberId)
                """).first()?.decode(column: "quantity", as: Int64.self) ?? 0
            let limit = try await Self.flashSale(id, tx.sql)!.perMemberLimit
            throw PromotionsError.memberLimitReached(flashSaleId: id, limit: limit, claimed: claimed, requested: quantity)
        }
        let c = FlashSaleClaim(id: O2OID.make("flc", at: now), flashSaleId: id, memberId: memberId, reference: reference, quantity: quantity,
                               price: price, at: now, releasedAt: nil)
        // A claim released earlier under this reference is taken up again.
        if try await tx.sql.raw("""
            UPDATE flash_sale_claims SET member_id = \(bind: memberId), quantity = \(bind: quantity), price = \(bind: price), at = \(bind: now.epochMillis),
                released_at = NULL
            WHERE flash_sale_id = \(bind: id) AND reference = \(bind: reference) RETURNING id
            """).first() == nil {
            try await tx.sql.raw("""
                INSERT INTO flash_sale_claims (id, flash_sale_id, member_id, reference, quantity, price, at, released_at)
                VALUES (\(bind: c.id), \(bind: id), \(bind: memberId), \(bind: reference), \(bind: quantity), \(bind: price), \(bind: now.epochMillis), NULL)
                """).run()
        }
        try await record(tx, caller, "claim", entityType: "flash_sale", entityId: id, before: FlashSaleClaim?.none, after: c, event: "flash_sale.claimed")
        return try await Self.claim(id, reference: reference, tx.sql) ?? c
    }

    /// Gives a claim's units back (order cancelled or not paid in time); releasing twice is a no-op.
    public func releaseFlashSale(_ id: String, reference: String, caller: Caller) async throws -> FlashSaleClaim {
        try await db.write { tx in try await self.release(id, reference, caller, tx) }
    }

    public func releaseFlashSale(_ id: String, reference: String, caller: Caller, in tx: Transaction) async throws -> FlashSaleClaim {
        try await release(id, reference, caller, tx)
    }

    private func release(_ id: String, _ reference: String, _ caller: Caller, _ tx: Transaction) async throws -> FlashSaleClaim {
        guard var c = try await Self.claim(id, reference: reference, tx.sql) else { throw Problem.notFound("flash sale claim", reference) }
        if c.releasedAt != nil { return c }
        let now = clock.instant()
        guard try await tx.sql.raw("""
            UPDATE flash_sale_claims SET released_at = \(bind: now.epochMillis) WHERE id = \(bind: c.id) AND released_at IS NULL RETURNING id
            """).first() != nil else { return try await Self.claim(id, reference: reference, tx.sql)! }
        try await tx.sql.raw("UPDATE flash_sales SET sold = sold - \(bind: c.quantity), updated_at = \(bind: now.epochMillis) WHERE id = \(bind: id)").run()
        try await tx.sql.raw("""
            UPDATE flash_sale_members SET quantity = quantity - \(bind: c.quantity) WHERE flash_sale_id = \(bind: id) AND member_id = \(bind: c.memberId)
            """).run()
        let before = c
        c.releasedAt = now
        try await record(tx, caller, "release", entityType: "flash_sale", entityId: id, before: before, after: c, event: "flash_sale.released")
        return c
    }

    /// Flash sales, newest first; `running` only those on sale now (active, started, not ended).
    public func flashSales(running: Bool = false, skuId: String? = nil, limit: Int = 50, cursor: String? = nil) async throws -> Page<FlashSale> {
        try await skuDeals("flash_sales", running: running, skuId: skuId, limit: limit, cursor: cursor, map: Self.flashSale(row:), id: \.id)
    }

    static func flashSale(_ id: String, _ sql: any SQLDatabase) async throws -> FlashSale? {
        try await sql.raw("SELECT * FROM flash_sales WHERE id = \(bind: id)").first().map(flashSale(row:))
    }

    static func flashSale(row r: any SQLRow) throws -> FlashSale {
        FlashSale(id: try r.decode(column: "id", as: String.self), name: try r.decode(column: "name", as: String.self), skuId: try r.decode(column: "sku_id", as: String.self),
                         price: try r.decode(column: "price", as: Int64.self), currency: try r.decode(column: "currency", as: String.self),
                         budget: try r.decode(column: "budget", as: Int64.self), sold: try r.decode(column: "sold", as: Int64.self),
                         perMemberLimit: try r.decode(column: "per_member_limit", as: Int64.self),
                         startsAt: Date(epochMillis: try r.decode(column: "starts_at", as: Int64.self)),
                         endsAt: Date(epochMillis: try r.decode(column: "ends_at", as: Int64.self)), status: try r.decode(column: "status", as: String.self))
    }

    static func claim(_ id: String, reference: String, _ sql: any SQLDatabase) async throws -> FlashSaleClaim? {
        guard let r = try await sql.raw("SELECT * FROM flash_sale_claims WHERE flash_sale_id = \(bind: id) AND reference = \(bind: reference)").first() else {
            return nil
        }
        return FlashSaleClaim(id: try r.decode(column: "id", as: String.self), flashSaleId: id, memberId: try r.decode(column: "member_id", as: String.self),
                              reference: reference, quantity: try r.decode(column: "quantity", as: Int64.self),
                              price: try r.decode(column: "price", as: Int64.self), at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
                              releasedAt: try r.decode(column: "released_at", as: Int64?.self).map(Date.init(epochMillis:)))
    }
}

/// A flash sale running now for a SKU and how many of its units this member may still take.
public struct FlashOffer: Sendable, Equatable {
    public var sale: FlashSale
    /// min(units left, the member's limit less what they hold).
    public var available: Int64
}

extension PromotionsService {
    /// The flash sales running at `at` for these SKUs that have units left for the member (the
    /// lowest price first when a SKU has several): what pricing offers at the flash price.
    public func flashOffers(skuIds: [String], memberId: String, at: Date? = nil) async throws -> [FlashOffer] {
        guard !skuIds.isEmpty else { return [] }
        let now = (at ?? clock.instant()).epochMillis
        return try await db.read { sql in
            let rows = try await sql.raw("""
                SELECT f.id, COALESCE(m.quantity, 0) AS held FROM flash_sales f
                LEFT JOIN flash_sale_members m ON m.flash_sale_id = f.id AND m.member_id = \(bind: memberId)
                WHERE f.sku_id IN \(SQLQueryString.list(Array(Set(skuIds)).sorted())) AND f.status = 'active'
                  AND f.starts_at <= \(bind: now) AND f.ends_at > \(bind: now) AND f.sold < f.budget
                ORDER BY f.price, f.id
                """).all()
            var out: [FlashOffer] = []
            for r in rows {
                guard let sale = try await Self.flashSale(try r.decode(column: "id", as: String.self), sql) else { continue }
                let available = min(sale.left, sale.perMemberLimit - (try r.decode(column: "held", as: Int64.self)))
                if available > 0 { out.append(FlashOffer(sale: sale, available: available)) }
            }
            return out
        }
    }

    /// Gives back, inside the transaction that cancels an order, everything the order took from
    /// promotions: its coupon redemptions (the coupons usable again while valid), its flash-sale
    /// units (claimed under the order's id), its place in a group buy's group and its recorded applications (budgets given back,
    /// the effect report no longer counting it). Twice is a no-op.
    public func reverseOrder(_ orderId: String, caller: Caller, in tx: Transaction) async throws {
        let codes = try await tx.sql.raw("""
            SELECT c.code FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id
            WHERE r.order_id = \(bind: orderId) AND r.reversed_at IS NULL ORDER BY c.id
            """).all().map { try $0.decode(column: "code", as: String.self) }
        for code in codes { _ = try await reverseRedemption(code: code, orderId: orderId, caller: caller, in: tx) }
        let sales = try await tx.sql.raw("""
            SELECT flash_sale_id FROM flash_sale_claims WHERE reference = \(bind: orderId) AND released_at IS NULL ORDER BY flash_sale_id
            """).all().map { try $0.decode(column: "flash_sale_id", as: String.self) }
        for id in sales { _ = try await releaseFlashSale(id, reference: orderId, caller: caller, in: tx) }
        try await leaveGroup(orderId: orderId, caller: caller, in: tx)
        try await reverseApplication(orderId: orderId, caller: caller, in: tx)
    }
}
