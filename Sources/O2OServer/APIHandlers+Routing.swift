import Foundation
import O2OAPI
import O2OCore
import O2OOrders
import OpenAPIRuntime

// MARK: - Routing an order on a routing hold; simulating a routing rule

extension APIHandlers {
    func routeOrder(_ input: Operations.RouteOrder.Input) async throws -> Operations.RouteOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let o = try await services.orders.route(input.path.orderId, to: b.locationId, note: b.note, caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }

    func simulateRouting(_ input: Operations.SimulateRouting.Input) async throws -> Operations.SimulateRouting.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let results = try await services.orders.simulate(rule: Self.newRoutingRule(b.rule), orders: b.orderIds, caller: try caller)
        let summary = RoutingSimulationSummary(results)
        func lines(_ d: [Int: String]) -> [String: String] { Dictionary(uniqueKeysWithValues: d.map { (String($0.key), $0.value) }) }
        return .ok(.init(body: .json(.init(
            orders: results.map { r in
                .init(orderId: r.orderId, current: .init(additionalProperties: lines(r.current)), simulated: .init(additionalProperties: lines(r.simulated)),
                      decision: Self.routing(r.decision), unplaced: r.unplaced, changed: r.changed)
            },
            summary: .init(orders: summary.orders, changed: summary.changed, unroutable: summary.unroutable, split: summary.split,
                           locations: .init(additionalProperties: summary.locations))))))
    }
}
