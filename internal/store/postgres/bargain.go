package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// The bargain store. The helps of one bargain serialise on the bargain's
// row (FOR UPDATE); one helper's helps, over all bargains, on an advisory
// lock of the helper, taken before the row (and no path takes them the
// other way round), so their daily cap holds however many bargains they
// help at once; one buyer's opens on an activity on an
// advisory lock of the pair. A help and an order each take two round trips:
// the locks and reads, then the writes with the COMMIT.

const (
	bargainActivityColumns = `id, title, rules, share_notice, status, starts_at, ends_at, sku_id, from_price,
	floor_price, helpers, bargain_hours, reward_value, reward_description, reward_coupon_template_id,
	buy_at_current, pay_hours, quota, sold,
	per_buyer_limit, show_schedule, max_depth, created_at, updated_at, published_at, ended_at`
	bargainColumns = `id, activity_id, initiator_id, sku_id, from_price, floor_price, schedule, cuts, price, status,
	buy_at_current, pay_hours, reward_value, reward_description, reward_coupon_template_id, coalesce(order_id::text, ''),
	expires_at, order_by,
	succeeded_at, expired_at, created_at, updated_at`
	bargainHelpColumns = `id, bargain_id, helper_id, helper_since, device_id, ip, slot, amount, status, reasons,
	created_at, decided_at, decided_by`

	bargainActivityCursor = "bargain_activities_newest"
	bargainCursor         = "bargains_newest"
	bargainHelpCursor     = "bargain_helps_newest"

	// bargainQuota is the constraint that refuses a unit past the quota.
	bargainQuota = "bargain_quota"
)

// bargainLock is the advisory lock key of a name: a collision only
// serialises two unrelated names a little, it never lets two of one name in.
const bargainLock = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

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

// bargainUTC puts times pgx read (in the local zone) in UTC.
func bargainUTC(ts ...*time.Time) {
	for _, t := range ts {
		if t != nil {
			*t = t.UTC()
		}
	}
}

func scanBargainActivity(row pgx.Row) (*bargain.Activity, error) {
	var (
		a                                bargain.Activity
		from, floor, rv                  int64
		rewardDesc, rewardCoupon, status string
	)
	if err := row.Scan(&a.ID, &a.Title, &a.Rules, &a.ShareNotice, &status, &a.StartsAt, &a.EndsAt, &a.SKUID, &from,
		&floor, &a.Helpers, &a.BargainHours, &rv, &rewardDesc, &rewardCoupon, &a.BuyAtCurrent, &a.PayHours, &a.Quota, &a.Sold,
		&a.PerBuyerLimit, &a.ShowSchedule, &a.MaxDepth, &a.CreatedAt, &a.UpdatedAt, &a.PublishedAt, &a.EndedAt); err != nil {
		return nil, err
	}
	a.Status, a.FromPrice, a.FloorPrice = bargain.ActivityStatus(status), money.Fen(from), money.Fen(floor)
	a.Reward = bargainReward(rv, rewardDesc, rewardCoupon)
	bargainUTC(&a.StartsAt, &a.EndsAt, &a.CreatedAt, &a.UpdatedAt, a.PublishedAt, a.EndedAt)
	return &a, nil
}

