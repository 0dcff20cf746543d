import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import O2OCore
import O2OFulfillment
import OpenAPIRuntime
import Synchronization

extension HTTPField.Name {
    static let requestId = Self("X-Request-Id")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}

/// Stamps a request id on the response and logs each request once.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = O2ORequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let incoming = request.headers[.requestId], incoming.count <= 100,
           incoming.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            context.requestId = incoming
        }
        context.logger[metadataKey: "request_id"] = .string(context.requestId)
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.requestId] = context.requestId
        let ms = Int((ContinuousClock.now - start) / .milliseconds(1))
        context.logger.debug("request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)", "ms": "\(ms)",
        ])
        return response
    }
}

/// Turns every error into an RFC 9457 problem response. Only bugs become 500 and are logged at error level.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = O2ORequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ProblemMapper.response(for: error, requestId: context.requestId, logger: context.logger)
        }
    }
}

enum ProblemMapper {
    static func problem(for error: any Error, requestId: String, logger: Logger) -> Problem {
        var p = classify(error, logger: logger, requestId: requestId)
        p.requestId = requestId
        return p
    }

    static func response(for error: any Error, requestId: String, logger: Logger) -> Response {
        var r = response(problem(for: error, requestId: requestId, logger: logger), requestId: requestId)
        if let seconds = retryAfter(error) { r.headers[.retryAfter] = String(seconds) }
        return r
    }

    /// Seconds a 429 asks the client to wait (`Retry-After`), when the error says.
    static func retryAfter(_ error: any Error) -> Int? {
        switch error {
        case let f as FulfillmentError: return f.retryAfter
        case let e as ServerError: return retryAfter(e.underlyingError)
        default: return nil
        }
    }

