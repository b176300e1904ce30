package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// The bargain store. SQLite has one writer and every write runs in an
// immediate transaction, so what PostgreSQL serialises with row and
// advisory locks (the helps of one bargain, one helper's helps, one buyer's
// opens) is serialised here by the writer itself.

// bargainDB is the writer's transaction or the reader pool.
type bargainDB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type bargainRow interface{ Scan(...any) error }

const (
	bargainActivityColumns = `id, title, rules, share_notice, status, starts_at, ends_at, sku_id, from_price,
	floor_price, helpers, bargain_hours, reward_value, reward_description, reward_coupon_template_id,
	buy_at_current, pay_hours, quota, sold,
	per_buyer_limit, show_schedule, max_depth, created_at, updated_at, published_at, ended_at`
	bargainColumns = `id, activity_id, initiator_id, sku_id, from_price, floor_price, schedule, cuts, price, status,
	buy_at_current, pay_hours, reward_value, reward_description, reward_coupon_template_id, coalesce(order_id, ''),
	expires_at, order_by,
	succeeded_at, expired_at, created_at, updated_at`
	bargainHelpColumns = `id, bargain_id, helper_id, helper_since, device_id, ip, slot, amount, status, reasons,
	created_at, decided_at, decided_by`

	bargainActivityCursor = "bargain_activities_newest"
	bargainCursor         = "bargains_newest"
	bargainHelpCursor     = "bargain_helps_newest"
)

// bargainReward is the reward the columns hold: none when they hold neither
// a value nor a coupon (a free-shipping coupon may be worth 0 to the lint).
func bargainReward(value int64, desc, couponTemplateID string) *bargain.Reward {
	if value == 0 && couponTemplateID == "" {
		return nil
	}
	return &bargain.Reward{Value: money.Fen(value), Description: desc, CouponTemplateID: couponTemplateID}
}

func bargainRewardColumns(r *bargain.Reward) (int64, string, string) {
	if r == nil {
		return 0, "", ""
	}
	return int64(r.Value), r.Description, r.CouponTemplateID
}

func scanBargainActivity(row bargainRow) (*bargain.Activity, error) {
	var (
		a                                bargain.Activity
		starts, ends, created, updated   int64
		published, ended                 sql.NullInt64
		rewardValue                      int64
		rewardDesc, rewardCoupon, status string
		from, floor                      int64
	)
	if err := row.Scan(&a.ID, &a.Title, &a.Rules, &a.ShareNotice, &status, &starts, &ends, &a.SKUID, &from, &floor,
		&a.Helpers, &a.BargainHours, &rewardValue, &rewardDesc, &rewardCoupon, &a.BuyAtCurrent, &a.PayHours, &a.Quota, &a.Sold,
		&a.PerBuyerLimit, &a.ShowSchedule, &a.MaxDepth, &created, &updated, &published, &ended); err != nil {
		return nil, err
	}
	a.Status, a.FromPrice, a.FloorPrice = bargain.ActivityStatus(status), money.Fen(from), money.Fen(floor)
	a.StartsAt, a.EndsAt, a.CreatedAt, a.UpdatedAt = fromTS(starts), fromTS(ends), fromTS(created), fromTS(updated)
	a.PublishedAt, a.EndedAt, a.Reward = fromTSPtr(published), fromTSPtr(ended), bargainReward(rewardValue, rewardDesc, rewardCoupon)
	return &a, nil
}

