import Foundation
import Hummingbird
import O2OCore
import O2OMembers
import O2OPromotions

extension Texts {
    /// The promotions and segments pages' texts.
    static let promotionsTable: [String: (String, String)] = [
        "promotions": ("Promotions", "营销活动"),
        "allStatuses": ("All", "全部"),
        "promotion": ("Promotion", "活动"),
        "couponTemplates": ("Coupons", "优惠券"),
        "segments": ("Segments", "会员分群"),
        "who": ("Who", "对象"),
        "when": ("When", "时间"),
        "which": ("Which", "条件"),
        "what": ("What", "优惠"),
        "where": ("Where", "渠道门店"),
        "priority": ("Priority", "优先级"),
        "exclusive": ("Exclusive", "互斥"),
        "budget": ("Budget", "预算"),
        "budgetUsed": ("Used", "已用"),
        "report": ("Effect", "效果评估"),
        "unitsSold": ("Units", "件数"),
        "discountCost": ("Discount given", "优惠成本"),
        "revenue": ("Revenue", "销售额"),
        "membersReached": ("Members reached", "触达会员"),
        "issued": ("Issued", "已发放"),
        "redeemed": ("Redeemed", "已核销"),
        "redemptionRate": ("Redemption rate", "核销率"),
        "validity": ("Valid", "有效期"),
        "perMember": ("Per member", "每人限领"),
        "usesPerCoupon": ("Uses", "可用次数"),
        "newPromotion": ("New promotion", "新建活动"),
        "benefitKind": ("Benefit", "优惠方式"),
        "value": ("Value (% or ¥)", "力度（%或元）"),
        "minimum": ("Threshold ¥", "门槛（元）"),
        "from": ("From", "开始"),
        "to": ("To", "结束"),
        "channelCodes": ("Channel codes (empty: all)", "渠道代码（留空为全部）"),
        "tierCodes": ("Tier codes", "等级代码"),
        "budgetYuan": ("Budget ¥ (optional)", "预算（元，可选）"),
        "create": ("Create", "创建"),
        "activate": ("Activate", "启用"),
        "pause": ("Pause", "暂停"),
        "endIt": ("End", "结束"),
        "everyone": ("Everyone", "所有人"),
        "allChannels": ("every channel", "全渠道"),
        "anyCart": ("any cart", "不限"),
        "rule": ("Rule", "规则"),
        "memberCount": ("Members", "人数"),
        "refreshed": ("Refreshed", "更新于"),
        "messages": ("Latest messages", "最近消息"),
        "campaignHint": ("Send a template to a segment: POST /api/v1/member-segments/{id}/messages (consent and frequency caps kept).",
                         "向分群发送模板消息：POST /api/v1/member-segments/{id}/messages（遵守营销授权与频次上限）。"),
        "recipient": ("To", "接收方"),
        "template": ("Template", "模板"),
        "text": ("Text", "内容"),
        "time": ("Time", "时间"),
        "pr_draft": ("draft", "草稿"), "pr_active": ("active", "进行中"), "pr_paused": ("paused", "已暂停"), "pr_ended": ("ended", "已结束"),
        "au_any": ("everyone", "所有人"), "au_members": ("members", "会员"), "au_tiers": ("tiers", "指定等级"),
        "au_segments": ("segments", "指定分群"), "au_newMembers": ("new members", "新会员"),
    ]
}

