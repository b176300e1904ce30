package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
)

// ledgerChecks are the invariants CheckLedger proves, each a set-based query
// returning breaches as (rule, ref, detail), the rules being the
// ledger.Rule* constants; their twins in the SQLite engine are the same
// rules in its dialect. Over a million transfers the work is three passes:
// transfers against entries, entries by account, transfers by order. A
// check that needs another domain's table names it, and is skipped until
// that table exists.
var ledgerChecks = []struct {
	name  string
	needs string
	query string
}{
	// Each transfer against its entries, both read from their primary key
	// indexes: debits and credits each equal to the amount, so to each other
	// (and, amounts being positive, at least one entry on each side). For
	// the kinds other domains rely on, an id of the convention.
	{name: "transfers", query: `
		SELECT CASE WHEN bad THEN 'transfer_unbalanced' ELSE 'transfer_id_convention' END, id,
			CASE WHEN bad THEN 'amount ' || amount || ', entries: debits ' || dr || ', credits ' || cr
				ELSE 'kind ' || kind || ' wants an id of the form ' || kind || ':<id>' END
		FROM (SELECT t.id, t.kind, t.amount, coalesce(e.dr, 0) AS dr, coalesce(e.cr, 0) AS cr,
				coalesce(e.dr, 0) <> t.amount OR coalesce(e.cr, 0) <> t.amount AS bad
			FROM ledger_transfers t LEFT JOIN (
				SELECT transfer_id,
					sum(CASE WHEN side = 'debit' THEN amount ELSE 0 END) AS dr,
					sum(CASE WHEN side = 'credit' THEN amount ELSE 0 END) AS cr
				FROM ledger_entries GROUP BY transfer_id) e ON e.transfer_id = t.id) x
		WHERE bad OR (kind IN ('payment', 'payment_fee', 'refund', 'refund_fee')
			AND (substr(id, 1, length(kind) + 1) <> kind || ':' OR length(id) = length(kind) + 1))`},

	// Each account's stored sums (its row plus the deltas not yet folded
	// into it: ledger_balances, migration 0014) against its entries; the
	// book's totals are the sums over accounts (every entry has one account).
	{name: "accounts", query: `
		WITH sums AS MATERIALIZED (` + entrySums + `)
		SELECT 'account_balance_mismatch', a.id,
			'stored ' || a.posted_debits || '/' || a.posted_credits || '/' || a.pending_debits || '/' || a.pending_credits ||
			', entries ' || coalesce(s.pd, 0) || '/' || coalesce(s.pc, 0) || '/' || coalesce(s.qd, 0) || '/' || coalesce(s.qc, 0) ||
			' (posted debits/credits, pending debits/credits)'
		FROM ledger_balances a LEFT JOIN sums s ON s.account_id = a.id
		WHERE a.posted_debits <> coalesce(s.pd, 0) OR a.posted_credits <> coalesce(s.pc, 0)
			OR a.pending_debits <> coalesce(s.qd, 0) OR a.pending_credits <> coalesce(s.qc, 0)
		UNION ALL
		SELECT 'book_unbalanced', 'book', 'entries: posted debits ' || sum(pd) || ', credits ' || sum(pc) ||
			'; pending debits ' || sum(qd) || ', credits ' || sum(qc)
		FROM sums HAVING sum(pd) <> sum(pc) OR sum(qd) <> sum(qc)
		UNION ALL
		SELECT 'balances_unbalanced', 'balances', 'stored: posted debits ' || sum(posted_debits) ||
			', credits ' || sum(posted_credits) || '; pending debits ' || sum(pending_debits) ||
			', credits ' || sum(pending_credits)
		FROM ledger_balances
		HAVING sum(posted_debits) <> sum(posted_credits) OR sum(pending_debits) <> sum(pending_credits)
		UNION ALL
		SELECT 'account_negative', id, 'available ' || available
		FROM (SELECT id, allow_negative, CASE WHEN kind IN ('asset', 'expense')
				THEN posted_debits - posted_credits - pending_credits
				ELSE posted_credits - posted_debits - pending_debits END AS available
			FROM ledger_balances) a
		WHERE NOT allow_negative AND available < 0`},

	// Each order's payment and refund transfers, from the ref index alone:
	// at most one payment posted, refunds (pending ones too: that money is
	// on its way back) within what was paid, and an order that was paid
	// (the order statuses after paid) with its payment posted, unless it
	// cost nothing (order.PayFree: no money, no transfer).
	{name: "orders", needs: "orders", query: `
		WITH refs AS MATERIALIZED (
			SELECT ref,
				count(*) FILTER (WHERE kind = 'payment' AND state = 'posted') AS payments,
				coalesce(sum(amount) FILTER (WHERE kind = 'payment' AND state = 'posted'), 0) AS paid,
				coalesce(sum(amount) FILTER (WHERE kind = 'refund' AND state <> 'voided'), 0) AS refunded
			FROM ledger_transfers WHERE kind IN ('payment', 'refund') GROUP BY ref)
		SELECT 'payment_posted_twice', ref, payments || ' posted payment transfers' FROM refs WHERE payments > 1
		UNION ALL
		SELECT 'refund_exceeds_payment', ref, 'refunded ' || refunded || ', paid ' || paid FROM refs WHERE refunded > paid
		UNION ALL
		SELECT 'paid_order_payment', o.id::text, 'order ' || o.status || ' without a posted payment transfer'
		FROM orders o LEFT JOIN refs r ON r.ref = o.id::text
		WHERE o.status IN ('paid', 'shipped', 'delivered', 'completed', 'refunded') AND coalesce(r.payments, 0) = 0
			AND o.total > 0`},

	{name: "payments", needs: "payments", query: `
		SELECT 'payment_transfer_orphan', t.id, 'no payment ' || substr(t.id, 9) FROM ledger_transfers t
		WHERE t.kind = 'payment' AND NOT EXISTS (SELECT 1 FROM payments p WHERE 'payment:' || p.id::text = t.id)`},

	// Transfer ids are unique, and each refund transfer must name a refund:
	// so no refund can have moved money twice.
	{name: "refunds", needs: "refunds", query: `
		SELECT 'refund_transfer_orphan', t.id, 'no refund ' || substr(t.id, 8) FROM ledger_transfers t
		WHERE t.kind = 'refund' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE 'refund:' || r.id::text = t.id)`},
}

