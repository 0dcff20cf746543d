import Foundation
import Logging
import NIOCore
internal import NIOPosix
internal import SQLiteKit
import SQLKit
import Synchronization
internal import VaporCSQLite

/// An SQLite connection driven by direct, synchronous calls to the SQLite library, with a cache of
/// prepared statements, behind SQLKit's `SQLDatabase`: the same SQL and binds as every other path,
/// without a thread-pool hop per statement (the cost that bounded the writer, see the benchmark).
/// Statements run on the calling thread; one connection runs one statement at a time.
final class DirectSQLiteConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = Mutex(())
    private var statements: [String: OpaquePointer] = [:]  // guarded by `lock`
    private var closed = false  // guarded by `lock`

    init(path: String) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        let rc = sqlite_nio_sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "cannot open \(path)"
            if let db { sqlite_nio_sqlite3_close_v2(db) }
            throw DirectSQLiteError(code: rc, message: message)
        }
        handle = db
    }

    deinit { close() }

    func close() {
        lock.withLock { _ in
            guard !closed else { return }
            closed = true
            for (_, s) in statements { sqlite_nio_sqlite3_finalize(s) }
            statements.removeAll()
            sqlite_nio_sqlite3_close_v2(handle)
        }
    }

    /// Runs one statement and returns its rows.
    func run(_ sql: String, _ binds: [any Encodable & Sendable]) throws -> [DirectSQLiteRow] {
        try lock.withLock { _ in
            guard !closed else { throw DirectSQLiteError(code: SQLITE_MISUSE, message: "the connection is closed") }
            let statement = try prepared(sql)
            defer {
                sqlite_nio_sqlite3_reset(statement)
                sqlite_nio_sqlite3_clear_bindings(statement)
            }
            for (i, value) in binds.enumerated() { try bind(value, at: Int32(i + 1), to: statement) }
            var rows: [DirectSQLiteRow] = []
            var columns: DirectSQLiteRow.Columns?
            while true {
                let rc = sqlite_nio_sqlite3_step(statement)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw error(rc) }
                let count = sqlite_nio_sqlite3_column_count(statement)
                if columns == nil {
                    let names = (0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(statement, $0)) }
                    columns = DirectSQLiteRow.Columns(names: names)
                }
                rows.append(DirectSQLiteRow(columns: columns!, values: (0..<count).map { value(statement, $0) }))
            }
            return rows
        }
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let s = statements[sql] { return s }
        var statement: OpaquePointer?
        let rc = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc) }
        // Statements built per request (varying IN lists, literals) must not grow the cache forever.
        if statements.count > 512 {
            for (_, s) in statements { sqlite_nio_sqlite3_finalize(s) }
            statements.removeAll()
        }
        statements[sql] = statement
        return statement
    }

    private func error(_ rc: Int32) -> DirectSQLiteError {
        DirectSQLiteError(code: rc, message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ value: any Encodable & Sendable, at index: Int32, to statement: OpaquePointer) throws {
        let v = try SQLiteValueEncoder.encode(value)
        let rc: Int32
        switch v {
        case .null: rc = sqlite_nio_sqlite3_bind_null(statement, index)
        case .integer(let i): rc = sqlite_nio_sqlite3_bind_int64(statement, index, i)
        case .real(let d): rc = sqlite_nio_sqlite3_bind_double(statement, index, d)
        case .text(let s): rc = sqlite_nio_sqlite3_bind_text(statement, index, s, -1, Self.transient)
        case .blob(let b):
            rc = b.withUnsafeBytes { sqlite_nio_sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
        }
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    private func value(_ statement: OpaquePointer, _ i: Int32) -> SQLiteValue {
        switch sqlite_nio_sqlite3_column_type(statement, i) {
        case SQLITE_INTEGER: return .integer(sqlite_nio_sqlite3_column_int64(statement, i))
        case SQLITE_FLOAT: return .real(sqlite_nio_sqlite3_column_double(statement, i))
        case SQLITE_TEXT: return .text(String(cString: sqlite_nio_sqlite3_column_text(statement, i)))
        case SQLITE_BLOB:
            let n = Int(sqlite_nio_sqlite3_column_bytes(statement, i))
            guard n > 0, let p = sqlite_nio_sqlite3_column_blob(statement, i) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }
}

public struct DirectSQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
    /// The primary result code (the low byte of an extended one).
    var primary: Int32 { code & 0xFF }
    var isBusy: Bool { primary == SQLITE_BUSY || primary == SQLITE_LOCKED }
    var isConstraint: Bool { primary == SQLITE_CONSTRAINT }
}

enum SQLiteValue: Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// `SQLDatabase` over a `DirectSQLiteConnection`.
struct DirectSQLiteDatabase: SQLDatabase {
    let connection: DirectSQLiteConnection
    let logger: Logger
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let (sql, binds) = serialize(query)
        for row in try connection.run(sql, binds) { onRow(row) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        let (sql, binds) = serialize(query)
        do {
            for row in try connection.run(sql, binds) { onRow(row) }
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }
}

struct DirectSQLiteRow: SQLRow {
    final class Columns: Sendable {
        let names: [String]
        let index: [String: Int]
        init(names: [String]) {
            self.names = names
            var index: [String: Int] = [:]
            for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
            self.index = index
        }
    }

    let columns: Columns
    let values: [SQLiteValue]

    var allColumns: [String] { columns.names }
    func contains(column: String) -> Bool { columns.index[column] != nil }

    private func value(_ column: String) throws -> SQLiteValue {
        guard let i = columns.index[column] else {
            throw DecodingError.keyNotFound(SQLiteColumnKey(column), .init(codingPath: [], debugDescription: "no column \(column)"))
        }
        return values[i]
    }

    func decodeNil(column: String) throws -> Bool {
        if case .null = try value(column) { return true }
        return false
    }

    func decode<D: Decodable>(column: String, as: D.Type) throws -> D {
        try D(from: SQLiteValueDecoder(value: try value(column), column: column))
    }
}

struct SQLiteColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Decodes one column value into a primitive (or an Optional of one).
struct SQLiteValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: SQLiteValue
    let column: String
    var codingPath: [any CodingKey] { [SQLiteColumnKey(column)] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> { throw mismatch("an object") }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch("an array") }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    private func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "column \(column): expected \(expected), got \(value)"))
    }

    func decodeNil() -> Bool { if case .null = value { return true } else { return false } }
    func decode(_ type: Bool.Type) throws -> Bool { try decode(Int64.self) != 0 }
    func decode(_ type: String.Type) throws -> String {
        switch value {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .blob(let b): return String(decoding: b, as: UTF8.self)
        case .null: throw mismatch("a string")
        }
    }
    func decode(_ type: Double.Type) throws -> Double {
        switch value {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        case .text(let s): if let d = Double(s) { return d }; throw mismatch("a number")
        default: throw mismatch("a number")
        }
    }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int64.Type) throws -> Int64 {
        switch value {
        case .integer(let i): return i
        case .real(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        case .text(let s): if let i = Int64(s) { return i }; throw mismatch("an integer")
        default: throw mismatch("an integer")
        }
    }
    private func integer<T: FixedWidthInteger>(_ t: T.Type) throws -> T {
        let i = try decode(Int64.self)
        guard let v = T(exactly: i) else { throw mismatch("an integer that fits \(T.self)") }
        return v
    }
    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

/// Turns one bind value (a primitive, or an Optional of one) into an SQLite value.
enum SQLiteValueEncoder {
    struct Unsupported: Error, CustomStringConvertible {
        let type: String
        var description: String { "cannot bind a \(type) to an SQLite parameter; bind a string, number, boolean or bytes" }
    }

    static func encode(_ v: any Encodable) throws -> SQLiteValue {
        if let optional = v as? any OptionalBind {
            guard let wrapped = optional.wrapped else { return .null }
            return try encode(wrapped)
        }
        switch v {
        case let s as String: return .text(s)
        case let i as Int: return .integer(Int64(i))
        case let i as Int64: return .integer(i)
        case let i as Int32: return .integer(Int64(i))
        case let d as Double: return .real(d)
        case let b as Bool: return .integer(b ? 1 : 0)
        case let d as Data: return .blob(Array(d))
        case let b as [UInt8]: return .blob(b)
        default: throw Unsupported(type: String(describing: Swift.type(of: v)))
        }
    }
}

/// Lets a bind of Optional type be unwrapped whatever its wrapped type.
protocol OptionalBind {
    var wrapped: (any Encodable)? { get }
}

extension Optional: OptionalBind where Wrapped: Encodable {
    var wrapped: (any Encodable)? { self.map { $0 } }
}
