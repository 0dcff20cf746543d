import Foundation
import O2OCore
import O2OFulfillment
import O2ONetwork
import O2OOrders

// MARK: - Carriers and shipments

extension DemoData {
    /// SF Express (顺丰, standard and next-day, both collecting cash on delivery), ZTO (中通,
    /// standard, no COD) and a 3PL warehouse partner. Webhook secrets are generated; set one with
    /// `PATCH /carriers/{code}` to try the signed tracking webhook.
    func loadCarriers(summary: inout Summary) async throws {
        let fulfillment = services.fulfillment
        let carriers: [FulfillmentService.NewCarrier] = [
            .init(code: "SF", name: "顺丰速运 SF Express", kind: .carrier, accountNumber: "0210001234",
                  trackingUrlTemplate: "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{tracking}",
                  services: [.init(code: "standard", name: "顺丰标快", transitDays: 2, codSupported: true),
                             .init(code: "next_day", name: "顺丰次日达", transitDays: 1, codSupported: true)]),
            .init(code: "ZTO", name: "中通快递 ZTO Express", kind: .carrier, accountNumber: "ZTO-SH-88001",
                  trackingUrlTemplate: "https://www.zto.com/?num={tracking}",
                  services: [.init(code: "standard", name: "中通标快", transitDays: 3, codSupported: false)]),
            .init(code: "HDWL", name: "华东仓配 East China Fulfilment (3PL)", kind: .thirdPartyLogistics, accountNumber: "HD-O2O-01",
                  services: [.init(code: "b2c", name: "仓配一体 B2C", transitDays: 2, codSupported: true)]),
        ]
        for c in carriers { _ = try await fulfillment.createCarrier(c, caller: .system) }
        summary.carriers = carriers.count
    }

    /// The warehouses' released orders are picked, packed and shipped — cash on delivery and every
    /// third with SF, the rest with ZTO — and the carriers report on them: all in transit, half
    /// out for delivery, a third delivered (the order is delivered with them).
    func loadShipments(summary: inout Summary) async throws {
        let fulfillment = services.fulfillment
        var f = FulfillmentService.FulfillmentFilter(status: .assigned)
        f.limit = 200
        let work = try await fulfillment.fulfillmentOrders(f, scope: .all).items.filter { $0.locationKind != .store && $0.mode != .pickup }
        let start = services.clock.instant()
        for (i, fo) in work.sorted(by: { $0.id < $1.id }).enumerated() {
            _ = try await fulfillment.accept(fo.id, caller: .system)
            _ = try await fulfillment.transition(fo.id, to: .picking, note: nil, caller: .system)
            _ = try await fulfillment.transition(fo.id, to: .packed, note: nil, caller: .system)
            let order = try await services.orders.order(fo.orderId, scope: .all)
            let sf = i % 3 == 0 || order.payments.contains { $0.tender == .cod }
            let units = fo.lines.reduce(0) { $0 + $1.quantity }
            let s = try await fulfillment.createShipment(
                .init(fulfillmentOrderId: fo.id, carrier: sf ? "SF" : "ZTO", service: sf && i % 2 == 1 ? "next_day" : "standard",
                      parcels: [Parcel(weightGrams: 350 * units + 150, lengthMm: 300, widthMm: 220, heightMm: 60 + 40 * units)]),
                caller: .system)
            summary.shipments += 1
            var csv = "tracking_number,status,at,location,description\n"
            func row(_ status: String, hours: Double, _ place: String, _ text: String) {
                csv += "\(s.trackingNumber),\(status),\(ISO8601DateFormatter().string(from: start.addingTimeInterval(hours * 3_600))),\(place),\(text)\n"
            }
            row("in_transit", hours: 2, "上海转运中心", "快件已到达上海转运中心 Arrived at the Shanghai hub")
            if i % 2 == 0 { row("out_for_delivery", hours: 20, "上海市黄浦区营业点", "快递员正在派送 Out for delivery") }
            if i % 3 == 0 { row("delivered", hours: 23, "上海市黄浦区", "已签收（本人签收） Delivered and signed for by the recipient") }
            if i % 7 == 5 { row("exception", hours: 22, "上海市黄浦区营业点", "收件人电话无人接听 Recipient not reachable; will retry") }
            _ = try await fulfillment.importTrackingEvents(csv: csv, caller: .system)
        }
    }
}
