package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

func init() { register("order", testOrder) }

// The order tests prove invariant 4 (sold + reserved <= stock, always) and
// invariant 2 (order states only move forward) against real engines, with
// the order service on top, under real concurrency.
func testOrder(t *testing.T, open Opener) {
	t.Run("place", func(t *testing.T) { testOrderPlace(t, newOrderWorld(t, open)) })
	t.Run("out_of_stock", func(t *testing.T) { testOrderOutOfStock(t, newOrderWorld(t, open)) })
	t.Run("cart_checkout", func(t *testing.T) { testOrderCartCheckout(t, newOrderWorld(t, open)) })
	t.Run("transitions", func(t *testing.T) { testOrderTransitions(t, newOrderWorld(t, open)) })
	t.Run("update_contract", func(t *testing.T) { testOrderUpdateContract(t, newOrderWorld(t, open)) })
	t.Run("race_oversell", func(t *testing.T) { testOrderRaceOversell(t, newOrderWorld(t, open)) })
	t.Run("race_close_vs_paid", func(t *testing.T) { testOrderRaceCloseVsPaid(t, newOrderWorld(t, open)) })
	t.Run("race_cancel", func(t *testing.T) { testOrderRaceCancel(t, newOrderWorld(t, open)) })
	t.Run("close_job", func(t *testing.T) { testOrderCloseJob(t, newOrderWorld(t, open)) })
	t.Run("list", func(t *testing.T) { testOrderList(t, newOrderWorld(t, open)) })
}

func testOrderPlace(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	a := w.sku(t, "Oolong", skuFixture{Spec: "250g", List: 2000, Sale: 1500, Stock: 10})
	b := w.sku(t, "Cup", skuFixture{Spec: "white", List: 1200, Sale: 1200, Stock: 10})
	c := w.sku(t, "Pot", skuFixture{Spec: "clay", List: 3000, Sale: 2500, Stock: 10})
	buyer := ids.New()
	o := w.place(t, buyer, order.LineInput{SKUID: a.ID, Qty: 2}, order.LineInput{SKUID: b.ID, Qty: 1}, order.LineInput{SKUID: c.ID, Qty: 1})

	t.Run("amounts add up", func(t *testing.T) {
		var sum money.Fen
		for _, l := range o.Lines {
			sum += l.Amount
		}
		if sum+o.Shipping != o.Total || o.Subtotal-sum != o.Discount {
			t.Errorf("lines %s + shipping %s != total %s, or subtotal %s - lines != discount %s", sum, o.Shipping, o.Total, o.Subtotal, o.Discount)
		}
		want := struct{ sub, disc, ship, total money.Fen }{8200, 1500, 800, 7500}
		if got := (struct{ sub, disc, ship, total money.Fen }{o.Subtotal, o.Discount, o.Shipping, o.Total}); got != want {
			t.Errorf("amounts = %+v; want %+v", got, want)
		}
	})
	t.Run("round trip", func(t *testing.T) {
		got, err := w.s.Order(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, o) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(o)
			t.Errorf("Order read back differs:\n got %s\nwant %s", gj, wj)
		}
		if got.ShipTo != orderShipTo {
			t.Errorf("ShipTo = %+v; want %+v", got.ShipTo, orderShipTo)
		}
	})
	t.Run("stock reserved and journalled", func(t *testing.T) {
		for _, c := range []struct {
			sku string
			qty int64
		}{{a.ID, 2}, {b.ID, 1}, {c.ID, 1}} {
			w.wantLevel(t, c.sku, 10, c.qty)
			ms := w.movements(t, c.sku, o.ID)
			if len(ms) != 1 || ms[0].Reason != inventory.Reserve || ms[0].ReservedDelta != c.qty || ms[0].OnHandDelta != 0 ||
				ms[0].Location != inventory.Online || !ms[0].At.Equal(orderT0) {
				t.Errorf("journal of %s for the order = %+v; want one reserve of %d", c.sku, ms, c.qty)
			}
		}
	})
	t.Run("event", func(t *testing.T) {
		if got := w.topics(t, o.ID); !reflect.DeepEqual(got, map[string]int{order.TopicCreated: 1}) {
			t.Errorf("events = %v; want one %s", got, order.TopicCreated)
		}
	})
	t.Run("close job at pay_by", func(t *testing.T) {
		if js := w.jobsDue(t, o.ID, o.PayBy.Add(-time.Second)); len(js) != 0 {
			t.Errorf("jobs due before pay_by: %+v", js)
		}
		js := w.jobsDue(t, o.ID, o.PayBy)
		if len(js) != 1 || js[0].Kind != order.JobCloseUnpaid || !js[0].RunAt.Equal(o.PayBy) {
			t.Fatalf("jobs due at pay_by = %+v; want one %s", js, order.JobCloseUnpaid)
		}
		if !o.PayBy.Equal(orderT0.Add(order.DefaultConfig.PayWindow)) {
			t.Errorf("pay_by = %v; want %v", o.PayBy, orderT0.Add(order.DefaultConfig.PayWindow))
		}
	})
	t.Run("invalid lines", func(t *testing.T) {
		for _, in := range [][]order.LineInput{
			{{SKUID: a.ID, Qty: 0}},
			{{SKUID: a.ID, Qty: -3}},
			{{SKUID: a.ID, Qty: cart.MaxQty + 1}},
			{{SKUID: a.ID, Qty: 1}, {SKUID: a.ID, Qty: 1}},
		} {
			_, err := w.svc.Place(ctx, order.PlaceInput{BuyerID: buyer, Lines: in})
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("Place(%+v) err = %v; want invalid", in, err)
			}
		}
		w.wantLevel(t, a.ID, 10, 2)
	})
}

