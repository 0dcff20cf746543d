import Foundation
import O2OAPI
import O2OCatalog
import O2OCore
import O2OMembers
import O2ONetwork
import O2OOrders
import O2OPromotions
import OpenAPIRuntime

// MARK: - Promotions and cart pricing (营销)

extension APIHandlers {
    func priceCart(_ input: Operations.PriceCart.Input) async throws -> Operations.PriceCart.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var v = Validator()
        v.check(!b.lines.isEmpty && b.lines.count <= 200, "lines", "must have 1 to 200 lines")
        for (i, l) in b.lines.enumerated() { v.range(l.quantity, "lines[\(i)].quantity", 1...10_000) }
        if let p = b.points { v.check((1...PointsPolicy.maxPoints).contains(p), "points", "must be a whole number from 1 to \(PointsPolicy.maxPoints)") }
        if let f = b.shippingFee { v.check((0...WalletPolicy.maxAmount).contains(f), "shippingFee", "must be zero or more minor units") }
        v.check(b.memberId != nil || (b.couponCodes ?? []).isEmpty, "couponCodes", "coupons are a member's: name the member (memberId)")
        v.check(b.memberId != nil || b.points == nil, "points", "points are a member's: name the member (memberId)")
        if let n = b.notAppliedLimit { v.range(n, "notAppliedLimit", 0...1_000) }
        try v.finish()
        let at = b.at ?? services.clock.instant()
        let channel: SalesChannel
        do { channel = try await services.catalog.channel(b.channelId) } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("channelId", "no channel '\(b.channelId)'")])
        }
        var location: Location?
        if let l = b.locationId {
            do { location = try await services.network.location(l, scope: .all) } catch let p as Problem where p.status == 404 {
                throw Problem.validation([.init("locationId", "no location '\(l)'")])
            }
        }
        var member: Member?
        if let m = b.memberId {
            do { member = try await services.members.member(m) } catch let p as Problem where p.status == 404 {
                throw Problem.validation([.init("memberId", "no member '\(m)'")])
            }
        }
        let priced = try await services.pricing.prices.price(b.lines.map { (sku: $0.sku, quantity: $0.quantity) }, channelId: channel.id,
                                                             locationId: location?.id, memberId: member?.id, at: at)
        var coupons: [CouponOffer] = []
        var points: PointsRequest?
        if let member {
            coupons = try await services.pricing.coupons(b.couponCodes, memberId: member.id, at: at)
            if let p = b.points {
                let balance = try await services.members.pointsBalance(member.id).balance
                guard p <= balance else { throw Problem.validation([.init("points", "the member has \(balance) points")]) }
                points = PointsRequest(points: p, pointsPerYuan: 100 * services.members.points.pointsPerMinorUnit,
                                       maxSharePercent: services.members.points.maxOrderShare)
            }
        }
        let cart = try await services.pricing.cart(priced, quantities: b.lines.map(\.quantity), channelId: channel.id, location: location, member: member,
                                                   at: at, coupons: coupons, maxCoupons: max(1, b.couponCodes?.count ?? 1), points: points,
                                                   shippingFee: b.shippingFee ?? 0, currency: channel.currency)
        let result = try await services.promotions.price(cart)
        let chinese = !(input.headers.acceptLanguage ?? "").lowercased().hasPrefix("en")
        return .ok(.init(body: .json(try JSONBridge.convert(PricedCartView(cart: result, explanation: result.explanation(chinese: chinese),
                                                                           notAppliedLimit: b.notAppliedLimit ?? 20),
                                                            to: S.PricedCart.self))))
    }

    func listPromotions(_ input: Operations.ListPromotions.Input) async throws -> Operations.ListPromotions.Output {
        let page = try await services.promotions.promotions(status: input.query.status.flatMap { PromotionStatus(rawValue: $0.rawValue) },
                                                            limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: try page.items.map { try JSONBridge.convert($0, to: S.Promotion.self) }, nextCursor: page.nextCursor))))
    }

    func createPromotion(_ input: Operations.CreatePromotion.Input) async throws -> Operations.CreatePromotion.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var draft = try JSONBridge.convert(b, to: PromotionDraft.self)
        // Channels and stores may be named by code, as everywhere in the API; rules keep ids.
        var v = Validator()
        for (i, c) in draft.where.channels.enumerated() {
            do { draft.where.channels[i] = try await services.catalog.channel(c).id } catch let p as Problem where p.status == 404 {
                v.add("where.channels[\(i)]", "no channel '\(c)'")
            }
        }
        for (i, l) in draft.where.locationIds.enumerated() {
            do { draft.where.locationIds[i] = try await services.network.location(l, scope: .all).id } catch let p as Problem where p.status == 404 {
                v.add("where.locationIds[\(i)]", "no location '\(l)'")
            }
        }
        try v.finish()
        let p = try await services.promotions.create(draft, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(p, to: S.Promotion.self))))
    }

    func getPromotion(_ input: Operations.GetPromotion.Input) async throws -> Operations.GetPromotion.Output {
        .ok(.init(body: .json(try JSONBridge.convert(try await services.promotions.promotion(input.path.promotionId), to: S.Promotion.self))))
    }

    func setPromotionStatus(_ input: Operations.SetPromotionStatus.Input) async throws -> Operations.SetPromotionStatus.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let id = input.path.promotionId
        let p: Promotion
        switch b.status {
        case .active: p = try await services.promotions.activate(id, caller: try caller)
        case .paused: p = try await services.promotions.pause(id, caller: try caller)
        case .ended: p = try await services.promotions.end(id, caller: try caller)
        }
        return .ok(.init(body: .json(try JSONBridge.convert(p, to: S.Promotion.self))))
    }

    func getPromotionReport(_ input: Operations.GetPromotionReport.Input) async throws -> Operations.GetPromotionReport.Output {
        .ok(.init(body: .json(try JSONBridge.convert(try await services.promotions.report(input.path.promotionId), to: S.PromotionReport.self))))
    }
}

