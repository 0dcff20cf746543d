import Foundation
import SQLKit

/// A response kept for an Idempotency-Key, replayed to retries.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]
    public init(status: Int, contentType: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// Keys are per principal; a key is claimed before the work runs, so a racing duplicate waits
/// for the first one's response instead of doing the work again.
public struct IdempotencyStore: Sendable {
    public enum Claim: Sendable, Equatable {
        case acquired
        case replay(StoredResponse)
        case mismatch
        case inProgress
        /// The work committed but the process died before its response was stored.
        case responseLost
    }

    public let db: Database
    public let clock: any O2OClock
    public let ttl: TimeInterval
    /// A claim still in progress after this long was abandoned (its process died mid-request);
    /// the next request with the key takes it over instead of waiting until the key expires.
    public let lease: TimeInterval

    public init(db: Database, clock: any O2OClock, ttl: TimeInterval, lease: TimeInterval = 120) {
        self.db = db
        self.clock = clock
        self.ttl = ttl
        self.lease = lease
    }

    public func claim(principalId: String, key: String, requestHash: String) async throws -> Claim {
        let now = clock.now()
        let expires = now.addingTimeInterval(ttl).epochMillis
        return try await db.write { tx in
            try await tx.sql.raw("""
                DELETE FROM idempotency_keys WHERE principal_id = \(bind: principalId) AND idem_key = \(bind: key)
                AND expires_at <= \(bind: now.epochMillis)
                """).run()
            let inserted = try await tx.sql.raw("""
                INSERT INTO idempotency_keys (principal_id, idem_key, request_hash, state, created_at, expires_at)
                VALUES (\(bind: principalId), \(bind: key), \(bind: requestHash), 'in_progress', \(bind: now.epochMillis), \(bind: expires))
                ON CONFLICT (principal_id, idem_key) DO NOTHING RETURNING idem_key
                """).first()
            if inserted != nil { return .acquired }
            guard let row = try await tx.sql.raw("""
                SELECT request_hash, state, status, content_type, body, created_at FROM idempotency_keys
                WHERE principal_id = \(bind: principalId) AND idem_key = \(bind: key)
                """).first() else { return .inProgress }
            if try row.decode(column: "request_hash", as: String.self) != requestHash { return .mismatch }
            let state = try row.decode(column: "state", as: String.self)
            if state != "completed" {
                let claimedAt = try row.decode(column: "created_at", as: Int64.self)
                guard claimedAt <= now.addingTimeInterval(-lease).epochMillis else { return .inProgress }
                // Abandoned. If its work had committed, doing it again would duplicate it.
                if state == "work_committed" { return .responseLost }
                let taken = try await tx.sql.raw("""
                    UPDATE idempotency_keys SET created_at = \(bind: now.epochMillis), expires_at = \(bind: expires)
                    WHERE principal_id = \(bind: principalId) AND idem_key = \(bind: key) AND state = 'in_progress'
                    AND created_at = \(bind: claimedAt) RETURNING idem_key
                    """).first()
                return taken == nil ? .inProgress : .acquired
            }
            let body = try row.decode(column: "body", as: String?.self) ?? ""
            return .replay(StoredResponse(
                status: try row.decode(column: "status", as: Int.self),
                contentType: try row.decode(column: "content_type", as: String?.self),
                body: Array(Data(base64Encoded: body) ?? Data())))
        }
    }

    /// Marks, inside the transaction that does a keyed request's work, that the work is done; a claim
    /// abandoned after this point is never taken over (see `Claim.responseLost`).
    public static func markWorkCommitted(_ tx: Transaction, principalId: String, key: String) async throws {
        try await tx.sql.raw("""
            UPDATE idempotency_keys SET state = 'work_committed'
            WHERE principal_id = \(bind: principalId) AND idem_key = \(bind: key) AND state = 'in_progress'
            """).run()
    }

    public func complete(principalId: String, key: String, response: StoredResponse) async throws {
        try await db.write { tx in
            try await tx.sql.raw("""
                UPDATE idempotency_keys SET state = 'completed', status = \(bind: response.status),
                    content_type = \(bind: response.contentType), body = \(bind: Data(response.body).base64EncodedString())
                WHERE principal_id = \(bind: principalId) AND idem_key = \(bind: key)
                """).run()
        }
    }

    /// Forgets a claim whose request failed on our side, so a retry may run the work.
    public func release(principalId: String, key: String) async throws {
        try await db.write { tx in
            try await tx.sql.raw("DELETE FROM idempotency_keys WHERE principal_id = \(bind: principalId) AND idem_key = \(bind: key)").run()
        }
    }

    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = clock.now().epochMillis
        return try await db.write { tx in
            let rows = try await tx.sql.raw("DELETE FROM idempotency_keys WHERE expires_at <= \(bind: now) RETURNING idem_key").all()
            return rows.count
        }
    }
}
