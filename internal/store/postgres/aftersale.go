package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const afterSaleColumns = `id, order_id, buyer_id, kind, reason, state, note, operator, coalesce(refund_id::text, ''),
	created_at, updated_at`

const afterSaleCursorOrder = "aftersales_newest"

// CreateAfterSale inserts an after-sale, its lines (open) and its events.
// The partial unique index on open lines refuses a line that has an open
// after-sale, whatever request raced this one: the second insert waits for
// the first to commit, then fails.
func (s *Store) CreateAfterSale(ctx context.Context, a *refund.AfterSale, ev []outbox.Event) error {
	if !ids.Valid(a.OrderID) || !ids.Valid(a.BuyerID) {
		return order.ErrNotFound
	}
	for _, l := range a.Lines {
		if !ids.Valid(l.OrderLineID) {
			return errs.Field("lines", "order_line_not_found", "no line %q in the order", l.OrderLineID)
		}
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO aftersales
			(id, order_id, buyer_id, kind, reason, state, note, operator, refund_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)`,
			a.ID, a.OrderID, a.BuyerID, string(a.Kind), a.Reason, string(a.State), a.Note, a.Operator, a.CreatedAt, a.UpdatedAt)
		for i, l := range a.Lines {
			b.Queue(`INSERT INTO aftersale_lines (aftersale_id, position, order_line_id, qty, open)
				VALUES ($1, $2, $3, $4, true)`, a.ID, i, l.OrderLineID, l.Qty)
		}
		queueEvents(b, ev)
		err := tx.SendBatch(ctx, b).Close()
		if isUnique(err) {
			return refund.ErrAfterSaleOpen
		}
		return err
	})
	return errs.Wrap(err, "aftersale: create %s", a.ID)
}

// AfterSale reads one after-sale.
func (s *Store) AfterSale(ctx context.Context, id string) (*refund.AfterSale, error) {
	if !ids.Valid(id) {
		return nil, refund.ErrAfterSaleNotFound
	}
	a, err := loadAfterSale(ctx, s.pool, id, "")
	return a, errs.Wrap(err, "aftersale: read %s", id)
}

// AfterSales lists after-sales newest first, by keyset on (created_at, id).
func (s *Store) AfterSales(ctx context.Context, f refund.AfterSaleFilter) (refund.AfterSalePage, error) {
	limit := min(max(f.Limit, 1), refund.MaxLimit)
	if f.Limit <= 0 {
		limit = refund.DefaultLimit
	}
	if (f.OrderID != "" && !ids.Valid(f.OrderID)) || (f.BuyerID != "" && !ids.Valid(f.BuyerID)) {
		return refund.AfterSalePage{}, nil // no such order or buyer, so nothing to list
	}
	var n newest
	n.eq("order_id", f.OrderID)
	n.eq("buyer_id", f.BuyerID)
	n.eq("state", string(f.State))
	if err := n.after(afterSaleCursorOrder, f.Cursor); err != nil {
		return refund.AfterSalePage{}, refund.ErrBadCursor
	}
	q, args := n.query(afterSaleColumns, "aftersales", limit)
	as, err := queryAfterSales(ctx, s.pool, q, args...)
	if err != nil {
		return refund.AfterSalePage{}, errs.Wrap(err, "aftersale: list")
	}
	var page refund.AfterSalePage
	page.AfterSales, page.NextCursor = cursor.Page(afterSaleCursorOrder, as, limit, func(a *refund.AfterSale) (int64, string) {
		return a.CreatedAt.UnixMicro(), a.ID
	})
	return page, nil
}

// UpdateAfterSale locks the after-sale (FOR UPDATE), lets fn decide, and
// writes it with fn's events; an after-sale that is no longer open frees
// its lines.
func (s *Store) UpdateAfterSale(ctx context.Context, id string, fn func(a *refund.AfterSale) ([]outbox.Event, error)) (*refund.AfterSale, error) {
	if !ids.Valid(id) {
		return nil, refund.ErrAfterSaleNotFound
	}
	var saved *refund.AfterSale
	err := s.tx(ctx, func(tx pgx.Tx) error {
		a, err := loadAfterSale(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		before := *a
		ev, err := fn(a)
		if errors.Is(err, refund.ErrNoop) {
			saved = &before
			return errNothingToWrite
		}
		if err != nil {
			return err
		}
		if err := saveAfterSale(ctx, tx, a); err != nil {
			return err
		}
		if len(ev) > 0 {
			b := &pgx.Batch{}
			queueEvents(b, ev)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		saved = a
		return nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "aftersale: update %s", id)
	}
	return saved, nil
}

// saveAfterSale writes what a decision may change; the request itself
// (kind, reason, lines) is fixed.
func saveAfterSale(ctx context.Context, tx pgx.Tx, a *refund.AfterSale) error {
	var refundID any
	if a.RefundID != "" {
		refundID = a.RefundID
	}
	if _, err := tx.Exec(ctx, `UPDATE aftersales SET state = $1, note = $2, operator = $3, refund_id = $4, updated_at = $5
		WHERE id = $6`, string(a.State), a.Note, a.Operator, refundID, a.UpdatedAt, a.ID); err != nil {
		return err
	}
	if a.State.Open() {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE aftersale_lines SET open = false WHERE aftersale_id = $1 AND open`, a.ID)
	return err
}

// loadAfterSale reads one after-sale, with lock (e.g. "FOR UPDATE").
func loadAfterSale(ctx context.Context, db refundDB, id, lock string) (*refund.AfterSale, error) {
	as, err := queryAfterSales(ctx, db, `SELECT `+afterSaleColumns+` FROM aftersales WHERE id = $1 `+lock, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, refund.ErrAfterSaleNotFound
	}
	return &as[0], nil
}

// queryAfterSales reads after-sales and then their lines, in a second query.
func queryAfterSales(ctx context.Context, db refundDB, q string, args ...any) ([]refund.AfterSale, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (refund.AfterSale, error) {
		var a refund.AfterSale
		err := row.Scan(&a.ID, &a.OrderID, &a.BuyerID, &a.Kind, &a.Reason, &a.State, &a.Note, &a.Operator,
			&a.RefundID, &a.CreatedAt, &a.UpdatedAt)
		a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
		return a, err
	})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	asIDs := make([]string, len(out))
	for i, a := range out {
		asIDs[i] = a.ID
	}
	rows, err = db.Query(ctx, `SELECT aftersale_id::text, order_line_id, qty FROM aftersale_lines
		WHERE aftersale_id = ANY($1) ORDER BY aftersale_id, position`, asIDs)
	if err != nil {
		return nil, err
	}
	byID := map[string][]refund.LineQty{}
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var (
			id string
			l  refund.LineQty
		)
		err := row.Scan(&id, &l.OrderLineID, &l.Qty)
		byID[id] = append(byID[id], l)
		return struct{}{}, err
	})
	for i := range out {
		out[i].Lines = byID[out[i].ID]
	}
	return out, err
}
