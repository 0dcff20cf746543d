import Foundation

/// A capacitated VRP instance in CVRPLIB (TSPLIB-style) `.vrp` format with `EUC_2D` coordinates.
public struct CVRPLIBInstance: Sendable, Hashable {
    public var name: String
    /// Number of nodes, depot included.
    public var dimension: Int
    public var capacity: Int
    /// Coordinates of node `k + 1` (file numbering) at index `k`.
    public var coordinates: [RoutingProblem.Location]
    /// Demand of node `k + 1` at index `k`.
    public var demands: [Int]
    /// Zero-based index of the depot node.
    public var depotIndex: Int

    /// The instance as a routing problem with `nint(euclidean)` costs and a fleet of `vehicleCount` vehicles
    /// (`nil`: unlimited, as the X set defines; the classic sets fix the fleet at the `k` of their names).
    /// Stops keep file order with the depot left out, so CVRPLIB customer `k` is `stops[k - 1]`.
    public func routingProblem(vehicleCount: Int? = nil) throws(RoutingProblemError) -> RoutingProblem {
        let depot = RoutingProblem.Depot(id: "\(depotIndex + 1)", location: coordinates[depotIndex])
        let stops = coordinates.indices.filter { $0 != depotIndex }.map { index in
            RoutingProblem.Stop(id: "\(index + 1)", location: coordinates[index], demand: demands[index])
        }
        let vehicle = RoutingProblem.VehicleType(id: "truck", capacity: capacity, count: vehicleCount)
        return try RoutingProblem.euclidean(depot: depot, stops: stops, vehicleTypes: [vehicle])
    }
}

/// A CVRPLIB `.sol` file: routes of customer numbers (1-based, depot excluded) and the stated cost.
public struct CVRPLIBSolution: Sendable, Hashable {
    public var routes: [[Int]]
    public var cost: Int
}

/// One entry of the classic set's `BKS.json`.
public struct CVRPLIBBestKnown: Sendable, Hashable, Decodable {
    public var bestKnownCost: Int
    public var provenOptimal: Bool
    public var vehicles: Int?

    enum CodingKeys: String, CodingKey {
        case bestKnownCost = "best_known_cost"
        case provenOptimal = "proven_optimal"
        case vehicles
    }
}

/// Why a CVRPLIB file could not be read.
public enum CVRPLIBError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingField(String)
    case invalidValue(field: String, value: String)
    case unsupportedEdgeWeightType(String)
    case sectionLength(section: String, expected: Int, actual: Int)
    case invalidSectionLine(section: String, line: String)
    case invalidRouteLine(String)
    case unreadableFile(path: String, reason: String)
    case invalidBestKnown(reason: String)

    public var description: String {
        switch self {
        case let .missingField(field): "missing \(field)"
        case let .invalidValue(field, value): "invalid \(field): '\(value)'"
        case let .unsupportedEdgeWeightType(type): "unsupported EDGE_WEIGHT_TYPE \(type) (only EUC_2D)"
        case let .sectionLength(section, expected, actual): "\(section) has \(actual) entries, expected \(expected)"
        case let .invalidSectionLine(section, line): "invalid line in \(section): '\(line)'"
        case let .invalidRouteLine(line): "invalid route line: '\(line)'"
        case let .unreadableFile(path, reason): "cannot read \(path): \(reason)"
        case let .invalidBestKnown(reason): "invalid BKS.json: \(reason)"
        }
    }
}

