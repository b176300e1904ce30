package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// TestLimitedTimeInTheApp: the app's pipeline prices a limited-time price
// by the app's clock; an activity's offer wins only when it is lower (a
// buyer never pays more for joining); a limited-time order pays and keeps
// the ledger sound.
func TestLimitedTimeInTheApp(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, nil)
			seed(t, a)
			a.Drain(t)
			ctx := context.Background()
			first, _ := buyerWithOrder(t, a, "window.1", 1)
			sku, sale := first.Lines[0].SKUID, first.Lines[0].SalePrice
			limited := sale - 200
			pw, err := a.PriceWindows.Create(ctx, pricewindow.NewWindow{SKUID: sku, Price: limited,
				StartsAt: a.Clock.Now().Add(time.Minute), EndsAt: a.Clock.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			// Not yet: the app's clock decides.
			if o, err := offerOrder(t, a, first, sale-100, false, time.Time{}); err != nil || o.Lines[0].Amount != sale-100 {
				t.Fatalf("before the window: %+v, %v", o, err)
			}
			a.Clock.Advance(time.Minute)

			// An offer above the limited-time price takes nothing.
			atLimited, err := offerOrder(t, a, first, sale-100, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			last := atLimited.Lines[0].Adjustments[len(atLimited.Lines[0].Adjustments)-1]
			if atLimited.Lines[0].Amount != limited || last.Step != pricing.StepLimitedTime || last.Ref != pw.ID {
				t.Fatalf("offer above the window: %+v", atLimited.Lines[0])
			}
			// An offer below it wins: the activity takes the line down to it.
			o, err := offerOrder(t, a, first, sale/2, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			adj := o.Lines[0].Adjustments
			if o.Lines[0].Amount != sale/2 || adj[len(adj)-1].Step != pricing.StepActivity || adj[len(adj)-2].Step != pricing.StepLimitedTime {
				t.Fatalf("offer below the window: %+v", o.Lines[0])
			}

			// The order at the limited-time price pays, and the ledger holds.
			if _, err := a.Payments.Pay(ctx, atLimited.BuyerID, atLimited.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(atLimited.ID)); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			a.Drain(t)
			if breaches, err := a.Store.CheckLedger(ctx); err != nil || len(breaches) > 0 {
				t.Fatalf("ledger: %+v, %v", breaches, err)
			}
		})
	}
}
