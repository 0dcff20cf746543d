import Foundation
import Hummingbird
import O2OCore
import O2OFulfillment

extension Texts {
    /// The delivery pages' texts (looked up after the orders').
    static let deliveryTable: [String: (String, String)] = [
        "deliveryRoutes": ("Delivery routes", "配送路线"),
        "store": ("Store", "门店"),
        "vehicle": ("Vehicle", "车辆"),
        "stops": ("Stops", "站点"),
        "load": ("Load", "装载"),
        "departs": ("Departs", "出发"),
        "returns": ("Back", "返回"),
        "travel": ("Travel", "行驶"),
        "eta": ("ETA", "预计到达"),
        "units": ("Units", "件数"),
        "weight": ("Weight", "重量"),
        "noRoutes": ("No routes planned for this store.", "该门店尚无配送路线。"),
        "rt_planned": ("planned", "已规划"),
        "rt_dispatched": ("out for delivery", "配送中"),
        "rt_completed": ("completed", "已完成"),
        "sp_pending": ("pending", "待送达"),
        "sp_delivered": ("delivered", "已送达"),
        "sp_failed": ("failed", "未送达"),
    ]
}

extension Console {
    func registerDelivery(on group: RouterGroup<O2ORequestContext>) {
        group.get("delivery-routes") { req, ctx in
            try await page(req, ctx, active: "deliveryRoutes", needs: .ordersRead) { t in try await deliveryRoutes(req, t, ctx) }
        }
    }

    /// A store's routes: each drawn on one map (the store, then its stops in order) and listed
    /// stop by stop with ETAs — for the store's tablet and the driver's briefing.
    private func deliveryRoutes(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let store = req.uri.queryParameters["store"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        var body = """
            <form class="filters" method="get" action="/console/delivery-routes">
            <input name="store" value="\(esc(store ?? ""))" placeholder="\(esc(t("locationCode")))" aria-label="\(esc(t("store")))" required>
            <button type="submit">\(esc(t("show")))</button></form>
            """
        guard let store else { return (t("deliveryRoutes"), body) }
        let routes = try await services.fulfillment.deliveryRoutes(store: store, includeCompleted: false, scope: ctx.principal?.scope ?? .all)
        guard !routes.isEmpty else { return (t("deliveryRoutes"), body + "<p class=\"muted\">\(esc(t("noRoutes")))</p>") }
        let depot = try await services.network.location(routes[0].storeId, scope: .all)
        body += Self.routeMap(routes, depot: (depot.coordinates.lat, depot.coordinates.lng))
        let time = { (d: Date) in d.formatted(Date.FormatStyle(date: .omitted, time: .shortened).locale(Locale(identifier: "zh_CN"))) }
        for (i, r) in routes.enumerated() {
            var rows = ""
            for s in r.stops {
                rows += "<tr><td class=\"num\">\(s.seq)</td><td><a href=\"/console/orders/\(esc(s.orderId))\"><code>\(esc(s.orderId))</code></a></td>"
                rows += "<td class=\"num\">\(s.units)</td><td class=\"num\">\(Self.kg(s.weightGrams))</td><td class=\"nw\">\(esc(time(s.eta)))</td><td>\(esc(t("sp_" + s.status.rawValue)))</td></tr>"
            }
            body += """
                <h2><span style="display:inline-block;width:12px;height:12px;background:\(Self.routeColours[i % Self.routeColours.count])"></span> \(esc(r.vehicleId)) ·
                \(esc(t("rt_" + r.status.rawValue))) · \(esc(t("departs"))) \(esc(time(r.departAt))) · \(esc(t("returns"))) \(esc(time(r.returnAt))) ·
                \(esc(t("travel"))) \(r.travelSeconds / 60) min · \(esc(t("load"))) \(r.load) · \(Self.kg(r.weightGrams))</h2>
                <table class="responsive"><thead><tr><th>#</th><th>\(esc(t("order")))</th><th>\(esc(t("units")))</th><th>\(esc(t("weight")))</th><th>\(esc(t("eta")))</th>
                <th>\(esc(t("status")))</th></tr></thead><tbody>\(rows)</tbody></table>
                """
        }
        return (t("deliveryRoutes"), body)
    }

    static func kg(_ grams: Int) -> String { String(format: "%.1f kg", Double(grams) / 1_000) }

    static let routeColours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    /// The routes as an SVG map: an equirectangular projection of their bounding box (longitude
    /// scaled by the cosine of the latitude, so distances look right), the store as a square, each
    /// route a coloured line from the store through its stops and back, each stop numbered.
    static func routeMap(_ routes: [DeliveryRoute], depot: (lat: Double, lng: Double)) -> String {
        let points = [depot] + routes.flatMap { $0.stops.map { (lat: $0.lat, lng: $0.lng) } }
        let k = cos(depot.lat * .pi / 180)
        let xs = points.map { $0.lng * k }, ys = points.map(\.lat)
        let (minX, maxX, minY, maxY) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        let span = max(maxX - minX, maxY - minY, 1e-4)
        let size = 600.0, pad = 30.0
        func xy(_ p: (lat: Double, lng: Double)) -> String {
            let x = pad + (p.lng * k - minX) / span * (size - 2 * pad)
            let y = size - pad - (p.lat - minY) / span * (size - 2 * pad)
            return String(format: "%.1f,%.1f", x, y)
        }
        var svg = "<svg class=\"route-map\" viewBox=\"0 0 \(Int(size)) \(Int(size))\" role=\"img\" aria-label=\"routes\" style=\"max-width:600px;width:100%;border:1px solid #ccc\">"
        for (i, r) in routes.enumerated() {
            let colour = routeColours[i % routeColours.count]
            let path = ([depot] + r.stops.map { (lat: $0.lat, lng: $0.lng) } + [depot]).map(xy).joined(separator: " ")
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
            for s in r.stops {
                let c = xy((s.lat, s.lng)).split(separator: ",")
                svg += "<circle cx=\"\(c[0])\" cy=\"\(c[1])\" r=\"9\" fill=\"#fff\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
                svg += "<text x=\"\(c[0])\" y=\"\(c[1])\" dy=\"4\" text-anchor=\"middle\" font-size=\"10\">\(s.seq)</text>"
            }
        }
        let d = xy(depot).split(separator: ",")
        svg += "<rect x=\"\(Double(d[0])! - 7)\" y=\"\(Double(d[1])! - 7)\" width=\"14\" height=\"14\" fill=\"#333\"/></svg>"
        return svg
    }
}
