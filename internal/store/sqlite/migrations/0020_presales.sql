-- Presales (internal/presale): operators' presales with their SKUs and price
-- steps, each buyer's units per presale, and purchases. Every claim is a
-- conditional update, so a SKU never sells past its quota (sold <= quota)
-- and a buyer never past the limit, whatever races; a purchase's units are
-- claimed only while the SKU's count is where its price steps were quoted.
CREATE TABLE presales (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    rules             TEXT NOT NULL,
    share_notice      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('draft', 'published', 'ended')),
    mode              TEXT NOT NULL CHECK (mode IN ('full', 'deposit')),
    basis             TEXT NOT NULL CHECK (basis IN ('units', 'time')),
    starts_at         INTEGER NOT NULL,
    ends_at           INTEGER NOT NULL,
    balance_starts_at INTEGER,
    balance_ends_at   INTEGER,
    ships_by          INTEGER NOT NULL,
    per_buyer_limit   INTEGER NOT NULL CHECK (per_buyer_limit >= 1),
    max_depth         INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    published_at      INTEGER,
    ended_at          INTEGER,
    CHECK ((mode = 'deposit') = (balance_starts_at IS NOT NULL AND balance_ends_at IS NOT NULL))
);
CREATE INDEX presales_newest ON presales (created_at DESC, id DESC);
CREATE INDEX presales_status ON presales (status, created_at DESC, id DESC);

-- steps is the SKU's [{"from_unit":n | "from_time":t, "price":fen}...] in
-- order; sold counts the units of live or paid purchases.
CREATE TABLE presale_items (
    presale_id TEXT NOT NULL REFERENCES presales (id),
    position   INTEGER NOT NULL,
    sku_id     TEXT NOT NULL,
    quota      INTEGER NOT NULL CHECK (quota >= 1),
    sold       INTEGER NOT NULL DEFAULT 0,
    deposit    INTEGER NOT NULL CHECK (deposit >= 0),
    steps      TEXT NOT NULL,
    PRIMARY KEY (presale_id, sku_id),
    CONSTRAINT presale_quota CHECK (sold BETWEEN 0 AND quota)
);

CREATE TABLE presale_buyers (
    presale_id TEXT NOT NULL REFERENCES presales (id),
    buyer_id   TEXT NOT NULL,
    units      INTEGER NOT NULL CHECK (units >= 0),
    PRIMARY KEY (presale_id, buyer_id)
);

-- runs is [{"qty":n,"price":fen}...], the unit prices the units were
-- bought at; reversals [{"refund_id","amount"}...], the refunds of a
-- forfeited deposit moved back from forfeited deposits.
CREATE TABLE presale_orders (
    id                TEXT PRIMARY KEY,
    presale_id        TEXT NOT NULL REFERENCES presales (id),
    sku_id            TEXT NOT NULL,
    buyer_id          TEXT NOT NULL,
    mode              TEXT NOT NULL CHECK (mode IN ('full', 'deposit')),
    qty               INTEGER NOT NULL CHECK (qty >= 1),
    first_unit        INTEGER NOT NULL CHECK (first_unit >= 1),
    runs              TEXT NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount >= 0),
    min_price         INTEGER NOT NULL CHECK (min_price >= 0),
    deposit           INTEGER NOT NULL CHECK (deposit >= 0),
    balance           INTEGER NOT NULL CHECK (balance >= 0),
    address_id        TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('unpaid', 'deposit_paid', 'paid', 'closed', 'forfeited', 'refunded')),
    order_id          TEXT NOT NULL UNIQUE,
    balance_order_id  TEXT,
    stock             TEXT NOT NULL CHECK (stock IN ('none', 'reserved', 'committed', 'released')),
    balance_starts_at INTEGER,
    balance_ends_at   INTEGER,
    ships_by          INTEGER NOT NULL,
    forfeited         INTEGER NOT NULL DEFAULT 0 CHECK (forfeited >= 0 AND forfeited <= deposit),
    reversals         TEXT NOT NULL DEFAULT '[]',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    paid_at           INTEGER,
    ended_at          INTEGER
);
CREATE INDEX presale_orders_newest ON presale_orders (created_at DESC, id DESC);
CREATE INDEX presale_orders_presale ON presale_orders (presale_id, created_at DESC, id DESC);
CREATE INDEX presale_orders_buyer ON presale_orders (buyer_id, created_at DESC, id DESC);
CREATE INDEX presale_orders_balance ON presale_orders (balance_order_id) WHERE balance_order_id IS NOT NULL;
-- The crossed-out price's reads: what a SKU sold at, paid, over a week.
CREATE INDEX presale_orders_paid ON presale_orders (sku_id, paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX order_lines_by_sku ON order_lines (sku_id, order_id);
