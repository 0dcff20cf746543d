import Foundation
import Logging
import O2OCore
import SQLKit
import Synchronization

// MARK: - Messaging (会员沟通): templates, campaigns to a segment, and the sender

/// A message's text for one channel. `{{name}}`, `{{tier}}`, `{{points}}` and `{{store}}` are
/// filled in per member; any other placeholder is refused when the template is created.
public struct MessageTemplate: Codable, Sendable, Equatable {
    public var id: String
    public var code: String
    public var channel: ConsentChannel
    /// Email only.
    public var subject: String?
    public var body: String
    public var createdAt: Date

    /// name: the member's name (会员 when they gave none); tier: their tier's name; points: their
    /// points balance; store: their preferred store's location id.
    public static let placeholders: Set<String> = ["name", "tier", "points", "store"]
    public static let maxBody = 1_000
}

/// How many messages a member may get on one channel within a window; counted at queue time
/// over the messages queued, being sent or sent (failed ones do not count).
public struct MessagingPolicy: Codable, Sendable, Equatable {
    public var capPerChannel: Int
    public var windowDays: Int

    public init(capPerChannel: Int = 2, windowDays: Int = 7) {
        self.capPerChannel = capPerChannel
        self.windowDays = windowDays
    }
}

/// One send of a template to a segment, and what became of each member.
public struct MessageCampaign: Codable, Sendable, Equatable {
    public var id: String
    public var segmentId: String
    public var templateCode: String
    public var channel: ConsentChannel
    /// The caller's key for the send (the Idempotency-Key): the same caller with the same key again
    /// finds this campaign.
    public var reference: String?
    public var queued: Int
    /// No granted consent on the template's channel.
    public var skippedNoConsent: Int
    /// Already `capPerChannel` messages on that channel within the window.
    public var skippedFrequencyCap: Int
    /// Nothing to send to: no number (SMS), no WeChat openid (WeChat), no email address (email).
    public var skippedNoAddress: Int
    public var createdAt: Date
    public var actorId: String
}

public struct CampaignPosting: Sendable, Equatable {
    public var campaign: MessageCampaign
    /// The reference was already used: nothing new was written.
    public var replayed: Bool
}

public enum MessageStatus: String, Codable, Sendable, CaseIterable {
    case queued
    /// Claimed by a sender; back to the queue if that sender dies (after the lease).
    case sending
    case sent
    /// Given up on after `MembersService.maxSendAttempts` (or with no adapter for its channel).
    case failed
}

/// One message to one member, rendered at queue time.
public struct MemberMessage: Codable, Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var campaignId: String
    public var memberId: String
    public var channel: ConsentChannel
    public var templateCode: String
    /// The E.164 number (SMS), WeChat openid or email address; lists show `maskedRecipient`.
    public var recipient: String
    public var subject: String?
    public var body: String
    public var status: MessageStatus
    public var attempts: Int
    public var providerId: String?
    public var error: String?
    public var createdAt: Date
    public var sentAt: Date?

    public var maskedRecipient: String { Self.mask(recipient, channel) }

    public var description: String { "MemberMessage(\(id), \(channel.rawValue) to \(maskedRecipient), \(status.rawValue))" }

    /// A number as `138****5678`; other addresses keep their first and last two characters.
    public static func mask(_ recipient: String, _ channel: ConsentChannel) -> String {
        if channel == .sms { return PhoneNumber.mask(recipient) }
        guard recipient.count > 4 else { return "****" }
        return String(recipient.prefix(2)) + "****" + String(recipient.suffix(2))
    }
}

/// Delivers messages of one channel (an SMS gateway, WeChat template messages, an email
/// service). Returns the provider's id for the message; a throw is retried a bounded number of times.
public protocol MessageChannelAdapter: Sendable {
    func send(_ message: MemberMessage) async throws -> String
}

/// A sink for demos and tests: logs each message (recipient masked) and keeps the last `keep`.
public final class LogMessageAdapter: MessageChannelAdapter, Sendable {
    let logger: Logger
    let keep: Int
    private let recent = Mutex<[MemberMessage]>([])

    public init(logger: Logger = Logger(label: "o2o.messages"), keep: Int = 100) {
        self.logger = logger
        self.keep = keep
    }