extension Console {
    func registerPromotions(on group: RouterGroup<O2ORequestContext>) {
        group.get("promotions") { req, ctx in
            try await page(req, ctx, active: "promotions", needs: .promotionsRead) { t in try await promotionList(Self.param(req, "status"), t, ctx) }
        }
        group.post("promotions") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 16 * 1024)))
            return try await page(req, ctx, active: "promotions", needs: .promotionsManage) { t in
                var notice: String
                do {
                    guard let caller = ctx.caller else { throw Problem.unauthorized() }
                    let p = try await services.promotions.create(try Self.promotionDraft(form), caller: caller)
                    notice = "<div class=\"notice ok\" role=\"status\">\(esc(t("done"))): <a href=\"/console/promotions/\(esc(p.id))\">\(esc(p.name))</a></div>"
                } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                }
                let page = try await promotionList(nil, t, ctx)
                return (page.title, notice + page.body)
            }
        }
        group.get("promotions/:id") { req, ctx in
            try await page(req, ctx, active: "promotions", needs: .promotionsRead) { t in try await promotionDetail(ctx.parameters.get("id") ?? "", t, ctx) }
        }
        group.post("promotions/:id") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 4 * 1024)))
            let id = ctx.parameters.get("id") ?? ""
            return try await page(req, ctx, active: "promotions", needs: .promotionsManage) { t in
                var notice = ""
                do {
                    guard let caller = ctx.caller else { throw Problem.unauthorized() }
                    switch form["action"] {
                    case "activate": _ = try await services.promotions.activate(id, caller: caller)
                    case "pause": _ = try await services.promotions.pause(id, caller: caller)
                    case "end": _ = try await services.promotions.end(id, caller: caller)
                    default: throw Problem.validation([.init("action", "must be activate, pause or end")])
                    }
                    notice = "<div class=\"notice ok\" role=\"status\">\(esc(t("done")))</div>"
                } catch let p as Problem where p.status < 500 && p.status != 404 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                }
                let page = try await promotionDetail(id, t, ctx)
                return (page.title, notice + page.body)
            }
        }
        group.get("coupon-templates") { req, ctx in
            try await page(req, ctx, active: "couponTemplates", needs: .promotionsRead) { t in try await couponTemplates(t) }
        }
        group.get("segments") { req, ctx in
            try await page(req, ctx, active: "segments", needs: .membersRead) { t in try await segments(t) }
        }
    }

    /// Promotions, newest first, with what each gives, when and where; and a form for a new one.
    private func promotionList(_ status: String?, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let items = try await services.promotions.promotions(status: status.flatMap(PromotionStatus.init(rawValue:)), limit: 100).items
        var rows = ""
        for p in items {
            rows += "<tr><td><a href=\"/console/promotions/\(esc(p.id))\">\(esc(p.name))</a></td><td>\(esc(t("pr_" + p.status.rawValue)))</td>"
            rows += "<td>\(esc(Self.describe(p.what)))</td><td>\(esc(t("au_" + p.who.kind.rawValue)))</td>"
            rows += "<td class=\"nw\">\(esc(Self.day(p.when.validFrom))) – \(esc(Self.day(p.when.validTo)))</td><td>\(esc(Self.placement(p.where, t)))</td>"
            rows += "<td class=\"num\">\(p.priority)\(p.exclusive ? " ⛔" : "")</td>"
            rows += "<td class=\"num\">\(p.budget.map { "\(Money.decimal(p.budgetUsed)) / \(Money.decimal($0))" } ?? "—")</td></tr>"
        }
        if items.isEmpty { rows = "<tr><td colspan=\"8\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        let filters = ([nil] + PromotionStatus.allCases).map { s in
            "<a href=\"/console/promotions\(s.map { "?status=\($0.rawValue)" } ?? "")\"\(s?.rawValue == status ? " aria-current=\"page\"" : "")>"
                + "\(esc(s.map { t("pr_" + $0.rawValue) } ?? t("allStatuses")))</a>"
        }.joined(separator: " · ")
        var body = """
            <p>\(filters)</p>
            <table class="responsive"><thead><tr><th>\(esc(t("promotion")))</th><th>\(esc(t("status")))</th><th>\(esc(t("what")))</th>
            <th>\(esc(t("who")))</th><th>\(esc(t("when")))</th><th>\(esc(t("where")))</th><th>\(esc(t("priority")))</th>
            <th>\(esc(t("budget")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if ctx.principal?.can(.promotionsManage) == true {
            let today = Self.day(services.clock.instant()), later = Self.day(services.clock.instant().addingTimeInterval(30 * 86_400))
            let kinds: [Benefit.Kind] = [.percentOff, .amountOff, .threshold, .freeShipping]
            let audiences: [Audience.Kind] = [.any, .members, .newMembers, .tiers]
            body += """
                <h2>\(esc(t("newPromotion")))</h2>
                <form method="post" action="/console/promotions" class="stack">
                <label>\(esc(t("name"))) <input name="name" required maxlength="100"></label>
                <label>\(esc(t("benefitKind"))) <select name="kind">\(kinds.map { "<option>\($0.rawValue)</option>" }.joined())</select></label>
                <label>\(esc(t("value"))) <input name="value" inputmode="decimal"></label>
                <label>\(esc(t("minimum"))) <input name="minimum" inputmode="decimal"></label>
                <label>\(esc(t("from"))) <input name="from" type="date" value="\(today)" required></label>
                <label>\(esc(t("to"))) <input name="to" type="date" value="\(later)" required></label>
                <label>\(esc(t("channelCodes"))) <input name="channels" placeholder="WEB,POS"></label>
                <label>\(esc(t("who"))) <select name="audience">\(audiences.map { "<option value=\"\($0.rawValue)\">\(esc(t("au_" + $0.rawValue)))</option>" }.joined())</select></label>
                <label>\(esc(t("tierCodes"))) <input name="tiers" placeholder="gold,platinum"></label>
                <label>\(esc(t("priority"))) <input name="priority" type="number" value="0"></label>
                <label><input name="exclusive" type="checkbox" value="1"> \(esc(t("exclusive")))</label>
                <label>\(esc(t("budgetYuan"))) <input name="budget" inputmode="decimal"></label>
                <button type="submit">\(esc(t("create")))</button></form>
                """
        }
        return (t("promotions"), body)
    }

    /// One promotion's five W's, its effect so far, and the buttons that move it along.
    private func promotionDetail(_ id: String, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let p = try await services.promotions.promotion(id)
        let r = try await services.promotions.report(id)
        let who = t("au_" + p.who.kind.rawValue) + (p.who.tierCodes + p.who.segmentIds).map { " " + $0 }.joined()
        var when = "\(Self.time(p.when.validFrom)) – \(Self.time(p.when.validTo))"
        if !p.when.weekdays.isEmpty { when += " · ISO weekdays \(p.when.weekdays.map(String.init).joined(separator: ","))" }
        for w in p.when.windows { when += String(format: " · %02d:%02d–%02d:%02d", w.fromMinute / 60, w.fromMinute % 60, w.toMinute / 60, w.toMinute % 60) }
        let c = p.which
        var which: [String] = []
        func set(_ label: String, _ s: ItemSet) {
            let all = s.skuIds + s.categoryIds + s.brandIds
            if !all.isEmpty { which.append("\(label) \(all.joined(separator: ", "))") }
        }
        set("contains", c.cartContains)
        set("excludes", c.cartExcludes)
        set("history", c.historyContains)
        let facts: [(String, String)] = [
            (t("status"), t("pr_" + p.status.rawValue)), (t("who"), who), (t("when"), when),
            (t("which"), which.isEmpty ? t("anyCart") : which.joined(separator: "; ")), (t("what"), Self.describe(p.what)),
            (t("where"), Self.placement(p.where, t)), (t("priority"), "\(p.priority)\(p.exclusive ? " · \(t("exclusive"))" : "")\(p.stackGroup.map { " · \($0)" } ?? "")"),
            (t("budget"), p.budget.map { "\(Money.decimal(p.budgetUsed)) / \(Money.decimal($0))" } ?? "—"),
        ]
        let report: [(String, String)] = [
            (t("orders"), "\(r.orders)"), (t("unitsSold"), "\(r.units)"), (t("discountCost"), Money.decimal(r.discount)),
            (t("revenue"), Money.decimal(r.revenue)), (t("membersReached"), "\(r.membersReached)"),
        ] + (r.budgetLeft.map { [(t("budget"), Money.decimal($0))] } ?? [])
        var body = "<div class=\"cols\"><section><dl>" + facts.map { "<dt>\(esc($0.0))</dt><dd>\(esc($0.1))</dd>" }.joined() + "</dl></section>"
        body += "<section><h2>\(esc(t("report")))</h2><dl>" + report.map { "<dt>\(esc($0.0))</dt><dd>\(esc($0.1))</dd>" }.joined() + "</dl></section></div>"
        if ctx.principal?.can(.promotionsManage) == true {
            let actions: [(String, String)] = switch p.status {
            case .draft, .paused: [("activate", t("activate")), ("end", t("endIt"))]
            case .active: [("pause", t("pause")), ("end", t("endIt"))]
            case .ended: []
            }
            body += actions.map { a in
                "<form method=\"post\" action=\"/console/promotions/\(esc(p.id))\" style=\"display:inline\"><input type=\"hidden\" name=\"action\" value=\"\(a.0)\">"
                    + "<button type=\"submit\">\(esc(a.1))</button></form>"
            }.joined(separator: " ")
        }
        return (p.name, body)
    }

    /// Coupon templates with how many were issued and redeemed.
    private func couponTemplates(_ t: Texts) async throws -> (title: String, body: String) {
        var rows = ""
        for c in try await services.promotions.couponTemplates(limit: 100).items {
            let r = try await services.promotions.report(c.id)
            rows += "<tr><td><code>\(esc(c.id))</code></td><td>\(esc(c.name))</td><td>\(esc(Self.describe(c.benefit)))</td>"
            rows += "<td class=\"nw\">\(esc(Self.day(c.validFrom))) – \(esc(Self.day(c.validTo)))</td><td class=\"num\">\(c.perMemberLimit)</td>"
            rows += "<td class=\"num\">\(c.usesPerCoupon)</td><td class=\"num\">\(r.couponsIssued ?? c.issued)\(c.totalQuantity.map { " / \($0)" } ?? "")</td>"
            rows += "<td class=\"num\">\(r.couponsRedeemed ?? 0)</td><td class=\"num\">\(r.redemptionRate.map { String(format: "%.1f%%", $0 * 100) } ?? "—")</td>"
            rows += "<td class=\"num\">\(Money.decimal(r.discount))</td></tr>"
        }
        if rows.isEmpty { rows = "<tr><td colspan=\"10\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return (t("couponTemplates"), """
            <table class="responsive"><thead><tr><th>ID</th><th>\(esc(t("name")))</th><th>\(esc(t("what")))</th><th>\(esc(t("validity")))</th>
            <th>\(esc(t("perMember")))</th><th>\(esc(t("usesPerCoupon")))</th><th>\(esc(t("issued")))</th><th>\(esc(t("redeemed")))</th>
            <th>\(esc(t("redemptionRate")))</th><th>\(esc(t("discountCost")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """)
    }

    /// Member segments with their size at the last refresh, and the latest messages sent to them.
    private func segments(_ t: Texts) async throws -> (title: String, body: String) {
        var rows = ""
        for s in try await services.members.segments(limit: MembersService.maxSegmentListItems).items {
            let rule = (try? String(data: JSONEncoder().encode(s.rule), encoding: .utf8)) ?? ""
            rows += "<tr><td><code>\(esc(s.code))</code></td><td>\(esc(s.name))</td><td><code>\(esc(rule))</code></td>"
            rows += "<td class=\"num\">\(s.memberCount)</td><td class=\"nw\">\(esc(Self.time(s.refreshedAt)))</td></tr>"
        }
        if rows.isEmpty { rows = "<tr><td colspan=\"5\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var sent = ""
        for m in try await services.members.messages(limit: 50).items {
            sent += "<tr><td><a href=\"/console/members/\(esc(m.memberId))\"><code>\(esc(m.memberId))</code></a></td><td>\(esc(m.channel.rawValue))</td>"
            sent += "<td class=\"nw\">\(esc(m.maskedRecipient))</td><td><code>\(esc(m.templateCode))</code></td><td>\(esc(m.body))</td>"
            sent += "<td>\(esc(m.status.rawValue))\(m.error.map { " · " + esc($0) } ?? "")</td><td class=\"nw\">\(esc(Self.time(m.sentAt ?? m.createdAt)))</td></tr>"
        }
        if sent.isEmpty { sent = "<tr><td colspan=\"7\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return (t("segments"), """
            <table class="responsive"><thead><tr><th>\(esc(t("code")))</th><th>\(esc(t("name")))</th><th>\(esc(t("rule")))</th>
            <th>\(esc(t("memberCount")))</th><th>\(esc(t("refreshed")))</th></tr></thead><tbody>\(rows)</tbody></table>
            <h2>\(esc(t("messages")))</h2><p class="muted">\(esc(t("campaignHint")))</p>
            <table class="responsive"><thead><tr><th>\(esc(t("member")))</th><th>\(esc(t("channel")))</th><th>\(esc(t("recipient")))</th>
            <th>\(esc(t("template")))</th><th>\(esc(t("text")))</th><th>\(esc(t("status")))</th><th>\(esc(t("time")))</th></tr></thead>
            <tbody>\(sent)</tbody></table>
            """)
    }

    static func day(_ d: Date) -> String {
        d.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "Asia/Shanghai")!).year().month().day())
    }

    static func placement(_ w: Placement, _ t: Texts) -> String {
        var parts = [w.allChannels ? t("allChannels") : w.channels.joined(separator: ", ")]
        parts += w.locationIds + w.organisationIds + w.regionCodes
        return parts.filter { !$0.isEmpty }.joined(separator: " · ")
    }

    /// What a benefit gives, in a line.
    static func describe(_ b: Benefit) -> String {
        let yuan = { (m: Int64?) in m.map { "¥" + Money.decimal($0) } ?? "?" }
        switch b.kind {
        case .percentOff: return "\(b.percentOff ?? 0)% off"
        case .amountOff: return "\(yuan(b.amountOff)) off" + (b.perUnit ? " each" : "")
        case .threshold:
            return b.tiers.map { tier in
                let at = b.basis == .amount ? "满\(yuan(tier.minimum))" : "满\(tier.minimum)件"
                return at + (tier.amountOff.map { "减\(yuan($0))" } ?? "打\(100 - (tier.percentOff ?? 0))折")
            }.joined(separator: " / ")
        case .buyXGetY: return "buy \(b.buyQuantity ?? 0) get \(b.getQuantity ?? 0)"
        case .gift: return "gift \(b.gift?.skuCode ?? "")" + (b.minimum.map { " from \(yuan($0))" } ?? "")
        case .specialPrice: return "special price \(yuan(b.price))"
        case .bundlePrice: return "\(b.quantity ?? 0) for \(yuan(b.price))"
        case .freeShipping: return "free shipping" + (b.minimum.map { " from \(yuan($0))" } ?? "")
        case .pointsMultiplier: return "points ×\(b.multiplier ?? 1)"
        }
    }

    /// A promotion from the console's form; what the form cannot say (bad numbers) is 422 naming the field.
    static func promotionDraft(_ form: [String: String]) throws -> PromotionDraft {
        var v = Validator()
        func text(_ k: String) -> String? { form[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        func minor(_ k: String) -> Int64? {
            guard let s = text(k) else { return nil }
            guard let d = Decimal(string: s), d >= 0 else { v.add(k, "must be an amount in yuan"); return nil }
            return NSDecimalNumber(decimal: d * 100).int64Value
        }
        func date(_ k: String) -> Date? {
            guard let s = text(k), let d = try? Date(s + "T00:00:00+08:00", strategy: .iso8601) else { v.add(k, "must be a date (YYYY-MM-DD)"); return nil }
            return d
        }
        let kind = text("kind").flatMap(Benefit.Kind.init(rawValue:))
        if kind == nil { v.add("kind", "must be percentOff, amountOff, threshold or freeShipping") }
        let value = text("value")
        let minimum = minor("minimum")
        var what: Benefit?
        switch kind {
        case .percentOff:
            if let p = value.flatMap(Int.init) { what = .percentOff(p) } else { v.add("value", "must be a whole percentage") }
        case .amountOff:
            if let a = minor("value") { what = .amountOff(a) } else { v.add("value", "is required") }
        case .threshold:
            if let a = minor("value"), let m = minimum { what = .threshold([ThresholdTier(minimum: m, amountOff: a)]) } else {
                v.add("minimum", "a threshold needs the threshold and the amount off")
            }
        case .freeShipping: what = .freeShipping(minimum: minimum)
        default: break
        }
        let from = date("from"), to = date("to")
        let channels = (text("channels") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let audience = text("audience").flatMap(Audience.Kind.init(rawValue:)) ?? .any
        let tiers = (text("tiers") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let priority = text("priority").map { Int($0) } ?? 0
        if priority == nil { v.add("priority", "must be a whole number") }
        let budget = minor("budget")
        try v.finish()
        return PromotionDraft(name: text("name") ?? "", who: Audience(kind: audience, tierCodes: audience == .tiers ? tiers : []),
                              when: Schedule(validFrom: from!, validTo: to!.addingTimeInterval(86_400)), what: what,
                              where: channels.isEmpty ? .everywhere : Placement(channels: channels), priority: priority ?? 0,
                              exclusive: form["exclusive"] == "1", budget: budget)
    }
}