func (s *Store) CreateBargainActivity(ctx context.Context, a *bargain.Activity) error {
	rv, rd, rt := bargainRewardColumns(a.Reward)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bargain_activities (`+bargainActivityColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Title, a.Rules, a.ShareNotice, string(a.Status), ts(a.StartsAt), ts(a.EndsAt), a.SKUID,
			int64(a.FromPrice), int64(a.FloorPrice), a.Helpers, a.BargainHours, rv, rd, rt, a.BuyAtCurrent, a.PayHours,
			a.Quota, a.Sold, a.PerBuyerLimit, a.ShowSchedule, a.MaxDepth, ts(a.CreatedAt), ts(a.UpdatedAt),
			tsPtr(a.PublishedAt), tsPtr(a.EndedAt))
		return err
	})
	return errs.Wrap(err, "bargain: create activity")
}

func loadBargainActivity(ctx context.Context, db bargainDB, id string) (*bargain.Activity, error) {
	a, err := scanBargainActivity(db.QueryRowContext(ctx, `SELECT `+bargainActivityColumns+`
		FROM bargain_activities WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bargain.ErrActivityNotFound
	}
	return a, err
}

func (s *Store) BargainActivity(ctx context.Context, id string) (*bargain.Activity, error) {
	a, err := loadBargainActivity(ctx, s.r, id)
	if err != nil && !errors.Is(err, bargain.ErrActivityNotFound) {
		return nil, errs.Wrap(err, "bargain: read activity %s", id)
	}
	return a, err
}

