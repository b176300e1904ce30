package storetest

import (
	"context"
	"strings"
	"sync/atomic"
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
	"github.com/siyu-commerce/siyu/internal/refund"
)

func init() { register("refund", testRefund) }

// The refund tests prove invariant 3 (refunds never exceed what was paid;
// one out_refund_no, one refund) and invariant 1 (the ledger balances after
// every step) against real engines, with the payment and refund services on
// top, a fake platform, real concurrency and simulated crashes.
func testRefund(t *testing.T, open Opener) {
	t.Run("line_amounts_exact", func(t *testing.T) { testRefundLineAmounts(t, newRefundWorld(t, open)) })
	t.Run("whole_order", func(t *testing.T) { testRefundWholeOrder(t, newRefundWorld(t, open)) })
	t.Run("refusals", func(t *testing.T) { testRefundRefusals(t, newRefundWorld(t, open)) })
	t.Run("limit", func(t *testing.T) { testRefundLimit(t, newRefundWorld(t, open)) })
	t.Run("race", func(t *testing.T) { testRefundRace(t, newRefundWorld(t, open)) })
	t.Run("crash_before_send", func(t *testing.T) { testRefundCrashBeforeSend(t, newRefundWorld(t, open)) })
	t.Run("crash_after_send", func(t *testing.T) { testRefundCrashAfterSend(t, newRefundWorld(t, open)) })
	t.Run("lease_expiry_after_send", func(t *testing.T) { testRefundLeaseExpiry(t, newRefundWorld(t, open)) })
	t.Run("callbacks", func(t *testing.T) { testRefundCallbacks(t, newRefundWorld(t, open)) })
	t.Run("closed", func(t *testing.T) { testRefundClosed(t, newRefundWorld(t, open)) })
	t.Run("abnormal", func(t *testing.T) { testRefundAbnormal(t, newRefundWorld(t, open)) })
	t.Run("refused", func(t *testing.T) { testRefundRefused(t, newRefundWorld(t, open)) })
	t.Run("reconcile", func(t *testing.T) { testRefundReconcile(t, newRefundWorld(t, open)) })
	t.Run("aftersale", func(t *testing.T) { testRefundAfterSale(t, newRefundWorld(t, open)) })
	t.Run("return_restock", func(t *testing.T) { testRefundReturnRestock(t, newRefundWorld(t, open)) })
	t.Run("captured_after_close", func(t *testing.T) { testRefundCapturedAfterClose(t, newRefundWorld(t, open)) })
}

func units(orderLineID string, qty int) []refund.LineQty {
	return []refund.LineQty{{OrderLineID: orderLineID, Qty: qty}}
}

// An order of 3 x 9.99 and 1 x 15.00 with 10.01 off split across its lines:
// the first line pays an amount its 3 units do not divide.
func (w *refundWorld) unevenOrder(t *testing.T) *order.Order {
	t.Helper()
	a := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 999, Sale: 999, Stock: 50})
	b := w.sku(t, "Cup", skuFixture{Spec: "white", List: 1500, Sale: 1500, Stock: 50})
	o := w.paidOrder(t, order.LineInput{SKUID: a.ID, Qty: 3}, order.LineInput{SKUID: b.ID, Qty: 1})
	if o.Lines[0].Amount%3 == 0 || o.Shipping == 0 {
		t.Fatalf("fixture: line amount %s divides by 3 or no shipping (%s)", o.Lines[0].Amount, o.Shipping)
	}
	return o
}

