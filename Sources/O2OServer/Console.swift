import Foundation
import Hummingbird
import O2ONetwork
import NIOCore
import O2OCore

enum ConsoleSession {
    static let cookieName = "o2o_session"
    static let languageCookie = "o2o_lang"
}

enum Language: String, CaseIterable {
    case en
    case zh = "zh-CN"

    static func pick(_ request: Request) -> Language {
        if let q = request.uri.queryParameters["lang"].map(String.init), let l = Language(rawValue: q) { return l }
        if let c = request.cookies[ConsoleSession.languageCookie]?.value, let l = Language(rawValue: c) { return l }
        if let accept = request.headers[.acceptLanguage], accept.lowercased().hasPrefix("zh") { return .zh }
        return .en
    }
}

/// Console texts in English and Simplified Chinese.
struct Texts {
    let lang: Language
    func callAsFunction(_ key: String) -> String {
        let entry = Self.table[key] ?? Self.catalogTable[key] ?? Self.inventoryTable[key] ?? Self.ordersTable[key] ?? Self.deliveryTable[key]
            ?? Self.fulfillmentTable[key] ?? Self.warehouseTable[key] ?? Self.shipmentsTable[key] ?? Self.membersTable[key] ?? Self.promotionsTable[key] ?? (key, key)
        return lang == .zh ? entry.1 : entry.0
    }

    static let table: [String: (String, String)] = [
        "console": ("O2O console", "O2O 管理台"),
        "login": ("Sign in", "登录"),
        "logout": ("Sign out", "退出"),
        "username": ("Username", "用户名"),
        "password": ("Password", "密码"),
        "badLogin": ("Unknown username or wrong password.", "用户名或密码错误。"),
        "tooMany": ("Too many failed attempts; wait a few minutes.", "失败次数过多，请稍后再试。"),
        "overview": ("Overview", "概览"),
        "network": ("Stores & warehouses", "门店与仓库"),
        "locations": ("Locations", "门店与仓库"),
        "audit": ("Audit log", "审计日志"),
        "platform": ("Platform", "平台"),
        "apiDocs": ("API reference", "API 文档"),
        "stores": ("Stores", "门店"),
        "warehouses": ("Warehouses", "仓库"),
        "franchise": ("Franchise stores", "加盟门店"),
        "code": ("Code", "编码"),
        "name": ("Name", "名称"),
        "kind": ("Kind", "类型"),
        "city": ("City / district", "城市 / 区县"),
        "capabilities": ("Capabilities", "能力"),
        "capacity": ("Daily capacity", "日处理能力"),
        "status": ("Status", "状态"),
        "search": ("Search", "搜索"),
        "all": ("All kinds", "全部类型"),
        "next": ("Next page", "下一页"),
        "address": ("Address", "地址"),
        "coordinates": ("Coordinates", "坐标"),
        "hours": ("Opening hours", "营业时间"),
        "ownership": ("Ownership", "经营方式"),
        "organisation": ("Organisation", "所属组织"),
        "priority": ("Priority", "优先级"),
        "timeZone": ("Time zone", "时区"),
        "version": ("Version", "版本"),
        "radius": ("Delivery radius", "配送半径"),
        "history": ("Change history", "变更记录"),
        "when": ("When", "时间"),
        "who": ("Who", "操作人"),
        "action": ("Action", "操作"),
        "entity": ("Record", "对象"),
        "signedInAs": ("Signed in as", "当前用户"),
        "role": ("Role", "角色"),
        "scope": ("Scope", "数据范围"),
        "forbidden": ("Your role cannot open this page.", "您的角色无权访问此页面。"),
        "notFound": ("Not found in your scope.", "在您的数据范围内未找到。"),
        "none": ("Nothing here yet.", "暂无数据。"),
        "factory_warehouse": ("Factory warehouse", "工厂大仓"),
        "ecommerce_warehouse": ("E-commerce warehouse", "电子商务标准仓"),
        "regional_dc": ("Regional DC", "区域周转仓"),
        "store": ("Store", "门店"),
        "direct": ("Direct", "直营"),
        "active": ("Active", "营业中"),
        "inactive": ("Inactive", "停用"),
        "pickup": ("Pickup", "到店自提"),
        "shipFromStore": ("Ship from store", "门店发货"),
        "storeDelivery": ("Store delivery", "门店配送"),
        "acceptsReturns": ("Returns", "退换货"),
        "weekdays": ("Mon,Tue,Wed,Thu,Fri,Sat,Sun", "周一,周二,周三,周四,周五,周六,周日"),
    ]
}

