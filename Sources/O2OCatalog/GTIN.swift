/// GS1 Global Trade Item Numbers (EAN-8, UPC-A/GTIN-12, EAN-13, GTIN-14): digits only, with the
/// mod-10 check digit (weights 3,1,3,1… from the digit left of the check digit).
public enum GTIN {
    public static let lengths: Set<Int> = [8, 12, 13, 14]

    /// Why `code` is not a GTIN, or nil when it is one.
    public static func problem(_ code: String) -> String? {
        guard code.allSatisfy({ $0.isASCII && $0.isNumber }) else { return "a GTIN has digits only" }
        guard lengths.contains(code.count) else { return "a GTIN has 8, 12, 13 or 14 digits, not \(code.count)" }
        let digits = code.compactMap(\.wholeNumberValue)
        let expected = checkDigit(digits.dropLast())
        guard digits.last == expected else { return "wrong check digit: expected \(expected), got \(digits.last ?? -1)" }
        return nil
    }

    public static func isValid(_ code: String) -> Bool { problem(code) == nil }

    /// The check digit for the digits before it.
    public static func checkDigit<C: BidirectionalCollection>(_ body: C) -> Int where C.Element == Int {
        var sum = 0
        for (i, d) in body.reversed().enumerated() { sum += d * (i % 2 == 0 ? 3 : 1) }
        return (10 - sum % 10) % 10
    }

    /// A complete EAN-13 from its first 12 digits.
    public static func ean13(_ first12: String) -> String {
        precondition(first12.count == 12 && first12.allSatisfy(\.isNumber))
        return first12 + String(checkDigit(first12.compactMap(\.wholeNumberValue)))
    }
}
