package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

const orderLineColumns = `order_id, id, sku_id, product_id, title, spec, qty, list_price, sale_price, amount, adjustments`

// orderCursorOrder names the orders listing's ordering inside its cursors.
const orderCursorOrder = "orders_newest"

// CreateOrder sends the whole order, from BEGIN to the last stock update,
// as one batch, then commits: two round trips however many lines, on the
// path every checkout takes. A reservation that finds too little stock does
// not fail the batch (a failed batch also makes pgx drop the connection's
// prepared statements); it is noted, and the transaction rolled back once
// the batch is read.
func (s *Store) CreateOrder(ctx context.Context, o *order.Order, ev []outbox.Event, js []jobs.Job) error {
	b := &pgx.Batch{}
	if err := s.queueCreateOrder(b, o, ev, js); err != nil {
		return err
	}
	err := s.sendCommitted(ctx, b)
	if sku, short := stockShort(err); short {
		return inventory.OutOfStock(sku)
	}
	return errs.Wrap(err, "order: create %s", o.ID)
}

// queueCreateOrder queues CreateOrder's statements, the stock last: an
// activity's store sends them in the transaction that claims its seat.
func (s *Store) queueCreateOrder(b *pgx.Batch, o *order.Order, ev []outbox.Event, js []jobs.Job) error {
	shipTo, err := s.sealShipTo(o.ShipTo)
	if err != nil {
		return err
	}
	act := activityOf(o)
	b.Queue(`INSERT INTO orders (`+orderColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
			$22, $23, $24, $25)`,
		o.ID, o.BuyerID, o.Status, o.Subtotal, o.Discount, o.Shipping, o.Total, shipTo, o.Remark, o.FromCart,
		o.PayBy, o.PaidAt, o.Carrier, o.TrackingNo, o.ShippedAt, o.DeliveredAt, o.CompletedAt, o.EndedAt,
		o.EndReason, o.CreatedAt, o.UpdatedAt, act.Kind, act.ID, act.Ref, o.Held)
	skuIDs := make([]string, len(o.Lines))
	for i, l := range o.Lines {
		skuIDs[i] = l.SKUID
		// An empty list is stored as [], not null: the column is always an array.
		adj, err := json.Marshal(append(make([]pricing.Adjustment, 0, len(l.Adjustments)), l.Adjustments...))
		if err != nil {
			return errs.Wrap(err, "order: create %s", o.ID)
		}
		b.Queue(`INSERT INTO order_lines
			(id, order_id, position, sku_id, product_id, title, spec, qty, list_price, sale_price, amount, adjustments)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			l.ID, o.ID, i, l.SKUID, l.ProductID, l.Title, l.Spec, l.Qty, l.ListPrice, l.SalePrice, l.Amount, string(adj))
	}
	if o.FromCart {
		b.Queue(`DELETE FROM cart_lines WHERE buyer_id = $1 AND sku_id = ANY($2)`, o.BuyerID, skuIDs)
	}
	queueEvents(b, ev)
	queueJobs(b, js)
	// The stock goes last: in a flash sale every buyer queues on one stock
	// row, and each holds its lock from its update to its commit, so the
	// less that runs in between, the more orders a second.
	queueOrderStock(b, o, inventory.Reserve, o.CreatedAt)
	return nil
}

// sendCommitted runs b's statements in one transaction whose BEGIN and
// COMMIT travel in the same batch: one round trip for the whole change. If a
// statement fails, PostgreSQL skips the rest up to the batch's sync, and the
// transaction, aborted, is rolled back here before the connection goes back
// to the pool.
func (s *Store) sendCommitted(ctx context.Context, b *pgx.Batch) error {
	return s.readThenCommit(ctx, nil, func() (*pgx.Batch, error) { return b, nil })
}

// readThenCommit begins a transaction with reads (row locks, typically) in
// one batch, lets then decide the writes, and sends them with the COMMIT in
// a second batch: two round trips, and whatever rows the writes lock are
// held only while the server runs the rest of that batch and commits, no
// network wait in between. A nil reads sends BEGIN with the writes. When
// then or a statement fails, the transaction is rolled back before the
// connection goes back to the pool; then returning errNothingToWrite is how
// a change with nothing to write ends.
func (s *Store) readThenCommit(ctx context.Context, reads *pgx.Batch, then func() (*pgx.Batch, error)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	defer func() {
		if conn.Conn().PgConn().TxStatus() == 'I' {
			return
		}
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck // the pool drops a closed connection
		}
	}()
	begun := reads != nil
	if begun {
		if err := conn.SendBatch(ctx, framed(reads, true, false)).Close(); err != nil {
			return err
		}
	}
	w, err := then()
	if err != nil {
		return err
	}
	return conn.SendBatch(ctx, framed(w, !begun, true)).Close()
}

// framed is b's statements after a BEGIN and before a COMMIT, as asked.
func framed(b *pgx.Batch, begin, commit bool) *pgx.Batch {
	full := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(b.QueuedQueries)+2)}
	if begin {
		full.Queue("BEGIN")
	}
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	if commit {
		full.Queue("COMMIT")
	}
	return full
}

