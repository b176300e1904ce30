-- Group buys (internal/groupbuy): activities with their items (a SKU, its
-- quota and its price tiers), teams, seats, and each buyer's units per
-- activity. Every claim is a conditional update, so a team never holds more
-- seats than its size (taken <= capacity), an item never sells past its
-- quota (sold <= quota) and a buyer never past the limit, whatever races.
CREATE TABLE group_buys (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    rules             TEXT NOT NULL,
    share_notice      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('draft', 'published', 'ended')),
    starts_at         INTEGER NOT NULL,
    ends_at           INTEGER NOT NULL,
    team_size         INTEGER NOT NULL CHECK (team_size BETWEEN 2 AND 5),
    team_hours        INTEGER NOT NULL CHECK (team_hours BETWEEN 1 AND 72),
    per_buyer_limit   INTEGER NOT NULL CHECK (per_buyer_limit >= 1),
    success_threshold INTEGER NOT NULL CHECK (success_threshold >= 0),
    max_depth         INTEGER NOT NULL CHECK (max_depth >= 1),
    leader_kind       TEXT NOT NULL CHECK (leader_kind IN ('none', 'price', 'free')),
    leader_price      INTEGER NOT NULL CHECK (leader_price >= 0),
    published_at      INTEGER,
    ended_at          INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX group_buys_newest ON group_buys (created_at DESC, id DESC);

-- tiers is the item's [{"size":n,"price":fen}...], sorted by size.
CREATE TABLE group_buy_items (
    activity_id TEXT NOT NULL REFERENCES group_buys (id),
    position    INTEGER NOT NULL,
    sku_id      TEXT NOT NULL,
    quota       INTEGER NOT NULL CHECK (quota >= 0),
    sold        INTEGER NOT NULL CHECK (sold >= 0 AND sold <= quota),
    tiers       TEXT NOT NULL,
    PRIMARY KEY (activity_id, sku_id)
);

CREATE TABLE group_buy_buyers (
    activity_id TEXT NOT NULL REFERENCES group_buys (id),
    buyer_id    TEXT NOT NULL,
    units       INTEGER NOT NULL CHECK (units >= 0),
    PRIMARY KEY (activity_id, buyer_id)
);

CREATE TABLE group_buy_teams (
    id          TEXT PRIMARY KEY,
    activity_id TEXT NOT NULL REFERENCES group_buys (id),
    sku_id      TEXT NOT NULL,
    leader_id   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'open', 'succeeded', 'failed', 'cancelled')),
    capacity    INTEGER NOT NULL CHECK (capacity BETWEEN 2 AND 5),
    taken       INTEGER NOT NULL CHECK (taken >= 0 AND taken <= capacity),
    paid        INTEGER NOT NULL CHECK (paid >= 0 AND paid <= taken),
    expires_at  INTEGER,
    final_size  INTEGER NOT NULL DEFAULT 0,
    final_price INTEGER NOT NULL DEFAULT 0,
    opened_at   INTEGER,
    ended_at    INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX group_buy_teams_activity ON group_buy_teams (activity_id, created_at DESC, id DESC);

CREATE TABLE group_buy_seats (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES group_buy_teams (id),
    activity_id TEXT NOT NULL,
    buyer_id    TEXT NOT NULL,
    order_id    TEXT NOT NULL UNIQUE,
    leader      INTEGER NOT NULL,
    qty         INTEGER NOT NULL CHECK (qty >= 1),
    unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    state       TEXT NOT NULL CHECK (state IN ('reserved', 'paid', 'released', 'refunded')),
    joined_at   INTEGER NOT NULL,
    paid_at     INTEGER,
    ended_at    INTEGER
);
CREATE INDEX group_buy_seats_team ON group_buy_seats (team_id, joined_at, id);
-- A buyer holds at most one live seat of a team.
CREATE UNIQUE INDEX group_buy_seats_live ON group_buy_seats (team_id, buyer_id) WHERE state IN ('reserved', 'paid');

