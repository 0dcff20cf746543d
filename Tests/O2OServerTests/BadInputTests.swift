import Foundation
import HTTPTypes
import O2ONetwork
import O2OCore
import O2OServer
import O2OTestSupport
import Testing

@Suite("Bad input: a clear 4xx problem, nothing written")
struct BadInputTests {
    @Test func malformedWrongAndAbsurdBodies_get4xxProblems_andWriteNothing() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            // setup
            let before = try await TestDatabase.count("locations", s.services.db)
            let auditBefore = try await TestDatabase.count("audit_events", s.services.db)
            let cases: [(String, Int, String?)] = [
                ("{", 400, nil),
                ("", 400, nil),
                ("[]", 400, nil),
                ("null", 400, nil),
                (#"{"code":1}"#, 400, "code"),
                (validLocationJSON.replacingOccurrences(of: #""kind":"store""#, with: #""kind":"kiosk""#), 400, "kind"),
                (validLocationJSON.replacingOccurrences(of: #""lat":31.2235"#, with: #""lat":"north""#), 400, "coordinates.lat"),
                (validLocationJSON.replacingOccurrences(of: #""code":"NEW-1","#, with: ""), 400, "code"),
                (validLocationJSON.replacingOccurrences(of: #""lat":31.2235"#, with: #""lat":1e400"#), 400, nil),
                (validLocationJSON.replacingOccurrences(of: #""kind":"store""#, with: #""kind":"store","dailyCapacity":99999999999999999999"#), 400, nil),
                (validLocationJSON.replacingOccurrences(of: #""kind":"store""#, with: #""kind":"store","dailyCapacity":-5"#), 422, "dailyCapacity"),
                (validLocationJSON.replacingOccurrences(of: #""lat":31.2235"#, with: #""lat":-91"#), 422, "coordinates.lat"),
                (validLocationJSON.replacingOccurrences(of: "静安嘉里中心店", with: "a\\u0000b"), 422, "name"),
                (validLocationJSON.replacingOccurrences(of: "静安嘉里中心店", with: String(repeating: "店", count: 201)), 422, "name"),
                (validLocationJSON.replacingOccurrences(of: "静安嘉里中心店", with: "\\u200b\\u200b "), 422, "name"),
                (validLocationJSON.replacingOccurrences(of: #""NEW-1""#, with: #""店-1""#), 422, "code"),
                (validLocationJSON.replacingOccurrences(of: #""deliveryRadiusKm":5"#, with: #""deliveryRadiusKm":5000"#), 422, "capabilities.deliveryRadiusKm"),
                (validLocationJSON.replacingOccurrences(of: #""kind":"store""#, with: #""kind":"store","organisationId":"org_nope""#), 422, "organisationId"),
            ]
            for (body, status, field) in cases {
                // act
                let r = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: body)
                // check
                #expect(r.status == status, "\(body.prefix(80)): \(r.status) \(r.body)")
                #expect(r.headers[.contentType] == "application/problem+json")
                #expect(r.json["title"] != nil && r.json["detail"] != nil && r.json["requestId"] != nil)
                if let field {
                    let fields = (r.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
                    #expect(fields.contains(field), "\(body.prefix(60)) → \(fields)")
                }
            }
            #expect(try await TestDatabase.count("locations", s.services.db) == before)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == auditBefore)
        }
    }

    @Test func oversizeBody_is413_andWritesNothing() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            let before = try await TestDatabase.count("locations", s.services.db)
            let huge = "{\"code\":\"" + String(repeating: "x", count: 10 * 1024 * 1024) + "\"}"
            // act
            let r = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: huge)
            // check
            #expect(r.status == 413)
            #expect(r.problemType == Problem.typeBase + "payload-too-large")
            #expect(try await TestDatabase.count("locations", s.services.db) == before)
        }
    }

    @Test func bodyLimit_isConfigurable() async throws {
        try await TestServer.run(configure: { $0.maxBodyBytes = 200 }) { (s: TestServer) async throws in
            let r = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: validLocationJSON)
            #expect(r.status == 413)
        }
    }

    @Test func unknownIds_badParameters_andUnknownRoutes_are4xx() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            #expect(try await s.call(.get, "/api/v1/locations/loc_nope", as: .hqAdmin).status == 404)
            #expect(try await s.call(.get, "/api/v1/locations/%F0%9F%98%80", as: .hqAdmin).status == 404)
            #expect(try await s.call(.patch, "/api/v1/locations/loc_nope", as: .hqAdmin, json: #"{"priority":1}"#).status == 404)
            #expect(try await s.call(.get, "/api/v1/locations?limit=0", as: .hqAdmin).status == 400)
            #expect(try await s.call(.get, "/api/v1/locations?limit=abc", as: .hqAdmin).status == 400)
            #expect(try await s.call(.get, "/api/v1/locations?kind=moon", as: .hqAdmin).status == 400)
            #expect(try await s.call(.get, "/api/v1/locations/covering?lat=95&lng=121", as: .hqAdmin).status == 422)
            #expect(try await s.call(.get, "/api/v1/locations/covering?lng=121", as: .hqAdmin).status == 400)
            let missing = try await s.call(.get, "/api/v1/nowhere", as: .hqAdmin)
            #expect(missing.status == 404)
            #expect(missing.headers[.contentType] == "application/problem+json")
            #expect(try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: validLocationJSON,
                                     headers: [.contentType: "text/plain"]).status == 400)
        }
    }

    @Test func login_wrongPassword_is401_andRepeatedFailuresAre429() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            let wrong = #"{"username":"clerk","password":"not-it-at-all"}"#
            #expect(try await s.call(.post, "/api/v1/auth/login", json: wrong).status == 401)
            var last = 0
            for _ in 0..<12 { last = try await s.call(.post, "/api/v1/auth/login", json: wrong).status }
            #expect(last == 429)
            // the other users are unaffected
            #expect(try await s.call(.post, "/api/v1/auth/login", json: #"{"username":"ops","password":"\#(demoPassword)"}"#).status == 200)
        }
    }

    @Test func logout_revokesTheToken() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            #expect(try await s.call(.get, "/api/v1/me", as: .marketer).status == 200)
            #expect(try await s.call(.post, "/api/v1/auth/logout", as: .marketer).status == 204)
            #expect(try await s.call(.get, "/api/v1/me", as: .marketer).status == 401)
        }
    }
    @Test func fulfilmentAndPickupBodies_badOrOutOfScope_get4xx_andWriteNothing() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            // setup
            let store = ((try await s.call(.get, "/api/v1/me", as: .clerk).json["scope"]) as! [String: Any])["locationId"] as! String
            let other = try await s.locations().first { $0.kind == .store && $0.id != store }!
            let auditBefore = try await TestDatabase.count("audit_events", s.services.db)
            let cases: [(String, String, Int, String?)] = [
                ("/api/v1/pickups/verify", #"{"locationId":"\#(store)","code":"12345"}"#, 422, "code"),
                ("/api/v1/pickups/verify", #"{"locationId":"\#(store)","code":"123456"}"#, 422, "phone"),
                ("/api/v1/pickups/verify", #"{"locationId":"\#(store)","code":"123456","phone":"12"}"#, 422, "phone"),
                ("/api/v1/pickups/verify", #"{"locationId":"\#(store)","code":"123456","phone":"1234","photoUrl":"ftp://x"}"#, 422, "photoUrl"),
                ("/api/v1/pickups/verify", #"{"locationId":"\#(other.id)","code":"123456","phone":"1234"}"#, 404, nil),
                ("/api/v1/pickups/verify", #"{"code":"123456"}"#, 400, nil),
                ("/api/v1/fulfillment-orders/ful_missing/reject", #"{"reason":"bored"}"#, 400, nil),
                ("/api/v1/fulfillment-orders/ful_missing/reject", #"{"reason":"other"}"#, 422, "note"),
                ("/api/v1/fulfillment-orders/ful_missing/transitions", #"{"to":"flying"}"#, 400, nil),
                ("/api/v1/fulfillment-orders/ful_missing/transitions", #"{"to":"picked_up"}"#, 422, "to"),
                ("/api/v1/fulfillment-orders/ful_missing/transitions", #"{"to":"picking"}"#, 404, nil),
            ]
            for (path, body, status, field) in cases {
                // act
                let r = try await s.call(.post, path, as: .clerk, json: body)
                // check
                #expect(r.status == status, "\(path) \(body): \(r.status) \(r.body)")
                #expect(r.headers[.contentType] == "application/problem+json")
                if let field {
                    let fields = (r.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
                    #expect(fields.contains(field), "\(body) → \(fields)")
                }
            }
            #expect(try await TestDatabase.count("audit_events", s.services.db) == auditBefore)
        }
    }
}
