import Foundation
import O2OCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Sends webhooks with Foundation's HTTP client (no extra dependency).
struct HTTPWebhookTransport: WebhookTransport {
    var timeout: TimeInterval = 10

    func post(url: String, body: String, headers: [String: String]) async throws -> Int {
        guard let u = URL(string: url) else { throw URLError(.badURL) }
        var request = URLRequest(url: u, timeoutInterval: timeout)
        request.httpMethod = "POST"
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.httpBody = Data(body.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}
