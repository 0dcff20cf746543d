import Foundation
import Hummingbird
import NIOCore
import O2OCore
import O2OOrders

/// Where Alipay and WeChat Pay post their payment notifications. Not bearer-authenticated: the
/// provider's signature is the credential, checked before anything is believed; every
/// notification, refused ones too, is logged. Each answers in its provider's own terms (Alipay
/// reads "success" in the body; WeChat Pay a 2xx, or `{"code":"FAIL"}` with 4xx/5xx), so the
/// provider retries what was not taken.
struct PaymentNotificationRoutes {
    let services: AppServices
    static let alipay = "/api/v1/payments/notifications/alipay"
    static let wechatPay = "/api/v1/payments/notifications/wechat-pay"

    func register(on router: Router<O2ORequestContext>) {
        router.post(RouterPath(Self.alipay)) { request, _ -> Response in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 64 * 1024))
            do {
                _ = try await services.orders.receiveAlipay(form: body, caller: .system)
                return Self.text("success", .ok)
            } catch {
                return Self.text("fail", Self.status(error, services))
            }
        }
        router.post(RouterPath(Self.wechatPay)) { request, _ -> Response in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 64 * 1024))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            do {
                _ = try await services.orders.receiveWeChatPay(headers: headers, body: body, caller: .system)
                return Response(status: .noContent)
            } catch {
                let message = (error as? any ProblemConvertible)?.problem.detail ?? (error as? Problem)?.detail ?? "not accepted"
                let json = try JSONEncoder().encode(["code": "FAIL", "message": message])
                return Response(status: Self.status(error, services), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(bytes: json)))
            }
        }
    }

    static func text(_ s: String, _ status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// A refused notification's status; a failure of ours is logged and answered 500 so the provider retries.
    static func status(_ error: any Error, _ services: AppServices) -> HTTPResponse.Status {
        let p = (error as? any ProblemConvertible)?.problem ?? (error as? Problem)
        guard let p, p.status < 500 else {
            services.logger.error("payment notification failed", metadata: ["error": "\(error)"])
            return .internalServerError
        }
        services.logger.warning("payment notification refused", metadata: ["problem": "\(p.type)", "detail": "\(p.detail ?? p.title)"])
        return HTTPResponse.Status(code: p.status)
    }
}