func testRefundLineAmounts(t *testing.T, w *refundWorld) {
	o := w.unevenOrder(t)
	la, lb := o.Lines[0], o.Lines[1]
	var sum money.Fen
	for i := range 3 {
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(la.ID, 1), Operator: "finance-1"})
		if r.Shipping != 0 || r.Full || len(r.Lines) != 1 || r.Lines[0].Amount != r.Amount || r.State != refund.Pending {
			t.Fatalf("unit %d: %+v", i, r)
		}
		if len(r.OutRefundNo) != 32 || r.OutRefundNo != strings.ReplaceAll(r.ID, "-", "") {
			t.Fatalf("out_refund_no %q for refund %s", r.OutRefundNo, r.ID)
		}
		sum += r.Amount
		if got := w.complete(t, r); got.State != refund.Succeeded {
			t.Fatalf("unit %d: refund %s", i, got.State)
		}
		w.wantBooksSound(t)
	}
	if sum != la.Amount {
		t.Errorf("three unit refunds of a line that paid %s gave back %s", la.Amount, sum)
	}
	last := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(lb.ID, 1)})
	if last.Amount != lb.Amount+o.Shipping || last.Shipping != o.Shipping || !last.Full {
		t.Errorf("the order's last unit: amount %s shipping %s full %v; want %s, %s, true",
			last.Amount, last.Shipping, last.Full, lb.Amount+o.Shipping, o.Shipping)
	}
	w.complete(t, last)
	p := w.wantPosition(t, o.ID)
	if p.Refunded != o.Total || p.RefundedFee != p.Paid.Fee || p.Count != 4 {
		t.Errorf("position after everything: %+v; want %s refunded, the whole fee, 4 refunds", p, o.Total)
	}
	w.wantBooksSound(t)
	// All the order's money has gone back through clearing: what it paid
	// in, less the fee, plus the fee returned, less the refunds.
	bs, err := w.s.Balances(context.Background())
	failOn(t, err)
	for _, b := range bs {
		if b.Account.ID == ledger.ClearingWeChat || b.Account.ID == ledger.RefundsPayable || b.Account.ID == ledger.MerchantRevenue || b.Account.ID == ledger.PlatformFees {
			if b.Posted() != 0 || b.PendingDebits != 0 || b.PendingCredits != 0 {
				t.Errorf("%s after a full refund: %+v; want nothing", b.Account.ID, b)
			}
		}
	}
}

func testRefundWholeOrder(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)
	r := w.start(t, refund.RefundInput{OrderID: o.ID, All: true})
	if r.Amount != o.Total || r.Shipping != o.Shipping || !r.Full || !r.Return || len(r.Lines) != 2 {
		t.Fatalf("whole order: %+v; want %s with %s shipping, full, both lines", r, o.Total, o.Shipping)
	}
	if r.Lines[0].Amount != o.Lines[0].Amount || r.Lines[1].Amount != o.Lines[1].Amount {
		t.Errorf("line amounts %s, %s; the lines paid %s, %s", r.Lines[0].Amount, r.Lines[1].Amount, o.Lines[0].Amount, o.Lines[1].Amount)
	}
	if r.Fee <= 0 || r.Total != o.Total {
		t.Errorf("fee %s, total %s; want the payment's fee and total", r.Fee, r.Total)
	}
	tr, err := w.s.Transfer(ctx, ledger.RefundID(r.ID))
	failOn(t, err)
	if tr.State != ledger.Pending || tr.Kind != ledger.KindRefund || tr.Ref != o.ID {
		t.Errorf("intent transfer %+v; want a pending refund transfer of the order", tr)
	}
	w.wantBooksSound(t)
	// Nothing is left to refund while it is in flight.
	_, err = w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, All: true, Reason: "again"})
	wantErrCode(t, err, refund.CodeExceedsPaid)
	w.complete(t, r)
	tr, err = w.s.Transfer(ctx, ledger.RefundID(r.ID))
	failOn(t, err)
	if tr.State != ledger.Posted {
		t.Errorf("refund transfer %s after success; want posted", tr.State)
	}
	// Refunded before shipping: every unit goes back on hand.
	w.deliver(t)
	w.wantLevel(t, o.Lines[0].SKUID, 50, 0)
	w.wantLevel(t, o.Lines[1].SKUID, 50, 0)
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

func testRefundRefusals(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)
	la := o.Lines[0]
	_, err := w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(la.ID, 4), Reason: "too many"})
	wantErrCode(t, err, refund.CodeExceedsQty)
	_, err = w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(ids.New(), 1), Reason: "no such line"})
	wantErrCode(t, err, "order_line_not_found")
	_, err = w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(la.ID, 1)})
	wantErrCode(t, err, "required")

	unpaid := w.place(t, ids.New(), order.LineInput{SKUID: la.SKUID, Qty: 1})
	_, err = w.refunds.Refund(ctx, refund.RefundInput{OrderID: unpaid.ID, All: true, Reason: "never paid"})
	wantErrCode(t, err, refund.CodeNotPaid)

	w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(la.ID, 2)})
	_, err = w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(la.ID, 2), Reason: "over"})
	wantErrCode(t, err, refund.CodeExceedsQty)

	w.clock.Advance(refund.Window + time.Second)
	_, err = w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(la.ID, 1), Reason: "late"})
	wantErrCode(t, err, refund.CodeWindowOver)
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

