import Foundation
import Hummingbird
import O2OCore
import O2OFulfillment
import O2ONetwork

extension Texts {
    /// The fulfilment pages' texts (looked up after the delivery ones).
    static let fulfillmentTable: [String: (String, String)] = [
        "fulfillment": ("Work queue", "门店作业"),
        "pickups": ("Pickup counter", "自提核销"),
        "fo_assigned": ("To accept", "待接单"),
        "fo_accepted": ("Accepted", "已接单"),
        "fo_picking": ("Picking", "拣货中"),
        "fo_packed": ("Packed", "已打包"),
        "fo_ready_for_pickup": ("Ready for pickup", "待自提"),
        "fo_shipped": ("Shipped", "已发货"),
        "fo_out_for_delivery": ("Out for delivery", "配送中"),
        "fo_delivered": ("Delivered", "已送达"),
        "fo_picked_up": ("Picked up", "已自提"),
        "fo_rejected": ("Rejected", "已拒单"),
        "fo_cancelled": ("Cancelled", "已取消"),
        "acceptBy": ("Accept by", "接单时限"),
        "overdue": ("overdue", "已超时"),
        "accept": ("Accept", "接单"),
        "rejectIt": ("Reject", "拒单"),
        "pick": ("Start picking", "开始拣货"),
        "pack": ("Packed", "打包完成"),
        "makeReady": ("Ready for pickup", "备货完成"),
        "ship": ("Shipped", "发货"),
        "sendOut": ("Out for delivery", "出发配送"),
        "handOver": ("Hand over", "核销交付"),
        "nothingHere": ("Nothing here.", "暂无。"),
        "pickupCode": ("Pickup code", "取货码"),
        "phoneLast4": ("Phone (last 4 digits or full)", "手机号（后四位或完整）"),
        "handedOver": ("Handed over", "已交付"),
        "rr_out_of_stock": ("out of stock", "缺货"),
        "rr_damaged": ("damaged", "破损"),
        "rr_other": ("other (say why)", "其他（请说明）"),
        "expiresAt": ("Waits until", "保留至"),
        "lines": ("Lines", "商品"),
    ]
}

