import Foundation
import O2OCore

/// Where an order stands in its one lifecycle, whatever channel it came from.
///
/// placed (已下单) → allocated (routed: stock held where it will be fulfilled) → released (sent to
/// the location) → picking → shipped (已出库) or ready_for_pickup → delivered (已到货) or picked_up →
/// completed → settled (已结算); cancelled from any state before shipment. Payment is tracked beside
/// it (`PaymentStatus`): an order is released only when it is paid or cash on delivery.
public enum OrderStatus: String, Codable, Sendable, CaseIterable {
    case placed, allocated, released, picking, shipped
    case readyForPickup = "ready_for_pickup"
    case delivered
    case pickedUp = "picked_up"
    case completed, settled, cancelled

    /// Where each status may go next (cancellation is guarded further: after release only the
    /// location may cancel).
    public var next: [OrderStatus] {
        switch self {
        case .placed: [.allocated, .cancelled]
        case .allocated: [.released, .cancelled]
        case .released: [.picking, .cancelled]
        case .picking: [.shipped, .readyForPickup, .cancelled]
        case .shipped: [.delivered]
        case .readyForPickup: [.pickedUp, .cancelled]
        case .delivered, .pickedUp: [.completed]
        case .completed: [.settled]
        case .settled, .cancelled: []
        }
    }

    /// Stock has left the shelf for the customer: the reservation has become a sale.
    var sold: Bool { [.shipped, .delivered, .pickedUp, .completed, .settled].contains(self) }
}

public enum PaymentStatus: String, Codable, Sendable, CaseIterable {
    /// Nothing captured yet: an unpaid online order.
    case pending
    /// Cash on delivery (货到付款): collected by the courier or the store, reconciled later.
    case codDue = "cod_due"
    case paid
    case partiallyRefunded = "partially_refunded"
    case refunded
}

/// Why an order may not move on until someone looks (a hold stops release).
public enum HoldKind: String, Codable, Sendable, CaseIterable {
    case payment, fraud, address, manual
    /// No location could take the order under the channel's rules: it waits for a person to route it.
    case routing
    /// 团购: the order waits for its group buy's group to fill. Lifted when the group forms; when
    /// it dissolves the order is cancelled and refunded. Only the group buy sets or lifts it.
    case groupBuy = "group_buy"
}

/// How the customer gets a group of lines.
public enum FulfilmentMethod: String, Codable, Sendable, CaseIterable {
    /// To the address: by the covering store's own delivery (门店配送) when a store covers it and has
    /// the goods, else by carrier from a warehouse (第三方物流) — routing decides and says which.
    case delivery
    /// 到店自提 at a named store, with a pickup code.
    case pickup
    /// Bought in a store that lacks it; a warehouse ships it (门店缺货, 总部发货).
    case shipFromWarehouse = "ship_from_warehouse"
    /// Bought at a store's till and taken home there and then; comes in through the POS sales intake.
    case inStore = "in_store"
}

/// How routing sourced a line: who sends it, and how.
public enum SourcingMode: String, Codable, Sendable {
    case storeDelivery = "store_delivery"
    case carrier
    case pickup
}

public struct DeliveryAddress: Codable, Sendable, Equatable {
    public var name: String
    public var phone: String
    public var line1: String
    public var provinceCode: String?
    public var cityCode: String?
    public var districtCode: String?
    public var postalCode: String?
    public var lat: Double
    public var lng: Double
    public init(name: String, phone: String, line1: String, provinceCode: String? = nil, cityCode: String? = nil, districtCode: String? = nil,
                postalCode: String? = nil, lat: Double, lng: Double) {
        self.name = name
        self.phone = phone
        self.line1 = line1
        self.provinceCode = provinceCode
        self.cityCode = cityCode
        self.districtCode = districtCode
        self.postalCode = postalCode
        self.lat = lat
        self.lng = lng
    }
}

/// 发票: what the customer asked to be invoiced as.
public struct InvoiceRequest: Codable, Sendable, Equatable {
    /// 发票抬头.
    public var title: String
    public var taxId: String?
    public init(title: String, taxId: String? = nil) {
        self.title = title
        self.taxId = taxId
    }
}

