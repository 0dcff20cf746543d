import _CryptoExtras
import Crypto
import Foundation
import O2OCore
import SwiftASN1

// Payment-provider notifications (支付宝异步通知, 微信支付 APIv3 回调): pure verification, no I/O.
// A handler reads the request, calls `verify`, and only then trusts what the notification says;
// it still has to check the amount and the merchant reference against its own payment.

/// A provider's notification after its signature checked out: what the payment flow needs, plus
/// the verified fields for the log.
public struct ProviderNotification: Sendable, Equatable {
    /// "alipay" or "wechat_pay".
    public var provider: String
    /// Alipay `trade_status` (or `notify_type` when there is none); WeChat Pay `event_type`.
    public var event: String
    /// The merchant's own id of the payment: Alipay `out_trade_no`; WeChat Pay `out_trade_no`,
    /// else `out_order_no` or `out_contract_code` (pay-score notifications).
    public var merchantReference: String?
    /// The provider's id: Alipay `trade_no`; WeChat Pay `transaction_id`, else `refund_id` or `order_id`.
    public var providerReference: String?
    /// In minor units (fen) when the notification carries an amount: Alipay `total_amount` (yuan,
    /// parsed exactly); WeChat Pay `amount.total` (already fen; on a refund notification it is the
    /// order's total, the refunded amount stays in `plaintext`).
    public var amount: Int64?
    public var currency: String?
    /// The money has arrived: Alipay TRADE_SUCCESS / TRADE_FINISHED; WeChat Pay trade_state
    /// SUCCESS or event TRANSACTION.SUCCESS.
    public var paid: Bool
    /// Alipay: every verified parameter but `sign`. WeChat Pay: the envelope's plain fields
    /// (id, create_time, event_type, resource_type, summary).
    public var fields: [String: String]
    /// WeChat Pay: the decrypted resource JSON as received. Nil for Alipay.
    public var plaintext: String?
    /// How it was verified, for the log: Alipay "rsaCheckV1" or "rsaCheckV2"; WeChat Pay the
    /// certificate serial.
    public var verifiedBy: String

    public init(provider: String, event: String, merchantReference: String?, providerReference: String?, amount: Int64?,
                currency: String?, paid: Bool, fields: [String: String], plaintext: String?, verifiedBy: String) {
        self.provider = provider
        self.event = event
        self.merchantReference = merchantReference
        self.providerReference = providerReference
        self.amount = amount
        self.currency = currency
        self.paid = paid
        self.fields = fields
        self.plaintext = plaintext
        self.verifiedBy = verifiedBy
    }
}

/// Why a notification was refused. Messages name fields and certificate serials, never keys,
/// signatures or ciphertext.
public enum NotificationError: ProblemConvertible, CustomStringConvertible, Equatable {
    /// A parameter or header the scheme requires is absent or empty.
    case missingField(String)
    /// Present but not readable (a timestamp that is not a number, an amount with three decimals, JSON that is not JSON).
    case invalidField(String)
    /// Alipay sign_type other than RSA2 (RSA is SHA1withRSA: too weak), or a WeChat Pay
    /// Wechatpay-Signature-Type other than WECHATPAY2-SHA256-RSA2048.
    case unsupportedSignType(String)
    /// A WeChat Pay resource encrypted with anything but AEAD_AES_256_GCM.
    case unsupportedAlgorithm(String)
    /// Wechatpay-Serial names no platform certificate we hold (rotation: download the new one).
    case unknownCertificate(serial: String)
    /// The platform certificate exists but is not valid at this time.
    case expiredCertificate(serial: String)
    /// Wechatpay-Timestamp is further from now than the tolerance: a replay or a wrong clock.
    case staleTimestamp
    /// The signature does not verify over the content.
    case badSignature
    /// The resource does not decrypt and authenticate under the APIv3 key.
    case undecryptable
    /// The key, certificate or APIv3 key we were configured with is unusable.
    case invalidConfiguration(String)

