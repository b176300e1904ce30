package storetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("payment", testPayment) }

// The payment tests prove invariant 2 (at most one successful payment per
// order, order states only move forward) and invariant 1 (the ledger
// balances) through a capture's one transaction, under duplicate and
// concurrent callbacks and the race with the order's close.
func testPayment(t *testing.T, open Opener) {
	t.Run("pay", func(t *testing.T) { testPaymentPay(t, newPaymentWorld(t, open)) })
	t.Run("capture_idempotent", func(t *testing.T) { testPaymentCaptureIdempotent(t, newPaymentWorld(t, open)) })
	t.Run("amount_mismatch", func(t *testing.T) { testPaymentAmountMismatch(t, newPaymentWorld(t, open)) })
	t.Run("race_close_vs_capture", func(t *testing.T) { testPaymentRaceCloseVsCapture(t, newPaymentWorld(t, open)) })
	t.Run("reconcile", func(t *testing.T) { testPaymentReconcile(t, newPaymentWorld(t, open)) })
	t.Run("before_close", func(t *testing.T) { testPaymentBeforeClose(t, newPaymentWorld(t, open)) })
	t.Run("update_contract", func(t *testing.T) { testPaymentUpdateContract(t, newPaymentWorld(t, open)) })
}

func testPaymentPay(t *testing.T, w *paymentWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 6800, Sale: 6800, Stock: 10})
	buyer := ids.New()
	o := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 1})

	t.Run("twice, concurrently: one payment, one transaction", func(t *testing.T) {
		const payers = 8
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			params []payment.PayParams
		)
		for range payers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				pp, err := w.pay.Pay(ctx, buyer, o.ID)
				if err != nil {
					t.Errorf("Pay: %v", err)
					return
				}
				mu.Lock()
				params = append(params, pp)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		again, err := w.pay.Pay(ctx, buyer, o.ID)
		if err != nil {
			t.Fatalf("Pay after the race: %v", err)
		}
		params = append(params, again)

		p := w.payment(t, o.ID)
		no := strings.ReplaceAll(o.ID, "-", "")
		if p.OutTradeNo != no || len(p.OutTradeNo) != 32 || p.Amount != o.Total || p.BuyerID != buyer ||
			p.State != payment.Pending || p.PayerOpenID != "o-"+buyer || p.PrepayID == "" {
			t.Errorf("payment = %+v; want pending, out_trade_no %s, amount %s, the buyer's openid, a prepay id", p, no, o.Total)
		}
		tr, ok := w.gw.trade(no)
		if !ok || len(w.gw.trades) != 1 || tr.prepayID != p.PrepayID {
			t.Fatalf("platform has %d transactions, ours %+v; want one, prepay id %s", len(w.gw.trades), tr, p.PrepayID)
		}
		if tr.req.Amount != o.Total || !tr.req.ExpiresAt.Equal(o.PayBy) || tr.req.Description != "Oolong" {
			t.Errorf("prepay request = %+v; want the order's total, expiry at pay_by, the title", tr.req)
		}
		for _, pp := range params {
			if pp.Package != "prepay_id="+p.PrepayID {
				t.Errorf("params package %q; want prepay_id=%s", pp.Package, p.PrepayID)
			}
		}
		if byNo, err := w.s.PaymentByOutTradeNo(ctx, no); err != nil || !reflect.DeepEqual(byNo, p) {
			t.Errorf("PaymentByOutTradeNo = %+v, %v; want %+v", byNo, err, p)
		}
	})
	t.Run("another buyer's order is not found", func(t *testing.T) {
		if _, err := w.pay.Pay(ctx, ids.New(), o.ID); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Pay of another buyer's order: err = %v; want order_not_found", err)
		}
		if _, err := w.pay.Pay(ctx, buyer, "not-a-uuid"); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Pay of a malformed id: err = %v; want order_not_found", err)
		}
	})
	t.Run("a closed order cannot be paid", func(t *testing.T) {
		closed := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 1})
		if _, err := w.svc.Close(ctx, closed.ID, "closed by operator"); err != nil {
			t.Fatal(err)
		}
		_, err := w.pay.Pay(ctx, buyer, closed.ID)
		if e := wantErrCode(t, err, payment.CodeNotPayable); e.Kind != errs.Conflict {
			t.Errorf("kind = %v; want conflict", e.Kind)
		}
		if _, err := w.s.PaymentByOrder(ctx, closed.ID); !errs.Is(err, payment.CodeNotFound) {
			t.Errorf("a refused Pay created a payment: %v", err)
		}
	})
	t.Run("past pay_by cannot be paid", func(t *testing.T) {
		late := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 1})
		w.clock.Advance(order.DefaultConfig.PayWindow)
		_, err := w.pay.Pay(ctx, buyer, late.ID)
		wantErrCode(t, err, payment.CodeNotPayable)
	})
	t.Run("a paid order cannot be paid again", func(t *testing.T) {
		w.gw.pay(payment.OutTradeNo(o.ID), w.clock.Now())
		tx, _ := w.gw.QueryPayment(ctx, payment.OutTradeNo(o.ID))
		if _, err := w.pay.Capture(ctx, tx); err != nil {
			t.Fatal(err)
		}
		_, err := w.pay.Pay(ctx, buyer, o.ID)
		wantErrCode(t, err, payment.CodeNotPayable)
	})
}

