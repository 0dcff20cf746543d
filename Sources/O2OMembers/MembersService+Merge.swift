import Foundation
import O2OCore
import SQLKit

// MARK: - Merging duplicate members (会员合并)

/// What another context moves from one member to another when they are merged (the orders, the
/// coupons), inside the merge's transaction. The members module cannot see those tables; the
/// server wires one hook per context, as it wires the order hooks the other way.
public protocol MemberMergeHook: Sendable {
    /// What the hook moves, as merge records name it (`orders`, `coupons`).
    var name: String { get }
    /// Moves everything of `sourceId` to `targetId`; returns the ids moved.
    func move(from sourceId: String, to targetId: String, in tx: Transaction) async throws -> [String]
    /// Moves those ids back (a reversal); throws a 409 problem when one of them was used since
    /// `mergedAt` (a coupon redeemed by the target), so nothing is reversed.
    func moveBack(_ ids: [String], from targetId: String, to sourceId: String, mergedAt: Date, in tx: Transaction) async throws
}

public enum MemberMergeStatus: String, Codable, Sendable, CaseIterable {
    case merged, reversed
}

/// A lot a merge created on the target, with what it holds and when it expires (as the source's lot did).
public struct MovedLot: Codable, Sendable, Equatable {
    public var lotId: String
    public var points: Int64
    public var expiresAt: Date?
}

/// A consent the merge changed on the target: the target's answer before (nil: never answered).
public struct MovedConsent: Codable, Sendable, Equatable {
    public var channel: ConsentChannel
    public var before: Consent?
    public var after: Consent
}

/// Exactly what a merge moved, so a reversal moves exactly that back.
public struct MergeMoves: Codable, Sendable, Equatable {
    public var identities: [ExternalIdentity] = []
    public var points: Int64 = 0
    public var lots: [MovedLot] = []
    public var walletPrincipal: Int64 = 0
    public var walletBonus: Int64 = 0
    /// The spend rows (completed orders, returns) now counted for the target's tier.
    public var spend: [LedgerReference] = []
    /// The target's tier before the merge (a reversal never puts it lower).
    public var tierBefore: String?
    /// The tags the target gained, and the profile fields it took from the source (the rest nil).
    public var tagsAdded: [String] = []
    public var profileFilled = MemberProfile()
    public var consents: [MovedConsent] = []
    /// What the other contexts moved, by hook name (`orders`: order ids, `coupons`: coupon ids).
    public var other: [String: [String]] = [:]
}

public struct MemberMerge: Codable, Sendable, Equatable {
    public var id: String
    public var targetId: String
    public var sourceId: String
    public var status: MemberMergeStatus
    public var moved: MergeMoves
    public var mergedAt: Date
    /// Until when `reverseMerge` may move it back.
    public var reversibleUntil: Date
    public var reversedAt: Date?
    public var actorId: String
}

extension MembersService {
    /// How long a merge can be reversed.
    public static let mergeReversibleDays = 30

