import Foundation
import O2OCore
import O2OOrders
import O2OPromotions

// MARK: - Group buys (团购) between promotions and orders

extension AppServices {
    /// What one round of `settleGroupBuys` did.
    public struct GroupBuyRound: Sendable, Equatable {
        public var dissolved = 0
        public var cancelled = 0
        public var released = 0
        public init(dissolved: Int = 0, cancelled: Int = 0, released: Int = 0) {
            self.dissolved = dissolved
            self.cancelled = cancelled
            self.released = released
        }
    }

    /// Moves group buys' orders on: groups whose time ran out unfilled dissolve and their orders
    /// are cancelled and refunded; orders still held in a group that filled are let go (placing
    /// the order that fills a group lets them go at once; this catches what a crash left behind).
    /// Safe in several processes at once: each group dissolves once, each order is cancelled or
    /// let go once.
    @discardableResult
    public func settleGroupBuys() async throws -> GroupBuyRound {
        var round = GroupBuyRound()
        while true {
            let n = try await promotions.dissolveExpiredGroups(limit: 100)
            round.dissolved += n
            if n < 100 { break }
        }
        for (orderId, reason) in try await promotions.ordersOfDissolvedGroups(limit: 100) {
            do {
                _ = try await orders.groupDissolved(orderId, reason: reason)
                round.cancelled += 1
            } catch let p as Problem where p.status == 409 || p.status == 404 {
                // Moved on some other way (cancelled meanwhile, or no longer cancellable): it leaves the group as it is.
                try await db.write { tx in try await promotions.leaveGroup(orderId: orderId, caller: .system, in: tx) }
            }
        }
        let held = try await orders.heldOrderIds(.groupBuy)
        for id in try await promotions.ordersInFormedGroups(held) {
            guard let g = try await promotions.group(ofOrder: id) else { continue }
            _ = try await orders.groupFilled(id, note: "group \(g.id) filled (\(g.size) of \(g.size))")
            round.released += 1
        }
        return round
    }
}

extension PeriodicWorker {
    /// Dissolves group buys' groups that did not fill in time (cancelling and refunding their
    /// orders) and lets go the orders of groups that filled.
    static func groupBuys(_ services: AppServices) -> PeriodicWorker {
        PeriodicWorker(description: "group buys worker", logger: services.logger, interval: .seconds(5)) {
            try await services.settleGroupBuys()
        }
    }
}
