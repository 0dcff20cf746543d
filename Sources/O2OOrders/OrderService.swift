import Foundation
import O2OCatalog
import O2OCore
import O2OInventory
import O2OMembers
import O2ONetwork
import SQLKit

/// Errors of the orders module; each knows its problem+json form.
public enum OrdersError: ProblemConvertible, CustomStringConvertible {
    /// No location can take these lines under the channel's rule; the decision says why.
    case unroutable(lines: [Int], decision: RoutingDecision)

    public var problem: Problem {
        switch self {
        case .unroutable(let lines, let decision):
            let reasons = decision.candidates.prefix(5).map { c in "\(c.code): \(c.excluded ?? "can take line(s) \(c.lines)")" }
            var p = Problem(kind: "unroutable", title: "No location can fulfil the order", status: 409,
                            detail: "Line(s) \(lines) cannot be sourced under rule '\(decision.rule)' (\(decision.policy))"
                                + (reasons.isEmpty ? "; no candidate location." : ". Candidates: " + reasons.joined(separator: "; ")))
            p.errors = lines.map { .init("lines[\($0)].quantity", "no location can supply it now") }
            return p
        }
    }

    public var description: String { problem.description }
}

/// The pricing step every order and quote goes through: catalog prices, or (in the server) the
/// member's price and the promotions. Orders never depend on who prices them.
public protocol PricingStep: Sendable {
    /// The lines' prices with the automatic activities: what lines added to an order later are charged.
    func price(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, at: Date) async throws -> [PricedLine]
    /// What the catalog says each SKU costs here at `at`, listed on the channel or not: the
    /// reference beside a sale priced elsewhere (a till's own price).
    func listPrices(_ skus: [String], channelId: String, locationId: String?, at: Date) async throws -> [PricedLine]
    /// A new order's prices with everything they draw on: the coupons offered (nil: the member's
    /// own), flash-sale prices and gifts. Placing the order hands the result to `commit`.
    func priceOrder(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, couponCodes: [String]?,
                    groupBuy: GroupBuyRequest?, at: Date) async throws -> PricedOrder
    /// Takes up, inside the order's transaction and before the order is written, what `priced`
    /// drew on (redeems the coupons, claims the flash-sale units, joins the group buy's group,
    /// charges budgets). What is no longer there throws (a 409) and the order is not placed.
    func commit(_ priced: PricedOrder, order: Order, caller: Caller, _ tx: Transaction) async throws -> PricingCommit
    /// Gives back, inside the transaction that cancels the order, what `commit` took. Twice is a no-op.
    func reverse(_ order: Order, caller: Caller, _ tx: Transaction) async throws
    /// The points multiplier (percent, 100: none) a promotion applied to the order gives its
    /// earn when it completes, read in `sql` (the completing transaction).
    func pointsMultiplier(orderId: String, _ sql: any SQLDatabase) async throws -> Int
}

extension PricingStep {
    /// Without promotions: the lines' prices, no coupons, nothing to take up or give back.
    public func priceOrder(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, couponCodes: [String]?,
                           groupBuy: GroupBuyRequest?, at: Date) async throws -> PricedOrder {
        if let codes = couponCodes, !codes.isEmpty { throw Problem.validation([.init("couponCodes", "coupons are not priced here")]) }
        if groupBuy != nil { throw Problem.validation([.init("groupBuy", "group buys are not priced here")]) }
        return PricedOrder(lines: try await price(lines, channelId: channelId, locationId: locationId, memberId: memberId, at: at))
    }
    public func commit(_ priced: PricedOrder, order: Order, caller: Caller, _ tx: Transaction) async throws -> PricingCommit { PricingCommit() }
    public func reverse(_ order: Order, caller: Caller, _ tx: Transaction) async throws {}
    public func pointsMultiplier(orderId: String, _ sql: any SQLDatabase) async throws -> Int { 100 }
}

/// 团购: the order opens a group of the group buy (`groupId` nil) or joins that group, at the group price.
public struct GroupBuyRequest: Sendable, Equatable {
    public var groupBuyId: String
    public var groupId: String?
    public init(groupBuyId: String, groupId: String? = nil) {
        self.groupBuyId = groupBuyId
        self.groupId = groupId
    }
}

/// What taking up an order's prices did to orders: holds the new order starts with (its group
/// buy's group not full yet), and other orders whose hold it lifts (the group it filled).
public struct PricingCommit: Sendable {
    public var holds: [(kind: HoldKind, note: String)]
    public var lifts: [(orderId: String, kind: HoldKind, note: String)]
    public init(holds: [(kind: HoldKind, note: String)] = [], lifts: [(orderId: String, kind: HoldKind, note: String)] = []) {
        self.holds = holds
        self.lifts = lifts
    }
}

/// A new order as its pricing step priced it: one priced line per order line, the gifts it
/// earned (at price 0), what the customer is told, and the step's own record of what it drew on.
public struct PricedOrder: Sendable {
    public struct Gift: Sendable {
        public var line: PricedLine
        public var quantity: Int
        public init(line: PricedLine, quantity: Int) {
            self.line = line
            self.quantity = quantity
        }
    }
    public var lines: [PricedLine]
    public var gifts: [Gift]
    public var explanation: [String]
    /// Read back by the step that priced it (`commit`); opaque to orders.
    public var terms: (any Sendable)?

    public init(lines: [PricedLine], gifts: [Gift] = [], explanation: [String] = [], terms: (any Sendable)? = nil) {
        self.lines = lines
        self.gifts = gifts
        self.explanation = explanation
        self.terms = terms
    }
}

public struct PricedLine: Sendable, Equatable {
    public var skuId: String
    public var skuCode: String
    public var currency: String
    public var listPrice: Int64
    public var unitPrice: Int64
    /// Per unit.
    public var discount: Int64
    public var rule: String
    /// The whole line's discount when it does not divide into units (a threshold spread over the
    /// cart's lines); nil: `discount` × quantity.
    public var lineDiscount: Int64?