// stockShortCode is the SQLSTATE siyu_move_stock raises (migration 0002).
const stockShortCode = "SY001"

// stockShort reports whether err is siyu_move_stock finding too few units,
// and for which SKU.
func stockShort(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == stockShortCode {
		return pe.Detail, true
	}
	return "", false
}

// Order returns one order with its lines, read in one round trip.
func (s *Store) Order(ctx context.Context, id string) (*order.Order, error) {
	// A string that is not a UUID would make PostgreSQL fail the query: to
	// the caller it is simply an order that does not exist.
	if !ids.Valid(id) {
		return nil, order.ErrNotFound
	}
	b := &pgx.Batch{}
	o, found := s.queueLoadOrder(b, id, "")
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, errs.Wrap(err, "order: read %s", id)
	}
	if !*found {
		return nil, order.ErrNotFound
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
	if f.BuyerID != "" && !ids.Valid(f.BuyerID) {
		return order.Page{}, nil // no such buyer, so no orders; not a malformed query
	}
	var n newest
	n.eq("buyer_id", f.BuyerID)
	n.eq("status", string(f.Status))
	if err := n.after(orderCursorOrder, f.Cursor); err != nil {
		return order.Page{}, order.ErrBadCursor
	}
	q, args := n.query(orderColumns, "orders", limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return order.Page{}, errs.Wrap(err, "order: list")
	}
	var page order.Page
	for rows.Next() {
		o, err := s.scanOrder(rows)
		if err != nil {
			rows.Close()
			return order.Page{}, errs.Wrap(err, "order: list")
		}
		page.Orders = append(page.Orders, *o)
	}
	if err := rows.Err(); err != nil {
		return order.Page{}, errs.Wrap(err, "order: list")
	}
	page.Orders, page.NextCursor = cursor.Page(orderCursorOrder, page.Orders, limit, func(o *order.Order) (int64, string) {
		return o.CreatedAt.UnixMicro(), o.ID
	})
	if len(page.Orders) == 0 {
		return page, nil
	}
	orderIDs := make([]string, len(page.Orders))
	for i, o := range page.Orders {
		orderIDs[i] = o.ID
	}
	rows, err = s.pool.Query(ctx, `SELECT `+orderLineColumns+` FROM order_lines
		WHERE order_id = ANY($1) ORDER BY order_id, position`, orderIDs)
	if err != nil {
		return order.Page{}, errs.Wrap(err, "order: list lines")
	}
	byOrder, err := scanOrderLines(rows)
	if err != nil {
		return order.Page{}, errs.Wrap(err, "order: list lines")
	}
	for i := range page.Orders {
		page.Orders[i].Lines = byOrder[page.Orders[i].ID]
	}
	return page, nil
}

// UpdateOrder locks the order row (FOR UPDATE) and reads its lines in the
// batch that begins the transaction, lets fn decide, then sends every write
// in a second batch and commits. A concurrent update of the same order
// waits on the row lock and then reads what this one committed.
func (s *Store) UpdateOrder(ctx context.Context, id string, fn func(o *order.Order) (order.Change, error)) (*order.Order, error) {
	if !ids.Valid(id) {
		return nil, order.ErrNotFound
	}
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	o, found := s.queueLoadOrder(b, id, "FOR UPDATE")
	var saved *order.Order
	err := s.batchTx(ctx, b, func(tx pgx.Tx) error {
		if !*found {
			return order.ErrNotFound
		}
		before := *o
		before.Lines = append([]order.Line(nil), o.Lines...)
		c, err := fn(o)
		if errors.Is(err, order.ErrNoop) {
			saved = &before
			return errNothingToWrite
		}
		if err != nil {
			return err
		}
		w := &pgx.Batch{}
		if err := s.queueOrderChange(w, o, c); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, w).Close(); err != nil {
			return err
		}
		saved = o
		return nil
	})
	if errors.Is(err, errNothingToWrite) {
		err = nil
	}
	if err != nil {
		return nil, errs.Wrap(err, "order: update %s", id)
	}
	return saved, nil
}

// queueOrderChange queues the save of an order changed in a transaction
// with what its change brings: the stock effect, events and jobs.
// UpdateOrder and the stores of other domains that move an order in their
// own transaction (a payment's capture) share it, so an order moves the same
// way whoever moves it.
func (s *Store) queueOrderChange(b *pgx.Batch, o *order.Order, c order.Change) error {
	shipTo, err := s.sealShipTo(o.ShipTo)
	if err != nil {
		return err
	}
	b.Queue(`UPDATE orders SET status = $1, ship_to = $2, remark = $3, paid_at = $4,
		carrier = $5, tracking_no = $6, shipped_at = $7, delivered_at = $8, completed_at = $9,
		ended_at = $10, end_reason = $11, updated_at = $12, held = $13
		WHERE id = $14`,
		o.Status, shipTo, o.Remark, o.PaidAt, o.Carrier, o.TrackingNo, o.ShippedAt,
		o.DeliveredAt, o.CompletedAt, o.EndedAt, o.EndReason, o.UpdatedAt, o.Held, o.ID)
	queueEvents(b, c.Events)
	queueJobs(b, c.Jobs)
	// The stock goes last, for the reason CreateOrder gives: every payment
	// of a best seller commits units of one stock row.
	if reason, ok := orderStockReason[c.Stock]; ok {
		// A short release or commit means the reservation was lost: a
		// bug, never a buyer's error, so it stays an internal error.
		queueOrderStock(b, o, reason, o.UpdatedAt)
	}
	return nil
}

