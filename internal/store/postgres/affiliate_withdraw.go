package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const withdrawalColumns = `id::text, promoter_id::text, amount, state, out_bill_no, bill_no, failure, package_info, decided_by, note,
	created_at, updated_at, finished_at`

func scanWithdrawal(row pgx.Row) (*affiliate.Withdrawal, error) {
	var w affiliate.Withdrawal
	if err := row.Scan(&w.ID, &w.PromoterID, &w.Amount, &w.State, &w.OutBillNo, &w.BillNo, &w.Failure,
		&w.PackageInfo, &w.DecidedBy, &w.Note, &w.CreatedAt, &w.UpdatedAt, &w.FinishedAt); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt, w.FinishedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC(), utcPtr(w.FinishedAt)
	return &w, nil
}

func (s *Store) CreateWithdrawal(ctx context.Context, promoterID string, dayStart, dayEnd time.Time,
	plan func(p *affiliate.Promoter, e affiliate.Earnings, day affiliate.DayUse) (*affiliate.Withdrawal, affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	if !ids.Valid(promoterID) {
		return nil, affiliate.ErrNotPromoter
	}
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The promoter's row is the lock: two withdrawals of one promoter
		// queue, so they cannot both spend one balance or one day's limit.
		p, err := promoterWhere(ctx, tx, `id = $1 FOR UPDATE`, promoterID)
		if err != nil {
			return err
		}
		e, err := earnings(ctx, tx, promoterID)
		if err != nil {
			return err
		}
		var day affiliate.DayUse
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount), 0)::bigint FROM affiliate_withdrawals
			WHERE promoter_id = $1 AND state NOT IN ('failed', 'rejected') AND created_at >= $2 AND created_at < $3`,
			promoterID, dayStart, dayEnd).Scan(&day.Count, &day.Amount); err != nil {
			return err
		}
		w, c, err := plan(p, e, day)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO affiliate_withdrawals (id, promoter_id, amount, state, out_bill_no, bill_no,
			failure, package_info, decided_by, note, created_at, updated_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, w.ID, w.PromoterID, int64(w.Amount),
			string(w.State), w.OutBillNo, w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, w.CreatedAt,
			w.UpdatedAt, w.FinishedAt); err != nil {
			return err
		}
		out = w
		return writeAffiliateChange(ctx, tx, c)
	})
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: withdraw")
	}
	return out, nil
}

func (s *Store) Withdrawal(ctx context.Context, id string) (*affiliate.Withdrawal, error) {
	if !ids.Valid(id) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	w, err := scanWithdrawal(s.pool.QueryRow(ctx, `SELECT `+withdrawalColumns+` FROM affiliate_withdrawals WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	return w, errs.Wrap(err, "affiliate: withdrawal")
}

func (s *Store) Withdrawals(ctx context.Context, f affiliate.WithdrawalFilter) (affiliate.WithdrawalPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	if f.PromoterID != "" && !ids.Valid(f.PromoterID) {
		return affiliate.WithdrawalPage{Withdrawals: []affiliate.Withdrawal{}}, nil
	}
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("state", string(f.State))
	if err := n.after("affiliate_withdrawals", f.Cursor); err != nil {
		return affiliate.WithdrawalPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(withdrawalColumns, "affiliate_withdrawals", f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.Withdrawal, error) {
		w, err := scanWithdrawal(r)
		if err != nil {
			return affiliate.Withdrawal{}, err
		}
		return *w, nil
	})
	if err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	ws, next := cursor.Page("affiliate_withdrawals", ws, f.Limit, func(w *affiliate.Withdrawal) (int64, string) {
		return w.CreatedAt.UnixMicro(), w.ID
	})
	if ws == nil {
		ws = []affiliate.Withdrawal{}
	}
	return affiliate.WithdrawalPage{Withdrawals: ws, NextCursor: next}, nil
}

func (s *Store) UpdateWithdrawal(ctx context.Context, id string, fn func(w *affiliate.Withdrawal) (affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	if !ids.Valid(id) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx pgx.Tx) error {
		w, err := scanWithdrawal(tx.QueryRow(ctx, `SELECT `+withdrawalColumns+` FROM affiliate_withdrawals WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return affiliate.ErrWithdrawalNotFound
		}
		if err != nil {
			return err
		}
		out = w
		c, err := fn(w)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE affiliate_withdrawals SET state = $1, bill_no = $2, failure = $3,
			package_info = $4, decided_by = $5, note = $6, updated_at = $7, finished_at = $8 WHERE id = $9`,
			string(w.State), w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, w.UpdatedAt, w.FinishedAt, id); err != nil {
			return err
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	if errors.Is(err, affiliate.ErrNoop) {
		err = nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: update withdrawal")
	}
	return out, nil
}
