import Foundation
import O2OAPI
import O2OCore
import O2OOrders
import OpenAPIRuntime

// MARK: - Order handlers

extension APIHandlers {
    func quoteOrder(_ input: Operations.QuoteOrder.Input) async throws -> Operations.QuoteOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        return .ok(.init(body: .json(Self.order(try await services.orders.quote(Self.newOrder(b), caller: try caller)))))
    }

    func placeOrder(_ input: Operations.PlaceOrder.Input) async throws -> Operations.PlaceOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        return .created(.init(body: .json(Self.order(try await services.orders.place(Self.newOrder(b), caller: try caller)))))
    }

    func listOrders(_ input: Operations.ListOrders.Input) async throws -> Operations.ListOrders.Output {
        let q = input.query
        var f = OrderService.OrderFilter()
        f.channelId = q.channel
        f.status = q.status.flatMap { OrderStatus(rawValue: $0.rawValue) }
        f.locationId = q.locationId
        f.held = q.held
        f.memberId = q.memberId
        f.from = q.from
        f.until = q.until
        f.limit = try limit(q.limit)
        f.cursor = q.cursor
        let page = try await services.orders.orders(f, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.order), nextCursor: page.nextCursor))))
    }

    func getOrder(_ input: Operations.GetOrder.Input) async throws -> Operations.GetOrder.Output {
        .ok(.init(body: .json(Self.order(try await services.orders.order(input.path.orderId, scope: try caller.principal.scope)))))
    }

    func cancelOrder(_ input: Operations.CancelOrder.Input) async throws -> Operations.CancelOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        return .ok(.init(body: .json(Self.order(try await services.orders.cancel(input.path.orderId, reason: b.reason, caller: try caller)))))
    }

    func advanceOrder(_ input: Operations.AdvanceOrder.Input) async throws -> Operations.AdvanceOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let o = try await services.orders.advance(input.path.orderId, to: OrderStatus(rawValue: b.status.rawValue) ?? .placed, note: b.note,
                                                  pickupCode: b.pickupCode, caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }

    func holdOrder(_ input: Operations.HoldOrder.Input) async throws -> Operations.HoldOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let o = try await services.orders.hold(input.path.orderId, HoldKind(rawValue: b.kind.rawValue) ?? .manual, note: b.note, caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }

    func releaseOrderHold(_ input: Operations.ReleaseOrderHold.Input) async throws -> Operations.ReleaseOrderHold.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let o = try await services.orders.releaseHold(input.path.orderId, HoldKind(rawValue: b.kind.rawValue) ?? .manual, note: b.note,
                                                      caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }

    func setRoutingRule(_ input: Operations.SetRoutingRule.Input) async throws -> Operations.SetRoutingRule.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let rule = try await services.orders.setRoutingRule(Self.newRoutingRule(b), caller: try caller)
        return .ok(.init(body: .json(Self.routingRule(rule))))
    }

    func listRoutingRules(_ input: Operations.ListRoutingRules.Input) async throws -> Operations.ListRoutingRules.Output {
        _ = try caller
        return .ok(.init(body: .json(.init(items: try await services.orders.routingRules().map(Self.routingRule)))))
    }

    static func routingRule(_ rule: RoutingRule) -> S.RoutingRule {
        .init(channelId: rule.channelId, name: rule.name, useStores: rule.useStores, useWarehouses: rule.useWarehouses,
              locations: rule.locations.map(Self.locationGroup), maxLocations: rule.maxLocations, noSplitBelow: rule.noSplitBelow,
              next: rule.next.map { .init(name: $0.name, useStores: $0.useStores, useWarehouses: $0.useWarehouses,
                                          locations: $0.locations.map(Self.locationGroup), maxLocations: $0.maxLocations) },
              fallback: .init(rawValue: rule.fallback.rawValue), autoCancelAfterDays: rule.autoCancelAfterDays,
              weights: .init(distancePerKm: rule.weights.distancePerKm, split: rule.weights.split, lastUnits: rule.weights.lastUnits,
                             priority: rule.weights.priority, capacity: rule.weights.capacity),
              version: rule.version, updatedAt: rule.updatedAt)
    }

    static func locationGroup(_ g: LocationGroup) -> S.LocationGroup {
        .init(locations: g.locations, organisations: g.organisations, regions: g.regions)
    }

    static func locationGroup(_ g: S.LocationGroup) -> LocationGroup {
        .init(locations: g.locations ?? [], organisations: g.organisations ?? [], regions: g.regions ?? [])
    }

    /// A rule as the API sends it (setting or simulating one), its defaults filled in.
    static func newRoutingRule(_ b: S.RoutingRule) -> OrderService.NewRoutingRule {
        let d = RoutingRule.Weights()
        let w = RoutingRule.Weights(distancePerKm: b.weights?.distancePerKm ?? d.distancePerKm, split: b.weights?.split ?? d.split,
                                    lastUnits: b.weights?.lastUnits ?? d.lastUnits, priority: b.weights?.priority ?? d.priority,
                                    capacity: b.weights?.capacity ?? d.capacity)
        return .init(channel: b.channelId, name: b.name, useStores: b.useStores ?? true, useWarehouses: b.useWarehouses ?? true,
                     locations: b.locations.map(Self.locationGroup), maxLocations: b.maxLocations ?? 3, noSplitBelow: b.noSplitBelow ?? 0,
                     next: (b.next ?? []).map { RoutingStep(name: $0.name, useStores: $0.useStores ?? true, useWarehouses: $0.useWarehouses ?? true,
                                                            locations: $0.locations.map(Self.locationGroup), maxLocations: $0.maxLocations ?? 3) },
                     fallback: b.fallback.flatMap { RoutingRule.Fallback(rawValue: $0.rawValue) } ?? .reject,
                     autoCancelAfterDays: b.autoCancelAfterDays, weights: w)
    }

    static func newOrder(_ b: S.NewOrder) -> OrderService.NewOrder {
        OrderService.NewOrder(
            channel: b.channelId, externalId: b.externalId, memberId: b.memberId, contactPhone: b.contactPhone,
            attributedLocation: b.attribution?.locationId, attributedClerk: b.attribution?.clerkId,
            method: FulfilmentMethod(rawValue: b.method.rawValue) ?? .delivery,
            address: b.address.map(Self.address),
            pickupLocation: b.pickupLocationId, invoice: b.invoice.map { InvoiceRequest(title: $0.title, taxId: $0.taxId) },
            lines: b.lines.map { (sku: $0.sku, quantity: $0.quantity) },
            payments: (b.payments ?? []).map { (tender: Tender(rawValue: $0.tender.rawValue) ?? .sandbox, amount: $0.amount) },
            expectedTotal: b.expectedTotal, couponCodes: b.couponCodes,
            groupBuy: b.groupBuy.map { GroupBuyRequest(groupBuyId: $0.groupBuyId, groupId: $0.groupId) })
    }

    static func address(_ a: S.DeliveryAddress) -> DeliveryAddress {
        DeliveryAddress(name: a.name, phone: a.phone, line1: a.line1, provinceCode: a.provinceCode, cityCode: a.cityCode,
                        districtCode: a.districtCode, postalCode: a.postalCode, lat: a.lat, lng: a.lng)
    }

    static func address(_ a: DeliveryAddress) -> S.DeliveryAddress {
        .init(name: a.name, phone: a.phone, line1: a.line1, provinceCode: a.provinceCode, cityCode: a.cityCode, districtCode: a.districtCode,
              postalCode: a.postalCode, lat: a.lat, lng: a.lng)
    }

    static func order(_ o: Order) -> S.Order {
        .init(
            id: o.id, channelId: o.channelId, externalId: o.externalId, status: .init(rawValue: o.status.rawValue) ?? .placed,
            paymentStatus: .init(rawValue: o.paymentStatus.rawValue) ?? .pending, holds: o.holds.map(\.rawValue), memberId: o.memberId,
            contactPhone: o.contactPhone, attributedLocationId: o.attributedLocationId, attributedClerkId: o.attributedClerkId,
            address: o.address.map(Self.address),
            pickupLocationId: o.pickupLocationId, pickupCode: o.pickupCode, invoiceTitle: o.invoice?.title, invoiceTaxId: o.invoice?.taxId,
            currency: o.currency, subtotal: o.subtotal, discountTotal: o.discountTotal, shippingTotal: o.shippingTotal, total: o.total,
            paidTotal: o.paidTotal, reservationId: o.reservationId,
            lines: o.lines.map { l in
                .init(line: l.line, skuId: l.skuId, skuCode: l.skuCode, quantity: l.quantity, unitPrice: l.unitPrice, listPrice: l.listPrice,
                      priceRule: l.priceRule, discount: l.discount, total: l.total, method: l.method.rawValue, locationId: l.locationId,
                      mode: l.mode.flatMap { .init(rawValue: $0.rawValue) }, cancelled: l.cancelled)
            },
            payments: o.payments.map { p in
                .init(id: p.id, tender: p.tender.rawValue, provider: p.provider, status: p.status.rawValue, amount: p.amount, captured: p.captured,
                      refunded: p.refunded, providerReference: p.providerReference)
            },
            routing: o.routing.map(Self.routing),
            timeline: o.timeline.map { .init(at: $0.at, kind: $0.kind, status: $0.status.rawValue, actorId: $0.actorId, note: $0.note) },
            version: o.version, createdAt: o.createdAt, updatedAt: o.updatedAt)
    }

    static func routing(_ r: RoutingDecision) -> S.RoutingDecision {
        .init(rule: r.rule, step: r.step, policy: r.policy, candidates: r.candidates.map { c in
            .init(locationId: c.locationId, code: c.code, mode: c.mode?.rawValue, distanceKm: c.distanceKm, lines: c.lines, score: c.score,
                  excluded: c.excluded, costs: .init(additionalProperties: c.costs))
        }, assignments: .init(additionalProperties: Dictionary(uniqueKeysWithValues: r.assignments.map { (String($0.key), $0.value) })),
              at: r.at)
    }
}

