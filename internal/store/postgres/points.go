package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/points"
)

// The points store. Every change of a buyer's points first locks the
// buyer's points_accounts row (lockPointsAccount), so two checkouts
// spending the same points run one after the other and the second finds
// the lots emptied; the lots still move by conditional updates
// (remaining >= n), and the ledger's points:liability may not go negative.

func (s *Store) PointsConfig(ctx context.Context) (points.Config, error) {
	c := points.DefaultConfig
	err := s.pool.QueryRow(ctx, `SELECT earn_bp, sign_in, spend_cap_bp, expiry_days FROM points_config WHERE id = 1`).
		Scan(&c.EarnRate, &c.SignIn, &c.SpendCap, &c.ExpiryDays)
	if errors.Is(err, pgx.ErrNoRows) {
		return points.DefaultConfig, nil
	}
	return c, errs.Wrap(err, "points: config")
}

func (s *Store) SetPointsConfig(ctx context.Context, c points.Config, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO points_config (id, earn_bp, sign_in, spend_cap_bp, expiry_days, updated_at)
		VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET earn_bp = excluded.earn_bp, sign_in = excluded.sign_in,
		spend_cap_bp = excluded.spend_cap_bp, expiry_days = excluded.expiry_days, updated_at = excluded.updated_at`,
		c.EarnRate, c.SignIn, c.SpendCap, c.ExpiryDays, at)
	return errs.Wrap(err, "points: set config")
}

func (s *Store) PointsBalance(ctx context.Context, buyerID string, now time.Time) (points.Balance, error) {
	var b points.Balance
	if !ids.Valid(buyerID) {
		return b, nil
	}
	err := s.pool.QueryRow(ctx, `SELECT
			COALESCE((SELECT sum(remaining) FROM points_lots WHERE buyer_id = $1 AND remaining > 0 AND expires_at > $2), 0),
			COALESCE((SELECT sum(remaining) FROM points_lots WHERE buyer_id = $1 AND remaining > 0 AND expires_at > $2 AND expires_at <= $3), 0),
			COALESCE((SELECT debt FROM points_accounts WHERE buyer_id = $1), 0)`,
		buyerID, now, now.Add(30*24*time.Hour)).Scan(&b.Points, &b.ExpiringSoon, &b.Debt)
	b.Value = points.Value(b.Points)
	return b, errs.Wrap(err, "points: balance of %s", buyerID)
}

func (s *Store) PointsLots(ctx context.Context, buyerID string, now time.Time, limit int) ([]points.Lot, error) {
	lots := []points.Lot{}
	if !ids.Valid(buyerID) {
		return lots, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, buyer_id, source, points, remaining, ref, earned_at, expires_at
		FROM points_lots WHERE buyer_id = $1 AND remaining > 0 AND expires_at > $2 ORDER BY expires_at, id LIMIT $3`,
		buyerID, now, limit)
	if err != nil {
		return nil, errs.Wrap(err, "points: lots of %s", buyerID)
	}
	defer rows.Close()
	for rows.Next() {
		var l points.Lot
		if err := rows.Scan(&l.ID, &l.BuyerID, &l.Source, &l.Points, &l.Remaining, &l.Ref, &l.EarnedAt, &l.ExpiresAt); err != nil {
			return nil, err
		}
		l.EarnedAt, l.ExpiresAt = l.EarnedAt.UTC(), l.ExpiresAt.UTC()
		lots = append(lots, l)
	}
	return lots, rows.Err()
}

