package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/points"
)

// The points store. SQLite has one writer, so a buyer's changes are
// serialised by it; the lots still move with conditional updates
// (remaining >= n), the same SQL shape as PostgreSQL's.

func (s *Store) PointsConfig(ctx context.Context) (points.Config, error) {
	c := points.DefaultConfig
	err := s.r.QueryRowContext(ctx, `SELECT earn_bp, sign_in, spend_cap_bp, expiry_days FROM points_config WHERE id = 1`).
		Scan(&c.EarnRate, &c.SignIn, &c.SpendCap, &c.ExpiryDays)
	if errors.Is(err, sql.ErrNoRows) {
		return points.DefaultConfig, nil
	}
	return c, errs.Wrap(err, "points: config")
}

func (s *Store) SetPointsConfig(ctx context.Context, c points.Config, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO points_config (id, earn_bp, sign_in, spend_cap_bp, expiry_days, updated_at)
		VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET earn_bp = excluded.earn_bp, sign_in = excluded.sign_in,
		spend_cap_bp = excluded.spend_cap_bp, expiry_days = excluded.expiry_days, updated_at = excluded.updated_at`,
		c.EarnRate, c.SignIn, c.SpendCap, c.ExpiryDays, ts(at))
	return errs.Wrap(err, "points: set config")
}

func (s *Store) PointsBalance(ctx context.Context, buyerID string, now time.Time) (points.Balance, error) {
	var b points.Balance
	soon := now.Add(30 * 24 * time.Hour)
	err := s.r.QueryRowContext(ctx, `SELECT
			COALESCE((SELECT sum(remaining) FROM points_lots WHERE buyer_id = ? AND remaining > 0 AND expires_at > ?), 0),
			COALESCE((SELECT sum(remaining) FROM points_lots WHERE buyer_id = ? AND remaining > 0 AND expires_at > ? AND expires_at <= ?), 0),
			COALESCE((SELECT debt FROM points_accounts WHERE buyer_id = ?), 0)`,
		buyerID, ts(now), buyerID, ts(now), ts(soon), buyerID).Scan(&b.Points, &b.ExpiringSoon, &b.Debt)
	b.Value = points.Value(b.Points)
	return b, errs.Wrap(err, "points: balance of %s", buyerID)
}

func (s *Store) PointsLots(ctx context.Context, buyerID string, now time.Time, limit int) ([]points.Lot, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, buyer_id, source, points, remaining, ref, earned_at, expires_at
		FROM points_lots WHERE buyer_id = ? AND remaining > 0 AND expires_at > ? ORDER BY expires_at, id LIMIT ?`,
		buyerID, ts(now), limit)
	if err != nil {
		return nil, errs.Wrap(err, "points: lots of %s", buyerID)
	}
	defer rows.Close()
	lots := []points.Lot{}
	for rows.Next() {
		var l points.Lot
		var earned, expires int64
		if err := rows.Scan(&l.ID, &l.BuyerID, &l.Source, &l.Points, &l.Remaining, &l.Ref, &earned, &expires); err != nil {
			return nil, err
		}
		l.EarnedAt, l.ExpiresAt = fromTS(earned), fromTS(expires)
		lots = append(lots, l)
	}
	return lots, rows.Err()
}