    public func send(_ message: MemberMessage) async throws -> String {
        logger.info("message sent", metadata: ["message": "\(message.id)", "member": "\(message.memberId)", "channel": "\(message.channel.rawValue)",
                                               "to": "\(message.maskedRecipient)", "template": "\(message.templateCode)"])
        logger.debug("message body", metadata: ["message": "\(message.id)", "body": "\(message.body)"])
        recent.withLock { list in
            list.append(message)
            if list.count > keep { list.removeFirst(list.count - keep) }
        }
        return "log-" + message.id
    }

    /// The last messages sent through this adapter, oldest first.
    public var sent: [MemberMessage] { recent.withLock { $0 } }
}

extension MembersService {
    /// Sends of one message before it is given up on.
    public static let maxSendAttempts = 3
    /// A message claimed this long ago by a sender that never finished goes back to the queue.
    static let sendLeaseMillis: Int64 = 300_000

    /// A log sink for every channel: what the server registers unless told otherwise.
    public static func logAdapters(_ log: LogMessageAdapter = LogMessageAdapter()) -> [ConsentChannel: any MessageChannelAdapter] {
        Dictionary(uniqueKeysWithValues: ConsentChannel.allCases.map { ($0, log as any MessageChannelAdapter) })
    }

    // MARK: Templates

