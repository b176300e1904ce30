package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
// still expected to roll back.
//
// One round trip however many transfers. A store whose change can commit in
// the same batch queues queuePostTransfers there instead and reads its error
// with ledgerRefusal.
func postTransfers(ctx context.Context, tx pgx.Tx, ts []ledger.Transfer) error {
	in, err := distinctTransfers(ts)
	if err != nil || len(in) == 0 {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + ledgerSavepoint)
	queuePostTransfers(b, in)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return undoLedgerWrite(ctx, tx, ledgerRefusal(err))
	}
	return nil
}

// ledgerSavepoint marks where a ledger write began, for undoLedgerWrite.
const ledgerSavepoint = "ledger_write"

// undoLedgerWrite rolls tx back to where the ledger write began: after a
// refusal the transaction is usable and clean, after an SQL error no longer
// aborted.
func undoLedgerWrite(ctx context.Context, tx pgx.Tx, err error) error {
	if _, rerr := tx.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT "+ledgerSavepoint); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// The SQLSTATEs siyu_post_transfers and siyu_move_accounts raise
// (migrations 0007 and 0014), each with the transfer or account concerned
// as the detail.
const (
	transferConflictCode   = "SY002"
	accountRefusedCode     = "SY003"
	entryAccountForeignKey = "ledger_entries_account_id_fkey"
)

// ledgerRefusal turns what siyu_post_transfers raised into the ledger's
// errors; any other error comes back as it is.
func ledgerRefusal(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.Code == transferConflictCode:
		return fmt.Errorf("transfer %s: %w", pe.Detail, ledger.ErrConflict)
	case pe.Code == accountRefusedCode:
		return fmt.Errorf("account %s: %w", pe.Detail, ledger.ErrInsufficient)
	case pe.Code == "23503" && pe.ConstraintName == entryAccountForeignKey:
		return errs.Field("entries", ledger.CodeAccountNotFound, "an entry names no ledger account: %s", pe.Detail)
	}
	return err
}