extension Console {
    func registerFulfillment(on group: RouterGroup<O2ORequestContext>) {
        registerShipments(on: group)
        group.get("fulfillment") { req, ctx in
            try await page(req, ctx, active: "fulfillment", needs: .ordersRead) { t in try await workQueue(Self.query(req, "location"), t, ctx) }
        }
        // The queue's buttons: the same operations as the API, answered with the queue.
        group.post("fulfillment") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 16 * 1024)))
            return try await page(req, ctx, active: "fulfillment", needs: .fulfillmentWork) { t in
                var notice = "<div class=\"notice ok\" role=\"status\">\(esc(t("done")))</div>"
                do { try await work(form, ctx) } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                } catch let e as any ProblemConvertible where e.problem.status < 500 {
                    notice = Self.problemHTML(e.problem, t, title: t("actionFailed"))
                }
                let page = try await workQueue(form["location"].flatMap { $0.isEmpty ? nil : $0 }, t, ctx)
                return (page.title, notice + page.body)
            }
        }
        group.get("pickups") { req, ctx in
            try await page(req, ctx, active: "pickups", needs: .fulfillmentWork) { t in try await pickupCounter(Self.query(req, "location"), t, ctx) }
        }
        group.post("pickups") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 16 * 1024)))
            return try await page(req, ctx, active: "pickups", needs: .fulfillmentWork) { t in
                func text(_ k: String) -> String? { form[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
                let location = text("location")
                var notice: String
                do {
                    guard let caller = ctx.caller else { throw Problem.unauthorized() }
                    let f = try await services.fulfillment.verifyPickup(.init(location: location ?? "", code: text("code") ?? "", phone: text("phone"),
                                                                              orderId: text("orderId")), caller: caller)
                    notice = "<div class=\"notice ok\" role=\"status\"><b>\(esc(t("handedOver")))</b><br>\(esc(t("order"))) "
                        + "<a href=\"/console/orders/\(esc(f.orderId))\"><code>\(esc(f.orderId))</code></a> · "
                        + f.lines.map { "\(esc($0.skuCode)) × \($0.quantity)" }.joined(separator: ", ") + "</div>"
                } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                } catch let e as any ProblemConvertible where e.problem.status < 500 {
                    notice = Self.problemHTML(e.problem, t, title: t("actionFailed"))
                }
                let page = try await pickupCounter(location, t, ctx)
                return (page.title, notice + page.body)
            }
        }
    }

    static func query(_ req: Request, _ key: String) -> String? {
        req.uri.queryParameters[Substring(key)].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The location the page is for: the one asked for, else the caller's own store.
    private func location(_ ref: String?, _ ctx: O2ORequestContext) async throws -> Location? {
        guard let ref = ref ?? ctx.principal?.scope.locationId else { return nil }
        let l = try await services.network.location(ref, scope: ctx.principal?.scope ?? .all)
        return l
    }

    private func locationForm(_ action: String, _ l: Location?, _ t: Texts) -> String {
        """
        <form class="filters" method="get" action="\(action)">
        <input name="location" value="\(esc(l?.code ?? ""))" placeholder="\(esc(t("locationCode")))" aria-label="\(esc(t("location")))" required>
        <button type="submit">\(esc(t("show")))</button></form>
        """
    }

    /// Carries out one button of the work queue.
    private func work(_ form: [String: String], _ ctx: O2ORequestContext) async throws {
        guard let caller = ctx.caller else { throw Problem.unauthorized() }
        let fulfillment = services.fulfillment
        func text(_ k: String) -> String? { form[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        let id = text("id") ?? ""
        switch form["action"] ?? "" {
        case "accept":
            _ = try await fulfillment.accept(id, caller: caller)
        case "reject":
            guard let reason = text("reason").flatMap(FulfillmentRejectReason.init(rawValue:)) else { throw Problem.validation([.init("reason", "pick a reason")]) }
            _ = try await fulfillment.reject(id, reason: reason, note: text("note"), caller: caller)
        case "ship":
            // "SF/standard": the carrier and its service level, as the queue's select offers them.
            let parts = (text("service") ?? "").split(separator: "/").map(String.init)
            _ = try await fulfillment.createShipment(.init(fulfillmentOrderId: id, carrier: parts.first ?? "", service: parts.count > 1 ? parts[1] : "",
                                                           parcels: [Parcel(weightGrams: Int(text("weightGrams") ?? "") ?? 0)]), caller: caller)
        case "transition":
            guard let to = text("to").flatMap(FulfillmentStatus.init(rawValue:)) else { throw Problem.validation([.init("to", "pick a status")]) }
            _ = try await fulfillment.transition(id, to: to, note: text("note"), caller: caller)
        default:
            throw Problem.validation([.init("action", "unknown action")])
        }
    }

    /// A store's work queue, for its tablet: what to accept (with the SLA), what is accepted,
    /// being picked or packed, and what waits for its customer — each with its next buttons.
    private func workQueue(_ ref: String?, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let l = try await location(ref, ctx)
        var body = locationForm("/console/fulfillment", l, t)
        guard let l else { return (t("fulfillment"), body) }
        let scope = ctx.principal?.scope ?? .all
        let canWork = ctx.principal?.can(.fulfillmentWork) ?? false
        let carrierOptions = try await services.fulfillment.carriers().filter(\.active).flatMap { c in
            c.services.map { "<option value=\"\(esc(c.code))/\(esc($0.code))\">\(esc(c.name)) · \(esc($0.name))</option>" }
        }.joined()
        let now = services.clock.instant()
        let time = { (d: Date) in d.formatted(Date.FormatStyle(date: .abbreviated, time: .shortened).locale(Locale(identifier: "zh_CN"))) }
        for group: [FulfillmentStatus] in [[.assigned], [.accepted], [.picking, .packed], [.readyForPickup]] {
            var items: [FulfillmentOrder] = []
            for s in group {
                var f = FulfillmentService.FulfillmentFilter(location: l.id, status: s)
                f.limit = 200
                items += try await services.fulfillment.fulfillmentOrders(f, scope: scope).items
            }
            var rows = ""
            for f in items {
                func button(_ action: String, _ label: String, _ extra: String = "") -> String {
                    "<form class=\"inline\" method=\"post\" action=\"/console/fulfillment\"><input type=\"hidden\" name=\"action\" value=\"\(action)\">"
                        + "<input type=\"hidden\" name=\"id\" value=\"\(esc(f.id))\"><input type=\"hidden\" name=\"location\" value=\"\(esc(l.code))\">"
                        + extra + "<button type=\"submit\">\(esc(label))</button></form>"
                }
                func to(_ s: FulfillmentStatus, _ label: String) -> String { button("transition", t(label), "<input type=\"hidden\" name=\"to\" value=\"\(s.rawValue)\">") }
                let pickup = f.method == .pickup || f.mode == .pickup
                var actions = ""
                if canWork {
                    switch f.status {
                    case .assigned:
                        actions += button("accept", t("accept"))
                    case .accepted:
                        actions += to(.picking, "pick")
                    case .picking, .packed:
                        if f.status == .picking { actions += to(.packed, "pack") }
                        actions += pickup ? to(.readyForPickup, "makeReady") : f.mode == .storeDelivery ? to(.outForDelivery, "sendOut")
                            : button("ship", t("ship"), "<select name=\"service\" aria-label=\"\(esc(t("carrier")))\">\(carrierOptions)</select>"
                                     + "<input name=\"weightGrams\" inputmode=\"numeric\" size=\"5\" placeholder=\"g\" aria-label=\"\(esc(t("weight"))) (g)\" required>")
                    case .readyForPickup:
                        actions += "<a class=\"button\" href=\"/console/pickups?location=\(esc(l.code))\">\(esc(t("handOver")))</a>"
                    default: break
                    }
                    if f.status.next.contains(.rejected) {
                        let reasons = ["out_of_stock", "damaged", "other"].map { "<option value=\"\($0)\">\(esc(t("rr_" + $0)))</option>" }.joined()
                        actions += button("reject", t("rejectIt"), "<select name=\"reason\" aria-label=\"\(esc(t("reason")))\">\(reasons)</select>"
                                          + "<input name=\"note\" size=\"12\" placeholder=\"\(esc(t("note")))\" aria-label=\"\(esc(t("note")))\">")
                    }
                }
                let sla = f.status == .assigned
                    ? "\(esc(time(f.acceptBy)))" + (f.acceptBy < now ? " <b class=\"tag bad\">\(esc(t("overdue")))</b>" : "")
                    : f.pickupExpiresAt.map { "\(esc(t("expiresAt"))) \(esc(time($0)))" } ?? ""
                rows += "<tr><td><a href=\"/console/orders/\(esc(f.orderId))\"><code>\(esc(f.orderId))</code></a><br><small class=\"muted\">\(esc(f.id))</small></td>"
                rows += "<td>\(f.lines.map { "\(esc($0.skuCode)) × \($0.quantity)" }.joined(separator: "<br>"))</td>"
                rows += "<td>\(esc(t("fo_" + f.status.rawValue)))</td><td class=\"nw\">\(sla)</td><td>\(actions)</td></tr>"
            }
            body += "<h2>\(esc(t("fo_" + group[0].rawValue))) (\(items.count))</h2>"
            body += items.isEmpty ? "<p class=\"muted\">\(esc(t("nothingHere")))</p>" : """
                <table class="responsive"><thead><tr><th>\(esc(t("order")))</th><th>\(esc(t("lines")))</th><th>\(esc(t("status")))</th>
                <th>\(esc(t("acceptBy")))</th><th></th></tr></thead><tbody>\(rows)</tbody></table>
                """
        }
        return ("\(t("fulfillment")) · \(l.code)", body)
    }

    /// The counter's screen: code and phone (or the scanned order), hand over; the pickups waiting.
    private func pickupCounter(_ ref: String?, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let l = try await location(ref, ctx)
        var body = locationForm("/console/pickups", l, t)
        guard let l else { return (t("pickups"), body) }
        body += """
            <form class="card" method="post" action="/console/pickups" autocomplete="off">
            <input type="hidden" name="location" value="\(esc(l.code))">
            <label>\(esc(t("pickupCode"))) <input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" size="8" required autofocus></label>
            <label>\(esc(t("phoneLast4"))) <input name="phone" inputmode="tel" maxlength="20" size="14"></label>
            <button type="submit">\(esc(t("handOver")))</button></form>
            """
        var f = FulfillmentService.FulfillmentFilter(location: l.id, status: .readyForPickup)
        f.limit = 200
        let waiting = try await services.fulfillment.fulfillmentOrders(f, scope: ctx.principal?.scope ?? .all).items
        let time = { (d: Date) in d.formatted(Date.FormatStyle(date: .abbreviated, time: .shortened).locale(Locale(identifier: "zh_CN"))) }
        var rows = ""
        for w in waiting {
            rows += "<tr><td><code>\(esc(w.orderId))</code></td><td>\(w.lines.map { "\(esc($0.skuCode)) × \($0.quantity)" }.joined(separator: "<br>"))</td>"
            rows += "<td class=\"nw\">\(w.pickupExpiresAt.map { esc(time($0)) } ?? "")</td></tr>"
        }
        body += "<h2>\(esc(t("fo_ready_for_pickup"))) (\(waiting.count))</h2>"
        body += waiting.isEmpty ? "<p class=\"muted\">\(esc(t("nothingHere")))</p>" : """
            <table class="responsive"><thead><tr><th>\(esc(t("order")))</th><th>\(esc(t("lines")))</th><th>\(esc(t("expiresAt")))</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
        return ("\(t("pickups")) · \(l.code)", body)
    }
}
