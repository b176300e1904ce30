-- Coupons (internal/coupon): templates, buyers' coupons and each buyer's
-- count per template. Claims and uses are conditional updates, so a
-- template never issues past its quantity (issued <= quantity), a buyer
-- never holds past the limit, and savings never pass the budget
-- (spent <= budget, budget 0 meaning none), whatever races.
CREATE TABLE coupon_templates (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('fixed', 'percent', 'threshold', 'free_shipping')),
    off         bigint NOT NULL CHECK (off >= 0),
    rate_bp     integer NOT NULL CHECK (rate_bp >= 0 AND rate_bp < 10000),
    cap         bigint NOT NULL CHECK (cap >= 0),
    min_spend   bigint NOT NULL CHECK (min_spend >= 0),
    scope       text NOT NULL CHECK (scope IN ('all', 'category', 'product', 'sku')),
    scope_ids   text NOT NULL,
    valid_from  timestamptz,
    valid_until timestamptz,
    valid_days  integer NOT NULL CHECK (valid_days >= 0),
    per_buyer   integer NOT NULL CHECK (per_buyer >= 1),
    quantity    bigint NOT NULL CHECK (quantity >= 1),
    issued      bigint NOT NULL CHECK (issued >= 0 AND issued <= quantity),
    budget      bigint NOT NULL CHECK (budget >= 0),
    spent       bigint NOT NULL CHECK (spent >= 0 AND (budget = 0 OR spent <= budget)),
    issue_mode  text NOT NULL CHECK (issue_mode IN ('claim', 'new_user', 'recall')),
    status      text NOT NULL CHECK (status IN ('active', 'ended')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX coupon_templates_newest ON coupon_templates (created_at DESC, id DESC);

CREATE TABLE coupon_holders (
    template_id uuid NOT NULL REFERENCES coupon_templates (id),
    buyer_id    uuid NOT NULL,
    claimed     integer NOT NULL CHECK (claimed >= 0),
    PRIMARY KEY (template_id, buyer_id)
);

CREATE TABLE coupons (
    id          uuid PRIMARY KEY,
    template_id uuid NOT NULL REFERENCES coupon_templates (id),
    buyer_id    uuid NOT NULL,
    state       text NOT NULL CHECK (state IN ('available', 'used')),
    valid_from  timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    order_id    uuid,
    saved       bigint NOT NULL CHECK (saved >= 0),
    created_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX coupons_buyer ON coupons (buyer_id, created_at DESC, id DESC);
CREATE INDEX coupons_order ON coupons (order_id) WHERE order_id IS NOT NULL;

-- siyu_coupon_require aborts the transaction with SQLSTATE SY004 and the
-- reason as its detail unless ok, so a claim or a use travels in one batch
-- with its COMMIT, as an order's stock does with siyu_move_stock.
CREATE FUNCTION siyu_coupon_require(ok boolean, reason text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'SY004', MESSAGE = 'coupon refused', DETAIL = reason;
    END IF;
END
$$;
