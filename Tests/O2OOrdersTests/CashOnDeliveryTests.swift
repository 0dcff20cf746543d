import Foundation
import O2OCore
import O2OOrders
import O2OTestSupport
import Testing

@Suite("Cash on delivery: collected at the door, owed by the collector until remitted")
struct CashOnDeliveryTests {
    @Test(arguments: TestDatabase.engines)
    func remit_theExactAmount_settlesWhatTheStoreCollected_andAWrongAmountOrASecondRemittanceIsRefused(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: two cash-on-delivery orders delivered by store A's courier, one still on its way
            try await s.receive(s.skus[1], 5, at: s.a)
            var ids: [String] = []
            for n in 1...3 {
                var new = s.delivery([(s.skus[1], 1)], paid: false)
                new.payments = [(tender: .cod, amount: 9_900)]
                let o = try await s.orders.place(new, caller: .system)
                for next in [OrderStatus.released, .picking, .shipped] + (n < 3 ? [.delivered] : []) {
                    _ = try await s.orders.advance(o.id, to: next, caller: .system)
                }
                ids.append(o.payments[0].id)
            }
            // act
            let due = try await s.orders.cashOnDeliveryDue(collector: s.a.code, scope: .all)
            let before = try await s.snapshot()
            var short: Problem?
            do { _ = try await s.orders.remitCashOnDelivery(collector: s.a.code, payments: Array(ids.prefix(2)), amount: 9_900, reference: "R-1",
                                                           caller: .system) } catch let p as Problem { short = p }
            let unchanged = try await s.snapshot()
            let r = try await s.orders.remitCashOnDelivery(collector: s.a.code, payments: Array(ids.prefix(2)), amount: 19_800, reference: "R-1",
                                                           caller: .system)
            var again: Problem?
            do { _ = try await s.orders.remitCashOnDelivery(collector: s.a.code, payments: [ids[0]], amount: 9_900, reference: "R-2",
                                                           caller: .system) } catch let p as Problem { again = p }
            // check
            #expect(Set(due.map(\.paymentId)) == Set(ids.prefix(2)), "the third is not delivered: nothing collected yet")
            #expect(due.allSatisfy { $0.collectorId == s.a.id && $0.amount == 9_900 })
            #expect(short?.status == 409 && short?.type.hasSuffix("remittance-mismatch") == true && short?.detail?.contains("-9900") == true)
            #expect(unchanged == before, "a wrong amount records nothing")
            #expect(r.amount == 19_800 && r.payments == Array(ids.prefix(2)) && r.collectorId == s.a.id)
            #expect(try await s.orders.cashOnDeliveryDue(collector: s.a.code, scope: .all).isEmpty)
            #expect(again?.status == 422 && again?.fields == ["paymentIds[0]"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func cancelLines_ofACashOnDeliveryOrder_lowersWhatTheCourierCollects_andRefundsNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 3 units, ¥99 each, all cash on delivery
            try await s.receive(s.skus[1], 5, at: s.a)
            var new = s.delivery([(s.skus[1], 3)], paid: false)
            new.payments = [(tender: .cod, amount: 29_700)]
            let o = try await s.orders.place(new, caller: .system)
            // act
            let cut = try await s.orders.cancelLines(o.id, lines: [(line: 0, quantity: 1)], reason: "customer wants two", caller: .system)
            for next in [OrderStatus.released, .picking, .shipped, .delivered] { _ = try await s.orders.advance(o.id, to: next, caller: .system) }
            // check
            #expect(cut.payments[0].amount == 19_800 && cut.payments[0].refunded == 0 && cut.paymentStatus == .codDue)
            let due = try await s.orders.cashOnDeliveryDue(collector: s.a.code, scope: .all)
            #expect(due.map(\.amount) == [19_800], "the courier collects what is left, not what was ordered")
            #expect(try await s.orders.order(o.id, scope: .all).paymentStatus == .paid)
        }
    }
}