func testOrderOutOfStock(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	skus := w.product(t, "Matcha", skuFixture{Spec: "S", List: 900, Sale: 900, Stock: 5}, skuFixture{Spec: "L", List: 1500, Sale: 1500, Stock: 1})
	plenty, short := skus[0], skus[1]
	buyer := ids.New()

	t.Run("service", func(t *testing.T) {
		_, err := w.svc.Place(ctx, order.PlaceInput{BuyerID: buyer, AddressID: ids.New(),
			Lines: []order.LineInput{{SKUID: plenty.ID, Qty: 2}, {SKUID: short.ID, Qty: 2}}})
		if e := wantErrCode(t, err, "out_of_stock"); e.Kind != errs.Conflict || e.Field != "lines["+short.ID+"]" {
			t.Errorf("err = %+v; want a conflict naming lines[%s]", e, short.ID)
		}
	})
	// The service checks availability first; the store's own check is what
	// holds when two buyers pass that check together, so test it directly.
	t.Run("store", func(t *testing.T) {
		now := w.clock.Now()
		o := &order.Order{
			ID: ids.New(), BuyerID: buyer, Status: order.PendingPayment, ShipTo: orderShipTo,
			Lines: []order.Line{
				{ID: ids.New(), SKUID: plenty.ID, ProductID: plenty.ProductID, Title: "Matcha", Qty: 2, ListPrice: 900, SalePrice: 900, Amount: 1800},
				{ID: ids.New(), SKUID: short.ID, ProductID: short.ProductID, Title: "Matcha", Qty: 2, ListPrice: 1500, SalePrice: 1500, Amount: 3000},
			},
			Subtotal: 4800, Shipping: 800, Total: 5600, PayBy: now.Add(time.Minute), CreatedAt: now, UpdatedAt: now,
		}
		ev := []outbox.Event{outbox.New(order.TopicCreated, o.ID, map[string]string{"order_id": o.ID}, now)}
		js := []jobs.Job{jobs.New(order.JobCloseUnpaid, o.ID, o.PayBy, map[string]string{"order_id": o.ID})}
		err := w.s.CreateOrder(ctx, o, ev, js)
		if e := wantErrCode(t, err, "out_of_stock"); e.Field != short.ID {
			t.Errorf("err names %q; want SKU %s", e.Field, short.ID)
		}
		if _, err := w.s.Order(ctx, o.ID); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Order after a failed create: err = %v; want order_not_found", err)
		}
		if got := w.topics(t, o.ID); len(got) != 0 {
			t.Errorf("events of a failed create: %v", got)
		}
		if got := w.jobsDue(t, o.ID, o.PayBy.Add(time.Hour)); len(got) != 0 {
			t.Errorf("jobs of a failed create: %+v", got)
		}
		for _, sku := range []string{plenty.ID, short.ID} {
			if ms := w.movements(t, sku, o.ID); len(ms) != 0 {
				t.Errorf("journal of %s holds %+v after a failed create", sku, ms)
			}
		}
	})
	w.wantLevel(t, plenty.ID, 5, 0)
	w.wantLevel(t, short.ID, 1, 0)
	page, err := w.s.Orders(ctx, order.ListFilter{})
	if err != nil || len(page.Orders) != 0 {
		t.Errorf("Orders after failed creates = %d orders, %v; want none", len(page.Orders), err)
	}
}

