import Foundation
@testable import O2OOrders
import Testing

@Suite("The router, on its own")
struct RouterTests {
    /// `n` warehouses due north of the customer, one km apart; only the farthest has the SKU.
    static func sites(_ n: Int) -> [Site] {
        (0..<n).map { i in
            Site(id: "loc_\(i)", code: "WH-\(i)", isStore: false, lat: 31.23 + Double(i + 1) / 111.2, lng: 121.48, storeDelivery: false,
                 deliveryRadiusKm: 0, shipFromStore: false, pickup: false, priority: 0, organisationId: "org_hq",
                 regions: ["310000", "310100", "310101"], dailyCapacity: 1_000, usedToday: 0,
                 stock: i == n - 1 ? ["sku_a": 5] : [:], poolShipping: true, poolPickup: false)
        }
    }

    @Test func route_amongThousandsOfEmptyLocations_explainsTheChoice_andCountsTheRestInsteadOfListingThem() {
        // act
        let outcome = Router(rule: .standard(at: Date())).route([RoutingLine(line: 0, sku: "sku_a", quantity: 2)],
                                                                .delivery(lat: 31.23, lng: 121.48), value: 9_900, sites: Self.sites(1_600))
        // check
        #expect(outcome.assignments[0]?.site == "loc_1599" && outcome.unplaced.isEmpty)
        #expect(outcome.candidates.contains { $0.locationId == "loc_1599" && $0.excluded == nil && $0.score != nil })
        let excluded = outcome.candidates.filter { $0.excluded != nil }
        #expect(excluded.count == Router.excludedKept && excluded.map(\.code).contains("WH-0"), "the nearest empty ones are named")
        #expect(outcome.policy.contains("1579 more location(s)"))
    }

    /// A covering store of a franchisee (org_fr, in 静安区) 2 km away and a warehouse 20 km away, both with the SKU.
    static let storeAndWarehouse: [Site] = [
        Site(id: "loc_st", code: "ST-F", isStore: true, lat: 31.23 + 2 / 111.2, lng: 121.48, storeDelivery: true, deliveryRadiusKm: 5,
             shipFromStore: false, pickup: true, priority: 0, organisationId: "org_fr", regions: ["310000", "310100", "310106"],
             dailyCapacity: 0, usedToday: 0, stock: ["sku_a": 5], poolShipping: true, poolPickup: true),
        Site(id: "loc_wh", code: "WH-1", isStore: false, lat: 31.23 + 20 / 111.2, lng: 121.48, storeDelivery: false, deliveryRadiusKm: 0,
             shipFromStore: false, pickup: false, priority: 0, organisationId: "org_hq", regions: ["310000", "310100", "310112"],
             dailyCapacity: 0, usedToday: 0, stock: ["sku_a": 5], poolShipping: true, poolPickup: false),
    ]

    static func rule(first group: LocationGroup, next: [RoutingStep]) -> RoutingRule {
        var r = RoutingRule.standard(at: Date())
        r.name = "franchise first"
        r.useWarehouses = false
        r.locations = group
        r.next = next
        return r
    }

    @Test(arguments: [LocationGroup(organisations: ["org_fr"]), LocationGroup(regions: ["310106"]), LocationGroup(locations: ["ST-F"])])
    func route_firstStepsGroupHasTheGoods_itsLocationTakesThem(_ group: LocationGroup) {
        // act
        let outcome = Router(rule: Self.rule(first: group, next: [RoutingStep(name: "warehouses", useStores: false)]))
            .route([RoutingLine(line: 0, sku: "sku_a", quantity: 2)], .delivery(lat: 31.23, lng: 121.48), value: 9_900, sites: Self.storeAndWarehouse)
        // check
        #expect(outcome.assignments[0]?.site == "loc_st" && outcome.step == "franchise first")
        #expect(outcome.policy.hasPrefix("step 1 of 2 'franchise first'"))
    }

    @Test func route_firstStepsGroupCannotPlaceIt_theNextStepDoes_andThePolicySaysWhatWasTriedFirst() {
        // act: the first step only admits another franchisee's stores
        let outcome = Router(rule: Self.rule(first: LocationGroup(organisations: ["org_other"]), next: [RoutingStep(name: "warehouses", useStores: false)]))
            .route([RoutingLine(line: 0, sku: "sku_a", quantity: 2)], .delivery(lat: 31.23, lng: 121.48), value: 9_900, sites: Self.storeAndWarehouse)
        // check
        #expect(outcome.assignments[0]?.site == "loc_wh" && outcome.assignments[0]?.mode == .carrier && outcome.step == "warehouses")
        #expect(outcome.policy.hasPrefix("step 2 of 2 'warehouses'"))
        #expect(outcome.policy.contains("tried first: 'franchise first' (no location of it could be asked)"))
        #expect(!outcome.candidates.contains { $0.locationId == "loc_st" }, "the step's candidates are the ones it admits")
    }

    @Test func route_noStepCanPlaceIt_leavesTheLinesUnplaced_withTheLastStepsExplanation() {
        // act: two units more than anyone has
        let outcome = Router(rule: Self.rule(first: LocationGroup(organisations: ["org_fr"]), next: [RoutingStep(name: "warehouses", useStores: false)]))
            .route([RoutingLine(line: 0, sku: "sku_a", quantity: 7)], .delivery(lat: 31.23, lng: 121.48), value: 9_900, sites: Self.storeAndWarehouse)
        // check
        #expect(outcome.unplaced == [0] && outcome.assignments.isEmpty && outcome.step == "warehouses")
        #expect(outcome.policy.contains("tried first: 'franchise first' (could not place line(s) 0)"))
    }

    @Test func route_twoLinesOfOneSku_countTogether_soAStoreWithEnoughForEitherButNotBothDoesNotTakeBoth() {
        // setup: the store has 3, the warehouse 5
        var sites = Self.storeAndWarehouse
        sites[0].stock = ["sku_a": 3]
        let lines = [RoutingLine(line: 0, sku: "sku_a", quantity: 2), RoutingLine(line: 1, sku: "sku_a", quantity: 2)]
        // act
        let whole = Router(rule: .standard(at: Date())).route(lines, .delivery(lat: 31.23, lng: 121.48), value: 19_800, sites: sites)
        sites[1].stock = ["sku_a": 1]
        let split = Router(rule: .standard(at: Date())).route(lines, .delivery(lat: 31.23, lng: 121.48), value: 19_800, sites: sites)
        // check
        #expect(whole.assignments[0]?.site == "loc_wh" && whole.assignments[1]?.site == "loc_wh", "only the warehouse has 4")
        #expect(whole.candidates.first { $0.locationId == "loc_st" }?.lines == [0], "the store could take one of the two lines")
        #expect(split.unplaced == [1] && split.assignments.isEmpty, "3 + 1 units cannot make two lines of 2")
    }
}
