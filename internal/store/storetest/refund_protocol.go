package storetest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// The intent-send-result protocol: crashes between its steps, retries,
// callbacks in any order, and the platform's every answer.

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
