import Foundation
import O2OAPI
import O2OCatalog
import O2OCore
import OpenAPIRuntime

// MARK: - Catalog and pricing handlers

extension APIHandlers {
    func listBrands(_ input: Operations.ListBrands.Input) async throws -> Operations.ListBrands.Output {
        let page = try await services.catalog.brands(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.brand), nextCursor: page.nextCursor))))
    }

    func createBrand(_ input: Operations.CreateBrand.Input) async throws -> Operations.CreateBrand.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let brand = try await services.catalog.createBrand(code: b.code, name: b.name, nameEn: b.nameEn, caller: try caller)
        return .created(.init(body: .json(Self.brand(brand))))
    }

    func listCategories(_ input: Operations.ListCategories.Input) async throws -> Operations.ListCategories.Output {
        .ok(.init(body: .json(.init(items: try await services.catalog.categories().map(Self.category)))))
    }

    func createCategory(_ input: Operations.CreateCategory.Input) async throws -> Operations.CreateCategory.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let c = try await services.catalog.createCategory(code: b.code, name: b.name, nameEn: b.nameEn, parentId: b.parentId, caller: try caller)
        return .created(.init(body: .json(Self.category(c))))
    }

    func updateCategory(_ input: Operations.UpdateCategory.Input) async throws -> Operations.UpdateCategory.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var p = CatalogService.CategoryPatch()
        p.name = b.name
        p.nameEn = b.nameEn
        if let parent = b.parentId { p.parentId = .some(parent.isEmpty ? nil : parent) }
        p.expectedVersion = b.expectedVersion
        let c = try await services.catalog.updateCategory(input.path.categoryId, p, caller: try caller)
        return .ok(.init(body: .json(Self.category(c))))
    }

    func listProducts(_ input: Operations.ListProducts.Input) async throws -> Operations.ListProducts.Output {
        let q = input.query
        var f = CatalogService.ProductFilter()
        f.text = q.q
        f.categoryId = q.categoryId
        f.brandId = q.brandId
        f.channelId = q.channelId
        f.status = q.status.flatMap { CatalogStatus(rawValue: $0.rawValue) }
        f.limit = try limit(q.limit)
        f.cursor = q.cursor
        let page = try await services.catalog.products(f)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.product), nextCursor: page.nextCursor))))
    }

    func createProduct(_ input: Operations.CreateProduct.Input) async throws -> Operations.CreateProduct.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let new = CatalogService.NewProduct(
            code: b.code, name: b.name, nameEn: b.nameEn, description: b.description, brandId: b.brandId, categoryId: b.categoryId,
            optionNames: b.optionNames, attributes: b.attributes?.additionalProperties ?? [:], images: b.images ?? [], unit: b.unit,
            taxClass: b.taxClass, assortment: b.assortment.flatMap { Assortment(rawValue: $0.rawValue) }, onlineFirstUntil: b.onlineFirstUntil,
            status: b.status.flatMap { CatalogStatus(rawValue: $0.rawValue) }, skus: b.skus.map(Self.newSKU))
        let product = try await services.catalog.createProduct(new, caller: try caller)
        return .created(.init(body: .json(Self.product(product))))
    }

    func getProduct(_ input: Operations.GetProduct.Input) async throws -> Operations.GetProduct.Output {
        .ok(.init(body: .json(Self.product(try await services.catalog.product(input.path.productId)))))
    }

    func updateProduct(_ input: Operations.UpdateProduct.Input) async throws -> Operations.UpdateProduct.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var p = CatalogService.ProductPatch()
        p.name = b.name
        p.nameEn = b.nameEn
        p.description = b.description
        p.brandId = b.brandId
        p.categoryId = b.categoryId
        p.attributes = b.attributes?.additionalProperties
        p.images = b.images
        p.unit = b.unit
        p.taxClass = b.taxClass
        p.assortment = b.assortment.flatMap { Assortment(rawValue: $0.rawValue) }
        if let d = b.onlineFirstUntil { p.onlineFirstUntil = .some(d) }
        p.status = b.status.flatMap { CatalogStatus(rawValue: $0.rawValue) }
        p.expectedVersion = b.expectedVersion
        return .ok(.init(body: .json(Self.product(try await services.catalog.updateProduct(input.path.productId, p, caller: try caller)))))
    }

    func createSku(_ input: Operations.CreateSku.Input) async throws -> Operations.CreateSku.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let sku = try await services.catalog.addSKU(productId: input.path.productId, Self.newSKU(b), caller: try caller)
        return .created(.init(body: .json(Self.sku(sku))))
    }

    func listSkus(_ input: Operations.ListSkus.Input) async throws -> Operations.ListSkus.Output {
        let q = input.query
        var f = CatalogService.SKUFilter()
        f.productId = q.productId
        f.barcode = q.barcode
        f.code = q.code
        f.externalSystem = q.externalSystem
        f.externalCode = q.externalCode
        if (f.externalSystem == nil) != (f.externalCode == nil) {
            throw Problem.malformed("Give externalSystem and externalCode together.", errors: [.init("externalCode", "needs externalSystem")])
        }
        f.limit = try limit(q.limit)
        f.cursor = q.cursor
        let page = try await services.catalog.skus(f)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.sku), nextCursor: page.nextCursor))))
    }

    func getSku(_ input: Operations.GetSku.Input) async throws -> Operations.GetSku.Output {
        .ok(.init(body: .json(Self.sku(try await services.catalog.sku(input.path.skuId)))))
    }

    func updateSku(_ input: Operations.UpdateSku.Input) async throws -> Operations.UpdateSku.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var p = CatalogService.SKUPatch()
        if let barcode = b.barcode { p.barcode = .some(barcode.isEmpty ? nil : barcode) }
        p.listPrice = b.listPrice
        p.weightGrams = b.weightGrams
        p.volumeCm3 = b.volumeCm3
        p.status = b.status.flatMap { CatalogStatus(rawValue: $0.rawValue) }
        p.externalCodes = b.externalCodes?.map { ExternalCode(system: $0.system, code: $0.code) }
        p.expectedVersion = b.expectedVersion
        return .ok(.init(body: .json(Self.sku(try await services.catalog.updateSKU(input.path.skuId, p, caller: try caller)))))
    }

    func listSkuPriceHistory(_ input: Operations.ListSkuPriceHistory.Input) async throws -> Operations.ListSkuPriceHistory.Output {
        let page = try await services.prices.history(sku: input.path.skuId, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map {
            .init(id: $0.id, skuId: $0.skuId, priceListId: $0.priceListId, oldPrice: $0.oldPrice, newPrice: $0.newPrice, currency: $0.currency,
                  at: $0.at, actorId: $0.actorId, source: S.PriceChange.SourcePayload(rawValue: $0.source) ?? .api)
        }, nextCursor: page.nextCursor))))
    }

    func listChannels(_ input: Operations.ListChannels.Input) async throws -> Operations.ListChannels.Output {
        .ok(.init(body: .json(.init(items: try await services.catalog.channels().map(Self.channel)))))
    }

    func createChannel(_ input: Operations.CreateChannel.Input) async throws -> Operations.CreateChannel.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let c = try await services.catalog.createChannel(code: b.code, name: b.name, kind: ChannelKind(rawValue: b.kind.rawValue) ?? .web,
                                                         currency: b.currency, caller: try caller)
        return .created(.init(body: .json(Self.channel(c))))
    }

    func listListings(_ input: Operations.ListListings.Input) async throws -> Operations.ListListings.Output {
        var f = CatalogService.ListingFilter()
        f.channelId = try await input.query.channelId.asyncMap { try await services.catalog.channel($0).id }
        f.skuId = input.query.skuId
        f.productId = input.query.productId
        f.limit = try limit(input.query.limit)
        f.cursor = input.query.cursor
        let page = try await services.catalog.listings(f)
        let now = services.clock.now()
        return .ok(.init(body: .json(.init(items: page.items.map { Self.listing($0, now: now) }, nextCursor: page.nextCursor))))
    }

    func setListings(_ input: Operations.SetListings.Input) async throws -> Operations.SetListings.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let listings = try await services.catalog.setListings(
            channel: b.channelId,
            b.items.map { .init(sku: $0.sku, publishAt: $0.publishAt, unpublishAt: $0.unpublishAt, clearance: $0.clearance ?? false) },
            caller: try caller)
        let now = services.clock.now()
        return .ok(.init(body: .json(.init(items: listings.map { Self.listing($0, now: now) }))))
    }

    func listPriceLists(_ input: Operations.ListPriceLists.Input) async throws -> Operations.ListPriceLists.Output {
        let page = try await services.prices.priceLists(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.priceList), nextCursor: page.nextCursor))))
    }

    func createPriceList(_ input: Operations.CreatePriceList.Input) async throws -> Operations.CreatePriceList.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let list = try await services.prices.createPriceList(.init(
            code: b.code, name: b.name, currency: b.currency, priority: b.priority, channelId: b.channelId, organisationId: b.organisationId,
            locationId: b.locationId, regionCode: b.regionCode, validFrom: b.validFrom, validTo: b.validTo), caller: try caller)
        return .created(.init(body: .json(Self.priceList(list))))
    }

    func getPriceList(_ input: Operations.GetPriceList.Input) async throws -> Operations.GetPriceList.Output {
        .ok(.init(body: .json(Self.priceList(try await services.prices.priceList(input.path.priceListId)))))
    }

    func updatePriceList(_ input: Operations.UpdatePriceList.Input) async throws -> Operations.UpdatePriceList.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        var p = PriceService.PriceListPatch()
        p.name = b.name
        p.priority = b.priority
        if let d = b.validFrom { p.validFrom = .some(d) }
        if let d = b.validTo { p.validTo = .some(d) }
        p.status = b.status?.rawValue
        p.expectedVersion = b.expectedVersion
        return .ok(.init(body: .json(Self.priceList(try await services.prices.updatePriceList(input.path.priceListId, p, caller: try caller)))))
    }

    func listPriceListEntries(_ input: Operations.ListPriceListEntries.Input) async throws -> Operations.ListPriceListEntries.Output {
        let page = try await services.prices.entries(input.path.priceListId, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map {
            .init(skuId: $0.entry.skuId, skuCode: $0.skuCode, price: $0.entry.price.minorUnits, currency: $0.entry.price.currency)
        }, nextCursor: page.nextCursor))))
    }

    func setPriceListEntries(_ input: Operations.SetPriceListEntries.Input) async throws -> Operations.SetPriceListEntries.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let changed = try await services.prices.setEntries(input.path.priceListId, b.items.map { .init(sku: $0.sku, price: $0.price) },
                                                           caller: try caller)
        return .ok(.init(body: .json(.init(changed: changed))))
    }

    func resolvePrices(_ input: Operations.ResolvePrices.Input) async throws -> Operations.ResolvePrices.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let at = b.at ?? services.clock.instant()
        let prices = try await services.prices.resolve(skus: b.skus, PriceContext(channelId: b.channelId, locationId: b.locationId, at: at))
        return .ok(.init(body: .json(.init(channelId: b.channelId, locationId: b.locationId, at: at, items: prices.map {
            .init(skuId: $0.skuId, skuCode: $0.skuCode, currency: $0.currency, listPrice: $0.listPrice, price: $0.price,
                  priceListId: $0.priceListId, priceListCode: $0.priceListCode, rule: $0.rule, overridden: $0.overridden,
                  sellable: $0.sellable, notSellableReason: $0.notSellableReason)
        }))))
    }

    func importCatalog(_ input: Operations.ImportCatalog.Input) async throws -> Operations.ImportCatalog.Output {
        guard case .csv(let body) = input.body else { throw Problem.malformed("Expected text/csv.") }
        let text = try await String(collecting: body, upTo: .max)
        let kind = CatalogImporter.Kind(rawValue: input.path.kind.rawValue) ?? .skus
        let r = try await services.importer.importCSV(kind, text: text, dryRun: input.query.dryRun ?? false, caller: try caller)
        return .ok(.init(body: .json(.init(kind: .init(rawValue: r.kind.rawValue) ?? .skus, dryRun: r.dryRun, rows: r.rows,
                                           created: r.created, updated: r.updated, unchanged: r.unchanged))))
    }

    func exportCatalog(_ input: Operations.ExportCatalog.Input) async throws -> Operations.ExportCatalog.Output {
        let kind = CatalogImporter.Kind(rawValue: input.path.kind.rawValue) ?? .skus
        let csv = try await services.importer.exportCSV(kind)
        return .ok(.init(body: .csv(HTTPBody(csv))))
    }
}

