import Foundation
import O2OCore

/// A channel's routing rules, as data (订单路由规则). A channel without its own rule uses the default.
public struct RoutingRule: Codable, Sendable, Equatable {
    /// The channel it applies to; nil for the default rule.
    public var channelId: String?
    public var name: String
    /// Stores may fulfil (store delivery, pickup, ship from store); false e.g. for marketplace orders.
    public var useStores: Bool
    public var useWarehouses: Bool
    /// Only these locations may fulfil at the rule's first step; nil: any.
    public var locations: LocationGroup?
    /// The most locations one order may be split across (1: never split).
    public var maxLocations: Int
    /// Orders worth less than this (minor units) are never split.
    public var noSplitBelow: Int64
    /// The steps tried in order when the one before could not place every line (e.g. the city's
    /// stores first, then any warehouse).
    public var next: [RoutingStep]
    /// When no step can place the order: refuse it (409), or accept it on a routing hold for a
    /// person to route.
    public var fallback: Fallback
    /// With the manual fallback: an order still waiting on its routing hold this many days after
    /// routing last tried is cancelled (its stock released, its payment refunded); nil: it waits.
    public var autoCancelAfterDays: Int?
    public var weights: Weights
    public var version: Int
    public var updatedAt: Date

    public enum Fallback: String, Codable, Sendable, CaseIterable {
        case reject
        case manual
    }

    /// What each part of a candidate's cost weighs.
    public struct Weights: Codable, Sendable, Equatable {
        /// Per kilometre from the customer (or, for a carrier, from the warehouse).
        public var distancePerKm: Double
        /// Per location beyond the first.
        public var split: Double
        /// Per line that would take a location's last unit (and half for its second-last).
        public var lastUnits: Double
        /// Per point of the location's priority (0 is first).
        public var priority: Double
        /// Grows as the location's remaining daily capacity runs out (× used / capacity).
        public var capacity: Double
        public init(distancePerKm: Double = 1, split: Double = 25, lastUnits: Double = 10, priority: Double = 1, capacity: Double = 10) {
            self.distancePerKm = distancePerKm
            self.split = split
            self.lastUnits = lastUnits
            self.priority = priority
            self.capacity = capacity
        }
    }

    /// Every step in the order routing tries them: the rule's own, then `next`.
    public var steps: [RoutingStep] {
        [RoutingStep(name: name, useStores: useStores, useWarehouses: useWarehouses, locations: locations, maxLocations: maxLocations)] + next
    }

    public static func standard(at date: Date) -> RoutingRule {
        RoutingRule(channelId: nil, name: "default", useStores: true, useWarehouses: true, locations: nil, maxLocations: 3, noSplitBelow: 0,
                    next: [], fallback: .reject, autoCancelAfterDays: nil, weights: Weights(), version: 0, updatedAt: date)
    }
}

/// One step of a routing rule: which locations may fulfil, and across how many an order may split.
public struct RoutingStep: Codable, Sendable, Equatable {
    public var name: String
    public var useStores: Bool
    public var useWarehouses: Bool
    /// Only these locations; nil: any.
    public var locations: LocationGroup?
    public var maxLocations: Int

    public init(name: String, useStores: Bool = true, useWarehouses: Bool = true, locations: LocationGroup? = nil, maxLocations: Int = 3) {
        self.name = name
        self.useStores = useStores
        self.useWarehouses = useWarehouses
        self.locations = locations
        self.maxLocations = maxLocations
    }

    /// The step lets this location fulfil.
    func admits(isStore: Bool, id: String, code: String, organisationId: String, regions: [String]) -> Bool {
        (isStore ? useStores : useWarehouses)
            && locations.map { $0.contains(id: id, code: code, organisationId: organisationId, regions: regions) } ?? true
    }
}

/// A group of locations a routing step is limited to: the named ones, the ones of these
/// organisations (a franchisee's stores), and the ones in these regions (GB/T 2260 province, city
/// or district codes), together.
public struct LocationGroup: Codable, Sendable, Equatable {
    /// Location ids or codes.
    public var locations: [String]
    public var organisations: [String]
    public var regions: [String]

