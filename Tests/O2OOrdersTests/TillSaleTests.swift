import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2OOrders
import O2OTestSupport
import Testing

@Suite("POS sales intake: sales that already happened at the till")
struct TillSaleTests {
    /// A POS channel beside the shop's web and marketplace ones.
    static func pos(_ s: Shop) async throws -> SalesChannel {
        try await s.services.catalog.createChannel(code: "ORD-POS", name: "门店POS", kind: .pos, currency: nil, caller: .system)
    }

    static func sale(_ s: Shop, _ id: String, at: Date, _ lines: [(sku: String, quantity: Int)], price: Int64 = 9900,
                     tender: Tender = .cash) -> TillSale {
        let total = Int64(lines.reduce(0) { $0 + $1.quantity }) * price
        return TillSale(transactionId: id, location: s.a.code, registerId: "R1", clerkId: "clerk-7", soldAt: at,
                        lines: lines.map { (sku: $0.sku, quantity: $0.quantity, unitPrice: price) }, payments: [(tender: tender, amount: total)])
    }

    @Test(arguments: TestDatabase.engines)
    func record_aSale_isACompletedPaidOrder_andSellsTheStockAtTheStore_atTheTimeItHappened(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 5, at: s.a)
            let soldAt = s.clock.instant().addingTimeInterval(-3_600)
            // act: the till charged ¥89 instead of the catalog's ¥99 (its own markdown)
            let r = try await s.orders.recordTillSales([Self.sale(s, "T-1", at: soldAt, [(s.skus[1], 2)], price: 8900, tender: .card)], caller: .system)
            // check
            #expect(r.count == 1 && r[0].outcome == .recorded && r[0].short.isEmpty && r[0].problem == nil)
            let o = try #require(r[0].order)
            #expect(o.status == .completed && o.paymentStatus == .paid && o.total == 17_800 && o.paidTotal == 17_800)
            #expect(o.externalId == "ST-A/T-1" && o.attributedLocationId == s.a.id && o.attributedClerkId == "clerk-7")
            #expect(o.lines.map(\.method) == [.inStore] && o.lines[0].listPrice == 9900 && o.lines[0].unitPrice == 8900 && o.lines[0].priceRule == "till")
            #expect(o.payments.map(\.tender) == [.card] && o.payments[0].status == .captured)
            #expect(o.createdAt == soldAt && o.timeline.first?.at == soldAt)
            #expect(try await s.orders.order(o.id, scope: .all) == o)
            #expect(try await s.balance(s.skus[1], s.a).onHand == 3)
            var f = InventoryService.MovementFilter()
            f.location = s.a.id
            let sale = try #require(try await s.inventory.movements(f, scope: .all).items.first { $0.kind == .sale })
            #expect(sale.at == soldAt && sale.onHandDelta == -2 && sale.referenceId == o.id)
            let report = try await s.inventory.verify()
            #expect(report.ok && report.belowZeroOnHand.isEmpty)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func record_moreThanTheLedgerHas_isNeverRefused_butFlagsTheShortStock(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 2 on hand, 1 of them held for a pickup order
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 2, at: s.a)
            let pickup = OrderService.NewOrder(channel: s.web.code, method: .pickup, pickupLocation: s.a.code, lines: [(s.skus[1], 1)],
                                               payments: [(tender: .sandbox, amount: 9900)])
            _ = try await s.orders.place(pickup, caller: .system)
            let events = try await s.count("outbox_events")
            // act: the till sold 3 (one more than the shelf had by the ledger), and an L never stocked here
            let r = try await s.orders.recordTillSales([Self.sale(s, "T-2", at: s.clock.instant(), [(s.skus[1], 3), (s.skus[2], 1)])], caller: .system)
            // check
            #expect(r[0].outcome == .recorded)
            let short = Dictionary(uniqueKeysWithValues: r[0].short.map { ($0.skuId, $0) })
            #expect(short[s.skus[1]]?.onHand == -1 && short[s.skus[1]]?.reserved == 1)
            #expect(short[s.skus[2]]?.onHand == -1 && short[s.skus[2]]?.reserved == 0)
            #expect(try await s.balance(s.skus[1], s.a).onHand == -1)
            let report = try await s.inventory.verify()
            #expect(report.ok, "the ledger still equals the balances: \(report)")
            #expect(report.belowZeroOnHand.count == 2)
            #expect(r[0].order?.timeline.map(\.kind) == ["sold", "stock"])
            let types = try await s.db.read { sql in
                try await sql.raw("SELECT event_type FROM outbox_events ORDER BY id").all().map { try $0.decode(column: "event_type", as: String.self) }
            }
            #expect(types.count - events == 2)
            #expect(types.filter { $0 == "order.sold_at_till" }.count == 1 && types.filter { $0 == "inventory.short_after_sale" }.count == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func record_resent_answersDuplicate_andSellsOnce_andAReusedIdWithOtherLinesIsRejected(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 10, at: s.a)
            let now = s.clock.instant()
            let first = try await s.orders.recordTillSales([Self.sale(s, "T-3", at: now, [(s.skus[1], 2)])], caller: .system)
            let before = try await s.snapshot()
            // act
            let again = try await s.orders.recordTillSales([Self.sale(s, "T-3", at: now, [(s.skus[1], 2)])], caller: .system)
            let reused = try await s.orders.recordTillSales([Self.sale(s, "T-3", at: now, [(s.skus[1], 5)])], caller: .system)
            // check
            #expect(again[0].outcome == .duplicate && again[0].order?.id == first[0].order?.id)
            #expect(reused[0].outcome == .rejected && reused[0].problem?.status == 409 && reused[0].problem?.type.hasSuffix("transaction-reused") == true)
            #expect(try await s.snapshot() == before, "nothing written by either")
            #expect(try await s.balance(s.skus[1], s.a).onHand == 8)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func record_sameSaleFromManyTasksAtOnce_recordsItOnce(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 10, at: s.a)
            let sale = Self.sale(s, "T-4", at: s.clock.instant(), [(s.skus[1], 3)])
            // act: a till retrying on a flaky line sends it 20 times at once
            let outcomes = try await withThrowingTaskGroup(of: TillSaleResult.Outcome.self) { group in
                for _ in 0..<20 { group.addTask { try await s.orders.recordTillSales([sale], caller: .system)[0].outcome } }
                return try await group.reduce(into: [TillSaleResult.Outcome]()) { $0.append($1) }
            }
            // check
            #expect(outcomes.filter { $0 == .recorded }.count == 1)
            #expect(outcomes.filter { $0 == .duplicate }.count == 19)
            #expect(try await s.balance(s.skus[1], s.a).onHand == 7)
            #expect(try await s.count("orders") == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func record_aSaleASnapshotAlreadyCounted_doesNotTakeTheGoodsTwice(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: 10 on hand; the till sells 1 at 10:00 while offline; the store system's
            // snapshot as of 11:00 says 9 and is posted before the sale arrives
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 10, at: s.a)
            s.clock.advance(by: 3 * 3_600)
            let now = s.clock.instant()
            let soldAt = now.addingTimeInterval(-2 * 3_600)
            _ = try await s.inventory.count(.init(location: s.a.id, kind: .snapshot, countedAt: now.addingTimeInterval(-3_600),
                                                  lines: [.init(sku: s.skus[1], quantity: 9)]), caller: .system)
            #expect(try await s.balance(s.skus[1], s.a).onHand == 9)
            // act: the late sale, and another sold after the snapshot
            let late = try await s.orders.recordTillSales([Self.sale(s, "T-5", at: soldAt, [(s.skus[1], 1)]),
                                                          Self.sale(s, "T-6", at: now.addingTimeInterval(-60), [(s.skus[1], 1)])], caller: .system)
            // check: the late one is recorded as a sale and a correction; the shelf lost one unit once
            #expect(late.map(\.outcome) == [.recorded, .recorded])
            #expect(late[0].alreadyCounted == [0] && late[1].alreadyCounted.isEmpty)
            #expect(try await s.balance(s.skus[1], s.a).onHand == 8)
            // and a second snapshot as of now that counts 8 finds nothing to correct
            let again = try await s.inventory.count(.init(location: s.a.id, kind: .snapshot, lines: [.init(sku: s.skus[1], quantity: 8)]),
                                                    caller: .system)
            #expect(again.lines.map(\.variance) == [0])
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func record_aSaleBeforeASnapshotOfALaterTime_isReconciledInItsPlace(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: the sale at 10:00 arrives first; the snapshot as of 09:00 (before it) comes later
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 10, at: s.a)
            s.clock.advance(by: 3 * 3_600)
            let now = s.clock.instant()
            _ = try await s.orders.recordTillSales([Self.sale(s, "T-7", at: now.addingTimeInterval(-3_600), [(s.skus[1], 2)])], caller: .system)
            // act: the snapshot says 10 as of two hours ago — before the sale
            let snap = try await s.inventory.count(.init(location: s.a.id, kind: .snapshot, countedAt: now.addingTimeInterval(-2 * 3_600),
                                                         lines: [.init(sku: s.skus[1], quantity: 10)]), caller: .system)
            // check: the sale after it is kept on top
            #expect(snap.lines.map(\.variance) == [0])
            #expect(try await s.balance(s.skus[1], s.a).onHand == 8)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func record_aBatch_answersEverySaleInItsOrder_andABadSaleStopsNoOther(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 10, at: s.a)
            let now = s.clock.instant()
            var unknownSku = Self.sale(s, "B-2", at: now, [(s.skus[1], 1)])
            unknownSku.lines.append((sku: "NO-SUCH", quantity: 1, unitPrice: 0))
            var wrongPayment = Self.sale(s, "B-3", at: now, [(s.skus[1], 1)])
            wrongPayment.payments = [(tender: .cash, amount: 100)]
            var badTender = Self.sale(s, "B-4", at: now, [(s.skus[1], 1)])
            badTender.payments = [(tender: .cod, amount: 9900)]
            var future = Self.sale(s, "B-5", at: now.addingTimeInterval(3_600), [(s.skus[1], 1)])
            future.location = s.warehouse.code
            // act: sales out of time order, some bad
            let r = try await s.orders.recordTillSales([Self.sale(s, "B-1", at: now.addingTimeInterval(-60), [(s.skus[1], 1)]), unknownSku,
                                                        wrongPayment, badTender, future, Self.sale(s, "B-0", at: now.addingTimeInterval(-600), [(s.skus[1], 1)])],
                                                       caller: .system)
            // check
            #expect(r.map(\.transactionId) == ["B-1", "B-2", "B-3", "B-4", "B-5", "B-0"])
            #expect(r.map(\.outcome) == [.recorded, .rejected, .rejected, .rejected, .rejected, .recorded])
            #expect(r[1].problem?.fields == ["lines[1].sku"])
            #expect(r[2].problem?.fields == ["payments"])
            #expect(r[3].problem?.fields == ["payments[0].tender"])
            #expect(r[4].problem?.fields == ["soldAt"])
            #expect(try await s.balance(s.skus[1], s.a).onHand == 8)
            #expect(try await s.count("orders") == 2)
            // a warehouse has no till
            var wh = Self.sale(s, "B-6", at: now, [(s.skus[1], 1)])
            wh.location = s.warehouse.code
            #expect(try await s.orders.recordTillSales([wh], caller: .system)[0].problem?.fields == ["locationId"])
            await #expect(throws: Problem.self) { _ = try await s.orders.recordTillSales([], caller: .system) }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func orders_filteredByWhenTheyWerePlaced_keepTheSalesOfThatWindow(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup: sales two days ago, yesterday and now
            _ = try await Self.pos(s)
            try await s.receive(s.skus[1], 10, at: s.a)
            let now = s.clock.instant()
            let sales = [("D-2", -2.0), ("D-1", -1.0), ("D-0", 0.0)].map { Self.sale(s, $0.0, at: now.addingTimeInterval($0.1 * 86_400), [(s.skus[1], 1)]) }
            _ = try await s.orders.recordTillSales(sales, caller: .system)
            // act
            var f = OrderService.OrderFilter()
            f.from = now.addingTimeInterval(-1.5 * 86_400)
            f.until = now.addingTimeInterval(-60)
            let window = try await s.orders.orders(f, scope: .all).items
            f.until = nil
            let since = try await s.orders.orders(f, scope: .all).items
            // check
            #expect(window.map(\.externalId) == ["ST-A/D-1"])
            #expect(Set(since.compactMap(\.externalId)) == ["ST-A/D-1", "ST-A/D-0"])
        }
    }
}
