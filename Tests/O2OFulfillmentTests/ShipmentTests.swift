import Crypto
import Foundation
import O2OCore
import O2OFulfillment
import O2ONetwork
import O2OOrders
import O2OTestSupport
import SQLKit
import Testing

/// Shared setup of the shipment tests.
enum Ship {
    static let secret = "sf-webhook-secret-for-tests"

    /// SF (standard with COD, next-day) and ZTO (no COD).
    static func carriers(_ s: Shop) async throws {
        let f = s.services.fulfillment
        _ = try await f.createCarrier(.init(code: "SF", name: "顺丰速运", kind: .carrier, webhookSecret: secret,
                                            trackingUrlTemplate: "https://sf.example/track/{tracking}",
                                            services: [.init(code: "standard", name: "顺丰标快", transitDays: 2, codSupported: true),
                                                       .init(code: "next_day", name: "顺丰次日达", transitDays: 1, codSupported: true)]), caller: .system)
        _ = try await f.createCarrier(.init(code: "ZTO", name: "中通快递", kind: .carrier,
                                            services: [.init(code: "standard", name: "中通标快", transitDays: 3, codSupported: false)]), caller: .system)
    }

    /// A paid delivery order only the warehouse can serve, released to it and packed there: its fulfilment order.
    static func packedAtWarehouse(_ s: Shop, units: Int = 2) async throws -> FulfillmentOrder {
        try await s.receive(s.skus[1], 5, at: s.warehouse)
        let o = try await s.orders.place(s.delivery([(s.skus[1], units)]), caller: .system)
        #expect(o.lines[0].locationId == s.warehouse.id)
        _ = try await s.orders.advance(o.id, to: .released, caller: .system)
        let f = try await Work.only(s, o.id)
        let clerk = Work.clerk(s, at: s.warehouse)
        _ = try await s.services.fulfillment.accept(f.id, caller: clerk)
        _ = try await s.services.fulfillment.transition(f.id, to: .picking, note: nil, caller: clerk)
        return try await s.services.fulfillment.transition(f.id, to: .packed, note: nil, caller: clerk)
    }

    static func shipped(_ s: Shop) async throws -> Shipment {
        let f = try await packedAtWarehouse(s)
        return try await s.services.fulfillment.createShipment(.init(fulfillmentOrderId: f.id, carrier: "SF", service: "standard",
                                                                     parcels: [Parcel(weightGrams: 800)]),
                                                               caller: Work.clerk(s, at: s.warehouse))
    }

    static func webhook(_ events: [(String, String, String)]) -> Data {
        let list = events.map { #"{"trackingNumber":"\#($0.0)","status":"\#($0.1)","at":"\#($0.2)","location":"上海"}"# }
        return Data(#"{"events":[\#(list.joined(separator: ","))]}"#.utf8)
    }

    static func sign(_ body: Data, _ secret: String = secret) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))).base64EncodedString()
    }

    /// Rows of the tables a tracking event writes, for "nothing was written".
    static func snapshot(_ s: Shop) async throws -> [Int] {
        try await s.snapshot() + [try await s.count("shipments"), try await s.count("shipment_events"), try await s.count("fulfillment_orders")]
    }
}

