-- The crm (internal/crm): operator rules, buyers' derived profiles, the
-- append-only history of layer moves, segments (and rule tags) with their
-- members, and tags. Profiles are recomputed from orders, refunds, logins
-- and share visits; nothing here is the record of anything else.
CREATE TABLE crm_rules (
    id    integer PRIMARY KEY CHECK (id = 1),
    body  TEXT NOT NULL
);

CREATE TABLE crm_profiles (
    buyer_id       TEXT PRIMARY KEY,
    layer          text NOT NULL,
    prev_layer     text NOT NULL DEFAULT '',  -- the layer before this recompute: a move is written where they differ
    r              INTEGER NOT NULL DEFAULT 0 CHECK (r BETWEEN 0 AND 5),
    f              INTEGER NOT NULL DEFAULT 0 CHECK (f BETWEEN 0 AND 5),
    m              INTEGER NOT NULL DEFAULT 0 CHECK (m BETWEEN 0 AND 5),
    city           text NOT NULL DEFAULT '',  -- the default address's city: not personal at that grain
    spent          INTEGER NOT NULL DEFAULT 0, -- fen, paid orders in the RFM window less refunds
    orders         integer NOT NULL DEFAULT 0,
    visit_days     integer NOT NULL DEFAULT 0,
    last_order_at  INTEGER,
    registered_at  INTEGER NOT NULL,
    last_login_at  INTEGER NOT NULL,
    computed_at    INTEGER NOT NULL
);
CREATE INDEX crm_profiles_layer ON crm_profiles (layer);

CREATE TABLE crm_layer_moves (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    buyer_id    TEXT NOT NULL,
    from_layer  text NOT NULL,
    to_layer    text NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX crm_layer_moves_buyer ON crm_layer_moves (buyer_id, seq);

CREATE TABLE crm_segments (
    id          TEXT PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    expr        text NOT NULL,
    tag         INTEGER NOT NULL,
    members     integer NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE crm_segment_members (
    segment_id  TEXT NOT NULL REFERENCES crm_segments (id) ON DELETE CASCADE,
    buyer_id    TEXT NOT NULL,
    PRIMARY KEY (segment_id, buyer_id)
);
CREATE INDEX crm_segment_members_buyer ON crm_segment_members (buyer_id);

-- A tag is manual (segment_id NULL) or made by a rule tag's segment.
CREATE TABLE crm_tags (
    buyer_id    TEXT NOT NULL,
    tag         text NOT NULL,
    segment_id  TEXT REFERENCES crm_segments (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (buyer_id, tag)
);
CREATE INDEX crm_tags_segment ON crm_tags (segment_id);
