package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	address_id, status, order_id, coalesce(balance_order_id, ''), stock, balance_starts_at, balance_ends_at, ships_by,
	forfeited, reversals, created_at, updated_at, paid_at, ended_at`
	presaleOrderCursor = "presale_orders_newest"
)

func scanPresaleOrder(row interface{ Scan(...any) error }) (*presale.Order, error) {
	var (
		o                                       presale.Order
		runs, reversals                         string
		ships, created, updated                 int64
		balanceStarts, balanceEnds, paid, ended sql.NullInt64
	)
	if err := row.Scan(&o.ID, &o.ActivityID, &o.SKUID, &o.BuyerID, &o.Mode, &o.Qty, &o.FirstUnit, &runs, &o.Amount,
		&o.Deposit, &o.Balance, &o.AddressID, &o.Status, &o.OrderID, &o.BalanceOrderID, &o.Stock, &balanceStarts,
		&balanceEnds, &ships, &o.Forfeited, &reversals, &created, &updated, &paid, &ended); err != nil {
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
	o.BalanceStartsAt, o.BalanceEndsAt, o.ShipsBy = fromTSPtr(balanceStarts), fromTSPtr(balanceEnds), fromTS(ships)
	o.CreatedAt, o.UpdatedAt, o.PaidAt, o.EndedAt = fromTS(created), fromTS(updated), fromTSPtr(paid), fromTSPtr(ended)
	return &o, nil
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// BuyPresale claims the units with one conditional update (the count
// within the quoted range and the quota), the buyer's units with another,
// then writes the purchase and its order, all under the writer.
func (s *Store) BuyPresale(ctx context.Context, c presale.Claim, o *presale.Order, d *order.Draft, ev []outbox.Event, js []jobs.Job) error {
	runs, err := jsonText(o.Runs)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var sold int
		err := tx.QueryRowContext(ctx, `UPDATE presale_items SET sold = sold + ?1
			WHERE presale_id = ?2 AND sku_id = ?3 AND sold BETWEEN ?4 AND ?5 AND sold + ?1 <= quota
				AND EXISTS (SELECT 1 FROM presales WHERE id = ?2 AND status = 'published')
			RETURNING sold`, c.Qty, c.ActivityID, c.SKUID, c.From, c.To).Scan(&sold)
		if errors.Is(err, sql.ErrNoRows) {
			return claimRefusal(ctx, tx, c)
		}
		if err != nil {
			return err
		}
		o.FirstUnit = sold - c.Qty + 1
		res, err := tx.ExecContext(ctx, `INSERT INTO presale_buyers (presale_id, buyer_id, units) SELECT ?1, ?2, ?3 WHERE ?3 <= ?4
			ON CONFLICT (presale_id, buyer_id) DO UPDATE SET units = units + excluded.units
			WHERE presale_buyers.units + excluded.units <= ?4`, c.ActivityID, c.BuyerID, c.Qty, c.Limit)
		if err := oneRow(res, err, presale.ErrLimitReached); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO presale_orders (id, presale_id, sku_id, buyer_id, mode, qty,
				first_unit, runs, amount, min_price, deposit, balance, address_id, status, order_id, stock,
				balance_starts_at, balance_ends_at, ships_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.ActivityID, o.SKUID, o.BuyerID, o.Mode, o.Qty, o.FirstUnit, runs, o.Amount, o.MinPrice(), o.Deposit,
			o.Balance, o.AddressID, o.Status, o.OrderID, o.Stock, tsPtr(o.BalanceStartsAt), tsPtr(o.BalanceEndsAt),
			ts(o.ShipsBy), ts(o.CreatedAt), ts(o.UpdatedAt)); err != nil {
			return err
		}
		if o.Stock == presale.StockReserved {
			if err := movePresaleStock(ctx, tx, o, inventory.Reserve, o.CreatedAt); err != nil {
				return err
			}
		}
		if err := insertEvents(ctx, tx, ev); err != nil {
			return err
		}
		if err := insertJobs(ctx, tx, js); err != nil {
			return err
		}
		return s.createOrder(ctx, tx, d.Order, d.Events, d.Jobs)
	})
	if _, ok := errs.As(err); ok || errors.Is(err, presale.ErrStepMoved) {
		return err
	}
	return errs.Wrap(err, "presale: buy %s", c.ActivityID)
}

// claimRefusal tells why a claim of units changed no row.
func claimRefusal(ctx context.Context, tx *sql.Tx, c presale.Claim) error {
	var sold, quota int
	var status string
	err := tx.QueryRowContext(ctx, `SELECT i.sold, i.quota, p.status FROM presale_items i JOIN presales p ON p.id = i.presale_id
		WHERE i.presale_id = ? AND i.sku_id = ?`, c.ActivityID, c.SKUID).Scan(&sold, &quota, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
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

// movePresaleStock moves a purchase's units at the online warehouse with
// the conditional update an order's move of the same reason uses, and
// journals it with the purchase as the reference.
func movePresaleStock(ctx context.Context, tx *sql.Tx, o *presale.Order, reason inventory.Reason, at time.Time) error {
	q := int64(o.Qty)
	res, err := tx.ExecContext(ctx, orderStockSQL[reason], sql.Named("q", q), sql.Named("at", ts(at)),
		sql.Named("sku", o.SKUID), sql.Named("loc", inventory.Online))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		if reason == inventory.Reserve {
			return inventory.OutOfStock(o.SKUID)
		}
		return fmt.Errorf("%s of presale order %s: SKU %s has fewer than %d units reserved", reason, o.ID, o.SKUID, q)
	}
	onHand, reserved := int64(0), q
	switch reason {
	case inventory.Release:
		reserved = -q
	case inventory.Commit:
		onHand, reserved = -q, -q
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO stock_movements (id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ids.New(), o.SKUID, inventory.Online, onHand, reserved, reason, o.ID, ts(at))
	return err
}

func loadPresaleOrder(ctx context.Context, db presaleDB, where string, arg string) (*presale.Order, error) {
	o, err := scanPresaleOrder(db.QueryRowContext(ctx, `SELECT `+presaleOrderColumns+` FROM presale_orders WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, presale.ErrOrderNotFound
	}
	return o, err
}