func testOrderCartCheckout(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	skus := w.product(t, "Jasmine", skuFixture{Spec: "50g", List: 1000, Sale: 800, Stock: 10},
		skuFixture{Spec: "100g", List: 1800, Sale: 1500, Stock: 10}, skuFixture{Spec: "200g", List: 3200, Sale: 2800, Stock: 10})
	buyer := ids.New()
	for i, sku := range skus {
		if err := w.s.PutCartLine(ctx, buyer, cart.Line{SKUID: sku.ID, Qty: i + 1, SeenPrice: sku.SalePrice, AddedAt: w.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	cartSKUs := func(t *testing.T) map[string]cart.Line {
		t.Helper()
		ls, err := w.s.CartLines(ctx, buyer)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]cart.Line{}
		for _, l := range ls {
			out[l.SKUID] = l
		}
		return out
	}

	o, err := w.svc.Place(ctx, order.PlaceInput{BuyerID: buyer, FromCart: true, SKUIDs: []string{skus[0].ID, skus[1].ID}, AddressID: ids.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Lines) != 2 || !o.FromCart {
		t.Fatalf("order = %+v; want the two chosen lines, from the cart", o)
	}
	left := cartSKUs(t)
	if _, ok := left[skus[2].ID]; len(left) != 1 || !ok {
		t.Errorf("cart after checkout = %v; want only %s", left, skus[2].ID)
	}
	w.wantLevel(t, skus[0].ID, 10, 1)
	w.wantLevel(t, skus[1].ID, 10, 2)

	// The shop raises the price of the line still in the cart.
	if _, err := w.s.UpdateProduct(ctx, skus[2].ProductID, func(p *catalog.Product) ([]outbox.Event, error) {
		for i := range p.SKUs {
			if p.SKUs[i].ID == skus[2].ID {
				p.SKUs[i].SalePrice = 2900
			}
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Place(ctx, order.PlaceInput{BuyerID: buyer, FromCart: true, AddressID: ids.New()})
	if e := wantErrCode(t, err, "price_changed"); e.Field != "lines["+skus[2].ID+"]" {
		t.Errorf("price_changed names %q; want lines[%s]", e.Field, skus[2].ID)
	}
	if l := cartSKUs(t)[skus[2].ID]; l.SeenPrice != 2900 || l.Qty != 3 {
		t.Errorf("cart line after the refusal = %+v; want seen price 29.00, qty 3", l)
	}
	w.wantLevel(t, skus[2].ID, 10, 0)

	o2, err := w.svc.Place(ctx, order.PlaceInput{BuyerID: buyer, FromCart: true, AddressID: ids.New()})
	if err != nil {
		t.Fatalf("second checkout: %v", err)
	}
	if len(o2.Lines) != 1 || o2.Lines[0].SalePrice != 2900 || o2.Lines[0].Amount != 8700 {
		t.Errorf("second checkout lines = %+v; want 3 x 29.00", o2.Lines)
	}
	if left := cartSKUs(t); len(left) != 0 {
		t.Errorf("cart after the second checkout = %v; want empty", left)
	}
	if _, err := w.svc.Place(ctx, order.PlaceInput{BuyerID: buyer, FromCart: true}); !errs.Is(err, "cart_empty") {
		t.Errorf("checkout of an empty cart: err = %v; want cart_empty", err)
	}
}

func testOrderTransitions(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Pu-erh", skuFixture{Spec: "cake", List: 5000, Sale: 4500, Stock: 20})
	buyer := ids.New()
	onHand := int64(20)

	t.Run("cancel releases", func(t *testing.T) {
		o := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 3})
		w.wantLevel(t, sku.ID, onHand, 3)
		if _, err := w.svc.Cancel(ctx, ids.New(), o.ID); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Cancel by another buyer: err = %v; want order_not_found", err)
		}
		w.clock.Advance(time.Minute)
		got, err := w.svc.Cancel(ctx, buyer, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != order.Cancelled || got.EndedAt == nil || !got.EndedAt.Equal(w.clock.Now()) || got.EndReason == "" {
			t.Errorf("cancelled order = %+v", got)
		}
		w.wantLevel(t, sku.ID, onHand, 0)

		again, err := w.svc.Cancel(ctx, buyer, o.ID)
		if err != nil || again.Status != order.Cancelled {
			t.Errorf("second Cancel = %v, %v; want the cancelled order, no error", again, err)
		}
		w.wantLevel(t, sku.ID, onHand, 0)
		if got := w.topics(t, o.ID); !reflect.DeepEqual(got, map[string]int{order.TopicCreated: 1, order.TopicCancelled: 1}) {
			t.Errorf("events = %v", got)
		}
		ms := w.movements(t, sku.ID, o.ID)
		if len(ms) != 2 || ms[0].Reason != inventory.Release || ms[0].ReservedDelta != -3 || ms[0].OnHandDelta != 0 {
			t.Errorf("journal = %+v; want the reserve then one release of 3", ms)
		}
		read, err := w.s.Order(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(read, got) {
			t.Errorf("Order = %+v, %v; want %+v", read, err, got)
		}
	})
	t.Run("close releases", func(t *testing.T) {
		o := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 2})
		got, err := w.svc.Close(ctx, o.ID, "closed by operator")
		if err != nil || got.Status != order.Closed || got.EndReason != "closed by operator" {
			t.Fatalf("Close = %+v, %v", got, err)
		}
		w.wantLevel(t, sku.ID, onHand, 0)
		if got := w.topics(t, o.ID); got[order.TopicClosed] != 1 {
			t.Errorf("events = %v; want one %s", got, order.TopicClosed)
		}
		t.Run("closed cannot be paid", func(t *testing.T) {
			_, err := markPaid(ctx, w.svc, o.ID, w.clock.Now())
			if e := wantErrCode(t, err, "invalid_state"); e.Kind != errs.Conflict {
				t.Errorf("kind = %v; want conflict", e.Kind)
			}
			w.wantLevel(t, sku.ID, onHand, 0)
			if got := w.topics(t, o.ID); got[order.TopicPaid] != 0 {
				t.Errorf("events = %v; a refused payment wrote one", got)
			}
		})
	})
	t.Run("paid commits, then ships and completes", func(t *testing.T) {
		o := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 4})
		paidAt := w.clock.Now().Add(30 * time.Second)
		w.clock.Advance(time.Minute)
		got, err := markPaid(ctx, w.svc, o.ID, paidAt)
		if err != nil || got.Status != order.Paid || got.PaidAt == nil || !got.PaidAt.Equal(paidAt) {
			t.Fatalf("MarkPaid = %+v, %v", got, err)
		}
		onHand -= 4
		w.wantLevel(t, sku.ID, onHand, 0)
		ms := w.movements(t, sku.ID, o.ID)
		if len(ms) != 2 || ms[0].Reason != inventory.Commit || ms[0].OnHandDelta != -4 || ms[0].ReservedDelta != -4 {
			t.Errorf("journal = %+v; want the reserve then one commit of 4", ms)
		}
		if again, err := markPaid(ctx, w.svc, o.ID, paidAt); err != nil || again.Status != order.Paid {
			t.Errorf("second MarkPaid = %v, %v; want a no-op", again, err)
		}
		w.wantLevel(t, sku.ID, onHand, 0)
		if _, err := w.svc.Cancel(ctx, buyer, o.ID); !errs.Is(err, "invalid_state") {
			t.Errorf("Cancel of a paid order: err = %v; want invalid_state", err)
		}
		if _, err := w.svc.Close(ctx, o.ID, "late"); !errs.Is(err, "invalid_state") {
			t.Errorf("Close of a paid order: err = %v; want invalid_state", err)
		}
		w.wantLevel(t, sku.ID, onHand, 0)

		shipped, err := w.svc.Ship(ctx, o.ID, order.ShipInput{Carrier: "SF", TrackingNo: "SF1234567890"})
		if err != nil || shipped.Status != order.Shipped || shipped.TrackingNo != "SF1234567890" || shipped.ShippedAt == nil {
			t.Fatalf("Ship = %+v, %v", shipped, err)
		}
		var confirm []jobs.Job
		for _, j := range w.jobsDue(t, o.ID, shipped.ShippedAt.Add(order.DefaultConfig.AutoConfirm)) {
			if j.Kind == order.JobConfirmReceipt {
				confirm = append(confirm, j)
			}
		}
		if len(confirm) != 1 || !confirm[0].RunAt.Equal(shipped.ShippedAt.Add(order.DefaultConfig.AutoConfirm)) {
			t.Errorf("confirm-receipt jobs = %+v; want one, due 7 days after shipping", confirm)
		}
		if _, err := w.svc.MarkDelivered(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		done, err := w.svc.ConfirmReceipt(ctx, buyer, o.ID)
		if err != nil || done.Status != order.Completed || done.CompletedAt == nil {
			t.Fatalf("ConfirmReceipt = %+v, %v", done, err)
		}
		if _, err := w.svc.Ship(ctx, o.ID, order.ShipInput{}); !errs.Is(err, "invalid_state") {
			t.Errorf("Ship of a completed order: err = %v; want invalid_state", err)
		}
		want := map[string]int{order.TopicCreated: 1, order.TopicPaid: 1, order.TopicShipped: 1, order.TopicDelivered: 1, order.TopicCompleted: 1}
		if got := w.topics(t, o.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("events = %v; want %v", got, want)
		}
		w.wantLevel(t, sku.ID, onHand, 0)
	})
}

// testOrderUpdateContract holds the store to UpdateOrder's promises about
// what fn's errors write: nothing.
func testOrderUpdateContract(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Longjing", skuFixture{Spec: "tin", List: 8000, Sale: 8000, Stock: 3})
	o := w.place(t, ids.New(), order.LineInput{SKUID: sku.ID, Qty: 1})

	got, err := w.s.UpdateOrder(ctx, o.ID, func(o *order.Order) (order.Change, error) {
		o.Remark = "scribbled"
		return order.Change{Stock: order.StockRelease}, order.ErrNoop
	})
	if err != nil || got.Remark != "" || got.Status != order.PendingPayment {
		t.Errorf("UpdateOrder with ErrNoop = %+v, %v; want the order unchanged, no error", got, err)
	}
	boom := errors.New("boom")
	_, err = w.s.UpdateOrder(ctx, o.ID, func(o *order.Order) (order.Change, error) {
		o.Status = order.Closed
		return order.Change{Stock: order.StockRelease, Events: []outbox.Event{outbox.New("test.boom", o.ID, nil, orderT0)}}, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateOrder with a failing fn: err = %v; want boom", err)
	}
	read, err := w.s.Order(ctx, o.ID)
	if err != nil || read.Status != order.PendingPayment || read.Remark != "" {
		t.Errorf("Order after refused updates = %+v, %v; want it untouched", read, err)
	}
	w.wantLevel(t, sku.ID, 3, 1)
	if got := w.topics(t, o.ID); !reflect.DeepEqual(got, map[string]int{order.TopicCreated: 1}) {
		t.Errorf("events = %v; refused updates wrote some", got)
	}

	for _, id := range []string{"", "42", "not-a-uuid", "'; DROP TABLE orders; --", ids.New()} {
		if _, err := w.s.Order(ctx, id); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("Order(%q): err = %v; want order_not_found", id, err)
		}
		_, err := w.s.UpdateOrder(ctx, id, func(*order.Order) (order.Change, error) {
			t.Errorf("UpdateOrder(%q) called fn", id)
			return order.Change{}, nil
		})
		if !errors.Is(err, order.ErrNotFound) {
			t.Errorf("UpdateOrder(%q): err = %v; want order_not_found", id, err)
		}
	}
}

// testOrderRaceOversell is the flash sale: far more buyers than units, all
// at once. Invariant 4 must hold exactly.
func testOrderRaceOversell(t *testing.T, w *orderWorld) {
	const stock, buyers = 50, 200
	ctx := context.Background()
	sku := w.sku(t, "Da Hong Pao", skuFixture{Spec: "gift box", List: 19900, Sale: 9900, Stock: stock})

	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		placed []string
		other  []error
	)
	for range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o, err := w.svc.Place(ctx, order.PlaceInput{BuyerID: ids.New(), AddressID: ids.New(),
				Lines: []order.LineInput{{SKUID: sku.ID, Qty: 1}}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				placed = append(placed, o.ID)
			case !errs.Is(err, "out_of_stock"):
				other = append(other, err)
			}
		}()
	}
	close(start)
	wg.Wait()

	if len(other) > 0 {
		t.Errorf("%d orders failed other than out of stock; first: %v", len(other), other[0])
	}
	if len(placed) != stock {
		t.Errorf("%d orders placed; want exactly %d", len(placed), stock)
	}
	w.wantLevel(t, sku.ID, stock, stock)
	if listed, _ := listOrders(t, w.s, order.ListFilter{Limit: 100}); len(listed) != len(placed) {
		t.Errorf("%d orders stored; %d were reported placed", len(listed), len(placed))
	}
	ms, err := w.s.Journal(ctx, sku.ID, inventory.MaxJournal)
	if err != nil {
		t.Fatal(err)
	}
	var reserved int64
	for _, m := range ms {
		if m.Reason == inventory.Reserve {
			reserved += m.ReservedDelta
		}
	}
	if reserved != stock {
		t.Errorf("journal reserves %d units; want %d", reserved, stock)
	}
}

