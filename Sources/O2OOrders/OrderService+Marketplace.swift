import Foundation
import O2OCatalog
import O2OCore

// MARK: - Marketplace intake: orders from Tmall, JD, Shopify… by file or webhook

public struct MarketplaceImportResult: Sendable {
    public enum Outcome: String, Sendable {
        /// A new order, priced as the marketplace charged it, routed and its stock held.
        case placed
        /// Already here, and nothing the marketplace says changes it.
        case unchanged
        /// Already here; the marketplace cancelled it, so it was cancelled here too.
        case cancelled
        /// Not taken in: not paid on the marketplace yet, or already fulfilled outside O2O.
        case skipped
        /// Refused; `problem` says why. Other orders of the file are unaffected.
        case rejected
    }

    public var externalId: String
    public var externalStatus: String
    public var outcome: Outcome
    public var order: Order?
    public var problem: Problem?
    /// What the adapter found odd in the marketplace's data (totals that do not add up, masked contacts…).
    public var warnings: [String]
}

extension OrderService {
    /// Takes in a marketplace's orders (a webhook body or an exported file, in `adapter`'s format)
    /// for `channel`: new paid orders are placed at the marketplace's prices, their payment
    /// collected by the marketplace; orders the marketplace cancelled are cancelled here. The
    /// external id and status are kept, so sending the same file again changes nothing.
    public func importMarketplaceOrders(_ data: Data, adapter: any MarketplaceAdapter, channel ref: String,
                                        caller: Caller) async throws -> [MarketplaceImportResult] {
        let channel: SalesChannel
        do { channel = try await catalog.channel(ref) } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("channel", "no channel '\(ref)'")])
        }
        guard channel.kind == .marketplace else { throw Problem.validation([.init("channel", "\(channel.code) is not a marketplace channel")]) }
        let orders = try adapter.orders(from: data)
        var results: [MarketplaceImportResult] = []
        for m in orders {
            var r = MarketplaceImportResult(externalId: m.externalId, externalStatus: m.externalStatus, outcome: .skipped, order: nil, problem: nil,
                                            warnings: m.warnings)
            do {
                (r.outcome, r.order) = try await take(m, adapter: adapter, channel: channel, caller: caller, warnings: &r.warnings)
            } catch let p as Problem where p.status < 500 && p.status != 403 {
                r.outcome = .rejected
                r.problem = p
            } catch let e as OrdersError {
                r.outcome = .rejected
                r.problem = e.problem
            }
            results.append(r)
        }
        return results
    }

    private func take(_ m: MarketplaceOrder, adapter: any MarketplaceAdapter, channel: SalesChannel, caller: Caller,
                      warnings: inout [String]) async throws -> (MarketplaceImportResult.Outcome, Order?) {
        let existing = try await db.read { sql in
            try await sql.raw("SELECT id FROM orders WHERE channel_id = \(bind: channel.id) AND external_id = \(bind: m.externalId)").first()
        }.map { try $0.decode(column: "id", as: String.self) }
        if let id = existing {
            var o = try await order(id, scope: .all)
            if [.cancelled, .refunded].contains(m.state), o.status.next.contains(.cancelled), ![.released, .picking, .readyForPickup].contains(o.status) {
                o = try await cancel(id, reason: "cancelled on \(channel.code) (\(m.externalStatus))", caller: caller)
                return (.cancelled, o)
            }
            if [.cancelled, .refunded].contains(m.state), o.status != .cancelled {
                warnings.append("the marketplace cancelled it (\(m.externalStatus)) but it is \(o.status.rawValue) here: the location decides")
            }
            return (.unchanged, o)
        }
        switch m.state {
        case .awaitingPayment:
            warnings.append("not paid on the marketplace yet: send it again once paid")
            return (.skipped, nil)
        case .shipped, .completed, .cancelled, .refunded:
            warnings.append("already \(m.state.rawValue) on the marketplace: nothing for O2O to fulfil")
            return (.skipped, nil)
        case .awaitingShipment, .partiallyShipped:
            break
        }
        var v = Validator()
        let address: DeliveryAddress?
        if let a = m.address {
            address = a
        } else if let raw = m.shippingAddress, let region = geocoder?.locate(province: raw.province, city: raw.city, district: raw.district) {
            address = raw.deliveryAddress(lat: region.lat, lng: region.lng).map { a in
                var a = a
                a.provinceCode = region.provinceCode
                a.cityCode = region.cityCode
                a.districtCode = region.districtCode
                return a
            }
            if address != nil { warnings.append("placed at the centre of its \(region.precision) (no coordinates from the marketplace)") }
        } else {
            address = nil
        }
        if address == nil {
            v.add("address", m.shippingAddress == nil ? "the marketplace sent no shipping address"
                : "no point for this address: the marketplace sent no coordinates and no region table knows it (or the name or phone is masked)")
        }
        try v.finish()
        var new = NewOrder(channel: channel.id, externalId: m.externalId, contactPhone: m.buyer.phone, method: .delivery, address: address,
                           invoice: m.invoice, lines: m.lines.map { (sku: $0.sku, quantity: $0.quantity) })
        new.charged = m.lines.map { l in
            let each = l.quantity > 0 ? l.discount / Int64(l.quantity) : 0
            if each * Int64(l.quantity) != l.discount {
                warnings.append("line \(l.sku): a discount of \(l.discount) does not split evenly over \(l.quantity) units; \(each) each kept")
            }
            return (unitPrice: l.unitPrice, unitDiscount: each)
        }
        let total = m.lines.enumerated().reduce(Int64(0)) { $0 + ($1.element.unitPrice - new.charged![$1.offset].unitDiscount) * Int64($1.element.quantity) }
        new.payments = total > 0 ? [(tender: .marketplace, amount: total)] : []
        new.marketplace = adapter.name
        if m.totals.total != total + m.totals.shipping + (m.totals.taxIncluded ? 0 : m.totals.tax) {
            warnings.append("the marketplace's total is \(m.totals.total); its lines come to \(total) before shipping \(m.totals.shipping)")
        }
        return (.placed, try await place(new, caller: caller))
    }
}
