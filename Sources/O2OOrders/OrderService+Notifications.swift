import Foundation
import O2OCore
import SQLKit

// MARK: - Payment notifications: the provider says a payment arrived

/// The verifiers of the providers this server takes notifications from; a provider left nil
/// has no notification endpoint.
public struct PaymentNotifiers: Sendable {
    public var alipay: AlipayNotifications?
    public var wechatPay: WeChatPayNotifications?
    public init(alipay: AlipayNotifications? = nil, wechatPay: WeChatPayNotifications? = nil) {
        self.alipay = alipay
        self.wechatPay = wechatPay
    }
}

/// What became of a notification: it is logged whatever it was.
public enum NotificationOutcome: String, Sendable {
    /// The payment was captured; the order may now be paid.
    case captured
    /// Already captured by an earlier notification of the same payment.
    case duplicate
    /// Verified, but not news a payment waits for (a trade still waiting, closed, a pay-score event).
    case ignored
    /// Refused: a bad or missing signature, an unknown payment, an amount that is not the payment's.
    case rejected
}

extension OrderService {
    /// Verifies an Alipay asynchronous notification (the form body as received) and applies it.
    public func receiveAlipay(form body: String, caller: Caller) async throws -> (NotificationOutcome, Order?) {
        guard let verifier = notifiers.alipay else { throw Problem.notFound("payment provider", "alipay") }
        return try await receive(provider: "alipay", payload: body) { try verifier.verify(FormURLEncoding.parse(body)) }
    }

    /// Verifies a WeChat Pay APIv3 notification (headers and the exact body) and applies it.
    public func receiveWeChatPay(headers: [String: String], body: String, caller: Caller) async throws -> (NotificationOutcome, Order?) {
        guard let verifier = notifiers.wechatPay else { throw Problem.notFound("payment provider", "wechat_pay") }
        let now = clock.instant()
        return try await receive(provider: "wechat_pay", payload: body) { try verifier.verify(headers: headers, body: body, now: now) }
    }

    /// Verify, then apply; every notification leaves a row in the log, a refused one with why.
    private func receive(provider: String, payload: String, verify: () throws -> ProviderNotification) async throws -> (NotificationOutcome, Order?) {
        let n: ProviderNotification
        do {
            n = try verify()
        } catch let e as NotificationError {
            try await log(provider: provider, outcome: .rejected, reason: e.problem.detail ?? e.problem.title, notification: nil, payload: payload)
            throw e
        }
        do {
            let (outcome, order) = try await apply(n)
            try await log(provider: provider, outcome: outcome, reason: nil, notification: n, payload: payload)
            return (outcome, order)
        } catch let p as Problem where p.status < 500 {
            try await log(provider: provider, outcome: .rejected, reason: p.detail ?? p.title, notification: n, payload: payload)
            throw p
        }
    }

    /// Captures the payment the notification names, once. The notification must name one of our
    /// payments of that provider and carry exactly its amount.
    private func apply(_ n: ProviderNotification) async throws -> (NotificationOutcome, Order?) {
        let tender: Tender = n.provider == "alipay" ? .alipay : .wechatPay
        // Not money arriving (a trade still waiting or closed, a pay-score event): noted, nothing to do.
        guard n.paid, let reference = n.merchantReference else { return (.ignored, nil) }
        let caller = Caller.system
        let now = clock.instant()
        return try await db.write { tx in
            guard let row = try await tx.sql.raw("""
                SELECT order_id FROM order_payments WHERE id = \(bind: reference) AND tender = \(bind: tender.rawValue)
                """).first() else {
                throw Problem(kind: "unknown-payment", title: "No such payment", status: 404,
                              detail: "No \(tender.rawValue) payment '\(reference)' here.")
            }
            guard var o = try await OrderRows.order(try row.decode(column: "order_id", as: String.self), tx.sql, lock: tx.engine == .postgres) else {
                throw Problem.notFound("order", reference)
            }
            let i = o.payments.firstIndex { $0.id == reference }!
            guard n.amount == o.payments[i].amount else {
                throw Problem.conflict("The notification pays \(n.amount.map(String.init) ?? "no amount"), the payment is \(o.payments[i].amount) (minor units).",
                                       kind: "amount-mismatch")
            }
            guard o.payments[i].status == .pending else { return (.duplicate, o) }
            let before = o
            o.payments[i].status = .captured
            o.payments[i].captured = o.payments[i].amount
            o.payments[i].providerReference = n.providerReference
            o.payments[i].updatedAt = now
            try await OrderRows.update(payment: o.payments[i], tx)
            try await OrderRows.ledger(payment: reference, kind: "capture", amount: o.payments[i].amount, at: now, caller: caller, tx)
            o.paidTotal = o.payments.reduce(0) { $0 + $1.captured }
            if o.paidTotal >= o.total, o.paymentStatus == .pending { o.paymentStatus = .paid }
            let late = o.status == .cancelled
            o.timeline.append(TimelineEntry(at: now, kind: "payment", status: o.status, actorId: caller.principal.id,
                                            note: "\(tender.rawValue) \(n.providerReference ?? "") captured \(o.payments[i].amount) \(o.currency)"
                                                + (late ? "; the order was already cancelled: refund it through the provider" : "")))
            try await save(&o, before: before, action: "capture", event: o.paymentStatus == .paid && !late ? "order.paid" : "order.payment_captured",
                           caller: caller, tx)
            return (.captured, o)
        }
    }

    private func log(provider: String, outcome: NotificationOutcome, reason: String?, notification n: ProviderNotification?, payload: String) async throws {
        let now = clock.instant()
        try await db.write { tx in
            try await tx.sql.raw("""
                INSERT INTO order_payment_notifications (id, provider, received_at, outcome, reason, event, merchant_reference, provider_reference,
                    amount, payload)
                VALUES (\(bind: O2OID.make("pmn", at: now)), \(bind: provider), \(bind: now.epochMillis), \(bind: outcome.rawValue), \(bind: reason),
                        \(bind: n?.event), \(bind: n?.merchantReference), \(bind: n?.providerReference), \(bind: n?.amount),
                        \(bind: String(payload.prefix(4_000))))
                """).run()
        }
    }
}
