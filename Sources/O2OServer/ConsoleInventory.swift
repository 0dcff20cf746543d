import Foundation
import Hummingbird
import O2OCatalog
import O2OCore
import O2OInventory
import O2ONetwork

extension Texts {
    /// The inventory pages' texts (looked up after the catalog's).
    static let inventoryTable: [String: (String, String)] = [
        "inventory": ("Inventory", "库存"),
        "stock": ("Stock", "库存查询"),
        "location": ("Location", "门店/仓库"),
        "transfers": ("Transfers", "调拨"),
        "counts": ("Counts", "盘点"),
        "replenishment": ("Replenishment", "补货建议"),
        "from": ("From", "调出"),
        "to": ("To", "调入"),
        "lines": ("Lines", "行数"),
        "units": ("Units", "数量"),
        "discrepancy": ("Discrepancy", "差异"),
        "tr_requested": ("Requested", "已申请"), "tr_shipped": ("Shipped", "已发出"), "tr_received": ("Received", "已收货"),
        "tr_cancelled": ("Cancelled", "已取消"),
        "ck_full": ("Full count", "全盘"), "ck_cycle": ("Cycle count", "循环盘点"), "ck_snapshot": ("Store system snapshot", "门店系统快照"),
        "countedAt": ("Counted at", "盘点时间"),
        "position": ("Position", "库存位置"),
        "dailySales": ("Sales a day", "日均销量"),
        "suggested": ("Suggested", "建议补货"),
        "reasons": ("Why", "原因"),
        "source": ("Source", "来源"),
        "pickLocation": ("Give a store's code.", "请输入门店编码。"),
        "onHand": ("On hand", "在库"),
        "reserved": ("Reserved", "已预占"),
        "available": ("Available", "可用"),
        "safetyStock": ("Safety stock", "安全库存"),
        "inTransit": ("In transit", "在途"),
        "quarantined": ("Quarantined", "冻结/残次"),
        "ledger": ("Ledger", "库存流水"),
        "movement": ("Movement", "变动类型"),
        "reference": ("Reference", "单据"),
        "reason": ("Reason", "原因"),
        "at": ("At", "时间"),
        "out": ("Out", "缺货"),
        "low": ("Low", "低库存"),
        "skuOrBarcode": ("SKU code or barcode", "SKU 编码或条码"),
        "locationCode": ("Location code", "门店/仓库编码"),
        "show": ("Show", "查询"),
        "stockHint": ("Give a SKU to see it across locations, a location to see its stock, or both for the ledger.",
                      "输入 SKU 查看各门店/仓库库存；输入门店/仓库查看其库存；两者都输入查看库存流水。"),
        "mv_receipt": ("Receipt", "入库"), "mv_sale": ("Sale", "销售出库"), "mv_reservation": ("Reservation", "预占"),
        "mv_release": ("Release", "释放"), "mv_transfer_out": ("Transfer out", "调拨出库"), "mv_transfer_in": ("Transfer in", "调拨入库"),
        "mv_adjustment": ("Adjustment", "调整"), "mv_count_variance": ("Count variance", "盘点差异"),
        "mv_return_to_stock": ("Return to stock", "退货入库"), "mv_damage": ("Damage", "残损"),
    ]
}

extension Console {
    func registerInventory(on group: RouterGroup<O2ORequestContext>) {
        group.get("stock") { req, ctx in try await page(req, ctx, active: "stock", needs: .inventoryRead) { t in try await stock(req, t, ctx) } }
        group.get("transfers") { req, ctx in
            try await page(req, ctx, active: "transfers", needs: .inventoryRead) { t in try await transfers(req, t, ctx) }
        }
        group.get("counts") { req, ctx in try await page(req, ctx, active: "counts", needs: .inventoryRead) { t in try await counts(req, t, ctx) } }
        group.get("replenishment") { req, ctx in
            try await page(req, ctx, active: "replenishment", needs: .inventoryRead) { t in try await replenishment(req, t, ctx) }
        }
    }

