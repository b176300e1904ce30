package app_test

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// settleIn is settle with the jobs and events run by the process p: after
// a restart, the new process is the one that finds the work left behind.
func settleIn(t *testing.T, a *apptest.App, p *app.App) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := a.PaySandbox.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for {
			ne, err := p.Events.DeliverOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			nj, err := p.Jobs.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ne == 0 && nj == 0 {
				break
			}
		}
	}
}

// TestLedgerInvariantsUnderRandomMoneyMoves drives the whole money path —
// orders paid through the pay simulator, partial and full refunds, callbacks
// duplicated or held back, and restarts of the process between a refund's
// intent and its sending — in random sequences, and after every step asks
// the ledger to prove itself: every transfer balanced, debits equal credits,
// no account below zero, one payment transfer per paid order, each refund at
// most once. It also checks that no order was refunded beyond what it paid.
func TestLedgerInvariantsUnderRandomMoneyMoves(t *testing.T) {
	// Each check builds a shop and runs about 30 steps through the whole
	// stack; rapid's default of 100 checks would take minutes. Ask for more
	// with -rapid.checks when hunting.
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		f.Value.Set("12")             //nolint:errcheck // a valid int
		defer f.Value.Set(f.DefValue) //nolint:errcheck
	}
	ctx := context.Background()
	buyers := 0

	rapid.Check(t, func(rt *rapid.T) {
		a := apptest.New(t, apptest.SQLite, nil)
		seed(t, a)
		var paid []*order.Order
		restarted := a.App // the process the next step runs in
		rt.Repeat(map[string]func(*rapid.T){
			"pay an order": func(rt *rapid.T) {
				buyers++
				o, _ := buyerWithOrder(t, a, fmt.Sprintf("prop%d.1", buyers), rapid.IntRange(1, 3).Draw(rt, "qty"))
				if rapid.Bool().Draw(rt, "duplicate callbacks") {
					a.PaySandbox.Inject(payment.OutTradeNo(o.ID), sandbox.Faults{Duplicate: rapid.IntRange(2, 5).Draw(rt, "copies")})
				}
				if _, err := a.Payments.Pay(ctx, o.BuyerID, o.ID); err != nil {
					rt.Fatal(err)
				}
				if err := a.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
					rt.Fatal(err)
				}
				settle(t, a)
				paid = append(paid, o)
			},
			"refund part of an order": func(rt *rapid.T) {
				if len(paid) == 0 {
					rt.Skip("nothing paid yet")
				}
				o := paid[rapid.IntRange(0, len(paid)-1).Draw(rt, "order")]
				line := o.Lines[0]
				qty := rapid.IntRange(1, line.Qty).Draw(rt, "units")
				_, err := restarted.Refunds.Refund(ctx, refund.RefundInput{
					OrderID: o.ID, Lines: []refund.LineQty{{OrderLineID: line.ID, Qty: qty}}, Reason: "property", Operator: "prop",
				})
				// Asking for more than is left is refused, and that is the
				// rule working, not a failure.
				if err != nil && errs.KindOf(err) != errs.Conflict && errs.KindOf(err) != errs.Invalid {
					rt.Fatal(err)
				}
				if rapid.Bool().Draw(rt, "crash before sending") {
					// A new process over the same database: the refund's
					// intent is recorded, its send job waits for it.
					b, err := app.New(ctx, a.Config, app.Options{Clock: a.Clock, Log: a.Log, PaySandbox: a.PaySandbox})
					if err != nil {
						rt.Fatal(err)
					}
					t.Cleanup(func() { b.Close() })
					restarted = b
				}
				settleIn(t, a, restarted)
			},
			"refund everything left": func(rt *rapid.T) {
				if len(paid) == 0 {
					rt.Skip("nothing paid yet")
				}
				o := paid[rapid.IntRange(0, len(paid)-1).Draw(rt, "order")]
				_, err := restarted.Refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, All: true, Reason: "property", Operator: "prop"})
				if err != nil && errs.KindOf(err) != errs.Conflict && errs.KindOf(err) != errs.Invalid {
					rt.Fatal(err)
				}
				settleIn(t, a, restarted)
			},
			"": func(rt *rapid.T) {
				breaches, err := a.Store.CheckLedger(ctx)
				if err != nil {
					rt.Fatal(err)
				}
				if len(breaches) > 0 {
					rt.Fatalf("ledger breaches: %+v", breaches)
				}
				for _, o := range paid {
					page, err := a.Store.Refunds(ctx, refund.RefundFilter{OrderID: o.ID, Limit: 100})
					if err != nil {
						rt.Fatal(err)
					}
					var sum int64
					for _, r := range page.Refunds {
						if r.State != refund.Closed {
							sum += int64(r.Amount)
						}
					}
					if sum > int64(o.Total) {
						rt.Fatalf("order %s: refunds %d exceed the %d paid", o.ID, sum, o.Total)
					}
				}
			},
		})
	})
}
