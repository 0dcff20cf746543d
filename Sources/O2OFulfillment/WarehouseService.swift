import Foundation
import O2OCore
import O2OInventory
import O2ONetwork
import SQLKit

/// Warehouse management (WMS) on top of the one inventory: bins, where each SKU's units are,
/// receipts with putaway, pick waves with walk-ordered pick lists, and bin counts.
///
/// The ledger stays the truth of how many units a warehouse has; bins say where they are. For
/// every SKU, on hand = in bins + picked for work not yet shipped + on the dock (received, not put
/// away). Receipts raise on hand (the dock); putaway moves dock → bin; a pick moves bin → picked;
/// shipping (the fulfilment order's own transition) turns picked units into the sale. A bin count
/// posts its difference to the ledger. So the dock can never be negative, and `balances` shows it.
public struct WarehouseService: Sendable {
    public let db: Database
    let clock: any O2OClock
    let inventory: InventoryService
    let network: NetworkService
    let fulfillment: FulfillmentService
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, inventory: InventoryService, network: NetworkService, fulfillment: FulfillmentService) {
        self.db = db
        self.clock = clock
        self.inventory = inventory
        self.network = network
        self.fulfillment = fulfillment
        self.recorder = ChangeRecorder(clock: clock)
    }

    public static let maxBinsPerRequest = 2_000
    public static let maxOrdersPerWave = 2_000

    // MARK: Bins

    public struct NewBin: Sendable {
        public var code: String
        public var zone: String
        public var path: Int
        public var capacity: Int?
        public init(code: String, zone: String, path: Int, capacity: Int? = nil) {
            self.code = code
            self.zone = zone
            self.path = path
            self.capacity = capacity
        }
    }

    /// Adds bins to a warehouse; a code the warehouse already has, or one repeated, is a 422 naming it.
    public func createBins(warehouse ref: String, _ bins: [NewBin], caller: Caller) async throws -> [Bin] {
        var v = Validator()
        v.check(!bins.isEmpty && bins.count <= Self.maxBinsPerRequest, "bins", "give 1 to \(Self.maxBinsPerRequest) bins")
        var seen: [String: Int] = [:]
        for (i, b) in bins.enumerated() {
            v.code(b.code, "bins[\(i)].code")
            v.text(b.zone, "bins[\(i)].zone", max: 40)
            v.range(b.path, "bins[\(i)].path", 0...1_000_000_000)
            if let c = b.capacity { v.range(c, "bins[\(i)].capacity", 1...10_000_000) }
            if let j = seen.updateValue(i, forKey: b.code) { v.add("bins[\(i)].code", "'\(b.code)' repeats bins[\(j)]") }
        }
        try v.finish()
        let site = try await warehouse(ref, scope: caller.principal.scope)
        let now = clock.instant()
        let index = seen
        let made = bins.map { Bin(id: O2OID.make("bin", at: now), locationId: site.id, code: $0.code, zone: $0.zone, path: $0.path,
                                  capacity: $0.capacity, createdAt: now) }
        return try await db.write { tx in
            var taken: [Problem.FieldError] = []
            for (i, chunk) in made.chunked(400).enumerated() {
                for r in try await tx.sql.raw("""
                    SELECT code FROM warehouse_bins WHERE location_id = \(bind: site.id) AND code IN \(SQLQueryString.list(chunk.map(\.code)))
                    """).all() {
                    let code = try r.decode(column: "code", as: String.self)
                    taken.append(.init("bins[\(index[code] ?? i)].code", "\(site.code) already has a bin '\(code)'"))
                }
            }
            if !taken.isEmpty { throw Problem.validation(taken) }
            for chunk in made.chunked(400) {
                var q: SQLQueryString = "INSERT INTO warehouse_bins (id, location_id, code, zone, path, capacity, created_at) VALUES "
                for (i, b) in chunk.enumerated() {
                    q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: b.id), \(bind: b.locationId), \(bind: b.code), \(bind: b.zone), \(bind: b.path), \(bind: b.capacity), \(bind: now.epochMillis))"
                }
                try await tx.sql.raw(q).run()
            }
            struct Added: Encodable { let bins: Int; let codes: [String] }
            try await recorder.record(tx, caller: caller, action: "create_bins", entityType: "warehouse", entityId: site.id,
                                      before: Added?.none, after: Added(bins: made.count, codes: Array(made.map(\.code).prefix(50))),
                                      organisationId: site.organisationId, locationId: site.id)
            return made
        }
    }

    /// A warehouse's bins in walk order.
    public func bins(warehouse ref: String, zone: String? = nil, scope: Scope) async throws -> [Bin] {
        let site = try await warehouse(ref, scope: scope)
        return try await db.read { sql in
            var q: SQLQueryString = "SELECT * FROM warehouse_bins WHERE location_id = \(bind: site.id)"
            if let zone { q += " AND zone = \(bind: zone)" }
            q += " ORDER BY path, code"
            return try await sql.raw(q).all().map(Self.bin)
        }
    }

    /// Where a warehouse's units are: per bin and SKU (optionally one SKU or one bin).
    public func binStock(warehouse ref: String, sku: String? = nil, bin: String? = nil, scope: Scope) async throws -> [BinStock] {
        let site = try await warehouse(ref, scope: scope)
        return try await db.read { sql in
            var q: SQLQueryString = """
                SELECT s.bin_id, b.code, b.zone, b.path, s.sku_id, s.quantity, s.allocated FROM bin_stock s JOIN warehouse_bins b ON b.id = s.bin_id
                WHERE s.location_id = \(bind: site.id) AND s.quantity > 0
                """
            if let sku { q += " AND s.sku_id = \(bind: sku)" }
            if let bin { q += " AND (b.id = \(bind: bin) OR b.code = \(bind: bin))" }
            q += " ORDER BY b.path, b.code, s.sku_id"
            return try await sql.raw(q).all().map(Self.stock)
        }
    }

    /// For each SKU with units at the warehouse: on hand, in bins, picked and not shipped, on the dock.
    public func balances(warehouse ref: String, skus: [String]? = nil, scope: Scope) async throws -> [BinBalance] {
        let site = try await warehouse(ref, scope: scope)
        return try await db.read { sql in try await Self.balances(site.id, skus: skus, sql) }
    }

    static func balances(_ site: String, skus only: [String]?, _ sql: any SQLDatabase) async throws -> [BinBalance] {
        var filter: SQLQueryString = ""
        if let only { filter = " AND sku_id IN \(SQLQueryString.list(only.isEmpty ? [""] : only))" }
        var inBins: [String: Int] = [:], picked: [String: Int] = [:], onHand: [String: Int] = [:]
        for r in try await sql.raw("SELECT sku_id, CAST(SUM(quantity) AS BIGINT) AS n FROM bin_stock WHERE location_id = \(bind: site)\(filter) GROUP BY sku_id").all() {
            inBins[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "n", as: Int.self)
        }
        for r in try await sql.raw("""
            SELECT t.sku_id, CAST(SUM(t.picked) AS BIGINT) AS n FROM pick_tasks t JOIN pick_waves w ON w.id = t.wave_id
                JOIN fulfillment_orders f ON f.id = t.fulfillment_order_id
            WHERE w.location_id = \(bind: site) AND t.picked > 0 AND f.status IN \(SQLQueryString.list(Self.holdingPicked))\(filter)
            GROUP BY t.sku_id
            """).all() {
            picked[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "n", as: Int.self)
        }
        for r in try await sql.raw("SELECT sku_id, on_hand FROM inventory_balances WHERE location_id = \(bind: site)\(filter)").all() {
            onHand[try r.decode(column: "sku_id", as: String.self)] = try r.decode(column: "on_hand", as: Int.self)
        }
        return Set(onHand.keys).union(inBins.keys).sorted().map { sku in
            let h = onHand[sku] ?? 0, b = inBins[sku] ?? 0, p = picked[sku] ?? 0
            return BinBalance(skuId: sku, onHand: h, inBins: b, picked: p, dock: h - b - p)
        }
    }

    /// Fulfilment states whose picked units are still in the building (not yet sold out of it).
    static let holdingPicked = [FulfillmentStatus.accepted, .picking, .packed].map(\.rawValue)

    // MARK: Receipts and putaway

    public struct ReceiptRequest: Sendable {
        public var source: ReceiptSource
        /// The transfer's id, or the supplier's delivery note number.
        public var reference: String
        /// Supplier deliveries: what arrived (SKU id or code, units). Transfers: what was counted
        /// per transfer line (all of every line when empty).
        public var lines: [(sku: String, quantity: Int)]
        public init(source: ReceiptSource, reference: String, lines: [(sku: String, quantity: Int)]) {
            self.source = source
            self.reference = reference
            self.lines = lines
        }
    }

    /// Counts goods in (the ledger's receipt, or the transfer received) and suggests a bin for each
    /// line. A transfer already received elsewhere (say by the store flow) is taken as it was received.
    public func receive(warehouse ref: String, _ r: ReceiptRequest, caller: Caller) async throws -> WarehouseReceipt {
        var v = Validator()
        v.text(r.reference, "reference", max: 100)
        if r.source == .supplier { v.check(!r.lines.isEmpty, "lines", "say what arrived") }
        for (i, l) in r.lines.enumerated() { v.range(l.quantity, "lines[\(i)].quantity", r.source == .supplier ? 1...1_000_000 : 0...1_000_000) }
        try v.finish()
        let site = try await warehouse(ref, scope: caller.principal.scope)
        if let existing = try await db.read({ sql in
            try await sql.raw("""
                SELECT * FROM warehouse_receipts WHERE location_id = \(bind: site.id) AND source = \(bind: r.source.rawValue) AND reference = \(bind: r.reference)
                """).first().map(Self.receipt)
        }) {
            throw Problem.conflict("Receipt \(existing.id) already counted \(r.source.rawValue) \(r.reference) in.", kind: "already-received")
        }
        let now = clock.instant()
        let id = O2OID.make("rcp", at: now)
        let counted: [(skuId: String, quantity: Int)]
        switch r.source {
        case .transfer:
            var t = try await inventory.transfer(r.reference, scope: caller.principal.scope)
            guard t.toLocationId == site.id else { throw Problem.validation([.init("reference", "transfer \(t.id) is not to \(site.code)")]) }
            if t.status == .shipped {
                // Counted by SKU; a line not named arrived whole.
                let ids = try await inventory.skuIds(r.lines.map(\.sku))
                var lines: [(line: Int, quantity: Int)] = []
                for (i, l) in r.lines.enumerated() {
                    guard let line = t.lines.first(where: { $0.skuId == ids[l.sku] }) else {
                        throw Problem.validation([.init("lines[\(i)].sku", "transfer \(t.id) carries no \(l.sku)")])
                    }
                    lines.append((line.line, l.quantity))
                }
                t = try await inventory.receiveTransfer(t.id, received: lines.isEmpty ? nil : lines, caller: caller)
            }
            guard t.status == .received else { throw Problem.conflict("Transfer \(t.id) is \(t.status.rawValue); only a shipped transfer is received.") }
            counted = t.lines.map { ($0.skuId, $0.received ?? $0.quantity) }.filter { $0.1 > 0 }
            return try await db.write { tx in try await self.record(id, site, r, counted, caller: caller, now: now, tx) }
        case .supplier:
            return try await db.write { tx in
                let movements = try await inventory.post(.init(location: site.id, kind: .receipt, reason: "supplier delivery", referenceType: "supplier_delivery",
                                                               referenceId: r.reference, lines: r.lines.map { .init(sku: $0.sku, quantity: $0.quantity) }),
                                                         caller: caller, in: tx)
                return try await self.record(id, site, r, movements.map { ($0.skuId, $0.onHandDelta) }, caller: caller, now: now, tx)
            }
        }
    }

    private func record(_ id: String, _ site: Location, _ r: ReceiptRequest, _ counted: [(skuId: String, quantity: Int)], caller: Caller,
                        now: Date, _ tx: Transaction) async throws -> WarehouseReceipt {
        let suggestions = try await Self.suggest(site.id, counted, tx.sql)
        let lines = counted.enumerated().map { i, c in
            ReceiptLine(line: i + 1, skuId: c.skuId, quantity: c.quantity, putAway: 0, suggestions: suggestions[i],
                        unplaced: c.quantity - suggestions[i].reduce(0) { $0 + $1.quantity })
        }
        let receipt = WarehouseReceipt(id: id, locationId: site.id, source: r.source, reference: r.reference, status: .receiving, lines: lines,
                                       createdAt: now, updatedAt: now)
        try await tx.sql.raw("""
            INSERT INTO warehouse_receipts (id, location_id, source, reference, status, lines, created_at, updated_at)
            VALUES (\(bind: id), \(bind: site.id), \(bind: r.source.rawValue), \(bind: r.reference), \(bind: receipt.status.rawValue),
                    \(bind: JSONCoding.string(lines)), \(bind: now.epochMillis), \(bind: now.epochMillis))
            """).run()
        try await recorder.record(tx, caller: caller, action: "receive", entityType: "warehouse_receipt", entityId: id,
                                  before: WarehouseReceipt?.none, after: receipt, organisationId: site.organisationId, locationId: site.id,
                                  event: "warehouse.received")
        return receipt
    }

    /// Putaway suggestions (上架建议) for each line, in walk order: bins already holding the SKU
    /// while they have room (bins without a capacity take it all), then empty bins, then any bin
    /// with room.
    static func suggest(_ site: String, _ lines: [(skuId: String, quantity: Int)], _ sql: any SQLDatabase) async throws -> [[PutawaySuggestion]] {
        let bins = try await sql.raw("""
            SELECT b.id, b.code, b.path, b.capacity, CAST(COALESCE(SUM(s.quantity), 0) AS BIGINT) AS used FROM warehouse_bins b
                LEFT JOIN bin_stock s ON s.bin_id = b.id
            WHERE b.location_id = \(bind: site) GROUP BY b.id, b.code, b.path, b.capacity ORDER BY b.path, b.code
            """).all().map { r in
            (id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
             capacity: try r.decode(column: "capacity", as: Int?.self), used: try r.decode(column: "used", as: Int.self))
        }
        var holding: [String: Set<String>] = [:]
        let skus = Array(Set(lines.map(\.skuId)))
        for chunk in skus.chunked(500) {
            for r in try await sql.raw("""
                SELECT bin_id, sku_id FROM bin_stock WHERE location_id = \(bind: site) AND quantity > 0 AND sku_id IN \(SQLQueryString.list(Array(chunk)))
                """).all() {
                holding[try r.decode(column: "sku_id", as: String.self), default: []].insert(try r.decode(column: "bin_id", as: String.self))
            }
        }
        var room: [String: Int] = [:]
        for b in bins { room[b.id] = b.capacity.map { max(0, $0 - b.used) } ?? Int.max }
        var empty = Set(bins.filter { $0.used == 0 }.map(\.id))
        return lines.map { line in
            var left = line.quantity
            var out: [PutawaySuggestion] = []
            let same = holding[line.skuId] ?? []
            // The SKU's own bins, then empty bins, then (mixing SKUs, the last resort) any bin with room.
            let passes: [(PutawaySuggestion.Reason, (String) -> Bool)] = [(.sameSKU, { same.contains($0) }), (.freeCapacity, { empty.contains($0) }),
                                                                          (.freeCapacity, { _ in true })]
            for (reason, eligible) in passes {
                for b in bins where left > 0 && eligible(b.id) {
                    let take = min(left, room[b.id] ?? 0)
                    guard take > 0 else { continue }
                    out.append(PutawaySuggestion(binId: b.id, binCode: b.code, quantity: take, reason: reason))
                    if room[b.id]! != Int.max { room[b.id]! -= take }
                    empty.remove(b.id)
                    left -= take
                }
            }
            return out
        }
    }

    /// Puts units of a receipt's lines into bins (上架): each bin must be the warehouse's, and no
    /// line may be put away beyond what was counted in. The receipt is done when every line is.
    public func putAway(receipt id: String, _ moves: [(line: Int, bin: String, quantity: Int)], caller: Caller) async throws -> WarehouseReceipt {
        var v = Validator()
        v.check(!moves.isEmpty, "lines", "say what goes where")
        for (i, m) in moves.enumerated() { v.range(m.quantity, "lines[\(i)].quantity", 1...1_000_000) }
        try v.finish()
        return try await db.write { tx in
            guard var receipt = try await tx.sql.raw("SELECT * FROM warehouse_receipts WHERE id = \(bind: id)\(unsafeRaw: Self.lock(tx))").first().map(Self.receipt),
                  let site = try? await network.location(receipt.locationId, scope: caller.principal.scope) else {
                throw Problem.notFound("receipt", id)
            }
            let before = receipt
            let bins = try await Self.binsByRef(site.id, moves.map(\.bin), tx.sql)
            var errors: [Problem.FieldError] = []
            for (i, m) in moves.enumerated() {
                guard let li = receipt.lines.firstIndex(where: { $0.line == m.line }) else { errors.append(.init("lines[\(i)].line", "no line \(m.line)")); continue }
                guard let bin = bins[m.bin] else { errors.append(.init("lines[\(i)].bin", "\(site.code) has no bin '\(m.bin)'")); continue }
                let open = receipt.lines[li].quantity - receipt.lines[li].putAway
                if m.quantity > open { errors.append(.init("lines[\(i)].quantity", "line \(m.line) has \(open) unit(s) left to put away")); continue }
                receipt.lines[li].putAway += m.quantity
                try await Self.addToBin(bin, sku: receipt.lines[li].skuId, site: site.id, m.quantity, tx)
            }
            if !errors.isEmpty { throw Problem.validation(errors) }
            let touched = Dictionary(moves.compactMap { bins[$0.bin] }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            try await Self.checkCapacity(Array(touched.values), tx.sql)
            receipt.status = receipt.lines.allSatisfy { $0.putAway == $0.quantity } ? .putAway : .receiving
            receipt.updatedAt = clock.instant()
            try await tx.sql.raw("""
                UPDATE warehouse_receipts SET lines = \(bind: JSONCoding.string(receipt.lines)), status = \(bind: receipt.status.rawValue),
                    updated_at = \(bind: receipt.updatedAt.epochMillis) WHERE id = \(bind: id)
                """).run()
            try await recorder.record(tx, caller: caller, action: "put_away", entityType: "warehouse_receipt", entityId: id, before: before,
                                      after: receipt, organisationId: site.organisationId, locationId: site.id, event: "warehouse.put_away")
            return receipt
        }
    }

    public func receipt(_ id: String, scope: Scope) async throws -> WarehouseReceipt {
        guard let r = try await db.read({ try await $0.raw("SELECT * FROM warehouse_receipts WHERE id = \(bind: id)").first().map(Self.receipt) }),
              (try? await network.location(r.locationId, scope: scope)) != nil else {
            throw Problem.notFound("receipt", id)
        }
        return r
    }

    static func addToBin(_ bin: Bin, sku: String, site: String, _ quantity: Int, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO bin_stock (bin_id, sku_id, location_id, quantity, allocated) VALUES (\(bind: bin.id), \(bind: sku), \(bind: site), \(bind: quantity), 0)
            ON CONFLICT (bin_id, sku_id) DO UPDATE SET quantity = bin_stock.quantity + excluded.quantity
            """).run()
    }

    /// A bin given more than its capacity is a 422 naming it.
    static func checkCapacity(_ bins: [Bin], _ sql: any SQLDatabase) async throws {
        var errors: [Problem.FieldError] = []
        for b in bins {
            guard let cap = b.capacity else { continue }
            let used = try await sql.raw("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n FROM bin_stock WHERE bin_id = \(bind: b.id)").first()!
                .decode(column: "n", as: Int.self)
            if used > cap { errors.append(.init("lines", "bin \(b.code) holds \(cap) unit(s); this would make it \(used)")) }
        }
        if !errors.isEmpty { throw Problem.validation(errors) }
    }

    // MARK: Pick waves

    /// Builds a wave (波次) from accepted fulfilment orders at the warehouse — the ones named, or
    /// the oldest up to `limit` — not yet on a wave. Each order is allocated whole from bin stock
    /// not already on a pick list (an order a SKU is short for is left out and named); the pick
    /// list runs in walk order (bin path, then code). The wave's orders then move to picking.
    public func createWave(warehouse ref: String, fulfillmentOrderIds: [String]? = nil, limit: Int = 200, caller: Caller) async throws -> PickWave {
        var v = Validator()
        v.range(limit, "limit", 1...Self.maxOrdersPerWave)
        if let ids = fulfillmentOrderIds { v.check(!ids.isEmpty && ids.count <= Self.maxOrdersPerWave, "fulfillmentOrderIds", "name 1 to \(Self.maxOrdersPerWave)") }
        try v.finish()
        let site = try await warehouse(ref, scope: caller.principal.scope)
        let now = clock.instant()
        let started = ContinuousClock.now
        let wave = try await db.write { tx in
            let sql = tx.sql
            var q: SQLQueryString = """
                SELECT f.* FROM fulfillment_orders f WHERE f.location_id = \(bind: site.id) AND f.status = 'accepted'
                    AND NOT EXISTS (SELECT 1 FROM pick_wave_orders w WHERE w.fulfillment_order_id = f.id)
                """
            if let ids = fulfillmentOrderIds { q += " AND f.id IN \(SQLQueryString.list(ids))" }
            q += " ORDER BY f.accepted_at, f.id LIMIT \(unsafeRaw: String(fulfillmentOrderIds?.count ?? limit))"
            let orders = try await sql.raw(q).all().map(FulfillmentRows.decode)
            if let ids = fulfillmentOrderIds {
                let found = Set(orders.map(\.id))
                let missing = ids.enumerated().filter { !found.contains($0.element) }
                if !missing.isEmpty {
                    throw Problem.validation(missing.map { .init("fulfillmentOrderIds[\($0.offset)]", "\($0.element) is not an accepted fulfilment order at \(site.code) outside a wave") })
                }
            }
            guard !orders.isEmpty else { throw Problem.conflict("\(site.code) has no accepted fulfilment orders outside a wave.", kind: "nothing-to-pick") }
            // Free units per SKU, bin by bin in walk order.
            let skus = Array(Set(orders.flatMap { $0.lines.map(\.skuId) }))
            var free: [String: [(bin: BinStock, free: Int)]] = [:]
            for chunk in skus.chunked(500) {
                for r in try await sql.raw("""
                    SELECT s.bin_id, b.code, b.zone, b.path, s.sku_id, s.quantity, s.allocated FROM bin_stock s JOIN warehouse_bins b ON b.id = s.bin_id
                    WHERE s.location_id = \(bind: site.id) AND s.quantity > s.allocated AND s.sku_id IN \(SQLQueryString.list(Array(chunk)))
                    ORDER BY b.path, b.code\(unsafeRaw: tx.engine == .postgres ? " FOR UPDATE OF s" : "")
                    """).all() {
                    let s = try Self.stock(r)
                    free[s.skuId, default: []].append((s, s.quantity - s.allocated))
                }
            }
            var tasks: [PickTask] = []
            var shortages: [WaveShortage] = []
            var taken: [String] = []
            for f in orders {
                var trial = free
                var mine: [PickTask] = []
                var short: WaveShortage?
                for l in f.lines {
                    var left = l.quantity
                    for i in (trial[l.skuId] ?? []).indices where left > 0 {
                        let take = min(left, trial[l.skuId]![i].free)
                        guard take > 0 else { continue }
                        trial[l.skuId]![i].free -= take
                        left -= take
                        let b = trial[l.skuId]![i].bin
                        mine.append(PickTask(seq: 0, binId: b.binId, binCode: b.binCode, zone: b.zone, path: b.path, skuId: l.skuId,
                                             fulfillmentOrderId: f.id, quantity: take, picked: 0))
                    }
                    if left > 0 {
                        short = WaveShortage(fulfillmentOrderId: f.id, skuId: l.skuId, requested: l.quantity,
                                             inBins: (free[l.skuId] ?? []).reduce(0) { $0 + $1.free })
                        break
                    }
                }
                if let short { shortages.append(short); continue }
                free = trial
                tasks += mine
                taken.append(f.id)
            }
            guard !taken.isEmpty else {
                var p = Problem.conflict("No order can be picked whole from the bins: \(shortages.count) short.", kind: "nothing-to-pick")
                p.errors = shortages.prefix(50).map { .init("fulfillmentOrderIds", "\($0.fulfillmentOrderId): \($0.skuId) needs \($0.requested), bins have \($0.inBins)") }
                throw p
            }
            tasks.sort { ($0.path, $0.binCode, $0.skuId, $0.fulfillmentOrderId) < ($1.path, $1.binCode, $1.skuId, $1.fulfillmentOrderId) }
            for i in tasks.indices { tasks[i].seq = i + 1 }
            let wave = PickWave(id: O2OID.make("wav", at: now), locationId: site.id, status: .open, fulfillmentOrderIds: taken, tasks: tasks,
                                shortages: shortages, createdAt: now, updatedAt: now)
            try await sql.raw("""
                INSERT INTO pick_waves (id, location_id, status, shortages, created_at, updated_at)
                VALUES (\(bind: wave.id), \(bind: site.id), 'open', \(bind: JSONCoding.string(shortages)), \(bind: now.epochMillis), \(bind: now.epochMillis))
                """).run()
            for chunk in tasks.chunked(300) {
                var q: SQLQueryString = "INSERT INTO pick_tasks (wave_id, seq, bin_id, sku_id, fulfillment_order_id, quantity, picked) VALUES "
                for (i, t) in chunk.enumerated() {
                    q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: wave.id), \(bind: t.seq), \(bind: t.binId), \(bind: t.skuId), \(bind: t.fulfillmentOrderId), \(bind: t.quantity), 0)"
                }
                try await sql.raw(q).run()
            }
            for chunk in taken.chunked(400) {
                var q: SQLQueryString = "INSERT INTO pick_wave_orders (fulfillment_order_id, wave_id) VALUES "
                for (i, f) in chunk.enumerated() { q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: f), \(bind: wave.id))" }
                try await sql.raw(q).run()
            }
            let allocated = Dictionary(tasks.map { ("\($0.binId)\u{1}\($0.skuId)", $0.quantity) }, uniquingKeysWith: +)
            for (key, n) in allocated {
                let parts = key.split(separator: "\u{1}").map(String.init)
                try await sql.raw("UPDATE bin_stock SET allocated = allocated + \(bind: n) WHERE bin_id = \(bind: parts[0]) AND sku_id = \(bind: parts[1])").run()
            }
            struct Summary: Encodable { let orders: Int; let tasks: Int; let shortages: Int }
            try await recorder.record(tx, caller: caller, action: "create", entityType: "pick_wave", entityId: wave.id, before: Summary?.none,
                                      after: Summary(orders: taken.count, tasks: tasks.count, shortages: shortages.count),
                                      organisationId: site.organisationId, locationId: site.id, event: "warehouse.wave_created")
            return wave
        }
        let listed = ContinuousClock.now
        // Each order's own transition, in its own transaction: one that moved on meanwhile keeps its tasks, which it no longer needs.
        for id in wave.fulfillmentOrderIds {
            do { _ = try await fulfillment.transition(id, to: .picking, note: "wave \(wave.id)", caller: caller) } catch let p as Problem where p.status == 409 {
                db.logger.info("a wave's order moved on before picking", metadata: ["wave": "\(wave.id)", "fulfillmentOrder": "\(id)"])
            }
        }
        db.logger.info("pick wave", metadata: ["wave": "\(wave.id)", "orders": "\(wave.fulfillmentOrderIds.count)", "tasks": "\(wave.tasks.count)",
                                               "pickList": "\(listed - started)", "toPicking": "\(ContinuousClock.now - listed)"])
        return wave
    }

    public func wave(_ id: String, scope: Scope) async throws -> PickWave {
        guard let w = try await db.read({ try await Self.wave(id, $0, lock: false) }), (try? await network.location(w.locationId, scope: scope)) != nil else {
            throw Problem.notFound("pick wave", id)
        }
        return w
    }

    public func waves(warehouse ref: String, status: WaveStatus? = nil, limit: Int = 50, scope: Scope) async throws -> [PickWave] {
        let site = try await warehouse(ref, scope: scope)
        return try await db.read { sql in
            var q: SQLQueryString = "SELECT id FROM pick_waves WHERE location_id = \(bind: site.id)"
            if let status { q += " AND status = \(bind: status.rawValue)" }
            q += " ORDER BY id DESC LIMIT \(unsafeRaw: String(min(max(limit, 1), 200)))"
            var out: [PickWave] = []
            for r in try await sql.raw(q).all() {
                if let w = try await Self.wave(try r.decode(column: "id", as: String.self), sql, lock: false) { out.append(w) }
            }
            return out
        }
    }

    /// Confirms picks (下架): units taken from a task's bin, never more than the task holds for
    /// its order (what was reserved). The wave is picked when every task is.
    public func pick(wave id: String, _ picks: [(seq: Int, quantity: Int)], caller: Caller) async throws -> PickWave {
        var v = Validator()
        v.check(!picks.isEmpty, "picks", "say what was picked")
        for (i, p) in picks.enumerated() { v.range(p.quantity, "picks[\(i)].quantity", 1...1_000_000) }
        try v.finish()
        return try await db.write { tx in
            guard var w = try await Self.wave(id, tx.sql, lock: tx.engine == .postgres),
                  let site = try? await network.location(w.locationId, scope: caller.principal.scope) else {
                throw Problem.notFound("pick wave", id)
            }
            guard w.status == .open else { throw Problem.conflict("Wave \(id) is \(w.status.rawValue).", kind: "invalid-transition") }
            let before = w
            var errors: [Problem.FieldError] = []
            let bySeq = Dictionary(w.tasks.enumerated().map { ($1.seq, $0) }, uniquingKeysWith: { a, _ in a })
            for (i, p) in picks.enumerated() {
                guard let ti = bySeq[p.seq] else { errors.append(.init("picks[\(i)].seq", "no task \(p.seq)")); continue }
                let t = w.tasks[ti]
                if p.quantity > t.quantity - t.picked {
                    errors.append(.init("picks[\(i)].quantity", "task \(t.seq) holds \(t.quantity - t.picked) more unit(s) of \(t.skuId) from \(t.binCode) for \(t.fulfillmentOrderId)"))
                    continue
                }
                w.tasks[ti].picked += p.quantity
                try await tx.sql.raw("""
                    UPDATE bin_stock SET quantity = quantity - \(bind: p.quantity), allocated = allocated - \(bind: p.quantity)
                    WHERE bin_id = \(bind: t.binId) AND sku_id = \(bind: t.skuId)
                    """).run()
                try await tx.sql.raw("UPDATE pick_tasks SET picked = \(bind: w.tasks[ti].picked) WHERE wave_id = \(bind: id) AND seq = \(bind: t.seq)").run()
            }
            if !errors.isEmpty { throw Problem.validation(errors) }
            if w.tasks.allSatisfy({ $0.picked == $0.quantity }) { w.status = .picked }
            w.updatedAt = clock.instant()
            try await tx.sql.raw("UPDATE pick_waves SET status = \(bind: w.status.rawValue), updated_at = \(bind: w.updatedAt.epochMillis) WHERE id = \(bind: id)").run()
            if w.status == .picked { try await tx.sql.raw("DELETE FROM pick_wave_orders WHERE wave_id = \(bind: id)").run() }
            struct Picked: Encodable { let picks: Int; let status: WaveStatus }
            try await recorder.record(tx, caller: caller, action: "pick", entityType: "pick_wave", entityId: id,
                                      before: Picked(picks: before.tasks.reduce(0) { $0 + $1.picked }, status: before.status),
                                      after: Picked(picks: w.tasks.reduce(0) { $0 + $1.picked }, status: w.status),
                                      organisationId: site.organisationId, locationId: site.id, event: w.status == .picked ? "warehouse.wave_picked" : nil)
            return w
        }
    }

    // MARK: Bin counts

    /// A bin counted: each SKU found (a SKU the bin held and not named counts as 0 only when
    /// `complete`). Differences are posted to the ledger as adjustments, in the same transaction.
    /// Units on an open pick list cannot be counted away (409).
    public func count(warehouse ref: String, bin binRef: String, _ found: [(sku: String, counted: Int)], complete: Bool, caller: Caller) async throws -> BinCount {
        var v = Validator()
        for (i, f) in found.enumerated() { v.range(f.counted, "lines[\(i)].counted", 0...10_000_000) }
        v.check(!found.isEmpty || complete, "lines", "say what was found, or count the bin complete")
        try v.finish()
        let site = try await warehouse(ref, scope: caller.principal.scope)
        let skuIds = try await inventory.skuIds(found.map(\.sku))
        return try await db.write { tx in
            guard let bin = try await Self.binsByRef(site.id, [binRef], tx.sql)[binRef] else {
                throw Problem.validation([.init("bin", "\(site.code) has no bin '\(binRef)'")])
            }
            var held: [String: (quantity: Int, allocated: Int)] = [:]
            for r in try await tx.sql.raw("SELECT sku_id, quantity, allocated FROM bin_stock WHERE bin_id = \(bind: bin.id)\(unsafeRaw: Self.lock(tx))").all() {
                held[try r.decode(column: "sku_id", as: String.self)] = (try r.decode(column: "quantity", as: Int.self), try r.decode(column: "allocated", as: Int.self))
            }
            var counted: [String: Int] = complete ? held.mapValues { _ in 0 } : [:]
            for f in found { counted[skuIds[f.sku]!] = f.counted }
            var lines: [BinCount.Line] = []
            var adjustments: [InventoryService.MovementLine] = []
            for (sku, n) in counted.sorted(by: { $0.key < $1.key }) {
                let h = held[sku] ?? (0, 0)
                if n < h.allocated { throw Problem.conflict("\(h.allocated) unit(s) of \(sku) in \(bin.code) are on an open pick list; pick them first.") }
                lines.append(.init(skuId: sku, expected: h.quantity, counted: n))
                if n != h.quantity {
                    adjustments.append(.init(sku: sku, quantity: n - h.quantity))
                    try await tx.sql.raw("""
                        INSERT INTO bin_stock (bin_id, sku_id, location_id, quantity, allocated) VALUES (\(bind: bin.id), \(bind: sku), \(bind: site.id), \(bind: n), 0)
                        ON CONFLICT (bin_id, sku_id) DO UPDATE SET quantity = excluded.quantity
                        """).run()
                }
            }
            if !adjustments.isEmpty {
                _ = try await inventory.post(.init(location: site.id, kind: .adjustment, reason: "bin count \(bin.code)", referenceType: "bin_count",
                                                   referenceId: bin.id, lines: adjustments), caller: caller, in: tx)
            }
            let result = BinCount(binId: bin.id, binCode: bin.code, lines: lines, at: clock.instant())
            try await recorder.record(tx, caller: caller, action: "count", entityType: "warehouse_bin", entityId: bin.id, before: BinCount?.none,
                                      after: result, organisationId: site.organisationId, locationId: site.id, event: "warehouse.bin_counted")
            return result
        }
    }

    // MARK: Reading

    func warehouse(_ ref: String, scope: Scope) async throws -> Location {
        let found: Location
        do { found = try await network.location(ref, scope: .all) } catch let p as Problem where p.status == 404 {
            throw Problem.notFound("warehouse", ref)
        }
        guard scope.allows(organisationId: found.organisationId, locationId: found.id) else { throw Problem.notFound("warehouse", ref) }
        guard found.kind.isWarehouse else { throw Problem.validation([.init("warehouse", "\(found.code) is a store; bins are a warehouse's")]) }
        return found
    }

    /// Bins of one warehouse by id or code; a bin of another warehouse is not found.
    static func binsByRef(_ site: String, _ refs: [String], _ sql: any SQLDatabase) async throws -> [String: Bin] {
        var out: [String: Bin] = [:]
        for chunk in Array(Set(refs)).chunked(400).map(Array.init) {
            for b in try await sql.raw("""
                SELECT * FROM warehouse_bins WHERE location_id = \(bind: site) AND (id IN \(SQLQueryString.list(chunk)) OR code IN \(SQLQueryString.list(chunk)))
                """).all().map(bin) {
                out[b.id] = b
                out[b.code] = b
            }
        }
        return out
    }

    static func wave(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> PickWave? {
        guard let r = try await sql.raw("SELECT * FROM pick_waves WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first() else { return nil }
        let tasks = try await sql.raw("""
            SELECT t.*, b.code, b.zone, b.path FROM pick_tasks t JOIN warehouse_bins b ON b.id = t.bin_id WHERE t.wave_id = \(bind: id) ORDER BY t.seq
            """).all().map { t in
            PickTask(seq: try t.decode(column: "seq", as: Int.self), binId: try t.decode(column: "bin_id", as: String.self),
                     binCode: try t.decode(column: "code", as: String.self), zone: try t.decode(column: "zone", as: String.self),
                     path: try t.decode(column: "path", as: Int.self), skuId: try t.decode(column: "sku_id", as: String.self),
                     fulfillmentOrderId: try t.decode(column: "fulfillment_order_id", as: String.self),
                     quantity: try t.decode(column: "quantity", as: Int.self), picked: try t.decode(column: "picked", as: Int.self))
        }
        var orders: [String] = []
        for t in tasks where !orders.contains(t.fulfillmentOrderId) { orders.append(t.fulfillmentOrderId) }
        return PickWave(id: id, locationId: try r.decode(column: "location_id", as: String.self),
                        status: WaveStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .open, fulfillmentOrderIds: orders.sorted(),
                        tasks: tasks, shortages: try json([WaveShortage].self, try r.decode(column: "shortages", as: String.self)),
                        createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                        updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func bin(_ r: any SQLRow) throws -> Bin {
        Bin(id: try r.decode(column: "id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
            code: try r.decode(column: "code", as: String.self), zone: try r.decode(column: "zone", as: String.self),
            path: try r.decode(column: "path", as: Int.self), capacity: try r.decode(column: "capacity", as: Int?.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func stock(_ r: any SQLRow) throws -> BinStock {
        BinStock(binId: try r.decode(column: "bin_id", as: String.self), binCode: try r.decode(column: "code", as: String.self),
                 zone: try r.decode(column: "zone", as: String.self), path: try r.decode(column: "path", as: Int.self),
                 skuId: try r.decode(column: "sku_id", as: String.self), quantity: try r.decode(column: "quantity", as: Int.self),
                 allocated: try r.decode(column: "allocated", as: Int.self))
    }

    static func receipt(_ r: any SQLRow) throws -> WarehouseReceipt {
        WarehouseReceipt(id: try r.decode(column: "id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
                         source: ReceiptSource(rawValue: try r.decode(column: "source", as: String.self)) ?? .supplier,
                         reference: try r.decode(column: "reference", as: String.self),
                         status: ReceiptStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .receiving,
                         lines: try json([ReceiptLine].self, try r.decode(column: "lines", as: String.self)),
                         createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                         updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func lock(_ tx: Transaction) -> String { tx.engine == .postgres ? " FOR UPDATE" : "" }

    /// Stored JSON, as `JSONCoding.string` writes it.
    static func json<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }
}
