import Foundation
import O2OCore
import O2OInventory
import O2OTestSupport
import Testing

@Suite("Counts, store snapshots and transfers")
struct CountTransferTests {
    @Test(arguments: TestDatabase.engines)
    func snapshot_olderThanLaterSales_keepsThem_andPostsOnlyTheDifference(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup: 10 received at 10:00; the store system says 8 were there at 10:05; 3 sold at 10:10
            let store = s.stores[0]
            try await s.receive(s.skus[0], 10, at: store)
            let snapshotTime = s.clock.instant().addingTimeInterval(300)
            s.clock.advance(by: 600)
            _ = try await s.inventory.post(.init(location: store.id, kind: .sale, lines: [.init(sku: s.skus[0], quantity: 3)]), caller: .system)
            s.clock.advance(by: 60)
            // act: the snapshot arrives late
            let count = try await s.inventory.count(.init(location: store.id, kind: .snapshot, countedAt: snapshotTime, source: "pos",
                                                          lines: [.init(sku: s.skus[0], quantity: 8), .init(sku: s.skus[1], quantity: 2)]),
                                                    caller: .system)
            // check: 8 at 10:05, minus the later sale, is 5; the never-stocked M is created from the snapshot
            #expect(count.lines.count == 2)
            let bySKU = Dictionary(uniqueKeysWithValues: count.lines.map { ($0.skuId, $0) })
            #expect(bySKU[s.skus[0]]?.expected == 10 && bySKU[s.skus[0]]?.variance == -2)
            #expect(bySKU[s.skus[1]]?.expected == 0 && bySKU[s.skus[1]]?.variance == 2)
            #expect(try await s.balance(s.skus[0], store).onHand == 5)
            #expect(try await s.balance(s.skus[1], store).onHand == 2)
            #expect(try await s.inventory.stockCount(count.id, scope: .all) == count)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func fullCount_setsUncountedSKUsToZero_andRefusesSKUsNeverStocked_andFutureTimes(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let store = s.stores[1]
            try await s.receive(s.skus[0], 4, at: store)
            try await s.receive(s.skus[1], 6, at: store)
            let before = try await s.snapshot()
            // act
            let neverStocked = await #expect(throws: Problem.self) {
                try await s.inventory.count(.init(location: store.id, kind: .cycle, lines: [.init(sku: s.skus[3], quantity: 1)]), caller: .system)
            }
            let future = await #expect(throws: Problem.self) {
                try await s.inventory.count(.init(location: store.id, kind: .cycle, countedAt: s.clock.now().addingTimeInterval(3600),
                                                  lines: [.init(sku: s.skus[0], quantity: 1), .init(sku: s.skus[0], quantity: -1)]), caller: .system)
            }
            #expect(try await s.snapshot() == before)
            let full = try await s.inventory.count(.init(location: store.id, kind: .full, lines: [.init(sku: s.skus[1], quantity: 7)]), caller: .system)
            // check
            #expect(neverStocked?.status == 422 && neverStocked?.fields == ["lines[0].sku"])
            #expect(future?.status == 422 && future?.fields == ["countedAt", "lines[1].quantity"])
            #expect(full.lines.count == 2)
            #expect(try await s.balance(s.skus[0], store).onHand == 0)
            #expect(try await s.balance(s.skus[1], store).onHand == 7)
            let variances = try await s.inventory.movements(.init(), scope: .all).items.filter { $0.kind == .countVariance }
            #expect(Set(variances.map(\.onHandDelta)) == [-4, 1] && variances.allSatisfy { $0.referenceId == full.id })
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func transfer_holdsAtTheSource_movesThroughTransit_andRecordsWhatWentMissing(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let from = s.warehouse, to = s.stores[4]
            try await s.receive(s.skus[0], 20, at: from)
            try await s.receive(s.skus[1], 5, at: from)
            // act
            let requested = try await s.inventory.requestTransfer(.init(from: from.code, to: to.code, reason: "replenishment", lines: [
                .init(sku: s.skus[0], quantity: 6), .init(sku: s.skus[1], quantity: 2),
            ]), caller: .system)
            let held = try await s.balance(s.skus[0], from)
            let shipped = try await s.inventory.shipTransfer(requested.id, caller: .system)
            let inTransit = try await s.balance(s.skus[0], to)
            let early = await #expect(throws: Problem.self) { try await s.inventory.cancelTransfer(requested.id, caller: .system) }
            let received = try await s.inventory.receiveTransfer(requested.id, received: [(line: 1, quantity: 1)], caller: .system)
            // check
            #expect((held.onHand, held.reserved) == (20, 6))
            #expect(shipped.status == .shipped && (inTransit.inTransit, inTransit.onHand) == (6, 0))
            #expect(early?.status == 409 && early?.allowed == ["receive"])
            #expect(received.status == .received && received.lines.map(\.discrepancy) == [0, -1])
            let a = try await s.balance(s.skus[0], to), b = try await s.balance(s.skus[1], to)
            #expect((a.onHand, a.inTransit, b.onHand, b.inTransit) == (6, 0, 1, 0))
            let src = try await s.balance(s.skus[0], from)
            #expect((src.onHand, src.reserved) == (14, 0))
            #expect(try await s.inventory.verify().ok)
            #expect(try await s.inventory.transfers(location: to.id, status: nil, limit: 10, cursor: nil, scope: .all).items.map(\.id) == [requested.id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func transfer_badInput_isRefused_andCancelReleasesTheHold(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await s.receive(s.skus[0], 3, at: s.stores[0])
            let before = try await s.snapshot()
            let clerk = Caller(.init(id: "usr_c", kind: .user, name: "clerk", role: .clerk, scope: .location(s.stores[5].id, organisation: s.stores[5].organisationId)))
            // act
            let same = await #expect(throws: Problem.self) {
                try await s.inventory.requestTransfer(.init(from: s.stores[0].id, to: s.stores[0].id, lines: [.init(sku: s.skus[0], quantity: 1)]), caller: .system)
            }
            let short = await #expect(throws: InventoryError.self) {
                try await s.inventory.requestTransfer(.init(from: s.stores[0].id, to: s.stores[1].id, lines: [.init(sku: s.skus[0], quantity: 4)]), caller: .system)
            }
            let outside = await #expect(throws: Problem.self) {
                try await s.inventory.requestTransfer(.init(from: s.stores[0].id, to: s.stores[1].id, lines: [.init(sku: s.skus[0], quantity: 1)]), caller: clerk)
            }
            #expect(try await s.snapshot() == before)
            let t = try await s.inventory.requestTransfer(.init(from: s.stores[0].id, to: s.stores[1].id, lines: [.init(sku: s.skus[0], quantity: 3)]),
                                                          caller: .system)
            let cancelled = try await s.inventory.cancelTransfer(t.id, caller: .system)
            // check
            #expect(same?.status == 422 && same?.fields == ["toLocationId"])
            #expect(short != nil)
            #expect(outside?.status == 422 && outside?.fields == ["fromLocationId"])
            #expect(cancelled.status == .cancelled)
            #expect(try await s.balance(s.skus[0], s.stores[0]).reserved == 0)
            let notVisible = await #expect(throws: Problem.self) { try await s.inventory.transfer(t.id, scope: clerk.principal.scope) }
            #expect(notVisible?.status == 404)
            // The clerk's store is the destination: it sees the transfer, but only the source ships it.
            let toClerk = try await s.inventory.requestTransfer(.init(from: s.stores[0].id, to: s.stores[5].id, lines: [.init(sku: s.skus[0], quantity: 1)]),
                                                                caller: .system)
            #expect(try await s.inventory.transfer(toClerk.id, scope: clerk.principal.scope).id == toClerk.id)
            let wrongEnd = await #expect(throws: Problem.self) { try await s.inventory.shipTransfer(toClerk.id, caller: clerk) }
            #expect(wrongEnd?.status == 409 && wrongEnd?.type == Problem.typeBase + "wrong-end")
            #expect(try await s.inventory.verify().ok)
        }
    }
}
