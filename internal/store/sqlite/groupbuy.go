package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/money"
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

// reader is a transaction or the reader pool.
type reader interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) CreateGroupBuy(ctx context.Context, a *groupbuy.Activity) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_buys (`+groupBuyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, groupBuyArgs(a)...); err != nil {
			return err
		}
		return insertGroupBuyItems(ctx, tx, a)
	})
	return errs.Wrap(err, "groupbuy: create %s", a.ID)
}

func groupBuyArgs(a *groupbuy.Activity) []any {
	return []any{a.ID, a.Title, a.Rules, a.ShareNotice, a.Status, ts(a.StartsAt), ts(a.EndsAt), a.TeamSize, a.TeamHours,
		a.PerBuyerLimit, a.SuccessThreshold, a.MaxDepth, a.Leader.Kind, a.Leader.Price, tsPtr(a.PublishedAt),
		tsPtr(a.EndedAt), ts(a.CreatedAt), ts(a.UpdatedAt)}
}

func insertGroupBuyItems(ctx context.Context, tx *sql.Tx, a *groupbuy.Activity) error {
	for i, it := range a.Items {
		tiers, err := json.Marshal(it.Tiers)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_buy_items (activity_id, position, sku_id, quota, sold, tiers)
			VALUES (?, ?, ?, ?, ?, ?)`, a.ID, i, it.SKUID, it.Quota, it.Sold, string(tiers)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) GroupBuy(ctx context.Context, id string) (*groupbuy.Activity, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrNotFound
	}
	a, err := loadGroupBuy(ctx, s.r, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, groupbuy.ErrNotFound
	}
	return a, errs.Wrap(err, "groupbuy: read %s", id)
}

func loadGroupBuy(ctx context.Context, db reader, id string) (*groupbuy.Activity, error) {
	a, err := scanGroupBuy(db.QueryRowContext(ctx, `SELECT `+groupBuyColumns+` FROM group_buys WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	items, err := loadGroupBuyItems(ctx, db, []string{id})
	if err != nil {
		return nil, err
	}
	a.Items = items[id]
	return a, nil
}

// loadGroupBuyItems reads the items of activities, keyed by activity.
func loadGroupBuyItems(ctx context.Context, db reader, activityIDs []string) (map[string][]groupbuy.Item, error) {
	out := map[string][]groupbuy.Item{}
	if len(activityIDs) == 0 {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT activity_id, sku_id, quota, sold, tiers FROM group_buy_items
		WHERE activity_id IN (`+placeholders(len(activityIDs))+`) ORDER BY activity_id, position`, anys(activityIDs)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			activityID, tiers string
			it                groupbuy.Item
		)
		if err := rows.Scan(&activityID, &it.SKUID, &it.Quota, &it.Sold, &tiers); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(tiers), &it.Tiers); err != nil {
			return nil, fmt.Errorf("activity %s tiers: %w", activityID, err)
		}
		out[activityID] = append(out[activityID], it)
	}
	return out, rows.Err()
}

