package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// refundWorld is a shop whose orders are paid through the payment service
// against refundPlatform, with the refund service, a job runner and an
// outbox dispatcher on the fake clock.
type refundWorld struct {
	*orderWorld
	pay     *payment.Service
	gw      *refundPlatform
	refunds *refund.Service
	runner  *jobs.Runner
	events  *outbox.Dispatcher
	// delivered counts the events the dispatcher delivered, by key and
	// topic.
	mu        sync.Mutex
	delivered map[string]map[string]int
}

// refundCoupon takes an order-level discount off every order, split across
// the lines by largest remainder, so line amounts do not divide evenly by
// their units: the case the cumulative refund allocation exists for.
type refundCoupon struct{ off money.Fen }

func (refundCoupon) Name() string { return pricing.StepCoupon }

func (c refundCoupon) Apply(_ context.Context, q *pricing.Quote) error {
	q.TakeOff(pricing.StepCoupon, c.off, "test-coupon", nil)
	return nil
}

type refundPayers struct{}

func (refundPayers) OpenID(_ context.Context, buyerID string) (string, error) {
	return "openid-" + buyerID, nil
}

func newRefundWorld(t *testing.T, open Opener) *refundWorld {
	ow := newOrderWorld(t, open)
	p, err := pricing.New(pricing.Sale{}, refundCoupon{off: 1001}, pricing.Shipping{Fee: 800})
	failOn(t, err)
	ow.svc.Pricing = p
	w := &refundWorld{orderWorld: ow, gw: newRefundPlatform(), delivered: map[string]map[string]int{}}
	w.pay = &payment.Service{Store: w.s, Orders: w.svc, Gateway: w.gw, Payers: refundPayers{}, Clock: w.clock, Log: discardLog()}
	w.refunds = w.newRefundService(w.s)
	w.runner = w.newRunner("refund-runner", w.refunds)
	w.events = &outbox.Dispatcher{Store: w.s, Clock: w.clock, Log: discardLog()}
	w.refunds.RegisterConsumers(w.events)
	w.events.On("*", func(_ context.Context, e outbox.Event) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.delivered[e.Key] == nil {
			w.delivered[e.Key] = map[string]int{}
		}
		w.delivered[e.Key][e.Topic]++
		return nil
	})
	return w
}

// newRefundService is a refund service over store, as a (re)started
// process builds it.
func (w *refundWorld) newRefundService(store refund.Store) *refund.Service {
	return &refund.Service{Store: store, Payments: w.s, Gateway: w.gw, Clock: w.clock, Log: discardLog()}
}

// newRunner is a job runner named owner running the refund and payment
// jobs, as a (re)started process builds it.
func (w *refundWorld) newRunner(owner string, svc *refund.Service) *jobs.Runner {
	r := &jobs.Runner{Store: w.s, Clock: w.clock, Log: discardLog(), Owner: owner}
	svc.RegisterJobs(r)
	w.pay.RegisterJobs(r)
	return r
}

// paidOrder places an order and captures its payment.
func (w *refundWorld) paidOrder(t *testing.T, lines ...order.LineInput) *order.Order {
	t.Helper()
	ctx := context.Background()
	o := w.place(t, ids.New(), lines...)
	_, err := w.pay.Pay(ctx, o.BuyerID, o.ID)
	failOn(t, err)
	_, err = w.pay.Capture(ctx, w.gw.pay(payment.OutTradeNo(o.ID), o.Total, w.clock.Now()))
	failOn(t, err)
	o, err = w.s.Order(ctx, o.ID)
	failOn(t, err)
	if o.Status != order.Paid {
		t.Fatalf("order %s is %s after capture", o.ID, o.Status)
	}
	return o
}

// start refunds through finance.
func (w *refundWorld) start(t *testing.T, in refund.RefundInput) *refund.Refund {
	t.Helper()
	if in.Reason == "" {
		in.Reason = "the buyer changed their mind"
	}
	r, err := w.refunds.Refund(context.Background(), in)
	failOn(t, err)
	return r
}

