import Foundation
import O2OAPI
import O2OCore
import O2OInventory
import OpenAPIRuntime

// MARK: - Inventory handlers

extension APIHandlers {
    func listInventoryBalances(_ input: Operations.ListInventoryBalances.Input) async throws -> Operations.ListInventoryBalances.Output {
        let q = input.query
        var f = InventoryService.BalanceFilter()
        f.sku = q.sku
        f.location = q.locationId
        f.nonZero = q.nonZero ?? false
        f.limit = try limit(q.limit)
        f.cursor = q.cursor
        let page = try await services.inventory.balances(f, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.balance), nextCursor: page.nextCursor))))
    }

    func listInventoryMovements(_ input: Operations.ListInventoryMovements.Input) async throws -> Operations.ListInventoryMovements.Output {
        let q = input.query
        var f = InventoryService.MovementFilter()
        f.sku = q.sku
        f.location = q.locationId
        f.referenceId = q.referenceId
        f.limit = try limit(q.limit)
        f.cursor = q.cursor
        let page = try await services.inventory.movements(f, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.movement), nextCursor: page.nextCursor))))
    }

    func postInventoryMovements(_ input: Operations.PostInventoryMovements.Input) async throws -> Operations.PostInventoryMovements.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let new = InventoryService.NewMovements(
            location: b.locationId, kind: MovementKind(rawValue: b.kind.rawValue) ?? .receipt, reason: b.reason,
            referenceType: b.reference?._type, referenceId: b.reference?.id,
            lines: b.lines.map { .init(sku: $0.sku, quantity: $0.quantity) })
        let movements = try await services.inventory.post(new, caller: try caller)
        return .created(.init(body: .json(.init(items: movements.map(Self.movement)))))
    }

    func reserveStock(_ input: Operations.ReserveStock.Input) async throws -> Operations.ReserveStock.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let new = InventoryService.NewReservation(
            channel: b.channelId, referenceType: b.reference?._type, referenceId: b.reference?.id, expiresInSeconds: b.expiresInSeconds,
            lines: b.lines.map { .init(sku: $0.sku, location: $0.locationId, quantity: $0.quantity) })
        return .created(.init(body: .json(Self.reservation(try await services.inventory.reserve(new, caller: try caller)))))
    }

    func getReservation(_ input: Operations.GetReservation.Input) async throws -> Operations.GetReservation.Output {
        .ok(.init(body: .json(Self.reservation(try await services.inventory.reservation(input.path.reservationId, scope: try caller.principal.scope)))))
    }

    func releaseReservation(_ input: Operations.ReleaseReservation.Input) async throws -> Operations.ReleaseReservation.Output {
        var body: S.SettleReservation?
        if case .json(let b)? = input.body { body = b }
        let r = try await services.inventory.release(input.path.reservationId, lines: body?.lines?.map { ($0.line, $0.quantity) },
                                                     reason: body?.reason, caller: try caller)
        return .ok(.init(body: .json(Self.reservation(r))))
    }

    func consumeReservation(_ input: Operations.ConsumeReservation.Input) async throws -> Operations.ConsumeReservation.Output {
        var body: S.SettleReservation?
        if case .json(let b)? = input.body { body = b }
        let r = try await services.inventory.consume(input.path.reservationId, lines: body?.lines?.map { ($0.line, $0.quantity) },
                                                     caller: try caller)
        return .ok(.init(body: .json(Self.reservation(r))))
    }

    func allocateReservation(_ input: Operations.AllocateReservation.Input) async throws -> Operations.AllocateReservation.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let r = try await services.inventory.allocate(input.path.reservationId, b.allocations.map {
            .init(line: $0.line, location: $0.locationId, quantity: $0.quantity)
        }, caller: try caller)
        return .ok(.init(body: .json(Self.reservation(r))))
    }

    func getChannelAtp(_ input: Operations.GetChannelAtp.Input) async throws -> Operations.GetChannelAtp.Output {
        let (channelId, items) = try await services.inventory.atp(channel: input.query.channel, skus: input.query.sku)
        return .ok(.init(body: .json(.init(channelId: channelId, items: items.map {
            .init(skuId: $0.skuId, shipping: $0.shipping, pickup: $0.pickup, locations: $0.locations.map {
                .init(locationId: $0.locationId, available: $0.available, shipping: $0.shipping, pickup: $0.pickup)
            })
        }))))
    }

    func listNearbyStock(_ input: Operations.ListNearbyStock.Input) async throws -> Operations.ListNearbyStock.Output {
        let q = input.query
        let quantities = q.quantity ?? []
        if quantities.count > q.sku.count {
            throw Problem.malformed("More quantities than SKUs.", errors: [.init("quantity", "give at most one quantity per sku")])
        }
        let limit = try limit(q.limit ?? 20)
        let stores = try await services.inventory.nearby(
            lat: q.lat, lng: q.lng, skus: q.sku.enumerated().map { ($1, $0 < quantities.count ? quantities[$0] : 1) },
            radiusKm: q.radiusKm ?? 10, limit: limit, channel: q.channel)
        return .ok(.init(body: .json(.init(items: stores.map { s in
            .init(locationId: s.locationId, code: s.code, name: s.name, distanceKm: s.distanceKm, hasAll: s.hasAll,
                  skus: s.available.sorted { $0.key < $1.key }.map { .init(skuId: $0.key, available: $0.value) })
        }))))
    }

    func setChannelPool(_ input: Operations.SetChannelPool.Input) async throws -> Operations.SetChannelPool.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var v = Validator()
        let members = (b.members ?? []).enumerated().map { i, m -> (location: String, exposure: Exposure, shipping: Bool, pickup: Bool) in
            let kind = m.exposure?.rawValue ?? "all"
            if kind != "all" && m.value == nil { v.add("members[\(i)].value", "is required for exposure \(kind)") }
            return (m.locationId, Exposure(kind: kind, value: m.value) ?? .all, m.shipping ?? true, m.pickup ?? false)
        }
        try v.finish()
        let pool = try await services.inventory.setPool(
            .init(channel: b.channelId, members: members, reservationTTL: b.reservationTtlSeconds, threshold: b.threshold ?? 0), caller: try caller)
        return .ok(.init(body: .json(Self.pool(pool))))
    }

    func getChannelPool(_ input: Operations.GetChannelPool.Input) async throws -> Operations.GetChannelPool.Output {
        .ok(.init(body: .json(Self.pool(try await services.inventory.pool(channel: input.path.channelId)))))
    }

    func listSafetyStock(_ input: Operations.ListSafetyStock.Input) async throws -> Operations.ListSafetyStock.Output {
        let page = try await services.inventory.safetyRules(limit: try limit(input.query.limit), cursor: input.query.cursor,
                                                             scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.safetyRule), nextCursor: page.nextCursor))))
    }

    func setSafetyStock(_ input: Operations.SetSafetyStock.Input) async throws -> Operations.SetSafetyStock.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let rule = try await services.inventory.setSafetyStock(
            .init(location: b.locationId, sku: b.skuId, channel: b.channelId, quantity: b.quantity), caller: try caller)
        return .ok(.init(body: .json(.init(rule: rule.map(Self.safetyRule)))))
    }

    // MARK: Mapping

    static func balance(_ b: Balance) -> S.Balance {
        .init(skuId: b.skuId, locationId: b.locationId, onHand: b.onHand, reserved: b.reserved, available: b.available,
              safetyStock: b.safetyStock, inTransit: b.inTransit, quarantined: b.quarantined, updatedAt: b.updatedAt)
    }

    static func movement(_ m: Movement) -> S.Movement {
        .init(id: m.id, at: m.at, skuId: m.skuId, locationId: m.locationId, kind: .init(rawValue: m.kind.rawValue) ?? .adjustment,
              onHandDelta: m.onHandDelta, reservedDelta: m.reservedDelta, inTransitDelta: m.inTransitDelta, quarantinedDelta: m.quarantinedDelta,
              reason: m.reason, referenceType: m.referenceType, referenceId: m.referenceId, channelId: m.channelId, actorId: m.actorId,
              requestId: m.requestId)
    }

    static func reservation(_ r: Reservation) -> S.Reservation {
        .init(id: r.id, channelId: r.channelId,
              reference: r.referenceId.map { .init(_type: r.referenceType ?? "reference", id: $0) },
              status: .init(rawValue: r.status.rawValue) ?? .active, expiresAt: r.expiresAt,
              lines: r.lines.map { .init(line: $0.line, skuId: $0.skuId, locationId: $0.locationId, quantity: $0.quantity,
                                         consumed: $0.consumed, released: $0.released, open: $0.open, soft: $0.soft,
                                         splitFrom: $0.splitFrom) },
              version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt)
    }

    static func pool(_ p: ChannelPool) -> S.ChannelPool {
        .init(channelId: p.channelId, members: p.members.map {
            .init(locationId: $0.locationId, exposure: .init(rawValue: $0.exposure.kind), value: $0.exposure.value, shipping: $0.shipping,
                  pickup: $0.pickup)
        }, reservationTtlSeconds: p.reservationTTL, threshold: p.threshold, version: p.version, updatedAt: p.updatedAt)
    }

    static func safetyRule(_ r: SafetyStockRule) -> S.SafetyStockRule {
        .init(id: r.id, locationId: r.locationId, skuId: r.skuId, channelId: r.channelId, quantity: r.quantity, createdAt: r.createdAt)
    }
}