func (s *Store) GroupBuys(ctx context.Context, f groupbuy.ActivityFilter) (groupbuy.ActivityPage, error) {
	limit := min(max(f.Limit, 1), groupbuy.MaxLimit)
	var n newest
	n.eq("status", string(f.Status))
	if err := n.after(groupBuyCursorOrder, f.Cursor); err != nil {
		return groupbuy.ActivityPage{}, groupbuy.ErrBadCursor
	}
	q, args := n.query(groupBuyColumns, "group_buys", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list")
	}
	var page groupbuy.ActivityPage
	for rows.Next() {
		a, err := scanGroupBuy(rows)
		if err != nil {
			rows.Close()
			return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list")
		}
		page.Activities = append(page.Activities, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list")
	}
	page.Activities, page.NextCursor = cursor.Page(groupBuyCursorOrder, page.Activities, limit, func(a *groupbuy.Activity) (int64, string) {
		return a.CreatedAt.UnixMicro(), a.ID
	})
	activityIDs := make([]string, len(page.Activities))
	for i, a := range page.Activities {
		activityIDs[i] = a.ID
	}
	items, err := loadGroupBuyItems(ctx, s.r, activityIDs)
	if err != nil {
		return groupbuy.ActivityPage{}, errs.Wrap(err, "groupbuy: list items")
	}
	for i := range page.Activities {
		page.Activities[i].Items = items[page.Activities[i].ID]
	}
	return page, nil
}

func (s *Store) UpdateGroupBuy(ctx context.Context, id string, fn func(a *groupbuy.Activity) error) (*groupbuy.Activity, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrNotFound
	}
	var saved *groupbuy.Activity
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := loadGroupBuy(ctx, tx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return groupbuy.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE group_buys SET title = ?, rules = ?, share_notice = ?, status = ?,
			starts_at = ?, ends_at = ?, team_size = ?, team_hours = ?, per_buyer_limit = ?, success_threshold = ?,
			max_depth = ?, leader_kind = ?, leader_price = ?, published_at = ?, ended_at = ?, updated_at = ?
			WHERE id = ?`,
			a.Title, a.Rules, a.ShareNotice, a.Status, ts(a.StartsAt), ts(a.EndsAt), a.TeamSize, a.TeamHours,
			a.PerBuyerLimit, a.SuccessThreshold, a.MaxDepth, a.Leader.Kind, a.Leader.Price, tsPtr(a.PublishedAt),
			tsPtr(a.EndedAt), ts(a.UpdatedAt), a.ID); err != nil {
			return err
		}
		if a.Status == groupbuy.Draft {
			if _, err := tx.ExecContext(ctx, `DELETE FROM group_buy_items WHERE activity_id = ?`, a.ID); err != nil {
				return err
			}
			if err := insertGroupBuyItems(ctx, tx, a); err != nil {
				return err
			}
		}
		saved = a
		return nil
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "groupbuy: update %s", id)
	}
	return saved, nil
}

// OpenTeam writes the team, the leader's seat, the buyer's units, the
// order and the item's quota in one immediate transaction: the one writer
// connection serialises it against every other claim.
func (s *Store) OpenTeam(ctx context.Context, t *groupbuy.Team, seat *groupbuy.Seat, c groupbuy.Claim, d *order.Draft) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_buy_teams (`+teamColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.ActivityID, t.SKUID, t.LeaderID, t.Status, t.Capacity, t.Taken, t.Paid, tsPtr(t.ExpiresAt),
			t.FinalSize, t.FinalPrice, tsPtr(t.OpenedAt), tsPtr(t.EndedAt), ts(t.CreatedAt), ts(t.UpdatedAt)); err != nil {
			return err
		}
		return s.claimSeat(ctx, tx, seat, c, d)
	})
	return groupBuyClaimError(err, "open a team of %s", t.ActivityID)
}

// JoinTeam takes the seat with a conditional update of the team row, then
// claims the rest as OpenTeam does, in one immediate transaction.
func (s *Store) JoinTeam(ctx context.Context, seat *groupbuy.Seat, j groupbuy.Join, d *order.Draft) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE group_buy_teams SET taken = taken + 1, updated_at = ?
			WHERE id = ? AND status = 'open' AND taken < capacity AND expires_at > ? AND taken + 1 BETWEEN ? AND ?`,
			ts(j.Now), j.TeamID, ts(j.Now), j.MinSize, j.MaxSize)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return joinRefusal(ctx, tx, j)
		}
		return s.claimSeat(ctx, tx, seat, j.Claim, d)
	})
	return groupBuyClaimError(err, "join team %s", j.TeamID)
}

// joinRefusal names why a seat could not be taken: the team's own state,
// or else its size moved out of the join's price tier.
func joinRefusal(ctx context.Context, tx *sql.Tx, j groupbuy.Join) error {
	t, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM group_buy_teams WHERE id = ?`, j.TeamID))
	if errors.Is(err, sql.ErrNoRows) {
		return groupbuy.ErrTeamNotFound
	}
	if err != nil {
		return err
	}
	if err := t.Joinable(j.Now); err != nil {
		return err
	}
	return groupbuy.ErrSizeMoved
}

