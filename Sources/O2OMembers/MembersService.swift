import Foundation
import O2OCore
import SQLKit

/// One member in every channel (会员协同): identity keyed by a verified mobile number with the
/// external ids other systems know the member by, a profile, a points ledger and a wallet.
///
/// Correctness comes from the database: a member's postings take the member's balance row first
/// (a row lock on PostgreSQL; SQLite's single writer runs them one after another), so the balance
/// check, the lots consumed, the ledger row, the audit row and the event commit together, and a
/// retry with the same reference finds the row the first attempt wrote.
public final class MembersService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    public let points: PointsPolicy
    public let wallet: WalletPolicy
    /// What other contexts move when two members are merged (orders, coupons), wired by the server.
    public let mergeHooks: [any MemberMergeHook]
    /// What other contexts erase of a member's personal data (their orders' contact details), wired by the server.
    public let eraseHooks: [any MemberEraseHook]
    /// What delivers queued messages, per channel (a log sink for every channel unless given).
    public let messageAdapters: [ConsentChannel: any MessageChannelAdapter]
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, points: PointsPolicy = .init(), wallet: WalletPolicy = .init(),
                mergeHooks: [any MemberMergeHook] = [], eraseHooks: [any MemberEraseHook] = [],
                messageAdapters: [ConsentChannel: any MessageChannelAdapter]? = nil) {
        self.db = db
        self.clock = clock
        self.points = points
        self.wallet = wallet
        self.mergeHooks = mergeHooks
        self.eraseHooks = eraseHooks
        self.messageAdapters = messageAdapters ?? Self.logAdapters()
        self.recorder = ChangeRecorder(clock: clock)
    }

    public static let maxTags = 50

    // MARK: Find or create

    /// The member with this mobile number, created (by `channel`) when there is none. Two channels
    /// asking at once for the same new number get the same member.
    /// With `referralCode` (another member's code, 422 when it is none), a member created now
    /// records who referred them; an existing member keeps the referrer they have.
    public func findOrCreate(phone: String, channel: String, profile: MemberProfile = .init(), referralCode: String? = nil,
                             caller: Caller) async throws -> MemberLookup {
        let (e164, clean) = try Self.validateNew(phone: phone, channel: channel, profile: profile, referralCode: referralCode)
        return try await db.write { tx in
            let referrer = try await Self.referrer(code: referralCode, tx.sql)
            let lookup = try await self.findOrCreate(e164: e164, channel: channel, profile: clean, referrer: referrer, caller: caller, tx)
            try Self.refuseSelfReferral(lookup, referrer)
            return lookup
        }
    }

    /// The same inside another module's transaction (a till sale that names the customer's number).
    public func findOrCreate(phone: String, channel: String, profile: MemberProfile = .init(), caller: Caller,
                             in tx: Transaction) async throws -> MemberLookup {
        let (e164, clean) = try Self.validateNew(phone: phone, channel: channel, profile: profile, referralCode: nil)
        return try await findOrCreate(e164: e164, channel: channel, profile: clean, referrer: nil, caller: caller, tx)
    }

    /// The member an external identity belongs to, else: the member with `phone` (when given and
    /// known) with the identity linked to it, else a new member with the identity (and the phone).
    ///
    /// When the identity is known and its member has no number yet, a given number that no other
    /// member has is recorded on it; a number another member has is left there (joining the two
    /// is a merge, not a lookup).
    public func findOrCreate(identity: ExternalIdentity, phone: String? = nil, channel: String, profile: MemberProfile = .init(),
                             referralCode: String? = nil, caller: Caller) async throws -> MemberLookup {
        var v = Validator()
        let identity = Self.validate(identity, &v)
        let e164 = PhoneNumber.validate(phone, "phone", required: false, &v)
        v.code(channel, "channel", max: 100)
        let clean = Self.validate(profile, &v)
        v.text(referralCode, "referralCode", required: false, max: 20)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            let referrer = try await Self.referrer(code: referralCode, tx.sql)
            let lookup = try await self.findOrCreate(identity: identity, e164: e164, channel: channel, profile: clean, referrer: referrer,
                                                     at: now, caller: caller, tx)
            try Self.refuseSelfReferral(lookup, referrer)
            return lookup
        }
    }

    private func findOrCreate(identity: ExternalIdentity, e164: String?, channel: String, profile clean: MemberProfile, referrer: String?,
                              at now: Date, caller: Caller, _ tx: Transaction) async throws -> MemberLookup {
        if let owner = try await Self.owner(of: identity, tx.sql) {
            // Locked only when the number may be recorded on it: plain lookups do not queue.
            var member = try await Self.member(owner, tx.sql, lock: tx.engine == .postgres && e164 != nil)!
            if member.phone == nil, let e164, try await Self.memberId(phone: e164, tx.sql) == nil {
                let before = member
                member.phone = e164
                member.version += 1
                member.updatedAt = now
                try await tx.sql.raw("""
                    UPDATE members SET phone = \(bind: e164), version = \(bind: member.version), updated_at = \(bind: now.epochMillis)
                    WHERE id = \(bind: member.id)
                    """).run()
                try await self.record(tx, caller, "update", before: before, after: member, event: "member.updated")
            }
            return MemberLookup(member: member, created: false)
        }
        var lookup: MemberLookup
        if let e164, let id = try await Self.memberId(phone: e164, tx.sql) {
            lookup = MemberLookup(member: try await Self.member(id, tx.sql, lock: false)!, created: false)
        } else if let created = try await self.insert(phone: e164, channel: channel, profile: clean, referrer: referrer, at: now, tx) {
            lookup = MemberLookup(member: created, created: true)
        } else {
            // The number was created by a racing request a moment ago.
            lookup = MemberLookup(member: try await Self.member(try await Self.memberId(phone: e164!, tx.sql)!, tx.sql, lock: false)!, created: false)
        }
        guard try await Self.claim(identity, for: lookup.member.id, at: now, tx) else {
            // Another request linked this identity while we created a member for it: ours was
            // never seen outside this transaction, so it goes, and theirs is the answer.
            if lookup.created { try await Self.delete(lookup.member.id, tx) }
            let owner = try await Self.owner(of: identity, tx.sql)!
            if !lookup.created, owner != lookup.member.id { throw MembersError.identityLinkedToAnother(identity, memberId: owner) }
            return MemberLookup(member: try await Self.member(owner, tx.sql, lock: false)!, created: false)
        }
        lookup.member.identities.append(identity)
        lookup.member.identities.sort(by: Self.identityOrder)
        if lookup.created {
            try await self.record(tx, caller, "create", before: nil, after: lookup.member, event: "member.created")
        } else {
            try await self.recordLink(tx, caller, lookup.member, identity, action: "link_identity", event: "member.identity_linked")
        }
        return lookup
    }

    private func findOrCreate(e164: String, channel: String, profile: MemberProfile, referrer: String?, caller: Caller,
                              _ tx: Transaction) async throws -> MemberLookup {
        if let id = try await Self.memberId(phone: e164, tx.sql) {
            return MemberLookup(member: try await Self.member(id, tx.sql, lock: false)!, created: false)
        }
        guard let member = try await insert(phone: e164, channel: channel, profile: profile, referrer: referrer, at: clock.instant(), tx) else {
            let winner = try await Self.memberId(phone: e164, tx.sql)!
            return MemberLookup(member: try await Self.member(winner, tx.sql, lock: false)!, created: false)
        }
        try await record(tx, caller, "create", before: nil, after: member, event: "member.created")
        return MemberLookup(member: member, created: true)
    }

    /// Inserts a member with its (empty) points and wallet balances; nil when the number is
    /// already taken. ON CONFLICT: a racing request that created the number first wins; on
    /// PostgreSQL this statement waits for it to commit, and a lookup after it sees that member.
    private func insert(phone: String?, channel: String, profile: MemberProfile, referrer: String?, at now: Date,
                        _ tx: Transaction) async throws -> Member? {
        let id = O2OID.make("mem", at: now)
        let code = Self.newReferralCode()
        let inserted = try await tx.sql.raw("""
            INSERT INTO members (id, phone, name, birthday, gender, preferred_store_id, email, tags, created_channel, version, created_at, updated_at,
                status, referral_code, referred_by)
            VALUES (\(bind: id), \(bind: phone), \(bind: profile.name), \(bind: profile.birthday), \(bind: profile.gender?.rawValue),
                    \(bind: profile.preferredStoreId), \(bind: profile.email), \(bind: JSONCoding.string(profile.tags)), \(bind: channel), 1, \(bind: now.epochMillis),
                    \(bind: now.epochMillis), 'active', \(bind: code), \(bind: referrer))
            ON CONFLICT (phone) DO NOTHING RETURNING id
            """).first()
        guard inserted != nil else { return nil }
        try await Self.insertBalances(id, currency: wallet.currency, at: now, tx)
        if let referrer { try await Self.insertReferral(referee: id, referrer: referrer, at: now, tx) }
        return Member(id: id, phone: phone, profile: profile, identities: [], createdChannel: channel, version: 1, createdAt: now, updatedAt: now,
                      referralCode: code, referredBy: referrer)
    }

    // MARK: Reading

    public func member(_ id: String) async throws -> Member {
        guard let m = try await db.read({ try await Self.member(id, $0, lock: false) }) else { throw Problem.notFound("member", id) }
        return m
    }

    /// The member with this number, if any; a text that is not a number is a 422 on `phone`.
    public func member(phone: String) async throws -> Member? {
        var v = Validator()
        let e164 = PhoneNumber.validate(phone, "phone", required: true, &v)
        try v.finish()
        return try await db.read { sql in
            guard let id = try await Self.memberId(phone: e164!, sql) else { return nil }
            return try await Self.member(id, sql, lock: false)
        }
    }

    /// The member an external identity is linked to, if any.
    public func member(identity: ExternalIdentity) async throws -> Member? {
        var v = Validator()
        let identity = Self.validate(identity, &v)
        try v.finish()
        return try await db.read { sql in
            guard let id = try await Self.owner(of: identity, sql) else { return nil }
            return try await Self.member(id, sql, lock: false)
        }
    }

    /// Members in the order they joined, as lists show them (phones masked); with `tag`, only
    /// the members tagged so.
    public func members(tag: String? = nil, limit: Int = 50, cursor: String? = nil) async throws -> Page<MemberSummary> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        if let tag { v.code(tag, "tag", max: 40) }
        try v.finish()
        var query: SQLQueryString = "SELECT * FROM members WHERE 1=1"
        if let tag {
            query = "SELECT * FROM members WHERE tags LIKE \(bind: Self.tagPattern(tag)) ESCAPE '\\'"
        }
        return try await db.page(query, limit: limit, cursor: cursor,
                                 map: { MemberSummary(try Self.decodeMember($0, identities: [])) }, id: \.id)
    }

    /// Which of `ids` are members (for other contexts that take lists of members: a coupon
    /// distribution, a segment's message).
    public func known(_ ids: [String]) async throws -> Set<String> {
        var found: Set<String> = []
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            found.formUnion(try await db.read { sql in
                try await sql.raw("SELECT id FROM members WHERE id IN \(SQLQueryString.list(chunk))").all().map { try $0.decode(column: "id", as: String.self) }
            })
        }
        return found
    }

    // MARK: Identities

    /// Links an identity to a member. Linking one the member already has is a no-op; one linked
    /// to another member is refused, naming that member.
    public func link(_ identity: ExternalIdentity, to memberId: String, caller: Caller) async throws -> Member {
        var v = Validator()
        let identity = Self.validate(identity, &v)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard var member = try await Self.member(memberId, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("member", memberId) }
            guard try await Self.claim(identity, for: memberId, at: now, tx) else {
                let owner = try await Self.owner(of: identity, tx.sql)!
                if owner == memberId { return member }
                throw MembersError.identityLinkedToAnother(identity, memberId: owner)
            }
            member.identities.append(identity)
            member.identities.sort(by: Self.identityOrder)
            try await self.recordLink(tx, caller, member, identity, action: "link_identity", event: "member.identity_linked")
            return member
        }
    }

    /// Removes an identity from the member it is linked to; 404 when this member does not have it,
    /// 409 naming the member that does.
    public func unlink(_ identity: ExternalIdentity, from memberId: String, caller: Caller) async throws -> Member {
        var v = Validator()
        let identity = Self.validate(identity, &v)
        try v.finish()
        return try await db.write { tx in
            guard var member = try await Self.member(memberId, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("member", memberId) }
            let removed = try await tx.sql.raw("""
                DELETE FROM member_identities WHERE kind = \(bind: identity.kind.rawValue) AND channel = \(bind: identity.channel ?? "")
                AND external_id = \(bind: identity.externalId) AND member_id = \(bind: memberId) RETURNING member_id
                """).first()
            guard removed != nil else {
                if let owner = try await Self.owner(of: identity, tx.sql) { throw MembersError.identityLinkedToAnother(identity, memberId: owner) }
                throw Problem.notFound("identity", identity.description)
            }
            member.identities.removeAll { $0 == identity }
            try await self.recordLink(tx, caller, member, identity, action: "unlink_identity", event: "member.identity_unlinked")
            return member
        }
    }

    // MARK: Profile

    /// Replaces the member's profile. With `expectedVersion`, refuses (409) when the member
    /// changed since the caller read it.
    public func updateProfile(_ memberId: String, _ profile: MemberProfile, expectedVersion: Int? = nil, caller: Caller) async throws -> Member {
        var v = Validator()
        let clean = Self.validate(profile, &v)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard let before = try await Self.member(memberId, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("member", memberId) }
            if let expectedVersion, expectedVersion != before.version {
                throw Problem.conflict("Member \(memberId) is at version \(before.version), not \(expectedVersion); read it again.", kind: "version-conflict")
            }
            if before.profile == clean { return before }
            var after = before
            after.profile = clean
            after.version += 1
            after.updatedAt = now
            try await tx.sql.raw("""
                UPDATE members SET name = \(bind: clean.name), birthday = \(bind: clean.birthday), gender = \(bind: clean.gender?.rawValue),
                    preferred_store_id = \(bind: clean.preferredStoreId), email = \(bind: clean.email), tags = \(bind: JSONCoding.string(clean.tags)),
                    version = \(bind: after.version), updated_at = \(bind: now.epochMillis)
                WHERE id = \(bind: memberId)
                """).run()
            try await self.record(tx, caller, "update", before: before, after: after, event: "member.updated")
            return after
        }
    }

    // MARK: Validation

    static func validateNew(phone: String, channel: String, profile: MemberProfile, referralCode: String?) throws(Problem) -> (String, MemberProfile) {
        var v = Validator()
        let e164 = PhoneNumber.validate(phone, "phone", required: true, &v)
        v.code(channel, "channel", max: 100)
        let clean = validate(profile, &v)
        v.text(referralCode, "referralCode", required: false, max: 20)
        try v.finish()
        return (e164!, clean)
    }

    /// The identity with its channel trimmed away where its kind has none; adds what is wrong to `v`.
    static func validate(_ identity: ExternalIdentity, _ v: inout Validator) -> ExternalIdentity {
        var clean = identity
        clean.externalId = identity.externalId.trimmingCharacters(in: .whitespaces)
        v.text(clean.externalId, "identity.externalId", max: 128)
        switch identity.kind.channel {
        case .required:
            if identity.channel == nil { v.add("identity.channel", "is required for \(identity.kind.rawValue): the id is only unique within its marketplace") }
            else { v.code(identity.channel, "identity.channel", max: 100) }
        case .optional:
            v.code(identity.channel, "identity.channel", required: false, max: 100)
        case .none:
            if identity.channel != nil { v.add("identity.channel", "must be left out for \(identity.kind.rawValue)") }
        }
        return clean
    }

    /// The profile trimmed, its tags sorted without duplicates; adds what is wrong to `v`.
    static func validate(_ profile: MemberProfile, _ v: inout Validator) -> MemberProfile {
        var clean = profile
        clean.name = profile.name?.trimmingCharacters(in: .whitespacesAndNewlines)
        if clean.name?.isEmpty == true { clean.name = nil }
        v.text(clean.name, "profile.name", required: false, max: 100)
        if let b = profile.birthday {
            if let d = Self.calendarDate(b) {
                v.check(d.year >= 1900 && b <= Self.today(), "profile.birthday", "must be a past date from 1900 on")
            } else {
                v.add("profile.birthday", "must be a date as YYYY-MM-DD")
            }
        }
        v.text(profile.preferredStoreId, "profile.preferredStoreId", required: false, max: 100)
        clean.email = profile.email?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if clean.email?.isEmpty == true { clean.email = nil }
        if let e = clean.email {
            let parts = e.split(separator: "@", omittingEmptySubsequences: false)
            v.check(e.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
                    && !parts[1].hasSuffix(".") && !e.contains(where: \.isWhitespace), "profile.email", "must be an email address (name@example.com)")
        }
        v.check(profile.tags.count <= maxTags, "profile.tags", "must have at most \(maxTags) tags")
        for (i, t) in profile.tags.enumerated() { v.code(t, "profile.tags[\(i)]", max: 40) }
        clean.tags = Array(Set(profile.tags)).sorted()
        return clean
    }

    /// Year, month and day of a `YYYY-MM-DD` text that names a real day.
    static func calendarDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        guard let date = cal.date(from: DateComponents(year: y, month: m, day: d)),
              cal.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: m, day: d) else { return nil }
        return (y, m, d)
    }

    /// Today as `YYYY-MM-DD` in China's time zone, where birthdays are celebrated.
    static func today() -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let c = cal.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }

    // MARK: Rows

    /// The order identities are listed in: as the query in `member(_:_:lock:)` sorts them.
    static func identityOrder(_ a: ExternalIdentity, _ b: ExternalIdentity) -> Bool {
        (a.kind.rawValue, a.channel ?? "", a.externalId) < (b.kind.rawValue, b.channel ?? "", b.externalId)
    }

    /// The member a number leads to: its member, or the one that member was merged into.
    static func memberId(phone: String, _ sql: any SQLDatabase) async throws -> String? {
        guard let row = try await sql.raw("SELECT id, merged_into FROM members WHERE phone = \(bind: phone)").first() else { return nil }
        guard let into = try row.decode(column: "merged_into", as: String?.self) else { return try row.decode(column: "id", as: String.self) }
        return try await current(into, sql)
    }

    /// The member `id` answers for now: itself, or (following merges) the member it was merged into.
    static func current(_ id: String, _ sql: any SQLDatabase) async throws -> String {
        var id = id
        for _ in 0..<16 {
            guard let next = try await sql.raw("SELECT merged_into FROM members WHERE id = \(bind: id)").first()?
                .decode(column: "merged_into", as: String?.self) else { return id }
            id = next
        }
        return id
    }

    static func owner(of identity: ExternalIdentity, _ sql: any SQLDatabase) async throws -> String? {
        try await sql.raw("""
            SELECT member_id FROM member_identities WHERE kind = \(bind: identity.kind.rawValue) AND channel = \(bind: identity.channel ?? "")
            AND external_id = \(bind: identity.externalId)
            """).first()?.decode(column: "member_id", as: String.self)
    }

    /// Links the identity to the member unless it is linked already (to anyone); true when linked now.
    static func claim(_ identity: ExternalIdentity, for memberId: String, at now: Date, _ tx: Transaction) async throws -> Bool {
        try await tx.sql.raw("""
            INSERT INTO member_identities (kind, channel, external_id, member_id, linked_at)
            VALUES (\(bind: identity.kind.rawValue), \(bind: identity.channel ?? ""), \(bind: identity.externalId), \(bind: memberId), \(bind: now.epochMillis))
            ON CONFLICT (kind, channel, external_id) DO NOTHING RETURNING member_id
            """).first() != nil
    }

    static func insertBalances(_ memberId: String, currency: String, at now: Date, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO member_points_balances (member_id, balance, updated_at) VALUES (\(bind: memberId), 0, \(bind: now.epochMillis))
            """).run()
        try await tx.sql.raw("""
            INSERT INTO member_wallet_balances (member_id, currency, principal, bonus, updated_at)
            VALUES (\(bind: memberId), \(bind: currency), 0, 0, \(bind: now.epochMillis))
            """).run()
    }

    /// Removes a member created in this transaction and nothing else (no ledger rows yet).
    static func delete(_ memberId: String, _ tx: Transaction) async throws {
        try await tx.sql.raw("DELETE FROM member_referrals WHERE referee_id = \(bind: memberId)").run()
        for table in ["member_points_balances", "member_wallet_balances", "member_identities"] {
            try await tx.sql.raw("DELETE FROM \(ident: table) WHERE member_id = \(bind: memberId)").run()
        }
        try await tx.sql.raw("DELETE FROM members WHERE id = \(bind: memberId)").run()
    }

    static func member(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Member? {
        guard let row = try await sql.raw("SELECT * FROM members WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first() else {
            return nil
        }
        let identities = try await sql.raw("""
            SELECT kind, channel, external_id FROM member_identities WHERE member_id = \(bind: id) ORDER BY kind, channel, external_id
            """).all().map { r in
            let channel = try r.decode(column: "channel", as: String.self)
            return ExternalIdentity(kind: IdentityKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .posCardNumber,
                                    channel: channel.isEmpty ? nil : channel, externalId: try r.decode(column: "external_id", as: String.self))
        }
        return try decodeMember(row, identities: identities)
    }

    static func decodeMember(_ r: any SQLRow, identities: [ExternalIdentity]) throws -> Member {
        let tags = try r.decode(column: "tags", as: String.self)
        return Member(
            id: try r.decode(column: "id", as: String.self), phone: try r.decode(column: "phone", as: String?.self),
            profile: MemberProfile(name: try r.decode(column: "name", as: String?.self), birthday: try r.decode(column: "birthday", as: String?.self),
                                   gender: try r.decode(column: "gender", as: String?.self).flatMap(Gender.init(rawValue:)),
                                   preferredStoreId: try r.decode(column: "preferred_store_id", as: String?.self),
                                   email: try r.decode(column: "email", as: String?.self),
                                   tags: (try? JSONDecoder().decode([String].self, from: Data(tags.utf8))) ?? []),
            identities: identities, createdChannel: try r.decode(column: "created_channel", as: String.self),
            version: try r.decode(column: "version", as: Int.self), createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)),
            status: MemberStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .active,
            mergedInto: try r.decode(column: "merged_into", as: String?.self), referralCode: try r.decode(column: "referral_code", as: String?.self),
            referredBy: try r.decode(column: "referred_by", as: String?.self))
    }

    // MARK: Audit

    /// The audit row and event of a change to a member, with the phone masked.
    func record(_ tx: Transaction, _ caller: Caller, _ action: String, before: Member?, after: Member, event: String) async throws {
        try await recorder.record(tx, caller: caller, action: action, entityType: "member", entityId: after.id,
                                  before: before.map(MemberRecord.init), after: MemberRecord(after),
                                  organisationId: nil, locationId: nil, event: event)
    }

    private struct IdentityChange: Codable, Sendable {
        var member: MemberRecord
        var identity: ExternalIdentity
    }

    func recordLink(_ tx: Transaction, _ caller: Caller, _ member: Member, _ identity: ExternalIdentity, action: String, event: String) async throws {
        try await recorder.record(tx, caller: caller, action: action, entityType: "member", entityId: member.id,
                                  before: IdentityChange?.none, after: IdentityChange(member: MemberRecord(member), identity: identity),
                                  organisationId: nil, locationId: nil, event: event)
    }
}
