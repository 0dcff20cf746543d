import Foundation
import O2OCore
import SQLKit

// MARK: - Change feed: what each channel may promise, published when it changes, debounced

extension InventoryService {
    /// Marks the SKUs whose stock moved; the feed recomputes their ATP later, once per burst.
    static func markChanged(_ skus: [String], _ tx: Transaction, at now: Date) async throws {
        guard !skus.isEmpty else { return }
        var q: SQLQueryString = "INSERT INTO inventory_atp_dirty (sku_id, since) VALUES "
        for (i, sku) in Set(skus).sorted().enumerated() { q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: sku), \(bind: now.epochMillis))" }
        q += " ON CONFLICT (sku_id) DO NOTHING"
        try await tx.sql.raw(q).run()
    }

    /// Recomputes every channel's ATP for SKUs whose stock moved at least `debounce` seconds ago
    /// and emits one `inventory.atp_changed` event per channel listing the SKUs whose promise
    /// changed since it was last published. Returns the number of events. Safe in several
    /// processes: each marked SKU is taken by one of them.
    @discardableResult
    public func publishATPChanges(debounce: TimeInterval = 2, limit: Int = 200) async throws -> Int {
        let now = clock.instant()
        let due = now.addingTimeInterval(-debounce).epochMillis
        // Most rounds find nothing: look before taking the writer.
        guard try await db.read({ try await $0.raw("SELECT sku_id FROM inventory_atp_dirty WHERE since <= \(bind: due) LIMIT 1").first() }) != nil
        else { return 0 }
        let channels = try await directory.channels().map(\.id)
        return try await db.write { tx in
            let taken = try await tx.sql.raw("""
                DELETE FROM inventory_atp_dirty WHERE sku_id IN (
                    SELECT sku_id FROM inventory_atp_dirty WHERE since <= \(bind: due)
                    ORDER BY since LIMIT \(literal: limit))
                RETURNING sku_id
                """).all().map { try $0.decode(column: "sku_id", as: String.self) }.sorted()
            guard !taken.isEmpty else { return 0 }
            var events = 0
            for channel in channels {
                let (_, atp) = try await self.atp(channel: channel, skus: taken)
                let published = try await tx.sql.raw("""
                    SELECT sku_id, shipping, pickup FROM inventory_atp_published
                    WHERE channel_id = \(bind: channel) AND sku_id IN \(SQLQueryString.list(taken))
                    """).all()
                var last: [String: (Int, Int)] = [:]
                for r in published {
                    last[try r.decode(column: "sku_id", as: String.self)] = (try r.decode(column: "shipping", as: Int.self),
                                                                             try r.decode(column: "pickup", as: Int.self))
                }
                let changed = atp.filter { a in last[a.skuId].map { $0 != (a.shipping, a.pickup) } ?? (a.shipping > 0 || a.pickup > 0) }
                guard !changed.isEmpty else { continue }
                var q: SQLQueryString = "INSERT INTO inventory_atp_published (channel_id, sku_id, shipping, pickup, at) VALUES "
                for (i, a) in changed.enumerated() {
                    q += "\(unsafeRaw: i == 0 ? "" : ",")(\(bind: channel), \(bind: a.skuId), \(bind: a.shipping), \(bind: a.pickup), \(bind: now.epochMillis))"
                }
                q += " ON CONFLICT (channel_id, sku_id) DO UPDATE SET shipping = excluded.shipping, pickup = excluded.pickup, at = excluded.at"
                try await tx.sql.raw(q).run()
                let payload = ATPChange(channelId: channel, items: changed.map { .init(skuId: $0.skuId, shipping: $0.shipping, pickup: $0.pickup) })
                try await Outbox.enqueue(tx, DomainEvent(type: "inventory.atp_changed", entityType: "channel", entityId: channel,
                                                         payload: JSONCoding.string(payload), organisationId: nil, locationId: nil), at: now)
                events += 1
            }
            return events
        }
    }
}

/// The payload of `inventory.atp_changed`.
public struct ATPChange: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var skuId: String
        public var shipping: Int
        public var pickup: Int
    }
    public var channelId: String
    public var items: [Item]
}
