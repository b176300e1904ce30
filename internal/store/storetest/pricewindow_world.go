package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// priceWorld is a shop whose orders are priced with limited-time prices and
// whose catalog changes and orders feed the price records through the
// outbox, as in the app: products are made by the catalog service (so their
// events are written), and orders by the order service.
type priceWorld struct {
	*orderWorld
	pw   *pricewindow.Service
	cat  *catalog.Service
	disp *outbox.Dispatcher
	sku  catalog.SKU // list 12900, sale 9900, 1000 units
}

func newPriceWorld(t *testing.T, open Opener) *priceWorld {
	w := &priceWorld{orderWorld: newOrderWorld(t, open)}
	w.pw = &pricewindow.Service{Store: w.s, Orders: w.s, Clock: w.clock}
	p, err := pricing.New(pricing.Sale{}, pricing.LimitedTime{Prices: w.pw, Clock: w.clock}, pricing.Activity{},
		pricing.Shipping{Fee: 800, FreeOver: 9900})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.Pricing = p
	w.cat = &catalog.Service{Store: w.s, Clock: w.clock, PriceGuard: w.pw}
	w.disp = &outbox.Dispatcher{Store: w.s, Clock: w.clock}
	w.pw.RegisterConsumers(w.disp)
	w.sku = w.newSKU(t, 12900, 9900)
	return w
}

// newSKU puts a one-SKU product on sale through the catalog service, with
// 1000 units, and records its prices.
func (w *priceWorld) newSKU(t testing.TB, list, sale money.Fen) catalog.SKU {
	t.Helper()
	ctx := context.Background()
	p, err := w.cat.CreateProduct(ctx, catalog.NewProduct{CategoryID: w.category, Title: "Longjing", Status: catalog.OnSale,
		SKUs: []catalog.NewSKU{{Specs: []catalog.Spec{{Name: "size", Value: "50g"}}, ListPrice: list, SalePrice: sale}}})
	if err != nil {
		t.Fatalf("CreateProduct: %v", err)
	}
	if _, err := w.s.AdjustStock(ctx, inventory.Movement{ID: ids.New(), SKUID: p.SKUs[0].ID, Location: inventory.Online,
		OnHandDelta: 1000, Reason: inventory.Receive, At: w.clock.Now()}); err != nil {
		t.Fatalf("AdjustStock: %v", err)
	}
	w.drain(t)
	return p.SKUs[0]
}

