package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// refundDB is what refund reads need: a transaction or the pool.
type refundDB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// refundColumns are read in the order queryRefunds scans them.
const refundColumns = `id, order_id, buyer_id, payment_id, coalesce(aftersale_id::text, ''), out_trade_no, out_refund_no,
	key, source, reason, shipping, amount, fee, total, full_refund, return_goods, state, platform_refund_id,
	failure, resolution, note, operator, created_at, updated_at, sent_at, finished_at`

const refundCursorOrder = "refunds_newest"

// CreateRefund records a refund's intent in one transaction. It creates the
// order's position if this is its first refund and locks it (FOR UPDATE):
// every refund write on the order takes that lock first, so the position
// the plan reads cannot change before the conditional updates that reserve
// the refund's amounts, which still refuse to pass the limits as the last
// line of defence of invariant 3. A keyed refund is looked for under the
// lock, so two starts with one key find each other.
func (s *Store) CreateRefund(ctx context.Context, in refund.Intent, plan refund.Plan) (*refund.Refund, error) {
	if !ids.Valid(in.Paid.OrderID) {
		return nil, order.ErrNotFound
	}
	var out *refund.Refund
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := ensurePosition(ctx, tx, in.Paid); err != nil {
			return err
		}
		if in.Key != "" {
			r, err := loadRefund(ctx, tx, `key = $1`, in.Key)
			if err == nil {
				out = r
				return nil
			}
			if !errors.Is(err, refund.ErrNotFound) {
				return err
			}
		}
		p, err := loadPosition(ctx, tx, in.Paid.OrderID)
		if err != nil {
			return err
		}
		var a *refund.AfterSale
		if in.AfterSaleID != "" {
			if !ids.Valid(in.AfterSaleID) {
				return refund.ErrAfterSaleNotFound
			}
			if a, err = loadAfterSale(ctx, tx, in.AfterSaleID, "FOR UPDATE"); err != nil {
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

func insertRefund(ctx context.Context, tx pgx.Tx, r *refund.Refund) error {
	var afterSale any
	if r.AfterSaleID != "" {
		afterSale = r.AfterSaleID
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO refunds (id, order_id, buyer_id, payment_id, aftersale_id,
			out_trade_no, out_refund_no, key, source, reason, shipping, amount, fee, total, full_refund, return_goods,
			state, platform_refund_id, failure, resolution, note, operator, created_at, updated_at, sent_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`,
		r.ID, r.OrderID, r.BuyerID, r.PaymentID, afterSale, r.OutTradeNo, r.OutRefundNo, r.Key, string(r.Source), r.Reason,
		r.Shipping, r.Amount, r.Fee, r.Total, r.Full, r.Return, string(r.State), r.PlatformRefundID, r.Failure,
		string(r.Resolution), r.Note, r.Operator, r.CreatedAt, r.UpdatedAt, r.SentAt, r.FinishedAt)
	for i, l := range r.Lines {
		b.Queue(`INSERT INTO refund_lines (refund_id, position, order_line_id, sku_id, qty, amount)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, i, l.OrderLineID, l.SKUID, l.Qty, l.Amount)
	}
	return tx.SendBatch(ctx, b).Close()
}

// saveRefund writes what may change after the intent; amounts and lines
// are fixed when it is recorded.
func saveRefund(ctx context.Context, tx pgx.Tx, r *refund.Refund) error {
	_, err := tx.Exec(ctx, `UPDATE refunds SET state = $1, platform_refund_id = $2, failure = $3, resolution = $4,
			note = $5, operator = $6, updated_at = $7, sent_at = $8, finished_at = $9
		WHERE id = $10`,
		string(r.State), r.PlatformRefundID, r.Failure, string(r.Resolution), r.Note, r.Operator, r.UpdatedAt,
		r.SentAt, r.FinishedAt, r.ID)
	return err
}

// writeRefundChange writes what goes with a refund's change: the ledger
// settlements first (a payout spends what posting the refund's transfer
// puts in refunds payable), then the new transfers, events and jobs.
func writeRefundChange(ctx context.Context, tx pgx.Tx, r *refund.Refund, c refund.Change) error {
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
	if len(c.Events) == 0 && len(c.Jobs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueEvents(b, c.Events)
	queueJobs(b, c.Jobs)
	return tx.SendBatch(ctx, b).Close()
}

// UpdateRefund locks, in the one order every refund write uses, the order's
// position, then the refund, then its after-sale, lets fn decide, and
// writes everything in the same transaction. The refund is first read
// unlocked, only to learn its order.
func (s *Store) UpdateRefund(ctx context.Context, outRefundNo string, fn func(r *refund.Refund, a *refund.AfterSale) (refund.Change, error)) (*refund.Refund, error) {
	var saved *refund.Refund
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var orderID string
		err := tx.QueryRow(ctx, `SELECT order_id::text FROM refunds WHERE out_refund_no = $1`, outRefundNo).Scan(&orderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return refund.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM refund_positions WHERE order_id = $1 FOR UPDATE`, orderID); err != nil {
			return err
		}
		r, err := loadRefund(ctx, tx, `out_refund_no = $1 FOR UPDATE`, outRefundNo)
		if err != nil {
			return err
		}
		var a *refund.AfterSale
		if r.AfterSaleID != "" {
			if a, err = loadAfterSale(ctx, tx, r.AfterSaleID, "FOR UPDATE"); err != nil {
				return err
			}
		}
		before := *r
		c, err := fn(r, a)
		if errors.Is(err, refund.ErrNoop) {
			saved = &before
			return errNothingToWrite
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
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
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
	r, err := loadRefund(ctx, s.pool, `id = $1`, id)
	return r, errs.Wrap(err, "refund: read %s", id)
}

// RefundByOutRefundNo reads the refund with a platform number.
func (s *Store) RefundByOutRefundNo(ctx context.Context, outRefundNo string) (*refund.Refund, error) {
	r, err := loadRefund(ctx, s.pool, `out_refund_no = $1`, outRefundNo)
	return r, errs.Wrap(err, "refund: read %s", outRefundNo)
}

// Refunds lists refunds newest first, by keyset on (created_at, id).
func (s *Store) Refunds(ctx context.Context, f refund.RefundFilter) (refund.RefundPage, error) {
	limit := min(max(f.Limit, 1), refund.MaxLimit)
	if f.Limit <= 0 {
		limit = refund.DefaultLimit
	}
	if f.OrderID != "" && !ids.Valid(f.OrderID) {
		return refund.RefundPage{}, nil
	}
	var n newest
	n.eq("order_id", f.OrderID)
	n.eq("state", string(f.State))
	if err := n.after(refundCursorOrder, f.Cursor); err != nil {
		return refund.RefundPage{}, refund.ErrBadCursor
	}
	q, args := n.query(refundColumns, "refunds", limit)
	rs, err := queryRefunds(ctx, s.pool, q, args...)
	if err != nil {
		return refund.RefundPage{}, errs.Wrap(err, "refund: list")
	}
	var page refund.RefundPage
	page.Refunds, page.NextCursor = cursor.Page(refundCursorOrder, rs, limit, func(r *refund.Refund) (int64, string) {
		return r.CreatedAt.UnixMicro(), r.ID
	})
	return page, nil
}

// loadRefund reads the one refund matching where (which may end in a
// lock); refund.ErrNotFound if none.
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
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (refund.Refund, error) {
		var r refund.Refund
		err := row.Scan(&r.ID, &r.OrderID, &r.BuyerID, &r.PaymentID, &r.AfterSaleID, &r.OutTradeNo, &r.OutRefundNo,
			&r.Key, &r.Source, &r.Reason, &r.Shipping, &r.Amount, &r.Fee, &r.Total, &r.Full, &r.Return, &r.State,
			&r.PlatformRefundID, &r.Failure, &r.Resolution, &r.Note, &r.Operator, &r.CreatedAt, &r.UpdatedAt,
			&r.SentAt, &r.FinishedAt)
		// pgx reads timestamptz in the local zone; siyu's times are UTC.
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		for _, t := range []*time.Time{r.SentAt, r.FinishedAt} {
			if t != nil {
				*t = t.UTC()
			}
		}
		return r, err
	})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	refundIDs := make([]string, len(out))
	for i, r := range out {
		refundIDs[i] = r.ID
	}
	rows, err = db.Query(ctx, `SELECT refund_id::text, order_line_id, sku_id, qty, amount FROM refund_lines
		WHERE refund_id = ANY($1) ORDER BY refund_id, position`, refundIDs)
	if err != nil {
		return nil, err
	}
	byRefund := map[string][]refund.Line{}
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var (
			id string
			l  refund.Line
		)
		err := row.Scan(&id, &l.OrderLineID, &l.SKUID, &l.Qty, &l.Amount)
		byRefund[id] = append(byRefund[id], l)
		return struct{}{}, err
	})
	for i := range out {
		out[i].Lines = byRefund[out[i].ID]
	}
	return out, err
}

// RestockReturn puts a refund's units back on hand once per refund: the
// refund_restocks row is the key, inserted in the same transaction as the
// stock it guards (a second delivery waits on it, then finds it). A SKU
// deleted since the sale has no level to go back to and is skipped.
func (s *Store) RestockReturn(ctx context.Context, refundID string, ms []inventory.Movement) (bool, error) {
	if !ids.Valid(refundID) {
		return false, refund.ErrNotFound
	}
	done := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		at := time.Now().UTC()
		if len(ms) > 0 {
			at = ms[0].At
		}
		tag, err := tx.Exec(ctx, `INSERT INTO refund_restocks (refund_id, at)
			SELECT id, $2 FROM refunds WHERE id = $1 ON CONFLICT (refund_id) DO NOTHING`, refundID, at)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		for _, m := range ms {
			var onHand, reserved int64
			err := tx.QueryRow(ctx, stockAddSQL, m.SKUID, m.Location, m.OnHandDelta, m.At).Scan(&onHand, &reserved)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO stock_movements
				(id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
				VALUES ($1, $2, $3, $4, 0, $5, $6, $7)`,
				m.ID, m.SKUID, m.Location, m.OnHandDelta, string(m.Reason), m.Ref, m.At); err != nil {
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