func testRefundLimit(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	a := w.sku(t, "Tea bag", skuFixture{Spec: "single", List: 100, Sale: 100, Stock: 100})
	o := w.paidOrder(t, order.LineInput{SKUID: a.ID, Qty: 60})
	for i := range refund.MaxRefunds {
		if _, err := w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1), Reason: "one more"}); err != nil {
			t.Fatalf("refund %d: %v", i+1, err)
		}
	}
	_, err := w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1), Reason: "the 51st"})
	wantErrCode(t, err, refund.CodeLimitReached)
	if p := w.wantPosition(t, o.ID); p.Count != refund.MaxRefunds || p.Lines[0].RefundedQty != refund.MaxRefunds {
		t.Errorf("position %+v; want %d refunds of one unit", p, refund.MaxRefunds)
	}
	w.wantBooksSound(t)
}

// Twenty refunds of one order start at once, each asking for most of what
// was paid: whatever wins, together they never pass a line's units or the
// payment.
func testRefundRace(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	a := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 999, Sale: 999, Stock: 50})
	b := w.sku(t, "Cup", skuFixture{Spec: "white", List: 1500, Sale: 1500, Stock: 50})
	o := w.paidOrder(t, order.LineInput{SKUID: a.ID, Qty: 10}, order.LineInput{SKUID: b.ID, Qty: 1})
	var won atomic.Int64
	errs2 := concurrently(20, func(i int) error {
		in := refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 6), Reason: "race"}
		if i%2 == 1 {
			in = refund.RefundInput{OrderID: o.ID, All: true, Reason: "race"}
		}
		r, err := w.refunds.Refund(ctx, in)
		if err == nil {
			won.Add(int64(r.Amount))
		}
		return err
	})
	wins := 0
	for _, err := range errs2 {
		switch {
		case err == nil:
			wins++
		case errs.KindOf(err) != errs.Conflict:
			t.Errorf("a losing refund failed with %v; want a conflict", err)
		}
	}
	if wins == 0 || money.Fen(won.Load()) > o.Total {
		t.Fatalf("%d refunds won, together %s of %s paid", wins, money.Fen(won.Load()), o.Total)
	}
	p := w.wantPosition(t, o.ID)
	if p.Refunded != money.Fen(won.Load()) {
		t.Errorf("position holds %s; the winners took %s", p.Refunded, money.Fen(won.Load()))
	}
	w.runJobs(t, w.runner)
	if refunds, _ := w.gw.made(); refunds != wins {
		t.Errorf("the platform made %d refunds; %d were recorded", refunds, wins)
	}
	w.wantBooksSound(t)
}

// A crash after the intent is recorded and before it is sent: a new process
// (service and runner) over the same store sends it, once.
func testRefundCrashBeforeSend(t *testing.T, w *refundWorld) {
	o := w.unevenOrder(t)
	r := w.start(t, refund.RefundInput{OrderID: o.ID, All: true})
	// The process dies here: its service and runner are gone.
	svc := w.newRefundService(w.s)
	w.runJobs(t, w.newRunner("restarted", svc))
	if refunds, sends := w.gw.made(); refunds != 1 || sends != 1 {
		t.Fatalf("the platform made %d refunds from %d sends; want 1 from 1", refunds, sends)
	}
	if got := w.refund(t, r.ID); got.State != refund.Processing || got.PlatformRefundID == "" || got.SentAt == nil {
		t.Fatalf("after the restart's send: %+v", got)
	}
	got, err := svc.ApplyRefundResult(context.Background(), w.gw.set(r.OutRefundNo, payment.RefundSuccess))
	failOn(t, err)
	if got.State != refund.Succeeded {
		t.Fatalf("refund %s after success", got.State)
	}
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

// flakyRefunds fails the next n UpdateRefund calls before they write
// anything: the process dying between hearing the platform and recording
// what it heard.
type flakyRefunds struct {
	refund.Store
	n atomic.Int32
}

func (f *flakyRefunds) UpdateRefund(ctx context.Context, outRefundNo string, fn func(*refund.Refund, *refund.AfterSale) (refund.Change, error)) (*refund.Refund, error) {
	if f.n.Add(-1) >= 0 {
		return nil, errs.E(errs.Unavailable, "test_crash", "the process died before recording the platform's answer")
	}
	return f.Store.UpdateRefund(ctx, outRefundNo, fn)
}

// A crash after the platform made the refund and before its answer was
// recorded: the retry sends the same out_refund_no and finds that refund.
func testRefundCrashAfterSend(t *testing.T, w *refundWorld) {
	o := w.unevenOrder(t)
	flaky := &flakyRefunds{Store: w.s}
	flaky.n.Store(1)
	svc := w.newRefundService(flaky)
	runner := w.newRunner("crashy", svc)
	r, err := svc.Refund(context.Background(), refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 2), Reason: "crash"})
	failOn(t, err)
	w.runJobs(t, runner)
	if refunds, sends := w.gw.made(); refunds != 1 || sends != 1 {
		t.Fatalf("first attempt: %d refunds from %d sends; want 1 from 1", refunds, sends)
	}
	if got := w.refund(t, r.ID); got.State != refund.Pending {
		t.Fatalf("refund %s after its answer was lost; want pending", got.State)
	}
	w.clock.Advance(time.Minute) // past the retry's backoff
	w.runJobs(t, runner)
	refunds, sends := w.gw.made()
	if refunds != 1 || sends != 2 {
		t.Fatalf("after the retry: %d refunds from %d sends; want 1 from 2", refunds, sends)
	}
	for _, no := range w.gw.sentNumbers() {
		if no != r.OutRefundNo {
			t.Errorf("sent out_refund_no %s; want %s every time", no, r.OutRefundNo)
		}
	}
	if got := w.refund(t, r.ID); got.State != refund.Processing {
		t.Fatalf("refund %s after the retry; want processing", got.State)
	}
	w.callback(t, r, payment.RefundSuccess)
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

