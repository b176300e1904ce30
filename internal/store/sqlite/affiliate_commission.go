package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

func (s *Store) RecordSale(ctx context.Context, sale *affiliate.Sale, cs []affiliate.Commission, c affiliate.Change) (bool, error) {
	recorded := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO affiliate_sales (order_id, buyer_id, self_buy, paid, paid_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
			sale.OrderID, sale.BuyerID, sale.SelfBuy, sale.Paid, ts(sale.PaidAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		recorded = true
		for _, x := range cs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO affiliate_commissions
				(id, order_id, line_id, buyer_id, promoter_id, tier, product_id, sku_id, base, rate, amount, state, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, x.ID, x.OrderID, x.LineID, x.BuyerID, x.PromoterID, x.Tier,
				x.ProductID, x.SKUID, x.Base, x.Rate, x.Amount, string(x.State), ts(x.CreatedAt)); err != nil {
				return err
			}
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	return recorded, errs.Wrap(err, "affiliate: record sale")
}

// writeAffiliateChange writes the ledger side of a change: settlements
// before new transfers, then jobs.
func writeAffiliateChange(ctx context.Context, tx *sql.Tx, c affiliate.Change) error {
	now := time.Now()
	if len(c.Post) > 0 {
		if err := settleTransfers(ctx, tx, c.Post, ledger.Posted, now); err != nil {
			return err
		}
	}
	if len(c.Void) > 0 {
		if err := settleTransfers(ctx, tx, c.Void, ledger.Voided, now); err != nil {
			return err
		}
	}
	if len(c.Transfers) > 0 {
		if err := postTransfers(ctx, tx, c.Transfers); err != nil {
			return err
		}
	}
	return insertJobs(ctx, tx, c.Jobs)
}

func scanSale(row interface{ Scan(...any) error }) (*affiliate.Sale, error) {
	var x affiliate.Sale
	var paid int64
	var after, settled sql.NullInt64
	if err := row.Scan(&x.OrderID, &x.BuyerID, &x.SelfBuy, &x.Paid, &paid, &after, &settled); err != nil {
		return nil, err
	}
	x.PaidAt, x.SettleAfter, x.SettledAt = fromTS(paid), fromTSPtr(after), fromTSPtr(settled)
	return &x, nil
}

const saleColumns = `order_id, buyer_id, self_buy, paid, paid_at, settle_after, settled_at`

func saleOf(ctx context.Context, q querier, orderID string) (*affiliate.Sale, error) {
	x, err := scanSale(q.QueryRowContext(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE order_id = ?`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, affiliate.ErrNoSale
	}
	return x, err
}

func (s *Store) Sale(ctx context.Context, orderID string) (*affiliate.Sale, error) {
	x, err := saleOf(ctx, s.r, orderID)
	if err != nil && !errors.Is(err, affiliate.ErrNoSale) {
		return nil, errs.Wrap(err, "affiliate: sale")
	}
	return x, err
}

func (s *Store) ScheduleSettlement(ctx context.Context, orderID string, at time.Time) (bool, error) {
	done := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE affiliate_sales SET settle_after = ?
			WHERE order_id = ? AND settle_after IS NULL`, ts(at), orderID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		done = n == 1
		return err
	})
	return done, errs.Wrap(err, "affiliate: schedule settlement")
}

const commissionColumns = `id, order_id, line_id, buyer_id, promoter_id, tier, product_id, sku_id, base, rate, amount,
	refunded, reversed, settled, clawed_back, state, created_at, settled_at`

func scanCommissions(rows *sql.Rows) ([]affiliate.Commission, error) {
	defer rows.Close()
	var out []affiliate.Commission
	for rows.Next() {
		var c affiliate.Commission
		var created int64
		var settled sql.NullInt64
		if err := rows.Scan(&c.ID, &c.OrderID, &c.LineID, &c.BuyerID, &c.PromoterID, &c.Tier, &c.ProductID, &c.SKUID,
			&c.Base, &c.Rate, &c.Amount, &c.Refunded, &c.Reversed, &c.Settled, &c.ClawedBack, &c.State,
			&created, &settled); err != nil {
			return nil, err
		}
		c.CreatedAt, c.SettledAt = fromTS(created), fromTSPtr(settled)
		out = append(out, c)
	}
	return out, rows.Err()
}

func orderCommissions(ctx context.Context, q querier, orderID string) ([]affiliate.Commission, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+commissionColumns+` FROM affiliate_commissions
		WHERE order_id = ? ORDER BY line_id, tier`, orderID)
	if err != nil {
		return nil, err
	}
	return scanCommissions(rows)
}

func updateCommissions(ctx context.Context, tx *sql.Tx, cs []affiliate.Commission) error {
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `UPDATE affiliate_commissions SET refunded = ?, reversed = ?, settled = ?,
			clawed_back = ?, state = ?, settled_at = ? WHERE id = ?`, c.Refunded, c.Reversed, c.Settled, c.ClawedBack,
			string(c.State), tsPtr(c.SettledAt), c.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ApplyRefund(ctx context.Context, refundID, orderID string,
	fn func(s *affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (bool, error) {
	applied := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sale, err := saleOf(ctx, tx, orderID)
		if errors.Is(err, affiliate.ErrNoSale) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO affiliate_refunds (refund_id, order_id, at) VALUES (?, ?, ?)
			ON CONFLICT (refund_id) DO NOTHING`, refundID, orderID, ts(time.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		cs, err := orderCommissions(ctx, tx, orderID)
		if err != nil {
			return err
		}
		changed, c, err := fn(sale, cs)
		if err != nil {
			return err
		}
		applied = true
		if err := updateCommissions(ctx, tx, changed); err != nil {
			return err
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	return applied, errs.Wrap(err, "affiliate: apply refund")
}

// dueWhere selects the sales due at ? whose order has no open after-sale
// and no unfinished refund.
const dueWhere = `settled_at IS NULL AND settle_after <= ?
	AND NOT EXISTS (SELECT 1 FROM aftersales a WHERE a.order_id = affiliate_sales.order_id
		AND a.state IN ('requested', 'approved', 'refunding'))
	AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = affiliate_sales.order_id
		AND r.state IN ('pending', 'processing', 'abnormal'))`

func (s *Store) SettleDue(ctx context.Context, now time.Time,
	limit int, fn func(sales []*affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (int, error) {
	settled := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE `+dueWhere+`
			ORDER BY settle_after, order_id LIMIT ?`, ts(now), limit)
		if err != nil {
			return err
		}
		var sales []*affiliate.Sale
		for rows.Next() {
			x, err := scanSale(rows)
			if err != nil {
				rows.Close()
				return err
			}
			sales = append(sales, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(sales) == 0 {
			return nil
		}
		var cs []affiliate.Commission
		for _, x := range sales {
			some, err := orderCommissions(ctx, tx, x.OrderID)
			if err != nil {
				return err
			}
			cs = append(cs, some...)
			if _, err := tx.ExecContext(ctx, `UPDATE affiliate_sales SET settled_at = ? WHERE order_id = ?`,
				ts(now), x.OrderID); err != nil {
				return err
			}
		}
		changed, c, err := fn(sales, cs)
		if err != nil {
			return err
		}
		if err := updateCommissions(ctx, tx, changed); err != nil {
			return err
		}
		settled = len(sales)
		return writeAffiliateChange(ctx, tx, c)
	})
	if err != nil {
		return 0, errs.Wrap(err, "affiliate: settle")
	}
	return settled, nil
}

func (s *Store) DueSales(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM affiliate_sales WHERE settled_at IS NULL AND settle_after <= ?`,
		ts(now)).Scan(&n)
	return n, errs.Wrap(err, "affiliate: due sales")
}

func (s *Store) Commissions(ctx context.Context, f affiliate.CommissionFilter) (affiliate.CommissionPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("order_id", f.OrderID)
	if err := n.after("affiliate_commissions", f.Cursor); err != nil {
		return affiliate.CommissionPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(commissionColumns, "affiliate_commissions", f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return affiliate.CommissionPage{}, errs.Wrap(err, "affiliate: commissions")
	}
	cs, err := scanCommissions(rows)
	if err != nil {
		return affiliate.CommissionPage{}, errs.Wrap(err, "affiliate: commissions")
	}
	cs, next := cursor.Page("affiliate_commissions", cs, f.Limit, func(c *affiliate.Commission) (int64, string) {
		return c.CreatedAt.UnixMicro(), c.ID
	})
	if cs == nil {
		cs = []affiliate.Commission{}
	}
	return affiliate.CommissionPage{Commissions: cs, NextCursor: next}, nil
}

// earningsSQL sums a promoter's money (or everyone's, with the filter
// "1 = 1"): commissions by state, withdrawals by state.
const earningsSQL = `SELECT
	(SELECT coalesce(sum(amount - reversed - settled), 0) FROM affiliate_commissions WHERE state = 'pending' AND %[1]s),
	(SELECT coalesce(sum(settled), 0) FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(clawed_back), 0) FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(amount), 0) FROM affiliate_withdrawals WHERE state IN ('requested', 'approved', 'processing') AND %[1]s),
	(SELECT coalesce(sum(amount), 0) FROM affiliate_withdrawals WHERE state = 'succeeded' AND %[1]s)`

func earnings(ctx context.Context, q querier, promoterID string) (affiliate.Earnings, error) {
	var e affiliate.Earnings
	where, args := "1 = 1", []any{}
	if promoterID != "" {
		where, args = "promoter_id = ?", []any{promoterID, promoterID, promoterID, promoterID, promoterID}
	}
	err := q.QueryRowContext(ctx, fmt.Sprintf(earningsSQL, where), args...).
		Scan(&e.Pending, &e.Credited, &e.ClawedBack, &e.Withdrawing, &e.Withdrawn)
	e.Fill()
	return e, err
}

func (s *Store) Earnings(ctx context.Context, promoterID string) (affiliate.Earnings, error) {
	e, err := earnings(ctx, s.r, promoterID)
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) EarningsTotal(ctx context.Context) (affiliate.Earnings, error) {
	e, err := earnings(ctx, s.r, "")
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) PromoterStats(ctx context.Context) ([]affiliate.PromoterStats, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id,
		(SELECT count(*) FROM affiliate_bindings b WHERE b.promoter_id = p.id),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(DISTINCT buyer_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(*) FROM affiliate_sales x WHERE x.buyer_id = p.id AND x.self_buy),
		(SELECT count(*) FROM (SELECT 1 FROM affiliate_bindings b WHERE b.promoter_id = p.id AND b.device_id <> ''
			GROUP BY b.device_id HAVING count(*) >= ?) d),
		(SELECT coalesce(sum(amount - reversed - clawed_back), 0) FROM affiliate_commissions c WHERE c.promoter_id = p.id),
		(SELECT coalesce(sum(amount - reversed - settled), 0) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.state = 'pending')
		FROM affiliate_promoters p WHERE p.status = 'approved' ORDER BY p.id`, affiliate.ClusterDownlines)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: promoter stats")
	}
	defer rows.Close()
	out := []affiliate.PromoterStats{}
	for rows.Next() {
		var x affiliate.PromoterStats
		if err := rows.Scan(&x.PromoterID, &x.Downlines, &x.Orders, &x.RefundedOrders, &x.RefundingBuyers,
			&x.SelfPurchases, &x.DeviceClusters, &x.Earned, &x.Pending); err != nil {
			return nil, errs.Wrap(err, "affiliate: promoter stats")
		}
		out = append(out, x)
	}
	return out, errs.Wrap(rows.Err(), "affiliate: promoter stats")
}
