import Foundation
import HTTPTypes
import O2OCore
import O2OOrders
import O2OPromotions
import O2OServer
import O2OTestSupport
import Testing

@Suite("Group buys (团购): orders wait for their group to fill, at the group price; a group that does not fill in time is cancelled and refunded")
struct GroupBuyHTTPTests {
    typealias Shop = OrderPromotionsHTTPTests

    /// Members with phones 1390000000\(i).
    static func members(_ s: TestServer, _ n: Int) async throws -> [String] {
        var out: [String] = []
        for i in 0..<n {
            let r = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"1390000\#(String(format: "%04d", i))","channel":"app"}"#)
            out.append(try #require(r.json["id"] as? String, "\(r.body)"))
        }
        return out
    }

    /// AM-P-M (¥99) at ¥69 in groups of `size`, two units per member.
    static func groupBuy(_ s: TestServer, size: Int, minutes: Int = 60) async throws -> String {
        let r = try await s.call(.post, "/api/v1/group-buys", as: .marketer, json: #"""
            {"name":"三人团","skuId":"AM-P-M","price":6900,"groupSize":\#(size),"formWithinMinutes":\#(minutes),"perMemberLimit":2,
             "startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z"}
            """#)
        return try #require(r.json["id"] as? String, "\(r.body)")
    }

    static func join(_ s: TestServer, store: String, member: String, buy: String, group: String?, units: Int = 1) async throws -> TestServer.Reply {
        let g = group.map { #","groupId":"\#($0)""# } ?? ""
        return try await s.call(.post, "/api/v1/orders", as: .integration,
                                json: Shop.order(store, member: member, units: units, total: 6_900 * units, extra: #","groupBuy":{"groupBuyId":"\#(buy)"\#(g)}"#))
    }

    static func holds(_ r: TestServer.Reply) -> [String] { r.json["holds"] as? [String] ?? [] }

    @Test(arguments: TestDatabase.engines)
    func aGroupOfThree_formsWhenTheThirdJoins_atTheGroupPrice_andEveryOrderGoesOn(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let (_, store, _) = try await Shop.shop(s)
            let m = try await Self.members(s, 4)
            let buy = try await Self.groupBuy(s, size: 3)

            // act: Ann opens a group
            let ann = try await Self.join(s, store: store, member: m[0], buy: buy, group: nil)
            #expect(ann.status == 201 && Self.holds(ann) == ["group_buy"], "\(ann.body)")
            let line = try #require((ann.json["lines"] as? [[String: Any]])?.first)
            #expect(line["unitPrice"] as? Int == 6_900 && (line["priceRule"] as? String)?.contains("group buy \(buy)") == true, "\(line)")
            let open = try await s.call(.get, "/api/v1/group-buys/\(buy)/groups", as: .clerk)
            let groups = try #require(open.json["items"] as? [[String: Any]], "\(open.body)")
            #expect(groups.count == 1 && groups[0]["joined"] as? Int == 1 && groups[0]["leaderMemberId"] as? String == m[0])
            let group = try #require(groups[0]["id"] as? String)
            let annId = try #require(ann.json["id"] as? String)
            // a held order is not released
            await #expect(throws: Problem.self) { _ = try await s.services.orders.advance(annId, to: .released, caller: .system) }

            // Ann may not join her own group twice: 409, nothing written
            let orders = try await TestDatabase.count("orders", s.services.db)
            let twice = try await Self.join(s, store: store, member: m[0], buy: buy, group: group)
            #expect(twice.status == 409 && twice.problemType?.hasSuffix("already-in-group") == true, "\(twice.body)")
            #expect(try await TestDatabase.count("orders", s.services.db) == orders)

            // Bob joins and waits; Cat fills the group
            let bob = try await Self.join(s, store: store, member: m[1], buy: buy, group: group)
            #expect(bob.status == 201 && Self.holds(bob) == ["group_buy"], "\(bob.body)")
            let cat = try await Self.join(s, store: store, member: m[2], buy: buy, group: group)
            #expect(cat.status == 201 && Self.holds(cat).isEmpty && cat.json["total"] as? Int == 6_900, "\(cat.body)")

            // check: the group formed, every order goes on, a fourth member is refused
            let formed = try await s.call(.get, "/api/v1/group-buys/\(buy)/groups/\(group)", as: .clerk)
            #expect(formed.json["status"] as? String == "formed" && formed.json["joined"] as? Int == 3, "\(formed.body)")
            #expect((formed.json["participants"] as? [Any])?.count == 3)
            for r in [ann, bob] {
                let o = try await s.services.orders.order(try #require(r.json["id"] as? String), scope: .all)
                #expect(o.holds.isEmpty && o.paymentStatus == .paid)
                #expect(o.timeline.contains { $0.kind == "hold_released" && ($0.note ?? "").contains(group) })
            }
            _ = try await s.services.orders.advance(annId, to: .released, caller: .system)
            let dan = try await Self.join(s, store: store, member: m[3], buy: buy, group: group)
            #expect(dan.status == 409 && dan.problemType?.hasSuffix("group-not-joinable") == true, "\(dan.body)")
            #expect(try await TestDatabase.count("orders", s.services.db) == orders + 2)
            // nothing is left for the worker
            #expect(try await s.services.settleGroupBuys() == .init())
            // the console's deals page counts the group formed, beside the list of group buys
            let page = try await s.call(.get, "/console/deals", headers: [.cookie: try await s.consoleCookie("marketer")])
            #expect(page.status == 200 && page.body.contains("<code>\(buy)</code></td><td>三人团</td><td>AM-P-M</td><td class=\"num\">69.00</td>"), "\(page.body)")
            #expect(page.body.contains("<td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">0</td><td>active</td>"))
            let listed = try await s.call(.get, "/api/v1/group-buys?running=true&skuId=AM-P-M", as: .clerk)
            #expect(((listed.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String } == [buy], "\(listed.body)")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aGroupThatDoesNotFillInTime_dissolves_itsOrdersCancelledRefundedAndTheirStockBack(_ engine: DatabaseEngine) async throws {
        let clock = ManualClock(Date())
        try await TestServer.run(engine, clock: clock) { (s: TestServer) async throws in
            // setup: a group of four: Ann (two units) and Bob in it, Cat joined, cancelled and came back
            let (c, store, _) = try await Shop.shop(s)
            let m = try await Self.members(s, 4)
            let buy = try await Self.groupBuy(s, size: 4, minutes: 30)
            let reservedBefore = try await s.services.inventory.balance(sku: c.skuId, location: store, scope: .all).reserved
            let ann = try await Self.join(s, store: store, member: m[0], buy: buy, group: nil, units: 2)
            let annId = try #require(ann.json["id"] as? String, "\(ann.body)")
            let group = try #require(try await s.services.promotions.group(ofOrder: annId)).id
            let bobId = try #require(try await Self.join(s, store: store, member: m[1], buy: buy, group: group).json["id"] as? String)
            let cat = try await Self.join(s, store: store, member: m[2], buy: buy, group: group)
            _ = try await s.services.orders.cancel(try #require(cat.json["id"] as? String, "\(cat.body)"), reason: "changed my mind", caller: .system)
            #expect(try await s.services.promotions.group(group).joined == 2)
            let back = try await Self.join(s, store: store, member: m[2], buy: buy, group: group)
            let backId = try #require(back.json["id"] as? String, "\(back.body)")
            #expect(try await s.services.promotions.group(group).joined == 3)

            // act: the half hour passes with three of four
            #expect(try await s.services.settleGroupBuys() == .init())
            clock.advance(by: 31 * 60)
            let round = try await s.services.settleGroupBuys()

            // check: dissolved, its three orders cancelled and refunded, their stock back, nobody joins it
            #expect(round.dissolved == 1 && round.cancelled == 3, "\(round)")
            #expect(try await s.services.promotions.group(group).status == .dissolved)
            for id in [annId, bobId, backId] {
                let o = try await s.services.orders.order(id, scope: .all)
                #expect(o.status == .cancelled && o.paymentStatus == .refunded, "\(o.status) \(o.paymentStatus)")
                #expect(o.timeline.contains { ($0.note ?? "").contains("did not fill in time (3 of 4)") })
            }
            #expect(try await s.services.inventory.balance(sku: c.skuId, location: store, scope: .all).reserved == reservedBefore)
            let late = try await Self.join(s, store: store, member: m[3], buy: buy, group: group)
            #expect(late.status == 409 && late.problemType?.hasSuffix("group-not-joinable") == true, "\(late.body)")
            // the members' units at the group price are theirs again: Ann opens a new group
            #expect(try await Self.join(s, store: store, member: m[0], buy: buy, group: nil, units: 2).status == 201)
            #expect(try await s.services.settleGroupBuys() == .init())
        }
    }

    @Test(arguments: TestDatabase.engines)
    func twelveMembersRaceForTheLastTwoPlaces_exactlyTwoJoin_andTheGroupFillsOnce(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a group of four with two in it
            let (_, store, _) = try await Shop.shop(s, units: 40)
            let m = try await Self.members(s, 14)
            let buy = try await Self.groupBuy(s, size: 4)
            let first = try await Self.join(s, store: store, member: m[0], buy: buy, group: nil)
            let firstId = try #require(first.json["id"] as? String, "\(first.body)")
            let group = try #require(try await s.services.promotions.group(ofOrder: firstId)).id
            #expect(try await Self.join(s, store: store, member: m[1], buy: buy, group: group).status == 201)

            // act: twelve members join at once
            let statuses = try await withThrowingTaskGroup(of: Int.self) { tasks in
                for member in m[2...] {
                    tasks.addTask { try await Self.join(s, store: store, member: member, buy: buy, group: group).status }
                }
                var out: [Int] = []
                for try await status in tasks { out.append(status) }
                return out
            }

            // check: exactly two placed, the rest refused as full, four members in a formed group, nobody left waiting
            #expect(statuses.filter { $0 == 201 }.count == 2, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 10, "\(statuses)")
            let g = try await s.services.promotions.group(group)
            #expect(g.status == .formed && g.joined == 4 && g.participants.count == 4)
            #expect(try await s.services.orders.heldOrderIds(.groupBuy).isEmpty)
            #expect(try await TestDatabase.count("buying_group_participants", s.services.db) == 4)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func aPausedGroupBuy_opensNoNewGroup_whileItsOpenGroupStillFills_andAnEndedOneStaysEnded(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: a group of two with its leader in it
            let (_, store, _) = try await Shop.shop(s)
            let m = try await Self.members(s, 3)
            let buy = try await Self.groupBuy(s, size: 2)
            let first = try await Self.join(s, store: store, member: m[0], buy: buy, group: nil)
            let firstId = try #require(first.json["id"] as? String, "\(first.body)")
            let group = try #require(try await s.services.promotions.group(ofOrder: firstId)).id
            // act
            let byClerk = try await s.call(.post, "/api/v1/group-buys/\(buy)/status", as: .clerk, json: #"{"status":"paused"}"#)
            let paused = try await s.call(.post, "/api/v1/group-buys/\(buy)/status", as: .marketer, json: #"{"status":"paused"}"#)
            let again = try await s.call(.post, "/api/v1/group-buys/\(buy)/status", as: .marketer, json: #"{"status":"paused"}"#)
            let newGroup = try await Self.join(s, store: store, member: m[1], buy: buy, group: nil)
            let running = try await s.call(.get, "/api/v1/group-buys?running=true", as: .clerk)
            let fills = try await Self.join(s, store: store, member: m[2], buy: buy, group: group)
            let ended = try await s.call(.post, "/api/v1/group-buys/\(buy)/status", as: .marketer, json: #"{"status":"ended"}"#)
            let resumed = try await s.call(.post, "/api/v1/group-buys/\(buy)/status", as: .marketer, json: #"{"status":"active"}"#)
            let bad = try await s.call(.post, "/api/v1/group-buys/\(buy)/status", as: .marketer, json: #"{"status":"finished"}"#)
            let unknown = try await s.call(.post, "/api/v1/group-buys/gby_nope/status", as: .marketer, json: #"{"status":"ended"}"#)
            // check
            #expect(byClerk.status == 403)
            #expect(paused.status == 200 && paused.json["status"] as? String == "paused", "\(paused.body)")
            #expect(again.status == 200 && again.json["status"] as? String == "paused")
            #expect(newGroup.status == 409 && newGroup.problemType?.hasSuffix("group-buy-not-running") == true, "\(newGroup.body)")
            #expect((running.json["items"] as? [Any])?.isEmpty == true)
            #expect(fills.status == 201 && Self.holds(fills).isEmpty, "\(fills.body)")
            #expect(try await s.services.promotions.group(group).status == .formed)
            #expect(ended.status == 200 && ended.json["status"] as? String == "ended")
            #expect(resumed.status == 409 && resumed.problemType?.hasSuffix("invalid-transition") == true, "\(resumed.body)")
            #expect(bad.status == 400 && unknown.status == 404, "\(bad.body) \(unknown.body)")
            #expect(try await s.services.promotions.groupBuy(buy).status == "ended")
        }
    }

    @Test(arguments: TestDatabase.engines)
    func badGroupBuys_andBadJoins_are4xx_andWriteNothing(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let (_, store, member) = try await Shop.shop(s)
            let buy = try await Self.groupBuy(s, size: 2)
            let (orders, audit) = (try await TestDatabase.count("orders", s.services.db), try await TestDatabase.count("audit_events", s.services.db))
            // a group of one, an unknown SKU, an end before the start
            let bad = try await s.call(.post, "/api/v1/group-buys", as: .marketer, json: #"""
                {"name":"x","skuId":"AM-P-M","price":-1,"groupSize":1,"startsAt":"2030-01-01T00:00:00Z","endsAt":"2020-01-01T00:00:00Z"}
                """#)
            #expect(bad.status == 422 && ["price", "groupSize", "endsAt"].allSatisfy { bad.body.contains("\"\($0)\"") }, "\(bad.body)")
            let noSKU = try await s.call(.post, "/api/v1/group-buys", as: .marketer, json: #"""
                {"name":"x","skuId":"NO-SUCH","price":1,"groupSize":2,"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z"}
                """#)
            #expect(noSKU.status == 422 && noSKU.body.contains("skuId"), "\(noSKU.body)")
            #expect(try await s.call(.post, "/api/v1/group-buys", as: .clerk, json: #"{"name":"x"}"#).status == 403)
            // joins: no member, an unknown group buy or group, more units than the member may have
            let guest = try await s.call(.post, "/api/v1/orders", as: .integration, json: #"""
                {"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store)","lines":[{"sku":"AM-P-M","quantity":1}],"groupBuy":{"groupBuyId":"\#(buy)"}}
                """#)
            #expect(guest.status == 422 && guest.body.contains("groupBuy"), "\(guest.body)")
            let unknown = try await Self.join(s, store: store, member: member, buy: "gby_missing", group: nil)
            #expect(unknown.status == 422 && unknown.body.contains("groupBuy.groupBuyId"), "\(unknown.body)")
            let noGroup = try await Self.join(s, store: store, member: member, buy: buy, group: "grp_missing")
            #expect(noGroup.status == 422 && noGroup.body.contains("groupBuy.groupId"), "\(noGroup.body)")
            let tooMany = try await Self.join(s, store: store, member: member, buy: buy, group: nil, units: 3)
            #expect(tooMany.status == 409 && tooMany.problemType?.hasSuffix("member-limit") == true, "\(tooMany.body)")
            #expect(try await TestDatabase.count("orders", s.services.db) == orders)
            #expect(try await TestDatabase.count("buying_groups", s.services.db) == 0)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)
            // the group-buy hold is the group buy's: nobody sets it by hand
            let placed = try await Self.join(s, store: store, member: member, buy: buy, group: nil)
            let id = try #require(placed.json["id"] as? String, "\(placed.body)")
            await #expect(throws: Problem.self) { _ = try await s.services.orders.releaseHold(id, .groupBuy, note: nil, caller: .system) }
        }
    }
}