// MARK: - Catalog ⇄ API types

extension APIHandlers {
    static func brand(_ b: Brand) -> S.Brand { .init(id: b.id, code: b.code, name: b.name, nameEn: b.nameEn, createdAt: b.createdAt) }

    static func category(_ c: O2OCatalog.Category) -> S.Category {
        .init(id: c.id, code: c.code, name: c.name, nameEn: c.nameEn, parentId: c.parentId, path: c.path, version: c.version,
              createdAt: c.createdAt, updatedAt: c.updatedAt)
    }

    static func newSKU(_ s: S.SkuCreate) -> CatalogService.NewSKU {
        .init(code: s.code, barcode: s.barcode, options: s.options.additionalProperties, listPrice: s.listPrice, currency: s.currency,
              weightGrams: s.weightGrams, volumeCm3: s.volumeCm3, status: s.status.flatMap { CatalogStatus(rawValue: $0.rawValue) },
              externalCodes: (s.externalCodes ?? []).map { ExternalCode(system: $0.system, code: $0.code) })
    }

    static func sku(_ s: SKU) -> S.Sku {
        .init(id: s.id, productId: s.productId, code: s.code, barcode: s.barcode, options: .init(additionalProperties: s.options),
              listPrice: s.listPrice.minorUnits, currency: s.listPrice.currency, weightGrams: s.weightGrams, volumeCm3: s.volumeCm3,
              status: S.CatalogStatus(rawValue: s.status.rawValue) ?? .draft,
              externalCodes: s.externalCodes.map { .init(system: $0.system, code: $0.code) }, version: s.version,
              createdAt: s.createdAt, updatedAt: s.updatedAt)
    }

