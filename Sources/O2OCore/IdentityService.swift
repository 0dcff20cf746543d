import Foundation
import SQLKit

/// Hashes and checks passwords (bcrypt in the server).
public protocol PasswordHasher: Sendable {
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, hash: String) async throws -> Bool
}

public struct User: Sendable, Codable, Equatable {
    public var id: String
    public var username: String
    public var displayName: String
    public var role: Role
    public var organisationId: String?
    public var locationId: String?
    public var status: String
    public var createdAt: Date
}

public struct ApiKey: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var channel: String
    public var prefix: String
    public var organisationId: String?
    public var createdAt: Date
    public var revokedAt: Date?
}

public struct NewUser: Sendable {
    public var username: String
    public var password: String
    public var displayName: String?
    public var role: Role
    /// Resolved by the caller from the network: a franchisee's or supplier's organisation, a store's.
    public var scope: Scope
    public init(username: String, password: String, displayName: String?, role: Role, scope: Scope) {
        self.username = username
        self.password = password
        self.displayName = displayName
        self.role = role
        self.scope = scope
    }
}

/// Staff users, their sessions, and API keys for channel integrations.
public struct IdentityService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    public let hasher: any PasswordHasher
    public var sessionLifetime: TimeInterval
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, hasher: any PasswordHasher, sessionLifetime: TimeInterval = 12 * 3600) {
        self.db = db
        self.clock = clock
        self.hasher = hasher
        self.sessionLifetime = sessionLifetime
        self.recorder = ChangeRecorder(clock: clock)
    }

    public static let sessionPrefix = "o2os_"
    public static let apiKeyPrefix = "o2ok_"

    public func createUser(_ new: NewUser, caller: Caller) async throws -> User {
        var v = Validator()
        v.text(new.username, "username", max: 64)
        if new.username.contains(where: { $0.isWhitespace }) { v.add("username", "must not contain spaces") }
        v.check(new.password.count >= 8, "password", "must be at least 8 characters")
        v.check(new.password.utf8.count <= 72, "password", "must be at most 72 bytes (bcrypt)")
        v.text(new.displayName, "displayName", required: false, max: 100)
        v.check(new.scope.level == new.role.scopeLevel, "role",
                "role \(new.role.rawValue) needs scope \(new.role.scopeLevel.rawValue)")
        try v.finish()
        let hash = try await hasher.hash(new.password)
        let now = clock.instant()
        let user = User(id: O2OID.make("usr", at: now), username: new.username, displayName: new.displayName ?? new.username,
                        role: new.role, organisationId: new.scope.organisationId, locationId: new.scope.locationId,
                        status: "active", createdAt: now)
        do {
            try await db.write { tx in
                try await tx.sql.raw("""
                    INSERT INTO users (id, username, display_name, password_hash, role, organisation_id, location_id, status, created_at, updated_at)
                    VALUES (\(bind: user.id), \(bind: user.username), \(bind: user.displayName), \(bind: hash), \(bind: user.role.rawValue),
                            \(bind: user.organisationId), \(bind: user.locationId), 'active', \(bind: now.epochMillis), \(bind: now.epochMillis))
                    """).run()
                try await recorder.record(tx, caller: caller, action: "create", entityType: "user", entityId: user.id,
                                          before: User?.none, after: user, organisationId: user.organisationId,
                                          locationId: user.locationId, event: "user.created")
            }
        } catch where Database.classify(error) == .uniqueViolation {
            throw Problem.conflict("A user named '\(new.username)' already exists.", kind: "duplicate")
        }
        return user
    }

    public func listUsers(scope: Scope, limit: Int, cursor: String?) async throws -> Page<User> {
        let q: SQLQueryString = "SELECT * FROM users WHERE 1=1"
            + scope.sqlFilter(organisationColumn: "organisation_id", locationColumn: "location_id")
        return try await db.page(q, limit: limit, cursor: cursor, map: Self.user, id: \.id)
    }

    /// Checks a password and opens a session; nil when the name or password is wrong.
    public func login(username: String, password: String) async throws -> (token: String, expiresAt: Date, principal: Principal)? {
        let row = try await db.read { try await $0.raw("SELECT * FROM users WHERE username = \(bind: username)").first() }
        guard let row, try row.decode(column: "status", as: String.self) == "active" else {
            // Same work either way, so timing does not tell which usernames exist.
            _ = try? await hasher.verify(password, hash: Self.dummyHash)
            return nil
        }
        let hash = try row.decode(column: "password_hash", as: String.self)
        guard try await hasher.verify(password, hash: hash) else { return nil }
        let user = try Self.user(row)
        let token = Secrets.token(prefix: Self.sessionPrefix)
        let now = clock.instant()
        let expires = now.addingTimeInterval(sessionLifetime)
        let principal = Self.principal(user)
        try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                VALUES (\(bind: Secrets.sha256Hex(token)), \(bind: user.id), \(bind: now.epochMillis), \(bind: expires.epochMillis))
                """).run()
            try await recorder.record(tx, caller: Caller(principal), action: "login", entityType: "user", entityId: user.id,
                                      before: User?.none, after: User?.none, organisationId: user.organisationId, locationId: user.locationId)
        }
        return (token, expires, principal)
    }

    static let dummyHash = "$2b$10$abcdefghijklmnopqrstuuS7Xx8p6yHkS0yS1b3mX6Z2nC0QwOe6K"

    public func logout(token: String, caller: Caller) async throws {
        let now = clock.instant().epochMillis
        try await db.write { tx in
            let revoked = try await tx.sql.raw("""
                UPDATE sessions SET revoked_at = \(bind: now) WHERE token_hash = \(bind: Secrets.sha256Hex(token)) AND revoked_at IS NULL
                RETURNING user_id
                """).first()
            guard revoked != nil else { return }
            try await recorder.record(tx, caller: caller, action: "logout", entityType: "user", entityId: caller.principal.id,
                                      before: User?.none, after: User?.none, organisationId: caller.principal.scope.organisationId,
                                      locationId: caller.principal.scope.locationId)
        }
    }

    /// Resolves a bearer credential (session token or API key) to a principal.
    public func authenticate(_ credential: String) async throws -> Principal? {
        let hash = Secrets.sha256Hex(credential)
        let now = clock.instant().epochMillis
        if credential.hasPrefix(Self.sessionPrefix) {
            return try await db.read { sql in
                guard let row = try await sql.raw("""
                    SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id
                    WHERE s.token_hash = \(bind: hash) AND s.revoked_at IS NULL AND s.expires_at > \(bind: now) AND u.status = 'active'
                    """).first() else { return nil }
                return Self.principal(try Self.user(row))
            }
        }
        if credential.hasPrefix(Self.apiKeyPrefix) {
            return try await db.read { sql in
                guard let row = try await sql.raw("SELECT * FROM api_keys WHERE key_hash = \(bind: hash) AND revoked_at IS NULL").first()
                else { return nil }
                let key = try Self.apiKey(row)
                let scope: Scope = key.organisationId.map { .organisation($0) } ?? .all
                return Principal(id: key.id, kind: .apiKey, name: "\(key.name) (\(key.channel))", role: .integration, scope: scope)
            }
        }
        return nil
    }

    public func createApiKey(name: String, channel: String, organisationId: String?, caller: Caller) async throws -> (ApiKey, String) {
        var v = Validator()
        v.text(name, "name", max: 100)
        v.text(channel, "channel", max: 40)
        if !channel.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
            v.add("channel", "use letters, digits, - and _ only")
        }
        try v.finish()
        let secret = Secrets.token(prefix: Self.apiKeyPrefix)
        let now = clock.instant()
        let key = ApiKey(id: O2OID.make("key", at: now), name: name, channel: channel,
                         prefix: String(secret.prefix(Self.apiKeyPrefix.count + 6)), organisationId: organisationId,
                         createdAt: now, revokedAt: nil)
        try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO api_keys (id, name, channel, key_hash, prefix, organisation_id, created_at)
                VALUES (\(bind: key.id), \(bind: name), \(bind: channel), \(bind: Secrets.sha256Hex(secret)), \(bind: key.prefix),
                        \(bind: organisationId), \(bind: now.epochMillis))
                """).run()
            try await recorder.record(tx, caller: caller, action: "create", entityType: "api_key", entityId: key.id,
                                      before: ApiKey?.none, after: key, organisationId: organisationId, locationId: nil,
                                      event: "api_key.created")
        }
        return (key, secret)
    }

    public func listApiKeys(limit: Int, cursor: String?) async throws -> Page<ApiKey> {
        try await db.page("SELECT * FROM api_keys WHERE 1=1", limit: limit, cursor: cursor, map: Self.apiKey, id: \.id)
    }

    public func revokeApiKey(_ id: String, caller: Caller) async throws -> ApiKey {
        let now = clock.instant()
        return try await db.write { tx in
            guard let row = try await tx.sql.raw("SELECT * FROM api_keys WHERE id = \(bind: id)").first() else {
                throw Problem.notFound("API key", id)
            }
            let before = try Self.apiKey(row)
            if before.revokedAt != nil { return before }
            try await tx.sql.raw("UPDATE api_keys SET revoked_at = \(bind: now.epochMillis) WHERE id = \(bind: id)").run()
            var after = before
            after.revokedAt = now
            try await recorder.record(tx, caller: caller, action: "revoke", entityType: "api_key", entityId: id,
                                      before: before, after: after, organisationId: before.organisationId, locationId: nil,
                                      event: "api_key.revoked")
            return after
        }
    }

    public func userCount() async throws -> Int {
        try await db.read { try await $0.raw("SELECT COUNT(*) AS n FROM users").first()?.decode(column: "n", as: Int.self) ?? 0 }
    }

    static func principal(_ u: User) -> Principal {
        let scope: Scope
        switch u.role.scopeLevel {
        case .all: scope = .all
        case .organisation: scope = .organisation(u.organisationId ?? "")
        case .location: scope = .location(u.locationId ?? "", organisation: u.organisationId ?? "")
        }
        return Principal(id: u.id, kind: .user, name: u.displayName, role: u.role, scope: scope)
    }

    static func user(_ r: any SQLRow) throws -> User {
        User(
            id: try r.decode(column: "id", as: String.self),
            username: try r.decode(column: "username", as: String.self),
            displayName: try r.decode(column: "display_name", as: String.self),
            role: Role(rawValue: try r.decode(column: "role", as: String.self)) ?? .clerk,
            organisationId: try r.decode(column: "organisation_id", as: String?.self),
            locationId: try r.decode(column: "location_id", as: String?.self),
            status: try r.decode(column: "status", as: String.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func apiKey(_ r: any SQLRow) throws -> ApiKey {
        ApiKey(
            id: try r.decode(column: "id", as: String.self),
            name: try r.decode(column: "name", as: String.self),
            channel: try r.decode(column: "channel", as: String.self),
            prefix: try r.decode(column: "prefix", as: String.self),
            organisationId: try r.decode(column: "organisation_id", as: String?.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            revokedAt: try r.decode(column: "revoked_at", as: Int64?.self).map(Date.init(epochMillis:)))
    }
}
