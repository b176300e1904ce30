-- Points (internal/points): 1 point = 1 yuan (DOMAIN.md). Lots are earnings
-- with what is left of them and an expiry; spending takes from the
-- oldest-expiring first with conditional updates (remaining >= n). Every
-- movement has a unique key, so a repeated sign-in, task, earning or
-- refund changes nothing. points_orders keeps what an order earned, spent,
-- and what refunds took back and returned, the base of proportional
-- refunds. The ledger carries the money side (points:liability).
CREATE TABLE points_config (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    earn_bp      INTEGER NOT NULL CHECK (earn_bp BETWEEN 0 AND 10000),
    sign_in      INTEGER NOT NULL CHECK (sign_in >= 0),
    spend_cap_bp INTEGER NOT NULL CHECK (spend_cap_bp BETWEEN 0 AND 10000),
    expiry_days  INTEGER NOT NULL CHECK (expiry_days >= 1),
    updated_at   INTEGER NOT NULL
);

-- One row a buyer: what the buyer's changes lock, and the debt a refund
-- left when the points it took back were spent already.
CREATE TABLE points_accounts (
    buyer_id TEXT PRIMARY KEY,
    debt     INTEGER NOT NULL DEFAULT 0 CHECK (debt >= 0)
);

CREATE TABLE points_lots (
    id         TEXT PRIMARY KEY,
    buyer_id   TEXT NOT NULL,
    source     TEXT NOT NULL,
    points     INTEGER NOT NULL CHECK (points > 0),
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    ref        TEXT NOT NULL DEFAULT '',
    earned_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX points_lots_live ON points_lots (buyer_id, expires_at, id) WHERE remaining > 0;
CREATE INDEX points_lots_expiry ON points_lots (expires_at, id) WHERE remaining > 0;

CREATE TABLE points_movements (
    id         TEXT PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    buyer_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    points     INTEGER NOT NULL,
    ref        TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX points_movements_buyer ON points_movements (buyer_id, created_at DESC, id DESC);

CREATE TABLE points_orders (
    order_id    TEXT PRIMARY KEY,
    buyer_id    TEXT NOT NULL,
    paid        INTEGER NOT NULL DEFAULT 0,
    earned      INTEGER NOT NULL DEFAULT 0,
    spent       INTEGER NOT NULL DEFAULT 0,
    spend_state TEXT NOT NULL DEFAULT 'none' CHECK (spend_state IN ('none', 'pending', 'posted', 'voided')),
    refunded    INTEGER NOT NULL DEFAULT 0,
    clawed      INTEGER NOT NULL DEFAULT 0,
    returned    INTEGER NOT NULL DEFAULT 0
);

-- Member tiers (internal/membership): the operator's program (JSON, one
-- row), growth entries (a paid order +, a refund -; once per key) summed
-- over the window, and each buyer's current tier, moved with its outbox
-- event by a conditional update on the tier it was.
CREATE TABLE membership_program (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE member_growth (
    key      TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL,
    amount   INTEGER NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX member_growth_buyer ON member_growth (buyer_id, at);

CREATE TABLE member_tiers (
    buyer_id   TEXT PRIMARY KEY,
    tier       TEXT NOT NULL,
    growth     INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
