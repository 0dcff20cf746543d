import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import O2OCatalog
import O2OCore
import O2ONetwork
import O2OServer
import Synchronization

/// `o2o-bench catalog`: CSV import (throughput, memory, and what it does to concurrent reads and
/// writes), price resolution through the HTTP API over hundreds of price lists, and product search.
struct CatalogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Catalog import, price resolution and search on a fresh database.",
        discussion: """
            1. Imports a generated apparel catalog (--products styles × --skus-per-product SKUs) from CSV through \
            CatalogImporter.importCSV, sampling VmRSS every 10 ms and timing a loop of small reads (CatalogService.product) \
            and small writes (CatalogService.createBrand) running beside it.
            2. Creates --price-lists price lists of mixed targets (channel, franchisee, region 310100/310000/310106, store; some \
            with validity windows) with 200–2,000 entries each, starts the HTTP server on a free port, logs in as hq_admin and \
            sends --requests sequential POST /api/v1/prices/resolve with --skus-per-request random SKU codes, for the POS channel \
            at a franchise store.
            3. Searches the products (CatalogService.products, limit 20) with substring queries, and the same through \
            GET /api/v1/products?q=….
            """)

    @Option(help: ArgumentHelp("sqlite:PATH or postgres://user@host:port/db; must hold no catalog yet. Default: a temporary SQLite file.",
                               valueName: "url"))
    var database: String?

    @Option(help: "sqlite or postgres. With postgres and no --database, a fresh database is created on the server O2O_TEST_POSTGRES_URL names and dropped afterwards.")
    var engine: Engine?

    @Option(help: "Styles (products) in the import.")
    var products = 50_000

    @Option(help: "SKUs per style.")
    var skusPerProduct = 2

    @Option(help: "Price lists to create.")
    var priceLists = 500

    @Option(help: "Measured price-resolution requests.")
    var requests = 500

    @Option(help: "Warm-up price-resolution requests (not measured).")
    var warmup = 50

    @Option(help: "SKU codes per price-resolution request.")
    var skusPerRequest = 100

    @Option(help: "Repetitions of each search query through the service.")
    var searchRepeats = 200

    @Option(help: "Repetitions of each search query through GET /api/v1/products.")
    var apiSearchRequests = 100

    @Option(help: "Seed of the generated catalog and of the random SKU picks.")
    var seed: UInt64 = 2026

    @Flag(help: "Print the report as JSON instead of a table.")
    var json = false

    @Flag(help: "Keep the temporary database.")
    var keep = false

    func validate() throws {
        guard products >= 1, (1...40).contains(skusPerProduct) else { throw ValidationError("--products ≥ 1, --skus-per-product 1…40") }
        guard priceLists >= 1, priceLists <= 10_000 else { throw ValidationError("--price-lists 1…10,000 (priorities are distinct)") }
        guard (1...1_000).contains(skusPerRequest), skusPerRequest <= products * skusPerProduct else {
            throw ValidationError("--skus-per-request 1…1,000 and at most the number of SKUs")
        }
        guard requests >= 1, warmup >= 0, searchRepeats >= 1, apiSearchRequests >= 0 else { throw ValidationError("counts must be positive") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = BenchDatabase.logLevel
            return h
        }
        let db = try await BenchDatabase.make(database: database, engine: engine, keep: keep)
        var config = ServerConfig()
        config.database = db.url
        config.bcryptCost = 4
        config.logLevel = .warning
        let services: AppServices
        do {
            services = try await AppServices.open(config: config, logger: BenchDatabase.logger)
        } catch {
            await db.cleanup()
            throw error
        }
        do {
            let settings = Settings(products: products, skusPerProduct: skusPerProduct, priceLists: priceLists, requests: requests,
                                    warmup: warmup, skusPerRequest: skusPerRequest, searchRepeats: searchRepeats,
                                    apiSearchRequests: apiSearchRequests, seed: seed)
            let report = try await Runner(options: settings, services: services, database: db.description).run()
            await services.db.close()
            await db.cleanup()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.table())
            }
        } catch {
            await services.db.close()
            await db.cleanup()
            throw error
        }
    }
}

