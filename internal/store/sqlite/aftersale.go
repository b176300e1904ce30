package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const afterSaleColumns = `id, order_id, buyer_id, kind, reason, state, note, operator, coalesce(refund_id, ''),
	created_at, updated_at`

const afterSaleCursorOrder = "aftersales_newest"

// CreateAfterSale inserts an after-sale and its lines, open. The partial
// unique index on open lines refuses a line that has an open after-sale,
// whatever request raced this one.
func (s *Store) CreateAfterSale(ctx context.Context, a *refund.AfterSale, ev []outbox.Event) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aftersales
			(id, order_id, buyer_id, kind, reason, state, note, operator, refund_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
			a.ID, a.OrderID, a.BuyerID, a.Kind, a.Reason, a.State, a.Note, a.Operator, ts(a.CreatedAt), ts(a.UpdatedAt)); err != nil {
			return err
		}
		for i, l := range a.Lines {
			_, err := tx.ExecContext(ctx, `INSERT INTO aftersale_lines (aftersale_id, position, order_line_id, qty, open)
				VALUES (?, ?, ?, ?, 1)`, a.ID, i, l.OrderLineID, l.Qty)
			var se interface{ Code() int }
			if errors.As(err, &se) && se.Code() == sqliteConstraintUnique {
				return refund.ErrAfterSaleOpen
			}
			if err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, ev)
	})
	return errs.Wrap(err, "aftersale: create %s", a.ID)
}

// AfterSale reads one after-sale.
func (s *Store) AfterSale(ctx context.Context, id string) (*refund.AfterSale, error) {
	if !ids.Valid(id) {
		return nil, refund.ErrAfterSaleNotFound
	}
	a, err := loadAfterSale(ctx, s.r, id)
	return a, errs.Wrap(err, "aftersale: read %s", id)
}

// AfterSales lists after-sales newest first, by keyset on (created_at, id).
func (s *Store) AfterSales(ctx context.Context, f refund.AfterSaleFilter) (refund.AfterSalePage, error) {
	limit := min(max(f.Limit, 1), refund.MaxLimit)
	if f.Limit <= 0 {
		limit = refund.DefaultLimit
	}
	var n newest
	n.eq("order_id", f.OrderID)
	n.eq("buyer_id", f.BuyerID)
	n.eq("state", string(f.State))
	if err := n.after(afterSaleCursorOrder, f.Cursor); err != nil {
		return refund.AfterSalePage{}, refund.ErrBadCursor
	}
	q, args := n.query(afterSaleColumns, "aftersales", limit)
	as, err := queryAfterSales(ctx, s.r, q, args...)
	if err != nil {
		return refund.AfterSalePage{}, errs.Wrap(err, "aftersale: list")
	}
	var page refund.AfterSalePage
	page.AfterSales, page.NextCursor = cursor.Page(afterSaleCursorOrder, as, limit, func(a *refund.AfterSale) (int64, string) {
		return a.CreatedAt.UnixMicro(), a.ID
	})
	return page, nil
}

// UpdateAfterSale runs fn on the after-sale inside an immediate
// transaction; an after-sale that is no longer open frees its lines.
func (s *Store) UpdateAfterSale(ctx context.Context, id string, fn func(a *refund.AfterSale) ([]outbox.Event, error)) (*refund.AfterSale, error) {
	if !ids.Valid(id) {
		return nil, refund.ErrAfterSaleNotFound
	}
	var saved *refund.AfterSale
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := loadAfterSale(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *a
		ev, err := fn(a)
		if errors.Is(err, refund.ErrNoop) {
			saved = &before
			return nil
		}
		if err != nil {
			return err
		}
		if err := saveAfterSale(ctx, tx, a); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, ev); err != nil {
			return err
		}
		saved = a
		return nil
	})
	if err != nil {
		return nil, errs.Wrap(err, "aftersale: update %s", id)
	}
	return saved, nil
}

// saveAfterSale writes what a decision may change; the request itself
// (kind, reason, lines) is fixed.
func saveAfterSale(ctx context.Context, tx *sql.Tx, a *refund.AfterSale) error {
	var refundID any
	if a.RefundID != "" {
		refundID = a.RefundID
	}
	if _, err := tx.ExecContext(ctx, `UPDATE aftersales SET state = ?, note = ?, operator = ?, refund_id = ?, updated_at = ?
		WHERE id = ?`, a.State, a.Note, a.Operator, refundID, ts(a.UpdatedAt), a.ID); err != nil {
		return err
	}
	if a.State.Open() {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE aftersale_lines SET open = 0 WHERE aftersale_id = ? AND open = 1`, a.ID)
	return err
}

func loadAfterSale(ctx context.Context, db refundDB, id string) (*refund.AfterSale, error) {
	as, err := queryAfterSales(ctx, db, `SELECT `+afterSaleColumns+` FROM aftersales WHERE id = ?`, id)
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
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []refund.AfterSale
	for rows.Next() {
		var (
			a                refund.AfterSale
			kind, state      string
			created, updated int64
		)
		if err := rows.Scan(&a.ID, &a.OrderID, &a.BuyerID, &kind, &a.Reason, &state, &a.Note, &a.Operator,
			&a.RefundID, &created, &updated); err != nil {
			return nil, err
		}
		a.Kind, a.State = refund.Kind(kind), refund.AfterSaleState(state)
		a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(out) == 0 {
		return nil, nil
	}
	asIDs := make([]any, len(out))
	for i, a := range out {
		asIDs[i] = a.ID
	}
	lines, err := db.QueryContext(ctx, `SELECT aftersale_id, order_line_id, qty FROM aftersale_lines
		WHERE aftersale_id IN (?`+strings.Repeat(", ?", len(asIDs)-1)+`) ORDER BY aftersale_id, position`, asIDs...)
	if err != nil {
		return nil, err
	}
	defer lines.Close()
	byID := map[string][]refund.LineQty{}
	for lines.Next() {
		var (
			id string
			l  refund.LineQty
		)
		if err := lines.Scan(&id, &l.OrderLineID, &l.Qty); err != nil {
			return nil, err
		}
		byID[id] = append(byID[id], l)
	}
	for i := range out {
		out[i].Lines = byID[out[i].ID]
	}
	return out, lines.Err()
}
