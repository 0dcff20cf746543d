import Foundation
import O2OCatalog
import O2OCore
import O2OMembers
import O2ONetwork
import O2OOrders
import SQLKit

// MARK: - Carriers: accounts, service levels, the secret their tracking webhooks are signed with

extension FulfillmentService {
    public struct NewCarrier: Sendable {
        public var code: String
        public var name: String
        public var kind: CarrierKind
        public var accountNumber: String?
        /// Generated when not given; returned once, at creation.
        public var webhookSecret: String?
        public var trackingUrlTemplate: String?
        public var services: [CarrierService]
        public init(code: String, name: String, kind: CarrierKind, accountNumber: String? = nil, webhookSecret: String? = nil,
                    trackingUrlTemplate: String? = nil, services: [CarrierService]) {
            self.code = code
            self.name = name
            self.kind = kind
            self.accountNumber = accountNumber
            self.webhookSecret = webhookSecret
            self.trackingUrlTemplate = trackingUrlTemplate
            self.services = services
        }
    }

    public struct CarrierPatch: Sendable {
        public var name: String?
        public var accountNumber: String?
        public var webhookSecret: String?
        public var trackingUrlTemplate: String?
        /// Replaces the service levels when given.
        public var services: [CarrierService]?
        public var active: Bool?
        public init() {}
    }

    public func carriers() async throws -> [Carrier] {
        try await db.read { try await $0.raw("SELECT * FROM carriers ORDER BY code").all().map(ShipmentRows.decodeCarrier) }
    }

    public func carrier(_ code: String) async throws -> Carrier {
        guard let c = try await db.read({ try await ShipmentRows.carrier(code, $0) }) else { throw Problem.notFound("carrier", code) }
        return c.0
    }

    /// Returns the carrier and its webhook secret (given, or generated). 409 when the code is taken.
    public func createCarrier(_ n: NewCarrier, caller: Caller) async throws -> (carrier: Carrier, webhookSecret: String) {
        var v = Validator()
        v.code(n.code, "code", max: 20)
        v.text(n.name, "name", max: 100)
        Self.checkCarrier(&v, accountNumber: n.accountNumber, secret: n.webhookSecret, template: n.trackingUrlTemplate, services: n.services)
        if n.services.isEmpty { v.add("services", "name at least one service level") }
        try v.finish()
        let now = clock.instant()
        let secret = n.webhookSecret ?? Secrets.token(prefix: "whsec_", bytes: 24)
        let c = Carrier(code: n.code.uppercased(), name: n.name, kind: n.kind, accountNumber: n.accountNumber, trackingUrlTemplate: n.trackingUrlTemplate,
                        services: n.services, active: true, version: 1, createdAt: now, updatedAt: now)
        return try await db.write { tx in
            if try await ShipmentRows.carrier(c.code, tx.sql) != nil { throw Problem.duplicate([.init("code", "carrier \(c.code) exists")]) }
            try await ShipmentRows.insertCarrier(c, secret: secret, tx)
            try await self.recorder.record(tx, caller: caller, action: "create", entityType: "carrier", entityId: c.code, before: Carrier?.none, after: c,
                                           organisationId: nil, locationId: nil, event: "carrier.created")
            return (c, secret)
        }
    }

    public func updateCarrier(_ code: String, _ p: CarrierPatch, caller: Caller) async throws -> Carrier {
        var v = Validator()
        v.text(p.name, "name", required: false, max: 100)
        Self.checkCarrier(&v, accountNumber: p.accountNumber, secret: p.webhookSecret, template: p.trackingUrlTemplate, services: p.services ?? [])
        if p.services?.isEmpty == true { v.add("services", "name at least one service level") }
        try v.finish()
        return try await db.write { tx in
            guard let found = try await ShipmentRows.carrier(code.uppercased(), tx.sql) else { throw Problem.notFound("carrier", code) }
            let (before, oldSecret) = found
            var c = before
            if let x = p.name { c.name = x }
            if let x = p.accountNumber { c.accountNumber = x }
            if let x = p.trackingUrlTemplate { c.trackingUrlTemplate = x }
            if let x = p.services { c.services = x }
            if let x = p.active { c.active = x }
            c.version += 1
            c.updatedAt = self.clock.instant()
            try await ShipmentRows.updateCarrier(c, secret: p.webhookSecret ?? oldSecret, tx)
            try await self.recorder.record(tx, caller: caller, action: "update", entityType: "carrier", entityId: c.code, before: before, after: c,
                                           organisationId: nil, locationId: nil, event: "carrier.updated")
            return c
        }
    }

