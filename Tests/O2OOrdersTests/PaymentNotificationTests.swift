import _CryptoExtras
import Crypto
import Foundation
import O2OCore
@testable import O2OOrders
import Testing

/// The published vectors (alipay-sdk-nodejs-all, wechatpay-go) in ../shared/data/payment-vectors,
/// next to the package; absent in a bare checkout.
enum PaymentVectors {
    struct File: Decodable {
        var alipay: [Alipay]
        var wechatpay: [WeChat]
    }

    struct Alipay: Decodable {
        var `case`: String
        var signTypeInContent: Bool
        var publicKey: String
        var signContent: String
        var sign: String
        var verified: Bool
    }

    struct WeChat: Decodable {
        var `case`: String
        var serial: String?
        var message: String?
        var signature: String?
        var verified: Bool?
        var certificate: String?
        var headers: [String: String]?
        var body: String?
        var signedMessage: String?
        var apiv3Key: String?
        var plaintext: String?
        var key: String?
        var nonce: String?
        var associatedData: String?
        var ciphertext: String?
    }

    static var folder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data/payment-vectors").standardizedFileURL
    }

    /// Nil when the shared data folder is not checked out.
    static func load() throws -> File? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("vectors.json").path) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(File.self, from: data)
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    /// A sign_content string back into parameters: split on "&", then on the first "=".
    static func params(_ content: String) -> [String: String] {
        var params: [String: String] = [:]
        for pair in content.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            params[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return params
    }
}

/// Form-encodes as a browser or Alipay does: UTF-8 percent escapes, space as '+'.
func formEncode(_ params: [String: String]) -> String {
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._* ")
    func enc(_ s: String) -> String {
        (s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s).replacingOccurrences(of: " ", with: "+")
    }
    return params.sorted { $0.key < $1.key }.map { "\(enc($0.key))=\(enc($0.value))" }.joined(separator: "&")
}

@Suite("Alipay notifications: RSA2 over the sorted parameters")
struct AlipayNotificationTests {
    let key: _RSA.Signing.PrivateKey
    let verifier: AlipayNotifications

    init() throws {
        key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        verifier = try AlipayNotifications(publicKeyPEM: key.publicKey.pemRepresentation)
    }

    static let trade: [String: String] = [
        "app_id": "2021000000000001", "charset": "utf-8", "notify_type": "trade_status_sync",
        "notify_time": "2024-05-01 10:00:03", "out_trade_no": "ord_01HX000000000000000000",
        "trade_no": "2024050122001400000000000001", "total_amount": "0.10", "trade_status": "TRADE_SUCCESS",
        "subject": "中文 商品 & more", "buyer_logon_id": "abc***@example.com", "version": "1.0",
    ]

    /// Signs as Alipay does: rsaCheckV1 content (no sign_type) unless `withSignType`.
    func signed(_ params: [String: String], withSignType: Bool = false, signType: String = "RSA2",
                by signer: _RSA.Signing.PrivateKey? = nil) throws -> [String: String] {
        var p = params
        p["sign_type"] = signType
        let content = AlipayNotifications.signContent(p, excluding: withSignType ? ["sign"] : ["sign", "sign_type"])
        let signature = try (signer ?? key).signature(for: Data(content.utf8), padding: .insecurePKCS1v1_5)
        p["sign"] = signature.rawRepresentation.base64EncodedString()
        return p
    }

    @Test func verify_signedTradeNotification_readsThePayment() throws {
        // setup
        let params = try signed(Self.trade)
        // act
        let n = try verifier.verify(params)
        // check
        #expect(n.provider == "alipay")
        #expect(n.event == "TRADE_SUCCESS" && n.paid)
        #expect(n.merchantReference == "ord_01HX000000000000000000")
        #expect(n.providerReference == "2024050122001400000000000001")
        #expect(n.amount == 10 && n.currency == "CNY", "0.10 yuan is 10 fen")
        #expect(n.verifiedBy == "rsaCheckV1")
        #expect(n.fields["sign"] == nil && n.fields["sign_type"] == "RSA2" && n.fields["subject"] == "中文 商品 & more")
        #expect(n.plaintext == nil)
    }

    @Test func verify_contentIncludingSignType_isAcceptedAsV2() throws {
        // act
        let n = try verifier.verify(try signed(Self.trade, withSignType: true))
        // check
        #expect(n.verifiedBy == "rsaCheckV2")
        #expect(n.amount == 10)
    }

