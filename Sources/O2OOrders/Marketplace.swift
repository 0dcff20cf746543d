import Crypto
import Foundation
import O2OCore

// Marketplace order import (第三方电商平台订单接入): pure adapters that turn a marketplace's order
// document into `MarketplaceOrder`, O2O's reading of it. No database, no HTTP: the caller fetches
// or receives the document (webhook body, API response) and decides what to do with the result.
//
// Rules every adapter keeps:
// - The marketplace's figures are kept as given. Where they disagree with each other the order
//   carries a warning; nothing is "fixed" silently.
// - Money is read from its decimal text into integer minor units, exactly, never through a Double.
// - Every bad field of every order and line is reported at once, each under its path in the
//   document ("orders[0].line_items[2].sku"), as one 422 problem.

// MARK: - The imported order

/// Where a marketplace order stands, in few enough words to act on. The marketplace's own status
/// stays verbatim in `MarketplaceOrder.externalStatus`.
public enum MarketplaceOrderState: String, Codable, Sendable, CaseIterable {
    /// Placed, not (fully) paid: nothing to ship yet (等待买家付款; Shopify pending, partially_paid).
    case awaitingPayment = "awaiting_payment"
    /// Paid, or for Shopify authorised and capturable, and waiting for the seller to ship (待发货).
    case awaitingShipment = "awaiting_shipment"
    /// Some of it shipped, some not (卖家部分发货; Shopify partial).
    case partiallyShipped = "partially_shipped"
    /// All shipped, not yet confirmed received (已发货, 等待买家确认收货).
    case shipped
    /// Delivered and confirmed, or closed as done (交易成功, 买家已签收; Shopify fulfilled and closed).
    case completed
    /// Closed before payment, or voided: nothing was or will be collected.
    case cancelled
    /// Paid, then refunded in full (付款以后退款成功, 交易关闭).
    case refunded
}

/// A marketplace's order in O2O's terms.
public struct MarketplaceOrder: Codable, Sendable, Equatable {
    /// The adapter that read it ("shopify", "tmall").
    public var marketplace: String
    /// The marketplace's order id, as text (Shopify id, Taobao tid).
    public var externalId: String
    /// The number people see, when it differs from the id (Shopify name "#1001").
    public var externalNumber: String?
    /// The marketplace's own status words, verbatim (Shopify: "financial/fulfillment[/cancelled|closed]").
    public var externalStatus: String
    public var state: MarketplaceOrderState
    public var placedAt: Date?
    public var paidAt: Date?
    /// ISO 4217; every amount below is in its minor units.
    public var currency: String
    public var buyer: MarketplaceBuyer
    /// The ship-to address as the marketplace gave it, in parts.
    public var shippingAddress: MarketplaceAddress?
    public var lines: [MarketplaceLine]
    public var totals: MarketplaceTotals
    public var payments: [MarketplacePayment]
    public var invoice: InvoiceRequest?
    /// What the buyer wrote (Shopify note, 买家留言).
    public var notes: [String]
    /// Named extras kept verbatim (Shopify note_attributes and discount codes, 卖家备注, invoice kind).
    public var attributes: [MarketplaceAttribute]
    /// Where the marketplace's own figures disagree, or something needed later is missing; the
    /// figures above are still exactly as given.
    public var warnings: [String]

    /// The address in the form orders use, once it has what delivery needs (name, a usable phone,
    /// coordinates); nil until then. Marketplaces rarely send coordinates: a geocoding step calls
    /// `shippingAddress?.deliveryAddress(lat:lng:)` with the ones it found.
    public var address: DeliveryAddress? { shippingAddress?.deliveryAddress() }

    public init(marketplace: String, externalId: String, externalNumber: String? = nil, externalStatus: String, state: MarketplaceOrderState,
                placedAt: Date? = nil, paidAt: Date? = nil, currency: String, buyer: MarketplaceBuyer = .init(),
                shippingAddress: MarketplaceAddress? = nil, lines: [MarketplaceLine], totals: MarketplaceTotals, payments: [MarketplacePayment] = [],
                invoice: InvoiceRequest? = nil, notes: [String] = [], attributes: [MarketplaceAttribute] = [], warnings: [String] = []) {
        self.marketplace = marketplace
        self.externalId = externalId
        self.externalNumber = externalNumber
        self.externalStatus = externalStatus
        self.state = state
        self.placedAt = placedAt
        self.paidAt = paidAt
        self.currency = currency
        self.buyer = buyer
        self.shippingAddress = shippingAddress
        self.lines = lines
        self.totals = totals
        self.payments = payments
        self.invoice = invoice
        self.notes = notes
        self.attributes = attributes
        self.warnings = warnings
    }
}

public struct MarketplaceBuyer: Codable, Sendable, Equatable {
    /// The marketplace's id for the buyer (Shopify customer.id, Taobao buyer_open_uid).
    public var externalId: String?
    public var name: String?
    public var email: String?
    public var phone: String?
    public init(externalId: String? = nil, name: String? = nil, email: String? = nil, phone: String? = nil) {
        self.externalId = externalId
        self.name = name
        self.email = email
        self.phone = phone
    }
}

/// A ship-to address in the marketplace's parts. Region names are kept as names: O2O's region codes
/// are GB/T 2260 codes, which marketplaces do not send, so a later step maps names to codes.
public struct MarketplaceAddress: Codable, Sendable, Equatable {
    public var name: String?
    public var phone: String?
    public var company: String?
    /// Street and number (Shopify address1, 淘宝 receiver_address).
    public var line1: String?
    public var line2: String?
    /// 街道/镇 (receiver_town).
    public var town: String?
    public var district: String?
    public var city: String?
    public var province: String?
    /// The marketplace's own province code (Shopify province_code, ISO 3166-2 such as "KY").
    public var provinceCode: String?
    public var postalCode: String?
    public var countryCode: String?
    public var country: String?
    public var lat: Double?
    public var lng: Double?

    public init(name: String? = nil, phone: String? = nil, company: String? = nil, line1: String? = nil, line2: String? = nil, town: String? = nil,
                district: String? = nil, city: String? = nil, province: String? = nil, provinceCode: String? = nil, postalCode: String? = nil,
                countryCode: String? = nil, country: String? = nil, lat: Double? = nil, lng: Double? = nil) {
        self.name = name
        self.phone = phone
        self.company = company
        self.line1 = line1
        self.line2 = line2
        self.town = town
        self.district = district
        self.city = city
        self.province = province
        self.provinceCode = provinceCode
        self.postalCode = postalCode
        self.countryCode = countryCode
        self.country = country
        self.lat = lat
        self.lng = lng
    }

