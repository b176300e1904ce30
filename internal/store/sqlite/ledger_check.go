package sqlite

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
)

// ledgerChecks are the invariants CheckLedger proves, each one set-based
// query returning the breaches as (rule, ref, detail): the rules are the
// ledger.Rule* constants. Their twins in the
// PostgreSQL engine are the same rules in its dialect. A check that needs
// another domain's table names it in needs, and is skipped until that
// table exists.
var ledgerChecks = []struct {
	rule  string // the main rule it checks, for errors and the cap
	needs string
	query string
}{
	{rule: "transfer_unbalanced", query: `
		SELECT 'transfer_unbalanced', transfer_id, count(*) || ' entries, debits ' ||
			sum(CASE WHEN side = 'debit' THEN amount ELSE 0 END) || ', credits ' ||
			sum(CASE WHEN side = 'credit' THEN amount ELSE 0 END)
		FROM ledger_entries GROUP BY transfer_id
		HAVING count(*) < 2 OR sum(CASE WHEN side = 'debit' THEN amount ELSE -amount END) <> 0
		UNION ALL
		SELECT 'transfer_unbalanced', id, 'no entries' FROM ledger_transfers t
		WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transfer_id = t.id)`},

	// One pass over the entries gives each account's four sums; the book's
	// totals are the sums of those (every entry has one account).
	{rule: "account_balance_mismatch", query: `
		WITH sums AS MATERIALIZED (` + entrySums + `)
		SELECT 'account_balance_mismatch', a.id, 'stored ' || a.posted_debits || '/' || a.posted_credits || '/' ||
			a.pending_debits || '/' || a.pending_credits || ', entries ' ||
			coalesce(s.pd, 0) || '/' || coalesce(s.pc, 0) || '/' || coalesce(s.qd, 0) || '/' || coalesce(s.qc, 0) ||
			' (posted debits/credits/pending debits/credits)'
		FROM ledger_accounts a LEFT JOIN sums s ON s.account_id = a.id
		WHERE a.posted_debits <> coalesce(s.pd, 0) OR a.posted_credits <> coalesce(s.pc, 0)
			OR a.pending_debits <> coalesce(s.qd, 0) OR a.pending_credits <> coalesce(s.qc, 0)
		UNION ALL
		SELECT 'book_unbalanced', 'book', 'entries: posted debits ' || sum(pd) || ', credits ' || sum(pc) ||
			'; pending debits ' || sum(qd) || ', credits ' || sum(qc)
		FROM sums HAVING sum(pd) <> sum(pc) OR sum(qd) <> sum(qc)`},

	{rule: "balances_unbalanced", query: `
		SELECT 'balances_unbalanced', 'balances', 'stored: posted debits ' || sum(posted_debits) || ', credits ' || sum(posted_credits) ||
			'; pending debits ' || sum(pending_debits) || ', credits ' || sum(pending_credits)
		FROM ledger_accounts
		HAVING sum(posted_debits) <> sum(posted_credits) OR sum(pending_debits) <> sum(pending_credits)`},

	{rule: "account_negative", query: `
		SELECT 'account_negative', id, 'available ' || CASE WHEN kind IN ('asset', 'expense')
			THEN posted_debits - posted_credits - pending_credits
			ELSE posted_credits - posted_debits - pending_debits END
		FROM ledger_accounts WHERE NOT allow_negative AND CASE WHEN kind IN ('asset', 'expense')
			THEN posted_debits - posted_credits - pending_credits
			ELSE posted_credits - posted_debits - pending_debits END < 0`},

	{rule: "paid_order_payment", needs: "orders", query: `
		SELECT 'paid_order_payment', o.id, 'order ' || o.status || ' without a posted payment transfer' FROM orders o
		WHERE o.status IN ('paid', 'shipped', 'delivered', 'completed') AND NOT EXISTS (
			SELECT 1 FROM ledger_transfers t WHERE t.ref = o.id AND t.kind = 'payment' AND t.state = 'posted')`},

	{rule: "payment_posted_twice", query: `
		SELECT 'payment_posted_twice', ref, count(*) || ' posted payment transfers' FROM ledger_transfers
		WHERE kind = 'payment' AND state = 'posted' GROUP BY ref HAVING count(*) > 1`},

	{rule: "transfer_id_convention", query: `
		SELECT 'transfer_id_convention', id, 'kind ' || kind || ' wants an id of the form ' || kind || ':<id>' FROM ledger_transfers
		WHERE kind IN ('payment', 'payment_fee', 'refund', 'refund_fee')
			AND (substr(id, 1, length(kind) + 1) <> kind || ':' OR length(id) = length(kind) + 1)`},

	{rule: "payment_transfer_orphan", needs: "payments", query: `
		SELECT 'payment_transfer_orphan', t.id, 'no payment ' || substr(t.id, 9) FROM ledger_transfers t
		WHERE t.kind = 'payment' AND NOT EXISTS (SELECT 1 FROM payments p WHERE 'payment:' || p.id = t.id)`},

	// Transfer ids are unique, and each refund transfer must name a refund:
	// so no refund can have moved money twice.
	{rule: "refund_transfer_orphan", needs: "refunds", query: `
		SELECT 'refund_transfer_orphan', t.id, 'no refund ' || substr(t.id, 8) FROM ledger_transfers t
		WHERE t.kind = 'refund' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE 'refund:' || r.id = t.id)`},

	// Pending refunds count: money sent back but not yet confirmed is gone.
	{rule: "refund_exceeds_payment", query: `
		WITH amounts AS (
			SELECT t.ref, t.kind, t.state, sum(e.amount) AS amount
			FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id AND e.side = 'debit'
			WHERE t.kind IN ('payment', 'refund') AND t.state <> 'voided'
				AND t.ref IN (SELECT ref FROM ledger_transfers WHERE kind = 'refund')
			GROUP BY t.id, t.ref, t.kind, t.state)
		SELECT 'refund_exceeds_payment', ref, 'refunded ' || sum(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) ||
			', paid ' || sum(CASE WHEN kind = 'payment' AND state = 'posted' THEN amount ELSE 0 END)
		FROM amounts GROUP BY ref
		HAVING sum(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) >
			sum(CASE WHEN kind = 'payment' AND state = 'posted' THEN amount ELSE 0 END)`},
}