    public var problem: Problem {
        switch self {
        case .missingField(let name):
            Problem(kind: "notification-missing-field", title: "The notification lacks a field", status: 400,
                    detail: "The notification has no '\(name)'.", errors: [.init(name, "is required")])
        case .invalidField(let name):
            Problem(kind: "notification-invalid-field", title: "The notification has an unreadable field", status: 400,
                    detail: "The notification's '\(name)' cannot be read.", errors: [.init(name, "cannot be read")])
        case .unsupportedSignType(let type):
            Problem(kind: "unsupported-sign-type", title: "Signature type not accepted", status: 400,
                    detail: "Signature type '\(Self.printable(type))' is not accepted; only SHA256withRSA (Alipay RSA2, WECHATPAY2-SHA256-RSA2048) is.",
                    allowed: ["RSA2", "WECHATPAY2-SHA256-RSA2048"])
        case .unsupportedAlgorithm(let algorithm):
            Problem(kind: "unsupported-algorithm", title: "Encryption algorithm not accepted", status: 400,
                    detail: "Resource algorithm '\(Self.printable(algorithm))' is not accepted.", allowed: ["AEAD_AES_256_GCM"])
        case .unknownCertificate(let serial):
            Problem(kind: "unknown-certificate", title: "Unknown platform certificate", status: 401,
                    detail: "No platform certificate with serial '\(Self.printable(serial))' is configured.")
        case .expiredCertificate(let serial):
            Problem(kind: "expired-certificate", title: "Platform certificate not valid now", status: 401,
                    detail: "Platform certificate '\(Self.printable(serial))' is outside its validity period.")
        case .staleTimestamp:
            Problem(kind: "stale-notification", title: "Notification timestamp out of range", status: 401,
                    detail: "The notification's timestamp is too far from the current time.")
        case .badSignature:
            Problem(kind: "bad-signature", title: "Signature does not verify", status: 401,
                    detail: "The notification's signature does not match its content.")
        case .undecryptable:
            Problem(kind: "undecryptable-notification", title: "Resource does not decrypt", status: 400,
                    detail: "The notification's resource does not decrypt and authenticate under the configured key.")
        case .invalidConfiguration(let what):
            Problem(kind: "payment-provider-misconfigured", title: "Payment provider misconfigured", status: 500,
                    detail: what)
        }
    }

    public var description: String { problem.description }

    /// Header values are the sender's: show at most 64 plain characters of them.
    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }.prefix(64).map(Character.init))
    }
}

// MARK: - Alipay

/// Verifies Alipay asynchronous notifications (异步通知): form parameters signed RSA2, that is
/// SHA256withRSA with PKCS#1 v1.5 padding, with the Alipay public key of the app (支付宝公钥).
public struct AlipayNotifications: Sendable {
    let publicKey: _RSA.Signing.PublicKey