    /// Merges member `sourceId` (a duplicate) into `targetId`, in one transaction: the source's
    /// identities, points (its lots with their expiry), wallet (principal and bonus apart), spend
    /// (the target's tier is re-evaluated), consents (the later answer per channel wins), tags
    /// (union) and the profile fields the target lacks; the hooks move orders and coupons. The
    /// source stays, `merged` into the target: its number and id lead to the target from then on.
    /// 422 for a member into itself, 404 for an unknown member, 409 when either was already merged.
    public func merge(_ sourceId: String, into targetId: String, caller: Caller) async throws -> MemberMerge {
        var v = Validator()
        v.text(sourceId, "sourceMemberId", max: 100)
        v.check(sourceId != targetId, "sourceMemberId", "must be another member than the one merged into")
        try v.finish()
        return try await db.write { tx in
            let (target, source) = try await self.lockPair(targetId, sourceId, tx)
            guard source.status == .active else {
                throw Problem.conflict("Member \(sourceId) was already merged into \(source.mergedInto ?? "another member").", kind: "already-merged")
            }
            guard target.status == .active else {
                throw Problem.conflict("Member \(targetId) was merged into \(target.mergedInto ?? "another member"); merge into that one.",
                                       kind: "already-merged")
            }
            let now = self.clock.instant()
            let id = O2OID.make("mmg", at: now)
            let reference = LedgerReference(type: "member_merge", id: id)
            var moved = MergeMoves(identities: source.identities)
            try await tx.sql.raw("UPDATE member_identities SET member_id = \(bind: targetId) WHERE member_id = \(bind: sourceId)").run()

            _ = try await self.expireMember(sourceId, at: now, caller: caller, tx)
            let lots = try await Self.openLots(sourceId, tx.sql).map { MovedLot(lotId: $0.id, points: $0.remaining, expiresAt: $0.expiresAt) }
            moved.lots = try await self.movePoints(lots, from: sourceId, to: targetId, reference: reference, caller: caller, tx)
            moved.points = lots.reduce(0) { $0 + $1.points }
            let wallet = try await self.lockWallet(sourceId, tx)
            (moved.walletPrincipal, moved.walletBonus) = (wallet.principal, wallet.bonus)
            try await self.moveWallet(principal: wallet.principal, bonus: wallet.bonus, from: sourceId, to: targetId, reference: reference,
                                      caller: caller, tx)

            moved.spend = try await tx.sql.raw("""
                SELECT reference_type, reference_id FROM member_spend WHERE member_id = \(bind: sourceId) ORDER BY reference_type, reference_id
                """).all().map { LedgerReference(type: try $0.decode(column: "reference_type", as: String.self),
                                                 id: try $0.decode(column: "reference_id", as: String.self)) }
            try await tx.sql.raw("UPDATE member_spend SET member_id = \(bind: targetId) WHERE member_id = \(bind: sourceId)").run()
            moved.tierBefore = try await Self.tierRow(targetId, tx.sql)?.code
            _ = try await self.place(targetId, try await Self.ladder(tx.sql), at: now, reason: "merged \(sourceId)", reachedBy: nil, tx,
                                     caller: caller, mode: .upOnly)

            var after = target
            after.profile.tags = Array(Set(target.profile.tags).union(source.profile.tags)).sorted()
            moved.tagsAdded = after.profile.tags.filter { !target.profile.tags.contains($0) }
            Self.fill(&after.profile.name, from: source.profile.name, into: &moved.profileFilled.name)
            Self.fill(&after.profile.birthday, from: source.profile.birthday, into: &moved.profileFilled.birthday)
            Self.fill(&after.profile.gender, from: source.profile.gender, into: &moved.profileFilled.gender)
            Self.fill(&after.profile.preferredStoreId, from: source.profile.preferredStoreId, into: &moved.profileFilled.preferredStoreId)
            Self.fill(&after.profile.email, from: source.profile.email, into: &moved.profileFilled.email)
            after.identities = (target.identities + source.identities).sorted(by: Self.identityOrder)
            let targetConsents = try await Self.consents(targetId, tx.sql)
            for c in try await Self.consents(sourceId, tx.sql) {
                let mine = targetConsents.first { $0.channel == c.channel }
                guard mine.map({ c.at > $0.at }) ?? true else { continue }
                try await Self.putConsent(targetId, c, tx)
                moved.consents.append(MovedConsent(channel: c.channel, before: mine, after: c))
            }
            for hook in self.mergeHooks {
                moved.other[hook.name] = try await hook.move(from: sourceId, to: targetId, in: tx)
            }

            try await self.save(after, before: target, "merge", at: now, caller, tx)
            var merged = source
            merged.identities = []
            merged.status = .merged
            merged.mergedInto = targetId
            try await self.save(merged, before: source, "merged", at: now, caller, tx)
            let record = MemberMerge(id: id, targetId: targetId, sourceId: sourceId, status: .merged, moved: moved, mergedAt: now,
                                     reversibleUntil: now.addingTimeInterval(Double(Self.mergeReversibleDays) * 86_400), reversedAt: nil,
                                     actorId: caller.principal.id)
            try await tx.sql.raw("""
                INSERT INTO member_merges (id, target_id, source_id, status, moved, merged_at, reversible_until, reversed_at, actor_id)
                VALUES (\(bind: id), \(bind: targetId), \(bind: sourceId), 'merged', \(bind: Self.movesJSON(moved)), \(bind: now.epochMillis),
                        \(bind: record.reversibleUntil.epochMillis), NULL, \(bind: record.actorId))
                """).run()
            try await self.recorder.record(tx, caller: caller, action: "merge", entityType: "member_merge", entityId: id,
                                           before: MemberMerge?.none, after: record, organisationId: nil, locationId: nil, event: "member.merged")
            return record
        }
    }

