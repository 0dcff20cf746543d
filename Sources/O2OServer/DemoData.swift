import Foundation
import O2OCatalog
import O2OInventory
import O2ONetwork
import O2OOrders
import O2OCore

/// Demo data for a pilot city, a province or the nation: real division codes and centre
/// coordinates (GB/T 2260 codes; centres as published in the open cpca dataset, GCJ-02), with
/// stores scattered around them by a seeded generator, so the same seed gives the same network.
public struct DemoData: Sendable {
    public enum Scale: String, Sendable, CaseIterable { case city, province, nation }

    public struct Summary: Sendable {
        public var organisations = 0
        public var warehouses = 0
        public var stores = 0
        public var users: [String] = []
        public var password = ""
        public var passwordGenerated = false
        public var apiKey: String?
        public var brands = 0
        public var categories = 0
        public var products = 0
        public var skus = 0
        public var channels = 0
        public var listings = 0
        public var priceLists = 0
        public var priceEntries = 0
        public var stockRows = 0
        public var stockUnits = 0
        public var orders = 0
        public var tillSales = 0
        public var members = 0
        public var promotions = 0
        public var carriers = 0
        public var shipments = 0
        public var deliveryRoutes = 0
    }

    let services: AppServices
    public init(services: AppServices) { self.services = services }

    struct Division { let code: String; let name: String; let lat: Double; let lng: Double }

    // Shanghai (310000 上海市 / 310100) districts.
    static let shanghai: [Division] = [
        .init(code: "310101", name: "黄浦区", lat: 31.2317, lng: 121.4844), .init(code: "310104", name: "徐汇区", lat: 31.1885, lng: 121.4361),
        .init(code: "310105", name: "长宁区", lat: 31.2204, lng: 121.4246), .init(code: "310106", name: "静安区", lat: 31.2279, lng: 121.4475),
        .init(code: "310107", name: "普陀区", lat: 31.2496, lng: 121.3955), .init(code: "310109", name: "虹口区", lat: 31.2646, lng: 121.5051),
        .init(code: "310110", name: "杨浦区", lat: 31.2598, lng: 121.5257), .init(code: "310112", name: "闵行区", lat: 31.1129, lng: 121.3808),
        .init(code: "310113", name: "宝山区", lat: 31.4055, lng: 121.4896), .init(code: "310114", name: "嘉定区", lat: 31.3759, lng: 121.2654),
        .init(code: "310115", name: "浦东新区", lat: 31.2215, lng: 121.5444), .init(code: "310117", name: "松江区", lat: 31.0322, lng: 121.2277),
        .init(code: "310118", name: "青浦区", lat: 31.1507, lng: 121.1242),
    ]

    // Zhejiang (330000 浙江省) prefecture cities.
    static let zhejiang: [Division] = [
        .init(code: "330100", name: "杭州市", lat: 30.2469, lng: 120.2098), .init(code: "330200", name: "宁波市", lat: 29.8600, lng: 121.6225),
        .init(code: "330300", name: "温州市", lat: 27.9938, lng: 120.6994), .init(code: "330400", name: "嘉兴市", lat: 30.7462, lng: 120.7555),
        .init(code: "330500", name: "湖州市", lat: 30.8944, lng: 120.0868), .init(code: "330600", name: "绍兴市", lat: 30.0302, lng: 120.5804),
        .init(code: "330700", name: "金华市", lat: 29.0792, lng: 119.6472), .init(code: "330800", name: "衢州市", lat: 28.9701, lng: 118.8595),
        .init(code: "330900", name: "舟山市", lat: 29.9856, lng: 122.2071), .init(code: "331000", name: "台州市", lat: 28.6564, lng: 121.4208),
        .init(code: "331100", name: "丽水市", lat: 28.4676, lng: 119.9228),
    ]

    // Provincial capitals and large cities, with their province names.
    static let nation: [(Division, String)] = [
        (.init(code: "110100", name: "北京市", lat: 39.9042, lng: 116.4074), "北京市"), (.init(code: "120100", name: "天津市", lat: 39.0842, lng: 117.2010), "天津市"),
        (.init(code: "130100", name: "石家庄市", lat: 38.0422, lng: 114.5148), "河北省"), (.init(code: "140100", name: "太原市", lat: 37.8706, lng: 112.5489), "山西省"),
        (.init(code: "150100", name: "呼和浩特市", lat: 40.8424, lng: 111.7500), "内蒙古自治区"), (.init(code: "210100", name: "沈阳市", lat: 41.6773, lng: 123.4650), "辽宁省"),
        (.init(code: "210200", name: "大连市", lat: 38.9141, lng: 121.6148), "辽宁省"), (.init(code: "220100", name: "长春市", lat: 43.8173, lng: 125.3235), "吉林省"),
        (.init(code: "230100", name: "哈尔滨市", lat: 45.8038, lng: 126.5350), "黑龙江省"), (.init(code: "310100", name: "上海市", lat: 31.2304, lng: 121.4737), "上海市"),
        (.init(code: "320100", name: "南京市", lat: 32.0596, lng: 118.7967), "江苏省"), (.init(code: "330100", name: "杭州市", lat: 30.2469, lng: 120.2098), "浙江省"),
        (.init(code: "330200", name: "宁波市", lat: 29.8600, lng: 121.6225), "浙江省"), (.init(code: "340100", name: "合肥市", lat: 31.8206, lng: 117.2272), "安徽省"),
        (.init(code: "350100", name: "福州市", lat: 26.0743, lng: 119.2964), "福建省"), (.init(code: "350200", name: "厦门市", lat: 24.4797, lng: 118.0892), "福建省"),
        (.init(code: "360100", name: "南昌市", lat: 28.6829, lng: 115.8582), "江西省"), (.init(code: "370100", name: "济南市", lat: 36.6512, lng: 117.1201), "山东省"),
        (.init(code: "370200", name: "青岛市", lat: 36.0671, lng: 120.3826), "山东省"), (.init(code: "410100", name: "郑州市", lat: 34.7466, lng: 113.6253), "河南省"),
        (.init(code: "420100", name: "武汉市", lat: 30.5932, lng: 114.3055), "湖北省"), (.init(code: "430100", name: "长沙市", lat: 28.2281, lng: 112.9389), "湖南省"),
        (.init(code: "440100", name: "广州市", lat: 23.1291, lng: 113.2644), "广东省"), (.init(code: "440300", name: "深圳市", lat: 22.5435, lng: 114.0579), "广东省"),
        (.init(code: "450100", name: "南宁市", lat: 22.8170, lng: 108.3665), "广西壮族自治区"), (.init(code: "460100", name: "海口市", lat: 20.0444, lng: 110.1983), "海南省"),
        (.init(code: "500100", name: "重庆市", lat: 29.5628, lng: 106.5516), "重庆市"), (.init(code: "510100", name: "成都市", lat: 30.5729, lng: 104.0668), "四川省"),
        (.init(code: "520100", name: "贵阳市", lat: 26.6477, lng: 106.6302), "贵州省"), (.init(code: "530100", name: "昆明市", lat: 24.8801, lng: 102.8329), "云南省"),
        (.init(code: "540100", name: "拉萨市", lat: 29.6523, lng: 91.1721), "西藏自治区"), (.init(code: "610100", name: "西安市", lat: 34.3416, lng: 108.9398), "陕西省"),
        (.init(code: "620100", name: "兰州市", lat: 36.0611, lng: 103.8343), "甘肃省"), (.init(code: "630100", name: "西宁市", lat: 36.6171, lng: 101.7782), "青海省"),
        (.init(code: "640100", name: "银川市", lat: 38.4872, lng: 106.2309), "宁夏回族自治区"), (.init(code: "650100", name: "乌鲁木齐市", lat: 43.8256, lng: 87.6168), "新疆维吾尔自治区"),
    ]

