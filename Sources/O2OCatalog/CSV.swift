/// RFC 4180 CSV: comma-separated fields, double quotes around fields holding commas, quotes or
/// line breaks, a doubled quote for a quote. Lines end in CRLF or LF.
public enum CSV {
    /// One parsed record with the 1-based line it starts on (a quoted field may span lines).
    public struct Record: Sendable {
        public var line: Int
        public var fields: [String]
    }

    public enum ParseError: Error, Equatable {
        case unterminatedQuote(line: Int)
        case textAfterQuote(line: Int)
    }

    /// Parses the whole text. A UTF-8 byte-order mark is skipped; blank lines are dropped.
    public static func parse(_ text: String) throws(ParseError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, recordLine = 1
        var inQuotes = false, afterQuote = false
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var i = 0
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            afterQuote = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        inQuotes = false
                        afterQuote = true
                    }
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
            } else {
                switch b {
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\n"):
                    endRecord()
                    line += 1
                    recordLine = line
                case UInt8(ascii: "\r"):
                    break
                case UInt8(ascii: "\""):
                    guard field.isEmpty, !afterQuote else { throw .textAfterQuote(line: line) }
                    inQuotes = true
                default:
                    if afterQuote { throw .textAfterQuote(line: line) }
                    field.append(b)
                }
            }
            i += 1
        }
        if inQuotes { throw .unterminatedQuote(line: recordLine) }
        if !field.isEmpty || !fields.isEmpty || afterQuote { endRecord() }
        return records
    }

    /// One record as a line (without the line break), quoting where needed.
    public static func line(_ fields: [String]) -> String {
        fields.map { f in
            if f.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return f
        }.joined(separator: ",")
    }
}