    public init(locations: [String] = [], organisations: [String] = [], regions: [String] = []) {
        self.locations = locations
        self.organisations = organisations
        self.regions = regions
    }

    public var isEmpty: Bool { locations.isEmpty && organisations.isEmpty && regions.isEmpty }

    func contains(id: String, code: String, organisationId: String, regions theirs: [String]) -> Bool {
        locations.contains(id) || locations.contains(code) || organisations.contains(organisationId) || regions.contains { theirs.contains($0) }
    }
}

/// One location as routing weighs it.
struct Site: Sendable {
    var id: String
    var code: String
    var isStore: Bool
    var lat: Double
    var lng: Double
    var storeDelivery: Bool
    var deliveryRadiusKm: Double
    var shipFromStore: Bool
    var pickup: Bool
    var priority: Int
    var organisationId: String
    /// Its province, city and district codes.
    var regions: [String]
    var dailyCapacity: Int
    var usedToday: Int
    /// SKU id → units it may give the channel now.
    var stock: [String: Int]
    var poolShipping: Bool
    var poolPickup: Bool

    var capacityLeft: Int { dailyCapacity - usedToday }

    /// The lines it has the stock for, whole, in order: two lines of one SKU count together.
    func takes(_ lines: [RoutingLine]) -> [RoutingLine] {
        var left = stock
        return lines.filter { l in
            guard let n = left[l.sku], n >= l.quantity else { return false }
            left[l.sku] = n - l.quantity
            return true
        }
    }
}

struct RoutingLine: Sendable {
    var line: Int
    var sku: String
    var quantity: Int
}

/// The brief's policy (物流配送), as a pure function of the order, the candidates and the rule:
/// a store that covers the address and has the goods delivers (or hands over); otherwise a
/// warehouse ships by carrier; when both can, the store. Among candidates of the preferred kind
/// the lowest cost wins; an order no single location can take is split (fewest locations first)
/// when the rule allows.
struct Router {
    var rule: RoutingRule

    enum Request {
        case delivery(lat: Double, lng: Double)
        case pickup(store: String)
        /// Bought in a store; a warehouse sends it to the customer.
        case shipFromWarehouse(lat: Double, lng: Double)
    }

    struct Outcome {
        var assignments: [Int: (site: String, mode: SourcingMode)]
        var policy: String
        var candidates: [RoutingCandidate]
        /// Lines no plan could place, with the most any one candidate could give.
        var unplaced: [Int]
        /// The step of the rule that decided, when the rule has more than one.
        var step: String? = nil
    }

    /// How many locations that could not take anything the explanation names, nearest first; the
    /// rest are counted. (A marketplace with 1,600 sellers as warehouses otherwise stored 290 KiB
    /// of "has none of the lines" per order.)
    static let excludedKept = 20

    /// Tries the rule's steps in order until one places every line; the outcome is that step's
    /// (or, when none can, the last one's), its policy naming the steps that could not.
    func route(_ lines: [RoutingLine], _ request: Request, value: Int64, sites: [Site]) -> Outcome {
        let steps = rule.steps
        if case .pickup = request { return kept(weigh(lines, request, value: value, sites: sites, step: steps[0])) }
        var failed: [String] = []
        for (i, step) in steps.enumerated() {
            let admitted = sites.filter { step.admits(isStore: $0.isStore, id: $0.id, code: $0.code, organisationId: $0.organisationId, regions: $0.regions) }
            var o = weigh(lines, request, value: value, sites: admitted, step: step)
            if steps.count > 1 {
                o.step = step.name
                o.policy = "step \(i + 1) of \(steps.count) '\(step.name)': " + o.policy
                if !failed.isEmpty { o.policy += "; tried first: " + failed.joined(separator: ", ") }
            }
            if o.unplaced.isEmpty || i == steps.count - 1 { return kept(o) }
            failed.append("'\(step.name)' (\(admitted.isEmpty ? "no location of it could be asked" : "could not place line(s) \(o.unplaced.map(String.init).joined(separator: ", "))"))")
        }
        preconditionFailure("a rule has at least its own step")
    }

