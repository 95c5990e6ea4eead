-- Foundation: tenants, users, sessions, audit log, login throttle.
-- Types follow DESIGN.md: ids TEXT (UUIDv7), instants BIGINT unix ms, flags BIGINT 0/1.
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('OPERATOR', 'CUSTOMER')),
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL UNIQUE,
    billing_email TEXT NOT NULL,
    country       TEXT NOT NULL,
    region        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    beta          BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- Exactly one operator tenant: this index is what makes two racing /setup submissions create one owner.
CREATE UNIQUE INDEX tenants_one_operator ON tenants (kind) WHERE kind = 'OPERATOR';

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    email                TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'BILLING', 'MEMBER', 'VIEWER')),
    active               BIGINT NOT NULL DEFAULT 1,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id, email);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY, -- SHA-256 of the cookie token, hex; the token itself is never stored
    user_id      TEXT NOT NULL REFERENCES users (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT,
    actor_user_id TEXT,
    actor_email   TEXT NOT NULL,
    action        TEXT NOT NULL,
    target_type   TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    summary       TEXT NOT NULL,
    ip            TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, created_at);
CREATE INDEX audit_log_time ON audit_log (created_at);

-- GCRA state for failed-login limits: one "theoretical arrival time" per key.
CREATE TABLE login_throttle (
    key    TEXT PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);
