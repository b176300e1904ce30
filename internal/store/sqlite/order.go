package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// orderColumns are read in the order scanOrder scans them.
const orderColumns = `id, buyer_id, status, subtotal, discount, shipping, total, ship_to, remark, from_cart,
	pay_by, paid_at, carrier, tracking_no, shipped_at, delivered_at, completed_at, ended_at, end_reason,
	created_at, updated_at, activity_kind, activity_id, activity_ref, held`

// orderCursorOrder names the orders listing's ordering inside its cursors.
const orderCursorOrder = "orders_newest"

// CreateOrder reserves the stock, writes the order and its lines, empties
// the ordered SKUs from the cart and records the events and jobs, all in one
// immediate transaction: the one writer connection queues concurrent orders,
// so none of them ever sees SQLITE_BUSY.
func (s *Store) CreateOrder(ctx context.Context, o *order.Order, ev []outbox.Event, js []jobs.Job) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.createOrder(ctx, tx, o, ev, js) })
	return errs.Wrap(err, "order: create %s", o.ID)
}

// createOrder is CreateOrder inside tx: an activity's store creates its
// order in the transaction that claims the activity's seat.
func (s *Store) createOrder(ctx context.Context, tx *sql.Tx, o *order.Order, ev []outbox.Event, js []jobs.Job) error {
	shipTo, err := s.sealShipTo(o.ShipTo)
	if err != nil {
		return err
	}
	if err := changeOrderStock(ctx, tx, o, inventory.Reserve, o.CreatedAt); err != nil {
		return err
	}
	act := activityOf(o)
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (`+orderColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.BuyerID, o.Status, o.Subtotal, o.Discount, o.Shipping, o.Total, shipTo, o.Remark, o.FromCart,
		ts(o.PayBy), tsPtr(o.PaidAt), o.Carrier, o.TrackingNo, tsPtr(o.ShippedAt), tsPtr(o.DeliveredAt),
		tsPtr(o.CompletedAt), tsPtr(o.EndedAt), o.EndReason, ts(o.CreatedAt), ts(o.UpdatedAt),
		act.Kind, act.ID, act.Ref, o.Held); err != nil {
		return err
	}
	for i, l := range o.Lines {
		// An empty list is stored as [], not null: the column is always an array.
		adj, err := json.Marshal(append(make([]pricing.Adjustment, 0, len(l.Adjustments)), l.Adjustments...))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_lines
			(id, order_id, position, sku_id, product_id, title, spec, qty, list_price, sale_price, amount, adjustments)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, o.ID, i, l.SKUID, l.ProductID, l.Title, l.Spec, l.Qty, l.ListPrice, l.SalePrice, l.Amount, string(adj)); err != nil {
			return err
		}
	}
	if o.FromCart {
		for _, l := range o.Lines {
			if _, err := tx.ExecContext(ctx, `DELETE FROM cart_lines WHERE buyer_id = ? AND sku_id = ?`, o.BuyerID, l.SKUID); err != nil {
				return err
			}
		}
	}
	if err := insertEvents(ctx, tx, ev); err != nil {
		return err
	}
	return insertJobs(ctx, tx, js)
}

// Order returns one order with its lines.
func (s *Store) Order(ctx context.Context, id string) (*order.Order, error) {
	if !ids.Valid(id) {
		return nil, order.ErrNotFound
	}
	o, err := s.loadOrder(ctx, s.r, id)
	if err != nil {
		return nil, errs.Wrap(err, "order: read %s", id)
	}
	return o, nil
}

// Orders lists a page newest first, by keyset on (created_at, id): an
// offset would skip or repeat orders placed while the buyer pages.
func (s *Store) Orders(ctx context.Context, f order.ListFilter) (order.Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	var n newest
	n.eq("buyer_id", f.BuyerID)
	n.eq("status", string(f.Status))
	if err := n.after(orderCursorOrder, f.Cursor); err != nil {
		return order.Page{}, order.ErrBadCursor
	}
	q, args := n.query(orderColumns, "orders", limit)

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return order.Page{}, errs.Wrap(err, "order: list")
	}
	defer rows.Close()
	var page order.Page
	for rows.Next() {
		o, err := s.scanOrder(rows)
		if err != nil {
			return order.Page{}, errs.Wrap(err, "order: list")
		}
		page.Orders = append(page.Orders, *o)
	}
	if err := rows.Err(); err != nil {
		return order.Page{}, errs.Wrap(err, "order: list")
	}
	rows.Close()
	page.Orders, page.NextCursor = cursor.Page(orderCursorOrder, page.Orders, limit, func(o *order.Order) (int64, string) {
		return o.CreatedAt.UnixMicro(), o.ID
	})
	byOrder, err := orderLines(ctx, s.r, page.Orders)
	if err != nil {
		return order.Page{}, errs.Wrap(err, "order: list lines")
	}
	for i := range page.Orders {
		page.Orders[i].Lines = byOrder[page.Orders[i].ID]
	}
	return page, nil
}

// UpdateOrder runs fn on the order inside an immediate transaction. The one
// writer connection and BEGIN IMMEDIATE serialise it against every other
// write, which is the row lock PostgreSQL takes with FOR UPDATE.
func (s *Store) UpdateOrder(ctx context.Context, id string, fn func(o *order.Order) (order.Change, error)) (*order.Order, error) {
	if !ids.Valid(id) {
		return nil, order.ErrNotFound
	}
	var saved *order.Order
	err := s.tx(ctx, func(tx *sql.Tx) error {
		o, err := s.loadOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *o
		before.Lines = append([]order.Line(nil), o.Lines...)
		c, err := fn(o)
		if errors.Is(err, order.ErrNoop) {
			saved = &before
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.writeOrderChange(ctx, tx, o, c); err != nil {
			return err
		}
		saved = o
		return nil
	})
	if err != nil {
		return nil, errs.Wrap(err, "order: update %s", id)
	}
	return saved, nil
}

// writeOrderChange saves an order changed inside tx with what its change
// brings: the stock effect, events and jobs. UpdateOrder and the stores of
// other domains that move an order in their own transaction (a payment's
// capture) share it, so an order moves the same way whoever moves it.
func (s *Store) writeOrderChange(ctx context.Context, tx *sql.Tx, o *order.Order, c order.Change) error {
	if err := s.saveOrder(ctx, tx, o); err != nil {
		return err
	}
	if reason, ok := orderStockReason[c.Stock]; ok {
		if err := changeOrderStock(ctx, tx, o, reason, o.UpdatedAt); err != nil {
			return err
		}
	}
	if err := insertEvents(ctx, tx, c.Events); err != nil {
		return err
	}
	return insertJobs(ctx, tx, c.Jobs)
}

// saveOrder writes what a transition may change. Amounts and lines are
// fixed when the order is placed: payment and refunds rely on them.
func (s *Store) saveOrder(ctx context.Context, tx *sql.Tx, o *order.Order) error {
	shipTo, err := s.sealShipTo(o.ShipTo)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET status = ?, ship_to = ?, remark = ?, paid_at = ?,
		carrier = ?, tracking_no = ?, shipped_at = ?, delivered_at = ?, completed_at = ?,
		ended_at = ?, end_reason = ?, updated_at = ?, held = ?
		WHERE id = ?`,
		o.Status, shipTo, o.Remark, tsPtr(o.PaidAt), o.Carrier, o.TrackingNo, tsPtr(o.ShippedAt),
		tsPtr(o.DeliveredAt), tsPtr(o.CompletedAt), tsPtr(o.EndedAt), o.EndReason, ts(o.UpdatedAt), o.Held, o.ID)
	return err
}