    /// The whole address on one line, as a courier reads it: 省市区街道 + street for China (no
    /// separators, a municipality not repeated), "street, city, province, country" elsewhere.
    /// The postal code is left out: it has its own field.
    public var fullLine: String {
        if countryCode == "CN" {
            var parts: [String] = []
            for part in [province, city, district, town, line1, line2].compactMap({ $0?.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
                // 上海 then 上海市: keep the longer once.
                if let last = parts.last, part.hasPrefix(last) { parts[parts.count - 1] = part } else if let last = parts.last, last.hasPrefix(part) { continue } else { parts.append(part) }
            }
            return parts.joined()
        }
        return [line1, line2, city, provinceCode ?? province, countryCode ?? country]
            .compactMap { $0?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: ", ")
    }

    /// Whether the marketplace masked the name or phone (张**, 138****5678): such values cannot be
    /// used for delivery until decrypted through the marketplace.
    public var isMasked: Bool { [name, phone].contains { $0?.contains("*") == true } }

    /// The address for delivery with these coordinates (else its own), or nil while a name, an
    /// unmasked phone, the address text or valid coordinates are missing.
    public func deliveryAddress(lat: Double? = nil, lng: Double? = nil) -> DeliveryAddress? {
        guard let name = name?.trimmingCharacters(in: .whitespaces), !name.isEmpty, !name.contains("*"),
              let phone = phone?.trimmingCharacters(in: .whitespaces), !phone.isEmpty, !phone.contains("*"),
              let lat = lat ?? self.lat, let lng = lng ?? self.lng, (-90...90).contains(lat), (-180...180).contains(lng) else { return nil }
        let line = fullLine
        guard !line.isEmpty else { return nil }
        return DeliveryAddress(name: name, phone: phone, line1: line, postalCode: postalCode, lat: lat, lng: lng)
    }
}

public struct MarketplaceLine: Codable, Sendable, Equatable {
    /// The marketplace's line id (Shopify line_items[].id, Taobao oid).
    public var externalLineId: String?
    /// The merchant's SKU code (Shopify sku, Taobao outer_sku_id): how the line finds our SKU.
    public var sku: String
    public var title: String?
    public var quantity: Int
    /// One unit before discounts, in minor units.
    public var unitPrice: Int64
    /// What the marketplace took off this line (Shopify total_discount or its discount_allocations,
    /// Taobao discount_fee).
    public var discount: Int64
    /// What the line comes to for the buyer without shipping: as the marketplace says when it says
    /// (Taobao payment), else unitPrice × quantity − discount.
    public var total: Int64
    /// The line's own status, verbatim (Shopify fulfillment_status, Taobao order status).
    public var externalStatus: String?
    /// The marketplace's refund status for the line, verbatim (Taobao refund_status).
    public var refundStatus: String?

    public init(externalLineId: String? = nil, sku: String, title: String? = nil, quantity: Int, unitPrice: Int64, discount: Int64 = 0, total: Int64,
                externalStatus: String? = nil, refundStatus: String? = nil) {
        self.externalLineId = externalLineId
        self.sku = sku
        self.title = title
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.discount = discount
        self.total = total
        self.externalStatus = externalStatus
        self.refundStatus = refundStatus
    }
}

/// The order's totals as the marketplace states them, in minor units.
public struct MarketplaceTotals: Codable, Sendable, Equatable {
    /// The goods before order discounts (Shopify total_line_items_price, Taobao total_fee), as O2O's
    /// `Order.subtotal`.
    public var subtotal: Int64
    public var discount: Int64
    public var shipping: Int64
    /// 0 where the marketplace reports none (Taobao prices include VAT).
    public var tax: Int64
    /// What the buyer pays (Shopify total_price, Taobao payment).
    public var total: Int64
    /// Prices already include the tax.
    public var taxIncluded: Bool

    public init(subtotal: Int64, discount: Int64 = 0, shipping: Int64 = 0, tax: Int64 = 0, total: Int64, taxIncluded: Bool = false) {
        self.subtotal = subtotal
        self.discount = discount
        self.shipping = shipping
        self.tax = tax
        self.total = total
        self.taxIncluded = taxIncluded
    }
}

public struct MarketplacePayment: Codable, Sendable, Equatable {
    /// The gateway or tender (Shopify payment_gateway_names, "alipay", "cod").
    public var gateway: String
    public var amount: Int64
    /// Nil where the marketplace's status has no equivalent (Shopify partially_paid).
    public var status: PaymentIntentStatus?
    /// The status it was read from, verbatim.
    public var externalStatus: String?
    /// The provider's reference (支付宝交易号 alipay_no).
    public var reference: String?

    public init(gateway: String, amount: Int64, status: PaymentIntentStatus?, externalStatus: String? = nil, reference: String? = nil) {
        self.gateway = gateway
        self.amount = amount
        self.status = status
        self.externalStatus = externalStatus
        self.reference = reference
    }
}

public struct MarketplaceAttribute: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

// MARK: - Adapters

/// Reads one marketplace's order documents, and names its status for each state (for events that
/// flow back to it).
public protocol MarketplaceAdapter: Sendable {
    var name: String { get }
    /// Every order in the document; a 422 `Problem` naming every bad field when any is bad.
    func orders(from data: Data) throws -> [MarketplaceOrder]
    /// The marketplace's status for the state: what its `externalStatus` would read.
    func externalStatus(for state: MarketplaceOrderState) -> String
    /// The state an `externalStatus` of this marketplace means; nil for words it does not use.
    func state(forExternalStatus status: String) -> MarketplaceOrderState?
}

/// The marketplaces O2O reads, by the name each adapter goes by (which is also the provider of
/// the payments their orders carry).
public enum Marketplaces {
    public static let adapters: [String: any MarketplaceAdapter] = Dictionary(
        uniqueKeysWithValues: ([ShopifyAdapter(), TmallAdapter(), TmallAdapter(name: "jd")] as [any MarketplaceAdapter]).map { ($0.name, $0) })
}

extension MarketplaceOrderState {
    /// Where an O2O order stands in a marketplace's terms: what the marketplace should show for it.
    public init(_ o: Order) {
        switch o.status {
        case .placed, .allocated, .released, .picking, .readyForPickup: self = .awaitingShipment
        case .shipped: self = .shipped
        case .delivered, .pickedUp, .completed, .settled: self = .completed
        case .cancelled: self = o.payments.contains { $0.captured > 0 } ? .refunded : .cancelled
        }
    }
}

/// What `order.marketplace_status` events carry: an order of a marketplace moved to another
/// state, in the marketplace's own words, for the connector that writes it back there.
public struct MarketplaceStatusChange: Codable, Sendable, Equatable {
    public var orderId: String
    public var channelId: String
    public var marketplace: String
    public var externalId: String?
    public var status: OrderStatus
    public var state: MarketplaceOrderState
    public var externalStatus: String
    public var previousExternalStatus: String
}

// MARK: Money

/// Marketplace amounts ("199.00") to minor units and back, exactly, with `Money`'s currency digits.
public enum MarketplaceMoney {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case notAnAmount(String)
        case negative(String)
        case tooManyDecimals(String, allowed: Int)
        case tooLarge(String)

