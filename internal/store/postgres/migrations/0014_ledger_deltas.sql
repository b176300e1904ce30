-- Balances that captures do not queue on. Every capture moves the same three
-- accounts (clearing, revenue, fees). With each account's sums only in its
-- ledger_accounts row (0004), every capture took the ledger lock and updated
-- all three rows. So captures committed one at a time, each waiting for the
-- one before it to flush its WAL, however many connections there were.
--
-- Now an account's sums are its row plus its rows in ledger_account_deltas.
-- The view ledger_balances adds them up; the trial balance and siyu ledger
-- check read it.
-- A movement is written in one of two ways:
--   - It cannot lower the account's available balance (posted, less pending
--     outflows; ledger.Balance.Available), or the account may go negative.
--     This covers all of a capture's movements and every settle's. The
--     movement is appended as a delta: an insert, with no lock on the account
--     and no ledger lock, so such writers commit side by side and share their
--     WAL flushes.
--   - It can lower an account that may not go negative: a refund's debit of
--     revenue, a spend from a buyer's balance. The writer takes the ledger
--     lock, then locks the account row, folds the account's committed deltas
--     into the row, and moves the row with the non-negative rule of 0007.
--     Deltas that are not committed yet are not seen. Each of them can only
--     raise what is available, so missing one makes the check stricter,
--     never looser. The lock is held to the commit, so two such writers
--     cannot both spend the same balance.
-- A fold deletes an account's deltas and adds their sums to the row in one
-- statement, with the row locked, so every delta counts exactly once: either
-- in the table or in the row. Besides every lowering write, about one
-- appending call in 64 folds the accounts it moved that no one else holds
-- (SKIP LOCKED, so it never waits). That keeps the deltas few without a
-- background job.
--
-- The deltas have no foreign key to ledger_accounts. The entries written in
-- the same call already have one. A second one would add a trigger per row,
-- and its key-share lock on the hot accounts, to every capture.
-- siyu ledger check compares ledger_balances with the entries.
CREATE TABLE ledger_account_deltas (
    account_id      text COLLATE "C" NOT NULL,
    posted_debits   bigint NOT NULL,
    posted_credits  bigint NOT NULL,
    pending_debits  bigint NOT NULL,
    pending_credits bigint NOT NULL
) WITH (
    -- A queue: thousands of rows a second come and go. Vacuum it whenever
    -- autovacuum looks, rather than after 20% of a table that stays small.
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000
);
CREATE INDEX ledger_account_deltas_account ON ledger_account_deltas (account_id);

-- Each account with its sums: the row's plus the deltas not yet folded.
CREATE VIEW ledger_balances AS
SELECT a.id, a.name, a.kind, a.allow_negative,
       a.posted_debits + coalesce(d.pd, 0) AS posted_debits,
       a.posted_credits + coalesce(d.pc, 0) AS posted_credits,
       a.pending_debits + coalesce(d.qd, 0) AS pending_debits,
       a.pending_credits + coalesce(d.qc, 0) AS pending_credits
  FROM ledger_accounts a
  LEFT JOIN (SELECT account_id,
                    sum(posted_debits)::bigint AS pd, sum(posted_credits)::bigint AS pc,
                    sum(pending_debits)::bigint AS qd, sum(pending_credits)::bigint AS qc
               FROM ledger_account_deltas GROUP BY account_id) d ON d.account_id = a.id;

-- The functions below are PL/pgSQL, not SQL: PostgreSQL plans an SQL
-- function's statements again on every call, PL/pgSQL keeps its plans for
-- the session. A capture runs them all, so they are also few statements:
-- each one costs an executor start.