// entrySums is each account's posted and pending debits and credits as its
// entries have them. All entries by account, less those of the transfers not
// posted (few, found through their partial index), are the posted sums; the
// pending sums are those of the pending transfers; voided ones count nowhere.
const entrySums = `SELECT total.account_id,
		total.dr - coalesce(u.dr, 0) AS pd, total.cr - coalesce(u.cr, 0) AS pc,
		coalesce(u.qd, 0) AS qd, coalesce(u.qc, 0) AS qc
	FROM (SELECT account_id,
			sum(CASE WHEN side = 'debit' THEN amount ELSE 0 END) AS dr,
			sum(CASE WHEN side = 'credit' THEN amount ELSE 0 END) AS cr
		FROM ledger_entries GROUP BY account_id) total
	LEFT JOIN (SELECT e.account_id,
			sum(CASE WHEN e.side = 'debit' THEN e.amount ELSE 0 END) AS dr,
			sum(CASE WHEN e.side = 'credit' THEN e.amount ELSE 0 END) AS cr,
			sum(CASE WHEN t.state = 'pending' AND e.side = 'debit' THEN e.amount ELSE 0 END) AS qd,
			sum(CASE WHEN t.state = 'pending' AND e.side = 'credit' THEN e.amount ELSE 0 END) AS qc
		FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id
		WHERE t.state <> 'posted' GROUP BY e.account_id) u ON u.account_id = total.account_id`

// CheckLedger runs every check in one repeatable-read, read-only
// transaction: one snapshot, so a write landing between two checks cannot
// look like a breach.
func (s *Store) CheckLedger(ctx context.Context) ([]ledger.Breach, error) {
	var out []ledger.Breach
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			for _, c := range ledgerChecks {
				if c.needs != "" {
					var exists bool
					if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, c.needs).Scan(&exists); err != nil {
						return err
					}
					if !exists {
						continue
					}
				}
				rows, err := tx.Query(ctx, c.query+` LIMIT $1`, ledger.MaxBreaches+1)
				if err != nil {
					return fmt.Errorf("check %s: %w", c.name, err)
				}
				found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Breach, error) {
					var b ledger.Breach
					err := row.Scan(&b.Rule, &b.Ref, &b.Detail)
					return b, err
				})
				if err != nil {
					return fmt.Errorf("check %s: %w", c.name, err)
				}
				out = append(out, ledger.Capped(c.name, found)...)
			}
			return nil
		})
	return out, errs.Wrap(err, "ledger: check")
}