// MARK: - Counts and transfers

extension APIHandlers {
    func postStockCount(_ input: Operations.PostStockCount.Input) async throws -> Operations.PostStockCount.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let count = try await services.inventory.count(.init(
            location: b.locationId, kind: CountKind(rawValue: b.kind.rawValue) ?? .cycle, countedAt: b.countedAt, source: b.source,
            lines: b.lines.map { .init(sku: $0.sku, quantity: $0.quantity) }), caller: try caller)
        return .created(.init(body: .json(Self.stockCount(count))))
    }

    func getStockCount(_ input: Operations.GetStockCount.Input) async throws -> Operations.GetStockCount.Output {
        .ok(.init(body: .json(Self.stockCount(try await services.inventory.stockCount(input.path.countId, scope: try caller.principal.scope)))))
    }

    func listTransfers(_ input: Operations.ListTransfers.Input) async throws -> Operations.ListTransfers.Output {
        let q = input.query
        let page = try await services.inventory.transfers(
            location: q.locationId, status: q.status.flatMap { TransferStatus(rawValue: $0.rawValue) }, limit: try limit(q.limit),
            cursor: q.cursor, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.transfer), nextCursor: page.nextCursor))))
    }

    func requestTransfer(_ input: Operations.RequestTransfer.Input) async throws -> Operations.RequestTransfer.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let t = try await services.inventory.requestTransfer(.init(
            from: b.fromLocationId, to: b.toLocationId, reason: b.reason, referenceType: b.reference?._type, referenceId: b.reference?.id,
            lines: b.lines.map { .init(sku: $0.sku, quantity: $0.quantity) }), caller: try caller)
        return .created(.init(body: .json(Self.transfer(t))))
    }

    func getTransfer(_ input: Operations.GetTransfer.Input) async throws -> Operations.GetTransfer.Output {
        .ok(.init(body: .json(Self.transfer(try await services.inventory.transfer(input.path.transferId, scope: try caller.principal.scope)))))
    }

    func shipTransfer(_ input: Operations.ShipTransfer.Input) async throws -> Operations.ShipTransfer.Output {
        .ok(.init(body: .json(Self.transfer(try await services.inventory.shipTransfer(input.path.transferId, caller: try caller)))))
    }

    func receiveTransfer(_ input: Operations.ReceiveTransfer.Input) async throws -> Operations.ReceiveTransfer.Output {
        var lines: [(line: Int, quantity: Int)]?
        if case .json(let b)? = input.body { lines = b.lines?.map { ($0.line, $0.quantity) } }
        return .ok(.init(body: .json(Self.transfer(try await services.inventory.receiveTransfer(input.path.transferId, received: lines,
                                                                                             caller: try caller)))))
    }

    func cancelTransfer(_ input: Operations.CancelTransfer.Input) async throws -> Operations.CancelTransfer.Output {
        .ok(.init(body: .json(Self.transfer(try await services.inventory.cancelTransfer(input.path.transferId, caller: try caller)))))
    }

    static func stockCount(_ c: StockCount) -> S.StockCount {
        .init(id: c.id, locationId: c.locationId, kind: .init(rawValue: c.kind.rawValue) ?? .cycle, countedAt: c.countedAt, source: c.source,
              postedAt: c.postedAt, lines: c.lines.map { .init(skuId: $0.skuId, counted: $0.counted, expected: $0.expected, variance: $0.variance) })
    }

    static func transfer(_ t: Transfer) -> S.Transfer {
        .init(id: t.id, fromLocationId: t.fromLocationId, toLocationId: t.toLocationId, status: .init(rawValue: t.status.rawValue) ?? .requested,
              reason: t.reason, reference: t.referenceId.map { .init(_type: t.referenceType ?? "reference", id: $0) },
              lines: t.lines.map { .init(line: $0.line, skuId: $0.skuId, quantity: $0.quantity, received: $0.received, discrepancy: $0.discrepancy) },
              version: t.version, createdAt: t.createdAt, shippedAt: t.shippedAt, receivedAt: t.receivedAt, updatedAt: t.updatedAt)
    }
}