// MARK: - Coupons (优惠券)

extension APIHandlers {
    func listCouponTemplates(_ input: Operations.ListCouponTemplates.Input) async throws -> Operations.ListCouponTemplates.Output {
        let page = try await services.promotions.couponTemplates(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: try page.items.map { try JSONBridge.convert($0, to: S.CouponTemplate.self) },
                                           nextCursor: page.nextCursor))))
    }

    func createCouponTemplate(_ input: Operations.CreateCouponTemplate.Input) async throws -> Operations.CreateCouponTemplate.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let t = try await services.promotions.createCouponTemplate(try JSONBridge.convert(b, to: CouponTemplateDraft.self), caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(t, to: S.CouponTemplate.self))))
    }

    func generateCouponCodes(_ input: Operations.GenerateCouponCodes.Input) async throws -> Operations.GenerateCouponCodes.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let batch = try await services.promotions.generateCodes(templateId: input.path.templateId, count: b.count, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(batch, to: S.CouponBatch.self))))
    }

    func distributeCoupons(_ input: Operations.DistributeCoupons.Input) async throws -> Operations.DistributeCoupons.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let known = try await services.members.known(b.memberIds)
        var v = Validator()
        for (i, id) in b.memberIds.enumerated() where !known.contains(id) { v.add("memberIds[\(i)]", "no member '\(id)'") }
        try v.finish()
        let d = try await services.promotions.distribute(templateId: input.path.templateId, to: b.memberIds, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(d, to: S.CouponDistribution.self))))
    }

    func listCoupons(_ input: Operations.ListCoupons.Input) async throws -> Operations.ListCoupons.Output {
        _ = try await services.members.member(input.query.memberId)
        let page = try await services.promotions.coupons(memberId: input.query.memberId, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: try page.items.map { try JSONBridge.convert($0, to: S.Coupon.self) }, nextCursor: page.nextCursor))))
    }

    func claimCoupon(_ input: Operations.ClaimCoupon.Input) async throws -> Operations.ClaimCoupon.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        guard try await services.members.known([b.memberId]).contains(b.memberId) else {
            throw Problem.validation([.init("memberId", "no member '\(b.memberId)'")])
        }
        let c = try await services.promotions.claim(code: b.code, memberId: b.memberId, caller: try caller)
        return .ok(.init(body: .json(try JSONBridge.convert(c, to: S.Coupon.self))))
    }
}

