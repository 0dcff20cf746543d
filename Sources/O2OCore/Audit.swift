import Foundation
import SQLKit

/// An audit row: who changed what, from which state to which, for which request.
public struct AuditEvent: Sendable, Codable {
    public var id: String
    public var at: Date
    public var actorId: String
    public var actorKind: String
    public var action: String
    public var entityType: String
    public var entityId: String
    public var before: String?
    public var after: String?
    public var requestId: String?
    public var organisationId: String?
    public var locationId: String?
}

/// A domain event bound for the outbox; delivered to webhook endpoints after commit.
public struct DomainEvent: Sendable {
    public var type: String
    public var entityType: String
    public var entityId: String
    public var payload: String
    public var organisationId: String?
    public var locationId: String?

    /// `payload` is the event's data as JSON text.
    public init(type: String, entityType: String, entityId: String, payload: String, organisationId: String?, locationId: String?) {
        self.type = type
        self.entityType = entityType
        self.entityId = entityId
        self.payload = payload
        self.organisationId = organisationId
        self.locationId = locationId
    }
}

public enum JSONCoding {
    public static func string<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
    }
}

/// Records every state change in the same transaction as the change: an audit row and,
/// when given, a domain event in the outbox.
public struct ChangeRecorder: Sendable {
    public let clock: any O2OClock
    public init(clock: any O2OClock) { self.clock = clock }

    public func record<E: Encodable>(
        _ tx: Transaction, caller: Caller, action: String, entityType: String, entityId: String,
        before: E?, after: E?, organisationId: String?, locationId: String?, event: String? = nil
    ) async throws {
        let now = clock.instant()
        let beforeJSON = before.map { JSONCoding.string($0) }
        let afterJSON = after.map { JSONCoding.string($0) }
        try await tx.sql.raw("""
            INSERT INTO audit_events (id, at, actor_id, actor_kind, action, entity_type, entity_id, before_json, after_json, request_id, organisation_id, location_id)
            VALUES (\(bind: O2OID.make("aud", at: now)), \(bind: now.epochMillis), \(bind: caller.principal.id), \(bind: caller.principal.kind.rawValue),
                    \(bind: action), \(bind: entityType), \(bind: entityId), \(bind: beforeJSON), \(bind: afterJSON),
                    \(bind: caller.requestId), \(bind: organisationId), \(bind: locationId))
            """).run()
        if let event, let payload = afterJSON ?? beforeJSON {
            // The event carries the entity as the audit row does: encoded once.
            try await Outbox.enqueue(tx, DomainEvent(type: event, entityType: entityType, entityId: entityId, payload: payload,
                                                     organisationId: organisationId, locationId: locationId), at: now)
        }
    }
}

public struct AuditQuery: Sendable {
    public var entityType: String?
    public var entityId: String?
    public var limit: Int
    public var cursor: String?
    public init(entityType: String? = nil, entityId: String? = nil, limit: Int = 50, cursor: String? = nil) {
        self.entityType = entityType
        self.entityId = entityId
        self.limit = limit
        self.cursor = cursor
    }
}

public struct AuditLog: Sendable {
    public let db: Database
    public init(db: Database) { self.db = db }

    /// Newest first; rows outside the scope are not returned.
    public func list(_ q: AuditQuery, scope: Scope) async throws -> Page<AuditEvent> {
        var sql: SQLQueryString = "SELECT * FROM audit_events WHERE 1=1"
        if let t = q.entityType { sql += " AND entity_type = \(bind: t)" }
        if let i = q.entityId { sql += " AND entity_id = \(bind: i)" }
        sql += scope.sqlFilter(organisationColumn: "organisation_id", locationColumn: "location_id")
        return try await db.page(sql, limit: q.limit, cursor: q.cursor, order: .newestFirst, map: { r in
            AuditEvent(
                id: try r.decode(column: "id", as: String.self),
                at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
                actorId: try r.decode(column: "actor_id", as: String.self),
                actorKind: try r.decode(column: "actor_kind", as: String.self),
                action: try r.decode(column: "action", as: String.self),
                entityType: try r.decode(column: "entity_type", as: String.self),
                entityId: try r.decode(column: "entity_id", as: String.self),
                before: try r.decode(column: "before_json", as: String?.self),
                after: try r.decode(column: "after_json", as: String?.self),
                requestId: try r.decode(column: "request_id", as: String?.self),
                organisationId: try r.decode(column: "organisation_id", as: String?.self),
                locationId: try r.decode(column: "location_id", as: String?.self))
        }, id: \.id)
    }
}

/// A page of a cursor-paginated list: the cursor is the last item's (time-sortable) id.
public struct Page<T: Sendable>: Sendable {
    public var items: [T]
    public var nextCursor: String?

    /// `fetched` holds up to `limit + 1` rows; the extra one only says there is more.
    public init(items fetched: [T], limit: Int, cursor: (T) -> String) {
        if fetched.count > limit {
            items = Array(fetched.prefix(limit))
            nextCursor = items.last.map(cursor)
        } else {
            items = fetched
            nextCursor = nil
        }
    }

    public init(items: [T], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

public enum PageOrder: Sendable { case oldestFirst, newestFirst }

extension Database {
    /// One cursor-paginated read. `query` selects from a table with a time-sortable `id` and filters
    /// (`SELECT … WHERE …`); the cursor condition, the order and the limit are added here.
    public func page<T: Sendable>(
        _ query: SQLQueryString, limit: Int, cursor: String?, order: PageOrder = .oldestFirst,
        map: (any SQLRow) throws -> T, id: (T) -> String
    ) async throws -> Page<T> {
        var q = query
        switch order {
        case .oldestFirst:
            if let cursor { q += " AND id > \(bind: cursor)" }
            q += " ORDER BY id"
        case .newestFirst:
            if let cursor { q += " AND id < \(bind: cursor)" }
            q += " ORDER BY id DESC"
        }
        q += " LIMIT \(literal: limit + 1)"
        let final = q
        let rows = try await read { try await $0.raw(final).all() }
        return Page(items: try rows.map(map), limit: limit, cursor: id)
    }
}

extension Scope {
    /// The one place a scope becomes SQL: `AND …` restricting rows to what the scope sees.
    public func sqlFilter(organisationColumn: String, locationColumn: String?) -> SQLQueryString {
        switch level {
        case .all:
            return ""
        case .organisation:
            return " AND \(ident: organisationColumn) = \(bind: organisationId ?? "")"
        case .location:
            guard let locationColumn else { return " AND 1=0" }
            return " AND \(ident: locationColumn) = \(bind: locationId ?? "")"
        }
    }
}