    public func createMessageTemplate(code: String, channel: ConsentChannel, subject: String?, body: String, caller: Caller) async throws -> MessageTemplate {
        var v = Validator()
        v.code(code, "code", max: 40)
        v.text(body, "body", max: MessageTemplate.maxBody)
        Self.checkPlaceholders(body, "body", &v)
        if channel == .email {
            v.text(subject, "subject", max: 200)
            if let subject { Self.checkPlaceholders(subject, "subject", &v) }
        } else if subject != nil {
            v.add("subject", "is for email templates only")
        }
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            let template = MessageTemplate(id: O2OID.make("mtp", at: now), code: code, channel: channel, subject: subject, body: body, createdAt: now)
            let inserted = try await tx.sql.raw("""
                INSERT INTO member_message_templates (id, code, channel, subject, body, created_at)
                VALUES (\(bind: template.id), \(bind: code), \(bind: channel.rawValue), \(bind: subject), \(bind: body), \(bind: now.epochMillis))
                ON CONFLICT (code) DO NOTHING RETURNING id
                """).first()
            guard inserted != nil else { throw Problem.validation([.init("code", "is already a message template")]) }
            try await self.recorder.record(tx, caller: caller, action: "create_message_template", entityType: "message_template",
                                           entityId: template.id, before: MessageTemplate?.none, after: template, organisationId: nil,
                                           locationId: nil, event: nil)
            return template
        }
    }

    public func messageTemplates(limit: Int = 50, cursor: String? = nil) async throws -> Page<MessageTemplate> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        try v.finish()
        return try await db.page("SELECT * FROM member_message_templates WHERE 1=1", limit: limit, cursor: cursor, map: Self.decodeTemplate, id: \.id)
    }

    // MARK: Policy

    public func messagingPolicy() async throws -> MessagingPolicy {
        try await db.read { try await Self.messagingPolicy($0) }
    }

    public func setMessagingPolicy(_ policy: MessagingPolicy, caller: Caller) async throws -> MessagingPolicy {
        var v = Validator()
        v.range(policy.capPerChannel, "capPerChannel", 1...100)
        v.range(policy.windowDays, "windowDays", 1...90)
        try v.finish()
        return try await db.write { tx in
            let before = try await Self.messagingPolicy(tx.sql)
            let now = self.clock.instant()
            try await tx.sql.raw("DELETE FROM member_messaging_policy WHERE id = 'brand'").run()
            try await tx.sql.raw("""
                INSERT INTO member_messaging_policy (id, cap, window_days, updated_at)
                VALUES ('brand', \(bind: policy.capPerChannel), \(bind: policy.windowDays), \(bind: now.epochMillis))
                """).run()
            try await self.recorder.record(tx, caller: caller, action: "set_messaging_policy", entityType: "messaging_policy", entityId: "brand",
                                           before: before, after: policy, organisationId: nil, locationId: nil, event: nil)
            return policy
        }
    }

    // MARK: Campaigns

    /// Queues the template to every member of the segment (as at its last refresh: refresh it
    /// first for today's membership), in one transaction: a member without granted consent on the
    /// template's channel is skipped, then one with nothing to send to, then one who already had
    /// the policy's cap of messages on that channel within its window; every other member gets a
    /// rendered message and a `member.message_queued` event. Consent and the cap are checked here,
    /// at queue time only: the sender does not check them again.
    ///
    /// `reference` (the Idempotency-Key) makes a retry by the same caller answer the first campaign
    /// and write nothing.
    /// Campaigns queue one after another (they lock the policy row), so two at once cannot both
    /// pass a member's cap.
    public func sendToSegment(_ segmentId: String, templateCode: String, reference: String? = nil, caller: Caller) async throws -> CampaignPosting {
        var v = Validator()
        v.code(templateCode, "templateCode", max: 40)
        v.text(reference, "reference", required: false, max: 255)
        try v.finish()
        let now = clock.instant()
        return try await db.write { tx in
            if let reference, let first = try await Self.campaign(reference: reference, actorId: caller.principal.id, tx.sql) {
                return CampaignPosting(campaign: first, replayed: true)
            }
            guard try await Self.segment(segmentId, tx.sql, lock: false) != nil else { throw Problem.notFound("segment", segmentId) }
            guard let template = try await Self.template(code: templateCode, tx.sql) else {
                throw Problem.validation([.init("templateCode", "is not a message template")])
            }
            let policy = try await self.lockMessagingPolicy(tx)
            var campaign = MessageCampaign(id: O2OID.make("mcp", at: now), segmentId: segmentId, templateCode: template.code, channel: template.channel,
                                           reference: reference, queued: 0, skippedNoConsent: 0, skippedFrequencyCap: 0, skippedNoAddress: 0,
                                           createdAt: now, actorId: caller.principal.id)
            let inserted = try await tx.sql.raw("""
                INSERT INTO member_campaigns (id, segment_id, template_code, channel, reference, queued, skipped_no_consent, skipped_frequency_cap,
                    skipped_no_address, created_at, actor_id)
                VALUES (\(bind: campaign.id), \(bind: segmentId), \(bind: template.code), \(bind: template.channel.rawValue), \(bind: reference),
                        0, 0, 0, 0, \(bind: now.epochMillis), \(bind: campaign.actorId))
                ON CONFLICT (actor_id, reference) DO NOTHING RETURNING id
                """).first()
            if inserted == nil, let reference, let first = try await Self.campaign(reference: reference, actorId: campaign.actorId, tx.sql) {
                return CampaignPosting(campaign: first, replayed: true)
            }
            let messages = try await self.render(template, for: segmentId, campaign: &campaign, policy: policy, at: now, tx)
            try await Self.insert(messages, tx)
            try await Outbox.enqueue(tx, messages.map { m in
                DomainEvent(type: "member.message_queued", entityType: "member_message", entityId: m.id,
                            payload: JSONCoding.string(MessageQueued(m)), organisationId: nil, locationId: nil)
            }, at: now)
            try await tx.sql.raw("""
                UPDATE member_campaigns SET queued = \(bind: campaign.queued), skipped_no_consent = \(bind: campaign.skippedNoConsent),
                    skipped_frequency_cap = \(bind: campaign.skippedFrequencyCap), skipped_no_address = \(bind: campaign.skippedNoAddress)
                WHERE id = \(bind: campaign.id)
                """).run()
            try await self.recorder.record(tx, caller: caller, action: "send_campaign", entityType: "member_campaign", entityId: campaign.id,
                                           before: MessageCampaign?.none, after: campaign, organisationId: nil, locationId: nil, event: nil)
            return CampaignPosting(campaign: campaign, replayed: false)
        }
    }

    public func campaign(_ id: String) async throws -> MessageCampaign {
        guard let c = try await db.read({ sql in
            try await sql.raw("SELECT * FROM member_campaigns WHERE id = \(bind: id)").first().map(Self.decodeCampaign)
        }) else { throw Problem.notFound("campaign", id) }
        return c
    }

    /// Messages newest first, of one member or one campaign (or all).
    public func messages(memberId: String? = nil, campaignId: String? = nil, limit: Int = 50, cursor: String? = nil) async throws -> Page<MemberMessage> {
        var v = Validator()
        v.range(limit, "limit", 1...500)
        v.text(memberId, "memberId", required: false, max: 100)
        v.text(campaignId, "campaignId", required: false, max: 100)
        try v.finish()
        var q: SQLQueryString = "SELECT * FROM member_messages WHERE 1=1"
        if let memberId { q += " AND member_id = \(bind: memberId)" }
        if let campaignId { q += " AND campaign_id = \(bind: campaignId)" }
        return try await db.page(q, limit: limit, cursor: cursor, order: .newestFirst, map: Self.decodeMessage, id: \.id)
    }

    // MARK: The sender

    /// Claims up to `limit` due messages and sends each through the adapter of its channel:
    /// sent, or back to the queue with a growing delay, or failed after `maxSendAttempts` (or at
    /// once when no adapter serves its channel). A claim is a conditional UPDATE, so several
    /// processes never send one message at once; a sender that dies leaves its claims to be
    /// taken again after the lease (delivery is at least once). Returns how many were claimed.
    @discardableResult
    public func sendQueuedMessages(limit: Int = 100) async throws -> Int {
        let now = clock.instant()
        let stale = now.epochMillis - Self.sendLeaseMillis
        // What a sender may claim now: due, or claimed by a sender whose lease ran out.
        let claimable: SQLQueryString = """
            ((status = 'queued' AND next_attempt_at <= \(bind: now.epochMillis)) OR (status = 'sending' AND claimed_at <= \(bind: stale)))
            """
        // Looked for first, so an idle sender does not take the writer every few seconds.
        let due = try await db.read { sql in
            try await sql.raw("SELECT id FROM member_messages WHERE " + claimable + " LIMIT 1").first() != nil
        }
        guard due else { return 0 }
        let claimed = try await db.write { tx in
            var update: SQLQueryString = "UPDATE member_messages SET status = 'sending', claimed_at = \(bind: now.epochMillis) "
            update += "WHERE id IN (SELECT id FROM member_messages WHERE " + claimable
            update += " ORDER BY next_attempt_at, id LIMIT \(unsafeRaw: String(limit))) AND " + claimable + " RETURNING *"
            return try await tx.sql.raw(update).all().map(Self.decodeMessage)
        }
        for message in claimed.sorted(by: { $0.id < $1.id }) {
            let attempts = message.attempts + 1
            guard let adapter = messageAdapters[message.channel] else {
                try await finish(message, claimedAt: now, status: .failed, attempts: attempts, error: "no adapter for \(message.channel.rawValue)")
                continue
            }
            do {
                let providerId = try await adapter.send(message)
                try await finish(message, claimedAt: now, status: .sent, attempts: attempts, providerId: providerId)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let last = attempts >= Self.maxSendAttempts
                try await finish(message, claimedAt: now, status: last ? .failed : .queued, attempts: attempts, error: String(describing: error).prefix(500).description)
            }
        }
        return claimed.count
    }

    /// Records a send's outcome, if the claim is still ours. A retry waits 1, 2, 4 … minutes.
    private func finish(_ m: MemberMessage, claimedAt: Date, status: MessageStatus, attempts: Int, providerId: String? = nil,
                        error: String? = nil) async throws {
        let now = clock.instant()
        let next = now.epochMillis + 60_000 * (Int64(1) << Int64(max(0, attempts - 1)))
        try await db.write { tx in
            try await tx.sql.raw("""
                UPDATE member_messages SET status = \(bind: status.rawValue), attempts = \(bind: attempts), provider_id = \(bind: providerId),
                    error = \(bind: error), sent_at = \(bind: status == .sent ? now.epochMillis : nil), next_attempt_at = \(bind: next), claimed_at = NULL
                WHERE id = \(bind: m.id) AND status = 'sending' AND claimed_at = \(bind: claimedAt.epochMillis)
                """).run()
        }
    }

    // MARK: Inside a campaign

    /// What the `member.message_queued` event carries: the recipient masked, no body.
    struct MessageQueued: Codable {
        var messageId: String
        var campaignId: String
        var memberId: String
        var channel: ConsentChannel
        var templateCode: String
        var maskedRecipient: String

        init(_ m: MemberMessage) {
            messageId = m.id
            campaignId = m.campaignId
            memberId = m.memberId
            channel = m.channel
            templateCode = m.templateCode
            maskedRecipient = m.maskedRecipient
        }
    }

    /// Decides each member of the segment (counting the outcomes into `campaign`) and renders
    /// the template for those it queues to.
    func render(_ template: MessageTemplate, for segmentId: String, campaign: inout MessageCampaign, policy: MessagingPolicy, at now: Date,
                _ tx: Transaction) async throws -> [MemberMessage] {
        let since = now.epochMillis - Int64(policy.windowDays) * Self.dayMillis
        let channel = template.channel.rawValue
        let rows = try await tx.sql.raw("""
            SELECT m.id, m.phone, m.email, m.name, m.preferred_store_id, t.tier_code, b.balance,
                (SELECT c.granted FROM member_consents c WHERE c.member_id = m.id AND c.channel = \(bind: channel)) AS granted,
                (SELECT CAST(COUNT(*) AS BIGINT) FROM member_messages x WHERE x.member_id = m.id AND x.channel = \(bind: channel)
                    AND x.created_at >= \(bind: since) AND x.status <> 'failed') AS recent,
                (SELECT MIN(i.external_id) FROM member_identities i WHERE i.member_id = m.id AND i.kind = 'wechat_openid') AS openid
            FROM member_segment_members sm JOIN members m ON m.id = sm.member_id
            LEFT JOIN member_tiers t ON t.member_id = m.id
            LEFT JOIN member_points_balances b ON b.member_id = m.id
            WHERE sm.segment_id = \(bind: segmentId) AND m.status = 'active'
            ORDER BY m.id
            """).all()
        let ladder = try await Self.ladder(tx.sql)
        var messages: [MemberMessage] = []
        for r in rows {
            guard try r.decode(column: "granted", as: Int?.self) == 1 else { campaign.skippedNoConsent += 1; continue }
            var address: String?
            switch template.channel {
            case .sms: address = try r.decode(column: "phone", as: String?.self)
            case .wechat: address = try r.decode(column: "openid", as: String?.self)
            case .email: address = try r.decode(column: "email", as: String?.self)
            }
            guard let address else { campaign.skippedNoAddress += 1; continue }
            guard try r.decode(column: "recent", as: Int.self) < policy.capPerChannel else { campaign.skippedFrequencyCap += 1; continue }
            let values = [
                "name": try r.decode(column: "name", as: String?.self) ?? "会员",
                "tier": ladder.held(try r.decode(column: "tier_code", as: String?.self)).map { ladder.tiers[$0].name } ?? "",
                "points": String(try r.decode(column: "balance", as: Int64?.self) ?? 0),
                "store": try r.decode(column: "preferred_store_id", as: String?.self) ?? "",
            ]
            messages.append(MemberMessage(
                id: O2OID.make("msg", at: now), campaignId: campaign.id, memberId: try r.decode(column: "id", as: String.self), channel: template.channel,
                templateCode: template.code, recipient: address, subject: template.subject.map { Self.fill($0, values) },
                body: Self.fill(template.body, values), status: .queued, attempts: 0, providerId: nil, error: nil, createdAt: now, sentAt: nil))
            campaign.queued += 1
        }
        return messages
    }

    /// Multi-row inserts, 200 messages a statement.
    static func insert(_ messages: [MemberMessage], _ tx: Transaction) async throws {
        for start in stride(from: 0, to: messages.count, by: 200) {
            var q: SQLQueryString = """
                INSERT INTO member_messages (id, campaign_id, member_id, channel, template_code, recipient, subject, body, status, attempts,
                    next_attempt_at, created_at) VALUES
                """
            for (i, m) in messages[start..<min(start + 200, messages.count)].enumerated() {
                q += """
                    \(unsafeRaw: i == 0 ? " " : ", ")(\(bind: m.id), \(bind: m.campaignId), \(bind: m.memberId), \(bind: m.channel.rawValue), \
                    \(bind: m.templateCode), \(bind: m.recipient), \(bind: m.subject), \(bind: m.body), 'queued', 0, \(bind: m.createdAt.epochMillis), \
                    \(bind: m.createdAt.epochMillis))
                    """
            }
            try await tx.sql.raw(q).run()
        }
    }

    /// The policy, its row locked (created with the defaults the first time) so campaigns queue one at a time.
    func lockMessagingPolicy(_ tx: Transaction) async throws -> MessagingPolicy {
        let d = MessagingPolicy()
        try await tx.sql.raw("""
            INSERT INTO member_messaging_policy (id, cap, window_days, updated_at)
            VALUES ('brand', \(bind: d.capPerChannel), \(bind: d.windowDays), \(bind: clock.instant().epochMillis))
            ON CONFLICT (id) DO NOTHING
            """).run()
        let r = try await tx.sql.raw("""
            SELECT cap, window_days FROM member_messaging_policy WHERE id = 'brand'\(unsafeRaw: tx.engine == .postgres ? " FOR UPDATE" : "")
            """).first()!
        return MessagingPolicy(capPerChannel: try r.decode(column: "cap", as: Int.self), windowDays: try r.decode(column: "window_days", as: Int.self))
    }

    // MARK: Placeholders

    /// The placeholders of a text (`{{ name }}`, spaces allowed), or nil when a `{{` is not closed.
    static func placeholders(in text: String) -> [String]? {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { return nil }
            names.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }

    static func checkPlaceholders(_ text: String, _ field: String, _ v: inout Validator) {
        guard let names = placeholders(in: text) else { v.add(field, "has a {{ that is not closed with }}"); return }
        let unknown = names.filter { !MessageTemplate.placeholders.contains($0) }
        if !unknown.isEmpty {
            v.add(field, "unknown placeholder(s) \(unknown.map { "{{\($0)}}" }.joined(separator: ", ")); use "
                  + MessageTemplate.placeholders.sorted().map { "{{\($0)}}" }.joined(separator: ", "))
        }
    }

    /// The text with each placeholder replaced by its value (a checked template has no other).
    static func fill(_ text: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = text[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            out += String(rest[..<open.lowerBound])
            out += values[rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)] ?? ""
            rest = rest[close.upperBound...]
        }
        return out + String(rest)
    }

    // MARK: Rows

    static func messagingPolicy(_ sql: any SQLDatabase) async throws -> MessagingPolicy {
        guard let r = try await sql.raw("SELECT cap, window_days FROM member_messaging_policy WHERE id = 'brand'").first() else { return MessagingPolicy() }
        return MessagingPolicy(capPerChannel: try r.decode(column: "cap", as: Int.self), windowDays: try r.decode(column: "window_days", as: Int.self))
    }

    static func template(code: String, _ sql: any SQLDatabase) async throws -> MessageTemplate? {
        try await sql.raw("SELECT * FROM member_message_templates WHERE code = \(bind: code)").first().map(decodeTemplate)
    }

    static func campaign(reference: String, actorId: String, _ sql: any SQLDatabase) async throws -> MessageCampaign? {
        try await sql.raw("""
            SELECT * FROM member_campaigns WHERE actor_id = \(bind: actorId) AND reference = \(bind: reference)
            """).first().map(decodeCampaign)
    }

    static func decodeTemplate(_ r: any SQLRow) throws -> MessageTemplate {
        MessageTemplate(id: try r.decode(column: "id", as: String.self), code: try r.decode(column: "code", as: String.self),
                        channel: ConsentChannel(rawValue: try r.decode(column: "channel", as: String.self)) ?? .sms,
                        subject: try r.decode(column: "subject", as: String?.self), body: try r.decode(column: "body", as: String.self),
                        createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)))
    }

    static func decodeCampaign(_ r: any SQLRow) throws -> MessageCampaign {
        MessageCampaign(id: try r.decode(column: "id", as: String.self), segmentId: try r.decode(column: "segment_id", as: String.self),
                        templateCode: try r.decode(column: "template_code", as: String.self),
                        channel: ConsentChannel(rawValue: try r.decode(column: "channel", as: String.self)) ?? .sms,
                        reference: try r.decode(column: "reference", as: String?.self), queued: try r.decode(column: "queued", as: Int.self),
                        skippedNoConsent: try r.decode(column: "skipped_no_consent", as: Int.self),
                        skippedFrequencyCap: try r.decode(column: "skipped_frequency_cap", as: Int.self),
                        skippedNoAddress: try r.decode(column: "skipped_no_address", as: Int.self),
                        createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                        actorId: try r.decode(column: "actor_id", as: String.self))
    }

    static func decodeMessage(_ r: any SQLRow) throws -> MemberMessage {
        MemberMessage(id: try r.decode(column: "id", as: String.self), campaignId: try r.decode(column: "campaign_id", as: String.self),
                      memberId: try r.decode(column: "member_id", as: String.self),
                      channel: ConsentChannel(rawValue: try r.decode(column: "channel", as: String.self)) ?? .sms,
                      templateCode: try r.decode(column: "template_code", as: String.self), recipient: try r.decode(column: "recipient", as: String.self),
                      subject: try r.decode(column: "subject", as: String?.self), body: try r.decode(column: "body", as: String.self),
                      status: MessageStatus(rawValue: try r.decode(column: "status", as: String.self)) ?? .failed,
                      attempts: try r.decode(column: "attempts", as: Int.self), providerId: try r.decode(column: "provider_id", as: String?.self),
                      error: try r.decode(column: "error", as: String?.self),
                      createdAt: Date(epochMillis: try r.decode(column: "created_at", as: Int64.self)),
                      sentAt: try r.decode(column: "sent_at", as: Int64?.self).map(Date.init(epochMillis:)))
    }
}