// testOrderRaceCloseVsPaid races the close-unpaid job against the payment
// callback: one of them wins, and the stock says which.
func testOrderRaceCloseVsPaid(t *testing.T, w *orderWorld) {
	const rounds = 8
	ctx := context.Background()
	sku := w.sku(t, "Tieguanyin", skuFixture{Spec: "500g", List: 6000, Sale: 5500, Stock: rounds})
	paid := 0
	for round := range rounds {
		o := w.place(t, ids.New(), order.LineInput{SKUID: sku.ID, Qty: 1})
		var (
			wg               sync.WaitGroup
			start            = make(chan struct{})
			closeErr, payErr error
		)
		wg.Add(2)
		go func() { defer wg.Done(); <-start; _, closeErr = w.svc.Close(ctx, o.ID, "unpaid in time") }()
		go func() { defer wg.Done(); <-start; _, payErr = markPaid(ctx, w.svc, o.ID, w.clock.Now()) }()
		close(start)
		wg.Wait()

		got, err := w.s.Order(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		topics := w.topics(t, o.ID)
		switch {
		case closeErr == nil && errs.Is(payErr, "invalid_state"):
			if got.Status != order.Closed || topics[order.TopicClosed] != 1 || topics[order.TopicPaid] != 0 {
				t.Errorf("round %d: close won but order is %s with events %v", round, got.Status, topics)
			}
		case payErr == nil && errs.Is(closeErr, "invalid_state"):
			paid++
			if got.Status != order.Paid || topics[order.TopicPaid] != 1 || topics[order.TopicClosed] != 0 {
				t.Errorf("round %d: payment won but order is %s with events %v", round, got.Status, topics)
			}
		default:
			t.Errorf("round %d: close err %v, pay err %v; want exactly one to win", round, closeErr, payErr)
		}
		// Released xor committed: nothing stays reserved, and on hand is
		// down by exactly the orders paid.
		w.wantLevel(t, sku.ID, int64(rounds-paid), 0)
	}
}

func testOrderRaceCancel(t *testing.T, w *orderWorld) {
	const cancellers = 20
	ctx := context.Background()
	sku := w.sku(t, "Baihao", skuFixture{Spec: "tin", List: 4000, Sale: 4000, Stock: 10})
	buyer := ids.New()
	o := w.place(t, buyer, order.LineInput{SKUID: sku.ID, Qty: 3})

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errc  = make(chan error, cancellers)
	)
	for range cancellers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got, err := w.svc.Cancel(ctx, buyer, o.ID)
			if err == nil && got.Status != order.Cancelled {
				err = fmt.Errorf("Cancel returned a %s order", got.Status)
			}
			errc <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("Cancel: %v", err)
		}
	}
	w.wantLevel(t, sku.ID, 10, 0)
	var releases int
	for _, m := range w.movements(t, sku.ID, o.ID) {
		if m.Reason == inventory.Release {
			releases++
		}
	}
	if releases != 1 {
		t.Errorf("%d releases journalled; want exactly 1", releases)
	}
	if got := w.topics(t, o.ID); got[order.TopicCancelled] != 1 {
		t.Errorf("events = %v; want exactly one %s", got, order.TopicCancelled)
	}
}

