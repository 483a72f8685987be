-- rampart API keys: hashes only, never keys. Portable SQL (PostgreSQL and SQLite).
-- Times are Unix seconds; roles and scopes are space-separated words.
CREATE TABLE IF NOT EXISTS rampart_api_keys (
    id          VARCHAR(16) PRIMARY KEY,
    hash        VARCHAR(71) NOT NULL,
    roles       TEXT NOT NULL DEFAULT '',
    scopes      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
