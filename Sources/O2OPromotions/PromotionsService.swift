import Foundation
import O2OCore
import SQLKit
import Synchronization

/// Promotions (营销): rules in the brief's five W's, priced by `PricingEngine`; coupons, flash
/// sales and the effect data of every order that used a promotion.
///
/// Pricing reads the active promotions from a cache (loaded once, kept `cacheTTL`, dropped by every
/// write this process makes), so pricing a cart runs no SQL. Writes take a caller and record an
/// audit row and an outbox event in their transaction. Limits that concurrent requests race for
/// (coupon claims, redemptions, flash sale units, budgets) are conditional UPDATEs in the database.
public final class PromotionsService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let recorder: ChangeRecorder
    public let cacheTTL: Duration

    private struct Cached {
        var at: ContinuousClock.Instant
        var generation: Int
        var promotions: [Promotion]
    }
    private let cache = Mutex<Cached?>(nil)
    private let generation = Atomic<Int>(0)
    /// Unknown coupon codes tried, per caller principal; in memory (writing them would write on a 4xx).
    let failedGuesses = Mutex<[String: Int]>([:])

    public init(db: Database, clock: any O2OClock, cacheTTL: Duration = .seconds(5)) {
        self.db = db
        self.clock = clock
        self.recorder = ChangeRecorder(clock: clock)
        self.cacheTTL = cacheTTL
    }

    public static let maxListed = 100

    // MARK: Create, update, read

    public func create(_ draft: PromotionDraft, caller: Caller) async throws -> Promotion {
        let clean = try Self.validate(draft)
        let now = clock.instant()
        defer { invalidate() }
        return try await db.write { tx in
            let p = Promotion(id: O2OID.make("prm", at: now), name: clean.name, status: .draft, who: clean.who, when: clean.when!,
                              which: clean.which, what: clean.what!, where: clean.where, priority: clean.priority, exclusive: clean.exclusive,
                              stackGroup: clean.stackGroup, budget: clean.budget, budgetUsed: 0, version: 1, createdAt: now, updatedAt: now)
            try await Self.checkExclusiveOverlap(p, tx.sql)
            try await tx.sql.raw("""
                INSERT INTO promotions (id, name, status, priority, exclusive, stack_group, budget, budget_used, valid_from, valid_to, body, version,
                    created_at, updated_at)
                VALUES (\(bind: p.id), \(bind: p.name), \(bind: p.status.rawValue), \(bind: p.priority), \(bind: p.exclusive ? 1 : 0),
                    \(bind: p.stackGroup), \(bind: p.budget), 0, \(bind: p.when.validFrom.epochMillis), \(bind: p.when.validTo.epochMillis),
                    \(bind: Body(p).json), 1, \(bind: now.epochMillis), \(bind: now.epochMillis))
                """).run()
            try await self.record(tx, caller, "create", before: nil, after: p, event: "promotion.created")
            return p
        }
    }

    /// Replaces the rules of a promotion that has not ended; with `expectedVersion`, refuses (409)
    /// when it changed since the caller read it.
    public func update(_ id: String, _ draft: PromotionDraft, expectedVersion: Int? = nil, caller: Caller) async throws -> Promotion {
        let clean = try Self.validate(draft)
        let now = clock.instant()
        defer { invalidate() }
        return try await db.write { tx in
            guard let before = try await Self.promotion(id, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("promotion", id) }
            if let expectedVersion, expectedVersion != before.version {
                throw PromotionsError.versionConflict(id: id, version: before.version, expected: expectedVersion)
            }
            if before.status == .ended { throw PromotionsError.invalidTransition(promotionId: id, from: .ended, to: .ended) }
            var p = before
            p.name = clean.name
            p.who = clean.who
            p.when = clean.when!
            p.which = clean.which
            p.what = clean.what!
            p.where = clean.where
            p.priority = clean.priority
            p.exclusive = clean.exclusive
            p.stackGroup = clean.stackGroup
            p.budget = clean.budget
            if p == before { return before }
            p.version += 1
            p.updatedAt = now
            try await Self.checkExclusiveOverlap(p, tx.sql)
            try await tx.sql.raw("""
                UPDATE promotions SET name = \(bind: p.name), priority = \(bind: p.priority), exclusive = \(bind: p.exclusive ? 1 : 0),
                    stack_group = \(bind: p.stackGroup), budget = \(bind: p.budget), valid_from = \(bind: p.when.validFrom.epochMillis),
                    valid_to = \(bind: p.when.validTo.epochMillis), body = \(bind: Body(p).json), version = \(bind: p.version),
                    updated_at = \(bind: now.epochMillis)
                WHERE id = \(bind: id)
                """).run()
            try await self.record(tx, caller, "update", before: before, after: p, event: "promotion.updated")
            return p
        }
    }

    public func activate(_ id: String, caller: Caller) async throws -> Promotion { try await transition(id, to: .active, caller: caller) }
    public func pause(_ id: String, caller: Caller) async throws -> Promotion { try await transition(id, to: .paused, caller: caller) }
    public func end(_ id: String, caller: Caller) async throws -> Promotion { try await transition(id, to: .ended, caller: caller) }

    /// draft → active; active ⇄ paused; anything but ended → ended. Asking for the current status is a no-op.
    func transition(_ id: String, to status: PromotionStatus, caller: Caller) async throws -> Promotion {
        let now = clock.instant()
        defer { invalidate() }
        return try await db.write { tx in
            guard let before = try await Self.promotion(id, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("promotion", id) }
            if before.status == status { return before }
            let allowed: Bool
            switch (before.status, status) {
            case (.draft, .active), (.paused, .active), (.active, .paused), (.draft, .ended), (.active, .ended), (.paused, .ended): allowed = true
            default: allowed = false
            }
            guard allowed else { throw PromotionsError.invalidTransition(promotionId: id, from: before.status, to: status) }
            var p = before
            p.status = status
            p.version += 1
            p.updatedAt = now
            try await tx.sql.raw("""
                UPDATE promotions SET status = \(bind: status.rawValue), version = \(bind: p.version), updated_at = \(bind: now.epochMillis)
                WHERE id = \(bind: id)
                """).run()
            let event = ["active": "promotion.activated", "paused": "promotion.paused", "ended": "promotion.ended"][status.rawValue]!
            let action = ["active": "activate", "paused": "pause", "ended": "end"][status.rawValue]!
            try await self.record(tx, caller, action, before: before, after: p, event: event)
            return p
        }
    }

    public func promotion(_ id: String) async throws -> Promotion {
        guard let p = try await db.read({ try await Self.promotion(id, $0, lock: false) }) else { throw Problem.notFound("promotion", id) }
        return p
    }

    /// Promotions oldest first, optionally of one status.
    public func promotions(status: PromotionStatus? = nil, limit: Int = 50, cursor: String? = nil) async throws -> Page<Promotion> {
        var v = Validator()
        v.range(limit, "limit", 1...Self.maxListed)
        try v.finish()
        var q: SQLQueryString = "SELECT * FROM promotions WHERE 1=1"
        if let status { q += " AND status = \(bind: status.rawValue)" }
        return try await db.page(q, limit: limit, cursor: cursor, map: Self.decode, id: \.id)
    }

    // MARK: Pricing

    /// Prices a cart against the active promotions (from the cache: no SQL on a warm cache).
    public func price(_ cart: Cart) async throws -> PricedCart {
        PricingEngine.price(cart, promotions: try await activePromotions())
    }

    /// The promotions pricing uses: active and not yet past their validity.
    public func activePromotions() async throws -> [Promotion] {
        let gen = generation.load(ordering: .acquiring)
        if let c = cache.withLock({ $0 }), c.generation == gen, ContinuousClock.now - c.at < cacheTTL { return c.promotions }
        let now = clock.instant().epochMillis
        let loaded = try await db.read { sql in
            try await sql.raw("SELECT * FROM promotions WHERE status = 'active' AND valid_to > \(bind: now) ORDER BY priority DESC, id")
                .all().map(Self.decode)
        }
        cache.withLock { c in
            // A write that happened while loading bumped the generation: keep the entry marked stale.
            c = Cached(at: .now, generation: gen, promotions: loaded)
        }
        return loaded
    }

    /// Drops the cached promotions; every write of this process calls it (others' writes show after `cacheTTL`).
    public func invalidate() {
        generation.add(1, ordering: .releasing)
    }

    // MARK: Validation

    static func validate(_ d: PromotionDraft) throws(Problem) -> PromotionDraft {
        var v = Validator()
        var clean = d
        clean.name = d.name.trimmingCharacters(in: .whitespacesAndNewlines)
        v.text(clean.name, "name", max: 200)
        validate(d.who, "who", &v)
        if let w = d.when { validate(w, "when", &v) } else { v.add("when", "is required: give validFrom and validTo") }
        validate(d.which, "which", &v)
        if let b = d.what { validate(b, "what", coupon: false, &v) } else { v.add("what", "is required: say what the promotion gives") }
        validate(d.where, "where", &v)
        v.range(d.priority, "priority", 0...10_000)
        v.code(d.stackGroup, "stackGroup", required: false, max: 40)
        if let b = d.budget { v.check(b > 0, "budget", "must be a positive amount in minor units") }
        try v.finish()
        return clean
    }

    static func validate(_ a: Audience, _ f: String, _ v: inout Validator) {
        switch a.kind {
        case .tiers: v.check(!a.tierCodes.isEmpty, "\(f).tierCodes", "must name at least one tier")
        case .segments: v.check(!a.segmentIds.isEmpty, "\(f).segmentIds", "must name at least one segment")
        default: break
        }
        for (i, t) in a.tierCodes.enumerated() { v.code(t, "\(f).tierCodes[\(i)]", max: 40) }
        for (i, s) in a.segmentIds.enumerated() { v.text(s, "\(f).segmentIds[\(i)]", max: 100) }
    }

    static func validate(_ w: Schedule, _ f: String, _ v: inout Validator) {
        v.check(w.validTo > w.validFrom, "\(f).validTo", "must be after validFrom")
        for (i, d) in w.weekdays.enumerated() { v.range(d, "\(f).weekdays[\(i)]", 1...7) }
        for (i, win) in w.windows.enumerated() {
            v.range(win.fromMinute, "\(f).windows[\(i)].fromMinute", 0...1439)
            v.check(win.toMinute > win.fromMinute && win.toMinute <= 1440, "\(f).windows[\(i)].toMinute", "must be after fromMinute and at most 1440")
        }
    }

    static func validate(_ s: ItemSet, _ f: String, _ v: inout Validator) {
        for (i, x) in s.skuIds.enumerated() { v.text(x, "\(f).skuIds[\(i)]", max: 100) }
        for (i, x) in s.categoryIds.enumerated() { v.text(x, "\(f).categoryIds[\(i)]", max: 100) }
        for (i, x) in s.brandIds.enumerated() { v.text(x, "\(f).brandIds[\(i)]", max: 100) }
    }

    static func validate(_ c: Conditions, _ f: String, _ v: inout Validator) {
        validate(c.cartContains, "\(f).cartContains", &v)
        validate(c.cartExcludes, "\(f).cartExcludes", &v)
        validate(c.historyContains, "\(f).historyContains", &v)
        if let t = c.target {
            v.check(!t.isEmpty, "\(f).target", "must name SKUs, categories or brands (leave it out for every line)")
            validate(t, "\(f).target", &v)
        }
        validate(c.exclude, "\(f).exclude", &v)
        if let q = c.minQuantity { v.check(q >= 1, "\(f).minQuantity", "must be at least 1") }
        if let a = c.minAmount { v.check(a >= 0, "\(f).minAmount", "must not be negative") }
    }

    static func validate(_ b: Benefit, _ f: String, coupon: Bool, _ v: inout Validator) {
        if coupon {
            let allowed: [Benefit.Kind] = [.percentOff, .amountOff, .threshold, .freeShipping]
            if !allowed.contains(b.kind) || (b.kind == .amountOff && b.perUnit) {
                v.add("\(f).kind", "a coupon gives percentOff, amountOff (on the order), threshold or freeShipping")
            }
        }
        func positive(_ x: Int64?, _ name: String) {
            guard let x else { v.add("\(f).\(name)", "is required for \(b.kind.rawValue)"); return }
            v.check(x > 0, "\(f).\(name)", "must be a positive amount in minor units")
        }
        func percent(_ x: Int?, _ name: String) {
            guard let x else { v.add("\(f).\(name)", "is required for \(b.kind.rawValue)"); return }
            v.range(x, "\(f).\(name)", 1...99)
        }
        func notNegative(_ x: Int64?, _ name: String, required: Bool) {
            guard let x else { if required { v.add("\(f).\(name)", "is required for \(b.kind.rawValue)") }; return }
            v.check(x >= 0, "\(f).\(name)", "must not be negative")
        }
        switch b.kind {
        case .percentOff: percent(b.percentOff, "percentOff")
        case .amountOff: positive(b.amountOff, "amountOff")
        case .threshold:
            if b.tiers.isEmpty { v.add("\(f).tiers", "must have at least one tier") }
            for (i, t) in b.tiers.enumerated() {
                let tf = "\(f).tiers[\(i)]"
                v.check(t.minimum > 0, "\(tf).minimum", "must be positive")
                switch (t.amountOff, t.percentOff) {
                case (let a?, nil):
                    v.check(a > 0, "\(tf).amountOff", "must be a positive amount in minor units")
                    if b.basis == .amount { v.check(a < t.minimum, "\(tf).amountOff", "must be less than the tier's minimum") }
                case (nil, let p?): v.range(p, "\(tf).percentOff", 1...99)
                default: v.add(tf, "give exactly one of amountOff and percentOff")
                }
                if i > 0 {
                    let prev = b.tiers[i - 1]
                    v.check(t.minimum > prev.minimum, "\(tf).minimum", "must be more than tier \(i - 1)'s minimum (\(prev.minimum)): thresholds increase")
                    if let a = t.amountOff, let pa = prev.amountOff { v.check(a > pa, "\(tf).amountOff", "must give more than tier \(i - 1)") }
                    if let p = t.percentOff, let pp = prev.percentOff { v.check(p > pp, "\(tf).percentOff", "must give more than tier \(i - 1)") }
                }
            }
        case .buyXGetY:
            if let x = b.buyQuantity { v.range(x, "\(f).buyQuantity", 1...100) } else { v.add("\(f).buyQuantity", "is required for buyXGetY") }
            if let y = b.getQuantity { v.range(y, "\(f).getQuantity", 1...100) } else { v.add("\(f).getQuantity", "is required for buyXGetY") }
        case .gift:
            if let g = b.gift {
                v.text(g.skuId, "\(f).gift.skuId", max: 100)
                v.text(g.skuCode, "\(f).gift.skuCode", max: 100)
                v.range(g.quantity, "\(f).gift.quantity", 1...100)
            } else {
                v.add("\(f).gift", "is required for gift")
            }
            notNegative(b.minimum, "minimum", required: false)
        case .specialPrice: notNegative(b.price, "price", required: true)
        case .bundlePrice:
            if let n = b.quantity { v.range(n, "\(f).quantity", 2...100) } else { v.add("\(f).quantity", "is required for bundlePrice") }
            notNegative(b.price, "price", required: true)
        case .freeShipping: notNegative(b.minimum, "minimum", required: false)
        case .pointsMultiplier:
            if let m = b.multiplier { v.range(m, "\(f).multiplier", 2...10) } else { v.add("\(f).multiplier", "is required for pointsMultiplier") }
        }
        // Fields that mean nothing for this kind but were given negative are still wrong.
        if let a = b.amountOff, a < 0, b.kind != .amountOff { v.add("\(f).amountOff", "must not be negative") }
        if let p = b.price, p < 0, b.kind != .specialPrice && b.kind != .bundlePrice { v.add("\(f).price", "must not be negative") }
    }

    static func validate(_ w: Placement, _ f: String, _ v: inout Validator) {
        if w.allChannels {
            v.check(w.channels.isEmpty, "\(f).channels", "must be empty when allChannels is true")
        } else {
            v.check(!w.channels.isEmpty, "\(f).channels", "must name at least one channel, or set allChannels: true")
        }
        for (i, c) in w.channels.enumerated() { v.code(c, "\(f).channels[\(i)]", max: 100) }
        for (i, x) in w.locationIds.enumerated() { v.text(x, "\(f).locationIds[\(i)]", max: 100) }
        for (i, x) in w.organisationIds.enumerated() { v.text(x, "\(f).organisationIds[\(i)]", max: 100) }
        for (i, x) in w.regionCodes.enumerated() { v.code(x, "\(f).regionCodes[\(i)]", max: 40) }
    }

    /// Exclusive promotions of equal priority whose channels and validity overlap could both claim
    /// one cart with nothing to choose between them: refused, naming both.
    static func checkExclusiveOverlap(_ p: Promotion, _ sql: any SQLDatabase) async throws {
        guard p.exclusive else { return }
        let rows = try await sql.raw("""
            SELECT * FROM promotions WHERE exclusive = 1 AND priority = \(bind: p.priority) AND status <> 'ended' AND id <> \(bind: p.id)
            AND valid_from < \(bind: p.when.validTo.epochMillis) AND valid_to > \(bind: p.when.validFrom.epochMillis) ORDER BY id
            """).all()
        for r in rows {
            let other = try decode(r)
            if other.where.overlapsChannels(p.where) {
                throw PromotionsError.exclusiveOverlap(promotionId: p.id, otherId: other.id, priority: p.priority)
            }
        }
    }

    // MARK: Rows

    struct Body: Codable {
        var who: Audience
        var when: Schedule
        var which: Conditions
        var what: Benefit
        var `where`: Placement
        init(_ p: Promotion) {
            who = p.who
            when = p.when
            which = p.which
            what = p.what
            self.where = p.where
        }
        var json: String { PromotionsJSON.string(self) }
    }

    static func promotion(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Promotion? {
        try await sql.raw("SELECT * FROM promotions WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first().map(decode)
    }

    static func decode(_ r: any SQLRow) throws -> Promotion {
        let body = try PromotionsJSON.decode(Body.self, try r.decode(column: "body", as: String.self))
        return Promotion(
            id: try r.decode(column: "id", as: String.self), name: try r.decode(column: "name", as: String.self),
            status: PromotionStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .draft,
            who: body.who, when: body.when, which: body.which, what: body.what, where: body.where,
            priority: try r.decode(column: "priority", as: Int.self), exclusive: try r.decode(column: "exclusive", as: Int.self) != 0,
            stackGroup: try r.decode(column: "stack_group", as: String?.self), budget: try r.decode(column: "budget", as: Int64?.self),
            budgetUsed: try r.decode(column: "budget_used", as: Int64.self), version: try r.decode(column: "version", as: Int.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    func record<E: Encodable>(_ tx: Transaction, _ caller: Caller, _ action: String, entityType: String = "promotion", entityId: String,
                              before: E?, after: E?, event: String) async throws {
        try await recorder.record(tx, caller: caller, action: action, entityType: entityType, entityId: entityId, before: before, after: after,
                                  organisationId: nil, locationId: nil, event: event)
    }

    func record(_ tx: Transaction, _ caller: Caller, _ action: String, before: Promotion?, after: Promotion, event: String) async throws {
        try await record(tx, caller, action, entityId: after.id, before: before, after: after, event: event)
    }
}

/// JSON for stored rule bodies: dates as epoch milliseconds, so a value read back equals the one written.
enum PromotionsJSON {
    static func string<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .millisecondsSince1970
        return (try? String(decoding: e.encode(value), as: UTF8.self)) ?? "null"
    }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        return try d.decode(type, from: Data(text.utf8))
    }
}
