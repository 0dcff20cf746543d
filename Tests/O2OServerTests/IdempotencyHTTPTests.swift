import Foundation
import HTTPTypes
import O2OCore
import O2OServer
import O2OTestSupport
import Testing

extension HTTPField.Name { static let idemKey = Self("Idempotency-Key")! }

@Suite("Idempotency-Key over HTTP")
struct IdempotencyHTTPTests {
    @Test(arguments: TestDatabase.engines)
    func sameKeySameBody_replaysTheFirstResponse_andDoesTheWorkOnce(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            // setup
            let before = try await TestDatabase.count("locations", s.services.db)
            // act
            let first = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: validLocationJSON, headers: [.idemKey: "create-new-1"])
            let second = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: validLocationJSON, headers: [.idemKey: "create-new-1"])
            let otherBody = try await s.call(.post, "/api/v1/locations", as: .hqAdmin,
                                             json: validLocationJSON.replacingOccurrences(of: "NEW-1", with: "NEW-2"), headers: [.idemKey: "create-new-1"])
            // check
            #expect(first.status == 201)
            #expect(second.status == 201)
            #expect(second.body == first.body)
            #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(otherBody.status == 422)
            #expect(otherBody.problemType == Problem.typeBase + "idempotency-key-reused")
            #expect(try await TestDatabase.count("locations", s.services.db) == before + 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func racingRequestsWithOneKey_doTheWorkOnce_andAllGetTheSameAnswer(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let before = try await TestDatabase.count("locations", s.services.db)
            let auditBefore = try await TestDatabase.count("audit_events", s.services.db)
            // act: 20 concurrent identical requests
            let replies = try await withThrowingTaskGroup(of: TestServer.Reply.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: validLocationJSON, headers: [.idemKey: "race-1"])
                    }
                }
                return try await group.reduce(into: [TestServer.Reply]()) { $0.append($1) }
            }
            // check
            #expect(replies.allSatisfy { $0.status == 201 })
            #expect(Set(replies.map(\.body)).count == 1)
            #expect(try await TestDatabase.count("locations", s.services.db) == before + 1)
            #expect(try await TestDatabase.count("audit_events", s.services.db) == auditBefore + 1)
        }
    }

    @Test func secretsAreShownOnce_evenToAReplay() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            let body = #"{"name":"tmall shop","channel":"tmall"}"#
            let first = try await s.call(.post, "/api/v1/api-keys", as: .hqAdmin, json: body, headers: [.idemKey: "key-1"])
            let replay = try await s.call(.post, "/api/v1/api-keys", as: .hqAdmin, json: body, headers: [.idemKey: "key-1"])
            #expect(first.status == 201 && replay.status == 201)
            let secret = try #require(first.json["secret"] as? String)
            #expect(secret.hasPrefix("o2ok_"))
            #expect(replay.json["secret"] as? String == "[shown once]")
            #expect((replay.json["apiKey"] as? [String: Any])?["id"] as? String == (first.json["apiKey"] as? [String: Any])?["id"] as? String)
            let stored = try await s.services.db.read { try await $0.raw("SELECT body FROM idempotency_keys").all() }
            #expect(try stored.allSatisfy { row in
                let b = try row.decode(column: "body", as: String?.self) ?? ""
                return !String(decoding: Data(base64Encoded: b) ?? Data(), as: UTF8.self).contains(secret)
            })
            // the key works, and it is stored hashed only
            #expect(try await s.call(.get, "/api/v1/me", token: secret).status == 200)
            let hashes = try await s.services.db.read { try await $0.raw("SELECT key_hash FROM api_keys").all() }
            #expect(try hashes.allSatisfy { try $0.decode(column: "key_hash", as: String.self) != secret })
        }
    }

    @Test func errorsAreReplayedToo_butKeysArePerCaller() async throws {
        try await TestServer.run { (s: TestServer) async throws in
            let bad = #"{"code":"X","name":"","kind":"store","address":{"line1":"a","provinceCode":"310000","cityCode":"310100","districtCode":"310101"},"coordinates":{"lat":1,"lng":2}}"#
            let a = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: bad, headers: [.idemKey: "k"])
            let b = try await s.call(.post, "/api/v1/locations", as: .hqAdmin, json: bad, headers: [.idemKey: "k"])
            #expect(a.status == 422 && b.status == 422)
            #expect(b.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            // the same key from another principal is another key
            let c = try await s.call(.post, "/api/v1/locations", as: .ops, json: validLocationJSON, headers: [.idemKey: "k"])
            #expect(c.status == 201)
            // an over-long key is refused
            let long = try await s.call(.post, "/api/v1/locations", as: .ops, json: validLocationJSON,
                                        headers: [.idemKey: String(repeating: "k", count: 300)])
            #expect(long.status == 400)
        }
    }
}
