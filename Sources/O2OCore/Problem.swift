import Foundation

/// RFC 9457 problem details: the one shape of every API error.
public struct Problem: Codable, Sendable, Error, Equatable {
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String
        /// The line of an imported file the error is on.
        public var line: Int?
        public init(_ field: String, _ message: String, line: Int? = nil) {
            self.field = field
            self.message = message
            self.line = line
        }
    }

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var instance: String?
    public var requestId: String?
    public var errors: [FieldError]?
    public var allowed: [String]?

    public static let typeBase = "https://o2o.dev/problems/"

    public init(kind: String, title: String, status: Int, detail: String? = nil, errors: [FieldError]? = nil, allowed: [String]? = nil) {
        self.type = Self.typeBase + kind
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
        self.allowed = allowed
    }

    public static func validation(_ errors: [FieldError], detail: String? = nil) -> Problem {
        Problem(kind: "validation", title: "The request breaks a rule", status: 422,
                detail: detail ?? errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "), errors: errors)
    }
    public static func malformed(_ detail: String, errors: [FieldError]? = nil) -> Problem {
        Problem(kind: "malformed-request", title: "The request could not be read", status: 400, detail: detail, errors: errors)
    }
    public static func notFound(_ entity: String, _ id: String) -> Problem {
        Problem(kind: "not-found", title: "Not found", status: 404, detail: "No \(entity) '\(id)' in your scope.")
    }
    /// A unique value already taken; `errors` names each field and the value.
    public static func duplicate(_ errors: [FieldError]) -> Problem {
        Problem(kind: "duplicate", title: "Conflict", status: 409,
                detail: errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "), errors: errors)
    }
    public static func conflict(_ detail: String, kind: String = "conflict") -> Problem {
        Problem(kind: kind, title: "Conflict", status: 409, detail: detail)
    }
    public static func unauthorized(_ detail: String = "Send a valid bearer token or API key.") -> Problem {
        Problem(kind: "unauthorized", title: "Authentication required", status: 401, detail: detail)
    }
    public static func forbidden(_ detail: String) -> Problem {
        Problem(kind: "forbidden", title: "Not allowed for your role", status: 403, detail: detail)
    }
    public static func tooLarge(limit: Int) -> Problem {
        Problem(kind: "payload-too-large", title: "Request body too large", status: 413,
                detail: "The body exceeds the limit of \(limit) bytes.")
    }
    public static func tooManyRequests(_ detail: String) -> Problem {
        Problem(kind: "too-many-requests", title: "Too many requests", status: 429, detail: detail)
    }
    public static func internalError(requestId: String?) -> Problem {
        var p = Problem(kind: "internal", title: "Internal error", status: 500,
                        detail: "Something failed on our side. Report the request id.")
        p.requestId = requestId
        return p
    }
}

extension Problem: CustomStringConvertible {
    /// How the CLI shows a problem: the detail, or the title when there is none.
    public var description: String { detail ?? title }
}

/// Collects every broken rule of a request before anything is written, so one answer names them all.
public struct Validator: Sendable {
    public private(set) var errors: [Problem.FieldError] = []
    public init() {}

    public mutating func add(_ field: String, _ message: String) { errors.append(.init(field, message)) }

    public mutating func check(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) {
        if !condition { add(field, message()) }
    }

    /// Trimmed, non-empty, at most `max` characters, no control characters.
    public mutating func text(_ value: String?, _ field: String, required: Bool = true, max: Int = 200) {
        guard let value else {
            if required { add(field, "is required") }
            return
        }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { add(field, "must not be empty"); return }
        if value.count > max { add(field, "must be at most \(max) characters") }
        if value.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) }) {
            add(field, "must not contain control characters")
        }
    }

    public mutating func range<T: Comparable>(_ value: T?, _ field: String, _ r: ClosedRange<T>) {
        guard let value else { return }
        if !r.contains(value) { add(field, "must be between \(r.lowerBound) and \(r.upperBound)") }
    }

    /// A code: 1 to `max` characters of letters, digits, `-`, `_` and `.`.
    public mutating func code(_ value: String?, _ field: String, required: Bool = true, max: Int = 40) {
        guard let value else {
            if required { add(field, "is required") }
            return
        }
        if value.isEmpty || value.count > max { add(field, "must be 1 to \(max) characters"); return }
        if !value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) {
            add(field, "use letters, digits, -, _ and . only")
        }
    }

    /// An ISO 4217 currency code: three capital letters.
    public mutating func currency(_ value: String?, _ field: String) {
        guard let value else { return }
        if !(value.count == 3 && value.allSatisfy({ $0.isASCII && $0.isUppercase })) { add(field, "must be an ISO 4217 code such as CNY") }
    }

    public func finish() throws(Problem) {
        if !errors.isEmpty { throw Problem.validation(errors) }
    }
}

/// A module's own error that knows its problem+json form; mapped once, where errors become responses.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem {
    /// The same problem with its fields named as the request that led to it names them (a service
    /// validates `amount.minorUnits`; the API's body calls it `amount`). Fields not in `names` keep
    /// their name.
    public func renamingFields(_ names: [String: String]) -> Problem {
        var p = self
        p.errors = errors?.map { e in
            var e = e
            e.field = names[e.field] ?? e.field
            return e
        }
        return p
    }
}
