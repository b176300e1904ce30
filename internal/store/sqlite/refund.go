package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// refundDB is what refund reads need: the writer's transaction or the
// reader pool.
type refundDB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// refundColumns are read in the order queryRefunds scans them.
const refundColumns = `id, order_id, buyer_id, payment_id, coalesce(aftersale_id, ''), out_trade_no, out_refund_no,
	key, source, reason, shipping, amount, fee, total, full_refund, return_goods, state, platform_refund_id,
	failure, resolution, note, operator, created_at, updated_at, sent_at, finished_at`

const refundCursorOrder = "refunds_newest"

// CreateRefund records a refund's intent in one immediate transaction. The
// one writer serialises it against every other write, so the position it
// plans from cannot change before the conditional updates that reserve the
// refund's amounts; those updates still refuse to pass the limits, as the
// last line of defence of invariant 3.
func (s *Store) CreateRefund(ctx context.Context, in refund.Intent, plan refund.Plan) (*refund.Refund, error) {
	if !ids.Valid(in.Paid.OrderID) {
		return nil, order.ErrNotFound
	}
	var out *refund.Refund
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if in.Key != "" {
			r, err := loadRefund(ctx, tx, `key = ?`, in.Key)
			if err == nil {
				out = r
				return nil
			}
			if !errors.Is(err, refund.ErrNotFound) {
				return err
			}
		}
		if err := ensurePosition(ctx, tx, in.Paid); err != nil {
			return err
		}
		p, err := loadPosition(ctx, tx, in.Paid.OrderID)
		if err != nil {
			return err
		}
		var a *refund.AfterSale
		if in.AfterSaleID != "" {
			if a, err = loadAfterSale(ctx, tx, in.AfterSaleID); err != nil {
				return err
			}
			if a.OrderID != p.OrderID {
				return refund.ErrAfterSaleNotFound
			}
		}
		r, c, err := plan(p, a)
		if err != nil {
			return err
		}
		if err := insertRefund(ctx, tx, r); err != nil {
			return err
		}
		if err := holdRefund(ctx, tx, r); err != nil {
			return err
		}
		if a != nil {
			if err := saveAfterSale(ctx, tx, a); err != nil {
				return err
			}
		}
		if err := writeRefundChange(ctx, tx, r, c); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, errs.Wrap(err, "refund: create for order %s", in.Paid.OrderID)
	}
	return out, nil
}

