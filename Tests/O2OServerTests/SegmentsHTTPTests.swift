import Foundation
import HTTPTypes
import O2OCore
import O2OServer
import O2OTestSupport
import Testing

@Suite("Segments and messaging over HTTP: a segment, a template, a campaign within consent, masked lists")
struct SegmentsHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func segmentAndCampaign_overHTTP_queueWithinConsent_replayByKey_andMaskRecipients(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: two vip members, one consenting to SMS
            let yes = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138001","channel":"pos","profile":{"name":"Li","tags":["vip"]}}"#)
            let no = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138002","channel":"pos","profile":{"tags":["vip"]}}"#)
            let yesId = try #require(yes.json["id"] as? String, "\(yes.body)")
            _ = try #require(no.json["id"] as? String)
            let consent = try await s.call(.put, "/api/v1/members/\(yesId)/consents", as: .clerk, json: #"{"channel":"sms","granted":true,"source":"pos"}"#)
            #expect(consent.status == 200)

            // bad input first: nothing is written
            let audit = try await TestDatabase.count("audit_events", s.services.db)
            let empty = try await s.call(.post, "/api/v1/member-segments", as: .marketer, json: #"{"code":"none","name":"None","rule":{}}"#)
            let month = try await s.call(.post, "/api/v1/member-segments", as: .marketer, json: #"{"code":"m","name":"M","rule":{"birthdayMonths":[13]}}"#)
            let placeholder = try await s.call(.post, "/api/v1/message-templates", as: .marketer,
                                               json: #"{"code":"bad","channel":"sms","body":"Hi {{phone}}"}"#)
            let clerk = try await s.call(.post, "/api/v1/member-segments", as: .clerk, json: #"{"code":"vips","name":"VIP","rule":{"tagsAll":["vip"]}}"#)
            #expect(empty.status == 422 && MembersHTTPTests.fields(empty) == ["rule"] && empty.headers[.contentType] == "application/problem+json")
            #expect(month.status == 422 && MembersHTTPTests.fields(month) == ["rule.birthdayMonths[0]"])
            #expect(placeholder.status == 422 && MembersHTTPTests.fields(placeholder) == ["body"])
            #expect(clerk.status == 403)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == audit)
            #expect(try await TestDatabase.count("member_segments", s.services.db) == 0)

            // act: a segment of the vips, a template, a campaign sent twice with one key
            let segment = try await s.call(.post, "/api/v1/member-segments", as: .marketer,
                                           json: #"{"code":"vips","name":"VIP","rule":{"tagsAll":["vip"]}}"#, headers: [.idemKey: "seg-1"])
            #expect(segment.status == 201, "\(segment.body)")
            let segmentId = try #require(segment.json["id"] as? String)
            let template = try await s.call(.post, "/api/v1/message-templates", as: .marketer,
                                            json: #"{"code":"spring","channel":"sms","body":"{{name}}，春季新品到店。"}"#)
            #expect(template.status == 201, "\(template.body)")
            let campaign = try await s.call(.post, "/api/v1/member-segments/\(segmentId)/messages", as: .marketer,
                                            json: #"{"templateCode":"spring"}"#, headers: [.idemKey: "spring-1"])
            let replay = try await s.call(.post, "/api/v1/member-segments/\(segmentId)/messages", as: .marketer,
                                          json: #"{"templateCode":"spring"}"#, headers: [.idemKey: "spring-1"])

            // check
            #expect(segment.json["memberCount"] as? Int == 2)
            let members = try await s.call(.get, "/api/v1/member-segments/\(segmentId)/members", as: .clerk)
            #expect(members.status == 200 && !members.body.contains("13800138001"))
            #expect(Set(((members.json["items"] as? [[String: Any]]) ?? []).compactMap { $0["maskedPhone"] as? String }) == ["138****8001", "138****8002"])
            #expect(campaign.status == 201, "\(campaign.body)")
            let campaignId = try #require(campaign.json["id"] as? String)
            #expect(campaign.json["queued"] as? Int == 1 && campaign.json["skippedNoConsent"] as? Int == 1)
            #expect(replay.status == 201 && replay.json["id"] as? String == campaignId)
            #expect(try await TestDatabase.count("member_messages", s.services.db) == 1)
            let messages = try await s.call(.get, "/api/v1/member-messages?campaignId=\(campaignId)", as: .marketer)
            #expect(messages.status == 200 && !messages.body.contains("13800138001"))
            let items = (messages.json["items"] as? [[String: Any]]) ?? []
            #expect(items.count == 1 && items.first?["maskedRecipient"] as? String == "138****8001" && items.first?["body"] as? String == "Li，春季新品到店。")
            #expect(items.first?["memberId"] as? String == yesId && items.first?["status"] as? String == "queued")
            let refreshed = try await s.call(.post, "/api/v1/member-segments/\(segmentId)/refresh", as: .marketer)
            #expect(refreshed.status == 200 && refreshed.json["memberCount"] as? Int == 2)
            let policy = try await s.call(.get, "/api/v1/messaging-policy", as: .clerk).json
            #expect(policy["capPerChannel"] as? Int == 2 && policy["windowDays"] as? Int == 7)
            #expect(try await s.call(.get, "/api/v1/member-segments/seg_missing", as: .clerk).status == 404)
            // the console lists the segment and the message, the number masked
            let login = try await s.client.execute(
                uri: "/console/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: .init(string: "username=marketer&password=\(demoPassword)")) { $0 }
            let cookie = String(try #require(login.headers[.setCookie]).split(separator: ";")[0])
            let page = try await s.call(.get, "/console/segments", headers: [.cookie: cookie])
            #expect(page.status == 200 && page.body.contains("138****8001") && page.body.contains("Li，春季新品到店。"))
            #expect(!page.body.contains("13800138001"))
        }
    }
}
