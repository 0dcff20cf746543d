import Foundation
import O2OCore
import O2OInventory
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Placing orders: priced, routed by the brief's policy, held, paid")
struct PlaceOrderTests {
    @Test(arguments: TestDatabase.engines)
    func place_coveringStoreWithTheGoods_deliversIt_overTheWarehouse_andExplainsWhy(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: both covering stores and the warehouse hold the goods
            for loc in [s.a, s.b, s.warehouse] { try await s.receive(s.skus[1], 10, at: loc) }
            try await s.receive(s.skus[2], 10, at: s.b)
            try await s.receive(s.skus[2], 10, at: s.warehouse)
            // act: M alone, then M + L (only B and the warehouse have both)
            let one = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            let two = try await s.orders.place(s.delivery([(s.skus[1], 1), (s.skus[2], 1)]), caller: .system)
            // check
            #expect(one.status == .allocated && one.paymentStatus == .paid && one.total == 2 * 9900 && one.paidTotal == one.total)
            #expect(one.lines.map(\.locationId) == [s.a.id], "the nearest covering store")
            #expect(one.lines.map(\.mode) == [.storeDelivery])
            #expect(two.lines.map(\.locationId) == [s.b.id, s.b.id], "one store with both beats a split and beats the warehouse")
            let routing = try #require(two.routing)
            #expect(routing.rule == "default")
            let wh = try #require(routing.candidates.first { $0.locationId == s.warehouse.id })
            #expect(wh.mode == .carrier && wh.lines == [0, 1] && wh.score != nil)
            let a = try #require(routing.candidates.first { $0.locationId == s.a.id })
            #expect(a.lines == [0], "A lacks the L")
            #expect(try await s.balance(s.skus[1], s.a).reserved == 2)
            #expect(try await s.balance(s.skus[1], s.b).reserved == 1)
            #expect(try await s.orders.order(two.id, scope: .all) == two)
            #expect(two.timeline.map(\.kind) == ["placed", "allocated", "payment"])
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_noCoveringStoreHasIt_shipsByCarrier_andSplitsWhenNoOneHasAll(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: the warehouse has M, store C (ships from store, does not cover) has L
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            try await s.receive(s.skus[2], 5, at: s.c)
            // act
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1), (s.skus[2], 1)]), caller: .system)
            // check
            #expect(o.lines.map(\.locationId) == [s.warehouse.id, s.c.id])
            #expect(o.lines.map(\.mode) == [.carrier, .carrier])
            #expect(o.routing?.policy.contains("split across 2 locations") == true)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_marketplaceRuleWarehousesOnly_skipsStores_andNoSplitRuleRefusesWithAnExplanation(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            try await s.receive(s.skus[1], 5, at: s.warehouse)
            try await s.receive(s.skus[2], 5, at: s.a)
            _ = try await s.orders.setRoutingRule(.init(channel: s.market.code, name: "marketplace: warehouses only", useStores: false,
                                                        maxLocations: 1), caller: .system)
            // act
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)], channel: s.market), caller: .system)
            let before = try await s.snapshot()
            let refused = await #expect(throws: OrdersError.self) {
                try await s.orders.place(s.delivery([(s.skus[1], 1), (s.skus[2], 1)], channel: s.market), caller: .system)
            }
            // check
            #expect(o.lines.map(\.locationId) == [s.warehouse.id] && o.routing?.rule == "marketplace: warehouses only")
            guard case .unroutable(let lines, let decision)? = refused else { Issue.record("expected unroutable"); return }
            #expect(lines == [0, 1] && decision.policy.contains("never split"))
            #expect(refused?.problem.status == 409)
            #expect(try await s.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_manualFallback_acceptsTheOrderOnARoutingHold_withoutHoldingStock(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            _ = try await s.orders.setRoutingRule(.init(channel: nil, name: "queue what cannot be routed", fallback: .manual), caller: .system)
            // act
            let o = try await s.orders.place(s.delivery([(s.skus[0], 1)], paid: false), caller: .system)
            // check
            #expect(o.status == .placed && o.holds == [.routing] && o.reservationId == nil)
            #expect(try await s.count("inventory_reservations") == 0)
            let release = await #expect(throws: Problem.self) { try await s.orders.advance(o.id, to: .released, caller: .system) }
            #expect(release?.status == 409 && release?.allowed == ["allocated", "cancelled"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_pickup_holdsAtThatStore_issuesACode_andHandingOverSellsTheStock(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[3], 3, at: s.b)
            try await s.receive(s.skus[3], 30, at: s.warehouse)
            // act
            var o = try await s.orders.place(.init(channel: s.web.code, method: .pickup, pickupLocation: s.b.code,
                                                   lines: [(s.skus[3], 2)], payments: [(.sandbox, 2 * 9900)]), caller: .system)
            // check
            #expect(o.lines[0].locationId == s.b.id && o.lines[0].mode == .pickup && o.pickupLocationId == s.b.id)
            let code = try #require(o.pickupCode)
            #expect(code.count == 6)
            for next in [OrderStatus.released, .picking, .readyForPickup] { o = try await s.orders.advance(o.id, to: next, caller: .system) }
            let wrong = await #expect(throws: Problem.self) {
                try await s.orders.advance(o.id, to: .pickedUp, pickupCode: code == "000000" ? "111111" : "000000", caller: .system)
            }
            #expect(wrong?.status == 422)
            o = try await s.orders.advance(o.id, to: .pickedUp, pickupCode: code, caller: .system)
            let b = try await s.balance(s.skus[3], s.b)
            #expect(o.status == .pickedUp && b.onHand == 1 && b.reserved == 0)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func cancel_beforeRelease_givesTheStockBack_andRefunds_afterReleaseOnlyTheLocationMay(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 4, at: s.a)
            let early = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            var late = try await s.orders.place(s.delivery([(s.skus[1], 2)]), caller: .system)
            late = try await s.orders.advance(late.id, to: .released, caller: .system)
            // act
            let cancelled = try await s.orders.cancel(early.id, reason: "customer changed their mind", caller: .system)
            let hq = await #expect(throws: Problem.self) { try await s.orders.cancel(late.id, reason: "try", caller: .system) }
            let storeManager = Caller(.init(id: "usr_m", kind: .user, name: "manager", role: .storeManager,
                                            scope: .location(s.a.id, organisation: s.a.organisationId)))
            let byStore = try await s.orders.cancel(late.id, reason: "damaged on the shelf", caller: storeManager)
            let again = await #expect(throws: Problem.self) { try await s.orders.cancel(early.id, reason: "twice", caller: .system) }
            // check
            #expect(cancelled.status == .cancelled && cancelled.paymentStatus == .refunded && cancelled.payments[0].refunded == 2 * 9900)
            #expect(hq?.status == 409)
            #expect(byStore.status == .cancelled)
            #expect(again?.status == 409 && again?.allowed == [])
            #expect(try await s.balance(s.skus[1], s.a).reserved == 0)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func unpaidOrder_isCancelledWhenItsPaymentWindowCloses_andItsStockReturns(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 1, at: s.a)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)], paid: false), caller: .system)
            #expect(o.paymentStatus == .pending && o.status == .allocated)
            #expect(try await s.orders.cancelUnpaid() == 0)
            // act
            s.clock.advance(by: Double(OrderService.defaultPaymentWindow + 1))
            let n = try await s.orders.cancelUnpaid()
            // check
            #expect(n == 1)
            #expect(try await s.orders.order(o.id, scope: .all).status == .cancelled)
            #expect(try await s.balance(s.skus[1], s.a).available == 1)
            let release = await #expect(throws: Problem.self) { try await s.orders.advance(o.id, to: .released, caller: .system) }
            #expect(release?.status == 409)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_badInput_is4xx_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 5, at: s.a)
            _ = try await s.orders.place(s.delivery([(s.skus[1], 1)], externalId: "W-1"), caller: .system)
            let before = try await s.snapshot()
            // act
            let zero = await #expect(throws: Problem.self) { try await s.orders.place(s.delivery([(s.skus[1], 0)], paid: false), caller: .system) }
            let unknown = await #expect(throws: Problem.self) { try await s.orders.place(s.delivery([("NO-SUCH-SKU", 1)]), caller: .system) }
            var noAddress = s.delivery([(s.skus[1], 1)])
            noAddress.address = nil
            let address = await #expect(throws: Problem.self) { try await s.orders.place(noAddress, caller: .system) }
            var pickupAtWarehouse = s.delivery([(s.skus[1], 1)])
            pickupAtWarehouse.method = .pickup
            pickupAtWarehouse.address = nil
            pickupAtWarehouse.pickupLocation = s.warehouse.code
            let pickup = await #expect(throws: Problem.self) { try await s.orders.place(pickupAtWarehouse, caller: .system) }
            var short = s.delivery([(s.skus[1], 1)])
            short.payments = [(.sandbox, 9000)]
            let sum = await #expect(throws: Problem.self) { try await s.orders.place(short, caller: .system) }
            let duplicate = await #expect(throws: Problem.self) { try await s.orders.place(s.delivery([(s.skus[1], 1)], externalId: "W-1"), caller: .system) }
            var stale = s.delivery([(s.skus[1], 1)])
            stale.expectedTotal = 8900
            let total = await #expect(throws: Problem.self) { try await s.orders.place(stale, caller: .system) }
            // check
            #expect(zero?.status == 422 && zero?.fields == ["lines[0].quantity"])
            #expect(unknown?.status == 422 && unknown?.fields == ["lines[0].sku"])
            #expect(address?.status == 422 && address?.fields == ["address"])
            #expect(pickup?.status == 422 && pickup?.fields == ["pickupLocationId"])
            #expect(sum?.status == 422 && sum?.fields == ["payments"])
            #expect(duplicate?.status == 409 && duplicate?.fields == ["externalId"])
            #expect(total?.status == 409 && total?.fields == ["expectedTotal"])
            #expect(try await s.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_300ConcurrentOrdersFor100UnitsAcross3Stores_sellExactly100_andEveryRefusalSaysWhy(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 40 + 35 + 25 units in the three stores that can send to the customer
            try await s.receive(s.skus[0], 40, at: s.a)
            try await s.receive(s.skus[0], 35, at: s.b)
            try await s.receive(s.skus[0], 25, at: s.c)
            // act: 300 orders of one unit at once, each paid
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<300 {
                    group.addTask {
                        do {
                            let o = try await s.orders.place(s.delivery([(s.skus[0], 1)], externalId: "T-\(i)"), caller: .system)
                            return o.status == .allocated && o.paymentStatus == .paid ? "ok" : "odd \(o.status)"
                        } catch let e as OrdersError {
                            return e.problem.status == 409 && e.problem.type.hasSuffix("unroutable") ? "refused" : "bad \(e)"
                        } catch let e as InventoryError {
                            return "raced \(e)"
                        }
                    }
                }
                var all: [String] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check
            #expect(outcomes.filter { $0 == "ok" }.count == 100, "\(Set(outcomes))")
            #expect(outcomes.filter { $0 == "refused" }.count == 200, "\(Set(outcomes))")
            for loc in [s.a, s.b, s.c] {
                let b = try await s.balance(s.skus[0], loc)
                #expect(b.onHand == b.reserved, "\(loc.code): every unit held, none twice")
            }
            #expect(try await s.count("orders") == 100)
            let report = try await s.inventory.verify()
            #expect(report.ok, "\(report.mismatches) \(report.negative)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func place_theSameChannelOrderTenTimesAtOnce_placesItOnce_andTheRestAreDuplicates(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await s.receive(s.skus[1], 50, at: s.a)
            // act
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do { _ = try await s.orders.place(s.delivery([(s.skus[1], 1)], externalId: "TM-7"), caller: .system); return "ok" }
                        catch let p as Problem where p.status == 409 && p.type.hasSuffix("duplicate") { return "duplicate" }
                    }
                }
                var all: [String] = []
                for try await o in group { all.append(o) }
                return all
            }
            // check
            #expect(outcomes.filter { $0 == "ok" }.count == 1 && outcomes.filter { $0 == "duplicate" }.count == 9)
            #expect(try await s.count("orders") == 1)
            #expect(try await s.balance(s.skus[1], s.a).reserved == 1)
        }
    }
}
