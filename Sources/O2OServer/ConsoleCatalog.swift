import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import O2OCatalog
import O2OCore
import O2ONetwork
import SQLKit

/// Styles the catalog pages add to `baseCSS`.
let catalogCSS = """
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.num.price{white-space:normal}.nw{white-space:nowrap}
table.products td{font-size:.92rem}table.products .tag,table.products small{white-space:nowrap}
table.checker td:nth-child(4){min-width:14rem}table.checker td:nth-child(5){min-width:7rem}table.checker td{font-size:.92rem}table.products td small{font-size:.82rem}table.products td:nth-child(2){min-width:10rem}
h2{font-size:1.1rem;margin:1.5rem 0 .6rem}code{font-size:.9em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin-bottom:1rem;background:#fff}
table.matrix{width:auto;min-width:100%}table.matrix th[scope=row]{background:#fafbfc;white-space:nowrap}table.matrix td{white-space:nowrap;font-size:.82rem;padding:.45rem .55rem}
form.stack{display:grid;gap:.6rem;max-width:60rem;background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem}
form.stack label.check{display:flex;align-items:center;gap:.5rem}form.stack input[type=checkbox]{min-height:auto;width:1.2rem;height:1.2rem}
textarea{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;width:100%;padding:.5rem;border:1px solid var(--line);border-radius:6px}
.notice{padding:.7rem 1rem;border-radius:8px;margin-bottom:1rem}.notice.ok{background:#e6f4ea;color:var(--ok)}
div.error{background:#fdecee;padding:.7rem 1rem;border-radius:8px;margin-bottom:1rem}
details{margin:.8rem 0}ul.exports li{margin:.3rem 0}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem;align-items:start}
table.kv th{text-align:left;width:38%;font-weight:500;color:#5f6b7a;background:#fafbfc}progress{vertical-align:middle;width:8rem}
"""

extension Texts {
    /// The catalog pages' texts (looked up after `table`).
    static let catalogTable: [String: (String, String)] = [
        "catalog": ("Catalog", "商品"),
        "opt_colour": ("Colour", "颜色"),
        "opt_color": ("Colour", "颜色"),
        "opt_size": ("Size", "尺码"),
        "products": ("Products", "商品"),
        "product": ("Product", "商品"),
        "skus": ("SKUs", "SKU"),
        "sku": ("SKU", "SKU"),
        "channels": ("Channels", "销售渠道"),
        "channel": ("Channel", "渠道"),
        "priceLists": ("Price lists", "价格表"),
        "imports": ("Import & export", "导入导出"),
        "brand": ("Brand", "品牌"),
        "category": ("Category", "类目"),
        "allCategories": ("All categories", "全部类目"),
        "allBrands": ("All brands", "全部品牌"),
        "allChannels": ("All channels", "全部渠道"),
        "allStatuses": ("All statuses", "全部状态"),
        "assortment": ("Assortment", "货品类型"),
        "shared": ("Shared", "共享"),
        "online_exclusive": ("Online exclusive", "网络专供"),
        "store_exclusive": ("Store exclusive", "专卖店专供"),
        "st_draft": ("Draft", "草稿"),
        "st_active": ("Active", "在售"),
        "st_discontinued": ("Discontinued", "已停售"),
        "st_inactive": ("Inactive", "停用"),
        "skuCount": ("SKUs", "SKU 数"),
        "priceRange": ("List price", "统一零售价"),
        "listPrice": ("List price", "统一零售价"),
        "barcode": ("Barcode", "条码"),
        "nameEn": ("English name", "英文名"),
        "description": ("Description", "描述"),
        "unit": ("Unit", "单位"),
        "taxClass": ("Tax class", "税目"),
        "onlineFirstUntil": ("Online first until", "新品首销截止"),
        "options": ("Options", "规格"),
        "attributes": ("Attributes", "属性"),
        "images": ("Images", "图片"),
        "created": ("Created", "创建时间"),
        "updated": ("Updated", "更新时间"),
        "skuMatrix": ("SKU matrix", "SKU 矩阵"),
        "weight": ("Weight", "重量"),
        "externalCodes": ("External codes", "外部编码"),
        "listings": ("Channel listings", "渠道上架"),
        "published": ("On sale", "已上架"),
        "scheduled": ("From", "定时上架"),
        "unpublished": ("Off sale", "已下架"),
        "clearance": ("Clearance", "尾货"),
        "notListed": ("Not listed", "未上架"),
        "searchProducts": ("Name, style code, SKU code or barcode", "名称、款号、SKU 编码或条码"),
        "currency": ("Currency", "币种"),
        "listed": ("SKUs listed", "已铺货 SKU"),
        "publishedNow": ("On sale now", "当前在售"),
        "scheduledLater": ("Scheduled", "定时上架"),
        "web": ("Web shop", "官网"),
        "app": ("App", "App"),
        "mini_program": ("Mini-program", "小程序"),
        "marketplace": ("Marketplace", "电商平台"),
        "pos": ("Store POS", "门店收银"),
        "call_center": ("Call center", "呼叫中心"),
        "target": ("Applies to", "适用范围"),
        "validity": ("Valid", "有效期"),
        "entries": ("Prices", "价格条目"),
        "validNow": ("In force", "生效中"),
        "notValidNow": ("Not in force", "未生效"),
        "price": ("Price", "价格"),
        "difference": ("vs list price", "较统一零售价"),
        "checker": ("Effective price", "实际售价查询"),
        "checkerHelp": ("What a customer pays on a channel (at a store, if given) right now, and the rule that decides it.",
                        "查询某渠道（可指定门店）当前的实际售价及其定价规则。"),
        "storeOptional": ("Store code (optional)", "门店编码（可选）"),
        "skuCodes": ("SKU codes, comma-separated", "SKU 编码，逗号分隔"),
        "check": ("Check", "查询"),
        "rule": ("Rule", "定价规则"),
        "overridden": ("Outranked lists", "被覆盖的价格表"),
        "sellable": ("Sellable", "可售"),
        "yes": ("Yes", "是"),
        "no": ("No", "否"),
        "unknownStore": ("No store with this code.", "没有该编码的门店。"),
        "always": ("always", "长期"),
        "importTitle": ("Import a CSV file", "导入 CSV 文件"),
        "importHelp": ("Paste the file or pick it; every row is checked first and nothing is written unless the whole file is correct.",
                       "粘贴或选择文件；系统先检查每一行，整个文件无误才会写入。"),
        "kindOfFile": ("File type", "文件类型"),
        "kind_skus": ("SKUs (with their styles)", "SKU（含款式）"),
        "kind_listings": ("Channel listings", "渠道上架"),
        "kind_prices": ("Price list prices", "价格表价格"),
        "dryRun": ("Dry run: check only, write nothing", "试运行：只检查，不写入"),
        "csvFile": ("CSV file", "CSV 文件"),
        "csvText": ("CSV text", "CSV 内容"),
        "import": ("Import", "导入"),
        "expectedColumns": ("Columns", "列"),
        "importDone": ("Import applied.", "导入完成。"),
        "importChecked": ("Dry run passed: the file is correct; nothing was written.", "试运行通过：文件无误，未写入任何数据。"),
        "importFailed": ("The file has errors; nothing was written.", "文件有错误，未写入任何数据。"),
        "rows": ("Rows", "行数"),
        "createdCount": ("Created", "新增"),
        "updatedCount": ("Updated", "更新"),
        "unchangedCount": ("Unchanged", "未变"),
        "line": ("Line", "行"),
        "column": ("Column", "列"),
        "message": ("Problem", "问题"),
        "exports": ("Export", "导出"),
        "exportHelp": ("The same formats as the import, ready to edit and import again.", "格式与导入相同，可编辑后重新导入。"),
        "cannotImport": ("Your role may read the catalog but not import into it.", "您的角色可查看商品，但不能导入。"),
        "importForbiddenKind": ("Your role may not import this kind of file.", "您的角色不能导入此类文件。"),
        "emptyFile": ("Paste a CSV file or pick one first.", "请先粘贴或选择 CSV 文件。"),
    ]
}

