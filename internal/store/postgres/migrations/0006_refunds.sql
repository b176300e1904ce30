-- Refunds and after-sales. Money is bigint fen.

-- A buyer's request about lines of one order.
CREATE TABLE aftersales (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id),
    buyer_id    uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('refund_only', 'return_refund')),
    reason      text NOT NULL,
    state       text NOT NULL CHECK (state IN ('requested', 'approved', 'rejected', 'withdrawn', 'refunding', 'refunded', 'failed')),
    note        text NOT NULL DEFAULT '',
    operator    text NOT NULL DEFAULT '',
    refund_id   uuid,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX aftersales_newest ON aftersales (created_at DESC, id DESC);
CREATE INDEX aftersales_order ON aftersales (order_id, created_at DESC, id DESC);
CREATE INDEX aftersales_buyer ON aftersales (buyer_id, created_at DESC, id DESC);
CREATE INDEX aftersales_state ON aftersales (state, created_at DESC, id DESC);

-- open is true while the after-sale is open: the partial unique index is
-- the rule "one open after-sale per line", kept by the database whatever
-- runs concurrently.
CREATE TABLE aftersale_lines (
    aftersale_id   uuid NOT NULL REFERENCES aftersales (id),
    position       integer NOT NULL,
    order_line_id  uuid NOT NULL REFERENCES order_lines (id),
    qty            integer NOT NULL CHECK (qty > 0),
    open           boolean NOT NULL DEFAULT true,
    PRIMARY KEY (aftersale_id, order_line_id)
);
CREATE UNIQUE INDEX aftersale_lines_open ON aftersale_lines (order_line_id) WHERE open;

-- What one order paid and what of it refunds hold (every refund not
-- closed). Created by the order's first refund from its payment; every
-- refund write on the order locks this row first, and the amounts change
-- only by conditional updates, with the CHECKs as the last line of defence
-- of invariant 3 (refunds never exceed what was paid). refund_count counts
-- closed refunds too; 50 is WeChat Pay's limit per order.
CREATE TABLE refund_positions (
    order_id           uuid PRIMARY KEY REFERENCES orders (id),
    payment_id         uuid NOT NULL,
    out_trade_no       text NOT NULL,
    paid               bigint NOT NULL CHECK (paid > 0),
    fee                bigint NOT NULL CHECK (fee >= 0),
    paid_at            timestamptz NOT NULL,
    refunded           bigint NOT NULL DEFAULT 0,
    refunded_fee       bigint NOT NULL DEFAULT 0,
    shipping_refunded  bigint NOT NULL DEFAULT 0,
    refund_count       integer NOT NULL DEFAULT 0,
    CHECK (refunded >= 0 AND refunded <= paid),
    CHECK (refunded_fee >= 0 AND refunded_fee <= fee),
    CHECK (shipping_refunded >= 0),
    CHECK (refund_count >= 0 AND refund_count <= 50)
);

-- Each line of an order with a refund position: its units and what it
-- really paid (copied from order_lines, which never change after placing),
-- and what refunds hold of them.
CREATE TABLE refund_position_lines (
    order_line_id    uuid PRIMARY KEY REFERENCES order_lines (id),
    order_id         uuid NOT NULL REFERENCES refund_positions (order_id),
    qty              integer NOT NULL,
    amount           bigint NOT NULL,
    refunded_qty     integer NOT NULL DEFAULT 0,
    refunded_amount  bigint NOT NULL DEFAULT 0,
    CHECK (refunded_qty >= 0 AND refunded_qty <= qty),
    CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);
CREATE INDEX refund_position_lines_order ON refund_position_lines (order_id);

-- One refund. out_refund_no is its number at the platform, unique: one
-- number, one refund (invariant 3). key, when set, makes a refund unique
-- (the automatic refund of a payment captured after close).
CREATE TABLE refunds (
    id                  uuid PRIMARY KEY,
    order_id            uuid NOT NULL REFERENCES refund_positions (order_id),
    buyer_id            uuid NOT NULL,
    payment_id          uuid NOT NULL,
    aftersale_id        uuid REFERENCES aftersales (id),
    out_trade_no        text NOT NULL,
    out_refund_no       text NOT NULL UNIQUE,
    key                 text NOT NULL DEFAULT '',
    source              text NOT NULL CHECK (source IN ('aftersale', 'finance', 'auto')),
    reason              text NOT NULL,
    shipping            bigint NOT NULL CHECK (shipping >= 0),
    amount              bigint NOT NULL CHECK (amount > 0),
    fee                 bigint NOT NULL CHECK (fee >= 0),
    total               bigint NOT NULL CHECK (total >= amount),
    full_refund         boolean NOT NULL,
    return_goods        boolean NOT NULL,
    state               text NOT NULL CHECK (state IN ('pending', 'processing', 'succeeded', 'closed', 'abnormal')),
    platform_refund_id  text NOT NULL DEFAULT '',
    failure             text NOT NULL DEFAULT '',
    resolution          text NOT NULL DEFAULT '',
    note                text NOT NULL DEFAULT '',
    operator            text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    sent_at             timestamptz,
    finished_at         timestamptz
);
CREATE UNIQUE INDEX refunds_key ON refunds (key) WHERE key <> '';
CREATE INDEX refunds_newest ON refunds (created_at DESC, id DESC);
CREATE INDEX refunds_order ON refunds (order_id, created_at DESC, id DESC);
CREATE INDEX refunds_state ON refunds (state, created_at DESC, id DESC);

CREATE TABLE refund_lines (
    refund_id      uuid NOT NULL REFERENCES refunds (id),
    position       integer NOT NULL,
    order_line_id  uuid NOT NULL REFERENCES refund_position_lines (order_line_id),
    sku_id         uuid NOT NULL,
    qty            integer NOT NULL CHECK (qty > 0),
    amount         bigint NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (refund_id, order_line_id)
);

-- A returned-goods refund whose units went back on hand: the key that makes
-- the restock consumer act once per refund.
CREATE TABLE refund_restocks (
    refund_id  uuid PRIMARY KEY REFERENCES refunds (id),
    at         timestamptz NOT NULL
);
