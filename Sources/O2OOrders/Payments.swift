import Foundation
import O2OCore

/// A payment provider as the order flow sees it. Real providers (Alipay, WeChat Pay) sit behind
/// the same protocol; their notifications are verified where they arrive.
public protocol PaymentProvider: Sendable {
    var name: String { get }
    /// Takes the amount now (authorise and capture in one step).
    func capture(amount: Int64, currency: String, reference: String) async throws -> ProviderResult
    func refund(amount: Int64, currency: String, reference: String) async throws -> ProviderResult
}

public struct ProviderResult: Sendable, Equatable {
    public var captured: Bool
    /// The provider's own id for the movement.
    public var reference: String
    public init(captured: Bool, reference: String) {
        self.captured = captured
        self.reference = reference
    }
}

/// The built-in provider for demos and tests: every capture and refund succeeds at once.
public struct SandboxPayments: PaymentProvider {
    public let name = "sandbox"
    public init() {}

    public func capture(amount: Int64, currency: String, reference: String) async throws -> ProviderResult {
        ProviderResult(captured: true, reference: "sbx_" + String(reference.suffix(12)))
    }

    public func refund(amount: Int64, currency: String, reference: String) async throws -> ProviderResult {
        ProviderResult(captured: true, reference: "sbx_r_" + String(reference.suffix(12)))
    }
}
