import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import Logging
import O2OInventory
import O2ONetwork
import O2OCore
import O2OServer
import SystemPackage

/// `o2o`: the O2O unified-commerce server and its administration commands.
@main
struct O2OCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "o2o",
        abstract: "O2O unified commerce: one inventory, one member, one order flow across stores and online channels.",
        subcommands: [Serve.self, Migrate.self, Demo.self, Users.self, APIKeys.self, Inventory.self],
        defaultSubcommand: Serve.self)
}

/// Options every command shares: where the data is and where extra configuration comes from.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Database: sqlite:PATH (default sqlite:./o2o.sqlite) or postgres://user:password@host:port/database. Env O2O_DATABASE.",
        valueName: "url"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp(
        "JSON config file with the same keys as the O2O_* variables, nested by dots (e.g. {\"body\":{\"limit\":1048576}}). Env O2O_CONFIG.",
        valueName: "path"))
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error. Env O2O_LOG_LEVEL.")
    var logLevel: String?

    /// Flags > O2O_* environment > config file > defaults.
    func resolve() async throws -> (ServerConfig, ConfigReader) {
        let env = EnvironmentVariablesProvider().prefixKeys(with: "o2o")
        var providers: [any ConfigProvider] = [env]
        let file = config ?? ProcessInfo.processInfo.environment["O2O_CONFIG"]
        if let file {
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("config file not found: \(file)") }
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
        }
        let reader = ConfigReader(providers: providers)
        var c = ServerConfig()
        c.database = db ?? reader.string(forKey: "database", default: c.database)
        c.host = reader.string(forKey: "host", default: c.host)
        c.port = reader.int(forKey: "port", default: c.port)
        c.maxBodyBytes = reader.int(forKey: "body.limit", default: c.maxBodyBytes)
        c.maxImportBytes = reader.int(forKey: "import.limit", default: c.maxImportBytes)
        c.idempotencyTTL = reader.double(forKey: "idempotency.ttl", default: c.idempotencyTTL)
        c.sessionLifetime = reader.double(forKey: "session.lifetime", default: c.sessionLifetime)
        c.bcryptCost = UInt8(clamping: reader.int(forKey: "bcrypt.cost", default: Int(c.bcryptCost)))
        c.webhooks.maxAttempts = reader.int(forKey: "webhook.attempts", default: c.webhooks.maxAttempts)
        c.webhooks.baseDelay = reader.double(forKey: "webhook.backoff", default: c.webhooks.baseDelay)
        c.paymentNotifiers = try ServerConfig.paymentNotifiers(
            alipayPublicKeyFile: reader.string(forKey: "alipay.public.key.file"),
            wechatPayCertificateFiles: (reader.string(forKey: "wechatpay.certificate.files") ?? "").split(separator: ",").map(String.init),
            wechatPayAPIv3Key: reader.string(forKey: "wechatpay.apiv3.key"))
        c.geocoder = try ServerConfig.geocoder(regionFile: reader.string(forKey: "region.centroids"))
        c.shopifyWebhookSecret = reader.string(forKey: "shopify.webhook.secret")
        let level = logLevel ?? reader.string(forKey: "log.level", default: "info")
        guard let parsed = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level '\(level)'") }
        c.logLevel = parsed
        return (c, reader)
    }

    /// Opens the services (migrating the database), runs `body`, and closes the database however it ends.
    func withServices<T>(_ config: ServerConfig, _ body: (AppServices) async throws -> T) async throws -> T {
        let services = try await AppServices.open(config: config, logger: logger(config))
        do {
            let result = try await body(services)
            await services.db.close()
            return result
        } catch {
            await services.db.close()
            throw error
        }
    }

    func logger(_ config: ServerConfig) -> Logger {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = config.logLevel
            return h
        }
        var logger = Logger(label: "o2o")
        logger.logLevel = config.logLevel
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server (API at /api/v1, console at /console, reference at /docs).",
        discussion: """
            Every option can also come from an O2O_* environment variable or the JSON config file; a flag wins over the environment, which wins over the file.

              O2O_DATABASE          sqlite:PATH (default ./o2o.sqlite) or postgres://…
              O2O_HOST, O2O_PORT    where to listen (default 127.0.0.1, 8080)
              O2O_BODY_LIMIT        largest request body in bytes (default 1048576)
              O2O_IMPORT_LIMIT      largest CSV import body in bytes (default 67108864)
              O2O_IDEMPOTENCY_TTL   seconds a key is remembered (default 86400)
              O2O_SESSION_LIFETIME  seconds a login lasts (default 43200)
              O2O_BCRYPT_COST       bcrypt cost of new password hashes (default 10)
              O2O_WEBHOOK_ATTEMPTS  tries before dead-lettering a webhook (default 8)
              O2O_WEBHOOK_BACKOFF   seconds before the first retry, doubling (default 5)
              O2O_LOG_LEVEL         trace … error (default info)
              O2O_ALIPAY_PUBLIC_KEY_FILE       Alipay's public key, for its payment notifications
              O2O_WECHATPAY_CERTIFICATE_FILES  WeChat Pay platform certificate(s), comma-separated
              O2O_WECHATPAY_APIV3_KEY          the merchant's APIv3 key, to decrypt WeChat Pay notifications
              O2O_REGION_CENTROIDS             adcode,name,longitude,latitude table placing marketplace addresses
              O2O_SHOPIFY_WEBHOOK_SECRET       the Shopify app's secret: signed webhooks need no bearer token
              O2O_DEMO_PASSWORD     password of the demo users (generated when unset)
              O2O_CONFIG            the JSON config file
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (default 127.0.0.1). Env O2O_HOST.")
    var host: String?

    @Option(help: "Port to listen on (default 8080). Env O2O_PORT.")
    var port: Int?

    @Option(help: "Largest request body in bytes (default 1 MiB). Env O2O_BODY_LIMIT.")
    var bodyLimit: Int?

    @Option(help: "Seconds an Idempotency-Key is remembered (default 86400). Env O2O_IDEMPOTENCY_TTL.")
    var idempotencyTTL: Double?

    @Flag(help: "Load the demo network (pilot city) on first start, when the database has no locations.")
    var demo = false

    func run() async throws {
        let started = ContinuousClock.now
        var (config, _) = try await common.resolve()
        if let host { config.host = host }
        if let port { config.port = port }
        if let bodyLimit { config.maxBodyBytes = bodyLimit }
        if let idempotencyTTL { config.idempotencyTTL = idempotencyTTL }
        guard config.maxBodyBytes > 0 else { throw ValidationError("--body-limit must be positive") }
        try await common.withServices(config) { services in
            if demo, try await services.network.locationCount() == 0 {
                let summary = try await DemoData(services: services).load(
                    scale: .city, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"])
                Demo.print(summary)
            }
            let app = try buildApplication(services: services)
            services.logger.info("o2o ready", metadata: [
                "database": "\(services.db.location)", "address": "http://\(config.host):\(config.port)",
                "startup_ms": "\(Int((ContinuousClock.now - started) / .milliseconds(1)))",
            ])
            try await app.runService()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        let (config, _) = try await common.resolve()
        let logger = common.logger(config)
        let db = try await Database.open(try DatabaseLocation(parsing: config.database), logger: logger)
        let services = AppServices(config: config, db: db, logger: logger)
        let applied = try await services.migrate()
        await db.close()
        print(applied.isEmpty ? "Schema is up to date." : "Applied:\n  " + applied.joined(separator: "\n  "))
    }
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load demo data (network, organisations, one user per role) into an empty database.")
    @OptionGroup var common: CommonOptions

    @Option(help: "city (1 warehouse, 10 Shanghai stores), province (~300 stores in Zhejiang) or nation (~3,000 stores).")
    var scale: String = "city"

    @Option(help: "Seed of the generator; the same seed gives the same network.")
    var seed: UInt64 = 2026

    func run() async throws {
        guard let s = DemoData.Scale(rawValue: scale) else { throw ValidationError("--scale must be city, province or nation") }
        let (config, _) = try await common.resolve()
        let summary = try await common.withServices(config) { services in
            try await DemoData(services: services).load(
                scale: s, seed: seed, password: ProcessInfo.processInfo.environment["O2O_DEMO_PASSWORD"])
        }
        Self.print(summary)
    }

    static func print(_ s: DemoData.Summary) {
        Swift.print("""
            Demo data loaded: \(s.organisations) organisations, \(s.warehouses) warehouses, \(s.stores) stores.
            Catalog: \(s.brands) brands, \(s.categories) categories, \(s.products) products, \(s.skus) SKUs, \(s.channels) channels, \(s.listings) listings, \(s.priceLists) price lists (\(s.priceEntries) prices).
            Stock: \(s.stockUnits) units in \(s.stockRows) SKU × location balances. Orders: \(s.orders), and \(s.tillSales) till sales. Members: \(s.members). Promotions: \(s.promotions), a coupon batch and a flash sale. Carriers: \(s.carriers); shipments: \(s.shipments), with tracking. Store delivery routes: \(s.deliveryRoutes), one out.
            Users (one per role): \(s.users.joined(separator: ", "))
            Password for all demo users: \(s.passwordGenerated ? s.password + "   (generated; shown once — set O2O_DEMO_PASSWORD to choose it)" : "from O2O_DEMO_PASSWORD")
            API key for the demo web shop channel (shown once): \(s.apiKey ?? "-")
            """)
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage staff users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a staff user.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Login name.") var username: String
        @Option(help: "One of: \(Role.allCases.filter { $0 != .integration }.map(\.rawValue).joined(separator: ", ")).") var role: String
        @Option(help: "Scope: 'all' (HQ roles), an organisation id (franchisee, supplier) or a location id (store and warehouse staff).")
        var scope: String = "all"
        @Option(help: "Display name.") var name: String?
        @Option(help: "Password (else read from O2O_NEW_PASSWORD or generated and printed).") var password: String?

        func run() async throws {
            guard let r = Role(rawValue: role), r != .integration else { throw ValidationError("unknown role '\(role)'") }
            let (config, _) = try await common.resolve()
            var pw = password ?? ProcessInfo.processInfo.environment["O2O_NEW_PASSWORD"] ?? ""
            let generated = pw.isEmpty
            if generated { pw = Secrets.token(prefix: "", bytes: 12) }
            let user = try await common.withServices(config) { [pw] services in
                let s = try await UserScopes.resolve(role: r, organisationId: scope.hasPrefix("org_") ? scope : nil,
                                                     locationId: scope.hasPrefix("loc_") ? scope : nil, network: services.network)
                return try await services.identity.createUser(
                    NewUser(username: username, password: pw, displayName: name, role: r, scope: s), caller: .system)
            }
            print("Created user \(user.username) (\(user.id)), role \(r.rawValue).")
            if generated { print("Password (shown once): \(pw)") }
        }
    }
}

struct APIKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api-keys", abstract: "Manage API keys for channel integrations.",
                                                    subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue an API key for a channel; the key is printed once.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Channel the key integrates, e.g. web, app, tmall, jd, pos.") var channel: String
        @Option(help: "Name shown in the key list.") var name: String?
        @Option(help: "Limit the key to one organisation's data (an organisation id).") var scope: String?

        func run() async throws {
            let (config, _) = try await common.resolve()
            let (key, secret) = try await common.withServices(config) { services in
                if let scope { _ = try await services.network.organisation(scope, scope: .all) }
                return try await services.identity.createApiKey(
                    name: name ?? "\(channel) integration", channel: channel, organisationId: scope, caller: .system)
            }
            print("Created API key \(key.id) for channel \(key.channel).\nKey (shown once): \(secret)")
        }
    }
}

struct Inventory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inventory maintenance.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every balance equals the sum of its ledger movements and that no bucket is below zero (on hand taken below zero by till sales is listed, not failed); exits 1 if not.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            let (config, _) = try await common.resolve()
            let report = try await common.withServices(config) { try await $0.inventory.verify() }
            print("\(report.balances) balances, \(report.movements) movements.")
            for m in report.mismatches.prefix(50) {
                print("MISMATCH \(m.skuId) at \(m.locationId): \(m.bucket) balance \(m.balance), ledger \(m.ledger)")
            }
            for n in report.negative.prefix(50) { print("NEGATIVE \(n)") }
            for n in report.belowZeroOnHand.prefix(50) { print("COUNT ME \(n) (till sales ahead of the ledger)") }
            if report.ok {
                print("OK: every balance equals the sum of its movements.")
            } else {
                print("FAILED: \(report.mismatches.count) mismatches, \(report.negative.count) negative buckets.")
                throw ExitCode(1)
            }
        }
    }
}
