-- Passkeys (WebAuthn / FIDO2): a user's credentials, the server-side state of each ceremony,
-- and the tenant policy that requires passkeys from a role upwards.

CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    -- The credential id as base64url: unique across all users.
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    -- webauthn-rs' serialised Passkey: the COSE public key, its counter and flags.
    passkey_json  TEXT NOT NULL,
    sign_count    INTEGER NOT NULL DEFAULT 0,
    -- Comma-separated transports the authenticator reported (internal, usb, hybrid, ...).
    transports    TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- One registration or authentication in progress: single-use (deleted when taken), five minutes.
CREATE TABLE webauthn_ceremonies (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('REGISTER', 'SECOND_FACTOR', 'PASSWORDLESS')),
    -- The user registering or signing in (NULL for a passwordless sign-in: not known yet).
    user_id      TEXT REFERENCES users (id),
    -- For SECOND_FACTOR: the mfa_challenges row the password step left.
    challenge_id TEXT,
    -- For REGISTER: the name chosen for the new passkey.
    label        TEXT NOT NULL DEFAULT '',
    -- webauthn-rs' ceremony state (the challenge and what it allows), as JSON.
    state_json   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- '' = no passkey requirement; otherwise members of this role and above must use passkeys.
ALTER TABLE tenant_security_policy ADD COLUMN passkeys_min_role TEXT NOT NULL DEFAULT '';
