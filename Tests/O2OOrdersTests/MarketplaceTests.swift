import Foundation
import O2OCore
import O2OOrders
import Testing

/// An instant given in UTC, read by Foundation: an independent check of the adapters' own time parsing.
private func utc(_ text: String) throws -> Date { try Date.ISO8601FormatStyle().parse(text) }

/// The problem a document is refused with.
private func problem(_ adapter: some MarketplaceAdapter, _ json: String) -> Problem? {
    do {
        _ = try adapter.orders(from: Data(json.utf8))
        return nil
    } catch {
        return error as? Problem
    }
}

@Suite("Marketplace money: decimal text to minor units, exactly")
struct MarketplaceMoneyTests {
    @Test(arguments: [
        ("0.10", "USD", 10), ("199", "USD", 19_900), ("1.5", "USD", 150), ("199.00", "CNY", 19_900), ("0.01", "CNY", 1), ("0", "CNY", 0),
        ("1.230", "USD", 123), ("1500", "JPY", 1_500), ("1500.00", "JPY", 1_500), ("9900", "KRW", 9_900), ("999999999999.99", "CNY", 99_999_999_999_999),
    ] as [(String, String, Int64)])
    func minorUnits_readsDecimalTextExactly(_ text: String, _ currency: String, _ minor: Int64) throws {
        #expect(try MarketplaceMoney.minorUnits(text, currency: currency) == minor)
    }

    @Test(arguments: [
        ("1.234", "USD", MarketplaceMoney.Failure.tooManyDecimals("1.234", allowed: 2)),
        ("1500.5", "JPY", .tooManyDecimals("1500.5", allowed: 0)),
        ("-1.00", "USD", .negative("-1.00")),
        ("abc", "USD", .notAnAmount("abc")), ("", "USD", .notAnAmount("")), ("-abc", "USD", .notAnAmount("-abc")),
        ("1.", "USD", .notAnAmount("1.")), (".5", "USD", .notAnAmount(".5")), ("1,000.00", "USD", .notAnAmount("1,000.00")),
        ("+1", "USD", .notAnAmount("+1")), (" 1", "USD", .notAnAmount(" 1")), ("1e3", "USD", .notAnAmount("1e3")),
        ("１２", "CNY", .notAnAmount("１２")), ("1.2.3", "USD", .notAnAmount("1.2.3")),
        ("10000000000000", "CNY", .tooLarge("10000000000000")),
    ] as [(String, String, MarketplaceMoney.Failure)])
    func minorUnits_refusesWhatIsNotAnExactAmount(_ text: String, _ currency: String, _ failure: MarketplaceMoney.Failure) {
        #expect(throws: failure) { try MarketplaceMoney.minorUnits(text, currency: currency) }
    }

    @Test func minorUnits_negativeWhereAllowed_isExact() throws {
        // Taobao's adjust_fee (卖家手工调整) may be negative
        #expect(try MarketplaceMoney.minorUnits("-1.00", currency: "CNY", allowNegative: true) == -100)
        #expect(try MarketplaceMoney.minorUnits("-0.05", currency: "CNY", allowNegative: true) == -5)
        #expect(MarketplaceMoney.text(-150, currency: "CNY") == "-1.50")
        #expect(MarketplaceMoney.text(59_700, currency: "USD") == "597.00")
        #expect(MarketplaceMoney.text(1_500, currency: "JPY") == "1500")
    }
}

@Suite("Shopify orders: the Admin REST shape, as given")
struct ShopifyAdapterTests {
    /// ../shared/data/shopify next to the package (Shopify's docs fixtures); absent in a bare checkout.
    static func fixture(_ name: String) -> Data? {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data/shopify/\(name)").standardizedFileURL
        return FileManager.default.contents(atPath: url.path)
    }