    /// - Parameter publicKeyPEM: the Alipay public key as a "PUBLIC KEY" (SPKI) PEM, or the bare
    ///   base64 body the Alipay console shows (no BEGIN/END lines, line breaks allowed).
    public init(publicKeyPEM: String) throws {
        let trimmed = publicKeyPEM.trimmingCharacters(in: .whitespacesAndNewlines)
        let der: [UInt8]
        if trimmed.hasPrefix("-----BEGIN") {
            guard let doc = try? PEMDocument(pemString: trimmed), doc.discriminator.hasSuffix("PUBLIC KEY") else {
                throw NotificationError.invalidConfiguration("The Alipay public key is not a PUBLIC KEY PEM.")
            }
            der = doc.derBytes
        } else {
            let base64 = String(trimmed.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) }.map(Character.init))
            guard let data = Data(base64Encoded: base64) else {
                throw NotificationError.invalidConfiguration("The Alipay public key is neither PEM nor base64.")
            }
            der = Array(data)
        }
        do {
            publicKey = try _RSA.Signing.PublicKey(derRepresentation: der)
        } catch {
            throw NotificationError.invalidConfiguration("The Alipay public key is not an RSA key of at least 2048 bits.")
        }
    }

    /// Checks the signature of the notification's parameters (already URL-decoded, e.g. by
    /// `FormURLEncoding.parse`) and reads the payment out of them.
    public func verify(_ params: [String: String]) throws -> ProviderNotification {
        guard let sign = params["sign"], !sign.isEmpty else { throw NotificationError.missingField("sign") }
        let signType = params["sign_type"]
        // Every signature is checked as SHA256withRSA, so a notification without sign_type is
        // held to RSA2; one that says RSA (SHA1withRSA) is refused outright.
        if let signType, signType != "RSA2" { throw NotificationError.unsupportedSignType(signType) }
        // Base64 has no spaces: a space is a '+' that was form-decoded once too often.
        guard let raw = Data(base64Encoded: sign.replacingOccurrences(of: " ", with: "+")) else { throw NotificationError.badSignature }
        let signature = _RSA.Signing.RSASignature(rawRepresentation: raw)

        // Alipay's SDKs disagree on sign_type: rsaCheckV1 (trade notifications) signs the content
        // without it, rsaCheckV2 (e.g. service-market notifications) with it. Accept either.
        var verifiedBy: String?
        if isValid(signature, Self.signContent(params, excluding: ["sign", "sign_type"])) {
            verifiedBy = "rsaCheckV1"
        } else if signType != nil, isValid(signature, Self.signContent(params, excluding: ["sign"])) {
            verifiedBy = "rsaCheckV2"
        }
        guard let verifiedBy else { throw NotificationError.badSignature }

        var amount: Int64?
        if let total = params["total_amount"], !total.isEmpty {
            // total_amount is yuan with at most two decimals.
            guard let fen = Money.parseMinorUnits(total, currency: "CNY") else { throw NotificationError.invalidField("total_amount") }
            amount = fen
        }
        let status = params["trade_status"].flatMap { $0.isEmpty ? nil : $0 }
        return ProviderNotification(
            provider: "alipay",
            event: status ?? params["notify_type"] ?? "",
            merchantReference: Self.nonEmpty(params["out_trade_no"]),
            providerReference: Self.nonEmpty(params["trade_no"]),
            amount: amount,
            currency: amount == nil ? nil : "CNY",
            paid: status == "TRADE_SUCCESS" || status == "TRADE_FINISHED",
            fields: params.filter { $0.key != "sign" },
            plaintext: nil,
            verifiedBy: verifiedBy)
    }

    /// The string Alipay signs: the parameters but `excluding`, without empty values, sorted by
    /// key in byte order, as `k=v` joined by `&`, values as received (not URL-encoded).
    public static func signContent(_ params: [String: String], excluding: Set<String> = ["sign", "sign_type"]) -> String {
        params.filter { !excluding.contains($0.key) && !$0.value.isEmpty }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { "\($0.key)=\($0.value)" }
            .joined(separator: "&")
    }

    static func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }

    func isValid(_ signature: _RSA.Signing.RSASignature, _ content: String) -> Bool {
        publicKey.isValidSignature(signature, for: Data(content.utf8), padding: .insecurePKCS1v1_5)
    }
}

// MARK: - WeChat Pay

/// Verifies WeChat Pay APIv3 notifications (回调通知): the headers' SHA256withRSA signature with
/// the platform certificate (平台证书) named by Wechatpay-Serial, then decrypts the resource with
/// the APIv3 key.
///
/// The certificates are trusted as configured (they come from the authenticated certificate
/// download API); their chain is not checked here, their validity period is.
public struct WeChatPayNotifications: Sendable {
    struct PlatformCertificate: Sendable {
        /// Upper-case hex without leading zeros.
        var serial: String
        var publicKey: _RSA.Signing.PublicKey
        var notBefore: Date?
        var notAfter: Date?
    }

    let certificates: [String: PlatformCertificate]
    /// Bytes, not a SymmetricKey: that type is not Sendable in swift-crypto 3.12.
    let apiV3Key: Data
    let timestampTolerance: TimeInterval

    /// - Parameters:
    ///   - certificatePEMs: the active platform certificates ("CERTIFICATE" PEM); during rotation
    ///     there are two. A string may hold several PEM blocks.
    ///   - apiV3Key: the APIv3 key's bytes (`Data("…".utf8)` of the 32 characters set in the
    ///     merchant platform); 16 and 24 bytes are accepted for the published test vectors.
    ///   - timestampTolerance: how far Wechatpay-Timestamp may be from `now`, either way.
    public init(certificatePEMs: [String], apiV3Key: Data, timestampTolerance: TimeInterval = 300) throws {
        var certificates: [String: PlatformCertificate] = [:]
        for pem in certificatePEMs {
            let docs: [PEMDocument]
            do { docs = try PEMDocument.parseMultiple(pemString: pem) } catch {
                throw NotificationError.invalidConfiguration("A WeChat Pay platform certificate is not PEM.")
            }
            for doc in docs where doc.discriminator == "CERTIFICATE" {
                let cert = try Self.platformCertificate(der: doc.derBytes)
                certificates[cert.serial] = cert
            }
        }
        guard !certificates.isEmpty else { throw NotificationError.invalidConfiguration("No WeChat Pay platform certificate was given.") }
        guard [16, 24, 32].contains(apiV3Key.count) else {
            throw NotificationError.invalidConfiguration("The WeChat Pay APIv3 key must be 32 bytes (16 or 24 in test vectors).")
        }
        self.certificates = certificates
        self.apiV3Key = apiV3Key
        self.timestampTolerance = timestampTolerance
    }

