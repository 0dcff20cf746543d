import Foundation
import O2OCore
import SQLKit

// MARK: - Consent, export and erasure (PIPL-style)

/// The channels a brand may market to a member through, each consented to on its own.
public enum ConsentChannel: String, Codable, Sendable, CaseIterable {
    case sms, wechat, email
}

/// A member's answer for one channel: when, and where it was given (a till, the app's settings,
/// a web form, customer service).
public struct Consent: Codable, Sendable, Equatable {
    public var channel: ConsentChannel
    public var granted: Bool
    public var at: Date
    public var source: String
}

/// Everything the brand holds about a member, as the member may ask for it.
public struct MemberExport: Codable, Sendable, Equatable {
    public var member: Member
    public var consents: [Consent]
    public var tier: MemberTierStatus
    public var points: PointsBalance
    public var pointsLedger: [PointsEntry]
    public var wallet: WalletBalance
    public var walletLedger: [WalletEntry]
    public var exportedAt: Date
}

extension MembersService {
    /// Records the member's consent (or its withdrawal) for one channel. The same answer again
    /// changes nothing; each change is audited with its source.
    public func setConsent(_ memberId: String, channel: ConsentChannel, granted: Bool, source: String, caller: Caller) async throws -> [Consent] {
        var v = Validator()
        v.text(source, "source", max: 100)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard try await Self.member(memberId, tx.sql, lock: tx.engine == .postgres) != nil else { throw Problem.notFound("member", memberId) }
            let before = try await Self.consents(memberId, tx.sql)
            if before.first(where: { $0.channel == channel })?.granted == granted { return before }
            try await tx.sql.raw("DELETE FROM member_consents WHERE member_id = \(bind: memberId) AND channel = \(bind: channel.rawValue)").run()
            try await tx.sql.raw("""
                INSERT INTO member_consents (member_id, channel, granted, at, source)
                VALUES (\(bind: memberId), \(bind: channel.rawValue), \(bind: granted ? 1 : 0), \(bind: now.epochMillis), \(bind: source))
                """).run()
            let after = try await Self.consents(memberId, tx.sql)
            try await self.recorder.record(tx, caller: caller, action: granted ? "consent" : "withdraw_consent", entityType: "member",
                                           entityId: memberId, before: before, after: after, organisationId: nil, locationId: nil,
                                           event: "member.consent_changed")
            return after
        }
    }

    /// The member's consents, one per channel answered (a channel never answered is not consented).
    public func consents(_ memberId: String) async throws -> [Consent] {
        try await db.read { sql in
            guard try await Self.member(memberId, sql, lock: false) != nil else { throw Problem.notFound("member", memberId) }
            return try await Self.consents(memberId, sql)
        }
    }

    /// All the brand holds about the member, ledgers in full; the export itself is audited.
    public func export(_ memberId: String, caller: Caller) async throws -> MemberExport {
        let m = try await member(memberId)
        var points: [PointsEntry] = []
        var cursor: String?
        repeat {
            let page = try await pointsLedger(memberId, limit: 500, cursor: cursor)
            points += page.items
            cursor = page.nextCursor
        } while cursor != nil
        var wallet: [WalletEntry] = []
        repeat {
            let page = try await walletLedger(memberId, limit: 500, cursor: cursor)
            wallet += page.items
            cursor = page.nextCursor
        } while cursor != nil
        let export = MemberExport(member: m, consents: try await consents(memberId), tier: try await tierStatus(memberId),
                                  points: try await pointsBalance(memberId), pointsLedger: points, wallet: try await walletBalance(memberId),
                                  walletLedger: wallet, exportedAt: clock.instant())
        try await db.write { tx in
            try await self.recorder.record(tx, caller: caller, action: "export", entityType: "member", entityId: memberId, before: String?.none,
                                           after: "personal data exported", organisationId: nil, locationId: nil, event: nil)
        }
        return export
    }

    /// Erases the member's personal data on request: number, name, birthday, gender, preferred
    /// store, tags, linked identities and consents, and through the erase hooks what other
    /// contexts hold of them (their orders' contact phone, address and invoice details). What the
    /// books need stays, without a person: the ledgers, the tier and the orders keep the member's
    /// id. Refused (409) while the wallet holds money the member paid in (refund it first) or a
    /// hook refuses (an order still on its way). Erasing again changes nothing.
    public func erase(_ memberId: String, reason: String, caller: Caller) async throws -> Member {
        var v = Validator()
        v.text(reason, "reason", max: 500)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            guard let before = try await Self.member(memberId, tx.sql, lock: tx.engine == .postgres) else { throw Problem.notFound("member", memberId) }
            let wallet = try await self.lockWallet(memberId, tx)
            guard wallet.principal == 0 else {
                throw Problem.conflict("Member \(memberId)'s wallet holds \(wallet.principal) (minor units) they paid in: refund it before erasing.",
                                       kind: "wallet-not-empty")
            }
            let empty = MemberProfile()
            for hook in self.eraseHooks { try await hook.erase(memberId: memberId, in: tx) }
            if before.phone == nil && before.profile == empty && before.identities.isEmpty { return before }
            try await tx.sql.raw("DELETE FROM member_identities WHERE member_id = \(bind: memberId)").run()
            try await tx.sql.raw("DELETE FROM member_consents WHERE member_id = \(bind: memberId)").run()
            try await tx.sql.raw("DELETE FROM member_segment_members WHERE member_id = \(bind: memberId)").run()
            // Messages keep their place in their campaign, without the address or the text; those
            // not sent yet never will be.
            try await tx.sql.raw("""
                UPDATE member_messages SET recipient = '', subject = NULL, body = '',
                    status = CASE WHEN status IN ('queued', 'sending') THEN 'failed' ELSE status END,
                    error = CASE WHEN status IN ('queued', 'sending') THEN 'member erased' ELSE error END
                WHERE member_id = \(bind: memberId)
                """).run()
            try await tx.sql.raw("""
                UPDATE members SET phone = NULL, name = NULL, birthday = NULL, gender = NULL, preferred_store_id = NULL, email = NULL, tags = '[]',
                    version = version + 1, updated_at = \(bind: now.epochMillis)
                WHERE id = \(bind: memberId)
                """).run()
            var after = before
            after.phone = nil
            after.profile = empty
            after.identities = []
            after.version += 1
            after.updatedAt = now
            try await self.recorder.record(tx, caller: caller, action: "erase", entityType: "member", entityId: memberId,
                                           before: String?.none, after: "personal data erased: \(reason)", organisationId: nil, locationId: nil,
                                           event: "member.erased")
            return after
        }
    }

    static func consents(_ memberId: String, _ sql: any SQLDatabase) async throws -> [Consent] {
        try await sql.raw("SELECT * FROM member_consents WHERE member_id = \(bind: memberId) ORDER BY channel").all().map { r in
            Consent(channel: ConsentChannel(rawValue: try r.decode(column: "channel", as: String.self)) ?? .sms,
                    granted: try r.decode(column: "granted", as: Int.self) != 0, at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
                    source: try r.decode(column: "source", as: String.self))
        }
    }
}

/// Erases, inside the member's erase transaction, what another context holds of the member's
/// personal data; throws a 409 problem to refuse the erase (nothing is erased then).
public protocol MemberEraseHook: Sendable {
    func erase(memberId: String, in tx: Transaction) async throws
}
