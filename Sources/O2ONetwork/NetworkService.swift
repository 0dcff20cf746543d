import Foundation
import O2OCore
import SQLKit

/// Organisations and locations (warehouses, stores): the network every other module works on.
/// Every read takes the caller's scope; every change is validated first, then written with its
/// audit row and domain event in one transaction.
public struct NetworkService: Sendable {
    public let db: Database
    public let clock: any O2OClock
    let recorder: ChangeRecorder

    public init(db: Database, clock: any O2OClock) {
        self.db = db
        self.clock = clock
        self.recorder = ChangeRecorder(clock: clock)
    }

    /// The HQ organisation every direct-run location belongs to; created by the first migration.
    public static let hqOrganisationId = "org_hq"

    // MARK: Organisations

    public func createOrganisation(code: String, name: String, kind: OrganisationKind, contactPhone: String?, caller: Caller) async throws -> Organisation {
        var v = Validator()
        v.code(code, "code")
        v.text(name, "name", max: 200)
        v.text(contactPhone, "contactPhone", required: false, max: 40)
        if kind == .hq { v.add("kind", "there is one HQ organisation; create franchisees or suppliers") }
        try v.finish()
        let now = clock.instant()
        let org = Organisation(id: O2OID.make("org", at: now), code: code, name: name, kind: kind, status: "active",
                               contactPhone: contactPhone, createdAt: now, updatedAt: now)
        do {
            try await db.write { tx in
                try await tx.sql.raw("""
                    INSERT INTO organisations (id, code, name, kind, status, contact_phone, created_at, updated_at)
                    VALUES (\(bind: org.id), \(bind: code), \(bind: name), \(bind: kind.rawValue), 'active', \(bind: contactPhone),
                            \(bind: now.epochMillis), \(bind: now.epochMillis))
                    """).run()
                try await recorder.record(tx, caller: caller, action: "create", entityType: "organisation", entityId: org.id,
                                          before: Organisation?.none, after: org, organisationId: org.id, locationId: nil,
                                          event: "organisation.created")
            }
        } catch where Database.classify(error) == .uniqueViolation {
            throw Problem.conflict("An organisation with code '\(code)' already exists.", kind: "duplicate")
        }
        return org
    }

    public func organisation(_ id: String, scope: Scope) async throws -> Organisation {
        let row = try await db.read { try await $0.raw("SELECT * FROM organisations WHERE id = \(bind: id)").first() }
        guard let row else { throw Problem.notFound("organisation", id) }
        let org = try Self.organisation(row)
        guard scope.level == .all || scope.organisationId == org.id else { throw Problem.notFound("organisation", id) }
        return org
    }

    public func organisations(kind: OrganisationKind?, scope: Scope, limit: Int, cursor: String?) async throws -> Page<Organisation> {
        var q: SQLQueryString = "SELECT * FROM organisations WHERE 1=1"
        if let kind { q += " AND kind = \(bind: kind.rawValue)" }
        if scope.level != .all { q += " AND id = \(bind: scope.organisationId ?? "")" }
        return try await db.page(q, limit: limit, cursor: cursor, map: Self.organisation, id: \.id)
    }

    // MARK: Locations

