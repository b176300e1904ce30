-- The ledger: double-entry, integer fen. Transfers and their entries are
-- immutable once written (a pending transfer's state moves once, to posted or
-- voided). Each account carries its balance as four running sums, updated in
-- the transaction that writes the entries, so the non-negative rule can be a
-- conditional update instead of a sum over history; siyu ledger check proves
-- the sums equal the entries.

CREATE TABLE ledger_accounts (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('asset', 'liability', 'revenue', 'expense')),
    allow_negative  boolean NOT NULL DEFAULT false,
    posted_debits   bigint NOT NULL DEFAULT 0,
    posted_credits  bigint NOT NULL DEFAULT 0,
    pending_debits  bigint NOT NULL DEFAULT 0,
    pending_credits bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The system accounts of ledger.SystemAccounts; later capabilities add theirs.
INSERT INTO ledger_accounts (id, name, kind, allow_negative) VALUES
    ('clearing:wechat',  'Buyer payments in clearing at WeChat Pay', 'asset',     false),
    ('revenue:merchant', 'Merchant revenue',                         'revenue',   false),
    ('refunds:payable',  'Refunds payable',                          'liability', false),
    ('fees:platform',    'Payment platform fees',                    'expense',   false);

CREATE TABLE ledger_transfers (
    id          text PRIMARY KEY,           -- business key, e.g. 'payment:<payment id>'
    kind        text NOT NULL,
    ref         text NOT NULL DEFAULT '',   -- the order (or other object) it belongs to
    state       text NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    created_at  timestamptz NOT NULL,
    settled_at  timestamptz                 -- set when a pending transfer is posted or voided
);
CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref, kind);
-- The settlement report reads a day of one kind: posted at created_at, or
-- at settled_at when it was pending first.
CREATE INDEX ledger_transfers_kind_day ON ledger_transfers (kind, (coalesce(settled_at, created_at)));

CREATE TABLE ledger_entries (
    transfer_id  text NOT NULL REFERENCES ledger_transfers (id),
    position     integer NOT NULL,
    account_id   text NOT NULL REFERENCES ledger_accounts (id),
    side         text NOT NULL CHECK (side IN ('debit', 'credit')),
    amount       bigint NOT NULL CHECK (amount > 0),
    created_at   timestamptz NOT NULL,      -- the transfer's, copied so a statement reads one index
    PRIMARY KEY (transfer_id, position)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at DESC, transfer_id DESC, position DESC);