    static func checkCarrier(_ v: inout Validator, accountNumber: String?, secret: String?, template: String?, services: [CarrierService]) {
        v.text(accountNumber, "accountNumber", required: false, max: 60)
        if let secret { v.check(secret.count >= 16 && secret.count <= 200, "webhookSecret", "must be 16 to 200 characters") }
        v.text(template, "trackingUrlTemplate", required: false, max: 300)
        if let t = template { v.check(t.hasPrefix("https://") || t.hasPrefix("http://"), "trackingUrlTemplate", "must be an http(s) URL") }
        for (i, s) in services.enumerated() {
            v.code(s.code, "services[\(i)].code", max: 20)
            v.text(s.name, "services[\(i)].name", max: 100)
            v.range(s.transitDays, "services[\(i)].transitDays", 0...60)
        }
        v.check(Set(services.map(\.code)).count == services.count, "services", "service codes must be distinct")
    }
}

// MARK: - Shipments: a packed fulfilment order handed to a carrier, with its label

extension FulfillmentService {
    public struct NewShipment: Sendable {
        public var fulfillmentOrderId: String
        public var carrier: String
        public var service: String
        public var parcels: [Parcel]
        /// The carrier's own number when it issued one; else one is made in the carrier's format.
        public var trackingNumber: String?
        public init(fulfillmentOrderId: String, carrier: String, service: String, parcels: [Parcel], trackingNumber: String? = nil) {
            self.fulfillmentOrderId = fulfillmentOrderId
            self.carrier = carrier
            self.service = service
            self.parcels = parcels
            self.trackingNumber = trackingNumber
        }
    }

    public struct ShipmentFilter: Sendable {
        public var orderId: String?
        public var trackingNumber: String?
        public var status: ShipmentStatus?
        public var carrier: String?
        public var limit = 50
        public var cursor: String?
        public init(orderId: String? = nil, trackingNumber: String? = nil, status: ShipmentStatus? = nil, carrier: String? = nil) {
            self.orderId = orderId
            self.trackingNumber = trackingNumber
            self.status = status
            self.carrier = carrier
        }
    }

