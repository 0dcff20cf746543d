import Foundation
import Hummingbird
import O2OCore
import O2ONetwork
import O2OOrders

extension Texts {
    /// The order pages' texts (looked up after the inventory's).
    static let ordersTable: [String: (String, String)] = [
        "orders": ("Orders", "订单"),
        "order": ("Order", "订单"),
        "held": ("On hold", "挂起"),
        "anyStatus": ("Any status", "全部状态"),
        "payment": ("Payment", "支付"),
        "total": ("Total", "合计"),
        "paid": ("Paid", "已付"),
        "channel": ("Channel", "渠道"),
        "externalId": ("Channel order no.", "渠道单号"),
        "method": ("Fulfilment", "履约方式"),
        "mode": ("Sourced by", "发货方式"),
        "unitPrice": ("Unit price", "单价"),
        "priceRule": ("Price rule", "定价规则"),
        "routing": ("Routing", "订单路由"),
        "rule": ("Rule", "规则"),
        "step": ("Step", "步骤"),
        "policy": ("Policy", "策略"),
        "candidate": ("Candidate", "候选"),
        "distance": ("Distance", "距离"),
        "canTake": ("Lines it can take", "可履约行"),
        "score": ("Cost", "成本"),
        "costParts": ("Parts", "构成"),
        "excluded": ("Excluded because", "排除原因"),
        "chosen": ("Chosen", "选中"),
        "timeline": ("Timeline", "时间线"),
        "tender": ("Tender", "支付方式"),
        "captured": ("Captured", "已收"),
        "refunded": ("Refunded", "已退"),
        "pickupCode": ("Pickup code", "核销码"),
        "actor": ("By", "操作人"),
        "deliverTo": ("Deliver to", "收货地址"),
        "st_placed": ("Placed", "已下单"), "st_allocated": ("Allocated", "已分配"), "st_released": ("Released", "已下发"),
        "st_picking": ("Picking", "拣货中"), "st_shipped": ("Shipped", "已出库"), "st_ready_for_pickup": ("Ready for pickup", "待自提"),
        "st_delivered": ("Delivered", "已到货"), "st_picked_up": ("Picked up", "已自提"), "st_completed": ("Completed", "已完成"),
        "st_settled": ("Settled", "已结算"), "st_cancelled": ("Cancelled", "已取消"),
        "pay_pending": ("Unpaid", "待支付"), "pay_cod_due": ("Cash on delivery", "货到付款"), "pay_paid": ("Paid", "已支付"),
        "pay_partially_refunded": ("Partly refunded", "部分退款"), "pay_refunded": ("Refunded", "已退款"),
        "m_store_delivery": ("Store delivery", "门店配送"), "m_carrier": ("Carrier", "快递"), "m_pickup": ("Pickup", "到店自提"),
        "m_in_store": ("Sold in store", "门店销售"),
        "actions": ("Actions", "操作"), "placedFrom": ("Placed from", "下单起始日"), "placedTo": ("Placed to", "下单截止日"), "moveTo": ("Move to", "推进到"), "hold": ("Hold", "挂起"), "liftHold": ("Lift hold", "解除挂起"),
        "cancelOrder": ("Cancel order", "取消订单"), "cancelUnits": ("Cancel units of a line", "取消部分商品"),
        "rejectAssignment": ("Reject for a location (re-route)", "门店拒单（重新路由）"), "note": ("Note", "备注"),
        "line": ("Line", "行"), "routeAgain": ("Route (again, or to the location given)", "路由（重新路由或指定门店/仓）"), "done": ("Done.", "已完成。"), "actionFailed": ("Not done", "未完成"),
        "r_out_of_stock": ("Out of stock", "缺货"), "r_damaged": ("Damaged", "破损"), "r_other": ("Other", "其他"),
    ]
}

