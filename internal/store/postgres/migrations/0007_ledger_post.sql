-- siyu_post_transfers writes ledger transfers on the server, so a change, its
-- transfers and its COMMIT can travel in one pipelined batch (as an order and
-- siyu_move_stock do). Every capture moves the same clearing, revenue and fee
-- accounts; written from Go, a capture held those rows across two more round
-- trips before its COMMIT, and captures queued on that window.
--
-- The caller holds the ledger lock (ledgerLock in ledger.go) and passes the
-- transfers validated, distinct and sorted by id, with their entries
-- flattened (p_entry_transfers names each entry's transfer). For each
-- transfer:
--   - new: inserted with its entries, and its accounts moved;
--   - recorded already and repeated exactly (kind, ref, the state it was born
--     in, the entries as a multiset): skipped, a retry;
--   - recorded already and different: SQLSTATE SY002, the transfer id as the
--     detail (ledger.ErrConflict).
-- Accounts move in id order (bytewise, as Go sorts them) with the rule of
-- queueMoveAccounts in ledger.go: an account that may not go negative keeps
-- its posted balance less pending outflows at zero or above, unless the
-- movement does not lower it. An account refused raises SQLSTATE SY003, its
-- id as the detail (ledger.ErrInsufficient). An entry naming no account fails
-- on the entries' foreign key. Any of these aborts the transaction, so a
-- refused write cannot leave half a transfer behind.
CREATE FUNCTION siyu_post_transfers(
    p_ids text[], p_kinds text[], p_refs text[], p_states text[], p_borns text[],
    p_amounts bigint[], p_created timestamptz[],
    p_entry_transfers text[], p_entry_positions integer[], p_entry_accounts text[],
    p_entry_sides text[], p_entry_amounts bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    fresh text[] := '{}';
    m record;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        INSERT INTO ledger_transfers (id, kind, ref, state, amount, created_at)
        VALUES (p_ids[i], p_kinds[i], p_refs[i], p_states[i], p_amounts[i], p_created[i])
        ON CONFLICT (id) DO NOTHING;
        IF FOUND THEN
            fresh := fresh || p_ids[i];
            CONTINUE;
        END IF;
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
    IF cardinality(fresh) = 0 THEN
        RETURN;
    END IF;

    INSERT INTO ledger_entries (transfer_id, position, account_id, side, amount, created_at)
    SELECT e.tid, e.pos, e.account, e.side, e.amount, t.created
      FROM unnest(p_entry_transfers, p_entry_positions, p_entry_accounts, p_entry_sides, p_entry_amounts)
           AS e (tid, pos, account, side, amount)
      JOIN unnest(p_ids, p_created) AS t (id, created) ON t.id = e.tid
     WHERE e.tid = ANY (fresh);

    FOR m IN
        SELECT e.account COLLATE "C" AS account,
               coalesce(sum(e.amount) FILTER (WHERE t.state = 'posted' AND e.side = 'debit'), 0) AS pd,
               coalesce(sum(e.amount) FILTER (WHERE t.state = 'posted' AND e.side = 'credit'), 0) AS pc,
               coalesce(sum(e.amount) FILTER (WHERE t.state = 'pending' AND e.side = 'debit'), 0) AS qd,
               coalesce(sum(e.amount) FILTER (WHERE t.state = 'pending' AND e.side = 'credit'), 0) AS qc
          FROM unnest(p_entry_transfers, p_entry_accounts, p_entry_sides, p_entry_amounts)
               AS e (tid, account, side, amount)
          JOIN unnest(p_ids, p_states) AS t (id, state) ON t.id = e.tid
         WHERE e.tid = ANY (fresh)
         GROUP BY 1
         ORDER BY 1
    LOOP
        UPDATE ledger_accounts SET
               posted_debits = posted_debits + m.pd, posted_credits = posted_credits + m.pc,
               pending_debits = pending_debits + m.qd, pending_credits = pending_credits + m.qc
         WHERE id = m.account AND (allow_negative
            OR CASE WHEN kind IN ('asset', 'expense')
                    THEN m.pd - m.pc - m.qc
                    ELSE m.pc - m.pd - m.qd END >= 0
            OR CASE WHEN kind IN ('asset', 'expense')
                    THEN (posted_debits + m.pd) - (posted_credits + m.pc) - (pending_credits + m.qc)
                    ELSE (posted_credits + m.pc) - (posted_debits + m.pd) - (pending_debits + m.qd) END >= 0);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'SY003', MESSAGE = 'ledger account insufficient', DETAIL = m.account;
        END IF;
    END LOOP;
END
$$;
