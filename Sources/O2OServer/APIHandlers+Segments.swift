import Foundation
import O2OAPI
import O2OCore
import O2OMembers
import OpenAPIRuntime

// MARK: - Segments and messaging (会员沟通)

extension APIHandlers {
    func listMemberSegments(_ input: Operations.ListMemberSegments.Input) async throws -> Operations.ListMemberSegments.Output {
        let page = try await services.members.segments(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.segment), nextCursor: page.nextCursor))))
    }

    func createMemberSegment(_ input: Operations.CreateMemberSegment.Input) async throws -> Operations.CreateMemberSegment.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let segment = try await services.members.createSegment(code: b.code, name: b.name, rule: Self.segmentRule(b.rule), caller: try caller)
        return .created(.init(body: .json(Self.segment(segment))))
    }

    func getMemberSegment(_ input: Operations.GetMemberSegment.Input) async throws -> Operations.GetMemberSegment.Output {
        .ok(.init(body: .json(Self.segment(try await services.members.segment(input.path.segmentId)))))
    }

    func listMemberSegmentMembers(_ input: Operations.ListMemberSegmentMembers.Input) async throws -> Operations.ListMemberSegmentMembers.Output {
        let page = try await services.members.segmentMembers(input.path.segmentId, limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.memberSummary), nextCursor: page.nextCursor))))
    }

    func refreshMemberSegment(_ input: Operations.RefreshMemberSegment.Input) async throws -> Operations.RefreshMemberSegment.Output {
        .ok(.init(body: .json(Self.segment(try await services.members.refreshSegment(input.path.segmentId, caller: try caller)))))
    }

    func sendSegmentMessages(_ input: Operations.SendSegmentMessages.Input) async throws -> Operations.SendSegmentMessages.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let posted: CampaignPosting
        do {
            // The Idempotency-Key is also the campaign's reference: a retry after a lost answer queues nothing twice.
            posted = try await services.members.sendToSegment(input.path.segmentId, templateCode: b.templateCode,
                                                              reference: input.headers.idempotencyKey, caller: try caller)
        } catch let p as Problem {
            throw p.renamingFields(["reference": "Idempotency-Key"])
        }
        return .created(.init(body: .json(Self.campaign(posted))))
    }

    func listMessageTemplates(_ input: Operations.ListMessageTemplates.Input) async throws -> Operations.ListMessageTemplates.Output {
        let page = try await services.members.messageTemplates(limit: try limit(input.query.limit), cursor: input.query.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.messageTemplate), nextCursor: page.nextCursor))))
    }

    func createMessageTemplate(_ input: Operations.CreateMessageTemplate.Input) async throws -> Operations.CreateMessageTemplate.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let t = try await services.members.createMessageTemplate(code: b.code, channel: ConsentChannel(rawValue: b.channel.rawValue)!, subject: b.subject,
                                                                 body: b.body, caller: try caller)
        return .created(.init(body: .json(Self.messageTemplate(t))))
    }

    func getMessagingPolicy(_ input: Operations.GetMessagingPolicy.Input) async throws -> Operations.GetMessagingPolicy.Output {
        let p = try await services.members.messagingPolicy()
        return .ok(.init(body: .json(.init(capPerChannel: p.capPerChannel, windowDays: p.windowDays))))
    }

    func setMessagingPolicy(_ input: Operations.SetMessagingPolicy.Input) async throws -> Operations.SetMessagingPolicy.Output {
        guard case .json(let b) = input.body else { throw Problem.malformed("Expected JSON.") }
        let p = try await services.members.setMessagingPolicy(MessagingPolicy(capPerChannel: b.capPerChannel, windowDays: b.windowDays), caller: try caller)
        return .ok(.init(body: .json(.init(capPerChannel: p.capPerChannel, windowDays: p.windowDays))))
    }

    func listMemberMessages(_ input: Operations.ListMemberMessages.Input) async throws -> Operations.ListMemberMessages.Output {
        let q = input.query
        let page = try await services.members.messages(memberId: q.memberId, campaignId: q.campaignId, limit: try limit(q.limit), cursor: q.cursor)
        return .ok(.init(body: .json(.init(items: page.items.map(Self.memberMessage), nextCursor: page.nextCursor))))
    }

    // MARK: Mapping

    static func segmentRule(_ r: S.SegmentRule) -> SegmentRule {
        SegmentRule(tierCodes: r.tierCodes, tagsAll: r.tagsAll, tagsAny: r.tagsAny, preferredStoreIds: r.preferredStoreIds,
                    recencyDaysAtMost: r.recencyDaysAtMost, recencyDaysAtLeast: r.recencyDaysAtLeast, frequencyAtLeast: r.frequencyAtLeast,
                    monetaryAtLeast: r.monetaryAtLeast, recencyScoreAtLeast: r.recencyScoreAtLeast, frequencyScoreAtLeast: r.frequencyScoreAtLeast,
                    monetaryScoreAtLeast: r.monetaryScoreAtLeast, lastPurchaseFrom: r.lastPurchaseFrom, lastPurchaseTo: r.lastPurchaseTo,
                    birthdayMonths: r.birthdayMonths, consentChannel: r.consentChannel.flatMap { ConsentChannel(rawValue: $0.rawValue) })
    }

    static func segmentRule(_ r: SegmentRule) -> S.SegmentRule {
        .init(tierCodes: r.tierCodes, tagsAll: r.tagsAll, tagsAny: r.tagsAny, preferredStoreIds: r.preferredStoreIds,
              recencyDaysAtMost: r.recencyDaysAtMost, recencyDaysAtLeast: r.recencyDaysAtLeast, frequencyAtLeast: r.frequencyAtLeast,
              monetaryAtLeast: r.monetaryAtLeast, recencyScoreAtLeast: r.recencyScoreAtLeast, frequencyScoreAtLeast: r.frequencyScoreAtLeast,
              monetaryScoreAtLeast: r.monetaryScoreAtLeast, lastPurchaseFrom: r.lastPurchaseFrom, lastPurchaseTo: r.lastPurchaseTo,
              birthdayMonths: r.birthdayMonths, consentChannel: r.consentChannel.flatMap { S.MessageChannel(rawValue: $0.rawValue) })
    }

    static func segment(_ s: MemberSegment) -> S.MemberSegment {
        .init(id: s.id, code: s.code, name: s.name, rule: Self.segmentRule(s.rule), memberCount: s.memberCount, refreshedAt: s.refreshedAt,
              createdAt: s.createdAt, updatedAt: s.updatedAt)
    }

    static func messageTemplate(_ t: MessageTemplate) -> S.MessageTemplate {
        .init(id: t.id, code: t.code, channel: S.MessageChannel(rawValue: t.channel.rawValue)!, subject: t.subject, body: t.body, createdAt: t.createdAt)
    }

    static func campaign(_ p: CampaignPosting) -> S.MessageCampaign {
        let c = p.campaign
        return .init(id: c.id, segmentId: c.segmentId, templateCode: c.templateCode, channel: S.MessageChannel(rawValue: c.channel.rawValue)!,
                     reference: c.reference, queued: c.queued, skippedNoConsent: c.skippedNoConsent, skippedFrequencyCap: c.skippedFrequencyCap,
                     skippedNoAddress: c.skippedNoAddress, createdAt: c.createdAt, actorId: c.actorId, replayed: p.replayed)
    }

    /// A message as lists show it: the recipient masked.
    static func memberMessage(_ m: MemberMessage) -> S.MemberMessage {
        .init(id: m.id, campaignId: m.campaignId, memberId: m.memberId, channel: S.MessageChannel(rawValue: m.channel.rawValue)!,
              templateCode: m.templateCode, maskedRecipient: m.maskedRecipient, subject: m.subject, body: m.body,
              status: .init(rawValue: m.status.rawValue)!, attempts: m.attempts, providerId: m.providerId, error: m.error, createdAt: m.createdAt,
              sentAt: m.sentAt)
    }
}
