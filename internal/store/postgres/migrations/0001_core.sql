-- The core shop: catalog, stock, carts, orders, and the platform tables
-- (outbox, jobs, idempotency keys). Money is bigint fen; ids are UUIDv7.

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    parent_id   uuid REFERENCES categories (id),
    name        text NOT NULL,
    sort        integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);

CREATE TABLE products (
    id           uuid PRIMARY KEY,
    category_id  uuid NOT NULL REFERENCES categories (id),
    title        text NOT NULL,
    -- The title case-folded by the store (Go's strings.ToLower), so a search
    -- matches the same on both engines: SQLite's lower() folds ASCII only.
    title_key    text NOT NULL DEFAULT '',
    subtitle     text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    images       jsonb NOT NULL DEFAULT '[]',
    status       text NOT NULL CHECK (status IN ('draft', 'on_sale', 'off_sale')),
    min_price    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX products_status_newest ON products (status, created_at DESC, id DESC);
CREATE INDEX products_status_price ON products (status, min_price, id);
CREATE INDEX products_category ON products (category_id, status);

CREATE TABLE skus (
    id          uuid PRIMARY KEY,
    product_id  uuid NOT NULL REFERENCES products (id),
    position    integer NOT NULL,
    code        text NOT NULL DEFAULT '',
    specs       jsonb NOT NULL DEFAULT '[]',
    list_price  bigint NOT NULL CHECK (list_price >= 0),
    sale_price  bigint NOT NULL CHECK (sale_price >= 0)
);
CREATE INDEX skus_product ON skus (product_id, position);

CREATE TABLE sku_channel_prices (
    sku_id   uuid NOT NULL REFERENCES skus (id),
    channel  text NOT NULL,
    price    bigint NOT NULL CHECK (price >= 0),
    PRIMARY KEY (sku_id, channel)
);

-- Invariant 4 (DESIGN.md): sold + reserved <= stock. The CHECK is the last
-- line of defence; the code never relies on it, it updates conditionally.
CREATE TABLE stock_levels (
    sku_id      uuid NOT NULL REFERENCES skus (id),
    location    text NOT NULL,
    on_hand     bigint NOT NULL,
    reserved    bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (sku_id, location),
    CHECK (reserved >= 0 AND reserved <= on_hand)
);

CREATE TABLE stock_movements (
    id              uuid PRIMARY KEY,
    sku_id          uuid NOT NULL,
    location        text NOT NULL,
    on_hand_delta   bigint NOT NULL,
    reserved_delta  bigint NOT NULL,
    reason          text NOT NULL,
    ref             text NOT NULL DEFAULT '',
    at              timestamptz NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements (sku_id, at DESC, id DESC);

CREATE TABLE cart_lines (
    buyer_id    uuid NOT NULL,
    sku_id      uuid NOT NULL REFERENCES skus (id),
    qty         integer NOT NULL CHECK (qty > 0),
    seen_price  bigint NOT NULL,
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (buyer_id, sku_id)
);

CREATE TABLE orders (
    id            uuid PRIMARY KEY,
    buyer_id      uuid NOT NULL,
    status        text NOT NULL,
    subtotal      bigint NOT NULL,
    discount      bigint NOT NULL,
    shipping      bigint NOT NULL,
    total         bigint NOT NULL CHECK (total >= 0),
    ship_to       text NOT NULL,          -- sealed JSON (personal data, encrypted at rest)
    remark        text NOT NULL DEFAULT '',
    from_cart     boolean NOT NULL DEFAULT false,
    pay_by        timestamptz NOT NULL,
    paid_at       timestamptz,
    carrier       text NOT NULL DEFAULT '',
    tracking_no   text NOT NULL DEFAULT '',
    shipped_at    timestamptz,
    delivered_at  timestamptz,
    completed_at  timestamptz,
    ended_at      timestamptz,
    end_reason    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC, id DESC);
CREATE INDEX orders_status ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);

CREATE TABLE order_lines (
    id           uuid PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES orders (id),
    position     integer NOT NULL,
    sku_id       uuid NOT NULL,
    product_id   uuid NOT NULL,
    title        text NOT NULL,
    spec         text NOT NULL,
    qty          integer NOT NULL CHECK (qty > 0),
    list_price   bigint NOT NULL,
    sale_price   bigint NOT NULL,
    amount       bigint NOT NULL CHECK (amount >= 0),
    adjustments  jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX order_lines_order ON order_lines (order_id, position);

-- Events written in the same transaction as the change they report.
CREATE TABLE outbox (
    id             uuid PRIMARY KEY,
    topic          text NOT NULL,
    key            text NOT NULL,
    payload        jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    claimed_until  timestamptz,
    attempts       integer NOT NULL DEFAULT 0,
    delivered_at   timestamptz
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;

-- Durable scheduled jobs; state is 'ready' (waiting for run_at), 'running'
-- (leased to owner until locked_until) or 'dead' (out of attempts).
CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL,
    key           text NOT NULL DEFAULT '',
    payload       jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'ready',
    run_at        timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL,
    owner         text NOT NULL DEFAULT '',
    locked_until  timestamptz,
    last_error    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'ready';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_unique_key ON jobs (kind, key) WHERE key <> '' AND state <> 'dead';

CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    status        integer NOT NULL DEFAULT 0,
    body          bytea,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