    /// Loads the demo into an empty database. Refuses when locations already exist.
    ///
    /// The catalog has about 2,000 (city), 10,000 (province) or 50,000 (nation) SKUs; `catalogSKUs`
    /// sets another size, up to 150,000 (0 leaves the catalog out, e.g. for tests that bring their
    /// own). Season codes follow the current year and times are relative to now; the rest repeats
    /// exactly for a seed. `stock: false` leaves the warehouses and stores empty.
    public func load(scale: Scale, seed: UInt64 = 2026, password: String?, catalogSKUs: Int? = nil, stock: Bool = true) async throws -> Summary {
        guard try await services.network.locationCount() == 0 else {
            throw Problem.conflict("The database already holds locations; demo data loads only into an empty database.")
        }
        var rng = SeededRandom(state: seed)
        var summary = Summary()
        let network = services.network
        let caller = Caller.system

        // Organisations: two franchisees per ten stores or so, and a supplier.
        let franchiseeCount = scale == .city ? 2 : scale == .province ? 12 : 60
        var franchisees: [Organisation] = []
        for i in 1...franchiseeCount {
            franchisees.append(try await network.createOrganisation(
                code: String(format: "FR%03d", i), name: "加盟商 \(i) 号商贸有限公司", kind: .franchisee,
                contactPhone: String(format: "+86 138%08d", Int(rng.next() % 100_000_000)), caller: caller))
        }
        let supplier = try await network.createOrganisation(code: "SUP001", name: "华东服饰面料供应商", kind: .supplier,
                                                            contactPhone: nil, caller: caller)
        summary.organisations = franchisees.count + 1

        // Places: (division, province code/name, city code/name, district code/name).
        struct Place { let lat: Double; let lng: Double; let prov: (String, String); let city: (String, String); let district: (String, String) }
        var places: [Place] = []
        let storeCount: Int
        switch scale {
        case .city:
            storeCount = 10
            places = Self.shanghai.map { Place(lat: $0.lat, lng: $0.lng, prov: ("310000", "上海市"), city: ("310100", "上海市"), district: ($0.code, $0.name)) }
        case .province:
            storeCount = 300
            places = Self.zhejiang.map { Place(lat: $0.lat, lng: $0.lng, prov: ("330000", "浙江省"), city: ($0.code, $0.name),
                                               district: (String($0.code.prefix(4)) + "02", $0.name + "市区")) }
        case .nation:
            storeCount = 3000
            places = Self.nation.map { d, p in Place(lat: d.lat, lng: d.lng, prov: (String(d.code.prefix(2)) + "0000", p), city: (d.code, d.name),
                                                     district: (String(d.code.prefix(4)) + "02", d.name + "市区")) }
        }

        func jitter(_ p: Place, km: Double) -> Coordinates {
            let r = km * sqrt(Double(rng.next() % 10_000) / 10_000)
            let theta = Double(rng.next() % 36_000) / 36_000 * 2 * .pi
            return Coordinates(lat: p.lat + r * cos(theta) / 111.0, lng: p.lng + r * sin(theta) / (111.32 * cos(p.lat * .pi / 180)))
        }
        func address(_ p: Place, _ line: String) -> Address {
            Address(line1: line, provinceCode: p.prov.0, provinceName: p.prov.1, cityCode: p.city.0, cityName: p.city.1,
                    districtCode: p.district.0, districtName: p.district.1)
        }

        // Warehouses: an e-commerce warehouse; for larger scales a factory warehouse and regional DCs.
        var warehouses: [Location] = []
        let hub = places[scale == .city ? 9 : 0]  // 嘉定 for the city demo
        warehouses.append(try await network.createLocation(NewLocation(
            code: "WH-EC-01", name: "电子商务标准仓", kind: .ecommerceWarehouse, address: address(hub, "物流园区 1 号"),
            coordinates: jitter(hub, km: 3), dailyCapacity: 20_000, priority: 10), caller: caller))
        if scale != .city {
            warehouses.append(try await network.createLocation(NewLocation(
                code: "WH-FAC-01", name: "工厂大仓", kind: .factoryWarehouse, address: address(places[1], "工业园区 8 号"),
                coordinates: jitter(places[1], km: 5), dailyCapacity: 50_000, priority: 5), caller: caller))
            let dcCount = scale == .province ? 2 : 8
            for i in 0..<dcCount {
                let p = places[(i * 5 + 2) % places.count]
                warehouses.append(try await network.createLocation(NewLocation(
                    code: String(format: "DC-%02d", i + 1), name: "\(p.city.1)区域周转仓", kind: .regionalDC,
                    address: address(p, "周转仓路 \(i + 1) 号"), coordinates: jitter(p, km: 8), dailyCapacity: 15_000, priority: 8),
                    caller: caller))
            }
        }
        summary.warehouses = warehouses.count

        // Stores: about a third franchised; most offer pickup and returns, many ship from store,
        // some deliver within a few kilometres.
        let streets = ["南京路", "淮海路", "人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "延安路", "新华路"]
        let malls = ["万达广场", "印象城", "大悦城", "银泰百货", "来福士", "龙湖天街", "万象城", "凯德广场"]
        var stores: [Location] = []
        for i in 0..<storeCount {
            let p = places[i % places.count]
            let franchise = i % 3 == 2
            let org = franchise ? franchisees[(i / 3) % franchisees.count] : nil
            let delivery = rng.next() % 2 == 0
            let mall = malls[Int(rng.next() % UInt64(malls.count))]
            let street = streets[Int(rng.next() % UInt64(streets.count))]
            stores.append(try await network.createLocation(NewLocation(
                code: String(format: "ST-%04d", i + 1), name: "\(p.district.1)\(mall)店",
                kind: .store, ownership: franchise ? .franchise : .direct, organisationId: org?.id,
                address: address(p, "\(street)\(Int(rng.next() % 900) + 1)号 \(mall) \(Int(rng.next() % 4) + 1)F"),
                coordinates: jitter(p, km: scale == .city ? 4 : 12),
                openingHours: OpeningHours.daily("10:00", i % 4 == 0 ? "22:00" : "21:30"),
                capabilities: Capabilities(pickup: true, shipFromStore: i % 5 != 4, storeDelivery: delivery,
                                           deliveryRadiusKm: delivery ? Double(3 + Int(rng.next() % 6)) : nil, acceptsReturns: i % 7 != 6),
                dailyCapacity: 40 + Int(rng.next() % 120), priority: Int(rng.next() % 5)), caller: caller))
        }
        summary.stores = stores.count

        // Users, one per role, named after it.
        if let password, !password.isEmpty {
            summary.password = password
        } else {
            summary.password = Secrets.token(prefix: "", bytes: 9)
            summary.passwordGenerated = true
        }
        let firstStore = stores[0]
        let franchiseStore = stores.first { $0.ownership == .franchise }!
        for role in Role.allCases where role != .integration {
            let scope: Scope
            switch role {
            case .storeManager, .clerk: scope = .location(firstStore.id, organisation: firstStore.organisationId)
            case .warehouse: scope = .location(warehouses[0].id, organisation: warehouses[0].organisationId)
            case .franchisee: scope = .organisation(franchiseStore.organisationId)
            case .supplier: scope = .organisation(supplier.id)
            default: scope = .all
            }
            _ = try await services.identity.createUser(
                NewUser(username: role.rawValue, password: summary.password, displayName: "Demo \(role.rawValue)", role: role, scope: scope),
                caller: caller)
            summary.users.append(role.rawValue)
        }
        let (_, secret) = try await services.identity.createApiKey(name: "Demo web shop", channel: "web", organisationId: nil, caller: caller)
        summary.apiKey = secret
        try await loadCarriers(summary: &summary)

        // The product catalog: its own generator, so the network above stays as it was for a seed.
        // Item references have five digits per brand's GS1 prefix, hence the ceiling.
        let skuTarget = min(catalogSKUs ?? (scale == .city ? 2_000 : scale == .province ? 10_000 : 50_000), 150_000)
        if skuTarget > 0 {
            try await loadCatalog(skus: skuTarget, seed: seed, franchiseeId: franchiseStore.organisationId,
                                  region: (places[0].prov.0, places[0].prov.1), summary: &summary)
            if stock {
                try await loadStock(warehouses: warehouses, stores: stores, scale: scale, seed: seed, summary: &summary)
                let members = try await loadMembers(stores: stores, seed: seed, summary: &summary)
                try await loadPromotions(members: members, seed: seed, summary: &summary)
                try await loadOrders(stores: stores, members: members, seed: seed, summary: &summary)
                try await loadShipments(summary: &summary)
                try await loadDeliveryRoutes(stores: stores, summary: &summary)
            }
        }
        return summary
    }
}

// MARK: - Catalog

extension DemoData {
    /// A category's size run; the second option of its styles.
    enum SizeRun {
        case men, women, menWaist, womenWaist, kids, oneSize, none

