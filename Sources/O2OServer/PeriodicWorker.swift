import Foundation
import Synchronization
import Logging
import ServiceLifecycle

/// Runs a round of background work every few seconds until shutdown; a failed round is logged and
/// the next one tries again. Every round is safe to run in several processes at once.
struct PeriodicWorker: Service, CustomStringConvertible {
    let description: String
    let logger: Logger
    var interval: Duration = .seconds(2)
    let round: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await round()
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("\(description) round failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        logger.info("\(description) stopped")
    }
}

extension PeriodicWorker {
    /// Releases unpaid reservations whose time ran out and publishes the channels' changed ATP
    /// (`inventory.atp_changed`): each reservation is expired, and each changed SKU published, by
    /// exactly one process.
    static func inventory(_ services: AppServices) -> PeriodicWorker {
        PeriodicWorker(description: "inventory worker", logger: services.logger) {
            // Drain a backlog in rounds of 200, then wait.
            while try await services.inventory.expireDue(limit: 200) == 200 {}
            try await services.inventory.publishATPChanges()
        }
    }

    /// Cancels unpaid orders whose payment window closed, giving their stock back.
    static func orders(_ services: AppServices) -> PeriodicWorker {
        PeriodicWorker(description: "orders worker", logger: services.logger, interval: .seconds(5)) {
            while try await services.orders.cancelUnpaid(limit: 100) == 100 {}
            try await services.orders.cancelUnrouted()
        }
    }

    /// Escalates fulfilment orders not accepted within their location's SLA and hands back those
    /// past the second limit (routing tries elsewhere); cancels and refunds pickups left uncollected.
    static func fulfillment(_ services: AppServices) -> PeriodicWorker {
        PeriodicWorker(description: "fulfillment worker", logger: services.logger, interval: .seconds(30)) {
            while try await services.fulfillment.enforceSLA(limit: 100).rejected == 100 {}
            while try await services.fulfillment.expirePickups(limit: 100) == 100 {}
        }
    }

    /// Expires what is left of the members' points lots once their expiry passes, reviews tiers
    /// whose period ended, and once a day gives birthday points.
    static func members(_ services: AppServices) -> PeriodicWorker {
        let giftsGiven = Mutex<Date?>(nil)
        return PeriodicWorker(description: "members worker", logger: services.logger, interval: .seconds(60)) {
            let now = services.clock.instant()
            while try await services.members.expireDue(now: now) > 0 {}
            while try await services.members.reviewTiers(now: now) > 0 {}
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = services.members.points.timeZone
            let today = cal.startOfDay(for: now)
            if giftsGiven.withLock({ $0 }) != today {
                try await services.members.grantBirthdayGifts(on: now)
                giftsGiven.withLock { $0 = today }
            }
        }
    }

    /// Delivers queued member messages through the adapter of their channel, retrying failures a
    /// bounded number of times; each message is claimed by exactly one process.
    static func messages(_ services: AppServices) -> PeriodicWorker {
        PeriodicWorker(description: "messages worker", logger: services.logger, interval: .seconds(5)) {
            while try await services.members.sendQueuedMessages(limit: 100) == 100 {}
        }
    }

    /// Finishes imports a restart interrupted after they were accepted, writes the search entries
    /// an import left behind, and deletes the staging of imports that died before acceptance.
    static func catalog(_ services: AppServices) -> PeriodicWorker {
        PeriodicWorker(description: "catalog worker", logger: services.logger, interval: .seconds(5)) {
            try await services.importer.resumeAcceptedImports()
            try await services.catalog.indexPendingSearch()
            try await services.importer.discardAbandonedStaging()
        }
    }
}
