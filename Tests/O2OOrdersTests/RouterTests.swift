import Foundation
@testable import O2OOrders
import Testing

@Suite("The router, on its own")
struct RouterTests {
    /// `n` warehouses due north of the customer, one km apart; only the farthest has the SKU.
    static func sites(_ n: Int) -> [Site] {
        (0..<n).map { i in
            Site(id: "loc_\(i)", code: "WH-\(i)", isStore: false, lat: 31.23 + Double(i + 1) / 111.2, lng: 121.48, storeDelivery: false,
                 deliveryRadiusKm: 0, shipFromStore: false, pickup: false, priority: 0, dailyCapacity: 1_000, usedToday: 0,
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
}