func testPaymentCaptureIdempotent(t *testing.T, w *paymentWorld) {
	const callbacks = 50
	ctx := context.Background()
	sku := w.sku(t, "Pu-erh", skuFixture{Spec: "cake", List: 12800, Sale: 12800, Stock: 10})
	o, p := w.placeAndPay(t, sku.ID, 2)
	w.clock.Advance(time.Minute)
	tx, ok := w.gw.pay(p.OutTradeNo, w.clock.Now().Add(-10*time.Second))
	if !ok {
		t.Fatal("the platform refused the payment")
	}

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for range callbacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := w.pay.Capture(ctx, tx)
			if err != nil {
				t.Errorf("Capture: %v", err)
				return
			}
			if got.State != payment.Succeeded {
				t.Errorf("Capture returned a %s payment", got.State)
			}
		}()
	}
	close(start)
	wg.Wait()

	got := w.order(t, o.ID)
	if got.Status != order.Paid || got.PaidAt == nil || !got.PaidAt.Equal(tx.SuccessTime) {
		t.Errorf("order = %s paid at %v; want paid at %v", got.Status, got.PaidAt, tx.SuccessTime)
	}
	w.wantLevel(t, sku.ID, 8, 0)
	if moves := w.stockMoves(t, sku.ID, o.ID); !reflect.DeepEqual(moves, map[inventory.Reason]int{inventory.Reserve: 1, inventory.Commit: 1}) {
		t.Errorf("journal = %v; want one reserve, one commit", moves)
	}
	want := map[string]int{order.TopicCreated: 1, order.TopicPaid: 1, payment.TopicCaptured: 1}
	if topics := w.topics(t, o.ID); !reflect.DeepEqual(topics, want) {
		t.Errorf("events = %v; want %v", topics, want)
	}
	w.wantCaptured(t, o, tx)
	w.wantBooks(t, o.Total, o.Total.Rate(payment.DefaultConfig.FeeBP))

	t.Run("a late duplicate changes nothing", func(t *testing.T) {
		w.clock.Advance(time.Hour)
		if _, err := w.pay.Capture(ctx, tx); err != nil {
			t.Errorf("Capture: %v", err)
		}
		if again := w.order(t, o.ID); !reflect.DeepEqual(again, got) {
			t.Errorf("order changed: %+v", again)
		}
		w.wantBooks(t, o.Total, o.Total.Rate(payment.DefaultConfig.FeeBP))
	})
}