    /// Every location by id, for pages that name locations (inventory, orders).
    func locationNames() async throws -> [String: Location] {
        var lf = LocationFilter()
        lf.limit = 100_000
        return Dictionary(try await services.network.locations(lf, scope: .all).items.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A location as its code and name.
    func named(_ id: String, _ locations: [String: Location]) -> String {
        locations[id].map { "<code>\(esc($0.code))</code> \(esc($0.name))" } ?? "<code>\(esc(id))</code>"
    }

    private func transfers(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let q = req.uri.queryParameters
        let page = try await services.inventory.transfers(location: q["location"].map(String.init), status: nil, limit: 100,
                                                          cursor: q["cursor"].map(String.init), scope: ctx.principal?.scope ?? .all)
        let locations = try await locationNames()
        var rows = ""
        for tr in page.items {
            let missing = tr.lines.compactMap(\.discrepancy).reduce(0, +)
            rows += "<tr><td class=\"nw\">\(esc(tr.createdAt.formatted(.iso8601)))</td><td>\(named(tr.fromLocationId, locations))</td>"
            rows += "<td>\(named(tr.toLocationId, locations))</td><td class=\"num\">\(tr.lines.count)</td>"
            rows += "<td class=\"num\">\(tr.lines.reduce(0) { $0 + $1.quantity })</td>"
            rows += "<td><span class=\"tag\(tr.status == .cancelled ? " warn" : tr.status == .received ? " ok" : "")\">\(esc(t("tr_" + tr.status.rawValue)))</span></td>"
            rows += "<td class=\"num\">\(missing == 0 ? "" : String(missing))</td><td>\(esc(tr.reason ?? ""))</td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"8\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var body = """
            <table class="responsive"><thead><tr><th>\(esc(t("created")))</th><th>\(esc(t("from")))</th><th>\(esc(t("to")))</th>
            <th>\(esc(t("lines")))</th><th>\(esc(t("units")))</th><th>\(esc(t("status")))</th><th>\(esc(t("discrepancy")))</th>
            <th>\(esc(t("reason")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if let next = page.nextCursor { body += "<p><a href=\"/console/transfers?\(Self.query([("cursor", next)]))\">\(esc(t("next")))</a></p>" }
        return (t("transfers"), body)
    }

    private func counts(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let q = req.uri.queryParameters
        let page = try await services.inventory.stockCounts(location: q["location"].map(String.init), limit: 100, cursor: q["cursor"].map(String.init),
                                                            scope: ctx.principal?.scope ?? .all)
        let locations = try await locationNames()
        var rows = ""
        for c in page.items {
            rows += "<tr><td class=\"nw\">\(esc(c.countedAt.formatted(.iso8601)))</td><td>\(named(c.locationId, locations))</td>"
            rows += "<td>\(esc(t("ck_" + c.kind.rawValue)))</td><td>\(esc(c.source ?? ""))</td><td class=\"nw\">\(esc(c.postedAt.formatted(.iso8601)))</td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"5\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var body = """
            <table class="responsive"><thead><tr><th>\(esc(t("countedAt")))</th><th>\(esc(t("location")))</th><th>\(esc(t("kind")))</th>
            <th>\(esc(t("source")))</th><th>\(esc(t("created")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if let next = page.nextCursor { body += "<p><a href=\"/console/counts?\(Self.query([("cursor", next)]))\">\(esc(t("next")))</a></p>" }
        return (t("counts"), body)
    }

    private func replenishment(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let scope = ctx.principal?.scope ?? .all
        let ref = req.uri.queryParameters["location"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            ?? (scope.level == .location ? scope.locationId : nil)
        var body = """
            <form class="filters" method="get" action="/console/replenishment">
            <input name="location" value="\(esc(ref ?? ""))" placeholder="\(esc(t("locationCode")))" aria-label="\(esc(t("locationCode")))">
            <button type="submit">\(esc(t("show")))</button></form>
            """
        guard let ref else { return (t("replenishment"), body + "<p class=\"muted\">\(esc(t("pickLocation")))</p>") }
        let items = try await services.inventory.replenishment(location: ref, scope: scope)
        let locations = try await locationNames()
        var rows = ""
        for s in items {
            let code = (try? await services.catalog.sku(s.skuId))?.code ?? s.skuId
            rows += "<tr><td><a href=\"/console/stock?\(Self.query([("sku", code), ("location", ref)]))\"><code>\(esc(code))</code></a></td>"
            rows += "<td class=\"num\">\(s.position)</td><td class=\"num\">\(String(format: "%.2f", s.dailySales))</td>"
            rows += "<td class=\"num\"><b>\(s.quantity)</b></td><td>\(esc(s.reasons.joined(separator: "; ")))</td>"
            rows += "<td>\(s.sourceLocationId.map { named($0, locations) + " (\(s.sourceAvailable))" } ?? "—")</td></tr>"
        }
        if items.isEmpty { rows = "<tr><td colspan=\"6\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        body += """
            <table class="responsive"><thead><tr><th>\(esc(t("sku")))</th><th>\(esc(t("position")))</th><th>\(esc(t("dailySales")))</th>
            <th>\(esc(t("suggested")))</th><th>\(esc(t("reasons")))</th><th>\(esc(t("source")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        return (t("replenishment"), body)
    }

    /// Stock by SKU across locations, a location's stock with low-stock flags, or the ledger of a
    /// SKU at a location; store staff see their own location.
    private func stock(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let scope = ctx.principal?.scope ?? .all
        let q = req.uri.queryParameters
        let skuRef = q["sku"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        var locRef = q["location"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        if locRef == nil, skuRef == nil, scope.level == .location { locRef = scope.locationId }
        let locations = try await locationNames()
        let location = locRef.flatMap { ref in locations[ref] ?? locations.values.first { $0.code == ref } }
        var sku: SKU?
        // An id, a code or a barcode.
        if let skuRef, let id = try await services.catalog.skuIds([skuRef])[skuRef] { sku = try await services.catalog.sku(id) }

        var body = """
            <form class="filters" method="get" action="/console/stock">
            <input name="sku" value="\(esc(skuRef ?? ""))" placeholder="\(esc(t("skuOrBarcode")))" aria-label="\(esc(t("skuOrBarcode")))">
            <input name="location" value="\(esc(location?.code ?? locRef ?? ""))" placeholder="\(esc(t("locationCode")))" aria-label="\(esc(t("locationCode")))">
            <button type="submit">\(esc(t("show")))</button></form>
            """
        if skuRef != nil && sku == nil || locRef != nil && location == nil {
            return (t("stock"), body + "<p class=\"muted\">\(esc(t("notFound")))</p>")
        }
        guard sku != nil || location != nil else { return (t("stock"), body + "<p class=\"muted\">\(esc(t("stockHint")))</p>") }

        var f = InventoryService.BalanceFilter()
        f.sku = sku?.id
        f.location = location?.id
        f.nonZero = true
        f.limit = 200
        f.cursor = q["cursor"].map(String.init)
        let page = try await services.inventory.balances(f, scope: scope)
        var codes: [String: String] = [:]
        if sku == nil { for id in Set(page.items.map(\.skuId)) { codes[id] = (try? await services.catalog.sku(id))?.code } }
        var rows = ""
        for b in page.items {
            let flag = b.available == 0 ? "<span class=\"tag warn\">\(esc(t("out")))</span>"
                : b.available <= max(2, b.safetyStock) ? "<span class=\"tag\">\(esc(t("low")))</span>" : ""
            let l = locations[b.locationId]
            let first = sku == nil
                ? "<a href=\"/console/stock?sku=\(esc(codes[b.skuId] ?? b.skuId))&location=\(esc(l?.code ?? b.locationId))\"><code>\(esc(codes[b.skuId] ?? b.skuId))</code></a>"
                : "<a href=\"/console/stock?sku=\(esc(sku!.code))&location=\(esc(l?.code ?? b.locationId))\"><code>\(esc(l?.code ?? b.locationId))</code></a> \(esc(l?.name ?? ""))"
            rows += "<tr><td>\(first)</td><td class=\"num\">\(b.onHand)</td><td class=\"num\">\(b.reserved)</td><td class=\"num\">\(b.safetyStock)</td>"
            rows += "<td class=\"num\"><b>\(b.available)</b> \(flag)</td><td class=\"num\">\(b.inTransit)</td><td class=\"num\">\(b.quarantined)</td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"7\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        let heading = sku.map { "\($0.code) · " + $0.options.sorted { $0.key < $1.key }.map(\.value).joined(separator: " / ") } ?? ""
        body += """
            <h2>\(esc(heading))\(esc(location.map { (heading.isEmpty ? "" : " @ ") + "\($0.code) \($0.name)" } ?? ""))</h2>
            <table class="responsive"><thead><tr><th>\(esc(t(sku == nil ? "sku" : "location")))</th><th>\(esc(t("onHand")))</th>
            <th>\(esc(t("reserved")))</th><th>\(esc(t("safetyStock")))</th><th>\(esc(t("available")))</th><th>\(esc(t("inTransit")))</th>
            <th>\(esc(t("quarantined")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if let next = page.nextCursor {
            body += "<p><a href=\"/console/stock?\(Self.query([("sku", skuRef), ("location", locRef), ("cursor", next)]))\">\(esc(t("next")))</a></p>"
        }
        if let sku, let location {
            var mf = InventoryService.MovementFilter()
            mf.sku = sku.id
            mf.location = location.id
            mf.limit = 100
            let moves = try await services.inventory.movements(mf, scope: scope).items
            var lines = ""
            for m in moves {
                let delta = { (n: Int) in n == 0 ? "" : (n > 0 ? "+\(n)" : "\(n)") }
                lines += "<tr><td class=\"nw\">\(esc(m.at.formatted(.iso8601)))</td><td>\(esc(t("mv_" + m.kind.rawValue)))</td>"
                lines += "<td class=\"num\">\(delta(m.onHandDelta))</td><td class=\"num\">\(delta(m.reservedDelta))</td><td class=\"num\">\(delta(m.inTransitDelta))</td>"
                lines += "<td class=\"num\">\(delta(m.quarantinedDelta))</td><td>\(esc([m.referenceType, m.referenceId].compactMap { $0 }.joined(separator: " ")))</td>"
                lines += "<td>\(esc(m.reason ?? ""))</td></tr>"
            }
            if moves.isEmpty { lines = "<tr><td colspan=\"8\" class=\"muted\">\(esc(t("none")))</td></tr>" }
            body += """
                <h2>\(esc(t("ledger")))</h2>
                <table class="responsive"><thead><tr><th>\(esc(t("at")))</th><th>\(esc(t("movement")))</th><th>\(esc(t("onHand")))</th>
                <th>\(esc(t("reserved")))</th><th>\(esc(t("inTransit")))</th><th>\(esc(t("quarantined")))</th><th>\(esc(t("reference")))</th>
                <th>\(esc(t("reason")))</th></tr></thead><tbody>\(lines)</tbody></table>
                """
        }
        return (t("stock"), body)
    }
}
