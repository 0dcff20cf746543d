import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import O2OAPI
import O2OCore
import OpenAPIHummingbird
import OpenAPIRuntime
import Prometheus
import ServiceLifecycle
import Synchronization

/// Metrics go to one Prometheus registry per process, bootstrapped once.
public enum Observability {
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    public static func bootstrap() {
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
    }
}

/// Builds the HTTP application over ready services: the API under /api/v1, the spec and its
/// reference page, the console, health and metrics, and the outbox worker.
public func buildApplication(services: AppServices) throws -> some ApplicationProtocol {
    let config = services.config
    let router = buildRouter(services: services)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "o2o"),
        logger: services.logger)
    app.addServices(OutboxWorker(services: services), PeriodicWorker.inventory(services), PeriodicWorker.catalog(services),
                    PeriodicWorker.orders(services), PeriodicWorker.members(services), PeriodicWorker.fulfillment(services),
                    PeriodicWorker.messages(services), PeriodicWorker.groupBuys(services))
    return app
}

public func buildRouter(services: AppServices) -> Router<O2ORequestContext> {
    Observability.bootstrap()
    let router = Router(context: O2ORequestContext.self)
    let principalCache = PrincipalCache()
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: AuthMiddleware(identity: services.identity, cache: principalCache))
    router.add(middleware: BodyAndIdempotencyMiddleware(store: services.idempotency, maxBodyBytes: services.config.maxBodyBytes,
                                                        maxImportBytes: services.config.maxImportBytes))

    router.get("/health") { _, _ in "ok" }
    router.get("/ready") { _, _ -> Response in
        do {
            try await services.db.read { sql in _ = try await sql.raw("SELECT 1 AS one").first() }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready")))
        } catch {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "database unavailable")))
        }
    }
    router.get("/metrics") { _, _ -> Response in
        var buffer = [UInt8]()
        Observability.registry.emit(into: &buffer)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }
    router.get("/openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: OpenAPISpec.yaml)))
    }
    router.get("/docs") { _, _ in HTMLPage(APIReference.html) }
    router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/console"]) }

    let loginLimiter = LoginLimiter(limit: services.config.loginAttemptsPerWindow)
    let handlers = APIHandlers(services: services, principalCache: principalCache, loginLimiter: loginLimiter)
    // The generated code wraps our handlers' errors; ProblemMiddleware maps them.
    try! handlers.registerHandlers(
        on: router, serverURL: URL(string: "/api/v1")!,
        configuration: .init(dateTranscoder: ISO8601Dates(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]),
        middlewares: [AccessPolicy()])
    PaymentNotificationRoutes(services: services).register(on: router)
    MarketplaceRoutes(services: services).register(on: router)
    CarrierWebhookRoutes(services: services).register(on: router)
    Console(services: services, principalCache: principalCache, loginLimiter: loginLimiter).register(on: router)
    return router
}

/// An HTML response.
struct HTMLPage: ResponseGenerator {
    let html: String
    var status: HTTPResponse.Status = .ok
    var headers: HTTPFields = [:]
    init(_ html: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) {
        self.html = html
        self.status = status
        self.headers = headers
    }
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var h = headers
        h[.contentType] = "text/html; charset=utf-8"
        h[.contentSecurityPolicy] = "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// Delivers the outbox after commit: fans events out to webhook endpoints, sends what is due with
/// backoff, purges expired idempotency keys, and publishes the backlog as gauges. Stops cleanly on
/// graceful shutdown, after the round in progress.
struct OutboxWorker: Service, CustomStringConvertible {
    let services: AppServices
    var transport: any WebhookTransport = HTTPWebhookTransport()
    var description: String { "OutboxWorker" }

    func run() async throws {
        let logger = services.logger
        let backlogEvents = Gauge(label: "o2o_outbox_undispatched_events")
        let backlogDeliveries = Gauge(label: "o2o_webhook_pending_deliveries")
        let dead = Gauge(label: "o2o_webhook_dead_deliveries")
        let commits = Gauge(label: "o2o_db_group_commits")
        let writes = Gauge(label: "o2o_db_committed_writes")
        await cancelWhenGracefulShutdown {
            var lastPurge = ContinuousClock.now
            while !Task.isCancelled {
                do {
                    try await services.webhooks.dispatch()
                    try await services.webhooks.deliverDue(transport: transport, logger: logger)
                    if ContinuousClock.now - lastPurge > .seconds(60) {
                        try await services.idempotency.purgeExpired()
                        lastPurge = ContinuousClock.now
                    }
                    let b = try await services.webhooks.backlog()
                    backlogEvents.record(b.events)
                    backlogDeliveries.record(b.deliveries)
                    dead.record(b.dead)
                    let s = services.db.stats
                    commits.record(s.batches)
                    writes.record(s.writes)
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("outbox round failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(Int(services.config.outboxInterval * 1000)))
            }
        }
        logger.info("outbox worker stopped")
    }
}

/// Times out with milliseconds; times in with or without fractional seconds (integrators send both).
struct ISO8601Dates: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    func decode(_ text: String) throws -> Date {
        if let d = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return d }
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "Expected an ISO 8601 date-time, got '\(text)'."))
    }
}
