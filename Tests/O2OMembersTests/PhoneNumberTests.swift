import Foundation
import O2OCore
import O2OMembers
import Testing

@Suite("Phone numbers: one E.164 key whatever a channel typed, masked wherever members are listed")
struct PhoneNumberTests {
    @Test(arguments: [
        "13812345678", "+86 138 1234 5678", "8613812345678", "+8613812345678", "0086 13812345678",
        "138-1234-5678", " +86 (138) 1234-5678 ", "+86.138.1234.5678",
    ])
    func normalize_chineseMobileInAnyCommonForm_isOneE164Number(_ text: String) throws {
        #expect(try PhoneNumber.normalize(text) == "+8613812345678")
    }

    @Test(arguments: [
        ("+44 7911 123456", "+447911123456"), ("+1 (415) 555-0100", "+14155550100"), ("0044 7911 123456", "+447911123456"),
        ("+852 5123 4567", "+85251234567"), ("+86 199 0000 0000", "+8619900000000"), ("15000000000", "+8615000000000"),
    ])
    func normalize_otherCountriesAndEveryChinesePrefix_areE164(_ text: String, _ e164: String) throws {
        #expect(try PhoneNumber.normalize(text) == e164)
    }

    @Test(arguments: [
        ("", PhoneNumber.Invalid.empty), ("   ", .empty), ("abc", .notDigits), ("138-1234-567a", .notDigits), ("+", .notDigits),
        ("++8613812345678", .notDigits), ("1381234567", .notChineseMobile), ("12812345678", .notChineseMobile),
        ("+86 128 1234 5678", .notChineseMobile), ("+86 138 1234 567", .notChineseMobile), ("23812345678", .notChineseMobile),
        ("12345", .notChineseMobile), ("+1234567", .notE164), ("+0123456789", .notE164), ("+1234567890123456", .notE164),
        ("138１2345678", .notDigits),
    ])
    func normalize_whatIsNotAMobileNumber_isRefusedWithTheReason(_ text: String, _ reason: PhoneNumber.Invalid) {
        #expect(throws: reason) { try PhoneNumber.normalize(text) }
    }

    @Test func validate_namesTheFieldAndNeverEchoesTheDigits() {
        var v = Validator()
        let e164 = PhoneNumber.validate("+86 138 1234 567", "customer.phone", required: true, &v)
        #expect(e164 == nil)
        #expect(v.errors.map(\.field) == ["customer.phone"])
        #expect(!v.errors[0].message.contains("1234"))
    }

    @Test(arguments: [
        ("+8613812345678", "138****5678"), ("+447911123456", "+44****3456"), ("+14155550100", "+14****0100"),
        ("+85251234567", "+85****4567"), ("+6512345678", "+65****78"), ("13812345678", "****"), ("+86", "****"),
    ])
    func mask_showsTheFirstAndLastDigitsOnly(_ e164: String, _ masked: String) {
        #expect(PhoneNumber.mask(e164) == masked)
    }
}