    @Test func verify_tamperedAmount_isABadSignature() throws {
        // setup
        var params = try signed(Self.trade)
        params["total_amount"] = "1000.10"
        // act, check
        #expect(throws: NotificationError.badSignature) { try verifier.verify(params) }
        // a parameter added after signing is covered too
        var added = try signed(Self.trade)
        added["passback_params"] = "x"
        #expect(throws: NotificationError.badSignature) { try verifier.verify(added) }
    }

    @Test func verify_signatureByAnotherKey_isABadSignature() throws {
        // setup
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        // act, check
        #expect(throws: NotificationError.badSignature) { try verifier.verify(try signed(Self.trade, by: other)) }
        var garbage = try signed(Self.trade)
        garbage["sign"] = "not base64!"
        #expect(throws: NotificationError.badSignature) { try verifier.verify(garbage) }
    }

    @Test func verify_missingOrEmptySign_isAMissingField() throws {
        // setup
        var params = try signed(Self.trade)
        params["sign"] = nil
        // act, check
        #expect(throws: NotificationError.missingField("sign")) { try verifier.verify(params) }
        params["sign"] = ""
        #expect(throws: NotificationError.missingField("sign")) { try verifier.verify(params) }
        #expect(throws: NotificationError.missingField("sign")) { try verifier.verify([:]) }
    }

    @Test func verify_signTypeRSA_isRefusedEvenWhenTheSignatureIsGood() throws {
        // setup: a valid RSA2 signature, but the notification claims SHA1withRSA
        let params = try signed(Self.trade, signType: "RSA")
        // act, check
        #expect(throws: NotificationError.unsupportedSignType("RSA")) { try verifier.verify(params) }
        let problem = NotificationError.unsupportedSignType("RSA").problem
        #expect(problem.status == 400 && problem.type.hasSuffix("/unsupported-sign-type") && problem.allowed == ["RSA2", "WECHATPAY2-SHA256-RSA2048"])
    }

    @Test func verify_withoutSignType_isHeldToSHA256() throws {
        // setup: signed without sign_type, then the field removed
        var params = try signed(Self.trade)
        params["sign_type"] = nil
        // act
        let n = try verifier.verify(params)
        // check
        #expect(n.verifiedBy == "rsaCheckV1" && n.paid)
    }

    @Test func verify_emptyValuesAreSkipped_inSignedAndReceivedParams() throws {
        // setup: the signer left out the empty body; it arrives as body=
        var params = try signed(Self.trade)
        params["body"] = ""
        // act
        let n = try verifier.verify(params)
        // check
        #expect(n.fields["body"] == "")
    }

    @Test func verify_amounts_areParsedExactly_andBadOnesRefused() throws {
        // setup, act, check
        for (text, fen) in [("0.01", Int64(1)), ("12", 1200), ("12.3", 1230), ("99999999.99", 9_999_999_999)] {
            var p = Self.trade
            p["total_amount"] = text
            #expect(try verifier.verify(try signed(p)).amount == fen, "\(text)")
        }
        for text in ["1.234", "-1.00", "1e3", "0x10", "1,00", " 1.00"] {
            var p = Self.trade
            p["total_amount"] = text
            #expect(throws: NotificationError.invalidField("total_amount"), "\(text)") { try verifier.verify(try signed(p)) }
        }
        // a notification without total_amount has no amount
        var none = Self.trade
        none["total_amount"] = nil
        none["trade_status"] = "WAIT_BUYER_PAY"
        let n = try verifier.verify(try signed(none))
        #expect(n.amount == nil && n.currency == nil && !n.paid && n.event == "WAIT_BUYER_PAY")
    }

    @Test func verify_tradeFinished_isPaid_tradeClosed_isNot() throws {
        for (status, paid) in [("TRADE_FINISHED", true), ("TRADE_CLOSED", false), ("WAIT_BUYER_PAY", false)] {
            var p = Self.trade
            p["trade_status"] = status
            #expect(try verifier.verify(try signed(p)).paid == paid, "\(status)")
        }
    }

    @Test func signContent_sortsByteOrder_dropsSignAndEmpty() {
        // act
        let content = AlipayNotifications.signContent(["b": "2", "a": "1", "sign": "s", "sign_type": "RSA2", "c": "", "B": "3", "a_b": "x y"])
        let withType = AlipayNotifications.signContent(["b": "2", "sign": "s", "sign_type": "RSA2"], excluding: ["sign"])
        // check: upper case before lower case, '_' (0x5F) before 'b'; values as given
        #expect(content == "B=3&a=1&a_b=x y&b=2")
        #expect(withType == "b=2&sign_type=RSA2")
    }

