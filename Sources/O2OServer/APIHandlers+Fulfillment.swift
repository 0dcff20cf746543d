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
            store: b.storeId, vehicles: b.vehicles.map {
                DeliveryVehicle(id: $0.id, capacity: $0.capacity, maxWeightGrams: $0.maxWeightGrams, maxVolumeCm3: $0.maxVolumeCm3, count: $0.count ?? 1,
                                shiftEnd: $0.shiftEnd)
            },
            departAt: b.departAt, speedKmh: b.speedKmh ?? 20, serviceMinutes: b.serviceMinutes ?? 3, timeLimitSeconds: b.timeLimitSeconds ?? 2,
            windows: (b.windows ?? []).map { DeliveryWindow(orderId: $0.orderId, earliest: $0.earliest, latest: $0.latest) })
        let plan = try await services.fulfillment.planDeliveries(new, caller: try caller)
        return .ok(.init(body: .json(.init(
            id: plan.id, storeId: plan.storeId, routes: plan.routes.map(Self.deliveryRoute),
            unassigned: plan.unassigned.map { .init(orderId: $0.orderId, reason: $0.reason) }, unmeasuredOrderIds: plan.unmeasuredOrderIds,
            travelSeconds: plan.travelSeconds,
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
              departAt: r.departAt, returnAt: r.returnAt, travelSeconds: r.travelSeconds, load: r.load, weightGrams: r.weightGrams, volumeCm3: r.volumeCm3,
              stops: r.stops.map { s in
                  .init(seq: s.seq, orderId: s.orderId, lat: s.lat, lng: s.lng, units: s.units, weightGrams: s.weightGrams, volumeCm3: s.volumeCm3,
                        eta: s.eta, serviceStart: s.serviceStart,
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

// MARK: - Carriers, shipments and tracking

extension APIHandlers {
    func listCarriers(_ input: Operations.ListCarriers.Input) async throws -> Operations.ListCarriers.Output {
        .ok(.init(body: .json(.init(items: try await services.fulfillment.carriers().map { Self.carrier($0) }))))
    }

    func getCarrier(_ input: Operations.GetCarrier.Input) async throws -> Operations.GetCarrier.Output {
        .ok(.init(body: .json(Self.carrier(try await services.fulfillment.carrier(input.path.carrierCode)))))
    }

    func createCarrier(_ input: Operations.CreateCarrier.Input) async throws -> Operations.CreateCarrier.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let (c, secret) = try await services.fulfillment.createCarrier(
            .init(code: b.code, name: b.name, kind: CarrierKind(rawValue: b.kind.rawValue) ?? .carrier, accountNumber: b.accountNumber,
                  webhookSecret: b.webhookSecret, trackingUrlTemplate: b.trackingUrlTemplate, services: b.services.map(Self.carrierService)),
            caller: try caller)
        return .created(.init(body: .json(Self.carrier(c, webhookSecret: secret))))
    }

    func updateCarrier(_ input: Operations.UpdateCarrier.Input) async throws -> Operations.UpdateCarrier.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var p = FulfillmentService.CarrierPatch()
        p.name = b.name
        p.accountNumber = b.accountNumber
        p.webhookSecret = b.webhookSecret
        p.trackingUrlTemplate = b.trackingUrlTemplate
        p.services = b.services?.map(Self.carrierService)
        p.active = b.active
        return .ok(.init(body: .json(Self.carrier(try await services.fulfillment.updateCarrier(input.path.carrierCode, p, caller: try caller)))))
    }

    func createShipment(_ input: Operations.CreateShipment.Input) async throws -> Operations.CreateShipment.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let s = try await services.fulfillment.createShipment(
            .init(fulfillmentOrderId: b.fulfillmentOrderId, carrier: b.carrier, service: b.service,
                  parcels: b.parcels.map { Parcel(weightGrams: $0.weightGrams, lengthMm: $0.lengthMm, widthMm: $0.widthMm, heightMm: $0.heightMm) },
                  trackingNumber: b.trackingNumber),
            caller: try caller)
        return .created(.init(body: .json(Self.shipment(s))))
    }

    func getShipment(_ input: Operations.GetShipment.Input) async throws -> Operations.GetShipment.Output {
        .ok(.init(body: .json(Self.shipment(try await services.fulfillment.shipment(input.path.shipmentId, scope: try caller.principal.scope)))))
    }

    func listShipments(_ input: Operations.ListShipments.Input) async throws -> Operations.ListShipments.Output {
        let q = input.query
        var f = FulfillmentService.ShipmentFilter(orderId: q.orderId, trackingNumber: q.trackingNumber,
                                                  status: q.status.flatMap { ShipmentStatus(rawValue: $0.rawValue) }, carrier: q.carrier)
        f.limit = q.limit ?? 50
        f.cursor = q.cursor
        let page = try await services.fulfillment.shipments(f, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.shipment), nextCursor: page.nextCursor))))
    }

    func importTrackingEvents(_ input: Operations.ImportTrackingEvents.Input) async throws -> Operations.ImportTrackingEvents.Output {
        guard case .csv(let body) = input.body else { throw Problem.malformed("Expected text/csv.") }
        let r = try await services.fulfillment.importTrackingEvents(csv: try await String(collecting: body, upTo: .max), caller: try caller)
        return .ok(.init(body: .json(.init(received: r.received, recorded: r.recorded.count, duplicates: r.duplicates))))
    }

    static func carrierService(_ s: S.CarrierService) -> CarrierService {
        CarrierService(code: s.code, name: s.name, transitDays: s.transitDays, codSupported: s.codSupported)
    }

    static func carrier(_ c: Carrier, webhookSecret: String? = nil) -> S.Carrier {
        .init(code: c.code, name: c.name, kind: .init(rawValue: c.kind.rawValue) ?? .carrier, accountNumber: c.accountNumber,
              trackingUrlTemplate: c.trackingUrlTemplate,
              services: c.services.map { .init(code: $0.code, name: $0.name, transitDays: $0.transitDays, codSupported: $0.codSupported) },
              active: c.active, webhookSecret: webhookSecret, version: c.version, createdAt: c.createdAt, updatedAt: c.updatedAt)
    }

    static func shipment(_ s: Shipment) -> S.Shipment {
        let l = s.label
        return .init(
            id: s.id, fulfillmentOrderId: s.fulfillmentOrderId, orderId: s.orderId, locationId: s.locationId, carrierCode: s.carrierCode,
            serviceCode: s.serviceCode, trackingNumber: s.trackingNumber, trackingUrl: s.trackingUrl, status: .init(rawValue: s.status.rawValue) ?? .created,
            parcels: s.parcels.map { .init(weightGrams: $0.weightGrams, lengthMm: $0.lengthMm, widthMm: $0.widthMm, heightMm: $0.heightMm) },
            codAmount: s.codAmount, currency: s.currency,
            label: .init(trackingNumber: l.trackingNumber, barcode: l.barcode, barcodeSymbology: l.barcodeSymbology, carrierCode: l.carrierCode,
                         carrierName: l.carrierName, serviceCode: l.serviceCode, serviceName: l.serviceName,
                         shipFrom: .init(name: l.shipFrom.name, phone: l.shipFrom.phone, address: l.shipFrom.address),
                         shipTo: .init(name: l.shipTo.name, phone: l.shipTo.phone, address: l.shipTo.address),
                         parcels: l.parcels.map { .init(n: $0.n, of: $0.of, weightGrams: $0.weightGrams) }, totalWeightGrams: l.totalWeightGrams,
                         codAmount: l.codAmount, currency: l.currency, orderId: l.orderId, printedAt: l.printedAt),
            events: s.events.map { .init(id: $0.id, status: .init(rawValue: $0.status.rawValue) ?? .inTransit, at: $0.at, location: $0.location,
                                         description: $0.description, source: .init(rawValue: $0.source.rawValue) ?? .webhook, receivedAt: $0.receivedAt) },
            deliveredAt: s.deliveredAt, version: s.version, createdAt: s.createdAt, updatedAt: s.updatedAt)
    }
}