func progress(_ message: String) {
    FileHandle.standardError.write(Data("[o2o-bench] \(message)\n".utf8))
}

/// A flag one task sets and loops in other tasks read.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

// MARK: - Report

struct Report: Codable {
    struct Environment: Codable {
        var engine: String
        var database: String
        var cores: Int
        var loadAverageAtStart: String
        var loadAverageAtEnd: String
        var startedAt: String
    }

    struct Import: Codable {
        var products: Int
        var skus: Int
        var csvBytes: Int
        var seconds: Double
        var rowsPerSecond: Double
        var created: Int
        var rssBeforeKiB: Int?
        var rssPeakKiB: Int
        var rssSamples: Int
        var vmHWMKiB: Int?
        var readsBaseline: Latencies
        var readsDuring: Latencies
        var writesBaseline: Latencies
        var writesDuring: Latencies
        var errorsDuring: [String]
    }

    struct Prices: Codable {
        var lists: Int
        var entries: Int
        var listsApplying: Int
        var createListsSeconds: Double
        var setEntriesSeconds: Double
        var entriesPerSecond: Double
        var channel: String
        var store: String
        var requests: Int
        var warmup: Int
        var skusPerRequest: Int
        var latency: Latencies
        var requestsPerSecond: Double
        var badAnswers: Int
        var itemsPricedByAList: Double
        var winningListsSeen: Int
        /// The same kind of call to PriceService.resolve in-process, without HTTP.
        var serviceLatency: Latencies
    }

    struct Search: Codable {
        var label: String
        var query: String
        var firstPage: Int
        var more: Bool
        var service: Latencies
        var api: Latencies?
        var apiFirstPage: Int?
    }

    var environment: Environment
    var setupSeconds: Double
    var importRun: Import
    var prices: Prices
    var search: [Search]
    var searchRepeats: Int
    var apiSearchRequests: Int

    func table() -> String {
        var out: [String] = []
        func line(_ s: String = "") { out.append(s) }
        func lat(_ l: Latencies) -> String {
            "p50 \(lpad(fmt(l.p50), 7))  p99 \(lpad(fmt(l.p99), 7))  max \(lpad(fmt(l.max), 7)) ms  (n=\(l.count))"
        }
        let e = environment, i = importRun, p = prices
        line("o2o-bench catalog — engine \(e.engine)")
        line("  database      \(e.database)")
        line("  machine       \(e.cores) cores; load average \(e.loadAverageAtStart) at start, \(e.loadAverageAtEnd) at end; \(e.startedAt)")
        line("  setup         \(String(format: "%.1f", setupSeconds)) s (brands, categories, network, channels, user)")
        line()
        line("1. CSV import (CatalogImporter.importCSV .skus: staged in short transactions, applied in one)")
        line("  rows          \(i.skus) SKUs of \(i.products) products, \(mib(i.csvBytes / 1024)) of CSV; created \(i.created)")
        line("  time          \(String(format: "%.2f", i.seconds)) s  →  \(String(format: "%.0f", i.rowsPerSecond)) rows/s")
        line("  memory        RSS before \(mib(i.rssBeforeKiB)), peak during \(mib(i.rssPeakKiB)) (\(i.rssSamples) samples), VmHWM after \(mib(i.vmHWMKiB))")
        line("  reads         product(id)  idle:   " + lat(i.readsBaseline))
        line("                             import: " + lat(i.readsDuring))
        line("  writes        createBrand  idle:   " + lat(i.writesBaseline))
        line("                             import: " + lat(i.writesDuring))
        if !i.errorsDuring.isEmpty { line("  errors        \(i.errorsDuring.joined(separator: "; "))") }
        line()
        line("2. Price resolution — POST /api/v1/prices/resolve over HTTP (live server, one keep-alive connection)")
        line("  price lists   \(p.lists) lists, \(p.entries) entries; \(p.listsApplying) apply to the measured sale")
        line("  setup         createPriceList \(String(format: "%.1f", p.createListsSeconds)) s; setEntries \(String(format: "%.1f", p.setEntriesSeconds)) s (\(String(format: "%.0f", p.entriesPerSecond)) entries/s)")
        line("  sale          channel \(p.channel) at franchise store \(p.store); \(p.skusPerRequest) random SKU codes per request")
        line("  requests      \(p.requests) sequential after \(p.warmup) warm-up; \(p.badAnswers) bad answers (not 200 or not \(p.skusPerRequest) items)")
        line("  latency       p50 \(fmt(p.latency.p50)) ms   p90 \(fmt(p.latency.p90)) ms   p99 \(fmt(p.latency.p99)) ms   max \(fmt(p.latency.max)) ms")
        line("  in-process    PriceService.resolve, same sale, \(p.serviceLatency.count) calls: p50 \(fmt(p.serviceLatency.p50)) ms   p90 \(fmt(p.serviceLatency.p90)) ms   p99 \(fmt(p.serviceLatency.p99)) ms   max \(fmt(p.serviceLatency.max)) ms")
        line("  throughput    \(String(format: "%.1f", p.requestsPerSecond)) requests/s (\(String(format: "%.0f", p.requestsPerSecond * Double(p.skusPerRequest))) SKU prices/s)")
        line("  answers       \(String(format: "%.1f", p.itemsPricedByAList * 100))% of items priced by a list; \(p.winningListsSeen) distinct winning lists")
        line()
        line("3. Search — CatalogService.products(text:, limit 20) ×\(searchRepeats); GET /api/v1/products?q=…&limit=20 ×\(apiSearchRequests)")
        let hdr = pad("query", 34) + lpad("page", 5) + lpad("svc p50", 10) + lpad("svc p99", 10) + lpad("svc max", 10) + lpad("API p50", 10) + lpad("API p99", 10)
        line("  " + hdr)
        line("  " + String(repeating: "-", count: width(hdr)))
        for s in search {
            let label = "\(s.label) “\(s.query)”"
            line("  " + pad(label, 34) + lpad("\(s.firstPage)\(s.more ? "+" : "")", 5) + lpad(fmt(s.service.p50), 10) + lpad(fmt(s.service.p99), 10)
                 + lpad(fmt(s.service.max), 10) + lpad(s.api.map { fmt($0.p50) } ?? "-", 10) + lpad(s.api.map { fmt($0.p99) } ?? "-", 10))
        }
        line("  (page: products on the first page, + when there are more; times in ms)")
        return out.joined(separator: "\n")
    }
}