func (s *Store) PointsHistory(ctx context.Context, buyerID string, limit int) ([]points.Movement, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, key, buyer_id, kind, points, ref, reason, created_at
		FROM points_movements WHERE buyer_id = ? AND points <> 0 ORDER BY created_at DESC, id DESC LIMIT ?`, buyerID, limit)
	if err != nil {
		return nil, errs.Wrap(err, "points: history of %s", buyerID)
	}
	defer rows.Close()
	ms := []points.Movement{}
	for rows.Next() {
		var m points.Movement
		var at int64
		if err := rows.Scan(&m.ID, &m.Key, &m.BuyerID, &m.Kind, &m.Points, &m.Ref, &m.Reason, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = fromTS(at)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

func (s *Store) AddPoints(ctx context.Context, a points.Add) (bool, error) {
	var added bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ok, err := pointsMovement(ctx, tx, a.Key, a.BuyerID, a.Source, a.Points, a.Ref, a.Reason, a.At)
		if err != nil || !ok {
			return err
		}
		added = true
		if a.Source == points.SourceOrder {
			if _, err := tx.ExecContext(ctx, `INSERT INTO points_orders (order_id, buyer_id, paid, earned) VALUES (?, ?, ?, ?)
				ON CONFLICT (order_id) DO UPDATE SET paid = excluded.paid, earned = excluded.earned`,
				a.Ref, a.BuyerID, a.Paid, a.Points); err != nil {
				return err
			}
		}
		kind := points.KindEarn
		if a.Source == points.SourceReturn {
			kind = points.KindReturn
		}
		return s.pointsIn(ctx, tx, a.BuyerID, a.Source, a.Points, a.Ref, a.At, a.Expires, kind, a.Key)
	})
	return added, errs.Wrap(err, "points: add %s", a.Key)
}

// pointsIn puts n points in a new lot of the buyer's, its debt paid first,
// and posts the transfer of kind for what reached the lot (kind "" posts
// none: the caller's ledger move covers it).
func (s *Store) pointsIn(ctx context.Context, tx *sql.Tx, buyerID string, src points.Source, n int64, ref string, at, expires time.Time, kind, key string) error {
	if n <= 0 {
		return nil
	}
	var debt int64
	if _, err := tx.ExecContext(ctx, `INSERT INTO points_accounts (buyer_id) VALUES (?) ON CONFLICT (buyer_id) DO NOTHING`, buyerID); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT debt FROM points_accounts WHERE buyer_id = ?`, buyerID).Scan(&debt); err != nil {
		return err
	}
	pay := min(debt, n)
	if pay > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE points_accounts SET debt = debt - ? WHERE buyer_id = ?`, pay, buyerID); err != nil {
			return err
		}
	}
	if t := points.DebtTransfer(kind, key, ref, pay, at); pay > 0 && t != nil {
		if err := postTransfers(ctx, tx, []ledger.Transfer{*t}); err != nil {
			return err
		}
	}
	n -= pay
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO points_lots (id, buyer_id, source, points, remaining, ref, earned_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ids.New(), buyerID, src, n, n, ref, ts(at), ts(expires)); err != nil {
		return err
	}
	if kind == "" {
		return nil
	}
	return postTransfers(ctx, tx, []ledger.Transfer{points.Transfer(kind, key, ref, n, ledger.Posted, at)})
}

// pointsMovement records a movement once per key; false when the key was
// recorded already.
func pointsMovement(ctx context.Context, tx *sql.Tx, key, buyerID string, kind points.Source, n int64, ref, reason string, at time.Time) (bool, error) {
	return affected(tx.ExecContext(ctx, `INSERT INTO points_movements (id, key, buyer_id, kind, points, ref, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`, ids.New(), key, buyerID, kind, n, ref, reason, ts(at)))
}

// takeLots takes up to n points from the buyer's live lots, oldest-expiring
// first, and returns how many it took.
func takeLots(ctx context.Context, tx *sql.Tx, buyerID string, n int64, now time.Time) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, remaining FROM points_lots
		WHERE buyer_id = ? AND remaining > 0 AND expires_at > ? ORDER BY expires_at, id`, buyerID, ts(now))
	if err != nil {
		return 0, err
	}
	type lot struct {
		id   string
		left int64
	}
	var lots []lot
	for rows.Next() {
		var l lot
		if err := rows.Scan(&l.id, &l.left); err != nil {
			rows.Close()
			return 0, err
		}
		lots = append(lots, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var taken int64
	for _, l := range lots {
		if taken == n {
			break
		}
		k := min(l.left, n-taken)
		ok, err := affected(tx.ExecContext(ctx, `UPDATE points_lots SET remaining = remaining - ? WHERE id = ? AND remaining >= ?`, k, l.id, k))
		if err != nil {
			return 0, err
		}
		if ok {
			taken += k
		}
	}
	return taken, nil
}

func (s *Store) SpendPoints(ctx context.Context, d *order.Draft, at time.Time) error {
	o := d.Order
	err := s.tx(ctx, func(tx *sql.Tx) error {
		taken, err := takeLots(ctx, tx, o.BuyerID, d.Points, at)
		if err != nil {
			return err
		}
		if taken < d.Points {
			return points.ErrInsufficient
		}
		if _, err := pointsMovement(ctx, tx, "spend:"+o.ID, o.BuyerID, points.SourceSpend, -d.Points, o.ID, "", at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO points_orders (order_id, buyer_id, paid, spent, spend_state)
			VALUES (?, ?, ?, ?, 'pending')`, o.ID, o.BuyerID, o.Total, d.Points); err != nil {
			return err
		}
		t := points.Transfer(points.KindSpend, o.ID, o.ID, d.Points, ledger.Pending, at)
		if err := postTransfers(ctx, tx, []ledger.Transfer{t}); err != nil {
			return err
		}
		return s.createOrder(ctx, tx, o, d.Events, d.Jobs)
	})
	if e, ok := errs.As(err); ok && e.Code != "" {
		return err
	}
	return errs.Wrap(err, "points: spend for order %s", o.ID)
}

func (s *Store) SettlePointsSpend(ctx context.Context, orderID string, paid bool, at, expires time.Time) (bool, error) {
	if !ids.Valid(orderID) {
		return false, nil
	}
	var done bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var buyer string
		var spent int64
		err := tx.QueryRowContext(ctx, `SELECT buyer_id, spent FROM points_orders WHERE order_id = ? AND spend_state = 'pending'`, orderID).
			Scan(&buyer, &spent)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		to := ledger.Voided
		if paid {
			to = ledger.Posted
		}
		if _, err := tx.ExecContext(ctx, `UPDATE points_orders SET spend_state = ? WHERE order_id = ?`, string(to), orderID); err != nil {
			return err
		}
		if err := settleTransfers(ctx, tx, []string{points.SpendTransferID(orderID)}, to, at); err != nil {
			return err
		}
		if paid {
			return nil
		}
		// The void gave the liability back on the ledger; the points go
		// back to the buyer as a new lot.
		if _, err := pointsMovement(ctx, tx, "cancel:"+orderID, buyer, points.SourceReturn, spent, orderID, "order ended unpaid", at); err != nil {
			return err
		}
		return s.pointsIn(ctx, tx, buyer, points.SourceReturn, spent, orderID, at, expires, "", "cancel:"+orderID)
	})
	return done, errs.Wrap(err, "points: settle spend of order %s", orderID)
}

func (s *Store) PointsOrder(ctx context.Context, orderID string) (*points.OrderPoints, error) {
	return pointsOrder(ctx, s.r, orderID)
}

func pointsOrder(ctx context.Context, q querier, orderID string) (*points.OrderPoints, error) {
	var op points.OrderPoints
	err := q.QueryRowContext(ctx, `SELECT order_id, buyer_id, paid, earned, spent, refunded, clawed, returned,
		spend_state = 'voided' FROM points_orders WHERE order_id = ?`, orderID).
		Scan(&op.OrderID, &op.BuyerID, &op.Paid, &op.Earned, &op.Spent, &op.Refunded, &op.Clawed, &op.Returned, &op.SpendVoided)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &op, err
}

func (s *Store) RefundPoints(ctx context.Context, r points.Refund) (bool, error) {
	var done bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		op, err := pointsOrder(ctx, tx, r.OrderID)
		if err != nil || op == nil {
			return err
		}
		refunded := op.Refunded + r.Amount
		claw, ret := points.RefundShares(*op, refunded, r.Full)
		// The take-back's movement is the refund's guard: it is written
		// even when it takes nothing, so a redelivery finds it.
		ok, err := pointsMovement(ctx, tx, "refund:"+r.RefundID, op.BuyerID, points.SourceClaw, -claw, r.OrderID, "refund "+r.RefundID, r.At)
		if err != nil || !ok {
			return err
		}
		done = true
		if _, err := tx.ExecContext(ctx, `UPDATE points_orders SET refunded = ?, clawed = clawed + ?, returned = returned + ?
			WHERE order_id = ?`, refunded, claw, ret, r.OrderID); err != nil {
			return err
		}
		if claw > 0 {
			taken, err := takeLots(ctx, tx, op.BuyerID, claw, r.At)
			if err != nil {
				return err
			}
			if short := claw - taken; short > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO points_accounts (buyer_id, debt) VALUES (?, ?)
					ON CONFLICT (buyer_id) DO UPDATE SET debt = debt + excluded.debt`, op.BuyerID, short); err != nil {
					return err
				}
			}
			if taken > 0 {
				t := points.Transfer(points.KindClaw, r.RefundID, r.OrderID, taken, ledger.Posted, r.At)
				if err := postTransfers(ctx, tx, []ledger.Transfer{t}); err != nil {
					return err
				}
			}
		}
		if ret > 0 {
			key := "refund_return:" + r.RefundID
			if _, err := pointsMovement(ctx, tx, key, op.BuyerID, points.SourceReturn, ret, r.OrderID, "refund "+r.RefundID, r.At); err != nil {
				return err
			}
			return s.pointsIn(ctx, tx, op.BuyerID, points.SourceReturn, ret, r.OrderID, r.At, r.Expires, points.KindReturn, r.RefundID)
		}
		return nil
	})
	return done, errs.Wrap(err, "points: refund %s", r.RefundID)
}

func (s *Store) ExpirePoints(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, buyer_id, remaining FROM points_lots
			WHERE remaining > 0 AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, ts(now), limit)
		if err != nil {
			return err
		}
		type lot struct {
			id, buyer string
			left      int64
		}
		var lots []lot
		for rows.Next() {
			var l lot
			if err := rows.Scan(&l.id, &l.buyer, &l.left); err != nil {
				rows.Close()
				return err
			}
			lots = append(lots, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, l := range lots {
			if _, err := tx.ExecContext(ctx, `UPDATE points_lots SET remaining = 0 WHERE id = ?`, l.id); err != nil {
				return err
			}
			if _, err := pointsMovement(ctx, tx, "expire:"+l.id, l.buyer, points.SourceExpire, -l.left, l.id, "", now); err != nil {
				return err
			}
			t := points.Transfer(points.KindExpire, l.id, l.id, l.left, ledger.Posted, now)
			if err := postTransfers(ctx, tx, []ledger.Transfer{t}); err != nil {
				return err
			}
		}
		n = len(lots)
		return nil
	})
	return n, errs.Wrap(err, "points: expire")
}