-- siyu_fold_account_deltas adds the accounts' committed deltas to their rows
-- and deletes them. The caller holds the rows (FOR NO KEY UPDATE), so no
-- other fold of these accounts is running, and this statement's snapshot,
-- taken after, holds every delta committed before.
CREATE FUNCTION siyu_fold_account_deltas(p_accounts text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH folded AS (
        DELETE FROM ledger_account_deltas WHERE account_id = ANY (p_accounts)
        RETURNING account_id, posted_debits, posted_credits, pending_debits, pending_credits)
    UPDATE ledger_accounts a SET
           posted_debits = a.posted_debits + f.pd, posted_credits = a.posted_credits + f.pc,
           pending_debits = a.pending_debits + f.qd, pending_credits = a.pending_credits + f.qc
      FROM (SELECT account_id, sum(posted_debits)::bigint AS pd, sum(posted_credits)::bigint AS pc,
                   sum(pending_debits)::bigint AS qd, sum(pending_credits)::bigint AS qc
              FROM folded GROUP BY account_id) f
     WHERE a.id = f.account_id;
END
$$;

-- siyu_lowered_accounts lists, in id order, the accounts that may not go
-- negative whose available balance the movements lower. The movements are
-- posted and pending debits and credits, one element per account, accounts
-- distinct.
CREATE FUNCTION siyu_lowered_accounts(
    p_accounts text[], p_pd bigint[], p_pc bigint[], p_qd bigint[], p_qc bigint[]
) RETURNS text[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(a.id ORDER BY a.id), '{}')
              FROM unnest(p_accounts, p_pd, p_pc, p_qd, p_qc) AS x (account, pd, pc, qd, qc)
              JOIN ledger_accounts a ON a.id = x.account
             WHERE NOT a.allow_negative
               AND CASE WHEN a.kind IN ('asset', 'expense') THEN x.pd - x.pc - x.qc
                        ELSE x.pc - x.pd - x.qd END < 0);
END
$$;

