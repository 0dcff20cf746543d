import Foundation

/// Staff and integration roles. What each may do is `Role.permissions`; what data it sees is its `Scope`.
public enum Role: String, Codable, Sendable, CaseIterable {
    case hqAdmin = "hq_admin"
    case merchandiser
    case marketer
    case ops
    case customerService = "customer_service"
    case warehouse
    case finance
    case storeManager = "store_manager"
    case clerk
    case franchisee
    case supplier
    case integration

    /// The scope level a principal of this role must have.
    public var scopeLevel: Scope.Level {
        switch self {
        case .hqAdmin, .merchandiser, .marketer, .ops, .customerService, .finance, .integration: return .all
        case .warehouse, .storeManager, .clerk: return .location
        case .franchisee, .supplier: return .organisation
        }
    }
}

/// Operation-level rights. Every API operation names one (see the server's access policy).
public enum Permission: String, Codable, Sendable, CaseIterable {
    case sessionSelf = "session.self"
    case organisationsRead = "organisations.read"
    case organisationsManage = "organisations.manage"
    case locationsRead = "locations.read"
    case locationsCreate = "locations.create"
    case locationsUpdate = "locations.update"
    case usersManage = "users.manage"
    case apiKeysManage = "api_keys.manage"
    case auditRead = "audit.read"
    case eventTypesRead = "event_types.read"
    case webhooksManage = "webhooks.manage"
    case consoleUse = "console.use"
    case catalogRead = "catalog.read"
    case catalogManage = "catalog.manage"
    case pricesManage = "prices.manage"
    case inventoryRead = "inventory.read"
    /// Hold, sell and release stock for orders.
    case inventoryReserve = "inventory.reserve"
    /// Post receipts, sales, adjustments, returns and damage at a location.
    case inventoryManage = "inventory.manage"
    /// Channel pools and safety stock.
    case inventoryConfigure = "inventory.configure"
    /// Orders with their customers' contact details.
    case ordersRead = "orders.read"
    /// Place and quote orders (web, app, call center, a clerk's endless aisle, integrations).
    case ordersPlace = "orders.place"
    /// Move orders through their lifecycle: release, pick, ship, hand over, hold, cancel.
    case ordersManage = "orders.manage"
    /// Work a location's fulfilment orders: accept or reject, pick, pack, hand over pickups.
    case fulfillmentWork = "fulfillment.work"
    /// Channels' routing rules.
    case routingConfigure = "routing.configure"
    /// Carrier and 3PL accounts: service levels, tracking URLs, webhook secrets.
    case carriersManage = "carriers.manage"
    /// Record sales rung up at a store's till (a POS system or its integration).
    case posSell = "pos.sell"
    /// Reconcile what couriers and stores collected on delivery.
    case paymentsReconcile = "payments.reconcile"
    /// Members (one member in every channel): find, read profiles and balances. Brand-wide: a
    /// member is the same in every store.
    case membersRead = "members.read"
    /// Register members, edit profiles, link and unlink external identities.
    case membersManage = "members.manage"
    /// Pay money into a member's wallet (储值), at the till or after an online payment.
    case walletTopUp = "members.wallet.top_up"
    /// Give or take back points by hand, with a reason.
    case pointsAdjust = "members.points.adjust"
    /// The tier ladder and its benefits.
    case membersConfigure = "members.configure"
    /// A member's requests about their personal data: export it, erase it.
    case membersPrivacy = "members.privacy"
    /// Merge a duplicate member into another, and reverse a merge: moves points, money and orders
    /// between two records, so customer service and operations only.
    case membersMerge = "members.merge"
    /// Message templates and messages to a segment of members (SMS, WeChat, email), within their
    /// consent and the frequency cap: marketers.
    case membersMessage = "members.message"
    /// Promotions, their reports, coupon templates.
    case promotionsRead = "promotions.read"
    /// Create, activate, pause and end promotions.
    case promotionsManage = "promotions.manage"
}