func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "n/a" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

// MARK: - Runner

/// The command's numbers, as a plain value the server's tasks may capture.
struct Settings: Sendable {
    var products: Int
    var skusPerProduct: Int
    var priceLists: Int
    var requests: Int
    var warmup: Int
    var skusPerRequest: Int
    var searchRepeats: Int
    var apiSearchRequests: Int
    var seed: UInt64
}

struct Runner {
    let options: Settings
    let services: AppServices
    let database: String
    var catalog: CatalogService { services.catalog }

    struct Network {
        var franchisees: [Organisation] = []
        var stores: [Location] = []
        var saleStore: Location!
        var channels: [SalesChannel] = []
        var pos: SalesChannel!
    }

    func run() async throws -> Report {
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let loadAtStart = loadAverage()
        let counts = try await catalog.counts()
        guard counts.products == 0, counts.priceLists == 0 else {
            throw ValidationError("the database already holds \(counts.products) products and \(counts.priceLists) price lists; give a fresh one")
        }

        progress("setting up brands, categories, network, channels and users")
        let (network, setupMs) = try await timed { try await setUp() }
        let probe = try await catalog.createProduct(.init(
            code: "BENCH-PROBE", name: "基准探针纯棉T恤", nameEn: "Probe cotton tee", brandId: try await brandId(Apparel.brands[0].code),
            categoryId: try await categoryId("BENCH-M-TS"), optionNames: ["size"], status: .active,
            skus: [.init(code: "BENCH-PROBE-M", barcode: GTIN.ean13("691000000001"), options: ["size": "M"], listPrice: 9900)]),
            caller: .system)

        let rows = Apparel.generate(products: options.products, skusPerProduct: options.skusPerProduct, seed: options.seed)
        let importReport = try await importPhase(rows: rows, probeId: probe.id)
        let (priceSetup, lists) = try await priceListPhase(rows: rows, network: network)
        let searches = try await searchPhase(rows: rows)

        progress("starting the HTTP server")
        let app = try buildApplication(services: services)
        let options = self.options
        let (prices, apiSearch) = try await app.test(.live) { client in
            let token = try await Runner.login(client)
            let prices = try await Runner.resolvePhase(client, token: token, rows: rows, network: network, options: options)
            var api: [String: (Latencies, Int)] = [:]
            if options.apiSearchRequests > 0 {
                progress("searching through GET /api/v1/products")
                for q in Runner.queries(rows) {
                    api[q.query] = try await Runner.apiSearch(client, token: token, query: q.query, times: options.apiSearchRequests)
                }
            }
            return (prices, api)
        }
        var priceReport = priceSetup
        priceReport.requests = prices.requests
        priceReport.warmup = prices.warmup
        priceReport.skusPerRequest = prices.skusPerRequest
        priceReport.latency = prices.latency
        priceReport.requestsPerSecond = prices.requestsPerSecond
        priceReport.badAnswers = prices.badAnswers
        priceReport.itemsPricedByAList = prices.itemsPricedByAList
        priceReport.winningListsSeen = prices.winningListsSeen
        _ = lists

        return Report(
            environment: .init(engine: services.db.engine.rawValue, database: database, cores: ProcessInfo.processInfo.activeProcessorCount,
                               loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage(), startedAt: startedAt),
            setupSeconds: setupMs / 1000, importRun: importReport, prices: priceReport,
            search: searches.map { s in
                var s = s
                if let a = apiSearch[s.query] { s.api = a.0; s.apiFirstPage = a.1 }
                return s
            },
            searchRepeats: options.searchRepeats, apiSearchRequests: options.apiSearchRequests)
    }

