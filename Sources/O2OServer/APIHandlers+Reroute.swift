import Foundation
import O2OAPI
import O2OCore
import O2OOrders
import OpenAPIRuntime

// MARK: - A location rejects its assignment; cancelling some units

extension APIHandlers {
    func rejectOrderAssignment(_ input: Operations.RejectOrderAssignment.Input) async throws -> Operations.RejectOrderAssignment.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let o = try await services.orders.reject(input.path.orderId, location: b.locationId, reason: RejectReason(rawValue: b.reason.rawValue) ?? .other,
                                                 lines: b.lines, note: b.note, caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }

    func cancelOrderLines(_ input: Operations.CancelOrderLines.Input) async throws -> Operations.CancelOrderLines.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let o = try await services.orders.cancelLines(input.path.orderId, lines: b.lines.map { (line: $0.line, quantity: $0.quantity) },
                                                      reason: b.reason, caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }
}
