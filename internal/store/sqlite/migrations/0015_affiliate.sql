-- Distribution (internal/affiliate): the program, rate rules, promoters,
-- bindings, sales and their commissions, refunds applied, withdrawals.
-- Money is on the ledger too; these rows say whose it is.

-- One row: the operator's program, as JSON (affiliate.Program).
CREATE TABLE affiliate_program (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE affiliate_rules (
    scope      TEXT NOT NULL CHECK (scope IN ('product', 'sku')),
    target_id  TEXT NOT NULL,
    rates      TEXT NOT NULL, -- JSON array of bp, one per tier
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope, target_id)
);

CREATE TABLE affiliate_promoters (
    id          TEXT PRIMARY KEY, -- the buyer
    invite_code TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'approved', 'rejected')),
    applied_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    decided_by  TEXT,
    note        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX affiliate_promoters_newest ON affiliate_promoters (created_at DESC, id DESC);

-- One binding per buyer. Writes hold the writer (SQLite has one), so the
-- cycle check and the write cannot interleave with another binding's.
CREATE TABLE affiliate_bindings (
    buyer_id    TEXT PRIMARY KEY,
    promoter_id TEXT NOT NULL REFERENCES affiliate_promoters (id),
    via         TEXT NOT NULL CHECK (via IN ('invite_code', 'share')),
    ref         TEXT NOT NULL,
    bound_at    INTEGER NOT NULL,
    expires_at  INTEGER,
    CHECK (buyer_id <> promoter_id)
);
CREATE INDEX affiliate_bindings_promoter ON affiliate_bindings (promoter_id, bound_at DESC, buyer_id DESC);

-- One row per paid order distribution looked at: the primary key makes
-- the order.paid consumer safe under at-least-once delivery.
CREATE TABLE affiliate_sales (
    order_id     TEXT PRIMARY KEY,
    buyer_id     TEXT NOT NULL,
    self_buy     INTEGER NOT NULL,
    paid         INTEGER NOT NULL CHECK (paid >= 0),
    paid_at      INTEGER NOT NULL,
    settle_after INTEGER,
    settled_at   INTEGER
);
CREATE INDEX affiliate_sales_due ON affiliate_sales (settle_after) WHERE settled_at IS NULL;
CREATE INDEX affiliate_sales_buyer ON affiliate_sales (buyer_id);

CREATE TABLE affiliate_commissions (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES affiliate_sales (order_id),
    line_id     TEXT NOT NULL,
    buyer_id    TEXT NOT NULL,
    promoter_id TEXT NOT NULL REFERENCES affiliate_promoters (id),
    tier        INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),
    product_id  TEXT NOT NULL,
    sku_id      TEXT NOT NULL,
    base        INTEGER NOT NULL CHECK (base > 0),
    rate        INTEGER NOT NULL CHECK (rate BETWEEN 0 AND 10000),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    refunded    INTEGER NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND base),
    reversed    INTEGER NOT NULL DEFAULT 0 CHECK (reversed >= 0),
    settled     INTEGER NOT NULL DEFAULT 0 CHECK (settled >= 0),
    clawed_back INTEGER NOT NULL DEFAULT 0 CHECK (clawed_back BETWEEN 0 AND settled),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'settled', 'reversed')),
    created_at  INTEGER NOT NULL,
    settled_at  INTEGER,
    UNIQUE (order_id, line_id, tier),
    CHECK (reversed + settled <= amount)
);
CREATE INDEX affiliate_commissions_promoter ON affiliate_commissions (promoter_id, created_at DESC, id DESC);
CREATE INDEX affiliate_commissions_newest ON affiliate_commissions (created_at DESC, id DESC);

-- Refunds applied to commissions, once each.
CREATE TABLE affiliate_refunds (
    refund_id TEXT PRIMARY KEY,
    order_id  TEXT NOT NULL,
    at        INTEGER NOT NULL
);

CREATE TABLE affiliate_withdrawals (
    id           TEXT PRIMARY KEY,
    promoter_id  TEXT NOT NULL REFERENCES affiliate_promoters (id),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    state        TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'processing', 'succeeded', 'failed', 'rejected')),
    out_bill_no  TEXT NOT NULL UNIQUE,
    bill_no      TEXT NOT NULL DEFAULT '',
    failure      TEXT NOT NULL DEFAULT '',
    package_info TEXT NOT NULL DEFAULT '',
    decided_by   TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER
);
CREATE INDEX affiliate_withdrawals_promoter ON affiliate_withdrawals (promoter_id, created_at DESC, id DESC);
CREATE INDEX affiliate_withdrawals_newest ON affiliate_withdrawals (created_at DESC, id DESC);