        public var description: String {
            switch self {
            case .notAnAmount(let t): "'\(t)' is not an amount: expected digits with an optional decimal point, e.g. 199.00"
            case .negative(let t): "must not be negative (got \(t))"
            case .tooManyDecimals(let t, let n): n == 0 ? "'\(t)' has decimals, but the currency has none" : "'\(t)' has more than \(n) decimals"
            case .tooLarge(let t): "'\(t)' is too large"
            }
        }
    }

    /// Minor units of a decimal amount in major units: "199.00" → 19900, "0.10" → 10, "1.5" → 150,
    /// "199" → 19900 (JPY "1500" → 1500). Zeros past the currency's decimals are exact and accepted
    /// ("1500.00" JPY → 1500); any other digit there, a sign (unless `allowNegative`), spaces,
    /// grouping or exponents are refused.
    public static func minorUnits(_ text: String, currency: String, allowNegative: Bool = false) throws(Failure) -> Int64 {
        let negative = text.hasPrefix("-")
        var body = negative ? String(text.dropFirst()) : text
        let digits = Money.minorDigits(currency)
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits: (Substring) -> Bool = { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        guard let whole = parts.first, !whole.isEmpty, isDigits(whole), parts.count == 1 || (!parts[1].isEmpty && isDigits(parts[1])) else {
            throw .notAnAmount(text)
        }
        if parts.count == 2, parts[1].count > digits {
            let extra = parts[1].dropFirst(digits)
            guard extra.allSatisfy({ $0 == "0" }) else { throw .tooManyDecimals(text, allowed: digits) }
            body = digits == 0 ? String(whole) : String(whole) + "." + parts[1].prefix(digits)
        }
        guard let value = Money.parseMinorUnits(body, currency: currency) else { throw .tooLarge(text) }
        if negative {
            guard allowNegative else { throw .negative(text) }
            return -value
        }
        return value
    }

    /// "199.00" for 19900 (the currency's decimals).
    public static func text(_ minorUnits: Int64, currency: String) -> String { Money.decimal(minorUnits, currency: currency) }
}

// MARK: Shopify

/// Shopify Admin REST orders: a webhook body (the bare order), `{"order": {…}}` or `{"orders": […]}`.
///
/// State: a full refund wins, then cancellation (cancelled_at, voided, restocked), then fulfilment
/// (fulfilled: shipped, or completed once closed; partial), then payment (authorized, paid,
/// partially_refunded: awaiting shipment; pending, partially_paid, expired: awaiting payment).
/// `externalStatus` reads "financial_status/fulfillment_status" (null as "unfulfilled"), plus
/// "/cancelled" or "/closed" when cancelled_at or closed_at is set.
public struct ShopifyAdapter: MarketplaceAdapter {
    public let name = "shopify"
    public init() {}

