import Foundation
@testable import O2ONetwork
import O2OCore
import O2OTestSupport
import Testing

func shanghaiAddress(_ district: String = "310104") -> Address {
    Address(line1: "漕溪北路 1 号", provinceCode: "310000", provinceName: "上海市", cityCode: "310100", cityName: "上海市",
            districtCode: district, districtName: "徐汇区")
}

func store(_ code: String, lat: Double = 31.19, lng: Double = 121.44, org: String? = nil, radius: Double? = 5) -> NewLocation {
    NewLocation(code: code, name: "门店 \(code)", kind: .store, organisationId: org, address: shanghaiAddress(),
                coordinates: Coordinates(lat: lat, lng: lng),
                capabilities: Capabilities(pickup: true, storeDelivery: radius != nil, deliveryRadiusKm: radius, acceptsReturns: true))
}

@Suite("Network: organisations and locations, on every engine")
struct NetworkServiceTests {
    @Test(arguments: TestDatabase.engines)
    func createLocation_thenGetAndList_withAuditAndEvent(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let network = NetworkService(db: db, clock: SystemClock())
            // act
            let created = try await network.createLocation(store("SH-001"), caller: .system)
            for i in 2...5 { _ = try await network.createLocation(store("SH-00\(i)"), caller: .system) }
            // check
            #expect(try await network.location(created.id, scope: .all) == created)
            var f = LocationFilter()
            f.limit = 2
            let first = try await network.locations(f, scope: .all)
            #expect(first.items.map(\.code) == ["SH-001", "SH-002"])
            f.cursor = first.nextCursor
            let second = try await network.locations(f, scope: .all)
            #expect(second.items.map(\.code) == ["SH-003", "SH-004"])
            f.text = "sh-005"
            f.cursor = nil
            #expect(try await network.locations(f, scope: .all).items.map(\.code) == ["SH-005"])
            #expect(try await TestDatabase.count("audit_events", db) == 5)
            #expect(try await TestDatabase.count("outbox_events", db) == 5)
            #expect(created.ownership == .direct && created.organisationId == NetworkService.hqOrganisationId)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createLocation_whenInvalid_reportsEveryFieldAndWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let network = NetworkService(db: db, clock: SystemClock())
            var bad = store("bad code!", lat: 91, lng: -181, radius: 0)
            bad.name = "  "
            bad.address.cityCode = "32010"
            bad.openingHours = [OpeningHours(weekday: 8, opens: "25:00", closes: "09:00")]
            bad.dailyCapacity = -1
            // act
            var problem: Problem?
            do { _ = try await network.createLocation(bad, caller: .system) } catch let p as Problem { problem = p }
            // check
            let fields = Set(problem?.errors?.map(\.field) ?? [])
            #expect(problem?.status == 422)
            for f in ["code", "name", "address.cityCode", "coordinates.lat", "coordinates.lng", "openingHours[0].weekday",
                      "openingHours[0].opens", "capabilities.deliveryRadiusKm", "dailyCapacity"] {
                #expect(fields.contains(f), "missing \(f)")
            }
            #expect(try await network.locationCount() == 0)
            #expect(try await TestDatabase.count("audit_events", db) == 0)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func createLocation_duplicateCode_isConflict_andWritesNothing(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            let network = NetworkService(db: db, clock: SystemClock())
            _ = try await network.createLocation(store("SH-001"), caller: .system)
            // act
            var problem: Problem?
            do { _ = try await network.createLocation(store("SH-001"), caller: .system) } catch let p as Problem { problem = p }
            // check
            #expect(problem?.status == 409)
            #expect(try await network.locationCount() == 1)
            #expect(try await TestDatabase.count("audit_events", db) == 1)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func covering_returnsStoresWithinTheirRadius_nearestFirst(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup: a point, a store 1 km away (radius 3), one 4 km away (radius 5), one 4 km away (radius 2), one without delivery
            let network = NetworkService(db: db, clock: SystemClock())
            let point = Coordinates(lat: 31.2000, lng: 121.4500)
            let near = try await network.createLocation(store("A", lat: 31.2090, lng: 121.4500, radius: 3), caller: .system)
            let far = try await network.createLocation(store("B", lat: 31.2360, lng: 121.4500, radius: 5), caller: .system)
            _ = try await network.createLocation(store("C", lat: 31.1640, lng: 121.4500, radius: 2), caller: .system)
            let noDelivery = try await network.createLocation(store("D", lat: 31.2010, lng: 121.4500, radius: nil), caller: .system)
            // act
            let covering = try await network.covering(point, capability: .storeDelivery, radiusKm: nil, limit: 10, scope: .all)
            let pickup = try await network.covering(point, capability: .pickup, radiusKm: 2, limit: 10, scope: .all)
            // check
            #expect(covering.map(\.location.id) == [near.id, far.id])
            #expect(abs(covering[0].distanceKm - 1.0) < 0.05)
            #expect(pickup.map(\.location.id) == [noDelivery.id, near.id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func scope_franchiseeSeesOnlyItsOwnLocations(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let network = NetworkService(db: db, clock: SystemClock())
            let a = try await network.createOrganisation(code: "FA", name: "Franchisee A", kind: .franchisee, contactPhone: nil, caller: .system)
            let b = try await network.createOrganisation(code: "FB", name: "Franchisee B", kind: .franchisee, contactPhone: nil, caller: .system)
            let storeA = try await network.createLocation(store("A1", org: a.id), caller: .system)
            let storeB = try await network.createLocation(store("B1", org: b.id), caller: .system)
            _ = try await network.createLocation(store("HQ1"), caller: .system)
            let scopeA = Scope.organisation(a.id)
            // act, check
            #expect(try await network.locations(LocationFilter(), scope: scopeA).items.map(\.id) == [storeA.id])
            await #expect(throws: Problem.notFound("location", storeB.id)) { _ = try await network.location(storeB.id, scope: scopeA) }
            await #expect(throws: Problem.notFound("organisation", b.id)) { _ = try await network.organisation(b.id, scope: scopeA) }
            var patch = LocationPatch()
            patch.name = "taken over"
            let caller = Caller(Principal(id: "usr_a", kind: .user, name: "a", role: .franchisee, scope: scopeA))
            await #expect(throws: Problem.notFound("location", storeB.id)) { _ = try await network.updateLocation(storeB.id, patch, caller: caller) }
            #expect(try await network.location(storeB.id, scope: .all).name == "门店 B1")
            let storeScope = Scope.location(storeA.id, organisation: a.id)
            #expect(try await network.locations(LocationFilter(), scope: storeScope).items.map(\.id) == [storeA.id])
            #expect(try await network.covering(storeA.coordinates, capability: .pickup, radiusKm: 5, limit: 10, scope: scopeA).map(\.location.id) == [storeA.id])
        }
    }

    @Test(arguments: TestDatabase.engines)
    func update_recordsBeforeAndAfter_andChecksExpectedVersion(_ engine: DatabaseEngine) async throws {
        try await TestDatabase.with(engine) { (db: Database) async throws in
            // setup
            let network = NetworkService(db: db, clock: SystemClock())
            let audit = AuditLog(db: db)
            let created = try await network.createLocation(store("SH-001"), caller: .system)
            var patch = LocationPatch()
            patch.dailyCapacity = 250
            patch.expectedVersion = 1
            // act
            let updated = try await network.updateLocation(created.id, patch, caller: .system)
            var stale = patch
            stale.dailyCapacity = 300
            var problem: Problem?
            do { _ = try await network.updateLocation(created.id, stale, caller: .system) } catch let p as Problem { problem = p }
            // check
            #expect(updated.version == 2 && updated.dailyCapacity == 250)
            #expect(problem?.status == 409)
            let events = try await audit.list(AuditQuery(entityType: "location", entityId: created.id), scope: .all)
            #expect(events.items.map(\.action) == ["update", "create"])
            #expect(events.items[0].before?.contains("\"dailyCapacity\":100") == true)
            #expect(events.items[0].after?.contains("\"dailyCapacity\":250") == true)
            #expect(try await network.location(created.id, scope: .all).dailyCapacity == 250)
        }
    }

    @Test func distance_matchesKnownValue() {
        // Two points in central Shanghai, 1.07 km apart north–south and 1.55 km east–west.
        let d = Coordinates(lat: 31.2304, lng: 121.4737).distanceKm(to: Coordinates(lat: 31.2400, lng: 121.4900))
        #expect(d > 1.7 && d < 2.0)
    }
}

@Suite struct OpeningHoursColumnTests {
    @Test func storedForm_roundTrips() {
        let hours = OpeningHours.daily("10:00", "22:00") + [OpeningHours(weekday: 6, opens: "08:30", closes: "24:00")]
        #expect(OpeningHours.list(fromColumn: OpeningHours.column(hours)) == hours)
        #expect(OpeningHours.list(fromColumn: "") == [])
    }
}