-- siyu_move_accounts applies movements to accounts' sums by the rule at the
-- top of this file. p_lowered is what siyu_lowered_accounts says of them. An
-- account refused raises SQLSTATE SY003, its id as the detail
-- (ledger.ErrInsufficient), which aborts the transaction. The ledger lock is
-- the transaction-scoped advisory lock 0x6c656467 ("ledg" in ASCII). Every
-- writer that locks an account row for a lowering movement takes it first,
-- so a transaction that does so twice cannot deadlock with one that does it
-- in the other order; folds that find a row held skip it rather than wait.
CREATE FUNCTION siyu_move_accounts(
    p_accounts text[], p_pd bigint[], p_pc bigint[], p_qd bigint[], p_qc bigint[], p_lowered text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m record;
BEGIN
    INSERT INTO ledger_account_deltas (account_id, posted_debits, posted_credits, pending_debits, pending_credits)
    SELECT x.account, x.pd, x.pc, x.qd, x.qc
      FROM unnest(p_accounts, p_pd, p_pc, p_qd, p_qc) AS x (account, pd, pc, qd, qc)
     WHERE x.account <> ALL (p_lowered) AND (x.pd, x.pc, x.qd, x.qc) <> (0, 0, 0, 0);

    IF cardinality(p_lowered) = 0 THEN
        IF random() < 1.0 / 64 THEN
            PERFORM siyu_fold_account_deltas(ARRAY(
                SELECT id FROM ledger_accounts WHERE id = ANY (p_accounts)
                 ORDER BY id FOR NO KEY UPDATE SKIP LOCKED));
        END IF;
        RETURN;
    END IF;

    PERFORM pg_advisory_xact_lock(1818584167);
    PERFORM 1 FROM ledger_accounts WHERE id = ANY (p_lowered) ORDER BY id FOR NO KEY UPDATE;
    PERFORM siyu_fold_account_deltas(p_lowered);
    FOR m IN
        SELECT x.account, x.pd, x.pc, x.qd, x.qc
          FROM unnest(p_accounts, p_pd, p_pc, p_qd, p_qc) AS x (account, pd, pc, qd, qc)
         WHERE x.account = ANY (p_lowered)
         ORDER BY x.account COLLATE "C"
    LOOP
        UPDATE ledger_accounts SET
               posted_debits = posted_debits + m.pd, posted_credits = posted_credits + m.pc,
               pending_debits = pending_debits + m.qd, pending_credits = pending_credits + m.qc
         WHERE id = m.account
           AND CASE WHEN kind IN ('asset', 'expense')
                    THEN (posted_debits + m.pd) - (posted_credits + m.pc) - (pending_credits + m.qc)
                    ELSE (posted_credits + m.pc) - (posted_debits + m.pd) - (pending_debits + m.qd) END >= 0;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'SY003', MESSAGE = 'ledger account insufficient', DETAIL = m.account;
        END IF;
    END LOOP;
END
$$;

-- The same, for movements the caller has not classified (a settle's).
CREATE FUNCTION siyu_move_accounts(
    p_accounts text[], p_pd bigint[], p_pc bigint[], p_qd bigint[], p_qc bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM siyu_move_accounts(p_accounts, p_pd, p_pc, p_qd, p_qc,
                               siyu_lowered_accounts(p_accounts, p_pd, p_pc, p_qd, p_qc));
END
$$;

-- siyu_transfer_movements sums, by account in id order, what the transfers
-- named in p_only do to the accounts' sums (the other arguments are
-- siyu_post_transfers' own).
CREATE FUNCTION siyu_transfer_movements(
    p_ids text[], p_states text[],
    p_entry_transfers text[], p_entry_accounts text[], p_entry_sides text[], p_entry_amounts bigint[],
    p_only text[],
    OUT accounts text[], OUT pd bigint[], OUT pc bigint[], OUT qd bigint[], OUT qc bigint[]
) LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    SELECT array_agg(m.account ORDER BY m.account), array_agg(m.pd ORDER BY m.account),
           array_agg(m.pc ORDER BY m.account), array_agg(m.qd ORDER BY m.account),
           array_agg(m.qc ORDER BY m.account)
      INTO accounts, pd, pc, qd, qc
      FROM (SELECT e.account COLLATE "C" AS account,
                   coalesce(sum(e.amount) FILTER (WHERE t.state = 'posted' AND e.side = 'debit'), 0)::bigint AS pd,
                   coalesce(sum(e.amount) FILTER (WHERE t.state = 'posted' AND e.side = 'credit'), 0)::bigint AS pc,
                   coalesce(sum(e.amount) FILTER (WHERE t.state = 'pending' AND e.side = 'debit'), 0)::bigint AS qd,
                   coalesce(sum(e.amount) FILTER (WHERE t.state = 'pending' AND e.side = 'credit'), 0)::bigint AS qc
              FROM unnest(p_entry_transfers, p_entry_accounts, p_entry_sides, p_entry_amounts)
                   AS e (tid, account, side, amount)
              JOIN unnest(p_ids, p_states) AS t (id, state) ON t.id = e.tid
             WHERE e.tid = ANY (p_only)
             GROUP BY 1) m;
END
$$;

-- siyu_post_transfers as in 0007, with five arguments more: the call's
-- movements as ledger.Movements sums them, for all its transfers, so the
-- common call (every transfer new) need not sum them here. The ledger lock
-- is no longer the caller's to take: the function takes it, before its
-- inserts, when the call as a whole lowers an account that may not go
-- negative, so a writer holding the lock never waits on another's
-- uncommitted insert of the same transfer id. A call that lowers nothing as
-- a whole may still lower once its repeats are left out (a fee whose
-- payment was recorded already); siyu_move_accounts then takes the lock
-- after the inserts. That call could deadlock only with a lock holder
-- posting the same transfer ids at the same moment, and PostgreSQL would end
-- it by failing one of the two.
CREATE FUNCTION siyu_post_transfers(
    p_ids text[], p_kinds text[], p_refs text[], p_states text[], p_borns text[],
    p_amounts bigint[], p_created timestamptz[],
    p_entry_transfers text[], p_entry_positions integer[], p_entry_accounts text[],
    p_entry_sides text[], p_entry_amounts bigint[],
    p_accounts text[], p_pd bigint[], p_pc bigint[], p_qd bigint[], p_qc bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lowered text[] := siyu_lowered_accounts(p_accounts, p_pd, p_pc, p_qd, p_qc);
    fresh text[];
    mv record;
    i integer;
BEGIN
    IF cardinality(lowered) > 0 THEN
        PERFORM pg_advisory_xact_lock(1818584167);
    END IF;

    -- The transfers in the order given (by id), so two calls inserting some
    -- of the same ids queue on the first instead of deadlocking, and the
    -- entries of those that are new, in the same statement.
    WITH inserted AS (
        INSERT INTO ledger_transfers (id, kind, ref, state, amount, created_at)
        SELECT t.id, t.kind, t.ref, t.state, t.amount, t.created
          FROM unnest(p_ids, p_kinds, p_refs, p_states, p_amounts, p_created) WITH ORDINALITY
               AS t (id, kind, ref, state, amount, created, n)
         ORDER BY t.n
        ON CONFLICT (id) DO NOTHING
        RETURNING id, created_at
    ), entries AS (
        INSERT INTO ledger_entries (transfer_id, position, account_id, side, amount, created_at)
        SELECT e.tid, e.pos, e.account, e.side, e.amount, t.created_at
          FROM unnest(p_entry_transfers, p_entry_positions, p_entry_accounts, p_entry_sides, p_entry_amounts)
               AS e (tid, pos, account, side, amount)
          JOIN inserted t ON t.id = e.tid
    )
    SELECT coalesce(array_agg(id), '{}') INTO fresh FROM inserted;
    IF cardinality(fresh) = cardinality(p_ids) THEN
        PERFORM siyu_move_accounts(p_accounts, p_pd, p_pc, p_qd, p_qc, lowered);
        RETURN;
    END IF;

    FOR i IN 1 .. cardinality(p_ids) LOOP
        CONTINUE WHEN p_ids[i] = ANY (fresh);
        IF NOT EXISTS (
                SELECT 1 FROM ledger_transfers s
                 WHERE s.id = p_ids[i] AND s.kind = p_kinds[i] AND s.ref = p_refs[i]
                   AND CASE WHEN s.settled_at IS NULL THEN s.state ELSE 'pending' END = p_borns[i])
           OR EXISTS (
                (SELECT account_id, side, amount FROM ledger_entries WHERE transfer_id = p_ids[i]
                 EXCEPT ALL
                 SELECT e.account COLLATE "C", e.side, e.amount
                   FROM unnest(p_entry_transfers, p_entry_accounts, p_entry_sides, p_entry_amounts)
                        AS e (tid, account, side, amount)
                  WHERE e.tid = p_ids[i])
                UNION ALL
                (SELECT e.account COLLATE "C", e.side, e.amount
                   FROM unnest(p_entry_transfers, p_entry_accounts, p_entry_sides, p_entry_amounts)
                        AS e (tid, account, side, amount)
                  WHERE e.tid = p_ids[i]
                 EXCEPT ALL
                 SELECT account_id, side, amount FROM ledger_entries WHERE transfer_id = p_ids[i]))
        THEN
            RAISE EXCEPTION USING ERRCODE = 'SY002', MESSAGE = 'ledger transfer conflict', DETAIL = p_ids[i];
        END IF;
    END LOOP;
    IF cardinality(fresh) > 0 THEN
        SELECT * INTO mv FROM siyu_transfer_movements(p_ids, p_states, p_entry_transfers, p_entry_accounts,
                                                      p_entry_sides, p_entry_amounts, fresh);
        PERFORM siyu_move_accounts(mv.accounts, mv.pd, mv.pc, mv.qd, mv.qc);
    END IF;
END
$$;

-- 0007's form, for a binary that predates this migration (during a rolling
-- deploy): the same write, its movements summed here. Such a binary still
-- takes the ledger lock first, which is only slower.
CREATE OR REPLACE FUNCTION siyu_post_transfers(
    p_ids text[], p_kinds text[], p_refs text[], p_states text[], p_borns text[],
    p_amounts bigint[], p_created timestamptz[],
    p_entry_transfers text[], p_entry_positions integer[], p_entry_accounts text[],
    p_entry_sides text[], p_entry_amounts bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    mv record;
BEGIN
    SELECT * INTO mv FROM siyu_transfer_movements(p_ids, p_states, p_entry_transfers, p_entry_accounts,
                                                  p_entry_sides, p_entry_amounts, p_ids);
    PERFORM siyu_post_transfers(p_ids, p_kinds, p_refs, p_states, p_borns, p_amounts, p_created,
                                p_entry_transfers, p_entry_positions, p_entry_accounts, p_entry_sides,
                                p_entry_amounts, mv.accounts, mv.pd, mv.pc, mv.qd, mv.qc);
END
$$;
