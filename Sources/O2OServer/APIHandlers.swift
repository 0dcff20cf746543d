import Foundation
import O2ONetwork
import O2OAPI
import O2OCore
import Synchronization

typealias S = Components.Schemas

/// The generated API's handlers: decode, call one service, encode. Access is checked before
/// they run (`AccessPolicy`); scope travels into the services with the caller.
struct APIHandlers: APIProtocol {
    let services: AppServices
    let principalCache: PrincipalCache
    let loginLimiter: LoginLimiter

    var caller: Caller {
        get throws {
            guard let c = CurrentRequest.caller else { throw Problem.unauthorized() }
            return c
        }
    }

    func limit(_ l: Int?) throws -> Int {
        guard let l else { return 50 }
        guard (1...200).contains(l) else { throw Problem.malformed("limit must be between 1 and 200.", errors: [.init("limit", "must be between 1 and 200")]) }
        return l
    }

    // MARK: Auth

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let body) = input.body else { throw Problem.malformed("Expected JSON.") }
        try loginLimiter.check(body.username)
        guard let session = try await services.identity.login(username: body.username, password: body.password) else {
            loginLimiter.fail(body.username)
            throw Problem.unauthorized("Unknown username or wrong password.")
        }
        return .ok(.init(body: .json(.init(token: session.token, expiresAt: session.expiresAt, principal: Self.principal(session.principal)))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        if let credential = CurrentRequest.credential {
            try await services.identity.logout(token: credential, caller: try caller)
            principalCache.evict(credential)
        }
        return .noContent(.init())
    }

    func getCurrentPrincipal(_ input: Operations.GetCurrentPrincipal.Input) async throws -> Operations.GetCurrentPrincipal.Output {
        .ok(.init(body: .json(Self.principal(try caller.principal))))
    }

    // MARK: Organisations

    func listOrganisations(_ input: Operations.ListOrganisations.Input) async throws -> Operations.ListOrganisations.Output {
        let c = try caller
        let page = try await services.network.organisations(
            kind: input.query.kind.flatMap { OrganisationKind(rawValue: $0.rawValue) }, scope: c.principal.scope,
            limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.organisation), nextCursor: page.nextCursor))))
    }

    func createOrganisation(_ input: Operations.CreateOrganisation.Input) async throws -> Operations.CreateOrganisation.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let org = try await services.network.createOrganisation(
            code: b.code, name: b.name, kind: OrganisationKind(rawValue: b.kind.rawValue) ?? .supplier,
            contactPhone: b.contactPhone, caller: try caller)
        return .created(.init(body: .json(Self.organisation(org))))
    }

    func getOrganisation(_ input: Operations.GetOrganisation.Input) async throws -> Operations.GetOrganisation.Output {
        let org = try await services.network.organisation(input.path.organisationId, scope: try caller.principal.scope)
        return .ok(.init(body: .json(Self.organisation(org))))
    }

    // MARK: Locations

    func listLocations(_ input: Operations.ListLocations.Input) async throws -> Operations.ListLocations.Output {
        var f = LocationFilter()
        f.kind = input.query.kind.flatMap { LocationKind(rawValue: $0.rawValue) }
        f.organisationId = input.query.organisationId
        f.cityCode = input.query.cityCode
        f.text = input.query.q
        f.limit = try limit(input.query.limit)
        f.cursor = input.query.cursor
        let page = try await services.network.locations(f, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.location), nextCursor: page.nextCursor))))
    }

    func createLocation(_ input: Operations.CreateLocation.Input) async throws -> Operations.CreateLocation.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let new = NewLocation(
            code: b.code, name: b.name, kind: LocationKind(rawValue: b.kind.rawValue) ?? .store,
            ownership: b.ownership.flatMap { Ownership(rawValue: $0.rawValue) }, organisationId: b.organisationId,
            address: Self.address(b.address), coordinates: Coordinates(lat: b.coordinates.lat, lng: b.coordinates.lng),
            timeZone: b.timeZone, currency: b.currency, openingHours: b.openingHours?.map(Self.hours), capabilities: b.capabilities.map(Self.capabilities),
            dailyCapacity: b.dailyCapacity, priority: b.priority)
        let location = try await services.network.createLocation(new, caller: try caller)
        return .created(.init(body: .json(Self.location(location))))
    }

    func listLocationsCovering(_ input: Operations.ListLocationsCovering.Input) async throws -> Operations.ListLocationsCovering.Output {
        let q = input.query
        let capability: CoverageCapability = q.capability == .pickup ? .pickup : .storeDelivery
        let found = try await services.network.covering(
            Coordinates(lat: q.lat, lng: q.lng), capability: capability, radiusKm: q.radiusKm,
            limit: try limit(q.limit), scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: found.map {
            .init(location: Self.location($0.location), distanceKm: ($0.distanceKm * 1000).rounded() / 1000)
        }))))
    }

    func getLocation(_ input: Operations.GetLocation.Input) async throws -> Operations.GetLocation.Output {
        let location = try await services.network.location(input.path.locationId, scope: try caller.principal.scope)
        return .ok(.init(body: .json(Self.location(location))))
    }

    func updateLocation(_ input: Operations.UpdateLocation.Input) async throws -> Operations.UpdateLocation.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var p = LocationPatch()
        p.name = b.name
        p.address = b.address.map(Self.address)
        p.coordinates = b.coordinates.map { Coordinates(lat: $0.lat, lng: $0.lng) }
        p.timeZone = b.timeZone
        p.openingHours = b.openingHours?.map(Self.hours)
        p.capabilities = b.capabilities.map(Self.capabilities)
        p.dailyCapacity = b.dailyCapacity
        p.priority = b.priority
        p.status = b.status.flatMap { LocationStatus(rawValue: $0.rawValue) }
        p.expectedVersion = b.expectedVersion
        let location = try await services.network.updateLocation(input.path.locationId, p, caller: try caller)
        return .ok(.init(body: .json(Self.location(location))))
    }

    // MARK: Users and API keys

    func listUsers(_ input: Operations.ListUsers.Input) async throws -> Operations.ListUsers.Output {
        let page = try await services.identity.listUsers(scope: try caller.principal.scope, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.user), nextCursor: page.nextCursor))))
    }

    func createUser(_ input: Operations.CreateUser.Input) async throws -> Operations.CreateUser.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let role = Role(rawValue: b.role.rawValue) ?? .clerk
        let scope = try await UserScopes.resolve(role: role, organisationId: b.organisationId, locationId: b.locationId, network: services.network)
        let user = try await services.identity.createUser(
            NewUser(username: b.username, password: b.password, displayName: b.displayName, role: role, scope: scope), caller: try caller)
        return .created(.init(body: .json(Self.user(user))))
    }

    func listApiKeys(_ input: Operations.ListApiKeys.Input) async throws -> Operations.ListApiKeys.Output {
        let page = try await services.identity.listApiKeys(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.apiKey), nextCursor: page.nextCursor))))
    }

    func createApiKey(_ input: Operations.CreateApiKey.Input) async throws -> Operations.CreateApiKey.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let c = try caller
        if let org = b.organisationId { _ = try await services.network.organisation(org, scope: c.principal.scope) }
        let (key, secret) = try await services.identity.createApiKey(name: b.name, channel: b.channel, organisationId: b.organisationId, caller: c)
        return .created(.init(body: .json(.init(apiKey: Self.apiKey(key), secret: secret))))
    }

    func revokeApiKey(_ input: Operations.RevokeApiKey.Input) async throws -> Operations.RevokeApiKey.Output {
        let key = try await services.identity.revokeApiKey(input.path.apiKeyId, caller: try caller)
        principalCache.evictAll()
        return .ok(.init(body: .json(Self.apiKey(key))))
    }

    // MARK: Audit, events, webhooks

    func listAuditEvents(_ input: Operations.ListAuditEvents.Input) async throws -> Operations.ListAuditEvents.Output {
        let q = AuditQuery(entityType: input.query.entityType, entityId: input.query.entityId,
                           limit: try limit(input.query.limit), cursor: input.query.cursor)
        let page = try await services.audit.list(q, scope: try caller.principal.scope)
        return .ok(.init(body: .json(.init(items: page.items.map {
            .init(id: $0.id, at: $0.at, actorId: $0.actorId, action: $0.action, entityType: $0.entityType, entityId: $0.entityId,
                  before: $0.before, after: $0.after, requestId: $0.requestId, organisationId: $0.organisationId, locationId: $0.locationId)
        }, nextCursor: page.nextCursor))))
    }

    func listEventTypes(_ input: Operations.ListEventTypes.Input) async throws -> Operations.ListEventTypes.Output {
        .ok(.init(body: .json(EventCatalog.all.map { .init(name: $0.name, description: $0.description) })))
    }

    func listWebhookEndpoints(_ input: Operations.ListWebhookEndpoints.Input) async throws -> Operations.ListWebhookEndpoints.Output {
        let page = try await services.webhooks.listEndpoints(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.endpoint), nextCursor: page.nextCursor))))
    }

    func createWebhookEndpoint(_ input: Operations.CreateWebhookEndpoint.Input) async throws -> Operations.CreateWebhookEndpoint.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let (endpoint, secret) = try await services.webhooks.createEndpoint(
            url: b.url, description: b.description, eventTypes: b.eventTypes, caller: try caller)
        return .created(.init(body: .json(.init(endpoint: Self.endpoint(endpoint), secret: secret))))
    }

    func listWebhookDeliveries(_ input: Operations.ListWebhookDeliveries.Input) async throws -> Operations.ListWebhookDeliveries.Output {
        let page = try await services.webhooks.listDeliveries(
            status: input.query.status?.rawValue, endpointId: input.query.endpointId,
            limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.delivery), nextCursor: page.nextCursor))))
    }

    func redeliverWebhook(_ input: Operations.RedeliverWebhook.Input) async throws -> Operations.RedeliverWebhook.Output {
        let d = try await services.webhooks.redeliver(input.path.deliveryId, caller: try caller)
        return .ok(.init(body: .json(Self.delivery(d))))
    }
}

