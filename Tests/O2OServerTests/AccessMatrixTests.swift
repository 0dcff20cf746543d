import Foundation
import HTTPTypes
import O2OCatalog
import O2ONetwork
import O2OAPI
import O2OCore
import O2OServer
import O2OTestSupport
import Testing

@Suite("Who may do what: every operation × every role")
struct AccessMatrixTests {
    /// One representative request per operation.
    static func requests(_ s: TestServer) async throws -> [String: (HTTPRequest.Method, String, String?)] {
        let locs = try await s.locations()
        let store = locs.first { $0.kind == .store }!
        let org = NetworkService.hqOrganisationId
        let keys = try await s.services.identity.listApiKeys(limit: 1, cursor: nil)
        let c = try await CatalogFixture.make(s.services)
        let product = #"{"code":"AM-P2","name":"Tee","brandId":"\#(c.brandId)","categoryId":"\#(c.categoryId)","optionNames":["size"],"skus":[{"code":"AM-P2-S","options":{"size":"S"},"listPrice":100}]}"#
        return [
            "listBrands": (.get, "/api/v1/brands", nil),
            "createBrand": (.post, "/api/v1/brands", #"{"code":"B-X","name":"X"}"#),
            "listCategories": (.get, "/api/v1/categories", nil),
            "createCategory": (.post, "/api/v1/categories", #"{"code":"C-X","name":"X"}"#),
            "updateCategory": (.patch, "/api/v1/categories/\(c.categoryId)", #"{"name":"Renamed"}"#),
            "listProducts": (.get, "/api/v1/products?q=am-p", nil),
            "createProduct": (.post, "/api/v1/products", product),
            "getProduct": (.get, "/api/v1/products/\(c.productId)", nil),
            "updateProduct": (.patch, "/api/v1/products/\(c.productId)", #"{"name":"New name"}"#),
            "createSku": (.post, "/api/v1/products/\(c.productId)/skus", #"{"code":"AM-P-L","options":{"size":"L"},"listPrice":9900}"#),
            "listSkus": (.get, "/api/v1/skus?productId=\(c.productId)", nil),
            "getSku": (.get, "/api/v1/skus/\(c.skuId)", nil),
            "updateSku": (.patch, "/api/v1/skus/\(c.skuId)", #"{"listPrice":8900}"#),
            "listSkuPriceHistory": (.get, "/api/v1/skus/\(c.skuId)/price-history", nil),
            "listChannels": (.get, "/api/v1/channels", nil),
            "createChannel": (.post, "/api/v1/channels", #"{"code":"CH-X","name":"X","kind":"app"}"#),
            "listListings": (.get, "/api/v1/listings?channelId=AM-WEB", nil),
            "setListings": (.post, "/api/v1/listings", #"{"channelId":"AM-WEB","items":[{"sku":"AM-P-M","publishAt":"2026-01-01T00:00:00Z"}]}"#),
            "listPriceLists": (.get, "/api/v1/price-lists", nil),
            "createPriceList": (.post, "/api/v1/price-lists", #"{"code":"PL-X","name":"X","priority":9000}"#),
            "getPriceList": (.get, "/api/v1/price-lists/\(c.priceListId)", nil),
            "updatePriceList": (.patch, "/api/v1/price-lists/\(c.priceListId)", #"{"name":"Renamed"}"#),
            "listPriceListEntries": (.get, "/api/v1/price-lists/\(c.priceListId)/entries", nil),
            "setPriceListEntries": (.post, "/api/v1/price-lists/\(c.priceListId)/entries", #"{"items":[{"sku":"AM-P-M","price":8800}]}"#),
            "resolvePrices": (.post, "/api/v1/prices/resolve", #"{"channelId":"AM-WEB","skus":["AM-P-M"]}"#),
            "importCatalog": (.post, "/api/v1/catalog/imports/prices?dryRun=true", "price_list_code,sku_code,price\nAM-PL,AM-P-M,88.00\n"),
            "exportCatalog": (.get, "/api/v1/catalog/exports/prices", nil),
            "listInventoryBalances": (.get, "/api/v1/inventory/balances?nonZero=true", nil),
            "listInventoryMovements": (.get, "/api/v1/inventory/movements?sku=AM-P-M", nil),
            "postInventoryMovements": (.post, "/api/v1/inventory/movements", #"{"locationId":"\#(store.id)","kind":"receipt","lines":[{"sku":"AM-P-M","quantity":1}]}"#),
            "reserveStock": (.post, "/api/v1/inventory/reservations", #"{"lines":[{"sku":"AM-P-M","locationId":"\#(store.id)","quantity":1}]}"#),
            "getReservation": (.get, "/api/v1/inventory/reservations/res_missing", nil),
            "releaseReservation": (.post, "/api/v1/inventory/reservations/res_missing/release", nil),
            "consumeReservation": (.post, "/api/v1/inventory/reservations/res_missing/consume", #"{"lines":[{"line":0,"quantity":1}]}"#),
            "allocateReservation": (.post, "/api/v1/inventory/reservations/res_missing/allocate", #"{"allocations":[{"line":0,"locationId":"SH-001"}]}"#),
            "getChannelAtp": (.get, "/api/v1/inventory/atp?channel=AM-WEB&sku=AM-P-M", nil),
            "quoteOrder": (.post, "/api/v1/quotes", #"{"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store.id)","lines":[{"sku":"AM-P-M","quantity":1}]}"#),
            "placeOrder": (.post, "/api/v1/orders", #"{"channelId":"AM-WEB","method":"pickup","pickupLocationId":"\#(store.id)","lines":[{"sku":"AM-P-M","quantity":0}]}"#),
            "listOrders": (.get, "/api/v1/orders?status=allocated", nil),
            "getOrder": (.get, "/api/v1/orders/ord_missing", nil),
            "cancelOrder": (.post, "/api/v1/orders/ord_missing/cancel", #"{"reason":"test"}"#),
            "cancelOrderLines": (.post, "/api/v1/orders/ord_missing/lines/cancel", #"{"reason":"test","lines":[{"line":0,"quantity":1}]}"#),
            "rejectOrderAssignment": (.post, "/api/v1/orders/ord_missing/reject", #"{"locationId":"\#(store.id)","reason":"out_of_stock"}"#),
            "advanceOrder": (.post, "/api/v1/orders/ord_missing/transitions", #"{"status":"released"}"#),
            "holdOrder": (.post, "/api/v1/orders/ord_missing/holds", #"{"kind":"fraud"}"#),
            "releaseOrderHold": (.post, "/api/v1/orders/ord_missing/holds/release", #"{"kind":"fraud"}"#),
            "routeOrder": (.post, "/api/v1/orders/ord_missing/route", #"{"note":"stock arrived"}"#),
            "listCashOnDeliveryDue": (.get, "/api/v1/cod-remittances", nil),
            "remitCashOnDelivery": (.post, "/api/v1/cod-remittances", #"{"collector":"\#(store.id)","paymentIds":["pay_missing"],"amount":100,"reference":"R-1"}"#),
            "editOrder": (.post, "/api/v1/orders/ord_missing/edits", #"{"removeLines":[0]}"#),
            "listOrderChanges": (.get, "/api/v1/orders/ord_missing/changes", nil),
            "recordPosSales": (.post, "/api/v1/pos/sales", #"{"sales":[{"transactionId":"T1","locationId":"\#(store.id)","soldAt":"2026-01-01T00:00:00Z","lines":[{"sku":"AM-P-M","quantity":0,"unitPrice":100}],"payments":[{"tender":"cash","amount":100}]}]}"#),
            "listRoutingRules": (.get, "/api/v1/routing-rules", nil),
            "listMembers": (.get, "/api/v1/members", nil),
            "findOrCreateMember": (.post, "/api/v1/members", #"{"phone":"13800138000","channel":"pos"}"#),
            "getMember": (.get, "/api/v1/members/mbr_missing", nil),
            "updateMember": (.patch, "/api/v1/members/mbr_missing", #"{"profile":{"name":"X"}}"#),
            "linkMemberIdentity": (.post, "/api/v1/members/mbr_missing/identities", #"{"kind":"pos_card_number","externalId":"C-1"}"#),
            "unlinkMemberIdentity": (.post, "/api/v1/members/mbr_missing/identities/unlink", #"{"kind":"pos_card_number","externalId":"C-1"}"#),
            "getMemberPoints": (.get, "/api/v1/members/mbr_missing/points", nil),
            "listMemberPointsEntries": (.get, "/api/v1/members/mbr_missing/points/entries", nil),
            "adjustMemberPoints": (.post, "/api/v1/members/mbr_missing/points/adjustments", #"{"delta":10,"reason":"matrix"}"#),
            "getMemberWallet": (.get, "/api/v1/members/mbr_missing/wallet", nil),
            "listMemberWalletEntries": (.get, "/api/v1/members/mbr_missing/wallet/entries", nil),
            "getMemberTiers": (.get, "/api/v1/member-tiers", nil),
            "listMemberConsents": (.get, "/api/v1/members/mbr_missing/consents", nil),
            "setMemberConsent": (.put, "/api/v1/members/mbr_missing/consents", #"{"channel":"sms","granted":true,"source":"pos"}"#),
            "exportMember": (.get, "/api/v1/members/mbr_missing/export", nil),
            "eraseMember": (.post, "/api/v1/members/mbr_missing/erase", #"{"reason":"asked at the counter"}"#),
            "mergeMember": (.post, "/api/v1/members/mbr_missing/merges", #"{"sourceMemberId":"mbr_other"}"#),
            "listMemberMerges": (.get, "/api/v1/members/mbr_missing/merges", nil),
            "getMemberMerge": (.get, "/api/v1/member-merges/mmg_missing", nil),
            "reverseMemberMerge": (.post, "/api/v1/member-merges/mmg_missing/reverse", nil),
            "listMemberReferrals": (.get, "/api/v1/members/mbr_missing/referrals", nil),
            "getReferralPolicy": (.get, "/api/v1/referral-policy", nil),
            "setReferralPolicy": (.put, "/api/v1/referral-policy", #"{"points":200,"returnWindowDays":30}"#),
            "getPointsEarnRules": (.get, "/api/v1/points-earn-rules", nil),
            "setPointsEarnRules": (.put, "/api/v1/points-earn-rules", #"{"rules":[{"percent":100}]}"#),
            "listMemberSegments": (.get, "/api/v1/member-segments", nil),
            "createMemberSegment": (.post, "/api/v1/member-segments", #"{"code":"matrix","name":"Matrix","rule":{"birthdayMonths":[5]}}"#),
            "getMemberSegment": (.get, "/api/v1/member-segments/seg_missing", nil),
            "listMemberSegmentMembers": (.get, "/api/v1/member-segments/seg_missing/members", nil),
            "refreshMemberSegment": (.post, "/api/v1/member-segments/seg_missing/refresh", nil),
            "sendSegmentMessages": (.post, "/api/v1/member-segments/seg_missing/messages", #"{"templateCode":"matrix"}"#),
            "listMessageTemplates": (.get, "/api/v1/message-templates", nil),
            "createMessageTemplate": (.post, "/api/v1/message-templates", #"{"code":"matrix","channel":"sms","body":"Hi {{name}}"}"#),
            "getMessagingPolicy": (.get, "/api/v1/messaging-policy", nil),
            "setMessagingPolicy": (.put, "/api/v1/messaging-policy", #"{"capPerChannel":2,"windowDays":7}"#),
            "listMemberMessages": (.get, "/api/v1/member-messages?memberId=mbr_missing", nil),
            "priceCart": (.post, "/api/v1/pricing/carts", #"{"channelId":"AM-WEB","lines":[{"sku":"AM-P-M","quantity":1}]}"#),
            "listPromotions": (.get, "/api/v1/promotions", nil),
            "createPromotion": (.post, "/api/v1/promotions", #"{"name":"matrix","where":{}}"#),
            "getPromotion": (.get, "/api/v1/promotions/prm_missing", nil),
            "setPromotionStatus": (.post, "/api/v1/promotions/prm_missing/status", #"{"status":"active"}"#),
            "getPromotionReport": (.get, "/api/v1/promotions/prm_missing/report", nil),
            "listCouponTemplates": (.get, "/api/v1/coupon-templates", nil),
            "createCouponTemplate": (.post, "/api/v1/coupon-templates", #"{"name":"matrix","validFrom":"2020-01-01T00:00:00Z","validTo":"2099-01-01T00:00:00Z"}"#),
            "generateCouponCodes": (.post, "/api/v1/coupon-templates/cpt_missing/codes", #"{"count":1}"#),
            "distributeCoupons": (.post, "/api/v1/coupon-templates/cpt_missing/distributions", #"{"memberIds":[]}"#),
            "listCoupons": (.get, "/api/v1/coupons?memberId=mbr_missing", nil),
            "createFlashSale": (.post, "/api/v1/flash-sales", #"{"name":"matrix","skuId":"NO-SKU","price":1,"quantity":1,"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z"}"#),
            "getFlashSale": (.get, "/api/v1/flash-sales/fls_missing", nil),
            "listFlashSales": (.get, "/api/v1/flash-sales", nil),
            "setFlashSaleStatus": (.post, "/api/v1/flash-sales/fls_missing/status", #"{"status":"ended"}"#),
            "setGroupBuyStatus": (.post, "/api/v1/group-buys/gby_missing/status", #"{"status":"ended"}"#),
            "createGroupBuy": (.post, "/api/v1/group-buys", #"{"name":"matrix","skuId":"NO-SKU","price":1,"groupSize":2,"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z"}"#),
            "listGroupBuys": (.get, "/api/v1/group-buys", nil),
            "getGroupBuy": (.get, "/api/v1/group-buys/gby_missing", nil),
            "listBuyingGroups": (.get, "/api/v1/group-buys/gby_missing/groups", nil),
            "getBuyingGroup": (.get, "/api/v1/group-buys/gby_missing/groups/grp_missing", nil),
            "claimCoupon": (.post, "/api/v1/coupons/claim", #"{"code":"X","memberId":"mbr_missing"}"#),
            "setMemberTiers": (.put, "/api/v1/member-tiers", #"{"tiers":[{"code":"regular","name":"R","threshold":0}]}"#),
            "topUpMemberWallet": (.post, "/api/v1/members/mbr_missing/wallet/top-ups", #"{"amount":100,"currency":"CNY","paymentReference":"R-1"}"#),
            "planDeliveryRoutes": (.post, "/api/v1/delivery-routes/plan", #"{"storeId":"NO-SUCH","vehicles":[]}"#),
            "listDeliveryRoutes": (.get, "/api/v1/delivery-routes?storeId=NO-SUCH", nil),
            "getDeliveryRoute": (.get, "/api/v1/delivery-routes/drt_missing", nil),
            "dispatchDeliveryRoute": (.post, "/api/v1/delivery-routes/drt_missing/dispatch", nil),
            "confirmDeliveryStop": (.post, "/api/v1/delivery-routes/drt_missing/stops/1", #"{"outcome":"delivered"}"#),
            "listFulfillmentOrders": (.get, "/api/v1/fulfillment-orders?status=assigned", nil),
            "getFulfillmentOrder": (.get, "/api/v1/fulfillment-orders/ful_missing", nil),
            "acceptFulfillmentOrder": (.post, "/api/v1/fulfillment-orders/ful_missing/accept", nil),
            "rejectFulfillmentOrder": (.post, "/api/v1/fulfillment-orders/ful_missing/reject", #"{"reason":"out_of_stock"}"#),
            "transitionFulfillmentOrder": (.post, "/api/v1/fulfillment-orders/ful_missing/transitions", #"{"to":"picking"}"#),
            "verifyPickup": (.post, "/api/v1/pickups/verify", #"{"locationId":"\#(store.id)","code":"12ab"}"#),
            "listBins": (.get, "/api/v1/warehouses/NO-SUCH/bins", nil),
            "createBins": (.post, "/api/v1/warehouses/NO-SUCH/bins", #"{"bins":[{"code":"A-1","zone":"A","path":1}]}"#),
            "listBinStock": (.get, "/api/v1/warehouses/NO-SUCH/bin-stock", nil),
            "listBinBalances": (.get, "/api/v1/warehouses/NO-SUCH/bin-balances", nil),
            "createWarehouseReceipt": (.post, "/api/v1/warehouses/NO-SUCH/receipts", #"{"source":"supplier","reference":"DN-1","lines":[{"sku":"AM-P-M","quantity":1}]}"#),
            "getWarehouseReceipt": (.get, "/api/v1/warehouse-receipts/rcp_missing", nil),
            "putAwayWarehouseReceipt": (.post, "/api/v1/warehouse-receipts/rcp_missing/putaway", #"{"lines":[{"line":1,"bin":"A-1","quantity":1}]}"#),
            "listPickWaves": (.get, "/api/v1/warehouses/NO-SUCH/waves", nil),
            "createPickWave": (.post, "/api/v1/warehouses/NO-SUCH/waves", #"{"limit":10}"#),
            "getPickWave": (.get, "/api/v1/pick-waves/wav_missing", nil),
            "confirmPicks": (.post, "/api/v1/pick-waves/wav_missing/picks", #"{"picks":[{"seq":1,"quantity":1}]}"#),
            "countBin": (.post, "/api/v1/warehouses/NO-SUCH/bin-counts", #"{"bin":"A-1","lines":[{"sku":"AM-P-M","counted":1}]}"#),
            "listCarriers": (.get, "/api/v1/carriers", nil),
            "getCarrier": (.get, "/api/v1/carriers/NO-SUCH", nil),
            "createCarrier": (.post, "/api/v1/carriers", #"{"code":"AM-X","name":"X","kind":"carrier","services":[]}"#),
            "updateCarrier": (.patch, "/api/v1/carriers/NO-SUCH", #"{"name":"Renamed"}"#),
            "listShipments": (.get, "/api/v1/shipments?status=delivered", nil),
            "getShipment": (.get, "/api/v1/shipments/shp_missing", nil),
            "createShipment": (.post, "/api/v1/shipments", #"{"fulfillmentOrderId":"ful_missing","carrier":"NO-SUCH","service":"standard","parcels":[{"weightGrams":500}]}"#),
            "importTrackingEvents": (.post, "/api/v1/shipments/tracking-events/import", "tracking_number,status,at\nNO-SUCH,delivered,2026-12-01T09:00:00Z\n"),
            "setRoutingRule": (.put, "/api/v1/routing-rules", #"{"name":"matrix","maxLocations":0}"#),
            "simulateRouting": (.post, "/api/v1/routing-rules/simulate", #"{"rule":{"name":"matrix","maxLocations":0},"orderIds":["ord_missing"]}"#),
            "listNearbyStock": (.get, "/api/v1/inventory/nearby?lat=31.23&lng=121.47&sku=AM-P-M&quantity=1", nil),
            "setChannelPool": (.post, "/api/v1/inventory/pools", #"{"channelId":"AM-WEB","reservationTtlSeconds":900}"#),
            "getChannelPool": (.get, "/api/v1/inventory/pools/AM-WEB", nil),
            "listSafetyStock": (.get, "/api/v1/inventory/safety-stock", nil),
            "setSafetyStock": (.post, "/api/v1/inventory/safety-stock", #"{"channelId":"AM-WEB","quantity":1}"#),
            "postStockCount": (.post, "/api/v1/inventory/counts", #"{"locationId":"\#(store.id)","kind":"snapshot","lines":[{"sku":"AM-P-M","quantity":2}]}"#),
            "getStockCount": (.get, "/api/v1/inventory/counts/cnt_missing", nil),
            "listTransfers": (.get, "/api/v1/inventory/transfers?status=requested", nil),
            "requestTransfer": (.post, "/api/v1/inventory/transfers", #"{"fromLocationId":"\#(store.id)","toLocationId":"\#(locs[0].id)","lines":[{"sku":"AM-P-M","quantity":1}]}"#),
            "getTransfer": (.get, "/api/v1/inventory/transfers/trf_missing", nil),
            "shipTransfer": (.post, "/api/v1/inventory/transfers/trf_missing/ship", nil),
            "receiveTransfer": (.post, "/api/v1/inventory/transfers/trf_missing/receive", #"{"lines":[{"line":0,"quantity":1}]}"#),
            "cancelTransfer": (.post, "/api/v1/inventory/transfers/trf_missing/cancel", nil),
            "getReplenishment": (.get, "/api/v1/inventory/replenishment?locationId=\(store.id)", nil),
            "replenishStore": (.post, "/api/v1/inventory/replenishment/transfers", #"{"locationId":"\#(store.id)"}"#),
            "setReplenishmentRule": (.post, "/api/v1/inventory/replenishment-rules", #"{"locationId":"\#(store.id)","min":2,"max":6}"#),
            "login": (.post, "/api/v1/auth/login", #"{"username":"nobody","password":"wrong-password"}"#),
            "logout": (.post, "/api/v1/auth/logout", nil),
            "getCurrentPrincipal": (.get, "/api/v1/me", nil),
            "listOrganisations": (.get, "/api/v1/organisations", nil),
            "getOrganisation": (.get, "/api/v1/organisations/\(org)", nil),
            "createOrganisation": (.post, "/api/v1/organisations", #"{"code":"SUP-X","name":"Supplier X","kind":"supplier"}"#),
            "listLocations": (.get, "/api/v1/locations", nil),
            "getLocation": (.get, "/api/v1/locations/\(store.id)", nil),
            "listLocationsCovering": (.get, "/api/v1/locations/covering?lat=31.23&lng=121.47", nil),
            "createLocation": (.post, "/api/v1/locations", validLocationJSON),
            "updateLocation": (.patch, "/api/v1/locations/\(store.id)", #"{"priority":3}"#),
            "listUsers": (.get, "/api/v1/users", nil),
            "createUser": (.post, "/api/v1/users", #"{"username":"newbie","password":"long-enough-1","role":"marketer"}"#),
            "listApiKeys": (.get, "/api/v1/api-keys", nil),
            "createApiKey": (.post, "/api/v1/api-keys", #"{"name":"shop","channel":"app"}"#),
            "revokeApiKey": (.post, "/api/v1/api-keys/\(keys.items[0].id)/revoke", nil),
            "listAuditEvents": (.get, "/api/v1/audit-events", nil),
            "listEventTypes": (.get, "/api/v1/event-types", nil),
            "listWebhookEndpoints": (.get, "/api/v1/webhook-endpoints", nil),
            "createWebhookEndpoint": (.post, "/api/v1/webhook-endpoints", #"{"url":"http://127.0.0.1:9/h","eventTypes":["*"]}"#),
            "listWebhookDeliveries": (.get, "/api/v1/webhook-deliveries", nil),
            "redeliverWebhook": (.post, "/api/v1/webhook-deliveries/whd_missing/redeliver", nil),
        ]
    }

    @Test func policy_coversEveryOperationInTheSpec() throws {
        let spec = try JSONSerialization.jsonObject(with: Data(OpenAPISpec.json.utf8)) as! [String: Any]
        var ids: Set<String> = []
        for (_, methods) in spec["paths"] as! [String: [String: Any]] {
            for (_, op) in methods { if let id = (op as? [String: Any])?["operationId"] as? String { ids.insert(id) } }
        }
        #expect(ids == Set(AccessPolicy.operations.keys))
    }

    @Test func spec_declaresTheErrorStatusesEveryOperationCanReturn() throws {
        let spec = try JSONSerialization.jsonObject(with: Data(OpenAPISpec.json.utf8)) as! [String: Any]
        for (path, methods) in spec["paths"] as! [String: [String: Any]] {
            for (method, value) in methods {
                let op = value as! [String: Any]
                let statuses = Set((op["responses"] as! [String: Any]).keys)
                let id = op["operationId"] as! String
                #expect(statuses.contains("500"), "\(id) lacks 500")
                let isPublic = (op["security"] as? [Any])?.isEmpty == true
                if !isPublic {
                    #expect(statuses.contains("401"), "\(id) lacks 401")
                    if id != "logout" && id != "getCurrentPrincipal" { #expect(statuses.contains("403"), "\(id) lacks 403") }
                }
                if op["requestBody"] != nil { #expect(statuses.isSuperset(of: ["400", "413", "422"]), "\(method) \(path) lacks 400/413/422") }
                // An enum path parameter ({kind}) is checked like a query parameter: 400, not 404.
                if path.contains("{") && !path.contains("{kind}") { #expect(statuses.contains("404"), "\(id) lacks 404") }
                if op["parameters"] != nil || op["requestBody"] != nil, !path.contains("{") || op["requestBody"] != nil {
                    #expect(statuses.contains("400"), "\(id) lacks 400")
                }
            }
        }
    }

    @Test(arguments: TestDatabase.engines)
    func everyOperation_forEveryRole_answers401_403_orProceeds(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let requests = try await Self.requests(s)
            #expect(Set(requests.keys) == Set(AccessPolicy.operations.keys))
            for (op, (method, path, body)) in requests.sorted(by: { $0.key < $1.key }) {
                let permission = AccessPolicy.operations[op]!
                // no credentials
                let anonymous = try await s.call(method, path, json: body)
                if permission == nil {
                    #expect(anonymous.status != 403, "\(op) anonymous")
                } else {
                    #expect(anonymous.status == 401, "\(op) anonymous got \(anonymous.status)")
                    #expect(anonymous.headers[.contentType] == "application/problem+json")
                }
                for role in Role.allCases where op != "logout" && op != "login" {
                    let r = try await s.call(method, path, as: role, json: body)
                    let allowed = permission.map { role.permissions.contains($0) } ?? true
                    if allowed {
                        #expect(r.status != 401 && r.status != 403 && r.status < 500, "\(op) as \(role.rawValue): \(r.status) \(r.body)")
                    } else {
                        #expect(r.status == 403, "\(op) as \(role.rawValue): expected 403, got \(r.status)")
                        #expect(r.problemType == Problem.typeBase + "forbidden")
                    }
                }
            }
            // A bad or revoked credential is the same as none.
            #expect(try await s.call(.get, "/api/v1/me", token: "o2os_forged").status == 401)
        }
    }

    @Test(arguments: TestDatabase.engines)
    func dataOutsideScope_isNotFound_andListsAreFiltered(_ engine: DatabaseEngine) async throws {
        try await TestServer.run(engine) { (s: TestServer) async throws in
            let all = try await s.locations()
            let me = try await s.call(.get, "/api/v1/me", as: .franchisee).json
            let franchiseOrg = (me["scope"] as! [String: Any])["organisationId"] as! String
            let own = all.filter { $0.organisationId == franchiseOrg }
            let foreign = all.first { $0.organisationId != franchiseOrg && $0.kind == .store }!
            let clerkStore = ((try await s.call(.get, "/api/v1/me", as: .clerk).json["scope"]) as! [String: Any])["locationId"] as! String

            // franchisee: own stores only
            let listed = try await s.call(.get, "/api/v1/locations?limit=200", as: .franchisee).json["items"] as! [[String: Any]]
            #expect(Set(listed.map { $0["id"] as! String }) == Set(own.map(\.id)))
            #expect(!own.isEmpty)
            #expect(try await s.call(.get, "/api/v1/locations/\(foreign.id)", as: .franchisee).status == 404)
            #expect(try await s.call(.patch, "/api/v1/locations/\(foreign.id)", as: .franchisee, json: #"{"priority":9}"#).status == 404)
            #expect(try await s.call(.get, "/api/v1/organisations/\(NetworkService.hqOrganisationId)", as: .franchisee).status == 404)
            #expect(try await s.call(.patch, "/api/v1/locations/\(own[0].id)", as: .franchisee, json: #"{"priority":9}"#).status == 200)

            // store staff: their store only
            let clerkList = try await s.call(.get, "/api/v1/locations", as: .clerk).json["items"] as! [[String: Any]]
            #expect(clerkList.map { $0["id"] as! String } == [clerkStore])
            #expect(try await s.call(.get, "/api/v1/locations/\(foreign.id)", as: .storeManager).status == (foreign.id == clerkStore ? 200 : 404))
            let other = all.first { $0.id != clerkStore }!
            #expect(try await s.call(.patch, "/api/v1/locations/\(other.id)", as: .storeManager, json: #"{"priority":9}"#).status == 404)

            // supplier: no locations of its own
            let supplierList = try await s.call(.get, "/api/v1/locations", as: .supplier).json["items"] as! [[String: Any]]
            #expect(supplierList.isEmpty)
            #expect(try await s.call(.get, "/api/v1/locations/\(all[0].id)", as: .supplier).status == 404)

            // audit: a franchisee sees only its own rows
            let audit = try await s.call(.get, "/api/v1/audit-events?limit=200", as: .franchisee).json["items"] as! [[String: Any]]
            #expect(!audit.isEmpty)
            #expect(audit.allSatisfy { ($0["organisationId"] as? String) == franchiseOrg })

            // nothing of the foreign store changed
            #expect(try await s.services.network.location(foreign.id, scope: .all).priority == foreign.priority)
        }
    }
}
