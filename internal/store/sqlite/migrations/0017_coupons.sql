-- Coupons (internal/coupon): templates, buyers' coupons and each buyer's
-- count per template. Claims and uses are conditional updates, so a
-- template never issues past its quantity (issued <= quantity), a buyer
-- never holds past the limit, and savings never pass the budget
-- (spent <= budget, budget 0 meaning none), whatever races.
CREATE TABLE coupon_templates (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('fixed', 'percent', 'threshold', 'free_shipping')),
    off         INTEGER NOT NULL CHECK (off >= 0),
    rate_bp     integer NOT NULL CHECK (rate_bp >= 0 AND rate_bp < 10000),
    cap         INTEGER NOT NULL CHECK (cap >= 0),
    min_spend   INTEGER NOT NULL CHECK (min_spend >= 0),
    scope       TEXT NOT NULL CHECK (scope IN ('all', 'category', 'product', 'sku')),
    scope_ids   TEXT NOT NULL,
    valid_from  INTEGER,
    valid_until INTEGER,
    valid_days  integer NOT NULL CHECK (valid_days >= 0),
    per_buyer   integer NOT NULL CHECK (per_buyer >= 1),
    quantity    INTEGER NOT NULL CHECK (quantity >= 1),
    issued      INTEGER NOT NULL CHECK (issued >= 0 AND issued <= quantity),
    budget      INTEGER NOT NULL CHECK (budget >= 0),
    spent       INTEGER NOT NULL CHECK (spent >= 0 AND (budget = 0 OR spent <= budget)),
    issue_mode  TEXT NOT NULL CHECK (issue_mode IN ('claim', 'new_user', 'recall')),
    status      TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX coupon_templates_newest ON coupon_templates (created_at DESC, id DESC);

CREATE TABLE coupon_holders (
    template_id TEXT NOT NULL REFERENCES coupon_templates (id),
    buyer_id    TEXT NOT NULL,
    claimed     integer NOT NULL CHECK (claimed >= 0),
    PRIMARY KEY (template_id, buyer_id)
);

CREATE TABLE coupons (
    id          TEXT PRIMARY KEY,
    template_id TEXT NOT NULL REFERENCES coupon_templates (id),
    buyer_id    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('available', 'used')),
    valid_from  INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    order_id    TEXT,
    saved       INTEGER NOT NULL CHECK (saved >= 0),
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX coupons_buyer ON coupons (buyer_id, created_at DESC, id DESC);
CREATE INDEX coupons_order ON coupons (order_id);