// claimSeat inserts the seat and claims the buyer's units, the order with
// its stock, and the item's quota, inside tx.
func (s *Store) claimSeat(ctx context.Context, tx *sql.Tx, seat *groupbuy.Seat, c groupbuy.Claim, d *order.Draft) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO group_buy_seats (`+seatColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seat.ID, seat.TeamID, seat.ActivityID, seat.BuyerID, seat.OrderID, seat.Leader, seat.Qty, seat.UnitPrice,
		seat.Amount, seat.State, ts(seat.JoinedAt), tsPtr(seat.PaidAt), tsPtr(seat.EndedAt)); err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed: group_buy_seats.team_id, group_buy_seats.buyer_id") {
			return groupbuy.ErrAlreadyInTeam
		}
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO group_buy_buyers (activity_id, buyer_id, units)
		SELECT :activity, :buyer, :qty WHERE :qty <= :limit
		ON CONFLICT (activity_id, buyer_id) DO UPDATE SET units = units + excluded.units
		WHERE units + excluded.units <= :limit`, sql.Named("activity", c.ActivityID), sql.Named("buyer", c.BuyerID),
		sql.Named("qty", c.Qty), sql.Named("limit", c.BuyerLimit))
	if err := mustChange(res, err, groupbuy.ErrBuyerLimit); err != nil {
		return err
	}
	if err := s.createOrder(ctx, tx, d.Order, d.Events, d.Jobs); err != nil {
		return err
	}
	res, err = tx.ExecContext(ctx, `UPDATE group_buy_items SET sold = sold + ?
		WHERE activity_id = ? AND sku_id = ? AND sold + ? <= quota`, c.Qty, c.ActivityID, c.SKUID, c.Qty)
	return mustChange(res, err, groupbuy.ErrQuotaExhausted)
}

// mustChange is refusal unless a conditional statement changed a row.
func mustChange(res sql.Result, err error, refusal error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return refusal
	}
	return nil
}

// groupBuyClaimError passes a refusal (a domain error, out of stock) on as
// it is and wraps anything else.
func groupBuyClaimError(err error, format string, args ...any) error {
	if err == nil || errors.Is(err, groupbuy.ErrSizeMoved) {
		return err
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "groupbuy: "+format, args...)
}

func (s *Store) Team(ctx context.Context, id string) (*groupbuy.Team, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrTeamNotFound
	}
	t, err := scanTeam(s.r.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM group_buy_teams WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, groupbuy.ErrTeamNotFound
	}
	return t, errs.Wrap(err, "groupbuy: read team %s", id)
}

func (s *Store) TeamSeats(ctx context.Context, teamID string) ([]groupbuy.Seat, error) {
	seats, err := loadSeats(ctx, s.r, teamID)
	return seats, errs.Wrap(err, "groupbuy: read seats of %s", teamID)
}

func loadSeats(ctx context.Context, db reader, teamID string) ([]groupbuy.Seat, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+seatColumns+` FROM group_buy_seats WHERE team_id = ?
		ORDER BY joined_at, id`, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seats := []groupbuy.Seat{}
	for rows.Next() {
		st, err := scanSeat(rows)
		if err != nil {
			return nil, err
		}
		seats = append(seats, *st)
	}
	return seats, rows.Err()
}

