import Foundation
import O2OCore
import O2OInventory
import O2OTestSupport
import Testing

@Suite("Reservations: all lines or none, never oversold")
struct ReservationTests {
    @Test(arguments: TestDatabase.engines)
    func reserve_200ConcurrentOfOneAgainstStock100_exactly100Succeed_andLedgerAgrees(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let store = s.stores[0]
            try await s.receive(s.skus[1], 100, at: store)
            // act: 200 tasks at once, each reserving one unit
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await s.inventory.reserve(.init(referenceType: "order", referenceId: "ORD-\(i)",
                                                                    lines: [.init(sku: s.skus[1], location: store.id, quantity: 1)]), caller: .system)
                            return "ok"
                        } catch InventoryError.insufficientStock(let short) {
                            return short.count == 1 && short[0].available == 0 ? "short" : "short-wrong"
                        }
                    }
                }
                var all: [String] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check
            #expect(outcomes.filter { $0 == "ok" }.count == 100)
            #expect(outcomes.filter { $0 == "short" }.count == 100)
            let b = try await s.balance(s.skus[1], store)
            #expect(b.onHand == 100 && b.reserved == 100 && b.available == 0)
            #expect(try await s.count("inventory_reservations") == 100)
            let report = try await s.inventory.verify()
            #expect(report.ok, "\(report.mismatches) \(report.negative)")
            #expect(report.movements == 101)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reserve_whenAnyLineIsShort_writesNothing_andReportsEveryShortLine(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let store = s.stores[0]
            try await s.receive(s.skus[0], 5, at: store)
            try await s.receive(s.skus[1], 1, at: store)
            let before = try await s.snapshot()
            // act
            let error = await #expect(throws: InventoryError.self) {
                try await s.inventory.reserve(.init(lines: [
                    .init(sku: s.skus[0], location: store.id, quantity: 2),
                    .init(sku: s.skus[1], location: store.id, quantity: 3),
                    .init(sku: s.skus[2], location: store.id, quantity: 1),
                ]), caller: .system)
            }
            // check
            guard case .insufficientStock(let short)? = error else { Issue.record("no shortfall"); return }
            #expect(short.map(\.line) == [1, 2])
            #expect(short.map(\.available) == [1, 0])
            #expect(short.map(\.requested) == [3, 1])
            #expect(error?.problem.status == 409)
            #expect(error?.problem.fields == ["lines[1].quantity", "lines[2].quantity"])
            #expect(try await s.snapshot() == before)
            #expect(try await s.balance(s.skus[0], store).reserved == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func consumeThenRelease_moveOnHandAndReserved_andFinishedReservationRefusesMore(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let store = s.stores[1]
            try await s.receive(s.skus[0], 10, at: store)
            try await s.receive(s.skus[1], 10, at: store)
            let r = try await s.inventory.reserve(.init(referenceType: "order", referenceId: "ORD-7", lines: [
                .init(sku: s.skus[0], location: store.code, quantity: 3), .init(sku: s.skus[1], location: store.id, quantity: 2),
            ]), caller: .system)
            // act
            let sold = try await s.inventory.consume(r.id, lines: [(line: 0, quantity: 2)], caller: .system)
            let done = try await s.inventory.release(r.id, reason: "customer cancelled the rest", caller: .system)
            // check
            #expect(sold.status == .active && sold.lines[0].consumed == 2 && sold.lines[0].open == 1)
            #expect(done.status == .completed && done.lines.allSatisfy { $0.open == 0 })
            let b0 = try await s.balance(s.skus[0], store), b1 = try await s.balance(s.skus[1], store)
            #expect((b0.onHand, b0.reserved) == (8, 0))
            #expect((b1.onHand, b1.reserved) == (10, 0))
            let again = await #expect(throws: Problem.self) { try await s.inventory.consume(r.id, caller: .system) }
            #expect(again?.status == 409 && again?.type == Problem.typeBase + "invalid-transition")
            let tooMuch = try await s.inventory.reserve(.init(lines: [.init(sku: s.skus[0], location: store.id, quantity: 1)]), caller: .system)
            let over = await #expect(throws: Problem.self) {
                try await s.inventory.consume(tooMuch.id, lines: [(line: 0, quantity: 2)], caller: .system)
            }
            #expect(over?.status == 422 && over?.fields == ["lines[0].quantity"])
            #expect(try await s.inventory.verify().ok)
            let sales = try await s.inventory.movements(.init(), scope: .all).items.filter { $0.kind == .sale }
            #expect(sales.count == 1 && sales[0].referenceId == "ORD-7" && sales[0].onHandDelta == -2 && sales[0].reservedDelta == -2)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func expireDue_releasesUnpaidReservationsAfterTheChannelsLifetime(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup: the web channel holds unpaid orders for 15 minutes
            let store = s.stores[2]
            try await s.receive(s.skus[3], 4, at: store)
            _ = try await s.inventory.setPool(.init(channel: s.web.code, reservationTTL: 900), caller: .system)
            let unpaid = try await s.inventory.reserve(.init(channel: s.web.id, lines: [.init(sku: s.skus[3], location: store.id, quantity: 3)]),
                                                       caller: .system)
            let longer = try await s.inventory.reserve(.init(channel: s.web.id, expiresInSeconds: 3600,
                                                             lines: [.init(sku: s.skus[3], location: store.id, quantity: 1)]), caller: .system)
            #expect(unpaid.expiresAt == s.clock.instant().addingTimeInterval(900))
            // act
            s.clock.advance(by: 899)
            let early = try await s.inventory.expireDue()
            s.clock.advance(by: 2)
            let due = try await s.inventory.expireDue()
            // check
            #expect(early == 0 && due == 1)
            #expect(try await s.inventory.reservation(unpaid.id, scope: .all).status == .expired)
            #expect(try await s.inventory.reservation(longer.id, scope: .all).status == .active)
            #expect(try await s.balance(s.skus[3], store).reserved == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reserve_withoutLocation_takesThePoolLocationWithTheMostAvailable(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup: web is fed by the warehouse (all) and store 0 (half)
            try await s.receive(s.skus[0], 6, at: s.warehouse)
            try await s.receive(s.skus[0], 20, at: s.stores[0])
            _ = try await s.inventory.setPool(.init(channel: s.web.id, members: [
                (location: s.warehouse.id, exposure: .all, shipping: true, pickup: false),
                (location: s.stores[0].code, exposure: .percent(50), shipping: true, pickup: true),
            ]), caller: .system)
            // act
            let r = try await s.inventory.reserve(.init(channel: s.web.code, lines: [.init(sku: s.skus[0], location: nil, quantity: 8)]),
                                                  caller: .system)
            let short = await #expect(throws: InventoryError.self) {
                try await s.inventory.reserve(.init(channel: s.web.code, lines: [.init(sku: s.skus[0], location: nil, quantity: 7)]), caller: .system)
            }
            // check: store 0 offers 10 (half of 20), the warehouse 6; after taking 8 it offers 6 and the warehouse 6
            #expect(r.lines[0].locationId == s.stores[0].id)
            guard case .insufficientStock(let lines)? = short else { Issue.record("expected a shortfall"); return }
            #expect(lines.count == 1 && lines[0].available == 6)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reserve_badInput_is422NamingEachField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await s.receive(s.skus[0], 5, at: s.stores[0])
            let before = try await s.snapshot()
            let clerk = Caller(.init(id: "usr_c", kind: .user, name: "clerk", role: .clerk,
                                     scope: .location(s.stores[0].id, organisation: s.stores[0].organisationId)))
            // act
            let bad = await #expect(throws: Problem.self) {
                try await s.inventory.reserve(.init(lines: [
                    .init(sku: s.skus[0], location: s.stores[0].id, quantity: 0),
                    .init(sku: s.skus[0], location: s.stores[0].id, quantity: -2),
                ]), caller: .system)
            }
            let unknownSKU = await #expect(throws: Problem.self) {
                try await s.inventory.reserve(.init(lines: [.init(sku: "sku_NOPE", location: s.stores[0].id, quantity: 1),
                                                            .init(sku: "NO-SUCH-CODE", location: s.stores[0].id, quantity: 1)]), caller: .system)
            }
            let unknownSKUId = await #expect(throws: Problem.self) {
                try await s.inventory.reserve(.init(lines: [.init(sku: "sku_NOPE", location: s.stores[0].id, quantity: 1)]), caller: .system)
            }
            let foreign = await #expect(throws: Problem.self) {
                try await s.inventory.reserve(.init(lines: [.init(sku: s.skus[0], location: s.stores[1].id, quantity: 1)]), caller: clerk)
            }
            let noChannel = await #expect(throws: Problem.self) {
                try await s.inventory.reserve(.init(lines: [.init(sku: s.skus[0], location: nil, quantity: 1)]), caller: .system)
            }
            // check
            #expect(bad?.status == 422 && bad?.fields == ["lines[0].quantity", "lines[1].quantity"])
            #expect(unknownSKU?.status == 422 && unknownSKU?.fields == ["lines[1].sku"])
            #expect(unknownSKUId?.status == 422 && unknownSKUId?.fields == ["lines[0].sku"])
            #expect(foreign?.status == 422 && foreign?.fields == ["lines[0].locationId"])
            #expect(noChannel?.status == 422 && noChannel?.fields == ["channelId"])
            #expect(try await s.snapshot() == before)
        }
    }
}