        var values: [String] {
            switch self {
            case .men: return ["S", "M", "L", "XL", "XXL"]
            case .women: return ["XS", "S", "M", "L", "XL"]
            case .menWaist: return ["28", "29", "30", "31", "32", "33", "34", "36"]
            case .womenWaist: return ["25", "26", "27", "28", "29", "30"]
            case .kids: return ["110", "120", "130", "140", "150", "160"]
            case .oneSize: return ["均码"]
            case .none: return []
            }
        }
    }

    /// A leaf category and how its styles look.
    struct Leaf {
        let code: String
        let name: String
        let nameEn: String
        /// The style-code segment: 26SS-TS-001.
        let type: String
        let styles: [(String, String)]
        /// Price points in yuan.
        let prices: [Int]
        let grams: ClosedRange<Int>
        let sizes: SizeRun
        let palette: [String]
        /// The halves of the year it sells in.
        let halves: [String]
        let materials: [String]
        let care: String
        /// Relative number of styles.
        let share: Int
        /// Whether the outdoor brand makes it too.
        let outdoor: Bool
    }

    struct Root {
        let code: String
        let name: String
        let nameEn: String
        let who: (String, String)
        let leaves: [Leaf]
    }

    static let colours: [String: (String, String)] = [
        "BLK": ("黑色", "Black"), "WHT": ("白色", "White"), "NVY": ("藏青", "Navy"), "KHK": ("卡其", "Khaki"), "GRY": ("灰色", "Grey"),
        "IVR": ("米白", "Ivory"), "BUR": ("酒红", "Burgundy"), "OLV": ("军绿", "Olive"), "OAT": ("燕麦", "Oatmeal"), "PNK": ("粉色", "Pink"),
        "HZB": ("雾蓝", "Haze blue"), "IND": ("深蓝", "Indigo"), "LWS": ("浅蓝", "Light wash"), "CML": ("驼色", "Camel"),
        "MST": ("姜黄", "Mustard"), "RED": ("红色", "Red"), "FGR": ("墨绿", "Forest green"),
    ]

    static let basics = ["BLK", "WHT", "NVY", "GRY", "KHK", "IVR"]
    static let cotton = ["100%棉", "95%棉 5%氨纶", "精梳棉", "新疆长绒棉"]
    static let washCare = "30°C 以下机洗，不可漂白"

