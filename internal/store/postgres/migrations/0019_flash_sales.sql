-- Flash sales (internal/flashsale): sessions, the SKUs each sells (a flash
-- price, a quota carved out of the online stock when the session is
-- created, a per-buyer limit) and the reservations the order writer makes
-- of the winning tickets. The hot path decides who wins (a Reserver); these
-- tables are the system of record it is rebuilt from, and the CHECK on won
-- is the last line of defence should it ever let more through than the
-- quota.
CREATE TABLE flash_sessions (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL,
    warmup_at          timestamptz,
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    pay_window_seconds integer NOT NULL CHECK (pay_window_seconds > 0),
    status             text NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'closed')),
    created_by         text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX flash_sessions_starts ON flash_sessions (starts_at, id);

-- won is the units held by ordered reservations (unpaid or paid orders).
-- The order writer adds to it under the row's lock; the CHECK makes a
-- batch that would pass the quota fail whole.
CREATE TABLE flash_session_skus (
    session_id  uuid NOT NULL REFERENCES flash_sessions (id),
    position    integer NOT NULL,
    sku_id      uuid NOT NULL REFERENCES skus (id),
    price       bigint NOT NULL CHECK (price >= 0),
    quota       integer NOT NULL CHECK (quota >= 0),
    buyer_limit integer NOT NULL CHECK (buyer_limit >= 1),
    won         integer NOT NULL CHECK (won >= 0),
    CONSTRAINT flash_session_skus_won_quota CHECK (won <= quota),
    PRIMARY KEY (session_id, sku_id)
);

-- A reservation is a written winning ticket; its id is the ticket, so a
-- batch written twice (its acknowledgement lost) cannot write it twice.
-- An ordered or released one has its order; a refused one has none. The
-- session and SKU have no foreign key on purpose: a win for a session the
-- database does not know (the hot path's state outlived it) is written as
-- a refusal, and a key would fail its whole batch, again at every retry.
CREATE TABLE flash_reservations (
    id          text PRIMARY KEY,
    session_id  uuid NOT NULL,
    sku_id      uuid NOT NULL,
    buyer_id    uuid NOT NULL,
    qty         integer NOT NULL CHECK (qty >= 1),
    status      text NOT NULL CHECK (status IN ('ordered', 'released', 'refused')),
    order_id    uuid REFERENCES orders (id),
    reason      text NOT NULL DEFAULT '',
    won_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CHECK ((status = 'refused') = (order_id IS NULL))
);
-- The live holds: the units a buyer holds of a session SKU (the order
-- writer checks the limit with it, a thousand buyers a batch) and, by its
-- prefix, a session's holds (the hot path's rebuild). The buyer is in the
-- key: an index the writer could reach only by session and SKU would have
-- it read every hold of a sold-out SKU once per buyer. Only ordered
-- reservations hold units, so only they are indexed.
CREATE INDEX flash_reservations_held ON flash_reservations (session_id, sku_id, buyer_id) WHERE status = 'ordered';
-- A buyer's reservations in a session, newest first.
CREATE INDEX flash_reservations_buyer ON flash_reservations (session_id, buyer_id, won_at DESC, id DESC);
