import Foundation
import O2OCatalog
import O2OCore

/// Finds a point for an address that came without coordinates (marketplaces send names:
/// 浙江省 杭州市 西湖区), and the region codes (GB/T 2260) that go with it.
public protocol Geocoder: Sendable {
    func locate(province: String?, city: String?, district: String?) -> GeocodedRegion?
}

public struct GeocodedRegion: Sendable, Equatable {
    public var lat: Double
    public var lng: Double
    public var provinceCode: String?
    public var cityCode: String?
    public var districtCode: String?
    /// How precise the point is: "district", "city" or "province".
    public var precision: String
}

/// The centre of the most specific administrative division an address names, from a table of
/// divisions with coordinates (`adcode,name,longitude,latitude`, 12-digit adcodes as published
/// by the national statistics bureau's division list). Routing needs distance, not a door: the
/// centre of a district is close enough to choose between a store and a warehouse.
public struct RegionCentroids: Geocoder {
    struct Division: Sendable {
        var code: String
        var name: String
        var lat: Double
        var lng: Double
    }

    let provinces: [Division]
    /// Cities by province prefix (2 digits), districts by city prefix (4 digits).
    let cities: [String: [Division]]
    let districts: [String: [Division]]

    public init(csv text: String) throws {
        var provinces: [Division] = []
        var cities: [String: [Division]] = [:]
        var districts: [String: [Division]] = [:]
        var v = Validator()
        for r in try CSV.parse(text).dropFirst() {
            // Divisions listed without a point (a city's 市辖区) have nothing to place.
            if r.fields.count >= 4, r.fields[2].isEmpty, r.fields[3].isEmpty { continue }
            guard r.fields.count >= 4, r.fields[0].count >= 6, r.fields[0].allSatisfy(\.isASCII), let lng = Double(r.fields[2]),
                  let lat = Double(r.fields[3]) else {
                v.add("line \(r.line)", "expected adcode,name,longitude,latitude")
                continue
            }
            let code = String(r.fields[0].prefix(6))
            let d = Division(code: code, name: r.fields[1], lat: lat, lng: lng)
            if code.hasSuffix("0000") { provinces.append(d) }
            else if code.hasSuffix("00") { cities[String(code.prefix(2)), default: []].append(d) }
            else { districts[String(code.prefix(4)), default: []].append(d) }
        }
        try v.finish()
        self.provinces = provinces
        self.cities = cities
        self.districts = districts
    }

    public func locate(province: String?, city: String?, district: String?) -> GeocodedRegion? {
        func matches(_ d: Division, _ name: String?) -> Bool {
            guard let n = name?.trimmingCharacters(in: .whitespaces), !n.isEmpty else { return false }
            return d.name == n || d.name.hasPrefix(n) || n.hasPrefix(d.name)
        }
        guard let p = provinces.first(where: { matches($0, province) }) else { return nil }
        let p2 = String(p.code.prefix(2))
        let c = cities[p2]?.first { matches($0, city) }
        // Municipalities (北京, 上海…) list their districts under a city entry the address does not name.
        let candidates = c.map { districts[String($0.code.prefix(4))] ?? [] } ?? districts.filter { $0.key.hasPrefix(p2) }.flatMap(\.value)
        if let d = candidates.first(where: { matches($0, district) }) {
            return GeocodedRegion(lat: d.lat, lng: d.lng, provinceCode: p.code, cityCode: c?.code ?? String(d.code.prefix(4)) + "00",
                                  districtCode: d.code, precision: "district")
        }
        if let c { return GeocodedRegion(lat: c.lat, lng: c.lng, provinceCode: p.code, cityCode: c.code, districtCode: nil, precision: "city") }
        // A municipality is its own city (上海 上海市).
        return GeocodedRegion(lat: p.lat, lng: p.lng, provinceCode: p.code, cityCode: nil, districtCode: nil,
                              precision: matches(p, city) ? "city" : "province")
    }
}
