import Foundation
import O2OCore
import O2OFulfillment
import O2OInventory
import O2ONetwork

extension DemoData {
    /// The main warehouse's opening stock goes in as the warehouse does it: bins in eight zones
    /// along one walk, a supplier delivery per 500 SKUs, each put away where the receipt suggests.
    func receiveIntoBins(_ warehouse: Location, _ lines: [InventoryService.MovementLine]) async throws {
        let wms = services.warehouse
        let zones = ["A", "B", "C", "D", "E", "F", "G", "H"]
        let count = max(8, lines.count)
        var made = 0
        while made < count {
            let n = min(WarehouseService.maxBinsPerRequest, count - made)
            _ = try await wms.createBins(warehouse: warehouse.id, (made..<(made + n)).map { i in
                let aisle = i * zones.count / count
                return .init(code: String(format: "%@-%04d", zones[aisle], i + 1), zone: zones[aisle], path: i, capacity: 500)
            }, caller: .system)
            made += n
        }
        for start in stride(from: 0, to: lines.count, by: 500) {
            let chunk = lines[start..<min(start + 500, lines.count)]
            let r = try await wms.receive(warehouse: warehouse.id, .init(source: .supplier, reference: "OPENING-\(start / 500 + 1)",
                                                                        lines: chunk.map { ($0.sku, $0.quantity) }), caller: .system)
            let moves = r.lines.flatMap { l in l.suggestions.map { (line: l.line, bin: $0.binId, quantity: $0.quantity) } }
            if !moves.isEmpty { _ = try await wms.putAway(receipt: r.id, moves, caller: .system) }
        }
    }
}
