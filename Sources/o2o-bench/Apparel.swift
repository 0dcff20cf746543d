import Foundation
import O2OCatalog
import O2OCore

/// A synthetic apparel catalog built from vocabularies: Chinese and English names in the same
/// word order (gender, fit, material, feature, garment — 男士纯棉圆领短袖T恤 / Men's cotton
/// crew-neck tee), season style codes (26SS-TS-012345), SKU codes with colour and size
/// (26SS-TS-012345-BK-M), EAN-13 barcodes and ERP codes that are unique per SKU.
enum Apparel {
    typealias Word = (zh: String, en: String)

    struct Garment {
        let zh: String
        let en: String
        /// The style-code segment.
        let type: String
        let features: [Word]
        let materials: [Word]
        /// Price points in yuan.
        let prices: [Int]
        let grams: ClosedRange<Int>
        let menswear: Bool
    }

    static let genders: [(word: Word, sizes: [String], weight: Int)] = [
        (("男士", "Men's"), ["S", "M", "L", "XL", "XXL"], 45),
        (("女士", "Women's"), ["XS", "S", "M", "L", "XL"], 45),
        (("儿童", "Kids'"), ["110", "120", "130", "140", "150", "160"], 10),
    ]

    /// Empty words are "no fit given", the commonest case.
    static let fits: [Word] = [("", ""), ("", ""), ("修身", "slim"), ("宽松", "relaxed"), ("常规", "regular-fit")]

    static let cotton: Word = ("纯棉", "cotton"), wool: Word = ("羊毛", "wool"), linen: Word = ("亚麻", "linen"), silk: Word = ("真丝", "silk")
    static let polyester: Word = ("涤纶", "polyester"), cashmere: Word = ("羊绒", "cashmere"), modal: Word = ("莫代尔", "modal")
    static let fleece: Word = ("摇粒绒", "fleece"), corduroy: Word = ("灯芯绒", "corduroy"), denim: Word = ("牛仔", "denim")

    static let garments: [Garment] = [
        Garment(zh: "T恤", en: "tee", type: "TS",
                features: [("圆领短袖", "crew-neck"), ("V领短袖", "V-neck"), ("圆领长袖", "long-sleeve crew-neck"), ("印花短袖", "graphic")],
                materials: [cotton, cotton, modal, linen, polyester], prices: [59, 79, 99, 129, 149], grams: 150...260, menswear: true),
        Garment(zh: "针织开衫", en: "cardigan", type: "CD", features: [("", ""), ("V领", "V-neck"), ("圆领", "crew-neck")],
                materials: [wool, cashmere, cotton], prices: [199, 299, 399, 599, 899], grams: 300...550, menswear: true),
        Garment(zh: "衬衫", en: "shirt", type: "SH", features: [("长袖", "long-sleeve"), ("短袖", "short-sleeve"), ("牛津纺长袖", "oxford")],
                materials: [cotton, linen, silk], prices: [149, 199, 259, 399], grams: 200...320, menswear: true),
        Garment(zh: "卫衣", en: "sweatshirt", type: "HD", features: [("连帽", "hooded"), ("圆领", "crew-neck"), ("半拉链", "half-zip")],
                materials: [cotton, fleece, polyester], prices: [149, 199, 249, 299], grams: 400...700, menswear: true),
        Garment(zh: "Polo衫", en: "polo shirt", type: "PL", features: [("短袖", "short-sleeve"), ("长袖", "long-sleeve")],
                materials: [cotton, polyester], prices: [129, 169, 199, 299], grams: 200...300, menswear: true),
        Garment(zh: "连衣裙", en: "dress", type: "DR", features: [("V领", "V-neck"), ("圆领", "crew-neck"), ("碎花", "floral"), ("吊带", "slip")],
                materials: [cotton, silk, linen, polyester], prices: [199, 299, 399, 499, 699], grams: 250...450, menswear: false),
        Garment(zh: "休闲裤", en: "chinos", type: "PT", features: [("直筒", "straight-leg"), ("九分", "ankle-length"), ("束脚", "jogger")],
                materials: [cotton, linen, polyester], prices: [149, 199, 249, 299], grams: 350...550, menswear: true),
        Garment(zh: "牛仔裤", en: "jeans", type: "JN", features: [("直筒", "straight-leg"), ("锥形", "tapered"), ("阔腿", "wide-leg")],
                materials: [("弹力", "stretch"), ("水洗", "washed"), ("原色", "raw")], prices: [199, 259, 299, 399], grams: 500...800, menswear: true),
        Garment(zh: "短裤", en: "shorts", type: "SO", features: [("", ""), ("运动", "sports"), ("工装", "cargo")],
                materials: [cotton, linen, polyester], prices: [79, 99, 129, 199], grams: 180...320, menswear: true),
        Garment(zh: "羽绒服", en: "down jacket", type: "DJ", features: [("连帽", "hooded"), ("轻薄", "lightweight"), ("长款", "long")],
                materials: [("白鸭绒", "white duck down"), ("白鹅绒", "white goose down")], prices: [499, 699, 999, 1299, 1599],
                grams: 500...1400, menswear: true),
        Garment(zh: "风衣", en: "trench coat", type: "TC", features: [("双排扣", "double-breasted"), ("中长款", "mid-length")],
                materials: [cotton, polyester], prices: [399, 599, 799, 999], grams: 700...1200, menswear: true),
        Garment(zh: "夹克", en: "jacket", type: "JK", features: [("立领", "stand-collar"), ("飞行员", "bomber"), ("工装", "utility")],
                materials: [cotton, polyester, corduroy, denim], prices: [299, 399, 499, 699], grams: 500...900, menswear: true),
        Garment(zh: "毛衣", en: "sweater", type: "SW", features: [("圆领", "crew-neck"), ("高领", "turtleneck"), ("V领", "V-neck")],
                materials: [wool, cashmere, cotton], prices: [199, 299, 499, 799, 999], grams: 300...600, menswear: true),
    ]

