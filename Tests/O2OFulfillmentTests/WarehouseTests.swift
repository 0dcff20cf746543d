import Foundation
import O2OCore
import O2OFulfillment
import O2OInventory
import O2ONetwork
import O2OOrders
import O2OTestSupport
import SQLKit
import Testing

@Suite("Warehouse: bins, receipts and putaway, pick waves, bin counts — on hand is always bins + picked + dock")
struct WarehouseTests {
    static func bins(_ s: Shop) async throws -> [Bin] {
        try await s.services.warehouse.createBins(warehouse: s.warehouse.code, [
            .init(code: "A-01", zone: "A", path: 10, capacity: 50), .init(code: "A-02", zone: "A", path: 20, capacity: 50),
            .init(code: "B-01", zone: "B", path: 30),
        ], caller: .system)
    }

    static func balance(_ s: Shop, _ sku: String) async throws -> BinBalance {
        let all = try await s.services.warehouse.balances(warehouse: s.warehouse.code, scope: .all)
        return try #require(all.first { $0.skuId == sku })
    }

    /// Every SKU's on hand is what the bins, the picked-not-shipped and the dock hold, the dock never negative.
    static func expectConsistent(_ s: Shop) async throws {
        for b in try await s.services.warehouse.balances(warehouse: s.warehouse.code, scope: .all) {
            #expect(b.onHand == b.inBins + b.picked + b.dock && b.dock >= 0, "\(b)")
        }
    }

    /// A paid delivery order only the warehouse can serve, accepted there.
    static func acceptedAtWarehouse(_ s: Shop, _ lines: [(sku: String, quantity: Int)]) async throws -> FulfillmentOrder {
        let o = try await s.orders.place(s.delivery(lines), caller: .system)
        #expect(o.lines.allSatisfy { $0.locationId == s.warehouse.id })
        _ = try await s.orders.advance(o.id, to: .released, caller: .system)
        let f = try await Work.only(s, o.id)
        s.clock.advance(by: 1) // waves take the oldest accepted first
        return try await s.services.fulfillment.accept(f.id, caller: .system)
    }