var orderStockReason = map[order.StockEffect]inventory.Reason{
	order.StockRelease: inventory.Release,
	order.StockCommit:  inventory.Commit,
}

// orderStockSQL is the conditional update for each way an order moves its
// stock. Each WHERE makes the update a no-op rather than let a level go
// negative or past on hand, so no interleaving of orders can oversell.
var orderStockSQL = map[inventory.Reason]string{
	inventory.Reserve: `UPDATE stock_levels SET reserved = reserved + :q, updated_at = :at
		WHERE sku_id = :sku AND location = :loc AND on_hand - reserved >= :q`,
	inventory.Release: `UPDATE stock_levels SET reserved = reserved - :q, updated_at = :at
		WHERE sku_id = :sku AND location = :loc AND reserved >= :q`,
	inventory.Commit: `UPDATE stock_levels SET on_hand = on_hand - :q, reserved = reserved - :q, updated_at = :at
		WHERE sku_id = :sku AND location = :loc AND reserved >= :q`,
}

// changeOrderStock moves the order's units at the online location and
// journals each move with the order as its reference. A reservation that
// finds too little stock is out of stock; a release or commit that finds
// less reserved than the order holds means the books are already wrong, and
// is refused as an internal error rather than made worse.
func changeOrderStock(ctx context.Context, tx *sql.Tx, o *order.Order, reason inventory.Reason, at time.Time) error {
	for _, u := range o.StockUnits() {
		var onHand, reserved int64
		switch reason {
		case inventory.Reserve:
			reserved = u.Qty
		case inventory.Release:
			reserved = -u.Qty
		case inventory.Commit:
			onHand, reserved = -u.Qty, -u.Qty
		}
		res, err := tx.ExecContext(ctx, orderStockSQL[reason], sql.Named("q", u.Qty), sql.Named("at", ts(at)),
			sql.Named("sku", u.SKUID), sql.Named("loc", inventory.Online))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if reason == inventory.Reserve {
				return inventory.OutOfStock(u.SKUID)
			}
			return fmt.Errorf("%s of order %s: SKU %s has fewer than %d units reserved", reason, o.ID, u.SKUID, u.Qty)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stock_movements
			(id, sku_id, location, on_hand_delta, reserved_delta, reason, ref, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ids.New(), u.SKUID, inventory.Online, onHand, reserved, reason, o.ID, ts(at)); err != nil {
			return err
		}
	}
	return nil
}

