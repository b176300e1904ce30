package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// The presale store. SQLite has one writer and every write runs in an
// immediate transaction, so a SKU's count, a buyer's units and a purchase
// change one transaction at a time: what PostgreSQL gets from conditional
// updates and row locks, the writer gives here; the SQL is the same
// conditional updates all the same, so both engines refuse the same claims.

// presaleDB is the writer's transaction or the reader pool.
type presaleDB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const (
	presaleColumns = `id, title, rules, share_notice, status, mode, basis, starts_at, ends_at, balance_starts_at,
	balance_ends_at, ships_by, per_buyer_limit, max_depth, created_at, updated_at, published_at, ended_at`
	presaleCursor = "presales_newest"
)

func scanPresale(row interface{ Scan(...any) error }) (*presale.Activity, error) {
	var (
		a                                           presale.Activity
		starts, ends, ships, created, updated       int64
		balanceStarts, balanceEnds, published, endd sql.NullInt64
	)
	if err := row.Scan(&a.ID, &a.Title, &a.Rules, &a.ShareNotice, &a.Status, &a.Mode, &a.Basis, &starts, &ends,
		&balanceStarts, &balanceEnds, &ships, &a.PerBuyerLimit, &a.MaxDepth, &created, &updated, &published, &endd); err != nil {
		return nil, err
	}
	a.StartsAt, a.EndsAt, a.ShipsBy, a.CreatedAt, a.UpdatedAt = fromTS(starts), fromTS(ends), fromTS(ships), fromTS(created), fromTS(updated)
	a.BalanceStartsAt, a.BalanceEndsAt = fromTSPtr(balanceStarts), fromTSPtr(balanceEnds)
	a.PublishedAt, a.EndedAt = fromTSPtr(published), fromTSPtr(endd)
	a.Items = []presale.Item{}
	return &a, nil
}

func (s *Store) CreatePresale(ctx context.Context, a *presale.Activity) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO presales (`+presaleColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Title, a.Rules, a.ShareNotice, a.Status, a.Mode, a.Basis, ts(a.StartsAt), ts(a.EndsAt),
			tsPtr(a.BalanceStartsAt), tsPtr(a.BalanceEndsAt), ts(a.ShipsBy), a.PerBuyerLimit, a.MaxDepth,
			ts(a.CreatedAt), ts(a.UpdatedAt), tsPtr(a.PublishedAt), tsPtr(a.EndedAt)); err != nil {
			return err
		}
		return insertPresaleItems(ctx, tx, a)
	})
	return errs.Wrap(err, "presale: create")
}

func insertPresaleItems(ctx context.Context, tx *sql.Tx, a *presale.Activity) error {
	for i, it := range a.Items {
		steps, err := json.Marshal(it.Steps)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO presale_items (presale_id, position, sku_id, quota, sold, deposit, steps)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, i, it.SKUID, it.Quota, it.Sold, it.Deposit, string(steps)); err != nil {
			return err
		}
	}
	return nil
}

// presaleItems reads the items of the given presales, in position order.
func presaleItems(ctx context.Context, db presaleDB, as []*presale.Activity) error {
	if len(as) == 0 {
		return nil
	}
	byID := make(map[string]*presale.Activity, len(as))
	args := make([]any, len(as))
	for i, a := range as {
		byID[a.ID], args[i] = a, a.ID
	}
	rows, err := db.QueryContext(ctx, `SELECT presale_id, sku_id, quota, sold, deposit, steps FROM presale_items
		WHERE presale_id IN (?`+strings.Repeat(", ?", len(as)-1)+`) ORDER BY presale_id, position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, steps string
			it        presale.Item
		)
		if err := rows.Scan(&id, &it.SKUID, &it.Quota, &it.Sold, &it.Deposit, &steps); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(steps), &it.Steps); err != nil {
			return err
		}
		byID[id].Items = append(byID[id].Items, it)
	}
	return rows.Err()
}

