import Foundation
import O2OAPI
import O2OCore
import O2OMembers
import OpenAPIRuntime

// MARK: - Members (会员)

extension APIHandlers {
    func listMembers(_ input: Operations.ListMembers.Input) async throws -> Operations.ListMembers.Output {
        let q = input.query
        let limit = try limit(q.limit)
        if let phone = q.phone {
            // One number is one member: the page holds it or is empty.
            var items: [MemberSummary] = []
            if let m = try await services.members.member(phone: phone), q.tag.map(m.profile.tags.contains) ?? true { items = [MemberSummary(m)] }
            return .ok(.init(body: .json(.init(items: items.map(Self.memberSummary)))))
        }
        let page = try await services.members.members(tag: q.tag, limit: limit, cursor: q.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.memberSummary), nextCursor: page.nextCursor))))
    }

    func findOrCreateMember(_ input: Operations.FindOrCreateMember.Input) async throws -> Operations.FindOrCreateMember.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let profile = Self.memberProfile(b.profile)
        let lookup: MemberLookup
        if let identity = b.identity {
            lookup = try await services.members.findOrCreate(identity: Self.identity(identity), phone: b.phone, channel: b.channel, profile: profile,
                                                             referralCode: b.referralCode, caller: try caller)
        } else if let phone = b.phone {
            lookup = try await services.members.findOrCreate(phone: phone, channel: b.channel, profile: profile, referralCode: b.referralCode,
                                                             caller: try caller)
        } else {
            throw Problem.validation([.init("phone", "name a mobile number, an external identity (identity), or both")])
        }
        let body = try await memberView(lookup.member)
        return lookup.created ? .created(.init(body: .json(body))) : .ok(.init(body: .json(body)))
    }

    func getMember(_ input: Operations.GetMember.Input) async throws -> Operations.GetMember.Output {
        .ok(.init(body: .json(try await memberView(try await services.members.member(input.path.memberId)))))
    }

    func updateMember(_ input: Operations.UpdateMember.Input) async throws -> Operations.UpdateMember.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let m = try await services.members.updateProfile(input.path.memberId, Self.memberProfile(b.profile), expectedVersion: b.expectedVersion,
                                                         caller: try caller)
        return .ok(.init(body: .json(try await memberView(m))))
    }

    func linkMemberIdentity(_ input: Operations.LinkMemberIdentity.Input) async throws -> Operations.LinkMemberIdentity.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let m = try await services.members.link(Self.identity(b), to: input.path.memberId, caller: try caller)
        return .ok(.init(body: .json(try await memberView(m))))
    }

    func unlinkMemberIdentity(_ input: Operations.UnlinkMemberIdentity.Input) async throws -> Operations.UnlinkMemberIdentity.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let m = try await services.members.unlink(Self.identity(b), from: input.path.memberId, caller: try caller)
        return .ok(.init(body: .json(try await memberView(m))))
    }

    func getMemberPoints(_ input: Operations.GetMemberPoints.Input) async throws -> Operations.GetMemberPoints.Output {
        .ok(.init(body: .json(Self.pointsBalance(try await services.members.pointsBalance(input.path.memberId)))))
    }

    func listMemberPointsEntries(_ input: Operations.ListMemberPointsEntries.Input) async throws -> Operations.ListMemberPointsEntries.Output {
        _ = try await services.members.member(input.path.memberId)
        let page = try await services.members.pointsLedger(input.path.memberId, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.pointsEntry), nextCursor: page.nextCursor))))
    }

    func adjustMemberPoints(_ input: Operations.AdjustMemberPoints.Input) async throws -> Operations.AdjustMemberPoints.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        // The Idempotency-Key is also the ledger's reference: a retry after a lost answer posts nothing twice.
        let reference = LedgerReference(type: "adjustment", id: input.headers.idempotencyKey ?? O2OID.make("adj", at: services.clock.instant()))
        let posted: PointsPosting
        do {
            posted = try await services.members.adjustPoints(input.path.memberId, delta: b.delta, reference: reference, reason: b.reason,
                                                             caller: try caller)
        } catch let p as Problem {
            throw p.renamingFields(["reference.id": "Idempotency-Key"])
        }
        return .created(.init(body: .json(.init(entry: Self.pointsEntry(posted.entry), balance: posted.balance, replayed: posted.replayed))))
    }

    func getMemberWallet(_ input: Operations.GetMemberWallet.Input) async throws -> Operations.GetMemberWallet.Output {
        .ok(.init(body: .json(Self.wallet(try await services.members.walletBalance(input.path.memberId)))))
    }

    func listMemberWalletEntries(_ input: Operations.ListMemberWalletEntries.Input) async throws -> Operations.ListMemberWalletEntries.Output {
        _ = try await services.members.member(input.path.memberId)
        let page = try await services.members.walletLedger(input.path.memberId, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.walletEntry), nextCursor: page.nextCursor))))
    }

    func topUpMemberWallet(_ input: Operations.TopUpMemberWallet.Input) async throws -> Operations.TopUpMemberWallet.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let posted: WalletPosting
        do {
            posted = try await services.members.topUpWallet(input.path.memberId, amount: Money(minorUnits: b.amount, currency: b.currency),
                                                            reference: LedgerReference(type: "payment", id: b.paymentReference), caller: try caller)
        } catch let p as Problem {
            throw p.renamingFields(["amount.minorUnits": "amount", "amount.currency": "currency", "reference.id": "paymentReference"])
        }
        return .created(.init(body: .json(.init(entry: Self.walletEntry(posted.entry), balance: Self.wallet(posted.balance), replayed: posted.replayed))))
    }

    func getMemberTiers(_ input: Operations.GetMemberTiers.Input) async throws -> Operations.GetMemberTiers.Output {
        .ok(.init(body: .json(Self.ladder(try await services.members.tierLadder()))))
    }

    func setMemberTiers(_ input: Operations.SetMemberTiers.Input) async throws -> Operations.SetMemberTiers.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let ladder = TierLadder(
            basis: b.basis.flatMap { TierLadder.Basis(rawValue: $0.rawValue) } ?? .spend, periodMonths: b.periodMonths ?? 12,
            downgrade: b.downgrade.flatMap { TierLadder.Downgrade(rawValue: $0.rawValue) } ?? .oneLevel,
            tiers: b.tiers.map { t in
                let d = TierBenefits()
                return MemberTier(code: t.code, name: t.name, threshold: t.threshold, benefits: TierBenefits(
                    discountPercent: t.benefits?.discountPercent ?? d.discountPercent, freeShipping: t.benefits?.freeShipping ?? d.freeShipping,
                    pointsMultiplier: t.benefits?.pointsMultiplier ?? d.pointsMultiplier, birthdayGiftPoints: t.benefits?.birthdayGiftPoints ?? d.birthdayGiftPoints))
            })
        return .ok(.init(body: .json(Self.ladder(try await services.members.setTierLadder(ladder, caller: try caller)))))
    }

    func listMemberConsents(_ input: Operations.ListMemberConsents.Input) async throws -> Operations.ListMemberConsents.Output {
        .ok(.init(body: .json(.init(items: try await services.members.consents(input.path.memberId).map(Self.consent)))))
    }

    func setMemberConsent(_ input: Operations.SetMemberConsent.Input) async throws -> Operations.SetMemberConsent.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let list = try await services.members.setConsent(input.path.memberId, channel: ConsentChannel(rawValue: b.channel.rawValue)!, granted: b.granted,
                                                         source: b.source, caller: try caller)
        return .ok(.init(body: .json(.init(items: list.map(Self.consent)))))
    }

    func exportMember(_ input: Operations.ExportMember.Input) async throws -> Operations.ExportMember.Output {
        let e = try await services.members.export(input.path.memberId, caller: try caller)
        return .ok(.init(body: .json(.init(
            member: try await memberView(e.member), consents: e.consents.map(Self.consent),
            points: Self.pointsBalance(e.points),
            pointsLedger: e.pointsLedger.map(Self.pointsEntry), wallet: Self.wallet(e.wallet), walletLedger: e.walletLedger.map(Self.walletEntry),
            exportedAt: e.exportedAt))))
    }

    func eraseMember(_ input: Operations.EraseMember.Input) async throws -> Operations.EraseMember.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let m = try await services.members.erase(input.path.memberId, reason: b.reason, caller: try caller)
        return .ok(.init(body: .json(try await memberView(m))))
    }

    // MARK: Merges and referrals

    func mergeMember(_ input: Operations.MergeMember.Input) async throws -> Operations.MergeMember.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let merge = try await services.members.merge(b.sourceMemberId, into: input.path.memberId, caller: try caller)
        return .created(.init(body: .json(Self.merge(merge))))
    }

    func listMemberMerges(_ input: Operations.ListMemberMerges.Input) async throws -> Operations.ListMemberMerges.Output {
        _ = try await services.members.member(input.path.memberId)
        return .ok(.init(body: .json(.init(items: try await services.members.merges(of: input.path.memberId).map(Self.merge)))))
    }

    func getMemberMerge(_ input: Operations.GetMemberMerge.Input) async throws -> Operations.GetMemberMerge.Output {
        .ok(.init(body: .json(Self.merge(try await services.members.mergeRecord(input.path.mergeId)))))
    }

    func reverseMemberMerge(_ input: Operations.ReverseMemberMerge.Input) async throws -> Operations.ReverseMemberMerge.Output {
        .ok(.init(body: .json(Self.merge(try await services.members.reverseMerge(input.path.mergeId, caller: try caller)))))
    }

    func listMemberReferrals(_ input: Operations.ListMemberReferrals.Input) async throws -> Operations.ListMemberReferrals.Output {
        let m = try await services.members.member(input.path.memberId)
        let items = try await services.members.referrals(of: m.id).map { r in
            S.Referral(refereeId: r.refereeId, referrerId: r.referrerId, joinedAt: r.joinedAt, orderId: r.orderId, rewardedTo: r.rewardedTo,
                       rewardedAt: r.rewardedAt, points: r.points, reversedAt: r.reversedAt)
        }
        return .ok(.init(body: .json(.init(referralCode: m.referralCode, referredBy: m.referredBy, items: items))))
    }

    func getReferralPolicy(_ input: Operations.GetReferralPolicy.Input) async throws -> Operations.GetReferralPolicy.Output {
        let p = try await services.members.referralPolicy()
        return .ok(.init(body: .json(.init(points: p.points, returnWindowDays: p.returnWindowDays))))
    }

    func setReferralPolicy(_ input: Operations.SetReferralPolicy.Input) async throws -> Operations.SetReferralPolicy.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let p = try await services.members.setReferralPolicy(ReferralPolicy(points: b.points, returnWindowDays: b.returnWindowDays), caller: try caller)
        return .ok(.init(body: .json(.init(points: p.points, returnWindowDays: p.returnWindowDays))))
    }

    func getPointsEarnRules(_ input: Operations.GetPointsEarnRules.Input) async throws -> Operations.GetPointsEarnRules.Output {
        .ok(.init(body: .json(Self.earnRules(try await services.members.earnRules()))))
    }

    /// Channels and categories may be named by code: they are stored by id, as orders know them.
    func setPointsEarnRules(_ input: Operations.SetPointsEarnRules.Input) async throws -> Operations.SetPointsEarnRules.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let categories = try await services.catalog.categories()
        var v = Validator()
        var rules: [PointsEarnRule] = []
        for (i, r) in b.rules.enumerated() {
            var channel: String?
            if let ref = r.channelId {
                do { channel = try await services.catalog.channel(ref).id } catch let p as Problem where p.status == 404 {
                    v.add("rules[\(i)].channelId", "no channel '\(ref)'")
                }
            }
            let category = r.categoryId.flatMap { ref in categories.first { $0.id == ref || $0.code == ref }?.id }
            if let ref = r.categoryId, category == nil { v.add("rules[\(i)].categoryId", "no category '\(ref)'") }
            rules.append(PointsEarnRule(channelId: channel, categoryId: category, percent: r.percent))
        }
        try v.finish()
        return .ok(.init(body: .json(Self.earnRules(try await services.members.setEarnRules(rules, caller: try caller)))))
    }

    static func earnRules(_ r: PointsEarnRules) -> S.PointsEarnRules {
        .init(rules: r.rules.map { .init(channelId: $0.channelId, categoryId: $0.categoryId, percent: $0.percent) }, updatedAt: r.updatedAt)
    }

    static func merge(_ m: MemberMerge) -> S.MemberMerge {
        let v = m.moved
        let moved = S.MergeMoves(
            identities: v.identities.map(Self.identity), points: v.points,
            lots: v.lots.map { .init(lotId: $0.lotId, points: $0.points, expiresAt: $0.expiresAt) },
            walletPrincipal: v.walletPrincipal, walletBonus: v.walletBonus, spend: v.spend.map { .init(_type: $0.type, id: $0.id) },
            tierBefore: v.tierBefore, tagsAdded: v.tagsAdded, profileFilled: Self.memberProfile(v.profileFilled),
            consentChannels: v.consents.map(\.channel.rawValue), orderIds: v.other["orders"] ?? [], couponIds: v.other["coupons"] ?? [])
        return .init(id: m.id, targetId: m.targetId, sourceId: m.sourceId, status: .init(rawValue: m.status.rawValue)!, moved: moved,
                     mergedAt: m.mergedAt, reversibleUntil: m.reversibleUntil, reversedAt: m.reversedAt, actorId: m.actorId)
    }

    // MARK: Mapping

    static func pointsBalance(_ b: PointsBalance) -> S.PointsBalance {
        .init(memberId: b.memberId, balance: b.balance, lots: b.lots.map {
            .init(id: $0.id, entryId: $0.entryId, points: $0.points, remaining: $0.remaining, expiresAt: $0.expiresAt)
        })
    }

    static func consent(_ c: Consent) -> S.Consent {
        .init(channel: .init(rawValue: c.channel.rawValue)!, granted: c.granted, at: c.at, source: c.source)
    }

    /// A member as the API shows one: the profile, the identities and both balances.
    func memberView(_ m: Member) async throws -> S.Member {
        async let points = services.members.pointsBalance(m.id)
        async let wallet = services.members.walletBalance(m.id)
        async let tier = services.members.tierStatus(m.id)
        return .init(id: m.id, phone: m.phone, maskedPhone: m.maskedPhone, profile: Self.memberProfile(m.profile),
                     identities: m.identities.map(Self.identity), createdChannel: m.createdChannel, version: m.version,
                     createdAt: m.createdAt, updatedAt: m.updatedAt, points: try await points.balance, wallet: Self.wallet(try await wallet),
                     tier: Self.tierStatus(try await tier), status: .init(rawValue: m.status.rawValue), mergedInto: m.mergedInto,
                     referralCode: m.referralCode, referredBy: m.referredBy)
    }

    static func tier(_ t: MemberTier) -> S.MemberTier {
        .init(code: t.code, name: t.name, threshold: t.threshold, benefits: .init(
            discountPercent: t.benefits.discountPercent, freeShipping: t.benefits.freeShipping, pointsMultiplier: t.benefits.pointsMultiplier,
            birthdayGiftPoints: t.benefits.birthdayGiftPoints))
    }

    static func ladder(_ l: TierLadder) -> S.TierLadder {
        .init(basis: .init(rawValue: l.basis.rawValue), periodMonths: l.periodMonths, downgrade: .init(rawValue: l.downgrade.rawValue),
              tiers: l.tiers.map(Self.tier))
    }

    static func tierStatus(_ t: MemberTierStatus) -> S.MemberTierStatus {
        .init(tier: t.tier.map(Self.tier), reachedAt: t.reachedAt, keptUntil: t.keptUntil, basis: .init(rawValue: t.basis.rawValue)!,
              rolling: t.rolling, next: t.next.map(Self.tier), toNext: t.toNext)
    }

    static func memberSummary(_ m: MemberSummary) -> S.MemberSummary {
        .init(id: m.id, maskedPhone: m.maskedPhone, name: m.name, tags: m.tags, createdChannel: m.createdChannel, createdAt: m.createdAt)
    }

    static func memberProfile(_ p: S.MemberProfile?) -> MemberProfile {
        guard let p else { return MemberProfile() }
        return MemberProfile(name: p.name, birthday: p.birthday, gender: p.gender.flatMap { Gender(rawValue: $0.rawValue) },
                             preferredStoreId: p.preferredStoreId, email: p.email, tags: p.tags ?? [])
    }

    static func memberProfile(_ p: MemberProfile) -> S.MemberProfile {
        .init(name: p.name, birthday: p.birthday, gender: p.gender.flatMap { .init(rawValue: $0.rawValue) }, preferredStoreId: p.preferredStoreId,
              email: p.email, tags: p.tags)
    }

    static func identity(_ i: S.MemberIdentity) -> ExternalIdentity {
        ExternalIdentity(kind: IdentityKind(rawValue: i.kind.rawValue)!, channel: i.channel, externalId: i.externalId)
    }

    static func identity(_ i: ExternalIdentity) -> S.MemberIdentity {
        .init(kind: .init(rawValue: i.kind.rawValue)!, channel: i.channel, externalId: i.externalId)
    }

    static func pointsEntry(_ e: PointsEntry) -> S.PointsEntry {
        .init(id: e.id, memberId: e.memberId, kind: .init(rawValue: e.kind.rawValue)!, delta: e.delta, requested: e.requested,
              reference: .init(_type: e.reference.type, id: e.reference.id), reverses: e.reverses, expiresAt: e.expiresAt, reason: e.reason,
              at: e.at, actorId: e.actorId)
    }

    static func wallet(_ w: WalletBalance) -> S.WalletBalance {
        .init(memberId: w.memberId, currency: w.currency, principal: w.principal, bonus: w.bonus, total: w.total)
    }

    static func walletEntry(_ e: WalletEntry) -> S.WalletEntry {
        .init(id: e.id, memberId: e.memberId, kind: .init(rawValue: e.kind.rawValue)!, currency: e.currency, principalDelta: e.principalDelta,
              bonusDelta: e.bonusDelta, amount: e.amount, reference: .init(_type: e.reference.type, id: e.reference.id), refersTo: e.refersTo,
              at: e.at, actorId: e.actorId)
    }
}
