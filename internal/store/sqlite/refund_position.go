package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// ensurePosition creates the order's position from its payment and lines on
// its first refund; later refunds find it and must name the same payment.
func ensurePosition(ctx context.Context, tx *sql.Tx, p refund.Paid) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO refund_positions
			(order_id, payment_id, out_trade_no, paid, fee, paid_at)
		SELECT id, ?, ?, ?, ?, ? FROM orders WHERE id = ?
		ON CONFLICT (order_id) DO NOTHING`,
		p.PaymentID, p.OutTradeNo, p.Amount, p.Fee, ts(p.PaidAt), p.OrderID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO refund_position_lines (order_line_id, order_id, qty, amount)
		SELECT id, order_id, qty, amount FROM order_lines WHERE order_id = ?
		ON CONFLICT (order_line_id) DO NOTHING`, p.OrderID); err != nil {
		return err
	}
	var paymentID string
	err := tx.QueryRowContext(ctx, `SELECT payment_id FROM refund_positions WHERE order_id = ?`, p.OrderID).Scan(&paymentID)
	if errors.Is(err, sql.ErrNoRows) {
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
func holdRefund(ctx context.Context, tx *sql.Tx, r *refund.Refund) error {
	res, err := tx.ExecContext(ctx, `UPDATE refund_positions SET refunded = refunded + ?1,
			refunded_fee = refunded_fee + ?2, shipping_refunded = shipping_refunded + ?3, refund_count = refund_count + 1
		WHERE order_id = ?4 AND refunded + ?1 <= paid AND refunded_fee + ?2 <= fee AND refund_count < ?5`,
		r.Amount, r.Fee, r.Shipping, r.OrderID, refund.MaxRefunds)
	if err := oneRow(res, err, refund.ErrExceedsPaid); err != nil {
		return err
	}
	for _, l := range r.Lines {
		res, err := tx.ExecContext(ctx, `UPDATE refund_position_lines
			SET refunded_qty = refunded_qty + ?1, refunded_amount = refunded_amount + ?2
			WHERE order_line_id = ?3 AND order_id = ?4 AND refunded_qty + ?1 <= qty AND refunded_amount + ?2 <= amount`,
			l.Qty, l.Amount, l.OrderLineID, r.OrderID)
		if err := oneRow(res, err, errs.E(errs.Conflict, refund.CodeExceedsQty, "line %s has fewer units left to refund", l.OrderLineID)); err != nil {
			return err
		}
	}
	return nil
}

// releaseRefund gives a closed refund's amounts back. The count stays: see
// refund.MaxRefunds.
func releaseRefund(ctx context.Context, tx *sql.Tx, r *refund.Refund) error {
	broken := fmt.Errorf("refund %s: its order's position holds less than it reserved", r.ID)
	res, err := tx.ExecContext(ctx, `UPDATE refund_positions SET refunded = refunded - ?1,
			refunded_fee = refunded_fee - ?2, shipping_refunded = shipping_refunded - ?3
		WHERE order_id = ?4 AND refunded >= ?1 AND refunded_fee >= ?2 AND shipping_refunded >= ?3`,
		r.Amount, r.Fee, r.Shipping, r.OrderID)
	if err := oneRow(res, err, broken); err != nil {
		return err
	}
	for _, l := range r.Lines {
		res, err := tx.ExecContext(ctx, `UPDATE refund_position_lines
			SET refunded_qty = refunded_qty - ?1, refunded_amount = refunded_amount - ?2
			WHERE order_line_id = ?3 AND refunded_qty >= ?1 AND refunded_amount >= ?2`,
			l.Qty, l.Amount, l.OrderLineID)
		if err := oneRow(res, err, broken); err != nil {
			return err
		}
	}
	return nil
}

// oneRow turns a conditional update that changed no row into refused.
func oneRow(res sql.Result, err error, refused error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return refused
	}
	return nil
}

// Position reads an order's refund position.
func (s *Store) Position(ctx context.Context, orderID string) (*refund.Position, error) {
	if !ids.Valid(orderID) {
		return nil, order.ErrNotFound
	}
	p, err := loadPosition(ctx, s.r, orderID)
	return p, errs.Wrap(err, "refund: position of %s", orderID)
}

// loadPosition reads an order with what its refunds hold; an order never
// refunded reads with nothing held and no payment.
func loadPosition(ctx context.Context, db refundDB, orderID string) (*refund.Position, error) {
	p := refund.Position{OrderID: orderID}
	var (
		paymentID, outTradeNo                   sql.NullString
		paid, fee, paidAt, refunded, refundedFe sql.NullInt64
		shippingRefunded, count                 sql.NullInt64
		status, activityKind                    string
	)
	err := db.QueryRowContext(ctx, `SELECT o.buyer_id, o.status, o.shipping, p.payment_id, p.out_trade_no, p.paid, p.fee,
			p.paid_at, p.refunded, p.refunded_fee, p.shipping_refunded, p.refund_count, o.activity_kind
		FROM orders o LEFT JOIN refund_positions p ON p.order_id = o.id WHERE o.id = ?`, orderID).
		Scan(&p.BuyerID, &status, &p.Shipping, &paymentID, &outTradeNo, &paid, &fee, &paidAt, &refunded, &refundedFe,
			&shippingRefunded, &count, &activityKind)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, order.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p.OrderStatus = order.Status(status)
	p.NoGoods = !order.ActivitySellsGoods(activityKind)
	if paymentID.Valid {
		p.Paid = refund.Paid{PaymentID: paymentID.String, OrderID: orderID, OutTradeNo: outTradeNo.String,
			Amount: fen(paid), Fee: fen(fee), PaidAt: fromTS(paidAt.Int64)}
		p.Refunded, p.RefundedFee, p.ShippingRefunded = fen(refunded), fen(refundedFe), fen(shippingRefunded)
		p.Count = int(count.Int64)
	}
	rows, err := db.QueryContext(ctx, `SELECT l.id, l.sku_id, l.qty, l.amount,
			coalesce(r.refunded_qty, 0), coalesce(r.refunded_amount, 0)
		FROM order_lines l LEFT JOIN refund_position_lines r ON r.order_line_id = l.id
		WHERE l.order_id = ? ORDER BY l.position`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var l refund.PositionLine
		if err := rows.Scan(&l.OrderLineID, &l.SKUID, &l.Qty, &l.Amount, &l.RefundedQty, &l.RefundedAmount); err != nil {
			return nil, err
		}
		p.Lines = append(p.Lines, l)
	}
	return &p, rows.Err()
}

func fen(v sql.NullInt64) money.Fen { return money.Fen(v.Int64) }
