import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork
import O2OServer
import O2OTestSupport

/// The demo city network (one warehouse, ten stores), a product with four sizes and two channels,
/// over a fresh database and a manual clock.
struct Stock {
    let services: AppServices
    let clock: ManualClock
    let warehouse: Location
    let stores: [Location]
    /// SKU ids, sizes S, M, L, XL.
    let skus: [String]
    let web: SalesChannel
    let pos: SalesChannel

    var inventory: InventoryService { services.inventory }
    var db: Database { services.db }

    static func with<T: Sendable>(_ engine: DatabaseEngine, _ body: @escaping @Sendable (Stock) async throws -> T) async throws -> T {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        return try await TestDatabase.withServices(engine, clock: clock) { services in
            _ = try await DemoData(services: services).load(scale: .city, password: "inventory-test-1", catalogSKUs: 0)
            var f = LocationFilter()
            f.limit = 200
            let all = try await services.network.locations(f, scope: .all).items
            let brand = try await services.catalog.createBrand(code: "INV-B", name: "Stock brand", nameEn: nil, caller: .system)
            let category = try await services.catalog.createCategory(code: "INV-C", name: "Tees", nameEn: nil, parentId: nil, caller: .system)
            let product = try await services.catalog.createProduct(.init(
                code: "INV-P", name: "圆领T恤", brandId: brand.id, categoryId: category.id, optionNames: ["size"], status: .active,
                skus: ["S", "M", "L", "XL"].map { .init(code: "INV-P-\($0)", options: ["size": $0], listPrice: 9900) }), caller: .system)
            let web = try await services.catalog.createChannel(code: "INV-WEB", name: "Web", kind: .web, currency: nil, caller: .system)
            let pos = try await services.catalog.createChannel(code: "INV-POS", name: "Stores", kind: .pos, currency: nil, caller: .system)
            return try await body(Stock(services: services, clock: clock, warehouse: all.first { $0.kind.isWarehouse }!,
                                        stores: all.filter { $0.kind == .store }, skus: product.skus.map(\.id), web: web, pos: pos))
        }
    }

    /// Receives `quantity` of a SKU at a location.
    func receive(_ sku: String, _ quantity: Int, at location: Location) async throws {
        _ = try await inventory.post(.init(location: location.id, kind: .receipt, referenceType: "delivery_note", referenceId: "DN-1",
                                           lines: [.init(sku: sku, quantity: quantity)]), caller: .system)
    }

    func balance(_ sku: String, _ location: Location) async throws -> Balance {
        try await inventory.balance(sku: sku, location: location.id, scope: .all)
    }

    func count(_ table: String) async throws -> Int { try await TestDatabase.count(table, db) }

    /// Rows of every inventory table, for "nothing was written".
    func snapshot() async throws -> [Int] {
        var n: [Int] = []
        for t in ["inventory_balances", "inventory_movements", "inventory_reservations", "inventory_reservation_lines", "audit_events", "outbox_events"] {
            n.append(try await count(t))
        }
        return n
    }
}

extension Problem {
    var fields: Set<String> { Set((errors ?? []).map(\.field)) }
}
