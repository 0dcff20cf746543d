import Foundation
import O2OCore
import Synchronization

// MARK: - Observers: modules downstream of orders follow an order's changes in its own transaction

/// Told of every saved change of an order's status or of where its lines are sourced, inside
/// the transaction that makes the change (a throw rolls the change back). Fulfilment keeps its
/// fulfilment orders in step this way; orders never depend on who observes them.
public protocol OrderObserver: Sendable {
    func orderChanged(before: Order, after: Order, caller: Caller, _ tx: Transaction) async throws
}

final class OrderObservers: Sendable {
    private let list = Mutex<[any OrderObserver]>([])

    func add(_ o: any OrderObserver) { list.withLock { $0.append(o) } }

    func changed(before: Order, after: Order, caller: Caller, _ tx: Transaction) async throws {
        guard before.status != after.status || before.lines.map(\.locationId) != after.lines.map(\.locationId) else { return }
        for o in list.withLock({ $0 }) { try await o.orderChanged(before: before, after: after, caller: caller, tx) }
    }
}

extension OrderService {
    /// Registers an observer of the orders' changes (once, when the services are built).
    public func observe(_ observer: any OrderObserver) { observers.add(observer) }
}
