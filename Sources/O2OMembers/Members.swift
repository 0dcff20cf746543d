import Foundation
import O2OCore

// MARK: - Identity and profile

public enum Gender: String, Codable, Sendable, CaseIterable {
    case female
    case male
    /// The member chose not to say.
    case undisclosed
}

/// What a member tells us about themselves; replaced as a whole by `updateProfile`.
public struct MemberProfile: Codable, Sendable, Equatable {
    public var name: String?
    /// A calendar date, `YYYY-MM-DD` (no time, no zone: the day is the same everywhere).
    public var birthday: String?
    public var gender: Gender?
    /// The store the member shops at: a location id of the Network context, kept as given.
    public var preferredStoreId: String?
    /// Where email messages go; kept lower-cased.
    public var email: String?
    /// Labels for segments (`vip`, `new-mum`, …): letters, digits, `-`, `_`, `.`; kept sorted, no duplicates.
    public var tags: [String]

    public init(name: String? = nil, birthday: String? = nil, gender: Gender? = nil, preferredStoreId: String? = nil, email: String? = nil,
                tags: [String] = []) {
        self.name = name
        self.birthday = birthday
        self.gender = gender
        self.preferredStoreId = preferredStoreId
        self.email = email
        self.tags = tags
    }
}

/// The kinds of external identity a member can be found by.
public enum IdentityKind: String, Codable, Sendable, CaseIterable {
    /// The one id of a WeChat user across a brand's official accounts and mini-programs.
    case wechatUnionId = "wechat_unionid"
    /// A WeChat user's id in one official account or mini-program (its app: the `channel`, optional).
    case wechatOpenId = "wechat_openid"
    /// A buyer's id on a marketplace; only unique within that marketplace, so `channel` is required.
    case marketplaceBuyerId = "marketplace_buyer_id"
    /// The number on a member card issued at the till.
    case posCardNumber = "pos_card_number"

    /// Whether an identity of this kind is qualified by a channel: required, allowed or refused.
    public var channel: ChannelRule {
        switch self {
        case .marketplaceBuyerId: return .required
        case .wechatOpenId: return .optional
        case .wechatUnionId, .posCardNumber: return .none
        }
    }

    public enum ChannelRule: Sendable { case required, optional, none }
}

/// An id another system knows a member by. Unique per kind and channel.
public struct ExternalIdentity: Codable, Sendable, Hashable {
    public var kind: IdentityKind
    /// The marketplace (or WeChat app) the id belongs to; nil for kinds that are global to the brand.
    public var channel: String?
    public var externalId: String

    public init(kind: IdentityKind, channel: String? = nil, externalId: String) {
        self.kind = kind
        self.channel = channel
        self.externalId = externalId
    }

    public var description: String {
        "\(kind.rawValue)\(channel.map { "@\($0)" } ?? "") \(externalId)"
    }
}

/// One member (会员) in every channel.
public struct Member: Codable, Sendable, Equatable, CustomStringConvertible {
    public var id: String
    /// E.164; nil for a member first met through an external identity that came without a number.
    public var phone: String?
    public var profile: MemberProfile
    public var identities: [ExternalIdentity]
    /// The channel that created the member (web, app, a marketplace, a store's till …).
    public var createdChannel: String
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
    /// `merged` once the member was merged into another (`mergedInto`); lookups then answer that one.
    public var status: MemberStatus = .active
    public var mergedInto: String?
    /// The member's own code to give to friends (推荐码); nil only for members from before codes.
    public var referralCode: String?
    /// The member whose code this member joined with.
    public var referredBy: String?

    /// The phone as lists and logs show it (`138****5678`).
    public var maskedPhone: String? { phone.map(PhoneNumber.mask) }

    /// Masked: a member interpolated into a log line never shows the full number.
    public var description: String { "Member(\(id), phone: \(maskedPhone ?? "none"))" }
}

public enum MemberStatus: String, Codable, Sendable, CaseIterable {
    case active
    /// Merged into another member: a duplicate kept (for a reversal and for the ids other systems
    /// hold), holding nothing.
    case merged
}

/// A member as lists show it: the phone masked, no external ids.
public struct MemberSummary: Codable, Sendable, Equatable {
    public var id: String
    public var maskedPhone: String?
    public var name: String?
    public var tags: [String]
    public var createdChannel: String
    public var createdAt: Date