    public init(skuId: String, skuCode: String, currency: String, listPrice: Int64, unitPrice: Int64, discount: Int64, rule: String,
                lineDiscount: Int64? = nil) {
        self.skuId = skuId
        self.skuCode = skuCode
        self.currency = currency
        self.listPrice = listPrice
        self.unitPrice = unitPrice
        self.discount = discount
        self.rule = rule
        self.lineDiscount = lineDiscount
    }

    /// What the line of `quantity` units is discounted in all.
    public func discount(quantity: Int) -> Int64 { lineDiscount ?? discount * Int64(quantity) }
}

/// Prices from the catalog's price resolution (统一零售价 and price lists), no promotions.
public struct CatalogPricing: PricingStep {
    let prices: PriceService
    public init(prices: PriceService) { self.prices = prices }

    public func price(_ lines: [(sku: String, quantity: Int)], channelId: String, locationId: String?, memberId: String?, at: Date) async throws -> [PricedLine] {
        let resolved = try await resolve(lines.map(\.sku), PriceContext(channelId: channelId, locationId: locationId, at: at, memberId: memberId))
        var v = Validator()
        for (i, r) in resolved.enumerated() where !r.sellable {
            v.add("lines[\(i)].sku", "\(r.skuCode) is not sold on this channel here: \(r.notSellableReason ?? "not listed")")
        }
        try v.finish()
        return resolved.map(Self.line)
    }

    public func listPrices(_ skus: [String], channelId: String, locationId: String?, at: Date) async throws -> [PricedLine] {
        try await resolve(skus, PriceContext(channelId: channelId, locationId: locationId, at: at, memberId: nil)).map(Self.line)
    }

    private static func line(_ r: ResolvedPrice) -> PricedLine {
        PricedLine(skuId: r.skuId, skuCode: r.skuCode, currency: r.currency, listPrice: r.listPrice, unitPrice: r.price, discount: 0, rule: r.rule)
    }

    private func resolve(_ skus: [String], _ context: PriceContext) async throws -> [ResolvedPrice] {
        do {
            return try await prices.resolve(skus: skus, context)
        } catch var p as Problem where p.status == 422 {
            // The price service names its fields skus[i]; here they are lines[i].sku.
            p.errors = p.errors?.map { e in
                var e = e
                if e.field.hasPrefix("skus[") { e.field = "lines[" + e.field.dropFirst(5).prefix { $0 != "]" } + "].sku" }
                return e
            }
            throw p
        }
    }
}

