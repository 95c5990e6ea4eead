-- Security centre: TOTP MFA, recovery codes, second-factor login challenges, API tokens,
-- security events and per-tenant policy. Types follow DESIGN.md (TEXT ids, INTEGER unix ms, 0/1 flags).
CREATE TABLE user_mfa (
    user_id    TEXT PRIMARY KEY REFERENCES users (id),
    -- XChaCha20-Poly1305 ciphertext of the TOTP secret; the key is derived from the app secret.
    secret_enc TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0,
    -- Last accepted TOTP time step: a code for this step or an earlier one is a replay.
    last_step  INTEGER NOT NULL DEFAULT 0,
    enabled_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL, -- SHA-256 hex of an 80-bit random code; the code itself is shown once
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id, code_hash);

-- A correct password for an account with MFA: not a session, only the right to enter a code.
CREATE TABLE mfa_challenges (
    id         TEXT PRIMARY KEY, -- SHA-256 of the challenge cookie token
    user_id    TEXT NOT NULL REFERENCES users (id),
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    next_path  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE, -- SHA-256 hex; the token is shown once
    prefix       TEXT NOT NULL,
    last_four    TEXT NOT NULL,
    scopes       TEXT NOT NULL, -- comma-separated, e.g. READ,SECURITY
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);

CREATE TABLE security_events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT,
    user_id         TEXT, -- the actor, when known
    subject_user_id TEXT, -- the user the event is about, when not the actor
    email           TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    summary         TEXT NOT NULL,
    ip              TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX security_events_tenant_time ON security_events (tenant_id, created_at);
CREATE INDEX security_events_time ON security_events (created_at);
CREATE INDEX security_events_user ON security_events (user_id, created_at);
CREATE INDEX security_events_subject ON security_events (subject_user_id, created_at);

-- No row: the defaults (12 characters, common passwords refused, nothing else).
CREATE TABLE tenant_security_policy (
    tenant_id           TEXT PRIMARY KEY REFERENCES tenants (id),
    min_password_length INTEGER NOT NULL,
    reject_common       INTEGER NOT NULL,
    require_mfa         INTEGER NOT NULL,
    ip_allowlist        TEXT NOT NULL, -- one CIDR per line; empty = any address
    idle_minutes        INTEGER NOT NULL, -- 0 = the server's limit
    absolute_minutes    INTEGER NOT NULL, -- 0 = the server's limit
    updated_at          INTEGER NOT NULL,
    updated_by          TEXT
);