    public init(_ m: Member) {
        id = m.id
        maskedPhone = m.maskedPhone
        name = m.profile.name
        tags = m.profile.tags
        createdChannel = m.createdChannel
        createdAt = m.createdAt
    }
}

/// The result of a find-or-create: the member, and whether this call created it.
public struct MemberLookup: Sendable, Equatable {
    public var member: Member
    public var created: Bool
}

/// What audit rows and events record of a member: the phone masked (personal data stays in the
/// members table, not in logs that are copied to webhook receivers).
struct MemberRecord: Codable, Sendable {
    var id: String
    var maskedPhone: String?
    var profile: MemberProfile
    var identities: [ExternalIdentity]
    var createdChannel: String
    var version: Int
    var status: MemberStatus
    var mergedInto: String?

    init(_ m: Member) {
        id = m.id
        maskedPhone = m.maskedPhone
        profile = m.profile
        identities = m.identities
        createdChannel = m.createdChannel
        version = m.version
        status = m.status
        mergedInto = m.mergedInto
    }
}

// MARK: - Ledgers

/// What a ledger posting is for: the document in another context (an order, a return, a payment …).
public struct LedgerReference: Codable, Sendable, Hashable {
    public var type: String
    public var id: String
    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }
}

public enum PointsEntryKind: String, Codable, Sendable, CaseIterable {
    /// Points earned (an order completed, a bonus action); creates a lot that expires.
    case earn
    /// Points spent (a tender of an order); consumes lots, soonest-expiring first.
    case redeem
    /// What was left of a lot when it expired.
    case expire
    /// Takes back an earn (the order was returned) or gives back a redeem (the order was refunded).
    case reverse
    /// A manual correction with a reason: positive creates a lot, negative consumes lots.
    case adjust
    /// Points moved between two members by a merge (or its reversal): negative on the one they
    /// leave, positive (with lots of the same expiry) on the one they reach.
    case transfer
}

/// One row of the points ledger. `delta` is what the balance moved by; `requested` what the
/// caller asked for (they differ only for the reversal of an earn that was partly spent).
public struct PointsEntry: Codable, Sendable, Equatable {
    public var id: String
    public var memberId: String
    public var kind: PointsEntryKind
    public var delta: Int64
    public var requested: Int64
    public var reference: LedgerReference
    /// For a reversal, the entry it reverses.
    public var reverses: String?
    /// For an earn or a positive adjustment, when its lot expires (nil: never).
    public var expiresAt: Date?
    public var reason: String?
    public var at: Date
    public var actorId: String
}

/// The outcome of a points posting.
public struct PointsPosting: Sendable, Equatable {
    public var entry: PointsEntry
    /// The member's balance after it (for a replay: the balance now).
    public var balance: Int64
    /// True when the reference was already posted: nothing new was written.
    public var replayed: Bool
    /// For the reversal of an earn: points asked back that could not be taken because the member
    /// had already spent them and the balance may not go below zero.
    public var shortfall: Int64 { entry.requested - abs(entry.delta) }
}

/// The member's points now, with the lots they are in.
public struct PointsBalance: Codable, Sendable, Equatable {
    public var memberId: String
    public var balance: Int64
    /// Lots with points left, soonest-expiring first.
    public var lots: [PointsLot]
}

public struct PointsLot: Codable, Sendable, Equatable {
    public var id: String
    /// The entry that created the lot (an earn, a positive adjustment, the reversal of a redeem).
    public var entryId: String
    public var points: Int64
    public var remaining: Int64
    public var expiresAt: Date?
}

public enum WalletEntryKind: String, Codable, Sendable, CaseIterable {
    /// Money paid in (principal) plus what the brand adds (bonus).
    case topUp = "top_up"
    /// A payment from the wallet.
    case pay
    /// A payment given back to the wallet (an order refunded), in the split the payment took.
    case refund
    /// Money moved between two members by a merge (or its reversal), principal and bonus apart.
    case transfer
}

/// One row of the wallet ledger, in minor units of the wallet's currency. Principal (money the
/// member paid) and bonus (money the brand gave) are kept apart: only principal may ever be paid
/// back out, as a Chinese stored-value card requires.
public struct WalletEntry: Codable, Sendable, Equatable {
    public var id: String
    public var memberId: String
    public var kind: WalletEntryKind
    public var currency: String
    public var principalDelta: Int64
    public var bonusDelta: Int64
    public var reference: LedgerReference
    /// For a refund, the payment entry it gives back.
    public var refersTo: String?
    public var at: Date
    public var actorId: String

