import Foundation
import O2OCore
import SQLKit

// MARK: - Carriers, shipments and their tracking

/// A carrier (快递) or a third-party logistics partner (3PL) that ships for us.
public enum CarrierKind: String, Codable, Sendable, CaseIterable {
    case carrier
    case thirdPartyLogistics = "3pl"
}

/// A service level a carrier sells (标快, 次日达): how long it takes and whether it collects cash on delivery.
public struct CarrierService: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var transitDays: Int
    public var codSupported: Bool
    public init(code: String, name: String, transitDays: Int, codSupported: Bool) {
        self.code = code
        self.name = name
        self.transitDays = transitDays
        self.codSupported = codSupported
    }
}

/// A carrier account. Its webhook secret is kept apart and never read back.
public struct Carrier: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var kind: CarrierKind
    public var accountNumber: String?
    /// Where a customer follows a parcel, with `{tracking}` for the tracking number.
    public var trackingUrlTemplate: String?
    public var services: [CarrierService]
    public var active: Bool
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public func service(_ code: String) -> CarrierService? { services.first { $0.code == code } }

    public func trackingUrl(_ trackingNumber: String) -> String? {
        trackingUrlTemplate.map { $0.replacingOccurrences(of: "{tracking}", with: trackingNumber) }
    }

    /// A new tracking number in the carrier's own format: SF "SF" and 13 digits, ZTO 12 digits
    /// from 75, JD "JDVA" and 11 digits, any other its code and 12 digits.
    func newTrackingNumber() -> String {
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(Int.random(in: 0...9))) }) }
        switch code.uppercased() {
        case "SF": return "SF" + digits(13)
        case "ZTO": return "75" + digits(10)
        case "JD": return "JDVA" + digits(11)
        default: return code.uppercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) } + digits(12)
        }
    }
}

/// Where a shipment stands by its carrier's tracking: created with its label, then the carrier's events.
public enum ShipmentStatus: String, Codable, Sendable, CaseIterable {
    case created
    case inTransit = "in_transit"
    case outForDelivery = "out_for_delivery"
    case delivered
    case exception

    /// What a tracking event may say (a shipment is created only by shipping it).
    public static let tracked: [ShipmentStatus] = [.inTransit, .outForDelivery, .delivered, .exception]
}

public struct Parcel: Codable, Sendable, Equatable {
    public var weightGrams: Int
    public var lengthMm: Int?
    public var widthMm: Int?
    public var heightMm: Int?
    public init(weightGrams: Int, lengthMm: Int? = nil, widthMm: Int? = nil, heightMm: Int? = nil) {
        self.weightGrams = weightGrams
        self.lengthMm = lengthMm
        self.widthMm = widthMm
        self.heightMm = heightMm
    }
}

/// What a label printer prints on each parcel (面单), fixed when the shipment is created.
public struct ShipmentLabel: Codable, Sendable, Equatable {
    public struct Party: Codable, Sendable, Equatable {
        public var name: String
        public var phone: String?
        public var address: String
    }
    public struct ParcelLine: Codable, Sendable, Equatable {
        /// Parcel `n` of `of`.
        public var n: Int
        public var of: Int
        public var weightGrams: Int
    }
    public var trackingNumber: String
    /// The text the barcode encodes, and in which symbology.
    public var barcode: String
    public var barcodeSymbology: String
    public var carrierCode: String
    public var carrierName: String
    public var serviceCode: String
    public var serviceName: String
    public var shipFrom: Party
    /// The phone masked (138****5678), as on every label.
    public var shipTo: Party
    public var parcels: [ParcelLine]
    public var totalWeightGrams: Int
    /// Cash the courier collects on delivery; 0 when none.
    public var codAmount: Int64
    public var currency: String
    public var orderId: String
    public var printedAt: Date
}

/// One event a carrier reported for a shipment; one per (shipment, status, time).
public struct TrackingEvent: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable {
        case webhook
        case fileImport = "import"
    }
    public var id: String
    public var shipmentId: String
    public var trackingNumber: String
    public var status: ShipmentStatus
    public var at: Date
    public var location: String?
    public var description: String?
    public var source: Source
    public var receivedAt: Date
}

/// A fulfilment order handed to a carrier: its parcels, its tracking number and label, and
/// what the carrier reported since.
public struct Shipment: Codable, Sendable, Equatable {
    public var id: String
    public var fulfillmentOrderId: String
    public var orderId: String
    public var locationId: String
    public var organisationId: String
    public var carrierCode: String
    public var serviceCode: String
    public var trackingNumber: String
    public var trackingUrl: String?
    public var status: ShipmentStatus
    public var parcels: [Parcel]
    public var codAmount: Int64
    public var currency: String
    public var label: ShipmentLabel
    /// Oldest first.
    public var events: [TrackingEvent]
    public var lastEventAt: Date?
    public var deliveredAt: Date?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
}

