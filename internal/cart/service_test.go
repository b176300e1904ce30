package cart_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/store/sqlite"
)

var epoch = time.Date(2031, 6, 1, 8, 0, 0, 0, time.UTC)

type shop struct {
	cart    *cart.Service
	catalog *catalog.Service
	stock   *inventory.Service
	clock   *clock.Fake
}

// newShop runs the cart, the catalog and stock on one fresh SQLite store.
func newShop(t *testing.T) *shop {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "siyu.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(epoch)
	return &shop{
		cart:    &cart.Service{Store: st, Catalog: st, Clock: clk},
		catalog: &catalog.Service{Store: st, Clock: clk},
		stock:   &inventory.Service{Store: st, Clock: clk},
		clock:   clk,
	}
}

// product creates a product with a SKU per sale price, "size" telling them apart.
func (s *shop) product(t *testing.T, title string, st catalog.Status, prices ...money.Fen) *catalog.Product {
	t.Helper()
	ctx := context.Background()
	cat, err := s.catalog.CreateCategory(ctx, catalog.NewCategory{Name: "Tea"})
	if err != nil {
		t.Fatal(err)
	}
	in := catalog.NewProduct{CategoryID: cat.ID, Title: title, Status: st, Images: []string{"https://img.example.com/" + title + ".jpg"}}
	for i, p := range prices {
		in.SKUs = append(in.SKUs, catalog.NewSKU{Specs: []catalog.Spec{{Name: "size", Value: string(rune('S' + i))}},
			ListPrice: p + 1000, SalePrice: p})
	}
	p, err := s.catalog.CreateProduct(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddAndView(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	buyer := ids.New()
	tea := s.product(t, "tea", catalog.OnSale, 3990, 4990)
	cup := s.product(t, "cup", catalog.OnSale, 1500)
	if _, err := s.stock.Adjust(ctx, tea.SKUs[0].ID, inventory.Online, 12, inventory.Receive, "first batch"); err != nil {
		t.Fatal(err)
	}

	l, err := s.cart.Add(ctx, buyer, tea.SKUs[0].ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if l.Qty != 2 || l.SeenPrice != 3990 || !l.AddedAt.Equal(epoch) {
		t.Fatalf("added %+v", l)
	}
	s.clock.Advance(time.Minute)
	if _, err := s.cart.Add(ctx, buyer, cup.SKUs[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	if l, err = s.cart.Add(ctx, buyer, tea.SKUs[0].ID, 1); err != nil || l.Qty != 3 {
		t.Fatalf("second add: %+v, %v", l, err)
	}

	// The price moves after the buyer added the tea; the cup goes off sale.
	newPrice := money.Fen(3590)
	if _, err := s.catalog.UpdateProduct(ctx, tea.ID, catalog.ProductPatch{
		SKUs: []catalog.SKUPatch{{ID: tea.SKUs[0].ID, SalePrice: &newPrice}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.catalog.SetStatus(ctx, cup.ID, catalog.OffSale); err != nil {
		t.Fatal(err)
	}

	v, err := s.cart.View(ctx, buyer)
	if err != nil {
		t.Fatal(err)
	}
	want := []cart.ViewLine{
		{SKUID: cup.SKUs[0].ID, ProductID: cup.ID, Title: "cup", Spec: "S", Image: "https://img.example.com/cup.jpg",
			Qty: 1, Price: 1500, SeenPrice: 1500, Amount: 1500, OnSale: false, AddedAt: epoch.Add(time.Minute)},
		{SKUID: tea.SKUs[0].ID, ProductID: tea.ID, Title: "tea", Spec: "S", Image: "https://img.example.com/tea.jpg",
			Qty: 3, Price: 3590, SeenPrice: 3990, PriceChanged: true, Amount: 3 * 3590, Available: 12, OnSale: true, AddedAt: epoch},
	}
	if len(v.Lines) != len(want) {
		t.Fatalf("view has %d lines, want %d", len(v.Lines), len(want))
	}
	for i := range want {
		if v.Lines[i] != want[i] {
			t.Errorf("line %d = %+v\nwant %+v", i, v.Lines[i], want[i])
		}
	}
	if v.Subtotal != 3*3590 {
		t.Fatalf("subtotal = %d, want %d (the off-sale cup does not count)", v.Subtotal, 3*3590)
	}

	empty, err := s.cart.View(ctx, ids.New())
	if err != nil || len(empty.Lines) != 0 || empty.Subtotal != 0 {
		t.Fatalf("an empty cart's view = %+v, %v", empty, err)
	}
}

func TestAddRefusals(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	buyer := ids.New()
	tea := s.product(t, "tea", catalog.OnSale, 3990)
	draft := s.product(t, "draft", catalog.Draft, 100)
	cases := []struct {
		name  string
		sku   string
		qty   int
		code  string
		field string
	}{
		{"no units", tea.SKUs[0].ID, 0, "qty_out_of_range", "qty"},
		{"more than a line holds", tea.SKUs[0].ID, cart.MaxQty + 1, "qty_out_of_range", "qty"},
		{"unknown SKU", ids.New(), 1, "sku_not_found", ""},
		{"malformed SKU", "42", 1, "sku_not_found", ""},
		{"product not on sale", draft.SKUs[0].ID, 1, "product_unavailable", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.cart.Add(ctx, buyer, c.sku, c.qty)
			e, ok := errs.As(err)
			if !ok || e.Code != c.code || e.Field != c.field {
				t.Fatalf("err = %v, want %s (field %q)", err, c.code, c.field)
			}
		})
	}
	if _, err := s.cart.Add(ctx, buyer, tea.SKUs[0].ID, 60); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cart.Add(ctx, buyer, tea.SKUs[0].ID, 40); !errs.Is(err, "qty_out_of_range") {
		t.Fatalf("adding past 99 in two steps: err = %v", err)
	}
}

func TestSetQtyAndRemove(t *testing.T) {
	s := newShop(t)
	ctx := context.Background()
	buyer := ids.New()
	tea := s.product(t, "tea", catalog.OnSale, 3990, 4990)
	for _, sku := range tea.SKUs {
		if _, err := s.cart.Add(ctx, buyer, sku.ID, 1); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.cart.SetQty(ctx, buyer, tea.SKUs[0].ID, 7)
	if err != nil || l.Qty != 7 || l.SeenPrice != 3990 {
		t.Fatalf("SetQty 7 = %+v, %v", l, err)
	}
	for qty, code := range map[int]string{-1: "qty_out_of_range", cart.MaxQty + 1: "qty_out_of_range"} {
		if _, err := s.cart.SetQty(ctx, buyer, tea.SKUs[0].ID, qty); !errs.Is(err, code) {
			t.Errorf("SetQty %d: err = %v, want %s", qty, err, code)
		}
	}
	if _, err := s.cart.SetQty(ctx, buyer, ids.New(), 2); !errs.Is(err, "cart_line_not_found") {
		t.Fatalf("SetQty of a SKU not in the cart: err = %v", err)
	}
	if _, err := s.cart.SetQty(ctx, buyer, tea.SKUs[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	v, err := s.cart.View(ctx, buyer)
	if err != nil || len(v.Lines) != 1 || v.Lines[0].Qty != 7 {
		t.Fatalf("after SetQty 0 = %+v, %v; want only the first SKU, 7 units", v, err)
	}
	if err := s.cart.Remove(ctx, buyer, tea.SKUs[0].ID, ids.New()); err != nil {
		t.Fatal(err)
	}
	if v, err := s.cart.View(ctx, buyer); err != nil || len(v.Lines) != 0 {
		t.Fatalf("after Remove = %+v, %v; want empty", v, err)
	}
}