    public func createLocation(_ new: NewLocation, caller: Caller) async throws -> Location {
        var v = Validator()
        v.code(new.code, "code")
        v.text(new.name, "name", max: 200)
        Self.validate(address: new.address, &v)
        Self.validate(coordinates: new.coordinates, &v)
        if let tz = new.timeZone, TimeZone(identifier: tz) == nil { v.add("timeZone", "unknown IANA time zone '\(tz)'") }
        v.currency(new.currency, "currency")
        if let hours = new.openingHours { Self.validate(hours: hours, &v) }
        if let caps = new.capabilities { Self.validate(capabilities: caps, kind: new.kind, &v) }
        v.range(new.dailyCapacity, "dailyCapacity", 0...1_000_000)
        v.range(new.priority, "priority", 0...1000)
        let ownership = new.ownership ?? (new.organisationId == nil || new.organisationId == Self.hqOrganisationId ? .direct : .franchise)
        let orgId = new.organisationId ?? Self.hqOrganisationId
        if new.kind.isWarehouse && ownership == .franchise { v.add("ownership", "warehouses are run directly by HQ") }
        if ownership == .franchise && orgId == Self.hqOrganisationId { v.add("organisationId", "a franchise store must name its franchisee") }
        if ownership == .direct && orgId != Self.hqOrganisationId { v.add("ownership", "a location owned by a franchisee is a franchise location") }
        try v.finish()

        let now = clock.instant()
        let location = Location(
            id: O2OID.make("loc", at: now), code: new.code, name: new.name, kind: new.kind, ownership: ownership,
            organisationId: orgId, address: new.address, coordinates: new.coordinates,
            timeZone: new.timeZone ?? "Asia/Shanghai", currency: new.currency ?? "CNY",
            openingHours: new.openingHours ?? (new.kind == .store ? OpeningHours.daily("10:00", "22:00") : OpeningHours.daily("00:00", "24:00")),
            capabilities: new.capabilities ?? (new.kind == .store ? Capabilities(pickup: true, acceptsReturns: true) : .warehouse),
            dailyCapacity: new.dailyCapacity ?? (new.kind == .store ? 100 : 10_000), priority: new.priority ?? 0,
            status: .active, version: 1, createdAt: now, updatedAt: now)
        do {
            try await db.write { tx in
                let org = try await tx.sql.raw("SELECT kind FROM organisations WHERE id = \(bind: orgId)").first()
                guard let org else {
                    throw Problem.validation([.init("organisationId", "no organisation '\(orgId)'")])
                }
                if ownership == .franchise, try org.decode(column: "kind", as: String.self) != OrganisationKind.franchisee.rawValue {
                    throw Problem.validation([.init("organisationId", "'\(orgId)' is not a franchisee")])
                }
                try await Self.insert(location, tx)
                try await recorder.record(tx, caller: caller, action: "create", entityType: "location", entityId: location.id,
                                          before: Location?.none, after: location, organisationId: location.organisationId,
                                          locationId: location.id, event: "location.created")
            }
        } catch where Database.classify(error) == .uniqueViolation {
            throw Problem.conflict("A location with code '\(new.code)' already exists.", kind: "duplicate")
        }
        return location
    }

    /// A location in scope, or 404: an id outside the caller's scope is answered as if it did not exist.
    /// A location by its id or its code.
    public func location(_ id: String, scope: Scope) async throws -> Location {
        let row = try await db.read { try await $0.raw("SELECT * FROM locations WHERE id = \(bind: id) OR code = \(bind: id)").first() }
        guard let row else { throw Problem.notFound("location", id) }
        let location = try Self.location(row)
        guard scope.allows(organisationId: location.organisationId, locationId: location.id) else {
            throw Problem.notFound("location", id)
        }
        return location
    }

    public func locations(_ f: LocationFilter, scope: Scope) async throws -> Page<Location> {
        var q: SQLQueryString = "SELECT * FROM locations WHERE 1=1"
        if let k = f.kind { q += " AND kind = \(bind: k.rawValue)" }
        if let o = f.organisationId { q += " AND organisation_id = \(bind: o)" }
        if let c = f.cityCode { q += " AND city_code = \(bind: c)" }
        if let t = f.text, !t.isEmpty {
            let like = "%" + t.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            q += " AND (LOWER(code) LIKE \(bind: like) OR LOWER(name) LIKE \(bind: like))"
        }
        q += scope.sqlFilter(organisationColumn: "organisation_id", locationColumn: "id")
        return try await db.page(q, limit: f.limit, cursor: f.cursor, map: Self.location, id: \.id)
    }