    /// Ships a picking or packed fulfilment order with a carrier: the fulfilment order moves to
    /// shipped by its own transition (the order ships, its held stock becomes a sale), and the
    /// shipment keeps the parcels, the tracking number and the label. A 3PL gets
    /// `shipment.handed_over` with everything it needs. 404 outside the caller's scope; 409
    /// before picking or when it is not a carrier delivery; 422 for an unknown carrier or
    /// service, a bad parcel, a taken tracking number, or cash on delivery on a service without it.
    public func createShipment(_ n: NewShipment, caller: Caller) async throws -> Shipment {
        var v = Validator()
        v.check((1...50).contains(n.parcels.count), "parcels", "name 1 to 50 parcels")
        for (i, p) in n.parcels.enumerated() {
            v.check((1...100_000).contains(p.weightGrams), "parcels[\(i)].weightGrams", "must be more than 0 grams and at most 100 kg")
            for (name, d) in [("lengthMm", p.lengthMm), ("widthMm", p.widthMm), ("heightMm", p.heightMm)] {
                if let d { v.check(d > 0 && d <= 5_000, "parcels[\(i)].\(name)", "must be between 1 and 5000") }
            }
        }
        if let t = n.trackingNumber { v.code(t, "trackingNumber", max: 40) }
        try v.finish()
        return try await db.write { tx in
            guard let carrier = try await ShipmentRows.carrier(n.carrier.uppercased(), tx.sql)?.0, carrier.active else {
                throw Problem.validation([.init("carrier", "no active carrier '\(n.carrier)'")])
            }
            guard let service = carrier.service(n.service) else {
                throw Problem.validation([.init("service", "\(carrier.code) has no service '\(n.service)'; it has \(carrier.services.map(\.code).joined(separator: ", "))")])
            }
            let f = try await self.locked(n.fulfillmentOrderId, caller: caller, tx)
            guard [.picking, .packed].contains(f.status) else { throw Self.invalid(f, to: FulfillmentStatus.shipped.rawValue) }
            let order = try await self.orders.order(f.orderId, scope: .all)
            let cod = order.payments.filter { $0.tender == .cod }.reduce(Int64(0)) { $0 + max(0, $1.amount - $1.captured) }
            if cod > 0 && !service.codSupported {
                throw Problem.validation([.init("service", "\(carrier.code) \(service.code) does not collect cash on delivery; this order has \(cod) due")])
            }
            let tracking: String
            if let given = n.trackingNumber {
                if try await ShipmentRows.trackingNumberTaken(given, tx.sql) {
                    throw Problem.validation([.init("trackingNumber", "tracking number \(given) is already on a shipment")])
                }
                tracking = given
            } else {
                var made = carrier.newTrackingNumber()
                while try await ShipmentRows.trackingNumberTaken(made, tx.sql) { made = carrier.newTrackingNumber() }
                tracking = made
            }
            // The one way to ship: the fulfilment order's own transition moves the order and its stock.
            _ = try await self.transition(f.id, to: .shipped, note: "\(carrier.name) \(tracking)", caller: caller)
            let now = self.clock.instant()
            let label = try await self.label(order: order, at: f.locationId, carrier: carrier, service: service, tracking: tracking,
                                             parcels: n.parcels, cod: cod, now: now)
            let s = Shipment(id: O2OID.make("shp", at: now), fulfillmentOrderId: f.id, orderId: f.orderId, locationId: f.locationId,
                             organisationId: f.organisationId, carrierCode: carrier.code, serviceCode: service.code, trackingNumber: tracking,
                             trackingUrl: carrier.trackingUrl(tracking), status: .created, parcels: n.parcels, codAmount: cod, currency: order.currency,
                             label: label, events: [], lastEventAt: nil, deliveredAt: nil, version: 1, createdAt: now, updatedAt: now)
            try await ShipmentRows.insert(s, tx)
            try await self.recorder.record(tx, caller: caller, action: "create", entityType: "shipment", entityId: s.id, before: Shipment?.none, after: s,
                                           organisationId: s.organisationId, locationId: s.locationId, event: "shipment.created")
            if carrier.kind == .thirdPartyLogistics {
                let a = order.address
                let handover = ShipmentHandover(
                    shipment: s, carrierAccountNumber: carrier.accountNumber,
                    lines: f.lines.map { .init(skuId: $0.skuId, skuCode: $0.skuCode, quantity: $0.quantity) },
                    recipientName: a?.name ?? "", recipientPhone: a?.phone ?? order.contactPhone ?? "", address: a?.line1 ?? "", postalCode: a?.postalCode)
                try await Outbox.enqueue(tx, DomainEvent(type: "shipment.handed_over", entityType: "shipment", entityId: s.id,
                                                         payload: JSONCoding.string(handover), organisationId: s.organisationId,
                                                         locationId: s.locationId), at: now)
            }
            return s
        }
    }

    public func shipment(_ id: String, scope: Scope) async throws -> Shipment {
        guard let s = try await db.read({ try await ShipmentRows.one(id, $0, lock: false) }),
              scope.allows(organisationId: s.organisationId, locationId: s.locationId) else {
            throw Problem.notFound("shipment", id)
        }
        return try await withTrackingUrls([s])[0]
    }

