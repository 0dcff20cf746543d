import Foundation
@testable import O2OCatalog
import O2OCore
import Testing

@Suite("GTIN check digits")
struct GTINTests {
    struct Vector: Decodable {
        let number: String
        let valid: Bool
    }

    /// ../shared/data/gs1/gtin_vectors.json, next to the package; absent in a bare checkout.
    static var vectorsURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/data/gs1/gtin_vectors.json").standardizedFileURL
    }

    @Test func isValid_agreesWithEveryPublishedVector() throws {
        // setup: the vectors come from python-stdnum's tests; without the file there is nothing to compare against
        guard let data = FileManager.default.contents(atPath: Self.vectorsURL.path) else {
            // The shared data folder is not checked out next to the package: nothing to check here.
            return
        }
        let vectors = try JSONDecoder().decode([Vector].self, from: data)
        // check
        #expect(vectors.count >= 9)
        #expect(vectors.contains { !$0.valid }, "the vectors include invalid numbers")
        for v in vectors {
            #expect(GTIN.isValid(v.number) == v.valid, "\(v.number): expected valid=\(v.valid), problem: \(GTIN.problem(v.number) ?? "none")")
        }
    }

    @Test func ean13_appendsTheCheckDigitThatMakesTheCodeValid() {
        // act, check: known codes get their known check digit
        #expect(GTIN.ean13("750103131130") == "7501031311309")
        #expect(GTIN.ean13("978047111709") == "9780471117094")
        // every generated code is valid, and changing its last digit makes it invalid
        for n in [0, 1, 7, 42, 999, 12_345, 99_999] {
            let code = barcode(n)
            #expect(code.count == 13 && GTIN.isValid(code), "\(code)")
            let last = code.last!.wholeNumberValue!
            #expect(!GTIN.isValid(String(code.dropLast()) + String((last + 1) % 10)))
        }
    }

    @Test func problem_saysWhatIsWrong() {
        #expect(GTIN.problem("7501031311308")?.contains("expected 9") == true)
        #expect(GTIN.problem("75010313113") != nil)  // 11 digits
        #expect(GTIN.problem("75010313113O9") != nil)  // a letter O
        #expect(GTIN.problem("") != nil)
        #expect(GTIN.problem("７３５１３５３７") != nil)  // full-width digits are not ASCII digits
        #expect(GTIN.problem("73513537") == nil)
    }
}

@Suite("CSV reading and writing")
struct CSVTests {
    @Test func parse_quotedFields_keepCommasAndDoubledQuotes() throws {
        // act
        let records = try CSV.parse("a,\"b,c\",\"say \"\"hi\"\"\",,\"\"\n")
        // check
        #expect(records.map(\.fields) == [["a", "b,c", "say \"hi\"", "", ""]])
    }

    @Test func parse_multiLineField_recordsAfterItStartOnTheirRealLine() throws {
        // setup: line 2's record spans lines 2–4
        let text = "code,note\nA,\"first\nsecond\nthird\"\nB,x\n\nC,y"
        // act
        let records = try CSV.parse(text)
        // check: the blank line 6 is dropped; C is on line 7 and has no line break after it
        #expect(records.map(\.line) == [1, 2, 5, 7])
        #expect(records[1].fields == ["A", "first\nsecond\nthird"])
        #expect(records.map { $0.fields[0] } == ["code", "A", "B", "C"])
    }

    @Test func parse_crlfLineEnds_andByteOrderMark() throws {
        // act
        let records = try CSV.parse("\u{FEFF}code,name\r\nA,\"x\r\ny\"\r\nB,z\r\n")
        // check: the BOM is not part of the first header; CRLF inside quotes is kept as written
        #expect(records.map(\.fields) == [["code", "name"], ["A", "x\r\ny"], ["B", "z"]])
        #expect(records.map(\.line) == [1, 2, 4])
    }

    @Test func line_thenParse_roundTripsAwkwardFields() throws {
        // setup
        let rows: [[String]] = [
            ["plain", "with,comma", "with \"quotes\"", "", "多行\n文本", "cr\rhere", "crlf\r\nhere"],
            ["男士纯棉圆领T恤", "Men's Cotton Crew Tee", "colour=黑色;size=M", "199.00", " spaced ", "\"", ","],
        ]
        // act
        let text = rows.map(CSV.line).joined(separator: "\r\n") + "\r\n"
        let parsed = try CSV.parse(text)
        // check
        #expect(parsed.map(\.fields) == rows)
        #expect(parsed.map(\.line) == [1, 4])
        #expect(CSV.line(["a", "b"]) == "a,b")
    }

    @Test func parse_unterminatedQuote_namesTheLineItOpensOn() {
        // act, check
        #expect(throws: CSV.ParseError.unterminatedQuote(line: 3)) {
            _ = try CSV.parse("h1,h2\nA,B\nC,\"never closed\nmore\n")
        }
        #expect(throws: CSV.ParseError.textAfterQuote(line: 2)) {
            _ = try CSV.parse("h1,h2\nA,\"quoted\"tail\n")
        }
    }
}

@Suite("Money amounts as text")
struct MoneyTextTests {
    @Test(arguments: [("199", 19_900), ("199.5", 19_950), ("199.00", 19_900), ("0.01", 1), ("0", 0), ("1234567.89", 123_456_789)] as [(String, Int64)])
    func parseMinorUnits_readsDecimalAmountsExactly(_ text: String, _ minor: Int64) {
        #expect(Money.parseMinorUnits(text) == minor)
    }

    @Test(arguments: ["-1", "1.234", "abc", "1.", ".5", "", "1,5", "1.2.3", "+1", " 1", "1e3", "１２"])
    func parseMinorUnits_rejectsWhatIsNotAPlainAmount(_ text: String) {
        #expect(Money.parseMinorUnits(text) == nil)
    }

    @Test func yen_hasNoDecimals() {
        #expect(Money.parseMinorUnits("1500", currency: "JPY") == 1500)
        #expect(Money.parseMinorUnits("1500.5", currency: "JPY") == nil)
        #expect(Money.parseMinorUnits("1500.", currency: "JPY") == nil)
        #expect(Money.decimal(1500, currency: "JPY") == "1500")
    }

    @Test func decimal_writesTheCurrencysDecimals_andParsesBack() {
        #expect(Money.decimal(19_900) == "199.00")
        #expect(Money.decimal(19_950) == "199.50")
        #expect(Money.decimal(1) == "0.01")
        #expect(Money.decimal(0) == "0.00")
        #expect(Money.decimal(-150) == "-1.50")
        for n: Int64 in [0, 1, 9, 10, 99, 100, 19_999, 123_456_789] {
            #expect(Money.parseMinorUnits(Money.decimal(n)) == n)
        }
    }
}

@Suite("Stored JSON of options, attributes and images")
struct StoredJSONTests {
    @Test func json_ofAwkwardStrings_decodesBackEqual() throws {
        // setup
        let map = ["颜色": "黑\"色", "size": "M\\L", "note": "line\nbreak\t\u{1}", "": "empty key"]
        let list = ["https://img.example.com/a b.jpg", "引号\"", "\u{7F}"]
        // act
        let mapText = CatalogRows.json(map), listText = CatalogRows.json(list)
        // check
        #expect(try JSONDecoder().decode([String: String].self, from: Data(mapText.utf8)) == map)
        #expect(try JSONDecoder().decode([String].self, from: Data(listText.utf8)) == list)
        #expect(CatalogRows.json(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
    }
}
