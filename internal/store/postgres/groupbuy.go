package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// Column lists, read in the order the scan functions scan them.
const (
	groupBuyColumns = `id, title, rules, share_notice, status, starts_at, ends_at, team_size, team_hours,
	per_buyer_limit, success_threshold, max_depth, leader_kind, leader_price, published_at, ended_at, created_at, updated_at`
	teamColumns = `id, activity_id, sku_id, leader_id, status, capacity, taken, paid, expires_at, final_size,
	final_price, opened_at, ended_at, created_at, updated_at`
	seatColumns = `id, team_id, activity_id, buyer_id, order_id, leader, qty, unit_price, amount, state,
	joined_at, paid_at, ended_at`
)

// Orderings named inside the listings' cursors.
const (
	groupBuyCursorOrder = "group_buys_newest"
	teamCursorOrder     = "teams_newest"
)

// claimRefusedCode is the SQLSTATE siyu_groupbuy_require raises (migration
// 0011), with the refusal's reason as its detail.
const claimRefusedCode = "SY002"

// claimRefusals are the reasons siyu_groupbuy_require is given, as the
// domain's errors. "seat" is looked into once the transaction is gone.
var claimRefusals = map[string]error{
	"buyer_limit_reached": groupbuy.ErrBuyerLimit,
	"quota_exhausted":     groupbuy.ErrQuotaExhausted,
}

func (s *Store) CreateGroupBuy(ctx context.Context, a *groupbuy.Activity) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO group_buys (`+groupBuyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`, groupBuyArgs(a)...)
	if err := queueGroupBuyItems(b, a); err != nil {
		return err
	}
	return errs.Wrap(s.sendCommitted(ctx, b), "groupbuy: create %s", a.ID)
}

func groupBuyArgs(a *groupbuy.Activity) []any {
	return []any{a.ID, a.Title, a.Rules, a.ShareNotice, a.Status, a.StartsAt, a.EndsAt, a.TeamSize, a.TeamHours,
		a.PerBuyerLimit, a.SuccessThreshold, a.MaxDepth, a.Leader.Kind, a.Leader.Price, a.PublishedAt, a.EndedAt,
		a.CreatedAt, a.UpdatedAt}
}

