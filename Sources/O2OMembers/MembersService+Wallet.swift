import Foundation
import O2OCore
import SQLKit

/// The wallet's currency and what a top-up earns on top (充值赠送).
public struct WalletPolicy: Sendable {
    /// A bonus step: a top-up of at least `minimum` gets `bonus` (both in minor units).
    public struct BonusTier: Sendable, Equatable {
        public var minimum: Int64
        public var bonus: Int64
        public init(minimum: Int64, bonus: Int64) {
            self.minimum = minimum
            self.bonus = bonus
        }
    }

    public var currency: String
    /// The highest tier a top-up reaches applies (pay ¥1,000.00, get ¥100.00: minimum 100000, bonus 10000).
    public var bonusTiers: [BonusTier]

    public init(currency: String = "CNY", bonusTiers: [BonusTier] = []) {
        self.currency = currency
        self.bonusTiers = bonusTiers
    }

    /// The largest single top-up, payment or refund (¥10,000,000.00).
    public static let maxAmount: Int64 = 1_000_000_000

    public func bonus(forTopUp principal: Int64) -> Int64 {
        bonusTiers.filter { $0.minimum <= principal }.max { $0.minimum < $1.minimum }?.bonus ?? 0
    }
}

// MARK: - Wallet (储值): top-ups with a bonus, payments and refunds, principal and bonus kept apart

extension MembersService {
    /// Money paid into the wallet (`reference`: the payment that brought it), plus the bonus the
    /// policy gives for that amount. Posting the same reference again returns the first posting.
    public func topUpWallet(_ memberId: String, amount: Money, reference: LedgerReference, caller: Caller) async throws -> WalletPosting {
        try validateWallet(amount, reference: reference)
        return try await db.write { tx in
            let balance = try await self.lockWallet(memberId, tx)
            if let done = try await Self.walletEntry(memberId, .topUp, reference, tx.sql) {
                return try Self.replay(done, requested: amount.minorUnits, expected: done.principalDelta, balance: balance)
            }
            let now = self.clock.instant()
            let entry = WalletEntry(id: O2OID.make("wle", at: now), memberId: memberId, kind: .topUp, currency: self.wallet.currency,
                                    principalDelta: amount.minorUnits, bonusDelta: self.wallet.bonus(forTopUp: amount.minorUnits),
                                    reference: reference, refersTo: nil, at: now, actorId: caller.principal.id)
            return try await self.post(entry, from: balance, caller, tx)
        }
    }

    /// Pays from the wallet (`reference`: the order or tender). Principal and bonus are spent in
    /// the proportion the wallet holds them, so what is left keeps the same share of refundable
    /// principal. Refuses more than the balance (`insufficientWallet`, nothing written).
    public func payFromWallet(_ memberId: String, amount: Money, reference: LedgerReference, caller: Caller) async throws -> WalletPosting {
        try validateWallet(amount, reference: reference)
        return try await db.write { tx in try await self.pay(memberId, amount.minorUnits, reference, caller, tx) }
    }

    /// The same inside another module's transaction (placing an order paid from the wallet).
    public func payFromWallet(_ memberId: String, amount: Money, reference: LedgerReference, caller: Caller,
                              in tx: Transaction) async throws -> WalletPosting {
        try validateWallet(amount, reference: reference)
        return try await pay(memberId, amount.minorUnits, reference, caller, tx)
    }

    /// Gives (part of) a wallet payment back to the wallet (`payment`: the reference the payment
    /// was posted with; `reference`: the refund). Principal and bonus go back in the split the
    /// payment took them, so refunds never turn bonus into refundable principal; all refunds of a
    /// payment together never exceed it.
    public func refundToWallet(_ memberId: String, amount: Money, payment: LedgerReference, reference: LedgerReference,
                               caller: Caller) async throws -> WalletPosting {
        try validateWallet(amount, reference: reference, payment: payment)
        return try await db.write { tx in try await self.refund(memberId, amount.minorUnits, payment, reference, caller, tx) }
    }