// MARK: - Domain ⇄ API types

extension APIHandlers {
    static func principal(_ p: Principal) -> S.Principal {
        .init(id: p.id, kind: p.kind == .apiKey ? .apiKey : .user, name: p.name, role: S.Role(rawValue: p.role.rawValue) ?? .clerk,
              scope: .init(level: S.Scope.LevelPayload(rawValue: p.scope.level.rawValue) ?? .location,
                           organisationId: p.scope.organisationId, locationId: p.scope.locationId),
              permissions: p.role.permissions.map(\.rawValue).sorted())
    }

    static func organisation(_ o: Organisation) -> S.Organisation {
        .init(id: o.id, code: o.code, name: o.name, kind: S.OrganisationKind(rawValue: o.kind.rawValue) ?? .supplier,
              status: S.Organisation.StatusPayload(rawValue: o.status) ?? .inactive, contactPhone: o.contactPhone,
              createdAt: o.createdAt, updatedAt: o.updatedAt)
    }

    static func location(_ l: Location) -> S.Location {
        .init(id: l.id, code: l.code, name: l.name, kind: S.LocationKind(rawValue: l.kind.rawValue) ?? .store,
              ownership: S.Ownership(rawValue: l.ownership.rawValue) ?? .direct, organisationId: l.organisationId,
              address: .init(line1: l.address.line1, provinceCode: l.address.provinceCode, provinceName: l.address.provinceName,
                             cityCode: l.address.cityCode, cityName: l.address.cityName, districtCode: l.address.districtCode,
                             districtName: l.address.districtName, postalCode: l.address.postalCode),
              coordinates: .init(lat: l.coordinates.lat, lng: l.coordinates.lng), timeZone: l.timeZone, currency: l.currency,
              openingHours: l.openingHours.map { .init(weekday: $0.weekday, opens: $0.opens, closes: $0.closes) },
              capabilities: .init(pickup: l.capabilities.pickup, shipFromStore: l.capabilities.shipFromStore,
                                  storeDelivery: l.capabilities.storeDelivery, deliveryRadiusKm: l.capabilities.deliveryRadiusKm,
                                  acceptsReturns: l.capabilities.acceptsReturns),
              dailyCapacity: l.dailyCapacity, priority: l.priority, status: S.LocationStatus(rawValue: l.status.rawValue) ?? .inactive,
              version: l.version, createdAt: l.createdAt, updatedAt: l.updatedAt)
    }

