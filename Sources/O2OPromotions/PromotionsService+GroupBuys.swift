import Foundation
import O2OCore
import SQLKit

/// 团购: a SKU at the group price for members who form a group of `groupSize` within
/// `formWithinMinutes` of its opening. A member opens a group or joins one by ordering the SKU;
/// each order waits (a hold) until its group fills, and a group that does not fill in time
/// dissolves: its orders are cancelled and refunded.
public struct GroupBuyDraft: Codable, Sendable, Equatable {
    public var name: String
    public var skuId: String
    public var price: Int64
    public var currency: String
    public var groupSize: Int
    public var formWithinMinutes: Int
    /// Units a member may hold at the group price across all the groups of this group buy.
    public var perMemberLimit: Int64
    public var startsAt: Date
    public var endsAt: Date

    public init(name: String, skuId: String, price: Int64, currency: String = "CNY", groupSize: Int, formWithinMinutes: Int = 1_440,
                perMemberLimit: Int64 = 1, startsAt: Date, endsAt: Date) {
        self.name = name
        self.skuId = skuId
        self.price = price
        self.currency = currency
        self.groupSize = groupSize
        self.formWithinMinutes = formWithinMinutes
        self.perMemberLimit = perMemberLimit
        self.startsAt = startsAt
        self.endsAt = endsAt
    }
}

public struct GroupBuy: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var name: String
    public var skuId: String
    public var price: Int64
    public var currency: String
    public var groupSize: Int
    public var formWithinMinutes: Int
    public var perMemberLimit: Int64
    public var startsAt: Date
    public var endsAt: Date
    public var status: String
    public var createdAt: Date
}

public enum GroupStatus: String, Codable, Sendable, CaseIterable {
    /// Open: members may join until it is full or its time runs out.
    case forming
    /// Full: its members' orders go on at the group price.
    case formed
    /// Not full in time (or everyone left): its members' orders are cancelled and refunded.
    case dissolved
}

/// One group of a group buy: who opened it, how many have joined of how many it needs, and until when.
public struct BuyingGroup: Codable, Sendable, Equatable, Identifiable {
    public struct Participant: Codable, Sendable, Equatable {
        public var memberId: String
        public var orderId: String
        public var quantity: Int64
        public var joinedAt: Date
        /// When their order left the group (cancelled); nil while in it.
        public var leftAt: Date?
    }
    public var id: String
    public var groupBuyId: String
    public var leaderMemberId: String
    public var size: Int
    public var joined: Int
    public var status: GroupStatus
    public var openedAt: Date
    public var expiresAt: Date
    public var formedAt: Date?
    public var dissolvedAt: Date?
    public var participants: [Participant]
}

/// What joining did: the group as it stands, and when this order filled it, the other orders of
/// the group that wait no longer.
public struct GroupJoin: Sendable, Equatable {
    public var group: BuyingGroup
    public var filledBy: Bool
    public var otherOrderIds: [String]
}

extension PromotionsService {
    public static let maxGroupSize = 100

