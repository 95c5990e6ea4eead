-- Invitations to join a tenant: the invitee sets their own password through a single-use link.
-- Types follow DESIGN.md (TEXT ids, INTEGER unix ms).
CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    email            TEXT NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    -- SHA-256 hex of the link's random token; the token itself is only in the e-mail.
    token_hash       TEXT NOT NULL UNIQUE,
    invited_by       TEXT REFERENCES users (id),
    invited_by_email TEXT NOT NULL,
    expires_at       INTEGER NOT NULL,
    accepted_at      INTEGER,
    revoked_at       INTEGER,
    -- The user the invitation created, once accepted.
    user_id          TEXT REFERENCES users (id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- At most one open invitation per address and tenant: inviting again renews it.
CREATE UNIQUE INDEX invitations_open ON invitations (tenant_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_tenant ON invitations (tenant_id, created_at);
