package app_test

import (
	"context"
	"testing"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/refund"
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
