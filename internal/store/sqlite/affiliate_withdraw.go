package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const withdrawalColumns = `id, promoter_id, amount, state, out_bill_no, bill_no, failure, package_info, decided_by, note,
	created_at, updated_at, finished_at`

func scanWithdrawal(row interface{ Scan(...any) error }) (*affiliate.Withdrawal, error) {
	var w affiliate.Withdrawal
	var created, updated int64
	var finished sql.NullInt64
	if err := row.Scan(&w.ID, &w.PromoterID, &w.Amount, &w.State, &w.OutBillNo, &w.BillNo, &w.Failure,
		&w.PackageInfo, &w.DecidedBy, &w.Note, &created, &updated, &finished); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt, w.FinishedAt = fromTS(created), fromTS(updated), fromTSPtr(finished)
	return &w, nil
}

func withdrawalOf(ctx context.Context, q querier, id string) (*affiliate.Withdrawal, error) {
	w, err := scanWithdrawal(q.QueryRowContext(ctx, `SELECT `+withdrawalColumns+` FROM affiliate_withdrawals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, affiliate.ErrWithdrawalNotFound
	}
	return w, err
}

func (s *Store) CreateWithdrawal(ctx context.Context, promoterID string, dayStart, dayEnd time.Time,
	plan func(p *affiliate.Promoter, e affiliate.Earnings, day affiliate.DayUse) (*affiliate.Withdrawal, affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.promoterWhere(ctx, tx, `id = ?`, promoterID)
		if err != nil {
			return err
		}
		e, err := earnings(ctx, tx, promoterID)
		if err != nil {
			return err
		}
		var day affiliate.DayUse
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM affiliate_withdrawals
			WHERE promoter_id = ? AND state NOT IN ('failed', 'rejected') AND created_at >= ? AND created_at < ?`,
			promoterID, ts(dayStart), ts(dayEnd)).Scan(&day.Count, &day.Amount); err != nil {
			return err
		}
		w, c, err := plan(p, e, day)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO affiliate_withdrawals (`+withdrawalColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.PromoterID, w.Amount, string(w.State), w.OutBillNo,
			w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, ts(w.CreatedAt), ts(w.UpdatedAt), tsPtr(w.FinishedAt)); err != nil {
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
	w, err := withdrawalOf(ctx, s.r, id)
	if err != nil && !errors.Is(err, affiliate.ErrWithdrawalNotFound) {
		return nil, errs.Wrap(err, "affiliate: withdrawal")
	}
	return w, err
}

func (s *Store) Withdrawals(ctx context.Context, f affiliate.WithdrawalFilter) (affiliate.WithdrawalPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("state", string(f.State))
	if err := n.after("affiliate_withdrawals", f.Cursor); err != nil {
		return affiliate.WithdrawalPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(withdrawalColumns, "affiliate_withdrawals", f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	defer rows.Close()
	ws := []affiliate.Withdrawal{}
	for rows.Next() {
		w, err := scanWithdrawal(rows)
		if err != nil {
			return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
		}
		ws = append(ws, *w)
	}
	if err := rows.Err(); err != nil {
		return affiliate.WithdrawalPage{}, errs.Wrap(err, "affiliate: withdrawals")
	}
	ws, next := cursor.Page("affiliate_withdrawals", ws, f.Limit, func(w *affiliate.Withdrawal) (int64, string) {
		return w.CreatedAt.UnixMicro(), w.ID
	})
	return affiliate.WithdrawalPage{Withdrawals: ws, NextCursor: next}, nil
}

func (s *Store) UpdateWithdrawal(ctx context.Context, id string, fn func(w *affiliate.Withdrawal) (affiliate.Change, error)) (*affiliate.Withdrawal, error) {
	var out *affiliate.Withdrawal
	err := s.tx(ctx, func(tx *sql.Tx) error {
		w, err := withdrawalOf(ctx, tx, id)
		if err != nil {
			return err
		}
		out = w
		c, err := fn(w)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE affiliate_withdrawals SET state = ?, bill_no = ?, failure = ?,
			package_info = ?, decided_by = ?, note = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
			string(w.State), w.BillNo, w.Failure, w.PackageInfo, w.DecidedBy, w.Note, ts(w.UpdatedAt),
			tsPtr(w.FinishedAt), id); err != nil {
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
