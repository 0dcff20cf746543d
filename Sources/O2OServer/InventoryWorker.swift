import Foundation
import Logging
import O2OInventory
import ServiceLifecycle

/// Releases unpaid reservations whose time ran out, every few seconds. Several processes may run
/// it at once: each reservation is expired by exactly one of them.
struct InventoryWorker: Service, CustomStringConvertible {
    let services: AppServices
    var interval: Duration = .seconds(5)
    var description: String { "InventoryWorker" }

    func run() async throws {
        let logger = services.logger
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // Drain a backlog in rounds of 200, then wait.
                    while try await services.inventory.expireDue(limit: 200) == 200 {}
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("reservation expiry round failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        logger.info("inventory worker stopped")
    }
}
