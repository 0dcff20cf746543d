import Foundation
import O2OCore
import O2OFulfillment
import O2OInventory
import O2ONetwork
import O2OOrders

// MARK: - Store delivery routes

extension DemoData {
    /// A delivering store's morning round: a dozen web orders to addresses within two kilometres,
    /// released to the store and planned into routes for its two scooters (15 units, 12 kg each,
    /// customers' 2-hour windows kept). The longest route is out: its first stop delivered, its
    /// second failed with the driver's note, the rest still to go; the others wait at the store for dispatch.
    func loadDeliveryRoutes(stores: [Location], summary: inout Summary) async throws {
        guard let store = stores.filter({ $0.capabilities.storeDelivery }).sorted(by: { $0.code < $1.code }).first else { return }
        var sf = InventoryService.BalanceFilter()
        sf.location = store.id
        sf.nonZero = true
        sf.limit = 200
        let onShelf = try await services.inventory.balances(sf, scope: .all).items.filter { $0.onHand - $0.reserved >= 2 }.map(\.skuId)
        let listed = Set(try await services.catalog.skus(ids: onShelf).filter { $0.status == .active }.map(\.id))
        let skus = onShelf.filter(listed.contains)
        guard !skus.isEmpty else { return }
        var rng = SeededRandom(state: 0x0DE1_1FE2)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let names = ["周杰", "吴敏", "郑爽", "孙悦", "马骏", "朱琳"]
        let start = services.clock.instant()
        var windows: [DeliveryWindow] = []
        for i in 0..<12 {
            let address = DeliveryAddress(name: names[i % names.count], phone: String(format: "+86139%08d", below(100_000_000)),
                                          line1: "配送演示路 \(i + 1) 号", lat: store.coordinates.lat + Double(below(300) - 150) / 10_000,
                                          lng: store.coordinates.lng + Double(below(300) - 150) / 10_000)
            var new = OrderService.NewOrder(channel: "WEB", method: .delivery, address: address,
                                            lines: Array(Set((0...below(2)).map { _ in skus[below(skus.count)] })).sorted().map { (sku: $0, quantity: 1) })
            do {
                new.payments = [(tender: .sandbox, amount: try await services.orders.quote(new, caller: .system).total)]
                let o = try await services.orders.place(new, caller: .system)
                summary.orders += 1
                guard o.lines.allSatisfy({ $0.locationId == store.id && $0.mode == .storeDelivery }) else { continue }
                _ = try await services.orders.advance(o.id, to: .released, caller: .system)
                let slot = Double(i % 3) * 7_200
                windows.append(DeliveryWindow(orderId: o.id, earliest: start.addingTimeInterval(slot), latest: start.addingTimeInterval(slot + 7_200)))
            } catch let p as Problem where p.status == 409 || p.status == 422 {
                continue  // not sellable on the web shop after all: the demo moves on
            }
        }
        guard !windows.isEmpty else { return }
        let scooter = DeliveryVehicle(id: "scooter", capacity: 15, maxWeightGrams: 12_000, count: 2, shiftEnd: start.addingTimeInterval(8 * 3_600))
        let plan = try await services.fulfillment.planDeliveries(.init(store: store.id, vehicles: [scooter], departAt: start, timeLimitSeconds: 0.5,
                                                                      windows: windows), caller: .system)
        summary.deliveryRoutes = plan.routes.count
        // the longest route goes out, so it is still on the road after one stop delivered and one failed
        guard let first = plan.routes.max(by: { $0.stops.count < $1.stops.count }) else { return }
        _ = try await services.fulfillment.dispatch(first.id, caller: .system)
        guard first.stops.count > 1 else { return }
        _ = try await services.fulfillment.confirmStop(first.id, seq: 1, delivered: true, note: nil, caller: .system)
        if first.stops.count > 2 {
            _ = try await services.fulfillment.confirmStop(first.id, seq: 2, delivered: false, note: "客户不在家，已电话约明天再送 Not at home; rebooked for tomorrow",
                                                           caller: .system)
        }
    }
}