    /// Newest first, within the caller's scope, each with its events.
    public func shipments(_ f: ShipmentFilter, scope: Scope) async throws -> Page<Shipment> {
        var v = Validator()
        v.range(f.limit, "limit", 1...200)
        try v.finish()
        var q: SQLQueryString = "SELECT * FROM shipments WHERE 1=1"
        if let o = f.orderId { q += " AND order_id = \(bind: o)" }
        if let t = f.trackingNumber { q += " AND tracking_number = \(bind: t)" }
        if let s = f.status { q += " AND status = \(bind: s.rawValue)" }
        if let c = f.carrier { q += " AND carrier_code = \(bind: c.uppercased())" }
        switch scope.level {
        case .all: break
        case .organisation: q += " AND organisation_id = \(bind: scope.organisationId ?? "")"
        case .location: q += " AND location_id = \(bind: scope.locationId ?? "")"
        }
        let page = try await db.page(q, limit: f.limit, cursor: f.cursor, order: .newestFirst, map: ShipmentRows.decode, id: \.id)
        let items = try await withTrackingUrls(try await db.read { try await ShipmentRows.withEvents(page.items, $0) })
        return Page(items: items, nextCursor: page.nextCursor)
    }

    func withTrackingUrls(_ shipments: [Shipment]) async throws -> [Shipment] {
        let carriers = Dictionary(try await carriers().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        return shipments.map { s in
            var s = s
            s.trackingUrl = carriers[s.carrierCode]?.trackingUrl(s.trackingNumber)
            return s
        }
    }

    func label(order: Order, at locationId: String, carrier: Carrier, service: CarrierService, tracking: String, parcels: [Parcel], cod: Int64,
               now: Date) async throws -> ShipmentLabel {
        let from = try await network.location(locationId, scope: .all)
        let org = try? await network.organisation(from.organisationId, scope: .all)
        let a = from.address
        let fromAddress = [a.provinceName, a.cityName, a.districtName, a.line1].compactMap { $0 }.joined(separator: " ")
        let to = order.address
        let phone = to?.phone ?? order.contactPhone
        return ShipmentLabel(
            trackingNumber: tracking, barcode: tracking, barcodeSymbology: "code128", carrierCode: carrier.code, carrierName: carrier.name,
            serviceCode: service.code, serviceName: service.name,
            shipFrom: .init(name: from.name, phone: org?.contactPhone, address: fromAddress),
            shipTo: .init(name: to?.name ?? "", phone: phone.map(PhoneNumber.mask), address: [to?.line1, to?.postalCode].compactMap { $0 }.joined(separator: " ")),
            parcels: parcels.enumerated().map { .init(n: $0.offset + 1, of: parcels.count, weightGrams: $0.element.weightGrams) },
            totalWeightGrams: parcels.reduce(0) { $0 + $1.weightGrams }, codAmount: cod, currency: order.currency, orderId: order.id, printedAt: now)
    }
}

// MARK: - Tracking events: by the carrier's signed webhook or a CSV upload

extension FulfillmentService {
    public struct IncomingTrackingEvent: Sendable, Equatable {
        public var trackingNumber: String
        public var status: String
        public var at: Date?
        public var location: String?
        public var description: String?
        public init(trackingNumber: String, status: String, at: Date?, location: String? = nil, description: String? = nil) {
            self.trackingNumber = trackingNumber
            self.status = status
            self.at = at
            self.location = location
            self.description = description
        }
    }

    public struct TrackingResult: Sendable, Equatable {
        public var received: Int
        /// New events recorded; the rest were already there.
        public var recorded: [TrackingEvent]
        public var duplicates: Int
    }

    /// The header a carrier's tracking webhook carries: the base64 of HMAC-SHA256 over the raw
    /// body, keyed by the carrier's webhook secret.
    public static let trackingSignatureHeader = "X-Carrier-Signature"

