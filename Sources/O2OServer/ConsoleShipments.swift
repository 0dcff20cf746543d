import Foundation
import Hummingbird
import O2OCore
import O2OFulfillment

extension Texts {
    /// The shipment tracker's texts (looked up with the fulfilment ones).
    static let shipmentsTable: [String: (String, String)] = [
        "shipments": ("Shipments", "物流跟踪"),
        "carrier": ("Carrier", "承运商"),
        "tracking": ("Tracking number", "运单号"),
        "label": ("Label", "面单"),
        "printLabel": ("Print label", "打印面单"),
        "events": ("Tracking", "物流轨迹"),
        "allCarriers": ("All carriers", "全部承运商"),
        "allStatuses": ("All statuses", "全部状态"),
        "sh_created": ("Label printed", "已打单"),
        "sh_in_transit": ("In transit", "运输中"),
        "sh_out_for_delivery": ("Out for delivery", "派送中"),
        "sh_delivered": ("Delivered", "已签收"),
        "sh_exception": ("Exception", "异常"),
        "shipFrom": ("From", "寄件"),
        "shipTo": ("To", "收件"),
        "parcel": ("Parcel", "包裹"),
        "weight": ("Weight", "重量"),
        "cod": ("Cash on delivery", "代收货款"),
        "printedAt": ("Printed", "打印时间"),
        "service": ("Service", "服务"),
    ]
}

extension Console {
    func registerShipments(on group: RouterGroup<O2ORequestContext>) {
        group.get("shipments") { req, ctx in
            try await page(req, ctx, active: "shipments", needs: .ordersRead) { t in try await shipmentTracker(req, t, ctx) }
        }
        group.get("shipments/:id/label") { req, ctx in
            try await page(req, ctx, active: "shipments", needs: .ordersRead) { t in
                let s = try await services.fulfillment.shipment(ctx.parameters.get("id") ?? "", scope: ctx.principal?.scope ?? .all)
                return ("\(t("label")) · \(s.trackingNumber)", Self.labelHTML(s.label, t))
            }
        }
    }

