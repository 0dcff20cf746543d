import Foundation
import O2OCore
import O2OMembers
import O2ONetwork

// MARK: - Members

extension DemoData {
    /// The brand's tier ladder, used by the demo and documented in the README.
    static let demoTiers = TierLadder(basis: .spend, periodMonths: 12, downgrade: .oneLevel, tiers: [
        MemberTier(code: "regular", name: "普卡会员", threshold: 0),
        MemberTier(code: "silver", name: "银卡会员", threshold: 100_000, benefits: .init(discountPercent: 3, pointsMultiplier: 120)),
        MemberTier(code: "gold", name: "金卡会员", threshold: 500_000,
                   benefits: .init(discountPercent: 5, freeShipping: true, pointsMultiplier: 150, birthdayGiftPoints: 500)),
        MemberTier(code: "diamond", name: "钻石会员", threshold: 2_000_000,
                   benefits: .init(discountPercent: 10, freeShipping: true, pointsMultiplier: 200, birthdayGiftPoints: 2_000)),
    ])

    /// Members met in every channel: at the tills (some with a member card), on the web shop, in
    /// the mini-program (WeChat openid) and on Tmall (buyer id). A few Tmall buyers came without a
    /// number and are the same people as till members: duplicates for a merge. Some topped up their
    /// wallet at the counter; some got a welcome bonus. Returns the members' ids.
    func loadMembers(stores: [Location], seed: UInt64, summary: inout Summary) async throws -> [String] {
        var rng = SeededRandom(state: seed &+ 0x0_3E3B)
        func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let members = services.members
        _ = try await members.setTierLadder(Self.demoTiers, caller: .system)
        let surnames = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"]
        let given = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛"]
        let tagPool = ["vip", "new-mum", "student", "office", "outdoor", "kids"]
        var ids: [String] = []
        for i in 0..<120 {
            let phone = String(format: "+86 139%08d", 10_000_000 + below(89_999_999))
            let store = stores[below(stores.count)]
            let profile = MemberProfile(
                name: surnames[below(surnames.count)] + given[below(given.count)],
                birthday: String(format: "%04d-%02d-%02d", 1965 + below(40), 1 + below(12), 1 + below(28)),
                gender: [Gender.female, .female, .male, .undisclosed][below(4)], preferredStoreId: store.id,
                tags: below(3) == 0 ? [tagPool[below(tagPool.count)]] : [])
            let m: Member
            switch i % 4 {
            case 0:
                m = try await members.findOrCreate(phone: phone, channel: "pos", profile: profile, caller: .system).member
                if i % 8 == 0 {
                    _ = try await members.link(ExternalIdentity(kind: .posCardNumber, externalId: String(format: "VIP%07d", i)), to: m.id, caller: .system)
                }
            case 1:
                m = try await members.findOrCreate(phone: phone, channel: "web", profile: profile, caller: .system).member
            case 2:
                m = try await members.findOrCreate(identity: ExternalIdentity(kind: .wechatOpenId, channel: "mini", externalId: "oMINI\(100_000 + i)"),
                                                   phone: phone, channel: "mini", profile: profile, caller: .system).member
            default:
                m = try await members.findOrCreate(identity: ExternalIdentity(kind: .marketplaceBuyerId, channel: "TMALL", externalId: "tb\(880_000 + i)"),
                                                   phone: phone, channel: "TMALL", profile: profile, caller: .system).member
            }
            ids.append(m.id)
            if i % 5 == 0 {
                _ = try await members.earnPoints(m.id, points: 200, reference: LedgerReference(type: "bonus", id: "welcome"), reason: "welcome bonus",
                                                 caller: .system)
            }
            if i % 6 == 0 {
                _ = try await members.topUpWallet(m.id, amount: Money(minorUnits: [50_000, 100_000, 20_000][below(3)]),
                                                  reference: LedgerReference(type: "till", id: "DEMO-TOPUP-\(i)"), caller: .system)
            }
        }
        // Tmall buyers met without a number: each the same person as a till member (a merge to do;
        // the first is merged already, reversible for 30 days).
        for i in 0..<4 {
            let buyer = try await members.findOrCreate(identity: ExternalIdentity(kind: .marketplaceBuyerId, channel: "TMALL", externalId: "tb-nophone-\(i)"),
                                                       channel: "TMALL", profile: MemberProfile(name: "天猫买家\(i + 1)"), caller: .system).member
            if i == 0 { _ = try await members.merge(buyer.id, into: ids[0], caller: .system) }
        }
        // Friends who joined in the app with a member's referral code (推荐码): the referrer earns
        // on each one's first completed order.
        let referrer = try await members.member(ids[1])
        for i in 0..<3 {
            _ = try await members.findOrCreate(phone: String(format: "+86 137%08d", 20_000_000 + i), channel: "app", referralCode: referrer.referralCode,
                                               caller: .system)
        }
        // Marketing: SMS consent from a third of the members, a segment of the VIPs and a template
        // to send them (会员沟通).
        for (i, id) in ids.enumerated() where i % 3 == 0 {
            _ = try await members.setConsent(id, channel: .sms, granted: true, source: "pos", caller: .system)
        }
        _ = try await members.createSegment(code: "vip", name: "VIP 会员", rule: SegmentRule(tagsAll: ["vip"]), caller: .system)
        _ = try await members.createMessageTemplate(code: "spring-sms", channel: .sms, subject: nil,
                                                    body: "{{name}}您好，{{tier}}春季专享：{{points}}积分可抵现，详询门店。", caller: .system)
        summary.members = ids.count + 7
        return ids
    }
}