    static let roots: [Root] = [
        Root(code: "MEN", name: "男装", nameEn: "Men", who: ("男士", "Men's "), leaves: [
            Leaf(code: "MEN-TS", name: "T恤", nameEn: "T-shirts", type: "TS",
                 styles: [("纯棉圆领短袖T恤", "cotton crew-neck tee"), ("重磅落肩T恤", "heavyweight drop-shoulder tee"), ("印花短袖T恤", "graphic tee"),
                          ("凉感速干T恤", "cool-touch quick-dry tee"), ("长袖打底T恤", "long-sleeve tee"), ("条纹海魂T恤", "Breton stripe tee")],
                 prices: [79, 99, 129, 149, 159, 199], grams: 170...260, sizes: .men, palette: basics + ["OLV", "HZB", "BUR"],
                 halves: ["SS", "AW"], materials: cotton, care: washCare, share: 14, outdoor: false),
            Leaf(code: "MEN-SH", name: "衬衫", nameEn: "Shirts", type: "SH",
                 styles: [("牛津纺长袖衬衫", "Oxford shirt"), ("免烫商务衬衫", "non-iron dress shirt"), ("亚麻休闲衬衫", "linen shirt"),
                          ("法兰绒格纹衬衫", "flannel check shirt"), ("灯芯绒衬衫", "corduroy shirt")],
                 prices: [199, 229, 259, 299, 349, 399], grams: 240...380, sizes: .men, palette: ["WHT", "HZB", "NVY", "KHK", "OLV", "BLK"],
                 halves: ["SS", "AW"], materials: ["100%棉", "55%亚麻 45%棉", "棉混纺"], care: washCare, share: 9, outdoor: false),
            Leaf(code: "MEN-SW", name: "卫衣", nameEn: "Sweatshirts", type: "SW",
                 styles: [("连帽卫衣", "hoodie"), ("圆领卫衣", "crewneck sweatshirt"), ("半拉链卫衣", "half-zip sweatshirt"), ("摇粒绒卫衣", "fleece sweatshirt")],
                 prices: [199, 229, 259, 299, 349, 399], grams: 420...680, sizes: .men, palette: basics + ["OLV", "OAT", "BUR"],
                 halves: ["AW", "SS"], materials: ["80%棉 20%聚酯纤维", "100%棉毛圈", "100%聚酯纤维（摇粒绒）"], care: washCare, share: 9, outdoor: false),
            Leaf(code: "MEN-JK", name: "夹克", nameEn: "Jackets", type: "JK",
                 styles: [("工装夹克", "utility jacket"), ("飞行员夹克", "bomber jacket"), ("防风软壳夹克", "softshell jacket"),
                          ("牛仔夹克", "denim jacket"), ("立领棉服夹克", "padded stand-collar jacket")],
                 prices: [399, 459, 499, 599, 699, 799, 899], grams: 550...950, sizes: .men, palette: ["BLK", "NVY", "KHK", "OLV", "GRY", "CML"],
                 halves: ["AW", "SS"], materials: ["100%尼龙", "100%棉", "聚酯纤维 + 氨纶（软壳）"], care: "建议手洗或干洗", share: 7, outdoor: true),
            Leaf(code: "MEN-JN", name: "牛仔裤", nameEn: "Jeans", type: "JN",
                 styles: [("直筒牛仔裤", "straight jeans"), ("修身弹力牛仔裤", "slim stretch jeans"), ("宽松锥形牛仔裤", "relaxed tapered jeans"),
                          ("复古水洗牛仔裤", "vintage wash jeans")],
                 prices: [299, 349, 399, 459, 499], grams: 560...760, sizes: .menWaist, palette: ["IND", "LWS", "BLK", "GRY"],
                 halves: ["SS", "AW"], materials: ["98%棉 2%氨纶", "100%棉（12.5 盎司）"], care: "反面冷水洗涤，避免暴晒", share: 8, outdoor: false),
            Leaf(code: "MEN-DJ", name: "羽绒服", nameEn: "Down jackets", type: "DJ",
                 styles: [("轻薄羽绒服", "light down jacket"), ("连帽中长款羽绒服", "hooded mid-length down coat"),
                          ("三防短款羽绒服", "water-repellent short down jacket"), ("鹅绒派克服", "goose-down parka")],
                 prices: [699, 799, 899, 999, 1099, 1299], grams: 650...1300, sizes: .men, palette: ["BLK", "NVY", "KHK", "OLV", "CML", "RED"],
                 halves: ["AW"], materials: ["面料 100%尼龙；填充 90%白鸭绒", "面料 100%聚酯纤维；填充 90%白鹅绒"], care: "专业羽绒清洗，不可干洗",
                 share: 6, outdoor: true),
        ]),
        Root(code: "WOMEN", name: "女装", nameEn: "Women", who: ("女士", "Women's "), leaves: [
            Leaf(code: "WOMEN-TS", name: "T恤", nameEn: "T-shirts", type: "TS",
                 styles: [("纯棉圆领短袖T恤", "cotton crew-neck tee"), ("修身短款T恤", "cropped fitted tee"), ("法式条纹T恤", "French stripe tee"),
                          ("宽松印花T恤", "relaxed graphic tee"), ("莫代尔长袖T恤", "modal long-sleeve tee")],
                 prices: [79, 99, 129, 149, 159, 199], grams: 140...230, sizes: .women, palette: basics + ["PNK", "HZB", "MST"],
                 halves: ["SS", "AW"], materials: cotton + ["50%莫代尔 50%棉"], care: washCare, share: 12, outdoor: false),
            Leaf(code: "WOMEN-DR", name: "连衣裙", nameEn: "Dresses", type: "DR",
                 styles: [("碎花雪纺连衣裙", "floral chiffon dress"), ("针织长袖连衣裙", "knit long-sleeve dress"), ("衬衫式连衣裙", "shirt dress"),
                          ("吊带背心裙", "slip dress"), ("收腰A字连衣裙", "fit-and-flare dress")],
                 prices: [299, 349, 399, 459, 499, 599, 699], grams: 220...480, sizes: .women, palette: ["BLK", "IVR", "PNK", "HZB", "BUR", "FGR", "CML"],
                 halves: ["SS", "AW"], materials: ["100%聚酯纤维（雪纺）", "100%醋酸纤维", "70%粘纤 30%锦纶"], care: "建议手洗或干洗", share: 10, outdoor: false),
            Leaf(code: "WOMEN-SK", name: "半身裙", nameEn: "Skirts", type: "SK",
                 styles: [("百褶半身裙", "pleated midi skirt"), ("高腰A字裙", "high-waist A-line skirt"), ("牛仔半身裙", "denim skirt"),
                          ("针织包臀裙", "knit pencil skirt")],
                 prices: [199, 229, 259, 299, 349, 399], grams: 200...420, sizes: .women, palette: ["BLK", "KHK", "IVR", "NVY", "CML", "FGR"],
                 halves: ["SS", "AW"], materials: ["100%聚酯纤维", "100%棉", "50%羊毛 50%锦纶"], care: "建议手洗", share: 7, outdoor: false),
            Leaf(code: "WOMEN-KN", name: "针织衫", nameEn: "Knitwear", type: "KN",
                 styles: [("羊毛圆领针织衫", "wool crewneck sweater"), ("V领针织开衫", "V-neck cardigan"), ("羊绒高领毛衣", "cashmere turtleneck"),
                          ("麻花针织背心", "cable-knit vest")],
                 prices: [299, 349, 399, 459, 599, 799, 999], grams: 280...520, sizes: .women, palette: ["OAT", "IVR", "CML", "GRY", "BUR", "BLK"],
                 halves: ["AW"], materials: ["100%美利奴羊毛", "100%山羊绒", "70%羊毛 30%锦纶"], care: "平铺晾干，不可机洗", share: 8, outdoor: false),
            Leaf(code: "WOMEN-JN", name: "牛仔裤", nameEn: "Jeans", type: "JN",
                 styles: [("高腰直筒牛仔裤", "high-rise straight jeans"), ("阔腿牛仔裤", "wide-leg jeans"), ("紧身弹力牛仔裤", "skinny stretch jeans"),
                          ("微喇牛仔裤", "bootcut jeans")],
                 prices: [299, 349, 399, 459], grams: 450...650, sizes: .womenWaist, palette: ["IND", "LWS", "BLK", "WHT"],
                 halves: ["SS", "AW"], materials: ["98%棉 2%氨纶", "100%棉"], care: "反面冷水洗涤，避免暴晒", share: 7, outdoor: false),
        ]),
        Root(code: "KIDS", name: "童装", nameEn: "Kids", who: ("儿童", "Kids' "), leaves: [
            Leaf(code: "KIDS-TS", name: "T恤", nameEn: "T-shirts", type: "KT",
                 styles: [("纯棉短袖T恤", "cotton tee"), ("卡通印花T恤", "cartoon print tee"), ("防晒长袖T恤", "UV-protection long-sleeve tee")],
                 prices: [59, 69, 79, 89, 99], grams: 90...160, sizes: .kids, palette: ["WHT", "PNK", "HZB", "MST", "RED", "NVY"],
                 halves: ["SS", "AW"], materials: ["100%精梳棉（A 类）"], care: washCare, share: 5, outdoor: false),
            Leaf(code: "KIDS-JP", name: "运动裤", nameEn: "Joggers", type: "JP",
                 styles: [("束脚运动裤", "joggers"), ("加绒运动裤", "fleece-lined joggers"), ("速干运动裤", "quick-dry track pants")],
                 prices: [99, 129, 149, 159], grams: 180...320, sizes: .kids, palette: ["BLK", "NVY", "GRY", "OLV"],
                 halves: ["SS", "AW"], materials: ["95%棉 5%氨纶", "100%聚酯纤维"], care: washCare, share: 4, outdoor: true),
        ]),
        Root(code: "ACC", name: "配饰", nameEn: "Accessories", who: ("", ""), leaves: [
            Leaf(code: "ACC-HT", name: "帽子", nameEn: "Hats", type: "HT",
                 styles: [("棒球帽", "baseball cap"), ("渔夫帽", "bucket hat"), ("针织毛线帽", "knit beanie")],
                 prices: [79, 99, 129, 159], grams: 70...160, sizes: .oneSize, palette: ["BLK", "WHT", "KHK", "NVY", "OLV", "OAT"],
                 halves: ["SS", "AW"], materials: ["100%棉", "100%腈纶"], care: "手洗，不可烘干", share: 4, outdoor: true),
            Leaf(code: "ACC-BG", name: "包袋", nameEn: "Bags", type: "BG",
                 styles: [("帆布托特包", "canvas tote"), ("尼龙双肩包", "nylon backpack"), ("斜挎小包", "crossbody bag"), ("皮质手提包", "leather handbag")],
                 prices: [199, 259, 299, 399, 499, 599], grams: 300...950, sizes: .none, palette: ["BLK", "KHK", "IVR", "NVY", "CML", "OLV"],
                 halves: ["SS", "AW"], materials: ["16 安帆布", "300D 尼龙", "头层牛皮"], care: "用软布擦拭，避免水洗", share: 4, outdoor: true),
        ]),
    ]