// errNothingToWrite rolls back a transaction that has nothing to commit
// (an ErrNoop update), releasing its row lock.
var errNothingToWrite = errors.New("nothing to write")

// batchTx sends b, which begins a transaction, runs then in that
// transaction and commits; if the batch or then fails, it rolls back.
func (s *Store) batchTx(ctx context.Context, b *pgx.Batch, then func(tx pgx.Tx) error) error {
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	// Rolling back after a commit is a no-op; the rollback must run even
	// when ctx is done, or the connection goes back to the pool mid-transaction.
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := br.Close(); err != nil {
		return err
	}
	if err := then(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

var orderStockReason = map[order.StockEffect]inventory.Reason{
	order.StockRelease: inventory.Release,
	order.StockCommit:  inventory.Commit,
}

// queueOrderStock queues the move of the order's units at the online
// location, with its journal rows referencing the order, as one call of
// siyu_move_stock (migration 0002): conditional updates in StockUnits' order
// (sorted by SKU), raising SY001 for a SKU whose update changed no row.
func queueOrderStock(b *pgx.Batch, o *order.Order, reason inventory.Reason, at time.Time) {
	units := o.StockUnits()
	skus := make([]string, len(units))
	qtys := make([]int64, len(units))
	moveIDs := make([]string, len(units))
	for i, u := range units {
		skus[i], qtys[i], moveIDs[i] = u.SKUID, u.Qty, ids.New()
	}
	b.Queue(`SELECT siyu_move_stock($1, $2, $3, $4, $5, $6, $7)`,
		skus, qtys, moveIDs, inventory.Online, string(reason), o.ID, at)
}

// queueLoadOrder queues the read of one order (with lock, e.g. "FOR
// UPDATE") and its lines. Once the batch is read, *found says whether the
// order exists and o holds it.
func (s *Store) queueLoadOrder(b *pgx.Batch, id, lock string) (o *order.Order, found *bool) {
	return s.queueLoadOrderBy(b, "$1", id, lock)
}

// queueLoadOrderBy is queueLoadOrder for an order named by idExpr, an SQL
// expression of $1 (arg) giving its id: a store that knows the order only
// through its own row (a payment) locks it in the same round trip.
func (s *Store) queueLoadOrderBy(b *pgx.Batch, idExpr string, arg any, lock string) (o *order.Order, found *bool) {
	o, found = &order.Order{}, new(bool)
	b.Queue(`SELECT `+orderColumns+` FROM orders WHERE id = `+idExpr+` `+lock, arg).QueryRow(func(row pgx.Row) error {
		got, err := s.scanOrder(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		*o, *found = *got, true
		return nil
	})
	b.Queue(`SELECT `+orderLineColumns+` FROM order_lines WHERE order_id = `+idExpr+` ORDER BY position`, arg).Query(func(rows pgx.Rows) error {
		byOrder, err := scanOrderLines(rows)
		o.Lines = byOrder[o.ID]
		return err
	})
	return o, found
}

func (s *Store) scanOrder(row pgx.Row) (*order.Order, error) {
	var (
		o      order.Order
		shipTo string
		act    order.Activity
	)
	if err := row.Scan(&o.ID, &o.BuyerID, &o.Status, &o.Subtotal, &o.Discount, &o.Shipping, &o.Total,
		&shipTo, &o.Remark, &o.FromCart, &o.PayBy, &o.PaidAt, &o.Carrier, &o.TrackingNo, &o.ShippedAt,
		&o.DeliveredAt, &o.CompletedAt, &o.EndedAt, &o.EndReason, &o.CreatedAt, &o.UpdatedAt,
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
	// pgx reads timestamptz in the local zone; siyu's times are UTC.
	o.PayBy, o.CreatedAt, o.UpdatedAt = o.PayBy.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	for _, t := range []*time.Time{o.PaidAt, o.ShippedAt, o.DeliveredAt, o.CompletedAt, o.EndedAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return &o, nil
}

// scanOrderLines reads order lines, keyed by order, and closes rows.
func scanOrderLines(rows pgx.Rows) (map[string][]order.Line, error) {
	defer rows.Close()
	out := map[string][]order.Line{}
	for rows.Next() {
		var (
			orderID string
			l       order.Line
		)
		if err := rows.Scan(&orderID, &l.ID, &l.SKUID, &l.ProductID, &l.Title, &l.Spec, &l.Qty,
			&l.ListPrice, &l.SalePrice, &l.Amount, &l.Adjustments); err != nil {
			return nil, err
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
