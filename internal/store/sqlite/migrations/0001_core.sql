-- The core shop: catalog, stock, carts, orders, and the platform tables
-- (outbox, jobs, idempotency keys). Money is INTEGER fen; ids are UUIDv7.

CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    parent_id   TEXT REFERENCES categories (id),
    name        TEXT NOT NULL,
    sort        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    category_id  TEXT NOT NULL REFERENCES categories (id),
    title        TEXT NOT NULL,
    -- The title case-folded by the store (Go's strings.ToLower), so a search
    -- matches the same on both engines: SQLite's lower() folds ASCII only.
    title_key    TEXT NOT NULL DEFAULT '',
    subtitle     TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    images       TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL CHECK (status IN ('draft', 'on_sale', 'off_sale')),
    min_price    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX products_status_newest ON products (status, created_at DESC, id DESC);
CREATE INDEX products_status_price ON products (status, min_price, id);
CREATE INDEX products_category ON products (category_id, status);

CREATE TABLE skus (
    id          TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL REFERENCES products (id),
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    specs       TEXT NOT NULL DEFAULT '[]',
    list_price  INTEGER NOT NULL CHECK (list_price >= 0),
    sale_price  INTEGER NOT NULL CHECK (sale_price >= 0)
);
CREATE INDEX skus_product ON skus (product_id, position);

CREATE TABLE sku_channel_prices (
    sku_id   TEXT NOT NULL REFERENCES skus (id),
    channel  TEXT NOT NULL,
    price    INTEGER NOT NULL CHECK (price >= 0),
    PRIMARY KEY (sku_id, channel)
);

-- Invariant 4 (DESIGN.md): sold + reserved <= stock. The CHECK is the last
-- line of defence; the code never relies on it, it updates conditionally.
CREATE TABLE stock_levels (
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    location    TEXT NOT NULL,
    on_hand     INTEGER NOT NULL,
    reserved    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (sku_id, location),
    CHECK (reserved >= 0 AND reserved <= on_hand)
);

CREATE TABLE stock_movements (
    id              TEXT PRIMARY KEY,
    sku_id          TEXT NOT NULL,
    location        TEXT NOT NULL,
    on_hand_delta   INTEGER NOT NULL,
    reserved_delta  INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    ref             TEXT NOT NULL DEFAULT '',
    at              INTEGER NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements (sku_id, at DESC, id DESC);

CREATE TABLE cart_lines (
    buyer_id    TEXT NOT NULL,
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    qty         INTEGER NOT NULL CHECK (qty > 0),
    seen_price  INTEGER NOT NULL,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (buyer_id, sku_id)
);

CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    buyer_id      TEXT NOT NULL,
    status        TEXT NOT NULL,
    subtotal      INTEGER NOT NULL,
    discount      INTEGER NOT NULL,
    shipping      INTEGER NOT NULL,
    total         INTEGER NOT NULL CHECK (total >= 0),
    ship_to       TEXT NOT NULL,          -- sealed JSON (personal data, encrypted at rest)
    remark        TEXT NOT NULL DEFAULT '',
    from_cart     INTEGER NOT NULL DEFAULT 0,
    pay_by        INTEGER NOT NULL,
    paid_at       INTEGER,
    carrier       TEXT NOT NULL DEFAULT '',
    tracking_no   TEXT NOT NULL DEFAULT '',
    shipped_at    INTEGER,
    delivered_at  INTEGER,
    completed_at  INTEGER,
    ended_at      INTEGER,
    end_reason    TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX orders_buyer ON orders (buyer_id, created_at DESC, id DESC);
CREATE INDEX orders_status ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);

CREATE TABLE order_lines (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    position     INTEGER NOT NULL,
    sku_id       TEXT NOT NULL,
    product_id   TEXT NOT NULL,
    title        TEXT NOT NULL,
    spec         TEXT NOT NULL,
    qty          INTEGER NOT NULL CHECK (qty > 0),
    list_price   INTEGER NOT NULL,
    sale_price   INTEGER NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    adjustments  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX order_lines_order ON order_lines (order_id, position);

-- Events written in the same transaction as the change they report.
CREATE TABLE outbox (
    id             TEXT PRIMARY KEY,
    topic          TEXT NOT NULL,
    key            TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    claimed_until  INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    delivered_at   INTEGER
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;

-- Durable scheduled jobs; state is 'ready' (waiting for run_at), 'running'
-- (leased to owner until locked_until) or 'dead' (out of attempts).
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL DEFAULT '',
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'ready',
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    locked_until  INTEGER,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'ready';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_unique_key ON jobs (kind, key) WHERE key <> '' AND state <> 'dead';

CREATE TABLE idempotency_keys (
    scope         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    body          BLOB,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