    /// Moves back exactly what the merge moved and makes the source a member of its own again.
    /// 409 when the merge was reversed already, is past its reversal period, or something it moved
    /// was used since (the target spent moved points or wallet money, redeemed a moved coupon):
    /// then nothing is moved.
    public func reverseMerge(_ mergeId: String, caller: Caller) async throws -> MemberMerge {
        try await db.write { tx in
            guard let original = try await Self.mergeRecord(mergeId, tx.sql, lock: tx.engine == .postgres) else {
                throw Problem.notFound("member merge", mergeId)
            }
            var record = original
            guard record.status == .merged else { throw Problem.conflict("Merge \(mergeId) was already reversed.", kind: "merge-reversed") }
            let now = self.clock.instant()
            guard now <= record.reversibleUntil else {
                throw Problem.conflict("Merge \(mergeId) could be reversed until \(record.reversibleUntil); it stays.", kind: "merge-final")
            }
            let (targetId, sourceId, moved) = (record.targetId, record.sourceId, record.moved)
            let (target, source) = try await self.lockPair(targetId, sourceId, tx)
            guard target.status == .active, source.mergedInto == targetId else {
                throw Problem.conflict("Member \(targetId) was merged on into \(target.mergedInto ?? "another member"); reverse that merge first.",
                                       kind: "merge-spent")
            }
            let reference = LedgerReference(type: "member_merge_reversal", id: mergeId)
            let lots = try await tx.sql.raw("""
                SELECT id, remaining FROM member_points_lots WHERE member_id = \(bind: targetId) AND id IN \(SQLQueryString.list(moved.lots.map(\.lotId)))
                """).all().reduce(into: [String: Int64]()) { $0[try $1.decode(column: "id", as: String.self)] = try $1.decode(column: "remaining", as: Int64.self) }
            let spent = moved.lots.reduce(Int64(0)) { $0 + $1.points - (lots[$1.lotId] ?? 0) }
            guard spent == 0 else {
                throw Problem.conflict("Member \(targetId) has used \(spent) of the \(moved.points) points the merge moved; it cannot be reversed.",
                                       kind: "merge-spent")
            }
            let wallet = try await self.lockWallet(targetId, tx)
            guard wallet.principal >= moved.walletPrincipal, wallet.bonus >= moved.walletBonus else {
                throw Problem.conflict("Member \(targetId)'s wallet no longer holds the money the merge moved; it cannot be reversed.",
                                       kind: "merge-spent")
            }
            for hook in self.mergeHooks {
                try await hook.moveBack(moved.other[hook.name] ?? [], from: targetId, to: sourceId, mergedAt: record.mergedAt, in: tx)
            }
            _ = try await self.movePoints(moved.lots, from: targetId, to: sourceId, reference: reference, caller: caller, tx)
            try await self.moveWallet(principal: moved.walletPrincipal, bonus: moved.walletBonus, from: targetId, to: sourceId,
                                      reference: reference, caller: caller, tx)
            for i in moved.identities {
                try await tx.sql.raw("""
                    UPDATE member_identities SET member_id = \(bind: sourceId) WHERE member_id = \(bind: targetId) AND kind = \(bind: i.kind.rawValue)
                    AND channel = \(bind: i.channel ?? "") AND external_id = \(bind: i.externalId)
                    """).run()
            }
            for s in moved.spend {
                try await tx.sql.raw("""
                    UPDATE member_spend SET member_id = \(bind: sourceId)
                    WHERE member_id = \(bind: targetId) AND reference_type = \(bind: s.type) AND reference_id = \(bind: s.id)
                    """).run()
            }
            _ = try await self.place(targetId, try await Self.ladder(tx.sql), at: now, reason: "merge \(mergeId) reversed", reachedBy: nil, tx,
                                     caller: caller, mode: .floor(moved.tierBefore))
            // The target keeps what it changed itself since: only values still as the merge left them go back.
            var after = target
            after.profile.tags.removeAll { moved.tagsAdded.contains($0) }
            Self.unfill(&after.profile.name, moved.profileFilled.name)
            Self.unfill(&after.profile.birthday, moved.profileFilled.birthday)
            Self.unfill(&after.profile.gender, moved.profileFilled.gender)
            Self.unfill(&after.profile.preferredStoreId, moved.profileFilled.preferredStoreId)
            Self.unfill(&after.profile.email, moved.profileFilled.email)
            after.identities.removeAll { moved.identities.contains($0) }
            let consentsNow = try await Self.consents(targetId, tx.sql)
            for c in moved.consents where consentsNow.first(where: { $0.channel == c.channel }) == c.after {
                if let before = c.before {
                    try await Self.putConsent(targetId, before, tx)
                } else {
                    try await tx.sql.raw("DELETE FROM member_consents WHERE member_id = \(bind: targetId) AND channel = \(bind: c.channel.rawValue)").run()
                }
            }
            try await self.save(after, before: target, "reverse_merge", at: now, caller, tx)
            var restored = source
            restored.status = .active
            restored.mergedInto = nil
            restored.identities = moved.identities
            try await self.save(restored, before: source, "unmerged", at: now, caller, tx)
            record.status = .reversed
            record.reversedAt = now
            try await tx.sql.raw("""
                UPDATE member_merges SET status = 'reversed', reversed_at = \(bind: now.epochMillis) WHERE id = \(bind: mergeId)
                """).run()
            try await self.recorder.record(tx, caller: caller, action: "reverse_merge", entityType: "member_merge", entityId: mergeId,
                                           before: original, after: record, organisationId: nil, locationId: nil, event: "member.merge_reversed")
            return record
        }
    }

