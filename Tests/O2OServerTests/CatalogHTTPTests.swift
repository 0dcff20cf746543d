import Foundation
import HTTPTypes
import O2OCatalog
import O2OCore
import O2OServer
import O2OTestSupport
import Testing

@Suite("Catalog and pricing through the HTTP API")
struct CatalogHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func createProduct_withWrongCheckDigit_is422NamingTheField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let c = try await CatalogFixture.make(s.services)
            let before = try await TestDatabase.count("skus", s.services.db)
            let body = #"""
                {"code":"HT-1","name":"衬衫","brandId":"\#(c.brandId)","categoryId":"\#(c.categoryId)","optionNames":["size"],
                 "skus":[{"code":"HT-1-M","barcode":"7501031311308","options":{"size":"M"},"listPrice":-1}]}
                """#
            // act
            let r = try await s.call(.post, "/api/v1/products", as: .merchandiser, json: body)
            // check
            #expect(r.status == 422)
            #expect(r.headers[.contentType] == "application/problem+json")
            let fields = Set(((r.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
            #expect(fields == ["skus[0].barcode", "skus[0].listPrice"])
            #expect(try await TestDatabase.count("skus", s.services.db) == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createProduct_retriedWithTheSameKey_createsOneProduct(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let c = try await CatalogFixture.make(s.services)
            let body = #"""
                {"code":"HT-2","name":"Oxford shirt","brandId":"\#(c.brandId)","categoryId":"\#(c.categoryId)","optionNames":["colour","size"],
                 "skus":[{"code":"HT-2-W-M","barcode":"\#(GTIN.ean13("690000000222"))","options":{"colour":"white","size":"M"},"listPrice":29900}]}
                """#
            let products = try await TestDatabase.count("products", s.services.db)
            // act
            let first = try await s.call(.post, "/api/v1/products", as: .merchandiser, json: body, headers: [.idemKey: "k-ht-2"])
            let again = try await s.call(.post, "/api/v1/products", as: .merchandiser, json: body, headers: [.idemKey: "k-ht-2"])
            let duplicate = try await s.call(.post, "/api/v1/products", as: .merchandiser, json: body)
            // check
            #expect(first.status == 201)
            #expect(again.status == 201 && again.body == first.body && again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(duplicate.status == 409)
            #expect(try await TestDatabase.count("products", s.services.db) == products + 1)
            let id = first.json["id"] as! String
            let got = try await s.call(.get, "/api/v1/products/\(id)", as: .clerk)
            #expect(got.status == 200 && (got.json["skus"] as? [[String: Any]])?.first?["listPrice"] as? Int == 29900)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func resolvePrices_inBatch_givesEachPriceWithItsRule(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            _ = try await CatalogFixture.make(s.services)
            let listed = try await s.call(.post, "/api/v1/listings", as: .merchandiser,
                                          json: #"{"channelId":"AM-WEB","items":[{"sku":"AM-P-M","publishAt":"2020-01-01T00:00:00Z"}]}"#)
            #expect(listed.status == 200 && (listed.json["items"] as? [[String: Any]])?.first?["published"] as? Bool == true, "\(listed.body)")
            let set = try await s.call(.post, "/api/v1/price-lists/AM-PL/entries", as: .merchandiser, json: #"{"items":[{"sku":"AM-P-M","price":7900}]}"#)
            #expect(set.status == 200 && set.json["changed"] as? Int == 1)
            // act
            let r = try await s.call(.post, "/api/v1/prices/resolve", as: .clerk, json: #"{"channelId":"AM-WEB","skus":["AM-P-M","AM-NOPE"]}"#)
            let ok = try await s.call(.post, "/api/v1/prices/resolve", as: .integration, json: #"{"channelId":"AM-WEB","skus":["AM-P-M"]}"#)
            // check
            #expect(r.status == 422)
            #expect(((r.json["errors"] as? [[String: Any]]) ?? []).map { $0["field"] as? String } == ["skus[1]"])
            #expect(ok.status == 200)
            let item = (ok.json["items"] as! [[String: Any]])[0]
            #expect(item["listPrice"] as? Int == 9900 && item["price"] as? Int == 7900)
            #expect(item["priceListCode"] as? String == "AM-PL" && item["sellable"] as? Bool == true, "\(item)")
            #expect((item["rule"] as? String)?.contains("AM-PL") == true)
            let history = try await s.call(.get, "/api/v1/skus/AM-P-M/price-history", as: .finance)
            #expect((history.json["items"] as? [[String: Any]])?.first?["newPrice"] as? Int == 7900)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func importCSV_withBadRows_reportsEveryLine_thenAGoodFileApplies(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            _ = try await CatalogFixture.make(s.services)
            let header = "product_code,product_name,brand_code,category_code,sku_code,barcode,options,list_price"
            let bad = [header,
                       "HT-9,卫衣,AM-B,AM-C,HT-9-M,7501031311308,size=M,199.00",
                       "HT-9,卫衣,AM-B,AM-C,HT-9-L,,size=L,abc",
                       "HT-9,卫衣,NOPE,AM-C,HT-9-XL,,size=XL,199.00"].joined(separator: "\n")
            let skus = try await TestDatabase.count("skus", s.services.db)
            // act
            let rejected = try await s.call(.post, "/api/v1/catalog/imports/skus", as: .merchandiser, json: bad,
                                            headers: [.contentType: "text/csv"])
            // check
            #expect(rejected.status == 422)
            let errors = (rejected.json["errors"] as? [[String: Any]]) ?? []
            #expect(errors.map { "\($0["line"] as? Int ?? 0):\($0["field"] as? String ?? "")" }
                    == ["2:barcode", "3:list_price", "4:brand_code"])
            #expect(try await TestDatabase.count("skus", s.services.db) == skus)

            // act: the corrected file
            let good = [header,
                        "HT-9,卫衣,AM-B,AM-C,HT-9-M,7501031311309,size=M,199.00",
                        "HT-9,卫衣,AM-B,AM-C,HT-9-L,,size=L,209.50"].joined(separator: "\r\n")
            let applied = try await s.call(.post, "/api/v1/catalog/imports/skus", as: .merchandiser, json: good,
                                           headers: [.contentType: "text/csv"])
            // check
            #expect(applied.status == 200 && applied.json["created"] as? Int == 2)
            let found = try await s.call(.get, "/api/v1/products?q=7501031311309", as: .clerk)
            #expect(((found.json["items"] as? [[String: Any]]) ?? []).map { $0["code"] as? String } == ["HT-9"])
            let export = try await s.call(.get, "/api/v1/catalog/exports/skus", as: .clerk)
            #expect(export.status == 200 && export.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(export.body.contains("HT-9-L") && export.body.contains("209.50"))
        }
    }
}
