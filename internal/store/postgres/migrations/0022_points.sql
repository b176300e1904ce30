-- Points (internal/points): 1 point = 1 yuan (DOMAIN.md). Lots are earnings
-- with what is left of them and an expiry; spending takes from the
-- oldest-expiring first with conditional updates (remaining >= n). Every
-- movement has a unique key, so a repeated sign-in, task, earning or
-- refund changes nothing. points_orders keeps what an order earned, spent,
-- and what refunds took back and returned, the base of proportional
-- refunds. The ledger carries the money side (points:liability).
CREATE TABLE points_config (
    id           integer PRIMARY KEY CHECK (id = 1),
    earn_bp      bigint NOT NULL CHECK (earn_bp BETWEEN 0 AND 10000),
    sign_in      bigint NOT NULL CHECK (sign_in >= 0),
    spend_cap_bp bigint NOT NULL CHECK (spend_cap_bp BETWEEN 0 AND 10000),
    expiry_days  bigint NOT NULL CHECK (expiry_days >= 1),
    updated_at   timestamptz NOT NULL
);

-- One row a buyer: what the buyer's changes lock, and the debt a refund
-- left when the points it took back were spent already.
CREATE TABLE points_accounts (
    buyer_id uuid PRIMARY KEY,
    debt     bigint NOT NULL DEFAULT 0 CHECK (debt >= 0)
);

CREATE TABLE points_lots (
    id         uuid PRIMARY KEY,
    buyer_id   uuid NOT NULL,
    source     text NOT NULL,
    points     bigint NOT NULL CHECK (points > 0),
    remaining  bigint NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    ref        text NOT NULL DEFAULT '',
    earned_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX points_lots_live ON points_lots (buyer_id, expires_at, id) WHERE remaining > 0;
CREATE INDEX points_lots_expiry ON points_lots (expires_at, id) WHERE remaining > 0;

CREATE TABLE points_movements (
    id         uuid PRIMARY KEY,
    key        text NOT NULL UNIQUE,
    buyer_id   uuid NOT NULL,
    kind       text NOT NULL,
    points     bigint NOT NULL,
    ref        text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX points_movements_buyer ON points_movements (buyer_id, created_at DESC, id DESC);

CREATE TABLE points_orders (
    order_id    uuid PRIMARY KEY,
    buyer_id    uuid NOT NULL,
    paid        bigint NOT NULL DEFAULT 0,
    earned      bigint NOT NULL DEFAULT 0,
    spent       bigint NOT NULL DEFAULT 0,
    spend_state text NOT NULL DEFAULT 'none' CHECK (spend_state IN ('none', 'pending', 'posted', 'voided')),
    refunded    bigint NOT NULL DEFAULT 0,
    clawed      bigint NOT NULL DEFAULT 0,
    returned    bigint NOT NULL DEFAULT 0
);

-- Member tiers (internal/membership): the operator's program (JSON, one
-- row), growth entries (a paid order +, a refund -; once per key) summed
-- over the window, and each buyer's current tier, moved with its outbox
-- event by a conditional update on the tier it was.
CREATE TABLE membership_program (
    id         integer PRIMARY KEY CHECK (id = 1),
    body       text NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE member_growth (
    key      text PRIMARY KEY,
    buyer_id uuid NOT NULL,
    amount   bigint NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX member_growth_buyer ON member_growth (buyer_id, at);

CREATE TABLE member_tiers (
    buyer_id   uuid PRIMARY KEY,
    tier       text NOT NULL,
    growth     bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
