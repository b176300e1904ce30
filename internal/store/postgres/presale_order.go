package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

const (
	presaleOrderColumns = `id, presale_id, sku_id, buyer_id, mode, qty, first_unit, runs, amount, deposit, balance,
	address_id, status, order_id, coalesce(balance_order_id::text, ''), stock, balance_starts_at, balance_ends_at,
	ships_by, forfeited, reversals, created_at, updated_at, paid_at, ended_at`
	presaleOrderCursor = "presale_orders_newest"
)

func scanPresaleOrder(row pgx.Row) (*presale.Order, error) {
	var (
		o               presale.Order
		runs, reversals string
	)
	if err := row.Scan(&o.ID, &o.ActivityID, &o.SKUID, &o.BuyerID, &o.Mode, &o.Qty, &o.FirstUnit, &runs, &o.Amount,
		&o.Deposit, &o.Balance, &o.AddressID, &o.Status, &o.OrderID, &o.BalanceOrderID, &o.Stock, &o.BalanceStartsAt,
		&o.BalanceEndsAt, &o.ShipsBy, &o.Forfeited, &reversals, &o.CreatedAt, &o.UpdatedAt, &o.PaidAt, &o.EndedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(runs), &o.Runs); err != nil {
		return nil, fmt.Errorf("presale order %s: runs: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(reversals), &o.Reversals); err != nil {
		return nil, fmt.Errorf("presale order %s: reversals: %w", o.ID, err)
	}
	if len(o.Reversals) == 0 {
		o.Reversals = nil
	}
	o.ShipsBy, o.CreatedAt, o.UpdatedAt = o.ShipsBy.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	utc(o.BalanceStartsAt, o.BalanceEndsAt, o.PaidAt, o.EndedAt)
	return &o, nil
}

// BuyPresale claims the units first: the SKU's row, updated only while its
// count is within the quoted range and the quota, is the lock every
// purchase of the SKU queues on, and a waiting claim re-reads the count the
// one before it committed (PostgreSQL re-checks an UPDATE's WHERE on the
// row it waited for), so no purchase is priced at a step its units are not
// on. The buyer's units, the purchase, the stock and the order follow in
// the same transaction.
func (s *Store) BuyPresale(ctx context.Context, c presale.Claim, o *presale.Order, d *order.Draft, ev []outbox.Event, js []jobs.Job) error {
	runs, err := json.Marshal(o.Runs)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var sold int
		err := tx.QueryRow(ctx, `UPDATE presale_items SET sold = sold + $3
			WHERE presale_id = $1 AND sku_id = $2 AND sold BETWEEN $4 AND $5 AND sold + $3 <= quota
				AND EXISTS (SELECT 1 FROM presales WHERE id = $1 AND status = 'published')
			RETURNING sold`, c.ActivityID, c.SKUID, c.Qty, c.From, c.To).Scan(&sold)
		if errors.Is(err, pgx.ErrNoRows) {
			return presaleClaimRefusal(ctx, tx, c)
		}
		if err != nil {
			return err
		}
		o.FirstUnit = sold - c.Qty + 1
		tag, err := tx.Exec(ctx, `INSERT INTO presale_buyers (presale_id, buyer_id, units)
			SELECT $1::uuid, $2::uuid, $3::integer WHERE $3::integer <= $4::integer
			ON CONFLICT (presale_id, buyer_id) DO UPDATE SET units = presale_buyers.units + EXCLUDED.units
			WHERE presale_buyers.units + EXCLUDED.units <= $4::integer`, c.ActivityID, c.BuyerID, c.Qty, c.Limit)
		if err := oneRow(tag, err, presale.ErrLimitReached); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO presale_orders (id, presale_id, sku_id, buyer_id, mode, qty, first_unit, runs, amount,
				min_price, deposit, balance, address_id, status, order_id, stock, balance_starts_at, balance_ends_at,
				ships_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
			o.ID, o.ActivityID, o.SKUID, o.BuyerID, o.Mode, o.Qty, o.FirstUnit, string(runs), o.Amount, o.MinPrice(),
			o.Deposit, o.Balance, o.AddressID, o.Status, o.OrderID, o.Stock, o.BalanceStartsAt, o.BalanceEndsAt,
			o.ShipsBy, o.CreatedAt, o.UpdatedAt)
		queueEvents(b, ev)
		queueJobs(b, js)
		if err := s.queueCreateOrder(b, d.Order, d.Events, d.Jobs); err != nil {
			return err
		}
		if o.Stock == presale.StockReserved {
			queuePresaleStock(b, o, inventory.Reserve, o.CreatedAt)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if sku, short := stockShort(err); short {
		return inventory.OutOfStock(sku)
	}
	if _, ok := errs.As(err); ok || errors.Is(err, presale.ErrStepMoved) {
		return err
	}
	return errs.Wrap(err, "presale: buy %s", c.ActivityID)
}

// presaleClaimRefusal tells why a claim of units changed no row.
func presaleClaimRefusal(ctx context.Context, tx pgx.Tx, c presale.Claim) error {
	var sold, quota int
	var status string
	err := tx.QueryRow(ctx, `SELECT i.sold, i.quota, p.status FROM presale_items i JOIN presales p ON p.id = i.presale_id
		WHERE i.presale_id = $1 AND i.sku_id = $2`, c.ActivityID, c.SKUID).Scan(&sold, &quota, &status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return presale.ErrNotInPresale
	case err != nil:
		return err
	case status != string(presale.Published):
		return presale.ErrNotOpen
	case sold+c.Qty > quota:
		return presale.ErrSoldOut
	}
	return presale.ErrStepMoved
}

// queuePresaleStock queues the move of a purchase's units through
// siyu_move_stock, as an order's, journalled with the purchase as the
// reference.
func queuePresaleStock(b *pgx.Batch, o *presale.Order, reason inventory.Reason, at time.Time) {
	b.Queue(`SELECT siyu_move_stock($1, $2, $3, $4, $5, $6, $7)`,
		[]string{o.SKUID}, []int64{int64(o.Qty)}, []string{ids.New()}, inventory.Online, string(reason), o.ID, at)
}

func loadPresaleOrder(ctx context.Context, db refundDB, where, arg string) (*presale.Order, error) {
	o, err := scanPresaleOrder(db.QueryRow(ctx, `SELECT `+presaleOrderColumns+` FROM presale_orders WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, presale.ErrOrderNotFound
	}
	return o, err
}

func (s *Store) PresaleOrder(ctx context.Context, id string) (*presale.Order, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrOrderNotFound
	}
	o, err := loadPresaleOrder(ctx, s.pool, `id = $1`, id)
	if err != nil && !errors.Is(err, presale.ErrOrderNotFound) {
		return nil, errs.Wrap(err, "presale: read order %s", id)
	}
	return o, err
}

func (s *Store) PresaleOrderOf(ctx context.Context, orderID string) (*presale.Order, error) {
	if !ids.Valid(orderID) {
		return nil, presale.ErrOrderNotFound
	}
	o, err := loadPresaleOrder(ctx, s.pool, `order_id = $1 OR balance_order_id = $1`, orderID)
	if err != nil && !errors.Is(err, presale.ErrOrderNotFound) {
		return nil, errs.Wrap(err, "presale: read the purchase of order %s", orderID)
	}
	return o, err
}

func (s *Store) PresaleOrders(ctx context.Context, f presale.OrderFilter) (presale.OrderPage, error) {
	limit := page.Size(f.Limit, presale.DefaultLimit, presale.MaxLimit)
	var n newest
	n.eq("presale_id", f.ActivityID)
	n.eq("buyer_id", f.BuyerID)
	n.eq("status", string(f.Status))
	if err := n.after(presaleOrderCursor, f.Cursor); err != nil {
		return presale.OrderPage{}, presale.ErrBadCursor
	}
	q, args := n.query(presaleOrderColumns, "presale_orders", limit)
	list := []presale.Order{}
	err := scanBargainRows(ctx, s.pool, q, args, func(r pgx.Row) error {
		o, err := scanPresaleOrder(r)
		if err == nil {
			list = append(list, *o)
		}
		return err
	})
	if err != nil {
		return presale.OrderPage{}, errs.Wrap(err, "presale: list orders")
	}
	out := presale.OrderPage{}
	out.Orders, out.NextCursor = cursor.Page(presaleOrderCursor, list, limit,
		func(o *presale.Order) (int64, string) { return o.CreatedAt.UnixMicro(), o.ID })
	return out, nil
}

func (s *Store) UpdatePresaleOrder(ctx context.Context, id string, fn func(o *presale.Order) (presale.Change, error)) (*presale.Order, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrOrderNotFound
	}
	var out *presale.Order
	err := s.tx(ctx, func(tx pgx.Tx) error {
		o, err := loadPresaleOrder(ctx, tx, `id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		before := *o
		c, err := fn(o)
		if errors.Is(err, presale.ErrNoop) {
			out = &before
			return errNothingToWrite
		}
		if err != nil {
			return err
		}
		if err := s.writePresaleChange(ctx, tx, o, c); err != nil {
			return err
		}
		out = o
		return nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if sku, short := stockShort(err); short {
		// The units the purchase holds are gone from the books: a bug,
		// never the buyer's error.
		err = fmt.Errorf("presale order %s: SKU %s holds fewer units than it reserved", id, sku)
	}
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "presale: update order %s", id)
	}
	return out, nil
}

// writePresaleChange saves a purchase changed in tx with what its change
// brings: the counts, the stock, the ledger and the balance order.
func (s *Store) writePresaleChange(ctx context.Context, tx pgx.Tx, o *presale.Order, c presale.Change) error {
	reversals, err := json.Marshal(append([]presale.Reversal{}, o.Reversals...))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE presale_orders SET status = $2, balance_order_id = $3, stock = $4,
		forfeited = $5, reversals = $6, updated_at = $7, paid_at = $8, ended_at = $9 WHERE id = $1`,
		o.ID, o.Status, nullText(o.BalanceOrderID), o.Stock, o.Forfeited, string(reversals), o.UpdatedAt, o.PaidAt,
		o.EndedAt); err != nil {
		return err
	}
	if c.Free {
		broken := fmt.Errorf("presale order %s: its counts hold fewer than its %d units", o.ID, o.Qty)
		tag, err := tx.Exec(ctx, `UPDATE presale_items SET sold = sold - $3 WHERE presale_id = $1 AND sku_id = $2 AND sold >= $3`,
			o.ActivityID, o.SKUID, o.Qty)
		if err := oneRow(tag, err, broken); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `UPDATE presale_buyers SET units = units - $3 WHERE presale_id = $1 AND buyer_id = $2 AND units >= $3`,
			o.ActivityID, o.BuyerID, o.Qty)
		if err := oneRow(tag, err, broken); err != nil {
			return err
		}
	}
	if len(c.Transfers) > 0 {
		if err := postTransfers(ctx, tx, c.Transfers); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	if c.Order != nil {
		if err := s.queueCreateOrder(b, c.Order.Order, c.Order.Events, c.Order.Jobs); err != nil {
			return err
		}
	}
	queueEvents(b, c.Events)
	queueJobs(b, c.Jobs)
	if c.Stock != "" {
		queuePresaleStock(b, o, c.Stock, o.UpdatedAt)
	}
	return tx.SendBatch(ctx, b).Close()
}

// LowestPrice reads the lowest unit price a SKU was charged at, over the
// lines of orders paid in the window that sell goods at their own price
// (a presale's deposit and balance are a part each of one price, read from
// the purchase instead) and the purchases paid in full in it.
func (s *Store) LowestPrice(ctx context.Context, skuID string, since, until time.Time) (money.Fen, bool, error) {
	if !ids.Valid(skuID) {
		return 0, false, nil
	}
	var low *int64
	err := s.pool.QueryRow(ctx, `SELECT min(p) FROM (
			SELECT l.amount / l.qty AS p FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE l.sku_id = $1 AND o.paid_at >= $2 AND o.paid_at <= $3 AND l.qty > 0
				AND o.activity_kind NOT IN ($4, $5)
			UNION ALL
			SELECT min_price FROM presale_orders WHERE sku_id = $1 AND paid_at >= $2 AND paid_at <= $3) x`,
		skuID, since, until, order.ActivityPresaleDeposit, order.ActivityPresaleBalance).Scan(&low)
	if err != nil {
		return 0, false, errs.Wrap(err, "presale: lowest price of %s", skuID)
	}
	if low == nil {
		return 0, false, nil
	}
	return money.Fen(*low), true, nil
}
