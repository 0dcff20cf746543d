import Foundation
import O2OCore
import O2OInventory
import O2OTestSupport
import Testing

@Suite("Replenishment")
struct ReplenishmentTests {
    @Test(arguments: TestDatabase.engines)
    func suggestions_followMinMax_daysOfCover_andOnlineBestsellers_andBecomeOneTransfer(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let store = s.stores[0]
            for sku in s.skus { try await s.receive(sku, 50, at: s.warehouse) }
            try await s.receive(s.skus[0], 1, at: store)                                  // S: below its min of 2
            _ = try await s.inventory.setReplenishmentRule(.init(location: store.id, sku: s.skus[0], min: 2, max: 6), caller: .system)
            try await s.receive(s.skus[1], 30, at: store)                                 // M: sold 28 in 28 days
            _ = try await s.inventory.post(.init(location: store.id, kind: .sale, lines: [.init(sku: s.skus[1], quantity: 28)]), caller: .system)
            let online = try await s.inventory.reserve(.init(channel: s.web.id, lines: [.init(sku: s.skus[2], location: s.warehouse.id, quantity: 3)]),
                                                       caller: .system)
            _ = try await s.inventory.consume(online.id, caller: .system)                  // L: sold online, none in the store
            // act
            let suggested = try await s.inventory.replenishment(location: store.code, scope: .all)
            let transfers = try await s.inventory.replenish(location: store.id, caller: .system)
            let afterwards = try await s.inventory.replenishment(location: store.id, scope: .all)
            // check
            #expect(suggested.map(\.skuId) == [s.skus[0], s.skus[1], s.skus[2]].sorted())
            let by = Dictionary(uniqueKeysWithValues: suggested.map { ($0.skuId, $0) })
            #expect(by[s.skus[0]]?.quantity == 5 && by[s.skus[0]]?.reasons.first?.contains("min 2") == true)
            #expect(by[s.skus[1]]?.quantity == 12 && by[s.skus[1]]?.dailySales == 1)
            #expect(by[s.skus[2]]?.quantity == 2 && by[s.skus[2]]?.reasons.first?.contains("bestseller") == true)
            #expect(suggested.allSatisfy { $0.sourceLocationId == s.warehouse.id })
            #expect(transfers.count == 1 && transfers[0].fromLocationId == s.warehouse.id && transfers[0].toLocationId == store.id)
            #expect(Set(transfers[0].lines.map(\.quantity)) == [5, 12, 2])
            #expect(afterwards.isEmpty)
            #expect(try await s.inventory.verify().ok)
        }
    }
}
