import Foundation
import O2OCore
import O2OFulfillment
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Store pickup (到店自提 核销): the customer told the code, verified at the counter, rate-limited, expired when uncollected")
struct PickupTests {
    @Test(arguments: TestDatabase.engines)
    func ready_notifiesTheCustomerWithTheCode_thenVerifyByCodeAndLast4_handsOver_withProof(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let (o, ready) = try await Work.readyPickup(s)
            let code = try #require(o.pickupCode)
            let clerk = Work.clerk(s, at: s.a)
            // act
            let done = try await s.services.fulfillment.verifyPickup(.init(location: s.a.code, code: code, phone: "8000",
                                                                           photoUrl: "https://files.example/handover.jpg"), caller: clerk)
            // check
            #expect(o.status == .readyForPickup && ready.status == .readyForPickup)
            #expect(ready.pickupExpiresAt == ready.readyAt?.addingTimeInterval(7 * 86_400))
            let notices = try await Work.events(s, "fulfillment.pickup_ready")
            #expect(notices.count == 1 && notices[0].contains(code) && notices[0].contains("+8613800138000") && notices[0].contains("取货码"))
            #expect(done.status == .pickedUp && done.handover?.clerkId == clerk.principal.id && done.handover?.method == .codePhone)
            #expect(done.handover?.photoUrl == "https://files.example/handover.jpg" && done.handover?.at != nil)
            #expect(try await s.services.fulfillment.fulfillmentOrder(done.id, scope: .all).handover == done.handover)
            #expect(try await s.orders.order(o.id, scope: .all).status == .pickedUp)
            #expect(try await Work.events(s, "fulfillment.picked_up").count == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func scanningTheOrder_insteadOfThePhone_handsOver_asScan(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            let (o, _) = try await Work.readyPickup(s)
            let done = try await s.services.fulfillment.verifyPickup(.init(location: s.a.id, code: o.pickupCode!, orderId: o.id), caller: Work.clerk(s, at: s.a))
            #expect(done.handover?.method == .scan && done.status == .pickedUp)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func wrongCodes_areAuditedEach_andAfterFive_theCounterGets429_withTheWait(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let (o, f) = try await Work.readyPickup(s)
            let clerk = Work.clerk(s, at: s.a)
            let wrong = o.pickupCode == "000000" ? "111111" : "000000"
            let fulfillment = s.services.fulfillment
            // act
            var statuses: [Int] = []
            for _ in 0..<5 {
                do { _ = try await fulfillment.verifyPickup(.init(location: s.a.code, code: wrong, phone: "8000"), caller: clerk) } catch let p as Problem {
                    statuses.append(p.status)
                }
            }
            var retryAfter: Int?
            do { _ = try await fulfillment.verifyPickup(.init(location: s.a.code, code: o.pickupCode!, phone: "8000"), caller: clerk) } catch let e as FulfillmentError {
                retryAfter = e.retryAfter
                statuses.append(e.problem.status)
            }
            let wrongPhone = await #expect(throws: Problem.self) {
                try await fulfillment.verifyPickup(.init(location: s.a.code, code: o.pickupCode!, phone: "1234"), caller: Work.clerk(s, at: s.a, id: "usr_other"))
            }
            s.clock.advance(by: 601)
            let later = try await fulfillment.verifyPickup(.init(location: s.a.code, code: o.pickupCode!, phone: "8000"), caller: clerk)
            // check
            #expect(statuses == [422, 422, 422, 422, 422, 429])
            #expect(retryAfter.map { $0 > 0 && $0 <= 600 } == true)
            #expect(wrongPhone?.status == 422, "a right code with the wrong phone is a failure too")
            #expect(try await Work.audits(s, action: "pickup_verify_failed") == 6)
            #expect(try await s.count("pickup_verify_failures") == 6)
            #expect(later.id == f.id && later.status == .pickedUp)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aCodeForAnotherStore_is422_andHandsNothingOver_andAStoreOutsideScopeIs404(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let (o, f) = try await Work.readyPickup(s)
            let fulfillment = s.services.fulfillment
            // act
            let elsewhere = await #expect(throws: Problem.self) {
                try await fulfillment.verifyPickup(.init(location: s.b.code, code: o.pickupCode!, phone: "8000"), caller: Work.clerk(s, at: s.b))
            }
            let outside = await #expect(throws: Problem.self) {
                try await fulfillment.verifyPickup(.init(location: s.a.code, code: o.pickupCode!, phone: "8000"), caller: Work.clerk(s, at: s.b))
            }
            let bad = await #expect(throws: Problem.self) {
                try await fulfillment.verifyPickup(.init(location: s.a.code, code: "12ab", phone: "12"), caller: Work.clerk(s, at: s.a))
            }
            // check
            #expect(elsewhere?.status == 422 && elsewhere?.errors?.map(\.field) == ["code"])
            #expect(outside?.status == 404)
            #expect(bad?.status == 422 && bad?.errors?.map(\.field) == ["code", "phone"])
            #expect(try await fulfillment.fulfillmentOrder(f.id, scope: .all) == f)
            #expect(try await s.orders.order(o.id, scope: .all).status == .readyForPickup)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func twoClerksVerifyingTheSamePickupAtOnce_handOverExactlyOnce(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let (o, _) = try await Work.readyPickup(s)
            let fulfillment = s.services.fulfillment
            let code = o.pickupCode!
            // act
            let outcomes = await withTaskGroup(of: Int.self) { group in
                for i in 0..<2 {
                    group.addTask {
                        do {
                            _ = try await fulfillment.verifyPickup(.init(location: s.a.code, code: code, phone: "8000"),
                                                                   caller: Work.clerk(s, at: s.a, id: "usr_clerk\(i)"))
                            return 200
                        } catch let p as Problem { return p.status } catch { return 500 }
                    }
                }
                var all: [Int] = []
                for await x in group { all.append(x) }
                return all.sorted()
            }
            // check: the loser either saw it already handed over (409) or no longer waiting (422)
            #expect(outcomes.filter { $0 == 200 }.count == 1 && outcomes.allSatisfy { [200, 409, 422].contains($0) }, "\(outcomes)")
            #expect(try await Work.events(s, "fulfillment.picked_up").count == 1)
            #expect(try await s.orders.order(o.id, scope: .all).status == .pickedUp)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func anUncollectedPickup_expiresAfterSevenDays_cancelledWithStockBack_andRefunded(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            let (o, f) = try await Work.readyPickup(s)
            let fulfillment = s.services.fulfillment
            let held = try await s.balance(s.skus[1], s.a)
            // act
            s.clock.advance(by: 6 * 86_400)
            let early = try await fulfillment.expirePickups()
            s.clock.advance(by: 86_400 + 1)
            let expired = try await fulfillment.expirePickups()
            let again = try await fulfillment.expirePickups()
            // check
            #expect(early == 0 && expired == 1 && again == 0)
            let after = try await s.orders.order(o.id, scope: .all)
            #expect(after.status == .cancelled && after.paymentStatus == .refunded)
            #expect(after.timeline.contains { $0.kind == "cancelled" && $0.note?.contains("pickup expired") == true })
            let closed = try await fulfillment.fulfillmentOrder(f.id, scope: .all)
            #expect(closed.status == .cancelled && closed.note?.contains("not collected within 7 day(s)") == true)
            let back = try await s.balance(s.skus[1], s.a)
            #expect(back.reserved == held.reserved - 1 && back.available == held.available + 1)
            #expect(try await s.inventory.verify().ok)
        }
    }
}