/// What a 3PL partner is sent when a shipment is handed over to it: the shipment with its label,
/// the goods, and the full delivery address (the partner delivers it).
public struct ShipmentHandover: Codable, Sendable, Equatable {
    public struct Line: Codable, Sendable, Equatable {
        public var skuId: String
        public var skuCode: String
        public var quantity: Int
    }
    public var shipment: Shipment
    public var carrierAccountNumber: String?
    public var lines: [Line]
    public var recipientName: String
    public var recipientPhone: String
    public var address: String
    public var postalCode: String?
}

/// The SQL of carriers, shipments and tracking events.
enum ShipmentRows {
    static func json<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    static func decodeCarrier(_ r: any SQLRow) throws -> Carrier {
        Carrier(code: try r.decode(column: "code", as: String.self), name: try r.decode(column: "name", as: String.self),
                kind: CarrierKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .carrier,
                accountNumber: try r.decode(column: "account_number", as: String?.self),
                trackingUrlTemplate: try r.decode(column: "tracking_url_template", as: String?.self),
                services: try ShipmentRows.json([CarrierService].self, try r.decode(column: "services", as: String.self)),
                active: try r.decode(column: "active", as: Int.self) != 0, version: try r.decode(column: "version", as: Int.self),
                createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func carrier(_ code: String, _ sql: any SQLDatabase) async throws -> (Carrier, secret: String)? {
        guard let r = try await sql.raw("SELECT * FROM carriers WHERE code = \(bind: code)").first() else { return nil }
        return (try decodeCarrier(r), try r.decode(column: "webhook_secret", as: String.self))
    }

    static func insertCarrier(_ c: Carrier, secret: String, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO carriers (code, name, kind, account_number, webhook_secret, tracking_url_template, services, active, version, created_at, updated_at)
            VALUES (\(bind: c.code), \(bind: c.name), \(bind: c.kind.rawValue), \(bind: c.accountNumber), \(bind: secret), \(bind: c.trackingUrlTemplate),
                    \(bind: JSONCoding.string(c.services)), \(bind: c.active ? 1 : 0), \(bind: c.version), \(bind: c.createdAt.epochMillis),
                    \(bind: c.updatedAt.epochMillis))
            """).run()
    }

    static func updateCarrier(_ c: Carrier, secret: String, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE carriers SET name = \(bind: c.name), account_number = \(bind: c.accountNumber), webhook_secret = \(bind: secret),
                tracking_url_template = \(bind: c.trackingUrlTemplate), services = \(bind: JSONCoding.string(c.services)), active = \(bind: c.active ? 1 : 0),
                version = \(bind: c.version), updated_at = \(bind: c.updatedAt.epochMillis)
            WHERE code = \(bind: c.code)
            """).run()
    }

    static func insert(_ s: Shipment, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO shipments (id, fulfillment_order_id, order_id, location_id, organisation_id, carrier_code, service_code, tracking_number, status,
                parcels, cod_amount, currency, label, last_event_at, delivered_at, version, created_at, updated_at)
            VALUES (\(bind: s.id), \(bind: s.fulfillmentOrderId), \(bind: s.orderId), \(bind: s.locationId), \(bind: s.organisationId), \(bind: s.carrierCode),
                    \(bind: s.serviceCode), \(bind: s.trackingNumber), \(bind: s.status.rawValue), \(bind: JSONCoding.string(s.parcels)), \(bind: s.codAmount),
                    \(bind: s.currency), \(bind: JSONCoding.string(s.label)), \(bind: s.lastEventAt?.epochMillis), \(bind: s.deliveredAt?.epochMillis),
                    \(bind: s.version), \(bind: s.createdAt.epochMillis), \(bind: s.updatedAt.epochMillis))
            """).run()
    }

    static func update(_ s: Shipment, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE shipments SET status = \(bind: s.status.rawValue), last_event_at = \(bind: s.lastEventAt?.epochMillis),
                delivered_at = \(bind: s.deliveredAt?.epochMillis), version = \(bind: s.version), updated_at = \(bind: s.updatedAt.epochMillis)
            WHERE id = \(bind: s.id)
            """).run()
    }

