import Foundation
import O2OCore
import O2OInventory
import O2ONetwork
import O2OOrders
import O2OTestSupport
import SQLKit
import Testing

@Suite("Orders on a routing hold are routed again or by hand; a candidate rule is simulated against existing orders")
struct ManualRoutingTests {
    static let planner = Caller(.init(id: "usr_planner", kind: .user, name: "Li Planner", role: .hqAdmin, scope: .all))

    /// The web channel falls back to a person when nobody can take an order.
    static func manualFallback(_ s: Shop) async throws {
        _ = try await s.orders.setRoutingRule(.init(channel: s.web.code, name: "web: queue for a person", fallback: .manual), caller: .system)
    }

    static func events(_ s: Shop, _ orderId: String) async throws -> [String] {
        try await s.db.read { sql in
            try await sql.raw("SELECT event_type FROM outbox_events WHERE entity_id = \(bind: orderId)").all()
                .map { try $0.decode(column: "event_type", as: String.self) }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func route_afterStockArrives_allocatesByTheChannelsRule_liftsTheHold_andHoldsTheStock(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: nothing in stock, so the order waits on a routing hold
            try await Self.manualFallback(s)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            #expect(o.holds == [.routing] && o.status == .placed && o.reservationId == nil && o.lines[0].locationId == nil)
            let stillNothing = await #expect(throws: OrdersError.self) { try await s.orders.route(o.id, note: nil, caller: Self.planner) }
            #expect(stillNothing?.problem.status == 409 && stillNothing?.problem.type.hasSuffix("unroutable") == true)
            // act: the stock arrives at A
            try await s.receive(s.skus[1], 5, at: s.a)
            let r = try await s.orders.route(o.id, note: "delivery note DN-1 received", caller: Self.planner)
            // check
            #expect(r.status == .allocated && r.holds.isEmpty)
            #expect(r.lines[0].locationId == s.a.id && r.lines[0].mode == .storeDelivery)
            let reservation = try await s.inventory.reservation(try #require(r.reservationId), scope: .all)
            #expect(reservation.status == .active && reservation.lines.map(\.quantity) == [2])
            let a = try await s.balance(s.skus[1], s.a)
            #expect(a.reserved == 2 && a.available == 3)
            let routing = try #require(r.routing)
            #expect(routing.rule == "web: queue for a person" && routing.assignments == [0: s.a.id])
            #expect(routing.policy.contains("Li Planner"))
            #expect(routing.candidates.first { $0.locationId == s.a.id }?.score != nil)
            let entry = try #require(r.timeline.last)
            #expect(entry.kind == "routed" && entry.actorId == "usr_planner" && entry.status == .allocated)
            #expect(entry.note?.contains("ST-A") == true && entry.note?.contains("Li Planner") == true)
            #expect(try await Self.events(s, r.id).contains("order.routed"))
            #expect(try await s.orders.order(r.id, scope: .all) == r)
            #expect(try await s.inventory.verify().ok)
            let released = try await s.orders.advance(r.id, to: .released, caller: .system)
            #expect(released.status == .released)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func route_afterRejections_neverGoesBackToARejectingLocation(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: A takes the order, then rejects it (other); nobody else has it, so it waits
            try await s.receive(s.skus[1], 5, at: s.a)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            let held = try await s.orders.reject(o.id, location: s.a.code, reason: .other, note: "no driver today", caller: .system)
            #expect(held.holds == [.routing])
            // act: A still has stock, but rejected this order; the warehouse receives some
            let refused = await #expect(throws: OrdersError.self) { try await s.orders.route(o.id, note: nil, caller: Self.planner) }
            try await s.receive(s.skus[1], 3, at: s.warehouse)
            let r = try await s.orders.route(o.id, note: nil, caller: Self.planner)
            // check
            guard case .unroutable(_, let decision)? = refused else { Issue.record("expected unroutable"); return }
            #expect(decision.candidates.first { $0.locationId == s.a.id }?.excluded?.contains("rejected this order") == true)
            #expect(r.lines[0].locationId == s.warehouse.id && r.lines[0].mode == .carrier && r.holds.isEmpty && r.status == .allocated)
            #expect(r.routing?.candidates.first { $0.locationId == s.a.id }?.excluded?.contains("rejected this order") == true)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 0)
            #expect(try await s.balance(s.skus[1], s.warehouse).reserved == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func routeTo_aNamedStoreWithTheStock_assignsTheLinesThere_withRuleManual_andThePerson(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: held; then A (nearest) and C (ships from store) both get stock
            try await Self.manualFallback(s)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 2), (s.skus[2], 1)]), caller: .system)
            #expect(o.holds == [.routing])
            for sku in [s.skus[1], s.skus[2]] {
                try await s.receive(sku, 5, at: s.a)
                try await s.receive(sku, 5, at: s.c)
            }
            // act: the planner sends it from C
            let r = try await s.orders.route(o.id, to: s.c.code, note: "A is short of staff", caller: Self.planner)
            // check
            #expect(r.lines.map(\.locationId) == [s.c.id, s.c.id] && r.lines.map(\.mode) == [.carrier, .carrier])
            #expect(r.status == .allocated && r.holds.isEmpty)
            let routing = try #require(r.routing)
            #expect(routing.rule == "manual" && routing.assignments == [0: s.c.id, 1: s.c.id])
            #expect(routing.policy.contains("Li Planner") && routing.policy.contains("ST-C") && routing.policy.contains("A is short of staff"))
            #expect(routing.candidates.map(\.locationId) == [s.c.id])
            #expect(try await s.balance(s.skus[1], s.c).reserved == 2)
            #expect(try await s.balance(s.skus[2], s.c).reserved == 1)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 0)
            #expect(r.timeline.last?.kind == "routed" && r.timeline.last?.note?.contains("by hand") == true)
            #expect(r.timeline.last?.note?.contains("ST-C") == true)
            #expect(try await Self.events(s, r.id).contains("order.routed"))
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func routeTo_aStoreWithoutTheStock_is409Unroutable_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: held; only A gets the stock
            try await Self.manualFallback(s)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            try await s.receive(s.skus[1], 5, at: s.a)
            let before = try await s.snapshot()
            // act
            let short = await #expect(throws: OrdersError.self) { try await s.orders.route(o.id, to: s.b.code, note: nil, caller: Self.planner) }
            let unknown = await #expect(throws: Problem.self) { try await s.orders.route(o.id, to: "ST-NOWHERE", note: nil, caller: Self.planner) }
            let otherStore = await #expect(throws: Problem.self) {
                try await s.orders.route(o.id, to: s.a.code, note: nil,
                                         caller: Caller(.init(id: "usr_b", kind: .user, name: "B", role: .storeManager, scope: .location(s.b.id, organisation: s.b.organisationId))))
            }
            // check
            guard case .unroutable(let lines, let decision)? = short else { Issue.record("expected unroutable"); return }
            #expect(short?.problem.status == 409 && lines == [0])
            #expect(decision.rule == "manual" && decision.candidates.map(\.locationId) == [s.b.id])
            #expect(decision.candidates.first?.excluded != nil)
            #expect(unknown?.status == 422 && unknown?.fields == ["locationId"])
            #expect(otherStore?.status == 404, "B's staff do not see an order nobody sources yet")
            #expect(try await s.snapshot() == before)
            #expect(try await s.orders.order(o.id, scope: .all) == o)
            #expect(try await s.balance(s.skus[1], s.b).reserved == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func route_anOrderNotOnARoutingHold_is409_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            #expect(o.status == .allocated && o.holds.isEmpty)
            let before = try await s.snapshot()
            // act
            let again = await #expect(throws: Problem.self) { try await s.orders.route(o.id, note: nil, caller: Self.planner) }
            let byHand = await #expect(throws: Problem.self) { try await s.orders.route(o.id, to: s.b.code, note: nil, caller: Self.planner) }
            let missing = await #expect(throws: Problem.self) { try await s.orders.route("ord_missing", note: nil, caller: Self.planner) }
            // check
            #expect(again?.status == 409 && again?.type.hasSuffix("not-on-routing-hold") == true && again?.detail?.contains("routing hold") == true)
            #expect(byHand?.status == 409)
            #expect(missing?.status == 404)
            #expect(try await s.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func simulate_aWarehouseOnlyRule_againstTheDefault_flagsWhatWouldChange_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: M at A and the warehouse; only A has the one L; B has the XL for a pickup
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            try await s.receive(s.skus[2], 1, at: s.a)
            try await s.receive(s.skus[3], 2, at: s.b)
            let tee = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            let last = try await s.orders.place(s.delivery([(s.skus[2], 1)]), caller: .system)
            let pickup = try await s.orders.place(.init(channel: s.web.code, method: .pickup, pickupLocation: s.b.code, lines: [(s.skus[3], 1)],
                                                        payments: [(.sandbox, 9900)]), caller: .system)
            #expect([tee, last].map { $0.lines[0].locationId } == [s.a.id, s.a.id] && pickup.lines[0].locationId == s.b.id)
            let ids = [tee.id, last.id, pickup.id]
            let rules = try await s.count("order_routing_rules")
            let before = try await s.snapshot()
            // act
            let same = try await s.orders.simulate(rule: .init(channel: nil, name: "default"), orders: ids, caller: Self.planner)
            let warehouses = try await s.orders.simulate(rule: .init(channel: s.web.code, name: "web: warehouses only", useStores: false),
                                                         orders: ids, caller: Self.planner)
            let badRule = await #expect(throws: Problem.self) {
                try await s.orders.simulate(rule: .init(channel: nil, name: "", maxLocations: 0), orders: ids, caller: Self.planner)
            }
            let badOrders = await #expect(throws: Problem.self) {
                try await s.orders.simulate(rule: .init(channel: s.market.code, name: "m"), orders: [tee.id, "ord_missing"], caller: Self.planner)
            }
            // check: the default decides as it did (each order's own held units count as available to it)
            #expect(same.map(\.changed) == [false, false, false])
            #expect(same.map(\.simulated) == [[0: "ST-A"], [0: "ST-A"], [0: "ST-B"]])
            #expect(RoutingSimulationSummary(same).changed == 0)
            // the warehouse-only rule: the tee moves to the warehouse, the last L has nowhere to go, the pickup stays
            #expect(warehouses.map(\.orderId) == ids)
            #expect(warehouses.map(\.current) == [[0: "ST-A"], [0: "ST-A"], [0: "ST-B"]])
            #expect(warehouses.map(\.simulated) == [[0: "WH-1"], [:], [0: "ST-B"]])
            #expect(warehouses.map(\.changed) == [true, true, false])
            #expect(warehouses.map(\.unplaced) == [[], [0], []])
            #expect(warehouses[0].decision.rule == "web: warehouses only" && warehouses[0].decision.assignments == [0: s.warehouse.id])
            #expect(warehouses[0].decision.candidates.contains { $0.locationId == s.warehouse.id && $0.score != nil })
            #expect(!warehouses[0].decision.candidates.contains { $0.locationId == s.a.id }, "stores are not weighed")
            let summary = RoutingSimulationSummary(warehouses)
            #expect(summary.orders == 3 && summary.changed == 2 && summary.unroutable == 1 && summary.split == 0)
            #expect(summary.locations == ["WH-1": 1, "ST-B": 1])
            #expect(badRule?.status == 422 && badRule?.fields == ["rule.name", "rule.maxLocations"])
            #expect(badOrders?.status == 422 && badOrders?.fields == ["orderIds[0]", "orderIds[1]"], "\(String(describing: badOrders))")
            // nothing written
            #expect(try await s.snapshot() == before)
            #expect(try await s.count("order_routing_rules") == rules)
            #expect(try await s.orders.order(tee.id, scope: .all) == tee)
            #expect(try await s.balance(s.skus[1], s.warehouse).reserved == 0)
        }
    }
}
