package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

// settle lets the pay simulator deliver everything due and the app handle
// what that caused, until nothing moves.
func settle(t *testing.T, a *apptest.App) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := a.PaySandbox.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		a.Drain(t)
	}
}

func checkLedger(t *testing.T, a *apptest.App) {
	t.Helper()
	breaches, err := a.Store.CheckLedger(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range breaches {
		t.Errorf("ledger breach: %+v", b)
	}
}

// TestPayAndRefundThroughTheSimulator: the production WeChat Pay client,
// pointed at the simulator, pays an order (the success arrives only as a
// signed, encrypted callback through the app's own handler), then finance
// refunds it in full, the refund completing by its own callback; the ledger
// is sound at every step.
func TestPayAndRefundThroughTheSimulator(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, nil)
			seed(t, a)
			ctx := context.Background()
			o, _ := buyerWithOrder(t, a, "payer.1", 2)

			params, err := a.Payments.Pay(ctx, o.BuyerID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if params.PaySign == "" || params.Package == "" {
				t.Fatalf("no signed pay parameters: %+v", params)
			}
			if got, _ := a.Store.Order(ctx, o.ID); got.Status != order.PendingPayment {
				t.Fatalf("paid before the buyer paid: %s", got.Status)
			}
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			got, err := a.Store.Order(ctx, o.ID)
			if err != nil || got.Status != order.Paid {
				t.Fatalf("after the callback: %v, %v; want paid", got.Status, err)
			}
			checkLedger(t, a)

			r, err := a.Refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, All: true, Reason: "test", Operator: "finance@test"})
			if err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			page, err := a.Store.Refunds(ctx, refund.RefundFilter{OrderID: o.ID})
			rs := page.Refunds
			if err != nil || len(rs) != 1 {
				t.Fatalf("refunds: %+v, %v", rs, err)
			}
			if rs[0].ID != r.ID || rs[0].State != refund.Succeeded || rs[0].Amount != o.Total {
				t.Fatalf("refund: %+v; want succeeded for %d", rs[0], o.Total)
			}
			if got, _ := a.Store.Order(ctx, o.ID); got.Status != order.Refunded {
				t.Fatalf("after a full refund the order is %s, want refunded", got.Status)
			}
			if _, err := a.Orders.Ship(ctx, o.ID, order.ShipInput{Carrier: "SF", TrackingNo: "SF1"}); err == nil {
				t.Fatal("an order refunded in full was shipped")
			}
			checkLedger(t, a)
		})
	}
}

// TestPaymentWinsOverTheClose: the buyer paid inside the window but the
// platform's callback never came (dropped). When the pay window ends, the
// platform is asked (by the reconciliation query or by the close job, which
// settles the payment before it closes anything), the money is found, and
// the order ends paid with its stock sold, not closed with it released. An order
// nobody paid closes, and the platform's transaction is closed too, so a
// late payment cannot go through.
func TestPaymentWinsOverTheClose(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, nil)
			seed(t, a)
			ctx := context.Background()
			paid, sku := buyerWithOrder(t, a, "winner.1", 1)
			unpaid, _ := buyerWithOrder(t, a, "loser.1", 1)
			for _, o := range []*order.Order{paid, unpaid} {
				if _, err := a.Payments.Pay(ctx, o.BuyerID, o.ID); err != nil {
					t.Fatal(err)
				}
			}
			a.PaySandbox.Inject(payment.OutTradeNo(paid.ID), sandbox.Faults{Drop: true})
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(paid.ID)); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			if got, _ := a.Store.Order(ctx, paid.ID); got.Status != order.PendingPayment {
				t.Fatalf("paid without a callback or a query: %s", got.Status)
			}

			a.Clock.Advance(a.Config.PayWindow + time.Minute)
			settle(t, a)
			if got, _ := a.Store.Order(ctx, paid.ID); got.Status != order.Paid {
				t.Fatalf("the order the buyer paid is %s after its window, want paid", got.Status)
			}
			if got, _ := a.Store.Order(ctx, unpaid.ID); got.Status != order.Closed {
				t.Fatalf("the unpaid order is %s after its window, want closed", got.Status)
			}
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(unpaid.ID)); err == nil {
				t.Fatal("the platform still took a payment for a closed order")
			}
			if r := reserved(t, a, sku); r != 0 {
				t.Fatalf("reserved = %d after both orders settled, want 0", r)
			}
			checkLedger(t, a)
		})
	}
}
