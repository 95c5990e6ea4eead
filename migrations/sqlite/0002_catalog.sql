-- Billing catalog: products, base prices, usage tiers, price overrides, CloudPod plans.
-- Money is INTEGER minor units of the row's currency.
CREATE TABLE products (
    id               TEXT PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    category         TEXT NOT NULL CHECK (category IN ('CLOUDPOD', 'ADDON', 'EMAIL', 'DOMAIN', 'SECURITY', 'BACKUP', 'SUPPORT', 'OTHER')),
    billing_model    TEXT NOT NULL CHECK (billing_model IN ('ONE_TIME', 'RECURRING', 'USAGE_BASED', 'USAGE_TIERED')),
    status           TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE', 'DEPRECATED')),
    visibility       TEXT NOT NULL CHECK (visibility IN ('PUBLIC', 'PRIVATE', 'BETA')),
    tax_category     TEXT NOT NULL,
    unit_name        TEXT NOT NULL DEFAULT '',
    tier_mode        TEXT NOT NULL DEFAULT 'GRADUATED' CHECK (tier_mode IN ('GRADUATED', 'VOLUME')),
    stripe_price_id  TEXT NOT NULL DEFAULT '',
    whmcs_product_id TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- Each list order has an index that yields rows already sorted (no sort of the whole table).
CREATE INDEX products_offer ON products (status, visibility, name, id);
CREATE INDEX products_name ON products (name, id);
CREATE INDEX products_category ON products (category, name, id);
CREATE INDEX products_status ON products (status, name, id);
CREATE INDEX products_visibility ON products (visibility, name, id);
CREATE INDEX products_updated ON products (updated_at, id);
CREATE INDEX products_created ON products (created_at, id);

CREATE TABLE product_prices (
    id              TEXT PRIMARY KEY,
    product_id      TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    currency        TEXT NOT NULL,
    period          TEXT NOT NULL CHECK (period IN ('ONCE', 'HOURLY', 'MONTHLY', 'YEARLY')),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    setup_fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (setup_fee_minor >= 0),
    UNIQUE (product_id, currency, period)
);

-- up_to is inclusive; -1 marks the open-ended last tier.
CREATE TABLE product_tiers (
    id          TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    currency    TEXT NOT NULL,
    up_to       INTEGER NOT NULL,
    unit_minor  INTEGER NOT NULL CHECK (unit_minor >= 0),
    flat_minor  INTEGER NOT NULL DEFAULT 0 CHECK (flat_minor >= 0),
    UNIQUE (product_id, currency, up_to)
);

-- '' in tenant_id / region means "any". The window is [valid_from, valid_until) in Unix ms.
CREATE TABLE price_overrides (
    id              TEXT PRIMARY KEY,
    product_id      TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL DEFAULT '',
    region          TEXT NOT NULL DEFAULT '',
    currency        TEXT NOT NULL,
    period          TEXT NOT NULL CHECK (period IN ('ONCE', 'HOURLY', 'MONTHLY', 'YEARLY')),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    setup_fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (setup_fee_minor >= 0),
    valid_from      INTEGER NOT NULL,
    valid_until     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    CHECK (valid_from < valid_until)
);
CREATE INDEX price_overrides_product ON price_overrides (product_id, currency, period);

-- CloudPod plans are product configuration: specs here, prices on the product.
-- -1 means unlimited.
CREATE TABLE cloudpod_plans (
    code               TEXT PRIMARY KEY,
    product_id         TEXT NOT NULL UNIQUE REFERENCES products (id),
    cpu_cores          INTEGER NOT NULL CHECK (cpu_cores > 0),
    ram_mb             INTEGER NOT NULL CHECK (ram_mb > 0),
    disk_gb            INTEGER NOT NULL CHECK (disk_gb > 0),
    max_websites       INTEGER NOT NULL CHECK (max_websites >= -1),
    max_email_accounts INTEGER NOT NULL CHECK (max_email_accounts >= -1),
    sort_order         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- The four plans of the original system (seeds: CLOUDPOD_PLANS), USD monthly list prices.
INSERT INTO products (id, code, name, description, category, billing_model, status, visibility, tax_category, created_at, updated_at) VALUES
    ('0192f000-0000-7000-8000-000000000001', 'CLOUDPOD-MINI', 'CloudPod Mini', 'A managed CloudPod virtual server.', 'CLOUDPOD', 'RECURRING', 'ACTIVE', 'PUBLIC', 'DIGITAL', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('0192f000-0000-7000-8000-000000000002', 'CLOUDPOD-PRO', 'CloudPod Pro', 'A managed CloudPod virtual server.', 'CLOUDPOD', 'RECURRING', 'ACTIVE', 'PUBLIC', 'DIGITAL', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('0192f000-0000-7000-8000-000000000003', 'CLOUDPOD-BUSINESS', 'CloudPod Business', 'A managed CloudPod virtual server.', 'CLOUDPOD', 'RECURRING', 'ACTIVE', 'PUBLIC', 'DIGITAL', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('0192f000-0000-7000-8000-000000000004', 'CLOUDPOD-ENTERPRISE', 'CloudPod Enterprise', 'A managed CloudPod virtual server.', 'CLOUDPOD', 'RECURRING', 'ACTIVE', 'PUBLIC', 'DIGITAL', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
INSERT INTO product_prices (id, product_id, currency, period, amount_minor, setup_fee_minor) VALUES
    ('0192f000-0000-7000-8000-000000000101', '0192f000-0000-7000-8000-000000000001', 'USD', 'MONTHLY', 999, 0),
    ('0192f000-0000-7000-8000-000000000102', '0192f000-0000-7000-8000-000000000002', 'USD', 'MONTHLY', 1999, 0),
    ('0192f000-0000-7000-8000-000000000103', '0192f000-0000-7000-8000-000000000003', 'USD', 'MONTHLY', 3999, 0),
    ('0192f000-0000-7000-8000-000000000104', '0192f000-0000-7000-8000-000000000004', 'USD', 'MONTHLY', 7999, 0);
INSERT INTO cloudpod_plans (code, product_id, cpu_cores, ram_mb, disk_gb, max_websites, max_email_accounts, sort_order, updated_at) VALUES
    ('MINI', '0192f000-0000-7000-8000-000000000001', 1, 1024, 20, 5, 10, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('PRO', '0192f000-0000-7000-8000-000000000002', 2, 2048, 50, 20, 50, 2, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('BUSINESS', '0192f000-0000-7000-8000-000000000003', 4, 4096, 100, 50, 100, 3, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
    ('ENTERPRISE', '0192f000-0000-7000-8000-000000000004', 8, 8192, 200, -1, -1, 4, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
