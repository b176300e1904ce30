package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// A capture's writes, its transfers and its COMMIT travel in one batch, so
// a transfer the ledger refuses must abort everything queued before it: the
// payment, the order, its stock and the events stay as they were. The
// conformance suite cannot make the ledger refuse a capture (the domain
// builds sound transfers); here the book is arranged so it does.
func TestCaptureRefusedByLedgerLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := openLedgerStore(t)
	now := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	cat, prod, sku := ids.New(), ids.New(), ids.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO categories (id, name, created_at) VALUES ($1, 'tea', $2)`, []any{cat, now}},
		{`INSERT INTO products (id, category_id, title, status, created_at, updated_at) VALUES ($1, $2, 'Oolong', 'on_sale', $3, $3)`, []any{prod, cat, now}},
		{`INSERT INTO skus (id, product_id, position, list_price, sale_price) VALUES ($1, $2, 0, 3000, 2500)`, []any{sku, prod}},
		{`INSERT INTO stock_levels (sku_id, location, on_hand, updated_at) VALUES ($1, 'online', 5, $2)`, []any{sku, now}},
	} {
		if _, err := s.pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	o := &order.Order{
		ID: ids.New(), BuyerID: ids.New(), Status: order.PendingPayment,
		Lines:    []order.Line{{ID: ids.New(), SKUID: sku, ProductID: prod, Title: "Oolong", Qty: 2, ListPrice: 3000, SalePrice: 2500, Amount: 5000}},
		Subtotal: 6000, Discount: 1000, Total: 5000, PayBy: now.Add(15 * time.Minute), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.CreateOrder(ctx, o, nil, nil); err != nil {
		t.Fatal(err)
	}
	p := &payment.Payment{ID: ids.New(), OrderID: o.ID, BuyerID: o.BuyerID, OutTradeNo: payment.OutTradeNo(o.ID),
		Amount: o.Total, PayerOpenID: "openid", State: payment.Pending, CreatedAt: now, UpdatedAt: now}
	if err := s.CreatePayment(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	// The same payment transfer, recorded already with another amount.
	if err := s.PostTransfers(ctx, paymentTransfer(p, o, 4000)); err != nil {
		t.Fatal(err)
	}
	overdraw := ledger.Transfer{ID: ledger.RefundID(ids.New()), Kind: ledger.KindRefund, Ref: o.ID, State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ledger.RefundsPayable, 1), ledger.Cr(ledger.ClearingWeChat, 1)}}

	capture := func(ts ...ledger.Transfer) func(*payment.Payment, *order.Order) (payment.Capture, error) {
		return func(p *payment.Payment, o *order.Order) (payment.Capture, error) {
			paidAt := now.Add(time.Minute)
			p.State, p.TransactionID, p.PaidAt, p.UpdatedAt = payment.Succeeded, "4200000001", &paidAt, paidAt
			o.Status, o.PaidAt, o.UpdatedAt = order.Paid, &paidAt, paidAt
			return payment.Capture{
				Order:     &order.Change{Stock: order.StockCommit, Events: []outbox.Event{outbox.New(order.TopicPaid, o.ID, o.ID, paidAt)}},
				Transfers: ts,
				Events:    []outbox.Event{outbox.New(payment.TopicCaptured, o.ID, p.ID, paidAt)},
			}, nil
		}
	}
	for _, c := range []struct {
		name string
		code string
		ts   []ledger.Transfer
	}{
		{"conflict", ledger.CodeConflict, []ledger.Transfer{paymentTransfer(p, o, o.Total)}},
		{"insufficient", ledger.CodeInsufficient, []ledger.Transfer{overdraw}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.UpdatePayment(ctx, p.OutTradeNo, capture(c.ts...)); !errs.Is(err, c.code) {
				t.Fatalf("UpdatePayment = %v, want %s", err, c.code)
			}
			var (
				state           payment.State
				status          order.Status
				onHand, held    int64
				events, entries int
			)
			if err := s.pool.QueryRow(ctx, `SELECT
					(SELECT state FROM payments WHERE id = $1), (SELECT status FROM orders WHERE id = $2),
					(SELECT on_hand FROM stock_levels WHERE sku_id = $3), (SELECT reserved FROM stock_levels WHERE sku_id = $3),
					(SELECT count(*) FROM outbox), (SELECT count(*) FROM ledger_entries)`, p.ID, o.ID, sku).
				Scan(&state, &status, &onHand, &held, &events, &entries); err != nil {
				t.Fatal(err)
			}
			if state != payment.Pending || status != order.PendingPayment || onHand != 5 || held != 2 || events != 0 || entries != 2 {
				t.Errorf("after the refusal: payment %s, order %s, stock %d/%d, %d events, %d entries; want pending, pending_payment, 5/2, 0, 2",
					state, status, onHand, held, events, entries)
			}
		})
	}
	// The connection a refused batch used must be clean for the next
	// transaction: the same capture, with a transfer the book accepts, commits.
	fresh := paymentTransfer(p, o, o.Total)
	fresh.ID = ledger.PaymentID(ids.New())
	got, err := s.UpdatePayment(ctx, p.OutTradeNo, capture(fresh))
	if err != nil || got.State != payment.Succeeded {
		t.Fatalf("capture = %+v, %v", got, err)
	}
	var onHand, held int64
	if err := s.pool.QueryRow(ctx, `SELECT on_hand, reserved FROM stock_levels WHERE sku_id = $1`, sku).Scan(&onHand, &held); err != nil || onHand != 3 || held != 0 {
		t.Errorf("stock %d/%d, %v; want 3/0", onHand, held, err)
	}
}

func paymentTransfer(p *payment.Payment, o *order.Order, amount money.Fen) ledger.Transfer {
	return ledger.Transfer{ID: ledger.PaymentID(p.ID), Kind: ledger.KindPayment, Ref: o.ID, State: ledger.Posted,
		Entries: []ledger.Entry{ledger.Dr(ledger.ClearingWeChat, amount), ledger.Cr(ledger.MerchantRevenue, amount)}}
}