// A replica claims the send, reaches the platform and dies; when its lease
// runs out another replica sends again: one refund at the platform.
func testRefundLeaseExpiry(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)
	r := w.start(t, refund.RefundInput{OrderID: o.ID, All: true})
	js, err := w.s.ClaimJobs(ctx, "doomed", w.clock.Now(), time.Minute, 10)
	failOn(t, err)
	var send *jobs.Job
	for i := range js {
		if js[i].Kind == refund.JobSend && js[i].Key == r.ID {
			send = &js[i]
		}
	}
	if send == nil {
		t.Fatalf("no send job among %+v", js)
	}
	_, err = w.gw.Refund(ctx, payment.RefundRequest{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, Reason: r.Reason, Refund: r.Amount, Total: r.Total})
	failOn(t, err)
	w.clock.Advance(2 * time.Minute)
	w.runJobs(t, w.runner)
	if refunds, sends := w.gw.made(); refunds != 1 || sends != 2 {
		t.Fatalf("%d refunds from %d sends; want 1 from 2", refunds, sends)
	}
	if got := w.refund(t, r.ID); got.State != refund.Processing {
		t.Fatalf("refund %s; want processing", got.State)
	}
	if err := w.s.CompleteJob(ctx, send.ID, "doomed"); !errs.Is(err, jobs.CodeNotHeld) {
		t.Errorf("the dead replica completing its job: %v; want %s", err, jobs.CodeNotHeld)
	}
	w.callback(t, r, payment.RefundSuccess)
	w.wantBooksSound(t)
}

func testRefundCallbacks(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)

	t.Run("success twice concurrently", func(t *testing.T) {
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1)})
		w.runJobs(t, w.runner)
		res := w.gw.set(r.OutRefundNo, payment.RefundSuccess)
		for _, err := range concurrently(8, func(int) error {
			_, err := w.refunds.ApplyRefundResult(ctx, res)
			return err
		}) {
			failOn(t, err)
		}
		w.deliver(t)
		if n := w.topicsDelivered(o.ID)[refund.TopicSucceeded]; n != 1 {
			t.Errorf("%d refund.succeeded events; want 1", n)
		}
		if got := w.refund(t, r.ID); got.State != refund.Succeeded || got.FinishedAt == nil {
			t.Errorf("refund %+v", got)
		}
		w.wantBooksSound(t)
	})
	t.Run("before the send was recorded", func(t *testing.T) {
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1)})
		// The send reached the platform; its answer is not recorded yet
		// when the callback comes.
		_, err := w.gw.Refund(ctx, payment.RefundRequest{OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo, Reason: r.Reason, Refund: r.Amount, Total: r.Total})
		failOn(t, err)
		if got := w.callback(t, r, payment.RefundSuccess); got.State != refund.Succeeded {
			t.Fatalf("refund %s after a callback while pending", got.State)
		}
		_, before := w.gw.made()
		w.runJobs(t, w.runner)
		if _, after := w.gw.made(); after != before {
			t.Errorf("the send job sent a refund the platform had already confirmed")
		}
		w.wantBooksSound(t)
	})
	t.Run("unknown refund", func(t *testing.T) {
		_, err := w.refunds.ApplyRefundResult(ctx, payment.RefundResult{OutRefundNo: "f00", Status: payment.RefundSuccess, Refund: 1})
		if errs.KindOf(err) != errs.NotFound {
			t.Errorf("err = %v; want not found, so the platform retries", err)
		}
	})
	t.Run("amount mismatch", func(t *testing.T) {
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1)})
		w.runJobs(t, w.runner)
		res := w.gw.set(r.OutRefundNo, payment.RefundSuccess)
		res.Refund++
		_, err := w.refunds.ApplyRefundResult(ctx, res)
		wantErrCode(t, err, refund.CodeResultMismatch)
		if got := w.refund(t, r.ID); got.State != refund.Processing {
			t.Errorf("refund %s after a mismatched result; want it unchanged", got.State)
		}
	})
	w.wantPosition(t, o.ID)
}