    /// A carrier's signed webhook: `{"events":[{trackingNumber, status, at, location?, description?}]}`.
    /// 401 unless the signature matches the body; 404 for an unknown carrier; 422 (nothing
    /// written) when any event is bad or names a tracking number that is not this carrier's.
    public func receiveTrackingWebhook(carrier code: String, body: Data, signature: String?, requestId: String?) async throws -> TrackingResult {
        guard let found = try await db.read({ try await ShipmentRows.carrier(code.uppercased(), $0) }) else { throw Problem.notFound("carrier", code) }
        let (carrier, secret) = found
        guard let signature, ShopifyAdapter.verifyWebhook(body: body, hmacHeader: signature, secret: secret) else {
            throw Problem.unauthorized("The \(Self.trackingSignatureHeader) signature does not match the body.")
        }
        struct Body: Decodable {
            struct Event: Decodable {
                var trackingNumber: String
                var status: String
                var at: String
                var location: String?
                var description: String?
            }
            var events: [Event]
        }
        guard let parsed = try? JSONDecoder().decode(Body.self, from: body) else {
            throw Problem.malformed("Expected {\"events\":[{\"trackingNumber\",\"status\",\"at\",…}]}.")
        }
        let events = parsed.events.map { IncomingTrackingEvent(trackingNumber: $0.trackingNumber, status: $0.status, at: CatalogImporter.date($0.at),
                                                                location: $0.location, description: $0.description) }
        let caller = Caller(Principal(id: "carrier_" + carrier.code, kind: .system, name: "\(carrier.name) tracking", role: .integration, scope: .all),
                            requestId: requestId)
        return try await record(events.enumerated().map { ($0.offset, $0.element) }, carrier: carrier.code, source: .webhook, caller: caller) { i, field in
            "events[\(i)].\(field)"
        }
    }

    /// A CSV of tracking events (`tracking_number,status,at,location,description`, header first),
    /// all or nothing: any bad row → 422 (…/import-rejected) listing every bad line, nothing written.
    public func importTrackingEvents(csv text: String, caller: Caller) async throws -> TrackingResult {
        let records: [CSV.Record]
        do { records = try CSV.parse(text) } catch {
            switch error {
            case .unterminatedQuote(let line): throw CatalogImporter.problem([.init("csv", "a quoted field is never closed", line: line)], total: 1)
            case .textAfterQuote(let line): throw CatalogImporter.problem([.init("csv", "text after a closing quote", line: line)], total: 1)
            }
        }
        let columns = ["tracking_number", "status", "at", "location", "description"]
        guard let header = records.first else { throw CatalogImporter.problem([.init("csv", "the file is empty", line: 1)], total: 1) }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let missing = columns.prefix(3).filter { !names.contains($0) }
        if !missing.isEmpty {
            throw CatalogImporter.problem([.init("header", "missing column(s) \(missing.joined(separator: ", ")); expected \(columns.joined(separator: ","))",
                                                 line: header.line)], total: 1)
        }
        let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let rows = records.dropFirst().map { r -> (Int, IncomingTrackingEvent) in
            func field(_ c: String) -> String? {
                guard let i = index[c], i < r.fields.count else { return nil }
                let t = r.fields[i].trimmingCharacters(in: .whitespaces)
                return t.isEmpty ? nil : t
            }
            return (r.line, IncomingTrackingEvent(trackingNumber: field("tracking_number") ?? "", status: field("status") ?? "",
                                                  at: field("at").flatMap(CatalogImporter.date), location: field("location"), description: field("description")))
        }
        return try await record(rows, carrier: nil, source: .fileImport, caller: caller) { _, field in
            ["trackingNumber": "tracking_number"][field] ?? field
        }
    }

