import Foundation
import O2OCore
import O2OFulfillment
import O2ONetwork
import O2OOrders
import O2OTestSupport
import SQLKit
import Testing

/// Shared setup of the fulfilment order and pickup tests.
enum Work {
    static func clerk(_ s: Shop, at store: Location, id: String = "usr_clerk") -> Caller {
        Caller(Principal(id: id + "_" + store.code, kind: .user, name: "Clerk \(store.code)", role: .clerk,
                         scope: .location(store.id, organisation: store.organisationId)))
    }

    /// A paid delivery order from store A, released to it (stock at A and B, so a rejection can move it).
    static func releasedDelivery(_ s: Shop, units: Int = 1) async throws -> Order {
        try await s.receive(s.skus[1], 5, at: s.a)
        try await s.receive(s.skus[1], 5, at: s.b)
        let o = try await s.orders.place(s.delivery([(s.skus[1], units)]), caller: .system)
        #expect(o.lines[0].locationId == s.a.id)
        return try await s.orders.advance(o.id, to: .released, caller: .system)
    }

    /// A paid pickup order at store A, released to it.
    static func releasedPickup(_ s: Shop, phone: String = "+8613800138000") async throws -> Order {
        try await s.receive(s.skus[1], 3, at: s.a)
        let o = try await s.orders.place(.init(channel: s.web.code, contactPhone: phone, method: .pickup, pickupLocation: s.a.code,
                                               lines: [(s.skus[1], 1)], payments: [(tender: .sandbox, amount: 9900)]), caller: .system)
        return try await s.orders.advance(o.id, to: .released, caller: .system)
    }

    /// The pickup made ready at its store: its fulfilment order.
    static func readyPickup(_ s: Shop, phone: String = "+8613800138000") async throws -> (Order, FulfillmentOrder) {
        let o = try await releasedPickup(s, phone: phone)
        let f = try await only(s, o.id)
        let clerk = clerk(s, at: s.a)
        _ = try await s.services.fulfillment.accept(f.id, caller: clerk)
        _ = try await s.services.fulfillment.transition(f.id, to: .picking, note: nil, caller: clerk)
        let ready = try await s.services.fulfillment.transition(f.id, to: .readyForPickup, note: nil, caller: clerk)
        return (try await s.orders.order(o.id, scope: .all), ready)
    }

    static func fos(_ s: Shop, _ orderId: String) async throws -> [FulfillmentOrder] {
        var f = FulfillmentService.FulfillmentFilter()
        f.orderId = orderId
        return try await s.services.fulfillment.fulfillmentOrders(f, scope: .all).items.sorted { $0.id < $1.id }
    }

    static func only(_ s: Shop, _ orderId: String) async throws -> FulfillmentOrder {
        let all = try await fos(s, orderId)
        #expect(all.count == 1)
        return try #require(all.first)
    }

    static func events(_ s: Shop, _ type: String) async throws -> [String] {
        try await s.db.read { sql in
            try await sql.raw("SELECT payload FROM outbox_events WHERE event_type = \(bind: type) ORDER BY id").all()
                .map { try $0.decode(column: "payload", as: String.self) }
        }
    }

    static func audits(_ s: Shop, action: String) async throws -> Int {
        try await s.db.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM audit_events WHERE action = \(bind: action)").first()!.decode(column: "n", as: Int.self)
        }
    }
}