/// A priced cart with the explanation a cashier reads out, as the API answers it.
/// A priced cart as the API answers it: the explanation in the caller's language, and of the
/// promotions that did not apply the `limit` that came nearest (every one counted, by reason).
struct PricedCartView: Encodable {
    let cart: PricedCart
    let explanation: [String]
    let notAppliedLimit: Int
    private enum Keys: String, CodingKey { case explanation, notAppliedCount, notAppliedByReason }
    func encode(to encoder: any Encoder) throws {
        var listed = cart
        listed.notApplied = cart.notApplied.enumerated().sorted { ($0.element.reason.distance, $0.offset) < ($1.element.reason.distance, $1.offset) }
            .prefix(notAppliedLimit).map(\.element)
        try listed.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(explanation, forKey: .explanation)
        try c.encode(cart.notApplied.count, forKey: .notAppliedCount)
        try c.encode(Dictionary(cart.notApplied.map { ($0.reason.rawValue, 1) }, uniquingKeysWith: +), forKey: .notAppliedByReason)
    }
}

/// Between the API's generated types and the domain's Codable types where the two have the same
/// JSON shape (promotion rules, priced carts): one encode and one decode, so the shapes are kept in
/// one place (the domain) and the spec documents them. A request the domain cannot read is a 422
/// naming the field.
enum JSONBridge {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    static func convert<A: Encodable, B: Decodable>(_ value: A, to: B.Type) throws -> B {
        do {
            return try decoder.decode(B.self, from: try encoder.encode(value))
        } catch let error as DecodingError {
            let path: [any CodingKey]
            switch error {
            case .keyNotFound(let key, let c): path = c.codingPath + [key]
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
            @unknown default: path = []
            }
            let field = path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().drop { $0 == "." }
            throw Problem.validation([.init(String(field), "is missing or not of the right kind")])
        }
    }
}

// MARK: - Flash sales (限时折扣) and group buys (团购)

extension APIHandlers {
    /// The SKU a flash sale or group buy sells, by id or code; unknown: 422 naming `skuId`.
    private func promotedSKU(_ idOrCode: String) async throws -> String {
        do { return try await services.catalog.sku(idOrCode).id } catch let p as Problem where p.status == 404 {
            throw Problem.validation([.init("skuId", "no SKU '\(idOrCode)'")])
        }
    }

    /// A list's SKU filter, by id or code; an unknown one filters everything out.
    private func listedSKU(_ idOrCode: String?) async throws -> String? {
        guard let idOrCode else { return nil }
        do { return try await services.catalog.sku(idOrCode).id } catch let p as Problem where p.status == 404 { return idOrCode }
    }

