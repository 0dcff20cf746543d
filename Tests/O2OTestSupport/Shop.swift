import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import O2OOrders
import O2OServer

/// A small network around a customer in 黄浦区: store A 1 km away delivering within 5 km, store B
/// 2.5 km away delivering within 5 km, store C 12 km away (ships from store, no delivery), a
/// warehouse 30 km away; a tee in four sizes listed on a web and a marketplace channel at ¥99.
public struct Shop: Sendable {
    public let services: AppServices
    public let clock: ManualClock
    public let a: Location, b: Location, c: Location, warehouse: Location
    /// SKU ids, sizes S, M, L, XL.
    public let skus: [String]
    public let web: SalesChannel
    public let market: SalesChannel

    public var orders: OrderService { services.orders }
    public var inventory: InventoryService { services.inventory }
    public var db: Database { services.db }

    /// The customer's point.
    public static let home = (lat: 31.2300, lng: 121.4800)

    public static func with<T: Sendable>(_ engine: DatabaseEngine, configure: (inout ServerConfig) -> Void = { _ in },
                                  _ body: @escaping @Sendable (Shop) async throws -> T) async throws -> T {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        return try await TestDatabase.withServices(engine, clock: clock, configure: configure) { services in
            let network = services.network
            func place(_ code: String, _ kind: LocationKind, km: Double, delivers: Double?, shipFromStore: Bool = false, capacity: Int = 100) async throws -> Location {
                // Due north of home by `km`.
                let lat = home.lat + km / 111.2
                return try await network.createLocation(NewLocation(
                    code: code, name: code, kind: kind,
                    address: Address(line1: "\(code) 路 1 号", provinceCode: "310000", cityCode: "310100", districtCode: "310101"),
                    coordinates: Coordinates(lat: lat, lng: home.lng),
                    capabilities: kind == .store ? Capabilities(pickup: true, shipFromStore: shipFromStore, storeDelivery: delivers != nil,
                                                               deliveryRadiusKm: delivers) : nil,
                    dailyCapacity: capacity), caller: .system)
            }
            let a = try await place("ST-A", .store, km: 1, delivers: 5)
            let b = try await place("ST-B", .store, km: 2.5, delivers: 5)
            let c = try await place("ST-C", .store, km: 12, delivers: nil, shipFromStore: true)
            let warehouse = try await place("WH-1", .ecommerceWarehouse, km: 30, delivers: nil)
            let catalog = services.catalog
            let brand = try await catalog.createBrand(code: "ORD-B", name: "Order brand", nameEn: nil, caller: .system)
            let category = try await catalog.createCategory(code: "ORD-C", name: "Tees", nameEn: nil, parentId: nil, caller: .system)
            let product = try await catalog.createProduct(.init(
                code: "ORD-P", name: "圆领T恤", brandId: brand.id, categoryId: category.id, optionNames: ["size"], status: .active,
                skus: ["S", "M", "L", "XL"].map { .init(code: "ORD-P-\($0)", options: ["size": $0], listPrice: 9900) }), caller: .system)
            let web = try await catalog.createChannel(code: "ORD-WEB", name: "Web", kind: .web, currency: nil, caller: .system)
            let market = try await catalog.createChannel(code: "ORD-TMALL", name: "Tmall", kind: .marketplace, currency: nil, caller: .system)
            for ch in [web, market] {
                _ = try await catalog.setListings(channel: ch.id, product.skus.map { .init(sku: $0.id, publishAt: Date(timeIntervalSince1970: 0)) },
                                                  caller: .system)
            }
            return try await body(Shop(services: services, clock: clock, a: a, b: b, c: c, warehouse: warehouse, skus: product.skus.map(\.id),
                                       web: web, market: market))
        }
    }

    public func receive(_ sku: String, _ quantity: Int, at location: Location) async throws {
        _ = try await inventory.post(.init(location: location.id, kind: .receipt, referenceType: "delivery_note", referenceId: "DN-1",
                                           lines: [.init(sku: sku, quantity: quantity)]), caller: .system)
    }

    public func balance(_ sku: String, _ location: Location) async throws -> Balance {
        try await inventory.balance(sku: sku, location: location.id, scope: .all)
    }

    public var address: DeliveryAddress {
        DeliveryAddress(name: "王小明", phone: "+8613800138000", line1: "南京东路 1 号", provinceCode: "310000", cityCode: "310100",
                        districtCode: "310101", lat: Self.home.lat, lng: Self.home.lng)
    }

    /// A delivery order on the web channel, paid through the sandbox unless told otherwise.
    public func delivery(_ lines: [(sku: String, quantity: Int)], channel: SalesChannel? = nil, paid: Bool = true, externalId: String? = nil) -> OrderService.NewOrder {
        let total = Int64(lines.reduce(0) { $0 + $1.quantity }) * 9900
        return OrderService.NewOrder(channel: (channel ?? web).code, externalId: externalId, method: .delivery, address: address, lines: lines,
                                     payments: paid ? [(tender: .sandbox, amount: total)] : [])
    }

    public func count(_ table: String) async throws -> Int { try await TestDatabase.count(table, db) }

    /// Rows of the tables an order writes, for "nothing was written".
    public func snapshot() async throws -> [Int] {
        var n: [Int] = []
        for t in ["orders", "order_lines", "order_payments", "order_timeline", "inventory_reservations", "inventory_movements", "audit_events", "outbox_events"] {
            n.append(try await count(t))
        }
        return n
    }
}