func (s *Store) CreateBargainActivity(ctx context.Context, a *bargain.Activity) error {
	rv, rd, rt := bargainRewardColumns(a.Reward)
	_, err := s.pool.Exec(ctx, `INSERT INTO bargain_activities (`+bargainActivityColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
			$23, $24, $25, $26)`,
		a.ID, a.Title, a.Rules, a.ShareNotice, string(a.Status), a.StartsAt, a.EndsAt, a.SKUID, int64(a.FromPrice),
		int64(a.FloorPrice), a.Helpers, a.BargainHours, rv, rd, rt, a.BuyAtCurrent, a.PayHours, a.Quota, a.Sold,
		a.PerBuyerLimit, a.ShowSchedule, a.MaxDepth, a.CreatedAt, a.UpdatedAt, a.PublishedAt, a.EndedAt)
	return errs.Wrap(err, "bargain: create activity")
}

func loadBargainActivity(ctx context.Context, db refundDB, id, lock string) (*bargain.Activity, error) {
	if !ids.Valid(id) {
		return nil, bargain.ErrActivityNotFound
	}
	a, err := scanBargainActivity(db.QueryRow(ctx, `SELECT `+bargainActivityColumns+`
		FROM bargain_activities WHERE id = $1 `+lock, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, bargain.ErrActivityNotFound
	}
	return a, err
}

func (s *Store) BargainActivity(ctx context.Context, id string) (*bargain.Activity, error) {
	a, err := loadBargainActivity(ctx, s.pool, id, "")
	if err != nil && !errors.Is(err, bargain.ErrActivityNotFound) {
		return nil, errs.Wrap(err, "bargain: read activity %s", id)
	}
	return a, err
}

func (s *Store) UpdateBargainActivity(ctx context.Context, id string, fn func(a *bargain.Activity) error) (*bargain.Activity, error) {
	var out *bargain.Activity
	err := s.tx(ctx, func(tx pgx.Tx) error {
		a, err := loadBargainActivity(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		rv, rd, rt := bargainRewardColumns(a.Reward)
		if _, err := tx.Exec(ctx, `UPDATE bargain_activities SET title = $1, rules = $2, share_notice = $3,
			status = $4, starts_at = $5, ends_at = $6, sku_id = $7, from_price = $8, floor_price = $9, helpers = $10,
			bargain_hours = $11, reward_value = $12, reward_description = $13, reward_coupon_template_id = $14,
			buy_at_current = $15, pay_hours = $16, quota = $17, per_buyer_limit = $18, show_schedule = $19,
			max_depth = $20, updated_at = $21, published_at = $22, ended_at = $23 WHERE id = $24`,
			a.Title, a.Rules, a.ShareNotice, string(a.Status), a.StartsAt, a.EndsAt, a.SKUID, int64(a.FromPrice),
			int64(a.FloorPrice), a.Helpers, a.BargainHours, rv, rd, rt, a.BuyAtCurrent, a.PayHours, a.Quota,
			a.PerBuyerLimit, a.ShowSchedule, a.MaxDepth, a.UpdatedAt, a.PublishedAt, a.EndedAt, a.ID); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, errs.Wrap(err, "bargain: update activity %s", id)
}

// bargainPageLimit is a listing's page size: 20 unless asked, at most 100.
func bargainPageLimit(limit int) int { return page.Size(limit, 20, 100) }

// scanBargainRows runs a query and hands each row to scan.
func scanBargainRows(ctx context.Context, db refundDB, q string, args []any, scan func(pgx.Row) error) error {
	rows, err := db.Query(ctx, q, args...)
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

func (s *Store) BargainActivities(ctx context.Context, f bargain.ActivityFilter) (bargain.ActivityPage, error) {
	limit := bargainPageLimit(f.Limit)
	var n newest
	n.eq("status", string(f.Status))
	if err := n.after(bargainActivityCursor, f.Cursor); err != nil {
		return bargain.ActivityPage{}, bargain.ErrBadCursor
	}
	q, args := n.query(bargainActivityColumns, "bargain_activities", limit)
	page := bargain.ActivityPage{Activities: []bargain.Activity{}}
	err := scanBargainRows(ctx, s.pool, q, args, func(r pgx.Row) error {
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
		func(a *bargain.Activity) (int64, string) { return a.CreatedAt.UnixMicro(), a.ID })
	return page, nil
}

func scanBargain(row pgx.Row) (*bargain.Bargain, error) {
	var (
		b                                bargain.Bargain
		from, floor, price, rv           int64
		schedule                         []int64
		status, rewardDesc, rewardCoupon string
	)
	if err := row.Scan(&b.ID, &b.ActivityID, &b.InitiatorID, &b.SKUID, &from, &floor, &schedule, &b.Cuts, &price,
		&status, &b.BuyAtCurrent, &b.PayHours, &rv, &rewardDesc, &rewardCoupon, &b.OrderID, &b.ExpiresAt, &b.OrderBy,
		&b.SucceededAt, &b.ExpiredAt, &b.CreatedAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	b.Schedule = make([]money.Fen, len(schedule))
	for i, c := range schedule {
		b.Schedule[i] = money.Fen(c)
	}
	b.From, b.Floor, b.Price, b.Status = money.Fen(from), money.Fen(floor), money.Fen(price), bargain.Status(status)
	b.Reward = bargainReward(rv, rewardDesc, rewardCoupon)
	bargainUTC(&b.ExpiresAt, &b.CreatedAt, &b.UpdatedAt, b.OrderBy, b.SucceededAt, b.ExpiredAt)
	return &b, nil
}

// queueLoadBargain queues the read of the bargain whose id idExpr (an SQL
// expression of $1, arg) gives, locked FOR UPDATE, setting *found when
// there is one.
func queueLoadBargain(bt *pgx.Batch, idExpr string, arg any) (b *bargain.Bargain, found *bool) {
	b, found = &bargain.Bargain{}, new(bool)
	bt.Queue(`SELECT `+bargainColumns+` FROM bargains WHERE id = `+idExpr+` FOR UPDATE`, arg).QueryRow(func(row pgx.Row) error {
		got, err := scanBargain(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*b, *found = *got, true
		return nil
	})
	return b, found
}

func loadBargain(ctx context.Context, db refundDB, where string, args ...any) (*bargain.Bargain, error) {
	b, err := scanBargain(db.QueryRow(ctx, `SELECT `+bargainColumns+` FROM bargains WHERE `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, bargain.ErrNotFound
	}
	return b, err
}

func bargainSchedule(b *bargain.Bargain) []int64 {
	out := make([]int64, len(b.Schedule))
	for i, c := range b.Schedule {
		out[i] = int64(c)
	}
	return out
}

func (s *Store) OpenBargain(ctx context.Context, b *bargain.Bargain, limit int, ev []outbox.Event, js []jobs.Job) (*bargain.Bargain, bool, error) {
	if !ids.Valid(b.ActivityID) {
		return nil, false, bargain.ErrActivityNotFound
	}
	out, opened := b, true
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, bargainLock, "bargain-open:"+b.ActivityID+":"+b.InitiatorID); err != nil {
			return err
		}
		// FOR SHARE: an operator ending the activity waits for the opens
		// under way, and none starts after the end commits.
		a, err := loadBargainActivity(ctx, tx, b.ActivityID, "FOR SHARE")
		if err != nil {
			return err
		}
		if a.Status != bargain.Published {
			return bargain.ErrActivityNotOpen
		}
		prev, err := loadBargain(ctx, tx, `activity_id = $1 AND initiator_id = $2 AND status = 'open'`, b.ActivityID, b.InitiatorID)
		if err == nil {
			out, opened = prev, false
			return nil
		}
		if !errors.Is(err, bargain.ErrNotFound) {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM bargains WHERE activity_id = $1 AND initiator_id = $2`,
			b.ActivityID, b.InitiatorID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return bargain.ErrLimitReached
		}
		rv, rd, rt := bargainRewardColumns(b.Reward)
		w := &pgx.Batch{}
		w.Queue(`INSERT INTO bargains (id, activity_id, initiator_id, sku_id, from_price, floor_price, schedule, cuts,
			price, status, buy_at_current, pay_hours, reward_value, reward_description, reward_coupon_template_id,
			order_id, expires_at, order_by,
			succeeded_at, expired_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
			b.ID, b.ActivityID, b.InitiatorID, b.SKUID, int64(b.From), int64(b.Floor), bargainSchedule(b), b.Cuts,
			int64(b.Price), string(b.Status), b.BuyAtCurrent, b.PayHours, rv, rd, rt, nullText(b.OrderID), b.ExpiresAt,
			b.OrderBy, b.SucceededAt, b.ExpiredAt, b.CreatedAt, b.UpdatedAt)
		queueEvents(w, ev)
		queueJobs(w, js)
		return tx.SendBatch(ctx, w).Close()
	})
	if err != nil {
		return nil, false, errs.Wrap(err, "bargain: open")
	}
	return out, opened, nil
}

func (s *Store) Bargain(ctx context.Context, id string) (*bargain.Bargain, error) {
	if !ids.Valid(id) {
		return nil, bargain.ErrNotFound
	}
	b, err := loadBargain(ctx, s.pool, `id = $1`, id)
	if err != nil && !errors.Is(err, bargain.ErrNotFound) {
		return nil, errs.Wrap(err, "bargain: read %s", id)
	}
	return b, err
}

func (s *Store) Bargains(ctx context.Context, f bargain.BargainFilter) (bargain.BargainPage, error) {
	limit := bargainPageLimit(f.Limit)
	if f.ActivityID != "" && !ids.Valid(f.ActivityID) {
		return bargain.BargainPage{Bargains: []bargain.Bargain{}}, nil
	}
	var n newest
	n.eq("activity_id", f.ActivityID)
	n.eq("status", string(f.Status))
	if err := n.after(bargainCursor, f.Cursor); err != nil {
		return bargain.BargainPage{}, bargain.ErrBadCursor
	}
	q, args := n.query(bargainColumns, "bargains", limit)
	page := bargain.BargainPage{Bargains: []bargain.Bargain{}}
	err := scanBargainRows(ctx, s.pool, q, args, func(r pgx.Row) error {
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
		func(b *bargain.Bargain) (int64, string) { return b.CreatedAt.UnixMicro(), b.ID })
	return page, nil
}

// queueSaveBargain queues the write of what a bargain's life changes.
func queueSaveBargain(w *pgx.Batch, b *bargain.Bargain) {
	w.Queue(`UPDATE bargains SET cuts = $1, price = $2, status = $3, order_id = $4, order_by = $5,
		succeeded_at = $6, expired_at = $7, updated_at = $8 WHERE id = $9`,
		b.Cuts, int64(b.Price), string(b.Status), nullText(b.OrderID), b.OrderBy, b.SucceededAt, b.ExpiredAt,
		b.UpdatedAt, b.ID)
}

func (s *Store) UpdateBargain(ctx context.Context, id string, fn func(b *bargain.Bargain) (bargain.Change, error)) (*bargain.Bargain, error) {
	if !ids.Valid(id) {
		return nil, bargain.ErrNotFound
	}
	var out *bargain.Bargain
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b, err := loadBargain(ctx, tx, `id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		before := *b
		c, err := fn(b)
		if errors.Is(err, bargain.ErrNoop) {
			out = &before
			return errNothingToWrite
		}
		if err != nil {
			return err
		}
		w := &pgx.Batch{}
		queueSaveBargain(w, b)
		queueEvents(w, c.Events)
		queueJobs(w, c.Jobs)
		out = b
		return tx.SendBatch(ctx, w).Close()
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "bargain: update %s", id)
	}
	return out, nil
}

