-- Limited-time prices (限时抢购, internal/pricewindow) and the two price
-- records the crossed-out price rule reads (DOMAIN.md "Prices"; docs/pricing.md).

-- A window is [starts_at, ends_at): the price applies from its start up to,
-- not including, its end. An early end moves ends_at to the moment it was
-- ended (ended_early), so ends_at is always the effective end. Windows of
-- one SKU never overlap: the store checks with the product row locked.
CREATE TABLE price_windows (
    id           uuid PRIMARY KEY,
    sku_id       uuid NOT NULL REFERENCES skus (id),
    product_id   uuid NOT NULL REFERENCES products (id),
    price        bigint NOT NULL CHECK (price > 0),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    announce_at  timestamptz,
    ended_early  boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CHECK (ends_at >= starts_at),
    CHECK (announce_at IS NULL OR announce_at <= starts_at)
);
CREATE INDEX price_windows_sku ON price_windows (sku_id, ends_at);
CREATE INDEX price_windows_sku_newest ON price_windows (sku_id, created_at DESC, id DESC);
CREATE INDEX price_windows_product_newest ON price_windows (product_id, created_at DESC, id DESC);

-- Every SKU's prices as each catalog event reported them (the consumer of
-- catalog.product_created/updated writes one row per event and SKU, so a
-- redelivery writes nothing new). It tells when a sale price was raised or
-- dropped. Rows of the SKUs that exist now are seeded with their product's
-- last change, under the all-zero event id.
CREATE TABLE sku_price_history (
    sku_id      uuid NOT NULL,
    event_id    uuid NOT NULL,
    list_price  bigint NOT NULL,
    sale_price  bigint NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (sku_id, event_id)
);
CREATE INDEX sku_price_history_at ON sku_price_history (sku_id, at);
INSERT INTO sku_price_history (sku_id, event_id, list_price, sale_price, at)
SELECT s.id, '00000000-0000-0000-0000-000000000000', s.list_price, s.sale_price, p.updated_at
FROM skus s JOIN products p ON p.id = s.product_id;

-- The unit prices orders were placed at, per SKU, UTC day (days since the
-- epoch) and price, with the first and last order of that day at that price.
-- Upserts keep first_at the least and last_at the greatest, so delivering an
-- order.created event twice, or out of order, changes nothing. The unit is
-- the line's amount before the buyer's own coupons and points, over its
-- quantity, rounded down. Orders placed before this migration are seeded.
CREATE TABLE sku_charged_prices (
    sku_id      uuid NOT NULL,
    day         integer NOT NULL,
    unit_price  bigint NOT NULL CHECK (unit_price >= 0),
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (sku_id, day, unit_price)
);
INSERT INTO sku_charged_prices (sku_id, day, unit_price, first_at, last_at)
SELECT sku_id, day, unit, min(created_at), max(created_at) FROM (
    SELECT l.sku_id AS sku_id, floor(extract(epoch FROM o.created_at) / 86400)::integer AS day, o.created_at AS created_at,
        (l.amount + coalesce((SELECT sum((a->>'amount')::bigint) FROM jsonb_array_elements(l.adjustments) AS a
            WHERE a->>'step' IN ('coupon', 'points'))::bigint, 0)) / l.qty AS unit
    FROM order_lines l JOIN orders o ON o.id = l.order_id
) AS lines
GROUP BY sku_id, day, unit;