    /// The outcome with only the nearest `excludedKept` locations that could take nothing named.
    private func kept(_ outcome: Outcome) -> Outcome {
        var o = outcome
        let excluded = o.candidates.filter { $0.excluded != nil }
        guard excluded.count > Self.excludedKept else { return o }
        let named = Set(excluded.sorted { ($0.distanceKm, $0.code) < ($1.distanceKm, $1.code) }.prefix(Self.excludedKept).map(\.locationId))
        o.candidates = o.candidates.filter { $0.excluded == nil || named.contains($0.locationId) }
        o.policy += "; \(excluded.count - named.count) more location(s) that could take none of it are not listed"
        return o
    }

    private func weigh(_ lines: [RoutingLine], _ request: Request, value: Int64, sites: [Site], step: RoutingStep) -> Outcome {
        var candidates: [RoutingCandidate] = []
        var tiers: [[(site: Site, mode: SourcingMode, km: Double)]] = []
        let policy: String
        switch request {
        case .pickup(let store):
            policy = "pickup at the chosen store"
            var tier: [(Site, SourcingMode, Double)] = []
            for s in sites where s.id == store {
                if let why = excluded(s, mode: .pickup) { candidates.append(candidate(s, .pickup, 0, lines, excluded: why)) } else { tier.append((s, .pickup, 0)) }
            }
            tiers = [tier]
        case .delivery(let lat, let lng), .shipFromWarehouse(let lat, let lng):
            var stores: [(Site, SourcingMode, Double)] = []
            var carriers: [(Site, SourcingMode, Double)] = []
            let fromStores: Bool
            if case .delivery = request { fromStores = step.useStores } else { fromStores = false }
            for s in sites {
                let km = greatCircleKm(lat1: s.lat, lng1: s.lng, lat2: lat, lng2: lng)
                if s.isStore {
                    guard fromStores else { continue }
                    if s.storeDelivery, km <= s.deliveryRadiusKm {
                        if let why = excluded(s, mode: .storeDelivery) { candidates.append(candidate(s, .storeDelivery, km, lines, excluded: why)) }
                        else { stores.append((s, .storeDelivery, km)) }
                    } else if s.shipFromStore {
                        if let why = excluded(s, mode: .carrier) { candidates.append(candidate(s, .carrier, km, lines, excluded: why)) }
                        else { carriers.append((s, .carrier, km)) }
                    }
                } else if step.useWarehouses {
                    if let why = excluded(s, mode: .carrier) { candidates.append(candidate(s, .carrier, km, lines, excluded: why)) }
                    else { carriers.append((s, .carrier, km)) }
                }
            }
            policy = fromStores ? "a covering store with the goods delivers; otherwise carrier; stores first"
                                : "carrier from a warehouse"
            tiers = [stores, carriers]
        }
        // Every usable candidate is explained with what it could take and what that would cost.
        for tier in tiers {
            for c in tier {
                let takes = c.site.takes(lines)
                let (score, costs) = cost(c.site, km: c.km, takes: takes, locations: 1)
                var rc = candidate(c.site, c.mode, c.km, takes, excluded: takes.isEmpty ? "has none of the lines in the quantity asked" : nil)
                if !takes.isEmpty { rc.score = score; rc.costs = costs }
                candidates.append(rc)
            }
        }
        let all = Set(lines.map(\.line))
        // 1. One location for the whole order, in tier order.
        for tier in tiers {
            let whole = tier.filter { c in c.site.takes(lines).count == lines.count }
                .map { (c: $0, cost: cost($0.site, km: $0.km, takes: lines, locations: 1).0) }
            if let best = whole.min(by: { $0.cost < $1.cost })?.c {
                return Outcome(assignments: Dictionary(uniqueKeysWithValues: lines.map { ($0.line, (best.site.id, best.mode)) }), policy: policy,
                               candidates: candidates, unplaced: [])
            }
        }
        // 2. A split, greedy: each step takes the candidate that covers the most remaining lines
        //    (stores before carriers at equal cover), then the cheapest. A location chosen took
        //    all it could, so it is not asked again.
        guard step.maxLocations > 1, value >= rule.noSplitBelow else {
            return Outcome(assignments: [:], policy: policy + (step.maxLocations > 1 ? "; below the split threshold" : "; never split"),
                           candidates: candidates, unplaced: lines.map(\.line).sorted())
        }
        var remaining = lines
        var assignments: [Int: (site: String, mode: SourcingMode)] = [:]
        var used = 0
        var chosen: Set<String> = []
        let ranked = tiers.enumerated().flatMap { t, tier in tier.map { (tier: t, c: $0) } }
        while !remaining.isEmpty, used < step.maxLocations {
            var best: (tier: Int, c: (site: Site, mode: SourcingMode, km: Double), takes: [RoutingLine], cost: Double)?
            for r in ranked where !chosen.contains(r.c.site.id) {
                let takes = r.c.site.takes(remaining)
                guard !takes.isEmpty else { continue }
                let c = cost(r.c.site, km: r.c.km, takes: takes, locations: used + 1).0
                if let b = best, (-takes.count, r.tier, c) >= (-b.takes.count, b.tier, b.cost) { continue }
                best = (r.tier, r.c, takes, c)
            }
            guard let best else { break }
            chosen.insert(best.c.site.id)
            for l in best.takes { assignments[l.line] = (best.c.site.id, best.c.mode) }
            remaining.removeAll { l in best.takes.contains { $0.line == l.line } }
            used += 1
        }
        guard remaining.isEmpty else {
            return Outcome(assignments: [:], policy: policy, candidates: candidates, unplaced: all.subtracting(assignments.keys).sorted())
        }
        return Outcome(assignments: assignments, policy: policy + "; split across \(used) locations", candidates: candidates, unplaced: [])
    }

