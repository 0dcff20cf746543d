import Foundation
import Logging
import NIOCore
internal import NIOPosix
internal import PostgresKit
internal import PostgresNIO
import SQLKit
import Synchronization

/// Which SQL engine a `Database` talks to. The SQL is the same; a few statements differ by dialect.
public enum DatabaseEngine: String, Sendable, CaseIterable {
    case sqlite
    case postgres
}

/// Where the data lives: `sqlite:PATH` (the default, `./o2o.sqlite`) or `postgres://user:pass@host:port/db`.
public struct DatabaseLocation: Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case sqlite(path: String)
        case postgres(host: String, port: Int, user: String, password: String?, database: String)
    }

    public let kind: Kind

    public init(parsing text: String) throws(DatabaseConfigurationError) {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { throw .invalid(text, "sqlite: needs a file path, e.g. sqlite:./o2o.sqlite") }
            kind = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
                throw .invalid(text, "expected postgres://user:password@host:port/database")
            }
            let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
            guard !database.isEmpty else { throw .invalid(text, "the URL names no database") }
            kind = .postgres(
                host: host, port: url.port ?? 5432, user: url.user ?? "postgres",
                password: url.password, database: database)
        } else {
            throw .invalid(text, "use sqlite:PATH or postgres://user:password@host:port/database")
        }
    }

    public var engine: DatabaseEngine {
        if case .sqlite = kind { return .sqlite }
        return .postgres
    }

    /// The location with any password hidden, for logs.
    public var description: String {
        switch kind {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let host, let port, let user, _, let database): return "postgres://\(user)@\(host):\(port)/\(database)"
        }
    }
}

public enum DatabaseConfigurationError: Error, CustomStringConvertible {
    case invalid(String, String)
    public var description: String {
        switch self {
        case .invalid(let text, let why): return "invalid database location '\(text)': \(why)"
        }
    }
}

/// The connection a use case runs its statements on, inside one transaction.
public struct Transaction: Sendable {
    public let sql: any SQLDatabase
    public let engine: DatabaseEngine
}

/// One SQL code path over SQLite and PostgreSQL.
///
/// `write` runs a use case in one transaction. On SQLite, writes go through a single writer with
/// group commit: the bodies waiting at the same moment run one after another in one transaction,
/// each inside its own savepoint (a failing body is rolled back alone and never sinks its
/// batch-mates), and all are answered after the one durable commit (`synchronous=FULL`). On
/// PostgreSQL each write is its own transaction on a pooled connection, retried on serialization
/// failures and deadlocks. Reads never see uncommitted work of other requests.
public final class Database: Sendable {
    public let engine: DatabaseEngine
    public let location: DatabaseLocation
    public let logger: Logger
    private let backend: Backend

    enum Backend: Sendable {
        case sqlite(SQLiteBackend)
        case postgres(PostgresBackend)
    }

    @TaskLocal static var currentTransaction: Transaction?

    public struct Options: Sendable {
        /// How many bodies one SQLite group commit may carry.
        public var maxBatch: Int = 256
        /// Connections for reads (SQLite) or the pool size (PostgreSQL).
        public var connections: Int = 8
        /// Durable commits; `false` only for explicitly relaxed setups, never the default.
        public var durable: Bool = true
        public init() {}
    }

    public static func open(_ location: DatabaseLocation, options: Options = .init(), logger: Logger) async throws -> Database {
        switch location.kind {
        case .sqlite(let path):
            let backend = try await SQLiteBackend.open(path: path, options: options, logger: logger)
            return Database(engine: .sqlite, location: location, backend: .sqlite(backend), logger: logger)
        case .postgres(let host, let port, let user, let password, let database):
            let backend = try await PostgresBackend.open(
                host: host, port: port, user: user, password: password, database: database,
                options: options, logger: logger)
            return Database(engine: .postgres, location: location, backend: .postgres(backend), logger: logger)
        }
    }

    private init(engine: DatabaseEngine, location: DatabaseLocation, backend: Backend, logger: Logger) {
        self.engine = engine
        self.location = location
        self.backend = backend
        self.logger = logger
    }

