import ArgumentParser
import Foundation
import O2OCatalog
import O2OCore
import O2ONetwork
import O2OOrders
import O2OServer
import SQLKit

/// `o2o-bench orders olist`: replays the Olist marketplace sample (Brazil, 2016–2018) through the
/// services in process. Each seller becomes an e-commerce warehouse at its zip prefix's mean
/// geolocation (a marketplace seller ships by carrier, which is what a warehouse does here; a
/// ship-from-store store would be weighed only among the 50 nearest to the customer, so the
/// order's own seller would often not even be a candidate), each product one BRL SKU listed on a
/// marketplace channel OLIST, stocked at its sellers with one unit per order item. Orders are
/// placed in purchase-time order with their split payments; the command reports setup and
/// replay times, place latency, orders/s, routing outcomes and every reject with its reason.
struct OlistReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "olist",
        abstract: "Replay the Olist order sample: sellers as warehouses, orders in purchase order, split payments; orders/s, routing, rejects.")

    @Option(help: "Folder with the Olist CSV tables, relative to the current directory.") var data = "../shared/data/olist/sample_8135_orders"
    @Option(help: "sqlite:PATH or postgres://…; must be empty. Default: a temporary SQLite file.") var database: String?
    @Option var engine: Engine?
    @Option(help: "Replay only the first N orders by purchase time.") var limit: Int?
    @Option(help: "Tasks placing orders at once.") var concurrency = 1
    @Flag(help: "Keep the database afterwards.") var keep = false

    static let channel = "OLIST"
    static let currency = "BRL"
    /// Setup requests in flight at once (locations, products): the writer commits them in groups.
    static let setupWidth = 16

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let folder = URL(fileURLWithPath: data, relativeTo: cwd).standardizedFileURL
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("olist_orders_dataset.csv").path) else {
            print("No Olist data at \(folder.path) (olist_orders_dataset.csv and its sibling tables; see ../shared/data/olist/SOURCE.txt): nothing to replay.")
            return
        }
        let (olist, parseMs) = try await timed { try OlistData(folder: folder) }
        try await BenchDatabase.withServices(database: database, engine: engine, keep: keep) { services, bench in
            try await replay(olist, parseMs: parseMs, services, bench)
        }
    }

    // MARK: The replay

    /// One Olist order as it is sent, with what routing is judged against.
    struct Planned: Sendable {
        var new: OrderService.NewOrder
        /// Per line, the locations of the sellers that sold that product in this order.
        var own: [Set<String>]
        var sellers: Int
        var olistItems: Int64
        var olistFreight: Int64
        var olistPaid: Int64
    }

    /// What is kept of a placed order (the order itself carries every candidate's explanation).
    struct Placed: Sendable {
        var lineLocations: [String?]
        var candidates: Int
        var total: Int64
        var paid: Bool
    }

    func replay(_ olist: OlistData, parseMs: Double, _ services: AppServices, _ bench: BenchDatabase) async throws {
        let caller = Caller.system
        let stream = Array(olist.orders.prefix(limit ?? Int.max))
        var rejects = Rejects()
        func setupReject(_ what: String, _ error: any Error) {
            let c = Rejects.classify(error)
            rejects.add("setup", "\(what): \(c.key)", "\(what): \(c.text)")
        }

        // Which orders are sent: those with items whose customer has a geolocation.
        var sendable: [(order: OlistData.Order, at: Coordinates)] = []
        for o in stream {
            guard !o.items.isEmpty else {
                rejects.add("skipped: no items", "the sample has no order_items rows for it", "order \(o.id) (\(o.status), \(o.purchasedAt)): no items")
                continue
            }
            let customer = olist.customers[o.customer]
            guard let customer, let at = olist.geo.byZip[customer.zip] else {
                let zip = customer?.zip ?? "?"
                rejects.add("skipped: no geolocation", "customer zip prefix not in the geolocation table",
                            "order \(o.id): customer zip prefix \(zip) (\(customer?.city ?? "?")/\(customer?.state ?? "?")) is not in the geolocation table")
                continue
            }
            sendable.append((o, at))
        }

        // 1. Sellers as e-commerce warehouses.
        let sellerIds = Set(stream.flatMap { $0.items.map(\.seller) }).sorted()
        var newLocations: [(seller: String, location: NewLocation)] = []
        var placedBy: [OlistData.Geo.Precision: Int] = [:]
        for id in sellerIds {
            guard let s = olist.sellers[id], let (at, precision) = olist.geo.locate(zip: s.zip, city: s.city, state: s.state) else {
                rejects.add("setup", "seller without any geolocation (zip prefix, city or state)", "seller \(id): no geolocation for its zip, city or state")
                continue
            }
            placedBy[precision, default: 0] += 1
            newLocations.append((id, NewLocation(
                code: "OL-" + id.prefix(8), name: "Olist seller \(id.prefix(8)) (\(s.city)/\(s.state))", kind: .ecommerceWarehouse,
                address: Address(line1: "\(s.city) - \(s.state)", provinceCode: Self.noDivision, provinceName: s.state,
                                 cityCode: Self.noDivision, cityName: String(s.city.prefix(50)), districtCode: Self.noDivision, postalCode: s.zip),
                coordinates: at, timeZone: "America/Sao_Paulo", currency: Self.currency)))
        }
        let toCreate = newLocations
        let (createdLocations, locationsMs) = await timed {
            await concurrently(toCreate.count, width: Self.setupWidth) { i in
                await attempt { try await services.network.createLocation(toCreate[i].location, caller: caller) }
            }
        }
        var locationOf: [String: Location] = [:]
        for (i, r) in createdLocations.enumerated() {
            switch r {
            case .success(let l): locationOf[newLocations[i].seller] = l
            case .failure(let e): setupReject("location for seller \(newLocations[i].seller)", e)
            }
        }

        // 2. The channel, a brand and a category per product category, one SKU per product, listed.
        let productIds = Set(stream.flatMap { $0.items.map(\.product) })
        var listPrice: [String: Int64] = [:]
        for o in stream {
            for item in o.items where listPrice[item.product] == nil {
                if let p = Money.parseMinorUnits(item.price, currency: Self.currency) { listPrice[item.product] = p }
            }
        }
        let catalogStart = ContinuousClock.now
        _ = try await services.catalog.createChannel(code: Self.channel, name: "Olist marketplace", kind: .marketplace, currency: Self.currency,
                                                     caller: caller)
        let categoryNames = Set(productIds.map { olist.products[$0]?.category ?? "" }).sorted()
        var brandOf: [String: String] = [:], categoryOf: [String: String] = [:]
        var untranslated = 0
        for pt in categoryNames {
            let name = pt.isEmpty ? "sem_categoria" : pt
            let english = pt.isEmpty ? "uncategorised" : olist.english[pt] ?? name
            if !pt.isEmpty && olist.english[pt] == nil { untranslated += 1 }
            let code = String(name.prefix(40))
            do {
                brandOf[pt] = try await services.catalog.createBrand(code: code, name: english, nameEn: english, caller: caller).id
                categoryOf[pt] = try await services.catalog.createCategory(code: code, name: name, nameEn: english, parentId: nil, caller: caller).id
            } catch {
                setupReject("brand/category \(code)", error)
            }
        }
        let newProducts: [CatalogService.NewProduct] = productIds.sorted().compactMap { id in
            let p = olist.products[id]
            let pt = p?.category ?? ""
            guard let brand = brandOf[pt], let category = categoryOf[pt], let price = listPrice[id] else {
                rejects.add("setup", "product without a brand, category or parsable price", "product \(id): no brand, category or price")
                return nil
            }
            let english = pt.isEmpty ? "uncategorised" : olist.english[pt] ?? pt
            return CatalogService.NewProduct(
                code: id, name: "\(english) \(id.prefix(8))", nameEn: "\(english) \(id.prefix(8))", brandId: brand, categoryId: category,
                optionNames: [], attributes: pt.isEmpty ? [:] : ["olist_category": pt], status: .active,
                skus: [.init(code: id, options: [:], listPrice: price, currency: Self.currency, weightGrams: p?.weight, volumeCm3: p?.volume)])
        }
        let createdProducts = await concurrently(newProducts.count, width: Self.setupWidth) { i in
            await attempt { try await services.catalog.createProduct(newProducts[i], caller: caller) }
        }
        var skuOf: [String: String] = [:]
        for (i, r) in createdProducts.enumerated() {
            switch r {
            case .success(let p): skuOf[p.code] = p.skus[0].id
            case .failure(let e): setupReject("product \(newProducts[i].code)", e)
            }
        }
        let publishAt = services.clock.instant()
        let skuIds = skuOf.values.sorted()
        for chunk in skuIds.chunked(5_000) {
            do {
                _ = try await services.catalog.setListings(channel: Self.channel, chunk.map { .init(sku: $0, publishAt: publishAt) }, caller: caller)
            } catch {
                setupReject("listings", error)
            }
        }
        let catalogMs = (ContinuousClock.now - catalogStart).ms

        // 3. Stock: at each seller, one unit per item it sold in the orders sent.
        var units: [[String]: Int] = [:]
        for (o, _) in sendable {
            for item in o.items { units[[item.product, item.seller], default: 0] += 1 }
        }
        let stockStart = ContinuousClock.now
        let stocker = BulkStock(services: services)
        var balances = 0, stocked = 0
        for (key, n) in units.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            guard let sku = skuOf[key[0]], let location = locationOf[key[1]] else { continue }
            balances += try await stocker.add(sku, location, n)
            stocked += n
        }
        balances += try await stocker.flush()
        let stockMs = (ContinuousClock.now - stockStart).ms

        // 4. Routing: sellers only (warehouses), split across up to 3 when no seller has it all.
        let rule = try await services.orders.setRoutingRule(
            .init(channel: Self.channel, name: "olist sellers", useStores: false, useWarehouses: true, maxLocations: 3), caller: caller)

        // The orders as sent.
        var tendersByType: [String: Int] = [:]
        var droppedTenders = 0
        let plans: [Planned] = sendable.map { o, at in
            var lines: [(sku: String, quantity: Int)] = []
            var own: [Set<String>] = []
            for item in o.items {
                let site = locationOf[item.seller]?.id
                if let i = lines.firstIndex(where: { $0.sku == item.product }) {
                    lines[i].quantity += 1
                    if let site { own[i].insert(site) }
                } else {
                    lines.append((item.product, 1))
                    own.append(site.map { [$0] } ?? [])
                }
            }
            let total = lines.reduce(Int64(0)) { $0 + (listPrice[$1.sku] ?? 0) * Int64($1.quantity) }
            let tenders = o.payments.compactMap { p in Money.parseMinorUnits(p.value, currency: Self.currency).map { (p.type, $0) } }
            for (type, _) in tenders { tendersByType[type, default: 0] += 1 }
            let shares = Self.split(total, tenders.map(\.1))
            droppedTenders += tenders.count - shares.filter { $0 > 0 }.count
            let c = olist.customers[o.customer]!
            let address = DeliveryAddress(name: "Olist customer \(c.uniqueId.prefix(8))", phone: Self.noPhone, line1: "\(c.city) - \(c.state)",
                                          postalCode: c.zip, lat: at.lat, lng: at.lng)
            let new = OrderService.NewOrder(channel: Self.channel, externalId: o.id, method: .delivery, address: address, lines: lines,
                                            payments: shares.filter { $0 > 0 }.map { (tender: Tender.sandbox, amount: $0) }, expectedTotal: total)
            func sum(_ values: [String]) -> Int64 { values.reduce(0) { $0 + (Money.parseMinorUnits($1, currency: Self.currency) ?? 0) } }
            return Planned(new: new, own: own, sellers: Set(o.items.map(\.seller)).count, olistItems: sum(o.items.map(\.price)),
                           olistFreight: sum(o.items.map(\.freight)), olistPaid: tenders.reduce(0) { $0 + $1.1 })
        }

        // 5. Place them, in purchase order, from --concurrency tasks.
        let replayStart = ContinuousClock.now
        let outcomes = await concurrently(plans.count, width: concurrency) { i in
            let start = ContinuousClock.now
            let result = await attempt {
                let o = try await services.orders.place(plans[i].new, caller: Caller(.system, requestId: "olist-\(i)"))
                return Placed(lineLocations: o.lines.map(\.locationId), candidates: o.routing?.candidates.count ?? 0, total: o.total,
                              paid: o.paymentStatus == .paid)
            }
            return (ms: (ContinuousClock.now - start).ms, result: result)
        }
        let replaySeconds = (ContinuousClock.now - replayStart).seconds

        // Tally.
        var placedMs: [Double] = [], refusedMs: [Double] = []
        var own = 0, other = 0, linesOwn = 0, linesOther = 0, candidates = 0, paid = 0
        var split: [Int: Int] = [:]
        var serverTotal: Int64 = 0, olistItems: Int64 = 0, olistFreight: Int64 = 0, olistPaid: Int64 = 0, multiSeller = 0
        for (plan, outcome) in zip(plans, outcomes) {
            switch outcome.result {
            case .success(let p):
                placedMs.append(outcome.ms)
                let mine = zip(p.lineLocations, plan.own).map { loc, sites in loc.map { sites.contains($0) } ?? false }
                linesOwn += mine.filter { $0 }.count
                linesOther += mine.filter { !$0 }.count
                if mine.allSatisfy({ $0 }) { own += 1 } else { other += 1 }
                split[Set(p.lineLocations.compactMap { $0 }).count, default: 0] += 1
                candidates += p.candidates
                if p.paid { paid += 1 }
                serverTotal += p.total
                olistItems += plan.olistItems
                olistFreight += plan.olistFreight
                olistPaid += plan.olistPaid
                if plan.sellers > 1 { multiSeller += 1 }
            case .failure(let error):
                refusedMs.append(outcome.ms)
                let c = Rejects.classify(error)
                rejects.add(c.kind, c.key, "order \(plan.new.externalId!): \(c.text)")
            }
        }
        let placed = placedMs.count
        let verify = try await services.inventory.verify()
        let stored = try await services.db.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n, SUM(LENGTH(routing)) AS bytes FROM orders").first()
        }
        let routingBytes = try stored?.decode(column: "bytes", as: Int64?.self) ?? 0
        let storedOrders = try stored?.decode(column: "n", as: Int.self) ?? 0

        // Report.
        func brl(_ minor: Int64) -> String { "R$ " + Money.decimal(minor, currency: Self.currency) }
        func pct(_ n: Int, _ of: Int) -> String { of == 0 ? "-" : String(format: "%.1f%%", 100 * Double(n) / Double(of)) }
        func row(_ name: String, _ value: String, _ note: String = "") -> String { "  \(pad(name, 26)) \(lpad(value, 10))  \(note)" }
        func secs(_ ms: Double) -> String { String(format: "%.1f s", ms / 1_000) }
        let l = Latencies(placedMs)
        let first = stream.first?.purchasedAt.prefix(10) ?? "-", last = stream.last?.purchasedAt.prefix(10) ?? "-"
        let located = placedBy.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) by \($0.key.rawValue)" }.joined(separator: ", ")
        var out = """
            Olist replay: \(stream.count) orders purchased \(first) .. \(last), from \(olist.folder.path)
            engine \(services.db.engine.rawValue) (\(bench.description)); concurrency \(concurrency)
            setup
            \(row("read CSV (8 tables)", secs(parseMs), "\(olist.rows) rows"))
            \(row("sellers → warehouses", secs(locationsMs), "\(locationOf.count) ecommerce_warehouse locations at their zip prefix's mean geolocation (\(located))"))
            \(row("catalog", secs(catalogMs), "channel OLIST (marketplace, BRL); \(brandOf.count) brands + categories (\(untranslated) without English name); \(skuOf.count) products, one SKU each, listed"))
            \(row("stock (bulk receipts)", secs(stockMs), "\(balances) balances, \(stocked) units: one per order item, at its seller"))
            \(row("routing rule", rule.name, "warehouses only, split across at most \(rule.maxLocations), fallback \(rule.fallback.rawValue)"))
            replay
            \(row("wall time", String(format: "%.1f s", replaySeconds), "\(plans.count) orders sent to OrderService.place"))
            \(row("placed / s", String(format: "%.1f", Double(placed) / replaySeconds), String(format: "(%.1f sent/s)", Double(plans.count) / replaySeconds)))
            \(row("place latency (placed)", "p50 " + fmt(l.p50), "p90 \(fmt(l.p90))  p99 \(fmt(l.p99))  max \(fmt(l.max)) ms  (n=\(l.count))"))
            \(row("refused latency", "p50 " + fmt(Latencies(refusedMs).p50), "max \(fmt(Latencies(refusedMs).max)) ms  (n=\(refusedMs.count))"))
            outcomes
            \(row("placed", "\(placed)", "\(paid) paid (olist tenders mapped to the sandbox provider), \(placed - paid) unpaid"))
            \(row("unroutable", "\(rejects.total("unroutable"))"))
            \(row("validation rejects", "\(rejects.total("validation"))"))
            \(row("other rejects", "\(rejects.total("other"))"))
            \(row("skipped: no items", "\(rejects.total("skipped: no items"))"))
            \(row("skipped: no geolocation", "\(rejects.total("skipped: no geolocation"))"))
            \(row("setup problems", "\(rejects.total("setup"))"))
            routing (placed orders; all \(locationOf.count) sellers weighed, \(String(format: "%.0f", Double(candidates) / Double(max(1, placed)))) candidates explained per order)
            \(row("own seller(s) only", "\(own)", "\(pct(own, placed)) of orders; lines: \(linesOwn) own, \(linesOther) another seller"))
            \(row("another seller", "\(other)", pct(other, placed)))
            \(row("locations per order", split.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " "),
                  "(Olist sold \(multiSeller) of them from more than one seller)"))
            money (placed orders)
            \(row("server totals", brl(serverTotal), "catalog list prices (first item's price), no freight"))
            \(row("olist items", brl(olistItems), "+ freight \(brl(olistFreight)); olist payments \(brl(olistPaid))"))
            \(row("tenders (orders sent)", "\(tendersByType.values.reduce(0, +))", tendersByType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                  + "; \(droppedTenders) with no share (zero value or rounded to 0)"))
            """
        out += "\nrejects by reason"
        for (kind, key, n) in rejects.grouped { out += "\n  \(lpad("\(n)", 5)) × [\(kind)] \(key)" }
        for (kind, texts) in rejects.firstExamples {
            out += "\nfirst \(texts.count) \(kind)"
            for t in texts { out += "\n  - \(t)" }
        }
        out += """

            verify: \(verify.ok ? "ledger ok" : "LEDGER MISMATCH") over \(verify.balances) balances, \(verify.movements) movements
            stored routing explanations: \(String(format: "%.1f", Double(routingBytes) / Double(max(1, storedOrders)) / 1024)) KiB per order, \(String(format: "%.1f", Double(routingBytes) / 1_048_576)) MiB over \(storedOrders) orders; peak memory (VmHWM) \(mib(ProcStatus.hwm))
            """
        print(out)
    }

    /// Brazilian sellers have no Chinese 6-digit division code, which addresses require: a code no
    /// division uses, with the state and city in the names.
    static let noDivision = "000000"
    /// Olist has no phone numbers; delivery addresses require one.
    static let noPhone = "n/a"

    /// The total split across tenders in the proportions of `values` (minor units, rounded down),
    /// the last taking the remainder; empty when there is nothing to split.
    static func split(_ total: Int64, _ values: [Int64]) -> [Int64] {
        let sum = values.reduce(0, +)
        guard total > 0, sum > 0 else { return [] }
        var shares = values.dropLast().map { total * $0 / sum }
        shares.append(total - shares.reduce(0, +))
        return shares
    }
}