/// One order flow for every channel: price, route, reserve and pay in one step, then one
/// lifecycle every channel follows.
public struct OrderService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    public let catalog: CatalogService
    let network: NetworkService
    let inventory: InventoryService
    /// Pays and refunds the wallet and points tenders.
    let members: MembersService
    let pricing: any PricingStep
    let payments: any PaymentProvider
    let notifiers: PaymentNotifiers
    let geocoder: (any Geocoder)?
    let locations: KeyedCache<Location>
    let recorder: ChangeRecorder
    let observers = OrderObservers()

    public init(db: Database, clock: any O2OClock, catalog: CatalogService, network: NetworkService, inventory: InventoryService,
                members: MembersService, pricing: any PricingStep, payments: any PaymentProvider = SandboxPayments(), notifiers: PaymentNotifiers = PaymentNotifiers(),
                geocoder: (any Geocoder)? = nil) {
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.network = network
        self.inventory = inventory
        self.members = members
        self.pricing = pricing
        self.payments = payments
        self.notifiers = notifiers
        self.geocoder = geocoder
        self.locations = KeyedCache(id: { $0.id }, code: { $0.code }) {
            var f = LocationFilter()
            f.limit = 1_000_000
            return try await network.locations(f, scope: .all).items
        }
        self.recorder = ChangeRecorder(clock: clock)
    }

    public static let maxLines = 200
    public static let maxCoupons = 10
    /// How long an unpaid order holds its stock when the channel's pool sets no lifetime.
    public static let defaultPaymentWindow = 1_800

    // MARK: Placing an order

    public struct NewOrder: Sendable {
        public var channel: String
        public var externalId: String?
        public var memberId: String?
        public var contactPhone: String?
        public var attributedLocation: String?
        public var attributedClerk: String?
        public var method: FulfilmentMethod
        public var address: DeliveryAddress?
        public var pickupLocation: String?
        public var invoice: InvoiceRequest?
        public var lines: [(sku: String, quantity: Int)]
        public var payments: [(tender: Tender, amount: Int64)]
        /// The total the client computed; when given it must match the server's.
        public var expectedTotal: Int64?
        /// A marketplace order arrives priced by the marketplace: each line's unit price and the
        /// discount per unit its promotions took, as charged, in minor units. Only for marketplace channels.
        public var charged: [(unitPrice: Int64, unitDiscount: Int64)]?
        /// The marketplace adapter that read the order (`Marketplaces.adapters`): its marketplace
        /// payment's provider, and whose status words its status changes are told in.
        public var marketplace: String?
        /// Coupons the member offers; nil: the member's own coupons usable now are considered.
        public var couponCodes: [String]?
        /// 团购: the group this order opens or joins; the order waits on a hold until the group fills.
        public var groupBuy: GroupBuyRequest?

        public init(channel: String, externalId: String? = nil, memberId: String? = nil, contactPhone: String? = nil,
                    attributedLocation: String? = nil, attributedClerk: String? = nil, method: FulfilmentMethod,
                    address: DeliveryAddress? = nil, pickupLocation: String? = nil, invoice: InvoiceRequest? = nil,
                    lines: [(sku: String, quantity: Int)], payments: [(tender: Tender, amount: Int64)] = [], expectedTotal: Int64? = nil,
                    couponCodes: [String]? = nil, groupBuy: GroupBuyRequest? = nil) {
            self.channel = channel
            self.externalId = externalId
            self.memberId = memberId
            self.contactPhone = contactPhone
            self.attributedLocation = attributedLocation
            self.attributedClerk = attributedClerk
            self.method = method
            self.address = address
            self.pickupLocation = pickupLocation
            self.invoice = invoice
            self.lines = lines
            self.payments = payments
            self.expectedTotal = expectedTotal
            self.couponCodes = couponCodes
            self.groupBuy = groupBuy
        }
    }

    /// What placing the order would do now — prices, totals and where each line would come
    /// from, with the routing explanation — without writing anything.
    public func quote(_ new: NewOrder, caller: Caller) async throws -> Order {
        let plan = try await prepare(new, caller: caller, quoting: true)
        var (order, outcome) = try await db.read { sql in try await self.draft(plan, sql: sql, at: clock.instant(), caller: caller) }
        // What placing it would do: allocated, on a routing hold, or refused.
        if outcome.unplaced.isEmpty {
            order.status = .allocated
        } else if plan.rule.fallback == .manual {
            order.holds = [.routing]
        } else {
            throw OrdersError.unroutable(lines: outcome.unplaced, decision: order.routing!)
        }
        return order
    }

    /// Prices the lines, routes them by the channel's rule, holds the stock where routing chose
    /// and records the order and its payments — in one transaction, so an order exists exactly
    /// when its stock is held. Captures sandbox and cash tenders right after.
    public func place(_ new: NewOrder, caller: Caller) async throws -> Order {
        let plan = try await prepare(new, caller: caller, quoting: false)
        let now = clock.instant()
        do {
            let (placed, lifts) = try await routingWrite { tx in try await self.record(plan, tx, at: now, caller: caller) }
            // The group this order filled: its other orders wait no longer (the group buy's worker
            // lifts any hold left here by a crash).
            for l in lifts { _ = try? await changeHold(l.orderId, l.kind, on: false, note: l.note, caller: .system) }
            return try await capture(placed, caller: caller)
        } catch where Database.classify(error) == .uniqueViolation && new.externalId != nil {
            // The same channel order placed twice at once: the unique index let one through.
            throw Problem.duplicate([.init("externalId", "channel \(plan.channel.code) already has order \(new.externalId!)")])
        }
    }

    /// A transaction that routes on the stock it reads and then holds it. Another order may take
    /// that stock in between (PostgreSQL runs them side by side): then it routes again on what is
    /// left, up to five times.
    func routingWrite<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do { return try await db.write(body) } catch InventoryError.insufficientStock where attempt < 5 { continue }
        }
    }

    /// Everything checked and looked up before the transaction.
    struct Plan: Sendable {
        var new: NewOrder
        var channel: SalesChannel
        var priced: [PricedLine]
        /// What the pricing step drew on, handed back to it when the order is recorded; nil for
        /// an order a marketplace priced.
        var pricedOrder: PricedOrder?
        var pickup: Location?
        var attributed: Location?
        var rule: RoutingRule
        var sites: [Location]
        var paymentWindow: Int
    }

    private func prepare(_ new: NewOrder, caller: Caller, quoting: Bool) async throws -> Plan {
        var v = Validator()
        v.text(new.channel, "channelId", max: 100)
        v.text(new.externalId, "externalId", required: false, max: 100)
        v.text(new.memberId, "memberId", required: false, max: 100)
        v.text(new.contactPhone, "contactPhone", required: false, max: 40)
        v.text(new.attributedClerk, "attribution.clerkId", required: false, max: 100)
        if new.lines.isEmpty { v.add("lines", "must have at least one line") }
        if new.lines.count > Self.maxLines { v.add("lines", "must have at most \(Self.maxLines) lines") }
        for (i, l) in new.lines.enumerated() {
            v.text(l.sku, "lines[\(i)].sku", max: 100)
            v.check((1...InventoryService.maxQuantity).contains(l.quantity), "lines[\(i)].quantity", "must be a whole number from 1 to \(InventoryService.maxQuantity)")
        }
        switch new.method {
        case .delivery, .shipFromWarehouse:
            if let a = new.address {
                Self.validate(a, &v)
            } else {
                v.add("address", "is required for \(new.method.rawValue)")
            }
            if new.pickupLocation != nil { v.add("pickupLocationId", "is only for pickup orders") }
            if new.method == .shipFromWarehouse && new.attributedLocation == nil {
                v.add("attribution.locationId", "names the store where the customer bought it")
            }
        case .pickup:
            if new.pickupLocation == nil { v.add("pickupLocationId", "is required for pickup") }
        case .inStore:
            v.add("method", "in_store sales already happened at a till: send them to POST /api/v1/pos/sales")
        }
        if let i = new.invoice {
            v.text(i.title, "invoice.title", max: 200)
            v.text(i.taxId, "invoice.taxId", required: false, max: 30)
        }
        for (i, p) in new.payments.enumerated() {
            v.check(p.amount > 0, "payments[\(i)].amount", "must be a positive amount in minor units")
            if p.tender == .cod && new.method == .pickup { v.add("payments[\(i)].tender", "cash on delivery needs a delivery") }
            if p.tender.takenAtTill && new.attributedLocation == nil {
                v.add("payments[\(i)].tender", "\(p.tender.rawValue) is taken at a store's till: name the store in attribution")
            }
        }
        try v.finish()

        let channel: SalesChannel
        do { channel = try await catalog.channel(new.channel) } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("channelId", "no channel '\(new.channel)'")])
        }
        var lv = Validator()
        for (i, p) in new.payments.enumerated() where p.tender == .marketplace && channel.kind != .marketplace {
            lv.add("payments[\(i)].tender", "marketplace payments are collected by a marketplace; \(channel.code) is not one")
        }
        let pickup = try await new.pickupLocation.asyncMap { try await locations.find($0) } ?? nil
        if let ref = new.pickupLocation {
            if let s = pickup {
                if s.kind != .store || !s.capabilities.pickup || s.status != .active { lv.add("pickupLocationId", "\(s.code) does not offer pickup") }
            } else { lv.add("pickupLocationId", "no location '\(ref)'") }
        }
        let attributed = try await new.attributedLocation.asyncMap { try await locations.find($0) } ?? nil
        if let ref = new.attributedLocation, attributed == nil { lv.add("attribution.locationId", "no location '\(ref)'") }
        if new.couponCodes != nil, new.charged != nil { lv.add("couponCodes", "a marketplace's order arrives priced: its coupons were the marketplace's") }
        if let g = new.groupBuy {
            lv.text(g.groupBuyId, "groupBuy.groupBuyId", max: 100)
            lv.text(g.groupId, "groupBuy.groupId", required: false, max: 100)
            if new.memberId == nil { lv.add("groupBuy", "a group buy is a member's: name the member (memberId)") }
            if new.charged != nil { lv.add("groupBuy", "a marketplace's order arrives priced") }
        }
        if let codes = new.couponCodes {
            if codes.count > Self.maxCoupons { lv.add("couponCodes", "must have at most \(Self.maxCoupons) codes") }
            if !codes.isEmpty && new.memberId == nil { lv.add("couponCodes", "coupons are a member's: name the member (memberId)") }
        }
        try lv.finish()
        let priced: [PricedLine]
        var pricedOrder: PricedOrder?
        if let charged = new.charged {
            var cv = Validator()
            cv.check(channel.kind == .marketplace, "charged", "only a marketplace's orders arrive priced; \(channel.code) is priced here")
            cv.check(charged.count == new.lines.count, "charged", "must have one price per line")
            for (i, c) in charged.enumerated() {
                cv.check(c.unitPrice >= 0 && (0...c.unitPrice).contains(c.unitDiscount), "charged[\(i)]", "must be a price and a discount within it")
            }
            try cv.finish()
            priced = try await pricing.listPrices(new.lines.map(\.sku), channelId: channel.id, locationId: nil, at: clock.instant())
                .enumerated().map { i, p in
                    var p = p
                    p.listPrice = p.unitPrice
                    p.unitPrice = charged[i].unitPrice
                    p.discount = charged[i].unitDiscount
                    p.rule = "marketplace"
                    return p
                }
        } else {
            let order = try await pricing.priceOrder(new.lines, channelId: channel.id, locationId: pickup?.id ?? attributed?.id, memberId: new.memberId,
                                                     couponCodes: new.couponCodes, groupBuy: new.groupBuy, at: clock.instant())
            priced = order.lines
            pricedOrder = order
        }
        let total = priced.enumerated().reduce(Int64(0)) { sum, p in
            let quantity = new.lines[p.offset].quantity
            return sum + p.element.unitPrice * Int64(quantity) - p.element.discount(quantity: quantity)
        }
        if let expected = new.expectedTotal, expected != total {
            var p = Problem.conflict("The order totals \(total) (minor units), not \(expected): prices changed since the client priced it.",
                                     kind: "total-mismatch")
            p.errors = [.init("expectedTotal", "the server's total is \(total)")]
            throw p
        }
        if !quoting, !new.payments.isEmpty {
            let paid = new.payments.reduce(Int64(0)) { $0 + $1.amount }
            if paid != total { throw Problem.validation([.init("payments", "add up to \(paid); the order totals \(total)")]) }
        }
        try await checkMemberTenders(new, total: total, currency: priced.first?.currency ?? channel.currency)
        let rule = try await routingRule(channelId: channel.id)
        let window = (try? await inventory.pool(channel: channel.id).reservationTTL) ?? nil
        return Plan(new: new, channel: channel, priced: priced, pricedOrder: pricedOrder, pickup: pickup, attributed: attributed, rule: rule,
                    sites: try await candidateSites(new, pickup: pickup, rule: rule), paymentWindow: window ?? Self.defaultPaymentWindow)
    }

    /// Wallet and points tenders need the order's member, in the wallet's currency; points pay at
    /// most the points policy's share of the total. 422 naming `payments[i]` or `memberId`.
    func checkMemberTenders(_ new: NewOrder, total: Int64, currency: String) async throws {
        let tenders = new.payments.enumerated().filter { $0.element.tender.fromMember }
        guard !tenders.isEmpty else { return }
        var v = Validator()
        if let id = new.memberId {
            do { _ = try await members.member(id) } catch let p as Problem where p.status == 404 { v.add("memberId", "no member '\(id)'") }
        }
        for (i, p) in tenders {
            if new.memberId == nil { v.add("payments[\(i)].tender", "\(p.tender.rawValue) is the member's own: name the member (memberId)") }
            if p.tender == .wallet, currency != members.wallet.currency {
                v.add("payments[\(i)].tender", "the wallet holds \(members.wallet.currency); the order is in \(currency)")
            }
        }
        let byPoints = tenders.filter { $0.element.tender == .points }.reduce(Int64(0)) { $0 + $1.element.amount }
        let cap = total * Int64(members.points.maxOrderShare) / 100
        if byPoints > cap { v.add("payments", "points may pay at most \(members.points.maxOrderShare)% of the order (\(cap)); \(byPoints) asked") }
        try v.finish()
    }

    static func validate(_ a: DeliveryAddress, _ v: inout Validator) {
        v.text(a.name, "address.name", max: 100)
        v.text(a.phone, "address.phone", max: 40)
        v.text(a.line1, "address.line1", max: 300)
        v.range(a.lat, "address.lat", -90...90)
        v.range(a.lng, "address.lng", -180...180)
    }

    /// The locations worth asking for stock: the pickup store; or, of the locations some step of
    /// the rule admits, the warehouses, the stores that cover the address, and for each step the
    /// nearest `storeCarriers` stores it admits that ship from store (a parcel from a store
    /// across the country never beats a warehouse, and asking thousands of stores costs every
    /// order a read of their stock).
    func candidateSites(_ new: NewOrder, pickup: Location?, rule: RoutingRule) async throws -> [Location] {
        if let pickup { return [pickup] }
        guard let a = new.address else { return [] }
        let steps = rule.steps
        var sites: [Location] = []
        var carriers: [(location: Location, km: Double, steps: [Int])] = []
        for l in try await locations.all() where l.status == .active {
            let admitting = steps.indices.filter { steps[$0].admits(isStore: l.kind == .store, id: l.id, code: l.code, organisationId: l.organisationId,
                                                                   regions: l.address.regionCodes) }
            guard !admitting.isEmpty else { continue }
            if l.kind.isWarehouse {
                sites.append(l)
                continue
            }
            guard new.method == .delivery else { continue }
            let km = greatCircleKm(lat1: l.coordinates.lat, lng1: l.coordinates.lng, lat2: a.lat, lng2: a.lng)
            if l.capabilities.storeDelivery, let r = l.capabilities.deliveryRadiusKm, km <= r { sites.append(l) }
            else if l.capabilities.shipFromStore { carriers.append((l, km, admitting)) }
        }
        carriers.sort { ($0.km, $0.location.id) < ($1.km, $1.location.id) }
        var nearest: [String: Location] = [:]
        for s in steps.indices {
            for c in carriers.lazy.filter({ $0.steps.contains(s) }).prefix(Self.storeCarriers) { nearest[c.location.id] = c.location }
        }
        return sites + carriers.map(\.location).filter { nearest[$0.id] != nil }
    }

    /// How many of the nearest ship-from-store stores routing weighs as carriers.
    public static let storeCarriers = 50

    /// What routing is asked for the plan's method.
    func routingRequest(_ plan: Plan) -> Router.Request {
        let new = plan.new
        switch new.method {
        case .pickup: return .pickup(store: plan.pickup!.id)
        case .delivery: return .delivery(lat: new.address!.lat, lng: new.address!.lng)
        case .shipFromWarehouse: return .shipFromWarehouse(lat: new.address!.lat, lng: new.address!.lng)
        case .inStore: preconditionFailure("in-store sales are not routed; prepare refuses them")
        }
    }

    /// Routing's view of the plan's candidate sites, read inside `sql`: what each may give the
    /// channel of the plan's SKUs, and how much of its daily capacity is used today.
    func routingSites(_ plan: Plan, sql: any SQLDatabase, at now: Date) async throws -> [Site] {
        let skus = Array(Set((plan.priced + (plan.pricedOrder?.gifts ?? []).map(\.line)).map(\.skuId)))
        let ids = plan.sites.map(\.id)
        let stock = try await inventory.sourcing(channel: plan.channel.id, skus: skus, locations: ids, sql)
        let day = Self.day(now)
        var used: [String: Int] = [:]
        for chunk in ids.chunked(500) {
            let rows = try await sql.raw("""
                SELECT location_id, orders FROM order_location_load WHERE day = \(bind: day) AND location_id IN \(SQLQueryString.list(Array(chunk)))
                """).all()
            for r in rows { used[try r.decode(column: "location_id", as: String.self)] = try r.decode(column: "orders", as: Int.self) }
        }
        return plan.sites.compactMap { l -> Site? in
            guard let s = stock[l.id] else { return nil }
            return Site(id: l.id, code: l.code, isStore: l.kind == .store, lat: l.coordinates.lat, lng: l.coordinates.lng,
                        storeDelivery: l.capabilities.storeDelivery, deliveryRadiusKm: l.capabilities.deliveryRadiusKm ?? 0,
                        shipFromStore: l.capabilities.shipFromStore, pickup: l.capabilities.pickup, priority: l.priority,
                        organisationId: l.organisationId, regions: l.address.regionCodes,
                        dailyCapacity: l.dailyCapacity, usedToday: used[l.id] ?? 0, stock: s.available, poolShipping: s.shipping, poolPickup: s.pickup)
        }
    }

    /// The order as it would be now, read inside `sql`'s view: routed, not yet recorded.
    private func draft(_ plan: Plan, sql: any SQLDatabase, at now: Date, caller: Caller) async throws
        -> (order: Order, outcome: Router.Outcome) {
        let new = plan.new
        let sites = try await routingSites(plan, sql: sql, at: now)
        let request = routingRequest(plan)
        // The customer's lines, then the gifts they earned (at price 0), routed and held alike. A
        // gift no location can give with the order is left out and the rest routed again: the
        // order places without it, and says so.
        var gifts = plan.pricedOrder?.gifts ?? []
        var missing: [PricedOrder.Gift] = []
        var orderLines: [OrderLine]
        var outcome: Router.Outcome
        while true {
            let all = zip(plan.priced, new.lines.map(\.quantity)).map { (line: $0, quantity: $1) } + gifts.map { (line: $0.line, quantity: $0.quantity) }
            let lines = all.enumerated().map { RoutingLine(line: $0.offset, sku: $0.element.line.skuId, quantity: $0.element.quantity) }
            orderLines = all.enumerated().map { i, l in
                let p = l.line
                return OrderLine(line: i, skuId: p.skuId, skuCode: p.skuCode, quantity: l.quantity, unitPrice: p.unitPrice, listPrice: p.listPrice,
                                 priceRule: p.rule, discount: p.discount(quantity: l.quantity),
                                 total: p.unitPrice * Int64(l.quantity) - p.discount(quantity: l.quantity),
                                 method: new.method, locationId: nil, mode: nil, cancelled: 0)
            }
            let value = orderLines.reduce(Int64(0)) { $0 + $1.unitPrice * Int64($1.quantity) - $1.discount }
            outcome = Router(rule: plan.rule).route(lines, request, value: value, sites: sites)
            let unplacedGifts = Set(outcome.unplaced.filter { $0 >= new.lines.count }.map { $0 - new.lines.count })
            guard !unplacedGifts.isEmpty else { break }
            missing += gifts.enumerated().filter { unplacedGifts.contains($0.offset) }.map(\.element)
            gifts = gifts.enumerated().filter { !unplacedGifts.contains($0.offset) }.map(\.element)
        }
        for i in orderLines.indices {
            if let a = outcome.assignments[i] { orderLines[i].locationId = a.site; orderLines[i].mode = a.mode }
        }
        let subtotal = orderLines.reduce(Int64(0)) { $0 + $1.unitPrice * Int64($1.quantity) }
        let discount = orderLines.reduce(Int64(0)) { $0 + $1.discount }
        let notes = (plan.pricedOrder?.explanation ?? [])
            + missing.map { "gift \($0.line.skuCode) × \($0.quantity) is out of stock: the order goes without it" }
        var order = Order(
            id: O2OID.make("ord", at: now), channelId: plan.channel.id, externalId: new.externalId, status: .placed,
            paymentStatus: new.payments.contains { $0.tender == .cod } ? .codDue : .pending, holds: [], memberId: new.memberId,
            contactPhone: new.contactPhone ?? new.address?.phone, attributedLocationId: plan.attributed?.id, attributedClerkId: new.attributedClerk,
            address: new.address, pickupLocationId: plan.pickup?.id, pickupCode: nil, invoice: new.invoice,
            currency: plan.priced.first?.currency ?? plan.channel.currency, subtotal: subtotal, discountTotal: discount, shippingTotal: 0,
            total: subtotal - discount, paidTotal: 0, reservationId: nil, lines: orderLines, payments: [],
            routing: RoutingDecision(rule: plan.rule.name, outcome, at: now),
            timeline: [], version: 1, createdAt: now, updatedAt: now)
        if !notes.isEmpty {
            order.timeline.append(TimelineEntry(at: now, kind: "promotions", status: .placed, actorId: caller.principal.id, note: notes.joined(separator: "; ")))
        }
        return (order, outcome)
    }

    /// Routes, holds and records the order inside `tx`.
    private func record(_ plan: Plan, _ tx: Transaction, at now: Date, caller: Caller) async throws
        -> (Order, [(orderId: String, kind: HoldKind, note: String)]) {
        var (order, outcome) = try await draft(plan, sql: tx.sql, at: now, caller: caller)
        if plan.new.externalId != nil, try await tx.sql.raw("""
            SELECT id FROM orders WHERE channel_id = \(bind: order.channelId) AND external_id = \(bind: plan.new.externalId)
            """).first() != nil {
            throw Problem.duplicate([.init("externalId", "channel \(plan.channel.code) already has order \(plan.new.externalId!)")])
        }
        order.timeline.insert(TimelineEntry(at: now, kind: "placed", status: .placed, actorId: caller.principal.id,
                                            note: "\(order.lines.count) line(s), total \(order.total) \(order.currency)"), at: 0)
        if !outcome.unplaced.isEmpty {
            guard plan.rule.fallback == .manual else { throw OrdersError.unroutable(lines: outcome.unplaced, decision: order.routing!) }
            order.holds = [.routing]
            order.timeline.append(TimelineEntry(at: now, kind: "held", status: .placed, actorId: caller.principal.id,
                                                note: "routing: no location can take line(s) \(outcome.unplaced); queued for manual routing"))
        } else {
            let reservation = try await inventory.reserve(.init(
                channel: order.channelId, referenceType: "order", referenceId: order.id, expires: false,
                lines: order.lines.map { .init(sku: $0.skuId, location: $0.locationId!, quantity: $0.quantity) }), caller: caller, in: tx)
            order.reservationId = reservation.id
            order.status = .allocated
            let sites = Set(outcome.assignments.values.map(\.site))
            order.timeline.append(TimelineEntry(at: now, kind: "allocated", status: .allocated, actorId: caller.principal.id,
                                                note: "routed by rule '\(plan.rule.name)'" + (outcome.step.map { ", step '\($0)'," } ?? "")
                                                    + " to \(sites.count) location(s)"))
            try await Self.addLoad(Array(sites), day: Self.day(now), tx)
        }
        if plan.new.method == .pickup { order.pickupCode = Self.pickupCode() }
        order.payments = plan.new.payments.map { p in
            let provider = switch p.tender {
            case .sandbox: payments.name
            case .marketplace: plan.new.marketplace ?? p.tender.rawValue
            default: p.tender.rawValue
            }
            return Payment(id: O2OID.make("pay", at: now), tender: p.tender, provider: provider,
                    status: .pending, amount: p.amount, captured: 0, refunded: 0, providerReference: nil, createdAt: now, updatedAt: now)
        }
        let fromMember = try await payFromMember(&order, caller: caller, at: now, tx)
        var lifts: [(orderId: String, kind: HoldKind, note: String)] = []
        if let priced = plan.pricedOrder {
            let taken = try await pricing.commit(priced, order: order, caller: caller, tx)
            for h in taken.holds where !order.holds.contains(h.kind) {
                order.holds.append(h.kind)
                order.timeline.append(TimelineEntry(at: now, kind: "held", status: order.status, actorId: caller.principal.id, note: "\(h.kind.rawValue): \(h.note)"))
            }
            lifts = taken.lifts
        }
        try await OrderRows.insert(order, payWindow: plan.paymentWindow, tx)
        for p in fromMember { try await OrderRows.ledger(payment: p.id, kind: "capture", amount: p.amount, at: now, caller: caller, tx) }
        try await recorder.record(tx, caller: caller, action: "place", entityType: "order", entityId: order.id, before: Order?.none, after: order,
                                  organisationId: nil, locationId: order.lines.first?.locationId, event: "order.placed")
        if !fromMember.isEmpty, order.paymentStatus == .paid {
            // Paid in full by the member's own tenders: nothing is left for the capture step to announce.
            try await Outbox.enqueue(tx, DomainEvent(type: "order.paid", entityType: "order", entityId: order.id, payload: JSONCoding.string(order),
                                                     organisationId: nil, locationId: order.lines.first?.locationId), at: now)
        }
        return (order, lifts)
    }

    /// Pays the order's wallet and points tenders from the member's ledgers inside the order's
    /// transaction, so the order and the debit commit together (a short balance is a 409 and the
    /// order is not placed); returns the payments it captured.
    func payFromMember(_ order: inout Order, caller: Caller, at now: Date, _ tx: Transaction) async throws -> [Payment] {
        guard let memberId = order.memberId else { return [] }
        var captured: [Payment] = []
        for i in order.payments.indices where order.payments[i].tender.fromMember {
            let p = order.payments[i]
            let reference = LedgerReference(type: "order_payment", id: p.id)
            let posted: String
            if p.tender == .wallet {
                posted = try await members.payFromWallet(memberId, amount: Money(minorUnits: p.amount, currency: order.currency), reference: reference,
                                                         caller: caller, in: tx).entry.id
            } else {
                posted = try await members.redeemPoints(memberId, points: p.amount * members.points.pointsPerMinorUnit, reference: reference,
                                                        caller: caller, in: tx).entry.id
            }
            order.payments[i].status = .captured
            order.payments[i].captured = p.amount
            order.payments[i].providerReference = posted
            captured.append(order.payments[i])
        }
        order.paidTotal = order.payments.reduce(0) { $0 + $1.captured }
        if !captured.isEmpty, order.paidTotal >= order.total { order.paymentStatus = .paid }
        return captured
    }

    /// Captures what can be captured at once (sandbox, cash) and marks the order paid when the
    /// captured total reaches it.
    func capture(_ order: Order, caller: Caller) async throws -> Order {
        let due = order.payments.filter { $0.status == .pending && ($0.tender == .sandbox || $0.tender.capturedOnPlacing) }
        guard !due.isEmpty else { return order }
        var results: [String: (reference: String, ok: Bool)] = [:]
        for p in due where p.tender == .sandbox {
            let r = try await payments.capture(amount: p.amount, currency: order.currency, reference: p.id)
            results[p.id] = (r.reference, r.captured)
        }
        let now = clock.instant()
        let outcome = results
        return try await db.write { tx in
            guard var o = try await OrderRows.order(order.id, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("order", order.id) }
            let before = o
            for i in o.payments.indices where due.contains(where: { $0.id == o.payments[i].id }) {
                let r = outcome[o.payments[i].id]
                o.payments[i].status = (r?.ok ?? true) ? .captured : .failed
                o.payments[i].captured = (r?.ok ?? true) ? o.payments[i].amount : 0
                o.payments[i].providerReference = r?.reference
                o.payments[i].updatedAt = now
                try await OrderRows.update(payment: o.payments[i], tx)
                if o.payments[i].status == .captured {
                    try await OrderRows.ledger(payment: o.payments[i].id, kind: "capture", amount: o.payments[i].amount, at: now, caller: caller, tx)
                }
            }
            o.paidTotal = o.payments.reduce(0) { $0 + $1.captured }
            if o.paidTotal >= o.total { o.paymentStatus = .paid }
            o.timeline.append(TimelineEntry(at: now, kind: "payment", status: o.status, actorId: caller.principal.id,
                                            note: o.paymentStatus == .paid ? "paid \(o.paidTotal) \(o.currency)" : "captured \(o.paidTotal) of \(o.total)"))
            try await save(&o, before: before, action: "capture", event: o.paymentStatus == .paid ? "order.paid" : "order.payment_failed", caller: caller, tx)
            return o
        }
    }

    // MARK: Reading

    public func order(_ id: String, scope: Scope) async throws -> Order {
        guard let o = try await db.read({ try await OrderRows.order(id, $0, lock: false) }), try await visible(o, scope) else {
            throw Problem.notFound("order", id)
        }
        return o
    }

    public struct OrderFilter: Sendable {
        public var channelId: String?
        public var status: OrderStatus?
        public var locationId: String?
        public var held: Bool?
        /// One member's orders, from every channel.
        public var memberId: String?
        /// Placed at or after `from` and before `until`.
        public var from: Date?
        public var until: Date?
        public var limit = 50
        public var cursor: String?
        public init() {}
    }

    /// What a member has bought before, for promotions that ask (新会员, purchase history): how
    /// many orders they placed that were not cancelled, and the SKUs in them (at most 500).
    public static func memberHistory(_ memberId: String, _ db: Database) async throws -> (orders: Int, skuIds: [String]) {
        try await db.read { sql in
            let orders = try await sql.raw("""
                SELECT COUNT(*) AS n FROM orders WHERE member_id = \(bind: memberId) AND status <> 'cancelled'
                """).first()!.decode(column: "n", as: Int.self)
            let skus = try await sql.raw("""
                SELECT DISTINCT l.sku_id FROM order_lines l JOIN orders o ON o.id = l.order_id
                WHERE o.member_id = \(bind: memberId) AND o.status <> 'cancelled' AND l.cancelled < l.quantity ORDER BY l.sku_id LIMIT 500
                """).all().map { try $0.decode(column: "sku_id", as: String.self) }
            return (orders, skus)
        }
    }

    /// Newest first.
    public func orders(_ f: OrderFilter, scope: Scope) async throws -> Page<Order> {
        var q: SQLQueryString = "SELECT id FROM orders WHERE 1=1"
        if let c = f.channelId { q += " AND channel_id = \(bind: try await catalog.channel(c).id)" }
        if let s = f.status { q += " AND status = \(bind: s.rawValue)" }
        if let h = f.held { q += h ? " AND holds <> '[]'" : " AND holds = '[]'" }
        if let m = f.memberId { q += " AND member_id = \(bind: m)" }
        if let from = f.from { q += " AND created_at >= \(bind: from.epochMillis)" }
        if let until = f.until { q += " AND created_at < \(bind: until.epochMillis)" }
        var locationIds: [String]?
        if let l = f.locationId {
            guard let loc = try await locations.find(l) else { throw Problem.validation([.init("locationId", "no location '\(l)'")]) }
            locationIds = [loc.id]
        }
        if scope.level != .all {
            let mine = try await locations.all().filter { scope.allows(organisationId: $0.organisationId, locationId: $0.id) }.map(\.id)
            locationIds = locationIds.map { $0.filter(mine.contains) } ?? mine
        }
        if let ids = locationIds {
            q += " AND (id IN (SELECT order_id FROM order_lines WHERE location_id IN \(SQLQueryString.list(ids)))"
            q += " OR attributed_location_id IN \(SQLQueryString.list(ids)) OR pickup_location_id IN \(SQLQueryString.list(ids)))"
        }
        let page = try await db.page(q, limit: f.limit, cursor: f.cursor, order: .newestFirst, map: { try $0.decode(column: "id", as: String.self) }, id: { $0 })
        let orders = try await db.read { sql in try await page.items.asyncCompactMap { try await OrderRows.order($0, sql, lock: false) } }
        return Page(items: orders, nextCursor: page.nextCursor)
    }

    /// Visible to a scope when any of its lines, its pickup store or its attributed store is.
    func visible(_ o: Order, _ scope: Scope) async throws -> Bool {
        guard scope.level != .all else { return true }
        let byId = try await locations.byId()
        let ids = Set(o.lines.compactMap(\.locationId) + [o.pickupLocationId, o.attributedLocationId].compactMap { $0 })
        return ids.contains { id in byId[id].map { scope.allows(organisationId: $0.organisationId, locationId: $0.id) } ?? false }
    }

    // MARK: Helpers

    /// Writes a changed order (its row, lines, new timeline entries), its audit row and event.
    func save(_ o: inout Order, before: Order, action: String, event: String, caller: Caller, _ tx: Transaction) async throws {
        o.version = before.version + 1
        o.updatedAt = clock.instant()
        try await OrderRows.update(o, before: before, tx)
        try await OrderRows.appendTimeline(o.id, Array(o.timeline.dropFirst(before.timeline.count)), from: before.timeline.count, tx)
        try await recorder.record(tx, caller: caller, action: action, entityType: "order", entityId: o.id, before: before, after: o,
                                  organisationId: nil, locationId: o.lines.first?.locationId, event: event)
        if o.status == .cancelled, before.status != .cancelled {
            // Whichever way it was cancelled: the coupons, flash-sale units and budgets it took go back.
            try await pricing.reverse(o, caller: caller, tx)
        }
        try await observers.changed(before: before, after: o, caller: caller, tx)
        try await Self.tellMarketplace(before: before, after: o, tx, at: o.updatedAt)
    }

    /// When an order a marketplace sold moves to another state of the marketplace's, an
    /// `order.marketplace_status` event says so in the marketplace's words (Tmall
    /// WAIT_BUYER_CONFIRM_GOODS once shipped, say), in the same transaction.
    static func tellMarketplace(before: Order, after o: Order, _ tx: Transaction, at now: Date) async throws {
        guard let name = o.payments.first(where: { $0.tender == .marketplace })?.provider, let adapter = Marketplaces.adapters[name] else { return }
        let was = MarketplaceOrderState(before), state = MarketplaceOrderState(o)
        guard was != state else { return }
        let change = MarketplaceStatusChange(orderId: o.id, channelId: o.channelId, marketplace: name, externalId: o.externalId, status: o.status,
                                             state: state, externalStatus: adapter.externalStatus(for: state),
                                             previousExternalStatus: adapter.externalStatus(for: was))
        try await Outbox.enqueue(tx, DomainEvent(type: "order.marketplace_status", entityType: "order", entityId: o.id, payload: JSONCoding.string(change),
                                                 organisationId: nil, locationId: o.lines.first?.locationId), at: now)
    }

    static func addLoad(_ sites: [String], day: String, _ tx: Transaction) async throws {
        for s in sites.sorted() {
            try await tx.sql.raw("""
                INSERT INTO order_location_load (location_id, day, orders) VALUES (\(bind: s), \(bind: day), 1)
                ON CONFLICT (location_id, day) DO UPDATE SET orders = order_location_load.orders + 1
                """).run()
        }
    }

    /// The calendar day (UTC) a location's daily capacity counts against.
    static func day(_ d: Date) -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: d)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    /// Six digits for the counter (核销码); rate limiting wrong guesses keeps six enough.
    static func pickupCode() -> String {
        var rng = SystemRandomNumberGenerator()
        return String(format: "%06d", Int.random(in: 0..<1_000_000, using: &rng))
    }
}

extension Array {
    func asyncCompactMap<T>(_ transform: (Element) async throws -> T?) async rethrows -> [T] {
        var out: [T] = []
        for e in self { if let t = try await transform(e) { out.append(t) } }
        return out
    }
}
