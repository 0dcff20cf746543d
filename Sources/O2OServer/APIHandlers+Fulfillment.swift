import Foundation
import O2OAPI
import O2OCore
import O2OFulfillment
import OpenAPIRuntime

// MARK: - Store delivery routes

extension APIHandlers {
    func planDeliveryRoutes(_ input: Operations.PlanDeliveryRoutes.Input) async throws -> Operations.PlanDeliveryRoutes.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let new = FulfillmentService.NewDeliveryPlan(
            store: b.storeId, vehicles: b.vehicles.map { DeliveryVehicle(id: $0.id, capacity: $0.capacity, count: $0.count ?? 1, shiftEnd: $0.shiftEnd) },
            departAt: b.departAt, speedKmh: b.speedKmh ?? 20, serviceMinutes: b.serviceMinutes ?? 3, timeLimitSeconds: b.timeLimitSeconds ?? 2,
            windows: (b.windows ?? []).map { DeliveryWindow(orderId: $0.orderId, earliest: $0.earliest, latest: $0.latest) })
        let plan = try await services.fulfillment.planDeliveries(new, caller: try caller)
        return .ok(.init(body: .json(.init(
            id: plan.id, storeId: plan.storeId, routes: plan.routes.map(Self.deliveryRoute),
            unassigned: plan.unassigned.map { .init(orderId: $0.orderId, reason: $0.reason) }, travelSeconds: plan.travelSeconds,
            solverSeconds: plan.solverSeconds, iterations: plan.iterations))))
    }

    func listDeliveryRoutes(_ input: Operations.ListDeliveryRoutes.Input) async throws -> Operations.ListDeliveryRoutes.Output {
        let routes = try await services.fulfillment.deliveryRoutes(store: input.query.storeId, includeCompleted: input.query.includeCompleted ?? false,
                                                                   scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: routes.map(Self.deliveryRoute)))))
    }

    func getDeliveryRoute(_ input: Operations.GetDeliveryRoute.Input) async throws -> Operations.GetDeliveryRoute.Output {
        .ok(.init(body: .json(Self.deliveryRoute(try await services.fulfillment.deliveryRoute(input.path.routeId, scope: try caller.principal.scope)))))
    }

    func dispatchDeliveryRoute(_ input: Operations.DispatchDeliveryRoute.Input) async throws -> Operations.DispatchDeliveryRoute.Output {
        .ok(.init(body: .json(Self.deliveryRoute(try await services.fulfillment.dispatch(input.path.routeId, caller: try caller)))))
    }

    func confirmDeliveryStop(_ input: Operations.ConfirmDeliveryStop.Input) async throws -> Operations.ConfirmDeliveryStop.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let r = try await services.fulfillment.confirmStop(input.path.routeId, seq: input.path.seq, delivered: b.outcome == .delivered, note: b.note,
                                                           caller: try caller)
        return .ok(.init(body: .json(Self.deliveryRoute(r))))
    }

    static func deliveryRoute(_ r: DeliveryRoute) -> S.DeliveryRoute {
        .init(id: r.id, storeId: r.storeId, planId: r.planId, vehicleId: r.vehicleId, status: .init(rawValue: r.status.rawValue) ?? .planned,
              departAt: r.departAt, returnAt: r.returnAt, travelSeconds: r.travelSeconds, load: r.load,
              stops: r.stops.map { s in
                  .init(seq: s.seq, orderId: s.orderId, lat: s.lat, lng: s.lng, units: s.units, eta: s.eta, serviceStart: s.serviceStart,
                        window: s.window.map { .init(orderId: $0.orderId, earliest: $0.earliest, latest: $0.latest) },
                        status: .init(rawValue: s.status.rawValue) ?? .pending, note: s.note, at: s.at)
              }, createdAt: r.createdAt, updatedAt: r.updatedAt)
    }
}

// MARK: - Fulfilment orders and store pickup

