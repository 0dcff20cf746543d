import Foundation
import Hummingbird
import O2OCore
import O2OMembers
import O2OOrders

extension Texts {
    /// The members pages' texts.
    static let membersTable: [String: (String, String)] = [
        "members": ("Members", "会员"),
        "memberTiers": ("Tiers and points", "会员等级与积分"),
        "pointsRules": ("Points rules", "积分规则"),
        "earnBase": ("Earned per ¥1 paid on completion", "订单完成后每支付 ¥1 获得积分"),
        "payRate": ("Points that pay ¥1", "抵扣 ¥1 所需积分"),
        "payShare": ("Most of an order points may pay", "积分最多可抵订单金额"),
        "expiry": ("Expiry", "有效期"),
        "expiryYearEnd": ("end of the year after earning", "获得次年年底"),
        "expiryNever": ("never", "永不过期"),
        "earnRules": ("Earn rules (percent of the base rate; the most specific rule applies)", "积分获取规则（基础倍率的百分比；最具体的规则优先）"),
        "anyChannel": ("every channel", "所有渠道"),
        "anyCategory": ("every category", "所有品类"),
        "percent": ("Percent", "百分比"),
        "noEarnRules": ("No earn rules: every channel and category earns the base rate (PUT /api/v1/points-earn-rules).",
                        "暂无积分获取规则：所有渠道和品类按基础倍率（PUT /api/v1/points-earn-rules）。"),
        "member": ("Member", "会员"),
        "phone": ("Mobile", "手机号"),
        "phoneOrTag": ("Mobile number or tag", "手机号或标签"),
        "joined": ("Joined", "注册"),
        "joinedVia": ("Joined via", "注册渠道"),
        "tags": ("Tags", "标签"),
        "identities": ("Linked accounts", "关联账号"),
        "birthday": ("Birthday", "生日"),
        "gender": ("Gender", "性别"),
        "preferredStore": ("Preferred store", "常去门店"),
        "email": ("Email", "邮箱"),
        "tier": ("Tier", "等级"),
        "rolling": ("Last 12 months", "近12个月"),
        "toNext": ("To next tier", "距下一等级"),
        "keptUntil": ("Reviewed on", "保级评审日"),
        "points": ("Points", "积分"),
        "wallet": ("Wallet", "储值"),
        "principal": ("Paid in", "本金"),
        "bonus": ("Bonus", "赠送"),
        "expires": ("Expires", "过期"),
        "ledger": ("Ledger", "流水"),
        "kind": ("Kind", "类型"),
        "delta": ("Change", "变动"),
        "reference": ("For", "关联"),
        "reason": ("Reason", "原因"),
        "memberOrders": ("Orders in every channel", "全渠道订单"),
        "threshold": ("Reached at", "门槛"),
        "memberPrice": ("Member price", "会员价"),
        "freeShipping": ("Free shipping", "包邮"),
        "pointsRate": ("Points rate", "积分倍率"),
        "birthdayGift": ("Birthday points", "生日积分"),
        "noTiers": ("No tiers yet: set the ladder through PUT /api/v1/member-tiers.", "尚未设置会员等级：通过 PUT /api/v1/member-tiers 设置。"),
        "topTier": ("Top tier", "最高等级"),
        "mergedInto": ("Merged into", "已合并至"),
        "merges": ("Merges", "会员合并"),
        "mergedFrom": ("Merged from", "合并自"),
        "reversibleUntil": ("Reversible until", "可撤销至"),
        "reversed": ("Reversed", "已撤销"),
        "referralCode": ("Referral code", "推荐码"),
        "referredBy": ("Referred by", "推荐人"),
        "referrals": ("Referrals", "推荐的会员"),
        "firstOrder": ("First order", "首单"),
        "mergeHint": ("Merge a duplicate into this member: POST /api/v1/members/{id}/merges with its id (reversible for 30 days).",
                      "将重复会员合并到此会员：POST /api/v1/members/{id}/merges（30天内可撤销）。"),
    ]
}

