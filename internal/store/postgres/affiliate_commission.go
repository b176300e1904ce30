package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

func (s *Store) RecordSale(ctx context.Context, sale *affiliate.Sale, cs []affiliate.Commission, c affiliate.Change) (bool, error) {
	recorded := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO affiliate_sales (order_id, buyer_id, self_buy, paid, paid_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`,
			sale.OrderID, sale.BuyerID, sale.SelfBuy, int64(sale.Paid), sale.PaidAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		recorded = true
		if len(cs) > 0 {
			rows := make([][]any, 0, len(cs))
			for _, x := range cs {
				rows = append(rows, []any{x.ID, x.OrderID, x.LineID, x.BuyerID, x.PromoterID, int16(x.Tier), x.ProductID,
					x.SKUID, int64(x.Base), int32(x.Rate), int64(x.Amount), string(x.State), x.CreatedAt})
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"affiliate_commissions"}, []string{"id", "order_id", "line_id",
				"buyer_id", "promoter_id", "tier", "product_id", "sku_id", "base", "rate", "amount", "state", "created_at"},
				pgx.CopyFromRows(rows)); err != nil {
				return err
			}
		}
		return writeAffiliateChange(ctx, tx, c)
	})
	return recorded, errs.Wrap(err, "affiliate: record sale")
}

// writeAffiliateChange writes the ledger side of a change: settlements
// before new transfers, then jobs.
func writeAffiliateChange(ctx context.Context, tx pgx.Tx, c affiliate.Change) error {
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
	if len(c.Jobs) > 0 {
		b := &pgx.Batch{}
		queueJobs(b, c.Jobs)
		return tx.SendBatch(ctx, b).Close()
	}
	return nil
}

const saleColumns = `order_id::text, buyer_id::text, self_buy, paid, paid_at, settle_after, settled_at`

func scanSale(row pgx.Row) (*affiliate.Sale, error) {
	var x affiliate.Sale
	if err := row.Scan(&x.OrderID, &x.BuyerID, &x.SelfBuy, &x.Paid, &x.PaidAt, &x.SettleAfter, &x.SettledAt); err != nil {
		return nil, err
	}
	x.PaidAt, x.SettleAfter, x.SettledAt = x.PaidAt.UTC(), utcPtr(x.SettleAfter), utcPtr(x.SettledAt)
	return &x, nil
}

func (s *Store) Sale(ctx context.Context, orderID string) (*affiliate.Sale, error) {
	if !ids.Valid(orderID) {
		return nil, affiliate.ErrNoSale
	}
	x, err := scanSale(s.pool.QueryRow(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE order_id = $1`, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, affiliate.ErrNoSale
	}
	return x, errs.Wrap(err, "affiliate: sale")
}