func testPaymentAmountMismatch(t *testing.T, w *paymentWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Longjing", skuFixture{Spec: "tin", List: 9900, Sale: 9900, Stock: 5})
	o, p := w.placeAndPay(t, sku.ID, 1)
	tx, _ := w.gw.pay(p.OutTradeNo, w.clock.Now())

	for _, c := range []struct {
		name         string
		total, payer money.Fen
	}{
		{"total over the order", o.Total + 1, o.Total + 1},
		{"total under the order", o.Total - 1, o.Total - 1},
		{"payer paid more than the total", o.Total, o.Total + 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.logs.Reset()
			bad := tx
			bad.Total, bad.PayerTotal = c.total, c.payer
			_, err := w.pay.Capture(ctx, bad)
			if e := wantErrCode(t, err, payment.CodeAmountMismatch); e.Kind != errs.Unprocessable {
				t.Errorf("kind = %v; want unprocessable (the callback is refused, the platform retries)", e.Kind)
			}
			if log := w.logs.String(); !strings.Contains(log, `"level":"ERROR"`) || !strings.Contains(log, o.ID) {
				t.Errorf("no error-level alarm naming the order was logged: %s", log)
			}
		})
	}
	if got := w.payment(t, o.ID); got.State != payment.Pending || got.TransactionID != "" || got.PaidAt != nil {
		t.Errorf("payment = %+v; want still pending", got)
	}
	if got := w.order(t, o.ID); got.Status != order.PendingPayment {
		t.Errorf("order = %s; want pending_payment", got.Status)
	}
	w.wantLevel(t, sku.ID, 5, 1)
	if topics := w.topics(t, o.ID); !reflect.DeepEqual(topics, map[string]int{order.TopicCreated: 1}) {
		t.Errorf("events = %v; a refused capture wrote some", topics)
	}
	w.wantNoTransfer(t, ledger.PaymentID(p.ID))
	w.wantBooks(t, 0, 0)

	t.Run("unknown and unsuccessful", func(t *testing.T) {
		unknown := tx
		unknown.OutTradeNo = payment.OutTradeNo(ids.New())
		if _, err := w.pay.Capture(ctx, unknown); !errs.Is(err, payment.CodeNotFound) {
			t.Errorf("Capture of an unknown out_trade_no: err = %v; want %s", err, payment.CodeNotFound)
		}
		notPaid := tx
		notPaid.State = payment.TradeNotPay
		if _, err := w.pay.Capture(ctx, notPaid); !errs.Is(err, payment.CodeNotSuccess) {
			t.Errorf("Capture of NOTPAY: err = %v; want %s", err, payment.CodeNotSuccess)
		}
	})
	t.Run("the right amount is still captured", func(t *testing.T) {
		if _, err := w.pay.Capture(ctx, tx); err != nil {
			t.Fatal(err)
		}
		w.wantCaptured(t, o, tx)
		w.wantBooks(t, o.Total, o.Total.Rate(payment.DefaultConfig.FeeBP))
	})
}

