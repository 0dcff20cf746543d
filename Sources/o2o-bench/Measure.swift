import Foundation
import Synchronization

/// Latencies in milliseconds and their order statistics (nearest rank).
struct Latencies: Codable, Sendable {
    var count: Int
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double
    var mean: Double

    init(_ samples: [Double]) {
        let s = samples.sorted()
        count = s.count
        func rank(_ q: Double) -> Double {
            guard !s.isEmpty else { return .nan }
            return s[Swift.min(s.count - 1, Swift.max(0, Int((q * Double(s.count)).rounded(.up)) - 1))]
        }
        p50 = rank(0.50)
        p90 = rank(0.90)
        p99 = rank(0.99)
        max = s.last ?? .nan
        mean = s.isEmpty ? .nan : s.reduce(0, +) / Double(s.count)
    }
}

extension Duration {
    var ms: Double { Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15 }
    var seconds: Double { ms / 1_000 }
}

/// Times `body` and returns its value with the elapsed milliseconds.
func timed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let value = try await body()
    return (value, (ContinuousClock.now - start).ms)
}

/// A thread-safe list of samples, appended to by a background loop.
final class SampleBox: Sendable {
    private let samples = Mutex<[Double]>([])
    private let failures = Mutex<[String]>([])
    func add(_ ms: Double) { samples.withLock { $0.append(ms) } }
    func fail(_ error: any Error) { failures.withLock { if $0.count < 5 { $0.append(String(describing: error)) } } }
    var values: [Double] { samples.withLock { $0 } }
    var errors: [String] { failures.withLock { $0 } }
}

/// Reads this process's memory figures from /proc/self/status (Linux), in KiB.
enum ProcStatus {
    static func kib(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
    static var rss: Int? { kib("VmRSS") }
    static var hwm: Int? { kib("VmHWM") }
}

/// Samples VmRSS every `interval` on a thread of its own (not the cooperative pool, which the
/// work being measured may keep busy), keeping the peak.
final class RSSSampler: Sendable {
    private struct State {
        var running = true
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
        var peak = 0
        var samples = 0
    }
    private let state = Mutex(State())

    init(intervalMicros: UInt32 = 10_000) {
        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                if let rss = ProcStatus.rss { state.withLock { $0.peak = max($0.peak, rss); $0.samples += 1 } }
                usleep(intervalMicros)
            }
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.finished = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
        thread.name = "rss-sampler"
        thread.start()
    }

    /// Stops sampling and returns (peak KiB, number of samples).
    func stop() async -> (peakKiB: Int, samples: Int) {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { s -> Bool in
                s.running = false
                if s.finished { return true }
                s.waiter = c
                return false
            }
            if finished { c.resume() }
        }
        return state.withLock { ($0.peak, $0.samples) }
    }
}

func mib(_ kib: Int?) -> String { kib.map { String(format: "%.1f MiB", Double($0) / 1024) } ?? "n/a" }
func fmt(_ ms: Double) -> String { ms.isNaN ? "-" : ms >= 100 ? String(format: "%.0f", ms) : ms >= 10 ? String(format: "%.1f", ms) : String(format: "%.2f", ms) }
/// Columns a string takes in a terminal: CJK characters take two.
func width(_ s: String) -> Int { s.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x2E80 ? 2 : 1) } }
func pad(_ s: String, _ n: Int) -> String { width(s) >= n ? s : s + String(repeating: " ", count: n - width(s)) }
func lpad(_ s: String, _ n: Int) -> String { width(s) >= n ? s : String(repeating: " ", count: n - width(s)) + s }
