import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

/// A channel adapter whose provider is always down.
struct DownAdapter: MessageChannelAdapter {
    struct Down: Error {}
    func send(_ message: MemberMessage) async throws -> String { throw Down() }
}

@Suite("Segments and messaging: rule-based segments, campaigns within consent and the cap, the sender")
struct SegmentTests {
    static let day: TimeInterval = 86_400

    /// Five members with different histories, seen 300 days after the start:
    /// a: three orders (last 50 days ago), ¥1,200.00, silver; b: one order 300 days ago, ¥1,500.00,
    /// silver; c: two orders (last 10 days ago), ¥6,100.00, gold; d: one order 300 days ago, ¥200.00,
    /// regular; e: no order, never placed on the ladder.
    static func histories(_ c: Club) async throws -> [String: String] {
        _ = try await c.members.setTierLadder(TierTests.ladder, caller: .system)
        var ids: [String: String] = [:]
        for (i, name) in ["a", "b", "c", "d", "e"].enumerated() { ids[name] = try await c.member("1380000000\(i + 1)").id }
        _ = try await TierTests.complete(c, ids["a"]!, "a1", 80_000)
        _ = try await TierTests.complete(c, ids["b"]!, "b1", 150_000)
        _ = try await TierTests.complete(c, ids["c"]!, "c1", 600_000)
        _ = try await TierTests.complete(c, ids["d"]!, "d1", 20_000)
        c.move(to: Club.start.addingTimeInterval(250 * day))
        _ = try await TierTests.complete(c, ids["a"]!, "a2", 30_000)
        _ = try await TierTests.complete(c, ids["a"]!, "a3", 10_000)
        c.move(to: Club.start.addingTimeInterval(290 * day))
        _ = try await TierTests.complete(c, ids["c"]!, "c2", 10_000)
        c.move(to: Club.start.addingTimeInterval(300 * day))
        return ids
    }

    /// The ids of the segment's members at its last refresh.
    static func memberIds(_ c: Club, _ segmentId: String) async throws -> Set<String> {
        Set(try await c.members.segmentMembers(segmentId, limit: 500).items.map(\.id))
    }

