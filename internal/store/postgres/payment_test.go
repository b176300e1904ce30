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

// Captures grouped into one transaction (UpdatePayment's groups) write what
// each would alone. The orders cross their SKUs, so the group must take its
// stock rows in SKU order. One capture's transfer conflicts with one the
// book has: the group fails, each capture runs again alone, and only that
// one fails. A group that fails nothing commits once: its payments share
// one transaction id.
func TestCapturesGroupedInOneTransaction(t *testing.T) {
	ctx := context.Background()
	s := openLedgerStore(t)
	now := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	cat, prod := ids.New(), ids.New()
	skus := []string{ids.New(), ids.New(), ids.New(), ids.New()}
	seed := [][]any{
		{`INSERT INTO categories (id, name, created_at) VALUES ($1, 'tea', $2)`, cat, now},
		{`INSERT INTO products (id, category_id, title, status, created_at, updated_at) VALUES ($1, $2, 'Oolong', 'on_sale', $3, $3)`, prod, cat, now},
	}
	for i, sku := range skus {
		seed = append(seed,
			[]any{`INSERT INTO skus (id, product_id, position, list_price, sale_price) VALUES ($1, $2, $3, 1000, 1000)`, sku, prod, i},
			[]any{`INSERT INTO stock_levels (sku_id, location, on_hand, updated_at) VALUES ($1, 'online', 10, $2)`, sku, now})
	}
	for _, q := range seed {
		if _, err := s.pool.Exec(ctx, q[0].(string), q[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	place := func(skuIdx ...int) (*order.Order, *payment.Payment) {
		o := &order.Order{ID: ids.New(), BuyerID: ids.New(), Status: order.PendingPayment,
			PayBy: now.Add(15 * time.Minute), CreatedAt: now, UpdatedAt: now}
		for _, k := range skuIdx {
			o.Lines = append(o.Lines, order.Line{ID: ids.New(), SKUID: skus[k], ProductID: prod, Title: "Oolong", Qty: 1,
				ListPrice: 1000, SalePrice: 1000, Amount: 1000})
			o.Subtotal += 1000
		}
		o.Total = o.Subtotal
		if err := s.CreateOrder(ctx, o, nil, nil); err != nil {
			t.Fatal(err)
		}
		p := &payment.Payment{ID: ids.New(), OrderID: o.ID, BuyerID: o.BuyerID, OutTradeNo: payment.OutTradeNo(o.ID),
			Amount: o.Total, PayerOpenID: "openid", State: payment.Pending, CreatedAt: now, UpdatedAt: now}
		if err := s.CreatePayment(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
		return o, p
	}
	capture := func(p *payment.Payment, o *order.Order) (payment.Capture, error) {
		if p.State == payment.Succeeded {
			return payment.Capture{}, payment.ErrNoop
		}
		paidAt := now.Add(time.Minute)
		p.State, p.TransactionID, p.PaidAt, p.UpdatedAt = payment.Succeeded, "42"+p.OutTradeNo, &paidAt, paidAt
		o.Status, o.PaidAt, o.UpdatedAt = order.Paid, &paidAt, paidAt
		return payment.Capture{Order: &order.Change{Stock: order.StockCommit}, Transfers: []ledger.Transfer{paymentTransfer(p, o, o.Total)}}, nil
	}
	group := func(ps ...*payment.Payment) []*paymentUpdate {
		var g []*paymentUpdate
		for _, p := range ps {
			g = append(g, &paymentUpdate{outTradeNo: p.OutTradeNo, fn: capture, done: make(chan struct{})})
		}
		return g
	}
	levels := func() (onHand, reserved [4]int64) {
		for i, sku := range skus {
			if err := s.pool.QueryRow(ctx, `SELECT on_hand, reserved FROM stock_levels WHERE sku_id = $1`, sku).
				Scan(&onHand[i], &reserved[i]); err != nil {
				t.Fatal(err)
			}
		}
		return onHand, reserved
	}

	oa, pa := place(2, 0)
	_, pb := place(1)
	_, pc := place(0, 1, 2)
	_, pd := place(2)
	oe, pe := place(3)
	// pe's payment transfer, recorded already with another amount.
	if err := s.PostTransfers(ctx, paymentTransfer(pe, oe, 1)); err != nil {
		t.Fatal(err)
	}
	first := group(pa, pb, pc, pd, pe)
	s.updatePayments(ctx, first)
	for _, u := range first {
		switch {
		case u.outTradeNo == pe.OutTradeNo:
			if !errs.Is(u.err, ledger.CodeConflict) {
				t.Errorf("the conflicting capture: %v, want a conflict", u.err)
			}
		case u.err != nil || u.saved == nil || u.saved.State != payment.Succeeded:
			t.Errorf("capture %s: %+v, %v", u.outTradeNo, u.saved, u.err)
		}
	}
	if onHand, reserved := levels(); onHand != [4]int64{8, 8, 7, 10} || reserved != [4]int64{0, 0, 0, 1} {
		t.Errorf("stock on hand %v reserved %v; want 8 8 7 10, 0 0 0 1", onHand, reserved)
	}

	// pa again: nothing to do, in a group that commits once.
	_, pf := place(3, 1)
	_, pg := place(0)
	second := group(pf, pa, pg)
	if err := s.updatePaymentsTogether(ctx, second); err != nil {
		t.Fatal(err)
	}
	for _, u := range second {
		if u.err != nil || u.saved == nil || u.saved.State != payment.Succeeded {
			t.Errorf("capture %s: %+v, %v", u.outTradeNo, u.saved, u.err)
		}
	}
	var txs int
	if err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM payments WHERE id = ANY($1)`,
		[]string{pf.ID, pg.ID}).Scan(&txs); err != nil || txs != 1 {
		t.Errorf("the group's payments were written by %d transactions, %v; want 1", txs, err)
	}
	if onHand, reserved := levels(); onHand != [4]int64{7, 7, 7, 9} || reserved != [4]int64{0, 0, 0, 1} {
		t.Errorf("stock on hand %v reserved %v; want 7 7 7 9, 0 0 0 1", onHand, reserved)
	}
	if got, err := s.Order(ctx, oa.ID); err != nil || got.Status != order.Paid {
		t.Errorf("order a: %v, %v", got, err)
	}
	wantSoundBook(t, s)
}

// wantBalances compares accounts' posted debits and credits and pending
// debits and credits.
func wantBalances(t *testing.T, s *Store, want map[string][4]money.Fen) {
	t.Helper()
	bs, err := s.Balances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		w, ok := want[b.Account.ID]
		if got := [4]money.Fen{b.PostedDebits, b.PostedCredits, b.PendingDebits, b.PendingCredits}; ok && got != w {
			t.Errorf("%s: posted dr/cr, pending dr/cr = %v, want %v", b.Account.ID, got, w)
		}
	}
}

func wantSoundBook(t *testing.T, s *Store) {
	t.Helper()
	bs, err := s.CheckLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesOf(bs); got != "" {
		t.Fatalf("the book has breaches: %s", got)
	}
}