    /// Runs read-only statements on a connection of their own (or on the current transaction's).
    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if let tx = Self.currentTransaction { return try await body(tx.sql) }
        switch backend {
        case .sqlite(let b): return try await body(b.reader())
        case .postgres(let b): return try await b.client.withConnection { conn in try await body(conn.sql()) }
        }
    }

    /// Runs a use case in one transaction; joins the current one when called from inside a write.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        if let tx = Self.currentTransaction { return try await body(tx) }
        // Read in the caller's task: the SQLite writer runs the body in a task of its own.
        let commitHook = Self.commitHook
        let run: @Sendable (Transaction) async throws -> T = { tx in
            try await Self.$currentTransaction.withValue(tx) {
                let value = try await body(tx)
                try await commitHook?.run(tx)
                return value
            }
        }
        switch backend {
        case .sqlite(let b):
            return try await b.writer.submit { sql in try await run(Transaction(sql: sql, engine: .sqlite)) }
        case .postgres(let b):
            return try await b.transaction(logger: logger) { sql in try await run(Transaction(sql: sql, engine: .postgres)) }
        }
    }

    /// Statements that must commit together with every write made in this task (and its children),
    /// after the write's own work: the idempotency middleware uses it to record, atomically with the
    /// work, that a keyed request's work is done.
    @TaskLocal public static var commitHook: CommitHook?

    /// Wrapped in a struct: a task-local of bare function type crashed the release build (Swift 6.3).
    public struct CommitHook: Sendable {
        public let run: @Sendable (Transaction) async throws -> Void
        public init(_ run: @escaping @Sendable (Transaction) async throws -> Void) { self.run = run }
    }

    /// Statistics for `/metrics`.
    public var stats: (batches: Int, writes: Int) {
        if case .sqlite(let b) = backend { return b.writer.stats }
        return (0, 0)
    }

    public func close() async {
        switch backend {
        case .sqlite(let b): await b.close()
        case .postgres(let b): await b.close()
        }
    }
}

// MARK: - Error classification

public enum DatabaseErrorKind: Sendable, Equatable {
    case uniqueViolation
    case foreignKeyViolation
    case retryable
    case other
}

extension Database {
    public static func classify(_ error: any Error) -> DatabaseErrorKind {
        if let e = error as? DirectSQLiteError {
            if e.isBusy { return .retryable }
            guard e.isConstraint else { return .other }
            if e.message.contains("UNIQUE constraint") || e.message.contains("PRIMARY KEY") { return .uniqueViolation }
            if e.message.contains("FOREIGN KEY constraint") { return .foreignKeyViolation }
            return .other
        }
        if let e = error as? PSQLError, let state = e.serverInfo?[.sqlState] {
            switch state {
            case "23505": return .uniqueViolation
            case "23503": return .foreignKeyViolation
            case "40001", "40P01": return .retryable
            default: return .other
            }
        }
        return .other
    }
}

// MARK: - SQLite

final class SQLiteBackend: Sendable {
    let writer: GroupCommitWriter
    private let writerConnection: DirectSQLiteConnection
    private let readers: [DirectSQLiteConnection]
    private let next = Atomic<Int>(0)
    private let logger: Logger

    static func open(path: String, options: Database.Options, logger: Logger) async throws -> SQLiteBackend {
        if let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path.removingPercentEncoding,
           !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let w = try DirectSQLiteConnection(path: path)
        let sync = options.durable ? "FULL" : "NORMAL"
        // Pages are read through a shared memory map (no copy per read) and the writer keeps a
        // 32 MiB page cache: a catalog of 100,000 SKUs no longer fits SQLite's 2 MiB default.
        for pragma in ["PRAGMA busy_timeout=5000", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=\(sync)", "PRAGMA foreign_keys=ON",
                       "PRAGMA mmap_size=268435456", "PRAGMA cache_size=-32768"] {
            _ = try w.run(pragma, [])
        }
        var readers: [DirectSQLiteConnection] = []
        for _ in 0..<max(1, options.connections) {
            let r = try DirectSQLiteConnection(path: path)
            _ = try r.run("PRAGMA busy_timeout=5000", [])
            _ = try r.run("PRAGMA query_only=1", [])
            _ = try r.run("PRAGMA mmap_size=268435456", [])
            readers.append(r)
        }
        return SQLiteBackend(writerConnection: w, readers: readers, maxBatch: options.maxBatch, logger: logger)
    }

    private init(writerConnection: DirectSQLiteConnection, readers: [DirectSQLiteConnection], maxBatch: Int, logger: Logger) {
        self.writerConnection = writerConnection
        self.readers = readers
        self.logger = logger
        // Statements run inline on the writer; only the commit, which waits for the disk, leaves for a thread pool.
        self.writer = GroupCommitWriter(
            sql: DirectSQLiteDatabase(connection: writerConnection, logger: logger), maxBatch: maxBatch, logger: logger,
            commit: { try await NIOThreadPool.singleton.runIfActive { _ = try writerConnection.run("COMMIT", []) } })
    }

    func reader() -> any SQLDatabase {
        let i = next.add(1, ordering: .relaxed).newValue
        return DirectSQLiteDatabase(connection: readers[i % readers.count], logger: logger)
    }

    func close() async {
        await writer.shutdown()
        writerConnection.close()
        for r in readers { r.close() }
    }
}

/// A single writer that commits many waiting transactions' work with one fsync.
final class GroupCommitWriter: Sendable {
    private struct Job: Sendable {
        /// Runs the body; false when it threw (its error is kept for the caller).
        let run: @Sendable (any SQLDatabase) async -> Bool
        /// Answers the caller: nil after the batch committed, else the error that sank the batch.
        let complete: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var jobs: [Job] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
        var batches = 0
        var writes = 0
    }