// testOrderCloseJob runs the close-unpaid job through the job runner over
// the engine's queue, as production does.
func testOrderCloseJob(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Yunnan Red", skuFixture{Spec: "bag", List: 2500, Sale: 2500, Stock: 10})
	r := &jobs.Runner{Store: w.s, Clock: w.clock, Log: slog.New(slog.DiscardHandler), Owner: "test-runner"}
	w.svc.RegisterJobs(r)

	unpaid := w.place(t, ids.New(), order.LineInput{SKUID: sku.ID, Qty: 2})
	paid := w.place(t, ids.New(), order.LineInput{SKUID: sku.ID, Qty: 3})
	if _, err := markPaid(ctx, w.svc, paid.ID, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	w.wantLevel(t, sku.ID, 7, 2)

	if n, err := r.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("RunOnce before pay_by ran %d jobs, err %v; want none", n, err)
	}
	w.clock.Advance(order.DefaultConfig.PayWindow)
	if n, err := r.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("RunOnce at pay_by ran %d jobs, err %v; want both close jobs", n, err)
	}
	got, err := w.s.Order(ctx, unpaid.ID)
	if err != nil || got.Status != order.Closed {
		t.Errorf("unpaid order after its close job = %+v, %v; want closed", got, err)
	}
	if got, err := w.s.Order(ctx, paid.ID); err != nil || got.Status != order.Paid {
		t.Errorf("paid order after its close job = %+v, %v; want still paid", got, err)
	}
	w.wantLevel(t, sku.ID, 7, 0)
	if got := w.topics(t, unpaid.ID); got[order.TopicClosed] != 1 {
		t.Errorf("events = %v; want one %s", got, order.TopicClosed)
	}
	// Both jobs finished: a paid order's close job has nothing to do, which
	// is success, not a failure to retry.
	if js := w.jobsDue(t, unpaid.ID, w.clock.Now().AddDate(1, 0, 0)); len(js) != 0 {
		t.Errorf("jobs left for the closed order: %+v", js)
	}
	if js := w.jobsDue(t, paid.ID, w.clock.Now().AddDate(1, 0, 0)); len(js) != 0 {
		t.Errorf("jobs left for the paid order: %+v", js)
	}
}