func (s *Store) ScheduleSettlement(ctx context.Context, orderID string, at time.Time) (bool, error) {
	if !ids.Valid(orderID) {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE affiliate_sales SET settle_after = $1 WHERE order_id = $2 AND settle_after IS NULL`, at, orderID)
	return err == nil && tag.RowsAffected() == 1, errs.Wrap(err, "affiliate: schedule settlement")
}

const commissionColumns = `id::text, order_id::text, line_id::text, buyer_id::text, promoter_id::text, tier, product_id::text,
	sku_id::text, base, rate, amount, refunded, reversed, settled, clawed_back, state, created_at, settled_at`

func scanCommissions(rows pgx.Rows) ([]affiliate.Commission, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.Commission, error) {
		var c affiliate.Commission
		var tier int16
		var rate int32
		err := r.Scan(&c.ID, &c.OrderID, &c.LineID, &c.BuyerID, &c.PromoterID, &tier, &c.ProductID, &c.SKUID,
			&c.Base, &rate, &c.Amount, &c.Refunded, &c.Reversed, &c.Settled, &c.ClawedBack, &c.State, &c.CreatedAt, &c.SettledAt)
		c.Tier, c.Rate, c.CreatedAt, c.SettledAt = int(tier), money.BP(rate), c.CreatedAt.UTC(), utcPtr(c.SettledAt)
		return c, err
	})
}

// updateCommissions writes the changed columns of cs in one statement.
func updateCommissions(ctx context.Context, tx pgx.Tx, cs []affiliate.Commission) error {
	if len(cs) == 0 {
		return nil
	}
	var (
		id, state                           []string
		refunded, reversed, settled, clawed []int64
		settledAt                           []*time.Time
	)
	for _, c := range cs {
		id, state = append(id, c.ID), append(state, string(c.State))
		refunded, reversed = append(refunded, int64(c.Refunded)), append(reversed, int64(c.Reversed))
		settled, clawed = append(settled, int64(c.Settled)), append(clawed, int64(c.ClawedBack))
		settledAt = append(settledAt, c.SettledAt)
	}
	_, err := tx.Exec(ctx, `UPDATE affiliate_commissions c SET refunded = u.refunded, reversed = u.reversed,
			settled = u.settled, clawed_back = u.clawed, state = u.state, settled_at = u.settled_at
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::timestamptz[])
			AS u (id, refunded, reversed, settled, clawed, state, settled_at)
		WHERE c.id = u.id`, id, refunded, reversed, settled, clawed, state, settledAt)
	return err
}

func (s *Store) ApplyRefund(ctx context.Context, refundID, orderID string,
	fn func(s *affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (bool, error) {
	if !ids.Valid(orderID) || !ids.Valid(refundID) {
		return false, nil
	}
	applied := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		sale, err := scanSale(tx.QueryRow(ctx, `SELECT `+saleColumns+` FROM affiliate_sales WHERE order_id = $1 FOR UPDATE`, orderID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO affiliate_refunds (refund_id, order_id, at) VALUES ($1, $2, now())
			ON CONFLICT (refund_id) DO NOTHING`, refundID, orderID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+commissionColumns+` FROM affiliate_commissions WHERE order_id = $1
			ORDER BY line_id, tier`, orderID)
		if err != nil {
			return err
		}
		cs, err := scanCommissions(rows)
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

// SettleDue locks its sales FOR UPDATE SKIP LOCKED, so replicas sweeping at
// once take different sales, and a refund applying to one of them (which
// locks the sale) either waits for the settlement or is waited for.
func (s *Store) SettleDue(ctx context.Context, now time.Time,
	limit int, fn func(sales []*affiliate.Sale, cs []affiliate.Commission) ([]affiliate.Commission, affiliate.Change, error)) (int, error) {
	settled := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+saleColumns+` FROM affiliate_sales x
			WHERE settled_at IS NULL AND settle_after <= $1
			AND NOT EXISTS (SELECT 1 FROM aftersales a WHERE a.order_id = x.order_id
				AND a.state IN ('requested', 'approved', 'refunding'))
			AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = x.order_id
				AND r.state IN ('pending', 'processing', 'abnormal'))
			ORDER BY settle_after, order_id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		sales, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*affiliate.Sale, error) { return scanSale(r) })
		if err != nil || len(sales) == 0 {
			return err
		}
		orderIDs := make([]string, len(sales))
		for i, x := range sales {
			orderIDs[i] = x.OrderID
		}
		rows, err = tx.Query(ctx, `SELECT `+commissionColumns+` FROM affiliate_commissions WHERE order_id = ANY($1::uuid[])
			ORDER BY order_id, line_id, tier`, orderIDs)
		if err != nil {
			return err
		}
		all, err := scanCommissions(rows)
		if err != nil {
			return err
		}
		changed, change, err := fn(sales, all)
		if err != nil {
			return err
		}
		if err := updateCommissions(ctx, tx, changed); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE affiliate_sales SET settled_at = $1 WHERE order_id = ANY($2::uuid[])`, now, orderIDs); err != nil {
			return err
		}
		settled = len(sales)
		return writeAffiliateChange(ctx, tx, change)
	})
	if err != nil {
		return 0, errs.Wrap(err, "affiliate: settle")
	}
	return settled, nil
}