    static func address(_ a: S.Address) -> Address {
        Address(line1: a.line1, provinceCode: a.provinceCode, provinceName: a.provinceName, cityCode: a.cityCode, cityName: a.cityName,
                districtCode: a.districtCode, districtName: a.districtName, postalCode: a.postalCode)
    }

    static func hours(_ h: S.OpeningHours) -> OpeningHours { OpeningHours(weekday: h.weekday, opens: h.opens, closes: h.closes) }

    static func capabilities(_ c: S.Capabilities) -> Capabilities {
        Capabilities(pickup: c.pickup, shipFromStore: c.shipFromStore, storeDelivery: c.storeDelivery,
                     deliveryRadiusKm: c.deliveryRadiusKm, acceptsReturns: c.acceptsReturns)
    }

    static func user(_ u: User) -> S.User {
        .init(id: u.id, username: u.username, displayName: u.displayName, role: S.Role(rawValue: u.role.rawValue) ?? .clerk,
              organisationId: u.organisationId, locationId: u.locationId,
              status: S.User.StatusPayload(rawValue: u.status) ?? .disabled, createdAt: u.createdAt)
    }

    static func apiKey(_ k: ApiKey) -> S.ApiKey {
        .init(id: k.id, name: k.name, channel: k.channel, prefix: k.prefix, organisationId: k.organisationId,
              createdAt: k.createdAt, revokedAt: k.revokedAt)
    }

