import Foundation
import O2ONetwork
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

    /// A small deterministic generator (SplitMix64), so demo networks repeat exactly.
    struct SeededRandom: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Loads the demo into an empty database. Refuses when locations already exist.
    public func load(scale: Scale, seed: UInt64 = 2026, password: String?) async throws -> Summary {
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
        return summary
    }
}