// OrderBargain sends, after the bargain's lock, one batch with the COMMIT:
// the bargain's order id, the quota's unit (the bargain_quota check aborts
// the transaction when none is left) and the order, its stock last
// (siyu_move_stock aborts it when a SKU is short). The quota's and the
// SKU's rows are the ones every order of the activity shares: they are
// locked only while the server runs the end of the batch.
func (s *Store) OrderBargain(ctx context.Context, bargainID string, d *order.Draft, check func(b *bargain.Bargain) error) (*bargain.Bargain, error) {
	if !ids.Valid(bargainID) {
		return nil, bargain.ErrNotFound
	}
	r := &pgx.Batch{}
	b, found := queueLoadBargain(r, "$1", bargainID)
	err := s.readThenCommit(ctx, r, func() (*pgx.Batch, error) {
		if !*found {
			return nil, bargain.ErrNotFound
		}
		if err := check(b); err != nil {
			return nil, err
		}
		b.OrderID, b.UpdatedAt = d.Order.ID, d.Order.CreatedAt
		w := &pgx.Batch{}
		queueSaveBargain(w, b)
		w.Queue(`UPDATE bargain_activities SET sold = sold + 1 WHERE id = $1`, b.ActivityID)
		if err := s.queueCreateOrder(w, d.Order, d.Events, d.Jobs); err != nil {
			return nil, err
		}
		return w, nil
	})
	if sku, short := stockShort(err); short {
		return nil, inventory.OutOfStock(sku)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == bargainQuota {
		return nil, bargain.ErrSoldOut
	}
	if err != nil {
		return nil, errs.Wrap(err, "bargain: order %s", bargainID)
	}
	return b, nil
}

// FreeBargainOrder frees the order and its unit in one statement, so a
// repeat (the event delivered twice) finds nothing to free.
func (s *Store) FreeBargainOrder(ctx context.Context, bargainID, orderID string, at time.Time) (bool, error) {
	if !ids.Valid(bargainID) || !ids.Valid(orderID) {
		return false, nil
	}
	ct, err := s.pool.Exec(ctx, `WITH freed AS (
			UPDATE bargains SET order_id = NULL, updated_at = $3 WHERE id = $1 AND order_id = $2 RETURNING activity_id)
		UPDATE bargain_activities SET sold = sold - 1 WHERE id IN (SELECT activity_id FROM freed)`,
		bargainID, orderID, at)
	if err != nil {
		return false, errs.Wrap(err, "bargain: free order %s of %s", orderID, bargainID)
	}
	return ct.RowsAffected() == 1, nil
}
