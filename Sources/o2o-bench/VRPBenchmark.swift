import Foundation
import O2OFulfillment

/// What ``runVRPBenchmark(_:)`` runs.
struct VRPBenchmarkConfiguration: Sendable {
    enum InstanceSet: String, Sendable, CaseIterable {
        case x = "X"
        case classic
    }

    var instancesDirectory: URL
    var set: InstanceSet
    var timeLimit: Double
    var filter: String?
    var limit: Int?
    var runPyVRP: Bool
    var seed: UInt64
    var pyvrpScript: String
    /// Overrides of the planner's temperature defaults, for tuning.
    var startTemperature: Double?
    var endTemperature: Double?
    var iterationLimit: Int?
}

/// Why a benchmark could not run.
struct VRPBenchmarkError: Error, CustomStringConvertible {
    var description: String
}

/// One solver's result on one instance.
struct VRPSolverResult: Sendable {
    var cost: Int?
    var seconds: Double

    func gap(bestKnown: Int) -> Double? {
        cost.map { Double($0 - bestKnown) / Double(bestKnown) * 100 }
    }
}

/// Solves every selected instance, prints one line per instance as it finishes and a summary at the end.
func runVRPBenchmark(_ configuration: VRPBenchmarkConfiguration) throws {
    let files = try selectInstances(configuration)
    let bestKnownTable = configuration.set == .classic ? try loadClassicBestKnown(near: configuration.instancesDirectory) : [:]
    print([pad("instance", 14, right: false), pad("n", 5), pad("BKS", 9), "|", pad("ours", 9), pad("gap%", 7), pad("s", 6), pad("iters", 8),
           "|", pad("pyvrp", 9), pad("gap%", 7), pad("s", 6)].joined(separator: " "))
    var oursGaps: [Double] = [], pyvrpGaps: [Double] = []
    for file in files {
        let instance = try CVRPLIB.loadInstance(at: file)
        let bestKnown: Int
        var vehicleCount: Int?
        switch configuration.set {
        case .x:
            bestKnown = try CVRPLIB.loadSolution(at: file.deletingPathExtension().appendingPathExtension("sol")).cost
        case .classic:
            guard let entry = bestKnownTable[instance.name] else {
                throw VRPBenchmarkError(description: "no BKS.json entry for \(instance.name)")
            }
            bestKnown = entry.bestKnownCost
            vehicleCount = entry.vehicles
        }
        let problem = try instance.routingProblem(vehicleCount: vehicleCount)
        var options = RoutePlanner.Options(timeLimit: configuration.timeLimit, seed: configuration.seed)
        if let start = configuration.startTemperature { options.startTemperature = start }
        if let end = configuration.endTemperature { options.endTemperature = end }
        options.iterationLimit = configuration.iterationLimit
        let planner = RoutePlanner(options: options)
        let plan = planner.solve(problem)
        let ours = VRPSolverResult(cost: plan.unassigned.isEmpty ? plan.cost : nil, seconds: plan.elapsedSeconds)
        let reference = configuration.runPyVRP
            ? try runPyVRP(file: file, vehicleCount: vehicleCount, configuration: configuration) : nil
        if let gap = ours.gap(bestKnown: bestKnown) { oursGaps.append(gap) }
        if let gap = reference?.gap(bestKnown: bestKnown) { pyvrpGaps.append(gap) }
        print([pad(instance.name, 14, right: false), pad("\(problem.stops.count)", 5), pad("\(bestKnown)", 9), "|",
               format(ours, bestKnown: bestKnown), pad("\(plan.iterations)", 8), "|", reference.map { format($0, bestKnown: bestKnown) } ?? ""]
            .joined(separator: " "))
        fflush(nil)
    }
    print("")
    print("summary over \(files.count) instances at \(configuration.timeLimit) s each")
    print(summaryLine("ours", gaps: oursGaps, total: files.count))
    if configuration.runPyVRP { print(summaryLine("pyvrp", gaps: pyvrpGaps, total: files.count)) }
}