    // MARK: Setup

    func brandId(_ code: String) async throws -> String {
        try await catalog.brands(limit: 100, cursor: nil).items.first { $0.code == code }!.id
    }

    func categoryId(_ code: String) async throws -> String {
        try await catalog.categories().first { $0.code == code }!.id
    }

    /// Brands and categories the import refers to; franchisees, stores (Shanghai, one in Hangzhou),
    /// sales channels; the hq_admin user.
    func setUp() async throws -> Network {
        for b in Apparel.brands { _ = try await catalog.createBrand(code: b.code, name: b.name, nameEn: b.nameEn, caller: .system) }
        let genders = [("BENCH-M", "男装", "Men"), ("BENCH-W", "女装", "Women"), ("BENCH-K", "童装", "Kids")]
        for (g, (code, name, nameEn)) in genders.enumerated() {
            let root = try await catalog.createCategory(code: code, name: name, nameEn: nameEn, parentId: nil, caller: .system)
            for garment in Apparel.garments where g != 0 || garment.menswear {
                _ = try await catalog.createCategory(code: Apparel.categoryCode(gender: g, garment: garment), name: name + garment.zh,
                                                     nameEn: nameEn + "'s " + garment.en, parentId: root.id, caller: .system)
            }
        }

        var n = Network()
        let net = services.network
        for i in 1...3 {
            n.franchisees.append(try await net.createOrganisation(code: "FR-B0\(i)", name: "基准加盟商 \(i) 号商贸有限公司", kind: .franchisee,
                                                                  contactPhone: nil, caller: .system))
        }
        let districts = [("310101", "黄浦区", 31.2317, 121.4844), ("310104", "徐汇区", 31.1885, 121.4361), ("310105", "长宁区", 31.2204, 121.4246),
                         ("310106", "静安区", 31.2279, 121.4475), ("310107", "普陀区", 31.2496, 121.3955), ("310110", "杨浦区", 31.2598, 121.5257),
                         ("310112", "闵行区", 31.1129, 121.3808), ("310115", "浦东新区", 31.2215, 121.5444)]
        for (i, d) in districts.enumerated() {
            let franchisee: Organisation? = i % 2 == 1 ? n.franchisees[(i / 2) % n.franchisees.count] : nil
            n.stores.append(try await net.createLocation(NewLocation(
                code: "ST-B0\(i + 1)", name: "\(d.1)基准店", kind: .store, organisationId: franchisee?.id,
                address: Address(line1: "南京西路 \(100 + i) 号", provinceCode: "310000", provinceName: "上海市", cityCode: "310100", cityName: "上海市",
                                 districtCode: d.0, districtName: d.1),
                coordinates: Coordinates(lat: d.2, lng: d.3)), caller: .system))
        }
        n.stores.append(try await net.createLocation(NewLocation(
            code: "ST-B09", name: "杭州湖滨基准店", kind: .store, organisationId: n.franchisees[2].id,
            address: Address(line1: "湖滨路 1 号", provinceCode: "330000", provinceName: "浙江省", cityCode: "330100", cityName: "杭州市",
                             districtCode: "330102", districtName: "上城区"),
            coordinates: Coordinates(lat: 30.2590, lng: 120.1650)), caller: .system))
        // The sale measured: a franchise store in 静安区 (310106), owned by FR-B02.
        n.saleStore = n.stores[3]
        for (code, name, kind) in [("BENCH-WEB", "官网商城", ChannelKind.web), ("BENCH-APP", "品牌 App", .app), ("BENCH-MP", "微信小程序", .miniProgram),
                                   ("BENCH-TMALL", "天猫旗舰店", .marketplace), ("BENCH-POS", "门店 POS", .pos)] {
            n.channels.append(try await catalog.createChannel(code: code, name: name, kind: kind, currency: nil, caller: .system))
        }
        n.pos = n.channels.last!
        _ = try await services.identity.createUser(
            NewUser(username: "hq_admin", password: Runner.password, displayName: "Bench HQ admin", role: .hqAdmin, scope: .all), caller: .system)
        return n
    }