    static let series: [(String, String)] = [("", ""), ("", ""), ("", ""), ("基础", "Essential "), ("通勤", "Commuter "), ("复古", "Retro "),
                                             ("轻运动", "Active ")]
    static let fits = ["宽松", "常规", "修身", "落肩宽松", "直筒"]
    static let origins = ["浙江宁波", "浙江杭州", "江苏苏州", "广东东莞", "福建泉州", "山东青岛"]

    /// One generated style with its SKUs and where it is sold.
    struct StyleSpec {
        enum Age { case old, current, new }
        var code: String
        var name: String
        var nameEn: String
        var brand: String
        var category: String
        var leafType: String
        var assortment: Assortment
        var age: Age
        var optionNames: [String]
        var skus: [(code: String, barcode: String, options: [(String, String)], price: Int64, grams: Int, erp: String)]
        var patch: CatalogService.ProductPatch
        var onlineFirstUntil: Date?
        var scheduledAt: Date?
    }

    /// Brands, the category tree, ~2,000 (city), ~10,000 (province) or ~50,000 (nation) SKUs, the
    /// channels with listings that respect each style's assortment, and price lists. SKUs, listings
    /// and prices go through the CSV importer, the bulk path a merchandiser would use.
    func loadCatalog(skus targetSKUs: Int, seed: UInt64, franchiseeId: String, region: (code: String, name: String),
                     summary: inout Summary) async throws {
        let catalog = services.catalog
        let caller = Caller.system
        let now = services.clock.instant()
        let logger = services.logger
        var phaseStart = ContinuousClock.now
        func phase(_ name: String) {
            let end = ContinuousClock.now
            logger.debug("demo catalog", metadata: ["phase": "\(name)", "ms": "\(Int((end - phaseStart) / .milliseconds(1)))"])
            phaseStart = end
        }
        var rng = SeededRandom(state: seed ^ 0x5EED_CA7A_1061_0001)
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        func chance(_ percent: Int) -> Bool { Int(rng.next() % 100) < percent }
        func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }

        var shanghai = Calendar(identifier: .gregorian)
        shanghai.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        /// 10:00 in Shanghai, `days` from today: launches and store openings happen at opening time.
        func tenAM(inDays days: Int) -> Date {
            shanghai.date(byAdding: .hour, value: 24 * days + 10, to: shanghai.startOfDay(for: now))!
        }
        let year = shanghai.component(.year, from: now) % 100
        let seasons: [(code: String, half: String, age: StyleSpec.Age, weight: Int)] = [
            ("\(year - 1)SS", "SS", .old, 12), ("\(year - 1)AW", "AW", .old, 14),
            ("\(year)SS", "SS", .current, 30), ("\(year)AW", "AW", .current, 34), ("\(year + 1)SS", "SS", .new, 10),
        ]

        // Brands and the category tree.
        let brands = [
            try await catalog.createBrand(code: "HEMU", name: "禾木", nameEn: "HEMU", caller: caller),
            try await catalog.createBrand(code: "TRAIL", name: "野径", nameEn: "Trailway", caller: caller),
        ]
        let companyPrefix = ["HEMU": "6937812", "TRAIL": "6945216"]  // GS1 China (690–699) company prefixes
        var categoryCount = 0
        for root in Self.roots {
            let parent = try await catalog.createCategory(code: root.code, name: root.name, nameEn: root.nameEn, parentId: nil, caller: caller)
            for leaf in root.leaves {
                _ = try await catalog.createCategory(code: leaf.code, name: leaf.name, nameEn: leaf.nameEn, parentId: parent.id, caller: caller)
            }
            categoryCount += 1 + root.leaves.count
        }

