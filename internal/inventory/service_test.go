package inventory_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
)

var epoch = time.Date(2031, 6, 1, 8, 0, 0, 0, time.UTC)

// newService runs stock on a fresh SQLite store holding one SKU.
func newService(t *testing.T) (*inventory.Service, string) {
	t.Helper()
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(epoch)
	cat := &catalog.Service{Store: st, Clock: clk}
	c, err := cat.CreateCategory(ctx, catalog.NewCategory{Name: "Tea"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := cat.CreateProduct(ctx, catalog.NewProduct{CategoryID: c.ID, Title: "Tea",
		SKUs: []catalog.NewSKU{{ListPrice: 100, SalePrice: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	return &inventory.Service{Store: st, Clock: clk}, p.SKUs[0].ID
}

func TestAdjust(t *testing.T) {
	svc, sku := newService(t)
	ctx := context.Background()

	lv, err := svc.Adjust(ctx, sku, inventory.Online, 10, inventory.Receive, "PO-17")
	if err != nil || lv.OnHand != 10 || lv.Available() != 10 {
		t.Fatalf("receive 10 = %+v, %v", lv, err)
	}
	if lv, err = svc.Adjust(ctx, sku, inventory.Online, -3, inventory.Adjust, "broken in the warehouse"); err != nil || lv.OnHand != 7 {
		t.Fatalf("adjust -3 = %+v, %v", lv, err)
	}
	if _, err := svc.Adjust(ctx, sku, inventory.Online, -8, inventory.Adjust, ""); !errs.Is(err, "stock_below_reserved") {
		t.Fatalf("adjust below zero: err = %v", err)
	}
	if _, err := svc.Adjust(ctx, ids.New(), inventory.Online, 1, inventory.Receive, ""); !errs.Is(err, "sku_not_found") {
		t.Fatalf("unknown SKU: err = %v", err)
	}
	journal, err := svc.Journal(ctx, sku, 0)
	if err != nil || len(journal) != 2 || journal[0].Ref != "broken in the warehouse" || !journal[0].At.Equal(epoch) {
		t.Fatalf("journal = %+v, %v", journal, err)
	}
	levels, err := svc.Levels(ctx, []string{sku})
	if err != nil || len(levels) != 1 || levels[0].OnHand != 7 {
		t.Fatalf("levels = %+v, %v", levels, err)
	}
}

func TestAdjustRules(t *testing.T) {
	svc, sku := newService(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		sku, loc string
		delta    int64
		reason   inventory.Reason
		note     string
		field    string
	}{
		{"no change", sku, inventory.Online, 0, inventory.Adjust, "", "delta"},
		{"a slipped finger", sku, inventory.Online, inventory.MaxDelta + 1, inventory.Receive, "", "delta"},
		{"a slipped finger the other way", sku, inventory.Online, -inventory.MaxDelta - 1, inventory.Adjust, "", "delta"},
		{"receiving takes nothing away", sku, inventory.Online, -1, inventory.Receive, "", "delta"},
		{"orders' reasons are not the operator's", sku, inventory.Online, 1, inventory.Reserve, "", "reason"},
		{"location with spaces", sku, "store 1", 1, inventory.Receive, "", "location"},
		{"location in capitals", sku, "ONLINE", 1, inventory.Receive, "", "location"},
		{"empty location", sku, "", 1, inventory.Receive, "", "location"},
		{"malformed SKU", "x", inventory.Online, 1, inventory.Receive, "", "sku_id"},
		{"long note", sku, inventory.Online, 1, inventory.Receive, strings.Repeat("n", inventory.MaxNote+1), "note"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.Adjust(ctx, c.sku, c.loc, c.delta, c.reason, c.note)
			if fs := errs.Fields(err); len(fs) != 1 || fs[0].Field != c.field {
				t.Fatalf("err = %v, want one fault in %s", err, c.field)
			}
		})
	}
	if _, err := svc.Adjust(ctx, sku, "shanghai_store-01", inventory.MaxDelta, inventory.Receive, ""); err != nil {
		t.Fatalf("the largest receipt at a store: %v", err)
	}
}