    static let password = "bench-password-1"

    // MARK: 1. Import

    func importPhase(rows: [Apparel.SKURow], probeId: String) async throws -> Report.Import {
        let csv = Apparel.csv(rows)
        let csvBytes = csv.utf8.count
        progress("generated \(rows.count) SKU rows (\(csvBytes / 1024) KiB of CSV)")

        // The same small operations on an idle server, for comparison.
        progress("baseline: reads and writes without an import")
        let idleReads = SampleBox(), idleWrites = SampleBox()
        for _ in 0..<200 {
            let t0 = ContinuousClock.now
            _ = try await catalog.product(probeId)
            idleReads.add((ContinuousClock.now - t0).ms)
        }
        for k in 0..<50 {
            let t0 = ContinuousClock.now
            _ = try await catalog.createBrand(code: "BENCH-IDLE-\(k)", name: "空闲写入 \(k)", nameEn: nil, caller: .system)
            idleWrites.add((ContinuousClock.now - t0).ms)
        }

        progress("importing \(rows.count) rows (reads every 5 ms and writes every 20 ms beside it)")
        let rssBefore = ProcStatus.rss
        let sampler = RSSSampler()
        let stop = StopFlag()
        let reads = SampleBox(), writes = SampleBox()
        let catalog = self.catalog
        let readLoop = Task {
            while !stop.isSet {
                let t0 = ContinuousClock.now
                do { _ = try await catalog.product(probeId); reads.add((ContinuousClock.now - t0).ms) } catch { reads.fail(error) }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let writeLoop = Task {
            var k = 0
            while !stop.isSet {
                k += 1
                let t0 = ContinuousClock.now
                do {
                    _ = try await catalog.createBrand(code: "BENCH-W-\(k)", name: "并发写入 \(k)", nameEn: nil, caller: .system)
                    writes.add((ContinuousClock.now - t0).ms)
                } catch { writes.fail(error) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let start = ContinuousClock.now
        let result: CatalogImporter.Result
        do {
            result = try await services.importer.importCSV(.skus, text: csv, dryRun: false, caller: .system)
        } catch {
            stop.set()
            _ = await (readLoop.value, writeLoop.value)
            _ = await sampler.stop()
            throw error
        }
        let elapsed = ContinuousClock.now - start
        stop.set()
        _ = await (readLoop.value, writeLoop.value)
        let (peak, samples) = await sampler.stop()
        let hwm = ProcStatus.hwm
        progress(String(format: "imported in %.2f s", elapsed.seconds))
        let counts = try await catalog.counts()
        guard counts.skus == rows.count + 1 else { throw ValidationError("expected \(rows.count + 1) SKUs after the import, found \(counts.skus)") }
        return Report.Import(
            products: options.products, skus: rows.count, csvBytes: csvBytes, seconds: elapsed.seconds,
            rowsPerSecond: Double(rows.count) / elapsed.seconds, created: result.created, rssBeforeKiB: rssBefore, rssPeakKiB: peak,
            rssSamples: samples, vmHWMKiB: hwm, readsBaseline: Latencies(idleReads.values), readsDuring: Latencies(reads.values),
            writesBaseline: Latencies(idleWrites.values), writesDuring: Latencies(writes.values), errorsDuring: reads.errors + writes.errors)
    }

    // MARK: 2. Price lists

    /// Distinct priorities 1…N (so no two lists ever tie), targets in a rotation of ten, and every
    /// seventh list valid only now, every seventh (offset 1) expired, every seventh (offset 2) not yet valid.
    func priceListPhase(rows: [Apparel.SKURow], network n: Network) async throws -> (Report.Prices, [PriceList]) {
        progress("creating \(options.priceLists) price lists with 200–2,000 entries each")
        var rng = SeededRandom(state: options.seed &+ 1)
        let now = Date()
        let day: TimeInterval = 86_400
        var lists: [PriceList] = []
        var entries = 0
        var createMs = 0.0, entriesMs = 0.0
        let shanghaiStores = n.stores.filter { $0.address.cityCode == "310100" }
        for i in 0..<options.priceLists {
            let code = String(format: "BENCH-PL-%04d", i)
            var new = PriceService.NewPriceList(code: code, name: "", priority: i + 1)
            let channel = n.channels[(i / 10) % n.channels.count]
            let franchisee = n.franchisees[(i / 10) % n.franchisees.count]
            switch i % 10 {
            case 0, 1: new.channelId = channel.id; new.name = "\(channel.name)渠道价"
            case 2: new.channelId = n.pos.id; new.name = "门店 POS 渠道价"
            case 3: new.organisationId = franchisee.id; new.name = "\(franchisee.code) 加盟商供价"
            case 4: new.organisationId = franchisee.id; new.channelId = n.pos.id; new.name = "\(franchisee.code) 门店零售价"
            case 5: new.regionCode = "310100"; new.name = "上海市区域价"
            case 6: new.regionCode = ["310000", "330000", "310106", "310104"][(i / 10) % 4]; new.name = "区域价 \(new.regionCode!)"
            case 7: new.regionCode = "310100"; new.channelId = channel.id; new.name = "上海\(channel.name)价"
            case 8: let s = shanghaiStores[(i / 10) % shanghaiStores.count]; new.locationId = s.id; new.name = "\(s.name)门店价"
            default: new.name = "全渠道统一促销价"
            }
            switch i % 7 {
            case 0: new.validFrom = now - 7 * day; new.validTo = now + 7 * day; new.name += "(本期)"
            case 1: new.validFrom = now - 60 * day; new.validTo = now - 30 * day; new.name += "(已过期)"
            case 2: new.validFrom = now + 30 * day; new.validTo = now + 60 * day; new.name += "(预定)"
            default: break
            }
            let (list, ms) = try await timed { try await services.prices.createPriceList(new, caller: .system) }
            createMs += ms
            lists.append(list)
            let size = 200 + Int(rng.next() % 1801)
            var picked = Set<Int>()
            while picked.count < size { picked.insert(Int(rng.next() % UInt64(rows.count))) }
            let discount = 60 + Int64(rng.next() % 36)  // 60–95 % of the list price
            let changes = picked.sorted().map { k in
                PriceService.EntryChange(sku: rows[k].skuCode, price: rows[k].listPrice * discount / 100 / 100 * 100)
            }
            for batch in stride(from: 0, to: changes.count, by: 10_000).map({ Array(changes[$0..<min($0 + 10_000, changes.count)]) }) {
                let (count, ms) = try await timed { try await services.prices.setEntries(list.id, batch, caller: .system) }
                entriesMs += ms
                entries += count
            }
            if (i + 1) % 100 == 0 { progress("  \(i + 1) lists, \(entries) entries") }
        }
        let store = n.saleStore!
        let regions = [store.address.provinceCode, store.address.cityCode, store.address.districtCode]
        let applying = lists.filter { l in
            (l.channelId == nil || l.channelId == n.pos.id) && (l.organisationId == nil || l.organisationId == store.organisationId)
                && (l.locationId == nil || l.locationId == store.id) && (l.regionCode.map(regions.contains) ?? true) && l.isValid(at: Date())
        }.count
        let report = Report.Prices(
            lists: lists.count, entries: entries, listsApplying: applying, createListsSeconds: createMs / 1000, setEntriesSeconds: entriesMs / 1000,
            entriesPerSecond: Double(entries) / (entriesMs / 1000), channel: n.pos.code, store: "\(store.code) (\(store.id))",
            requests: 0, warmup: 0, skusPerRequest: 0, latency: Latencies([]), requestsPerSecond: 0, badAnswers: 0, itemsPricedByAList: 0,
            winningListsSeen: 0, serviceLatency: try await resolveInProcess(rows: rows, network: n))
        return (report, lists)
    }

    /// PriceService.resolve called directly with the same kind of request: what the HTTP numbers
    /// cost without the server, JSON and the client.
    func resolveInProcess(rows: [Apparel.SKURow], network n: Network) async throws -> Latencies {
        progress("resolving prices in-process: \(options.warmup) warm-up + \(options.requests) calls")
        var rng = SeededRandom(state: options.seed &+ 3)
        var samples: [Double] = []
        for k in 0..<(options.warmup + options.requests) {
            var picked = Set<Int>()
            while picked.count < options.skusPerRequest { picked.insert(Int(rng.next() % UInt64(rows.count))) }
            let refs = picked.map { rows[$0].skuCode }
            let context = PriceContext(channelId: n.pos.code, locationId: n.saleStore.id, at: Date())
            let (answer, ms) = try await timed { try await services.prices.resolve(skus: refs, context) }
            guard answer.count == refs.count else { throw ValidationError("resolve answered \(answer.count) of \(refs.count) SKUs") }
            if k >= options.warmup { samples.append(ms) }
        }
        return Latencies(samples)
    }

    // MARK: 2b. Resolution over HTTP

    static func login(_ client: any TestClientProtocol) async throws -> String {
        let body = #"{"username":"hq_admin","password":"\#(password)"}"#
        let r = try await client.execute(uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(string: body))
        guard r.status == .ok, let json = try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any],
              let token = json["token"] as? String else {
            throw ValidationError("login as hq_admin failed: \(r.status) \(String(buffer: r.body))")
        }
        return token
    }

    struct ResolveBody: Encodable {
        let channelId: String
        let locationId: String
        let skus: [String]
    }

    struct ResolveOutcome {
        var requests: Int
        var warmup: Int
        var skusPerRequest: Int
        var latency: Latencies
        var requestsPerSecond: Double
        var badAnswers: Int
        var itemsPricedByAList: Double
        var winningListsSeen: Int
    }

    static func resolvePhase(_ client: any TestClientProtocol, token: String, rows: [Apparel.SKURow], network n: Network,
                             options: Settings) async throws -> ResolveOutcome {
        progress("resolving prices: \(options.warmup) warm-up + \(options.requests) measured requests of \(options.skusPerRequest) SKUs")
        var rng = SeededRandom(state: options.seed &+ 2)
        let encoder = JSONEncoder()
        let headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(token)"]
        func body() throws -> ByteBuffer {
            var picked = Set<Int>()
            while picked.count < options.skusPerRequest { picked.insert(Int(rng.next() % UInt64(rows.count))) }
            let b = ResolveBody(channelId: n.pos.code, locationId: n.saleStore.id, skus: picked.map { rows[$0].skuCode })
            return ByteBuffer(bytes: try encoder.encode(b))
        }
        var latencies: [Double] = []
        var bad = 0, items = 0, priced = 0
        var winners = Set<String>()
        var firstBad: String?
        var measuredStart = ContinuousClock.now
        for k in 0..<(options.warmup + options.requests) {
            if k == options.warmup { measuredStart = ContinuousClock.now }
            let payload = try body()
            let t0 = ContinuousClock.now
            let r = try await client.execute(uri: "/api/v1/prices/resolve", method: .post, headers: headers, body: payload)
            let ms = (ContinuousClock.now - t0).ms
            if k >= options.warmup { latencies.append(ms) }
            let answer = (try? JSONSerialization.jsonObject(with: Data(r.body.readableBytesView))) as? [String: Any]
            let list = answer?["items"] as? [[String: Any]] ?? []
            if r.status != .ok || list.count != options.skusPerRequest {
                bad += 1
                if firstBad == nil { firstBad = "\(r.status) \(String(buffer: r.body).prefix(300))" }
                continue
            }
            if k >= options.warmup {
                items += list.count
                for item in list { if let code = item["priceListCode"] as? String { priced += 1; winners.insert(code) } }
            }
        }
        let total = ContinuousClock.now - measuredStart
        if let firstBad { progress("first bad answer: \(firstBad)") }
        return ResolveOutcome(requests: options.requests, warmup: options.warmup, skusPerRequest: options.skusPerRequest,
                              latency: Latencies(latencies), requestsPerSecond: Double(options.requests) / total.seconds, badAnswers: bad,
                              itemsPricedByAList: items == 0 ? 0 : Double(priced) / Double(items), winningListsSeen: winners.count)
    }

    // MARK: 3. Search

    struct Query { let label: String; let query: String }

    /// The queries, some taken from the generated rows (a style-code fragment, a full barcode).
    static func queries(_ rows: [Apparel.SKURow]) -> [Query] {
        let row = rows[rows.count * 7 / 10]
        // "26SS-TS-035000" → "TS-0350": type and the first four digits of the serial.
        let parts = row.productCode.split(separator: "-")
        let fragment = "\(parts[1])-\(parts[2].prefix(4))"
        return [
            Query(label: "2-char Chinese (scan)", query: "纯棉"),
            Query(label: "4-char Chinese", query: "圆领短袖"),
            Query(label: "Latin, mixed case", query: "Cotton Crew"),
            Query(label: "style-code fragment", query: fragment),
            Query(label: "full barcode", query: rows[rows.count / 3].barcode),
            Query(label: "no match", query: "无此商品"),
            Query(label: "2-char, no match (scan)", query: "羊驼"),
        ]
    }

    func searchPhase(rows: [Apparel.SKURow]) async throws -> [Report.Search] {
        progress("searching through CatalogService.products (\(options.searchRepeats)× each)")
        var out: [Report.Search] = []
        for q in Self.queries(rows) {
            var f = CatalogService.ProductFilter()
            f.text = q.query
            f.limit = 20
            for _ in 0..<5 { _ = try await catalog.products(f) }  // warm-up
            var samples: [Double] = []
            var page: Page<Product>?
            for _ in 0..<options.searchRepeats {
                let (p, ms) = try await timed { try await catalog.products(f) }
                samples.append(ms)
                page = p
            }
            out.append(Report.Search(label: q.label, query: q.query, firstPage: page?.items.count ?? 0, more: page?.nextCursor != nil,
                                     service: Latencies(samples), api: nil, apiFirstPage: nil))
        }
        return out
    }

    static func apiSearch(_ client: any TestClientProtocol, token: String, query: String, times: Int) async throws -> (Latencies, Int) {
        let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let uri = "/api/v1/products?q=\(q)&limit=20"
        let headers: HTTPFields = [.authorization: "Bearer \(token)"]
        var samples: [Double] = []
        var count = 0
        for k in 0..<(times + 5) {
            let t0 = ContinuousClock.now
            let r = try await client.execute(uri: uri, method: .get, headers: headers)
            let ms = (ContinuousClock.now - t0).ms
            guard r.status == .ok else { throw ValidationError("GET \(uri): \(r.status) \(String(buffer: r.body).prefix(300))") }
            if k >= 5 { samples.append(ms) }
            if k == 0 {
                let json = (try? JSONSerialization.jsonObject(with: Data(r.body.readableBytesView))) as? [String: Any]
                count = (json?["items"] as? [Any])?.count ?? -1
            }
        }
        return (Latencies(samples), count)
    }
}
