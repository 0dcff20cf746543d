import Foundation
import O2OCore
import O2OMembers
import O2OTestSupport
import Testing

@Suite("Identity: one member per mobile number and per external id, found or created from any channel")
struct IdentityTests {
    @Test(arguments: TestDatabase.engines)
    func findOrCreate_sameNumberTypedDifferently_isOneMember_createdOnceByTheFirstChannel(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // act
            let first = try await c.members.findOrCreate(phone: "13812345678", channel: "pos", caller: .system)
            let again = try await c.members.findOrCreate(phone: "+86 138 1234 5678", channel: "web", caller: .system)
            let third = try await c.members.findOrCreate(phone: "8613812345678", channel: "tmall", caller: .system)
            // check
            #expect(first.created && !again.created && !third.created)
            #expect(again.member.id == first.member.id && third.member.id == first.member.id)
            #expect(first.member.phone == "+8613812345678" && first.member.createdChannel == "pos")
            #expect(first.member.id.hasPrefix("mem_"))
            #expect(try await c.count("members") == 1)
            #expect(try await c.count("audit_events") == 1)
            #expect(try await c.count("outbox_events") == 1)
            #expect(try await c.members.member(phone: "+8613812345678")?.id == first.member.id)
            #expect(try await c.members.pointsBalance(first.member.id).balance == 0)
            #expect(try await c.members.walletBalance(first.member.id) == WalletBalance(memberId: first.member.id, currency: "CNY", principal: 0, bonus: 0))
        }
    }

    @Test(arguments: TestDatabase.engines)
    func findOrCreate_whenTheTextIsNotAPhoneNumber_is422NamingPhone_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let before = try await c.snapshot()
            // act
            let bad = await #expect(throws: Problem.self) {
                try await c.members.findOrCreate(phone: "not a phone", channel: "web", caller: .system)
            }
            let short = await #expect(throws: Problem.self) {
                try await c.members.findOrCreate(phone: "1381234567", channel: "web", profile: .init(birthday: "1990-02-30"), caller: .system)
            }
            let noChannel = await #expect(throws: Problem.self) {
                try await c.members.findOrCreate(phone: "13812345678", channel: "", caller: .system)
            }
            // check
            #expect(bad?.status == 422 && bad?.fields == ["phone"])
            #expect(short?.status == 422 && short?.fields == ["phone", "profile.birthday"])
            #expect(noChannel?.status == 422 && noChannel?.fields == ["channel"])
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func findOrCreate_20ConcurrentRequestsForOneNewNumber_createOneMember(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // act
            let lookups = try await withThrowingTaskGroup(of: MemberLookup.self) { group in
                for i in 0..<20 {
                    group.addTask { try await c.members.findOrCreate(phone: i % 2 == 0 ? "13900001111" : "+86 139 0000 1111", channel: "app", caller: .system) }
                }
                var all: [MemberLookup] = []
                for try await l in group { all.append(l) }
                return all
            }
            // check
            #expect(Set(lookups.map(\.member.id)).count == 1)
            #expect(lookups.filter(\.created).count == 1)
            #expect(try await c.count("members") == 1)
            #expect(try await c.count("member_points_balances") == 1)
            #expect(try await c.count("member_wallet_balances") == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func findOrCreate_byExternalIdentity_createsOnceRecordsTheChannel_andLaterTakesTheNumber(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let openid = ExternalIdentity(kind: .wechatOpenId, channel: "mini-program", externalId: "oAbc123")
            // act
            let first = try await c.members.findOrCreate(identity: openid, channel: "wechat-mini", caller: .system)
            let again = try await c.members.findOrCreate(identity: openid, channel: "wechat-mini", caller: .system)
            let withPhone = try await c.members.findOrCreate(identity: openid, phone: "13700000001", channel: "wechat-mini", caller: .system)
            // check
            #expect(first.created && !again.created && !withPhone.created)
            #expect(first.member.phone == nil && first.member.identities == [openid] && first.member.createdChannel == "wechat-mini")
            #expect(again.member.id == first.member.id && withPhone.member.id == first.member.id)
            #expect(withPhone.member.phone == "+8613700000001" && withPhone.member.version == 2)
            #expect(try await c.members.member(identity: openid)?.phone == "+8613700000001")
            #expect(try await c.count("members") == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func findOrCreate_byIdentityWithAKnownNumber_linksItToThatMember(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let member = try await c.member("13812345678")
            let buyer = ExternalIdentity(kind: .marketplaceBuyerId, channel: "tmall", externalId: "tb-889900")
            // act
            let found = try await c.members.findOrCreate(identity: buyer, phone: "+8613812345678", channel: "tmall", caller: .system)
            // check
            #expect(!found.created && found.member.id == member.id && found.member.identities == [buyer])
            #expect(try await c.count("members") == 1)
            #expect(try await c.count("member_identities") == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func findOrCreate_20ConcurrentRequestsForOneNewIdentity_leaveOneMemberAndNoOrphans(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let unionid = ExternalIdentity(kind: .wechatUnionId, externalId: "u-777")
            // act
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 { group.addTask { try await c.members.findOrCreate(identity: unionid, channel: "wechat", caller: .system).member.id } }
                var all: [String] = []
                for try await id in group { all.append(id) }
                return all
            }
            // check
            #expect(Set(ids).count == 1)
            #expect(try await c.count("members") == 1)
            #expect(try await c.count("member_identities") == 1)
            #expect(try await c.count("member_points_balances") == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func link_anIdentityOfAnotherMember_is409NamingThatMember_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let alice = try await c.member("13812345678")
            let bob = try await c.member("13912345678")
            let card = ExternalIdentity(kind: .posCardNumber, externalId: "VIP-0001")
            _ = try await c.members.link(card, to: alice.id, caller: .system)
            let before = try await c.snapshot()
            // act
            let error = await #expect(throws: MembersError.self) { try await c.members.link(card, to: bob.id, caller: .system) }
            let unlinkOther = await #expect(throws: MembersError.self) { try await c.members.unlink(card, from: bob.id, caller: .system) }
            let again = try await c.members.link(card, to: alice.id, caller: .system)
            // check
            #expect(error == .identityLinkedToAnother(card, memberId: alice.id))
            #expect(error?.problem.status == 409 && error?.problem.detail?.contains(alice.id) == true)
            #expect(unlinkOther == .identityLinkedToAnother(card, memberId: alice.id))
            #expect(again.identities == [card])
            #expect(try await c.snapshot() == before)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func identities_areUniquePerKindAndChannel_andUnlinkFreesThem(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let alice = try await c.member("13812345678")
            let bob = try await c.member("13912345678")
            let onTmall = ExternalIdentity(kind: .marketplaceBuyerId, channel: "tmall", externalId: "buyer-1")
            let onJD = ExternalIdentity(kind: .marketplaceBuyerId, channel: "jd", externalId: "buyer-1")
            // act
            _ = try await c.members.link(onTmall, to: alice.id, caller: .system)
            _ = try await c.members.link(onJD, to: bob.id, caller: .system)
            let noChannel = await #expect(throws: Problem.self) {
                try await c.members.link(ExternalIdentity(kind: .marketplaceBuyerId, externalId: "buyer-1"), to: alice.id, caller: .system)
            }
            let channelNotAllowed = await #expect(throws: Problem.self) {
                try await c.members.link(ExternalIdentity(kind: .wechatUnionId, channel: "x", externalId: "u-1"), to: alice.id, caller: .system)
            }
            let unlinked = try await c.members.unlink(onTmall, from: alice.id, caller: .system)
            let relinked = try await c.members.link(onTmall, to: bob.id, caller: .system)
            let linkedElsewhere = await #expect(throws: MembersError.self) { try await c.members.unlink(onTmall, from: alice.id, caller: .system) }
            let nowhere = await #expect(throws: Problem.self) {
                try await c.members.unlink(ExternalIdentity(kind: .posCardNumber, externalId: "VIP-404"), from: alice.id, caller: .system)
            }
            // check
            #expect(noChannel?.status == 422 && noChannel?.fields == ["identity.channel"])
            #expect(channelNotAllowed?.status == 422 && channelNotAllowed?.fields == ["identity.channel"])
            #expect(unlinked.identities.isEmpty)
            #expect(relinked.identities == [onJD, onTmall])
            #expect(linkedElsewhere == .identityLinkedToAnother(onTmall, memberId: bob.id))
            #expect(nowhere?.status == 404)
            #expect(try await c.members.member(identity: onTmall)?.id == bob.id)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func updateProfile_validatesEveryField_keepsTagsSorted_andRefusesAStaleVersion(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member()
            let before = try await c.snapshot()
            // act
            let bad = await #expect(throws: Problem.self) {
                try await c.members.updateProfile(m.id, .init(name: String(repeating: "名", count: 101), birthday: "1990-13-01",
                                                              tags: ["ok", "not ok"]), caller: .system)
            }
            let unchanged = try await c.snapshot()
            let updated = try await c.members.updateProfile(m.id, .init(name: " 王小明 ", birthday: "1990-02-28", gender: .male,
                                                                        preferredStoreId: "loc_123", tags: ["vip", "new-mum", "vip"]),
                                                            expectedVersion: 1, caller: .system)
            let stale = await #expect(throws: Problem.self) {
                try await c.members.updateProfile(m.id, .init(name: "x"), expectedVersion: 1, caller: .system)
            }
            // check
            #expect(bad?.status == 422 && bad?.fields == ["profile.name", "profile.birthday", "profile.tags[1]"])
            #expect(unchanged == before)
            #expect(updated.profile == MemberProfile(name: "王小明", birthday: "1990-02-28", gender: .male, preferredStoreId: "loc_123",
                                                     tags: ["new-mum", "vip"]))
            #expect(updated.version == 2)
            #expect(stale?.status == 409)
            #expect(try await c.members.member(m.id) == updated)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func listsAuditRowsAndEvents_showTheNumberMasked_never_inFull(_ engine: DatabaseEngine) async throws {
        try await Club.with(engine) { c in
            // setup
            let m = try await c.member("13812345678")
            _ = try await c.members.updateProfile(m.id, .init(name: "Li"), caller: .system)
            // act
            let page = try await c.members.members()
            let logged = try await c.db.read { sql in
                try await sql.raw("SELECT after_json FROM audit_events UNION ALL SELECT payload FROM outbox_events").all()
                    .map { try $0.decode(column: "after_json", as: String.self) }
            }
            // check
            #expect(page.items.map(\.maskedPhone) == ["138****5678"])
            #expect("\(m)".contains("138****5678") && !"\(m)".contains("13812345678"))
            #expect(logged.count == 4)
            #expect(logged.allSatisfy { $0.contains("138****5678") && !$0.contains("13812345678") })
        }
    }
}
