import Foundation
import Hummingbird
import O2OCatalog
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
        // "who" is the audit log's (操作人): the promotion pages say "audience".
        "audience": ("Who", "对象"),
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
        "value": ("Value (% off, ¥ off, or the price ¥)", "力度（折扣%、减免元或价格元）"),
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
        "bk_percentOff": ("Percent off", "折扣"), "bk_amountOff": ("Amount off", "立减"), "bk_threshold": ("Spend threshold", "满减"),
        "bk_buyXGetY": ("Buy X get Y", "买X送Y"), "bk_gift": ("Gift with purchase", "赠品"), "bk_specialPrice": ("Special price", "特价"),
        "bk_bundlePrice": ("Bundle price", "组合价"), "bk_freeShipping": ("Free shipping", "包邮"), "bk_pointsMultiplier": ("Points multiplier", "积分加倍"),
        "buyQuantity": ("Buy (units)", "买（件）"),
        "getQuantity": ("Get free (units)", "送（件）"),
        "giftSku": ("Gift SKU (id or code)", "赠品 SKU（ID 或编码）"),
        "giftQuantity": ("Gift units", "赠品数量"),
        "bundleQuantity": ("Units per bundle", "每组件数"),
        "multiplier": ("Points multiplier (2–10)", "积分倍数（2–10）"),
        "containsSkus": ("Cart contains SKU ids", "购物车包含 SKU ID"),
        "containsCategories": ("Cart contains category ids", "购物车包含品类 ID"),
        "containsBrands": ("Cart contains brand ids", "购物车包含品牌 ID"),
        "excludesSkus": ("Cart must not contain SKU ids", "购物车不得包含 SKU ID"),
        "excludesCategories": ("Cart must not contain category ids", "购物车不得包含品类 ID"),
        "excludesBrands": ("Cart must not contain brand ids", "购物车不得包含品牌 ID"),
        "minQuantity": ("Minimum units", "最少件数"),
        "minAmount": ("Minimum amount ¥", "最低金额（元）"),
        "segmentIds": ("Segment ids", "分群 ID"),
        "weekdaysIso": ("Weekdays (ISO: 1 Monday … 7 Sunday; empty: every day)", "星期（ISO：1 周一 … 7 周日；留空为每天）"),
        "commaHint": ("Lists are comma-separated; leave a field empty when it does not apply.", "多个值用逗号分隔；不适用的字段留空。"),
        "sendCampaign": ("Send a campaign", "发送营销消息"),
        "segment": ("Segment", "分群"),
        "send": ("Send", "发送"),
        "campaignNote": ("Members without consent on the template's channel, without an address on it, or over the frequency cap are skipped. The segment's members are those of its last refresh.",
                         "未授权该渠道、没有该渠道联系方式或超出频次上限的会员将被跳过。发送对象为分群最近一次更新时的成员。"),
        "noTemplates": ("No message templates yet: create one with POST /api/v1/message-templates.", "暂无消息模板：请通过 POST /api/v1/message-templates 创建。"),
        "campaignQueued": ("Campaign sent", "消息已发送"),
        "campaignReplayed": ("This form was already sent: nothing new was queued", "此表单已提交过：未重复发送"),
        "queued": ("Queued", "已排队"),
        "skippedNoConsent": ("Skipped, no consent", "跳过：未授权"),
        "skippedFrequencyCap": ("Skipped, frequency cap", "跳过：超出频次上限"),
        "skippedNoAddress": ("Skipped, no address", "跳过：无联系方式"),
        "deals": ("Flash sales and group buys", "秒杀与拼团"),
        "flashSales": ("Flash sales", "限时秒杀"),
        "groupBuys": ("Group buys", "拼团"),
        "salePrice": ("Price", "活动价"),
        "soldOfBudget": ("Sold / on sale", "已售 / 总量"),
        "groupSize": ("Group of", "成团人数"),
        "formWithin": ("Form within", "成团时限"),
        "groupsForming": ("Forming", "拼团中"),
        "groupsFormed": ("Formed", "已成团"),
        "groupsDissolved": ("Dissolved", "未成团"),
        "dealsHint": ("Create them with POST /api/v1/flash-sales and POST /api/v1/group-buys; an order claims a flash-sale unit or joins a group when it is placed.",
                      "通过 POST /api/v1/flash-sales 与 POST /api/v1/group-buys 创建；下单时占用秒杀名额或加入拼团。"),
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
                    let draft = try await resolveReferences(try Self.promotionDraft(form))
                    let p = try await services.promotions.create(draft, caller: caller)
                    notice = "<div class=\"notice ok\" role=\"status\">\(esc(t("done"))): <a href=\"/console/promotions/\(esc(p.id))\">\(esc(p.name))</a></div>"
                } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                } catch let e as any ProblemConvertible where e.problem.status < 500 {
                    // e.g. two exclusive promotions of one priority that could meet in a cart
                    notice = Self.problemHTML(e.problem, t, title: t("actionFailed"))
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
        group.get("deals") { req, ctx in
            try await page(req, ctx, active: "deals", needs: .promotionsRead) { t in try await deals(t) }
        }
        group.get("segments") { req, ctx in
            try await page(req, ctx, active: "segments", needs: .membersRead) { t in try await segments(t, ctx) }
        }
        // The campaign form: a template to a segment, once per rendered form (its token is the campaign's reference).
        group.post("segments") { req, ctx in
            var req = req
            let form = FormURLEncoding.parse(String(buffer: try await req.collectBody(upTo: 4 * 1024)))
            return try await page(req, ctx, active: "segments", needs: .membersMessage) { t in
                var notice: String
                do {
                    guard let caller = ctx.caller else { throw Problem.unauthorized() }
                    notice = try await sendCampaign(form, t, caller)
                } catch let p as Problem where p.status < 500 {
                    notice = Self.problemHTML(p, t, title: t("actionFailed"))
                }
                let page = try await segments(t, ctx)
                return (page.title, notice + page.body)
            }
        }
    }

    /// Sends the chosen template to the chosen segment; the notice says what became of its members.
    /// The form's `reference` (a token made when the page was rendered) makes a second post of the
    /// same form answer the first campaign and queue nothing.
    private func sendCampaign(_ form: [String: String], _ t: Texts, _ caller: Caller) async throws -> String {
        func text(_ k: String) -> String? { form[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        var v = Validator()
        let segment = text("segment"), template = text("template"), reference = text("reference")
        v.check(segment != nil, "segment", "is required: choose a segment")
        v.check(template != nil, "template", "is required: choose a message template")
        v.check(reference != nil, "reference", "is missing: open the page again and send from there")
        try v.finish()
        let posted: CampaignPosting
        do {
            posted = try await services.members.sendToSegment(segment ?? "", templateCode: template ?? "", reference: reference, caller: caller)
        } catch let p as Problem {
            throw p.renamingFields(["templateCode": "template"])
        }
        let c = posted.campaign
        let counts: [(String, Int)] = [
            ("queued", c.queued), ("skippedNoConsent", c.skippedNoConsent), ("skippedFrequencyCap", c.skippedFrequencyCap),
            ("skippedNoAddress", c.skippedNoAddress),
        ]
        return "<div class=\"notice ok\" role=\"status\"><b>\(esc(t(posted.replayed ? "campaignReplayed" : "campaignQueued")))</b>"
            + " <code>\(esc(c.templateCode))</code> · \(esc(c.channel.rawValue))<br>"
            + counts.map { "\(esc(t($0.0))): \($0.1)" }.joined(separator: " · ") + "</div>"
    }

    /// The form names channels by code and the gift by SKU id or code; rules keep ids, as the API's do.
    /// An unknown one is a 422 naming the form's field.
    private func resolveReferences(_ draft: PromotionDraft) async throws -> PromotionDraft {
        var d = draft
        var v = Validator()
        for (i, c) in d.where.channels.enumerated() {
            do { d.where.channels[i] = try await services.catalog.channel(c).id } catch let p as Problem where p.status == 404 {
                v.add("channels", "no channel '\(c)'")
            }
        }
        if var gift = d.what?.gift {
            do {
                let sku = try await services.catalog.sku(gift.skuId)
                gift.skuId = sku.id
                gift.skuCode = sku.code
                d.what?.gift = gift
            } catch let p as Problem where p.status == 404 {
                v.add("giftSku", "no SKU '\(gift.skuId)'")
            }
        }
        try v.finish()
        return d
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
            <th>\(esc(t("audience")))</th><th>\(esc(t("when")))</th><th>\(esc(t("where")))</th><th>\(esc(t("priority")))</th>
            <th>\(esc(t("budget")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if ctx.principal?.can(.promotionsManage) == true {
            let today = Self.day(services.clock.instant()), later = Self.day(services.clock.instant().addingTimeInterval(30 * 86_400))
            let kinds = Benefit.Kind.allCases.map { "<option value=\"\($0.rawValue)\">\(esc(t("bk_" + $0.rawValue)))</option>" }.joined()
            let audiences = Audience.Kind.allCases.map { "<option value=\"\($0.rawValue)\">\(esc(t("au_" + $0.rawValue)))</option>" }.joined()
            // One field per fact; what a benefit kind does not use is left empty (the value field carries a percentage,
            // an amount off or a price, as the kind says).
            func field(_ name: String, _ label: String, _ extra: String = "") -> String {
                "<label>\(esc(t(label))) <input name=\"\(name)\"\(extra)></label>"
            }
            body += """
                <h2>\(esc(t("newPromotion")))</h2>
                <form method="post" action="/console/promotions" class="stack">
                <p class="muted">\(esc(t("commaHint")))</p>
                <label>\(esc(t("name"))) <input name="name" required maxlength="100"></label>
                <fieldset><legend>\(esc(t("what")))</legend>
                <label>\(esc(t("benefitKind"))) <select name="kind">\(kinds)</select></label>
                \(field("value", "value", " inputmode=\"decimal\""))
                \(field("minimum", "minimum", " inputmode=\"decimal\""))
                \(field("buyQuantity", "buyQuantity", " type=\"number\" min=\"1\" max=\"100\""))
                \(field("getQuantity", "getQuantity", " type=\"number\" min=\"1\" max=\"100\""))
                \(field("giftSku", "giftSku", " maxlength=\"100\""))
                \(field("giftQuantity", "giftQuantity", " type=\"number\" min=\"1\" max=\"100\" placeholder=\"1\""))
                \(field("bundleQuantity", "bundleQuantity", " type=\"number\" min=\"2\" max=\"100\""))
                \(field("multiplier", "multiplier", " type=\"number\" min=\"2\" max=\"10\""))
                </fieldset>
                <fieldset><legend>\(esc(t("which")))</legend>
                \(field("containsSkus", "containsSkus"))
                \(field("containsCategories", "containsCategories"))
                \(field("containsBrands", "containsBrands"))
                \(field("excludesSkus", "excludesSkus"))
                \(field("excludesCategories", "excludesCategories"))
                \(field("excludesBrands", "excludesBrands"))
                \(field("minQuantity", "minQuantity", " type=\"number\" min=\"1\""))
                \(field("minAmount", "minAmount", " inputmode=\"decimal\""))
                </fieldset>
                <fieldset><legend>\(esc(t("audience")))</legend>
                <label>\(esc(t("audience"))) <select name="audience">\(audiences)</select></label>
                \(field("tiers", "tierCodes", " placeholder=\"gold,platinum\""))
                \(field("segments", "segmentIds"))
                </fieldset>
                <fieldset><legend>\(esc(t("when")))</legend>
                <label>\(esc(t("from"))) <input name="from" type="date" value="\(today)" required></label>
                <label>\(esc(t("to"))) <input name="to" type="date" value="\(later)" required></label>
                \(field("weekdays", "weekdaysIso", " placeholder=\"6,7\""))
                </fieldset>
                <fieldset><legend>\(esc(t("where")))</legend>
                \(field("channels", "channelCodes", " placeholder=\"WEB,POS\""))
                </fieldset>
                <label>\(esc(t("priority"))) <input name="priority" type="number" value="0" min="0" max="10000"></label>
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
            (t("status"), t("pr_" + p.status.rawValue)), (t("audience"), who), (t("when"), when),
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

    /// The latest 100 flash sales with their units sold, and the latest 100 group buys with their
    /// groups by status; SKUs by code.
    private func deals(_ t: Texts) async throws -> (title: String, body: String) {
        let sales = try await services.promotions.flashSales(limit: 100).items
        let buys = try await services.promotions.groupBuys(limit: 100).items
        let counts = try await services.promotions.groupCounts(of: buys.map(\.id))
        let codes = Dictionary(try await services.catalog.skus(ids: sales.map(\.skuId) + buys.map(\.skuId)).map { ($0.id, $0.code) },
                               uniquingKeysWith: { a, _ in a })
        func window(_ from: Date, _ to: Date) -> String { "\(Self.day(from)) – \(Self.day(to))" }
        var saleRows = ""
        for f in sales {
            saleRows += "<tr><td><code>\(esc(f.id))</code></td><td>\(esc(f.name))</td><td>\(esc(codes[f.skuId] ?? f.skuId))</td>"
            saleRows += "<td class=\"num\">\(Money.decimal(f.price, currency: f.currency))</td><td class=\"num\">\(f.sold) / \(f.budget)</td><td class=\"num\">\(f.perMemberLimit)</td>"
            saleRows += "<td class=\"nw\">\(esc(window(f.startsAt, f.endsAt)))</td><td>\(esc(f.status))</td></tr>"
        }
        if saleRows.isEmpty { saleRows = "<tr><td colspan=\"8\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var buyRows = ""
        for g in buys {
            let n = counts[g.id] ?? [:]
            buyRows += "<tr><td><code>\(esc(g.id))</code></td><td>\(esc(g.name))</td><td>\(esc(codes[g.skuId] ?? g.skuId))</td>"
            buyRows += "<td class=\"num\">\(Money.decimal(g.price, currency: g.currency))</td><td class=\"num\">\(g.groupSize)</td><td class=\"num\">\(g.formWithinMinutes) min</td>"
            buyRows += "<td class=\"num\">\(g.perMemberLimit)</td><td class=\"nw\">\(esc(window(g.startsAt, g.endsAt)))</td>"
            buyRows += GroupStatus.allCases.map { "<td class=\"num\">\(n[$0] ?? 0)</td>" }.joined() + "<td>\(esc(g.status))</td></tr>"
        }
        if buyRows.isEmpty { buyRows = "<tr><td colspan=\"12\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return (t("deals"), """
            <p class="muted">\(esc(t("dealsHint")))</p>
            <h2>\(esc(t("flashSales")))</h2>
            <table class="responsive"><thead><tr><th>ID</th><th>\(esc(t("name")))</th><th>SKU</th><th>\(esc(t("salePrice")))</th>
            <th>\(esc(t("soldOfBudget")))</th><th>\(esc(t("perMember")))</th><th>\(esc(t("validity")))</th><th>\(esc(t("status")))</th></tr></thead>
            <tbody>\(saleRows)</tbody></table>
            <h2>\(esc(t("groupBuys")))</h2>
            <table class="responsive"><thead><tr><th>ID</th><th>\(esc(t("name")))</th><th>SKU</th><th>\(esc(t("salePrice")))</th>
            <th>\(esc(t("groupSize")))</th><th>\(esc(t("formWithin")))</th><th>\(esc(t("perMember")))</th><th>\(esc(t("validity")))</th>
            <th>\(esc(t("groupsForming")))</th><th>\(esc(t("groupsFormed")))</th><th>\(esc(t("groupsDissolved")))</th><th>\(esc(t("status")))</th></tr></thead>
            <tbody>\(buyRows)</tbody></table>
            """)
    }

    /// Member segments with their size at the last refresh, and the latest messages sent to them.
    /// Who may message members also gets the form that sends a template to a segment.
    private func segments(_ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        var rows = ""
        let list = try await services.members.segments(limit: MembersService.maxSegmentListItems).items
        for s in list {
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
        var campaign = ""
        if ctx.principal?.can(.membersMessage) == true, !list.isEmpty {
            let templates = try await services.members.messageTemplates(limit: 100).items
            if templates.isEmpty {
                campaign = "<h2>\(esc(t("sendCampaign")))</h2><p class=\"muted\">\(esc(t("noTemplates")))</p>"
            } else {
                let segmentOptions = list.map { s in
                    "<option value=\"\(esc(s.id))\">\(esc(s.code)) · \(esc(s.name)) (\(s.memberCount))</option>"
                }.joined()
                let templateOptions = templates.map { m in
                    "<option value=\"\(esc(m.code))\">\(esc(m.code)) · \(esc(m.channel.rawValue)) · \(esc(String(m.body.prefix(40))))</option>"
                }.joined()
                // A fresh token per rendering: posting this form twice (a double click, a reload) sends once.
                let reference = "console-" + UUID().uuidString.lowercased()
                campaign = """
                    <h2>\(esc(t("sendCampaign")))</h2>
                    <form method="post" action="/console/segments" class="stack">
                    <input type="hidden" name="reference" value="\(esc(reference))">
                    <label>\(esc(t("segment"))) <select name="segment" required>\(segmentOptions)</select></label>
                    <label>\(esc(t("template"))) <select name="template" required>\(templateOptions)</select></label>
                    <p class="muted">\(esc(t("campaignNote")))</p>
                    <button type="submit">\(esc(t("send")))</button></form>
                    """
            }
        }
        return (t("segments"), """
            <table class="responsive"><thead><tr><th>\(esc(t("code")))</th><th>\(esc(t("name")))</th><th>\(esc(t("rule")))</th>
            <th>\(esc(t("memberCount")))</th><th>\(esc(t("refreshed")))</th></tr></thead><tbody>\(rows)</tbody></table>
            \(campaign)
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

    /// A promotion from the console's form: its five W's, each fact in a field of its own. Every value
    /// the form cannot say (a bad number, a weekday 9, a missing quantity for the kind) is a 422 naming
    /// the form's field, so nothing is written. Lists are comma-separated; channels and the gift SKU
    /// are named as typed here and resolved to ids by `resolveReferences`.
    static func promotionDraft(_ form: [String: String]) throws -> PromotionDraft {
        var v = Validator()
        func text(_ k: String) -> String? { form[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        /// Yuan as typed (digits, at most two decimals), in minor units; `requiredFor` names the kind that needs it.
        func minor(_ k: String, requiredFor: String? = nil) -> Int64? {
            guard let s = text(k) else {
                if let requiredFor { v.add(k, "is required for \(requiredFor)") }
                return nil
            }
            let parts = s.split(separator: ".", omittingEmptySubsequences: false)
            let digits = parts.allSatisfy { part in !part.isEmpty && part.allSatisfy { c in c.isASCII && c.isNumber } }
            guard digits, parts.count <= 2, parts[0].count <= 10, parts.count == 1 || parts[1].count <= 2, let d = Decimal(string: s) else {
                v.add(k, "must be an amount in yuan, such as 30 or 29.90")
                return nil
            }
            return NSDecimalNumber(decimal: d * 100).int64Value
        }
        func whole(_ k: String, _ r: ClosedRange<Int>, requiredFor: String? = nil) -> Int? {
            guard let s = text(k) else {
                if let requiredFor { v.add(k, "is required for \(requiredFor)") }
                return nil
            }
            guard let n = Int(s), r.contains(n) else { v.add(k, "must be a whole number from \(r.lowerBound) to \(r.upperBound)"); return nil }
            return n
        }
        /// A comma-separated list (a Chinese comma too), trimmed, each once, in the order typed.
        func list(_ k: String) -> [String] {
            var out: [String] = []
            for part in (text(k) ?? "").split(whereSeparator: { $0 == "," || $0 == "，" }) {
                let x = part.trimmingCharacters(in: .whitespaces)
                if !x.isEmpty && !out.contains(x) { out.append(x) }
            }
            if out.count > 100 { v.add(k, "must name at most 100") }
            for x in out { v.text(x, k, max: 100) }
            return out
        }
        func date(_ k: String) -> Date? {
            guard let s = text(k), let d = try? Date(s + "T00:00:00+08:00", strategy: .iso8601) else { v.add(k, "must be a date (YYYY-MM-DD)"); return nil }
            return d
        }
        v.text(text("name"), "name", max: 200)

        // WHAT
        let kind = text("kind").flatMap(Benefit.Kind.init(rawValue:))
        if kind == nil { v.add("kind", "must be one of " + Benefit.Kind.allCases.map(\.rawValue).joined(separator: ", ")) }
        let minimum = minor("minimum")
        var what: Benefit?
        switch kind {
        case .percentOff:
            if let p = whole("value", 1...99, requiredFor: "percentOff") { what = .percentOff(p) }
        case .amountOff:
            if let a = minor("value", requiredFor: "amountOff") {
                if a > 0 { what = .amountOff(a) } else { v.add("value", "must be more than 0") }
            }
        case .threshold:
            let a = minor("value", requiredFor: "threshold")
            if text("minimum") == nil { v.add("minimum", "is required for threshold: the amount to reach") }
            if let a, let m = minimum {
                if a <= 0 { v.add("value", "must be more than 0") } else if m <= a { v.add("minimum", "must be more than the amount off") } else {
                    what = .threshold([ThresholdTier(minimum: m, amountOff: a)])
                }
            }
        case .buyXGetY:
            let buy = whole("buyQuantity", 1...100, requiredFor: "buyXGetY"), get = whole("getQuantity", 1...100, requiredFor: "buyXGetY")
            if let buy, let get { what = .buyXGetY(buy: buy, get: get) }
        case .gift:
            let quantity = text("giftQuantity") == nil ? 1 : whole("giftQuantity", 1...100)
            if let sku = text("giftSku") {
                v.text(sku, "giftSku", max: 100)
                // The SKU as typed (id or code) in both places until `resolveReferences` looks it up.
                if let quantity { what = .gift(GiftItem(skuId: sku, skuCode: sku, quantity: quantity), minimum: minimum) }
            } else {
                v.add("giftSku", "is required for gift")
            }
        case .specialPrice:
            if let p = minor("value", requiredFor: "specialPrice") { what = .specialPrice(p) }
        case .bundlePrice:
            let n = whole("bundleQuantity", 2...100, requiredFor: "bundlePrice"), p = minor("value", requiredFor: "bundlePrice")
            if let n, let p { what = .bundlePrice(quantity: n, price: p) }
        case .freeShipping:
            what = .freeShipping(minimum: minimum)
        case .pointsMultiplier:
            if let m = whole("multiplier", 2...10, requiredFor: "pointsMultiplier") { what = .pointsMultiplier(m) }
        case nil:
            break
        }

        // WHICH
        let which = Conditions(
            cartContains: ItemSet(skuIds: list("containsSkus"), categoryIds: list("containsCategories"), brandIds: list("containsBrands")),
            cartExcludes: ItemSet(skuIds: list("excludesSkus"), categoryIds: list("excludesCategories"), brandIds: list("excludesBrands")),
            minQuantity: whole("minQuantity", 1...100_000), minAmount: minor("minAmount"))

        // WHO
        var audience: Audience.Kind = .any
        if let a = text("audience") {
            if let k = Audience.Kind(rawValue: a) { audience = k } else {
                v.add("audience", "must be one of " + Audience.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }
        let tiers = audience == .tiers ? list("tiers") : []
        for code in tiers { v.code(code, "tiers", max: 40) }
        if audience == .tiers && tiers.isEmpty { v.add("tiers", "must name at least one tier code") }
        let segments = audience == .segments ? list("segments") : []
        if audience == .segments && segments.isEmpty { v.add("segments", "must name at least one segment id") }

        // WHEN
        let from = date("from"), to = date("to")
        if let from, let to, to < from { v.add("to", "must not be before from") }
        var weekdays: [Int] = []
        for day in list("weekdays") {
            if let d = Int(day), (1...7).contains(d) { weekdays.append(d) } else {
                v.add("weekdays", "'\(day.prefix(20))' is not an ISO weekday: use 1 (Monday) to 7 (Sunday)")
            }
        }

        // WHERE, and the rest
        let channels = list("channels")
        let priority = whole("priority", 0...10_000) ?? 0
        let budget = minor("budget")
        if let budget, budget <= 0 { v.add("budget", "must be more than 0, or left empty for no budget") }
        try v.finish()
        return PromotionDraft(name: text("name") ?? "", who: Audience(kind: audience, tierCodes: tiers, segmentIds: segments),
                              when: Schedule(validFrom: from!, validTo: to!.addingTimeInterval(86_400), weekdays: Array(Set(weekdays)).sorted()),
                              which: which, what: what, where: channels.isEmpty ? .everywhere : Placement(channels: channels), priority: priority,
                              exclusive: form["exclusive"] == "1", budget: budget)
    }
}