    public func updateLocation(_ id: String, _ patch: LocationPatch, caller: Caller) async throws -> Location {
        var v = Validator()
        if let n = patch.name { v.text(n, "name", max: 200) }
        if let a = patch.address { Self.validate(address: a, &v) }
        if let c = patch.coordinates { Self.validate(coordinates: c, &v) }
        if let tz = patch.timeZone, TimeZone(identifier: tz) == nil { v.add("timeZone", "unknown IANA time zone '\(tz)'") }
        if let h = patch.openingHours { Self.validate(hours: h, &v) }
        v.range(patch.dailyCapacity, "dailyCapacity", 0...1_000_000)
        v.range(patch.priority, "priority", 0...1000)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            let lock = tx.engine == .postgres ? " FOR UPDATE" : ""
            guard let row = try await tx.sql.raw("SELECT * FROM locations WHERE id = \(bind: id)\(unsafeRaw: lock)").first() else {
                throw Problem.notFound("location", id)
            }
            let before = try Self.location(row)
            guard caller.principal.scope.allows(organisationId: before.organisationId, locationId: before.id) else {
                throw Problem.notFound("location", id)
            }
            if let expected = patch.expectedVersion, expected != before.version {
                throw Problem.conflict("The location is at version \(before.version), not \(expected).", kind: "version-conflict")
            }
            var after = before
            if let x = patch.name { after.name = x }
            if let x = patch.address { after.address = x }
            if let x = patch.coordinates { after.coordinates = x }
            if let x = patch.timeZone { after.timeZone = x }
            if let x = patch.openingHours { after.openingHours = x }
            if let x = patch.capabilities {
                var cv = Validator()
                Self.validate(capabilities: x, kind: before.kind, &cv)
                try cv.finish()
                after.capabilities = x
            }
            if let x = patch.dailyCapacity { after.dailyCapacity = x }
            if let x = patch.priority { after.priority = x }
            if let x = patch.status { after.status = x }
            if after == before { return before }
            after.version = before.version + 1
            after.updatedAt = now
            try await Self.update(after, tx)
            try await recorder.record(tx, caller: caller, action: "update", entityType: "location", entityId: id,
                                      before: before, after: after, organisationId: after.organisationId, locationId: id,
                                      event: "location.updated")
            return after
        }
    }

    /// Active stores that cover a point, nearest first. For store delivery a store covers a point
    /// within its own delivery radius; for pickup, within `radiusKm` of the customer.
    public func covering(_ point: Coordinates, capability: CoverageCapability, radiusKm: Double?, limit: Int, scope: Scope) async throws -> [CoveringLocation] {
        var v = Validator()
        Self.validate(coordinates: point, &v)
        v.range(radiusKm, "radiusKm", 0...200)
        try v.finish()
        // Prefilter with a bounding box (portable, index-friendly), then measure exactly.
        let maxRadius = capability == .pickup ? (radiusKm ?? 10) : 100
        let dLat = maxRadius / 111.0
        let dLng = maxRadius / max(1, 111.320 * cos(point.lat * .pi / 180))
        let column = capability == .pickup ? "cap_pickup" : "cap_store_delivery"
        var q: SQLQueryString = """
            SELECT * FROM locations WHERE kind = 'store' AND status = 'active' AND \(ident: column) = 1
            AND lat BETWEEN \(bind: point.lat - dLat) AND \(bind: point.lat + dLat)
            AND lng BETWEEN \(bind: point.lng - dLng) AND \(bind: point.lng + dLng)
            """
        q += scope.sqlFilter(organisationColumn: "organisation_id", locationColumn: "id")
        let query = q
        let rows = try await db.read { try await $0.raw(query).all() }
        return try rows.map(Self.location)
            .map { CoveringLocation(location: $0, distanceKm: $0.coordinates.distanceKm(to: point)) }
            .filter { c in
                capability == .pickup ? c.distanceKm <= maxRadius : c.distanceKm <= (c.location.capabilities.deliveryRadiusKm ?? 0)
            }
            .sorted { ($0.distanceKm, $0.location.id) < ($1.distanceKm, $1.location.id) }
            .prefix(limit).map { $0 }
    }

    public func locationCount() async throws -> Int {
        try await db.read { try await $0.raw("SELECT COUNT(*) AS n FROM locations").first()?.decode(column: "n", as: Int.self) ?? 0 }
    }
}

// MARK: - Validation

extension NetworkService {
    static func validate(address a: Address, _ v: inout Validator) {
        v.text(a.line1, "address.line1", max: 200)
        for (field, code) in [("address.provinceCode", a.provinceCode), ("address.cityCode", a.cityCode), ("address.districtCode", a.districtCode)] {
            if !(code.count == 6 && code.allSatisfy({ $0.isASCII && $0.isNumber })) { v.add(field, "must be a 6-digit division code") }
        }
        if a.provinceCode.count == 6, a.cityCode.count == 6, a.cityCode.prefix(2) != a.provinceCode.prefix(2) {
            v.add("address.cityCode", "is not in province \(a.provinceCode)")
        }
        if a.cityCode.count == 6, a.districtCode.count == 6, a.districtCode.prefix(2) != a.cityCode.prefix(2) {
            v.add("address.districtCode", "is not in city \(a.cityCode)")
        }
        v.text(a.provinceName, "address.provinceName", required: false, max: 50)
        v.text(a.cityName, "address.cityName", required: false, max: 50)
        v.text(a.districtName, "address.districtName", required: false, max: 50)
        v.text(a.postalCode, "address.postalCode", required: false, max: 12)
    }

    static func validate(coordinates c: Coordinates, _ v: inout Validator) {
        v.check(c.lat.isFinite && (-90...90).contains(c.lat), "coordinates.lat", "must be between -90 and 90")
        v.check(c.lng.isFinite && (-180...180).contains(c.lng), "coordinates.lng", "must be between -180 and 180")
    }