    static let colours: [(name: String, code: String)] = [
        ("黑色", "BK"), ("白色", "WH"), ("藏青", "NV"), ("灰色", "GY"), ("卡其", "KH"), ("红色", "RD"), ("米白", "IV"), ("军绿", "OL"),
    ]

    static let seasons = ["24SS", "24AW", "25SS", "25AW", "26SS"]

    static let brands: [(code: String, name: String, nameEn: String)] = [
        ("BENCH-UR", "都市简约", "Urban Basics"), ("BENCH-OD", "山野户外", "Ridge Outdoor"),
        ("BENCH-KD", "童趣", "Little Joy"), ("BENCH-LX", "臻选", "Atelier Select"),
    ]

    /// One generated SKU row, plus what the benchmark needs to remember about it.
    struct SKURow {
        let productCode: String
        let productName: String
        let productNameEn: String
        let brandCode: String
        let categoryCode: String
        let assortment: String
        let skuCode: String
        let barcode: String
        let options: String
        let listPrice: Int64
        let grams: Int
        let erp: String
    }

    /// The leaf category a gender × garment falls into: BENCH-M-TS, BENCH-W-DR, BENCH-K-JN…
    static func categoryCode(gender: Int, garment: Garment) -> String {
        "BENCH-\(["M", "W", "K"][gender])-\(garment.type)"
    }

    static func pick<T>(_ a: [T], _ rng: inout SeededRandom) -> T { a[Int(rng.next() % UInt64(a.count))] }

    /// `products` styles with `skusPerProduct` variants each, in file order.
    static func generate(products: Int, skusPerProduct: Int, seed: UInt64) -> [SKURow] {
        var rng = SeededRandom(state: seed)
        var rows: [SKURow] = []
        rows.reserveCapacity(products * skusPerProduct)
        let totalWeight = genders.reduce(0) { $0 + $1.weight }
        for p in 0..<products {
            var roll = Int(rng.next() % UInt64(totalWeight))
            var g = 0
            while roll >= genders[g].weight { roll -= genders[g].weight; g += 1 }
            var garment = pick(garments, &rng)
            if g == 0 && !garment.menswear { garment = garments[0] }
            let fit = pick(fits, &rng), material = pick(garment.materials, &rng), feature = pick(garment.features, &rng)
            let gender = genders[g]
            let name = gender.word.zh + fit.zh + material.zh + feature.zh + garment.zh
            let nameEn = [gender.word.en, fit.en, material.en, feature.en, garment.en].filter { !$0.isEmpty }.joined(separator: " ")
            let style = "\(pick(seasons, &rng))-\(garment.type)-" + String(format: "%06d", p)
            let brand = g == 2 ? brands[2].code : ["DJ", "JK", "SO"].contains(garment.type) && rng.next() % 2 == 0 ? brands[1].code
                : rng.next() % 10 == 0 ? brands[3].code : brands[0].code
            let assortment = p % 20 == 0 ? "online_exclusive" : p % 20 == 1 ? "store_exclusive" : "shared"
            let price = Int64(pick(garment.prices, &rng)) * 100
            let c0 = Int(rng.next() % UInt64(colours.count)), s0 = Int(rng.next() % UInt64(gender.sizes.count))
            let grams = garment.grams.lowerBound + Int(rng.next() % UInt64(garment.grams.count))
            for j in 0..<skusPerProduct {
                let colour = colours[(c0 + j / gender.sizes.count) % colours.count]
                let size = gender.sizes[(s0 + j) % gender.sizes.count]
                let n = rows.count
                rows.append(SKURow(
                    productCode: style, productName: name, productNameEn: nameEn, brandCode: brand,
                    categoryCode: categoryCode(gender: g, garment: garment), assortment: assortment,
                    skuCode: "\(style)-\(colour.code)-\(size)", barcode: GTIN.ean13("692" + String(format: "%09d", n)),
                    options: "colour=\(colour.name);size=\(size)", listPrice: price, grams: grams, erp: "erp=" + String(format: "E%08d", n)))
            }
        }
        return rows
    }

    /// The rows as an import file in `CatalogImporter.headers[.skus]` order.
    static func csv(_ rows: [SKURow]) -> String {
        let header = CatalogImporter.headers[.skus]!
        var out = CSV.line(header) + "\n"
        out.reserveCapacity(rows.count * 230)
        for r in rows {
            let fields: [String: String] = [
                "product_code": r.productCode, "product_name": r.productName, "product_name_en": r.productNameEn,
                "brand_code": r.brandCode, "category_code": r.categoryCode, "assortment": r.assortment, "unit": "件",
                "tax_class": "apparel", "product_status": "active", "sku_code": r.skuCode, "barcode": r.barcode, "options": r.options,
                "list_price": String(format: "%lld.%02lld", r.listPrice / 100, r.listPrice % 100), "currency": "CNY",
                "weight_g": String(r.grams), "volume_cm3": "", "sku_status": "active", "external_codes": r.erp,
            ]
            out += CSV.line(header.map { fields[$0] ?? "" }) + "\n"
        }
        return out
    }
}
