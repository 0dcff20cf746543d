import Foundation
import O2OCore
import SQLKit

/// The status of a flash sale or a group buy: active ⇄ paused, either → ended, which is final.
/// Only an active one between its start and end sells (a flash sale) or opens new groups (a group
/// buy); the groups a group buy has open may still fill until their own time runs out.
public enum DealStatus: String, Codable, Sendable {
    case active, paused, ended
}

extension PromotionsService {
    /// Pauses, resumes or ends a flash sale. Units claimed stay claimed; asking for the current
    /// status is a no-op; an ended sale is 409.
    public func setFlashSaleStatus(_ id: String, to status: DealStatus, caller: Caller) async throws -> FlashSale {
        try await setDealStatus("flash_sales", entity: "flash_sale", what: "flash sale", id, to: status, caller: caller,
                                read: { try await Self.flashSale(id, $0) }, status: { $0.status })
    }

    /// Pauses, resumes or ends a group buy: while it is not active no new group opens, and the
    /// groups open may still fill in their time. Asking for the current status is a no-op; an
    /// ended group buy is 409.
    public func setGroupBuyStatus(_ id: String, to status: DealStatus, caller: Caller) async throws -> GroupBuy {
        try await setDealStatus("group_buys", entity: "group_buy", what: "group buy", id, to: status, caller: caller,
                                read: { try await Self.groupBuy(id, $0) }, status: { $0.status })
    }

    /// One conditional UPDATE from a status that may become `status`, audited with a
    /// `ENTITY.activated|paused|ended` event; no row changed tells 404, no-op and 409 apart.
    func setDealStatus<T: Codable & Sendable>(_ table: String, entity: String, what: String, _ id: String, to status: DealStatus,
                                             caller: Caller, read: @escaping @Sendable (any SQLDatabase) async throws -> T?,
                                             status current: @escaping @Sendable (T) -> String) async throws -> T {
        let now = clock.instant().epochMillis
        let (from, action, event): ([DealStatus], String, String) = switch status {
        case .active: ([.paused], "activate", "activated")
        case .paused: ([.active], "pause", "paused")
        case .ended: ([.active, .paused], "end", "ended")
        }
        return try await db.write { tx in
            guard let before = try await read(tx.sql) else { throw Problem.notFound(what, id) }
            let was = current(before)
            if was == status.rawValue { return before }
            let changed = try await tx.sql.raw("""
                UPDATE \(unsafeRaw: table) SET status = \(bind: status.rawValue), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND status IN \(SQLQueryString.list(from.map(\.rawValue))) RETURNING id
                """).first()
            guard changed != nil, let after = try await read(tx.sql) else {
                throw PromotionsError.invalidDealTransition(id: id, what: what, from: was, to: status.rawValue)
            }
            try await self.record(tx, caller, action, entityType: entity, entityId: id, before: before, after: after, event: "\(entity).\(event)")
            return after
        }
    }

    /// A page of a table of SKU deals (flash sales, group buys: `sku_id`, `status`, `starts_at`,
    /// `ends_at`), newest first; `running` only those active between their start and end now.
    func skuDeals<T: Sendable>(_ table: String, running: Bool, skuId: String?, limit: Int, cursor: String?,
                               map: (any SQLRow) throws -> T, id: (T) -> String) async throws -> Page<T> {
        var v = Validator()
        v.range(limit, "limit", 1...Self.maxListed)
        try v.finish()
        let now = clock.instant().epochMillis
        var q: SQLQueryString = "SELECT * FROM \(unsafeRaw: table) WHERE 1=1"
        if running { q += " AND status = 'active' AND starts_at <= \(bind: now) AND ends_at > \(bind: now)" }
        if let skuId { q += " AND sku_id = \(bind: skuId)" }
        return try await db.page(q, limit: limit, cursor: cursor, order: .newestFirst, map: map, id: id)
    }
}