    static func validate(hours: [OpeningHours], _ v: inout Validator) {
        v.check(hours.count <= 21, "openingHours", "at most 21 entries")
        for (i, h) in hours.enumerated() {
            v.range(h.weekday, "openingHours[\(i)].weekday", 1...7)
            let o = minutes(h.opens), c = minutes(h.closes)
            if o == nil { v.add("openingHours[\(i)].opens", "must be HH:MM") }
            if c == nil { v.add("openingHours[\(i)].closes", "must be HH:MM") }
            if let o, let c, c <= o { v.add("openingHours[\(i)].closes", "must be after opens") }
        }
    }

    static func minutes(_ hhmm: String) -> Int? {
        let parts = hhmm.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
              (0...24).contains(h), (0...59).contains(m), h < 24 || m == 0 else { return nil }
        return h * 60 + m
    }

    static func validate(capabilities c: Capabilities, kind: LocationKind, _ v: inout Validator) {
        if c.storeDelivery {
            if let r = c.deliveryRadiusKm {
                v.check(r.isFinite && r > 0 && r <= 100, "capabilities.deliveryRadiusKm", "must be above 0 and at most 100")
            } else {
                v.add("capabilities.deliveryRadiusKm", "is required when storeDelivery is on")
            }
        } else if let r = c.deliveryRadiusKm, !(r.isFinite && r >= 0 && r <= 100) {
            v.add("capabilities.deliveryRadiusKm", "must be between 0 and 100")
        }
        if kind.isWarehouse && (c.pickup || c.storeDelivery) {
            v.add("capabilities", "pickup and store delivery are store capabilities")
        }
    }
}

// MARK: - Rows

