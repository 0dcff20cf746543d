import Foundation
import Logging
import O2OInventory
import ServiceLifecycle

/// Every few seconds: releases unpaid reservations whose time ran out, and publishes the channels'
/// changed ATP (`inventory.atp_changed`). Several processes may run it at once: each reservation
/// is expired, and each changed SKU published, by exactly one of them.
struct InventoryWorker: Service, CustomStringConvertible {
    let services: AppServices
    var interval: Duration = .seconds(2)
    var description: String { "InventoryWorker" }

    func run() async throws {
        let logger = services.logger
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    // Drain a backlog in rounds of 200, then wait.
                    while try await services.inventory.expireDue(limit: 200) == 200 {}
                    try await services.inventory.publishATPChanges()
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("inventory round failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        logger.info("inventory worker stopped")
    }
}