    func createFlashSale(_ input: Operations.CreateFlashSale.Input) async throws -> Operations.CreateFlashSale.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let d = FlashSaleDraft(name: b.name, skuId: try await promotedSKU(b.skuId), price: b.price, currency: b.currency ?? "CNY", quantity: b.quantity,
                               perMemberLimit: b.perMemberLimit ?? 1, startsAt: b.startsAt, endsAt: b.endsAt)
        let f = try await services.promotions.createFlashSale(d, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(f, to: S.FlashSale.self))))
    }

    func getFlashSale(_ input: Operations.GetFlashSale.Input) async throws -> Operations.GetFlashSale.Output {
        .ok(.init(body: .json(try JSONBridge.convert(try await services.promotions.flashSale(input.path.flashSaleId), to: S.FlashSale.self))))
    }

    func listFlashSales(_ input: Operations.ListFlashSales.Input) async throws -> Operations.ListFlashSales.Output {
        let page = try await services.promotions.flashSales(running: input.query.running ?? false, skuId: try await listedSKU(input.query.skuId),
                                                            limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: try page.items.map { try JSONBridge.convert($0, to: S.FlashSale.self) }, nextCursor: page.nextCursor))))
    }

    func setFlashSaleStatus(_ input: Operations.SetFlashSaleStatus.Input) async throws -> Operations.SetFlashSaleStatus.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let f = try await services.promotions.setFlashSaleStatus(input.path.flashSaleId, to: try dealStatus(b.status.rawValue), caller: try caller)
        return .ok(.init(body: .json(try JSONBridge.convert(f, to: S.FlashSale.self))))
    }

    func setGroupBuyStatus(_ input: Operations.SetGroupBuyStatus.Input) async throws -> Operations.SetGroupBuyStatus.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let g = try await services.promotions.setGroupBuyStatus(input.path.groupBuyId, to: try dealStatus(b.status.rawValue), caller: try caller)
        return .ok(.init(body: .json(try JSONBridge.convert(g, to: S.GroupBuy.self))))
    }

    private func dealStatus(_ raw: String) throws -> DealStatus {
        guard let s = DealStatus(rawValue: raw) else { throw Problem.validation([.init("status", "must be active, paused or ended")]) }
        return s
    }

    func createGroupBuy(_ input: Operations.CreateGroupBuy.Input) async throws -> Operations.CreateGroupBuy.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let d = GroupBuyDraft(name: b.name, skuId: try await promotedSKU(b.skuId), price: b.price, currency: b.currency ?? "CNY", groupSize: b.groupSize,
                              formWithinMinutes: b.formWithinMinutes ?? 1_440, perMemberLimit: b.perMemberLimit ?? 1, startsAt: b.startsAt,
                              endsAt: b.endsAt)
        let g = try await services.promotions.createGroupBuy(d, caller: try caller)
        return .created(.init(body: .json(try JSONBridge.convert(g, to: S.GroupBuy.self))))
    }

    func listGroupBuys(_ input: Operations.ListGroupBuys.Input) async throws -> Operations.ListGroupBuys.Output {
        let page = try await services.promotions.groupBuys(running: input.query.running ?? false, skuId: try await listedSKU(input.query.skuId),
                                                           limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: try page.items.map { try JSONBridge.convert($0, to: S.GroupBuy.self) }, nextCursor: page.nextCursor))))
    }

    func getGroupBuy(_ input: Operations.GetGroupBuy.Input) async throws -> Operations.GetGroupBuy.Output {
        .ok(.init(body: .json(try JSONBridge.convert(try await services.promotions.groupBuy(input.path.groupBuyId), to: S.GroupBuy.self))))
    }

    func listBuyingGroups(_ input: Operations.ListBuyingGroups.Input) async throws -> Operations.ListBuyingGroups.Output {
        let page = try await services.promotions.groups(of: input.path.groupBuyId, status: GroupStatus(rawValue: input.query.status?.rawValue ?? "forming"),
                                                        limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: try page.items.map { try JSONBridge.convert($0, to: S.BuyingGroup.self) }, nextCursor: page.nextCursor))))
    }

    func getBuyingGroup(_ input: Operations.GetBuyingGroup.Input) async throws -> Operations.GetBuyingGroup.Output {
        let g = try await services.promotions.group(input.path.groupId)
        guard g.groupBuyId == input.path.groupBuyId else { throw Problem.notFound("group", input.path.groupId) }
        return .ok(.init(body: .json(try JSONBridge.convert(g, to: S.BuyingGroup.self))))
    }
}
