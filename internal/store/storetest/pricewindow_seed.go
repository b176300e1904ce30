package storetest

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// PriceSeeds checks an engine's migration 0021 seeds the two price records
// from the rows already there as the event consumers would have written
// them: the records are emptied, the migration's INSERT statements (read
// from migrationFile) run again through exec, and what they wrote is
// compared with what pricewindow.ChargedUnit says of each order line. The
// conformance suite cannot run a migration's SQL; each engine's own test
// calls this with a raw executor.
func PriceSeeds(t *testing.T, s Engine, exec func(ctx context.Context, sql string) error, migrationFile string) {
	ctx := context.Background()
	b, err := os.ReadFile(migrationFile)
	failOn(t, err)
	var seeds []string
	for _, stmt := range strings.Split(string(b), ";\n") {
		if i := strings.Index(stmt, "INSERT INTO"); i >= 0 {
			seeds = append(seeds, stmt[i:])
		}
	}
	if len(seeds) != 2 {
		t.Fatalf("%s: %d INSERT statements, want 2", migrationFile, len(seeds))
	}

	now := time.Date(2031, 6, 1, 23, 0, 0, 0, time.UTC)
	cat := &catalog.Category{ID: ids.New(), Name: "Tea", CreatedAt: now}
	failOn(t, s.CreateCategory(ctx, cat, nil))
	p := &catalog.Product{ID: ids.New(), CategoryID: cat.ID, Title: "Oolong", Images: []string{}, Status: catalog.OnSale,
		MinPrice: 2500, CreatedAt: now, UpdatedAt: now.Add(time.Minute)}
	p.SKUs = []catalog.SKU{{ID: ids.New(), ProductID: p.ID, Specs: []catalog.Spec{{Name: "size", Value: "s"}}, ListPrice: 3000, SalePrice: 2500}}
	failOn(t, s.CreateProduct(ctx, p, nil))
	sku := p.SKUs[0]
	_, err = s.AdjustStock(ctx, inventory.Movement{ID: ids.New(), SKUID: sku.ID, Location: inventory.Online,
		OnHandDelta: 100, Reason: inventory.Receive, At: now})
	failOn(t, err)

	// Orders on two UTC days: the second's coupon and points are given back
	// (2500 a unit, as the first: one row), the third is at a limited-time
	// price, the fourth at 2500 again the next day (a row of its own).
	line := func(qty int, amount money.Fen, adj ...pricing.Adjustment) order.Line {
		return order.Line{ID: ids.New(), SKUID: sku.ID, ProductID: p.ID, Title: "Oolong", Qty: qty, ListPrice: 3000,
			SalePrice: 2500, Amount: amount, Adjustments: adj}
	}
	orders := []struct {
		at   time.Time
		line order.Line
	}{
		{now, line(2, 5000, pricing.Adjustment{Step: pricing.StepSale, Amount: 1000})},
		{now.Add(30 * time.Minute), line(3, 6500, pricing.Adjustment{Step: pricing.StepSale, Amount: 1500},
			pricing.Adjustment{Step: pricing.StepCoupon, Amount: 999, Ref: "c"}, pricing.Adjustment{Step: pricing.StepPoints, Amount: 1})},
		{now.Add(50 * time.Minute), line(1, 2400, pricing.Adjustment{Step: pricing.StepSale, Amount: 500},
			pricing.Adjustment{Step: pricing.StepLimitedTime, Amount: 100, Ref: "w"})},
		{now.Add(75 * time.Minute), line(1, 2500, pricing.Adjustment{Step: pricing.StepSale, Amount: 500})},
	}
	var want []pricewindow.ChargedPrice
	for _, o := range orders {
		l := o.line
		failOn(t, s.CreateOrder(ctx, &order.Order{ID: ids.New(), BuyerID: ids.New(), Status: order.PendingPayment,
			Lines: []order.Line{l}, Subtotal: l.ListPrice.Mul(l.Qty), Discount: l.ListPrice.Mul(l.Qty) - l.Amount, Total: l.Amount,
			ShipTo: orderShipTo, PayBy: o.at.Add(time.Hour), CreatedAt: o.at, UpdatedAt: o.at}, nil, nil))
		want = append(want, pricewindow.ChargedPrice{SKUID: sku.ID, UnitPrice: pricewindow.ChargedUnit(l), FirstAt: o.at, LastAt: o.at})
	}
	wantRows := map[string]pricewindow.ChargedPrice{}
	for _, c := range want {
		k := c.FirstAt.Format("2006-01-02") + "/" + c.UnitPrice.String()
		if r, ok := wantRows[k]; ok {
			c.FirstAt, c.LastAt = minTime(r.FirstAt, c.FirstAt), maxTime(r.LastAt, c.LastAt)
		}
		wantRows[k] = c
	}

	failOn(t, exec(ctx, `DELETE FROM sku_charged_prices`))
	failOn(t, exec(ctx, `DELETE FROM sku_price_history`))
	for _, stmt := range seeds {
		failOn(t, exec(ctx, stmt))
	}
	rows, err := s.ChargedPrices(ctx, []string{sku.ID}, now.Add(-24*time.Hour), now.Add(24*time.Hour))
	failOn(t, err)
	gotRows := map[string]pricewindow.ChargedPrice{}
	for _, r := range rows {
		gotRows[r.FirstAt.Format("2006-01-02")+"/"+r.UnitPrice.String()] = r
	}
	if len(wantRows) != 3 || !reflect.DeepEqual(gotRows, wantRows) {
		t.Fatalf("seeded charged prices =\n%+v\nwant\n%+v", gotRows, wantRows)
	}
	hist, err := s.PriceHistory(ctx, []string{sku.ID}, now.Add(-time.Hour))
	failOn(t, err)
	if len(hist) != 1 || hist[0].SalePrice != 2500 || hist[0].ListPrice != 3000 || !hist[0].At.Equal(p.UpdatedAt) {
		t.Fatalf("seeded history = %+v", hist)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