/// The server-rendered console: sign-in, navigation by domain, and the network pages.
struct Console {
    let services: AppServices
    let principalCache: PrincipalCache
    /// The same limiter as the API's login: failures through either count together.
    let loginLimiter: LoginLimiter

    func register(on router: Router<O2ORequestContext>) {
        let group = router.group("console")
        group.get("login") { req, _ in loginPage(Texts(lang: Language.pick(req)), error: nil, setLang: req) }
        group.post("login") { req, ctx in try await login(req, ctx) }
        group.post("logout") { req, ctx in
            if let c = ctx.credential, let caller = ctx.caller {
                try await services.identity.logout(token: c, caller: caller)
                principalCache.evict(c)
            }
            return Response(status: .seeOther, headers: [
                .location: "/console/login",
                .setCookie: "\(ConsoleSession.cookieName)=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict",
            ])
        }
        group.get("") { req, ctx in try await page(req, ctx, active: "overview") { t in try await overview(t, ctx) } }
        group.get("locations") { req, ctx in try await page(req, ctx, active: "locations") { t in try await locations(req, t, ctx) } }
        group.get("locations/:id") { req, ctx in
            try await page(req, ctx, active: "locations") { t in try await locationDetail(ctx.parameters.get("id") ?? "", t, ctx) }
        }
        group.get("audit") { req, ctx in
            try await page(req, ctx, active: "audit", needs: .auditRead) { t in try await audit(t, ctx) }
        }
        registerCatalog(on: group)
        registerInventory(on: group)
        registerOrders(on: group)
        registerDelivery(on: group)
        registerFulfillment(on: group)
        registerWarehouse(on: group)
        registerMembers(on: group)
        registerPromotions(on: group)
    }

    // MARK: Sign-in

    private func loginPage(_ t: Texts, error: String?, setLang req: Request? = nil) -> HTMLPage {
        var headers: HTTPFields = [:]
        if let req, let l = req.uri.queryParameters["lang"].flatMap({ Language(rawValue: String($0)) }) {
            headers[.setCookie] = "\(ConsoleSession.languageCookie)=\(l.rawValue); Path=/; SameSite=Lax; Max-Age=31536000"
        }
        let other = t.lang == .zh ? Language.en : Language.zh
        return HTMLPage("""
            <!doctype html><html lang="\(t.lang.rawValue)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
            <title>\(esc(t("login"))) · \(esc(t("console")))</title><style>\(baseCSS)</style></head><body>
            <form class="login" method="post" action="/console/login">
            <h1>\(esc(t("console")))</h1>
            \(error.map { "<p class=\"error\" role=\"alert\">\(esc($0))</p>" } ?? "")
            <label for="username">\(esc(t("username")))</label><input id="username" name="username" autocomplete="username" required autofocus>
            <label for="password">\(esc(t("password")))</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">\(esc(t("login")))</button>
            <p class="muted"><a href="/console/login?lang=\(other.rawValue)">\(other == .zh ? "中文" : "English")</a> · <a href="/docs">\(esc(t("apiDocs")))</a></p>
            </form></body></html>
            """, status: error == nil ? .ok : .unauthorized, headers: headers)
    }

    private func login(_ req: Request, _ ctx: O2ORequestContext) async throws -> Response {
        var req = req
        let t = Texts(lang: Language.pick(req))
        let body = try await req.collectBody(upTo: 16 * 1024)
        let form = FormURLEncoding.parse(String(buffer: body))
        let username = form["username"] ?? ""
        let limiter = loginLimiter
        do { try limiter.check(username) } catch {
            return try loginPage(t, error: t("tooMany")).response(from: req, context: ctx)
        }
        guard let session = try await services.identity.login(username: username, password: form["password"] ?? ""),
              session.principal.can(.consoleUse) else {
            limiter.fail(username)
            return try loginPage(t, error: t("badLogin")).response(from: req, context: ctx)
        }
        let maxAge = Int(services.config.sessionLifetime)
        return Response(status: .seeOther, headers: [
            .location: "/console",
            .setCookie: "\(ConsoleSession.cookieName)=\(session.token); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict",
        ])
    }

    // MARK: Layout