    @Test func parseForm_decodesPlusPercentAndUTF8() {
        // act
        let p = FormURLEncoding.parse("subject=%E4%B8%AD%E6%96%87+test&a=1%2B1&empty=&flag&bad=%ZZ%4&eq=a%3Db=c&a=second&&json=%5B%7B%22k%22%3A1%7D%5D")
        // check
        #expect(p["subject"] == "中文 test")
        #expect(p["a"] == "1+1", "%2B is a plus, and the first of a repeated key is kept")
        #expect(p["empty"] == "" && p["flag"] == "")
        #expect(p["bad"] == "%ZZ%4", "a malformed escape stays as written")
        #expect(p["eq"] == "a=b=c")
        #expect(p["json"] == "[{\"k\":1}]")
        #expect(p.count == 7)
    }

    @Test func verify_afterFormRoundTrip_ofASignedBody() throws {
        // setup: the POST body as it arrives (base64 '+' and '/' percent-encoded, Chinese as UTF-8 escapes)
        let body = formEncode(try signed(Self.trade))
        #expect(body.contains("%E4%B8%AD") && body.contains("subject="))
        // act
        let n = try verifier.verify(FormURLEncoding.parse(body))
        // check
        #expect(n.amount == 10 && n.fields["subject"] == "中文 商品 & more")
    }

    @Test func init_acceptsABareBase64Key_andRefusesGarbage() throws {
        // setup: the console's form, the PEM body without its BEGIN/END lines
        let bare = key.publicKey.pemRepresentation.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined(separator: "\n")
        // act
        let fromBare = try AlipayNotifications(publicKeyPEM: bare)
        let oneLine = try AlipayNotifications(publicKeyPEM: bare.replacingOccurrences(of: "\n", with: ""))
        // check
        #expect(try fromBare.verify(try signed(Self.trade)).paid)
        #expect(try oneLine.verify(try signed(Self.trade)).paid)
        #expect(throws: NotificationError.self) { try AlipayNotifications(publicKeyPEM: "not a key") }
        #expect(throws: NotificationError.self) { try AlipayNotifications(publicKeyPEM: Data("short".utf8).base64EncodedString()) }
    }

