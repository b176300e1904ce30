package pricewindow

import (
	"context"
	"encoding/json"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// RegisterConsumers keeps the two price records from events: the catalog's
// product events carry every SKU's prices (catalog.ProductEvent was made for
// this), and order.created names each order placed, whichever way it was
// placed (checkout, an activity, a flash sale's bulk writer). Both records
// are idempotent by construction, so a redelivery, or an old event arriving
// after a newer one, changes nothing.
//
// Events arrive a moment after their change commits. The raise check does
// not wait for them (a sale price above the last record counts as a raise
// made now); the crossed-out price may, for that moment, not yet count the
// newest order.
func (s *Service) RegisterConsumers(d *outbox.Dispatcher) {
	d.On(catalog.TopicProductCreated, s.onProduct)
	d.On(catalog.TopicProductUpdated, s.onProduct)
	d.On(order.TopicCreated, s.onOrderCreated)
}

func (s *Service) onProduct(ctx context.Context, e outbox.Event) error {
	var ev catalog.ProductEvent
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	recs := make([]PriceRecord, len(ev.SKUs))
	for i, sp := range ev.SKUs {
		recs[i] = PriceRecord{SKUID: sp.SKUID, EventID: e.ID, ListPrice: sp.ListPrice, SalePrice: sp.SalePrice, At: e.CreatedAt}
	}
	return s.Store.RecordPrices(ctx, recs)
}

func (s *Service) onOrderCreated(ctx context.Context, e outbox.Event) error {
	var ev order.Event
	if err := json.Unmarshal(e.Payload, &ev); err != nil {
		return err
	}
	o, err := s.Orders.Order(ctx, ev.OrderID)
	if errs.KindOf(err) == errs.NotFound {
		return nil // nothing to record: no such order was stored
	}
	if err != nil {
		return err
	}
	if o.Activity != nil && order.ActivityHoldsStock(o.Activity.Kind) {
		// A presale's deposit order charges a deposit, and its balance
		// order the price less that deposit: neither is a unit price the
		// goods sold at (the presale keeps its own record).
		return nil
	}
	cs := make([]ChargedPrice, 0, len(o.Lines))
	for _, l := range o.Lines {
		cs = append(cs, ChargedPrice{SKUID: l.SKUID, UnitPrice: ChargedUnit(l), FirstAt: o.CreatedAt, LastAt: o.CreatedAt})
	}
	return s.Store.RecordCharged(ctx, cs)
}

// ChargedUnit is the unit price an order line was placed at, as the rule
// counts it: the line's amount with the buyer's own coupons and points
// given back, over its quantity, rounded down (a lower reference is the
// safe side). The shop's prices (sale, limited-time, an activity's offer)
// all count: each is a price the goods were sold at. A coupon or points are
// the buyer's own instruments, different from buyer to buyer; counting them
// would let one new-user coupon erase every crossed-out price of the SKU.
func ChargedUnit(l order.Line) money.Fen {
	amount := l.Amount
	for _, a := range l.Adjustments {
		if a.Step == pricing.StepCoupon || a.Step == pricing.StepPoints {
			amount += a.Amount
		}
	}
	if l.Qty <= 0 {
		return amount
	}
	return amount / money.Fen(l.Qty)
}