        // Channels.
        let channelSpecs: [(String, String, ChannelKind)] = [
            ("WEB", "官网商城", .web), ("APP", "移动商城", .app), ("WXMP", "微信小程序", .miniProgram),
            ("TMALL", "天猫旗舰店", .marketplace), ("JD", "京东自营", .marketplace), ("POS", "门店POS", .pos),
        ]
        var channels: [String: SalesChannel] = [:]
        for (code, name, kind) in channelSpecs {
            channels[code] = try await catalog.createChannel(code: code, name: name, kind: kind, currency: "CNY", caller: caller)
        }

        // Styles, until the SKU count is reached.
        var deck: [(Root, Leaf)] = []
        for root in Self.roots { for leaf in root.leaves { deck += Array(repeating: (root, leaf), count: leaf.share) } }
        var numbers: [String: Int] = [:]
        var itemRefs: [String: Int] = [:]
        var erpNumber = 100_000
        var styles: [StyleSpec] = []
        var skuTotal = 0
        while skuTotal < targetSKUs {
            let (root, leaf) = pick(deck)
            let fitting = seasons.filter { leaf.halves.contains($0.half) }
            var roll = int(0...(fitting.map(\.weight).reduce(0, +) - 1))
            let season = fitting.first { roll -= $0.weight; return roll < 0 }!
            let key = "\(season.code)-\(leaf.type)"
            numbers[key, default: 0] += 1
            let code = String(format: "%@-%03d", key, numbers[key]!)
            let brand = leaf.outdoor && chance(40) ? brands[1] : brands[0]
            let (base, baseEn) = pick(leaf.styles)
            let (line, lineEn) = pick(Self.series)
            let name = root.who.0 + line + base
            // Title case, word by word ("Men's Commuter Oxford Shirt").
            let nameEn = (root.who.1 + lineEn + baseEn).split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }
                .joined(separator: " ")
            let roll2 = int(0...99)
            var assortment: Assortment = roll2 < 74 ? .shared : roll2 < 88 ? .onlineExclusive : .storeExclusive
            if season.age == .new && assortment == .storeExclusive { assortment = .shared }
            let price = Int64(pick(leaf.prices)) * 100
            let grams = int(leaf.grams)
            var palette = leaf.palette
            var colours: [String] = []
            for _ in 0..<int(2...4) where !palette.isEmpty {
                colours.append(palette.remove(at: Int(rng.next() % UInt64(palette.count))))
            }
            let sizes = leaf.sizes.values
            var skus: [(code: String, barcode: String, options: [(String, String)], price: Int64, grams: Int, erp: String)] = []
            for colour in colours {
                for (i, size) in (sizes.isEmpty ? [nil] : sizes.map(Optional.some)).enumerated() {
                    itemRefs[brand.code, default: 0] += 1
                    erpNumber += 1
                    let body = companyPrefix[brand.code]! + String(format: "%05d", itemRefs[brand.code]!)
                    var options = [("colour", Self.colours[colour]!.0)]
                    var skuCode = "\(code)-\(colour)"
                    if let size {
                        options.append(("size", size))
                        skuCode += "-" + (size.allSatisfy(\.isASCII) ? size : "F")
                    }
                    // Kids' 150 and 160 cost a little more; bigger sizes weigh a little more.
                    let extra: Int64 = leaf.sizes == .kids && i >= 4 ? 2_000 : 0
                    skus.append((skuCode, GTIN.ean13(body), options, price + extra, grams + 12 * i, "HM\(erpNumber)"))
                }
            }
            let halfName = season.half == "SS" ? "春夏" : "秋冬"
            let material = pick(leaf.materials)
            var patch = CatalogService.ProductPatch()
            var attributes = ["material": material, "season": "20\(season.code.prefix(2)) \(halfName)", "origin": pick(Self.origins),
                              "care": leaf.care]
            if leaf.sizes != .none && leaf.sizes != .oneSize { attributes["fit"] = pick(Self.fits) }
            patch.attributes = attributes
            patch.description = "\(name)，\(material)。\(attributes["fit"].map { "\($0)版型，" } ?? "")20\(season.code.prefix(2)) \(halfName)系列。"
            patch.images = (1...int(2...4)).map { "https://img.example.com/o2o-demo/\(code)/\($0).jpg" }
            var spec = StyleSpec(code: code, name: name, nameEn: nameEn, brand: brand.code, category: leaf.code, leafType: leaf.type,
                                 assortment: assortment, age: season.age, optionNames: sizes.isEmpty ? ["colour"] : ["colour", "size"],
                                 skus: skus, patch: patch)
            if season.age == .new {
                if assortment == .shared && chance(40) {
                    // 新品首销: online first for two weeks, then in stores.
                    spec.onlineFirstUntil = tenAM(inDays: 14)
                    spec.patch.onlineFirstUntil = .some(spec.onlineFirstUntil)
                } else if chance(50) {
                    spec.scheduledAt = tenAM(inDays: 7)
                }
            }
            styles.append(spec)
            skuTotal += skus.count
        }

        phase("brands, categories, channels, styles")

        // SKUs with their styles, through the importer.
        var csv = CSV.line(CatalogImporter.headers[.skus]!) + "\n"
        csv.reserveCapacity(skuTotal * 220)
        for s in styles {
            for k in s.skus {
                csv += CSV.line([
                    s.code, s.name, s.nameEn, s.brand, s.category, s.assortment.rawValue, "pcs", "apparel", "active", k.code, k.barcode,
                    k.options.map { "\($0.0)=\($0.1)" }.joined(separator: ";"), Money.decimal(k.price), "CNY", String(k.grams), "",
                    "active", "erp=\(k.erp)",
                ]) + "\n"
            }
        }
        _ = try await services.importer.importCSV(.skus, text: csv, dryRun: false, caller: caller)

        phase("import SKUs")

        // Descriptions, attributes, images and online-first dates, style by style, a few at a time.
        var ids: [String: String] = [:]
        var cursor: String?
        repeat {
            var f = CatalogService.ProductFilter()
            f.limit = 500
            f.cursor = cursor
            let page = try await catalog.products(f)
            for p in page.items { ids[p.code] = p.id }
            cursor = page.nextCursor
        } while cursor != nil
        let patches = styles.map { (ids[$0.code]!, $0.patch) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for (id, patch) in patches {
                if running >= 32 {
                    try await group.next()
                    running -= 1
                }
                group.addTask { _ = try await catalog.updateProduct(id, patch, caller: caller) }
                running += 1
            }
            try await group.waitForAll()
        }

        phase("product details")