@Suite("Shipments: carriers, labels, and tracking that delivers the order")
struct ShipmentTests {
    @Test(arguments: TestDatabase.engines)
    func shipment_shipsTheOrder_sellsTheStock_andPrintsTheLabel(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await Ship.carriers(s)
            let f = try await Ship.packedAtWarehouse(s)
            let before = try await s.balance(s.skus[1], s.warehouse)
            // act
            let shipment = try await s.services.fulfillment.createShipment(
                .init(fulfillmentOrderId: f.id, carrier: "sf", service: "next_day", parcels: [Parcel(weightGrams: 800), Parcel(weightGrams: 450, lengthMm: 300)]),
                caller: Work.clerk(s, at: s.warehouse))
            // check
            let order = try await s.orders.order(f.orderId, scope: .all)
            let after = try await s.balance(s.skus[1], s.warehouse)
            let fo = try await s.services.fulfillment.fulfillmentOrder(f.id, scope: .all)
            #expect(order.status == .shipped && fo.status == .shipped)
            #expect(before.onHand == 5 && before.reserved == 2 && after.onHand == 3 && after.reserved == 0)
            #expect(shipment.carrierCode == "SF" && shipment.status == .created && shipment.trackingNumber.hasPrefix("SF") && shipment.trackingNumber.count == 15)
            #expect(shipment.trackingUrl == "https://sf.example/track/\(shipment.trackingNumber)")
            let label = shipment.label
            #expect(label.barcode == shipment.trackingNumber && label.serviceName == "顺丰次日达" && label.shipFrom.name == s.warehouse.name)
            #expect(label.shipTo.name == "王小明" && label.shipTo.phone == "138****8000")
            #expect(label.parcels.map { "\($0.n)/\($0.of)" } == ["1/2", "2/2"] && label.totalWeightGrams == 1_250 && label.codAmount == 0)
            #expect(label.orderId == order.id)
            #expect(try await s.services.fulfillment.shipment(shipment.id, scope: .all) == shipment)
            #expect(try await Work.events(s, "shipment.created").count == 1)
            #expect(try await Work.events(s, "shipment.handed_over").isEmpty)
            #expect(try await Work.events(s, "order.shipped").count == 1)
            #expect(try await s.inventory.verify().ok)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func badShipments_areRefused_andNothingIsWritten(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await Ship.carriers(s)
            let packed = try await Ship.packedAtWarehouse(s, units: 1)
            try await s.receive(s.skus[1], 2, at: s.warehouse)
            let o = try await s.orders.place(s.delivery([(s.skus[1], 1)]), caller: .system)
            _ = try await s.orders.advance(o.id, to: .released, caller: .system)
            let assigned = try await Work.only(s, o.id)
            let fulfillment = s.services.fulfillment
            let clerk = Work.clerk(s, at: s.warehouse)
            let before = try await Ship.snapshot(s)
            func ship(_ id: String, _ carrier: String = "SF", _ service: String = "standard", grams: Int = 500,
                      as caller: Caller? = nil) async -> Problem? {
                await #expect(throws: Problem.self) {
                    try await fulfillment.createShipment(.init(fulfillmentOrderId: id, carrier: carrier, service: service,
                                                               parcels: [Parcel(weightGrams: grams)]), caller: caller ?? clerk)
                }
            }
            // act
            let foreign = await ship(packed.id, as: Work.clerk(s, at: s.a))
            let notAccepted = await ship(assigned.id)
            let carrier = await ship(packed.id, "DHL")
            let service = await ship(packed.id, "ZTO", "next_day")
            let weight = await ship(packed.id, grams: 0)
            // check
            #expect(foreign?.status == 404)
            #expect(notAccepted?.status == 409)
            #expect(carrier?.status == 422 && carrier?.errors?.map(\.field) == ["carrier"])
            #expect(service?.status == 422 && service?.errors?.map(\.field) == ["service"])
            #expect(weight?.status == 422 && weight?.errors?.map(\.field) == ["parcels[0].weightGrams"])
            #expect(try await Ship.snapshot(s) == before)
            #expect(try await fulfillment.fulfillmentOrder(packed.id, scope: .all).status == .packed)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func signedWebhook_delivered_deliversTheOrder_andARepeatIsIgnored(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await Ship.carriers(s)
            let shipment = try await Ship.shipped(s)
            let fulfillment = s.services.fulfillment
            let t = shipment.trackingNumber
            let body = Ship.webhook([(t, "in_transit", "2026-12-01T08:00:00+08:00"), (t, "delivered", "2026-12-01T17:30:00+08:00")])
            // act
            let first = try await fulfillment.receiveTrackingWebhook(carrier: "SF", body: body, signature: Ship.sign(body), requestId: nil)
            let again = try await fulfillment.receiveTrackingWebhook(carrier: "SF", body: body, signature: Ship.sign(body), requestId: nil)
            // check
            let after = try await fulfillment.shipment(shipment.id, scope: .all)
            #expect(first.recorded.count == 2 && first.duplicates == 0)
            #expect(again.recorded.isEmpty && again.duplicates == 2)
            #expect(after.status == .delivered && after.events.map(\.status) == [.inTransit, .delivered] && after.deliveredAt != nil)
            #expect(try await s.orders.order(shipment.orderId, scope: .all).status == .delivered)
            #expect(try await fulfillment.fulfillmentOrder(shipment.fulfillmentOrderId, scope: .all).status == .delivered)
            #expect(try await Work.events(s, "order.delivered").count == 1)
            #expect(try await Work.events(s, "shipment.tracking_updated").count == 2)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func concurrentDuplicateWebhooks_recordOneEvent(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await Ship.carriers(s)
            let shipment = try await Ship.shipped(s)
            let fulfillment = s.services.fulfillment
            let body = Ship.webhook([(shipment.trackingNumber, "delivered", "2026-12-01T17:30:00+08:00")])
            let signature = Ship.sign(body)
            // act
            let results = try await withThrowingTaskGroup(of: FulfillmentService.TrackingResult.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await fulfillment.receiveTrackingWebhook(carrier: "SF", body: body, signature: signature, requestId: nil) }
                }
                return try await group.reduce(into: [FulfillmentService.TrackingResult]()) { $0.append($1) }
            }
            // check
            #expect(results.map(\.recorded.count).reduce(0, +) == 1)
            #expect(results.map(\.duplicates).reduce(0, +) == 7)
            #expect(try await s.count("shipment_events") == 1)
            #expect(try await Work.events(s, "order.delivered").count == 1)
            #expect(try await s.orders.order(shipment.orderId, scope: .all).status == .delivered)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func badSignature_unknownTrackingNumber_andBadCSVRows_writeNothing(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await Ship.carriers(s)
            let shipment = try await Ship.shipped(s)
            let fulfillment = s.services.fulfillment
            let t = shipment.trackingNumber
            let body = Ship.webhook([(t, "delivered", "2026-12-01T17:30:00+08:00")])
            let unknown = Ship.webhook([(t, "in_transit", "2026-12-01T08:00:00+08:00"), ("SF0000000000000", "delivered", "2026-12-01T17:30:00+08:00")])
            let csv = """
                tracking_number,status,at,location,description
                \(t),in_transit,2026-12-01T08:00:00+08:00,上海,到达转运中心
                \(t),lost,2026-12-01T09:00:00+08:00,上海,
                NO-SUCH,delivered,2026-12-01T10:00:00+08:00,,
                \(t),delivered,yesterday,,
                """
            let before = try await Ship.snapshot(s)
            // act
            let forged = await #expect(throws: Problem.self) {
                try await fulfillment.receiveTrackingWebhook(carrier: "SF", body: body, signature: Ship.sign(body, "wrong-secret-entirely"), requestId: nil)
            }
            let unsigned = await #expect(throws: Problem.self) {
                try await fulfillment.receiveTrackingWebhook(carrier: "SF", body: body, signature: nil, requestId: nil)
            }
            let stranger = await #expect(throws: Problem.self) {
                try await fulfillment.receiveTrackingWebhook(carrier: "SF", body: unknown, signature: Ship.sign(unknown), requestId: nil)
            }
            let rejected = await #expect(throws: Problem.self) { try await fulfillment.importTrackingEvents(csv: csv, caller: .system) }
            // check
            #expect(forged?.status == 401 && unsigned?.status == 401)
            #expect(stranger?.status == 422 && stranger?.errors?.map(\.field) == ["events[1].trackingNumber"])
            #expect(rejected?.status == 422 && rejected?.type == Problem.typeBase + "import-rejected")
            #expect(rejected?.errors?.map(\.line) == [3, 4, 5])
            #expect(rejected?.errors?.map(\.field) == ["status", "tracking_number", "at"])
            #expect(try await Ship.snapshot(s) == before)
            #expect(try await fulfillment.shipment(shipment.id, scope: .all).status == .created)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func csvImport_recordsTheEvents_andAThirdPartyGetsTheHandover(_ engine: DatabaseEngine) async throws {
        try await Shop.with(engine) { s in
            // setup
            try await Ship.carriers(s)
            let fulfillment = s.services.fulfillment
            _ = try await fulfillment.createCarrier(.init(code: "HDWL", name: "华东仓配", kind: .thirdPartyLogistics, accountNumber: "HD-1",
                                                          services: [.init(code: "b2c", name: "B2C", transitDays: 2, codSupported: true)]), caller: .system)
            let f = try await Ship.packedAtWarehouse(s)
            // act
            let shipment = try await fulfillment.createShipment(.init(fulfillmentOrderId: f.id, carrier: "HDWL", service: "b2c",
                                                                      parcels: [Parcel(weightGrams: 900)], trackingNumber: "HD20261201001"),
                                                                caller: Work.clerk(s, at: s.warehouse))
            let csv = "tracking_number,status,at\nHD20261201001,in_transit,2026-12-01T08:00:00Z\nHD20261201001,out_for_delivery,2026-12-01T09:00:00Z\n"
            let imported = try await fulfillment.importTrackingEvents(csv: csv, caller: Work.clerk(s, at: s.warehouse))
            let foreign = await #expect(throws: Problem.self) { try await fulfillment.importTrackingEvents(csv: csv, caller: Work.clerk(s, at: s.a)) }
            // check
            let handover = try await Work.events(s, "shipment.handed_over")
            #expect(handover.count == 1 && handover[0].contains("+8613800138000") && handover[0].contains("HD-1") && handover[0].contains(s.skus[1]))
            #expect(imported.recorded.count == 2)
            #expect(foreign?.status == 422)
            let after = try await fulfillment.shipment(shipment.id, scope: .all)
            #expect(after.status == .outForDelivery && after.events.count == 2)
            let listed = try await fulfillment.shipments(.init(orderId: f.orderId), scope: .all)
            #expect(listed.items.map(\.id) == [shipment.id] && listed.items[0].events.count == 2)
            #expect(try await fulfillment.shipments(.init(status: .delivered), scope: .all).items.isEmpty)
            #expect(try await fulfillment.shipments(.init(), scope: Work.clerk(s, at: s.a).principal.scope).items.isEmpty)
        }
    }
}