    /// Records an event unless the same (shipment, status, time) is already there; nil when it was.
    static func insertEvent(_ e: TrackingEvent, carrier: String, _ tx: Transaction) async throws -> TrackingEvent? {
        let row = try await tx.sql.raw("""
            INSERT INTO shipment_events (id, shipment_id, carrier_code, tracking_number, status, at, location, description, source, received_at)
            VALUES (\(bind: e.id), \(bind: e.shipmentId), \(bind: carrier), \(bind: e.trackingNumber), \(bind: e.status.rawValue), \(bind: e.at.epochMillis),
                    \(bind: e.location), \(bind: e.description), \(bind: e.source.rawValue), \(bind: e.receivedAt.epochMillis))
            ON CONFLICT (shipment_id, status, at) DO NOTHING
            RETURNING id
            """).first()
        return row == nil ? nil : e
    }

    static func one(_ id: String, _ sql: any SQLDatabase, lock: Bool) async throws -> Shipment? {
        guard let r = try await sql.raw("SELECT * FROM shipments WHERE id = \(bind: id)\(unsafeRaw: lock ? " FOR UPDATE" : "")").first() else { return nil }
        return try await withEvents([try decode(r)], sql)[0]
    }

    /// Shipments by tracking number, locked in id order (the order every writer takes them in).
    static func byTracking(_ numbers: [String], _ tx: Transaction) async throws -> [String: Shipment] {
        guard !numbers.isEmpty else { return [:] }
        var q: SQLQueryString = "SELECT * FROM shipments WHERE tracking_number IN ("
        for (i, n) in numbers.enumerated() {
            if i > 0 { q += ", " }
            q += "\(bind: n)"
        }
        q += ") ORDER BY id\(unsafeRaw: tx.engine == .postgres ? " FOR UPDATE" : "")"
        let rows = try await tx.sql.raw(q).all().map(decode)
        return Dictionary(try await withEvents(rows, tx.sql).map { ($0.trackingNumber, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func trackingNumberTaken(_ n: String, _ sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("SELECT id FROM shipments WHERE tracking_number = \(bind: n)").first() != nil
    }

    /// Fills in each shipment's events, oldest first, with one query.
    static func withEvents(_ shipments: [Shipment], _ sql: any SQLDatabase) async throws -> [Shipment] {
        guard !shipments.isEmpty else { return [] }
        var q: SQLQueryString = "SELECT * FROM shipment_events WHERE shipment_id IN ("
        for (i, s) in shipments.enumerated() {
            if i > 0 { q += ", " }
            q += "\(bind: s.id)"
        }
        q += ") ORDER BY at, id"
        let events = Dictionary(grouping: try await sql.raw(q).all().map(decodeEvent), by: \.shipmentId)
        return shipments.map { s in
            var s = s
            s.events = events[s.id] ?? []
            return s
        }
    }

    static func decode(_ r: any SQLRow) throws -> Shipment {
        let time = { (c: String) throws -> Date? in try r.decode(column: c, as: Int64?.self).map(Date.init(epochMillis:)) }
        let tracking = try r.decode(column: "tracking_number", as: String.self)
        let label = try ShipmentRows.json(ShipmentLabel.self, try r.decode(column: "label", as: String.self))
        return Shipment(
            id: try r.decode(column: "id", as: String.self), fulfillmentOrderId: try r.decode(column: "fulfillment_order_id", as: String.self),
            orderId: try r.decode(column: "order_id", as: String.self), locationId: try r.decode(column: "location_id", as: String.self),
            organisationId: try r.decode(column: "organisation_id", as: String.self), carrierCode: try r.decode(column: "carrier_code", as: String.self),
            serviceCode: try r.decode(column: "service_code", as: String.self), trackingNumber: tracking, trackingUrl: nil,
            status: ShipmentStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .created,
            parcels: try ShipmentRows.json([Parcel].self, try r.decode(column: "parcels", as: String.self)),
            codAmount: try r.decode(column: "cod_amount", as: Int64.self), currency: try r.decode(column: "currency", as: String.self), label: label,
            events: [], lastEventAt: try time("last_event_at"), deliveredAt: try time("delivered_at"), version: try r.decode(column: "version", as: Int.self),
            createdAt: try time("created_at")!, updatedAt: try time("updated_at")!)
    }

    static func decodeEvent(_ r: any SQLRow) throws -> TrackingEvent {
        TrackingEvent(id: try r.decode(column: "id", as: String.self), shipmentId: try r.decode(column: "shipment_id", as: String.self),
                      trackingNumber: try r.decode(column: "tracking_number", as: String.self),
                      status: ShipmentStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .inTransit,
                      at: Date(epochMillis: try r.decode(column: "at", as: Int64.self)), location: try r.decode(column: "location", as: String?.self),
                      description: try r.decode(column: "description", as: String?.self),
                      source: TrackingEvent.Source(rawValue: try r.decode(column: "source", as: String.self)) ?? .webhook,
                      receivedAt: Date(epochMillis: try r.decode(column: "received_at", as: Int64.self)))
    }
}
