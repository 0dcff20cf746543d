import Foundation
import O2OCore
import O2OInventory
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Editing an order before release: versioned, priced and routed again")
struct EditTests {
    @Test(arguments: TestDatabase.engines)
    func edit_newAddressFarAway_routesTheOrderAgain_andAddedLinesArePaid_andEveryVersionIsKept(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: M at store A and the warehouse, L at the warehouse; a paid delivery order of 1 M goes to A
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            try await s.receive(s.skus[2], 5, at: s.warehouse)
            let placed = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            #expect(placed.lines[0].locationId == s.a.id)
            var far = s.address
            far.lat = Shop.home.lat + 30 / 111.2
            far.line1 = "嘉定区 某路 9 号"
            // act: the customer moves next to the warehouse, then adds an L and pays for it
            let moved = try await s.orders.edit(placed.id, OrderEdit(address: far, note: "customer moved"), expectedVersion: placed.version,
                                                caller: .system)
            let grown = try await s.orders.edit(placed.id, OrderEdit(addLines: [(s.skus[2], 1)], payments: [(tender: .sandbox, amount: 9_900)]),
                                                caller: .system)
            // check
            #expect(moved.status == .allocated && moved.address == far)
            #expect(moved.lines[0].locationId == s.warehouse.id && moved.lines[0].mode == .carrier, "no store covers the new address")
            #expect(try await s.balance(s.skus[1], s.a).reserved == 0)
            #expect(try await s.balance(s.skus[1], s.warehouse).reserved == 1)
            #expect(grown.lines.count == 2 && grown.lines[1].line == 1 && grown.lines[1].locationId == s.warehouse.id)
            #expect(grown.total == 19_800 && grown.paidTotal == 19_800 && grown.paymentStatus == .paid)
            #expect(try await s.balance(s.skus[2], s.warehouse).reserved == 1)
            let changes = try await s.orders.changes(placed.id, scope: .all)
            #expect(changes.map(\.summary) == ["address changed", "added line(s) [1] (1 × ORD-P-L)"])
            #expect(changes.map(\.totalAfter) == [9_900, 19_800] && changes[0].addressBefore == s.address && changes[0].note == "customer moved")
            #expect(changes[1].version > changes[0].version)
            #expect(try await s.orders.order(placed.id, scope: .all).timeline.filter { $0.kind == "edited" }.count == 2)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func edit_removeALine_givesItsStockBack_andRefundsIt(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(s.skus[2], 5, at: s.a)
            let placed = try await s.orders.place(s.delivery([(s.skus[1], 2), (s.skus[2], 1)]), caller: .system)
            // act
            let o = try await s.orders.edit(placed.id, OrderEdit(removeLines: [1]), caller: .system)
            // check
            #expect(o.lines[1].cancelled == 1 && o.lines[0].cancelled == 0)
            #expect(o.paymentStatus == .partiallyRefunded && o.payments[0].refunded == 9_900)
            #expect(try await s.balance(s.skus[2], s.a).reserved == 0)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 2)
            // and what is left can still be released
            #expect(try await s.orders.advance(o.id, to: .released, caller: .system).status == .released)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func edit_staleReleasedUnpaidForOrUnservable_isRefused_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            let placed = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            let before = try await s.snapshot()
            func status(_ e: OrderEdit, version: Int? = nil) async -> (Int, Set<String>) {
                do { _ = try await s.orders.edit(placed.id, e, expectedVersion: version, caller: .system); return (0, []) }
                catch let p as Problem { return (p.status, p.fields) }
                catch let e as OrdersError { return (e.problem.status, e.problem.fields) }
                catch { return (-1, []) }
            }
            // act, check
            #expect(await status(OrderEdit(removeLines: [0]), version: placed.version + 5) == (409, ["expectedVersion"]))
            #expect(await status(OrderEdit(addLines: [(s.skus[1], 1)])) == (422, ["payments"]), "a paid order's added line needs paying")
            #expect(await status(OrderEdit(addLines: [("NO-SUCH", 1)])).1 == ["addLines[0].sku"])
            #expect(await status(OrderEdit(addLines: [(s.skus[3], 1)], payments: [(tender: .sandbox, amount: 9_900)])).0 == 409,
                    "nobody has an XL: unroutable")
            #expect(await status(OrderEdit(removeLines: [7])) == (422, ["removeLines[0]"]))
            #expect(await status(OrderEdit()) == (422, ["body"]))
            #expect(await status(OrderEdit(removeLines: [0])) == (422, ["removeLines"]), "removing everything is a cancellation")
            #expect(try await s.snapshot() == before)
            _ = try await s.orders.advance(placed.id, to: .released, caller: .system)
            #expect(await status(OrderEdit(address: s.address)).0 == 409, "released: the location has it")
        }
    }
}