// MARK: - Replenishment

extension APIHandlers {
    func getReplenishment(_ input: Operations.GetReplenishment.Input) async throws -> Operations.GetReplenishment.Output {
        let q = input.query
        let items = try await services.inventory.replenishment(location: q.locationId, salesDays: q.salesDays ?? 28, bestsellers: q.bestsellers ?? 20,
                                                               scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(locationId: q.locationId, items: items.map {
            .init(skuId: $0.skuId, position: $0.position, dailySales: $0.dailySales, quantity: $0.quantity, reasons: $0.reasons,
                  sourceLocationId: $0.sourceLocationId, sourceAvailable: $0.sourceAvailable)
        }))))
    }

    func replenishStore(_ input: Operations.ReplenishStore.Input) async throws -> Operations.ReplenishStore.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let transfers = try await services.inventory.replenish(location: b.locationId, skus: b.skus, caller: try caller)
        return .created(.init(body: .json(.init(items: transfers.map(Self.transfer)))))
    }

    func setReplenishmentRule(_ input: Operations.SetReplenishmentRule.Input) async throws -> Operations.SetReplenishmentRule.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let rule = try await services.inventory.setReplenishmentRule(
            .init(location: b.locationId, sku: b.skuId, min: b.min, max: b.max, coverDays: b.coverDays), caller: try caller)
        return .ok(.init(body: .json(.init(rule: rule.map {
            .init(id: $0.id, locationId: $0.locationId, skuId: $0.skuId, min: $0.min, max: $0.max, coverDays: $0.coverDays)
        }))))
    }
}