func testOrderList(t *testing.T, w *orderWorld) {
	ctx := context.Background()
	sku := w.sku(t, "Keemun", skuFixture{Spec: "tin", List: 3000, Sale: 3000, Stock: 100})
	alice, bob := ids.New(), ids.New()
	var aliceOrders []*order.Order // oldest first
	for i := range 5 {
		aliceOrders = append(aliceOrders, w.place(t, alice, order.LineInput{SKUID: sku.ID, Qty: i + 1}))
		w.place(t, bob, order.LineInput{SKUID: sku.ID, Qty: 1})
		w.clock.Advance(time.Minute)
	}
	// Two orders in the same microsecond: the id breaks the tie, so paging
	// neither skips nor repeats one of them.
	aliceOrders = append(aliceOrders, w.place(t, alice, order.LineInput{SKUID: sku.ID, Qty: 1}))
	aliceOrders = append(aliceOrders, w.place(t, alice, order.LineInput{SKUID: sku.ID, Qty: 1}))

	t.Run("newest first across pages", func(t *testing.T) {
		// Page sizes 1 and 2 put a page boundary between the two orders
		// of the same microsecond, one way or the other.
		for _, limit := range []int{1, 2, 100} {
			got, pages := listOrders(t, w.s, order.ListFilter{BuyerID: alice, Limit: limit})
			if want := (len(aliceOrders) + limit - 1) / limit; len(got) != len(aliceOrders) || pages != want {
				t.Fatalf("limit %d: listed %d orders in %d pages; want %d in %d", limit, len(got), pages, len(aliceOrders), want)
			}
			for i := range got {
				if want := aliceOrders[len(aliceOrders)-1-i]; i < len(aliceOrders)-2 && got[i].ID != want.ID {
					t.Errorf("limit %d: order %d listed is %s; want %s", limit, i, got[i].ID, want.ID)
				}
				if i > 0 {
					prev, cur := got[i-1], got[i]
					if cur.CreatedAt.After(prev.CreatedAt) || (cur.CreatedAt.Equal(prev.CreatedAt) && cur.ID >= prev.ID) {
						t.Errorf("limit %d: order %d (%v %s) listed after %v %s: not newest first", limit, i, cur.CreatedAt, cur.ID, prev.CreatedAt, prev.ID)
					}
				}
				if got[i].BuyerID != alice {
					t.Errorf("listed another buyer's order %s", got[i].ID)
				}
				if len(got[i].Lines) != 1 || got[i].ShipTo != orderShipTo {
					t.Errorf("listed order %s has %d lines, ship-to %+v; want its line and address", got[i].ID, len(got[i].Lines), got[i].ShipTo)
				}
			}
			if oldest := got[len(got)-1]; !reflect.DeepEqual(oldest, *aliceOrders[0]) {
				t.Errorf("last listed = %+v; want the first order as placed %+v", oldest, *aliceOrders[0])
			}
		}
	})
	t.Run("filters", func(t *testing.T) {
		page, err := w.s.Orders(ctx, order.ListFilter{BuyerID: bob})
		if err != nil || len(page.Orders) != 5 || page.NextCursor != "" {
			t.Errorf("bob's orders: %d, cursor %q, %v; want 5 on one page", len(page.Orders), page.NextCursor, err)
		}
		if _, err := w.svc.Cancel(ctx, alice, aliceOrders[2].ID); err != nil {
			t.Fatal(err)
		}
		page, err = w.s.Orders(ctx, order.ListFilter{BuyerID: alice, Status: order.Cancelled})
		if err != nil || len(page.Orders) != 1 || page.Orders[0].ID != aliceOrders[2].ID {
			t.Errorf("alice's cancelled orders = %+v, %v; want the one", page.Orders, err)
		}
		page, err = w.s.Orders(ctx, order.ListFilter{Status: order.PendingPayment, Limit: 1000})
		if err != nil || len(page.Orders) != 11 || page.NextCursor != "" {
			t.Errorf("pending orders: %d, cursor %q, %v; want all 11 on one page (a limit over 100 is 100)", len(page.Orders), page.NextCursor, err)
		}
		page, err = w.s.Orders(ctx, order.ListFilter{})
		if err != nil || len(page.Orders) != 12 {
			t.Errorf("all orders: %d, %v; want 12 on the default page of 20", len(page.Orders), err)
		}
		page, err = w.s.Orders(ctx, order.ListFilter{BuyerID: "not-a-uuid"})
		if err != nil || len(page.Orders) != 0 {
			t.Errorf("orders of a malformed buyer id: %d, %v; want none, no error", len(page.Orders), err)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"???", "bm9wZQ", "eyJpZCI6MX0"} {
			if _, err := w.s.Orders(ctx, order.ListFilter{Cursor: c}); !errs.Is(err, "invalid_cursor") {
				t.Errorf("Orders(cursor %q): err = %v; want invalid_cursor", c, err)
			}
		}
	})
	t.Run("get is the buyer's own", func(t *testing.T) {
		if _, err := w.svc.Get(ctx, bob, aliceOrders[0].ID); !errs.Is(err, "order_not_found") {
			t.Errorf("Get of another buyer's order: err = %v; want order_not_found", err)
		}
		if o, err := w.svc.Get(ctx, alice, aliceOrders[0].ID); err != nil || o.ID != aliceOrders[0].ID {
			t.Errorf("Get of one's own order = %v, %v", o, err)
		}
		if _, err := w.svc.Get(ctx, alice, "not-a-uuid"); !errs.Is(err, "order_not_found") {
			t.Errorf("Get of a malformed id: err = %v; want order_not_found", err)
		}
	})
}

// markPaid pays an order the way the payment capture does inside its own
// transaction (order.Service.PaidChange through UpdateOrder): the order
// capability's own tests have no payment to capture.
func markPaid(ctx context.Context, svc *order.Service, id string, at time.Time) (*order.Order, error) {
	return svc.Store.UpdateOrder(ctx, id, func(o *order.Order) (order.Change, error) { return svc.PaidChange(o, at) })
}