public struct OrderLine: Codable, Sendable, Equatable {
    public var line: Int
    public var skuId: String
    public var skuCode: String
    public var quantity: Int
    /// What one unit costs here before promotions (minor units), and the rule that priced it.
    public var unitPrice: Int64
    public var listPrice: Int64
    public var priceRule: String
    public var discount: Int64
    public var total: Int64
    public var method: FulfilmentMethod
    /// Where routing sourced it, and how; nil while unrouted.
    public var locationId: String?
    public var mode: SourcingMode?
    public var cancelled: Int
}

/// One tender of an order's payment (multi-tender: several per order).
public struct Payment: Codable, Sendable, Equatable {
    public var id: String
    public var tender: Tender
    public var provider: String
    public var status: PaymentIntentStatus
    public var amount: Int64
    public var captured: Int64
    public var refunded: Int64
    public var providerReference: String?
    public var createdAt: Date
    public var updatedAt: Date
}

public enum Tender: String, Codable, Sendable, CaseIterable {
    /// A card or wallet through the built-in sandbox provider (demos and tests).
    case sandbox
    /// Cash at the till.
    case cash
    /// A bank card on the till's terminal (captured there).
    case card
    /// Cash on delivery.
    case cod
    /// 支付宝 and 微信支付: online, pending until the provider's signed notification says paid; at
    /// the till, captured by the scan.
    case alipay
    case wechatPay = "wechat_pay"
    /// Collected by the marketplace (天猫, 京东) and settled to the brand later.
    case marketplace
    /// The member's stored value (储值), paid from the wallet in the order's own transaction.
    case wallet
    /// The member's points (积分), an amount of money the points policy converts to points.
    case points

    /// Taken at a store's till, so captured the moment the order is recorded.
    public var takenAtTill: Bool { self == .cash || self == .card }
    /// Paid from the member's own ledgers (wallet, points), in the transaction that records the order.
    public var fromMember: Bool { self == .wallet || self == .points }
    /// Captured the moment the order is recorded: taken at a till, already collected by a
    /// marketplace, or paid from the member's ledgers.
    var capturedOnPlacing: Bool { takenAtTill || self == .marketplace || fromMember }
    /// Paid through a provider that confirms by a signed notification.
    public var notified: Bool { self == .alipay || self == .wechatPay }
}

public enum PaymentIntentStatus: String, Codable, Sendable {
    case pending, authorised, captured
    case partiallyRefunded = "partially_refunded"
    case refunded, failed
}

/// One candidate routing looked at, with the parts of its cost.
public struct RoutingCandidate: Codable, Sendable, Equatable {
    public var locationId: String
    public var code: String
    public var mode: SourcingMode?
    public var distanceKm: Double
    /// Lines it could take whole.
    public var lines: [Int]
    public var score: Double?
    /// Why it was not taken, when it was not.
    public var excluded: String?
    public var costs: [String: Double]
}

/// Why the order is sourced where it is: the rule, every candidate and its score, the choice.
public struct RoutingDecision: Codable, Sendable, Equatable {
    public var rule: String
    /// The rule's step that decided, when it has more than one.
    public var step: String?
    public var policy: String
    public var candidates: [RoutingCandidate]
    /// Line → location id.
    public var assignments: [Int: String]
    public var at: Date
}

public struct TimelineEntry: Codable, Sendable, Equatable {
    public var at: Date
    public var kind: String
    public var status: OrderStatus
    public var actorId: String
    public var note: String?
}

public struct Order: Codable, Sendable, Equatable {
    public var id: String
    public var channelId: String
    public var externalId: String?
    public var status: OrderStatus
    public var paymentStatus: PaymentStatus
    public var holds: [HoldKind]
    public var memberId: String?
    public var contactPhone: String?
    /// 导购: the store and clerk who assisted, credited for the sale.
    public var attributedLocationId: String?
    public var attributedClerkId: String?
    public var address: DeliveryAddress?
    public var pickupLocationId: String?
    /// 核销码 for pickup orders.
    public var pickupCode: String?
    public var invoice: InvoiceRequest?
    public var currency: String
    public var subtotal: Int64
    public var discountTotal: Int64
    public var shippingTotal: Int64
    public var total: Int64
    public var paidTotal: Int64
    public var reservationId: String?
    public var lines: [OrderLine]
    public var payments: [Payment]
    public var routing: RoutingDecision?
    public var timeline: [TimelineEntry]
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}
