-- Group buys (internal/groupbuy): activities with their items (a SKU, its
-- quota and its price tiers), teams, seats, and each buyer's units per
-- activity. Every claim is a conditional update, so a team never holds more
-- seats than its size (taken <= capacity), an item never sells past its
-- quota (sold <= quota) and a buyer never past the limit, whatever races.
CREATE TABLE group_buys (
    id                uuid PRIMARY KEY,
    title             text NOT NULL,
    rules             text NOT NULL,
    share_notice      text NOT NULL,
    status            text NOT NULL CHECK (status IN ('draft', 'published', 'ended')),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    team_size         smallint NOT NULL CHECK (team_size BETWEEN 2 AND 5),
    team_hours        smallint NOT NULL CHECK (team_hours BETWEEN 1 AND 72),
    per_buyer_limit   integer NOT NULL CHECK (per_buyer_limit >= 1),
    success_threshold smallint NOT NULL CHECK (success_threshold >= 0),
    max_depth         smallint NOT NULL CHECK (max_depth >= 1),
    leader_kind       text NOT NULL CHECK (leader_kind IN ('none', 'price', 'free')),
    leader_price      bigint NOT NULL CHECK (leader_price >= 0),
    published_at      timestamptz,
    ended_at          timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX group_buys_newest ON group_buys (created_at DESC, id DESC);

-- tiers is the item's [{"size":n,"price":fen}...], sorted by size.
CREATE TABLE group_buy_items (
    activity_id uuid NOT NULL REFERENCES group_buys (id),
    position    smallint NOT NULL,
    sku_id      uuid NOT NULL,
    quota       bigint NOT NULL CHECK (quota >= 0),
    sold        bigint NOT NULL CHECK (sold >= 0 AND sold <= quota),
    tiers       text NOT NULL,
    PRIMARY KEY (activity_id, sku_id)
);

CREATE TABLE group_buy_buyers (
    activity_id uuid NOT NULL REFERENCES group_buys (id),
    buyer_id    uuid NOT NULL,
    units       integer NOT NULL CHECK (units >= 0),
    PRIMARY KEY (activity_id, buyer_id)
);

CREATE TABLE group_buy_teams (
    id          uuid PRIMARY KEY,
    activity_id uuid NOT NULL REFERENCES group_buys (id),
    sku_id      uuid NOT NULL,
    leader_id   uuid NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'open', 'succeeded', 'failed', 'cancelled')),
    capacity    smallint NOT NULL CHECK (capacity BETWEEN 2 AND 5),
    taken       smallint NOT NULL CHECK (taken >= 0 AND taken <= capacity),
    paid        smallint NOT NULL CHECK (paid >= 0 AND paid <= taken),
    expires_at  timestamptz,
    final_size  smallint NOT NULL DEFAULT 0,
    final_price bigint NOT NULL DEFAULT 0,
    opened_at   timestamptz,
    ended_at    timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX group_buy_teams_activity ON group_buy_teams (activity_id, created_at DESC, id DESC);

CREATE TABLE group_buy_seats (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES group_buy_teams (id),
    activity_id uuid NOT NULL,
    buyer_id    uuid NOT NULL,
    order_id    uuid NOT NULL UNIQUE,
    leader      boolean NOT NULL,
    qty         integer NOT NULL CHECK (qty >= 1),
    unit_price  bigint NOT NULL CHECK (unit_price >= 0),
    amount      bigint NOT NULL CHECK (amount >= 0),
    state       text NOT NULL CHECK (state IN ('reserved', 'paid', 'released', 'refunded')),
    joined_at   timestamptz NOT NULL,
    paid_at     timestamptz,
    ended_at    timestamptz
);
CREATE INDEX group_buy_seats_team ON group_buy_seats (team_id, joined_at, id);
-- A buyer holds at most one live seat of a team.
CREATE UNIQUE INDEX group_buy_seats_live ON group_buy_seats (team_id, buyer_id) WHERE state IN ('reserved', 'paid');

-- siyu_groupbuy_require aborts the transaction with SQLSTATE SY002 and the
-- reason as its detail unless ok: a claim's conditional update, counted,
-- can refuse inside the batch that carries the whole seat, so a team's
-- seat, its order and its COMMIT travel in one round trip, as an order's
-- stock does with siyu_move_stock.
CREATE FUNCTION siyu_groupbuy_require(ok boolean, reason text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'SY002', MESSAGE = 'group buy claim refused', DETAIL = reason;
    END IF;
END
$$;