    /// Whether a webhook came from Shopify: its `X-Shopify-Hmac-Sha256` header is the base64 of
    /// HMAC-SHA256 over the raw body, keyed by the app's shared secret. Compared in constant time.
    public static func verifyWebhook(body: Data, hmacHeader: String, secret: String) -> Bool {
        guard let given = Data(base64Encoded: hmacHeader.trimmingCharacters(in: .whitespaces)), !secret.isEmpty else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    public static let financialStatuses = ["pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "expired"]
    public static let fulfillmentStatuses = ["unfulfilled", "partial", "fulfilled", "restocked"]

    public func orders(from data: Data) throws(Problem) -> [MarketplaceOrder] {
        var r = DocumentReader()
        var found: [([String: JSONValue], JSONPath)] = []
        if let doc = r.parse(data) {
            if let root = doc.object {
                if let one = root["order"] {
                    if let o = r.object(one, JSONPath.root.key("order")) { found = [(o, JSONPath.root.key("order"))] }
                } else if let many = root["orders"] {
                    found = r.list(many, JSONPath.root.key("orders"))
                } else if root["id"] != nil {
                    found = [(root, .root)]
                } else {
                    r.v.add("body", "is not a Shopify order: expected an order with an id, {\"order\": {…}} or {\"orders\": […]}")
                }
            } else {
                r.v.add("body", "must be a JSON object (a Shopify order, {\"order\": {…}} or {\"orders\": […]}), not \(doc.kind)")
            }
        }
        let orders = found.map { read($0.0, at: $0.1, &r) }
        try r.v.finish()
        return orders
    }

    public func externalStatus(for state: MarketplaceOrderState) -> String {
        switch state {
        case .awaitingPayment: "pending/unfulfilled"
        case .awaitingShipment: "paid/unfulfilled"
        case .partiallyShipped: "paid/partial"
        case .shipped: "paid/fulfilled"
        case .completed: "paid/fulfilled/closed"
        case .cancelled: "voided/unfulfilled/cancelled"
        case .refunded: "refunded/unfulfilled/cancelled"
        }
    }

    public func state(forExternalStatus status: String) -> MarketplaceOrderState? {
        let parts = status.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let flag = parts.count == 3 ? parts[2] : nil
        guard flag == nil || flag == "cancelled" || flag == "closed" else { return nil }
        return Self.state(financial: parts[0], fulfillment: parts[1], cancelled: flag == "cancelled", closed: flag == "closed")
    }

    static func state(financial: String, fulfillment: String?, cancelled: Bool, closed: Bool) -> MarketplaceOrderState? {
        let fulfillment = fulfillment ?? "unfulfilled"
        guard financialStatuses.contains(financial), fulfillmentStatuses.contains(fulfillment) else { return nil }
        if financial == "refunded" { return .refunded }
        if cancelled || financial == "voided" || fulfillment == "restocked" { return .cancelled }
        if fulfillment == "fulfilled" { return closed ? .completed : .shipped }
        if fulfillment == "partial" { return .partiallyShipped }
        return ["authorized", "paid", "partially_refunded"].contains(financial) ? .awaitingShipment : .awaitingPayment
    }

    static func paymentStatus(_ financial: String) -> PaymentIntentStatus? {
        switch financial {
        case "pending": .pending
        case "authorized": .authorised
        case "paid": .captured
        case "partially_refunded": .partiallyRefunded
        case "refunded": .refunded
        case "voided", "expired": .failed
        default: nil
        }
    }

    private func read(_ o: [String: JSONValue], at p: JSONPath, _ r: inout DocumentReader) -> MarketplaceOrder {
        var warnings: [String] = []
        let id = r.identifier(o, "id", p)
        let currencyText = r.text(o, "currency", p, required: true)
        r.v.currency(currencyText, p.key("currency").text)
        let currency = currencyText ?? "XXX"
        let money = { (minor: Int64) in MarketplaceMoney.text(minor, currency: currency) }

        // status
        let financial = r.text(o, "financial_status", p, required: true)
        let fulfillment = r.text(o, "fulfillment_status", p)
        if let financial, !Self.financialStatuses.contains(financial) {
            r.v.add(p.key("financial_status").text, "'\(financial)' is not a Shopify financial status (\(Self.financialStatuses.joined(separator: ", ")))")
        }
        if let fulfillment, !Self.fulfillmentStatuses.contains(fulfillment) {
            r.v.add(p.key("fulfillment_status").text, "'\(fulfillment)' is not a Shopify fulfillment status (null, \(Self.fulfillmentStatuses.joined(separator: ", ")))")
        }
        let cancelled = r.time(o, "cancelled_at", p, defaultOffset: nil) != nil
        let closed = r.time(o, "closed_at", p, defaultOffset: nil) != nil
        let financialStatus = financial ?? "pending"
        var externalStatus = "\(financialStatus)/\(fulfillment ?? "unfulfilled")"
        if cancelled { externalStatus += "/cancelled" } else if closed { externalStatus += "/closed" }
        let state = Self.state(financial: financialStatus, fulfillment: fulfillment, cancelled: cancelled, closed: closed) ?? .awaitingPayment

        // lines
        var lines: [MarketplaceLine] = []
        if let items = o["line_items"] {
            for (item, lp) in r.list(items, p.key("line_items")) {
                if let line = readLine(item, at: lp, currency: currency, &r) { lines.append(line) }
            }
        } else {
            warnings.append("line_items: absent from the document, so the order has no lines; fetch it with its line_items before fulfilling it")
        }

        // totals, as given
        let lineSum = r.sum(lines.map { $0.unitPrice * Int64($0.quantity) }, p.key("line_items"))
        let subtotal = r.amount(o, "total_line_items_price", p, currency: currency) ?? lineSum
        let discount = r.amount(o, "total_discounts", p, currency: currency) ?? 0
        let shippingSet = r.shopMoney(o, "total_shipping_price_set", p, currency: currency)
        var shippingLines: Int64?
        if let list = o["shipping_lines"] {
            let prices = r.list(list, p.key("shipping_lines")).map { r.amount($0.0, "price", $0.1, currency: currency) ?? 0 }
            shippingLines = r.sum(prices, p.key("shipping_lines"))
        }
        let shipping = shippingSet ?? shippingLines ?? 0
        let tax = r.amount(o, "total_tax", p, currency: currency) ?? 0
        let tip = r.amount(o, "total_tip_received", p, currency: currency) ?? 0
        let total = r.amount(o, "total_price", p, currency: currency, required: true) ?? 0
        let subtotalPrice = r.amount(o, "subtotal_price", p, currency: currency)
        let taxIncluded = o["taxes_included"] == .bool(true)

        var codes: [(code: String, amount: Int64)] = []
        if let list = o["discount_codes"] {
            for (c, cp) in r.list(list, p.key("discount_codes")) {
                codes.append((r.text(c, "code", cp) ?? "", r.amount(c, "amount", cp, currency: currency) ?? 0))
            }
        }

        // where the marketplace disagrees with itself
        if !lines.isEmpty, lineSum != subtotal {
            warnings.append("line_items: the lines add up to \(money(lineSum)) (price × quantity) but total_line_items_price is \(money(subtotal)); both are kept as given")
        }
        let codeSum = codes.reduce(Int64(0)) { $0 + $1.amount }
        if codeSum > discount {
            warnings.append("discount_codes: the codes add up to \(money(codeSum)) but total_discounts is \(money(discount))")
        }
        if let subtotalPrice, subtotalPrice != subtotal - discount {
            warnings.append("subtotal_price: \(money(subtotalPrice)) is not total_line_items_price − total_discounts = \(money(subtotal - discount))")
        }
        let expected = subtotal - discount + shipping + (taxIncluded ? 0 : tax) + tip
        if total != expected {
            warnings.append("total_price: \(money(total)) is not total_line_items_price − total_discounts + shipping + total_tax\(tip == 0 ? "" : " + tip") = \(money(expected))")
        }

        // payment: the order body carries the gateways, not per-gateway amounts (those are transactions)
        let names = (o["payment_gateway_names"].flatMap { r.strings($0, p.key("payment_gateway_names")) } ?? []).filter { !$0.isEmpty }
        let gateway = r.text(o, "gateway", p)
        if let gateway, !names.isEmpty, !names.contains(gateway) {
            warnings.append("gateway: '\(gateway)' is not among payment_gateway_names [\(names.joined(separator: ", "))]; payment_gateway_names is used")
        }
        if names.count > 1 {
            warnings.append("payment_gateway_names: paid through \(names.count) gateways; the amount each took is in the order's transactions")
        }
        let gateways = names.isEmpty ? gateway.map { [$0] } ?? [] : names
        let payments = gateways.isEmpty ? [] : [MarketplacePayment(gateway: gateways.joined(separator: "+"), amount: total,
                                                                  status: Self.paymentStatus(financialStatus), externalStatus: financialStatus)]

        // buyer and address
        var buyer = MarketplaceBuyer(email: r.text(o, "email", p) ?? r.text(o, "contact_email", p), phone: r.text(o, "phone", p))
        if let c = o["customer"], let customer = r.object(c, p.key("customer")) {
            let cp = p.key("customer")
            buyer.externalId = r.identifier(customer, "id", cp, required: false)
            buyer.name = Self.fullName(r.text(customer, "first_name", cp), r.text(customer, "last_name", cp))
            buyer.email = buyer.email ?? r.text(customer, "email", cp)
            buyer.phone = buyer.phone ?? r.text(customer, "phone", cp)
        }
        var address: MarketplaceAddress?
        if let a = o["shipping_address"], let s = r.object(a, p.key("shipping_address")) {
            let ap = p.key("shipping_address")
            address = MarketplaceAddress(
                name: r.text(s, "name", ap) ?? Self.fullName(r.text(s, "first_name", ap), r.text(s, "last_name", ap)), phone: r.text(s, "phone", ap),
                company: r.text(s, "company", ap), line1: r.text(s, "address1", ap), line2: r.text(s, "address2", ap), city: r.text(s, "city", ap),
                province: r.text(s, "province", ap), provinceCode: r.text(s, "province_code", ap), postalCode: r.text(s, "zip", ap),
                countryCode: r.text(s, "country_code", ap), country: r.text(s, "country", ap),
                lat: r.coordinate(s, "latitude", ap, -90...90), lng: r.coordinate(s, "longitude", ap, -180...180))
        }

        var notes: [String] = []
        if let note = r.text(o, "note", p, max: 5_000) { notes.append(note) }
        var attributes: [MarketplaceAttribute] = []
        if let list = o["note_attributes"] {
            for (a, ap) in r.list(list, p.key("note_attributes")) {
                if let n = r.text(a, "name", ap) { attributes.append(.init(n, r.text(a, "value", ap, max: 5_000) ?? "")) }
            }
        }
        attributes += codes.filter { !$0.code.isEmpty }.map { MarketplaceAttribute("discount_code", $0.code) }

        return MarketplaceOrder(
            marketplace: name, externalId: id ?? "", externalNumber: r.text(o, "name", p), externalStatus: externalStatus, state: state,
            placedAt: r.time(o, "created_at", p, defaultOffset: nil), currency: currency, buyer: buyer, shippingAddress: address, lines: lines,
            totals: MarketplaceTotals(subtotal: subtotal, discount: discount, shipping: shipping, tax: tax, total: total, taxIncluded: taxIncluded),
            payments: payments, notes: notes, attributes: attributes, warnings: warnings)
    }

    private func readLine(_ li: [String: JSONValue], at lp: JSONPath, currency: String, _ r: inout DocumentReader) -> MarketplaceLine? {
        let id = r.identifier(li, "id", lp, required: false)
        let sku = r.sku(li, "sku", lp, missing: "is required: every line needs the merchant's SKU code (set the variant's SKU in Shopify)")
        let quantity = r.quantity(li, "quantity", lp)
        let price = r.amount(li, "price", lp, currency: currency, required: true)
        var discount = r.amount(li, "total_discount", lp, currency: currency)
        if discount == nil, let list = li["discount_allocations"] {
            let amounts = r.list(list, lp.key("discount_allocations")).map { r.amount($0.0, "amount", $0.1, currency: currency) ?? 0 }
            discount = r.sum(amounts, lp.key("discount_allocations"))
        }
        guard let sku, let quantity, let price else { return nil }
        guard let gross = r.product(price, quantity, lp.key("price")) else { return nil }
        return MarketplaceLine(externalLineId: id, sku: sku, title: r.text(li, "name", lp) ?? r.text(li, "title", lp), quantity: quantity,
                               unitPrice: price, discount: discount ?? 0, total: gross - (discount ?? 0), externalStatus: r.text(li, "fulfillment_status", lp))
    }

    static func fullName(_ first: String?, _ last: String?) -> String? {
        let n = [first, last].compactMap { $0 }.joined(separator: " ")
        return n.isEmpty ? nil : n
    }
}

// MARK: Tmall / Taobao

/// Taobao/Tmall TOP trades (taobao.trade.fullinfo.get, taobao.trades.sold.get): `{"trade": {…}}`,
/// `{"trades": […]}`, the TOP response wrappers (`trade_fullinfo_get_response.trade`,
/// `trades_sold_get_response.trades.trade`, …) or a bare trade; lists either as TOP's
/// `{"trade": […]}` / `{"order": […]}` or plain arrays (simplify=true). Amounts are yuan text,
/// times "yyyy-MM-dd HH:mm:ss" in Asia/Shanghai (UTC+8 all year since 1991).
///
/// Per TOP's documentation a lone order's `payment` includes the post fee and several orders'
/// do not: the line total takes the post fee out of a lone line, so lines never carry shipping.
/// The SKU code is the order's outer_sku_id (商家编码), else the item's outer_iid for items
/// without SKUs.
public struct TmallAdapter: MarketplaceAdapter {
    public let name: String
    public init(name: String = "tmall") { self.name = name }

    /// Every trade status TOP documents, and its state.
    public static let states: [String: MarketplaceOrderState] = [
        "TRADE_NO_CREATE_PAY": .awaitingPayment, "WAIT_BUYER_PAY": .awaitingPayment, "PAY_PENDING": .awaitingPayment,
        "WAIT_PRE_AUTH_CONFIRM": .awaitingPayment,
        "WAIT_SELLER_SEND_GOODS": .awaitingShipment, "PAID_FORBID_CONSIGN": .awaitingShipment,
        "SELLER_CONSIGNED_PART": .partiallyShipped,
        "WAIT_BUYER_CONFIRM_GOODS": .shipped,
        "TRADE_BUYER_SIGNED": .completed, "TRADE_FINISHED": .completed,
        "TRADE_CLOSED": .refunded,
        "TRADE_CLOSED_BY_TAOBAO": .cancelled,
    ]
    static let wrappers = ["trade_fullinfo_get_response", "trade_get_response", "trades_sold_get_response", "trades_sold_increment_get_response"]
    static let shanghai = 8 * 3600

    public func orders(from data: Data) throws(Problem) -> [MarketplaceOrder] {
        var r = DocumentReader()
        var found: [([String: JSONValue], JSONPath)] = []
        if let doc = r.parse(data) {
            if var root = doc.object {
                var p = JSONPath.root
                if let error = root["error_response"]?.object {
                    let parts = ["code", "msg", "sub_code", "sub_msg"].compactMap { k in error[k].flatMap { $0.scalarText } }
                    r.v.add("error_response", "TOP answered with an error: \(parts.joined(separator: " "))")
                } else if let key = Self.wrappers.first(where: { root[$0] != nil }) {
                    p = p.key(key)
                    root = r.object(root[key]!, p) ?? [:]
                    if root["trade"] == nil, root["trades"] == nil { root["trades"] = .array([]) }  // total_results 0: no trades key
                }
                if let one = root["trade"] {
                    if let o = r.object(one, p.key("trade")) { found = [(o, p.key("trade"))] }
                } else if let many = root["trades"] {
                    found = r.topList(many, p.key("trades"), element: "trade")
                } else if root["tid"] != nil || root["tid_str"] != nil {
                    found = [(root, p)]
                } else if root["error_response"] == nil {
                    r.v.add("body", "is not a Taobao trade: expected {\"trade\": {…}}, {\"trades\": […]}, a TOP response or a trade with a tid")
                }
            } else {
                r.v.add("body", "must be a JSON object ({\"trade\": {…}}, {\"trades\": […]} or a TOP response), not \(doc.kind)")
            }
        }
        let orders = found.map { read($0.0, at: $0.1, &r) }
        try r.v.finish()
        return orders
    }

    public func externalStatus(for state: MarketplaceOrderState) -> String {
        switch state {
        case .awaitingPayment: "WAIT_BUYER_PAY"
        case .awaitingShipment: "WAIT_SELLER_SEND_GOODS"
        case .partiallyShipped: "SELLER_CONSIGNED_PART"
        case .shipped: "WAIT_BUYER_CONFIRM_GOODS"
        case .completed: "TRADE_FINISHED"
        case .cancelled: "TRADE_CLOSED_BY_TAOBAO"
        case .refunded: "TRADE_CLOSED"
        }
    }

    public func state(forExternalStatus status: String) -> MarketplaceOrderState? { Self.states[status] }

    private struct RawLine {
        var line: MarketplaceLine
        /// The order's `payment` as given (a lone order's includes the post fee).
        var payment: Int64?
        var warning: String?
    }

    private func read(_ o: [String: JSONValue], at p: JSONPath, _ r: inout DocumentReader) -> MarketplaceOrder {
        let currency = "CNY"
        let money = { (minor: Int64) in MarketplaceMoney.text(minor, currency: currency) }
        var warnings: [String] = []
        let id = o["tid_str"] != nil ? r.identifier(o, "tid_str", p) : r.identifier(o, "tid", p)
        let status = r.text(o, "status", p, required: true)
        if let status, Self.states[status] == nil {
            r.v.add(p.key("status").text, "'\(status)' is not a Taobao trade status (\(Self.states.keys.sorted().joined(separator: ", ")))")
        }
        let state = status.flatMap { Self.states[$0] } ?? .awaitingPayment
        let type = r.text(o, "type", p)

        let subtotal = r.amount(o, "total_fee", p, currency: currency, required: true) ?? 0
        let discount = r.amount(o, "discount_fee", p, currency: currency) ?? 0
        let shipping = r.amount(o, "post_fee", p, currency: currency) ?? 0
        let total = r.amount(o, "payment", p, currency: currency, required: true) ?? 0

        // lines
        var raw: [RawLine] = []
        if let orders = o["orders"] {
            for (item, lp) in r.topList(orders, p.key("orders"), element: "order") {
                if let line = readLine(item, at: lp, &r) {
                    raw.append(line)
                    if let w = line.warning { warnings.append(w) }
                }
            }
        } else {
            warnings.append("orders: absent from the document, so the trade has no lines; fetch it with taobao.trade.fullinfo.get and fields including orders")
        }
        let lone = raw.count == 1
        let lines = raw.map { l in
            var line = l.line
            if let payment = l.payment { line.total = lone ? payment - shipping : payment }
            return line
        }
        let gross = r.sum(lines.map { $0.unitPrice * Int64($0.quantity) }, p.key("orders"))
        if !lines.isEmpty, gross != subtotal {
            warnings.append("total_fee: \(money(subtotal)) is not what the orders add up to (price × num) = \(money(gross)); both are kept as given")
        }
        if !raw.isEmpty, raw.allSatisfy({ $0.payment != nil }) {
            let paid = r.sum(lines.map(\.total), p.key("orders")) + shipping
            if paid != total {
                warnings.append("payment: \(money(total)) is not the orders' payment + post_fee = \(money(paid))")
            }
        }

        // the receiver, often masked unless decrypted through TOP
        var address: MarketplaceAddress?
        let receiver = ["receiver_name", "receiver_mobile", "receiver_phone", "receiver_address", "receiver_state", "receiver_city"]
        if receiver.contains(where: { (o[$0] ?? .null) != .null }) {
            let country = r.text(o, "receiver_country", p)
            address = MarketplaceAddress(
                name: r.text(o, "receiver_name", p), phone: r.text(o, "receiver_mobile", p) ?? r.text(o, "receiver_phone", p),
                line1: r.text(o, "receiver_address", p, max: 500), town: r.text(o, "receiver_town", p), district: r.text(o, "receiver_district", p),
                city: r.text(o, "receiver_city", p), province: r.text(o, "receiver_state", p), postalCode: r.text(o, "receiver_zip", p),
                countryCode: country == nil || country == "中国" || country == "CN" ? "CN" : nil, country: country)
            if address!.isMasked {
                warnings.append("receiver: the name or phone is masked (\(address!.name ?? "") \(address!.phone ?? "")); decrypt it through TOP (oaid) before delivery")
            }
        }

        // payment: Alipay, or cash on delivery; nothing was collected for a trade closed before payment
        let paidAt = r.time(o, "pay_time", p, defaultOffset: Self.shanghai)
        let cod = type == "cod"
        let paymentStatus: PaymentIntentStatus? = switch state {
        case .awaitingPayment: .pending
        case .refunded: .refunded
        case .cancelled: nil
        case .completed: .captured
        case .awaitingShipment, .partiallyShipped, .shipped: cod ? .pending : .captured
        }
        let payments = paymentStatus.map {
            [MarketplacePayment(gateway: cod ? "cod" : "alipay", amount: total, status: $0, externalStatus: status, reference: r.text(o, "alipay_no", p))]
        } ?? []

        var notes: [String] = []
        for key in ["buyer_message", "buyer_memo"] {
            if let n = r.text(o, key, p, max: 5_000) { notes.append(n) }
        }
        var attributes: [MarketplaceAttribute] = []
        for key in ["seller_memo", "type", "invoice_kind", "invoice_type"] {
            if let value = r.text(o, key, p, max: 5_000) { attributes.append(.init(key, value)) }
        }
        let invoiceTitle = r.text(o, "invoice_name", p)

        return MarketplaceOrder(
            marketplace: name, externalId: id ?? "", externalStatus: status ?? "", state: state,
            placedAt: r.time(o, "created", p, defaultOffset: Self.shanghai), paidAt: paidAt, currency: currency,
            buyer: MarketplaceBuyer(externalId: r.text(o, "buyer_open_uid", p), name: r.text(o, "buyer_nick", p)),
            shippingAddress: address, lines: lines,
            totals: MarketplaceTotals(subtotal: subtotal, discount: discount, shipping: shipping, tax: 0, total: total, taxIncluded: true),
            payments: payments, invoice: invoiceTitle.map { InvoiceRequest(title: $0) }, notes: notes, attributes: attributes, warnings: warnings)
    }

    private func readLine(_ li: [String: JSONValue], at lp: JSONPath, _ r: inout DocumentReader) -> RawLine? {
        let currency = "CNY"
        let id = li["oid_str"] != nil ? r.identifier(li, "oid_str", lp, required: false) : r.identifier(li, "oid", lp, required: false)
        let given = { (key: String) in li[key]?.scalarText.map { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? false }
        let skuKey = !given("outer_sku_id") && given("outer_iid") ? "outer_iid" : "outer_sku_id"
        let sku = r.sku(li, skuKey, lp, missing: "is required: every order needs the merchant's SKU code (商家编码): set outer_sku_id, or outer_iid for an item without SKUs")
        let quantity = r.quantity(li, "num", lp)
        let price = r.amount(li, "price", lp, currency: currency, required: true)
        let totalFee = r.amount(li, "total_fee", lp, currency: currency)
        let payment = r.amount(li, "payment", lp, currency: currency)
        let discount = r.amount(li, "discount_fee", lp, currency: currency) ?? 0
        let adjust = r.amount(li, "adjust_fee", lp, currency: currency, allowNegative: true) ?? 0
        guard let sku, let quantity, let price, let gross = r.product(price, quantity, lp.key("price")) else { return nil }
        let line = MarketplaceLine(externalLineId: id, sku: sku, title: r.text(li, "title", lp, max: 500), quantity: quantity, unitPrice: price,
                                   discount: discount, total: totalFee ?? gross - discount, externalStatus: r.text(li, "status", lp),
                                   refundStatus: r.text(li, "refund_status", lp))
        var warning: String?
        if let totalFee, totalFee != gross + adjust - discount {
            // TOP: 应付金额 = 商品价格 × 商品数量 + 手工调整金额 − 子订单级订单优惠金额
            warning = "\(lp.text).total_fee: \(MarketplaceMoney.text(totalFee, currency: currency)) is not price × num + adjust_fee − discount_fee = "
                + MarketplaceMoney.text(gross + adjust - discount, currency: currency)
        }
        return RawLine(line: line, payment: payment, warning: warning)
    }
}

// MARK: - Reading JSON documents

/// A JSON value with numbers kept as their exact text (Foundation decodes `Decimal` from the digits).
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// A number with a fraction or beyond Int64, as exact decimal text.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Decimal.self) {
            self = .number(d.description)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    var object: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }

    /// Text, or a number's digits; nil for anything else.
    var scalarText: String? {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .number(let n): n
        default: nil
        }
    }