// testPaymentRaceCloseVsCapture races the close-unpaid path (with its
// payment settlement) against the success callback, on fresh orders. Half
// the rounds the platform is consistent; the other half the close and the
// money cross there, so the money arrives for an order that closed.
// Whatever the interleaving: never a paid order with released stock.
func testPaymentRaceCloseVsCapture(t *testing.T, w *paymentWorld) {
	const rounds = 20
	ctx := context.Background()
	sku := w.sku(t, "Tieguanyin", skuFixture{Spec: "500g", List: 5500, Sale: 5500, Stock: rounds})
	var arrived, fees money.Fen
	paid, refundable := 0, 0 // orders paid; orders closed whose money arrived
	for round := range rounds {
		o, p := w.placeAndPay(t, sku.ID, 1)
		if round%2 == 1 {
			w.gw.cross(p.OutTradeNo)
		}
		// The close path asks the platform before it writes, so it is the
		// slower of the two: hold the payment back by varying amounts, so
		// that either may win.
		delay := time.Duration(round/2%5) * 500 * time.Microsecond
		var (
			wg               sync.WaitGroup
			start            = make(chan struct{})
			closeErr, capErr error
			tx               payment.Transaction
			gotMoney         bool
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, closeErr = w.svc.Close(ctx, o.ID, "unpaid in time")
		}()
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(delay)
			if tx, gotMoney = w.gw.pay(p.OutTradeNo, w.clock.Now()); gotMoney {
				_, capErr = w.pay.Capture(ctx, tx)
			}
		}()
		close(start)
		wg.Wait()

		if capErr != nil {
			t.Errorf("round %d: Capture: %v", round, capErr)
		}
		if closeErr != nil && !errs.Is(closeErr, "invalid_state") {
			t.Errorf("round %d: Close: %v", round, closeErr)
		}
		got := w.order(t, o.ID)
		pay := w.payment(t, o.ID)
		topics := w.topics(t, o.ID)
		moves := w.stockMoves(t, sku.ID, o.ID)
		switch got.Status {
		case order.Paid:
			paid++
			if pay.State != payment.Succeeded || topics[order.TopicPaid] != 1 || topics[payment.TopicCaptured] != 1 ||
				topics[order.TopicClosed] != 0 || topics[payment.TopicCapturedAfterClose] != 0 {
				t.Errorf("round %d: paid order, payment %s, events %v", round, pay.State, topics)
			}
			if moves[inventory.Commit] != 1 || moves[inventory.Release] != 0 {
				t.Errorf("round %d: paid order with journal %v; want committed, never released", round, moves)
			}
		case order.Closed:
			if moves[inventory.Release] != 1 || moves[inventory.Commit] != 0 || topics[order.TopicPaid] != 0 {
				t.Errorf("round %d: closed order with journal %v, events %v", round, moves, topics)
			}
			if gotMoney {
				refundable++
				if pay.State != payment.Succeeded || topics[payment.TopicCapturedAfterClose] != 1 || topics[payment.TopicCaptured] != 0 {
					t.Errorf("round %d: the money arrived for a closed order, but payment %s, events %v", round, pay.State, topics)
				}
			} else if pay.State != payment.Closed {
				t.Errorf("round %d: closed order, no money, payment %s; want closed", round, pay.State)
			}
			if tr, _ := w.gw.trade(p.OutTradeNo); !gotMoney && tr.state != payment.TradeClosed {
				t.Errorf("round %d: order closed while the platform transaction is %s", round, tr.state)
			}
		default:
			t.Errorf("round %d: order is %s; want paid or closed", round, got.Status)
		}
		if gotMoney {
			arrived += o.Total
			fees += o.Total.Rate(payment.DefaultConfig.FeeBP)
			w.wantCaptured(t, o, tx)
		} else {
			w.wantNoTransfer(t, ledger.PaymentID(pay.ID))
		}
		w.wantLevel(t, sku.ID, int64(rounds-paid), 0)
	}
	// Which interleavings happened is timing; the log shows the rounds
	// covered each outcome.
	t.Logf("of %d orders: %d paid, %d closed and their money captured after close, %d closed unpaid", rounds, paid, refundable, rounds-paid-refundable)
	w.wantBooks(t, arrived, fees)
}

