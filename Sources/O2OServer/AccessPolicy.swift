import Foundation
import HTTPTypes
import O2OCore
import OpenAPIRuntime

/// The one place that decides who may call which operation.
///
/// - no or invalid credentials on a protected operation → 401;
/// - a role without the operation's permission → 403 (the operation itself is off limits);
/// - data outside the caller's scope → 404 from the services (an id outside a scope reveals nothing).
///
/// Operations missing from the table are refused, so a new endpoint is closed until it is listed.
public struct AccessPolicy: ServerMiddleware {
    /// nil: public (no credentials needed).
    public static let operations: [String: Permission?] = [
        "login": nil,
        "logout": .sessionSelf,
        "getCurrentPrincipal": .sessionSelf,
        "listOrganisations": .organisationsRead,
        "getOrganisation": .organisationsRead,
        "createOrganisation": .organisationsManage,
        "listLocations": .locationsRead,
        "getLocation": .locationsRead,
        "listLocationsCovering": .locationsRead,
        "createLocation": .locationsCreate,
        "updateLocation": .locationsUpdate,
        "listBrands": .catalogRead,
        "createBrand": .catalogManage,
        "listCategories": .catalogRead,
        "createCategory": .catalogManage,
        "updateCategory": .catalogManage,
        "listProducts": .catalogRead,
        "createProduct": .catalogManage,
        "getProduct": .catalogRead,
        "updateProduct": .catalogManage,
        "createSku": .catalogManage,
        "listSkus": .catalogRead,
        "getSku": .catalogRead,
        "updateSku": .catalogManage,
        "listSkuPriceHistory": .catalogRead,
        "listChannels": .catalogRead,
        "createChannel": .catalogManage,
        "listListings": .catalogRead,
        "setListings": .catalogManage,
        "listPriceLists": .catalogRead,
        "createPriceList": .pricesManage,
        "getPriceList": .catalogRead,
        "updatePriceList": .pricesManage,
        "listPriceListEntries": .catalogRead,
        "setPriceListEntries": .pricesManage,
        "resolvePrices": .catalogRead,
        "importCatalog": .catalogManage,
        "exportCatalog": .catalogRead,
        "listInventoryBalances": .inventoryRead,
        "listInventoryMovements": .inventoryRead,
        "postInventoryMovements": .inventoryManage,
        "reserveStock": .inventoryReserve,
        "getReservation": .inventoryRead,
        "releaseReservation": .inventoryReserve,
        "consumeReservation": .inventoryReserve,
        "allocateReservation": .inventoryReserve,
        "quoteOrder": .ordersPlace,
        "placeOrder": .ordersPlace,
        "listOrders": .ordersRead,
        "getOrder": .ordersRead,
        "cancelOrder": .ordersManage,
        "cancelOrderLines": .ordersManage,
        "rejectOrderAssignment": .ordersManage,
        "advanceOrder": .ordersManage,
        "holdOrder": .ordersManage,
        "releaseOrderHold": .ordersManage,
        "routeOrder": .ordersManage,
        "setRoutingRule": .routingConfigure,
        "listRoutingRules": .ordersRead,
        "listMembers": .membersRead,
        "findOrCreateMember": .membersManage,
        "getMember": .membersRead,
        "updateMember": .membersManage,
        "linkMemberIdentity": .membersManage,
        "unlinkMemberIdentity": .membersManage,
        "getMemberPoints": .membersRead,
        "listMemberPointsEntries": .membersRead,
        "adjustMemberPoints": .pointsAdjust,
        "getMemberWallet": .membersRead,
        "listMemberWalletEntries": .membersRead,
        "topUpMemberWallet": .walletTopUp,
        "getMemberTiers": .membersRead,
        "listMemberConsents": .membersRead,
        "setMemberConsent": .membersManage,
        "exportMember": .membersPrivacy,
        "eraseMember": .membersPrivacy,
        "mergeMember": .membersMerge,
        "listMemberMerges": .membersRead,
        "getMemberMerge": .membersRead,
        "reverseMemberMerge": .membersMerge,
        "listMemberReferrals": .membersRead,
        "getReferralPolicy": .membersRead,
        "setReferralPolicy": .membersConfigure,
        "priceCart": .ordersPlace,
        "listPromotions": .promotionsRead,
        "createPromotion": .promotionsManage,
        "getPromotion": .promotionsRead,
        "setPromotionStatus": .promotionsManage,
        "getPromotionReport": .promotionsRead,
        "listCouponTemplates": .promotionsRead,
        "createCouponTemplate": .promotionsManage,
        "generateCouponCodes": .promotionsManage,
        "distributeCoupons": .promotionsManage,
        "listCoupons": .membersRead,
        "claimCoupon": .membersManage,
        "setMemberTiers": .membersConfigure,
        "planDeliveryRoutes": .ordersManage,
        "listDeliveryRoutes": .ordersRead,
        "getDeliveryRoute": .ordersRead,
        "dispatchDeliveryRoute": .ordersManage,
        "confirmDeliveryStop": .ordersManage,
        "listFulfillmentOrders": .ordersRead,
        "getFulfillmentOrder": .ordersRead,
        "acceptFulfillmentOrder": .fulfillmentWork,
        "rejectFulfillmentOrder": .fulfillmentWork,
        "transitionFulfillmentOrder": .fulfillmentWork,
        "verifyPickup": .fulfillmentWork,
        "simulateRouting": .routingConfigure,
        "recordPosSales": .posSell,
        "editOrder": .ordersManage,
        "listCashOnDeliveryDue": .paymentsReconcile,
        "remitCashOnDelivery": .paymentsReconcile,
        "listOrderChanges": .ordersRead,
        "getChannelAtp": .inventoryRead,
        "listNearbyStock": .inventoryRead,
        "setChannelPool": .inventoryConfigure,
        "getChannelPool": .inventoryRead,
        "listSafetyStock": .inventoryRead,
        "setSafetyStock": .inventoryConfigure,
        "postStockCount": .inventoryManage,
        "getStockCount": .inventoryRead,
        "listTransfers": .inventoryRead,
        "requestTransfer": .inventoryManage,
        "getTransfer": .inventoryRead,
        "shipTransfer": .inventoryManage,
        "receiveTransfer": .inventoryManage,
        "cancelTransfer": .inventoryManage,
        "getReplenishment": .inventoryRead,
        "replenishStore": .inventoryManage,
        "setReplenishmentRule": .inventoryManage,
        "listUsers": .usersManage,
        "createUser": .usersManage,
        "listApiKeys": .apiKeysManage,
        "createApiKey": .apiKeysManage,
        "revokeApiKey": .apiKeysManage,
        "listAuditEvents": .auditRead,
        "listEventTypes": .eventTypesRead,
        "listWebhookEndpoints": .webhooksManage,
        "createWebhookEndpoint": .webhooksManage,
        "listWebhookDeliveries": .webhooksManage,
        "redeliverWebhook": .webhooksManage,
    ]

    public init() {}

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        try Self.check(operationID: operationID, caller: CurrentRequest.caller)
        return try await next(request, body, metadata)
    }

    public static func check(operationID: String, caller: Caller?) throws(Problem) {
        guard let entry = operations[operationID] else {
            throw Problem.forbidden("Operation \(operationID) is not open to any role.")
        }
        guard let permission = entry else { return }
        guard let caller else { throw Problem.unauthorized() }
        guard caller.principal.can(permission) else {
            throw Problem.forbidden("Role \(caller.principal.role.rawValue) lacks \(permission.rawValue).")
        }
    }
}
