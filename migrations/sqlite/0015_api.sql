-- JSON API v1: the first answer to each Idempotency-Key, kept 24 hours per token.
-- A request inserts its row in progress (status NULL) under the primary key; a repeat of the
-- same key waits until the first one has stored its answer, then gets that answer again.
CREATE TABLE api_idempotency (
    token_id      TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    idem_key      TEXT NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused
    request_hash  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- NULL while the first request runs
    status        INTEGER,
    content_type  TEXT NOT NULL DEFAULT '',
    body          BLOB,
    completed_at  INTEGER,
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