@Suite("Fulfilment orders: one order's work at one location, its SLA, and the order kept in step")
struct FulfillmentOrderTests {
    @Test(arguments: TestDatabase.engines)
    func release_assignsTheLocation_thenAcceptPickPackSendOutDeliver_movesTheOrderAlong(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let o = try await Work.releasedDelivery(s)
            let fulfillment = s.services.fulfillment
            let clerk = Work.clerk(s, at: s.a)
            // act
            let assigned = try await Work.only(s, o.id)
            let accepted = try await fulfillment.accept(assigned.id, caller: clerk)
            let picking = try await fulfillment.transition(assigned.id, to: .picking, note: nil, caller: clerk)
            let orderPicking = try await s.orders.order(o.id, scope: .all).status
            _ = try await fulfillment.transition(assigned.id, to: .packed, note: nil, caller: clerk)
            let out = try await fulfillment.transition(assigned.id, to: .outForDelivery, note: nil, caller: clerk)
            let orderShipped = try await s.orders.order(o.id, scope: .all).status
            let done = try await fulfillment.transition(assigned.id, to: .delivered, note: "left with the doorman", caller: clerk)
            // check
            #expect(assigned.status == .assigned && assigned.locationId == s.a.id && assigned.mode == .storeDelivery)
            #expect(assigned.acceptBy == assigned.createdAt.addingTimeInterval(30 * 60) && assigned.rejectAt == assigned.createdAt.addingTimeInterval(3_600))
            #expect(assigned.lines.map(\.quantity) == [1])
            #expect(accepted.status == .accepted && accepted.acceptedAt != nil)
            #expect(picking.status == .picking && orderPicking == .picking)
            #expect(out.status == .outForDelivery && orderShipped == .shipped)
            #expect(done.status == .delivered && done.closedAt != nil)
            #expect(try await s.orders.order(o.id, scope: .all).status == .delivered)
            #expect(try await Work.events(s, "fulfillment.assigned").count == 1)
            #expect(try await Work.events(s, "fulfillment.accepted").count == 1)
            #expect(try await Work.events(s, "fulfillment.status_changed").count == 4)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func wrongState_is409_andAnotherStoresClerk_gets404_andNothingIsWritten(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let o = try await Work.releasedDelivery(s)
            let f = try await Work.only(s, o.id)
            let fulfillment = s.services.fulfillment
            let before = try await s.snapshot()
            // act
            let foreign = await #expect(throws: Problem.self) { try await fulfillment.accept(f.id, caller: Work.clerk(s, at: s.b)) }
            let foreignRead = await #expect(throws: Problem.self) { try await fulfillment.fulfillmentOrder(f.id, scope: Work.clerk(s, at: s.b).principal.scope) }
            let tooEarly = await #expect(throws: Problem.self) { try await fulfillment.transition(f.id, to: .packed, note: nil, caller: Work.clerk(s, at: s.a)) }
            let handOver = await #expect(throws: Problem.self) { try await fulfillment.transition(f.id, to: .pickedUp, note: nil, caller: Work.clerk(s, at: s.a)) }
            let noNote = await #expect(throws: Problem.self) { try await fulfillment.reject(f.id, reason: .other, note: nil, caller: Work.clerk(s, at: s.a)) }
            let listedForB = try await fulfillment.fulfillmentOrders(.init(), scope: Work.clerk(s, at: s.b).principal.scope)
            // check
            #expect(foreign?.status == 404 && foreignRead?.status == 404)
            #expect(tooEarly?.status == 409 && tooEarly?.allowed == ["accepted", "rejected"])
            #expect(handOver?.status == 422 && handOver?.errors?.map(\.field) == ["to"])
            #expect(noNote?.status == 422 && noNote?.errors?.map(\.field) == ["note"])
            #expect(listedForB.items.isEmpty)
            #expect(try await s.snapshot() == before)
            #expect(try await fulfillment.fulfillmentOrder(f.id, scope: .all) == f)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func reject_givesTheLinesBackToRouting_whichReleasesTheOrderToAnotherStore(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let o = try await Work.releasedDelivery(s)
            let f = try await Work.only(s, o.id)
            // act
            let rejected = try await s.services.fulfillment.reject(f.id, reason: .other, note: "no courier today", caller: Work.clerk(s, at: s.a))
            // check
            let after = try await s.orders.order(o.id, scope: .all)
            let all = try await Work.fos(s, o.id)
            #expect(rejected.status == .rejected && rejected.reason == "other" && rejected.note == "no courier today")
            #expect(after.status == .released && after.lines[0].locationId == s.b.id)
            // (the test clock stands still: both ids share their time part, so find them by location)
            #expect(all.count == 2 && all.contains { $0.locationId == s.b.id && $0.status == .assigned })
            #expect(all.contains { $0.id == f.id && $0.status == .rejected })
            #expect(try await Work.events(s, "fulfillment.rejected").count == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func sla_escalatesOnce_thenPastTheSecondLimit_rejectsWithSlaExpired_andRoutingTriesElsewhere(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let o = try await Work.releasedDelivery(s)
            let f = try await Work.only(s, o.id)
            let fulfillment = s.services.fulfillment
            // act
            s.clock.advance(by: 29 * 60)
            let early = try await fulfillment.enforceSLA()
            s.clock.advance(by: 2 * 60)
            let late = try await fulfillment.enforceSLA()
            let again = try await fulfillment.enforceSLA()
            s.clock.advance(by: 30 * 60)
            let expired = try await fulfillment.enforceSLA()
            // check
            let counts: [Int] = [early.escalated, early.rejected, late.escalated, late.rejected, again.escalated, again.rejected]
            #expect(counts == [0, 0, 1, 0, 0, 0])
            #expect(try await Work.events(s, "fulfillment.sla_breached").count == 1)
            #expect(expired.rejected == 1)
            let all = try await Work.fos(s, o.id)
            #expect(all[0].id == f.id && all[0].status == .rejected && all[0].reason == "sla_expired" && all[0].escalatedAt != nil)
            #expect(all.count == 2 && all[1].locationId == s.b.id && all[1].status == .assigned)
            #expect(try await s.orders.order(o.id, scope: .all).lines[0].locationId == s.b.id)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func anAcceptedOrder_isNotEscalated_andCancellingTheOrder_cancelsItsFulfilmentOrders(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let o = try await Work.releasedDelivery(s)
            let f = try await Work.only(s, o.id)
            let clerk = Work.clerk(s, at: s.a)
            _ = try await s.services.fulfillment.accept(f.id, caller: clerk)
            // act
            s.clock.advance(by: 2 * 3_600)
            let sla = try await s.services.fulfillment.enforceSLA()
            _ = try await s.orders.cancel(o.id, reason: "customer called", caller: clerk)
            // check
            #expect(sla.escalated == 0 && sla.rejected == 0)
            let cancelled = try await s.services.fulfillment.fulfillmentOrder(f.id, scope: .all)
            #expect(cancelled.status == .cancelled && cancelled.reason == "order_cancelled" && cancelled.note == "customer called")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aRouteDispatchedThroughStoreDelivery_movesTheFulfilmentOrderOutForDelivery(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let o = try await Work.releasedDelivery(s)
            let fulfillment = s.services.fulfillment
            // act
            let plan = try await fulfillment.planDeliveries(.init(store: s.a.code, vehicles: [DeliveryVehicle(id: "scooter", capacity: 4)], timeLimitSeconds: 0.2),
                                                            caller: .system)
            _ = try await fulfillment.dispatch(plan.routes[0].id, caller: .system)
            // check
            #expect(try await Work.only(s, o.id).status == .outForDelivery)
            _ = try await fulfillment.confirmStop(plan.routes[0].id, seq: 1, delivered: true, note: nil, caller: .system)
            #expect(try await Work.only(s, o.id).status == .delivered)
        }
    }
}
