import Foundation
@testable import O2OCatalog
import O2OCore
import O2OTestSupport
import Testing

@Suite("Catalog: product search gives the brute-force answer, on every engine")
struct SearchTests {
    static let styles: [(name: String, nameEn: String?)] = [
        ("男士纯棉圆领T恤", "Men's Cotton Crew Tee"),
        ("女士纯棉V领T恤", "Women's Cotton V-Neck Tee"),
        ("男士羊毛圆领毛衣", "Men's Wool Crew Sweater"),
        ("儿童防水夹克", "Kids' Waterproof Jacket"),
        ("女士真丝衬衫", "Women's Silk Shirt"),
        ("男士修身牛仔裤", "Men's Slim Denim Jeans"),
        ("100%纯棉运动袜", "100% Cotton Sport Socks"),
        ("速干_短裤", "Quick_Dry Shorts"),
        ("羽绒服", nil),
        ("COTTON 混纺卫衣", "Cotton-Blend HOODIE"),
    ]

    /// Queries that take every path: under three characters (a scan on both engines), three or more
    /// (the trigram index), Chinese, mixed case, codes, barcodes, LIKE's wildcards as plain text, nothing.
    static let queries = [
        "圆领", "纯棉圆领", "纯棉", "T恤", "t恤", "COTTON", "cotton crew", "CrEw", "tee", "ST-1007", "st-1012-1", "1012-0L",
        "100%", "1%", "0% c", "_d", "k_d", "_", "%", "\\", "'s", "ST-", "棉", "no such thing", "  Jeans  ", "6901234012",
    ]

    @Test(arguments: TestDatabase.engines)
    func textSearch_returnsExactlyTheSubstringMatches_inIdOrder_andPagesThroughThem(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: 30 products, 4 SKUs each; one clock tick per product so ids follow creation
            let c = try await Catalog.make(db)
            var products: [Product] = []
            for i in 0..<30 {
                let style = Self.styles[i % Self.styles.count]
                let name = i < Self.styles.count ? style.name : "\(style.name) \(i / Self.styles.count)代"
                let new = c.newProduct("ST-\(1000 + i)", name: name, nameEn: style.nameEn, barcodeBase: 1000 + 10 * i)
                products.append(try await c.catalog.createProduct(new, caller: .system))
                c.clock.advance(by: 0.002)
            }
            let fullBarcode = products[17].skus[2].barcode!
            // act, check
            for query in Self.queries + [fullBarcode] {
                let expected = Self.bruteForce(query, products)
                var f = CatalogService.ProductFilter()
                f.text = query
                f.limit = 100
                let all = try await c.catalog.products(f).items.map(\.id)
                #expect(all == expected, "query \"\(query)\" on \(engine)")
                f.limit = 5
                var walked: [String] = []
                var pages = 0
                repeat {
                    let page = try await c.catalog.products(f)
                    #expect(page.items.count <= 5)
                    walked += page.items.map(\.id)
                    f.cursor = page.nextCursor
                    pages += 1
                } while f.cursor != nil && pages < 20
                #expect(walked == expected, "paging \"\(query)\" on \(engine)")
            }
            // the queries do cover both "many" and "none", and the barcode finds its one product
            #expect(Self.bruteForce("纯棉", products).count > 5)
            #expect(Self.bruteForce("1%", products).isEmpty && Self.bruteForce("no such thing", products).isEmpty)
            #expect(Self.bruteForce(fullBarcode, products) == [products[17].id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func textSearch_combinesWithBrandStatusAndChannelFilters(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let c = try await Catalog.make(db)
            let other = try await c.catalog.createBrand(code: "BR2", name: "另一个", nameEn: nil, caller: .system)
            _ = try await c.channel("WEB", .web)
            let a = try await c.createProduct("TEE-A", barcodeBase: 100)
            var newB = c.newProduct("TEE-B", barcodeBase: 200)
            newB.brandId = other.id
            let b = try await c.catalog.createProduct(newB, caller: .system)
            let draft = try await c.catalog.createProduct(c.newProduct("TEE-C", status: .draft, barcodeBase: 300), caller: .system)
            _ = try await c.catalog.setListings(channel: "WEB", [.init(sku: b.skus[0].code, publishAt: nil)], caller: .system)
            func search(_ configure: (inout CatalogService.ProductFilter) -> Void) async throws -> Set<String> {
                var f = CatalogService.ProductFilter()
                f.text = "圆领"
                configure(&f)
                return Set(try await c.catalog.products(f).items.map(\.id))
            }
            // act, check
            #expect(try await search { _ in } == [a.id, b.id, draft.id])
            #expect(try await search { $0.brandId = other.id } == [b.id])
            #expect(try await search { $0.status = .draft } == [draft.id])
            #expect(try await search { $0.channelId = "chn_none" } == [])
            let web = try await c.catalog.channel("WEB")
            #expect(try await search { $0.channelId = web.id; $0.text = "crew tee" } == [b.id])
        }
    }

    /// The rule, stated plainly: the trimmed query, ignoring case, is a substring of the style code,
    /// the name, the English name, a SKU code or a barcode.
    static func bruteForce(_ query: String, _ products: [Product]) -> [String] {
        let q = query.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard !q.isEmpty else { return products.map(\.id).sorted() }
        return products.filter { p in
            let fields = [p.code, p.name, p.nameEn ?? ""] + p.skus.flatMap { [$0.code, $0.barcode ?? ""] }
            return fields.contains { $0.lowercased().contains(q) }
        }.map(\.id).sorted()
    }
}
