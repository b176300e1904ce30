package storetest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
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
	t.Run("race_mixed", func(t *testing.T) { testRefundRaceMixed(t, newRefundWorld(t, open)) })
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

// Every kind of refund write on one order at once (new refunds, results
// closing and confirming refunds in flight, an after-sale's approval): they
// queue on the order's position and none deadlocks or loses an update.
func testRefundRaceMixed(t *testing.T, w *refundWorld) {
	ctx := context.Background()
	a := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 999, Sale: 999, Stock: 50})
	o := w.paidOrder(t, order.LineInput{SKUID: a.ID, Qty: 12})
	line := o.Lines[0].ID
	var inFlight []*refund.Refund
	for range 4 {
		inFlight = append(inFlight, w.start(t, refund.RefundInput{OrderID: o.ID, Lines: units(line, 1)}))
	}
	w.runJobs(t, w.runner)
	as, err := w.refunds.RequestAfterSale(ctx, refund.AfterSaleInput{BuyerID: o.BuyerID, OrderID: o.ID,
		Kind: refund.RefundOnly, Reason: "late", Lines: units(line, 2)})
	failOn(t, err)
	results := make([]payment.RefundResult, len(inFlight))
	for i, r := range inFlight {
		status := payment.RefundSuccess
		if i%2 == 1 {
			status = payment.RefundClosed
		}
		results[i] = w.gw.set(r.OutRefundNo, status)
	}
	for _, err := range concurrently(16, func(i int) error {
		switch {
		case i < 8:
			_, err := w.refunds.ApplyRefundResult(ctx, results[i%len(results)])
			return err
		case i < 14:
			_, err := w.refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: units(line, 1), Reason: "mixed"})
			return err
		default:
			_, err := w.refunds.ApproveAfterSale(ctx, as.ID, "op-1", "")
			return err
		}
	}) {
		if err != nil && errs.KindOf(err) != errs.Conflict {
			t.Errorf("a concurrent refund write failed: %v", err)
		}
	}
	for i, r := range inFlight {
		if got := w.refund(t, r.ID); got.State != []refund.State{refund.Succeeded, refund.Closed}[i%2] {
			t.Errorf("refund %d: %s", i, got.State)
		}
	}
	if got, err := w.refunds.AfterSale(ctx, as.ID); err != nil || got.State != refund.Refunding {
		t.Errorf("after-sale %+v, %v; want refunding", got, err)
	}
	w.wantPosition(t, o.ID)
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