func testRefundClosed(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)
	r := w.start(t, refund.RefundInput{OrderID: o.ID, All: true})
	w.runJobs(t, w.runner)
	got := w.callback(t, r, payment.RefundClosed)
	if got.State != refund.Closed || got.Failure == "" {
		t.Fatalf("refund %+v after CLOSED", got)
	}
	tr, err := w.s.Transfer(ctx, ledger.RefundID(r.ID))
	failOn(t, err)
	if tr.State != ledger.Voided {
		t.Errorf("refund transfer %s after CLOSED; want voided", tr.State)
	}
	if p := w.wantPosition(t, o.ID); p.Refunded != 0 || p.Count != 1 {
		t.Errorf("position after CLOSED: refunded %s, count %d; want 0, 1", p.Refunded, p.Count)
	}
	_, err = w.refunds.ApplyRefundResult(ctx, w.gw.set(r.OutRefundNo, payment.RefundSuccess))
	wantErrCode(t, err, refund.CodeInvalidState)
	w.gw.set(r.OutRefundNo, payment.RefundClosed)
	w.wantBooksSound(t)

	again := w.start(t, refund.RefundInput{OrderID: o.ID, All: true})
	if again.Amount != o.Total || again.OutRefundNo == r.OutRefundNo {
		t.Fatalf("the refund after a closed one: %+v", again)
	}
	w.complete(t, again)
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

func testRefundAbnormal(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)
	offline := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 3)})
	closing := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[1].ID, 1)})
	w.runJobs(t, w.runner)
	for _, r := range []*refund.Refund{offline, closing} {
		if got := w.callback(t, r, payment.RefundAbnormal); got.State != refund.Abnormal {
			t.Fatalf("refund %s after ABNORMAL", got.State)
		}
	}
	w.deliver(t)
	if n := w.topicsDelivered(o.ID)[refund.TopicAbnormal]; n != 2 {
		t.Errorf("%d refund.abnormal events; want 2", n)
	}
	// It waits: a query later says the same, and nothing moves.
	if got := w.callback(t, offline, payment.RefundAbnormal); got.State != refund.Abnormal {
		t.Fatalf("refund %s after a second ABNORMAL", got.State)
	}
	_, err := w.refunds.ResolveAbnormal(ctx, offline.ID, "maybe", "op-1", "?")
	wantErrCode(t, err, "invalid_resolution")
	_, err = w.refunds.ResolveAbnormal(ctx, offline.ID, refund.RefundedOffline, "op-1", "")
	wantErrCode(t, err, "required")

	got, err := w.refunds.ResolveAbnormal(ctx, offline.ID, refund.RefundedOffline, "op-1", "paid by bank transfer, voucher 77")
	failOn(t, err)
	if got.State != refund.Succeeded || got.Resolution != refund.RefundedOffline || got.Operator != "op-1" || got.Note == "" {
		t.Errorf("resolved offline: %+v", got)
	}
	got, err = w.refunds.ResolveAbnormal(ctx, closing.ID, refund.ResolvedClosed, "op-1", "the buyer's account is closed; refunded in store")
	failOn(t, err)
	if got.State != refund.Closed || got.Resolution != refund.ResolvedClosed {
		t.Errorf("resolved closed: %+v", got)
	}
	_, err = w.refunds.ResolveAbnormal(ctx, closing.ID, refund.RefundedOffline, "op-1", "changed my mind")
	wantErrCode(t, err, refund.CodeInvalidState)
	if p := w.wantPosition(t, o.ID); p.Refunded != o.Lines[0].Amount {
		t.Errorf("position refunded %s; want the first line's %s", p.Refunded, o.Lines[0].Amount)
	}
	w.wantBooksSound(t)
}