extension Console {
    func registerMembers(on group: RouterGroup<O2ORequestContext>) {
        group.get("members") { req, ctx in
            try await page(req, ctx, active: "members", needs: .membersRead) { t in try await members(req, t) }
        }
        group.get("members/:id") { req, ctx in
            try await page(req, ctx, active: "members", needs: .membersRead) { t in try await member360(ctx.parameters.get("id") ?? "", t, ctx) }
        }
        group.get("member-tiers") { req, ctx in
            try await page(req, ctx, active: "memberTiers", needs: .membersRead) { t in try await tiers(t) }
        }
    }

    /// Members by number (exact, any common form) or by tag, phones masked.
    private func members(_ req: Request, _ t: Texts) async throws -> (title: String, body: String) {
        let q = Self.param(req, "q")
        let cursor = Self.param(req, "cursor")
        var items: [MemberSummary] = []
        var next: String?
        var notice = ""
        if let q, q.first.map({ $0.isNumber || $0 == "+" }) == true {
            do {
                items = try await services.members.member(phone: q).map { [MemberSummary($0)] } ?? []
            } catch let p as Problem where p.status == 422 {
                notice = "<div class=\"notice error\" role=\"alert\">\(esc(p.errors?.first?.message ?? p.title))</div>"
            }
        } else {
            do {
                let page = try await services.members.members(tag: q, limit: 50, cursor: cursor)
                (items, next) = (page.items, page.nextCursor)
            } catch let p as Problem where p.status == 422 {
                notice = "<div class=\"notice error\" role=\"alert\">\(esc(p.errors?.first?.message ?? p.title))</div>"
            }
        }
        var rows = ""
        for m in items {
            rows += "<tr><td><a href=\"/console/members/\(esc(m.id))\"><code>\(esc(m.id))</code></a></td><td class=\"nw\">\(esc(m.maskedPhone ?? "—"))</td>"
            rows += "<td>\(esc(m.name ?? ""))</td><td>\(m.tags.map { "<span class=\"tag\">\(esc($0))</span>" }.joined(separator: " "))</td>"
            rows += "<td>\(esc(m.createdChannel))</td><td class=\"nw\">\(esc(Self.time(m.createdAt)))</td></tr>"
        }
        if items.isEmpty { rows = "<tr><td colspan=\"6\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var body = """
            <form class="filters" method="get" action="/console/members">
            <input name="q" value="\(esc(q ?? ""))" placeholder="\(esc(t("phoneOrTag")))" aria-label="\(esc(t("phoneOrTag")))">
            <button type="submit">\(esc(t("show")))</button></form>\(notice)
            <table class="responsive"><thead><tr><th>\(esc(t("member")))</th><th>\(esc(t("phone")))</th><th>\(esc(t("name")))</th>
            <th>\(esc(t("tags")))</th><th>\(esc(t("joinedVia")))</th><th>\(esc(t("joined")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if let next { body += "<p><a href=\"/console/members?\(Self.query([("q", q), ("cursor", next)].compactMap { k, v in v.map { (k, $0) } }))\">\(esc(t("next")))</a></p>" }
        return (t("members"), body)
    }

    /// The merges the member took part in and the members who joined with their code.
    private func mergesAndReferrals(_ m: Member, _ t: Texts, _ link: (String) -> String) async throws -> String {
        var rows = ""
        for g in try await services.members.merges(of: m.id) {
            let other = g.targetId == m.id ? g.sourceId : g.targetId
            rows += "<tr><td><code>\(esc(g.id))</code></td><td>\(esc(t(g.targetId == m.id ? "mergedFrom" : "mergedInto")))</td><td>\(link(other))</td>"
            rows += "<td class=\"num\">\(g.moved.points)</td><td class=\"nw\">\(esc(Self.time(g.mergedAt)))</td>"
            rows += "<td class=\"nw\">\(esc(g.status == .reversed ? t("reversed") : Self.time(g.reversibleUntil)))</td></tr>"
        }
        if rows.isEmpty { rows = "<tr><td colspan=\"6\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var refs = ""
        for r in try await services.members.referrals(of: m.id) {
            refs += "<tr><td>\(link(r.refereeId))</td><td class=\"nw\">\(esc(Self.time(r.joinedAt)))</td><td>\(r.orderId.map { "<code>\(esc($0))</code>" } ?? "—")</td>"
            refs += "<td class=\"num\">\(r.reversedAt == nil ? "\(r.points)" : "\(esc(t("reversed")))")</td></tr>"
        }
        if refs.isEmpty { refs = "<tr><td colspan=\"4\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return """
            <div class="cols"><section><h2>\(esc(t("merges")))</h2><p class="muted">\(esc(t("mergeHint")))</p>
            <table class="responsive"><thead><tr><th>ID</th><th>\(esc(t("kind")))</th><th>\(esc(t("member")))</th><th>\(esc(t("points")))</th>
            <th>\(esc(t("created")))</th><th>\(esc(t("reversibleUntil")))</th></tr></thead><tbody>\(rows)</tbody></table></section>
            <section><h2>\(esc(t("referrals")))</h2><table class="responsive"><thead><tr><th>\(esc(t("member")))</th><th>\(esc(t("joined")))</th>
            <th>\(esc(t("firstOrder")))</th><th>\(esc(t("points")))</th></tr></thead><tbody>\(refs)</tbody></table></section></div>
            """
    }

    /// Member 360: who they are, where they stand, what they hold and what they bought, in every channel.
    private func member360(_ id: String, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let m = try await services.members.member(id)
        async let tier = services.members.tierStatus(id)
        async let points = services.members.pointsBalance(id)
        async let pointsLedger = services.members.pointsLedger(id, limit: 20)
        async let wallet = services.members.walletBalance(id)
        async let walletLedger = services.members.walletLedger(id, limit: 20)
        var f = OrderService.OrderFilter()
        f.memberId = id
        f.limit = 20
        let canSeeOrders = ctx.principal?.can(.ordersRead) == true
        let orders = canSeeOrders ? try await services.orders.orders(f, scope: ctx.principal?.scope ?? .all).items : []
        let status = try await tier
        let p = m.profile
        func row(_ k: String, _ v: String) -> String { "<tr><th>\(esc(t(k)))</th><td>\(v)</td></tr>" }
        var body = "<div class=\"cols\"><section><h2>\(esc(t("member")))</h2><table class=\"kv\">"
        body += row("phone", esc(m.maskedPhone ?? "—")) + row("name", esc(p.name ?? "—")) + row("birthday", esc(p.birthday ?? "—"))
        body += row("gender", esc(p.gender?.rawValue ?? "—")) + row("preferredStore", esc(p.preferredStoreId ?? "—"))
            + row("email", esc(p.email.map { MemberMessage.mask($0, .email) } ?? "—"))
        body += row("tags", p.tags.map { "<span class=\"tag\">\(esc($0))</span>" }.joined(separator: " "))
        body += row("joinedVia", esc(m.createdChannel)) + row("joined", esc(Self.time(m.createdAt)))
        body += row("identities", m.identities.isEmpty ? "—" : m.identities.map { "<code>\(esc($0.description))</code>" }.joined(separator: "<br>"))
        func link(_ id: String) -> String { "<a href=\"/console/members/\(esc(id))\"><code>\(esc(id))</code></a>" }
        if let into = m.mergedInto { body += row("mergedInto", link(into)) }
        body += row("referralCode", "<code>\(esc(m.referralCode ?? "—"))</code>")
        if let by = m.referredBy { body += row("referredBy", link(by)) }
        body += "</table></section><section><h2>\(esc(t("tier")))</h2><table class=\"kv\">"
        let figure = { (n: Int64) in status.basis == .spend ? Self.money(n, "CNY") : "\(n)" }
        body += row("tier", esc(status.tier.map { "\($0.name) (\($0.code))" } ?? "—"))
        body += row("rolling", esc(figure(status.rolling)))
        if let next = status.next, let left = status.toNext {
            let share = next.threshold > 0 ? min(100, Int(status.rolling * 100 / next.threshold)) : 100
            body += row("toNext", "\(esc(figure(left))) → \(esc(next.name)) <progress max=\"100\" value=\"\(share)\">\(share)%</progress>")
        } else if status.tier != nil {
            body += row("toNext", esc(t("topTier")))
        }
        body += row("keptUntil", esc(Self.time(status.keptUntil)))
        let w = try await wallet
        let pts = try await points
        body += row("points", "<b>\(pts.balance)</b>") + row("wallet", "<b>\(esc(Self.money(w.total, w.currency)))</b> (\(esc(t("principal")))"
            + " \(esc(Self.money(w.principal, w.currency))), \(esc(t("bonus"))) \(esc(Self.money(w.bonus, w.currency))))")
        body += "</table></section></div>"

        if canSeeOrders {
            let channels = Dictionary(try await services.catalog.channels().map { ($0.id, $0.code) }, uniquingKeysWith: { a, _ in a })
            var rows = ""
            for o in orders {
                rows += "<tr><td><a href=\"/console/orders/\(esc(o.id))\"><code>\(esc(o.id))</code></a></td><td class=\"nw\">\(esc(Self.time(o.createdAt)))</td>"
                rows += "<td>\(esc(channels[o.channelId] ?? o.channelId))</td><td>\(esc(t("st_" + o.status.rawValue)))</td>"
                rows += "<td class=\"num\">\(esc(Self.money(o.total, o.currency)))</td></tr>"
            }
            if orders.isEmpty { rows = "<tr><td colspan=\"5\" class=\"muted\">\(esc(t("none")))</td></tr>" }
            body += """
                <h2>\(esc(t("memberOrders")))</h2><table class="responsive"><thead><tr><th>\(esc(t("order")))</th><th>\(esc(t("created")))</th>
                <th>\(esc(t("channel")))</th><th>\(esc(t("status")))</th><th>\(esc(t("total")))</th></tr></thead><tbody>\(rows)</tbody></table>
                """
        }

        body += try await mergesAndReferrals(m, t, link)

        var lots = pts.lots.map { "<tr><td class=\"num\">\($0.remaining)</td><td class=\"nw\">\(esc(Self.time($0.expiresAt)))</td></tr>" }.joined()
        if lots.isEmpty { lots = "<tr><td colspan=\"2\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var prows = ""
        for e in try await pointsLedger.items {
            prows += "<tr><td class=\"nw\">\(esc(Self.time(e.at)))</td><td>\(esc(e.kind.rawValue))</td><td class=\"num\">\(e.delta > 0 ? "+" : "")\(e.delta)</td>"
            prows += "<td><code>\(esc(e.reference.type)):\(esc(e.reference.id))</code></td><td>\(esc(e.reason ?? ""))</td></tr>"
        }
        if prows.isEmpty { prows = "<tr><td colspan=\"5\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var wrows = ""
        for e in try await walletLedger.items {
            wrows += "<tr><td class=\"nw\">\(esc(Self.time(e.at)))</td><td>\(esc(e.kind.rawValue))</td>"
            wrows += "<td class=\"num\">\(esc(Self.money(e.principalDelta, e.currency)))</td><td class=\"num\">\(esc(Self.money(e.bonusDelta, e.currency)))</td>"
            wrows += "<td><code>\(esc(e.reference.type)):\(esc(e.reference.id))</code></td></tr>"
        }
        if wrows.isEmpty { wrows = "<tr><td colspan=\"5\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        body += """
            <h2>\(esc(t("points"))) · \(esc(t("ledger")))</h2>
            <div class="cols"><section><table><thead><tr><th>\(esc(t("points")))</th><th>\(esc(t("expires")))</th></tr></thead><tbody>\(lots)</tbody></table></section>
            <section><table class="responsive"><thead><tr><th>\(esc(t("created")))</th><th>\(esc(t("kind")))</th><th>\(esc(t("delta")))</th>
            <th>\(esc(t("reference")))</th><th>\(esc(t("reason")))</th></tr></thead><tbody>\(prows)</tbody></table></section></div>
            <h2>\(esc(t("wallet"))) · \(esc(t("ledger")))</h2>
            <table class="responsive"><thead><tr><th>\(esc(t("created")))</th><th>\(esc(t("kind")))</th><th>\(esc(t("principal")))</th>
            <th>\(esc(t("bonus")))</th><th>\(esc(t("reference")))</th></tr></thead><tbody>\(wrows)</tbody></table>
            """
        return ("\(t("member")) \(m.maskedPhone ?? m.id)", body)
    }

    /// The tier ladder and what each tier gives.
    private func tiers(_ t: Texts) async throws -> (title: String, body: String) {
        let ladder = try await services.members.tierLadder()
        let points = try await pointsRules(t)
        guard !ladder.tiers.isEmpty else { return (t("memberTiers"), "<p class=\"muted\">\(esc(t("noTiers")))</p>" + points) }
        var rows = ""
        for tier in ladder.tiers {
            let b = tier.benefits
            rows += "<tr><td><b>\(esc(tier.name))</b> <code>\(esc(tier.code))</code></td>"
            rows += "<td class=\"num\">\(esc(ladder.basis == .spend ? Self.money(tier.threshold, "CNY") : "\(tier.threshold)"))</td>"
            rows += "<td class=\"num\">\(b.discountPercent > 0 ? "−\(b.discountPercent)%" : "—")</td><td>\(b.freeShipping ? "✓" : "—")</td>"
            rows += "<td class=\"num\">×\(String(format: "%.2g", Double(b.pointsMultiplier) / 100))</td><td class=\"num\">\(b.birthdayGiftPoints)</td></tr>"
        }
        let body = """
            <p class="muted">\(esc(ladder.basis.rawValue)) · \(ladder.periodMonths) months · \(esc(ladder.downgrade.rawValue))</p>
            <table class="responsive"><thead><tr><th>\(esc(t("tier")))</th><th>\(esc(t("threshold")))</th><th>\(esc(t("memberPrice")))</th>
            <th>\(esc(t("freeShipping")))</th><th>\(esc(t("pointsRate")))</th><th>\(esc(t("birthdayGift")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        return (t("memberTiers"), body + points)
    }

    /// The points policy (earn and pay rates, the cap, expiry) and the earn rules per channel and
    /// category, channels and categories by name.
    private func pointsRules(_ t: Texts) async throws -> String {
        let policy = services.members.points
        let expiry = switch policy.expiry {
        case .endOfFollowingYear: t("expiryYearEnd")
        case .afterDays(let d): "\(d) d"
        case .never: t("expiryNever")
        }
        let facts = [(t("earnBase"), "\(policy.earnPerYuan)"), (t("payRate"), "\(100 * policy.pointsPerMinorUnit)"),
                     (t("payShare"), "\(policy.maxOrderShare)%"), (t("expiry"), expiry)]
        let channels = Dictionary(try await services.catalog.channels().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let categories = Dictionary(try await services.catalog.categories().map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let rules = try await services.members.earnRules().rules
        var rows = ""
        for r in rules {
            rows += "<tr><td>\(esc(r.channelId.map { channels[$0] ?? $0 } ?? t("anyChannel")))</td>"
            rows += "<td>\(esc(r.categoryId.map { categories[$0] ?? $0 } ?? t("anyCategory")))</td><td class=\"num\">\(r.percent)%</td></tr>"
        }
        if rules.isEmpty { rows = "<tr><td colspan=\"3\" class=\"muted\">\(esc(t("noEarnRules")))</td></tr>" }
        return """
            <h2>\(esc(t("pointsRules")))</h2>
            <dl class="grid">\(facts.map { "<dt>\(esc($0.0))</dt><dd>\(esc($0.1))</dd>" }.joined())</dl>
            <h3>\(esc(t("earnRules")))</h3>
            <table class="responsive"><thead><tr><th>\(esc(t("channel")))</th><th>\(esc(t("category")))</th><th>\(esc(t("percent")))</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """
    }
}