func (s *Store) PointsHistory(ctx context.Context, buyerID string, limit int) ([]points.Movement, error) {
	ms := []points.Movement{}
	if !ids.Valid(buyerID) {
		return ms, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, key, buyer_id, kind, points, ref, reason, created_at
		FROM points_movements WHERE buyer_id = $1 AND points <> 0 ORDER BY created_at DESC, id DESC LIMIT $2`, buyerID, limit)
	if err != nil {
		return nil, errs.Wrap(err, "points: history of %s", buyerID)
	}
	defer rows.Close()
	for rows.Next() {
		var m points.Movement
		if err := rows.Scan(&m.ID, &m.Key, &m.BuyerID, &m.Kind, &m.Points, &m.Ref, &m.Reason, &m.CreatedAt); err != nil {
			return nil, err
		}
		m.CreatedAt = m.CreatedAt.UTC()
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// lockPointsAccount creates the buyer's points row if need be and locks it
// for the transaction; it returns the buyer's debt.
func lockPointsAccount(ctx context.Context, tx pgx.Tx, buyerID string) (int64, error) {
	var debt int64
	err := tx.QueryRow(ctx, `INSERT INTO points_accounts (buyer_id) VALUES ($1)
		ON CONFLICT (buyer_id) DO UPDATE SET debt = points_accounts.debt RETURNING debt`, buyerID).Scan(&debt)
	return debt, err
}

func (s *Store) AddPoints(ctx context.Context, a points.Add) (bool, error) {
	var added bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockPointsAccount(ctx, tx, a.BuyerID); err != nil {
			return err
		}
		ok, err := pointsMovement(ctx, tx, a.Key, a.BuyerID, a.Source, a.Points, a.Ref, a.Reason, a.At)
		if err != nil || !ok {
			return err
		}
		added = true
		if a.Source == points.SourceOrder {
			if _, err := tx.Exec(ctx, `INSERT INTO points_orders (order_id, buyer_id, paid, earned) VALUES ($1, $2, $3, $4)
				ON CONFLICT (order_id) DO UPDATE SET paid = excluded.paid, earned = excluded.earned`,
				a.Ref, a.BuyerID, a.Paid, a.Points); err != nil {
				return err
			}
		}
		kind := points.KindEarn
		if a.Source == points.SourceReturn {
			kind = points.KindReturn
		}
		return pointsIn(ctx, tx, a.BuyerID, a.Source, a.Points, a.Ref, a.At, a.Expires, kind, a.Key)
	})
	return added, errs.Wrap(err, "points: add %s", a.Key)
}

// pointsIn puts n points in a new lot of the buyer's (whose row the caller
// locked), its debt paid first, and posts the transfer of kind for what
// reached the lot (kind "": none, the caller's ledger move covers it).
func pointsIn(ctx context.Context, tx pgx.Tx, buyerID string, src points.Source, n int64, ref string, at, expires time.Time, kind, key string) error {
	if n <= 0 {
		return nil
	}
	var pay int64
	if err := tx.QueryRow(ctx, `WITH old AS (SELECT debt FROM points_accounts WHERE buyer_id = $1)
		UPDATE points_accounts SET debt = debt - LEAST(debt, $2) WHERE buyer_id = $1
		RETURNING (SELECT LEAST(debt, $2) FROM old)`, buyerID, n).Scan(&pay); err != nil {
		return err
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
	if _, err := tx.Exec(ctx, `INSERT INTO points_lots (id, buyer_id, source, points, remaining, ref, earned_at, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`, ids.New(), buyerID, src, n, ref, at, expires); err != nil {
		return err
	}
	if kind == "" {
		return nil
	}
	return postTransfers(ctx, tx, []ledger.Transfer{points.Transfer(kind, key, ref, n, ledger.Posted, at)})
}

// pointsMovement records a movement once per key; false when the key was
// recorded already.
func pointsMovement(ctx context.Context, tx pgx.Tx, key, buyerID string, kind points.Source, n int64, ref, reason string, at time.Time) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO points_movements (id, key, buyer_id, kind, points, ref, reason, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING`, ids.New(), key, buyerID, kind, n, ref, reason, at)
	return err == nil && tag.RowsAffected() == 1, err
}

// takeLots takes up to n points from the buyer's live lots (the buyer's
// row locked), oldest-expiring first, and returns how many it took.
func takeLots(ctx context.Context, tx pgx.Tx, buyerID string, n int64, now time.Time) (int64, error) {
	var taken int64
	err := tx.QueryRow(ctx, `WITH locked AS (
			SELECT id, remaining, expires_at FROM points_lots
			WHERE buyer_id = $1 AND remaining > 0 AND expires_at > $3 FOR UPDATE),
		live AS (
			SELECT id, remaining, sum(remaining) OVER (ORDER BY expires_at, id) - remaining AS before FROM locked),
		took AS (
			UPDATE points_lots l SET remaining = l.remaining - LEAST(live.remaining, $2 - live.before)
			FROM live WHERE l.id = live.id AND live.before < $2 AND l.remaining >= LEAST(live.remaining, $2 - live.before)
			RETURNING LEAST(live.remaining, $2 - live.before) AS k)
		SELECT COALESCE(sum(k), 0) FROM took`, buyerID, n, now).Scan(&taken)
	return taken, err
}

func (s *Store) SpendPoints(ctx context.Context, d *order.Draft, at time.Time) error {
	o := d.Order
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := lockPointsAccount(ctx, tx, o.BuyerID); err != nil {
			return err
		}
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
		if _, err := tx.Exec(ctx, `INSERT INTO points_orders (order_id, buyer_id, paid, spent, spend_state)
			VALUES ($1, $2, $3, $4, 'pending')`, o.ID, o.BuyerID, o.Total, d.Points); err != nil {
			return err
		}
		t := points.Transfer(points.KindSpend, o.ID, o.ID, d.Points, ledger.Pending, at)
		if err := postTransfers(ctx, tx, []ledger.Transfer{t}); err != nil {
			return err
		}
		b := &pgx.Batch{}
		if err := s.queueCreateOrder(b, o, d.Events, d.Jobs); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if sku, short := stockShort(err); short {
		return inventory.OutOfStock(sku)
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, "points: spend for order %s", o.ID)
}

func (s *Store) SettlePointsSpend(ctx context.Context, orderID string, paid bool, at, expires time.Time) (bool, error) {
	if !ids.Valid(orderID) {
		return false, nil
	}
	var done bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var buyer string
		var spent int64
		err := tx.QueryRow(ctx, `SELECT buyer_id, spent FROM points_orders WHERE order_id = $1 AND spend_state = 'pending' FOR UPDATE`, orderID).
			Scan(&buyer, &spent)
		if errors.Is(err, pgx.ErrNoRows) {
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
		if _, err := tx.Exec(ctx, `UPDATE points_orders SET spend_state = $2 WHERE order_id = $1`, orderID, string(to)); err != nil {
			return err
		}
		if err := settleTransfers(ctx, tx, []string{points.SpendTransferID(orderID)}, to, at); err != nil {
			return err
		}
		if paid {
			return nil
		}
		if _, err := lockPointsAccount(ctx, tx, buyer); err != nil {
			return err
		}
		if _, err := pointsMovement(ctx, tx, "cancel:"+orderID, buyer, points.SourceReturn, spent, orderID, "order ended unpaid", at); err != nil {
			return err
		}
		return pointsIn(ctx, tx, buyer, points.SourceReturn, spent, orderID, at, expires, "", "cancel:"+orderID)
	})
	return done, errs.Wrap(err, "points: settle spend of order %s", orderID)
}