        // Listings: every channel the assortment allows; the marketplaces carry a part of the range,
        // JD sells last year's styles as clearance; new styles launch later, in stores after online.
        let published = now.addingTimeInterval(-60)
        var byChannel: [String: [CatalogService.ListingChange]] = [:]
        for s in styles {
            let online = s.assortment != .storeExclusive, inStores = s.assortment != .onlineExclusive
            var carried: [(String, Bool)] = []
            if online {
                carried += [("WEB", false), ("APP", false), ("WXMP", false)]
                if chance(s.age == .old ? 50 : 85) { carried.append(("TMALL", false)) }
                if s.age == .old || (s.age == .current && chance(50)) { carried.append(("JD", s.age == .old)) }
            }
            if inStores { carried.append(("POS", false)) }
            for (channel, clearance) in carried {
                let publish = channel == "POS" ? s.onlineFirstUntil ?? s.scheduledAt ?? published : s.scheduledAt ?? published
                byChannel[channel, default: []] += s.skus.map { .init(sku: $0.code, publishAt: publish, clearance: clearance) }
            }
        }
        // Straight to the listing service (the importer's path without the CSV round trip), 5,000 at a time.
        var listingCount = 0
        for (code, _, _) in channelSpecs {
            let changes = byChannel[code] ?? []
            for start in stride(from: 0, to: changes.count, by: 5_000) {
                let chunk = Array(changes[start..<min(start + 5_000, changes.count)])
                listingCount += try await catalog.setListings(channel: channels[code]!.id, chunk, caller: caller).count
            }
        }

        phase("listings")

        // Price lists: a franchisee's stores sell about 5% above the unified retail price, the web
        // shop runs a two-week promotion on part of the range, and the pilot region has winter prices.
        func yuan(_ fen: Int64, percent: Int64) -> Int64 { (fen * percent / 100 + 50) / 100 * 100 }
        let franchisee = try await services.network.organisation(franchiseeId, scope: .all)
        let franchiseList = try await services.prices.createPriceList(.init(
            code: "\(franchisee.code)-RETAIL", name: "\(franchisee.name) 门店零售价", priority: 300, organisationId: franchiseeId), caller: caller)
        let promo = try await services.prices.createPriceList(.init(
            code: String(format: "WEB-PROMO-%02d%02d", shanghai.component(.month, from: now), shanghai.component(.day, from: now)),
            name: "官网双周特惠（85 折）", priority: 100, channelId: channels["WEB"]!.id, validFrom: now.addingTimeInterval(-60),
            validTo: tenAM(inDays: 14)), caller: caller)
        let winter = try await services.prices.createPriceList(.init(
            code: "REG-\(region.code)-WINTER", name: "\(region.name)冬季保暖季（9 折）", priority: 200, regionCode: region.code,
            validFrom: now.addingTimeInterval(-86_400), validTo: tenAM(inDays: 45)), caller: caller)
        var prices = CSV.line(CatalogImporter.headers[.prices]!) + "\n"
        var entryCount = 0
        for s in styles {
            let online = s.assortment != .storeExclusive, inStores = s.assortment != .onlineExclusive
            let onPromo = online && s.age != .new && chance(25)
            let warm = inStores && ["DJ", "JK", "KN"].contains(s.leafType)
            for k in s.skus {
                if inStores {
                    prices += "\(franchiseList.code),\(k.code),\(Money.decimal(yuan(k.price, percent: 105)))\n"
                    entryCount += 1
                }
                if onPromo {
                    prices += "\(promo.code),\(k.code),\(Money.decimal(yuan(k.price, percent: 85)))\n"
                    entryCount += 1
                }
                if warm {
                    prices += "\(winter.code),\(k.code),\(Money.decimal(yuan(k.price, percent: 90)))\n"
                    entryCount += 1
                }
            }
        }
        _ = try await services.importer.importCSV(.prices, text: prices, dryRun: false, caller: caller)

        phase("price lists")

        let counts = try await catalog.counts()
        summary.brands = brands.count
        summary.categories = categoryCount
        summary.products = counts.products
        summary.skus = counts.skus
        summary.channels = counts.channels
        summary.listings = listingCount
        summary.priceLists = counts.priceLists
        summary.priceEntries = entryCount
    }
}

// MARK: - Stock

extension DemoData {
    /// Warehouses deep, stores shallow with some sizes out; online-exclusive styles never in
    /// stores, store-exclusive ones never in the e-commerce warehouse. Channel pools: the own
    /// online channels draw on the warehouses and half of what shipping stores hold, the
    /// marketplaces on the warehouses only; the POS channel keeps the default pool.
    func loadStock(warehouses: [Location], stores: [Location], scale: Scale, seed: UInt64, summary: inout Summary) async throws {
        var rng = SeededRandom(state: seed &+ 0x5_70C4)
        func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.next() % UInt64(r.count)) }
        func chance(_ perMille: Int) -> Bool { Int(rng.next() % 1000) < perMille }
        var skus: [(id: String, assortment: Assortment)] = []
        var cursor: String?
        repeat {
            var f = CatalogService.ProductFilter()
            f.limit = 1000
            f.cursor = cursor
            let page = try await services.catalog.products(f)
            for p in page.items where p.status != .draft { skus += p.skus.map { ($0.id, p.assortment) } }
            cursor = page.nextCursor
        } while cursor != nil
        let inventory = services.inventory
        func receive(_ location: Location, _ lines: [InventoryService.MovementLine]) async throws {
            for start in stride(from: 0, to: lines.count, by: 500) {
                _ = try await inventory.post(.init(location: location.id, kind: .receipt, reason: "opening stock", referenceType: "demo",
                                                   referenceId: "OPENING", lines: Array(lines[start..<min(start + 500, lines.count)])), caller: .system)
            }
            summary.stockRows += lines.count
            summary.stockUnits += lines.reduce(0) { $0 + $1.quantity }
        }
        for (i, w) in warehouses.enumerated() {
            let deep = i == 0 ? 40...400 : 10...150
            let lines = skus.filter { i > 0 || $0.assortment != .storeExclusive }.map { InventoryService.MovementLine(sku: $0.id, quantity: int(deep)) }
            if i == 0 && scale == .city {
                // The main warehouse keeps its stock in bins (WMS).
                try await receiveIntoBins(w, lines)
                summary.stockRows += lines.count
                summary.stockUnits += lines.reduce(0) { $0 + $1.quantity }
            } else {
                try await receive(w, lines)
            }
        }
        // Per mille of the catalog a store carries: a city store most of it, a nation's stores a slice.
        let share = scale == .city ? 700 : scale == .province ? 60 : 8
        for store in stores {
            var lines: [InventoryService.MovementLine] = []
            for k in skus where k.assortment != .onlineExclusive && chance(share) {
                if chance(220) { continue }  // this size is out here
                lines.append(.init(sku: k.id, quantity: int(1...6)))
            }
            try await receive(store, lines)
        }
        let warehouseMembers = warehouses.map { (location: $0.id, exposure: Exposure.all, shipping: true, pickup: false) }
        let storeMembers = stores.map { s in
            (location: s.id, exposure: Exposure.percent(50),
             shipping: s.capabilities.shipFromStore || s.capabilities.storeDelivery, pickup: s.capabilities.pickup)
        }.filter { $0.shipping || $0.pickup }
        for code in ["WEB", "APP", "WXMP"] {
            _ = try await inventory.setPool(.init(channel: code, members: warehouseMembers + storeMembers, reservationTTL: 1800), caller: .system)
        }
        for code in ["TMALL", "JD"] {
            _ = try await inventory.setPool(.init(channel: code, members: warehouseMembers, reservationTTL: 86_400, threshold: 2), caller: .system)
        }
        _ = try await inventory.setSafetyStock(.init(quantity: 1), caller: .system)
    }
}

