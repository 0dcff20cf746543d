import Foundation
import O2OCore
import O2ONetwork
import O2OOrders

/// Fulfilment at the locations: today a store's same-city deliveries, planned into vehicle
/// routes, sent out and confirmed stop by stop. Orders move through the order service, in the
/// same transaction as the route.
public final class FulfillmentService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let orders: OrderService
    let network: NetworkService
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock, orders: OrderService, network: NetworkService) {
        self.db = db
        self.clock = clock
        self.orders = orders
        self.network = network
        self.recorder = ChangeRecorder(clock: clock)
    }
}

public enum FulfillmentMigrations {
    public static let all: [Migration] = [
        // A store's delivery routes and their stops in order; a plan replaces the store's routes
        // that have not left yet.
        Migration(module: "fulfillment", version: 1, name: "store delivery routes and stops", [
            """
            CREATE TABLE delivery_routes (
                id TEXT PRIMARY KEY, store_id TEXT NOT NULL, plan_id TEXT NOT NULL, vehicle_id TEXT NOT NULL, status TEXT NOT NULL,
                depart_at BIGINT NOT NULL, return_at BIGINT NOT NULL, travel_seconds BIGINT NOT NULL, load BIGINT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX delivery_routes_store ON delivery_routes (store_id, status)",
            """
            CREATE TABLE delivery_stops (
                route_id TEXT NOT NULL REFERENCES delivery_routes(id), seq BIGINT NOT NULL, order_id TEXT NOT NULL, lat DOUBLE PRECISION NOT NULL,
                lng DOUBLE PRECISION NOT NULL, units BIGINT NOT NULL, eta BIGINT NOT NULL, service_start BIGINT NOT NULL, window_earliest BIGINT,
                window_latest BIGINT, status TEXT NOT NULL, note TEXT, at BIGINT, PRIMARY KEY (route_id, seq))
            """,
            "CREATE INDEX delivery_stops_order ON delivery_stops (order_id)",
        ]),
    ]
}