    public var amount: Int64 { principalDelta + bonusDelta }
}

public struct WalletBalance: Codable, Sendable, Equatable {
    public var memberId: String
    public var currency: String
    public var principal: Int64
    public var bonus: Int64
    public var total: Int64 { principal + bonus }

    public init(memberId: String, currency: String, principal: Int64, bonus: Int64) {
        self.memberId = memberId
        self.currency = currency
        self.principal = principal
        self.bonus = bonus
    }
}

public struct WalletPosting: Sendable, Equatable {
    public var entry: WalletEntry
    public var balance: WalletBalance
    public var replayed: Bool
}

// MARK: - The invariant

/// A member whose stored balance differs from its ledger (or, for points, from its open lots).
public struct PointsMismatch: Codable, Sendable, Equatable {
    public var memberId: String
    public var balance: Int64
    public var ledger: Int64
    public var lots: Int64

    public init(memberId: String, balance: Int64, ledger: Int64, lots: Int64) {
        self.memberId = memberId
        self.balance = balance
        self.ledger = ledger
        self.lots = lots
    }
}

public struct WalletMismatch: Codable, Sendable, Equatable {
    public var memberId: String
    public var principal: Int64
    public var bonus: Int64
    public var ledgerPrincipal: Int64
    public var ledgerBonus: Int64

    public init(memberId: String, principal: Int64, bonus: Int64, ledgerPrincipal: Int64, ledgerBonus: Int64) {
        self.memberId = memberId
        self.principal = principal
        self.bonus = bonus
        self.ledgerPrincipal = ledgerPrincipal
        self.ledgerBonus = ledgerBonus
    }
}

public struct MembersVerifyReport: Sendable, Equatable {
    public var points: [PointsMismatch]
    public var wallet: [WalletMismatch]
    public var ok: Bool { points.isEmpty && wallet.isEmpty }
}

// MARK: - Errors

/// Errors of the members module; each knows its problem+json form.
public enum MembersError: ProblemConvertible, CustomStringConvertible, Equatable {
    /// The identity belongs to another member: unlink it there first (or merge the two).
    case identityLinkedToAnother(ExternalIdentity, memberId: String)
    /// A redemption or negative adjustment above the balance; nothing was written.
    case insufficientPoints(memberId: String, balance: Int64, requested: Int64)
    /// A payment above the wallet's balance; nothing was written.
    case insufficientWallet(memberId: String, balance: Int64, requested: Int64, currency: String)
    /// The reference was already posted for another amount: a retry must repeat the request.
    case referenceReused(LedgerReference, posted: Int64, requested: Int64)
    /// A reversal (or refund) beyond what the original moved.
    case exceedsOriginal(LedgerReference, original: Int64, alreadyReversed: Int64, requested: Int64)

    public var problem: Problem {
        switch self {
        case .identityLinkedToAnother(let identity, let memberId):
            var p = Problem.conflict("\(identity.kind.rawValue) \(identity.externalId) is already linked to member \(memberId).",
                                     kind: "identity-linked")
            p.errors = [.init("identity", "linked to member \(memberId)")]
            return p
        case .insufficientPoints(let memberId, let balance, let requested):
            var p = Problem.conflict("Member \(memberId) has \(balance) points; \(requested) requested.", kind: "insufficient-points")
            p.errors = [.init("points", "requested \(requested), balance \(balance)")]
            return p
        case .insufficientWallet(let memberId, let balance, let requested, let currency):
            var p = Problem.conflict("Member \(memberId)'s wallet holds \(Money.decimal(balance, currency: currency)) \(currency); "
                                     + "\(Money.decimal(requested, currency: currency)) requested.", kind: "insufficient-wallet")
            p.errors = [.init("amount", "requested \(requested), balance \(balance) (minor units of \(currency))")]
            return p
        case .referenceReused(let ref, let posted, let requested):
            var p = Problem.conflict("\(ref.type) \(ref.id) was already posted for \(posted), not \(requested).", kind: "reference-reused")
            p.errors = [.init("reference", "already posted for \(posted)")]
            return p
        case .exceedsOriginal(let ref, let original, let already, let requested):
            var p = Problem.conflict("\(ref.type) \(ref.id) moved \(original), \(already) of it already given back; \(requested) requested.",
                                     kind: "exceeds-original")
            p.errors = [.init("amount", "at most \(max(0, original - already))")]
            return p
        }
    }

    public var description: String { problem.description }
}
