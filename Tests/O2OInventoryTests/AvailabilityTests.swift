import Foundation
import O2OCore
import O2OInventory
import O2OTestSupport
import Testing

@Suite("Ledger, safety stock, channel pools, ATP and nearby stores")
struct AvailabilityTests {
    @Test(arguments: TestDatabase.engines)
    func post_movementsKeepBalanceEqualToTheLedger_andATakeBeyondStockWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            let store = s.stores[0]
            try await s.receive(s.skus[0], 10, at: store)
            // act
            s.clock.advance(by: 1)
            _ = try await s.inventory.post(.init(location: store.code, kind: .damage, reason: "torn seam", lines: [.init(sku: s.skus[0], quantity: 2)]),
                                           caller: .system)
            s.clock.advance(by: 1)
            _ = try await s.inventory.post(.init(location: store.id, kind: .sale, lines: [.init(sku: "INV-P-S", quantity: 3)]), caller: .system)
            s.clock.advance(by: 1)
            _ = try await s.inventory.post(.init(location: store.id, kind: .returnToStock, lines: [.init(sku: s.skus[0], quantity: 1)]), caller: .system)
            s.clock.advance(by: 1)
            _ = try await s.inventory.post(.init(location: store.id, kind: .adjustment, reason: "miscount at receipt",
                                                 lines: [.init(sku: s.skus[0], quantity: -1)]), caller: .system)
            let before = try await s.snapshot()
            let tooMuch = await #expect(throws: InventoryError.self) {
                try await s.inventory.post(.init(location: store.id, kind: .adjustment, reason: "shrinkage",
                                                 lines: [.init(sku: s.skus[0], quantity: -1), .init(sku: s.skus[0], quantity: -9)]), caller: .system)
            }
            let noReason = await #expect(throws: Problem.self) {
                try await s.inventory.post(.init(location: store.id, kind: .adjustment, lines: [.init(sku: s.skus[0], quantity: 0)]), caller: .system)
            }
            let wrongKind = await #expect(throws: Problem.self) {
                try await s.inventory.post(.init(location: store.id, kind: .reservation, lines: [.init(sku: s.skus[0], quantity: 1)]), caller: .system)
            }
            // check
            let b = try await s.balance(s.skus[0], store)
            #expect((b.onHand, b.quarantined) == (5, 2))
            guard case .insufficientStock(let short)? = tooMuch else { Issue.record("expected a shortfall"); return }
            #expect(short.map(\.line) == [1] && short[0].available == 5 && short[0].requested == 9)
            #expect(noReason?.fields == ["reason", "lines[0].quantity"])
            #expect(wrongKind?.fields == ["kind"])
            #expect(try await s.snapshot() == before)
            let report = try await s.inventory.verify()
            #expect(report.ok && report.balances == 1 && report.movements == 5)
            let ledger = try await s.inventory.movements(.init(), scope: .all).items
            #expect(ledger.map(\.kind) == [.adjustment, .returnToStock, .sale, .damage, .receipt])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func verify_findsABalanceChangedBehindTheLedgersBack(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await s.receive(s.skus[0], 3, at: s.stores[0])
            // act
            try await s.db.write { tx in try await tx.sql.raw("UPDATE inventory_balances SET on_hand = 4").run() }
            let report = try await s.inventory.verify()
            // check
            #expect(!report.ok)
            #expect(report.mismatches.map { "\($0.skuId) \($0.locationId) \($0.bucket) \($0.balance) \($0.ledger)" }
                    == ["\(s.skus[0]) \(s.stores[0].id) on_hand 4 3"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func safetyStock_mostSpecificRuleWins_andReservationsRespectIt(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup: a store that ships, so the web channel's default pool counts it
            let store = s.stores.first { $0.capabilities.shipFromStore }!
            try await s.receive(s.skus[0], 10, at: store)
            try await s.receive(s.skus[1], 10, at: store)
            _ = try await s.inventory.setSafetyStock(.init(quantity: 1), caller: .system)                                   // network-wide
            _ = try await s.inventory.setSafetyStock(.init(location: store.id, quantity: 2), caller: .system)               // this store
            _ = try await s.inventory.setSafetyStock(.init(location: store.id, sku: s.skus[0], quantity: 4), caller: .system)
            _ = try await s.inventory.setSafetyStock(.init(channel: s.web.code, quantity: 3), caller: .system)               // web, beaten by SKU rule
            // act
            let b0 = try await s.balance(s.skus[0], store), b1 = try await s.balance(s.skus[1], store)
            let (_, web) = try await s.inventory.atp(channel: s.web.id, skus: [s.skus[0], s.skus[1]])
            let short = await #expect(throws: InventoryError.self) {
                try await s.inventory.reserve(.init(lines: [.init(sku: s.skus[0], location: store.id, quantity: 7)]), caller: .system)
            }
            let removed = try await s.inventory.setSafetyStock(.init(location: store.id, sku: s.skus[0], quantity: 0), caller: .system)
            // check
            #expect((b0.safetyStock, b0.available) == (4, 6))
            #expect((b1.safetyStock, b1.available) == (2, 8))
            #expect(web.map(\.shipping) == [6, 8])  // S: the store's SKU rule (4) beats web's (3); M: the store's rule (2) beats web's
            guard case .insufficientStock(let lines)? = short else { Issue.record("expected a shortfall"); return }
            #expect(lines[0].available == 6)
            #expect(removed == nil)
            #expect(try await s.balance(s.skus[0], store).safetyStock == 2)
            #expect(try await s.inventory.safetyRules(limit: 50, cursor: nil, scope: .all).items.count == 3)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func atp_sumsEachPoolLocationsShare_splitsShippingAndPickup_andHonoursTheThreshold(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await s.receive(s.skus[0], 100, at: s.warehouse)
            try await s.receive(s.skus[0], 9, at: s.stores[0])
            try await s.receive(s.skus[0], 50, at: s.stores[1])
            try await s.receive(s.skus[1], 2, at: s.stores[1])
            try await s.receive(s.skus[2], 5, at: s.stores[3])  // not in the pool
            _ = try await s.inventory.setPool(.init(channel: s.web.id, members: [
                (location: s.warehouse.code, exposure: .all, shipping: true, pickup: false),
                (location: s.stores[0].id, exposure: .percent(50), shipping: true, pickup: true),
                (location: s.stores[1].id, exposure: .cap(10), shipping: false, pickup: true),
            ], threshold: 3), caller: .system)
            _ = try await s.inventory.reserve(.init(lines: [.init(sku: s.skus[0], location: s.warehouse.id, quantity: 30)]), caller: .system)
            // act
            let (channelId, atp) = try await s.inventory.atp(channel: s.web.code, skus: [s.skus[0], "INV-P-M", s.skus[2], s.skus[3]])
            let (_, pos) = try await s.inventory.atp(channel: s.pos.code, skus: [s.skus[2]])
            let unknown = await #expect(throws: Problem.self) { try await s.inventory.atp(channel: "NOPE", skus: [s.skus[0]]) }
            // check
            #expect(channelId == s.web.id)
            #expect(atp[0].shipping == 70 + 4 && atp[0].pickup == 4 + 10)
            #expect(atp[0].locations.map(\.locationId) == [s.warehouse.id, s.stores[1].id, s.stores[0].id])
            #expect(atp[1].shipping == 0 && atp[1].pickup == 0)  // 2 units, under the threshold of 3
            #expect(atp[2].shipping == 0 && atp[3].shipping == 0)
            #expect(pos[0].pickup == 5)  // no pool defined: every active location
            #expect(unknown?.status == 422 && unknown?.fields == ["channel"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func nearby_listsStoresWithEverySKUFirst_thenNearest_withinTheRadius(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup: a point at the first store; every store gets M, only the third also L
            let here = s.stores[0].coordinates
            for store in s.stores { try await s.receive(s.skus[1], 2, at: store) }
            try await s.receive(s.skus[2], 1, at: s.stores[2])
            // act
            let found = try await s.inventory.nearby(lat: here.lat, lng: here.lng, skus: [(sku: s.skus[1], quantity: 1), (sku: "INV-P-L", quantity: 1)],
                                                     radiusKm: 200, limit: 5)
            let tight = try await s.inventory.nearby(lat: here.lat, lng: here.lng, skus: [(sku: s.skus[1], quantity: 1)], radiusKm: 0.1)
            let bad = await #expect(throws: Problem.self) {
                try await s.inventory.nearby(lat: 95, lng: here.lng, skus: [(sku: s.skus[1], quantity: 0)])
            }
            // check
            #expect(found.count == 5)
            #expect(found[0].locationId == s.stores[2].id && found[0].hasAll)
            #expect(found.dropFirst().allSatisfy { !$0.hasAll && $0.available[s.skus[1]] == 2 })
            #expect(found.dropFirst().map(\.distanceKm) == found.dropFirst().map(\.distanceKm).sorted())
            #expect(tight.map(\.locationId) == [s.stores[0].id])
            #expect(bad?.fields == ["lat", "quantity[0]"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func atpFeed_publishesEachChannelsChangedPromise_onceTheBurstIsOver(_ engine: DatabaseEngine) async throws {
        try await Stock.with(engine) { s in
            // setup
            try await s.receive(s.skus[0], 5, at: s.warehouse)
            let r = try await s.inventory.reserve(.init(lines: [.init(sku: s.skus[0], location: s.warehouse.id, quantity: 2)]), caller: .system)
            // act
            let early = try await s.inventory.publishATPChanges(debounce: 2)
            s.clock.advance(by: 3)
            let first = try await s.inventory.publishATPChanges(debounce: 2)
            let again = try await s.inventory.publishATPChanges(debounce: 2)
            _ = try await s.inventory.release(r.id, caller: .system)
            s.clock.advance(by: 3)
            let afterRelease = try await s.inventory.publishATPChanges(debounce: 2)
            // check: both channels (web, POS) draw on the warehouse by default
            #expect((early, first, again, afterRelease) == (0, 2, 0, 2))
            let payloads = try await s.db.read { sql in
                try await sql.raw("SELECT payload FROM outbox_events WHERE event_type = 'inventory.atp_changed' ORDER BY id").all()
                    .map { try JSONDecoder().decode(ATPChange.self, from: Data($0.decode(column: "payload", as: String.self).utf8)) }
            }
            let web = payloads.filter { $0.channelId == s.web.id }
            #expect(web.map { $0.items.map(\.shipping) } == [[3], [5]])
            #expect(web.allSatisfy { $0.items.map(\.skuId) == [s.skus[0]] })
        }
    }
}