func testRefundRefused(t *testing.T, w *refundWorld) {
	o := w.unevenOrder(t)

	t.Run("the platform is down, then back", func(t *testing.T) {
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1)})
		w.gw.down.Store(2)
		w.runJobs(t, w.runner)
		if got := w.refund(t, r.ID); got.State != refund.Pending {
			t.Fatalf("refund %s while the platform is down; want pending", got.State)
		}
		for range 3 {
			w.clock.Advance(10 * time.Second)
			w.runJobs(t, w.runner)
		}
		if got := w.refund(t, r.ID); got.State != refund.Processing {
			t.Fatalf("refund %s once the platform is back; want processing", got.State)
		}
	})
	t.Run("refused", func(t *testing.T) {
		w.gw.refuse = errs.E(errs.Unprocessable, "payment_request_rejected", "the platform refuses")
		defer func() { w.gw.refuse = nil }()
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1)})
		w.runJobs(t, w.runner)
		got := w.refund(t, r.ID)
		if got.State != refund.Closed || !strings.Contains(got.Failure, "payment_request_rejected") {
			t.Fatalf("refused refund: %+v; want closed with the platform's code", got)
		}
	})
	t.Run("the buyer's account cannot receive it", func(t *testing.T) {
		w.gw.refuse = errs.E(errs.Conflict, refund.CodeAccountAbnormal, "the buyer's account is abnormal")
		defer func() { w.gw.refuse = nil }()
		r := w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(o.Lines[0].ID, 1)})
		w.runJobs(t, w.runner)
		if got := w.refund(t, r.ID); got.State != refund.Abnormal {
			t.Fatalf("refund %s; want abnormal", got.State)
		}
	})
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

// A refund whose callback never comes is settled by its queries.
func testRefundReconcile(t *testing.T, w *refundWorld) {
	o := w.unevenOrder(t)
	r := w.start(t, refund.RefundInput{OrderID: o.ID, All: true})
	w.runJobs(t, w.runner)
	w.clock.Advance(5 * time.Minute)
	w.runJobs(t, w.runner) // asks: still processing
	if got := w.refund(t, r.ID); got.State != refund.Processing {
		t.Fatalf("refund %s after the first query; want processing", got.State)
	}
	w.gw.set(r.OutRefundNo, payment.RefundSuccess) // its callback is lost
	w.clock.Advance(5 * time.Minute)
	w.runJobs(t, w.runner) // the second query is not due before ten minutes
	if got := w.refund(t, r.ID); got.State != refund.Processing {
		t.Fatalf("refund %s before the second query; want processing", got.State)
	}
	w.clock.Advance(5 * time.Minute)
	w.runJobs(t, w.runner)
	if got := w.refund(t, r.ID); got.State != refund.Succeeded {
		t.Fatalf("refund %s after the second query; want succeeded", got.State)
	}
	w.clock.Advance(24 * time.Hour)
	_, before := w.gw.made()
	w.runJobs(t, w.runner)
	w.deliver(t)
	if n := w.topicsDelivered(o.ID)[refund.TopicSucceeded]; n != 1 {
		t.Errorf("%d refund.succeeded events; want 1", n)
	}
	if _, after := w.gw.made(); after != before {
		t.Errorf("a refund was sent again after it succeeded")
	}
	w.wantBooksSound(t)
}

