package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const priceWindowColumns = `id, sku_id, product_id, price, starts_at, ends_at, announce_at, ended_early, created_at, updated_at`

const priceWindowCursorOrder = "price_windows_newest"

// microsPerDay turns a stored time into the UTC day of sku_charged_prices,
// as migration 0021 seeds it.
const microsPerDay = 86_400_000_000

// queryer is what the price window reads run on: the readers, the writer,
// or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreatePriceWindow runs in one immediate transaction: the single writer
// serialises it with every other window of the SKU and with the catalog's
// price changes, so the overlap and raise checks see the last word.
func (s *Store) CreatePriceWindow(ctx context.Context, w *pricewindow.Window, since time.Time, check func(pricewindow.Facts) error) error {
	if !ids.Valid(w.SKUID) {
		return pricewindow.ErrSKUNotFound
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var f pricewindow.Facts
		err := tx.QueryRowContext(ctx, `SELECT product_id, sale_price FROM skus WHERE id = ?`, w.SKUID).Scan(&f.ProductID, &f.SalePrice)
		if errors.Is(err, sql.ErrNoRows) {
			return pricewindow.ErrSKUNotFound
		}
		if err != nil {
			return err
		}
		if f.Overlapping, err = priceWindows(ctx, tx, `SELECT `+priceWindowColumns+` FROM price_windows
			WHERE sku_id = ? AND starts_at < ? AND ends_at > ? AND ends_at > starts_at ORDER BY starts_at`,
			w.SKUID, ts(w.EndsAt), ts(w.StartsAt)); err != nil {
			return err
		}
		if f.Prices, err = priceHistory(ctx, tx, []string{w.SKUID}, since); err != nil {
			return err
		}
		if err := check(f); err != nil {
			return err
		}
		w.ProductID = f.ProductID
		_, err = tx.ExecContext(ctx, `INSERT INTO price_windows (`+priceWindowColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.SKUID, w.ProductID, w.Price, ts(w.StartsAt), ts(w.EndsAt), tsPtr(w.AnnounceAt), w.EndedEarly,
			ts(w.CreatedAt), ts(w.UpdatedAt))
		return err
	})
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "pricewindow: create %s", w.ID)
}

func (s *Store) PriceWindow(ctx context.Context, id string) (*pricewindow.Window, error) {
	return priceWindow(ctx, s.r, id)
}

func priceWindow(ctx context.Context, q queryer, id string) (*pricewindow.Window, error) {
	if !ids.Valid(id) {
		return nil, pricewindow.ErrNotFound
	}
	ws, err := priceWindows(ctx, q, `SELECT `+priceWindowColumns+` FROM price_windows WHERE id = ?`, id)
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
	list, err := priceWindows(ctx, s.r, q, args...)
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
	if _, err := s.w.ExecContext(ctx, `UPDATE price_windows SET ends_at = ?, ended_early = 1, updated_at = ?
		WHERE id = ? AND starts_at <= ? AND ends_at > ?`, ts(at), ts(at), id, ts(at), ts(at)); err != nil {
		return nil, errs.Wrap(err, "pricewindow: end %s", id)
	}
	return priceWindow(ctx, s.w, id)
}

func (s *Store) DeletePriceWindow(ctx context.Context, id string, at time.Time) error {
	if !ids.Valid(id) {
		return pricewindow.ErrNotFound
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if ok, err := affected(tx.ExecContext(ctx, `DELETE FROM price_windows WHERE id = ? AND starts_at > ?`, id, ts(at))); err != nil || ok {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM price_windows WHERE id = ?)`, id).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return pricewindow.ErrStarted
		}
		return pricewindow.ErrNotFound
	})
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "pricewindow: delete %s", id)
}

func (s *Store) ShownPriceWindows(ctx context.Context, skuIDs []string, at time.Time) ([]pricewindow.Window, error) {
	if len(skuIDs) == 0 {
		return nil, nil
	}
	args := append(anys(skuIDs), ts(at), ts(at), ts(at))
	ws, err := priceWindows(ctx, s.r, `SELECT `+priceWindowColumns+` FROM price_windows
		WHERE sku_id IN (`+placeholders(len(skuIDs))+`) AND ends_at > ? AND ends_at > starts_at
			AND (starts_at <= ? OR (announce_at IS NOT NULL AND announce_at <= ?))
		ORDER BY sku_id, starts_at`, args...)
	return ws, errs.Wrap(err, "pricewindow: shown windows")
}

func (s *Store) PriceWindowsBetween(ctx context.Context, skuIDs []string, from, to time.Time) ([]pricewindow.Window, error) {
	if len(skuIDs) == 0 {
		return nil, nil
	}
	args := append(anys(skuIDs), ts(to), ts(from))
	ws, err := priceWindows(ctx, s.r, `SELECT `+priceWindowColumns+` FROM price_windows
		WHERE sku_id IN (`+placeholders(len(skuIDs))+`) AND starts_at < ? AND ends_at > ? AND ends_at > starts_at
		ORDER BY sku_id, starts_at`, args...)
	return ws, errs.Wrap(err, "pricewindow: windows between")
}

func priceWindows(ctx context.Context, q queryer, query string, args ...any) ([]pricewindow.Window, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pricewindow.Window
	for rows.Next() {
		var (
			w                              pricewindow.Window
			starts, ends, created, updated int64
			announce                       sql.NullInt64
		)
		if err := rows.Scan(&w.ID, &w.SKUID, &w.ProductID, &w.Price, &starts, &ends, &announce, &w.EndedEarly,
			&created, &updated); err != nil {
			return nil, err
		}
		w.StartsAt, w.EndsAt, w.CreatedAt, w.UpdatedAt = fromTS(starts), fromTS(ends), fromTS(created), fromTS(updated)
		w.AnnounceAt = fromTSPtr(announce)
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s *Store) RecordPrices(ctx context.Context, recs []pricewindow.PriceRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range recs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sku_price_history (sku_id, event_id, list_price, sale_price, at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (sku_id, event_id) DO NOTHING`,
				r.SKUID, r.EventID, r.ListPrice, r.SalePrice, ts(r.At)); err != nil {
				return err
			}
		}
		return nil
	})
	return errs.Wrap(err, "pricewindow: record prices")
}

