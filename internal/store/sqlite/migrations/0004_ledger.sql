-- The ledger: double-entry, integer fen. Transfers and their entries are
-- immutable once written (a pending transfer's state moves once, to posted or
-- voided). Each account carries its balance as four running sums, updated in
-- the transaction that writes the entries, so the non-negative rule can be a
-- conditional update instead of a sum over history; siyu ledger check proves
-- the sums equal the entries. Times are microseconds since the epoch, UTC.

CREATE TABLE ledger_accounts (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('asset', 'liability', 'revenue', 'expense')),
    allow_negative  INTEGER NOT NULL DEFAULT 0,
    posted_debits   INTEGER NOT NULL DEFAULT 0,
    posted_credits  INTEGER NOT NULL DEFAULT 0,
    pending_debits  INTEGER NOT NULL DEFAULT 0,
    pending_credits INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL DEFAULT 0
);

-- The system accounts of ledger.SystemAccounts; later capabilities add theirs.
INSERT INTO ledger_accounts (id, name, kind, allow_negative) VALUES
    ('clearing:wechat',  'Buyer payments in clearing at WeChat Pay', 'asset',     0),
    ('revenue:merchant', 'Merchant revenue',                         'revenue',   0),
    ('refunds:payable',  'Refunds payable',                          'liability', 0),
    ('fees:platform',    'Payment platform fees',                    'expense',   0);

-- amount is the transfer's debits (= its credits), kept so the reports and
-- the per-order checks need not read the entries; the check proves it.
CREATE TABLE ledger_transfers (
    id          TEXT PRIMARY KEY,           -- business key, e.g. 'payment:<payment id>'
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',   -- the order (or other object) it belongs to
    state       TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    created_at  INTEGER NOT NULL,
    settled_at  INTEGER                     -- set when a pending transfer is posted or voided
);
CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref, kind, state, amount);
-- Transfers not posted are few (refunds in flight, refunds that failed): the
-- check takes their entries out of the accounts' totals through this index.
CREATE INDEX ledger_transfers_unposted ON ledger_transfers (id) WHERE state <> 'posted';
-- The settlement report reads a day of one kind: posted at created_at, or
-- at settled_at when it was pending first.
CREATE INDEX ledger_transfers_kind_day ON ledger_transfers (kind, coalesce(settled_at, created_at));

CREATE TABLE ledger_entries (
    transfer_id  TEXT NOT NULL REFERENCES ledger_transfers (id),
    position     INTEGER NOT NULL,
    account_id   TEXT NOT NULL REFERENCES ledger_accounts (id),
    side         TEXT NOT NULL CHECK (side IN ('debit', 'credit')),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    created_at   INTEGER NOT NULL,          -- the transfer's, copied so a statement reads one index
    PRIMARY KEY (transfer_id, position)
) WITHOUT ROWID;
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at DESC, transfer_id DESC, position DESC);