/// Rejects and skips by kind and reason, with the first few of each kind verbatim.
struct Rejects {
    private var counts: [String: [String: Int]] = [:]
    private var examples: [String: [String]] = [:]
    private var kinds: [String] = []

    mutating func add(_ kind: String, _ key: String, _ text: String) {
        if counts[kind] == nil { kinds.append(kind) }
        counts[kind, default: [:]][key, default: 0] += 1
        if examples[kind, default: []].count < 5 { examples[kind, default: []].append(text) }
    }

    func total(_ kind: String) -> Int { counts[kind]?.values.reduce(0, +) ?? 0 }

    /// (kind, reason, count), most frequent first within each kind.
    var grouped: [(String, String, Int)] {
        kinds.flatMap { k in counts[k]!.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { (k, $0.key, $0.value) } }
    }

    var firstExamples: [(String, [String])] { kinds.map { ($0, examples[$0]!) } }

    /// The kind of a refusal, a reason to group by (indices and ids left out) and its text.
    static func classify(_ error: any Error) -> (kind: String, key: String, text: String) {
        if let e = error as? OrdersError, case .unroutable(_, let decision) = e {
            let reasons = Set(decision.candidates.map { $0.excluded ?? "takes line(s) \($0.lines)" })
            return ("unroutable", normalise("\(decision.policy); candidates: " + reasons.sorted().joined(separator: " / ")), "\(error)")
        }
        let problem = (error as? Problem) ?? (error as? any ProblemConvertible)?.problem
        guard let p = problem else { return ("other", "\(type(of: error))", String(reflecting: error)) }
        let key = p.errors.map { $0.map { "\(normalise($0.field)): \(normalise($0.message))" }.joined(separator: "; ") } ?? normalise(p.detail ?? p.title)
        return (p.status == 422 ? "validation" : "other", "\(p.status) \(p.type.replacingOccurrences(of: Problem.typeBase, with: "")): \(key)", p.detail ?? p.title)
    }