func (s *Store) PriceHistory(ctx context.Context, skuIDs []string, since time.Time) ([]pricewindow.PriceRecord, error) {
	recs, err := priceHistory(ctx, s.r, skuIDs, since)
	return recs, errs.Wrap(err, "pricewindow: price history")
}

// priceHistory reads the records at or after since, and the latest before
// it of each SKU (the price the first of them changed from).
func priceHistory(ctx context.Context, q queryer, skuIDs []string, since time.Time) ([]pricewindow.PriceRecord, error) {
	if len(skuIDs) == 0 {
		return nil, nil
	}
	args := append(anys(skuIDs), ts(since), ts(since))
	rows, err := q.QueryContext(ctx, `SELECT sku_id, event_id, list_price, sale_price, at FROM sku_price_history h
		WHERE sku_id IN (`+placeholders(len(skuIDs))+`)
			AND (at >= ? OR at = (SELECT max(at) FROM sku_price_history WHERE sku_id = h.sku_id AND at < ?))
		ORDER BY sku_id, at, event_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pricewindow.PriceRecord
	for rows.Next() {
		var r pricewindow.PriceRecord
		var at int64
		if err := rows.Scan(&r.SKUID, &r.EventID, &r.ListPrice, &r.SalePrice, &at); err != nil {
			return nil, err
		}
		r.At = fromTS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) RecordCharged(ctx context.Context, cs []pricewindow.ChargedPrice) error {
	if len(cs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sku_charged_prices (sku_id, day, unit_price, first_at, last_at)
				VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (sku_id, day, unit_price) DO UPDATE
				SET first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`,
				c.SKUID, ts(c.FirstAt)/microsPerDay, c.UnitPrice, ts(c.FirstAt), ts(c.LastAt)); err != nil {
				return err
			}
		}
		return nil
	})
	return errs.Wrap(err, "pricewindow: record charged")
}

func (s *Store) ChargedPrices(ctx context.Context, skuIDs []string, from, to time.Time) ([]pricewindow.ChargedPrice, error) {
	if len(skuIDs) == 0 {
		return nil, nil
	}
	// The day bounds only narrow the scan: a row with an order at or after
	// from is of from's day or later, one with an order before to of to's
	// day or earlier.
	args := append(anys(skuIDs), ts(from)/microsPerDay, ts(to)/microsPerDay, ts(from), ts(to))
	rows, err := s.r.QueryContext(ctx, `SELECT sku_id, unit_price, first_at, last_at FROM sku_charged_prices
		WHERE sku_id IN (`+placeholders(len(skuIDs))+`) AND day >= ? AND day <= ? AND last_at >= ? AND first_at < ?`, args...)
	if err != nil {
		return nil, errs.Wrap(err, "pricewindow: charged prices")
	}
	defer rows.Close()
	var out []pricewindow.ChargedPrice
	for rows.Next() {
		var c pricewindow.ChargedPrice
		var first, last int64
		if err := rows.Scan(&c.SKUID, &c.UnitPrice, &first, &last); err != nil {
			return nil, errs.Wrap(err, "pricewindow: charged prices")
		}
		c.FirstAt, c.LastAt = fromTS(first), fromTS(last)
		out = append(out, c)
	}
	return out, errs.Wrap(rows.Err(), "pricewindow: charged prices")
}
