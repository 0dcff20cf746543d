import Foundation
import O2OCore
import O2OInventory
import O2OOrders
import O2OTestSupport
import SQLKit
import Testing

@Suite("Routing rules: steps over location groups, the fallback chain, auto-cancel, and marketplace statuses told back")
struct RoutingRuleTests {
    /// Web orders go to store B first, then to any warehouse, then wait for a person.
    static func bThenWarehouses(_ s: Shop, autoCancelAfterDays: Int? = nil) async throws -> RoutingRule {
        try await s.orders.setRoutingRule(.init(
            channel: s.web.code, name: "store B first", useWarehouses: false, locations: LocationGroup(locations: ["ST-B"]),
            next: [RoutingStep(name: "warehouses", useStores: false)], fallback: .manual, autoCancelAfterDays: autoCancelAfterDays), caller: .system)
    }

    static func events(_ s: Shop, _ type: String) async throws -> [String] {
        try await s.db.read { sql in
            try await sql.raw("SELECT payload FROM outbox_events WHERE event_type = \(bind: type) ORDER BY id").all()
                .map { try $0.decode(column: "payload", as: String.self) }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_byARuleWithSteps_usesTheFirstStepThatCanPlaceIt_andSaysWhichStepDecided(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: A (nearest) and the warehouse have the goods, B has none
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            let rule = try await Self.bThenWarehouses(s)
            // act
            let toWarehouse = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            try await s.receive(s.skus[1], 5, at: s.b)
            let toB = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            let listed = try await s.orders.routingRules()
            // check
            #expect(toWarehouse.lines[0].locationId == s.warehouse.id && toWarehouse.routing?.step == "warehouses")
            #expect(toWarehouse.routing?.policy.contains("tried first: 'store B first' (could not place line(s) 0)") == true)
            #expect(toWarehouse.routing?.candidates.contains { $0.locationId == s.a.id } == false, "A is in no step's group")
            #expect(toB.lines[0].locationId == s.b.id && toB.routing?.step == "store B first")
            #expect(listed == [rule] && rule.steps.map(\.name) == ["store B first", "warehouses"] && rule.version == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func setRoutingRule_badStepsGroupsOrAutoCancel_is422NamingEachField_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let before = try await [s.count("order_routing_rules"), s.count("audit_events")]
            // act
            let error = await #expect(throws: Problem.self) {
                try await s.orders.setRoutingRule(.init(
                    channel: s.web.code, name: "bad", locations: LocationGroup(locations: ["NO-SUCH"], regions: ["31"]),
                    next: [RoutingStep(name: "bad"), RoutingStep(name: "none", useStores: false, useWarehouses: false, locations: LocationGroup()),
                           RoutingStep(name: "wide", maxLocations: 0)],
                    fallback: .reject, autoCancelAfterDays: 3), caller: .system)
            }
            // check
            #expect(error?.status == 422)
            #expect(error?.fields == ["locations.locations[0]", "locations.regions[0]", "next[0].name", "next[1].useStores", "next[1].locations",
                                      "next[2].maxLocations", "autoCancelAfterDays"])
            #expect(try await [s.count("order_routing_rules"), s.count("audit_events")] == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func cancelUnrouted_afterTheRulesDays_cancelsAndRefundsTheWaitingOrder_butNotOneRoutedMeanwhile(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: no stock anywhere, so both orders wait on a routing hold
            _ = try await Self.bThenWarehouses(s, autoCancelAfterDays: 2)
            let waiting = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            let routed = try await s.orders.place(s.delivery([(s.skus[2], 1)]), caller: .system)
            #expect(waiting.holds == [.routing] && waiting.paymentStatus == .paid && routed.holds == [.routing])
            // act
            s.clock.advance(by: 86_400)
            let early = try await s.orders.cancelUnrouted()
            try await s.receive(s.skus[2], 3, at: s.warehouse)
            _ = try await s.orders.route(routed.id, note: nil, caller: .system)
            s.clock.advance(by: 86_400)
            let due = try await s.orders.cancelUnrouted()
            let again = try await s.orders.cancelUnrouted()
            // check
            #expect(early == 0 && due == 1 && again == 0)
            let cancelled = try await s.orders.order(waiting.id, scope: .all)
            #expect(cancelled.status == .cancelled && cancelled.paymentStatus == .refunded)
            #expect(cancelled.timeline.last { $0.kind == "cancelled" }?.note == "not routed within 2 day(s) (rule 'store B first')")
            #expect(try await s.orders.order(routed.id, scope: .all).status == .allocated)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func marketplaceOrder_shippedThenDelivered_tellsTheMarketplaceInItsOwnWords_onceForEachOfItsStates(_ engine: DatabaseEngine) async throws {
        try await MarketplaceIntakeTests.shop(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            let placed = try await s.orders.importMarketplaceOrders(MarketplaceIntakeTests.trade("3786212345678909999"), adapter: TmallAdapter(),
                                                                    channel: s.market.code, caller: .system)
            let o = try #require(placed.first?.order)
            // act
            for next in [OrderStatus.released, .picking, .shipped, .delivered] {
                s.clock.advance(by: 3_600)
                _ = try await s.orders.advance(o.id, to: next, caller: .system)
            }
            // check
            #expect(o.payments.map(\.provider) == ["tmall"])
            let told = try await Self.events(s, "order.marketplace_status").map {
                try JSONDecoder().decode(MarketplaceStatusChange.self, from: Data($0.utf8))
            }
            #expect(told.map(\.externalStatus) == ["WAIT_BUYER_CONFIRM_GOODS", "TRADE_FINISHED"])
            #expect(told.map(\.previousExternalStatus) == ["WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_CONFIRM_GOODS"])
            #expect(told.allSatisfy { $0.externalId == "3786212345678909999" && $0.marketplace == "tmall" && $0.orderId == o.id })
            #expect(told.map(\.status) == [.shipped, .delivered])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func webOrder_movingOn_tellsNoMarketplace(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            // act
            for next in [OrderStatus.released, .picking, .shipped] { _ = try await s.orders.advance(o.id, to: next, caller: .system) }
            // check
            #expect(try await Self.events(s, "order.marketplace_status").isEmpty)
        }
    }
}