// queuePostTransfers queues one call of siyu_post_transfers (migrations
// 0007 and 0014) writing in, which distinctTransfers has checked and sorted,
// with the accounts' movements summed here. A refusal is an SQL error that
// aborts the transaction: the batch's later statements, a COMMIT among
// them, do not run.
//
// The call takes the ledger lock only when it may lower an account that may
// not go negative (a refund, a spend). A capture only adds to its three
// accounts, so it appends its movements without locking them, and captures
// commit side by side instead of one after another.
func queuePostTransfers(b *pgx.Batch, in []ledger.Transfer) {
	var (
		tid, kind, ref, state, born []string
		amount                      []int64
		created                     []time.Time
		eTID, eAccount, eSide       []string
		ePos                        []int32
		eAmount                     []int64
	)
	now := time.Now()
	for _, t := range in {
		if t.CreatedAt.IsZero() {
			t.CreatedAt = now
		}
		tid, kind, ref = append(tid, t.ID), append(kind, t.Kind), append(ref, t.Ref)
		state, born = append(state, string(t.State)), append(born, string(t.Born()))
		amount, created = append(amount, int64(t.Amount())), append(created, t.CreatedAt)
		for i, e := range t.Entries {
			eTID, ePos, eAccount = append(eTID, t.ID), append(ePos, int32(i)), append(eAccount, e.Account)
			eSide, eAmount = append(eSide, string(e.Side)), append(eAmount, int64(e.Amount))
		}
	}
	accounts, pd, pc, qd, qc := movementArrays(ledger.Movements(in))
	b.Queue(`SELECT siyu_post_transfers($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		tid, kind, ref, state, born, amount, created, eTID, ePos, eAccount, eSide, eAmount, accounts, pd, pc, qd, qc)
}

// movementArrays is ms as siyu_move_accounts takes them: the accounts, then
// their posted debits and credits and pending debits and credits.
func movementArrays(ms []ledger.Movement) (accounts []string, pd, pc, qd, qc []int64) {
	for _, m := range ms {
		accounts = append(accounts, m.Account)
		pd, pc = append(pd, int64(m.PostedDebits)), append(pc, int64(m.PostedCredits))
		qd, qc = append(qd, int64(m.PendingDebits)), append(qc, int64(m.PendingCredits))
	}
	return accounts, pd, pc, qd, qc
}

// distinctTransfers validates ts and drops repeats of one id within the
// call, refusing a repeat that differs. They come back sorted by id, the
// order their rows are inserted and so locked: two calls writing some of
// the same new ids then queue instead of deadlocking.
func distinctTransfers(ts []ledger.Transfer) ([]ledger.Transfer, error) {
	seen := make(map[string]ledger.Transfer, len(ts))
	out := make([]ledger.Transfer, 0, len(ts))
	for _, t := range ts {
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
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b ledger.Transfer) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// queueMoveAccounts queues one call of siyu_move_accounts (migration 0014)
// applying ms, sorted by ledger.Movements. A movement that cannot lower its
// account's available balance is appended without a lock. One that can
// lower an account that may not go negative takes the ledger lock and the
// account, and is refused (SQLSTATE SY003, ledger.ErrInsufficient, which
// aborts the transaction) if it would take the account below zero.
func queueMoveAccounts(b *pgx.Batch, ms []ledger.Movement) {
	accounts, pd, pc, qd, qc := movementArrays(ms)
	b.Queue(`SELECT siyu_move_accounts($1, $2, $3, $4, $5)`, accounts, pd, pc, qd, qc)
}

// settleTransfers moves pending transfers to posted or voided inside tx, in
// the transaction of the change that confirms them (a refund's success).
// Settling one again to the state it has is a no-op; to the other, a
// conflict. Like postTransfers, a failed call leaves nothing behind. The
// transfers are locked in id order. Settling never lowers an account's
// available balance (pending outflows counted already), so it cannot be
// refused for want of funds, and siyu_move_accounts appends its movements
// without the ledger lock.
func settleTransfers(ctx context.Context, tx pgx.Tx, ids []string, to ledger.State, at time.Time) error {
	if to != ledger.Posted && to != ledger.Voided {
		return errs.Field("state", ledger.CodeInvalid, "a transfer settles to posted or voided, not %q", to)
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id, state FROM ledger_transfers WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	states := map[string]ledger.State{}
	var (
		id    string
		state ledger.State
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error { states[id] = state; return nil }); err != nil {
		return err
	}
	var pending []string
	for _, id := range ids {
		switch st, ok := states[id]; {
		case !ok:
			return fmt.Errorf("transfer %s: %w", id, ledger.ErrNotFound)
		case st == to:
		case st == ledger.Pending:
			pending = append(pending, id)
			states[id] = to // a repeat of the id later in ids is then a no-op
		default:
			return fmt.Errorf("transfer %s is %s, cannot become %s: %w", id, st, to, ledger.ErrConflict)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	rows, err = tx.Query(ctx, `SELECT account_id, side, amount FROM ledger_entries WHERE transfer_id = ANY($1)`, pending)
	if err != nil {
		return err
	}
	entries, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + ledgerSavepoint)
	b.Queue(`UPDATE ledger_transfers SET state = $1, settled_at = $2 WHERE id = ANY($3)`, to, at, pending)
	queueMoveAccounts(b, ledger.SettleMovements(entries, to))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return undoLedgerWrite(ctx, tx, ledgerRefusal(err))
	}
	return nil
}

func scanEntry(row pgx.CollectableRow) (ledger.Entry, error) {
	var e ledger.Entry
	err := row.Scan(&e.Account, &e.Side, &e.Amount)
	return e, err
}

// querier is what reads need: a transaction or the pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadTransfers reads transfers with their entries, in one query.
func loadTransfers(ctx context.Context, q querier, ids []string) (map[string]*ledger.Transfer, error) {
	rows, err := q.Query(ctx, `SELECT t.id, t.kind, t.ref, t.state, t.created_at, t.settled_at,
			e.account_id, e.side, e.amount
		FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id
		WHERE t.id = ANY($1) ORDER BY t.id, e.position`, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]*ledger.Transfer{}
	var (
		r ledger.Transfer
		e ledger.Entry
	)
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Kind, &r.Ref, &r.State, &r.CreatedAt, &r.SettledAt,
		&e.Account, &e.Side, &e.Amount}, func() error {
		t := out[r.ID]
		if t == nil {
			t = &ledger.Transfer{ID: r.ID, Kind: r.Kind, Ref: r.Ref, State: r.State, CreatedAt: r.CreatedAt.UTC()}
			if r.SettledAt != nil {
				at := r.SettledAt.UTC()
				t.SettledAt = &at
			}
			out[r.ID] = t
		}
		t.Entries = append(t.Entries, e)
		return nil
	})
	return out, err
}

// PostTransfers writes transfers in their own transaction.
func (s *Store) PostTransfers(ctx context.Context, ts ...ledger.Transfer) error {
	err := s.tx(ctx, func(tx pgx.Tx) error { return postTransfers(ctx, tx, ts) })
	return errs.Wrap(err, "ledger: post")
}

// SettleTransfer settles one pending transfer in its own transaction.
func (s *Store) SettleTransfer(ctx context.Context, id string, to ledger.State, at time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error { return settleTransfers(ctx, tx, []string{id}, to, at) })
	return errs.Wrap(err, "ledger: settle %s", id)
}

// Transfer reads one transfer.
func (s *Store) Transfer(ctx context.Context, id string) (*ledger.Transfer, error) {
	got, err := loadTransfers(ctx, s.pool, []string{id})
	if err != nil {
		return nil, errs.Wrap(err, "ledger: read transfer %s", id)
	}
	t, ok := got[id]
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return t, nil
}

// CreateAccount adds an account, or finds the identical one there.
func (s *Store) CreateAccount(ctx context.Context, a ledger.Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	// The insert that conflicts returns nothing; the select in the same
	// statement cannot see a row committed after its snapshot, so a lost
	// race reads the winner in a second statement.
	ct, err := s.pool.Exec(ctx, `INSERT INTO ledger_accounts (id, name, kind, allow_negative)
		VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, a.ID, a.Name, a.Kind, a.AllowNegative)
	if err != nil {
		return errs.Wrap(err, "ledger: create account %s", a.ID)
	}
	if ct.RowsAffected() == 1 {
		return nil
	}
	var got ledger.Account
	if err := s.pool.QueryRow(ctx, `SELECT id, name, kind, allow_negative FROM ledger_accounts WHERE id = $1`,
		a.ID).Scan(&got.ID, &got.Name, &got.Kind, &got.AllowNegative); err != nil {
		return errs.Wrap(err, "ledger: create account %s", a.ID)
	}
	if got != a {
		return fmt.Errorf("account %s: %w", a.ID, ledger.ErrAccountConflict)
	}
	return nil
}