extension Role {
    public var permissions: Set<Permission> {
        var p: Set<Permission> = [.sessionSelf, .organisationsRead, .locationsRead, .catalogRead, .inventoryRead]
        if self != .integration { p.insert(.consoleUse) }
        if [.ops, .storeManager, .franchisee, .clerk, .warehouse].contains(self) { p.insert(.fulfillmentWork) }
        // Who sells or answers customers sees the promotions they will be asked about.
        if [.ops, .merchandiser, .finance, .storeManager, .franchisee, .customerService, .clerk, .integration].contains(self) { p.insert(.promotionsRead) }
        switch self {
        case .hqAdmin:
            return Set(Permission.allCases)
        case .ops:
            p.formUnion([.locationsCreate, .locationsUpdate, .auditRead, .eventTypesRead, .inventoryReserve, .inventoryManage, .inventoryConfigure,
                          .ordersRead, .ordersPlace, .ordersManage, .routingConfigure, .carriersManage, .posSell,
                          .paymentsReconcile, .membersRead, .pointsAdjust, .membersMerge])
        case .merchandiser:
            p.formUnion([.catalogManage, .pricesManage, .auditRead, .eventTypesRead, .inventoryConfigure])
        case .finance:
            p.formUnion([.auditRead, .pricesManage, .ordersRead, .paymentsReconcile, .membersRead])
        case .storeManager:
            p.formUnion([.locationsUpdate, .auditRead, .inventoryReserve, .inventoryManage, .ordersRead, .ordersPlace, .ordersManage, .posSell,
                         .membersRead, .membersManage, .walletTopUp, .pointsAdjust])
        case .franchisee:
            p.formUnion([.locationsUpdate, .auditRead, .inventoryManage, .ordersRead, .ordersManage, .posSell, .membersRead, .membersManage])
        case .integration:
            p.formUnion([.eventTypesRead, .inventoryReserve, .ordersRead, .ordersPlace, .posSell, .membersRead, .membersManage, .walletTopUp])
        case .customerService:
            p.formUnion([.inventoryReserve, .ordersRead, .ordersPlace, .ordersManage, .membersRead, .membersManage, .pointsAdjust, .membersPrivacy,
                         .membersMerge])
        case .clerk:
            p.formUnion([.inventoryReserve, .ordersRead, .ordersPlace, .posSell, .membersRead, .membersManage, .walletTopUp])
        case .warehouse:
            p.formUnion([.inventoryManage, .ordersRead, .ordersManage])
        case .marketer:
            p.formUnion([.membersRead, .membersConfigure, .membersMessage, .promotionsRead, .promotionsManage])
        case .supplier:
            break
        }
        return p
    }
}

/// The data a principal may see: HQ sees all; a franchisee or supplier its own organisation's
/// records; store or warehouse staff their own location.
public struct Scope: Codable, Sendable, Equatable {
    public enum Level: String, Codable, Sendable { case all, organisation, location }
    public var level: Level
    public var organisationId: String?
    public var locationId: String?

    public static let all = Scope(level: .all)
    public static func organisation(_ id: String) -> Scope { Scope(level: .organisation, organisationId: id) }
    public static func location(_ id: String, organisation: String) -> Scope {
        Scope(level: .location, organisationId: organisation, locationId: id)
    }

    public init(level: Level, organisationId: String? = nil, locationId: String? = nil) {
        self.level = level
        self.organisationId = organisationId
        self.locationId = locationId
    }

    /// Whether a record owned by `organisationId` (and, if it belongs to one, `locationId`) is visible.
    public func allows(organisationId org: String?, locationId loc: String?) -> Bool {
        switch level {
        case .all: return true
        case .organisation: return org != nil && org == organisationId
        case .location: return loc != nil && loc == locationId
        }
    }
}

/// Who is calling: a staff user or an API key, with role and scope.
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable { case user, apiKey = "api_key", system }
    public var id: String
    public var kind: Kind
    public var name: String
    public var role: Role
    public var scope: Scope

    public init(id: String, kind: Kind, name: String, role: Role, scope: Scope) {
        self.id = id
        self.kind = kind
        self.name = name
        self.role = role
        self.scope = scope
    }

    public func can(_ permission: Permission) -> Bool { role.permissions.contains(permission) }

    /// The CLI and background jobs act as the system.
    public static let system = Principal(id: "system", kind: .system, name: "system", role: .hqAdmin, scope: .all)
}

/// The principal and request id a use case runs for; it stamps audit rows and scopes queries.
public struct Caller: Sendable {
    public var principal: Principal
    public var requestId: String?
    public init(_ principal: Principal, requestId: String? = nil) {
        self.principal = principal
        self.requestId = requestId
    }
    public static let system = Caller(.system)
}