/// Readers for CVRPLIB files.
public enum CVRPLIB {
    /// Parses the text of a `.vrp` file (CRLF or LF, tabs or spaces).
    public static func parseInstance(_ text: String) throws(CVRPLIBError) -> CVRPLIBInstance {
        var header: [String: String] = [:]
        var coordinateLines: [[Substring]] = []
        var demandLines: [[Substring]] = []
        var depotNumbers: [Int] = []
        var section: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line == "EOF" { break }
            if line.hasSuffix("_SECTION") {
                section = line
                continue
            }
            if let colon = line.firstIndex(of: ":"), line.first?.isLetter == true {
                let key = line[..<colon].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                header[key] = value
                section = nil
                continue
            }
            let fields = line.split(whereSeparator: \.isWhitespace)
            switch section {
            case "NODE_COORD_SECTION": coordinateLines.append(fields)
            case "DEMAND_SECTION": demandLines.append(fields)
            case "DEPOT_SECTION":
                guard fields.count == 1, let number = Int(fields[0]) else {
                    throw .invalidSectionLine(section: "DEPOT_SECTION", line: line)
                }
                if number >= 0 { depotNumbers.append(number) }
            default:
                throw .invalidSectionLine(section: section ?? "header", line: line)
            }
        }
        guard let name = header["NAME"] else { throw .missingField("NAME") }
        let dimension = try integer(header, "DIMENSION")
        let capacity = try integer(header, "CAPACITY")
        guard dimension >= 2 else { throw .invalidValue(field: "DIMENSION", value: "\(dimension)") }
        guard let weightType = header["EDGE_WEIGHT_TYPE"] else { throw .missingField("EDGE_WEIGHT_TYPE") }
        guard weightType == "EUC_2D" else { throw .unsupportedEdgeWeightType(weightType) }
        let coordinates = try numberedRows(coordinateLines, section: "NODE_COORD_SECTION", dimension: dimension, width: 2)
            .map { RoutingProblem.Location.planar(x: $0[0], y: $0[1]) }
        let demands = try numberedRows(demandLines, section: "DEMAND_SECTION", dimension: dimension, width: 1)
            .map { row throws(CVRPLIBError) -> Int in
                guard let demand = Int(exactly: row[0]) else { throw .invalidValue(field: "DEMAND_SECTION", value: "\(row[0])") }
                return demand
            }
        guard depotNumbers.count == 1 else {
            if depotNumbers.isEmpty { throw .missingField("DEPOT_SECTION") }
            throw .invalidValue(field: "DEPOT_SECTION", value: depotNumbers.map(String.init).joined(separator: " "))
        }
        guard (1...dimension).contains(depotNumbers[0]) else {
            throw .invalidValue(field: "DEPOT_SECTION", value: "\(depotNumbers[0])")
        }
        return CVRPLIBInstance(name: name, dimension: dimension, capacity: capacity, coordinates: coordinates,
                               demands: demands, depotIndex: depotNumbers[0] - 1)
    }

    /// Parses the text of a `.sol` file: `Route #k: c1 c2 ...` lines and a `Cost N` line.
    public static func parseSolution(_ text: String) throws(CVRPLIBError) -> CVRPLIBSolution {
        var routes: [[Int]] = []
        var cost: Int?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Route") {
                guard let colon = line.firstIndex(of: ":") else { throw .invalidRouteLine(line) }
                let customers = try line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace).map { field throws(CVRPLIBError) -> Int in
                    guard let customer = Int(field), customer > 0 else { throw .invalidRouteLine(line) }
                    return customer
                }
                routes.append(customers)
            } else if line.hasPrefix("Cost") {
                let value = line.dropFirst(4).trimmingCharacters(in: .whitespaces)
                guard let parsed = Int(value) ?? Double(value).flatMap({ Int(exactly: $0) }) else {
                    throw .invalidValue(field: "Cost", value: value)
                }
                cost = parsed
            }
        }
        guard let cost else { throw .missingField("Cost") }
        guard !routes.isEmpty else { throw .missingField("Route") }
        return CVRPLIBSolution(routes: routes, cost: cost)
    }

    /// Parses the classic set's `BKS.json`: instance name → best-known cost.
    public static func parseBestKnown(_ data: Data) throws(CVRPLIBError) -> [String: CVRPLIBBestKnown] {
        do {
            return try JSONDecoder().decode([String: CVRPLIBBestKnown].self, from: data)
        } catch {
            throw .invalidBestKnown(reason: "\(error)")
        }
    }

    /// Reads and parses a `.vrp` file.
    public static func loadInstance(at url: URL) throws(CVRPLIBError) -> CVRPLIBInstance {
        try parseInstance(readText(url))
    }

    /// Reads and parses a `.sol` file.
    public static func loadSolution(at url: URL) throws(CVRPLIBError) -> CVRPLIBSolution {
        try parseSolution(readText(url))
    }

    /// Reads and parses a `BKS.json` file.
    public static func loadBestKnown(at url: URL) throws(CVRPLIBError) -> [String: CVRPLIBBestKnown] {
        do {
            return try parseBestKnown(Data(contentsOf: url))
        } catch let error as CVRPLIBError {
            throw error
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func readText(_ url: URL) throws(CVRPLIBError) -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }

    private static func integer(_ header: [String: String], _ field: String) throws(CVRPLIBError) -> Int {
        guard let text = header[field] else { throw .missingField(field) }
        guard let value = Int(text) else { throw .invalidValue(field: field, value: text) }
        return value
    }

    /// Checks that a section lists nodes `1...dimension` in order, each with `width` numbers, and returns those numbers.
    private static func numberedRows(_ lines: [[Substring]], section: String, dimension: Int, width: Int) throws(CVRPLIBError) -> [[Double]] {
        guard lines.count == dimension else { throw .sectionLength(section: section, expected: dimension, actual: lines.count) }
        return try lines.enumerated().map { offset, fields throws(CVRPLIBError) -> [Double] in
            let values = fields.dropFirst().compactMap { Double($0) }
            guard fields.count == width + 1, Int(fields[0]) == offset + 1, values.count == width, values.allSatisfy(\.isFinite) else {
                throw .invalidSectionLine(section: section, line: fields.joined(separator: " "))
            }
            return values
        }
    }
}