    public func createGroupBuy(_ d: GroupBuyDraft, caller: Caller) async throws -> GroupBuy {
        var v = Validator()
        v.text(d.name, "name", max: 200)
        v.text(d.skuId, "skuId", max: 100)
        v.check(d.price >= 0, "price", "must not be negative")
        v.currency(d.currency, "currency")
        v.check((2...Self.maxGroupSize).contains(d.groupSize), "groupSize", "must be from 2 to \(Self.maxGroupSize)")
        v.check((1...43_200).contains(d.formWithinMinutes), "formWithinMinutes", "must be from 1 to 43200 (30 days)")
        v.check((1...1_000).contains(d.perMemberLimit), "perMemberLimit", "must be from 1 to 1000")
        v.check(d.endsAt > d.startsAt, "endsAt", "must be after startsAt")
        try v.finish()
        let now = clock.instant()
        let g = GroupBuy(id: O2OID.make("gby", at: now), name: d.name, skuId: d.skuId, price: d.price, currency: d.currency, groupSize: d.groupSize,
                         formWithinMinutes: d.formWithinMinutes, perMemberLimit: d.perMemberLimit, startsAt: d.startsAt, endsAt: d.endsAt,
                         status: "active", createdAt: now)
        return try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO group_buys (id, name, sku_id, price, currency, group_size, form_within_minutes, per_member_limit, starts_at, ends_at,
                    status, created_at, updated_at)
                VALUES (\(bind: g.id), \(bind: g.name), \(bind: g.skuId), \(bind: g.price), \(bind: g.currency), \(bind: g.groupSize),
                    \(bind: g.formWithinMinutes), \(bind: g.perMemberLimit), \(bind: g.startsAt.epochMillis), \(bind: g.endsAt.epochMillis), 'active',
                    \(bind: now.epochMillis), \(bind: now.epochMillis))
                """).run()
            try await self.record(tx, caller, "create", entityType: "group_buy", entityId: g.id, before: GroupBuy?.none, after: g,
                                  event: "group_buy.created")
            return g
        }
    }

    public func groupBuy(_ id: String) async throws -> GroupBuy {
        guard let g = try await db.read({ try await Self.groupBuy(id, $0) }) else { throw Problem.notFound("group buy", id) }
        return g
    }

    /// Group buys, newest first; `running` only those open for new groups now.
    public func groupBuys(running: Bool = false, skuId: String? = nil, limit: Int = 50, cursor: String? = nil) async throws -> Page<GroupBuy> {
        try await skuDeals("group_buys", running: running, skuId: skuId, limit: limit, cursor: cursor, map: Self.groupBuy(row:), id: \.id)
    }

    /// How many groups each group buy has opened, by status (one grouped read; a group buy with
    /// none is absent).
    public func groupCounts(of groupBuyIds: [String]) async throws -> [String: [GroupStatus: Int]] {
        guard !groupBuyIds.isEmpty else { return [:] }
        let rows = try await db.read { sql in
            try await sql.raw("""
                SELECT group_buy_id, status, COUNT(*) AS n FROM buying_groups
                WHERE group_buy_id IN \(SQLQueryString.list(groupBuyIds)) GROUP BY group_buy_id, status
                """).all()
        }
        var out: [String: [GroupStatus: Int]] = [:]
        for r in rows {
            guard let status = GroupStatus(rawValue: try r.decode(column: "status", as: String.self)) else { continue }
            out[try r.decode(column: "group_buy_id", as: String.self), default: [:]][status] = try r.decode(column: "n", as: Int.self)
        }
        return out
    }

    /// The groups of a group buy, newest first: by default those still forming, which a member may join.
    public func groups(of groupBuyId: String, status: GroupStatus? = .forming, limit: Int = 50, cursor: String? = nil) async throws -> Page<BuyingGroup> {
        var v = Validator()
        v.range(limit, "limit", 1...Self.maxListed)
        try v.finish()
        _ = try await groupBuy(groupBuyId)
        var q: SQLQueryString = "SELECT * FROM buying_groups WHERE group_buy_id = \(bind: groupBuyId)"
        if let status { q += " AND status = \(bind: status.rawValue)" }
        if status == .forming { q += " AND expires_at > \(bind: clock.instant().epochMillis)" }
        var page = try await db.page(q, limit: limit, cursor: cursor, order: .newestFirst, map: { try Self.group(row: $0, participants: []) }, id: \.id)
        for i in page.items.indices { page.items[i] = try await group(page.items[i].id) }
        return page
    }

    public func group(_ id: String) async throws -> BuyingGroup {
        guard let g = try await db.read({ try await Self.group(id, $0) }) else { throw Problem.notFound("group", id) }
        return g
    }

    /// The group buy a new order's line would be priced by, checked for `memberId` at `at`: running,
    /// in the cart's currency, `quantity` within the member's limit, and the group to join (when
    /// named) still forming with room and without the member. Any of these not so: 404 for an
    /// unknown id, 409 saying which (nothing is written: this only reads).
    public func groupBuyOffer(_ id: String, groupId: String?, memberId: String, quantity: Int64, at: Date) async throws -> GroupBuy {
        try await db.read { sql in
            guard let g = try await Self.groupBuy(id, sql) else { throw Problem.notFound("group buy", id) }
            if let groupId {
                guard let group = try await Self.group(groupId, sql), group.groupBuyId == id else { throw Problem.notFound("group", groupId) }
                try Self.checkJoinable(group, memberId: memberId, at: at)
            } else if g.status != "active" || at < g.startsAt || at >= g.endsAt {
                throw PromotionsError.groupBuyNotRunning(groupBuyId: id)
            }
            let held = try await sql.raw("""
                SELECT units FROM group_buy_members WHERE group_buy_id = \(bind: id) AND member_id = \(bind: memberId)
                """).first()?.decode(column: "units", as: Int64.self) ?? 0
            if held + quantity > g.perMemberLimit {
                throw PromotionsError.groupBuyLimitReached(groupBuyId: id, limit: g.perMemberLimit, held: held, requested: quantity)
            }
            return g
        }
    }

    /// Takes the order into a group inside the order's transaction: a new group opened by the
    /// member when `groupId` is nil, else a place in that group. A group never takes more than its
    /// size (a conditional UPDATE of its row: `joined < size`, still forming, not expired) and a
    /// member never more units than the limit across the group buy's groups (a conditional UPDATE
    /// of their row), so concurrent joins cannot overfill it; the join that fills it marks it
    /// formed. A member already in the group, a group full, formed, dissolved or out of time: 409.
    public func joinGroup(_ groupBuyId: String, groupId: String?, memberId: String, orderId: String, quantity: Int64, caller: Caller,
                          in tx: Transaction) async throws -> GroupJoin {
        let now = clock.instant()
        guard let buy = try await Self.groupBuy(groupBuyId, tx.sql) else { throw Problem.notFound("group buy", groupBuyId) }
        let id: String
        var filled = false
        if let groupId {
            // The group's row first, then the member's: every join locks in this order.
            guard let row = try await tx.sql.raw("""
                UPDATE buying_groups SET joined = joined + 1,
                    status = CASE WHEN joined + 1 >= size THEN 'formed' ELSE status END,
                    formed_at = CASE WHEN joined + 1 >= size THEN \(bind: now.epochMillis) ELSE formed_at END
                WHERE id = \(bind: groupId) AND group_buy_id = \(bind: groupBuyId) AND status = 'forming' AND joined < size
                  AND expires_at > \(bind: now.epochMillis)
                RETURNING id, status
                """).first() else {
                guard let group = try await Self.group(groupId, tx.sql), group.groupBuyId == groupBuyId else { throw Problem.notFound("group", groupId) }
                try Self.checkJoinable(group, memberId: memberId, at: now)
                throw PromotionsError.groupNotJoinable(groupId: groupId, status: group.status, joined: group.joined, size: group.size)
            }
            id = try row.decode(column: "id", as: String.self)
            filled = try row.decode(column: "status", as: String.self) == GroupStatus.formed.rawValue
        } else {
            guard buy.status == "active", now >= buy.startsAt, now < buy.endsAt else { throw PromotionsError.groupBuyNotRunning(groupBuyId: groupBuyId) }
            id = O2OID.make("grp", at: now)
            try await tx.sql.raw("""
                INSERT INTO buying_groups (id, group_buy_id, leader_member_id, size, joined, status, opened_at, expires_at, formed_at, dissolved_at)
                VALUES (\(bind: id), \(bind: groupBuyId), \(bind: memberId), \(bind: buy.groupSize), 1, 'forming', \(bind: now.epochMillis),
                    \(bind: now.addingTimeInterval(Double(buy.formWithinMinutes) * 60).epochMillis), NULL, NULL)
                """).run()
        }
        try await tx.sql.raw("""
            INSERT INTO group_buy_members (group_buy_id, member_id, units) VALUES (\(bind: groupBuyId), \(bind: memberId), 0)
            ON CONFLICT (group_buy_id, member_id) DO NOTHING
            """).run()
        guard try await tx.sql.raw("""
            UPDATE group_buy_members SET units = units + \(bind: quantity)
            WHERE group_buy_id = \(bind: groupBuyId) AND member_id = \(bind: memberId) AND units + \(bind: quantity) <= \(bind: buy.perMemberLimit)
            RETURNING units
            """).first() != nil else {
            let held = try await tx.sql.raw("""
                SELECT units FROM group_buy_members WHERE group_buy_id = \(bind: groupBuyId) AND member_id = \(bind: memberId)
                """).first()?.decode(column: "units", as: Int64.self) ?? 0
            throw PromotionsError.groupBuyLimitReached(groupBuyId: groupBuyId, limit: buy.perMemberLimit, held: held, requested: quantity)
        }
        // A member who left the group (their order cancelled) may come back with a new order; one in it may not join twice.
        guard try await tx.sql.raw("""
            INSERT INTO buying_group_participants (group_id, member_id, order_id, quantity, joined_at, left_at)
            VALUES (\(bind: id), \(bind: memberId), \(bind: orderId), \(bind: quantity), \(bind: now.epochMillis), NULL)
            ON CONFLICT (group_id, member_id) DO UPDATE SET order_id = excluded.order_id, quantity = excluded.quantity,
                joined_at = excluded.joined_at, left_at = NULL
            WHERE buying_group_participants.left_at IS NOT NULL
            RETURNING member_id
            """).first() != nil else { throw PromotionsError.alreadyInGroup(groupId: id, memberId: memberId) }
        let group = try await Self.group(id, tx.sql)!
        try await record(tx, caller, "join", entityType: "buying_group", entityId: id, before: BuyingGroup?.none, after: group,
                         event: filled ? "group_buy.group_formed" : "group_buy.group_joined")
        let others = filled ? group.participants.filter { $0.leftAt == nil && $0.orderId != orderId }.map(\.orderId) : []
        return GroupJoin(group: group, filledBy: filled, otherOrderIds: others)
    }

    /// Takes a cancelled order out of its group, inside the cancelling transaction: its units go
    /// back to the member's limit and, while the group is forming, its place is free again (a group
    /// everyone left dissolves). A formed group stays formed. Twice, or an order in no group: a no-op.
    public func leaveGroup(orderId: String, caller: Caller, in tx: Transaction) async throws {
        guard let p = try await tx.sql.raw("""
            SELECT p.group_id, p.member_id, p.quantity, g.group_buy_id FROM buying_group_participants p JOIN buying_groups g ON g.id = p.group_id
            WHERE p.order_id = \(bind: orderId) AND p.left_at IS NULL
            """).first() else { return }
        let groupId = try p.decode(column: "group_id", as: String.self)
        let memberId = try p.decode(column: "member_id", as: String.self)
        let now = clock.instant().epochMillis
        let before = try await Self.group(groupId, tx.sql)
        try await tx.sql.raw("""
            UPDATE buying_groups SET joined = joined - 1,
                status = CASE WHEN joined - 1 <= 0 THEN 'dissolved' ELSE status END,
                dissolved_at = CASE WHEN joined - 1 <= 0 THEN \(bind: now) ELSE dissolved_at END
            WHERE id = \(bind: groupId) AND status = 'forming'
            """).run()
        guard try await tx.sql.raw("""
            UPDATE buying_group_participants SET left_at = \(bind: now) WHERE group_id = \(bind: groupId) AND member_id = \(bind: memberId)
              AND left_at IS NULL RETURNING member_id
            """).first() != nil else { return }
        try await tx.sql.raw("""
            UPDATE group_buy_members SET units = units - \(bind: try p.decode(column: "quantity", as: Int64.self))
            WHERE group_buy_id = \(bind: try p.decode(column: "group_buy_id", as: String.self)) AND member_id = \(bind: memberId)
            """).run()
        try await record(tx, caller, "leave", entityType: "buying_group", entityId: groupId, before: before, after: try await Self.group(groupId, tx.sql),
                         event: "group_buy.group_left")
    }

    /// Marks the groups whose time ran out before they filled as dissolved; returns how many.
    /// Safe in several processes at once (each group turns once).
    @discardableResult
    public func dissolveExpiredGroups(limit: Int = 100) async throws -> Int {
        let now = clock.instant()
        return try await db.write { tx in
            let ids = try await tx.sql.raw("""
                UPDATE buying_groups SET status = 'dissolved', dissolved_at = \(bind: now.epochMillis)
                WHERE id IN (SELECT id FROM buying_groups WHERE status = 'forming' AND expires_at <= \(bind: now.epochMillis) ORDER BY expires_at
                             LIMIT \(literal: limit))
                  AND status = 'forming'
                RETURNING id
                """).all().map { try $0.decode(column: "id", as: String.self) }
            for id in ids.sorted() {
                try await self.record(tx, .system, "dissolve", entityType: "buying_group", entityId: id, before: BuyingGroup?.none,
                                      after: try await Self.group(id, tx.sql), event: "group_buy.group_dissolved")
            }
            return ids.count
        }
    }

    /// The orders still in a dissolved group, with why: each is to be cancelled and refunded
    /// (cancelling takes it out of the group).
    public func ordersOfDissolvedGroups(limit: Int = 100) async throws -> [(orderId: String, reason: String)] {
        try await db.read { sql in
            try await sql.raw("""
                SELECT p.order_id, g.id, g.joined, g.size, b.name FROM buying_group_participants p
                JOIN buying_groups g ON g.id = p.group_id JOIN group_buys b ON b.id = g.group_buy_id
                WHERE g.status = 'dissolved' AND p.left_at IS NULL ORDER BY p.order_id LIMIT \(literal: limit)
                """).all().map { r in
                (try r.decode(column: "order_id", as: String.self),
                 "group buy \(try r.decode(column: "name", as: String.self)): group \(try r.decode(column: "id", as: String.self)) did not fill in time "
                    + "(\(try r.decode(column: "joined", as: Int.self)) of \(try r.decode(column: "size", as: Int.self)))")
            }
        }
    }

    /// Of `orderIds`, those in a group that has formed: they wait no longer.
    public func ordersInFormedGroups(_ orderIds: [String]) async throws -> [String] {
        guard !orderIds.isEmpty else { return [] }
        return try await db.read { sql in
            var out: [String] = []
            for chunk in stride(from: 0, to: orderIds.count, by: 500).map({ Array(orderIds[$0..<min($0 + 500, orderIds.count)]) }) {
                out += try await sql.raw("""
                    SELECT p.order_id FROM buying_group_participants p JOIN buying_groups g ON g.id = p.group_id
                    WHERE p.order_id IN \(SQLQueryString.list(chunk)) AND p.left_at IS NULL AND g.status = 'formed'
                    """).all().map { try $0.decode(column: "order_id", as: String.self) }
            }
            return out.sorted()
        }
    }

    /// The group an order is in (or was in, when it left), if any.
    public func group(ofOrder orderId: String) async throws -> BuyingGroup? {
        try await db.read { sql in
            guard let id = try await sql.raw("""
                SELECT group_id FROM buying_group_participants WHERE order_id = \(bind: orderId) ORDER BY joined_at DESC LIMIT 1
                """).first()?.decode(column: "group_id", as: String.self) else { return nil }
            return try await Self.group(id, sql)
        }
    }

    static func checkJoinable(_ g: BuyingGroup, memberId: String, at: Date) throws {
        if g.participants.contains(where: { $0.memberId == memberId && $0.leftAt == nil }) {
            throw PromotionsError.alreadyInGroup(groupId: g.id, memberId: memberId)
        }
        if g.status != .forming || g.joined >= g.size || at >= g.expiresAt {
            throw PromotionsError.groupNotJoinable(groupId: g.id, status: at >= g.expiresAt && g.status == .forming ? .dissolved : g.status,
                                                   joined: g.joined, size: g.size)
        }
    }

    static func groupBuy(_ id: String, _ sql: any SQLDatabase) async throws -> GroupBuy? {
        try await sql.raw("SELECT * FROM group_buys WHERE id = \(bind: id)").first().map(groupBuy(row:))
    }

    static func groupBuy(row r: any SQLRow) throws -> GroupBuy {
        GroupBuy(id: try r.decode(column: "id", as: String.self), name: try r.decode(column: "name", as: String.self),
                 skuId: try r.decode(column: "sku_id", as: String.self), price: try r.decode(column: "price", as: Int64.self),
                 currency: try r.decode(column: "currency", as: String.self), groupSize: try r.decode(column: "group_size", as: Int.self),
                 formWithinMinutes: try r.decode(column: "form_within_minutes", as: Int.self),
                 perMemberLimit: try r.decode(column: "per_member_limit", as: Int64.self),
                 startsAt: Date(epochMillis: try r.decode(column: "starts_at", as: Int64.self)),
                 endsAt: Date(epochMillis: try r.decode(column: "ends_at", as: Int64.self)), status: try r.decode(column: "status", as: String.self),
                 createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func group(_ id: String, _ sql: any SQLDatabase) async throws -> BuyingGroup? {
        guard let r = try await sql.raw("SELECT * FROM buying_groups WHERE id = \(bind: id)").first() else { return nil }
        let participants = try await sql.raw("""
            SELECT * FROM buying_group_participants WHERE group_id = \(bind: id) ORDER BY joined_at, member_id
            """).all().map { p in
            BuyingGroup.Participant(memberId: try p.decode(column: "member_id", as: String.self), orderId: try p.decode(column: "order_id", as: String.self),
                                    quantity: try p.decode(column: "quantity", as: Int64.self),
                                    joinedAt: Date(epochMillis: try p.decode(column: "joined_at", as: Int64.self)),
                                    leftAt: try p.decode(column: "left_at", as: Int64?.self).map(Date.init(epochMillis:)))
        }
        return try group(row: r, participants: participants)
    }

    static func group(row r: any SQLRow, participants: [BuyingGroup.Participant]) throws -> BuyingGroup {
        BuyingGroup(id: try r.decode(column: "id", as: String.self), groupBuyId: try r.decode(column: "group_buy_id", as: String.self),
                    leaderMemberId: try r.decode(column: "leader_member_id", as: String.self), size: try r.decode(column: "size", as: Int.self),
                    joined: try r.decode(column: "joined", as: Int.self),
                    status: GroupStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .forming,
                    openedAt: Date(epochMillis: try r.decode(column: "opened_at", as: Int64.self)),
                    expiresAt: Date(epochMillis: try r.decode(column: "expires_at", as: Int64.self)),
                    formedAt: try r.decode(column: "formed_at", as: Int64?.self).map(Date.init(epochMillis:)),
                    dissolvedAt: try r.decode(column: "dissolved_at", as: Int64?.self).map(Date.init(epochMillis:)), participants: participants)
    }
}