// drain delivers every event, as the app's dispatcher would.
func (w *priceWorld) drain(t testing.TB) {
	t.Helper()
	for range 100 {
		n, err := w.disp.DeliverOnce(context.Background())
		if err != nil {
			t.Fatalf("DeliverOnce: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox did not drain")
}

// setSale changes a SKU's sale price through the catalog service.
func (w *priceWorld) setSale(sku catalog.SKU, sale money.Fen) error {
	_, err := w.cat.UpdateProduct(context.Background(), sku.ProductID, catalog.ProductPatch{
		SKUs: []catalog.SKUPatch{{ID: sku.ID, SalePrice: &sale}}})
	return err
}

func (w *priceWorld) create(sku catalog.SKU, price money.Fen, start time.Time, length time.Duration) (*pricewindow.Window, error) {
	return w.pw.Create(context.Background(), pricewindow.NewWindow{SKUID: sku.ID, Price: price, StartsAt: start, EndsAt: start.Add(length)})
}

// buy places an order of qty units of sku and returns its line.
func (w *priceWorld) buy(t *testing.T, sku catalog.SKU, qty int) order.Line {
	t.Helper()
	o := w.place(t, ids.New(), order.LineInput{SKUID: sku.ID, Qty: qty})
	return o.Lines[0]
}

// shelf is what a buyer is shown of sku now.
func (w *priceWorld) shelf(t *testing.T, sku catalog.SKU) pricewindow.Shelf {
	t.Helper()
	skus, err := w.s.SKUs(context.Background(), []string{sku.ID})
	failOn(t, err)
	sh, err := w.pw.Shelves(context.Background(), []catalog.SKU{skus[sku.ID].SKU})
	failOn(t, err)
	return sh[sku.ID]
}

func wantShelf(t *testing.T, sh pricewindow.Shelf, price, crossed money.Fen, running bool) {
	t.Helper()
	if sh.Price != price || sh.CrossedOut != crossed || (sh.Running != nil) != running {
		t.Fatalf("shelf = price %d, crossed out %d, running %v; want %d, %d, %v", sh.Price, sh.CrossedOut, sh.Running != nil, price, crossed, running)
	}
}

// testPriceWindowPipeline: an order is priced by the window in force at the
// instant it is priced, and says so in its adjustments.
func testPriceWindowPipeline(t *testing.T, w *priceWorld) {
	start := w.clock.Now().Add(time.Hour)
	pw, err := w.create(w.sku, 7900, start, 2*time.Hour)
	failOn(t, err)
	if l := w.buy(t, w.sku, 2); l.Amount != 19800 {
		t.Fatalf("before the window: %+v", l)
	}
	w.clock.Advance(time.Hour)
	l := w.buy(t, w.sku, 2)
	last := l.Adjustments[len(l.Adjustments)-1]
	if l.Amount != 15800 || last.Step != pricing.StepLimitedTime || last.Ref != pw.ID || last.Amount != 4000 {
		t.Fatalf("in the window: %+v", l)
	}
	w.clock.Advance(2*time.Hour - time.Microsecond)
	if l := w.buy(t, w.sku, 1); l.Amount != 7900 {
		t.Fatalf("at the window's last instant: %+v", l)
	}
	w.clock.Advance(time.Microsecond)
	if l := w.buy(t, w.sku, 1); l.Amount != 9900 {
		t.Fatalf("at its end: %+v", l)
	}
}

// testCrossedOut: the crossed-out price is the list price capped at the
// lowest price real orders were placed at in the 7 days before the
// discount, and none when nobody paid more than the price shown.
func testCrossedOut(t *testing.T, w *priceWorld) {
	// Never sold: no price was ever charged, so nothing may be crossed out.
	wantShelf(t, w.shelf(t, w.sku), 9900, 0, false)
	// Sold at 9900, shown at 9900: nothing to cross out (12900 was never paid).
	w.buy(t, w.sku, 1)
	w.drain(t)
	wantShelf(t, w.shelf(t, w.sku), 9900, 0, false)

	// A window at 7900: 9900 was charged in the 7 days before it.
	w.clock.Advance(24 * time.Hour)
	pw, err := w.create(w.sku, 7900, w.clock.Now().Add(time.Hour), 48*time.Hour)
	failOn(t, err)
	w.clock.Advance(time.Hour)
	wantShelf(t, w.shelf(t, w.sku), 7900, 9900, true)
	// Orders at 7900 in the window do not erase its reference.
	w.buy(t, w.sku, 3)
	w.drain(t)
	wantShelf(t, w.shelf(t, w.sku), 7900, 9900, true)

	// Ended early: the price is 9900 again, and 7900 was charged in the
	// last 7 days, so nothing is crossed out.
	_, err = w.pw.End(context.Background(), pw.ID)
	failOn(t, err)
	wantShelf(t, w.shelf(t, w.sku), 9900, 0, false)

	// A window 8 days on: the 7 days before it hold no order, so nothing
	// is crossed out, whatever the list price says.
	w.clock.Advance(8 * 24 * time.Hour)
	_, err = w.create(w.sku, 8900, w.clock.Now(), time.Hour)
	failOn(t, err)
	wantShelf(t, w.shelf(t, w.sku), 8900, 0, true)

	// A coupon a buyer used does not lower the reference; another SKU's
	// orders do not count.
	other := w.newSKU(t, 20000, 15000)
	d, err := w.svc.Prepare(context.Background(), order.PlaceInput{BuyerID: ids.New(), AddressID: ids.New(),
		Lines: []order.LineInput{{SKUID: other.ID, Qty: 1}}})
	failOn(t, err)
	d.Order.Lines[0].Amount -= 5000 // as a 50-yuan coupon would, recorded on the line
	d.Order.Lines[0].Adjustments = append(d.Order.Lines[0].Adjustments, pricing.Adjustment{Step: pricing.StepCoupon, Amount: 5000, Ref: "c"})
	d.Order.Total -= 5000
	failOn(t, w.s.CreateOrder(context.Background(), d.Order, d.Events, d.Jobs))
	w.drain(t)
	w.clock.Advance(time.Hour)
	_, err = w.create(other, 12000, w.clock.Now(), time.Hour)
	failOn(t, err)
	wantShelf(t, w.shelf(t, other), 12000, 15000, true)
}

// testCrossedOutAfterDrop: a sale price lowered within 7 days is a discount
// that began then: the crossed-out price looks at the 7 days before the drop.
func testCrossedOutAfterDrop(t *testing.T, w *priceWorld) {
	w.buy(t, w.sku, 1) // at 9900
	w.drain(t)
	w.clock.Advance(24 * time.Hour)
	failOn(t, w.setSale(w.sku, 8900))
	w.drain(t)
	wantShelf(t, w.shelf(t, w.sku), 8900, 9900, false)
	w.buy(t, w.sku, 1) // at 8900, after the drop: not counted against it
	w.drain(t)
	w.clock.Advance(6 * 24 * time.Hour)
	wantShelf(t, w.shelf(t, w.sku), 8900, 9900, false)
	// 7 days after the drop, 8900 is the price: the last 7 days count.
	w.clock.Advance(24*time.Hour + time.Second)
	wantShelf(t, w.shelf(t, w.sku), 8900, 0, false)
}

// testRaiseBeforeDiscount: no window starts within 7 days after a rise of
// the sale price, whichever is set first; the refusals name their rule.
func testRaiseBeforeDiscount(t *testing.T, w *priceWorld) {
	ctx := context.Background()
	raisedAt := w.clock.Now()
	failOn(t, w.setSale(w.sku, 10900))
	// Refused before the catalog's event is even recorded...
	if _, err := w.create(w.sku, 7900, w.clock.Now().Add(time.Hour), time.Hour); !errs.Is(err, pricewindow.ErrRecentRaise.Code) {
		t.Fatalf("window after an unrecorded raise: %v", err)
	}
	// ...and after.
	w.drain(t)
	if _, err := w.create(w.sku, 7900, w.clock.Now().Add(time.Hour), time.Hour); !errs.Is(err, pricewindow.ErrRecentRaise.Code) {
		t.Fatalf("window after a recorded raise: %v", err)
	}
	// A start 7 days after the raise is fine, set today.
	if _, err := w.create(w.sku, 7900, raisedAt.Add(7*24*time.Hour), time.Hour); err != nil {
		t.Fatalf("window 7 days after the raise: %v", err)
	}

	// The other way round: a window starting within 7 days blocks a raise
	// (naming the SKU's field), not a cut; once it is deleted, the raise
	// goes through.
	other := w.newSKU(t, 12900, 9900)
	pw, err := w.create(other, 7900, w.clock.Now().Add(3*24*time.Hour), time.Hour)
	failOn(t, err)
	err = w.setSale(other, 9901)
	if e, ok := errs.As(err); !ok || e.Code != pricewindow.ErrRaiseBeforeDiscount.Code || e.Field != "skus[0].sale_price" {
		t.Fatalf("raise before a window: %v", err)
	}
	failOn(t, w.setSale(other, 9800))
	failOn(t, w.pw.Delete(ctx, pw.ID))
	failOn(t, w.setSale(other, 9901))
}

// testRaceRaise: a raise of the sale price and a new window racing: never
// both, whichever the engine lets in first.
func testRaceRaise(t *testing.T, w *priceWorld) {
	for round := range 8 {
		sku := w.newSKU(t, 12900, 9900)
		results := concurrently(2, func(i int) error {
			if i == 0 {
				return w.setSale(sku, 10900)
			}
			_, err := w.create(sku, 7900, w.clock.Now().Add(time.Hour), time.Hour)
			return err
		})
		raised, created := results[0] == nil, results[1] == nil
		if raised == created {
			t.Fatalf("round %d: raise %v, window %v: want exactly one", round, results[0], results[1])
		}
		for _, err := range results {
			if e, ok := errs.As(err); err != nil && (!ok || (e.Code != pricewindow.ErrRecentRaise.Code && e.Code != pricewindow.ErrRaiseBeforeDiscount.Code)) {
				t.Fatal(fmt.Errorf("round %d: %w", round, err))
			}
		}
	}
}