    static func normalise(_ text: String) -> String {
        text.replacing(/\[\d+(, \d+)*\]/, with: "[…]").replacing(/\d+ more location/, with: "N more location").replacing(/[0-9a-f]{32}/, with: "…").replacing(/OL-[0-9a-f]{8}/, with: "OL-…")
    }
}

/// Runs `body` for 0..<count on `width` tasks (task k takes k, k + width, …, so the work keeps
/// roughly its order) and returns the results in index order.
func concurrently<T: Sendable>(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) async -> T) async -> [T] {
    await withTaskGroup(of: [(Int, T)].self) { group in
        for k in 0..<min(width, count) {
            group.addTask {
                var out: [(Int, T)] = []
                for i in stride(from: k, to: count, by: width) { out.append((i, await body(i))) }
                return out
            }
        }
        var all = [T?](repeating: nil, count: count)
        for await part in group { for (i, v) in part { all[i] = v } }
        return all.map { $0! }
    }
}

/// The value or the error, for work whose failures are tallied rather than thrown.
func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

// MARK: - The data

/// The Olist tables the replay reads, parsed with the catalog's CSV reader.
struct OlistData: Sendable {
    struct Seller: Sendable { var zip, city, state: String }
    struct Customer: Sendable { var uniqueId, zip, city, state: String }
    struct Product: Sendable { var category: String; var weight: Int?; var volume: Int? }
    struct Item: Sendable { var product, seller, price, freight: String }
    struct Payment: Sendable { var type, value: String }
    struct Order: Sendable {
        var id, customer, status, purchasedAt: String
        var items: [Item] = []
        var payments: [Payment] = []
    }