    private let state = Mutex(State())
    private let sql: any SQLDatabase
    private let commitBatch: @Sendable () async throws -> Void
    private let maxBatch: Int
    private let logger: Logger
    private let loop: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(sql: any SQLDatabase, maxBatch: Int, logger: Logger, commit: @escaping @Sendable () async throws -> Void) {
        self.sql = sql
        self.commitBatch = commit
        self.maxBatch = max(1, maxBatch)
        self.logger = logger
        let task = Task { [self] in await self.run() }
        loop.withLock { $0 = task }
    }

    var stats: (batches: Int, writes: Int) { state.withLock { ($0.batches, $0.writes) } }

    func submit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let job = Job(
                run: { sql in
                    do {
                        let value = try await body(sql)
                        outcome.withLock { $0 = .success(value) }
                        return true
                    } catch {
                        outcome.withLock { $0 = .failure(error) }
                        return false
                    }
                },
                complete: { batchError in
                    if let batchError {
                        cont.resume(throwing: batchError)
                    } else {
                        cont.resume(with: outcome.withLock { $0 } ?? .failure(CancellationError()))
                    }
                }
            )
            let (accepted, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
                if s.closed { return (false, nil) }
                s.jobs.append(job)
                let w = s.waiter
                s.waiter = nil
                return (true, w)
            }
            if !accepted { cont.resume(throwing: DatabaseClosedError()) }
            waiter?.resume()
        }
    }

    private func takeBatch() async -> [Job]? {
        while true {
            let batch = state.withLock { s -> [Job]? in
                if s.jobs.isEmpty { return s.closed ? nil : [] }
                let n = min(s.jobs.count, maxBatch)
                let b = Array(s.jobs.prefix(n))
                s.jobs.removeFirst(n)
                return b
            }
            guard let batch else { return nil }
            if !batch.isEmpty { return batch }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if !s.jobs.isEmpty || s.closed { return true }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    private func run() async {
        while let batch = await takeBatch() {
            await commit(batch)
        }
    }

    private func commit(_ batch: [Job]) async {
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await sql.raw("BEGIN IMMEDIATE").run()
                break
            } catch {
                if Database.classify(error) == .retryable, attempt < 50 {
                    try? await Task.sleep(for: .milliseconds(5 * attempt))
                    continue
                }
                for job in batch { job.complete(error) }
                return
            }
        }
        do {
            for job in batch {
                try await sql.raw("SAVEPOINT o2o_job").run()
                if await job.run(sql) {
                    try await sql.raw("RELEASE o2o_job").run()
                } else {
                    try await sql.raw("ROLLBACK TO o2o_job").run()
                    try await sql.raw("RELEASE o2o_job").run()
                }
            }
            try await commitBatch()
        } catch {
            logger.error("group commit failed", metadata: ["error": "\(String(reflecting: error))", "size": "\(batch.count)"])
            try? await sql.raw("ROLLBACK").run()
            for job in batch { job.complete(error) }
            return
        }
        state.withLock { $0.batches += 1; $0.writes += batch.count }
        for job in batch { job.complete(nil) }
    }

    func shutdown() async {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume()
        let task = loop.withLock { $0 }
        await task?.value
    }
}

public struct DatabaseClosedError: Error, CustomStringConvertible {
    public var description: String { "the database is closed" }
}

// MARK: - PostgreSQL

final class PostgresBackend: Sendable {
    let client: PostgresClient
    private let runner: Task<Void, Never>

    static func open(
        host: String, port: Int, user: String, password: String?, database: String,
        options: Database.Options, logger: Logger
    ) async throws -> PostgresBackend {
        var config = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        config.options.maximumConnections = max(2, options.connections)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        let backend = PostgresBackend(client: client)
        // Fail fast on a wrong URL instead of on the first request.
        try await client.withConnection { conn in
            _ = try await conn.query("SELECT 1", logger: logger)
            if !options.durable { _ = try await conn.query("SET synchronous_commit = off", logger: logger) }
        }
        return backend
    }

    private init(client: PostgresClient) {
        self.client = client
        self.runner = Task { await client.run() }
    }

    func transaction<T: Sendable>(logger: Logger, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { conn in
                    let sql = conn.sql()
                    try await sql.raw("BEGIN").run()
                    do {
                        let value = try await body(sql)
                        try await sql.raw("COMMIT").run()
                        return value
                    } catch {
                        try? await sql.raw("ROLLBACK").run()
                        throw error
                    }
                }
            } catch {
                if Database.classify(error) == .retryable, attempt < 10 {
                    logger.debug("retrying transaction", metadata: ["attempt": "\(attempt)"])
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 1...(10 * attempt))))
                    continue
                }
                throw error
            }
        }
    }

    func close() async {
        runner.cancel()
        _ = await runner.value
    }
}