func testRefundAfterSale(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	o := w.unevenOrder(t)
	la := o.Lines[0]
	ask := func(kind refund.Kind, buyerID string, lines []refund.LineQty) (*refund.AfterSale, error) {
		return w.refunds.RequestAfterSale(ctx, refund.AfterSaleInput{BuyerID: buyerID, OrderID: o.ID, Kind: kind, Reason: "坏了", Lines: lines})
	}
	first, err := ask(refund.RefundOnly, o.BuyerID, units(la.ID, 1))
	failOn(t, err)
	if first.State != refund.Requested || first.BuyerID != o.BuyerID {
		t.Fatalf("requested: %+v", first)
	}
	_, err = ask(refund.RefundOnly, o.BuyerID, units(la.ID, 2))
	wantErrCode(t, err, refund.CodeAfterSaleOpen)
	_, err = ask(refund.RefundOnly, ids.New(), units(la.ID, 1))
	wantErrCode(t, err, "order_not_found")
	_, err = ask(refund.ReturnRefund, o.BuyerID, units(o.Lines[1].ID, 1))
	wantErrCode(t, err, refund.CodeReturnNotShipped)
	_, err = ask(refund.RefundOnly, o.BuyerID, units(o.Lines[1].ID, 2))
	wantErrCode(t, err, refund.CodeExceedsQty)

	_, err = w.refunds.RejectAfterSale(ctx, first.ID, "op-1", " ")
	wantErrCode(t, err, "required")
	rejected, err := w.refunds.RejectAfterSale(ctx, first.ID, "op-1", "the photo shows no damage")
	failOn(t, err)
	if rejected.State != refund.Rejected || rejected.Note == "" {
		t.Fatalf("rejected: %+v", rejected)
	}
	second, err := ask(refund.RefundOnly, o.BuyerID, units(la.ID, 2))
	failOn(t, err) // the line is free again
	if _, err := w.refunds.WithdrawAfterSale(ctx, ids.New(), second.ID); !errs.Is(err, refund.CodeAfterSaleFound) {
		t.Errorf("another buyer withdrawing: %v", err)
	}
	withdrawn, err := w.refunds.WithdrawAfterSale(ctx, o.BuyerID, second.ID)
	failOn(t, err)
	if withdrawn.State != refund.Withdrawn {
		t.Fatalf("withdrawn: %+v", withdrawn)
	}

	third, err := ask(refund.RefundOnly, o.BuyerID, units(la.ID, 2))
	failOn(t, err)
	approved, err := w.refunds.ApproveAfterSale(ctx, third.ID, "op-2", "sorry about that")
	failOn(t, err)
	if approved.State != refund.Refunding || approved.RefundID == "" || approved.Operator != "op-2" {
		t.Fatalf("approved: %+v", approved)
	}
	_, err = w.refunds.ApproveAfterSale(ctx, third.ID, "op-2", "")
	wantErrCode(t, err, refund.CodeAfterSaleState)
	r := w.refund(t, approved.RefundID)
	// Not shipped yet: the refunded units are still in the warehouse.
	if r.Source != refund.FromAfterSale || r.AfterSaleID != third.ID || !r.Return || len(r.Lines) != 1 || r.Lines[0].Qty != 2 {
		t.Fatalf("the after-sale's refund: %+v", r)
	}
	w.complete(t, r)
	done, err := w.refunds.GetAfterSale(ctx, o.BuyerID, third.ID)
	failOn(t, err)
	if done.State != refund.Refunded {
		t.Errorf("after-sale %s once its refund succeeded; want refunded", done.State)
	}

	page, err := w.refunds.AfterSales(ctx, refund.AfterSaleFilter{BuyerID: o.BuyerID, Limit: 2})
	failOn(t, err)
	if len(page.AfterSales) != 2 || page.NextCursor == "" || page.AfterSales[0].ID != third.ID {
		t.Fatalf("first page: %d after-sales, cursor %q", len(page.AfterSales), page.NextCursor)
	}
	rest, err := w.refunds.AfterSales(ctx, refund.AfterSaleFilter{BuyerID: o.BuyerID, Limit: 2, Cursor: page.NextCursor})
	failOn(t, err)
	if len(rest.AfterSales) != 1 || rest.NextCursor != "" || rest.AfterSales[0].ID != first.ID {
		t.Fatalf("second page: %+v", rest)
	}
	w.deliver(t)
	w.wantLevel(t, la.SKUID, 49, 0) // 50 received, 3 sold, 2 refunded before shipping
	got := w.topicsDelivered(o.ID)
	for topic, n := range map[string]int{
		refund.TopicAfterSaleRequested: 3, refund.TopicAfterSaleRejected: 1, refund.TopicAfterSaleWithdrawn: 1,
		refund.TopicAfterSaleApproved: 1, refund.TopicRequested: 1, refund.TopicSucceeded: 1,
	} {
		if got[topic] != n {
			t.Errorf("%d %s events; want %d", got[topic], topic, n)
		}
	}
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}

