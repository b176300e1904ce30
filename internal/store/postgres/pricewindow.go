package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const priceWindowColumns = `id, sku_id, product_id, price, starts_at, ends_at, announce_at, ended_early, created_at, updated_at`

const priceWindowCursorOrder = "price_windows_newest"

// chargedDay is the UTC day (days since the epoch) of sku_charged_prices,
// as migration 0021 seeds it.
func chargedDay(t time.Time) int64 { return t.Unix() / 86400 }

// CreatePriceWindow locks the SKU's product row, the lock UpdateProduct
// takes first: a window and a change of the SKU's prices are applied one
// after the other, so the overlap and raise checks, and the catalog's guard
// against a raise before a window, each see what the other committed.
func (s *Store) CreatePriceWindow(ctx context.Context, w *pricewindow.Window, since time.Time, check func(pricewindow.Facts) error) error {
	if !ids.Valid(w.SKUID) {
		return pricewindow.ErrSKUNotFound
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var f pricewindow.Facts
		err := tx.QueryRow(ctx, `SELECT product_id FROM skus WHERE id = $1`, w.SKUID).Scan(&f.ProductID)
		if errors.Is(err, pgx.ErrNoRows) {
			return pricewindow.ErrSKUNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM products WHERE id = $1 FOR UPDATE`, f.ProductID); err != nil {
			return err
		}
		// Read the price only now, in a statement of its own: under read
		// committed it sees a price change that held the lock before us.
		if err := tx.QueryRow(ctx, `SELECT sale_price FROM skus WHERE id = $1`, w.SKUID).Scan(&f.SalePrice); err != nil {
			return err
		}
		if f.Overlapping, err = priceWindows(ctx, tx, `SELECT `+priceWindowColumns+` FROM price_windows
			WHERE sku_id = $1 AND starts_at < $2 AND ends_at > $3 AND ends_at > starts_at ORDER BY starts_at`,
			w.SKUID, w.EndsAt, w.StartsAt); err != nil {
			return err
		}
		if f.Prices, err = priceHistory(ctx, tx, []string{w.SKUID}, since); err != nil {
			return err
		}
		if err := check(f); err != nil {
			return err
		}
		w.ProductID = f.ProductID
		_, err = tx.Exec(ctx, `INSERT INTO price_windows (`+priceWindowColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			w.ID, w.SKUID, w.ProductID, w.Price, w.StartsAt, w.EndsAt, w.AnnounceAt, w.EndedEarly, w.CreatedAt, w.UpdatedAt)
		return err
	})
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "pricewindow: create %s", w.ID)
}

func (s *Store) PriceWindow(ctx context.Context, id string) (*pricewindow.Window, error) {
	if !ids.Valid(id) {
		return nil, pricewindow.ErrNotFound
	}
	ws, err := priceWindows(ctx, s.pool, `SELECT `+priceWindowColumns+` FROM price_windows WHERE id = $1`, id)
	if err != nil {
		return nil, errs.Wrap(err, "pricewindow: read %s", id)
	}
	if len(ws) == 0 {
		return nil, pricewindow.ErrNotFound
	}
	return &ws[0], nil
}

func (s *Store) PriceWindows(ctx context.Context, f pricewindow.Filter) (pricewindow.Page, error) {
	limit := min(max(f.Limit, 1), pricewindow.MaxLimit)
	var n newest
	n.eq("sku_id", f.SKUID)
	n.eq("product_id", f.ProductID)
	if err := n.after(priceWindowCursorOrder, f.Cursor); err != nil {
		return pricewindow.Page{}, pricewindow.ErrBadCursor
	}
	q, args := n.query(priceWindowColumns, "price_windows", limit)
	list, err := priceWindows(ctx, s.pool, q, args...)
	if err != nil {
		return pricewindow.Page{}, errs.Wrap(err, "pricewindow: list")
	}
	page := pricewindow.Page{Windows: []pricewindow.Window{}}
	if len(list) > 0 {
		page.Windows, page.NextCursor = cursor.Page(priceWindowCursorOrder, list, limit, func(w *pricewindow.Window) (int64, string) {
			return w.CreatedAt.UnixMicro(), w.ID
		})
	}
	return page, nil
}

// EndPriceWindow is one conditional update: only a window running at `at`
// changes, so an end racing the window's own end or another end is safe.
func (s *Store) EndPriceWindow(ctx context.Context, id string, at time.Time) (*pricewindow.Window, error) {
	if !ids.Valid(id) {
		return nil, pricewindow.ErrNotFound
	}
	if _, err := s.pool.Exec(ctx, `UPDATE price_windows SET ends_at = $2, ended_early = true, updated_at = $2
		WHERE id = $1 AND starts_at <= $2 AND ends_at > $2`, id, at); err != nil {
		return nil, errs.Wrap(err, "pricewindow: end %s", id)
	}
	return s.PriceWindow(ctx, id)
}

func (s *Store) DeletePriceWindow(ctx context.Context, id string, at time.Time) error {
	if !ids.Valid(id) {
		return pricewindow.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM price_windows WHERE id = $1 AND starts_at > $2`, id, at)
	if err != nil {
		return errs.Wrap(err, "pricewindow: delete %s", id)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	// Nothing deleted: it has started, or there is no such window. A window
	// never comes back once gone, so reading after the delete is safe.
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM price_windows WHERE id = $1)`, id).Scan(&exists); err != nil {
		return errs.Wrap(err, "pricewindow: delete %s", id)
	}
	if exists {
		return pricewindow.ErrStarted
	}
	return pricewindow.ErrNotFound
}

func (s *Store) ShownPriceWindows(ctx context.Context, skuIDs []string, at time.Time) ([]pricewindow.Window, error) {
	valid := validIDs(skuIDs)
	if len(valid) == 0 {
		return nil, nil
	}
	ws, err := priceWindows(ctx, s.pool, `SELECT `+priceWindowColumns+` FROM price_windows
		WHERE sku_id = ANY($1) AND ends_at > $2 AND ends_at > starts_at
			AND (starts_at <= $2 OR (announce_at IS NOT NULL AND announce_at <= $2))
		ORDER BY sku_id, starts_at`, valid, at)
	return ws, errs.Wrap(err, "pricewindow: shown windows")
}

func (s *Store) PriceWindowsBetween(ctx context.Context, skuIDs []string, from, to time.Time) ([]pricewindow.Window, error) {
	valid := validIDs(skuIDs)
	if len(valid) == 0 {
		return nil, nil
	}
	ws, err := priceWindows(ctx, s.pool, `SELECT `+priceWindowColumns+` FROM price_windows
		WHERE sku_id = ANY($1) AND starts_at < $2 AND ends_at > $3 AND ends_at > starts_at
		ORDER BY sku_id, starts_at`, valid, to, from)
	return ws, errs.Wrap(err, "pricewindow: windows between")
}

func priceWindows(ctx context.Context, q catalogDB, query string, args ...any) ([]pricewindow.Window, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (pricewindow.Window, error) {
		var w pricewindow.Window
		err := row.Scan(&w.ID, &w.SKUID, &w.ProductID, &w.Price, &w.StartsAt, &w.EndsAt, &w.AnnounceAt, &w.EndedEarly,
			&w.CreatedAt, &w.UpdatedAt)
		w.StartsAt, w.EndsAt, w.CreatedAt, w.UpdatedAt = w.StartsAt.UTC(), w.EndsAt.UTC(), w.CreatedAt.UTC(), w.UpdatedAt.UTC()
		w.AnnounceAt = utcPtr(w.AnnounceAt)
		return w, err
	})
}

func (s *Store) RecordPrices(ctx context.Context, recs []pricewindow.PriceRecord) error {
	if len(recs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range recs {
		b.Queue(`INSERT INTO sku_price_history (sku_id, event_id, list_price, sale_price, at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sku_id, event_id) DO NOTHING`,
			r.SKUID, r.EventID, r.ListPrice, r.SalePrice, r.At)
	}
	return errs.Wrap(s.pool.SendBatch(ctx, b).Close(), "pricewindow: record prices")
}

func (s *Store) PriceHistory(ctx context.Context, skuIDs []string, since time.Time) ([]pricewindow.PriceRecord, error) {
	recs, err := priceHistory(ctx, s.pool, skuIDs, since)
	return recs, errs.Wrap(err, "pricewindow: price history")
}

// priceHistory reads the records at or after since, and the latest before
// it of each SKU (the price the first of them changed from).
func priceHistory(ctx context.Context, q catalogDB, skuIDs []string, since time.Time) ([]pricewindow.PriceRecord, error) {
	valid := validIDs(skuIDs)
	if len(valid) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT sku_id, event_id, list_price, sale_price, at FROM sku_price_history h
		WHERE sku_id = ANY($1)
			AND (at >= $2 OR at = (SELECT max(at) FROM sku_price_history WHERE sku_id = h.sku_id AND at < $2))
		ORDER BY sku_id, at, event_id`, valid, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (pricewindow.PriceRecord, error) {
		var r pricewindow.PriceRecord
		err := row.Scan(&r.SKUID, &r.EventID, &r.ListPrice, &r.SalePrice, &r.At)
		r.At = r.At.UTC()
		return r, err
	})
}

func (s *Store) RecordCharged(ctx context.Context, cs []pricewindow.ChargedPrice) error {
	if len(cs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, c := range cs {
		b.Queue(`INSERT INTO sku_charged_prices (sku_id, day, unit_price, first_at, last_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (sku_id, day, unit_price) DO UPDATE
			SET first_at = least(sku_charged_prices.first_at, excluded.first_at),
				last_at = greatest(sku_charged_prices.last_at, excluded.last_at)`,
			c.SKUID, chargedDay(c.FirstAt), c.UnitPrice, c.FirstAt, c.LastAt)
	}
	return errs.Wrap(s.pool.SendBatch(ctx, b).Close(), "pricewindow: record charged")
}

func (s *Store) ChargedPrices(ctx context.Context, skuIDs []string, from, to time.Time) ([]pricewindow.ChargedPrice, error) {
	valid := validIDs(skuIDs)
	if len(valid) == 0 {
		return nil, nil
	}
	// The day bounds only narrow the scan: a row with an order at or after
	// from is of from's day or later, one with an order before to of to's
	// day or earlier.
	rows, err := s.pool.Query(ctx, `SELECT sku_id, unit_price, first_at, last_at FROM sku_charged_prices
		WHERE sku_id = ANY($1) AND day >= $2 AND day <= $3 AND last_at >= $4 AND first_at < $5`,
		valid, chargedDay(from), chargedDay(to), from, to)
	if err != nil {
		return nil, errs.Wrap(err, "pricewindow: charged prices")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (pricewindow.ChargedPrice, error) {
		var c pricewindow.ChargedPrice
		err := row.Scan(&c.SKUID, &c.UnitPrice, &c.FirstAt, &c.LastAt)
		c.FirstAt, c.LastAt = c.FirstAt.UTC(), c.LastAt.UTC()
		return c, err
	})
	return out, errs.Wrap(err, "pricewindow: charged prices")
}