    @Test func problems_are4xx_andCarryNoSecrets() throws {
        // setup
        let params = try signed(Self.trade)
        var tampered = params
        tampered["total_amount"] = "0.11"
        // act
        var caught: NotificationError?
        do { _ = try verifier.verify(tampered) } catch let e as NotificationError { caught = e }
        // check
        let problem = try #require(caught).problem
        #expect(problem.status == 401 && problem.type.hasSuffix("/bad-signature"))
        #expect(!(problem.detail ?? "").contains(try #require(params["sign"]).prefix(16)))
        #expect(NotificationError.missingField("sign").problem.status == 400)
        #expect(NotificationError.missingField("sign").problem.errors?.map(\.field) == ["sign"])
        #expect(NotificationError.staleTimestamp.problem.status == 401)
        #expect(NotificationError.undecryptable.problem.status == 400)
        #expect(NotificationError.unknownCertificate(serial: "ABC\n\u{1}").problem.detail?.contains("'ABC'") == true,
                "control characters from the header are not echoed")
    }

    // MARK: published vectors

    @Test func verify_publishedNotifications_rebuiltAsParams() throws {
        guard let vectors = try PaymentVectors.load() else { return }  // shared data not checked out
        #expect(vectors.alipay.count == 2)
        #expect(vectors.alipay.contains { $0.signTypeInContent } && vectors.alipay.contains { !$0.signTypeInContent })
        for v in vectors.alipay {
            // setup: the signed string back into parameters, plus what the content leaves out
            #expect(v.verified)
            let pairs = v.signContent.split(separator: "&")
            var params = PaymentVectors.params(v.signContent)
            #expect(params.count == pairs.count, "\(v.case): no repeated keys, no '&' inside values")
            #expect(AlipayNotifications.signContent(params, excluding: ["sign"]) == v.signContent, "\(v.case): already canonical")
            params["sign"] = v.sign
            if params["sign_type"] == nil { params["sign_type"] = "RSA2" }
            let verifier = try AlipayNotifications(publicKeyPEM: try PaymentVectors.text(v.publicKey))
            // act
            let n = try verifier.verify(params)
            // check
            #expect(n.verifiedBy == (v.signTypeInContent ? "rsaCheckV2" : "rsaCheckV1"), "\(v.case)")
            // and via the form body it arrived as
            #expect(try verifier.verify(FormURLEncoding.parse(formEncode(params))) == n, "\(v.case)")
            // one character of the content changed: refused
            var flipped = Array(v.signContent)
            let i = try #require(flipped.lastIndex(of: "0"))  // version=1.0 → 1.1
            flipped[i] = "1"
            var tampered = PaymentVectors.params(String(flipped))
            tampered["sign"] = v.sign
            tampered["sign_type"] = "RSA2"
            #expect(throws: NotificationError.badSignature, "\(v.case)") { try verifier.verify(tampered) }
        }
    }

    @Test func verify_publishedTradeNotification_readsThePayment() throws {
        guard let vectors = try PaymentVectors.load() else { return }
        let v = try #require(vectors.alipay.first { $0.case == "trade_status_sync" })
        var params = PaymentVectors.params(v.signContent)
        params["sign"] = v.sign
        params["sign_type"] = "RSA2"
        let pem = try PaymentVectors.text(v.publicKey)
        // act
        let n = try AlipayNotifications(publicKeyPEM: pem).verify(params)
        // check
        #expect(n.event == "TRADE_SUCCESS" && n.paid)
        #expect(n.amount == 10 && n.currency == "CNY")
        #expect(n.merchantReference == "20190815155618536-564-57")
        #expect(n.providerReference == "2019081522001468450512505578")
        #expect(n.fields["subject"] == "语雀空间 500人规模")
        #expect(n.fields["fund_bill_list"] == "[{\"amount\":\"0.10\",\"fundChannel\":\"ALIPAYACCOUNT\"}]")
        // the key as a bare base64 body works the same; the other vector's key does not
        let bare = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        #expect(try AlipayNotifications(publicKeyPEM: bare).verify(params) == n)
        let otherKey = try #require(vectors.alipay.first { $0.publicKey != v.publicKey }).publicKey
        #expect(throws: NotificationError.badSignature) {
            try AlipayNotifications(publicKeyPEM: try PaymentVectors.text(otherKey)).verify(params)
        }
    }

    @Test func verify_publishedServiceMarketNotification_isNotAPayment() throws {
        guard let vectors = try PaymentVectors.load() else { return }
        let v = try #require(vectors.alipay.first { $0.case == "servicemarket_order_notify" })
        var params = PaymentVectors.params(v.signContent)
        params["sign"] = v.sign
        // act
        let n = try AlipayNotifications(publicKeyPEM: try PaymentVectors.text(v.publicKey)).verify(params)
        // check: signed with sign_type, no trade fields (total_price is not total_amount)
        #expect(n.verifiedBy == "rsaCheckV2")
        #expect(n.event == "servicemarket_order_notify" && !n.paid)
        #expect(n.amount == nil && n.merchantReference == nil && n.providerReference == nil)
        #expect(n.fields["title"] == "麦禾商城模版")
    }
}

@Suite("WeChat Pay APIv3 notifications: header signature, then AES-GCM resource")
struct WeChatPayNotificationTests {
    // MARK: self-contained AES-GCM