// entrySums is each account's posted and pending debits and credits as its
// entries have them; voided transfers count nowhere.
const entrySums = `SELECT e.account_id,
	sum(CASE WHEN t.state = 'posted' AND e.side = 'debit' THEN e.amount ELSE 0 END) AS pd,
	sum(CASE WHEN t.state = 'posted' AND e.side = 'credit' THEN e.amount ELSE 0 END) AS pc,
	sum(CASE WHEN t.state = 'pending' AND e.side = 'debit' THEN e.amount ELSE 0 END) AS qd,
	sum(CASE WHEN t.state = 'pending' AND e.side = 'credit' THEN e.amount ELSE 0 END) AS qc
	FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
	GROUP BY e.account_id`

// CheckLedger runs every check on one read snapshot, so a write landing
// between two checks cannot look like a breach.
func (s *Store) CheckLedger(ctx context.Context) ([]ledger.Breach, error) {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, errs.Wrap(err, "ledger: check")
	}
	defer tx.Rollback() //nolint:errcheck // read only
	var out []ledger.Breach
	for _, c := range ledgerChecks {
		if c.needs != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
				c.needs).Scan(&n); err != nil {
				return nil, errs.Wrap(err, "ledger: check")
			}
			if n == 0 {
				continue
			}
		}
		rows, err := tx.QueryContext(ctx, c.query+` LIMIT ?`, ledger.MaxBreaches+1)
		if err != nil {
			return nil, errs.Wrap(err, "ledger: check %s", c.rule)
		}
		var found []ledger.Breach
		for rows.Next() {
			var b ledger.Breach
			if err := rows.Scan(&b.Rule, &b.Ref, &b.Detail); err != nil {
				rows.Close()
				return nil, errs.Wrap(err, "ledger: check %s", c.rule)
			}
			found = append(found, b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, errs.Wrap(err, "ledger: check %s", c.rule)
		}
		out = append(out, ledger.Capped(c.rule, found)...)
	}
	return out, nil
}