    /// The serials of the certificates held, upper-case hex.
    public var serials: [String] { certificates.keys.sorted() }

    /// Checks the notification's headers and body and decrypts its resource.
    /// - Parameter headers: the request's headers; names are matched case-insensitively.
    public func verify(headers: [String: String], body: String, now: Date) throws -> ProviderNotification {
        var lower: [String: String] = [:]
        for (k, v) in headers { lower[k.lowercased()] = v }
        func header(_ name: String) throws -> String {
            guard let v = lower[name.lowercased()]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else {
                throw NotificationError.missingField(name)
            }
            return v
        }
        let timestamp = try header("Wechatpay-Timestamp")
        let nonce = try header("Wechatpay-Nonce")
        let serial = try header("Wechatpay-Serial")
        let signatureText = try header("Wechatpay-Signature")
        if let type = lower["wechatpay-signature-type"], !type.isEmpty, type != "WECHATPAY2-SHA256-RSA2048" {
            throw NotificationError.unsupportedSignType(type)
        }
        guard let seconds = Int64(timestamp) else { throw NotificationError.invalidField("Wechatpay-Timestamp") }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= timestampTolerance else { throw NotificationError.staleTimestamp }
        guard let cert = certificates[Self.normalizedSerial(serial)] else { throw NotificationError.unknownCertificate(serial: serial) }
        if let from = cert.notBefore, now < from { throw NotificationError.expiredCertificate(serial: cert.serial) }
        if let until = cert.notAfter, now > until { throw NotificationError.expiredCertificate(serial: cert.serial) }

        // Signature probes (WECHATPAY/SIGNTEST/…) fail here or at the check below, as they should.
        guard let raw = Data(base64Encoded: signatureText) else { throw NotificationError.badSignature }
        let message = "\(timestamp)\n\(nonce)\n\(body)\n"
        guard cert.publicKey.isValidSignature(.init(rawRepresentation: raw), for: Data(message.utf8), padding: .insecurePKCS1v1_5) else {
            throw NotificationError.badSignature
        }

        let envelope: Envelope
        do { envelope = try Self.decoder.decode(Envelope.self, from: Data(body.utf8)) } catch {
            throw NotificationError.invalidField("body")
        }
        guard let resource = envelope.resource else { throw NotificationError.missingField("resource") }
        // The name stays AEAD_AES_256_GCM whatever the key length.
        guard resource.algorithm == "AEAD_AES_256_GCM" else { throw NotificationError.unsupportedAlgorithm(resource.algorithm) }
        let plain = try Self.decrypt(ciphertext: resource.ciphertext, nonce: resource.nonce,
                                     associatedData: resource.associatedData ?? "", key: apiV3Key)
        let decoded: Resource
        do { decoded = try Self.decoder.decode(Resource.self, from: plain) } catch {
            throw NotificationError.invalidField("resource")
        }
        var fields: [String: String] = [:]
        fields["id"] = envelope.id
        fields["create_time"] = envelope.createTime
        fields["event_type"] = envelope.eventType
        fields["resource_type"] = envelope.resourceType
        fields["summary"] = envelope.summary
        let event = envelope.eventType ?? ""
        return ProviderNotification(
            provider: "wechat_pay",
            event: event,
            merchantReference: decoded.outTradeNo ?? decoded.outOrderNo ?? decoded.outContractCode,
            providerReference: decoded.transactionId ?? decoded.refundId ?? decoded.orderId,
            amount: decoded.amount?.total,
            currency: decoded.amount?.total == nil ? nil : (decoded.amount?.currency ?? "CNY"),
            paid: decoded.tradeState == "SUCCESS" || event == "TRANSACTION.SUCCESS",
            fields: fields,
            plaintext: String(decoding: plain, as: UTF8.self),
            verifiedBy: cert.serial)
    }