    /// What it is, for messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer, .number: "a number"
        case .string: "text"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

/// Where a value is in the document, as the field path errors name ("orders[0].line_items[2].sku").
struct JSONPath {
    var text: String
    static let root = JSONPath(text: "")
    func key(_ k: String) -> JSONPath { JSONPath(text: text.isEmpty ? k : text + "." + k) }
    func index(_ i: Int) -> JSONPath { JSONPath(text: text + "[\(i)]") }
}

/// Typed reads of a document's fields that collect every problem, with its path, in one Validator.
struct DocumentReader {
    var v = Validator()

    mutating func parse(_ data: Data) -> JSONValue? {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            v.add("body", data.isEmpty ? "is empty: expected a JSON document" : "is not valid JSON")
            return nil
        }
    }

    mutating func object(_ value: JSONValue, _ p: JSONPath) -> [String: JSONValue]? {
        if case .null = value { return nil }
        guard let o = value.object else { v.add(p.text, "must be an object, not \(value.kind)"); return nil }
        return o
    }

    /// The objects of a list, each with its path; other elements are errors.
    mutating func list(_ value: JSONValue, _ p: JSONPath) -> [([String: JSONValue], JSONPath)] {
        switch value {
        case .null: return []
        case .array(let items):
            var out: [([String: JSONValue], JSONPath)] = []
            for (i, item) in items.enumerated() {
                if let o = object(item, p.index(i)) { out.append((o, p.index(i))) } else if item == .null { v.add(p.index(i).text, "must be an object, not null") }
            }
            return out
        default:
            v.add(p.text, "must be a list, not \(value.kind)")
            return []
        }
    }