    /// Why a location cannot take work at all, if it cannot.
    func excluded(_ s: Site, mode: SourcingMode) -> String? {
        if mode == .pickup && !(s.pickup && s.poolPickup) { return "does not hand over orders in this channel" }
        if mode != .pickup && !s.poolShipping { return "does not ship in this channel" }
        if s.dailyCapacity > 0 && s.capacityLeft <= 0 { return "no capacity left today (\(s.usedToday) of \(s.dailyCapacity))" }
        return nil
    }

    /// A candidate's cost for taking these lines, and its parts.
    func cost(_ s: Site, km: Double, takes: [RoutingLine], locations: Int) -> (Double, [String: Double]) {
        let w = rule.weights
        var last = 0.0
        var stock = s.stock
        for l in takes {
            let left = (stock[l.sku] ?? 0) - l.quantity
            stock[l.sku] = left
            if left == 0 { last += 1 } else if left == 1 { last += 0.5 }
        }
        var parts: [String: Double] = [
            "distance": (km * w.distancePerKm * 100).rounded() / 100,
            "lastUnits": last * w.lastUnits,
            "priority": Double(s.priority) * w.priority,
            "split": Double(max(0, locations - 1)) * w.split,
        ]
        if s.dailyCapacity > 0 {
            parts["capacity"] = ((Double(s.usedToday) / Double(s.dailyCapacity)) * w.capacity * 100).rounded() / 100
        }
        return (parts.values.reduce(0, +), parts.filter { $0.value != 0 })
    }

    func candidate(_ s: Site, _ mode: SourcingMode, _ km: Double, _ takes: [RoutingLine], excluded: String?) -> RoutingCandidate {
        RoutingCandidate(locationId: s.id, code: s.code, mode: mode, distanceKm: (km * 1000).rounded() / 1000, lines: takes.map(\.line),
                         score: nil, excluded: excluded, costs: [:])
    }
}

extension RoutingDecision {
    /// The decision an outcome of `rule` makes: its policy (or `policy`), candidates, step and
    /// assignments (or `assignments`, line → location id).
    init(rule: String, _ o: Router.Outcome, policy: String? = nil, assignments: [Int: String]? = nil, at: Date) {
        self.init(rule: rule, step: o.step, policy: policy ?? o.policy, candidates: o.candidates,
                  assignments: assignments ?? o.assignments.mapValues(\.site), at: at)
    }
}