    func page(_ req: Request, _ ctx: O2ORequestContext, active: String, needs: Permission = .consoleUse,
              content: (Texts) async throws -> (title: String, body: String)) async throws -> Response {
        let lang = Language.pick(req)
        let t = Texts(lang: lang)
        guard let principal = ctx.principal else {
            return Response(status: .seeOther, headers: [.location: "/console/login"])
        }
        var status: HTTPResponse.Status = .ok
        var title: String
        var body: String
        if !principal.can(.consoleUse) || !principal.can(needs) {
            status = .forbidden
            (title, body) = (t("forbidden"), "<p>\(esc(t("forbidden")))</p>")
        } else {
            do {
                (title, body) = try await content(t)
            } catch let p as Problem where p.status == 404 {
                status = .notFound
                (title, body) = (t("notFound"), "<p>\(esc(t("notFound")))</p>")
            } catch let p as Problem where p.status == 403 {
                status = .forbidden
                (title, body) = (t("forbidden"), "<p>\(esc(t("forbidden")))</p>" + (p.detail.map { "<p class=\"muted\">\(esc($0))</p>" } ?? ""))
            }
        }
        func link(_ key: String, _ href: String) -> String {
            "<a href=\"\(href)\"\(key == active ? " class=\"active\" aria-current=\"page\"" : "")>\(esc(t(key)))</a>"
        }
        var nav = "<h2>\(esc(t("overview")))</h2>" + link("overview", "/console")
        nav += "<h2>\(esc(t("network")))</h2>" + link("locations", "/console/locations")
        nav += "<h2>\(esc(t("catalog")))</h2>" + link("products", "/console/products") + link("channels", "/console/channels")
            + link("priceLists", "/console/price-lists") + link("imports", "/console/imports")
        if principal.can(.inventoryRead) {
            nav += "<h2>\(esc(t("inventory")))</h2>" + link("stock", "/console/stock") + link("transfers", "/console/transfers")
                + link("counts", "/console/counts") + link("replenishment", "/console/replenishment")
        }
        if principal.can(.ordersRead) {
            nav += "<h2>\(esc(t("orders")))</h2>" + link("orders", "/console/orders") + link("deliveryRoutes", "/console/delivery-routes")
                + link("fulfillment", "/console/fulfillment") + link("shipments", "/console/shipments")
            if principal.can(.fulfillmentWork) { nav += link("pickups", "/console/pickups") }
            if principal.can(.inventoryRead) { nav += link("warehouse", "/console/warehouse") }
        }
        if principal.can(.membersRead) {
            nav += "<h2>\(esc(t("members")))</h2>" + link("members", "/console/members") + link("memberTiers", "/console/member-tiers")
                + link("segments", "/console/segments")
        }
        if principal.can(.promotionsRead) {
            nav += "<h2>\(esc(t("promotions")))</h2>" + link("promotions", "/console/promotions") + link("couponTemplates", "/console/coupon-templates") + link("deals", "/console/deals")
        }
        nav += "<h2>\(esc(t("platform")))</h2>"
        if principal.can(.auditRead) { nav += link("audit", "/console/audit") }
        nav += "<a href=\"/docs\">\(esc(t("apiDocs")))</a>"
        let other = lang == .zh ? Language.en : Language.zh
        // The language switch keeps the page and its filters.
        let kept = (req.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("lang=") }.joined(separator: "&")
        let path = req.uri.path + "?" + (kept.isEmpty ? "" : kept + "&")
        let html = """
            <!doctype html><html lang="\(lang.rawValue)"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
            <title>\(esc(title)) · \(esc(t("console")))</title><style>\(baseCSS)\(catalogCSS)</style></head><body>
            <header class="top"><span class="brand">O2O</span><span class="muted">\(esc(t("signedInAs"))) <b>\(esc(principal.name))</b> · \(esc(principal.role.rawValue))</span>
            <span class="spacer"></span><a href="\(esc(path))lang=\(other.rawValue)" hreflang="\(other.rawValue)">\(other == .zh ? "中文" : "English")</a>
            <form method="post" action="/console/logout" style="margin:0"><button class="link" type="submit">\(esc(t("logout")))</button></form></header>
            <div class="layout"><nav aria-label="main">\(nav)</nav><main><h1>\(esc(title))</h1>\(body)</main></div></body></html>
            """
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        if req.uri.queryParameters["lang"] != nil {
            headers[.setCookie] = "\(ConsoleSession.languageCookie)=\(lang.rawValue); Path=/; SameSite=Lax; Max-Age=31536000"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Pages

    private func overview(_ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let scope = ctx.principal?.scope ?? .all
        var f = LocationFilter()
        f.limit = 200
        var stores = 0, warehouses = 0, franchise = 0
        var cursor: String?
        repeat {
            f.cursor = cursor
            let page = try await services.network.locations(f, scope: scope)
            for l in page.items {
                if l.kind == .store { stores += 1 } else { warehouses += 1 }
                if l.ownership == .franchise { franchise += 1 }
            }
            cursor = page.nextCursor
        } while cursor != nil
        let counts = try await services.catalog.counts()
        let p = ctx.principal!
        let scopeText = [p.scope.level.rawValue, p.scope.organisationId, p.scope.locationId].compactMap { $0 }.joined(separator: " · ")
        return (t("overview"), """
            <div class="cards">
            <div class="card"><div class="n">\(stores)</div>\(esc(t("stores")))</div>
            <div class="card"><div class="n">\(franchise)</div>\(esc(t("franchise")))</div>
            <div class="card"><div class="n">\(warehouses)</div>\(esc(t("warehouses")))</div>
            <div class="card"><div class="n"><a href="/console/products">\(counts.products)</a></div>\(esc(t("products")))</div>
            <div class="card"><div class="n">\(counts.skus)</div>\(esc(t("skus")))</div>
            <div class="card"><div class="n"><a href="/console/channels">\(counts.channels)</a></div>\(esc(t("channels")))</div>
            <div class="card"><div class="n"><a href="/console/price-lists">\(counts.priceLists)</a></div>\(esc(t("priceLists")))</div>
            </div>
            <dl class="grid"><dt>\(esc(t("role")))</dt><dd>\(esc(p.role.rawValue))</dd><dt>\(esc(t("scope")))</dt><dd>\(esc(scopeText))</dd></dl>
            """)
    }

    private func locations(_ req: Request, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        var f = LocationFilter()
        let qp = req.uri.queryParameters
        f.text = Self.param(req, "q")
        f.kind = qp["kind"].flatMap { LocationKind(rawValue: String($0)) }
        f.cursor = qp["cursor"].map(String.init)
        f.limit = 50
        let page = try await services.network.locations(f, scope: ctx.principal?.scope ?? .all)
        var rows = ""
        for l in page.items {
            rows += "<tr><td><a href=\"/console/locations/\(esc(l.id))\">\(esc(l.code))</a></td><td>\(esc(l.name))</td>"
            rows += "<td>\(esc(t(l.kind.rawValue)))\(l.ownership == .franchise ? " <span class=\"tag warn\">\(esc(t("franchise")))</span>" : "")</td>"
            rows += "<td>\(esc([l.address.cityName, l.address.districtName].compactMap { $0 }.joined(separator: " ")))</td>"
            rows += "<td>\(capabilityTags(l.capabilities, t))</td><td>\(l.dailyCapacity)</td>"
            rows += "<td><span class=\"tag \(l.status == .active ? "ok" : "warn")\">\(esc(t(l.status.rawValue)))</span></td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"7\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var kindOptions = "<option value=\"\">\(esc(t("all")))</option>"
        for k in LocationKind.allCases {
            kindOptions += "<option value=\"\(k.rawValue)\"\(f.kind == k ? " selected" : "")>\(esc(t(k.rawValue)))</option>"
        }
        var more = ""
        if let next = page.nextCursor {
            var q = "cursor=\(next)"
            if let text = f.text { q += "&q=\(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
            if let k = f.kind { q += "&kind=\(k.rawValue)" }
            more = "<p><a href=\"/console/locations?\(esc(q))\">\(esc(t("next"))) →</a></p>"
        }
        return (t("locations"), """
            <form class="filters" method="get" action="/console/locations">
            <input name="q" value="\(esc(f.text ?? ""))" placeholder="\(esc(t("code"))) / \(esc(t("name")))" aria-label="\(esc(t("search")))">
            <select name="kind" aria-label="\(esc(t("kind")))">\(kindOptions)</select><button type="submit">\(esc(t("search")))</button></form>
            <table class="responsive"><thead><tr><th>\(esc(t("code")))</th><th>\(esc(t("name")))</th><th>\(esc(t("kind")))</th><th>\(esc(t("city")))</th>
            <th>\(esc(t("capabilities")))</th><th>\(esc(t("capacity")))</th><th>\(esc(t("status")))</th></tr></thead><tbody>\(rows)</tbody></table>\(more)
            """)
    }

    private func capabilityTags(_ c: Capabilities, _ t: Texts) -> String {
        var tags: [String] = []
        if c.pickup { tags.append(t("pickup")) }
        if c.shipFromStore { tags.append(t("shipFromStore")) }
        if c.storeDelivery { tags.append(t("storeDelivery") + (c.deliveryRadiusKm.map { " \(Self.km($0))" } ?? "")) }
        if c.acceptsReturns { tags.append(t("acceptsReturns")) }
        return tags.map { "<span class=\"tag\">\(esc($0))</span>" }.joined()
    }

    static func km(_ v: Double) -> String { String(format: "%.1f km", v) }

    private func locationDetail(_ id: String, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let scope = ctx.principal?.scope ?? .all
        let l = try await services.network.location(id, scope: scope)
        let org = try? await services.network.organisation(l.organisationId, scope: .all)
        let days = t("weekdays").split(separator: ",").map(String.init)
        let hours = l.openingHours.map { h in "\(days[max(0, min(6, h.weekday - 1))]) \(h.opens)–\(h.closes)" }.joined(separator: "<br>")
        let a = l.address
        var body = """
            <dl class="grid">
            <dt>\(esc(t("code")))</dt><dd>\(esc(l.code))</dd>
            <dt>\(esc(t("kind")))</dt><dd>\(esc(t(l.kind.rawValue)))</dd>
            <dt>\(esc(t("ownership")))</dt><dd>\(esc(t(l.ownership == .franchise ? "franchise" : "direct")))</dd>
            <dt>\(esc(t("organisation")))</dt><dd>\(esc(org?.name ?? l.organisationId))</dd>
            <dt>\(esc(t("address")))</dt><dd>\(esc([a.provinceName, a.cityName, a.districtName].compactMap { $0 }.joined(separator: " "))) \(esc(a.line1))<br><span class="muted">\(esc(a.provinceCode)) / \(esc(a.cityCode)) / \(esc(a.districtCode))</span></dd>
            <dt>\(esc(t("coordinates")))</dt><dd>\(String(format: "%.5f, %.5f", l.coordinates.lat, l.coordinates.lng))</dd>
            <dt>\(esc(t("timeZone")))</dt><dd>\(esc(l.timeZone))</dd>
            <dt>\(esc(t("hours")))</dt><dd>\(hours)</dd>
            <dt>\(esc(t("capabilities")))</dt><dd>\(capabilityTags(l.capabilities, t))</dd>
            <dt>\(esc(t("capacity")))</dt><dd>\(l.dailyCapacity)</dd>
            <dt>\(esc(t("priority")))</dt><dd>\(l.priority)</dd>
            <dt>\(esc(t("status")))</dt><dd>\(esc(t(l.status.rawValue)))</dd>
            <dt>\(esc(t("version")))</dt><dd>\(l.version)</dd>
            </dl>
            """
        if ctx.principal?.can(.auditRead) == true {
            let events = try await services.audit.list(AuditQuery(entityType: "location", entityId: l.id, limit: 20), scope: scope)
            body += "<h2>\(esc(t("history")))</h2>" + auditTable(events.items, t)
        }
        return (l.name, body)
    }

    private func audit(_ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let page = try await services.audit.list(AuditQuery(limit: 100), scope: ctx.principal?.scope ?? .all)
        return (t("audit"), auditTable(page.items, t))
    }

    func auditTable(_ events: [AuditEvent], _ t: Texts) -> String {
        let fmt = ISO8601DateFormatter()
        var rows = events.map { e in
            "<tr><td>\(esc(fmt.string(from: e.at)))</td><td>\(esc(e.actorId))</td><td>\(esc(e.action))</td><td>\(esc(e.entityType)) <code>\(esc(e.entityId))</code></td></tr>"
        }.joined()
        if events.isEmpty { rows = "<tr><td colspan=\"4\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return "<table class=\"responsive\"><thead><tr><th>\(esc(t("when")))</th><th>\(esc(t("who")))</th><th>\(esc(t("action")))</th><th>\(esc(t("entity")))</th></tr></thead><tbody>\(rows)</tbody></table>"
    }
}
