package storetest

import (
	"context"
	"log/slog"
	"reflect"
	"testing"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// paymentWorld is the order world with payments on top: the payment
// service over the engine, a fake platform, the order service's close
// settling payments first, and a job runner with both services' jobs.
type paymentWorld struct {
	*orderWorld
	pay    *payment.Service
	gw     *fakePlatform
	logs   *resettableLog
	runner *jobs.Runner
}

func newPaymentWorld(t *testing.T, open Opener) *paymentWorld {
	w := &paymentWorld{orderWorld: newOrderWorld(t, open), gw: newFakePlatform(), logs: &resettableLog{}}
	w.pay = &payment.Service{
		Store: w.s, Orders: w.svc, Gateway: w.gw, Payers: fakePayers{}, Clock: w.clock,
		Log: slog.New(slog.NewJSONHandler(w.logs, nil)),
	}
	w.svc.BeforeClose = w.pay.BeforeClose
	w.runner = &jobs.Runner{Store: w.s, Clock: w.clock, Log: slog.New(slog.DiscardHandler), Owner: "test-runner"}
	w.svc.RegisterJobs(w.runner)
	w.pay.RegisterJobs(w.runner)
	return w
}

// placeAndPay places an order of qty units of sku and starts paying it.
func (w *paymentWorld) placeAndPay(t *testing.T, skuID string, qty int) (*order.Order, *payment.Payment) {
	t.Helper()
	o := w.place(t, ids.New(), order.LineInput{SKUID: skuID, Qty: qty})
	if _, err := w.pay.Pay(context.Background(), o.BuyerID, o.ID); err != nil {
		t.Fatalf("Pay: %v", err)
	}
	return o, w.payment(t, o.ID)
}

func (w *paymentWorld) payment(t *testing.T, orderID string) *payment.Payment {
	t.Helper()
	p, err := w.s.PaymentByOrder(context.Background(), orderID)
	if err != nil {
		t.Fatalf("PaymentByOrder: %v", err)
	}
	return p
}

func (w *paymentWorld) order(t *testing.T, id string) *order.Order {
	t.Helper()
	o, err := w.s.Order(context.Background(), id)
	if err != nil {
		t.Fatalf("Order: %v", err)
	}
	return o
}

// runJobs runs every job due now.
func (w *paymentWorld) runJobs(t *testing.T) int {
	t.Helper()
	total := 0
	for {
		n, err := w.runner.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// stockMoves counts an order's journal lines for a SKU by reason.
func (w *paymentWorld) stockMoves(t *testing.T, skuID, orderID string) map[inventory.Reason]int {
	t.Helper()
	out := map[inventory.Reason]int{}
	for _, m := range w.movements(t, skuID, orderID) {
		out[m.Reason]++
	}
	return out
}

// wantCaptured checks the one capture of a payment: the payment succeeded
// with the platform's number, the fee, and its two transfers on the ledger.
func (w *paymentWorld) wantCaptured(t *testing.T, o *order.Order, tx payment.Transaction) *payment.Payment {
	t.Helper()
	p := w.payment(t, o.ID)
	fee := o.Total.Rate(payment.DefaultConfig.FeeBP)
	if p.State != payment.Succeeded || p.TransactionID != tx.TransactionID || p.Fee != fee ||
		p.PaidAt == nil || !p.PaidAt.Equal(tx.SuccessTime) || p.Amount != o.Total {
		t.Errorf("payment = %+v; want succeeded, transaction %s, fee %s, paid at %v", p, tx.TransactionID, fee, tx.SuccessTime)
	}
	w.wantTransfer(t, ledger.PaymentID(p.ID), ledger.KindPayment, o.ID,
		ledger.Dr(ledger.ClearingWeChat, o.Total), ledger.Cr(ledger.MerchantRevenue, o.Total))
	if fee > 0 {
		w.wantTransfer(t, ledger.PaymentFeeID(p.ID), ledger.KindPaymentFee, o.ID,
			ledger.Dr(ledger.PlatformFees, fee), ledger.Cr(ledger.ClearingWeChat, fee))
	}
	return p
}

func (w *paymentWorld) wantTransfer(t *testing.T, id, kind, ref string, entries ...ledger.Entry) {
	t.Helper()
	tr, err := w.s.Transfer(context.Background(), id)
	if err != nil {
		t.Errorf("Transfer %s: %v", id, err)
		return
	}
	if tr.Kind != kind || tr.Ref != ref || tr.State != ledger.Posted || !reflect.DeepEqual(tr.Entries, entries) {
		t.Errorf("transfer %s = %+v; want %s of %s, posted, entries %+v", id, tr, kind, ref, entries)
	}
}

func (w *paymentWorld) wantNoTransfer(t *testing.T, id string) {
	t.Helper()
	if tr, err := w.s.Transfer(context.Background(), id); !errs.Is(err, ledger.CodeNotFound) {
		t.Errorf("Transfer %s = %+v, %v; want none", id, tr, err)
	}
}

// wantBooks checks the whole ledger: every invariant holds, and the system
// accounts hold exactly what the captures put there.
func (w *paymentWorld) wantBooks(t *testing.T, paid, fees money.Fen) {
	t.Helper()
	ctx := context.Background()
	breaches, err := w.s.CheckLedger(ctx)
	if err != nil {
		t.Fatalf("CheckLedger: %v", err)
	}
	for _, b := range breaches {
		t.Errorf("ledger breach: %+v", b)
	}
	bs, err := w.s.Balances(ctx)
	if err != nil {
		t.Fatalf("Balances: %v", err)
	}
	want := map[string]money.Fen{ledger.ClearingWeChat: paid - fees, ledger.MerchantRevenue: paid, ledger.PlatformFees: fees}
	for _, b := range bs {
		if v, ok := want[b.Account.ID]; ok && (b.Posted() != v || b.PendingDebits != 0 || b.PendingCredits != 0) {
			t.Errorf("%s: posted %s, pending %s/%s; want %s posted, none pending", b.Account.ID, b.Posted(), b.PendingDebits, b.PendingCredits, v)
		}
	}
}

// resettableLog is a log sink the racing goroutines may share, emptied
// between cases so each case sees only its own alarms.
type resettableLog struct {
	syncBuffer
}

func (l *resettableLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}