// Balances is the trial balance: every account with its sums, by id, each
// its row's plus the deltas not yet folded into it (ledger_balances,
// migration 0014).
func (s *Store) Balances(ctx context.Context) ([]ledger.Balance, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, kind, allow_negative,
		posted_debits, posted_credits, pending_debits, pending_credits FROM ledger_balances ORDER BY id`)
	if err != nil {
		return nil, errs.Wrap(err, "ledger: balances")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Balance, error) {
		var b ledger.Balance
		err := row.Scan(&b.Account.ID, &b.Account.Name, &b.Account.Kind, &b.Account.AllowNegative,
			&b.PostedDebits, &b.PostedCredits, &b.PendingDebits, &b.PendingCredits)
		return b, err
	})
	return out, errs.Wrap(err, "ledger: balances")
}

// Statement lists an account's entries from from (inclusive) to to
// (exclusive), newest first; a zero bound is open.
func (s *Store) Statement(ctx context.Context, account string, from, to time.Time, limit int) ([]ledger.Line, error) {
	limit = ledger.StatementLimit(limit)
	// Open bounds become far ones, so the query is always one index range.
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if !from.IsZero() {
		lo = from
	}
	if !to.IsZero() {
		hi = to
	}
	b := &pgx.Batch{}
	var exists bool
	b.Queue(`SELECT EXISTS (SELECT 1 FROM ledger_accounts WHERE id = $1)`, account).
		QueryRow(func(row pgx.Row) error { return row.Scan(&exists) })
	var out []ledger.Line
	b.Queue(`SELECT e.transfer_id, t.kind, t.ref, t.state, e.side, e.amount, e.created_at
		FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
		WHERE e.account_id = $1 AND e.created_at >= $2 AND e.created_at < $3
		ORDER BY e.created_at DESC, e.transfer_id DESC, e.position DESC LIMIT $4`, account, lo, hi, limit).
		Query(func(rows pgx.Rows) error {
			var err error
			out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Line, error) {
				var l ledger.Line
				err := row.Scan(&l.TransferID, &l.Kind, &l.Ref, &l.State, &l.Side, &l.Amount, &l.At)
				l.At = l.At.UTC()
				return l, err
			})
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, errs.Wrap(err, "ledger: statement %s", account)
	}
	if !exists {
		return nil, ledger.ErrAccountNotFound
	}
	return out, nil
}

// Settlement reports one business day from the posted transfers of the
// payment kinds, each counted on the day it was posted.
func (s *Store) Settlement(ctx context.Context, day time.Time) (ledger.Settlement, error) {
	start, end := ledger.BusinessDay(day)
	rows, err := s.pool.Query(ctx, `SELECT kind, count(*), sum(amount) FROM ledger_transfers
		WHERE kind IN ('payment', 'payment_fee', 'refund', 'refund_fee') AND state = 'posted'
			AND coalesce(settled_at, created_at) >= $1 AND coalesce(settled_at, created_at) < $2
		GROUP BY kind`, start, end)
	if err != nil {
		return ledger.Settlement{}, errs.Wrap(err, "ledger: settlement")
	}
	sums := map[string]ledger.KindTotal{}
	var (
		kind string
		k    ledger.KindTotal
	)
	if _, err := pgx.ForEachRow(rows, []any{&kind, &k.Count, &k.Amount}, func() error {
		sums[kind] = k
		return nil
	}); err != nil {
		return ledger.Settlement{}, errs.Wrap(err, "ledger: settlement")
	}
	return ledger.NewSettlement(start, sums), nil
}

// LedgerStats counts the book.
func (s *Store) LedgerStats(ctx context.Context) (ledger.Stats, error) {
	var st ledger.Stats
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_transfers),
		(SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM ledger_accounts)`).
		Scan(&st.Transfers, &st.Entries, &st.Accounts)
	return st, errs.Wrap(err, "ledger: stats")
}
