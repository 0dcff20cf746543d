import Foundation
import O2OAPI
import O2OCore
import O2OFulfillment
import OpenAPIRuntime

// MARK: - Warehouse management: bins, receipts and putaway, pick waves, bin counts

extension APIHandlers {
    typealias W = Components.Schemas

    func listBins(_ input: Operations.ListBins.Input) async throws -> Operations.ListBins.Output {
        let bins = try await services.warehouse.bins(warehouse: input.path.locationId, zone: input.query.zone, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: try bins.map { try JSONBridge.convert($0, to: W.Bin.self) }))))
    }

    func createBins(_ input: Operations.CreateBins.Input) async throws -> Operations.CreateBins.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let bins = try await services.warehouse.createBins(
            warehouse: input.path.locationId, b.bins.map { .init(code: $0.code, zone: $0.zone, path: $0.path, capacity: $0.capacity) }, caller: try caller)
        return .created(.init(body: .json(.init(items: try bins.map { try JSONBridge.convert($0, to: W.Bin.self) }))))
    }

    func listBinStock(_ input: Operations.ListBinStock.Input) async throws -> Operations.ListBinStock.Output {
        let stock = try await services.warehouse.binStock(warehouse: input.path.locationId, sku: input.query.sku, bin: input.query.bin,
                                                           scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: try stock.map { try JSONBridge.convert($0, to: W.BinStock.self) }))))
    }

    func listBinBalances(_ input: Operations.ListBinBalances.Input) async throws -> Operations.ListBinBalances.Output {
        let all = try await services.warehouse.balances(warehouse: input.path.locationId, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: try all.map { try JSONBridge.convert($0, to: W.BinBalance.self) }))))
    }

    func createWarehouseReceipt(_ input: Operations.CreateWarehouseReceipt.Input) async throws -> Operations.CreateWarehouseReceipt.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let request = WarehouseService.ReceiptRequest(source: ReceiptSource(rawValue: b.source.rawValue) ?? .supplier, reference: b.reference,
                                                      lines: (b.lines ?? []).map { ($0.sku, $0.quantity) })
        let receipt = try await services.warehouse.receive(warehouse: input.path.locationId, request, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(receipt, to: W.WarehouseReceipt.self))))
    }

    func getWarehouseReceipt(_ input: Operations.GetWarehouseReceipt.Input) async throws -> Operations.GetWarehouseReceipt.Output {
        let receipt = try await services.warehouse.receipt(input.path.receiptId, scope: try caller.principal.scope)
        return .ok(.init(body: .json(try JSONBridge.convert(receipt, to: W.WarehouseReceipt.self))))
    }

    func putAwayWarehouseReceipt(_ input: Operations.PutAwayWarehouseReceipt.Input) async throws -> Operations.PutAwayWarehouseReceipt.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let receipt = try await services.warehouse.putAway(receipt: input.path.receiptId, b.lines.map { ($0.line, $0.bin, $0.quantity) },
                                                           caller: try caller)
        return .ok(.init(body: .json(try JSONBridge.convert(receipt, to: W.WarehouseReceipt.self))))
    }

    func listPickWaves(_ input: Operations.ListPickWaves.Input) async throws -> Operations.ListPickWaves.Output {
        let waves = try await services.warehouse.waves(warehouse: input.path.locationId, status: input.query.status.flatMap { WaveStatus(rawValue: $0.rawValue) },
                                                       scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: try waves.map { try JSONBridge.convert($0, to: W.PickWave.self) }))))
    }

    func createPickWave(_ input: Operations.CreatePickWave.Input) async throws -> Operations.CreatePickWave.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let wave = try await services.warehouse.createWave(warehouse: input.path.locationId, fulfillmentOrderIds: b.fulfillmentOrderIds,
                                                           limit: b.limit ?? 200, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(wave, to: W.PickWave.self))))
    }

    func getPickWave(_ input: Operations.GetPickWave.Input) async throws -> Operations.GetPickWave.Output {
        let wave = try await services.warehouse.wave(input.path.waveId, scope: try caller.principal.scope)
        return .ok(.init(body: .json(try JSONBridge.convert(wave, to: W.PickWave.self))))
    }

    func confirmPicks(_ input: Operations.ConfirmPicks.Input) async throws -> Operations.ConfirmPicks.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let wave = try await services.warehouse.pick(wave: input.path.waveId, b.picks.map { ($0.seq, $0.quantity) }, caller: try caller)
        return .ok(.init(body: .json(try JSONBridge.convert(wave, to: W.PickWave.self))))
    }

    func countBin(_ input: Operations.CountBin.Input) async throws -> Operations.CountBin.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let count = try await services.warehouse.count(warehouse: input.path.locationId, bin: b.bin, (b.lines ?? []).map { ($0.sku, $0.counted) },
                                                       complete: b.complete ?? false, caller: try caller)
        return .ok(.init(body: .json(try JSONBridge.convert(count, to: W.BinCount.self))))
    }
}
