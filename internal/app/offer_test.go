package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// offerOrder places a direct buy of one unit of the buyer's first order's
// SKU under an activity's offer at price.
func offerOrder(t *testing.T, a *apptest.App, like *order.Order, price money.Fen, hold bool, payBy time.Time) (*order.Order, error) {
	t.Helper()
	addrs, err := a.Identity.Addresses(context.Background(), like.BuyerID)
	if err != nil || len(addrs) == 0 {
		t.Fatalf("addresses: %v", err)
	}
	sku := like.Lines[0].SKUID
	return a.Orders.Place(context.Background(), order.PlaceInput{
		BuyerID: like.BuyerID, Lines: []order.LineInput{{SKUID: sku, Qty: 1}}, AddressID: addrs[0].ID,
		Offer: &order.Offer{
			Activity: order.Activity{Kind: order.ActivityGroupBuy, ID: ids.New(), Ref: ids.New()},
			Prices:   map[string]money.Fen{sku: price}, Hold: hold, PayBy: payBy,
		},
	})
}

// TestOfferHoldAndAdjust: an activity's order is priced at the offer (the
// pricing pipeline's activity step), closes by the offer's deadline when
// that is sooner than the pay window, cannot ship while held, ships once
// released; a price adjustment refunded on it keeps the sale, and the
// ledger stays sound.
func TestOfferHoldAndAdjust(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, nil)
			seed(t, a)
			ctx := context.Background()
			first, _ := buyerWithOrder(t, a, "offer.1", 1)
			sale := first.Lines[0].SalePrice
			payBy := a.Clock.Now().Add(5 * time.Minute)

			o, err := offerOrder(t, a, first, sale/2, true, payBy)
			if err != nil {
				t.Fatal(err)
			}
			l := o.Lines[0]
			if l.Amount != sale/2 || !o.Held || o.Activity == nil || o.Activity.Kind != order.ActivityGroupBuy || !o.PayBy.Equal(payBy) {
				t.Fatalf("offer order: amount %s held %v activity %+v pay by %s", l.Amount, o.Held, o.Activity, o.PayBy)
			}
			last := l.Adjustments[len(l.Adjustments)-1]
			if last.Step != pricing.StepActivity || last.Ref != o.Activity.ID || last.Amount != sale-sale/2 {
				t.Fatalf("activity adjustment = %+v", last)
			}
			got, err := a.Store.Order(ctx, o.ID)
			if err != nil || got.Activity == nil || *got.Activity != *o.Activity || !got.Held {
				t.Fatalf("stored order: %+v, %v", got, err)
			}

			if _, err := a.Payments.Pay(ctx, o.BuyerID, o.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			if _, err := a.Orders.Ship(ctx, o.ID, order.ShipInput{Carrier: "SF", TrackingNo: "SF1"}); !errs.Is(err, order.ErrHeld.Code) {
				t.Fatalf("shipping a held order: %v; want %s", err, order.ErrHeld.Code)
			}

			// The team ended at a better price: 100 fen back, keyed.
			for range 2 {
				if _, err := a.Refunds.Adjust(ctx, refund.AdjustInput{OrderID: o.ID, Amount: 100, Reason: "better tier", Key: "t:" + o.ID}); err != nil {
					t.Fatal(err)
				}
			}
			settle(t, a)
			page, err := a.Store.Refunds(ctx, refund.RefundFilter{OrderID: o.ID})
			if err != nil || len(page.Refunds) != 1 || page.Refunds[0].State != refund.Succeeded || page.Refunds[0].Source != refund.Adjustment {
				t.Fatalf("adjustments: %+v, %v; want one succeeded", page.Refunds, err)
			}
			if _, err := a.Orders.Release(ctx, o.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Orders.Release(ctx, o.ID); err != nil {
				t.Fatalf("releasing twice: %v", err)
			}
			shipped, err := a.Orders.Ship(ctx, o.ID, order.ShipInput{Carrier: "SF", TrackingNo: "SF1"})
			if err != nil || shipped.Status != order.Shipped || shipped.Held {
				t.Fatalf("ship after release: %+v, %v", shipped, err)
			}
			checkLedger(t, a)

			// The whole goods price adjusted away (a leader's free goods):
			// the order still ships, it is not "refunded".
			free, err := offerOrder(t, a, first, sale, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Payments.Pay(ctx, free.BuyerID, free.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.PaySandbox.PayOrder(payment.OutTradeNo(free.ID)); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			if _, err := a.Refunds.Adjust(ctx, refund.AdjustInput{OrderID: free.ID, Amount: free.Lines[0].Amount, Reason: "leader free", Key: "f:" + free.ID}); err != nil {
				t.Fatal(err)
			}
			settle(t, a)
			if got, _ := a.Store.Order(ctx, free.ID); got.Status != order.Paid {
				t.Fatalf("after adjusting the goods price away the order is %s, want paid", got.Status)
			}
			checkLedger(t, a)
		})
	}
}

// TestFreeOrderIsPaidAtOnce: an order of 0 fen (an offer of 0 with free
// shipping) has nothing for the payment platform to collect: it is paid
// when placed, its stock sold.
func TestFreeOrderIsPaidAtOnce(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			a := apptest.New(t, engine, func(c *config.Config) { c.ShippingFee = 0 })
			seed(t, a)
			first, sku := buyerWithOrder(t, a, "free.1", 1)
			before := reserved(t, a, sku)
			o, err := offerOrder(t, a, first, 0, false, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if o.Total != 0 || o.Status != order.Paid || o.PaidAt == nil {
				t.Fatalf("free order: total %s status %s", o.Total, o.Status)
			}
			if got := reserved(t, a, sku); got != before {
				t.Fatalf("reserved %d after a free order, want %d (sold, not held)", got, before)
			}
			checkLedger(t, a)
		})
	}
}
