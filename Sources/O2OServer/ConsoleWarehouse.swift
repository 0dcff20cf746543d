import Foundation
import Hummingbird
import O2OCore
import O2OFulfillment
import O2ONetwork

extension Texts {
    /// The warehouse pages' texts.
    static let warehouseTable: [String: (String, String)] = [
        "warehouse": ("Warehouse", "仓库作业"),
        "bins": ("Bins", "库位"),
        "zone": ("Zone", "库区"),
        "dockStock": ("On the dock (received, not put away)", "待上架（已收货）"),
        "waves": ("Pick waves", "拣货波次"),
        "buildWave": ("Build a wave", "生成波次"),
        "ordersUpTo": ("Orders (up to)", "订单数（最多）"),
        "pickList": ("Pick list", "拣货单"),
        "bin": ("Bin", "库位"),
        "tasks": ("Tasks", "任务"),
        "shortOrders": ("Left out: short in the bins", "未入波次：库位库存不足"),
        "picked": ("Picked", "已拣"),
        "quantity": ("Units", "数量"),
        "wave_open": ("Open", "拣货中"),
        "wave_picked": ("Picked", "已拣完"),
        "wave_cancelled": ("Cancelled", "已取消"),
        "printHint": ("Print this page for the picker: the list runs in walk order.", "打印本页交拣货员：按库位路径排序。"),
    ]
}