// runJobs runs due jobs until none is left.
func (w *refundWorld) runJobs(t *testing.T, r *jobs.Runner) {
	t.Helper()
	for range 100 {
		n, err := r.RunOnce(context.Background())
		failOn(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("jobs keep coming")
}

// deliver drains the outbox through the dispatcher.
func (w *refundWorld) deliver(t *testing.T) {
	t.Helper()
	for range 100 {
		n, err := w.events.DeliverOnce(context.Background())
		failOn(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("events keep coming")
}

func (w *refundWorld) topicsDelivered(key string) map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.delivered[key] {
		out[k] = v
	}
	return out
}

// callback applies what the platform says now about a refund, as its
// callback would.
func (w *refundWorld) callback(t *testing.T, r *refund.Refund, status payment.RefundStatus) *refund.Refund {
	t.Helper()
	got, err := w.refunds.ApplyRefundResult(context.Background(), w.gw.set(r.OutRefundNo, status))
	failOn(t, err)
	return got
}

// complete sends a pending refund and has the platform confirm it.
func (w *refundWorld) complete(t *testing.T, r *refund.Refund) *refund.Refund {
	t.Helper()
	w.runJobs(t, w.runner)
	return w.callback(t, r, payment.RefundSuccess)
}

func (w *refundWorld) refund(t *testing.T, id string) *refund.Refund {
	t.Helper()
	r, err := w.s.Refund(context.Background(), id)
	failOn(t, err)
	return r
}

func (w *refundWorld) position(t *testing.T, orderID string) *refund.Position {
	t.Helper()
	p, err := w.s.Position(context.Background(), orderID)
	failOn(t, err)
	return p
}

// wantBooksSound checks every ledger invariant and that no refund is left
// in refunds payable once none is in flight.
func (w *refundWorld) wantBooksSound(t *testing.T) {
	t.Helper()
	breaches, err := w.s.CheckLedger(context.Background())
	failOn(t, err)
	for _, b := range breaches {
		t.Errorf("ledger breach %s on %s: %s", b.Rule, b.Ref, b.Detail)
	}
}

// wantPosition checks what an order's refunds hold against the refunds
// recorded: the position is the sum of every refund not closed.
func (w *refundWorld) wantPosition(t *testing.T, orderID string) *refund.Position {
	t.Helper()
	p := w.position(t, orderID)
	page, err := w.s.Refunds(context.Background(), refund.RefundFilter{OrderID: orderID, Limit: refund.MaxLimit})
	failOn(t, err)
	var amount, fee, shipping money.Fen
	byLine := map[string][2]int64{}
	for _, r := range page.Refunds {
		if r.State == refund.Closed {
			continue
		}
		amount, fee, shipping = amount+r.Amount, fee+r.Fee, shipping+r.Shipping
		for _, l := range r.Lines {
			v := byLine[l.OrderLineID]
			byLine[l.OrderLineID] = [2]int64{v[0] + int64(l.Qty), v[1] + int64(l.Amount)}
		}
	}
	if p.Refunded != amount || p.RefundedFee != fee || p.ShippingRefunded != shipping {
		t.Errorf("position holds %s (fee %s, shipping %s); live refunds %s (fee %s, shipping %s)",
			p.Refunded, p.RefundedFee, p.ShippingRefunded, amount, fee, shipping)
	}
	if p.Refunded > p.Paid.Amount || p.RefundedFee > p.Paid.Fee {
		t.Errorf("refunded %s (fee %s) of %s paid (fee %s)", p.Refunded, p.RefundedFee, p.Paid.Amount, p.Paid.Fee)
	}
	for _, l := range p.Lines {
		if got := byLine[l.OrderLineID]; got != [2]int64{int64(l.RefundedQty), int64(l.RefundedAmount)} || l.RefundedQty > l.Qty || l.RefundedAmount > l.Amount {
			t.Errorf("line %s: position %d units / %s, live refunds %v, line %d units / %s",
				l.OrderLineID, l.RefundedQty, l.RefundedAmount, got, l.Qty, l.Amount)
		}
	}
	return p
}

// refundPlatform is the payment platform as the refund tests need it:
// payments are paid on demand, and refunds are made once per out_refund_no
// (a repeated request with the same number and amounts gets the refund it
// made) and move when a test says so.
type refundPlatform struct {
	mu       sync.Mutex
	trades   map[string]payment.Transaction
	refunds  map[string]*payment.RefundResult
	requests map[string]payment.RefundRequest
	sends    []string             // out_refund_no of every Refund call that reached the platform
	answer   payment.RefundStatus // what a new refund is at once; default PROCESSING
	down     atomic.Int32         // how many more calls fail before reaching the platform
	refuse   error                // if set, every new refund is refused with it
	// onSend, if set, runs after the platform made (or found) a refund and
	// before it answers.
	onSend func(outRefundNo string)
}

func newRefundPlatform() *refundPlatform {
	return &refundPlatform{
		trades: map[string]payment.Transaction{}, refunds: map[string]*payment.RefundResult{},
		requests: map[string]payment.RefundRequest{}, answer: payment.RefundProcessing,
	}
}

var errRefundPlatformDown = errs.E(errs.Unavailable, "payment_gateway_unavailable", "the test platform is unreachable")

func (g *refundPlatform) Prepay(_ context.Context, r payment.PrepayRequest) (string, payment.PayParams, error) {
	return "prepay-" + r.OutTradeNo, payment.PayParams{Package: "prepay_id=prepay-" + r.OutTradeNo}, nil
}

// pay has the buyer pay a transaction and returns what the platform tells
// of it.
func (g *refundPlatform) pay(outTradeNo string, amount money.Fen, at time.Time) payment.Transaction {
	g.mu.Lock()
	defer g.mu.Unlock()
	tx := payment.Transaction{
		OutTradeNo: outTradeNo, TransactionID: "wx-" + outTradeNo, State: payment.TradeSuccess,
		Total: amount, PayerTotal: amount, PayerOpenID: "openid", SuccessTime: at,
	}
	g.trades[outTradeNo] = tx
	return tx
}

func (g *refundPlatform) QueryPayment(_ context.Context, outTradeNo string) (payment.Transaction, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	tx, ok := g.trades[outTradeNo]
	if !ok {
		return payment.Transaction{}, payment.ErrTradeNotFound
	}
	return tx, nil
}

func (g *refundPlatform) ClosePayment(context.Context, string) error { return nil }

func (g *refundPlatform) Refund(_ context.Context, r payment.RefundRequest) (payment.RefundResult, error) {
	if g.down.Add(-1) >= 0 {
		return payment.RefundResult{}, errRefundPlatformDown
	}
	g.mu.Lock()
	res, err := g.refundLocked(r)
	onSend := g.onSend
	g.mu.Unlock()
	if err == nil && onSend != nil {
		onSend(r.OutRefundNo)
	}
	return res, err
}

func (g *refundPlatform) refundLocked(r payment.RefundRequest) (payment.RefundResult, error) {
	g.sends = append(g.sends, r.OutRefundNo)
	if prev, ok := g.refunds[r.OutRefundNo]; ok {
		if g.requests[r.OutRefundNo] != r {
			return payment.RefundResult{}, errs.E(errs.Unprocessable, "payment_request_rejected", "out_refund_no reused with other amounts")
		}
		return *prev, nil
	}
	if g.refuse != nil {
		return payment.RefundResult{}, g.refuse
	}
	tx, ok := g.trades[r.OutTradeNo]
	if !ok {
		return payment.RefundResult{}, errs.E(errs.NotFound, "payment_not_found", "no such transaction")
	}
	var refunded money.Fen
	for no, prev := range g.refunds {
		if g.requests[no].OutTradeNo == r.OutTradeNo && prev.Status != payment.RefundClosed {
			refunded += prev.Refund
		}
	}
	if r.Total != tx.Total || refunded+r.Refund > tx.Total {
		return payment.RefundResult{}, errs.E(errs.Unprocessable, "payment_request_rejected", "the refund exceeds the transaction")
	}
	res := &payment.RefundResult{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, RefundID: "wx-" + r.OutRefundNo,
		Status: g.answer, Refund: r.Refund, Total: r.Total}
	g.refunds[r.OutRefundNo], g.requests[r.OutRefundNo] = res, r
	return *res, nil
}

func (g *refundPlatform) QueryRefund(_ context.Context, outRefundNo string) (payment.RefundResult, error) {
	if g.down.Add(-1) >= 0 {
		return payment.RefundResult{}, errRefundPlatformDown
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	res, ok := g.refunds[outRefundNo]
	if !ok {
		return payment.RefundResult{}, errs.E(errs.NotFound, "refund_not_found", "no such refund")
	}
	return *res, nil
}

// set moves a refund the platform made and returns what it says of it now.
func (g *refundPlatform) set(outRefundNo string, status payment.RefundStatus) payment.RefundResult {
	g.mu.Lock()
	defer g.mu.Unlock()
	res, ok := g.refunds[outRefundNo]
	if !ok {
		panic(fmt.Sprintf("the platform has no refund %s", outRefundNo))
	}
	res.Status = status
	return *res
}

// made is how many refunds the platform made, and how often it was asked.
func (g *refundPlatform) made() (refunds, sends int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.refunds), len(g.sends)
}

// sentNumbers is the out_refund_no of every send, in order.
func (g *refundPlatform) sentNumbers() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.sends...)
}