// MARK: - POS sales intake

extension APIHandlers {
    func recordPosSales(_ input: Operations.RecordPosSales.Input) async throws -> Operations.RecordPosSales.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var v = Validator()
        let sales = b.sales.enumerated().map { i, s in
            TillSale(transactionId: s.transactionId, location: s.locationId, channel: s.channelId, registerId: s.registerId, clerkId: s.clerkId,
                     memberId: s.memberId, soldAt: s.soldAt, lines: s.lines.map { (sku: $0.sku, quantity: $0.quantity, unitPrice: $0.unitPrice) },
                     payments: s.payments.enumerated().map { j, p in
                         let tender = Tender(rawValue: p.tender.rawValue)
                         if tender == nil { v.add("sales[\(i)].payments[\(j)].tender", "unknown tender") }
                         return (tender: tender ?? .cash, amount: p.amount)
                     })
        }
        try v.finish()
        let results = try await services.orders.recordTillSales(sales, caller: try caller)
        return .ok(.init(body: .json(.init(results: results.map { r in
            .init(transactionId: r.transactionId, outcome: .init(rawValue: r.outcome.rawValue) ?? .rejected, order: r.order.map(Self.order),
                  short: r.short.map { .init(skuId: $0.skuId, onHand: $0.onHand, reserved: $0.reserved) }, alreadyCounted: r.alreadyCounted,
                  problem: r.problem.map(Self.problem))
        }))))
    }

    static func problem(_ p: Problem) -> S.Problem {
        .init(_type: p.type, title: p.title, status: p.status, detail: p.detail, instance: p.instance, requestId: p.requestId,
              errors: p.errors?.map { .init(field: $0.field, message: $0.message, line: $0.line) }, allowed: p.allowed)
    }
}