    static func response(_ p: Problem, requestId: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        headers[.requestId] = requestId
        if p.status == 401 { headers[.wwwAuthenticate] = "Bearer" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(p)) ?? Data()
        return Response(status: .init(code: p.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func classify(_ error: any Error, logger: Logger, requestId: String) -> Problem {
        switch error {
        case let p as Problem:
            return p
        case let c as any ProblemConvertible:
            return c.problem
        case let e as ServerError:
            // The generated server wraps both our handlers' errors and its own decoding failures.
            if let p = e.underlyingError as? Problem { return p }
            if let c = e.underlyingError as? any ProblemConvertible { return c.problem }
            if let decoding = e.underlyingError as? DecodingError { return decodingProblem(decoding) }
            if String(reflecting: type(of: e.underlyingError)).contains("OpenAPIRuntime") || e.underlyingError is DecodingError {
                return .malformed(readable(e.underlyingError))
            }
            return internalError(error, logger: logger, requestId: requestId)
        case let d as DecodingError:
            return decodingProblem(d)
        case let h as HTTPError:
            switch h.status.code {
            case 413: return .tooLarge(limit: 0)
            case 404: return Problem(kind: "not-found", title: "Not found", status: 404, detail: h.body ?? "No such route.")
            case 405: return Problem(kind: "method-not-allowed", title: "Method not allowed", status: 405, detail: h.body)
            case 400..<500: return Problem(kind: "bad-request", title: h.status.reasonPhrase, status: Int(h.status.code), detail: h.body)
            default: return internalError(error, logger: logger, requestId: requestId)
            }
        default:
            return internalError(error, logger: logger, requestId: requestId)
        }
    }

    private static func internalError(_ error: any Error, logger: Logger, requestId: String) -> Problem {
        logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
        return .internalError(requestId: requestId)
    }

    static func decodingProblem(_ error: DecodingError) -> Problem {
        func path(_ ctx: DecodingError.Context, _ key: (any CodingKey)? = nil) -> String {
            var keys = ctx.codingPath
            if let key { keys.append(key) }
            let joined = keys.map { k in k.intValue.map { "[\($0)]" } ?? ".\(k.stringValue)" }.joined()
            let trimmed = joined.hasPrefix(".") ? String(joined.dropFirst()) : joined
            return trimmed.isEmpty ? "body" : trimmed
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            return .malformed("A field has the wrong type.", errors: [.init(path(ctx), "expected \(describe(type))")])
        case .valueNotFound(let type, let ctx):
            return .malformed("A required value is null.", errors: [.init(path(ctx), "expected \(describe(type)), got null")])
        case .keyNotFound(let key, let ctx):
            return .malformed("A required field is missing.", errors: [.init(path(ctx, key), "is required")])
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty { return .malformed("The body is not valid JSON.") }
            return .malformed("A field has an invalid value.", errors: [.init(path(ctx), ctx.debugDescription)])
        @unknown default:
            return .malformed("The body could not be decoded.")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "String": return "a string"
        case "Int", "Int64", "Int32": return "an integer"
        case "Double", "Float": return "a number"
        case "Bool": return "a boolean"
        default: return name.hasPrefix("Array") ? "an array" : name.contains("Dictionary") ? "an object" : name
        }
    }

    private static func readable(_ error: any Error) -> String {
        // Surface the innermost decoding error when the runtime wrapped one.
        let mirror = Mirror(reflecting: error)
        for child in mirror.children {
            if let d = child.value as? DecodingError, case let p = decodingProblem(d), let detail = p.errors?.first {
                return "\(detail.field): \(detail.message)"
            }
        }
        let text = String(describing: error)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

/// Resolves `Authorization: Bearer …` (session token or API key) or the console session cookie to
/// a principal. It never rejects a request: what each operation needs is decided by `AccessPolicy`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = O2ORequestContext
    let identity: IdentityService
    let cache: PrincipalCache

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var credential: String?
        if let auth = request.headers[.authorization] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { credential = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        } else if request.uri.path.hasPrefix("/console"), let cookie = request.cookies[ConsoleSession.cookieName]?.value {
            credential = cookie
        }
        if let credential, credential.count <= 200 {
            context.credential = credential
            context.principal = try await cache.principal(for: credential) { try await identity.authenticate(credential) }
        }
        if let p = context.principal { context.logger[metadataKey: "principal"] = .string(p.id) }
        let ctx = context
        return try await CurrentRequest.$caller.withValue(ctx.caller) {
            try await CurrentRequest.$credential.withValue(ctx.credential) { try await next(request, ctx) }
        }
    }
}

/// A short-lived cache of resolved credentials, so the hot path does not look up the session on every
/// request. Logout and key revocation evict locally; other processes see them within `ttl`.
final class PrincipalCache: Sendable {
    private struct Entry { let principal: Principal?; let until: ContinuousClock.Instant }
    private let entries = Mutex<[String: Entry]>([:])
    let ttl: Duration

    init(ttl: Duration = .seconds(10)) { self.ttl = ttl }

    func principal(for credential: String, resolve: () async throws -> Principal?) async throws -> Principal? {
        let now = ContinuousClock.now
        if let e = entries.withLock({ $0[credential] }), e.until > now { return e.principal }
        let p = try await resolve()
        entries.withLock { d in
            if d.count > 10_000 { d.removeAll(keepingCapacity: true) }
            d[credential] = Entry(principal: p, until: now + ttl)
        }
        return p
    }

    func evict(_ credential: String) { _ = entries.withLock { $0.removeValue(forKey: credential) } }
    func evictAll() { entries.withLock { $0.removeAll() } }
}

/// Reads the whole body up to the configured limit (413 beyond it) and applies `Idempotency-Key`
/// to POST and PATCH: the first request with a key does the work and its response is stored;
/// a retry with the same body gets that response back; a different body gets 422; a retry that
/// arrives while the first is still running waits for it.
struct BodyAndIdempotencyMiddleware: RouterMiddleware {
    typealias Context = O2ORequestContext
    let store: IdempotencyStore
    let maxBodyBytes: Int
    var maxImportBytes: Int = 64 << 20
    var waitForInProgress: Duration = .seconds(10)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post || request.method == .patch || request.method == .put else {
            return try await next(request, context)
        }
        var request = request
        let path = request.uri.path
        let limit = ServerConfig.importPaths.contains(where: { path.hasPrefix($0) }) ? maxImportBytes : maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Problem.tooLarge(limit: limit)
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limit)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw Problem.tooLarge(limit: limit)
        }
        guard request.uri.path.hasPrefix("/api/"), let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        guard !key.isEmpty, key.count <= 255 else {
            throw Problem.malformed("Idempotency-Key must be 1 to 255 characters.", errors: [.init("Idempotency-Key", "must be 1 to 255 characters")])
        }
        let principalId = context.principal?.id ?? "anonymous"
        var hasher = [UInt8]()
        hasher.append(contentsOf: Array("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        hasher.append(contentsOf: body.readableBytesView)
        let hash = Secrets.sha256Hex(hasher)

        let deadline = ContinuousClock.now + waitForInProgress
        while true {
            switch try await store.claim(principalId: principalId, key: key, requestHash: hash) {
            case .acquired:
                return try await runAndStore(request, context: context, next: next, principalId: principalId, key: key)
            case .replay(let stored):
                var headers = HTTPFields()
                if let ct = stored.contentType { headers[.contentType] = ct }
                headers[.idempotentReplayed] = "true"
                return Response(status: .init(code: stored.status), headers: headers,
                                body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
            case .mismatch:
                throw Problem(kind: "idempotency-key-reused", title: "Idempotency-Key reused with a different request",
                              status: 422, detail: "This Idempotency-Key was first used with another body or path; use a new key.")
            case .responseLost:
                throw Problem.conflict(
                    "The request with this Idempotency-Key was carried out, but the server stopped before its answer was stored; "
                        + "look the result up instead of retrying.", kind: "idempotency-response-lost")
            case .inProgress:
                if ContinuousClock.now >= deadline {
                    throw Problem.conflict("A request with this Idempotency-Key is still in progress; retry later.",
                                           kind: "idempotency-in-progress")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    private func runAndStore(_ request: Request, context: Context, next: (Request, Context) async throws -> Response,
                             principalId: String, key: String) async throws -> Response {
        var response: Response
        do {
            let mark = Database.CommitHook { tx in
                try await IdempotencyStore.markWorkCommitted(tx, principalId: principalId, key: key)
            }
            response = try await Database.$commitHook.withValue(mark) { try await next(request, context) }
        } catch {
            response = ProblemMapper.response(for: error, requestId: context.requestId, logger: context.logger)
        }
        let collector = BodyCollector()
        try await response.body.write(collector)
        let bytes = collector.bytes
        if response.status.code >= 500 || response.status.code == 429 {
            // Our failure, or a pause that did nothing: forget the key so a retry can do the work.
            try? await store.release(principalId: principalId, key: key)
        } else {
            try await store.complete(principalId: principalId, key: key, response: StoredResponse(
                status: Int(response.status.code), contentType: response.headers[.contentType], body: Self.redactingSecrets(bytes)))
        }
        response.body = .init(byteBuffer: ByteBuffer(bytes: bytes))
        return response
    }
}

extension BodyAndIdempotencyMiddleware {
    /// Fields that carry a secret shown once (session tokens, API keys, webhook signing secrets).
    static let secretFields: Set<String> = ["token", "secret"]

    /// The stored copy of a response never holds a secret: a replay answers with the same
    /// record and `"[shown once]"` in place of the secret.
    static func redactingSecrets(_ body: [UInt8]) -> [UInt8] {
        // Cheap test first: this runs on every keyed response, and most carry no secret.
        let data = Data(body)
        guard body.count < 1 << 20, secretFields.contains(where: { data.range(of: Data("\"\($0)\"".utf8)) != nil }),
              var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              !secretFields.isDisjoint(with: object.keys) else { return body }
        for field in secretFields where object[field] != nil { object[field] = "[shown once]" }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])).map(Array.init) ?? body
    }
}

/// Buffers a response body so it can be stored for idempotent replay.
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    var bytes: [UInt8] = []
    func write(_ buffer: ByteBuffer) async throws { bytes.append(contentsOf: buffer.readableBytesView) }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