func insertRefund(ctx context.Context, tx *sql.Tx, r *refund.Refund) error {
	var afterSale any
	if r.AfterSaleID != "" {
		afterSale = r.AfterSaleID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO refunds (id, order_id, buyer_id, payment_id, aftersale_id,
			out_trade_no, out_refund_no, key, source, reason, shipping, amount, fee, total, full_refund, return_goods,
			state, platform_refund_id, failure, resolution, note, operator, created_at, updated_at, sent_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrderID, r.BuyerID, r.PaymentID, afterSale, r.OutTradeNo, r.OutRefundNo, r.Key, r.Source, r.Reason,
		r.Shipping, r.Amount, r.Fee, r.Total, r.Full, r.Return, r.State, r.PlatformRefundID, r.Failure,
		r.Resolution, r.Note, r.Operator, ts(r.CreatedAt), ts(r.UpdatedAt), tsPtr(r.SentAt), tsPtr(r.FinishedAt)); err != nil {
		return err
	}
	for i, l := range r.Lines {
		if _, err := tx.ExecContext(ctx, `INSERT INTO refund_lines (refund_id, position, order_line_id, sku_id, qty, amount)
			VALUES (?, ?, ?, ?, ?, ?)`, r.ID, i, l.OrderLineID, l.SKUID, l.Qty, l.Amount); err != nil {
			return err
		}
	}
	return nil
}

// saveRefund writes what may change after the intent; amounts and lines
// are fixed when it is recorded.
func saveRefund(ctx context.Context, tx *sql.Tx, r *refund.Refund) error {
	_, err := tx.ExecContext(ctx, `UPDATE refunds SET state = ?, platform_refund_id = ?, failure = ?, resolution = ?,
			note = ?, operator = ?, updated_at = ?, sent_at = ?, finished_at = ?
		WHERE id = ?`,
		r.State, r.PlatformRefundID, r.Failure, r.Resolution, r.Note, r.Operator, ts(r.UpdatedAt),
		tsPtr(r.SentAt), tsPtr(r.FinishedAt), r.ID)
	return err
}

// writeRefundChange writes what goes with a refund's change: the ledger
// settlements first (a payout spends what posting the refund's transfer
// puts in refunds payable), then the new transfers, events and jobs.
func writeRefundChange(ctx context.Context, tx *sql.Tx, r *refund.Refund, c refund.Change) error {
	if len(c.Post) > 0 {
		if err := settleTransfers(ctx, tx, c.Post, ledger.Posted, r.UpdatedAt); err != nil {
			return err
		}
	}
	if len(c.Void) > 0 {
		if err := settleTransfers(ctx, tx, c.Void, ledger.Voided, r.UpdatedAt); err != nil {
			return err
		}
	}
	if err := postTransfers(ctx, tx, c.Transfers); err != nil {
		return err
	}
	if err := insertEvents(ctx, tx, c.Events); err != nil {
		return err
	}
	return insertJobs(ctx, tx, c.Jobs)
}

// UpdateRefund runs fn on the refund inside an immediate transaction: the
// one writer is the lock on the order's position, the refund and its
// after-sale that PostgreSQL takes row by row.
func (s *Store) UpdateRefund(ctx context.Context, outRefundNo string, fn func(r *refund.Refund, a *refund.AfterSale) (refund.Change, error)) (*refund.Refund, error) {
	var saved *refund.Refund
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := loadRefund(ctx, tx, `out_refund_no = ?`, outRefundNo)
		if err != nil {
			return err
		}
		var a *refund.AfterSale
		if r.AfterSaleID != "" {
			if a, err = loadAfterSale(ctx, tx, r.AfterSaleID); err != nil {
				return err
			}
		}
		before := *r
		c, err := fn(r, a)
		if errors.Is(err, refund.ErrNoop) {
			saved = &before
			return nil
		}
		if err != nil {
			return err
		}
		if err := saveRefund(ctx, tx, r); err != nil {
			return err
		}
		if c.Release {
			if err := releaseRefund(ctx, tx, r); err != nil {
				return err
			}
		}
		if a != nil {
			if err := saveAfterSale(ctx, tx, a); err != nil {
				return err
			}
		}
		if err := writeRefundChange(ctx, tx, r, c); err != nil {
			return err
		}
		saved = r
		return nil
	})
	if err != nil {
		return nil, errs.Wrap(err, "refund: update %s", outRefundNo)
	}
	return saved, nil
}

// Refund reads one refund.
func (s *Store) Refund(ctx context.Context, id string) (*refund.Refund, error) {
	if !ids.Valid(id) {
		return nil, refund.ErrNotFound
	}
	r, err := loadRefund(ctx, s.r, `id = ?`, id)
	return r, errs.Wrap(err, "refund: read %s", id)
}

// RefundByOutRefundNo reads the refund with a platform number.
func (s *Store) RefundByOutRefundNo(ctx context.Context, outRefundNo string) (*refund.Refund, error) {
	r, err := loadRefund(ctx, s.r, `out_refund_no = ?`, outRefundNo)
	return r, errs.Wrap(err, "refund: read %s", outRefundNo)
}

// Refunds lists refunds newest first, by keyset on (created_at, id).
func (s *Store) Refunds(ctx context.Context, f refund.RefundFilter) (refund.RefundPage, error) {
	limit := min(max(f.Limit, 1), refund.MaxLimit)
	if f.Limit <= 0 {
		limit = refund.DefaultLimit
	}
	var n newest
	n.eq("order_id", f.OrderID)
	n.eq("state", string(f.State))
	if err := n.after(refundCursorOrder, f.Cursor); err != nil {
		return refund.RefundPage{}, refund.ErrBadCursor
	}
	q, args := n.query(refundColumns, "refunds", limit)
	rs, err := queryRefunds(ctx, s.r, q, args...)
	if err != nil {
		return refund.RefundPage{}, errs.Wrap(err, "refund: list")
	}
	var page refund.RefundPage
	page.Refunds, page.NextCursor = cursor.Page(refundCursorOrder, rs, limit, func(r *refund.Refund) (int64, string) {
		return r.CreatedAt.UnixMicro(), r.ID
	})
	return page, nil
}

