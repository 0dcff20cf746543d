import Foundation
import Testing
@testable import O2OFulfillment

@Suite("CVRPLIB files")
struct CVRPLIBTests {
    @Test("X-n101-k25: instance fields and the .sol cost recomputed with nint distances", .enabled(if: SharedData.isAvailable))
    func parsesRealInstanceAndSolution() throws {
        let instance = try CVRPLIB.loadInstance(at: SharedData.cvrplib("X/X-n101-k25.vrp"))
        #expect(instance.name == "X-n101-k25")
        #expect(instance.dimension == 101)
        #expect(instance.capacity == 206)
        #expect(instance.depotIndex == 0)
        #expect(instance.coordinates.first == .planar(x: 365, y: 689))
        #expect(instance.demands.first == 0)
        let problem = try instance.routingProblem()
        #expect(problem.stops.count == 100)

        let solution = try CVRPLIB.loadSolution(at: SharedData.cvrplib("X/X-n101-k25.sol"))
        #expect(solution.cost == 27591)
        #expect(solution.routes.count == 26)
        var served = Set<Int>()
        var cost = 0
        for route in solution.routes {
            var node = 0
            var load = 0
            for customer in route {
                #expect(served.insert(customer).inserted)
                cost += problem.travel[node, customer]
                load += problem.stops[customer - 1].demand
                node = customer
            }
            cost += problem.travel[node, 0]
            #expect(load <= instance.capacity)
        }
        #expect(served == Set(1...100))
        #expect(cost == solution.cost)
    }

    @Test("every X .sol: routes serve each customer once within capacity and cost the stated amount",
          .enabled(if: SharedData.isAvailable))
    func everyXSolutionRecomputes() throws {
        let directory = SharedData.cvrplib("X")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".vrp") }.sorted()
        #expect(names.count >= 40)
        for name in names {
            let instance = try CVRPLIB.loadInstance(at: directory.appendingPathComponent(name))
            let solution = try CVRPLIB.loadSolution(at: directory.appendingPathComponent(name.replacingOccurrences(of: ".vrp", with: ".sol")))
            let problem = try instance.routingProblem()
            var cost = 0
            var served = 0
            for route in solution.routes {
                var node = 0
                var load = 0
                for customer in route {
                    cost += problem.travel[node, customer]
                    load += problem.stops[customer - 1].demand
                    node = customer
                    served += 1
                }
                cost += problem.travel[node, 0]
                #expect(load <= instance.capacity, "\(name)")
            }
            #expect(served == problem.stops.count, "\(name)")
            #expect(cost == solution.cost, "\(name)")
        }
    }

    @Test("classic BKS.json and an E instance", .enabled(if: SharedData.isAvailable))
    func parsesClassicSet() throws {
        let table = try CVRPLIB.loadBestKnown(at: SharedData.cvrplib("classic/BKS.json"))
        #expect(table["A-n32-k5"]?.bestKnownCost == 784)
        #expect(table["A-n32-k5"]?.provenOptimal == true)
        let instance = try CVRPLIB.loadInstance(at: SharedData.cvrplib("classic/E/E-n22-k4.vrp"))
        #expect(instance.dimension == 22)
        #expect(table[instance.name] != nil)
    }

    static let small = """
        NAME : tiny
        TYPE : CVRP
        DIMENSION : 3
        EDGE_WEIGHT_TYPE : EUC_2D
        CAPACITY : 10
        NODE_COORD_SECTION
        1 0 0
        2 3 4
        3 6 8
        DEMAND_SECTION
        1 0
        2 4
        3 5
        DEPOT_SECTION
        1
        -1
        EOF
        """

    @Test("a well-formed inline instance parses with CRLF line ends")
    func parsesInline() throws {
        let instance = try CVRPLIB.parseInstance(Self.small.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(instance.demands == [0, 4, 5])
        let problem = try instance.routingProblem()
        #expect(problem.travel[0, 1] == 5)
        #expect(problem.travel[0, 2] == 10)
    }

    @Test("malformed instances throw clear errors")
    func rejectsMalformedInstances() {
        #expect(throws: CVRPLIBError.missingField("CAPACITY")) {
            try CVRPLIB.parseInstance(Self.small.replacingOccurrences(of: "CAPACITY : 10\n", with: ""))
        }
        #expect(throws: CVRPLIBError.unsupportedEdgeWeightType("GEO")) {
            try CVRPLIB.parseInstance(Self.small.replacingOccurrences(of: "EUC_2D", with: "GEO"))
        }
        #expect(throws: CVRPLIBError.sectionLength(section: "DEMAND_SECTION", expected: 3, actual: 2)) {
            try CVRPLIB.parseInstance(Self.small.replacingOccurrences(of: "3 5\n", with: ""))
        }
        #expect(throws: CVRPLIBError.invalidValue(field: "DIMENSION", value: "three")) {
            try CVRPLIB.parseInstance(Self.small.replacingOccurrences(of: "DIMENSION : 3", with: "DIMENSION : three"))
        }
        #expect(throws: CVRPLIBError.missingField("DEPOT_SECTION")) {
            try CVRPLIB.parseInstance(Self.small.replacingOccurrences(of: "DEPOT_SECTION\n1\n-1\n", with: ""))
        }
    }

    @Test("malformed solutions throw clear errors")
    func rejectsMalformedSolutions() throws {
        #expect(try CVRPLIB.parseSolution("Route #1: 1 2\nRoute #2: 3\nCost 42\n") == CVRPLIBSolution(routes: [[1, 2], [3]], cost: 42))
        #expect(throws: CVRPLIBError.missingField("Cost")) { try CVRPLIB.parseSolution("Route #1: 1 2\n") }
        #expect(throws: CVRPLIBError.invalidRouteLine("Route #1: 1 x")) { try CVRPLIB.parseSolution("Route #1: 1 x\nCost 3\n") }
    }
}
