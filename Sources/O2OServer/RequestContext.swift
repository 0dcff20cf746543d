import Foundation
import Hummingbird
import Logging
import O2OCore

/// The per-request context: who is calling and the request id.
public struct O2ORequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    public var requestId: String
    /// The bearer credential or console session token the principal came from.
    public var credential: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        requestId = O2OID.make("req")
    }

    public var caller: Caller? { principal.map { Caller($0, requestId: requestId) } }
}

/// The caller of the request being handled, for the generated API handlers, which see no context.
public enum CurrentRequest {
    @TaskLocal public static var caller: Caller?
    @TaskLocal public static var credential: String?
}
