-- Refunds and after-sales. Money is INTEGER fen; times are microseconds
-- since the epoch, UTC.

-- A buyer's request about lines of one order.
CREATE TABLE aftersales (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    buyer_id    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('refund_only', 'return_refund')),
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('requested', 'approved', 'rejected', 'withdrawn', 'refunding', 'refunded', 'failed')),
    note        TEXT NOT NULL DEFAULT '',
    operator    TEXT NOT NULL DEFAULT '',
    refund_id   TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX aftersales_newest ON aftersales (created_at DESC, id DESC);
CREATE INDEX aftersales_order ON aftersales (order_id, created_at DESC, id DESC);
CREATE INDEX aftersales_buyer ON aftersales (buyer_id, created_at DESC, id DESC);
CREATE INDEX aftersales_state ON aftersales (state, created_at DESC, id DESC);

-- open is 1 while the after-sale is open: the partial unique index is the
-- rule "one open after-sale per line", kept by the database whatever runs
-- concurrently.
CREATE TABLE aftersale_lines (
    aftersale_id   TEXT NOT NULL REFERENCES aftersales (id),
    position       INTEGER NOT NULL,
    order_line_id  TEXT NOT NULL REFERENCES order_lines (id),
    qty            INTEGER NOT NULL CHECK (qty > 0),
    open           INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (aftersale_id, order_line_id)
);
CREATE UNIQUE INDEX aftersale_lines_open ON aftersale_lines (order_line_id) WHERE open = 1;

-- What one order paid and what of it refunds hold (every refund not
-- closed). Created by the order's first refund from its payment; changed
-- only by conditional updates, and the CHECKs are the last line of defence
-- of invariant 3 (refunds never exceed what was paid). refund_count counts
-- closed refunds too; 50 is WeChat Pay's limit per order.
CREATE TABLE refund_positions (
    order_id           TEXT PRIMARY KEY REFERENCES orders (id),
    payment_id         TEXT NOT NULL,
    out_trade_no       TEXT NOT NULL,
    paid               INTEGER NOT NULL CHECK (paid > 0),
    fee                INTEGER NOT NULL CHECK (fee >= 0),
    paid_at            INTEGER NOT NULL,
    refunded           INTEGER NOT NULL DEFAULT 0,
    refunded_fee       INTEGER NOT NULL DEFAULT 0,
    shipping_refunded  INTEGER NOT NULL DEFAULT 0,
    refund_count       INTEGER NOT NULL DEFAULT 0,
    CHECK (refunded >= 0 AND refunded <= paid),
    CHECK (refunded_fee >= 0 AND refunded_fee <= fee),
    CHECK (shipping_refunded >= 0),
    CHECK (refund_count >= 0 AND refund_count <= 50)
);

-- Each line of an order with a refund position: its units and what it
-- really paid (copied from order_lines, which never change after placing),
-- and what refunds hold of them.
CREATE TABLE refund_position_lines (
    order_line_id    TEXT PRIMARY KEY REFERENCES order_lines (id),
    order_id         TEXT NOT NULL REFERENCES refund_positions (order_id),
    qty              INTEGER NOT NULL,
    amount           INTEGER NOT NULL,
    refunded_qty     INTEGER NOT NULL DEFAULT 0,
    refunded_amount  INTEGER NOT NULL DEFAULT 0,
    CHECK (refunded_qty >= 0 AND refunded_qty <= qty),
    CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);
CREATE INDEX refund_position_lines_order ON refund_position_lines (order_id);

-- One refund. out_refund_no is its number at the platform, unique: one
-- number, one refund (invariant 3). key, when set, makes a refund unique
-- (the automatic refund of a payment captured after close).
CREATE TABLE refunds (
    id                  TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL REFERENCES refund_positions (order_id),
    buyer_id            TEXT NOT NULL,
    payment_id          TEXT NOT NULL,
    aftersale_id        TEXT REFERENCES aftersales (id),
    out_trade_no        TEXT NOT NULL,
    out_refund_no       TEXT NOT NULL UNIQUE,
    key                 TEXT NOT NULL DEFAULT '',
    source              TEXT NOT NULL CHECK (source IN ('aftersale', 'finance', 'auto')),
    reason              TEXT NOT NULL,
    shipping            INTEGER NOT NULL CHECK (shipping >= 0),
    amount              INTEGER NOT NULL CHECK (amount > 0),
    fee                 INTEGER NOT NULL CHECK (fee >= 0),
    total               INTEGER NOT NULL CHECK (total >= amount),
    full_refund         INTEGER NOT NULL,
    return_goods        INTEGER NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'processing', 'succeeded', 'closed', 'abnormal')),
    platform_refund_id  TEXT NOT NULL DEFAULT '',
    failure             TEXT NOT NULL DEFAULT '',
    resolution          TEXT NOT NULL DEFAULT '',
    note                TEXT NOT NULL DEFAULT '',
    operator            TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    sent_at             INTEGER,
    finished_at         INTEGER
);
CREATE UNIQUE INDEX refunds_key ON refunds (key) WHERE key <> '';
CREATE INDEX refunds_newest ON refunds (created_at DESC, id DESC);
CREATE INDEX refunds_order ON refunds (order_id, created_at DESC, id DESC);
CREATE INDEX refunds_state ON refunds (state, created_at DESC, id DESC);

CREATE TABLE refund_lines (
    refund_id      TEXT NOT NULL REFERENCES refunds (id),
    position       INTEGER NOT NULL,
    order_line_id  TEXT NOT NULL REFERENCES refund_position_lines (order_line_id),
    sku_id         TEXT NOT NULL,
    qty            INTEGER NOT NULL CHECK (qty > 0),
    amount         INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (refund_id, order_line_id)
);

-- A returned-goods refund whose units went back on hand: the key that makes
-- the restock consumer act once per refund.
CREATE TABLE refund_restocks (
    refund_id  TEXT PRIMARY KEY REFERENCES refunds (id),
    at         INTEGER NOT NULL
);
