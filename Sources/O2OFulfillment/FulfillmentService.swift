import Foundation
import O2OCore
import O2ONetwork
import O2OOrders

/// Fulfilment at the locations: each order's work at each location it was released to (a
/// fulfilment order, with its SLA), store pickups verified at the counter, and a store's
/// same-city deliveries planned into vehicle routes, sent out and confirmed stop by stop, and the
/// shipments handed to carriers with their labels and tracking. Orders
/// move through the order service, in the same transaction as the fulfilment change.
public final class FulfillmentService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let orders: OrderService
    let network: NetworkService
    let recorder: ChangeRecorder
    public let policy: FulfillmentPolicy
    let sync: FulfillmentSync

    /// Registers with the order service to keep fulfilment orders in step with their orders.
    public init(db: Database, clock: any O2OClock, orders: OrderService, network: NetworkService, policy: FulfillmentPolicy = .standard) {
        self.db = db
        self.clock = clock
        self.orders = orders
        self.network = network
        self.recorder = ChangeRecorder(clock: clock)
        self.policy = policy
        self.sync = FulfillmentSync(network: network, recorder: recorder, clock: clock, policy: policy)
        orders.observe(sync)
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
        // One order's work at one location, with its SLA and, for pickups, the code, the
        // expiry and the proof of handover; wrong pickup codes per counter and clerk.
        Migration(module: "fulfillment", version: 2, name: "fulfilment orders and pickup verification", [
            """
            CREATE TABLE fulfillment_orders (
                id TEXT PRIMARY KEY, order_id TEXT NOT NULL, location_id TEXT NOT NULL, organisation_id TEXT NOT NULL, location_kind TEXT NOT NULL,
                method TEXT NOT NULL, mode TEXT, status TEXT NOT NULL, lines TEXT NOT NULL, accept_by BIGINT NOT NULL, reject_at BIGINT NOT NULL,
                escalated_at BIGINT, accepted_at BIGINT, reason TEXT, note TEXT, ready_at BIGINT, pickup_code TEXT, pickup_phone TEXT,
                pickup_expires_at BIGINT, handover TEXT, closed_at BIGINT, version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX fulfillment_orders_order ON fulfillment_orders (order_id)",
            "CREATE INDEX fulfillment_orders_location ON fulfillment_orders (location_id, status)",
            "CREATE INDEX fulfillment_orders_sla ON fulfillment_orders (status, accept_by)",
            "CREATE INDEX fulfillment_orders_pickup ON fulfillment_orders (location_id, pickup_code)",
            """
            CREATE TABLE pickup_verify_failures (
                id TEXT PRIMARY KEY, location_id TEXT NOT NULL, actor_id TEXT NOT NULL, at BIGINT NOT NULL)
            """,
            "CREATE INDEX pickup_verify_failures_counter ON pickup_verify_failures (location_id, actor_id, at)",
        ]),
        // Carrier accounts with their service levels; shipments with their parcels, tracking
        // number (unique) and label; the carriers' tracking events, once per (shipment, status, time).
        Migration(module: "fulfillment", version: 3, name: "carriers, shipments and tracking events", [
            """
            CREATE TABLE carriers (
                code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, account_number TEXT, webhook_secret TEXT NOT NULL,
                tracking_url_template TEXT, services TEXT NOT NULL, active BIGINT NOT NULL, version BIGINT NOT NULL, created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE shipments (
                id TEXT PRIMARY KEY, fulfillment_order_id TEXT NOT NULL REFERENCES fulfillment_orders(id), order_id TEXT NOT NULL,
                location_id TEXT NOT NULL, organisation_id TEXT NOT NULL, carrier_code TEXT NOT NULL REFERENCES carriers(code), service_code TEXT NOT NULL,
                tracking_number TEXT NOT NULL, status TEXT NOT NULL, parcels TEXT NOT NULL, cod_amount BIGINT NOT NULL, currency TEXT NOT NULL,
                label TEXT NOT NULL, last_event_at BIGINT, delivered_at BIGINT, version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX shipments_tracking ON shipments (tracking_number)",
            "CREATE INDEX shipments_order ON shipments (order_id)",
            "CREATE INDEX shipments_fulfillment_order ON shipments (fulfillment_order_id)",
            "CREATE INDEX shipments_status ON shipments (status, carrier_code)",
            "CREATE INDEX shipments_location ON shipments (location_id, status)",
            """
            CREATE TABLE shipment_events (
                id TEXT PRIMARY KEY, shipment_id TEXT NOT NULL REFERENCES shipments(id), carrier_code TEXT NOT NULL, tracking_number TEXT NOT NULL,
                status TEXT NOT NULL, at BIGINT NOT NULL, location TEXT, description TEXT, source TEXT NOT NULL, received_at BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX shipment_events_once ON shipment_events (shipment_id, status, at)",
        ]),
        // What a route and each of its stops weigh and take up, from the catalog's SKU measures.
        Migration(module: "fulfillment", version: 4, name: "delivery weight and volume", [
            "ALTER TABLE delivery_routes ADD COLUMN weight_grams BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE delivery_routes ADD COLUMN volume_cm3 BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE delivery_stops ADD COLUMN weight_grams BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE delivery_stops ADD COLUMN volume_cm3 BIGINT NOT NULL DEFAULT 0",
        ]),
    ]
}