func (s *Store) Teams(ctx context.Context, f groupbuy.TeamFilter) (groupbuy.TeamPage, error) {
	limit := min(max(f.Limit, 1), groupbuy.MaxLimit)
	var n newest
	n.eq("activity_id", f.ActivityID)
	n.eq("status", string(f.Status))
	if f.Joinable {
		n.where = append(n.where, "status = 'open'", "taken < capacity", "expires_at > ?")
		n.args = append(n.args, ts(f.Now))
	}
	if err := n.after(teamCursorOrder, f.Cursor); err != nil {
		return groupbuy.TeamPage{}, groupbuy.ErrBadCursor
	}
	q, args := n.query(teamColumns, "group_buy_teams", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return groupbuy.TeamPage{}, errs.Wrap(err, "groupbuy: list teams")
	}
	defer rows.Close()
	page := groupbuy.TeamPage{Teams: []groupbuy.Team{}}
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return groupbuy.TeamPage{}, errs.Wrap(err, "groupbuy: list teams")
		}
		page.Teams = append(page.Teams, *t)
	}
	if err := rows.Err(); err != nil {
		return groupbuy.TeamPage{}, errs.Wrap(err, "groupbuy: list teams")
	}
	page.Teams, page.NextCursor = cursor.Page(teamCursorOrder, page.Teams, limit, func(t *groupbuy.Team) (int64, string) {
		return t.CreatedAt.UnixMicro(), t.ID
	})
	return page, nil
}

func (s *Store) SeatByOrder(ctx context.Context, orderID string) (*groupbuy.Seat, error) {
	if !ids.Valid(orderID) {
		return nil, groupbuy.ErrSeatNotFound
	}
	st, err := scanSeat(s.r.QueryRowContext(ctx, `SELECT `+seatColumns+` FROM group_buy_seats WHERE order_id = ?`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, groupbuy.ErrSeatNotFound
	}
	return st, errs.Wrap(err, "groupbuy: seat of order %s", orderID)
}

// UpdateTeam runs fn on the team and its seats inside an immediate
// transaction (the writer's serialisation is the row lock), then writes
// what changed.
func (s *Store) UpdateTeam(ctx context.Context, id string, fn func(t *groupbuy.Team, seats []groupbuy.Seat) (groupbuy.TeamChange, error)) (*groupbuy.Team, error) {
	if !ids.Valid(id) {
		return nil, groupbuy.ErrTeamNotFound
	}
	var saved *groupbuy.Team
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamColumns+` FROM group_buy_teams WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return groupbuy.ErrTeamNotFound
		}
		if err != nil {
			return err
		}
		seats, err := loadSeats(ctx, tx, id)
		if err != nil {
			return err
		}
		before, was := *t, append([]groupbuy.Seat(nil), seats...)
		c, err := fn(t, seats)
		if errors.Is(err, groupbuy.ErrNoop) {
			saved = &before
			return nil
		}
		if err != nil {
			return err
		}
		if err := writeTeamChange(ctx, tx, t, was, seats, c); err != nil {
			return err
		}
		saved = t
		return nil
	})
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "groupbuy: update team %s", id)
	}
	return saved, nil
}

// writeTeamChange saves a team changed in UpdateTeam: the team, the seats
// that differ from was, the units of freed seats given back, the events
// and the jobs.
func writeTeamChange(ctx context.Context, tx *sql.Tx, t *groupbuy.Team, was, seats []groupbuy.Seat, c groupbuy.TeamChange) error {
	if _, err := tx.ExecContext(ctx, `UPDATE group_buy_teams SET status = ?, taken = ?, paid = ?, expires_at = ?,
		final_size = ?, final_price = ?, opened_at = ?, ended_at = ?, updated_at = ? WHERE id = ?`,
		t.Status, t.Taken, t.Paid, tsPtr(t.ExpiresAt), t.FinalSize, t.FinalPrice, tsPtr(t.OpenedAt),
		tsPtr(t.EndedAt), ts(t.UpdatedAt), t.ID); err != nil {
		return err
	}
	freed, err := saveSeats(ctx, tx, was, seats)
	if err != nil {
		return err
	}
	for _, f := range freed {
		if _, err := tx.ExecContext(ctx, `UPDATE group_buy_buyers SET units = units - ? WHERE activity_id = ? AND buyer_id = ?`,
			f.Qty, t.ActivityID, f.BuyerID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE group_buy_items SET sold = sold - ? WHERE activity_id = ? AND sku_id = ?`,
			f.Qty, t.ActivityID, t.SKUID); err != nil {
			return err
		}
	}
	if err := insertEvents(ctx, tx, c.Events); err != nil {
		return err
	}
	return insertJobs(ctx, tx, c.Jobs)
}

