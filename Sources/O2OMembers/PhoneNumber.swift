import O2OCore

/// Mobile numbers in E.164 (`+8613812345678`): how a member is keyed, whichever channel typed it.
///
/// Input is read the way Chinese channels send it: a bare 11-digit mobile number, with or without
/// `+86` / `86` / `0086` in front, with spaces, dashes, dots or parentheses between the digits.
/// A number with a `+` (or `00`) in front of another country code is taken as E.164 with 8 to 15
/// digits. Anything else is refused: we never guess a country for a number that has none and is
/// not a Chinese mobile number.
public enum PhoneNumber {
    /// The country code numbers without one belong to.
    public static let defaultCountryCode = "86"

    /// Why a text is not a mobile number; the message names no digits, so it may be logged.
    public enum Invalid: Error, Equatable, Sendable {
        case empty
        case notDigits
        /// `+86` (or no country code) but not 1[3-9] followed by 9 digits.
        case notChineseMobile
        /// Another country, but not 8 to 15 digits starting with 1–9.
        case notE164

        public var message: String {
            switch self {
            case .empty: return "is required"
            case .notDigits: return "must be a phone number: digits, optionally with a leading + and spaces or dashes"
            case .notChineseMobile: return "must be a Chinese mobile number: 11 digits starting with 13 to 19, optionally after +86"
            case .notE164: return "must be an international number in E.164: + and 8 to 15 digits"
            }
        }
    }

    /// The E.164 form of `text`, or why it is not a mobile number.
    public static func normalize(_ text: String) throws(Invalid) -> String {
        var digits = ""
        var plus = false
        for (i, ch) in text.trimmingWhitespace().enumerated() {
            if ch == "+" && i == 0 { plus = true; continue }
            if ch == " " || ch == "-" || ch == "." || ch == "(" || ch == ")" || ch == "\u{00A0}" { continue }
            guard ch.isASCII, ch.isNumber else { throw .notDigits }
            digits.append(ch)
        }
        if digits.isEmpty { throw plus ? .notDigits : .empty }
        // 00 is the international call prefix in China and most of the world: 0086… = +86….
        if !plus && digits.hasPrefix("00") { plus = true; digits.removeFirst(2) }
        if plus {
            if digits.hasPrefix(defaultCountryCode) {
                let national = String(digits.dropFirst(defaultCountryCode.count))
                guard isChineseMobile(national) else { throw .notChineseMobile }
                return "+" + defaultCountryCode + national
            }
            guard (8...15).contains(digits.count), digits.first != "0" else { throw .notE164 }
            return "+" + digits
        }
        if digits.count == 11 {
            guard isChineseMobile(digits) else { throw .notChineseMobile }
            return "+" + defaultCountryCode + digits
        }
        // 8613812345678: the country code typed without its +.
        if digits.count == 13, digits.hasPrefix(defaultCountryCode) {
            let national = String(digits.dropFirst(2))
            guard isChineseMobile(national) else { throw .notChineseMobile }
            return "+" + defaultCountryCode + national
        }
        throw .notChineseMobile
    }

    /// 1, then 3–9, then nine digits.
    static func isChineseMobile(_ national: String) -> Bool {
        let u = Array(national.utf8)
        guard u.count == 11, u[0] == UInt8(ascii: "1"), (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(u[1]) else { return false }
        return u.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Adds the rule for a phone field to a validator and returns the E.164 number when it is one.
    public static func validate(_ text: String?, _ field: String, required: Bool, _ v: inout Validator) -> String? {
        guard let text else {
            if required { v.add(field, Invalid.empty.message) }
            return nil
        }
        do {
            return try normalize(text)
        } catch {
            v.add(field, error.message)
            return nil
        }
    }

    /// The number as lists, logs, audit rows and events show it: a Chinese mobile number keeps its
    /// first three and last four digits (`138****5678`); another country's keeps `+`, two digits
    /// and the last four (or two, when it is short). Anything that is not E.164 is fully hidden.
    public static func mask(_ e164: String) -> String {
        guard e164.hasPrefix("+") else { return "****" }
        let digits = String(e164.dropFirst())
        guard digits.count >= 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return "****" }
        if digits.hasPrefix(defaultCountryCode), digits.count == 13 {
            let national = Array(digits.dropFirst(2))
            return String(national[0..<3]) + "****" + String(national[7...])
        }
        let tail = digits.count >= 11 ? 4 : 2
        return "+" + String(digits.prefix(2)) + "****" + String(digits.suffix(tail))
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