    /// A TOP list: a plain array (simplify=true) or `{"<element>": […]}`.
    mutating func topList(_ value: JSONValue, _ p: JSONPath, element: String) -> [([String: JSONValue], JSONPath)] {
        if let o = value.object {
            guard let inner = o[element] else { return [] }
            if inner.object != nil { return list(.array([inner]), p.key(element)) }  // XML-to-JSON of a one-element list
            return list(inner, p.key(element))
        }
        return list(value, p)
    }

    mutating func strings(_ value: JSONValue, _ p: JSONPath) -> [String]? {
        guard case .array(let items) = value else { v.add(p.text, "must be a list of text, not \(value.kind)"); return nil }
        return items.enumerated().compactMap { i, item in
            guard case .string(let s) = item else { v.add(p.index(i).text, "must be text, not \(item.kind)"); return nil }
            return s
        }
    }

    /// Text, or a number's digits; nil when absent, null or blank.
    mutating func text(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, required: Bool = false, max: Int = 300) -> String? {
        let field = p.key(key).text
        guard let value = o[key], value != .null else {
            if required { v.add(field, "is required") }
            return nil
        }
        guard let text = value.scalarText else { v.add(field, "must be text, not \(value.kind)"); return nil }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            if required { v.add(field, "must not be empty") }
            return nil
        }
        if text.count > max { v.add(field, "must be at most \(max) characters") }
        return text
    }

