-- Payments: one per order, identified at the platform by out_trade_no (the
-- order id without dashes). Amounts are integer fen; times microseconds
-- since the epoch, UTC.

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL UNIQUE REFERENCES orders (id),
    buyer_id        TEXT NOT NULL,
    out_trade_no    TEXT NOT NULL UNIQUE,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    payer_openid    TEXT NOT NULL,
    prepay_id       TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'closed')),
    transaction_id  TEXT NOT NULL DEFAULT '',
    fee             INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0 AND fee <= amount),
    paid_at         INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- A succeeded payment carries the platform's number and when it was paid.
    CHECK (state <> 'succeeded' OR (transaction_id <> '' AND paid_at IS NOT NULL))
);
-- The platform's number is one transaction: it cannot pay two payments.
CREATE UNIQUE INDEX payments_transaction ON payments (transaction_id) WHERE transaction_id <> '';