func (s *Store) PresaleOrder(ctx context.Context, id string) (*presale.Order, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrOrderNotFound
	}
	o, err := loadPresaleOrder(ctx, s.r, `id = ?`, id)
	if err != nil && !errors.Is(err, presale.ErrOrderNotFound) {
		return nil, errs.Wrap(err, "presale: read order %s", id)
	}
	return o, err
}

func (s *Store) PresaleOrderOf(ctx context.Context, orderID string) (*presale.Order, error) {
	if !ids.Valid(orderID) {
		return nil, presale.ErrOrderNotFound
	}
	// Two index lookups: the first order's unique key, then the balance's.
	o, err := loadPresaleOrder(ctx, s.r, `order_id = ?`, orderID)
	if errors.Is(err, presale.ErrOrderNotFound) {
		o, err = loadPresaleOrder(ctx, s.r, `balance_order_id = ?`, orderID)
	}
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
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return presale.OrderPage{}, errs.Wrap(err, "presale: list orders")
	}
	defer rows.Close()
	list := []presale.Order{}
	for rows.Next() {
		o, err := scanPresaleOrder(rows)
		if err != nil {
			return presale.OrderPage{}, errs.Wrap(err, "presale: list orders")
		}
		list = append(list, *o)
	}
	if err := rows.Err(); err != nil {
		return presale.OrderPage{}, errs.Wrap(err, "presale: list orders")
	}
	out := presale.OrderPage{}
	out.Orders, out.NextCursor = cursor.Page(presaleOrderCursor, list, limit,
		func(o *presale.Order) (int64, string) { return ts(o.CreatedAt), o.ID })
	return out, nil
}

