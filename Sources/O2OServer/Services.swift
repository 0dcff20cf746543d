import Foundation
import HummingbirdBcrypt
import Logging
import O2OCatalog
import O2OFulfillment
import O2OInventory
import O2OMembers
import O2ONetwork
import O2OOrders
import O2OPromotions
import NIOPosix
import O2OCore

/// bcrypt, run off the event loops.
public struct BcryptHasher: PasswordHasher {
    public let cost: UInt8
    public init(cost: UInt8) { self.cost = cost }
    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }
    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}

/// The services one server process runs on, built once over one database.
public struct AppServices: Sendable {
    public let config: ServerConfig
    public let db: Database
    public let clock: any O2OClock
    public let identity: IdentityService
    public let network: NetworkService
    public let catalog: CatalogService
    public let prices: PriceService
    public let importer: CatalogImporter
    public let inventory: InventoryService
    public let orders: OrderService
    public let members: MembersService
    public let fulfillment: FulfillmentService
    public let warehouse: WarehouseService
    public let promotions: PromotionsService
    /// Catalog prices and the promotion pipeline, for orders and the pricing API alike.
    let pricing: PromotionPricing
    public let audit: AuditLog
    public let webhooks: WebhookService
    public let idempotency: IdempotencyStore
    public let logger: Logger

    public init(config: ServerConfig, db: Database, clock: any O2OClock = SystemClock(), logger: Logger) {
        self.config = config
        self.db = db
        self.clock = clock
        self.logger = logger
        identity = IdentityService(db: db, clock: clock, hasher: BcryptHasher(cost: config.bcryptCost),
                                   sessionLifetime: config.sessionLifetime)
        network = NetworkService(db: db, clock: clock)
        catalog = CatalogService(db: db, clock: clock)
        prices = PriceService(db: db, clock: clock, directory: NetworkDirectory(network: network))
        importer = CatalogImporter(catalog: catalog, prices: prices)
        inventory = InventoryService(db: db, clock: clock, directory: StockDirectory(network: network, catalog: catalog))
        // Messages go to the log until real SMS, WeChat and email adapters are registered here.
        let members = MembersService(db: db, clock: clock, mergeHooks: [OrdersMergeHook(), CouponsMergeHook()], eraseHooks: [OrdersEraseHook()],
                                     messageAdapters: MembersService.logAdapters(LogMessageAdapter(logger: logger)))
        let promotions = PromotionsService(db: db, clock: clock)
        let pricing = PromotionPricing(prices: CatalogPricing(prices: prices), catalog: catalog, network: network, members: members,
                                       promotions: promotions, db: db)
        let orders = OrderService(db: db, clock: clock, catalog: catalog, network: network, inventory: inventory, members: members,
                                  pricing: pricing, notifiers: config.paymentNotifiers, geocoder: config.geocoder)
        self.promotions = promotions
        self.pricing = pricing
        self.members = members
        self.orders = orders
        fulfillment = FulfillmentService(db: db, clock: clock, orders: orders, network: network)
        warehouse = WarehouseService(db: db, clock: clock, inventory: inventory, network: network, fulfillment: fulfillment)
        audit = AuditLog(db: db)
        webhooks = WebhookService(db: db, clock: clock, policy: config.webhooks)
        idempotency = IdempotencyStore(db: db, clock: clock, ttl: config.idempotencyTTL)
    }

    /// Every module's migrations, in dependency order.
    public static let migrations: [Migration] = CoreMigrations.all + NetworkMigrations.all + CatalogMigrations.all + InventoryMigrations.all
        + MembersMigrations.all + OrdersMigrations.all + FulfillmentMigrations.all + WarehouseMigrations.all + PromotionsMigrations.all

    public func migrate() async throws -> [String] {
        try await Migrator(db: db, migrations: Self.migrations, logger: logger).migrate(clock: clock)
    }

    /// Opens the database, applies pending migrations and builds the services.
    public static func open(config: ServerConfig, clock: any O2OClock = SystemClock(), logger: Logger) async throws -> AppServices {
        let location = try DatabaseLocation(parsing: config.database)
        let db = try await Database.open(location, logger: logger)
        let services = AppServices(config: config, db: db, clock: clock, logger: logger)
        do {
            _ = try await services.migrate()
        } catch {
            await db.close()
            throw error
        }
        return services
    }
}

/// The catalog's view of the network: what price resolution needs to know about a store.
struct NetworkDirectory: LocationDirectory {
    let network: NetworkService

    func facts(_ locationId: String) async throws -> LocationFacts? {
        let l: Location
        do { l = try await network.location(locationId, scope: .all) } catch let p as Problem where p.status == 404 { return nil }
        let a = l.address
        return LocationFacts(id: l.id, organisationId: l.organisationId, regionCodes: a.regionCodes,
                             currency: l.currency, isStore: l.kind == .store)
    }

    func organisationExists(_ organisationId: String) async throws -> Bool {
        do { _ = try await network.organisation(organisationId, scope: .all) } catch let p as Problem where p.status == 404 { return false }
        return true
    }
}

/// Inventory's view of the network and the catalog.
struct StockDirectory: InventoryDirectory {
    let network: NetworkService
    let catalog: CatalogService

    func locations() async throws -> [StockLocation] {
        var f = LocationFilter()
        f.limit = 1_000_000
        return try await network.locations(f, scope: .all).items.map { l in
            StockLocation(id: l.id, code: l.code, name: l.name, organisationId: l.organisationId, isStore: l.kind == .store,
                          active: l.status == .active, lat: l.coordinates.lat, lng: l.coordinates.lng,
                          pickup: l.kind == .store && l.capabilities.pickup,
                          ships: l.kind.isWarehouse || l.capabilities.shipFromStore || l.capabilities.storeDelivery)
        }
    }

    func skuIds(_ refs: [String]) async throws -> [String: String] { try await catalog.skuIds(refs) }

    func channels() async throws -> [StockChannel] {
        try await catalog.channels().map { StockChannel(id: $0.id, isStore: $0.kind.isStore) }
    }

    func channelId(_ ref: String) async throws -> String? {
        do { return try await catalog.channel(ref).id } catch let p as Problem where p.status == 404 { return nil }
    }
}
