-- Online payments: the gateway a payment came through, exactly once per gateway reference,
-- the webhook inbox, disputes flagged on invoices and the tenants' account credit.

-- '' for money staff type in without a gateway (bank transfer, cash); 'stripe', 'paypal', …
-- otherwise (a staff entry with method Stripe or PayPal names its gateway too).
ALTER TABLE payments ADD COLUMN gateway TEXT NOT NULL DEFAULT '';
-- The same money is recorded once: one successful payment (or refund) per gateway reference,
-- however it arrives (webhook twice, webhook and staff, two workers at once).
CREATE UNIQUE INDEX payments_gateway_reference ON payments (gateway, kind, reference)
    WHERE gateway <> '' AND reference <> '' AND status = 'SUCCESS';

-- Every delivery received on /billing/webhooks/stripe|generic. A verified event is stored once
-- per (provider, event id); a delivery whose signature failed is kept (event_id '') so staff
-- see it, and is never processed.
CREATE TABLE webhook_events (
    id           TEXT PRIMARY KEY,
    provider     TEXT NOT NULL CHECK (provider IN ('stripe', 'generic')),
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    verified     INTEGER NOT NULL CHECK (verified IN (0, 1)),
    verification TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('PENDING', 'PROCESSED', 'IGNORED', 'WAITING', 'FAILED', 'REJECTED')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    -- WAITING: the payment reference this event needs (a refund before its payment).
    waits_for    TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL DEFAULT '',
    invoice_id   TEXT NOT NULL DEFAULT '',
    payload      TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER
);
CREATE UNIQUE INDEX webhook_events_event ON webhook_events (provider, event_id) WHERE verified = 1;
CREATE INDEX webhook_events_received ON webhook_events (received_at, id);
CREATE INDEX webhook_events_status ON webhook_events (status, received_at);
CREATE INDEX webhook_events_waiting ON webhook_events (waits_for) WHERE status = 'WAITING';

-- A gateway told us the customer disputed a payment: staff see it on the invoice.
CREATE TABLE invoice_disputes (
    id           TEXT PRIMARY KEY,
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    gateway      TEXT NOT NULL,
    dispute_ref  TEXT NOT NULL,
    payment_ref  TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX invoice_disputes_ref ON invoice_disputes (gateway, dispute_ref);
CREATE INDEX invoice_disputes_invoice ON invoice_disputes (invoice_id);

-- Account credit: an append-only ledger per tenant and currency. An overpayment adds to it,
-- a refund of overpaid money takes it back, and issuing an invoice spends it.
CREATE TABLE account_credit (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
    kind         TEXT NOT NULL CHECK (kind IN ('OVERPAYMENT', 'REFUND', 'APPLIED')),
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    payment_id   TEXT REFERENCES payments (id),
    note         TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX account_credit_tenant ON account_credit (tenant_id, currency, created_at);
