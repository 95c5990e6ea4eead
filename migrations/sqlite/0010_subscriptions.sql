-- Subscriptions: what a customer ordered from the catalog, its items, and its timeline.
-- Status machine in subscriptions/model.rs. Periods are instants (Unix ms), [start, end).
ALTER TABLE products ADD COLUMN trial_days INTEGER NOT NULL DEFAULT 0 CHECK (trial_days >= 0);

CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    product_id           TEXT NOT NULL REFERENCES products (id),
    status               TEXT NOT NULL CHECK (status IN ('PENDING_ACTIVATION', 'ACTIVE', 'SUSPENDED', 'CANCEL_AT_PERIOD_END', 'CANCELLED', 'EXPIRED', 'ACTIVATION_FAILED')),
    period               TEXT NOT NULL CHECK (period IN ('HOURLY', 'MONTHLY', 'YEARLY')),
    quantity             INTEGER NOT NULL CHECK (quantity > 0),
    currency             TEXT NOT NULL,
    -- CLOUDPOD products: the pod to create on activation.
    pod_name             TEXT NOT NULL DEFAULT '',
    region               TEXT NOT NULL DEFAULT '',
    cloudpod_id          TEXT REFERENCES cloudpods (id),
    auto_renew           INTEGER NOT NULL DEFAULT 1,
    trial_ends_at        INTEGER,
    current_period_start INTEGER,
    current_period_end   INTEGER,
    -- An unpaid first invoice expires the order at this instant.
    expires_at           INTEGER,
    failure_reason       TEXT NOT NULL DEFAULT '',
    -- The order form's key: a double submit finds the first subscription.
    idempotency_key      TEXT NOT NULL UNIQUE,
    created_by           TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    ended_at             INTEGER
);
CREATE INDEX subscriptions_list ON subscriptions (created_at, id);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id, created_at, id);
CREATE INDEX subscriptions_status ON subscriptions (status, created_at, id);
CREATE INDEX subscriptions_product ON subscriptions (product_id, created_at, id);

-- The main product and its add-ons, priced when ordered.
CREATE TABLE subscription_items (
    id               TEXT PRIMARY KEY,
    subscription_id  TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    product_id       TEXT NOT NULL REFERENCES products (id),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    setup_fee_minor  INTEGER NOT NULL CHECK (setup_fee_minor >= 0)
);
CREATE INDEX subscription_items_subscription ON subscription_items (subscription_id, position);

-- The timeline: every change, invoice, payment, job outcome and pod event, in order.
CREATE TABLE subscription_events (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    summary         TEXT NOT NULL,
    actor           TEXT NOT NULL
);
CREATE INDEX subscription_events_subscription ON subscription_events (subscription_id, at, id);

-- Where an invoice came from, and which subscription period it bills. One invoice per
-- (subscription, period, reason); the first invoice's period is not known until activation,
-- so the key reads a missing bound as -1.
ALTER TABLE invoices ADD COLUMN source TEXT NOT NULL DEFAULT 'MANUAL' CHECK (source IN ('SUBSCRIPTION', 'USAGE', 'ADJUSTMENT', 'MANUAL'));
ALTER TABLE invoices ADD COLUMN subscription_id TEXT REFERENCES subscriptions (id);
ALTER TABLE invoices ADD COLUMN period_start INTEGER;
ALTER TABLE invoices ADD COLUMN period_end INTEGER;
ALTER TABLE invoices ADD COLUMN billing_reason TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX invoices_subscription_period ON invoices (subscription_id, COALESCE(period_start, -1), COALESCE(period_end, -1), billing_reason) WHERE subscription_id IS NOT NULL;

-- A pod belongs to the subscription that ordered it. The old free-text reference stays
-- readable under its own name until the pod form stops asking for it.
ALTER TABLE cloudpods RENAME COLUMN subscription_id TO subscription_ref;
ALTER TABLE cloudpods ADD COLUMN subscription_id TEXT REFERENCES subscriptions (id);
CREATE INDEX cloudpods_subscription ON cloudpods (subscription_id);