/// The catalog pages: products with their SKU matrix, channels, price lists with a price checker,
/// and CSV import/export.
extension Console {
    func registerCatalog(on group: RouterGroup<O2ORequestContext>) {
        group.get("products") { req, ctx in try await page(req, ctx, active: "products") { t in try await products(req, t) } }
        group.get("products/:id") { req, ctx in
            try await page(req, ctx, active: "products") { t in try await productDetail(ctx.parameters.get("id") ?? "", t, ctx) }
        }
        group.get("channels") { req, ctx in try await page(req, ctx, active: "channels") { t in try await channels(t) } }
        group.get("price-lists") { req, ctx in try await page(req, ctx, active: "priceLists") { t in try await priceLists(t) } }
        group.get("price-lists/:id") { req, ctx in
            try await page(req, ctx, active: "priceLists") { t in try await priceListDetail(ctx.parameters.get("id") ?? "", req, t) }
        }
        group.get("imports") { req, ctx in try await page(req, ctx, active: "imports") { t in importPage(t, ctx, outcome: nil) } }
        group.post("imports") { req, ctx in
            var req = req
            let body = try await req.collectBody(upTo: services.config.maxImportBytes)
            let form = FormURLEncoding.parse(String(buffer: body))
            return try await page(req, ctx, active: "imports") { t in try await runImport(form, t, ctx) }
        }
        group.get("exports/:file") { req, ctx in try await export(ctx.parameters.get("file") ?? "", ctx) }
    }

    // MARK: Helpers

    static let queryAllowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")

    /// `a=1&b=x%20y` from pairs, leaving out empty values.
    static func query(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { k, v in
            guard let v, !v.isEmpty else { return nil }
            return "\(k)=\(v.addingPercentEncoding(withAllowedCharacters: queryAllowed) ?? "")"
        }.joined(separator: "&")
    }

    /// A query parameter as an HTML form sends it (`+` for a space), trimmed; nil when empty.
    static func param(_ req: Request, _ name: String) -> String? {
        guard let v = FormURLEncoding.parse(req.uri.query ?? "")[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
        return v
    }

    static func money(_ minorUnits: Int64, _ currency: String) -> String {
        let amount = Money.decimal(minorUnits, currency: currency)
        return currency == "CNY" ? "¥\(amount)" : "\(amount) \(currency)"
    }

    static let shanghai: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return c
    }()