extension Console {
    func registerOrders(on group: RouterGroup<O2ORequestContext>) {
        group.get("orders") { req, ctx in try await page(req, ctx, active: "orders", needs: .ordersRead) { t in try await orders(req, t, ctx) } }
        group.get("orders/:id") { req, ctx in
            try await page(req, ctx, active: "orders", needs: .ordersRead) { t in try await orderDetail(ctx.parameters.get("id") ?? "", t, ctx) }
        }
        // The detail page's action forms: the same operations as the API, answered with the page.
        group.post("orders/:id") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 16 * 1024)))
            let id = ctx.parameters.get("id") ?? ""
            return try await page(req, ctx, active: "orders", needs: .ordersManage) { t in
                var notice = "<div class=\"notice ok\" role=\"status\">\(esc(t("done")))</div>"
                do { try await act(id, form, ctx) } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                } catch let e as any ProblemConvertible where e.problem.status < 500 {
                    notice = Self.problemHTML(e.problem, t, title: t("actionFailed"))
                }
                let page = try await orderDetail(id, t, ctx)
                return (page.title, notice + page.body)
            }
        }
    }

    /// Carries out one action form of the order page.
    private func act(_ id: String, _ form: [String: String], _ ctx: O2ORequestContext) async throws {
        guard let caller = ctx.caller else { throw Problem.unauthorized() }
        let orders = services.orders
        func text(_ k: String) -> String? { form[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        switch form["action"] ?? "" {
        case "advance":
            guard let next = text("status").flatMap(OrderStatus.init(rawValue:)) else { throw Problem.validation([.init("status", "pick a status")]) }
            _ = try await orders.advance(id, to: next, note: text("note"), pickupCode: text("pickupCode"), caller: caller)
        case "hold", "releaseHold":
            guard let kind = text("kind").flatMap(HoldKind.init(rawValue:)) else { throw Problem.validation([.init("kind", "pick a hold")]) }
            _ = form["action"] == "hold" ? try await orders.hold(id, kind, note: text("note"), caller: caller)
                : try await orders.releaseHold(id, kind, note: text("note"), caller: caller)
        case "cancel":
            _ = try await orders.cancel(id, reason: text("reason") ?? "", caller: caller)
        case "cancelLines":
            guard let line = text("line").flatMap(Int.init), let quantity = text("quantity").flatMap(Int.init) else {
                throw Problem.validation([.init("lines[0]", "give a line number and a quantity")])
            }
            _ = try await orders.cancelLines(id, lines: [(line: line, quantity: quantity)], reason: text("reason") ?? "", caller: caller)
        case "reject":
            guard let reason = text("reason").flatMap(RejectReason.init(rawValue:)) else { throw Problem.validation([.init("reason", "pick a reason")]) }
            _ = try await orders.reject(id, location: text("location") ?? "", reason: reason, note: text("note"), caller: caller)
        case "route":
            _ = try await orders.route(id, to: text("location"), note: text("note"), caller: caller)
        default:
            throw Problem.validation([.init("action", "unknown action")])
        }
    }

    /// The forms of what can be done with the order now.
    private func actionForms(_ o: Order, _ t: Texts, _ locations: [String: Location]) -> String {
        let action = "/console/orders/\(esc(o.id))"
        func form(_ name: String, _ fields: String, _ button: String) -> String {
            "<form class=\"filters\" method=\"post\" action=\"\(action)\"><input type=\"hidden\" name=\"action\" value=\"\(name)\">\(fields)"
                + "<button type=\"submit\">\(esc(button))</button></form>"
        }
        func input(_ name: String, _ label: String, size: Int = 16) -> String {
            "<input name=\"\(name)\" placeholder=\"\(esc(label))\" aria-label=\"\(esc(label))\" size=\"\(size)\">"
        }
        var out = ""
        let next = o.status.next.filter { $0 != .cancelled }
        if !next.isEmpty {
            let options = next.map { "<option value=\"\($0.rawValue)\">\(esc(t("st_" + $0.rawValue)))</option>" }.joined()
            let code = o.status == .readyForPickup ? input("pickupCode", t("pickupCode"), size: 8) : ""
            out += form("advance", "<select name=\"status\" aria-label=\"\(esc(t("moveTo")))\">\(options)</select>\(code)\(input("note", t("note")))", t("moveTo"))
        }
        if ![.cancelled, .completed, .settled].contains(o.status) {
            let kinds = HoldKind.allCases.map { "<option value=\"\($0.rawValue)\">\(esc($0.rawValue))</option>" }.joined()
            out += form("hold", "<select name=\"kind\" aria-label=\"\(esc(t("hold")))\">\(kinds)</select>\(input("note", t("note")))", t("hold"))
            if !o.holds.isEmpty {
                let held = o.holds.map { "<option value=\"\($0.rawValue)\">\(esc($0.rawValue))</option>" }.joined()
                out += form("releaseHold", "<select name=\"kind\" aria-label=\"\(esc(t("liftHold")))\">\(held)</select>\(input("note", t("note")))", t("liftHold"))
            }
        }
        if o.status.next.contains(.cancelled) {
            out += form("cancel", input("reason", t("reason"), size: 30), t("cancelOrder"))
            out += form("cancelLines", input("line", t("line"), size: 4) + input("quantity", t("units"), size: 4) + input("reason", t("reason")), t("cancelUnits"))
        }
        if [.allocated, .released, .picking].contains(o.status) {
            let sites = Set(o.lines.compactMap(\.locationId)).sorted().map { "<option value=\"\(esc($0))\">\(esc(locations[$0].map { "\($0.code) \($0.name)" } ?? $0))</option>" }.joined()
            let reasons = RejectReason.allCases.map { "<option value=\"\($0.rawValue)\">\(esc(t("r_" + $0.rawValue)))</option>" }.joined()
            out += form("reject", "<select name=\"location\" aria-label=\"\(esc(t("location")))\">\(sites)</select>"
                        + "<select name=\"reason\" aria-label=\"\(esc(t("reason")))\">\(reasons)</select>\(input("note", t("note")))", t("rejectAssignment"))
        }
        if o.holds.contains(.routing) {
            out += form("route", input("location", t("locationCode")) + input("note", t("note")), t("routeAgain"))
        }
        return out.isEmpty ? "" : "<h2>\(esc(t("actions")))</h2>" + out
    }

    private func money(_ minor: Int64, _ currency: String) -> String {
        (currency == "CNY" ? "¥" : currency + " ") + String(format: "%.2f", Double(minor) / 100)
    }

    private func statusTag(_ s: OrderStatus, _ t: Texts) -> String {
        let style = s == .cancelled ? " warn" : [.completed, .settled, .delivered, .pickedUp].contains(s) ? " ok" : ""
        return "<span class=\"tag\(style)\">\(esc(t("st_" + s.rawValue)))</span>"
    }

    private func orders(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let q = req.uri.queryParameters
        func param(_ k: String) -> String? { q[Substring(k)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        var f = OrderService.OrderFilter()
        f.channelId = param("channel")
        f.status = param("status").flatMap(OrderStatus.init(rawValue:))
        f.locationId = param("location")
        f.held = param("held") == "1" ? true : nil
        // Days as the console shows them, Beijing time: from the start of `from` to the end of `to`.
        func day(_ k: String, plus: Int) -> Date? {
            guard let v = param(k), v.count == 10 else { return nil }
            let parts = v.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, let d = Self.shanghai.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return nil }
            return d.addingTimeInterval(Double(plus) * 86_400)
        }
        f.from = day("from", plus: 0)
        f.until = day("to", plus: 1)
        f.limit = 50
        f.cursor = param("cursor")
        let page = try await services.orders.orders(f, scope: ctx.principal?.scope ?? .all)
        let channels = Dictionary(try await services.catalog.channels().map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
        var rows = ""
        for o in page.items {
            rows += "<tr><td><a href=\"/console/orders/\(esc(o.id))\"><code>\(esc(o.id))</code></a></td>"
            rows += "<td class=\"nw\">\(esc(o.createdAt.formatted(.iso8601)))</td><td>\(esc(channels[o.channelId] ?? o.channelId))</td>"
            rows += "<td>\(esc(o.externalId ?? ""))</td><td>\(statusTag(o.status, t))\(o.holds.isEmpty ? "" : " <span class=\"tag warn\">\(esc(t("held")))</span>")</td>"
            rows += "<td>\(esc(t("pay_" + o.paymentStatus.rawValue)))</td><td class=\"num\">\(money(o.total, o.currency))</td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"7\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        let statuses = OrderStatus.allCases.map { s in
            "<option value=\"\(s.rawValue)\"\(f.status == s ? " selected" : "")>\(esc(t("st_" + s.rawValue)))</option>"
        }.joined()
        var body = """
            <form class="filters" method="get" action="/console/orders">
            <input name="channel" value="\(esc(f.channelId ?? ""))" placeholder="\(esc(t("channel")))" aria-label="\(esc(t("channel")))">
            <select name="status" aria-label="\(esc(t("status")))"><option value="">\(esc(t("anyStatus")))</option>\(statuses)</select>
            <input name="location" value="\(esc(f.locationId ?? ""))" placeholder="\(esc(t("locationCode")))" aria-label="\(esc(t("locationCode")))">
            <label><input type="checkbox" name="held" value="1"\(f.held == true ? " checked" : "")> \(esc(t("held")))</label>
            <input type="date" name="from" value="\(esc(param("from") ?? ""))" aria-label="\(esc(t("placedFrom")))">
            <input type="date" name="to" value="\(esc(param("to") ?? ""))" aria-label="\(esc(t("placedTo")))">
            <button type="submit">\(esc(t("show")))</button></form>
            <table class="responsive"><thead><tr><th>\(esc(t("order")))</th><th>\(esc(t("created")))</th><th>\(esc(t("channel")))</th>
            <th>\(esc(t("externalId")))</th><th>\(esc(t("status")))</th><th>\(esc(t("payment")))</th><th>\(esc(t("total")))</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        if let next = page.nextCursor {
            let keep = [("channel", f.channelId), ("status", f.status?.rawValue), ("location", f.locationId), ("held", f.held == true ? "1" : nil),
                        ("from", param("from")), ("to", param("to"))]
                .compactMap { k, v in v.map { (k, $0) } }
            body += "<p><a href=\"/console/orders?\(Self.query(keep + [("cursor", next)]))\">\(esc(t("next")))</a></p>"
        }
        return (t("orders"), body)
    }

    private func orderDetail(_ id: String, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let o = try await services.orders.order(id, scope: ctx.principal?.scope ?? .all)
        let locations = try await locationNames()
        func place(_ id: String?) -> String { id.map { named($0, locations) } ?? "" }
        var body = "<p>\(statusTag(o.status, t)) \(esc(t("pay_" + o.paymentStatus.rawValue)))"
        if !o.holds.isEmpty { body += " <span class=\"tag warn\">\(esc(t("held"))): \(esc(o.holds.map(\.rawValue).joined(separator: ", ")))</span>" }
        body += " · \(esc(t("total"))) <b>\(money(o.total, o.currency))</b> · \(esc(t("paid"))) \(money(o.paidTotal, o.currency))"
        if let e = o.externalId { body += " · \(esc(t("externalId"))) <code>\(esc(e))</code>" }
        body += "</p>"
        if let a = o.address { body += "<p>\(esc(t("deliverTo"))): \(esc(a.name)) \(esc(a.line1))</p>" }
        if let p = o.pickupLocationId { body += "<p>\(esc(t("m_pickup"))): \(place(p)) · \(esc(t("pickupCode"))) <code>\(esc(o.pickupCode ?? ""))</code></p>" }
        var lines = ""
        for l in o.lines {
            lines += "<tr><td class=\"num\">\(l.line)</td><td><code>\(esc(l.skuCode))</code></td><td class=\"num\">\(l.quantity)</td>"
            lines += "<td class=\"num\">\(money(l.unitPrice, o.currency))</td><td>\(esc(l.priceRule))</td><td>\(place(l.locationId))</td>"
            lines += "<td>\(esc(l.mode.map { t("m_" + $0.rawValue) } ?? ""))</td><td class=\"num\">\(money(l.total, o.currency))</td></tr>"
        }
        body += """
            <h2>\(esc(t("lines")))</h2><table class="responsive"><thead><tr><th>#</th><th>SKU</th><th>\(esc(t("units")))</th>
            <th>\(esc(t("unitPrice")))</th><th>\(esc(t("priceRule")))</th><th>\(esc(t("location")))</th><th>\(esc(t("mode")))</th>
            <th>\(esc(t("total")))</th></tr></thead><tbody>\(lines)</tbody></table>
            """
        if let r = o.routing {
            let chosen = Set(r.assignments.values)
            var rows = ""
            for c in r.candidates.sorted(by: { ($0.score ?? .infinity, $0.code) < ($1.score ?? .infinity, $1.code) }) {
                let parts = c.costs.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }.joined(separator: ", ")
                rows += "<tr><td>\(place(c.locationId))\(chosen.contains(c.locationId) ? " <span class=\"tag ok\">\(esc(t("chosen")))</span>" : "")</td>"
                rows += "<td>\(esc(c.mode.map { t("m_" + $0.rawValue) } ?? ""))</td><td class=\"num\">\(String(format: "%.1f", c.distanceKm)) km</td>"
                rows += "<td>\(esc(c.lines.map(String.init).joined(separator: ", ")))</td>"
                rows += "<td class=\"num\">\(c.score.map { String(format: "%.2f", $0) } ?? "")</td><td>\(esc(parts))</td><td>\(esc(c.excluded ?? ""))</td></tr>"
            }
            body += """
                <h2>\(esc(t("routing")))</h2><p>\(esc(t("rule"))): <b>\(esc(r.rule))</b>\(r.step.map { " · \(esc(t("step"))): <b>\(esc($0))</b>" } ?? "") · \(esc(t("policy"))): \(esc(r.policy))</p>
                <table class="responsive"><thead><tr><th>\(esc(t("candidate")))</th><th>\(esc(t("mode")))</th><th>\(esc(t("distance")))</th>
                <th>\(esc(t("canTake")))</th><th>\(esc(t("score")))</th><th>\(esc(t("costParts")))</th><th>\(esc(t("excluded")))</th></tr></thead>
                <tbody>\(rows)</tbody></table>
                """
        }
        if !o.payments.isEmpty {
            var rows = ""
            for p in o.payments {
                rows += "<tr><td>\(esc(p.tender.rawValue))</td><td>\(esc(p.status.rawValue))</td><td class=\"num\">\(money(p.amount, o.currency))</td>"
                rows += "<td class=\"num\">\(money(p.captured, o.currency))</td><td class=\"num\">\(money(p.refunded, o.currency))</td></tr>"
            }
            body += """
                <h2>\(esc(t("payment")))</h2><table class="responsive"><thead><tr><th>\(esc(t("tender")))</th><th>\(esc(t("status")))</th>
                <th>\(esc(t("total")))</th><th>\(esc(t("captured")))</th><th>\(esc(t("refunded")))</th></tr></thead><tbody>\(rows)</tbody></table>
                """
        }
        var timeline = ""
        for e in o.timeline {
            timeline += "<tr><td class=\"nw\">\(esc(e.at.formatted(.iso8601)))</td><td>\(esc(e.kind))</td><td>\(statusTag(e.status, t))</td>"
            timeline += "<td><code>\(esc(e.actorId))</code></td><td>\(esc(e.note ?? ""))</td></tr>"
        }
        body += """
            <h2>\(esc(t("timeline")))</h2><table class="responsive"><thead><tr><th>\(esc(t("at")))</th><th>\(esc(t("kind")))</th>
            <th>\(esc(t("status")))</th><th>\(esc(t("actor")))</th><th>\(esc(t("reason")))</th></tr></thead><tbody>\(timeline)</tbody></table>
            """
        if ctx.principal?.can(.ordersManage) == true { body += actionForms(o, t, locations) }
        return ("\(t("order")) \(o.id)", body)
    }
}
