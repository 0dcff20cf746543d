import Foundation
import O2OCore
import O2OMembers
import SQLKit

/// What a member merge moves outside the members context: the orders and the coupons the source
/// holds go to the target, and a reversal takes back exactly the ones listed in the merge record.
/// Wired here, where both contexts are known, as the order hooks are wired into members.
struct OrdersMergeHook: MemberMergeHook {
    var name: String { "orders" }

    func move(from sourceId: String, to targetId: String, in tx: Transaction) async throws -> [String] {
        try await MergeMoveSQL.move(table: "orders", from: sourceId, to: targetId, tx)
    }

    func moveBack(_ ids: [String], from targetId: String, to sourceId: String, mergedAt: Date, in tx: Transaction) async throws {
        try await MergeMoveSQL.moveBack(table: "orders", ids, from: targetId, to: sourceId, tx)
    }
}

struct CouponsMergeHook: MemberMergeHook {
    var name: String { "coupons" }

    func move(from sourceId: String, to targetId: String, in tx: Transaction) async throws -> [String] {
        try await MergeMoveSQL.move(table: "coupons", from: sourceId, to: targetId, tx)
    }

    /// Refused (409) when the target redeemed one of the moved coupons since the merge.
    func moveBack(_ ids: [String], from targetId: String, to sourceId: String, mergedAt: Date, in tx: Transaction) async throws {
        for chunk in MergeMoveSQL.chunks(ids) {
            if let used = try await tx.sql.raw("""
                SELECT coupon_id FROM coupon_redemptions WHERE coupon_id IN \(SQLQueryString.list(chunk)) AND at >= \(bind: mergedAt.epochMillis)
                AND reversed_at IS NULL
                """).first() {
                throw Problem.conflict("Coupon \(try used.decode(column: "coupon_id", as: String.self)) moved by the merge was used since; "
                                       + "the merge cannot be reversed.", kind: "merge-spent")
            }
        }
        try await MergeMoveSQL.moveBack(table: "coupons", ids, from: targetId, to: sourceId, tx)
    }
}

enum MergeMoveSQL {
    static func move(table: String, from sourceId: String, to targetId: String, _ tx: Transaction) async throws -> [String] {
        try await tx.sql.raw("""
            UPDATE \(ident: table) SET member_id = \(bind: targetId) WHERE member_id = \(bind: sourceId) RETURNING id
            """).all().map { try $0.decode(column: "id", as: String.self) }.sorted()
    }

    static func moveBack(table: String, _ ids: [String], from targetId: String, to sourceId: String, _ tx: Transaction) async throws {
        for chunk in chunks(ids) {
            try await tx.sql.raw("""
                UPDATE \(ident: table) SET member_id = \(bind: sourceId) WHERE member_id = \(bind: targetId) AND id IN \(SQLQueryString.list(chunk))
                """).run()
        }
    }

    static func chunks(_ ids: [String]) -> [[String]] {
        stride(from: 0, to: ids.count, by: 500).map { Array(ids[$0..<min($0 + 500, ids.count)]) }
    }
}

/// An erased member's orders lose their contact phone, delivery address and invoice details; the
/// order, its lines and its money stay, under the member's id. Refused (409) while one of their
/// orders is still open (not completed, settled or cancelled): it needs the address to arrive.
struct OrdersEraseHook: MemberEraseHook {
    func erase(memberId: String, in tx: Transaction) async throws {
        if let open = try await tx.sql.raw("""
            SELECT id, status FROM orders WHERE member_id = \(bind: memberId) AND status NOT IN ('completed', 'settled', 'cancelled') ORDER BY id LIMIT 1
            """).first() {
            throw Problem.conflict("Member \(memberId)'s order \(try open.decode(column: "id", as: String.self)) is still "
                                   + "\(try open.decode(column: "status", as: String.self)): complete or cancel it before erasing.", kind: "orders-open")
        }
        try await tx.sql.raw("""
            UPDATE orders SET contact_phone = NULL, address = NULL, invoice = NULL
            WHERE member_id = \(bind: memberId) AND (contact_phone IS NOT NULL OR address IS NOT NULL OR invoice IS NOT NULL)
            """).run()
    }
}
