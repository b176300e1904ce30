-- Payments: one per order, identified at the platform by out_trade_no (the
-- order id without dashes). Amounts are bigint fen.

CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL UNIQUE REFERENCES orders (id),
    buyer_id        uuid NOT NULL,
    out_trade_no    text NOT NULL UNIQUE,
    amount          bigint NOT NULL CHECK (amount > 0),
    payer_openid    text NOT NULL,
    prepay_id       text NOT NULL DEFAULT '',
    state           text NOT NULL CHECK (state IN ('pending', 'succeeded', 'closed')),
    transaction_id  text NOT NULL DEFAULT '',
    fee             bigint NOT NULL DEFAULT 0 CHECK (fee >= 0 AND fee <= amount),
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- A succeeded payment carries the platform's number and when it was paid.
    CHECK (state <> 'succeeded' OR (transaction_id <> '' AND paid_at IS NOT NULL))
);
-- The platform's number is one transaction: it cannot pay two payments.
CREATE UNIQUE INDEX payments_transaction ON payments (transaction_id) WHERE transaction_id <> '';