// loadOrder reads one order and its lines through db (the readers, or the
// writer's transaction).
func (s *Store) loadOrder(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, id string) (*order.Order, error) {
	o, err := s.scanOrder(db.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, order.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	byOrder, err := orderLines(ctx, db, []order.Order{*o})
	if err != nil {
		return nil, err
	}
	o.Lines = byOrder[o.ID]
	return o, nil
}

func (s *Store) scanOrder(row interface{ Scan(...any) error }) (*order.Order, error) {
	var (
		o                                                  order.Order
		shipTo                                             string
		payBy, createdAt, updatedAt                        int64
		paidAt, shippedAt, deliveredAt, completedAt, ended sql.NullInt64
		act                                                order.Activity
	)
	if err := row.Scan(&o.ID, &o.BuyerID, &o.Status, &o.Subtotal, &o.Discount, &o.Shipping, &o.Total,
		&shipTo, &o.Remark, &o.FromCart, &payBy, &paidAt, &o.Carrier, &o.TrackingNo, &shippedAt,
		&deliveredAt, &completedAt, &ended, &o.EndReason, &createdAt, &updatedAt,
		&act.Kind, &act.ID, &act.Ref, &o.Held); err != nil {
		return nil, err
	}
	if act.Kind != "" {
		o.Activity = &act
	}
	var err error
	if o.ShipTo, err = s.openShipTo(shipTo); err != nil {
		return nil, fmt.Errorf("order %s: %w", o.ID, err)
	}
	o.PayBy, o.CreatedAt, o.UpdatedAt = fromTS(payBy), fromTS(createdAt), fromTS(updatedAt)
	o.PaidAt, o.ShippedAt, o.DeliveredAt = fromTSPtr(paidAt), fromTSPtr(shippedAt), fromTSPtr(deliveredAt)
	o.CompletedAt, o.EndedAt = fromTSPtr(completedAt), fromTSPtr(ended)
	return &o, nil
}

// orderLines reads the lines of several orders in one query, keyed by order.
func orderLines(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, orders []order.Order) (map[string][]order.Line, error) {
	if len(orders) == 0 {
		return nil, nil
	}
	args := make([]any, len(orders))
	for i, o := range orders {
		args[i] = o.ID
	}
	rows, err := db.QueryContext(ctx, `SELECT order_id, id, sku_id, product_id, title, spec, qty,
			list_price, sale_price, amount, adjustments
		FROM order_lines WHERE order_id IN (?`+strings.Repeat(", ?", len(args)-1)+`)
		ORDER BY order_id, position`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string][]order.Line, len(orders))
	for rows.Next() {
		var (
			orderID string
			l       order.Line
			adj     string
		)
		if err := rows.Scan(&orderID, &l.ID, &l.SKUID, &l.ProductID, &l.Title, &l.Spec, &l.Qty,
			&l.ListPrice, &l.SalePrice, &l.Amount, &adj); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(adj), &l.Adjustments); err != nil {
			return nil, fmt.Errorf("order %s line %s: adjustments: %w", orderID, l.ID, err)
		}
		if len(l.Adjustments) == 0 {
			l.Adjustments = nil // as the pricing pipeline hands them over
		}
		out[orderID] = append(out[orderID], l)
	}
	return out, rows.Err()
}

// sealShipTo encrypts the ship-to: names, phones and addresses are personal
// data that PIPL wants encrypted at rest.
func (s *Store) sealShipTo(st order.ShipTo) (string, error) {
	sealed, err := s.seal.SealJSON(st)
	return sealed, errs.Wrap(err, "order: ship-to")
}

func (s *Store) openShipTo(sealed string) (order.ShipTo, error) {
	var st order.ShipTo
	return st, s.seal.OpenJSON(sealed, &st)
}

// activityOf is the activity columns of o: empty for an order placed
// outside any activity.
func activityOf(o *order.Order) order.Activity {
	if o.Activity == nil {
		return order.Activity{}
	}
	return *o.Activity
}