// MARK: - Orders

extension DemoData {
    /// A few dozen orders across the web shop and Tmall — deliveries near stores, pickups, cash on
    /// delivery, one unpaid — moved along their lifecycle so every stage shows; the marketplaces
    /// route to warehouses only.
    func loadOrders(stores: [Location], members: [String], seed: UInt64, summary: inout Summary) async throws {
        var rng = SeededRandom(state: seed &+ 0x0_4D3E)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let orders = services.orders
        for code in ["TMALL", "JD"] {
            _ = try await orders.setRoutingRule(.init(channel: code, name: "marketplaces: warehouses only", useStores: false, maxLocations: 2),
                                                caller: .system)
        }
        // SKUs with stock somewhere (a sample of the balances).
        var f = InventoryService.BalanceFilter()
        f.nonZero = true
        f.limit = 1_000
        let skus = Array(Set(try await services.inventory.balances(f, scope: .all).items.map(\.skuId))).sorted()
        guard !skus.isEmpty else { return }
        let names = ["王小明", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"]
        let pickupStores = stores.filter { $0.capabilities.pickup }
        var placed: [Order] = []
        for i in 0..<90 where placed.count < 30 {
            let near = pick(stores).coordinates
            let address = DeliveryAddress(name: pick(names), phone: String(format: "+86138%08d", Int(rng.next() % 100_000_000)),
                                          line1: "演示路 \(i + 1) 号", lat: near.lat + Double(Int(rng.next() % 200) - 100) / 10_000,
                                          lng: near.lng + Double(Int(rng.next() % 200) - 100) / 10_000)
            let lines = (0..<(1 + Int(rng.next() % 3))).map { _ in (sku: pick(skus), quantity: 1) }
            let unique = Dictionary(lines.map { ($0.sku, $0) }, uniquingKeysWith: { a, _ in a }).values.sorted { $0.sku < $1.sku }
            let pickup = i % 4 == 1 && !pickupStores.isEmpty
            let channel = i % 5 == 4 ? "TMALL" : "WEB"
            var new = OrderService.NewOrder(channel: channel, externalId: channel == "TMALL" ? "TM\(20_261_201_000 + i)" : nil,
                                            method: pickup ? .pickup : .delivery, address: pickup ? nil : address,
                                            pickupLocation: pickup ? pick(pickupStores).id : nil, lines: Array(unique))
            // Two orders in three are a member's: completing them earns points and counts toward the tier.
            if i % 3 != 2, !members.isEmpty { new.memberId = pick(members) }
            do {
                // Priced first, so the tenders add up to what the server charges.
                let quote = try await orders.quote(new, caller: .system)
                if i % 7 != 3 { new.payments = [(tender: i % 6 == 2 && !pickup ? .cod : .sandbox, amount: quote.total)] }
                placed.append(try await orders.place(new, caller: .system))
            } catch let p as Problem where p.status == 409 || p.status == 422 {
                continue  // not listed on that channel, or nowhere to source it: the demo moves on
            } catch is OrdersError {
                continue
            }
        }
        // Along the lifecycle: some released, picking, shipped or ready, delivered, completed; one cancelled.
        for (i, o) in placed.enumerated() where o.paymentStatus != .pending {
            let pickup = o.pickupLocationId != nil
            let path: [OrderStatus] = pickup ? [.released, .picking, .readyForPickup, .pickedUp, .completed]
                                             : [.released, .picking, .shipped, .delivered, .completed]
            if i % 9 == 8 { _ = try await orders.cancel(o.id, reason: "customer changed their mind", caller: .system); continue }
            for next in path.prefix(i % (path.count + 1)) {
                _ = try await orders.advance(o.id, to: next, pickupCode: next == .pickedUp ? o.pickupCode : nil, caller: .system)
            }
        }
        summary.orders = placed.count
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        var shelf: [Balance] = []
        for store in stores.prefix(6) {
            var sf = InventoryService.BalanceFilter()
            sf.location = store.id
            sf.nonZero = true
            sf.limit = 20
            shelf += try await services.inventory.balances(sf, scope: .all).items.filter { $0.onHand > $0.reserved }
        }
        summary.tillSales = try await loadTillSales(shelf, below: below)
    }

    /// A morning of store sales from the stores' tills (POS intake), one of them selling a unit more
    /// than the ledger knew of, so the console shows a short SKU to count.
    private func loadTillSales(_ onShelf: [Balance], below: (Int) -> Int) async throws -> Int {
        guard !onShelf.isEmpty, let pos = try await services.catalog.channels().first(where: { $0.kind == .pos }) else { return 0 }
        let tenders: [Tender] = [.cash, .card, .wechatPay, .alipay]
        var sales: [TillSale] = []
        let now = Date()
        for i in 0..<min(24, onShelf.count) {
            let b = onShelf[below(onShelf.count)]
            guard let price = try await services.prices.resolve(skus: [b.skuId], PriceContext(channelId: pos.id, locationId: b.locationId, at: now)).first
            else { continue }
            let quantity = i == 0 ? b.onHand - b.reserved + 1 : 1
            sales.append(TillSale(transactionId: String(format: "R1-%06d", i + 1), location: b.locationId, channel: pos.id, registerId: "R1",
                                  clerkId: "clerk-\(1 + i % 3)", soldAt: now.addingTimeInterval(-Double(60 * (30 + below(240)))),
                                  lines: [(sku: b.skuId, quantity: quantity, unitPrice: price.price)],
                                  payments: [(tender: tenders[i % tenders.count], amount: price.price * Int64(quantity))]))
        }
        guard !sales.isEmpty else { return 0 }
        return try await services.orders.recordTillSales(sales, caller: .system).filter { $0.outcome == .recorded }.count
    }
}
