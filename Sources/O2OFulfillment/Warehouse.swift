import Foundation
import O2OCore

/// A storage place in a warehouse (库位): a code such as `A-01-02`, its zone, its place on the
/// picking walk (`path`: pick lists follow it) and, optionally, how many units it holds.
public struct Bin: Codable, Sendable, Equatable {
    public var id: String
    public var locationId: String
    public var code: String
    public var zone: String
    public var path: Int
    public var capacity: Int?
    public var createdAt: Date
}

/// Units of one SKU in one bin; `allocated` of them are on open pick lists.
public struct BinStock: Codable, Sendable, Equatable {
    public var binId: String
    public var binCode: String
    public var zone: String
    public var path: Int
    public var skuId: String
    public var quantity: Int
    public var allocated: Int
}

/// A SKU at a warehouse: on hand in the ledger, and where those units are. `dock` is what is on
/// hand but in no bin: received and not yet put away, or picked for work that did not ship
/// (`picked` is what pick lists took from bins for work not yet shipped).
public struct BinBalance: Codable, Sendable, Equatable {
    public var skuId: String
    public var onHand: Int
    public var inBins: Int
    public var picked: Int
    public var dock: Int
}

public enum ReceiptSource: String, Codable, Sendable, CaseIterable {
    /// Goods from another of the brand's locations (调拨入库).
    case transfer
    /// A supplier's delivery (采购入库), by its delivery note number.
    case supplier
}

public enum ReceiptStatus: String, Codable, Sendable { case receiving, putAway = "put_away" }

/// Where a receipt line's units should go: bins already holding the SKU first, then bins with
/// free capacity, both along the picking walk.
public struct PutawaySuggestion: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable { case sameSKU = "same_sku", freeCapacity = "free_capacity" }
    public var binId: String
    public var binCode: String
    public var quantity: Int
    public var reason: Reason
}

public struct ReceiptLine: Codable, Sendable, Equatable {
    public var line: Int
    public var skuId: String
    public var quantity: Int
    public var putAway: Int
    public var suggestions: [PutawaySuggestion]
    /// Units no bin has room for.
    public var unplaced: Int
}

/// 入库: goods counted in at a warehouse (the ledger's receipt or transfer-in), then put away (上架).
public struct WarehouseReceipt: Codable, Sendable, Equatable {
    public var id: String
    public var locationId: String
    public var source: ReceiptSource
    public var reference: String
    public var status: ReceiptStatus
    public var lines: [ReceiptLine]
    public var createdAt: Date
    public var updatedAt: Date
}

public enum WaveStatus: String, Codable, Sendable { case open, picked, cancelled }

/// One stop on a pick list: take `quantity` of a SKU from a bin for one fulfilment order.
public struct PickTask: Codable, Sendable, Equatable {
    public var seq: Int
    public var binId: String
    public var binCode: String
    public var zone: String
    public var path: Int
    public var skuId: String
    public var fulfillmentOrderId: String
    public var quantity: Int
    public var picked: Int
}

/// A fulfilment order left out of a wave, and why (a SKU short in the bins).
public struct WaveShortage: Codable, Sendable, Equatable {
    public var fulfillmentOrderId: String
    public var skuId: String
    public var requested: Int
    public var inBins: Int
}

/// 波次: accepted fulfilment orders at a warehouse picked together, their pick list in walk order.
public struct PickWave: Codable, Sendable, Equatable {
    public var id: String
    public var locationId: String
    public var status: WaveStatus
    public var fulfillmentOrderIds: [String]
    public var tasks: [PickTask]
    public var shortages: [WaveShortage]
    public var createdAt: Date
    public var updatedAt: Date
}

/// A bin counted (库位盘点): what was found against what the bin held; the difference is posted
/// to the ledger as an adjustment.
public struct BinCount: Codable, Sendable, Equatable {
    public struct Line: Codable, Sendable, Equatable {
        public var skuId: String
        public var expected: Int
        public var counted: Int
    }
    public var binId: String
    public var binCode: String
    public var lines: [Line]
    public var at: Date
}

public enum WarehouseMigrations {
    public static let all: [Migration] = [
        Migration(module: "warehouse", version: 1, name: "bins, bin stock, receipts and pick waves", [
            """
            CREATE TABLE warehouse_bins (
                id TEXT PRIMARY KEY, location_id TEXT NOT NULL, code TEXT NOT NULL, zone TEXT NOT NULL, path BIGINT NOT NULL, capacity BIGINT,
                created_at BIGINT NOT NULL, UNIQUE (location_id, code))
            """,
            """
            CREATE TABLE bin_stock (
                bin_id TEXT NOT NULL REFERENCES warehouse_bins(id), sku_id TEXT NOT NULL, location_id TEXT NOT NULL,
                quantity BIGINT NOT NULL CHECK (quantity >= 0), allocated BIGINT NOT NULL CHECK (allocated >= 0 AND allocated <= quantity),
                PRIMARY KEY (bin_id, sku_id))
            """,
            "CREATE INDEX bin_stock_sku ON bin_stock (location_id, sku_id)",
            """
            CREATE TABLE warehouse_receipts (
                id TEXT PRIMARY KEY, location_id TEXT NOT NULL, source TEXT NOT NULL, reference TEXT NOT NULL, status TEXT NOT NULL,
                lines TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, UNIQUE (location_id, source, reference))
            """,
            """
            CREATE TABLE pick_waves (
                id TEXT PRIMARY KEY, location_id TEXT NOT NULL, status TEXT NOT NULL, shortages TEXT NOT NULL, created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX pick_waves_location ON pick_waves (location_id, status)",
            """
            CREATE TABLE pick_tasks (
                wave_id TEXT NOT NULL REFERENCES pick_waves(id), seq BIGINT NOT NULL, bin_id TEXT NOT NULL, sku_id TEXT NOT NULL,
                fulfillment_order_id TEXT NOT NULL, quantity BIGINT NOT NULL, picked BIGINT NOT NULL, PRIMARY KEY (wave_id, seq))
            """,
            "CREATE INDEX pick_tasks_fulfillment_order ON pick_tasks (fulfillment_order_id)",
            // A fulfilment order is on one open wave at most.
            "CREATE TABLE pick_wave_orders (fulfillment_order_id TEXT PRIMARY KEY, wave_id TEXT NOT NULL)",
        ]),
    ]
}