// saveSeats writes the seats fn changed and returns those that left the
// live states, sorted by buyer (the order their units are given back in).
func saveSeats(ctx context.Context, tx *sql.Tx, was, now []groupbuy.Seat) ([]groupbuy.Seat, error) {
	var freed []groupbuy.Seat
	for i, st := range now {
		if st == was[i] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE group_buy_seats SET state = ?, paid_at = ?, ended_at = ? WHERE id = ?`,
			st.State, tsPtr(st.PaidAt), tsPtr(st.EndedAt), st.ID); err != nil {
			return nil, err
		}
		if was[i].State.Live() && !st.State.Live() {
			freed = append(freed, st)
		}
	}
	sort.Slice(freed, func(i, j int) bool { return freed[i].BuyerID < freed[j].BuyerID })
	return freed, nil
}

func scanGroupBuy(row interface{ Scan(...any) error }) (*groupbuy.Activity, error) {
	var (
		a                              groupbuy.Activity
		starts, ends, created, updated int64
		published, ended               sql.NullInt64
		leaderPrice                    int64
	)
	if err := row.Scan(&a.ID, &a.Title, &a.Rules, &a.ShareNotice, &a.Status, &starts, &ends, &a.TeamSize, &a.TeamHours,
		&a.PerBuyerLimit, &a.SuccessThreshold, &a.MaxDepth, &a.Leader.Kind, &leaderPrice, &published, &ended,
		&created, &updated); err != nil {
		return nil, err
	}
	a.Leader.Price = money.Fen(leaderPrice)
	a.StartsAt, a.EndsAt, a.CreatedAt, a.UpdatedAt = fromTS(starts), fromTS(ends), fromTS(created), fromTS(updated)
	a.PublishedAt, a.EndedAt = fromTSPtr(published), fromTSPtr(ended)
	return &a, nil
}

func scanTeam(row interface{ Scan(...any) error }) (*groupbuy.Team, error) {
	var (
		t                       groupbuy.Team
		expires, opened, ended  sql.NullInt64
		created, updated, price int64
	)
	if err := row.Scan(&t.ID, &t.ActivityID, &t.SKUID, &t.LeaderID, &t.Status, &t.Capacity, &t.Taken, &t.Paid,
		&expires, &t.FinalSize, &price, &opened, &ended, &created, &updated); err != nil {
		return nil, err
	}
	t.FinalPrice = money.Fen(price)
	t.ExpiresAt, t.OpenedAt, t.EndedAt = fromTSPtr(expires), fromTSPtr(opened), fromTSPtr(ended)
	t.CreatedAt, t.UpdatedAt = fromTS(created), fromTS(updated)
	return &t, nil
}

func scanSeat(row interface{ Scan(...any) error }) (*groupbuy.Seat, error) {
	var (
		st           groupbuy.Seat
		joined       int64
		unit, amount int64
		paid, ended  sql.NullInt64
	)
	if err := row.Scan(&st.ID, &st.TeamID, &st.ActivityID, &st.BuyerID, &st.OrderID, &st.Leader, &st.Qty, &unit,
		&amount, &st.State, &joined, &paid, &ended); err != nil {
		return nil, err
	}
	st.UnitPrice, st.Amount, st.JoinedAt = money.Fen(unit), money.Fen(amount), fromTS(joined)
	st.PaidAt, st.EndedAt = fromTSPtr(paid), fromTSPtr(ended)
	return &st, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