    @Test(arguments: TestDatabase.engines)
    func segmentByTierAndRFM_picksExactlyTheActiveSpenders_andARefreshAfterANewOrderAddsOne(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await Self.histories(c)
            let rule = SegmentRule(tierCodes: ["silver", "gold"], recencyDaysAtMost: 90, frequencyAtLeast: 2, monetaryScoreAtLeast: 3)
            // act
            let active = try await c.members.createSegment(code: "active-silver", name: "活跃银卡以上", rule: rule, caller: .system)
            let regular = try await c.members.createSegment(code: "regular", name: "普卡", rule: SegmentRule(tierCodes: ["regular"]), caller: .system)
            let lapsed = try await c.members.createSegment(code: "lapsed", name: "沉睡", rule: SegmentRule(recencyDaysAtLeast: 200), caller: .system)
            // check: a and c only; the first tier holds members never placed; no order is not lapsed
            #expect(try await Self.memberIds(c, active.id) == [m["a"]!, m["c"]!])
            #expect(active.memberCount == 2 && active.refreshedAt == c.clock.instant())
            #expect(try await Self.memberIds(c, regular.id) == [m["d"]!, m["e"]!])
            #expect(try await Self.memberIds(c, lapsed.id) == [m["b"]!, m["d"]!])
            let rfm = try await c.members.rfm(m["a"]!)
            #expect(rfm.daysSinceLastOrder == 50 && rfm.orders == 3 && rfm.netSpend == 120_000)
            #expect(rfm.recencyScore == 4 && rfm.frequencyScore == 3 && rfm.monetaryScore == 3)
            #expect(try await c.members.rfm(m["e"]!).recencyScore == 1)

            // act: b orders again today, then the segment is refreshed
            _ = try await TierTests.complete(c, m["b"]!, "b2", 10_000)
            #expect(try await Self.memberIds(c, active.id).count == 2)  // materialised: unchanged until refreshed
            let refreshed = try await c.members.refreshSegment(active.id, caller: .system)
            // check
            #expect(refreshed.memberCount == 3)
            #expect(try await Self.memberIds(c, active.id) == [m["a"]!, m["b"]!, m["c"]!])
            #expect(try await c.members.segment(active.id) == refreshed)
            #expect(try await c.members.segmentIds(memberId: m["b"]!) == [active.id, lapsed.id].sorted())
            _ = try await c.members.refreshSegment(lapsed.id, caller: .system)
            #expect(try await c.members.segmentIds(memberId: m["b"]!) == [active.id])
            #expect(Set(try await c.members.segments().items.map(\.code)) == ["active-silver", "regular", "lapsed"])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func segmentByTagsStoreBirthdayAndConsent_allConditionsHold(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            func member(_ phone: String, _ profile: MemberProfile) async throws -> String {
                try await c.members.findOrCreate(phone: phone, channel: "pos", profile: profile, caller: .system).member.id
            }
            let fits = try await member("13800000001", MemberProfile(birthday: "1990-05-01", preferredStoreId: "SH-001", tags: ["vip", "new-mum"]))
            let noConsent = try await member("13800000002", MemberProfile(birthday: "1991-05-20", preferredStoreId: "SH-001", tags: ["vip", "new-mum"]))
            let wrongMonth = try await member("13800000003", MemberProfile(birthday: "1990-06-01", preferredStoreId: "SH-001", tags: ["vip", "new-mum"]))
            let otherStore = try await member("13800000004", MemberProfile(birthday: "1990-05-01", preferredStoreId: "BJ-001", tags: ["vip", "new-mum"]))
            let oneTag = try await member("13800000005", MemberProfile(birthday: "1990-05-01", preferredStoreId: "SH-001", tags: ["vip"]))
            for id in [fits, wrongMonth, otherStore, oneTag] {
                _ = try await c.members.setConsent(id, channel: .wechat, granted: true, source: "app", caller: .system)
            }
            _ = try await c.members.setConsent(noConsent, channel: .sms, granted: true, source: "app", caller: .system)
            // act
            let s = try await c.members.createSegment(code: "may-mums", name: "五月生日妈妈", rule: SegmentRule(
                tagsAll: ["vip", "new-mum"], tagsAny: ["new-mum", "staff"], preferredStoreIds: ["SH-001", "SH-002"], birthdayMonths: [5, 4],
                consentChannel: .wechat), caller: .system)
            // check
            #expect(try await Self.memberIds(c, s.id) == [fits])
            #expect(s.rule.birthdayMonths == [4, 5])
        }
    }

    /// Six vip members: consent to SMS granted (1, 4, 5), never given (2), withdrawn (3); 4 already
    /// had this week's one message; 6 has no number. A segment of the vips and a template to them.
    static func audience(_ c: Club) async throws -> (segment: MemberSegment, ids: [String]) {
        _ = try await c.members.setTierLadder(TierTests.ladder, caller: .system)
        _ = try await c.members.setMessagingPolicy(MessagingPolicy(capPerChannel: 1, windowDays: 7), caller: .system)
        var ids: [String] = []
        for i in 1...5 {
            let tags = i == 4 ? ["vip", "early"] : ["vip"]
            ids.append(try await c.members.findOrCreate(phone: "1380000000\(i)", channel: "pos", profile: MemberProfile(name: "会员\(i)", tags: tags),
                                                        caller: .system).member.id)
        }
        ids.append(try await c.members.findOrCreate(identity: ExternalIdentity(kind: .wechatUnionId, externalId: "u-6"), channel: "mini",
                                                    profile: MemberProfile(tags: ["vip"]), caller: .system).member.id)
        for i in [0, 2, 3, 4, 5] { _ = try await c.members.setConsent(ids[i], channel: .sms, granted: true, source: "pos", caller: .system) }
        _ = try await c.members.setConsent(ids[2], channel: .sms, granted: false, source: "app", caller: .system)
        _ = try await c.members.createMessageTemplate(code: "spring", channel: .sms, subject: nil,
                                                      body: "{{ name }}，您好！{{tier}}会员有{{points}}积分可用。", caller: .system)
        let early = try await c.members.createSegment(code: "early", name: "Early", rule: SegmentRule(tagsAll: ["early"]), caller: .system)
        let first = try await c.members.sendToSegment(early.id, templateCode: "spring", caller: .system)
        #expect(first.campaign.queued == 1)
        c.clock.advance(by: 3 * day)
        let vips = try await c.members.createSegment(code: "vips", name: "VIP", rule: SegmentRule(tagsAll: ["vip"]), caller: .system)
        return (vips, ids)
    }

    static func queuedEvents(_ c: Club) async throws -> [String] {
        try await c.db.read { sql in
            try await sql.raw("SELECT entity_id FROM outbox_events WHERE event_type = 'member.message_queued' ORDER BY entity_id").all()
                .map { try $0.decode(column: "entity_id", as: String.self) }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func campaign_skipsNoConsentCapAndNoAddress_queuesTheRest_oneEventEach_andARetryCreatesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let (vips, ids) = try await Self.audience(c)
            #expect(vips.memberCount == 6)
            let eventsBefore = try await Self.queuedEvents(c)
            // act
            let posted = try await c.members.sendToSegment(vips.id, templateCode: "spring", reference: "spring-1", caller: .system)
            let afterFirst = try await c.snapshot()
            let retry = try await c.members.sendToSegment(vips.id, templateCode: "spring", reference: "spring-1", caller: .system)
            // check: counts per outcome
            let k = posted.campaign
            #expect(!posted.replayed && k.queued == 2 && k.skippedNoConsent == 2 && k.skippedFrequencyCap == 1 && k.skippedNoAddress == 1)
            let messages = try await c.members.messages(campaignId: k.id).items
            #expect(Set(messages.map(\.memberId)) == [ids[0], ids[4]])
            let first = try #require(messages.first { $0.memberId == ids[0] })
            #expect(first.body == "会员1，您好！普卡会员有0积分可用。" && first.status == .queued && first.recipient == "+8613800000001")
            #expect(first.maskedRecipient == "138****0001")
            // exactly one event per queued message
            #expect(try await Self.queuedEvents(c) == (eventsBefore + messages.map(\.id)).sorted())
            // the retry answers the first campaign and writes nothing
            #expect(retry.replayed && retry.campaign == k)
            #expect(try await c.snapshot() == afterFirst)
            #expect(try await c.members.campaign(k.id) == k)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func sender_deliversThroughTheLogAdapter_andMarksSent_aDownProviderIsRetriedThenFailed(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let (vips, ids) = try await Self.audience(c)
            let campaign = try await c.members.sendToSegment(vips.id, templateCode: "spring", caller: .system).campaign
            // act
            let claimed = try await c.members.sendQueuedMessages()
            // check: the earlier message and this campaign's two
            #expect(claimed == 3)
            #expect(try await c.members.sendQueuedMessages() == 0)
            let sent = try await c.members.messages(limit: 500).items
            #expect(sent.count == 3 && sent.allSatisfy { $0.status == .sent && $0.attempts == 1 && $0.providerId == "log-" + $0.id && $0.sentAt != nil })
            #expect(Set(c.outbox.sent.map(\.id)) == Set(sent.map(\.id)))
            #expect(try await c.members.messages(memberId: ids[0]).items.map(\.campaignId) == [campaign.id])

            // setup: another campaign, through a provider that is down
            let down = MembersService(db: c.db, clock: c.clock, messageAdapters: [.sms: DownAdapter()])
            _ = try await c.members.setMessagingPolicy(MessagingPolicy(capPerChannel: 5, windowDays: 7), caller: .system)
            let again = try await c.members.sendToSegment(vips.id, templateCode: "spring", caller: .system).campaign
            #expect(again.queued == 3)
            // act: one try now, one a minute later, the last two minutes after that
            #expect(try await down.sendQueuedMessages() == 3)
            #expect(try await down.sendQueuedMessages() == 0)  // not due yet
            c.clock.advance(by: 61)
            #expect(try await down.sendQueuedMessages() == 3)
            c.clock.advance(by: 121)
            #expect(try await down.sendQueuedMessages() == 3)
            c.clock.advance(by: 3_600)
            #expect(try await down.sendQueuedMessages() == 0)
            // check
            let failed = try await c.members.messages(campaignId: again.id).items
            #expect(failed.count == 3 && failed.allSatisfy { $0.status == .failed && $0.attempts == MembersService.maxSendAttempts && $0.error != nil })
            #expect(c.outbox.sent.count == 3)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func badSegmentsTemplatesAndCampaigns_are422NamingTheField_andWriteNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            _ = try await c.members.setTierLadder(TierTests.ladder, caller: .system)
            _ = try await c.member()
            let taken = try await c.members.createSegment(code: "vips", name: "VIP", rule: SegmentRule(tagsAll: ["vip"]), caller: .system)
            _ = try await c.members.createMessageTemplate(code: "hello", channel: .email, subject: "Hi {{name}}", body: "Dear {{name}}", caller: .system)
            let before = try await c.snapshot()
            let segments: [(String, SegmentRule, Set<String>)] = [
                ("none", SegmentRule(), ["rule"]),
                ("tier", SegmentRule(tierCodes: ["gold", "platinum"]), ["rule.tierCodes[1]"]),
                ("month", SegmentRule(birthdayMonths: [5, 13, 0]), ["rule.birthdayMonths[1]", "rule.birthdayMonths[2]"]),
                ("negative", SegmentRule(recencyDaysAtMost: -1, frequencyAtLeast: -2, monetaryAtLeast: -100),
                 ["rule.recencyDaysAtMost", "rule.frequencyAtLeast", "rule.monetaryAtLeast"]),
                ("score", SegmentRule(recencyScoreAtLeast: 6, monetaryScoreAtLeast: 0), ["rule.recencyScoreAtLeast", "rule.monetaryScoreAtLeast"]),
                ("empty", SegmentRule(tagsAny: []), ["rule.tagsAny"]),
                ("dates", SegmentRule(lastPurchaseFrom: "2025-03-01", lastPurchaseTo: "2025-02-30"), ["rule.lastPurchaseTo"]),
                ("vips", SegmentRule(tagsAny: ["vip"]), ["code"]),
            ]
            for (code, rule, fields) in segments {
                // act
                let p = await #expect(throws: Problem.self) { try await c.members.createSegment(code: code, name: "X", rule: rule, caller: .system) }
                // check
                #expect(p?.status == 422 && p?.fields == fields, "\(code): \(String(describing: p?.errors))")
            }
            let templates: [(String, ConsentChannel, String?, String, Set<String>)] = [
                ("unknown", .sms, nil, "Hi {{name}}, your {{email}}", ["body"]),
                ("unclosed", .sms, nil, "Hi {{name", ["body"]),
                ("subject", .sms, "Hello", "Hi", ["subject"]),
                ("nosubject", .email, nil, "Hi", ["subject"]),
                ("hello", .wechat, nil, "Hi", ["code"]),
                ("bad code", .sms, nil, "Hi", ["code"]),
            ]
            for (code, channel, subject, body, fields) in templates {
                let p = await #expect(throws: Problem.self) {
                    try await c.members.createMessageTemplate(code: code, channel: channel, subject: subject, body: body, caller: .system)
                }
                #expect(p?.status == 422 && p?.fields == fields, "\(code): \(String(describing: p?.errors))")
            }
            let noTemplate = await #expect(throws: Problem.self) { try await c.members.sendToSegment(taken.id, templateCode: "nope", caller: .system) }
            let noSegment = await #expect(throws: Problem.self) { try await c.members.sendToSegment("seg_missing", templateCode: "hello", caller: .system) }
            let badPolicy = await #expect(throws: Problem.self) {
                try await c.members.setMessagingPolicy(MessagingPolicy(capPerChannel: 0, windowDays: 365), caller: .system)
            }
            #expect(noTemplate?.status == 422 && noTemplate?.fields == ["templateCode"])
            #expect(noSegment?.status == 404)
            #expect(badPolicy?.fields == ["capPerChannel", "windowDays"])
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func anEmailCampaign_goesToTheMembersEmail_aBadAddressIs422_andErasingForgetsIt(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup: two members who said yes to email, one of them without an address
            let with = try await c.members.findOrCreate(phone: "13800000011", channel: "web",
                                                        profile: MemberProfile(name: "Ann", email: " Ann@Example.COM ", tags: ["mail"]), caller: .system).member
            let without = try await c.members.findOrCreate(phone: "13800000012", channel: "web", profile: MemberProfile(tags: ["mail"]), caller: .system).member
            for m in [with, without] { _ = try await c.members.setConsent(m.id, channel: .email, granted: true, source: "web", caller: .system) }
            _ = try await c.members.createMessageTemplate(code: "news", channel: .email, subject: "春季上新", body: "{{name}}，新品到店。", caller: .system)
            let segment = try await c.members.createSegment(code: "mail", name: "Mail", rule: SegmentRule(tagsAll: ["mail"]), caller: .system)
            let before = try await c.snapshot()
            let bad = await #expect(throws: Problem.self) {
                try await c.members.updateProfile(without.id, MemberProfile(email: "not-an-address", tags: ["mail"]), caller: .system)
            }
            #expect(try await c.snapshot() == before)
            // act
            let posted = try await c.members.sendToSegment(segment.id, templateCode: "news", caller: .system).campaign
            let message = try #require(try await c.members.messages(campaignId: posted.id).items.first)
            _ = try await c.members.erase(with.id, reason: "asked by email", caller: .system)
            // check
            #expect(with.profile.email == "ann@example.com", "kept trimmed and lower-cased")
            #expect(bad?.status == 422 && bad?.errors?.map(\.field) == ["profile.email"])
            #expect(posted.queued == 1 && posted.skippedNoAddress == 1)
            #expect(message.recipient == "ann@example.com" && message.subject == "春季上新" && message.memberId == with.id)
            #expect(try await c.members.member(with.id).profile.email == nil)
        }
    }
}