private func format(_ result: VRPSolverResult, bestKnown: Int) -> String {
    let seconds = pad(String(format: "%.1f", result.seconds), 6)
    guard let cost = result.cost, let gap = result.gap(bestKnown: bestKnown) else {
        return [pad("infeasible", 9), pad("-", 7), seconds].joined(separator: " ")
    }
    return [pad("\(cost)", 9), pad(String(format: "%.2f", gap), 7), seconds].joined(separator: " ")
}

/// Pads `text` with spaces to `width`, aligned right (numbers) or left (names).
private func pad(_ text: String, _ width: Int, right: Bool = true) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return right ? padding + text : text + padding
}

private func summaryLine(_ solver: String, gaps: [Double], total: Int) -> String {
    let mean = gaps.isEmpty ? "n/a" : String(format: "%.2f%%", gaps.reduce(0, +) / Double(gaps.count))
    let within1 = gaps.count { $0 <= 1 }
    let within5 = gaps.count { $0 <= 5 }
    return "\(pad(solver, 6, right: false)) mean gap \(mean)  within 1%: \(within1)/\(total)  "
        + "within 5%: \(within5)/\(total)  solved: \(gaps.count)/\(total)"
}

/// The `.vrp` files of the directory, filtered, ordered by size then name, and truncated to the limit.
private func selectInstances(_ configuration: VRPBenchmarkConfiguration) throws -> [URL] {
    let fileManager = FileManager.default
    var files: [URL] = []
    guard let walker = fileManager.enumerator(at: configuration.instancesDirectory, includingPropertiesForKeys: nil) else {
        throw VRPBenchmarkError(description: "cannot list \(configuration.instancesDirectory.path)")
    }
    for case let url as URL in walker where url.pathExtension == "vrp" { files.append(url) }
    if let pattern = configuration.filter {
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: pattern) } catch {
            throw VRPBenchmarkError(description: "invalid --filter regex '\(pattern)': \(error.localizedDescription)")
        }
        files = files.filter { url in
            let name = url.deletingPathExtension().lastPathComponent
            return regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
        }
    }
    func size(_ url: URL) -> Int {
        let name = url.deletingPathExtension().lastPathComponent
        guard let range = name.range(of: #"n\d+"#, options: .regularExpression) else { return .max }
        return Int(name[range].dropFirst()) ?? .max
    }
    files.sort { (size($0), $0.lastPathComponent) < (size($1), $1.lastPathComponent) }
    if let limit = configuration.limit { files = Array(files.prefix(limit)) }
    guard !files.isEmpty else { throw VRPBenchmarkError(description: "no .vrp files selected in \(configuration.instancesDirectory.path)") }
    return files
}

/// Finds `BKS.json` in the instances directory or one of its parents (the classic set keeps it above A/, B/, E/, P/).
private func loadClassicBestKnown(near directory: URL) throws -> [String: CVRPLIBBestKnown] {
    var candidate = directory.standardizedFileURL
    for _ in 0..<3 {
        let file = candidate.appendingPathComponent("BKS.json")
        if FileManager.default.fileExists(atPath: file.path) { return try CVRPLIB.loadBestKnown(at: file) }
        candidate.deleteLastPathComponent()
    }
    throw VRPBenchmarkError(description: "no BKS.json in or above \(directory.path)")
}

/// Runs `python3 SCRIPT FILE SECONDS SEED [VEHICLES]` and parses its JSON line `{cost, runtime, feasible}`.
private func runPyVRP(file: URL, vehicleCount: Int?, configuration: VRPBenchmarkConfiguration) throws -> VRPSolverResult {
    struct Output: Decodable {
        var cost: Int?
        var runtime: Double
        var feasible: Bool
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", configuration.pyvrpScript, file.path, "\(configuration.timeLimit)", "\(configuration.seed)"]
        + (vehicleCount.map { ["\($0)"] } ?? [])
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw VRPBenchmarkError(description: "pyvrp exited with status \(process.terminationStatus) on \(file.lastPathComponent)")
    }
    guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
          let output = try? JSONDecoder().decode(Output.self, from: Data(line.utf8)) else {
        throw VRPBenchmarkError(description: "cannot parse pyvrp output on \(file.lastPathComponent)")
    }
    return VRPSolverResult(cost: output.feasible ? output.cost : nil, seconds: output.runtime)
}