    @Test(arguments: TestDatabase.engines)
    func receive_suggestsBinsAlongTheWalk_sameSKUFirst_andPutawayEmptiesTheDock(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let wms = s.services.warehouse
            _ = try await Self.bins(s)
            // act: a supplier delivery
            let r = try await wms.receive(warehouse: s.warehouse.code, .init(source: .supplier, reference: "DN-1001",
                                                                             lines: [(s.skus[0], 60), (s.skus[1], 10)]), caller: .system)
            // check: empty bins along the walk, capacity respected
            #expect(r.lines[0].suggestions.map(\.binCode) == ["A-01", "A-02"] && r.lines[0].suggestions.map(\.quantity) == [50, 10])
            #expect(r.lines[1].suggestions.map(\.binCode) == ["B-01"] && r.lines[1].unplaced == 0)
            #expect(try await Self.balance(s, s.skus[0]).dock == 60)
            #expect(try await s.balance(s.skus[0], s.warehouse).onHand == 60)
            // bad putaway: beyond what was counted, an unknown bin, more than a bin holds — 422, nothing written
            for bad in [[(line: 1, bin: "A-01", quantity: 61)], [(1, "Z-99", 1)], [(1, "A-01", 51)]] {
                await #expect(throws: Problem.self) { _ = try await wms.putAway(receipt: r.id, bad, caller: .system) }
            }
            #expect(try await Self.balance(s, s.skus[0]).inBins == 0)
            // act: put away as suggested
            let done = try await wms.putAway(receipt: r.id, [(1, "A-01", 50), (1, "A-02", 10), (2, "B-01", 10)], caller: .system)
            #expect(done.status == .putAway)
            #expect(try await Self.balance(s, s.skus[0]).dock == 0)
            // the same delivery note again is refused; a second delivery goes where the SKU already is and has room
            await #expect(throws: Problem.self) {
                _ = try await wms.receive(warehouse: s.warehouse.code, .init(source: .supplier, reference: "DN-1001", lines: [(s.skus[0], 1)]), caller: .system)
            }
            let again = try await wms.receive(warehouse: s.warehouse.code, .init(source: .supplier, reference: "DN-1002", lines: [(s.skus[0], 45)]),
                                              caller: .system)
            #expect(again.lines[0].suggestions.map(\.binCode) == ["A-02", "B-01"])
            #expect(again.lines[0].suggestions.map(\.reason) == [.sameSKU, .freeCapacity])
            #expect(again.lines[0].suggestions.map(\.quantity) == [40, 5])
            try await Self.expectConsistent(s)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func wave_picksOrdersWholeInWalkOrder_leavesShortOnesOut_andShippingSellsThePickedUnits(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 12 of SKU 0 across two bins, 3 of SKU 1; three orders, the third short of SKU 1
            let wms = s.services.warehouse
            _ = try await Self.bins(s)
            let r = try await wms.receive(warehouse: s.warehouse.code, .init(source: .supplier, reference: "DN-1",
                                                                             lines: [(s.skus[0], 12), (s.skus[1], 8)]), caller: .system)
            _ = try await wms.putAway(receipt: r.id, [(1, "A-02", 7), (1, "A-01", 5), (2, "B-01", 3)], caller: .system)
            let f1 = try await Self.acceptedAtWarehouse(s, [(s.skus[0], 6), (s.skus[1], 2)])
            let f2 = try await Self.acceptedAtWarehouse(s, [(s.skus[0], 4)])
            let f3 = try await Self.acceptedAtWarehouse(s, [(s.skus[1], 2)])
            // act
            let wave = try await wms.createWave(warehouse: s.warehouse.code, caller: .system)
            // check: f1 and f2 whole, f3 short (1 left in bins; 5 more on the dock do not count)
            #expect(Set(wave.fulfillmentOrderIds) == [f1.id, f2.id])
            #expect(wave.shortages.map(\.fulfillmentOrderId) == [f3.id])
            #expect(wave.tasks.map(\.path) == wave.tasks.map(\.path).sorted())
            #expect(wave.tasks.map(\.seq) == Array(1...wave.tasks.count))
            #expect(wave.tasks.filter { $0.skuId == s.skus[0] }.reduce(0) { $0 + $1.quantity } == 10)
            #expect(try await s.services.fulfillment.fulfillmentOrder(f1.id, scope: .all).status == .picking)
            // a second wave finds nothing it can pick whole: f3 is still short, the rest are on the wave
            await #expect(throws: Problem.self) { _ = try await wms.createWave(warehouse: s.warehouse.code, caller: .system) }
            // picking more than a task holds is refused, nothing written
            let first = wave.tasks[0]
            await #expect(throws: Problem.self) { _ = try await wms.pick(wave: wave.id, [(first.seq, first.quantity + 1)], caller: .system) }
            #expect(try await Self.balance(s, s.skus[0]).picked == 0)
            // act: pick everything
            let picked = try await wms.pick(wave: wave.id, wave.tasks.map { ($0.seq, $0.quantity) }, caller: .system)
            #expect(picked.status == .picked)
            let before = try await Self.balance(s, s.skus[0])
            #expect(before.picked == 10 && before.inBins == 2 && before.onHand == 12)
            try await Self.expectConsistent(s)
            // act: pack and ship f1; its picked units become the sale
            for next in [FulfillmentStatus.packed, .shipped] { _ = try await s.services.fulfillment.transition(f1.id, to: next, note: nil, caller: .system) }
            let after = try await Self.balance(s, s.skus[0])
            #expect(after.onHand == 6 && after.picked == 4 && after.dock == 0)
            try await Self.expectConsistent(s)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func binCount_postsTheDifferenceToTheLedger_andRefusesCountingAwayWhatAPickListHolds(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let wms = s.services.warehouse
            _ = try await Self.bins(s)
            let r = try await wms.receive(warehouse: s.warehouse.code, .init(source: .supplier, reference: "DN-7", lines: [(s.skus[1], 10)]), caller: .system)
            _ = try await wms.putAway(receipt: r.id, [(1, "B-01", 10)], caller: .system)
            // act: 8 found
            let count = try await wms.count(warehouse: s.warehouse.code, bin: "B-01", [(s.skus[1], 8)], complete: true, caller: .system)
            // check
            #expect(count.lines.map { "\($0.skuId) \($0.expected)→\($0.counted)" } == ["\(s.skus[1]) 10→8"])
            #expect(try await s.balance(s.skus[1], s.warehouse).onHand == 8)
            try await Self.expectConsistent(s)
            // a wave holds 3 of them: counting the bin below 3 is refused
            _ = try await Self.acceptedAtWarehouse(s, [(s.skus[1], 3)])
            _ = try await wms.createWave(warehouse: s.warehouse.code, caller: .system)
            await #expect(throws: Problem.self) {
                _ = try await wms.count(warehouse: s.warehouse.code, bin: "B-01", [(s.skus[1], 2)], complete: false, caller: .system)
            }
            #expect(try await s.balance(s.skus[1], s.warehouse).onHand == 8)
            // bins of a store, or a duplicate code: 422, nothing written
            await #expect(throws: Problem.self) { _ = try await wms.createBins(warehouse: s.a.code, [.init(code: "S-1", zone: "S", path: 1)], caller: .system) }
            await #expect(throws: Problem.self) { _ = try await wms.createBins(warehouse: s.warehouse.code, [.init(code: "B-01", zone: "B", path: 1)], caller: .system) }
            #expect(try await wms.bins(warehouse: s.warehouse.code, scope: .all).count == 3)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func concurrentWaves_neverAllocateTheSameUnitsTwice(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 10 units in bins, 16 accepted one-unit orders
            let wms = s.services.warehouse
            _ = try await Self.bins(s)
            let r = try await wms.receive(warehouse: s.warehouse.code, .init(source: .supplier, reference: "DN-9", lines: [(s.skus[0], 30)]), caller: .system)
            _ = try await wms.putAway(receipt: r.id, [(1, "A-01", 4), (1, "A-02", 6)], caller: .system)
            var ids: [String] = []
            for _ in 0..<16 { ids.append(try await Self.acceptedAtWarehouse(s, [(s.skus[0], 1)]).id) }
            // act: four waves at once, four orders each
            let waves = await withTaskGroup(of: PickWave?.self) { group in
                for chunk in ids.chunked(4) {
                    group.addTask { try? await wms.createWave(warehouse: s.warehouse.code, fulfillmentOrderIds: Array(chunk), caller: .system) }
                }
                var out: [PickWave] = []
                for await w in group { if let w { out.append(w) } }
                return out
            }
            // check: exactly 10 orders picked across the waves, each once
            let picked = waves.flatMap(\.fulfillmentOrderIds)
            #expect(picked.count == 10 && Set(picked).count == 10)
            let allocated = try await wms.binStock(warehouse: s.warehouse.code, sku: s.skus[0], scope: .all).reduce(0) { $0 + $1.allocated }
            #expect(allocated == 10)
            try await Self.expectConsistent(s)
        }
    }
}