func (s *Store) PointsOrder(ctx context.Context, orderID string) (*points.OrderPoints, error) {
	if !ids.Valid(orderID) {
		return nil, nil
	}
	return pointsOrder(ctx, s.pool.QueryRow(ctx, pointsOrderSQL, orderID))
}

const pointsOrderSQL = `SELECT order_id, buyer_id, paid, earned, spent, refunded, clawed, returned,
	spend_state = 'voided' FROM points_orders WHERE order_id = $1`

func pointsOrder(_ context.Context, row pgx.Row) (*points.OrderPoints, error) {
	var op points.OrderPoints
	err := row.Scan(&op.OrderID, &op.BuyerID, &op.Paid, &op.Earned, &op.Spent, &op.Refunded, &op.Clawed, &op.Returned, &op.SpendVoided)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &op, err
}

func (s *Store) RefundPoints(ctx context.Context, r points.Refund) (bool, error) {
	if !ids.Valid(r.OrderID) {
		return false, nil
	}
	var done bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		op, err := pointsOrder(ctx, tx.QueryRow(ctx, pointsOrderSQL+` FOR UPDATE`, r.OrderID))
		if err != nil || op == nil {
			return err
		}
		if _, err := lockPointsAccount(ctx, tx, op.BuyerID); err != nil {
			return err
		}
		refunded := op.Refunded + r.Amount
		claw, ret := points.RefundShares(*op, refunded, r.Full)
		// The take-back's movement is the refund's guard, written even when
		// it takes nothing, so a redelivery finds it.
		ok, err := pointsMovement(ctx, tx, "refund:"+r.RefundID, op.BuyerID, points.SourceClaw, -claw, r.OrderID, "refund "+r.RefundID, r.At)
		if err != nil || !ok {
			return err
		}
		done = true
		if _, err := tx.Exec(ctx, `UPDATE points_orders SET refunded = $2, clawed = clawed + $3, returned = returned + $4
			WHERE order_id = $1`, r.OrderID, refunded, claw, ret); err != nil {
			return err
		}
		if claw > 0 {
			taken, err := takeLots(ctx, tx, op.BuyerID, claw, r.At)
			if err != nil {
				return err
			}
			if short := claw - taken; short > 0 {
				if _, err := tx.Exec(ctx, `UPDATE points_accounts SET debt = debt + $2 WHERE buyer_id = $1`, op.BuyerID, short); err != nil {
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
			return pointsIn(ctx, tx, op.BuyerID, points.SourceReturn, ret, r.OrderID, r.At, r.Expires, points.KindReturn, r.RefundID)
		}
		return nil
	})
	return done, errs.Wrap(err, "points: refund %s", r.RefundID)
}

// ExpirePoints expires a batch of lots; SKIP LOCKED lets replicas run it
// side by side, each on lots of its own.
func (s *Store) ExpirePoints(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE points_lots l SET remaining = 0
			FROM (SELECT id, remaining FROM points_lots WHERE remaining > 0 AND expires_at <= $1
				ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) old
			WHERE l.id = old.id RETURNING l.id, l.buyer_id, old.remaining`, now, limit)
		if err != nil {
			return err
		}
		type lot struct {
			id, buyer string
			left      int64
		}
		lots, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lot, error) {
			var l lot
			return l, r.Scan(&l.id, &l.buyer, &l.left)
		})
		if err != nil {
			return err
		}
		var ts []ledger.Transfer
		for _, l := range lots {
			if _, err := pointsMovement(ctx, tx, "expire:"+l.id, l.buyer, points.SourceExpire, -l.left, l.id, "", now); err != nil {
				return err
			}
			ts = append(ts, points.Transfer(points.KindExpire, l.id, l.id, l.left, ledger.Posted, now))
		}
		n = len(lots)
		return postTransfers(ctx, tx, ts)
	})
	return n, errs.Wrap(err, "points: expire")
}
