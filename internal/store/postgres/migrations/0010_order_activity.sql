-- Orders placed through a marketing activity (a group buy's team, a
-- bargain) name it, and an order may be held back from shipping until its
-- activity settles (a team still forming).
ALTER TABLE orders
    ADD COLUMN activity_kind text NOT NULL DEFAULT '',
    ADD COLUMN activity_id   text NOT NULL DEFAULT '',
    ADD COLUMN activity_ref  text NOT NULL DEFAULT '',
    ADD COLUMN held          boolean NOT NULL DEFAULT false;
CREATE INDEX orders_activity ON orders (activity_ref) WHERE activity_ref <> '';

-- A price adjustment (a group buy's team ending at a better tier) gives
-- money back on a line without taking any unit back: a refund line of 0
-- units.
ALTER TABLE refund_lines DROP CONSTRAINT refund_lines_qty_check;
ALTER TABLE refund_lines ADD CONSTRAINT refund_lines_qty_check CHECK (qty >= 0);
ALTER TABLE refunds DROP CONSTRAINT refunds_source_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_source_check CHECK (source IN ('aftersale', 'finance', 'auto', 'adjustment'));
