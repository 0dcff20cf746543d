import Foundation
import O2OCore
import O2OInventory
import O2ONetwork
import O2OOrders
import O2OTestSupport
import SQLKit
import Testing

@Suite("A location rejects its assignment and the lines are re-routed; cancelling some units")
struct RerouteTests {
    /// A staff member of one location.
    static func staff(_ l: Location, role: Role = .storeManager) -> Caller {
        Caller(.init(id: "usr_\(l.code)", kind: .user, name: "\(l.code) staff", role: role, scope: .location(l.id, organisation: l.organisationId)))
    }

    static func events(_ s: Shop, _ orderId: String) async throws -> [String] {
        try await s.db.read { sql in
            try await sql.raw("SELECT event_type FROM outbox_events WHERE entity_id = \(bind: orderId)").all()
                .map { try $0.decode(column: "event_type", as: String.self) }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_outOfStock_zeroesTheShelf_reroutesToTheNextStore_andTheOrderMustBeReleasedAgain(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: A and B both have 5 M; A holds 1 for another order and 2 for ours, which is picking
            for loc in [s.a, s.b, s.warehouse] { try await s.receive(s.skus[1], 5, at: loc) }
            let other = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            var o = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            #expect(o.lines[0].locationId == s.a.id && other.lines[0].locationId == s.a.id)
            for next in [OrderStatus.released, .picking] { o = try await s.orders.advance(o.id, to: next, caller: .system) }
            // act
            let r = try await s.orders.reject(o.id, location: s.a.code, reason: .outOfStock, note: "shelf empty", caller: Self.staff(s.a))
            // check: the line is at B, held there; the order must be released again
            #expect(r.lines[0].locationId == s.b.id && r.lines[0].mode == .storeDelivery)
            #expect(r.status == .allocated && r.holds.isEmpty)
            #expect(r.reservationId != nil && r.reservationId != o.reservationId)
            let a = try await s.balance(s.skus[1], s.a)
            #expect(a.onHand == 1 && a.reserved == 1 && a.available == 0, "what A had beyond the other order's hold was not there")
            #expect(try await s.balance(s.skus[1], s.b).reserved == 2)
            var f = InventoryService.MovementFilter()
            f.location = s.a.id
            f.referenceId = r.id
            let moves = try await s.inventory.movements(f, scope: .all).items
            let adjustment = try #require(moves.first { $0.kind == .adjustment })
            #expect(adjustment.onHandDelta == -4 && adjustment.reason?.contains(r.id) == true)
            let routing = try #require(r.routing)
            #expect(routing.rule == "default" && routing.assignments == [0: s.b.id])
            #expect(routing.candidates.first { $0.locationId == s.a.id }?.excluded?.contains("rejected this order (out_of_stock)") == true)
            #expect(routing.candidates.first { $0.locationId == s.b.id }?.score != nil)
            #expect(Array(r.timeline.map(\.kind).suffix(2)) == ["rejected", "rerouted"])
            #expect(r.timeline.last?.note?.contains("ST-B") == true)
            #expect(try await Set(Self.events(s, r.id)).isSuperset(of: ["order.rejected_by_location", "order.rerouted"]))
            #expect(try await s.orders.order(r.id, scope: .all) == r)
            #expect(try await s.orders.order(other.id, scope: .all).lines[0].locationId == s.a.id, "the other order keeps its hold")
            let again = try await s.orders.advance(r.id, to: .released, caller: .system)
            #expect(again.status == .released)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_damaged_quarantinesTheUnits_thenASecondRejectionGoesOn_neverBackToARejectingLocation(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            for loc in [s.a, s.b, s.warehouse] { try await s.receive(s.skus[1], 5, at: loc) }
            let o = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            // act: A finds its two damaged (it still has three good ones); then B cannot deliver today
            let first = try await s.orders.reject(o.id, location: s.a.id, reason: .damaged, note: nil, caller: Self.staff(s.a))
            let second = try await s.orders.reject(o.id, location: s.b.code, reason: .other, note: "no driver today", caller: .system)
            // check
            let a = try await s.balance(s.skus[1], s.a)
            #expect(a.onHand == 3 && a.quarantined == 2 && a.reserved == 0)
            #expect(first.lines[0].locationId == s.b.id)
            #expect(second.lines[0].locationId == s.warehouse.id && second.lines[0].mode == .carrier, "A has three but rejected this order")
            let b = try await s.balance(s.skus[1], s.b)
            #expect(b.onHand == 5 && b.reserved == 0, "other: no stock effect")
            #expect(try await s.balance(s.skus[1], s.warehouse).reserved == 2)
            let excluded = second.routing?.candidates.filter { $0.excluded?.hasPrefix("rejected this order") == true }.map(\.locationId)
            #expect(Set(excluded ?? []) == [s.a.id, s.b.id])
            #expect(second.timeline.filter { $0.kind == "rejected" }.count == 2)
            // a third rejection: nobody is left
            let third = try await s.orders.reject(o.id, location: s.warehouse.id, reason: .outOfStock, note: nil, caller: .system)
            #expect(third.holds == [.routing] && third.status == .placed && third.reservationId == nil && third.lines[0].locationId == nil)
            #expect(try await s.balance(s.skus[1], s.warehouse).available == 0)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_whenNoOtherLocationCanTakeTheLine_putsTheOrderOnARoutingHold_withItsOtherLinesStillHeld(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: only A has the L
            try await s.receive(s.skus[1], 3, at: s.a)
            try await s.receive(s.skus[2], 1, at: s.a)
            var o = try await s.orders.place(s.delivery([(s.skus[1], 1), (s.skus[2], 1)]), caller: .system)
            o = try await s.orders.advance(o.id, to: .released, caller: .system)
            // act
            let r = try await s.orders.reject(o.id, location: s.a.code, reason: .outOfStock, lines: [1], note: nil, caller: Self.staff(s.a))
            // check
            #expect(r.status == .allocated && r.holds == [.routing])
            #expect(r.lines.map(\.locationId) == [s.a.id, nil])
            #expect(try await s.balance(s.skus[1], s.a).reserved == 1, "line 0 is still held")
            let l = try await s.balance(s.skus[2], s.a)
            #expect(l.reserved == 0 && l.onHand == 0)
            let reservation = try await s.inventory.reservation(try #require(r.reservationId), scope: .all)
            #expect(reservation.lines.map(\.skuId) == [s.skus[1]] && reservation.status == .active)
            #expect(r.timeline.map(\.kind).suffix(2) == ["rejected", "held"])
            let events = try await Self.events(s, r.id)
            #expect(Set(events).isSuperset(of: ["order.rejected_by_location", "order.held"]) && !events.contains("order.rerouted"))
            let release = await #expect(throws: Problem.self) { try await s.orders.advance(r.id, to: .released, caller: .system) }
            #expect(release?.status == 409)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_pickup_cannotMoveToAnotherStore_soTheOrderWaitsOnARoutingHold(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: B is the chosen store; A has the goods too
            try await s.receive(s.skus[3], 2, at: s.b)
            try await s.receive(s.skus[3], 5, at: s.a)
            let o = try await s.orders.place(.init(channel: s.web.code, method: .pickup, pickupLocation: s.b.code, lines: [(s.skus[3], 2)],
                                                   payments: [(.sandbox, 2 * 9900)]), caller: .system)
            // act
            let r = try await s.orders.reject(o.id, location: s.b.id, reason: .outOfStock, note: nil, caller: Self.staff(s.b))
            // check
            #expect(r.holds == [.routing] && r.pickupLocationId == s.b.id && r.lines[0].locationId == nil)
            #expect(r.reservationId == nil && r.status == .placed)
            #expect(try await s.balance(s.skus[3], s.a).reserved == 0, "not moved to another store")
            #expect(try await s.balance(s.skus[3], s.b).available == 0)
            #expect(r.timeline.last?.note?.contains("pickup") == true)
            #expect(try await s.orders.order(r.id, scope: Self.staff(s.b).principal.scope) == r, "the store still sees it")
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_byALocationNotHoldingTheLines_orByAnotherStoresStaff_isRefused_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            for loc in [s.a, s.b] { try await s.receive(s.skus[1], 5, at: loc) }
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            // sold with B's clerk's help, so B's staff see it; delivered from A
            var assisted = s.delivery([(s.skus[1], 1)])
            assisted.attributedLocation = s.b.code
            let seen = try await s.orders.place(assisted, caller: .system)
            #expect(seen.lines[0].locationId == s.a.id)
            let cancelled = try await s.orders.cancel(try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system).id,
                                                      reason: "test", caller: .system)
            let before = try await s.snapshot()
            // act
            let notHers = await #expect(throws: Problem.self) {
                try await s.orders.reject(o.id, location: s.b.code, reason: .outOfStock, note: nil, caller: .system)
            }
            let wrongLine = await #expect(throws: Problem.self) {
                try await s.orders.reject(o.id, location: s.b.code, reason: .outOfStock, lines: [0], note: nil, caller: .system)
            }
            let unseen = await #expect(throws: Problem.self) {
                try await s.orders.reject(o.id, location: s.b.code, reason: .outOfStock, note: nil, caller: Self.staff(s.b))
            }
            let foreign = await #expect(throws: Problem.self) {
                try await s.orders.reject(seen.id, location: s.a.code, reason: .outOfStock, note: nil, caller: Self.staff(s.b))
            }
            let notAtB = await #expect(throws: Problem.self) {
                try await s.orders.reject(seen.id, location: s.b.code, reason: .outOfStock, note: nil, caller: Self.staff(s.b))
            }
            let franchisee = await #expect(throws: Problem.self) {
                try await s.orders.reject(o.id, location: s.a.code, reason: .damaged, note: nil,
                                          caller: Caller(.init(id: "usr_f", kind: .user, name: "f", role: .franchisee, scope: .organisation(s.a.organisationId))))
            }
            let noLine = await #expect(throws: Problem.self) {
                try await s.orders.reject(o.id, location: s.a.code, reason: .outOfStock, lines: [7], note: nil, caller: Self.staff(s.a))
            }
            let otherWithoutNote = await #expect(throws: Problem.self) {
                try await s.orders.reject(o.id, location: s.a.code, reason: .other, note: nil, caller: Self.staff(s.a))
            }
            let done = await #expect(throws: Problem.self) {
                try await s.orders.reject(cancelled.id, location: s.a.code, reason: .outOfStock, note: nil, caller: .system)
            }
            // check
            #expect(notHers?.status == 409 && notHers?.type.hasSuffix("not-assigned") == true)
            #expect(wrongLine?.status == 409 && wrongLine?.fields == ["lines[0]"], "\(String(describing: wrongLine))")
            #expect(unseen?.status == 404, "B's staff do not see an order A delivers")
            #expect(foreign?.status == 403 && foreign?.detail?.contains("ST-A") == true)
            #expect(notAtB?.status == 409)
            #expect(franchisee?.status == 403)
            #expect(noLine?.status == 422 && noLine?.fields == ["lines[0]"])
            #expect(otherWithoutNote?.status == 422 && otherWithoutNote?.fields == ["note"])
            #expect(done?.status == 409)
            #expect(try await s.snapshot() == before)
            #expect(try await s.count("order_rejections") == 0)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 2)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func cancelLines_givesThoseUnitsBack_andRefundsTheirValue_thenCancellingTheRestCancelsTheOrder(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: M × 2 and L × 1 at A, paid 3 × 99
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(s.skus[2], 5, at: s.a)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 2), (s.skus[2], 1)]), caller: .system)
            // act
            let part = try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1)], reason: "customer wants one", caller: .system)
            // check
            #expect(part.status == .allocated && part.lines.map(\.cancelled) == [1, 0])
            #expect(part.paymentStatus == .partiallyRefunded)
            #expect(part.payments[0].refunded == 9900 && part.payments[0].status == .partiallyRefunded)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 1)
            #expect(try await s.balance(s.skus[2], s.a).reserved == 1)
            #expect(part.timeline.map(\.kind).suffix(2) == ["lines_cancelled", "refund"])
            #expect(try await Self.events(s, o.id).contains("order.lines_cancelled"))
            let ledger = try await s.db.read { sql in
                try await sql.raw("SELECT kind, amount FROM order_payment_ledger WHERE payment_id = \(bind: part.payments[0].id)").all()
                    .map { (try $0.decode(column: "kind", as: String.self), try $0.decode(column: "amount", as: Int64.self)) }
            }
            #expect(ledger.count == 2 && ledger.contains { $0 == ("refund", 9900) })

            // act: the rest
            let rest = try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1), (line: 1, quantity: 1)], reason: "out of stock after all",
                                                      caller: .system)
            // check
            #expect(rest.status == .cancelled && rest.lines.map(\.cancelled) == [2, 1])
            #expect(rest.paymentStatus == .refunded && rest.payments[0].refunded == 3 * 9900 && rest.payments[0].status == .refunded)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 0)
            #expect(try await s.balance(s.skus[2], s.a).reserved == 0)
            #expect(try await s.inventory.reservation(try #require(rest.reservationId), scope: .all).status == .released)
            #expect(try await Self.events(s, o.id).contains("order.cancelled"))
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func cancelLines_afterRelease_onlyTheLocationSourcingThoseLinesMay(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: a released order, M × 2 from A
            try await s.receive(s.skus[1], 5, at: s.a)
            var o = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            o = try await s.orders.advance(o.id, to: .released, caller: .system)
            // act
            let hq = await #expect(throws: Problem.self) {
                try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1)], reason: "try", caller: .system)
            }
            let byStore = try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1)], reason: "one was torn", caller: Self.staff(s.a))
            // check
            #expect(hq?.status == 409)
            #expect(byStore.status == .released && byStore.lines[0].cancelled == 1 && byStore.payments[0].refunded == 9900)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func cancelLines_badLines_are422NamingEachOne_andWriteNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            _ = try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1)], reason: "one", caller: .system)
            let before = try await s.snapshot()
            // act
            let unknown = await #expect(throws: Problem.self) {
                try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1), (line: 4, quantity: 1)], reason: "x", caller: .system)
            }
            let zero = await #expect(throws: Problem.self) {
                try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 0)], reason: "x", caller: .system)
            }
            let tooMany = await #expect(throws: Problem.self) {
                try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1), (line: 0, quantity: 1)], reason: "x", caller: .system)
            }
            let none = await #expect(throws: Problem.self) { try await s.orders.cancelLines(o.id, lines: [], reason: "x", caller: .system) }
            // check
            #expect(unknown?.status == 422 && unknown?.fields == ["lines[1].line"])
            #expect(zero?.status == 422 && zero?.fields == ["lines[0].quantity"])
            #expect(tooMany?.status == 422 && tooMany?.fields == ["lines[1].quantity"], "one unit is left")
            #expect(none?.status == 422 && none?.fields == ["lines"])
            #expect(try await s.snapshot() == before)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 1)
        }
    }
}