    static func endpoint(_ e: WebhookEndpoint) -> S.WebhookEndpoint {
        .init(id: e.id, url: e.url, description: e.description, eventTypes: e.eventTypes,
              status: S.WebhookEndpoint.StatusPayload(rawValue: e.status) ?? .disabled, createdAt: e.createdAt)
    }

    static func delivery(_ d: WebhookDelivery) -> S.WebhookDelivery {
        .init(id: d.id, endpointId: d.endpointId, eventId: d.eventId, eventType: d.eventType,
              status: S.DeliveryStatus(rawValue: d.status) ?? .pending, attempts: d.attempts, nextAttemptAt: d.nextAttemptAt,
              lastStatusCode: d.lastStatusCode, lastError: d.lastError, deliveredAt: d.deliveredAt, createdAt: d.createdAt)
    }
}

/// Works out a new user's scope from its role and the organisation or location named.
public enum UserScopes {
    public static func resolve(role: Role, organisationId: String?, locationId: String?, network: NetworkService) async throws -> Scope {
        switch role.scopeLevel {
        case .all:
            return .all
        case .organisation:
            guard let organisationId else {
                throw Problem.validation([.init("organisationId", "is required for role \(role.rawValue)")])
            }
            let org: Organisation
            do { org = try await network.organisation(organisationId, scope: .all) } catch {
                throw Problem.validation([.init("organisationId", "no organisation '\(organisationId)'")])
            }
            let expected: OrganisationKind = role == .supplier ? .supplier : .franchisee
            guard org.kind == expected else {
                throw Problem.validation([.init("organisationId", "role \(role.rawValue) needs a \(expected.rawValue) organisation")])
            }
            return .organisation(org.id)
        case .location:
            guard let locationId else {
                throw Problem.validation([.init("locationId", "is required for role \(role.rawValue)")])
            }
            let loc: Location
            do { loc = try await network.location(locationId, scope: .all) } catch {
                throw Problem.validation([.init("locationId", "no location '\(locationId)'")])
            }
            if role == .warehouse, !loc.kind.isWarehouse {
                throw Problem.validation([.init("locationId", "warehouse staff belong to a warehouse")])
            }
            if role != .warehouse, loc.kind != .store {
                throw Problem.validation([.init("locationId", "store staff belong to a store")])
            }
            return .location(loc.id, organisation: loc.organisationId)
        }
    }
}

/// Failed logins per username in a sliding window; beyond the limit, 429.
final class LoginLimiter: Sendable {
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])
    let limit: Int
    let window: Duration = .seconds(300)

    init(limit: Int) { self.limit = limit }

    func check(_ username: String) throws {
        let now = ContinuousClock.now
        let count = failures.withLock { d -> Int in
            let recent = (d[username] ?? []).filter { now - $0 < window }
            d[username] = recent
            return recent.count
        }
        if count >= limit { throw Problem.tooManyRequests("Too many failed logins for this user; wait a few minutes.") }
    }

    func fail(_ username: String) {
        let now = ContinuousClock.now
        failures.withLock { d in
            if d.count > 100_000 { d.removeAll() }
            d[username, default: []].append(now)
        }
    }
}
