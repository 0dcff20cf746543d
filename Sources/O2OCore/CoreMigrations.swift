/// The tables every module relies on: identity, idempotency, audit, outbox and webhooks.
public enum CoreMigrations {
    public static let all: [Migration] = [
        Migration(module: "core", version: 1, name: "identity, idempotency, audit, outbox, webhooks", [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
                role TEXT NOT NULL, organisation_id TEXT, location_id TEXT, status TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE sessions (
                token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT)
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, channel TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
                organisation_id TEXT, created_at BIGINT NOT NULL, revoked_at BIGINT)
            """,
            """
            CREATE TABLE idempotency_keys (
                principal_id TEXT NOT NULL, idem_key TEXT NOT NULL, request_hash TEXT NOT NULL, state TEXT NOT NULL,
                status BIGINT, content_type TEXT, body TEXT, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                PRIMARY KEY (principal_id, idem_key))
            """,
            "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
            """
            CREATE TABLE audit_events (
                id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, action TEXT NOT NULL,
                entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, before_json TEXT, after_json TEXT, request_id TEXT,
                organisation_id TEXT, location_id TEXT)
            """,
            "CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id)",
            """
            CREATE TABLE outbox_events (
                id TEXT PRIMARY KEY, event_type TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, payload TEXT NOT NULL,
                organisation_id TEXT, location_id TEXT, created_at BIGINT NOT NULL, dispatched_at BIGINT)
            """,
            "CREATE INDEX outbox_events_pending ON outbox_events (dispatched_at, id)",
            """
            CREATE TABLE webhook_endpoints (
                id TEXT PRIMARY KEY, url TEXT NOT NULL, description TEXT, event_types TEXT NOT NULL, secret TEXT NOT NULL,
                status TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id), event_id TEXT NOT NULL REFERENCES outbox_events(id),
                event_type TEXT NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at BIGINT, last_status_code BIGINT,
                last_error TEXT, delivered_at BIGINT, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        ]),
    ]
}