    /// Mean coordinates per zip prefix, with the city's and the state's means to fall back on.
    struct Geo: Sendable {
        enum Precision: String, Sendable { case zip = "zip prefix", city = "city mean", state = "state mean" }
        var byZip: [String: Coordinates] = [:]
        var byCity: [String: Coordinates] = [:]
        var byState: [String: Coordinates] = [:]

        func locate(zip: String, city: String, state: String) -> (Coordinates, Precision)? {
            if let c = byZip[zip] { return (c, .zip) }
            if let c = byCity[city + "/" + state] { return (c, .city) }
            if let c = byState[state] { return (c, .state) }
            return nil
        }
    }

    let folder: URL
    var sellers: [String: Seller] = [:]
    var customers: [String: Customer] = [:]
    var products: [String: Product] = [:]
    var english: [String: String] = [:]
    var geo = Geo()
    /// In purchase-time order.
    var orders: [Order] = []
    var rows = 0

    init(folder: URL) throws {
        self.folder = folder
        struct Mean {
            var lat = 0.0, lng = 0.0, n = 0.0
            mutating func add(_ la: Double, _ ln: Double) { lat += la; lng += ln; n += 1 }
            var value: Coordinates { Coordinates(lat: lat / n, lng: lng / n) }
        }
        var zip: [String: Mean] = [:], city: [String: Mean] = [:], state: [String: Mean] = [:]
        for r in try table("olist_geolocation_dataset.csv", ["geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng",
                                                               "geolocation_city", "geolocation_state"]) {
            guard let la = Double(r[1]), let ln = Double(r[2]) else { continue }
            zip[r[0], default: Mean()].add(la, ln)
            city[r[3] + "/" + r[4], default: Mean()].add(la, ln)
            state[r[4], default: Mean()].add(la, ln)
        }
        geo = Geo(byZip: zip.mapValues(\.value), byCity: city.mapValues(\.value), byState: state.mapValues(\.value))
        for r in try table("olist_sellers_dataset.csv", ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"]) {
            sellers[r[0]] = Seller(zip: r[1], city: r[2], state: r[3])
        }
        for r in try table("olist_customers_dataset.csv", ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"]) {
            customers[r[0]] = Customer(uniqueId: r[1], zip: r[2], city: r[3], state: r[4])
        }
        for r in try table("olist_products_dataset.csv", ["product_id", "product_category_name", "product_weight_g", "product_length_cm",
                                                            "product_height_cm", "product_width_cm"]) {
            let size = r[3...5].compactMap { Int($0) }
            products[r[0]] = Product(category: r[1], weight: Int(r[2]), volume: size.count == 3 ? size.reduce(1, *) : nil)
        }
        for r in try table("product_category_name_translation.csv", ["product_category_name", "product_category_name_english"]) {
            english[r[0]] = r[1]
        }
        var byId: [String: Order] = [:]
        for r in try table("olist_orders_dataset.csv", ["order_id", "customer_id", "order_status", "order_purchase_timestamp"]) {
            byId[r[0]] = Order(id: r[0], customer: r[1], status: r[2], purchasedAt: r[3])
        }
        let items = try table("olist_order_items_dataset.csv", ["order_id", "order_item_id", "product_id", "seller_id", "price", "freight_value"])
        for r in items.sorted(by: { ($0[0], Int($0[1]) ?? 0) < ($1[0], Int($1[1]) ?? 0) }) {
            byId[r[0]]?.items.append(Item(product: r[2], seller: r[3], price: r[4], freight: r[5]))
        }
        let payments = try table("olist_order_payments_dataset.csv", ["order_id", "payment_sequential", "payment_type", "payment_value"])
        for r in payments.sorted(by: { ($0[0], Int($0[1]) ?? 0) < ($1[0], Int($1[1]) ?? 0) }) {
            byId[r[0]]?.payments.append(Payment(type: r[2], value: r[3]))
        }
        orders = byId.values.sorted { ($0.purchasedAt, $0.id) < ($1.purchasedAt, $1.id) }
    }

    /// A table's rows, each reduced to `columns` in that order.
    private mutating func table(_ file: String, _ columns: [String]) throws -> [[String]] {
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        let records = try CSV.parse(text)
        guard let header = records.first?.fields else { throw ValidationError("\(file) is empty") }
        let index = try columns.map { c in
            guard let i = header.firstIndex(of: c) else { throw ValidationError("\(file) has no column \(c)") }
            return i
        }
        rows += records.count - 1
        return records.dropFirst().map { r in index.map { $0 < r.fields.count ? r.fields[$0] : "" } }
    }
}