func testPaymentReconcile(t *testing.T, w *paymentWorld) {
	sku := w.sku(t, "Jasmine", skuFixture{Spec: "100g", List: 3000, Sale: 3000, Stock: 10})

	lost, lostPay := w.placeAndPay(t, sku.ID, 1)       // paid; the callback is lost
	slow, slowPay := w.placeAndPay(t, sku.ID, 1)       // the buyer pays late
	expired, expiredPay := w.placeAndPay(t, sku.ID, 1) // the platform closes it
	lostTx, _ := w.gw.pay(lostPay.OutTradeNo, w.clock.Now().Add(time.Minute))
	w.gw.expire(expiredPay.OutTradeNo)

	w.clock.Advance(payment.DefaultConfig.ReconcileAfter - time.Second)
	if n := w.runJobs(t); n != 0 {
		t.Fatalf("%d jobs ran before ReconcileAfter; want none", n)
	}
	w.clock.Advance(time.Second)
	if n := w.runJobs(t); n != 3 {
		t.Errorf("%d jobs ran at ReconcileAfter; want the three reconciliations", n)
	}

	t.Run("SUCCESS is captured", func(t *testing.T) {
		if got := w.order(t, lost.ID); got.Status != order.Paid {
			t.Errorf("order = %s; want paid", got.Status)
		}
		w.wantCaptured(t, lost, lostTx)
	})
	t.Run("CLOSED is closed", func(t *testing.T) {
		if got := w.payment(t, expired.ID); got.State != payment.Closed {
			t.Errorf("payment = %s; want closed", got.State)
		}
		if got := w.order(t, expired.ID); got.Status != order.PendingPayment {
			t.Errorf("order = %s; its own close job closes it, not the reconciliation", got.Status)
		}
	})
	t.Run("NOTPAY is asked again", func(t *testing.T) {
		if got := w.payment(t, slow.ID); got.State != payment.Pending {
			t.Fatalf("payment = %s; want pending", got.State)
		}
		w.clock.Advance(jobs.Backoff(1))
		if n := w.runJobs(t); n != 1 {
			t.Errorf("%d jobs ran at the retry; want the slow one", n)
		}
		slowTx, _ := w.gw.pay(slowPay.OutTradeNo, w.clock.Now())
		w.clock.Advance(jobs.Backoff(2))
		if n := w.runJobs(t); n != 1 {
			t.Errorf("%d jobs ran at the second retry; want the slow one", n)
		}
		if got := w.order(t, slow.ID); got.Status != order.Paid {
			t.Errorf("order = %s; want paid", got.Status)
		}
		w.wantCaptured(t, slow, slowTx)
		w.clock.Advance(time.Hour)
		if n := w.runJobs(t); n != 3 {
			t.Errorf("%d jobs ran later; want only the three orders' close jobs, no reconciliation left", n)
		}
	})
	if got := w.order(t, expired.ID); got.Status != order.Closed {
		t.Errorf("order whose payment the platform closed = %s after its close job; want closed", got.Status)
	}
	w.wantLevel(t, sku.ID, 8, 0)
	w.wantBooks(t, lost.Total+slow.Total, lost.Total.Rate(payment.DefaultConfig.FeeBP)+slow.Total.Rate(payment.DefaultConfig.FeeBP))
	if topics := w.topics(t, lost.ID); topics[payment.TopicCaptured] != 1 || topics[order.TopicPaid] != 1 {
		t.Errorf("events of the reconciled order = %v", topics)
	}
}