    @Test func orderFixture_keepsLinesAndTotalsAsGiven_andWarnsWhereTheyDisagree() throws {
        // setup: order.json is {"order": {…}}; its three 199.00 lines add up to 597.00 while it says 398.00
        guard let data = Self.fixture("order.json") else { return }
        // act
        let orders = try ShopifyAdapter().orders(from: data)
        // check
        #expect(orders.count == 1)
        let o = try #require(orders.first)
        #expect(o.marketplace == "shopify" && o.externalId == "450789469" && o.externalNumber == "#1001" && o.currency == "USD")
        #expect(o.externalStatus == "authorized/unfulfilled")
        #expect(o.state == .awaitingShipment, "authorised payment, nothing fulfilled: the seller ships next")
        #expect(o.placedAt == (try utc("2008-01-10T16:00:00Z")))
        #expect(o.lines.map(\.sku) == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"])
        #expect(o.lines.map(\.externalLineId) == ["466157049", "518995019", "703073504"])
        #expect(o.lines.map(\.quantity) == [1, 1, 1])
        #expect(o.lines.map(\.unitPrice) == [19_900, 19_900, 19_900])
        #expect(o.lines.map(\.discount) == [0, 0, 0])
        #expect(o.lines.map(\.total) == [19_900, 19_900, 19_900])
        #expect(o.lines.first?.title == "IPod Nano - 8gb - green")
        #expect(o.totals == MarketplaceTotals(subtotal: 39_800, discount: 0, shipping: 0, tax: 1_194, total: 40_994), "the marketplace's totals, not the lines' sum")
        #expect(o.payments == [MarketplacePayment(gateway: "authorize_net", amount: 40_994, status: .authorised, externalStatus: "authorized")])
        #expect(o.buyer == MarketplaceBuyer(externalId: "207119551", name: "Bob Norman", email: "bob.norman@hostmail.com"))
        #expect(o.address == DeliveryAddress(name: "Bob Norman", phone: "555-625-1199", line1: "Chestnut Street 92, Louisville, KY, US", postalCode: "40202",
                                             lat: 45.41634, lng: -75.6868), "order.json gives the coordinates as text")
        #expect(o.attributes == [.init("custom engraving", "Happy Birthday"), .init("colour", "green"), .init("discount_code", "TENOFF")])
        #expect(o.notes.isEmpty)
        #expect(o.warnings.count == 2, "\(o.warnings)")
        #expect(o.warnings.contains { $0.hasPrefix("line_items:") && $0.contains("597.00") && $0.contains("398.00") })
        #expect(o.warnings.contains { $0.hasPrefix("discount_codes:") && $0.contains("10.00") && $0.contains("total_discounts is 0.00") })
    }

    @Test func ordersFixture_withoutLineItems_isReadWithItsTotals_andWarnings() throws {
        // setup: orders.json is {"orders": [one order]} from a list call: no line_items at all
        guard let data = Self.fixture("orders.json") else { return }
        // act
        let orders = try ShopifyAdapter().orders(from: data)
        // check
        #expect(orders.count == 1)
        let o = try #require(orders.first)
        #expect(o.externalId == "450789469" && o.externalNumber == "#1001")
        #expect(o.externalStatus == "partially_refunded/unfulfilled" && o.state == .awaitingShipment)
        #expect(o.lines.isEmpty)
        #expect(o.totals == MarketplaceTotals(subtotal: 59_700, discount: 1_000, shipping: 0, tax: 1_194, total: 59_894))
        #expect(o.payments == [MarketplacePayment(gateway: "bogus", amount: 59_894, status: .partiallyRefunded, externalStatus: "partially_refunded")])
        #expect(o.buyer == MarketplaceBuyer(externalId: "207119551", name: "Bob Norman", email: "bob.norman@hostmail.com", phone: "+557734881234"))
        #expect(o.shippingAddress?.lat == 45.41634 && o.shippingAddress?.lng == -75.6868, "orders.json gives the coordinates as numbers")
        #expect(o.warnings.count == 3, "\(o.warnings)")
        #expect(o.warnings.contains { $0.hasPrefix("line_items: absent") })
        #expect(o.warnings.contains { $0.hasPrefix("subtotal_price:") && $0.contains("597.00") && $0.contains("587.00") })
        #expect(o.warnings.contains { $0.hasPrefix("gateway:") && $0.contains("authorize_net") && $0.contains("bogus") })
    }

    /// An orders/updated webhook body: the bare order, in yen (no decimals), partly shipped.
    static let webhook = """
        {
          "id": 5551234567890, "name": "#2042", "currency": "JPY", "created_at": "2024-03-05T09:30:00+09:00",
          "financial_status": "paid", "fulfillment_status": "partial", "cancelled_at": null, "closed_at": null,
          "email": "hanako@example.jp", "phone": "+81312345678", "note": "置き配希望",
          "total_line_items_price": "4800", "total_discounts": "500", "subtotal_price": "4300", "total_tax": "436", "taxes_included": true,
          "total_price": "5100",
          "total_shipping_price_set": {"shop_money": {"amount": "800", "currency_code": "JPY"}, "presentment_money": {"amount": "800", "currency_code": "JPY"}},
          "discount_codes": [{"code": "SPRING500", "amount": "500", "type": "fixed_amount"}],
          "payment_gateway_names": ["shopify_payments"],
          "customer": {"id": 7001, "first_name": "Hanako", "last_name": "Yamada", "email": "hanako@example.jp"},
          "line_items": [
            {"id": 13000000001, "sku": "TEA-SENCHA-100", "title": "Sencha", "name": "Sencha - 100g", "quantity": 2, "price": "1500",
             "total_discount": "0", "fulfillment_status": "fulfilled"},
            {"id": 13000000002, "sku": "CUP-YUNOMI", "title": "Yunomi cup", "quantity": 1, "price": "1800",
             "discount_allocations": [{"amount": "500", "discount_application_index": 0}], "fulfillment_status": null}
          ],
          "shipping_address": {"first_name": "Hanako", "last_name": "Yamada", "address1": "1-2-3 Jingumae", "address2": "", "city": "Shibuya",
            "province": "Tokyo", "province_code": "JP-13", "zip": "150-0001", "country": "Japan", "country_code": "JP", "phone": "+81312345678",
            "latitude": 35.6702, "longitude": 139.7027}
        }
        """

    @Test func webhookBody_bareOrderInYen_readsExactly_withoutWarnings() throws {
        // act
        let orders = try ShopifyAdapter().orders(from: Data(Self.webhook.utf8))
        // check
        let o = try #require(orders.first)
        #expect(orders.count == 1)
        #expect(o.externalId == "5551234567890" && o.externalNumber == "#2042" && o.currency == "JPY")
        #expect(o.externalStatus == "paid/partial" && o.state == .partiallyShipped)
        #expect(o.placedAt == (try utc("2024-03-05T00:30:00Z")))
        #expect(o.lines == [
            MarketplaceLine(externalLineId: "13000000001", sku: "TEA-SENCHA-100", title: "Sencha - 100g", quantity: 2, unitPrice: 1_500, discount: 0,
                            total: 3_000, externalStatus: "fulfilled"),
            MarketplaceLine(externalLineId: "13000000002", sku: "CUP-YUNOMI", title: "Yunomi cup", quantity: 1, unitPrice: 1_800, discount: 500,
                            total: 1_300),
        ], "yen have no minor digits: 1500 is 1,500 units; the cup's discount comes from its discount_allocations")
        #expect(o.totals == MarketplaceTotals(subtotal: 4_800, discount: 500, shipping: 800, tax: 436, total: 5_100, taxIncluded: true))
        #expect(o.payments == [MarketplacePayment(gateway: "shopify_payments", amount: 5_100, status: .captured, externalStatus: "paid")])
        #expect(o.buyer == MarketplaceBuyer(externalId: "7001", name: "Hanako Yamada", email: "hanako@example.jp", phone: "+81312345678"))
        #expect(o.address == DeliveryAddress(name: "Hanako Yamada", phone: "+81312345678", line1: "1-2-3 Jingumae, Shibuya, JP-13, JP",
                                             postalCode: "150-0001", lat: 35.6702, lng: 139.7027))
        #expect(o.notes == ["置き配希望"])
        #expect(o.warnings.isEmpty, "\(o.warnings)")
    }

    @Test func bareWrappedAndListed_readTheSameOrder() throws {
        // setup
        let adapter = ShopifyAdapter()
        // act
        let bare = try adapter.orders(from: Data(Self.webhook.utf8))
        let wrapped = try adapter.orders(from: Data("{\"order\": \(Self.webhook)}".utf8))
        let listed = try adapter.orders(from: Data("{\"orders\": [\(Self.webhook), \(Self.webhook)]}".utf8))
        let none = try adapter.orders(from: Data(#"{"orders": []}"#.utf8))
        // check
        #expect(bare.count == 1 && wrapped == bare && listed == bare + bare && none.isEmpty)
    }

    @Test func cancelledOrder_isCancelled_refundedWinsOverCancelled() throws {
        // setup
        let cancelled = Self.webhook.replacingOccurrences(of: #""cancelled_at": null"#, with: #""cancelled_at": "2024-03-06T10:00:00+09:00""#)
            .replacingOccurrences(of: #""financial_status": "paid""#, with: #""financial_status": "voided""#)
        let refunded = cancelled.replacingOccurrences(of: #""financial_status": "voided""#, with: #""financial_status": "refunded""#)
        // act
        let c = try #require(try ShopifyAdapter().orders(from: Data(cancelled.utf8)).first)
        let r = try #require(try ShopifyAdapter().orders(from: Data(refunded.utf8)).first)
        // check
        #expect(c.externalStatus == "voided/partial/cancelled" && c.state == .cancelled)
        #expect(c.payments.map(\.status) == [.failed])
        #expect(r.externalStatus == "refunded/partial/cancelled" && r.state == .refunded)
        #expect(r.payments.map(\.status) == [.refunded])
    }

    @Test(arguments: [
        ("pending/unfulfilled", MarketplaceOrderState.awaitingPayment), ("partially_paid/unfulfilled", .awaitingPayment),
        ("expired/unfulfilled", .awaitingPayment), ("authorized/unfulfilled", .awaitingShipment), ("paid/unfulfilled", .awaitingShipment),
        ("partially_refunded/unfulfilled", .awaitingShipment), ("paid/partial", .partiallyShipped), ("paid/fulfilled", .shipped),
        ("paid/fulfilled/closed", .completed), ("paid/unfulfilled/closed", .awaitingShipment), ("paid/unfulfilled/cancelled", .cancelled),
        ("voided/unfulfilled", .cancelled), ("paid/restocked", .cancelled), ("refunded/fulfilled", .refunded), ("refunded/fulfilled/closed", .refunded),
    ])
    func state_ofEachStatusCombination(_ status: String, _ state: MarketplaceOrderState) {
        #expect(ShopifyAdapter().state(forExternalStatus: status) == state)
    }

    @Test func state_ofWordsShopifyDoesNotUse_isNil() {
        for status in ["paid", "bogus/unfulfilled", "paid/shipped", "paid/fulfilled/archived", "paid/fulfilled/closed/x", ""] {
            #expect(ShopifyAdapter().state(forExternalStatus: status) == nil, "\(status)")
        }
    }
}

@Suite("Tmall / Taobao trades: TOP's trade fields")
struct TmallAdapterTests {
    /// taobao.trade.fullinfo.get's answer (format=json, not simplified: lists as {"order": […]}).
    static let fullinfo = """
        {"trade_fullinfo_get_response": {"trade": {
          "tid": 3786212345678901234, "tid_str": "3786212345678901234", "status": "WAIT_SELLER_SEND_GOODS", "type": "fixed",
          "created": "2024-11-11 00:00:05", "pay_time": "2024-11-11 00:01:10", "modified": "2024-11-11 00:01:10",
          "total_fee": "237.90", "discount_fee": "24.00", "post_fee": "8.00", "adjust_fee": "0.00", "payment": "221.90",
          "buyer_nick": "t**_1", "buyer_open_uid": "AAHk5d-EAAeGwJedwSFu0XXX", "alipay_no": "2024111122001100001234567890",
          "receiver_name": "王小明", "receiver_mobile": "13800138000", "receiver_state": "浙江省", "receiver_city": "杭州市",
          "receiver_district": "西湖区", "receiver_town": "文新街道", "receiver_address": "文三路 100 号 3 幢 501 室", "receiver_zip": "310012",
          "buyer_message": "请周末送货，谢谢", "seller_memo": "老客户，送试用装",
          "invoice_name": "杭州小明科技有限公司", "invoice_kind": "1",
          "orders": {"order": [
            {"oid": 3786212345678901235, "oid_str": "3786212345678901235", "outer_iid": "TS-2024", "outer_sku_id": "TS-2024-BLK-M",
             "title": "纯棉圆领短袖T恤 黑色 M", "num": 2, "price": "99.00", "total_fee": "188.00", "discount_fee": "10.00", "adjust_fee": "0.00",
             "payment": "178.00", "status": "WAIT_SELLER_SEND_GOODS", "refund_status": "NO_REFUND"},
            {"oid": 3786212345678901236, "oid_str": "3786212345678901236", "outer_sku_id": "MUG-350-WHT", "title": "陶瓷马克杯 350ml 白色",
             "num": 1, "price": "39.90", "total_fee": "39.90", "discount_fee": "0.00", "adjust_fee": "0.00", "payment": "35.90",
             "status": "WAIT_SELLER_SEND_GOODS", "refund_status": "NO_REFUND"}
          ]}
        }}}
        """

    /// taobao.trades.sold.get's answer: an unpaid lone-order trade with a masked receiver, and a
    /// refunded trade whose item has no SKUs (outer_iid only) and whose total_fee disagrees.
    static let soldGet = """
        {"trades_sold_get_response": {"total_results": 2, "trades": {"trade": [
          {"tid": 3786212345678900001, "status": "WAIT_BUYER_PAY", "type": "fixed", "created": "2024-12-31 23:59:59",
           "total_fee": "1299.00", "discount_fee": "0.00", "post_fee": "12.00", "payment": "1311.00",
           "receiver_name": "李**", "receiver_mobile": "138****5678", "receiver_state": "上海", "receiver_city": "上海市",
           "receiver_district": "浦东新区", "receiver_address": "世纪大道 100 号",
           "orders": {"order": [{"oid": 3786212345678900011, "outer_sku_id": "EARBUDS-PRO-WHT", "title": "无线降噪耳机 白色", "num": 1,
                                 "price": "1299.00", "total_fee": "1299.00", "payment": "1311.00", "status": "WAIT_BUYER_PAY"}]}},
          {"tid": 3786212345678900002, "status": "TRADE_CLOSED", "type": "fixed", "created": "2024-10-01 08:00:00", "pay_time": "2024-10-01 08:00:30",
           "total_fee": "80.00", "post_fee": "0.00", "payment": "75.00",
           "orders": {"order": [{"oid": 3786212345678900021, "outer_iid": "SOAP-HANDMADE", "title": "手工皂 3 块装", "num": 3, "price": "25.00",
                                 "total_fee": "75.00", "payment": "75.00", "status": "TRADE_CLOSED", "refund_status": "SUCCESS"}]}}
        ]}}}
        """

    @Test func fullinfo_readsTheTrade_linesTotalsPaymentInvoiceAndReceiver() throws {
        // act
        let orders = try TmallAdapter().orders(from: Data(Self.fullinfo.utf8))
        // check
        #expect(orders.count == 1)
        let o = try #require(orders.first)
        #expect(o.marketplace == "tmall" && o.externalId == "3786212345678901234" && o.externalNumber == nil && o.currency == "CNY")
        #expect(o.externalStatus == "WAIT_SELLER_SEND_GOODS" && o.state == .awaitingShipment)
        #expect(o.placedAt == (try utc("2024-11-10T16:00:05Z")), "TOP times are Asia/Shanghai")
        #expect(o.paidAt == (try utc("2024-11-10T16:01:10Z")))
        #expect(o.lines == [
            MarketplaceLine(externalLineId: "3786212345678901235", sku: "TS-2024-BLK-M", title: "纯棉圆领短袖T恤 黑色 M", quantity: 2, unitPrice: 9_900,
                            discount: 1_000, total: 17_800, externalStatus: "WAIT_SELLER_SEND_GOODS", refundStatus: "NO_REFUND"),
            MarketplaceLine(externalLineId: "3786212345678901236", sku: "MUG-350-WHT", title: "陶瓷马克杯 350ml 白色", quantity: 1, unitPrice: 3_990,
                            discount: 0, total: 3_590, externalStatus: "WAIT_SELLER_SEND_GOODS", refundStatus: "NO_REFUND"),
        ], "outer_sku_id wins over outer_iid; the line total is the order's payment")
        #expect(o.totals == MarketplaceTotals(subtotal: 23_790, discount: 2_400, shipping: 800, tax: 0, total: 22_190, taxIncluded: true))
        #expect(o.payments == [MarketplacePayment(gateway: "alipay", amount: 22_190, status: .captured, externalStatus: "WAIT_SELLER_SEND_GOODS",
                                                  reference: "2024111122001100001234567890")])
        #expect(o.invoice == InvoiceRequest(title: "杭州小明科技有限公司"))
        #expect(o.buyer == MarketplaceBuyer(externalId: "AAHk5d-EAAeGwJedwSFu0XXX", name: "t**_1"))
        #expect(o.notes == ["请周末送货，谢谢"])
        #expect(o.attributes == [.init("seller_memo", "老客户，送试用装"), .init("type", "fixed"), .init("invoice_kind", "1")])
        #expect(o.warnings.isEmpty, "\(o.warnings)")
        // the receiver: parts kept, no coordinates, so no delivery address until geocoded
        let a = try #require(o.shippingAddress)
        #expect(a.name == "王小明" && a.phone == "13800138000" && a.province == "浙江省" && a.city == "杭州市" && a.district == "西湖区")
        #expect(a.postalCode == "310012" && a.countryCode == "CN" && a.lat == nil && !a.isMasked)
        #expect(a.fullLine == "浙江省杭州市西湖区文新街道文三路 100 号 3 幢 501 室")
        #expect(o.address == nil)
        #expect(a.deliveryAddress(lat: 30.2741, lng: 120.1551) == DeliveryAddress(name: "王小明", phone: "13800138000",
                                                                                  line1: "浙江省杭州市西湖区文新街道文三路 100 号 3 幢 501 室",
                                                                                  postalCode: "310012", lat: 30.2741, lng: 120.1551))
    }

    @Test func soldGet_loneOrderLosesThePostFee_maskedReceiverAndDisagreementsAreWarned() throws {
        // act
        let orders = try TmallAdapter().orders(from: Data(Self.soldGet.utf8))
        // check
        #expect(orders.map(\.externalId) == ["3786212345678900001", "3786212345678900002"])
        #expect(orders.map(\.state) == [.awaitingPayment, .refunded])
        let unpaid = orders[0], refunded = orders[1]
        // a lone order's payment includes the post fee (TOP): the line does not carry shipping
        #expect(unpaid.lines.map(\.total) == [129_900])
        #expect(unpaid.totals == MarketplaceTotals(subtotal: 129_900, discount: 0, shipping: 1_200, tax: 0, total: 131_100, taxIncluded: true))
        #expect(unpaid.payments == [MarketplacePayment(gateway: "alipay", amount: 131_100, status: .pending, externalStatus: "WAIT_BUYER_PAY")])
        #expect(unpaid.paidAt == nil)
        #expect(unpaid.placedAt == (try utc("2024-12-31T15:59:59Z")))
        #expect(unpaid.shippingAddress?.isMasked == true && unpaid.shippingAddress?.phone == "138****5678", "kept verbatim")
        #expect(unpaid.shippingAddress?.deliveryAddress(lat: 31.2304, lng: 121.4737) == nil, "a masked phone cannot deliver")
        #expect(unpaid.shippingAddress?.fullLine == "上海市浦东新区世纪大道 100 号", "a municipality is not repeated")
        #expect(unpaid.warnings.count == 1 && unpaid.warnings[0].hasPrefix("receiver: the name or phone is masked"), "\(unpaid.warnings)")
        // no SKUs on the item: its outer_iid is the merchant's code
        #expect(refunded.lines.map(\.sku) == ["SOAP-HANDMADE"] && refunded.lines.map(\.refundStatus) == ["SUCCESS"])
        #expect(refunded.payments.map(\.status) == [.refunded])
        #expect(refunded.totals.subtotal == 8_000, "as given")
        #expect(refunded.warnings == ["total_fee: 80.00 is not what the orders add up to (price × num) = 75.00; both are kept as given"])
    }

    @Test func everyShape_readsTheSameTrade() throws {
        // setup: the trade alone, simplified (plain arrays), listed, bare, and an empty page
        let adapter = TmallAdapter()
        let expected = try adapter.orders(from: Data(Self.fullinfo.utf8))
        let trade = try #require(Self.fullinfo.range(of: #"{"trade": "#).map { Self.fullinfo[$0.upperBound...].dropLast(2) }.map { String($0) })
        let simplified = trade.replacingOccurrences(of: #""orders": {"order": ["#, with: #""orders": ["#)
            .replacingOccurrences(of: "}\n  ]}\n}", with: "}\n  ]\n}")
        // act, check
        #expect(try adapter.orders(from: Data("{\"trade\": \(trade)}".utf8)) == expected)
        #expect(try adapter.orders(from: Data("{\"trade\": \(simplified)}".utf8)) == expected)
        #expect(try adapter.orders(from: Data("{\"trades\": [\(simplified), \(trade)]}".utf8)) == expected + expected)
        #expect(try adapter.orders(from: Data(trade.utf8)) == expected)
        #expect(try adapter.orders(from: Data(#"{"trades_sold_get_response": {"total_results": 0}}"#.utf8)).isEmpty)
    }

    @Test func topError_isA422NamingTheError() throws {
        // act
        let p = try #require(problem(TmallAdapter(), #"{"error_response": {"code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"}}"#))
        // check
        #expect(p.status == 422)
        #expect(p.errors?.map(\.field) == ["error_response"])
        #expect(p.errors?.first?.message.contains("27 Invalid session invalid-sessionkey") == true)
    }

    @Test func state_ofEveryDocumentedTradeStatus() {
        let expected: [String: MarketplaceOrderState] = [
            "TRADE_NO_CREATE_PAY": .awaitingPayment, "WAIT_BUYER_PAY": .awaitingPayment, "PAY_PENDING": .awaitingPayment, "WAIT_PRE_AUTH_CONFIRM": .awaitingPayment,
            "WAIT_SELLER_SEND_GOODS": .awaitingShipment, "PAID_FORBID_CONSIGN": .awaitingShipment, "SELLER_CONSIGNED_PART": .partiallyShipped,
            "WAIT_BUYER_CONFIRM_GOODS": .shipped, "TRADE_BUYER_SIGNED": .completed, "TRADE_FINISHED": .completed,
            "TRADE_CLOSED": .refunded, "TRADE_CLOSED_BY_TAOBAO": .cancelled,
        ]
        for (status, state) in expected { #expect(TmallAdapter().state(forExternalStatus: status) == state, "\(status)") }
        #expect(TmallAdapter().state(forExternalStatus: "ALL_WAIT_PAY") == nil, "a query filter, not a status")
    }

    @Test func cashOnDelivery_isCollectedOnlyWhenSigned() throws {
        // setup
        let cod = Self.fullinfo.replacingOccurrences(of: #""type": "fixed""#, with: #""type": "cod""#)
        let signed = cod.replacingOccurrences(of: #""status": "WAIT_SELLER_SEND_GOODS", "type""#, with: #""status": "TRADE_BUYER_SIGNED", "type""#)
        // act
        let waiting = try #require(try TmallAdapter().orders(from: Data(cod.utf8)).first)
        let collected = try #require(try TmallAdapter().orders(from: Data(signed.utf8)).first)
        // check
        #expect(waiting.payments.map(\.gateway) == ["cod"] && waiting.payments.map(\.status) == [.pending])
        #expect(collected.state == .completed && collected.payments.map(\.status) == [.captured])
    }
}

@Suite("Marketplace adapters: statuses back, and bad documents")
struct MarketplaceAdapterContractTests {
    static let adapters: [any MarketplaceAdapter] = [ShopifyAdapter(), TmallAdapter()]

    @Test func externalStatus_ofEveryState_readsBackAsThatState() {
        for adapter in Self.adapters {
            for state in MarketplaceOrderState.allCases {
                let status = adapter.externalStatus(for: state)
                #expect(adapter.state(forExternalStatus: status) == state, "\(adapter.name): \(state) → \(status)")
            }
        }
        #expect(TmallAdapter().externalStatus(for: .shipped) == "WAIT_BUYER_CONFIRM_GOODS")
        #expect(ShopifyAdapter().externalStatus(for: .shipped) == "paid/fulfilled")
    }

    @Test func importedOrder_survivesJSON_forEvents() throws {
        // setup
        let order = try #require(try TmallAdapter().orders(from: Data(TmallAdapterTests.fullinfo.utf8)).first)
        // act
        let back = try JSONDecoder().decode(MarketplaceOrder.self, from: JSONEncoder().encode(order))
        // check
        #expect(back == order)
    }

    @Test func malformedOrEmptyOrWrongShape_isA422OnTheBody() {
        for adapter in Self.adapters {
            for body in [#"{"orders": ["#, "", "[1, 2]", #"{"something": "else"}"#, "null"] {
                let p = problem(adapter, body)
                #expect(p?.status == 422, "\(adapter.name): \(body)")
                #expect(p?.errors?.map(\.field) == ["body"], "\(adapter.name): \(body) → \(p?.errors ?? [])")
            }
        }
    }

    @Test func shopify_everyBadRowIsReported_withItsPath() throws {
        // setup: a good order, then one with no id, a garbled total and four bad lines, then a bad status and quantity
        let body = """
            {"orders": [
              {"id": 1, "currency": "USD", "financial_status": "paid", "total_price": "10.00",
               "line_items": [{"id": 11, "sku": "OK-1", "quantity": 1, "price": "10.00"}]},
              {"currency": "USD", "financial_status": "paid", "total_price": "abc", "line_items": [
                {"id": 21, "sku": "OK-2", "quantity": 1, "price": "5.00"},
                {"id": 22, "sku": null, "quantity": 1, "price": "5.00"},
                {"id": 23, "sku": "Q-0", "quantity": 0, "price": "5.00"},
                {"id": 24, "sku": "NEG", "quantity": 1, "price": "-1.00"},
                {"id": 25, "sku": "", "quantity": -2, "price": "1.234"}
              ]},
              {"id": 3, "currency": "usd", "financial_status": "shipped", "total_price": "1.00",
               "line_items": [{"id": 31, "sku": "OK-3", "quantity": "two", "price": "1.00"}]}
            ]}
            """
        // act
        let p = try #require(problem(ShopifyAdapter(), body))
        // check
        #expect(p.status == 422)
        let fields = p.errors?.map(\.field) ?? []
        #expect(fields.sorted() == [
            "orders[1].id", "orders[1].line_items[1].sku", "orders[1].line_items[2].quantity", "orders[1].line_items[3].price",
            "orders[1].line_items[4].price", "orders[1].line_items[4].quantity", "orders[1].line_items[4].sku", "orders[1].total_price",
            "orders[2].currency", "orders[2].financial_status", "orders[2].line_items[0].quantity",
        ], "\(p.errors ?? [])")
        let message = { (field: String) in p.errors?.first { $0.field == field }?.message ?? "" }
        #expect(message("orders[1].line_items[3].price").contains("negative"))
        #expect(message("orders[1].line_items[4].price").contains("more than 2 decimals"))
        #expect(message("orders[1].line_items[2].quantity").contains("at least 1"))
        #expect(message("orders[1].line_items[1].sku").contains("SKU code"))
        #expect(message("orders[1].total_price").contains("'abc' is not an amount"))
    }

    @Test func tmall_everyBadRowIsReported_withItsPath() throws {
        // setup: a trade with a line lacking any merchant code and a line with no quantity and a 3-decimal price,
        // then a trade with no tid, an unknown status, a negative total_fee and a date that does not exist
        let body = """
            {"trades_sold_get_response": {"trades": {"trade": [
              {"tid": 1001, "status": "WAIT_SELLER_SEND_GOODS", "total_fee": "10.00", "payment": "10.00", "orders": {"order": [
                {"oid": 2001, "outer_sku_id": "A-1", "num": 1, "price": "10.00"},
                {"oid": 2002, "num": 1, "price": "10.00"},
                {"oid": 2003, "outer_sku_id": "A-3", "num": 0, "price": "12.345"}
              ]}},
              {"status": "SHIPPED", "total_fee": "-5.00", "payment": "5.00", "created": "2024-02-30 10:00:00",
               "orders": {"order": [{"oid": 2004, "outer_sku_id": "A-4", "num": 1, "price": "5.00", "adjust_fee": "-1.00"}]}}
            ]}}}
            """
        // act
        let p = try #require(problem(TmallAdapter(), body))
        // check: adjust_fee may be negative, so it is not among them
        #expect(p.status == 422)
        let t = "trades_sold_get_response.trades.trade"
        #expect((p.errors?.map(\.field) ?? []).sorted() == [
            "\(t)[0].orders.order[1].outer_sku_id", "\(t)[0].orders.order[2].num", "\(t)[0].orders.order[2].price",
            "\(t)[1].created", "\(t)[1].status", "\(t)[1].tid", "\(t)[1].total_fee",
        ], "\(p.errors ?? [])")
    }
}
