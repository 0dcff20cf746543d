import Foundation
import Logging
import O2OCore
import O2OOrders

/// Everything `o2o serve` can be told. The CLI fills it from flags, `O2O_*` environment
/// variables and an optional JSON config file, in that order of precedence.
public struct ServerConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var database = "sqlite:./o2o.sqlite"
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 1 << 20
    /// Largest body of a CSV import (the API's and the console's), in bytes.
    public var maxImportBytes = 64 << 20
    /// The paths that take imports.
    public static let importPaths = ["/api/v1/catalog/imports/", "/api/v1/marketplace-orders/", "/console/imports"]
    /// How long an Idempotency-Key is remembered, in seconds.
    public var idempotencyTTL: TimeInterval = 24 * 3600
    /// How long a login session lasts, in seconds.
    public var sessionLifetime: TimeInterval = 12 * 3600
    /// bcrypt cost for new password hashes.
    public var bcryptCost: UInt8 = 10
    public var logLevel: Logger.Level = .info
    public var webhooks = WebhookPolicy()
    /// How often the outbox worker looks for work, in seconds.
    public var outboxInterval: TimeInterval = 1
    /// Failed logins allowed per username per 5 minutes before 429.
    public var loginAttemptsPerWindow = 10
    /// Alipay's and WeChat Pay's keys for verifying their payment notifications; a provider
    /// without them has no notification endpoint.
    public var paymentNotifiers = PaymentNotifiers()
    /// Places addresses that came without coordinates (marketplace orders) at their region's centre.
    public var geocoder: (any Geocoder)?
    /// The Shopify app's shared secret: a webhook to the Shopify intake signed with it
    /// (`X-Shopify-Hmac-Sha256`) is taken without a bearer token.
    public var shopifyWebhookSecret: String?
    public init() {}
}

extension ServerConfig {
    /// The region table (`adcode,name,longitude,latitude`) that places marketplace addresses.
    public static func geocoder(regionFile: String?) throws -> (any Geocoder)? {
        guard let regionFile, !regionFile.isEmpty else { return nil }
        guard let data = FileManager.default.contents(atPath: regionFile) else { throw Problem.malformed("cannot read \(regionFile)") }
        return try RegionCentroids(csv: String(decoding: data, as: UTF8.self))
    }

    /// The payment providers' verifiers from their key files: Alipay's public key (PEM or the bare
    /// base64 its console shows); WeChat Pay's platform certificates and the merchant's APIv3 key.
    public static func paymentNotifiers(alipayPublicKeyFile: String?, wechatPayCertificateFiles: [String],
                                        wechatPayAPIv3Key: String?) throws -> PaymentNotifiers {
        func read(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path) else { throw Problem.malformed("cannot read \(path)") }
            return String(decoding: data, as: UTF8.self)
        }
        var n = PaymentNotifiers()
        if let file = alipayPublicKeyFile, !file.isEmpty { n.alipay = try AlipayNotifications(publicKeyPEM: try read(file)) }
        let certificates = wechatPayCertificateFiles.filter { !$0.isEmpty }
        if !certificates.isEmpty || wechatPayAPIv3Key != nil {
            guard let key = wechatPayAPIv3Key, !certificates.isEmpty else {
                throw Problem.malformed("WeChat Pay notifications need both the platform certificate file(s) and the APIv3 key")
            }
            n.wechatPay = try WeChatPayNotifications(certificatePEMs: try certificates.map(read), apiV3Key: Data(key.utf8))
        }
        return n
    }
}
