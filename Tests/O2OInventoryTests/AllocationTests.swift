import Foundation
import O2OCore
import O2OInventory
import O2OTestSupport
import Testing

@Suite("Soft reservations: held against the pool, moved by routing, never oversold")
struct AllocationTests {
    /// Web is fed by the warehouse (6 units), store 0 (20) and store 1 (5), all exposed in full.
    static func pooled(_ s: Stock) async throws {
        try await s.receive(s.skus[0], 6, at: s.warehouse)
        try await s.receive(s.skus[0], 20, at: s.stores[0])
        try await s.receive(s.skus[0], 5, at: s.stores[1])
        _ = try await s.inventory.setPool(.init(channel: s.web.id, members: [s.warehouse, s.stores[0], s.stores[1]].map {
            (location: $0.id, exposure: .all, shipping: true, pickup: $0.kind == .store)
        }), caller: .system)
    }

    @Test(arguments: TestDatabase.engines)
    func allocate_splitsASoftLineAcrossLocations_movingTheHoldInOneStep(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await Self.pooled(s)
            let r = try await s.inventory.reserve(.init(channel: s.web.code, referenceType: "order", referenceId: "ORD-1",
                                                        lines: [.init(sku: s.skus[0], location: nil, quantity: 8)]), caller: .system)
            #expect(r.lines[0].soft && r.lines[0].locationId == s.stores[0].id)
            // act: routing sources 6 from the warehouse and the rest from store 1
            let moved = try await s.inventory.allocate(r.id, [.init(line: 0, location: s.warehouse.code, quantity: 6),
                                                              .init(line: 0, location: s.stores[1].id)], caller: .system)
            // check
            #expect(moved.lines.map(\.line) == [0, 1])
            #expect(moved.lines.map(\.locationId) == [s.warehouse.id, s.stores[1].id])
            #expect(moved.lines.map(\.quantity) == [6, 2])
            #expect(moved.lines.map(\.soft) == [false, false])
            #expect(moved.lines.map(\.splitFrom) == [nil, 0])
            #expect(try await s.inventory.reservation(r.id, scope: .all) == moved)
            #expect(try await s.balance(s.skus[0], s.stores[0]).reserved == 0)
            #expect(try await s.balance(s.skus[0], s.warehouse).reserved == 6)
            #expect(try await s.balance(s.skus[0], s.stores[1]).reserved == 2)
            // the allocated lines sell where they now are
            let done = try await s.inventory.consume(r.id, caller: .system)
            #expect(done.status == .completed)
            #expect(try await s.balance(s.skus[0], s.warehouse).onHand == 0)
            #expect(try await s.balance(s.skus[0], s.stores[1]).onHand == 3)
            #expect(try await s.balance(s.skus[0], s.stores[0]).onHand == 20)
            let report = try await s.inventory.verify()
            #expect(report.ok, "\(report.mismatches) \(report.negative)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func allocate_whenTheTargetIsShort_movesNothing_andNamesTheShortPart(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await Self.pooled(s)
            let r = try await s.inventory.reserve(.init(channel: s.web.code, lines: [.init(sku: s.skus[0], location: nil, quantity: 8)]),
                                                  caller: .system)
            let before = try await s.snapshot()
            // act
            let error = await #expect(throws: InventoryError.self) {
                try await s.inventory.allocate(r.id, [.init(line: 0, location: s.stores[1].id)], caller: .system)
            }
            // check
            guard case .insufficientStock(let short)? = error else { Issue.record("no shortfall"); return }
            #expect(short.count == 1 && short[0].locationId == s.stores[1].id && short[0].requested == 8 && short[0].available == 5)
            #expect(try await s.snapshot() == before)
            #expect(try await s.inventory.reservation(r.id, scope: .all) == r)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func allocate_badInput_is4xx_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await Self.pooled(s)
            let r = try await s.inventory.reserve(.init(channel: s.web.code, lines: [.init(sku: s.skus[0], location: nil, quantity: 4)]),
                                                  caller: .system)
            let gone = try await s.inventory.reserve(.init(channel: s.web.code, lines: [.init(sku: s.skus[0], location: nil, quantity: 1)]),
                                                     caller: .system)
            _ = try await s.inventory.release(gone.id, caller: .system)
            let before = try await s.snapshot()
            // act
            let outside = await #expect(throws: Problem.self) {
                try await s.inventory.allocate(r.id, [.init(line: 0, location: s.stores[5].id)], caller: .system)
            }
            let sums = await #expect(throws: Problem.self) {
                try await s.inventory.allocate(r.id, [.init(line: 0, location: s.warehouse.id, quantity: 3)], caller: .system)
            }
            let noLine = await #expect(throws: Problem.self) {
                try await s.inventory.allocate(r.id, [.init(line: 4, location: s.warehouse.id)], caller: .system)
            }
            let noPlace = await #expect(throws: Problem.self) {
                try await s.inventory.allocate(r.id, [.init(line: 0, location: "NO-SUCH-STORE", quantity: 0)], caller: .system)
            }
            let finished = await #expect(throws: Problem.self) {
                try await s.inventory.allocate(gone.id, [.init(line: 0, location: s.warehouse.id)], caller: .system)
            }
            let missing = await #expect(throws: Problem.self) {
                try await s.inventory.allocate("res_NOPE", [.init(line: 0, location: s.warehouse.id)], caller: .system)
            }
            // check
            #expect(outside?.status == 422 && outside?.fields == ["allocations[0].locationId"])
            #expect(sums?.status == 422 && sums?.fields == ["allocations[0].quantity"])
            #expect(noLine?.status == 422 && noLine?.fields == ["allocations[0].line"])
            #expect(noPlace?.status == 422 && noPlace?.fields == ["allocations[0].quantity"])
            #expect(finished?.status == 409 && finished?.type.hasSuffix("invalid-transition") == true)
            #expect(missing?.status == 404)
            #expect(try await s.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func allocateAndReserveAtOnce_onTheSameFiveUnits_exactlyFiveSucceed(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup: ten soft holds of one unit land on store 0; store 1 has 5
            try await Self.pooled(s)
            var soft: [String] = []
            for _ in 0..<10 {
                let r = try await s.inventory.reserve(.init(channel: s.web.code, lines: [.init(sku: s.skus[0], location: nil, quantity: 1)]),
                                                      caller: .system)
                #expect(r.lines[0].locationId == s.stores[0].id)
                soft.append(r.id)
            }
            let held = soft
            // act: ten allocations to store 1 and ten direct reservations at store 1, all at once
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for id in held {
                    group.addTask {
                        do { _ = try await s.inventory.allocate(id, [.init(line: 0, location: s.stores[1].id)], caller: .system); return true }
                        catch InventoryError.insufficientStock { return false }
                    }
                }
                for i in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await s.inventory.reserve(.init(referenceType: "order", referenceId: "POS-\(i)",
                                                                    lines: [.init(sku: s.skus[0], location: s.stores[1].id, quantity: 1)]), caller: .system)
                            return true
                        } catch InventoryError.insufficientStock { return false }
                    }
                }
                var all: [Bool] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check: store 1's five units went to five of the twenty; every soft hold is still held somewhere
            #expect(outcomes.filter { $0 }.count == 5)
            let store1 = try await s.balance(s.skus[0], s.stores[1])
            #expect(store1.reserved == 5 && store1.available == 0)
            var moved = 0
            for id in held where try await s.inventory.reservation(id, scope: .all).lines[0].locationId == s.stores[1].id { moved += 1 }
            #expect(try await s.balance(s.skus[0], s.stores[0]).reserved == 10 - moved)
            let report = try await s.inventory.verify()
            #expect(report.ok, "\(report.mismatches) \(report.negative)")
        }
    }
}