extension Console {
    func registerWarehouse(on group: RouterGroup<O2ORequestContext>) {
        group.get("warehouse") { req, ctx in
            try await page(req, ctx, active: "warehouse", needs: .inventoryRead) { t in try await warehousePage(Self.query(req, "location"), t, ctx) }
        }
        group.post("warehouse") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 16 * 1024)))
            return try await page(req, ctx, active: "warehouse", needs: .fulfillmentWork) { t in
                var notice: String
                do {
                    guard let caller = ctx.caller else { throw Problem.unauthorized() }
                    let wave = try await services.warehouse.createWave(warehouse: form["location"] ?? "", limit: Int(form["limit"] ?? "") ?? 200, caller: caller)
                    notice = "<div class=\"notice ok\" role=\"status\">\(esc(t("done"))): <a href=\"/console/waves/\(esc(wave.id))\">\(esc(wave.id))</a> · "
                        + "\(wave.fulfillmentOrderIds.count) \(esc(t("orders"))), \(wave.tasks.count) \(esc(t("tasks")))</div>"
                } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                }
                let page = try await warehousePage(form["location"], t, ctx)
                return (page.title, notice + page.body)
            }
        }
        group.get("waves/:id") { req, ctx in
            try await page(req, ctx, active: "warehouse", needs: .inventoryRead) { t in try await pickList(ctx.parameters.get("id") ?? "", t, ctx) }
        }
    }

    /// A warehouse at a glance: bins per zone, what waits on the dock, its waves, and a wave to build.
    private func warehousePage(_ ref: String?, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        var body = """
            <form class="filters" method="get" action="/console/warehouse">
            <input name="location" value="\(esc(ref ?? ""))" placeholder="\(esc(t("locationCode")))" aria-label="\(esc(t("location")))" required>
            <button type="submit">\(esc(t("show")))</button></form>
            """
        guard let ref = ref ?? ctx.principal?.scope.locationId else { return (t("warehouse"), body) }
        let scope = ctx.principal?.scope ?? .all
        let wms = services.warehouse
        let site = try await services.network.location(ref, scope: scope)
        let bins = try await wms.bins(warehouse: site.id, scope: scope)
        let zones = Dictionary(grouping: bins, by: \.zone).sorted { $0.key < $1.key }
        body += "<h2>\(esc(t("bins"))) (\(bins.count))</h2>"
        body += zones.isEmpty ? "<p class=\"muted\">\(esc(t("nothingHere")))</p>" : "<table><thead><tr><th>\(esc(t("zone")))</th><th>\(esc(t("bins")))</th></tr></thead><tbody>"
            + zones.map { "<tr><td>\(esc($0.key))</td><td>\($0.value.count) · \(esc($0.value.first!.code)) … \(esc($0.value.last!.code))</td></tr>" }.joined()
            + "</tbody></table>"
        let dock = try await wms.balances(warehouse: site.id, scope: scope).filter { $0.dock > 0 }
        let codes = try await skuCodes(dock.map(\.skuId))
        body += "<h2>\(esc(t("dockStock"))) (\(dock.count))</h2>"
        body += dock.isEmpty ? "<p class=\"muted\">\(esc(t("nothingHere")))</p>" : "<table><thead><tr><th>SKU</th><th>\(esc(t("onHand")))</th><th>\(esc(t("dockStock")))</th></tr></thead><tbody>"
            + dock.prefix(200).map { "<tr><td><code>\(esc(codes[$0.skuId] ?? $0.skuId))</code></td><td>\($0.onHand)</td><td>\($0.dock)</td></tr>" }.joined()
            + "</tbody></table>"
        if ctx.principal?.can(.fulfillmentWork) ?? false {
            body += """
                <form class="filters" method="post" action="/console/warehouse"><input type="hidden" name="location" value="\(esc(site.code))">
                <label>\(esc(t("ordersUpTo"))) <input name="limit" type="number" min="1" max="\(WarehouseService.maxOrdersPerWave)" value="200"></label>
                <button type="submit">\(esc(t("buildWave")))</button></form>
                """
        }
        let waves = try await wms.waves(warehouse: site.id, scope: scope)
        body += "<h2>\(esc(t("waves"))) (\(waves.count))</h2>"
        body += waves.isEmpty ? "<p class=\"muted\">\(esc(t("nothingHere")))</p>" : "<table><thead><tr><th>\(esc(t("pickList")))</th><th>\(esc(t("status")))</th><th>\(esc(t("orders")))</th><th>\(esc(t("tasks")))</th></tr></thead><tbody>"
            + waves.map { w in
                "<tr><td><a href=\"/console/waves/\(esc(w.id))\"><code>\(esc(w.id))</code></a></td><td>\(esc(t("wave_" + w.status.rawValue)))</td>"
                    + "<td>\(w.fulfillmentOrderIds.count)</td><td>\(w.tasks.filter { $0.picked == $0.quantity }.count)/\(w.tasks.count)</td></tr>"
            }.joined() + "</tbody></table>"
        return ("\(t("warehouse")) · \(site.code)", body)
    }

    /// A wave's pick list, printable: zone by zone in walk order, bin, SKU, units and the order each unit is for.
    private func pickList(_ id: String, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let wave = try await services.warehouse.wave(id, scope: ctx.principal?.scope ?? .all)
        let codes = try await skuCodes(wave.tasks.map(\.skuId))
        var body = "<p class=\"muted\">\(esc(t("printHint"))) \(esc(t("wave_" + wave.status.rawValue))) · \(wave.fulfillmentOrderIds.count) \(esc(t("orders")))</p>"
        var zone = ""
        var rows = ""
        for task in wave.tasks {
            if task.zone != zone {
                zone = task.zone
                rows += "<tr><th colspan=\"6\">\(esc(t("zone"))) \(esc(zone))</th></tr>"
            }
            rows += "<tr><td>\(task.seq)</td><td><b>\(esc(task.binCode))</b></td><td><code>\(esc(codes[task.skuId] ?? task.skuId))</code></td>"
                + "<td>\(task.quantity)</td><td>\(task.picked)</td><td><small>\(esc(task.fulfillmentOrderId))</small></td></tr>"
        }
        body += """
            <table><thead><tr><th>#</th><th>\(esc(t("bin")))</th><th>SKU</th><th>\(esc(t("quantity")))</th><th>\(esc(t("picked")))</th>
            <th>\(esc(t("fulfillment")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if !wave.shortages.isEmpty {
            body += "<h2>\(esc(t("shortOrders"))) (\(wave.shortages.count))</h2><ul>"
                + wave.shortages.map { "<li><code>\(esc($0.fulfillmentOrderId))</code>: \(esc(codes[$0.skuId] ?? $0.skuId)) \($0.requested) / \($0.inBins)</li>" }.joined()
                + "</ul>"
        }
        return ("\(t("pickList")) · \(wave.id)", body)
    }

    /// SKU codes by id, for lists that hold ids.
    private func skuCodes(_ ids: [String]) async throws -> [String: String] {
        Dictionary(try await services.catalog.skus(ids: Array(Set(ids))).map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
    }
}