    /// An id: digits or text, without control characters.
    mutating func identifier(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, required: Bool = true) -> String? {
        let id = text(o, key, p, required: required, max: .max)
        v.text(id, p.key(key).text, required: false, max: 100)
        return id
    }

    mutating func sku(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, missing: String) -> String? {
        let field = p.key(key).text
        guard let value = o[key], let sku = value.scalarText, !sku.trimmingCharacters(in: .whitespaces).isEmpty else {
            if let value = o[key], value != .null, value.scalarText == nil { v.add(field, "must be text, not \(value.kind)") } else { v.add(field, missing) }
            return nil
        }
        let before = v.errors.count
        v.text(sku, field, max: 100)
        return v.errors.count == before ? sku.trimmingCharacters(in: .whitespaces) : nil
    }

    /// An amount in minor units of the currency, from decimal text (or a JSON number's exact digits).
    mutating func amount(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, currency: String, required: Bool = false, allowNegative: Bool = false) -> Int64? {
        let field = p.key(key).text
        guard let value = o[key], value != .null else {
            if required { v.add(field, "is required") }
            return nil
        }
        guard let text = value.scalarText else { v.add(field, "must be an amount such as 199.00, not \(value.kind)"); return nil }
        do {
            return try MarketplaceMoney.minorUnits(text, currency: currency, allowNegative: allowNegative)
        } catch {
            v.add(field, error.description)
            return nil
        }
    }