// A return: approved, the goods arrive, the refund succeeds, and the units
// go back on hand once, however often refund.succeeded is delivered.
func testRefundReturnRestock(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	a := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 999, Sale: 999, Stock: 10})
	o := w.paidOrder(t, order.LineInput{SKUID: a.ID, Qty: 3})
	_, err := w.svc.Ship(ctx, o.ID, order.ShipInput{Carrier: "SF", TrackingNo: "SF1"})
	failOn(t, err)
	w.wantLevel(t, a.ID, 7, 0)
	as, err := w.refunds.RequestAfterSale(ctx, refund.AfterSaleInput{BuyerID: o.BuyerID, OrderID: o.ID,
		Kind: refund.ReturnRefund, Reason: "wrong size", Lines: units(o.Lines[0].ID, 2)})
	failOn(t, err)
	as, err = w.refunds.ApproveAfterSale(ctx, as.ID, "op-1", "send it back")
	failOn(t, err)
	if as.State != refund.Approved || as.RefundID != "" {
		t.Fatalf("an approved return waits for its goods: %+v", as)
	}
	as, err = w.refunds.ReceiveReturn(ctx, as.ID, "op-1", "arrived intact")
	failOn(t, err)
	r := w.refund(t, as.RefundID)
	if !r.Return || r.State != refund.Pending {
		t.Fatalf("the return's refund: %+v", r)
	}
	w.complete(t, r)
	w.deliver(t)
	w.wantLevel(t, a.ID, 9, 0)

	// The same event delivered again (a relay's duplicate, a lost ack).
	ev := refund.RefundEvent{RefundID: r.ID, OrderID: o.ID, State: refund.Succeeded, Return: true,
		Lines: []refund.Line{{OrderLineID: o.Lines[0].ID, SKUID: a.ID, Qty: 2, Amount: r.Amount}}, Amount: r.Amount}
	failOn(t, w.s.Publish(ctx, outbox.New(refund.TopicSucceeded, o.ID, ev, w.clock.Now()), outbox.New(refund.TopicSucceeded, o.ID, ev, w.clock.Now())))
	w.deliver(t)
	w.wantLevel(t, a.ID, 9, 0)
	moves := 0
	for _, m := range w.movements(t, a.ID, "refund:"+r.ID) {
		if m.Reason == inventory.Receive && m.OnHandDelta == 2 {
			moves++
		}
	}
	if moves != 1 {
		t.Errorf("%d restock movements for the refund; want 1", moves)
	}
	// Concurrent deliveries of the restock itself: one applies.
	applied := atomic.Int32{}
	for _, err := range concurrently(6, func(int) error {
		ok, err := w.s.RestockReturn(ctx, r.ID, []inventory.Movement{{ID: ids.New(), SKUID: a.ID, Location: inventory.Online,
			OnHandDelta: 2, Reason: inventory.Receive, Ref: "refund:" + r.ID, At: w.clock.Now()}})
		if ok {
			applied.Add(1)
		}
		return err
	}) {
		failOn(t, err)
	}
	if applied.Load() != 0 {
		t.Errorf("a restock applied %d more times", applied.Load())
	}
	w.wantLevel(t, a.ID, 9, 0)
	w.wantBooksSound(t)
}

// Money that arrives for an order that closed meanwhile is refunded in
// full, once, however often the event comes.
func testRefundCapturedAfterClose(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	a := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 999, Sale: 999, Stock: 10})
	o := w.place(t, ids.New(), order.LineInput{SKUID: a.ID, Qty: 2})
	_, err := w.pay.Pay(ctx, o.BuyerID, o.ID)
	failOn(t, err)
	_, err = w.svc.Close(ctx, o.ID, "unpaid in time")
	failOn(t, err)
	p, err := w.pay.Capture(ctx, w.gw.pay(payment.OutTradeNo(o.ID), o.Total, w.clock.Now()))
	failOn(t, err)
	w.deliver(t)
	// The relay delivers the capture again.
	ev := payment.Event{PaymentID: p.ID, OrderID: o.ID, BuyerID: o.BuyerID, Amount: p.Amount, Fee: p.Fee}
	failOn(t, w.s.Publish(ctx, outbox.New(payment.TopicCapturedAfterClose, o.ID, ev, w.clock.Now())))
	w.deliver(t)
	page, err := w.s.Refunds(ctx, refund.RefundFilter{OrderID: o.ID})
	failOn(t, err)
	if len(page.Refunds) != 1 {
		t.Fatalf("%d refunds of the late payment; want 1", len(page.Refunds))
	}
	r := page.Refunds[0]
	if r.Source != refund.Automatic || r.Amount != p.Amount || !r.Full || len(r.Lines) != 0 || r.Fee != p.Fee {
		t.Fatalf("automatic refund: %+v", r)
	}
	again, err := w.refunds.RefundCapturedAfterClose(ctx, o.ID, p.ID)
	failOn(t, err)
	if again.ID != r.ID {
		t.Errorf("a second call made refund %s; want %s", again.ID, r.ID)
	}
	w.complete(t, &r)
	if refunds, _ := w.gw.made(); refunds != 1 {
		t.Errorf("the platform made %d refunds; want 1", refunds)
	}
	w.wantPosition(t, o.ID)
	w.wantBooksSound(t)
}