func testPaymentBeforeClose(t *testing.T, w *paymentWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Baihao", skuFixture{Spec: "tin", List: 4000, Sale: 4000, Stock: 10})
	// No reconciliation before the pay window ends: the close job alone
	// must find out what the platform knows.
	w.pay.Config.ReconcileAfter = order.DefaultConfig.PayWindow + time.Hour
	paidLate, paidLatePay := w.placeAndPay(t, sku.ID, 1) // paid; no callback yet when the close job runs
	unpaid, unpaidPay := w.placeAndPay(t, sku.ID, 2)     // never paid
	noPay := w.place(t, ids.New(), order.LineInput{SKUID: sku.ID, Qty: 3})
	tx, _ := w.gw.pay(paidLatePay.OutTradeNo, w.clock.Now().Add(14*time.Minute))

	t.Run("platform down: nothing closes", func(t *testing.T) {
		w.gw.setDown(true)
		_, err := w.svc.Close(ctx, unpaid.ID, "closed by operator")
		if e := wantErrCode(t, err, "payment_unsettled"); e.Kind != errs.Unavailable {
			t.Errorf("kind = %v; want unavailable", e.Kind)
		}
		if got := w.order(t, unpaid.ID); got.Status != order.PendingPayment {
			t.Errorf("order = %s; want still pending", got.Status)
		}
		w.wantLevel(t, sku.ID, 10, 6)
		w.gw.setDown(false)
	})

	w.clock.Advance(order.DefaultConfig.PayWindow)
	if n := w.runJobs(t); n != 3 {
		t.Errorf("%d jobs ran at pay_by; want the three close jobs", n)
	}

	t.Run("SUCCESS at close: the order ends paid", func(t *testing.T) {
		if got := w.order(t, paidLate.ID); got.Status != order.Paid {
			t.Errorf("order = %s; want paid", got.Status)
		}
		topics := w.topics(t, paidLate.ID)
		if topics[order.TopicPaid] != 1 || topics[order.TopicClosed] != 0 || topics[payment.TopicCaptured] != 1 {
			t.Errorf("events = %v; want paid and captured, never closed", topics)
		}
		w.wantCaptured(t, paidLate, tx)
		if moves := w.stockMoves(t, sku.ID, paidLate.ID); moves[inventory.Release] != 0 || moves[inventory.Commit] != 1 {
			t.Errorf("journal = %v; want committed", moves)
		}
		// The success callback arriving now changes nothing.
		if _, err := w.pay.Capture(ctx, tx); err != nil {
			t.Errorf("late callback: %v", err)
		}
	})
	t.Run("NOTPAY at close: closed at the platform, then here", func(t *testing.T) {
		if got := w.order(t, unpaid.ID); got.Status != order.Closed {
			t.Errorf("order = %s; want closed", got.Status)
		}
		if got := w.payment(t, unpaid.ID); got.State != payment.Closed {
			t.Errorf("payment = %s; want closed", got.State)
		}
		if tr, _ := w.gw.trade(unpaidPay.OutTradeNo); tr.state != payment.TradeClosed {
			t.Errorf("platform transaction = %s; want CLOSED", tr.state)
		}
		if _, ok := w.gw.pay(unpaidPay.OutTradeNo, w.clock.Now()); ok {
			t.Error("the platform took money for a closed transaction")
		}
	})
	t.Run("no payment: closes", func(t *testing.T) {
		if got := w.order(t, noPay.ID); got.Status != order.Closed {
			t.Errorf("order = %s; want closed", got.Status)
		}
	})
	w.wantLevel(t, sku.ID, 9, 0)
	w.wantBooks(t, paidLate.Total, paidLate.Total.Rate(payment.DefaultConfig.FeeBP))

	t.Run("the jobs agree", func(t *testing.T) {
		// The close jobs are done (none failed to be retried), and the
		// reconciliations find their payments settled.
		w.clock.Advance(jobs.Backoff(1))
		if n := w.runJobs(t); n != 0 {
			t.Errorf("%d close jobs retried; want every one done", n)
		}
		w.clock.Advance(time.Hour)
		if n := w.runJobs(t); n != 2 {
			t.Errorf("%d jobs ran an hour later; want the two reconciliations", n)
		}
		w.clock.Advance(24 * time.Hour)
		if n := w.runJobs(t); n != 0 {
			t.Errorf("%d jobs still running a day later; want none", n)
		}
		w.wantLevel(t, sku.ID, 9, 0)
		w.wantBooks(t, paidLate.Total, paidLate.Total.Rate(payment.DefaultConfig.FeeBP))
	})
}

