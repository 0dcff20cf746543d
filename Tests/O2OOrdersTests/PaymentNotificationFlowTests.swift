import _CryptoExtras
import Foundation
import O2OCore
import O2OOrders
import O2OServer
import O2OTestSupport
import Testing

@Suite("Payment notifications capture the order's payment, once, and every one is logged")
struct PaymentNotificationFlowTests {
    /// Alipay's key pair, generated here (the test plays Alipay).
    static let alipay = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static func shop<T: Sendable>(_ engine: DatabaseEngine, _ body: @escaping @Sendable (Shop) async throws -> T) async throws -> T {
        try await Shop.with(engine, configure: { c in
            c.paymentNotifiers.alipay = try! AlipayNotifications(publicKeyPEM: alipay.publicKey.pemRepresentation)
        }, body)
    }

    /// A form body as Alipay posts it, signed over the sorted parameters.
    static func form(_ params: [String: String], signedBy key: _RSA.Signing.PrivateKey = alipay) throws -> String {
        var p = params
        p["sign_type"] = "RSA2"
        let content = AlipayNotifications.signContent(p)
        p["sign"] = try key.signature(for: Data(content.utf8), padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return p.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
    }

    static func trade(_ paymentId: String, amount: String, status: String = "TRADE_SUCCESS") -> [String: String] {
        ["app_id": "2021000000000001", "charset": "utf-8", "notify_type": "trade_status_sync", "notify_time": "2026-11-30 10:00:03",
         "out_trade_no": paymentId, "trade_no": "2026113022001400000000000001", "total_amount": amount, "trade_status": status]
    }

    func log(_ s: Shop) async throws -> [String] {
        try await s.db.read { sql in
            try await sql.raw("SELECT outcome FROM order_payment_notifications ORDER BY id").all().map { try $0.decode(column: "outcome", as: String.self) }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func alipay_signedSuccess_capturesOnce_andTamperedOrWrongAmountOrUnknownAreRefused(_ engine: DatabaseEngine) async throws {
        try await Self.shop(engine) { s in
            // setup: a pickup order paid with Alipay waits for its notification
            try await s.receive(s.skus[1], 5, at: s.a)
            let placed = try await s.orders.place(.init(channel: s.web.code, method: .pickup, pickupLocation: s.a.code, lines: [(s.skus[1], 2)],
                                                        payments: [(tender: .alipay, amount: 19_800)]), caller: .system)
            #expect(placed.paymentStatus == .pending && placed.payments[0].status == .pending)
            let pay = placed.payments[0].id
            let good = try Self.form(Self.trade(pay, amount: "198.00"))
            // act
            let waiting = try await s.orders.receiveAlipay(form: try Self.form(Self.trade(pay, amount: "198.00", status: "WAIT_BUYER_PAY")), caller: .system)
            let first = try await s.orders.receiveAlipay(form: good, caller: .system)
            let again = try await s.orders.receiveAlipay(form: good, caller: .system)
            let tampered = good.replacingOccurrences(of: "total_amount=198.00", with: "total_amount=1.00")
            let forged = try Self.form(Self.trade(pay, amount: "198.00"), signedBy: try _RSA.Signing.PrivateKey(keySize: .bits2048))
            let wrongAmount = try Self.form(Self.trade(pay, amount: "1.98"))
            let unknown = try Self.form(Self.trade("pay_nope", amount: "198.00"))
            let unsigned = "out_trade_no=\(pay)&total_amount=198.00&trade_status=TRADE_SUCCESS"
            var refused: [Int] = []
            for body in [tampered, forged, wrongAmount, unknown, unsigned] {
                do { _ = try await s.orders.receiveAlipay(form: body, caller: .system); refused.append(0) }
                catch let p as Problem { refused.append(p.status) }
                catch let e as any ProblemConvertible { refused.append(e.problem.status) }
            }
            // check
            #expect(waiting.0 == .ignored)
            #expect(first.0 == .captured && first.1?.paymentStatus == .paid && first.1?.paidTotal == 19_800)
            #expect(first.1?.payments[0].providerReference == "2026113022001400000000000001")
            #expect(again.0 == .duplicate && again.1?.version == first.1?.version, "a repeat changes nothing")
            #expect(refused == [401, 401, 409, 404, 400])
            let order = try await s.orders.order(placed.id, scope: .all)
            #expect(order.paidTotal == 19_800 && order.payments[0].captured == 19_800)
            let captures = try await s.db.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM order_payment_ledger WHERE payment_id = \(bind: pay) AND kind = 'capture'").first()!
                    .decode(column: "n", as: Int.self)
            }
            #expect(captures == 1)
            #expect(try await log(s).sorted() == ["captured", "duplicate", "ignored", "rejected", "rejected", "rejected", "rejected", "rejected"])
        }
    }

    @Test func wechatPay_publishedNotification_isVerifiedDecryptedAndLogged_andAnOldOneIsStale() async throws {
        // setup: the provider's published notify vector (absent in a bare checkout)
        guard let file = try PaymentVectors.load(), let v = file.wechatpay.first(where: { $0.headers != nil }),
              let headers = v.headers, let body = v.body, let signature = v.signature, let key = v.apiv3Key?.split(separator: " ").first,
              let timestamp = headers["Wechatpay-Timestamp"].flatMap(Double.init) else { return }
        let pem = try PaymentVectors.text(v.certificate!)
        try await Shop.with(.sqlite, configure: { c in
            c.paymentNotifiers.wechatPay = try! WeChatPayNotifications(certificatePEMs: [pem], apiV3Key: Data(key.utf8))
        }) { s in
            var h = headers
            h["Wechatpay-Signature"] = signature
            // act: at the time it was sent, and a day later (a replay)
            s.clock.advance(by: timestamp + 10 - s.clock.instant().timeIntervalSince1970)
            let (outcome, order) = try await s.orders.receiveWeChatPay(headers: h, body: body, caller: .system)
            s.clock.advance(by: 86_400)
            await #expect(throws: NotificationError.staleTimestamp) { _ = try await s.orders.receiveWeChatPay(headers: h, body: body, caller: .system) }
            // check: a pay-score event, not a payment — verified, decrypted, noted
            #expect(outcome == .ignored && order == nil)
            #expect(try await log(s) == ["ignored", "rejected"])
        }
    }
}
