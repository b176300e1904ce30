package order_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
)

var allStatuses = []order.Status{
	order.PendingPayment, order.Paid, order.Shipped, order.Delivered,
	order.Completed, order.Cancelled, order.Closed, order.Refunded,
}

// Invariant 2: states only move forward. The table is the whole state
// machine; any edge not in it must be refused.
func TestCanMove(t *testing.T) {
	edges := map[[2]order.Status]bool{
		{order.PendingPayment, order.Paid}:      true,
		{order.PendingPayment, order.Cancelled}: true,
		{order.PendingPayment, order.Closed}:    true,
		{order.Paid, order.Shipped}:             true,
		{order.Shipped, order.Delivered}:        true,
		{order.Shipped, order.Completed}:        true,
		{order.Delivered, order.Completed}:      true,
		{order.Paid, order.Refunded}:            true,
		{order.Shipped, order.Refunded}:         true,
		{order.Delivered, order.Refunded}:       true,
		{order.Completed, order.Refunded}:       true,
	}
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			if got, want := order.CanMove(from, to), edges[[2]order.Status{from, to}]; got != want {
				t.Errorf("CanMove(%s, %s) = %v; want %v", from, to, got, want)
			}
		}
	}
}

func TestStockUnits(t *testing.T) {
	o := &order.Order{Lines: []order.Line{
		{SKUID: "c", Qty: 1}, {SKUID: "a", Qty: 2}, {SKUID: "b", Qty: 5}, {SKUID: "a", Qty: 3},
	}}
	want := []order.SKUQty{{SKUID: "a", Qty: 5}, {SKUID: "b", Qty: 5}, {SKUID: "c", Qty: 1}}
	if got := o.StockUnits(); !reflect.DeepEqual(got, want) {
		t.Errorf("StockUnits = %+v; want %+v (summed per SKU, sorted by SKU)", got, want)
	}
	if got := (&order.Order{}).StockUnits(); len(got) != 0 {
		t.Errorf("StockUnits of no lines = %+v", got)
	}
}

// A direct buy is checked before anything is read: the stores are nil.
func TestPlaceRefusesBadLines(t *testing.T) {
	svc := &order.Service{}
	tooMany := make([]order.LineInput, cart.MaxLines+1)
	for i := range tooMany {
		tooMany[i] = order.LineInput{SKUID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Qty: 1}
	}
	for name, c := range map[string]struct {
		lines  []order.LineInput
		fields []string
	}{
		"no lines":   {nil, []string{"lines"}},
		"zero qty":   {[]order.LineInput{{SKUID: "a", Qty: 0}}, []string{"lines[0].qty"}},
		"negative":   {[]order.LineInput{{SKUID: "a", Qty: -1}}, []string{"lines[0].qty"}},
		"over max":   {[]order.LineInput{{SKUID: "a", Qty: cart.MaxQty + 1}}, []string{"lines[0].qty"}},
		"no sku":     {[]order.LineInput{{Qty: 1}}, []string{"lines[0].sku_id"}},
		"duplicate":  {[]order.LineInput{{SKUID: "a", Qty: 1}, {SKUID: "b", Qty: 1}, {SKUID: "a", Qty: 2}}, []string{"lines[2].sku_id"}},
		"several":    {[]order.LineInput{{SKUID: "a", Qty: 0}, {Qty: 1}}, []string{"lines[0].qty", "lines[1].sku_id"}},
		"many lines": {tooMany, []string{"lines"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := svc.Place(context.Background(), order.PlaceInput{BuyerID: "b", Lines: c.lines})
			if errs.KindOf(err) != errs.Invalid {
				t.Fatalf("err = %v; want invalid", err)
			}
			var fields []string
			for _, e := range errs.Fields(err) {
				fields = append(fields, e.Field)
			}
			if !reflect.DeepEqual(fields, c.fields) {
				t.Errorf("fields = %v; want %v", fields, c.fields)
			}
		})
	}
}

type fakeCatalog struct {
	catalog.Store // only SKUs is called
	skus          map[string]catalog.SKUWithProduct
}

func (f fakeCatalog) SKUs(_ context.Context, ids []string) (map[string]catalog.SKUWithProduct, error) {
	out := map[string]catalog.SKUWithProduct{}
	for _, id := range ids {
		if sp, ok := f.skus[id]; ok {
			out[id] = sp
		}
	}
	return out, nil
}

type fakeCart struct {
	cart.Store // only CartLines and PutCartLine are called
	lines      []cart.Line
	put        map[string]money.Fen
}

func (f *fakeCart) CartLines(context.Context, string) ([]cart.Line, error) { return f.lines, nil }

func (f *fakeCart) PutCartLine(_ context.Context, _ string, l cart.Line) error {
	f.put[l.SKUID] = l.SeenPrice
	return nil
}

// When several cart lines changed price, the refusal names the same one
// every time (the first by SKU id), and every changed line is refreshed.
func TestPriceChangedNamesFirstLine(t *testing.T) {
	skus := map[string]catalog.SKUWithProduct{}
	for id, price := range map[string]money.Fen{"s1": 100, "s2": 250, "s3": 300, "s4": 420} {
		skus[id] = catalog.SKUWithProduct{
			SKU:     catalog.SKU{ID: id, ListPrice: price, SalePrice: price, Available: 10},
			Product: catalog.Product{ID: "p", Title: "Tea", Status: catalog.OnSale},
		}
	}
	seen := []cart.Line{
		{SKUID: "s4", Qty: 1, SeenPrice: 400}, {SKUID: "s1", Qty: 1, SeenPrice: 100},
		{SKUID: "s3", Qty: 1, SeenPrice: 300}, {SKUID: "s2", Qty: 1, SeenPrice: 200},
	}
	for range 20 { // map order differs run to run; the answer must not
		c := &fakeCart{lines: seen, put: map[string]money.Fen{}}
		svc := &order.Service{Catalog: fakeCatalog{skus: skus}, Carts: c}
		_, err := svc.Place(context.Background(), order.PlaceInput{BuyerID: "b", FromCart: true})
		e, ok := errs.As(err)
		if !ok || e.Code != "price_changed" || e.Field != "lines[s2]" {
			t.Fatalf("err = %v; want price_changed naming lines[s2]", err)
		}
		if want := map[string]money.Fen{"s2": 250, "s4": 420}; !reflect.DeepEqual(c.put, want) {
			t.Fatalf("refreshed %v; want %v", c.put, want)
		}
	}
}
