// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "o2o",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "o2o", targets: ["o2o"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        // Used only by the command plugin that regenerates Sources/O2OAPI/GeneratedSources (scripts/generate-api.sh).
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // Already built for swift-crypto's _CryptoExtras; read directly to take a payment provider's RSA key out of its X.509 certificate.
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "O2OCore",
            dependencies: [
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Named O2ONetwork, not Network: a module called Network shadows Apple's Network framework,
        // which swift-nio-transport-services and async-http-client probe for with canImport(Network).
        .target(
            name: "O2ONetwork",
            dependencies: ["O2OCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "O2OCatalog",
            dependencies: ["O2OCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "O2OInventory",
            dependencies: ["O2OCore"],
            swiftSettings: swiftSettings
        ),
        // Members (S6 会员): identity keyed by a verified mobile number, linked external identities,
        // profiles, the points (积分) and stored-value (储值) ledgers.
        .target(
            name: "O2OMembers",
            dependencies: ["O2OCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Promotions (S2 营销): rules in the 5W shape, the pricing pipeline, coupons, flash sales, effect data.
        .target(
            name: "O2OPromotions",
            dependencies: ["O2OCore", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "O2OOrders",
            dependencies: [
                "O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory", "O2OMembers",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fulfilment at the locations; its route planner (RoutePlanning/) uses Foundation only.
        .target(
            name: "O2OFulfillment",
            dependencies: ["O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory", "O2OMembers", "O2OOrders"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "O2OAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            exclude: ["openapi.yaml", "openapi-generator-config.yaml"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "O2OServer",
            dependencies: [
                "O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory", "O2OOrders", "O2OMembers", "O2OFulfillment", "O2OPromotions", "O2OAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "o2o",
            dependencies: [
                "O2OServer", "O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks (scripts/bench-*.sh): catalog import, price resolution, search, reservations, ATP, order routing, checkout, the Olist order replay, the members ledgers, vehicle routes on CVRPLIB.
        .executableTarget(
            name: "o2o-bench",
            dependencies: [
                "O2OServer", "O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory", "O2OOrders", "O2OMembers", "O2OFulfillment", "O2OPromotions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "O2OTestSupport",
            dependencies: ["O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory", "O2OOrders", "O2OMembers", "O2OFulfillment", "O2OServer"],
            path: "Tests/O2OTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OCoreTests",
            dependencies: ["O2OCore", "O2OTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2ONetworkTests",
            dependencies: ["O2ONetwork", "O2OCore", "O2OTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OCatalogTests",
            dependencies: ["O2OCatalog", "O2OCore", "O2OTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OInventoryTests",
            dependencies: ["O2OInventory", "O2OCatalog", "O2ONetwork", "O2OCore", "O2OServer", "O2OTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OMembersTests",
            dependencies: ["O2OMembers", "O2OCore", "O2OTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OPromotionsTests",
            dependencies: ["O2OPromotions", "O2OCore", "O2OTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OOrdersTests",
            dependencies: ["O2OOrders", "O2OMembers", "O2OInventory", "O2OCatalog", "O2ONetwork", "O2OCore", "O2OServer", "O2OTestSupport",
                           .product(name: "_CryptoExtras", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OFulfillmentTests",
            dependencies: ["O2OFulfillment", "O2OOrders", "O2OInventory", "O2ONetwork", "O2OCore", "O2OServer", "O2OTestSupport",
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "O2OServerTests",
            dependencies: [
                "O2OServer", "O2OCore", "O2ONetwork", "O2OCatalog", "O2OInventory", "O2OOrders", "O2OAPI", "O2OTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