func (s *Store) UpdateBargainActivity(ctx context.Context, id string, fn func(a *bargain.Activity) error) (*bargain.Activity, error) {
	var out *bargain.Activity
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := loadBargainActivity(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		rv, rd, rt := bargainRewardColumns(a.Reward)
		if _, err := tx.ExecContext(ctx, `UPDATE bargain_activities SET title = ?, rules = ?, share_notice = ?,
			status = ?, starts_at = ?, ends_at = ?, sku_id = ?, from_price = ?, floor_price = ?, helpers = ?,
			bargain_hours = ?, reward_value = ?, reward_description = ?, reward_coupon_template_id = ?, buy_at_current = ?, pay_hours = ?,
			quota = ?, per_buyer_limit = ?, show_schedule = ?, max_depth = ?, updated_at = ?, published_at = ?,
			ended_at = ? WHERE id = ?`,
			a.Title, a.Rules, a.ShareNotice, string(a.Status), ts(a.StartsAt), ts(a.EndsAt), a.SKUID,
			int64(a.FromPrice), int64(a.FloorPrice), a.Helpers, a.BargainHours, rv, rd, rt, a.BuyAtCurrent,
			a.PayHours, a.Quota, a.PerBuyerLimit, a.ShowSchedule, a.MaxDepth, ts(a.UpdatedAt),
			tsPtr(a.PublishedAt), tsPtr(a.EndedAt), a.ID); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, errs.Wrap(err, "bargain: update activity %s", id)
}

func (s *Store) BargainActivities(ctx context.Context, f bargain.ActivityFilter) (bargain.ActivityPage, error) {
	limit := bargainPageLimit(f.Limit)
	var n newest
	n.eq("status", string(f.Status))
	if err := n.after(bargainActivityCursor, f.Cursor); err != nil {
		return bargain.ActivityPage{}, bargain.ErrBadCursor
	}
	q, args := n.query(bargainActivityColumns, "bargain_activities", limit)
	page := bargain.ActivityPage{Activities: []bargain.Activity{}}
	err := scanBargainRows(ctx, s.r, q, args, func(r bargainRow) error {
		a, err := scanBargainActivity(r)
		if err == nil {
			page.Activities = append(page.Activities, *a)
		}
		return err
	})
	if err != nil {
		return bargain.ActivityPage{}, errs.Wrap(err, "bargain: list activities")
	}
	page.Activities, page.NextCursor = cursor.Page(bargainActivityCursor, page.Activities, limit,
		func(a *bargain.Activity) (int64, string) { return ts(a.CreatedAt), a.ID })
	return page, nil
}

// bargainPageLimit is a listing's page size: 20 unless asked, at most 100.
func bargainPageLimit(limit int) int { return page.Size(limit, 20, 100) }

// scanBargainRows runs a query and hands each row to scan.
func scanBargainRows(ctx context.Context, db bargainDB, q string, args []any, scan func(bargainRow) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanBargain(row bargainRow) (*bargain.Bargain, error) {
	var (
		b                                          bargain.Bargain
		from, floor, price, rewardValue            int64
		schedule, status, rewardDesc, rewardCoupon string
		expires, created, updated                  int64
		orderBy, succeeded, expired                sql.NullInt64
	)
	if err := row.Scan(&b.ID, &b.ActivityID, &b.InitiatorID, &b.SKUID, &from, &floor, &schedule, &b.Cuts, &price,
		&status, &b.BuyAtCurrent, &b.PayHours, &rewardValue, &rewardDesc, &rewardCoupon, &b.OrderID, &expires, &orderBy,
		&succeeded, &expired, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(schedule), &b.Schedule); err != nil {
		return nil, err
	}
	b.From, b.Floor, b.Price, b.Status = money.Fen(from), money.Fen(floor), money.Fen(price), bargain.Status(status)
	b.Reward, b.ExpiresAt, b.CreatedAt, b.UpdatedAt = bargainReward(rewardValue, rewardDesc, rewardCoupon), fromTS(expires), fromTS(created), fromTS(updated)
	b.OrderBy, b.SucceededAt, b.ExpiredAt = fromTSPtr(orderBy), fromTSPtr(succeeded), fromTSPtr(expired)
	return &b, nil
}

func loadBargain(ctx context.Context, db bargainDB, where string, args ...any) (*bargain.Bargain, error) {
	b, err := scanBargain(db.QueryRowContext(ctx, `SELECT `+bargainColumns+` FROM bargains WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bargain.ErrNotFound
	}
	return b, err
}

func (s *Store) OpenBargain(ctx context.Context, b *bargain.Bargain, limit int, ev []outbox.Event, js []jobs.Job) (*bargain.Bargain, bool, error) {
	schedule, err := json.Marshal(b.Schedule)
	if err != nil {
		return nil, false, err
	}
	out, opened := b, true
	err = s.tx(ctx, func(tx *sql.Tx) error {
		a, err := loadBargainActivity(ctx, tx, b.ActivityID)
		if err != nil {
			return err
		}
		if a.Status != bargain.Published {
			return bargain.ErrActivityNotOpen
		}
		prev, err := loadBargain(ctx, tx, `activity_id = ? AND initiator_id = ? AND status = 'open'`, b.ActivityID, b.InitiatorID)
		if err == nil {
			out, opened = prev, false
			return nil
		}
		if !errors.Is(err, bargain.ErrNotFound) {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM bargains WHERE activity_id = ? AND initiator_id = ?`,
			b.ActivityID, b.InitiatorID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return bargain.ErrLimitReached
		}
		rv, rd, rt := bargainRewardColumns(b.Reward)
		if _, err := tx.ExecContext(ctx, `INSERT INTO bargains (id, activity_id, initiator_id, sku_id, from_price,
			floor_price, schedule, cuts, price, status, buy_at_current, pay_hours, reward_value, reward_description, reward_coupon_template_id,
			order_id, expires_at, order_by, succeeded_at, expired_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.ActivityID, b.InitiatorID, b.SKUID, int64(b.From), int64(b.Floor), string(schedule), b.Cuts,
			int64(b.Price), string(b.Status), b.BuyAtCurrent, b.PayHours, rv, rd, rt, nullText(b.OrderID),
			ts(b.ExpiresAt), tsPtr(b.OrderBy), tsPtr(b.SucceededAt), tsPtr(b.ExpiredAt), ts(b.CreatedAt),
			ts(b.UpdatedAt)); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, ev); err != nil {
			return err
		}
		return insertJobs(ctx, tx, js)
	})
	if err != nil {
		return nil, false, errs.Wrap(err, "bargain: open")
	}
	return out, opened, nil
}

func (s *Store) Bargain(ctx context.Context, id string) (*bargain.Bargain, error) {
	b, err := loadBargain(ctx, s.r, `id = ?`, id)
	if err != nil && !errors.Is(err, bargain.ErrNotFound) {
		return nil, errs.Wrap(err, "bargain: read %s", id)
	}
	return b, err
}

func (s *Store) Bargains(ctx context.Context, f bargain.BargainFilter) (bargain.BargainPage, error) {
	limit := bargainPageLimit(f.Limit)
	var n newest
	n.eq("activity_id", f.ActivityID)
	n.eq("status", string(f.Status))
	if err := n.after(bargainCursor, f.Cursor); err != nil {
		return bargain.BargainPage{}, bargain.ErrBadCursor
	}
	q, args := n.query(bargainColumns, "bargains", limit)
	page := bargain.BargainPage{Bargains: []bargain.Bargain{}}
	err := scanBargainRows(ctx, s.r, q, args, func(r bargainRow) error {
		b, err := scanBargain(r)
		if err == nil {
			page.Bargains = append(page.Bargains, *b)
		}
		return err
	})
	if err != nil {
		return bargain.BargainPage{}, errs.Wrap(err, "bargain: list")
	}
	page.Bargains, page.NextCursor = cursor.Page(bargainCursor, page.Bargains, limit,
		func(b *bargain.Bargain) (int64, string) { return ts(b.CreatedAt), b.ID })
	return page, nil
}

// saveBargain writes what a bargain's life changes.
func saveBargain(ctx context.Context, tx *sql.Tx, b *bargain.Bargain) error {
	_, err := tx.ExecContext(ctx, `UPDATE bargains SET cuts = ?, price = ?, status = ?, order_id = ?, order_by = ?,
		succeeded_at = ?, expired_at = ?, updated_at = ? WHERE id = ?`,
		b.Cuts, int64(b.Price), string(b.Status), nullText(b.OrderID), tsPtr(b.OrderBy), tsPtr(b.SucceededAt),
		tsPtr(b.ExpiredAt), ts(b.UpdatedAt), b.ID)
	return err
}

func (s *Store) UpdateBargain(ctx context.Context, id string, fn func(b *bargain.Bargain) (bargain.Change, error)) (*bargain.Bargain, error) {
	var out *bargain.Bargain
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := loadBargain(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		c, err := fn(b)
		if errors.Is(err, bargain.ErrNoop) {
			out = b
			return nil
		}
		if err != nil {
			return err
		}
		if err := saveBargain(ctx, tx, b); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, c.Events); err != nil {
			return err
		}
		out = b
		return insertJobs(ctx, tx, c.Jobs)
	})
	if err != nil {
		return nil, errs.Wrap(err, "bargain: update %s", id)
	}
	return out, nil
}

func (s *Store) OrderBargain(ctx context.Context, bargainID string, d *order.Draft, check func(b *bargain.Bargain) error) (*bargain.Bargain, error) {
	var out *bargain.Bargain
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b, err := loadBargain(ctx, tx, `id = ?`, bargainID)
		if err != nil {
			return err
		}
		if err := check(b); err != nil {
			return err
		}
		b.OrderID, b.UpdatedAt = d.Order.ID, d.Order.CreatedAt
		if err := saveBargain(ctx, tx, b); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE bargain_activities SET sold = sold + 1 WHERE id = ? AND sold < quota`, b.ActivityID)
		if err := oneRow(res, err, bargain.ErrSoldOut); err != nil {
			return err
		}
		out = b
		return s.createOrder(ctx, tx, d.Order, d.Events, d.Jobs)
	})
	if err != nil {
		return nil, errs.Wrap(err, "bargain: order %s", bargainID)
	}
	return out, nil
}

func (s *Store) FreeBargainOrder(ctx context.Context, bargainID, orderID string, at time.Time) (bool, error) {
	freed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE bargains SET order_id = NULL, updated_at = ? WHERE id = ? AND order_id = ?`,
			ts(at), bargainID, orderID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		freed = true
		_, err = tx.ExecContext(ctx, `UPDATE bargain_activities SET sold = sold - 1
			WHERE id = (SELECT activity_id FROM bargains WHERE id = ?)`, bargainID)
		return err
	})
	return freed, errs.Wrap(err, "bargain: free order %s of %s", orderID, bargainID)
}