    @Test(arguments: [16, 32])
    func decrypt_whatAESGCMSealed_andRefusesWrongAADKeyOrBytes(_ keySize: Int) throws {
        // setup: seal the way WeChat Pay does (nonce = the nonce string's bytes, base64 of ciphertext||tag)
        let keyBytes = Data((0..<keySize).map { UInt8($0 &* 7 &+ 3) })
        let key = SymmetricKey(data: keyBytes)
        let nonce = "Kj7QIyUiYx1q"
        let plaintext = #"{"out_trade_no":"ord_1","amount":{"total":100,"currency":"CNY"}}"#
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key, nonce: AES.GCM.Nonce(data: Data(nonce.utf8)),
                                   authenticating: Data("transaction".utf8))
        let sealed = Data(Array(box.ciphertext) + Array(box.tag))  // indices from 0: box.ciphertext is a slice
        let ciphertext = sealed.base64EncodedString()
        // act
        let opened = try WeChatPayNotifications.decrypt(ciphertext: ciphertext, nonce: nonce, associatedData: "transaction", key: keyBytes)
        // check
        #expect(String(decoding: opened, as: UTF8.self) == plaintext)
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: ciphertext, nonce: nonce, associatedData: "refund", key: keyBytes)
        }
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: ciphertext, nonce: "Kj7QIyUiYx1Q", associatedData: "transaction", key: keyBytes)
        }
        var wrongKey = keyBytes
        wrongKey[0] ^= 1
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: ciphertext, nonce: nonce, associatedData: "transaction", key: wrongKey)
        }
        var flipped = sealed
        flipped[3] ^= 0x80
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: flipped.base64EncodedString(), nonce: nonce, associatedData: "transaction", key: keyBytes)
        }
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: "AAAA", nonce: nonce, associatedData: "transaction", key: keyBytes)
        }
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: "%%%", nonce: nonce, associatedData: "transaction", key: keyBytes)
        }
    }

    @Test func decrypt_refusesAKeyOfAnotherLength() {
        #expect(throws: NotificationError.self) {
            try WeChatPayNotifications.decrypt(ciphertext: "AAAAAAAAAAAAAAAAAAAAAA==", nonce: "Kj7QIyUiYx1q", associatedData: "", key: Data(count: 20))
        }
    }

    // MARK: published vectors

    struct Notify {
        var vector: PaymentVectors.WeChat
        var headers: [String: String]
        var body: String
        var timestamp: Date
        var certificate: String
        var apiV3Key: Data
    }

    /// The APIv3 notify vector, with its signature put into the header where it travels.
    static func notify() throws -> Notify? {
        guard let vectors = try PaymentVectors.load() else { return nil }
        let v = try #require(vectors.wechatpay.first { $0.body != nil })
        var headers = try #require(v.headers)
        #expect(headers["Wechatpay-Signature"] == nil, "the vector keeps the signature beside the headers")
        let signature = try #require(v.signature)
        headers["Wechatpay-Signature"] = signature
        let timestampText = try #require(headers["Wechatpay-Timestamp"])
        let seconds = try #require(TimeInterval(timestampText))
        // "testMchAPIv3Key0 (16 bytes -> AES-128-GCM in this test)": the key is the first word
        let keyText = try #require(v.apiv3Key?.split(separator: " ").first)
        #expect(keyText.utf8.count == 16)
        return Notify(vector: v, headers: headers, body: try #require(v.body), timestamp: Date(timeIntervalSince1970: seconds),
                      certificate: try PaymentVectors.text(try #require(v.certificate)), apiV3Key: Data(keyText.utf8))
    }

    @Test func verify_publishedNotify_checksTheSignature_andDecryptsTheResource() throws {
        guard let t = try Self.notify() else { return }  // shared data not checked out
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key)
        #expect(verifier.serials == ["D7CE59D1F522D701"])
        // the message the vector says was signed is the one the headers and body make
        let h = t.headers
        #expect("\(h["Wechatpay-Timestamp"] ?? "")\n\(h["Wechatpay-Nonce"] ?? "")\n\(t.body)\n" == t.vector.signedMessage)
        // act
        let n = try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp.addingTimeInterval(42))
        // check
        #expect(n.provider == "wechat_pay")
        #expect(n.plaintext == t.vector.plaintext)
        #expect(n.event == "PAYSCORE.USER_OPEN_SERVICE" && !n.paid)
        #expect(n.merchantReference == "21640bdbd08e473e828f3206a2741c6e", "a pay-score notification names the contract")
        #expect(n.providerReference == nil && n.amount == nil && n.currency == nil)
        #expect(n.verifiedBy == "D7CE59D1F522D701")
        #expect(n.fields["summary"] == "签约成功" && n.fields["id"] == "3119dfba-e649-5eec-ab1e-3412bc4d2e17")
        #expect(n.fields["resource_type"] == "encrypt-resource")
    }

    @Test func verify_publishedNotify_headerNamesAndSerialAnyCase() throws {
        guard let t = try Self.notify() else { return }
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key)
        // setup: HTTP/2 lower-cases header names; a serial may come in lower case
        var lower = Dictionary(uniqueKeysWithValues: t.headers.map { ($0.key.lowercased(), $0.value) })
        lower["wechatpay-serial"] = lower["wechatpay-serial"]?.lowercased()
        lower["wechatpay-signature-type"] = "WECHATPAY2-SHA256-RSA2048"
        // act
        let n = try verifier.verify(headers: lower, body: t.body, now: t.timestamp)
        // check
        #expect(n.plaintext == t.vector.plaintext)
        lower["wechatpay-signature-type"] = "WECHATPAY2-SM2-WITH-SM3"
        #expect(throws: NotificationError.unsupportedSignType("WECHATPAY2-SM2-WITH-SM3")) {
            try verifier.verify(headers: lower, body: t.body, now: t.timestamp)
        }
    }

    @Test func verify_publishedNotify_tamperedBodyOrSignature_isABadSignature() throws {
        guard let t = try Self.notify() else { return }
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key)
        // setup
        let body = t.body.replacingOccurrences(of: "PAYSCORE.USER_OPEN_SERVICE", with: "TRANSACTION.SUCCESS")
        #expect(body != t.body)
        var otherNonce = t.headers
        otherNonce["Wechatpay-Nonce"] = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBZ"
        var probe = t.headers
        probe["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + (probe["Wechatpay-Signature"] ?? "")
        // act, check
        #expect(throws: NotificationError.badSignature) { try verifier.verify(headers: t.headers, body: body, now: t.timestamp) }
        #expect(throws: NotificationError.badSignature) { try verifier.verify(headers: t.headers, body: t.body + " ", now: t.timestamp) }
        #expect(throws: NotificationError.badSignature) { try verifier.verify(headers: otherNonce, body: t.body, now: t.timestamp) }
        #expect(throws: NotificationError.badSignature) { try verifier.verify(headers: probe, body: t.body, now: t.timestamp) }
    }

    @Test func verify_publishedNotify_unknownSerial_isRefused_beforeTheSignature() throws {
        guard let t = try Self.notify() else { return }
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key)
        // setup
        var headers = t.headers
        headers["Wechatpay-Serial"] = "F5765756002FDD77"
        // act, check
        #expect(throws: NotificationError.unknownCertificate(serial: "F5765756002FDD77")) {
            try verifier.verify(headers: headers, body: t.body, now: t.timestamp)
        }
        let problem = NotificationError.unknownCertificate(serial: "F5765756002FDD77").problem
        #expect(problem.status == 401 && problem.type.hasSuffix("/unknown-certificate"))
    }

    @Test func verify_publishedNotify_duringRotation_theSerialPicksTheCertificate() throws {
        guard let t = try Self.notify() else { return }
        // setup: both published certificates, in one PEM string as a download saves them
        let other = try PaymentVectors.text("wechatpay-verifier-platform-cert.pem")
        let verifier = try WeChatPayNotifications(certificatePEMs: [other + "\n" + t.certificate], apiV3Key: t.apiV3Key)
        // act
        let n = try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp)
        // check
        #expect(verifier.serials == ["D7CE59D1F522D701", "F5765756002FDD77"])
        #expect(n.verifiedBy == "D7CE59D1F522D701")
        // the two test certificates share one RSA key, so the other serial verifies the same signature
        var headers = t.headers
        headers["Wechatpay-Serial"] = "F5765756002FDD77"
        #expect(try verifier.verify(headers: headers, body: t.body, now: t.timestamp).verifiedBy == "F5765756002FDD77")
    }

    @Test func verify_publishedNotify_timestampOutsideTheTolerance_isStale() throws {
        guard let t = try Self.notify() else { return }
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key)
        // act, check: 5 minutes either way is fine, more is not
        #expect(try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp.addingTimeInterval(300)).plaintext != nil)
        #expect(try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp.addingTimeInterval(-300)).plaintext != nil)
        #expect(throws: NotificationError.staleTimestamp) {
            try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp.addingTimeInterval(301))
        }
        #expect(throws: NotificationError.staleTimestamp) {
            try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp.addingTimeInterval(-301))
        }
        #expect(throws: NotificationError.staleTimestamp, "today is years after the vector") {
            try verifier.verify(headers: t.headers, body: t.body, now: Date())
        }
        // the tolerance is configurable
        let lenient = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key, timestampTolerance: 3600)
        #expect(try lenient.verify(headers: t.headers, body: t.body, now: t.timestamp.addingTimeInterval(1800)).plaintext != nil)
        var notANumber = t.headers
        notANumber["Wechatpay-Timestamp"] = "2021-06-24"
        #expect(throws: NotificationError.invalidField("Wechatpay-Timestamp")) {
            try verifier.verify(headers: notANumber, body: t.body, now: t.timestamp)
        }
    }

    @Test func verify_publishedNotify_afterTheCertificateExpired_isRefused() throws {
        guard let t = try Self.notify() else { return }
        // setup: the certificate runs 2021-04-27 to 2031-04-25; a tolerance wide enough to reach 2032
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key, timestampTolerance: 20 * 365 * 86_400)
        // act, check
        #expect(throws: NotificationError.expiredCertificate(serial: "D7CE59D1F522D701")) {
            try verifier.verify(headers: t.headers, body: t.body, now: Date(timeIntervalSince1970: 1_956_528_000))  // 2032-01-01
        }
        #expect(throws: NotificationError.expiredCertificate(serial: "D7CE59D1F522D701")) {
            try verifier.verify(headers: t.headers, body: t.body, now: Date(timeIntervalSince1970: 1_609_459_200))  // 2021-01-01
        }
    }

    @Test func verify_publishedNotify_missingHeader_namesIt() throws {
        guard let t = try Self.notify() else { return }
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: t.apiV3Key)
        for name in ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial", "Wechatpay-Signature"] {
            var headers = t.headers
            headers[name] = nil
            #expect(throws: NotificationError.missingField(name)) { try verifier.verify(headers: headers, body: t.body, now: t.timestamp) }
            headers[name] = ""
            #expect(throws: NotificationError.missingField(name)) { try verifier.verify(headers: headers, body: t.body, now: t.timestamp) }
        }
    }

    @Test func verify_publishedNotify_wrongAPIv3Key_isUndecryptable() throws {
        guard let t = try Self.notify() else { return }
        // setup: the signature is good, the key is not
        let verifier = try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: Data("testMchAPIv3Key1".utf8))
        // act, check
        #expect(throws: NotificationError.undecryptable) { try verifier.verify(headers: t.headers, body: t.body, now: t.timestamp) }
        #expect(throws: NotificationError.self) {
            try WeChatPayNotifications(certificatePEMs: [t.certificate], apiV3Key: Data("short".utf8))
        }
        #expect(throws: NotificationError.self) {
            try WeChatPayNotifications(certificatePEMs: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"], apiV3Key: t.apiV3Key)
        }
        #expect(throws: NotificationError.self) { try WeChatPayNotifications(certificatePEMs: [], apiV3Key: t.apiV3Key) }
    }

    @Test func certificate_publishedVerifierVector_serialAndKey() throws {
        guard let vectors = try PaymentVectors.load() else { return }
        let v = try #require(vectors.wechatpay.first { $0.message != nil })
        // setup
        let pem = try PaymentVectors.text(try #require(v.certificate))
        let der = try #require(Data(base64Encoded: pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
        // act
        let cert = try WeChatPayNotifications.platformCertificate(der: Array(der))
        // check: the serial (DER 00 F5 76 …, the 00 only keeps it positive) and a key that verifies the vector
        #expect(cert.serial == v.serial)
        #expect(cert.publicKey.keySizeInBits == 2048)
        #expect(cert.notAfter == Date(timeIntervalSince1970: 1_934_872_832), "2031-04-25 08:40:32 UTC")
        let signatureText = try #require(v.signature)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try #require(Data(base64Encoded: signatureText)))
        #expect(v.verified == true)
        #expect(cert.publicKey.isValidSignature(signature, for: Data(try #require(v.message).utf8), padding: .insecurePKCS1v1_5))
        #expect(!cert.publicKey.isValidSignature(signature, for: Data("Source".utf8), padding: .insecurePKCS1v1_5))
    }

    @Test func decrypt_publishedAESGCMVector() throws {
        guard let vectors = try PaymentVectors.load() else { return }
        let v = try #require(vectors.wechatpay.first { $0.ciphertext != nil })
        let key = Data(try #require(v.key).utf8)
        #expect(key.count == 16, "the test vector's key is 16 bytes: AES-128-GCM")
        // act
        let ciphertext = try #require(v.ciphertext), nonce = try #require(v.nonce), aad = try #require(v.associatedData)
        let plain = try WeChatPayNotifications.decrypt(ciphertext: ciphertext, nonce: nonce, associatedData: aad, key: key)
        // check
        #expect(String(decoding: plain, as: UTF8.self) == v.plaintext)
        #expect(throws: NotificationError.undecryptable) {
            try WeChatPayNotifications.decrypt(ciphertext: v.ciphertext ?? "", nonce: v.nonce ?? "", associatedData: "", key: key)
        }
    }
}
