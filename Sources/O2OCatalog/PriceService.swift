import Foundation
import O2OCore
import SQLKit

/// The one price policy: the unified retail price per SKU, price lists that override it for a
/// channel, a franchisee's stores, a region or one store, and `resolve`, the one function every
/// channel and module asks "what does this SKU cost here, now".
public struct PriceService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let directory: any LocationDirectory
    let adjustments: [any PriceAdjustment]
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, directory: any LocationDirectory, adjustments: [any PriceAdjustment] = []) {
        self.db = db
        self.clock = clock
        self.directory = directory
        self.adjustments = adjustments
        self.recorder = ChangeRecorder(clock: clock)
    }

    // MARK: Price lists

    public struct NewPriceList: Sendable {
        public var code: String
        public var name: String
        public var currency: String?
        public var priority: Int
        public var channelId: String?
        public var organisationId: String?
        public var locationId: String?
        public var regionCode: String?
        public var validFrom: Date?
        public var validTo: Date?
        public init(code: String, name: String, currency: String? = nil, priority: Int, channelId: String? = nil, organisationId: String? = nil,
                    locationId: String? = nil, regionCode: String? = nil, validFrom: Date? = nil, validTo: Date? = nil) {
            self.code = code
            self.name = name
            self.currency = currency
            self.priority = priority
            self.channelId = channelId
            self.organisationId = organisationId
            self.locationId = locationId
            self.regionCode = regionCode
            self.validFrom = validFrom
            self.validTo = validTo
        }
    }

    public func createPriceList(_ new: NewPriceList, caller: Caller) async throws -> PriceList {
        var v = Validator()
        v.code(new.code, "code")
        v.text(new.name, "name", max: 200)
        v.currency(new.currency, "currency")
        v.range(new.priority, "priority", 0...10_000)
        if let r = new.regionCode, !(r.count == 6 && r.allSatisfy({ $0.isASCII && $0.isNumber })) {
            v.add("regionCode", "must be a 6-digit province, city or district code")
        }
        if let f = new.validFrom, let t = new.validTo, t <= f { v.add("validTo", "must be after validFrom") }
        try v.finish()
        let now = clock.instant()
        var list = PriceList(
            id: O2OID.make("prl", at: now), code: new.code, name: new.name, currency: new.currency ?? "CNY", priority: new.priority,
            channelId: nil, organisationId: new.organisationId, locationId: new.locationId, regionCode: new.regionCode,
            validFrom: new.validFrom, validTo: new.validTo, status: "active", version: 1, createdAt: now, updatedAt: now)
        try await checkTargets(new.channelId, organisationId: new.organisationId, locationId: new.locationId, currency: list.currency,
                               channel: &list.channelId)
        let created = list
        do {
            try await db.write { tx in
                try await Self.serialisePriceListChanges(tx)
                try await Self.refuseOverlap(created, tx)
                try await tx.sql.raw("""
                    INSERT INTO price_lists (id, code, name, currency, priority, channel_id, organisation_id, location_id, region_code,
                        valid_from, valid_to, status, version, created_at, updated_at)
                    VALUES (\(bind: created.id), \(bind: created.code), \(bind: created.name), \(bind: created.currency), \(bind: created.priority),
                        \(bind: created.channelId), \(bind: created.organisationId), \(bind: created.locationId), \(bind: created.regionCode),
                        \(bind: created.validFrom?.epochMillis), \(bind: created.validTo?.epochMillis), 'active', 1,
                        \(bind: now.epochMillis), \(bind: now.epochMillis))
                    """).run()
                try await recorder.record(tx, caller: caller, action: "create", entityType: "price_list", entityId: created.id,
                                          before: PriceList?.none, after: created, organisationId: created.organisationId,
                                          locationId: created.locationId, event: "price_list.created")
            }
        } catch where Database.classify(error) == .uniqueViolation {
            throw Problem.duplicate([.init("code", "price list code '\(new.code)' is already used")])
        }
        return created
    }

    /// Resolves the channel reference to its id and checks the target exists and sells in the list's currency.
    private func checkTargets(_ channelRef: String?, organisationId: String?, locationId: String?, currency: String,
                              channel channelId: inout String?) async throws {
        var v = Validator()
        if let channelRef {
            if let c = try? await db.read({ try await CatalogService.channel(channelRef, $0) }) {
                channelId = c.id
                if c.currency != currency { v.add("currency", "channel \(c.code) sells in \(c.currency), not \(currency)") }
            } else {
                v.add("channelId", "no channel '\(channelRef)'")
            }
        }
        if let organisationId, try await !directory.organisationExists(organisationId) {
            v.add("organisationId", "no organisation '\(organisationId)'")
        }
        if let locationId {
            if let facts = try await directory.facts(locationId) {
                if !facts.isStore { v.add("locationId", "'\(locationId)' is not a store") }
                if facts.currency != currency { v.add("currency", "store \(locationId) uses \(facts.currency), not \(currency)") }
            } else {
                v.add("locationId", "no location '\(locationId)'")
            }
        }
        try v.finish()
    }

    public struct PriceListPatch: Sendable {
        public var name: String?
        public var priority: Int?
        public var validFrom: Date??
        public var validTo: Date??
        public var status: String?
        public var expectedVersion: Int?
        public init() {}
    }

    /// `ref`: the list's id or code.
    public func updatePriceList(_ ref: String, _ patch: PriceListPatch, caller: Caller) async throws -> PriceList {
        var v = Validator()
        v.text(patch.name, "name", required: false, max: 200)
        v.range(patch.priority, "priority", 0...10_000)
        if let s = patch.status, !["active", "inactive"].contains(s) { v.add("status", "must be active or inactive") }
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            try await Self.serialisePriceListChanges(tx)
            let before = try await Self.priceList(ref, tx.sql)
            let id = before.id
            if let expected = patch.expectedVersion, expected != before.version {
                throw Problem.conflict("Price list \(id) is at version \(before.version), not \(expected).", kind: "version-mismatch")
            }
            var after = before
            if let x = patch.name { after.name = x }
            if let x = patch.priority { after.priority = x }
            if let x = patch.validFrom { after.validFrom = x }
            if let x = patch.validTo { after.validTo = x }
            if let x = patch.status { after.status = x }
            if let f = after.validFrom, let t = after.validTo, t <= f { throw Problem.validation([.init("validTo", "must be after validFrom")]) }
            if after == before { return before }
            try await Self.refuseOverlap(after, tx)
            after.version += 1
            after.updatedAt = now
            try await tx.sql.raw("""
                UPDATE price_lists SET name = \(bind: after.name), priority = \(bind: after.priority),
                    valid_from = \(bind: after.validFrom?.epochMillis), valid_to = \(bind: after.validTo?.epochMillis),
                    status = \(bind: after.status), version = \(bind: after.version), updated_at = \(bind: now.epochMillis)
                WHERE id = \(bind: id)
                """).run()
            try await recorder.record(tx, caller: caller, action: "update", entityType: "price_list", entityId: id, before: before,
                                      after: after, organisationId: after.organisationId, locationId: after.locationId,
                                      event: "price_list.updated")
            return after
        }
    }

    /// Two active lists of equal priority that could both apply to one sale at one moment would
    /// leave the winner to chance: refused, naming the other list.
    static func refuseOverlap(_ list: PriceList, _ tx: Transaction) async throws {
        guard list.status == "active" else { return }
        let rows = try await tx.sql.raw("""
            SELECT * FROM price_lists WHERE status = 'active' AND priority = \(bind: list.priority) AND id <> \(bind: list.id)
                AND currency = \(bind: list.currency)
            """).all()
        for other in try rows.map(CatalogRows.priceList) where list.overlaps(other) {
            throw Problem.validation([.init("priority", "overlaps price list \(other.code) (same priority \(list.priority), targets and validity overlap); choose another priority or period")])
        }
    }

    /// Price-list changes take turns (PostgreSQL: a transaction-level advisory lock; SQLite has one writer).
    static func serialisePriceListChanges(_ tx: Transaction) async throws {
        if tx.engine == .postgres { try await tx.sql.raw("SELECT pg_advisory_xact_lock(7020001)").run() }
    }

    public func priceList(_ id: String) async throws -> PriceList {
        try await db.read { try await Self.priceList(id, $0) }
    }

    static func priceList(_ idOrCode: String, _ sql: any SQLDatabase) async throws -> PriceList {
        guard let row = try await sql.raw("SELECT * FROM price_lists WHERE id = \(bind: idOrCode) OR code = \(bind: idOrCode)").first() else {
            throw Problem.notFound("price list", idOrCode)
        }
        return try CatalogRows.priceList(row)
    }

    public func priceLists(limit: Int, cursor: String?) async throws -> Page<PriceList> {
        try await db.page("SELECT * FROM price_lists WHERE 1=1", limit: limit, cursor: cursor, map: CatalogRows.priceList, id: \.id)
    }

    /// Per price list id: how many SKUs it prices.
    public func entryCounts() async throws -> [String: Int] {
        let rows = try await db.read { sql in
            try await sql.raw("SELECT price_list_id, COUNT(*) AS n FROM price_list_entries GROUP BY price_list_id").all()
        }
        var out: [String: Int] = [:]
        for r in rows { out[try r.decode(column: "price_list_id", as: String.self)] = try r.decode(column: "n", as: Int.self) }
        return out
    }

    public struct EntryChange: Sendable {
        /// A SKU id or code.
        public var sku: String
        /// nil removes the SKU from the list.
        public var price: Int64?
        public init(sku: String, price: Int64?) {
            self.sku = sku
            self.price = price
        }
    }

    /// Sets or removes prices in a list; each change goes to the price history.
    public func setEntries(_ priceListId: String, _ changes: [EntryChange], caller: Caller, source: String = "api") async throws -> Int {
        var v = Validator()
        v.check(!changes.isEmpty && changes.count <= 10_000, "items", "send 1 to 10,000 items")
        var seen = Set<String>()
        for (i, c) in changes.enumerated() {
            if let p = c.price, p < 0 { v.add("items[\(i)].price", "must not be negative") }
            if !seen.insert(c.sku).inserted { v.add("items[\(i)].sku", "'\(c.sku)' appears twice") }
        }
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            let list = try await Self.priceList(priceListId, tx.sql)
            let skus = try await CatalogRows.sellability(skuRefs: changes.map(\.sku), tx.sql)
            var missing = Validator()
            var seenIds = Set<String>()
            for (i, c) in changes.enumerated() {
                guard let s = skus[c.sku] else { missing.add("items[\(i)].sku", "no SKU '\(c.sku)'"); continue }
                // One SKU named by its id and by its code would be priced twice.
                if !seenIds.insert(s.id).inserted { missing.add("items[\(i)].sku", "'\(c.sku)' is \(s.code), which another item names too") }
            }
            try missing.finish()
            let ids = changes.map { skus[$0.sku]!.id }
            return try await Self.applyEntries(list, Array(zip(ids, changes.map(\.price))), tx, caller: caller, at: now, source: source,
                                               recorder: recorder)
        }
    }

    /// Writes a list's new prices (nil removes) with their history, and one audit row and event for the batch.
    static func applyEntries(_ list: PriceList, _ changes: [(skuId: String, price: Int64?)], _ tx: Transaction, caller: Caller, at now: Date,
                             source: String, recorder: ChangeRecorder) async throws -> Int {
        var current: [String: Int64] = [:]
        for chunk in changes.map(\.skuId).chunked(400) {
            for r in try await tx.sql.raw("""
                SELECT sku_id, price FROM price_list_entries WHERE price_list_id = \(bind: list.id) AND sku_id IN \(CatalogRows.list(Array(chunk)))
                """).all() {
                current[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "price", as: Int64.self)
            }
        }
        let changes = changes.filter { current[$0.skuId] != $0.price }
        let changed = changes.map(\.skuId)
        // Multi-row statements: a 10,000-price batch is a few dozen statements, not 20,000.
        for chunk in changes.filter({ $0.price != nil }).chunked(300) {
            var q: SQLQueryString = "INSERT INTO price_list_entries (price_list_id, sku_id, price) VALUES "
            for (i, c) in chunk.enumerated() { q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: list.id), \(bind: c.skuId), \(bind: c.price))" }
            q += " ON CONFLICT (price_list_id, sku_id) DO UPDATE SET price = excluded.price"
            try await tx.sql.raw(q).run()
        }
        for chunk in changes.filter({ $0.price == nil }).map(\.skuId).chunked(400) {
            try await tx.sql.raw("DELETE FROM price_list_entries WHERE price_list_id = \(bind: list.id) AND sku_id IN \(CatalogRows.list(Array(chunk)))").run()
        }
        try await PriceHistory.insert(changes.map { (skuId: $0.skuId, priceListId: list.id, old: current[$0.skuId], new: $0.price, currency: list.currency) },
                                      at: now, caller: caller, source: source, tx)
        if !changed.isEmpty {
            struct Summary: Encodable { let priceListId: String; let code: String; let changed: Int; let skuIds: [String] }
            try await recorder.record(tx, caller: caller, action: "set_prices", entityType: "price_list", entityId: list.id,
                                      before: Summary?.none, after: Summary(priceListId: list.id, code: list.code, changed: changed.count, skuIds: changed),
                                      organisationId: list.organisationId, locationId: list.locationId, event: "price_list.prices_changed")
        }
        return changed.count
    }

    public func entries(_ priceListId: String, limit: Int, cursor: String?) async throws -> Page<(entry: PriceEntry, skuCode: String)> {
        let list = try await priceList(priceListId)
        var q: SQLQueryString = """
            SELECT e.sku_id, e.price, s.code FROM price_list_entries e JOIN skus s ON s.id = e.sku_id WHERE e.price_list_id = \(bind: list.id)
            """
        if let cursor { q += " AND e.sku_id > \(bind: cursor)" }
        q += " ORDER BY e.sku_id LIMIT \(literal: limit + 1)"
        let query = q
        let rows = try await db.read { try await $0.raw(query).all() }
        let items = try rows.map { r in
            (entry: PriceEntry(priceListId: list.id, skuId: try r.decode(column: "sku_id", as: String.self),
                               price: Money(minorUnits: try r.decode(column: "price", as: Int64.self), currency: list.currency)),
             skuCode: try r.decode(column: "code", as: String.self))
        }
        return Page(items: items, limit: limit, cursor: { $0.entry.skuId })
    }

    /// A SKU's price changes, newest first: its unified retail price and every list's price for it.
    public func history(sku: String, limit: Int, cursor: String?) async throws -> Page<PriceChange> {
        guard let s = try await db.read({ try await CatalogRows.sellability(skuRefs: [sku], $0) })[sku] else {
            throw Problem.notFound("sku", sku)
        }
        return try await db.page("SELECT * FROM price_history WHERE sku_id = \(bind: s.id)", limit: limit, cursor: cursor,
                                 order: .newestFirst, map: PriceHistory.change, id: \.id)
    }

    // MARK: Resolution

    /// The price of each SKU on a channel (at a store, when given) at a moment, with the rule that
    /// decided it. Among the lists that apply and price the SKU, the highest priority wins, then
    /// the more specific target (store, then franchisee, then region, then channel). Unknown SKUs
    /// are reported all at once.
    public func resolve(skus refs: [String], _ context: PriceContext) async throws -> [ResolvedPrice] {
        var v = Validator()
        v.check(!refs.isEmpty && refs.count <= 1_000, "skus", "send 1 to 1,000 SKUs")
        try v.finish()
        let facts: LocationFacts?
        if let loc = context.locationId {
            guard let f = try await directory.facts(loc) else { throw Problem.validation([.init("locationId", "no location '\(loc)'")]) }
            facts = f
        } else {
            facts = nil
        }
        let (channel, lists, skus, entries, listings) = try await db.read { sql in
            let channel: SalesChannel
            do { channel = try await CatalogService.channel(context.channelId, sql) } catch {
                throw Problem.validation([.init("channelId", "no channel '\(context.channelId)'")])
            }
            let currency = facts?.currency ?? channel.currency
            let t = context.at.epochMillis
            var q: SQLQueryString = """
                SELECT * FROM price_lists WHERE status = 'active' AND currency = \(bind: currency)
                    AND (channel_id IS NULL OR channel_id = \(bind: channel.id))
                    AND (valid_from IS NULL OR valid_from <= \(bind: t)) AND (valid_to IS NULL OR valid_to > \(bind: t))
                """
            if let facts {
                q += """
                     AND (location_id IS NULL OR location_id = \(bind: facts.id))
                     AND (organisation_id IS NULL OR organisation_id = \(bind: facts.organisationId))
                     AND (region_code IS NULL OR region_code IN \(CatalogRows.list(facts.regionCodes)))
                    """
            } else {
                q += " AND location_id IS NULL AND organisation_id IS NULL AND region_code IS NULL"
            }
            let lists = try await sql.raw(q).all().map(CatalogRows.priceList)
            let skus = try await CatalogRows.sellability(skuRefs: refs, sql)
            let ids = Array(Set(skus.values.map(\.id)))
            var entries: [String: [(listId: String, price: Int64)]] = [:]
            var listings: [String: Listing] = [:]
            let applying = Set(lists.map(\.id))
            for chunk in ids.chunked(400) {
                let idList = CatalogRows.list(Array(chunk))
                if !lists.isEmpty {
                    // By SKU only (a handful of lists price each SKU), then kept when the list applies: an
                    // IN on both columns makes SQLite probe the key once per list × SKU pair.
                    for r in try await sql.raw("SELECT price_list_id, sku_id, price FROM price_list_entries WHERE sku_id IN \(idList)").all() {
                        let listId = try r.decode(column: "price_list_id", as: String.self)
                        guard applying.contains(listId) else { continue }
                        entries[try r.decode(column: "sku_id", as: String.self), default: []].append((listId, try r.decode(column: "price", as: Int64.self)))
                    }
                }
                for r in try await sql.raw("SELECT * FROM listings WHERE channel_id = \(bind: channel.id) AND sku_id IN \(idList)").all() {
                    let l = try CatalogRows.listing(r)
                    listings[l.skuId] = l
                }
            }
            return (channel, lists, skus, entries, listings)
        }
        var unknown = Validator()
        for (i, r) in refs.enumerated() where skus[r] == nil { unknown.add("skus[\(i)]", "no SKU '\(r)'") }
        try unknown.finish()

        let currency = facts?.currency ?? channel.currency
        let byId = Dictionary(uniqueKeysWithValues: lists.map { ($0.id, $0) })
        var out: [ResolvedPrice] = []
        out.reserveCapacity(refs.count)
        for ref in refs {
            let s = skus[ref]!
            let candidates = (entries[s.id] ?? []).compactMap { e in byId[e.listId].map { (list: $0, price: e.price) } }
                .sorted { a, b in
                    (a.list.priority, a.list.specificity, b.list.code) > (b.list.priority, b.list.specificity, a.list.code)
                }
            var r = ResolvedPrice(skuId: s.id, skuCode: s.code, currency: currency, listPrice: s.listPrice, price: s.listPrice,
                                  priceListId: nil, priceListCode: nil, rule: "", overridden: [], sellable: true, notSellableReason: nil)
            if let best = candidates.first {
                r.price = best.price
                r.priceListId = best.list.id
                r.priceListCode = best.list.code
                r.rule = "price list \(best.list.code) “\(best.list.name)”: priority \(best.list.priority), for \(best.list.targetDescription)"
                    + (candidates.count > 1 ? "; it outranks \(candidates.dropFirst().map(\.list.code).joined(separator: ", "))" : "")
                r.overridden = candidates.dropFirst().map(\.list.code)
            } else if s.currency == currency {
                r.rule = "unified retail price (统一零售价): no price list here prices this SKU"
            } else {
                r.rule = "no price in \(currency): the unified retail price is in \(s.currency) and no \(currency) price list prices this SKU"
                r.sellable = false
                r.notSellableReason = "no price in \(currency)"
            }
            if r.sellable, let why = Self.notSellable(s, channel: channel, listing: listings[s.id], at: context.at, atStore: facts?.isStore ?? false) {
                r.sellable = false
                r.notSellableReason = why
            }
            for adjustment in adjustments {
                if let adjusted = try await adjustment.adjust(r, context: context) { r = adjusted }
            }
            out.append(r)
        }
        return out
    }

    static func notSellable(_ s: CatalogRows.Sellability, channel: SalesChannel, listing: Listing?, at t: Date, atStore: Bool) -> String? {
        if s.productStatus != .active { return "the product is \(s.productStatus.rawValue)" }
        if s.status != .active { return "the SKU is \(s.status.rawValue)" }
        let storeSale = channel.kind.isStore || atStore
        if s.assortment == .onlineExclusive && storeSale { return "online-exclusive (网络专供): never sold in stores" }
        if s.assortment == .storeExclusive && !storeSale { return "store-exclusive (专卖店专供): sold in stores only" }
        if storeSale, let until = s.onlineFirstUntil, t < until {
            return "new product launches online first (新品首销) until \(ISO8601DateFormatter().string(from: until))"
        }
        guard let listing else { return "not listed on channel \(channel.code)" }
        if !listing.isPublished(at: t) {
            if let p = listing.publishAt, p > t { return "listed on \(channel.code) from \(ISO8601DateFormatter().string(from: p))" }
            return "unpublished from channel \(channel.code)"
        }
        return nil
    }
}

extension PriceList {
    /// Whether some sale could match both lists at some moment.
    func overlaps(_ o: PriceList) -> Bool {
        func compatible(_ a: String?, _ b: String?) -> Bool { a == nil || b == nil || a == b }
        func regionsMeet(_ a: String?, _ b: String?) -> Bool {
            guard let a, let b else { return true }
            // 310000 contains 310100 contains 310104: compare the significant digit pairs (province,
            // city, district); 500000 is province 50, not 5, so it does not contain 510000.
            func significant(_ code: String) -> Substring {
                var s = Substring(code)
                while s.count > 2, s.hasSuffix("00") { s = s.dropLast(2) }
                return s
            }
            let sa = significant(a), sb = significant(b)
            return sa.hasPrefix(sb) || sb.hasPrefix(sa)
        }
        guard compatible(channelId, o.channelId), compatible(organisationId, o.organisationId), compatible(locationId, o.locationId),
              regionsMeet(regionCode, o.regionCode) else { return false }
        let start = max(validFrom ?? .distantPast, o.validFrom ?? .distantPast)
        let end = min(validTo ?? .distantFuture, o.validTo ?? .distantFuture)
        return start < end
    }
}
