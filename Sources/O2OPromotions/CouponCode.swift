import Foundation

/// Coupon codes: 16 Crockford base32 characters (80 random bits from the system generator) and a
/// check character — Crockford's mod-37 check symbol, which catches every single wrong character
/// and every swap of two neighbours before the database is asked.
///
/// Codes are read forgivingly, as Crockford base32 means: lower case, `-` and spaces are ignored,
/// `O` reads as `0`, `I` and `L` as `1`.
public enum CouponCode {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    static let checkSymbols = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U")
    public static let dataLength = 16

    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let a = rng.next(), b = rng.next()
        var chars: [Character] = []
        chars.reserveCapacity(dataLength + 1)
        // 64 bits of `a` and 16 of `b`: 80 bits, 5 per character.
        for i in 0..<12 { chars.append(alphabet[Int((a >> UInt64(59 - 5 * i)) & 31)]) }
        let rest = ((a & 0xF) << 16) | (b & 0xFFFF)  // 4 + 16 = 20 bits
        for i in 0..<4 { chars.append(alphabet[Int((rest >> UInt64(15 - 5 * i)) & 31)]) }
        chars.append(checkSymbols[check(chars.map { value($0)! })])
        return String(chars)
    }

    /// The code in its stored form, or nil when it is not a well-formed code (wrong length, a
    /// character outside the alphabet, or a check character that does not match).
    public static func normalize(_ text: String) -> String? {
        var data: [Int] = []
        var chars: [Character] = []
        for ch in text.uppercased() where ch != "-" && ch != " " {
            chars.append(ch)
        }
        guard chars.count == dataLength + 1 else { return nil }
        var out: [Character] = []
        for ch in chars.prefix(dataLength) {
            guard let v = value(ch) else { return nil }
            data.append(v)
            out.append(alphabet[v])
        }
        let last = chars[dataLength] == "O" ? "0" : (chars[dataLength] == "I" || chars[dataLength] == "L") ? "1" : chars[dataLength]
        guard let c = checkSymbols.firstIndex(of: last), c == check(data) else { return nil }
        out.append(checkSymbols[c])
        return String(out)
    }

    /// `XXXX-XXXX-XXXX-XXXX-C`: how a code is printed for people.
    public static func display(_ code: String) -> String {
        let c = Array(code)
        guard c.count == dataLength + 1 else { return code }
        return stride(from: 0, to: dataLength, by: 4).map { String(c[$0..<$0 + 4]) }.joined(separator: "-") + "-" + String(c[dataLength])
    }

    static func value(_ ch: Character) -> Int? {
        switch ch {
        case "O": return 0
        case "I", "L": return 1
        default: return alphabet.firstIndex(of: ch)
        }
    }

    /// The 80-bit number modulo 37.
    static func check(_ digits: [Int]) -> Int {
        digits.reduce(0) { ($0 * 32 + $1) % 37 }
    }
}