    /// AEAD_AES_256_GCM as WeChat Pay uses it: `ciphertext` is base64 of ciphertext || 16-byte tag,
    /// `nonce` and `associatedData` are used as their UTF-8 bytes. The key's length picks
    /// AES-128/192/256.
    public static func decrypt(ciphertext: String, nonce: String, associatedData: String, key: SymmetricKey) throws -> Data {
        guard [128, 192, 256].contains(key.bitCount) else {
            throw NotificationError.invalidConfiguration("The WeChat Pay APIv3 key must be 32 bytes (16 or 24 in test vectors).")
        }
        guard let combined = Data(base64Encoded: ciphertext), combined.count >= 16 else { throw NotificationError.undecryptable }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: Data(nonce.utf8)),
                                            ciphertext: combined.dropLast(16), tag: combined.suffix(16))
            return try AES.GCM.open(box, using: key, authenticating: Data(associatedData.utf8))
        } catch {
            throw NotificationError.undecryptable
        }
    }

    /// `decrypt` with the key as bytes.
    public static func decrypt(ciphertext: String, nonce: String, associatedData: String, key: Data) throws -> Data {
        try decrypt(ciphertext: ciphertext, nonce: nonce, associatedData: associatedData, key: SymmetricKey(data: key))
    }

    /// A serial as compared: upper-case hex without leading zeros.
    static func normalizedSerial(_ s: String) -> String {
        let trimmed = s.uppercased().drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    static let hexDigits = Array("0123456789ABCDEF")

    /// Reads the serial, validity and public key out of an X.509 certificate:
    /// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue };
    /// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
    /// validity, subject, subjectPublicKeyInfo, … }.
    static func platformCertificate(der: [UInt8]) throws -> PlatformCertificate {
        let bad = NotificationError.invalidConfiguration("A WeChat Pay platform certificate is not a readable X.509 certificate.")
        guard let root = try? DER.parse(der), root.identifier == .sequence, case .constructed(let certParts) = root.content else { throw bad }
        var certIterator = certParts.makeIterator()
        guard let tbs = certIterator.next(), tbs.identifier == .sequence, case .constructed(let tbsParts) = tbs.content else { throw bad }
        var fields = tbsParts.makeIterator()
        var node = fields.next()
        if let n = node, n.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) { node = fields.next() }
        guard let serialNode = node, serialNode.identifier == .integer, case .primitive(let serialBytes) = serialNode.content else { throw bad }
        guard fields.next() != nil,  // signature AlgorithmIdentifier
              fields.next() != nil,  // issuer
              let validity = fields.next(), validity.identifier == .sequence,
              fields.next() != nil,  // subject
              let spki = fields.next(), spki.identifier == .sequence
        else { throw bad }

        var hex = ""
        for b in serialBytes.drop(while: { $0 == 0 }) {
            hex.append(hexDigits[Int(b >> 4)])
            hex.append(hexDigits[Int(b & 0x0F)])
        }
        var notBefore: Date?
        var notAfter: Date?
        if case .constructed(let times) = validity.content {
            var t = times.makeIterator()
            notBefore = t.next().flatMap(Self.date)
            notAfter = t.next().flatMap(Self.date)
        }
        let key: _RSA.Signing.PublicKey
        do { key = try _RSA.Signing.PublicKey(derRepresentation: Array(spki.encodedBytes)) } catch {
            throw NotificationError.invalidConfiguration("A WeChat Pay platform certificate's key is not an RSA key of at least 2048 bits.")
        }
        return PlatformCertificate(serial: hex.isEmpty ? "0" : hex, publicKey: key, notBefore: notBefore, notAfter: notAfter)
    }

    /// An X.509 Time (UTCTime or GeneralizedTime) as a Date.
    static func date(_ node: ASN1Node) -> Date? {
        let c: DateComponents
        if let t = try? UTCTime(derEncoded: node) {
            c = DateComponents(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
        } else if let t = try? GeneralizedTime(derEncoded: node) {
            c = DateComponents(year: t.year, month: t.month, day: t.day, hour: t.hours, minute: t.minutes, second: t.seconds)
        } else {
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.date(from: c)
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    struct Envelope: Decodable {
        struct EncryptedResource: Decodable {
            var algorithm: String
            var ciphertext: String
            var nonce: String
            var associatedData: String?
            var originalType: String?
        }
        var id: String?
        var createTime: String?
        var eventType: String?
        var resourceType: String?
        var summary: String?
        var resource: EncryptedResource?
    }

    /// The fields read out of the decrypted resource (payment, refund and pay-score notifications).
    struct Resource: Decodable {
        struct Amount: Decodable {
            var total: Int64?
            var currency: String?
        }
        var outTradeNo: String?
        var outOrderNo: String?
        var outContractCode: String?
        var transactionId: String?
        var refundId: String?
        var orderId: String?
        var tradeState: String?
        var amount: Amount?
    }
}