    /// Shipments newest first, filtered by status and carrier, each with its tracking as a timeline.
    private func shipmentTracker(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let carriers = try await services.fulfillment.carriers()
        var f = FulfillmentService.ShipmentFilter(orderId: Self.query(req, "orderId"), trackingNumber: Self.query(req, "trackingNumber"),
                                                  status: Self.query(req, "status").flatMap(ShipmentStatus.init(rawValue:)), carrier: Self.query(req, "carrier"))
        f.limit = 100
        f.cursor = Self.query(req, "cursor")
        let page = try await services.fulfillment.shipments(f, scope: ctx.principal?.scope ?? .all)
        let option = { (value: String, label: String, chosen: String?) in
            "<option value=\"\(esc(value))\"\(value == (chosen ?? "") ? " selected" : "")>\(esc(label))</option>"
        }
        var body = "<form class=\"filters\" method=\"get\" action=\"/console/shipments\">"
        body += "<select name=\"status\" aria-label=\"\(esc(t("status")))\">" + option("", t("allStatuses"), f.status?.rawValue)
            + ShipmentStatus.allCases.map { option($0.rawValue, t("sh_" + $0.rawValue), f.status?.rawValue) }.joined() + "</select>"
        body += "<select name=\"carrier\" aria-label=\"\(esc(t("carrier")))\">" + option("", t("allCarriers"), f.carrier)
            + carriers.map { option($0.code, $0.name, f.carrier?.uppercased()) }.joined() + "</select>"
        body += "<input name=\"trackingNumber\" value=\"\(esc(f.trackingNumber ?? ""))\" placeholder=\"\(esc(t("tracking")))\" aria-label=\"\(esc(t("tracking")))\">"
        body += "<button type=\"submit\">\(esc(t("show")))</button></form>"
        let names = Dictionary(carriers.map { ($0.code, $0.name) }, uniquingKeysWith: { a, _ in a })
        var rows = ""
        for s in page.items {
            let timeline = s.events.reversed().map { e in
                "<li><span class=\"nw\">\(esc(e.at.formatted(.iso8601)))</span> <b>\(esc(t("sh_" + e.status.rawValue)))</b>"
                    + (e.location.map { " · \(esc($0))" } ?? "") + (e.description.map { "<br><small class=\"muted\">\(esc($0))</small>" } ?? "") + "</li>"
            }.joined()
            let tracking = s.trackingUrl.map { "<a href=\"\(esc($0))\" rel=\"noopener\"><code>\(esc(s.trackingNumber))</code></a>" } ?? "<code>\(esc(s.trackingNumber))</code>"
            rows += "<tr><td>\(tracking)<br><small class=\"muted\">\(esc(s.createdAt.formatted(.iso8601)))</small></td>"
            rows += "<td>\(esc(names[s.carrierCode] ?? s.carrierCode))<br><small class=\"muted\">\(esc(s.label.serviceName))</small></td>"
            rows += "<td><a href=\"/console/orders/\(esc(s.orderId))\"><code>\(esc(s.orderId))</code></a></td>"
            rows += "<td><span class=\"tag\">\(esc(t("sh_" + s.status.rawValue)))</span></td>"
            rows += "<td>" + (timeline.isEmpty ? "<span class=\"muted\">—</span>" : "<ol class=\"timeline\">\(timeline)</ol>") + "</td>"
            rows += "<td><a class=\"button\" href=\"/console/shipments/\(esc(s.id))/label\">\(esc(t("printLabel")))</a></td></tr>"
        }
        body += page.items.isEmpty ? "<p class=\"muted\">\(esc(t("nothingHere")))</p>" : """
            <table class="responsive"><thead><tr><th>\(esc(t("tracking")))</th><th>\(esc(t("carrier")))</th><th>\(esc(t("order")))</th>
            <th>\(esc(t("status")))</th><th>\(esc(t("events")))</th><th></th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if let next = page.nextCursor {
            var q = "cursor=\(esc(next))"
            if let s = f.status { q += "&amp;status=\(s.rawValue)" }
            if let c = f.carrier { q += "&amp;carrier=\(esc(c))" }
            body += "<p><a href=\"/console/shipments?\(q)\">→</a></p>"
        }
        return (t("shipments"), body)
    }

    /// The label as a label printer lays it out (100 × 150 mm), one per parcel.
    static func labelHTML(_ l: ShipmentLabel, _ t: Texts) -> String {
        let cod = l.codAmount > 0 ? "<p class=\"label-cod\"><b>\(esc(t("cod")))</b> \(l.currency) \(Money.decimal(l.codAmount, currency: l.currency))</p>" : ""
        return l.parcels.map { p in
            """
            <section class="shipping-label" style="border:2px solid #000;padding:12px;max-width:100mm;margin-bottom:16px;break-after:page">
            <p><b>\(esc(l.carrierName))</b> · \(esc(l.serviceName))</p>
            <p style="font-family:monospace;font-size:28px;letter-spacing:2px;text-align:center;border:1px solid #000;padding:8px" aria-label="barcode \(esc(l.barcodeSymbology))">\(esc(l.barcode))</p>
            <p style="text-align:center"><code>\(esc(l.trackingNumber))</code></p>
            <p><b>\(esc(t("shipTo")))</b> \(esc(l.shipTo.name)) \(esc(l.shipTo.phone ?? ""))<br>\(esc(l.shipTo.address))</p>
            <p><b>\(esc(t("shipFrom")))</b> \(esc(l.shipFrom.name)) \(esc(l.shipFrom.phone ?? ""))<br>\(esc(l.shipFrom.address))</p>
            <p>\(esc(t("parcel"))) \(p.n)/\(p.of) · \(esc(t("weight"))) \(p.weightGrams) g · \(esc(t("order"))) <code>\(esc(l.orderId))</code></p>
            \(cod)<p class="muted"><small>\(esc(t("printedAt"))) \(esc(l.printedAt.formatted(.iso8601)))</small></p>
            </section>
            """
        }.joined()
    }
}