func (s *Store) UpdatePresaleOrder(ctx context.Context, id string, fn func(o *presale.Order) (presale.Change, error)) (*presale.Order, error) {
	if !ids.Valid(id) {
		return nil, presale.ErrOrderNotFound
	}
	var out *presale.Order
	err := s.tx(ctx, func(tx *sql.Tx) error {
		o, err := loadPresaleOrder(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		before := *o
		c, err := fn(o)
		if errors.Is(err, presale.ErrNoop) {
			out = &before
			return nil
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
	if err != nil {
		if _, ok := errs.As(err); ok {
			return nil, err
		}
		return nil, errs.Wrap(err, "presale: update order %s", id)
	}
	return out, nil
}

// writePresaleChange saves a purchase changed in tx with what its change
// brings.
func (s *Store) writePresaleChange(ctx context.Context, tx *sql.Tx, o *presale.Order, c presale.Change) error {
	reversals, err := jsonText(append([]presale.Reversal{}, o.Reversals...))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE presale_orders SET status = ?, balance_order_id = ?, stock = ?,
		forfeited = ?, reversals = ?, updated_at = ?, paid_at = ?, ended_at = ? WHERE id = ?`,
		o.Status, nullText(o.BalanceOrderID), o.Stock, o.Forfeited, reversals, ts(o.UpdatedAt), tsPtr(o.PaidAt),
		tsPtr(o.EndedAt), o.ID); err != nil {
		return err
	}
	if c.Free {
		broken := fmt.Errorf("presale order %s: its counts hold fewer than its %d units", o.ID, o.Qty)
		res, err := tx.ExecContext(ctx, `UPDATE presale_items SET sold = sold - ?1 WHERE presale_id = ?2 AND sku_id = ?3 AND sold >= ?1`,
			o.Qty, o.ActivityID, o.SKUID)
		if err := oneRow(res, err, broken); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `UPDATE presale_buyers SET units = units - ?1 WHERE presale_id = ?2 AND buyer_id = ?3 AND units >= ?1`,
			o.Qty, o.ActivityID, o.BuyerID)
		if err := oneRow(res, err, broken); err != nil {
			return err
		}
	}
	if c.Stock != "" {
		if err := movePresaleStock(ctx, tx, o, c.Stock, o.UpdatedAt); err != nil {
			return err
		}
	}
	if len(c.Transfers) > 0 {
		if err := postTransfers(ctx, tx, c.Transfers); err != nil {
			return err
		}
	}
	if c.Order != nil {
		if err := s.createOrder(ctx, tx, c.Order.Order, c.Order.Events, c.Order.Jobs); err != nil {
			return err
		}
	}
	if err := insertEvents(ctx, tx, c.Events); err != nil {
		return err
	}
	return insertJobs(ctx, tx, c.Jobs)
}

// LowestPrice reads the lowest unit price a SKU was charged at, over the
// lines of orders paid in the window that sell goods at their own price
// (a presale's deposit and balance are a part each of one price, read from
// the purchase instead) and the purchases paid in full in it.
func (s *Store) LowestPrice(ctx context.Context, skuID string, since, until time.Time) (money.Fen, bool, error) {
	var low sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT min(p) FROM (
			SELECT l.amount / l.qty AS p FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE l.sku_id = ?1 AND o.paid_at >= ?2 AND o.paid_at <= ?3 AND l.qty > 0
				AND o.activity_kind NOT IN (?4, ?5)
			UNION ALL
			SELECT min_price FROM presale_orders WHERE sku_id = ?1 AND paid_at >= ?2 AND paid_at <= ?3)`,
		skuID, ts(since), ts(until), order.ActivityPresaleDeposit, order.ActivityPresaleBalance).Scan(&low)
	if err != nil {
		return 0, false, errs.Wrap(err, "presale: lowest price of %s", skuID)
	}
	return money.Fen(low.Int64), low.Valid, nil
}
