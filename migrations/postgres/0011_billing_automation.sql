-- Billing automation: anniversary periods counted from an anchor, bill runs and their
-- records, dunning steps done once per invoice, usage records, and plan changes.

-- Period n of a subscription is period_bounds(billing_anchor, period, n): counted from the
-- anchor (not from the previous end) so that month ends clamp and come back (31st → 30th →
-- 31st). A trial is period -1, [activation, trial end), with the anchor at the trial's end.
ALTER TABLE subscriptions ADD COLUMN billing_anchor BIGINT;
ALTER TABLE subscriptions ADD COLUMN period_number BIGINT NOT NULL DEFAULT 0;
UPDATE subscriptions SET billing_anchor = current_period_start WHERE current_period_start IS NOT NULL;
-- Why a SUSPENDED subscription is suspended: STAFF, or OVERDUE (paying resumes only these).
ALTER TABLE subscriptions ADD COLUMN suspend_reason TEXT NOT NULL DEFAULT '' CHECK (suspend_reason IN ('', 'STAFF', 'OVERDUE'));
UPDATE subscriptions SET suspend_reason = 'STAFF' WHERE status = 'SUSPENDED';
-- A downgrade waits for the next period: the plan (product) the renewal switches to.
ALTER TABLE subscriptions ADD COLUMN pending_product_id TEXT REFERENCES products (id);
-- The start of the next period while its renewal invoice is not issued yet (NULL once it is):
-- the bill run's renewal work list, so a run with nothing to bill reads nothing.
ALTER TABLE subscriptions ADD COLUMN next_bill_at BIGINT;
UPDATE subscriptions SET next_bill_at = current_period_end WHERE current_period_end IS NOT NULL AND status IN ('ACTIVE', 'SUSPENDED');
CREATE INDEX subscriptions_next_bill ON subscriptions (next_bill_at, id);
-- The bill run reads live subscriptions by the end of their period.
CREATE INDEX subscriptions_period_end ON subscriptions (current_period_end, id);

-- Each bill run: when, up to which instant of the clock, and what it did.
CREATE TABLE bill_runs (
    id             TEXT PRIMARY KEY,
    -- SCHEDULE, or the e-mail of the staff member who started it
    started_by     TEXT NOT NULL,
    as_of          BIGINT NOT NULL,
    started_at     BIGINT NOT NULL,
    finished_at    BIGINT,
    issued         BIGINT NOT NULL DEFAULT 0,
    already_billed BIGINT NOT NULL DEFAULT 0,
    periods_rolled BIGINT NOT NULL DEFAULT 0,
    ended          BIGINT NOT NULL DEFAULT 0,
    expired        BIGINT NOT NULL DEFAULT 0,
    dunning_steps  BIGINT NOT NULL DEFAULT 0,
    failed         BIGINT NOT NULL DEFAULT 0,
    -- one "subscription or invoice id: reason" per line, the first 50
    failures       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bill_runs_started ON bill_runs (started_at, id);

-- Each dunning step happens once per invoice: the primary key makes a second worker's or a
-- re-run's attempt find it done.
CREATE TABLE dunning_steps (
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    step       TEXT NOT NULL,
    done_at    BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, step)
);

-- Metered usage of a subscription's usage-priced items; a client's transaction id once.
CREATE TABLE usage_records (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
    product_id      TEXT NOT NULL REFERENCES products (id),
    metric          TEXT NOT NULL,
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    at              BIGINT NOT NULL,
    client_txn_id   TEXT NOT NULL,
    -- the invoice that billed it, once billed
    invoice_id      TEXT REFERENCES invoices (id),
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (subscription_id, client_txn_id)
);
CREATE INDEX usage_records_period ON usage_records (subscription_id, at);