    public func refundToWallet(_ memberId: String, amount: Money, payment: LedgerReference, reference: LedgerReference,
                               caller: Caller, in tx: Transaction) async throws -> WalletPosting {
        try validateWallet(amount, reference: reference, payment: payment)
        return try await refund(memberId, amount.minorUnits, payment, reference, caller, tx)
    }

    // MARK: Reading

    public func walletBalance(_ memberId: String) async throws -> WalletBalance {
        guard let b = try await db.read({ sql in
            try await sql.raw("SELECT * FROM member_wallet_balances WHERE member_id = \(bind: memberId)").first().map(Self.walletBalance)
        }) else { throw Problem.notFound("member", memberId) }
        return b
    }

    /// The member's wallet ledger, newest first.
    public func walletLedger(_ memberId: String, limit: Int = 50, cursor: String? = nil) async throws -> Page<WalletEntry> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        try v.finish()
        return try await db.page("SELECT * FROM member_wallet_ledger WHERE member_id = \(bind: memberId)", limit: limit, cursor: cursor,
                                 order: .newestFirst, map: Self.walletEntry, id: \.id)
    }

    /// Members whose principal or bonus differs from the sum of their ledger, or is below zero:
    /// one statement over every member, read through the covering (member_id, id, d_principal,
    /// d_bonus) index, as `verifyPoints` does.
    public func verifyWallet() async throws -> [WalletMismatch] {
        try await db.read { sql in
            let rows: [any SQLRow]
            if self.db.engine == .postgres {
                rows = try await sql.raw("""
                    SELECT b.member_id, b.principal, b.bonus, COALESCE(l.principal, 0) AS ledger_principal, COALESCE(l.bonus, 0) AS ledger_bonus
                    FROM member_wallet_balances b
                    LEFT JOIN (SELECT member_id, CAST(SUM(d_principal) AS BIGINT) AS principal, CAST(SUM(d_bonus) AS BIGINT) AS bonus
                               FROM member_wallet_ledger GROUP BY member_id) l ON l.member_id = b.member_id
                    WHERE b.principal <> COALESCE(l.principal, 0) OR b.bonus <> COALESCE(l.bonus, 0) OR b.principal < 0 OR b.bonus < 0
                    ORDER BY b.member_id
                    """).all()
            } else {
                rows = try await sql.raw("""
                    SELECT * FROM (
                        SELECT b.member_id, b.principal, b.bonus,
                            (SELECT COALESCE(SUM(l.d_principal), 0) FROM member_wallet_ledger l WHERE l.member_id = b.member_id) AS ledger_principal,
                            (SELECT COALESCE(SUM(l.d_bonus), 0) FROM member_wallet_ledger l WHERE l.member_id = b.member_id) AS ledger_bonus
                        FROM member_wallet_balances b) x
                    WHERE principal <> ledger_principal OR bonus <> ledger_bonus OR principal < 0 OR bonus < 0
                    ORDER BY member_id
                    """).all()
            }
            return try rows.map { r in
                WalletMismatch(memberId: try r.decode(column: "member_id", as: String.self), principal: try r.decode(column: "principal", as: Int64.self),
                               bonus: try r.decode(column: "bonus", as: Int64.self),
                               ledgerPrincipal: try r.decode(column: "ledger_principal", as: Int64.self),
                               ledgerBonus: try r.decode(column: "ledger_bonus", as: Int64.self))
            }
        }
    }

    // MARK: Postings

    private func pay(_ memberId: String, _ amount: Int64, _ reference: LedgerReference, _ caller: Caller, _ tx: Transaction) async throws -> WalletPosting {
        let balance = try await lockWallet(memberId, tx)
        if let done = try await Self.walletEntry(memberId, .pay, reference, tx.sql) {
            return try Self.replay(done, requested: amount, expected: -done.amount, balance: balance)
        }
        guard balance.total >= amount else {
            throw MembersError.insufficientWallet(memberId: memberId, balance: balance.total, requested: amount, currency: balance.currency)
        }
        let bonus = Self.share(amount, of: balance.bonus, in: balance.total)
        let now = clock.instant()
        let entry = WalletEntry(id: O2OID.make("wle", at: now), memberId: memberId, kind: .pay, currency: balance.currency,
                                principalDelta: -(amount - bonus), bonusDelta: -bonus, reference: reference, refersTo: nil,
                                at: now, actorId: caller.principal.id)
        return try await post(entry, from: balance, caller, tx)
    }

    private func refund(_ memberId: String, _ amount: Int64, _ paymentRef: LedgerReference, _ reference: LedgerReference,
                        _ caller: Caller, _ tx: Transaction) async throws -> WalletPosting {
        let balance = try await lockWallet(memberId, tx)
        guard let payment = try await Self.walletEntry(memberId, .pay, paymentRef, tx.sql) else {
            throw Problem.notFound("wallet payment", "\(paymentRef.type) \(paymentRef.id)")
        }
        if let done = try await Self.walletEntry(memberId, .refund, reference, tx.sql) {
            guard done.refersTo == payment.id else {
                throw MembersError.referenceReused(reference, posted: done.amount, requested: amount)
            }
            return try Self.replay(done, requested: amount, expected: done.amount, balance: balance)
        }
        let paid = -payment.amount, paidBonus = -payment.bonusDelta
        guard let row = try await tx.sql.raw("""
            SELECT CAST(COALESCE(SUM(d_principal + d_bonus), 0) AS BIGINT) AS amount, CAST(COALESCE(SUM(d_bonus), 0) AS BIGINT) AS bonus
            FROM member_wallet_ledger WHERE kind = 'refund' AND refers_to = \(bind: payment.id)
            """).first() else { throw Problem.notFound("wallet payment", payment.id) }
        let refunded = try row.decode(column: "amount", as: Int64.self)
        let refundedBonus = try row.decode(column: "bonus", as: Int64.self)
        guard refunded + amount <= paid else {
            throw MembersError.exceedsOriginal(paymentRef, original: paid, alreadyReversed: refunded, requested: amount)
        }
        // The bonus share is reckoned on all refunds of the payment together, so rounding never
        // gives back more bonus or principal than the payment took.
        let bonus = Self.share(refunded + amount, of: paidBonus, in: paid) - refundedBonus
        let now = clock.instant()
        let entry = WalletEntry(id: O2OID.make("wle", at: now), memberId: memberId, kind: .refund, currency: balance.currency,
                                principalDelta: amount - bonus, bonusDelta: bonus, reference: reference, refersTo: payment.id,
                                at: now, actorId: caller.principal.id)
        return try await post(entry, from: balance, caller, tx)
    }

    /// `amount × part / whole`, rounded down, without overflowing.
    static func share(_ amount: Int64, of part: Int64, in whole: Int64) -> Int64 {
        guard whole > 0, part > 0 else { return 0 }
        let product = amount.multipliedFullWidth(by: part)
        return whole.dividingFullWidth(product).quotient
    }

    // MARK: Ledger primitives

    /// The wallet's balance, its row locked until the transaction ends (see `lockPoints`).
    func lockWallet(_ memberId: String, _ tx: Transaction) async throws -> WalletBalance {
        let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
        guard let row = try await tx.sql.raw("""
            SELECT * FROM member_wallet_balances WHERE member_id = \(bind: memberId)\(unsafeRaw: lock)
            """).first() else { throw Problem.notFound("member", memberId) }
        return try Self.walletBalance(row)
    }

    private static func replay(_ done: WalletEntry, requested: Int64, expected: Int64, balance: WalletBalance) throws -> WalletPosting {
        guard requested == expected else { throw MembersError.referenceReused(done.reference, posted: expected, requested: requested) }
        return WalletPosting(entry: done, balance: balance, replayed: true)
    }

    private struct WalletChange: Codable, Sendable {
        var principal: Int64
        var bonus: Int64
        var entry: WalletEntry?
    }

    /// Writes the ledger row, moves both parts of the balance (neither below zero) and records the change.
    func post(_ entry: WalletEntry, from balance: WalletBalance, _ caller: Caller, _ tx: Transaction) async throws -> WalletPosting {
        try await tx.sql.raw("""
            INSERT INTO member_wallet_ledger (id, member_id, kind, currency, d_principal, d_bonus, reference_type, reference_id, refers_to,
                at, actor_id, request_id)
            VALUES (\(bind: entry.id), \(bind: entry.memberId), \(bind: entry.kind.rawValue), \(bind: entry.currency), \(bind: entry.principalDelta),
                    \(bind: entry.bonusDelta), \(bind: entry.reference.type), \(bind: entry.reference.id), \(bind: entry.refersTo),
                    \(bind: entry.at.epochMillis), \(bind: entry.actorId), \(bind: caller.requestId))
            """).run()
        guard let row = try await tx.sql.raw("""
            UPDATE member_wallet_balances SET principal = principal + \(bind: entry.principalDelta), bonus = bonus + \(bind: entry.bonusDelta),
                updated_at = \(bind: entry.at.epochMillis)
            WHERE member_id = \(bind: entry.memberId) AND principal + \(bind: entry.principalDelta) >= 0 AND bonus + \(bind: entry.bonusDelta) >= 0
            RETURNING *
            """).first() else {
            throw MembersError.insufficientWallet(memberId: entry.memberId, balance: balance.total, requested: -entry.amount, currency: balance.currency)
        }
        let after = try Self.walletBalance(row)
        try await recorder.record(tx, caller: caller, action: "wallet_\(entry.kind.rawValue)", entityType: "member", entityId: entry.memberId,
                                  before: WalletChange(principal: balance.principal, bonus: balance.bonus, entry: nil),
                                  after: WalletChange(principal: after.principal, bonus: after.bonus, entry: entry),
                                  organisationId: nil, locationId: nil, event: "member.wallet_posted")
        return WalletPosting(entry: entry, balance: after, replayed: false)
    }

    static func walletEntry(_ memberId: String, _ kind: WalletEntryKind, _ reference: LedgerReference, _ sql: any SQLDatabase) async throws -> WalletEntry? {
        try await sql.raw("""
            SELECT * FROM member_wallet_ledger WHERE member_id = \(bind: memberId) AND kind = \(bind: kind.rawValue)
            AND reference_type = \(bind: reference.type) AND reference_id = \(bind: reference.id)
            """).first().map(walletEntry)
    }

    static func walletEntry(_ r: any SQLRow) throws -> WalletEntry {
        WalletEntry(
            id: try r.decode(column: "id", as: String.self), memberId: try r.decode(column: "member_id", as: String.self),
            kind: WalletEntryKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .pay,
            currency: try r.decode(column: "currency", as: String.self), principalDelta: try r.decode(column: "d_principal", as: Int64.self),
            bonusDelta: try r.decode(column: "d_bonus", as: Int64.self),
            reference: LedgerReference(type: try r.decode(column: "reference_type", as: String.self), id: try r.decode(column: "reference_id", as: String.self)),
            refersTo: try r.decode(column: "refers_to", as: String?.self), at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)),
            actorId: try r.decode(column: "actor_id", as: String.self))
    }

    static func walletBalance(_ r: any SQLRow) throws -> WalletBalance {
        WalletBalance(memberId: try r.decode(column: "member_id", as: String.self), currency: try r.decode(column: "currency", as: String.self),
                      principal: try r.decode(column: "principal", as: Int64.self), bonus: try r.decode(column: "bonus", as: Int64.self))
    }

    // MARK: Validation

    func validateWallet(_ amount: Money, reference: LedgerReference, payment: LedgerReference? = nil) throws(Problem) {
        var v = Validator()
        v.check((1...WalletPolicy.maxAmount).contains(amount.minorUnits), "amount.minorUnits",
                "must be a whole number of minor units from 1 to \(WalletPolicy.maxAmount)")
        v.check(amount.currency == wallet.currency, "amount.currency", "must be \(wallet.currency), the wallet's currency")
        Self.validateReference(reference, &v)
        if let payment {
            v.text(payment.type, "payment.type", max: 40)
            v.text(payment.id, "payment.id", max: 100)
        }
        try v.finish()
    }
}