func loadPresale(ctx context.Context, db presaleDB, id string) (*presale.Activity, error) {
	a, err := scanPresale(db.QueryRowContext(ctx, `SELECT `+presaleColumns+` FROM presales WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, presale.ErrActivityNotFound
	}
	if err != nil {
		return nil, err
	}
	return a, presaleItems(ctx, db, []*presale.Activity{a})
}

func (s *Store) Presale(ctx context.Context, id string) (*presale.Activity, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrActivityNotFound
	}
	a, err := loadPresale(ctx, s.r, id)
	if err != nil && !errors.Is(err, presale.ErrActivityNotFound) {
		return nil, errs.Wrap(err, "presale: read %s", id)
	}
	return a, err
}

func (s *Store) UpdatePresale(ctx context.Context, id string, fn func(a *presale.Activity) error) (*presale.Activity, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrActivityNotFound
	}
	var out *presale.Activity
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := loadPresale(ctx, tx, id)
		if err != nil {
			return err
		}
		wasDraft := a.Status == presale.Draft
		if err := fn(a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE presales SET title = ?, rules = ?, share_notice = ?, status = ?,
			mode = ?, basis = ?, starts_at = ?, ends_at = ?, balance_starts_at = ?, balance_ends_at = ?, ships_by = ?,
			per_buyer_limit = ?, max_depth = ?, updated_at = ?, published_at = ?, ended_at = ? WHERE id = ?`,
			a.Title, a.Rules, a.ShareNotice, a.Status, a.Mode, a.Basis, ts(a.StartsAt), ts(a.EndsAt),
			tsPtr(a.BalanceStartsAt), tsPtr(a.BalanceEndsAt), ts(a.ShipsBy), a.PerBuyerLimit, a.MaxDepth,
			ts(a.UpdatedAt), tsPtr(a.PublishedAt), tsPtr(a.EndedAt), a.ID); err != nil {
			return err
		}
		if wasDraft {
			// A draft sold nothing: its items are replaced as they are.
			if _, err := tx.ExecContext(ctx, `DELETE FROM presale_items WHERE presale_id = ?`, a.ID); err != nil {
				return err
			}
			if err := insertPresaleItems(ctx, tx, a); err != nil {
				return err
			}
		}
		out, err = loadPresale(ctx, tx, id)
		return err
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "presale: update %s", id)
	}
	return out, nil
}

func (s *Store) Presales(ctx context.Context, f presale.ActivityFilter) (presale.ActivityPage, error) {
	limit := page.Size(f.Limit, presale.DefaultLimit, presale.MaxLimit)
	var n newest
	n.eq("status", string(f.Status))
	if err := n.after(presaleCursor, f.Cursor); err != nil {
		return presale.ActivityPage{}, presale.ErrBadCursor
	}
	q, args := n.query(presaleColumns, "presales", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return presale.ActivityPage{}, errs.Wrap(err, "presale: list")
	}
	var list []presale.Activity
	for rows.Next() {
		a, err := scanPresale(rows)
		if err != nil {
			rows.Close()
			return presale.ActivityPage{}, errs.Wrap(err, "presale: list")
		}
		list = append(list, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return presale.ActivityPage{}, errs.Wrap(err, "presale: list")
	}
	out := presale.ActivityPage{}
	out.Activities, out.NextCursor = cursor.Page(presaleCursor, list, limit,
		func(a *presale.Activity) (int64, string) { return ts(a.CreatedAt), a.ID })
	ptrs := make([]*presale.Activity, len(out.Activities))
	for i := range out.Activities {
		ptrs[i] = &out.Activities[i]
	}
	if err := presaleItems(ctx, s.r, ptrs); err != nil {
		return presale.ActivityPage{}, errs.Wrap(err, "presale: list items")
	}
	if out.Activities == nil {
		out.Activities = []presale.Activity{}
	}
	return out, nil
}