// MARK: - Edits before release

extension APIHandlers {
    func editOrder(_ input: Operations.EditOrder.Input) async throws -> Operations.EditOrder.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let edit = OrderEdit(address: b.address.map(Self.address), addLines: (b.addLines ?? []).map { (sku: $0.sku, quantity: $0.quantity) },
                             removeLines: b.removeLines ?? [],
                             payments: (b.payments ?? []).map { (tender: Tender(rawValue: $0.tender.rawValue) ?? .sandbox, amount: $0.amount) }, note: b.note)
        let o = try await services.orders.edit(input.path.orderId, edit, expectedVersion: b.expectedVersion, caller: try caller)
        return .ok(.init(body: .json(Self.order(o))))
    }

    func listOrderChanges(_ input: Operations.ListOrderChanges.Input) async throws -> Operations.ListOrderChanges.Output {
        let changes = try await services.orders.changes(input.path.orderId, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: changes.map { c in
            .init(version: c.version, at: c.at, actorId: c.actorId, summary: c.summary, addressBefore: c.addressBefore.map(Self.address),
                  addressAfter: c.addressAfter.map(Self.address), addedLines: c.addedLines, removedLines: c.removedLines,
                  totalBefore: c.totalBefore, totalAfter: c.totalAfter, note: c.note)
        }))))
    }
}

// MARK: - Cash on delivery remittances

extension APIHandlers {
    func listCashOnDeliveryDue(_ input: Operations.ListCashOnDeliveryDue.Input) async throws -> Operations.ListCashOnDeliveryDue.Output {
        let due = try await services.orders.cashOnDeliveryDue(collector: input.query.collector, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: due.map {
            .init(paymentId: $0.paymentId, orderId: $0.orderId, collectorId: $0.collectorId, amount: $0.amount, currency: $0.currency,
                  collectedAt: $0.collectedAt)
        }))))
    }

    func remitCashOnDelivery(_ input: Operations.RemitCashOnDelivery.Input) async throws -> Operations.RemitCashOnDelivery.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let r = try await services.orders.remitCashOnDelivery(collector: b.collector, payments: b.paymentIds, amount: b.amount, reference: b.reference,
                                                              caller: try caller)
        return .created(.init(body: .json(.init(id: r.id, collectorId: r.collectorId, reference: r.reference, amount: r.amount, paymentIds: r.payments,
                                                at: r.at))))
    }
}
