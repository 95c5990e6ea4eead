-- Invoices, lines, payments/refunds, credit notes, tax rules and gapless number counters.
-- Tenants get what an invoice snapshot needs: postal address, tax id, payment terms.
ALTER TABLE tenants ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN tax_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN net_terms_days INTEGER NOT NULL DEFAULT 14;

-- A rate is a percentage as exact decimal text ("19", "7.7"); region '' applies everywhere.
CREATE TABLE tax_rules (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    rate       TEXT NOT NULL,
    region     TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- One row per tenant, year and kind ('INV', 'CN'): incremented inside the issuing transaction,
-- so numbers are unique and gapless (a rolled-back issue rolls the counter back too).
CREATE TABLE document_counters (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    year      INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, year, kind)
);

CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    status          TEXT NOT NULL CHECK (status IN ('DRAFT', 'ISSUED', 'PAID', 'VOID')),
    number          TEXT,
    currency        TEXT NOT NULL,
    issue_date      TEXT NOT NULL DEFAULT '',
    due_date        TEXT NOT NULL DEFAULT '',
    tax_name        TEXT NOT NULL DEFAULT '',
    tax_rate        TEXT NOT NULL DEFAULT '0',
    subtotal_minor  INTEGER NOT NULL DEFAULT 0,
    discount_minor  INTEGER NOT NULL DEFAULT 0,
    tax_minor       INTEGER NOT NULL DEFAULT 0,
    total_minor     INTEGER NOT NULL DEFAULT 0,
    paid_minor      INTEGER NOT NULL DEFAULT 0,
    refunded_minor  INTEGER NOT NULL DEFAULT 0,
    credited_minor  INTEGER NOT NULL DEFAULT 0,
    due_minor       INTEGER NOT NULL DEFAULT 0,
    buyer_snapshot  TEXT NOT NULL DEFAULT '',
    seller_snapshot TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (paid_minor >= refunded_minor AND refunded_minor >= 0 AND credited_minor >= 0)
);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number);
CREATE INDEX invoices_list ON invoices (created_at, id);
CREATE INDEX invoices_tenant ON invoices (tenant_id, created_at, id);
CREATE INDEX invoices_status ON invoices (status, created_at, id);
CREATE INDEX invoices_tenant_status ON invoices (tenant_id, status, created_at, id);
CREATE INDEX invoices_number_prefix ON invoices (number COLLATE NOCASE); -- LIKE 'INV-2026-00%' uses it

-- Per tenant, status and currency: how many invoices, their totals and what is due. Kept in
-- step by every change, in the same transaction, so list sums need not scan every invoice.
CREATE TABLE invoice_summaries (
    tenant_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    currency    TEXT NOT NULL,
    count       INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    due_minor   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, status, currency)
);

CREATE TABLE invoice_lines (
    id               TEXT PRIMARY KEY,
    invoice_id       TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('ITEM', 'DISCOUNT', 'TAX', 'ADJUSTMENT')),
    description      TEXT NOT NULL,
    quantity         TEXT NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    amount_minor     INTEGER NOT NULL,
    product_id       TEXT REFERENCES products (id)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id, position);

-- Append-only: a refund is a row of kind REFUND pointing at its payment.
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    invoice_id      TEXT NOT NULL REFERENCES invoices (id),
    kind            TEXT NOT NULL CHECK (kind IN ('PAYMENT', 'REFUND')),
    status          TEXT NOT NULL CHECK (status IN ('SUCCESS', 'FAILED')),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    method          TEXT NOT NULL,
    reference       TEXT NOT NULL DEFAULT '',
    paid_on         TEXT NOT NULL,
    refund_of       TEXT REFERENCES payments (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id, created_at);

CREATE TABLE credit_notes (
    id           TEXT PRIMARY KEY,
    invoice_id   TEXT NOT NULL REFERENCES invoices (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    number       TEXT NOT NULL,
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    reason       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX credit_notes_number ON credit_notes (tenant_id, number);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