func queueGroupBuyItems(b *pgx.Batch, a *groupbuy.Activity) error {
	for i, it := range a.Items {
		tiers, err := json.Marshal(it.Tiers)
		if err != nil {
			return errs.Wrap(err, "groupbuy: tiers of %s", a.ID)
		}
		b.Queue(`INSERT INTO group_buy_items (activity_id, position, sku_id, quota, sold, tiers)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, i, it.SKUID, it.Quota, it.Sold, string(tiers))
	}
	return nil
}

// queueLoadGroupBuy queues the read of an activity (with lock, e.g. "FOR
// UPDATE") and its items; once the batch is read, *found says whether it
// exists.
func queueLoadGroupBuy(b *pgx.Batch, id, lock string) (a *groupbuy.Activity, found *bool) {
	a, found = &groupbuy.Activity{}, new(bool)
	b.Queue(`SELECT `+groupBuyColumns+` FROM group_buys WHERE id = $1 `+lock, id).QueryRow(func(row pgx.Row) error {
		got, err := scanGroupBuy(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*a, *found = *got, true
		return nil
	})
	b.Queue(`SELECT activity_id, sku_id, quota, sold, tiers FROM group_buy_items WHERE activity_id = $1 ORDER BY position`, id).
		Query(func(rows pgx.Rows) error {
			items, err := scanGroupBuyItems(rows)
			a.Items = items[id]
			return err
		})
	return a, found
}

func (s *Store) GroupBuy(ctx context.Context, id string) (*groupbuy.Activity, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrNotFound
	}
	b := &pgx.Batch{}
	a, found := queueLoadGroupBuy(b, id, "")
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, errs.Wrap(err, "groupbuy: read %s", id)
	}
	if !*found {
		return nil, groupbuy.ErrNotFound
	}
	return a, nil
}

func (s *Store) GroupBuys(ctx context.Context, f groupbuy.ActivityFilter) (groupbuy.ActivityPage, error) {
	limit := min(max(f.Limit, 1), groupbuy.MaxLimit)
	var n newest
	n.eq("status", string(f.Status))
	if err := n.after(groupBuyCursorOrder, f.Cursor); err != nil {
		return groupbuy.ActivityPage{}, groupbuy.ErrBadCursor
	}
	q, args := n.query(groupBuyColumns, "group_buys", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (groupbuy.Activity, error) {
		a, err := scanGroupBuy(row)
		if err != nil {
			return groupbuy.Activity{}, err
		}
		return *a, nil
	})
	if err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list")
	}
	var page groupbuy.ActivityPage
	page.Activities, page.NextCursor = cursor.Page(groupBuyCursorOrder, list, limit, func(a *groupbuy.Activity) (int64, string) {
		return a.CreatedAt.UnixMicro(), a.ID
	})
	if len(page.Activities) == 0 {
		return page, nil
	}
	activityIDs := make([]string, len(page.Activities))
	for i, a := range page.Activities {
		activityIDs[i] = a.ID
	}
	rows, err = s.pool.Query(ctx, `SELECT activity_id, sku_id, quota, sold, tiers FROM group_buy_items
		WHERE activity_id = ANY($1) ORDER BY activity_id, position`, activityIDs)
	if err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list items")
	}
	items, err := scanGroupBuyItems(rows)
	if err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list items")
	}
	for i := range page.Activities {
		page.Activities[i].Items = items[page.Activities[i].ID]
	}
	return page, nil
}

// UpdateGroupBuy locks the activity (FOR UPDATE) with its items in the
// batch that begins the transaction, lets fn decide, and sends the writes
// with the COMMIT.
func (s *Store) UpdateGroupBuy(ctx context.Context, id string, fn func(a *groupbuy.Activity) error) (*groupbuy.Activity, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrNotFound
	}
	reads := &pgx.Batch{}
	a, found := queueLoadGroupBuy(reads, id, "FOR UPDATE")
	err := s.readThenCommit(ctx, reads, func() (*pgx.Batch, error) {
		if !*found {
			return nil, groupbuy.ErrNotFound
		}
		if err := fn(a); err != nil {
			return nil, err
		}
		w := &pgx.Batch{}
		w.Queue(`UPDATE group_buys SET title = $2, rules = $3, share_notice = $4, status = $5, starts_at = $6,
			ends_at = $7, team_size = $8, team_hours = $9, per_buyer_limit = $10, success_threshold = $11,
			max_depth = $12, leader_kind = $13, leader_price = $14, published_at = $15, ended_at = $16,
			updated_at = $17 WHERE id = $1`,
			a.ID, a.Title, a.Rules, a.ShareNotice, a.Status, a.StartsAt, a.EndsAt, a.TeamSize, a.TeamHours,
			a.PerBuyerLimit, a.SuccessThreshold, a.MaxDepth, a.Leader.Kind, a.Leader.Price, a.PublishedAt, a.EndedAt,
			a.UpdatedAt)
		if a.Status == groupbuy.Draft {
			w.Queue(`DELETE FROM group_buy_items WHERE activity_id = $1`, a.ID)
			if err := queueGroupBuyItems(w, a); err != nil {
				return nil, err
			}
		}
		return w, nil
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "groupbuy: update %s", id)
	}
	return a, nil
}

// OpenTeam sends the team, the leader's seat, the buyer's units, the order
// and the quota from BEGIN to COMMIT as one batch: one round trip. A
// refused claim raises (siyu_groupbuy_require, siyu_move_stock), which
// aborts the transaction and skips the rest of the batch.
func (s *Store) OpenTeam(ctx context.Context, t *groupbuy.Team, seat *groupbuy.Seat, c groupbuy.Claim, d *order.Draft) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO group_buy_teams (`+teamColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		t.ID, t.ActivityID, t.SKUID, t.LeaderID, t.Status, t.Capacity, t.Taken, t.Paid, t.ExpiresAt,
		t.FinalSize, t.FinalPrice, t.OpenedAt, t.EndedAt, t.CreatedAt, t.UpdatedAt)
	if err := s.queueClaimSeat(b, seat, c, d); err != nil {
		return err
	}
	return claimError(s.sendCommitted(ctx, b), nil, "open a team of %s", t.ActivityID)
}

// JoinTeam takes the seat with a conditional update of the team row first,
// then claims the rest as OpenTeam does, all in one batch. When the seat
// is refused, the team is read afterwards to tell the buyer why.
func (s *Store) JoinTeam(ctx context.Context, seat *groupbuy.Seat, j groupbuy.Join, d *order.Draft) error {
	b := &pgx.Batch{}
	b.Queue(`WITH c AS (
			UPDATE group_buy_teams SET taken = taken + 1, updated_at = $2
			WHERE id = $1 AND status = 'open' AND taken < capacity AND expires_at > $2 AND taken + 1 BETWEEN $3 AND $4
			RETURNING 1)
		SELECT siyu_groupbuy_require(count(*) = 1, 'seat') FROM c`, j.TeamID, j.Now, j.MinSize, j.MaxSize)
	if err := s.queueClaimSeat(b, seat, j.Claim, d); err != nil {
		return err
	}
	err := s.sendCommitted(ctx, b)
	return claimError(err, func() error {
		t, err := s.Team(ctx, j.TeamID)
		if err != nil {
			return err
		}
		if err := t.Joinable(j.Now); err != nil {
			return err
		}
		return groupbuy.ErrSizeMoved
	}, "join team %s", j.TeamID)
}

// queueClaimSeat queues the seat, the buyer's units, the order (its stock
// last) and the item's quota. The two rows every seat of a best seller
// shares, the SKU's stock and the item's quota, come last, so their locks
// are held only while the server finishes the batch.
func (s *Store) queueClaimSeat(b *pgx.Batch, seat *groupbuy.Seat, c groupbuy.Claim, d *order.Draft) error {
	b.Queue(`INSERT INTO group_buy_seats (`+seatColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		seat.ID, seat.TeamID, seat.ActivityID, seat.BuyerID, seat.OrderID, seat.Leader, seat.Qty, seat.UnitPrice,
		seat.Amount, seat.State, seat.JoinedAt, seat.PaidAt, seat.EndedAt)
	b.Queue(`WITH c AS (
			INSERT INTO group_buy_buyers (activity_id, buyer_id, units)
			SELECT $1::uuid, $2::uuid, $3::integer WHERE $3::integer <= $4::integer
			ON CONFLICT (activity_id, buyer_id) DO UPDATE SET units = group_buy_buyers.units + EXCLUDED.units
			WHERE group_buy_buyers.units + EXCLUDED.units <= $4
			RETURNING 1)
		SELECT siyu_groupbuy_require(count(*) = 1, 'buyer_limit_reached') FROM c`, c.ActivityID, c.BuyerID, c.Qty, c.BuyerLimit)
	if err := s.queueCreateOrder(b, d.Order, d.Events, d.Jobs); err != nil {
		return err
	}
	b.Queue(`WITH c AS (
			UPDATE group_buy_items SET sold = sold + $3 WHERE activity_id = $1 AND sku_id = $2 AND sold + $3 <= quota
			RETURNING 1)
		SELECT siyu_groupbuy_require(count(*) = 1, 'quota_exhausted') FROM c`, c.ActivityID, c.SKUID, c.Qty)
	return nil
}

// claimError turns a refused claim into the domain's error: a short stock
// into inventory.OutOfStock, a second live seat into ErrAlreadyInTeam, a
// refused requirement into its reason (the seat's, through seatRefused).
func claimError(err error, seatRefused func() error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if sku, short := stockShort(err); short {
		return inventory.OutOfStock(sku)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505" && pe.ConstraintName == "group_buy_seats_live":
			return groupbuy.ErrAlreadyInTeam
		case pe.Code == claimRefusedCode && pe.Detail == "seat" && seatRefused != nil:
			return seatRefused()
		case pe.Code == claimRefusedCode && claimRefusals[pe.Detail] != nil:
			return claimRefusals[pe.Detail]
		}
	}
	return errs.Wrap(err, "groupbuy: "+format, args...)
}

