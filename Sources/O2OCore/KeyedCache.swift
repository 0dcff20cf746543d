import Foundation
import Synchronization

/// Reference data that changes rarely and is read on every request (locations, say): loaded
/// whole, kept for a few seconds, found by id or code. A miss reloads once, so a row created a
/// moment ago is found.
public final class KeyedCache<Item: Sendable>: Sendable {
    private struct Entry {
        var at: ContinuousClock.Instant
        var byId: [String: Item]
        var byCode: [String: Item]
        var all: [Item]
    }
    private let load: @Sendable () async throws -> [Item]
    private let id: @Sendable (Item) -> String
    private let code: @Sendable (Item) -> String
    private let ttl: Duration
    private let entry = Mutex<Entry?>(nil)

    public init(ttl: Duration = .seconds(10), id: @escaping @Sendable (Item) -> String, code: @escaping @Sendable (Item) -> String,
                load: @escaping @Sendable () async throws -> [Item]) {
        self.load = load
        self.id = id
        self.code = code
        self.ttl = ttl
    }

    private func current() async throws -> Entry {
        if let e = entry.withLock({ $0 }), ContinuousClock.now - e.at < ttl { return e }
        let all = try await load()
        let e = Entry(at: .now, byId: Dictionary(all.map { (id($0), $0) }, uniquingKeysWith: { a, _ in a }),
                      byCode: Dictionary(all.map { (code($0), $0) }, uniquingKeysWith: { a, _ in a }), all: all)
        entry.withLock { $0 = e }
        return e
    }

    /// An item by id or code.
    public func find(_ ref: String) async throws -> Item? {
        if let l = try await lookup(ref) { return l }
        entry.withLock { $0 = nil }
        return try await lookup(ref)
    }

    private func lookup(_ ref: String) async throws -> Item? {
        let e = try await current()
        return e.byId[ref] ?? e.byCode[ref]
    }

    public func byId() async throws -> [String: Item] { try await current().byId }
    public func all() async throws -> [Item] { try await current().all }
}