extension NetworkService {
    static func insert(_ l: Location, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            INSERT INTO locations (id, code, name, kind, ownership, organisation_id, address_line1, province_code, province_name,
                city_code, city_name, district_code, district_name, postal_code, lat, lng, time_zone, opening_hours,
                cap_pickup, cap_ship_from_store, cap_store_delivery, delivery_radius_km, cap_accepts_returns,
                daily_capacity, priority, status, version, created_at, updated_at, currency)
            VALUES (\(bind: l.id), \(bind: l.code), \(bind: l.name), \(bind: l.kind.rawValue), \(bind: l.ownership.rawValue),
                \(bind: l.organisationId), \(bind: l.address.line1), \(bind: l.address.provinceCode), \(bind: l.address.provinceName),
                \(bind: l.address.cityCode), \(bind: l.address.cityName), \(bind: l.address.districtCode), \(bind: l.address.districtName),
                \(bind: l.address.postalCode), \(bind: l.coordinates.lat), \(bind: l.coordinates.lng), \(bind: l.timeZone),
                \(bind: OpeningHours.column(l.openingHours)), \(bind: l.capabilities.pickup ? 1 : 0), \(bind: l.capabilities.shipFromStore ? 1 : 0),
                \(bind: l.capabilities.storeDelivery ? 1 : 0), \(bind: l.capabilities.deliveryRadiusKm), \(bind: l.capabilities.acceptsReturns ? 1 : 0),
                \(bind: l.dailyCapacity), \(bind: l.priority), \(bind: l.status.rawValue), \(bind: l.version),
                \(bind: l.createdAt.epochMillis), \(bind: l.updatedAt.epochMillis), \(bind: l.currency))
            """).run()
    }

    static func update(_ l: Location, _ tx: Transaction) async throws {
        try await tx.sql.raw("""
            UPDATE locations SET name = \(bind: l.name), address_line1 = \(bind: l.address.line1),
                province_code = \(bind: l.address.provinceCode), province_name = \(bind: l.address.provinceName),
                city_code = \(bind: l.address.cityCode), city_name = \(bind: l.address.cityName),
                district_code = \(bind: l.address.districtCode), district_name = \(bind: l.address.districtName),
                postal_code = \(bind: l.address.postalCode), lat = \(bind: l.coordinates.lat), lng = \(bind: l.coordinates.lng),
                time_zone = \(bind: l.timeZone), opening_hours = \(bind: OpeningHours.column(l.openingHours)),
                cap_pickup = \(bind: l.capabilities.pickup ? 1 : 0), cap_ship_from_store = \(bind: l.capabilities.shipFromStore ? 1 : 0),
                cap_store_delivery = \(bind: l.capabilities.storeDelivery ? 1 : 0), delivery_radius_km = \(bind: l.capabilities.deliveryRadiusKm),
                cap_accepts_returns = \(bind: l.capabilities.acceptsReturns ? 1 : 0), daily_capacity = \(bind: l.dailyCapacity),
                priority = \(bind: l.priority), status = \(bind: l.status.rawValue), version = \(bind: l.version),
                updated_at = \(bind: l.updatedAt.epochMillis)
            WHERE id = \(bind: l.id)
            """).run()
    }

    static func location(_ r: any SQLRow) throws -> Location {
        let hours = OpeningHours.list(fromColumn: try r.decode(column: "opening_hours", as: String.self))
        return Location(
            id: try r.decode(column: "id", as: String.self),
            code: try r.decode(column: "code", as: String.self),
            name: try r.decode(column: "name", as: String.self),
            kind: LocationKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .store,
            ownership: Ownership(rawValue: try r.decode(column: "ownership", as: String.self)) ?? .direct,
            organisationId: try r.decode(column: "organisation_id", as: String.self),
            address: Address(
                line1: try r.decode(column: "address_line1", as: String.self),
                provinceCode: try r.decode(column: "province_code", as: String.self),
                provinceName: try r.decode(column: "province_name", as: String?.self),
                cityCode: try r.decode(column: "city_code", as: String.self),
                cityName: try r.decode(column: "city_name", as: String?.self),
                districtCode: try r.decode(column: "district_code", as: String.self),
                districtName: try r.decode(column: "district_name", as: String?.self),
                postalCode: try r.decode(column: "postal_code", as: String?.self)),
            coordinates: Coordinates(lat: try r.decode(column: "lat", as: Double.self), lng: try r.decode(column: "lng", as: Double.self)),
            timeZone: try r.decode(column: "time_zone", as: String.self),
            currency: try r.decode(column: "currency", as: String.self),
            openingHours: hours,
            capabilities: Capabilities(
                pickup: try r.decode(column: "cap_pickup", as: Int.self) != 0,
                shipFromStore: try r.decode(column: "cap_ship_from_store", as: Int.self) != 0,
                storeDelivery: try r.decode(column: "cap_store_delivery", as: Int.self) != 0,
                deliveryRadiusKm: try r.decode(column: "delivery_radius_km", as: Double?.self),
                acceptsReturns: try r.decode(column: "cap_accepts_returns", as: Int.self) != 0),
            dailyCapacity: try r.decode(column: "daily_capacity", as: Int.self),
            priority: try r.decode(column: "priority", as: Int.self),
            status: LocationStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .inactive,
            version: try r.decode(column: "version", as: Int.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }

    static func organisation(_ r: any SQLRow) throws -> Organisation {
        Organisation(
            id: try r.decode(column: "id", as: String.self),
            code: try r.decode(column: "code", as: String.self),
            name: try r.decode(column: "name", as: String.self),
            kind: OrganisationKind(rawValue: try r.decode(column: "kind", as: String.self)) ?? .supplier,
            status: try r.decode(column: "status", as: String.self),
            contactPhone: try r.decode(column: "contact_phone", as: String?.self),
            createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(epochMillis: try r.decode(column: "updated_at", as: Int64.self)))
    }
}

public enum NetworkMigrations {
    public static let all: [Migration] = [
        Migration(module: "network", version: 1, name: "organisations and locations", [
            """
            CREATE TABLE organisations (
                id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
                contact_phone TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "INSERT INTO organisations (id, code, name, kind, status, created_at, updated_at) VALUES ('org_hq', 'HQ', 'Headquarters', 'hq', 'active', 0, 0)",
            """
            CREATE TABLE locations (
                id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL, ownership TEXT NOT NULL,
                organisation_id TEXT NOT NULL REFERENCES organisations(id),
                address_line1 TEXT NOT NULL, province_code TEXT NOT NULL, province_name TEXT, city_code TEXT NOT NULL, city_name TEXT,
                district_code TEXT NOT NULL, district_name TEXT, postal_code TEXT,
                lat DOUBLE PRECISION NOT NULL, lng DOUBLE PRECISION NOT NULL, time_zone TEXT NOT NULL, opening_hours TEXT NOT NULL,
                cap_pickup BIGINT NOT NULL, cap_ship_from_store BIGINT NOT NULL, cap_store_delivery BIGINT NOT NULL,
                delivery_radius_km DOUBLE PRECISION, cap_accepts_returns BIGINT NOT NULL,
                daily_capacity BIGINT NOT NULL, priority BIGINT NOT NULL, status TEXT NOT NULL, version BIGINT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX locations_org ON locations (organisation_id)",
            "CREATE INDEX locations_geo ON locations (lat, lng)",
            "CREATE INDEX locations_city ON locations (city_code)",
        ]),
        Migration(module: "network", version: 2, name: "location currency", [
            "ALTER TABLE locations ADD COLUMN currency TEXT NOT NULL DEFAULT 'CNY'",
        ]),
    ]
}
