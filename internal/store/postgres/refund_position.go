package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// ensurePosition creates the order's position from its payment and lines on
// its first refund, then locks it; later refunds must name the same
// payment. Two first refunds racing meet at the primary key: the second
// waits for the first to commit and then finds its row.
func ensurePosition(ctx context.Context, tx pgx.Tx, p refund.Paid) error {
	if _, err := tx.Exec(ctx, `INSERT INTO refund_positions (order_id, payment_id, out_trade_no, paid, fee, paid_at)
		SELECT id, $2, $3, $4, $5, $6 FROM orders WHERE id = $1
		ON CONFLICT (order_id) DO NOTHING`,
		p.OrderID, p.PaymentID, p.OutTradeNo, p.Amount, p.Fee, p.PaidAt); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO refund_position_lines (order_line_id, order_id, qty, amount)
		SELECT id, order_id, qty, amount FROM order_lines WHERE order_id = $1
		ON CONFLICT (order_line_id) DO NOTHING`, p.OrderID); err != nil {
		return err
	}
	var paymentID string
	err := tx.QueryRow(ctx, `SELECT payment_id::text FROM refund_positions WHERE order_id = $1 FOR UPDATE`,
		p.OrderID).Scan(&paymentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return order.ErrNotFound
	}
	if err != nil {
		return err
	}
	if paymentID != p.PaymentID {
		return fmt.Errorf("order %s is refunded from payment %s, not %s", p.OrderID, paymentID, p.PaymentID)
	}
	return nil
}

// holdRefund reserves a new refund's amounts. Each update is conditional,
// so no interleaving of refunds can take more than was paid, more units
// than a line has, or more than refund.MaxRefunds refunds.
func holdRefund(ctx context.Context, tx pgx.Tx, r *refund.Refund) error {
	tag, err := tx.Exec(ctx, `UPDATE refund_positions SET refunded = refunded + $1,
			refunded_fee = refunded_fee + $2, shipping_refunded = shipping_refunded + $3, refund_count = refund_count + 1
		WHERE order_id = $4 AND refunded + $1 <= paid AND refunded_fee + $2 <= fee AND refund_count < $5`,
		r.Amount, r.Fee, r.Shipping, r.OrderID, refund.MaxRefunds)
	if err := oneRow(tag, err, refund.ErrExceedsPaid); err != nil {
		return err
	}
	for _, l := range r.Lines {
		tag, err := tx.Exec(ctx, `UPDATE refund_position_lines
			SET refunded_qty = refunded_qty + $1, refunded_amount = refunded_amount + $2
			WHERE order_line_id = $3 AND order_id = $4 AND refunded_qty + $1 <= qty AND refunded_amount + $2 <= amount`,
			l.Qty, l.Amount, l.OrderLineID, r.OrderID)
		if err := oneRow(tag, err, errs.E(errs.Conflict, refund.CodeExceedsQty, "line %s has fewer units left to refund", l.OrderLineID)); err != nil {
			return err
		}
	}
	return nil
}

// releaseRefund gives a closed refund's amounts back. The count stays: see
// refund.MaxRefunds.
func releaseRefund(ctx context.Context, tx pgx.Tx, r *refund.Refund) error {
	broken := fmt.Errorf("refund %s: its order's position holds less than it reserved", r.ID)
	tag, err := tx.Exec(ctx, `UPDATE refund_positions SET refunded = refunded - $1,
			refunded_fee = refunded_fee - $2, shipping_refunded = shipping_refunded - $3
		WHERE order_id = $4 AND refunded >= $1 AND refunded_fee >= $2 AND shipping_refunded >= $3`,
		r.Amount, r.Fee, r.Shipping, r.OrderID)
	if err := oneRow(tag, err, broken); err != nil {
		return err
	}
	for _, l := range r.Lines {
		tag, err := tx.Exec(ctx, `UPDATE refund_position_lines
			SET refunded_qty = refunded_qty - $1, refunded_amount = refunded_amount - $2
			WHERE order_line_id = $3 AND refunded_qty >= $1 AND refunded_amount >= $2`,
			l.Qty, l.Amount, l.OrderLineID)
		if err := oneRow(tag, err, broken); err != nil {
			return err
		}
	}
	return nil
}

// oneRow turns a conditional update that changed no row into refused.
func oneRow(tag pgconn.CommandTag, err error, refused error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return refused
	}
	return nil
}

// Position reads an order's refund position.
func (s *Store) Position(ctx context.Context, orderID string) (*refund.Position, error) {
	if !ids.Valid(orderID) {
		return nil, order.ErrNotFound
	}
	p, err := loadPosition(ctx, s.pool, orderID)
	return p, errs.Wrap(err, "refund: position of %s", orderID)
}

// loadPosition reads an order with what its refunds hold; an order never
// refunded reads with nothing held and no payment.
func loadPosition(ctx context.Context, db refundDB, orderID string) (*refund.Position, error) {
	p := refund.Position{OrderID: orderID}
	var (
		paymentID, outTradeNo                                     *string
		paid, fee, refunded, refundedFee, shippingRefunded, count *int64
		paidAt                                                    *time.Time
		activityKind                                              string
	)
	err := db.QueryRow(ctx, `SELECT o.buyer_id, o.status, o.shipping, p.payment_id::text, p.out_trade_no, p.paid, p.fee,
			p.paid_at, p.refunded, p.refunded_fee, p.shipping_refunded, p.refund_count, o.activity_kind
		FROM orders o LEFT JOIN refund_positions p ON p.order_id = o.id WHERE o.id = $1`, orderID).
		Scan(&p.BuyerID, &p.OrderStatus, &p.Shipping, &paymentID, &outTradeNo, &paid, &fee, &paidAt, &refunded,
			&refundedFee, &shippingRefunded, &count, &activityKind)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, order.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p.NoGoods = !order.ActivitySellsGoods(activityKind)
	if paymentID != nil {
		p.Paid = refund.Paid{PaymentID: *paymentID, OrderID: orderID, OutTradeNo: *outTradeNo,
			Amount: money.Fen(*paid), Fee: money.Fen(*fee), PaidAt: paidAt.UTC()}
		p.Refunded, p.RefundedFee, p.ShippingRefunded = money.Fen(*refunded), money.Fen(*refundedFee), money.Fen(*shippingRefunded)
		p.Count = int(*count)
	}
	rows, err := db.Query(ctx, `SELECT l.id, l.sku_id, l.qty, l.amount,
			coalesce(r.refunded_qty, 0), coalesce(r.refunded_amount, 0)
		FROM order_lines l LEFT JOIN refund_position_lines r ON r.order_line_id = l.id
		WHERE l.order_id = $1 ORDER BY l.position`, orderID)
	if err != nil {
		return nil, err
	}
	p.Lines, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (refund.PositionLine, error) {
		var l refund.PositionLine
		err := row.Scan(&l.OrderLineID, &l.SKUID, &l.Qty, &l.Amount, &l.RefundedQty, &l.RefundedAmount)
		return l, err
	})
	return &p, err
}