extension APIHandlers {
    func listFulfillmentOrders(_ input: Operations.ListFulfillmentOrders.Input) async throws -> Operations.ListFulfillmentOrders.Output {
        let q = input.query
        var f = FulfillmentService.FulfillmentFilter(location: q.location, status: q.status.flatMap { FulfillmentStatus(rawValue: $0.rawValue) })
        f.orderId = q.orderId
        f.limit = q.limit ?? 50
        f.cursor = q.cursor
        let page = try await services.fulfillment.fulfillmentOrders(f, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.fulfillmentOrder), nextCursor: page.nextCursor))))
    }

    func getFulfillmentOrder(_ input: Operations.GetFulfillmentOrder.Input) async throws -> Operations.GetFulfillmentOrder.Output {
        .ok(.init(body: .json(Self.fulfillmentOrder(try await services.fulfillment.fulfillmentOrder(input.path.fulfillmentOrderId,
                                                                                                     scope: try caller.principal.scope)))))
    }

    func acceptFulfillmentOrder(_ input: Operations.AcceptFulfillmentOrder.Input) async throws -> Operations.AcceptFulfillmentOrder.Output {
        .ok(.init(body: .json(Self.fulfillmentOrder(try await services.fulfillment.accept(input.path.fulfillmentOrderId, caller: try caller)))))
    }

    func rejectFulfillmentOrder(_ input: Operations.RejectFulfillmentOrder.Input) async throws -> Operations.RejectFulfillmentOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let f = try await services.fulfillment.reject(input.path.fulfillmentOrderId, reason: FulfillmentRejectReason(rawValue: b.reason.rawValue) ?? .other,
                                                      note: b.note, caller: try caller)
        return .ok(.init(body: .json(Self.fulfillmentOrder(f))))
    }

    func transitionFulfillmentOrder(_ input: Operations.TransitionFulfillmentOrder.Input) async throws -> Operations.TransitionFulfillmentOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let f = try await services.fulfillment.transition(input.path.fulfillmentOrderId, to: FulfillmentStatus(rawValue: b.to.rawValue) ?? .assigned,
                                                          note: b.note, caller: try caller)
        return .ok(.init(body: .json(Self.fulfillmentOrder(f))))
    }

    func verifyPickup(_ input: Operations.VerifyPickup.Input) async throws -> Operations.VerifyPickup.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let f = try await services.fulfillment.verifyPickup(.init(location: b.locationId, code: b.code, phone: b.phone, orderId: b.orderId,
                                                                  signatureUrl: b.signatureUrl, photoUrl: b.photoUrl), caller: try caller)
        return .ok(.init(body: .json(Self.fulfillmentOrder(f))))
    }

    static func fulfillmentOrder(_ f: FulfillmentOrder) -> S.FulfillmentOrder {
        .init(id: f.id, orderId: f.orderId, locationId: f.locationId, organisationId: f.organisationId, method: .init(rawValue: f.method.rawValue) ?? .delivery,
              mode: f.mode.flatMap { .init(rawValue: $0.rawValue) }, status: .init(rawValue: f.status.rawValue) ?? .assigned,
              lines: f.lines.map { .init(line: $0.line, skuId: $0.skuId, skuCode: $0.skuCode, quantity: $0.quantity) },
              acceptBy: f.acceptBy, rejectAt: f.rejectAt, escalatedAt: f.escalatedAt, acceptedAt: f.acceptedAt, reason: f.reason, note: f.note,
              readyAt: f.readyAt, pickupExpiresAt: f.pickupExpiresAt,
              handover: f.handover.map { .init(clerkId: $0.clerkId, clerkName: $0.clerkName, at: $0.at, method: .init(rawValue: $0.method.rawValue) ?? .codePhone,
                                               signatureUrl: $0.signatureUrl, photoUrl: $0.photoUrl) },
              closedAt: f.closedAt, version: f.version, createdAt: f.createdAt, updatedAt: f.updatedAt)
    }
}