func (s *Store) DueSales(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM affiliate_sales WHERE settled_at IS NULL AND settle_after <= $1`, now).Scan(&n)
	return n, errs.Wrap(err, "affiliate: due sales")
}

func (s *Store) Commissions(ctx context.Context, f affiliate.CommissionFilter) (affiliate.CommissionPage, error) {
	f.Limit = affiliate.Limit(f.Limit)
	if (f.PromoterID != "" && !ids.Valid(f.PromoterID)) || (f.OrderID != "" && !ids.Valid(f.OrderID)) {
		return affiliate.CommissionPage{Commissions: []affiliate.Commission{}}, nil
	}
	var n newest
	n.eq("promoter_id", f.PromoterID)
	n.eq("order_id", f.OrderID)
	if err := n.after("affiliate_commissions", f.Cursor); err != nil {
		return affiliate.CommissionPage{}, affiliate.ErrBadCursor
	}
	q, args := n.query(commissionColumns, "affiliate_commissions", f.Limit)
	rows, err := s.pool.Query(ctx, q, args...)
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
// "true"): commissions by state, withdrawals by state.
const earningsSQL = `SELECT
	(SELECT coalesce(sum(amount - reversed - settled), 0)::bigint FROM affiliate_commissions WHERE state = 'pending' AND %[1]s),
	(SELECT coalesce(sum(settled), 0)::bigint FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(clawed_back), 0)::bigint FROM affiliate_commissions WHERE %[1]s),
	(SELECT coalesce(sum(amount), 0)::bigint FROM affiliate_withdrawals WHERE state IN ('requested', 'approved', 'processing') AND %[1]s),
	(SELECT coalesce(sum(amount), 0)::bigint FROM affiliate_withdrawals WHERE state = 'succeeded' AND %[1]s)`

func earnings(ctx context.Context, q queryRower, promoterID string) (affiliate.Earnings, error) {
	var e affiliate.Earnings
	where, args := "true", []any{}
	if promoterID != "" {
		where, args = "promoter_id = $1", []any{promoterID}
	}
	err := q.QueryRow(ctx, fmt.Sprintf(earningsSQL, where), args...).
		Scan(&e.Pending, &e.Credited, &e.ClawedBack, &e.Withdrawing, &e.Withdrawn)
	e.Fill()
	return e, err
}

func (s *Store) Earnings(ctx context.Context, promoterID string) (affiliate.Earnings, error) {
	if !ids.Valid(promoterID) {
		return affiliate.Earnings{}, nil
	}
	e, err := earnings(ctx, s.pool, promoterID)
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) EarningsTotal(ctx context.Context) (affiliate.Earnings, error) {
	e, err := earnings(ctx, s.pool, "")
	return e, errs.Wrap(err, "affiliate: earnings")
}

func (s *Store) PromoterStats(ctx context.Context) ([]affiliate.PromoterStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.id::text,
		(SELECT count(*) FROM affiliate_bindings b WHERE b.promoter_id = p.id),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1),
		(SELECT count(DISTINCT order_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(DISTINCT buyer_id) FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.tier = 1 AND c.refunded > 0),
		(SELECT count(*) FROM affiliate_sales x WHERE x.buyer_id = p.id AND x.self_buy),
		(SELECT count(*) FROM (SELECT 1 FROM affiliate_bindings b WHERE b.promoter_id = p.id AND b.device_id <> ''
			GROUP BY b.device_id HAVING count(*) >= $1) d),
		(SELECT coalesce(sum(amount - reversed - clawed_back), 0)::bigint FROM affiliate_commissions c WHERE c.promoter_id = p.id),
		(SELECT coalesce(sum(amount - reversed - settled), 0)::bigint FROM affiliate_commissions c WHERE c.promoter_id = p.id AND c.state = 'pending')
		FROM affiliate_promoters p WHERE p.status = 'approved' ORDER BY p.id`, affiliate.ClusterDownlines)
	if err != nil {
		return nil, errs.Wrap(err, "affiliate: promoter stats")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (affiliate.PromoterStats, error) {
		var x affiliate.PromoterStats
		var d, o, ro, rb, sp, dc int64
		err := r.Scan(&x.PromoterID, &d, &o, &ro, &rb, &sp, &dc, &x.Earned, &x.Pending)
		x.Downlines, x.Orders, x.RefundedOrders, x.RefundingBuyers, x.SelfPurchases = int(d), int(o), int(ro), int(rb), int(sp)
		x.DeviceClusters = int(dc)
		return x, err
	})
	if out == nil {
		out = []affiliate.PromoterStats{}
	}
	return out, errs.Wrap(err, "affiliate: promoter stats")
}
