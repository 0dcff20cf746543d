import Foundation
@testable import O2OCatalog
import O2OCore
import O2OTestSupport
import Testing

/// The network module's answer about stores, kept in memory: what PriceService needs and no more.
struct InMemoryDirectory: LocationDirectory {
    var locations: [String: LocationFacts] = [:]
    var organisations: Set<String> = []

    func facts(_ locationId: String) async throws -> LocationFacts? { locations[locationId] }
    func organisationExists(_ organisationId: String) async throws -> Bool { organisations.contains(organisationId) }
}

/// Shanghai (Xuhui) and Beijing (Dongcheng) stores, one of each franchisee and one direct (HQ) store.
enum Stores {
    static let hq = "org_hq"
    static let franchiseeA = "org_fa"
    static let franchiseeB = "org_fb"
    static let shanghaiHQ = LocationFacts(id: "loc_sh_hq", organisationId: hq, regionCodes: ["310000", "310100", "310104"], currency: "CNY", isStore: true)
    static let shanghaiA = LocationFacts(id: "loc_sh_a", organisationId: franchiseeA, regionCodes: ["310000", "310100", "310104"], currency: "CNY", isStore: true)
    static let beijingA = LocationFacts(id: "loc_bj_a", organisationId: franchiseeA, regionCodes: ["110000", "110100", "110101"], currency: "CNY", isStore: true)
    static let beijingB = LocationFacts(id: "loc_bj_b", organisationId: franchiseeB, regionCodes: ["110000", "110100", "110101"], currency: "CNY", isStore: true)
    static let warehouse = LocationFacts(id: "loc_wh", organisationId: hq, regionCodes: ["310000", "310100", "310115"], currency: "CNY", isStore: false)

    static var directory: InMemoryDirectory {
        InMemoryDirectory(
            locations: Dictionary(uniqueKeysWithValues: [shanghaiHQ, shanghaiA, beijingA, beijingB, warehouse].map { ($0.id, $0) }),
            organisations: [hq, franchiseeA, franchiseeB])
    }
}

/// A migrated database with the catalog services over a manual clock, one brand and one category.
struct Catalog {
    let db: Database
    let clock: ManualClock
    let catalog: CatalogService
    let prices: PriceService
    let importer: CatalogImporter
    let brand: Brand
    let category: Category

    static func make(_ db: Database, directory: InMemoryDirectory = Stores.directory) async throws -> Catalog {
        let clock = ManualClock()
        let catalog = CatalogService(db: db, clock: clock)
        let prices = PriceService(db: db, clock: clock, directory: directory)
        let brand = try await catalog.createBrand(code: "BR", name: "品牌", nameEn: "Brand", caller: .system)
        let category = try await catalog.createCategory(code: "TOPS", name: "上装", nameEn: "Tops", parentId: nil, caller: .system)
        return Catalog(db: db, clock: clock, catalog: catalog, prices: prices, importer: CatalogImporter(catalog: catalog, prices: prices),
                       brand: brand, category: category)
    }

    /// A product with one SKU per colour × size, each with its own valid EAN-13 (from `barcodeBase`).
    func newProduct(_ code: String, name: String = "男士纯棉圆领T恤", nameEn: String? = "Men's Cotton Crew Tee",
                    colours: [String] = ["黑色", "白色"], sizes: [String] = ["M", "L"], price: Int64 = 199_00,
                    assortment: Assortment = .shared, status: CatalogStatus = .active, onlineFirstUntil: Date? = nil,
                    categoryId: String? = nil, barcodeBase: Int) -> CatalogService.NewProduct {
        var skus: [CatalogService.NewSKU] = []
        for (ci, c) in colours.enumerated() {
            for s in sizes {
                skus.append(CatalogService.NewSKU(code: "\(code)-\(ci)\(s)", barcode: barcode(barcodeBase + skus.count),
                                                  options: ["colour": c, "size": s], listPrice: price))
            }
        }
        return CatalogService.NewProduct(code: code, name: name, nameEn: nameEn, brandId: brand.id, categoryId: categoryId ?? category.id,
                                         optionNames: ["colour", "size"], unit: "件", assortment: assortment,
                                         onlineFirstUntil: onlineFirstUntil, status: status, skus: skus)
    }

    @discardableResult
    func createProduct(_ code: String, assortment: Assortment = .shared, price: Int64 = 199_00, onlineFirstUntil: Date? = nil,
                       barcodeBase: Int) async throws -> Product {
        try await catalog.createProduct(newProduct(code, price: price, assortment: assortment, onlineFirstUntil: onlineFirstUntil,
                                                   barcodeBase: barcodeBase), caller: .system)
    }

    func channel(_ code: String, _ kind: ChannelKind, currency: String? = nil) async throws -> SalesChannel {
        try await catalog.createChannel(code: code, name: "渠道 \(code)", kind: kind, currency: currency, caller: .system)
    }

    /// The context of a sale on a channel (at a store) at a moment; now by default.
    func at(_ channel: SalesChannel, _ location: LocationFacts? = nil, plus seconds: TimeInterval = 0) -> PriceContext {
        PriceContext(channelId: channel.id, locationId: location?.id, at: clock.now().addingTimeInterval(seconds))
    }
}

/// A valid EAN-13 with the Chinese GS1 prefix, distinct for each `n` below 100,000.
func barcode(_ n: Int) -> String {
    GTIN.ean13("6901234" + String(format: "%05d", n))
}

/// The Problem `body` throws; nil (and a recorded issue) when it throws something else or nothing.
func problem(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> Problem? {
    do {
        try await body()
        Issue.record("expected a Problem, but nothing was thrown", sourceLocation: sourceLocation)
    } catch let p as Problem {
        return p
    } catch {
        Issue.record("expected a Problem, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

extension Problem {
    /// The fields the errors name, in order.
    var fields: [String] { errors?.map(\.field) ?? [] }
    /// The message for a field, for checking it says why.
    func message(_ field: String) -> String? { errors?.first { $0.field == field }?.message }
}

/// Every row of a table as one sorted multiset of strings, for "nothing changed" checks.
func snapshot(_ table: String, _ columns: [String], _ db: Database) async throws -> [String] {
    try await db.read { sql in
        try await sql.raw("SELECT * FROM \(unsafeRaw: table)").all().map { r in
            columns.map { c in
                // Integers first: PostgreSQL hands a BIGINT to a String decode as its raw bytes.
                if let n = try? r.decode(column: c, as: Int64.self) { return String(n) }
                if let s = try? r.decode(column: c, as: String.self) { return s }
                return "∅"
            }.joined(separator: "|")
        }.sorted()
    }
}
