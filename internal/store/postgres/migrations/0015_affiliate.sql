-- Distribution (internal/affiliate): the program, rate rules, promoters,
-- bindings, sales and their commissions, refunds applied, withdrawals.
-- Money is on the ledger too; these rows say whose it is.

-- One row: the operator's program, as JSON (affiliate.Program).
CREATE TABLE affiliate_program (
    id         smallint PRIMARY KEY CHECK (id = 1),
    body       text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE affiliate_rules (
    scope      text NOT NULL CHECK (scope IN ('product', 'sku')),
    target_id  uuid NOT NULL,
    rates      text NOT NULL, -- JSON array of bp, one per tier
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (scope, target_id)
);

CREATE TABLE affiliate_promoters (
    id          uuid PRIMARY KEY, -- the buyer
    invite_code text NOT NULL UNIQUE,
    status      text NOT NULL CHECK (status IN ('applied', 'approved', 'rejected')),
    applied_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    decided_by  text,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);
CREATE INDEX affiliate_promoters_newest ON affiliate_promoters (created_at DESC, id DESC);

-- One binding per buyer. Writes hold an advisory lock (postgres.bindLock), so
-- the cycle check and the write cannot interleave with another binding's.
CREATE TABLE affiliate_bindings (
    buyer_id    uuid PRIMARY KEY,
    promoter_id uuid NOT NULL REFERENCES affiliate_promoters (id),
    via         text NOT NULL CHECK (via IN ('invite_code', 'share')),
    ref         text NOT NULL,
    bound_at    timestamptz NOT NULL,
    expires_at  timestamptz,
    CHECK (buyer_id <> promoter_id)
);
CREATE INDEX affiliate_bindings_promoter ON affiliate_bindings (promoter_id, bound_at DESC, buyer_id DESC);

-- One row per paid order distribution looked at: the primary key makes
-- the order.paid consumer safe under at-least-once delivery.
CREATE TABLE affiliate_sales (
    order_id     uuid PRIMARY KEY,
    buyer_id     uuid NOT NULL,
    self_buy     boolean NOT NULL,
    paid         bigint NOT NULL CHECK (paid >= 0),
    paid_at      timestamptz NOT NULL,
    settle_after timestamptz,
    settled_at   timestamptz
);
CREATE INDEX affiliate_sales_due ON affiliate_sales (settle_after) WHERE settled_at IS NULL;
CREATE INDEX affiliate_sales_buyer ON affiliate_sales (buyer_id);

CREATE TABLE affiliate_commissions (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES affiliate_sales (order_id),
    line_id     uuid NOT NULL,
    buyer_id    uuid NOT NULL,
    promoter_id uuid NOT NULL REFERENCES affiliate_promoters (id),
    tier        smallint NOT NULL CHECK (tier BETWEEN 1 AND 3),
    product_id  uuid NOT NULL,
    sku_id      uuid NOT NULL,
    base        bigint NOT NULL CHECK (base > 0),
    rate        integer NOT NULL CHECK (rate BETWEEN 0 AND 10000),
    amount      bigint NOT NULL CHECK (amount > 0),
    refunded    bigint NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND base),
    reversed    bigint NOT NULL DEFAULT 0 CHECK (reversed >= 0),
    settled     bigint NOT NULL DEFAULT 0 CHECK (settled >= 0),
    clawed_back bigint NOT NULL DEFAULT 0 CHECK (clawed_back BETWEEN 0 AND settled),
    state       text NOT NULL CHECK (state IN ('pending', 'settled', 'reversed')),
    created_at  timestamptz NOT NULL,
    settled_at  timestamptz,
    UNIQUE (order_id, line_id, tier),
    CHECK (reversed + settled <= amount)
);
CREATE INDEX affiliate_commissions_promoter ON affiliate_commissions (promoter_id, created_at DESC, id DESC);
CREATE INDEX affiliate_commissions_newest ON affiliate_commissions (created_at DESC, id DESC);

-- Refunds applied to commissions, once each.
CREATE TABLE affiliate_refunds (
    refund_id uuid PRIMARY KEY,
    order_id  uuid NOT NULL,
    at        timestamptz NOT NULL
);

CREATE TABLE affiliate_withdrawals (
    id           uuid PRIMARY KEY,
    promoter_id  uuid NOT NULL REFERENCES affiliate_promoters (id),
    amount       bigint NOT NULL CHECK (amount > 0),
    state        text NOT NULL CHECK (state IN ('requested', 'approved', 'processing', 'succeeded', 'failed', 'rejected')),
    out_bill_no  text NOT NULL UNIQUE,
    bill_no      text NOT NULL DEFAULT '',
    failure      text NOT NULL DEFAULT '',
    package_info text NOT NULL DEFAULT '',
    decided_by   text NOT NULL DEFAULT '',
    note         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz
);
CREATE INDEX affiliate_withdrawals_promoter ON affiliate_withdrawals (promoter_id, created_at DESC, id DESC);
CREATE INDEX affiliate_withdrawals_newest ON affiliate_withdrawals (created_at DESC, id DESC);