    public func mergeRecord(_ mergeId: String) async throws -> MemberMerge {
        guard let m = try await db.read({ try await Self.mergeRecord(mergeId, $0, lock: false) }) else { throw Problem.notFound("member merge", mergeId) }
        return m
    }

    /// The merges a member took part in (as target or source), newest first.
    public func merges(of memberId: String) async throws -> [MemberMerge] {
        try await db.read { sql in
            try await sql.raw("""
                SELECT * FROM member_merges WHERE target_id = \(bind: memberId) OR source_id = \(bind: memberId) ORDER BY id DESC LIMIT 100
                """).all().map(Self.mergeRecord)
        }
    }

    // MARK: Moving

    /// Locks both members (points and wallet balance rows in id order, then the member rows) and
    /// reads them after the locks, so of two merges of one source only the first sees it active.
    private func lockPair(_ targetId: String, _ sourceId: String, _ tx: Transaction) async throws -> (Member, Member) {
        let pg = tx.engine == .postgres
        for id in [targetId, sourceId].sorted() {
            _ = try await lockPoints(id, tx)
            _ = try await lockWallet(id, tx)
        }
        guard let target = try await Self.member(targetId, tx.sql, lock: pg) else { throw Problem.notFound("member", targetId) }
        guard let source = try await Self.member(sourceId, tx.sql, lock: pg) else { throw Problem.notFound("member", sourceId) }
        return (target, source)
    }

    /// Moves the lots (all of what is left in each) from one member to the other as a transfer
    /// entry on each side; the receiving side gets new lots with the same expiry. Returns them.
    private func movePoints(_ lots: [MovedLot], from: String, to: String, reference: LedgerReference, caller: Caller,
                            _ tx: Transaction) async throws -> [MovedLot] {
        let total = lots.reduce(0) { $0 + $1.points }
        guard total > 0 else { return [] }
        let now = clock.instant()
        let out = PointsEntry(id: O2OID.make("pte", at: now), memberId: from, kind: .transfer, delta: -total, requested: total, reference: reference,
                              reverses: nil, expiresAt: nil, reason: "moved to \(to)", at: now, actorId: caller.principal.id)
        let into = PointsEntry(id: O2OID.make("pte", at: now), memberId: to, kind: .transfer, delta: total, requested: total, reference: reference,
                               reverses: nil, expiresAt: nil, reason: "moved from \(from)", at: now, actorId: caller.principal.id)
        try await insert(out, caller, tx)
        try await insert(into, caller, tx)
        var created: [MovedLot] = []
        for lot in lots {
            try await Self.takeFromLot(lot.lotId, lot.points, for: out.id, tx)
            let id = try await Self.insertLot(to, entryId: into.id, points: lot.points, expiresAt: lot.expiresAt, at: now, tx)
            created.append(MovedLot(lotId: id, points: lot.points, expiresAt: lot.expiresAt))
        }
        _ = try await post(out, from: try await lockPoints(from, tx), caller, tx)
        _ = try await post(into, from: try await lockPoints(to, tx), caller, tx)
        return created
    }