// testPaymentUpdateContract holds the store to UpdatePayment's and
// CreatePayment's promises.
func testPaymentUpdateContract(t *testing.T, w *paymentWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Keemun", skuFixture{Spec: "tin", List: 3000, Sale: 3000, Stock: 3})
	o, p := w.placeAndPay(t, sku.ID, 1)

	t.Run("ErrNoop writes nothing", func(t *testing.T) {
		got, err := w.s.UpdatePayment(ctx, p.OutTradeNo, func(p *payment.Payment, o *order.Order) (payment.Capture, error) {
			p.State, o.Status = payment.Succeeded, order.Paid
			return payment.Capture{Order: &order.Change{Stock: order.StockCommit}}, payment.ErrNoop
		})
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("UpdatePayment with ErrNoop = %+v, %v; want the payment unchanged %+v", got, err, p)
		}
	})
	t.Run("a failing fn writes nothing", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := w.s.UpdatePayment(ctx, p.OutTradeNo, func(p *payment.Payment, o *order.Order) (payment.Capture, error) {
			p.State, o.Status = payment.Closed, order.Closed
			return payment.Capture{
				Order:  &order.Change{Stock: order.StockRelease},
				Events: []outbox.Event{outbox.New("test.boom", o.ID, nil, orderT0)},
			}, boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("err = %v; want boom", err)
		}
	})
	t.Run("the order is written only when asked", func(t *testing.T) {
		got, err := w.s.UpdatePayment(ctx, p.OutTradeNo, func(p *payment.Payment, o *order.Order) (payment.Capture, error) {
			p.PrepayID, p.UpdatedAt = "wx-other", orderT0.Add(time.Hour)
			o.Remark = "not saved"
			return payment.Capture{}, nil
		})
		if err != nil || got.PrepayID != "wx-other" {
			t.Fatalf("UpdatePayment = %+v, %v", got, err)
		}
		if read := w.payment(t, o.ID); !reflect.DeepEqual(read, got) {
			t.Errorf("payment read back = %+v; want %+v", read, got)
		}
	})
	if got := w.order(t, o.ID); got.Status != order.PendingPayment || got.Remark != "" {
		t.Errorf("order = %+v; want untouched", got)
	}
	w.wantLevel(t, sku.ID, 3, 1)
	if topics := w.topics(t, o.ID); !reflect.DeepEqual(topics, map[string]int{order.TopicCreated: 1}) {
		t.Errorf("events = %v; refused updates wrote some", topics)
	}

	t.Run("unknown", func(t *testing.T) {
		for _, no := range []string{"", "nope", payment.OutTradeNo(ids.New()), "'; DROP TABLE payments; --"} {
			_, err := w.s.UpdatePayment(ctx, no, func(*payment.Payment, *order.Order) (payment.Capture, error) {
				t.Errorf("UpdatePayment(%q) called fn", no)
				return payment.Capture{}, nil
			})
			if !errs.Is(err, payment.CodeNotFound) {
				t.Errorf("UpdatePayment(%q): err = %v; want %s", no, err, payment.CodeNotFound)
			}
			if _, err := w.s.PaymentByOutTradeNo(ctx, no); !errs.Is(err, payment.CodeNotFound) {
				t.Errorf("PaymentByOutTradeNo(%q): err = %v; want %s", no, err, payment.CodeNotFound)
			}
		}
		for _, id := range []string{"", "not-a-uuid", ids.New()} {
			if _, err := w.s.PaymentByOrder(ctx, id); !errs.Is(err, payment.CodeNotFound) {
				t.Errorf("PaymentByOrder(%q): err = %v; want %s", id, err, payment.CodeNotFound)
			}
		}
	})
	t.Run("one payment per order", func(t *testing.T) {
		now := w.clock.Now()
		dup := &payment.Payment{
			ID: ids.New(), OrderID: o.ID, BuyerID: o.BuyerID, OutTradeNo: p.OutTradeNo, Amount: o.Total,
			PayerOpenID: "o-x", State: payment.Pending, CreatedAt: now, UpdatedAt: now,
		}
		job := jobs.New("test.dup", ids.New(), now, nil)
		if err := w.s.CreatePayment(ctx, dup, []jobs.Job{job}); !errs.Is(err, payment.CodeExists) {
			t.Errorf("second CreatePayment: err = %v; want %s", err, payment.CodeExists)
		}
		if got := w.payment(t, o.ID); got.ID != p.ID {
			t.Errorf("payment = %s; want the first, %s", got.ID, p.ID)
		}
		for _, j := range w.jobsDue(t, job.Key, now.AddDate(1, 0, 0)) {
			t.Errorf("a refused CreatePayment enqueued %+v", j)
		}
	})
}