    /// `shop_money.amount` of a Shopify money set.
    mutating func shopMoney(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, currency: String) -> Int64? {
        guard let set = o[key], let s = object(set, p.key(key)), let m = s["shop_money"], let shop = object(m, p.key(key).key("shop_money")) else { return nil }
        return amount(shop, "amount", p.key(key).key("shop_money"), currency: currency)
    }

    /// A quantity: a whole number from 1 to 1,000,000.
    mutating func quantity(_ o: [String: JSONValue], _ key: String, _ p: JSONPath) -> Int? {
        let field = p.key(key).text
        guard let value = o[key], value != .null else { v.add(field, "is required"); return nil }
        let n: Int64?
        switch value {
        case .integer(let i): n = i
        case .string(let s): n = Int64(s)  // some gateways send "2"
        default: n = nil
        }
        guard let n else { v.add(field, "must be a whole number, not \(value.scalarText.map { "'\($0)'" } ?? value.kind)"); return nil }
        guard n >= 1 else { v.add(field, "must be at least 1 (got \(n))"); return nil }
        guard n <= 1_000_000 else { v.add(field, "must be at most 1000000"); return nil }
        return Int(n)
    }

    mutating func time(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, defaultOffset: Int?) -> Date? {
        guard let text = text(o, key, p) else { return nil }
        guard let date = MarketplaceTime.parse(text, defaultOffset: defaultOffset) else {
            v.add(p.key(key).text, defaultOffset == nil ? "'\(text)' is not an ISO 8601 time such as 2008-01-10T11:00:00-05:00" : "'\(text)' is not a time such as 2024-11-11 00:00:05")
            return nil
        }
        return date
    }

    /// A latitude or longitude (Shopify sends them as text or as numbers); not money, so a Double.
    mutating func coordinate(_ o: [String: JSONValue], _ key: String, _ p: JSONPath, _ range: ClosedRange<Double>) -> Double? {
        guard let value = o[key], value != .null else { return nil }
        guard let text = value.scalarText, !text.isEmpty else { v.add(p.key(key).text, "must be a number, not \(value.kind)"); return nil }
        guard let d = Double(text), d.isFinite else { v.add(p.key(key).text, "'\(text)' is not a number"); return nil }
        v.range(d, p.key(key).text, range)
        return range.contains(d) ? d : nil
    }

    /// price × quantity, or an error when it does not fit.
    mutating func product(_ price: Int64, _ quantity: Int, _ p: JSONPath) -> Int64? {
        let (r, overflow) = price.multipliedReportingOverflow(by: Int64(quantity))
        if overflow { v.add(p.text, "price × quantity is too large"); return nil }
        return r
    }

    mutating func sum(_ values: [Int64], _ p: JSONPath) -> Int64 {
        var total: Int64 = 0
        for x in values {
            let (s, overflow) = total.addingReportingOverflow(x)
            if overflow { v.add(p.text, "the amounts add up to more than can be stored"); return 0 }
            total = s
        }
        return total
    }
}

/// Marketplace times: "yyyy-MM-ddTHH:mm:ss[.fff](Z|±hh:mm)" (ISO 8601, Shopify) or "yyyy-MM-dd HH:mm:ss"
/// in a fixed zone (Taobao). Dates that do not exist (Feb 30) are refused, not rolled over.
enum MarketplaceTime {
    static func parse(_ text: String, defaultOffset: Int?) -> Date? {
        let s = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= s.count else { return nil }
            var n = 0
            for b in s[from..<(from + count)] {
                guard b >= 48, b <= 57 else { return nil }
                n = n * 10 + Int(b - 48)
            }
            return n
        }
        guard s.count >= 19, let y = number(0, 4), s[4] == 45, let mo = number(5, 2), s[7] == 45, let d = number(8, 2),
              s[10] == 84 || s[10] == 32, let h = number(11, 2), s[13] == 58, let mi = number(14, 2), s[16] == 58, let sec = number(17, 2) else { return nil }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(mo), (1...days[mo - 1]).contains(d), h < 24, mi < 60, sec < 60 else { return nil }
        var i = 19
        var fraction = 0.0
        if i < s.count, s[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < s.count, s[i] >= 48, s[i] <= 57 { fraction += Double(s[i] - 48) * scale; scale /= 10; i += 1 }
            guard i > start else { return nil }
        }
        let offset: Int
        if i == s.count {
            guard let defaultOffset else { return nil }
            offset = defaultOffset
        } else if s[i] == 90, i + 1 == s.count {
            offset = 0
        } else if s[i] == 43 || s[i] == 45, s.count == i + 6, let oh = number(i + 1, 2), s[i + 3] == 58, let om = number(i + 4, 2), oh < 24, om < 60 {
            offset = (s[i] == 45 ? -1 : 1) * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        // days from 1970-01-01 (Howard Hinnant's days_from_civil)
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let epochDays = era * 146_097 + doe - 719_468
        let seconds = epochDays * 86_400 + h * 3600 + mi * 60 + sec - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
