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
            let cookie = try await s.consoleCookie("marketer")
            let page = try await s.call(.get, "/console/segments", headers: [.cookie: cookie])
            #expect(page.status == 200 && page.body.contains("138****8001") && page.body.contains("Li，春季新品到店。"))
            #expect(!page.body.contains("13800138001"))
        }
    }

    /// The value of a hidden input as the console writes it (`name="…" value="…"`).
    static func hidden(_ html: String, _ name: String) -> String? {
        guard let start = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = html[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    @Test(arguments: TestDatabase.engines)
    func console_sendsATemplateToASegment_oncePerForm_andOnlyForWhoMayMessageMembers(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup: two vip members, one consenting to SMS; a segment of them and an SMS template
            let yes = try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138001","channel":"pos","profile":{"name":"Li","tags":["vip"]}}"#)
            let yesId = try #require(yes.json["id"] as? String, "\(yes.body)")
            #expect(try await s.call(.post, "/api/v1/members", as: .clerk, json: #"{"phone":"13800138002","channel":"pos","profile":{"tags":["vip"]}}"#).status == 201)
            #expect(try await s.call(.put, "/api/v1/members/\(yesId)/consents", as: .clerk, json: #"{"channel":"sms","granted":true,"source":"pos"}"#).status == 200)
            let segment = try await s.call(.post, "/api/v1/member-segments", as: .marketer, json: #"{"code":"vips","name":"VIP","rule":{"tagsAll":["vip"]}}"#)
            let segmentId = try #require(segment.json["id"] as? String, "\(segment.body)")
            let template = try await s.call(.post, "/api/v1/message-templates", as: .marketer, json: #"{"code":"spring","channel":"sms","body":"{{name}}，春季新品到店。"}"#)
            #expect(template.status == 201, "\(template.body)")
            let marketer = try await s.consoleCookie("marketer"), clerk = try await s.consoleCookie("clerk")
            func form(_ cookie: String) -> HTTPFields { [.contentType: "application/x-www-form-urlencoded", .cookie: cookie] }
            // act: the marketer sends from the page's form, then posts the same form again
            let page = try await s.call(.get, "/console/segments", headers: [.cookie: marketer])
            let reference = try #require(Self.hidden(page.body, "reference"), "the form carries a token: \(page.body)")
            let sent = try await s.call(.post, "/console/segments", json: "segment=\(segmentId)&template=spring&reference=\(reference)", headers: form(marketer))
            let again = try await s.call(.post, "/console/segments", json: "segment=\(segmentId)&template=spring&reference=\(reference)", headers: form(marketer))
            let queuedAfterTwo = try await TestDatabase.count("member_messages", s.services.db)
            let unknown = try await s.call(.post, "/console/segments", json: "segment=\(segmentId)&template=nope&reference=x-1", headers: form(marketer))
            let missing = try await s.call(.post, "/console/segments", json: "segment=&template=spring&reference=x-2", headers: form(marketer))
            // a clerk may read segments but not message their members
            let clerkPage = try await s.call(.get, "/console/segments", headers: [.cookie: clerk])
            let clerkTries = try await s.call(.post, "/console/segments", json: "segment=\(segmentId)&template=spring&reference=c-1", headers: form(clerk))
            // check
            #expect(page.status == 200 && page.body.contains("action=\"/console/segments\"") && page.body.contains("<option value=\"spring\">"))
            #expect(page.body.contains("<option value=\"\(segmentId)\">"))
            #expect(sent.status == 200 && sent.body.contains("notice ok") && sent.body.contains("Campaign sent"), "\(sent.body)")
            #expect(sent.body.contains("Queued: 1") && sent.body.contains("Skipped, no consent: 1"), "\(sent.body)")
            #expect(Self.hidden(sent.body, "reference") != reference, "the page sent back carries a new token")
            #expect(again.status == 200 && again.body.contains("nothing new was queued") && again.body.contains("Queued: 1"), "\(again.body)")
            #expect(queuedAfterTwo == 1, "the same form twice queues once")
            let messages = try await s.call(.get, "/api/v1/member-messages", as: .marketer)
            let items = (messages.json["items"] as? [[String: Any]]) ?? []
            #expect(items.count == 1 && items.first?["memberId"] as? String == yesId && items.first?["body"] as? String == "Li，春季新品到店。")
            #expect(unknown.status == 200 && unknown.body.contains("role=\"alert\"") && unknown.body.contains("<code>template</code>"), "\(unknown.body)")
            #expect(missing.status == 200 && missing.body.contains("<code>segment</code>"))
            #expect(clerkPage.status == 200 && !clerkPage.body.contains("action=\"/console/segments\""), "a clerk sees no campaign form")
            #expect(clerkTries.status == 403)
            #expect(try await TestDatabase.count("member_messages", s.services.db) == 1)
            #expect(try await TestDatabase.count("member_campaigns", s.services.db) == 1)
        }
    }
}