    private func moveWallet(principal: Int64, bonus: Int64, from: String, to: String, reference: LedgerReference, caller: Caller,
                            _ tx: Transaction) async throws {
        guard principal + bonus > 0 else { return }
        let now = clock.instant()
        for (member, sign) in [(from, Int64(-1)), (to, Int64(1))] {
            let balance = try await lockWallet(member, tx)
            let entry = WalletEntry(id: O2OID.make("wle", at: now), memberId: member, kind: .transfer, currency: balance.currency,
                                    principalDelta: sign * principal, bonusDelta: sign * bonus, reference: reference, refersTo: nil,
                                    at: now, actorId: caller.principal.id)
            _ = try await post(entry, from: balance, caller, tx)
        }
    }

    private static func fill<T: Equatable>(_ field: inout T?, from source: T?, into filled: inout T?) {
        guard field == nil, let source else { return }
        field = source
        filled = source
    }

    private static func unfill<T: Equatable>(_ field: inout T?, _ filled: T?) {
        if let filled, field == filled { field = nil }
    }

    /// Writes a member's profile, status and merge link, one version up, when they changed.
    private func save(_ after: Member, before: Member, _ action: String, at now: Date, _ caller: Caller, _ tx: Transaction) async throws {
        guard after.profile != before.profile || after.status != before.status || after.mergedInto != before.mergedInto
                || after.identities != before.identities else { return }
        var after = after
        after.version = before.version + 1
        after.updatedAt = now
        let p = after.profile
        try await tx.sql.raw("""
            UPDATE members SET name = \(bind: p.name), birthday = \(bind: p.birthday), gender = \(bind: p.gender?.rawValue),
                preferred_store_id = \(bind: p.preferredStoreId), email = \(bind: p.email), tags = \(bind: JSONCoding.string(p.tags)),
                status = \(bind: after.status.rawValue),
                merged_into = \(bind: after.mergedInto), version = \(bind: after.version), updated_at = \(bind: now.epochMillis)
            WHERE id = \(bind: after.id)
            """).run()
        try await record(tx, caller, action, before: before, after: after, event: "member.updated")
    }

    static func putConsent(_ memberId: String, _ c: Consent, _ tx: Transaction) async throws {
        try await tx.sql.raw("DELETE FROM member_consents WHERE member_id = \(bind: memberId) AND channel = \(bind: c.channel.rawValue)").run()
        try await tx.sql.raw("""
            INSERT INTO member_consents (member_id, channel, granted, at, source)
            VALUES (\(bind: memberId), \(bind: c.channel.rawValue), \(bind: c.granted ? 1 : 0), \(bind: c.at.epochMillis), \(bind: c.source))
            """).run()
    }

    /// Moves are stored with millisecond dates, so lots moved back expire exactly when they did.
    static func movesJSON(_ moves: MergeMoves) throws -> String {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .millisecondsSince1970
        e.outputFormatting = .sortedKeys
        return String(decoding: try e.encode(moves), as: UTF8.self)
    }

    static var movesDecoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        return d
    }

    static func mergeRecord(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> MemberMerge? {
        try await sql.raw("SELECT * FROM member_merges WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first().map(mergeRecord)
    }

    static func mergeRecord(_ r: any SQLRow) throws -> MemberMerge {
        MemberMerge(
            id: try r.decode(column: "id", as: String.self), targetId: try r.decode(column: "target_id", as: String.self),
            sourceId: try r.decode(column: "source_id", as: String.self),
            status: MemberMergeStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .merged,
            moved: try movesDecoder.decode(MergeMoves.self, from: Data(try r.decode(column: "moved", as: String.self).utf8)),
            mergedAt: Date(epochMillis: try r.decode(column: "merged_at", as: Int64.self)),
            reversibleUntil: Date(epochMillis: try r.decode(column: "reversible_until", as: Int64.self)),
            reversedAt: try r.decode(column: "reversed_at", as: Int64?.self).map(Date.init(epochMillis:)),
            actorId: try r.decode(column: "actor_id", as: String.self))
    }
}
