package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
)

// postTransfers writes transfers inside tx: a domain store calls it in the
// transaction of the change the transfers account for. A transfer whose id
// is recorded already is skipped when identical (a retry) and refused with
// ledger.ErrConflict when not; an account that would go below what it may
// refuses with ledger.ErrInsufficient. A refused or failed call leaves
// nothing behind (it rolls back to a savepoint of its own), so even a caller
// that went on to commit could not commit half a transfer; the caller is
// still expected to roll back. SQLite has one writer, so the accounts need
// no lock order here; they are still updated sorted, like PostgreSQL's.
func postTransfers(ctx context.Context, tx *sql.Tx, ts []ledger.Transfer) error {
	fresh, err := newTransfers(ctx, tx, ts)
	if err != nil || len(fresh) == 0 {
		return err
	}
	return ledgerWrite(ctx, tx, func() error {
		// The accounts first: an unknown one is then reported as such, not
		// as an entry's broken foreign key.
		if err := moveAccounts(ctx, tx, ledger.Movements(fresh)); err != nil {
			return err
		}
		for _, t := range fresh {
			if err := insertTransfer(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// ledgerWrite runs write inside a savepoint of tx, rolled back if it fails.
func ledgerWrite(ctx context.Context, tx *sql.Tx, write func() error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT ledger_write`); err != nil {
		return err
	}
	if err := write(); err != nil {
		if _, rerr := tx.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO ledger_write`); rerr != nil {
			return errors.Join(err, rerr)
		}
		_, rerr := tx.ExecContext(context.WithoutCancel(ctx), `RELEASE ledger_write`)
		return errors.Join(err, rerr)
	}
	_, err := tx.ExecContext(ctx, `RELEASE ledger_write`)
	return err
}

func insertTransfer(ctx context.Context, tx *sql.Tx, t ledger.Transfer) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_transfers (id, kind, ref, state, amount, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, t.ID, t.Kind, t.Ref, t.State, t.Amount(), ts(t.CreatedAt)); err != nil {
		return err
	}
	for i, e := range t.Entries {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries
			(transfer_id, position, account_id, side, amount, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, i, e.Account, e.Side, e.Amount, ts(t.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// newTransfers validates ts and returns those not recorded yet, each once,
// stamped with a creation time.
func newTransfers(ctx context.Context, tx *sql.Tx, in []ledger.Transfer) ([]ledger.Transfer, error) {
	seen := map[string]ledger.Transfer{}
	var fresh []ledger.Transfer
	for _, t := range in {
		if err := ledger.Validate(t); err != nil {
			return nil, err
		}
		if prev, dup := seen[t.ID]; dup {
			if !ledger.Identical(prev, t) {
				return nil, fmt.Errorf("transfer %s twice in one call: %w", t.ID, ledger.ErrConflict)
			}
			continue
		}
		seen[t.ID] = t
		stored, err := loadTransfer(ctx, tx, t.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if t.CreatedAt.IsZero() {
				t.CreatedAt = time.Now()
			}
			fresh = append(fresh, t)
		case err != nil:
			return nil, err
		case !ledger.Identical(*stored, t):
			return nil, fmt.Errorf("transfer %s: %w", t.ID, ledger.ErrConflict)
		}
	}
	return fresh, nil
}

// moveAccounts applies movements to the accounts' running sums. The update
// is conditional: an account that may not go negative keeps its available
// balance (posted, less pending outflows) at zero or above, unless the
// movement does not lower it (so an account found below zero can still be
// paid into).
func moveAccounts(ctx context.Context, tx *sql.Tx, ms []ledger.Movement) error {
	for _, m := range ms {
		res, err := tx.ExecContext(ctx, `UPDATE ledger_accounts SET
				posted_debits = posted_debits + ?1, posted_credits = posted_credits + ?2,
				pending_debits = pending_debits + ?3, pending_credits = pending_credits + ?4
			WHERE id = ?5 AND (allow_negative
				OR CASE WHEN kind IN ('asset', 'expense') THEN ?1 - ?2 - ?4 ELSE ?2 - ?1 - ?3 END >= 0
				OR CASE WHEN kind IN ('asset', 'expense')
					THEN (posted_debits + ?1) - (posted_credits + ?2) - (pending_credits + ?4)
					ELSE (posted_credits + ?2) - (posted_debits + ?1) - (pending_debits + ?3) END >= 0)`,
			m.PostedDebits, m.PostedCredits, m.PendingDebits, m.PendingCredits, m.Account)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			continue
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM ledger_accounts WHERE id = ?`, m.Account).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return unknownAccount(m.Account)
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("account %s: %w", m.Account, ledger.ErrInsufficient)
	}
	return nil
}

func unknownAccount(id string) error {
	return errs.Field("entries", ledger.CodeAccountNotFound, "no ledger account %q", id)
}

// settleTransfers moves pending transfers to posted or voided inside tx, in
// the transaction of the change that confirms them (a refund's success).
// Settling one again to the state it has is a no-op; to the other, a
// conflict. Like postTransfers, a failed call leaves nothing behind.
// Settling never lowers an account's available balance (pending outflows
// counted already), so it is never refused for want of funds.
func settleTransfers(ctx context.Context, tx *sql.Tx, ids []string, to ledger.State, at time.Time) error {
	if to != ledger.Posted && to != ledger.Voided {
		return errs.Field("state", ledger.CodeInvalid, "a transfer settles to posted or voided, not %q", to)
	}
	return ledgerWrite(ctx, tx, func() error { return settle(ctx, tx, ids, to, at) })
}

func settle(ctx context.Context, tx *sql.Tx, ids []string, to ledger.State, at time.Time) error {
	var entries []ledger.Entry
	for _, id := range ids {
		t, err := loadTransfer(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("transfer %s: %w", id, ledger.ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch t.State {
		case to:
			continue
		case ledger.Pending:
		default:
			return fmt.Errorf("transfer %s is %s, cannot become %s: %w", id, t.State, to, ledger.ErrConflict)
		}
		// The state in the condition makes a settle that lost a race
		// change nothing (one writer makes that impossible today).
		res, err := tx.ExecContext(ctx, `UPDATE ledger_transfers SET state = ?, settled_at = ?
			WHERE id = ? AND state = 'pending'`, to, ts(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("transfer %s changed while settling: %w", id, ledger.ErrConflict)
		}
		entries = append(entries, t.Entries...)
	}
	return moveAccounts(ctx, tx, ledger.SettleMovements(entries, to))
}

// querier is what reads need: the writer's transaction or the reader pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadTransfer reads one transfer with its entries; sql.ErrNoRows if none.
func loadTransfer(ctx context.Context, q querier, id string) (*ledger.Transfer, error) {
	var (
		t       ledger.Transfer
		created int64
		settled sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT id, kind, ref, state, created_at, settled_at
		FROM ledger_transfers WHERE id = ?`, id).Scan(&t.ID, &t.Kind, &t.Ref, &t.State, &created, &settled)
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.SettledAt = fromTS(created), fromTSPtr(settled)
	rows, err := q.QueryContext(ctx, `SELECT account_id, side, amount FROM ledger_entries
		WHERE transfer_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e ledger.Entry
		if err := rows.Scan(&e.Account, &e.Side, &e.Amount); err != nil {
			return nil, err
		}
		t.Entries = append(t.Entries, e)
	}
	return &t, rows.Err()
}

// PostTransfers writes transfers in their own transaction.
func (s *Store) PostTransfers(ctx context.Context, tss ...ledger.Transfer) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return postTransfers(ctx, tx, tss) })
	return errs.Wrap(err, "ledger: post")
}

// SettleTransfer settles one pending transfer in its own transaction.
func (s *Store) SettleTransfer(ctx context.Context, id string, to ledger.State, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return settleTransfers(ctx, tx, []string{id}, to, at) })
	return errs.Wrap(err, "ledger: settle %s", id)
}

// Transfer reads one transfer.
func (s *Store) Transfer(ctx context.Context, id string) (*ledger.Transfer, error) {
	t, err := loadTransfer(ctx, s.r, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "ledger: read transfer %s", id)
	}
	return t, nil
}

// CreateAccount adds an account, or finds the identical one there.
func (s *Store) CreateAccount(ctx context.Context, a ledger.Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO ledger_accounts (id, name, kind, allow_negative, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, a.ID, a.Name, a.Kind, a.AllowNegative, ts(time.Now()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var got ledger.Account
		if err := tx.QueryRowContext(ctx, `SELECT id, name, kind, allow_negative FROM ledger_accounts WHERE id = ?`,
			a.ID).Scan(&got.ID, &got.Name, &got.Kind, &got.AllowNegative); err != nil {
			return err
		}
		if got != a {
			return fmt.Errorf("account %s: %w", a.ID, ledger.ErrAccountConflict)
		}
		return nil
	})
	return errs.Wrap(err, "ledger: create account %s", a.ID)
}

// Balances is the trial balance: every account with its sums, by id.
func (s *Store) Balances(ctx context.Context) ([]ledger.Balance, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, kind, allow_negative,
		posted_debits, posted_credits, pending_debits, pending_credits FROM ledger_accounts ORDER BY id`)
	if err != nil {
		return nil, errs.Wrap(err, "ledger: balances")
	}
	defer rows.Close()
	var out []ledger.Balance
	for rows.Next() {
		var b ledger.Balance
		if err := rows.Scan(&b.Account.ID, &b.Account.Name, &b.Account.Kind, &b.Account.AllowNegative,
			&b.PostedDebits, &b.PostedCredits, &b.PendingDebits, &b.PendingCredits); err != nil {
			return nil, errs.Wrap(err, "ledger: balances")
		}
		out = append(out, b)
	}
	return out, errs.Wrap(rows.Err(), "ledger: balances")
}

// Statement lists an account's entries from from (inclusive) to to
// (exclusive), newest first; a zero bound is open.
func (s *Store) Statement(ctx context.Context, account string, from, to time.Time, limit int) ([]ledger.Line, error) {
	limit = ledger.StatementLimit(limit)
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM ledger_accounts WHERE id = ?`, account).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ledger.ErrAccountNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "ledger: statement %s", account)
	}
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !from.IsZero() {
		lo = ts(from)
	}
	if !to.IsZero() {
		hi = ts(to)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT e.transfer_id, t.kind, t.ref, t.state, e.side, e.amount, e.created_at
		FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
		WHERE e.account_id = ? AND e.created_at >= ? AND e.created_at < ?
		ORDER BY e.created_at DESC, e.transfer_id DESC, e.position DESC LIMIT ?`, account, lo, hi, limit)
	if err != nil {
		return nil, errs.Wrap(err, "ledger: statement %s", account)
	}
	defer rows.Close()
	var out []ledger.Line
	for rows.Next() {
		var (
			l  ledger.Line
			at int64
		)
		if err := rows.Scan(&l.TransferID, &l.Kind, &l.Ref, &l.State, &l.Side, &l.Amount, &at); err != nil {
			return nil, errs.Wrap(err, "ledger: statement %s", account)
		}
		l.At = fromTS(at)
		out = append(out, l)
	}
	return out, errs.Wrap(rows.Err(), "ledger: statement %s", account)
}

// Settlement reports one business day from the posted transfers of the
// payment kinds, each counted on the day it was posted.
func (s *Store) Settlement(ctx context.Context, day time.Time) (ledger.Settlement, error) {
	start, end := ledger.BusinessDay(day)
	rows, err := s.r.QueryContext(ctx, `SELECT kind, count(*), sum(amount) FROM ledger_transfers
		WHERE kind IN ('payment', 'payment_fee', 'refund', 'refund_fee') AND state = 'posted'
			AND coalesce(settled_at, created_at) >= ? AND coalesce(settled_at, created_at) < ?
		GROUP BY kind`, ts(start), ts(end))
	if err != nil {
		return ledger.Settlement{}, errs.Wrap(err, "ledger: settlement")
	}
	defer rows.Close()
	sums := map[string]ledger.KindTotal{}
	for rows.Next() {
		var (
			kind string
			k    ledger.KindTotal
		)
		if err := rows.Scan(&kind, &k.Count, &k.Amount); err != nil {
			return ledger.Settlement{}, errs.Wrap(err, "ledger: settlement")
		}
		sums[kind] = k
	}
	if err := rows.Err(); err != nil {
		return ledger.Settlement{}, errs.Wrap(err, "ledger: settlement")
	}
	return ledger.NewSettlement(start, sums), nil
}

// LedgerStats counts the book.
func (s *Store) LedgerStats(ctx context.Context) (ledger.Stats, error) {
	var st ledger.Stats
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM ledger_transfers),
		(SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM ledger_accounts)`).
		Scan(&st.Transfers, &st.Entries, &st.Accounts)
	return st, errs.Wrap(err, "ledger: stats")
}