func (s *Store) Team(ctx context.Context, id string) (*groupbuy.Team, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrTeamNotFound
	}
	t, err := scanTeam(s.pool.QueryRow(ctx, `SELECT `+teamColumns+` FROM group_buy_teams WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, groupbuy.ErrTeamNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "groupbuy: read team %s", id)
	}
	return t, nil
}

const seatsOfTeam = `SELECT ` + seatColumns + ` FROM group_buy_seats WHERE team_id = $1 ORDER BY joined_at, id`

func (s *Store) TeamSeats(ctx context.Context, teamID string) ([]groupbuy.Seat, error) {
	if !ids.Valid(teamID) {
		return []groupbuy.Seat{}, nil
	}
	rows, err := s.pool.Query(ctx, seatsOfTeam, teamID)
	if err != nil {
		return nil, errs.Wrap(err, "groupbuy: read seats of %s", teamID)
	}
	seats, err := collectSeats(rows)
	return seats, errs.Wrap(err, "groupbuy: read seats of %s", teamID)
}

func collectSeats(rows pgx.Rows) ([]groupbuy.Seat, error) {
	seats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (groupbuy.Seat, error) {
		st, err := scanSeat(row)
		if err != nil {
			return groupbuy.Seat{}, err
		}
		return *st, nil
	})
	if seats == nil {
		seats = []groupbuy.Seat{}
	}
	return seats, err
}

func (s *Store) Teams(ctx context.Context, f groupbuy.TeamFilter) (groupbuy.TeamPage, error) {
	limit := min(max(f.Limit, 1), groupbuy.MaxLimit)
	if f.ActivityID != "" && !ids.Valid(f.ActivityID) {
		return groupbuy.TeamPage{Teams: []groupbuy.Team{}}, nil
	}
	var n newest
	n.eq("activity_id", f.ActivityID)
	n.eq("status", string(f.Status))
	if f.Joinable {
		n.where = append(n.where, "status = 'open'", "taken < capacity", "expires_at > "+n.arg(f.Now))
	}
	if err := n.after(teamCursorOrder, f.Cursor); err != nil {
		return groupbuy.TeamPage{}, groupbuy.ErrBadCursor
	}
	q, args := n.query(teamColumns, "group_buy_teams", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return groupbuy.TeamPage{}, errs.Wrap(err, "groupbuy: list teams")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (groupbuy.Team, error) {
		t, err := scanTeam(row)
		if err != nil {
			return groupbuy.Team{}, err
		}
		return *t, nil
	})
	if err != nil {
		return groupbuy.TeamPage{}, errs.Wrap(err, "groupbuy: list teams")
	}
	page := groupbuy.TeamPage{Teams: []groupbuy.Team{}}
	if len(list) > 0 {
		page.Teams, page.NextCursor = cursor.Page(teamCursorOrder, list, limit, func(t *groupbuy.Team) (int64, string) {
			return t.CreatedAt.UnixMicro(), t.ID
		})
	}
	return page, nil
}

func (s *Store) SeatByOrder(ctx context.Context, orderID string) (*groupbuy.Seat, error) {
	if !ids.Valid(orderID) {
		return nil, groupbuy.ErrSeatNotFound
	}
	st, err := scanSeat(s.pool.QueryRow(ctx, `SELECT `+seatColumns+` FROM group_buy_seats WHERE order_id = $1`, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, groupbuy.ErrSeatNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "groupbuy: seat of order %s", orderID)
	}
	return st, nil
}

// UpdateTeam locks the team (FOR UPDATE) and reads its seats in the batch
// that begins the transaction, lets fn decide, and sends every write
// (queueTeamChange) with the COMMIT.
func (s *Store) UpdateTeam(ctx context.Context, id string, fn func(t *groupbuy.Team, seats []groupbuy.Seat) (groupbuy.TeamChange, error)) (*groupbuy.Team, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrTeamNotFound
	}
	reads := &pgx.Batch{}
	t, found := &groupbuy.Team{}, false
	reads.Queue(`SELECT `+teamColumns+` FROM group_buy_teams WHERE id = $1 FOR UPDATE`, id).QueryRow(func(row pgx.Row) error {
		got, err := scanTeam(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*t, found = *got, true
		return nil
	})
	var seats []groupbuy.Seat
	reads.Queue(seatsOfTeam, id).Query(func(rows pgx.Rows) error {
		var err error
		seats, err = collectSeats(rows)
		return err
	})
	var saved *groupbuy.Team
	err := s.readThenCommit(ctx, reads, func() (*pgx.Batch, error) {
		if !found {
			return nil, groupbuy.ErrTeamNotFound
		}
		before, was := *t, append([]groupbuy.Seat(nil), seats...)
		c, err := fn(t, seats)
		if errors.Is(err, groupbuy.ErrNoop) {
			saved = &before
			return nil, errNothingToWrite
		}
		if err != nil {
			return nil, err
		}
		saved = t
		return queueTeamChange(t, was, seats, c), nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "groupbuy: update team %s", id)
	}
	return saved, nil
}

// queueTeamChange queues the save of a team changed in UpdateTeam: the
// team, the seats that differ from was, the units of freed seats given back
// (the buyers' rows sorted, then the item's: the order every claim locks
// them in), the events and the jobs.
func queueTeamChange(t *groupbuy.Team, was, seats []groupbuy.Seat, c groupbuy.TeamChange) *pgx.Batch {
	w := &pgx.Batch{}
	w.Queue(`UPDATE group_buy_teams SET status = $2, taken = $3, paid = $4, expires_at = $5, final_size = $6,
		final_price = $7, opened_at = $8, ended_at = $9, updated_at = $10 WHERE id = $1`,
		t.ID, t.Status, t.Taken, t.Paid, t.ExpiresAt, t.FinalSize, t.FinalPrice, t.OpenedAt, t.EndedAt, t.UpdatedAt)
	var freed []groupbuy.Seat
	for i, st := range seats {
		if st == was[i] {
			continue
		}
		w.Queue(`UPDATE group_buy_seats SET state = $2, paid_at = $3, ended_at = $4 WHERE id = $1`,
			st.ID, st.State, st.PaidAt, st.EndedAt)
		if was[i].State.Live() && !st.State.Live() {
			freed = append(freed, st)
		}
	}
	sort.Slice(freed, func(i, j int) bool { return freed[i].BuyerID < freed[j].BuyerID })
	units := 0
	for _, f := range freed {
		w.Queue(`UPDATE group_buy_buyers SET units = units - $3 WHERE activity_id = $1 AND buyer_id = $2`,
			t.ActivityID, f.BuyerID, f.Qty)
		units += f.Qty
	}
	if units > 0 {
		w.Queue(`UPDATE group_buy_items SET sold = sold - $3 WHERE activity_id = $1 AND sku_id = $2`,
			t.ActivityID, t.SKUID, units)
	}
	queueEvents(w, c.Events)
	queueJobs(w, c.Jobs)
	return w
}

func scanGroupBuy(row pgx.Row) (*groupbuy.Activity, error) {
	var a groupbuy.Activity
	if err := row.Scan(&a.ID, &a.Title, &a.Rules, &a.ShareNotice, &a.Status, &a.StartsAt, &a.EndsAt, &a.TeamSize,
		&a.TeamHours, &a.PerBuyerLimit, &a.SuccessThreshold, &a.MaxDepth, &a.Leader.Kind, &a.Leader.Price,
		&a.PublishedAt, &a.EndedAt, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	// pgx reads timestamptz in the local zone; siyu's times are UTC.
	a.StartsAt, a.EndsAt, a.CreatedAt, a.UpdatedAt = a.StartsAt.UTC(), a.EndsAt.UTC(), a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	utc(a.PublishedAt, a.EndedAt)
	return &a, nil
}

// scanGroupBuyItems reads items keyed by activity and closes rows.
func scanGroupBuyItems(rows pgx.Rows) (map[string][]groupbuy.Item, error) {
	defer rows.Close()
	out := map[string][]groupbuy.Item{}
	for rows.Next() {
		var (
			activityID, tiers string
			it                groupbuy.Item
		)
		if err := rows.Scan(&activityID, &it.SKUID, &it.Quota, &it.Sold, &tiers); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(tiers), &it.Tiers); err != nil {
			return nil, err
		}
		out[activityID] = append(out[activityID], it)
	}
	return out, rows.Err()
}

func scanTeam(row pgx.Row) (*groupbuy.Team, error) {
	var t groupbuy.Team
	if err := row.Scan(&t.ID, &t.ActivityID, &t.SKUID, &t.LeaderID, &t.Status, &t.Capacity, &t.Taken, &t.Paid,
		&t.ExpiresAt, &t.FinalSize, &t.FinalPrice, &t.OpenedAt, &t.EndedAt, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	utc(t.ExpiresAt, t.OpenedAt, t.EndedAt)
	return &t, nil
}

func scanSeat(row pgx.Row) (*groupbuy.Seat, error) {
	var st groupbuy.Seat
	if err := row.Scan(&st.ID, &st.TeamID, &st.ActivityID, &st.BuyerID, &st.OrderID, &st.Leader, &st.Qty,
		&st.UnitPrice, &st.Amount, &st.State, &st.JoinedAt, &st.PaidAt, &st.EndedAt); err != nil {
		return nil, err
	}
	st.JoinedAt = st.JoinedAt.UTC()
	utc(st.PaidAt, st.EndedAt)
	return &st, nil
}

// utc puts optional times read from timestamptz in UTC.
func utc(ts ...*time.Time) {
	for _, t := range ts {
		if t != nil {
			*t = t.UTC()
		}
	}
}
