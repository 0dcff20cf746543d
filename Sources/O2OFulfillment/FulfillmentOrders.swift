import Foundation
import O2OCore
import O2ONetwork
import O2OOrders

// MARK: - Fulfilment orders: one order's work at one location

/// assigned → accepted (or rejected) → picking → packed → shipped / ready_for_pickup /
/// out_for_delivery → delivered / picked_up; cancelled when the order is. Rejected and cancelled
/// are final; so are delivered and picked up.
public enum FulfillmentStatus: String, Codable, Sendable, CaseIterable {
    case assigned, accepted, rejected, picking, packed, shipped
    case readyForPickup = "ready_for_pickup"
    case outForDelivery = "out_for_delivery"
    case delivered
    case pickedUp = "picked_up"
    case cancelled

    /// Where a location's staff may move it by a transition (accept, reject and the pickup
    /// hand-over have their own operations).
    public var next: [FulfillmentStatus] {
        switch self {
        case .assigned: [.accepted, .rejected]
        case .accepted: [.picking, .rejected]
        case .picking: [.packed, .shipped, .readyForPickup, .outForDelivery, .rejected]
        case .packed: [.shipped, .readyForPickup, .outForDelivery]
        case .shipped, .outForDelivery: [.delivered]
        case .readyForPickup: [.pickedUp]
        case .rejected, .cancelled, .delivered, .pickedUp: []
        }
    }

    /// Still work for the location.
    public var open: Bool { ![.rejected, .cancelled, .delivered, .pickedUp].contains(self) }

    /// How far along the order's own lifecycle it is: 0 released, 1 picking, 2 shipped or ready,
    /// 3 delivered or picked up; nil when it no longer counts (rejected, cancelled).
    var rank: Int? {
        switch self {
        case .assigned, .accepted: 0
        case .picking, .packed: 1
        case .shipped, .readyForPickup, .outForDelivery: 2
        case .delivered, .pickedUp: 3
        case .rejected, .cancelled: nil
        }
    }
}

/// Why a location hands back its fulfilment order.
public enum FulfillmentRejectReason: String, Codable, Sendable, CaseIterable {
    case outOfStock = "out_of_stock"
    case damaged
    /// Anything else, said in the note.
    case other
    /// Not accepted within the location's SLA: the worker hands it back so routing tries elsewhere.
    case slaExpired = "sla_expired"
    /// Routing moved the lines elsewhere (an order rejected or re-routed through the orders API).
    case rerouted
}

public struct FulfillmentLine: Codable, Sendable, Equatable {
    public var line: Int
    public var skuId: String
    public var skuCode: String
    public var quantity: Int
}

/// How a pickup was handed over at the counter (核销凭证).
public struct PickupHandover: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// The pickup code and the customer's phone (last four digits or in full).
        case codePhone = "code_phone"
        /// The code and the order scanned from the customer's screen.
        case scan
    }
    public var clerkId: String
    public var clerkName: String
    public var at: Date
    public var method: Method
    public var signatureUrl: String?
    public var photoUrl: String?
}

public struct FulfillmentOrder: Codable, Sendable, Equatable {
    public var id: String
    public var orderId: String
    public var locationId: String
    public var organisationId: String
    public var locationKind: LocationKind
    public var method: FulfilmentMethod
    public var mode: SourcingMode?
    public var status: FulfillmentStatus
    public var lines: [FulfillmentLine]
    /// SLA: accept by then, or it is escalated; still not accepted at `rejectAt`, it is handed back.
    public var acceptBy: Date
    public var rejectAt: Date
    public var escalatedAt: Date?
    public var acceptedAt: Date?
    /// Why it was rejected or cancelled.
    public var reason: String?
    public var note: String?
    /// Pickups: when it became ready, the code and phone to check at the counter, when it expires uncollected.
    public var readyAt: Date?
    public var pickupCode: String?
    public var pickupPhone: String?
    public var pickupExpiresAt: Date?
    public var handover: PickupHandover?
    public var closedAt: Date?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// How long a location has for its fulfilment orders, by kind of location, and how long a
/// ready pickup waits for its customer.
public struct FulfillmentPolicy: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        /// Seconds from assignment to accept before the order is escalated (`fulfillment.sla_breached`).
        public var acceptWithin: Int
        /// Seconds from assignment after which an order still not accepted is rejected (`sla_expired`).
        public var rejectAfter: Int
        public init(acceptWithin: Int, rejectAfter: Int) {
            self.acceptWithin = acceptWithin
            self.rejectAfter = rejectAfter
        }
    }
    public var store: Limits
    public var warehouse: Limits
    /// Days a ready pickup waits before the order is cancelled, its stock returned and its payment refunded.
    public var pickupExpiresAfterDays: Int
    /// Wrong pickup codes one clerk may enter at one location within `failureWindow` seconds before 429.
    public var maxVerifyFailures: Int
    public var failureWindow: Int

    public init(store: Limits = .init(acceptWithin: 30 * 60, rejectAfter: 60 * 60), warehouse: Limits = .init(acceptWithin: 2 * 3_600, rejectAfter: 4 * 3_600),
                pickupExpiresAfterDays: Int = 7, maxVerifyFailures: Int = 5, failureWindow: Int = 600) {
        self.store = store
        self.warehouse = warehouse
        self.pickupExpiresAfterDays = pickupExpiresAfterDays
        self.maxVerifyFailures = maxVerifyFailures
        self.failureWindow = failureWindow
    }

    public static let standard = FulfillmentPolicy()

    public func limits(_ kind: LocationKind) -> Limits { kind == .store ? store : warehouse }
}

/// Errors of the fulfilment module that a Problem alone does not carry.
public enum FulfillmentError: Error, ProblemConvertible, CustomStringConvertible {
    /// Too many wrong pickup codes at this counter: retry after so many seconds.
    case tooManyFailures(retryAfter: Int, limit: Int, windowSeconds: Int)

    public var problem: Problem {
        switch self {
        case .tooManyFailures(let retryAfter, let limit, let window):
            Problem.tooManyRequests("\(limit) wrong pickup codes within \(window / 60) minutes at this counter; try again in \(retryAfter) s.")
        }
    }

    public var retryAfter: Int? {
        switch self { case .tooManyFailures(let s, _, _): s }
    }

    public var description: String { problem.description }
}
