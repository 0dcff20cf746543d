import Crypto
import Foundation

/// Money in integer minor units (fen for CNY) with an ISO 4217 currency code. Never a Double.
public struct Money: Codable, Hashable, Sendable, Comparable {
    public var minorUnits: Int64
    public var currency: String

    public init(minorUnits: Int64, currency: String = "CNY") {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Digits after the decimal point in the currency's major unit (ISO 4217).
    public static func minorDigits(_ currency: String) -> Int {
        ["JPY", "KRW", "VND", "CLP", "ISK"].contains(currency) ? 0 : 2
    }

    /// Minor units from a decimal amount in major units ("199", "199.5", "199.00"), exactly; nil when
    /// the text is not such an amount or has more decimals than the currency.
    public static func parseMinorUnits(_ text: String, currency: String = "CNY") -> Int64? {
        let digits = minorDigits(currency)
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 12, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        guard fraction.count <= digits, fraction.allSatisfy({ $0.isASCII && $0.isNumber }), !(parts.count > 1 && fraction.isEmpty) else { return nil }
        fraction += String(repeating: "0", count: digits - fraction.count)
        return Int64(whole + fraction)
    }

    /// The amount in major units with the currency's decimals ("199.00"), for CSV and display.
    public static func decimal(_ minorUnits: Int64, currency: String = "CNY") -> String {
        let digits = minorDigits(currency)
        guard digits > 0 else { return String(minorUnits) }
        let scale = Int64(pow(10, Double(digits)))
        let sign = minorUnits < 0 ? "-" : ""
        let m = abs(minorUnits)
        let frac = String(m % scale)
        return "\(sign)\(m / scale).\(String(repeating: "0", count: digits - frac.count))\(frac)"
    }

    public static func < (lhs: Money, rhs: Money) -> Bool {
        precondition(lhs.currency == rhs.currency, "comparing \(lhs.currency) with \(rhs.currency)")
        return lhs.minorUnits < rhs.minorUnits
    }
}

/// A source of the current time, injected so tests can move it.
public protocol O2OClock: Sendable {
    func now() -> Date
}

extension O2OClock {
    /// Now, truncated to the millisecond: what the database stores, so a value read back equals the one written.
    public func instant() -> Date { Date(epochMillis: now().epochMillis) }
}

public struct SystemClock: O2OClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to; for tests.
public final class ManualClock: O2OClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    public init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) { current = start }
    public func now() -> Date { lock.withLock { current } }
    public func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

extension Date {
    /// Milliseconds since the Unix epoch: how every timestamp is stored, the same on both engines.
    public var epochMillis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    public init(epochMillis: Int64) { self.init(timeIntervalSince1970: Double(epochMillis) / 1000) }
}

/// Prefixed, time-sortable identifiers (`loc_01JD…`): 48 bits of milliseconds and 80 random bits
/// in Crockford base32, so ids sort by creation time in both engines and in cursors.
public enum O2OID {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    public static func make(_ prefix: String, at date: Date = Date()) -> String {
        var value = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, date.epochMillis))
        for i in 0..<6 { value[i] = UInt8((ms >> (8 * (5 - i))) & 0xFF) }
        // Two draws from the system generator (one syscall each), not one per byte.
        var rng = SystemRandomNumberGenerator()
        let hi = rng.next(), lo = rng.next()
        for i in 6..<8 { value[i] = UInt8(truncatingIfNeeded: hi >> (8 * (i - 6))) }
        for i in 8..<16 { value[i] = UInt8(truncatingIfNeeded: lo >> (8 * (i - 8))) }
        return prefix + "_" + base32(value)
    }

    static func base32(_ bytes: [UInt8]) -> String {
        // 128 bits become 26 characters: two zero bits are put in front so 130 bits split evenly.
        var out = [Character]()
        out.reserveCapacity(26)
        var acc: UInt32 = 0
        var bits = 2
        for byte in bytes {
            acc = (acc << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((acc >> UInt32(bits)) & 31)])
            }
            acc &= (1 << UInt32(bits)) - 1
        }
        return String(out)
    }
}

/// Random secrets (tokens, API keys, webhook secrets) and their stored hashes.
public enum Secrets {
    public static func token(prefix: String, bytes: Int = 32) -> String {
        var rng = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(raw).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + b64
    }

    /// SHA-256 hex; enough for high-entropy tokens (passwords use bcrypt).
    public static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public static func sha256Hex(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// A small deterministic generator (SplitMix64): demo data and benchmarks repeat exactly for a seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
public func greatCircleKm(lat1: Double, lng1: Double, lat2: Double, lng2: Double) -> Double {
    let r = 6371.0088
    let dLat = (lat2 - lat1) * .pi / 180
    let dLng = (lng2 - lng1) * .pi / 180
    let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat1 * .pi / 180) * cos(lat2 * .pi / 180) * sin(dLng / 2) * sin(dLng / 2)
    return 2 * r * asin(min(1, sqrt(a)))
}

extension Optional {
    /// `map` with an async transform.
    public func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

extension Array {
    /// The array in consecutive slices of at most `size` elements (for statements with a bounded
    /// number of parameters).
    public func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
