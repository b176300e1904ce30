-- Orders placed through a marketing activity (a group buy's team, a
-- bargain) name it, and an order may be held back from shipping until its
-- activity settles (a team still forming).
ALTER TABLE orders ADD COLUMN activity_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN activity_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN activity_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_activity ON orders (activity_ref) WHERE activity_ref <> '';

-- A price adjustment (a group buy's team ending at a better tier) gives
-- money back on a line without taking any unit back: a refund line of 0
-- units, from a refund of the new source 'adjustment'. SQLite cannot change
-- a CHECK in place, so both tables are rebuilt, with foreign keys off and
-- checked before commit:
-- siyu:rebuilds-tables
CREATE TABLE refunds_new (
    id                  TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL REFERENCES refund_positions (order_id),
    buyer_id            TEXT NOT NULL,
    payment_id          TEXT NOT NULL,
    aftersale_id        TEXT REFERENCES aftersales (id),
    out_trade_no        TEXT NOT NULL,
    out_refund_no       TEXT NOT NULL UNIQUE,
    key                 TEXT NOT NULL DEFAULT '',
    source              TEXT NOT NULL CHECK (source IN ('aftersale', 'finance', 'auto', 'adjustment')),
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
INSERT INTO refunds_new SELECT * FROM refunds;
CREATE TABLE refund_lines_new (
    refund_id      TEXT NOT NULL REFERENCES refunds (id),
    position       INTEGER NOT NULL,
    order_line_id  TEXT NOT NULL REFERENCES refund_position_lines (order_line_id),
    sku_id         TEXT NOT NULL,
    qty            INTEGER NOT NULL CHECK (qty >= 0),
    amount         INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (refund_id, order_line_id)
);
INSERT INTO refund_lines_new SELECT refund_id, position, order_line_id, sku_id, qty, amount FROM refund_lines;
DROP TABLE refund_lines;
ALTER TABLE refund_lines_new RENAME TO refund_lines;
DROP TABLE refunds;
ALTER TABLE refunds_new RENAME TO refunds;
CREATE UNIQUE INDEX refunds_key ON refunds (key) WHERE key <> '';
CREATE INDEX refunds_newest ON refunds (created_at DESC, id DESC);
CREATE INDEX refunds_order ON refunds (order_id, created_at DESC, id DESC);
CREATE INDEX refunds_state ON refunds (state, created_at DESC, id DESC);
