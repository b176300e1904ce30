-- The ledger: double-entry, integer fen. Transfers and their entries are
-- immutable once written (a pending transfer's state moves once, to posted or
-- voided). Each account carries its balance as four running sums, updated in
-- the transaction that writes the entries, so the non-negative rule can be a
-- conditional update instead of a sum over history; siyu ledger check proves
-- the sums equal the entries.
--
-- Ids are opaque keys, so they compare bytewise (COLLATE "C"): cheaper than
-- a linguistic collation in every index and join the check runs, and the
-- same order Go's sort gives the accounts the stores lock.

CREATE TABLE ledger_accounts (
    id              text COLLATE "C" PRIMARY KEY,
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

-- amount is the transfer's debits (= its credits), kept so the reports and
-- the per-order checks need not read the entries; the check proves it.
CREATE TABLE ledger_transfers (
    id          text COLLATE "C" NOT NULL,  -- business key, e.g. 'payment:<payment id>'
    kind        text NOT NULL,
    ref         text COLLATE "C" NOT NULL DEFAULT '', -- the order (or other object) it belongs to
    state       text NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    amount      bigint NOT NULL CHECK (amount > 0),
    created_at  timestamptz NOT NULL,
    settled_at  timestamptz,                -- set when a pending transfer is posted or voided
    -- The included columns let the check read transfers from the index alone.
    PRIMARY KEY (id) INCLUDE (kind, amount)
);
CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref, kind) INCLUDE (state, amount);
-- Transfers not posted are few (refunds in flight, refunds that failed): the
-- check takes their entries out of the accounts' totals through this index.
CREATE INDEX ledger_transfers_unposted ON ledger_transfers (id) WHERE state <> 'posted';
-- The settlement report reads a day of one kind: posted at created_at, or
-- at settled_at when it was pending first.
CREATE INDEX ledger_transfers_kind_day ON ledger_transfers (kind, (coalesce(settled_at, created_at)));

CREATE TABLE ledger_entries (
    transfer_id  text COLLATE "C" NOT NULL REFERENCES ledger_transfers (id),
    position     integer NOT NULL,
    account_id   text COLLATE "C" NOT NULL REFERENCES ledger_accounts (id),
    side         text NOT NULL CHECK (side IN ('debit', 'credit')),
    amount       bigint NOT NULL CHECK (amount > 0),
    created_at   timestamptz NOT NULL,      -- the transfer's, copied so a statement reads one index
    PRIMARY KEY (transfer_id, position) INCLUDE (side, amount)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at DESC, transfer_id DESC, position DESC);