    /// A time as Beijing time, to the minute.
    static func time(_ d: Date?) -> String {
        guard let d else { return "—" }
        let c = shanghai.dateComponents([.year, .month, .day, .hour, .minute], from: d)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    static func percent(_ price: Int64, vs list: Int64) -> String {
        guard list != 0 else { return "—" }
        let d = Double(price - list) / Double(list) * 100
        if abs(d) < 0.05 { return "0%" }
        return String(format: "%@%.1f%%", d > 0 ? "+" : "−", abs(d))
    }

    /// An option name as shown: the usual ones translated, others as they are.
    static func optionLabel(_ name: String, _ t: Texts) -> String {
        Texts.catalogTable["opt_" + name.lowercased()] != nil ? t("opt_" + name.lowercased()) : name
    }

    static func statusTag(_ s: CatalogStatus, _ t: Texts) -> String {
        "<span class=\"tag \(s == .active ? "ok" : "warn")\">\(esc(t("st_" + s.rawValue)))</span>"
    }

    static func assortmentTag(_ a: Assortment, _ t: Texts) -> String {
        "<span class=\"tag\(a == .shared ? "" : " warn")\">\(esc(t(a.rawValue)))</span>"
    }

    /// Sizes in wearing order: letters (XS … XXL), then numbers, then the rest as found.
    static func sizeOrder(_ values: [String]) -> [String] {
        let letters = ["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "3XL", "4XL", "均码", "F", "ONE SIZE"]
        func rank(_ v: String) -> (Int, Double) {
            if let i = letters.firstIndex(of: v.uppercased()) { return (0, Double(i)) }
            if let d = Double(v) { return (1, d) }
            return (2, 0)
        }
        return values.enumerated().sorted { a, b in
            let ra = rank(a.element), rb = rank(b.element)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }

    /// A style's SKUs in matrix order: by the first option as first met in code order, then by size.
    static func matrixOrder(_ p: Product) -> [SKU] {
        let byCode = p.skus.sorted { $0.code < $1.code }
        guard let first = p.optionNames.first else { return byCode }
        var firstValues: [String] = []
        for s in byCode { if let v = s.options[first], !firstValues.contains(v) { firstValues.append(v) } }
        let second = p.optionNames.count > 1 ? p.optionNames[1] : nil
        let sizes = second.map { n in sizeOrder(Array(Set(byCode.compactMap { $0.options[n] })).sorted()) } ?? []
        func key(_ s: SKU) -> (Int, Int) {
            (firstValues.firstIndex(of: s.options[first] ?? "") ?? Int.max,
             second.flatMap { s.options[$0] }.flatMap { sizes.firstIndex(of: $0) } ?? Int.max)
        }
        return byCode.enumerated().sorted { a, b in
            let ka = key(a.element), kb = key(b.element)
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element)
    }

    func categoryNames() async throws -> (all: [Category], label: [String: String]) {
        let all = try await services.catalog.categories()
        let byId = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
        var label: [String: String] = [:]
        for c in all {
            var names: [String] = []
            var cur: Category? = c
            while let x = cur { names.insert(x.name, at: 0); cur = x.parentId.flatMap { byId[$0] } }
            label[c.id] = names.joined(separator: " › ")
        }
        return (all, label)
    }

    func allBrands() async throws -> [Brand] {
        var out: [Brand] = []
        var cursor: String?
        repeat {
            let page = try await services.catalog.brands(limit: 200, cursor: cursor)
            out += page.items
            cursor = page.nextCursor
        } while cursor != nil && out.count < 2_000
        return out
    }

    // MARK: Products

    private func products(_ req: Request, _ t: Texts) async throws -> (title: String, body: String) {
        let catalog = services.catalog
        var f = CatalogService.ProductFilter()
        f.text = Self.param(req, "q")
        f.categoryId = Self.param(req, "category")
        f.brandId = Self.param(req, "brand")
        f.channelId = Self.param(req, "channel")
        f.status = Self.param(req, "status").flatMap(CatalogStatus.init(rawValue:))
        f.cursor = Self.param(req, "cursor")
        f.limit = 50
        let (categories, categoryLabel) = try await categoryNames()
        let brands = try await allBrands()
        let channels = try await catalog.channels()
        let page = try await catalog.products(f)
        let brandName = Dictionary(uniqueKeysWithValues: brands.map { ($0.id, $0.name) })

        var categoryOptions = "<option value=\"\">\(esc(t("allCategories")))</option>"
        for c in categories {
            let depth = c.path.split(separator: "/").count - 1
            let indent = String(repeating: "\u{3000}", count: depth)
            categoryOptions += "<option value=\"\(esc(c.id))\"\(f.categoryId == c.id ? " selected" : "")>\(indent)\(esc(c.name))\(c.nameEn.map { " · " + esc($0) } ?? "")</option>"
        }
        var brandOptions = "<option value=\"\">\(esc(t("allBrands")))</option>"
        for b in brands {
            brandOptions += "<option value=\"\(esc(b.id))\"\(f.brandId == b.id ? " selected" : "")>\(esc(b.name))\(b.nameEn.map { " · " + esc($0) } ?? "")</option>"
        }
        var channelOptions = "<option value=\"\">\(esc(t("allChannels")))</option>"
        for c in channels {
            channelOptions += "<option value=\"\(esc(c.id))\"\(f.channelId == c.id ? " selected" : "")>\(esc(c.name))</option>"
        }
        var statusOptions = "<option value=\"\">\(esc(t("allStatuses")))</option>"
        for s in CatalogStatus.allCases {
            statusOptions += "<option value=\"\(s.rawValue)\"\(f.status == s ? " selected" : "")>\(esc(t("st_" + s.rawValue)))</option>"
        }

        var rows = ""
        for p in page.items {
            let prices = p.skus.map(\.listPrice.minorUnits)
            let currency = p.skus.first?.listPrice.currency ?? "CNY"
            var range = "—"
            if let lo = prices.min(), let hi = prices.max() {
                let (a, b) = (esc(Self.money(lo, currency)), esc(Self.money(hi, currency)))
                range = lo == hi ? a : "<span class=\"nw\">\(a)</span> – <span class=\"nw\">\(b)</span>"
            }
            rows += "<tr><td><a href=\"/console/products/\(esc(p.id))\">\(esc(p.code))</a></td>"
            rows += "<td>\(esc(p.name))\(p.nameEn.map { "<br><small class=\"muted\">\(esc($0))</small>" } ?? "")</td>"
            rows += "<td>\(esc(brandName[p.brandId] ?? p.brandId))<br><small class=\"muted\">\(esc(categoryLabel[p.categoryId] ?? p.categoryId))</small></td>"
            rows += "<td>\(Self.assortmentTag(p.assortment, t))</td><td class=\"num\">\(p.skus.count)</td><td class=\"num price\">\(range)</td>"
            rows += "<td>\(Self.statusTag(p.status, t))</td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"7\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var more = ""
        if let next = page.nextCursor {
            let q = Self.query([("q", f.text), ("category", f.categoryId), ("brand", f.brandId), ("channel", f.channelId),
                                ("status", f.status?.rawValue), ("cursor", next)])
            more = "<p><a class=\"next\" href=\"/console/products?\(esc(q))\">\(esc(t("next"))) →</a></p>"
        }
        return (t("products"), """
            <form class="filters" method="get" action="/console/products">
            <input type="search" name="q" value="\(esc(f.text ?? ""))" placeholder="\(esc(t("searchProducts")))" aria-label="\(esc(t("search")))" size="28">
            <select name="category" aria-label="\(esc(t("category")))">\(categoryOptions)</select>
            <select name="brand" aria-label="\(esc(t("brand")))">\(brandOptions)</select>
            <select name="channel" aria-label="\(esc(t("channel")))">\(channelOptions)</select>
            <select name="status" aria-label="\(esc(t("status")))">\(statusOptions)</select>
            <button type="submit">\(esc(t("search")))</button></form>
            <table class="responsive products"><thead><tr><th>\(esc(t("code")))</th><th>\(esc(t("name")))</th>
            <th>\(esc(t("brand"))) / \(esc(t("category")))</th><th>\(esc(t("assortment")))</th><th>\(esc(t("skuCount")))</th><th>\(esc(t("priceRange")))</th>
            <th>\(esc(t("status")))</th></tr></thead><tbody>\(rows)</tbody></table>\(more)
            """)
    }

    private func productDetail(_ id: String, _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let catalog = services.catalog
        let p = try await catalog.product(id)
        let (_, categoryLabel) = try await categoryNames()
        let brand = try await allBrands().first { $0.id == p.brandId }
        let channels = try await catalog.channels()
        let skus = Self.matrixOrder(p)

        var attributes = p.attributes.sorted { $0.key < $1.key }.map { "<dt>\(esc($0.key))</dt><dd>\(esc($0.value))</dd>" }.joined()
        if attributes.isEmpty { attributes = "<dt class=\"muted\">—</dt><dd></dd>" }
        let images = p.images.enumerated().map { i, u in
            "<a href=\"\(esc(u))\" rel=\"noopener noreferrer\" target=\"_blank\">\(esc(t("images"))) \(i + 1)</a>"
        }.joined(separator: " · ")
        var body = """
            <dl class="grid">
            <dt>\(esc(t("code")))</dt><dd><code>\(esc(p.code))</code></dd>
            <dt>\(esc(t("name")))</dt><dd>\(esc(p.name))</dd>
            <dt>\(esc(t("nameEn")))</dt><dd>\(esc(p.nameEn ?? "—"))</dd>
            <dt>\(esc(t("brand")))</dt><dd>\(esc(brand.map { $0.name + ($0.nameEn.map { " · \($0)" } ?? "") } ?? p.brandId))</dd>
            <dt>\(esc(t("category")))</dt><dd>\(esc(categoryLabel[p.categoryId] ?? p.categoryId))</dd>
            <dt>\(esc(t("description")))</dt><dd>\(esc(p.description ?? "—"))</dd>
            <dt>\(esc(t("assortment")))</dt><dd>\(Self.assortmentTag(p.assortment, t))</dd>
            <dt>\(esc(t("onlineFirstUntil")))</dt><dd>\(esc(Self.time(p.onlineFirstUntil)))</dd>
            <dt>\(esc(t("status")))</dt><dd>\(Self.statusTag(p.status, t))</dd>
            <dt>\(esc(t("options")))</dt><dd>\(esc(p.optionNames.map { Self.optionLabel($0, t) }.joined(separator: " × ")))</dd>
            <dt>\(esc(t("unit")))</dt><dd>\(esc(p.unit))</dd>
            <dt>\(esc(t("taxClass")))</dt><dd>\(esc(p.taxClass))</dd>
            <dt>\(esc(t("images")))</dt><dd>\(images.isEmpty ? "—" : images)</dd>
            <dt>\(esc(t("version")))</dt><dd>\(p.version)</dd>
            <dt>\(esc(t("created")))</dt><dd>\(esc(Self.time(p.createdAt)))</dd>
            <dt>\(esc(t("updated")))</dt><dd>\(esc(Self.time(p.updatedAt)))</dd>
            </dl>
            <h2>\(esc(t("attributes")))</h2><dl class="grid">\(attributes)</dl>
            """

        // The SKU matrix: colours down, sizes across; other option counts get a plain table.
        body += "<h2>\(esc(t("skuMatrix"))) <span class=\"muted\">(\(skus.count))</span></h2>"
        if p.optionNames.count == 2 {
            let (rowName, colName) = (p.optionNames[0], p.optionNames[1])
            var rowValues: [String] = [], colValues: [String] = []
            for s in skus {
                if let r = s.options[rowName], !rowValues.contains(r) { rowValues.append(r) }
                if let c = s.options[colName], !colValues.contains(c) { colValues.append(c) }
            }
            colValues = Self.sizeOrder(colValues)
            var cell: [String: SKU] = [:]
            for s in skus { cell[(s.options[rowName] ?? "") + "\u{1}" + (s.options[colName] ?? "")] = s }
            var html = "<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th>\(esc(Self.optionLabel(rowName, t))) \\ \(esc(Self.optionLabel(colName, t)))</th>"
            html += colValues.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
            for r in rowValues {
                html += "<tr><th scope=\"row\">\(esc(r))</th>"
                for c in colValues {
                    if let s = cell[r + "\u{1}" + c] {
                        html += "<td><code>\(esc(s.code))</code><br><span class=\"muted\">\(esc(s.barcode ?? "—"))</span><br>"
                        html += "<b>\(esc(Self.money(s.listPrice.minorUnits, s.listPrice.currency)))</b>"
                        html += s.status == .active ? "" : " " + Self.statusTag(s.status, t)
                        html += "</td>"
                    } else {
                        html += "<td class=\"muted\">—</td>"
                    }
                }
                html += "</tr>"
            }
            body += html + "</tbody></table></div>"
        } else {
            var html = "<table class=\"responsive\"><thead><tr><th>\(esc(t("sku")))</th><th>\(esc(t("options")))</th><th>\(esc(t("barcode")))</th>"
            html += "<th>\(esc(t("listPrice")))</th><th>\(esc(t("weight")))</th><th>\(esc(t("status")))</th></tr></thead><tbody>"
            for s in skus {
                let options = p.optionNames.compactMap { n in s.options[n].map { "\(Self.optionLabel(n, t)): \($0)" } }.joined(separator: ", ")
                html += "<tr><td><code>\(esc(s.code))</code></td><td>\(esc(options))</td><td>\(esc(s.barcode ?? "—"))</td>"
                html += "<td>\(esc(Self.money(s.listPrice.minorUnits, s.listPrice.currency)))</td>"
                html += "<td>\(s.weightGrams.map { "\($0) g" } ?? "—")</td><td>\(Self.statusTag(s.status, t))</td></tr>"
            }
            if skus.isEmpty { html += "<tr><td colspan=\"6\" class=\"muted\">\(esc(t("none")))</td></tr>" }
            body += html + "</tbody></table>"
        }

        // Where each SKU is listed: SKUs down, channels across.
        var listings: [String: [String: Listing]] = [:]
        var lf = CatalogService.ListingFilter()
        lf.productId = p.id
        lf.limit = 200
        var pages = 0
        repeat {
            let page = try await catalog.listings(lf)
            for l in page.items { listings[l.skuId, default: [:]][l.channelId] = l }
            lf.cursor = page.nextCursor
            pages += 1
        } while lf.cursor != nil && pages < 50
        let now = services.clock.instant()
        let shown = channels.filter { c in listings.values.contains { $0[c.id] != nil } }
        body += "<h2>\(esc(t("listings")))</h2>"
        if shown.isEmpty {
            body += "<p class=\"muted\">\(esc(t("notListed")))</p>"
        } else {
            var html = "<div class=\"scroll\"><table class=\"matrix listings\"><thead><tr><th>\(esc(t("sku")))</th>"
            html += shown.map { "<th>\(esc($0.name))<br><span class=\"muted\">\(esc(t($0.kind.rawValue)))</span></th>" }.joined() + "</tr></thead><tbody>"
            for s in skus {
                html += "<tr><th scope=\"row\"><code>\(esc(s.code))</code></th>"
                for c in shown {
                    guard let l = listings[s.id]?[c.id] else { html += "<td class=\"muted\">—</td>"; continue }
                    var cellText: String
                    if l.isPublished(at: now) {
                        cellText = "<span class=\"tag ok\">\(esc(t("published")))</span>"
                    } else if let at = l.publishAt, at > now {
                        cellText = "<span class=\"tag warn\">\(esc(t("scheduled"))) \(esc(Self.time(at)))</span>"
                    } else {
                        cellText = "<span class=\"tag\">\(esc(t("unpublished")))</span>"
                    }
                    if let u = l.unpublishAt, u > now { cellText += "<br><span class=\"muted\">→ \(esc(Self.time(u)))</span>" }
                    if l.clearance { cellText += " <span class=\"tag warn\">\(esc(t("clearance")))</span>" }
                    html += "<td>\(cellText)</td>"
                }
                html += "</tr>"
            }
            body += html + "</tbody></table></div>"
        }

        if let principal = ctx.principal, principal.can(.auditRead) {
            let events = try await services.audit.list(AuditQuery(entityType: "product", entityId: p.id, limit: 20), scope: principal.scope)
            body += "<h2>\(esc(t("history")))</h2>" + auditTable(events.items, t)
        }
        return (p.name, body)
    }

    // MARK: Channels

    private func channels(_ t: Texts) async throws -> (title: String, body: String) {
        let channels = try await services.catalog.channels()
        let byChannel = try await services.catalog.listingCounts(at: services.clock.instant())
        var rows = ""
        for c in channels {
            let counts = byChannel[c.id] ?? .init()
            let n = [counts.listed, counts.published, counts.scheduled, counts.clearance]
            rows += "<tr><td><a href=\"/console/products?channel=\(esc(c.id))\"><code>\(esc(c.code))</code></a></td><td>\(esc(c.name))</td>"
            rows += "<td>\(esc(t(c.kind.rawValue)))</td><td>\(esc(c.currency))</td><td class=\"num\">\(n[0])</td><td class=\"num\">\(n[1])</td>"
            rows += "<td class=\"num\">\(n[2])</td><td class=\"num\">\(n[3])</td>"
            rows += "<td><span class=\"tag \(c.status == "active" ? "ok" : "warn")\">\(esc(t("st_" + c.status)))</span></td></tr>"
        }
        if channels.isEmpty { rows = "<tr><td colspan=\"9\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return (t("channels"), """
            <table class="responsive"><thead><tr><th>\(esc(t("code")))</th><th>\(esc(t("name")))</th><th>\(esc(t("kind")))</th>
            <th>\(esc(t("currency")))</th><th>\(esc(t("listed")))</th><th>\(esc(t("publishedNow")))</th><th>\(esc(t("scheduledLater")))</th>
            <th>\(esc(t("clearance")))</th><th>\(esc(t("status")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """)
    }

    // MARK: Price lists

    /// The list's target in words, with codes and names in place of ids.
    private func target(_ l: PriceList, _ channels: [String: SalesChannel]) async -> String {
        await humanise(l.targetDescription, channels)
    }

    /// Text with the channel, organisation and location ids in it replaced by "CODE (name)".
    func humanise(_ text: String, _ channels: [String: SalesChannel]) async -> String {
        var out = text
        for match in text.matches(of: Self.idPattern) {
            let id = String(text[match.range])
            var name: String?
            if let c = channels[id] {
                name = "\(c.code) (\(c.name))"
            } else if id.hasPrefix("org_"), let o = try? await services.network.organisation(id, scope: .all) {
                name = "\(o.code) (\(o.name))"
            } else if id.hasPrefix("loc_"), let l = try? await services.network.location(id, scope: .all) {
                name = "\(l.code) (\(l.name))"
            }
            if let name { out = out.replacingOccurrences(of: id, with: name) }
        }
        return out
    }

    nonisolated(unsafe) static let idPattern = try! Regex("(chn|org|loc)_[0-9A-Z]{26}")

    private func validity(_ l: PriceList, _ t: Texts) -> String {
        l.validFrom == nil && l.validTo == nil ? t("always") : "\(Self.time(l.validFrom)) – \(Self.time(l.validTo))"
    }

    private func priceLists(_ t: Texts) async throws -> (title: String, body: String) {
        var lists: [PriceList] = []
        var cursor: String?
        repeat {
            let page = try await services.prices.priceLists(limit: 200, cursor: cursor)
            lists += page.items
            cursor = page.nextCursor
        } while cursor != nil && lists.count < 2_000
        lists.sort { ($0.priority, $1.code) > ($1.priority, $0.code) }
        let channels = Dictionary(uniqueKeysWithValues: try await services.catalog.channels().map { ($0.id, $0) })
        let entries = try await services.prices.entryCounts()
        let now = services.clock.instant()
        var rows = ""
        for l in lists {
            rows += "<tr><td><a href=\"/console/price-lists/\(esc(l.id))\"><code>\(esc(l.code))</code></a></td><td>\(esc(l.name))</td>"
            rows += "<td class=\"num\">\(l.priority)</td><td>\(esc(await target(l, channels)))</td><td>\(esc(validity(l, t)))</td>"
            rows += "<td>\(esc(l.currency))</td><td class=\"num\">\(entries[l.id] ?? 0)</td>"
            rows += "<td><span class=\"tag \(l.isValid(at: now) ? "ok" : "warn")\">\(esc(t(l.isValid(at: now) ? "validNow" : "notValidNow")))</span></td></tr>"
        }
        if lists.isEmpty { rows = "<tr><td colspan=\"8\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        return (t("priceLists"), """
            <table class="responsive"><thead><tr><th>\(esc(t("code")))</th><th>\(esc(t("name")))</th><th>\(esc(t("priority")))</th>
            <th>\(esc(t("target")))</th><th>\(esc(t("validity")))</th><th>\(esc(t("currency")))</th><th>\(esc(t("entries")))</th>
            <th>\(esc(t("status")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """)
    }

    private func priceListDetail(_ id: String, _ req: Request, _ t: Texts) async throws -> (title: String, body: String) {
        let l = try await services.prices.priceList(id)
        let channelList = try await services.catalog.channels()
        let channels = Dictionary(uniqueKeysWithValues: channelList.map { ($0.id, $0) })
        let count = try await services.prices.entryCounts()[l.id] ?? 0
        let now = services.clock.instant()
        var body = """
            <dl class="grid">
            <dt>\(esc(t("code")))</dt><dd><code>\(esc(l.code))</code></dd>
            <dt>\(esc(t("name")))</dt><dd>\(esc(l.name))</dd>
            <dt>\(esc(t("priority")))</dt><dd>\(l.priority)</dd>
            <dt>\(esc(t("target")))</dt><dd>\(esc(await target(l, channels)))</dd>
            <dt>\(esc(t("validity")))</dt><dd>\(esc(validity(l, t)))</dd>
            <dt>\(esc(t("currency")))</dt><dd>\(esc(l.currency))</dd>
            <dt>\(esc(t("status")))</dt><dd><span class="tag \(l.isValid(at: now) ? "ok" : "warn")">\(esc(t(l.isValid(at: now) ? "validNow" : "notValidNow")))</span> \(esc(t("st_" + l.status)))</dd>
            <dt>\(esc(t("entries")))</dt><dd>\(count)</dd>
            <dt>\(esc(t("version")))</dt><dd>\(l.version)</dd>
            </dl>
            """

        // Entries, with the unified retail price beside the list's.
        let page = try await services.prices.entries(l.id, limit: 50, cursor: Self.param(req, "cursor"))
        var rows = ""
        for (entry, code) in page.items {
            let sku = try? await services.catalog.sku(entry.skuId)
            let list = sku?.listPrice.minorUnits
            rows += "<tr><td><code>\(esc(code))</code></td><td class=\"num\">\(list.map { esc(Self.money($0, sku!.listPrice.currency)) } ?? "—")</td>"
            rows += "<td class=\"num\"><b>\(esc(Self.money(entry.price.minorUnits, entry.price.currency)))</b></td>"
            rows += "<td class=\"num\">\(list.map { esc(Self.percent(entry.price.minorUnits, vs: $0)) } ?? "—")</td></tr>"
        }
        if page.items.isEmpty { rows = "<tr><td colspan=\"4\" class=\"muted\">\(esc(t("none")))</td></tr>" }
        var entriesHTML = """
            <h2 id="entries">\(esc(t("entries")))</h2>
            <table class="responsive"><thead><tr><th>\(esc(t("sku")))</th><th>\(esc(t("listPrice")))</th><th>\(esc(t("price")))</th>
            <th>\(esc(t("difference")))</th></tr></thead><tbody>\(rows)</tbody></table>
            """
        if let next = page.nextCursor {
            entriesHTML += "<p><a class=\"next\" href=\"/console/price-lists/\(esc(l.id))?\(esc(Self.query([("cursor", next)])))#entries\">\(esc(t("next"))) →</a></p>"
        }

        // The checker (above the entries): what a SKU costs on a channel (at a store) now, and why.
        // Default to where the list applies: its channel, else the stores' POS when it targets stores.
        let storesOnly = l.organisationId != nil || l.regionCode != nil || l.locationId != nil
        let defaultChannel = l.channelId ?? (storesOnly ? channelList.first { $0.kind.isStore }?.id : nil) ?? channelList.first?.id
        let channelId = Self.param(req, "channel") ?? defaultChannel ?? ""
        var storeCode = Self.param(req, "store")
        if storeCode == nil, Self.param(req, "check") == nil {
            if let loc = l.locationId {
                storeCode = try? await services.network.location(loc, scope: .all).code
            } else if let org = l.organisationId {
                var f = LocationFilter()
                f.organisationId = org
                f.kind = .store
                f.limit = 1
                storeCode = try? await services.network.locations(f, scope: .all).items.first?.code
            } else if let region = l.regionCode {
                var f = LocationFilter()
                f.kind = .store
                f.limit = 200
                storeCode = try? await services.network.locations(f, scope: .all).items.first {
                    [$0.address.provinceCode, $0.address.cityCode, $0.address.districtCode].contains(region)
                }?.code
            }
        }
        let skuText = Self.param(req, "skus") ?? page.items.prefix(4).map(\.skuCode).joined(separator: ", ")
        var channelOptions = ""
        for c in channelList {
            channelOptions += "<option value=\"\(esc(c.id))\"\(c.id == channelId ? " selected" : "")>\(esc(c.name)) (\(esc(c.code)))</option>"
        }
        body += """
            <h2 id="checker">\(esc(t("checker")))</h2><p class="muted">\(esc(t("checkerHelp")))</p>
            <form class="filters" method="get" action="/console/price-lists/\(esc(l.id))#checker">
            <input type="hidden" name="check" value="1">
            <select name="channel" aria-label="\(esc(t("channel")))">\(channelOptions)</select>
            <input name="store" value="\(esc(storeCode ?? ""))" placeholder="\(esc(t("storeOptional")))" aria-label="\(esc(t("storeOptional")))" size="12">
            <input name="skus" value="\(esc(skuText))" placeholder="\(esc(t("skuCodes")))" aria-label="\(esc(t("skuCodes")))" size="48">
            <button type="submit">\(esc(t("check")))</button></form>
            """
        if Self.param(req, "check") != nil {
            body += try await checkPrices(channelId: channelId, storeCode: storeCode, skuText: skuText, channels: channels, t)
        }
        return (l.name, body + entriesHTML)
    }

    private func checkPrices(channelId: String, storeCode: String?, skuText: String, channels: [String: SalesChannel], _ t: Texts)
        async throws -> String {
        let refs = skuText.split(whereSeparator: { $0 == "," || $0 == "，" || $0 == " " || $0 == "\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !refs.isEmpty else { return "" }
        var locationId: String?
        if let storeCode {
            if storeCode.hasPrefix("loc_") {
                locationId = storeCode
            } else {
                var f = LocationFilter()
                f.text = storeCode
                f.limit = 50
                locationId = try await services.network.locations(f, scope: .all).items.first { $0.code == storeCode }?.id
                guard locationId != nil else { return "<p class=\"error\" role=\"alert\">\(esc(t("unknownStore")))</p>" }
            }
        }
        let resolved: [ResolvedPrice]
        do {
            resolved = try await services.prices.resolve(
                skus: Array(refs.prefix(200)), PriceContext(channelId: channelId, locationId: locationId, at: services.clock.instant()))
        } catch let p as Problem where p.status < 500 {
            return Self.problemHTML(p, t)
        }
        var rows = ""
        for r in resolved {
            rows += "<tr><td><code>\(esc(r.skuCode))</code></td><td class=\"num\">\(esc(Self.money(r.listPrice, r.currency)))</td>"
            rows += "<td class=\"num\"><b>\(esc(Self.money(r.price, r.currency)))</b><br><span class=\"muted\">\(esc(Self.percent(r.price, vs: r.listPrice)))</span></td>"
            rows += "<td>\(esc(await humanise(r.rule, channels)))"
            if !r.overridden.isEmpty { rows += "<br><small class=\"muted\">\(esc(t("overridden"))): \(esc(r.overridden.joined(separator: ", ")))</small>" }
            rows += "</td>"
            rows += "<td>\(r.sellable ? "<span class=\"tag ok\">\(esc(t("yes")))</span>" : "<span class=\"tag warn\">\(esc(t("no")))</span><br>\(esc(r.notSellableReason ?? ""))")</td></tr>"
        }
        return """
            <div class="scroll"><table class="responsive checker"><thead><tr><th>\(esc(t("sku")))</th><th>\(esc(t("listPrice")))</th>
            <th>\(esc(t("price")))</th><th>\(esc(t("rule")))</th><th>\(esc(t("sellable")))</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }

    /// A problem as a message and, when it names fields, a table of them (with the file line for imports).
    static func problemHTML(_ p: Problem, _ t: Texts, title: String? = nil) -> String {
        var html = "<div class=\"error\" role=\"alert\"><b>\(esc(title ?? p.title))</b>\(p.detail.map { "<br>" + esc($0) } ?? "")</div>"
        if let errors = p.errors, !errors.isEmpty {
            let withLines = errors.contains { $0.line != nil }
            html += "<table class=\"responsive errors\"><thead><tr>\(withLines ? "<th>\(esc(t("line")))</th>" : "")<th>\(esc(t("column")))</th><th>\(esc(t("message")))</th></tr></thead><tbody>"
            for e in errors {
                html += "<tr>\(withLines ? "<td class=\"num\">\(e.line.map(String.init) ?? "—")</td>" : "")<td><code>\(esc(e.field))</code></td><td>\(esc(e.message))</td></tr>"
            }
            html += "</tbody></table>"
        }
        return html
    }

    // MARK: Import and export

    /// Who may import which kind of file.
    static func mayImport(_ kind: CatalogImporter.Kind, _ principal: Principal) -> Bool {
        principal.can(kind == .prices ? .pricesManage : .catalogManage)
    }

    struct ImportOutcome {
        var kind: CatalogImporter.Kind
        var dryRun: Bool
        var text: String
        var html: String
    }

    private func importPage(_ t: Texts, _ ctx: O2ORequestContext, outcome: ImportOutcome?) -> (title: String, body: String) {
        let principal = ctx.principal!
        let kinds = CatalogImporter.Kind.allCases.filter { Self.mayImport($0, principal) }
        var body = outcome?.html ?? ""
        if kinds.isEmpty {
            body += "<p class=\"muted\">\(esc(t("cannotImport")))</p>"
        } else {
            let selected = outcome?.kind ?? kinds[0]
            let options = kinds.map { k in
                "<option value=\"\(k.rawValue)\"\(k == selected ? " selected" : "")>\(esc(t("kind_" + k.rawValue)))</option>"
            }.joined()
            let columns = kinds.map { k in
                "<li><b>\(esc(t("kind_" + k.rawValue)))</b>: <code>\(esc(CatalogImporter.headers[k]!.joined(separator: ",")))</code></li>"
            }.joined()
            // Echo the text back when it failed, so it can be fixed; not when it is huge.
            let echo = outcome.map { $0.text.utf8.count <= 512 * 1024 ? $0.text : "" } ?? ""
            body += """
                <h2>\(esc(t("importTitle")))</h2><p class="muted">\(esc(t("importHelp")))</p>
                <form class="stack" method="post" action="/console/imports" id="import-form">
                <label>\(esc(t("kindOfFile"))) <select name="kind">\(options)</select></label>
                <label class="check"><input type="checkbox" name="dryRun" value="1"\(outcome?.dryRun ?? true ? " checked" : "")> \(esc(t("dryRun")))</label>
                <label>\(esc(t("csvFile"))) <input type="file" id="csv-file" accept=".csv,text/csv,text/plain"></label>
                <label for="csv-text">\(esc(t("csvText")))</label>
                <textarea id="csv-text" name="csv" rows="12" spellcheck="false" autocomplete="off">\(esc(echo))</textarea>
                <button type="submit">\(esc(t("import")))</button>
                </form>
                <details><summary>\(esc(t("expectedColumns")))</summary><ul>\(columns)</ul></details>
                <script>
                document.getElementById("csv-file").addEventListener("change", function (e) {
                  var f = e.target.files[0]; if (!f) return;
                  var r = new FileReader();
                  r.onload = function () { document.getElementById("csv-text").value = r.result; };
                  r.readAsText(f, "utf-8");
                });
                </script>
                """
        }
        body += "<h2>\(esc(t("exports")))</h2><p class=\"muted\">\(esc(t("exportHelp")))</p><ul class=\"exports\">"
        for k in CatalogImporter.Kind.allCases {
            body += "<li><a href=\"/console/exports/\(k.rawValue).csv\" download>\(k.rawValue).csv</a> — \(esc(t("kind_" + k.rawValue)))</li>"
        }
        body += "</ul>"
        return (t("imports"), body)
    }

    private func runImport(_ form: [String: String], _ t: Texts, _ ctx: O2ORequestContext) async throws -> (title: String, body: String) {
        let principal = ctx.principal!
        guard let kind = form["kind"].flatMap(CatalogImporter.Kind.init(rawValue:)) else {
            throw Problem.validation([.init("kind", "must be skus, listings or prices")])
        }
        guard Self.mayImport(kind, principal) else { throw Problem.forbidden(t("importForbiddenKind")) }
        let dryRun = form["dryRun"] != nil
        let text = form["csv"] ?? ""
        var outcome = ImportOutcome(kind: kind, dryRun: dryRun, text: "", html: "")
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            outcome.html = "<p class=\"error\" role=\"alert\">\(esc(t("emptyFile")))</p>"
            return importPage(t, ctx, outcome: outcome)
        }
        do {
            let r = try await services.importer.importCSV(kind, text: text, dryRun: dryRun, caller: ctx.caller ?? Caller(principal))
            outcome.html = """
                <div class="notice ok" role="status"><b>\(esc(t(r.dryRun ? "importChecked" : "importDone")))</b></div>
                <dl class="grid result"><dt>\(esc(t("kindOfFile")))</dt><dd>\(esc(t("kind_" + r.kind.rawValue)))</dd>
                <dt>\(esc(t("rows")))</dt><dd>\(r.rows)</dd><dt>\(esc(t("createdCount")))</dt><dd>\(r.created)</dd>
                <dt>\(esc(t("updatedCount")))</dt><dd>\(r.updated)</dd><dt>\(esc(t("unchangedCount")))</dt><dd>\(r.unchanged)</dd></dl>
                """
            // A dry run that passed keeps the text, ready to import for real.
            if r.dryRun { outcome.text = text }
            outcome.dryRun = false
        } catch let p as Problem where p.status < 500 && p.status != 403 {
            outcome.html = Self.problemHTML(p, t, title: t("importFailed"))
            outcome.text = text
        }
        return importPage(t, ctx, outcome: outcome)
    }

    private func export(_ file: String, _ ctx: O2ORequestContext) async throws -> Response {
        guard let principal = ctx.principal else { return Response(status: .seeOther, headers: [.location: "/console/login"]) }
        guard principal.can(.consoleUse), principal.can(.catalogRead) else {
            return Response(status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "forbidden")))
        }
        guard file.hasSuffix(".csv"), let kind = CatalogImporter.Kind(rawValue: String(file.dropLast(4))) else {
            throw Problem.notFound("export", file)
        }
        // A byte-order mark, so spreadsheet programs read the Chinese text as UTF-8; the importer skips it.
        let csv = "\u{FEFF}" + (try await services.importer.exportCSV(kind))
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"\(kind.rawValue).csv\"",
            .cacheControl: "no-store",
        ], body: .init(byteBuffer: ByteBuffer(string: csv)))
    }
}
