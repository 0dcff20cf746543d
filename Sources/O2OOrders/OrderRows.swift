import Foundation
import O2OCore
import SQLKit

/// Orders as rows: written and read back whole.
enum OrderRows {
    static func json<T: Encodable>(_ value: T?) -> String? {
        guard let value else { return nil }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.dateEncodingStrategy = .millisecondsSince1970
        return String(decoding: try! e.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T? {
        guard let text else { return nil }
        let d = JSONDecoder()
        d.dateDecodingStrategy = .millisecondsSince1970
        return try d.decode(T.self, from: Data(text.utf8))
    }

    static func insert(_ o: Order, payWindow: Int, _ tx: Transaction) async throws {
        let payBy = o.paymentStatus == .pending && o.status != .cancelled ? o.createdAt.addingTimeInterval(Double(payWindow)).epochMillis : nil
        try await tx.sql.raw("""
            INSERT INTO orders (id, channel_id, external_id, status, payment_status, holds, member_id, contact_phone, attributed_location_id,
                attributed_clerk_id, address, pickup_location_id, pickup_code, invoice, currency, subtotal, discount_total, shipping_total,
                total, paid_total, reservation_id, routing, pay_by, version, created_at, updated_at)
            VALUES (\(bind: o.id), \(bind: o.channelId), \(bind: o.externalId), \(bind: o.status.rawValue), \(bind: o.paymentStatus.rawValue),
                \(bind: json(o.holds.map(\.rawValue))), \(bind: o.memberId), \(bind: o.contactPhone), \(bind: o.attributedLocationId),
                \(bind: o.attributedClerkId), \(bind: json(o.address)), \(bind: o.pickupLocationId), \(bind: o.pickupCode), \(bind: json(o.invoice)),
                \(bind: o.currency), \(bind: o.subtotal), \(bind: o.discountTotal), \(bind: o.shippingTotal), \(bind: o.total), \(bind: o.paidTotal),
                \(bind: o.reservationId), \(bind: json(o.routing)), \(bind: payBy), \(bind: o.version), \(bind: o.createdAt.epochMillis),
                \(bind: o.updatedAt.epochMillis))
            """).run()
        try await insert(lines: o.lines, of: o.id, tx)
        try await insert(payments: o.payments, of: o.id, tx)
        try await appendTimeline(o.id, o.timeline, from: 0, tx)
    }

    static func insert(lines: [OrderLine], of orderId: String, _ tx: Transaction) async throws {
        guard !lines.isEmpty else { return }
        var q: SQLQueryString = """
            INSERT INTO order_lines (order_id, line, sku_id, sku_code, quantity, unit_price, list_price, price_rule, discount, total, method,
                location_id, mode, cancelled) VALUES
            """
        for (i, l) in lines.enumerated() {
            q += """
                \(unsafeRaw: i == 0 ? "" : ",")(\(bind: orderId), \(bind: l.line), \(bind: l.skuId), \(bind: l.skuCode), \(bind: l.quantity),
                \(bind: l.unitPrice), \(bind: l.listPrice), \(bind: l.priceRule), \(bind: l.discount), \(bind: l.total), \(bind: l.method.rawValue),
                \(bind: l.locationId), \(bind: l.mode?.rawValue), \(bind: l.cancelled))
                """
        }
        try await tx.sql.raw(q).run()
    }

    static func insert(payments: [Payment], of orderId: String, _ tx: Transaction) async throws {
        for p in payments {
            try await tx.sql.raw("""
                INSERT INTO order_payments (id, order_id, tender, provider, status, amount, captured, refunded, provider_reference, created_at, updated_at)
                VALUES (\(bind: p.id), \(bind: orderId), \(bind: p.tender.rawValue), \(bind: p.provider), \(bind: p.status.rawValue), \(bind: p.amount),
                        \(bind: p.captured), \(bind: p.refunded), \(bind: p.providerReference), \(bind: p.createdAt.epochMillis), \(bind: p.updatedAt.epochMillis))
                """).run()
        }
    }

    static func appendTimeline(_ orderId: String, _ entries: [TimelineEntry], from seq: Int, _ tx: Transaction) async throws {
        guard !entries.isEmpty else { return }
        var q: SQLQueryString = "INSERT INTO order_timeline (order_id, seq, at, kind, status, actor_id, note) VALUES "
        for (i, e) in entries.enumerated() {
            q += """
                \(unsafeRaw: i == 0 ? "" : ",")(\(bind: orderId), \(bind: seq + i), \(bind: e.at.epochMillis), \(bind: e.kind), \(bind: e.status.rawValue),
                \(bind: e.actorId), \(bind: e.note))
                """
        }
        try await tx.sql.raw(q).run()
    }

    /// The order's own row and the lines that changed since `before` (payments and timeline have
    /// their own writes).
    static func update(_ o: Order, before: Order, _ tx: Transaction) async throws {
        // The payment deadline stays while the order is unpaid and open, and is cleared otherwise.
        let stillDue = o.paymentStatus == .pending && o.status != .cancelled
        try await tx.sql.raw("""
            UPDATE orders SET status = \(bind: o.status.rawValue), payment_status = \(bind: o.paymentStatus.rawValue),
                holds = \(bind: json(o.holds.map(\.rawValue))), address = \(bind: json(o.address)), pickup_code = \(bind: o.pickupCode),
                subtotal = \(bind: o.subtotal), discount_total = \(bind: o.discountTotal), total = \(bind: o.total), paid_total = \(bind: o.paidTotal),
                reservation_id = \(bind: o.reservationId), routing = \(bind: json(o.routing)),
                pay_by = \(unsafeRaw: stillDue ? "pay_by" : "NULL"), version = \(bind: o.version), updated_at = \(bind: o.updatedAt.epochMillis)
            WHERE id = \(bind: o.id)
            """).run()
        // Lines and tenders an edit added; then the lines that changed.
        let known = Set(before.lines.map(\.line))
        try await insert(lines: o.lines.filter { !known.contains($0.line) }, of: o.id, tx)
        try await insert(payments: o.payments.filter { p in !before.payments.contains { $0.id == p.id } }, of: o.id, tx)
        for l in o.lines where known.contains(l.line) && !before.lines.contains(l) {
            try await tx.sql.raw("""
                UPDATE order_lines SET location_id = \(bind: l.locationId), mode = \(bind: l.mode?.rawValue), cancelled = \(bind: l.cancelled)
                WHERE order_id = \(bind: o.id) AND line = \(bind: l.line)
                """).run()
        }
    }

    static func update(payment p: Payment, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE order_payments SET status = \(bind: p.status.rawValue), amount = \(bind: p.amount), captured = \(bind: p.captured), refunded = \(bind: p.refunded),
                provider_reference = \(bind: p.providerReference), updated_at = \(bind: p.updatedAt.epochMillis)
            WHERE id = \(bind: p.id)
            """).run()
    }

    static func ledger(payment: String, kind: String, amount: Int64, at now: Date, caller: Caller, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO order_payment_ledger (id, payment_id, kind, amount, at, actor_id)
            VALUES (\(bind: O2OID.make("pml", at: now)), \(bind: payment), \(bind: kind), \(bind: amount), \(bind: now.epochMillis),
                    \(bind: caller.principal.id))
            """).run()
    }

    static func order(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Order? {
        guard let r = try await sql.raw("SELECT * FROM orders WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first() else { return nil }
        let lines = try await sql.raw("SELECT * FROM order_lines WHERE order_id = \(bind: id) ORDER BY line").all().map { l in
            OrderLine(line: try l.decode(column: "line", as: Int.self), skuId: try l.decode(column: "sku_id", as: String.self),
                      skuCode: try l.decode(column: "sku_code", as: String.self), quantity: try l.decode(column: "quantity", as: Int.self),
                      unitPrice: try l.decode(column: "unit_price", as: Int64.self), listPrice: try l.decode(column: "list_price", as: Int64.self),
                      priceRule: try l.decode(column: "price_rule", as: String.self), discount: try l.decode(column: "discount", as: Int64.self),
                      total: try l.decode(column: "total", as: Int64.self),
                      method: FulfilmentMethod(rawValue: try l.decode(column: "method", as: String.self)) ?? .delivery,
                      locationId: try l.decode(column: "location_id", as: String?.self),
                      mode: try l.decode(column: "mode", as: String?.self).flatMap(SourcingMode.init(rawValue:)),
                      cancelled: try l.decode(column: "cancelled", as: Int.self))
        }
        let payments = try await sql.raw("SELECT * FROM order_payments WHERE order_id = \(bind: id) ORDER BY id").all().map { p in
            Payment(id: try p.decode(column: "id", as: String.self), tender: Tender(rawValue: try p.decode(column: "tender", as: String.self)) ?? .sandbox,
                    provider: try p.decode(column: "provider", as: String.self),
                    status: PaymentIntentStatus(rawValue: try p.decode(column: "status", as: String.self)) ?? .pending,
                    amount: try p.decode(column: "amount", as: Int64.self), captured: try p.decode(column: "captured", as: Int64.self),
                    refunded: try p.decode(column: "refunded", as: Int64.self), providerReference: try p.decode(column: "provider_reference", as: String?.self),
                    createdAt: Date(epochMillis: try p.decode(column: "created_at", as: Int64.self)),
                    updatedAt: Date(epochMillis: try p.decode(column: "updated_at", as: Int64.self)))
        }
        let timeline = try await sql.raw("SELECT * FROM order_timeline WHERE order_id = \(bind: id) ORDER BY seq").all().map { t in
            TimelineEntry(at: Date(epochMillis: try t.decode(column: "at", as: Int64.self)), kind: try t.decode(column: "kind", as: String.self),
                          status: OrderStatus(rawValue: try t.decode(column: "status", as: String.self)) ?? .placed,
                          actorId: try t.decode(column: "actor_id", as: String.self), note: try t.decode(column: "note", as: String?.self))
        }
        return Order(
            id: id, channelId: try r.decode(column: "channel_id", as: String.self), externalId: try r.decode(column: "external_id", as: String?.self),
            status: OrderStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .placed,
            paymentStatus: PaymentStatus(rawValue: try r.decode(column: "payment_status", as: String.self)) ?? .pending,
            holds: (try decode([String].self, try r.decode(column: "holds", as: String.self)) ?? []).compactMap(HoldKind.init(rawValue:)),
            memberId: try r.decode(column: "member_id", as: String?.self), contactPhone: try r.decode(column: "contact_phone", as: String?.self),
            attributedLocationId: try r.decode(column: "attributed_location_id", as: String?.self),
            attributedClerkId: try r.decode(column: "attributed_clerk_id", as: String?.self),
            address: try decode(DeliveryAddress.self, try r.decode(column: "address", as: String?.self)),
            pickupLocationId: try r.decode(column: "pickup_location_id", as: String?.self), pickupCode: try r.decode(column: "pickup_code", as: String?.self),
            invoice: try decode(InvoiceRequest.self, try r.decode(column: "invoice", as: String?.self)),
            currency: try r.decode(column: "currency", as: String.self), subtotal: try r.decode(column: "subtotal", as: Int64.self),
            discountTotal: try r.decode(column: "discount_total", as: Int64.self), shippingTotal: try r.decode(column: "shipping_total", as: Int64.self),
            total: try r.decode(column: "total", as: Int64.self), paidTotal: try r.decode(column: "paid_total", as: Int64.self),
            reservationId: try r.decode(column: "reservation_id", as: String?.self), lines: lines, payments: payments,
            routing: try decode(RoutingDecision.self, try r.decode(column: "routing", as: String?.self)), timeline: timeline,
            version: try r.decode(column: "version", as: Int.self), createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }
}
