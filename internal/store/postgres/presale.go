package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// The presale store. A purchase's claim takes the SKU's count with a
// conditional update, whose row lock orders the purchases of one SKU: the
// buyer's units, read after it, are then read in the order the claims
// commit. A purchase's change locks its row (FOR UPDATE) and, after it,
// whatever counts, stock and ledger accounts it moves; the claim never
// locks a purchase, so the two never wait on each other in opposite orders.

const (
	presaleColumns = `id, title, rules, share_notice, status, mode, basis, starts_at, ends_at, balance_starts_at,
	balance_ends_at, ships_by, per_buyer_limit, max_depth, created_at, updated_at, published_at, ended_at`
	presaleCursor = "presales_newest"
)

func scanPresale(row pgx.Row) (*presale.Activity, error) {
	var a presale.Activity
	if err := row.Scan(&a.ID, &a.Title, &a.Rules, &a.ShareNotice, &a.Status, &a.Mode, &a.Basis, &a.StartsAt, &a.EndsAt,
		&a.BalanceStartsAt, &a.BalanceEndsAt, &a.ShipsBy, &a.PerBuyerLimit, &a.MaxDepth, &a.CreatedAt, &a.UpdatedAt,
		&a.PublishedAt, &a.EndedAt); err != nil {
		return nil, err
	}
	a.StartsAt, a.EndsAt, a.ShipsBy = a.StartsAt.UTC(), a.EndsAt.UTC(), a.ShipsBy.UTC()
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	utc(a.BalanceStartsAt, a.BalanceEndsAt, a.PublishedAt, a.EndedAt)
	a.Items = []presale.Item{}
	return &a, nil
}

func (s *Store) CreatePresale(ctx context.Context, a *presale.Activity) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO presales (`+presaleColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			a.ID, a.Title, a.Rules, a.ShareNotice, a.Status, a.Mode, a.Basis, a.StartsAt, a.EndsAt,
			a.BalanceStartsAt, a.BalanceEndsAt, a.ShipsBy, a.PerBuyerLimit, a.MaxDepth, a.CreatedAt, a.UpdatedAt,
			a.PublishedAt, a.EndedAt); err != nil {
			return err
		}
		return insertPresaleItems(ctx, tx, a)
	})
	return errs.Wrap(err, "presale: create")
}

func insertPresaleItems(ctx context.Context, tx pgx.Tx, a *presale.Activity) error {
	b := &pgx.Batch{}
	for i, it := range a.Items {
		steps, err := json.Marshal(it.Steps)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO presale_items (presale_id, position, sku_id, quota, sold, deposit, steps)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, i, it.SKUID, it.Quota, it.Sold, it.Deposit, string(steps))
	}
	return tx.SendBatch(ctx, b).Close()
}

// presaleItems reads the items of the given presales, in position order.
func presaleItems(ctx context.Context, db refundDB, as []*presale.Activity) error {
	if len(as) == 0 {
		return nil
	}
	byID := make(map[string]*presale.Activity, len(as))
	idList := make([]string, len(as))
	for i, a := range as {
		byID[a.ID], idList[i] = a, a.ID
	}
	rows, err := db.Query(ctx, `SELECT presale_id::text, sku_id::text, quota, sold, deposit, steps FROM presale_items
		WHERE presale_id = ANY($1::uuid[]) ORDER BY presale_id, position`, idList)
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
		for i := range it.Steps {
			utc(it.Steps[i].FromTime)
		}
		byID[id].Items = append(byID[id].Items, it)
	}
	return rows.Err()
}

func loadPresale(ctx context.Context, db refundDB, id, lock string) (*presale.Activity, error) {
	a, err := scanPresale(db.QueryRow(ctx, `SELECT `+presaleColumns+` FROM presales WHERE id = $1 `+lock, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	a, err := loadPresale(ctx, s.pool, id, "")
	if err != nil && !errors.Is(err, presale.ErrActivityNotFound) {
		return nil, errs.Wrap(err, "presale: read %s", id)
	}
	return a, err
}

// UpdatePresale locks the activity row; a claim reads the activity's
// status in its own statement, so an end that commits first turns the
// claims after it away.
func (s *Store) UpdatePresale(ctx context.Context, id string, fn func(a *presale.Activity) error) (*presale.Activity, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrActivityNotFound
	}
	var out *presale.Activity
	err := s.tx(ctx, func(tx pgx.Tx) error {
		a, err := loadPresale(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		wasDraft := a.Status == presale.Draft
		if err := fn(a); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE presales SET title = $2, rules = $3, share_notice = $4, status = $5,
			mode = $6, basis = $7, starts_at = $8, ends_at = $9, balance_starts_at = $10, balance_ends_at = $11,
			ships_by = $12, per_buyer_limit = $13, max_depth = $14, updated_at = $15, published_at = $16, ended_at = $17
			WHERE id = $1`,
			a.ID, a.Title, a.Rules, a.ShareNotice, a.Status, a.Mode, a.Basis, a.StartsAt, a.EndsAt,
			a.BalanceStartsAt, a.BalanceEndsAt, a.ShipsBy, a.PerBuyerLimit, a.MaxDepth, a.UpdatedAt, a.PublishedAt,
			a.EndedAt); err != nil {
			return err
		}
		if wasDraft {
			// A draft sold nothing: its items are replaced as they are.
			if _, err := tx.Exec(ctx, `DELETE FROM presale_items WHERE presale_id = $1`, a.ID); err != nil {
				return err
			}
			if err := insertPresaleItems(ctx, tx, a); err != nil {
				return err
			}
		}
		out, err = loadPresale(ctx, tx, id, "")
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
	var list []presale.Activity
	err := scanBargainRows(ctx, s.pool, q, args, func(r pgx.Row) error {
		a, err := scanPresale(r)
		if err == nil {
			list = append(list, *a)
		}
		return err
	})
	if err != nil {
		return presale.ActivityPage{}, errs.Wrap(err, "presale: list")
	}
	out := presale.ActivityPage{Activities: []presale.Activity{}}
	if len(list) > 0 {
		out.Activities, out.NextCursor = cursor.Page(presaleCursor, list, limit,
			func(a *presale.Activity) (int64, string) { return a.CreatedAt.UnixMicro(), a.ID })
	}
	ptrs := make([]*presale.Activity, len(out.Activities))
	for i := range out.Activities {
		ptrs[i] = &out.Activities[i]
	}
	if err := presaleItems(ctx, s.pool, ptrs); err != nil {
		return presale.ActivityPage{}, errs.Wrap(err, "presale: list items")
	}
	return out, nil
}
