import ArgumentParser
import Foundation

/// `o2o-bench vrp`: solves CVRPLIB instances with ``RoutePlanner`` (and optionally PyVRP) and compares with
/// best-known costs (scripts/bench-vrp.sh installs PyVRP and runs it). The command only parses arguments; the work
/// is in ``runVRPBenchmark(_:)``.
struct VRPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrp",
        abstract: "Benchmark the route planner on CVRPLIB instances against best-known solutions and PyVRP."
    )

    @Option(help: "Directory holding the .vrp files (with .sol files for X, BKS.json at or above it for classic).")
    var instances: String

    @Option(help: "Instance set: X (best-known costs from .sol files) or classic (from BKS.json).")
    var set: VRPBenchmarkConfiguration.InstanceSet = .x

    @Option(help: "Seconds per instance for each solver.")
    var timeLimit: Double = 10

    @Option(help: "Only instances whose name matches this regular expression.")
    var filter: String?

    @Option(help: "At most this many instances (smallest first).")
    var limit: Int?

    @Flag(help: "Also run PyVRP (python3 scripts/pyvrp_solve.py) at the same time limit.")
    var pyvrp = false

    @Option(help: "Stop the planner after this many iterations (it still stops at the time limit); makes runs repeatable.")
    var iterationLimit: Int?

    @Option(help: "Random seed for both solvers.")
    var seed: UInt64 = 1

    @Option(help: "Path of the PyVRP driver script.")
    var pyvrpScript: String = "scripts/pyvrp_solve.py"

    @Option(help: "Planner start temperature, as a fraction of the initial mean arc cost (default: planner's).")
    var startTemperature: Double?

    @Option(help: "Planner end temperature, as a fraction of the initial mean arc cost (default: planner's).")
    var endTemperature: Double?

    func run() throws {
        let configuration = VRPBenchmarkConfiguration(
            instancesDirectory: URL(fileURLWithPath: instances), set: set, timeLimit: timeLimit, filter: filter,
            limit: limit, runPyVRP: pyvrp, seed: seed, pyvrpScript: pyvrpScript,
            startTemperature: startTemperature, endTemperature: endTemperature, iterationLimit: iterationLimit)
        try runVRPBenchmark(configuration)
    }
}

extension VRPBenchmarkConfiguration.InstanceSet: ExpressibleByArgument {}