    /// Checks every event first (a known tracking number within the caller's scope, of the
    /// carrier when one is named; a tracked status; a time), then records the new ones in one
    /// transaction: the shipment takes the status of its latest event; `delivered` delivers the
    /// fulfilment order by its own transition, and with it the order. A repeated event (same
    /// shipment, status and time) is ignored, also when two deliveries of it race.
    func record(_ events: [(Int, IncomingTrackingEvent)], carrier: String?, source: TrackingEvent.Source, caller: Caller,
                field: @escaping @Sendable (Int, String) -> String) async throws -> TrackingResult {
        let isImport = source == .fileImport
        var errors: [Problem.FieldError] = []
        func bad(_ key: Int, _ f: String, _ message: String) {
            errors.append(isImport ? .init(field(key, f), message, line: key) : .init(field(key, f), message))
        }
        if events.isEmpty { errors.append(.init(isImport ? "csv" : "events", "no events", line: isImport ? 2 : nil)) }
        for (key, e) in events {
            if e.trackingNumber.isEmpty { bad(key, "trackingNumber", "is required") }
            if ShipmentStatus(rawValue: e.status).map({ ShipmentStatus.tracked.contains($0) }) != true {
                bad(key, "status", "must be one of \(ShipmentStatus.tracked.map(\.rawValue).joined(separator: ", "))")
            }
            if e.at == nil { bad(key, "at", "must be an ISO 8601 time such as 2026-12-01T09:30:00+08:00") }
            if let l = e.location, l.count > 200 { bad(key, "location", "must be at most 200 characters") }
            if let d = e.description, d.count > 500 { bad(key, "description", "must be at most 500 characters") }
        }
        let scope = caller.principal.scope
        let now = clock.instant()
        let checked = errors
        return try await db.write { tx in
            var errors = checked
            let numbers = Array(Set(events.map(\.1.trackingNumber).filter { !$0.isEmpty })).sorted()
            var shipments = try await ShipmentRows.byTracking(numbers, tx)
            for (key, e) in events where !e.trackingNumber.isEmpty {
                guard let s = shipments[e.trackingNumber], scope.allows(organisationId: s.organisationId, locationId: s.locationId),
                      carrier == nil || s.carrierCode == carrier else {
                    let message = "no shipment has tracking number \(e.trackingNumber)" + (carrier.map { " with \($0)" } ?? "")
                    errors.append(isImport ? .init(field(key, "trackingNumber"), message, line: key) : .init(field(key, "trackingNumber"), message))
                    continue
                }
            }
            if !errors.isEmpty {
                errors.sort { ($0.line ?? 0) < ($1.line ?? 0) }
                throw isImport ? CatalogImporter.problem(errors, total: errors.count)
                    : Problem.validation(errors, detail: "Nothing was recorded: fix the events and send them again.")
            }
            var recorded: [TrackingEvent] = []
            for (_, e) in events.sorted(by: { ($0.1.at!, $0.1.trackingNumber) < ($1.1.at!, $1.1.trackingNumber) }) {
                var s = shipments[e.trackingNumber]!
                let event = TrackingEvent(id: O2OID.make("tev", at: now), shipmentId: s.id, trackingNumber: s.trackingNumber,
                                          status: ShipmentStatus(rawValue: e.status)!, at: e.at!, location: e.location, description: e.description,
                                          source: source, receivedAt: now)
                guard let new = try await ShipmentRows.insertEvent(event, carrier: s.carrierCode, tx) else { continue }
                recorded.append(new)
                let before = s
                s.events.append(new)
                if s.status != .delivered && (s.lastEventAt.map({ new.at >= $0 }) ?? true || new.status == .delivered) {
                    s.status = new.status
                    if new.status == .delivered { s.deliveredAt = new.at }
                }
                s.lastEventAt = max(s.lastEventAt ?? new.at, new.at)
                s.version += 1
                s.updatedAt = now
                try await ShipmentRows.update(s, tx)
                try await self.recorder.record(tx, caller: caller, action: "track", entityType: "shipment", entityId: s.id, before: before, after: s,
                                               organisationId: s.organisationId, locationId: s.locationId, event: "shipment.tracking_updated")
                if s.status == .delivered && before.status != .delivered,
                   let f = try await FulfillmentRows.one(s.fulfillmentOrderId, tx.sql, lock: false), f.status.next.contains(.delivered) {
                    _ = try await self.transition(f.id, to: .delivered, note: "delivered per \(s.carrierCode) tracking \(s.trackingNumber)",
                                                  caller: caller)
                }
                shipments[e.trackingNumber] = s
            }
            return TrackingResult(received: events.count, recorded: recorded, duplicates: events.count - recorded.count)
        }
    }
}