    static func product(_ p: Product) -> S.Product {
        .init(id: p.id, code: p.code, name: p.name, nameEn: p.nameEn, description: p.description, brandId: p.brandId, categoryId: p.categoryId,
              optionNames: p.optionNames, attributes: .init(additionalProperties: p.attributes), images: p.images, unit: p.unit,
              taxClass: p.taxClass, assortment: S.Assortment(rawValue: p.assortment.rawValue) ?? .shared, onlineFirstUntil: p.onlineFirstUntil,
              status: S.CatalogStatus(rawValue: p.status.rawValue) ?? .draft, version: p.version, createdAt: p.createdAt,
              updatedAt: p.updatedAt, skus: p.skus.map(sku))
    }

    static func channel(_ c: SalesChannel) -> S.Channel {
        .init(id: c.id, code: c.code, name: c.name, kind: S.ChannelKind(rawValue: c.kind.rawValue) ?? .web, currency: c.currency,
              status: c.status, createdAt: c.createdAt)
    }

    static func listing(_ l: Listing, now: Date) -> S.Listing {
        .init(id: l.id, skuId: l.skuId, channelId: l.channelId, publishAt: l.publishAt, unpublishAt: l.unpublishAt, clearance: l.clearance,
              published: l.isPublished(at: now), version: l.version, createdAt: l.createdAt, updatedAt: l.updatedAt)
    }

    static func priceList(_ l: PriceList) -> S.PriceList {
        .init(id: l.id, code: l.code, name: l.name, currency: l.currency, priority: l.priority, channelId: l.channelId,
              organisationId: l.organisationId, locationId: l.locationId, regionCode: l.regionCode, validFrom: l.validFrom,
              validTo: l.validTo, status: S.PriceList.StatusPayload(rawValue: l.status) ?? .inactive, target: l.targetDescription,
              version: l.version, createdAt: l.createdAt, updatedAt: l.updatedAt)
    }
}