// loadRefund reads the one refund matching where; refund.ErrNotFound if
// none.
func loadRefund(ctx context.Context, db refundDB, where string, arg any) (*refund.Refund, error) {
	rs, err := queryRefunds(ctx, db, `SELECT `+refundColumns+` FROM refunds WHERE `+where, arg)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, refund.ErrNotFound
	}
	return &rs[0], nil
}

// queryRefunds reads refunds and then their lines, in a second query.
func queryRefunds(ctx context.Context, db refundDB, q string, args ...any) ([]refund.Refund, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []refund.Refund
	for rows.Next() {
		var (
			r                    refund.Refund
			created, updated     int64
			sentAt, finishedAt   sql.NullInt64
			source, state, resol string
		)
		if err := rows.Scan(&r.ID, &r.OrderID, &r.BuyerID, &r.PaymentID, &r.AfterSaleID, &r.OutTradeNo, &r.OutRefundNo,
			&r.Key, &source, &r.Reason, &r.Shipping, &r.Amount, &r.Fee, &r.Total, &r.Full, &r.Return, &state,
			&r.PlatformRefundID, &r.Failure, &resol, &r.Note, &r.Operator, &created, &updated, &sentAt, &finishedAt); err != nil {
			return nil, err
		}
		r.Source, r.State, r.Resolution = refund.Source(source), refund.State(state), refund.Resolution(resol)
		r.CreatedAt, r.UpdatedAt = fromTS(created), fromTS(updated)
		r.SentAt, r.FinishedAt = fromTSPtr(sentAt), fromTSPtr(finishedAt)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(out) == 0 {
		return nil, nil
	}
	refundIDs := make([]any, len(out))
	for i, r := range out {
		refundIDs[i] = r.ID
	}
	lines, err := db.QueryContext(ctx, `SELECT refund_id, order_line_id, sku_id, qty, amount FROM refund_lines
		WHERE refund_id IN (?`+strings.Repeat(", ?", len(refundIDs)-1)+`) ORDER BY refund_id, position`, refundIDs...)
	if err != nil {
		return nil, err
	}
	defer lines.Close()
	byRefund := map[string][]refund.Line{}
	for lines.Next() {
		var (
			id string
			l  refund.Line
		)
		if err := lines.Scan(&id, &l.OrderLineID, &l.SKUID, &l.Qty, &l.Amount); err != nil {
			return nil, err
		}
		byRefund[id] = append(byRefund[id], l)
	}
	for i := range out {
		out[i].Lines = byRefund[out[i].ID]
	}
	return out, lines.Err()
}

// RestockReturn puts a refund's units back on hand once per refund: the
// refund_restocks row is the key, inserted in the same transaction as the
// stock it guards. A SKU deleted since the sale has no level to go back to
// and is skipped.
func (s *Store) RestockReturn(ctx context.Context, refundID string, ms []inventory.Movement) (bool, error) {
	if !ids.Valid(refundID) {
		return false, refund.ErrNotFound
	}
	done := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var at int64
		if len(ms) > 0 {
			at = ts(ms[0].At)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO refund_restocks (refund_id, at)
			SELECT id, ? FROM refunds WHERE id = ? ON CONFLICT (refund_id) DO NOTHING`, at, refundID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for _, m := range ms {
			var onHand, reserved int64
			err := tx.QueryRowContext(ctx, stockAddSQL, sql.Named("sku", m.SKUID), sql.Named("loc", m.Location),
				sql.Named("delta", m.OnHandDelta), sql.Named("at", ts(m.At))).Scan(&onHand, &reserved)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO stock_movements
				(id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
				VALUES (?, ?, ?, ?, 0, ?, ?, ?)`,
				m.ID, m.SKUID, m.Location, m.OnHandDelta, m.Reason, m.Ref, ts(m.At)); err != nil {
				return err
			}
		}
		done = true
		return nil
	})
	if err != nil {
		return false, errs.Wrap(err, "refund: restock %s", refundID)
	}
	return done, nil
}
